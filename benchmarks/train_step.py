"""Training-step benchmark: the kit's modular TwoLayerNet against the same network in PyTorch (CPU).

One training step is what the Solver does for one minibatch: ``model.loss(X, y)`` (the forward and
backward passes through the layers of ``cs231n/layers.py``), then ``optim.sgd`` on every parameter.
The minibatch is CIFAR-10-shaped (N=200 images of 3x32x32, D=3072, C=10); the hidden size is H=100
or 512, the dtype float32 or float64.

PyTorch runs the same network: ``nn.Sequential(Linear, ReLU, Linear)``, ``CrossEntropyLoss`` plus
``0.5 * reg * (||W1||^2 + ||W2||^2)``, ``torch.optim.SGD``, with as many threads as numpy's BLAS.
Before timing, three steps from the same parameters on the same batches must give the same losses
and parameters in both.

Where the time goes: the kit's ``affine_backward`` returns ``dx``, the gradient of its input, for
every layer, the first one too, where the input is the images: ``dx = dh @ W1.T`` is an (N, H) by
(H, D) product, as large as the forward product ``X @ W1``. Nothing uses that gradient, and PyTorch
does not compute it (the images do not require a gradient). The benchmark times this product alone
and gives its share of the kit's step, and the kit's step without it against PyTorch's.

The kit step, the PyTorch step and the dx product run interleaved round by round (the order reversed
every other round), so a change in the machine's load hits them alike. In each round each of them
runs ``--block`` times in a row and the fastest run counts: numpy's and PyTorch's thread pools each
take a run or two to get going after the other library has had the cores. Times are medians over
the rounds; ratios and shares are medians of the per-round ratios.

    python benchmarks/train_step.py                      all four configurations, 100 rounds of 3 runs each
    python benchmarks/train_step.py --hidden 100 --dtype float32 --rounds 50

PyTorch comes from ``requirements-bench.txt``; the kit itself never needs it.
"""

import argparse
import sys
import time

import numpy as np
from common import command_line, machine_line, markdown_table, numpy_blas

from cs231n import optim
from cs231n.classifiers.fc_net import TwoLayerNet

try:
    import torch
except ImportError:  # a benchmark requirement only
    torch = None

N, D, C = 200, 3 * 32 * 32, 10
LEARNING_RATE, REG = 1e-3, 1e-3
NUM_BATCHES = 4  # distinct minibatches, used in turn
WARMUP_ROUNDS = 5


def make_batches(dtype, seed=0):
    """NUM_BATCHES CIFAR-10-shaped minibatches: X (N, 3, 32, 32) of ``dtype``, y (N,) int64."""
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((N, 3, 32, 32)).astype(dtype), rng.integers(C, size=N)) for _ in range(NUM_BATCHES)]


def make_kit_model(H, dtype, seed=0):
    """The reference TwoLayerNet (D, H, C) with its parameters in ``dtype``, and one sgd config per parameter."""
    np.random.seed(seed)
    model = TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, weight_scale=1e-2, reg=REG)
    model.params = {k: v.astype(dtype) for k, v in model.params.items()}
    configs = {k: {"learning_rate": LEARNING_RATE} for k in model.params}
    return model, configs


def kit_step(model, configs, X, y):
    """One training step as the Solver takes it: loss and gradients, then sgd on every parameter."""
    loss, grads = model.loss(X, y)
    for p, w in model.params.items():
        model.params[p], configs[p] = optim.sgd(w, grads[p], configs[p])
    return loss


def make_torch_model(params):
    """The same network in PyTorch, starting from copies of the kit's ``params``; returns (net, optimizer)."""
    H = params["W1"].shape[1]
    net = torch.nn.Sequential(torch.nn.Linear(D, H), torch.nn.ReLU(), torch.nn.Linear(H, C))
    net = net.to(getattr(torch, params["W1"].dtype.name))
    with torch.no_grad():  # nn.Linear keeps its weight as (out, in): the transpose of the kit's W
        net[0].weight.copy_(torch.from_numpy(params["W1"].T))
        net[0].bias.copy_(torch.from_numpy(params["b1"]))
        net[2].weight.copy_(torch.from_numpy(params["W2"].T))
        net[2].bias.copy_(torch.from_numpy(params["b2"]))
    return net, torch.optim.SGD(net.parameters(), lr=LEARNING_RATE)


def torch_step(net, optimizer, X, y):
    """One training step of the PyTorch network on tensors X (N, 3, 32, 32), y (N,)."""
    optimizer.zero_grad(set_to_none=True)
    W1, W2 = net[0].weight, net[2].weight
    loss = torch.nn.functional.cross_entropy(net(X.flatten(1)), y) + 0.5 * REG * ((W1**2).sum() + (W2**2).sum())
    loss.backward()
    optimizer.step()
    return loss.item()


