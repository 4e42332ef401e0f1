"""The release's proofs that run the kit: it imports, and its public tests fail on exactly the stubs.

Each runs in a fresh interpreter on an unpacked kit. ``check_imports`` imports the kit's modules.
``check_tests`` runs the public tests twice with the pytest plugin ``staff/kit_probe.py``: on the kit,
and on a copy that ``make_reference`` fills with the reference solution, each region reporting which
tests reach it. ``staff/README.md`` ("Building the release") states the conditions in full.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from staff.markers import STUB_MESSAGE_RE, instrument_python_source
from staff.stage import ReleaseError

# The modules whose import proves the kit is usable.
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

TEST_TIMEOUT = 900

# The line added at the top of every region in the instrumented reference copy; it does nothing in
# a child process that a test starts without the probe on its path.
PROBE_CALL = '__import__("importlib.util").util.find_spec("kit_probe") and __import__("kit_probe").reached({})'


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
    _check_reference_run(ref_tests, reached)
    names = {f"{f} in {rel}" for f, rel in stubs}
    touching = {t for name in names for t in reached.get(name, ())}
    failed_by = _failures_by_stub(tests, stubs, touching)
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


def _check_reference_run(ref_tests, reached):
    """Refuse a reference run in which a test fails or a region runs outside every test."""
    bad_ref = sorted(t for t, (o, _) in ref_tests.items() if o == "failed")
    if bad_ref:
        raise ReleaseError(
            "public tests that fail on the reference solution (fix them first):\n  " + "\n  ".join(bad_ref)
        )
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


def _failures_by_stub(tests, stubs, touching):
    """Return stub name -> the kit's tests that failed on it; refuse any other failure or pass.

    ``touching`` holds the tests that reach a solution region with the reference solution.
    """
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
    return failed_by


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
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "kit_probe", "-p", "no:cacheprovider", "tests"]
        proc = subprocess.run(
            cmd,
            cwd=kit_dir,
            env=_probe_env(tmp, out, cifar_dir),
            capture_output=True,
            text=True,
            timeout=TEST_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
        records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    _check_run(kit_dir, proc, records)
    return _read_records(records)


def _probe_env(probe_dir, out, cifar_dir):
    """The environment of a probed pytest run: ``kit_probe`` on the path, writing its records to ``out``."""
    # Nothing from the calling shell may add options or plugins that change what the probe sees.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "CIFAR10_DIR", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "KIT_PROBE_TEST")
    }
    env.update(PYTHONPATH=str(probe_dir), KIT_PROBE_OUT=str(out), MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    if cifar_dir is not None:
        env["CIFAR10_DIR"] = str(cifar_dir)
    return env


def _check_run(kit_dir, proc, records):
    """Refuse a run in which a test module failed to collect, pytest did not run, or cs231n came from elsewhere."""
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


def _read_records(records):
    """Return ``(tests, reached)`` as ``run_kit_tests`` describes them, from the probe's records."""
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
