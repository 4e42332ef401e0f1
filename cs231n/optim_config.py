"""What the config of an update rule in ``cs231n/optim.py`` may hold, and the check of it.

Every rule of ``optim.py`` starts with ``config = check_update(name, w, dw, config)``, and the Solver
checks its ``optim_config`` with ``check_config`` when it is built, so a misspelled key or a value out of
range is refused where it enters instead of training silently with a default or producing NaN.
"""

import difflib
import math
import numbers

import numpy as np

# The keys each rule reads: its hyperparameters, then its running state (arrays shaped like w, and adam's t).
RULE_KEYS = {
    "sgd": (("learning_rate",), ()),
    "sgd_momentum": (("learning_rate", "momentum"), ("velocity",)),
    "rmsprop": (("learning_rate", "decay_rate", "epsilon"), ("cache",)),
    "adam": (("learning_rate", "beta1", "beta2", "epsilon"), ("m", "v", "t")),
}

# The range of every hyperparameter: (lowest, highest, whether the lowest value itself is allowed).
# The highest value is never allowed: beta1 = 1 divides by 1 - beta1**t = 0, a learning rate of inf is no
# rate. A learning rate of 0 leaves w as it is: the last update of a linear or cosine schedule has it, but a
# run cannot start from it (check_config(..., start=True)).
RANGES = {
    "learning_rate": (0.0, math.inf, True),
    "momentum": (0.0, 1.0, True),
    "decay_rate": (0.0, 1.0, True),
    "beta1": (0.0, 1.0, True),
    "beta2": (0.0, 1.0, True),
    "epsilon": (0.0, math.inf, False),
}


# Short names people write for a key, which no spelling distance would suggest.
ALIASES = {"lr": "learning_rate", "eps": "epsilon", "mu": "momentum", "rho": "decay_rate"}


def _describe(low, high, closed):
    return f"in [{low:g}, {high:g})" if high < math.inf else (f">= {low:g}" if closed else f"> {low:g}")


def check_config(rule, config, w=None, start=False):
    """Check the config of the update rule ``rule``: known keys only, every value in its range.

    Parameters
    ----------
    rule : str
        A name in ``RULE_KEYS``.
    config : dict or None
        The config to check (None stands for an empty one).
    w : ndarray, optional
        The weights; when given, state arrays (velocity, cache, m, v) must have its shape.
    start : bool
        The config a run starts from (the Solver's ``optim_config``): its learning rate must be > 0.

    Returns
    -------
    config : dict
        ``config`` itself, or a new empty dict when it is None.

    Raises
    ------
    TypeError
        If config is not a dict (``sgd(w, dw, 1e-3)``) or a value is not a number.
    ValueError
        If a key is unknown to the rule (with the closest known key), a hyperparameter is out of range
        or a state array has another shape than w.
    """
    if config is None:
        return {}
    hyper, state = RULE_KEYS[rule]
    if not isinstance(config, dict):
        hint = f" such as {{'learning_rate': {config!r}}}" if isinstance(config, numbers.Real) else ""
        raise TypeError(f"{rule}: config must be a dict{hint} or None, got {type(config).__name__} {config!r}")
    for key, value in config.items():
        if key not in hyper + state:
            close = (
                [ALIASES[key]] if ALIASES.get(key) in hyper else difflib.get_close_matches(str(key), hyper + state, n=1)
            )
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"{rule}: unknown config key {key!r} (it takes {', '.join(hyper + state)}){hint}")
        if key in RANGES:
            low, high, closed = RANGES[key]
            _check_number(rule, key, value, low, high, closed and not (start and key == "learning_rate"))
        elif key == "t":
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"{rule}: config['t'] counts the steps taken, an integer >= 0, got {value!r}")
        elif value is not None and w is not None and np.shape(value) != np.shape(w):
            raise ValueError(
                f"{rule}: config[{key!r}] has shape {np.shape(value)}, expected {np.shape(w)}, the shape of w "
                "(the state of another parameter? every parameter needs its own config)"
            )
    return config


def _check_number(rule, key, value, low, high, closed):
    """Raise unless ``value`` is a real number in the range (low, high) (or [low, high) when ``closed``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{rule}: config[{key!r}] must be a number, got {type(value).__name__} {value!r}")
    if not ((low <= value if closed else low < value) and value < high):
        raise ValueError(f"{rule}: config[{key!r}] must be {_describe(low, high, closed)}, got {value!r}")


def check_update(rule, w, dw, config):
    """The checks at the start of every update rule: ``dw`` shaped like ``w``, then ``check_config``.

    Returns
    -------
    config : dict
        ``config``, or a new empty dict when it is None.
    """
    w_shape, dw_shape = np.shape(w), np.shape(dw)
    if w_shape != dw_shape:
        raise ValueError(f"dw must have the shape of w: w has shape {w_shape}, dw has shape {dw_shape}")
    return check_config(rule, config, w)


def keep_dtype(w, next_w, config):
    """``(next_w, config)`` with next_w and the state arrays in w's float dtype (float32 stays float32).

    A learning rate that is a numpy float64 (``10 ** np.random.uniform(-4, -2)``) or a float64 gradient
    would otherwise turn float32 weights into float64 ones.
    """
    dtype = getattr(w, "dtype", None)
    if next_w is None or dtype is None or not np.issubdtype(dtype, np.floating):
        return next_w, config
    for key, value in config.items():
        if isinstance(value, np.ndarray) and value.dtype != dtype and key != "t":
            config[key] = value.astype(dtype)
    return np.asarray(next_w).astype(dtype, copy=False), config
