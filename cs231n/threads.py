"""How many threads numpy's matrix products use while the Solver trains.

numpy hands every matrix product to a BLAS library (OpenBLAS in numpy's wheels), which by default
runs one thread per core. On a quiet machine that helps. On a busy one (another program, a second
notebook, a shared lab machine) the threads of one product wait for each other while the other work
holds their cores, and training can run several times slower than on a single thread.

So the Solver trains inside ``blas_threads(num_threads)``, which picks the thread count once, when
training starts, and restores the previous count afterwards. The choice, first match wins:

1. ``num_threads``, when given: a number of threads, or ``"auto"``;
2. the environment variable ``CS231N_NUM_THREADS``: a number, or ``"auto"``;
3. ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS``, when one is set: BLAS already
   follows it, and the kit leaves it alone;
4. ``"auto"``: the free cores, that is the cores this process may use minus the cores other programs
   kept busy lately, rounded, at least 1.

The busy cores come from the CPU counters in ``/proc/stat`` (Linux): the busy time of each usable CPU
between two readings, less the CPU time this process itself used meanwhile (its own training, its
idle BLAS threads that may still be spinning). The readings compared are the one taken now and the
previous one (from the last choice, or from when this module was imported), so a choice usually
costs no waiting: when they are less than ``MIN_SPAN`` (0.1 s) apart, the last result is used again;
when the previous reading is older than ``MAX_SPAN`` (30 s), a fresh one is taken and compared with
one 0.1 s later. So is it when every core was taken in between and both this process and others had
a share: this process crowded them, and only a reading while it waits shows how much they would take.
Without ``/proc/stat`` the one-minute load average stands in (it lags, and it counts
this process's own recent training too); without either, BLAS keeps its default.

Example::

    with blas_threads() as note:  # e.g. "BLAS threads: 1 (2 cores, 1.9 busy with other work)"
        solver_loop()             # numpy's matrix products run on that many threads
    # the thread count from before is back
"""

import math
import numbers
import os
import time
from contextlib import contextmanager
from pathlib import Path

from threadpoolctl import threadpool_limits

ENV_VAR = "CS231N_NUM_THREADS"
BLAS_ENV_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
MIN_SPAN = 0.1  # seconds: the shortest time between two readings compared
MAX_SPAN = 30.0  # seconds: an earlier reading older than this no longer tells how busy the machine is
SHARED = 0.25  # cores: less idle time than this means every core was taken

_last = None  # (the last reading, the busy cores measured up to it or None); set at import, below


def usable_cpus():
    """The CPU numbers this process may run on (its affinity), or all of them where that is unknown.

    Returns
    -------
    list of int
    """
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return list(range(os.cpu_count() or 1))


def read_cpu_ticks(cpus, stat_path="/proc/stat"):
    """Busy and total clock ticks of each CPU since boot, from ``/proc/stat``.

    Parameters
    ----------
    cpus : iterable of int
        The CPU numbers to read (lines ``cpu0``, ``cpu1``, ...).
    stat_path : str or os.PathLike
        The file to read.

    Returns
    -------
    dict or None
        CPU number -> (busy ticks, total ticks); None when the file cannot be read. Idle and I/O-wait
        time count as free; user, system, interrupt and stolen time as busy.
    """
    try:
        lines = Path(stat_path).read_text().splitlines()
    except OSError:
        return None
    wanted = set(cpus)
    ticks = {}
    for line in lines:
        name, *fields = line.split()
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in wanted:
            # user nice system idle iowait irq softirq steal (guest time is already in user)
            values = [int(v) for v in fields[:8]]
            total = sum(values)
            ticks[int(name[3:])] = (total - values[3] - values[4], total)
    return ticks


def busy_cores(before, after, own_cpu_seconds, seconds):
    """Cores kept busy by other programs between two readings of ``read_cpu_ticks``.

    Parameters
    ----------
    before, after : dict
        CPU number -> (busy ticks, total ticks), the earlier and the later reading.
    own_cpu_seconds : float
        CPU time this process used between the readings (all its threads).
    seconds : float
        Wall time between the readings.

    Returns
    -------
    float
        The sum over CPUs of the fraction of time each was busy, less this process's own share;
        at least 0.
    """
    busy = 0.0
    for cpu, (busy_after, total_after) in after.items():
        busy_before, total_before = before.get(cpu, (busy_after, total_after))
        if total_after > total_before:
            busy += (busy_after - busy_before) / (total_after - total_before)
    own = own_cpu_seconds / seconds if seconds > 0 else 0.0
    return max(0.0, busy - own)


def take_reading(cpus):
    """This moment as ``measure_busy_cores`` compares it: (wall clock, this process's CPU time, CPU ticks).

    Returns
    -------
    tuple
        ``(time.monotonic(), time.process_time(), read_cpu_ticks(cpus))``.
    """
    return time.monotonic(), time.process_time(), read_cpu_ticks(cpus)


