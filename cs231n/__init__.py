"""The CS231n-style kit for "Neural Networks and Backpropagation"."""

# The files a student completes: the only files the autograder takes from a submission and
# collectSubmission.sh zips. staff/README.md explains the rule (a file holding solution regions or cells).
STUDENT_FILES = (
    "cs231n/layers.py",
    "cs231n/classifiers/fc_net.py",
    "cs231n/optim.py",
    "cs231n/graph.py",
    "notebooks/backprop.ipynb",
    "notebooks/two_layer_net.ipynb",
    "notebooks/FullyConnectedNets.ipynb",
)
