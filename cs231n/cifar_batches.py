"""Reading one CIFAR-10 batch file safely: raw pixels and labels, or an error that names the file.

A batch is a pickle. It is read with a restricted unpickler that can only rebuild the numpy arrays,
lists, strings and numbers a batch holds, so a tampered file raises ``UnsafePickleError`` instead of
running code, and a damaged one (truncated, say) raises ``CIFARFormatError``. ``cs231n/data_utils.py``
builds CS231n's loaders on ``read_batch``.
"""

import codecs
import os
import pickle

import numpy as np

try:  # numpy 2.x
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct

GET_DATASETS_COMMAND = "bash datasets/get_datasets.sh"
IMAGE_SIZE = 3 * 32 * 32
NUM_CLASSES = 10


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


def read_batch(filename):
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