def measure_busy_cores(cpus):
    """Cores of ``cpus`` that other programs kept busy lately, or None when the machine does not say.

    Compares a reading taken now with the previous one (see the module docstring); without
    ``/proc/stat``, returns the one-minute load average.
    """
    global _last
    now = take_reading(cpus)
    if now[2] is None:
        try:
            return os.getloadavg()[0]
        except (AttributeError, OSError):  # Windows, or no /proc
            return None
    last, last_busy = _last if _last is not None else (None, None)
    if last is None or last[2] is None or now[0] - last[0] > MAX_SPAN:
        last = now
        time.sleep(MIN_SPAN)
        now = take_reading(cpus)
    elif now[0] - last[0] < MIN_SPAN:
        if last_busy is not None:
            return last_busy
        time.sleep(MIN_SPAN - (now[0] - last[0]))
        now = take_reading(cpus)
    seconds, own_cpu_seconds = now[0] - last[0], now[1] - last[1]
    busy = busy_cores(last[2], now[2], own_cpu_seconds, seconds)
    everything = busy_cores(last[2], now[2], 0.0, seconds)
    if busy > SHARED and own_cpu_seconds / seconds > SHARED and everything > len(now[2]) - SHARED:
        # Every core was taken and this process shared them with others: what the others got says
        # little of what they would take. Measure them alone, while this process waits.
        last = now
        time.sleep(MIN_SPAN)
        now = take_reading(cpus)
        busy = busy_cores(last[2], now[2], own_cpu_seconds=now[1] - last[1], seconds=now[0] - last[0])
    _last = (now, busy)
    return busy


def free_cores(cores, busy):
    """Threads for ``cores`` usable cores when other programs keep ``busy`` of them busy.

    Parameters
    ----------
    cores : int
        Cores this process may use.
    busy : float
        Cores busy with other work (may exceed ``cores`` on an overloaded machine).

    Returns
    -------
    int
        ``cores - busy`` rounded to the nearest whole number, between 1 and ``cores``.
    """
    return max(1, min(cores, math.floor(cores - busy + 0.5)))


def parse_num_threads(value, source):
    """``"auto"`` or a thread count of at least 1, from ``source`` (named in the error)."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "auto":
            return "auto"
        if text.isascii() and text.isdigit() and int(text) >= 1:
            return int(text)
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1:
        return int(value)
    raise ValueError(f'{source} must be a number of threads (1 or more) or "auto", got {value!r}')


def choose_threads(num_threads=None, environ=None):
    """Decide how many BLAS threads training uses (see the module docstring for the order).

    Parameters
    ----------
    num_threads : int, str or None
        A thread count, ``"auto"``, or None to look at the environment.
    environ : mapping, optional
        The environment variables (default ``os.environ``).

    Returns
    -------
    threads : int or None
        The thread count to set, or None to leave BLAS as it is.
    note : str
        One line saying what was chosen and why.

    Raises
    ------
    ValueError
        ``num_threads`` or ``CS231N_NUM_THREADS`` is neither a positive whole number nor "auto".
    """
    environ = os.environ if environ is None else environ
    if num_threads is not None:
        choice, why = parse_num_threads(num_threads, "num_threads"), "as asked"
    elif environ.get(ENV_VAR, "").strip():
        choice = parse_num_threads(environ[ENV_VAR], ENV_VAR)
        why = f"{ENV_VAR}={choice}"
    else:
        for name in BLAS_ENV_VARS:
            if environ.get(name, "").strip():
                return None, f"BLAS threads: left to {name}={environ[name]}"
        choice = "auto"
    if choice != "auto":
        return choice, f"BLAS threads: {choice} ({why})"

    cpus = usable_cpus()
    busy = measure_busy_cores(cpus)
    if busy is None:
        return None, "BLAS threads: left at the default (this machine does not report its load)"
    threads = free_cores(len(cpus), busy)
    return threads, f"BLAS threads: {threads} ({len(cpus)} cores, {busy:.1f} busy with other work)"


@contextmanager
def blas_threads(num_threads=None):
    """Run the ``with`` block with numpy's BLAS on ``choose_threads(num_threads)`` threads.

    The thread count from before is restored when the block ends, also on an exception.

    Parameters
    ----------
    num_threads : int, str or None
        As for ``choose_threads``.

    Yields
    ------
    note : str
        The line from ``choose_threads`` saying what was chosen.
    """
    threads, note = choose_threads(num_threads)
    if threads is None:
        yield note
        return
    with threadpool_limits(limits=threads, user_api="blas"):
        yield note


_last = (take_reading(usable_cpus()), None)  # the first reading, for the first choice to compare with
