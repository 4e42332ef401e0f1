"""Tests for cs231n/threads.py: how many BLAS threads training uses, and that they are restored."""

import re

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from cs231n import threads
from cs231n.solver import LossDivergedError, Solver
from cs231n.threads import blas_threads, busy_cores, choose_threads, free_cores, read_cpu_ticks

# Two readings of /proc/stat, 10 ticks apart on each CPU: cpu0 busy 8 of 10 ticks (user 5, system 2,
# steal 1; iowait counts as free), cpu1 busy 1 of 10 (irq). Columns: user nice system idle iowait irq
# softirq steal guest guest_nice.
STAT_BEFORE = """cpu  300 0 200 1000 20 10 0 5 0 0
cpu0 100 0 100 500 10 0 0 5 0 0
cpu1 200 0 100 500 10 10 0 0 0 0
intr 12345 0 0
ctxt 999
"""
STAT_AFTER = """cpu  305 0 202 1010 21 11 0 6 0 0
cpu0 105 0 102 501 11 0 0 6 0 0
cpu1 200 0 100 509 10 11 0 0 0 0
intr 12400 0 0
ctxt 1999
"""


@pytest.fixture
def fresh(monkeypatch):
    """No measurement left from an earlier test, and none of the thread variables set."""
    monkeypatch.setattr(threads, "_last", None)
    for name in (threads.ENV_VAR, *threads.BLAS_ENV_VARS):
        monkeypatch.delenv(name, raising=False)


def fake_machine(monkeypatch, cpus, busy):
    """Make the automatic choice see ``cpus`` usable CPUs of which other programs keep ``busy`` busy."""
    calls = []

    def measure(cpu_list):
        calls.append(list(cpu_list))
        return busy

    monkeypatch.setattr(threads, "usable_cpus", lambda: list(range(cpus)))
    monkeypatch.setattr(threads, "measure_busy_cores", measure)
    return calls


def blas_thread_counts():
    """numpy's BLAS thread counts as threadpoolctl reports them (skips when it sees no BLAS)."""
    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    if not counts:
        pytest.skip("threadpoolctl finds no BLAS to control in this numpy")
    return counts


# ---------------------------------------------------------------- reading the machine


