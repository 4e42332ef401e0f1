"""Read the student-owned files out of a submission (a folder or a zip), and say what else was ignored.

Only the student-owned ``.py`` files are taken, found at their ``cs231n/...`` path (under any leading
folder) or by file name at the submission's root. No file is read beyond :data:`MAX_FILE_BYTES`, whatever
a zip's headers claim, so a lying header or a zip bomb costs only that file. Every other part of the
submission is ignored with a note that says why (a given file, a notebook, a misnamed file, a link).
"""

import difflib
import os
import stat
import zipfile
from pathlib import Path, PurePosixPath

# Larger student files are refused: the real ones are tens of kilobytes.
MAX_FILE_BYTES = 2 * 1024 * 1024
# Parts of a submission that are never the student's work: version control, caches, OS metadata.
JUNK = (".git", ".ipynb_checkpoints", "__pycache__", "__MACOSX", ".DS_Store")
# Notebooks and their exports are graded by people, not by the autograder.
NOT_AUTOGRADED = (".ipynb", ".html", ".pdf")
# Longest list of names in one note.
MAX_NAMES = 5


class Unreadable(Exception):
    """A member could not be read: too large, corrupt or not a regular file."""


def _read_bounded(f):
    data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise Unreadable(f"it is larger than {MAX_FILE_BYTES} bytes")
    return data


