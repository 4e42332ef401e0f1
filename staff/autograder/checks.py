"""What the grading tests share: point/visibility marks and the comparisons (run in the trusted process).

Every comparison uses this process's own numpy, which student code never touches, and raises an
AssertionError whose message is the whole explanation a student sees (no traceback, no values that
would give the expected answer away).
"""

import numpy as np
import pytest


def graded(function, points, hidden=False):
    """Marks for a grading test: the student function it grades, its points, and its visibility.

    Parameters
    ----------
    function : str
        The student function (the per-function total groups by it), e.g. ``"affine_forward"``.
    points : float
        Points for passing.
    hidden : bool
        Hidden tests are shown to students only after the due date.

    Returns
    -------
    marks : list of pytest marks
    """
    return [
        pytest.mark.student_function(function),
        pytest.mark.points(points),
        pytest.mark.visibility("after_due_date" if hidden else "visible"),
    ]


def case(*values, function, points, hidden=False, id=None):
    """One ``pytest.param`` of a parametrized grading test, with the marks of :func:`graded`."""
    return pytest.param(*values, marks=graded(function, points, hidden), id=id)


def assert_close(what, got, expected, rtol=1e-6, atol=1e-8):
    """Assert that ``got`` (from student code) is a finite array equal to ``expected`` within tolerance.

    Parameters
    ----------
    what : str
        Name of the value in the failure message, e.g. ``"dx of affine_backward"``.
    got : object
        Plain data returned by the student process.
    expected : ndarray or float
        The reference value.
    rtol, atol : float
        Tolerances of ``np.allclose``.
    """
    expected = np.asarray(expected, dtype=np.float64)
    if isinstance(got, (tuple, list, dict, str)) or got is None:
        raise AssertionError(f"{what} should be an array of shape {expected.shape}, got a {type(got).__name__}")
    got = np.asarray(got)
    if got.dtype.kind not in "biuf":
        raise AssertionError(f"{what} should hold real numbers, got dtype {got.dtype}")
    if got.shape != expected.shape:
        raise AssertionError(f"{what} has shape {got.shape}, expected {expected.shape}")
    got = got.astype(np.float64)
    if not np.all(np.isfinite(got)):
        raise AssertionError(f"{what} holds NaN or inf")
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        err = np.max(np.abs(got - expected) / np.maximum(1e-8, np.abs(got) + np.abs(expected)))
        raise AssertionError(f"{what} differs from the expected values (largest relative error {err:.1e})")


def unpack(what, value, n):
    """Return ``value`` as a tuple of ``n`` items, or fail saying what was returned instead."""
    if not isinstance(value, (tuple, list)) or len(value) != n:
        kind = f"{len(value)} values" if isinstance(value, (tuple, list)) else f"a {type(value).__name__}"
        raise AssertionError(f"{what} should return {n} values, got {kind}")
    return tuple(value)


def assert_same_keys(what, got, expected):
    """Assert that ``got`` is a dict with exactly the keys of ``expected``."""
    if not isinstance(got, dict):
        raise AssertionError(f"{what} should be a dict, got a {type(got).__name__}")
    if set(got) != set(expected):
        raise AssertionError(f"{what} has keys {sorted(got)}, expected {sorted(expected)}")
