"""Tests for cs231n/graph.py: the lecture's computational graphs, with the lecture's numbers."""

import math

import pytest

from cs231n.graph import (
    Add,
    AddConst,
    Exp,
    Graph,
    Max,
    MulConst,
    Multiply,
    Reciprocal,
    Sigmoid,
)

NEURON_INPUTS = dict(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0)


def add_multiply_graph():
    """f(x, y, z) = (x + y) z, the gates added in reverse so the graph must sort them itself."""
    g = Graph()
    g.gate(Multiply(), ["q", "z"], "f")
    g.gate(Add(), ["x", "y"], "q")
    return g


def neuron_gates(g):
    """The dot product w0 x0 + w1 x1 + w2 of the lecture's neuron, ending in wire 'dot'."""
    g.gate(Multiply(), ["w0", "x0"], "a")
    g.gate(Multiply(), ["w1", "x1"], "b")
    g.gate(Add(), ["a", "b"], "c")
    g.gate(Add(), ["c", "w2"], "dot")


def neuron_chain_graph():
    """The slide's circuit: the sigmoid as the four gates *-1, exp, +1, 1/x."""
    g = Graph()
    neuron_gates(g)
    g.gate(MulConst(-1), ["dot"], "e")
    g.gate(Exp(), ["e"], "h")
    g.gate(AddConst(1), ["h"], "k")
    g.gate(Reciprocal(), ["k"], "f")
    return g


def neuron_sigmoid_graph():
    """The same neuron with the four gates merged into one sigmoid gate."""
    g = Graph()
    neuron_gates(g)
    g.gate(Sigmoid(), ["dot"], "f")
    return g


def test_add_multiply_example_gives_lecture_values_and_gradients():
    g = add_multiply_graph()
    assert g.forward(x=-2, y=5, z=-4) == -12.0
    grads = g.backward()
    # q = x + y = 3; df/dq = z = -4 reaches x and y unchanged; df/dz = q = 3.
    assert grads == {"x": -4.0, "y": -4.0, "z": 3.0, "q": -4.0, "f": 1.0}
    assert g.values == {"x": -2.0, "y": 5.0, "z": -4.0, "q": 3.0, "f": -12.0}


@pytest.mark.parametrize("build", [neuron_chain_graph, neuron_sigmoid_graph])
def test_sigmoid_neuron_gives_lecture_values_and_gradients(build):
    w0, x0, w1, x1, w2 = NEURON_INPUTS.values()
    # By hand: the dot product is 2*(-1) + (-3)*(-2) + (-3) = 1; sigma'(1) = sigma(1) (1 - sigma(1)).
    f = 1 / (1 + math.exp(-1.0))
    s = f * (1 - f)
    expected = dict(w0=x0 * s, x0=w0 * s, w1=x1 * s, x1=w1 * s, w2=s)

    g = build()
    assert g.forward(**NEURON_INPUTS) == pytest.approx(f, rel=1e-12)
    grads = g.backward()
    for name, value in expected.items():
        assert grads[name] == pytest.approx(value, rel=1e-12), name
    # The two-decimal numbers printed on the slide.
    assert round(g.values["f"], 2) == 0.73
    assert {k: round(grads[k], 2) for k in expected} == dict(w0=-0.20, x0=0.39, w1=-0.39, x1=-0.59, w2=0.20)


def test_chain_gradients_match_each_wire_on_the_slide():
    g = neuron_chain_graph()
    g.forward(**NEURON_INPUTS)
    grads = g.backward()
    # Walking back from f = 1/k with k = 1 + e^{-1}: df/dk = -1/k^2, df/dh = df/dk, df/de = e^{-1} df/dh.
    k = 1 + math.exp(-1.0)
    assert grads["k"] == pytest.approx(-1 / k**2)
    assert grads["h"] == pytest.approx(-1 / k**2)
    assert grads["e"] == pytest.approx(-math.exp(-1.0) / k**2)
    assert round(grads["k"], 2) == -0.53 and round(grads["e"], 2) == -0.20
    assert g.values["k"] == pytest.approx(k)


@pytest.mark.parametrize(
    "gates, inputs, expected_grads",
    [
        # f = x * x at x = 3: both branches send back 3, so df/dx = 6.
        ([(Multiply, ["x", "x"], "f")], dict(x=3.0), dict(x=6.0)),
        # f = x + x*y at x = 2, y = -3: df/dx = 1 + y = -2, df/dy = x = 2.
        ([(Multiply, ["x", "y"], "p"), (Add, ["x", "p"], "f")], dict(x=2.0, y=-3.0), dict(x=-2.0, y=2.0)),
        # f = max(x, y) * x at x = 4, y = 1: df/dx = x + max = 8 (the max routes its share to x), df/dy = 0.
        ([(Max, ["x", "y"], "m"), (Multiply, ["m", "x"], "f")], dict(x=4.0, y=1.0), dict(x=8.0, y=0.0)),
    ],
    ids=["x*x", "x+x*y", "max(x,y)*x"],
)
def test_wire_used_twice_accumulates_gradients(gates, inputs, expected_grads):
    g = Graph()
    for gate, ins, out in gates:
        g.gate(gate(), ins, out)
    g.forward(**inputs)
    grads = g.backward()
    assert {k: grads[k] for k in expected_grads} == expected_grads


def test_backward_twice_does_not_accumulate_across_calls():
    g = add_multiply_graph()
    g.forward(x=-2, y=5, z=-4)
    g.backward()
    assert g.backward()["x"] == -4.0


def test_backward_scales_with_upstream_gradient():
    g = add_multiply_graph()
    g.forward(x=-2, y=5, z=-4)
    assert g.backward(dout=0.5) == {"x": -2.0, "y": -2.0, "z": 1.5, "q": -2.0, "f": 0.5}


