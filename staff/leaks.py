"""The release's leak proof: no solution line survives in the student kit.

A solution line is a secret when, with all whitespace removed, it has at least ``MIN_SECRET``
characters and is not a code line that the library or a notebook's given code also has outside
every region (public by construction, e.g. "N = x.shape[0]"). Shorter lines ("pass", "return out",
")") are generic. A secret must not occur anywhere in the kit folder or zip; a piece of a statement
split over lines counts only as a whole line, anything else also inside a longer line.
``staff/README.md`` ("Building the release") states the rule in full; ``staff/stage.py`` collects
the solution lines and the public lines while it writes the kit.
"""

import ast
import json
import re
import zipfile
from pathlib import Path

from staff.markers import code_lines

MIN_SECRET = 12


def compact(text):
    """Return ``text`` with all whitespace removed: the form in which lines are compared."""
    return re.sub(r"\s+", "", text)


def public_lines(text, skip=()):
    """Return the compacted code lines of ``text`` outside the 1-based line ranges in ``skip``."""
    lines = text.splitlines()
    hidden = {n for a, b in skip for n in range(a, b + 1)}
    return {compact(lines[n - 1]) for n in code_lines(text) if n not in hidden and n <= len(lines)}


def _is_statement(line):
    """Tell whether ``line`` is Python on its own, not a piece of a statement split over lines."""
    try:
        ast.parse(line.strip())
    except SyntaxError:
        return False
    return True


def secret_lines(removed, public):
    """Pick the secrets among the solution lines that the release removed.

    Parameters
    ----------
    removed : iterable of (str, str, bool)
        ``(origin, line, prose)`` per removed line: where it comes from (``"cs231n/layers.py:42"``),
        the line, and whether it is an answer's prose (which counts inside a longer line too).
    public : set of str
        Compacted code lines that the library or a notebook's given code has outside every region.

    Returns
    -------
    dict of str to (str, bool)
        Compacted secret -> (origin of its first occurrence, whether it counts inside a longer
        line too), as ``find_leaks`` takes them.
    """
    secrets = {}
    for origin, line, prose in removed:
        c = compact(line)
        if len(c) >= MIN_SECRET and c not in public:
            secrets.setdefault(c, (origin, prose or _is_statement(line)))
    return secrets


def _notebook_texts(raw):
    """Return every text a notebook can show: cell sources, outputs, metadata."""
    nb = json.loads(raw)
    parts = [json.dumps(nb.get("metadata", {}), ensure_ascii=False)]
    for cell in nb.get("cells", []):
        parts.append("".join(cell.get("source", "")))
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", "")))
            for value in output.get("data", {}).values():
                parts.append(value if isinstance(value, str) else "".join(map(str, value)))
    return "\n".join(parts)


def _readable(name, data):
    """Return the text of one kit file as a reader sees it, or None for a binary file."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if name.endswith(".ipynb"):
        # A notebook's JSON escapes quotes and newlines: compare the cells as they display too.
        text += "\n" + _notebook_texts(text)
    return text


def kit_texts(kit_dir=None, zips=()):
    """Yield ``(where, text)`` for every file of a kit folder and every member of some zips.

    Parameters
    ----------
    kit_dir : Path, optional
        The kit folder.
    zips : iterable of Path
        Zips to read member by member.

    Yields
    ------
    (str, str or None)
        A name for messages and the file's text (None for a binary file).
    """
    if kit_dir is not None:
        for path in sorted(p for p in Path(kit_dir).rglob("*") if p.is_file()):
            yield path.as_posix(), _readable(path.name, path.read_bytes())
    for zip_path in zips:
        with zipfile.ZipFile(zip_path) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    yield f"{zip_path}!{info.filename}", _readable(info.filename, zf.read(info))


def find_leaks(secrets, texts):
    """Find every secret line that occurs in some text.

    Parameters
    ----------
    secrets : dict of str to (str, bool)
        Compacted solution line -> (where it comes from, e.g. ``"cs231n/layers.py:42"``, and
        whether it counts inside a longer line too or only as a whole line).
    texts : iterable of (str, str or None)
        ``(where, text)`` pairs, as from ``kit_texts``; binary files (None) are reported as leaks
        since they cannot be checked.

    Returns
    -------
    list of str
        One message per leak; empty when nothing leaks.
    """
    leaks = []
    for where, text in texts:
        if text is None:
            leaks.append(f"{where}: binary file, cannot be checked for solution lines (keep it out of the kit)")
            continue
        # A whole line counts commented out too ("# x = 1" holds the line "x = 1").
        flat, lines = compact(text), {compact(line).lstrip("#") for line in text.splitlines()}
        leaks.extend(
            f"{where}: holds the solution line from {origin}: {secret!r}"
            for secret, (origin, anywhere) in secrets.items()
            if secret in lines or (anywhere and secret in flat)
        )
    return leaks
