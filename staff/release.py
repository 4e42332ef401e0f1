"""Build the student release and the Gradescope autograder, and prove that no solution leaks.

Run from the repository root::

    python -m staff.release [--out DIR]     # default DIR: staff/build/

It writes ``DIR/student/`` (the student kit), ``DIR/cs231n_kit.zip`` (the same kit, in a top-level
``cs231n_kit/`` folder), ``DIR/autograder.zip`` (made by ``staff/autograder/package.py``) and
``DIR/release_summary.json``, and then proves four things, failing with ``ReleaseError`` when it
cannot: no solution line survives in the kit folder or its zip; the kit names no file it does not
ship; the kit imports; the kit's public tests fail on exactly the stubbed functions. The rules are
in ``staff/README.md`` ("Building the release").
"""

import argparse
import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

import nbformat

import cs231n
from cs231n.data_utils import default_cifar10_dir
from staff.markers import (
    ANSWER_TAG,
    SOLUTION_TAG,
    STUB_MESSAGE_RE,
    MarkerError,
    blank_notebook,
    code_lines,
    find_regions,
    instrument_python_source,
    scan_markers,
    stub_python_source,
)
from staff.unshipped import find_unshipped

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "staff" / "build"
KIT_NAME = "cs231n_kit"

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

# The modules whose import proves the kit is usable (proof b).
KIT_IMPORTS = (
    "cs231n.layers",
    "cs231n.classifiers.fc_net",
    "cs231n.optim",
    "cs231n.solver",
    "cs231n.graph",
    "cs231n.gradient_check",
    "cs231n.data_utils",
    "cs231n.vis_utils",
)

# The leak rule (proof a; staff/README.md says it in full). A solution line is a secret when, with
# all whitespace removed, it has at least MIN_SECRET characters and is not a code line that the
# library or a notebook's given code also has outside every region (public by construction, e.g.
# "N = x.shape[0]"). Shorter lines ("pass", "return out", ")") are generic. A secret must not occur
# anywhere in the kit folder or zip; a piece of a statement split over lines counts only as a
# whole line, anything else also inside a longer line.
MIN_SECRET = 12

# The README part between these comments is for staff and stays out of the kit's README.
STAFF_ONLY = re.compile(r"<!-- staff-only:start -->.*?<!-- staff-only:end -->\n*", re.DOTALL)

TEST_TIMEOUT = 900


class ReleaseError(RuntimeError):
    """The release cannot be built, or one of its proofs failed."""


def compact(text):
    """Return ``text`` with all whitespace removed: the form in which lines are compared."""
    return re.sub(r"\s+", "", text)


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


def _is_statement(line):
    """Tell whether ``line`` is Python on its own, not a piece of a statement split over lines."""
    try:
        ast.parse(line.strip())
    except SyntaxError:
        return False
    return True


def _public_lines(text, skip=()):
    """Return the compacted code lines of ``text`` outside the 1-based line ranges in ``skip``."""
    lines = text.splitlines()
    hidden = {n for a, b in skip for n in range(a, b + 1)}
    return {compact(lines[n - 1]) for n in code_lines(text) if n not in hidden and n <= len(lines)}


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
    stubs, blanked, removed_lines, public = {}, {}, {}, set()
    for rel in files:
        src = repo_root / rel
        dst = student_dir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".py"):
            text = src.read_text(encoding="utf-8")
            regions = find_regions(text, rel)
            dst.write_text(stub_python_source(text, rel), encoding="utf-8")
            if regions:
                stubs[rel] = [r.function for r in regions]
                removed_lines[rel] = [
                    (f"{rel}:{r.start + 1 + i}", line, False) for r in regions for i, line in enumerate(r.body)
                ]
            if rel.startswith("cs231n/"):
                public |= _public_lines(text, [(r.start, r.end) for r in regions])
        elif rel.endswith(".ipynb"):
            nb = nbformat.read(src, as_version=4)
            student, removed = blank_notebook(nb, rel)
            nbformat.write(student, dst)
            if removed:
                blanked[rel] = {
                    tag: [where for where, _, t in removed if t == tag] for tag in (SOLUTION_TAG, ANSWER_TAG)
                }
                removed_lines[rel] = [
                    (where, line, kind == ANSWER_TAG) for where, lines, kind in removed for line in lines
                ]
            for cell in (c for c in nb.cells if c.cell_type == "code"):
                if SOLUTION_TAG not in cell.metadata.get("tags", []):
                    public |= _public_lines(cell.source)
                elif regions := scan_markers(cell.source, rel):
                    public |= _public_lines(cell.source, [(a, b) for a, b, _ in regions])
        elif rel == "README.md":
            dst.write_text(STAFF_ONLY.sub("", src.read_text(encoding="utf-8")), encoding="utf-8")
        else:
            shutil.copyfile(src, dst)
        if rel in EXECUTABLE:
            dst.chmod(0o755)
    holders = set(stubs) | set(blanked)
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
    secrets = {}
    for rel in sorted(removed_lines):
        for origin, line, prose in removed_lines[rel]:
            c = compact(line)
            if len(c) >= MIN_SECRET and c not in public:
                secrets.setdefault(c, (origin, prose or _is_statement(line)))
    return {"files": files, "stubs": stubs, "blanked": blanked, "secrets": secrets}