def test_read_cpu_ticks_takes_busy_and_total_ticks_of_the_wanted_cpus(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text(STAT_BEFORE)
    # busy = user + nice + system + irq + softirq + steal; total adds idle and iowait.
    assert read_cpu_ticks([0, 1], stat) == {0: (205, 715), 1: (310, 820)}
    assert read_cpu_ticks([1], stat) == {1: (310, 820)}
    assert read_cpu_ticks([0], tmp_path / "missing") is None


def test_busy_cores_sums_each_cpus_busy_fraction(tmp_path):
    (tmp_path / "a").write_text(STAT_BEFORE)
    (tmp_path / "b").write_text(STAT_AFTER)
    before, after = read_cpu_ticks([0, 1], tmp_path / "a"), read_cpu_ticks([0, 1], tmp_path / "b")
    assert busy_cores(before, after, own_cpu_seconds=0.0, seconds=0.1) == pytest.approx(0.8 + 0.1)


def test_busy_cores_leaves_out_this_processs_own_cpu_time():
    before = {0: (0, 0), 1: (0, 0)}
    after = {0: (10, 10), 1: (10, 10)}  # both CPUs fully busy
    # This process ran 0.15 s of CPU in 0.1 s (1.5 cores): the others kept 0.5 cores busy.
    assert busy_cores(before, after, own_cpu_seconds=0.15, seconds=0.1) == pytest.approx(0.5)
    # All of it this process's own (spinning BLAS threads): nothing else is busy, never below 0.
    assert busy_cores(before, after, own_cpu_seconds=0.25, seconds=0.1) == 0.0


def scripted_readings(monkeypatch, readings):
    """Make take_reading return ``readings`` one by one and time.sleep only record; returns the sleeps."""
    sleeps = []
    monkeypatch.setattr(threads, "take_reading", lambda cpus: readings.pop(0))
    monkeypatch.setattr(threads.time, "sleep", sleeps.append)
    return sleeps


# Readings (wall clock, this process's CPU seconds, CPU ticks) of a 2-CPU machine whose CPUs run at
# 100 ticks per second: at t=10 s, then 2 s later with each CPU busy 3/4 of the time (1.5 cores),
# 1 s of CPU time of it this process's own (0.5 cores; so other programs kept 1 core busy).
AT_10 = (10.0, 4.0, {0: (0, 1000), 1: (0, 1000)})
AT_12 = (12.0, 5.0, {0: (150, 1200), 1: (150, 1200)})


def test_the_busy_cores_are_measured_since_the_previous_reading_without_waiting(fresh, monkeypatch):
    monkeypatch.setattr(threads, "_last", (AT_10, None))
    sleeps = scripted_readings(monkeypatch, [AT_12])
    assert threads.measure_busy_cores([0, 1]) == pytest.approx(1.5 - 0.5)
    assert sleeps == []
    assert threads._last == (AT_12, pytest.approx(1.0))


def test_when_this_process_crowded_the_others_they_are_measured_again_while_it_waits(fresh, monkeypatch):
    # From t=10 s to 12 s both CPUs were taken: 1.2 cores by this process, 0.8 by others (what they
    # got, not what they wanted). Then 0.1 s with this process waiting: the others take both CPUs.
    monkeypatch.setattr(threads, "_last", (AT_10, None))
    crowded = (12.0, 6.4, {0: (200, 1200), 1: (200, 1200)})
    alone = (12.1, 6.4, {0: (210, 1210), 1: (210, 1210)})
    sleeps = scripted_readings(monkeypatch, [crowded, alone])
    assert threads.measure_busy_cores([0, 1]) == pytest.approx(2.0)
    assert sleeps == [threads.MIN_SPAN]
    assert threads._last == (alone, pytest.approx(2.0))


def test_a_reading_less_than_min_span_after_the_last_gives_the_last_result_again(fresh, monkeypatch):
    monkeypatch.setattr(threads, "_last", (AT_12, 1.25))
    soon = (12.05, 5.6, {0: (205, 1205), 1: (205, 1205)})
    sleeps = scripted_readings(monkeypatch, [soon])
    assert threads.measure_busy_cores([0, 1]) == 1.25
    assert sleeps == [] and threads._last == (AT_12, 1.25)


def test_without_a_result_a_reading_too_soon_waits_for_the_rest_of_min_span(fresh, monkeypatch):
    monkeypatch.setattr(threads, "_last", (AT_10, None))
    soon = (10.04, 4.0, {0: (2, 1004), 1: (0, 1004)})
    later = (10.1, 4.0, {0: (10, 1010), 1: (0, 1010)})  # cpu0 fully busy, this process idle
    sleeps = scripted_readings(monkeypatch, [soon, later])
    assert threads.measure_busy_cores([0, 1]) == pytest.approx(1.0)
    assert sleeps == [pytest.approx(threads.MIN_SPAN - 0.04)]


@pytest.mark.parametrize("last", [None, (AT_10[0] - threads.MAX_SPAN - 1, 0.0, AT_10[2])], ids=["none", "stale"])
def test_without_a_recent_reading_a_fresh_pair_min_span_apart_is_compared(fresh, monkeypatch, last):
    monkeypatch.setattr(threads, "_last", None if last is None else (last, 0.0))
    later = (10.1, 4.0, {0: (1010, 2010), 1: (10, 1010)})  # 0.1 s after AT_10: both CPUs fully busy
    sleeps = scripted_readings(monkeypatch, [AT_10, later])
    assert threads.measure_busy_cores([0, 1]) == pytest.approx(2.0)
    assert sleeps == [threads.MIN_SPAN]


def test_measure_busy_cores_falls_back_to_the_load_average_then_to_nothing(monkeypatch):
    monkeypatch.setattr(threads, "read_cpu_ticks", lambda cpus: None)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (1.25, 0.5, 0.25))
    assert threads.measure_busy_cores([0, 1]) == 1.25

    def no_load():
        raise OSError("no /proc/loadavg")

    monkeypatch.setattr(threads.os, "getloadavg", no_load)
    assert threads.measure_busy_cores([0, 1]) is None


