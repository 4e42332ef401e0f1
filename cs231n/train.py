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

This module runs the job; its options and presets are in ``cs231n/train_options.py``, what it writes in
``cs231n/train_outputs.py``.
"""

import sys
import time
from pathlib import Path

import numpy as np

from cs231n import STUDENT_FILES
from cs231n.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from cs231n.data_utils import (
    CIFAR10NotFoundError,
    CIFARFormatError,
    UnsafePickleError,
    get_CIFAR10_data,
    get_spiral_data,
)
from cs231n.solver import LossDivergedError, NonFiniteDataError, Solver
from cs231n.stubs import STUB_RE, describe_stubs, find_stubs
from cs231n.train_options import parse_options
from cs231n.train_outputs import make_figures, write_outputs

SPLITS = ("train", "val", "test")


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


def train_linear(data, settings, args, input_dim, num_classes):
    """Train a linear softmax classifier (a FullyConnectedNet without hidden layers) to compare with.

    Returns
    -------
    linear : FullyConnectedNet
        The trained classifier.
    result : dict
        Its ``accuracy`` on every split and the ``seconds`` it trained.
    """
    linear = FullyConnectedNet(
        [],
        input_dim=input_dim,
        num_classes=num_classes,
        reg=settings["reg"],
        weight_scale=settings["weight_scale"],
        dtype=settings["dtype"],
    )
    if not args.quiet:
        print("Training the linear softmax classifier for comparison:")
    solver, seconds = train_model(
        linear, data, settings, verbose=False, print_every=args.print_every, num_threads=args.threads
    )
    return linear, {"accuracy": accuracies(solver, data), "seconds": seconds}


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
        linear, results["linear"] = train_linear(data, settings, args, input_dim, num_classes)

    out = Path(args.output_dir)
    write_outputs(out, make_figures(results, data, solver, net, linear), net, results)
    print(format_accuracies("Two-layer net:", results["two_layer"]["accuracy"], seconds))
    if linear is not None:
        print(format_accuracies("Linear classifier:", results["linear"]["accuracy"], results["linear"]["seconds"]))
    print(f"Wrote {', '.join(results['files'])} to {out}/")
    return results


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
    args, dataset, note, settings = parse_options(argv)
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
