"""Grade a folder of submissions into one CSV, several at a time.

Each submission is graded by its own grader process (``python -m staff.autograder grade``), so one that
breaks a grader cannot touch the others, and ``jobs`` of them run at once. Rows keep the order of the
submissions whatever order they finish in, and the CSV is written atomically at the end even when the
output pipe closes or the run is interrupted.
"""

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .console import say
from .grade import GRADER_ROOT, NOT_ISOLATED, function_scores
from .results import crash_results, write_atomically
from .runner import DEFAULT_BUDGET, DEFAULT_TIMEOUT, isolating


def submissions(folder):
    """The submissions of ``folder``: its sub-folders and zips, hidden entries skipped, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder must be a directory of submissions, got {folder}")
    return [
        p for p in sorted(folder.iterdir()) if not p.name.startswith(".") and (p.is_dir() or p.suffix.lower() == ".zip")
    ]


def _grade_one(sub, out, timeout, budget, threads, isolate):
    """Grade ``sub`` in its own grader process; return its results object."""
    cmd = [sys.executable, "-m", "staff.autograder", "grade", str(sub), "--results", str(out)]
    cmd += ["--timeout", str(timeout), "--budget", str(budget)] + ([] if isolate else ["--no-isolation"])
    env = dict(os.environ)
    if threads:  # graders running side by side: one BLAS thread each
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    subprocess.run(cmd, cwd=GRADER_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        return json.loads(Path(out).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return crash_results("the grader did not finish")


def _row(name, results):
    scores = function_scores(results)
    notes = [] if results.get("tests") else [results.get("output", "")]
    extra = results.get("extra_data") or {}
    if not extra.get("isolated", True):
        notes.append(NOT_ISOLATED)
    elif extra and not (extra.get("network_removed") or extra.get("sockets_forbidden")):
        notes.append("student code had network access (the kernel refused both a network namespace and seccomp)")
    return {
        "submission": name,
        **{c: got for c, (got, _) in scores.items()},
        "total": float(results.get("score", 0.0)),
        "max_score": sum(total for _, total in scores.values()),
        "note": "; ".join(notes),
    }


def write_csv(csv_path, rows):
    """Write the rows atomically: ``submission``, a column per student function, ``total``, ``max_score``, ``note``."""
    columns = []
    for row in rows:
        columns += [c for c in row if c not in columns and c not in ("submission", "total", "max_score", "note")]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, ["submission", *columns, "total", "max_score", "note"], restval=0.0)
    writer.writeheader()
    writer.writerows(rows)
    write_atomically(csv_path, buf.getvalue())


def batch(folder, csv_path, timeout=DEFAULT_TIMEOUT, budget=DEFAULT_BUDGET, jobs=None, isolate=True):
    """Grade every submission (sub-folder or zip) in ``folder`` and write one CSV row per submission.

    Parameters
    ----------
    folder : Path
        Holds the submissions; hidden entries are skipped.
    csv_path : Path
        The CSV to write.
    timeout, budget : float
        Per-call timeout and per-submission budget handed to each grader.
    jobs : int, optional
        Submissions graded at once (default: the machine's cores).
    isolate : bool
        Isolate student code (only possible as root); False runs it as the grader's own user.

    Returns
    -------
    rows : list of dict
        The rows written, in the order of the submissions.
    """
    subs = submissions(folder)
    jobs = max(1, int(jobs or os.cpu_count() or 1))
    if not (isolate and isolating()):
        say(f"warning: {NOT_ISOLATED}", stream=sys.stderr)
    rows = [None] * len(subs)
    with tempfile.TemporaryDirectory(prefix="cs231n-batch-") as tmp:

        def grade_one(i):
            results = _grade_one(subs[i], Path(tmp) / f"{i}.json", timeout, budget, jobs > 1, isolate)
            rows[i] = _row(subs[i].name, results)
            say(f"{subs[i].name}: {rows[i]['total']:g} / {rows[i]['max_score']:g}")

        try:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                for future in [pool.submit(grade_one, i) for i in range(len(subs))]:
                    future.result()
        finally:
            done = [r for r in rows if r is not None]
            write_csv(csv_path, done)
    return done
