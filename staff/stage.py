"""Stage the student kit: pick the files that ship, stub their regions, blank their notebooks, zip them.

``stage(repo_root, student_dir)`` writes the kit folder from the staff source and returns what the
release's proofs need; ``write_zip`` packs it reproducibly. ``staff/release.py`` runs both and then
the proofs; ``staff/README.md`` ("Building the release") states what ships and how files change.
"""

import os
import re
import shutil
import zipfile

import nbformat

import cs231n
from staff.leaks import public_lines, secret_lines
from staff.markers import (
    ANSWER_TAG,
    SOLUTION_TAG,
    blank_notebook,
    find_regions,
    scan_markers,
    stub_python_source,
)

# The student-owned files (listed once, in the library); the autograder takes only these from a submission.
STUDENT_FILES = cs231n.STUDENT_FILES

# What ships, as (glob pattern relative to the repository root, required). Nothing else does:
# staff/, benchmarks/, .ci/, .git, caches and data are absent because they are not listed.
ALLOW_LIST = (
    ("README.md", True),
    ("requirements.txt", True),
    ("pyproject.toml", True),
    ("collectSubmission.sh", True),
    ("collect_submission*.py", False),
    ("datasets/get_datasets.sh", True),
    ("docs/*.md", False),
    ("cs231n/**/*.py", True),
    ("notebooks/*.ipynb", True),
    ("tests/*.py", True),
)
EXECUTABLE = ("collectSubmission.sh", "datasets/get_datasets.sh")

# The README part between these comments is for staff and stays out of the kit's README.
STAFF_ONLY = re.compile(r"<!-- staff-only:start -->.*?<!-- staff-only:end -->\n*", re.DOTALL)


class ReleaseError(RuntimeError):
    """The release cannot be built, or one of its proofs failed."""


def select_files(repo_root):
    """List the files that ship, by the allow-list.

    Parameters
    ----------
    repo_root : Path
        Root of the staff source.

    Returns
    -------
    list of str
        Sorted POSIX paths relative to ``repo_root``.

    Raises
    ------
    ReleaseError
        When a required entry matches no file.
    """
    chosen = set()
    for pattern, required in ALLOW_LIST:
        found = [p for p in repo_root.glob(pattern) if p.is_file() and "__pycache__" not in p.parts]
        if required and not found:
            raise ReleaseError(f"allow-list entry {pattern!r} matches no file under {repo_root}")
        chosen.update(p.relative_to(repo_root).as_posix() for p in found)
    return sorted(chosen)


def stage(repo_root, student_dir):
    """Write the student kit folder and collect what the proofs need.

    Parameters
    ----------
    repo_root : Path
        Root of the staff source.
    student_dir : Path
        Folder to fill (must not exist yet).

    Returns
    -------
    dict
        ``files`` (shipped paths), ``stubs`` (relpath -> list of stubbed function names, one per
        region), ``blanked`` (notebook relpath -> {"solution": [...], "answer": [...]}, where each
        blanked piece is) and ``secrets``
        (compacted solution line -> (origin, matched anywhere), as ``find_leaks`` takes them).

    Raises
    ------
    MarkerError
        On malformed markers in any shipped file.
    ReleaseError
        When the files holding solutions and STUDENT_FILES disagree.
    """
    files = select_files(repo_root)
    stubs, blanked, removed, public = {}, {}, [], set()
    for rel in files:
        src, dst = repo_root / rel, student_dir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".py"):
            functions, lines, given = _stage_python(src, dst, rel)
            if functions:
                stubs[rel] = functions
        elif rel.endswith(".ipynb"):
            pieces, lines, given = _stage_notebook(src, dst, rel)
            if pieces:
                blanked[rel] = pieces
        else:
            _copy(src, dst, rel)
            lines, given = [], set()
        removed += lines
        public |= given
        if rel in EXECUTABLE:
            dst.chmod(0o755)
    _check_student_files(set(stubs) | set(blanked))
    return {"files": files, "stubs": stubs, "blanked": blanked, "secrets": secret_lines(removed, public)}


