"""The student-side process of the autograder: a trusted launcher that runs student code, and the plain-data codec.

Run as a script by :class:`staff.autograder.runner.StudentRunner`, this file becomes a long-lived
*launcher*. It imports numpy (and the modules the instructor's given files need) once, then, for each
request read from stdin, forks a child that

1. leaves the launcher's pipes, points stdin/stdout/stderr to /dev/null and starts its own process group,
2. when the launcher runs as root: chroots into the sandbox (so no other file on the machine is
   visible) and drops to an unprivileged user (setgroups, setgid, setuid); on Linux it then asks to be
   killed when the launcher exits, so a killed launcher leaves no student process behind,
3. imports the student modules from the sandbox, runs one call or one scenario function, and
4. writes the return value, encoded as plain data (see :func:`encode`), to its own result pipe.

The launcher kills the child's process group when it overruns its timeout, and answers the grader with
a framed message: a JSON header (status, exit code, elapsed time) and the child's raw bytes. No
student code ever runs in the launcher, and nothing the grader holds (the reference solution, the
expected values, the results file) is ever in the launcher's memory or reachable from the sandbox.

The codec (:func:`encode` / :func:`decode`) carries numbers, strings, None, booleans, numpy arrays,
tuples, lists and dicts with string keys as one ``.npz`` archive: the arrays, plus a JSON tree that
names them. It is read back with ``allow_pickle=False``, so no object crosses the boundary.
"""

import ctypes
import io
import json
import os
import signal
import struct
import sys
import time

import numpy as np

# Largest payload accepted from a child or a request: the grading inputs are small.
MAX_PAYLOAD = 64 * 1024 * 1024
# Largest JSON tree accepted inside a payload.
MAX_TREE = 1024 * 1024
_HEADER = struct.Struct("<Q")
# Address space of one student process, in bytes (the launcher itself uses about 100 MB).
MEMORY_LIMIT = 1 << 30


PR_SET_PDEATHSIG = 1  # prctl option: the signal this process gets when its parent exits (Linux)


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
        if depth > 32:
            raise CodecError("value nested more than 32 levels deep")
        if o is None or isinstance(o, (bool, str)):
            return o
        if isinstance(o, (int, float)) and type(o) in (int, float):
            return {"$n": repr(o)} if isinstance(o, float) else o
        if isinstance(o, (np.ndarray, np.generic)):
            a = np.asarray(o)
            if a.dtype.kind not in "biufcU":
                raise CodecError(f"array of dtype {a.dtype} is not plain data")
            key = f"v{len(arrays)}"
            arrays[key] = a
            return {"$a": key}
        if isinstance(o, tuple):
            return {"$t": [walk(v, depth + 1) for v in o]}
        if isinstance(o, list):
            return [walk(v, depth + 1) for v in o]
        if isinstance(o, dict):
            if not all(isinstance(k, str) for k in o):
                raise CodecError("dict keys must be str")
            return {"$d": {k: walk(v, depth + 1) for k, v in o.items()}}
        raise CodecError(f"a value of type {type(o).__name__} is not plain data")

    tree = json.dumps(walk(obj, 0))
    buf = io.BytesIO()
    np.savez(buf, tree=np.array(tree), **arrays)
    return buf.getvalue()


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
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
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
        if depth > 32:
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


# ----------------------------------------------------------------------------------------------
# The launcher (runs as a script; trusted; never runs student code itself)
# ----------------------------------------------------------------------------------------------

# Modules that student code may import: after the chroot nothing more can be read from the Python
# installation, so they are loaded before the first fork.
PRELOAD = (
    "abc",
    "array",
    "bisect",
    "builtins",
    "cmath",
    "codecs",
    "collections",
    "collections.abc",
    "contextlib",
    "copy",
    "dataclasses",
    "decimal",
    "enum",
    "fractions",
    "functools",
    "heapq",
    "importlib",
    "importlib.util",
    "inspect",
    "itertools",
    "json",
    "math",
    "numbers",
    "operator",
    "os",
    "pathlib",
    "pickle",
    "platform",
    "random",
    "re",
    "resource",
    "signal",
    "statistics",
    "string",
    "struct",
    "textwrap",
    "time",
    "traceback",
    "types",
    "typing",
    "warnings",
    "zipfile",
    "numpy",
    "numpy.linalg",
    "numpy.random",
    "numpy.fft",
    "numpy.testing",
)


def _preload(modules):
    """Import PRELOAD and ``modules``; a name that is not a module (``from m import f``) is skipped."""
    import importlib

    for name in (*PRELOAD, *modules):
        try:
            importlib.import_module(name)
        except Exception:
            pass


def _die_with(launcher):
    """Have Linux SIGKILL this process when ``launcher``, its parent, exits; exit now if it already has.

    Called after the user ids change, which would clear the setting. Elsewhere than Linux this does
    nothing, and the CPU-time limit still ends an orphan.
    """
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return
    if prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0 and os.getppid() != launcher:
        os._exit(113)  # the launcher died before the request took effect: nobody would read the result


