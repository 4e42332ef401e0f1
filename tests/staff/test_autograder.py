"""End-to-end tests of the autograder: grade real submissions through the command line.

Every submission is built from this repository's student-owned files (the reference solution). The
attacks each replace one function of ``layers.py`` by a wrong one plus the attack, so an attack that
worked would show up as points for that function. When the tests run as root (as in CI and on
Gradescope) student code is chrooted and runs as ``nobody``; a few assertions that only hold then
are skipped otherwise.
"""

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from staff.autograder.package import build_autograder_zip
from staff.autograder.sandbox import student_owned_files
from staff.markers import stub_python_source

REPO_ROOT = Path(__file__).resolve().parents[2]
IS_ROOT = os.geteuid() == 0
root_only = pytest.mark.skipif(not IS_ROOT, reason="student code is isolated only when the grader runs as root")
LAYERS = "cs231n/layers.py"
LAYER_FUNCTIONS = {
    f"{layer}_{d}" for layer in ("affine", "relu", "leaky_relu", "sigmoid", "tanh") for d in ("forward", "backward")
} | {"svm_loss", "softmax_loss"}
TOP_KEYS = {
    "score",
    "execution_time",
    "output",
    "output_format",
    "visibility",
    "stdout_visibility",
    "extra_data",
    "tests",
    "leaderboard",
}
TEST_KEYS = {"score", "max_score", "status", "name", "number", "output", "tags", "visibility", "extra_data"}
VISIBILITIES = {"visible", "hidden", "after_due_date", "after_published"}

pytestmark = pytest.mark.slow


def validate_results(results):
    """Check a results object against Gradescope's format (see ../shared/docs/gradescope.md)."""
    assert isinstance(results, dict) and set(results) <= TOP_KEYS, set(results) - TOP_KEYS
    for key in ("score", "execution_time", "output", "visibility", "stdout_visibility", "tests"):
        assert key in results, f"results.json lacks {key}"
    assert isinstance(results["score"], (int, float)) and isinstance(results["execution_time"], (int, float))
    assert isinstance(results["output"], str) and results.get("output_format", "text") in {"text", "html", "md", "ansi"}
    assert results["visibility"] in VISIBILITIES and results["stdout_visibility"] in VISIBILITIES
    numbers = []
    for test in results["tests"]:
        assert set(test) <= TEST_KEYS and {
            "score",
            "max_score",
            "status",
            "name",
            "number",
            "output",
            "tags",
            "visibility",
        } <= set(test), test
        assert test["status"] in {"passed", "failed"} and test["visibility"] in VISIBILITIES
        assert 0 <= test["score"] <= test["max_score"] and (test["status"] == "passed") == (
            test["score"] == test["max_score"]
        )
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert isinstance(test["tags"], list) and all(isinstance(t, str) for t in test["tags"])
        numbers.append(test["number"])
    assert len(set(numbers)) == len(numbers), "test numbers repeat"
    if results["tests"]:
        total = 0.0
        for test in results["tests"]:
            total += test["score"]
        assert results["score"] == pytest.approx(total)


def per_function(results, field="score"):
    """Points per student function (the first tag), summed with a plain loop."""
    sums = {}
    for test in results["tests"]:
        sums[test["tags"][0]] = sums.get(test["tags"][0], 0.0) + test[field]
    return sums


def reference_sources():
    return {rel: (REPO_ROOT / rel).read_text(encoding="utf-8") for rel in student_owned_files(REPO_ROOT)}


def make_submission(folder, replace=None, append=None):
    """Write the reference student files to ``folder``; ``replace`` swaps whole files, ``append`` adds code."""
    files = reference_sources()
    files.update(replace or {})
    for rel, code in (append or {}).items():
        files[rel] += "\n\n" + textwrap.dedent(code)
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    return folder


