"""Tests for cs231n/file_utils.py: atomic writes (failure, permissions, stale temporaries) and folder checks.

The last test kills a child process at several moments of a model save: the model left behind is whole.
"""

import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from cs231n.classifiers.fc_net import TwoLayerNet
from cs231n.file_utils import atomic_write, check_writable_folder, remove_stale_temporaries

REPO_ROOT = Path(__file__).resolve().parents[2]


def temporaries(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it afterwards."""
    previous = os.umask(0o022)
    yield os.umask
    os.umask(previous)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_write_gives_the_file_the_permissions_of_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    with atomic_write(tmp_path / "a.json", "w") as f:
        f.write("{}")
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == mode
    assert (tmp_path / "a.json").read_text() == "{}"


def test_a_failure_in_the_middle_of_a_write_leaves_the_previous_file_whole(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"the previous model")
    with pytest.raises(RuntimeError, match="disk pulled"):
        with atomic_write(target) as f:
            f.write(b"half of the new")
            raise RuntimeError("disk pulled")
    assert target.read_bytes() == b"the previous model"
    assert temporaries(tmp_path) == []


def test_a_failed_model_save_leaves_the_previous_model_whole(tmp_path, monkeypatch):
    np.random.seed(0)
    TwoLayerNet(input_dim=4, hidden_dim=3, num_classes=2).save(tmp_path / "net.npz")
    before = (tmp_path / "net.npz").read_bytes()

    def savez_then_fail(file, **arrays):
        file.write(b"PK half an archive")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", savez_then_fail)
    with pytest.raises(OSError, match="No space left on device.*net.npz") as err:
        TwoLayerNet(input_dim=4, hidden_dim=3, num_classes=2).save(tmp_path / "net.npz")
    assert ".tmp" not in str(err.value)
    assert (tmp_path / "net.npz").read_bytes() == before
    assert temporaries(tmp_path) == []


def test_stale_temporaries_of_the_same_target_are_removed_and_others_kept(tmp_path):
    stale = [tmp_path / ".out.json.3f9a.tmp", tmp_path / ".out.json.deadbeef0123.tmp"]
    for p in stale:
        p.write_text("half")
    other = tmp_path / ".other.json.3f9a.tmp"
    other.write_text("half")
    (tmp_path / "notes.tmp").write_text("mine")
    with atomic_write(tmp_path / "out.json", "w") as f:
        f.write("[]")
    assert temporaries(tmp_path) == [".other.json.3f9a.tmp", "notes.tmp"]


def test_a_write_in_progress_keeps_its_temporary_file(tmp_path):
    with atomic_write(tmp_path / "out.json", "w") as f:
        f.write("[1]")
        remove_stale_temporaries(tmp_path / "out.json")  # another writer's clean-up, while this one writes
        assert len(temporaries(tmp_path)) == 1
    assert (tmp_path / "out.json").read_text() == "[1]"


def test_errors_name_the_target_never_the_temporary_file(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        with atomic_write(tmp_path / "missing" / "out.json", "w") as f:
            f.write("x")
    assert str(tmp_path / "missing" / "out.json") in str(err.value) and ".tmp" not in str(err.value)
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError, match="folder"):
        with atomic_write(tmp_path / "folder") as f:
            f.write(b"x")


def test_check_writable_folder_names_a_file_in_the_way(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(NotADirectoryError, match=r"--output-dir out: .*f is a file, not a folder"):
        check_writable_folder(tmp_path / "f", "--output-dir out")
    with pytest.raises(NotADirectoryError, match=r"--output-dir out: .*f is a file, not a folder"):
        check_writable_folder(tmp_path / "f" / "sub", "--output-dir out")
    check_writable_folder(tmp_path / "new" / "deeper", "--output-dir out")  # would be created: fine
    assert not (tmp_path / "new").exists()


def test_check_writable_folder_names_a_folder_that_refuses_writes(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.TemporaryFile", refuse)
    with pytest.raises(PermissionError, match=r"^checkpoint_name 'x': cannot write in .* \(Permission denied\)$"):
        check_writable_folder(tmp_path, "checkpoint_name 'x'")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write in any folder")
def test_check_writable_folder_refuses_a_read_only_folder(tmp_path):
    (tmp_path / "ro").mkdir(mode=0o555)
    with pytest.raises(PermissionError, match="cannot write in"):
        check_writable_folder(tmp_path / "ro", "--output-dir ro")


# A child that saves a big model over and over, each version filled with its number; it prints the number
# once the save has returned, so the parent knows which versions are complete.
SAVER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from cs231n.classifiers.fc_net import TwoLayerNet
    net = TwoLayerNet(input_dim=3072, hidden_dim=1000, num_classes=10)
    for version in range(1, 10**6):
        for k in net.params:
            net.params[k][...] = version
        net.save(sys.argv[1])
        print(version, flush=True)
    """
)


@pytest.mark.parametrize("delay", [0.0, 0.013, 0.037, 0.061, 0.089])
def test_killing_a_model_save_at_any_moment_leaves_a_whole_model_and_the_next_save_cleans_up(tmp_path, delay):
    target = tmp_path / "net.npz"
    child = subprocess.Popen(
        [sys.executable, "-c", SAVER, str(target)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline()  # one whole model exists from here on
        time.sleep(delay)
    finally:
        child.kill()
        child.wait()
    assert line, f"the child saved no model: {child.stderr.read()}"
    first = int(line)
    done = [first] + [int(line) for line in child.stdout.read().split()]
    net = TwoLayerNet.load(target)  # whole: loads, and every array holds one complete version
    version = net.params["W1"][0, 0]
    assert version >= done[-1] and version <= done[-1] + 1
    for k, v in net.params.items():
        assert np.all(v == version), k
    TwoLayerNet(input_dim=2, hidden_dim=2, num_classes=2).save(target)
    assert temporaries(tmp_path) == []
