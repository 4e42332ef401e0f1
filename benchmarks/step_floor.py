"""How close the kit's training step is to the fastest step numpy can take, and to the GEMMs alone.

Three variants, interleaved round by round in one process on the batches of ``train_step.py``:

- kit: the Solver's step with ``cs231n.optim.sgd`` (``train_step.kit_step``): the reference
  ``TwoLayerNet.sgd_step``, which adds W1's update into W1 by the gradient's own product;
- floor: the same step written as one function of in-place numpy operations, with no checks, no
  layer functions, no dictionaries of gradients and the update ``W -= learning_rate * dW`` in place
  with numpy (two passes over W; the kit's ``sgd`` makes one, through ``cs231n.blas.axpy``); its weight
  gradients use ``cs231n.blas.matmul_add`` as the kit's do. It is the fastest step this benchmark has
  found with plain numpy updates, so the gap between the two columns is what the kit's structure costs
  (or, where the kit is faster, what its one-pass update saves);
- GEMMs: the step's five matrix products alone (``train_step.numpy_gemms``).

Every round runs each variant ``--block`` times in a row and keeps the fastest run; the table gives
medians, and "% of GEMMs" is the median per-round ratio of the GEMMs' time to the step's.

    python benchmarks/step_floor.py
    python benchmarks/step_floor.py --hidden 100 --dtype float32 --rounds 50
"""

import argparse
import sys

import numpy as np
import train_step
from common import command_line, machine_line, markdown_table

from cs231n.blas import matmul_add, sum_of_squares


def floor_step(p, X, y, learning_rate=train_step.LEARNING_RATE, reg=train_step.REG):
    """One training step on params ``p`` (updated in place) with in-place numpy; returns the loss."""
    W1, b1, W2, b2 = p["W1"], p["b1"], p["W2"], p["b2"]
    n = X.shape[0]
    x = X.reshape(n, -1)
    rows = np.arange(n)
    h = x @ W1
    h += b1
    np.maximum(h, 0, out=h)
    s = h @ W2
    s += b2
    s -= s.max(axis=1, keepdims=True)
    np.exp(s, out=s)
    s /= s.sum(axis=1, keepdims=True)
    loss = -np.log(s[rows, y]).mean() + 0.5 * reg * (sum_of_squares(W1) + sum_of_squares(W2))
    s[rows, y] -= 1
    s /= n
    dW2 = h.T @ s
    dW2 += reg * W2
    db2 = s.sum(axis=0)
    dh = s @ W2.T
    dh *= h > 0
    dW1 = reg * W1
    matmul_add(x.T, dh, dW1)
    db1 = dh.sum(axis=0)
    for w, dw in ((W1, dW1), (b1, db1), (W2, dW2), (b2, db2)):
        w -= learning_rate * dw
    return float(loss)


def run_config(H, dtype, rounds, block):
    """Medians of the three variants' times and of the per-round ratios; also checks the two steps agree."""
    model, configs = train_step.make_kit_model(H, dtype)
    params = {k: v.copy(order="K") for k, v in model.params.items()}  # W1 in the kit's order
    batches = train_step.make_batches(dtype)
    flat = [X.reshape(train_step.N, train_step.D) for X, _ in batches]
    operands = train_step.gemm_operands(H, dtype)
    for X, y in batches[:3]:  # the same losses from the same parameters, before timing
        kit_loss, floor_loss = train_step.kit_step(model, configs, X, y), floor_step(params, X, y)
        if not np.isclose(kit_loss, floor_loss, rtol=1e-4 if dtype == np.float32 else 1e-10):
            raise AssertionError(f"kit and floor steps disagree (H={H}, {dtype.name}): {kit_loss} vs {floor_loss}")
    variants = {
        "kit": lambda i: train_step.timed(train_step.kit_step, model, configs, *batches[i % 4]),
        "floor": lambda i: train_step.timed(floor_step, params, *batches[i % 4]),
        "gemm": lambda i: train_step.timed(train_step.numpy_gemms, operands, flat[i % 4]),
    }
    t = train_step.interleave(variants, rounds, block)
    return (
        {k: float(np.median(v)) for k, v in t.items()},
        {k: float(np.median(t["gemm"] / t[k])) for k in ("kit", "floor")},
    )


def main(argv=None):
    args = train_step.parse_step_options(argparse.ArgumentParser(description=__doc__.splitlines()[0]), argv)
    print(f"Command: {command_line(__file__, argv)}")
    print(machine_line())
    rows = []
    for H in args.hidden:
        for dtype in args.dtype:
            med, share = run_config(H, np.dtype(dtype), args.rounds, args.block)
            rows.append(
                [
                    H,
                    dtype,
                    train_step.ms(med["kit"]),
                    train_step.ms(med["floor"]),
                    train_step.ms(med["gemm"]),
                    f"{100 * share['kit']:.0f}%",
                    f"{100 * share['floor']:.0f}%",
                ]
            )
            print(f"  H={H} {dtype}: done", file=sys.stderr, flush=True)
    print(
        markdown_table(
            ["H", "dtype", "kit step", "numpy floor step", "GEMMs alone", "kit % of GEMMs", "floor % of GEMMs"], rows
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
