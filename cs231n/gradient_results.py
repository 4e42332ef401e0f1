"""What a gradient check found: the thresholds, the findings, the result object and the verdict rule.

``cs231n.gradient_check`` returns ``GradCheckResult`` objects; ``cs231n.gradient_diagnosis`` fills
them in. Every number a verdict depends on is in ``THRESHOLDS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

THRESHOLDS = {
    "pass": 1e-7,  # rel_error below this: PASS (what a correct float64 gradient gives)
    "fail": 1e-3,  # rel_error at or above this: FAIL, unless every disagreeing entry is explained
    "entry": 1e-3,  # an entry disagrees when |a - n| > this x max(|a| + |n|, the floor below)
    "floor": 1e-3,  # entries smaller than this fraction of the largest entry are compared to that fraction
    "pattern": 1e-3,  # a pattern (ratio, transpose, ...) fits when no entry is off by more than this x the largest
    "ratio": 1e-3,  # a fitted ratio counts as "not 1" when |ratio - 1| exceeds this
    "noise": 20.0,  # rounding noise of a numerical entry: this many float64 eps x |f(x)| / step
}
MAX_WORST = 5  # worst entries listed in a result
PASS, WARN, FAIL = "PASS", "WARN", "FAIL"

# Findings that are not bugs, and the verdict each allows on its own.
HARMLESS = {"noise": PASS, "kink": WARN, "unstable": WARN, "grey_zone": WARN, "float32": WARN}


@dataclass
class Diagnosis:
    """One finding about a gradient: a short code, a one-line summary, and what to look at."""

    code: str  # e.g. "ratio", "sign", "transposed", "kink", "float32", "mutates_input"
    summary: str  # one line, for tables
    advice: str = ""  # what it probably means and where to look

    @property
    def is_bug(self):
        """True unless the finding is harmless: rounding noise, a kink, an unstable or grey entry, float32."""
        return self.code not in HARMLESS


@dataclass
class Entry:
    """One entry of the gradient: its index, both values, their relative error and what re-measuring found."""

    index: tuple
    analytic: float
    numeric: float
    rel_error: float
    note: str = ""  # "kink", "unstable" or "wrong" once re-measured; "" when it was not


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
            f"{THRESHOLDS['fail']:.0e} or above, WARN in between; a diagnosis can overrule the number)",
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
            lines.append(f"    {'index':<16}{'analytic':>14}{'numeric':>14}{'rel. error':>12}  re-measured")
            for e in self.worst:
                lines.append(
                    f"    {str(e.index):<16}{e.analytic:>14.6g}{e.numeric:>14.6g}{e.rel_error:>12.2e}  {e.note or '-'}"
                )
        return "\n".join(lines)

    __str__ = report


def verdict(err, diagnoses):
    """PASS / WARN / FAIL: any bug is a FAIL; harmless findings alone give their own verdict; else the number.

    Parameters
    ----------
    err : float
        The relative error (nan when nothing was compared).
    diagnoses : list of Diagnosis

    Returns
    -------
    str
    """
    if any(d.is_bug for d in diagnoses):
        return FAIL
    if diagnoses:
        return WARN if any(HARMLESS[d.code] == WARN for d in diagnoses) else PASS
    if err < THRESHOLDS["pass"]:
        return PASS
    return WARN if err < THRESHOLDS["fail"] else FAIL  # written so that a nan error is a FAIL


def relative_errors(x, y):
    """Entrywise ``|x - y| / max(1e-8, |x| + |y|)``: CS231n's relative error before its max."""
    return np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))


def worst_entries(a, n, notes=None):
    """The ``MAX_WORST`` entries with the largest relative error, worst first, with their notes."""
    errs = relative_errors(a, n)
    out = []
    for flat in np.argsort(errs, axis=None, kind="stable")[::-1][:MAX_WORST]:
        ix = tuple(int(i) for i in np.unravel_index(flat, a.shape))
        note = (notes or {}).get(ix, "")
        out.append(Entry(ix, float(a[ix]), float(n[ix]), float(errs[ix]), note))
    return out
