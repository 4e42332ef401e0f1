"""Tests for cs231n/classifiers/fc_net.py: numerical gradients, plain-numpy forward passes,
initialization, save/load and input errors."""

import pickle

import numpy as np
import pytest

from cs231n.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from cs231n.gradient_check import eval_numerical_gradient, rel_error


def plain_scores(X, Ws, bs):
    """Scores of an {affine - relu} x (L-1) - affine net, written directly in numpy."""
    h = X.reshape(X.shape[0], -1)
    for W, b in zip(Ws[:-1], bs[:-1]):
        h = np.maximum(0, h @ W + b)
    return h @ Ws[-1] + bs[-1]


def plain_loss(scores, y, reg, Ws):
    """Softmax cross-entropy averaged over rows, one row at a time, plus 0.5 * reg * sum(W**2)."""
    total = 0.0
    for s, label in zip(scores, y):
        top = s.max()
        total += -(s[label] - top) + np.log(np.sum(np.exp(s - top)))
    return total / len(y) + 0.5 * reg * sum(np.sum(W**2) for W in Ws)


def weights_and_biases(model):
    L = len(model.params) // 2
    return [model.params[f"W{i}"] for i in range(1, L + 1)], [model.params[f"b{i}"] for i in range(1, L + 1)]


def random_params(dims, seed=0, scale=0.3):
    """Weights and nonzero biases for layer sizes dims = [D, H_1, ..., C], so every parameter matters."""
    rng = np.random.RandomState(seed)
    params = {}
    for i in range(1, len(dims)):
        params[f"W{i}"] = scale * rng.randn(dims[i - 1], dims[i])
        params[f"b{i}"] = 0.1 * rng.randn(dims[i])
    return params


def make_model(kind, dims, reg, seed=0):
    """A float64 net around random_params(dims), built without the random initialization."""
    cls = TwoLayerNet if kind == "two_layer" else FullyConnectedNet
    return cls.from_params(random_params(dims, seed), reg=reg)


# ---------------------------------------------------------------------------------------------
# Gradients
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reg", [0.0, 0.7])
@pytest.mark.parametrize(
    "kind, hidden_dims",
    [
        ("two_layer", (4,)),
        ("fc", ()),  # no hidden layer: a linear softmax classifier, the main job's baseline
        ("fc", (4,)),
        ("fc", (4, 6)),
        ("fc", (4, 6, 2)),  # no two neighbouring sizes equal: a transposed weight gradient has the wrong shape
    ],
)
def test_loss_gradients_match_numerical_gradients(kind, hidden_dims, reg):
    np.random.seed(231)
    N, D, C = 4, 5, 3
    X = np.random.randn(N, D)
    y = np.random.randint(C, size=N)
    model = make_model(kind, [D, *hidden_dims, C], reg)

    loss, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    for name, param in model.params.items():
        numeric = eval_numerical_gradient(lambda _: model.loss(X, y)[0], param, verbose=False)
        assert grads[name].shape == param.shape
        assert rel_error(numeric, grads[name]) < 1e-6, name


# ---------------------------------------------------------------------------------------------
# Forward values against plain numpy
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, hidden_dims", [("two_layer", (8,)), ("fc", (8,)), ("fc", (8, 4, 5))])
def test_scores_without_labels_match_a_plain_numpy_forward_pass(kind, hidden_dims):
    np.random.seed(1)
    X = np.random.randn(6, 2, 3)  # multi-dimensional examples are flattened to D = 6
    model = make_model(kind, [6, *hidden_dims, 4], 0.0)
    scores = model.loss(X)
    assert scores.shape == (6, 4)
    np.testing.assert_allclose(scores, plain_scores(X, *weights_and_biases(model)), rtol=1e-12)


