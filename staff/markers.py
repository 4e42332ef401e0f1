"""Solution regions: find them, check them, and turn them into student stubs.

The staff source marks every piece of student code with the two CS231n marker lines (see
``staff/README.md``). This module is the single place that knows those lines: it finds the regions
in a ``.py`` file (and the function or method that holds each one), refuses malformed markers, and
writes the stubbed text that ships in the student kit. Notebook cells use the same markers; the
notebook rules live here too so that ``.py`` files and notebooks are blanked by one parser.

Standard library only: the autograder zip ships this file, and notebooks arrive as nbformat nodes.
"""

import ast
import copy
import re
import tokenize
from dataclasses import dataclass
from io import StringIO
from typing import Optional

START = "# *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****"
END = "# *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****"

SOLUTION_TAG = "solution"
ANSWER_TAG = "answer"
ANSWER_STUB = "**Your Answer:** *fill this in.*"
CELL_TODO = "# TODO: write your code here."

STUB_MESSAGE = (
    "{function} in {relpath} is not implemented yet: fill in the region between the START/END OF YOUR CODE lines"
)
# Parses STUB_MESSAGE back into (function, relpath); the release proof reads failures with it.
STUB_MESSAGE_RE = re.compile(r"(?P<function>[\w.]+) in (?P<relpath>[\w./-]+) is not implemented yet")

# A line that tries to be a marker: "START/END OF YOUR CODE" next to the stars or the
# "DO NOT DELETE/MODIFY" warning. The banner's plain "#   END OF YOUR CODE   #" has neither.
_MARKER_WORDS = re.compile(r"\b(START|END)\s+OF\s+YOUR\s+CODE\b", re.IGNORECASE)
_MARKER_DECOR = re.compile(r"\*|DO\s+NOT|MODIFY|DELETE", re.IGNORECASE)


class MarkerError(ValueError):
    """A solution region whose markers are unbalanced, nested, altered or misplaced."""


@dataclass(frozen=True)
class Region:
    """One solution region.

    Attributes
    ----------
    relpath : str
        Path of the file, relative to the repository root (POSIX separators).
    function : str or None
        Qualified name of the enclosing function (``Class.method`` for methods); None in notebooks.
    start, end : int
        1-based line numbers of the START and END marker lines.
    indent : str
        The whitespace before the START marker; the stub is written at this indentation.
    body : tuple of str
        The solution lines strictly between the markers, without line endings.
    """

    relpath: str
    function: Optional[str]
    start: int
    end: int
    indent: str
    body: tuple[str, ...]


def _is_marker_like(line):
    """Return True when the comment ``line`` looks like a START or END marker (exact or altered)."""
    if not line.lstrip().startswith("#"):
        return False
    m = _MARKER_WORDS.search(line)
    if m is None:
        return False
    return m.group(1).upper() == "START" or _MARKER_DECOR.search(line) is not None


def scan_markers(text, where):
    """Pair the START/END lines of ``text`` and refuse malformed markers.

    Parameters
    ----------
    text : str
        Source of a ``.py`` file or of one notebook cell.
    where : str
        How errors name the source, e.g. ``"cs231n/layers.py"`` or ``"notebooks/a.ipynb, cell 3"``.

    Returns
    -------
    list of (int, int, str)
        ``(start, end, indent)`` per region: 1-based marker line numbers and the START indentation.

    Raises
    ------
    MarkerError
        On an altered marker line, a START inside an open region, an END without a START, an END
        indented unlike its START, or a START that is never closed; the message names ``where``
        and the line.
    """
    pairs = []
    open_at = None
    lines = text.splitlines()
    for n, line in enumerate(lines, start=1):
        s = line.strip()
        if s == START:
            if open_at is not None:
                raise MarkerError(
                    f"{where}, line {n}: nested START marker (the region opened at line "
                    f"{open_at[0]} is not closed yet); regions must not nest"
                )
            open_at = (n, line[: len(line) - len(line.lstrip())])
        elif s == END:
            if open_at is None:
                raise MarkerError(f"{where}, line {n}: END marker without a START marker before it")
            indent = line[: len(line) - len(line.lstrip())]
            if indent != open_at[1]:
                raise MarkerError(
                    f"{where}, line {n}: END marker indented by {len(indent)} characters but its START "
                    f"(line {open_at[0]}) by {len(open_at[1])}; the two markers must line up"
                )
            pairs.append((open_at[0], n, open_at[1]))
            open_at = None
        elif _is_marker_like(line):
            raise MarkerError(
                f"{where}, line {n}: altered marker line {s!r}; a marker must read exactly {START!r} or {END!r}"
            )
    if open_at is not None:
        raise MarkerError(f"{where}, line {open_at[0]}: START marker is never closed by an END marker")
    return pairs


