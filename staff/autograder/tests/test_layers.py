"""Grading tests for ``cs231n/layers.py``: every forward, backward and loss against the reference.

The reference (``cs231n.layers`` imported here, in the trusted process) computes the expected values;
the student's function runs in the sandboxed process. A backward pass is given the cache that the
reference forward builds (the cache's layout is given code), so it is graded on its own.
"""

import numpy as np
import pytest

import cs231n.layers as ref
from staff.autograder.checks import assert_close, case, unpack

MODULE = "cs231n.layers"


def forward_output(name, *args, **kwargs):
    """Student side: run ``name``'s forward and return only its output (any cache is fine)."""
    import cs231n.layers as layers

    out, _ = getattr(layers, name)(*args, **kwargs)
    return out


def layer_inputs(layer, seed, variant):
    """Forward arguments ``(args, kwargs)`` for ``layer``; variant 1 is another shape (hidden tests)."""
    rng = np.random.default_rng(seed)
    if layer == "affine":
        x_shape, M = ((3, 2, 4), 5) if variant == 0 else ((6, 7), 3)
        D = int(np.prod(x_shape[1:]))
        return (rng.standard_normal(x_shape), rng.standard_normal((D, M)), rng.standard_normal(M)), {}
    x = rng.standard_normal((4, 6) if variant == 0 else (2, 3, 5)) * 3
    if layer == "leaky_relu" and variant == 0:
        return (x,), {"alpha": 0.1}
    return (x,), {}


LAYERS = ["affine", "relu", "leaky_relu", "sigmoid", "tanh"]
AFFINE_POINTS = 2  # affine is worth more: everything after it builds on it


@pytest.mark.parametrize(
    "layer",
    [
        case(layer, function=f"{layer}_forward", points=AFFINE_POINTS if layer == "affine" else 1, id=layer)
        for layer in LAYERS
    ],
)
def test_forward_matches_reference(student, layer):
    """forward output matches the reference"""
    args, kwargs = layer_inputs(layer, seed=10, variant=0)
    got = student.run(forward_output, f"{layer}_forward", *args, label=f"{layer}_forward", **kwargs)
    expected, _ = getattr(ref, f"{layer}_forward")(*args, **kwargs)
    assert_close(f"out of {layer}_forward", got, expected)


@pytest.mark.parametrize(
    "layer", [case(layer, function=f"{layer}_forward", points=1, hidden=True, id=layer) for layer in LAYERS]
)
def test_forward_matches_reference_on_other_shapes(student, layer):
    """forward output matches the reference on another input shape (default arguments)"""
    args, kwargs = layer_inputs(layer, seed=11, variant=1)
    got = student.run(forward_output, f"{layer}_forward", *args, label=f"{layer}_forward", **kwargs)
    expected, _ = getattr(ref, f"{layer}_forward")(*args, **kwargs)
    assert_close(f"out of {layer}_forward", got, expected)


def _check_backward(student, layer, seed, variant):
    args, kwargs = layer_inputs(layer, seed, variant)
    out, cache = getattr(ref, f"{layer}_forward")(*args, **kwargs)
    dout = np.random.default_rng(seed + 1).standard_normal(out.shape)
    expected = getattr(ref, f"{layer}_backward")(dout, cache)
    got = student.call(MODULE, f"{layer}_backward", dout, cache)
    if layer == "affine":
        for name, g, e in zip(("dx", "dw", "db"), unpack("affine_backward", got, 3), expected):
            assert_close(f"{name} of affine_backward", g, e)
    else:
        assert_close(f"dx of {layer}_backward", got, expected)


@pytest.mark.parametrize(
    "layer",
    [
        case(layer, function=f"{layer}_backward", points=AFFINE_POINTS if layer == "affine" else 1, id=layer)
        for layer in LAYERS
    ],
)
def test_backward_matches_reference(student, layer):
    """backward gradients match the reference"""
    _check_backward(student, layer, seed=20, variant=0)


@pytest.mark.parametrize(
    "layer", [case(layer, function=f"{layer}_backward", points=1, hidden=True, id=layer) for layer in LAYERS]
)
def test_backward_matches_reference_on_other_shapes(student, layer):
    """backward gradients match the reference on another input shape"""
    _check_backward(student, layer, seed=21, variant=1)


def loss_inputs(seed, N=5, C=4, scale=1.0):
    """Scores x (N, C) and labels y (N,) drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, C)) * scale, rng.integers(0, C, size=N)


LOSSES = ["svm_loss", "softmax_loss"]


@pytest.mark.parametrize("loss", [case(name, function=name, points=1, id=name) for name in LOSSES])
def test_loss_value_matches_reference(student, loss):
    """loss value matches the reference"""
    x, y = loss_inputs(30)
    got, _ = unpack(loss, student.call(MODULE, loss, x, y), 2)
    assert_close(f"loss of {loss}", got, getattr(ref, loss)(x, y)[0])


@pytest.mark.parametrize("loss", [case(name, function=name, points=1, id=name) for name in LOSSES])
def test_loss_gradient_matches_reference(student, loss):
    """gradient dx matches the reference"""
    x, y = loss_inputs(31)
    _, got = unpack(loss, student.call(MODULE, loss, x, y), 2)
    assert_close(f"dx of {loss}", got, getattr(ref, loss)(x, y)[1])


@pytest.mark.parametrize("loss", [case(name, function=name, points=1, hidden=True, id=name) for name in LOSSES])
def test_loss_is_right_and_finite_for_large_scores(student, loss):
    """loss and dx match the reference for scores near 1e4 (numerically stable)"""
    x, y = loss_inputs(32, N=7, C=6, scale=1e4)
    got_loss, got_dx = unpack(loss, student.call(MODULE, loss, x, y), 2)
    expected_loss, expected_dx = getattr(ref, loss)(x, y)
    assert_close(f"loss of {loss}", got_loss, expected_loss)
    assert_close(f"dx of {loss}", got_dx, expected_dx)