def _run_child(request, sandbox, uid, gid, result_fd, timeout, launcher):
    """Body of the forked child: isolate, import, run one request, write the encoded result."""
    import importlib
    import math
    import resource

    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.setpgid(0, 0)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Student code has no reason to write files; a write beyond 0 bytes kills it (SIGXFSZ).
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    # Grading inputs are tiny: a runaway allocation fails with MemoryError instead of exhausting
    # the grading machine (Gradescope gives the whole run about 768 MB).
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    # A process that escapes the killed process group (setsid) still dies after this much CPU time.
    cpu = math.ceil(timeout) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    root = sandbox
    if uid is not None:
        # No fork bombs: the limit counts the processes of the unprivileged user.
        resource.setrlimit(resource.RLIMIT_NPROC, (64, 64))
        try:
            os.chroot(sandbox)
            root = "/"
        except OSError:
            pass  # a container without CAP_SYS_CHROOT: the unprivileged user and 0700 folders remain
        os.chdir(root)
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        if os.getuid() == 0 or os.geteuid() == 0:
            os._exit(111)
    else:
        os.chdir(sandbox)
    _die_with(launcher)
    sys.path[:] = [root]
    # Only the standard finders: an editable install's finder would resolve a module missing from
    # the sandbox (a file the student did not send) to the instructor's copy.
    import _frozen_importlib as bootstrap_finders
    import _frozen_importlib_external as path_finders

    standard = (bootstrap_finders.BuiltinImporter, bootstrap_finders.FrozenImporter, path_finders.PathFinder)
    sys.meta_path[:] = [f for f in sys.meta_path if f in standard]
    sys.path_importer_cache.clear()
    sys.dont_write_bytecode = True
    for name in [m for m in sys.modules if m.split(".")[0] == "cs231n"]:
        del sys.modules[name]
    importlib.invalidate_caches()

    try:
        if request["kind"] == "call":
            target = importlib.import_module(request["module"])
            for part in request["function"].split("."):
                target = getattr(target, part)
            value = target(*request["args"], **request["kwargs"])
        else:
            namespace = {"np": np, "__name__": "scenario"}
            exec(compile(request["source"], "<scenario>", "exec"), namespace)
            value = namespace[request["function"]](*request["args"], **request["kwargs"])
        data = encode({"value": value})
    except BaseException as exc:  # SystemExit and KeyboardInterrupt are student errors too
        try:
            data = encode({"error": f"{type(exc).__name__}: {exc}"[:2000]})
        except BaseException:
            data = encode({"error": "an exception that could not be described"})
    write_frame(result_fd, data)
    os._exit(0)


def _kill(pid, reaped=False):
    """SIGKILL the child's process group, and the child itself unless it was already reaped."""
    for kill in (os.killpg,) if reaped else (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _wait(pid, result_fd, timeout, request_fd):
    """Collect a child's result frame; kill its process group at the deadline.

    The grader sends nothing while it waits for an answer, so ``request_fd`` turning readable
    means the grader is gone (EOF): the child is killed and the launcher exits.

    Returns
    -------
    status : str
        "ok", "timeout", "no result" (exited without writing) or "bad result".
    code : int or None
        The child's wait status (None when it was killed at the deadline).
    data : bytes
    """
    import select

    deadline = time.monotonic() + timeout
    buf = bytearray()
    status, code = None, None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            status = "timeout"
            break
        ready, _, _ = select.select([result_fd, request_fd], [], [], min(left, 0.05))
        if request_fd in ready:
            _kill(pid)
            os._exit(0)
        if ready:
            chunk = os.read(result_fd, 1 << 20)
            if not chunk:
                break
            buf += chunk
            if len(buf) > MAX_PAYLOAD + _HEADER.size:
                status = "bad result"
                break
        done, wstatus = os.waitpid(pid, os.WNOHANG)
        if done:
            code = wstatus
            # The child is gone: whatever it wrote is already in the pipe.
            while select.select([result_fd], [], [], 0)[0]:
                chunk = os.read(result_fd, 1 << 20)
                if not chunk or len(buf) > MAX_PAYLOAD + _HEADER.size:
                    break
                buf += chunk
            break
    _kill(pid, reaped=code is not None)
    if code is None:
        try:
            code = os.waitpid(pid, 0)[1]
        except ChildProcessError:
            code = None
    if status is not None:
        return status, code, b""
    if len(buf) < _HEADER.size:
        return "no result", code, b""
    (n,) = _HEADER.unpack(bytes(buf[: _HEADER.size]))
    if n != len(buf) - _HEADER.size:
        return "bad result", code, b""
    return "ok", code, bytes(buf[_HEADER.size :])


def main(argv):
    """Serve requests: ``bootstrap.py SANDBOX UID GID [MODULE ...]`` (UID/GID ``-`` for no drop).

    MODULEs are imported before the first fork, besides PRELOAD: the grader lists the third-party
    and standard modules that the instructor's code imports.
    """
    sandbox, uid, gid = argv[0], argv[1], argv[2]
    uid = None if uid == "-" else int(uid)
    gid = None if gid == "-" else int(gid)
    _preload(argv[3:])
    req_fd, resp_fd = sys.stdin.fileno(), sys.stdout.fileno()
    write_frame(resp_fd, json.dumps({"status": "ready"}).encode())
    while True:
        try:
            frame = read_frame(req_fd)
        except EOFError:
            return 0
        request = decode(frame)
        timeout = float(request.pop("timeout"))
        r, w = os.pipe()
        start = time.monotonic()
        launcher = os.getpid()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r)
                os.close(req_fd)
                os.close(resp_fd)
                _run_child(request, sandbox, uid, gid, w, timeout, launcher)
            finally:
                os._exit(112)
        try:
            os.setpgid(pid, pid)  # also here, so a kill right after the fork reaches the group
        except OSError:
            pass
        os.close(w)
        try:
            status, code, data = _wait(pid, r, timeout, req_fd)
        finally:
            os.close(r)
        header = {"status": status, "wait_status": code, "seconds": time.monotonic() - start}
        write_frame(resp_fd, json.dumps(header).encode())
        write_frame(resp_fd, data)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
