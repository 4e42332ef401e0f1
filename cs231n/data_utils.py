"""CIFAR-10 loading and preprocessing, and the built-in spiral dataset.

The CIFAR-10 loaders follow the CS231n assignments (``load_CIFAR_batch``, ``load_CIFAR10``,
``get_CIFAR10_data``). Batch files are read with a restricted unpickler that can only rebuild the
numpy arrays, lists, strings and numbers a batch holds, so a tampered file cannot run code.

The spiral (``make_spiral``, ``get_spiral_data``) is the toy dataset of the CS231n notes: no
download, and a linear classifier cannot separate it while a two-layer net can.
"""

import codecs
import os
import pickle
from pathlib import Path

import numpy as np

try:  # numpy 2.x
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct

KIT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CIFAR10_DIR = KIT_ROOT / "datasets" / "cifar-10-batches-py"
GET_DATASETS_COMMAND = "bash datasets/get_datasets.sh"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
IMAGE_SIZE = 3 * 32 * 32
NUM_CLASSES = 10


class CIFAR10NotFoundError(FileNotFoundError):
    """The CIFAR-10 batches are not where they were looked for."""


class UnsafePickleError(pickle.UnpicklingError):
    """A batch file asked the unpickler for something a CIFAR-10 batch never holds."""


class CIFARFormatError(ValueError):
    """A batch file is damaged (truncated, say) or does not hold CIFAR-10 images and labels."""


def _latin1_encode(text, encoding="utf-8"):
    """``_codecs.encode`` restricted to latin-1, the only use protocol 2 makes of it (bytes)."""
    try:
        latin1 = codecs.lookup(encoding).name == "iso8859-1"
    except (LookupError, TypeError):
        latin1 = False
    if not isinstance(text, str) or not latin1:
        raise UnsafePickleError(
            f"refusing _codecs.encode({type(text).__name__}, {encoding!r}) in a CIFAR batch: the file is not a "
            f"genuine batch; get a fresh copy with `{GET_DATASETS_COMMAND}`"
        )
    return text.encode("latin-1")


def _frombuffer(buf, dtype, shape, order):
    """numpy's constructor of arrays pickled with protocol 5, rebuilt here from ``np.frombuffer``."""
    return np.frombuffer(buf, dtype=dtype).reshape(shape, order=order)


