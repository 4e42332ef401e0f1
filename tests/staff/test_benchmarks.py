"""The quick benchmarks still run and print their tables (tiny settings: this checks the scripts, not speed)."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks"


def run(script, *args):
    # The scripts import the kit of this checkout, installed or not.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    r = subprocess.run(
        [sys.executable, str(BENCH / script), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def table_rows(out):
    """The body rows of the Markdown table in ``out``, as lists of cells."""
    lines = [line for line in out.splitlines() if line.startswith("|")]
    assert len(lines) >= 3 and set(lines[1]) <= set("|-"), out
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def percent(cell):
    return float(re.fullmatch(r"(\d+)%", cell).group(1))


def test_train_step_without_torch_prints_one_row_per_configuration():
    out = run("train_step.py", "--no-torch", "--rounds", "2", "--hidden", "8", "16", "--dtype", "float32")
    assert out.startswith("Command: python benchmarks/train_step.py --no-torch")
    rows = table_rows(out)
    assert [(r[0], r[1]) for r in rows] == [("8", "float32"), ("16", "float32")]
    for r in rows:
        assert r[3] == "-" and r[4] == "-"  # no PyTorch columns
        assert 0 < percent(r[6]) <= 1000


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch is a benchmark requirement only")
def test_train_step_with_torch_checks_both_networks_agree_first():
    out = run("train_step.py", "--rounds", "2", "--hidden", "8", "--dtype", "float64")
    assert "give the same losses and parameters in both" in out
    (row,) = table_rows(out)
    assert float(row[4]) > 0
