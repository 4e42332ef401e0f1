"""One student call, in a forked process: isolate it, import the student's modules, run, report.

The launcher (``bootstrap.py``) forks one process per call, which runs :func:`run_call`. Before any
student code is imported it

1. points stdin/stdout/stderr to /dev/null and sets resource limits: no file writes, 1 GiB of address
   space, a CPU-time limit, no core files and, when isolated, a cap on its user's processes;
2. when isolated (the grader runs as root): chroots into the sandbox, then becomes the call's own
   unprivileged user (setgroups, setgid, setuid) and sets ``no_new_privs``;
3. asks Linux to kill it when the launcher dies (a change of user clears that setting, so it is set
   again afterwards), and forbids itself sockets (``nosockets``).

It then runs one request and writes one reply (plain data, see ``codec``): the return value, the
arguments as they are after the call (the grader compares them with its own copies), the warnings the
call raised, or the error with the student function it came from; at its deadline (SIGUSR1) it writes
instead where it was, so a timeout can name the function that hung. Nothing here decides a grade: the
reply is only data for the trusted process to judge.

The standard library and numpy only: the launcher imports this module by file name.
"""

import ctypes
import importlib
import math
import os
import resource
import signal
import sys
import traceback
import warnings

import numpy as np
from codec import CodecError, encode, write_frame
from nosockets import forbid_sockets

# Address space of one student process, in bytes (the launcher itself uses about 100 MB).
MEMORY_LIMIT = 1 << 30
# Processes the call's own user may have at once (no fork bombs).
MAX_PROCESSES = 64
# prctl options (Linux): the signal sent when the parent exits; refuse privileges on exec.
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
# Longest error text and number of warnings sent back.
MAX_ERROR = 2000
MAX_WARNINGS = 5


def prctl(option, value):
    """Call Linux's prctl(option, value); return True when it worked (False elsewhere than Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(parent):
    """Have Linux SIGKILL this process when its parent exits; exit now if ``parent`` is already gone.

    ``parent`` is the parent's pid as this process sees it (0 when the parent is outside this process's
    PID namespace, where the check cannot tell).
    """
    if prctl(PR_SET_PDEATHSIG, 9) and os.getppid() != parent:
        os._exit(113)  # the parent died before the setting took effect: nobody would read the result


def isolate(sandbox, uid, timeout, parent):
    """Limit this process and, when ``uid`` is given, lock it into ``sandbox`` as that user.

    Returns
    -------
    root : str
        The sandbox as this process now sees it (``/`` after a chroot).
    """
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Student code has no reason to write files; a write beyond 0 bytes kills it (SIGXFSZ).
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    # Grading inputs are tiny: a runaway allocation fails with MemoryError instead of exhausting the
    # grading machine (Gradescope gives the whole run about 768 MB).
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    # A process that escapes every kill still dies after this much CPU time.
    cpu = math.ceil(timeout) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    root = sandbox
    if uid is not None:
        die_with_parent(parent)  # as root, for the moments before the user changes
        resource.setrlimit(resource.RLIMIT_NPROC, (MAX_PROCESSES, MAX_PROCESSES))
        try:
            os.chroot(sandbox)
            root = "/"
        except OSError:
            pass  # a container without CAP_SYS_CHROOT: the unprivileged user and 0700 folders remain
        os.chdir(root)
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        if os.getuid() == 0 or os.geteuid() == 0:
            os._exit(111)
        prctl(PR_SET_NO_NEW_PRIVS, 1)
    else:
        os.chdir(sandbox)
    die_with_parent(parent)
    forbid_sockets()  # no network even where the launcher could not leave it
    return root


def prepare_imports(root):
    """Import ``cs231n`` from ``root`` only, through Python's standard finders, without bytecode files."""
    # An editable install's finder would resolve a module missing from the sandbox (a file the student
    # did not send) to the instructor's copy: keep only the standard finders.
    import _frozen_importlib as bootstrap_finders
    import _frozen_importlib_external as path_finders

    sys.path[:] = [root]
    standard = (bootstrap_finders.BuiltinImporter, bootstrap_finders.FrozenImporter, path_finders.PathFinder)
    sys.meta_path[:] = [f for f in sys.meta_path if f in standard]
    sys.path_importer_cache.clear()
    sys.dont_write_bytecode = True
    for name in [m for m in sys.modules if m.split(".")[0] == "cs231n"]:
        del sys.modules[name]
    importlib.invalidate_caches()


