"""The waits and threads benchmarks still run and print their tables (tiny settings: this checks the
scripts, not speed; timings are never asserted)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(script, *args):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run(
        [sys.executable, f"benchmarks/{script}", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def table_rows(out):
    """The body rows of the Markdown table in ``out``, as lists of cells."""
    lines = [line for line in out.splitlines() if line.startswith("|")]
    assert len(lines) >= 3 and set(lines[1]) <= set("|-"), out
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


@pytest.mark.cifar
def test_threads_benchmark_runs_every_choice_in_both_regimes_and_stops_its_busy_processes(cifar10_dir):
    before = subprocess.run(["pgrep", "-f", "while True: pass"], capture_output=True, text=True).stdout.split()
    out = run(
        "threads.py", "--cifar10-dir", str(cifar10_dir), "--num-training", "200", "--epochs", "1", "--repeat", "1"
    )
    rows = table_rows(out)
    cores = len(os.sched_getaffinity(0))
    labels = ["auto", "default"] + [str(k) for k in range(1, cores + 1)]
    assert [r[1] for r in rows] == labels * 2
    assert [r[0].split()[0] for r in rows] == ["quiet"] * len(labels) + ["busy"] * len(labels)
    for r in rows:
        assert r[3].endswith(" s") and r[5].endswith(")") and r[6].endswith("x")
    # The automatic choice says why; a fixed count is used as given.
    auto = [r for r in rows if r[1] == "auto"]
    assert all("busy with other work" in r[2] for r in auto)
    assert all(r[2] == r[1] for r in rows if r[1].isdigit())
    after = subprocess.run(["pgrep", "-f", "while True: pass"], capture_output=True, text=True).stdout.split()
    assert sorted(after) == sorted(before)


def test_waits_benchmark_compares_a_revision_with_the_checkout():
    out = run("waits.py", "--today", "HEAD", "--only", "ta-report", "--regime", "quiet", "busy")
    assert out.startswith("Command: python benchmarks/waits.py --today HEAD")
    rows = table_rows(out)
    # The TA report does not depend on the BLAS threads: one row, quiet only.
    assert len(rows) == 1
    what, command, regime, today, today_threads, now, _ = rows[0]
    assert command == "`python -m cs231n.gradient_report submission.zip`" and regime.startswith("quiet (load ")
    assert today_threads == "-"
    for cell in (today, now):
        assert cell.endswith(" MB") and " s, " in cell, cell
