"""Every figure of cs231n/vis_utils.py saves as a PNG: the training curves with and without their running mean,
and the first-layer weights.

Drawing into pixels takes about 0.3 s a figure; the public tests (tests/test_vis_utils.py) check what each
figure draws and save the decision boundary only.
"""

import numpy as np
import pytest
from test_vis_utils import PNG_MAGIC, History

from cs231n.vis_utils import plot_first_layer_weights, plot_training_curves


@pytest.mark.parametrize("iterations", [3, 200])
def test_training_curves_save_as_a_png(tmp_path, iterations):
    plot_training_curves(History(iterations, epochs=4), title="run").savefig(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:8] == PNG_MAGIC


def test_first_layer_weights_save_as_a_png(tmp_path):
    rng = np.random.default_rng(0)
    plot_first_layer_weights(rng.standard_normal((3 * 32 * 32, 10))).savefig(tmp_path / "w.png")
    assert (tmp_path / "w.png").read_bytes()[:8] == PNG_MAGIC
