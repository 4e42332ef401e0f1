"""The main job's command line: its options, each dataset's preset, and their checks.

``parse_options`` turns the arguments of ``python -m cs231n.train`` into the dataset and the settings of
the run, or exits with status 2 and one message (argparse's) naming the option that is wrong, before
anything is loaded or trained. ``cs231n/train.py`` runs the job.
"""

import argparse
import math
from pathlib import Path

from cs231n.data_utils import GET_DATASETS_COMMAND, default_cifar10_dir
from cs231n.optim_config import RULE_KEYS
from cs231n.schedules import LR_SCHEDULES
from cs231n.threads import parse_num_threads
from cs231n.train_outputs import check_output_dir

# Hyperparameters per dataset; every one can be overridden on the command line.
PRESETS = {
    "spiral": dict(
        hidden_size=100,
        epochs=20,
        lr=3e-2,
        reg=1e-4,
        batch_size=12,
        lr_decay=1.0,
        lr_schedule=None,
        weight_scale=1e-1,
        update_rule="adam",
        dtype="float64",
        num_training=None,
        baseline=True,
    ),
    # An untuned starting point: finding better values is the notebooks' hyperparameter search.
    "cifar10": dict(
        hidden_size=100,
        epochs=5,
        lr=1e-4,
        reg=0.0,
        batch_size=200,
        lr_decay=1.0,
        lr_schedule=None,
        weight_scale=1e-3,
        update_rule="sgd",
        dtype="float32",
        num_training=49000,
        baseline=False,
    ),
}
# What each numeric option must be, checked before anything is loaded or trained: (test, what is expected).
LIMITS = {
    "hidden_size": (lambda v: v >= 1, "an integer >= 1"),
    "epochs": (lambda v: v >= 1, "an integer >= 1"),
    "batch_size": (lambda v: v >= 1, "an integer >= 1"),
    "num_training": (lambda v: v is None or v >= 1, "an integer >= 1"),
    "lr": (lambda v: 0 < v < math.inf, "a number > 0"),
    "reg": (lambda v: 0 <= v < math.inf, "a number >= 0"),
    "weight_scale": (lambda v: 0 < v < math.inf, "a number > 0"),
    "lr_decay": (lambda v: 0 < v < math.inf, "a number > 0"),
    "print_every": (lambda v: v >= 1, "an integer >= 1"),
    "seed": (lambda v: 0 <= v < 2**32, "an integer in [0, 2**32)"),
}


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block): the message names the option and says why."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n({self.prog} --help lists every option)\n")


def build_parser():
    """The command-line options of ``python -m cs231n.train``.

    Returns
    -------
    parser : argparse.ArgumentParser
    """
    p = _Parser(
        prog="python -m cs231n.train",
        description="Train a two-layer net (affine - relu - affine - softmax) with the Solver and write its "
        "curves, plots and model to an output folder.",
        epilog="Options left out take the dataset's preset: "
        + "; ".join(f"{name}: " + ", ".join(f"{k}={v}" for k, v in preset.items()) for name, preset in PRESETS.items()),
    )
    p.add_argument(
        "--dataset",
        choices=("auto", "spiral", "cifar10"),
        default="auto",
        help="auto (default): cifar10 when its batches are found, else spiral",
    )
    p.add_argument(
        "--cifar10-dir",
        type=Path,
        default=None,
        help=f"folder of the CIFAR-10 batches (default: $CIFAR10_DIR or {default_cifar10_dir()})",
    )
    p.add_argument("--num-training", type=int, help="CIFAR-10 training images (the 1,000 after them stay val)")
    p.add_argument("--hidden-size", type=int, help="hidden units H")
    p.add_argument("--epochs", type=int, help="training epochs")
    p.add_argument("--lr", type=float, help="learning rate (optim_config['learning_rate'])")
    p.add_argument("--reg", type=float, help="L2 regularization strength")
    p.add_argument("--batch-size", type=int, help="minibatch size")
    p.add_argument("--lr-decay", type=float, help="learning-rate factor applied after each epoch")
    p.add_argument(
        "--lr-schedule",
        choices=tuple(LR_SCHEDULES),
        help="learning-rate schedule over all updates (sets --lr-decay to 1)",
    )
    p.add_argument("--weight-scale", type=float, help="standard deviation of the initial weights")
    p.add_argument("--update-rule", choices=tuple(RULE_KEYS), help="update rule")
    p.add_argument("--dtype", choices=("float32", "float64"), help="float type of the data and parameters")
    p.add_argument(
        "--baseline",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also train a linear softmax classifier for comparison (default: on for spiral)",
    )
    p.add_argument("--output-dir", type=Path, default=Path("output"), help="where to write plots and model")
    p.add_argument("--seed", type=int, default=0, help="seed of the data split, the weights and the minibatches")
    p.add_argument("--print-every", type=int, default=100, help="print the loss every this many iterations")
    p.add_argument("--quiet", action="store_true", help="print only the final summary")
    p.add_argument(
        "--threads",
        type=threads_option,
        metavar="N|auto",
        help="threads of numpy's matrix products while training (default: $CS231N_NUM_THREADS, else the free cores)",
    )
    return p


