"""Numerical gradients, ``rel_error``, and a gradient check that explains what went wrong.

The first four functions are the CS231n ones, with the same signatures, defaults and printing:

- ``eval_numerical_gradient(f, x, verbose=True, h=1e-5)``: gradient of a scalar function.
- ``eval_numerical_gradient_array(f, x, df, h=1e-5)``: gradient of ``sum(f(x) * df)``.
- ``grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5)``: a few random entries.
- ``rel_error(x, y)``: ``max(|x - y| / max(1e-8, |x| + |y|))``.

Beyond CS231n, ``check_gradient`` compares an analytic gradient with the numerical one and
returns a ``GradCheckResult``: the relative error, the worst entries, a verdict (PASS / WARN /
FAIL) and a diagnosis of the pattern of disagreement (a constant ratio such as a missing ``/N``,
a sign flip, a transposed gradient, an extra term proportional to the parameter such as a
regularization gradient counted twice, errors confined to some rows or to a mask, a kink within
``h`` of the input, float32 inputs, a function that mutates its input). ``check_layer`` does it
for every input of a ``forward``/``backward`` pair and ``check_model`` for every parameter of a
model with ``params`` and ``loss(X, y)``. Print a result (or call ``report()``) to read it.

Thresholds (one place: ``THRESHOLDS``), after the CS231n notes' folklore on relative errors:
below 1e-7 is PASS (what a correct float64 gradient gives), 1e-3 and above is FAIL (wrong), and
in between is WARN (suspicious: normal near kinks of ReLU or hinge, too high for smooth functions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from random import randrange

import numpy as np

# The single place for every number the verdict and the diagnosis depend on.
THRESHOLDS = {
    "pass": 1e-7,  # rel_error below this: PASS
    "fail": 1e-3,  # rel_error at or above this: FAIL; an entry this far off is a "bad" entry
    "pattern": 1e-3,  # a pattern (ratio, transpose, ...) fits when its residual is this small vs the scale
    "ratio": 1e-3,  # a fitted ratio counts as "not 1" when |ratio - 1| exceeds this
    "kink": 1e-2,  # one-sided slopes that differ by this fraction reveal a kink within h
}
MAX_WORST = 5  # worst entries listed in a result
MAX_KINK_PROBES = 20  # bad entries probed for a kink (three function calls each)
PASS, WARN, FAIL = "PASS", "WARN", "FAIL"


# ----------------------------------------------------------------------------------------------
# The CS231n functions
# ----------------------------------------------------------------------------------------------


def _check_float_array(x, name):
    """Raise ValueError unless ``x`` is a floating-point numpy array (it gets perturbed in place)."""
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(x).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{name} must have a floating dtype to be perturbed by h, got {x.dtype}")


def _check_h(h):
    if not (np.isfinite(h) and h > 0):
        raise ValueError(f"h must be a positive finite step, got {h!r}")


def eval_numerical_gradient(f, x, verbose=True, h=1e-5):
    """Numerical gradient of a scalar function by centered differences.

    Each entry of ``x`` is moved to ``x + h`` and ``x - h`` in place and restored afterwards, so
    ``f`` may ignore its argument and read ``x`` through a closure (as in ``lambda _: model.loss(X, y)[0]``).

    Parameters
    ----------
    f : callable
        Takes the array ``x`` and returns a scalar.
    x : ndarray, any shape (d_1, ..., d_k), floating
        The point at which to differentiate; restored on return.
    verbose : bool
        Print every index and its gradient entry, as CS231n does.
    h : float
        Step of the centered difference.

    Returns
    -------
    grad : ndarray, shape (d_1, ..., d_k)
        ``(f(x + h e_i) - f(x - h e_i)) / (2h)`` for every entry i.
    """
    _check_float_array(x, "x")
    _check_h(h)
    f(x)  # CS231n evaluates f once at x first; kept so a seeded f draws the same numbers
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + h
        fxph = f(x)
        x[ix] = oldval - h
        fxmh = f(x)
        x[ix] = oldval
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Numerical gradient of ``sum(f(x) * df)`` for an array-valued ``f``, by centered differences.

    This is how a layer's backward is checked: ``df`` plays the upstream gradient ``dout``.

    Parameters
    ----------
    f : callable
        Takes the array ``x`` and returns an array of the shape of ``df``.
    x : ndarray, shape (d_1, ..., d_k), floating
        The point at which to differentiate; restored on return.
    df : ndarray, shape of ``f(x)``
        Upstream gradient.
    h : float
        Step of the centered difference.

    Returns
    -------
    grad : ndarray, shape (d_1, ..., d_k)
        ``sum((f(x + h e_i) - f(x - h e_i)) * df) / (2h)`` for every entry i.
    """
    _check_float_array(x, "x")
    _check_h(h)
    df = np.asarray(df)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + h
        pos = np.array(f(x), copy=True)
        x[ix] = oldval - h
        neg = np.array(f(x), copy=True)
        x[ix] = oldval
        if pos.shape != df.shape:
            raise ValueError(f"df has shape {df.shape} but f(x) returned shape {pos.shape}")
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5):
    """Compare ``analytic_grad`` with the numerical gradient at ``num_checks`` random entries.

    Entries are drawn with Python's ``random.randrange`` (seed it with ``random.seed``), one line
    is printed per entry as in CS231n: ``numerical: ... analytic: ..., relative error: ...``.

    Parameters
    ----------
    f : callable
        Takes the array ``x`` and returns a scalar.
    x : ndarray, shape (d_1, ..., d_k), floating
        The point; restored on return.
    analytic_grad : ndarray, shape (d_1, ..., d_k)
        The gradient to check.
    num_checks : int
        Number of random entries.
    h : float
        Step of the centered difference.

    Returns
    -------
    errors : list of float, length num_checks
        The relative error of each checked entry.
    """
    _check_float_array(x, "x")
    _check_h(h)
    if np.shape(analytic_grad) != x.shape:
        raise ValueError(f"analytic_grad has shape {np.shape(analytic_grad)} but x has shape {x.shape}")
    errors = []
    for _ in range(num_checks):
        ix = tuple(randrange(m) for m in x.shape)
        oldval = x[ix]
        x[ix] = oldval + h
        fxph = f(x)
        x[ix] = oldval - h
        fxmh = f(x)
        x[ix] = oldval
        grad_numerical = (fxph - fxmh) / (2 * h)
        grad_analytic = analytic_grad[ix]
        # The 1e-8 floor only matters when both are exactly zero, where CS231n would print nan.
        err = _relative_errors(grad_numerical, grad_analytic)
        print(f"numerical: {grad_numerical:f} analytic: {grad_analytic:f}, relative error: {err:e}")
        errors.append(float(err))
    return errors


