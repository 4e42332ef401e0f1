"""Check and package a submission; ``collectSubmission.sh`` runs this from the kit root.

Commands (each takes the kit root with ``--root``, default the current folder):

- ``check``: look for every problem that would make the submission wrong: a required file
  missing, a notebook not run top to bottom or holding an error, a module of ``cs231n`` that does
  not import. Prints every problem found and exits 1 when there is any, 0 otherwise.
- ``notebooks``: print the notebooks to export, one path per line.
- ``zip OUT EXPORTS``: write the zip OUT holding the required files and every file in the folder
  EXPORTS (the notebooks exported for reading), then list what it holds.

Only the standard library is used, so the check runs even when the environment is half broken.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# The files you complete: exactly these, and nothing else, are graded.
REQUIRED_FILES = (
    "cs231n/layers.py",
    "cs231n/classifiers/fc_net.py",
    "cs231n/optim.py",
    "cs231n/graph.py",
    "notebooks/backprop.ipynb",
    "notebooks/two_layer_net.ipynb",
    "notebooks/FullyConnectedNets.ipynb",
)
# Each must import in a fresh interpreter; a function that is still a stub only fails when called.
MODULES = ("cs231n.layers", "cs231n.classifiers.fc_net", "cs231n.optim", "cs231n.graph")
IMPORT_TIMEOUT = 120
RERUN_HINT = "in Jupyter use Kernel > Restart Kernel and Run All Cells, then save"


def _ordinal(n):
    """1 -> '1st', 2 -> '2nd', 11 -> '11th', 23 -> '23rd'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _source(cell):
    """The source of a notebook cell as one string (notebooks store it as a string or a list)."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def check_notebook(path, relpath):
    """Return the problems of one notebook: unexecuted or out-of-order code cells, error outputs.

    Parameters
    ----------
    path : Path
        The notebook file.
    relpath : str
        How the messages name it.

    Returns
    -------
    list of str
        One message per problem; empty when the notebook was run top to bottom without an error.
    """
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return [f"{relpath}: cannot be read as a notebook ({e}); restore it from the kit and run it again"]
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return [f"{relpath}: not a notebook in nbformat 4 (no list of cells); save it again from Jupyter"]
    problems, counts, unrun = [], [], []
    code_cells = 0
    for n, cell in enumerate(nb["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        code_cells += 1
        where = f"cell {n} (the {_ordinal(code_cells)} code cell)"
        for out in cell.get("outputs") or []:
            if isinstance(out, dict) and out.get("output_type") == "error":
                problems.append(
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
    if unrun:
        shown = ", ".join(unrun[:3]) + (f" and {len(unrun) - 3} more" if len(unrun) > 3 else "")
        problems.append(f"{relpath}: not executed: {shown} never ran; {RERUN_HINT}")
    expected = list(range(1, len(counts) + 1))
    if counts != expected:
        shown = ", ".join(str(c) for c in counts[:12]) + (", ..." if len(counts) > 12 else "")
        problems.append(
            f"{relpath}: not executed top to bottom: the execution counts read [{shown}], expected 1, 2, 3, ... "
            f"in order; {RERUN_HINT}"
        )
    return problems


# Runs in a fresh interpreter: imports each module named on the command line and writes, as JSON to
# the file named first, what failed and where. A file rather than stdout, since modules may print.
_IMPORT_SCRIPT = r"""
import importlib, json, sys, traceback
failures = {}
for name in sys.argv[2:]:
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
with open(sys.argv[1], "w") as f:
    json.dump(failures, f)
"""


def check_imports(root, modules):
    """Import ``modules`` in a fresh interpreter started in ``root``; return one problem per failure.

    Parameters
    ----------
    root : Path
        The kit folder; it goes first on the import path, so its ``cs231n`` is the one imported.
    modules : sequence of str
        Dotted module names.

    Returns
    -------
    list of str
        ``"`import NAME` fails: ERROR (FILE, line N)"`` per module that does not import.
    """
    if not modules:
        return []
    env = dict(os.environ)
    env.pop("PYTHONSAFEPATH", None)  # it would drop the kit folder from the import path
    env["PYTHONPATH"] = os.pathsep.join([str(root)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.setdefault("MPLBACKEND", "Agg")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "imports.json"
        cmd = [sys.executable, "-c", _IMPORT_SCRIPT, str(report), *modules]
        try:
            r = subprocess.run(
                cmd, cwd=root, env=env, capture_output=True, text=True, timeout=IMPORT_TIMEOUT, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired:
            return [
                f"importing {', '.join(modules)} did not finish within {IMPORT_TIMEOUT} s: "
                "does a module run a long loop when it is imported?"
            ]
        if not report.is_file():
            last = (r.stderr.strip().splitlines() or [f"exit code {r.returncode}"])[-1]
            return [f"importing {', '.join(modules)} stopped Python before it finished: {last}"]
        failures = json.loads(report.read_text())
    problems = []
    for name, (kind, message, filename, line) in failures.items():
        where = ""
        if filename:
            path = Path(filename)
            shown = path.relative_to(root).as_posix() if path.is_absolute() and path.is_relative_to(root) else filename
            where = f" ({shown}, line {line})"
        problems.append(f"`import {name}` fails: {kind}: {message}{where}")
    return problems


def find_problems(root):
    """Every problem of the submission in ``root``, in the order a student should fix them."""
    root = Path(root)
    problems = [
        f"missing file: {rel} (it is part of your submission; restore it from the kit if it was deleted)"
        for rel in REQUIRED_FILES
        if not (root / rel).is_file()
    ]
    for rel in REQUIRED_FILES:
        if rel.endswith(".ipynb") and (root / rel).is_file():
            problems += check_notebook(root / rel, rel)
    # A missing module file is reported above already.
    present = [m for m in MODULES if (root / (m.replace(".", "/") + ".py")).is_file()]
    return problems + check_imports(root, present)


def human_size(n):
    """A byte count for people: 532 B, 14.2 KB, 3.1 MB."""
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def write_zip(root, out, exports):
    """Write ``out`` with the required files of ``root`` and every file in ``exports``; list them.

    The zip is written beside ``out`` first and then moved over it, so an interrupted run never
    leaves a half-written zip behind.
    """
    root, out, exports = Path(root), Path(out), Path(exports)
    members = [(root / rel, rel) for rel in REQUIRED_FILES]
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=".", help="the kit folder (default: the current folder)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="report every problem; exit 1 when there is one")
    sub.add_parser("notebooks", help="print the notebooks to export")
    z = sub.add_parser("zip", help="zip the required files and the exports")
    z.add_argument("out")
    z.add_argument("exports")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    if args.command == "notebooks":
        print("\n".join(rel for rel in REQUIRED_FILES if rel.endswith(".ipynb")))
        return 0
    if args.command == "zip":
        write_zip(root, root / args.out, root / args.exports)
        return 0
    problems = find_problems(root)
    if problems:
        print(f"Found {len(problems)} problem(s) with the submission in {root}:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print(
        f"All checks passed: {len(REQUIRED_FILES)} required files present, notebooks run top to bottom "
        f"without errors, {len(MODULES)} modules import."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
