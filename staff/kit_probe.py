"""A pytest plugin that records why each test of the student kit passed or failed.

The release build copies this file into a temporary folder, puts that folder on PYTHONPATH and runs
the kit's tests with ``-p kit_probe``. Each report becomes one JSON line in the file named by
``KIT_PROBE_OUT``: the test id, the phase, the outcome and the chain of exceptions (type and
message) that made it fail. The last line records which ``cs231n`` package the tests imported, so
the build can prove it tested the kit and not the staff source.

On the instrumented reference copy, every solution region starts with ``kit_probe.reached(name)``;
the plugin then also records which tests reach which region.
"""
import json
import os
import sys

import pytest

_OUT = os.environ.get("KIT_PROBE_OUT")
_current = "<collection>"
_reached = set()


def reached(name):
    """Record that the running test reached the solution region of the stub ``name``."""
    _reached.add((_current, name))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    global _current
    _current = item.nodeid
    yield
    _current = "<between tests>"


def _write(record):
    if _OUT:
        with open(_OUT, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def _chain(exc):
    """Return [type name, message] for ``exc`` and every exception it was raised from or during."""
    chain, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append([type(exc).__name__, str(exc)])
        exc = exc.__cause__ or exc.__context__
    return chain


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" and report.outcome == "passed":
        return
    excinfo = call.excinfo
    _write({
        "nodeid": report.nodeid,
        "when": report.when,
        "outcome": "xfailed" if hasattr(report, "wasxfail") else report.outcome,
        "exceptions": _chain(excinfo.value) if excinfo is not None else [],
    })


def pytest_collectreport(report):
    if report.failed:
        _write({"nodeid": report.nodeid, "when": "collect", "outcome": "failed",
                "exceptions": [["CollectError", str(report.longrepr)[-2000:]]]})


def pytest_sessionfinish(session, exitstatus):
    for nodeid, name in sorted(_reached):
        _write({"reached": name, "by": nodeid})
    module = sys.modules.get("cs231n")
    _write({"cs231n_file": getattr(module, "__file__", None)})
