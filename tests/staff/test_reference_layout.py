"""The reference nets keep their first weight in blas.weight_order's memory order, through training.

The order only changes speed, never values, and only while every array that meets the weight in an
elementwise operation (its gradient, the update's temporaries, the optimizer's state) has the same
order: numpy sweeps mixed-order operands many times slower. These tests pin that down on the
reference solution, in both orders, whatever this machine's BLAS prefers. Students' code is free to
use any order, so the tests stay out of the kit.
"""

import numpy as np
import pytest

from cs231n import blas
from cs231n.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from cs231n.gradient_check import eval_numerical_gradient, rel_error
from cs231n.solver import Solver

ORDERS = ["C", "F"]


def order_of(a):
    """ "C" or "F": the memory order of a 2-D array with more than one row and column."""
    assert a.ndim == 2 and min(a.shape) > 1
    assert a.flags.c_contiguous != a.flags.f_contiguous, "neither or both orders"
    return "C" if a.flags.c_contiguous else "F"


def small_net(kind, order, reg=0.1, seed=0):
    np.random.seed(seed)
    if kind == "two_layer":
        model = TwoLayerNet(input_dim=12, hidden_dim=7, num_classes=4, weight_scale=0.3, reg=reg)
    else:
        model = FullyConnectedNet([7, 6], input_dim=12, num_classes=4, weight_scale=0.3, reg=reg, dtype=np.float64)
    model.params["W1"] = np.asarray(model.params["W1"], order=order)
    return model


def test_the_two_layer_net_stores_w1_in_the_order_blas_prefers_for_float64():
    model = TwoLayerNet(input_dim=30, hidden_dim=8)
    assert order_of(model.params["W1"]) == blas.weight_order(np.float64)
    assert order_of(model.params["W2"]) == "C"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_fully_connected_net_stores_w1_in_the_order_blas_prefers_for_its_dtype(dtype):
    model = FullyConnectedNet([8, 9], input_dim=30, dtype=dtype)
    assert model.params["W1"].dtype == dtype
    assert order_of(model.params["W1"]) == blas.weight_order(dtype)
    assert order_of(model.params["W2"]) == "C"


@pytest.mark.parametrize("kind", ["two_layer", "fc"])
def test_the_order_does_not_change_the_first_draws(kind):
    # The same global-RNG draws whatever order W1 is stored in: compare with a C-ordered draw by hand.
    np.random.seed(3)
    model = (
        TwoLayerNet(input_dim=12, hidden_dim=7, weight_scale=0.5)
        if kind == "two_layer"
        else FullyConnectedNet([7], input_dim=12, weight_scale=0.5, dtype=np.float64)
    )
    np.random.seed(3)
    assert np.array_equal(model.params["W1"], 0.5 * np.random.randn(12, 7))


@pytest.mark.parametrize("kind", ["two_layer", "fc"])
@pytest.mark.parametrize("order", ORDERS)
def test_w1_gradient_has_w1s_order_and_matches_the_numerical_gradient(kind, order):
    model = small_net(kind, order)
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((5, 12)), rng.integers(4, size=5)
    loss, grads = model.loss(X, y)
    assert order_of(grads["W1"]) == order
    numerical = eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params["W1"], verbose=False)
    assert rel_error(grads["W1"], numerical) < 1e-6
    # The loss includes 0.5 * reg * sum(W**2), summed here without the kit's helpers.
    data_only = small_net(kind, order, reg=0.0).loss(X, y)[0]
    squares = sum(float(v) ** 2 for k, W in model.params.items() if k.startswith("W") for v in W.flat)
    assert abs(loss - (data_only + 0.5 * model.reg * squares)) < 1e-10


@pytest.mark.parametrize("kind", ["two_layer", "fc"])
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("update_rule", ["sgd", "sgd_momentum", "rmsprop", "adam"])
def test_training_keeps_w1s_order_and_its_optimizer_state_follows(kind, order, update_rule):
    model = small_net(kind, order)
    rng = np.random.default_rng(2)
    data = {
        "X_train": rng.standard_normal((40, 12)),
        "y_train": rng.integers(4, size=40),
        "X_val": rng.standard_normal((10, 12)),
        "y_val": rng.integers(4, size=10),
    }
    solver = Solver(
        model,
        data,
        update_rule=update_rule,
        optim_config={"learning_rate": 1e-3},
        num_epochs=2,
        batch_size=10,
        verbose=False,
    )
    solver.train()
    assert order_of(model.params["W1"]) == order  # the best parameters, restored at the end
    assert order_of(solver.best_params["W1"]) == order
    for value in solver.optim_configs["W1"].values():
        if isinstance(value, np.ndarray):
            assert order_of(value) == order