def run_grader(submission, results, *extra, timeout=30, env=None):
    """Run ``python -m staff.autograder grade`` and return the results object it wrote."""
    cmd = [
        sys.executable,
        "-m",
        "staff.autograder",
        "grade",
        str(submission),
        "--results",
        str(results),
        "--timeout",
        str(timeout),
        *extra,
    ]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, env=env)
    assert results.is_file(), f"no results.json; stderr:\n{proc.stderr[-3000:]}"
    data = json.loads(results.read_text())
    validate_results(data)
    return data


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Results of grading the reference solution (every grading test)."""
    tmp = tmp_path_factory.mktemp("reference")
    return run_grader(make_submission(tmp / "sub"), tmp / "results" / "results.json")


def layers_only(results):
    """The part of a full results object that ``-k test_layers`` grades: (score, points per function)."""
    full = {f: p for f, p in per_function(results, "max_score").items() if f in LAYER_FUNCTIONS}
    return sum(full.values()), full


def test_reference_solution_gets_full_marks(reference):
    assert reference["tests"] and all(t["status"] == "passed" for t in reference["tests"]), [
        (t["name"], t["output"]) for t in reference["tests"] if t["status"] != "passed"
    ]
    assert reference["score"] == sum(t["max_score"] for t in reference["tests"])


def test_every_student_function_is_graded_with_visible_and_hidden_tests(reference):
    functions = set(per_function(reference))
    expected = (
        LAYER_FUNCTIONS
        | {
            "TwoLayerNet.__init__",
            "TwoLayerNet.loss",
            "FullyConnectedNet.__init__",
            "FullyConnectedNet.loss",
            "sgd_momentum",
            "rmsprop",
            "adam",
            "Graph (lecture circuits)",
        }
        | {f"{g}.backward" for g in ("Add", "Multiply", "Max", "AddConst", "MulConst", "Exp", "Reciprocal", "Sigmoid")}
    )
    assert functions == expected
    visible = {t["tags"][0] for t in reference["tests"] if t["visibility"] == "visible"}
    hidden = {t["tags"][0] for t in reference["tests"] if t["visibility"] == "after_due_date"}
    assert visible == expected and hidden & LAYER_FUNCTIONS == LAYER_FUNCTIONS
    # Before the due date the summary counts what the student may see, and how much more is graded later.
    assert "affine_forward: 3 / 3 (1 more point is graded after the due date)" in reference["output"].splitlines()


def test_blank_kit_scores_zero_without_crashing(tmp_path, reference):
    stubs = {rel: stub_python_source(text, rel) for rel, text in reference_sources().items()}
    results = run_grader(make_submission(tmp_path / "sub", replace=stubs), tmp_path / "r" / "results.json")
    assert len(results["tests"]) == len(reference["tests"])
    assert results["score"] == 0
    assert all(
        "not implemented yet" in t["output"] or "NotImplementedError" in t["output"]
        for t in results["tests"]
        if t["tags"][0] in LAYER_FUNCTIONS
    )


BROKEN = {
    # tanh_backward forgets the local gradient; rmsprop forgets (1 - decay_rate) and the square root.
    LAYERS: """
        def tanh_backward(dout, cache):
            return dout * 1.0
    """,
    "cs231n/optim.py": """
        def rmsprop(w, dw, config=None):
            config = {} if config is None else config
            config.setdefault("learning_rate", 1e-2)
            config.setdefault("decay_rate", 0.99)
            config.setdefault("epsilon", 1e-8)
            if config.get("cache") is None:
                config["cache"] = np.zeros_like(w)
            config["cache"] = config["decay_rate"] * config["cache"] + dw**2
            return w - config["learning_rate"] * dw / (config["cache"] + config["epsilon"]), config
    """,
}


def test_one_broken_function_loses_exactly_its_own_points(tmp_path, reference):
    results = run_grader(make_submission(tmp_path / "sub", append=BROKEN), tmp_path / "r" / "results.json")
    got, full = per_function(results), per_function(reference, "max_score")
    for function, points in full.items():
        assert got[function] == (0.0 if function in {"tanh_backward", "rmsprop"} else points), function
    assert results["score"] == reference["score"] - full["tanh_backward"] - full["rmsprop"]


# Each attack redefines affine_forward (wrong unless the attack works) and attacks the grader.
WRONG_AFFINE = """
    def affine_forward(x, w, b):
        return np.zeros((x.shape[0], w.shape[1])), (x, w, b)
