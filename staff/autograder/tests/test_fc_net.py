"""Grading tests for ``cs231n/classifiers/fc_net.py``: TwoLayerNet and FullyConnectedNet.

Each scenario below runs twice: in the sandbox with the student's package, and here with the reference
package (the same ``import`` resolves to the instructor's copy in this process). Loss tests set the
parameters themselves, so a broken ``__init__`` costs only the ``__init__`` points (the nets still
use the student's own layers, as in the assignment).
"""

import numpy as np
import pytest

from staff.autograder.checks import assert_close, assert_same_keys, case, unpack

D, C = 7, 4
NETS = {
    "TwoLayerNet": [
        {"input_dim": D, "hidden_dim": 6, "num_classes": C, "weight_scale": 0.3},
        {"input_dim": 12, "hidden_dim": 9, "num_classes": 3, "weight_scale": 0.2},
    ],
    "FullyConnectedNet": [
        {"hidden_dims": [6, 5], "input_dim": D, "num_classes": C, "weight_scale": 0.3, "dtype": "float64"},
        {"hidden_dims": [5, 4, 6], "input_dim": 12, "num_classes": 3, "weight_scale": 0.2, "dtype": "float64"},
    ],
}


def net_params(net, seed, kwargs):
    """Seed the global RNG, build the net, return its params."""
    from cs231n.classifiers import fc_net

    np.random.seed(seed)
    return dict(getattr(fc_net, net)(**kwargs).params)


def net_loss(net, kwargs, params, X, y):
    """Build the net, set its params as the notebooks do, return its scores or (loss, grads)."""
    from cs231n.classifiers import fc_net

    model = getattr(fc_net, net)(**kwargs)
    for k, v in params.items():
        model.params[k] = v
    if y is None:
        return model.loss(X)
    loss, grads = model.loss(X, y)
    return loss, dict(grads)


def shapes(kwargs):
    """The (fan_in, fan_out) of every layer for the net's constructor arguments."""
    hidden = kwargs.get("hidden_dims", [kwargs.get("hidden_dim")])
    dims = [kwargs["input_dim"], *hidden, kwargs["num_classes"]]
    return list(zip(dims[:-1], dims[1:]))


def problem(kwargs, seed, reg):
    """Constructor arguments with ``reg``, parameters, inputs X (N, D) and labels y (N,), from ``seed``."""
    rng = np.random.default_rng(seed)
    params = {}
    for i, (fan_in, fan_out) in enumerate(shapes(kwargs), start=1):
        params[f"W{i}"] = rng.standard_normal((fan_in, fan_out)) * 0.4
        params[f"b{i}"] = rng.standard_normal(fan_out) * 0.1
    N = 5
    X = rng.standard_normal((N, kwargs["input_dim"]))
    y = rng.integers(0, kwargs["num_classes"], size=N)
    return dict(kwargs, reg=reg), params, X, y


def net_cases(method, points, hidden=False):
    return [case(net, function=f"{net}.{method}", points=points, hidden=hidden, id=net) for net in NETS]


@pytest.mark.parametrize("net", net_cases("__init__", 1))
def test_init_makes_params_with_the_right_keys_and_shapes(student, net):
    """params hold W1, b1, ... with the right shapes"""
    kwargs = NETS[net][0]
    got = student.run(net_params, net, 0, kwargs, label=f"{net}.__init__")
    expected = {}
    for i, (fan_in, fan_out) in enumerate(shapes(kwargs), start=1):
        expected[f"W{i}"], expected[f"b{i}"] = (fan_in, fan_out), (fan_out,)
    assert_same_keys(f"{net}.params", got, expected)
    for k, shape in expected.items():
        if np.shape(got[k]) != shape:
            raise AssertionError(f"{net}.params[{k!r}] has shape {np.shape(got[k])}, expected {shape}")


@pytest.mark.parametrize("net", net_cases("__init__", 1))
def test_init_draws_weights_from_the_global_rng_in_layer_order(student, net):
    """weights are weight_scale * np.random.randn, W1 first; biases are zero"""
    kwargs = NETS[net][0]
    got = student.run(net_params, net, 231, kwargs, label=f"{net}.__init__")
    expected = net_params(net, 231, kwargs)
    assert_same_keys(f"{net}.params", got, expected)
    for k in expected:
        assert_close(f"{net}.params[{k!r}]", got[k], expected[k])


@pytest.mark.parametrize("net", net_cases("__init__", 1, hidden=True))
def test_init_matches_reference_for_other_sizes(student, net):
    """params match the reference for other layer sizes"""
    kwargs = NETS[net][1]
    got = student.run(net_params, net, 7, kwargs, label=f"{net}.__init__")
    expected = net_params(net, 7, kwargs)
    assert_same_keys(f"{net}.params", got, expected)
    for k in expected:
        assert_close(f"{net}.params[{k!r}]", got[k], expected[k])


@pytest.mark.parametrize("net", net_cases("loss", 1))
def test_scores_match_reference(student, net):
    """loss(X) returns the class scores"""
    kwargs, params, X, _ = problem(NETS[net][0], seed=40, reg=0.0)
    assert_close(
        f"{net} scores",
        student.run(net_loss, net, kwargs, params, X, None, label=f"{net}.loss"),
        net_loss(net, kwargs, params, X, None),
    )


@pytest.mark.parametrize("reg", [0.0, 0.7], ids=["no_reg", "reg"])
@pytest.mark.parametrize("net", net_cases("loss", 1))
def test_loss_value_matches_reference(student, net, reg):
    """loss(X, y) returns the softmax loss plus 0.5 * reg * sum(W**2)"""
    kwargs, params, X, y = problem(NETS[net][0], seed=41, reg=reg)
    got, _ = unpack(f"{net}.loss", student.run(net_loss, net, kwargs, params, X, y, label=f"{net}.loss"), 2)
    expected, _ = net_loss(net, kwargs, params, X, y)
    assert_close(f"{net} loss", got, expected)


def _check_grads(student, net, kwargs, params, X, y):
    _, got = unpack(f"{net}.loss", student.run(net_loss, net, kwargs, params, X, y, label=f"{net}.loss"), 2)
    _, expected = net_loss(net, kwargs, params, X, y)
    assert_same_keys(f"{net} grads", got, expected)
    for k in expected:
        assert_close(f"{net} grads[{k!r}]", got[k], expected[k])


@pytest.mark.parametrize("net", net_cases("loss", 2))
def test_gradients_match_reference(student, net):
    """loss(X, y) returns the gradient of every parameter, regularization included"""
    _check_grads(student, net, *problem(NETS[net][0], seed=42, reg=0.7))


@pytest.mark.parametrize("net", net_cases("loss", 1, hidden=True))
def test_gradients_match_reference_for_other_sizes(student, net):
    """gradients match the reference for other layer sizes"""
    _check_grads(student, net, *problem(NETS[net][1], seed=43, reg=0.3))
