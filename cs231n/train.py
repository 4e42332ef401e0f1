"""The main job: train a TwoLayerNet with the Solver and write its plots and model.

    python -m cs231n.train                      CIFAR-10 if it is there, else the built-in spiral
    python -m cs231n.train --dataset spiral     the spiral (seconds, no download)
    python -m cs231n.train --help               every option

With no arguments it runs offline: on CIFAR-10 when ``datasets/cifar-10-batches-py`` (or
``$CIFAR10_DIR``) holds the batches, otherwise on the spiral, and it says which. It prints progress
and the final train/val/test accuracy, trains a linear softmax classifier on the same data for
comparison, and writes to the output folder (default ``output/``), replacing the files of an
earlier run there:

- ``curves.png``: loss and train/val accuracy of the two-layer net;
- ``decision_boundary.png`` and ``decision_boundary_linear.png`` (spiral) or
  ``first_layer_weights.png`` (CIFAR-10);
- ``two_layer_net.npz``: the trained net (``TwoLayerNet.load`` reads it back);
- ``results.json``: dataset, hyperparameters, accuracies and training time.

Every file is replaced only once its new version is complete, so an interrupted run leaves the earlier
run's files whole. Exit status: 0 done, 1 the loss diverged (lower --lr), 2 an error of the options, the
output folder or the data (one message, no traceback), 130 interrupted.
"""

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from cs231n import STUDENT_FILES
from cs231n.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from cs231n.data_utils import (
    GET_DATASETS_COMMAND,
    CIFAR10NotFoundError,
    CIFARFormatError,
    UnsafePickleError,
    default_cifar10_dir,
    get_CIFAR10_data,
    get_spiral_data,
)
from cs231n.file_utils import atomic_write, check_writable_folder
from cs231n.solver import LossDivergedError, NonFiniteDataError, Solver
from cs231n.stubs import STUB_RE, describe_stubs, find_stubs
from cs231n.threads import parse_num_threads
from cs231n.vis_utils import plot_decision_boundary, plot_first_layer_weights, plot_training_curves

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
SPLITS = ("train", "val", "test")
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
# Every file a run may write; a new run removes those of an earlier one so that none is left stale.
OUTPUT_FILES = (
    "curves.png",
    "decision_boundary.png",
    "decision_boundary_linear.png",
    "first_layer_weights.png",
    "two_layer_net.npz",
    "results.json",
)


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
        choices=("step", "cosine", "linear", "inv_sqrt"),
        help="learning-rate schedule over all updates (sets --lr-decay to 1)",
    )
    p.add_argument("--weight-scale", type=float, help="standard deviation of the initial weights")
    p.add_argument("--update-rule", choices=("sgd", "sgd_momentum", "rmsprop", "adam"), help="update rule")
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


def check_output_dir(out):
    """Refuse an output folder the job could not write into, before anything is trained.

    Raises
    ------
    OSError
        ``out`` (or a folder above it) is a file, nothing can be written there, or one of the job's
        files in it is a folder.
    """
    check_writable_folder(out, f"--output-dir {out}")
    for name in OUTPUT_FILES:
        if (out / name).is_dir():
            raise IsADirectoryError(f"--output-dir {out}: {out / name} is a folder; the job writes a file there")


class DataSizeError(ValueError):
    """The data holds fewer examples than the options ask for."""


def load_data(dataset, settings, args):
    """Load the splits as a dict with X_train, y_train, X_val, y_val, X_test, y_test.

    ``--num-training`` takes the first training examples of either dataset.

    Raises
    ------
    DataSizeError
        ``--num-training`` asks for more training examples than the data holds.
    """
    dtype = np.dtype(settings["dtype"])
    n = settings["num_training"]
    if dataset == "spiral":
        data = get_spiral_data(seed=args.seed, dtype=dtype)
        if n is not None and n > len(data["X_train"]):
            raise DataSizeError(f"--num-training {n} is more than the {len(data['X_train'])} training points")
        data["X_train"], data["y_train"] = data["X_train"][:n], data["y_train"][:n]
        return data
    try:
        return get_CIFAR10_data(num_training=n, cifar10_dir=args.cifar10_dir, dtype=dtype)
    except (CIFARFormatError, UnsafePickleError):
        raise
    except (ValueError, MemoryError) as e:  # the counts: too many images for the data or for the memory
        reason = str(e) or "not enough memory for that many images"
        raise DataSizeError(f"the data cannot give this run's splits (--num-training {n}): {reason}") from None


