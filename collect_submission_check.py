"""Check and package a submission; ``collectSubmission.sh`` runs this from the kit root.

Commands (each takes the kit root with ``--root``, default the current folder):

- ``check [--recap FILE]``: look at every file you submit. A file that is missing or unreadable
  makes grading impossible: the check lists every such problem and exits 1. Everything else that
  is unfinished (a function that still raises its stub, a module that does not import, a notebook
  cell never run or run out of order, an error output, a notebook run in quick mode) is listed as
  a warning, and the check exits 0, so unfinished work can still be submitted for partial credit.
  ``--recap FILE`` also writes a short recap of the warnings, which the script prints last.
- ``notebooks``: print the notebooks to export, one path per line.
- ``zip OUT EXPORTS``: write the zip OUT holding the files you submit and every file in the folder
  EXPORTS (the notebooks exported for reading), then list what it holds.

The files you submit are ``STUDENT_FILES`` in ``cs231n/__init__.py``, read here with ``ast``. Only the
standard library is used, so the check runs even when the environment is half broken.
"""

import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

INIT = "cs231n/__init__.py"
IMPORT_TIMEOUT = 120
RERUN_HINT = "in Jupyter use Kernel > Restart Kernel and Run All Cells, then save"
QUICK_HINT = (
    "its training cells ran short, on less data (CS231N_QUICK=1). Start Jupyter without CS231N_QUICK, "
    "run the notebook again top to bottom, save it, and run collectSubmission.sh again"
)


class Unreadable(Exception):
    """A file needed to grade the submission cannot be read."""


