"""The public tests' report (tests/function_table.py) on a half-finished kit.

A copy of this repository's library and public tests in which two functions are the release's stubs
and one holds a bug, as a student's kit looks halfway through, runs ``python -m pytest`` as the
student would.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from staff.markers import find_regions, stub_lines

REPO = Path(__file__).resolve().parents[2]
STUBBED = ("relu_backward", "softmax_loss")


def stub_some(text, relpath, functions):
    """Return ``text`` with the regions of ``functions`` (only those) replaced by the release's stub."""
    lines = text.splitlines()
    for region in sorted(find_regions(text, relpath), key=lambda r: -r.start):
        if region.function in functions:
            lines[region.start : region.end - 1] = stub_lines(region.function, relpath, region.indent)
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Run the layer and net tests of the half-finished kit; returns (exit status, output)."""
    kit = tmp_path_factory.mktemp("kit")
    shutil.copytree(REPO / "cs231n", kit / "cs231n", ignore=shutil.ignore_patterns("__pycache__"))
    (kit / "tests").mkdir()
    for path in (REPO / "tests").glob("*.py"):
        shutil.copy2(path, kit / "tests" / path.name)
    shutil.copy2(REPO / "pyproject.toml", kit / "pyproject.toml")
    layers = kit / "cs231n" / "layers.py"
    text = stub_some(layers.read_text(), "cs231n/layers.py", STUBBED)
    assert text.count("db = dout.sum(axis=0)") == 1
    layers.write_text(text.replace("db = dout.sum(axis=0)", "db = 2 * dout.sum(axis=0)"))  # the bug
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/test_layers.py", "tests/test_fc_net.py"],
        cwd=kit,
        env={**env, "COLUMNS": "120"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    return proc.returncode, proc.stdout


def row(output, function):
    """The status in the table's row of ``function``."""
    match = re.search(rf"^ *(?:\S+ +)?{re.escape(function)}  +(.*)$", output, re.M)
    assert match, f"no row for {function} in:\n{output[-4000:]}"
    return match[1]


def not_implemented(output):
    """The functions the table lists as not implemented yet (several to a line, wrapped)."""
    table = re.sub(r"\n +", " ", output.split(" your functions: ", 1)[1])
    return {n for names in re.findall(r"not implemented yet: ((?:[\w.]+, )*[\w.]+)", table) for n in names.split(", ")}


def test_the_table_says_which_functions_pass_fail_wait_or_are_not_written(run):
    status, output = run
    assert status == 1
    assert not_implemented(output) == set(STUBBED)
    assert row(output, "affine_forward").startswith("passed (")
    assert re.fullmatch(r"FAILING: \d+ of \d+ tests \(tracebacks above\)", row(output, "affine_backward"))
    # The net's loss calls softmax_loss, which is a stub; its scores pass.
    assert re.fullmatch(r"passed \d+ of \d+ tests; the others wait for softmax_loss", row(output, "TwoLayerNet.loss"))
    assert row(output, "TwoLayerNet.__init__").startswith("passed (")
    # affine_forward runs in affine_backward's failing tests too, but they are not put down to it.
    assert re.search(r"-+ your functions: 1 failing, 2 not implemented yet, \d+ passed -+", output)


def test_real_failures_keep_their_tracebacks_and_stubs_only_their_count(run):
    _, output = run
    failures = output.split("= FAILURES =", 1)[1].split("short test summary info", 1)[0]
    headers = re.findall(r"^_+ (test_\S+) _+$", failures, re.M)
    # Every traceback is a test that reached the bug, none is a stub's.
    assert headers and all("affine_backward" in h or "loss_gradient" in h or "no_function" in h for h in headers), (
        headers
    )
    assert "def test_affine_backward_matches_eval_numerical_gradient_array" in failures  # the test's source
    assert "NotImplementedError" not in failures
    summary = output.strip().splitlines()[-1]
    assert re.search(r"\d+ failed, \d+ passed, \d+ not implemented", summary), summary
    assert "FAILED tests/test_layers.py::test_affine_backward" in output
    assert not re.search(r"^FAILED .*(relu_backward|softmax_loss)", output, re.M)
