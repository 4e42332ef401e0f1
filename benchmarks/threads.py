"""Threads benchmark: training time under each BLAS thread choice, on a quiet and on a busy machine.

The workload is the notebook's default net, ``TwoLayerNet(hidden_dim=100)`` trained by the Solver
with sgd (learning rate 1e-3, batch 200) for ``--epochs`` epochs on the first ``--num-training``
CIFAR-10 images (float64, as in ``notebooks/two_layer_net.ipynb``), accuracy checks included.
It runs under each thread choice:

- ``auto``: the kit's choice (``Solver(num_threads=None)``), as it is made in a notebook that trains
  again and again (measured since the previous choice);
- ``default``: the thread count numpy's BLAS started with, which is what training used before the kit
  chose (it equals ``Solver(num_threads=k)`` with that count k, so nothing else differs);
- ``1``, ``2``, ...: every fixed count up to the usable cores.

Regimes: ``quiet`` adds nothing to whatever else runs on the machine (the load average is printed
of each regime at its start and end); ``busy`` starts one busy-loop process per usable core, waits a second, measures,
and stops them. Within a regime the choices run interleaved, ``--repeat`` rounds, each round starting
one choice further along; the table gives the
median wall time of each, and its ratio to the best fixed count and to ``default``.

    python benchmarks/threads.py
    python benchmarks/threads.py --regime busy --repeat 5
"""

import argparse
import contextlib
import io
import os
import sys
import time
from pathlib import Path

import numpy as np
from common import command_line, find_cifar10_dir, machine_line, markdown_table, start_busy_processes, stop
from threadpoolctl import threadpool_info

from cs231n import threads
from cs231n.classifiers.fc_net import TwoLayerNet
from cs231n.data_utils import get_CIFAR10_data
from cs231n.solver import Solver

BATCH_SIZE, HIDDEN = 200, 100


def train_once(data, epochs, num_threads):
    """Train the notebook's default net once; returns (wall seconds, the Solver's line on BLAS threads)."""
    np.random.seed(0)
    model = TwoLayerNet(hidden_dim=HIDDEN, reg=0.0)
    solver = Solver(
        model,
        data,
        update_rule="sgd",
        optim_config={"learning_rate": 1e-3},
        batch_size=BATCH_SIZE,
        num_epochs=epochs,
        print_every=10**9,
        num_threads=num_threads,
    )
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        tic = time.perf_counter()
        solver.train()
        seconds = time.perf_counter() - tic
    note = next(line for line in printed.getvalue().splitlines() if line.startswith("BLAS threads:"))
    return seconds, note


def measure(data, epochs, choices, repeat):
    """Run every choice ``repeat`` times, interleaved; returns {label: (list of seconds, last note)}.

    Each round starts one choice further along, so that no choice always follows the same other one.
    """
    results = {label: ([], "") for label, _ in choices}
    for r in range(repeat):
        for label, num_threads in choices[r % len(choices) :] + choices[: r % len(choices)]:
            seconds, note = train_once(data, epochs, num_threads)
            results[label] = (results[label][0] + [seconds], note)
    return results


def used_threads(note):
    """The thread count in a note such as ``BLAS threads: 1 (2 cores, 1.9 busy with other work)``."""
    return note.split(":", 1)[1].split("(", 1)[0].strip()


def regime_rows(regime, results, default_label):
    """Table rows of one regime: median seconds, ratios to the best fixed count and to default."""
    medians = {label: float(np.median(times)) for label, (times, _) in results.items()}
    fixed = {label: s for label, s in medians.items() if label.isdigit()}
    best_label = min(fixed, key=fixed.get)
    rows = []
    for label, (times, note) in results.items():
        why = note.split("(", 1)[1].rstrip(")") if label == "auto" else ""
        rows.append(
            [
                regime,
                label,
                used_threads(note) + (f" ({why})" if why else ""),
                f"{medians[label]:.2f} s",
                " ".join(f"{t:.2f}" for t in times),
                f"{medians[label] / fixed[best_label]:.2f}x (best: {best_label})",
                f"{medians[label] / medians[default_label]:.2f}x",
            ]
        )
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cifar10-dir", type=Path, default=None)
    p.add_argument("--num-training", type=int, default=10000, help="training images (default 10000)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3, help="rounds of every choice per regime")
    p.add_argument("--regime", nargs="+", choices=("quiet", "busy"), default=["quiet", "busy"])
    args = p.parse_args(argv)

    print(f"Command: {command_line(__file__, argv)}")
    print(machine_line())
    cores = len(threads.usable_cpus())
    start = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    if not start:
        p.exit(2, "threadpoolctl finds no BLAS in this numpy: there are no threads to choose\n")
    choices = [("auto", None), ("default", start[0])] + [(str(k), k) for k in range(1, cores + 1)]
    data = get_CIFAR10_data(num_training=args.num_training, num_test=0, cifar10_dir=find_cifar10_dir(args.cifar10_dir))
    print(
        f"Workload: TwoLayerNet(hidden_dim={HIDDEN}), sgd, batch {BATCH_SIZE}, {args.epochs} epochs on "
        f"{args.num_training} CIFAR-10 images (float64); default = {start[0]} BLAS threads; {cores} usable cores"
    )

    rows = []
    for regime in args.regime:
        busy = start_busy_processes(cores) if regime == "busy" else []
        try:
            if busy:
                time.sleep(1.0)
            load = os.getloadavg()[0]
            results = measure(data, args.epochs, choices, args.repeat)
            load = f"{load:.1f} -> {os.getloadavg()[0]:.1f}"
        finally:
            stop(busy)
        rows += regime_rows(f"{regime} (load {load})", results, "default")
    header = [
        "regime",
        "threads",
        "BLAS threads used",
        f"median of {args.repeat}",
        "runs (s)",
        "vs best fixed",
        "vs default",
    ]
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
