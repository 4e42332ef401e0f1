"""Unit tests of the autograder's parts: the codec, submission reading, the student runner, due dates, the zip."""

import io
import json
import os
import pwd
import re
import signal
import stat
import subprocess
import sys
import threading
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from staff import stage
from staff.autograder import submission
from staff.autograder.codec import CodecError, decode, encode
from staff.autograder.grade import past_due_date
from staff.autograder.package import build_autograder_zip
from staff.autograder.runner import StudentError, StudentRunner
from staff.autograder.sandbox import build_sandbox, preload_modules, student_owned_files
from staff.autograder.submission import read_submission

REPO_ROOT = Path(__file__).resolve().parents[2]

STUDENT_PY = ["cs231n/classifiers/fc_net.py", "cs231n/graph.py", "cs231n/layers.py", "cs231n/optim.py"]


def test_student_owned_files_are_the_files_with_solution_regions():
    assert student_owned_files(REPO_ROOT) == STUDENT_PY
    # The release build zips the same .py files that the autograder takes from a submission.
    assert set(STUDENT_PY) == {f for f in stage.STUDENT_FILES if f.endswith(".py")}


def test_codec_round_trips_nested_plain_data():
    value = {
        "loss": 1.25,
        "grads": {"W1": np.arange(6.0).reshape(2, 3), "b1": np.float32(2.5)},
        "pair": (np.int64(3), "text", None, True),
        "nan": float("nan"),
        "list": [1, [2.0]],
    }
    back = decode(encode(value))
    assert back["loss"] == 1.25 and back["pair"][1:] == ("text", None, True)
    assert isinstance(back["pair"], tuple) and back["list"] == [1, [2.0]]
    np.testing.assert_array_equal(back["grads"]["W1"], np.arange(6.0).reshape(2, 3))
    assert back["grads"]["b1"].dtype == np.float32 and back["pair"][0] == 3
    assert np.isnan(back["nan"])


@pytest.mark.parametrize(
    "value", [object(), np.array([object()]), {1: 2}, lambda: 0], ids=["object", "object_array", "int_key", "function"]
)
def test_encode_refuses_values_that_are_not_plain_data(value):
    with pytest.raises(CodecError):
        encode(value)


def _npz(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"not a zip",
        _npz(tree=np.array(json.dumps({"$a": "v0"})), v0=np.array([{"x": 1}], dtype=object)),
        _npz(tree=np.array(json.dumps({"$a": "missing"}))),
        _npz(tree=np.array(json.dumps({"$call": "os.system"}))),
        _npz(v0=np.zeros(2)),
    ],
    ids=["garbage", "pickled_object_array", "dangling_array", "unknown_node", "no_tree"],
)
def test_decode_refuses_forged_payloads_without_unpickling(data):
    with pytest.raises(CodecError):
        decode(data)


def _write_zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


@pytest.mark.parametrize(
    "names",
    [
        {"layers.py": "cs231n/layers.py", "fc_net.py": "cs231n/classifiers/fc_net.py"},
        {"cs231n/layers.py": "cs231n/layers.py", "cs231n/classifiers/fc_net.py": "cs231n/classifiers/fc_net.py"},
        {
            "kit/cs231n/layers.py": "cs231n/layers.py",
            "kit/cs231n/classifiers/fc_net.py": "cs231n/classifiers/fc_net.py",
        },
    ],
    ids=["zip_root", "cs231n_paths", "under_a_folder"],
)
def test_read_submission_finds_student_files_in_any_zip_layout(tmp_path, names):
    members = {name: f"# {name}\n" for name in names}
    members["cs231n/gradient_check.py"] = "rel_error = lambda x, y: 0.0\n"
    members["tests/test_layers.py"] = "def test_nothing(): pass\n"
    files, notes = read_submission(_write_zip(tmp_path / "sub.zip", members), STUDENT_PY)
    assert {rel: data.decode() for rel, data in files.items()} == {rel: f"# {name}\n" for name, rel in names.items()}
    assert any("cs231n/graph.py was not found" in n for n in notes)