@pytest.mark.parametrize("reg", [0.0, 0.25])
@pytest.mark.parametrize("kind, hidden_dims", [("two_layer", (8,)), ("fc", (8, 4))])
def test_loss_is_softmax_cross_entropy_plus_half_reg_sum_of_squared_weights(kind, hidden_dims, reg):
    np.random.seed(2)
    X = np.random.randn(5, 6)
    y = np.array([0, 3, 1, 3, 2])
    model = make_model(kind, [6, *hidden_dims, 4], reg)
    Ws, bs = weights_and_biases(model)
    loss, _ = model.loss(X, y)
    assert loss == pytest.approx(plain_loss(plain_scores(X, Ws, bs), y, reg, Ws), rel=1e-12)


def test_biases_are_not_regularized():
    np.random.seed(3)
    X, y = np.random.randn(4, 5), np.array([0, 1, 2, 0])
    model = TwoLayerNet.from_params(random_params([5, 6, 3], scale=0.1), reg=10.0)
    model.params["b1"] = np.full(6, 5.0)  # large biases: regularizing them would show
    loss, grads = model.loss(X, y)
    model.reg = 0.0
    loss_unregularized, grads_unregularized = model.loss(X, y)
    W1, W2 = model.params["W1"], model.params["W2"]
    assert loss - loss_unregularized == pytest.approx(0.5 * 10.0 * (np.sum(W1**2) + np.sum(W2**2)))
    np.testing.assert_array_equal(grads["b1"], grads_unregularized["b1"])
    np.testing.assert_allclose(grads["W1"] - grads_unregularized["W1"], 10.0 * W1, atol=1e-12)


def test_loss_leaves_its_input_unchanged():
    X = np.random.randn(3, 5)
    X0 = X.copy()
    model = make_model("fc", [5, 4, 3], reg=0.1)
    model.loss(X, np.array([0, 1, 2]))
    np.testing.assert_array_equal(X, X0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fully_connected_net_casts_its_params_to_dtype(dtype):
    model = FullyConnectedNet([5, 4], input_dim=6, num_classes=3, dtype=dtype, seed=0)
    assert all(v.dtype == dtype for v in model.params.values())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fully_connected_net_casts_its_input_so_scores_and_gradients_keep_its_dtype(dtype):
    model = FullyConnectedNet.from_params({k: v.astype(dtype) for k, v in random_params([6, 5, 4, 3]).items()})
    X = np.random.randn(2, 6)  # float64 input
    assert model.loss(X).dtype == dtype
    _, grads = model.loss(X, np.array([0, 2]))
    assert all(g.dtype == dtype for g in grads.values())


# ---------------------------------------------------------------------------------------------
# Initialization
# ---------------------------------------------------------------------------------------------


def test_two_layer_net_initialization_shapes_statistics_and_zero_biases():
    model = TwoLayerNet(input_dim=300, hidden_dim=200, num_classes=50, weight_scale=0.05)
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes == {"W1": (300, 200), "b1": (200,), "W2": (200, 50), "b2": (50,)}
    for k in ("W1", "W2"):
        W = model.params[k]
        assert W.std() == pytest.approx(0.05, rel=0.05)
        assert abs(W.mean()) < 0.005
    assert not model.params["b1"].any() and not model.params["b2"].any()


def test_fully_connected_net_initialization_shapes_statistics_and_zero_biases():
    model = FullyConnectedNet([120, 80, 60], input_dim=100, num_classes=10, weight_scale=0.02, seed=0)
    dims = [100, 120, 80, 60, 10]
    assert model.num_layers == 4
    assert sorted(model.params) == sorted([f"W{i}" for i in range(1, 5)] + [f"b{i}" for i in range(1, 5)])
    for i in range(1, 5):
        W, b = model.params[f"W{i}"], model.params[f"b{i}"]
        assert W.shape == (dims[i - 1], dims[i]) and b.shape == (dims[i],)
        assert W.std() == pytest.approx(0.02, rel=0.15)
        assert not b.any()


def test_weights_come_from_the_global_rng_in_layer_order():
    # The CS231n convention: W1 then W2 from np.random.randn, scaled; same seed, same numbers.
    np.random.seed(7)
    W1 = 1e-3 * np.random.randn(6, 5)
    W2 = 1e-3 * np.random.randn(5, 3)
    np.random.seed(7)
    model = TwoLayerNet(input_dim=6, hidden_dim=5, num_classes=3)
    np.testing.assert_array_equal(model.params["W1"], W1)
    np.testing.assert_array_equal(model.params["W2"], W2)

    fc = FullyConnectedNet([5], input_dim=6, num_classes=3, weight_scale=1e-3, dtype=np.float64, seed=7)
    np.testing.assert_array_equal(fc.params["W1"], W1)
    np.testing.assert_array_equal(fc.params["W2"], W2)


def test_fully_connected_net_same_seed_gives_same_params_and_another_seed_differs():
    a = FullyConnectedNet([8, 8], input_dim=5, num_classes=3, seed=11)
    np.random.randn(100)  # whatever happens in between, the seed decides
    b = FullyConnectedNet([8, 8], input_dim=5, num_classes=3, seed=11)
    c = FullyConnectedNet([8, 8], input_dim=5, num_classes=3, seed=12)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    assert not np.array_equal(a.params["W1"], c.params["W1"])


# ---------------------------------------------------------------------------------------------
# Save and load
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: TwoLayerNet.from_params(random_params([6, 5, 3]), reg=0.3, weight_scale=0.1),
        lambda: FullyConnectedNet.from_params(
            {k: v.astype(np.float32) for k, v in random_params([6, 5, 4, 3]).items()}, reg=0.2
        ),
        lambda: FullyConnectedNet.from_params(random_params([6, 3])),
    ],
)
def test_save_then_load_gives_the_same_model_and_leaves_the_rng_alone(tmp_path, make):
    model = make()
    path = tmp_path / "model.bin"
    model.save(path)
    assert path.is_file()  # written at exactly this path

    np.random.seed(5)
    loaded = type(model).load(path)
    assert np.random.randn() == np.random.RandomState(5).randn()
    assert sorted(loaded.params) == sorted(model.params)
    for k in model.params:
        assert loaded.params[k].dtype == model.params[k].dtype
        np.testing.assert_array_equal(loaded.params[k], model.params[k])
    assert (loaded.reg, loaded.weight_scale) == (model.reg, model.weight_scale)
    X = np.random.randn(2, 6)
    np.testing.assert_array_equal(loaded.loss(X), model.loss(X))


