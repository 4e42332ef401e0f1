"""The lecture's computational graphs: scalar gates and a graph that backpropagates through them.

A *gate* is one small operation with the lecture's modular API: ``forward(*inputs) -> out`` keeps
what its backward pass needs, and ``backward(dout) -> (dx, ...)`` turns the upstream gradient
``dout`` into one gradient per input (local gradient times upstream gradient, the chain rule).
A *wire* is a named scalar; a :class:`Graph` connects gates through wires, runs the gates forward in
topological order and backward in reverse order, and adds up the gradients of a wire that feeds
several gates. ``cs231n/graph_drawing.py`` draws a graph like the slides.

Example, the lecture's f(x, y, z) = (x + y) z::

    g = Graph()
    g.gate(Add(), ["x", "y"], "q")
    g.gate(Multiply(), ["q", "z"], "f")
    g.forward(x=-2.0, y=5.0, z=-4.0)   # -12.0
    g.backward()                       # {'x': -4.0, 'y': -4.0, 'z': 3.0, 'q': -4.0, 'f': 1.0}
"""

import math
import numbers


class Gate:
    """One scalar operation: ``forward`` computes the output, ``backward`` the input gradients.

    Attributes
    ----------
    label : str
        The text drawn inside the gate's circle.
    num_inputs : int
        How many floats ``forward`` takes and ``backward`` returns gradients for.
    """

    label = "?"
    num_inputs = 1

    def forward(self, *inputs):
        """Compute the output from ``num_inputs`` floats and cache what backward needs."""
        raise NotImplementedError

    def backward(self, dout):
        """Return a tuple with d(loss)/d(input) for each input, given ``dout`` = d(loss)/d(out)."""
        raise NotImplementedError


class Add(Gate):
    """``out = x + y``: the add gate distributes the upstream gradient unchanged to both inputs."""

    label = "+"
    num_inputs = 2

    def forward(self, x, y):
        """x, y: floats. Returns out: float."""
        return x + y

    def backward(self, dout):
        """dout: float. Returns (dx, dy): floats."""
        dx, dy = None, None
        ###########################################################################
        # TODO: Compute dx and dy, the gradients of the loss with respect to x    #
        # and y, from the upstream gradient dout.                                 #
        ###########################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        dx = 1.0 * dout
        dy = 1.0 * dout

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        ###########################################################################
        #                             END OF YOUR CODE                            #
        ###########################################################################
        return dx, dy


class Multiply(Gate):
    """``out = x * y``: the multiply gate swaps its inputs to scale the upstream gradient."""

    label = "*"
    num_inputs = 2

    def forward(self, x, y):
        """x, y: floats. Returns out: float."""
        self.x, self.y = x, y
        return x * y

    def backward(self, dout):
        """dout: float. Returns (dx, dy): floats."""
        dx, dy = None, None
        ###########################################################################
        # TODO: Compute dx and dy from dout and the inputs cached by forward.     #
        ###########################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        dx = self.y * dout
        dy = self.x * dout

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        ###########################################################################
        #                             END OF YOUR CODE                            #
        ###########################################################################
        return dx, dy


class Max(Gate):
    """``out = max(x, y)``: the max gate routes the upstream gradient to the larger input.

    On a tie the gradient goes to ``x``, the input that ``max`` returns.
    """

    label = "max"
    num_inputs = 2

    def forward(self, x, y):
        """x, y: floats. Returns out: float."""
        self.x, self.y = x, y
        return max(x, y)

    def backward(self, dout):
        """dout: float. Returns (dx, dy): floats, one of them 0.0."""
        dx, dy = None, None
        ###########################################################################
        # TODO: Send dout to the input that won the max (x on a tie) and a zero   #
        # gradient to the other.                                                  #
        ###########################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        x_won = self.x >= self.y
        dx = dout if x_won else 0.0
        dy = 0.0 if x_won else dout

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        ###########################################################################
        #                             END OF YOUR CODE                            #
        ###########################################################################
        return dx, dy


class AddConst(Gate):
    """``out = x + c`` for a fixed constant ``c`` (the lecture's "+1" gate)."""

    def __init__(self, c):
        self.c = _scalar(c, "c")
        self.label = f"{self.c:+g}"

    def forward(self, x):
        """x: float. Returns out: float."""
        return x + self.c

    def backward(self, dout):
        """dout: float. Returns (dx,): a 1-tuple of floats."""
        dx = None
        ###########################################################################
        # TODO: Compute dx from dout.                                             #
        ###########################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        dx = 1.0 * dout

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        ###########################################################################
        #                             END OF YOUR CODE                            #
        ###########################################################################
        return (dx,)


