"""Naming the usual mistakes: the patterns an analytic gradient ``a`` can have against the numerical ``n``.

``find_pattern`` tries the global patterns in order (all zeros, a zero true gradient, a sign flip, a
constant ratio such as a missing 1/N, a constant offset, a transpose, an extra ``c * W`` term, a
ratio on the data-loss part, a sum over the wrong axis, a derivative evaluated at the input instead
of the output, values in the wrong places). ``shape_diagnosis`` names a gradient of the wrong shape.
``entries_diagnosis`` describes the entries that stay wrong when no pattern fits: some rows, a
mask, almost every entry, or a few. Each returns a ``Diagnosis`` (or None when it does not fit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .gradient_results import THRESHOLDS, Diagnosis

MAX_SHOWN = 5  # entries or rows named in a summary


@dataclass
class Context:
    """What the patterns may compare against besides the two gradients."""

    x: np.ndarray  # the point: the checked input or parameter
    df: np.ndarray | None = None  # the upstream gradient of an array-valued function
    out: np.ndarray | None = None  # f(x) of an array-valued function
    batch_size: int | None = None  # N, to name a missing / N
    reg: float | None = None  # the regularization strength, to name a wrong reg * W


def close(u, v, tol=THRESHOLDS["pattern"]):
    """True when ``u`` and ``v`` agree to ``tol`` relative to the larger of their largest entries."""
    scale = max(np.max(np.abs(u)), np.max(np.abs(v)), 1e-300)
    return bool(np.max(np.abs(u - v)) <= tol * scale)


def _near(value, target, tol=0.02):
    return abs(value - target) <= tol * max(abs(target), 1.0)


def _shown(indices):
    return ", ".join(str(ix) for ix in indices[:MAX_SHOWN]) + (", ..." if len(indices) > MAX_SHOWN else "")


# ----------------------------------------------------------------------------------------------
# Global patterns: every entry is off in the same way
# ----------------------------------------------------------------------------------------------


def find_pattern(a, n, ctx):
    """The first global pattern that fits ``a`` against ``n`` (same shape), or None."""
    for fit in (_zero, _sign, _ratio, _offset, _transposed, _extra_term, _data_part, _axis, _at_input, _permuted):
        found = fit(a, n, ctx)
        if found is not None:
            return found
    return None


def _zero(a, n, ctx):
    if not np.any(a):
        return Diagnosis(
            "zero",
            "your gradient is all zeros",
            "Nothing flows back: the result was probably never assigned (a stub's np.zeros_like left as "
            "it is) or a mask blocks everything.",
        )
    if not np.any(n):
        return Diagnosis(
            "mask",
            "the true gradient is zero here but yours is not",
            "This input does not change the output at all, yet the analytic gradient is non-zero: it "
            "flows where it should be blocked.",
        )
    return None


def _sign(a, n, ctx):
    if close(a, -n):
        return Diagnosis(
            "sign",
            "sign flipped: analytic = -numeric",
            "Every entry has the right size and the wrong sign: look for a minus sign (d(-x) = -dx, "
            "subtracting instead of adding, x - y vs y - x).",
        )
    return None


def _fitted_ratio(a, n):
    """The ratio r with a = r n when it fits and is not 1, else None."""
    r = float(np.sum(a * n) / np.sum(n * n))
    if abs(r - 1) > THRESHOLDS["ratio"] and close(a, r * n):
        return r
    return None


def _ratio(a, n, ctx):
    r = _fitted_ratio(a, n) if a.size > 1 else None
    if r is None:
        return None
    if r < 0:
        return Diagnosis(
            "sign", f"sign flipped and scaled: analytic = {r:.4g} x numeric", "A minus sign and a factor are off."
        )
    return ratio_diagnosis(r, ctx.batch_size)


def ratio_diagnosis(r, batch_size):
    """Name a constant ratio analytic / numeric and its usual cause."""
    n = batch_size if batch_size and batch_size > 1 else None
    if n and _near(r, n):
        return Diagnosis(
            "ratio",
            f"analytic = {r:.4g} x numeric: forgot to divide by N = {n}",
            "The loss averages over the N examples of the batch, so every gradient term must be divided "
            "by N too. Look for the missing / N (or a sum where the loss takes a mean).",
        )
    if n and _near(r, 1.0 / n, tol=1e-3):
        return Diagnosis(
            "ratio",
            f"analytic = numeric / {1 / r:.4g}: divided by N = {n} once too often, or a mean instead of a sum",
            "The gradient is N times too small: divided by N twice, or averaged over the examples where "
            "the loss sums them (a bias gradient is dout.sum(axis=0), not a mean).",
        )
    known = {
        2.0: ("a factor 2 too many", "a term counted twice (the regularization gradient added twice), the 0.5 of "
              "0.5 * reg * sum(W**2) forgotten in the gradient, or a gradient accumulated twice with +=."),
        0.5: ("half the gradient is missing", "an extra 0.5, or only one of two paths that use the same value adds "
              "its gradient (a copy gate adds the gradients of both uses)."),
    }  # fmt: skip
    for value, (what, causes) in known.items():
        if _near(r, value, tol=1e-3):
            return Diagnosis("ratio", f"analytic = {value:g} x numeric: {what}", f"Typical causes: {causes}")
    rounded = round(r)
    if abs(r) > 1 and _near(r, rounded, tol=1e-3):
        return Diagnosis(
            "ratio",
            f"analytic = {rounded} x numeric: a constant factor {rounded} too many",
            f"A missing division by {rounded} (the batch size? a number of terms?) or a term counted {rounded} times.",
        )
    return Diagnosis(
        "ratio",
        f"analytic = {r:.4g} x numeric: off by a constant factor",
        "The shape of the gradient is right but its scale is not: look for a missing or extra constant "
        "(a step size, alpha, a 1/N, a 0.5).",
    )


def _offset(a, n, ctx):
    d = a - n
    c = float(np.mean(d))
    scale = max(np.max(np.abs(a)), np.max(np.abs(n)))
    if a.size < 2 or abs(c) <= THRESHOLDS["pattern"] * scale:
        return None
    if np.max(np.abs(d - c)) > THRESHOLDS["pattern"] * scale:
        return None
    return Diagnosis(
        "offset",
        f"analytic = numeric {'+' if c > 0 else '-'} {abs(c):.4g} on every entry: a constant added to every entry",
        "The same number is added to the whole gradient: a scalar where an array belongs (e.g. + reg "
        "instead of + reg * W, a - 1 on every class instead of only the correct one y_i, a bias "
        "broadcast into every entry).",
    )


def transposed_diagnosis(a_shape, n_shape):
    """Name a gradient that is the transpose of the true one."""
    return Diagnosis(
        "transposed",
        f"transposed: your gradient is the transpose of the true one ({a_shape} vs {n_shape})",
        "The values are right but rows and columns are swapped. For y = x @ w the gradients are "
        "dx = dout @ w.T and dw = x.T @ dout: check the order and the .T in your products.",
    )


def _transposed(a, n, ctx):
    if a.ndim == 2 and a.shape[0] == a.shape[1] > 1 and close(a, n.T):
        return transposed_diagnosis(a.shape, n.shape)
    return None


def _extra_term(a, n, ctx):
    """a - n = c x for the point x itself: a term proportional to the parameter (regularization)."""
    x = ctx.x
    xx = float(np.sum(x * x))
    if x.size < 2 or xx == 0 or np.ptp(x) == 0:
        return None
    c = float(np.sum((a - n) * x) / xx)
    if c == 0 or not close(a - n, c * x):
        return None
    head = f"analytic - numeric = {c:.4g} x the parameter itself"
    reg = ctx.reg
    cases = [
        (reg, "regularization gradient counted twice (2 * reg * W instead of reg * W)",
         "i.e. reg * W too much. With the loss 0.5 * reg * sum(W**2) the regularization gradient is "
         "reg * W: the 0.5 was dropped or the term added twice."),
        (-reg if reg else None, "regularization gradient missing (no reg * W in the gradient)",
         "i.e. reg * W too little. The loss has 0.5 * reg * sum(W**2), so its gradient needs + reg * W."),
        (-reg / 2 if reg else None, "regularization gradient is half (0.5 * reg * W instead of reg * W)",
         "The derivative of 0.5 * reg * W**2 is reg * W: the 0.5 cancels the 2."),
    ]  # fmt: skip
    for target, summary, advice in cases:
        if target and _near(c, target, tol=1e-2):
            return Diagnosis("regularization", summary, f"{head}, {advice}")
    return Diagnosis(
        "regularization",
        f"extra term {c:.4g} * param in the gradient (regularization?)",
        f"{head}. A term proportional to the parameter is usually the regularization gradient; with the "
        "loss 0.5 * reg * sum(W**2) it must be exactly reg * W.",
    )


def _data_part(a, n, ctx):
    """With a correct reg * W taken out of both, the data-loss parts may differ by a ratio (a missing / N)."""
    reg, x = ctx.reg, ctx.x
    if not reg or not np.any(n - reg * x):
        return None
    r = _fitted_ratio(a - reg * x, n - reg * x)
    if r is None:
        return None
    d = ratio_diagnosis(r, ctx.batch_size)
    return Diagnosis(d.code, "data-loss part: " + d.summary, d.advice + " The regularization part reg * W is right.")


def _axis(a, n, ctx):
    """a is dout reduced over another axis than the one the true gradient sums over (a bias gradient)."""
    D = ctx.df
    if D is None or D.ndim < 2:
        return None
    right = [k for k in range(D.ndim) if D.sum(axis=k).shape == n.shape and close(D.sum(axis=k), n)]
    if not right:
        return None
    for k in range(D.ndim):
        for how, reduced in (("summed", D.sum(axis=k)), ("averaged", D.mean(axis=k))):
            wrong = how == "averaged" or k not in right
            if wrong and reduced.shape == a.shape and close(reduced, a):
                return Diagnosis(
                    "axis",
                    f"dout {how} over axis {k} instead of {'' if how == 'summed' else 'summed '}over axis {right[0]}",
                    f"Your gradient is dout {how} over axis {k}; the true one sums dout over axis "
                    f"{right[0]}{' (the N examples)' if right[0] == 0 else ''}. Check the axis= of your sum.",
                )
    return None


# (name, derivative written with the output v = f(x)) of the elementwise layers whose cache is the output.
DERIVATIVES = (
    ("sigmoid", "out * (1 - out)", lambda v: v * (1 - v)),
    ("tanh", "1 - out**2", lambda v: 1 - v**2),
    ("exp", "out", lambda v: v),
)


def _at_input(a, n, ctx):
    """An elementwise derivative written for the output but evaluated at the input."""
    D, x, out = ctx.df, ctx.x, ctx.out
    if D is None or out is None or out.shape != x.shape:
        return None
    for name, text, derivative in DERIVATIVES:
        if close(n, D * derivative(out)) and close(a, D * derivative(x)):
            return Diagnosis(
                "at_input",
                f"derivative evaluated at the input: {text} computed with x instead of out = {name}(x)",
                f"The derivative of {name} is {text} with out = {name}(x), the forward's output (what the "
                "cache should hold); your code puts the input x where out belongs.",
            )
    return None


def _permuted(a, n, ctx):
    """The right values in the wrong places: a reshape in the wrong order, rows mixed up."""
    if a.size < 2 or close(a, n) or not close(np.sort(a, axis=None), np.sort(n, axis=None)):
        return None
    how = "the right values in the wrong places"
    if a.ndim >= 2 and a.shape[0] > 1:
        rows_n = n.reshape(a.shape[0], -1)
        if close(a.reshape(-1), rows_n.T.reshape(-1)):
            how = "the right values in the wrong order: an (N, D) array transposed before the reshape"
        elif _rows_permuted(a.reshape(a.shape[0], -1), rows_n):
            how = "the right rows in the wrong order"
    return Diagnosis(
        "permuted",
        f"entries permuted: {how}",
        "Every value is right but sits at another index. Look at the reshapes: reshape the (N, D) array "
        "back to x.shape directly (no .T before it, no order='F'), and keep the examples in their order.",
    )


def _rows_permuted(a_rows, n_rows):
    if len(a_rows) > 200:
        return False
    used = set()
    for row in a_rows:
        match = next((j for j, m in enumerate(n_rows) if j not in used and close(row, m)), None)
        if match is None:
            return False
        used.add(match)
    return True


# ----------------------------------------------------------------------------------------------
# A gradient of the wrong shape
# ----------------------------------------------------------------------------------------------


def shape_diagnosis(a, n, ctx):
    """Name a gradient whose shape differs from the input's: a transpose, a missing reshape, a wrong axis."""
    if a.ndim == 2 and a.shape == n.shape[::-1] and close(a.T, n):
        return transposed_diagnosis(a.shape, n.shape)
    if a.size == n.size and close(a.reshape(n.shape), n):
        return Diagnosis(
            "wrong_shape",
            f"shape {a.shape} instead of {n.shape}; values right after a reshape",
            f"Return the gradient in the input's shape: dx.reshape(x.shape) gives {n.shape}.",
        )
    axis = _axis(a, n, ctx)
    if axis is not None:
        axis.summary += f" (shape {a.shape} instead of {n.shape})"
        return axis
    return Diagnosis(
        "wrong_shape",
        f"shape {a.shape} instead of {n.shape}",
        "A gradient always has the shape of what it differentiates.",
    )


