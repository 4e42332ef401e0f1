"""Flat forward/backward pairs for the layers of a neural network, and the loss functions.

Every layer is a pair of plain functions. ``*_forward(inputs) -> (out, cache)`` computes the
output and keeps in ``cache`` what the backward pass needs; ``*_backward(dout, cache)`` takes the
upstream gradient ``dout`` (shaped like ``out``) and returns the gradients with respect to the
inputs, in the order of the forward function's arguments. Each forward sits right above its
backward. Inputs are never modified in place, and the outputs keep the inputs' float dtype.
"""

import numbers

import numpy as np


def _float_array(name, a):
    """Return ``a`` as a floating-point ndarray (no copy), or raise ValueError naming ``name``."""
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"{name} must hold floating-point numbers, got dtype {a.dtype}")
    return a


def _check_shape(name, a, shape, why):
    """Raise ValueError naming ``name`` when ``a.shape`` differs from ``shape``."""
    if a.shape != tuple(shape):
        raise ValueError(f"{name} has shape {a.shape}, expected {tuple(shape)} ({why})")


def _describe(cache):
    """A few words on what a cache is: "an array of shape (2, 3)", "a tuple (ndarray, float)", ..."""
    if isinstance(cache, np.ndarray) and cache.size and cache.dtype.kind in "fiu":
        return f"an array of shape {cache.shape} with values in [{cache.min():.3g}, {cache.max():.3g}]"
    if isinstance(cache, np.ndarray):
        return f"an array of shape {cache.shape}"
    if isinstance(cache, tuple):
        return f"a tuple ({', '.join(type(c).__name__ for c in cache)})"
    return f"a {type(cache).__name__}"


def _check_cache(layer, cache, expected, ok):
    """Raise ValueError unless ``ok``: ``cache`` must be the cache of ``{layer}_forward``, described by ``expected``."""
    if not ok:
        raise ValueError(
            f"{layer}_backward needs the cache of {layer}_forward, {expected}; got {_describe(cache)} "
            "(the cache of another layer?)"
        )


def _arrays(cache, ndims):
    """Whether ``cache`` is a tuple of arrays with the numbers of dimensions ``ndims`` (None: any)."""
    return (
        isinstance(cache, tuple)
        and len(cache) == len(ndims)
        and all(isinstance(c, np.ndarray) and n in (None, c.ndim) for c, n in zip(cache, ndims))
    )


def _in_range(cache, low, high):
    """Whether ``cache`` is an array with no value outside [low, high] (the range of an activation)."""
    return isinstance(cache, np.ndarray) and not np.any((cache < low) | (cache > high))


def _scores_and_labels(x, y):
    """Check the inputs of a loss: scores x (N, C) float, labels y (N,) integers in [0, C)."""
    x = _float_array("x", x)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"x must be scores of shape (N, C) with N, C >= 1, got shape {x.shape}")
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold integer class labels, got dtype {y.dtype}")
    _check_shape("y", y, (x.shape[0],), f"one label per row of x, x has shape {x.shape}")
    bad = (y < 0) | (y >= x.shape[1])
    if bad.any():
        raise ValueError(
            f"y holds labels outside [0, {x.shape[1]}) for x of shape {x.shape}: {np.unique(y[bad]).tolist()}"
        )
    return x, y


def affine_forward(x, w, b):
    """Compute the forward pass of an affine (fully connected) layer.

    Each example ``x[i]`` of shape (d_1, ..., d_k) is flattened into a row of D = d_1 * ... * d_k
    numbers, then multiplied by ``w`` and shifted by ``b``.

    Parameters
    ----------
    x : ndarray, shape (N, d_1, ..., d_k)
        A minibatch of N examples.
    w : ndarray, shape (D, M)
        Weights.
    b : ndarray, shape (M,)
        Biases.

    Returns
    -------
    out : ndarray, shape (N, M)
        The layer's output, one row per example.
    cache : tuple
        ``(x, w, b)``, the inputs as given.
    """
    x, w, b = _float_array("x", x), _float_array("w", w), _float_array("b", b)
    if x.ndim < 2:
        raise ValueError(f"x must have shape (N, d_1, ..., d_k), got shape {x.shape}")
    if w.ndim != 2:
        raise ValueError(f"w must have shape (D, M), got shape {w.shape}")
    D = int(np.prod(x.shape[1:]))
    _check_shape("w", w, (D, w.shape[1]), f"x of shape {x.shape} has D={D} features per example")
    _check_shape("b", b, (w.shape[1],), f"one bias per column of w, w has shape {w.shape}")
    out = None
    ###########################################################################
    # TODO: Implement the affine forward pass. Store the result in out. You   #
    # will need to reshape each example of x into a row.                      #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    out = x.reshape(x.shape[0], D) @ w + b

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    """Compute the backward pass of an affine layer.

    Parameters
    ----------
    dout : ndarray, shape (N, M)
        Upstream gradient dL/dout.
    cache : tuple
        ``(x, w, b)`` from ``affine_forward``: x (N, d_1, ..., d_k), w (D, M), b (M,).

    Returns
    -------
    dx : ndarray, shape (N, d_1, ..., d_k)
        Gradient with respect to x, shaped like x.
    dw : ndarray, shape (D, M)
        Gradient with respect to w.
    db : ndarray, shape (M,)
        Gradient with respect to b.
    """
    _check_cache("affine", cache, "a tuple (x, w, b) with w of shape (D, M) and b (M,)", _arrays(cache, (None, 2, 1)))
    x, w, b = cache
    dout = _float_array("dout", dout)
    _check_shape("dout", dout, (x.shape[0], w.shape[1]), f"the output of x {x.shape} and w {w.shape}")
    dx, dw, db = None, None, None
    ###########################################################################
    # TODO: Implement the affine backward pass. dx must have the shape of x:  #
    # reshape it back from rows.                                              #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return dx.astype(x.dtype, copy=False), dw.astype(w.dtype, copy=False), db.astype(b.dtype, copy=False)


