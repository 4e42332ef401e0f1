"""Tests for the main job, cs231n/train.py (python -m cs231n.train)."""

import contextlib
import io
import json
import runpy
import sys
import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure

from cs231n.classifiers.fc_net import TwoLayerNet
from cs231n.data_utils import get_spiral_data
from cs231n.train import main


def two_layer_predict(params, X):
    """argmax of relu(X W1 + b1) W2 + b2, written out here as an independent reference."""
    hidden = np.maximum(0, X.reshape(len(X), -1) @ params["W1"] + params["b1"])
    return np.argmax(hidden @ params["W2"] + params["b2"], axis=1)


@pytest.fixture(scope="module")
def spiral_run(tmp_path_factory):
    """Run the job on a machine without CIFAR-10, once, in a temporary folder.

    Without the linear baseline (``--no-baseline``), the job's one option here: its own plot and training
    would double this test's time. The job draws its figures (the decision boundary through your net's
    scores) but does not render them: a PNG takes matplotlib half a second, and the staff's tests render
    them all, running the job without any argument.

    Returns (output folder, results, exit status, printed text).
    """
    folder = tmp_path_factory.mktemp("job")
    out = folder / "output"
    out.mkdir()
    # Left by an earlier run on CIFAR-10 (the spiral job does not write it), and a file of the user's.
    (out / "first_layer_weights.png").write_bytes(b"stale")
    (out / "notes").mkdir()
    printed, errors = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(printed), contextlib.redirect_stderr(errors):
        mp.setenv("CIFAR10_DIR", str(folder / "no-cifar-here"))
        mp.chdir(folder)
        mp.setattr(Figure, "savefig", lambda fig, f, **kwargs: f.write(b"not rendered"))
        status = main(["--no-baseline"])
    assert status == 0, errors.getvalue()  # in the kit: which function is still to implement
    return out, json.loads((out / "results.json").read_text()), status, printed.getvalue()


def test_spiral_job_writes_its_plots_model_and_results(spiral_run):
    out, results, status, _ = spiral_run
    assert status == 0
    assert results["dataset"] == "spiral"
    assert [name for name in results["files"] if name.endswith(".png")] == ["curves.png", "decision_boundary.png"]
    assert sorted(p.name for p in out.iterdir() if p.name != "notes") == sorted(results["files"])
    assert (out / "notes").is_dir()


def test_spiral_job_two_layer_net_classifies_nearly_every_point(spiral_run):
    _, results, _, _ = spiral_run
    # Three interleaved arms: no straight line gets most points, a two-layer net gets nearly all.
    two_layer = results["two_layer"]["accuracy"]
    assert two_layer["val"] > 0.9 and two_layer["test"] > 0.9
    assert "linear" not in results


def test_spiral_job_saves_the_trained_net_with_the_reported_accuracy(spiral_run):
    out, results, _, _ = spiral_run
    net = TwoLayerNet.load(out / "two_layer_net.npz")
    assert net.params["W1"].shape == (2, results["settings"]["hidden_size"])
    data = get_spiral_data(seed=results["seed"])
    for split in ("train", "val", "test"):
        accuracy = np.mean(two_layer_predict(net.params, data[f"X_{split}"]) == data[f"y_{split}"])
        assert accuracy == pytest.approx(results["two_layer"]["accuracy"][split])


def test_job_falls_back_to_the_spiral_and_says_how_to_get_cifar10(spiral_run):
    _, results, _, printed = spiral_run
    assert results["dataset"] == "spiral"
    assert "spiral" in printed and "bash datasets/get_datasets.sh" in printed
    # Progress is printed by default, after the BLAS threads the Solver chose.
    assert "(Epoch 20 / 20)" in printed and "BLAS threads: " in printed


def test_job_that_reaches_a_stub_exits_2_listing_what_to_implement_without_a_traceback(tmp_path, monkeypatch, capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError(
            "TwoLayerNet.__init__ in cs231n/classifiers/fc_net.py is not implemented yet: fill in"
        )

    monkeypatch.setattr(TwoLayerNet, "__init__", stub)
    assert main(["--dataset", "spiral", "--output-dir", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the main job needs code that is not written yet (TwoLayerNet.__init__ in ")
    assert "Still to implement:" in err and "python -m pytest" in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())


def test_job_on_cifar10_without_the_data_exits_2_naming_the_command(tmp_path, capsys):
    status = main(["--dataset", "cifar10", "--cifar10-dir", str(tmp_path), "--output-dir", str(tmp_path / "o")])
    assert status == 2
    assert "bash datasets/get_datasets.sh" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "option",
    [
        ["--epochs", "0"],
        ["--hidden-size", "-3"],
        ["--dataset", "mnist"],
        ["--lr-schedule", "cosine", "--lr-decay", "0.9"],
        ["--threads", "0"],
        ["--threads", "most"],
    ],
)
def test_job_rejects_bad_options(option, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--dataset", "spiral", "--output-dir", str(tmp_path), *option])
    assert exit_info.value.code == 2
    assert option[0] in capsys.readouterr().err


def test_job_runs_as_a_module(monkeypatch, capsys):
    # What `python -m cs231n.train --help` runs, in this process (a new interpreter costs more than the rest).
    monkeypatch.setattr(sys, "argv", ["cs231n.train", "--help"])
    with warnings.catch_warnings(), pytest.raises(SystemExit) as exit_info:
        warnings.simplefilter("ignore", RuntimeWarning)  # runpy: this test file imported cs231n.train already
        runpy.run_module("cs231n.train", run_name="__main__", alter_sys=True)
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    assert "--dataset {auto,spiral,cifar10}" in printed and "--output-dir" in printed
