"""The CS231n-style kit for "Neural Networks and Backpropagation"."""