def rel_error(x, y):
    """Maximum relative error ``max(|x - y| / max(1e-8, |x| + |y|))`` over all entries.

    Parameters
    ----------
    x, y : ndarray, same shape (or broadcastable)

    Returns
    -------
    float
    """
    return float(np.max(_relative_errors(x, y)))


def _relative_errors(x, y):
    """Entrywise ``|x - y| / max(1e-8, |x| + |y|)``, the one formula behind every relative error here."""
    return np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))


# ----------------------------------------------------------------------------------------------
# The structured check
# ----------------------------------------------------------------------------------------------


@dataclass
class Diagnosis:
    """One finding about a gradient: a short code, a one-line summary, and what to look at."""

    code: str  # e.g. "ratio", "sign", "transposed", "kink", "float32", "mutates_input"
    summary: str  # one line, for tables
    advice: str = ""  # what it probably means and where to look

    @property
    def is_bug(self):
        """True unless the finding is harmless (a kink, rounding noise, a grey zone) or stops the comparison.

        float32 inputs stop the comparison.
        """
        return self.code not in ("kink", "float32", "grey_zone", "noise")


@dataclass
class Entry:
    """One entry of the gradient: its index and both values."""

    index: tuple
    analytic: float
    numeric: float
    rel_error: float


@dataclass
class GradCheckResult:
    """What a gradient check found. ``print(result)`` explains it in plain words.

    Attributes
    ----------
    function : str
        What was checked (e.g. ``"affine_backward"``).
    param : str
        With respect to which input or parameter (e.g. ``"w"``).
    rel_error : float
        ``rel_error(analytic, numeric)``; nan when no comparison was possible.
    verdict : str
        ``"PASS"``, ``"WARN"`` or ``"FAIL"``.
    diagnoses : list of Diagnosis
        Empty for a clean pass.
    worst : list of Entry
        The entries that disagree most (at most ``MAX_WORST``).
    shape : tuple
        Shape of the checked input.
    dtype : str
        Its dtype.
    h : float
        Step of the numerical gradient.
    """

    function: str
    param: str
    rel_error: float
    verdict: str
    diagnoses: list = field(default_factory=list)
    worst: list = field(default_factory=list)
    shape: tuple = ()
    dtype: str = "float64"
    h: float = 1e-5

    @property
    def passed(self):
        """True unless the verdict is FAIL."""
        return self.verdict != FAIL

    @property
    def codes(self):
        """The diagnosis codes, in order."""
        return [d.code for d in self.diagnoses]

    def diagnosis_summary(self):
        """All diagnosis summaries on one line ("-" when there is none)."""
        return "; ".join(d.summary for d in self.diagnoses) or "-"

    def report(self):
        """A plain-words explanation: what was compared, the number, the verdict, what it means."""
        err = "not computed" if np.isnan(self.rel_error) else f"{self.rel_error:.2e}"
        lines = [
            f"Gradient check of {self.function} with respect to {self.param} (shape {self.shape}, {self.dtype})",
            "  Compared: your analytic gradient against a numerical one from centered differences "
            f"(f(x+h) - f(x-h)) / 2h with h = {self.h:g}.",
            f"  Relative error: {err}   (the largest |analytic - numeric| / (|analytic| + |numeric|) over all entries)",
            f"  Verdict: {self.verdict}   (PASS below {THRESHOLDS['pass']:.0e}, FAIL at "
            f"{THRESHOLDS['fail']:.0e} or above, WARN in between)",
        ]
        if self.diagnoses:
            lines.append("  What it probably means:")
            for d in self.diagnoses:
                lines.append(f"    - {d.summary}")
                if d.advice:
                    lines.append(f"      {d.advice}")
        elif self.verdict == PASS:
            lines.append("  The two gradients agree: this gradient is right.")
        if self.worst and self.verdict != PASS:
            lines.append("  Worst entries:")
            lines.append(f"    {'index':<16}{'analytic':>14}{'numeric':>14}{'rel. error':>12}")
            for e in self.worst:
                lines.append(f"    {str(e.index):<16}{e.analytic:>14.6g}{e.numeric:>14.6g}{e.rel_error:>12.2e}")
        return "\n".join(lines)

    __str__ = report


