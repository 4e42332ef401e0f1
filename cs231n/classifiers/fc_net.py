"""Fully connected networks: ``TwoLayerNet`` and the deeper ``FullyConnectedNet``.

Both are built from the layers of ``cs231n.layers`` and ``cs231n.layer_utils`` and share the same
conventions:

- ``params`` maps ``W1, b1, ..., WL, bL`` to arrays; ``Wi`` has shape (D_in, D_out), ``bi`` (D_out,).
- Weights are Gaussian with mean 0 and standard deviation ``weight_scale``, drawn with
  ``np.random.randn`` from the global numpy RNG in layer order (W1 first), so that a seed gives
  CS231n's numbers; biases start at zero.
- ``loss(X)`` returns the class scores (N, C); ``loss(X, y)`` returns ``(loss, grads)`` with the
  softmax loss plus ``0.5 * reg * sum(W**2)`` over every weight matrix (biases are not regularized)
  and ``grads`` holding the same keys as ``params``.
- ``Class.from_params(params, reg=...)`` builds a net around given arrays (no random draw).
- ``save(path)`` writes an ``.npz`` file (the parameters and a JSON document with the
  hyperparameters; nothing pickled) and ``Class.load(path)`` builds the model back from it
  (``model_io.py``).
"""

import math

import numpy as np

from ..layer_utils import affine_relu_backward, affine_relu_forward
from ..layers import affine_backward, affine_forward, softmax_loss
from .model_io import SavableModel, layer_dims


def _check_dim(name, value):
    """Return ``value`` as an int if it is a positive integer, else raise ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_scale(name, value):
    """Return ``value`` as a float if it is finite and >= 0, else raise ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0 <= value < np.inf:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _check_X(X, input_dim):
    """Return ``X`` as an array of shape (N, d_1, ..., d_k) with N >= 1 and d_1 * ... * d_k == input_dim."""
    X = np.asarray(X)
    if X.ndim < 2 or math.prod(X.shape[1:]) != input_dim:
        raise ValueError(
            f"X must have shape (N, d_1, ..., d_k) with d_1 * ... * d_k = input_dim = {input_dim}, got shape {X.shape}"
        )
    if X.shape[0] == 0:
        raise ValueError(f"X holds no examples (shape {X.shape}): a batch needs at least one")
    return X


