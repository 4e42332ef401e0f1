"""Waits benchmark: how long people wait for the kit, today against this checkout, side by side.

Each wait is one command, run in a fresh process from the root of a kit tree, timed from start to
exit (wall seconds, and the peak memory of the process and its children):

- the feedback loop: one test file, and the public suite, each in a copy of the tree without what
  never ships (``staff/``, ``tests/staff/``, ``benchmarks/``), so as it runs in a student's kit with
  the solution in place, and after one untimed run, as a student re-running them sees it (pytest's
  rewritten test modules cached; ``PYTHONDONTWRITEBYTECODE`` is dropped for these two);
- each notebook in quick mode (``CS231N_QUICK=1``) and ``two_layer_net.ipynb`` in full mode, run
  top to bottom with ``jupyter nbconvert --execute``;
- the main job, ``python -m cs231n.train`` (on CIFAR-10, with its preset);
- one epoch of the notebook's default net (``benchmarks/epoch_time.py --epochs 1``, its own number);
- one grading and the TA report of a full submission (the tree's own solution files, zipped);
- loading CIFAR-10 (``get_CIFAR10_data()``).

Two columns compare with today. Where the BLAS threads do not matter, "today" is a revision given
with ``--today`` (exported with ``git archive`` into a temporary folder) and "now" this checkout. Where
they matter (training), "today's threads" runs this checkout with ``CS231N_NUM_THREADS`` set to the
thread count numpy's BLAS starts with, which is what training used before the kit chose, and "now" lets
the kit choose; these rows run in two regimes: ``quiet`` (whatever else runs on the machine: the load
average at the start and end of each row is in the row) and ``busy``, with one busy-loop process per
usable core started by this script for the duration of that row. The two runs of a row follow each
other, and with ``--repeat N`` the pair runs N times, alternating; a cell then gives the median, the
range and the largest peak. The BLAS thread variables of the caller are not passed on; a line before the
table times a plain Python loop, since the speed of a shared machine varies from hour to hour.

    python benchmarks/waits.py --today a1b6b89
    python benchmarks/waits.py --today a1b6b89 --only suite main-job --regime busy
"""

import argparse
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from common import (
    REPO_ROOT,
    command_line,
    find_cifar10_dir,
    machine_line,
    markdown_table,
    numpy_blas,
    start_busy_processes,
    stop,
)

from cs231n import STUDENT_FILES
from cs231n.threads import BLAS_ENV_VARS, ENV_VAR, usable_cpus

PY = "python"  # shown in the table; runs as sys.executable

