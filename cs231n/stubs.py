"""Which of your functions are still the kit's stubs.

In the student kit every function you complete starts as a stub: the region between its START and
END OF YOUR CODE lines holds only ``raise NotImplementedError("NAME in FILE is not implemented
yet: ...")``. :func:`find_stubs` lists the stubs whose ``raise`` is still in the source. It reads the
files and runs nothing, so the main job and the submission check can say what is left to do.

Standard library only: ``collect_submission_check.py`` loads this file on its own, without numpy.
"""

import ast
import re
from pathlib import Path

# The stub's message, "affine_forward in cs231n/layers.py is not implemented yet: ...", read back.
STUB_RE = re.compile(r"(?P<function>[\w.]+) in (?P<relpath>[\w./-]+) is not implemented yet")


def _stub_name(node):
    """Return the function named by a stub's ``raise NotImplementedError("...")``, or None."""
    exc = node.exc
    if not (isinstance(exc, ast.Call) and isinstance(exc.func, ast.Name) and exc.func.id == "NotImplementedError"):
        return None
    if not (exc.args and isinstance(exc.args[0], ast.Constant) and isinstance(exc.args[0].value, str)):
        return None
    match = STUB_RE.search(exc.args[0].value)
    return match["function"] if match else None


def find_stubs(root, relpaths):
    """List the stubs that still raise in some files.

    Parameters
    ----------
    root : str or Path
        The kit folder.
    relpaths : iterable of str
        Files to read, relative to ``root``; only ``.py`` files are read, and a file that is
        missing or does not parse is skipped (the import check reports it).

    Returns
    -------
    list of (str, str)
        ``(relpath, function)`` per stub still in place, in file order and then line order,
        e.g. ``("cs231n/layers.py", "affine_forward")``.
    """
    found = []
    for rel in relpaths:
        if not rel.endswith(".py"):
            continue
        try:
            tree = ast.parse(Path(root, rel).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
        raises = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Raise)), key=lambda n: n.lineno)
        names = [_stub_name(node) for node in raises]
        found += [(rel, name) for name in dict.fromkeys(n for n in names if n)]
    return found


def describe_stubs(stubs, indent="  "):
    """Return one line per file: ``cs231n/layers.py: affine_forward, relu_forward``.

    Parameters
    ----------
    stubs : list of (str, str)
        As returned by :func:`find_stubs`.
    indent : str
        Put before every line.

    Returns
    -------
    list of str
    """
    by_file = {}
    for rel, function in stubs:
        by_file.setdefault(rel, []).append(function)
    return [f"{indent}{rel}: {', '.join(functions)}" for rel, functions in by_file.items()]
