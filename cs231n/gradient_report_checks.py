"""The checks of the gradient report, and the worker that runs them on a submission.

``PLAN`` lists the report's rows: for every backward of ``cs231n/layers.py`` (affine x/w/b, relu,
leaky_relu, sigmoid, tanh), the losses' dx (svm_loss, softmax_loss), ``affine_relu`` from
``layer_utils`` and the parameters of ``TwoLayerNet`` (with and without reg) and
``FullyConnectedNet`` (two hidden layers, with reg), a check by ``cs231n.gradient_check``. All run
in float64 on small seeded inputs drawn away from every kink, so a correct gradient gives a PASS.

``worker`` runs inside the folder ``cs231n.gradient_report`` assembles (the kit with the
submission's files), in a process of its own, and writes one JSON line per row. It also records
which functions of ``cs231n.layers`` and ``cs231n.layer_utils`` each check called, so that the
report can say which failing layer a failing net uses.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import signal
import traceback
from pathlib import Path

import numpy as np

from . import STUDENT_FILES as _OWNED
from .gradient_check import check_gradient, check_layer, check_model

# The student-owned .py files; only these come from the submission.
STUDENT_FILES = tuple(f for f in _OWNED if f.endswith(".py"))
H = 1e-5  # step of every numerical gradient
KINK_MARGIN = 1e-3  # inputs of ReLUs and hinges are drawn at least this far from the kink
TRACKED_MODULES = ("cs231n.layers", "cs231n.layer_utils")  # their functions' calls are recorded per check


# ----------------------------------------------------------------------------------------------
# Inputs: small, float64, seeded, and away from every kink so a correct gradient gives a PASS
# ----------------------------------------------------------------------------------------------


def _rng(seed):
    return np.random.default_rng(seed)


def _signed_away_from_zero(rng, shape):
    """Values in (-1.5, -0.1] U [0.1, 1.5): a ReLU input that no step h can push across 0."""
    return rng.uniform(0.1, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def _redraw(make, pre_activations):
    """Call ``make(rng)`` with seeds 0, 1, ... until every ReLU/hinge input it leads to is off the kink."""
    for seed in range(1000):
        drawn = make(_rng(seed))
        if all(np.min(np.abs(p)) > KINK_MARGIN for p in pre_activations(*drawn)):
            return drawn
    raise RuntimeError("could not draw inputs away from the kinks")  # never with these sizes


def _net_data(dims, n):
    """X (n, dims[0]), y (n,), and params W1, b1, ... for a net of layer sizes ``dims``, off the kinks."""

    def make(rng):
        X = rng.standard_normal((n, dims[0]))
        y = rng.integers(dims[-1], size=n)
        params = {}
        for i in range(1, len(dims)):
            params[f"W{i}"] = rng.standard_normal((dims[i - 1], dims[i])) / np.sqrt(dims[i - 1])
            params[f"b{i}"] = 0.1 * rng.standard_normal(dims[i])
        return X, y, params

    def hidden(X, y, params):
        out, pre = X, []
        for i in range(1, len(dims) - 1):
            a = out @ params[f"W{i}"] + params[f"b{i}"]
            pre.append(a)
            out = np.maximum(a, 0)
        return pre

    return _redraw(make, hidden)


# ----------------------------------------------------------------------------------------------
# The checks: each returns GradCheckResults, one per parameter, in the order of PLAN
# ----------------------------------------------------------------------------------------------


def _layers():
    return importlib.import_module("cs231n.layers")


def _check_affine(names):
    L = _layers()
    rng = _rng(1)
    x, w, b = rng.standard_normal((4, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)
    return check_layer(L.affine_forward, L.affine_backward, [x, w, b], names=names, h=H)


def _check_activation(name, signed):
    def run(names):
        L = _layers()
        rng = _rng(2)
        x = _signed_away_from_zero(rng, (4, 5)) if signed else rng.standard_normal((4, 5))
        return check_layer(getattr(L, f"{name}_forward"), getattr(L, f"{name}_backward"), [x], names=names, h=H)

    return run


def _loss_inputs(rng):
    return rng.standard_normal((5, 4)), rng.integers(4, size=5)


def _hinge_margins(x, y):
    rows = np.arange(x.shape[0])
    margins = x - x[rows, y][:, None] + 1
    return [np.delete(margins.ravel(), rows * x.shape[1] + y)]  # margins of the wrong classes only


def _check_loss(name):
    def run(names):
        loss = getattr(_layers(), name)
        x, y = _redraw(_loss_inputs, _hinge_margins) if name == "svm_loss" else _loss_inputs(_rng(3))
        _, dx = loss(x.copy(), y)  # a copy: check_gradient itself catches a loss that mutates x
        return [
            check_gradient(lambda v: loss(v, y)[0], x, dx, h=H, function=name, param=names[0], batch_size=x.shape[0])
        ]

    return run


def _check_affine_relu(names):
    lu = importlib.import_module("cs231n.layer_utils")

    def make(rng):
        return rng.standard_normal((4, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)

    x, w, b = _redraw(make, lambda x, w, b: [x.reshape(4, -1) @ w + b])
    return check_layer(lu.affine_relu_forward, lu.affine_relu_backward, [x, w, b], names=names, h=H)


def _check_net(build, dims, reg):
    def run(names):
        fc = importlib.import_module("cs231n.classifiers.fc_net")
        X, y, params = _net_data(dims, n=5)
        cls, kwargs = build(fc, dims, reg)
        model = cls.__new__(cls)
        try:
            model.__init__(**kwargs)
        except NotImplementedError:
            pass  # an unfinished weight initialization does not matter: the weights are set below
        # The check is about the gradients, so the weights are ours, in float64, off the kinks.
        model.params = {k: v.copy() for k, v in params.items()}
        return check_model(model, X, y, names=names, h=H)

    return run


def _two_layer(fc, dims, reg):
    return fc.TwoLayerNet, dict(input_dim=dims[0], hidden_dim=dims[1], num_classes=dims[2], reg=reg)


def _fully_connected(fc, dims, reg):
    return fc.FullyConnectedNet, dict(
        hidden_dims=list(dims[1:-1]), input_dim=dims[0], num_classes=dims[-1], reg=reg, dtype=np.float64, seed=0
    )


# (label, parameters, check): the rows of the report, in order; check(parameters) -> GradCheckResults.
# A label starts with the name of the function it checks.
PLAN = [
    ("affine_backward", ("x", "w", "b"), _check_affine),
    ("relu_backward", ("x",), _check_activation("relu", signed=True)),
    ("leaky_relu_backward", ("x",), _check_activation("leaky_relu", signed=True)),
    ("sigmoid_backward", ("x",), _check_activation("sigmoid", signed=False)),
    ("tanh_backward", ("x",), _check_activation("tanh", signed=False)),
    ("svm_loss", ("x",), _check_loss("svm_loss")),
    ("softmax_loss", ("x",), _check_loss("softmax_loss")),
    ("affine_relu_backward", ("x", "w", "b"), _check_affine_relu),
    ("TwoLayerNet.loss reg=0.0", ("W1", "b1", "W2", "b2"), _check_net(_two_layer, (12, 7, 4), 0.0)),
    ("TwoLayerNet.loss reg=0.7", ("W1", "b1", "W2", "b2"), _check_net(_two_layer, (12, 7, 4), 0.7)),
    (
        "FullyConnectedNet.loss [20, 30] reg=0.7",
        ("W1", "b1", "W2", "b2", "W3", "b3"),
        _check_net(_fully_connected, (15, 20, 30, 10), 0.7),
    ),
]


# ----------------------------------------------------------------------------------------------
# The worker: runs inside the assembled folder, one JSON line per row
# ----------------------------------------------------------------------------------------------


class _CheckTimeout(BaseException):
    """Raised by the alarm; a BaseException so that student code's ``except Exception`` cannot eat it."""