def check_imports(kit_dir, modules=KIT_IMPORTS):
    """Prove that the kit imports: a fresh ``python -I`` with the kit first on sys.path.

    Parameters
    ----------
    kit_dir : Path
        Root of the kit.
    modules : tuple of str
        Modules to import.

    Returns
    -------
    dict of str to str
        Module name -> the file it was imported from (all inside ``kit_dir``).

    Raises
    ------
    ReleaseError
        When an import fails or a module comes from outside the kit.
    """
    code = (
        "import importlib, json, sys; sys.path.insert(0, sys.argv[1]); "
        "print(json.dumps({m: importlib.import_module(m).__file__ for m in sys.argv[2:]}))"
    )
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, "-I", "-c", code, str(kit_dir), *modules],
        cwd=kit_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise ReleaseError(f"the kit does not import:\n{proc.stderr.strip()[-3000:]}")
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    kit = Path(kit_dir).resolve()
    outside = {m: f for m, f in found.items() if kit not in Path(f).resolve().parents}
    if outside:
        raise ReleaseError(f"modules imported from outside the kit (an installed copy shadows it): {outside}")
    return found


# The line added at the top of every region in the instrumented reference copy; it does nothing in
# a child process that a test starts without the probe on its path.
PROBE_CALL = '__import__("importlib.util").util.find_spec("kit_probe") and __import__("kit_probe").reached({})'


def make_reference(kit_dir, repo_root, stubbed_files, dest):
    """Copy a kit to ``dest`` with the staff solution, instrumented, back in every stubbed file.

    Parameters
    ----------
    kit_dir : Path
        The student kit.
    repo_root : Path
        The staff source the kit was built from.
    stubbed_files : iterable of str
        Paths (relative) of the ``.py`` files whose regions were stubbed.
    dest : Path
        Folder to create.

    Returns
    -------
    Path
        ``dest``: the kit with the reference solution, each region reporting to ``kit_probe``.
    """
    shutil.copytree(kit_dir, dest)
    for rel in stubbed_files:
        text = (Path(repo_root) / rel).read_text(encoding="utf-8")
        (Path(dest) / rel).write_text(instrument_python_source(text, rel, PROBE_CALL), encoding="utf-8")
    return Path(dest)


