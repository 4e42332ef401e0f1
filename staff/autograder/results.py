"""Gradescope's ``results.json``: the pytest plugin that fills it in the trusted process, and its writer.

The plugin learns the expected tests at collection time and records each test's outcome from pytest's
own reports (never from anything student code prints). It rewrites ``results.json`` after every test
so a run stopped by Gradescope's overall timeout keeps what was graded, and the grader writes it a last
time when everything else is done. A test that never reported a passing call counts as failed with 0
points.
"""

import json
import os
import tempfile
import time
from pathlib import Path

import pytest

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
# Length of a test's output shown to students; longer messages are cut.
MAX_OUTPUT = 2000


def write_atomically(path, text):
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``: readers never see half a file.

    A missing folder is created private (student code runs as another user and must not read or plant
    files there).
    """
    path = Path(path)
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_results(path, results):
    """Atomically write ``results`` (Gradescope's top-level results object) as JSON to ``path``."""
    write_atomically(path, json.dumps(results, indent=2))


def crash_results(message):
    """Return a results object for a run that could not grade: score 0 and ``message`` as the output."""
    return {
        "score": 0.0,
        "execution_time": 0.0,
        "output": f"The autograder could not grade this submission: {message}",
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
    }


def _marker_value(item, name, default):
    mark = item.get_closest_marker(name)
    return mark.args[0] if mark is not None and mark.args else default


class GradescopePlugin:
    """A pytest plugin that turns the grading tests' outcomes into Gradescope results.

    Parameters
    ----------
    results_path : Path
        Where ``results.json`` is (re)written.
    runner : StudentRunner
        Handed to the grading tests through the ``student`` fixture.
    after_due_date : bool
        True once the due date has passed: hidden tests are then shown.
    notes : list of str
        Lines about the submission itself (missing or ignored files) put at the top of the output.
    """

    name = "cs231n_gradescope"

    def __init__(self, results_path, runner, after_due_date=False, notes=()):
        self.results_path = Path(results_path)
        self.runner = runner
        self.after_due_date = after_due_date
        self.notes = list(notes)
        self.start = time.monotonic()
        self.tests = {}  # nodeid -> test record, in collection order
        self.collect_errors = []

    # -- pytest hooks -------------------------------------------------------------------------
    def pytest_configure(self, config):
        config.addinivalue_line("markers", "points(n): points this grading test is worth")
        config.addinivalue_line("markers", "visibility(v): Gradescope visibility, e.g. after_due_date")
        config.addinivalue_line("markers", "student_function(name): the student function it grades")

    def pytest_collectreport(self, report):
        if report.failed:
            self.collect_errors.append(f"{report.nodeid}: {report.longreprtext[-MAX_OUTPUT:]}")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        # Every student call of this test is charged to the function it grades.
        test = self.tests.get(item.nodeid)
        self.runner.grading(test["function"] if test else None)

    def pytest_collection_finish(self, session):
        # session.items is final here: after any -k deselection and reordering.
        for item in session.items:
            points = _marker_value(item, "points", None)
            function = _marker_value(item, "student_function", None)
            visibility = _marker_value(item, "visibility", "visible")
            if points is None or function is None or visibility not in VISIBILITIES:
                self.collect_errors.append(
                    f"{item.nodeid}: needs points(n), student_function(name) and a visibility in {VISIBILITIES}"
                )
                continue
            doc = (item.function.__doc__ or item.name).strip().splitlines()[0]
            label = f" [{item.callspec.id}]" if hasattr(item, "callspec") else ""
            self.tests[item.nodeid] = {
                "function": function,
                "name": f"{function}: {doc}{label}",
                "max_score": float(points),
                "visibility": visibility,
                "passed": None,
                "output": "",
            }
        # Every graded function gets an equal share of the time budget.
        self.runner.grading(None, [t["function"] for t in self.tests.values()])
        # From now on a results file exists, even if the whole run is killed during the first test.
        write_results(self.results_path, self.results())

    def pytest_runtest_logreport(self, report):
        test = self.tests.get(report.nodeid)
        if test is None:
            return
        if report.failed or report.skipped:
            test["passed"] = False
            if not test["output"]:
                test["output"] = _failure_text(report)
        elif report.when == "call" and test["passed"] is None:
            test["passed"] = True

    def pytest_runtest_logfinish(self, nodeid, location):
        write_results(self.results_path, self.results())

    @pytest.fixture
    def student(self):
        """The :class:`StudentRunner` that runs the submission's code."""
        return self.runner

    # -- results --------------------------------------------------------------------------------
    def results(self, final=False):
        """Build Gradescope's results object from what has been recorded so far."""
        tests = []
        for number, test in enumerate(self.tests.values(), start=1):
            passed = test["passed"] is True
            output = (
                test["output"]
                if test["passed"] is not None
                else ("This test did not run to the end, so it scores 0." if final else "Not graded yet.")
            )
            visibility = test["visibility"]
            if visibility == "after_due_date" and self.after_due_date:
                visibility = "visible"
            tests.append(
                {
                    "score": test["max_score"] if passed else 0.0,
                    "max_score": test["max_score"],
                    "status": "passed" if passed else "failed",
                    "name": test["name"],
                    "number": str(number),
                    "output": output[:MAX_OUTPUT],
                    "tags": [test["function"]],
                    "visibility": visibility,
                }
            )
        return {
            "score": sum(t["score"] for t in tests),
            "execution_time": round(time.monotonic() - self.start, 3),
            "output": "\n".join([*self.notes, *summary_lines(tests)]),
            "output_format": "text",
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": tests,
        }


def summary_lines(tests):
    """One line per student function: the points of its visible tests, and how many more are hidden.

    E.g. ``affine_forward: 3 / 3 (1 more point is graded after the due date)``.
    """
    functions = {}
    for test in tests:
        got, total, hidden = functions.get(test["tags"][0], (0.0, 0.0, 0.0))
        if test["visibility"] == "visible":
            got, total = got + test["score"], total + test["max_score"]
        else:
            hidden += test["max_score"]
        functions[test["tags"][0]] = (got, total, hidden)
    lines = []
    for name, (got, total, hidden) in functions.items():
        line = f"{name}: {got:g} / {total:g}"
        if hidden:
            verb = "point is" if hidden == 1 else "points are"
            line += f" ({hidden:g} more {verb} graded after the due date)"
        lines.append(line)
    return lines


def _failure_text(report):
    """The one-line reason a test failed: the assertion or error message, not a traceback."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        message = crash.message
    elif isinstance(report.longrepr, tuple):  # a skip: (file, line, reason)
        message = str(report.longrepr[-1])
    else:
        message = str(report.longrepr).strip().splitlines()[-1] if report.longrepr else "failed"
    # pytest appends its own "assert ..." explanation after the message; the message is enough.
    message = message.split("\nassert ")[0]
    for prefix in ("AssertionError: ", "staff.autograder.runner.StudentError: ", "StudentError: "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message