class MulConst(Gate):
    """``out = c * x`` for a fixed constant ``c``; ``MulConst(-1)`` is the lecture's "*-1" gate."""

    def __init__(self, c):
        self.c = _scalar(c, "c")
        self.label = f"*{self.c:g}"

    def forward(self, x):
        """x: float. Returns out: float."""
        return self.c * x

    def backward(self, dout):
        """dout: float. Returns (dx,): a 1-tuple of floats."""
        dx = None
        ###########################################################################
        # TODO: Compute dx from dout and the constant self.c.                     #
        ###########################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        dx = self.c * dout

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        ###########################################################################
        #                             END OF YOUR CODE                            #
        ###########################################################################
        return (dx,)


class Exp(Gate):
    """``out = exp(x)``."""

    label = "exp"

    def forward(self, x):
        """x: float. Returns out: float."""
        self.out = math.exp(x)
        return self.out

    def backward(self, dout):
        """dout: float. Returns (dx,): a 1-tuple of floats."""
        dx = None
        ###########################################################################
        # TODO: Compute dx from dout and the output cached by forward.            #
        ###########################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        dx = self.out * dout

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        ###########################################################################
        #                             END OF YOUR CODE                            #
        ###########################################################################
        return (dx,)


class Reciprocal(Gate):
    """``out = 1 / x`` (the lecture's "1/x" gate); ``x`` must be nonzero."""

    label = "1/x"

    def forward(self, x):
        """x: nonzero float. Returns out: float."""
        if x == 0:
            raise ValueError(f"Reciprocal: input x must be nonzero, got {x!r}")
        self.x = x
        return 1.0 / x

    def backward(self, dout):
        """dout: float. Returns (dx,): a 1-tuple of floats."""
        dx = None
        ###########################################################################
        # TODO: Compute dx from dout and the input cached by forward.             #
        ###########################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        dx = -1.0 / self.x**2 * dout

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        ###########################################################################
        #                             END OF YOUR CODE                            #
        ###########################################################################
        return (dx,)


class Sigmoid(Gate):
    """``out = 1 / (1 + exp(-x))``: one gate for the four-gate chain *-1, exp, +1, 1/x."""

    label = "σ"

    def forward(self, x):
        """x: float. Returns out: float in (0, 1)."""
        # exp of a positive argument only, so a large |x| cannot overflow.
        if x >= 0:
            self.out = 1.0 / (1.0 + math.exp(-x))
        else:
            self.out = math.exp(x) / (1.0 + math.exp(x))
        return self.out

    def backward(self, dout):
        """dout: float. Returns (dx,): a 1-tuple of floats."""
        dx = None
        ###########################################################################
        # TODO: Compute dx from dout and the output cached by forward, using the  #
        # sigmoid's derivative written in terms of its own output.                #
        ###########################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        dx = (1.0 - self.out) * self.out * dout

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        ###########################################################################
        #                             END OF YOUR CODE                            #
        ###########################################################################
        return (dx,)


