"""The gradient report: every gradient check of the kit on a submission, as one table.

Run it on a submission folder, a submission zip, or (with no argument) the working copy::

    python -m cs231n.gradient_report [SUBMISSION] [--details] [--timeout SECONDS]

It prints one row per checked gradient (the checks are listed in ``cs231n.gradient_report_checks``):
function, parameter, relative error, verdict and the diagnosis of ``cs231n.gradient_check``, then a
footer with the thresholds, the rule for a PASS above the threshold, and a root-cause line for
each failing function that calls a failing layer ("TwoLayerNet.loss fails because affine_backward
fails: fix it first"). All checks run in float64.

Only the student-owned files (``STUDENT_FILES``, from ``cs231n.STUDENT_FILES``) come from the
submission; every other module comes from the installed kit. They are put together in a temporary
folder and the checks run there in a separate Python process, so the submission cannot touch the
kit that is installed, and a stub (``NotImplementedError``), a crash, an endless loop or an exit in
student code costs only its own rows. Verdicts: PASS, WARN (suspicious but not a bug, e.g. a kink),
FAIL (wrong gradient), TODO (not implemented yet), ERROR (crashed, timed out, could not be loaded).
The exit code is 0 when every row is PASS or WARN, 1 otherwise, 2 when the submission is unusable.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from pathlib import Path

from .gradient_report_checks import PLAN, STUDENT_FILES, H
from .gradient_results import THRESHOLDS

__all__ = ["PLAN", "STUDENT_FILES", "collect_rows", "format_table", "render", "run_report", "main"]

CHECKED_FILES = ("cs231n/layers.py", "cs231n/classifiers/fc_net.py")  # the files whose functions the checks call
CHECK_TIMEOUT = 20  # seconds one check may take before its rows say "timed out"
OK_VERDICTS = ("PASS", "WARN")
FOOTER_WIDTH = 100


# ----------------------------------------------------------------------------------------------
# The trusted side: find the files, assemble the folder, run the worker, print the table
# ----------------------------------------------------------------------------------------------


class SubmissionError(ValueError):
    """The submission cannot be used at all (no such path, not a folder or a zip)."""


def _unpack(submission, tmp):
    """Return the folder that holds the submission (a zip is extracted into ``tmp``)."""
    path = Path(submission)
    if path.is_dir():
        return path.resolve()
    if path.is_file() and zipfile.is_zipfile(path):
        dest = tmp / "submission"
        with zipfile.ZipFile(path) as zf:
            zf.extractall(dest)  # extractall drops absolute paths and '..' components
        return dest
    if path.exists():
        raise SubmissionError(f"submission must be a folder or a .zip file, got {path}")
    raise SubmissionError(f"submission not found: {path}")


def find_student_files(root):
    """Map each of STUDENT_FILES to the file that stands for it under ``root`` (or None).

    The file is taken at its own path, else at a path ending with it (a zip with a top folder),
    else as the only file of that name (a flat zip).
    """
    found, candidates = {}, None
    for rel in STUDENT_FILES:
        exact = Path(root) / rel
        if exact.is_file():
            found[rel] = exact
            continue
        if candidates is None:  # searched only when needed: a working copy may hold a whole venv
            candidates = [
                p
                for p in Path(root).rglob("*.py")
                if not any(part.startswith((".", "__MACOSX")) for part in p.relative_to(root).parts)
            ]
        suffix = [p for p in candidates if p.as_posix().endswith("/" + rel)]
        named = [p for p in candidates if p.name == Path(rel).name]
        pick = suffix or (named if len(named) == 1 else [])
        found[rel] = min(pick, key=lambda p: len(p.parts)) if pick else None
    return found


def _assemble(files, tmp):
    """Copy the installed kit to ``tmp/kit/cs231n`` and put the submission's student files over it."""
    kit = tmp / "kit"
    shutil.copytree(
        Path(__file__).resolve().parent, kit / "cs231n", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    for rel, src in files.items():
        dest = kit / rel
        if src is None:
            # Never fall back to the kit's own copy: a missing file must show up as missing.
            dest.write_text(f"raise ImportError({rel + ' is missing from the submission'!r})\n")
        else:
            shutil.copyfile(src, dest)
    return kit


def _working_copy():
    """The folder a student works in: the current one if it holds the kit, else the installed kit's."""
    cwd = Path.cwd()
    if (cwd / STUDENT_FILES[0]).is_file():
        return cwd
    return Path(__file__).resolve().parents[1]


def collect_rows(submission=None, timeout=CHECK_TIMEOUT):
    """Run every check of PLAN on a submission and return the rows and what was used.

    Parameters
    ----------
    submission : str or Path or None
        A folder, a .zip file, or None for the working copy.
    timeout : float
        Seconds one check may take.

    Returns
    -------
    rows : list of dict
        One per (function, parameter): keys ``function, param, rel_error`` (float or None),
        ``verdict, diagnosis, details`` and ``calls`` (the functions of ``cs231n.layers`` and
        ``cs231n.layer_utils`` the check called).
    files : dict
        Each of STUDENT_FILES to the path it was taken from (None when missing).
    """
    with tempfile.TemporaryDirectory(prefix="gradient_report_") as tmp:
        tmp = Path(tmp)
        root = _working_copy() if submission is None else _unpack(submission, tmp)
        files = find_student_files(root)
        done, stopped = _run_worker(_assemble(files, tmp), tmp / "rows.jsonl", timeout)
    rows = []
    for i, (label, params, _) in enumerate(PLAN):
        mine = [{k: v for k, v in r.items() if k != "check"} for r in done if r["check"] == i]
        rows += mine or [
            {
                "function": label,
                "param": p,
                "rel_error": None,
                "verdict": "ERROR",
                "diagnosis": f"not run: the checking process stopped ({stopped})",
                "details": "",
                "calls": [],
            }
            for p in params
        ]

    def shown(p):  # a file inside a zip is named by its member path, not by the deleted temp folder
        if p is None or submission is None or Path(submission).is_dir():
            return str(p) if p else None
        return f"{submission}!{p.relative_to(root).as_posix()}"

    return rows, {rel: shown(p) for rel, p in files.items()}


def _run_worker(kit, out_path, timeout):
    """Run every check in a separate Python process on the assembled ``kit``.

    Returns
    -------
    done : list of dict
        The rows the worker wrote to ``out_path`` before it finished or stopped, each with its ``check``.
    stopped : str
        How the process ended, for the rows of the checks it never reached.
    """
    env = {**os.environ, "PYTHONPATH": str(kit), "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg"}
    code = "import sys; from cs231n.gradient_report_checks import worker; worker(sys.argv[1], float(sys.argv[2]))"
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, str(out_path), str(timeout)],
            cwd=kit,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout * (len(PLAN) + 2),
            text=True,
        )
        last = proc.stderr.strip().splitlines()[-1:] or ["no message"]
        stopped = f"exit code {proc.returncode}: {last[0]}"
    except subprocess.TimeoutExpired:
        stopped = "it ran out of time"
    done = [json.loads(line) for line in out_path.read_text().splitlines()] if out_path.exists() else []
    return done, stopped


