"""Build the zip uploaded to Gradescope as the autograder.

Layout of the zip (it becomes ``/autograder/source``)::

    setup.sh              run once at image build: Python, a venv, requirements.txt
    run_autograder        run per submission: grades into /autograder/results/results.json
    requirements.txt
    cs231n/               the reference: the student-owned files and the modules they import
                          (sandbox.package_files; root-only at run time)
    staff/__init__.py, staff/autograder/   the grader and its grading tests

Every member comes from an allow-list: no stray file of the instructor's folders (an editor backup, a
``layers.py.orig``, a cache) is packed.
"""

import stat
import zipfile
from pathlib import Path

from .sandbox import package_files

# Files at the zip root that Gradescope executes.
EXECUTABLES = ("setup.sh", "run_autograder")
# A fixed timestamp makes the zip depend only on the files' contents.
_EPOCH = (2020, 1, 1, 0, 0, 0)


def _grader_files(grader):
    """The grader's own files: its modules, its settings and its grading tests (regular files only)."""
    patterns = ("*.py", "pytest.ini", "tests/conftest.py", "tests/test_*.py")
    for path in sorted({p for pattern in patterns for p in grader.glob(pattern)}):
        if path.is_file() and not path.is_symlink() and not path.name.startswith("."):
            yield path


def _members(repo_root):
    """Yield ``(path in the zip, file on disk)`` for everything the autograder needs."""
    grader = repo_root / "staff" / "autograder"
    for name in EXECUTABLES:
        yield name, grader / name
    yield "requirements.txt", repo_root / "requirements.txt"
    yield "staff/__init__.py", repo_root / "staff" / "__init__.py"
    for rel in package_files(repo_root)[0]:
        yield rel, repo_root / rel
    for path in _grader_files(grader):
        yield path.relative_to(repo_root).as_posix(), path


def build_autograder_zip(repo_root: Path, out_zip: Path) -> Path:
    """Write the Gradescope autograder zip for the staff source in ``repo_root``.

    Parameters
    ----------
    repo_root : Path
        The repository (staff source) root: holds ``cs231n/``, ``staff/`` and ``requirements.txt``.
    out_zip : Path
        The zip to write; its folder is created.

    Returns
    -------
    out_zip : Path
        The zip written, with ``setup.sh`` and ``run_autograder`` (mode 755) at its root.

    Raises
    ------
    ValueError
        When ``repo_root`` lacks a file the autograder needs.
    """
    repo_root, out_zip = Path(repo_root), Path(out_zip)
    members = list(_members(repo_root))
    missing = [str(src) for _, src in members if not src.is_file()]
    if missing or not (repo_root / "cs231n" / "__init__.py").is_file():
        raise ValueError(f"repo_root {repo_root} lacks files the autograder needs: {missing or ['cs231n/__init__.py']}")
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out_zip, "w", zipfile.ZIP_DEFLATED) as zf:
        for arcname, src in members:
            info = zipfile.ZipInfo(arcname, date_time=_EPOCH)
            mode = 0o755 if arcname in EXECUTABLES else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, src.read_bytes())
    return out_zip
