"""What cs231n/data_utils.py refuses, and every kind of batch file it must still read.

Batches of any size and pickle protocol; pickles that would run code, text in another codec, truncated,
damaged and unreadable files, each named with its fix; bad arguments of get_CIFAR10_data and
get_spiral_data. The CIFAR-format writers are those of tests/test_data_utils.py.
"""

import os
import pickle
import subprocess

import numpy as np
import pytest
from test_data_utils import pixel, tiny_cifar

from cs231n.data_utils import (
    CIFARFormatError,
    UnsafePickleError,
    get_CIFAR10_data,
    get_spiral_data,
    load_CIFAR10,
    load_CIFAR_batch,
)

__all__ = ["tiny_cifar"]  # the fixture imported above, which the tests take by name


class RunsCode:
    """Unpickling this would call ``func(*args)``: what a tampered batch file would try."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.mark.parametrize(
    "make_payload",
    [
        lambda marker: RunsCode(os.system, f"touch {marker}"),
        lambda marker: RunsCode(eval, f"open({str(marker)!r}, 'w').close()"),
        lambda marker: RunsCode(subprocess.call, ["touch", str(marker)]),
    ],
    ids=["os.system", "eval", "subprocess.call"],
)
def test_load_CIFAR_batch_refuses_a_pickle_that_runs_code(tmp_path, make_payload):
    marker = tmp_path / "code-ran"
    batch = {b"data": np.zeros((1, 3072), np.uint8), b"labels": [0], b"batch_label": make_payload(marker)}
    with open(tmp_path / "data_batch_1", "wb") as f:
        pickle.dump(batch, f, protocol=2)
    with pytest.raises(UnsafePickleError, match="refusing to load .* tampered"):
        load_CIFAR_batch(tmp_path / "data_batch_1")
    assert not marker.exists()


@pytest.mark.parametrize("codec", ["rot13", "no-such-codec"])
def test_load_CIFAR_batch_refuses_codecs_encode_with_another_codec(tmp_path, codec):
    # Protocol 2 rebuilds bytes with _codecs.encode(text, "latin1"); any other use is not a batch.
    with open(tmp_path / "b", "wb") as f:
        pickle.dump(RunsCode(__import__("_codecs").encode, "payload", codec), f, protocol=2)
    with pytest.raises(UnsafePickleError, match=codec):
        load_CIFAR_batch(tmp_path / "b")


@pytest.mark.parametrize(
    "batch, message",
    [
        ([1, 2, 3], "expected a dict"),
        ({b"data": np.zeros((2, 3072), np.uint8)}, "keys 'data' and 'labels'"),
        ({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}, "uint8 array"),
        ({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, r"shape \(n, 3072\)"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "expected 2 labels"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, r"in \[0, 9\]"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, "1"]}, "list of ints"),
    ],
)
def test_load_CIFAR_batch_rejects_files_that_are_not_batches(tmp_path, batch, message):
    with open(tmp_path / "b", "wb") as f:
        pickle.dump(batch, f, protocol=2)
    with pytest.raises(CIFARFormatError, match=message):
        load_CIFAR_batch(tmp_path / "b")


@pytest.mark.parametrize("keep", [0, 1, 50, 0.5, -1], ids=["empty", "1-byte", "header", "half", "all-but-1"])
@pytest.mark.parametrize("loader", ["load_CIFAR_batch", "load_CIFAR10", "get_CIFAR10_data"])
def test_a_truncated_batch_is_named_with_the_fix(tiny_cifar, keep, loader):
    root = tiny_cifar[0]
    whole = (root / "data_batch_1").read_bytes()
    cut = int(len(whole) * keep) if isinstance(keep, float) else keep % len(whole)
    (root / "data_batch_1").write_bytes(whole[:cut])
    call = {
        "load_CIFAR_batch": lambda: load_CIFAR_batch(root / "data_batch_1"),
        "load_CIFAR10": lambda: load_CIFAR10(root),
        "get_CIFAR10_data": lambda: get_CIFAR10_data(num_training=5, num_validation=1, num_test=1, cifar10_dir=root),
    }[loader]
    with pytest.raises(CIFARFormatError) as err:
        call()
    expected = "empty" if cut == 0 else "truncated"
    assert f"{root / 'data_batch_1'} is damaged ({expected}): re-run bash datasets/get_datasets.sh" in str(err.value)


@pytest.mark.parametrize(
    "content, reason",
    [(b"not a pickle at all", "not a pickled batch"), (pickle.dumps([1, 2], protocol=5), "expected a dict")],
    ids=["garbage", "a-list"],
)
def test_a_batch_that_is_not_a_batch_is_named_with_the_fix(tmp_path, content, reason):
    (tmp_path / "test_batch").write_bytes(content)
    with pytest.raises(
        CIFARFormatError, match=f"test_batch is damaged \\({reason}.*re-run bash datasets/get_datasets.sh"
    ):
        load_CIFAR_batch(tmp_path / "test_batch")


def test_a_batch_that_cannot_be_opened_is_named_with_the_fix(tmp_path):
    (tmp_path / "data_batch_1").mkdir()
    with pytest.raises(OSError, match="data_batch_1 cannot be read .*datasets/get_datasets.sh"):
        load_CIFAR_batch(tmp_path / "data_batch_1")


@pytest.mark.parametrize("protocol", [3, 4, 5])
def test_load_CIFAR_batch_reads_a_genuine_batch_saved_with_any_pickle_protocol(tmp_path, protocol):
    rng = np.random.default_rng(protocol)
    data = rng.integers(0, 256, size=(3, 3072), dtype=np.uint8)
    batch = {b"batch_label": b"re-saved", b"labels": [4, 0, 9], b"data": data}
    with open(tmp_path / "b", "wb") as f:
        pickle.dump(batch, f, protocol=protocol)
    X, y = load_CIFAR_batch(tmp_path / "b")
    assert y.tolist() == [4, 0, 9]
    for i, r, c, ch in [(0, 0, 0, 0), (2, 31, 31, 2), (1, 5, 17, 1)]:
        assert X[i, r, c, ch] == pixel(data[i], r, c, ch)


@pytest.mark.parametrize("protocol", [4, 5])
def test_load_CIFAR_batch_refuses_a_pickle_that_runs_code_with_any_protocol(tmp_path, protocol):
    marker = tmp_path / "code-ran"
    batch = {b"data": np.zeros((1, 3072), np.uint8), b"labels": [0], b"x": RunsCode(os.system, f"touch {marker}")}
    with open(tmp_path / "data_batch_1", "wb") as f:
        pickle.dump(batch, f, protocol=protocol)
    with pytest.raises(UnsafePickleError, match="data_batch_1: refusing to load .* tampered"):
        load_CIFAR_batch(tmp_path / "data_batch_1")
    assert not marker.exists()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_training=0), "num_training must be an integer >= 1, got 0"),
        (dict(num_training=2.5), "num_training must be an integer >= 1, got 2.5"),
        (dict(num_validation=-1), "num_validation must be an integer >= 0, got -1"),
        (dict(num_test=True), "num_test must be an integer >= 0, got True"),
        (dict(num_training=26, num_validation=5), r"at most the 30 training images, got 26 \+ 5"),
        (dict(num_training=5, num_test=5), "num_test must be at most the 4 test images"),
        (dict(num_training=5, dtype=np.int32), "dtype must be a float dtype"),
    ],
)
def test_get_CIFAR10_data_rejects_bad_counts(tiny_cifar, kwargs, message):
    kwargs = {"num_validation": 1, "num_test": 1, **kwargs}
    with pytest.raises(ValueError, match=message):
        get_CIFAR10_data(cifar10_dir=tiny_cifar[0], **kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_points=1), "num_points must be an integer >= 2"),
        (dict(num_classes=1), "num_classes must be an integer >= 2"),
        (dict(val_fraction=1.0), r"val_fraction must be in \[0, 1\)"),
        (dict(val_fraction=0.5, test_fraction=0.5), "val_fraction \\+ test_fraction must be < 1"),
        (dict(noise=-0.1), "noise must be >= 0"),
    ],
)
def test_get_spiral_data_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        get_spiral_data(**kwargs)
