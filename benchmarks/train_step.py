"""Training-step benchmark: the reference TwoLayerNet against the same network in PyTorch (CPU).

One training step is the forward pass, the backward pass and an SGD update on a CIFAR-10-shaped
minibatch (N=200 images of 3x32x32, D=3072, C=10 classes), for hidden sizes H=100 and 512, in
float32 and float64:

- kit: ``cs231n.solver.training_step`` with ``cs231n.optim.sgd``, exactly what ``Solver._step`` does
  minus drawing the minibatch: the reference ``TwoLayerNet.sgd_step`` (the forward and backward
  passes with the update added into W1 by the gradient's own product), or ``loss(X, y)`` followed by
  ``sgd`` on every parameter for a net without that method;
- PyTorch: ``nn.Sequential(Linear, ReLU, Linear)``, ``CrossEntropyLoss`` plus
  ``0.5 * reg * (||W1||^2 + ||W2||^2)``, ``torch.optim.SGD``, ``zero_grad(set_to_none=True)`` and
  ``loss.item()`` every step, the input without ``requires_grad``, as many threads as numpy's BLAS;
- GEMMs: the matrix products a step cannot do without (``X @ W1``, ``h @ W2``, ``ds @ W2.T``,
  ``h.T @ ds``, ``X.T @ dh``: 2 N (2 D H + 3 H C) flops), timed alone with numpy and with PyTorch
  on the same shapes, X taken from the same minibatches as the steps' (so all three read a new
  batch from memory each round). The faster of the two is the machine's matrix-multiply peak for
  this step, and "% of peak" is the time of those GEMMs alone divided by the step time.

The three are interleaved step by step in one process (kit, PyTorch, GEMMs, then the next round in
the other order), so a change in the machine's load hits them alike; every column is a median over
the rounds, and the ratios are medians of the per-round ratios. Before timing, three steps from the
same parameters on the same batches must give the same losses and parameters in both frameworks.

    python benchmarks/train_step.py                      all four configurations, 200 rounds each
    python benchmarks/train_step.py --hidden 100 --dtype float32 --rounds 50
    python benchmarks/train_step.py --no-torch           the kit against the GEMMs only
    python benchmarks/train_step.py --block 5            5 runs of each in a row per round, fastest kept
    OPENBLAS_NUM_THREADS=1 python benchmarks/train_step.py --clock cpu    one thread, CPU time: for a busy machine

PyTorch comes from ``requirements-bench.txt`` (``pip install -r requirements-bench.txt``); the kit
itself never needs it.
"""

import argparse
import sys
import time

import numpy as np
from common import command_line, machine_line, markdown_table, numpy_blas

try:
    import torch as installed_torch
except ImportError:  # PyTorch is a benchmark requirement only
    installed_torch = None

from cs231n.classifiers.fc_net import TwoLayerNet
from cs231n.optim import sgd

N, D, C = 200, 3 * 32 * 32, 10
LEARNING_RATE, REG = 1e-3, 1e-3
NUM_BATCHES = 4  # distinct minibatches, used in turn
WARMUP_ROUNDS = 5


def make_batches(dtype, seed=0):
    """NUM_BATCHES CIFAR-10-shaped minibatches: X (N, 3, 32, 32) of ``dtype``, y (N,) int64."""
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((N, 3, 32, 32)).astype(dtype), rng.integers(C, size=N)) for _ in range(NUM_BATCHES)]


def make_kit_model(H, dtype, seed=0):
    """A reference TwoLayerNet (D, H, C) with its parameters cast to ``dtype``, and one sgd config per param."""
    np.random.seed(seed)
    model = TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, weight_scale=1e-2, reg=REG)
    model.params = {k: v.astype(dtype) for k, v in model.params.items()}
    configs = {k: {"learning_rate": LEARNING_RATE} for k in model.params}
    return model, configs


