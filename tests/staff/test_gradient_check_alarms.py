"""No false alarm of the gradient check (cs231n/gradient_check.py): correct code never FAILs.

Correct layers, losses and CS231n's two-layer net, drawn next to their kinks over many random draws:
a check may warn there, never fail. test_gradient_check_diagnosis.py holds the layers used here and
checks single clean draws, each bug class and the kinks of one draw.
"""

import numpy as np
import pytest
from test_gradient_check_diagnosis import TinyNet, svm_loss

from cs231n.gradient_check import check_gradient, check_layer, check_model


def rowmax_forward(x):
    """out[i] = max_j x[i, j], shape (N,); the gradient goes to the largest entry of each row."""
    return x.max(axis=1), x


def rowmax_backward(dout, x):
    routed = np.zeros_like(x)
    routed[np.arange(x.shape[0]), x.argmax(axis=1)] = dout
    return routed


def fails(results):
    return [r for r in results if r.verdict == "FAIL"]


def affine_relu_forward(x, w, b):
    pre = x.reshape(x.shape[0], -1) @ w + b
    return np.maximum(pre, 0), (x, w, pre)


def affine_relu_backward(dout, cache):
    x, w, pre = cache
    gate = dout * (pre > 0)
    return (gate @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ gate, gate.sum(axis=0)


def affine_relu_near_a_kink(seed):
    """x, w, b with one hidden unit within 2h of its kink: perturbing x, w or b crosses it inside a sum."""
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    i, k = rng.integers(3), rng.integers(5)
    b[k] = -(x[i] @ w[:, k]) + rng.uniform(-2e-5, 2e-5)
    return x, w, b


def test_correct_affine_relu_never_fails_over_200_draws_next_to_a_kink():
    verdicts, codes = [], set()
    for seed in range(200):
        results = check_layer(affine_relu_forward, affine_relu_backward, list(affine_relu_near_a_kink(seed)))
        assert not fails(results), (seed, [r.report() for r in fails(results)])
        verdicts += [r.verdict for r in results]
        codes |= {c for r in results for c in r.codes}
    assert verdicts.count("WARN") > 50  # the draws do cross kinks, and say so
    assert codes <= {"kink", "unstable", "noise", "grey_zone"}


def test_correct_svm_loss_never_fails_over_200_draws_with_a_margin_next_to_zero():
    for seed in range(200):
        rng = np.random.default_rng(seed)
        x, y = rng.standard_normal((5, 4)), rng.integers(4, size=5)
        i = rng.integers(5)
        j = (y[i] + 1 + rng.integers(3)) % 4
        x[i, j] = x[i, y[i]] - 1 + rng.uniform(-2e-5, 2e-5)  # the hinge of (i, j) within 2h of its kink
        r = check_gradient(lambda v, y=y: svm_loss(v, y)[0], x, svm_loss(x, y)[1], batch_size=5)
        assert r.verdict != "FAIL", (seed, r.report())


def test_correct_max_never_fails_over_200_draws_with_near_ties():
    for seed in range(200):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((4, 3))
        x[1, 2] = x[1].max() + rng.uniform(-2e-5, 2e-5)  # two entries of row 1 within 2h of a tie
        (r,) = check_layer(rowmax_forward, rowmax_backward, [x])
        assert r.verdict != "FAIL", (seed, r.report())


def check_cs231n_two_layer_net(seed):
    """CS231n's check: N, D, H, C = 3, 5, 50, 7, weights 1e-3 * randn, zero biases, reg 0 or 0.7."""
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((3, 5)), rng.integers(7, size=3)
    net = TinyNet(rng, reg=0.7 * (seed % 2), sizes=(5, 50, 7), weight_scale=1e-3)
    return check_model(net, X, y)


def test_correct_two_layer_net_at_cs231n_initialization_never_fails():
    warned = 0
    for seed in range(12):
        results = check_cs231n_two_layer_net(seed)
        assert not fails(results), (seed, [r.report() for r in fails(results)])
        warned += any(r.verdict == "WARN" for r in results)
    assert warned  # at this scale the hidden units sit within h of their kinks now and then


@pytest.mark.slow
def test_correct_two_layer_net_at_cs231n_initialization_never_fails_over_200_draws():
    for seed in range(12, 212):
        results = check_cs231n_two_layer_net(seed)
        assert not fails(results), (seed, [r.report() for r in fails(results)])
