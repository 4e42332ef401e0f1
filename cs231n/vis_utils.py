"""Image grids, training curves and decision boundaries.

The plotting functions build a ``matplotlib.figure.Figure`` directly (no pyplot state, so they work
under any backend, Agg included) and return it: save it with ``fig.savefig(path)``, or show it in a
notebook by making it the last expression of a cell (or ``display(fig)``).
"""

from math import ceil, sqrt

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure


def visualize_grid(Xs, ubound=255.0, padding=1):
    """Tile a batch of images into one image, each rescaled to [0, ubound] on its own.

    Parameters
    ----------
    Xs : ndarray, shape (N, H, W, C)
        The images.
    ubound : float
        Each image is scaled so its minimum maps to 0 and its maximum to ``ubound``; a constant
        image maps to 0 everywhere.
    padding : int
        Pixels of zeros between neighbouring images.

    Returns
    -------
    grid : ndarray of float64, shape (R*H + (R-1)*padding, G*W + (G-1)*padding, C)
        G = ceil(sqrt(N)) columns and R = ceil(N / G) rows, the images filling them row by row; the
        unused cells of the last row stay 0.
    """
    Xs = np.asarray(Xs)
    if Xs.ndim != 4 or Xs.shape[0] == 0:
        raise ValueError(f"Xs must have shape (N, H, W, C) with N >= 1, got {Xs.shape}")
    if int(padding) != padding or padding < 0:
        raise ValueError(f"padding must be a non-negative integer, got {padding!r}")
    padding = int(padding)
    N, H, W, C = Xs.shape
    G = int(ceil(sqrt(N)))
    R = int(ceil(N / G))  # only the rows the images fill: 500 images make 22 rows of 23, not 23
    low = Xs.min(axis=(1, 2, 3), keepdims=True).astype(np.float64)
    span = Xs.max(axis=(1, 2, 3), keepdims=True) - low
    # A constant image has span 0: divide by 1 instead, which maps it to 0.
    scaled = ubound * (Xs - low) / np.where(span > 0, span, 1.0)
    cells = np.zeros((R * G, H + padding, W + padding, C))
    cells[:N, :H, :W] = scaled
    grid = cells.reshape(R, G, H + padding, W + padding, C).transpose(0, 2, 1, 3, 4)
    grid = grid.reshape(R * (H + padding), G * (W + padding), C)
    return grid[: R * (H + padding) - padding, : G * (W + padding) - padding]


