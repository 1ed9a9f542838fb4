"""A convolution and the max pooling above it, run as one step.

:class:`ConvPool` runs a ``Conv2D`` and the ``MaxPooling2D`` above it as one
step (``Sequential`` plans it whenever it can): the same result in fewer,
longer passes over the data. It is not a layer: the two layers keep their
weights, configuration and gradients, and a network plans its pairs again on
use rather than saving them. It drives the convolution through the private
steps ``Conv2D`` has for it (``_pooled_pre_activation``,
``_weight_gradients``, ``_input_gradient``).
"""

import numpy as np

from .activations import apply_activation, relu_into
from .conv import Conv2D, _offsets
from .pooling import MaxPooling2D

# Activations that commute with max pooling exactly: max(f(a), f(b)) is
# f(max(a, b)) bit for bit, and their derivative at the pooled value is the
# one the first maximum gets (for relu, a window whose maximum is <= 0 passes
# no gradient either way).
_POOL_COMMUTING = (None, "identity", "linear", "relu")


class ConvPool:
    """A :class:`Conv2D` and the :class:`MaxPooling2D` above it, run as one step.

    ``Sequential`` runs such a pair through this class when
    :meth:`fusable` allows it. The layers keep their weights, configuration
    and gradients; only the order of the work changes, not its result:

    - The convolution goes one offset in the pooling window at a time
      (:meth:`Conv2D._pooled_pre_activation`): for 2x2 pooling, the windows
      and GEMM of the top-left pixels of every pooling window, then of the
      top-right ones, and so on, each followed by its share of the maximum:
      the element-wise maximum of whole contiguous blocks, where
      :class:`MaxPooling2D` steps through the image's pixels ``c`` values at
      a time, in arrays a quarter of the size that stay in cache. Pixels a
      'valid' pooling drops are never computed. Inference keeps no block: the
      convolution's whole output never exists (notes' CNN, 64 images, one
      thread: the first pair 0.82 ms against 1.5 ms).
    - The activation (relu or none) is applied after the pooling, to a
      quarter of the values: max pooling commutes with it exactly.
    - Backward routes each gradient to the first maximum in row-major window
      order (the block order), as :class:`MaxPooling2D` does, with whole-block
      operations, and needs no relu pass over the convolution's output.

    Notes' CNN, batch 32, one thread: forward and backward of the first pair
    1.5 ms against 2.6 ms as two layers.

    Parameters
    ----------
    conv : Conv2D
    pool : MaxPooling2D
    """

    def __init__(self, conv, pool):
        self.conv, self.pool = conv, pool
        self.layers = (conv, pool)
        self._cache = None

    @staticmethod
    def fusable(conv, pool):
        """Whether ``pool`` right above the built ``conv`` can run fused: a
        relu or linear convolution, and windows that tile its output without
        padding (non-overlapping, 'valid' or 'same' with divisible sizes)."""
        if not (isinstance(conv, Conv2D) and isinstance(pool, MaxPooling2D)):
            return False
        if conv.activation not in _POOL_COMMUTING or not hasattr(conv, "input_shape_"):
            return False
        ph, pw = pool.pool_size
        out_h, out_w, _ = conv.output_shape(conv.input_shape_)
        divisible = out_h % ph == 0 and out_w % pw == 0
        return (
            pool.strides == pool.pool_size
            and ph * pw > 1
            and (pool.padding == "valid" or divisible)
        )

    @property
    def trainable(self):
        return self.conv.trainable

    def infer(self, X, workspace):
        Pz = self.conv._pooled_pre_activation(X, workspace, self.pool.pool_size)[0]
        return apply_activation(self.conv.activation, Pz, overwrite=True)

    def forward(self, X, training=True):
        if not training:
            return self.infer(X, {})
        Pz, Z, cols, padded_shape, pads = self.conv._pooled_pre_activation(
            X, None, self.pool.pool_size, keep=True
        )
        P = Pz
        if self.conv.activation == "relu":
            # In place: backward routes through P where it is positive, and
            # there it equals the pooled pre-activation; where it is 0 the
            # gradient is 0 whatever the routing.
            relu_into(Pz, P)
        self._cache = (P, Z, cols, padded_shape, pads, X.shape)
        return P

    def backward(self, dP):
        cache, self._cache = self._cache, None
        if cache is None:
            raise RuntimeError(
                "ConvPool.backward called without a preceding "
                "forward(X, training=True)."
            )
        P, Z, cols, padded_shape, pads, input_shape = cache
        conv = self.conv
        n, out_h2, out_w2, filters = P.shape
        ph, pw = self.pool.pool_size
        n_offsets = ph * pw
        dZ = conv._buffer("dZ", Z.shape, dP.dtype)
        blocks, dblocks = Z.reshape(n_offsets, -1), dZ.reshape(n_offsets, -1)
        # The part of dP not routed yet, through the activation first. It is
        # kept in the last offset's block, which takes what remains at the
        # end: no copy.
        remaining = dblocks[n_offsets - 1]
        if conv.activation == "relu":
            np.greater(P.reshape(-1), 0, out=remaining)
            remaining *= dP.reshape(-1)
        else:
            np.copyto(remaining, dP.reshape(-1))
        # A mask of 0.0 / 1.0, not booleans: np.equal writes booleans faster,
        # but the product with a boolean mask converts every value (first
        # layer of the notes' CNN, batch 32: 229 us for the routing, against
        # 283 us with a boolean mask).
        hit = conv._buffer("pool_hit", remaining.shape, dP.dtype)
        flat = P.reshape(-1)
        # Offset k (row-major in the window) takes what remains where it holds
        # the maximum; the last offset takes the rest.
        for k in range(n_offsets - 1):
            np.equal(blocks[k], flat, out=hit)
            np.multiply(remaining, hit, out=dblocks[k])
            remaining -= dblocks[k]
        if conv.trainable:
            conv._weight_gradients(cols, dZ)
        if not conv.needs_input_grad:
            return None
        # dZ in image order (pixels the pooling dropped get zero) for dX.
        out_h, out_w, _ = conv.output_shape(input_shape[1:])
        dZ_image = conv._buffer("dZ_image", (n, out_h, out_w, filters), dP.dtype)
        if (out_h, out_w) != (out_h2 * ph, out_w2 * pw):
            dZ_image.fill(0)
        windows = dZ_image[:, : out_h2 * ph, : out_w2 * pw].reshape(
            n, out_h2, ph, out_w2, pw, filters
        )
        for k, (py, px) in enumerate(_offsets(ph, pw)):
            windows[:, :, py, :, px] = dblocks[k].reshape(n, out_h2, out_w2, filters)
        return conv._input_gradient(
            dZ_image.reshape(-1, filters), padded_shape, pads, (out_h, out_w)
        )

    def release(self):
        self._cache = None


__all__ = ["ConvPool"]
