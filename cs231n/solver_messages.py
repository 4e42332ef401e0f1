"""What the Solver tells its user: progress lines while it trains, and why it stopped when the loss broke.

``solver.py`` is the training loop. This module words what it prints (iteration, loss, learning rate,
accuracies, time spent and an estimate of the time left)::

    (Iteration 501 / 2450) loss: 1.579582 | lr 0.000902 | 1:07 elapsed, ETA 4:21

and, when a minibatch loss is NaN or inf, tells bad data (``NonFiniteDataError``, naming the rows)
from divergence (``LossDivergedError``, suggesting a learning rate and naming the last checkpoint).
"""

import time

import numpy as np


class NonFiniteDataError(ValueError):
    """A minibatch held NaN or inf: the data is bad, lowering the learning rate would not help."""


class LossDivergedError(RuntimeError):
    """Training stopped because the loss became NaN or infinite.

    Attributes
    ----------
    loss : float
        The non-finite loss.
    iteration : int
        The update number (1-based) whose minibatch gave that loss.
    learning_rate : float or None
        The learning rate in use at that iteration.
    """

    def __init__(self, message, loss, iteration, learning_rate):
        super().__init__(message)
        self.loss = loss
        self.iteration = iteration
        self.learning_rate = learning_rate


def learning_rate(optim_configs):
    """The learning rate in use: that of the first parameter's config, or None if the rule has none."""
    first = next(iter(optim_configs.values()), {})
    return first.get("learning_rate")


def format_seconds(seconds):
    """Format a duration as ``m:ss`` or ``h:mm:ss``."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """The progress lines of one call of ``Solver.train()``, each ending with the time spent and left.

    Parameters
    ----------
    solver : Solver
        Read for its iteration, loss_history, optim_configs, epoch, num_epochs and accuracies.
    total : int
        Updates in the whole run.
    """

    def __init__(self, solver, total):
        self.solver = solver
        self.total = total
        self.first = solver.iteration  # a resumed run starts after the updates of its checkpoint
        self.tic = time.perf_counter()

    def iteration_line(self):
        """``(Iteration t / T) loss: ... | lr ... | m:ss elapsed, ETA m:ss`` after the last update."""
        lr = learning_rate(self.solver.optim_configs)
        lr_text = "n/a" if lr is None else f"{lr:.3g}"
        loss = self.solver.loss_history[-1]
        loss_text = f"{loss:f}" if abs(loss) < 1e6 else f"{loss:.6e}"
        return f"(Iteration {self.solver.iteration} / {self.total}) loss: {loss_text} | lr {lr_text} | {self.timing()}"

    def epoch_line(self):
        """``(Epoch e / E) train acc: ...; val_acc: ... (best ...) | ...`` after the last accuracy check."""
        s = self.solver
        return (
            f"(Epoch {s.epoch} / {s.num_epochs}) train acc: {s.train_acc_history[-1]:f}; "
            f"val_acc: {s.val_acc_history[-1]:f} (best {s.best_val_acc:f}) | {self.timing()}"
        )

    def timing(self):
        """``"m:ss elapsed, ETA m:ss"``, the ETA from the pace of this call's updates.

        The ETA is left out after a single update, which is dominated by the first accuracy check.
        """
        elapsed = time.perf_counter() - self.tic
        done = self.solver.iteration - self.first
        if done < 2:
            return f"{format_seconds(elapsed)} elapsed"
        remaining = self.total - self.solver.iteration
        return f"{format_seconds(elapsed)} elapsed, ETA {format_seconds(elapsed / done * remaining)}"


def non_finite_rows(X):
    """The indices of the rows of ``X`` (N, ...) that hold NaN or inf, as a list (empty when all finite)."""
    X = np.asarray(X)
    if X.dtype.kind != "f":
        return []
    return np.flatnonzero(~np.isfinite(X.reshape(X.shape[0], -1)).all(axis=1)).tolist()


def divergence_error(solver, loss, batch_mask):
    """The error for a non-finite loss at update ``solver.iteration + 1`` on the rows ``batch_mask`` of X_train.

    Parameters
    ----------
    solver : Solver
        Read for its X_train, iteration, epoch, num_epochs, optim_configs, lr0 and last_checkpoint.
    loss : float
        The loss, NaN or inf.
    batch_mask : ndarray of int, shape (batch_size,)
        The rows of ``solver.X_train`` in the minibatch.

    Returns
    -------
    NonFiniteDataError or LossDivergedError
        The first when those rows hold NaN or inf (bad data), else the second.
    """
    iteration = solver.iteration + 1
    lr = learning_rate(solver.optim_configs)
    msg = f"The loss became {loss} at iteration {iteration} (epoch {solver.epoch + 1}/{solver.num_epochs})"
    bad_rows = sorted(set(batch_mask[non_finite_rows(solver.X_train[batch_mask])].tolist()))
    if bad_rows:
        return NonFiniteDataError(
            f"{msg} because the minibatch holds NaN or inf: X_train rows {bad_rows[:10]}"
            f"{' ...' if len(bad_rows) > 10 else ''}. Clean or drop those rows; the learning rate is not the cause."
        )
    if iteration == 1:
        msg += ", before any update, on finite data: check the initialization (weight_scale) and the model's loss."
    elif lr is None:
        msg += ". The updates diverged: lower the update rule's step size."
    else:
        # Suggest a new base rate: the one in use may already be decayed or scheduled.
        base = lr if solver.lr0 is None else solver.lr0
        msg += (
            f" with learning_rate {lr:.3g}. The updates diverged: lower the learning rate, "
            f"e.g. 10x: optim_config['learning_rate'] = {base / 10:.3g}."
        )
    if solver.last_checkpoint is not None:
        msg += f" The last good checkpoint is {solver.last_checkpoint}."
    return LossDivergedError(msg, loss=loss, iteration=iteration, learning_rate=lr)