# ---------------------------------------------------------------- the choice


@pytest.mark.parametrize(
    "cores, busy, expected",
    [
        (2, 0.0, 2),  # quiet: every core
        (2, 0.3, 2),  # background noise does not cost a thread
        (2, 0.6, 1),
        (2, 1.0, 1),  # one other program: one free core
        (2, 2.0, 1),  # as many busy programs as cores: still one thread
        (2, 7.5, 1),  # overloaded
        (8, 2.2, 6),
        (8, 5.5, 3),  # a half rounds up
        (1, 0.0, 1),
    ],
)
def test_free_cores_is_the_rounded_number_of_idle_cores_at_least_one(cores, busy, expected):
    assert free_cores(cores, busy) == expected


@pytest.mark.parametrize("busy, expected", [(0.05, 2), (1.1, 1), (2.0, 1)])
def test_auto_choice_takes_the_free_cores_of_the_usable_cpus(fresh, monkeypatch, busy, expected):
    calls = fake_machine(monkeypatch, cpus=2, busy=busy)
    chosen, note = choose_threads()
    assert chosen == expected
    assert calls == [[0, 1]]
    assert f"BLAS threads: {expected}" in note and f"{busy:.1f} busy" in note


def test_a_machine_that_reports_no_load_keeps_the_blas_default(fresh, monkeypatch):
    fake_machine(monkeypatch, cpus=2, busy=None)
    chosen, note = choose_threads()
    assert chosen is None and "default" in note


def test_a_given_count_wins_over_the_environment_and_the_machine(fresh, monkeypatch):
    calls = fake_machine(monkeypatch, cpus=2, busy=2.0)
    monkeypatch.setenv("CS231N_NUM_THREADS", "1")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert choose_threads(3) == (3, "BLAS threads: 3 (as asked)")
    assert choose_threads(np.int64(2)) == (2, "BLAS threads: 2 (as asked)")
    assert calls == []


def test_cs231n_num_threads_sets_the_count_or_asks_for_the_automatic_choice(fresh, monkeypatch):
    calls = fake_machine(monkeypatch, cpus=2, busy=2.0)
    monkeypatch.setenv("OMP_NUM_THREADS", "8")  # the kit's own variable comes first
    monkeypatch.setenv("CS231N_NUM_THREADS", " 2 ")
    assert choose_threads() == (2, "BLAS threads: 2 (CS231N_NUM_THREADS=2)")
    monkeypatch.setenv("CS231N_NUM_THREADS", "AUTO")
    assert choose_threads()[0] == 1
    assert len(calls) == 1


@pytest.mark.parametrize("name", ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"])
def test_a_blas_variable_set_by_the_user_is_left_alone(fresh, monkeypatch, name):
    calls = fake_machine(monkeypatch, cpus=2, busy=2.0)
    monkeypatch.setenv(name, "2")
    assert choose_threads() == (None, f"BLAS threads: left to {name}=2")
    assert calls == []


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "two", "0", "", "2.0", "²"])
def test_a_bad_count_is_refused_naming_where_it_came_from(fresh, value):
    with pytest.raises(ValueError, match=r'num_threads must be a number of threads \(1 or more\) or "auto"'):
        choose_threads(value)


def test_a_bad_cs231n_num_threads_is_refused_naming_the_variable(fresh, monkeypatch):
    monkeypatch.setenv("CS231N_NUM_THREADS", "all")
    with pytest.raises(ValueError, match="CS231N_NUM_THREADS must be .* got 'all'"):
        choose_threads()


# ---------------------------------------------------------------- setting and restoring


def skip_unless_blas_can_run_two_threads():
    with threadpool_limits(limits=2, user_api="blas"):
        if set(blas_thread_counts()) != {2}:
            pytest.skip("numpy's BLAS cannot run 2 threads here")


