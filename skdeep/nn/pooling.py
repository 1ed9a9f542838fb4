"""Pooling layers, channels-last as in Keras (notes 三.7), and their kernels.

:class:`MaxPooling2D` keeps the maximum of each window of a feature map,
:class:`GlobalAveragePooling2D` the mean of each whole map. Max pooling is
computed separably by the pure kernels :func:`max_pool_axis` and
:func:`max_pool_axis_backward`, one axis at a time on strided views of the
whole batch. Above a ``Conv2D``, ``Sequential`` usually runs a
``MaxPooling2D`` fused with it (:class:`~skdeep.nn.conv_pool.ConvPool`).
"""

import numpy as np

from .layers import Layer
from .windows import (
    _check_image_shape,
    _check_padding,
    _pair,
    _window_output_size,
    crop,
    pad_images,
    window_padding,
)

# ---------------------------------------------------------------------------
# Pure kernels: separable max pooling
# ---------------------------------------------------------------------------


def _axis_window(axis, offset, stride, length):
    """Index picking element ``offset`` of each of ``length`` windows along ``axis``."""
    index = [slice(None)] * 4
    index[axis] = slice(offset, offset + stride * (length - 1) + 1, stride)
    return tuple(index)


def max_pool_axis(X, axis, pool, stride, length, out=None):
    """Maximum over windows of ``pool`` values, ``stride`` apart, along one axis.

    Max pooling is separable: the maximum over a ``ph x pw`` window is the
    maximum over ``ph`` rows of the maxima over ``pw`` columns. Each of the
    ``pool`` steps here compares strided views of the whole batch, so no
    window is copied.

    Parameters
    ----------
    X : ndarray of shape (n, h, w, c)
    axis : {1, 2}
    pool, stride, length : int
        Window size, step and number of windows along ``axis``.
    out : ndarray, optional
        Preallocated result, ``X``'s shape with ``length`` along ``axis``.
    """
    if pool == stride == 1:
        return X
    first = X[_axis_window(axis, 0, stride, length)]
    if pool == 1:  # a strided subsample
        if out is None:
            return first.copy()
        np.copyto(out, first)
        return out
    # The first two offsets in one pass: no copy of the first one.
    out = np.maximum(first, X[_axis_window(axis, 1, stride, length)], out=out)
    for offset in range(2, pool):
        np.maximum(out, X[_axis_window(axis, offset, stride, length)], out=out)
    return out


def max_pool_axis_backward(X, Y, dY, axis, pool, stride, out=None):
    """Gradient of :func:`max_pool_axis`: each window's ``dY`` goes to its first max.

    ``remaining`` holds the part of ``dY`` not routed yet: offset ``u`` takes it
    where it holds the window maximum and passes zero on. The first maximum
    thus gets the whole gradient (as in TensorFlow and PyTorch) with no
    arg-max array, and the last offset takes what is left without a
    comparison (the maximum is there if it was nowhere before).
    """
    if pool == stride == 1:
        return dY
    length = Y.shape[axis]
    if out is None:
        out = np.empty(X.shape, dtype=dY.dtype)
    overlapping = stride < pool
    if not (pool == stride and length * stride == X.shape[axis]):
        out.fill(0)  # some pixels are in no window, or in several
    last_target = out[_axis_window(axis, pool - 1, stride, length)]
    remaining = dY
    for offset in range(pool - 1):
        target = out[_axis_window(axis, offset, stride, length)]
        hit = X[_axis_window(axis, offset, stride, length)] == Y
        if overlapping:
            share = remaining * hit
            target += share
            remaining = remaining - share
        else:
            np.multiply(remaining, hit, out=target)
            # The rest of the gradient: into the last offset on the final step.
            dest = last_target if offset == pool - 2 else None
            remaining = np.subtract(remaining, target, out=dest)
    if overlapping:
        last_target += remaining
    elif pool == 1:
        np.copyto(last_target, dY)
    return out


# ---------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------