def train_model(model, data, settings, verbose, print_every, num_threads=None):
    """Train ``model`` with a Solver set up from ``settings``; returns the Solver and the seconds taken.

    ``num_threads`` is the Solver's (None: ``$CS231N_NUM_THREADS``, else the free cores).
    """
    # The nets draw their weights in float64; cast once so float32 runs stay float32 throughout.
    model.params = {k: v.astype(settings["dtype"]) for k, v in model.params.items()}
    solver = Solver(
        model,
        data,
        update_rule=settings["update_rule"],
        optim_config={"learning_rate": settings["lr"]},
        lr_decay=settings["lr_decay"],
        lr_schedule=settings["lr_schedule"],
        batch_size=settings["batch_size"],
        num_epochs=settings["epochs"],
        print_every=print_every,
        verbose=verbose,
        num_threads=num_threads,
    )
    tic = time.perf_counter()
    solver.train()
    return solver, time.perf_counter() - tic


def accuracies(solver, data):
    """Accuracy on every split, on all of its examples."""
    return {s: solver.check_accuracy(data[f"X_{s}"], data[f"y_{s}"]) for s in SPLITS}


def format_accuracies(name, acc, seconds):
    """One summary line: the model's name, its accuracy on each split and its training time."""
    return f"{name:<22} " + "  ".join(f"{s} {100 * acc[s]:5.1f}%" for s in SPLITS) + f"   ({seconds:.1f} s)"