# ----------------------------------------------------------------------------------------------
# No global pattern: which entries stay wrong
# ----------------------------------------------------------------------------------------------


def entries_diagnosis(a, n, bad, examples):
    """Describe the entries that stay wrong (``bad``, a boolean mask) when no global pattern fits.

    Parameters
    ----------
    a, n : ndarray, same shape
        Analytic and numerical gradient (kinks already replaced by the analytic value).
    bad : ndarray of bool, same shape
        The entries that disagree and were not explained by re-measuring.
    examples : list of tuple
        Entries confirmed wrong by re-measuring, worst first: the only ones named.
    """
    nbad, total = int(bad.sum()), a.size
    for fit in (_rows, _mask):
        found = fit(a, n, bad)
        if found is not None:
            return found
    eg = f" (e.g. {_shown(examples)})" if examples else ""
    if nbad == total:
        return Diagnosis("no_pattern", "every entry disagrees, no simple pattern", _REDERIVE)
    if nbad >= 0.9 * total:
        return Diagnosis(
            "no_pattern", f"almost every entry disagrees ({nbad} of {total}), no simple pattern", _REDERIVE
        )
    if 2 * nbad > total:
        return Diagnosis(
            "entries",
            f"most entries disagree: {nbad} of {total}{eg}",
            "More entries are wrong than right, and no simple pattern fits: re-derive the gradient "
            "step by step and check each intermediate with its own gradient check.",
        )
    return Diagnosis(
        "entries",
        f"{nbad} of {total} entries disagree{eg}; the rest agree",
        "The formula is right for most entries: look at what is special about these (an index, a case "
        "distinction, the correct class y_i, a boundary).",
    )