class TwoLayerNet(SavableModel):
    """A two-layer fully connected network: affine - relu - affine - softmax.

    Inputs have dimension D, the hidden layer H units, and the network scores C classes.

    Parameters
    ----------
    input_dim : int
        D, the size of one flattened input.
    hidden_dim : int
        H, the size of the hidden layer.
    num_classes : int
        C, the number of classes.
    weight_scale : float
        Standard deviation of the random initial weights.
    reg : float
        L2 regularization strength.

    Attributes
    ----------
    params : dict
        ``W1`` (D, H), ``b1`` (H,), ``W2`` (H, C), ``b2`` (C,).
    reg : float
        L2 regularization strength.
    input_dim, hidden_dim, num_classes : int
        D, H and C.
    weight_scale : float
        The standard deviation the weights were drawn with.
    """

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0):
        self._set_hyperparameters(input_dim, hidden_dim, num_classes, weight_scale, reg)
        self.params = {}
        ############################################################################
        # TODO: Initialize the weights and biases of the two-layer net. Weights    #
        # are drawn from a Gaussian centered at 0 with standard deviation equal to #
        # weight_scale (W1 first, then W2); biases are zero. Store them in         #
        # self.params under the keys W1, b1 (first layer) and W2, b2 (second).     #
        ############################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        self.params["W1"] = weight_scale * np.random.randn(input_dim, hidden_dim)
        self.params["b1"] = np.zeros(hidden_dim)
        self.params["W2"] = weight_scale * np.random.randn(hidden_dim, num_classes)
        self.params["b2"] = np.zeros(num_classes)

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        ############################################################################
        #                             END OF YOUR CODE                             #
        ############################################################################

    def _set_hyperparameters(self, input_dim, hidden_dim, num_classes, weight_scale, reg):
        """Check the hyperparameters and store them as attributes (shared by __init__ and from_params)."""
        self.input_dim = _check_dim("input_dim", input_dim)
        self.hidden_dim = _check_dim("hidden_dim", hidden_dim)
        self.num_classes = _check_dim("num_classes", num_classes)
        self.weight_scale = _check_scale("weight_scale", weight_scale)
        self.reg = _check_scale("reg", reg)

    @classmethod
    def from_params(cls, params, reg=0.0, weight_scale=1e-3):
        """Build a net around given parameters, without drawing random weights.

        Parameters
        ----------
        params : dict
            ``W1`` (D, H), ``b1`` (H,), ``W2`` (H, C), ``b2`` (C,); D, H and C are read from the
            shapes. The arrays are used as they are (not copied).
        reg : float
            L2 regularization strength.
        weight_scale : float
            Recorded only (the weights are given).

        Returns
        -------
        TwoLayerNet
        """
        dims = layer_dims(params)
        if len(dims) != 3:
            raise ValueError(f"a TwoLayerNet has the params W1, b1, W2, b2, got keys {sorted(params)}")
        model = cls.__new__(cls)
        model._set_hyperparameters(*dims, weight_scale, reg)
        model.params = dict(params)
        return model

    def loss(self, X, y=None):
        """Compute the class scores, or the loss and its gradients, for a minibatch.

        Parameters
        ----------
        X : ndarray, shape (N, d_1, ..., d_k)
            Input data, d_1 * ... * d_k = D.
        y : ndarray of int, shape (N,), or None
            Labels, ``0 <= y[i] < C``.

        Returns
        -------
        scores : ndarray, shape (N, C)
            When y is None: ``scores[i, c]`` is the score of class c for X[i].
        loss : float
            Otherwise: the softmax loss plus the L2 regularization of W1 and W2...
        grads : dict
            ...and the gradient of that loss for every key of ``self.params``, same shapes.
        """
        X = _check_X(X, self.input_dim)
        W1, b1, W2, b2 = self.params["W1"], self.params["b1"], self.params["W2"], self.params["b2"]
        scores = None
        ############################################################################
        # TODO: Implement the forward pass of the two-layer net: compute the class #
        # scores for X and store them in the scores variable. Keep the caches the  #
        # backward pass will need.                                                 #
        ############################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        hidden, hidden_cache = affine_relu_forward(X, W1, b1)
        scores, scores_cache = affine_forward(hidden, W2, b2)

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        ############################################################################
        #                             END OF YOUR CODE                             #
        ############################################################################

        # Without labels we are in test mode: return the scores.
        if y is None:
            return scores

        loss, grads = 0, {}
        ############################################################################
        # TODO: Implement the backward pass of the two-layer net. Store the loss   #
        # in loss and the gradient of each parameter in grads under the same key   #
        # (grads["W1"] for self.params["W1"], ...). Use softmax_loss and add the   #
        # L2 regularization 0.5 * reg * (sum(W1**2) + sum(W2**2)), with its        #
        # gradient, so that your numbers match the reference ones.                 #
        ############################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        data_loss, dscores = softmax_loss(scores, y)
        loss = data_loss + 0.5 * self.reg * (np.sum(W1**2) + np.sum(W2**2))

        dhidden, dW2, grads["b2"] = affine_backward(dscores, scores_cache)
        _, dW1, grads["b1"] = affine_relu_backward(dhidden, hidden_cache)
        grads["W2"] = dW2 + self.reg * W2
        grads["W1"] = dW1 + self.reg * W1

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        ############################################################################
        #                             END OF YOUR CODE                             #
        ############################################################################

        return loss, grads


