"""Tests for the CS231n functions of cs231n/gradient_check.py, against derivatives worked out by hand.

The structured checks behind the gradient report (``check_layer``, ``check_model``, ``check_gradient``)
and their diagnosis of each bug are tested by the course staff's tests.
"""

import random

import numpy as np
import pytest

from cs231n.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array, grad_check_sparse, rel_error


@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 2)])
def test_eval_numerical_gradient_matches_hand_derivative(rng, shape):
    x = rng.standard_normal(shape)
    expected = 3 * x**2 + np.cos(x)  # d/dx of sum(x**3 + sin(x))
    num = eval_numerical_gradient(lambda v: np.sum(v**3 + np.sin(v)), x, verbose=False)
    assert num.shape == shape
    assert rel_error(num, expected) < 1e-8


def test_eval_numerical_gradient_gives_exactly_the_centered_difference(rng):
    x = rng.standard_normal(5)
    f = lambda v: float(np.sum(np.exp(v)))  # noqa: E731
    num = eval_numerical_gradient(f, x, verbose=False)
    for i in range(5):
        up, down = x.copy(), x.copy()
        up[i] += 1e-5
        down[i] -= 1e-5
        assert num[i] == (f(up) - f(down)) / 2e-5  # the same numbers as CS231n's loop, bit for bit


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
        (2.0, [2.0, 1.0], 1 / 3),  # a number stands for every entry
    ],
)
def test_rel_error_matches_hand_computed_values(x, y, expected):
    assert rel_error(np.array(x), np.array(y)) == pytest.approx(expected)
