"""The student release build: marker rules, stubs, notebook blanking, the leak check and the proofs.

Synthetic files test each rule; one module-scoped build of this repository (through the command
line, as staff run it) tests the whole release.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from staff import kit_runs, leaks, release, stage
from staff.markers import (
    END,
    START,
    MarkerError,
    blank_notebook,
    find_regions,
    stub_python_source,
)
from staff.unshipped import find_unshipped

REPO_ROOT = Path(__file__).resolve().parents[2]


LAYER = textwrap.dedent('''\
    """A synthetic layer file."""
    import numpy as np


    def affine_forward(x, w, b):
        """Affine layer: out = x w + b."""
        if x.ndim < 2:
            raise ValueError(f"x must have a batch axis, got shape {x.shape}")
        out = None
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        flat_input_rows = x.reshape(x.shape[0], -1)
        out = flat_input_rows @ w + b

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        return out, (x, w, b)


    def given_double(x):
        """Given code: no region."""
        return 2 * x


    class Net:
        """A net with a method that holds two regions."""

        def loss(self, X, y=None):
            scores = None
            # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
            scores = X.sum(axis=1, keepdims=True)
            # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
            if y is None:
                return scores
            if y.shape[0] != X.shape[0]:
                # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
                mismatch_penalty = abs(y.shape[0] - X.shape[0])
                # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
            return scores
    ''')

STUB = "{f} in {rel} is not implemented yet: fill in the region between the START/END OF YOUR CODE lines"


def test_find_regions_names_enclosing_function_method_and_marker_lines():
    regions = find_regions(LAYER, "cs231n/layers.py")
    got = [(r.function, r.start, r.end, len(r.indent)) for r in regions]
    # Line numbers counted by hand in LAYER above.
    assert got == [("affine_forward", 10, 15, 4), ("Net.loss", 29, 31, 8), ("Net.loss", 35, 37, 12)]
    assert regions[0].body == (
        "",
        "    flat_input_rows = x.reshape(x.shape[0], -1)",
        "    out = flat_input_rows @ w + b",
        "",
    )


def test_stub_keeps_markers_and_given_code_and_replaces_only_the_body():
    stubbed = stub_python_source(LAYER, "cs231n/layers.py").splitlines()
    original = LAYER.splitlines()
    assert stubbed[:10] == original[:10]
    assert stubbed[10:16] == [
        "",
        "    raise NotImplementedError(",
        '        "affine_forward in cs231n/layers.py is not implemented yet: "',
        '        "fill in the region between the START/END OF YOUR CODE lines"',
        "    )",
        "",
    ]
    assert stubbed[16] == original[14] == "    " + END
    assert stubbed[-1] == original[-1] == "        return scores"
    assert "flat_input_rows" not in "\n".join(stubbed)
    assert sum(line.strip() == START for line in stubbed) == 3


def test_stubbing_a_stubbed_file_changes_nothing():
    once = stub_python_source(LAYER, "cs231n/layers.py")
    assert stub_python_source(once, "cs231n/layers.py") == once


@pytest.mark.parametrize(
    "call, function",
    [
        (lambda ns, np: ns["affine_forward"](np.ones((2, 3)), np.ones((3, 4)), np.zeros(4)), "affine_forward"),
        (lambda ns, np: ns["Net"]().loss(np.ones((2, 3))), "Net.loss"),
    ],
)
def test_calling_a_stub_raises_not_implemented_naming_function_and_file(call, function):
    ns = {}
    exec(compile(stub_python_source(LAYER, "cs231n/layers.py"), "cs231n/layers.py", "exec"), ns)
    with pytest.raises(NotImplementedError) as e:
        call(ns, np)
    assert str(e.value) == STUB.format(f=function, rel="cs231n/layers.py")


def test_given_code_of_a_stubbed_file_still_works():
    ns = {}
    exec(compile(stub_python_source(LAYER, "cs231n/layers.py"), "cs231n/layers.py", "exec"), ns)
    assert ns["given_double"](21) == 42
    # The argument check sits before the region, so a bad input still gets its ValueError.
    with pytest.raises(ValueError, match="batch axis"):
        ns["affine_forward"](np.ones(3), np.ones((3, 4)), np.zeros(4))


BAD_SOURCES = {
    "start_without_end": (f"def f(x):\n    {START}\n    y = x\n    return x\n", 2, "never closed"),
    "end_without_start": (f"def f(x):\n    y = x\n    {END}\n    return x\n", 3, "without a START"),
    "nested": (f"def f(x):\n    {START}\n    {START}\n    y = x\n    {END}\n    {END}\n", 3, "nested"),
    "module_level": (f"import os\n{START}\nX = 1\n{END}\n\n\ndef f():\n    return 1\n", 2, "outside any function"),
    "class_body": (
        f"class A:\n    {START}\n    x = 1\n    {END}\n\n    def f(self):\n        return 1\n",
        2,
        "outside any function",
    ),
    "start_missing_stars": (
        f"def f(x):\n    # START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)\n    y = x\n    {END}\n",
        2,
        "altered marker",
    ),
    "start_lower_case": (f"def f(x):\n    {START.lower()}\n    y = x\n    {END}\n", 2, "altered marker"),
    "end_reworded": (
        f"def f(x):\n    {START}\n    y = x\n    # *****END OF YOUR CODE (DO NOT MODIFY THIS LINE)*****\n",
        4,
        "altered marker",
    ),
    "end_misaligned": (
        f"def f(x):\n    if x:\n        {START}\n        y = x\n    {END}\n    return x\n",
        5,
        "must line up",
    ),
}


def test_banner_end_line_and_prose_about_markers_are_not_markers():
    source = (
        '"""Fill in the START/END OF YOUR CODE regions."""\n\n\ndef f(x):\n'
        f"    {START}\n    y = x\n    {END}\n"
        "    ###########################################################################\n"
        "    #                             END OF YOUR CODE                            #\n"
        "    ###########################################################################\n"
        "    return x\n"
    )
    assert [(r.function, r.start, r.end) for r in find_regions(source, "m.py")] == [("f", 5, 7)]


@pytest.mark.parametrize("name", sorted(BAD_SOURCES))
def test_bad_markers_are_refused_naming_file_and_line(name):
    source, line, reason = BAD_SOURCES[name]
    with pytest.raises(MarkerError) as e:
        stub_python_source(source, "cs231n/fake.py")
    assert f"cs231n/fake.py, line {line}" in str(e.value)
    assert reason in str(e.value)


def make_notebook():
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    given = nbformat.v4.new_code_cell("import numpy as np\nx = np.ones(3)", execution_count=1)
    given.outputs = [nbformat.v4.new_output("stream", text="hello\n")]
    marked = nbformat.v4.new_code_cell(
        "def f(x):\n    " + START + "\n    return x.cumsum() * 7\n    " + END + "\n\nprint(f(x))",
        metadata={"tags": ["solution"]},
        execution_count=2,
    )
    marked.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "[7, 14, 21]"}, execution_count=2)]
    whole = nbformat.v4.new_code_cell("secret_value = np.linalg.norm(x) ** 3", metadata={"tags": ["solution"]})
    answer = nbformat.v4.new_markdown_cell(
        "The gradient flows back through the max gate only.", metadata={"tags": ["answer"]}
    )
    question = nbformat.v4.new_markdown_cell("**Inline question 1:** which way does the gradient flow?")
    nb.cells = [given, marked, whole, question, answer]
    return nb


def test_notebook_solution_cells_blanked_answers_replaced_outputs_stripped():
    nb = make_notebook()
    student, removed = blank_notebook(nb, "notebooks/demo.ipynb")
    cells = student.cells
    assert cells[0].source == nb.cells[0].source
    assert cells[1].source == (
        "def f(x):\n    " + START + "\n    # TODO: write your code here.\n    pass\n    " + END + "\n\nprint(f(x))"
    )
    assert cells[2].source == "# TODO: write your code here."
    assert cells[3].source == nb.cells[3].source
    assert cells[4].source == "**Your Answer:** *fill this in.*"
    for cell in cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert student.metadata == nb.metadata
    assert cells[1].metadata.tags == ["solution"]
    assert [(lines, tag) for _, lines, tag in removed] == [
        (["    return x.cumsum() * 7"], "solution"),
        (["secret_value = np.linalg.norm(x) ** 3"], "solution"),
        (["The gradient flows back through the max gate only."], "answer"),
    ]
    # The staff notebook itself is left as it was.
    assert nb.cells[0].outputs and nb.cells[1].execution_count == 2


@pytest.mark.parametrize(
    "cell, reason",
    [
        (nbformat.v4.new_code_cell(f"{START}\nx = 1\n{END}"), "not tagged 'solution'"),
        (nbformat.v4.new_markdown_cell("text", metadata={"tags": ["solution"]}), "on a markdown cell"),
        (nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["answer"]}), "on a code cell"),
        (nbformat.v4.new_code_cell(f"{START}\nx = 1", metadata={"tags": ["solution"]}), "never closed"),
    ],
)
def test_bad_notebook_cells_are_refused_naming_notebook_and_cell(cell, reason):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("intro"), cell]
    with pytest.raises(MarkerError) as e:
        blank_notebook(nb, "notebooks/demo.ipynb")
    assert "notebooks/demo.ipynb, cell 1" in str(e.value) and reason in str(e.value)


def make_mini_repo(root, layers_text, extra_test=""):
    """Write a tiny staff source with every allow-listed kind of file; return its root."""
    files = {
        "README.md": "# Mini kit\n\n<!-- staff-only:start -->\nStaff: python -m staff.release\n<!-- staff-only:end -->\n",  # noqa: E501
        "requirements.txt": "numpy\n",
        "pyproject.toml": "[tool.pytest.ini_options]\ntestpaths = ['tests']\n",
        "collectSubmission.sh": "#!/bin/sh\necho collect\n",
        "datasets/get_datasets.sh": "#!/bin/sh\necho data\n",
        "cs231n/__init__.py": "",
        "cs231n/layers.py": layers_text,
        "tests/conftest.py": "import sys\nfrom pathlib import Path\n\nsys.path.insert(0, str(Path(__file__).parents[1]))\n",  # noqa: E501
        "tests/test_layers.py": textwrap.dedent("""\
            import numpy as np
            import pytest

            from cs231n.layers import affine_forward, given_double, Net


            def test_affine_forward_values():
                out, _ = affine_forward(np.ones((2, 3)), np.ones((3, 1)), np.zeros(1))
                assert np.allclose(out, 3.0)


            def test_affine_forward_rejects_a_vector():
                with pytest.raises(ValueError):
                    affine_forward(np.ones(3), np.ones((3, 1)), np.zeros(1))


            def test_given_double():
                assert given_double(2) == 4


            def test_net_loss_scores():
                assert Net().loss(np.ones((2, 3))).shape == (2, 1)
            """)
        + extra_test,
        "tests/staff/test_hidden.py": "def test_hidden():\n    assert True\n",
        "staff/release_notes.md": "staff only\n",
        "benchmarks/bench.py": "print('bench')\n",
        ".ci/run": "#!/bin/sh\n",
        "cs231n/__pycache__/layers.cpython-311.pyc": "",
        "datasets/cifar-10-batches-py/data_batch_1": "",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    nb = make_notebook()
    (root / "notebooks").mkdir()
    nbformat.write(nb, root / "notebooks" / "demo.ipynb")
    return root


@pytest.fixture
def mini(tmp_path, monkeypatch):
    """A tiny staff source whose student files are cs231n/layers.py and notebooks/demo.ipynb."""
    monkeypatch.setattr(stage, "STUDENT_FILES", ("cs231n/layers.py", "notebooks/demo.ipynb"))
    return make_mini_repo(tmp_path / "repo", LAYER)


def test_stage_ships_exactly_the_allow_list(mini, tmp_path):
    staged = stage.stage(mini, tmp_path / "kit")
    shipped = sorted(p.relative_to(tmp_path / "kit").as_posix() for p in (tmp_path / "kit").rglob("*") if p.is_file())
    expected = [
        "README.md",
        "collectSubmission.sh",
        "cs231n/__init__.py",
        "cs231n/layers.py",
        "datasets/get_datasets.sh",
        "notebooks/demo.ipynb",
        "pyproject.toml",
        "requirements.txt",
        "tests/conftest.py",
        "tests/test_layers.py",
    ]
    assert shipped == staged["files"] == expected
    assert staged["stubs"] == {"cs231n/layers.py": ["affine_forward", "Net.loss", "Net.loss"]}
    assert "staff-only" not in (tmp_path / "kit" / "README.md").read_text()
    assert os.access(tmp_path / "kit" / "collectSubmission.sh", os.X_OK)


def test_stage_refuses_a_solution_file_missing_from_student_files(mini, tmp_path, monkeypatch):
    monkeypatch.setattr(stage, "STUDENT_FILES", ("notebooks/demo.ipynb",))
    with pytest.raises(release.ReleaseError, match=r"not in STUDENT_FILES.*cs231n/layers.py"):
        stage.stage(mini, tmp_path / "kit")


def test_clean_kit_has_no_leak(mini, tmp_path):
    staged = stage.stage(mini, tmp_path / "kit")
    assert leaks.find_leaks(staged["secrets"], leaks.kit_texts(tmp_path / "kit")) == []
    # The secrets are the distinctive solution lines, taken from the files and the notebook.
    assert set(staged["secrets"]) == {
        "flat_input_rows=x.reshape(x.shape[0],-1)",
        "out=flat_input_rows@w+b",
        "scores=X.sum(axis=1,keepdims=True)",
        "mismatch_penalty=abs(y.shape[0]-X.shape[0])",
        "returnx.cumsum()*7",
        "secret_value=np.linalg.norm(x)**3",
        "Thegradientflowsbackthroughthemaxgateonly.",
    }


def test_solution_line_copied_into_a_docstring_is_caught(mini, tmp_path):
    leaky = LAYER.replace(
        '"""Given code: no region."""', '"""Given code. Hint:\n\n        out = flat_input_rows  @ w + b\n    """'
    )
    (mini / "cs231n" / "layers.py").write_text(leaky)
    staged = stage.stage(mini, tmp_path / "kit")
    found = leaks.find_leaks(staged["secrets"], leaks.kit_texts(tmp_path / "kit"))
    assert len(found) == 1
    assert "cs231n/layers.py: holds the solution line from cs231n/layers.py:13" in found[0]


def test_answer_copied_into_a_test_and_a_zip_is_caught(mini, tmp_path):
    (mini / "tests" / "test_layers.py").write_text(
        "# The gradient flows back through the max gate only.\n", encoding="utf-8"
    )
    staged = stage.stage(mini, tmp_path / "kit")
    zip_path = stage.write_zip(tmp_path / "kit", tmp_path / "kit.zip", "kit")
    found = leaks.find_leaks(staged["secrets"], leaks.kit_texts(zips=[zip_path]))
    assert found == [
        f"{zip_path}!kit/tests/test_layers.py: holds the solution line from "
        "notebooks/demo.ipynb, cell 4: 'Thegradientflowsbackthroughthemaxgateonly.'"
    ]


def test_solution_line_that_the_library_gives_elsewhere_is_public(mini, tmp_path):
    shared = LAYER.replace("    return 2 * x", "    flat_input_rows = x.reshape(x.shape[0], -1)\n    return 2 * x")
    assert shared != LAYER
    (mini / "cs231n" / "layers.py").write_text(shared)
    staged = stage.stage(mini, tmp_path / "kit")
    assert "flat_input_rows=x.reshape(x.shape[0],-1)" not in staged["secrets"]
    assert "out=flat_input_rows@w+b" in staged["secrets"]


def test_split_call_pieces_leak_only_as_whole_lines_and_statements_anywhere(mini, tmp_path):
    nb = nbformat.v4.new_notebook()
    solution = nbformat.v4.new_code_cell(
        f"np.random.seed(0)\n{START}\nsolver = make_solver(model, small_data,\n"
        f"                     learning_rate=1e-3, lr_decay=0.95)\nweight_scale = 5e-2\n{END}",
        metadata={"tags": ["solution"]},
    )
    given = nbformat.v4.new_code_cell(
        "np.random.seed(0)\nsolver = make_solver(model, data, learning_rate=1e-3, lr_decay=0.95)"
    )
    nb.cells = [solution, given]
    nbformat.write(nb, mini / "notebooks" / "demo.ipynb")
    (mini / "tests" / "test_layers.py").write_text(
        "# Pieces:\n#     learning_rate=1e-3,   lr_decay=0.95)\n# Use FullyConnectedNet(weight_scale=5e-2).\n"
    )
    staged = stage.stage(mini, tmp_path / "kit")
    assert staged["secrets"]["learning_rate=1e-3,lr_decay=0.95)"] == ("notebooks/demo.ipynb, cell 0, line 2", False)
    assert staged["secrets"]["weight_scale=5e-2"] == ("notebooks/demo.ipynb, cell 0, line 2", True)
    # np.random.seed(0) is given code outside the markers: public, not a secret.
    assert "np.random.seed(0)" not in staged["secrets"]
    found = leaks.find_leaks(staged["secrets"], leaks.kit_texts(tmp_path / "kit"))
    # The call piece inside the given one-line call is no leak; alone on a line (in the test) it is.
    assert sorted(leak.split(": holds")[0].rsplit("/kit/", 1)[1] + leak.split("line 2:")[1] for leak in found) == [
        "tests/test_layers.py 'learning_rate=1e-3,lr_decay=0.95)'",
        "tests/test_layers.py 'weight_scale=5e-2'",
    ]


def test_zip_is_reproducible_and_holds_the_kit_under_one_folder(mini, tmp_path):
    stage.stage(mini, tmp_path / "kit")
    a = stage.write_zip(tmp_path / "kit", tmp_path / "a.zip", "cs231n_kit")
    b = stage.write_zip(tmp_path / "kit", tmp_path / "b.zip", "cs231n_kit")
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as zf:
        names = zf.namelist()
        mode = zf.getinfo("cs231n_kit/collectSubmission.sh").external_attr >> 16
    assert all(n.startswith("cs231n_kit/") for n in names) and len(names) == 10
    assert mode & 0o111


def stage_with_reference(repo, tmp_path):
    """Stage ``repo`` into tmp_path/kit and its instrumented reference; return (kit, reference, stubs)."""
    staged = stage.stage(repo, tmp_path / "kit")
    reference = kit_runs.make_reference(tmp_path / "kit", repo, staged["stubs"], tmp_path / "reference")
    stubs = {(f, rel) for rel, funcs in staged["stubs"].items() for f in funcs}
    return tmp_path / "kit", reference, stubs


def test_proof_accepts_tests_that_fail_only_on_stubs(mini, tmp_path):
    kit, reference, stubs = stage_with_reference(mini, tmp_path)
    result = kit_runs.check_tests(kit, reference, stubs)
    assert result["passed"] == [
        "tests/test_layers.py::test_affine_forward_rejects_a_vector",
        "tests/test_layers.py::test_given_double",
    ]
    assert result["failed_by"] == {
        "Net.loss in cs231n/layers.py": ["tests/test_layers.py::test_net_loss_scores"],
        "affine_forward in cs231n/layers.py": ["tests/test_layers.py::test_affine_forward_values"],
    }
    # The ValueError test stops before the region, so only one test reaches each stub.
    assert result["reached_by"] == {"Net.loss in cs231n/layers.py": 1, "affine_forward in cs231n/layers.py": 1}
    assert kit_runs.check_imports(kit, ("cs231n.layers",))["cs231n.layers"].startswith(str(kit.resolve()))


def test_reference_copy_keeps_the_solution_and_reports_each_region(mini, tmp_path):
    _, reference, _ = stage_with_reference(mini, tmp_path)
    text = (reference / "cs231n" / "layers.py").read_text()
    assert "out = flat_input_rows @ w + b" in text and "NotImplementedError" not in text
    probe = [line.strip() for line in text.splitlines() if "kit_probe" in line]
    assert probe == [
        kit_runs.PROBE_CALL.format(repr(f"{name} in cs231n/layers.py"))
        for name in ("affine_forward", "Net.loss", "Net.loss")
    ]
    # Each probe line sits right after its START marker, at the marker's indentation.
    assert "    " + START + "\n    " + probe[0] + "\n" in text


FIXTURE_AND_CHILD = """