def _functions(tree):
    """Yield ``(qualname, node)`` for every function and method in ``tree``."""
    stack = [(tree, "")]
    while stack:
        node, prefix = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                if not isinstance(child, ast.ClassDef):
                    yield name, child
                stack.append((child, name + "."))
            else:
                stack.append((child, prefix))


def _encloses(node, start, indent, lines):
    """Return True when the marker at line ``start`` (indented by ``indent``) is in ``node``'s body."""
    if node.lineno < start <= node.end_lineno and len(indent) > node.col_offset:
        return True
    # A region with no code in it can sit after the function's last statement: it still belongs
    # to the function when only comments and blank lines separate them and it is indented deeper.
    if start <= node.end_lineno or len(indent) <= node.col_offset:
        return False
    between = lines[node.end_lineno : start - 1]
    return all(not s.strip() or s.strip().startswith("#") for s in between)


def find_regions(text, relpath):
    """Find the solution regions of one ``.py`` file.

    Parameters
    ----------
    text : str
        The file's source.
    relpath : str
        Its path relative to the repository root; errors and stub messages name it.

    Returns
    -------
    list of Region
        In file order; empty when the file has no markers.

    Raises
    ------
    MarkerError
        On malformed markers (see ``scan_markers``), a region outside every function, or a file
        that does not parse.
    """
    pairs = scan_markers(text, relpath)
    if not pairs:
        return []
    try:
        tree = ast.parse(text, filename=relpath)
    except SyntaxError as e:
        raise MarkerError(f"{relpath}, line {e.lineno}: the file does not parse: {e.msg}") from None
    lines = text.splitlines()
    funcs = list(_functions(tree))
    regions = []
    for start, end, indent in pairs:
        inside = [(node.lineno, name) for name, node in funcs if _encloses(node, start, indent, lines)]
        if not inside:
            raise MarkerError(
                f"{relpath}, line {start}: solution region outside any function; a region must lie "
                "inside one function or method"
            )
        # The innermost function is the one defined last among those that hold the marker.
        function = max(inside)[1]
        regions.append(Region(relpath, function, start, end, indent, tuple(lines[start : end - 1])))
    return regions


def _replace_bodies(lines, pieces):
    """Return ``lines`` with region bodies swapped; ``pieces`` holds ``(start, end, new_lines)`` in order.

    ``start`` and ``end`` are the 1-based marker lines, which stay; only the lines between them go.
    """
    out, previous_end = [], 0
    for start, end, new_lines in pieces:
        out.extend(lines[previous_end:start])
        out.extend(new_lines)
        previous_end = end - 1
    out.extend(lines[previous_end:])
    return out


def stub_lines(function, relpath, indent):
    """Return the lines that replace a region's body: a raise naming ``function`` and ``relpath``."""
    message = STUB_MESSAGE.format(function=function, relpath=relpath)
    head, tail = message.split(": ", 1)
    return [
        "",
        f"{indent}raise NotImplementedError(",
        f'{indent}    "{head}: "',
        f'{indent}    "{tail}"',
        f"{indent})",
        "",
    ]


def stub_python_source(text, relpath):
    """Return the student version of one ``.py`` file.

    Every region keeps its START and END lines (and the banner around them); its body becomes a
    ``raise NotImplementedError`` naming the function and ``relpath``. Text outside the regions is
    unchanged, line endings included.

    Parameters
    ----------
    text : str
        The staff source of the file.
    relpath : str
        Its path relative to the repository root, e.g. ``"cs231n/layers.py"``.

    Returns
    -------
    str
        The stubbed source (``text`` itself when the file has no region).

    Raises
    ------
    MarkerError
        On malformed markers, or when the stubbed file does not compile.
    """
    regions = find_regions(text, relpath)
    if not regions:
        return text
    newline = "\r\n" if "\r\n" in text else "\n"
    out = _replace_bodies(
        text.splitlines(), [(r.start, r.end, stub_lines(r.function, relpath, r.indent)) for r in regions]
    )
    stubbed = newline.join(out) + (newline if text.endswith(("\n", "\r")) else "")
    try:
        compile(stubbed, relpath, "exec")
    except SyntaxError as e:
        raise MarkerError(
            f"{relpath}, line {e.lineno}: the stubbed file does not compile ({e.msg}); are the markers "
            "indented like the code around them?"
        ) from None
    return stubbed


