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
_reached = set()


def reached(name):
    """Record that the running test reached the solution region of the stub ``name``.

    The test id travels in the environment, so code that a test runs in a child process
    (``python -m cs231n.train``, say) is recorded too.
    """
    key = (os.environ.get("KIT_PROBE_TEST", "<outside any test>"), name)
    if key not in _reached:
        _reached.add(key)
        _write({"reached": name, "by": key[0]})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _write({"uses": item.nodeid, "fixtures": list(getattr(item, "fixturenames", []))})
    os.environ["KIT_PROBE_TEST"] = item.nodeid
    yield
    os.environ.pop("KIT_PROBE_TEST", None)


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    # A module-scoped fixture runs once, inside the first test that needs it: what it reaches is
    # recorded for the fixture, and the build credits every test that uses it.
    previous = os.environ.get("KIT_PROBE_TEST")
    os.environ["KIT_PROBE_TEST"] = f"fixture::{fixturedef.baseid}::{fixturedef.argname}"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("KIT_PROBE_TEST", None)
        else:
            os.environ["KIT_PROBE_TEST"] = previous


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
    _write(
        {
            "nodeid": report.nodeid,
            "when": report.when,
            "outcome": "xfailed" if hasattr(report, "wasxfail") else report.outcome,
            "exceptions": _chain(excinfo.value) if excinfo is not None else [],
        }
    )


def pytest_collectreport(report):
    if report.failed:
        _write(
            {
                "nodeid": report.nodeid,
                "when": "collect",
                "outcome": "failed",
                "exceptions": [["CollectError", str(report.longrepr)[-2000:]]],
            }
        )


def pytest_sessionfinish(session, exitstatus):
    module = sys.modules.get("cs231n")
    _write({"cs231n_file": getattr(module, "__file__", None)})