class FullyConnectedNet(SavableModel):
    """A fully connected network with any number of hidden layers.

    ``{affine - relu} x (L - 1) - affine - softmax``, with L = len(hidden_dims) + 1 affine layers.

    Parameters
    ----------
    hidden_dims : sequence of int
        Sizes of the hidden layers (may be empty: a softmax classifier).
    input_dim : int
        D, the size of one flattened input.
    num_classes : int
        C, the number of classes.
    reg : float
        L2 regularization strength.
    weight_scale : float
        Standard deviation of the random initial weights.
    dtype : numpy float dtype
        Every parameter and every input is cast to it: float32 is faster, float64 is needed for
        gradient checks.
    seed : int or None
        When given, ``np.random.seed(seed)`` runs before the weights are drawn, so the same seed
        gives the same network.

    Attributes
    ----------
    params : dict
        ``Wi`` (dims[i-1], dims[i]) and ``bi`` (dims[i],) for i = 1..L, with
        dims = [input_dim, *hidden_dims, num_classes].
    num_layers : int
        L.
    reg : float
        L2 regularization strength.
    dtype : numpy dtype
        The dtype of the parameters.
    input_dim, num_classes : int
        D and C.
    hidden_dims : list of int
        The sizes of the hidden layers.
    weight_scale : float
        The standard deviation the weights were drawn with.
    """

    def __init__(
        self,
        hidden_dims,
        input_dim=3 * 32 * 32,
        num_classes=10,
        reg=0.0,
        weight_scale=1e-2,
        dtype=np.float32,
        seed=None,
    ):
        self._set_hyperparameters(hidden_dims, input_dim, num_classes, reg, weight_scale, dtype)
        self.params = {}
        if seed is not None:
            np.random.seed(seed)
        ############################################################################
        # TODO: Initialize the parameters of the network and store them in         #
        # self.params: W1, b1 for the first layer, W2, b2 for the second, and so   #
        # on up to the output layer. Draw each weight matrix, in layer order,      #
        # from a Gaussian centered at 0 with standard deviation weight_scale;      #
        # biases are zero.                                                         #
        ############################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        dims = [input_dim, *self.hidden_dims, num_classes]
        for i in range(1, self.num_layers + 1):
            self.params[f"W{i}"] = weight_scale * np.random.randn(dims[i - 1], dims[i])
            self.params[f"b{i}"] = np.zeros(dims[i])

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        ############################################################################
        #                             END OF YOUR CODE                             #
        ############################################################################

        for k, v in self.params.items():
            self.params[k] = v.astype(self.dtype)

    def _set_hyperparameters(self, hidden_dims, input_dim, num_classes, reg, weight_scale, dtype):
        """Check the hyperparameters and store them as attributes (shared by __init__ and from_params)."""
        if isinstance(hidden_dims, (str, bytes)) or not hasattr(hidden_dims, "__len__"):
            raise ValueError(f"hidden_dims must be a list of layer sizes, got {hidden_dims!r}")
        self.hidden_dims = [_check_dim(f"hidden_dims[{i}]", h) for i, h in enumerate(hidden_dims)]
        self.input_dim = _check_dim("input_dim", input_dim)
        self.num_classes = _check_dim("num_classes", num_classes)
        self.reg = _check_scale("reg", reg)
        self.weight_scale = _check_scale("weight_scale", weight_scale)
        if not np.issubdtype(np.dtype(dtype), np.floating):
            raise ValueError(f"dtype must be a floating-point type such as np.float32, got {dtype!r}")
        self.dtype = np.dtype(dtype)
        self.num_layers = 1 + len(self.hidden_dims)

    @classmethod
    def from_params(cls, params, reg=0.0, weight_scale=1e-2):
        """Build a net around given parameters, without drawing random weights.

        Parameters
        ----------
        params : dict
            ``Wi`` (dims[i-1], dims[i]) and ``bi`` (dims[i],) for i = 1..L; the layer sizes are read
            from the shapes and the dtype from ``W1`` (the other arrays are cast to it).
        reg : float
            L2 regularization strength.
        weight_scale : float
            Recorded only (the weights are given).

        Returns
        -------
        FullyConnectedNet
        """
        dims = layer_dims(params)
        model = cls.__new__(cls)
        model._set_hyperparameters(dims[1:-1], dims[0], dims[-1], reg, weight_scale, np.asarray(params["W1"]).dtype)
        model.params = {k: np.asarray(v).astype(model.dtype, copy=False) for k, v in params.items()}
        return model

    def loss(self, X, y=None):
        """Compute the class scores, or the loss and its gradients, for a minibatch.

        Parameters
        ----------
        X : ndarray, shape (N, d_1, ..., d_k)
            Input data, d_1 * ... * d_k = D; cast to ``self.dtype``.
        y : ndarray of int, shape (N,), or None
            Labels, ``0 <= y[i] < C``.

        Returns
        -------
        scores : ndarray, shape (N, C)
            When y is None: ``scores[i, c]`` is the score of class c for X[i].
        loss : float
            Otherwise: the softmax loss plus the L2 regularization of every weight matrix...
        grads : dict
            ...and the gradient of that loss for every key of ``self.params``, same shapes.
        """
        X = _check_X(X, self.input_dim).astype(self.dtype, copy=False)
        L = self.num_layers
        scores = None
        ############################################################################
        # TODO: Implement the forward pass of the network: L - 1 affine-relu       #
        # layers, then an affine layer that gives the class scores. Store the      #
        # scores in the scores variable and keep every layer's cache for the       #
        # backward pass.                                                           #
        ############################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        caches = []
        out = X
        for i in range(1, L):
            out, cache = affine_relu_forward(out, self.params[f"W{i}"], self.params[f"b{i}"])
            caches.append(cache)
        scores, cache = affine_forward(out, self.params[f"W{L}"], self.params[f"b{L}"])
        caches.append(cache)

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        ############################################################################
        #                             END OF YOUR CODE                             #
        ############################################################################

        # Without labels we are in test mode: return the scores.
        if y is None:
            return scores

        loss, grads = 0, {}
        ############################################################################
        # TODO: Implement the backward pass of the network. Store the loss in      #
        # loss and the gradient of each parameter in grads under the same key.     #
        # Use softmax_loss and add 0.5 * reg * sum(W**2) for every weight matrix   #
        # (not the biases), with its gradient.                                     #
        ############################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        loss, dout = softmax_loss(scores, y)
        for i in range(L, 0, -1):
            layer_backward = affine_backward if i == L else affine_relu_backward
            dout, dW, grads[f"b{i}"] = layer_backward(dout, caches[i - 1])
            W = self.params[f"W{i}"]
            grads[f"W{i}"] = dW + self.reg * W
            loss += 0.5 * self.reg * np.sum(W**2)

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        ############################################################################
        #                             END OF YOUR CODE                             #
        ############################################################################

        return loss, grads
