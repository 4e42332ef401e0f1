"""Accuracy benchmark: the reference TwoLayerNet on CIFAR-10 (49,000 train / 1,000 val / 1,000 test).

Trains with the Solver and the main job's code (``cs231n.train.train_model``), using the staff's
tuned hyperparameters (``TUNED`` below) unless options say otherwise, and reports validation and
test accuracy, training time, the hyperparameters and the command that reproduces the run. Not a
test: it takes minutes. The tuned values live here, not in the kit: they answer the notebooks'
hyperparameter search, so the main job's CIFAR-10 preset is an untuned starting point.

    python benchmarks/train_cifar10.py                          the tuned settings
    python benchmarks/train_cifar10.py --lr 1e-4 3e-4 --reg 0.01 0.1 --epochs 4   a small grid

Each run prints one Markdown table row; ``--json FILE`` also writes every run's numbers.
"""

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from common import command_line, find_cifar10_dir, machine_line

from cs231n.classifiers.fc_net import TwoLayerNet
from cs231n.data_utils import get_CIFAR10_data
from cs231n.schedules import LR_SCHEDULES
from cs231n.train import accuracies, train_model
from cs231n.train_options import PRESETS

# The staff's tuned TwoLayerNet on CIFAR-10 (README, "Accuracy on CIFAR-10", staff only).
TUNED = dict(
    PRESETS["cifar10"],
    hidden_size=500,
    epochs=10,
    lr=5e-4,
    reg=5e-2,
    batch_size=200,
    lr_decay=1.0,
    lr_schedule="cosine",
    weight_scale=1e-3,
    update_rule="adam",
    dtype="float32",
)


def main(argv=None):
    preset = TUNED
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cifar10-dir", type=Path, default=None)
    p.add_argument("--hidden-size", type=int, nargs="+", default=[preset["hidden_size"]])
    p.add_argument("--lr", type=float, nargs="+", default=[preset["lr"]])
    p.add_argument("--reg", type=float, nargs="+", default=[preset["reg"]])
    p.add_argument("--epochs", type=int, default=preset["epochs"])
    p.add_argument("--batch-size", type=int, default=preset["batch_size"])
    p.add_argument("--lr-decay", type=float, default=preset["lr_decay"])
    p.add_argument("--lr-schedule", choices=tuple(LR_SCHEDULES), default=preset["lr_schedule"])
    p.add_argument("--weight-scale", type=float, default=preset["weight_scale"])
    p.add_argument("--update-rule", default=preset["update_rule"])
    p.add_argument("--dtype", choices=("float32", "float64"), default=preset["dtype"])
    p.add_argument("--seed", type=int, nargs="+", default=[0])
    p.add_argument("--verbose", action="store_true", help="print the Solver's progress")
    p.add_argument("--json", type=Path, help="also write the results of every run to this file")
    args = p.parse_args(argv)
    if args.lr_schedule is not None:
        args.lr_decay = 1.0

    command = command_line(__file__, argv)
    print(f"Command: {command}")
    print(machine_line())
    tic = time.perf_counter()
    data = get_CIFAR10_data(cifar10_dir=find_cifar10_dir(args.cifar10_dir), dtype=np.dtype(args.dtype))
    print(f"Loaded 49,000/1,000/1,000 images in {time.perf_counter() - tic:.1f} s")
    print(
        "| hidden | lr | reg | epochs | batch | rule | lr decay / schedule | dtype | seed "
        "| train acc | val acc | test acc | training time |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")

    runs = []
    for hidden, lr, reg, seed in itertools.product(args.hidden_size, args.lr, args.reg, args.seed):
        settings = dict(
            preset,
            hidden_size=hidden,
            lr=lr,
            reg=reg,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr_decay=args.lr_decay,
            lr_schedule=args.lr_schedule,
            weight_scale=args.weight_scale,
            update_rule=args.update_rule,
            dtype=args.dtype,
        )
        np.random.seed(seed)
        net = TwoLayerNet(hidden_dim=hidden, weight_scale=settings["weight_scale"], reg=reg)
        load = os.getloadavg()[0]
        solver, seconds = train_model(net, data, settings, verbose=args.verbose, print_every=100)
        acc = accuracies(solver, data)
        runs.append(
            {
                "settings": settings,
                "seed": seed,
                "accuracy": acc,
                "seconds": seconds,
                "load_average_before": load,
                "load_average_after": os.getloadavg()[0],
            }
        )
        schedule = settings["lr_schedule"] or f"{settings['lr_decay']}/epoch"
        print(
            f"| {hidden} | {lr:g} | {reg:g} | {args.epochs} | {args.batch_size} | {args.update_rule} | {schedule} "
            f"| {args.dtype} | {seed} | {100 * acc['train']:.1f}% | {100 * acc['val']:.1f}% "
            f"| {100 * acc['test']:.1f}% | {seconds:.0f} s |",
            flush=True,
        )

    best = max(runs, key=lambda r: r["accuracy"]["val"])
    print(
        f"Best on val: {100 * best['accuracy']['val']:.1f}% val, {100 * best['accuracy']['test']:.1f}% test, "
        f"{best['seconds']:.0f} s, with " + ", ".join(f"{k}={v}" for k, v in best["settings"].items())
    )
    if args.json:
        args.json.write_text(json.dumps({"command": command, "runs": runs}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
