"""Did a student call change its inputs? Compare the arguments sent with what they hold afterwards.

The grader keeps its own copies of the arguments of every call; the student process sends the
arguments back as they are after the call, and :func:`first_change` names the first one that differs
(an array written in place, a reshaped array, an item added to a list or dict).
"""

import copy

import numpy as np

_MISSING = object()  # a keyword argument that did not come back


def snapshot(args, kwargs):
    """Deep copies of a call's arguments, kept in the trusted process."""
    return copy.deepcopy(list(args)), copy.deepcopy(dict(kwargs))


def _same_array(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _change(before, after, path):
    """Return the path of the first difference between ``before`` and ``after``, or None."""
    if isinstance(before, (np.ndarray, np.generic)) or isinstance(after, (np.ndarray, np.generic)):
        return None if _same_array(before, after) else path
    if isinstance(before, (tuple, list)):
        if type(after) is not type(before) or len(after) != len(before):
            return path
        for i, (b, a) in enumerate(zip(before, after)):
            found = _change(b, a, f"{path}[{i}]")
            if found:
                return found
        return None
    if isinstance(before, dict):
        if not isinstance(after, dict) or set(after) != set(before):
            return path
        for key in before:
            found = _change(before[key], after[key], f"{path}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(before, float) and isinstance(after, float) and before != before and after != after:
        return None  # NaN stays NaN
    return None if type(after) is type(before) and after == before else path


def first_change(before, after, names=None, mutable=()):
    """Name the first argument that a call changed, or return None when all are unchanged.

    Parameters
    ----------
    before : (list, dict)
        The positional and keyword arguments as sent (from :func:`snapshot`).
    after : (list, dict)
        The same arguments as the student process holds them after the call.
    names : list of str, optional
        Names of the positional parameters (``argument 1``, ... when missing).
    mutable : collection of str
        Parameters the function may change (an update rule's ``config``).

    Returns
    -------
    path : str or None
        E.g. ``"x"``, ``"cache[0]"`` or ``"params['W1']"``.
    """
    args, kwargs = before
    if not isinstance(after, (tuple, list)) or len(after) != 2:
        return "its arguments"
    after_args, after_kwargs = after
    if not isinstance(after_args, list) or len(after_args) != len(args) or not isinstance(after_kwargs, dict):
        return "its arguments"
    names = list(names or [])
    labelled = [
        (names[i] if i < len(names) else f"argument {i + 1}", b, a) for i, (b, a) in enumerate(zip(args, after_args))
    ]
    labelled += [(k, v, after_kwargs.get(k, _MISSING)) for k, v in kwargs.items()]
    for name, b, a in labelled:
        if name not in mutable:
            found = _change(b, a, name)
            if found:
                return found
    return None
