"""Tests for cs231n/graph_drawing.py: the circuits drawn like the slides, readable in a notebook."""

from collections import Counter

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from cs231n.graph import Add, AddConst, Exp, Graph, MulConst, Multiply, Reciprocal  # noqa: E402
from cs231n.graph_drawing import draw_graph, layout  # noqa: E402

NEURON_INPUTS = dict(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0)


def add_multiply_graph():
    """f(x, y, z) = (x + y) z."""
    g = Graph()
    g.gate(Add(), ["x", "y"], "q")
    g.gate(Multiply(), ["q", "z"], "f")
    return g


def neuron_chain_graph():
    """The slide's sigmoid neuron, one gate per operation: 13 wires."""
    g = Graph()
    g.gate(Multiply(), ["w0", "x0"], "a")
    g.gate(Multiply(), ["w1", "x1"], "b")
    g.gate(Add(), ["a", "b"], "c")
    g.gate(Add(), ["c", "w2"], "dot")
    g.gate(MulConst(-1), ["dot"], "e")
    g.gate(Exp(), ["e"], "h")
    g.gate(AddConst(1), ["h"], "k")
    g.gate(Reciprocal(), ["k"], "f")
    return g


def texts_by_color(fig):
    """Counter of the texts on the figure, keyed by (hex color, text)."""
    return Counter((to_hex(t.get_color()), t.get_text()) for ax in fig.axes for t in ax.texts)


GREEN, RED = to_hex("green"), to_hex("red")


def test_drawing_shows_every_wire_value_in_green_and_gradient_in_red():
    g = add_multiply_graph()
    g.forward(x=-2, y=5, z=-4)
    g.backward()
    fig = draw_graph(g)
    try:
        seen = texts_by_color(fig)
        values = Counter(
            {(GREEN, "-2.00"): 1, (GREEN, "5.00"): 1, (GREEN, "-4.00"): 1, (GREEN, "3.00"): 1, (GREEN, "-12.00"): 1}
        )
        grads = Counter({(RED, "-4.00"): 3, (RED, "3.00"): 1, (RED, "1.00"): 1})
        assert {k: seen[k] for k in values} == dict(values)
        assert {k: seen[k] for k in grads} == dict(grads)
        assert sum(n for (color, _), n in seen.items() if color in (GREEN, RED)) == 10
        labels = {t for (_, t) in seen}
        assert {"x", "y", "z", "+", "*"} <= labels
        fig.canvas.draw()  # renders under Agg without a display
    finally:
        plt.close(fig)


def test_drawing_before_backward_shows_values_only():
    g = neuron_chain_graph()
    g.forward(**NEURON_INPUTS)
    fig = draw_graph(g, fmt="{:.3f}")
    try:
        seen = texts_by_color(fig)
        assert not [t for (color, t) in seen if color == RED]
        greens = {t for (color, t) in seen if color == GREEN}
        # The neuron's wires by hand: 2, -1, -3, -2, -3, -2, 6, 4, 1, -1, e^-1, 1 + e^-1, 0.731.
        assert greens == {"2.000", "-1.000", "-3.000", "-2.000", "6.000", "4.000", "1.000", "0.368", "1.368", "0.731"}
        assert {"exp", "1/x", "+1", "*-1"} <= {t for (_, t) in seen}
    finally:
        plt.close(fig)


def test_layout_keeps_gates_in_one_column_apart():
    # f = x*y + x*z: both multiplies would sit at the mean height of their inputs, half a row apart.
    g = Graph()
    g.gate(Multiply(), ["x", "y"], "xy")
    g.gate(Multiply(), ["x", "z"], "xz")
    g.gate(Add(), ["xy", "xz"], "f")
    col, row = layout(g)
    assert col == {"x": 0, "y": 0, "z": 0, "xy": 1, "xz": 1, "f": 2}
    assert abs(row["xy"] - row["xz"]) >= 1.0
    fig = draw_graph(g)
    try:
        centers = sorted(p.center for p in fig.axes[0].patches)
        assert len(centers) == 3 and centers[0][0] == centers[1][0]
    finally:
        plt.close(fig)


def test_the_lectures_neuron_is_legible_at_notebook_size():
    g = neuron_chain_graph()
    g.forward(**NEURON_INPUTS)
    g.backward()
    fig = draw_graph(g)
    try:
        width, height = fig.get_size_inches()
        assert width <= 10.0  # a notebook cell shows it at full size
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        numbers = [t for t in ax.texts if to_hex(t.get_color()) in (GREEN, RED)]
        assert len(numbers) == 2 * 13 and all(t.get_fontsize() >= 12 for t in numbers)
        assert all(t.get_fontsize() >= 12 for t in ax.texts if t.get_text())  # the arrows have no text
        # No number runs into a gate or into another number.
        boxes = [t.get_window_extent(renderer) for t in numbers]
        gates = [p.get_window_extent(renderer) for p in ax.patches]
        assert not [t.get_text() for t, b in zip(numbers, boxes) if any(b.overlaps(gate) for gate in gates)]
        assert not [(i, j) for i in range(len(boxes)) for j in range(i) if boxes[i].overlaps(boxes[j])]
    finally:
        plt.close(fig)


def test_drawing_into_given_axes_returns_its_figure():
    g = add_multiply_graph()
    g.forward(x=-2, y=5, z=-4)
    fig, ax = plt.subplots()
    try:
        assert draw_graph(g, ax=ax) is fig
        assert len(ax.texts) > 0
    finally:
        plt.close(fig)


def test_drawing_an_empty_graph_raises():
    with pytest.raises(ValueError, match="no gates"):
        draw_graph(Graph())
