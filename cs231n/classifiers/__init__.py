"""Classifiers built from the layers in ``cs231n.layers``."""
