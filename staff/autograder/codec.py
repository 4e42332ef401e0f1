"""Plain data across the boundary between the grader and the student process, and the pipe framing.

:func:`encode` / :func:`decode` carry numbers, strings, None, booleans, numpy arrays, tuples, lists and
dicts with string keys as one ``.npz`` archive: the arrays, plus a JSON tree that names them. Nothing is
ever unpickled, and :func:`decode` reads a payload that student code may have forged without trusting
any size its headers claim: members must be stored (not compressed), and every array's header must
describe exactly the bytes that follow it.

This module uses only the standard library and numpy: the launcher imports it by file name.
"""

import io
import json
import os
import struct
import zipfile

import numpy as np
import numpy.lib.format as npy

# Largest payload accepted from a child or a request: the grading inputs are small.
MAX_PAYLOAD = 64 * 1024 * 1024
# Largest JSON tree accepted inside a payload.
MAX_TREE = 1024 * 1024
# Deepest nesting of tuples, lists and dicts.
MAX_DEPTH = 32
_HEADER = struct.Struct("<Q")


class CodecError(ValueError):
    """The data is not plain data (encode) or not a well-formed payload (decode)."""


def encode(obj):
    """Encode ``obj`` (nested tuples, lists, str-keyed dicts, arrays, numbers, str, None) as npz bytes.

    Parameters
    ----------
    obj : object
        Plain data; numpy arrays of any shape with a numeric, boolean or unicode dtype.

    Returns
    -------
    data : bytes
        An ``.npz`` archive holding the arrays ``v0, v1, ...`` and the JSON tree ``tree``.

    Raises
    ------
    CodecError
        When ``obj`` holds anything else (objects, object arrays, non-str dict keys).
    """
    arrays = {}

    def walk(o, depth):
        if depth > MAX_DEPTH:
            raise CodecError(f"value nested more than {MAX_DEPTH} levels deep")
        if o is None or isinstance(o, (bool, str)):
            return o
        if type(o) in (int, float):
            return {"$n": repr(o)} if isinstance(o, float) else o
        if isinstance(o, (np.ndarray, np.generic)):
            a = np.asarray(o)
            if a.dtype.kind not in "biufcU":
                raise CodecError(f"an array of dtype {a.dtype}")
            key = f"v{len(arrays)}"
            arrays[key] = a
            return {"$a": key}
        if isinstance(o, tuple):
            return {"$t": [walk(v, depth + 1) for v in o]}
        if isinstance(o, list):
            return [walk(v, depth + 1) for v in o]
        if isinstance(o, dict):
            if not all(isinstance(k, str) for k in o):
                raise CodecError("a dict whose keys are not all strings")
            return {"$d": {k: walk(v, depth + 1) for k, v in o.items()}}
        raise CodecError(f"a value of type {type(o).__name__}")

    tree = json.dumps(walk(obj, 0))
    buf = io.BytesIO()
    np.savez(buf, tree=np.array(tree), **arrays)
    return buf.getvalue()


def _read_npy(raw, name):
    """Read one ``.npy`` member whose header must describe exactly the bytes that follow it."""
    fp = io.BytesIO(raw)
    try:
        version = npy.read_magic(fp)
        read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        shape, _, dtype = read_header(fp)
    except Exception:  # any header error means the member is malformed
        raise CodecError(f"member {name} has no valid array header") from None
    if dtype.hasobject or dtype.kind not in "biufcU":
        raise CodecError(f"member {name} holds dtype {dtype}, which is not plain data")
    if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize != len(raw) - fp.tell():
        raise CodecError(f"member {name}'s header does not match its size")
    return npy.read_array(io.BytesIO(raw), allow_pickle=False)


def _read_npz(data):
    """Return ``{name: array}`` of an npz payload, reading no member beyond the payload's own size."""
    arrays = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            name = info.filename
            if info.compress_type != zipfile.ZIP_STORED or info.file_size > len(data) or not name.endswith(".npy"):
                raise CodecError(f"member {name} is compressed, too large or not an array")
            with zf.open(info) as f:
                raw = f.read(len(data) + 1)
            if len(raw) > len(data):
                raise CodecError(f"member {name} is larger than the payload")
            arrays[name[: -len(".npy")]] = _read_npy(raw, name)
    return arrays


def decode(data):
    """Decode bytes made by :func:`encode` without unpickling anything.

    Parameters
    ----------
    data : bytes
        An ``.npz`` archive from :func:`encode` (possibly forged: it is validated).

    Returns
    -------
    obj : object
        The plain data: tuples, lists, dicts, ndarrays, int, float, str, bool or None.

    Raises
    ------
    CodecError
        When ``data`` is not a well-formed payload.
    """
    if len(data) > MAX_PAYLOAD:
        raise CodecError(f"payload of {len(data)} bytes is larger than {MAX_PAYLOAD}")
    try:
        arrays = _read_npz(data)
    except CodecError:
        raise
    except Exception as exc:  # any archive error means the payload is malformed
        raise CodecError(f"malformed payload ({type(exc).__name__})") from None
    tree = arrays.pop("tree", None)
    if tree is None or tree.dtype.kind != "U" or tree.ndim != 0 or len(str(tree)) > MAX_TREE:
        raise CodecError("payload has no valid tree")
    try:
        tree = json.loads(str(tree))
    except ValueError:
        raise CodecError("payload tree is not JSON") from None

    def build(t, depth):
        if depth > MAX_DEPTH:
            raise CodecError("payload nested too deeply")
        if t is None or isinstance(t, (bool, int, str)):
            return t
        if isinstance(t, list):
            return [build(v, depth + 1) for v in t]
        if isinstance(t, dict) and len(t) == 1:
            ((tag, v),) = t.items()
            if tag == "$n" and isinstance(v, str):
                try:
                    return float(v)
                except ValueError:
                    raise CodecError("payload holds a malformed float") from None
            if tag == "$a" and isinstance(v, str) and v in arrays:
                return arrays[v]
            if tag == "$t" and isinstance(v, list):
                return tuple(build(x, depth + 1) for x in v)
            if tag == "$d" and isinstance(v, dict):
                return {k: build(x, depth + 1) for k, x in v.items()}
        raise CodecError("payload tree holds an unknown node")

    return build(tree, 0)


def write_frame(fd, data):
    """Write ``data`` (bytes) to file descriptor ``fd`` as a length-prefixed frame."""
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def read_exact(fd, n):
    """Read exactly ``n`` bytes from ``fd``; raise EOFError when the stream ends first."""
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("stream closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(fd):
    """Read one frame written by :func:`write_frame` from ``fd``; return its bytes."""
    (n,) = _HEADER.unpack(read_exact(fd, _HEADER.size))
    if n > MAX_PAYLOAD + MAX_TREE:
        raise EOFError(f"frame of {n} bytes is too large")
    return read_exact(fd, n)


def parse_frame(buf):
    """Return the body of one complete frame held in ``buf`` (bytes), or None when it is not one."""
    if len(buf) < _HEADER.size:
        return None
    (n,) = _HEADER.unpack(bytes(buf[: _HEADER.size]))
    return bytes(buf[_HEADER.size :]) if n == len(buf) - _HEADER.size else None