@pytest.fixture(scope="module")
def scores():
    return Net().loss(np.ones((2, 3)))


def test_scores_shape(scores):
    assert scores.shape == (2, 1)


def test_scores_values(scores):
    assert np.allclose(scores, 3.0)


def test_layer_in_a_child_process():
    import subprocess, sys
    code = ("import numpy as np; from cs231n.layers import affine_forward; "
            "affine_forward(np.ones((1, 2)), np.ones((2, 1)), np.zeros(1))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
"""


def test_proof_credits_tests_through_module_fixtures_and_child_processes(mini, tmp_path):
    repo = make_mini_repo(tmp_path / "other", LAYER, FIXTURE_AND_CHILD)
    result = kit_runs.check_tests(*stage_with_reference(repo, tmp_path))
    # The module fixture runs once but both of its tests fail on Net.loss; the child's stub counts.
    assert result["failed_by"]["Net.loss in cs231n/layers.py"] == [
        "tests/test_layers.py::test_net_loss_scores",
        "tests/test_layers.py::test_scores_shape",
        "tests/test_layers.py::test_scores_values",
    ]
    assert (
        "tests/test_layers.py::test_layer_in_a_child_process"
        in result["failed_by"]["affine_forward in cs231n/layers.py"]
    )
    assert result["reached_by"] == {"Net.loss in cs231n/layers.py": 3, "affine_forward in cs231n/layers.py": 2}


SWALLOW = """

def test_swallows_the_stub():
    try:
        Net().loss(np.ones((1, 1)))
    except NotImplementedError:
        pass
"""
MASKED = """

def test_turns_the_stub_into_another_error():
    try:
        out = Net().loss(np.ones((1, 1)))
    except NotImplementedError:
        out = None
    assert out is not None
"""
BROKEN = """

def test_given_code_broken():
    assert given_double(2) == 5
"""


def test_proof_refuses_tests_that_pass_over_a_stub_or_fail_otherwise(mini, tmp_path):
    kit, reference, stubs = stage_with_reference(make_mini_repo(tmp_path / "other", LAYER, SWALLOW + MASKED), tmp_path)
    with pytest.raises(release.ReleaseError) as e:
        kit_runs.check_tests(kit, reference, stubs)
    # Both problems are listed in one error, each naming its test.
    assert "test_swallows_the_stub passes although it reaches a stubbed region" in str(e.value)
    assert "test_turns_the_stub_into_another_error fails for a reason other than a stub: AssertionError" in str(e.value)


def test_proof_refuses_a_test_that_fails_on_the_reference_solution(mini, tmp_path):
    kit, reference, stubs = stage_with_reference(make_mini_repo(tmp_path / "other", LAYER, BROKEN), tmp_path)
    with pytest.raises(release.ReleaseError, match=r"(?s)fail on the reference solution.*test_given_code_broken"):
        kit_runs.check_tests(kit, reference, stubs)


def test_proof_refuses_a_stub_that_no_test_notices(mini, tmp_path):
    kit, reference, stubs = stage_with_reference(mini, tmp_path)
    with pytest.raises(release.ReleaseError, match="no public test reaches and fails on.*unseen in cs231n/layers.py"):
        kit_runs.check_tests(kit, reference, stubs | {("unseen", "cs231n/layers.py")})


def test_proof_refuses_a_test_module_that_calls_a_stub_at_import(mini, tmp_path):
    repo = make_mini_repo(tmp_path / "other", LAYER, "\n\nSCORES = Net().loss(np.ones((1, 1)))\n")
    kit, reference, stubs = stage_with_reference(repo, tmp_path)
    with pytest.raises(release.ReleaseError, match="calls the stub Net.loss in cs231n/layers.py at import time"):
        kit_runs.check_tests(kit, reference, stubs)


def test_command_line_exits_1_and_names_the_bad_marker(monkeypatch, capsys):
    def refuse(repo_root, student_dir):
        raise MarkerError("cs231n/layers.py, line 12: nested START marker")

    monkeypatch.setattr(release, "stage", refuse)
    assert release.main(["--out", "unused"]) == 1
    assert capsys.readouterr().err == "release build failed: cs231n/layers.py, line 12: nested START marker\n"


def test_a_missing_autograder_packager_stops_the_build_with_its_name(monkeypatch, tmp_path):
    monkeypatch.setattr(release.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(release.ReleaseError, match="staff/autograder/package.py is missing"):
        release.build_autograder(REPO_ROOT, tmp_path / "autograder.zip")
    assert not (tmp_path / "autograder.zip").exists()


def test_student_files_are_the_files_that_hold_solution_regions_or_cells():
    # Found on their own, from the markers and tags, against the one list in cs231n/__init__.py.
    found = {
        p.relative_to(REPO_ROOT).as_posix()
        for p in (REPO_ROOT / "cs231n").rglob("*.py")
        if any(line.strip() == START for line in p.read_text(encoding="utf-8").splitlines())
    }
    for p in (REPO_ROOT / "notebooks").glob("*.ipynb"):
        if any({"solution", "answer"} & set(c.metadata.get("tags", [])) for c in nbformat.read(p, as_version=4).cells):
            found.add(p.relative_to(REPO_ROOT).as_posix())
    assert set(stage.STUDENT_FILES) == found
    assert len(stage.STUDENT_FILES) == len(found)


def unshipped_case(tmp_path):
    """A staff source and a kit whose texts name files of both; returns (kit, repo, mentions found)."""
    repo, kit = tmp_path / "repo", tmp_path / "kit"
    for rel in (
        "README.md",
        "requirements-bench.txt",
        ".ci/run",
        "benchmarks/README.md",
        "staff/__init__.py",
        "staff/release.py",
        "cs231n/__init__.py",
        "cs231n/layers.py",
        "cs231n/blas.py",
        "tests/test_layers.py",
        "tests/staff/test_release.py",
        "datasets/get_datasets.sh",
    ):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text("x\n")
    for rel in (
        "README.md",
        "cs231n/__init__.py",
        "cs231n/layers.py",
        "tests/test_layers.py",
        "datasets/get_datasets.sh",
    ):
        (kit / rel).parent.mkdir(parents=True, exist_ok=True)
        (kit / rel).write_text((repo / rel).read_text())
    (kit / "README.md").write_text(
        "Fill in cs231n/layers.py (cs231n/*.py hold the rest), run python -m pytest tests/test_layers.py and\n"
        "python -m cs231n.train; the data goes to datasets/cifar-10-batches-py (bash datasets/get_datasets.sh).\n"
        "Course staff. See staff/README.md, benchmarks/, .ci/run and requirements-bench.txt.\n"
    )
    (kit / "cs231n" / "layers.py").write_text("# Faster than cs231n/blas.py; built by python -m staff.release\n")
    (kit / "tests" / "test_layers.py").write_text('"""The grader\'s tests are in tests/staff/."""\n')
    return kit, repo, find_unshipped(kit, repo, leaks.kit_texts(kit))