def _read_regular(path):
    """Read ``path`` without following a symlink swapped in after the walk."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        return _read_bounded(f)


def _read_member(archive, info):
    """Read a zip member, decompressing at most MAX_FILE_BYTES + 1 bytes whatever its header says."""
    try:
        with archive.open(info) as f:
            return _read_bounded(f)
    except Unreadable:
        raise
    except Exception as exc:  # a corrupt, encrypted or oddly compressed member costs only itself
        raise Unreadable(f"the zip member is damaged or uses an unsupported format ({type(exc).__name__})") from None


def _folder_entries(folder, notes):
    entries = {}
    for root, dirs, files in os.walk(folder, followlinks=False):
        junk = [d for d in dirs if d in JUNK or d.startswith(".")]
        dirs[:] = [d for d in dirs if d not in junk]
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            path = Path(root, name)
            rel = path.relative_to(folder).as_posix()
            if name in JUNK:
                continue
            if not stat.S_ISREG(os.lstat(path).st_mode):
                notes.append(f"ignored {rel}: not a regular file (links are not followed)")
                continue
            entries[rel] = lambda p=path: _read_regular(p)
    return entries


def _zip_entries(path, notes):
    try:
        archive = zipfile.ZipFile(path)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ValueError(f"submission {Path(path).name} is not a readable zip file ({exc})") from None
    entries = {}
    for info in infos:
        rel = PurePosixPath(info.filename.replace("\\", "/"))
        if info.is_dir() or any(part in JUNK for part in rel.parts):
            continue
        # Zips made on Windows or by writestr carry no file type; only a Unix link type is refused.
        if stat.S_IFMT(info.external_attr >> 16) not in (0, stat.S_IFREG):
            notes.append(f"ignored {info.filename}: not a regular file")
            continue
        if rel.is_absolute() or ".." in rel.parts:
            notes.append(f"ignored {info.filename}: unsafe path")
            continue
        entries[rel.as_posix()] = lambda i=info: _read_member(archive, i)
    return entries


def submission_entries(submission):
    """Return ``({posix path: read()}, notes)`` for the regular files of a folder or zip submission.

    A folder holding nothing but one zip (and no ``.py`` file) is read as that zip.
    """
    submission = Path(submission)
    notes = []
    if submission.is_dir() and not submission.is_symlink():
        entries = _folder_entries(submission, notes)
        zips = [rel for rel in entries if rel.lower().endswith(".zip") and "/" not in rel]
        if len(zips) == 1 and not any(rel.endswith(".py") for rel in entries):
            return submission_entries(submission / zips[0])
        return entries, notes
    if submission.is_file() and zipfile.is_zipfile(submission):
        return _zip_entries(submission, notes), notes
    raise ValueError(f"submission must be a folder or a zip file, got {submission}")


def _find(paths, wanted):
    """Pick the submission path for the student-owned file ``wanted`` (``cs231n/...``); list the others."""
    inner = wanted.split("/", 1)[1]
    name = wanted.rsplit("/", 1)[-1]
    tiers = [
        [p for p in paths if p == wanted or p.endswith("/" + wanted)],
        [p for p in paths if p == inner or p.endswith("/" + inner)],
        [p for p in paths if p == name],
    ]
    candidates = [p for tier in tiers for p in tier]
    for tier in tiers:
        if tier:
            chosen = min(tier, key=lambda p: (p.count("/"), p))
            return chosen, sorted(set(candidates) - {chosen})
    return None, []


def _names(paths):
    shown = ", ".join(paths[:MAX_NAMES])
    return shown + (f" and {len(paths) - MAX_NAMES} more" if len(paths) > MAX_NAMES else "")


def ignored_notes(paths, wanted, given):
    """Notes saying why ``paths`` (the files of a submission that were not taken) were ignored.

    Misnamed copies of a student file get a note each, with the name they probably meant; the rest
    are grouped by reason, so a whole kit folder gives a few lines.

    Parameters
    ----------
    paths : list of str
        Submission paths that were not taken.
    wanted : list of str
        The student-owned paths, e.g. ``cs231n/layers.py``.
    given : list of str
        The kit's other modules (``cs231n/layer_utils.py``, ...): the course's copy is always used.
    """
    given_names = {g.rsplit("/", 1)[-1] for g in given}
    wanted_names = {w.rsplit("/", 1)[-1]: w for w in wanted}
    groups = {
        "given files and tests (the course's copy is used)": [],
        "notebooks and their exports (not graded by the autograder)": [],
        f"other files (only {', '.join(wanted)} are graded)": [],
    }
    given_group, notebook_group, other_group = groups
    notes = []
    for path in sorted(paths):
        name = path.rsplit("/", 1)[-1]
        close = difflib.get_close_matches(name, list(wanted_names), n=1, cutoff=0.7) if name.endswith(".py") else []
        if path.lower().endswith(NOT_AUTOGRADED):
            groups[notebook_group].append(path)
        elif name in given_names or name.startswith(("test_", "conftest")) or path.startswith("cs231n/"):
            groups[given_group].append(path)
        elif close:
            notes.append(f"ignored {path}: not a file of the assignment; did you mean {wanted_names[close[0]]}?")
        else:
            groups[other_group].append(path)
    for reason, members in groups.items():
        if members:
            notes.append(f"ignored {reason}: {_names(members)}")
    return notes


def read_submission(submission, wanted, given=()):
    """Read the student-owned files out of a submission.

    Parameters
    ----------
    submission : Path
        A folder, a zip, or a folder holding a single zip.
    wanted : list of str
        Student-owned paths, e.g. ``["cs231n/layers.py", ...]``.
    given : list of str
        The kit's other modules (only to explain why a copy of one in the submission is ignored).

    Returns
    -------
    files : dict of str to bytes
        Content of each student-owned file found, keyed by its path in ``wanted``.
    notes : list of str
        What was missing, ignored or refused, and why, for the student to read.
    """
    entries, notes = submission_entries(submission)
    files, taken = {}, set()
    for rel in wanted:
        found, others = _find(list(entries), rel)
        if found is None:
            notes.append(f"{rel} was not found in the submission: its functions score 0")
            continue
        taken.add(found)
        for other in others:
            taken.add(other)
            notes.append(f"ignored {other}: {found} was graded as {rel}")
        try:
            files[rel] = entries[found]()
        except (Unreadable, OSError) as exc:
            notes.append(f"{found} was not graded: {exc}")
    notes += ignored_notes([p for p in entries if p not in taken], wanted, given)
    return files, notes