def _close(u, v, tol):
    """True when ``u`` and ``v`` agree to ``tol`` relative to the larger of their magnitudes."""
    scale = max(np.max(np.abs(u)), np.max(np.abs(v)), 1e-300)
    return bool(np.max(np.abs(u - v)) <= tol * scale)


def _entry_errors(a, n):
    """Per-entry relative error; entries far below the gradient's scale are compared to 1e-3 of it.

    The floor keeps tiny entries (where the numerical gradient is mostly rounding noise) from
    counting as "bad".
    """
    scale = max(np.max(np.abs(a)), np.max(np.abs(n)), 1e-8)
    return np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), 1e-3 * scale)


def _worst_entries(a, n):
    errs = _relative_errors(a, n)
    order = np.argsort(errs, axis=None)[::-1][:MAX_WORST]
    out = []
    for flat in order:
        ix = np.unravel_index(flat, a.shape)
        ix = tuple(int(i) for i in ix)
        out.append(Entry(ix, float(a[ix]), float(n[ix]), float(errs[ix])))
    return out


def _is_near(value, target, tol=0.02):
    return abs(value - target) <= tol * max(abs(target), 1.0)


def _ratio_diagnosis(r, batch_size):
    """Name a constant ratio analytic / numeric and its usual cause."""
    if batch_size and batch_size > 1 and _is_near(r, batch_size):
        return Diagnosis(
            "ratio",
            f"analytic = {r:.4g} x numeric: forgot to divide by N = {batch_size}",
            "The loss averages over the N examples of the batch, so every gradient term must be "
            "divided by N too. Look for the missing / N (or a sum where the loss takes a mean).",
        )
    if batch_size and batch_size > 1 and _is_near(r, 1.0 / batch_size, tol=1e-3):
        return Diagnosis(
            "ratio",
            f"analytic = numeric / {1 / r:.4g}: divided by N = {batch_size} once too often",
            "The gradient is N times too small: it is divided by N twice, or divided where the loss is a sum.",
        )
    if _is_near(r, 2.0, tol=1e-3):
        return Diagnosis(
            "ratio",
            "analytic = 2 x numeric: a factor 2 too many",
            "Typical causes: a term counted twice (e.g. the regularization gradient added twice), "
            "or the 0.5 of 0.5 * reg * sum(W**2) forgotten in the gradient (it is reg * W), or a "
            "gradient accumulated twice with +=.",
        )
    if _is_near(r, 0.5, tol=1e-3):
        return Diagnosis(
            "ratio",
            "analytic = 0.5 x numeric: half the gradient is missing",
            "Typical causes: an extra 0.5 in the gradient, or only one of two paths that use the "
            "same value adds its gradient (a copy gate must add the gradients of both uses).",
        )
    rounded = round(r)
    if abs(r) > 1 and _is_near(r, rounded, tol=1e-3):
        return Diagnosis(
            "ratio",
            f"analytic = {rounded} x numeric: a constant factor {rounded} too many",
            f"A missing division by {rounded} (the batch size? a number of terms?) or a term counted {rounded} times.",
        )
    return Diagnosis(
        "ratio",
        f"analytic = {r:.4g} x numeric: off by a constant factor",
        "The shape of the gradient is right but its scale is not: look for a missing or extra "
        "constant (a step size, alpha, a 1/N, a 0.5).",
    )


