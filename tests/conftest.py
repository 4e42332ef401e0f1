"""Shared pytest fixtures, and the plugin that prints one line per function you implement."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# The offline CIFAR-10 copy that sits beside the project on development and CI machines.
SHARED_CIFAR_DIR = REPO_ROOT.parent / "shared" / "data" / "cifar-10-batches-py"

# Tests import the kit from its root folder, whatever folder pytest runs from.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from function_table import FunctionTable  # noqa: E402 (it imports cs231n, found through the line above)

from cs231n.threads import ENV_VAR  # noqa: E402

TESTS_DIR = Path(__file__).resolve().parent


def pytest_configure(config):
    config.pluginmanager.register(FunctionTable(REPO_ROOT), "function-table")


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread(request):
    """Train on one BLAS thread in the tests of this folder, unless a test sets the threads itself.

    By default the Solver measures how busy the machine is before it trains, which costs a 0.1 s
    wait on a busy machine; the nets of these tests are too small for more threads to help.
    The staff's tests test the automatic choice itself.
    """
    with pytest.MonkeyPatch.context() as mp:
        if Path(request.path).resolve().parent == TESTS_DIR:
            mp.setenv(ENV_VAR, "1")
        yield


def cifar_dir():
    """Return the directory of the CIFAR-10 batches, or None when none is on this machine."""
    for candidate in (os.environ.get("CIFAR10_DIR"), REPO_ROOT / "datasets" / "cifar-10-batches-py", SHARED_CIFAR_DIR):
        if candidate and (Path(candidate) / "data_batch_1").is_file():
            return Path(candidate)
    return None


@pytest.fixture
def cifar10_dir():
    """Path of the CIFAR-10 batches; skips the test when the data is absent."""
    path = cifar_dir()
    if path is None:
        pytest.skip("CIFAR-10 batches not found (run datasets/get_datasets.sh)")
    return path


@pytest.fixture
def rng():
    """A seeded generator so every test draws the same numbers on every run."""
    return np.random.default_rng(231)
