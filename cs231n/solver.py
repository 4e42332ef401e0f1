"""The Solver: trains a classification model with minibatch gradient descent.

A model is any object with

- ``model.params``: a dict mapping parameter names to arrays;
- ``model.loss(X, y=None)``: scores of shape (N, C) when ``y`` is None, else ``(loss, grads)``
  where ``grads`` has the same keys as ``params``.

Example::

    data = {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val}
    model = TwoLayerNet(hidden_dim=100, reg=1e-3)
    solver = Solver(model, data, update_rule="sgd_momentum",
                    optim_config={"learning_rate": 1e-3}, lr_decay=0.95,
                    num_epochs=10, batch_size=200, print_every=100)
    solver.train()
    # model.params now holds the parameters with the best validation accuracy;
    # solver.loss_history, solver.train_acc_history and solver.val_acc_history hold the curves.

This module is the training loop. The learning-rate schedules (``lr_schedule``) live in
``cs231n/schedules.py``, the checkpoint files (``checkpoint_name``, ``resume_from``) in
``cs231n/checkpoints.py``, the choice of numpy's BLAS threads (``num_threads``) in ``cs231n/threads.py``,
the checks of what the Solver is given in ``cs231n/solver_checks.py``, and its progress lines and the
errors it raises when the loss is not finite in ``cs231n/solver_messages.py``.
"""

import math
import os

import numpy as np

from cs231n.checkpoints import CHECKPOINTED, load_checkpoint, recorded_name, save_checkpoint
from cs231n.data_utils import check_count
from cs231n.schedules import LR_SCHEDULES, schedule_function
from cs231n.solver_checks import (
    as_split,
    as_splits,
    check_checkpoint_name,
    check_optim_config,
    check_resume,
    check_samples,
    update_rule_function,
)
from cs231n.solver_messages import LossDivergedError, NonFiniteDataError, Progress, divergence_error
from cs231n.threads import blas_threads, parse_num_threads

# Imported from here by the notebooks and tests, with the Solver.
__all__ = ["Solver", "LossDivergedError", "NonFiniteDataError", "LR_SCHEDULES"]