def check_same_network(H, dtype, steps=3):
    """Raise AssertionError unless the kit and PyTorch give the same losses and parameters for ``steps`` steps."""
    model, configs = make_kit_model(H, dtype)
    net, optimizer = make_torch_model(model.params)
    for X, y in make_batches(dtype, seed=1)[:steps]:
        pairs = [
            (kit_step(model, configs, X, y), torch_step(net, optimizer, torch.from_numpy(X), torch.from_numpy(y))),
            (model.params["W1"], net[0].weight.detach().numpy().T),
            (model.params["b1"], net[0].bias.detach().numpy()),
            (model.params["W2"], net[2].weight.detach().numpy().T),
        ]
        for a, b in pairs:
            # Relative to the array's largest entry: a bias entry near 0 may differ in its last digits.
            error = np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-12)
            if error > (1e-4 if dtype == np.float32 else 1e-9):
                raise AssertionError(f"kit and PyTorch disagree (H={H}, {dtype}): relative error {error:.2g}")


def input_gradient(dout, w, x_shape):
    """The product the first layer's affine_backward computes and nothing uses: dx = dout @ w.T, shaped like x."""
    return (dout @ w.T).reshape(x_shape)


def timed(f, *args):
    """Seconds of wall time ``f(*args)`` takes."""
    tic = time.perf_counter()
    f(*args)
    return time.perf_counter() - tic


def run_config(H, dtype, rounds, block):
    """Time the kit step, the PyTorch step and the kit's input-gradient product, interleaved.

    Returns
    -------
    dict of str to ndarray
        ``kit``, ``torch`` and ``dx``: seconds per kept round.
    """
    model, configs = make_kit_model(H, dtype)
    net, optimizer = make_torch_model(model.params)
    batches = make_batches(dtype)
    torch_batches = [(torch.from_numpy(X), torch.from_numpy(y)) for X, y in batches]
    dh = np.random.default_rng(2).standard_normal((N, H)).astype(dtype)  # an upstream gradient of the hidden layer

    variants = {
        "kit": lambda i: timed(kit_step, model, configs, *batches[i % NUM_BATCHES]),
        "torch": lambda i: timed(torch_step, net, optimizer, *torch_batches[i % NUM_BATCHES]),
        "dx": lambda i: timed(input_gradient, dh, model.params["W1"], batches[i % NUM_BATCHES][0].shape),
    }
    times = {name: [] for name in variants}
    order = list(variants)
    for i in range(WARMUP_ROUNDS + rounds):
        for name in order if i % 2 == 0 else order[::-1]:
            t = min(variants[name](block * i + j) for j in range(block))
            if i >= WARMUP_ROUNDS:
                times[name].append(t)
    return {name: np.array(t) for name, t in times.items()}


def ms(seconds):
    return f"{1e3 * seconds:.2f} ms"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, nargs="+", default=[100, 512], help="hidden sizes H")
    p.add_argument("--dtype", nargs="+", choices=("float32", "float64"), default=["float32", "float64"])
    p.add_argument("--rounds", type=int, default=100, help="timed rounds per configuration")
    p.add_argument("--block", type=int, default=3, help="runs of each in a row per round, the fastest kept")
    args = p.parse_args(argv)
    if args.rounds < 1 or args.block < 1:
        p.error(f"--rounds and --block must be at least 1, got {args.rounds} and {args.block}")
    if torch is None:
        p.exit(2, "PyTorch is not installed: pip install -r requirements-bench.txt\n")
    threads = numpy_blas()["threads"]
    if threads:
        torch.set_num_threads(threads)  # the same number of threads on both sides

    print(f"Command: {command_line(__file__, argv)}")
    print(machine_line(f"; PyTorch {torch.__version__} with {torch.get_num_threads()} threads"))
    print(
        f"Step: N={N}, D={D}, C={C}, reg={REG}, SGD learning rate {LEARNING_RATE}; medians over {args.rounds} "
        f"interleaved rounds (each the fastest of {args.block} runs in a row) after {WARMUP_ROUNDS} warm-up rounds"
    )
    header = [
        "H",
        "dtype",
        "kit step",
        "PyTorch step",
        "kit / PyTorch",
        "dx product",
        "dx share",
        "(kit - dx) / PyTorch",
    ]
    rows = []
    for H in args.hidden:
        for dtype_name in args.dtype:
            dtype = np.dtype(dtype_name)
            check_same_network(H, dtype)
            t = run_config(H, dtype, args.rounds, args.block)
            rows.append(
                [
                    H,
                    dtype_name,
                    ms(np.median(t["kit"])),
                    ms(np.median(t["torch"])),
                    f"{np.median(t['kit'] / t['torch']):.2f}",
                    ms(np.median(t["dx"])),
                    f"{100 * np.median(t['dx'] / t['kit']):.0f}%",
                    f"{np.median((t['kit'] - t['dx']) / t['torch']):.2f}",
                ]
            )
            print(f"  H={H} {dtype_name}: done", file=sys.stderr, flush=True)
    print("Checked first: 3 steps from the same parameters give the same losses and parameters in both.")
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
