"""Building a fully connected net from its parameters: checking that they chain, and model files.

``layer_dims`` reads the layer sizes off a dict of parameters (``from_params`` uses it), and
``SavableModel`` gives the nets of ``fc_net.py`` their ``save(path)`` and ``Class.load(path)``: an
``.npz`` file holding the parameters and a JSON document with the hyperparameters, nothing pickled.
"""

import json
import os
import zipfile

import numpy as np

from ..file_utils import atomic_write

MODEL_FORMAT = "cs231n-model"


def layer_dims(params):
    """Return the layer sizes [D, H_1, ..., C] of params W1..WL, b1..bL that chain as affine layers.

    Parameters
    ----------
    params : dict
        ``Wi`` of shape (dims[i-1], dims[i]) and ``bi`` of shape (dims[i],) for i = 1..L.

    Returns
    -------
    list of int
        dims, of length L + 1.

    Raises
    ------
    ValueError
        If a key is missing or extra, or a shape does not chain with its neighbours.
    """
    L = sum(1 for k in params if k.startswith("W"))
    expected = {f"{p}{i}" for p in "Wb" for i in range(1, L + 1)}
    if L == 0 or set(params) != expected:
        raise ValueError(f"params must hold W1..WL and b1..bL, got keys {sorted(params)}")
    dims = [np.shape(params["W1"])[0] if np.ndim(params["W1"]) == 2 else None]
    for i in range(1, L + 1):
        W_shape, b_shape = np.shape(params[f"W{i}"]), np.shape(params[f"b{i}"])
        if len(W_shape) != 2 or W_shape[0] != dims[-1]:
            raise ValueError(f"W{i} has shape {W_shape}, expected a matrix with {dims[-1]} rows")
        if b_shape != (W_shape[1],):
            raise ValueError(f"b{i} has shape {b_shape}, expected ({W_shape[1]},) to match W{i} {W_shape}")
        dims.append(W_shape[1])
    return dims


class SavableModel:
    """``save`` / ``load`` for a model that can be rebuilt with ``from_params(params, reg, weight_scale)``."""

    def save(self, path):
        """Write the parameters and hyperparameters to ``path`` (an .npz file, no pickled data).

        Parameters
        ----------
        path : str or os.PathLike
            Destination file; written exactly at this path (no suffix is added). It is replaced only
            once the new file is complete, so an interrupted save leaves the previous file whole.
        """
        config = {"reg": self.reg, "weight_scale": self.weight_scale}
        meta = {"format": MODEL_FORMAT, "class": type(self).__name__, "config": config}
        with atomic_write(path) as f:
            np.savez(f, meta=np.array(json.dumps(meta)), **self.params)

    @classmethod
    def load(cls, path):
        """Build a model from a file written by ``save``.

        Parameters
        ----------
        path : str or os.PathLike
            File written by ``save`` for this class.

        Returns
        -------
        model
            A new model holding the saved parameters (their shapes give the layer sizes) and
            hyperparameters. No random numbers are drawn.

        Raises
        ------
        FileNotFoundError
            If there is no file at ``path``.
        ValueError
            If the file holds pickled data, is not an .npz written by ``save``, was saved by another
            class, or its parameters do not form this kind of network.
        """
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such {cls.__name__} file (or it is not a file)")
        what = f"{path} is not a {cls.__name__} file written by {cls.__name__}.save()"
        try:
            data = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise ValueError(f"{what}: it is not an .npz archive (pickled data is never loaded)") from e
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError(f"{what}: it holds a single array, not an .npz archive")
        with data:
            if "meta" not in data.files:
                raise ValueError(f"{what}: it has no 'meta' entry")
            try:
                arrays = {k: data[k] for k in data.files}
                meta = json.loads(str(arrays.pop("meta")))
            except ValueError as e:
                raise ValueError(f"{what}: {e}") from e
        if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
            raise ValueError(f"{what}: it has no {MODEL_FORMAT!r} header")
        if meta.get("class") != cls.__name__:
            raise ValueError(f"{what}: it holds a {meta.get('class')}; use {meta.get('class')}.load()")
        config = meta.get("config", {})
        try:
            return cls.from_params(arrays, reg=config["reg"], weight_scale=config["weight_scale"])
        except (KeyError, ValueError) as e:
            raise ValueError(f"{what}: {e}") from e
