"""Tests for cs231n/stubs.py: finding the functions that are still the kit's stubs."""

import textwrap

from cs231n.stubs import describe_stubs, find_stubs

LAYERS = textwrap.dedent("""\
    def affine_forward(x, w, b):
        out = None
        raise NotImplementedError(
            "affine_forward in cs231n/layers.py is not implemented yet: "
            "fill in the region between the START/END OF YOUR CODE lines"
        )
        return out, (x, w, b)


    def relu_forward(x):
        out = x * (x > 0)
        # raise NotImplementedError("relu_forward in cs231n/layers.py is not implemented yet")
        return out, x


    def svm_loss(x, y):
        if x.ndim != 2:
            raise NotImplementedError("only 2-D scores")
        raise NotImplementedError("svm_loss in cs231n/layers.py is not implemented yet: fill in the region")
    """)

NET = textwrap.dedent("""\
    class TwoLayerNet:
        def loss(self, X, y=None):
            raise NotImplementedError("TwoLayerNet.loss in cs231n/classifiers/fc_net.py is not implemented yet: ...")
    """)


def write(root, rel, text):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_stubs_still_raising_are_found_in_file_then_line_order(tmp_path):
    write(tmp_path, "cs231n/layers.py", LAYERS)
    write(tmp_path, "cs231n/classifiers/fc_net.py", NET)
    stubs = find_stubs(tmp_path, ["cs231n/layers.py", "cs231n/classifiers/fc_net.py", "notebooks/backprop.ipynb"])
    # relu_forward's stub is only a comment now, and svm_loss's other raise is the student's own.
    assert stubs == [
        ("cs231n/layers.py", "affine_forward"),
        ("cs231n/layers.py", "svm_loss"),
        ("cs231n/classifiers/fc_net.py", "TwoLayerNet.loss"),
    ]
    assert describe_stubs(stubs) == [
        "  cs231n/layers.py: affine_forward, svm_loss",
        "  cs231n/classifiers/fc_net.py: TwoLayerNet.loss",
    ]


def test_missing_and_broken_files_are_skipped(tmp_path):
    write(tmp_path, "cs231n/optim.py", "def adam(w, dw, config=None):\n    return w -\n")
    assert find_stubs(tmp_path, ["cs231n/optim.py", "cs231n/graph.py"]) == []
