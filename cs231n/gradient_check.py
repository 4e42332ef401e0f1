"""Numerical gradients and gradient checks.

The first four functions are the CS231n ones, with the same signatures, defaults, printing and numbers:

- ``eval_numerical_gradient(f, x, verbose=True, h=1e-5)``: gradient of a scalar function.
- ``eval_numerical_gradient_array(f, x, df, h=1e-5)``: gradient of ``sum(f(x) * df)``.
- ``grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5)``: a few random entries.
- ``rel_error(x, y)``: ``max(|x - y| / max(1e-8, |x| + |y|))``.

Then the structured check, which also says *why* a gradient is wrong: ``check_gradient`` for a
function and its gradient, ``check_layer`` for every input of a ``forward``/``backward`` pair,
``check_model`` for every parameter of a model. Each returns ``GradCheckResult`` objects with the
relative error, a verdict (PASS below 1e-7, FAIL at 1e-3 or above, WARN in between, unless the
diagnosis overrules the number) and the diagnosis; ``print(result)`` explains it in plain words.
The diagnosis itself lives in ``cs231n/gradient_diagnosis.py``.
"""

import numbers
from random import randrange

import numpy as np

from .gradient_diagnosis import check_layer_inputs, check_model_params, check_one
from .gradient_measure import require_output_like, require_scalar
from .gradient_results import FAIL, PASS, THRESHOLDS, WARN, Diagnosis, GradCheckResult, relative_errors

__all__ = [
    "eval_numerical_gradient",
    "eval_numerical_gradient_array",
    "grad_check_sparse",
    "rel_error",
    "check_gradient",
    "check_layer",
    "check_model",
    "GradCheckResult",
    "Diagnosis",
    "THRESHOLDS",
    "PASS",
    "WARN",
    "FAIL",
]


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
    _check_arguments(f, x, h)
    require_scalar(f(x), f)  # CS231n evaluates f once at x first, so a seeded f draws the same numbers
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
    _check_arguments(f, x, h)
    df = _number_array(df, "df")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + h
        pos = require_output_like(f(x), df, f).copy()
        x[ix] = oldval - h
        neg = np.array(f(x), copy=True)
        x[ix] = oldval
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
    _check_arguments(f, x, h)
    analytic_grad = _number_array(analytic_grad, "analytic_grad")
    if analytic_grad.shape != x.shape:
        raise ValueError(f"analytic_grad has shape {analytic_grad.shape} but x has shape {x.shape}")
    if not isinstance(num_checks, numbers.Integral) or num_checks < 0:
        raise ValueError(f"num_checks must be a whole number >= 0, got {num_checks!r}")
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
        # The 1e-8 floor of rel_error only matters when both are exactly zero, where CS231n would print nan.
        err = relative_errors(grad_numerical, grad_analytic)
        print(f"numerical: {grad_numerical:f} analytic: {grad_analytic:f}, relative error: {err:e}")
        errors.append(float(err))
    return errors


def rel_error(x, y):
    """Maximum relative error ``max(|x - y| / max(1e-8, |x| + |y|))`` over all entries.

    Parameters
    ----------
    x, y : ndarray or number, same shape (a single number may stand for every entry)

    Returns
    -------
    float
    """
    x, y = _number_array(x, "x"), _number_array(y, "y")
    if x.shape != y.shape and x.ndim and y.ndim:
        raise ValueError(
            f"rel_error compares arrays of the same shape, got x of shape {x.shape} and y of shape {y.shape}"
        )
    if x.size == 0 or y.size == 0:
        raise ValueError(f"rel_error of empty arrays is undefined (x has shape {x.shape}, y has shape {y.shape})")
    return float(np.max(relative_errors(x, y)))


def _check_arguments(f, x, h):
    """Raise ValueError naming the argument unless f is callable, x a writable float array and h a step."""
    if not callable(f):
        raise ValueError(f"f must be a function of x, got {type(f).__name__}")
    if not isinstance(x, np.ndarray):
        raise ValueError(f"x must be a numpy array, got {type(x).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"x must have a floating dtype to be perturbed by h, got {x.dtype}")
    if not x.flags.writeable:
        raise ValueError("x must be writeable: it is perturbed in place (pass a copy)")
    _check_step(h)


def _check_step(h):
    if not (isinstance(h, numbers.Real) and np.isfinite(h) and h > 0):
        raise ValueError(f"h must be a positive finite step, got {h!r}")


def _check_not_empty(x, name):
    if x.size == 0:
        raise ValueError(f"{name} is empty (shape {x.shape}): there is no gradient to check")


def _number_array(a, name):
    """``a`` as an array of real numbers, or ValueError naming ``name``."""
    arr = np.asarray(a)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"{name} must be an array of real numbers, got {type(a).__name__} of dtype {arr.dtype}")
    return arr


