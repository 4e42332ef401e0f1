"""CIFAR-10 loading and preprocessing, and the built-in spiral dataset.

The CIFAR-10 loaders follow the CS231n assignments (``load_CIFAR_batch``, ``load_CIFAR10``,
``get_CIFAR10_data``). Batch files are read by ``cs231n/cifar_batches.py`` with a restricted unpickler
that can only rebuild the numpy arrays, lists, strings and numbers a batch holds, so a tampered file
cannot run code.

The spiral (``make_spiral``, ``get_spiral_data``) is the toy dataset of the CS231n notes: no
download, and a linear classifier cannot separate it while a two-layer net can.
"""

import os
from pathlib import Path

import numpy as np

from cs231n.cifar_batches import GET_DATASETS_COMMAND, IMAGE_SIZE, CIFARFormatError, UnsafePickleError, read_batch

KIT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CIFAR10_DIR = KIT_ROOT / "datasets" / "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"

# What the kit, the notebooks and the tests import from here (the batch errors come from cifar_batches).
__all__ = [
    "CIFAR10NotFoundError",
    "CIFARFormatError",
    "UnsafePickleError",
    "GET_DATASETS_COMMAND",
    "check_count",
    "default_cifar10_dir",
    "load_CIFAR_batch",
    "load_CIFAR10",
    "get_CIFAR10_data",
    "make_spiral",
    "get_spiral_data",
]


class CIFAR10NotFoundError(FileNotFoundError):
    """The CIFAR-10 batches are not where they were looked for."""


def load_CIFAR_batch(filename):
    """Load one CIFAR-10 batch file.

    Parameters
    ----------
    filename : str or os.PathLike
        Path of a batch file such as ``data_batch_1`` or ``test_batch`` (any number of images).

    Returns
    -------
    X : ndarray of float64, shape (N, 32, 32, 3)
        The images, channels last, pixel values in [0, 255].
    y : ndarray of int64, shape (N,)
        The labels, in [0, 9].

    Raises
    ------
    UnsafePickleError
        The file asks for anything beyond numpy arrays, lists, strings and numbers.
    CIFARFormatError
        The file does not hold a CIFAR-10 batch.
    """
    data, y = read_batch(filename)
    X = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float64)
    return X, y


def _check_dir(root):
    """Return ``root`` as a Path when it holds the CIFAR-10 batches, else raise CIFAR10NotFoundError."""
    root = Path(root)
    missing = [n for n in TRAIN_BATCHES + (TEST_BATCH,) if not (root / n).is_file()]
    if missing:
        raise CIFAR10NotFoundError(
            f"CIFAR-10 not found in {root} (missing {', '.join(missing)}). Download it with "
            f"`{GET_DATASETS_COMMAND}` from the kit's folder ({KIT_ROOT}), or copy an existing copy with "
            f"`{GET_DATASETS_COMMAND} /path/to/cifar-10-batches-py`, or point CIFAR10_DIR at one."
        )
    return root


def default_cifar10_dir():
    """Where the kit looks for CIFAR-10: ``$CIFAR10_DIR`` when set, else ``datasets/cifar-10-batches-py``.

    Returns
    -------
    path : pathlib.Path
    """
    return Path(os.environ.get("CIFAR10_DIR") or DEFAULT_CIFAR10_DIR)


def load_CIFAR10(ROOT):
    """Load all of CIFAR-10 from a ``cifar-10-batches-py`` folder.

    Parameters
    ----------
    ROOT : str or os.PathLike
        Folder holding ``data_batch_1`` .. ``data_batch_5`` and ``test_batch``.

    Returns
    -------
    Xtr : ndarray of float64, shape (N_train, 32, 32, 3)
    Ytr : ndarray of int64, shape (N_train,)
    Xte : ndarray of float64, shape (N_test, 32, 32, 3)
    Yte : ndarray of int64, shape (N_test,)

    Raises
    ------
    CIFAR10NotFoundError
        A batch file is missing from ``ROOT``; the message says which command fetches them.
    UnsafePickleError, CIFARFormatError
        As in ``load_CIFAR_batch``.
    """
    root = _check_dir(ROOT)
    # Keep the uint8 batches (1/8 of the float result) and fill one preallocated array from them.
    raw = [read_batch(root / name) for name in TRAIN_BATCHES]
    n = sum(len(labels) for _, labels in raw)
    Xtr = np.empty((n, 32, 32, 3))
    start = 0
    for data, _ in raw:
        Xtr[start : start + len(data)] = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        start += len(data)
    Ytr = np.concatenate([labels for _, labels in raw])
    del raw
    Xte, Yte = load_CIFAR_batch(root / TEST_BATCH)
    return Xtr, Ytr, Xte, Yte


