"""Layer interface and the fully-connected layers (notes 二.1-6).

A layer follows Keras' lifecycle: ``__init__`` stores its configuration,
``build(input_shape, rng, dtype)`` allocates weights and returns the output shape
(no batch axis), ``forward(X, training)`` computes the output and, when training,
keeps what ``backward`` needs in ``self._cache``; ``backward(dY)`` overwrites
``self.grads`` and returns ``dX``.

Two conventions keep training and inference free of per-batch allocations:

- A layer reads its weights from ``self.params`` at every call and writes its
  gradients into the arrays already in ``self.grads`` (``out=``), so the optimizer
  can update those arrays in place.
- During training, outputs and input gradients are written into buffers the layer
  keeps between batches (:meth:`Layer._buffer`). The array ``forward(X,
  training=True)`` returns is therefore only valid until the next training
  forward. Inference runs through :meth:`Layer.infer`, whose buffers live in a
  ``workspace`` dict owned by the caller (``Sequential.predict`` keeps one per
  layer for all the chunks of a call), so concurrent predictions never share a
  buffer; ``forward(X, training=False)`` is ``infer`` with a fresh workspace and
  always returns fresh arrays.
"""

import copy
from functools import partial

import numpy as np

from .activations import (
    activation_backward,
    activation_bound,
    apply_activation,
    get_activation,
)