class MaxPooling2D(Layer):
    """Max pooling over 2-D windows (notes 三.7), as Keras' ``MaxPooling2D``.

    Parameters
    ----------
    pool_size : int or tuple of (int, int), default=2
        Window height and width.
    strides : int, tuple of (int, int) or None, default=None
        Step between windows; None means ``pool_size`` (non-overlapping).
    padding : {'valid', 'same'}, default='valid'
        'same' pads with ``-inf`` so that padding never wins the maximum.

    Input shape
    -----------
    ``(n, height, width, channels)``.

    Output shape
    ------------
    ``(n, out_h, out_w, channels)``, with the sizes of
    :class:`~skdeep.layers.Conv2D`.

    Notes
    -----
    The gradient flows to the first maximum of each window (row-major order),
    as in TensorFlow and PyTorch. Pooling is done separably
    (:func:`max_pool_axis`); each of the ``pool_w + pool_h - 2`` steps is one
    vectorised operation on strided views of the whole batch, and no window
    is copied. Training pools along the width then the height, the order
    backward needs; inference along the height first, whose steps compare
    whole image rows. Above a ``Conv2D``, ``Sequential`` usually runs the
    pair as one :class:`~skdeep.nn.conv_pool.ConvPool`, faster still.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.layers import MaxPooling2D
    >>> pool = MaxPooling2D(2)
    >>> pool.build((4, 4, 1), np.random.default_rng(0))
    (2, 2, 1)
    >>> X = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> pool.forward(X)[0, :, :, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """

    def __init__(self, pool_size=2, strides=None, padding="valid"):
        super().__init__()
        self.pool_size = _pair(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else _pair(strides, "strides")
        self.padding = _check_padding(padding)
        self._strides_arg = strides

    def get_config(self):
        return {
            "pool_size": self.pool_size,
            "strides": self._strides_arg,
            "padding": self.padding,
        }

    def output_bound(self, input_bound):
        return input_bound  # a maximum or a mean of the inputs

    def output_shape(self, input_shape):
        out_h, out_w = _window_output_size(
            self, input_shape, self.pool_size, self.strides, self.padding, "pool size"
        )
        return out_h, out_w, int(input_shape[2])

    def _padded(self, X, workspace):
        """``X`` padded with ``-inf`` (``X`` itself without padding), the
        padding and the output size, in a buffer of the training run
        (``workspace=None``) or of ``workspace``."""
        n, h, w, c = X.shape
        out_h, out_w, _ = self.output_shape(X.shape[1:])
        pads = window_padding((h, w), self.pool_size, self.strides, self.padding)
        (top, bottom), (left, right) = pads
        hp, wp = h + top + bottom, w + left + right
        if (hp, wp) != (h, w):
            Xp = self._buffer("Xp", (n, hp, wp, c), X.dtype, workspace)
            X = pad_images(X, pads, -np.inf, out=Xp)
        return X, pads, (out_h, out_w)

    def forward(self, X, training=False):
        if not training:
            return self.infer(X, {})
        # Scratch arrays reused from batch to batch (Layer._buffer).
        Xp, pads, (out_h, out_w) = self._padded(X, None)
        n, hp, _, c = Xp.shape
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        # Separable: the maxima over columns of each row, then over rows. This
        # order (slower than rows first, see infer) is the one backward needs to
        # route each gradient to the first maximum in row-major order.
        # (max_pool_axis returns its input, not out, for a window of 1.)
        B = self._buffer("B", (n, hp, out_w, c), X.dtype)
        B = max_pool_axis(Xp, 2, pw, sw, out_w, out=B)
        Y = self._buffer("Y", (n, out_h, out_w, c), X.dtype)
        Y = max_pool_axis(B, 1, ph, sh, out_h, out=Y)
        self._cache = (Xp, B, Y, pads)
        return Y

    def infer(self, X, workspace):
        X, _, (out_h, out_w) = self._padded(X, workspace)
        n, _, wp, c = X.shape
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        # Rows first: each step compares whole image rows, runs of wp * c
        # values, and leaves the column step (runs of c values) 1/ph of the data.
        # Notes' CNN, 32x32x16 maps: 0.23 ms against 0.29 ms columns first.
        # (max_pool_axis returns its input, not out, for a window of 1.)
        R = self._buffer("R", (n, out_h, wp, c), X.dtype, workspace)
        R = max_pool_axis(X, 1, ph, sh, out_h, out=R)
        Y = self._buffer("Y", (n, out_h, out_w, c), X.dtype, workspace)
        return max_pool_axis(R, 2, pw, sw, out_w, out=Y)

    def backward(self, dY):
        Xp, B, Y, pads = self._pop_cache()
        if not self.needs_input_grad:
            return None
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        # Rows first, then columns within the chosen row: the gradient reaches
        # the first maximum in row-major order.
        dB = max_pool_axis_backward(
            B, Y, dY, 1, ph, sh, out=self._buffer("dB", B.shape, dY.dtype)
        )
        dXp = max_pool_axis_backward(
            Xp, B, dB, 2, pw, sw, out=self._buffer("dXp", Xp.shape, dY.dtype)
        )
        return crop(dXp, pads)


class GlobalAveragePooling2D(Layer):
    """Average of each feature map (notes 三.7), as Keras' layer of that name.

    Reduces ``(n, h, w, c)`` images to ``(n, c)`` vectors without parameters:
    an extreme form of pooling often used instead of ``Flatten`` before the
    classifier head.

    Input shape
    -----------
    ``(n, height, width, channels)``.

    Output shape
    ------------
    ``(n, channels)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.layers import GlobalAveragePooling2D
    >>> gap = GlobalAveragePooling2D()
    >>> gap.build((2, 2, 3), np.random.default_rng(0))
    (3,)
    >>> gap.forward(np.arange(12.0).reshape(1, 2, 2, 3))
    array([[4.5, 5.5, 6.5]])
    """

    def output_bound(self, input_bound):
        return input_bound  # a maximum or a mean of the inputs

    def output_shape(self, input_shape):
        input_shape = _check_image_shape(self, input_shape)
        return (input_shape[2],)

    def forward(self, X, training=False):
        if not training:
            return self.infer(X, {})
        self._cache = X.shape
        return self.infer(X, None)  # into the layer's training buffer

    def infer(self, X, workspace):
        dtype = X.dtype if X.dtype.kind == "f" else np.float64  # as X.mean() does
        Y = self._buffer("Y", (X.shape[0], X.shape[3]), dtype, workspace)
        return np.mean(X, axis=(1, 2), out=Y)

    def backward(self, dY):
        n, h, w, c = self._pop_cache()
        if not self.needs_input_grad:
            return None
        # Each pixel contributed 1 / (h * w) of its map's mean.
        dX = self._buffer("dX", (n, h, w, c), dY.dtype)
        np.divide(dY[:, None, None, :], h * w, out=dX)
        return dX


__all__ = [
    "GlobalAveragePooling2D",
    "MaxPooling2D",
    "max_pool_axis",
    "max_pool_axis_backward",
]