def test_blas_threads_sets_the_count_inside_and_restores_it_after(fresh):
    skip_unless_blas_can_run_two_threads()
    with threadpool_limits(limits=1, user_api="blas"):
        before = blas_thread_counts()
        with blas_threads(2) as note:
            inside = blas_thread_counts()
        after = blas_thread_counts()
    assert (before, inside, after) == ([1] * len(before), [2] * len(before), [1] * len(before))
    assert note == "BLAS threads: 2 (as asked)"


def test_blas_threads_restores_the_count_after_an_exception(fresh):
    before = blas_thread_counts()
    with pytest.raises(KeyError), blas_threads(1):
        assert blas_thread_counts() == [1] * len(before)
        raise KeyError("stop")
    assert blas_thread_counts() == before


def test_blas_threads_changes_nothing_when_left_to_the_environment(fresh, monkeypatch):
    fake_machine(monkeypatch, cpus=2, busy=0.0)  # the automatic choice would say 2
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    with threadpool_limits(limits=1, user_api="blas"):
        before = blas_thread_counts()
        with blas_threads() as note:
            assert blas_thread_counts() == before
    assert note.startswith("BLAS threads: left to OPENBLAS_NUM_THREADS")


# ---------------------------------------------------------------- the Solver


class ThreadRecorder:
    """A linear softmax model whose loss records numpy's BLAS thread count at each call.

    With ``fail_at=k`` the k-th training loss (with labels) is NaN.
    """

    def __init__(self, fail_at=None):
        self.params = {"W": np.full((4, 3), 0.01)}
        self.seen = []
        self.fail_at = fail_at
        self.updates = 0

    def loss(self, X, y=None):
        self.seen.append(blas_thread_counts())
        scores = X @ self.params["W"]
        if y is None:
            return scores
        self.updates += 1
        if self.updates == self.fail_at:
            return np.nan, {"W": np.zeros_like(self.params["W"])}
        probs = np.exp(scores - scores.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        dscores = probs.copy()
        dscores[np.arange(len(y)), y] -= 1
        return -np.mean(np.log(probs[np.arange(len(y)), y])), {"W": X.T @ dscores / len(y)}


def four_feature_data():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 4)), rng.integers(0, 3, size=20)
    return {"X_train": X, "y_train": y, "X_val": X[:5], "y_val": y[:5]}


def test_the_solver_trains_on_the_threads_it_is_given_and_restores_them(fresh):
    skip_unless_blas_can_run_two_threads()
    model = ThreadRecorder()
    with threadpool_limits(limits=1, user_api="blas"):
        before = blas_thread_counts()
        Solver(model, four_feature_data(), batch_size=5, num_epochs=2, num_threads=2, verbose=False).train()
        after = blas_thread_counts()
    assert len(model.seen) > 8 and all(seen == [2] * len(before) for seen in model.seen)
    assert after == before == [1] * len(before)


def test_the_solver_restores_the_threads_when_the_loss_diverges(fresh):
    model = ThreadRecorder(fail_at=3)
    before = blas_thread_counts()
    solver = Solver(model, four_feature_data(), batch_size=5, num_epochs=2, num_threads=1, verbose=False)
    with pytest.raises(LossDivergedError):
        solver.train()
    assert model.seen[0] == [1] * len(before)
    assert blas_thread_counts() == before


def test_by_default_the_solver_trains_on_the_free_cores_and_says_so(fresh, monkeypatch, capsys):
    fake_machine(monkeypatch, cpus=2, busy=1.8)
    model = ThreadRecorder()
    Solver(model, four_feature_data(), batch_size=5, num_epochs=1, print_every=100).train()
    assert all(seen == [1] * len(seen) for seen in model.seen)
    assert capsys.readouterr().out.splitlines()[0] == "BLAS threads: 1 (2 cores, 1.8 busy with other work)"


@pytest.mark.parametrize("value", [0, "many", 2.5])
def test_the_solver_refuses_a_bad_num_threads_when_it_is_built(value):
    with pytest.raises(ValueError, match=f"num_threads must be .* got {re.escape(repr(value))}"):
        Solver(ThreadRecorder(), four_feature_data(), num_threads=value)