def test_kit_naming_files_it_does_not_ship_is_caught_naming_file_and_path(tmp_path):
    kit, _, found = unshipped_case(tmp_path)
    names = {(line.split(": names ")[0], line.split("'")[1]) for line in found}
    assert names == {
        (f"{kit.as_posix()}/README.md", "staff/README.md"),
        (f"{kit.as_posix()}/README.md", "benchmarks/"),
        (f"{kit.as_posix()}/README.md", ".ci/run"),
        (f"{kit.as_posix()}/README.md", "requirements-bench.txt"),
        (f"{kit.as_posix()}/cs231n/layers.py", "cs231n/blas.py"),
        (f"{kit.as_posix()}/cs231n/layers.py", "staff.release"),
        (f"{kit.as_posix()}/tests/test_layers.py", "tests/staff/"),
    }
    assert all(line.endswith("which the kit does not ship") for line in found)


def test_release_build_stops_when_the_kit_names_a_file_it_does_not_ship(mini, tmp_path, monkeypatch):
    monkeypatch.setattr(release, "build_autograder", lambda repo_root, out_zip: out_zip)
    (mini / "benchmarks").mkdir(exist_ok=True)
    (mini / "benchmarks" / "README.md").write_text("numbers\n")
    (mini / "tests" / "test_layers.py").write_text(
        (mini / "tests" / "test_layers.py").read_text() + "\n# Timings: benchmarks/README.md\n"
    )
    with pytest.raises(
        release.ReleaseError, match=r"(?s)names files it does not ship.*test_layers\.py: names 'benchmarks/README\.md'"
    ):
        release.build(tmp_path / "out", repo_root=mini)