def _on_alarm(signum, frame):
    raise _CheckTimeout()


def _track_calls(called):
    """Wrap every function of TRACKED_MODULES so that its name goes into ``called`` when it runs.

    The wrappers replace the module attributes before ``layer_utils`` and ``fc_net`` import them,
    so their calls are recorded too. A module that does not import is left alone (its checks say why).
    """
    for name in TRACKED_MODULES:
        try:
            module = importlib.import_module(name)
        except Exception:  # noqa: BLE001 (any failure of student code: its own rows report it)
            continue
        for attr, fn in vars(module).copy().items():
            if inspect.isfunction(fn) and fn.__module__ == name and not attr.startswith("_"):
                setattr(module, attr, _recording(fn, called))


def _recording(fn, called):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        called.add(fn.__name__)
        return fn(*args, **kwargs)

    return wrapper


def _student_frame(exc, root):
    """The deepest traceback frame of ``exc`` in a student file, or None."""
    student = {(root / rel).resolve() for rel in STUDENT_FILES}
    frames = [fr for fr in traceback.extract_tb(exc.__traceback__) if Path(fr.filename).resolve() in student]
    return frames[-1] if frames else None


def _error_rows(label, params, exc, root, timeout):
    frame = _student_frame(exc, root)
    if isinstance(exc, NotImplementedError):
        stub = frame.name if frame is not None else ""
        own = not stub or stub == label.split()[0].split(".")[-1]
        verdict, text = "TODO", "not implemented yet" if own else f"{stub} is not implemented yet"
    elif isinstance(exc, _CheckTimeout):
        verdict, text = "ERROR", f"timed out after {timeout:g} s (an endless loop?)"
    else:
        where = f" (at {Path(frame.filename).resolve().relative_to(root).as_posix()}:{frame.lineno} in {frame.name})"
        verdict, text = "ERROR", f"crashed: {type(exc).__name__}: {exc}{where if frame is not None else ''}"
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-6:])
    return [
        {
            "function": label,
            "param": p,
            "rel_error": None,
            "verdict": verdict,
            "diagnosis": text,
            "details": f"{label} w.r.t. {p}: {text}\n{details}",
        }
        for p in params
    ]


