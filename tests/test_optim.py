"""Tests for cs231n/optim.py: each update rule against steps worked out by hand on 2x2 arrays."""

import math

import numpy as np
import pytest

from cs231n import optim

RULES = [optim.sgd, optim.sgd_momentum, optim.rmsprop, optim.adam]

W = np.array([[1.0, 2.0], [3.0, 4.0]])
W.flags.writeable = False  # shared by the tests: a rule that wrote into it would fail loudly


def test_sgd_step_matches_hand_computed_values():
    dw = np.array([[0.5, -1.0], [2.0, 0.0]])
    next_w, config = optim.sgd(W.copy(), dw, {"learning_rate": 0.1})
    # w - 0.1 * dw, entry by entry.
    np.testing.assert_allclose(next_w, [[0.95, 2.1], [2.8, 4.0]])
    assert config["learning_rate"] == 0.1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("orders", ["C C", "F F", "C F", "F C", "strided"])
def test_sgd_updates_w_in_place_and_leaves_dw_alone(dtype, orders):
    rng = np.random.default_rng(5)
    w0, dw0 = rng.standard_normal((2, 5, 6))
    if orders == "strided":
        w, dw = np.zeros((5, 12), dtype)[:, ::2], dw0.astype(dtype)
        w[...] = w0
    else:
        w_order, dw_order = orders.split()
        w, dw = np.asarray(w0, dtype, order=w_order), np.asarray(dw0, dtype, order=dw_order)
    want = [
        [float(a) - 0.3 * float(b) for a, b in zip(row_w, row_dw)]
        for row_w, row_dw in zip(w.astype(np.float64).tolist(), dw.astype(np.float64).tolist())
    ]
    dw_before = dw.copy()
    next_w, _ = optim.sgd(w, dw, {"learning_rate": 0.3})
    assert next_w is w and w.dtype == dtype
    np.testing.assert_allclose(w, want, rtol=1e-6 if dtype == np.float32 else 1e-13, atol=1e-6)
    np.testing.assert_array_equal(dw, dw_before)


@pytest.mark.parametrize(
    "w, message",
    [
        (W, "array to update in place.*read-only"),
        (np.array([[1, 2], [3, 4]]), "float numpy array.*int64"),
    ],
)
def test_sgd_names_arrays_it_cannot_update_in_place(w, message):
    with pytest.raises(ValueError, match=message):
        optim.sgd(w, np.ones((2, 2)), {"learning_rate": 0.1})


def test_sgd_returns_a_new_value_for_a_number_or_a_list_as_minus_equals_would():
    next_w, _ = optim.sgd(1.5, 2.0, {"learning_rate": 0.25})
    assert next_w == 1.0
    w = [[1.0, 2.0], [3.0, 4.0]]
    next_w, _ = optim.sgd(w, [[0.5, -1.0], [2.0, 0.0]], {"learning_rate": 0.1})
    np.testing.assert_allclose(next_w, [[0.95, 2.1], [2.8, 4.0]])
    assert w == [[1.0, 2.0], [3.0, 4.0]]


def test_sgd_momentum_two_steps_match_hand_computed_values():
    config = {"learning_rate": 0.1, "momentum": 0.9}
    w1, config = optim.sgd_momentum(W, np.array([[1.0, -1.0], [2.0, 0.0]]), config)
    # v = 0.9 * 0 - 0.1 * dw1 = [[-0.1, 0.1], [-0.2, 0]]; w1 = w + v.
    np.testing.assert_allclose(config["velocity"], [[-0.1, 0.1], [-0.2, 0.0]])
    np.testing.assert_allclose(w1, [[0.9, 2.1], [2.8, 4.0]])

    w2, config = optim.sgd_momentum(w1, np.array([[1.0, 1.0], [0.0, -2.0]]), config)
    # v = 0.9 * v - 0.1 * dw2 = [[-0.09 - 0.1, 0.09 - 0.1], [-0.18, 0.2]]; w2 = w1 + v.
    np.testing.assert_allclose(config["velocity"], [[-0.19, -0.01], [-0.18, 0.2]])
    np.testing.assert_allclose(w2, [[0.71, 2.09], [2.62, 4.2]])