def _extra_term_diagnosis(c, reg):
    """Name a difference analytic - numeric that equals c times the checked parameter."""
    head = f"analytic - numeric = {c:.4g} x the parameter itself"
    if reg:
        if _is_near(c, reg, tol=1e-2):
            return Diagnosis(
                "regularization",
                "regularization gradient counted twice (2 * reg * W instead of reg * W)",
                f"{head}, i.e. reg * W too much. With the loss 0.5 * reg * sum(W**2) the "
                "regularization gradient is reg * W: the 0.5 was dropped or the term added twice.",
            )
        if _is_near(c, -reg, tol=1e-2):
            return Diagnosis(
                "regularization",
                "regularization gradient missing (no reg * W in the gradient)",
                f"{head}, i.e. reg * W too little. The loss has 0.5 * reg * sum(W**2), so its "
                "gradient needs + reg * W.",
            )
        if _is_near(c, -reg / 2, tol=1e-2):
            return Diagnosis(
                "regularization",
                "regularization gradient is half (0.5 * reg * W instead of reg * W)",
                f"{head}. The derivative of 0.5 * reg * W**2 is reg * W: the 0.5 cancels the 2.",
            )
    return Diagnosis(
        "regularization",
        f"extra term {c:.4g} * param in the gradient (regularization?)",
        f"{head}. A term proportional to the parameter is usually the regularization gradient; "
        "with the loss 0.5 * reg * sum(W**2) it must be exactly reg * W.",
    )


def _kink_probe(g, x, ix, h, a):
    """Whether ``g`` has a kink within ``h`` of ``x`` along entry ``ix`` that explains ``a``.

    Compares the one-sided slopes left and right of x: for a smooth function they agree to O(h),
    at a kink they differ by the jump of the derivative. The analytic value ``a`` must lie on or
    between them (a one-sided derivative is a valid choice there; anything else is a bug).
    """
    oldval = x[ix]
    g0 = g(x)
    x[ix] = oldval + h
    gp = g(x)
    x[ix] = oldval - h
    gm = g(x)
    x[ix] = oldval
    right, left = (gp - g0) / h, (g0 - gm) / h
    size = max(abs(right) + abs(left), 1e-8)
    if abs(right - left) <= THRESHOLDS["kink"] * size:
        return False
    slack = THRESHOLDS["kink"] * size
    return min(left, right) - slack <= a <= max(left, right) + slack