def _public(qualname):
    """True for a function a student knows by name: no part of its name is private (``_check_X``)."""
    return all(not part.startswith("_") or part.startswith("__") for part in qualname.split("."))


def _innermost(frames, root):
    """The innermost public function of the ``cs231n`` package among ``frames`` ((frame, line), outer first).

    Returns
    -------
    where : dict or None
        ``{"function": "relu_forward", "file": "cs231n/layers.py", "line": 123}``, or None when no
        frame is in the package (the grading scenario itself).
    """
    package = os.path.join(root, "cs231n")
    found = None
    for frame, line in frames:
        path = frame.f_code.co_filename
        qualname = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
        if path.startswith(package + os.sep) and _public(qualname):
            found = {"function": qualname, "file": os.path.relpath(path, root), "line": line}
    return found


def where_raised(exc, root):
    """Name the innermost public function of the package in the traceback of ``exc`` (see _innermost)."""
    return _innermost(traceback.walk_tb(exc.__traceback__), root)


def report_hang(result_fd, root):
    """On SIGUSR1 (sent at the deadline), write where the call is and exit.

    Student code that catches the signal itself, or is inside a long C call, simply gets no report:
    the launcher kills it a moment later anyway.
    """

    def handler(signum, frame):
        where = _innermost(reversed(list(traceback.walk_stack(frame))), root)
        write_frame(result_fd, encode({"running": where}))
        os._exit(0)

    signal.signal(signal.SIGUSR1, handler)


def _target(request):
    """The callable of a request: a function of a student module, or a grading scenario's function."""
    if request["kind"] == "call":
        target = importlib.import_module(request["module"])
        for part in request["function"].split("."):
            target = getattr(target, part)
        return target
    namespace = {"np": np, "__name__": "scenario"}
    exec(compile(request["source"], "<scenario>", "exec"), namespace)
    return namespace[request["function"]]


def run(request, root):
    """Run one request and return the reply as plain data (never raises)."""
    args, kwargs = request["args"], request["kwargs"]
    caught = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with np.errstate(all="warn", under="ignore"):
                value = _target(request)(*args, **kwargs)
        reply = {"value": value}
    except BaseException as exc:  # SystemExit and KeyboardInterrupt are student errors too
        try:
            reply = {"error": f"{type(exc).__name__}: {exc}"[:MAX_ERROR], "where": where_raised(exc, root)}
        except BaseException:
            reply = {"error": "an exception that could not be described"}
    reply["warnings"] = [f"{w.category.__name__}: {w.message}"[:200] for w in caught[:MAX_WARNINGS]]
    reply["inputs"] = [args, kwargs]
    return reply


def _encode(reply):
    """Encode a reply; inputs or a value that are not plain data are described instead of sent."""
    inputs = reply.pop("inputs")
    try:
        encode(inputs)
        reply["inputs"] = inputs
    except CodecError as exc:
        reply["inputs_not_plain"] = str(exc)
    try:
        return encode(reply)
    except CodecError as exc:
        reply.pop("value", None)
        reply["not_plain"] = str(exc)
        return encode(reply)


def run_call(request, sandbox, uid, result_fd, timeout, parent):
    """Body of the process that runs student code: isolate, import, run one request, write the reply."""
    root = isolate(sandbox, uid, timeout, parent)
    prepare_imports(root)
    report_hang(result_fd, root)
    write_frame(result_fd, _encode(run(request, root)))
    os._exit(0)
