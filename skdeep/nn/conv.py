"""Convolution and pooling layers, channels-last as in Keras (notes 三.3-7).

Images are ``(n, height, width, channels)`` arrays. A convolution is computed
as one matrix product: :func:`im2col` lays every receptive field out as a row,
so that ``Conv2D.forward`` is ``cols @ W.reshape(kh * kw * c, filters)``, and
its gradients are two more products, ``dW = cols.T @ dY`` and
``dcols = dY @ W.T``, the second folded back onto the image by :func:`col2im`.

Shapes follow Keras (and the notes' formulas, 三.6): 'valid' gives
``floor((n - k) / s) + 1`` outputs along an axis, 'same' gives ``ceil(n / s)``
and pads ``max(0, (ceil(n / s) - 1) * s + k - n)`` pixels, the odd one at the
bottom / right.
"""

from functools import partial

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .activations import activation_backward, apply_activation, get_activation
from .layers import Layer, check_positive_int

_PADDINGS = ("valid", "same")


# ---------------------------------------------------------------------------
# Pure kernels: shapes, padding, im2col / col2im
# ---------------------------------------------------------------------------


def conv_output_length(n, k, s, padding):
    """Output length along one axis of a window ``k`` sliding by ``s`` over ``n``.

    'valid': ``floor((n - k) / s) + 1`` (may be <= 0: the caller reports it);
    'same': ``ceil(n / s)``.
    """
    if padding == "same":
        return -(-n // s)
    return (n - k) // s + 1


def same_padding(n, k, s):
    """``(before, after)`` padding of 'same' along one axis, as TensorFlow does.

    The total is what makes ``ceil(n / s)`` windows fit; an odd total puts the
    extra pixel after (bottom / right).
    """
    total = max(0, (-(-n // s) - 1) * s + k - n)
    return total // 2, total - total // 2


def window_padding(image_size, window, strides, padding):
    """``((top, bottom), (left, right))`` padding of a window sliding over an image."""
    if padding == "valid":
        return (0, 0), (0, 0)
    (h, w), (kh, kw), (sh, sw) = image_size, window, strides
    return same_padding(h, kh, sh), same_padding(w, kw, sw)


def crop(Xp, pads):
    """Inverse of :func:`pad_images`: the interior view of padded images."""
    (top, bottom), (left, right) = pads
    return Xp[:, top : Xp.shape[1] - bottom, left : Xp.shape[2] - right]


def pad_images(X, pads, value=0.0, out=None):
    """Pad the two spatial axes of ``X`` (n, h, w, c) into a C-contiguous array.

    ``pads`` is ``((top, bottom), (left, right))``. ``out``, if given, is a
    preallocated array of the padded shape. Writing the border and the interior
    into one array is faster than ``np.pad``, which goes through several passes.
    Without padding, ``X`` itself is returned when it is already C-contiguous.
    """
    (top, bottom), (left, right) = pads
    n, h, w, c = X.shape
    if not (top or bottom or left or right):
        return np.ascontiguousarray(X)
    if out is None:
        out = np.empty((n, h + top + bottom, w + left + right, c), dtype=X.dtype)
    # Fill only the border, not the whole array, then copy the image in.
    out[:, :top] = value
    out[:, top + h :] = value
    out[:, top : top + h, :left] = value
    out[:, top : top + h, left + w :] = value
    out[:, top : top + h, left : left + w] = X
    return out


def window_view(Xp, kernel_size, strides, out_size):
    """Read-only view ``(n, out_h, out_w, kh, kw * c)`` of every window of ``Xp``.

    ``Xp`` is a C-contiguous ``(n, hp, wp, c)`` array. In memory a window row
    ``Xp[i, y, x : x + kw, :]`` is ``kw * c`` consecutive values, so the ``kw``
    and ``c`` axes merge into one axis of unit stride, and copying the view
    moves contiguous runs of ``kw * c`` values rather than ``c`` values.
    """
    n, _, _, c = Xp.shape
    kh, kw = kernel_size
    sh, sw = strides
    out_h, out_w = out_size
    stride_n, stride_h, stride_w, stride_c = Xp.strides
    return as_strided(
        Xp,
        shape=(n, out_h, out_w, kh, kw * c),
        # Window (y, x) starts at pixel (y * sh, x * sw); inside it, rows are
        # stride_h apart and the merged (kw, c) axis steps one value at a time.
        strides=(stride_n, stride_h * sh, stride_w * sw, stride_h, stride_c),
        writeable=False,
    )


def im2col(Xp, kernel_size, strides, out_size, out=None):
    """Lay out every receptive field of ``Xp`` as one row.

    Parameters
    ----------
    Xp : ndarray of shape (n, hp, wp, c)
        C-contiguous images, already padded.
    kernel_size, strides, out_size : tuple of (int, int)
        ``(kh, kw)``, ``(sh, sw)`` and ``(out_h, out_w)``.
    out : ndarray of shape (n * out_h * out_w, kh * kw * c), optional
        Preallocated C-contiguous result.

    Returns
    -------
    cols : ndarray of shape (n * out_h * out_w, kh * kw * c)
        Row ``(i * out_h + y) * out_w + x`` is the window of output pixel
        ``(y, x)`` of image ``i``, flattened in ``(kh, kw, c)`` order: the order
        of ``W.reshape(kh * kw * c, filters)`` for a Keras kernel ``W`` of
        shape ``(kh, kw, c, filters)``.
    """
    n, _, _, c = Xp.shape
    kh, kw = kernel_size
    out_h, out_w = out_size
    windows = window_view(Xp, kernel_size, strides, out_size)
    if out is None:
        # (n, out_h, out_w, kh, kw * c) view -> one copy into the 2-D matrix.
        return windows.reshape(n * out_h * out_w, kh * kw * c)
    out.reshape(windows.shape)[...] = windows
    return out


def col2im(cols, padded_shape, kernel_size, strides, out_size, out=None):
    """Adjoint of :func:`im2col`: sum every row back onto the pixels it came from.

    Parameters
    ----------
    cols : ndarray of shape (n * out_h * out_w, kh * kw * c)
    padded_shape : tuple (n, hp, wp, c)
        Shape of the padded images given to :func:`im2col`.
    kernel_size, strides, out_size : tuple of (int, int)
    out : ndarray of shape padded_shape, optional
        Preallocated result (overwritten).

    Returns
    -------
    dXp : ndarray of shape padded_shape

    Notes
    -----
    Windows overlap when a stride is smaller than the kernel, so values must be
    accumulated. The loop runs over the ``kh * kw`` kernel offsets (4 or 9 in
    practice), each step adding a whole ``(n, out_h, out_w, c)`` block to a
    strided slice. It is the fastest way measured (second layer of the notes'
    CNN, batch 32: 1.0 ms, against 1.3 ms for ``np.add.at`` and 2.2 ms for a
    ``np.bincount`` scatter), and needs no index array.
    """
    n, hp, wp, c = padded_shape
    kh, kw = kernel_size
    sh, sw = strides
    out_h, out_w = out_size
    # Row (i, y, x), column (u, v, ch) -> pixel (i, y * sh + u, x * sw + v, ch).
    blocks = cols.reshape(n, out_h, out_w, kh, kw, c)
    if (sh, sw) == (kh, kw) and (hp, wp) == (out_h * kh, out_w * kw):
        # Windows tile the image exactly: a transpose-copy, no accumulation.
        dXp = np.empty(padded_shape, dtype=cols.dtype) if out is None else out
        dXp.reshape(n, out_h, kh, out_w, kw, c)[...] = blocks.transpose(
            0, 1, 3, 2, 4, 5
        )
        return dXp
    if out is None:
        dXp = np.zeros(padded_shape, dtype=cols.dtype)
    else:
        dXp = out
        dXp.fill(0)
    for u in range(kh):
        for v in range(kw):
            target = dXp[:, u : u + sh * out_h : sh, v : v + sw * out_w : sw, :]
            target += blocks[:, :, :, u, v, :]
    return dXp


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
    if out is None:
        out = first.copy()
    else:
        np.copyto(out, first)
    for offset in range(1, pool):
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


def _pair(value, name):
    """An int or a pair of ints -> a pair of positive ints (Keras' convention)."""
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise ValueError(
                f"`{name}` must be a positive integer or a tuple of 2 positive "
                f"integers; received {name}={value!r}."
            )
        try:
            return tuple(check_positive_int(v, name) for v in value)
        except ValueError:
            raise ValueError(
                f"`{name}` must be a positive integer or a tuple of 2 positive "
                f"integers; received {name}={value!r}."
            ) from None
    value = check_positive_int(value, name)
    return value, value


def _check_padding(padding):
    if not isinstance(padding, str) or padding.lower() not in _PADDINGS:
        raise ValueError(
            f"`padding` must be 'valid' or 'same'; received padding={padding!r}."
        )
    return padding.lower()


def _check_image_shape(layer, input_shape):
    if len(input_shape) != 3:
        raise ValueError(
            f"{type(layer).__name__} expects images of shape (height, width, "
            f"channels); received input_shape={tuple(input_shape)!r}."
        )
    return tuple(int(d) for d in input_shape)


def _window_output_size(layer, input_shape, window, strides, padding, what):
    """Output (out_h, out_w) of a sliding window; ValueError if it does not fit."""
    h, w, _ = input_shape
    out_h = conv_output_length(h, window[0], strides[0], padding)
    out_w = conv_output_length(w, window[1], strides[1], padding)
    if out_h <= 0 or out_w <= 0:
        raise ValueError(
            f"{type(layer).__name__}: the {what} {window[0]}x{window[1]} is larger "
            f"than the {h}x{w} input (padding={padding!r}); use a smaller "
            f"{what}, padding='same', or larger images."
        )
    return out_h, out_w


# ---------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------


class Conv2D(Layer):
    """2-D convolution layer (notes 三.3-6), channels-last as Keras' ``Conv2D``.

    Parameters
    ----------
    filters : int
        Number of filters ``K``: the depth of the output.
    kernel_size : int or tuple of (int, int)
        Height and width ``F`` of each filter.
    strides : int or tuple of (int, int), default=1
        Step ``S`` between two windows.
    padding : {'valid', 'same'}, default='valid'
        'valid' uses only complete windows; 'same' pads with zeros so that the
        output has ``ceil(H / S)`` rows (the odd padding row or column goes at
        the bottom / right, as in Keras).
    activation : str or None, default=None
        Name of the activation applied to the output ('relu', 'tanh', ...).
        None means linear.

    Attributes
    ----------
    params : dict
        ``'W'`` of shape ``(kh, kw, c_in, filters)`` (glorot-uniform) and
        ``'b'`` of shape ``(filters,)`` (zeros), once built: ``K*F*F*D_in + K``
        parameters.
    grads : dict
        Their gradients, same shapes.

    Input shape
    -----------
    ``(n, height, width, channels)``.

    Output shape
    ------------
    ``(n, out_h, out_w, filters)``; ``out = floor((H - F) / S) + 1`` for
    'valid', ``ceil(H / S)`` for 'same'.

    See Also
    --------
    MaxPooling2D, GlobalAveragePooling2D

    Examples
    --------
    The notes' example (三.6): 16 filters of 2x2 with stride 2 on 200x200 grey
    images.

    >>> import numpy as np
    >>> from skdeep.nn.conv import Conv2D
    >>> layer = Conv2D(16, 2, strides=2, activation="relu")
    >>> layer.build((200, 200, 1), np.random.default_rng(0))
    (100, 100, 16)
    >>> layer.n_params
    80
    >>> layer.forward(np.ones((3, 200, 200, 1), dtype=np.float32)).shape
    (3, 100, 100, 16)
    """

    def __init__(
        self, filters, kernel_size, strides=1, padding="valid", activation=None
    ):
        super().__init__()
        self.filters = check_positive_int(filters, "filters")
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.strides = _pair(strides, "strides")
        self.padding = _check_padding(padding)
        self.activation = activation
        get_activation(activation)  # refuse an unknown name now, not in fit

    def get_config(self):
        return {
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "activation": self.activation,
        }

    def output_shape(self, input_shape):
        input_shape = _check_image_shape(self, input_shape)
        out_h, out_w = _window_output_size(
            self, input_shape, self.kernel_size, self.strides, self.padding, "kernel"
        )
        return out_h, out_w, self.filters

    def build(self, input_shape, rng, dtype=np.float32):
        if rng is None:
            raise ValueError(
                "Conv2D.build needs a numpy.random.Generator to initialise its "
                "weights; received rng=None."
            )
        output_shape = super().build(input_shape, rng, dtype)
        _, _, c = self.input_shape_
        kh, kw = self.kernel_size
        # Glorot uniform with Keras' fans: each output unit sees kh*kw*c inputs
        # and each input unit feeds kh*kw*filters outputs.
        fan_in, fan_out = kh * kw * c, kh * kw * self.filters
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        W = rng.uniform(-limit, limit, size=(kh, kw, c, self.filters))
        self.params = {
            "W": W.astype(dtype),
            "b": np.zeros(self.filters, dtype=dtype),
        }
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self._cache = None
        return output_shape

    def scratch_size(self, input_shape):
        # Inference holds the im2col windows: kh*kw*c values per output pixel.
        out_h, out_w, filters = self.output_shape(input_shape)
        kh, kw = self.kernel_size
        return out_h * out_w * max(kh * kw * input_shape[2], filters)

    def forward(self, X, training=False):
        self._check_input(X, 4, self.params["W"].shape[2])
        if X.shape[1:] != tuple(self.input_shape_):
            raise ValueError(
                f"Conv2D was built for images of shape {self.input_shape_} "
                f"(height, width, channels); received X of shape {X.shape}, "
                f"i.e. images of shape {X.shape[1:]}."
            )
        n, h, w, c = X.shape
        out_h, out_w, filters = self.output_shape(X.shape[1:])
        kh, kw = self.kernel_size
        W, b = self.params["W"], self.params["b"]
        pads = window_padding((h, w), self.kernel_size, self.strides, self.padding)
        (top, bottom), (left, right) = pads
        padded_shape = (n, h + top + bottom, w + left + right, c)
        n_rows, n_cols = n * out_h * out_w, kh * kw * c
        if training:
            # Scratch arrays reused from batch to batch (Layer._buffer).
            Xp = pad_images(X, pads, out=self._buffer("Xp", padded_shape, X.dtype))
            cols = self._buffer("cols", (n_rows, n_cols), X.dtype)
            im2col(Xp, self.kernel_size, self.strides, (out_h, out_w), out=cols)
            Z = self._buffer("Z", (n_rows, filters), W.dtype)
            # One GEMM: (n*out_h*out_w, kh*kw*c) @ (kh*kw*c, filters).
            np.matmul(cols, W.reshape(n_cols, filters), out=Z)
        else:
            cols = im2col(pad_images(X, pads), self.kernel_size, self.strides,
                          (out_h, out_w))  # fmt: skip
            Z = cols @ W.reshape(n_cols, filters)
            del cols  # inference keeps nothing: free the windows at once
        Z += b
        Z = Z.reshape(n, out_h, out_w, filters)
        Y = apply_activation(self.activation, Z)
        self._cache = (cols, padded_shape, pads, Z, Y) if training else None
        return Y

    def backward(self, dY):
        cols, padded_shape, pads, Z, Y = self._pop_cache()
        self._cache = None
        n, out_h, out_w, filters = Y.shape
        dZ = activation_backward(
            self.activation, Z, Y, dY, buffer=partial(self._buffer, "dZ")
        )
        dZ = dZ.reshape(-1, filters)  # (n*out_h*out_w, filters): the rows of cols
        if self.trainable:
            # dW = cols.T @ dZ, written into the (kh*kw*c, filters) view of grads.
            np.matmul(cols.T, dZ, out=self.grads["W"].reshape(-1, filters))
            # db sums dZ over its rows. Summing (n*out_h, out_w*filters) rows
            # first keeps numpy's reduction vectorised along long rows: several
            # times faster than the column sums of a tall, narrow matrix.
            row_sums = np.sum(dZ.reshape(n * out_h, out_w * filters), axis=0)
            np.sum(row_sums.reshape(out_w, filters), axis=0, out=self.grads["b"])
        if not self.needs_input_grad:
            return None
        # dcols = dZ @ W.T, then fold the windows back onto the padded image.
        dcols = self._buffer("dcols", cols.shape, dZ.dtype)
        np.matmul(dZ, self.params["W"].reshape(-1, filters).T, out=dcols)
        dXp = self._buffer("dXp", padded_shape, dZ.dtype)
        col2im(dcols, padded_shape, self.kernel_size, self.strides, (out_h, out_w),
               out=dXp)  # fmt: skip
        return crop(dXp, pads)


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
    ``(n, out_h, out_w, channels)``, with the sizes of :class:`Conv2D`.

    Notes
    -----
    The gradient flows to the first maximum of each window (row-major order),
    as in TensorFlow and PyTorch. Pooling is done separably, along the width
    then the height (:func:`max_pool_axis`); each of the ``pool_w + pool_h``
    steps is one vectorised operation on strided views of the whole batch, and
    no window is copied.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.nn.conv import MaxPooling2D
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

    def output_shape(self, input_shape):
        input_shape = _check_image_shape(self, input_shape)
        out_h, out_w = _window_output_size(
            self, input_shape, self.pool_size, self.strides, self.padding, "pool size"
        )
        return out_h, out_w, input_shape[2]

    def forward(self, X, training=False):
        n, h, w, c = X.shape
        out_h, out_w, _ = self.output_shape(X.shape[1:])
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        pads = window_padding((h, w), self.pool_size, self.strides, self.padding)
        (top, bottom), (left, right) = pads
        hp, wp = h + top + bottom, w + left + right
        if training:
            # Scratch arrays reused from batch to batch (Layer._buffer).
            Xp = pad_images(
                X, pads, -np.inf, self._buffer("Xp", (n, hp, wp, c), X.dtype)
            )
            B = self._buffer("B", (n, hp, out_w, c), X.dtype)
            Y = self._buffer("Y", (n, out_h, out_w, c), X.dtype)
        else:
            Xp = pad_images(X, pads, value=-np.inf)
            B = Y = None
        # Separable: the maxima over columns of each row, then over rows.
        B = max_pool_axis(Xp, 2, pw, sw, out_w, out=B)
        Y = max_pool_axis(B, 1, ph, sh, out_h, out=Y)
        self._cache = (Xp, B, Y, pads) if training else None
        return Y

    def backward(self, dY):
        Xp, B, Y, pads = self._pop_cache()
        self._cache = None
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
    >>> from skdeep.nn.conv import GlobalAveragePooling2D
    >>> gap = GlobalAveragePooling2D()
    >>> gap.build((2, 2, 3), np.random.default_rng(0))
    (3,)
    >>> gap.forward(np.arange(12.0).reshape(1, 2, 2, 3))
    array([[4.5, 5.5, 6.5]])
    """

    def output_shape(self, input_shape):
        input_shape = _check_image_shape(self, input_shape)
        return (input_shape[2],)

    def forward(self, X, training=False):
        self._cache = X.shape if training else None
        return X.mean(axis=(1, 2))

    def backward(self, dY):
        n, h, w, c = self._pop_cache()
        self._cache = None
        if not self.needs_input_grad:
            return None
        # Each pixel contributed 1 / (h * w) of its map's mean.
        dX = self._buffer("dX", (n, h, w, c), dY.dtype)
        np.divide(dY[:, None, None, :], h * w, out=dX)
        return dX
