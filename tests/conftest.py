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

# The staff source holds the release tooling next to tests; the student kit built from it does not.
STAFF_SOURCE = (REPO_ROOT / "staff").is_dir()


def pytest_configure(config):
    config.pluginmanager.register(FunctionTable(REPO_ROOT), "function-table")


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="also run the tests marked slow in the student kit")


def pytest_collection_modifyitems(config, items):
    """In the student kit, skip the tests marked slow unless --run-slow is given.

    They are thorough checks of the given code (many random draws) that take far longer than the rest
    of the suite together; the staff source, and so CI, always runs them.
    """
    if STAFF_SOURCE or config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="marked slow: a thorough check of the given code; run it with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


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