def instrument_python_source(text, relpath, call):
    """Return ``text`` with one line added at the top of every region body, e.g. a probe call.

    The release proof runs the public tests on the reference solution instrumented this way to
    learn which tests reach which region.

    Parameters
    ----------
    text : str
        The staff source of a ``.py`` file.
    relpath : str
        Its path relative to the repository root.
    call : str
        A statement with one ``{}`` that receives the stub's name, ``"Class.method in relpath"``.

    Returns
    -------
    str
        The instrumented source (the solution kept).
    """
    lines = text.splitlines()
    for r in reversed(find_regions(text, relpath)):
        lines.insert(r.start, r.indent + call.format(repr(f"{r.function} in {relpath}")))
    return "\n".join(lines) + "\n"


def code_lines(text):
    """Return the lines of ``text`` that hold code, not only a comment or part of a string.

    Parameters
    ----------
    text : str
        Python source (a file or a notebook cell).

    Returns
    -------
    set of int
        1-based numbers of the lines on which a token other than a comment or string starts.
    """
    skip = {
        tokenize.COMMENT,
        tokenize.STRING,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENCODING,
        tokenize.ENDMARKER,
    }
    try:
        return {t.start[0] for t in tokenize.generate_tokens(StringIO(text).readline) if t.type not in skip}
    except (tokenize.TokenError, SyntaxError, IndentationError):
        # Notebook magics such as "!pip" do not tokenize; fall back to "not a comment".
        return {n for n, s in enumerate(text.splitlines(), start=1) if s.strip() and not s.strip().startswith("#")}


def _tags(cell):
    return set(cell.get("metadata", {}).get("tags", []))


def blank_notebook(nb, relpath):
    """Return the student version of a notebook, and what was removed from it.

    Rules: in a code cell tagged ``solution`` the lines between START and END markers become a
    TODO comment and ``pass`` (the whole cell becomes a TODO comment when it has no markers); a
    markdown cell tagged ``answer`` becomes ``ANSWER_STUB``; every code cell loses its outputs and
    execution count (and its execution timing metadata). Notebook metadata is kept.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The staff notebook (left unchanged).
    relpath : str
        Its path relative to the repository root; errors name it.

    Returns
    -------
    student : nbformat.NotebookNode
        The blanked copy.
    removed : list of (str, list of str, str)
        ``(where, lines, tag)`` per blanked piece: the solution lines or answer text that was
        removed, and the tag (``"solution"`` or ``"answer"``) of its cell.

    Raises
    ------
    MarkerError
        On malformed markers in a solution cell, markers in an untagged cell, or a tag on the
        wrong kind of cell.
    """
    student = copy.deepcopy(nb)
    removed = []
    for i, cell in enumerate(student.cells):
        where = f"{relpath}, cell {i}"
        tags = _tags(cell)
        source = cell.source
        if SOLUTION_TAG in tags and cell.cell_type != "code":
            raise MarkerError(f"{where}: tag {SOLUTION_TAG!r} on a {cell.cell_type} cell; it belongs on code cells")
        if ANSWER_TAG in tags and cell.cell_type != "markdown":
            raise MarkerError(f"{where}: tag {ANSWER_TAG!r} on a {cell.cell_type} cell; it belongs on markdown cells")
        if SOLUTION_TAG in tags:
            pairs = scan_markers(source, where)
            lines = source.splitlines()
            if not pairs:
                removed.append((where, lines, SOLUTION_TAG))
                cell.source = CELL_TODO
            else:
                removed.extend(
                    (f"{where}, line {start}", lines[start : end - 1], SOLUTION_TAG) for start, end, _ in pairs
                )
                todo = [(start, end, [f"{indent}{CELL_TODO}", f"{indent}pass"]) for start, end, indent in pairs]
                cell.source = "\n".join(_replace_bodies(lines, todo))
        elif ANSWER_TAG in tags:
            removed.append((where, source.splitlines(), ANSWER_TAG))
            cell.source = ANSWER_STUB
        elif cell.cell_type == "code" and any(_is_marker_like(s) for s in source.splitlines()):
            raise MarkerError(
                f"{where}: START/END markers in a cell not tagged {SOLUTION_TAG!r}; tag it or its solution would ship"
            )
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    return student, removed
