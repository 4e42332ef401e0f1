"""Tests for cs231n/data_utils.py: CIFAR-10 read and split as CS231n does, and the spiral of the lecture notes.

The tests marked ``cifar`` read the real batches and are skipped when they are absent.
"""

import pickle

import numpy as np
import pytest

from cs231n.data_utils import (
    CIFAR10NotFoundError,
    get_CIFAR10_data,
    get_spiral_data,
    load_CIFAR10,
    load_CIFAR_batch,
    make_spiral,
)


def write_batch(path, data, labels):
    """Write a batch the way the CIFAR-10 archive does: a protocol-2 pickle with bytes keys."""
    batch = {b"batch_label": b"testing batch", b"labels": [int(v) for v in labels], b"data": data}
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=2)


def write_cifar_folder(root, per_batch, num_test, seed):
    """Write a CIFAR-format folder: 5 training batches of ``per_batch`` random images and a test batch.

    Returns the folder and the raw training and test pixels (uint8, (n, 3072)) and labels.
    """
    rng = np.random.default_rng(seed)
    root.mkdir()
    train = rng.integers(0, 256, size=(5 * per_batch, 3072), dtype=np.uint8)
    train_labels = rng.integers(0, 10, size=5 * per_batch)
    for i in range(5):
        part = slice(per_batch * i, per_batch * (i + 1))
        write_batch(root / f"data_batch_{i + 1}", train[part], train_labels[part])
    test = rng.integers(0, 256, size=(num_test, 3072), dtype=np.uint8)
    test_labels = rng.integers(0, 10, size=num_test)
    write_batch(root / "test_batch", test, test_labels)
    with open(root / "batches.meta", "wb") as f:
        meta = {b"label_names": [b"c%d" % i for i in range(10)], b"num_cases_per_batch": per_batch}
        pickle.dump(meta, f, protocol=2)
    return root, train, train_labels, test, test_labels


@pytest.fixture
def tiny_cifar(tmp_path):
    """A CIFAR-format folder with 5 training batches of 6 images and a test batch of 4 (see write_cifar_folder)."""
    return write_cifar_folder(tmp_path / "tiny-cifar", per_batch=6, num_test=4, seed=7)


def pixel(raw_row, r, c, ch):
    """The value of pixel (r, c) in channel ch of a raw CIFAR row: planes R, G, B of 32x32, row-major."""
    return raw_row[ch * 1024 + r * 32 + c]


def read_raw(path, keep=slice(None)):
    """Read a trusted batch with the plain unpickler, as a reference independent of the loader.

    Returns the rows ``keep`` of its pixels (uint8, (n, 3072)) and labels.
    """
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="latin1")
    return batch["data"][keep].copy(), np.array(batch["labels"])[keep]


# ---------------------------------------------------------------- load_CIFAR_batch


@pytest.mark.parametrize("n", [1, 7])
def test_load_CIFAR_batch_reads_any_number_of_images_channels_last(tmp_path, n):
    rng = np.random.default_rng(n)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n)
    write_batch(tmp_path / "b", data, labels)
    X, y = load_CIFAR_batch(tmp_path / "b")
    assert X.shape == (n, 32, 32, 3) and X.dtype == np.float64
    assert y.tolist() == labels.tolist()
    for i, r, c, ch in [(0, 0, 0, 0), (n - 1, 31, 31, 2), (n - 1, 5, 17, 1), (0, 30, 2, 2)]:
        assert X[i, r, c, ch] == pixel(data[i], r, c, ch)


# ---------------------------------------------------------------- load_CIFAR10


def test_load_CIFAR10_concatenates_the_batches_in_order(tiny_cifar):
    root, train, train_labels, test, test_labels = tiny_cifar
    Xtr, Ytr, Xte, Yte = load_CIFAR10(root)
    assert Xtr.shape == (30, 32, 32, 3) and Xte.shape == (4, 32, 32, 3)
    assert Ytr.tolist() == train_labels.tolist() and Yte.tolist() == test_labels.tolist()
    for i in [0, 5, 6, 29]:
        assert Xtr[i, 3, 4, 1] == pixel(train[i], 3, 4, 1)
    assert Xte[3, 31, 0, 2] == pixel(test[3], 31, 0, 2)