def run_kit_tests(kit_dir, cifar_dir=None):
    """Run a kit's tests in a fresh ``python -m pytest`` inside ``kit_dir`` with the ``kit_probe`` plugin.

    Parameters
    ----------
    kit_dir : Path
        Root of the kit (its tests are in ``tests/``).
    cifar_dir : Path, optional
        CIFAR-10 batches for the tests that need them (passed as ``CIFAR10_DIR``).

    Returns
    -------
    tests : dict of str to (str, list)
        Test id -> (outcome, exception chain of the failing phase as [type, message] pairs).
    reached : dict of str to set of str
        Stub name -> ids of the tests that reached its region (instrumented copies only).

    Raises
    ------
    ReleaseError
        When pytest does not run, a test module fails to collect, or the tests imported a
        ``cs231n`` from outside ``kit_dir``.
    """
    kit_dir = Path(kit_dir)
    with tempfile.TemporaryDirectory(prefix="kit-probe-") as tmp:
        tmp = Path(tmp)
        shutil.copyfile(Path(__file__).with_name("kit_probe.py"), tmp / "kit_probe.py")
        out = tmp / "records.jsonl"
        out.touch()
        # Nothing from the calling shell may add options or plugins that change what the probe sees.
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "CIFAR10_DIR", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "KIT_PROBE_TEST")
        }
        env.update(PYTHONPATH=str(tmp), KIT_PROBE_OUT=str(out), MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
        if cifar_dir is not None:
            env["CIFAR10_DIR"] = str(cifar_dir)
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "kit_probe", "-p", "no:cacheprovider", "tests"]
        proc = subprocess.run(
            cmd, cwd=kit_dir, env=env, capture_output=True, text=True, timeout=TEST_TIMEOUT, stdin=subprocess.DEVNULL
        )
        records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    tail = f"{proc.stdout.strip()[-3000:]}\n{proc.stderr.strip()[-2000:]}"
    broken = [r for r in records if r.get("when") == "collect"]
    if broken:
        lines = []
        for r in broken:
            m = STUB_MESSAGE_RE.search(r["exceptions"][0][1])
            why = f"calls the stub {m['function']} in {m['relpath']} at import time" if m else "does not import"
            lines.append(f"{r['nodeid']}: {why}")
        raise ReleaseError(
            f"test modules of {kit_dir} that fail to collect (a public test must reach student code "
            "only inside a test function, so that one missing function fails only its tests):\n  "
            + "\n  ".join(lines)
            + f"\n{tail}"
        )
    if proc.returncode not in (0, 1):
        raise ReleaseError(f"the tests of {kit_dir} did not run (pytest exit code {proc.returncode}):\n{tail}")
    package = [r["cs231n_file"] for r in records if "cs231n_file" in r]
    if not package or package[-1] is None or kit_dir.resolve() not in Path(package[-1]).resolve().parents:
        raise ReleaseError(f"the tests of {kit_dir} imported cs231n from {package[-1:] or None}, not from the kit")
    tests, reached, fixtures = {}, {}, {}
    for r in records:
        if "uses" in r:
            fixtures[r["uses"]] = set(r["fixtures"])
        elif "reached" in r:
            reached.setdefault(r["reached"], set()).add(r["by"])
        elif "nodeid" in r:
            # One record per phase that ran; the first failing phase decides, else the last one.
            previous = tests.get(r["nodeid"], ("",))[0]
            if previous != "failed":
                tests[r["nodeid"]] = (r["outcome"], r["exceptions"])
    return tests, {name: _credit(by, fixtures) for name, by in reached.items()}


def _credit(by, fixtures):
    """Replace each fixture in ``by`` ("fixture::BASEID::NAME") with the tests that use it."""
    tests = {b for b in by if not b.startswith("fixture::")}
    for b in by - tests:
        _, baseid, name = b.split("::", 2)
        users = {t for t, used in fixtures.items() if name in used and t.startswith(baseid)}
        tests |= users or {b}
    return tests


def _stub_of(exceptions, stubs):
    """Return the name of the stub whose message is in an exception chain, or None.

    The message may also arrive inside another exception, e.g. an assertion that shows the
    stderr of a child process in which the stub raised.
    """
    for _, message in exceptions:
        for m in STUB_MESSAGE_RE.finditer(message):
            if (m["function"], m["relpath"]) in stubs:
                return f"{m['function']} in {m['relpath']}"
    return None


