"""Grading tests for ``cs231n/layers.py``: every forward, backward and loss against the reference.

The reference (``cs231n.layers`` imported here, in the trusted process) computes the expected values;
the student's function runs in the sandboxed process. A backward pass is given the cache that the
reference forward builds (the cache's layout is given code), so it is graded on its own. Besides the
values, the module's promises are graded: float32 inputs give float32 outputs, sigmoid and tanh take
large inputs without overflow or warnings, and softmax stays finite for scores of 1e4 (no test may
change its inputs: the runner checks that for every call).
"""

import numpy as np
import pytest

import cs231n.layers as ref
from staff.autograder.checks import assert_close, case, unpack

MODULE = "cs231n.layers"


def forward_output(student, layer, args, kwargs, **options):
    """The output of the student's ``{layer}_forward`` (its cache is the given code's)."""
    name = f"{layer}_forward"
    return unpack(name, student.call(MODULE, name, *args, **options, **kwargs), 2)[0]


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
    got = forward_output(student, layer, args, kwargs)
    expected, _ = getattr(ref, f"{layer}_forward")(*args, **kwargs)
    assert_close(f"out of {layer}_forward", got, expected)


@pytest.mark.parametrize(
    "layer", [case(layer, function=f"{layer}_forward", points=1, hidden=True, id=layer) for layer in LAYERS]
)
def test_forward_matches_reference_on_other_shapes(student, layer):
    """forward output matches the reference on another input shape (default arguments)"""
    args, kwargs = layer_inputs(layer, seed=11, variant=1)
    got = forward_output(student, layer, args, kwargs)
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
def test_loss_matches_reference_on_other_shapes(student, loss):
    """loss and dx match the reference for another number of examples and classes"""
    x, y = loss_inputs(33, N=9, C=3)
    got_loss, got_dx = unpack(loss, student.call(MODULE, loss, x, y), 2)
    expected_loss, expected_dx = getattr(ref, loss)(x, y)
    assert_close(f"loss of {loss}", got_loss, expected_loss)
    assert_close(f"dx of {loss}", got_dx, expected_dx)


@pytest.mark.parametrize(
    "loss", [case(name, function=name, points=1, hidden=name == "svm_loss", id=name) for name in LOSSES]
)
def test_loss_is_right_and_finite_for_large_scores(student, loss):
    """loss and dx match the reference for scores near 1e4, with no overflow warning (numerically stable)"""
    x, y = loss_inputs(32, N=7, C=6, scale=1e4)
    got_loss, got_dx = unpack(loss, student.call(MODULE, loss, x, y, no_warnings=True), 2)
    expected_loss, expected_dx = getattr(ref, loss)(x, y)
    assert_close(f"loss of {loss}", got_loss, expected_loss)
    assert_close(f"dx of {loss}", got_dx, expected_dx)


def _wide(value):
    """``value`` (an array, a cache tuple, a number) with every float32 array made float64."""
    if isinstance(value, tuple):
        return tuple(_wide(v) for v in value)
    return value.astype(np.float64) if isinstance(value, np.ndarray) else value


def _assert_float32(what, got, expected):
    got = np.asarray(got)
    if got.dtype != np.float32:
        raise AssertionError(f"{what} has dtype {got.dtype} for float32 inputs: keep the inputs' float dtype")
    assert_close(what, got, expected, rtol=1e-4, atol=1e-5)


FLOAT32_CASES = [(layer, d) for d in ("forward", "backward") for layer in LAYERS] + [(name, None) for name in LOSSES]


@pytest.mark.parametrize(
    "layer, direction",
    [
        case(layer, d, function=f"{layer}_{d}" if d else layer, points=1, id=f"{layer}_{d}" if d else layer)
        for layer, d in FLOAT32_CASES
    ],
)
def test_float32_inputs_give_float32_outputs(student, layer, direction):
    """float32 inputs give float32 outputs with the reference's values"""
    if direction is None:  # a loss: the scores are float32, the labels integers
        x, y = loss_inputs(62)
        got_loss, got_dx = unpack(layer, student.call(MODULE, layer, x.astype(np.float32), y), 2)
        expected_loss, expected_dx = getattr(ref, layer)(x.astype(np.float32).astype(np.float64), y)
        assert_close(f"loss of {layer}", got_loss, expected_loss, rtol=1e-4, atol=1e-5)
        _assert_float32(f"dx of {layer}", got_dx, expected_dx)
        return
    args, kwargs = layer_inputs(layer, seed=60, variant=0)
    args = tuple(a.astype(np.float32) for a in args)
    if direction == "forward":
        got = forward_output(student, layer, args, kwargs)
        _assert_float32(f"out of {layer}_forward", got, getattr(ref, f"{layer}_forward")(*_wide(args), **kwargs)[0])
        return
    out, cache = getattr(ref, f"{layer}_forward")(*args, **kwargs)
    dout = np.random.default_rng(61).standard_normal(out.shape).astype(np.float32)
    expected = getattr(ref, f"{layer}_backward")(_wide(dout), _wide(cache))
    got = student.call(MODULE, f"{layer}_backward", dout, cache)
    if layer == "affine":
        for name, g, e in zip(("dx", "dw", "db"), unpack("affine_backward", got, 3), expected):
            _assert_float32(f"{name} of affine_backward", g, e)
    else:
        _assert_float32(f"dx of {layer}_backward", got, expected)


# Inputs far beyond where exp overflows (exp(710) is inf in float64).
LARGE = np.array([[-1000.0, -50.0, -1.0, 0.0, 1.0, 50.0, 1000.0]])
BOUNDS = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


@pytest.mark.parametrize("layer", [case(layer, function=f"{layer}_forward", points=1, id=layer) for layer in BOUNDS])
def test_forward_takes_large_inputs_without_overflow(student, layer):
    """inputs of +-1000 give the reference's values, within the function's range, with no warning"""
    got = forward_output(student, layer, (LARGE,), {}, no_warnings=True)
    assert_close(f"out of {layer}_forward", got, getattr(ref, f"{layer}_forward")(LARGE)[0])
    low, high = BOUNDS[layer]
    if not np.all((np.asarray(got) >= low) & (np.asarray(got) <= high)):
        raise AssertionError(f"out of {layer}_forward leaves [{low:g}, {high:g}] for inputs of +-1000")


# Inputs exactly at the kink: "only where the input was positive" sends no gradient through x = 0.
AT_ZERO = np.array([[-1.0, 0.0, 2.0], [0.0, 3.0, -0.5]])


@pytest.mark.parametrize(
    "layer", [case(layer, function=f"{layer}_backward", points=1, id=layer) for layer in ("relu", "leaky_relu")]
)
def test_backward_at_zero_inputs(student, layer):
    """where x is exactly 0 the gradient is that of the non-positive side, as the docstring says"""
    out, cache = getattr(ref, f"{layer}_forward")(AT_ZERO)
    dout = np.arange(1.0, 7.0).reshape(AT_ZERO.shape)
    got = student.call(MODULE, f"{layer}_backward", dout, cache)
    assert_close(f"dx of {layer}_backward", got, getattr(ref, f"{layer}_backward")(dout, cache))
