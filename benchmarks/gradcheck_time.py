"""Gradient-check benchmark: the structured check against CS231n's bare numerical gradient, same function.

For each case the two are timed side by side, round after round, in one process:

- *bare*: the numerical gradient as CS231n's loop computes it (perturb an entry in place, call f
  at x + h and x - h, restore; for a layer ``sum((f(x+h) - f(x-h)) * dout) / 2h``), with no check of
  any kind, once per input or parameter;
- *check*: ``check_layer``, ``check_gradient`` or ``check_model`` on the same function and inputs,
  which also calls f twice first (determinism, mutation), compares and diagnoses.

The layers, losses and net are the kit's own (``cs231n.layers``, ``cs231n.layer_utils``,
``TwoLayerNet``) at the sizes of the notebooks' gradient checks, in float64. The ratio is the median
of the per-round ratios check / bare; 1.0 means the structured check costs nothing extra.

    python benchmarks/gradcheck_time.py
    python benchmarks/gradcheck_time.py --rounds 30
"""

import argparse
import sys
import time

import numpy as np
from common import command_line, machine_line, markdown_table

from cs231n import layers as L
from cs231n.classifiers.fc_net import TwoLayerNet
from cs231n.gradient_check import check_gradient, check_layer, check_model
from cs231n.layer_utils import affine_relu_backward, affine_relu_forward


def bare_gradient(f, x, h=1e-5):
    """Centered differences of a scalar f, CS231n's loop with no checks."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fp = f(x)
        x[ix] = old - h
        fm = f(x)
        x[ix] = old
        grad[ix] = (fp - fm) / (2 * h)
        it.iternext()
    return grad


def bare_gradient_array(f, x, df, h=1e-5):
    """Centered differences of sum(f(x) * df), CS231n's loop with no checks."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        pos = f(x).copy()
        x[ix] = old - h
        neg = f(x).copy()
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def layer_case(forward, backward, inputs):
    """(bare, check) callables for a layer: one bare gradient per input, and check_layer."""
    rng = np.random.default_rng(0)
    out, _ = forward(*inputs)
    dout = rng.standard_normal(out.shape)

    def bare():
        for i in range(len(inputs)):
            args = list(inputs)

            def f(v, i=i, args=args):
                args[i] = v
                return forward(*args)[0]

            bare_gradient_array(f, inputs[i].copy(), dout)

    return bare, lambda: check_layer(forward, backward, inputs, dout)


def loss_case(loss, x, y):
    """(bare, check) callables for a loss's dx."""
    dx = loss(x, y)[1]
    return (
        lambda: bare_gradient(lambda v: loss(v, y)[0], x.copy()),
        lambda: check_gradient(lambda v: loss(v, y)[0], x, dx),
    )


def model_case(model, X, y):
    """(bare, check) callables for every parameter of a model."""

    def bare():
        for p in model.params.values():
            bare_gradient(lambda _: model.loss(X, y)[0], p)

    return bare, lambda: check_model(model, X, y)


def cases():
    """(name, bare, check) for each case, at the sizes of the notebooks' checks."""
    rng = np.random.default_rng(231)
    x, w, b = rng.standard_normal((10, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)
    xr = rng.standard_normal((10, 10))
    xa, wa, ba = rng.standard_normal((2, 3, 4)), rng.standard_normal((12, 10)), rng.standard_normal(10)
    scores, labels = 0.001 * rng.standard_normal((50, 10)), rng.integers(10, size=50)
    np.random.seed(231)
    net = TwoLayerNet(input_dim=5, hidden_dim=50, num_classes=7, weight_scale=1e-3, reg=0.7)
    net.params = {k: v.astype(np.float64) for k, v in net.params.items()}
    X, y = rng.standard_normal((3, 5)), rng.integers(7, size=3)
    return [
        ("affine x (10,2,3), w (6,5), b (5,)", *layer_case(L.affine_forward, L.affine_backward, [x, w, b])),
        ("relu x (10,10)", *layer_case(L.relu_forward, L.relu_backward, [xr])),
        (
            "affine_relu x (2,3,4), w (12,10), b (10,)",
            *layer_case(affine_relu_forward, affine_relu_backward, [xa, wa, ba]),
        ),
        ("softmax_loss x (50,10)", *loss_case(L.softmax_loss, scores, labels)),
        ("svm_loss x (50,10)", *loss_case(L.svm_loss, scores, labels)),
        ("TwoLayerNet (3,5,50,7) reg 0.7, 4 params", *model_case(net, X, y)),
    ]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15, help="timed rounds per case (bare and check alternate)")
    args = p.parse_args(argv)

    print(f"Command: {command_line(__file__, argv)}")
    print(machine_line())
    rows = []
    for name, bare, check in cases():
        bare(), check()  # warm up
        t_bare, t_check = [], []
        for _ in range(args.rounds):
            for fn, times in ((bare, t_bare), (check, t_check)):
                tic = time.perf_counter()
                fn()
                times.append(time.perf_counter() - tic)
        ratios = np.array(t_check) / np.array(t_bare)
        results = check()
        verdicts = ", ".join(r.verdict for r in (results if isinstance(results, list) else [results]))
        rows.append(
            [
                name,
                f"{1e3 * np.median(t_bare):.1f} ms",
                f"{1e3 * np.median(t_check):.1f} ms",
                f"{np.median(ratios):.2f}",
                f"{np.percentile(ratios, 25):.2f} to {np.percentile(ratios, 75):.2f}",
                verdicts,
            ]
        )
    header = ["case", "bare (median)", "check (median)", "check / bare", "middle half", "verdicts"]
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
