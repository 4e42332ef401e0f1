"""What the main job writes into its output folder: its plots, the trained net and ``results.json``.

The folder is checked before anything is trained (``check_output_dir``). Every file is written whole or
not at all, so an interrupted run leaves the earlier run's files as they were, and the files of an
earlier run that this one does not write are removed once this run's are in place.
"""

import json

from cs231n.file_utils import atomic_write, check_writable_folder
from cs231n.vis_utils import plot_decision_boundary, plot_first_layer_weights, plot_training_curves

# Every file a run may write; a new run removes those of an earlier one so that none is left stale.
OUTPUT_FILES = (
    "curves.png",
    "decision_boundary.png",
    "decision_boundary_linear.png",
    "first_layer_weights.png",
    "two_layer_net.npz",
    "results.json",
)


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


def make_figures(results, data, solver, net, linear=None):
    """The job's figures: the training curves, then the decision boundaries (spiral) or the first layer's weights.

    Parameters
    ----------
    results : dict
        What ``results.json`` holds: the dataset, the settings and each model's accuracies.
    data : dict
        The splits; ``X_train`` (N, ...) and ``y_train`` (N,) are drawn under the boundaries.
    solver : Solver
        The two-layer net's, for its curves.
    net : TwoLayerNet
        The trained two-layer net.
    linear : FullyConnectedNet or None
        The trained linear classifier, when the job trained one.

    Returns
    -------
    figures : dict
        File name -> matplotlib Figure.
    """
    dataset, hidden_size = results["dataset"], results["settings"]["hidden_size"]
    title = f"Two-layer net on {'CIFAR-10' if dataset == 'cifar10' else 'the spiral'}"
    figures = {"curves.png": plot_training_curves(solver, title=title)}
    if dataset != "spiral":
        figures["first_layer_weights.png"] = plot_first_layer_weights(
            net.params["W1"], image_shape=data["X_train"].shape[1:]
        )
        return figures
    acc = results["two_layer"]["accuracy"]["val"]
    figures["decision_boundary.png"] = plot_decision_boundary(
        net, data["X_train"], data["y_train"], title=f"Two-layer net, H={hidden_size} (val {100 * acc:.1f}%)"
    )
    if linear is not None:
        acc = results["linear"]["accuracy"]["val"]
        figures["decision_boundary_linear.png"] = plot_decision_boundary(
            linear, data["X_train"], data["y_train"], title=f"Linear softmax classifier (val {100 * acc:.1f}%)"
        )
    return figures


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
