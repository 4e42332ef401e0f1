"""Regression benchmark: the kit's training step at a git revision against the working copy.

The step is the one of ``train_step.py`` (``Solver._step`` with ``sgd`` minus drawing the minibatch: the
net's ``sgd_step`` when it has one, else ``loss`` and ``sgd`` on every parameter, on CIFAR-10-shaped
batches); REV's net runs with REV's ``sgd``. The package ``cs231n`` of REV is extracted with ``git
archive`` into a temporary folder under another name, so both versions run in one process, interleaved
round by round from the same initial parameters; the table gives medians and the median of per-round
ratios, and the last line the largest difference between the two versions' parameters after the run.
With ``--net fc`` the network is ``FullyConnectedNet(hidden_dims=[H])`` instead, the same layers. Each
version's W1 is in the memory order that version's nets store it in (C-ordered before
``cs231n.blas.weight_order`` existed).

    python benchmarks/step_regression.py HEAD~3
    python benchmarks/step_regression.py HEAD~3 --net fc
    OPENBLAS_NUM_THREADS=1 python benchmarks/step_regression.py d33074e~1 --clock cpu
"""

import argparse
import importlib
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import train_step
from common import REPO_ROOT, command_line, machine_line, markdown_table, numpy_blas

from cs231n.classifiers import fc_net as fc_net_module


def c_order(dtype):
    """W1's memory order in revisions from before ``cs231n.blas.weight_order``: always C."""
    return "C"


def import_revision(rev, folder):
    """Import ``cs231n`` as it is at git revision ``rev`` under the name ``cs231n_at_rev``."""
    archive = subprocess.run(["git", "archive", rev, "cs231n"], cwd=REPO_ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    (Path(folder) / "cs231n").rename(Path(folder) / "cs231n_at_rev")
    sys.path.insert(0, str(folder))
    # fc_net and optim import their siblings relatively, so they load under the new name.
    fc_net = importlib.import_module("cs231n_at_rev.classifiers.fc_net")
    # The memory order REV's nets keep W1 in: C-ordered before blas.weight_order existed.
    try:
        order = importlib.import_module("cs231n_at_rev.blas").weight_order
    except (ImportError, AttributeError):
        order = c_order
    return fc_net, importlib.import_module("cs231n_at_rev.optim").sgd, order


def net_class(fc_net_module, net, dtype):
    """The class ``train_step.make_kit_model`` builds: TwoLayerNet, or FullyConnectedNet with one hidden layer."""
    if net == "two_layer":
        return fc_net_module.TwoLayerNet

    def one_hidden_layer(input_dim, hidden_dim, num_classes, weight_scale, reg):
        return fc_net_module.FullyConnectedNet(
            [hidden_dim], input_dim=input_dim, num_classes=num_classes, weight_scale=weight_scale, reg=reg, dtype=dtype
        )

    return one_hidden_layer


def compare(H, dtype, rounds, old_fc_net, old_sgd, net="two_layer", old_order=c_order):
    """Interleave the steps of both versions; return medians, the ratio and the largest parameter difference.

    Each version's W1 is in the memory order that version's nets store it in (``old_order`` for REV).
    """
    batches = train_step.make_batches(dtype)
    old = train_step.make_kit_model(H, dtype, net_class=net_class(old_fc_net, net, dtype), order=old_order)
    new = train_step.make_kit_model(H, dtype, net_class=net_class(fc_net_module, net, dtype))

    def stepper(model_and_configs, update):
        if hasattr(model_and_configs[0], "sgd_step"):
            update = train_step.sgd  # the rule the Solver hands such a net's own step to
        return lambda i: train_step.timed(train_step.kit_step, *model_and_configs, *batches[i % len(batches)], update)

    t = train_step.interleave({"old": stepper(old, old_sgd), "new": stepper(new, train_step.sgd)}, rounds)
    t_old, t_new = t["old"], t["new"]
    diff = max(float(np.max(np.abs(old[0].params[k] - new[0].params[k]))) for k in new[0].params)
    return np.median(t_old), np.median(t_new), float(np.median(t_new / t_old)), diff


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("rev", help="a git revision, e.g. HEAD~3 or a commit hash")
    p.add_argument("--hidden", type=int, nargs="+", default=[100, 512])
    p.add_argument("--dtype", nargs="+", choices=("float32", "float64"), default=["float32", "float64"])
    p.add_argument("--rounds", type=int, default=60)
    p.add_argument(
        "--net",
        choices=("two_layer", "fc"),
        default="two_layer",
        help="TwoLayerNet (default) or FullyConnectedNet with one hidden layer of H units",
    )
    p.add_argument(
        "--clock",
        choices=train_step.CLOCKS,
        default="wall",
        help="cpu: CPU time of this thread (needs OPENBLAS_NUM_THREADS=1)",
    )
    args = p.parse_args(argv)
    if args.clock == "cpu" and numpy_blas()["threads"] != 1:
        p.exit(2, "--clock cpu counts this thread only: run with OPENBLAS_NUM_THREADS=1\n")
    train_step.clock = train_step.CLOCKS[args.clock]

    print(f"Command: {command_line(__file__, argv)}")
    print(machine_line())
    rows, worst = [], 0.0
    with tempfile.TemporaryDirectory() as folder:
        old_fc_net, old_sgd, old_order = import_revision(args.rev, folder)
        for H in args.hidden:
            for dtype in args.dtype:
                t_old, t_new, ratio, diff = compare(
                    H, np.dtype(dtype), args.rounds, old_fc_net, old_sgd, args.net, old_order
                )
                rows.append([H, dtype, train_step.ms(t_old), train_step.ms(t_new), f"{ratio:.2f}"])
                worst = max(worst, diff)
    print(markdown_table(["H", "dtype", f"step at {args.rev}", "step now", "now / then"], rows))
    print(
        f"Largest difference between the two versions' parameters after {train_step.WARMUP_ROUNDS + args.rounds} "
        f"steps: {worst:.3g}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