def _zip_with_lying_sizes(path, members, claimed):
    """A zip of ``members``; the headers of those named in ``claimed`` give the size claimed there."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    raw = bytearray(path.read_bytes())
    for name, size in claimed.items():
        local, central = raw.find(name.encode()) - 30, raw.rfind(name.encode()) - 46
        raw[local + 22 : local + 26] = raw[central + 24 : central + 28] = size.to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    return path


def test_read_submission_never_reads_past_the_size_cap_whatever_the_headers_claim(tmp_path, monkeypatch):
    cap = submission.MAX_FILE_BYTES
    members = {
        "cs231n/layers.py": b"# fine\n",
        "cs231n/optim.py": b"#" * (cap * 8),  # claims 100 bytes
        "cs231n/graph.py": b"#" * (cap * 8),  # an honest zip bomb: claims what it holds
        "cs231n/classifiers/fc_net.py": b"#" * 100,  # claims 8 times the cap: the bytes decide, not the claim
    }
    claimed = {"cs231n/optim.py": 100, "cs231n/classifiers/fc_net.py": cap * 8}
    path = _zip_with_lying_sizes(tmp_path / "sub.zip", members, claimed)
    largest, read = [0], zipfile.ZipExtFile.read

    def counting_read(self, n=-1):
        data = read(self, n)
        largest[0] = max(largest[0], len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    files, notes = read_submission(path, STUDENT_PY)
    assert files == {"cs231n/layers.py": b"# fine\n", "cs231n/classifiers/fc_net.py": b"#" * 100}
    assert largest[0] <= cap + 1
    for name in ("cs231n/optim.py", "cs231n/graph.py"):
        assert any(n.startswith(f"{name} was not graded") for n in notes), (name, notes)


def _npz_member(name, data, compress):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as zf:
        zf.writestr("tree.npy", _npy(np.array(json.dumps({"$a": "v0"}))))
        zf.writestr(name, data)
    return buf.getvalue()


def _npy(array):
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _npy_claiming(shape, data):
    """An .npy member whose header claims float64 ``shape`` but which holds only ``data``."""
    buf = io.BytesIO()
    buf.write(np.lib.format.magic(1, 0))
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buf.getvalue() + data


@pytest.mark.parametrize(
    "data",
    [
        _npz_member("v0.npy", _npy(np.zeros(1 << 22)), compress=True),  # 32 MB that deflate to 32 KB
        _npz_member("v0.npy", _npy_claiming((10**9,), bytes(32)), compress=False),  # claims 8 GB
        _npz_member("v0.npy", _npy_claiming((2,), bytes(32)), compress=False),  # claims less than it holds
    ],
    ids=["compressed", "header_claims_more", "header_claims_less"],
)
def test_decode_never_inflates_or_allocates_more_than_the_payload_holds(data):
    with pytest.raises(CodecError):
        decode(data)


def test_read_submission_prefers_the_cs231n_path_over_a_stray_copy(tmp_path):
    sub = tmp_path / "sub"
    (sub / "cs231n").mkdir(parents=True)
    (sub / "cs231n" / "layers.py").write_text("# real\n")
    (sub / "layers.py").write_text("# stray\n")
    files, _ = read_submission(sub, ["cs231n/layers.py"])
    assert files == {"cs231n/layers.py": b"# real\n"}


def test_read_submission_ignores_symlinks(tmp_path):
    sub = tmp_path / "sub"
    (sub / "cs231n").mkdir(parents=True)
    (sub / "cs231n" / "layers.py").symlink_to(REPO_ROOT / "cs231n" / "layers.py")
    files, notes = read_submission(sub, ["cs231n/layers.py"])
    assert files == {} and any("not a regular file" in n for n in notes)


def test_read_submission_ignores_symlinks_stored_in_a_zip(tmp_path):
    link = zipfile.ZipInfo("cs231n/layers.py")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(tmp_path / "sub.zip", "w") as zf:
        zf.writestr(link, str(REPO_ROOT / "cs231n" / "layers.py"))
    files, notes = read_submission(tmp_path / "sub.zip", ["cs231n/layers.py"])
    assert files == {} and any("not a regular file" in n for n in notes)


def test_sandbox_takes_student_files_from_submission_and_the_rest_from_the_instructor(tmp_path):
    sub = _write_zip(
        tmp_path / "sub.zip", {"layers.py": "# student layers\n", "cs231n/layer_utils.py": "# forged support file\n"}
    )
    sandbox, owned, notes = build_sandbox(REPO_ROOT, sub, parent=tmp_path)
    assert owned == STUDENT_PY
    assert (sandbox / "cs231n/layers.py").read_text() == "# student layers\n"
    assert (sandbox / "cs231n/layer_utils.py").read_bytes() == (REPO_ROOT / "cs231n/layer_utils.py").read_bytes()
    # The instructor's solutions of files the student did not send are not in the sandbox.
    assert not (sandbox / "cs231n/optim.py").exists() and not (sandbox / "cs231n/graph.py").exists()
    assert stat.S_IMODE(sandbox.stat().st_mode) == 0o755


def test_sandbox_notes_a_student_import_of_a_module_grading_does_not_provide(tmp_path):
    sub = _write_zip(
        tmp_path / "sub.zip",
        {"layers.py": "from cs231n.gradient_check import rel_error\nfrom .layer_utils import affine_relu_forward\n"},
    )
    _, _, notes = build_sandbox(REPO_ROOT, sub, parent=tmp_path)
    imports = [n for n in notes if " imports " in n]
    assert imports == [
        "cs231n/layers.py imports cs231n.gradient_check, which the autograder does not provide: remove that "
        "import, or none of cs231n/layers.py can be graded"
    ]


@pytest.mark.parametrize(
    "due, expected", [("2020-01-01T00:00:00+00:00", True), ("2999-01-01T00:00:00-08:00", False), (None, False)]
)
def test_past_due_date_reads_gradescope_metadata(tmp_path, due, expected):
    meta = tmp_path / "submission_metadata.json"
    meta.write_text(json.dumps({"assignment": {"due_date": due}, "created_at": "2026-01-01T00:00:00Z"}))
    assert past_due_date(meta, now=datetime(2026, 6, 1, tzinfo=timezone.utc)) is expected


def test_past_due_date_without_metadata_keeps_hidden_tests_hidden(tmp_path):
    assert past_due_date(tmp_path / "absent.json") is False


def test_autograder_zip_has_gradescope_entry_points_and_the_instructor_copy(tmp_path):
    out = build_autograder_zip(REPO_ROOT, tmp_path / "out" / "autograder.zip")
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in zf.infolist()}
    assert modes["setup.sh"] == 0o755 and modes["run_autograder"] == 0o755
    assert {
        "requirements.txt",
        "staff/__init__.py",
        "staff/autograder/__main__.py",
        "staff/autograder/tests/test_layers.py",
        *STUDENT_PY,
    } <= names
    assert not any("__pycache__" in n or n.startswith(("tests/", "notebooks/", "datasets/")) for n in names)


PROBE = """
import os
import numpy as np


