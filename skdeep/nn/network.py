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

import copy
import re

import numpy as np

from .activations import SAFE_BOUND
from .conv_pool import ConvPool
from .inference import (  # noqa: F401 - PREDICT_* re-exported
    PREDICT_MAX_ROWS,
    PREDICT_MEMORY_BUDGET,
    PREDICT_MIN_ROWS,
    ChunkedInference,
)
from .layers import _is_sparse, deepcopy_state


def _snake_case(name):
    return re.sub(r"(?<=[a-z])([A-Z])", r"_\1", name).lower()


class Sequential(ChunkedInference):
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
        self._steps = None
        self._frozen_workspaces = None
        self._idle_workspaces = []

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
        self._steps = self._plan_steps()
        self._frozen_workspaces = None
        self._idle_workspaces = []
        return shape

    def _plan_steps(self):
        """How forward, backward and predict run the layers: a list of
        ``(index of the first layer, runner)``.

        A runner is a layer, or a :class:`~skdeep.nn.conv_pool.ConvPool` running a
        ``Conv2D`` and the ``MaxPooling2D`` above it as one step when it can
        (same result, fewer passes). A step runs in training mode if its first
        layer does: a pair whose convolution ends the frozen base runs in
        inference mode, pooling included, which changes nothing, as backward
        stops below the pooling (it has no weights).
        """
        steps, i, layers = [], 0, self.layers
        while i < len(layers):
            pair = layers[i : i + 2]
            if len(pair) == 2 and ConvPool.fusable(*pair):
                steps.append((i, ConvPool(*pair)))
                i += 2
            else:
                steps.append((i, layers[i]))
                i += 1
        return steps

    def _get_steps(self):
        if getattr(self, "_steps", None) is None:  # unpickled: planned on demand
            self._steps = self._plan_steps()
        return self._steps

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
        ``backward``); the frozen base runs in inference mode, in buffers kept
        from batch to batch. Inference computes in the floating type of ``X``
        and returns fresh arrays (:meth:`predict` is the fast way to infer).
        """
        Y = X if _is_sparse(X) else np.asarray(X)
        if training or Y.dtype.kind != "f":
            Y = Y.astype(self.dtype, copy=False)
        if not training:
            for layer in self.layers:
                Y = layer.forward(Y, training=False)
            return Y
        steps = self._get_steps()
        if self._train_from and self._frozen_workspaces is None:
            self._frozen_workspaces = [{} for _ in steps]
        for k, (i, runner) in enumerate(steps):
            if i < self._train_from:
                Y = runner.infer(Y, self._frozen_workspaces[k])
            else:
                Y = runner.forward(Y, training=True)
        return Y

    def output_bound(self, X):
        """A bound on the magnitude of every inference output and every
        intermediate value for the rows of ``X``, from the weights and the
        largest ``|X|``; None if a layer cannot tell or a value might reach
        :data:`~skdeep.nn.activations.SAFE_BOUND` (see
        :meth:`~skdeep.nn.layers.Layer.output_bound`)."""
        values = X.data if _is_sparse(X) else X
        bound = float(max(values.max(initial=0.0), -values.min(initial=0.0)))
        for layer in self.layers:
            bound = layer.output_bound(bound)
            if bound is None or not bound < SAFE_BOUND:
                return None
        return bound

    def multiply_adds(self):
        """Multiply-adds of one sample's forward pass, roughly (the sum of the
        layers' :meth:`~skdeep.nn.layers.Layer.multiply_adds`): 60,042 for a
        (256, 128) MLP on 100 features, 1.8 million for the notes' CNN."""
        shape, total = self.input_shape_, 0
        for layer in self.layers:
            total += int(layer.multiply_adds(shape))
            shape = tuple(layer.output_shape(shape))
        return total

    def backward(self, dY):
        """Back-propagate the gradient of the loss with respect to the output.

        Fills the ``grads`` of every trainable layer, stopping at the lowest one.
        """
        for i, runner in reversed(self._get_steps()):
            if i + len(getattr(runner, "layers", (runner,))) <= self._first_trainable:
                break  # below the lowest trained layer: no gradient needed
            dY = runner.backward(dY)

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

    def _trained_arrays(self):
        """``(layer, name)`` of every trained array, in the order of the flat
        arrays (:meth:`flat_trainable`, :meth:`replica`)."""
        return [
            (layer, name)
            for layer in self.layers
            if self._is_trained(layer)
            for name in layer.params
        ]

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
        trained = self._trained_arrays()
        kept = getattr(self, "_flat", None)
        if kept is not None and all(
            layer.params[name].base is kept[0] and layer.grads[name].base is kept[1]
            for layer, name in trained
        ):
            return kept  # already gathered (partial_fit's next call): no copy
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
        self._flat = (flat_params, flat_grads)
        return self._flat

    def replica(self, rng):
        """A twin network computing with these weights in state of its own.

        The trainer runs a part of each batch through a replica on another
        thread (:mod:`skdeep.nn.trainer`). Its layers are shallow copies of
        these sharing their ``params`` dicts, hence the weight arrays and
        every update made to them, with their own gradient arrays, caches,
        training buffers and random generator (``rng``, for dropout masks);
        the replica has its own fused steps and frozen-base workspaces. The
        trained layers' gradients are views into one flat array laid out as
        :meth:`flat_trainable` lays out this network's, so that the
        gradients of a batch's parts add up array to array.

        Parameters
        ----------
        rng : numpy.random.Generator
            The replica's randomness (``set_rng`` of every layer).

        Returns
        -------
        replica : Sequential
        flat_grads : ndarray of shape (n_trained_params,)

        Notes
        -----
        Copies and pickles of a network never carry replicas: the trainer
        keeps them, for the duration of a fit.
        """
        layers = []
        for layer in self.layers:
            twin = copy.copy(layer)  # Layer.__getstate__: no cache, no buffers
            twin.params = layer.params  # the very dict: same arrays, same views
            twin.grads = dict(layer.grads)
            twin.set_rng(rng)
            layers.append(twin)
        # What build set, not planned again: the layers are built.
        replica = Sequential(layers, dtype=self.dtype)
        replica.input_shape_, replica.output_shape_ = (
            self.input_shape_,
            self.output_shape_,
        )
        replica._first_trainable = self._first_trainable
        replica._train_from = self._train_from
        trained = replica._trained_arrays()
        flat_grads = np.zeros(
            sum(layer.params[name].size for layer, name in trained), dtype=self.dtype
        )
        start = 0
        for layer, name in trained:
            shape = layer.params[name].shape
            stop = start + layer.params[name].size
            layer.grads[name] = flat_grads[start:stop].reshape(shape)
            start = stop
        return replica, flat_grads

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
        """Drop the layers' caches and scratch buffers (after training) and the
        buffers kept for the next prediction."""
        for layer in self.layers:
            layer._cache = None
            if hasattr(layer, "_buffers"):
                layer._buffers = {}
        for _, runner in self._get_steps():
            if isinstance(runner, ConvPool):
                runner.release()
        self._frozen_workspaces = None
        self._idle_workspaces = []

    def __getstate__(self):
        # Buffers and the fused steps' caches are per-call state: copies and
        # pickles carry the layers only (the steps are planned again on use).
        state = self.__dict__.copy()
        state["_steps"] = None
        state["_frozen_workspaces"] = None
        state["_idle_workspaces"] = []
        state["_flat"] = None  # the copied layers' arrays are not views of it
        return state

    def __deepcopy__(self, memo):
        return deepcopy_state(self, self.__getstate__(), memo)

    def __setstate__(self, state):
        # Networks pickled before these attributes existed get them empty.
        self.__dict__.update(
            {
                "_steps": None,
                "_frozen_workspaces": None,
                "_idle_workspaces": [],
                "_flat": None,
            }
        )
        self.__dict__.update(state)

    @property
    def n_params(self):
        """Number of scalar parameters."""
        return sum(layer.n_params for layer in self.layers)

    def __repr__(self):
        return f"Sequential({self.layers!r})"


__all__ = ["Sequential"]
