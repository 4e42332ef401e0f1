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
from staff.markers import START, find_regions, stub_python_source

REPO = Path(__file__).resolve().parents[2]
ZIP = "cs231n_submission.zip"
RECAP = "WARNING: the zip holds unfinished work"


def files_with_solutions(repo):
    """The student-owned files, found on their own: .py files with a START line, notebooks with tagged cells."""
    found = {
        p.relative_to(repo).as_posix()
        for p in (repo / "cs231n").rglob("*.py")
        if any(line.strip() == START for line in p.read_text(encoding="utf-8").splitlines())
    }
    for p in (repo / "notebooks").glob("*.ipynb"):
        tags = {t for c in nbformat.read(p, as_version=4).cells for t in c.metadata.get("tags", [])}
        if tags & {"solution", "answer"}:
            found.add(p.relative_to(repo).as_posix())
    return found


STUDENT_FILES = files_with_solutions(REPO)
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
    assert "All checks passed" in r.stdout and RECAP not in r.stdout
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


def write_bytes(rel, data):
    return lambda kit: (kit / rel).write_bytes(data)


def stub_out(rel):
    """Put the release's stubs back into one student file of the kit."""
    return lambda kit: (kit / rel).write_text(stub_python_source((kit / rel).read_text(), rel))


def run_in_quick_mode(rel):
    """Give a notebook's first code cell the output the notebooks' quick_mode() displays under CS231N_QUICK=1."""

    def change(nb):
        shown = new_output(
            "display_data",
            data={"text/plain": "QUICK MODE (CS231N_QUICK=1): ..."},
            metadata={"cs231n": {"quick_mode": True}},
        )
        next(c for c in nb.cells if c.cell_type == "code").outputs.append(shown)

    return lambda kit: edit_notebook(kit, rel, change)


# Grading is impossible: the script refuses, names the problem and leaves no zip.
REFUSED = {
    "missing_py_file": (remove("cs231n/optim.py"), [r"missing file: cs231n/optim\.py"]),
    "missing_notebook": (
        remove("notebooks/FullyConnectedNets.ipynb"),
        [r"missing file: notebooks/FullyConnectedNets\.ipynb"],
    ),
    "not_json": (
        write("notebooks/backprop.ipynb", "{ not json"),
        [r"notebooks/backprop\.ipynb: cannot be read as a notebook"],
    ),
    "not_text": (write_bytes("cs231n/layers.py", b"\xff\xfe\x00binary"), [r"cs231n/layers\.py: cannot be read"]),
    "list_of_files_gone": (remove("cs231n/__init__.py"), [r"cs231n/__init__\.py cannot be read .*restore it"]),
}

# Unfinished work: packed, with one warning each.
WARNED = {
    "cell_never_run": (
        set_counts([1, None, 2]),
        r"notebooks/backprop\.ipynb: not executed: cell 3 \(the 2nd code cell\) never ran",
    ),
    "notebook_never_run": (
        set_counts([None, None, None], "notebooks/FullyConnectedNets.ipynb"),
        r"FullyConnectedNets\.ipynb: never run \(none of its 3 code cells ran\)",
    ),
    "out_of_order": (
        set_counts([1, 3, 2]),
        r"backprop\.ipynb: not executed top to bottom: the execution counts read \[1, 3, 2\]",
    ),
    "cell_run_twice": (set_counts([1, 2, 5]), r"backprop\.ipynb: not executed top to bottom: .*\[1, 2, 5\]"),
    "error_output": (
        add_error_output,
        r"two_layer_net\.ipynb: cell 3 \(the 2nd code cell\) holds an error output: "
        r"ZeroDivisionError: division by zero",
    ),
    "import_error": (
        write("cs231n/graph.py", "import numpy\nimport a_module_that_does_not_exist\n"),
        r"`import cs231n\.graph` fails: ModuleNotFoundError: .*a_module_that_does_not_exist.* "
        r"\(cs231n/graph\.py, line 2\); every function in it scores 0",
    ),
    "syntax_error": (
        write("cs231n/optim.py", "def sgd(w, dw, config=None):\n    return w -\n"),
        r"(?m)`import cs231n\.optim` fails: SyntaxError: [^(]*\(cs231n/optim\.py, line 2\)",
    ),
    "error_raised_at_import": (
        write("cs231n/layers.py", "raise RuntimeError('half-finished edit')\n"),
        r"`import cs231n\.layers` fails: RuntimeError: half-finished edit",
    ),
    "stubs_still_raising": (
        stub_out("cs231n/optim.py"),
        r"cs231n/optim\.py: not implemented yet \(still raising the kit's stub\): sgd_momentum, rmsprop, adam",
    ),
    "quick_mode": (
        run_in_quick_mode("notebooks/two_layer_net.ipynb"),
        r"notebooks/two_layer_net\.ipynb: QUICK MODE: its training cells ran short",
    ),
}


def spoil_with_an_old_output(kit):
    """Leave the output of an earlier run, which must never survive to be uploaded."""
    (kit / ZIP).write_bytes(b"an earlier zip")
    (kit / "submission_exports").mkdir()
    (kit / "submission_exports" / "backprop.html").write_text("an earlier export")


