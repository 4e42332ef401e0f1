"""Which memory order of W1 makes the kit's training step faster: the measurement behind blas.weight_order.

The step is the one of ``train_step.py`` (the Solver's step with ``sgd``: ``TwoLayerNet.sgd_step``). Two
copies of the same model, one with W1 C-ordered and one F-ordered (same values), take steps on the same
batches, interleaved round by round. The order matters through the product that adds ``x.T @ dhidden``
into W1 (its update), which OpenBLAS runs with different kernels for the two orders, and through the
forward product ``x @ W1``. The last column is the order ``cs231n.blas.weight_order`` gives on this
machine, from a table of the kernel sets measured here; rerun this with ``OPENBLAS_CORETYPE=Haswell``
(or another kernel set OpenBLAS knows) to measure another row of that table.

    python benchmarks/weight_order.py
    OPENBLAS_CORETYPE=Haswell python benchmarks/weight_order.py --rounds 50
"""

import argparse
import sys

import numpy as np
import train_step
from common import command_line, machine_line, markdown_table, numpy_blas

from cs231n.blas import weight_order


def run_config(H, dtype, rounds, block):
    """Medians of the step with W1 C- and F-ordered, the median per-round ratio F / C, and whether both agree."""
    batches = train_step.make_batches(dtype)
    runs = {}
    for order in ("C", "F"):
        model, configs = train_step.make_kit_model(H, dtype)
        model.params["W1"] = np.asarray(model.params["W1"], order=order)
        runs[order] = (model, configs)
    t = train_step.interleave(
        {
            order: (lambda i, m=m, c=c: train_step.timed(train_step.kit_step, m, c, *batches[i % len(batches)]))
            for order, (m, c) in runs.items()
        },
        rounds,
        block,
    )
    kept = {order: m.params["W1"].flags[f"{order}_CONTIGUOUS"] for order, (m, _) in runs.items()}
    if not all(kept.values()):
        raise AssertionError(f"training changed W1's memory order (H={H}, {dtype.name}): {kept}")
    a, b = runs["C"][0].params["W1"], runs["F"][0].params["W1"]
    difference = float(np.max(np.abs(a - b)) / np.max(np.abs(a)))
    return float(np.median(t["C"])), float(np.median(t["F"])), float(np.median(t["F"] / t["C"])), difference


def main(argv=None):
    args = train_step.parse_step_options(argparse.ArgumentParser(description=__doc__.splitlines()[0]), argv)
    print(f"Command: {command_line(__file__, argv)}")
    print(machine_line())
    print(f"OpenBLAS kernel set: {numpy_blas()['core']}")
    rows, worst = [], 0.0
    for H in args.hidden:
        for dtype in args.dtype:
            c, f, ratio, difference = run_config(H, np.dtype(dtype), args.rounds, args.block)
            rows.append([H, dtype, train_step.ms(c), train_step.ms(f), f"{ratio:.2f}", weight_order(dtype)])
            worst = max(worst, difference)
            print(f"  H={H} {dtype}: done", file=sys.stderr, flush=True)
    print(
        markdown_table(["H", "dtype", "step, W1 C-ordered", "step, W1 F-ordered", "F / C", "blas.weight_order"], rows)
    )
    print(f"Largest relative difference between the two copies' W1 after the run: {worst:.2g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
