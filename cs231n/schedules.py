"""Learning-rate schedules for the Solver's ``lr_schedule`` setting.

Each schedule maps ``(lr0, t, T)`` to the learning rate of update number ``t``, where ``t`` counts updates
from 1 (the first minibatch) to ``T`` (the last one of the whole run, ``num_epochs *
iterations_per_epoch``) and ``lr0`` is the base learning rate ``optim_config["learning_rate"]``.
``LR_SCHEDULES`` maps the names the Solver accepts to these functions, and ``schedule_function`` looks
a setting up. For other step points use ``functools.partial(step_lr, milestones=..., gamma=...)``.
"""

import math


def _check_t(t, T):
    """Raise ValueError unless 1 <= t <= T (t counts updates from 1)."""
    if not 1 <= t <= T:
        raise ValueError(f"t must be an update number between 1 and T={T}, got t={t}")


def step_lr(lr0, t, T, milestones=(0.5, 0.75), gamma=0.1):
    """Step decay: multiply the learning rate by ``gamma`` at each milestone.

    Parameters
    ----------
    lr0 : float
        Base learning rate.
    t : int
        Update number, from 1 to T.
    T : int
        Total number of updates in the run.
    milestones : sequence of float
        Fractions of the run (in (0, 1)) after which the rate drops; the default drops it after half
        and after three quarters of the updates.
    gamma : float
        Factor applied at each milestone.

    Returns
    -------
    float
        ``lr0 * gamma**k`` where k is the number of milestones m with ``t > m * T``.
    """
    _check_t(t, T)
    passed = sum(t > m * T for m in milestones)
    return lr0 * gamma**passed


def cosine_lr(lr0, t, T):
    """Cosine decay: ``lr0 / 2 * (1 + cos(pi * t / T))``, from about lr0 down to 0 at t = T.

    Parameters
    ----------
    lr0 : float
        Base learning rate.
    t : int
        Update number, from 1 to T.
    T : int
        Total number of updates in the run.

    Returns
    -------
    float
        The learning rate of update t.
    """
    _check_t(t, T)
    return lr0 / 2 * (1 + math.cos(math.pi * t / T))


def linear_lr(lr0, t, T):
    """Linear decay: ``lr0 * (1 - t / T)``, from about lr0 down to 0 at t = T.

    Parameters
    ----------
    lr0 : float
        Base learning rate.
    t : int
        Update number, from 1 to T.
    T : int
        Total number of updates in the run.

    Returns
    -------
    float
        The learning rate of update t.
    """
    _check_t(t, T)
    return lr0 * (1 - t / T)


def inv_sqrt_lr(lr0, t, T):
    """Inverse square root decay: ``lr0 / sqrt(t)``; the first update uses lr0.

    Parameters
    ----------
    lr0 : float
        Base learning rate.
    t : int
        Update number, from 1 to T.
    T : int
        Total number of updates in the run (only checked).

    Returns
    -------
    float
        The learning rate of update t.
    """
    _check_t(t, T)
    return lr0 / math.sqrt(t)


LR_SCHEDULES = {"step": step_lr, "cosine": cosine_lr, "linear": linear_lr, "inv_sqrt": inv_sqrt_lr}


def schedule_function(lr_schedule):
    """The schedule named by ``lr_schedule`` in LR_SCHEDULES, or ``lr_schedule`` itself (a function or None)."""
    if isinstance(lr_schedule, str):
        if lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {sorted(LR_SCHEDULES)} or a function, got {lr_schedule!r}")
        return LR_SCHEDULES[lr_schedule]
    if lr_schedule is not None and not callable(lr_schedule):
        raise ValueError(f"lr_schedule must be a name, a function or None, got {lr_schedule!r}")
    return lr_schedule
