"""What the notebooks share: quick mode, and a clear message when a TODO cell is not filled in yet.

``quick_mode()`` reads ``CS231N_QUICK`` and records the mode in the cell's output, where
``collect_submission_check.py`` finds it: a notebook run in quick mode cannot pass for a real run.
``require(name=value, ...)`` stops a cell that needs the values a TODO cell sets, naming the ones
that are still ``None``, instead of failing later with a ``TypeError`` about ``NoneType``.
"""

import os

from IPython.display import display

QUICK_MESSAGE = (
    "QUICK MODE (CS231N_QUICK=1): training cells run short, on less data, to test the notebook. "
    "Run it again without CS231N_QUICK before you submit."
)
FULL_MESSAGE = "Full mode: the training cells run at their real size."


def quick_mode():
    """Return whether ``CS231N_QUICK`` asks for short runs, and display the mode.

    The display carries the metadata ``{"cs231n": {"quick_mode": bool}}``, which the saved
    notebook keeps with the output.

    Returns
    -------
    quick : bool
        True when ``CS231N_QUICK`` is set to anything but "" or "0".
    """
    quick = os.environ.get("CS231N_QUICK", "") not in ("", "0")
    display(
        {"text/plain": QUICK_MESSAGE if quick else FULL_MESSAGE}, raw=True, metadata={"cs231n": {"quick_mode": quick}}
    )
    return quick


class NotFilledError(RuntimeError):
    """A value that a TODO cell sets is still None: that cell is not filled in yet."""

    def _render_traceback_(self):
        # IPython shows these lines instead of a traceback: the message is all there is to read.
        return [f"{type(self).__name__}: {self}"]


def require(**values):
    """Check that a TODO cell set its values; raise ``NotFilledError`` naming those still None.

    Parameters
    ----------
    **values
        Each value by its variable's name, e.g. ``require(best_model=best_model)``.

    Raises
    ------
    NotFilledError
        When any value is None; the message names every such variable.
    """
    missing = [name for name, value in values.items() if value is None]
    if missing:
        names = ", ".join(missing)
        verb = "is" if len(missing) == 1 else "are"
        raise NotFilledError(
            f"{names} {verb} still None: write the code that sets {'it' if len(missing) == 1 else 'them'} "
            "between START and END OF YOUR CODE (in this cell or the TODO cell above), then run the cells again"
        )