def _stage_python(src, dst, rel):
    """Write the stubbed copy of one ``.py`` file.

    Returns
    -------
    functions : list of str
        The stubbed function of each region (``Class.method`` for methods).
    removed : list of (str, str, bool)
        ``(origin, line, False)`` per solution line, as ``secret_lines`` takes them.
    public : set of str
        The compacted code lines outside the regions, for library files (``cs231n/``) only.
    """
    text = src.read_text(encoding="utf-8")
    regions = find_regions(text, rel)
    dst.write_text(stub_python_source(text, rel), encoding="utf-8")
    removed = [(f"{rel}:{r.start + 1 + i}", line, False) for r in regions for i, line in enumerate(r.body)]
    public = public_lines(text, [(r.start, r.end) for r in regions]) if rel.startswith("cs231n/") else set()
    return [r.function for r in regions], removed, public


def _stage_notebook(src, dst, rel):
    """Write the blanked copy of one notebook.

    Returns
    -------
    pieces : dict or None
        ``{"solution": [...], "answer": [...]}``: where each blanked piece is; None when nothing was.
    removed : list of (str, str, bool)
        ``(origin, line, is an answer's prose)`` per removed line, as ``secret_lines`` takes them.
    public : set of str
        The compacted lines of the notebook's given code.
    """
    nb = nbformat.read(src, as_version=4)
    student, blanks = blank_notebook(nb, rel)
    nbformat.write(student, dst)
    pieces = {tag: [where for where, _, t in blanks if t == tag] for tag in (SOLUTION_TAG, ANSWER_TAG)}
    removed = [(where, line, kind == ANSWER_TAG) for where, lines, kind in blanks for line in lines]
    return (pieces if blanks else None), removed, _given_notebook_lines(nb, rel)


def _given_notebook_lines(nb, rel):
    """Return the compacted code lines of untagged cells and those outside the markers of solution cells."""
    public = set()
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        if SOLUTION_TAG not in cell.metadata.get("tags", []):
            public |= public_lines(cell.source)
        elif regions := scan_markers(cell.source, rel):
            public |= public_lines(cell.source, [(a, b) for a, b, _ in regions])
    return public


def _copy(src, dst, rel):
    """Copy a file that holds no solution; the README loses its staff-only blocks."""
    if rel == "README.md":
        dst.write_text(STAFF_ONLY.sub("", src.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        shutil.copyfile(src, dst)


def _check_student_files(holders):
    """Refuse unless the files holding regions or tagged cells are exactly ``STUDENT_FILES``."""
    unlisted = sorted(holders - set(STUDENT_FILES))
    if unlisted:
        raise ReleaseError(
            f"files with solution regions or tagged cells that are not in STUDENT_FILES "
            f"(staff/README.md): {unlisted}; add them there or remove the markers"
        )
    empty = sorted(set(STUDENT_FILES) - holders)
    if empty:
        raise ReleaseError(
            f"student-owned files (STUDENT_FILES) that are missing or hold no solution region "
            f"or {SOLUTION_TAG!r}/{ANSWER_TAG!r} cell: {empty}"
        )


def write_zip(src_dir, zip_path, prefix):
    """Zip ``src_dir`` under the folder ``prefix``, byte-for-byte reproducibly.

    Members are sorted, dated 1980-01-01 and keep only the executable bit of their mode.

    Parameters
    ----------
    src_dir : Path
        Folder to pack.
    zip_path : Path
        The zip to write (replaced when it exists).
    prefix : str
        Top-level folder inside the zip; "" puts the files at the root.

    Returns
    -------
    Path
        ``zip_path``.
    """
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in src_dir.rglob("*") if p.is_file()):
            arcname = "/".join(filter(None, [prefix, path.relative_to(src_dir).as_posix()]))
            info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return zip_path