def relu_forward(x):
    """Compute the forward pass of a rectified linear unit, ``max(0, x)`` elementwise.

    Parameters
    ----------
    x : ndarray, any shape
        Input.

    Returns
    -------
    out : ndarray, same shape as x
        The ReLU of x.
    cache : ndarray, same shape as x
        x itself.
    """
    x = _float_array("x", x)
    out = None
    ###########################################################################
    # TODO: Implement the ReLU forward pass.                                  #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    out = np.maximum(x, 0)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    cache = x
    return out, cache


def relu_backward(dout, cache):
    """Compute the backward pass of a ReLU: the gradient flows only where the input was positive.

    Parameters
    ----------
    dout : ndarray, same shape as x
        Upstream gradient.
    cache : ndarray
        The input x of ``relu_forward``.

    Returns
    -------
    dx : ndarray, same shape as x
        Gradient with respect to x.
    """
    _check_cache("relu", cache, "the input x (an array)", isinstance(cache, np.ndarray))
    x = cache
    dout = _float_array("dout", dout)
    _check_shape("dout", dout, x.shape, "the shape of x")
    dx = None
    ###########################################################################
    # TODO: Implement the ReLU backward pass.                                 #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    dx = np.where(x > 0, dout, 0)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return dx.astype(x.dtype, copy=False)


def leaky_relu_forward(x, alpha=0.01):
    """Compute the forward pass of a leaky ReLU: x where x > 0, ``alpha * x`` elsewhere.

    Parameters
    ----------
    x : ndarray, any shape
        Input.
    alpha : float, default 0.01
        Slope for the non-positive inputs.

    Returns
    -------
    out : ndarray, same shape as x
        The leaky ReLU of x.
    cache : tuple
        ``(x, alpha)``.
    """
    x = _float_array("x", x)
    if not isinstance(alpha, numbers.Real) or not np.isfinite(alpha):
        raise ValueError(f"alpha must be a finite number, got {alpha!r}")
    out = None
    ###########################################################################
    # TODO: Implement the leaky ReLU forward pass.                            #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    out = np.where(x > 0, x, alpha * x)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    cache = (x, alpha)
    return out.astype(x.dtype, copy=False), cache


def leaky_relu_backward(dout, cache):
    """Compute the backward pass of a leaky ReLU.

    Parameters
    ----------
    dout : ndarray, same shape as x
        Upstream gradient.
    cache : tuple
        ``(x, alpha)`` from ``leaky_relu_forward``.

    Returns
    -------
    dx : ndarray, same shape as x
        Gradient with respect to x.
    """
    ok = isinstance(cache, tuple) and len(cache) == 2 and isinstance(cache[0], np.ndarray)
    _check_cache("leaky_relu", cache, "a tuple (x, alpha)", ok and isinstance(cache[1], numbers.Real))
    x, alpha = cache
    dout = _float_array("dout", dout)
    _check_shape("dout", dout, x.shape, "the shape of x")
    dx = None
    ###########################################################################
    # TODO: Implement the leaky ReLU backward pass.                           #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    dx = np.where(x > 0, dout, alpha * dout)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return dx.astype(x.dtype, copy=False)


def sigmoid_forward(x):
    """Compute the forward pass of the logistic sigmoid, ``1 / (1 + exp(-x))`` elementwise.

    Parameters
    ----------
    x : ndarray, any shape
        Input.

    Returns
    -------
    out : ndarray, same shape as x
        The sigmoid of x, in [0, 1].
    cache : ndarray, same shape as x
        out: the sigmoid's local gradient can be written with its output alone.
    """
    x = _float_array("x", x)
    out = None
    ###########################################################################
    # TODO: Implement the sigmoid forward pass. It must not overflow: exp(-x) #
    # is inf for x = -1000.                                                   #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    # exp(-|x|) never overflows; x >= 0 and x < 0 each get the algebraically equal form built from it.
    z = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + z), z / (1 + z))

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    cache = out
    return out, cache