# ----------------------------------------------------------------------------------------------
# The structured check: the entry points (the diagnosis is in cs231n/gradient_diagnosis.py)
# ----------------------------------------------------------------------------------------------


def check_gradient(f, x, analytic_grad, df=None, h=1e-5, function="f", param="x", batch_size=None, reg=None):
    """Compare an analytic gradient with the numerical one and diagnose any disagreement.

    Parameters
    ----------
    f : callable
        Takes ``x`` and returns a scalar (``df is None``) or an array shaped like ``df``. It may
        ignore its argument and read ``x`` through a closure, as in CS231n.
    x : ndarray, shape (d_1, ..., d_k), float64
        The point; it is perturbed in place and restored. float32 is not compared (WARN).
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
    _check_arguments(f, x, h)
    _check_not_empty(x, "x")
    if df is not None:
        df = _number_array(df, "df")
    if batch_size is not None and not (isinstance(batch_size, numbers.Integral) and batch_size > 0):
        raise ValueError(f"batch_size must be a positive whole number or None, got {batch_size!r}")
    if reg is not None and not (isinstance(reg, numbers.Real) and np.isfinite(reg)):
        raise ValueError(f"reg must be a finite number or None, got {reg!r}")
    return check_one(f, x, analytic_grad, df, h, str(function), str(param), batch_size, reg)


def check_layer(forward, backward, inputs, dout=None, names=None, h=1e-5, seed=0, **kwargs):
    """Check a layer's backward for each of its inputs against numerical gradients.

    ``forward(*inputs, **kwargs) -> (out, cache)`` and ``backward(dout, cache) -> grads`` in
    input order (a single array when there is one input), the CS231n layer API.

    Parameters
    ----------
    forward, backward : callable
        The layer's pair.
    inputs : sequence of ndarray, float64
        The differentiable inputs, in argument order (e.g. ``(x, w, b)``); left as they were.
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
    for name, fn in (("forward", forward), ("backward", backward)):
        if not callable(fn):
            raise ValueError(f"{name} must be a function, got {type(fn).__name__}")
    if isinstance(inputs, np.ndarray) or not isinstance(inputs, (list, tuple)) or not inputs:
        raise ValueError(f"inputs must be a non-empty list or tuple of arrays, got {type(inputs).__name__}")
    inputs = list(inputs)
    for i, v in enumerate(inputs):
        if not isinstance(v, np.ndarray) or not np.issubdtype(v.dtype, np.floating):
            raise ValueError(f"inputs[{i}] must be a float numpy array, got {_what(v)}")
        _check_not_empty(v, f"inputs[{i}]")
    _check_step(h)  # the inputs are only read: the checks perturb copies
    if names is None:
        names = ["x", "w", "b"][: len(inputs)] if len(inputs) <= 3 else [f"x{i}" for i in range(len(inputs))]
    names = [str(nm) for nm in names]
    if len(names) != len(inputs):
        raise ValueError(f"names has {len(names)} entries but inputs has {len(inputs)}")
    if dout is not None:
        dout = _number_array(dout, "dout")
    return check_layer_inputs(forward, backward, inputs, dout, names, h, seed, kwargs)


def check_model(model, X, y, names=None, h=1e-5):
    """Check the gradients of ``model.loss(X, y)`` for each parameter in ``model.params``.

    Parameters
    ----------
    model : object
        Has ``params`` (dict of float64 arrays) and ``loss(X, y) -> (loss, grads)``, like
        ``TwoLayerNet`` and ``FullyConnectedNet``; ``model.reg`` is used when present.
    X : ndarray, shape (N, d_1, ..., d_k)
        A small batch; left as it was.
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
    params = getattr(model, "params", None)
    if not isinstance(params, dict) or not callable(getattr(model, "loss", None)):
        raise ValueError(f"model must have a dict params and a method loss(X, y), got {type(model).__name__}")
    X = _number_array(X, "X")
    if X.ndim < 1 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty batch of shape (N, ...), got shape {X.shape}")
    _check_step(h)
    names = sorted(params) if names is None else [str(nm) for nm in names]
    for nm in names:
        if nm not in params:
            raise ValueError(f"names: {nm!r} is not in model.params (it has {', '.join(sorted(params))})")
        if not isinstance(params[nm], np.ndarray) or not np.issubdtype(params[nm].dtype, np.floating):
            raise ValueError(f"model.params[{nm!r}] must be a float numpy array, got {_what(params[nm])}")
        if not params[nm].flags.writeable:
            raise ValueError(f"model.params[{nm!r}] must be writeable: it is perturbed in place")
        _check_not_empty(params[nm], f"model.params[{nm!r}]")
    return check_model_params(model, X, y, names, h)


def _what(v):
    return f"an array of dtype {v.dtype}" if isinstance(v, np.ndarray) else type(v).__name__
