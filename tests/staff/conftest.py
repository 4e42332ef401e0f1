"""Fixtures of the staff tests: they run the kit as it is, beside those of tests/conftest.py."""

import pytest


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    """Train with the kit's own thread choice: the public tests' single BLAS thread stops here."""
