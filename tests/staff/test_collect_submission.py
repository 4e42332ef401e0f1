"""Tests for collectSubmission.sh and collect_submission_check.py, on temporary copies of the kit."""

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

import collect_submission_check as check
from staff import release
from staff.markers import stub_python_source

REPO = Path(__file__).resolve().parents[2]
ZIP = "cs231n_submission.zip"
# Written out here rather than imported, so that a change to the script's list must be made on purpose.
STUDENT_FILES = {
    "cs231n/layers.py",
    "cs231n/classifiers/fc_net.py",
    "cs231n/optim.py",
    "cs231n/graph.py",
    "notebooks/backprop.ipynb",
    "notebooks/two_layer_net.ipynb",
    "notebooks/FullyConnectedNets.ipynb",
}
NOTEBOOKS = sorted(f for f in STUDENT_FILES if f.endswith(".ipynb"))


def executed_notebook(name):
    """A small notebook run top to bottom: counts 1, 2, 3 on the non-blank code cells, no error."""
    return new_notebook(
        cells=[
            new_markdown_cell(f"# {name}"),
            new_code_cell("import numpy as np", execution_count=1),
            new_code_cell(
                "print('checked', 6 * 7)",
                execution_count=2,
                outputs=[new_output("stream", name="stdout", text=f"checked 42 in {name}\n")],
            ),
            new_code_cell("", execution_count=None),  # a blank cell: Jupyter leaves it unnumbered
            new_code_cell(
                "np.arange(3)",
                execution_count=3,
                outputs=[new_output("execute_result", data={"text/plain": "array([0, 1, 2])"}, execution_count=3)],
            ),
            new_markdown_cell("**Your Answer:** the gradient flows back."),
        ]
    )


@pytest.fixture
def kit(tmp_path):
    """A student's kit folder: the library, the submission script, executed notebooks, other files."""
    root = tmp_path / "kit"
    shutil.copytree(REPO / "cs231n", root / "cs231n", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("collectSubmission.sh", "collect_submission_check.py"):
        shutil.copy2(REPO / name, root / name)
    (root / "notebooks").mkdir()
    for rel in NOTEBOOKS:
        nbformat.write(executed_notebook(Path(rel).stem), root / rel)
    # Files that are not the student's and must stay out of the zip.
    nbformat.write(executed_notebook("scratch"), root / "notebooks" / "scratch.ipynb")
    (root / "tests").mkdir()
    (root / "tests" / "test_layers.py").write_text("def test_nothing():\n    pass\n")
    (root / "notes.txt").write_text("my notes\n")
    return root


def run_script(kit, **env):
    """Run collectSubmission.sh in ``kit`` as a student would, with this interpreter as PYTHON."""
    full_env = {**os.environ, "PYTHON": sys.executable, **env}
    return subprocess.run(
        ["bash", "collectSubmission.sh"],
        cwd=kit,
        env=full_env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )


def edit_notebook(kit, rel, change):
    """Load a notebook of the kit, let ``change(nb)`` modify it, and write it back."""
    nb = nbformat.read(kit / rel, as_version=4)
    change(nb)
    nbformat.write(nb, kit / rel)


def test_good_submission_zips_exactly_the_student_files_and_the_exports(kit):
    with zipfile.ZipFile(kit / ZIP, "w") as z:
        z.writestr("stale.txt", "from an earlier run")
    r = run_script(kit)
    assert r.returncode == 0, r.stdout + r.stderr
    with zipfile.ZipFile(kit / ZIP) as z:
        names = set(z.namelist())
        assert z.read("cs231n/layers.py") == (kit / "cs231n/layers.py").read_bytes()
        html = z.read("submission_exports/backprop.html").decode()
    html_exports = {f"submission_exports/{Path(nb).stem}.html" for nb in NOTEBOOKS}
    pdf_exports = {f"submission_exports/{Path(nb).stem}.pdf" for nb in NOTEBOOKS}
    assert names - pdf_exports == STUDENT_FILES | html_exports
    assert names & pdf_exports in (set(), pdf_exports)
    # The export is the executed notebook, outputs included.
    assert "checked 42 in backprop" in html
    assert "All checks passed" in r.stdout
    assert f"Upload {ZIP}" in r.stdout
    if shutil.which("xelatex") and shutil.which("pandoc"):  # the LaTeX route is there: it must work
        assert names >= pdf_exports, r.stdout
    else:
        assert "PDF skipped" in r.stdout or names >= pdf_exports
    for rel in STUDENT_FILES:
        assert re.search(rf"^  {re.escape(rel)} +\d", r.stdout, re.M), f"{rel} not listed with its size"


def remove(rel):
    return lambda kit: (kit / rel).unlink()


def set_counts(counts, rel="notebooks/backprop.ipynb"):
    """Overwrite the execution counts of the non-blank code cells of a notebook."""

    def change(nb):
        cells = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
        for cell, count in zip(cells, counts):
            cell.execution_count = count

    return lambda kit: edit_notebook(kit, rel, change)


def add_error_output(kit):
    error = new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=["..."])
    edit_notebook(kit, "notebooks/two_layer_net.ipynb", lambda nb: nb.cells[2].outputs.append(error))


def write(rel, text):
    return lambda kit: (kit / rel).write_text(text)


