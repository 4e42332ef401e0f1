"""Tests for cs231n/vis_utils.py.

Each figure is checked for the data it draws, then saved as a PNG: the training curves with and without
their running mean, the first-layer weights and the decision boundary.
"""

import math
import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from cs231n.vis_utils import plot_decision_boundary, plot_first_layer_weights, plot_training_curves, visualize_grid

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def grid_by_loops(Xs, ubound, padding):
    """visualize_grid written as plain loops over grid cells, as a reference."""
    N, H, W, C = Xs.shape
    G = math.ceil(math.sqrt(N))
    rows = (N + G - 1) // G
    grid = np.zeros((rows * H + (rows - 1) * padding, G * W + (G - 1) * padding, C))
    for n in range(N):
        row, col = divmod(n, G)
        img = Xs[n].astype(np.float64)
        y0, x0 = row * (H + padding), col * (W + padding)
        grid[y0 : y0 + H, x0 : x0 + W] = ubound * (img - img.min()) / (img.max() - img.min())
    return grid


@pytest.mark.parametrize("N, padding, ubound", [(1, 1, 255.0), (5, 0, 1.0), (9, 3, 255.0), (10, 2, 10.0)])
def test_visualize_grid_places_each_rescaled_image_row_by_row(rng, N, padding, ubound):
    Xs = rng.standard_normal((N, 4, 3, 3))
    np.testing.assert_allclose(visualize_grid(Xs, ubound=ubound, padding=padding), grid_by_loops(Xs, ubound, padding))


@pytest.mark.parametrize("N, columns, rows", [(500, 23, 22), (200, 15, 14), (100, 10, 10), (10, 4, 3), (3, 2, 2)])
def test_visualize_grid_has_no_empty_row(N, columns, rows):
    # Each image is constant but its corner pixel, so every image shows a nonzero pixel after rescaling.
    Xs = np.zeros((N, 2, 2, 1))
    Xs[:, 0, 0, 0] = 1.0
    grid = visualize_grid(Xs, padding=1)
    assert grid.shape == (3 * rows - 1, 3 * columns - 1, 1)
    assert all(grid[3 * r : 3 * r + 2].max() == 255.0 for r in range(rows))  # the last row holds an image too


def test_visualize_grid_maps_a_constant_image_to_zero_without_warnings(rng):
    Xs = rng.standard_normal((4, 5, 5, 3))
    Xs[2] = 7.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grid = visualize_grid(Xs)
    assert np.isfinite(grid).all()
    assert np.all(grid[6:11, 0:5] == 0.0)  # image 2 sits in row 1, column 0
    assert grid[0:5, 0:5].max() == pytest.approx(255.0)


def test_visualize_grid_handles_integer_images():
    Xs = np.array([[[[0], [10]], [[20], [30]]]], dtype=np.uint8)
    np.testing.assert_allclose(visualize_grid(Xs)[..., 0], [[0, 85], [170, 255]])


@pytest.mark.parametrize(
    "Xs, padding, message",
    [
        (np.zeros((3, 4, 4)), 1, r"shape \(N, H, W, C\).*\(3, 4, 4\)"),
        (np.zeros((0, 4, 4, 3)), 1, "N >= 1"),
        (np.zeros((2, 4, 4, 3)), -1, "padding must be a non-negative integer, got -1"),
    ],
)
def test_visualize_grid_rejects_bad_input(Xs, padding, message):
    with pytest.raises(ValueError, match=message):
        visualize_grid(Xs, padding=padding)


class History:
    """What plot_training_curves reads from a Solver."""

    def __init__(self, iterations, epochs):
        self.loss_history = list(np.linspace(2.3, 0.5, iterations))
        self.train_acc_history = list(np.linspace(0.1, 0.9, epochs + 1))
        self.val_acc_history = list(np.linspace(0.1, 0.7, epochs + 1))


@pytest.mark.parametrize("iterations, running_mean", [(3, False), (200, True)])
def test_plot_training_curves_draws_the_solver_histories(iterations, running_mean):
    history = History(iterations, epochs=4)
    fig = plot_training_curves(history, title="run")
    assert isinstance(fig, Figure)
    ax_loss, ax_acc = fig.axes
    np.testing.assert_allclose(ax_loss.lines[0].get_ydata(), history.loss_history)
    assert len(ax_loss.lines) == 1 + running_mean  # a running mean of the loss from 20 iterations on
    np.testing.assert_allclose(ax_acc.lines[0].get_ydata(), history.train_acc_history)
    np.testing.assert_allclose(ax_acc.lines[1].get_ydata(), history.val_acc_history)


class SignModel:
    """Class 1 where x1 > 0, else class 0; records the points it was asked about."""

    def loss(self, X, y=None):
        self.seen = X
        return np.stack([-X[:, 0], X[:, 0]], axis=1)


