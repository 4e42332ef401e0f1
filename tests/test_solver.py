"""Tests for cs231n/solver.py: training, learning-rate schedules, the NaN guard, checkpoints and resume."""

import functools
import json
import math
import pickle
import re

import numpy as np
import pytest

from cs231n import optim
from cs231n.classifiers.fc_net import TwoLayerNet
from cs231n.schedules import cosine_lr, inv_sqrt_lr, linear_lr, step_lr
from cs231n.solver import LossDivergedError, NonFiniteDataError, Solver

D, C = 8, 3


def tiny_data(n_train=60, n_val=30, seed=0):
    """Small random data: Gaussian inputs (N, D) and labels from a random linear teacher."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n_train + n_val, D)
    y = np.argmax(X @ rng.randn(D, C), axis=1)
    return {"X_train": X[:n_train], "y_train": y[:n_train], "X_val": X[n_train:], "y_val": y[n_train:]}


class SoftmaxClassifier:
    """A linear softmax classifier written out here, so that most Solver tests need no other module."""

    def __init__(self, seed=0):
        rng = np.random.RandomState(seed)
        self.params = {"W": 0.1 * rng.randn(D, C), "b": np.zeros(C)}

    def loss(self, X, y=None):
        scores = X @ self.params["W"] + self.params["b"]
        if y is None:
            return scores
        shifted = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        rows = np.arange(len(y))
        dscores = probs.copy()
        dscores[rows, y] -= 1
        dscores /= len(y)
        return -np.mean(np.log(probs[rows, y])), {"W": X.T @ dscores, "b": dscores.sum(axis=0)}


def two_layer_net(seed=0):
    np.random.seed(seed)
    return TwoLayerNet(input_dim=D, hidden_dim=10, num_classes=C, weight_scale=0.1)


def recording(rule, record):
    """Wrap an update rule so that every call appends the learning rate it was given."""

    def wrapped(w, dw, config=None):
        record.append(config["learning_rate"])
        return rule(w, dw, config)

    return wrapped


def lrs_per_update(record, num_params=2):
    """One learning rate per update: the rule is called once per parameter, all with the same rate."""
    per_update = [record[i : i + num_params] for i in range(0, len(record), num_params)]
    assert all(len(set(group)) == 1 for group in per_update)
    return [group[0] for group in per_update]


# ---------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------


def test_unknown_keyword_arguments_raise_naming_each_of_them():
    with pytest.raises(ValueError, match='Unrecognized arguments "learning_rate", "epochs"'):
        Solver(SoftmaxClassifier(), tiny_data(), learning_rate=1e-3, epochs=3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"update_rule": "sgdd"}, 'Invalid update_rule "sgdd"'),
        ({"update_rule": 3}, "update_rule must be a name in cs231n.optim or a function"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
        ({"num_epochs": 2.5}, "num_epochs must be an integer >= 0, got 2.5"),
        ({"lr_schedule": "exponential"}, "lr_schedule must be one of"),
        ({"lr_schedule": "cosine", "lr_decay": 0.9}, "either lr_decay or lr_schedule"),
        ({"lr_decay": 0.0}, "lr_decay must be > 0"),
    ],
)
def test_bad_settings_raise_value_errors_naming_the_setting(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Solver(SoftmaxClassifier(), tiny_data(), **kwargs)


def test_checkpoint_name_in_a_missing_folder_is_refused_before_training(tmp_path):
    with pytest.raises(ValueError, match="checkpoint_name .* not an existing folder"):
        Solver(SoftmaxClassifier(), tiny_data(), checkpoint_name=str(tmp_path / "missing" / "run"))


def test_missing_or_mismatched_data_raise_value_errors():
    data = tiny_data()
    with pytest.raises(ValueError, match="'y_val' is missing"):
        Solver(SoftmaxClassifier(), {k: v for k, v in data.items() if k != "y_val"})
    data["y_train"] = data["y_train"][:10]
    with pytest.raises(
        ValueError, match="X_train and y_train must have the same length, one label per example, got 60 and 10"
    ):
        Solver(SoftmaxClassifier(), data)


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


def test_training_overfits_fifty_examples_to_full_training_accuracy():
    rng = np.random.RandomState(1)
    X, y = rng.randn(50, 20), rng.randint(5, size=50)  # random labels: only memorization fits them
    # Validating on the training set makes the kept "best" parameters the ones that fit it best.
    data = {"X_train": X, "y_train": y, "X_val": X, "y_val": y}
    np.random.seed(0)
    model = TwoLayerNet(input_dim=20, hidden_dim=100, num_classes=5, weight_scale=0.1)
    solver = Solver(
        model,
        data,
        update_rule="adam",
        optim_config={"learning_rate": 1e-2},
        batch_size=25,
        num_epochs=40,
        verbose=False,
    )
    solver.train()
    predictions = np.argmax(model.loss(X), axis=1)
    assert np.mean(predictions == y) == 1.0
    assert solver.train_acc_history[-1] == 1.0
    assert solver.loss_history[-1] < 0.1 * solver.loss_history[0]


def test_histories_have_one_loss_per_update_and_accuracies_at_start_and_each_epoch():
    solver = Solver(SoftmaxClassifier(), tiny_data(), batch_size=20, num_epochs=3, verbose=False)
    solver.train()
    assert len(solver.loss_history) == 3 * (60 // 20)
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 3 + 1
    assert solver.epoch == 3 and solver.iteration == 9


def test_model_ends_with_the_parameters_of_the_best_validation_accuracy():
    data = tiny_data()
    solver = Solver(
        SoftmaxClassifier(), data, optim_config={"learning_rate": 0.5}, batch_size=10, num_epochs=5, verbose=False
    )
    solver.train()
    assert solver.best_val_acc == max(solver.val_acc_history)
    for k, v in solver.best_params.items():
        np.testing.assert_array_equal(solver.model.params[k], v)
    # Recount the validation accuracy of the final model by hand.
    scores = solver.model.loss(data["X_val"])
    correct = sum(int(np.argmax(s) == label) for s, label in zip(scores, data["y_val"]))
    assert correct / len(data["y_val"]) == solver.best_val_acc


def test_changing_the_trained_model_in_place_leaves_best_params_alone():
    solver = Solver(SoftmaxClassifier(), tiny_data(), batch_size=30, num_epochs=2, verbose=False)
    solver.train()
    best_W = solver.best_params["W"].copy()
    solver.model.params["W"] += 1.0  # e.g. an update rule that works in place, in a later run
    np.testing.assert_array_equal(solver.best_params["W"], best_W)


class ScoresAreInputs:
    """A model whose scores are its inputs, so its predictions are known in advance."""

    params = {}

    def loss(self, X, y=None):
        return X


@pytest.mark.parametrize("batch_size", [1, 3, 7, 100])
def test_check_accuracy_matches_a_count_by_hand_for_any_batch_size(batch_size):
    rng = np.random.RandomState(0)
    X, y = rng.randn(7, 4), rng.randint(4, size=7)
    solver = Solver(ScoresAreInputs(), {"X_train": X, "y_train": y, "X_val": X, "y_val": y}, verbose=False)
    expected = sum(int(np.argmax(X[i]) == y[i]) for i in range(7)) / 7
    assert solver.check_accuracy(X, y, batch_size=batch_size) == expected
    assert solver.check_accuracy(X, y, num_samples=50, batch_size=batch_size) == expected  # 50 > N: all


def test_check_accuracy_of_no_examples_raises():
    X, y = np.zeros((0, 4)), np.zeros(0, dtype=int)
    solver = Solver(ScoresAreInputs(), tiny_data())
    with pytest.raises(ValueError, match=r"X holds no examples \(shape \(0, 4\)\)"):
        solver.check_accuracy(X, y)


def test_check_accuracy_on_a_subsample_scores_the_examples_np_random_choice_draws():
    X = np.eye(4)[[0, 0, 0, 0, 0, 0]]  # every prediction is class 0
    y = np.array([0, 0, 0, 1, 1, 1])
    solver = Solver(ScoresAreInputs(), {"X_train": X, "y_train": y, "X_val": X, "y_val": y}, verbose=False)
    np.random.seed(3)
    acc = solver.check_accuracy(X, y, num_samples=4)
    # With seed 3, np.random.choice(6, 4) draws rows [2, 0, 1, 3]: three of them are class 0.
    np.random.seed(3)
    assert np.random.choice(6, 4).tolist() == [2, 0, 1, 3]
    assert acc == 0.75


# ---------------------------------------------------------------------------------------------
# Learning rates: lr_decay and the schedules
# ---------------------------------------------------------------------------------------------


def test_lr_decay_multiplies_the_learning_rate_once_per_epoch():
    record = []
    solver = Solver(
        SoftmaxClassifier(),
        tiny_data(),
        update_rule=recording(optim.sgd, record),
        optim_config={"learning_rate": 0.1},
        lr_decay=0.5,
        batch_size=20,
        num_epochs=3,
        verbose=False,
    )
    solver.train()
    assert lrs_per_update(record) == pytest.approx([0.1] * 3 + [0.05] * 3 + [0.025] * 3)


@pytest.mark.parametrize(
    "schedule, lr0, t, T, expected",
    [
        (cosine_lr, 2.0, 5, 10, 1.0),  # half way: cos(pi/2) = 0
        (cosine_lr, 1.0, 1, 4, 0.5 + math.sqrt(2) / 4),  # cos(pi/4) = sqrt(2)/2
        (cosine_lr, 1.0, 10, 10, 0.0),
        (linear_lr, 2.0, 3, 12, 1.5),
        (linear_lr, 1.0, 12, 12, 0.0),
        (inv_sqrt_lr, 0.3, 9, 100, 0.1),
        (inv_sqrt_lr, 0.3, 1, 100, 0.3),
        (step_lr, 1.0, 50, 100, 1.0),  # drops only after half the updates
        (step_lr, 1.0, 51, 100, 0.1),
        (step_lr, 1.0, 75, 100, 0.1),
        (step_lr, 1.0, 76, 100, 0.01),
        (functools.partial(step_lr, milestones=(0.3,), gamma=0.5), 1.0, 31, 100, 0.5),
    ],
)
def test_schedule_gives_the_learning_rate_worked_out_by_hand(schedule, lr0, t, T, expected):
    assert schedule(lr0, t, T) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("schedule", [step_lr, cosine_lr, linear_lr, inv_sqrt_lr])
@pytest.mark.parametrize("t", [0, 11])
def test_schedules_reject_update_numbers_outside_one_to_T(schedule, t):
    with pytest.raises(ValueError, match=f"between 1 and T=10, got t={t}"):
        schedule(1.0, t, 10)


@pytest.mark.parametrize(
    "name, formula",
    [
        ("cosine", lambda a, t, T: a / 2 * (1 + math.cos(math.pi * t / T))),
        ("linear", lambda a, t, T: a * (1 - t / T)),
        ("inv_sqrt", lambda a, t, T: a / math.sqrt(t)),
        ("step", lambda a, t, T: a * (1.0 if t <= T / 2 else 0.1 if t <= 3 * T / 4 else 0.01)),
    ],
)
def test_solver_uses_the_schedule_with_t_counting_updates_from_one_to_T(name, formula):
    record = []
    solver = Solver(
        SoftmaxClassifier(),
        tiny_data(),
        update_rule=recording(optim.sgd, record),
        optim_config={"learning_rate": 0.2},
        lr_schedule=name,
        batch_size=15,
        num_epochs=3,
        verbose=False,
    )
    solver.train()
    T = 3 * (60 // 15)
    assert lrs_per_update(record) == pytest.approx([formula(0.2, t, T) for t in range(1, T + 1)])


def test_schedule_without_a_base_learning_rate_raises():
    with pytest.raises(ValueError, match=r"lr_schedule needs the base learning rate.*'learning_rate'"):
        Solver(SoftmaxClassifier(), tiny_data(), update_rule="adam", lr_schedule="linear")


# ---------------------------------------------------------------------------------------------
# The NaN guard
# ---------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_huge_learning_rate_stops_training_with_a_clear_error_and_keeps_the_last_checkpoint(tmp_path):
    # A linear model cannot blow up (its gradient is bounded); two layers multiply their growth.
    solver = Solver(
        two_layer_net(),
        tiny_data(),
        optim_config={"learning_rate": 1e8},
        batch_size=10,
        num_epochs=20,
        checkpoint_name=str(tmp_path / "run"),
        verbose=False,
    )
    with pytest.raises(LossDivergedError) as info:
        solver.train()
    err = info.value
    assert not math.isfinite(err.loss)
    assert err.learning_rate == 1e8
    # The failing update is the one after the last recorded (finite) loss.
    assert err.iteration == len(solver.loss_history) + 1
    assert all(math.isfinite(v) for v in solver.loss_history)
    message = str(err)
    assert f"at iteration {err.iteration}" in message
    assert "learning_rate 1e+08" in message and "10x" in message and "1e+07" in message

    # Every checkpoint written before the crash is complete and named in the message.
    last = tmp_path / f"run_epoch_{solver.epoch}.npz"
    assert str(last) in message
    assert not list(tmp_path.glob("*.tmp"))
    resumed = Solver(
        two_layer_net(seed=5),
        tiny_data(),
        optim_config={"learning_rate": 1e8},
        batch_size=10,
        num_epochs=20,
        resume_from=last,
        verbose=False,
    )
    assert resumed.epoch == solver.epoch
    assert resumed.loss_history == solver.loss_history[: resumed.iteration]


class NaNAfter(SoftmaxClassifier):
    """A model whose training loss turns NaN from a chosen call on."""

    def __init__(self, nan_from):
        super().__init__()
        self.nan_from, self.calls = nan_from, 0

    def loss(self, X, y=None):
        out = super().loss(X, y)
        if y is not None:
            self.calls += 1
            if self.calls >= self.nan_from:
                return float("nan"), out[1]
        return out


def test_nan_guard_names_the_decayed_rate_in_use_and_suggests_a_lower_base_rate():
    # 3 updates per epoch; update 8 runs in epoch 3, after two decays: 0.1 * 0.5**2 = 0.025.
    solver = Solver(
        NaNAfter(nan_from=8),
        tiny_data(),
        optim_config={"learning_rate": 0.1},
        lr_decay=0.5,
        batch_size=20,
        num_epochs=5,
        verbose=False,
    )
    with pytest.raises(
        LossDivergedError,
        match=r"nan at iteration 8 \(epoch 3/5\) with learning_rate 0.025\. "
        r".*10x: optim_config\['learning_rate'\] = 0.01\.",
    ) as info:
        solver.train()
    assert (info.value.iteration, info.value.learning_rate) == (8, 0.025)
    assert len(solver.loss_history) == 7


def test_a_loss_that_is_nan_before_any_update_points_at_the_data():
    data = tiny_data()
    data["X_train"] = np.full_like(data["X_train"], np.nan)
    with pytest.raises(NonFiniteDataError, match="iteration 1 .*minibatch holds NaN or inf: X_train rows"):
        Solver(SoftmaxClassifier(), data, verbose=False).train()


# ---------------------------------------------------------------------------------------------
# Checkpoints and resume
# ---------------------------------------------------------------------------------------------


class Interrupted(Exception):
    pass


class InterruptedNet(SoftmaxClassifier):
    """A model whose training loss raises on a chosen call, like a run killed mid-epoch."""

    def __init__(self, crash_at, seed=0):
        super().__init__(seed)
        self.crash_at, self.calls = crash_at, 0

    def loss(self, X, y=None):
        if y is not None:
            self.calls += 1
            if self.calls == self.crash_at:
                raise Interrupted
        return super().loss(X, y)


@pytest.mark.parametrize(
    "update_rule, lr_decay, lr_schedule",
    [
        ("adam", 0.9, None),
        ("sgd_momentum", 1.0, "cosine"),
        ("rmsprop", 1.0, "inv_sqrt"),
    ],
)
def test_run_resumed_from_its_last_checkpoint_ends_like_an_uninterrupted_run(
    tmp_path, update_rule, lr_decay, lr_schedule
):
    settings = dict(
        update_rule=update_rule,
        optim_config={"learning_rate": 1e-2},
        lr_decay=lr_decay,
        lr_schedule=lr_schedule,
        batch_size=10,
        num_epochs=4,
        num_train_samples=20,
        num_val_samples=15,
        verbose=False,
    )
    data = tiny_data()

    np.random.seed(0)
    full = Solver(SoftmaxClassifier(), data, **settings)
    full.train()

    # The same run, killed in the middle of the third epoch (6 updates per epoch).
    np.random.seed(0)
    crashed = Solver(InterruptedNet(crash_at=15), data, checkpoint_name=str(tmp_path / "run"), **settings)
    with pytest.raises(Interrupted):
        crashed.train()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run_epoch_0.npz", "run_epoch_1.npz", "run_epoch_2.npz"]

    # A new process: other initial weights and another RNG state; the checkpoint restores both.
    np.random.seed(99)
    resumed = Solver(SoftmaxClassifier(seed=99), data, resume_from=tmp_path / "run_epoch_2.npz", **settings)
    assert (resumed.epoch, resumed.iteration) == (2, 12)
    resumed.train()

    assert resumed.loss_history == full.loss_history
    assert resumed.train_acc_history == full.train_acc_history
    assert resumed.val_acc_history == full.val_acc_history
    assert resumed.best_val_acc == full.best_val_acc
    for k in full.model.params:
        np.testing.assert_array_equal(resumed.model.params[k], full.model.params[k])
        for name, value in full.optim_configs[k].items():
            np.testing.assert_array_equal(resumed.optim_configs[k][name], value)


def test_checkpoint_holds_no_pickled_data_and_records_the_training_state(tmp_path):
    solver = Solver(
        SoftmaxClassifier(),
        tiny_data(),
        update_rule="adam",
        batch_size=20,
        num_epochs=2,
        checkpoint_name=str(tmp_path / "ck"),
        verbose=False,
    )
    solver.train()
    with np.load(tmp_path / "ck_epoch_2.npz", allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}  # any object array would raise here
    meta = json.loads(str(arrays["meta"]))
    assert (meta["epoch"], meta["iteration"]) == (2, 6)
    assert meta["optim_scalars"]["W"]["t"] == 6
    assert arrays["params/W"].shape == (D, C) and arrays["optim/b/m"].shape == (C,)
    np.testing.assert_array_equal(arrays["best_params/W"], solver.best_params["W"])
    np.testing.assert_array_equal(arrays["loss_history"], solver.loss_history)
    np.testing.assert_array_equal(arrays["val_acc_history"], solver.val_acc_history)
    assert len(arrays["rng_keys"]) == 624 and meta["rng"]["name"] == "MT19937"


def test_a_failed_checkpoint_write_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    name = str(tmp_path / "ck")
    Solver(SoftmaxClassifier(), tiny_data(), batch_size=20, num_epochs=1, checkpoint_name=name, verbose=False).train()
    before = (tmp_path / "ck_epoch_0.npz").read_bytes()

    def savez_then_disk_full(file, **arrays):
        file.write(b"half a checkpoint")
        raise OSError("No space left on device")

    monkeypatch.setattr(np, "savez", savez_then_disk_full)
    with pytest.raises(OSError, match="No space left"):
        Solver(
            SoftmaxClassifier(seed=1), tiny_data(), batch_size=20, num_epochs=1, checkpoint_name=name, verbose=False
        ).train()
    assert (tmp_path / "ck_epoch_0.npz").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck_epoch_0.npz", "ck_epoch_1.npz"]


def test_resume_rejects_pickles_and_checkpoints_of_another_model(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(pickle.dumps({"epoch": 3}))
    with pytest.raises(ValueError, match="is not a Solver checkpoint"):
        Solver(SoftmaxClassifier(), tiny_data(), resume_from=path)

    Solver(
        SoftmaxClassifier(),
        tiny_data(),
        batch_size=30,
        num_epochs=1,
        checkpoint_name=str(tmp_path / "ck"),
        verbose=False,
    ).train()
    other = SoftmaxClassifier()
    other.params["W"] = np.zeros((D + 1, C))
    with pytest.raises(ValueError, match="holds parameters .* but the model has"):
        Solver(other, tiny_data(), batch_size=30, resume_from=tmp_path / "ck_epoch_1.npz")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"batch_size": 20}, "written with batch_size=30, this Solver has batch_size=20: resume with the settings"),
        ({"data": tiny_data(n_train=50)}, "written with num_train=60, this Solver has num_train=50"),
    ],
)
def test_resume_refuses_another_batch_size_or_training_set_size(tmp_path, change, message):
    Solver(
        SoftmaxClassifier(),
        tiny_data(),
        batch_size=30,
        num_epochs=1,
        checkpoint_name=str(tmp_path / "ck"),
        verbose=False,
    ).train()
    settings = {"data": tiny_data(), "batch_size": 30, **change}
    with pytest.raises(ValueError, match=re.escape(message)):
        Solver(SoftmaxClassifier(), settings.pop("data"), resume_from=tmp_path / "ck_epoch_1.npz", **settings)


# ---------------------------------------------------------------------------------------------
# Progress
# ---------------------------------------------------------------------------------------------


def test_progress_shows_iterations_loss_lr_accuracies_elapsed_time_and_eta(capsys):
    Solver(
        SoftmaxClassifier(),
        tiny_data(),
        optim_config={"learning_rate": 0.01},
        batch_size=15,
        num_epochs=3,
        print_every=5,
    ).train()
    lines = capsys.readouterr().out.splitlines()
    iteration_lines = [line for line in lines if line.startswith("(Iteration")]
    epoch_lines = [line for line in lines if line.startswith("(Epoch")]
    # 12 updates printed every 5: updates 1, 6 and 11.
    assert [line.split(")")[0] for line in iteration_lines] == [
        "(Iteration 1 / 12",
        "(Iteration 6 / 12",
        "(Iteration 11 / 12",
    ]
    assert all("loss: " in line and "lr 0.01" in line and "elapsed" in line for line in iteration_lines)
    assert [line.split(")")[0] for line in epoch_lines] == [f"(Epoch {e} / 3" for e in range(4)]
    assert all("train acc" in line and "val_acc" in line for line in epoch_lines)
    # An ETA once more than one update has been timed.
    assert "ETA" not in iteration_lines[0] and "ETA" not in epoch_lines[0]
    assert all("elapsed, ETA " in line for line in iteration_lines[1:] + epoch_lines[1:])


def test_verbose_false_prints_nothing(capsys):
    Solver(SoftmaxClassifier(), tiny_data(), batch_size=30, num_epochs=2, verbose=False).train()
    assert capsys.readouterr().out == ""
