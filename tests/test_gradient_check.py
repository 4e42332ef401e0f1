"""Tests for cs231n/gradient_check.py.

Every layer used here is written in this file (correct and deliberately buggy versions), so the
checker is tested on its own, against gradients derived by hand.
"""

import random

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
    dx = np.zeros((x.shape[0], w.shape[0]))
    for i in range(x.shape[0] - 1):  # the off-by-one under test
        dx[i] = dout[i] @ w.T
    return dx.reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def affine_backward_two_grads(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout


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
    out = 1 / (1 + np.exp(-x))
    return out, out


def sigmoid_backward(dout, out):
    return dout * out * (1 - out)


def softmax_loss(x, y, divide_by_n=True):
    e = np.exp(x - np.max(x, axis=1, keepdims=True))  # shifted by the row max: no overflow
    p = e / e.sum(axis=1, keepdims=True)
    n = x.shape[0]
    loss = -np.log(p[np.arange(n), y]).mean()
    dx = p.copy()
    dx[np.arange(n), y] -= 1
    return loss, dx / n if divide_by_n else dx


def svm_loss(x, y):
    n = x.shape[0]
    margins = np.maximum(0, x - x[np.arange(n), y][:, None] + 1)
    margins[np.arange(n), y] = 0
    dx = (margins > 0).astype(float)
    dx[np.arange(n), y] = -dx.sum(axis=1)
    return margins.sum() / n, dx / n


class TinyNet:
    """affine - relu - affine - softmax with 0.5 * reg * sum(W**2); ``reg_factor`` and ``divide_by_n`` inject bugs."""

    def __init__(self, rng, reg, reg_factor=1.0, divide_by_n=True):
        self.params = {
            "W1": rng.standard_normal((4, 6)),
            "b1": rng.standard_normal(6) * 0.1,
            "W2": rng.standard_normal((6, 3)),
            "b2": rng.standard_normal(3) * 0.1,
        }
        self.reg = reg
        self.reg_factor = reg_factor  # 1.0 is correct, 2.0 counts reg twice, 0.0 forgets it
        self.divide_by_n = divide_by_n

    def loss(self, X, y):
        p = self.params
        h, hc = affine_forward(X, p["W1"], p["b1"])
        a = np.maximum(h, 0)
        scores, sc = affine_forward(a, p["W2"], p["b2"])
        loss, dscores = softmax_loss(scores, y, self.divide_by_n)
        loss += 0.5 * self.reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        da, dW2, db2 = affine_backward(dscores, sc)
        dX, dW1, db1 = affine_backward(da * (h > 0), hc)
        k = self.reg_factor * self.reg
        return loss, {"W1": dW1 + k * p["W1"], "b1": db1, "W2": dW2 + k * p["W2"], "b2": db2}


@pytest.fixture
def affine_inputs(rng):
    return rng.standard_normal((4, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)


def away_from_zero(rng, shape):
    """Inputs at least 0.1 from the ReLU kink, so a correct ReLU check is clean."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < 0.1, 0.5, x)


# ----------------------------------------------------------------------------------------------
# The CS231n functions
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 2)])
def test_eval_numerical_gradient_matches_hand_derivative(rng, shape):
    x = rng.standard_normal(shape)
    expected = 3 * x**2 + np.cos(x)  # d/dx of sum(x**3 + sin(x))
    num = eval_numerical_gradient(lambda v: np.sum(v**3 + np.sin(v)), x, verbose=False)
    assert num.shape == shape
    assert rel_error(num, expected) < 1e-8


def test_eval_numerical_gradient_restores_x(rng):
    x = rng.standard_normal((3, 4))
    before = x.copy()
    eval_numerical_gradient(lambda v: np.sum(v**2), x, verbose=False)
    assert np.array_equal(x, before)


def test_eval_numerical_gradient_verbose_prints_each_index_and_value(capsys):
    x = np.array([[1.0, 2.0]])
    eval_numerical_gradient(lambda v: np.sum(v**2), x, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("(0, 0) 2.0") and lines[1].startswith("(0, 1) 4.0")


def test_eval_numerical_gradient_quiet_prints_nothing(capsys):
    eval_numerical_gradient(lambda v: np.sum(v**2), np.ones(3), verbose=False)
    assert capsys.readouterr().out == ""


def test_eval_numerical_gradient_array_matches_hand_derivatives(rng):
    x, w, df = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((3, 2))
    assert rel_error(eval_numerical_gradient_array(lambda v: v @ w, x, df), df @ w.T) < 1e-8
    df2 = rng.standard_normal((3, 4))
    expected = df2 * (1 - np.tanh(x) ** 2)
    assert rel_error(eval_numerical_gradient_array(np.tanh, x, df2), expected) < 1e-7


def test_eval_numerical_gradient_array_rejects_df_of_the_wrong_shape():
    with pytest.raises(ValueError, match="df has shape"):
        eval_numerical_gradient_array(lambda v: v * 2, np.ones((2, 3)), np.ones((3, 2)))


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.arange(4), "floating dtype"),
        ([1.0, 2.0], "numpy array"),
    ],
)
def test_numerical_gradients_reject_inputs_that_cannot_be_perturbed(bad, message):
    with pytest.raises(ValueError, match=message):
        eval_numerical_gradient(lambda v: 0.0, bad, verbose=False)


def test_numerical_gradient_rejects_a_non_positive_step():
    with pytest.raises(ValueError, match="h must be"):
        eval_numerical_gradient(lambda v: 0.0, np.ones(2), verbose=False, h=0.0)


def test_grad_check_sparse_prints_one_line_per_check_with_small_errors(capsys, rng):
    x = rng.standard_normal((5, 4))
    random.seed(0)
    errors = grad_check_sparse(lambda v: np.sum(v**3), x, 3 * x**2, num_checks=6)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(errors) == 6
    assert all(line.startswith("numerical: ") and "analytic: " in line and "relative error: " in line for line in lines)
    assert max(errors) < 1e-6


def test_grad_check_sparse_reports_a_wrong_gradient(rng, capsys):
    x = rng.standard_normal((5, 4)) + 3.0  # positive, so 3x^2 and -3x^2 never both vanish
    errors = grad_check_sparse(lambda v: np.sum(v**3), x, -3 * x**2, num_checks=4)
    assert min(errors) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "x, y, expected",
    [
        ([1.0], [3.0], 0.5),  # |1-3| / (1+3)
        ([2.0, 1.0], [2.0, 1.1], 0.1 / 2.1),
        ([0.0], [0.0], 0.0),  # the 1e-8 floor avoids 0/0
        ([1e-9], [0.0], 0.1),  # 1e-9 / 1e-8
    ],
)
def test_rel_error_matches_hand_computed_values(x, y, expected):
    assert rel_error(np.array(x), np.array(y)) == pytest.approx(expected)


# ----------------------------------------------------------------------------------------------
# The structured check: correct gradients pass with no diagnosis
# ----------------------------------------------------------------------------------------------


def test_correct_affine_backward_passes_for_each_input(affine_inputs):
    results = check_layer(affine_forward, affine_backward, affine_inputs)
    assert [r.param for r in results] == ["x", "w", "b"]
    for r in results:
        assert r.verdict == "PASS" and r.diagnoses == [] and r.rel_error < THRESHOLDS["pass"]


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
# The structured check: each bug is named
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


def test_errors_in_one_row_are_diagnosed_as_rows(affine_inputs):
    r = check_layer(affine_forward, affine_backward_last_row_skipped, affine_inputs)[0]
    assert r.codes == ["rows"] and "[3]" in r.diagnoses[0].summary


def test_relu_mask_on_the_wrong_array_is_diagnosed_as_mask(rng):
    (r,) = check_layer(relu_forward, relu_backward_mask_on_dout, [away_from_zero(rng, (6, 5))])
    assert r.verdict == "FAIL" and r.codes == ["mask"]


def test_errors_only_at_the_correct_class_are_listed_as_entries(rng):
    x, y = rng.standard_normal((5, 4)), np.array([0, 1, 2, 3, 1])
    dx = softmax_loss(x, y)[1]
    dx[np.arange(5), y] += 1 / 5  # the bug under test: the "- 1" at the correct class forgotten
    r = check_gradient(lambda v: softmax_loss(v, y)[0], x, dx, batch_size=5)
    assert r.verdict == "FAIL" and r.codes == ["entries"]
    assert r.diagnoses[0].summary.startswith("5 of 20 entries disagree")


def test_unrelated_gradient_is_wrong_everywhere_with_no_pattern(rng):
    x = rng.standard_normal((3, 4))
    r = check_gradient(lambda v: np.sum(np.sin(v)), x, rng.standard_normal((3, 4)))
    assert r.verdict == "FAIL" and r.codes == ["no_pattern"]


def test_all_zero_gradient_is_diagnosed(rng):
    (r,) = check_layer(sigmoid_forward, lambda dout, out: np.zeros_like(dout), [rng.standard_normal((3, 4))])
    assert r.verdict == "FAIL" and r.codes == ["zero"]


def test_missing_gradient_is_diagnosed(affine_inputs):
    results = check_layer(affine_forward, affine_backward_two_grads, affine_inputs)
    assert "wrong_count" in results[2].codes and "missing" in results[2].codes
    assert results[2].verdict == "FAIL"


# ----------------------------------------------------------------------------------------------
# Not bugs, and the cases the check refuses or flags
# ----------------------------------------------------------------------------------------------


def test_relu_input_within_h_of_zero_is_a_kink_not_a_bug(rng):
    x = away_from_zero(rng, (4, 5))
    x[1, 2] = 3e-6  # within h = 1e-5 of the kink
    (r,) = check_layer(relu_forward, relu_backward, [x])
    assert r.verdict == "WARN" and r.codes == ["kink"]
    assert "(1, 2)" in r.diagnoses[0].summary and "not a bug" in r.diagnoses[0].summary


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


def test_float32_inputs_are_refused_with_a_clear_diagnosis(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    r = check_gradient(lambda v: float(np.sum(v**2)), x, 2 * x)
    assert r.codes == ["float32"] and r.verdict == "WARN" and np.isnan(r.rel_error)
    assert "float64" in r.report()
    results = check_layer(relu_forward, relu_backward, [x])
    assert results[0].codes == ["float32"]


def test_float32_model_is_refused_for_every_param(rng):
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
    assert where in r.diagnoses[-1].summary
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


def test_check_leaves_inputs_unchanged(affine_inputs):
    saved = [v.copy() for v in affine_inputs]
    check_layer(affine_forward, affine_backward_sign_flip, affine_inputs)
    assert all(np.array_equal(v, s) for v, s in zip(affine_inputs, saved))


def test_integer_inputs_raise_value_error_naming_the_input():
    with pytest.raises(ValueError, match=r"inputs\[0\].*int"):
        check_layer(relu_forward, relu_backward, [np.arange(4)])


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