# ---------------------------------------------------------------- get_CIFAR10_data


def test_get_CIFAR10_data_splits_and_subtracts_the_training_mean(tiny_cifar):
    root, train, train_labels, test, test_labels = tiny_cifar
    data = get_CIFAR10_data(num_training=20, num_validation=5, num_test=3, cifar10_dir=root)
    shapes = {k: v.shape for k, v in data.items()}
    assert shapes == {
        "X_train": (20, 3, 32, 32),
        "y_train": (20,),
        "X_val": (5, 3, 32, 32),
        "y_val": (5,),
        "X_test": (3, 3, 32, 32),
        "y_test": (3,),
    }
    mean = train[:20].astype(np.float64).mean(axis=0)
    for split, raw, rows in [
        ("X_train", train, range(20)),
        ("X_val", train, range(25, 30)),
        ("X_test", test, range(3)),
    ]:
        for i, row in enumerate(rows):
            for r, c, ch in [(0, 0, 0), (31, 31, 2), (7, 20, 1)]:
                expected = pixel(raw[row], r, c, ch) - pixel(mean, r, c, ch)
                assert data[split][i, ch, r, c] == pytest.approx(expected)
    assert data["y_train"].tolist() == train_labels[:20].tolist()
    assert data["y_val"].tolist() == train_labels[25:].tolist()
    assert data["y_test"].tolist() == test_labels[:3].tolist()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_get_CIFAR10_data_returns_the_requested_dtype_and_raw_pixels_without_mean(tiny_cifar, dtype):
    root, train, *_ = tiny_cifar
    data = get_CIFAR10_data(
        num_training=10, num_validation=2, num_test=4, subtract_mean=False, cifar10_dir=root, dtype=dtype
    )
    assert all(data[k].dtype == dtype for k in ("X_train", "X_val", "X_test"))
    assert data["X_train"][9, 2, 31, 0] == pixel(train[9], 31, 0, 2)
    assert data["X_val"][1, 0, 1, 1] == pixel(train[29], 1, 1, 0)


def test_get_CIFAR10_data_reads_only_the_batches_its_splits_need(tiny_cifar):
    root, train, train_labels, *_ = tiny_cifar
    # Batches of 6: batches 2 to 4 hold neither the first 5 images nor the last 6, so they must go unread.
    for i in (2, 3, 4):
        (root / f"data_batch_{i}").write_bytes(b"not a batch")
    data = get_CIFAR10_data(num_training=5, num_validation=6, num_test=1, subtract_mean=False, cifar10_dir=root)
    assert data["y_train"].tolist() == train_labels[:5].tolist()
    assert data["y_val"].tolist() == train_labels[24:].tolist()
    assert data["X_val"][0, 1, 2, 3] == pixel(train[24], 2, 3, 1)


@pytest.mark.parametrize("num_training, num_validation", [(12, 18), (29, 1), (1, 29), (18, 7)])
def test_get_CIFAR10_data_splits_that_meet_in_a_batch_are_the_first_and_last_images(
    tiny_cifar, num_training, num_validation
):
    root, train, train_labels, *_ = tiny_cifar
    data = get_CIFAR10_data(
        num_training=num_training, num_validation=num_validation, num_test=1, subtract_mean=False, cifar10_dir=root
    )
    assert data["y_train"].tolist() == train_labels[:num_training].tolist()
    assert data["y_val"].tolist() == train_labels[30 - num_validation :].tolist()
    assert data["X_train"][-1, 2, 5, 6] == pixel(train[num_training - 1], 5, 6, 2)


def test_get_CIFAR10_data_reads_CIFAR10_DIR_when_no_folder_is_given(tiny_cifar, monkeypatch):
    monkeypatch.setenv("CIFAR10_DIR", str(tiny_cifar[0]))
    data = get_CIFAR10_data(num_training=3, num_validation=1, num_test=1, subtract_mean=False)
    assert data["X_train"][0, 0, 0, 0] == tiny_cifar[1][0, 0]