GATE_CASES = [
    (Add, (1.5, -2.0), -0.5),
    (Multiply, (1.5, -2.0), -3.0),
    (Max, (1.5, -2.0), 1.5),
    (Max, (-2.0, 1.5), 1.5),
    (lambda: AddConst(1), (0.3,), 1.3),
    (lambda: MulConst(-1), (0.3,), -0.3),
    (lambda: MulConst(2.5), (-0.4,), -1.0),
    (Exp, (0.7,), math.e**0.7),
    (Reciprocal, (-1.6,), -0.625),
    (Sigmoid, (0.4,), 1 / (1 + math.e**-0.4)),
    (Sigmoid, (-3.0,), 1 / (1 + math.e**3.0)),
]
GATE_IDS = [
    "add",
    "multiply",
    "max-x-wins",
    "max-y-wins",
    "add-const",
    "negate",
    "mul-const",
    "exp",
    "reciprocal",
    "sigmoid-pos",
    "sigmoid-neg",
]


@pytest.mark.parametrize("make, inputs, out", GATE_CASES, ids=GATE_IDS)
def test_gate_forward_matches_formula(make, inputs, out):
    assert make().forward(*inputs) == pytest.approx(out, rel=1e-12)


@pytest.mark.parametrize("make, inputs, out", GATE_CASES, ids=GATE_IDS)
def test_gate_backward_matches_numeric_derivative(make, inputs, out):
    dout, h = -1.7, 1e-6
    gate = make()
    gate.forward(*inputs)
    analytic = gate.backward(dout)
    assert len(analytic) == len(inputs)
    for i in range(len(inputs)):
        plus, minus = list(inputs), list(inputs)
        plus[i] += h
        minus[i] -= h
        numeric = dout * (make().forward(*plus) - make().forward(*minus)) / (2 * h)
        assert analytic[i] == pytest.approx(numeric, rel=1e-6, abs=1e-9), i


def test_max_gate_sends_gradient_to_x_on_a_tie():
    gate = Max()
    gate.forward(2.0, 2.0)
    assert gate.backward(3.0) == (3.0, 0.0)


@pytest.mark.parametrize("x, expected", [(1000.0, 1.0), (-1000.0, 0.0), (-745.0, math.exp(-745.0))])
def test_sigmoid_gate_does_not_overflow(x, expected):
    assert Sigmoid().forward(x) == expected


def bad_two_outputs():
    g = Graph()
    g.gate(Add(), ["x", "y"], "a")
    g.gate(Add(), ["x", "y"], "b")
    g.forward(x=1, y=2)


def bad_cycle():
    g = Graph()
    g.gate(Add(), ["x", "b"], "a")
    g.gate(Add(), ["a", "y"], "b")
    g.gate(Exp(), ["b"], "f")
    g.forward(x=1, y=2)


def bad_missing_input():
    add_multiply_graph().forward(x=1, y=2)


def bad_unknown_input():
    add_multiply_graph().forward(x=1, y=2, z=3, w=4)


def bad_string_input():
    add_multiply_graph().forward(x=1, y="2", z=3)


def bad_arity():
    Graph().gate(Add(), ["x"], "f")


def bad_reused_gate():
    g, gate = Graph(), Add()
    g.gate(gate, ["x", "y"], "a")
    g.gate(gate, ["a", "y"], "b")


def bad_two_writers():
    g = Graph()
    g.gate(Add(), ["x", "y"], "a")
    g.gate(Multiply(), ["x", "y"], "a")


def bad_not_a_gate():
    Graph().gate(lambda x: x, ["x"], "f")


def bad_reciprocal_of_zero():
    Reciprocal().forward(0.0)


def bad_constant():
    AddConst("1")


@pytest.mark.parametrize(
    "build, message",
    [
        (bad_two_outputs, "exactly one output"),
        (bad_cycle, "cycle"),
        (bad_missing_input, "inputs"),
        (bad_unknown_input, "inputs"),
        (bad_string_input, "y must be a real number"),
        (bad_arity, "takes 2 inputs"),
        (bad_reused_gate, "already in the graph"),
        (bad_two_writers, "already written"),
        (bad_not_a_gate, "Gate instance"),
        (bad_reciprocal_of_zero, "nonzero"),
        (bad_constant, "c must be a real number"),
    ],
    ids=lambda v: v.__name__ if callable(v) else None,
)
def test_bad_graph_or_input_raises_value_error(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_backward_before_forward_raises():
    with pytest.raises(RuntimeError, match="forward"):
        add_multiply_graph().backward()


class Returning(Multiply):
    """A multiply gate whose backward returns whatever it is told to (as a student's might)."""

    def __init__(self, grads):
        self.grads = grads

    def backward(self, dout):
        return self.grads


@pytest.mark.parametrize(
    "grads, message",
    [
        ((1.0,), r"returned 1 gradient\(s\), expected 2"),
        ((1.0, 2.0, 3.0), r"returned 3 gradient\(s\), expected 2"),
        ((), r"returned 0 gradient\(s\), expected 2"),
        (4.0, r"must return a tuple of 2 gradient\(s\), got 4.0"),
        ((None, 1.0), r"gradient for input 'q' .* must be a real number, got None"),
    ],
    ids=["too-few", "too-many", "none", "a-float", "None"],
)
def test_a_gate_whose_backward_returns_the_wrong_gradients_is_named(grads, message):
    g = Graph()
    g.gate(Add(), ["x", "y"], "q")
    g.gate(Returning(grads), ["q", "z"], "f")
    g.forward(x=-2.0, y=5.0, z=-4.0)
    with pytest.raises(ValueError, match=message) as err:
        g.backward()
    assert "Returning gate '*' (inputs ['q', 'z'], output 'f')" in str(err.value)
