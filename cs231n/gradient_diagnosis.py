"""The diagnosis behind ``check_gradient``, ``check_layer`` and ``check_model`` of ``cs231n.gradient_check``.

A check (``check_one``) goes in this order:

1. f is called twice at x. Two different values: f is not deterministic (FAIL; nothing else is
   compared, since a numerical gradient of a random function means nothing). A changed x: f
   mutates its input (FAIL; x is restored after every later call, so the gradient is still checked).
2. A nan or inf in f(x), the analytic gradient or the numerical one is a FAIL in any dtype, and
   so is a missing gradient or one of the wrong shape.
3. float32 (or narrower) inputs or outputs are not compared: the numerical gradient is noise there.
4. The numerical gradient by centered differences, x perturbed in place; then ``rel_error`` and,
   at or above the PASS threshold, the diagnosis (``diagnose``).

The rule for a wrong entry, the same everywhere: an entry disagrees when |a - n| exceeds
THRESHOLDS["entry"] times max(|a| + |n|, a floor of THRESHOLDS["floor"] times the largest entry) and
the rounding noise of the numerical gradient. It is wrong only if it still disagrees when
re-measured from both sides and with smaller steps (``Measure.classify``); otherwise it sits at a
kink (not a bug). The patterns of ``cs231n.gradient_patterns`` are fitted with the kinks taken out,
and only entries confirmed wrong are named as examples.
"""

from __future__ import annotations

import numpy as np

from .gradient_measure import Measure, describe, function_name
from .gradient_patterns import Context, entries_diagnosis, find_pattern, shape_diagnosis
from .gradient_results import FAIL, THRESHOLDS, Diagnosis, GradCheckResult, relative_errors, verdict, worst_entries

MAX_REMEASURED = 200  # suspect entries re-measured at most (nine function calls each when wrong)
ENOUGH_WRONG = 8  # re-measuring stops once this many entries are confirmed wrong


def check_one(f, x, analytic, df=None, h=1e-5, function="f", param="x", batch_size=None, reg=None, prior=()):
    """Check ``analytic`` against the numerical gradient of f at x (arguments as in ``check_gradient``).

    ``prior`` holds findings of the caller (a wrong number of gradients, a mutated argument); they
    come first and count in the verdict. ``x`` is perturbed in place and restored.

    Returns
    -------
    GradCheckResult
    """
    result = GradCheckResult(function, param, float("nan"), FAIL, list(prior), shape=x.shape, dtype=str(x.dtype), h=h)
    result.diagnoses += _compare(f, x, analytic, df, h, batch_size, reg, result)
    result.verdict = verdict(result.rel_error, result.diagnoses)
    return result


def _compare(f, x, analytic, df, h, batch_size, reg, result):
    """The findings of one check, in the order of the module docstring; fills in rel_error and worst."""
    m = Measure(f, x, df, h)
    found = [mutation_diagnosis(f"{result.param} changed when the function was called")] if m.mutates else []
    if m.change:
        return found + [_nondeterministic(m.change)]
    if not np.all(np.isfinite(m.out0)):
        return found + [_nonfinite(_nonfinite_values("f(x)", m.out0), m)]
    if analytic is None:
        return found + [Diagnosis("missing", "no gradient returned (None)", "Return a gradient for every input.")]
    try:
        a = np.asarray(analytic, dtype=np.float64)
    except (TypeError, ValueError):
        return found + [Diagnosis("wrong_type", f"the gradient is {describe(analytic)}, not an array of numbers")]
    numeric = m.gradient()
    ctx = Context(x, df, m.out0 if df is not None else None, batch_size, reg)
    if a.shape != numeric.shape:
        return found + [shape_diagnosis(a, numeric, ctx)]
    for values, what in ((a, "your gradient"), (numeric, "the numerical gradient")):
        if not np.all(np.isfinite(values)):
            return found + [_nonfinite(_nonfinite_values(what, values), m)]
    if m.low_precision:
        return found + [_float32(x, m)]
    result.rel_error = float(np.max(relative_errors(a, numeric)))
    notes = {}
    if result.rel_error >= THRESHOLDS["pass"]:
        found += diagnose(a, numeric, m, ctx, notes)
    if "nondeterministic" in notes.values():
        result.rel_error = float("nan")  # the numerical gradient of a random function means nothing
    else:
        result.worst = worst_entries(a, numeric, notes)
    return found