class Layer:
    """Base class of all layers.

    Attributes
    ----------
    params : dict of str to ndarray
        Trainable arrays by name ('W', 'b'); empty for parameter-free layers.
    grads : dict of str to ndarray
        Gradients of the loss with respect to ``params``, same keys and shapes.
    trainable : bool
        False freezes the layer: the optimizer skips it and ``backward`` computes
        no weight gradients.
    needs_input_grad : bool
        False when nothing reads the gradient ``backward`` returns (the network
        sets it on the lowest layer it back-propagates through); a layer may then
        skip computing ``dX`` and return None.
    input_shape_ : tuple of int
        Set by ``build``: a layer that has it is built, and
        :class:`~skdeep.nn.network.Sequential` keeps its weights.

    Examples
    --------
    The lifecycle of a layer: configure, build for an input shape, run forward
    (keeping a cache when training), then backward.

    >>> import numpy as np
    >>> from skdeep.layers import Dense
    >>> layer = Dense(3)
    >>> layer.build((4,), np.random.default_rng(0))
    (3,)
    >>> Y = layer.forward(np.ones((2, 4), dtype=np.float32), training=True)
    >>> dX = layer.backward(np.ones_like(Y))
    >>> Y.shape, dX.shape, layer.grads["W"].shape
    ((2, 3), (2, 4), (4, 3))
    """

    trainable = True
    needs_input_grad = True

    def __init__(self):
        self.params = {}
        self.grads = {}
        self._cache = None
        self._buffers = {}

    def output_shape(self, input_shape):
        """Output shape (no batch axis) for ``input_shape``; no side effects."""
        return tuple(input_shape)

    def output_bound(self, input_bound):
        """A bound on the magnitude of every inference output of this layer
        when no input exceeds ``input_bound`` in magnitude, or None if the
        layer cannot tell. Computed from the weights alone (in float64), it
        lets a fit skip the pass over the data that would check the outputs
        are finite (:func:`~skdeep.nn.training.run_epochs`)."""
        return None

    def build(self, input_shape, rng=None, dtype=np.float32):
        """Allocate weights for ``input_shape`` and return the output shape.

        ``rng`` (a ``numpy.random.Generator``) is required by the layers that
        draw random numbers (weight initialisation, dropout); parameter-free
        layers ignore it.
        """
        output_shape = self.output_shape(input_shape)
        self.input_shape_ = tuple(int(d) for d in input_shape)
        self.set_rng(rng)
        return output_shape

    def set_rng(self, rng):
        """Use ``rng`` for the layer's randomness during training.

        No-op by default; a layer that draws random numbers in ``forward``
        (``Dropout``) keeps it. ``Sequential.build`` calls it on every layer,
        including layers already built, so copied layers do not keep the
        generator of the fit they were copied from.
        """

    def scratch_size(self, input_shape):
        """Number of scalars per sample of the largest array ``forward`` holds at
        inference (the input or output by default); sizes prediction chunks."""
        return max(
            int(np.prod(input_shape)), int(np.prod(self.output_shape(input_shape)))
        )

    def multiply_adds(self, input_shape):
        """Multiply-adds of one sample's forward pass, roughly: the work that
        decides whether the trainer splits a batch into parts run side by side
        (:mod:`skdeep.nn.trainer`).

        By default each parameter is used once per sample (``Dense``,
        ``LocallyConnected2D``; 0 for parameter-free layers); a layer that
        reuses its weights across positions (``Conv2D``) counts every use.
        """
        return self.n_params

    def forward(self, X, training=False):  # pragma: no cover - abstract
        raise NotImplementedError

    def infer(self, X, workspace):
        """Inference output for the batch ``X``, computed in reusable scratch arrays.

        ``workspace`` is a dict the caller reserves for this layer over a run of
        batches of one shape (the chunks of ``Sequential.predict``, or the
        batches through a frozen base); the layer keeps its temporaries and its
        output there (``self._buffer(name, shape, dtype, workspace)``), so the
        run allocates them once. The result may be one of those arrays: it is
        valid until the next call with the same ``workspace``. Layers without
        an override compute ``forward(X, training=False)``.
        """
        return self.forward(X, training=False)

    def _param_in(self, name, dtype, workspace):
        """``params[name]`` in ``dtype``: itself, or for inference of wider
        rows (float64 rows through float32 weights, ``Sequential.predict``) a
        copy cast once per predict call and kept in ``workspace`` under
        ``CAST_PREFIX + name`` (the call drops such copies when it starts)."""
        param = self.params[name]
        if param.dtype == dtype or workspace is None:
            return param
        cast = workspace.get(CAST_PREFIX + name)
        if cast is None:
            cast = workspace[CAST_PREFIX + name] = param.astype(dtype)
        return cast

    def backward(self, dY):  # pragma: no cover - abstract
        raise NotImplementedError

    def _pop_cache(self):
        """The forward cache; raises if ``forward(training=True)`` did not run."""
        cache, self._cache = self._cache, None
        if cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward called without a preceding "
                "forward(X, training=True)."
            )
        return cache

    def _check_input(self, X, ndim, n_last):
        """Refuse a batch that cannot be the input the layer was built for."""
        if X.ndim != ndim or X.shape[-1] != n_last:
            raise ValueError(
                f"{type(self).__name__} was built for inputs of shape "
                f"{getattr(self, 'input_shape_', None)}; received X of shape "
                f"{X.shape}."
            )

    def _buffer(self, name, shape, dtype, workspace=None, init=None):
        """A scratch array kept between batches, reallocated only when its shape
        or dtype changes (e.g. for the smaller last batch of an epoch).

        It is kept in ``workspace`` (see :meth:`infer`) if given, else in the
        layer's own training buffers. ``init(array)``, if given, is called on a
        newly allocated array only: what it writes persists across batches.
        """
        buffers = self._buffers if workspace is None else workspace
        buffer = buffers.get(name)
        if buffer is None or buffer.shape != shape or buffer.dtype != dtype:
            buffer = buffers[name] = np.empty(shape, dtype=dtype)
            if init is not None:
                init(buffer)
        return buffer

    def _derived(self, name, bases, make, workspace=None):
        """``make(*bases)``, kept with the buffers (the training run's, or
        ``workspace``'s, as :meth:`_buffer`) while ``bases`` are the same
        arrays (by identity): views into kept buffers, built once rather than
        for every batch. Kept as a ``(bases, views)`` tuple: a workspace's
        arrays are its buffers, its tuples such views."""
        store = self._buffers if workspace is None else workspace
        entry = store.get(name)
        if entry is None or any(a is not b for a, b in zip(entry[0], bases)):
            entry = store[name] = (bases, make(*bases))
        return entry[1]

    def __getstate__(self):
        # Caches and scratch buffers are per-batch state: copies and pickles of a
        # layer carry its configuration and weights only.
        state = self.__dict__.copy()
        state["_cache"] = None
        state["_buffers"] = {}
        state.pop("_shapes", None)  # a memo of shapes (conv layers)
        return state

    def __deepcopy__(self, memo):
        # copy.deepcopy's generic path (reduce, reconstruct, a call per value)
        # costs more than the arrays' copies for a small network, and a failed
        # partial_fit call's rollback copies the network on every call.
        return deepcopy_state(self, self.__getstate__(), memo)

    def get_config(self):
        """Return the constructor arguments, as Keras does."""
        return {}

    @property
    def n_params(self):
        """Number of scalar parameters."""
        return int(sum(p.size for p in self.params.values()))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _computed_dtype(X_dtype, W_dtype):
    """The dtype a layer computes in: ``X``'s if it is wider than the
    weights' (as numpy would promote). Every batch asks, and
    ``np.result_type`` costs microseconds where the dtypes are nearly always
    the same."""
    return X_dtype if X_dtype == W_dtype else np.result_type(X_dtype, W_dtype)