def kit_step(model, configs, X, y, update=sgd):
    """One training step of the kit: ``Solver._step`` without drawing the minibatch. Returns the loss."""
    loss, grads = model.loss(X, y)
    for p, w in model.params.items():
        model.params[p], configs[p] = update(w, grads[p], configs[p])
    return loss


def make_torch_model(params):
    """The same network in PyTorch, starting from copies of the kit's ``params``; returns (net, optimizer)."""
    torch = installed_torch
    H = params["W1"].shape[1]
    dtype = getattr(torch, params["W1"].dtype.name)
    net = torch.nn.Sequential(torch.nn.Linear(D, H), torch.nn.ReLU(), torch.nn.Linear(H, C)).to(dtype)
    with torch.no_grad():  # nn.Linear keeps its weight as (out, in): the transpose of the kit's W
        net[0].weight.copy_(torch.from_numpy(params["W1"].T))
        net[0].bias.copy_(torch.from_numpy(params["b1"]))
        net[2].weight.copy_(torch.from_numpy(params["W2"].T))
        net[2].bias.copy_(torch.from_numpy(params["b2"]))
    return net, torch.optim.SGD(net.parameters(), lr=LEARNING_RATE)


def torch_step(net, optimizer, X, y, cross_entropy):
    """One training step of the PyTorch network on tensors X (N, 3, 32, 32), y (N,). Returns the loss."""
    optimizer.zero_grad(set_to_none=True)
    scores = net(X.flatten(1))
    W1, W2 = net[0].weight, net[2].weight
    loss = cross_entropy(scores, y) + 0.5 * REG * ((W1 * W1).sum() + (W2 * W2).sum())
    loss.backward()
    optimizer.step()
    return loss.item()


def gemm_operands(H, dtype, seed=1):
    """Arrays shaped like a step's GEMM operands besides X: W1 (D, H), dh, h (N, H), W2 (H, C), ds (N, C)."""
    rng = np.random.default_rng(seed)
    shapes = {"W1": (D, H), "dh": (N, H), "h": (N, H), "W2": (H, C), "ds": (N, C)}
    a = {k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}
    return a


def numpy_gemms(a, X):
    """The five matrix products of a kit step (forward, then backward), in the kit's layout; X is (N, D)."""
    X @ a["W1"]  # hidden layer
    a["h"] @ a["W2"]  # scores
    a["ds"] @ a["W2"].T  # gradient of the hidden layer
    a["h"].T @ a["ds"]  # dW2
    X.T @ a["dh"]  # dW1


def torch_gemms(a, torch):
    """The same five products in nn.Linear's layout: weights stored (out, in), gradients computed that way."""
    W1, W2 = a["W1"].T.contiguous(), a["W2"].T.contiguous()  # copied once, outside the timing
    return lambda X: (
        torch.mm(X, W1.T),
        torch.mm(a["h"], W2.T),
        torch.mm(a["ds"], W2),
        torch.mm(a["ds"].T, a["h"]),
        torch.mm(a["dh"].T, X),
    )


def gemm_flops(H):
    """Floating-point operations of the five products (a multiply-add counts 2)."""
    return 2 * N * (2 * D * H + 3 * H * C)


CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}
clock = CLOCKS["wall"]


def ms(seconds):
    """Format a time in milliseconds."""
    return f"{1e3 * seconds:.2f} ms"


def timed(f, *args):
    """Seconds ``f(*args)`` takes on ``clock``."""
    tic = clock()
    f(*args)
    return clock() - tic