def diagnose(a, n, m, ctx, notes):
    """Findings for an analytic gradient ``a`` against the numerical ``n`` (same shape, finite, float64).

    ``notes`` receives what re-measuring found at each re-measured entry ("kink", "unstable", "wrong").
    """
    scale = max(np.max(np.abs(a)), np.max(np.abs(n)))
    noise = m.noise(m.h)
    diff = np.abs(a - n)
    if np.all(diff <= max(THRESHOLDS["pass"] * scale, noise)):
        return [_noise(noise)]
    floor = THRESHOLDS["floor"] * scale
    tol = np.maximum(THRESHOLDS["entry"] * np.maximum(np.abs(a) + np.abs(n), floor), noise)
    suspect = diff > tol
    if not suspect.any():
        return [_grey_zone(a, n, m, diff)]
    flat = np.flatnonzero(suspect)
    flat = flat[np.argsort(-(diff / tol).ravel()[flat], kind="stable")]  # the worst first
    order = [tuple(int(i) for i in np.unravel_index(k, a.shape)) for k in flat]
    wrong = 0
    for ix in order[:MAX_REMEASURED]:
        notes[ix] = m.classify(ix, float(a[ix]), float(n[ix]), floor)
        if notes[ix] == "nondeterministic":
            return [_nondeterministic(None)]
        wrong += notes[ix] == "wrong"
        if wrong >= ENOUGH_WRONG:
            break
    harmless = _harmless(notes)
    explained = [ix for ix, note in notes.items() if note != "wrong"]
    bad = suspect.copy()
    fixed = n.copy()
    for ix in explained:
        bad[ix], fixed[ix] = False, a[ix]
    if not bad.any():
        return harmless
    examples = [ix for ix in order if notes.get(ix) == "wrong"]
    return [find_pattern(a, fixed, ctx) or entries_diagnosis(a, fixed, bad, examples)] + harmless


def _harmless(notes):
    """The kink and unstable findings among the re-measured entries."""
    out = []
    kinks = [ix for ix, note in notes.items() if note == "kink"]
    if kinks:
        out.append(kink_diagnosis(kinks))
    unstable = [ix for ix, note in notes.items() if note == "unstable"]
    if unstable:
        shown = ", ".join(str(ix) for ix in unstable[:5])
        out.append(
            Diagnosis(
                "unstable",
                f"{len(unstable)} entr{'y' if len(unstable) == 1 else 'ies'} too noisy to check at {shown} (not a bug)",
                "There the numerical gradient changes with the step (rounding noise in f, or kinks on both "
                "sides): it can neither confirm nor refute your value.",
            )
        )
    return out


def kink_diagnosis(where):
    """Entries that agree once re-measured from one side or with a smaller step: a kink, not a bug."""
    count = len(where)
    shown = ", ".join(str(ix) for ix in where[:5])
    return Diagnosis(
        "kink",
        f"kink: {count} entr{'y' if count == 1 else 'ies'} within h of a kink at {shown} (not a bug)",
        "There the function is not differentiable (ReLU at 0, max, hinge at margin 0) or bends sharply: "
        "the centered difference mixes the slopes of both sides, while your value agrees with the slope "
        "measured from one side or with a smaller step. Expected; move the input away from the kink for "
        "a clean check.",
    )