def double(x):
    return 2 * x


def boom():
    raise ValueError("x has shape (2,)")


def spin():
    while True:
        pass


def opaque():
    return object()


def leave():
    os._exit(3)


def whoami():
    return os.getuid(), sorted(os.listdir("/"))


def hog():
    return np.ones((1 << 30,)).sum()
"""


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    """A StudentRunner over a sandbox whose layers.py holds the probe functions above."""
    tmp = tmp_path_factory.mktemp("runner")
    (tmp / "sub").mkdir()
    (tmp / "sub" / "layers.py").write_text(PROBE)
    sandbox, _, _ = build_sandbox(REPO_ROOT, tmp / "sub", parent=tmp)
    with StudentRunner(sandbox, preload_modules(REPO_ROOT), timeout=10, private_dir=tmp) as r:
        yield r


def test_runner_returns_plain_data_from_the_student_process(runner):
    np.testing.assert_array_equal(runner.call("cs231n.layers", "double", np.arange(3.0)), [0.0, 2.0, 4.0])


def scenario_pair(a, b=1):
    from cs231n import layers  # noqa: PLC0415 (a scenario's source runs in the student process)

    return layers.double(a), b


def test_runner_runs_a_scenario_function_from_its_source(runner):
    assert runner.run(scenario_pair, 4, b="text") == (8, "text")


@pytest.mark.parametrize(
    "function, message",
    [
        ("boom", "boom raised ValueError: x has shape (2,)"),
        ("opaque", "not plain data"),
        ("leave", "stopped without returning"),
        ("no_such_function", "AttributeError"),
        ("hog", "MemoryError"),
    ],
)
def test_runner_turns_student_failures_into_student_errors(runner, function, message):
    with pytest.raises(StudentError, match=re.escape(message)):
        runner.call("cs231n.layers", function)


def test_runner_never_falls_back_to_the_instructor_copy_of_a_file_the_student_did_not_send(runner):
    # The probe submission has no optim.py; the editable install of this repository must not fill in,
    # neither chrooted nor without isolation (a grader started by a normal user).
    plain = StudentRunner(runner.sandbox, runner.preload, timeout=10)
    plain.uid = plain.gid = None
    with plain:
        for r in (runner, plain):
            with pytest.raises(StudentError, match="ModuleNotFoundError"):
                r.call("cs231n.optim", "sgd_momentum", np.ones(2), np.ones(2))


def scenario_spin():
    from cs231n import layers  # noqa: PLC0415 (a scenario's source runs in the student process)

    layers.spin()


def test_runner_stops_a_call_at_its_timeout_and_keeps_working(runner):
    with pytest.raises(StudentError, match="did not finish within 0.5 s"):
        runner.call("cs231n.layers", "spin", timeout=0.5)
    with pytest.raises(StudentError, match=r"and was stopped \(it was running spin, cs231n/layers.py, line 1[45]\)"):
        runner.run(scenario_spin, timeout=0.5)
    assert runner.call("cs231n.layers", "double", 3) == 6


def test_runner_fails_calls_at_once_when_the_time_budget_is_spent(runner):
    tight = StudentRunner(runner.sandbox, runner.preload, timeout=10, budget=1.0)
    with tight:
        with pytest.raises(StudentError, match="did not finish within 1 s"):
            tight.call("cs231n.layers", "spin")
        with pytest.raises(StudentError, match="time for grading is used up"):
            tight.call("cs231n.layers", "double", 1)


def test_runner_gives_every_function_an_equal_share_of_the_budget(runner):
    shared = StudentRunner(runner.sandbox, runner.preload, timeout=10, budget=2.0)
    with shared:
        shared.grading("spin", ["spin", "double"])
        with pytest.raises(StudentError, match="did not finish within 1 s and was stopped"):
            shared.call("cs231n.layers", "spin")
        with pytest.raises(StudentError, match="spin did not finish within 1 s in an earlier test"):
            shared.call("cs231n.layers", "spin")
        shared.grading("double")
        assert shared.call("cs231n.layers", "double", 3) == 6


UID_PROCESSES = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
import bootstrap
uid = bootstrap.call_uid(int(sys.argv[2]))
if os.fork() == 0:
    os.setgroups([]); os.setgid(uid); os.setuid(uid)
    if os.fork() == 0:
        os.setsid()
        time.sleep(60)
    os._exit(0)
os.wait()
time.sleep(0.2)
print(uid, flush=True)
sys.stdin.readline()
bootstrap.sweep(uid)
print("swept", flush=True)
sys.stdin.readline()
"""


