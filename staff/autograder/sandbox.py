"""The student sandbox: the given modules the student files need, plus the submission's student files.

Which files are given is an allow-list worked out from the code, never "everything in ``cs231n/``":
the student-owned files are ``cs231n.STUDENT_FILES`` (the ``.py`` ones), and the given files are the
modules of the package that they import, followed from module to module, with the ``__init__.py`` of
every package on the way (:func:`package_files`). A stray file of the instructor's folder (an editor
backup, a ``layers.py.orig``, a cache) is never copied, here nor into ``autograder.zip``.
"""

import ast
import compileall
import os
import shutil
import tempfile
from pathlib import Path

from .submission import read_submission

PACKAGE = "cs231n"


def student_owned_files(instructor_root):
    """Return the student-owned ``.py`` files: the ``.py`` entries of ``cs231n.STUDENT_FILES``.

    Parameters
    ----------
    instructor_root : Path
        Directory holding the instructor's ``cs231n`` package.

    Returns
    -------
    paths : list of str
        Sorted POSIX paths relative to ``instructor_root``, e.g. ``["cs231n/classifiers/fc_net.py", ...]``.
    """
    init = Path(instructor_root) / PACKAGE / "__init__.py"
    if not init.is_file():
        raise ValueError(f"instructor_root must hold the {PACKAGE}/ package, got {instructor_root}")
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "STUDENT_FILES" for t in node.targets):
            return sorted(p for p in ast.literal_eval(node.value) if p.endswith(".py"))
    raise ValueError(f"{init} does not define STUDENT_FILES")


def _module_file(root, dotted):
    """Return the path (relative to ``root``) of the module ``dotted``, or None."""
    base = dotted.replace(".", "/")
    for rel in (f"{base}.py", f"{base}/__init__.py"):
        if (Path(root) / rel).is_file():
            return rel
    return None


def _imports(tree):
    """Yield ``(import statement, eager)``: eager when it runs as the module is imported (not in a function)."""
    stack = [(node, True) for node in tree.body]
    while stack:
        node, eager = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, eager
        else:
            inner = eager and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            stack.extend((child, inner) for child in ast.iter_child_nodes(node))