# name: (what, command, extra environment, threads matter, target). In commands, {tmp} is a scratch
# folder of the run.
WAITS = {
    "test-file": (
        "one test file",
        [PY, "-m", "pytest", "tests/test_layers.py", "-q", "-p", "no:cacheprovider"],
        {},
        False,
        "about 1 s",
    ),
    "suite": (
        "public test suite",
        [PY, "-m", "pytest", "tests", "--ignore=tests/staff", "-q", "-p", "no:cacheprovider"],
        {},
        False,
        "under 5 s and 300 MB",
    ),
    **{
        f"{name}-quick": (
            f"{name}.ipynb, quick mode",
            [PY, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--output", "{tmp}/out.ipynb"]
            + [f"notebooks/{name}.ipynb"],
            {"CS231N_QUICK": "1"},
            name != "backprop",
            "under 30 s",
        )
        for name in ("backprop", "two_layer_net", "FullyConnectedNets")
    },
    "two_layer_net-full": (
        "two_layer_net.ipynb, full mode",
        [PY, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--output", "{tmp}/out.ipynb"]
        + ["notebooks/two_layer_net.ipynb"],
        {},
        True,
        "under 90 s (quiet)",
    ),
    "main-job": (
        "main job",
        [PY, "-m", "cs231n.train", "--output-dir", "{tmp}/job", "--quiet"],
        {},
        True,
        "",
    ),
    "epoch": (
        "one epoch (49,000 images, float64)",
        [PY, "benchmarks/epoch_time.py", "--epochs", "1", "--dtype", "float64"],
        {},
        True,
        "",
    ),
    "grading": (
        "one grading of a full submission",
        [PY, "-m", "staff.autograder", "grade", "{tmp}/submission.zip", "--results", "{tmp}/results.json"],
        {},
        False,
        "",
    ),
    "ta-report": (
        "TA report (gradient checks) of a full submission",
        [PY, "-m", "cs231n.gradient_report", "{tmp}/submission.zip"],
        {},
        False,
        "",
    ),
    "data": (
        "loading CIFAR-10 (get_CIFAR10_data())",
        [PY, "-c", "from cs231n.data_utils import get_CIFAR10_data; get_CIFAR10_data()"],
        {},
        False,
        "",
    ),
}


def export_revision(rev, folder):
    """Write the files of git revision ``rev`` into ``folder`` (git archive, no worktree)."""
    archive = subprocess.run(["git", "-C", str(REPO_ROOT), "archive", rev], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)


def student_kit_copy(tree, folder):
    """Copy ``tree`` without what never ships to students (staff/, tests/staff/, benchmarks/), into ``folder``.

    The tests see a student's kit, with the solution in place: the suite runs as it does there.
    """
    skip = shutil.ignore_patterns(".git", "__pycache__", ".pytest_cache", "output", "*.egg-info", ".venv*")
    shutil.copytree(tree, folder, ignore=skip)
    for extra in ("staff", "tests/staff", "benchmarks"):
        shutil.rmtree(folder / extra, ignore_errors=True)
    return folder


def zip_submission(tree, out_zip):
    """Zip a tree's student-owned files under ``submission/``, as a student uploads them."""
    with zipfile.ZipFile(out_zip, "w") as z:
        for rel in STUDENT_FILES:
            z.write(tree / rel, f"submission/{rel}")


def run_timed(cmd, cwd, env, timeout):
    """Run ``cmd``; returns (wall seconds, peak memory in MB of it and its children, exit code, output)."""
    tic = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = tic + timeout
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                p.kill()
                pid, status, usage = os.wait4(p.pid, 0)
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - tic
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return seconds, usage.ru_maxrss / 1024, p.returncode, out.read()


def epoch_seconds(output):
    """The "seconds per epoch" cell of epoch_time.py's table."""
    lines = [line for line in output.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    cells = [c.strip() for c in lines[2].strip("|").split("|")]
    return float(re.match(r"[\d.]+", cells[header.index("seconds per epoch")]).group())


def measure(name, tree, tmp, timeout, threads_env=None, first=True):
    """Run the wait ``name`` in ``tree``; returns (seconds, peak MB or None), or a string saying what failed.

    The BLAS thread variables of the caller are dropped; ``threads_env`` sets some instead. The test
    waits run once untimed before their ``first`` timed run.
    """
    _, cmd, extra, _, _ = WAITS[name]
    cmd = [sys.executable if part == PY else part.format(tmp=tmp) for part in cmd]
    env = {k: v for k, v in os.environ.items() if k not in (ENV_VAR, *BLAS_ENV_VARS)}
    env.update(extra, PYTHONPATH=str(tree), CIFAR10_DIR=str(find_cifar10_dir(None)), **(threads_env or {}))
    if name in ("test-file", "suite"):
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # a student's machine keeps pytest's rewritten tests
        if first:
            run_timed(cmd, tree, env, timeout)  # the untimed first run
    seconds, peak, code, output = run_timed(cmd, tree, env, timeout)
    if seconds >= timeout:
        return f"over {timeout:.0f} s (stopped)"
    if code != 0:
        last = output.strip().splitlines()[-1:] or ["(no output)"]
        return f"failed ({code}): {last[0][:80]}"
    if name == "epoch":
        return epoch_seconds(output), None
    return seconds, peak


def cell(results):
    """A table cell for the runs of one column: ``12.3 s, 250 MB``, or the median and range of several."""
    failed = [r for r in results if isinstance(r, str)]
    if failed:
        return failed[0]
    seconds = sorted(r[0] for r in results)
    text = f"{statistics.median(seconds):.1f} s"
    if len(seconds) > 1:
        text += f" ({seconds[0]:.1f} to {seconds[-1]:.1f})"
    peaks = [r[1] for r in results if r[1] is not None]
    return text + (f", {max(peaks):.0f} MB" if peaks else "")


def speed_line():
    """How fast this machine runs plain Python now: shared machines vary by 2x over a day."""
    tic = time.perf_counter()
    total = 0
    for i in range(10**7):
        total += i
    return f"Speed: a pure-Python loop of 10**7 additions took {time.perf_counter() - tic:.2f} s at the start"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--today", required=True, help="git revision to compare with (e.g. main before a change)")
    p.add_argument("--only", nargs="+", choices=list(WAITS), default=list(WAITS), help="the waits to measure")
    p.add_argument("--regime", nargs="+", choices=("quiet", "busy"), default=["quiet", "busy"])
    p.add_argument("--timeout", type=float, default=900, help="seconds before a command is stopped")
    p.add_argument(
        "--repeat", type=int, default=1, help="runs of each column of a row, alternating; the cell gives the median"
    )
    args = p.parse_args(argv)

    print(f"Command: {command_line(__file__, argv)}")
    print(machine_line())
    print(speed_line())
    cores = len(usable_cpus())
    default_threads = {ENV_VAR: str(numpy_blas()["threads"])}  # what BLAS did before the kit chose
    header = ["wait", "command", "regime", f"today ({args.today})", f"today's threads ({ENV_VAR}=k)", "now", "target"]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        today = scratch / "today"
        today.mkdir()
        export_revision(args.today, today)
        kits = {}
        for label, tree in (("today", today), ("now", REPO_ROOT)):
            (scratch / f"tmp-{label}").mkdir()
            zip_submission(tree, scratch / f"tmp-{label}" / "submission.zip")
            if {"test-file", "suite"} & set(args.only):
                kits[label] = student_kit_copy(tree, scratch / f"kit-{label}")
        for name in args.only:
            what, cmd, extra, threads_matter, target = WAITS[name]
            shown = shlex.join([*(f"{k}={v}" for k, v in extra.items()), *(c.replace("{tmp}/", "") for c in cmd)])
            for regime in args.regime if threads_matter else ["quiet"]:
                busy = start_busy_processes(cores) if regime == "busy" else []
                try:
                    if busy:
                        time.sleep(1.0)
                    load = os.getloadavg()[0]
                    tree = kits["now"] if name in ("test-file", "suite") else REPO_ROOT
                    old, old_threads, now = [], [], []
                    old_tree = kits["today"] if name in ("test-file", "suite") else today
                    for i in range(args.repeat):
                        first = i == 0
                        if threads_matter:
                            old_threads.append(
                                measure(name, REPO_ROOT, scratch / "tmp-now", args.timeout, default_threads, first)
                            )
                        else:
                            old.append(measure(name, old_tree, scratch / "tmp-today", args.timeout, first=first))
                        now.append(measure(name, tree, scratch / "tmp-now", args.timeout, first=first))
                    old, old_threads, now = (cell(r) if r else "-" for r in (old, old_threads, now))
                    load = f"{load:.1f} -> {os.getloadavg()[0]:.1f}"
                finally:
                    stop(busy)
                rows.append([what, f"`{shown}`", f"{regime} (load {load})", old, old_threads, now, target])
                print(" | ".join(rows[-1]), file=sys.stderr, flush=True)  # progress, as each row is done
    print(f"k = {default_threads[ENV_VAR]}, the thread count numpy's BLAS starts with")
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