def _diagnose(a, n, x, g, h, batch_size, reg):
    """Diagnoses for an analytic gradient ``a`` against the numerical ``n`` (same shape as x)."""
    if _close(a, n, THRESHOLDS["pass"]):
        return [
            Diagnosis(
                "noise",
                "rounding noise on near-zero entries (not a bug)",
                "Measured against the gradient's largest entry the two agree to better than "
                f"{THRESHOLDS['pass']:.0e}; the large relative error sits on entries so close "
                "to zero that the numerical gradient there is rounding noise.",
            )
        ]
    if not np.any(a):
        return [
            Diagnosis(
                "zero",
                "your gradient is all zeros",
                "Nothing flows back: the result was probably never assigned (a stub's "
                "np.zeros_like left as it is) or a mask blocks everything.",
            )
        ]
    if not np.any(n):
        return [
            Diagnosis(
                "mask",
                "the true gradient is zero here but yours is not",
                "This input does not change the output at all, yet the analytic "
                "gradient is non-zero: it flows where it should be blocked.",
            )
        ]
    if _close(a, -n, THRESHOLDS["pattern"]):
        return [
            Diagnosis(
                "sign",
                "sign flipped: analytic = -numeric",
                "Every entry has the right size and the wrong sign: look for a minus "
                "sign (d(-x) = -dx, subtracting instead of adding, x - y vs y - x).",
            )
        ]
    r = float(np.sum(a * n) / np.sum(n * n))
    if abs(r - 1) > THRESHOLDS["ratio"] and _close(a, r * n, THRESHOLDS["pattern"]):
        if r < 0:
            return [
                Diagnosis(
                    "sign",
                    f"sign flipped and scaled: analytic = {r:.4g} x numeric",
                    "A minus sign and a constant factor are both off.",
                )
            ]
        return [_ratio_diagnosis(r, batch_size)]
    if a.ndim == 2 and a.shape[0] == a.shape[1] and a.shape[0] > 1 and _close(a, n.T, THRESHOLDS["pattern"]):
        return [_transposed_diagnosis(a.shape, n.shape)]
    diff = a - n
    xx = float(np.sum(x * x))
    if xx > 0 and x.size > 1:
        c = float(np.sum(diff * x) / xx)
        if c != 0 and _close(diff, c * x, THRESHOLDS["pattern"]) and np.ptp(x) > 0:
            return [_extra_term_diagnosis(c, reg)]
    if reg and np.any(n - reg * x):
        # With the reg * W part taken out of both, the data-loss parts may differ by a ratio (a missing /N).
        a_data, n_data = a - reg * x, n - reg * x
        r = float(np.sum(a_data * n_data) / np.sum(n_data * n_data))
        if abs(r - 1) > THRESHOLDS["ratio"] and _close(a_data, r * n_data, THRESHOLDS["pattern"]):
            d = _ratio_diagnosis(r, batch_size)
            return [
                Diagnosis(
                    d.code, "data-loss part: " + d.summary, d.advice + " The regularization part reg * W is right."
                )
            ]
    return _diagnose_entries(a, n, x, g, h)


def _transposed_diagnosis(a_shape, n_shape):
    return Diagnosis(
        "transposed",
        f"transposed: your gradient is the transpose of the true one ({a_shape} vs {n_shape})",
        "The values are right but rows and columns are swapped. For y = x @ w the gradients are "
        "dx = dout @ w.T and dw = x.T @ dout: check the order and the .T in your products.",
    )


def _diagnose_entries(a, n, x, g, h):
    """Findings when only some entries disagree: kinks, a mask, some rows, or scattered entries."""
    e = _entry_errors(a, n)
    bad = e >= THRESHOLDS["fail"]
    nbad = int(bad.sum())
    out = []
    if nbad == 0:
        # Grey zone: no single entry is badly off; a kink often explains it.
        worst = [tuple(int(i) for i in np.unravel_index(k, a.shape)) for k in np.argsort(e, axis=None)[::-1][:3]]
        kinks = [ix for ix in worst if _kink_probe(g, x, ix, h, a[ix])]
        if kinks:
            return [_kink_diagnosis(len(kinks), kinks)]
        return [
            Diagnosis(
                "grey_zone",
                "small disagreement, no clear pattern",
                "Fine for functions with kinks (ReLU, max, hinge); too high for smooth ones "
                "(sigmoid, tanh, softmax): then re-check the worst entries below.",
            )
        ]
    bad_ix = [tuple(int(i) for i in ix) for ix in np.argwhere(bad)]
    bad_ix.sort(key=lambda ix: -e[ix])
    kinks = [ix for ix in bad_ix[:MAX_KINK_PROBES] if _kink_probe(g, x, ix, h, a[ix])]
    if kinks and len(kinks) == nbad:
        return [_kink_diagnosis(nbad, bad_ix)]
    if kinks:
        out.append(_kink_diagnosis(len(kinks), kinks))
        for ix in kinks:
            bad[ix] = False
        nbad = int(bad.sum())
    total = a.size
    scale = max(np.max(np.abs(a)), np.max(np.abs(n)))
    tiny = 1e-6 * scale
    zero_a = (np.abs(a) <= tiny) & (np.abs(n) > tiny)
    zero_n = (np.abs(n) <= tiny) & (np.abs(a) > tiny)
    one_zero = int((bad & (zero_a | zero_n)).sum())
    if a.ndim >= 2 and a.shape[0] > 1:
        rows = bad.reshape(a.shape[0], -1)
        bad_rows = np.flatnonzero(rows.any(axis=1))
        # A row bug spoils most of its row and leaves the other rows intact.
        if len(bad_rows) < a.shape[0] and rows[bad_rows].mean() >= 0.5:
            shown = ", ".join(str(int(i)) for i in bad_rows[:10])
            out.append(
                Diagnosis(
                    "rows",
                    f"errors confined to rows [{shown}] of {a.shape[0]}",
                    "All other rows agree. In x or the scores, row i is example i: look for code that "
                    "treats some examples differently (a loop bound, an off-by-one, indexing with y). "
                    "In a weight matrix, row i belongs to input feature i.",
                )
            )
            return out
    if one_zero >= 0.8 * nbad:
        blocked, leaked = int((bad & zero_a).sum()), int((bad & zero_n).sum())
        out.append(
            Diagnosis(
                "mask",
                f"wrong mask: {nbad} of {total} entries, where one gradient is zero and the other "
                f"is not ({blocked} blocked, {leaked} let through)",
                "The gradient is blocked where it should flow, or flows where it should be blocked. "
                "Check the mask in your backward: a ReLU passes dout exactly where its forward input "
                "was > 0 (use the cached input, not dout or the output of another layer).",
            )
        )
        return out
    if nbad == total:
        out.append(
            Diagnosis(
                "no_pattern",
                "wrong everywhere, no simple pattern",
                "No entry agrees and no simple pattern (scale, sign, transpose, mask) fits: re-derive the "
                "gradient step by step and check each intermediate with its own gradient check.",
            )
        )
    else:
        shown = ", ".join(str(ix) for ix in bad_ix[:5])
        out.append(
            Diagnosis(
                "entries",
                f"{nbad} of {total} entries disagree (e.g. {shown}); the rest agree",
                "The formula is right for most entries: look at what is special about these (an index, "
                "a case distinction, the correct class y_i, a boundary).",
            )
        )
    return out


