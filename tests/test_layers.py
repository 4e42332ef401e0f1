"""Tests for cs231n/layers.py: values worked out independently, numerical gradients, dtypes, errors."""

import math

import numpy as np
import pytest

from cs231n import layers
from cs231n.gradient_check import eval_numerical_gradient_array, rel_error


def away_from_zero(rng, shape):
    """Normal draws pushed at least 0.05 away from 0, so that x +- h never crosses a ReLU kink."""
    x = rng.standard_normal(shape)
    return np.sign(x) * (np.abs(x) + 0.05)


def scores_and_labels(rng, N, C):
    """Random scores (N, C) in float64 and labels (N,) in [0, C)."""
    return rng.standard_normal((N, C)), rng.integers(0, C, size=N)


# Every elementwise layer: forward, backward and the keyword arguments of the forward.
ELEMENTWISE_PAIRS = {
    "relu": (layers.relu_forward, layers.relu_backward, {}),
    "leaky_relu": (layers.leaky_relu_forward, layers.leaky_relu_backward, {}),
    "leaky_relu_alpha_0.2": (layers.leaky_relu_forward, layers.leaky_relu_backward, {"alpha": 0.2}),
    "sigmoid": (layers.sigmoid_forward, layers.sigmoid_backward, {}),
    "tanh": (layers.tanh_forward, layers.tanh_backward, {}),
}


# ---------------------------------------------------------------------------------------------
# Forward values
# ---------------------------------------------------------------------------------------------


def test_affine_forward_matches_hand_computed_values():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    w = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]])
    b = np.array([0.5, 0.0, -1.0])
    out, _ = layers.affine_forward(x, w, b)
    # Row 0: [1 + 4, 2, -1] + b; row 1: [3 + 8, 4, -3] + b.
    np.testing.assert_allclose(out, [[5.5, 2.0, -2.0], [11.5, 4.0, -4.0]])


@pytest.mark.parametrize("x_shape, M", [((1, 4), 3), ((3, 2, 5), 4), ((2, 3, 2, 2), 5)])
def test_affine_forward_flattens_each_example_like_a_plain_loop(rng, x_shape, M):
    x = rng.standard_normal(x_shape)
    D = int(np.prod(x_shape[1:]))
    w, b = rng.standard_normal((D, M)), rng.standard_normal(M)
    out, cache = layers.affine_forward(x, w, b)
    expected = np.zeros((x_shape[0], M))
    for i in range(x_shape[0]):
        row = list(x[i].flat)
        for m in range(M):
            expected[i, m] = sum(row[d] * w[d, m] for d in range(D)) + b[m]
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    assert cache[0] is x and cache[1] is w and cache[2] is b


def scalar_sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v))


# The same function of one number, written with plain Python and the math module.
SCALAR_MATH = {
    "relu": lambda v: max(0.0, v),
    "leaky_relu": lambda v: v if v > 0 else 0.01 * v,
    "leaky_relu_alpha_0.2": lambda v: v if v > 0 else 0.2 * v,
    "sigmoid": scalar_sigmoid,
    "tanh": math.tanh,
}


@pytest.mark.parametrize("name", ELEMENTWISE_PAIRS)
@pytest.mark.parametrize("shape", [(1, 3), (4, 5), (2, 3, 4)])
def test_elementwise_forward_matches_scalar_math_loop(rng, name, shape):
    forward, _, kwargs = ELEMENTWISE_PAIRS[name]
    scalar = SCALAR_MATH[name]
    x = rng.standard_normal(shape) * 3
    out, _ = forward(x, **kwargs)
    expected = np.array([scalar(v) for v in x.flat]).reshape(shape)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-15)


def test_relu_forward_hand_values_and_cache_is_x():
    x = np.array([[-2.0, 0.0, 3.0]])
    out, cache = layers.relu_forward(x)
    np.testing.assert_array_equal(out, [[0.0, 0.0, 3.0]])
    assert cache is x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_does_not_overflow_for_large_inputs(dtype):
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=dtype)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        out, cache = layers.sigmoid_forward(x)
        dx = layers.sigmoid_backward(np.ones_like(x), cache)
    # sigmoid(-50) = exp(-50) / (1 + exp(-50)), about 1.93e-22.
    np.testing.assert_allclose(out, [0.0, 1.9287498479639178e-22, 0.5, 1.0, 1.0], rtol=1e-6, atol=0)
    assert np.all(np.isfinite(dx))