def format_table(rows):
    """The rows as a fixed-width text table: function, param, rel. error, verdict, diagnosis."""
    head = ("function", "param", "rel. error", "verdict", "diagnosis")
    cells = [
        (
            r["function"],
            r["param"],
            "-" if r["rel_error"] is None else f"{r['rel_error']:.2e}",
            r["verdict"],
            r["diagnosis"],
        )
        for r in rows
    ]
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(4)]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(4)) + "  " + c[4] for c in [head, *cells]]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * len(head[4]))
    return "\n".join(lines)


def root_causes(rows):
    """For each checked function whose rows FAIL (or crash), the earlier failing checks of functions it called.

    Only the first failing functions of a chain are kept: when a net calls affine_relu_backward and
    affine_backward, and affine_relu_backward fails because of affine_backward, the net's root
    cause is affine_backward alone.

    Returns
    -------
    dict
        Label of a failing check (e.g. ``"TwoLayerNet.loss reg=0.0"``) to the labels of its causes.
    """
    labels = list(dict.fromkeys(r["function"] for r in rows))
    group = {label: [r for r in rows if r["function"] == label] for label in labels}
    broken = [label for label in labels if any(r["verdict"] in ("FAIL", "ERROR") for r in group[label])]
    causes = {}
    for i, label in enumerate(labels):
        if label not in broken:
            continue
        calls = {fn for r in group[label] for fn in r.get("calls", [])}
        found = [c for c in labels[:i] if c in broken and _function(c) in calls and _function(c) != _function(label)]
        found = [c for c in found if not set(causes.get(c, ())) & set(found)]
        if found:
            causes[label] = found
    return causes


def _function(label):
    """The function a PLAN label checks: 'affine_backward', or 'loss' for 'TwoLayerNet.loss reg=0.0'."""
    return label.split()[0].split(".")[-1]


def _it(causes):
    return ("it", "fails") if len(causes) == 1 else ("them", "fail")