# ---------------------------------------------------------------------------------------------
# The release of this repository, built once through the command line.


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    proc = subprocess.run(
        [sys.executable, "-m", "staff.release", "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    summary = json.loads((out / "release_summary.json").read_text())
    return out, summary, proc.stdout


def expected_kit_files():
    """The allow-list, stated independently: what a student must get from this repository."""
    names = {"README.md", "requirements.txt", "pyproject.toml", "collectSubmission.sh", "datasets/get_datasets.sh"}
    for pattern in (
        "docs/*.md",
        "collect_submission*.py",
        "cs231n/*.py",
        "cs231n/classifiers/*.py",
        "notebooks/*.ipynb",
        "tests/*.py",
    ):
        names |= {p.relative_to(REPO_ROOT).as_posix() for p in REPO_ROOT.glob(pattern)}
    return sorted(names)


@pytest.mark.slow
def test_release_of_this_repository_ships_exactly_the_allow_list(built):
    out, summary, _ = built
    kit = out / "student"
    shipped = sorted(p.relative_to(kit).as_posix() for p in kit.rglob("*") if p.is_file())
    assert shipped == expected_kit_files()
    assert not any(
        s.startswith(("staff/", "benchmarks/", ".ci/", ".git", "tests/staff/"))
        or "__pycache__" in s
        or "cifar-10-batches-py" in s
        for s in shipped
    )
    with zipfile.ZipFile(out / "cs231n_kit.zip") as zf:
        assert sorted(n.removeprefix("cs231n_kit/") for n in zf.namelist()) == shipped
    # The Gradescope zip comes from the autograder's own packager, with its two entry points.
    with zipfile.ZipFile(out / "autograder.zip") as zf:
        assert {"setup.sh", "run_autograder"} <= set(zf.namelist())


@pytest.mark.slow
def test_release_of_this_repository_stubs_every_student_python_file(built):
    out, summary, stdout = built
    py_files = [f for f in stage.STUDENT_FILES if f.endswith(".py")]
    assert sorted(summary["stubs"]) == sorted(py_files)
    for rel in py_files:
        staff_text = (REPO_ROOT / rel).read_text(encoding="utf-8")
        kit_text = (out / "student" / rel).read_text(encoding="utf-8")
        n = len(find_regions(staff_text, rel))
        assert n == len(summary["stubs"][rel]) > 0
        assert kit_text.count("raise NotImplementedError(") == staff_text.count("raise NotImplementedError(") + n
    assert "kit tests:" in stdout and "stubbed:" in stdout


@pytest.mark.slow
def test_release_of_this_repository_fails_its_tests_only_on_stubs(built):
    out, summary, _ = built
    tests = summary["tests"]
    stubbed = {f"{f} in {rel}" for rel, funcs in summary["stubs"].items() for f in funcs}
    # Every stub is on the path of some test; every failure is attributed to the stub it hit first.
    assert set(tests["reached_by"]) == stubbed and min(tests["reached_by"].values()) > 0
    assert set(tests["failed_by"]) <= stubbed
    assert sorted({t for ids in tests["failed_by"].values() for t in ids}) == tests["failed"]
    assert tests["passed"], "the given code must make some public tests pass"


@pytest.mark.slow
def test_release_of_this_repository_stub_raises_naming_affine_forward(built):
    out, _, _ = built
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import numpy as np; from cs231n.layers import affine_forward\n"
        "try:\n    affine_forward(np.ones((2, 3)), np.ones((3, 4)), np.zeros(4))\n"
        "except NotImplementedError as e:\n    print(e)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-c", code, str(out / "student")], capture_output=True, text=True, timeout=120
    )
    assert proc.stdout.strip() == STUB.format(f="affine_forward", rel="cs231n/layers.py"), proc.stderr