def check_same_network(H, dtype, torch, steps=3):
    """Raise AssertionError unless kit and PyTorch give the same losses and parameters for ``steps`` steps.

    Returns the largest relative difference seen.
    """
    model, configs = make_kit_model(H, dtype)
    net, optimizer = make_torch_model(model.params)
    cross_entropy = torch.nn.CrossEntropyLoss()
    worst = 0.0
    for X, y in make_batches(dtype, seed=2)[:steps]:
        kit_loss = kit_step(model, configs, X, y)
        torch_loss = torch_step(net, optimizer, torch.from_numpy(X), torch.from_numpy(y), cross_entropy)
        pairs = [
            (kit_loss, torch_loss),
            (model.params["W1"], net[0].weight.detach().numpy().T),
            (model.params["W2"], net[2].weight.detach().numpy().T),
            (model.params["b1"], net[0].bias.detach().numpy()),
        ]
        for a, b in pairs:
            worst = max(worst, float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12))))
    tolerance = 1e-4 if dtype == np.float32 else 1e-9
    if worst > tolerance:
        raise AssertionError(
            f"kit and PyTorch disagree after {steps} steps (H={H}, {np.dtype(dtype).name}): "
            f"relative difference {worst:.2g} > {tolerance:g}"
        )
    return worst


def interleave(variants, rounds, block=1):
    """Run timed variants round by round, the order reversed every other round; return their times.

    Parameters
    ----------
    variants : dict of str to callable
        ``f(i)`` runs one step number ``i`` and returns the seconds it took (see ``timed``).
    rounds : int
        Rounds kept, after WARMUP_ROUNDS rounds that are not.
    block : int
        Runs of each variant in a row per round; the fastest is kept.

    Returns
    -------
    dict of str to ndarray
        One time per kept round for every variant.
    """
    order = list(variants)
    times = {k: [] for k in order}
    for i in range(WARMUP_ROUNDS + rounds):
        for name in order if i % 2 == 0 else order[::-1]:
            # With block > 1, the first runs of a block absorb the switch from the other library's threads.
            t = min(variants[name](block * i + j) for j in range(block))
            if i >= WARMUP_ROUNDS:
                times[name].append(t)
    return {k: np.array(v) for k, v in times.items()}


def parse_step_options(p, argv, rounds=100, block=5):
    """Add --hidden, --dtype, --rounds and --block to parser ``p``, parse ``argv`` and check the counts."""
    p.add_argument("--hidden", type=int, nargs="+", default=[100, 512], help="hidden sizes H")
    p.add_argument("--dtype", nargs="+", choices=("float32", "float64"), default=["float32", "float64"])
    p.add_argument("--rounds", type=int, default=rounds, help="timed rounds per configuration")
    p.add_argument(
        "--block",
        type=int,
        default=block,
        help=f"runs of each variant in a row per round, the fastest kept (default {block})",
    )
    args = p.parse_args(argv)
    if args.rounds < 1 or args.block < 1:
        p.error(f"--rounds and --block must be at least 1, got {args.rounds} and {args.block}")
    return args


