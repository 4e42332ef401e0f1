"""datasets/get_datasets.sh, and get_CIFAR10_data on all of the real data.

The script's plain local copy, checksum checks, bad paths, damaged copies and download; CS231n's split
of the real CIFAR-10 batches and the peak memory of loading CIFAR-10 in float32. The public tests
(tests/test_data_utils.py) hold the CIFAR-format writers used here and read the real first batch only;
test_data_utils_checks.py holds RunsCode.
"""

import hashlib
import inspect
import os
import pickle
import shutil
import subprocess
import tarfile
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from test_data_utils import (
    read_raw,
    tiny_cifar,
    write_batch,
    write_cifar_folder,
)
from test_data_utils_checks import RunsCode

from cs231n.data_utils import get_CIFAR10_data, load_CIFAR10

BATCH_FILES = ["batches.meta"] + [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]

__all__ = ["tiny_cifar"]  # the fixture imported above, which the tests take by name

REPO_ROOT = Path(__file__).resolve().parents[2]

needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


@pytest.fixture
def kit(tmp_path):
    """A scratch kit holding only datasets/get_datasets.sh, so runs never touch the real datasets/."""
    (tmp_path / "kit" / "datasets").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "datasets" / "get_datasets.sh", tmp_path / "kit" / "datasets")
    return tmp_path / "kit"