def check_count(value, name, minimum=0):
    """Return ``value`` as an int >= minimum, else raise a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _read_last_images(root, count):
    """The last ``count`` images of the training batches, reading batches from the back until they are covered.

    Returns
    -------
    data : ndarray of uint8, shape (count, 3072)
        One image a row, in the order of the batches.
    labels : ndarray of int64, shape (count,)
    sizes : dict
        The number of images of every batch read, by its index in TRAIN_BATCHES.

    Fewer rows come back when the batches hold fewer than ``count`` images.
    """
    parts, have, sizes = [], 0, {}
    for j in reversed(range(len(TRAIN_BATCHES))):
        if have >= count:
            break
        data, labels = read_batch(root / TRAIN_BATCHES[j])
        sizes[j] = len(labels)
        need = min(count - have, len(labels))
        # Copies of the needed images only (uint8, small), so the batch can be freed.
        parts.insert(0, (data[len(labels) - need :].copy(), labels[len(labels) - need :].copy()))
        have += need
        del data, labels
    if not parts:
        return np.empty((0, IMAGE_SIZE), dtype=np.uint8), np.empty(0, dtype=np.int64), sizes
    return np.concatenate([d for d, _ in parts]), np.concatenate([labels for _, labels in parts]), sizes


def _read_first_images(root, count, dtype):
    """The first ``count`` images of the training batches, reading batches from the front until they are covered.

    Returns
    -------
    X : ndarray of ``dtype``, shape (count, 3, 32, 32)
        The images, channels first (only the rows the batches fill when they hold fewer images).
    y : ndarray of int64, shape (count,)
    pixel_sum : ndarray of int64, shape (3072,)
        The exact sum of the images' uint8 pixels, for the mean image.
    sizes : dict
        The number of images of every batch read, by its index in TRAIN_BATCHES.
    """
    X = np.empty((count, 3, 32, 32), dtype=dtype)
    y = np.empty(count, dtype=np.int64)
    pixel_sum = np.zeros(IMAGE_SIZE, dtype=np.int64)
    filled, sizes = 0, {}
    for i, name in enumerate(TRAIN_BATCHES):
        if filled >= count:
            break
        data, labels = read_batch(root / name)
        sizes[i] = len(labels)
        k = min(count - filled, len(data))
        X[filled : filled + k] = data[:k].reshape(-1, 3, 32, 32)
        y[filled : filled + k] = labels[:k]
        pixel_sum += data[:k].sum(axis=0, dtype=np.int64)
        filled += k
        del data, labels  # before the next batch is read: memory stays close to the result's
    return X, y, pixel_sum, sizes


def get_CIFAR10_data(
    num_training=49000, num_validation=1000, num_test=1000, subtract_mean=True, cifar10_dir=None, dtype=np.float64
):
    """Load CIFAR-10 split into train, validation and test sets, ready for a classifier.

    Training images are the first ``num_training`` images of the training batches, validation
    images the last ``num_validation`` (images 49000..49999 with the defaults, as in CS231n, and
    never overlapping the training images), test images the first ``num_test`` of ``test_batch``.
    The arrays are filled batch by batch, so peak memory stays close to the size of the result, and
    a batch that neither split needs is not read.

    Parameters
    ----------
    num_training : int
        Number of training images, at least 1.
    num_validation : int
        Number of validation images.
    num_test : int
        Number of test images.
    subtract_mean : bool
        Subtract the mean training image (shape (3, 32, 32)) from all three splits.
    cifar10_dir : str or os.PathLike, optional
        Folder of the batches; defaults to ``$CIFAR10_DIR`` or the kit's ``datasets/cifar-10-batches-py``.
    dtype : numpy float dtype
        ``np.float64`` (the default, as in CS231n) or ``np.float32`` (half the memory).

    Returns
    -------
    data : dict
        ``X_train`` (num_training, 3, 32, 32), ``y_train`` (num_training,), ``X_val``
        (num_validation, 3, 32, 32), ``y_val`` (num_validation,), ``X_test`` (num_test, 3, 32, 32),
        ``y_test`` (num_test,); images channels first in ``dtype``, labels int64.

    Raises
    ------
    CIFAR10NotFoundError
        The batches are missing; the message says which command fetches them.
    ValueError
        A count is not an integer or is negative (``num_training`` 0), the requested training and
        validation images would overlap, ``num_test`` exceeds the test images, or ``dtype`` is not
        a float type.
    """
    num_training = check_count(num_training, "num_training", minimum=1)
    num_validation = check_count(num_validation, "num_validation")
    num_test = check_count(num_test, "num_test")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a float dtype such as np.float32, got {dtype}")
    root = _check_dir(default_cifar10_dir() if cifar10_dir is None else cifar10_dir)

    # Validation images are the last ones, training images the first: each read stops at the batches it
    # needs, so 5,000 training images read two batches of five.
    val_data, y_val, val_sizes = _read_last_images(root, num_validation)
    X_train, y_train, pixel_sum, train_sizes = _read_first_images(root, num_training, dtype)
    # When the two reads met, every batch was read and the splits may overlap; otherwise they cannot.
    read = {**val_sizes, **train_sizes}
    if len(read) == len(TRAIN_BATCHES) and num_training + num_validation > sum(read.values()):
        raise ValueError(
            f"num_training + num_validation must be at most the {sum(read.values())} training images, "
            f"got {num_training} + {num_validation}"
        )
    X_val = val_data.reshape(-1, 3, 32, 32).astype(dtype)
    del val_data

    data, labels = read_batch(root / TEST_BATCH)
    if num_test > len(data):
        raise ValueError(f"num_test must be at most the {len(data)} test images in {root / TEST_BATCH}, got {num_test}")
    X_test = data[:num_test].reshape(-1, 3, 32, 32).astype(dtype)
    y_test = labels[:num_test].copy()
    del data, labels

    if subtract_mean:
        mean_image = (pixel_sum / num_training).reshape(3, 32, 32).astype(dtype)
        X_train -= mean_image
        X_val -= mean_image
        X_test -= mean_image
    return {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val, "X_test": X_test, "y_test": y_test}


def make_spiral(num_points=100, num_classes=3, noise=0.2, seed=0, dtype=np.float64):
    """The spiral dataset of the CS231n notes: ``num_classes`` arms of ``num_points`` 2-D points.

    Point i of class j sits at radius ``r = i / (num_points - 1)`` and angle
    ``t = 4 j + 4 r + noise * n`` with n standard normal, at ``(r sin t, r cos t)``.

    Parameters
    ----------
    num_points : int
        Points per class (N), at least 2.
    num_classes : int
        Number of classes (K), at least 2.
    noise : float
        Standard deviation of the angular noise, in radians.
    seed : int or None
        Seed of the generator (``np.random.default_rng``); the global numpy RNG is never touched.
    dtype : numpy float dtype
        dtype of X.

    Returns
    -------
    X : ndarray, shape (N*K, 2)
        The points, class 0 first.
    y : ndarray of int64, shape (N*K,)
        The class of each point.
    """
    num_points = check_count(num_points, "num_points", minimum=2)
    num_classes = check_count(num_classes, "num_classes", minimum=2)
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    r = np.tile(np.linspace(0.0, 1.0, num_points), num_classes)
    y = np.repeat(np.arange(num_classes, dtype=np.int64), num_points)
    t = 4.0 * y + 4.0 * r + noise * rng.standard_normal(num_points * num_classes)
    X = np.stack([r * np.sin(t), r * np.cos(t)], axis=1).astype(dtype)
    return X, y


def get_spiral_data(
    num_points=200, num_classes=3, val_fraction=0.2, test_fraction=0.2, noise=0.2, seed=0, dtype=np.float64
):
    """The spiral split at random into train, validation and test sets, keyed like ``get_CIFAR10_data``.

    Parameters
    ----------
    num_points, num_classes, noise, seed, dtype
        As in ``make_spiral``; the same seed also draws the split.
    val_fraction, test_fraction : float
        Fractions of all N*K points that go to validation and test (each in [0, 1), sum < 1).

    Returns
    -------
    data : dict
        ``X_train`` (N_train, 2), ``y_train`` (N_train,), ``X_val`` (N_val, 2), ``y_val`` (N_val,),
        ``X_test`` (N_test, 2), ``y_test`` (N_test,) with N_val = round(val_fraction*N*K), N_test
        likewise and N_train the rest.
    """
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 <= value < 1:
            raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(f"val_fraction + test_fraction must be < 1, got {val_fraction} + {test_fraction}")
    X, y = make_spiral(num_points, num_classes, noise=noise, seed=seed, dtype=dtype)
    # A generator of its own for the split, derived from the same seed, so the points stay those of make_spiral.
    order = np.random.default_rng(None if seed is None else [seed, 1]).permutation(len(y))
    n_val, n_test = round(val_fraction * len(y)), round(test_fraction * len(y))
    val, test, train = np.split(order, [n_val, n_val + n_test])
    return {
        "X_train": X[train],
        "y_train": y[train],
        "X_val": X[val],
        "y_val": y[val],
        "X_test": X[test],
        "y_test": y[test],
    }
