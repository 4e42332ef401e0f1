"""The gradient report: every gradient check of the kit on a submission, as one table.

Run it on a submission folder, a submission zip, or (with no argument) the working copy::

    python -m cs231n.gradient_report [SUBMISSION] [--details] [--timeout SECONDS]

For every backward of ``cs231n/layers.py`` (affine x/w/b, relu, leaky_relu, sigmoid, tanh), the
losses' dx (svm_loss, softmax_loss), ``affine_relu`` from ``layer_utils`` and the parameters of
``TwoLayerNet`` (with and without reg) and ``FullyConnectedNet`` (two hidden layers, with reg), it
prints one row: function, parameter, relative error, verdict and the diagnosis of
``cs231n.gradient_check.check_gradient``. All checks run in float64.

Only the student-owned files (``STUDENT_FILES``, from ``cs231n.STUDENT_FILES``) come from the
submission; every other module comes from the installed kit. They are put together in a temporary
folder and the checks run there in a separate Python process, so the submission cannot touch the
kit that is installed, and a stub (``NotImplementedError``), a crash, an endless loop or an exit in
student code costs only its own rows. Verdicts: PASS, WARN (suspicious but not a bug, e.g. a kink),
FAIL (wrong gradient), TODO (not implemented yet), ERROR (crashed, timed out, could not be loaded).
The exit code is 0 when every row is PASS or WARN, 1 otherwise, 2 when the submission is unusable.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback
import zipfile
from pathlib import Path

import numpy as np

from . import STUDENT_FILES as _OWNED
from .gradient_check import check_gradient, check_layer, check_model

# The student-owned .py files; only these come from the submission.
STUDENT_FILES = tuple(f for f in _OWNED if f.endswith(".py"))
CHECKED_FILES = ("cs231n/layers.py", "cs231n/classifiers/fc_net.py")  # the files whose functions the checks call
H = 1e-5  # step of every numerical gradient
CHECK_TIMEOUT = 20  # seconds one check may take before its rows say "timed out"
KINK_MARGIN = 1e-3  # inputs of ReLUs and hinges are drawn at least this far from the kink
OK_VERDICTS = ("PASS", "WARN")


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


def _where(exc, root):
    """' (at file:line in function)' of the deepest frame in a student file, or ''."""
    student = {(root / rel).resolve() for rel in STUDENT_FILES}
    frames = [fr for fr in traceback.extract_tb(exc.__traceback__) if Path(fr.filename).resolve() in student]
    if not frames:
        return ""
    fr = frames[-1]
    return f" (at {Path(fr.filename).resolve().relative_to(root).as_posix()}:{fr.lineno} in {fr.name})"


def _error_rows(label, params, exc, root, timeout):
    if isinstance(exc, NotImplementedError):
        # The kit's stubs already say "... is not implemented yet ..."; a bare raise says nothing.
        verdict, text = "TODO", str(exc) if "implement" in str(exc) else f"not implemented yet: {exc}".rstrip(": ")
    elif isinstance(exc, _CheckTimeout):
        verdict, text = "ERROR", f"timed out after {timeout:g} s (an endless loop?)"
    else:
        verdict, text = "ERROR", f"crashed: {type(exc).__name__}: {exc}{_where(exc, root)}"
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


def _worker(out_path, timeout):
    """Run every check of PLAN in this process and append one JSON line per row to ``out_path``."""
    root = Path.cwd().resolve()
    import cs231n  # noqa: PLC0415 (in the worker, after the submission is first on sys.path)

    if not Path(cs231n.__file__).resolve().is_relative_to(root):
        raise RuntimeError(f"the checks imported cs231n from {cs231n.__file__}, not from {root}")
    signal.signal(signal.SIGALRM, _on_alarm)
    with open(out_path, "a", encoding="utf-8") as out:
        for i, (label, params, check) in enumerate(PLAN):
            signal.alarm(max(1, int(np.ceil(timeout))))
            try:
                rows = [_result_row(label, r) for r in check(list(params))]
            except (Exception, _CheckTimeout, SystemExit) as exc:  # any failure of student code
                rows = _error_rows(label, params, exc, root, timeout)
            finally:
                signal.alarm(0)
            for row in rows:
                out.write(json.dumps({"check": i, **row}) + "\n")
            out.flush()


# ----------------------------------------------------------------------------------------------
# The trusted side: find the files, assemble the folder, run the worker, print the table
# ----------------------------------------------------------------------------------------------


class SubmissionError(ValueError):
    """The submission cannot be used at all (no such path, not a folder or a zip)."""


def _unpack(submission, tmp):
    """Return the folder that holds the submission (a zip is extracted into ``tmp``)."""
    path = Path(submission)
    if path.is_dir():
        return path.resolve()
    if path.is_file() and zipfile.is_zipfile(path):
        dest = tmp / "submission"
        with zipfile.ZipFile(path) as zf:
            zf.extractall(dest)  # extractall drops absolute paths and '..' components
        return dest
    if path.exists():
        raise SubmissionError(f"submission must be a folder or a .zip file, got {path}")
    raise SubmissionError(f"submission not found: {path}")


def find_student_files(root):
    """Map each of STUDENT_FILES to the file that stands for it under ``root`` (or None).

    The file is taken at its own path, else at a path ending with it (a zip with a top folder),
    else as the only file of that name (a flat zip).
    """
    found, candidates = {}, None
    for rel in STUDENT_FILES:
        exact = Path(root) / rel
        if exact.is_file():
            found[rel] = exact
            continue
        if candidates is None:  # searched only when needed: a working copy may hold a whole venv
            candidates = [
                p
                for p in Path(root).rglob("*.py")
                if not any(part.startswith((".", "__MACOSX")) for part in p.relative_to(root).parts)
            ]
        suffix = [p for p in candidates if p.as_posix().endswith("/" + rel)]
        named = [p for p in candidates if p.name == Path(rel).name]
        pick = suffix or (named if len(named) == 1 else [])
        found[rel] = min(pick, key=lambda p: len(p.parts)) if pick else None
    return found


def _assemble(files, tmp):
    """Copy the installed kit to ``tmp/kit/cs231n`` and put the submission's student files over it."""
    kit = tmp / "kit"
    shutil.copytree(
        Path(__file__).resolve().parent, kit / "cs231n", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    for rel, src in files.items():
        dest = kit / rel
        if src is None:
            # Never fall back to the kit's own copy: a missing file must show up as missing.
            dest.write_text(f"raise ImportError({rel + ' is missing from the submission'!r})\n")
        else:
            shutil.copyfile(src, dest)
    return kit


def _working_copy():
    """The folder a student works in: the current one if it holds the kit, else the installed kit's."""
    cwd = Path.cwd()
    if (cwd / STUDENT_FILES[0]).is_file():
        return cwd
    return Path(__file__).resolve().parents[1]


def collect_rows(submission=None, timeout=CHECK_TIMEOUT):
    """Run every check of PLAN on a submission and return the rows and what was used.

    Parameters
    ----------
    submission : str or Path or None
        A folder, a .zip file, or None for the working copy.
    timeout : float
        Seconds one check may take.

    Returns
    -------
    rows : list of dict
        One per (function, parameter): keys ``function, param, rel_error`` (float or None),
        ``verdict, diagnosis, details``.
    files : dict
        Each of STUDENT_FILES to the path it was taken from (None when missing).
    """
    with tempfile.TemporaryDirectory(prefix="gradient_report_") as tmp:
        tmp = Path(tmp)
        root = _working_copy() if submission is None else _unpack(submission, tmp)
        files = find_student_files(root)
        kit = _assemble(files, tmp)
        out_path = tmp / "rows.jsonl"
        env = {**os.environ, "PYTHONPATH": str(kit), "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg"}
        code = "import sys; from cs231n.gradient_report import _worker; _worker(sys.argv[1], float(sys.argv[2]))"
        try:
            proc = subprocess.run(
                [sys.executable, "-c", code, str(out_path), str(timeout)],
                cwd=kit,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=timeout * (len(PLAN) + 2),
                text=True,
            )
            last = proc.stderr.strip().splitlines()[-1:] or ["no message"]
            stopped = f"exit code {proc.returncode}: {last[0]}"
        except subprocess.TimeoutExpired:
            stopped = "it ran out of time"
        done = [json.loads(line) for line in out_path.read_text().splitlines()] if out_path.exists() else []
    rows = []
    for i, (label, params, _) in enumerate(PLAN):
        mine = [{k: v for k, v in r.items() if k != "check"} for r in done if r["check"] == i]
        rows += mine or [
            {
                "function": label,
                "param": p,
                "rel_error": None,
                "verdict": "ERROR",
                "diagnosis": f"not run: the checking process stopped ({stopped})",
                "details": "",
            }
            for p in params
        ]

    def shown(p):  # a file inside a zip is named by its member path, not by the deleted temp folder
        if p is None or submission is None or Path(submission).is_dir():
            return str(p) if p else None
        return f"{submission}!{p.relative_to(root).as_posix()}"

    return rows, {rel: shown(p) for rel, p in files.items()}


def format_table(rows):
    """The rows as a fixed-width text table: function, param, rel. error, verdict, diagnosis."""
    head = ("function", "param", "rel. error", "verdict", "diagnosis")
    cells = [
        (
            r["function"],
            r["param"],
            "-" if r["rel_error"] is None else f"{r['rel_error']:.2e}",
            r["verdict"],
            r["diagnosis"],
        )
        for r in rows
    ]
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(4)]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(4)) + "  " + c[4] for c in [head, *cells]]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * len(head[4]))
    return "\n".join(lines)