def test_plot_decision_boundary_colours_the_plane_by_the_predicted_class(tmp_path):
    X = np.array([[-1.0, -2.0], [1.0, 2.0], [0.5, -1.0]])
    y = np.array([0, 1, 1])
    model = SignModel()
    fig = plot_decision_boundary(model, X, y, resolution=50, margin=0.1)
    # The grid covers the points plus 10% of their range on each side.
    assert model.seen.shape == (2500, 2)
    np.testing.assert_allclose(model.seen.min(axis=0), [-1.2, -2.4])
    np.testing.assert_allclose(model.seen.max(axis=0), [1.2, 2.4])
    fig.savefig(tmp_path / "boundary.png")
    image = matplotlib.image.imread(tmp_path / "boundary.png")
    ax = fig.axes[0]
    # Pixel colours on either side of x1 = 0 differ: two regions were drawn.
    to_pixel = ax.transData.transform
    height = image.shape[0]
    (lx, ly), (rx, ry) = to_pixel((-0.9, 0.0)), to_pixel((0.9, 0.0))
    left, right = image[int(height - ly), int(lx)], image[int(height - ry), int(rx)]
    assert not np.allclose(left, right)


class ObliqueModel:
    """Class 1 where x1 + x2 / 2 > 0.2, else class 0; records how many points each call scores."""

    def __init__(self):
        self.calls = []

    def loss(self, X, y=None):
        self.calls.append(len(X))
        s = X[:, 0] + X[:, 1] / 2 - 0.2
        return np.stack([-s, s], axis=1)


def test_plot_decision_boundary_scores_the_grid_in_batches_and_draws_the_same_regions():
    X, y = np.array([[-1.0, -2.0], [1.0, 2.0], [0.5, -1.0]]), np.array([0, 1, 1])
    whole, batched = ObliqueModel(), ObliqueModel()
    regions_whole = plot_decision_boundary(whole, X, y, resolution=50, batch_size=2500).axes[0].collections[0]
    regions_batched = plot_decision_boundary(batched, X, y, resolution=50, batch_size=700).axes[0].collections[0]
    assert whole.calls == [2500] and batched.calls == [700, 700, 700, 400]
    paths_whole, paths_batched = regions_whole.get_paths(), regions_batched.get_paths()
    assert len(paths_whole) == len(paths_batched) == 2
    for a, b in zip(paths_whole, paths_batched):
        np.testing.assert_array_equal(a.vertices, b.vertices)


@pytest.mark.parametrize(
    "X, y, kwargs, message",
    [
        (np.zeros((4, 3)), np.zeros(4, int), {}, r"X must have shape \(N, 2\), got \(4, 3\)"),
        (np.zeros((4, 2)), np.zeros(3, int), {}, r"y must have shape \(4,\)"),
        (np.zeros((4, 2)), np.zeros(4, int), {"batch_size": 0}, r"batch_size must be an integer >= 1, got 0"),
        (np.zeros((4, 2)), np.zeros(4, int), {"batch_size": 2.5}, r"batch_size must be an integer >= 1, got 2.5"),
    ],
)
def test_plot_decision_boundary_rejects_bad_input(X, y, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_decision_boundary(SignModel(), X, y, **kwargs)


def test_plot_first_layer_weights_draws_one_tile_per_hidden_unit(rng):
    fig = plot_first_layer_weights(rng.standard_normal((3 * 32 * 32, 10)))
    image = fig.axes[0].images[0].get_array()
    # 10 units -> 3 rows of 4 tiles of 32 pixels, 3 pixels between them.
    assert image.shape == (3 * 32 + 2 * 3, 4 * 32 + 3 * 3, 3)
    with pytest.raises(ValueError, match=r"W1 must have shape \(3072, H\)"):
        plot_first_layer_weights(np.zeros((100, 10)))


def test_plots_leave_no_pyplot_figures_open(rng):

    before = plt.get_fignums()
    plot_training_curves(History(10, 2))
    plot_decision_boundary(SignModel(), rng.standard_normal((5, 2)), np.array([0, 1, 0, 1, 1]), resolution=10)
    plot_first_layer_weights(rng.standard_normal((3072, 2)))
    assert plt.get_fignums() == before


def test_training_curves_of_a_solver_that_has_not_trained_say_so():
    class Untrained:
        loss_history, train_acc_history, val_acc_history = [], [], []

    with pytest.raises(ValueError, match="loss_history is empty.*before solver.train"):
        plot_training_curves(Untrained())


@pytest.mark.parametrize(
    "plot, message",
    [
        (lambda: plot_decision_boundary(None, np.zeros((0, 2)), np.zeros(0, int)), r"X holds no points"),
        (lambda: plot_first_layer_weights(np.zeros((3072, 0))), r"W1 must have shape \(3072, H\), H >= 1"),
    ],
)
def test_empty_plots_are_refused_naming_the_argument(plot, message):
    with pytest.raises(ValueError, match=message):
        plot()


@pytest.mark.parametrize("iterations", [3, 200])
def test_training_curves_save_as_a_png(tmp_path, iterations):
    plot_training_curves(History(iterations, epochs=4), title="run").savefig(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:8] == PNG_MAGIC


def test_first_layer_weights_save_as_a_png(tmp_path):
    rng = np.random.default_rng(0)
    plot_first_layer_weights(rng.standard_normal((3 * 32 * 32, 10))).savefig(tmp_path / "w.png")
    assert (tmp_path / "w.png").read_bytes()[:8] == PNG_MAGIC