def _scalar(v, name):
    """Return ``v`` as a float, or raise ValueError naming ``name`` when it is not a real number."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {v!r} of type {type(v).__name__}")
    return float(v)


def _gradients(gate, ins, out, grads):
    """Check what ``gate.backward`` returned: one real number per input wire. Returns them as floats."""
    where = f"{type(gate).__name__} gate {gate.label!r} (inputs {ins}, output {out!r})"
    if not isinstance(grads, (tuple, list)):
        raise ValueError(f"the backward of the {where} must return a tuple of {len(ins)} gradient(s), got {grads!r}")
    if len(grads) != len(ins):
        raise ValueError(
            f"the backward of the {where} returned {len(grads)} gradient(s), expected {len(ins)}: one per input"
        )
    return [
        _scalar(dx, f"the gradient for input {w!r} returned by the backward of the {where}")
        for w, dx in zip(ins, grads)
    ]


class Graph:
    """Gates connected by named scalar wires; the loss is the one wire that feeds no gate.

    Attributes
    ----------
    values : dict of str to float
        Forward value of every wire, filled by :meth:`forward`.
    grads : dict of str to float
        d(output)/d(wire) for every wire, filled by :meth:`backward`.
    """

    def __init__(self):
        self.nodes = []  # (gate, input wire names, output wire name), in the order added
        self.values = {}
        self.grads = {}

    def gate(self, gate, inputs, out):
        """Add ``gate``, reading the wires ``inputs`` and writing the wire ``out``.

        Wires may be named before the gate that writes them is added. A gate instance caches its
        inputs, so each instance may appear only once.

        Parameters
        ----------
        gate : Gate
            A new gate instance.
        inputs : list of str, length gate.num_inputs
            Names of the wires it reads; a name may repeat (``x * x``).
        out : str
            Name of the wire it writes; no other gate may write it.

        Returns
        -------
        out : str
        """
        if not isinstance(gate, Gate):
            raise ValueError(f"gate must be a Gate instance, got {gate!r}")
        if any(gate is g for g, _, _ in self.nodes):
            raise ValueError(f"gate {gate.label!r} is already in the graph; make a new instance")
        inputs = list(inputs)
        if len(inputs) != gate.num_inputs:
            raise ValueError(f"gate {gate.label!r} takes {gate.num_inputs} inputs, got {inputs}")
        if out in self.outputs():
            raise ValueError(f"out wire {out!r} is already written by another gate")
        self.nodes.append((gate, inputs, out))
        return out

    def outputs(self):
        """Return the list of wires written by a gate, in the order the gates were added."""
        return [out for _, _, out in self.nodes]

    def inputs(self):
        """Return the list of wires that no gate writes (the graph's inputs), in order of first use."""
        written = set(self.outputs())
        names = []
        for _, ins, _ in self.nodes:
            names += [w for w in ins if w not in written and w not in names]
        return names

    def output(self):
        """Return the name of the one wire that no gate reads: the graph's output (the loss)."""
        read = {w for _, ins, _ in self.nodes for w in ins}
        ends = [out for out in self.outputs() if out not in read]
        if len(ends) != 1:
            raise ValueError(f"a graph needs exactly one output wire that feeds no gate, got {ends}")
        return ends[0]

    def topological_order(self):
        """Return the nodes ordered so that every gate comes after the gates writing its inputs."""
        writer = {node[2]: node for node in self.nodes}
        order, state = [], {}  # state: 1 while visiting, 2 when done

        def visit(node):
            if state.get(node[2]) == 2:
                return
            if state.get(node[2]) == 1:
                raise ValueError(f"the graph has a cycle through wire {node[2]!r}")
            state[node[2]] = 1
            for w in node[1]:
                if w in writer:
                    visit(writer[w])
            state[node[2]] = 2
            order.append(node)

        for node in self.nodes:
            visit(node)
        return order

    def forward(self, **inputs):
        """Set the input wires, run every gate in topological order, and return the output.

        Parameters
        ----------
        **inputs : float
            One value per input wire, by name (exactly the names of :meth:`inputs`).

        Returns
        -------
        out : float
            The value of the output wire; every wire's value is in ``values``.
        """
        expected = self.inputs()
        if set(inputs) != set(expected):
            raise ValueError(f"forward needs exactly the inputs {expected}, got {sorted(inputs)}")
        self.values = {name: _scalar(v, name) for name, v in inputs.items()}
        self.grads = {}
        for gate, ins, out in self.topological_order():
            self.values[out] = gate.forward(*[self.values[w] for w in ins])
        return self.values[self.output()]

    def backward(self, dout=1.0):
        """Run every gate's backward in reverse topological order, starting from the output.

        Parameters
        ----------
        dout : float
            Gradient of the loss with respect to the output wire (1.0 when the output is the loss).

        Returns
        -------
        grads : dict of str to float
            Gradient of the loss with respect to every wire, inputs included.
        """
        if not self.values:
            raise RuntimeError("call forward before backward")
        self.grads = {name: 0.0 for name in self.values}
        self.grads[self.output()] = _scalar(dout, "dout")
        for gate, ins, out in reversed(self.topological_order()):
            for w, dw in zip(ins, _gradients(gate, ins, out, gate.backward(self.grads[out]))):
                # The copy gate: a wire that feeds several gates sums the gradients they send back.
                self.grads[w] += dw
        return self.grads