def _kink_diagnosis(count, where):
    shown = " at " + ", ".join(str(ix) for ix in where[:5])
    return Diagnosis(
        "kink",
        f"kink: {count} entr{'y' if count == 1 else 'ies'} within h of a kink{shown} (not a bug)",
        "There the function is not differentiable (ReLU at 0, max, hinge at margin 0): the "
        "numerical gradient averages the slopes on both sides while yours picks one. This is "
        "expected; move the input away from 0 or use a smaller h if you want a clean check.",
    )


def _scalar_fn(f, df):
    """The scalar function whose gradient is checked: f itself, or sum(f(x) * df)."""
    if df is None:
        return f
    return lambda v: float(np.sum(np.asarray(f(v)) * df))


def _restoring(f):
    """Wrap ``f`` so that whatever it does to its argument is undone before the next call."""

    def g(v):
        saved = v.copy()
        out = f(v)
        out = out.copy() if isinstance(out, np.ndarray) else out  # f may return a view of v
        v[...] = saved
        return out

    return g


def _refused_float32(function, param, x):
    return GradCheckResult(
        function,
        param,
        float("nan"),
        WARN,
        [
            Diagnosis(
                "float32",
                f"{x.dtype} input: gradient checks need float64, not compared",
                "In float32, f(x+h) - f(x-h) with h = 1e-5 loses almost all its digits, so the "
                "numerical gradient is noise. Cast with x.astype(np.float64) (for a net: "
                "dtype=np.float64) and check again.",
            )
        ],
        shape=x.shape,
        dtype=str(x.dtype),
    )


def _mutation_diagnosis(what):
    return Diagnosis(
        "mutates_input",
        f"mutates its input: {what}",
        "A layer must never change its arguments in place (x[x < 0] = 0, dout *= ..., "
        "x -= ...): the caller still needs them. Work on a copy or build a new array "
        "(np.maximum(x, 0), dout * mask).",
    )


