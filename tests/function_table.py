"""A pytest plugin: one line per function you implement, and short output while you work.

``tests/conftest.py`` registers it. It changes what ``python -m pytest`` prints in two ways:

- A test that fails because it reached a function you have not written yet (the kit's stub raises
  ``NotImplementedError("affine_forward in cs231n/layers.py is not implemented yet: ...")``) is
  counted as "not implemented" and printed as ``T``, without a traceback. Every other failure
  keeps its full traceback. The exit status is unchanged: such a test still fails.
- At the end, a table lists each function you implement that the tests reached: passed, failing
  (with the number of failed tests, whose tracebacks are above), waiting for another function that
  is not implemented yet, or not implemented yet.

The functions you implement are those of ``cs231n.STUDENT_FILES`` that hold a START OF YOUR CODE
line. To learn which tests call which of them, the plugin imports those modules itself with one
line added at the top of each such function, which tells it the function was called. The line
numbers stay those of your file, and nothing is written to disk.
"""

import ast
import importlib.machinery
import re
import sys
import textwrap
from pathlib import Path

import pytest

from cs231n import STUDENT_FILES
from cs231n.stubs import STUB_RE, find_stubs

# The line that opens a region you fill in, built here so that this file holds no such line itself.
START_LINE = "# *****START OF YOUR CODE" + " (DO NOT DELETE/MODIFY THIS LINE)*****"
CATEGORY = "not implemented"
HOOK = "__function_table_called__"


