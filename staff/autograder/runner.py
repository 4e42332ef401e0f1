"""The grader's handle on student code: every call runs in separate, sandboxed processes.

:class:`StudentRunner` starts the launcher (``bootstrap.py``) once per grading run and sends it one
request per call. Only plain data crosses the boundary (see ``codec``). A student error, an early exit,
a crash, an overrun timeout, a changed input or a return value that is not plain data comes back as a
:class:`StudentError` whose text is the feedback a student reads, never as a value.

Time is shared fairly: the grading tests tell the runner which student function they grade
(:meth:`StudentRunner.grading`), every function gets an equal share of the run's budget, and a function
that overran its timeout fails its remaining calls at once, so one function that hangs never starves
the others.
"""

import copy
import importlib
import inspect
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from .codec import CodecError, decode, encode, read_frame, write_frame
from .mutation import first_change

DEFAULT_TIMEOUT = 10.0
# Seconds all student calls of one grading run may take together: below Gradescope's 10 minutes,
# so results.json is complete even when every function loops forever.
DEFAULT_BUDGET = 480.0
LAUNCHER = Path(__file__).resolve().with_name("bootstrap.py")


class StudentError(Exception):
    """Student code raised, exited, crashed, overran its time, changed its inputs or returned unusable data."""


def isolating():
    """True when student code can be isolated: the grader runs as root."""
    return os.geteuid() == 0


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


def _seconds(s):
    """A number of seconds for a message: ``2``, ``0.5``, ``18.5``."""
    return f"{s:.3g}"


def _parameter_names(module, function):
    """Parameter names of the reference's ``module.function`` (for messages), or None."""
    try:
        target = importlib.import_module(module)
        for part in function.split("."):
            target = getattr(target, part)
        return list(inspect.signature(target).parameters)
    except Exception:  # not in the reference (or not introspectable): arguments are numbered
        return None