def _listed(names):
    """'a', 'a and b', 'a, b and c'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def footer(causes):
    """The lines under the table: one root-cause line per failing function, the thresholds, the rules."""
    lines = []
    by_cause = {}
    for label, found in causes.items():
        by_cause.setdefault(tuple(found), []).append(label.split()[0])
    for found, labels in by_cause.items():
        names = list(dict.fromkeys(labels))
        it, fails = _it(found)
        line = f"Root cause: {_listed(names)} fail{'s' if len(names) == 1 else ''} because {_listed(list(found))} "
        lines.append(textwrap.fill(line + f"{fails}: fix {it} first.", width=FOOTER_WIDTH, subsequent_indent="  "))
    rules = [
        f"Verdicts: PASS below {THRESHOLDS['pass']:.0e}, FAIL at {THRESHOLDS['fail']:.0e} or above, WARN in between "
        "(relative error: the largest |a-n| / (|a|+|n|) over the entries, a analytic, n numerical). A diagnosis "
        "overrules the number: a named bug is a FAIL at any error; a kink (an input within h of a ReLU's 0 or a "
        "hinge, where the entry agrees once re-measured from one side or with a smaller step) is a WARN, not a bug.",
        f"Rounding noise: a PASS above {THRESHOLDS['pass']:.0e} means that every entry agrees to "
        f"{THRESHOLDS['pass']:.0e} of the gradient's largest entry, or within the rounding noise of f(x+h) - f(x-h): "
        "the large relative error sits on entries near zero, where the numerical gradient is noise.",
    ]
    return lines + [textwrap.fill(rule, width=FOOTER_WIDTH, subsequent_indent="  ") for rule in rules]


def render(rows, files, name, details=False):
    """The printed report and its exit code (0 when every row is PASS or WARN, else 1).

    A failing or crashing row of a function that calls an earlier failing layer names that layer
    instead of its own diagnosis (which stays in the details).

    Parameters
    ----------
    rows, files : list of dict, dict
        What ``collect_rows`` returned.
    name : str
        How to call the submission in the heading.
    details : bool
        Append the full explanation of every row that is not a PASS.

    Returns
    -------
    text : str
    code : int
    """
    causes = root_causes(rows)
    shown = []
    for r in rows:
        found = causes.get(r["function"]) if r["verdict"] in ("FAIL", "ERROR") else None
        if found:
            it, fails = _it(found)
            r = {**r, "diagnosis": f"calls {_listed(found)}, which {fails}: fix {it} first"}
        shown.append(r)
    lines = [f"Gradient report for {name}"]
    for rel, src in files.items():
        unused = "" if rel in CHECKED_FILES else " (not used by these checks)"
        lines.append(f"  {rel}: {src or 'MISSING from the submission' + unused}")
    lines += [f"  every other module: the installed kit; float64; numerical step h = {H:g}", "", format_table(shown)]
    counts = {v: sum(r["verdict"] == v for r in rows) for v in ("PASS", "WARN", "FAIL", "TODO", "ERROR")}
    lines += ["", ", ".join(f"{n} {v}" for v, n in counts.items()) + f" of {len(rows)} gradients", ""]
    lines += footer(causes)
    failed = any(r["verdict"] not in OK_VERDICTS for r in rows)
    if failed and not details:
        lines.append("Run again with --details to read what each failing check found.")
    if details:
        lines += ["\n" + r["details"] for r in rows if r["verdict"] != "PASS" and r["details"]]
    return "\n".join(lines), 1 if failed else 0


def run_report(submission=None, details=False, timeout=CHECK_TIMEOUT, out=None):
    """Print the report for ``submission`` (folder, zip, or None for the working copy); return the exit code."""
    rows, files = collect_rows(submission, timeout)
    text, code = render(rows, files, "the working copy" if submission is None else str(submission), details)
    print(text, file=out or sys.stdout)
    return code


def main(argv=None):
    """Command line entry: ``python -m cs231n.gradient_report [SUBMISSION] [--details] [--timeout S]``."""
    parser = argparse.ArgumentParser(
        prog="python -m cs231n.gradient_report", description="Run every gradient check of the kit on a submission."
    )
    parser.add_argument("submission", nargs="?", help="a submission folder or .zip (default: the working copy)")
    parser.add_argument("--details", action="store_true", help="explain every row that is not a PASS")
    parser.add_argument(
        "--timeout", type=float, default=CHECK_TIMEOUT, help=f"seconds one check may take (default {CHECK_TIMEOUT})"
    )
    args = parser.parse_args(argv)
    if not args.timeout > 0:
        parser.error(f"--timeout must be positive, got {args.timeout}")
    try:
        return run_report(args.submission, details=args.details, timeout=args.timeout)
    except SubmissionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