def test_rmsprop_two_steps_match_hand_computed_values():
    config = {"learning_rate": 0.1, "decay_rate": 0.5, "epsilon": 1e-12}  # small enough to leave the digits
    w1, config = optim.rmsprop(W, np.array([[1.0, -2.0], [4.0, 0.5]]), config)
    # cache = 0.5 * dw1**2 = [[0.5, 2], [8, 0.125]], so dw1 / sqrt(cache) = sqrt(2) * sign(dw1).
    np.testing.assert_allclose(config["cache"], [[0.5, 2.0], [8.0, 0.125]])
    s = 0.1 * math.sqrt(2)
    np.testing.assert_allclose(w1, [[1 - s, 2 + s], [3 - s, 4 - s]])

    w2, config = optim.rmsprop(w1, np.array([[1.0, 2.0], [0.0, 0.5]]), config)
    # cache = 0.5 * cache + 0.5 * dw2**2 = [[0.75, 3], [4, 0.1875]]; each nonzero dw2 / sqrt(cache)
    # equals 1 / sqrt(0.75) = 2 / sqrt(3).
    np.testing.assert_allclose(config["cache"], [[0.75, 3.0], [4.0, 0.1875]])
    u = 0.1 * 2 / math.sqrt(3)
    np.testing.assert_allclose(w2, [[1 - s - u, 2 + s - u], [3 - s, 4 - s - u]])


def test_adam_two_steps_match_a_scalar_loop_of_the_formulas():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    dws = [np.array([[1.0, -1.0], [2.0, 0.5]]), np.array([[1.0, 1.0], [-2.0, 0.25]])]
    config = {"learning_rate": lr}
    w = W
    for dw in dws:
        w, config = optim.adam(w, dw, config)

    # The same two steps, one scalar at a time, written out from the formulas.
    for i in range(2):
        for j in range(2):
            x, m, v = W[i, j], 0.0, 0.0
            for t, dw in enumerate(dws, start=1):
                g = dw[i, j]
                m = b1 * m + (1 - b1) * g
                v = b2 * v + (1 - b2) * g * g
                x = x - lr * (m / (1 - b1**t)) / (math.sqrt(v / (1 - b2**t)) + eps)
            assert w[i, j] == pytest.approx(x, rel=1e-12)
            assert config["m"][i, j] == pytest.approx(m, rel=1e-12)
            assert config["v"][i, j] == pytest.approx(v, rel=1e-12)
    assert config["t"] == 2


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_adam_first_step_moves_each_weight_by_learning_rate_against_the_gradient_sign(scale):
    # Bias correction makes mt = dw and vt = dw**2 on step 1, so the step is lr * sign(dw) at any scale.
    dw = scale * np.array([[0.3, -2.0], [5.0, -0.7]])
    next_w, config = optim.adam(W, dw, {"learning_rate": 0.05})
    np.testing.assert_allclose(W - next_w, 0.05 * np.sign(dw), rtol=1e-4)
    assert config["t"] == 1


@pytest.mark.parametrize(
    "rule, defaults",
    [
        (optim.sgd, {"learning_rate": 1e-2}),
        (optim.sgd_momentum, {"learning_rate": 1e-2, "momentum": 0.9}),
        (optim.rmsprop, {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8}),
        (optim.adam, {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}),
    ],
)
def test_update_rules_fill_the_documented_defaults_and_keep_given_values(rule, defaults):
    _, config = rule(W.copy(), np.ones_like(W), None)
    for k, v in defaults.items():
        assert config[k] == v
    _, config = rule(W.copy(), np.ones_like(W), {"learning_rate": 0.5})
    assert config["learning_rate"] == 0.5


@pytest.mark.parametrize(
    "rule, state",
    [
        (optim.sgd_momentum, ["velocity"]),
        (optim.rmsprop, ["cache"]),
        (optim.adam, ["m", "v"]),
    ],
)
def test_update_rule_state_starts_at_zero_so_the_first_step_uses_only_the_gradient(rule, state):
    dw = np.array([[1.0, -2.0], [3.0, -4.0]])
    _, config = rule(W, dw, {})
    # Starting from zero state, one step leaves each state as a fixed multiple of dw or dw**2.
    for name in state:
        assert config[name].shape == W.shape
        ratio = config[name] / (dw if name in ("velocity", "m") else dw**2)
        np.testing.assert_allclose(ratio, ratio.flat[0])


@pytest.mark.parametrize("rule", RULES[1:])  # sgd works in place, as w -= learning_rate * dw does
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_update_rules_keep_inputs_unchanged_and_dtype(rule, dtype):
    w = W.astype(dtype)
    dw = np.array([[0.1, -0.2], [0.3, -0.4]], dtype=dtype)
    w0, dw0 = w.copy(), dw.copy()
    next_w, _ = rule(w, dw, {})
    np.testing.assert_array_equal(w, w0)
    np.testing.assert_array_equal(dw, dw0)
    assert next_w.dtype == dtype
    assert not np.array_equal(next_w, w0)


@pytest.mark.parametrize("rule", RULES)
def test_update_rules_reject_a_gradient_of_another_shape(rule):
    with pytest.raises(ValueError, match=r"dw must have the shape of w.*\(2, 2\).*\(4,\)"):
        rule(W, np.ones(4), {})


