"""``Sequential``: a stack of layers, forward and backward (notes 二.2-4).

The network knows nothing of losses, optimizers or scikit-learn: it chains the
layers' ``forward`` and ``backward`` and hands out their weights.

Two rules make transfer learning (notes 三.10) a matter of building the layer list:

- ``build`` keeps the weights of a layer that is already built (it has
  ``input_shape_``, e.g. a layer copied from a fitted network) and only builds
  the others.
- A layer with ``trainable=False`` is frozen: it gets no weight gradients and the
  optimizer never sees it. The frozen base (the layers up to the last frozen one
  below the lowest trained layer) runs in inference mode (no cache, no dropout),
  as a frozen feature extractor does; every layer above it trains, so a
  ``Dropout`` at the input or at the start of a transfer head drops units.
  Back-propagation stops at the lowest trained layer: nothing below it needs a
  gradient.
"""

import re

import numpy as np

# Inference runs in chunks whose largest per-layer temporary (an activation, or a
# Conv2D's im2col windows) stays under this many bytes: a whole validation set
# at once can need hundreds of MB of windows.
PREDICT_MEMORY_BUDGET = 64 * 2**20


def _snake_case(name):
    return re.sub(r"(?<=[a-z])([A-Z])", r"_\1", name).lower()


class Sequential:
    """A linear stack of layers.

    Parameters
    ----------
    layers : list of Layer
        The layers, input first. They are used as given (not copied).
    dtype : numpy dtype, default=np.float32
        Floating type of the weights and of the computations.

    Attributes
    ----------
    input_shape_ : tuple of int
        Shape of one sample (no batch axis), set by ``build``.
    output_shape_ : tuple of int
        Shape of one output.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.nn.layers import Dense
    >>> from skdeep.nn.network import Sequential
    >>> net = Sequential([Dense(8, activation="relu"), Dense(2)])
    >>> net.build((4,), np.random.default_rng(0))
    (2,)
    >>> net.forward(np.ones((3, 4))).shape
    (3, 2)
    >>> [w.shape for w in net.get_weights()]
    [(4, 8), (8,), (8, 2), (2,)]
    """

    def __init__(self, layers, dtype=np.float32):
        self.layers = list(layers)
        self.dtype = np.dtype(dtype)

    def build(self, input_shape, rng):
        """Build every layer not built yet; return the network's output shape.

        Every layer, built or not, draws its randomness (dropout masks) from
        ``rng``, so a network made of copied layers trains reproducibly from
        the caller's random state.
        """
        shape = self.input_shape_ = tuple(int(d) for d in input_shape)
        for layer in self.layers:
            if hasattr(layer, "input_shape_"):
                layer.set_rng(rng)
                if tuple(layer.input_shape_) != shape:
                    raise ValueError(
                        f"Layer {layer!r} was built for inputs of shape "
                        f"{tuple(layer.input_shape_)} but receives {shape}."
                    )
                self._cast_weights(layer)
                shape = tuple(layer.output_shape(shape))
            else:
                shape = tuple(layer.build(shape, rng, dtype=self.dtype))
        self.output_shape_ = shape
        self._first_trainable = next(
            (i for i, layer in enumerate(self.layers) if self._is_trained(layer)),
            len(self.layers),
        )
        # Layers from _train_from up run in training mode: everything above the
        # last frozen layer of the base, including parameter-free layers
        # (Dropout, pooling) below the lowest trained one.
        frozen = [
            i for i in range(self._first_trainable) if not self.layers[i].trainable
        ]
        self._train_from = frozen[-1] + 1 if frozen else 0
        for i, layer in enumerate(self.layers):
            # Nobody reads the input gradient of the lowest trained layer.
            layer.needs_input_grad = i > self._first_trainable
        return shape

    def _cast_weights(self, layer):
        if any(p.dtype != self.dtype for p in layer.params.values()):
            layer.params = {k: p.astype(self.dtype) for k, p in layer.params.items()}
        layer.grads = {k: np.zeros_like(p) for k, p in layer.params.items()}

    @staticmethod
    def _is_trained(layer):
        return layer.trainable and bool(layer.params)

    def forward(self, X, training=False):
        """Output of the last layer for the batch ``X``.

        With ``training=True`` ``X`` is cast to ``dtype`` and the layers above
        the frozen base run in training mode (dropout active, caches kept for
        ``backward``); the frozen base runs in inference mode. Inference
        computes in the floating type of ``X`` (see :meth:`predict`).
        """
        Y = np.asarray(X)
        if training or Y.dtype.kind != "f":
            Y = Y.astype(self.dtype, copy=False)
        for i, layer in enumerate(self.layers):
            Y = layer.forward(Y, training=training and i >= self._train_from)
        return Y

    def predict(self, X, batch_size=None):
        """Inference output for ``X``, in float64, a chunk of rows at a time.

        float64 makes a row's output independent of the other rows of its batch:
        float32 BLAS kernels sum in an order that depends on the batch size
        (differences of ~1e-7, which scikit-learn's subset-invariance check
        rejects). The weights stay in ``dtype``. Each chunk is converted to
        float64 on its own, so ``X`` is never copied whole.

        ``batch_size`` rows per chunk; by default as many as keep every layer's
        largest temporary under :data:`PREDICT_MEMORY_BUDGET` bytes.
        """
        X = np.asarray(X)
        if batch_size is None:
            batch_size = self.predict_batch_size()
        chunks = (
            X[start : start + batch_size].astype(np.float64)
            for start in range(0, max(X.shape[0], 1), batch_size)
        )
        return np.concatenate([self.forward(chunk, training=False) for chunk in chunks])

    def predict_batch_size(self, budget=None):
        """Rows per inference chunk so that no float64 temporary exceeds
        ``budget`` bytes (default :data:`PREDICT_MEMORY_BUDGET`)."""
        budget = PREDICT_MEMORY_BUDGET if budget is None else budget
        shape, largest = self.input_shape_, int(np.prod(self.input_shape_))
        for layer in self.layers:
            largest = max(largest, layer.scratch_size(shape))
            shape = tuple(layer.output_shape(shape))
        return max(1, budget // (8 * largest))

    def backward(self, dY):
        """Back-propagate the gradient of the loss with respect to the output.

        Fills the ``grads`` of every trainable layer, stopping at the lowest one.
        """
        for layer in reversed(self.layers[self._first_trainable :]):
            dY = layer.backward(dY)

    def trainable_params(self):
        """``(params, grads, is_weight)``: parallel lists over the trained arrays.

        ``is_weight`` marks the arrays named 'W' (weight decay applies to them,
        not to biases).
        """
        params, grads, is_weight = [], [], []
        for layer in self.layers:
            if self._is_trained(layer):
                for name, p in layer.params.items():
                    params.append(p)
                    grads.append(layer.grads[name])
                    is_weight.append(name == "W")
        return params, grads, is_weight

    def flat_trainable(self):
        """Gather the trained arrays into one contiguous array, and their
        gradients into another; return ``(flat_params, flat_grads)``.

        The layers' ``params`` and ``grads`` entries become views into the two
        arrays, so an optimizer step is a dozen whole-array operations instead
        of a dozen per array. Layers keep working unchanged as long as they read
        ``params`` at each call and write into the existing ``grads`` arrays
        (the layer contract). Called by the trainer at the start of each fit:
        copies and unpickled networks get fresh flat arrays.
        """
        trained = [
            (layer, name)
            for layer in self.layers
            if self._is_trained(layer)
            for name in layer.params
        ]
        size = sum(layer.params[name].size for layer, name in trained)
        flat_params = np.empty(size, dtype=self.dtype)
        flat_grads = np.zeros(size, dtype=self.dtype)
        start = 0
        for layer, name in trained:
            p = layer.params[name]
            stop = start + p.size
            view = flat_params[start:stop].reshape(p.shape)
            view[...] = p
            layer.params[name] = view
            layer.grads[name] = flat_grads[start:stop].reshape(p.shape)
            start = stop
        return flat_params, flat_grads

    def get_weights(self):
        """Copies of every layer's parameters, in layer order (as Keras)."""
        return [p.copy() for layer in self.layers for p in layer.params.values()]

    def set_weights(self, weights):
        """Set every layer's parameters from a list shaped like ``get_weights()``."""
        targets = [p for layer in self.layers for p in layer.params.values()]
        weights = list(weights)
        if len(weights) != len(targets):
            raise ValueError(
                f"set_weights expects a list of {len(targets)} arrays; received "
                f"{len(weights)}."
            )
        for i, (target, w) in enumerate(zip(targets, weights)):
            w = np.asarray(w)
            if w.shape != target.shape:
                raise ValueError(
                    f"Weight {i} has shape {w.shape}; expected {target.shape}."
                )
            np.copyto(target, w, casting="same_kind")

    def weights_finite(self):
        """True if every parameter is finite."""
        return all(
            np.isfinite(p).all() for layer in self.layers for p in layer.params.values()
        )

    def summary_rows(self):
        """One dict per layer: name, output_shape (batch axis None), params, trainable.

        Names follow Keras: ``dense``, ``dense_1``, ... with the class in brackets.
        """
        rows, counts, shape = [], {}, self.input_shape_
        for layer in self.layers:
            shape = tuple(layer.output_shape(shape))
            kind = type(layer).__name__
            base = _snake_case(kind)
            k = counts[base] = counts.get(base, -1) + 1
            name = base if k == 0 else f"{base}_{k}"
            rows.append(
                {
                    "layer": f"{name} ({kind})",
                    "output_shape": (None, *shape),
                    "params": layer.n_params,
                    "trainable": bool(layer.trainable),
                }
            )
        return rows

    def release_buffers(self):
        """Drop the layers' caches and scratch buffers (after training)."""
        for layer in self.layers:
            layer._cache = None
            if hasattr(layer, "_buffers"):
                layer._buffers = {}

    @property
    def n_params(self):
        """Number of scalar parameters."""
        return sum(layer.n_params for layer in self.layers)

    def __repr__(self):
        return f"Sequential({self.layers!r})"


__all__ = ["Sequential"]