def _import_targets(node, package):
    """The dotted names an import statement of a module in ``package`` may load."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - node.level + 1]) if node.level else ""
    target = ".".join(p for p in (base, node.module) if p)
    return [target] + [f"{target}.{a.name}" for a in node.names if a.name != "*"]


def _packages_of(rel):
    """The ``__init__.py`` of every package that holds the module file ``rel``."""
    parts = rel.split("/")[:-1]
    return ["/".join(parts[:i] + ["__init__.py"]) for i in range(1, len(parts) + 1)]


def package_files(instructor_root):
    """Follow the imports of the student-owned files through the package.

    Imports of the package's own modules are followed wherever they are; of other modules only those
    that run at import time count (a drawing helper's matplotlib is left out: grading never draws).

    Parameters
    ----------
    instructor_root : Path
        Directory holding the instructor's ``cs231n`` package.

    Returns
    -------
    files : list of str
        Sorted paths of every module of the package that grading can import (student-owned files
        included), with the packages' ``__init__.py`` files.
    external : list of str
        Sorted dotted names imported from outside the package, e.g. ``numpy`` (some may name a
        function, ``from m import f``; the launcher skips those).
    """
    root = Path(instructor_root)
    todo = list(student_owned_files(root))
    files, external = set(), set()
    while todo:
        rel = todo.pop()
        if rel is None or rel in files:
            continue
        files.add(rel)
        todo += _packages_of(rel)
        module = rel[:-3].replace("/", ".")
        package = module[: -len(".__init__")] if module.endswith(".__init__") else module.rsplit(".", 1)[0]
        for node, eager in _imports(ast.parse((root / rel).read_text(encoding="utf-8"))):
            for target in _import_targets(node, package):
                if target.split(".")[0] == PACKAGE:
                    todo.append(_module_file(root, target))
                elif eager:
                    external.add(target)
    return sorted(files), sorted(external)


def preload_modules(instructor_root):
    """List the modules outside the package that grading can import (see :func:`package_files`)."""
    return package_files(instructor_root)[1]


def given_files(instructor_root):
    """The given files that go into every sandbox: :func:`package_files` but the student-owned ones."""
    owned = set(student_owned_files(instructor_root))
    return [rel for rel in package_files(instructor_root)[0] if rel not in owned]


def _provided(dotted, present):
    """The path of the module ``dotted`` among the ``present`` files, or None."""
    base = dotted.replace(".", "/")
    return next((rel for rel in (f"{base}.py", f"{base}/__init__.py") if rel in present), None)


def unavailable_imports(rel, data, root, present):
    """Notes for the package modules that a student file imports but grading does not provide.

    The file is parsed, never run; one that does not parse gets no note (its import reports why).

    Parameters
    ----------
    rel : str
        The student file, e.g. ``cs231n/layers.py``; ``data`` is its content.
    root : Path
        The instructor's folder (to read what a package's ``__init__.py`` defines).
    present : set of str
        The package files of the sandbox.
    """
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    package = rel[:-3].replace("/", ".").rsplit(".", 1)[0]
    missing = {}  # module -> imported when the file is imported (else inside a function)
    for node, eager in _imports(tree):
        modules = _import_targets(node, package)
        if isinstance(node, ast.ImportFrom):
            found = _provided(modules[0], present)
            if found is None:
                modules = modules[:1]
            else:  # from a package: a name that is neither one of its modules nor defined in its __init__
                defined = (Path(root) / found).read_text(encoding="utf-8") if found.endswith("__init__.py") else ""
                modules = [
                    m for m in modules[1:] if found.endswith("__init__.py") and m.rsplit(".", 1)[1] not in defined
                ]
        for m in modules:
            if m.split(".")[0] == PACKAGE and _provided(m, present) is None:
                missing[m] = missing.get(m, False) or eager
    fails = {True: f"none of {rel} can be graded", False: "the functions that import it fail"}
    return [
        f"{rel} imports {name}, which the autograder does not provide: remove that import, or {fails[eager]}"
        for name, eager in sorted(missing.items())
    ]


def build_sandbox(instructor_root, submission, parent=None):
    """Create the sandbox: the given files with the submission's student-owned files.

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
        Messages about missing or ignored parts of the submission.
    """
    instructor_root = Path(instructor_root)
    owned = student_owned_files(instructor_root)
    given = given_files(instructor_root)
    kit = [p.relative_to(instructor_root).as_posix() for p in (instructor_root / PACKAGE).rglob("*.py")]
    files, notes = read_submission(submission, owned, kit)
    for rel, data in files.items():
        notes += unavailable_imports(rel, data, instructor_root, set(given) | set(owned))
    sandbox = Path(tempfile.mkdtemp(prefix="cs231n-sandbox-", dir=parent))
    try:
        for rel in given:
            (sandbox / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(instructor_root / rel, sandbox / rel)
        for rel, data in files.items():
            (sandbox / rel).parent.mkdir(parents=True, exist_ok=True)
            (sandbox / rel).write_bytes(data)
        # Bytecode compiled here (compiling runs none of the code) spares every call a compile; a file
        # that does not compile has none, and its import reports the SyntaxError as before.
        compileall.compile_dir(sandbox, quiet=2)
        # Readable by the unprivileged user that imports from it, writable by nobody but the grader.
        for root, _dirs, names in os.walk(sandbox):
            os.chmod(root, 0o755)
            for n in names:
                os.chmod(os.path.join(root, n), 0o644)
    except BaseException:
        shutil.rmtree(sandbox, ignore_errors=True)
        raise
    return sandbox, owned, notes
