"""Grading tests for ``cs231n/classifiers/fc_net.py``: TwoLayerNet and FullyConnectedNet.

Each scenario below runs twice: in the sandbox with the student's package, and here with the reference
package (the same ``import`` resolves to the instructor's copy in this process). Loss tests build the
net with the given ``from_params`` (never the student's ``__init__``), so a broken ``__init__`` costs
only the ``__init__`` points (the nets still use the student's own layers, as in the assignment).
Besides the values, the docstrings' promises are graded: inputs of shape (N, d_1, ..., d_k), a
FullyConnectedNet without hidden layers (a softmax classifier), and a float32 FullyConnectedNet that
computes in float32.
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


def net_loss(net, params, reg, X, y):
    """Build the net around ``params`` with the given ``from_params``; return its scores or (loss, grads)."""
    from cs231n.classifiers import fc_net

    model = getattr(fc_net, net).from_params(params, reg=reg)
    if y is None:
        return model.loss(X)
    loss, grads = model.loss(X, y)
    return loss, dict(grads)


def shapes(kwargs):
    """The (fan_in, fan_out) of every layer for the net's constructor arguments."""
    hidden = kwargs.get("hidden_dims", [kwargs.get("hidden_dim")])
    dims = [kwargs["input_dim"], *hidden, kwargs["num_classes"]]
    return list(zip(dims[:-1], dims[1:]))


def problem(kwargs, seed, reg, x_shape=None):
    """Parameters, inputs X (N, D) (or ``x_shape``) and labels y (N,) for the net's sizes, from ``seed``."""
    rng = np.random.default_rng(seed)
    params = {}
    for i, (fan_in, fan_out) in enumerate(shapes(kwargs), start=1):
        params[f"W{i}"] = rng.standard_normal((fan_in, fan_out)) * 0.4
        params[f"b{i}"] = rng.standard_normal(fan_out) * 0.1
    N = 5
    X = rng.standard_normal(x_shape or (N, kwargs["input_dim"]))
    y = rng.integers(0, kwargs["num_classes"], size=N)
    return params, reg, X, y


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


def _check_init(student, net, seed, kwargs):
    got = student.run(net_params, net, seed, kwargs, label=f"{net}.__init__")
    expected = net_params(net, seed, kwargs)
    assert_same_keys(f"{net}.params", got, expected)
    for k in expected:
        assert_close(f"{net}.params[{k!r}]", got[k], expected[k])


@pytest.mark.parametrize("net", net_cases("__init__", 1))
def test_init_draws_weights_from_the_global_rng_in_layer_order(student, net):
    """weights are weight_scale * np.random.randn, W1 first; biases are zero"""
    _check_init(student, net, 231, NETS[net][0])


@pytest.mark.parametrize("net", net_cases("__init__", 1, hidden=True))
def test_init_matches_reference_for_other_sizes(student, net):
    """params match the reference for other layer sizes"""
    _check_init(student, net, 7, NETS[net][1])


@pytest.mark.parametrize("net", net_cases("loss", 1))
def test_scores_match_reference(student, net):
    """loss(X) returns the class scores"""
    params, reg, X, _ = problem(NETS[net][0], seed=40, reg=0.0)
    got = student.run(net_loss, net, params, reg, X, None, label=f"{net}.loss")
    assert_close(f"{net} scores", got, net_loss(net, params, reg, X, None))


@pytest.mark.parametrize("reg", [0.0, 0.7], ids=["no_reg", "reg"])
@pytest.mark.parametrize("net", net_cases("loss", 1))
def test_loss_value_matches_reference(student, net, reg):
    """loss(X, y) returns the softmax loss plus 0.5 * reg * sum(W**2)"""
    inputs = problem(NETS[net][0], seed=41, reg=reg)
    got, _ = unpack(f"{net}.loss", student.run(net_loss, net, *inputs, label=f"{net}.loss"), 2)
    expected, _ = net_loss(net, *inputs)
    assert_close(f"{net} loss", got, expected)


def _check_grads(student, net, params, reg, X, y):
    _, got = unpack(f"{net}.loss", student.run(net_loss, net, params, reg, X, y, label=f"{net}.loss"), 2)
    _, expected = net_loss(net, params, reg, X, y)
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


@pytest.mark.parametrize("net", net_cases("loss", 1))
def test_loss_takes_inputs_of_any_shape(student, net):
    """X of shape (N, d_1, ..., d_k) is flattened into rows: scores, loss and gradients match the reference"""
    kwargs = dict(NETS[net][0], input_dim=12)
    _check_grads(student, net, *problem(kwargs, seed=44, reg=0.2, x_shape=(5, 2, 3, 2)))


# A FullyConnectedNet with no hidden layer is a softmax classifier: one affine layer, W1 and b1.
SOFTMAX = {"hidden_dims": [], "input_dim": D, "num_classes": C, "weight_scale": 0.3, "dtype": "float64"}


@pytest.mark.parametrize(
    "method", [case(m, function=f"FullyConnectedNet.{m}", points=1, id=m) for m in ("__init__", "loss")]
)
def test_fully_connected_net_without_hidden_layers(student, method):
    """hidden_dims=[] gives a softmax classifier (W1, b1 only) that matches the reference"""
    if method == "__init__":
        _check_init(student, "FullyConnectedNet", 5, SOFTMAX)
    else:
        _check_grads(student, "FullyConnectedNet", *problem(SOFTMAX, seed=45, reg=0.5))


def _float32(values):
    return {k: v.astype(np.float32) for k, v in values.items()}


@pytest.mark.parametrize("method", [case("loss", function="FullyConnectedNet.loss", points=1, id="loss")])
def test_fully_connected_net_keeps_float32(student, method):
    """a float32 net (its dtype) gives float32 scores and gradients with the reference's values"""
    params, reg, X, y = problem(NETS["FullyConnectedNet"][0], seed=46, reg=0.3)
    params = _float32(params)
    scores = student.run(net_loss, "FullyConnectedNet", params, reg, X, None, label="FullyConnectedNet.loss")
    _, grads = unpack(
        "FullyConnectedNet.loss",
        student.run(net_loss, "FullyConnectedNet", params, reg, X, y, label="FullyConnectedNet.loss"),
        2,
    )
    wide = {k: v.astype(np.float64) for k, v in params.items()}
    expected_scores = net_loss("FullyConnectedNet", wide, reg, X.astype(np.float32).astype(np.float64), None)
    _, expected = net_loss("FullyConnectedNet", wide, reg, X.astype(np.float32).astype(np.float64), y)
    assert_same_keys("FullyConnectedNet grads", grads, expected)
    for what, got, want in [("scores", scores, expected_scores)] + [
        (f"grads[{k!r}]", grads[k], expected[k]) for k in expected
    ]:
        if np.asarray(got).dtype != np.float32:
            raise AssertionError(f"FullyConnectedNet {what} has dtype {np.asarray(got).dtype} for a float32 net")
        assert_close(f"FullyConnectedNet {what}", got, want, rtol=1e-3, atol=1e-4)
