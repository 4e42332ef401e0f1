"""Grade one submission (folder or zip) into ``results.json``, or a folder of submissions into a CSV.

:func:`grade` is the trusted process: it builds the sandbox, starts the student launcher, runs the
grading tests (``staff/autograder/tests``) with pytest in this process, and writes ``results.json``
in a ``finally`` block, so a crash anywhere still leaves a results file that says what happened.
"""

import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from .results import GradescopePlugin, crash_results, write_results
from .runner import DEFAULT_BUDGET, DEFAULT_TIMEOUT, StudentRunner
from .sandbox import build_sandbox, preload_modules

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
        Let pytest print every test's outcome.

    Returns
    -------
    results : dict
        What was written to ``results_path``.
    """
    start = time.monotonic()
    results, runner, sandbox, private = None, None, None, None
    try:
        submission = Path(submission)
        if not submission.exists():
            raise FileNotFoundError(f"submission {submission} does not exist")
        private = Path(tempfile.mkdtemp(prefix="cs231n-grader-"))
        instructor = instructor_root()
        sandbox, _, notes = build_sandbox(instructor, submission)
        runner = StudentRunner(
            sandbox, preload_modules(instructor), timeout=timeout, private_dir=private, budget=budget
        ).start()
        if not runner.isolated:
            notes.append("(student code ran as the grader's own user: start the grader as root to isolate it)")
        plugin = GradescopePlugin(results_path, runner, past_due_date(metadata), notes)
        args = [
            str(tests_dir),
            "-c",
            str(GRADER_DIR / "pytest.ini"),
            "--rootdir",
            str(tests_dir),
            "--confcutdir",
            str(tests_dir),
            "-v" if verbose else "-q",
        ]
        if keyword:
            args += ["-k", keyword]
        code = pytest.main(args, plugins=[plugin])
        if plugin.collect_errors:
            results = crash_results("the grading tests could not be collected:\n" + "\n".join(plugin.collect_errors))
        elif not plugin.tests:
            results = crash_results(f"no grading tests were collected (pytest exit code {int(code)})")
        else:
            results = plugin.results(final=True)
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
            write_results(results_path, results)
    return results


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


def batch(folder, csv_path, timeout=DEFAULT_TIMEOUT):
    """Grade every submission (sub-folder or zip) in ``folder`` and write one CSV row per submission.

    Each submission is graded in its own grader process, so one that breaks the grader cannot touch
    the others. Columns: ``submission``, the points of each student function, ``total``,
    ``max_score`` and ``note`` (why a submission could not be graded).

    Parameters
    ----------
    folder : Path
        Holds the submissions; hidden entries are skipped.
    csv_path : Path
        The CSV to write.
    timeout : float
        Per-call timeout handed to each grader.

    Returns
    -------
    rows : list of dict
        The rows written.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder must be a directory of submissions, got {folder}")
    subs = [
        p for p in sorted(folder.iterdir()) if not p.name.startswith(".") and (p.is_dir() or p.suffix.lower() == ".zip")
    ]
    rows, columns = [], []
    with tempfile.TemporaryDirectory(prefix="cs231n-batch-") as tmp:
        for i, sub in enumerate(subs):
            out = Path(tmp) / f"{i}.json"
            cmd = [
                sys.executable,
                "-m",
                "staff.autograder",
                "grade",
                str(sub),
                "--results",
                str(out),
                "--timeout",
                str(timeout),
            ]
            subprocess.run(cmd, cwd=GRADER_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            results = json.loads(out.read_text()) if out.is_file() else crash_results("the grader did not finish")
            scores = function_scores(results)
            columns += [c for c in scores if c not in columns]
            row = {
                "submission": sub.name,
                **{c: got for c, (got, _) in scores.items()},
                "total": float(results.get("score", 0.0)),
                "max_score": sum(total for _, total in scores.values()),
                "note": "" if results.get("tests") else results.get("output", ""),
            }
            rows.append(row)
            print(f"{sub.name}: {row['total']:g} / {row['max_score']:g}", flush=True)
    Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, ["submission", *columns, "total", "max_score", "note"], restval=0.0)
        writer.writeheader()
        writer.writerows(rows)
    return rows
