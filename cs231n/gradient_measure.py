"""Measuring a gradient numerically for a check, and what the function returns.

``Measure`` holds the function of a check around its point x. It calls f twice at x before anything
else (are the two values the same? did f change x?), then gives the centered differences of every
entry with x perturbed in place and restored (no copy per evaluation), and re-measures a single
entry with smaller steps and from both sides (``classify``). The helpers at the top check what f
returns; ``cs231n.gradient_check`` uses them too.
"""

from __future__ import annotations

import numbers

import numpy as np

from .gradient_results import THRESHOLDS

EPS = float(np.finfo(np.float64).eps)
STEPS = (1, 10, 100)  # an entry is re-measured with the steps h, h/10 and h/100


# ----------------------------------------------------------------------------------------------
# What f returns
# ----------------------------------------------------------------------------------------------


def function_name(f):
    """How to call ``f`` in a message: its qualified name, else its repr."""
    return getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)


def describe(value):
    """A few words on what a function returned, e.g. 'a float64 array of shape (3,)' or 'a tuple of 2 items'."""
    if value is None:
        return "None"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {value.shape}"
    return f"a {type(value).__name__}"


def require_scalar(value, f):
    """Return ``value`` when it is a real number (a Python number or a 0-d array), else raise ValueError.

    The message names ``f`` and what it returned.
    """
    if isinstance(value, (tuple, list)):
        hint = " (a loss and its gradient? take the loss alone, as in lambda v: loss(v, y)[0])"
    elif isinstance(value, np.ndarray) and value.ndim > 0:
        hint = " (to check an array-valued function, give its upstream gradient df)"
    elif isinstance(value, (numbers.Real, np.ndarray, np.number)) and np.isrealobj(value):
        if np.issubdtype(np.asarray(value).dtype, np.number):
            return value
        hint = ""
    else:
        hint = ""
    raise ValueError(f"f must return a scalar, but f ({function_name(f)}) returned {describe(value)}{hint}")


def require_output_like(value, df, f):
    """Return ``value`` as an array when it has ``df``'s shape, else raise ValueError naming both shapes."""
    if isinstance(value, tuple):
        raise ValueError(
            f"f must return an array shaped like df {df.shape}, but f ({function_name(f)}) returned "
            f"{describe(value)} (a layer's (out, cache)? take out alone, as in lambda v: forward(v)[0])"
        )
    out = np.asarray(value)
    if out.shape != df.shape:
        raise ValueError(f"df has shape {df.shape} but f(x) returned shape {out.shape} (f is {function_name(f)})")
    if not np.issubdtype(out.dtype, np.number) or np.iscomplexobj(out):
        raise ValueError(f"f must return real numbers, but f ({function_name(f)}) returned {describe(value)}")
    return out


def _change(u, v):
    """How much two evaluations at the same x differ: 0.0 when equal up to rounding, else the largest change."""
    u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
    if np.array_equal(u, v, equal_nan=True):
        return 0.0
    finite = np.isfinite(u) & np.isfinite(v)
    if not np.array_equal(np.isfinite(u), np.isfinite(v)) or not finite.any():
        return float("inf")
    big = float(np.max(np.abs(u[finite] - v[finite])))
    scale = float(np.max(np.abs(u[finite]) + np.abs(v[finite])))
    return big if big > 1e3 * EPS * scale else 0.0


# ----------------------------------------------------------------------------------------------
# The function of a check around x
# ----------------------------------------------------------------------------------------------


