"""The student sandbox: the instructor's package with only the student-owned files taken from a submission.

A submission is a folder or a zip. Only the student-owned ``.py`` files are taken from it, found at
their ``cs231n/...`` path (under any leading folder) or by file name at the submission's root; every
other file it holds (its own tests, a patched ``gradient_check.py``, notebooks, symlinks) is ignored.
Every given file comes from the instructor copy.
"""

import ast
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from staff.markers import START

PACKAGE = "cs231n"
# Larger student files are refused: the real ones are tens of kilobytes.
MAX_FILE_BYTES = 2 * 1024 * 1024


def student_owned_files(instructor_root):
    """Return the student-owned ``.py`` files of the instructor copy: those holding a solution region.

    Parameters
    ----------
    instructor_root : Path
        Directory holding the instructor's ``cs231n`` package.

    Returns
    -------
    paths : list of str
        Sorted POSIX paths relative to ``instructor_root``, e.g. ``["cs231n/classifiers/fc_net.py", ...]``.
    """
    package = Path(instructor_root) / PACKAGE
    if not package.is_dir():
        raise ValueError(f"instructor_root must hold the {PACKAGE}/ package, got {instructor_root}")
    owned = []
    for path in sorted(package.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        if any(line.strip() == START for line in path.read_text(encoding="utf-8").splitlines()):
            owned.append(path.relative_to(instructor_root).as_posix())
    return owned


def _module_file(root, dotted):
    """Return the path (relative to ``root``) of the module ``dotted``, or None."""
    base = dotted.replace(".", "/")
    for rel in (f"{base}.py", f"{base}/__init__.py"):
        if (Path(root) / rel).is_file():
            return rel
    return None


def _eager_imports(tree):
    """Yield the import statements that run when the module is imported (not those inside functions)."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


def preload_modules(instructor_root):
    """List the modules outside the package that grading can import through the instructor's code.

    Starting from the student-owned files and the package's ``__init__.py`` files (the instructor's
    versions: their imports are given code), follow the imports inside the package and collect every
    absolute import that leads outside it, e.g. ``numpy`` or ``json``. Imports inside functions (a
    drawing helper's matplotlib) are left out: grading never calls those functions.

    Parameters
    ----------
    instructor_root : Path
        Directory holding the instructor's ``cs231n`` package.

    Returns
    -------
    modules : list of str
        Sorted dotted names (some may name a function, ``from m import f``; the importer skips those).
    """
    root = Path(instructor_root)
    todo = student_owned_files(root) + [p.relative_to(root).as_posix() for p in (root / PACKAGE).rglob("__init__.py")]
    seen, names = set(), set()
    while todo:
        rel = todo.pop()
        if rel is None or rel in seen:
            continue
        seen.add(rel)
        module = rel[:-3].replace("/", ".")
        package = module[: -len(".__init__")] if module.endswith(".__init__") else module.rsplit(".", 1)[0]
        for node in _eager_imports(ast.parse((root / rel).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1]) if node.level else ""
                target = ".".join(p for p in (base, node.module) if p)
                targets = [target] + [f"{target}.{a.name}" for a in node.names if a.name != "*"]
            for target in targets:
                if target.split(".")[0] == PACKAGE:
                    todo.append(_module_file(root, target))
                else:
                    names.add(target)
    return sorted(names)


def _submission_entries(submission):
    """Return ``({posix path: reader}, notes)`` for the regular files of a folder or zip submission."""
    submission = Path(submission)
    notes = []
    if submission.is_dir() and not submission.is_symlink():
        entries = {}
        for root, dirs, files in os.walk(submission, followlinks=False):
            # Hidden folders (.git, a virtual environment) and caches never hold graded files.
            dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
            for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
                path = Path(root, name)
                rel = path.relative_to(submission).as_posix()
                st = os.lstat(path)
                if not stat.S_ISREG(st.st_mode):
                    if name.endswith(".py") or name == PACKAGE:
                        notes.append(f"ignored {rel}: not a regular file (links are not followed)")
                    continue
                entries[rel] = (st.st_size, lambda p=path: _read_regular(p))
        zips = [rel for rel in entries if rel.lower().endswith(".zip") and "/" not in rel]
        if len(zips) == 1 and not any(rel.endswith(".py") for rel in entries):
            return _submission_entries(submission / zips[0])
        return entries, notes
    if submission.is_file() and zipfile.is_zipfile(submission):
        entries = {}
        archive = zipfile.ZipFile(submission)
        for info in archive.infolist():
            if info.is_dir():
                continue
            # Zips made on Windows or by writestr carry no file type; only a Unix link type is refused.
            mode = info.external_attr >> 16
            if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
                notes.append(f"ignored {info.filename}: not a regular file")
                continue
            rel = PurePosixPath(info.filename.replace("\\", "/"))
            if rel.is_absolute() or ".." in rel.parts:
                notes.append(f"ignored {info.filename}: unsafe path")
                continue
            entries[rel.as_posix()] = (info.file_size, lambda i=info: archive.read(i))
        return entries, notes
    raise ValueError(f"submission must be a folder or a zip file, got {submission}")


def _read_regular(path):
    """Read ``path`` without following a symlink swapped in after the walk."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        return f.read(MAX_FILE_BYTES + 1)


def _find(entries, wanted):
    """Pick the submission path for the student-owned file ``wanted`` (``cs231n/...``), or None."""
    inner = wanted.split("/", 1)[1]
    name = wanted.rsplit("/", 1)[-1]
    tiers = [
        [p for p in entries if p == wanted or p.endswith("/" + wanted)],
        [p for p in entries if p == inner or p.endswith("/" + inner)],
        [p for p in entries if p == name],
    ]
    for tier in tiers:
        if tier:
            return min(tier, key=lambda p: (p.count("/"), p))
    return None


def read_submission(submission, wanted):
    """Read the student-owned files out of a submission.

    Parameters
    ----------
    submission : Path
        A folder, a zip, or a folder holding a single zip.
    wanted : list of str
        Student-owned paths, e.g. ``["cs231n/layers.py", ...]``.

    Returns
    -------
    files : dict of str to bytes
        Content of each student-owned file found, keyed by its path in ``wanted``.
    notes : list of str
        What was missing, ignored or refused, for the student to read.
    """
    entries, notes = _submission_entries(submission)
    files = {}
    for rel in wanted:
        found = _find(entries, rel)
        if found is None:
            notes.append(f"{rel} was not found in the submission: its functions score 0")
            continue
        size, read = entries[found]
        data = read() if size <= MAX_FILE_BYTES else b""
        if size > MAX_FILE_BYTES or len(data) > MAX_FILE_BYTES:
            notes.append(f"{found} is larger than {MAX_FILE_BYTES} bytes and was not graded")
            continue
        files[rel] = data
    return files, notes


def build_sandbox(instructor_root, submission, parent=None):
    """Create the sandbox: the instructor's package with the submission's student-owned files.

    Parameters
    ----------
    instructor_root : Path
        Directory holding the instructor's ``cs231n`` package (with the solution).
    submission : Path
        Folder or zip.
    parent : Path, optional
        Where to create the sandbox directory (a system temporary directory by default).

    Returns
    -------
    sandbox : Path
        A new world-readable, read-only directory holding ``cs231n/``; the caller removes it.
    student_files : list of str
        The student-owned paths (relative to the sandbox), found or not.
    notes : list of str
        Messages about missing or ignored files.
    """
    instructor_root = Path(instructor_root)
    owned = student_owned_files(instructor_root)
    files, notes = read_submission(submission, owned)
    sandbox = Path(tempfile.mkdtemp(prefix="cs231n-sandbox-", dir=parent))
    try:
        src = instructor_root / PACKAGE
        for path in sorted(src.rglob("*")):
            rel = path.relative_to(instructor_root).as_posix()
            if "__pycache__" in path.parts or path.suffix == ".pyc" or rel in owned or path.is_symlink():
                continue
            dest = sandbox / rel
            if path.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest)
        for rel, data in files.items():
            (sandbox / rel).parent.mkdir(parents=True, exist_ok=True)
            (sandbox / rel).write_bytes(data)
        # Readable by the unprivileged user that imports from it, writable by nobody but the grader.
        for root, _dirs, names in os.walk(sandbox):
            os.chmod(root, 0o755)
            for n in names:
                os.chmod(os.path.join(root, n), 0o644)
    except BaseException:
        shutil.rmtree(sandbox, ignore_errors=True)
        raise
    return sandbox, owned, notes
