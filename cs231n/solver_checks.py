"""The Solver's checks of what it is given, so that a wrong setting is refused where it enters.

``solver.py`` is the training loop; these functions check its data (every split and its labels), its
update rule and ``optim_config``, its checkpoint folder and, to resume, the settings a checkpoint was
written with. Each raises a ``ValueError`` or ``TypeError`` naming the argument, what was seen and what
was expected.
"""

import numbers
import os

import numpy as np

from cs231n import optim
from cs231n.file_utils import check_writable_folder
from cs231n.optim_config import RULE_KEYS, check_config


def as_splits(data, num_classes=None):
    """Return the Solver's training and validation splits from ``data``, each checked by ``as_split``.

    Returns
    -------
    X_train, y_train, X_val, y_val : ndarray

    Raises
    ------
    TypeError
        ``data`` is not a dict.
    ValueError
        One of the four keys is missing, or a split is refused by ``as_split``.
    """
    if not isinstance(data, dict):
        raise TypeError(f"data must be a dict with X_train, y_train, X_val and y_val, got {type(data).__name__}")
    for key in ("X_train", "y_train", "X_val", "y_val"):
        if key not in data:
            raise ValueError(f"data must contain X_train, y_train, X_val and y_val; {key!r} is missing")
    X_train, y_train = as_split(data["X_train"], data["y_train"], "X_train", "y_train", num_classes)
    X_val, y_val = as_split(data["X_val"], data["y_val"], "X_val", "y_val", num_classes)
    return X_train, y_train, X_val, y_val


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


def update_rule_function(update_rule):
    """The update rule named by ``update_rule`` in cs231n.optim, or ``update_rule`` itself if it is a function."""
    if isinstance(update_rule, str):
        if update_rule.startswith("_") or not callable(getattr(optim, update_rule, None)):
            raise ValueError(f'Invalid update_rule "{update_rule}": not a function in cs231n.optim')
        return getattr(optim, update_rule)
    if not callable(update_rule):
        raise ValueError(f"update_rule must be a name in cs231n.optim or a function, got {update_rule!r}")
    return update_rule


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


def check_checkpoint_name(checkpoint_name):
    """Refuse a ``checkpoint_name`` (None: no checkpoints) whose folder is missing or cannot be written."""
    if checkpoint_name is None:
        return
    folder = os.path.dirname(os.path.abspath(checkpoint_name))
    if not os.path.isdir(folder):
        raise ValueError(f"checkpoint_name {checkpoint_name!r} points into {folder}, which is not an existing folder")
    check_writable_folder(folder, f"checkpoint_name {checkpoint_name!r}")


def check_resume(path, state, settings, optim_config, params):
    """Refuse to resume from the checkpoint ``path`` unless it was written by a run like this one.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint, for the messages.
    state : dict
        The training state read from it (see ``cs231n/checkpoints.py``).
    settings : dict
        This Solver's settings as a checkpoint records them; all but ``num_epochs`` must match.
    optim_config : dict
        This Solver's ``optim_config``: its learning rate and the entries the checkpoint has must match.
    params : dict
        The model's parameters: the checkpoint's must have the same names and shapes.

    Raises
    ------
    ValueError
        Naming every setting that differs, with both values, or both sets of parameter shapes.
    """
    recorded = {**state["settings"], "learning_rate": state["lr0"]}
    mine = {**settings, "learning_rate": optim_config.get("learning_rate")}
    del mine["num_epochs"]
    first = next(iter(state["optim_configs"].values()), {})
    for key, value in optim_config.items():
        if key != "learning_rate" and key in first:
            recorded[key], mine[key] = first[key], value
    differ = [k for k in mine if k in recorded and recorded[k] != mine[k]]
    if differ:
        raise ValueError(
            f"checkpoint {path} was written with {', '.join(f'{k}={recorded[k]!r}' for k in differ)}, this Solver "
            f"has {', '.join(f'{k}={mine[k]!r}' for k in differ)}: resume with the settings of the run that wrote it"
        )
    expected = {k: np.shape(v) for k, v in params.items()}
    found = {k: v.shape for k, v in state["params"].items()}
    if found != expected:
        raise ValueError(f"checkpoint {path} holds parameters {found}, but the model has {expected}")