class StudentRunner:
    """Run student functions from a sandbox in isolated processes started by one launcher.

    Parameters
    ----------
    sandbox : Path
        Directory holding the ``cs231n`` package to import (given files + student files).
    preload : list of str
        Modules the launcher imports before running any student code (see ``sandbox.preload_modules``).
    timeout : float
        Seconds each call may take before it is killed.
    budget : float
        Seconds all calls may take together, shared equally by the student functions.
    private_dir : Path
        A directory only the grader can read (matplotlib's cache and the launcher's log go there).
    isolate : bool
        Isolate student code (only possible as root); False runs it as the grader's own user.
    """

    def __init__(
        self, sandbox, preload=(), timeout=DEFAULT_TIMEOUT, private_dir=None, budget=DEFAULT_BUDGET, isolate=True
    ):
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if not budget > 0:
            raise ValueError(f"budget must be a positive number of seconds, got {budget!r}")
        self.sandbox = Path(sandbox)
        self.preload = list(preload)
        self.timeout = float(timeout)
        self.budget = float(budget)
        self.private_dir = Path(private_dir) if private_dir is not None else None
        self.isolated = isolate and isolating()
        self.network_removed = False
        self.sockets_forbidden = False
        self.pid_namespaces = False
        self.proc = None
        self.share = self.budget  # each function's share of the budget (see grading)
        self.current = None  # the student function being graded
        self.spent = {}  # function -> seconds its calls took
        self.stopped = {}  # function -> why its remaining calls fail at once

    def grading(self, function, functions=None):
        """Charge the next calls to ``function``; ``functions`` (all graded ones) sets the equal shares."""
        if functions:
            self.share = self.budget / len(set(functions))
        self.current = function

    def start(self):
        """Start the launcher and wait until it has loaded numpy; return self."""
        env = _clean_env()
        log = subprocess.DEVNULL
        if self.private_dir is not None:
            env["MPLCONFIGDIR"] = str(self.private_dir / "mpl")
            log = open(self.private_dir / "launcher.log", "ab")
        mode = "isolate" if self.isolated else "plain"
        cmd = [sys.executable, "-I", str(LAUNCHER), str(self.sandbox), mode, *self.preload]
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
        self.network_removed = bool(ready.get("network_removed"))
        self.sockets_forbidden = bool(ready.get("sockets_forbidden"))
        self.pid_namespaces = bool(ready.get("pid_namespaces"))
        return self

    def close(self):
        """Stop the launcher (every process of every call is already gone)."""
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

    def _limit(self, what, timeout):
        """Seconds the next call may take; raise StudentError when its function may not run at all."""
        function = self.current
        if function in self.stopped:
            raise StudentError(self.stopped[function])
        if self.budget <= 0:
            raise StudentError(f"{what} was not run: the time for grading is used up")
        left = self.share - self.spent.get(function, 0.0)
        if left <= 0:
            raise StudentError(
                f"{what} was not run: {function} used up its share of the grading time ({_seconds(self.share)} s)"
            )
        return min(self.timeout if timeout is None else float(timeout), left, self.budget)

    def _exchange(self, request, what):
        """Send one request; return ``(header, data)``. A lost launcher is replaced (StudentError)."""
        try:
            write_frame(self.proc.stdin.fileno(), encode(request))
            header = json.loads(read_frame(self.proc.stdout.fileno()))
            return header, read_frame(self.proc.stdout.fileno())
        except (EOFError, OSError):
            # The launcher died (killed from outside, out of memory): the next call gets a new one.
            self.proc.kill()
            self.close()
            self.start()
            raise StudentError(f"{what} stopped without returning: the process running it was lost") from None

    def _request(self, request, what, timeout, names, mutable, no_warnings):
        if self.proc is None:
            raise RuntimeError("StudentRunner.start() was not called")
        limit = self._limit(what, timeout)
        sent = copy.deepcopy((request["args"], request["kwargs"]))
        start = time.monotonic()
        try:
            header, data = self._exchange(dict(request, timeout=limit), what)
        finally:
            # Every call spends its function's share and the budget, a lost launcher's restart included.
            elapsed = time.monotonic() - start
            self.spent[self.current] = self.spent.get(self.current, 0.0) + elapsed
            self.budget -= elapsed
        if header["status"] == "timeout":
            message = f"{what} did not finish within {_seconds(limit)} s and was stopped{_hung_at(what, data)}"
            if self.current is not None:
                self.stopped[self.current] = (
                    f"{self.current} did not finish within {_seconds(limit)} s in an earlier test, so this test "
                    "was not run"
                )
            raise StudentError(message)
        if header["status"] == "bad result":
            raise StudentError(f"{what} returned more data than the grader accepts (the inputs are small)")
        if header["status"] != "ok":
            raise StudentError(f"{what} stopped without returning: the process running it exited or crashed")
        try:
            reply = decode(data)
        except CodecError:
            raise StudentError(f"{what} sent back a reply that is not plain data") from None
        return self._judge(reply, what, sent, names, mutable, no_warnings)

    def _judge(self, reply, what, sent, names, mutable, no_warnings):
        """Turn a decoded reply into the return value, or a StudentError that says what went wrong."""
        if not isinstance(reply, dict):
            raise StudentError(f"{what} sent back a reply that is not plain data")
        if "error" in reply:
            raise StudentError(_raised(what, str(reply["error"]), reply.get("where")))
        if "inputs_not_plain" in reply:
            raise StudentError(f"{what} modified its inputs: it put {reply['inputs_not_plain']} into them")
        changed = first_change(sent, reply.get("inputs"), names, mutable)
        if changed:
            raise StudentError(f"{what} modified its input {changed} in place: inputs must stay unchanged")
        if "not_plain" in reply:
            raise StudentError(
                f"{what} returned something that is not plain data ({reply['not_plain']}): "
                "return numpy arrays, numbers and tuples of them"
            )
        warned = reply.get("warnings") or []
        if no_warnings and warned:
            raise StudentError(f"{what} raised a warning: {warned[0]}")
        if "value" not in reply:
            raise StudentError(f"{what} sent back a reply that is not plain data")
        return reply["value"]

    def call(self, module, function, *args, timeout=None, no_warnings=False, **kwargs):
        """Call ``module.function(*args, **kwargs)`` from the student's code and return its result.

        Parameters
        ----------
        module : str
            Dotted module name, e.g. ``"cs231n.layers"``.
        function : str
            Attribute path inside the module, e.g. ``"affine_forward"`` or ``"Add.backward"``.
        *args, **kwargs
            Plain data (arrays, numbers, str, None, tuples, lists, str-keyed dicts); none of them may be
            changed by the call.
        timeout : float, optional
            Overrides the runner's timeout for this call.
        no_warnings : bool
            Fail when the call raises a warning (numpy's overflow, invalid value, ...).

        Returns
        -------
        value : object
            The return value as plain data (tuples stay tuples, arrays come back as ndarrays).

        Raises
        ------
        StudentError
            When the call raises, exits, crashes, times out, changes an argument or returns something
            that is not plain data.
        """
        request = {"kind": "call", "module": module, "function": function, "args": list(args), "kwargs": kwargs}
        names = _parameter_names(module, function)
        return self._request(request, function, timeout, names, (), no_warnings)

    def run(self, scenario, *args, timeout=None, label=None, mutable=(), no_warnings=False, **kwargs):
        """Run ``scenario(*args, **kwargs)`` in the student process and return its result.

        ``scenario`` is a module-level function of the grading tests that imports what it needs from
        ``cs231n`` inside its body and returns plain data; its source is sent, not the object, and it
        runs with ``np`` (numpy) in its globals. ``label`` names it in messages (default: the
        scenario's name), e.g. the student function it exercises. The scenario's arguments must come
        back unchanged, except those named in ``mutable``.

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
        names = list(inspect.signature(scenario).parameters)
        return self._request(request, label or scenario.__name__, timeout, names, tuple(mutable), no_warnings)


def _hung_at(what, data):
    """Where an overdue call was when it was stopped, from its report (`` (it was running ...)``), or ""."""
    try:
        where = decode(data).get("running") if data else None
    except (CodecError, AttributeError):
        return ""
    if not isinstance(where, dict) or not isinstance(where.get("function"), str):
        return ""
    place = f"{where.get('file')}, line {where.get('line')}"
    return f" ({place})" if where["function"] == what else f" (it was running {where['function']}, {place})"


def _raised(what, error, where):
    """The message for an error: the function that raised it, where, and the function being graded."""
    if not isinstance(where, dict) or not isinstance(where.get("function"), str):
        return f"{what} raised {error}"
    place = f"{where.get('file')}, line {where.get('line')}"
    if where["function"] == what:
        return f"{what} raised {error} ({place})"
    return f"{where['function']} raised {error} ({place}; called while grading {what})"
