"""Tests for cs231n/gradient_report.py on the reference solution and on submissions with known bugs.

A buggy submission is the repository's student files with a few functions redefined at the end of
the file (a later ``def`` replaces the earlier one), so the tests do not depend on the exact text of
the reference solution.
"""

import ast
import re
import zipfile
from pathlib import Path

import pytest

from cs231n.gradient_report import PLAN, STUDENT_FILES, collect_rows, main, render
from staff.markers import stub_python_source

REPO_ROOT = Path(__file__).resolve().parents[2]

# Appended to cs231n/layers.py: four bugs of different kinds.
LAYERS_BUGS = """

_affine_backward_reference = affine_backward


def affine_backward(dout, cache):
    dx, dw, db = _affine_backward_reference(dout, cache)
    return dx, dw.T, db  # forgot that dw = x.T @ dout, not dout.T @ x


_softmax_loss_reference = softmax_loss


def softmax_loss(x, y):
    loss, dx = _softmax_loss_reference(x, y)
    return loss, dx * x.shape[0]  # forgot dx /= N


def leaky_relu_backward(dout, cache):
    raise NotImplementedError("leaky_relu_backward in cs231n/layers.py: complete it")


def tanh_backward(dout, cache):
    return dout @ cache  # crashes: (N, D) @ (N, D)
"""

# Appended to cs231n/classifiers/fc_net.py: the regularization gradient counted twice.
FC_NET_BUGS = """

_TwoLayerNetReference = TwoLayerNet


class TwoLayerNet(_TwoLayerNetReference):
    def loss(self, X, y=None):
        out = _TwoLayerNetReference.loss(self, X, y)
        if y is None:
            return out
        loss, grads = out
        for k in ("W1", "W2"):
            grads[k] = grads[k] + self.reg * self.params[k]
        return loss, grads
"""

# Appended to cs231n/layers.py: code that never returns or that exits the process.
LAYERS_HANGS = """

def sigmoid_backward(dout, cache):
    while True:
        pass


def leaky_relu_backward(dout, cache):
    import sys
    sys.exit(0)
"""


def make_submission(folder, appended):
    """Copy the repository's student files into ``folder``, appending code to some of them."""
    for rel in STUDENT_FILES:
        dest = folder / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text((REPO_ROOT / rel).read_text() + appended.get(rel, ""))
    return folder


def by_row(rows):
    return {(r["function"], r["param"]): r for r in rows}


@pytest.fixture(scope="module")
def reference():
    return collect_rows(REPO_ROOT)


@pytest.fixture(scope="module")
def buggy_dir(tmp_path_factory):
    return make_submission(tmp_path_factory.mktemp("buggy"), {"cs231n/layers.py": LAYERS_BUGS})


@pytest.fixture(scope="module")
def buggy(buggy_dir):
    rows, files = collect_rows(buggy_dir)
    return by_row(rows), files


def test_reference_passes_every_row(reference):
    rows, files = reference
    expected = [(label, p) for label, params, _ in PLAN for p in params]
    assert [(r["function"], r["param"]) for r in rows] == expected
    assert all(r["verdict"] == "PASS" for r in rows), [r for r in rows if r["verdict"] != "PASS"]
    text, code = render(rows, files, "reference")
    assert code == 0 and f"{len(rows)} PASS" in text


def test_report_covers_every_gradient_of_the_kit(reference):
    keys = set(by_row(reference[0]))
    for layer, params in [
        ("affine_backward", "xwb"),
        ("affine_relu_backward", "xwb"),
        ("relu_backward", "x"),
        ("leaky_relu_backward", "x"),
        ("sigmoid_backward", "x"),
        ("tanh_backward", "x"),
        ("svm_loss", "x"),
        ("softmax_loss", "x"),
    ]:
        assert {(layer, p) for p in params} <= keys
    for net, params in [
        ("TwoLayerNet.loss reg=0.0", 2),
        ("TwoLayerNet.loss reg=0.7", 2),
        ("FullyConnectedNet.loss [20, 30] reg=0.7", 3),
    ]:
        assert {(net, f"{k}{i}") for i in range(1, params + 1) for k in "Wb"} <= keys


def test_transposed_dw_is_named_in_the_affine_w_row_only(buggy):
    rows, _ = buggy
    assert rows[("affine_backward", "w")]["verdict"] == "FAIL"
    assert "transposed" in rows[("affine_backward", "w")]["diagnosis"]
    assert rows[("affine_backward", "x")]["verdict"] == rows[("affine_backward", "b")]["verdict"] == "PASS"


def test_softmax_without_division_by_n_is_named_in_its_row(buggy):
    row = buggy[0][("softmax_loss", "x")]
    assert row["verdict"] == "FAIL" and "forgot to divide by N = 5" in row["diagnosis"]
    assert buggy[0][("svm_loss", "x")]["verdict"] == "PASS"