def _definitions(node, prefix=""):
    """Yield ``(qualified name, node)`` for every function and method under ``node``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.ClassDef):
            yield from _definitions(child, f"{prefix}{child.name}.")
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield f"{prefix}{child.name}", child


def student_functions(tree, text):
    """Yield ``(qualified name, node)`` for each function of a parsed file that holds a START line."""
    starts = [n for n, line in enumerate(text.splitlines(), start=1) if line.strip() == START_LINE]
    for name, node in _definitions(tree):
        if any(node.lineno <= n <= node.end_lineno for n in starts):
            yield name, node


def instrument(text, relpath):
    """Compile a student file with ``HOOK(relpath, name)`` as the first statement of each function you implement."""
    tree = ast.parse(text, relpath)
    for name, node in student_functions(tree, text):
        body = node.body
        at = 1 if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else 0  # the docstring
        call = ast.Expr(ast.Call(ast.Name(HOOK, ast.Load()), [ast.Constant(relpath), ast.Constant(name)], []))
        body.insert(at, ast.copy_location(call, body[min(at, len(body) - 1)]))
    return ast.fix_missing_locations(tree)


class _Loader(importlib.machinery.SourceFileLoader):
    """Loads one student module from its source, instrumented, and never from or into a .pyc."""

    def __init__(self, fullname, path, relpath, hook):
        super().__init__(fullname, path)
        self.relpath, self.hook = relpath, hook

    def get_code(self, fullname):
        text = self.get_data(self.path).decode("utf-8")
        return compile(instrument(text, self.relpath), self.path, "exec", dont_inherit=True)

    def exec_module(self, module):
        module.__dict__[HOOK] = self.hook
        super().exec_module(module)


def stub_in(excinfo, longrepr):
    """Return ``(relpath, function)`` of the stub whose message is in a failure, or None."""
    messages = []
    exc = excinfo.value if excinfo is not None else None
    while exc is not None and len(messages) < 20:
        messages.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    # A stub that raised in a child process shows only in the text of the failure.
    messages.append(str(longrepr))
    for message in messages:
        match = STUB_RE.search(message)
        if match:
            return match["relpath"], match["function"]
    return None


class StubReports:
    """The report of a test that a stub stopped, made without the traceback that nobody is shown.

    pytest renders the traceback of every failure, parsing the source file of each of its frames: in
    a kit with every function still to write, that took most of the run (8 of 13 s). Such a test is
    shown as ``T`` only, so its report holds the exception's one line instead.
    """

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item, call):
        if call.excinfo is None or stub_in(call.excinfo, "") is None:
            return None  # pytest makes the report
        return pytest.TestReport(
            item.nodeid,
            item.location,
            {keyword: 1 for keyword in item.keywords},
            "failed",
            call.excinfo.exconly(),
            call.when,
            duration=call.duration,
            start=call.start,
            stop=call.stop,
            user_properties=item.user_properties,
        )


class FunctionTable:
    """The plugin: records which of your functions each test calls, and how each test ended."""

    def __init__(self, root):
        self.root = Path(root).resolve()
        self.modules = {rel[: -len(".py")].replace("/", "."): rel for rel in STUDENT_FILES if rel.endswith(".py")}
        self.order = {}  # (relpath, name) -> row number: files in STUDENT_FILES order, then lines
        for rel in self.modules.values():
            try:
                text = (self.root / rel).read_text(encoding="utf-8")
                names = [name for name, _ in student_functions(ast.parse(text), text)]
            except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
                continue
            self.order.update({(rel, name): len(self.order) + i for i, name in enumerate(names)})
        self.calls = {}  # test id -> set of (relpath, name) it called from outside your functions
        # test id -> ("passed" | "skipped", None) | ("stub", (relpath, name)) | ("failed", blamed set or None)
        self.outcomes = {}
        self._current = None  # the set of the running test
        self._codes = {}  # id(code) -> (code, (relpath, name)), for every function of yours that ran

    # The import hook (a meta path finder) that puts the instrumented modules in place.

    def find_spec(self, fullname, path=None, target=None):
        rel = self.modules.get(fullname)
        if rel is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None or Path(spec.origin).resolve() != self.root / rel:
            return None  # another copy of the module: import it as it is
        spec.loader = _Loader(fullname, spec.origin, rel, self.called)
        return spec

    def called(self, relpath, name):
        """The line added at the top of each function you implement calls this."""
        frame = sys._getframe(1)
        function = (relpath, name)
        self._codes[id(frame.f_code)] = (frame.f_code, function)
        if self._current is None or function in self._current:
            return
        caller = frame.f_back
        while caller is not None:
            if id(caller.f_code) in self._codes:
                return  # called by another of your functions: that one is what the test calls
            caller = caller.f_back
        self._current.add(function)

    def _raised_in(self, excinfo):
        """Return ``{(relpath, name)}`` of the innermost function of yours in a traceback, or None."""
        tb, found = excinfo.tb if excinfo is not None else None, None
        while tb is not None:
            known = self._codes.get(id(tb.tb_frame.f_code))
            if known is not None and known[0] is tb.tb_frame.f_code:
                found = known[1]
            tb = tb.tb_next
        return {found} if found else None

    # pytest hooks

    def pytest_configure(self, config):
        sys.meta_path.insert(0, self)
        config.pluginmanager.register(StubReports(), "function-table-stub-reports")

    def pytest_unconfigure(self, config):
        if self in sys.meta_path:
            sys.meta_path.remove(self)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        self._current = self.calls.setdefault(item.nodeid, set())
        try:
            yield
        finally:
            self._current = None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.failed:
            stub = stub_in(call.excinfo, report.longrepr)
            if stub is not None:
                report.stub = stub
            if self.outcomes.get(report.nodeid, ("",))[0] not in ("stub", "failed"):  # the first failure counts
                self.outcomes[report.nodeid] = ("stub", stub) if stub else ("failed", self._raised_in(call.excinfo))
        elif report.when == "call" or report.skipped:
            self.outcomes.setdefault(report.nodeid, (report.outcome, None))

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report, config):
        if report.failed and getattr(report, "stub", None):
            return CATEGORY, "T", "NOT IMPLEMENTED"
        return None

    def _named(self, test, functions):
        """The functions whose name (a method's without its class) is in the name of ``test``."""
        return {f for f in functions if re.search(rf"(?<![a-z]){re.escape(f[1].split('.')[-1])}(?![a-z])", test)}

    def _blamed(self, test, blamed):
        """The functions a failed test is put down to.

        The innermost function of yours the error went through; else the functions it called whose
        name is in the test's name (test_affine_backward_... calls affine_forward too); else all of them.
        """
        called = self.calls.get(test, set())
        return blamed or self._named(test, called) or called

    def rows(self):
        """Return ``[(relpath, name, status)]`` for every function the tests reached or found unwritten."""
        # A stub whose tests all pass still counts as not implemented (say, tests of argument checks
        # that run before the stub raises).
        unwritten = set(find_stubs(self.root, self.modules.values()))
        stubs, passed, failed, waiting = set(), {}, {}, {}
        for test, (kind, detail) in self.outcomes.items():
            called = self.calls.get(test, set())
            if kind == "stub":
                stubs.add(detail)
                # A test that a stub stops counts for the functions it is named after, if any.
                for function in self._named(test, called - {detail}):
                    waiting.setdefault(function, []).append(detail[1])
            elif kind == "failed":
                for function in self._blamed(test, detail):
                    failed[function] = failed.get(function, 0) + 1
            elif kind == "passed":
                for function in called:
                    passed[function] = passed.get(function, 0) + 1
        rows = []
        for function in sorted(stubs | set(passed) | set(failed) | set(waiting), key=lambda f: self.order.get(f, 1e9)):
            ok, bad, blocked = passed.get(function, 0), failed.get(function, 0), waiting.get(function, [])
            others = ", ".join(sorted(set(blocked)))
            if function in stubs or function in unwritten:
                status = "not implemented yet"
            elif bad:
                status = f"FAILING: {bad} of {ok + bad + len(blocked)} tests (tracebacks above)"
            elif blocked and ok:
                status = f"passed {ok} of {ok + len(blocked)} tests; the others wait for {others}"
            elif blocked:
                status = f"waiting for {others}"
            else:
                status = f"passed ({ok} tests)"
            rows.append((*function, status))
        return rows

    def pytest_terminal_summary(self, terminalreporter):
        rows = self.rows()
        if not rows:
            return
        tr = terminalreporter
        kinds = {"FAILING": "failing", "waiting": "waiting", "not": "not implemented yet", "passed": "passed"}
        counts = {}
        for _, _, status in rows:
            kind = status.split(" ")[0].rstrip(":")
            counts[kind] = counts.get(kind, 0) + 1
        if set(counts) == {"passed"} and all(status.startswith("passed (") for _, _, status in rows):
            tr.write_line(f"Your functions that these tests call: all {len(rows)} pass.")
            return
        # While functions are missing, the reasons for skipped tests are noise: the count stays below.
        tr.reportchars = tr.reportchars.replace("s", "")
        tr.ensure_newline()
        tr.section("your functions: " + ", ".join(f"{counts[k]} {v}" for k, v in kinds.items() if k in counts), sep="-")
        for line in self.table(rows, tr._tw.fullwidth):
            tr.write_line(line, red="FAILING" in line)

    @staticmethod
    def table(rows, width=80):
        """Format ``rows`` as lines: one per function, and those not implemented yet of a file together.

        Returns
        -------
        list of str
            ``FILE  NAME  STATUS`` lines, the file shown on its first line only, then
            ``not implemented yet: NAME, NAME, ...`` wrapped to ``width``.
        """
        files = max(len(relpath) for relpath, _, _ in rows) + 2
        names = max([len(name) for _, name, status in rows if status != "not implemented yet"] + [0]) + 2
        lines = []
        for relpath in dict.fromkeys(relpath for relpath, _, _ in rows):
            mine = [(name, status) for rel, name, status in rows if rel == relpath]
            todo = [name for name, status in mine if status == "not implemented yet"]
            block = [f"{name:<{names}}{status}" for name, status in mine if status != "not implemented yet"]
            if todo:
                block += textwrap.wrap(
                    "not implemented yet: " + ", ".join(todo), max(width - files, 40), subsequent_indent="  "
                )
            lines += [f"{relpath if i == 0 else '':<{files}}{text}" for i, text in enumerate(block)]
        return lines