def threads_option(text):
    """``--threads``: a thread count or "auto", refused with argparse's message otherwise."""
    try:
        return parse_num_threads(text, "--threads")
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def choose_dataset(args):
    """Pick the dataset named in ``args.dataset``, resolving ``auto``.

    Returns
    -------
    name : str
        "spiral" or "cifar10".
    note : str
        One line saying which dataset is used and why.
    """
    cifar_dir = args.cifar10_dir or default_cifar10_dir()
    if args.dataset == "spiral":
        return "spiral", "Dataset: the built-in spiral (--dataset spiral)."
    if args.dataset == "cifar10":
        return "cifar10", f"Dataset: CIFAR-10 from {cifar_dir}."
    if (Path(cifar_dir) / "data_batch_1").is_file():
        return "cifar10", f"Dataset: CIFAR-10 from {cifar_dir} (found there; --dataset spiral for the toy data)."
    return "spiral", (
        f"Dataset: the built-in spiral, since CIFAR-10 is not in {cifar_dir}. To train on "
        f"CIFAR-10, run `{GET_DATASETS_COMMAND}` and then this command again."
    )


def resolve_settings(args, dataset):
    """The dataset's preset with every option given on the command line put over it.

    Returns
    -------
    settings : dict
        The keys of ``PRESETS[dataset]``.
    """
    settings = dict(PRESETS[dataset])
    for key in settings:
        value = getattr(args, key)
        if value is not None:
            settings[key] = value
    if args.lr_schedule is not None and args.lr_decay is None:
        settings["lr_decay"] = 1.0  # the Solver takes a schedule or a per-epoch decay, not both
    if settings["lr_schedule"] is not None and settings["lr_decay"] != 1.0:
        raise ValueError(f"--lr-schedule {settings['lr_schedule']} replaces --lr-decay; give one, not both")
    for key, (ok, expected) in LIMITS.items():
        value = settings[key] if key in settings else getattr(args, key)
        if not ok(value):
            raise ValueError(f"--{key.replace('_', '-')} must be {expected}, got {value}")
    return settings


def parse_options(argv=None):
    """Parse and check the job's arguments; exit with status 2 and one message if one is wrong.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    args : argparse.Namespace
        The parsed options.
    dataset : str
        "spiral" or "cifar10".
    note : str
        One line saying which dataset is used and why.
    settings : dict
        The dataset's preset with the options given put over it (the keys of ``PRESETS[dataset]``).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    dataset, note = choose_dataset(args)
    try:
        settings = resolve_settings(args, dataset)
        check_output_dir(Path(args.output_dir))
    except (ValueError, OSError) as e:
        parser.error(str(e))
    return args, dataset, note, settings
