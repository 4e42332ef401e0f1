"""Epoch benchmark: seconds per epoch of the Solver on CIFAR-10 with the notebook's default TwoLayerNet.

49,000 training images and the settings of ``notebooks/two_layer_net.ipynb``:
``TwoLayerNet(hidden_dim=100, reg=0.0)`` with its parameters cast to the data's dtype and
``Solver(optim_config={"learning_rate": 1e-3}, lr_decay=0.95, batch_size=200)`` (sgd). One epoch is
245 updates (each draws a minibatch, computes the loss and gradients, and applies sgd) plus the
accuracy checks the Solver makes at the end of every epoch (1,000 training and the 1,000 validation
images). Loading the data is not included (see ``data_memory.py``). "CPU seconds" add up every
thread's CPU time: on a busy machine, with ``OPENBLAS_NUM_THREADS=1``, they say what the epoch costs
without the waiting.

    python benchmarks/epoch_time.py                  float64 and float32, 2 epochs each
    python benchmarks/epoch_time.py --epochs 5 --dtype float32
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from common import command_line, find_cifar10_dir, machine_line, markdown_table

from cs231n.classifiers.fc_net import TwoLayerNet
from cs231n.data_utils import get_CIFAR10_data
from cs231n.solver import Solver

BATCH_SIZE, HIDDEN = 200, 100


def seconds_per_epoch(data, epochs, seed=0):
    """Train the notebook's default net on ``data`` for ``epochs`` epochs.

    Returns (wall seconds per epoch, CPU seconds per epoch of all threads, best validation accuracy).
    """
    np.random.seed(seed)
    model = TwoLayerNet(hidden_dim=HIDDEN, reg=0.0)
    dtype = data["X_train"].dtype
    model.params = {k: v.astype(dtype) for k, v in model.params.items()}
    solver = Solver(
        model,
        data,
        update_rule="sgd",
        optim_config={"learning_rate": 1e-3},
        lr_decay=0.95,
        batch_size=BATCH_SIZE,
        num_epochs=epochs,
        verbose=False,
    )
    tic, cpu = time.perf_counter(), time.process_time()
    solver.train()
    return (time.perf_counter() - tic) / epochs, (time.process_time() - cpu) / epochs, solver.best_val_acc


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
        seconds, cpu, val_acc = seconds_per_epoch(data, args.epochs)
        rows.append(
            [
                dtype,
                HIDDEN,
                BATCH_SIZE,
                updates,
                args.epochs,
                f"{seconds:.1f} s",
                f"{cpu:.1f} s",
                f"{1e3 * seconds / updates:.1f} ms",
                f"{100 * val_acc:.1f}%",
            ]
        )
        del data
    header = [
        "dtype",
        "hidden",
        "batch",
        "updates per epoch",
        "epochs",
        "seconds per epoch",
        "CPU seconds",
        "per update (checks included)",
        f"best val acc after {args.epochs} epochs",
    ]
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