def check_gradient(f, x, analytic_grad, df=None, h=1e-5, function="f", param="x", batch_size=None, reg=None):
    """Compare an analytic gradient with the numerical one and diagnose any disagreement.

    Parameters
    ----------
    f : callable
        Takes ``x`` and returns a scalar (``df is None``) or an array shaped like ``df``. It may
        ignore its argument and read ``x`` through a closure, as in CS231n.
    x : ndarray, shape (d_1, ..., d_k), float64
        The point; it is perturbed in place and restored. float32 is refused (WARN, not compared).
    analytic_grad : ndarray, shape (d_1, ..., d_k)
        The gradient to check: of ``f`` itself, or of ``sum(f(x) * df)``.
    df : ndarray or None, shape of ``f(x)``
        Upstream gradient for an array-valued ``f``.
    h : float
        Step of the centered difference.
    function, param : str
        Names used in the report (e.g. ``"affine_backward"``, ``"w"``).
    batch_size : int or None
        N, so that a ratio of N can be named "forgot to divide by N".
    reg : float or None
        Regularization strength, so that an extra ``reg * W`` can be named.

    Returns
    -------
    GradCheckResult
    """
    _check_float_array(x, "x")
    _check_h(h)
    if np.finfo(x.dtype).bits < 64:
        return _refused_float32(function, param, x)
    diagnoses = []
    g = _scalar_fn(f, df)
    before = x.copy()
    g(x)
    if not np.array_equal(x, before, equal_nan=True):
        diagnoses.append(_mutation_diagnosis(f"{param} changed when the function was called"))
        x[...] = before
    g_safe = _restoring(g)
    if df is None:
        numeric = eval_numerical_gradient(_restoring(f), x, verbose=False, h=h)
    else:
        numeric = eval_numerical_gradient_array(_restoring(f), x, df, h=h)
    result = GradCheckResult(function, param, float("nan"), FAIL, diagnoses, shape=x.shape, dtype=str(x.dtype), h=h)
    a = analytic_grad
    if a is None:
        diagnoses.append(
            Diagnosis(
                "missing", "no gradient returned (None)", "The backward pass must return a gradient for every input."
            )
        )
        return result
    a = np.asarray(a)
    if a.shape != numeric.shape:
        if a.ndim == 2 and a.shape == numeric.shape[::-1] and _close(a.T, numeric, THRESHOLDS["pattern"]):
            diagnoses.append(_transposed_diagnosis(a.shape, numeric.shape))
        elif a.size == numeric.size and _close(a.reshape(numeric.shape), numeric, THRESHOLDS["pattern"]):
            diagnoses.append(
                Diagnosis(
                    "wrong_shape",
                    f"shape {a.shape} instead of {numeric.shape}; values right after a reshape",
                    f"Return the gradient in the input's shape: dx.reshape(x.shape) gives {numeric.shape}.",
                )
            )
        else:
            diagnoses.append(
                Diagnosis(
                    "wrong_shape",
                    f"shape {a.shape} instead of {numeric.shape}",
                    "A gradient always has the shape of the thing it differentiates.",
                )
            )
        return result
    if not np.all(np.isfinite(a)):
        diagnoses.append(
            Diagnosis(
                "nonfinite",
                "the gradient holds nan or inf",
                "Look for a division by zero, a log of 0, or exp of a large "
                "number (subtract the row max before exp in softmax).",
            )
        )
        return result
    a = a.astype(np.float64)
    result.rel_error = rel_error(a, numeric)
    result.worst = _worst_entries(a, numeric)
    if result.rel_error >= THRESHOLDS["pass"]:
        diagnoses.extend(_diagnose(a, numeric, x, g_safe, h, batch_size, reg))
    result.verdict = _verdict(result.rel_error, diagnoses)
    return result


def _verdict(err, diagnoses):
    """PASS / WARN / FAIL from the relative error, overruled by what the diagnosis found."""
    if any(d.is_bug for d in diagnoses):
        return FAIL
    if diagnoses and all(d.code == "noise" for d in diagnoses):
        return PASS
    if diagnoses and all(d.code == "kink" for d in diagnoses):
        return WARN
    if err < THRESHOLDS["pass"]:
        return PASS
    return WARN if err < THRESHOLDS["fail"] else FAIL  # written so that a nan error is a FAIL


