"""Solver checkpoints: the whole training state in one ``.npz`` file, and back.

A checkpoint holds arrays (the parameters, the best parameters, the update rules' state arrays, the
histories and the RNG's key table) and one JSON document (``meta``) for the numbers and settings;
nothing is pickled, so loading one never runs code. It is written atomically: an interrupted run keeps
its last complete checkpoint, never a half-written one.

The training state is a dict with the keys

- ``params``, ``best_params``: dict name -> ndarray;
- ``optim_configs``: dict name -> the update rule's config for that parameter (numbers and arrays);
- ``loss_history``, ``train_acc_history``, ``val_acc_history``: lists of float;
- ``epoch``, ``iteration``: int; ``best_val_acc``: float; ``lr0``: float or None;
- ``rng_state``: the tuple of ``np.random.get_state()``;
- ``settings``: dict of JSON values (update rule, batch size, ...) recorded with the run; a function
  is recorded by ``recorded_name``.
"""

import functools
import json
import os
import zipfile

import numpy as np

from cs231n.file_utils import atomic_write

CHECKPOINT_FORMAT = "cs231n-solver-checkpoint"

# The entries of a training state that are the Solver's attributes of the same name.
CHECKPOINTED = (
    "best_params",
    "optim_configs",
    "loss_history",
    "train_acc_history",
    "val_acc_history",
    "epoch",
    "iteration",
    "best_val_acc",
    "lr0",
)


def recorded_name(function):
    """A name for ``function`` that is the same in every process (a checkpoint records it), or None."""
    if isinstance(function, functools.partial):
        args = [
            recorded_name(function.func),
            *map(repr, function.args),
            *(f"{k}={v!r}" for k, v in function.keywords.items()),
        ]
        return f"partial({', '.join(args)})"
    return None if function is None else getattr(function, "__name__", type(function).__name__)


def save_checkpoint(path, state):
    """Write a training state to ``path`` as an .npz file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file; written exactly at this path.
    state : dict
        The training state (see the module docstring).

    Raises
    ------
    TypeError
        If an update rule's config holds something other than a number or an array.
    """
    arrays = {f"params/{k}": v for k, v in state["params"].items()}
    arrays.update({f"best_params/{k}": v for k, v in state["best_params"].items()})
    optim_scalars = {}
    for p, config in state["optim_configs"].items():
        optim_scalars[p] = {}
        for k, v in config.items():
            if isinstance(v, np.ndarray):
                arrays[f"optim/{p}/{k}"] = v
            elif isinstance(v, (bool, int, float, np.number)):
                optim_scalars[p][k] = v.item() if isinstance(v, np.generic) else v
            else:
                raise TypeError(
                    f"optim_config entry {k!r} of parameter {p!r} is a {type(v).__name__}; "
                    "checkpoints hold only numbers and arrays"
                )
    for name in ("loss_history", "train_acc_history", "val_acc_history"):
        arrays[name] = np.array(state[name], dtype=np.float64)

    rng_name, rng_keys, rng_pos, has_gauss, cached_gaussian = state["rng_state"]
    arrays["rng_keys"] = rng_keys
    meta = {
        "format": CHECKPOINT_FORMAT,
        "version": 1,
        "epoch": state["epoch"],
        "iteration": state["iteration"],
        "best_val_acc": float(state["best_val_acc"]),
        "lr0": state["lr0"],
        "optim_scalars": optim_scalars,
        "rng": {
            "name": rng_name,
            "pos": int(rng_pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "settings": state["settings"],
    }
    arrays["meta"] = np.array(json.dumps(meta))
    with atomic_write(path) as f:
        np.savez(f, **arrays)


def load_checkpoint(path):
    """Read a training state written by ``save_checkpoint``.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.npz`` checkpoint.

    Returns
    -------
    dict
        The training state (see the module docstring).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is not an .npz archive without pickled data, or not a checkpoint of this format.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint {path} does not exist (or is not a file)")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path} is not a Solver checkpoint (.npz without pickled data): {e}") from e
    meta = json.loads(str(arrays.pop("meta"))) if "meta" in arrays else {}
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"{path} is not a Solver checkpoint: its format is {meta.get('format')!r}, expected {CHECKPOINT_FORMAT!r}"
        )

    def group(prefix):
        return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}

    optim_configs = {p: dict(scalars) for p, scalars in meta["optim_scalars"].items()}
    for k, v in group("optim/").items():
        p, name = k.split("/", 1)
        optim_configs[p][name] = v
    rng = meta["rng"]
    return {
        "params": group("params/"),
        "best_params": group("best_params/"),
        "optim_configs": optim_configs,
        "loss_history": arrays["loss_history"].tolist(),
        "train_acc_history": arrays["train_acc_history"].tolist(),
        "val_acc_history": arrays["val_acc_history"].tolist(),
        "epoch": meta["epoch"],
        "iteration": meta["iteration"],
        "best_val_acc": meta["best_val_acc"],
        "lr0": meta["lr0"],
        "rng_state": (rng["name"], arrays["rng_keys"], rng["pos"], rng["has_gauss"], rng["cached_gaussian"]),
        "settings": meta["settings"],
    }
