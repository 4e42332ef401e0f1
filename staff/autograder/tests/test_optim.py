"""Grading tests for ``cs231n/optim.py``: sgd_momentum, rmsprop and adam against the reference.

The scenario runs the update rule in the sandbox (student's ``optim``) and here (the reference). The
module's promises are graded too: ``next_w`` keeps w's dtype, and no rule changes ``w`` or ``dw`` (the
runner checks every argument but ``config``, which holds the rule's running state).
"""

import numpy as np
import pytest

from staff.autograder.checks import assert_close, case, unpack

RULES = ["sgd_momentum", "rmsprop", "adam"]
# The running state each rule keeps in its config.
STATE = {"sgd_momentum": ["velocity"], "rmsprop": ["cache"], "adam": ["m", "v", "t"]}


def optim_steps(rule, w, dws, config):
    """Apply ``rule`` once per gradient in ``dws``; return the final weights and config."""
    from cs231n import optim

    for dw in dws:
        w, config = getattr(optim, rule)(w, dw, config)
    return w, dict(config)


def mid_training_config(rule, rng, shape):
    """A config part-way through training: non-default hyperparameters and non-zero state."""
    config = {"learning_rate": 0.05}
    if rule == "sgd_momentum":
        config.update(momentum=0.8, velocity=rng.standard_normal(shape) * 0.1)
    elif rule == "rmsprop":
        config.update(decay_rate=0.9, cache=rng.random(shape) * 0.1)
    else:
        config.update(beta1=0.8, beta2=0.99, m=rng.standard_normal(shape) * 0.1, v=rng.random(shape) * 0.1, t=4)
    return config


def _run_both(student, rule, w, dws, config):
    got = unpack(rule, student.run(optim_steps, rule, w, dws, config, label=rule, mutable=["config"]), 2)
    return got, optim_steps(rule, w.copy(), dws, None if config is None else dict(config))


@pytest.mark.parametrize("rule", [case(r, function=r, points=1, id=r) for r in RULES])
def test_one_step_matches_reference(student, rule):
    """one update from a mid-training config gives the reference next_w"""
    rng = np.random.default_rng(50)
    w, dw = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    (got_w, _), (expected_w, _) = _run_both(student, rule, w, [dw], mid_training_config(rule, rng, w.shape))
    assert_close(f"next_w of {rule}", got_w, expected_w)


@pytest.mark.parametrize("rule", [case(r, function=r, points=1, id=r) for r in RULES])
def test_one_step_updates_the_state_in_config(student, rule):
    """one update stores the reference state (velocity / cache / m, v, t) in config"""
    rng = np.random.default_rng(51)
    w, dw = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    (_, got), (_, expected) = _run_both(student, rule, w, [dw], mid_training_config(rule, rng, w.shape))
    for key in STATE[rule]:
        if not isinstance(got, dict) or key not in got:
            raise AssertionError(f"the config returned by {rule} has no {key!r}")
        assert_close(f"config[{key!r}] of {rule}", got[key], expected[key])


@pytest.mark.parametrize("rule", [case(r, function=r, points=1, hidden=True, id=r) for r in RULES])
def test_several_steps_from_default_config_match_reference(student, rule):
    """five updates starting from config=None (the defaults) give the reference weights"""
    rng = np.random.default_rng(52)
    w = rng.standard_normal((2, 5))
    dws = [rng.standard_normal((2, 5)) for _ in range(5)]
    (got_w, _), (expected_w, _) = _run_both(student, rule, w, dws, None)
    assert_close(f"weights after 5 steps of {rule}", got_w, expected_w)


@pytest.mark.parametrize("rule", [case(r, function=r, points=1, id=r) for r in RULES])
def test_float32_weights_stay_float32(student, rule):
    """float32 w and dw give a float32 next_w with the reference's values"""
    rng = np.random.default_rng(53)
    w, dw = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32)
    (got_w, _), _ = _run_both(student, rule, w, [dw], None)
    expected, _ = optim_steps(rule, w.astype(np.float64), [dw.astype(np.float64)], None)
    if np.asarray(got_w).dtype != np.float32:
        raise AssertionError(f"next_w of {rule} has dtype {np.asarray(got_w).dtype} for float32 w: keep w's dtype")
    assert_close(f"next_w of {rule}", got_w, expected, rtol=1e-4, atol=1e-6)
