"""Find the places where the student kit names a file or folder that it does not ship.

The kit's README, docs, notebooks, code comments and tests may point to files of the kit
(``cs231n/layers.py``, ``tests/test_layers.py``, ``python -m cs231n.train``) but never to a part of
the staff source that stays behind (``staff/``, ``benchmarks/README.md``, ``.ci/run``,
``tests/staff/``, ``python -m staff.release``): a student could not follow such a pointer. A mention
counts when it starts with a top-level name of the staff source, as a path (``staff/README.md``),
a file name (``requirements-bench.txt``) or a module (``staff.release``).
"""

import re
import subprocess
from pathlib import Path

# Paths that the kit names and that appear only once it is used: the data get_datasets.sh fetches.
CREATED_LATER = ("datasets/cifar-10-batches-py", "datasets/cifar-10-python.tar.gz")


def top_level_names(repo_root):
    """The top-level names of the staff source: of the files git tracks, else of what the folder holds."""
    try:
        tracked = subprocess.run(
            ["git", "-C", str(repo_root), "ls-files", "-z"], capture_output=True, text=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError):
        tracked = ""
    names = {path.split("/", 1)[0] for path in tracked.split("\0") if path}
    return sorted(names) if names else sorted(p.name for p in Path(repo_root).iterdir() if p.name != ".git")


def _exists(kit_dir, path):
    """Tell whether ``path`` (maybe a glob such as ``cs231n/*.py``, maybe ending in ``/``) is in the kit."""
    path = path.rstrip("/")
    if any(path == p or path.startswith(p + "/") for p in CREATED_LATER):
        return True
    if "*" in path:
        return any(kit_dir.glob(path))
    return (kit_dir / path).exists()


def find_unshipped(kit_dir, repo_root, texts):
    """List every mention, in the kit's texts, of a file or folder of the staff source the kit lacks.

    Parameters
    ----------
    kit_dir : Path
        The kit folder.
    repo_root : Path
        The staff source it was built from; its top-level names are what a mention starts with.
    texts : iterable of (str, str or None)
        ``(where, text)`` of every kit file, as ``staff.leaks.kit_texts`` yields them (None for a
        binary file, which is skipped).

    Returns
    -------
    list of str
        ``"WHERE: names 'staff/README.md', which the kit does not ship"``, one per file and path.
    """
    kit_dir, repo_root = Path(kit_dir), Path(repo_root)
    patterns = []
    for top in top_level_names(repo_root):
        entry, name = repo_root / top, re.escape(top)
        if entry.is_dir():
            patterns.append(rf"{name}/[\w./*-]*")
            if (entry / "__init__.py").is_file() and not (kit_dir / entry.name).exists():
                patterns.append(rf"{name}\.[A-Za-z_]\w*")  # a module of a package the kit lacks
        else:
            patterns.append(rf"{name}(?![\w-]|\.\w)")
    mention = re.compile(r"(?<![\w./-])(?:" + "|".join(patterns) + ")")
    found = []
    for where, text in texts:
        if text is None:
            continue
        named = {m.group(0).rstrip(".,:;") for m in mention.finditer(text)}
        for path in sorted(named):
            module = "/" not in path and "." in path and not (repo_root / path).exists()
            if module or not _exists(kit_dir, path):
                found.append(f"{where}: names {path!r}, which the kit does not ship")
    return found