"""


def attack(*parts):
    """Join code snippets, each dedented on its own, into the text appended to layers.py."""
    return "\n".join(textwrap.dedent(p) for p in parts)


ATTACKS = {
    "writes_results": attack(
        WRONG_AFFINE,
        """
        import json as _json, os as _os
        _FAKE = _json.dumps({{"score": 1000.0, "output": "forged", "tests": []}})
        for _p in [{results!r}, "/autograder/results/results.json", "results.json", "../results/results.json"]:
            try:
                _os.makedirs(_os.path.dirname(_p) or ".", exist_ok=True)
                with open(_p, "w") as _f:
                    _f.write(_FAKE)
            except BaseException:
                pass
    """,
    ),
    "monkeypatches_numpy_and_helpers": attack(
        WRONG_AFFINE,
        """
        import builtins as _builtins
        np.allclose = lambda *a, **k: True
        np.isclose = lambda *a, **k: True
        np.testing.assert_allclose = lambda *a, **k: None
        _builtins.AssertionError = type("Never", (Exception,), {{}})
        try:
            import cs231n.gradient_check as _gc
            _gc.rel_error = lambda x, y: 0.0
            _gc.eval_numerical_gradient_array = lambda f, x, df, h=1e-5: 0 * x
        except BaseException:
            pass
    """,
    ),
    "sys_exit_in_function": attack("""
        def affine_forward(x, w, b):
            import sys
            sys.exit(0)
    """),
    "os_exit_in_function": attack("""
        def affine_forward(x, w, b):
            import os
            os._exit(0)
    """),
    "loops_forever": attack("""
        def affine_forward(x, w, b):
            while True:
                pass
    """),
    "prints_fake_results": attack("""
        import sys as _sys
        print('{{"score": 1000.0, "output": "all tests passed", "tests": []}}')
        print("==== 69 passed in 0.1s ====", file=_sys.stderr)

        def affine_forward(x, w, b):
            print("PASSED affine_forward 100/100")
            print('test_forward_matches_reference PASSED', file=_sys.stderr)
            return np.zeros((x.shape[0], w.shape[1])), (x, w, b)
    """),
    "reads_reference_from_disk": attack("""
        def affine_forward(x, w, b):
            import os
            here = os.path.abspath(__file__)
            own = open(here).read()
            candidates = [{reference!r}, "/autograder/source/cs231n/layers.py"]
            d = os.path.dirname(here)
            for _ in range(12):
                candidates += [os.path.join(d, "cs231n", "layers.py"), os.path.join(d, "source", "cs231n", "layers.py")]
                d = os.path.dirname(d)
            for root, dirs, files in os.walk("/"):
                dirs[:] = [s for s in dirs if s not in ("proc", "sys", "dev", "usr")] if root.count("/") < 4 else []
                candidates += [os.path.join(root, f) for f in files if f in ("layers.py", "results.json")]
            for path in candidates:
                try:
                    text = open(path).read()
                    if text != own and "def affine_forward" in text:
                        namespace = {{"__name__": "stolen"}}
                        exec(compile(text, path, "exec"), namespace)
                        return namespace["affine_forward"](x, w, b)
                except Exception:
                    continue
            return np.zeros((x.shape[0], w.shape[1])), (x, w, b)
    """),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_attack_gains_nothing(tmp_path, reference, attack):
    if attack == "reads_reference_from_disk" and not IS_ROOT:
        pytest.skip("only a grader started as root hides the instructor's files from student code")
    results_path = tmp_path / "r" / "results.json"
    code = ATTACKS[attack].format(results=str(results_path), reference=str(REPO_ROOT / LAYERS))
    sub = make_submission(tmp_path / "sub", append={LAYERS: code})
    timeout = 2 if attack == "loops_forever" else 30
    results = run_grader(sub, results_path, "-k", "test_layers", timeout=timeout)
    got, (score, full) = per_function(results), layers_only(reference)
    assert got["affine_forward"] == 0
    for function in LAYER_FUNCTIONS - {"affine_forward"}:
        assert got[function] == full[function], function
    assert results["score"] == score - full["affine_forward"]
    if attack == "loops_forever":
        assert all(
            "did not finish within 2 s" in t["output"] for t in results["tests"] if t["tags"][0] == "affine_forward"
        )


@pytest.mark.parametrize(
    "exit_code", ["import os\nos._exit(0)\n", "import sys\nsys.exit(0)\n"], ids=["os_exit", "sys_exit"]
)
def test_exit_at_import_scores_zero_for_the_module_and_nothing_else(tmp_path, exit_code):
    sub = make_submission(tmp_path / "sub", append={LAYERS: exit_code})
    results = run_grader(sub, tmp_path / "r" / "results.json", "-k", "test_layers or test_optim")
    got, full = per_function(results), per_function(results, "max_score")
    assert {f for f, p in got.items() if p == 0} == LAYER_FUNCTIONS
    assert all(got[f] == full[f] for f in ("sgd_momentum", "rmsprop", "adam"))


def test_support_files_and_tests_in_the_submission_are_ignored(tmp_path, reference):
    sub = make_submission(tmp_path / "sub", append={LAYERS: WRONG_AFFINE})
    (sub / "cs231n" / "__init__.py").write_text("import numpy as np\nnp.allclose = lambda *a, **k: True\n")
    (sub / "cs231n" / "gradient_check.py").write_text("def rel_error(x, y):\n    return 0.0\n")
    (sub / "conftest.py").write_text("import pytest\n@pytest.hookimpl\ndef pytest_runtest_makereport():\n    pass\n")
    (sub / "tests").mkdir()
    (sub / "tests" / "test_layers.py").write_text("def test_affine_forward():\n    pass\n")
    results = run_grader(sub, tmp_path / "r" / "results.json", "-k", "test_layers")
    score, full = layers_only(reference)
    assert per_function(results)["affine_forward"] == 0
    assert results["score"] == score - full["affine_forward"]


def test_symlinked_student_file_to_the_instructor_copy_is_refused(tmp_path):
    sub = make_submission(tmp_path / "sub")
    (sub / LAYERS).unlink()
    (sub / LAYERS).symlink_to(REPO_ROOT / LAYERS)
    results = run_grader(sub, tmp_path / "r" / "results.json", "-k", "test_layers")
    assert results["score"] == 0 and "not a regular file" in results["output"]


@root_only
def test_student_code_runs_chrooted_as_a_user_of_its_own(tmp_path):
    probe = """
        def affine_forward(x, w, b):
            import os
            raise RuntimeError(f"uid={os.getuid()} gid={os.getgid()} root={sorted(os.listdir('/'))}")
    """
    results = run_grader(
        make_submission(tmp_path / "sub", append={LAYERS: probe}),
        tmp_path / "r" / "results.json",
        "-k",
        "test_forward_matches_reference and affine",
    )
    outputs = [t["output"] for t in results["tests"]]
    found = [re.search(r"uid=(\d+) gid=(\d+) root=\['cs231n'\]", o) for o in outputs]
    assert outputs and all(found), outputs
    # An id of its own for every call (the same for user and group), above every id the system hands out.
    assert all(m[1] == m[2] and int(m[1]) >= 2**31 for m in found) and len({m[1] for m in found}) == len(found)


@pytest.mark.parametrize(
    "due, shown",
    [("2020-01-01T00:00:00Z", {"visible"}), ("2999-01-01T00:00:00Z", {"visible", "after_due_date"})],
    ids=["past_due", "before_due"],
)
def test_hidden_tests_are_shown_once_the_due_date_has_passed(tmp_path, due, shown):
    meta = tmp_path / "submission_metadata.json"
    meta.write_text(json.dumps({"assignment": {"due_date": due}}))
    results = run_grader(
        make_submission(tmp_path / "sub"), tmp_path / "r" / "results.json", "--metadata", str(meta), "-k", "test_optim"
    )
    assert {t["visibility"] for t in results["tests"]} == shown
    assert ("graded after the due date" in results["output"]) == (shown != {"visible"})


def test_crash_before_grading_still_writes_results(tmp_path):
    results = run_grader(tmp_path / "no-such-submission", tmp_path / "r" / "results.json")
    assert results["score"] == 0 and results["tests"] == []
    assert "does not exist" in results["output"]


def test_grading_tests_that_fail_to_collect_give_results_that_say_so(tmp_path):
    tests_dir = tmp_path / "grading_tests"
    tests_dir.mkdir()
    (tests_dir / "test_broken.py").write_text("import no_such_module_anywhere\n")
    results_path = tmp_path / "r" / "results.json"
    code = (
        "from staff.autograder.grade import grade; import sys; grade(sys.argv[1], sys.argv[2], tests_dir=sys.argv[3])"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(make_submission(tmp_path / "sub")), str(results_path), str(tests_dir)],
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=300,
    )
    results = json.loads(results_path.read_text())
    validate_results(results)
    assert results["score"] == 0 and "could not be collected" in results["output"]


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "terminated"])
def test_results_are_written_as_tests_finish_so_a_stopped_run_keeps_them(tmp_path, stop):
    loop = "def softmax_loss(x, y):\n    while True:\n        pass\n"
    sub = make_submission(tmp_path / "sub", append={LAYERS: loop})
    results_path = tmp_path / "r" / "results.json"
    cmd = [
        sys.executable,
        "-m",
        "staff.autograder",
        "grade",
        str(sub),
        "--results",
        str(results_path),
        "--timeout",
        "600",
        "-k",
        "test_layers",
    ]
    # A killed grader cannot remove its temporary folders: keep them under tmp_path.
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.Popen(
        cmd, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env
    )
    try:
        # Wait until every test before the first softmax_loss test has been recorded.
        deadline, passed = time.monotonic() + 180, 0
        while passed < 21 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            if results_path.is_file():
                passed = sum(t["status"] == "passed" for t in json.loads(results_path.read_text())["tests"])
        # Like Gradescope's overall timeout: SIGTERM, or the whole run killed without warning.
        os.killpg(proc.pid, stop)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    results = json.loads(results_path.read_text())
    validate_results(results)
    by_status = {}
    for t in results["tests"]:
        by_status.setdefault(t["tags"][0], set()).add(t["status"])
    # The tests before the one that hung were recorded as they finished; the hung one and the rest fail.
    assert by_status["softmax_loss"] == {"failed"} and results["tests"][0]["status"] == "passed"
    assert all(t["status"] == "passed" for t in results["tests"][:21])
    assert results["score"] > 0
    if stop == signal.SIGTERM:
        # A terminated grader finishes its results file: the tests it never ran say so.
        assert all("did not run to the end" in t["output"] for t in results["tests"] if t["tags"][0] == "softmax_loss")


def test_batch_grading_writes_one_csv_row_per_submission(tmp_path, reference):
    folder = tmp_path / "submissions"
    make_submission(folder / "alice")
    bob = make_submission(tmp_path / "bob", append=BROKEN)
    with zipfile.ZipFile(folder / "bob.zip", "w") as zf:
        for rel in student_owned_files(REPO_ROOT):
            zf.write(bob / rel, rel.rsplit("/", 1)[-1])  # files at the zip root
    (folder / "notes.txt").write_text("not a submission\n")
    csv_path = tmp_path / "scores.csv"
    subprocess.run(
        [sys.executable, "-m", "staff.autograder", "batch", str(folder), "--csv", str(csv_path), "--timeout", "30"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        timeout=900,
    )
    with open(csv_path, newline="") as f:
        rows = {row["submission"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"alice", "bob.zip"}
    full = per_function(reference, "max_score")
    assert float(rows["alice"]["total"]) == reference["score"] == float(rows["alice"]["max_score"])
    assert float(rows["bob.zip"]["tanh_backward"]) == 0 and float(rows["bob.zip"]["rmsprop"]) == 0
    assert float(rows["bob.zip"]["adam"]) == full["adam"]
    assert float(rows["bob.zip"]["total"]) == reference["score"] - full["tanh_backward"] - full["rmsprop"]


def test_gradescope_layout_grades_from_the_autograder_zip_and_keeps_the_source_private(tmp_path):
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(build_autograder_zip(REPO_ROOT, tmp_path / "autograder.zip")) as zf:
        zf.extractall(root / "source")
    os.chmod(root / "source" / "run_autograder", 0o755)
    # Gradescope's uploads: a zip of the student's files at its root; the due date is far away.
    sub = make_submission(
        tmp_path / "files",
        append={LAYERS: ATTACKS["reads_reference_from_disk"].format(reference=str(root / "source" / LAYERS))},
    )
    (root / "submission").mkdir()
    with zipfile.ZipFile(root / "submission" / "submission.zip", "w") as zf:
        for rel in student_owned_files(REPO_ROOT):
            zf.write(sub / rel, rel.rsplit("/", 1)[-1])
    (root / "submission_metadata.json").write_text(json.dumps({"assignment": {"due_date": "2999-01-01T00:00:00Z"}}))
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable)
    subprocess.run([str(root / "source" / "run_autograder")], env=env, check=True, capture_output=True, timeout=900)
    results = json.loads((root / "results" / "results.json").read_text())
    validate_results(results)
    assert {t["visibility"] for t in results["tests"]} == {"visible", "after_due_date"}
    got, full = per_function(results), per_function(results, "max_score")
    # The nets run the student's own affine_forward, so only they share its loss.
    assert all(
        got[f] == full[f] for f in got if f not in {"affine_forward", "TwoLayerNet.loss", "FullyConnectedNet.loss"}
    )
    if IS_ROOT:
        assert got["affine_forward"] == 0
        assert oct((root / "source").stat().st_mode & 0o777) == oct(0o700)
        assert oct((root / "results").stat().st_mode & 0o777) == oct(0o700)


def test_run_autograder_writes_results_even_when_python_cannot_start(tmp_path):
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    shutil.copy(REPO_ROOT / "staff" / "autograder" / "run_autograder", root / "source" / "run_autograder")
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=shutil.which("false"))
    subprocess.run(
        ["bash", str(root / "source" / "run_autograder")], env=env, check=True, capture_output=True, timeout=60
    )
    results = json.loads((root / "results" / "results.json").read_text())
    validate_results(results)
    assert results["score"] == 0 and "could not start" in results["output"]
