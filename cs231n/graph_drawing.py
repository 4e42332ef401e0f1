"""Draw a computational graph of ``cs231n/graph.py`` as a circuit, like the lecture's slides.

Every wire's forward value is written above it in green and its gradient below it in red; each gate
is a circle with its operation inside. One data unit is one inch: the lecture's sigmoid neuron (eight
gates in a row) fits a notebook cell, about 10 inches, with every number in 12-point type.
"""

import matplotlib.pyplot as plt
from matplotlib.patches import Circle

GAP, ROW, RADIUS, STUB = 1.2, 0.8, 0.22, 0.5  # inches: column and row spacing, gate radius, wire stub
NUMBER_SIZE, GATE_SIZE, NAME_SIZE = 12, 12, 12  # points


def layout(graph):
    """Place the wires: inputs in column 0, each gate one column right of the deepest gate feeding it.

    Parameters
    ----------
    graph : Graph
        A graph with at least one gate.

    Returns
    -------
    col : dict of str to int
        Column of every wire (of the gate that writes it; 0 for inputs).
    row : dict of str to float
        Height of every wire, in rows; gates in one column sit at least one row apart.
    """
    inputs = graph.inputs()
    col = {name: 0 for name in inputs}
    row = {name: (len(inputs) - 1) / 2 - i for i, name in enumerate(inputs)}
    for _, ins, out in graph.topological_order():
        col[out] = 1 + max(col[w] for w in ins)
        row[out] = sum(row[w] for w in ins) / len(ins)
    for c in range(1, 1 + max(col.values())):
        placed = sorted((w for w in col if col[w] == c), key=lambda w: -row[w])
        for above, below in zip(placed, placed[1:]):
            row[below] = min(row[below], row[above] - 1.0)
    return col, row


def draw_graph(graph, ax=None, fmt="{:.2f}"):
    """Draw ``graph`` as a circuit: wire values above in green, gradients below in red.

    Every wire is labelled once, on the stub that leaves its source: its name, its value (once
    :meth:`Graph.forward` has run) and its gradient (once :meth:`Graph.backward` has run).

    Parameters
    ----------
    graph : Graph
        A graph with at least one gate.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.
    fmt : str
        Format of the numbers.

    Returns
    -------
    fig : matplotlib Figure
    """
    if not graph.nodes:
        raise ValueError("graph has no gates to draw")
    inputs = set(graph.inputs())
    col, row = layout(graph)
    row = {name: ROW * r for name, r in row.items()}
    x_min, x_max = -0.5, GAP * max(col.values()) + RADIUS + STUB + 0.1
    y_min, y_max = min(row.values()) - 0.5, max(row.values()) + 0.5
    if ax is None:
        fig, ax = plt.subplots(figsize=(x_max - x_min, y_max - y_min))

    def source_end(name):
        """Right end of the stub that leaves the wire's source."""
        x = col[name] * GAP + (0.0 if name in inputs else RADIUS)
        return x + STUB, row[name]

    for name in graph.inputs():
        _draw_wire(ax, graph, name, 0.0, source_end(name), fmt)
        ax.text(-0.08, row[name], name, ha="right", va="center", fontsize=NAME_SIZE, style="italic")
    for gate, ins, out in graph.topological_order():
        gx, gy = col[out] * GAP, row[out]
        _draw_gate(ax, gate, gx, gy, [source_end(w) for w in ins])
        _draw_wire(ax, graph, out, gx + RADIUS, source_end(out), fmt)
        # The wire's name above its value, as the notebooks call it.
        ax.text(
            gx + RADIUS + STUB / 2,
            gy + 0.32,
            out,
            ha="center",
            va="bottom",
            fontsize=NAME_SIZE,
            style="italic",
            color="0.35",
        )

    ax.set_xlim(x_min, x_max)
    ax.set_ylim(y_min, y_max)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax.figure


def _draw_gate(ax, gate, x, y, sources):
    """Draw a gate's circle at (x, y) with its label inside, and an arrow from each of its ``sources`` (x, y)."""
    ax.add_patch(Circle((x, y), RADIUS, facecolor="white", edgecolor="black", lw=1.2, zorder=3))
    ax.text(x, y, gate.label, ha="center", va="center", fontsize=GATE_SIZE, zorder=4)
    for source in sources:
        ax.annotate(
            "", xy=(x - RADIUS, y), xytext=source, arrowprops=dict(arrowstyle="->", lw=1.2, shrinkA=0, shrinkB=0)
        )


def _draw_wire(ax, graph, name, x0, end, fmt):
    """Draw the wire ``name`` from x0 to ``end`` (x, y), its value above and its gradient below its left end."""
    x1, y = end
    ax.plot([x0, x1], [y, y], color="black", lw=1.2)
    # Left-aligned, a number may run on over the arrow to the next gate, never into its own gate.
    if name in graph.values:
        ax.text(
            x0 + 0.04,
            y + 0.04,
            fmt.format(graph.values[name]),
            ha="left",
            va="bottom",
            color="green",
            fontsize=NUMBER_SIZE,
        )
    if name in graph.grads:
        ax.text(
            x0 + 0.04, y - 0.04, fmt.format(graph.grads[name]), ha="left", va="top", color="red", fontsize=NUMBER_SIZE
        )