# ---------------------------------------------------------------------------------------------
# Configs checked where they enter
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("config", [1e-3, [0.1], "adam"])
def test_a_config_that_is_not_a_dict_is_refused(rule, config):
    with pytest.raises(TypeError, match=rf"{rule.__name__}: config must be a dict"):
        rule(W.copy(), np.ones_like(W), config)


def test_sgd_with_a_bare_learning_rate_says_how_to_write_it():
    with pytest.raises(TypeError, match=r"such as \{'learning_rate': 0.001\}"):
        optim.sgd(W.copy(), np.ones_like(W), 1e-3)


@pytest.mark.parametrize(
    "rule, key, suggestion",
    [
        (optim.sgd, "learning_rte", "learning_rate"),
        (optim.sgd, "lr", "learning_rate"),
        (optim.sgd, "learning", "learning_rate"),
        (optim.sgd, "step", None),
        (optim.sgd_momentum, "momentun", "momentum"),
        (optim.rmsprop, "decay", "decay_rate"),
        (optim.adam, "beta_1", "beta1"),
        (optim.adam, "momentum", None),
    ],
)
def test_an_unknown_config_key_is_refused_with_the_closest_known_one(rule, key, suggestion):
    config = {key: 0.5}
    with pytest.raises(ValueError, match=rf"{rule.__name__}: unknown config key '{key}'") as err:
        rule(W.copy(), np.ones_like(W), config)
    if suggestion:
        assert f"did you mean '{suggestion}'?" in str(err.value)
    else:
        assert "did you mean" not in str(err.value)


@pytest.mark.parametrize(
    "rule, key, value, expected",
    [
        (optim.sgd, "learning_rate", -1e-3, ">= 0"),
        (optim.adam, "learning_rate", float("nan"), ">= 0"),
        (optim.rmsprop, "learning_rate", float("inf"), ">= 0"),
        (optim.sgd_momentum, "momentum", 1.0, r"in \[0, 1\)"),
        (optim.sgd_momentum, "momentum", -0.1, r"in \[0, 1\)"),
        (optim.rmsprop, "decay_rate", 1.0, r"in \[0, 1\)"),
        (optim.adam, "beta1", 1.0, r"in \[0, 1\)"),
        (optim.adam, "beta2", 1.5, r"in \[0, 1\)"),
        (optim.adam, "epsilon", 0.0, "> 0"),
        (optim.rmsprop, "epsilon", -1e-8, "> 0"),
        (optim.adam, "t", -1, "integer >= 0"),
        (optim.adam, "t", 1.5, "integer >= 0"),
    ],
)
def test_a_config_value_out_of_range_is_refused_naming_it(rule, key, value, expected):
    config = {key: value}
    with pytest.raises(ValueError, match=rf"{rule.__name__}: config\['{key}'\].*{expected}"):
        rule(W.copy(), np.ones_like(W), config)


@pytest.mark.parametrize("rule", RULES)
def test_a_learning_rate_that_is_not_a_number_is_a_type_error(rule):
    with pytest.raises(TypeError, match=r"config\['learning_rate'\] must be a number, got str"):
        rule(W.copy(), np.ones_like(W), {"learning_rate": "0.1"})


@pytest.mark.parametrize("rule, key", [(optim.sgd_momentum, "velocity"), (optim.rmsprop, "cache"), (optim.adam, "m")])
def test_the_state_of_another_parameter_is_refused(rule, key):
    _, config = rule(np.zeros(3), np.ones(3), {})  # the state of a bias of shape (3,)
    with pytest.raises(ValueError, match=rf"config\['{key}'\] has shape \(3,\), expected \(2, 2\)"):
        rule(W.copy(), np.ones_like(W), config)


@pytest.mark.parametrize("rule", RULES)
def test_a_learning_rate_of_zero_leaves_w_as_it_was(rule):
    # The last update of a linear or cosine schedule has learning rate 0: a step that moves nothing.
    next_w, _ = rule(W.copy(), np.array([[1.0, -2.0], [3.0, 0.5]]), {"learning_rate": 0.0})
    np.testing.assert_array_equal(next_w, W)


@pytest.mark.parametrize("rule", RULES)
def test_update_rules_keep_float32_with_a_numpy_float64_rate_or_gradient(rule):
    w = W.astype(np.float32)
    for dw, lr in [(np.ones((2, 2), np.float64), 1e-2), (np.ones((2, 2), np.float32), np.float64(1e-2))]:
        config = {"learning_rate": lr}
        for _ in range(2):  # the second step reads the state of the first
            w, config = rule(w, dw, config)
            assert w.dtype == np.float32
        # The same steps in float64 give the same numbers (to float32 precision).
        w64, config64 = W.copy(), {"learning_rate": float(lr)}
        for _ in range(2):
            w64, config64 = rule(w64, dw.astype(np.float64), config64)
        np.testing.assert_allclose(w, w64, rtol=1e-6)
        w = W.astype(np.float32)