def plot_training_curves(solver, title=None):
    """Plot the loss per iteration and the train/validation accuracy per epoch.

    Parameters
    ----------
    solver : Solver or similar
        Anything with ``loss_history`` (one loss per iteration), ``train_acc_history`` and
        ``val_acc_history`` (one accuracy per epoch, epoch 0 first).
    title : str, optional
        Title above both panels.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Two panels: loss (left), accuracies (right).

    Raises
    ------
    ValueError
        When ``loss_history`` is empty (the solver has not trained yet).
    """
    loss = np.asarray(solver.loss_history, dtype=np.float64)
    train_acc = np.asarray(solver.train_acc_history, dtype=np.float64)
    val_acc = np.asarray(solver.val_acc_history, dtype=np.float64)
    if loss.size == 0:
        raise ValueError("solver.loss_history is empty: there is nothing to plot before solver.train() has run")
    fig = Figure(figsize=(11, 4), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.plot(np.arange(len(loss)), loss, ".", markersize=2, alpha=0.5, label="minibatch")
    if len(loss) >= 20:
        # A running mean shows the trend through the minibatch noise.
        k = max(len(loss) // 50, 5)
        ax_loss.plot(np.arange(k - 1, len(loss)), np.convolve(loss, np.ones(k) / k, mode="valid"), label=f"mean of {k}")
    ax_loss.set(xlabel="iteration", ylabel="training loss", title="Loss")
    ax_loss.legend()
    ax_acc.plot(np.arange(len(train_acc)), train_acc, "o-", label="train")
    ax_acc.plot(np.arange(len(val_acc)), val_acc, "o-", label="val")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Classification accuracy")
    ax_acc.legend()
    if title:
        fig.suptitle(title)
    return fig


def plot_decision_boundary(model, X, y, resolution=300, margin=0.1, title=None, batch_size=10000):
    """Colour the plane by the class a model predicts, and draw the labelled points on top.

    Parameters
    ----------
    model : object with ``loss(X)``
        ``model.loss(P)`` on points P (M, 2) returns class scores (M, C), as ``TwoLayerNet`` does.
    X : ndarray, shape (N, 2)
        The points.
    y : ndarray of int, shape (N,)
        Their classes, in [0, C).
    resolution : int
        Grid points per axis.
    margin : float
        Space left around the points, as a fraction of their range.
    title : str, optional
    batch_size : int
        Grid points scored per call of ``model.loss``: the whole 300 x 300 grid at once would hold a
        hidden layer of 90,000 rows (72 MB for 100 float64 units) and its copies.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (N, 2), got {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"X holds no points (shape {X.shape}): there is nothing to draw")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X, got {y.shape}")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = margin * np.maximum(hi - lo, 1e-12)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    points = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(X.dtype)
    pred, num_scores = predict_in_batches(model, points, batch_size)
    pred = pred.reshape(gx.shape)
    num_classes = max(num_scores, int(y.max()) + 1)
    # One fixed colour per class, shared by the regions and the points.
    cmap = ListedColormap(colormaps["tab10" if num_classes <= 10 else "tab20"].colors[:num_classes])
    colour_range = dict(cmap=cmap, vmin=-0.5, vmax=num_classes - 0.5)
    fig = Figure(figsize=(5.5, 5), layout="constrained")
    ax = fig.subplots()
    ax.contourf(gx, gy, pred, levels=np.arange(num_classes + 1) - 0.5, alpha=0.35, **colour_range)
    ax.scatter(X[:, 0], X[:, 1], c=y, s=14, edgecolors="k", linewidths=0.4, **colour_range)
    ax.set(xlim=(xs[0], xs[-1]), ylim=(ys[0], ys[-1]), aspect="equal", xlabel="$x_1$", ylabel="$x_2$")
    if title:
        ax.set_title(title)
    return fig


def predict_in_batches(model, points, batch_size):
    """The class ``model.loss`` scores highest at each point, scoring ``batch_size`` points per call.

    Parameters
    ----------
    model : object with ``loss(X)``
        ``model.loss(P)`` on points P (M, D) returns class scores (M, C).
    points : ndarray, shape (M, D)
    batch_size : int

    Returns
    -------
    pred : ndarray of int, shape (M,)
        The index of the highest score of each point.
    num_scores : int
        C, the number of scores per point.
    """
    pred = np.empty(len(points), dtype=np.int64)
    for start in range(0, len(points), batch_size):
        batch = points[start : start + batch_size]
        scores = np.asarray(model.loss(batch))
        if scores.ndim != 2 or scores.shape[0] != len(batch):
            raise ValueError(f"model.loss(points) must return scores of shape ({len(batch)}, C), got {scores.shape}")
        pred[start : start + len(batch)] = scores.argmax(axis=1)
    return pred, scores.shape[1]


def plot_first_layer_weights(W1, image_shape=(3, 32, 32), padding=3, title=None):
    """Show each hidden unit's incoming weights as an image (CS231n's ``show_net_weights``).

    Parameters
    ----------
    W1 : ndarray, shape (D, H)
        First-layer weights, D = prod(image_shape), one column per hidden unit.
    image_shape : tuple of int
        (C, height, width) of the input images, channels first as in ``get_CIFAR10_data``.
    padding : int
        Pixels between the tiles.
    title : str, optional

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    W1 = np.asarray(W1)
    C, Hh, Ww = image_shape
    if W1.ndim != 2 or W1.shape[0] != C * Hh * Ww or W1.shape[1] == 0:
        raise ValueError(
            f"W1 must have shape ({C * Hh * Ww}, H), H >= 1, for images {tuple(image_shape)}, got {W1.shape}"
        )
    images = W1.T.reshape(-1, C, Hh, Ww).transpose(0, 2, 3, 1)
    grid = visualize_grid(images, padding=padding).astype(np.uint8)
    fig = Figure(figsize=(7, 7), layout="constrained")
    ax = fig.subplots()
    ax.imshow(grid.squeeze(-1) if C == 1 else grid, cmap="gray" if C == 1 else None)
    ax.axis("off")
    ax.set_title(title or f"First-layer weights ({W1.shape[1]} hidden units)")
    return fig
