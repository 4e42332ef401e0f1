"""Epoch benchmark: seconds per epoch of the Solver on CIFAR-10 with the notebook's default TwoLayerNet.

49,000 training images, ``TwoLayerNet(hidden_dim=100)`` with its parameters cast to the data's
dtype, ``Solver(update_rule="sgd", batch_size=200, ...)``: one epoch is 245 updates (each draws a
minibatch, computes the loss and gradients, and applies sgd) plus the accuracy checks the Solver
makes at the end of every epoch (1,000 training and the 1,000 validation images). Loading the data
is not included (see ``data_memory.py``).

    python benchmarks/epoch_time.py                  float64 and float32, 2 epochs each
    python benchmarks/epoch_time.py --epochs 5 --dtype float32
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

from common import command_line, machine_line, markdown_table
from cs231n.classifiers.fc_net import TwoLayerNet
from cs231n.data_utils import get_CIFAR10_data
from cs231n.solver import Solver
from train_cifar10 import find_cifar10_dir

BATCH_SIZE, HIDDEN = 200, 100


def seconds_per_epoch(data, epochs, seed=0):
    """Train the notebook's default net on ``data`` for ``epochs`` epochs; return (seconds per epoch, val acc)."""
    np.random.seed(seed)
    model = TwoLayerNet(hidden_dim=HIDDEN, reg=0.25)
    dtype = data["X_train"].dtype
    model.params = {k: v.astype(dtype) for k, v in model.params.items()}
    solver = Solver(model, data, update_rule="sgd", optim_config={"learning_rate": 1e-3}, lr_decay=0.95,
                    batch_size=BATCH_SIZE, num_epochs=epochs, verbose=False)
    tic = time.perf_counter()
    solver.train()
    return (time.perf_counter() - tic) / epochs, solver.best_val_acc


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cifar10-dir", type=Path, default=None)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--dtype", nargs="+", choices=("float64", "float32"), default=["float64", "float32"])
    args = p.parse_args(argv)

    print(f"Command: {command_line(__file__, argv)}")
    print(machine_line())
    rows = []
    for dtype in args.dtype:
        data = get_CIFAR10_data(cifar10_dir=find_cifar10_dir(args.cifar10_dir), dtype=np.dtype(dtype))
        updates = data["X_train"].shape[0] // BATCH_SIZE
        seconds, val_acc = seconds_per_epoch(data, args.epochs)
        rows.append([dtype, HIDDEN, BATCH_SIZE, updates, args.epochs, f"{seconds:.1f} s",
                     f"{1e3 * seconds / updates:.1f} ms", f"{100 * val_acc:.1f}%"])
        del data
    print(markdown_table(["dtype", "hidden", "batch", "updates per epoch", "epochs", "seconds per epoch",
                          "per update (checks included)", f"best val acc after {args.epochs} epochs"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
