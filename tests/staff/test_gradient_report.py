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

# Appended to cs231n/classifiers/fc_net.py: a TwoLayerNet whose loss is built from the layer functions,
# so that it fails when they do, whatever the reference's own loss looks like.
FC_NET_USES_LAYERS = """

from cs231n import layers as _layers
from cs231n.layer_utils import affine_relu_backward as _arb, affine_relu_forward as _arf


class TwoLayerNet(TwoLayerNet):
    def loss(self, X, y=None):
        p = self.params
        hidden, hidden_cache = _arf(X, p["W1"], p["b1"])
        scores, scores_cache = _layers.affine_forward(hidden, p["W2"], p["b2"])
        if y is None:
            return scores
        data_loss, dscores = _layers.softmax_loss(scores, y)
        dhidden, dW2, db2 = _layers.affine_backward(dscores, scores_cache)
        _, dW1, db1 = _arb(dhidden, hidden_cache)
        total = data_loss + 0.5 * self.reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        return total, {"W1": dW1 + self.reg * p["W1"], "b1": db1, "W2": dW2 + self.reg * p["W2"], "b2": db2}
"""

# Appended to cs231n/layers.py: dx of the affine layer with the wrong sign.
AFFINE_DX_SIGN = """

_affine_backward_reference = affine_backward


def affine_backward(dout, cache):
    dx, dw, db = _affine_backward_reference(dout, cache)
    return -dx, dw, db
"""

