"""Build the zip uploaded to Gradescope as the autograder.

Layout of the zip (it becomes ``/autograder/source``)::

    setup.sh              run once at image build: Python, a venv, requirements.txt
    run_autograder        run per submission: grades into /autograder/results/results.json
    requirements.txt
    cs231n/               the instructor copy, solution included (the reference; root-only at run time)
    staff/__init__.py, staff/markers.py, staff/autograder/   the grader and its grading tests
"""

import stat
import zipfile
from pathlib import Path

# Files at the zip root that Gradescope executes.
EXECUTABLES = ("setup.sh", "run_autograder")
# A fixed timestamp makes the zip depend only on the files' contents.
_EPOCH = (2020, 1, 1, 0, 0, 0)


def _members(repo_root):
    """Yield ``(path in the zip, file on disk)`` for everything the autograder needs."""
    grader = repo_root / "staff" / "autograder"
    for name in EXECUTABLES:
        yield name, grader / name
    yield "requirements.txt", repo_root / "requirements.txt"
    for top in (repo_root / "cs231n", grader):
        for path in sorted(top.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path.relative_to(repo_root).as_posix(), path
    for name in ("__init__.py", "markers.py"):
        yield f"staff/{name}", repo_root / "staff" / name


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
