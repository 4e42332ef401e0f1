"""The Solver's checks of what it is given, so that a wrong setting is refused where it enters.

``solver.py`` is the training loop; these functions check its data (every split and its labels), its
``optim_config``, the settings a checkpoint was written with, and tell bad data from divergence when
the loss stops being finite. Each raises a ``ValueError`` or ``TypeError`` naming the argument, what
was seen and what was expected.
"""

import numbers

import numpy as np

from cs231n import optim
from cs231n.optim_config import RULE_KEYS, check_config


class NonFiniteDataError(ValueError):
    """A minibatch held NaN or inf: the data is bad, lowering the learning rate would not help."""


def as_split(X, y, X_name, y_name, num_classes=None):
    """Return one split as arrays: X (N, d_1, ..., d_k) of numbers, y (N,) labels in [0, num_classes).

    Lists are converted. ``num_classes`` is the model's number of classes when it is known.

    Raises
    ------
    ValueError
        X holds no examples or no numbers, y is not one integer label per example, or a label is
        outside [0, num_classes).
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim < 1 or X.shape[0] == 0:
        raise ValueError(f"{X_name} holds no examples (shape {X.shape}): it needs at least one")
    if X.dtype.kind not in "fiu":
        raise ValueError(f"{X_name} must hold numbers, got dtype {X.dtype}")
    if y.ndim != 1 or len(y) != len(X):
        got = f"{len(X)} and {len(y)}" if y.ndim == 1 else f"shapes {X.shape} and {y.shape}"
        raise ValueError(f"{X_name} and {y_name} must have the same length, one label per example, got {got}")
    if y.dtype.kind not in "iu":
        raise ValueError(f"{y_name} must hold integer class labels, got dtype {y.dtype}")
    bad = (y < 0) | (y >= num_classes) if num_classes is not None else y < 0
    if bad.any():
        expected = f"[0, {num_classes})" if num_classes is not None else "[0, C)"
        raise ValueError(
            f"{y_name} holds labels outside {expected} (the model's classes): {np.unique(y[bad])[:10].tolist()}"
        )
    return X, y


def check_samples(value, name):
    """Return ``value`` if it is None or an integer >= 1 (a number of examples to sample), else raise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be None (all examples) or an integer >= 1, got {value!r}")
    return int(value)


def check_optim_config(update_rule, optim_config):
    """Check the Solver's ``optim_config`` against ``update_rule`` (a function of cs231n.optim or another).

    The rules of cs231n.optim take only their own keys, each in its range, and a learning rate > 0;
    their running state (velocity, ...) is kept per parameter by the Solver, so it cannot be given here.

    Raises
    ------
    TypeError
        optim_config is not a dict.
    ValueError
        An unknown key, a value out of range or a state entry.
    """
    if not isinstance(optim_config, dict):
        raise TypeError(f"optim_config must be a dict such as {{'learning_rate': 1e-3}}, got {optim_config!r}")
    name = getattr(update_rule, "__name__", None)
    if name not in RULE_KEYS or getattr(optim, name, None) is not update_rule:
        return  # a rule of the user's own: its keys are its business
    check_config(name, optim_config, start=True)
    state = [k for k in RULE_KEYS[name][1] if k in optim_config]
    if state:
        raise ValueError(
            f"optim_config holds {state}, the running state of {name}: the Solver keeps one per parameter, leave it out"
        )


def check_resume(path, recorded, mine):
    """Refuse to resume from the checkpoint ``path`` when a setting differs from the one it was written with.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint, for the message.
    recorded, mine : dict
        Setting name -> value, in the checkpoint and in this Solver. Only names in both are compared.

    Raises
    ------
    ValueError
        Naming every setting that differs, with both values.
    """
    differ = [k for k in mine if k in recorded and recorded[k] != mine[k]]
    if differ:
        raise ValueError(
            f"checkpoint {path} was written with {', '.join(f'{k}={recorded[k]!r}' for k in differ)}, this Solver "
            f"has {', '.join(f'{k}={mine[k]!r}' for k in differ)}: resume with the settings of the run that wrote it"
        )


def non_finite_rows(X):
    """The indices of the rows of ``X`` (N, ...) that hold NaN or inf, as a list (empty when all finite)."""
    X = np.asarray(X)
    if X.dtype.kind != "f":
        return []
    return np.flatnonzero(~np.isfinite(X.reshape(X.shape[0], -1)).all(axis=1)).tolist()