def run_script(kit, *args, cwd, env=None):
    return subprocess.run(
        ["bash", str(kit / "datasets" / "get_datasets.sh"), *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def leftovers(kit):
    return [p.name for p in (kit / "datasets").iterdir() if p.name.startswith(".")]


@needs_bash
def test_get_datasets_copies_a_local_folder_from_any_cwd_and_a_second_run_is_a_no_op(kit, tiny_cifar, tmp_path):
    src = tiny_cifar[0]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    first = run_script(kit, os.path.relpath(src, elsewhere), cwd=elsewhere)
    assert first.returncode == 0, first.stderr
    dest = kit / "datasets" / "cifar-10-batches-py"
    for name in BATCH_FILES:
        assert (dest / name).read_bytes() == (src / name).read_bytes()
    second = run_script(kit, cwd=elsewhere)
    assert second.returncode == 0 and "already" in second.stdout
    assert leftovers(kit) == []
    assert load_CIFAR10(dest)[0].shape == (30, 32, 32, 3)


@pytest.mark.cifar
def test_get_CIFAR10_data_reads_the_real_batches_into_cs231ns_split(cifar10_dir):
    # CS231n's split: 49,000 training images, the 1,000 after them for validation, 1,000 test images.
    defaults = inspect.signature(get_CIFAR10_data).parameters
    assert [defaults[k].default for k in ("num_training", "num_validation", "num_test")] == [49000, 1000, 1000]
    # The same validation and test images with only 500 training images, to keep memory small.
    data = get_CIFAR10_data(num_training=500, cifar10_dir=cifar10_dir)
    assert {k: (v.shape, v.dtype) for k, v in data.items()} == {
        "X_train": ((500, 3, 32, 32), np.float64),
        "y_train": ((500,), np.int64),
        "X_val": ((1000, 3, 32, 32), np.float64),
        "y_val": ((1000,), np.int64),
        "X_test": ((1000, 3, 32, 32), np.float64),
        "y_test": ((1000,), np.int64),
    }
    train, train_labels = read_raw(cifar10_dir / "data_batch_1", keep=slice(0, 500))
    val, val_labels = read_raw(cifar10_dir / "data_batch_5", keep=slice(9000, 10000))  # images 49000..49999
    test, test_labels = read_raw(cifar10_dir / "test_batch", keep=slice(0, 1000))
    # Published in the data's SOURCE.md: the first image's first pixel is (59, 62, 63), the first
    # labels are 6 9 9 4 1 1 2 7 8 3.
    mean = train.mean(axis=0)
    np.testing.assert_allclose(data["X_train"][0, :, 0, 0] + mean[[0, 1024, 2048]], [59, 62, 63], atol=1e-9)
    assert data["y_train"][:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert 100 < mean.mean() < 140  # CIFAR-10's mean pixel is about 121
    for X, raw in ((data["X_train"], train), (data["X_val"], val), (data["X_test"], test)):
        assert np.abs(X.reshape(len(X), -1) + mean - raw).max() < 1e-9
    assert data["y_train"].tolist() == train_labels.tolist()
    assert data["y_val"].tolist() == val_labels.tolist()
    assert data["y_test"].tolist() == test_labels.tolist()


def test_get_CIFAR10_data_float32_peak_memory_stays_near_the_result_size(tmp_path):
    # Batches of 400 images: the result is 20 times a batch, as the real 49,000 images are 20 times
    # a batch of 10,000 in float32 (the real data would need 600 MB).
    root, train, *_ = write_cifar_folder(tmp_path / "cifar", per_batch=400, num_test=400, seed=3)
    tracemalloc.start()
    try:
        data = get_CIFAR10_data(num_training=1600, num_validation=400, num_test=400, cifar10_dir=root, dtype=np.float32)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    returned = sum(v.nbytes for v in data.values())
    assert data["X_train"].dtype == np.float32
    mean = train[:1600].mean(axis=0, dtype=np.float32)
    assert np.abs(data["X_train"].reshape(1600, -1) + mean - train[:1600]).max() < 1e-3
    assert peak <= 1.5 * returned, f"peak {peak / 2**20:.0f} MiB for {returned / 2**20:.0f} MiB returned"


@needs_bash
@pytest.mark.parametrize("corrupt", [False, True])
def test_get_datasets_checks_the_sha256_file_beside_the_folder(kit, tiny_cifar, corrupt):
    src = tiny_cifar[0]
    lines = [f"{hashlib.sha256((src / n).read_bytes()).hexdigest()}  {n}" for n in BATCH_FILES]
    if corrupt:
        lines[2] = "0" * 64 + "  data_batch_2"
    Path(f"{src}.sha256").write_text("\n".join(lines) + "\n")
    result = run_script(kit, str(src), cwd=kit)
    dest = kit / "datasets" / "cifar-10-batches-py"
    if corrupt:
        assert result.returncode != 0 and "does not match its checksums" in result.stderr
        assert not dest.exists()
    else:
        assert result.returncode == 0, result.stderr
        assert "Checking" in result.stdout and (dest / "test_batch").is_file()
    assert leftovers(kit) == []


@needs_bash
@pytest.mark.parametrize(
    "make_path, message",
    [
        (lambda src: src.parent / "no-such-folder", "is not a directory"),
        (lambda src: (src / "data_batch_3").unlink() or src, "missing or unreadable: data_batch_3"),
    ],
    ids=["missing-folder", "incomplete-folder"],
)
def test_get_datasets_fails_clearly_on_a_bad_path(kit, tiny_cifar, make_path, message):
    result = run_script(kit, str(make_path(tiny_cifar[0])), cwd=kit)
    assert result.returncode != 0
    assert message in result.stderr
    assert not (kit / "datasets" / "cifar-10-batches-py").exists()
    assert leftovers(kit) == []


def truncate(path):
    path.write_bytes(path.read_bytes()[:-100])


def relabel(path):
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    batch[b"labels"][0] = 10
    write_batch(path, batch[b"data"], batch[b"labels"])


def resave_with_protocol_5(path):
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    path.write_bytes(pickle.dumps(batch, protocol=5))


@needs_bash
@pytest.mark.parametrize(
    "damage, message",
    [
        (truncate, "data_batch_1 is damaged (truncated)"),
        (relabel, "data_batch_1 is damaged (expected a list of 6 labels in 0..9)"),
        (
            lambda p: p.write_bytes(pickle.dumps({b"data": RunsCode(os.system, "true"), b"labels": []}, 2)),
            "which no CIFAR-10 batch holds",
        ),
    ],
    ids=["truncated", "label-10", "tampered"],
)
def test_get_datasets_refuses_a_damaged_local_copy_without_a_checksum(kit, tiny_cifar, damage, message):
    src = tiny_cifar[0]
    damage(src / "data_batch_1")
    result = run_script(kit, str(src), cwd=kit)
    assert result.returncode != 0
    assert message in result.stderr and "nothing was installed" in result.stderr
    assert "ready" not in result.stdout
    assert not (kit / "datasets" / "cifar-10-batches-py").exists()
    assert leftovers(kit) == []


@needs_bash
def test_get_datasets_replaces_a_damaged_installed_copy_and_reports_the_counts(kit, tiny_cifar):
    src = tiny_cifar[0]
    resave_with_protocol_5(src / "test_batch")  # a genuine batch in another protocol is fine
    assert run_script(kit, str(src), cwd=kit).returncode == 0
    dest = kit / "datasets" / "cifar-10-batches-py"
    truncate(dest / "data_batch_4")
    again = run_script(kit, str(src), cwd=kit)
    assert again.returncode == 0, again.stderr
    assert "Replacing the damaged copy" in again.stdout and "data_batch_4 is damaged (truncated)" in again.stdout
    assert "ready" in again.stdout and "(30 training and 4 test images)" in again.stdout
    assert (dest / "data_batch_4").read_bytes() == (src / "data_batch_4").read_bytes()
    assert load_CIFAR10(dest)[0].shape == (30, 32, 32, 3)


@needs_bash
@pytest.mark.skipif(shutil.which("curl") is None and shutil.which("wget") is None, reason="needs curl or wget")
def test_get_datasets_downloads_checks_the_md5_and_unpacks(kit, tiny_cifar, tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tiny_cifar[0], arcname="cifar-10-batches-py")
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    url = archive.as_uri()

    wrong = run_script(kit, cwd=tmp_path, env={"CIFAR10_URL": url})  # the official md5 cannot match
    assert wrong.returncode != 0 and "corrupt" in wrong.stderr and "c58f30108f718f92721af3b95e74349a" in wrong.stderr
    offline = run_script(kit, cwd=tmp_path, env={"CIFAR10_URL": (tmp_path / "absent.tar.gz").as_uri()})
    assert offline.returncode != 0 and "could not download" in offline.stderr
    assert not (kit / "datasets" / "cifar-10-batches-py").exists()

    good = run_script(kit, cwd=tmp_path, env={"CIFAR10_URL": url, "CIFAR10_MD5": md5})
    assert good.returncode == 0, good.stderr
    assert (kit / "datasets" / "cifar-10-batches-py" / "data_batch_5").read_bytes() == (
        tiny_cifar[0] / "data_batch_5"
    ).read_bytes()
    assert sorted(p.name for p in (kit / "datasets").iterdir()) == ["cifar-10-batches-py", "get_datasets.sh"]
