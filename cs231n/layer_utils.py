"""Sandwich layers: common chains of layers from ``cs231n.layers`` packed into one forward/backward pair.

A sandwich's cache is the tuple of its parts' caches, and its backward runs the parts' backwards in
reverse order.
"""

from .layers import affine_backward, affine_forward, relu_backward, relu_forward


def affine_relu_forward(x, w, b):
    """Compute an affine layer followed by a ReLU.

    Parameters
    ----------
    x : ndarray, shape (N, d_1, ..., d_k)
        A minibatch of N examples.
    w : ndarray, shape (D, M)
        Weights of the affine layer, D = d_1 * ... * d_k.
    b : ndarray, shape (M,)
        Biases of the affine layer.

    Returns
    -------
    out : ndarray, shape (N, M)
        ``max(0, x.reshape(N, D) @ w + b)``.
    cache : tuple
        ``(fc_cache, relu_cache)``: the caches of the affine and the ReLU layers.
    """
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Compute the backward pass of the affine-ReLU sandwich.

    Parameters
    ----------
    dout : ndarray, shape (N, M)
        Upstream gradient.
    cache : tuple
        ``(fc_cache, relu_cache)`` from ``affine_relu_forward``.

    Returns
    -------
    dx : ndarray, shape (N, d_1, ..., d_k)
        Gradient with respect to x.
    dw : ndarray, shape (D, M)
        Gradient with respect to w.
    db : ndarray, shape (M,)
        Gradient with respect to b.
    """
    if not (isinstance(cache, tuple) and len(cache) == 2 and isinstance(cache[0], tuple)):
        seen = f"a tuple of {len(cache)}" if isinstance(cache, tuple) else f"a {type(cache).__name__}"
        raise ValueError(
            f"affine_relu_backward needs the cache of affine_relu_forward, a tuple (fc_cache, relu_cache); got {seen}"
        )
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    return affine_backward(da, fc_cache)
