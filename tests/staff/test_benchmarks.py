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


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch is a benchmark requirement only")
def test_train_step_checks_both_networks_agree_then_prints_one_row_per_configuration():
    out = run("train_step.py", "--rounds", "2", "--hidden", "8", "16", "--dtype", "float64")
    assert out.startswith("Command: python benchmarks/train_step.py --rounds 2")
    assert "give the same losses and parameters in both" in out
    rows = table_rows(out)
    assert [(r[0], r[1]) for r in rows] == [("8", "float64"), ("16", "float64")]
    for r in rows:
        assert all(cell.endswith(" ms") for cell in (r[2], r[3], r[5]))
        assert float(r[4]) > 0 and percent(r[6]) > 0 and float(r[7]) > 0