def test_stubbed_function_gives_a_not_implemented_row_and_the_report_goes_on(buggy):
    rows, _ = buggy
    row = rows[("leaky_relu_backward", "x")]
    assert row["verdict"] == "TODO" and "not implemented" in row["diagnosis"]
    assert "leaky_relu_backward in cs231n/layers.py" in row["diagnosis"]
    assert rows[("sigmoid_backward", "x")]["verdict"] == "PASS"  # the next check still ran


def test_crashing_function_gives_a_row_naming_the_error_and_the_line(buggy):
    row = buggy[0][("tanh_backward", "x")]
    assert row["verdict"] == "ERROR"
    assert re.search(r"crashed: ValueError: .* \(at cs231n/layers\.py:\d+ in tanh_backward\)", row["diagnosis"])


def test_buggy_submission_exits_non_zero_and_prints_the_table(buggy_dir, capsys):
    assert main([str(buggy_dir)]) == 1
    out = capsys.readouterr().out
    assert "function" in out and "rel. error" in out and "diagnosis" in out
    assert "transposed" in out and "--details" in out


def test_details_explain_the_failing_rows(buggy, buggy_dir):
    rows, files = buggy
    text, code = render(list(rows.values()), files, str(buggy_dir), details=True)
    assert code == 1
    assert "Gradient check of" in text and "What it probably means" in text and "Worst entries" in text


def test_zip_with_a_top_folder_gives_the_same_rows_as_the_folder(buggy, buggy_dir, tmp_path):
    archive = tmp_path / "submission.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for rel in STUDENT_FILES:
            zf.write(buggy_dir / rel, f"assignment1/{rel}")
    rows, files = collect_rows(archive)
    strip = lambda r: (r["verdict"], r["diagnosis"])  # noqa: E731
    assert {k: strip(r) for k, r in by_row(rows).items()} == {k: strip(r) for k, r in buggy[0].items()}
    assert all(src and "assignment1" in src for src in files.values())


def test_flat_zip_missing_a_file_reports_it_and_checks_the_rest(tmp_path):
    archive = tmp_path / "flat.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(REPO_ROOT / "cs231n/layers.py", "layers.py")
    rows, files = collect_rows(archive)
    text, code = render(rows, files, str(archive))
    assert code == 1 and "cs231n/classifiers/fc_net.py: MISSING" in text
    rows = by_row(rows)
    assert rows[("affine_backward", "w")]["verdict"] == "PASS"
    net = rows[("TwoLayerNet.loss reg=0.0", "W1")]
    assert net["verdict"] == "ERROR" and "missing from the submission" in net["diagnosis"]


@pytest.fixture(scope="module")
def hangs_and_reg_bug(tmp_path_factory):
    folder = make_submission(
        tmp_path_factory.mktemp("hangs"),
        {"cs231n/layers.py": LAYERS_HANGS, "cs231n/classifiers/fc_net.py": FC_NET_BUGS},
    )
    return by_row(collect_rows(folder, timeout=4)[0])


def test_regularization_counted_twice_is_named_in_the_reg_rows(hangs_and_reg_bug):
    rows = hangs_and_reg_bug
    for p in ("W1", "W2"):
        row = rows[("TwoLayerNet.loss reg=0.7", p)]
        assert row["verdict"] == "FAIL" and "counted twice" in row["diagnosis"]
        assert rows[("TwoLayerNet.loss reg=0.0", p)]["verdict"] == "PASS"  # no reg, no extra term
    assert rows[("TwoLayerNet.loss reg=0.7", "b1")]["verdict"] == "PASS"
    assert rows[("FullyConnectedNet.loss [20, 30] reg=0.7", "W1")]["verdict"] == "PASS"


def test_endless_loop_and_exit_cost_only_their_own_rows(hangs_and_reg_bug):
    rows = hangs_and_reg_bug
    assert rows[("sigmoid_backward", "x")]["verdict"] == "ERROR"
    assert "timed out" in rows[("sigmoid_backward", "x")]["diagnosis"]
    assert rows[("leaky_relu_backward", "x")]["verdict"] == "ERROR"
    assert "SystemExit" in rows[("leaky_relu_backward", "x")]["diagnosis"]
    assert rows[("tanh_backward", "x")]["verdict"] == "PASS"
    assert rows[("affine_backward", "x")]["verdict"] == "PASS"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["/nonexistent/submission"], "submission not found"),
        ([__file__], "folder or a .zip"),
    ],
)
def test_unusable_submission_exits_2_with_a_message(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("module", ["gradient_check.py", "gradient_report.py"])
def test_library_module_never_imports_staff(module):
    tree = ast.parse((REPO_ROOT / "cs231n" / module).read_text())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [n for n in names if n.split(".")[0] == "staff"]


def test_fresh_student_kit_gives_a_todo_row_for_every_gradient(tmp_path):
    for rel in STUDENT_FILES:
        dest = tmp_path / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(stub_python_source((REPO_ROOT / rel).read_text(), rel))
    rows, files = collect_rows(tmp_path)
    assert [r["verdict"] for r in rows] == ["TODO"] * len(rows)
    assert all("not implemented" in r["diagnosis"] for r in rows)
    assert render(rows, files, "kit")[1] == 1
