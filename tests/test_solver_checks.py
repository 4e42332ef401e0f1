"""Tests for cs231n/solver_checks.py: what the Solver refuses where it enters, and the NaN guard's diagnosis."""

import os
import stat

import numpy as np
import pytest

from cs231n.classifiers.fc_net import TwoLayerNet
from cs231n.solver import LossDivergedError, NonFiniteDataError, Solver

D, C = 6, 3


def tiny_data(n_train=40, n_val=20, seed=0):
    """Gaussian inputs (N, D) with labels from a random linear teacher, as numpy arrays."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n_train + n_val, D)
    y = np.argmax(X @ rng.randn(D, C), axis=1)
    return {"X_train": X[:n_train], "y_train": y[:n_train], "X_val": X[n_train:], "y_val": y[n_train:]}


def net(seed=0):
    np.random.seed(seed)
    return TwoLayerNet(input_dim=D, hidden_dim=5, num_classes=C, weight_scale=0.1)


def solver(data=None, model=None, **kwargs):
    kwargs = {"batch_size": 10, "num_epochs": 1, "verbose": False, **kwargs}
    return Solver(model or net(), tiny_data() if data is None else data, **kwargs)


# ---------------------------------------------------------------------------------------------
# Data and labels
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("split", ["y_train", "y_val"])
@pytest.mark.parametrize("label", [C, 7, -1])
def test_labels_outside_the_models_classes_are_refused_in_every_split(split, label):
    data = tiny_data()
    data[split] = data[split].copy()
    data[split][3] = label
    with pytest.raises(ValueError, match=rf"{split} holds labels outside \[0, {C}\).*\[{label}\]"):
        solver(data)


def test_labels_out_of_range_in_check_accuracy_are_refused_not_scored():
    s = solver()
    X, y = tiny_data()["X_val"], tiny_data()["y_val"].copy()
    y[0] = 10  # a test split with a label the model cannot predict would silently lower the accuracy
    with pytest.raises(ValueError, match=r"y holds labels outside \[0, 3\)"):
        s.check_accuracy(X, y)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"y_train": np.zeros(40)}, "y_train must hold integer class labels, got dtype float64"),
        ({"y_val": np.zeros((20, 1), dtype=int)}, r"X_val and y_val must have the same length.*\(20, 1\)"),
        ({"X_train": np.zeros((0, D)), "y_train": np.zeros(0, int)}, r"X_train holds no examples \(shape \(0, 6\)\)"),
        ({"X_val": np.zeros((0, D)), "y_val": np.zeros(0, int)}, "X_val holds no examples"),
        ({"X_train": np.array([["a"] * D] * 40)}, "X_train must hold numbers"),
    ],
    ids=["float-labels", "2d-labels", "empty-train", "empty-val", "strings"],
)
def test_bad_splits_are_refused_naming_them(change, message):
    with pytest.raises(ValueError, match=message):
        solver({**tiny_data(), **change})


def test_data_that_is_not_a_dict_is_a_type_error():
    with pytest.raises(TypeError, match="data must be a dict"):
        Solver(net(), [tiny_data()["X_train"], tiny_data()["y_train"]])


def test_python_lists_as_data_train_like_the_same_arrays():
    arrays = tiny_data()
    lists = {k: v.tolist() for k, v in arrays.items()}
    np.random.seed(1)
    a = solver(arrays, model=net())
    a.train()
    np.random.seed(1)
    b = solver(lists, model=net())
    b.train()
    assert b.loss_history == a.loss_history and b.val_acc_history == a.val_acc_history
    assert b.check_accuracy(lists["X_val"], lists["y_val"]) == a.check_accuracy(arrays["X_val"], arrays["y_val"])


@pytest.mark.parametrize("key", ["num_train_samples", "num_val_samples"])
@pytest.mark.parametrize("value", [0, -5, 2.5, True])
def test_sample_counts_must_be_none_or_positive(key, value):
    with pytest.raises(ValueError, match=f"{key} must be None .* or an integer >= 1, got {value!r}"):
        solver(**{key: value})


def test_check_accuracy_refuses_zero_samples():
    with pytest.raises(ValueError, match="num_samples must be None"):
        solver().check_accuracy(tiny_data()["X_val"], tiny_data()["y_val"], num_samples=0)


# ---------------------------------------------------------------------------------------------
# optim_config
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule, config, error, message",
    [
        ("sgd", {"learning_rte": 1e-3}, ValueError, "unknown config key 'learning_rte'.*did you mean 'learning_rate'"),
        ("adam", {"learning_rate": 1e-3, "beta_2": 0.99}, ValueError, "did you mean 'beta2'"),
        ("sgd_momentum", {"learning_rate": 0.0}, ValueError, r"config\['learning_rate'\] must be > 0, got 0.0"),
        ("rmsprop", {"learning_rate": -1e-3}, ValueError, "must be > 0"),
        ("adam", {"beta1": 1.0}, ValueError, r"config\['beta1'\] must be in \[0, 1\)"),
        (
            "sgd_momentum",
            {"velocity": np.zeros(3)},
            ValueError,
            "optim_config holds \\['velocity'\\], the running state",
        ),
        ("sgd", 1e-3, TypeError, "optim_config must be a dict"),
    ],
)
def test_optim_config_is_checked_against_the_update_rule_before_training(rule, config, error, message):
    with pytest.raises(error, match=message):
        solver(update_rule=rule, optim_config=config)


def test_a_custom_update_rule_takes_keys_of_its_own():
    def halving(w, dw, config):
        return w - config["step"] * dw, config

    solver(update_rule=halving, optim_config={"step": 0.5}).train()


# ---------------------------------------------------------------------------------------------
# Checkpoint folder and resume
# ---------------------------------------------------------------------------------------------


def test_a_checkpoint_folder_that_is_a_file_is_refused_at_construction(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(ValueError, match="checkpoint_name .* not an existing folder"):
        solver(checkpoint_name=str(tmp_path / "f" / "run"))


def test_a_checkpoint_folder_that_refuses_writes_is_found_at_construction(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.TemporaryFile", refuse)
    with pytest.raises(PermissionError, match=r"checkpoint_name '.*run': cannot write in .*Permission denied"):
        solver(checkpoint_name=str(tmp_path / "run"))


def test_a_checkpoint_write_that_fails_names_the_checkpoint_not_a_temporary_file(tmp_path):
    (tmp_path / "gone").mkdir()
    s = solver(checkpoint_name=str(tmp_path / "gone" / "run"), num_epochs=2)
    (tmp_path / "gone").rmdir()  # the folder vanishes after the Solver was built
    with pytest.raises(FileNotFoundError) as err:
        s.train()
    assert "run_epoch_0.npz" in str(err.value) and ".tmp" not in str(err.value)


def test_checkpoints_follow_the_umask_and_a_killed_writes_temporary_is_removed(tmp_path):
    stale = tmp_path / ".run_epoch_1.npz.0123456789ab.tmp"  # left by a run killed while writing
    stale.write_bytes(b"x" * 1000)
    previous = os.umask(0o027)
    try:
        solver(checkpoint_name=str(tmp_path / "run"), num_epochs=1).train()
    finally:
        os.umask(previous)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run_epoch_0.npz", "run_epoch_1.npz"]
    assert stat.S_IMODE((tmp_path / "run_epoch_1.npz").stat().st_mode) == 0o640


@pytest.fixture
def checkpoint(tmp_path):
    """A checkpoint of one epoch of adam with learning rate 1e-2 and a cosine schedule."""
    settings = {"update_rule": "adam", "optim_config": {"learning_rate": 1e-2, "beta1": 0.8}, "lr_schedule": "cosine"}
    solver(checkpoint_name=str(tmp_path / "ck"), num_epochs=1, **settings).train()
    return tmp_path / "ck_epoch_1.npz", settings


@pytest.mark.parametrize(
    "change, named",
    [
        ({"update_rule": "sgd_momentum", "optim_config": {"learning_rate": 1e-2}}, "update_rule='adam'"),
        ({"optim_config": {"learning_rate": 1e-3, "beta1": 0.8}}, "learning_rate=0.01"),
        ({"optim_config": {"learning_rate": 1e-2, "beta1": 0.9}}, "beta1=0.8"),
        ({"lr_schedule": "linear"}, "lr_schedule='cosine_lr'"),
        ({"lr_schedule": None, "lr_decay": 0.5}, "lr_decay=1.0"),
    ],
    ids=["update_rule", "learning_rate", "beta1", "lr_schedule", "lr_decay"],
)
def test_resume_refuses_other_settings_naming_the_one_that_differs(checkpoint, change, named):
    path, settings = checkpoint
    with pytest.raises(ValueError, match=f"written with {named}.*this Solver has") as err:
        solver(resume_from=path, **{**settings, **change})
    assert "resume with the settings of the run that wrote it" in str(err.value)


def test_resume_with_the_same_settings_and_more_epochs_goes_ahead(checkpoint):
    path, settings = checkpoint
    s = solver(resume_from=path, **{**settings, "num_epochs": 3})
    assert s.epoch == 1
    s.train()
    assert s.epoch == 3


def test_resuming_from_a_missing_checkpoint_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere_epoch_3.npz does not exist"):
        solver(resume_from=tmp_path / "nowhere_epoch_3.npz")


# ---------------------------------------------------------------------------------------------
# The NaN guard: bad data or divergence
# ---------------------------------------------------------------------------------------------


def test_a_nan_in_one_training_row_drawn_after_the_first_update_is_reported_as_bad_data():
    data = tiny_data()
    data["X_train"] = data["X_train"].copy()
    np.random.seed(3)
    # The rows the Solver draws, in order: find one first drawn after the first minibatch.
    draws = [np.random.choice(40, 10) for _ in range(4)]
    row = next(int(r) for r in draws[2] if r not in draws[0] and r not in draws[1])
    data["X_train"][row, 2] = np.nan
    s = solver(data, optim_config={"learning_rate": 1e-3}, num_epochs=1)
    np.random.seed(3)
    with pytest.raises(
        NonFiniteDataError, match=rf"iteration 3 .*minibatch holds NaN or inf: X_train rows \[{row}\]"
    ) as err:
        s.train()
    assert "learning rate is not the cause" in str(err.value) and "lower the learning rate" not in str(err.value)
    assert isinstance(err.value, ValueError) and len(s.loss_history) == 2


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_non_finite_loss_on_finite_data_is_divergence_and_says_to_lower_the_learning_rate():
    with pytest.raises(LossDivergedError, match="lower the learning rate"):
        solver(optim_config={"learning_rate": 1e8}, num_epochs=30, update_rule="sgd").train()
