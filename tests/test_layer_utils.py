"""Tests for cs231n/layer_utils.py: the affine-ReLU sandwich."""

import numpy as np
import pytest

from cs231n.gradient_check import eval_numerical_gradient_array, rel_error
from cs231n.layer_utils import affine_relu_backward, affine_relu_forward


@pytest.mark.parametrize("x_shape, M", [((1, 3), 4), ((4, 2, 3), 5)])
def test_affine_relu_forward_matches_plain_loop(rng, x_shape, M):
    x = rng.standard_normal(x_shape)
    D = int(np.prod(x_shape[1:]))
    w, b = rng.standard_normal((D, M)), rng.standard_normal(M)
    out, _ = affine_relu_forward(x, w, b)
    expected = np.zeros((x_shape[0], M))
    for i in range(x_shape[0]):
        row = list(x[i].flat)
        for m in range(M):
            expected[i, m] = max(0.0, sum(row[d] * w[d, m] for d in range(D)) + b[m])
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_shape, M", [((1, 3), 4), ((4, 6), 3), ((3, 2, 2, 2), 5)])
def test_affine_relu_backward_matches_eval_numerical_gradient_array(rng, x_shape, M):
    x = rng.standard_normal(x_shape)
    D = int(np.prod(x_shape[1:]))
    w, b = rng.standard_normal((D, M)), rng.standard_normal(M)
    dout = rng.standard_normal((x_shape[0], M))
    _, cache = affine_relu_forward(x, w, b)
    dx, dw, db = affine_relu_backward(dout, cache)
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape
    assert rel_error(dx, eval_numerical_gradient_array(lambda v: affine_relu_forward(v, w, b)[0], x, dout)) < 1e-7
    assert rel_error(dw, eval_numerical_gradient_array(lambda v: affine_relu_forward(x, v, b)[0], w, dout)) < 1e-7
    assert rel_error(db, eval_numerical_gradient_array(lambda v: affine_relu_forward(x, w, v)[0], b, dout)) < 1e-7


def test_affine_relu_backward_blocks_gradient_of_inactive_units():
    x = np.array([[1.0, 2.0]])
    w = np.array([[1.0, -1.0], [1.0, -1.0]])
    b = np.zeros(2)
    # Pre-activations are [3, -3]: only the first unit passes its gradient back.
    _, cache = affine_relu_forward(x, w, b)
    dx, dw, db = affine_relu_backward(np.array([[2.0, 5.0]]), cache)
    np.testing.assert_allclose(db, [2.0, 0.0])
    np.testing.assert_allclose(dw, [[2.0, 0.0], [4.0, 0.0]])
    np.testing.assert_allclose(dx, [[2.0, 2.0]])


@pytest.mark.parametrize("cache", [np.ones((4, 3)), (np.ones((4, 5)), np.ones((5, 3)), np.zeros(3)), None])
def test_affine_relu_backward_given_another_cache_says_which_it_needs(cache):
    with pytest.raises(ValueError, match=r"affine_relu_backward needs the cache of affine_relu_forward"):
        affine_relu_backward(np.ones((4, 3)), cache)
