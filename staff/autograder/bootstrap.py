"""The student-side launcher: a trusted process that runs each student call in a fresh, isolated process.

:class:`staff.autograder.runner.StudentRunner` starts this file as a script
(``bootstrap.py SANDBOX isolate|plain [MODULE ...]``). It imports numpy (and the modules the instructor's
given files need) once and, when isolating, moves itself into a network namespace of its own, so no
process it starts has a network. Then, for each request read from stdin, it forks the process that runs
the student code (``child.run_call``) in a process group of its own and, when isolating, as process 1
of a new PID namespace (:class:`PidNamespaces`), so every process the call starts (double forks and
``setsid`` included) dies with it.

At the deadline the launcher asks the call where it is (SIGUSR1, answered by ``child.report_hang``),
then kills its process group. Where the kernel refuses PID namespaces it then kills every process of
the call's own user (a user id used by no one else, see :func:`call_uid`), so nothing a call started
outlives it either way. It answers the grader with a framed JSON header (status, wait status,
seconds) and the child's raw reply: the return value, or the report of an overdue call. No student
code runs in the launcher.
"""

import ctypes
import json
import os
import select
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # codec, child and nosockets, beside it

from child import run_call  # noqa: E402 (after the path is set)
from codec import MAX_PAYLOAD, decode, parse_frame, read_frame, write_frame  # noqa: E402
from nosockets import forbid_sockets  # noqa: E402

CLONE_NEWNET = 0x40000000
CLONE_NEWPID = 0x20000000
# User ids of student calls: UID_BASE + launcher pid * 256 + call number % 256 (pids stay below 2**22),
# far above the ids any system hands out, so each call (and each concurrent grader) has its own.
UID_BASE = 1 << 31
CALLS_PER_LAUNCHER = 256
# Passes of kill(-1) that end a call's user's processes.
SWEEPS = 3
# Seconds an overdue call has to say where it is, and the largest such report.
HANG_REPORT = 0.3
MAX_REPORT = 1 << 16

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


def unshare(flags):
    """Call Linux's unshare(flags); return None when it worked, else the reason it did not."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(flags) == 0:
            return None
        return os.strerror(ctypes.get_errno())
    except (OSError, AttributeError) as exc:
        return str(exc)


def call_uid(number):
    """The user id of call ``number`` of this launcher (its group id is the same number)."""
    return UID_BASE + os.getpid() * CALLS_PER_LAUNCHER + number % CALLS_PER_LAUNCHER


def _kill(pid, group=True):
    """SIGKILL ``pid`` and, with ``group``, its process group; a process already gone is fine."""
    for kill in (os.killpg, os.kill) if group else (os.kill,):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def sweep(uid):
    """Kill every process of user ``uid``: a helper becomes that user and signals all it may signal.

    ``kill(-1, SIGKILL)`` reaches every process of the user but the helper itself; a process killed
    while it forks takes the new child with it, and a few passes catch any that raced the first.
    """
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            for _ in range(SWEEPS):
                os.kill(-1, signal.SIGKILL)
        except BaseException:
            os._exit(1)
        os._exit(0)
    os.waitpid(pid, 0)


def sockets_forbidden():
    """True when a call can forbid itself sockets (a forked probe tries the seccomp filter)."""
    pid = os.fork()
    if pid == 0:
        os._exit(0 if forbid_sockets() is None else 1)
    return os.waitpid(pid, 0)[1] == 0


class PidNamespaces:
    """Start each call as process 1 of a new PID namespace, where the kernel permits it (as root).

    After ``unshare(CLONE_NEWPID)`` a process's next child is process 1 of a new namespace, and
    ``setns`` back to its own namespace lets it start another one for the next call. When process 1
    of a namespace dies, the kernel kills every other process in it.
    """

    def __init__(self):
        self.own = None
        try:
            self.libc = ctypes.CDLL(None, use_errno=True)
            self.own = os.open("/proc/self/ns/pid", os.O_RDONLY)
            if not (self.enter() and self.leave()):
                self.close()
        except (OSError, AttributeError):
            self.close()

    @property
    def available(self):
        return self.own is not None

    def enter(self):
        """Make the next child process 1 of a new namespace; True when it worked."""
        return self.leave() and unshare(CLONE_NEWPID) is None

    def leave(self):
        """Let the next child be born in the launcher's own namespace again; True when it worked."""
        return self.libc.setns(self.own, CLONE_NEWPID) == 0

    def close(self):
        if self.own is not None:
            os.close(self.own)
        self.own = None


