"""Atomic writes under kill (cs231n/file_utils.py): a model save killed at any moment leaves a whole model.

A child process saves a big model over and over and is killed at several moments; the public tests
(tests/test_file_utils.py) check failures inside the process, without a child.
"""

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from cs231n.classifiers.fc_net import TwoLayerNet

REPO_ROOT = Path(__file__).resolve().parents[2]


def temporaries(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.endswith(".tmp"))


# A child that saves a big model over and over, each version filled with its number; it prints the number
# once the save has returned, so the parent knows which versions are complete.
SAVER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from cs231n.classifiers.fc_net import TwoLayerNet
    net = TwoLayerNet(input_dim=3072, hidden_dim=1000, num_classes=10)
    for version in range(1, 10**6):
        for k in net.params:
            net.params[k][...] = version
        net.save(sys.argv[1])
        print(version, flush=True)
    """
)


@pytest.mark.parametrize("delay", [0.0, 0.013, 0.037, 0.061, 0.089])
def test_killing_a_model_save_at_any_moment_leaves_a_whole_model_and_the_next_save_cleans_up(tmp_path, delay):
    target = tmp_path / "net.npz"
    child = subprocess.Popen(
        [sys.executable, "-c", SAVER, str(target)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline()  # one whole model exists from here on
        time.sleep(delay)
    finally:
        child.kill()
        child.wait()
    assert line, f"the child saved no model: {child.stderr.read()}"
    first = int(line)
    done = [first] + [int(line) for line in child.stdout.read().split()]
    net = TwoLayerNet.load(target)  # whole: loads, and every array holds one complete version
    version = net.params["W1"][0, 0]
    assert version >= done[-1] and version <= done[-1] + 1
    for k, v in net.params.items():
        assert np.all(v == version), k
    TwoLayerNet(input_dim=2, hidden_dim=2, num_classes=2).save(target)
    assert temporaries(tmp_path) == []