@pytest.mark.parametrize(
    "content",
    [
        pickle.dumps({"W1": np.zeros((2, 2))}),
        b"",
        b"PK\x03\x04 a truncated zip",
    ],
    ids=["pickle", "empty", "broken_zip"],
)
def test_load_rejects_pickled_or_broken_files_without_unpickling_them(tmp_path, content):
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a TwoLayerNet file.*pickled data is never loaded"):
        TwoLayerNet.load(path)


@pytest.mark.parametrize(
    "content, message",
    [
        ({"W1": np.zeros((6, 5))}, "no 'meta' entry"),
        ({"meta": np.array('{"format": "other"}'), "W1": np.zeros((6, 5))}, "header"),
        ({"meta": np.array([{"x": 1}], dtype=object)}, "allow_pickle"),
    ],
)
def test_load_rejects_foreign_npz_files(tmp_path, content, message):
    path = tmp_path / "foreign.npz"
    np.savez(path, **content)
    with pytest.raises(ValueError, match=f"not a TwoLayerNet file.*{message}"):
        TwoLayerNet.load(path)


def test_load_rejects_a_single_array_file(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(ValueError, match="single array"):
        FullyConnectedNet.load(path)


def test_load_names_the_class_that_saved_the_file(tmp_path):
    path = tmp_path / "two.npz"
    TwoLayerNet.from_params(random_params([4, 3, 2])).save(path)
    with pytest.raises(ValueError, match="holds a TwoLayerNet; use TwoLayerNet.load"):
        FullyConnectedNet.load(path)


def test_load_rejects_parameters_that_do_not_chain_as_layers(tmp_path):
    path = tmp_path / "two.npz"
    model = TwoLayerNet.from_params(random_params([4, 3, 2]))
    model.params["W2"] = np.zeros((3, 5))  # b2 still has 2 entries
    model.save(path)
    with pytest.raises(ValueError, match=r"not a TwoLayerNet file.*b2 has shape \(2,\), expected \(5,\)"):
        TwoLayerNet.load(path)


def test_from_params_reads_the_layer_sizes_from_the_shapes():
    fc = FullyConnectedNet.from_params(random_params([7, 5, 4, 3]), reg=0.5)
    assert (fc.input_dim, fc.hidden_dims, fc.num_classes, fc.num_layers) == (7, [5, 4], 3, 3)
    assert fc.reg == 0.5 and fc.dtype == np.float64
    two = TwoLayerNet.from_params(random_params([7, 5, 3]))
    assert (two.input_dim, two.hidden_dim, two.num_classes) == (7, 5, 3)


@pytest.mark.parametrize(
    "params, message",
    [
        (
            {"W1": np.zeros((4, 3)), "b1": np.zeros(3), "W2": np.zeros((2, 2)), "b2": np.zeros(2)},
            r"W2 has shape \(2, 2\), expected a matrix with 3 rows",
        ),
        ({"W1": np.zeros((4, 3)), "b1": np.zeros(3), "b2": np.zeros(2)}, "must hold W1..WL and b1..bL"),
        ({"W1": np.zeros(4), "b1": np.zeros(3)}, r"W1 has shape \(4,\)"),
    ],
)
def test_from_params_rejects_parameters_that_do_not_chain(params, message):
    with pytest.raises(ValueError, match=message):
        FullyConnectedNet.from_params(params)


def test_two_layer_net_from_params_rejects_three_layers():
    with pytest.raises(ValueError, match="a TwoLayerNet has the params W1, b1, W2, b2"):
        TwoLayerNet.from_params(random_params([4, 3, 3, 2]))


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: TwoLayerNet(hidden_dim=0), "hidden_dim must be a positive integer, got 0"),
        (lambda: TwoLayerNet(input_dim=2.5), "input_dim must be a positive integer, got 2.5"),
        (lambda: TwoLayerNet(reg=-1.0), "reg must be a finite number >= 0, got -1.0"),
        (lambda: FullyConnectedNet([10, -3]), r"hidden_dims\[1\] must be a positive integer, got -3"),
        (lambda: FullyConnectedNet(10), "hidden_dims must be a list of layer sizes, got 10"),
        (lambda: FullyConnectedNet([10], dtype=np.int32), "dtype must be a floating-point type"),
        (lambda: FullyConnectedNet([10], weight_scale=float("nan")), "weight_scale must be a finite number"),
    ],
)
def test_constructors_reject_bad_hyperparameters(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("kind", ["two_layer", "fc"])
def test_loss_rejects_inputs_of_the_wrong_size(kind):
    model = make_model(kind, [6, 4, 3], reg=0.0)
    with pytest.raises(ValueError, match=r"X must have shape .*input_dim = 6, got shape \(2, 5\)"):
        model.loss(np.zeros((2, 5)))


@pytest.mark.parametrize("cls", [TwoLayerNet, FullyConnectedNet])
def test_loading_a_model_file_that_does_not_exist_names_it(tmp_path, cls):
    with pytest.raises(FileNotFoundError, match=f"nowhere.npz: no such {cls.__name__} file"):
        cls.load(tmp_path / "nowhere.npz")


@pytest.mark.parametrize(
    "make", [lambda: TwoLayerNet(input_dim=6, hidden_dim=4, num_classes=3), lambda: FullyConnectedNet([4], 6, 3)]
)
@pytest.mark.parametrize("y", [None, np.zeros(0, dtype=int)])
def test_an_empty_batch_into_a_nets_loss_is_refused_naming_X(make, y):
    with pytest.raises(ValueError, match=r"X holds no examples \(shape \(0, 6\)\)"):
        make().loss(np.zeros((0, 6)), y)