def run_config(H, dtype, rounds, torch, block=1):
    """Time kit steps, PyTorch steps and the GEMMs alone, interleaved; return the medians.

    Each round runs every variant ``block`` times in a row and keeps its fastest run.
    """
    model, configs = make_kit_model(H, dtype)
    batches = make_batches(dtype)
    operands = gemm_operands(H, dtype)
    flat = [X.reshape(N, D) for X, _ in batches]
    variants = {
        "kit": lambda i: timed(kit_step, model, configs, *batches[i % NUM_BATCHES]),
        "gemm_numpy": lambda i: timed(numpy_gemms, operands, flat[i % NUM_BATCHES]),
    }
    if torch is not None:
        net, optimizer = make_torch_model(model.params)
        cross_entropy = torch.nn.CrossEntropyLoss()
        torch_batches = [(torch.from_numpy(X), torch.from_numpy(y)) for X, y in batches]
        torch_gemm_set = torch_gemms({k: torch.from_numpy(v) for k, v in operands.items()}, torch)
        torch_flat = [torch.from_numpy(X) for X in flat]
        variants["torch"] = lambda i: timed(torch_step, net, optimizer, *torch_batches[i % NUM_BATCHES], cross_entropy)
        variants["gemm_torch"] = lambda i: timed(torch_gemm_set, torch_flat[i % NUM_BATCHES])
    t = interleave(variants, rounds, block)
    peak = np.minimum(t["gemm_numpy"], t["gemm_torch"]) if torch is not None else t["gemm_numpy"]
    result = {k: float(np.median(v)) for k, v in t.items()}
    result["gemm_peak"] = float(np.median(peak))
    result["kit_of_peak"] = float(np.median(peak / t["kit"]))
    result["gemm_gflops"] = gemm_flops(H) / min(result["gemm_numpy"], result.get("gemm_torch", np.inf)) / 1e9
    if torch is not None:
        result["kit_over_torch"] = float(np.median(t["kit"] / t["torch"]))
        result["torch_of_peak"] = float(np.median(peak / t["torch"]))
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--no-torch", action="store_true", help="leave PyTorch out (the kit against the GEMMs)")
    p.add_argument(
        "--clock",
        choices=CLOCKS,
        default="wall",
        help="wall: elapsed time (default); cpu: CPU time of this thread, which other programs on "
        "a busy machine do not inflate; needs OPENBLAS_NUM_THREADS=1 (PyTorch then uses 1 too)",
    )
    # --block 1 (the default here) is step by step; a larger block shows whether one library's idle
    # threads slow the other down.
    args = parse_step_options(p, argv, rounds=200, block=1)
    global clock
    clock = CLOCKS[args.clock]

    torch = None
    threads = numpy_blas()["threads"]
    if args.clock == "cpu" and threads != 1:
        p.exit(2, f"--clock cpu counts this thread only: run with OPENBLAS_NUM_THREADS=1 (numpy uses {threads})\n")
    torch_note = ""
    if not args.no_torch:
        torch = installed_torch
        if torch is None:
            p.exit(2, "PyTorch is not installed: pip install -r requirements-bench.txt, or run with --no-torch\n")
        if threads:
            torch.set_num_threads(threads)  # the same number of threads on both sides
        torch_note = f"; PyTorch {torch.__version__} with {torch.get_num_threads()} threads"
    print(f"Command: {command_line(__file__, argv)}")
    print(machine_line(torch_note))
    block = "" if args.block == 1 else f" (each the fastest of {args.block} runs in a row)"
    print(
        f"Step: N={N}, D={D}, C={C}, reg={REG}, SGD learning rate {LEARNING_RATE}; medians of {args.clock} "
        f"times over {args.rounds} interleaved rounds{block} after {WARMUP_ROUNDS} warm-up rounds"
    )

    header = [
        "H",
        "dtype",
        "kit step",
        "PyTorch step",
        "kit / PyTorch",
        "GEMMs alone (OpenBLAS / MKL)",
        "kit % of GEMM peak",
        "PyTorch % of GEMM peak",
        "GEMM GFLOP/s",
    ]
    rows = []
    for H in args.hidden:
        for dtype_name in args.dtype:
            dtype = np.dtype(dtype_name)
            if torch is not None:
                check_same_network(H, dtype, torch)
            r = run_config(H, dtype, args.rounds, torch, args.block)
            if torch is None:
                rows.append(
                    [
                        H,
                        dtype_name,
                        ms(r["kit"]),
                        "-",
                        "-",
                        ms(r["gemm_numpy"]),
                        f"{100 * r['kit_of_peak']:.0f}%",
                        "-",
                        f"{r['gemm_gflops']:.0f}",
                    ]
                )
            else:
                rows.append(
                    [
                        H,
                        dtype_name,
                        ms(r["kit"]),
                        ms(r["torch"]),
                        f"{r['kit_over_torch']:.2f}",
                        f"{ms(r['gemm_numpy'])} / {ms(r['gemm_torch'])}",
                        f"{100 * r['kit_of_peak']:.0f}%",
                        f"{100 * r['torch_of_peak']:.0f}%",
                        f"{r['gemm_gflops']:.0f}",
                    ]
                )
            print(f"  H={H} {dtype_name}: done", file=sys.stderr, flush=True)
    if torch is not None:
        print("Checked first: 3 steps from the same parameters give the same losses and parameters in both.")
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