# ---------------------------------------------------------------------------------------------
# Backward passes against numerical gradients (float64)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("x_shape, M", [((1, 4), 3), ((5, 6), 2), ((3, 2, 5), 4), ((2, 3, 2, 2), 5)])
def test_affine_backward_matches_eval_numerical_gradient_array(rng, x_shape, M):
    x = rng.standard_normal(x_shape)
    D = int(np.prod(x_shape[1:]))
    w, b = rng.standard_normal((D, M)), rng.standard_normal(M)
    dout = rng.standard_normal((x_shape[0], M))
    _, cache = layers.affine_forward(x, w, b)
    dx, dw, db = layers.affine_backward(dout, cache)
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape
    assert rel_error(dx, eval_numerical_gradient_array(lambda v: layers.affine_forward(v, w, b)[0], x, dout)) < 1e-8
    assert rel_error(dw, eval_numerical_gradient_array(lambda v: layers.affine_forward(x, v, b)[0], w, dout)) < 1e-8
    assert rel_error(db, eval_numerical_gradient_array(lambda v: layers.affine_forward(x, w, v)[0], b, dout)) < 1e-8


@pytest.mark.parametrize("name", ELEMENTWISE_PAIRS)
@pytest.mark.parametrize("shape", [(1, 3), (4, 5), (2, 3, 4)])
def test_elementwise_backward_matches_eval_numerical_gradient_array(rng, name, shape):
    forward, backward, kwargs = ELEMENTWISE_PAIRS[name]
    x = away_from_zero(rng, shape)
    dout = rng.standard_normal(shape)
    _, cache = forward(x, **kwargs)
    dx = backward(dout, cache)
    num = eval_numerical_gradient_array(lambda v: forward(v, **kwargs)[0], x, dout)
    assert dx.shape == x.shape
    assert rel_error(dx, num) < 1e-7


def test_relu_backward_passes_gradient_only_where_input_was_positive():
    x = np.array([[-1.0, 2.0], [3.0, -4.0]])
    dout = np.array([[10.0, 20.0], [30.0, 40.0]])
    dx = layers.relu_backward(dout, layers.relu_forward(x)[1])
    np.testing.assert_array_equal(dx, [[0.0, 20.0], [30.0, 0.0]])


# ---------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------


def svm_loss_loop(x, y):
    """The hinge loss and its gradient with plain loops over examples and classes."""
    N, C = x.shape
    loss, dx = 0.0, np.zeros((N, C))
    for i in range(N):
        for j in range(C):
            if j == y[i]:
                continue
            margin = x[i, j] - x[i, y[i]] + 1
            if margin > 0:
                loss += margin
                dx[i, j] += 1
                dx[i, y[i]] -= 1
    return loss / N, dx / N


def softmax_loss_loop(x, y):
    """The cross-entropy loss and its gradient with plain loops and the math module."""
    N, C = x.shape
    loss, dx = 0.0, np.zeros((N, C))
    for i in range(N):
        top = max(x[i])
        total = sum(math.exp(x[i, j] - top) for j in range(C))
        loss -= (x[i, y[i]] - top) - math.log(total)
        for j in range(C):
            dx[i, j] = math.exp(x[i, j] - top) / total - (1.0 if j == y[i] else 0.0)
    return loss / N, dx / N