def sigmoid_backward(dout, cache):
    """Compute the backward pass of the sigmoid.

    Parameters
    ----------
    dout : ndarray, same shape as x
        Upstream gradient.
    cache : ndarray, same shape as x
        The output of ``sigmoid_forward``.

    Returns
    -------
    dx : ndarray, same shape as x
        Gradient with respect to x.
    """
    _check_cache("sigmoid", cache, "its output (an array of values in [0, 1])", _in_range(cache, 0, 1))
    out = cache
    dout = _float_array("dout", dout)
    _check_shape("dout", dout, out.shape, "the shape of x")
    dx = None
    ###########################################################################
    # TODO: Implement the sigmoid backward pass using the cached output.      #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    dx = dout * out * (1 - out)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return dx.astype(out.dtype, copy=False)


def tanh_forward(x):
    """Compute the forward pass of the hyperbolic tangent, elementwise.

    Parameters
    ----------
    x : ndarray, any shape
        Input.

    Returns
    -------
    out : ndarray, same shape as x
        ``tanh(x)``, in [-1, 1].
    cache : ndarray, same shape as x
        out: tanh's local gradient can be written with its output alone.
    """
    x = _float_array("x", x)
    out = None
    ###########################################################################
    # TODO: Implement the tanh forward pass.                                  #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    out = np.tanh(x)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    cache = out
    return out, cache


def tanh_backward(dout, cache):
    """Compute the backward pass of tanh.

    Parameters
    ----------
    dout : ndarray, same shape as x
        Upstream gradient.
    cache : ndarray, same shape as x
        The output of ``tanh_forward``.

    Returns
    -------
    dx : ndarray, same shape as x
        Gradient with respect to x.
    """
    _check_cache("tanh", cache, "its output (an array of values in [-1, 1])", _in_range(cache, -1, 1))
    out = cache
    dout = _float_array("dout", dout)
    _check_shape("dout", dout, out.shape, "the shape of x")
    dx = None
    ###########################################################################
    # TODO: Implement the tanh backward pass using the cached output.         #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    dx = dout * (1 - out**2)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return dx.astype(out.dtype, copy=False)


def svm_loss(x, y):
    """Compute the multiclass SVM (hinge) loss and its gradient.

    ``L = 1/N sum_i sum_{j != y_i} max(0, x[i, j] - x[i, y_i] + 1)``.

    Parameters
    ----------
    x : ndarray, shape (N, C)
        Class scores: ``x[i, j]`` is the score of class j for example i.
    y : ndarray of int, shape (N,)
        Labels, ``0 <= y[i] < C``.

    Returns
    -------
    loss : float
        The hinge loss averaged over the N examples.
    dx : ndarray, shape (N, C)
        Gradient of the loss with respect to x, in x's dtype.
    """
    x, y = _scores_and_labels(x, y)
    loss, dx = None, None
    ###########################################################################
    # TODO: Implement the multiclass SVM loss and its gradient, without loops #
    # over examples.                                                          #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    N, rows = x.shape[0], np.arange(x.shape[0])
    margins = np.maximum(0, x - x[rows, y][:, None] + 1)
    margins[rows, y] = 0
    loss = margins.sum() / N
    # Each violated margin adds 1 to its own class and subtracts 1 from the correct class.
    dx = (margins > 0).astype(x.dtype)
    dx[rows, y] = -dx.sum(axis=1)
    dx /= N

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return float(loss), dx.astype(x.dtype, copy=False)


def softmax_loss(x, y):
    """Compute the softmax (cross-entropy) loss and its gradient.

    ``L = -1/N sum_i log(exp(x[i, y_i]) / sum_j exp(x[i, j]))``.

    Parameters
    ----------
    x : ndarray, shape (N, C)
        Class scores: ``x[i, j]`` is the score of class j for example i.
    y : ndarray of int, shape (N,)
        Labels, ``0 <= y[i] < C``.

    Returns
    -------
    loss : float
        The cross-entropy loss averaged over the N examples.
    dx : ndarray, shape (N, C)
        Gradient of the loss with respect to x, in x's dtype.
    """
    x, y = _scores_and_labels(x, y)
    loss, dx = None, None
    ###########################################################################
    # TODO: Implement the softmax loss and its gradient, without loops over   #
    # examples. Keep it finite for scores of 1e4: shift each row by its       #
    # maximum first.                                                          #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    N, rows = x.shape[0], np.arange(x.shape[0])
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].mean()
    dx = np.exp(log_probs)
    dx[rows, y] -= 1
    dx /= N

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return float(loss), dx.astype(x.dtype, copy=False)
