"""The quick benchmarks still run and print their tables (tiny settings: this checks the scripts, not speed)."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks"


def run(script, *args):
    r = subprocess.run(
        [sys.executable, str(BENCH / script), *args], cwd=REPO, capture_output=True, text=True, timeout=300
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


def test_step_floor_agrees_with_the_kit_and_prints_its_table():
    out = run("step_floor.py", "--rounds", "2", "--block", "1", "--hidden", "8", "--dtype", "float32", "float64")
    rows = table_rows(out)
    assert [(r[0], r[1]) for r in rows] == [("8", "float32"), ("8", "float64")]
    for r in rows:
        assert all(cell.endswith(" ms") for cell in r[2:5])


def test_step_regression_compares_a_revision_with_the_working_copy():
    out = run("step_regression.py", "HEAD", "--rounds", "2", "--hidden", "8", "--dtype", "float32", "--net", "fc")
    (row,) = table_rows(out)
    assert row[:2] == ["8", "float32"] and float(row[4]) > 0
    assert re.search(r"parameters after \d+ steps: \S+", out)


def test_weight_order_times_both_orders_and_names_the_kits_choice():
    from cs231n.blas import weight_order

    out = run("weight_order.py", "--rounds", "2", "--block", "1", "--hidden", "8", "--dtype", "float32", "float64")
    rows = table_rows(out)
    assert [(r[0], r[1]) for r in rows] == [("8", "float32"), ("8", "float64")]
    for r, dtype in zip(rows, ("float32", "float64")):
        assert r[2].endswith(" ms") and r[3].endswith(" ms") and float(r[4]) > 0
        assert r[5] == weight_order(dtype)
    # Both copies took the same steps from the same values: W1 may differ only by rounding.
    assert float(re.search(r"after the run: (\S+)", out).group(1)) < 1e-5
