"""Layer interface and the fully-connected layers (notes 二.1-6).

A layer follows Keras' lifecycle: ``__init__`` stores its configuration,
``build(input_shape, rng)`` allocates weights and returns the output shape (no
batch axis), ``forward(X, training)`` computes the output and, when training,
keeps what ``backward`` needs in ``self._cache``; ``backward(dY)`` overwrites
``self.grads`` and returns ``dX``.
"""

import numpy as np


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
    """

    trainable = True

    def __init__(self):
        self.params = {}
        self.grads = {}
        self._cache = None

    def output_shape(self, input_shape):
        """Output shape (no batch axis) for ``input_shape``; no side effects."""
        return tuple(input_shape)

    def build(self, input_shape, rng):
        """Allocate weights for ``input_shape`` and return the output shape."""
        self.input_shape_ = tuple(input_shape)
        return self.output_shape(input_shape)

    def forward(self, X, training=False):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, dY):  # pragma: no cover - abstract
        raise NotImplementedError

    def _pop_cache(self):
        """Return the forward cache, or raise if ``forward(training=True)`` did not run."""
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward called without a preceding "
                "forward(X, training=True)."
            )
        return self._cache

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


def check_positive_int(value, name):
    """Validate a layer argument that must be a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise ValueError(
            f"`{name}` must be a positive integer; received {name}={value!r}."
        )
    return int(value)
