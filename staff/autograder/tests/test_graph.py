"""Grading tests for ``cs231n/graph.py``: each gate's backward rule, then the lecture's circuits.

Gate gradients are compared with the reference gates; the circuits with values worked out by hand
from the lecture (independent of any gate code).
"""

import math

import pytest

from staff.autograder.checks import assert_close, assert_same_keys, case, unpack


def gate_backward(gate, args, inputs, dout):
    """Build ``gate(*args)``, run forward on ``inputs`` and return backward(dout) as a list of floats."""
    from cs231n import graph

    g = getattr(graph, gate)(*args)
    g.forward(*inputs)
    return [float(d) for d in g.backward(dout)]


def lecture_circuit(name, inputs):
    """Build one of the lecture's circuits, run forward and backward; return (output, grads)."""
    from cs231n.graph import Add, AddConst, Exp, Graph, Max, MulConst, Multiply, Reciprocal, Sigmoid

    g = Graph()
    if name == "add_multiply":
        g.gate(Add(), ["x", "y"], "q")
        g.gate(Multiply(), ["q", "z"], "f")
    elif name.startswith("sigmoid_neuron"):
        g.gate(Multiply(), ["w0", "x0"], "a")
        g.gate(Multiply(), ["w1", "x1"], "b")
        g.gate(Add(), ["a", "b"], "c")
        g.gate(Add(), ["c", "w2"], "dot")
        if name == "sigmoid_neuron_gate":
            g.gate(Sigmoid(), ["dot"], "f")
        else:
            g.gate(MulConst(-1.0), ["dot"], "neg")
            g.gate(Exp(), ["neg"], "e")
            g.gate(AddConst(1.0), ["e"], "den")
            g.gate(Reciprocal(), ["den"], "f")
    elif name == "copy":
        g.gate(Multiply(), ["x", "y"], "p")
        g.gate(Max(), ["x", "y"], "m")
        g.gate(Add(), ["p", "m"], "f")
    out = g.forward(**inputs)
    grads = g.backward()
    return float(out), {k: float(grads[k]) for k in inputs}


GATES = [
    # gate, constructor args, inputs, dout, hidden
    ("Add", (), (2.0, -3.0), 1.5, False),
    ("Multiply", (), (-2.0, 3.0), 0.5, False),
    ("Max", (), (4.0, -1.0), 2.0, False),
    ("Max", (), (-1.0, 4.0), 2.0, True),
    ("Max", (), (3.0, 3.0), 2.0, False),  # the docstring's promise: a tie sends the gradient to x
    ("AddConst", (1.0,), (0.3,), -0.7, False),
    ("MulConst", (-1.0,), (0.3,), 0.2, False),
    ("MulConst", (2.5,), (-1.2,), -0.4, True),
    ("Exp", (), (-1.0,), 0.5, False),
    ("Exp", (), (1.5,), -2.0, True),
    ("Reciprocal", (), (1.37,), -0.53, False),
    ("Reciprocal", (), (-0.5,), 1.2, True),
    ("Sigmoid", (), (1.0,), 1.0, False),
    ("Sigmoid", (), (-8.0,), 3.0, True),
]


@pytest.mark.parametrize(
    "gate, args, inputs, dout",
    [case(g, a, i, d, function=f"{g}.backward", points=1, hidden=h, id=f"{g}{i}") for g, a, i, d, h in GATES],
)
def test_gate_backward_matches_reference(student, gate, args, inputs, dout):
    """backward returns the reference input gradients"""
    got = unpack(
        f"{gate}.backward", student.run(gate_backward, gate, args, inputs, dout, label=f"{gate}.backward"), len(inputs)
    )
    expected = gate_backward(gate, args, inputs, dout)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert_close(f"gradient of input {i} of {gate}.backward", g, e)


_S = 1 / (1 + math.exp(-1.0))  # sigmoid(w0 x0 + w1 x1 + w2) = sigmoid(1) at the lecture's numbers
_DS = _S * (1 - _S)
CIRCUITS = {
    # The lecture's f = (x + y) z at x=-2, y=5, z=-4.
    "add_multiply": ({"x": -2.0, "y": 5.0, "z": -4.0}, -12.0, {"x": -4.0, "y": -4.0, "z": 3.0}),
    # The lecture's sigmoid neuron at w0=2, x0=-1, w1=-3, x1=-2, w2=-3; df/dwi = xi * s(1-s), and so on.
    "sigmoid_neuron_chain": (
        {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0},
        _S,
        {"w0": -_DS, "x0": 2 * _DS, "w1": -2 * _DS, "x1": -3 * _DS, "w2": _DS},
    ),
    "sigmoid_neuron_gate": (
        {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0},
        _S,
        {"w0": -_DS, "x0": 2 * _DS, "w1": -2 * _DS, "x1": -3 * _DS, "w2": _DS},
    ),
    # f = x y + max(x, y) at x=3, y=-1: x and y each feed two gates, whose gradients add up.
    "copy": ({"x": 3.0, "y": -1.0}, 0.0, {"x": 0.0, "y": 3.0}),
}


@pytest.mark.parametrize(
    "circuit", [case(c, function="Graph (lecture circuits)", points=1, hidden=c == "copy", id=c) for c in CIRCUITS]
)
def test_lecture_circuit_gradients_match_hand_computed_values(student, circuit):
    """the lecture's circuit gives the hand-computed output and gradients"""
    inputs, out, grads = CIRCUITS[circuit]
    got_out, got_grads = unpack(
        "the circuit", student.run(lecture_circuit, circuit, inputs, label=f"the {circuit} circuit"), 2
    )
    assert_close(f"output of {circuit}", got_out, out)
    assert_same_keys(f"input gradients of {circuit}", got_grads, grads)
    for k, v in grads.items():
        assert_close(f"gradient of {k} in {circuit}", got_grads[k], v, atol=1e-10)