# Workspace keys of weights cast for one predict call (Layer._param_in).
CAST_PREFIX = "cast_"

_IMMUTABLE = (int, float, str, bool, type(None), np.dtype, np.generic)


def deepcopy_value(value, memo):
    """``copy.deepcopy(value, memo)``, fast for what layers hold: arrays, dicts
    of arrays and immutable configuration values."""
    if isinstance(value, np.ndarray):
        return value.__deepcopy__(memo)
    if isinstance(value, _IMMUTABLE):
        return value
    if type(value) is dict:
        return {key: deepcopy_value(item, memo) for key, item in value.items()}
    if type(value) is list:
        return [deepcopy_value(item, memo) for item in value]
    if type(value) is tuple and all(isinstance(item, _IMMUTABLE) for item in value):
        return value
    return copy.deepcopy(value, memo)


def deepcopy_state(obj, state, memo):
    """A new instance of ``obj``'s class holding a deep copy of ``state`` (its
    ``__dict__`` as it should be copied), by :func:`deepcopy_value`: the lean
    ``__deepcopy__`` of layers, networks and optimizers."""
    new = object.__new__(type(obj))
    memo[id(obj)] = new
    new.__dict__.update(
        {key: deepcopy_value(value, memo) for key, value in state.items()}
    )
    return new