def render(rows, files, name, details=False):
    """The printed report and its exit code (0 when every row is PASS or WARN, else 1).

    Parameters
    ----------
    rows, files : list of dict, dict
        What ``collect_rows`` returned.
    name : str
        How to call the submission in the heading.
    details : bool
        Append the full explanation of every row that is not a PASS.

    Returns
    -------
    text : str
    code : int
    """
    lines = [f"Gradient report for {name}"]
    for rel, src in files.items():
        unused = "" if rel in CHECKED_FILES else " (not used by these checks)"
        lines.append(f"  {rel}: {src or 'MISSING from the submission' + unused}")
    lines += [f"  every other module: the installed kit; float64; numerical step h = {H:g}", "", format_table(rows)]
    counts = {v: sum(r["verdict"] == v for r in rows) for v in ("PASS", "WARN", "FAIL", "TODO", "ERROR")}
    lines += ["", ", ".join(f"{n} {v}" for v, n in counts.items()) + f" of {len(rows)} gradients"]
    if details:
        lines += ["\n" + r["details"] for r in rows if r["verdict"] != "PASS" and r["details"]]
    failed = any(r["verdict"] not in OK_VERDICTS for r in rows)
    if any(r["verdict"] == "FAIL" for r in rows):
        lines.append(
            "Later rows use the earlier functions (affine_relu uses affine and relu, the nets use "
            "all of them): fix the first FAIL first."
        )
    if failed and not details:
        lines.append("Run again with --details to read what each failing check found.")
    return "\n".join(lines), 1 if failed else 0


def run_report(submission=None, details=False, timeout=CHECK_TIMEOUT, out=None):
    """Print the report for ``submission`` (folder, zip, or None for the working copy); return the exit code."""
    rows, files = collect_rows(submission, timeout)
    text, code = render(rows, files, "the working copy" if submission is None else str(submission), details)
    print(text, file=out or sys.stdout)
    return code


def main(argv=None):
    """Command line entry: ``python -m cs231n.gradient_report [SUBMISSION] [--details] [--timeout S]``."""
    parser = argparse.ArgumentParser(
        prog="python -m cs231n.gradient_report", description="Run every gradient check of the kit on a submission."
    )
    parser.add_argument("submission", nargs="?", help="a submission folder or .zip (default: the working copy)")
    parser.add_argument("--details", action="store_true", help="explain every row that is not a PASS")
    parser.add_argument(
        "--timeout", type=float, default=CHECK_TIMEOUT, help=f"seconds one check may take (default {CHECK_TIMEOUT})"
    )
    args = parser.parse_args(argv)
    if not args.timeout > 0:
        parser.error(f"--timeout must be positive, got {args.timeout}")
    try:
        return run_report(args.submission, details=args.details, timeout=args.timeout)
    except SubmissionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