# Appended to cs231n/layers.py: relu_forward left as a stub.
RELU_STUB = """

def relu_forward(x):
    raise NotImplementedError("relu_forward in cs231n/layers.py is not implemented yet: complete its TODO region")
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
    assert code == 0 and f"{len(rows)} PASS" in text and "Root cause" not in text


def test_footer_states_the_thresholds_and_the_rounding_noise_rule(reference):
    text = " ".join(render(*reference, "reference")[0].split())  # the footer is wrapped: one line to search
    assert "PASS below 1e-07, FAIL at 1e-03 or above, WARN in between" in text
    assert "a kink (an input within h of a ReLU's 0 or a hinge" in text and "is a WARN, not a bug" in text
    assert "Rounding noise: a PASS above 1e-07 means that every entry agrees to 1e-07 of the gradient's largest" in text


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


def test_stubbed_function_gives_a_short_todo_row_and_the_report_goes_on(buggy):
    rows, _ = buggy
    row = rows[("leaky_relu_backward", "x")]
    assert row["verdict"] == "TODO" and row["diagnosis"] == "not implemented yet"
    assert "leaky_relu_backward in cs231n/layers.py" in row["details"]  # the stub's own message, in the details
    assert rows[("sigmoid_backward", "x")]["verdict"] == "PASS"  # the next check still ran


def layered_rows(folder, layers_bugs):
    """Rows and the rendered report of a submission whose TwoLayerNet is built from the layer functions."""
    make_submission(folder, {"cs231n/layers.py": layers_bugs, "cs231n/classifiers/fc_net.py": FC_NET_USES_LAYERS})
    rows, files = collect_rows(folder)
    return by_row(rows), render(rows, files, "layered")[0]


def footer_text(text):
    """The lines under the table, unwrapped into one."""
    return " ".join(text.split("\n\n")[-1].split())


def table_diagnosis(text, label, param):
    """The diagnosis cell of a row as the table shows it."""
    (line,) = [line for line in text.splitlines() if re.match(rf"{re.escape(label)}\s+{param}\s", line)]
    return re.split(r"\s{2,}", line, maxsplit=4)[-1]


def test_failing_net_rows_point_at_the_failing_layer_they_call(tmp_path):
    rows, text = layered_rows(tmp_path, AFFINE_DX_SIGN)
    assert rows[("affine_backward", "x")]["diagnosis"].startswith("sign flipped")
    for label in ("TwoLayerNet.loss reg=0.0", "TwoLayerNet.loss reg=0.7"):
        assert rows[(label, "W1")]["verdict"] == "FAIL" and "affine_backward" in rows[(label, "W1")]["calls"]
        assert table_diagnosis(text, label, "W1") == "calls affine_backward, which fails: fix it first"
        assert rows[(label, "W2")]["verdict"] == "PASS"  # dW2 does not go through the wrong dx
    # One line; FullyConnectedNet is named too when the repository's net calls affine_backward.
    root = r"Root cause: affine_relu_backward(, | and )TwoLayerNet\.loss( and FullyConnectedNet\.loss)? fail because"
    assert re.search(root + r" affine_backward fails: fix it first\.", footer_text(text))
    assert footer_text(text).count("Root cause") == 1
    # affine_relu_backward fails only through affine_backward: never named as a cause of the nets.
    assert "calls affine_backward and affine_relu_backward" not in text


def test_crashing_net_rows_point_at_the_failing_layers_they_call(tmp_path):
    rows, text = layered_rows(tmp_path, LAYERS_BUGS)  # dw transposed: adding reg * W to it crashes
    row = rows[("TwoLayerNet.loss reg=0.0", "W2")]
    assert row["verdict"] == "ERROR" and {"affine_backward", "softmax_loss"} <= set(row["calls"])
    expected = "calls affine_backward and softmax_loss, which fail: fix them first"
    assert table_diagnosis(text, "TwoLayerNet.loss reg=0.0", "W2") == expected
    assert "crashed" in row["diagnosis"]  # its own finding stays in the row's data and details
    footer = footer_text(text)
    nets = r"TwoLayerNet\.loss( and FullyConnectedNet\.loss fail| fails)"
    assert re.search(nets + r" because affine_backward and softmax_loss fail: fix them first\.", footer)
    assert "Root cause: affine_relu_backward fails because affine_backward fails: fix it first." in footer


def test_a_net_that_calls_a_missing_layer_names_it(tmp_path):
    folder = make_submission(
        tmp_path, {"cs231n/layers.py": RELU_STUB, "cs231n/classifiers/fc_net.py": FC_NET_USES_LAYERS}
    )
    rows = by_row(collect_rows(folder)[0])
    assert rows[("relu_backward", "x")]["diagnosis"] == "relu_forward is not implemented yet"
    assert rows[("affine_relu_backward", "w")]["diagnosis"] == "relu_forward is not implemented yet"
    assert rows[("affine_backward", "w")]["verdict"] == "PASS"
    net = rows[("TwoLayerNet.loss reg=0.0", "b1")]
    assert net["verdict"] == "TODO" and net["diagnosis"] == "relu_forward is not implemented yet"


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
    return collect_rows(folder, timeout=4)


def test_regularization_counted_twice_is_named_in_the_reg_rows(hangs_and_reg_bug):
    rows, files = hangs_and_reg_bug
    text, _ = render(rows, files, "hangs")
    assert "Root cause" not in text  # the failing layers (sigmoid, leaky_relu) are not called by the nets
    rows = by_row(rows)
    for p in ("W1", "W2"):
        row = rows[("TwoLayerNet.loss reg=0.7", p)]
        assert row["verdict"] == "FAIL" and "counted twice" in row["diagnosis"]
        assert rows[("TwoLayerNet.loss reg=0.0", p)]["verdict"] == "PASS"  # no reg, no extra term
    assert rows[("TwoLayerNet.loss reg=0.7", "b1")]["verdict"] == "PASS"
    assert rows[("FullyConnectedNet.loss [20, 30] reg=0.7", "W1")]["verdict"] == "PASS"


def test_endless_loop_and_exit_cost_only_their_own_rows(hangs_and_reg_bug):
    rows = by_row(hangs_and_reg_bug[0])
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


@pytest.mark.parametrize("module", sorted(p.name for p in (REPO_ROOT / "cs231n").glob("gradient_*.py")))
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
    assert all(re.fullmatch(r"(\w+ is )?not implemented yet", r["diagnosis"]) for r in rows), rows
    text, code = render(rows, files, "kit")
    table = [line for line in text.splitlines() if line.startswith(tuple(label for label, _, _ in PLAN))]
    assert code == 1 and len(table) == len(rows) and max(len(line) for line in table) <= 120