def check_tests(kit_dir, reference_dir, stubs, cifar_dir=None):
    """Prove that the kit's public tests fail on exactly the stubbed functions.

    Two fresh pytest runs: on the instrumented reference copy (``make_reference``), which must pass
    and tells which tests reach which region, and on the kit. Then: every test that fails in the
    kit failed on a stub's NotImplementedError message; no test that reaches no region fails; every test
    that reaches a region fails (a test that still passes would not notice the missing function);
    every stubbed function is reached by a test that fails.

    Parameters
    ----------
    kit_dir : Path
        The student kit.
    reference_dir : Path
        The same kit with the instrumented reference solution.
    stubs : set of (str, str)
        ``(function, relpath)`` of every stub.
    cifar_dir : Path, optional
        CIFAR-10 batches for the tests that need them.

    Returns
    -------
    dict
        ``passed``, ``failed``, ``skipped`` (sorted test ids), ``failed_by`` (stub name -> ids of
        the tests it failed first) and ``reached_by`` (stub name -> number of tests reaching it).

    Raises
    ------
    ReleaseError
        When any of the conditions above does not hold.
    """
    # The kit first: a test module that calls a stub at import time is reported by name there.
    tests, _ = run_kit_tests(kit_dir, cifar_dir)
    ref_tests, reached = run_kit_tests(reference_dir, cifar_dir)
    bad_ref = sorted(t for t, (o, _) in ref_tests.items() if o == "failed")
    if bad_ref:
        raise ReleaseError(
            "public tests that fail on the reference solution (fix them first):\n  " + "\n  ".join(bad_ref)
        )
    names = {f"{f} in {rel}" for f, rel in stubs}
    at_import = sorted(
        f"{name} (by {by})"
        for name, users in reached.items()
        for by in users
        if "::" not in by or by.startswith("fixture::")
    )
    if at_import:
        raise ReleaseError(
            "solution regions run outside any test (at import or collection time): " + ", ".join(at_import)
        )
    touching = {t for name in names for t in reached.get(name, ())}
    problems, failed_by = [], {}
    for test, (outcome, exceptions) in sorted(tests.items()):
        stub = _stub_of(exceptions, stubs) if outcome == "failed" else None
        if outcome == "failed" and stub is None:
            last = exceptions[0] if exceptions else ["?", "no exception recorded"]
            problems.append(f"{test} fails for a reason other than a stub: {last[0]}: {last[1][:300]}")
        elif outcome == "failed" and test not in touching:
            problems.append(f"{test} fails on {stub} although it reaches no solution region with the reference")
        elif outcome == "failed":
            failed_by.setdefault(stub, []).append(test)
        elif outcome == "passed" and test in touching:
            problems.append(
                f"{test} passes although it reaches a stubbed region: it does not notice a missing "
                "function (does it catch NotImplementedError?)"
            )
    if problems:
        raise ReleaseError("the kit's tests do not fail on exactly the stubs:\n  " + "\n  ".join(problems))
    failing = {t for ts in failed_by.values() for t in ts}
    unnoticed = sorted(name for name in names if not reached.get(name, set()) & failing)
    if unnoticed:
        raise ReleaseError(
            "stubbed functions that no public test reaches and fails on (every stub must make a test "
            "fail): " + ", ".join(unnoticed)
        )
    result = {k: sorted(t for t, (o, _) in tests.items() if o == k) for k in ("passed", "failed", "skipped")}
    result["failed_by"] = dict(sorted(failed_by.items()))
    result["reached_by"] = {name: len(reached.get(name, ())) for name in sorted(names)}
    return result


def _cifar_dir(repo_root):
    """Return the CIFAR-10 folder for the kit's tests: the library's default, else the shared copy, else None."""
    # The offline copy that sits beside the repository on development and CI machines.
    shared = repo_root.parent / "shared" / "data" / "cifar-10-batches-py"
    return next((d for d in (default_cifar10_dir(), shared) if (d / "data_batch_1").is_file()), None)


def build_autograder(repo_root, out_zip):
    """Build the autograder zip with ``staff/autograder/package.py``; return its path.

    Raises
    ------
    ReleaseError
        If the packager is missing from the staff tree.
    """
    if (
        importlib.util.find_spec("staff.autograder") is None
        or importlib.util.find_spec("staff.autograder.package") is None
    ):
        raise ReleaseError("staff/autograder/package.py is missing: the autograder zip cannot be built")
    from staff.autograder.package import build_autograder_zip  # noqa: PLC0415 (checked for above: may be absent)

    return Path(build_autograder_zip(Path(repo_root), Path(out_zip)))