def _stop_overdue(pid, result_fd):
    """Ask an overdue call where it is (SIGUSR1, see ``child.report_hang``), then kill it.

    Returns ``("timeout", wait status, the report or b"")``.
    """
    try:
        os.kill(pid, signal.SIGUSR1)
    except ProcessLookupError:
        pass
    buf, deadline = bytearray(), time.monotonic() + HANG_REPORT
    while (left := deadline - time.monotonic()) > 0 and select.select([result_fd], [], [], left)[0]:
        chunk = os.read(result_fd, 1 << 16)
        if not chunk or len(buf) > MAX_REPORT:
            break
        buf += chunk
        if parse_frame(buf) is not None:
            break
    _kill(pid)
    try:
        code = os.waitpid(pid, 0)[1]
    except ChildProcessError:
        code = None
    return "timeout", code, parse_frame(buf) or b""


def _wait(pid, result_fd, timeout, request_fd):
    """Collect a call's reply frame; kill the call's process group at the deadline.

    The grader sends nothing while it waits for an answer, so ``request_fd`` turning readable means
    the grader is gone (EOF): the call is killed and the launcher exits.

    Returns
    -------
    status : str
        "ok", "timeout", "no result" (exited without writing) or "bad result".
    code : int or None
        The call's wait status (None when it was killed at the deadline).
    data : bytes
    """
    deadline = time.monotonic() + timeout
    buf = bytearray()
    status, code = None, None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return _stop_overdue(pid, result_fd)
        ready, _, _ = select.select([result_fd, request_fd], [], [], min(left, 0.05))
        if request_fd in ready:
            _kill(pid)
            os._exit(0)
        if ready:
            chunk = os.read(result_fd, 1 << 20)
            if not chunk:
                break
            buf += chunk
            if len(buf) > MAX_PAYLOAD + 8:
                status = "bad result"
                break
        done, wstatus = os.waitpid(pid, os.WNOHANG)
        if done:
            code = wstatus
            # The call is over: whatever it wrote is already in the pipe.
            while len(buf) <= MAX_PAYLOAD + 8 and select.select([result_fd], [], [], 0)[0]:
                chunk = os.read(result_fd, 1 << 20)
                if not chunk:
                    break
                buf += chunk
            break
    _kill(pid, group=True)
    if code is None:
        try:
            code = os.waitpid(pid, 0)[1]
        except ChildProcessError:
            code = None
    if status is not None:
        return status, code, b""
    body = parse_frame(buf)
    if body is None:
        return ("no result" if len(buf) < 8 else "bad result"), code, b""
    return "ok", code, body


def _spawn(request, sandbox, uid, timeout, namespaces, pipe):
    """Fork the process that runs one call (process 1 of a new PID namespace when ``namespaces``)."""
    r, w = pipe
    in_namespace = namespaces is not None and namespaces.enter()
    launcher = os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.close(sys.stdin.fileno())
            os.close(sys.stdout.fileno())
            os.setpgid(0, 0)
            # Seen from inside a new PID namespace, the launcher (outside it) is pid 0.
            run_call(request, sandbox, uid, w, timeout, 0 if in_namespace else launcher)
        finally:
            os._exit(112)
    if in_namespace:
        namespaces.leave()
    try:
        os.setpgid(pid, pid)  # also here, so a kill right after the fork reaches the group
    except OSError:
        pass
    os.close(w)
    return pid, in_namespace


def serve(sandbox, isolating):
    """Answer requests from stdin until it closes; each one runs in its own isolated process."""
    req_fd, resp_fd = sys.stdin.fileno(), sys.stdout.fileno()
    network = unshare(CLONE_NEWNET) if isolating else "the grader does not run as root"
    namespaces = PidNamespaces() if isolating else None
    if namespaces is not None and not namespaces.available:
        namespaces = None
    ready = {
        "status": "ready",
        "network_removed": network is None,
        "sockets_forbidden": sockets_forbidden(),
        "pid_namespaces": namespaces is not None,
    }
    write_frame(resp_fd, json.dumps(ready).encode())
    number = 0
    while True:
        try:
            frame = read_frame(req_fd)
        except EOFError:
            return 0
        request = decode(frame)
        timeout = float(request.pop("timeout"))
        uid = call_uid(number) if isolating else None
        number += 1
        start = time.monotonic()
        r, w = os.pipe()
        pid, in_namespace = _spawn(request, sandbox, uid, timeout, namespaces, (r, w))
        try:
            status, code, data = _wait(pid, r, timeout, req_fd)
        finally:
            os.close(r)
            # Outside a PID namespace, processes the call started may have left its group: end them all.
            if uid is not None and not in_namespace:
                sweep(uid)
        header = {"status": status, "wait_status": code, "seconds": time.monotonic() - start}
        write_frame(resp_fd, json.dumps(header).encode())
        write_frame(resp_fd, data)


def main(argv):
    """``bootstrap.py SANDBOX isolate|plain [MODULE ...]``: preload the MODULEs, then serve.

    MODULEs are imported before the first fork, besides PRELOAD: the grader lists the third-party and
    standard modules that the instructor's code imports.
    """
    sandbox, mode = argv[0], argv[1]
    _preload(argv[2:])
    return serve(sandbox, mode == "isolate")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