@pytest.mark.parametrize("case", REFUSED)
def test_submission_that_cannot_be_graded_exits_nonzero_names_the_problem_and_leaves_no_zip(kit, case):
    spoil, messages = REFUSED[case]
    spoil(kit)
    spoil_with_an_old_output(kit)
    r = run_script(kit)
    assert r.returncode != 0
    for message in messages:
        assert re.search(message, r.stderr), f"{message!r} not in:\n{r.stderr}"
    assert "Nothing was zipped" in r.stderr and "Removed the old" in r.stderr
    assert not (kit / ZIP).exists()
    assert not (kit / "submission_exports").exists()


def run_check(kit, *args):
    """Run the check alone (no exports), as ``python collect_submission_check.py check`` in the kit."""
    return subprocess.run(
        [sys.executable, "collect_submission_check.py", "check", *args],
        cwd=kit,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("case", WARNED)
def test_unfinished_work_passes_the_check_with_a_warning_naming_what_is_unfinished(kit, case, tmp_path):
    spoil, message = WARNED[case]
    spoil(kit)
    r = run_check(kit, "--recap", str(tmp_path / "recap.txt"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(message, r.stdout), f"{message!r} not in:\n{r.stdout}"
    assert "All checks passed" not in r.stdout
    recap = (tmp_path / "recap.txt").read_text()
    assert ("QUICK MODE: notebooks/two_layer_net.ipynb" if case == "quick_mode" else RECAP) in recap


def test_unfinished_submission_is_zipped_with_every_warning_and_a_recap_last(kit):
    for case in ("out_of_order", "error_output", "import_error", "stubs_still_raising"):
        WARNED[case][0](kit)
    spoil_with_an_old_output(kit)
    r = run_script(kit)
    assert r.returncode == 0, r.stdout + r.stderr
    for case in ("out_of_order", "error_output", "import_error", "stubs_still_raising"):
        assert re.search(WARNED[case][1], r.stdout), case
    with zipfile.ZipFile(kit / ZIP) as z:
        assert STUDENT_FILES <= set(z.namelist())
        assert z.read("cs231n/optim.py") == (kit / "cs231n/optim.py").read_bytes()
        assert z.read("submission_exports/backprop.html") != b"an earlier export"
    # The recap comes last, after the upload instructions, so that it cannot be missed.
    tail = r.stdout[r.stdout.index(f"Upload {ZIP}") :]
    assert f"{RECAP} (4 warning(s) above)" in tail


def test_quick_mode_is_flagged_loudly_at_the_end_naming_the_notebook(kit):
    run_in_quick_mode("notebooks/two_layer_net.ipynb")(kit)
    r = run_script(kit)
    assert r.returncode == 0, r.stderr
    tail = r.stdout[r.stdout.index(f"Upload {ZIP}") :]
    assert "!" * 100 in tail
    assert "QUICK MODE: notebooks/two_layer_net.ipynb ran in quick mode" in tail
    assert "backprop" not in tail and "FullyConnectedNets" not in tail


def test_every_problem_is_reported_not_only_the_first(kit):
    for case in ("error_output", "import_error"):
        WARNED[case][0](kit)
    for case in ("missing_py_file", "not_json"):
        REFUSED[case][0](kit)
    r = run_script(kit)
    assert r.returncode != 0
    assert "Found 2 problem(s) that make grading impossible" in r.stderr
    for case in ("missing_py_file", "not_json"):
        assert re.search(REFUSED[case][1][0], r.stderr), case
    assert run_check(kit).returncode != 0


def test_every_stub_still_raising_is_named_and_an_implemented_one_is_not(kit):
    # The release's stubs in every student .py file, then one function written again.
    for rel in (f for f in STUDENT_FILES if f.endswith(".py")):
        stub_out(rel)(kit)
    expected = {
        rel: [r.function for r in find_regions((REPO / rel).read_text(), rel)]
        for rel in STUDENT_FILES
        if rel.endswith(".py")
    }
    layers = (kit / "cs231n/layers.py").read_text()
    stub = re.search(r"\n( +)raise NotImplementedError\(\n +\"relu_forward in [^)]*\)\n", layers)
    (kit / "cs231n/layers.py").write_text(layers.replace(stub[0], f"\n{stub[1]}out = np.maximum(0, x)\n"))
    r = run_check(kit)
    assert r.returncode == 0, r.stderr
    for rel, functions in expected.items():
        functions = list(dict.fromkeys(f for f in functions if f != "relu_forward"))
        assert f"{rel}: not implemented yet (still raising the kit's stub): {', '.join(functions)};" in r.stdout
    assert "import" not in r.stdout  # stubs raise only when called: every module imports


def test_unknown_python_is_refused_with_a_clear_message(kit):
    r = run_script(kit, PYTHON=str(kit / "no-such-python"))
    assert r.returncode != 0
    assert "no Python found" in r.stderr
    assert not (kit / ZIP).exists()


def test_the_files_to_submit_are_read_from_the_one_list_in_the_library():
    # STUDENT_FILES, read with ast, names exactly the files that hold solution regions or cells.
    assert set(check.student_files(REPO)) == STUDENT_FILES
    script = subprocess.run(
        [sys.executable, str(REPO / "collect_submission_check.py"), "--root", str(REPO), "notebooks"],
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