BAD_SUBMISSIONS = {
    "missing_py_file": (remove("cs231n/optim.py"), [r"missing file: cs231n/optim\.py"]),
    "missing_notebook": (
        remove("notebooks/FullyConnectedNets.ipynb"),
        [r"missing file: notebooks/FullyConnectedNets\.ipynb"],
    ),
    "cell_never_run": (
        set_counts([1, None, 2]),
        [r"notebooks/backprop\.ipynb: not executed: cell 3 \(the 2nd code cell\) never ran"],
    ),
    "notebook_never_run": (
        set_counts([None, None, None], "notebooks/FullyConnectedNets.ipynb"),
        [r"FullyConnectedNets\.ipynb: not executed: cell 2 .*, cell 3 .*, cell 5 "],
    ),
    "out_of_order": (
        set_counts([1, 3, 2]),
        [r"backprop\.ipynb: not executed top to bottom: the execution counts read \[1, 3, 2\]"],
    ),
    "cell_run_twice": (set_counts([1, 2, 5]), [r"backprop\.ipynb: not executed top to bottom: .*\[1, 2, 5\]"]),
    "error_output": (
        add_error_output,
        [
            r"two_layer_net\.ipynb: cell 3 \(the 2nd code cell\) holds an error output: "
            r"ZeroDivisionError: division by zero"
        ],
    ),
    "not_json": (
        write("notebooks/backprop.ipynb", "{ not json"),
        [r"notebooks/backprop\.ipynb: cannot be read as a notebook"],
    ),
    "import_error": (
        write("cs231n/graph.py", "import numpy\nimport a_module_that_does_not_exist\n"),
        [
            r"`import cs231n\.graph` fails: ModuleNotFoundError: .*a_module_that_does_not_exist.* "
            r"\(cs231n/graph\.py, line 2\)"
        ],
    ),
    "syntax_error": (
        write("cs231n/optim.py", "def sgd(w, dw, config=None):\n    return w -\n"),
        [r"(?m)`import cs231n\.optim` fails: SyntaxError: [^(]*\(cs231n/optim\.py, line 2\)$"],
    ),
    "error_raised_at_import": (
        write("cs231n/layers.py", "raise RuntimeError('half-finished edit')\n"),
        [r"`import cs231n\.layers` fails: RuntimeError: half-finished edit"],
    ),
}


@pytest.mark.parametrize("case", BAD_SUBMISSIONS)
def test_bad_submission_exits_nonzero_names_the_problem_and_leaves_no_zip(kit, case):
    spoil, messages = BAD_SUBMISSIONS[case]
    spoil(kit)
    # Output of an earlier run must not survive to be uploaded.
    (kit / ZIP).write_bytes(b"an earlier zip")
    (kit / "submission_exports").mkdir()
    (kit / "submission_exports" / "backprop.html").write_text("an earlier export")
    r = run_script(kit)
    assert r.returncode != 0
    for message in messages:
        assert re.search(message, r.stderr), f"{message!r} not in:\n{r.stderr}"
    assert "Nothing was zipped" in r.stderr and "Removed the old" in r.stderr
    assert not (kit / ZIP).exists()
    assert not (kit / "submission_exports").exists()


def test_every_problem_is_reported_not_only_the_first(kit):
    for case in ("missing_py_file", "out_of_order", "error_output", "import_error"):
        BAD_SUBMISSIONS[case][0](kit)
    r = run_script(kit)
    assert r.returncode != 0
    assert "Found 4 problem(s)" in r.stderr
    for case in ("missing_py_file", "out_of_order", "error_output", "import_error"):
        assert re.search(BAD_SUBMISSIONS[case][1][0], r.stderr), case


def test_release_stubs_that_raise_when_called_pass_the_import_check(kit):
    for rel in STUDENT_FILES:
        if rel.endswith(".py"):
            (kit / rel).write_text(stub_python_source((kit / rel).read_text(), rel))
    r = subprocess.run(
        [sys.executable, "collect_submission_check.py", "check"], cwd=kit, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr
    assert "All checks passed" in r.stdout


def test_unknown_python_is_refused_with_a_clear_message(kit):
    r = run_script(kit, PYTHON=str(kit / "no-such-python"))
    assert r.returncode != 0
    assert "no Python found" in r.stderr
    assert not (kit / ZIP).exists()


def test_required_files_are_the_student_owned_files_of_staff_readme():

    readme = (REPO / "staff" / "README.md").read_text()
    section = readme.split("## Student-owned files", 1)[1].split("\n## ", 1)[0]
    assert set(re.findall(r"^- `([^`]+)`", section, re.M)) == STUDENT_FILES
    assert set(check.REQUIRED_FILES) == STUDENT_FILES
    # The release build and the autograder take the same files from a submission.
    assert set(release.STUDENT_FILES) == STUDENT_FILES
    script = subprocess.run(
        [sys.executable, str(REPO / "collect_submission_check.py"), "notebooks"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert sorted(script.stdout.split()) == NOTEBOOKS


def test_check_script_uses_only_the_standard_library():
    # It ships to students and must run even when their environment is half broken.
    source = (REPO / "collect_submission_check.py").read_text()
    imported = set(re.findall(r"^(?:import|from) (\w+)", source, re.M))
    assert imported and imported <= set(sys.stdlib_module_names)
