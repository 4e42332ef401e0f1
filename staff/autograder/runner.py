"""The grader's handle on student code: every call runs in a separate, sandboxed process.

:class:`StudentRunner` starts the launcher (``bootstrap.py``) once per grading run and sends it one
request per call. Only plain data crosses the boundary (see :func:`bootstrap.encode`); a student error,
an early exit, a crash or an overrun timeout comes back as a :class:`StudentError`, never as a value.
"""

import inspect
import json
import os
import pwd
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from . import bootstrap
from .bootstrap import CodecError, decode, encode, read_frame, write_frame

DEFAULT_TIMEOUT = 60.0
# Seconds all student calls of one grading run may take together: below Gradescope's 10 minutes,
# so results.json is complete even when every function loops forever.
DEFAULT_BUDGET = 480.0
# The account student code runs as when the grader runs as root.
UNPRIVILEGED_USER = "nobody"


class StudentError(Exception):
    """Student code raised, exited, crashed, overran its timeout or returned something unusable."""


def drop_ids():
    """Return ``(uid, gid)`` to run student code as, or ``(None, None)`` when not running as root."""
    if os.geteuid() != 0:
        return None, None
    entry = pwd.getpwnam(UNPRIVILEGED_USER)
    return entry.pw_uid, entry.pw_gid


def _clean_env():
    """The launcher's whole environment: nothing from the grader's, one BLAS thread."""
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }
    # Some machines need this to start OpenBLAS at all; pass it through unchanged.
    if "OPENBLAS_CORETYPE" in os.environ:
        env["OPENBLAS_CORETYPE"] = os.environ["OPENBLAS_CORETYPE"]
    return env


class StudentRunner:
    """Run student functions from a sandbox in forked, isolated children of one launcher process.

    Parameters
    ----------
    sandbox : Path
        Directory holding the ``cs231n`` package to import (instructor copy + student files).
    preload : list of str
        Modules the launcher imports before running any student code (see ``sandbox.preload_modules``).
    timeout : float
        Seconds each call may take before its process group is killed.
    budget : float
        Seconds all calls may take together; once spent, calls fail at once.
    private_dir : Path
        A directory only the grader can read (matplotlib's cache and the launcher's log go there).
    """

    def __init__(self, sandbox, preload=(), timeout=DEFAULT_TIMEOUT, private_dir=None, budget=DEFAULT_BUDGET):
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if not budget > 0:
            raise ValueError(f"budget must be a positive number of seconds, got {budget!r}")
        self.budget = float(budget)
        self.sandbox = Path(sandbox)
        self.preload = list(preload)
        self.timeout = float(timeout)
        self.private_dir = Path(private_dir) if private_dir is not None else None
        self.uid, self.gid = drop_ids()
        self.proc = None

    @property
    def isolated(self):
        """True when student code runs as an unprivileged user (chrooted where the kernel permits)."""
        return self.uid is not None

    def start(self):
        """Start the launcher and wait until it has loaded numpy; return self."""
        env = _clean_env()
        log = subprocess.DEVNULL
        if self.private_dir is not None:
            env["MPLCONFIGDIR"] = str(self.private_dir / "mpl")
            log = open(self.private_dir / "launcher.log", "ab")
        ids = ["-", "-"] if self.uid is None else [str(self.uid), str(self.gid)]
        cmd = [sys.executable, "-I", bootstrap.__file__, str(self.sandbox), *ids, *self.preload]
        try:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                cwd=str(self.sandbox),
                start_new_session=True,
            )
        finally:
            if log is not subprocess.DEVNULL:
                log.close()
        try:
            ready = json.loads(read_frame(self.proc.stdout.fileno()))
        except EOFError:
            self.proc.wait()
            raise RuntimeError(
                f"the student launcher exited with status {self.proc.returncode} before it was "
                f"ready (can {sys.executable} import numpy?)"
            ) from None
        if ready.get("status") != "ready":
            raise RuntimeError(f"the launcher did not start: {ready}")
        return self

    def close(self):
        """Stop the launcher (its children are already gone after each call)."""
        if self.proc is not None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
            self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def _request(self, request, what, timeout):
        if self.proc is None:
            raise RuntimeError("StudentRunner.start() was not called")
        if self.budget <= 0:
            raise StudentError(f"{what} was not run: the grading time budget is spent (earlier calls ran too long)")
        limit = min(self.timeout if timeout is None else float(timeout), self.budget)
        request = dict(request, timeout=limit)
        start = time.monotonic()
        try:
            write_frame(self.proc.stdin.fileno(), encode(request))
            header = json.loads(read_frame(self.proc.stdout.fileno()))
            data = read_frame(self.proc.stdout.fileno())
        except (EOFError, OSError):
            # The launcher died (killed from outside, out of memory): the next call gets a new one.
            self.proc.kill()
            self.close()
            self.start()
            raise StudentError(f"{what} ended without returning a result (the student process was lost)") from None
        finally:
            # A call that lost the launcher spends the budget too, restart included.
            self.budget -= time.monotonic() - start
        status = header["status"]
        if status == "timeout":
            raise StudentError(f"{what} did not finish within {request['timeout']:g} s and was stopped")
        if status != "ok":
            raise StudentError(f"{what} ended without returning a result (the process exited or crashed)")
        try:
            reply = decode(data)
        except CodecError as exc:
            raise StudentError(f"{what} returned data the grader cannot read: {exc}") from None
        if not isinstance(reply, dict) or len(reply) != 1:
            raise StudentError(f"{what} returned data the grader cannot read")
        if "error" in reply:
            raise StudentError(f"{what} raised {reply['error']}")
        if "value" not in reply:
            raise StudentError(f"{what} returned data the grader cannot read")
        return reply["value"]

    def call(self, module, function, *args, timeout=None, **kwargs):
        """Call ``module.function(*args, **kwargs)`` from the student's code and return its result.

        Parameters
        ----------
        module : str
            Dotted module name, e.g. ``"cs231n.layers"``.
        function : str
            Attribute path inside the module, e.g. ``"affine_forward"`` or ``"Add.backward"``.
        *args, **kwargs
            Plain data (arrays, numbers, str, None, tuples, lists, str-keyed dicts).
        timeout : float, optional
            Overrides the runner's timeout for this call.

        Returns
        -------
        value : object
            The return value as plain data (tuples stay tuples, arrays come back as ndarrays).

        Raises
        ------
        StudentError
            When the call raises, exits, crashes, times out or returns something that is not plain data.
        """
        request = {"kind": "call", "module": module, "function": function, "args": list(args), "kwargs": kwargs}
        return self._request(request, f"{module.rsplit('.', 1)[-1]}.{function}", timeout)

    def run(self, scenario, *args, timeout=None, label=None, **kwargs):
        """Run ``scenario(*args, **kwargs)`` in the student process and return its result.

        ``scenario`` is a module-level function of the grading tests that imports what it needs from
        ``cs231n`` inside its body and returns plain data; its source is sent, not the object, and it
        runs with ``np`` (numpy) in its globals. ``label`` names it in error messages (default: the
        scenario's name), e.g. the student function it exercises.

        Returns and raises as :meth:`call`.
        """
        if not inspect.isfunction(scenario):
            raise ValueError(f"scenario must be a function, got {scenario!r}")
        source = textwrap.dedent(inspect.getsource(scenario))
        request = {
            "kind": "scenario",
            "source": source,
            "function": scenario.__name__,
            "args": list(args),
            "kwargs": kwargs,
        }
        return self._request(request, label or scenario.__name__, timeout)