def run(args, dataset, note, settings):
    """Train, evaluate and write everything; returns the results written to ``results.json``."""

    def say(*lines):
        if not args.quiet:
            print(*lines)

    print(note)
    np.random.seed(args.seed)
    data = load_data(dataset, settings, args)
    input_dim = int(np.prod(data["X_train"].shape[1:]))
    num_classes = int(max(data[f"y_{s}"].max() for s in SPLITS)) + 1
    say("Splits: " + ", ".join(f"{s} {data[f'X_{s}'].shape}" for s in SPLITS))
    say("Settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()))

    net = TwoLayerNet(
        input_dim=input_dim,
        hidden_dim=settings["hidden_size"],
        num_classes=num_classes,
        weight_scale=settings["weight_scale"],
        reg=settings["reg"],
    )
    say(f"Training the two-layer net ({input_dim} - {settings['hidden_size']} - {num_classes}):")
    solver, seconds = train_model(
        net, data, settings, verbose=not args.quiet, print_every=args.print_every, num_threads=args.threads
    )
    results = {
        "dataset": dataset,
        "settings": settings,
        "seed": args.seed,
        "two_layer": {"accuracy": accuracies(solver, data), "seconds": seconds},
    }

    linear = None
    if settings["baseline"]:
        linear = FullyConnectedNet(
            [],
            input_dim=input_dim,
            num_classes=num_classes,
            reg=settings["reg"],
            weight_scale=settings["weight_scale"],
            dtype=settings["dtype"],
        )
        say("Training the linear softmax classifier for comparison:")
        linear_solver, linear_seconds = train_model(
            linear, data, settings, verbose=False, print_every=args.print_every, num_threads=args.threads
        )
        results["linear"] = {"accuracy": accuracies(linear_solver, data), "seconds": linear_seconds}

    title = f"Two-layer net on {'CIFAR-10' if dataset == 'cifar10' else 'the spiral'}"
    figures = {"curves.png": plot_training_curves(solver, title=title)}
    if dataset == "spiral":
        acc = results["two_layer"]["accuracy"]["val"]
        figures["decision_boundary.png"] = plot_decision_boundary(
            net,
            data["X_train"],
            data["y_train"],
            title=f"Two-layer net, H={settings['hidden_size']} (val {100 * acc:.1f}%)",
        )
        if linear is not None:
            acc = results["linear"]["accuracy"]["val"]
            figures["decision_boundary_linear.png"] = plot_decision_boundary(
                linear, data["X_train"], data["y_train"], title=f"Linear softmax classifier (val {100 * acc:.1f}%)"
            )
    else:
        figures["first_layer_weights.png"] = plot_first_layer_weights(
            net.params["W1"], image_shape=data["X_train"].shape[1:]
        )
    out = Path(args.output_dir)
    write_outputs(out, figures, net, results)

    print(format_accuracies("Two-layer net:", results["two_layer"]["accuracy"], seconds))
    if linear is not None:
        print(format_accuracies("Linear classifier:", results["linear"]["accuracy"], results["linear"]["seconds"]))
    print(f"Wrote {', '.join(results['files'])} to {out}/")
    return results


def write_outputs(out, figures, net, results):
    """Write the figures, the model and ``results.json`` (last) into ``out``, then remove stale files.

    Every file is written whole or not at all (``atomic_write``), so an interrupted run leaves the
    files of the earlier run as they were; the files an earlier run wrote and this one did not (its
    job's names only, never the user's files) are removed once this run's files are in place.
    """
    out.mkdir(parents=True, exist_ok=True)
    for name, fig in figures.items():
        with atomic_write(out / name) as f:
            fig.savefig(f, format="png", dpi=100)
    net.save(out / "two_layer_net.npz")
    results["files"] = [*figures, "two_layer_net.npz", "results.json"]
    with atomic_write(out / "results.json", "w") as f:
        json.dump(results, f, indent=2)
    for name in OUTPUT_FILES:
        if name not in results["files"]:
            (out / name).unlink(missing_ok=True)


def main(argv=None):
    """Entry point of ``python -m cs231n.train`` and ``cs231n-train``.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 1 when training diverged, 2 for every error a user can cause: an option out of
        range or an output folder that cannot be written (through argparse, before anything is loaded),
        data that is missing, damaged or too small for the options, a file that cannot be read or
        written, or a function of the kit still to implement. 130 when interrupted (Ctrl-C). Each
        prints one message, never a traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    dataset, note = choose_dataset(args)
    try:
        settings = resolve_settings(args, dataset)
        check_output_dir(Path(args.output_dir))
    except (ValueError, OSError) as e:
        parser.error(str(e))
    try:
        run(args, dataset, note, settings)
    except LossDivergedError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except (CIFAR10NotFoundError, CIFARFormatError, UnsafePickleError, DataSizeError, NonFiniteDataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e.strerror or e}: {e.filename}" if e.filename else f"error: {e}", file=sys.stderr)
        return 2
    except MemoryError as e:
        print(f"error: not enough memory ({e}): lower --hidden-size, --batch-size or --num-training", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the files of the output folder are those of the last complete run", file=sys.stderr)
        return 130
    except NotImplementedError as e:
        if not STUB_RE.search(str(e)):
            raise
        print(unfinished_message(e), file=sys.stderr)
        return 2
    return 0


def unfinished_message(error):
    """Say which stub stopped the job and list every function of the kit still to implement."""
    stubs = find_stubs(Path(__file__).resolve().parents[1], STUDENT_FILES)
    return "\n".join(
        [
            f"error: the main job needs code that is not written yet ({STUB_RE.search(str(error))[0]}).",
            "Still to implement:",
        ]
        + describe_stubs(stubs)
        + ["Work through the notebooks (README.md, order of work); `python -m pytest` shows what is done."]
    )


if __name__ == "__main__":
    sys.exit(main())
