"""Every notebook runs top to bottom with the reference solution and is committed clean.

Each ``notebooks/*.ipynb`` is executed with nbclient in a fresh kernel of the interpreter that runs
pytest (cwd ``notebooks/``, ``CS231N_QUICK=1`` so training cells run short, ``CIFAR10_DIR`` set when
the data is on this machine). A notebook whose metadata says ``"cs231n": {"needs_cifar10": true}``
is skipped when CIFAR-10 is absent; every other notebook always runs. The release's blanked version
of each notebook runs too, against the reference library: a blank cell run unfilled must say which
values to set.
"""

import sys
from pathlib import Path

import nbformat
import pytest
from conftest import REPO_ROOT, cifar_dir
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

import collect_submission_check as check
from staff.markers import SOLUTION_TAG, blank_notebook

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT = 900  # seconds; a shared 2-core machine can be slow, and only a hang should fail


def needs_cifar10(nb):
    """True when the notebook declares in its metadata that it reads CIFAR-10."""
    return bool(nb.metadata.get("cs231n", {}).get("needs_cifar10", False))


def quick_env(nb, name):
    """The kernel environment of a quick-mode run of ``nb``; skips when it needs CIFAR-10 and the data is absent."""
    data = cifar_dir()
    if needs_cifar10(nb) and data is None:
        pytest.skip(f"{name} needs CIFAR-10 (run datasets/get_datasets.sh)")
    return {"CS231N_QUICK": "1", **({"CIFAR10_DIR": str(data)} if data is not None else {})}


def execute(nb, cwd, tmp_path, env):
    """Run ``nb`` in place in a python3 kernel of this interpreter with extra environment ``env``."""
    # A private kernelspec pins the kernel to sys.executable whatever kernels the machine has.
    kernels = tmp_path / "kernels"
    write_kernel_spec(kernels / "python3", overrides={"env": env, "display_name": "Python 3"})
    km = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
    # allow_errors lets every cell run so the failure lists all errors, including raises-exception cells.
    client = NotebookClient(
        nb, km=km, timeout=CELL_TIMEOUT, allow_errors=True, resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()
    return nb


def error_outputs(nb):
    """Return one message per error output or stderr traceback, naming the cell and its first line."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                text = "\n".join(out.traceback[-3:])
            elif out.output_type == "stream" and out.name == "stderr" and "Traceback" in out.text:
                text = out.text[-2000:]
            else:
                continue
            head = cell.source.splitlines()[0] if cell.source else ""
            found.append(f"cell {i} ({head!r}):\n{text}")
    return found


def saved_state(nb):
    """Return the code cells (by index) that hold outputs or an execution count."""
    return [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom_without_errors(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    execute(nb, NOTEBOOK_DIR, tmp_path, quick_env(nb, path.name))
    errors = error_outputs(nb)
    assert not errors, f"{path.name} has error output:\n" + "\n\n".join(errors)
    # A notebook with short runs records that it ran in quick mode, where the submission check sees it.
    assert check.ran_in_quick_mode(nb) == ("quick_mode()" in "".join(c.source for c in nb.cells)), path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_blank_cells_run_unfilled_say_which_values_to_set(path, tmp_path):
    staff_nb = nbformat.read(path, as_version=4)
    env = quick_env(staff_nb, path.name)
    nb, _ = blank_notebook(staff_nb, f"notebooks/{path.name}")
    blanks = [i for i, c in enumerate(nb.cells) if SOLUTION_TAG in c.metadata.get("tags", [])]
    execute(nb, NOTEBOOK_DIR, tmp_path, env)  # the reference library: only the blank cells are missing
    errors = {i: out for i, c in enumerate(nb.cells) for out in c.get("outputs", []) if out.output_type == "error"}
    others = {i: f"{out.ename}: {out.evalue}" for i, out in errors.items() if out.ename != "NotFilledError"}
    assert not others, f"{path.name}: errors that do not say what to fill in: {others}"
    for k, blank in enumerate(blanks):
        # The blank cell itself, or a cell after it that needs its values (before the next blank), says so.
        following = range(blank, blanks[k + 1] if k + 1 < len(blanks) else len(nb.cells))
        said = [errors[i].evalue for i in following if i in errors]
        assert said, f"{path.name}: running blank cell {blank} and the cells after it raised no NotFilledError"
        assert "still None" in said[0] and "START and END OF YOUR CODE" in said[0], said[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebook_has_no_outputs_or_execution_counts(path):
    nb = nbformat.read(path, as_version=4)
    assert not saved_state(nb), (
        f"{path.name}: code cells {saved_state(nb)} hold outputs or execution counts; clear them with "
        f"`jupyter nbconvert --clear-output --inplace notebooks/{path.name}`"
    )


BROKEN_CELLS = [
    ("raise", nbformat.v4.new_code_cell("raise ValueError('boom')")),
    ("raises-exception tag", nbformat.v4.new_code_cell("1 / 0", metadata={"tags": ["raises-exception"]})),
    (
        "stderr traceback",
        nbformat.v4.new_code_cell(
            "import sys, traceback\ntry:\n    {}['missing']\nexcept KeyError:\n    traceback.print_exc(file=sys.stderr)"
        ),
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("cell", [c for _, c in BROKEN_CELLS], ids=[n for n, _ in BROKEN_CELLS])
def test_runner_reports_a_broken_cell(cell, tmp_path):
    ok = nbformat.v4.new_code_cell("import os\nprint(os.environ['CS231N_QUICK'], os.getcwd())")
    nb = nbformat.v4.new_notebook(cells=[ok, cell])
    execute(nb, tmp_path, tmp_path, {"CS231N_QUICK": "1"})
    assert nb.cells[0].outputs[0].text.split() == ["1", str(tmp_path)]
    errors = error_outputs(nb)
    assert len(errors) == 1 and errors[0].startswith("cell 1")


def test_runner_sees_saved_outputs_and_counts():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("1", execution_count=None),
            nbformat.v4.new_code_cell("2", execution_count=3),
            nbformat.v4.new_code_cell("3", outputs=[nbformat.v4.new_output("stream", name="stdout", text="3")]),
            nbformat.v4.new_markdown_cell("text"),
        ]
    )
    assert saved_state(nb) == [1, 2]


def test_cifar10_notebooks_are_recognised_from_metadata():
    assert needs_cifar10(nbformat.v4.new_notebook(metadata={"cs231n": {"needs_cifar10": True}}))
    assert not needs_cifar10(nbformat.v4.new_notebook())


@pytest.mark.slow
def test_kernel_runs_this_interpreter(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys; print(sys.executable)")])
    execute(nb, tmp_path, tmp_path, {})
    assert Path(nb.cells[0].outputs[0].text.strip()).resolve() == Path(sys.executable).resolve()