class Solver:
    """Train a classification model with minibatch gradient descent and an update rule.

    Parameters
    ----------
    model : object
        Has ``params`` (dict name -> ndarray) and ``loss(X, y=None)`` (see the module docstring).
    data : dict
        ``X_train`` (N_train, d_1, ..., d_k), ``y_train`` (N_train,) integer labels, ``X_val``
        (N_val, d_1, ..., d_k) and ``y_val`` (N_val,). Other keys are ignored.
    update_rule : str or callable, default "sgd"
        A function name in ``cs231n.optim`` or a function ``(w, dw, config) -> (next_w, config)``.
    optim_config : dict, default {}
        Hyperparameters for the update rule; every parameter gets its own copy.
    lr_decay : float, default 1.0
        Factor applied to the learning rate at the end of each epoch.
    batch_size : int, default 100
        Minibatch size.
    num_epochs : int, default 10
        Number of epochs to train.
    num_train_samples : int or None, default 1000
        Training examples sampled to estimate the training accuracy (None: all of them).
    num_val_samples : int or None, default None
        Validation examples sampled to estimate the validation accuracy (None: all of them).
    checkpoint_name : str or None, default None
        When set, a checkpoint ``{checkpoint_name}_epoch_{epoch}.npz`` is written each time the
        accuracies are checked (first iteration and end of every epoch).
    print_every : int, default 10
        Print the loss every this many iterations (when verbose).
    verbose : bool, default True
        Print progress: iteration, loss, learning rate, accuracies, elapsed time and ETA.
    lr_schedule : str, callable or None, default None
        "step", "cosine", "linear", "inv_sqrt" or a function ``(lr0, t, T) -> lr``; sets the
        learning rate before every update (t from 1 to T, see the module docstring). Use
        ``functools.partial(step_lr, milestones=..., gamma=...)`` for other step points. Cannot be
        combined with ``lr_decay != 1``.
    resume_from : str or None, default None
        Path of a checkpoint written by a Solver with the same settings; training continues from it.
    num_threads : int, "auto" or None, default None
        Threads of numpy's matrix products while train() runs: a count, or "auto" (the cores other
        programs leave free). None: ``$CS231N_NUM_THREADS`` when set, else what ``OPENBLAS_NUM_THREADS``
        or ``OMP_NUM_THREADS`` say when set, else "auto" (see ``cs231n/threads.py``).

    Attributes
    ----------
    loss_history : list of float
        Loss of every minibatch.
    train_acc_history, val_acc_history : list of float
        Accuracies at the first iteration and at the end of every epoch.
    best_val_acc : float
        Best validation accuracy seen.
    best_params : dict
        Copies of the parameters that reached ``best_val_acc``; the model holds them after train().
    epoch, iteration : int
        Epochs and updates completed so far.
    last_checkpoint : str or None
        Path of the last checkpoint written (or resumed from); named when the loss diverges.
    """

    def __init__(self, model, data, **kwargs):
        self.model = model
        self.X_train, self.y_train, self.X_val, self.y_val = as_splits(data, getattr(model, "num_classes", None))

        self.update_rule = kwargs.pop("update_rule", "sgd")
        self.optim_config = kwargs.pop("optim_config", {})
        self.lr_decay = kwargs.pop("lr_decay", 1.0)
        self.batch_size = check_count(kwargs.pop("batch_size", 100), "batch_size", minimum=1)
        self.num_epochs = check_count(kwargs.pop("num_epochs", 10), "num_epochs")
        self.num_train_samples = check_samples(kwargs.pop("num_train_samples", 1000), "num_train_samples")
        self.num_val_samples = check_samples(kwargs.pop("num_val_samples", None), "num_val_samples")
        self.checkpoint_name = kwargs.pop("checkpoint_name", None)
        self.print_every = check_count(kwargs.pop("print_every", 10), "print_every", minimum=1)
        self.verbose = kwargs.pop("verbose", True)
        self.lr_schedule = kwargs.pop("lr_schedule", None)
        resume_from = kwargs.pop("resume_from", None)
        self.num_threads = kwargs.pop("num_threads", None)

        if kwargs:
            extra = ", ".join(f'"{k}"' for k in kwargs)
            raise ValueError(f"Unrecognized arguments {extra}")
        check_checkpoint_name(self.checkpoint_name)
        if self.num_threads is not None:
            parse_num_threads(self.num_threads, "num_threads")
        self.update_rule = update_rule_function(self.update_rule)
        check_optim_config(self.update_rule, self.optim_config)
        self._schedule = schedule_function(self.lr_schedule)
        if self._schedule is not None and self.lr_decay != 1.0:
            raise ValueError(f"use either lr_decay or lr_schedule, not both (got lr_decay={self.lr_decay})")
        if not 0 < self.lr_decay < math.inf:
            raise ValueError(f"lr_decay must be > 0 and finite, got {self.lr_decay!r}")

        self._reset()
        if resume_from is not None:
            self.resume(resume_from)

    def _reset(self):
        """Set up the book-keeping variables for a fresh run."""
        self.epoch = 0
        self.iteration = 0
        self.best_val_acc = 0
        self.best_params = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.last_checkpoint = None

        self.lr0 = self.optim_config.get("learning_rate")
        if self._schedule is not None and self.lr0 is None:
            raise ValueError("lr_schedule needs the base learning rate: set optim_config['learning_rate']")
        self.optim_configs = {p: dict(self.optim_config) for p in self.model.params}

    def _step(self):
        """Make a single gradient update on one random minibatch. Called by train()."""
        num_train = self.X_train.shape[0]
        batch_mask = np.random.choice(num_train, self.batch_size)
        X_batch = self.X_train[batch_mask]
        y_batch = self.y_train[batch_mask]

        # Compute loss and gradient
        loss, grads = self.model.loss(X_batch, y_batch)
        loss = float(loss)
        if not math.isfinite(loss):
            # Raised before any update: the parameters stay those of the last good step.
            raise divergence_error(self, loss, batch_mask)
        self.loss_history.append(loss)

        # Perform a parameter update
        for p, w in self.model.params.items():
            dw = grads[p]
            config = self.optim_configs[p]
            next_w, next_config = self.update_rule(w, dw, config)
            self.model.params[p] = next_w
            self.optim_configs[p] = next_config

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Accuracy of the model on the given data.

        Parameters
        ----------
        X : ndarray, shape (N, d_1, ..., d_k)
            Inputs.
        y : ndarray, shape (N,)
            Integer labels in [0, C).
        num_samples : int or None
            If given and smaller than N, estimate the accuracy on this many examples drawn (with
            replacement) from the data.
        batch_size : int
            Examples per forward pass, to bound memory.

        Returns
        -------
        float
            Fraction of examples whose highest score is the correct class.
        """
        batch_size = check_count(batch_size, "batch_size", minimum=1)
        X, y = as_split(X, y, "X", "y", getattr(self.model, "num_classes", None))
        num_samples = check_samples(num_samples, "num_samples")
        N = X.shape[0]
        if num_samples is not None and N > num_samples:
            mask = np.random.choice(N, num_samples)
            N = num_samples
            X = X[mask]
            y = y[mask]

        num_batches = -(-N // batch_size)
        y_pred = []
        for i in range(num_batches):
            scores = self.model.loss(X[i * batch_size : (i + 1) * batch_size])
            y_pred.append(np.argmax(scores, axis=1))
        return float(np.mean(np.hstack(y_pred) == y))

    def train(self):
        """Run the optimization; afterwards the model holds the best parameters found.

        numpy's matrix products run on the threads ``num_threads`` asks for (by default as many as
        there are free cores) and get their former thread count back when training ends.

        Raises
        ------
        NonFiniteDataError
            When a minibatch loss is NaN or inf because the minibatch holds NaN or inf (the message
            names the rows of X_train).
        LossDivergedError
            When a minibatch loss is NaN or inf on finite data; checkpoints written before are kept.
        """
        with blas_threads(self.num_threads) as note:
            if self.verbose:
                print(note, flush=True)
            self._train()

    def _train(self):
        """The training loop of train(): minibatch updates, accuracy checks and checkpoints."""
        num_train = self.X_train.shape[0]
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        progress = Progress(self, num_iterations)

        for t in range(self.iteration, num_iterations):
            if self._schedule is not None:
                lr = self._schedule(self.lr0, t + 1, num_iterations)
                for config in self.optim_configs.values():
                    config["learning_rate"] = lr
            self._step()
            self.iteration = t + 1

            if self.verbose and t % self.print_every == 0:
                print(progress.iteration_line(), flush=True)

            # At the end of every epoch, increment the epoch counter and decay the learning rate.
            epoch_end = (t + 1) % iterations_per_epoch == 0
            if epoch_end:
                self.epoch += 1
                if self.lr_decay != 1.0:
                    for config in self.optim_configs.values():
                        config["learning_rate"] *= self.lr_decay

            # Check the accuracies after the first update and at the end of every epoch (the last
            # update always ends one: num_iterations is a whole number of epochs).
            if t == 0 or epoch_end:
                self._check_accuracies()
                if self.verbose:
                    print(progress.epoch_line(), flush=True)

        if self.best_params:
            # Copies, so that training the model further never alters best_params.
            self.model.params = {k: v.copy() for k, v in self.best_params.items()}

    def _check_accuracies(self):
        """Record the training and validation accuracies, keep the best parameters, write a checkpoint."""
        train_acc = self.check_accuracy(self.X_train, self.y_train, num_samples=self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, num_samples=self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        # Also take the first result, so a model that never scores above 0 keeps parameters.
        if val_acc > self.best_val_acc or not self.best_params:
            self.best_val_acc = val_acc
            self.best_params = {k: v.copy() for k, v in self.model.params.items()}
        self._save_checkpoint()

    def _save_checkpoint(self):
        """Write the whole training state to ``{checkpoint_name}_epoch_{epoch}.npz`` atomically."""
        if self.checkpoint_name is None:
            return
        state = {name: getattr(self, name) for name in CHECKPOINTED}
        state.update(params=self.model.params, rng_state=np.random.get_state(), settings=self._settings())
        filename = f"{self.checkpoint_name}_epoch_{self.epoch}.npz"
        if self.verbose:
            print(f'Saving checkpoint to "{filename}"', flush=True)
        save_checkpoint(filename, state)
        self.last_checkpoint = filename

    def _settings(self):
        """The settings a checkpoint records; a run resumed from it must have the same, but num_epochs."""
        return {
            "update_rule": recorded_name(self.update_rule),
            "batch_size": self.batch_size,
            "num_epochs": self.num_epochs,
            "lr_decay": float(self.lr_decay),
            "lr_schedule": recorded_name(self._schedule),
            "num_train": int(self.X_train.shape[0]),
        }

    def resume(self, path):
        """Load a checkpoint written with ``checkpoint_name`` so that ``train()`` continues from it.

        Restores the model parameters, the best parameters and accuracy, every update rule's config
        (state arrays included), the histories, the epoch and iteration counts and the global numpy
        RNG state.

        Parameters
        ----------
        path : str or os.PathLike
            A ``.npz`` checkpoint.

        Raises
        ------
        FileNotFoundError
            If there is no file at ``path``.
        ValueError
            If the file is not a checkpoint of this format, its parameters do not match the model's, or
            it was written with other settings: update rule, learning rate or another ``optim_config``
            entry, schedule, decay, batch size or number of training examples (the message names
            them). ``num_epochs`` may differ, to train a finished run further.
        """
        state = load_checkpoint(path)
        check_resume(path, state, self._settings(), self.optim_config, self.model.params)
        self.model.params.update(state["params"])
        for name in CHECKPOINTED:
            setattr(self, name, state[name])
        np.random.set_state(state["rng_state"])
        self.last_checkpoint = os.fspath(path)