class Measure:
    """The function of a check around its point ``x``: g(x) = f(x), or sum(f(x) * df) when df is given.

    Creating it calls f twice at x. Then ``change`` is how much the two values differ (0.0: f is
    deterministic), ``mutates`` whether f changed x (x is then restored after every later call),
    ``out0`` what f returned, ``low_precision`` whether x or f(x) is float32 or narrower.

    Parameters
    ----------
    f : callable
        Takes x, returns a scalar (``df is None``) or an array shaped like ``df``.
    x : ndarray, float
        The point; perturbed in place and always restored.
    df : ndarray or None
        Upstream gradient of an array-valued f.
    h : float
        Step of the centered differences.
    """

    def __init__(self, f, x, df, h):
        self.f, self.x, self.df, self.h = f, x, df, h
        saved = x.copy()
        first = f(x)
        first_kept = np.array(first, copy=True) if isinstance(first, np.ndarray) else first
        self.mutates = not np.array_equal(x, saved, equal_nan=True)
        x[...] = saved
        second = f(x)
        # An output that is a view of x, or the same buffer twice, must be copied before x moves again.
        self.copy_out = df is not None and (
            not isinstance(second, np.ndarray) or second is first or np.may_share_memory(second, x)
        )
        self.out0 = self._validated(np.array(second, copy=True) if self.copy_out else second)
        self.mutates = self.mutates or not np.array_equal(x, saved, equal_nan=True)
        x[...] = saved
        self.change = _change(self._validated(first_kept), self.out0)
        out_dtype = np.asarray(self.out0).dtype
        self.low_precision = any(np.issubdtype(t, np.floating) and t.itemsize < 8 for t in (x.dtype, out_dtype))
        if df is None:
            self.magnitude = abs(float(self.out0))
        else:
            self.magnitude = float(np.sum(np.abs(self.out0 * df))) if np.all(np.isfinite(self.out0)) else np.inf

    def _validated(self, value):
        if self.df is None:
            return require_scalar(value, self.f)
        return require_output_like(value, self.df, self.f)

    def _call(self):
        """f at the current x, restoring x afterwards when f mutates it, copying the output when needed."""
        saved = self.x.copy() if self.mutates else None
        out = self.f(self.x)
        if self.copy_out:
            out = np.array(out, copy=True)
        if self.mutates:
            self.x[...] = saved
        return out

    def _delta(self, pos, neg):
        """g(pos) - g(neg) for two outputs of f."""
        return pos - neg if self.df is None else float(np.vdot(pos - neg, self.df))

    def noise(self, step):
        """The rounding noise of a slope measured with ``step``: a few float64 eps of |g(x)| over the step."""
        return THRESHOLDS["noise"] * EPS * self.magnitude / step

    def gradient(self):
        """Centered differences (g(x + h e_i) - g(x - h e_i)) / 2h for every entry i, as a float64 array."""
        x, h = self.x, self.h
        grad = np.zeros(x.shape, dtype=np.float64)
        for ix in np.ndindex(x.shape):
            old = x[ix]
            x[ix] = old + h
            pos = self._call()
            x[ix] = old - h
            neg = self._call()
            x[ix] = old
            grad[ix] = self._delta(pos, neg) / (2 * h)
        return grad

    def slopes(self, ix, step):
        """The left, centered and right slopes of g along entry ``ix``, measured with ``step``."""
        x = self.x
        old = x[ix]
        x[ix] = old + step
        right_step = float(x[ix]) - float(old)  # the step x actually took, rounding included
        pos = self._call()
        x[ix] = old - step
        left_step = float(old) - float(x[ix])
        neg = self._call()
        x[ix] = old
        self._repeats = _change(self._call(), self.out0) == 0.0  # f(x) once more: the same value?
        self._last_central = self._delta(pos, neg) / (2 * step)  # computed as in ``gradient``
        right = self._delta(pos, self.out0) / right_step
        left = self._delta(self.out0, neg) / left_step
        return left, (left + right) / 2, right

    def classify(self, ix, a, n, floor):
        """What re-measuring entry ``ix`` says: "kink", "unstable", "wrong" or "nondeterministic".

        The entry is measured with steps h, h/10 and h/100, from the left, centered and from the
        right. First, f(x) must repeat at every step and the centered difference with step h must
        come out exactly as ``gradient`` gave it (``n``); if not, f is "nondeterministic". Then:

        - ``a`` agrees with the same kind of slope at two consecutive steps (say from the left with
          h and h/10) -> "kink": the entry is right, a kink or a sharp bend lies within the step on
          the other side;
        - the two sides still differ, by the same jump, at the two smallest steps -> "kink": f is not
          differentiable at x itself, where any one-sided choice is fine;
        - otherwise "wrong" when the centered slope is the same at two consecutive steps (a stable
          measurement that ``a`` misses), else "unstable" (the numerical value moves with the step).

        Parameters
        ----------
        ix : tuple
            The entry.
        a, n : float
            The analytic gradient there, and the numerical one ``gradient`` gave.
        floor : float
            Entries are compared with at least ``floor`` as their size (see THRESHOLDS["floor"]).
        """
        seen = []
        for k in STEPS:
            step = self.h / k
            slopes = self.slopes(ix, step)
            if not self._repeats or (k == 1 and abs(self._last_central - n) > self.noise(step)):
                return "nondeterministic"
            if seen and any(
                self.agree(a, before, floor, seen[-1][0]) and self.agree(a, now, floor, step)
                for before, now in zip(seen[-1][1], slopes)
            ):
                return "kink"
            seen.append((step, slopes))
        (s1, (l1, _, r1)), (s2, (l2, _, r2)) = seen[1], seen[2]
        jump1, jump2 = abs(l1 - r1), abs(l2 - r2)
        if not self.agree(l1, r1, floor, s1) and not self.agree(l2, r2, floor, s2) and 0.5 <= jump2 / jump1 <= 2:
            return "kink"
        stable = any(self.agree(u[1][1], v[1][1], floor, v[0]) for u, v in zip(seen, seen[1:]))
        return "wrong" if stable else "unstable"

    def agree(self, u, v, floor, step):
        """Whether two slope values agree: within THRESHOLDS["entry"] of their size, or within rounding noise."""
        return abs(u - v) <= max(THRESHOLDS["entry"] * max(abs(u) + abs(v), floor), self.noise(step))