def _result_row(label, r):
    return {
        "function": label,
        "param": r.param,
        "rel_error": None if np.isnan(r.rel_error) else r.rel_error,
        "verdict": r.verdict,
        "diagnosis": r.diagnosis_summary(),
        "details": r.report(),
    }


def worker(out_path, timeout):
    """Run every check of PLAN in this process and append one JSON line per row to ``out_path``.

    Each line holds the row (function, param, rel_error, verdict, diagnosis, details), the index of
    its check in PLAN and ``calls``, the tracked functions that check called.
    """
    root = Path.cwd().resolve()
    import cs231n  # noqa: PLC0415 (in the worker, after the submission is first on sys.path)

    if not Path(cs231n.__file__).resolve().is_relative_to(root):
        raise RuntimeError(f"the checks imported cs231n from {cs231n.__file__}, not from {root}")
    signal.signal(signal.SIGALRM, _on_alarm)
    called = set()
    with open(out_path, "a", encoding="utf-8") as out:
        for i, (label, params, check) in enumerate(PLAN):
            signal.alarm(max(1, int(np.ceil(timeout))))
            called.clear()
            try:
                if i == 0:
                    _track_calls(called)
                rows = [_result_row(label, r) for r in check(list(params))]
            except (Exception, _CheckTimeout, SystemExit) as exc:  # any failure of student code
                rows = _error_rows(label, params, exc, root, timeout)
            finally:
                signal.alarm(0)
            for row in rows:
                out.write(json.dumps({"check": i, "calls": sorted(called), **row}) + "\n")
            out.flush()