def _noise(noise):
    return Diagnosis(
        "noise",
        "rounding noise on near-zero entries (not a bug)",
        f"Every difference is below {THRESHOLDS['pass']:.0e} of the gradient's largest entry or below the "
        f"rounding noise of the numerical gradient ({noise:.1e} here): the large relative error sits on "
        "entries so close to zero that the numerical gradient there is rounding noise.",
    )


def _grey_zone(a, n, m, diff):
    """No entry disagrees, yet the error is above PASS: a kink when the worst entry agrees with one side."""
    ix = tuple(int(i) for i in np.unravel_index(np.argmax(diff), a.shape))
    left, central, right = m.slopes(ix, m.h)
    if min(abs(a[ix] - left), abs(a[ix] - right)) <= 0.1 * abs(a[ix] - central):
        return kink_diagnosis([ix])
    return Diagnosis(
        "grey_zone",
        "small disagreement, no clear pattern",
        "Fine for functions with kinks (ReLU, max, hinge); too high for smooth ones (sigmoid, tanh, "
        "softmax): then re-check the worst entries below.",
    )


def _nondeterministic(change):
    """f gave two values at the same input: by ``change`` at x, or (None) at x + h e_i when re-measured."""
    what = "f(x)" if change is not None else "f(x + h e_i)"
    by = f"by up to {change:.2g}; " if change is not None else ""
    return Diagnosis(
        "nondeterministic",
        f"the function is not deterministic: {what} changed between two calls with the same input "
        f"({by}an unseeded random mask?)",
        "A numerical gradient needs the same f(x) every time. Fix the randomness for the check (seed "
        "inside the function, or draw a dropout mask once and reuse it), then check again; nothing was "
        "compared.",
    )


def _nonfinite_values(what, values):
    """'f(x) is nan' or 'your gradient holds nan or inf at 2 of 12 entries, e.g. (0, 1)'."""
    values = np.asarray(values)
    if values.ndim == 0:
        return f"{what} is {float(values)}"
    where = [tuple(int(i) for i in ix) for ix in np.argwhere(~np.isfinite(values))]
    kinds = " or ".join(sorted({"nan" if np.isnan(values[ix]) else "inf" for ix in where}))
    return f"{what} holds {kinds} at {len(where)} of {values.size} entries, e.g. {where[0]}"


def _nonfinite(summary, m):
    extra = (
        " In float32 this happens sooner (exp of anything above 88 is inf): it is a bug to fix, not a "
        "precision problem, and casting to float64 would only hide it."
        if m.low_precision
        else ""
    )
    return Diagnosis(
        "nonfinite",
        summary + (" (in float32)" if m.low_precision else ""),
        "Look for a division by zero, a log of 0, or exp of a large number (subtract the row max before exp "
        "in softmax)." + extra,
    )


def _float32(x, m):
    what = f"{x.dtype} input" if x.dtype.itemsize < 8 else f"{np.asarray(m.out0).dtype} output of f"
    return Diagnosis(
        "float32",
        f"{what}: gradient checks need float64, not compared",
        "In float32, f(x+h) - f(x-h) with h = 1e-5 loses almost all its digits, so the numerical gradient is "
        "noise. Cast with x.astype(np.float64) (for a net: dtype=np.float64) and check again.",
    )


def mutation_diagnosis(what):
    """A function that changes its arguments in place."""
    return Diagnosis(
        "mutates_input",
        f"mutates its input: {what}",
        "A layer must never change its arguments in place (x[x < 0] = 0, dout *= ..., x -= ...): the caller "
        "still needs them. Work on a copy or build a new array (np.maximum(x, 0), dout * mask).",
    )


# ----------------------------------------------------------------------------------------------
# Layers and models: call once, see what changed, then check each input or parameter
# ----------------------------------------------------------------------------------------------