class _CIFARUnpickler(pickle.Unpickler):
    """Unpickler that only rebuilds numpy arrays (plus lists, dicts, strings and numbers)."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy.core.numeric", "_frombuffer"): _frombuffer,
        ("numpy._core.numeric", "_frombuffer"): _frombuffer,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1_encode,
    }

    def find_class(self, module, name):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to load {module}.{name} from a CIFAR-10 batch: the file is not a genuine "
                f"batch (it may have been tampered with); get a fresh copy with `{GET_DATASETS_COMMAND}`"
            ) from None


def _read_batch(filename):
    """Read one CIFAR-10 batch file as raw pixels and labels.

    Parameters
    ----------
    filename : str or os.PathLike
        A batch in the format of the CIFAR-10 python archive.

    Returns
    -------
    data : ndarray of uint8, shape (n, 3072)
        Each row is one image: 1024 red, then 1024 green, then 1024 blue values (32x32 row-major).
    labels : ndarray of int64, shape (n,)
        Class indices in [0, 9].
    """
    batch = _unpickle(filename)
    if not isinstance(batch, dict):
        raise _damaged(filename, f"expected a dict, found {type(batch).__name__}")
    batch = {k.decode("latin-1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise _damaged(filename, f"expected keys 'data' and 'labels', found {sorted(map(str, batch))}")
    data, labels = batch["data"], batch["labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != IMAGE_SIZE:
        seen = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise _damaged(filename, f"'data' must be a uint8 array of shape (n, {IMAGE_SIZE}), found {seen}")
    if not isinstance(labels, list) or not all(type(v) is int for v in labels):
        raise _damaged(filename, "'labels' must be a list of ints")
    labels = np.array(labels, dtype=np.int64)
    if labels.shape != (data.shape[0],) or (labels.size and not 0 <= labels.min() <= labels.max() < NUM_CLASSES):
        raise _damaged(
            filename,
            f"expected {data.shape[0]} labels in [0, {NUM_CLASSES - 1}], found {labels.size} "
            f"in [{labels.min() if labels.size else '-'}, {labels.max() if labels.size else '-'}]",
        )
    return data, labels


def _damaged(filename, reason):
    """The error for a batch file that is not a whole CIFAR-10 batch: names the file, the fault and the fix."""
    return CIFARFormatError(f"{filename} is damaged ({reason}): re-run {GET_DATASETS_COMMAND}")


def _unpickle(filename):
    """Unpickle one batch file with the restricted unpickler; every failure names the file."""
    try:
        f = open(filename, "rb")
    except OSError as e:
        raise type(e)(
            f"{filename} cannot be read ({e.strerror or e}): check its permissions, or re-run {GET_DATASETS_COMMAND}"
        ) from None
    with f:
        try:
            # encoding="bytes" keeps the Python-2 strings of the original as bytes (numpy needs raw bytes)
            return _CIFARUnpickler(f, encoding="bytes").load()
        except UnsafePickleError as e:
            raise UnsafePickleError(f"{filename}: {e}") from None
        except EOFError:
            raise _damaged(filename, "empty" if os.fstat(f.fileno()).st_size == 0 else "truncated") from None
        except Exception as e:  # any other failure to parse the file means it is not a whole batch
            reason = "truncated" if "truncated" in str(e) else f"not a pickled batch: {type(e).__name__}: {e}"[:300]
            raise _damaged(filename, reason) from None


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
    data, y = _read_batch(filename)
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
    raw = [_read_batch(root / name) for name in TRAIN_BATCHES]
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

    # Validation images are the last ones: read batches from the back until they are covered.
    tail, tail_len, j, sizes = [], 0, len(TRAIN_BATCHES), {}
    while tail_len < num_validation and j > 0:
        j -= 1
        data, labels = _read_batch(root / TRAIN_BATCHES[j])
        sizes[j] = len(labels)
        need = min(num_validation - tail_len, len(labels))
        # Copies of the needed images only (uint8, small), so the batch can be freed.
        tail.insert(0, (data[len(labels) - need :].copy(), labels[len(labels) - need :].copy()))
        tail_len += need
        del data, labels

    # Training images are the first ones: read batches from the front until they are covered. A
    # batch that neither split needs is never read (5,000 training images read two batches of five).
    X_train = np.empty((num_training, 3, 32, 32), dtype=dtype)
    y_train = np.empty(num_training, dtype=np.int64)
    pixel_sum = np.zeros(IMAGE_SIZE, dtype=np.int64)  # exact sum of uint8 pixels for the mean
    filled = seen = i = 0
    while filled < num_training and i < len(TRAIN_BATCHES):
        data, labels = _read_batch(root / TRAIN_BATCHES[i])
        k = min(num_training - filled, len(data))
        X_train[filled : filled + k] = data[:k].reshape(-1, 3, 32, 32)
        y_train[filled : filled + k] = labels[:k]
        pixel_sum += data[:k].sum(axis=0, dtype=np.int64)
        filled, seen, i = filled + k, seen + len(data), i + 1
        del data, labels
    # When the two reads met, every batch was read and the splits may overlap; otherwise they cannot.
    if i > j or filled < num_training:
        total = seen + sum(n for k, n in sizes.items() if k >= i)
        if num_training + num_validation > total:
            raise ValueError(
                f"num_training + num_validation must be at most the {total} training images, "
                f"got {num_training} + {num_validation}"
            )
    X_val = np.empty((num_validation, 3, 32, 32), dtype=dtype)
    y_val = np.empty(num_validation, dtype=np.int64)
    if num_validation:
        X_val[:] = np.concatenate([d for d, _ in tail]).reshape(-1, 3, 32, 32)
        y_val[:] = np.concatenate([labels for _, labels in tail])
    del tail

    data, labels = _read_batch(root / TEST_BATCH)
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