def check_layer(forward, backward, inputs, dout=None, names=None, h=1e-5, seed=0, **kwargs):
    """Check a layer's backward for each of its inputs against numerical gradients.

    ``forward(*inputs, **kwargs) -> (out, cache)`` and ``backward(dout, cache) -> grads`` in
    input order (a single array when there is one input), the CS231n layer API.

    Parameters
    ----------
    forward, backward : callable
        The layer's pair.
    inputs : sequence of ndarray, float64
        The differentiable inputs, in argument order (e.g. ``(x, w, b)``).
    dout : ndarray or None, shape of ``out``
        Upstream gradient; drawn from a standard normal (seeded) when None.
    names : sequence of str or None
        Names of the inputs (default ``x``, ``w``, ``b``, ... for up to three, else ``x0, x1, ...``).
    h : float
        Step of the centered difference.
    seed : int
        Seed for ``dout`` when it is drawn.
    **kwargs
        Extra non-differentiable arguments of ``forward`` (e.g. ``alpha=0.01``).

    Returns
    -------
    list of GradCheckResult
        One per input, in order.
    """
    inputs = list(inputs)
    for i, v in enumerate(inputs):
        _check_float_array(v, f"inputs[{i}]")
    if names is None:
        names = ["x", "w", "b"][: len(inputs)] if len(inputs) <= 3 else [f"x{i}" for i in range(len(inputs))]
    if len(names) != len(inputs):
        raise ValueError(f"names has {len(names)} entries but inputs has {len(inputs)}")
    function = getattr(backward, "__name__", "backward")
    if any(np.finfo(v.dtype).bits < 64 for v in inputs):
        return [_refused_float32(function, nm, v) for nm, v in zip(names, inputs)]
    saved = [v.copy() for v in inputs]
    out, cache = forward(*inputs, **kwargs)
    mutated = [nm for nm, v, s in zip(names, inputs, saved) if not np.array_equal(v, s, equal_nan=True)]
    if dout is None:
        dout = np.random.default_rng(seed).standard_normal(np.shape(out))
    dout_saved = np.array(dout, copy=True)
    grads = backward(dout, cache)
    if not np.array_equal(dout, dout_saved, equal_nan=True):
        mutated.append("dout (changed by the backward pass)")
    mutated += [
        f"{nm} (changed by the backward pass)"
        for nm, v, s in zip(names, inputs, saved)
        if nm not in mutated and not np.array_equal(v, s, equal_nan=True)
    ]
    for v, s in zip(inputs, saved):
        v[...] = s
    is_seq = isinstance(grads, (tuple, list))
    if len(inputs) == 1 and not is_seq:
        grads, is_seq = (grads,), True
    count = len(grads) if is_seq else 1
    batch_size = inputs[0].shape[0] if inputs[0].ndim else None
    results = []
    for i, nm in enumerate(names):

        def f(v, i=i):
            args = [s.copy() for s in saved]
            args[i] = v.copy()  # copies: a forward that mutates its input cannot spoil the check
            return forward(*args, **kwargs)[0]

        analytic = grads[i] if is_seq and i < count else None
        res = check_gradient(
            f, saved[i].copy(), analytic, df=dout_saved, h=h, function=function, param=nm, batch_size=batch_size
        )
        if count != len(inputs):
            res.diagnoses.insert(
                0,
                Diagnosis(
                    "wrong_count",
                    f"backward returned {count} gradients for {len(inputs)} inputs",
                    "Return one gradient per input of the forward pass, in the same order.",
                ),
            )
        if mutated:
            res.diagnoses.append(_mutation_diagnosis(", ".join(mutated)))
        res.verdict = _verdict(res.rel_error, res.diagnoses)
        results.append(res)
    return results


def check_model(model, X, y, names=None, h=1e-5):
    """Check the gradients of ``model.loss(X, y)`` for each parameter in ``model.params``.

    Parameters
    ----------
    model : object
        Has ``params`` (dict of float64 arrays) and ``loss(X, y) -> (loss, grads)``, like
        ``TwoLayerNet`` and ``FullyConnectedNet``; ``model.reg`` is used when present.
    X : ndarray, shape (N, d_1, ..., d_k)
        A small batch.
    y : ndarray of int, shape (N,)
        Labels.
    names : sequence of str or None
        Parameters to check (default: all, sorted).
    h : float
        Step of the centered difference.

    Returns
    -------
    list of GradCheckResult
        One per parameter.
    """
    names = sorted(model.params) if names is None else list(names)
    X_saved = np.array(X, copy=True)
    _, grads = model.loss(X, y)
    X_mutated = not np.array_equal(X, X_saved, equal_nan=True)
    if X_mutated:
        X[...] = X_saved  # hand the caller's batch back as it was
    X = X_saved
    results = []
    for nm in names:
        res = check_gradient(
            lambda _: model.loss(X.copy(), y)[0],
            model.params[nm],
            grads.get(nm),
            h=h,
            function=f"{type(model).__name__}.loss",
            param=nm,
            batch_size=X.shape[0],
            reg=getattr(model, "reg", None),
        )
        if X_mutated:
            res.diagnoses.append(_mutation_diagnosis("X changed by loss(X, y)"))
            res.verdict = _verdict(res.rel_error, res.diagnoses)
        results.append(res)
    return results