def check_layer_inputs(forward, backward, inputs, dout, names, h, seed, kwargs):
    """The work of ``check_layer`` (arguments already validated): one result per input."""
    saved = [v.copy() for v in inputs]
    out, cache = _forward(forward, inputs, kwargs)
    by_forward = _changed(names, inputs, saved)
    if dout is None:
        dout = np.random.default_rng(seed).standard_normal(np.shape(out))
    elif np.shape(dout) != np.shape(out):
        raise ValueError(f"dout has shape {np.shape(dout)} but the forward's output has shape {np.shape(out)}")
    dout = np.array(dout, dtype=np.float64, copy=True)
    dout_given = dout.copy()
    grads = backward(dout, cache)
    mutated = by_forward + ["dout (changed by the backward pass)"] * (not np.array_equal(dout, dout_given))
    mutated += [f"{nm} (changed by the backward pass)" for nm in _changed(names, inputs, saved) if nm not in by_forward]
    for v, s in zip(inputs, saved):
        if not np.array_equal(v, s, equal_nan=True):
            v[...] = s  # the caller's inputs back as they were
    if len(inputs) == 1 and not isinstance(grads, (tuple, list)):
        grads = [grads]
    grads = list(grads) if isinstance(grads, (tuple, list)) else [grads]
    prior = [mutation_diagnosis(", ".join(mutated))] if mutated else []
    if len(grads) != len(inputs):
        prior.insert(0, _wrong_count(len(grads), len(inputs)))
    results = []
    for i, nm in enumerate(names):
        f = _layer_function(forward, saved, i, kwargs, copy_others=bool(by_forward))
        analytic = grads[i] if i < len(grads) else None
        batch = inputs[0].shape[0] if inputs[0].ndim else None
        results.append(
            check_one(f, saved[i].copy(), analytic, dout_given, h, function_name(backward), nm, batch, None, prior)
        )
    return results


def _changed(names, inputs, saved):
    """The names of the inputs that no longer equal their saved copies."""
    return [nm for nm, v, s in zip(names, inputs, saved) if not np.array_equal(v, s, equal_nan=True)]


def _wrong_count(count, expected):
    return Diagnosis(
        "wrong_count",
        f"backward returned {count} gradients for {expected} inputs",
        "Return one gradient per input of the forward pass, in the same order.",
    )


def _forward(forward, inputs, kwargs):
    returned = forward(*inputs, **kwargs)
    if not (isinstance(returned, tuple) and len(returned) == 2):
        raise ValueError(
            f"forward must return (out, cache), but {function_name(forward)} returned {describe(returned)}"
        )
    return returned


def _layer_function(forward, saved, i, kwargs, copy_others):
    """f(v) = the forward's output with input i set to v; the other inputs copied per call only if forward mutates."""

    def f(v):
        args = [s.copy() for s in saved] if copy_others else list(saved)
        args[i] = v
        return forward(*args, **kwargs)[0]

    f.__qualname__ = f"{function_name(forward)} (output, as a function of input {i})"
    return f


def check_model_params(model, X, y, names, h):
    """The work of ``check_model`` (arguments already validated): one result per parameter."""
    kind = type(model).__name__
    X_saved = np.array(X, copy=True)
    returned = model.loss(X, y)
    if not (isinstance(returned, tuple) and len(returned) == 2 and isinstance(returned[1], dict)):
        raise ValueError(f"model.loss(X, y) must return (loss, grads) with grads a dict, got {describe(returned)}")
    grads = returned[1]
    X_mutated = not np.array_equal(X, X_saved, equal_nan=True)
    if X_mutated:
        X[...] = X_saved  # hand the caller's batch back as it was
    prior = [mutation_diagnosis("X changed by loss(X, y)")] if X_mutated else []

    def f(_):
        return model.loss(X_saved.copy() if X_mutated else X_saved, y)[0]

    f.__qualname__ = f"{kind}.loss"
    reg = getattr(model, "reg", None)
    reg = float(reg) if isinstance(reg, (int, float, np.number)) else None
    return [
        check_one(f, model.params[nm], grads.get(nm), None, h, f"{kind}.loss", nm, X_saved.shape[0], reg, prior)
        for nm in names
    ]