LOSSES = {"svm": (layers.svm_loss, svm_loss_loop), "softmax": (layers.softmax_loss, softmax_loss_loop)}


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("N, C", [(1, 3), (5, 4), (20, 10)])
def test_loss_matches_loop_implementation(rng, name, N, C):
    loss_fn, loop_fn = LOSSES[name]
    x, y = scores_and_labels(rng, N, C)
    loss, dx = loss_fn(x, y)
    expected_loss, expected_dx = loop_fn(x, y)
    assert isinstance(loss, float)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    np.testing.assert_allclose(dx, expected_dx, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("N, C", [(1, 3), (7, 5)])
def test_loss_gradient_matches_eval_numerical_gradient_array(rng, name, N, C):
    loss_fn, _ = LOSSES[name]
    x, y = scores_and_labels(rng, N, C)
    _, dx = loss_fn(x, y)
    num = eval_numerical_gradient_array(lambda v: loss_fn(v, y)[0], x, 1.0)
    assert rel_error(dx, num) < 1e-7


@pytest.mark.parametrize("C", [2, 10])
def test_losses_on_all_zero_scores_match_hand_values(C):
    N = 4
    x, y = np.zeros((N, C)), np.arange(N) % C
    onehot = np.eye(C)[y]
    svm, dsvm = layers.svm_loss(x, y)
    # Every wrong class sits exactly at margin 1.
    assert svm == pytest.approx(C - 1)
    np.testing.assert_allclose(dsvm, (1 - onehot * C) / N)
    soft, dsoft = layers.softmax_loss(x, y)
    # Uniform probabilities 1/C.
    assert soft == pytest.approx(math.log(C))
    np.testing.assert_allclose(dsoft, (1.0 / C - onehot) / N)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_softmax_loss_is_finite_at_extreme_scores(dtype, scale):
    x = np.array([[1.0, -1.0, 0.0], [-1.0, 1.0, 0.0]], dtype=dtype) * dtype(scale)
    y = np.array([0, 0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss, dx = layers.softmax_loss(x, y)
    assert np.isfinite(loss) and np.all(np.isfinite(dx))
    # One row puts all the probability on class 0 (or -1e4 there), the other 2e4 away from it.
    assert loss == pytest.approx(abs(scale), rel=1e-6)
    right, wrong = [0.0, 0.0, 0.0], [-0.5, 0.5, 0.0]
    np.testing.assert_allclose(dx, [right, wrong] if scale > 0 else [wrong, right], atol=1e-7)


# ---------------------------------------------------------------------------------------------
# Inputs untouched, dtypes kept
# ---------------------------------------------------------------------------------------------

N_CALLS = 14  # len(all_calls(...)), needed by parametrize before any generator exists


def all_calls(rng, dtype):
    """(name, function, args) for every function in layers.py, with inputs of the given dtype."""
    x = away_from_zero(rng, (3, 2, 2)).astype(dtype)
    w, b = rng.standard_normal((4, 5)).astype(dtype), rng.standard_normal(5).astype(dtype)
    dout_affine = rng.standard_normal((3, 5)).astype(dtype)
    dout = rng.standard_normal(x.shape).astype(dtype)
    scores, labels = scores_and_labels(rng, 4, 3)
    scores = scores.astype(dtype)
    calls = [
        ("affine_forward", layers.affine_forward, (x, w, b)),
        ("affine_backward", layers.affine_backward, (dout_affine, (x, w, b))),
        ("svm_loss", layers.svm_loss, (scores, labels)),
        ("softmax_loss", layers.softmax_loss, (scores, labels)),
    ]
    for name, (forward, backward, kwargs) in ELEMENTWISE_PAIRS.items():
        calls.append((name + "_forward", lambda v, f=forward, k=kwargs: f(v, **k), (x,)))
        cache = forward(x.copy(), **kwargs)[1]
        calls.append((name + "_backward", backward, (dout, cache)))
    return calls


def arrays_in(obj):
    """Every ndarray inside nested tuples."""
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, tuple):
        return [a for item in obj for a in arrays_in(item)]
    return []


@pytest.mark.parametrize("index", range(N_CALLS))
def test_no_function_modifies_its_inputs_or_returns_a_view_of_them(rng, index):
    name, fn, args = all_calls(rng, np.float64)[index]
    inputs = arrays_in(args)
    before = [a.copy() for a in inputs]
    result = fn(*args)
    for a, saved in zip(inputs, before):
        np.testing.assert_array_equal(a, saved, err_msg=f"{name} modified an input")
    # The first output (out, dx or loss) is a fresh array: writing to it later cannot reach an input.
    for returned in arrays_in(result[0] if name.endswith("_forward") or name.endswith("loss") else result):
        assert not any(np.shares_memory(returned, a) for a in inputs), f"{name} returned a view of an input"


def test_all_calls_covers_every_public_function(rng):
    public = {n for n in dir(layers) if not n.startswith("_") and callable(getattr(layers, n))}
    calls = all_calls(rng, np.float64)
    names = {name.replace("_alpha_0.2", "") for name, _, _ in calls}
    assert len(calls) == N_CALLS
    assert public == names


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", range(N_CALLS))
def test_outputs_keep_the_input_float_dtype(rng, dtype, index):
    name, fn, args = all_calls(rng, dtype)[index]
    result = fn(*args)
    if name.endswith("loss"):
        loss, dx = result
        assert isinstance(loss, float) and dx.dtype == dtype
    elif name.endswith("_forward"):
        assert result[0].dtype == dtype
    else:
        for grad in result if isinstance(result, tuple) else (result,):
            assert grad.dtype == dtype, f"{name} returned {grad.dtype}"


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------

X3 = np.ones((2, 3, 2))
W = np.ones((6, 4))
B = np.ones(4)
S = np.zeros((3, 5))
BAD_INPUTS = [
    ("affine_forward", (X3, np.ones((5, 4)), B), r"w has shape \(5, 4\).*x of shape \(2, 3, 2\) has D=6"),
    ("affine_forward", (X3, W, np.ones(3)), r"b has shape \(3,\), expected \(4,\)"),
    ("affine_forward", (np.ones(6), W, B), r"x must have shape \(N, d_1, ..., d_k\), got shape \(6,\)"),
    ("affine_forward", (X3, np.ones(6), B), r"w must have shape \(D, M\), got shape \(6,\)"),
    ("affine_forward", (np.ones((2, 6), dtype=int), W, B), r"x must hold floating-point numbers, got dtype int"),
    ("affine_backward", (np.ones((2, 3)), (X3, W, B)), r"dout has shape \(2, 3\), expected \(2, 4\)"),
    ("relu_forward", (np.array([1, -1]),), r"x must hold floating-point numbers"),
    ("relu_backward", (np.ones((2, 3)), np.ones((3, 2))), r"dout has shape \(2, 3\), expected \(3, 2\)"),
    ("leaky_relu_forward", (np.ones(3), "0.1"), r"alpha must be a finite number, got '0.1'"),
    ("leaky_relu_backward", (np.ones(4), (np.ones(3), 0.01)), r"dout has shape \(4,\), expected \(3,\)"),
    ("sigmoid_backward", (np.ones((1, 2)), np.ones((2, 1))), r"dout has shape \(1, 2\), expected \(2, 1\)"),
    ("tanh_backward", (np.ones(2, dtype=int), np.ones(2)), r"dout must hold floating-point numbers"),
    ("svm_loss", (S, np.array([0, 1])), r"y has shape \(2,\), expected \(3,\).*x has shape \(3, 5\)"),
    ("softmax_loss", (S, np.array([0.0, 1.0, 2.0])), r"y must hold integer class labels, got dtype float64"),
    ("softmax_loss", (S, np.array([0, 5, 1])), r"labels outside \[0, 5\) for x of shape \(3, 5\): \[5\]"),
    ("svm_loss", (S, np.array([0, -1, 7])), r"labels outside \[0, 5\).*\[-1, 7\]"),
    ("softmax_loss", (np.zeros(5), np.array([0])), r"x must be scores of shape \(N, C\).*got shape \(5,\)"),
    ("svm_loss", (np.zeros((0, 5)), np.array([], dtype=int)), r"N, C >= 1, got shape \(0, 5\)"),
]


@pytest.mark.parametrize("name, args, message", BAD_INPUTS)
def test_bad_input_raises_value_error_naming_argument_and_shapes(name, args, message):
    with pytest.raises(ValueError, match=message):
        getattr(layers, name)(*args)


def caches(rng):
    """One cache of every layer, made by its forward on small inputs."""
    x, w, b = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), np.zeros(3)
    out = {name: getattr(layers, f"{name}_forward")(x)[1] for name in ("relu", "leaky_relu", "sigmoid", "tanh")}
    out["affine"] = layers.affine_forward(x, w, b)[1]
    out["affine_relu"] = (out["affine"], layers.relu_forward(x @ w)[1])
    out["raw scores"] = 5 * x  # a value that is no layer's cache (tanh and sigmoid: outside their range)
    return out


BACKWARD_CACHES = [
    ("affine", "relu"),
    ("affine", "sigmoid"),
    ("affine", "leaky_relu"),
    ("affine", "affine_relu"),
    ("relu", "affine"),
    ("relu", "leaky_relu"),
    ("leaky_relu", "relu"),
    ("leaky_relu", "affine"),
    ("sigmoid", "affine"),
    ("sigmoid", "raw scores"),
    ("tanh", "leaky_relu"),
    ("tanh", "raw scores"),
]


@pytest.mark.parametrize("layer, given", BACKWARD_CACHES)
def test_a_backward_given_another_layers_cache_says_which_cache_it_needs(rng, layer, given):
    cache = caches(rng)[given]
    dout = np.ones((4, 3)) if layer == "affine" else np.ones((4, 5))
    with pytest.raises(ValueError, match=rf"^{layer}_backward needs the cache of {layer}_forward, .*; got "):
        getattr(layers, f"{layer}_backward")(dout, cache)