def student_files(root):
    """Return ``STUDENT_FILES`` as ``cs231n/__init__.py`` under ``root`` writes it, without importing it.

    Raises
    ------
    Unreadable
        When the file is missing or does not hold the list.
    """
    try:
        tree = ast.parse((Path(root) / INIT).read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["STUDENT_FILES"]:
                files = ast.literal_eval(node.value)
                if isinstance(files, tuple) and files and all(isinstance(f, str) for f in files):
                    return files
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as e:
        raise Unreadable(f"{INIT} cannot be read ({e}); restore it from the kit") from e
    raise Unreadable(f"{INIT} does not list STUDENT_FILES, the files to submit; restore it from the kit")


def _ordinal(n):
    """1 -> '1st', 2 -> '2nd', 11 -> '11th', 23 -> '23rd'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _source(cell):
    """The source of a notebook cell as one string (notebooks store it as a string or a list)."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def read_notebook(path, relpath):
    """Return a notebook as a dict; raise Unreadable when it is not a notebook in nbformat 4."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise Unreadable(
            f"{relpath}: cannot be read as a notebook ({e}); restore it from the kit and run it again"
        ) from e
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise Unreadable(f"{relpath}: not a notebook in nbformat 4 (no list of cells); save it again from Jupyter")
    return nb


def ran_in_quick_mode(nb):
    """True when a cell's output records that the notebook ran with CS231N_QUICK set.

    The notebooks' first cell calls ``cs231n.notebook_utils.quick_mode()``, which displays the mode
    with the metadata ``{"cs231n": {"quick_mode": true}}``.
    """
    for cell in nb["cells"]:
        for out in (cell.get("outputs") or []) if isinstance(cell, dict) else []:
            meta = out.get("metadata") if isinstance(out, dict) else None
            if isinstance(meta, dict) and isinstance(meta.get("cs231n"), dict) and meta["cs231n"].get("quick_mode"):
                return True
    return False


def notebook_warnings(nb, relpath):
    """Return what is unfinished in one notebook: cells never run or out of order, error outputs.

    Parameters
    ----------
    nb : dict
        The notebook, as ``read_notebook`` returns it.
    relpath : str
        How the messages name it.

    Returns
    -------
    list of str
        One message per finding; empty when the notebook was run top to bottom without an error.
    """
    warnings, counts, unrun = [], [], []
    code_cells = 0
    for n, cell in enumerate(nb["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        code_cells += 1
        where = f"cell {n} (the {_ordinal(code_cells)} code cell)"
        for out in cell.get("outputs") or []:
            if isinstance(out, dict) and out.get("output_type") == "error":
                warnings.append(
                    f"{relpath}: {where} holds an error output: {out.get('ename', 'Error')}: "
                    f"{out.get('evalue', '')}".rstrip()
                )
        # Jupyter does not number a blank cell when it runs it.
        if not _source(cell).strip():
            continue
        count = cell.get("execution_count")
        if count is None:
            unrun.append(where)
        else:
            counts.append(count)
    if unrun and not counts:
        warnings.append(f"{relpath}: never run (none of its {len(unrun)} code cells ran); {RERUN_HINT}")
    elif unrun:
        shown = ", ".join(unrun[:3]) + (f" and {len(unrun) - 3} more" if len(unrun) > 3 else "")
        warnings.append(f"{relpath}: not executed: {shown} never ran; {RERUN_HINT}")
    expected = list(range(1, len(counts) + 1))
    if counts != expected:
        shown = ", ".join(str(c) for c in counts[:12]) + (", ..." if len(counts) > 12 else "")
        warnings.append(
            f"{relpath}: not executed top to bottom: the execution counts read [{shown}], expected 1, 2, 3, ... "
            f"in order; {RERUN_HINT}"
        )
    return warnings


# Runs in a fresh interpreter with the kit first on the path: imports each module named on the
# command line, then lists the stubs that still raise (cs231n.stubs), and writes both as JSON to the
# file named first. A file rather than stdout, since modules may print.
_IMPORT_SCRIPT = r"""
import importlib, json, sys, traceback
failures, stubs = {}, None
for name in sys.argv[3:]:
    try:
        importlib.import_module(name)
    except BaseException as e:  # SystemExit or KeyboardInterrupt raised at import fail the import too
        frames = traceback.extract_tb(e.__traceback__)
        if isinstance(e, SyntaxError):
            where = (e.filename, e.lineno)
        else:
            where = (frames[-1].filename, frames[-1].lineno) if frames else (None, None)
        message = e.msg if isinstance(e, SyntaxError) else str(e)  # str() of a SyntaxError repeats the place
        failures[name] = [type(e).__name__, message, *where]
try:
    from cs231n.stubs import find_stubs
    stubs = find_stubs(sys.argv[2], [name.replace(".", "/") + ".py" for name in sys.argv[3:]])
except Exception as e:
    stubs = f"{type(e).__name__}: {e}"
with open(sys.argv[1], "w") as f:
    json.dump({"failures": failures, "stubs": stubs}, f)
"""


def check_code(root, relpaths):
    """Import the modules of ``relpaths`` in a fresh interpreter and find the stubs that still raise.

    Parameters
    ----------
    root : Path
        The kit folder; it goes first on the import path, so its ``cs231n`` is the one imported.
    relpaths : sequence of str
        The ``.py`` files to check, e.g. ``"cs231n/classifiers/fc_net.py"``.

    Returns
    -------
    list of str
        One warning per module that does not import (``"`import NAME` fails: ERROR (FILE, line N)"``)
        and one per file whose functions still raise their stub.
    """
    if not relpaths:
        return []
    modules = [rel[: -len(".py")].replace("/", ".") for rel in relpaths]
    found, stopped = _import_in_fresh_python(root, modules)
    if stopped:
        return [stopped]
    warnings = [_import_warning(root, name, *failure) for name, failure in found["failures"].items()]
    if isinstance(found["stubs"], str):
        return warnings + [f"cannot tell which functions are still stubs: {found['stubs']}"]
    return warnings + _stub_warnings(found["stubs"])


def _import_in_fresh_python(root, modules):
    """Run ``_IMPORT_SCRIPT`` on ``modules`` with ``root`` first on the import path.

    Returns
    -------
    found : dict or None
        ``{"failures": ..., "stubs": ...}`` as the script writes them; None when it did not finish.
    stopped : str or None
        The warning when the script did not finish.
    """
    env = dict(os.environ)
    env.pop("PYTHONSAFEPATH", None)  # it would drop the kit folder from the import path
    env["PYTHONPATH"] = os.pathsep.join([str(root)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.setdefault("MPLBACKEND", "Agg")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "imports.json"
        cmd = [sys.executable, "-c", _IMPORT_SCRIPT, str(report), str(root), *modules]
        try:
            r = subprocess.run(
                cmd, cwd=root, env=env, capture_output=True, text=True, timeout=IMPORT_TIMEOUT, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired:
            return None, (
                f"importing {', '.join(modules)} did not finish within {IMPORT_TIMEOUT} s: "
                "does a module run a long loop when it is imported?"
            )
        if not report.is_file():
            last = (r.stderr.strip().splitlines() or [f"exit code {r.returncode}"])[-1]
            return None, f"importing {', '.join(modules)} stopped Python before it finished: {last}"
        return json.loads(report.read_text()), None


def _import_warning(root, name, kind, message, filename, line):
    """The warning for a module that does not import, naming the file (relative to ``root``) and line."""
    where = ""
    if filename:
        path = Path(filename)
        shown = path.relative_to(root).as_posix() if path.is_absolute() and path.is_relative_to(root) else filename
        where = f" ({shown}, line {line})"
    return f"`import {name}` fails: {kind}: {message}{where}; every function in it scores 0"


def _stub_warnings(stubs):
    """One warning per file whose functions still raise their stub; ``stubs`` holds (relpath, function) pairs."""
    by_file = {}
    for rel, function in stubs:
        by_file.setdefault(rel, []).append(function)
    return [
        f"{rel}: not implemented yet (still raising the kit's stub): {', '.join(functions)}; "
        "these score 0 until you fill them in"
        for rel, functions in by_file.items()
    ]


def inspect_submission(root):
    """Look at every file of the submission in ``root``.

    Returns
    -------
    problems : list of str
        What makes grading impossible (a file missing or unreadable); the submission is refused.
    warnings : list of str
        What is unfinished, in the order a student should look at it; the work is still packed.
    quick : list of str
        The notebooks that ran in quick mode.
    """
    root = Path(root)
    try:
        files = student_files(root)
    except Unreadable as e:
        return [str(e)], [], []
    problems, warnings, quick, readable = [], [], [], []
    for rel in files:
        path = root / rel
        if not path.is_file():
            problems.append(
                f"missing file: {rel} (it is part of your submission; restore it from the kit if it was deleted)"
            )
            continue
        try:
            if rel.endswith(".ipynb"):
                nb = read_notebook(path, rel)
                warnings += notebook_warnings(nb, rel)
                if ran_in_quick_mode(nb):
                    quick.append(rel)
            else:
                path.read_text(encoding="utf-8")
                readable.append(rel)
        except Unreadable as e:
            problems.append(str(e))
        except (OSError, UnicodeDecodeError) as e:
            problems.append(f"{rel}: cannot be read ({e}); restore it from the kit")
    code = check_code(root, [rel for rel in readable if rel.endswith(".py")])
    return problems, code + warnings, quick


def recap(warnings, quick):
    """The lines the script prints last, so that nothing unfinished goes unnoticed."""
    lines = []
    if warnings:
        lines.append(
            f"WARNING: the zip holds unfinished work ({len(warnings)} warning(s) above); it is packed as it is, "
            "for partial credit."
        )
    for rel in quick:
        lines += ["", "!" * 100, f"QUICK MODE: {rel} ran in quick mode: {QUICK_HINT}.", "!" * 100]
    return lines


def human_size(n):
    """A byte count for people: 532 B, 14.2 KB, 3.1 MB."""
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def write_zip(root, out, exports):
    """Write ``out`` with the files to submit of ``root`` and every file in ``exports``; list them.

    The zip is written beside ``out`` first and then moved over it, so an interrupted run never
    leaves a half-written zip behind.
    """
    root, out, exports = Path(root), Path(out), Path(exports)
    members = [(root / rel, rel) for rel in student_files(root)]
    if exports.is_dir():
        for path in sorted(p for p in exports.rglob("*") if p.is_file()):
            members.append((path, path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name))
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for path, arcname in members:
            z.write(path, arcname)
    os.replace(tmp, out)
    print(f"Wrote {out.name} ({human_size(out.stat().st_size)}), holding:")
    for path, arcname in members:
        print(f"  {arcname:<45} {human_size(path.stat().st_size):>10}")


def check(root, recap_file=None):
    """The ``check`` command: print problems and warnings; return the exit status."""
    problems, warnings, quick = inspect_submission(root)
    if problems:
        print(f"Found {len(problems)} problem(s) that make grading impossible, in {root}:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    if warnings or quick:
        print(f"Unfinished work in {root} (packed anyway; each item may cost points):")
        for w in warnings:
            print(f"  - {w}")
        for rel in quick:
            print(f"  - {rel}: QUICK MODE: {QUICK_HINT}")
    else:
        files = student_files(root)
        print(
            f"All checks passed: the {len(files)} files present, every function implemented, every module imports, "
            "notebooks run top to bottom in full mode without errors."
        )
    if recap_file:
        Path(recap_file).write_text("".join(line + "\n" for line in recap(warnings, quick)), encoding="utf-8")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=".", help="the kit folder (default: the current folder)")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="report what is missing (exit 1) or unfinished (warnings, exit 0)")
    c.add_argument("--recap", help="also write the recap of the warnings to this file")
    sub.add_parser("notebooks", help="print the notebooks to export")
    z = sub.add_parser("zip", help="zip the files to submit and the exports")
    z.add_argument("out")
    z.add_argument("exports")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    if args.command == "check":
        return check(root, args.recap)
    try:
        files = student_files(root)
    except Unreadable as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.command == "notebooks":
        print("\n".join(rel for rel in files if rel.endswith(".ipynb")))
        return 0
    write_zip(root, root / args.out, root / args.exports)
    return 0


if __name__ == "__main__":
    sys.exit(main())
