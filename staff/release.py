"""Build the student release and the Gradescope autograder, and prove that no solution leaks.

Run from the repository root::

    python -m staff.release [--out DIR]     # default DIR: staff/build/

It writes ``DIR/student/`` (the student kit), ``DIR/cs231n_kit.zip`` (the same kit, in a top-level
``cs231n_kit/`` folder), ``DIR/autograder.zip`` (made by ``staff/autograder/package.py``) and
``DIR/release_summary.json``, and then proves four things, failing with ``ReleaseError`` when it
cannot: no solution line survives in the kit folder or its zip; the kit names no file it does not
ship; the kit imports; the kit's public tests fail on exactly the stubbed functions. The rules are
in ``staff/README.md`` ("Building the release").

This module runs the steps; each lives in a module of its own: ``staff/stage.py`` writes the kit,
``staff/leaks.py``, ``staff/unshipped.py`` and ``staff/kit_runs.py`` hold the proofs.
"""

import argparse
import importlib.util
import json
import shutil
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

from cs231n.data_utils import default_cifar10_dir
from staff.kit_runs import check_imports, check_tests, make_reference
from staff.leaks import find_leaks, kit_texts
from staff.markers import ANSWER_TAG, SOLUTION_TAG, MarkerError
from staff.stage import EXECUTABLE, ReleaseError, stage, write_zip
from staff.unshipped import find_unshipped

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "staff" / "build"
KIT_NAME = "cs231n_kit"


def build(out_dir=DEFAULT_OUT, repo_root=REPO_ROOT, prove=True):
    """Build the student kit and the autograder zip, and prove that the release is sound.

    Parameters
    ----------
    out_dir : Path or str
        Output folder (default ``staff/build/``); its ``student/`` folder and zips are replaced.
    repo_root : Path or str
        Root of the staff source (default: this repository).
    prove : bool
        Run the proofs (no leak, only shipped files named, kit imports, tests fail only on stubs).
        Default True.

    Returns
    -------
    dict of str to Path
        ``student`` (kit folder), ``kit_zip``, ``autograder_zip`` and ``summary``
        (``release_summary.json``).

    Raises
    ------
    MarkerError
        On malformed markers (the message names file and line).
    ReleaseError
        When a proof fails or the inputs are inconsistent.
    """
    t0 = time.perf_counter()
    out_dir, repo_root = Path(out_dir).resolve(), Path(repo_root).resolve()
    student = out_dir / "student"
    if student.exists():
        shutil.rmtree(student)
    staged = stage(repo_root, student)
    kit_zip = write_zip(student, out_dir / f"{KIT_NAME}.zip", KIT_NAME)
    autograder_zip = build_autograder(repo_root, out_dir / "autograder.zip")
    summary = {
        "files": staged["files"],
        "stubs": staged["stubs"],
        "blanked": staged["blanked"],
        "secrets_checked": len(staged["secrets"]),
    }
    if prove:
        summary.update(_prove(staged, student, kit_zip, repo_root))
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    summary_path = out_dir / "release_summary.json"
    summary_path.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    print_summary(summary, student, kit_zip, autograder_zip)
    return {"student": student, "kit_zip": kit_zip, "autograder_zip": autograder_zip, "summary": summary_path}


def build_autograder(repo_root, out_zip):
    """Build the autograder zip with ``staff/autograder/package.py``; return its path.

    Raises
    ------
    ReleaseError
        If the packager is missing from the staff tree.
    """
    if (
        importlib.util.find_spec("staff.autograder") is None
        or importlib.util.find_spec("staff.autograder.package") is None
    ):
        raise ReleaseError("staff/autograder/package.py is missing: the autograder zip cannot be built")
    from staff.autograder.package import build_autograder_zip  # noqa: PLC0415 (checked for above: may be absent)

    return Path(build_autograder_zip(Path(repo_root), Path(out_zip)))


def _prove(staged, student, kit_zip, repo_root):
    """Run the four proofs on the kit; return the summary's ``imports`` and ``tests``.

    Raises
    ------
    ReleaseError
        Naming every problem of the first proof that fails.
    """
    # The autograder zip holds the reference solution on purpose (root-only on Gradescope);
    # what must be clean is what students get.
    leaks = find_leaks(staged["secrets"], kit_texts(student, [kit_zip]))
    if leaks:
        raise ReleaseError("solution lines leak into the release:\n  " + "\n  ".join(leaks))
    unshipped = find_unshipped(student, repo_root, kit_texts(student))
    if unshipped:
        raise ReleaseError(
            "the kit names files it does not ship (a student cannot follow these):\n  " + "\n  ".join(unshipped)
        )
    stubs = {(f, rel) for rel, funcs in staged["stubs"].items() for f in funcs}
    with tempfile.TemporaryDirectory(prefix="kit-") as tmp:
        # The kit runs as a student unpacks the zip, so these proofs cover the zip too.
        with zipfile.ZipFile(kit_zip) as zf:
            zf.extractall(tmp)
        kit = Path(tmp) / KIT_NAME
        for name in EXECUTABLE:
            (kit / name).chmod(0o755)
        imports = check_imports(kit)
        reference = make_reference(kit, repo_root, staged["stubs"], Path(tmp) / "reference")
        return {"imports": imports, "tests": check_tests(kit, reference, stubs, _cifar_dir(repo_root))}


def _cifar_dir(repo_root):
    """Return the CIFAR-10 folder for the kit's tests: the library's default, else the shared copy, else None."""
    # The offline copy that sits beside the repository on development and CI machines.
    shared = repo_root.parent / "shared" / "data" / "cifar-10-batches-py"
    return next((d for d in (default_cifar10_dir(), shared) if (d / "data_batch_1").is_file()), None)


def print_summary(summary, student, kit_zip, autograder_zip):
    """Print what was built and what was proved."""
    print(f"student kit: {student} ({len(summary['files'])} files), zip: {kit_zip}")
    print(textwrap.fill(", ".join(summary["files"]), width=100, initial_indent="  ", subsequent_indent="  "))
    print(f"autograder:  {autograder_zip}")
    print("stubbed:")
    for rel, funcs in summary["stubs"].items():
        print(f"  {rel:36s} {len(funcs):3d} regions in {len(set(funcs))} functions")
    for rel, pieces in summary["blanked"].items():
        print(
            f"  {rel:36s} {len(pieces[SOLUTION_TAG]):3d} solution regions or cells, {len(pieces[ANSWER_TAG])} answers"
        )
    if "tests" in summary:
        t = summary["tests"]
        print(
            f"proved: no leak ({summary['secrets_checked']} solution lines checked in the kit folder and zip); "
            f"the kit names only files it ships; kit imports ({len(summary['imports'])} modules)"
        )
        print(
            f"kit tests: {len(t['passed'])} passed, {len(t['failed'])} failed, {len(t['skipped'])} skipped; every "
            f"failure is a stub's, and each of the {len(t['reached_by'])} stubbed functions fails a test that "
            "reaches it"
        )
    print(f"done in {summary['seconds']} s")


def main(argv=None):
    """Command line: ``python -m staff.release [--out DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m staff.release", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: staff/build/)")
    args = parser.parse_args(argv)
    try:
        build(args.out)
    except (MarkerError, ReleaseError) as e:
        print(f"release build failed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
