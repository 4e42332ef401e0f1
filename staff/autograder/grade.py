"""Grade one submission (folder or zip) into ``results.json``.

:func:`grade` is the trusted process: it builds the sandbox, starts the student launcher, runs the
grading tests (``staff/autograder/tests``) with pytest in this process, and writes ``results.json``
in a ``finally`` block, so a crash anywhere still leaves a results file that says what happened.
pytest's own output goes to stderr (``verbose``) or nowhere, never to stdout, and a closed pipe
cannot stop it.
"""

import contextlib
import json
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from .console import Tolerant
from .results import GradescopePlugin, crash_results, write_results
from .runner import DEFAULT_BUDGET, DEFAULT_TIMEOUT, StudentRunner
from .sandbox import build_sandbox, preload_modules

NOT_ISOLATED = "student code ran as the grader's own user, not isolated: start the grader as root to isolate it"

GRADER_DIR = Path(__file__).resolve().parent
TESTS_DIR = GRADER_DIR / "tests"
# The folder from which ``staff.autograder`` is importable (the repository or /autograder/source).
GRADER_ROOT = GRADER_DIR.parents[1]


def instructor_root():
    """Return the folder holding the reference ``cs231n`` package that the grading tests import."""
    import cs231n  # noqa: PLC0415 (the instructor copy, found once the grader has set up sys.path)

    return Path(cs231n.__file__).resolve().parents[1]


def past_due_date(metadata_path, now=None):
    """Tell whether Gradescope's due date has passed, from ``submission_metadata.json``.

    Parameters
    ----------
    metadata_path : Path or None
        Gradescope's metadata file; None, a missing file or one without a due date means "not past".
    now : datetime, optional
        Timezone-aware current time (default: now).

    Returns
    -------
    past : bool
    """
    if metadata_path is None or not Path(metadata_path).is_file():
        return False
    meta = json.loads(Path(metadata_path).read_text(encoding="utf-8"))
    due = (meta.get("assignment") or {}).get("due_date")
    if not due:
        return False
    due = datetime.fromisoformat(due.replace("Z", "+00:00"))
    if due.tzinfo is None:
        due = due.replace(tzinfo=timezone.utc)
    return (now or datetime.now(timezone.utc)) >= due


def grade(
    submission,
    results_path,
    timeout=DEFAULT_TIMEOUT,
    metadata=None,
    tests_dir=TESTS_DIR,
    keyword=None,
    verbose=False,
    budget=DEFAULT_BUDGET,
    isolate=True,
):
    """Grade ``submission`` and write Gradescope's ``results.json`` to ``results_path`` (always).

    Parameters
    ----------
    submission : Path
        A folder or zip holding the student-owned files.
    results_path : Path
        Where ``results.json`` goes; its folder is made private when running as root.
    timeout : float
        Seconds each student call may run before it is killed.
    budget : float
        Seconds all student calls may take together (the rest then fail at once).
    metadata : Path, optional
        Gradescope's ``submission_metadata.json`` (its due date decides whether hidden tests show).
    tests_dir : Path
        The grading tests.
    keyword : str, optional
        A pytest ``-k`` expression to grade only some tests (for staff).
    verbose : bool
        Let pytest print every test's outcome (to stderr).
    isolate : bool
        Isolate student code (only possible as root); False runs it as the grader's own user.

    Returns
    -------
    results : dict
        What was written to ``results_path``.
    """
    start = time.monotonic()
    results, runner, sandbox, private, isolation = None, None, None, None, {}
    try:
        submission = Path(submission)
        if not submission.exists():
            raise FileNotFoundError(f"submission {submission} does not exist")
        private = Path(tempfile.mkdtemp(prefix="cs231n-grader-"))
        instructor = instructor_root()
        sandbox, _, notes = build_sandbox(instructor, submission)
        runner = StudentRunner(
            sandbox, preload_modules(instructor), timeout=timeout, private_dir=private, budget=budget, isolate=isolate
        ).start()
        isolation = {
            "isolated": runner.isolated,
            "network_removed": runner.network_removed,
            "sockets_forbidden": runner.sockets_forbidden,
            "pid_namespaces": runner.pid_namespaces,
        }
        if not runner.isolated:
            notes.append(f"({NOT_ISOLATED})")
        plugin = GradescopePlugin(results_path, runner, past_due_date(metadata), notes)
        results = run_grading_tests(plugin, tests_dir, keyword, verbose)
    except Exception as exc:
        results = crash_results(f"{type(exc).__name__}: {exc}")
    finally:
        try:
            if runner is not None:
                runner.close()
        finally:
            for folder in (sandbox, private):
                if folder is not None:
                    shutil.rmtree(folder, ignore_errors=True)
            if results is None:  # interrupted: still leave a results file behind
                results = crash_results("grading was interrupted")
            results["execution_time"] = round(time.monotonic() - start, 3)
            # For staff (Gradescope shows extra_data to no student): how the code was isolated.
            results["extra_data"] = isolation
            write_results(results_path, results)
    return results


def run_grading_tests(plugin, tests_dir, keyword=None, verbose=False):
    """Run the grading tests with pytest in this process; return the results object ``plugin`` built.

    pytest's output goes to stderr with ``verbose``, else nowhere: never to stdout.
    """
    args = [str(tests_dir), "-c", str(GRADER_DIR / "pytest.ini"), "--rootdir", str(tests_dir)]
    args += ["--confcutdir", str(tests_dir), "-v" if verbose else "-q"] + (["-k", keyword] if keyword else [])
    with contextlib.redirect_stdout(Tolerant(sys.stderr if verbose else None)):
        code = pytest.main(args, plugins=[plugin])
    if plugin.collect_errors:
        return crash_results("the grading tests could not be collected:\n" + "\n".join(plugin.collect_errors))
    if not plugin.tests:
        return crash_results(f"no grading tests were collected (pytest exit code {int(code)})")
    return plugin.results(final=True)


def function_scores(results):
    """Sum a results object's test scores per student function (the test's first tag).

    Returns
    -------
    scores : dict of str to (float, float)
        ``{function: (points, max_points)}`` in the order the tests appear.
    """
    scores = {}
    for test in results.get("tests", []):
        name = (test.get("tags") or ["(untagged)"])[0]
        got, total = scores.get(name, (0.0, 0.0))
        scores[name] = (got + float(test["score"]), total + float(test["max_score"]))
    return scores