def check_positive_int(value, name):
    """Validate a layer argument that must be a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise ValueError(
            f"`{name}` must be a positive integer; received {name}={value!r}."
        )
    return int(value)


def _check_flat_shape(layer, input_shape):
    if len(input_shape) != 1:
        raise ValueError(
            f"{type(layer).__name__} expects flat inputs of shape (n_features,); "
            f"received input_shape={tuple(input_shape)}. Put a Flatten() layer "
            "before it."
        )
    return tuple(input_shape)


class Dense(Layer):
    """Fully-connected layer ``Y = activation(X @ W + b)`` (notes 二.1-4).

    Weights are initialised with Keras' glorot-uniform rule, biases at zero.

    Parameters
    ----------
    units : int
        Number of output units.
    activation : str or None, default=None
        Name of an activation in :data:`skdeep.nn.activations.ACTIVATIONS`;
        None is the identity (the logits of an output layer).

    Input shape
    -----------
    ``(batch_size, n_features)``.

    Output shape
    ------------
    ``(batch_size, units)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.nn.layers import Dense
    >>> layer = Dense(3, activation="relu")
    >>> layer.build((4,), np.random.default_rng(0))
    (3,)
    >>> layer.params["W"].shape, layer.n_params
    ((4, 3), 15)
    >>> layer.forward(np.ones((2, 4), dtype=np.float32)).shape
    (2, 3)
    """

    def __init__(self, units, activation=None):
        super().__init__()
        self.units = check_positive_int(units, "units")
        self.activation = activation
        get_activation(activation)  # refuse an unknown name now, not in fit

    def get_config(self):
        return {"units": self.units, "activation": self.activation}

    def output_shape(self, input_shape):
        _check_flat_shape(self, input_shape)
        return (self.units,)

    def output_bound(self, input_bound):
        # |sum_i W_ij x_i + b_j| <= sum_i |W_ij| * input_bound + |b_j|.
        W, b = self.params["W"], self.params["b"]
        columns = np.abs(W).sum(axis=0, dtype=np.float64)
        bound = float((columns * input_bound + np.abs(b)).max(initial=0.0))
        return activation_bound(self.activation, bound)

    def build(self, input_shape, rng, dtype=np.float32):
        output_shape = super().build(input_shape, rng, dtype)
        (n_features,) = self.input_shape_
        # Glorot uniform: Var(W) = 2 / (fan_in + fan_out) keeps the activations'
        # and the gradients' scale from layer to layer (notes 二.7).
        limit = np.sqrt(6.0 / (n_features + self.units))
        self.params = {
            "W": rng.uniform(-limit, limit, size=(n_features, self.units)).astype(
                dtype
            ),
            "b": np.zeros(self.units, dtype=dtype),
        }
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self._cache = None
        return output_shape

    def forward(self, X, training=False):
        if not training:
            return self.infer(X, {})
        Z = self._affine(X, None)
        Y = apply_activation(self.activation, Z)
        self._cache = (X, Z, Y)
        return Y

    def infer(self, X, workspace):
        # Nothing reads Z afterwards: the activation may overwrite it.
        return apply_activation(self.activation, self._affine(X, workspace), True)

    def _affine(self, X, workspace):
        """``X @ W + b`` into a buffer (training's own, or ``workspace``'s).

        ``X`` may be a scipy sparse matrix (CSR rows, e.g. one-hot encoded
        features): the product is then scipy's sparse x dense product, whose
        rows are computed independently from the nonzeros of each input row,
        and the dense ``X`` is never formed.
        """
        W, b = self.params["W"], self.params["b"]
        self._check_input(X, 2, W.shape[0])
        # In X's type if it is wider than the weights' (as numpy would promote).
        dtype = _computed_dtype(X.dtype, W.dtype)
        Z = self._buffer("Z", (X.shape[0], self.units), dtype, workspace)
        W = self._param_in("W", dtype, workspace)
        if _is_sparse(X):
            Z[...] = X @ W
        else:
            np.matmul(X, W, out=Z)
        Z += b
        return Z

    def backward(self, dY):
        X, Z, Y = self._pop_cache()
        dZ = activation_backward(
            self.activation, Z, Y, dY, buffer=partial(self._buffer, "dZ")
        )
        if self.trainable:
            if _is_sparse(X):
                self.grads["W"][...] = X.T @ dZ  # sparse x dense: no dense X
            else:
                np.matmul(X.T, dZ, out=self.grads["W"])
            # db = 1 @ dZ: a matrix-vector product, 3x faster than np.sum's
            # column sums for a batch of 200 x 256.
            ones = self._buffer("ones", (dZ.shape[0],), dZ.dtype, init=_fill_ones)
            np.matmul(ones, dZ, out=self.grads["b"])
        if not self.needs_input_grad:
            return None
        dX = self._buffer("dX", X.shape, dZ.dtype)
        return np.matmul(dZ, self.params["W"].T, out=dX)


def _is_sparse(X):
    return hasattr(X, "tocsr")


def _fill_ones(array):
    array.fill(1)


class Activation(Layer):
    """Apply an activation function element-wise (row-wise for softmax).

    Parameters
    ----------
    name : str
        Name of an activation in :data:`skdeep.nn.activations.ACTIVATIONS`.

    Input shape
    -----------
    Any.

    Output shape
    ------------
    Same as the input.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.nn.layers import Activation
    >>> Activation("relu").forward(np.array([[-1.0, 2.0]]))
    array([[0., 2.]])
    """

    def __init__(self, name):
        super().__init__()
        self.name = name
        self._activation, self._activation_grad = get_activation(name)

    def get_config(self):
        return {"name": self.name}

    def output_bound(self, input_bound):
        return activation_bound(self.name, input_bound)

    def forward(self, X, training=False):
        Y = self._activation(X)
        if training:
            self._cache = (X, Y)
        return Y

    def backward(self, dY):
        X, Y = self._pop_cache()
        return self._activation_grad(X, Y, dY)


class Dropout(Layer):
    """Inverted dropout: zero each input with probability ``rate`` (notes 二.6).

    During training the kept inputs are scaled by ``1 / (1 - rate)``, so that
    inference is the identity (equivalent to the notes' "multiply by the keep
    ratio at test time"). The masks are drawn from the generator given to
    ``build`` or ``set_rng`` (``Sequential.build`` hands its generator to every
    layer, built or not), so training is reproducible from ``random_state``.

    Parameters
    ----------
    rate : float
        Fraction of the inputs to drop, in [0, 1).

    Input shape
    -----------
    Any.

    Output shape
    ------------
    Same as the input.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.nn.layers import Dropout
    >>> layer = Dropout(0.5)
    >>> layer.build((4,), np.random.default_rng(0))
    (4,)
    >>> layer.forward(np.ones((1, 4)), training=False)
    array([[1., 1., 1., 1.]])
    >>> np.unique(layer.forward(np.ones((1, 1000)), training=True))
    array([0., 2.])
    """

    def __init__(self, rate):
        super().__init__()
        if (
            isinstance(rate, bool)
            or not isinstance(rate, int | float | np.number)
            or not 0 <= rate < 1
        ):
            raise ValueError(
                f"`rate` must be a float in [0, 1); received rate={rate!r}."
            )
        self.rate = float(rate)

    def output_bound(self, input_bound):
        return input_bound  # the identity at inference

    def get_config(self):
        return {"rate": self.rate}

    def set_rng(self, rng):
        self._rng = rng

    def forward(self, X, training=False):
        if not training or self.rate == 0:
            return X
        if getattr(self, "_rng", None) is None:
            raise RuntimeError(
                "Dropout needs a random generator to train: build it with "
                "build(input_shape, rng) or call set_rng(rng) first."
            )
        keep = 1.0 - self.rate
        mask = self._buffer("mask", X.shape, X.dtype)
        self._rng.random(out=mask, dtype=X.dtype)
        # floor(u + keep) is 1 with probability keep and 0 otherwise; scaled by
        # 1 / keep it is the inverted-dropout mask, built without temporaries.
        mask += keep
        np.floor(mask, out=mask)
        mask *= 1.0 / keep
        self._cache = mask
        Y = self._buffer("Y", X.shape, X.dtype)
        return np.multiply(X, mask, out=Y)

    def backward(self, dY):
        if self.rate == 0:
            return dY
        mask = self._pop_cache()
        dX = self._buffer("dX", dY.shape, dY.dtype)
        return np.multiply(dY, mask, out=dX)


class Flatten(Layer):
    """Flatten every sample to one axis, in (height, width, channels) order.

    Input shape
    -----------
    ``(batch_size, d1, d2, ...)``.

    Output shape
    ------------
    ``(batch_size, d1 * d2 * ...)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.nn.layers import Flatten
    >>> Flatten().output_shape((5, 5, 3))
    (75,)
    >>> Flatten().forward(np.zeros((2, 5, 5, 3))).shape
    (2, 75)
    """

    def output_bound(self, input_bound):
        return input_bound

    def output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def forward(self, X, training=False):
        if training:
            self._cache = X.shape
        return X.reshape(X.shape[0], -1)

    def backward(self, dY):
        shape = self._pop_cache()
        return dY.reshape(shape)


__all__ = ["Activation", "Dense", "Dropout", "Flatten", "Layer", "check_positive_int"]