_REDERIVE = (
    "No simple pattern (scale, sign, offset, transpose, axis, mask, permutation) fits: re-derive the "
    "gradient step by step and check each intermediate with its own gradient check."
)


def _rows(a, n, bad):
    """Errors confined to some rows, most of each such row wrong."""
    if a.ndim < 2 or a.shape[0] < 2:
        return None
    rows = bad.reshape(a.shape[0], -1)
    bad_rows = np.flatnonzero(rows.any(axis=1))
    if len(bad_rows) == a.shape[0] or rows[bad_rows].mean() < 0.5:
        return None
    return Diagnosis(
        "rows",
        f"errors confined to rows [{_shown([int(i) for i in bad_rows])}] of {a.shape[0]}",
        "All other rows agree. In x or the scores, row i is example i: look for code that treats some "
        "examples differently (a loop bound, an off-by-one, indexing with y). In a weight matrix, row i "
        "belongs to input feature i.",
    )


def _mask(a, n, bad):
    """Wrong entries where one gradient is zero and the other is not."""
    scale = max(np.max(np.abs(a)), np.max(np.abs(n)))
    tiny = 1e-6 * scale
    zero_a = (np.abs(a) <= tiny) & (np.abs(n) > tiny)
    zero_n = (np.abs(n) <= tiny) & (np.abs(a) > tiny)
    nbad = int(bad.sum())
    if int((bad & (zero_a | zero_n)).sum()) < 0.8 * nbad:
        return None
    blocked, leaked = int((bad & zero_a).sum()), int((bad & zero_n).sum())
    return Diagnosis(
        "mask",
        f"wrong mask: {nbad} of {a.size} entries, where one gradient is zero and the other is not "
        f"({blocked} blocked, {leaked} let through)",
        "The gradient is blocked where it should flow, or flows where it should be blocked. Check the "
        "mask in your backward: a ReLU passes dout exactly where its forward input was > 0 (use the "
        "cached input, not dout or the output of another layer).",
    )
