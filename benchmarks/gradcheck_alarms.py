"""False-alarm benchmark: how often the structured gradient check calls correct code wrong.

Correct float64 code, drawn at random next to its kinks, where a check is most easily fooled:

- an affine-ReLU layer (x (3, 4), w (4, 5), b (5,)) with one hidden unit within 2h of 0, so that a
  perturbation of x, w or b crosses the kink of one of the summed terms;
- a row-wise max (x (4, 3)) with two entries of a row within 2h of a tie;
- the SVM loss (x (5, 4)) with one margin within 2h of 0;
- a two-layer net at CS231n's initialization (N, D, H, C = 3, 5, 50, 7, weights 1e-3 * randn, zero
  biases), reg 0 and 0.7 on alternate draws.

Every layer is written in this file. The table counts the checks (one per input or parameter) that
came out FAIL (false alarms), WARN and PASS over ``--draws`` draws per case, for the working copy
and, with ``--rev``, for the kit's ``gradient_check`` at a git revision (extracted with ``git
archive`` and imported under another name, same draws).

    python benchmarks/gradcheck_alarms.py
    python benchmarks/gradcheck_alarms.py --rev b02b32d --draws 200
"""

import argparse
import importlib
import io
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
from common import REPO_ROOT, command_line, machine_line, markdown_table

import cs231n.gradient_check as working_copy


def affine_relu_forward(x, w, b):
    pre = x @ w + b
    return np.maximum(pre, 0), (x, w, pre)


def affine_relu_backward(dout, cache):
    x, w, pre = cache
    gate = dout * (pre > 0)
    return gate @ w.T, x.T @ gate, gate.sum(axis=0)


def rowmax_forward(x):
    return x.max(axis=1), x


def rowmax_backward(dout, x):
    routed = np.zeros_like(x)
    routed[np.arange(x.shape[0]), x.argmax(axis=1)] = dout
    return routed


def svm(x, y):
    rows = np.arange(x.shape[0])
    hinge = np.maximum(0, x - x[rows, y][:, None] + 1)
    hinge[rows, y] = 0
    grad = (hinge > 0).astype(float)
    grad[rows, y] = -grad.sum(axis=1)
    return hinge.sum() / x.shape[0], grad / x.shape[0]


class TwoLayerNet:
    """affine - ReLU - affine - softmax, 0.5 * reg * sum(W**2), weights 1e-3 * randn, zero biases."""

    def __init__(self, rng, reg, dims=(5, 50, 7), scale=1e-3):
        d, h, c = dims
        self.params = {"W1": scale * rng.standard_normal((d, h)), "b1": np.zeros(h)}
        self.params.update({"W2": scale * rng.standard_normal((h, c)), "b2": np.zeros(c)})
        self.reg = reg

    def loss(self, X, y):
        p, n = self.params, X.shape[0]
        pre = X @ p["W1"] + p["b1"]
        hidden = np.maximum(pre, 0)
        scores = hidden @ p["W2"] + p["b2"]
        scores = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
        loss = -np.log(probs[np.arange(n), y]).mean()
        loss += 0.5 * self.reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        dscores = probs.copy()
        dscores[np.arange(n), y] -= 1
        dscores /= n
        dpre = (dscores @ p["W2"].T) * (pre > 0)
        grads = {"W2": hidden.T @ dscores + self.reg * p["W2"], "b2": dscores.sum(axis=0)}
        grads.update({"W1": X.T @ dpre + self.reg * p["W1"], "b1": dpre.sum(axis=0)})
        return loss, grads


def affine_relu_case(gc, seed):
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    i, k = rng.integers(3), rng.integers(5)
    b[k] = -(x[i] @ w[:, k]) + rng.uniform(-2e-5, 2e-5)
    return gc.check_layer(affine_relu_forward, affine_relu_backward, [x, w, b])


def max_case(gc, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 3))
    x[1, 2] = x[1].max() + rng.uniform(-2e-5, 2e-5)
    return gc.check_layer(rowmax_forward, rowmax_backward, [x])


def svm_case(gc, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((5, 4)), rng.integers(4, size=5)
    i = rng.integers(5)
    j = (y[i] + 1 + rng.integers(3)) % 4
    x[i, j] = x[i, y[i]] - 1 + rng.uniform(-2e-5, 2e-5)
    return [gc.check_gradient(lambda v: svm(v, y)[0], x, svm(x, y)[1], batch_size=5)]


def net_case(gc, seed):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((3, 5)), rng.integers(7, size=3)
    return gc.check_model(TwoLayerNet(rng, reg=0.7 * (seed % 2)), X, y)


CASES = [
    ("affine-ReLU, a unit within 2h of its kink", affine_relu_case),
    ("row max, a near tie", max_case),
    ("svm_loss, a margin within 2h of 0", svm_case),
    ("two-layer net at CS231n's initialization, reg 0 / 0.7", net_case),
]


def import_revision(rev, folder):
    """``cs231n.gradient_check`` as it is at git revision ``rev``, imported as ``cs231n_at_rev``."""
    archive = subprocess.run(["git", "archive", rev, "cs231n"], cwd=REPO_ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    (Path(folder) / "cs231n").rename(Path(folder) / "cs231n_at_rev")
    sys.path.insert(0, str(folder))
    return importlib.import_module("cs231n_at_rev.gradient_check")


def count(gc, case, draws):
    """(FAIL, WARN, PASS) counts of the checks over ``draws`` draws, the draws with a FAIL, and the seconds."""
    tic = time.perf_counter()
    verdicts, failed_draws = [], 0
    for seed in range(draws):
        got = [r.verdict for r in case(gc, seed)]
        verdicts += got
        failed_draws += "FAIL" in got
    return [verdicts.count(v) for v in ("FAIL", "WARN", "PASS")], failed_draws, time.perf_counter() - tic


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--draws", type=int, default=200, help="random draws per case")
    p.add_argument("--rev", help="also count for the gradient check at this git revision")
    args = p.parse_args(argv)

    print(f"Command: {command_line(__file__, argv)}")
    print(machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        versions = [("working copy", working_copy)]
        if args.rev:
            versions.append((args.rev, import_revision(args.rev, tmp)))
        rows = []
        for name, case in CASES:
            for label, gc in versions:
                (fail, warn, ok), failed_draws, seconds = count(gc, case, args.draws)
                rows.append([name, label, f"{failed_draws} of {args.draws}", fail, warn, ok, f"{seconds:.1f} s"])
    header = ["correct code", "checker", "draws with a FAIL", "FAIL checks", "WARN", "PASS", "time"]
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
