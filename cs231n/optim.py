"""First-order update rules for training neural networks.

Every rule has the same interface::

    next_w, config = update(w, dw, config=None)

Parameters
----------
w : ndarray, any shape
    The current weights.
dw : ndarray, same shape as w
    The gradient of the loss with respect to ``w``.
config : dict or None
    Hyperparameters (learning rate, momentum, ...) and the rule's running state (velocity,
    moment estimates, ...). Missing entries are filled with the defaults below via
    ``config.setdefault``; the state arrays start at zero and have the shape of ``w``.

Returns
-------
next_w : ndarray, same shape and dtype as w
    The weights after one update. ``sgd`` updates ``w`` in place and returns it, as
    ``w -= learning_rate * dw`` would; the other rules return a new array and leave ``w`` as it was.
    No rule modifies ``dw``.
config : dict
    The same dict, holding the updated state to pass to the next call.

The ``Solver`` keeps one config per parameter, so every parameter has its own state. Every rule
first checks its inputs (``check_update`` in ``cs231n/optim_config.py``): a config that is not a
dict, an unknown key, a value out of range (a learning rate <= 0, momentum or a beta outside [0, 1),
...) or a state array of another shape than ``w`` raises an error naming it.
"""

import numpy as np

from .optim_config import check_update, keep_dtype


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: ``w -= learning_rate * dw``, in place.

    Parameters
    ----------
    w : ndarray, any shape
        Weights.
    dw : ndarray, same shape as w
        Gradient of the loss with respect to ``w``.
    config : dict or None
        ``learning_rate`` (float, default 1e-2).

    Returns
    -------
    next_w : ndarray
        ``w`` itself, updated in place (a new value if ``w`` is a number or a list, as with ``-=``).
    config : dict
        The config, with its defaults filled in.

    Raises
    ------
    ValueError
        If dw does not have w's shape, w is an array that is read-only or not of floats, or the config
        holds an unknown key or a learning rate <= 0.
    TypeError
        If config is not a dict (``sgd(w, dw, 1e-3)``).
    """
    config = check_update("sgd", w, dw, config)
    config.setdefault("learning_rate", 1e-2)

    if not isinstance(w, np.ndarray):  # a number or a list has no memory to update: a new value, as with -=
        return w - config["learning_rate"] * np.asarray(dw), config
    if not np.issubdtype(w.dtype, np.floating):
        raise ValueError(f"the array to update in place (w) must be a float numpy array, got an array of {w.dtype}")
    if not w.flags.writeable:
        raise ValueError("the array to update in place (w) is read-only")

    w -= config["learning_rate"] * dw
    return w, config


def sgd_momentum(w, dw, config=None):
    """Stochastic gradient descent with momentum.

    A velocity keeps a running sum of past steps, each older one shrunk by ``momentum``; the
    weights move by the velocity rather than by the current gradient alone.

    Parameters
    ----------
    w : ndarray, any shape
        Weights.
    dw : ndarray, same shape as w
        Gradient of the loss with respect to ``w``.
    config : dict or None
        ``learning_rate`` (float, default 1e-2), ``momentum`` (float in [0, 1), default 0.9; 0 gives
        plain SGD) and ``velocity`` (ndarray shaped like w, default zeros): the running velocity.

    Returns
    -------
    next_w : ndarray, same shape as w
        Updated weights.
    config : dict
        The config, holding the new ``velocity``.
    """
    config = check_update("sgd_momentum", w, dw, config)
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    if config.get("velocity") is None:
        config["velocity"] = np.zeros_like(w)
    v = config["velocity"]

    next_w = None
    ###########################################################################
    # TODO: Write the momentum update. Compute the new velocity v from the    #
    # old one and dw, then the new weights next_w from w and v.               #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    v = config["momentum"] * v - config["learning_rate"] * dw
    next_w = w + v

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    config["velocity"] = v

    return keep_dtype(w, next_w, config)


def rmsprop(w, dw, config=None):
    """RMSProp: divide the step by a running root mean square of the gradient.

    A running average of the squared gradient (forgetting at ``decay_rate``) scales each weight's
    step: weights with large recent gradients take smaller steps, and the other way round.

    Parameters
    ----------
    w : ndarray, any shape
        Weights.
    dw : ndarray, same shape as w
        Gradient of the loss with respect to ``w``.
    config : dict or None
        ``learning_rate`` (float, default 1e-2), ``decay_rate`` (float in [0, 1), default 0.99),
        ``epsilon`` (float, default 1e-8, avoids dividing by zero) and ``cache`` (ndarray shaped like
        w, default zeros): the running average of the squared gradient.

    Returns
    -------
    next_w : ndarray, same shape as w
        Updated weights.
    config : dict
        The config, holding the new ``cache``.
    """
    config = check_update("rmsprop", w, dw, config)
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    if config.get("cache") is None:
        config["cache"] = np.zeros_like(w)

    next_w = None
    ###########################################################################
    # TODO: Write the RMSProp update. Refresh the running average of dw**2    #
    # in config["cache"], then compute the new weights next_w.                #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    decay = config["decay_rate"]
    config["cache"] = decay * config["cache"] + (1 - decay) * dw**2
    next_w = w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################

    return keep_dtype(w, next_w, config)


def adam(w, dw, config=None):
    """Adam: momentum on the gradient and on its square, both bias-corrected.

    ``m`` is a running average of the gradient (forgetting at ``beta1``) and ``v`` one of its square
    (``beta2``); both start at zero, so each is divided by ``1 - beta**t`` to correct that bias
    before the step, which scales the learning rate per weight as in RMSProp. ``t`` counts the steps
    and is incremented *before* it is used, so the first step has ``t = 1``.

    The bias correction makes the first step move each weight by about ``learning_rate`` in the
    direction of ``-sign(dw)``, whatever the gradient's scale.

    Parameters
    ----------
    w : ndarray, any shape
        Weights.
    dw : ndarray, same shape as w
        Gradient of the loss with respect to ``w``.
    config : dict or None
        ``learning_rate`` (float, default 1e-3), ``beta1`` (float, default 0.9), ``beta2`` (float,
        default 0.999), ``epsilon`` (float, default 1e-8), ``m`` and ``v`` (ndarrays shaped like w,
        default zeros): the running first and second moments, and ``t`` (int, default 0): the number
        of steps taken so far.

    Returns
    -------
    next_w : ndarray, same shape as w
        Updated weights.
    config : dict
        The config, holding the new ``m``, ``v`` and ``t``.
    """
    config = check_update("adam", w, dw, config)
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("t", 0)
    if config.get("m") is None:
        config["m"] = np.zeros_like(w)
    if config.get("v") is None:
        config["v"] = np.zeros_like(w)

    next_w = None
    ###########################################################################
    # TODO: Write the Adam update. Increment config["t"] first and use the    #
    # new value (the reference numbers assume this). Refresh config["m"] and  #
    # config["v"], correct their bias, and compute the new weights next_w.    #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    beta1, beta2 = config["beta1"], config["beta2"]
    config["t"] += 1
    t = config["t"]
    config["m"] = beta1 * config["m"] + (1 - beta1) * dw
    config["v"] = beta2 * config["v"] + (1 - beta2) * dw**2
    mt = config["m"] / (1 - beta1**t)
    vt = config["v"] / (1 - beta2**t)
    next_w = w - config["learning_rate"] * mt / (np.sqrt(vt) + config["epsilon"])

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################

    return keep_dtype(w, next_w, config)