def test_get_CIFAR10_data_says_which_command_fetches_missing_data(tmp_path, monkeypatch):
    monkeypatch.delenv("CIFAR10_DIR", raising=False)
    with pytest.raises(FileNotFoundError) as err:
        get_CIFAR10_data(cifar10_dir=tmp_path / "nowhere")
    assert isinstance(err.value, CIFAR10NotFoundError)
    assert "bash datasets/get_datasets.sh" in str(err.value) and "nowhere" in str(err.value)


@pytest.mark.cifar
def test_get_CIFAR10_data_reads_the_real_first_images_with_their_published_values(cifar10_dir):
    # Only the first batch: the split of all 50,000 images is tested on small folders above.
    data = get_CIFAR10_data(num_training=500, num_validation=0, num_test=10, cifar10_dir=cifar10_dir)
    assert data["X_train"].shape == (500, 3, 32, 32) and data["X_train"].dtype == np.float64
    train, train_labels = read_raw(cifar10_dir / "data_batch_1", keep=slice(0, 500))
    # Published in the data's SOURCE.md: the first image's first pixel is (59, 62, 63), the first
    # labels are 6 9 9 4 1 1 2 7 8 3.
    mean = train.mean(axis=0)
    np.testing.assert_allclose(data["X_train"][0, :, 0, 0] + mean[[0, 1024, 2048]], [59, 62, 63], atol=1e-9)
    assert data["y_train"][:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert 100 < mean.mean() < 140  # CIFAR-10's mean pixel is about 121
    assert np.abs(data["X_train"].reshape(500, -1) + mean - train).max() < 1e-9
    assert data["y_train"].tolist() == train_labels.tolist()


# ---------------------------------------------------------------- spiral


def test_make_spiral_matches_the_notes_formula():
    N, K = 5, 3
    X, y = make_spiral(num_points=N, num_classes=K, noise=0.0, seed=0)
    assert X.shape == (N * K, 2) and y.shape == (N * K,)
    for j in range(K):
        for i in range(N):
            r = i / (N - 1)
            t = 4 * j + 4 * r
            assert X[j * N + i] == pytest.approx([r * np.sin(t), r * np.cos(t)])
            assert y[j * N + i] == j


def test_make_spiral_is_deterministic_from_its_seed_and_leaves_the_global_rng_alone():
    state = np.random.get_state()[1].copy()
    X1, y1 = make_spiral(50, 4, seed=3)
    X2, y2 = make_spiral(50, 4, seed=3)
    X3, _ = make_spiral(50, 4, seed=4)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert not np.allclose(X1, X3)
    assert np.array_equal(np.random.get_state()[1], state)
    # The noise moves angles only: radii stay exactly on the linspace.
    np.testing.assert_allclose(np.hypot(X1[:, 0], X1[:, 1]), np.tile(np.linspace(0, 1, 50), 4), atol=1e-12)


def test_get_spiral_data_splits_all_points_once():
    data = get_spiral_data(num_points=50, num_classes=3, val_fraction=0.2, test_fraction=0.1, seed=1)
    sizes = {k: len(v) for k, v in data.items()}
    assert sizes == {"X_train": 105, "y_train": 105, "X_val": 30, "y_val": 30, "X_test": 15, "y_test": 15}
    X, y = make_spiral(50, 3, seed=1)
    joined = np.concatenate([data["X_train"], data["X_val"], data["X_test"]])
    labels = np.concatenate([data["y_train"], data["y_val"], data["y_test"]])
    # The centre (0, 0) belongs to every class, so labels join the sort key.
    order = np.lexsort((joined[:, 0], joined[:, 1], labels))
    reference = np.lexsort((X[:, 0], X[:, 1], y))
    assert np.array_equal(joined[order], X[reference]) and np.array_equal(labels[order], y[reference])