@pytest.mark.slow
def test_release_of_this_repository_notebooks_have_no_outputs_and_no_answers(built):
    out, summary, _ = built
    for rel in (f for f in stage.STUDENT_FILES if f.endswith(".ipynb")):
        nb = nbformat.read(out / "student" / rel, as_version=4)
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
        answers = [c for c in nb.cells if "answer" in c.metadata.get("tags", [])]
        assert all(c.source == "**Your Answer:** *fill this in.*" for c in answers)
        staff_cells = json.loads((REPO_ROOT / rel).read_text(encoding="utf-8"))["cells"]
        tagged = [c for c in staff_cells if "answer" in c.get("metadata", {}).get("tags", [])]
        assert len(summary["blanked"][rel]["answer"]) == len(answers) == len(tagged)


# ---------------------------------------------------------------------------------------------
# The student's path through the built kit, on a copy of it, as a student runs each command.


@pytest.fixture
def kit_copy(built, tmp_path):
    """A fresh copy of the built kit, and the environment a student's shell would have (no CIFAR-10)."""
    out, summary, _ = built
    kit = tmp_path / "cs231n_kit"
    shutil.copytree(out / "student", kit)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CIFAR10_DIR", "CS231N_"))}
    env.update(COLUMNS="80", MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    stubbed = {name for names in summary["stubs"].values() for name in names}
    return kit, env, stubbed


def run_in(kit, env, *cmd):
    return subprocess.run(
        list(cmd), cwd=kit, env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL
    )


@pytest.mark.slow
def test_kit_pytest_with_nothing_implemented_prints_a_short_table_without_tracebacks(kit_copy):
    kit, env, stubbed = kit_copy
    proc = run_in(kit, env, sys.executable, "-m", "pytest")
    lines = proc.stdout.splitlines()
    assert proc.returncode == 1
    assert len(lines) < 60, proc.stdout
    table = re.sub(r"\n +", " ", proc.stdout.split(f" your functions: {len(stubbed)} not implemented yet ", 1)[1])
    listed = re.findall(r"not implemented yet: ((?:[\w.]+, )*[\w.]+)", table)
    assert {name for names in listed for name in names.split(", ")} == stubbed, proc.stdout
    assert "Traceback" not in proc.stdout and "= FAILURES =" not in proc.stdout and "SKIPPED" not in proc.stdout
    assert re.search(r"\d+ passed.*\d+ not implemented", lines[-1]), lines[-1]


@pytest.mark.slow
def test_kit_main_job_before_the_nets_exist_lists_what_to_implement_and_exits_2(kit_copy):
    kit, env, stubbed = kit_copy
    proc = run_in(kit, env, sys.executable, "-m", "cs231n.train")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    listed = proc.stderr.split("Still to implement:", 1)[1]
    assert all(name in listed for name in stubbed), proc.stderr


@pytest.mark.slow
def test_kit_half_finished_is_zipped_with_warnings_naming_what_is_unfinished(kit_copy):
    kit, env, _ = kit_copy
    # Half of the work: the layers written (the reference's), the rest still stubs and no notebook run.
    shutil.copy2(REPO_ROOT / "cs231n" / "layers.py", kit / "cs231n" / "layers.py")
    proc = run_in(kit, {**env, "PYTHON": sys.executable}, "bash", "collectSubmission.sh")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with zipfile.ZipFile(kit / "cs231n_submission.zip") as zf:
        assert set(stage.STUDENT_FILES) <= set(zf.namelist())
    assert "cs231n/layers.py: not implemented yet" not in proc.stdout
    assert "cs231n/classifiers/fc_net.py: not implemented yet (still raising the kit's stub): TwoLayerNet.__init__" in (
        proc.stdout
    )
    assert "notebooks/backprop.ipynb: never run" in proc.stdout
    assert "WARNING: the zip holds unfinished work" in proc.stdout.splitlines()[-1]
