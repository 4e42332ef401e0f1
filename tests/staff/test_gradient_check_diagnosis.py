"""Tests for the structured checks of cs231n/gradient_check.py and the diagnosis behind them.

Every layer used here is written in this file (correct and deliberately buggy versions), so the
checker is tested on its own, against gradients derived by hand. The sections: bad arguments; correct
code that passes; each bug class caught and named; the checks that come before any comparison
(determinism, mutation, non-finite values, float32); how much the check costs in calls; the report a
student reads. The CS231n functions are tested in tests/test_gradient_check.py.
"""

import numpy as np
import pytest

from cs231n.gradient_check import (
    THRESHOLDS,
    check_gradient,
    check_layer,
    check_model,
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    grad_check_sparse,
    rel_error,
)

# ----------------------------------------------------------------------------------------------
# Small layers written for these tests: a correct version, then one bug per diagnosis.
# ----------------------------------------------------------------------------------------------


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def affine_backward_transposed_dw(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), dout.T @ x.reshape(x.shape[0], -1), dout.sum(axis=0)


def affine_backward_sign_flip(dout, cache):
    x, w, b = cache
    return -(dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def affine_backward_not_reshaped(dout, cache):
    x, w, b = cache
    return dout @ w.T, x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def affine_backward_last_row_skipped(dout, cache):
    x, w, b = cache
    grad_x = np.zeros((x.shape[0], w.shape[0]))
    for i in range(x.shape[0] - 1):  # the off-by-one under test
        grad_x[i] = dout[i] @ w.T
    return grad_x.reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def affine_backward_two_grads(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout


def affine_backward_bias_wrong_axis(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=1)


def affine_backward_bias_mean(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.mean(axis=0)


def affine_backward_transposed_reshape(dout, cache):
    x, w, b = cache
    return (dout @ w.T).T.reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def affine_backward_offset_dw(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout + 0.25, dout.sum(axis=0)


def mean_forward(x):
    """out = x.mean(axis=0), shape (D,); a layer whose backward needs the 1/N."""
    return x.mean(axis=0), x


def mean_backward_missing_n(dout, x):
    return np.broadcast_to(dout, x.shape).copy()


def relu_forward(x):
    return np.maximum(x, 0), x


def relu_backward(dout, x):
    return dout * (x > 0)


def relu_backward_mask_on_dout(dout, x):
    return dout * (dout > 0)


def relu_forward_in_place(x):
    x[x < 0] = 0  # the mutation under test
    return x, x


def relu_backward_in_place(dout, x):
    dout[x <= 0] = 0  # the mutation under test
    return dout


def sigmoid_forward(x):
    s = 1 / (1 + np.exp(-x))
    return s, (x, s)


def sigmoid_backward(dout, cache):
    x, s = cache
    return dout * s * (1 - s)


def sigmoid_backward_at_input(dout, cache):
    x, s = cache
    return dout * x * (1 - x)  # the bug under test: the derivative's formula applied to the input


def tanh_forward(x):
    t = np.tanh(x)
    return t, (x, t)


def tanh_backward_at_input(dout, cache):
    x, t = cache
    return dout * (1 - x * x)  # the bug under test


def dropout_forward_unseeded(x):
    keep = np.random.random_sample(x.shape) < 0.5  # a fresh mask on every call: the bug under test
    return x * keep / 0.5, keep


def dropout_backward(dout, keep):
    return dout * keep / 0.5


def exp_forward(x):
    e = np.exp(x)
    return e, e


def exp_backward(dout, e):
    return dout * e


def softmax_loss(x, y, divide_by_n=True):
    e = np.exp(x - np.max(x, axis=1, keepdims=True))  # shifted by the row max: no overflow
    p = e / e.sum(axis=1, keepdims=True)
    n = x.shape[0]
    value = -np.log(p[np.arange(n), y]).mean()
    grad = p.copy()
    grad[np.arange(n), y] -= 1
    return value, grad / n if divide_by_n else grad


def svm_loss(x, y):
    n = x.shape[0]
    hinge = np.maximum(0, x - x[np.arange(n), y][:, None] + 1)
    hinge[np.arange(n), y] = 0
    grad = (hinge > 0).astype(float)
    grad[np.arange(n), y] = -grad.sum(axis=1)
    return hinge.sum() / n, grad / n


class TinyNet:
    """affine - relu - affine - softmax with 0.5 * reg * sum(W**2); ``reg_factor`` and ``divide_by_n`` inject bugs.

    ``weight_scale=None`` draws standard normal weights; a number draws ``weight_scale * randn`` with
    zero biases, as CS231n's nets are initialized.
    """

    def __init__(self, rng, reg, reg_factor=1.0, divide_by_n=True, sizes=(4, 6, 3), weight_scale=None):
        d, hdim, c = sizes
        std = 1.0 if weight_scale is None else weight_scale
        bias = 0.1 if weight_scale is None else 0.0
        self.params = {
            "W1": std * rng.standard_normal((d, hdim)),
            "b1": bias * rng.standard_normal(hdim),
            "W2": std * rng.standard_normal((hdim, c)),
            "b2": bias * rng.standard_normal(c),
        }
        self.reg = reg
        self.reg_factor = reg_factor  # 1.0 is correct, 2.0 counts reg twice, 0.0 forgets it
        self.divide_by_n = divide_by_n

    def loss(self, X, y):
        p = self.params
        h, hc = affine_forward(X, p["W1"], p["b1"])
        a = np.maximum(h, 0)
        scores, sc = affine_forward(a, p["W2"], p["b2"])
        value, dscores = softmax_loss(scores, y, self.divide_by_n)
        value += 0.5 * self.reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        da, dW2, db2 = affine_backward(dscores, sc)
        dX, dW1, db1 = affine_backward(da * (h > 0), hc)
        k = self.reg_factor * self.reg
        return value, {"W1": dW1 + k * p["W1"], "b1": db1, "W2": dW2 + k * p["W2"], "b2": db2}


@pytest.fixture
def affine_inputs(rng):
    return rng.standard_normal((4, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)


def away_from_zero(rng, shape):
    """Inputs at least 0.1 from the ReLU kink, so a correct ReLU check is clean."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < 0.1, 0.5, x)


class Counted:
    """A function that counts its calls."""

    def __init__(self, f):
        self.f, self.calls = f, 0

    def __call__(self, v):
        self.calls += 1
        return self.f(v)


# ----------------------------------------------------------------------------------------------
# Bad arguments: a ValueError that names the argument and what was expected
# ----------------------------------------------------------------------------------------------


class NoParams:
    def loss(self, X, y):
        return 0.0, {}


class LossWithoutGrads:
    params = {"W": np.ones((2, 2))}

    def loss(self, X, y):
        return 1.0


BAD_CALLS = [
    (
        "non-scalar f",
        lambda: eval_numerical_gradient(lambda v: v * 2, np.ones(3)),
        r"f \(.*lambda.*\) returned a float64 array of shape \(3,\)",
    ),
    (
        "f returns (loss, grad)",
        lambda: eval_numerical_gradient(lambda v: (1.0, v), np.ones(3)),
        r"tuple of 2 items.*\[0\]",
    ),
    ("f not callable", lambda: eval_numerical_gradient(3.0, np.ones(3)), r"f must be a function"),
    ("int x", lambda: eval_numerical_gradient(lambda v: 0.0, np.arange(4)), r"x must have a floating dtype"),
    ("list x", lambda: eval_numerical_gradient(lambda v: 0.0, [1.0, 2.0]), r"x must be a numpy array"),
    (
        "read-only x",
        lambda: eval_numerical_gradient(lambda v: 0.0, np.broadcast_to(np.ones(1), (2,))),
        r"x must be writeable",
    ),
    ("zero h", lambda: eval_numerical_gradient(lambda v: 0.0, np.ones(2), h=0.0), r"h must be a positive finite step"),
    (
        "string h",
        lambda: eval_numerical_gradient(lambda v: 0.0, np.ones(2), h="1e-5"),
        r"h must be a positive finite step",
    ),
    ("nan h", lambda: eval_numerical_gradient_array(lambda v: v, np.ones(2), np.ones(2), h=np.nan), r"h must be"),
    (
        "df of the wrong shape",
        lambda: eval_numerical_gradient_array(lambda v: v * 2, np.ones((2, 3)), np.ones((3, 2))),
        r"df has shape \(3, 2\) but f\(x\) returned shape \(2, 3\)",
    ),
    (
        "f returns (out, cache)",
        lambda: eval_numerical_gradient_array(lambda v: (v, v), np.ones(2), np.ones(2)),
        r"tuple of 2 items.*\[0\]",
    ),
    (
        "df of strings",
        lambda: eval_numerical_gradient_array(lambda v: v, np.ones(2), np.array(["a", "b"])),
        r"df must be an array of real numbers",
    ),
    (
        "sparse: wrong shape",
        lambda: grad_check_sparse(lambda v: 0.0, np.ones((2, 3)), np.ones(6)),
        r"analytic_grad has shape \(6,\) but x has shape \(2, 3\)",
    ),
    (
        "sparse: num_checks",
        lambda: grad_check_sparse(lambda v: 0.0, np.ones(3), np.ones(3), num_checks=-1),
        r"num_checks must be a whole number >= 0, got -1",
    ),
    (
        "rel_error (N,) vs (N, 1)",
        lambda: rel_error(np.ones(4), np.ones((4, 1))),
        r"x of shape \(4,\) and y of shape \(4, 1\)",
    ),
    ("rel_error of empty arrays", lambda: rel_error(np.ones(0), np.ones(0)), r"empty"),
    ("rel_error of strings", lambda: rel_error(np.ones(2), ["a", "b"]), r"y must be an array of real numbers"),
    (
        "check_gradient: batch_size",
        lambda: check_gradient(lambda v: 0.0, np.ones(2), np.ones(2), batch_size=0),
        r"batch_size must be a positive whole number",
    ),
    (
        "check_gradient: reg",
        lambda: check_gradient(lambda v: 0.0, np.ones(2), np.ones(2), reg=np.inf),
        r"reg must be a finite number",
    ),
    (
        "check_gradient: non-scalar f",
        lambda: check_gradient(lambda v: v, np.ones(2), np.ones(2)),
        r"f \(.*\) returned a float64 array of shape \(2,\).*df",
    ),
    (
        "check_gradient: df shape",
        lambda: check_gradient(lambda v: v, np.ones(2), np.ones(2), df=np.ones(3)),
        r"df has shape \(3,\) but f\(x\) returned shape \(2,\)",
    ),
    (
        "check_gradient: empty x",
        lambda: check_gradient(lambda v: 0.0, np.ones((0, 3)), np.ones((0, 3))),
        r"x is empty \(shape \(0, 3\)\)",
    ),
    (
        "check_layer: one array",
        lambda: check_layer(relu_forward, relu_backward, np.ones((2, 2))),
        r"inputs must be a non-empty list or tuple",
    ),
    (
        "check_layer: empty",
        lambda: check_layer(relu_forward, relu_backward, []),
        r"inputs must be a non-empty list or tuple",
    ),
    (
        "check_layer: int input",
        lambda: check_layer(relu_forward, relu_backward, [np.arange(4)]),
        r"inputs\[0\] must be a float numpy array, got an array of dtype int",
    ),
    (
        "check_layer: names",
        lambda: check_layer(relu_forward, relu_backward, [np.ones(2)], names=["x", "w"]),
        r"names has 2 entries but inputs has 1",
    ),
    (
        "check_layer: dout shape",
        lambda: check_layer(relu_forward, relu_backward, [np.ones(2)], dout=np.ones(3)),
        r"dout has shape \(3,\) but the forward's output has shape \(2,\)",
    ),
    (
        "check_layer: forward returns out only",
        lambda: check_layer(np.tanh, relu_backward, [np.ones(2)]),
        r"forward must return \(out, cache\), but .*tanh returned a float64 array of shape \(2,\)",
    ),
    (
        "check_layer: not callable",
        lambda: check_layer(relu_forward, None, [np.ones(2)]),
        r"backward must be a function, got NoneType",
    ),
    (
        "check_model: no params",
        lambda: check_model(NoParams(), np.ones((2, 2)), np.zeros(2, int)),
        r"model must have a dict params and a method loss",
    ),
    (
        "check_model: unknown name",
        lambda: check_model(LossWithoutGrads(), np.ones((2, 2)), np.zeros(2, int), names=["W9"]),
        r"names: 'W9' is not in model.params \(it has W\)",
    ),
    (
        "check_model: loss returns a number",
        lambda: check_model(LossWithoutGrads(), np.ones((2, 2)), np.zeros(2, int)),
        r"model.loss\(X, y\) must return \(loss, grads\)",
    ),
    (
        "check_model: empty batch",
        lambda: check_model(LossWithoutGrads(), np.ones((0, 2)), np.zeros(0, int)),
        r"X must be a non-empty batch",
    ),
]


@pytest.mark.parametrize("call, message", [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS])
def test_bad_arguments_raise_value_error_naming_them(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ----------------------------------------------------------------------------------------------
# Correct code never fails: clean inputs pass
# ----------------------------------------------------------------------------------------------


def test_correct_affine_backward_passes_for_each_input(affine_inputs):
    results = check_layer(affine_forward, affine_backward, affine_inputs)
    assert [r.param for r in results] == ["x", "w", "b"]
    for r in results:
        assert r.verdict == "PASS" and r.diagnoses == [] and r.rel_error < THRESHOLDS["pass"]


def test_result_rel_error_is_rel_error_against_cs231ns_numerical_gradient(affine_inputs, rng):
    dout = rng.standard_normal((4, 5))
    x, w, b = affine_inputs
    wrong = lambda d, c: affine_backward_offset_dw(d, c)  # noqa: E731
    r = check_layer(affine_forward, wrong, [x, w, b], dout)[1]
    expected = rel_error(
        affine_backward_offset_dw(dout, (x, w, b))[1],
        eval_numerical_gradient_array(lambda v: affine_forward(x, v, b)[0], w.copy(), dout),
    )
    assert r.rel_error == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("forward, backward", [(relu_forward, relu_backward), (sigmoid_forward, sigmoid_backward)])
def test_correct_activation_backward_passes(rng, forward, backward):
    (r,) = check_layer(forward, backward, [away_from_zero(rng, (4, 5))])
    assert r.verdict == "PASS" and r.codes == []


@pytest.mark.parametrize("loss_fn", [softmax_loss, svm_loss])
def test_correct_loss_gradient_passes(rng, loss_fn):
    x, y = rng.standard_normal((5, 4)), np.array([0, 1, 2, 3, 1])
    r = check_gradient(lambda v: loss_fn(v, y)[0], x, loss_fn(x, y)[1], function=loss_fn.__name__)
    assert r.verdict == "PASS" and r.codes == []


@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_correct_model_passes_for_each_param(rng, reg):
    net = TinyNet(rng, reg)
    results = check_model(net, rng.standard_normal((5, 4)), np.array([0, 1, 2, 0, 1]))
    assert sorted(r.param for r in results) == ["W1", "W2", "b1", "b2"]
    for r in results:
        assert r.verdict == "PASS" and not [d for d in r.diagnoses if d.is_bug], r.report()


# ----------------------------------------------------------------------------------------------
# Each bug is named
# ----------------------------------------------------------------------------------------------


def test_softmax_without_division_by_n_is_diagnosed_as_ratio_n(rng):
    x, y = rng.standard_normal((5, 4)), np.array([0, 1, 2, 3, 1])
    r = check_gradient(lambda v: softmax_loss(v, y)[0], x, softmax_loss(x, y, divide_by_n=False)[1], batch_size=5)
    assert r.verdict == "FAIL" and r.codes == ["ratio"]
    assert "divide by N = 5" in r.diagnoses[0].summary


def test_layer_backward_missing_n_is_diagnosed_from_the_batch_size(rng):
    (r,) = check_layer(mean_forward, mean_backward_missing_n, [rng.standard_normal((8, 3))])
    assert r.codes == ["ratio"] and "N = 8" in r.diagnoses[0].summary


def test_factor_two_is_named(rng):
    x = rng.standard_normal(6)
    r = check_gradient(lambda v: np.sum(v**2), x, 4 * x)  # d/dx x^2 = 2x, not 4x
    assert r.codes == ["ratio"] and "2 x numeric" in r.diagnoses[0].summary


@pytest.mark.parametrize("reg_factor, words", [(2.0, "counted twice"), (0.0, "missing"), (0.5, "half")])
def test_wrong_regularization_gradient_is_named(rng, reg_factor, words):
    net = TinyNet(rng, reg=0.7, reg_factor=reg_factor)
    results = {r.param: r for r in check_model(net, rng.standard_normal((5, 4)), np.array([0, 1, 2, 0, 1]))}
    for name in ("W1", "W2"):
        assert results[name].codes == ["regularization"], results[name].report()
        assert words in results[name].diagnoses[0].summary
    assert results["b1"].verdict == "PASS"  # biases are not regularized


def test_missing_division_by_n_under_regularization_is_named_on_the_data_part(rng):
    net = TinyNet(rng, reg=0.7, divide_by_n=False)
    results = {r.param: r for r in check_model(net, rng.standard_normal((5, 4)), np.array([0, 1, 2, 0, 1]))}
    for name in ("W1", "W2"):  # data part off by N, reg part right
        assert results[name].codes == ["ratio"], results[name].report()
        assert results[name].diagnoses[0].summary.startswith("data-loss part:")
        assert "divide by N = 5" in results[name].diagnoses[0].summary
    assert "divide by N = 5" in results["b2"].diagnoses[0].summary  # no reg on biases: a plain ratio


@pytest.mark.parametrize("shape_w", [(6, 5), (6, 6)])  # non-square: wrong shape; square: wrong values
def test_transposed_dw_is_diagnosed(rng, shape_w):
    x, w = rng.standard_normal((4, 6)), rng.standard_normal(shape_w)
    results = check_layer(affine_forward, affine_backward_transposed_dw, [x, w, rng.standard_normal(shape_w[1])])
    assert results[1].verdict == "FAIL" and results[1].codes == ["transposed"]
    assert results[0].verdict == results[2].verdict == "PASS"


def test_sign_flip_is_diagnosed(affine_inputs):
    results = check_layer(affine_forward, affine_backward_sign_flip, affine_inputs)
    assert results[0].codes == ["sign"] and results[0].verdict == "FAIL"


def test_unreshaped_dx_is_diagnosed_as_wrong_shape(affine_inputs):
    r = check_layer(affine_forward, affine_backward_not_reshaped, affine_inputs)[0]
    assert r.codes == ["wrong_shape"] and "reshape" in r.diagnoses[0].summary


def test_constant_offset_on_every_entry_is_named(affine_inputs):
    r = check_layer(affine_forward, affine_backward_offset_dw, affine_inputs)[1]
    assert r.verdict == "FAIL" and r.codes == ["offset"]
    assert r.diagnoses[0].summary.startswith("analytic = numeric + 0.25 on every entry")


@pytest.mark.parametrize("n", [4, 5])  # 4 rows, 5 outputs: db of shape (4,); 5 and 5: the right shape, wrong values
def test_bias_summed_over_the_wrong_axis_is_named(rng, n):
    x, w, b = rng.standard_normal((n, 6)), rng.standard_normal((6, 5)), rng.standard_normal(5)
    x_r, w_r, b_r = check_layer(affine_forward, affine_backward_bias_wrong_axis, [x, w, b])
    assert x_r.verdict == w_r.verdict == "PASS"
    assert b_r.verdict == "FAIL" and b_r.codes == ["axis"], b_r.report()
    assert b_r.diagnoses[0].summary.startswith("dout summed over axis 1 instead of over axis 0")


def test_bias_averaged_instead_of_summed_is_named(affine_inputs):
    r = check_layer(affine_forward, affine_backward_bias_mean, affine_inputs)[2]
    assert r.codes == ["ratio"] and "a mean instead of a sum" in r.diagnoses[0].summary


@pytest.mark.parametrize(
    "forward, backward, words",
    [
        (sigmoid_forward, sigmoid_backward_at_input, "out * (1 - out) computed with x instead of out = sigmoid(x)"),
        (tanh_forward, tanh_backward_at_input, "1 - out**2 computed with x instead of out = tanh(x)"),
    ],
)
def test_derivative_evaluated_at_the_input_instead_of_the_output_is_named(rng, forward, backward, words):
    (r,) = check_layer(forward, backward, [rng.standard_normal((4, 5))])
    assert r.verdict == "FAIL" and r.codes == ["at_input"]
    assert words in r.diagnoses[0].summary


def test_transposed_before_reshape_is_named_as_permuted_entries(rng):
    x = rng.standard_normal((5, 2, 3))
    r = check_layer(affine_forward, affine_backward_transposed_reshape, [x, rng.standard_normal((6, 4)), np.zeros(4)])[
        0
    ]
    assert r.verdict == "FAIL" and r.codes == ["permuted"]
    assert "transposed before the reshape" in r.diagnoses[0].summary


def test_rows_in_the_wrong_order_are_named(rng):
    x = rng.standard_normal((4, 3))
    r = check_gradient(
        lambda v: np.sum(np.sin(v) * np.arange(1, 13).reshape(4, 3)),
        x,
        (np.cos(x) * np.arange(1, 13).reshape(4, 3))[[1, 0, 3, 2]],
    )
    assert r.codes == ["permuted"] and "rows in the wrong order" in r.diagnoses[0].summary


def test_errors_in_one_row_are_diagnosed_as_rows(affine_inputs):
    r = check_layer(affine_forward, affine_backward_last_row_skipped, affine_inputs)[0]
    assert r.codes == ["rows"] and "[3]" in r.diagnoses[0].summary


def test_relu_mask_on_the_wrong_array_is_diagnosed_as_mask(rng):
    (r,) = check_layer(relu_forward, relu_backward_mask_on_dout, [away_from_zero(rng, (6, 5))])
    assert r.verdict == "FAIL" and r.codes == ["mask"]


def test_errors_only_at_the_correct_class_are_listed_as_entries(rng):
    x, y = rng.standard_normal((5, 4)), np.array([0, 1, 2, 3, 1])
    grad = softmax_loss(x, y)[1]
    grad[np.arange(5), y] += 1 / 5  # the bug under test: the "- 1" at the correct class forgotten
    r = check_gradient(lambda v: softmax_loss(v, y)[0], x, grad, batch_size=5)
    assert r.verdict == "FAIL" and r.codes == ["entries"]
    assert r.diagnoses[0].summary.startswith("5 of 20 entries disagree")
    assert "the rest agree" in r.diagnoses[0].summary and "right for most entries" in r.diagnoses[0].advice


def smooth_check(rng, wrong_rows):
    """check_gradient of sum(sin(x)) on (6, 5), with random noise added to the listed rows' entries."""
    x = rng.standard_normal((6, 5))
    grad = np.cos(x)
    for i in wrong_rows:
        grad[i] += rng.standard_normal(5)
    return check_gradient(lambda v: np.sum(np.sin(v)), x, grad)


def test_unrelated_gradient_is_wrong_everywhere_with_no_pattern(rng):
    x = rng.standard_normal((3, 4))
    r = check_gradient(lambda v: np.sum(np.sin(v)), x, rng.standard_normal((3, 4)))
    assert r.verdict == "FAIL" and r.codes == ["no_pattern"]
    assert r.diagnoses[0].summary.startswith("every entry disagrees")


def test_almost_every_entry_wrong_is_said_so(rng):
    x = rng.standard_normal((5, 4))
    grad = np.cos(x) + rng.standard_normal((5, 4))
    grad[2, 1] = np.cos(x[2, 1])  # the one right entry
    r = check_gradient(lambda v: np.sum(np.sin(v)), x, grad)
    assert r.codes == ["no_pattern"] and r.diagnoses[0].summary.startswith("almost every entry disagrees (19 of 20)")


def test_most_entries_wrong_never_says_the_formula_is_right_for_most(rng):
    x = rng.standard_normal((5, 4))
    grad = np.cos(x)
    wrong = rng.permutation(20)[:13]
    grad.flat[wrong] += 1.0 + rng.random(13)
    r = check_gradient(lambda v: np.sum(np.sin(v)), x, grad)
    assert r.verdict == "FAIL" and r.codes == ["entries"], r.report()
    assert r.diagnoses[0].summary.startswith("most entries disagree: 13 of 20")
    assert "right for most" not in r.report() and "the rest agree" not in r.report()


def test_examples_come_only_from_entries_still_wrong_after_re_measuring(rng):
    x = away_from_zero(rng, (4, 5))
    x[0, 0] = 0.7
    x[1, 2] = 3e-6  # a kink within h: right, though the centered difference disagrees

    def backward(dout, cache):
        grad = relu_backward(dout, cache)
        grad[0, 0] += 1.0  # the bug under test, at one entry
        return grad

    (r,) = check_layer(relu_forward, backward, [x])
    assert r.verdict == "FAIL" and r.codes == ["entries", "kink"], r.report()
    assert r.diagnoses[0].summary == "1 of 20 entries disagree (e.g. (0, 0)); the rest agree"
    assert "(1, 2)" in r.diagnoses[1].summary
    notes = {e.index: e.note for e in r.worst}
    assert notes[(0, 0)] == "wrong" and notes[(1, 2)] == "kink"


def test_all_zero_gradient_is_diagnosed(rng):
    (r,) = check_layer(sigmoid_forward, lambda dout, c: np.zeros_like(dout), [rng.standard_normal((3, 4))])
    assert r.verdict == "FAIL" and r.codes == ["zero"]


def test_missing_gradient_is_diagnosed(affine_inputs):
    results = check_layer(affine_forward, affine_backward_two_grads, affine_inputs)
    assert "wrong_count" in results[2].codes and "missing" in results[2].codes
    assert results[2].verdict == "FAIL"


# ----------------------------------------------------------------------------------------------
# Kinks: not bugs, and never an excuse for a bug
# ----------------------------------------------------------------------------------------------


def test_relu_input_within_h_of_zero_is_a_kink_not_a_bug(rng):
    x = away_from_zero(rng, (4, 5))
    x[1, 2] = 3e-6  # within h = 1e-5 of the kink
    (r,) = check_layer(relu_forward, relu_backward, [x])
    assert r.verdict == "WARN" and r.codes == ["kink"]
    assert "(1, 2)" in r.diagnoses[0].summary and "not a bug" in r.diagnoses[0].summary


def test_relu_input_exactly_at_zero_is_a_kink_not_a_bug(rng):
    x = away_from_zero(rng, (4, 5))
    x[2, 3] = 0.0
    (r,) = check_layer(relu_forward, relu_backward, [x])
    assert r.verdict in ("PASS", "WARN") and not [d for d in r.diagnoses if d.is_bug]


def test_hinge_margin_within_h_of_zero_is_a_kink_not_a_bug(rng):
    x, y = rng.standard_normal((4, 3)), np.array([0, 1, 2, 0])
    x[2, 0] = x[2, 2] - 1 + 2e-6  # margin of class 0 for example 2 sits 2e-6 above the hinge
    r = check_gradient(lambda v: svm_loss(v, y)[0], x, svm_loss(x, y)[1])
    assert r.verdict == "WARN" and r.codes == ["kink"]


def test_bug_next_to_a_kink_is_not_excused(rng):
    x = away_from_zero(rng, (4, 5))
    x[0, 0] = 3e-6
    (r,) = check_layer(relu_forward, lambda dout, c: -relu_backward(dout, c), [x])
    assert r.verdict == "FAIL" and "kink" not in r.codes


# ----------------------------------------------------------------------------------------------
# Before any comparison: determinism, mutation, non-finite values, float32
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape, seeds", [((1, 2), [0]), ((2, 3), range(30)), ((20, 10), range(3))])
def test_unseeded_random_layer_is_not_deterministic_never_a_kink_or_a_pass(shape, seeds):
    for seed in seeds:
        np.random.seed(seed)
        (r,) = check_layer(dropout_forward_unseeded, dropout_backward, [np.ones(shape) + 0.5])
        assert r.verdict == "FAIL" and r.codes == ["nondeterministic"], (seed, r.report())
        assert "the function is not deterministic: f(x" in r.report() and "changed between two calls" in r.report()
        assert np.isnan(r.rel_error)  # nothing was compared


def test_random_loss_and_model_are_not_deterministic(rng):
    f = Counted(lambda v: float(np.sum(v**2) + np.random.rand()))
    r = check_gradient(f, np.ones(3), 2 * np.ones(3))
    assert (
        r.codes == ["nondeterministic"] and "f(x) changed between two calls with the same input (by up to" in r.report()
    )
    assert f.calls == 2  # found before anything else: nothing was measured
    net = TinyNet(rng, reg=0.0)
    plain = net.loss
    net.loss = lambda X, y: plain(X + 1e-3 * np.random.randn(*X.shape), y)
    results = check_model(net, rng.standard_normal((5, 4)), np.array([0, 1, 2, 0, 1]))
    assert [r.codes for r in results] == [["nondeterministic"]] * 4


def test_seeded_random_layer_is_deterministic(rng):
    def forward(x):
        keep = np.random.default_rng(7).random(x.shape) < 0.5  # the same mask every call
        return x * keep / 0.5, keep

    (r,) = check_layer(forward, dropout_backward, [rng.standard_normal((4, 5))])
    assert r.verdict == "PASS"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_non_finite_loss_is_flagged_in_any_dtype(dtype):
    x = np.array([1.0, -1.0, 2.0], dtype=dtype)
    with np.errstate(invalid="ignore"):
        r = check_gradient(lambda v: np.sum(np.log(v)), x, 1 / x)
    assert r.verdict == "FAIL" and r.codes == ["nonfinite"]
    assert r.diagnoses[0].summary.startswith("f(x) is nan")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_non_finite_layer_output_and_gradient_are_flagged_in_any_dtype(dtype):
    big = 100.0 if dtype == np.float32 else 800.0  # exp overflows
    with np.errstate(over="ignore"):
        (r,) = check_layer(exp_forward, exp_backward, [np.array([[1.0, big]], dtype=dtype)])
    assert r.verdict == "FAIL" and r.codes == ["nonfinite"] and "f(x) holds inf" in r.diagnoses[0].summary
    x = np.array([[1.0, 2.0]], dtype=dtype)
    with np.errstate(invalid="ignore"):
        (r,) = check_layer(exp_forward, lambda dout, e: dout * (e - e) / (e - e), [x])  # 0/0 in the backward
    assert r.codes == ["nonfinite"] and r.diagnoses[0].summary.startswith("your gradient holds nan")
    if dtype == np.float32:
        assert "float32" in r.diagnoses[0].summary and "hide" in r.diagnoses[0].advice


def test_non_finite_numerical_gradient_is_flagged():
    edge = np.log(np.finfo(np.float64).max) - 1e-7  # exp is finite here, inf at x + h
    with np.errstate(over="ignore", invalid="ignore"):
        (r,) = check_layer(exp_forward, exp_backward, [np.array([[1.0, edge]])])
    assert r.verdict == "FAIL" and r.codes == ["nonfinite"]
    assert r.diagnoses[0].summary.startswith("the numerical gradient holds")


def test_float32_inputs_without_other_problems_get_the_float32_advice(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    r = check_gradient(lambda v: float(np.sum(v**2)), x, 2 * x)
    assert r.codes == ["float32"] and r.verdict == "WARN" and np.isnan(r.rel_error)
    assert "float64" in r.report()
    results = check_layer(relu_forward, relu_backward, [x])
    assert results[0].codes == ["float32"]


def test_float32_model_gets_the_advice_for_every_param(rng):
    net = TinyNet(rng, reg=0.1)
    net.params = {k: v.astype(np.float32) for k, v in net.params.items()}
    results = check_model(net, rng.standard_normal((5, 4)), np.array([0, 1, 2, 0, 1]))
    assert [r.codes for r in results] == [["float32"]] * 4


def test_model_loss_that_mutates_x_is_flagged(rng):
    net = TinyNet(rng, reg=0.0)
    plain_loss = net.loss

    def loss(X, y):
        out = plain_loss(X, y)
        X -= X.mean(axis=0)  # the mutation under test: centering the caller's batch
        return out

    net.loss = loss
    X = rng.standard_normal((5, 4)) + 1.0
    before = X.copy()
    results = check_model(net, X, np.array([0, 1, 2, 0, 1]))
    assert np.array_equal(X, before)
    assert all("mutates_input" in r.codes and r.verdict == "FAIL" for r in results)
    assert all(r.rel_error < THRESHOLDS["pass"] for r in results)  # the gradients themselves are right


@pytest.mark.parametrize(
    "forward, backward, where",
    [
        (relu_forward_in_place, relu_backward, "x"),
        (relu_forward, relu_backward_in_place, "dout"),
    ],
)
def test_layer_that_mutates_its_input_is_flagged(rng, forward, backward, where):
    x = away_from_zero(rng, (4, 5))
    before = x.copy()
    (r,) = check_layer(forward, backward, [x])
    assert r.verdict == "FAIL" and "mutates_input" in r.codes
    assert where in r.diagnoses[0].summary
    # The gradient itself is right and the check still measures it correctly.
    assert r.rel_error < THRESHOLDS["pass"]
    assert np.array_equal(x, before)


def test_function_that_mutates_its_argument_is_flagged_and_x_restored(rng):
    x = rng.standard_normal(5)
    before = x.copy()

    def f(v):
        out = np.sum(v**2)
        v *= 0.5  # the mutation under test
        return out

    r = check_gradient(f, x, 2 * before)
    assert "mutates_input" in r.codes and r.verdict == "FAIL"
    assert r.rel_error < THRESHOLDS["pass"]
    assert np.array_equal(x, before)


def test_layer_whose_output_is_a_view_of_its_input_is_measured_right(rng):
    x = rng.standard_normal((3, 4))
    (r,) = check_layer(lambda v: (v.T, None), lambda dout, cache: dout.T, [x])
    assert r.verdict == "PASS" and r.codes == []


def test_check_leaves_inputs_unchanged(affine_inputs):
    saved = [v.copy() for v in affine_inputs]
    check_layer(affine_forward, affine_backward_sign_flip, affine_inputs)
    assert all(np.array_equal(v, s) for v, s in zip(affine_inputs, saved))


# ----------------------------------------------------------------------------------------------
# Cost: two calls first, then two per entry; re-measuring only where an entry disagrees
# ----------------------------------------------------------------------------------------------


def test_a_clean_check_calls_f_twice_plus_twice_per_entry(rng):
    f = Counted(lambda v: float(np.sum(np.sin(v))))
    x = rng.standard_normal((4, 5))
    assert check_gradient(f, x, np.cos(x)).verdict == "PASS"
    assert f.calls == 2 + 2 * 20  # no copy-and-retry, no re-measuring


def test_a_wrong_gradient_re_measures_only_a_few_entries(rng):
    f = Counted(lambda v: float(np.sum(np.sin(v))))
    x = rng.standard_normal((20, 10))
    assert check_gradient(f, x, -0.5 * np.cos(x)).codes == ["sign"]
    assert f.calls <= 2 + 2 * 200 + 8 * 9  # at most eight entries confirmed wrong, nine calls each


# ----------------------------------------------------------------------------------------------
# The report a student reads
# ----------------------------------------------------------------------------------------------


def test_report_says_what_was_compared_the_number_the_verdict_and_the_likely_bug(rng):
    x = rng.standard_normal((4, 6))
    r = check_layer(
        affine_forward, affine_backward_sign_flip, [x, rng.standard_normal((6, 5)), rng.standard_normal(5)]
    )[0]
    text = str(r)
    assert text == r.report()
    for words in (
        "affine_backward_sign_flip",
        "respect to x",
        "numerical",
        "Relative error: 1.00e+00",
        "Verdict: FAIL",
        "sign flipped",
        "Worst entries",
        "What it probably means",
    ):
        assert words in text, words


def test_report_of_a_pass_says_the_gradients_agree(affine_inputs):
    text = check_layer(affine_forward, affine_backward, affine_inputs)[1].report()
    assert "Verdict: PASS" in text and "agree" in text and "Worst entries" not in text


def test_pass_above_the_threshold_says_rounding_noise(rng):
    x = rng.standard_normal(6)
    x[0] = np.pi / 2 + 1e-9  # the gradient cos(x) is -1e-9 there, below the rounding noise of f(x+h) - f(x-h)
    r = check_gradient(lambda v: float(np.sum(np.sin(v))) + 1000.0, x, np.cos(x))
    assert r.rel_error > THRESHOLDS["pass"] and r.verdict == "PASS" and r.codes == ["noise"], r.report()
    assert "rounding noise" in r.diagnosis_summary()