def _pids_of_user(uid):
    pids = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/status") as f:
                if any(line.split()[:2] == ["Uid:", str(uid)] for line in f):
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


@pytest.mark.skipif(os.geteuid() != 0, reason="changing user ids needs root")
def test_sweep_kills_every_process_of_a_calls_user_where_there_are_no_namespaces():
    launcher = Path(__file__).resolve().parents[2] / "staff" / "autograder"
    proc = subprocess.Popen(
        [sys.executable, "-c", UID_PROCESSES, str(launcher), "17"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    uid = None
    try:
        uid = int(proc.stdout.readline())
        assert _pids_of_user(uid), "the sleeper did not start"
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "swept"
        deadline = time.monotonic() + 5
        while any(map(_running, _pids_of_user(uid))) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_running, _pids_of_user(uid)))
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
        for pid in _pids_of_user(uid) if uid is not None else []:
            os.kill(pid, signal.SIGKILL)


def test_runner_replaces_a_launcher_that_was_killed(runner):
    os.kill(runner.proc.pid, signal.SIGKILL)
    with pytest.raises(StudentError, match="lost"):
        runner.call("cs231n.layers", "double", 1)
    assert runner.call("cs231n.layers", "double", 2) == 4


def scenario_nap():
    import time  # noqa: PLC0415 (runs in the student process)

    # Sleeps rather than spins: the child outlives its killed launcher for a moment, idle.
    time.sleep(3)


def test_runner_charges_the_budget_for_a_call_that_lost_its_launcher(runner):
    lossy = StudentRunner(runner.sandbox, runner.preload, timeout=10, budget=100.0)
    with lossy:
        killer = threading.Timer(0.5, os.kill, (lossy.proc.pid, signal.SIGKILL))
        killer.start()
        with pytest.raises(StudentError, match="lost"):
            lossy.run(scenario_nap)
        killer.join()
        assert lossy.budget < 100.0


def scenario_long_nap():
    import time  # noqa: PLC0415 (runs in the student process)

    time.sleep(30)


def _children(pid):
    """The pids whose parent is ``pid``, read from /proc."""
    kids = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            kids.append(int(entry))
    return kids


def _running(pid):
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; the parent-death signal is Linux's")
def test_a_killed_launcher_takes_its_running_student_process_with_it(runner):
    lossy = StudentRunner(runner.sandbox, runner.preload, timeout=60, budget=100.0)
    orphans = []

    def kill_launcher():
        orphans.extend(_children(lossy.proc.pid))
        os.kill(lossy.proc.pid, signal.SIGKILL)

    with lossy:
        killer = threading.Timer(1.0, kill_launcher)
        killer.start()
        with pytest.raises(StudentError, match="lost"):
            lossy.run(scenario_long_nap)
        killer.join()
    assert orphans, "no student process was found under the launcher"
    deadline = time.monotonic() + 5
    while any(map(_running, orphans)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(_running, orphans)), f"student processes {orphans} outlived their launcher"


@pytest.mark.skipif(os.geteuid() != 0, reason="student code is isolated only when the grader runs as root")
def test_runner_isolates_each_call_as_its_own_unprivileged_user_in_the_sandbox(runner):
    uids = set()
    for _ in range(2):
        uid, listing = runner.call("cs231n.layers", "whoami")
        assert listing == ["cs231n"]
        uids.add(uid)
    # Ids no account on the machine has, a new one for every call.
    assert len(uids) == 2 and all(uid >= 2**31 for uid in uids)
    assert not any(entry.pw_uid in uids for entry in pwd.getpwall())
