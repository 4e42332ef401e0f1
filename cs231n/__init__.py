"""The CS231n-style kit for "Neural Networks and Backpropagation"."""

# The files a student completes (those holding START/END OF YOUR CODE regions or notebook cells to
# fill in): the only files the autograder takes from a submission and collectSubmission.sh zips. This
# is the one list; everything else reads it.
STUDENT_FILES = (
    "cs231n/layers.py",
    "cs231n/classifiers/fc_net.py",
    "cs231n/optim.py",
    "cs231n/graph.py",
    "notebooks/backprop.ipynb",
    "notebooks/two_layer_net.ipynb",
    "notebooks/FullyConnectedNets.ipynb",
)