def build(out_dir=DEFAULT_OUT, repo_root=REPO_ROOT, prove=True):
    """Build the student kit and the autograder zip, and prove that the release is sound.

    Parameters
    ----------
    out_dir : Path or str
        Output folder (default ``staff/build/``); its ``student/`` folder and zips are replaced.
    repo_root : Path or str
        Root of the staff source (default: this repository).
    prove : bool
        Run the three proofs (no leak, kit imports, tests fail only on stubs). Default True.

    Returns
    -------
    dict of str to Path
        ``student`` (kit folder), ``kit_zip``, ``autograder_zip`` and ``summary``
        (``release_summary.json``).

    Raises
    ------
    MarkerError
        On malformed markers (the message names file and line).
    ReleaseError
        When a proof fails or the inputs are inconsistent.
    """
    t0 = time.perf_counter()
    out_dir, repo_root = Path(out_dir).resolve(), Path(repo_root).resolve()
    student = out_dir / "student"
    if student.exists():
        shutil.rmtree(student)
    staged = stage(repo_root, student)
    kit_zip = write_zip(student, out_dir / f"{KIT_NAME}.zip", KIT_NAME)
    autograder_zip = build_autograder(repo_root, out_dir / "autograder.zip")
    summary = {
        "files": staged["files"],
        "stubs": staged["stubs"],
        "blanked": staged["blanked"],
        "secrets_checked": len(staged["secrets"]),
    }
    if prove:
        # The autograder zip holds the reference solution on purpose (root-only on Gradescope);
        # what must be clean is what students get.
        leaks = find_leaks(staged["secrets"], kit_texts(student, [kit_zip]))
        if leaks:
            raise ReleaseError("solution lines leak into the release:\n  " + "\n  ".join(leaks))
        unshipped = find_unshipped(student, repo_root, kit_texts(student))
        if unshipped:
            raise ReleaseError(
                "the kit names files it does not ship (a student cannot follow these):\n  " + "\n  ".join(unshipped)
            )
        stubs = {(f, rel) for rel, funcs in staged["stubs"].items() for f in funcs}
        with tempfile.TemporaryDirectory(prefix="kit-") as tmp:
            # The proofs run on the zip as a student unpacks it, so they cover the zip too.
            with zipfile.ZipFile(kit_zip) as zf:
                zf.extractall(tmp)
            kit = Path(tmp) / KIT_NAME
            for name in EXECUTABLE:
                (kit / name).chmod(0o755)
            summary["imports"] = check_imports(kit)
            reference = make_reference(kit, repo_root, staged["stubs"], Path(tmp) / "reference")
            summary["tests"] = check_tests(kit, reference, stubs, _cifar_dir(repo_root))
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    summary_path = out_dir / "release_summary.json"
    summary_path.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    print_summary(summary, student, kit_zip, autograder_zip)
    return {"student": student, "kit_zip": kit_zip, "autograder_zip": autograder_zip, "summary": summary_path}


def print_summary(summary, student, kit_zip, autograder_zip):
    """Print what was built and what was proved."""
    print(f"student kit: {student} ({len(summary['files'])} files), zip: {kit_zip}")
    print(textwrap.fill(", ".join(summary["files"]), width=100, initial_indent="  ", subsequent_indent="  "))
    print(f"autograder:  {autograder_zip}")
    print("stubbed:")
    for rel, funcs in summary["stubs"].items():
        print(f"  {rel:36s} {len(funcs):3d} regions in {len(set(funcs))} functions")
    for rel, pieces in summary["blanked"].items():
        print(
            f"  {rel:36s} {len(pieces[SOLUTION_TAG]):3d} solution regions or cells, {len(pieces[ANSWER_TAG])} answers"
        )
    if "tests" in summary:
        t = summary["tests"]
        print(
            f"proved: no leak ({summary['secrets_checked']} solution lines checked in the kit folder and zip); "
            f"the kit names only files it ships; kit imports ({len(summary['imports'])} modules)"
        )
        print(
            f"kit tests: {len(t['passed'])} passed, {len(t['failed'])} failed, {len(t['skipped'])} skipped; every "
            f"failure is a stub's, and each of the {len(t['reached_by'])} stubbed functions fails a test that "
            "reaches it"
        )
    print(f"done in {summary['seconds']} s")


def main(argv=None):
    """Command line: ``python -m staff.release [--out DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m staff.release", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: staff/build/)")
    args = parser.parse_args(argv)
    try:
        build(args.out)
    except (MarkerError, ReleaseError) as e:
        print(f"release build failed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
