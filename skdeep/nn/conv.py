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

:class:`ConvPool` runs a ``Conv2D`` and the ``MaxPooling2D`` above it as one
step (``Sequential`` uses it whenever it can): the same result in fewer, longer
passes over the data.
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


# A window row of at most this many bytes is copied as one opaque item (see
# :func:`im2col`); longer rows copy faster as runs of numbers.
_RUN_COPY_MAX_BYTES = 64


class _ArrayInterface:
    """An ``__array_interface__`` holder: how ``as_strided`` builds its views."""

    def __init__(self, interface, base):
        self.__array_interface__ = interface
        self.base = base  # keeps the memory alive


def _runs_view(A, run_bytes, shape, strides):
    """View of ``A``'s memory as opaque ``run_bytes``-byte items at ``strides``."""
    interface = dict(A.__array_interface__)
    interface.update(
        shape=tuple(shape),
        strides=tuple(strides),
        typestr=f"|V{run_bytes}",
        descr=[("", f"|V{run_bytes}")],
    )
    return np.asarray(_ArrayInterface(interface, A))


def im2col(Xp, kernel_size, strides, out_size, out=None):
    """Lay out every receptive field of ``Xp`` as one row.

    Parameters
    ----------
    Xp : ndarray of shape (n, hp, wp, c)
        C-contiguous images, already padded.
    kernel_size, strides, out_size : tuple of (int, int)
        ``(kh, kw)``, ``(sh, sw)`` and ``(out_h, out_w)``.
    out : ndarray of shape (n * out_h * out_w, kh * kw * c), optional
        Preallocated result of ``Xp``'s dtype. Its rows may be strided (e.g.
        the first ``kh * kw * c`` columns of a wider array); its columns must
        be contiguous.

    Returns
    -------
    cols : ndarray of shape (n * out_h * out_w, kh * kw * c)
        Row ``(i * out_h + y) * out_w + x`` is the window of output pixel
        ``(y, x)`` of image ``i``, flattened in ``(kh, kw, c)`` order: the order
        of ``W.reshape(kh * kw * c, filters)`` for a Keras kernel ``W`` of
        shape ``(kh, kw, c, filters)``.

    Notes
    -----
    A window is ``kh`` rows of ``kw * c`` consecutive values of ``Xp`` (see
    :func:`window_view`). Copied as numbers, the innermost loop runs over
    those ``kw * c`` values, and for few channels the loop overhead dominates:
    6 values per step for a 2x2 kernel on RGB images. When a window row is
    short (at most 64 bytes) it is instead copied as one opaque item, one
    kernel row ``u`` at a time, so that the innermost loop runs along the
    ``out_w`` windows of an image row. First layer of the notes' CNN (2x2
    kernel, 3 channels, 32 images of 32x32, float32): 110 us against 360 us.
    Beyond about 96 bytes per row the number copy is faster (16 channels,
    2x2: 96 us against 153 us).
    """
    n, _, _, c = Xp.shape
    kh, kw = kernel_size
    sh, sw = strides
    out_h, out_w = out_size
    if out is None:
        out = np.empty((n * out_h * out_w, kh * kw * c), dtype=Xp.dtype)
    stride_n, stride_h, stride_w, _ = Xp.strides
    # Window (i, y, x) starts at pixel (y * sh, x * sw) of image i.
    origins = (stride_n, stride_h * sh, stride_w * sw)
    return _gather_windows(Xp, kernel_size, (n, out_h, out_w), origins, out)


def _gather_windows(Xp, kernel_size, grid_shape, grid_strides, out):
    """Copy the window of ``Xp`` at each point of a grid of origins into a row.

    ``grid_strides`` are the byte strides in ``Xp`` of the window origin along
    each axis of ``grid_shape``; the rows of ``out`` follow the grid in C
    order. :func:`im2col` uses the grid of output pixels ``(n, out_h,
    out_w)``; :class:`ConvPool` a grid that groups the pixels by pooling
    window offset.
    """
    kh, kw = kernel_size
    c = Xp.shape[3]
    row_stride, item = out.strides
    # Byte strides of out's rows along the grid axes (C order of grid_shape).
    row_strides = tuple(
        row_stride * int(np.prod(grid_shape[axis + 1 :]))
        for axis in range(len(grid_shape))
    )
    stride_h, stride_c = Xp.strides[1], Xp.strides[3]
    run_bytes = kw * c * Xp.itemsize
    if run_bytes <= _RUN_COPY_MAX_BYTES and item == Xp.itemsize:
        # Items of kw*c values: kernel row u of a window starts u image rows
        # below its origin, and at column u * kw * c of its row of out.
        shape = (*grid_shape, kh)
        src = _runs_view(Xp, run_bytes, shape, (*grid_strides, stride_h))
        dst = _runs_view(out, run_bytes, shape, (*row_strides, run_bytes))
        for u in range(kh):
            dst[..., u] = src[..., u]
        return out
    # (..., kh, kw * c) views of the windows and of out's rows (window_view's
    # layout: the kw and c axes of a window row are one contiguous axis).
    shape = (*grid_shape, kh, kw * c)
    src = as_strided(Xp, shape, (*grid_strides, stride_h, stride_c), writeable=False)
    dst = as_strided(out, shape, (*row_strides, kw * c * item, item))
    dst[...] = src
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

    Notes
    -----
    Forward is one GEMM: the im2col windows, with a column of ones appended,
    times ``W.reshape(kh * kw * c, filters)`` with ``b`` as its last row. The
    bias costs no pass of its own (notes' CNN, first layer, batch 32: 0.17
    ms for ``Z += b`` saved, against +6% on a GEMM with 12 columns), and
    backward's ``[dW; db] = [cols, 1].T @ dZ`` gives both gradients in one
    product. For unit strides ``dX`` is computed one kernel offset at a time
    (see ``_input_gradient_by_offsets``); otherwise as ``dZ @ W.T`` folded by
    :func:`col2im`.

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

    def multiply_adds(self, input_shape):
        # The kernel and bias at every output pixel.
        out_h, out_w, _ = self.output_shape(input_shape)
        return out_h * out_w * self.n_params

    def forward(self, X, training=False):
        if not training:
            return self.infer(X, {})
        Z, cols, padded_shape, pads = self._pre_activation(X, None)
        Z = Z.reshape(X.shape[0], *self.output_shape(X.shape[1:]))
        Y = apply_activation(self.activation, Z)
        self._cache = (cols, padded_shape, pads, Z, Y)
        return Y

    def infer(self, X, workspace):
        Z = self._pre_activation(X, workspace)[0]
        Z = Z.reshape(X.shape[0], *self.output_shape(X.shape[1:]))
        return apply_activation(self.activation, Z, overwrite=True)

    def _pre_activation(self, X, workspace, pool=None):
        """``Z = conv(X, W) + b`` as one GEMM, in buffers of the training run
        (``workspace=None``) or of ``workspace``.

        Returns ``Z`` (one row per output pixel, one column per filter), the
        windows with their column of ones, the padded shape and the padding.
        The rows follow the output pixels ``(n, out_h, out_w)`` or, with
        ``pool=(ph, pw)`` (for :class:`ConvPool`), ``(n, ph, pw, out_h // ph,
        out_w // pw)``: pixel ``(y2 * ph + py, x2 * pw + px)``, grouped by its
        offset ``(py, px)`` in its pooling window, and only the pixels a
        'valid' pooling reads.
        """
        W, b = self.params["W"], self.params["b"]
        self._check_input(X, 4, W.shape[2])
        if X.shape[1:] != tuple(self.input_shape_):
            raise ValueError(
                f"Conv2D was built for images of shape {self.input_shape_} "
                f"(height, width, channels); received X of shape {X.shape}, "
                f"i.e. images of shape {X.shape[1:]}."
            )
        n, h, w, c = X.shape
        out_h, out_w, filters = self.output_shape(X.shape[1:])
        kh, kw = self.kernel_size
        sh, sw = self.strides
        # In X's type if it is wider than the weights' (as numpy would promote).
        dtype = np.result_type(X.dtype, W.dtype)
        X = X.astype(dtype, copy=False)
        pads = window_padding((h, w), self.kernel_size, self.strides, self.padding)
        (top, bottom), (left, right) = pads
        padded_shape = (n, h + top + bottom, w + left + right, c)
        padded = padded_shape != X.shape
        Xp = pad_images(X, pads, out=self._buffer("Xp", padded_shape, dtype, workspace)
                        if padded else None)  # fmt: skip
        stride_n, stride_h, stride_w, _ = Xp.strides
        if pool is None:
            grid = (n, out_h, out_w)
            origins = (stride_n, stride_h * sh, stride_w * sw)
        else:
            ph, pw = pool
            grid = (n, ph, pw, out_h // ph, out_w // pw)
            origins = (stride_n, stride_h * sh, stride_w * sw,
                       stride_h * sh * ph, stride_w * sw * pw)  # fmt: skip
        n_rows, n_cols = int(np.prod(grid)), kh * kw * c
        # The windows and a column of ones, against W with b as its last row:
        # one GEMM adds the bias, and in backward the same product of the
        # windows with dZ gives dW and db together.
        cols = self._buffer("cols", (n_rows, n_cols + 1), dtype, workspace,
                            init=_ones_in_last_column)  # fmt: skip
        _gather_windows(Xp, self.kernel_size, grid, origins, cols[:, :n_cols])
        Wb = self._buffer("Wb", (n_cols + 1, filters), dtype, workspace)
        Wb[:n_cols] = W.reshape(n_cols, filters)
        Wb[n_cols] = b
        Z = self._buffer("Z", (n_rows, filters), dtype, workspace)
        # (n_rows, kh*kw*c + 1) @ (kh*kw*c + 1, filters)
        np.matmul(cols, Wb, out=Z)
        return Z, cols, padded_shape, pads

    def _weight_gradients(self, cols, dZ):
        """``[dW; db] = [cols, 1].T @ dZ``: the column of ones sums dZ's rows."""
        n_cols, filters = cols.shape[1] - 1, dZ.shape[1]
        dWb = self._buffer("dWb", (n_cols + 1, filters), dZ.dtype)
        # np.dot rather than np.matmul: as fast, and it releases the GIL for
        # this shape (few columns, many rows), where numpy 2.4's matmul keeps
        # it: two trainer parts' products then run side by side (1.9x on 2
        # cores for 16 images of 32x32x3, against 0.9x with matmul).
        np.dot(cols.T, dZ, out=dWb)
        self.grads["W"].reshape(n_cols, filters)[...] = dWb[:n_cols]
        self.grads["b"][...] = dWb[n_cols]

    def backward(self, dY):
        cols, padded_shape, pads, Z, Y = self._pop_cache()
        filters = Y.shape[3]
        dZ = activation_backward(
            self.activation, Z, Y, dY, buffer=partial(self._buffer, "dZ")
        )
        dZ = dZ.reshape(-1, filters)  # (n*out_h*out_w, filters): the rows of cols
        if self.trainable:
            self._weight_gradients(cols, dZ)
        if not self.needs_input_grad:
            return None
        return self._input_gradient(dZ, padded_shape, pads, Y.shape[1:3])

    def _input_gradient(self, dZ, padded_shape, pads, out_size):
        """``dX`` from ``dZ`` (n*out_h*out_w, filters), rows in image order."""
        if self.strides == (1, 1):
            return self._input_gradient_by_offsets(dZ, padded_shape, pads)
        # dcols = dZ @ W.T, then fold the windows back onto the padded image.
        n_cols = int(np.prod(self.params["W"].shape[:3]))
        dcols = self._buffer("dcols", (dZ.shape[0], n_cols), dZ.dtype)
        np.matmul(dZ, self.params["W"].reshape(n_cols, -1).T, out=dcols)
        dXp = self._buffer("dXp", padded_shape, dZ.dtype)
        col2im(dcols, padded_shape, self.kernel_size, self.strides, out_size, out=dXp)
        return crop(dXp, pads)

    def _input_gradient_by_offsets(self, dZ, padded_shape, pads):
        """``dX`` of a stride-1 convolution, one kernel offset at a time.

        Offset ``(u, v)`` sends output pixel ``(y, x)`` the input pixel
        ``(y + u - top, x + v - left)``, so its share of ``dX`` is ``dZ @
        W[u, v].T`` shifted by ``(u - top, v - left)``. Each share is one GEMM
        and one addition of whole image rows (``w * c`` contiguous values) into
        ``dX``, where :func:`col2im` adds windows ``c`` values at a time. Second
        layer of the notes' CNN (16x16x16 images, batch 32): 0.58 ms against
        0.91 ms for ``dcols = dZ @ W.T`` and col2im.
        """
        n, hp, wp, c = padded_shape
        (top, bottom), (left, right) = pads
        h, w = hp - top - bottom, wp - left - right
        kh, kw = self.kernel_size
        out_h, out_w = hp - kh + 1, wp - kw + 1
        W = self.params["W"]
        dX = self._buffer("dX", (n, h, w, c), dZ.dtype)
        share = self._buffer("share", (dZ.shape[0], c), dZ.dtype)
        shares = share.reshape(n, out_h, out_w, c)
        # Offsets in the order (top, left) first: with 'same' padding its share
        # covers every pixel of dX and is assigned rather than added.
        offsets = sorted(np.ndindex(kh, kw), key=lambda uv: uv != (top, left))
        for k, (u, v) in enumerate(offsets):
            # Output rows y with 0 <= y + u - top < h, and the same for columns.
            y0, y1 = max(0, top - u), min(out_h, h + top - u)
            x0, x1 = max(0, left - v), min(out_w, w + left - v)
            target = dX[:, y0 + u - top : y1 + u - top, x0 + v - left : x1 + v - left]
            np.matmul(dZ, W[u, v].T, out=share)
            if k == 0:
                if target.shape != dX.shape:
                    dX.fill(0)
                    target += shares[:, y0:y1, x0:x1]
                else:
                    target[...] = shares[:, y0:y1, x0:x1]
            else:
                target += shares[:, y0:y1, x0:x1]
        return dX


def _ones_in_last_column(cols):
    cols[:, -1] = 1


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
    as in TensorFlow and PyTorch. Pooling is done separably
    (:func:`max_pool_axis`); each of the ``pool_w + pool_h - 2`` steps is one
    vectorised operation on strided views of the whole batch, and no window
    is copied. Training pools along the width then the height, the order
    backward needs; inference along the height first, whose steps compare
    whole image rows. Above a ``Conv2D``, ``Sequential`` usually runs the
    pair as one :class:`ConvPool`, faster still.

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
        if not training:
            return self.infer(X, {})
        n, h, w, c = X.shape
        out_h, out_w, _ = self.output_shape(X.shape[1:])
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        pads = window_padding((h, w), self.pool_size, self.strides, self.padding)
        (top, bottom), (left, right) = pads
        hp, wp = h + top + bottom, w + left + right
        # Scratch arrays reused from batch to batch (Layer._buffer).
        Xp = X
        if (hp, wp) != (h, w):
            Xp = self._buffer("Xp", (n, hp, wp, c), X.dtype)
            pad_images(X, pads, -np.inf, out=Xp)
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
        n, h, w, c = X.shape
        out_h, out_w, _ = self.output_shape(X.shape[1:])
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        pads = window_padding((h, w), self.pool_size, self.strides, self.padding)
        (top, bottom), (left, right) = pads
        hp, wp = h + top + bottom, w + left + right
        if (hp, wp) != (h, w):
            Xp = self._buffer("Xp", (n, hp, wp, c), X.dtype, workspace)
            X = pad_images(X, pads, -np.inf, out=Xp)
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


# ---------------------------------------------------------------------------
# A convolution and its pooling, run as one step
# ---------------------------------------------------------------------------

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

    - The im2col rows are grouped by offset in the pooling window
      (:meth:`Conv2D._pre_activation` with ``pool``): for 2x2 pooling, the
      GEMM output is four blocks, the top-left pixels of every window, then
      the top-right ones, and so on. The pooling is then the element-wise
      maximum of the blocks, whole contiguous arrays, where
      :class:`MaxPooling2D` steps through the image's pixels ``c`` values at
      a time. Pixels a 'valid' pooling drops are never computed.
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

    def _pooled(self, X, workspace):
        """Pre-activation maxima (n, out_h // ph, out_w // pw, filters), and
        what backward needs."""
        conv = self.conv
        ph, pw = self.pool.pool_size
        Z, cols, padded_shape, pads = conv._pre_activation(X, workspace, (ph, pw))
        n, filters = X.shape[0], Z.shape[1]
        out_h, out_w, _ = conv.output_shape(X.shape[1:])
        pooled_shape = (n, out_h // ph, out_w // pw, filters)
        # (n, window offset, pixels of the pooled map * filters)
        blocks = Z.reshape(n, ph * pw, -1)
        Pz = conv._buffer("pooled", pooled_shape, Z.dtype, workspace)
        flat = Pz.reshape(n, -1)
        np.maximum(blocks[:, 0], blocks[:, 1], out=flat)
        for k in range(2, ph * pw):
            np.maximum(flat, blocks[:, k], out=flat)
        return Pz, Z, cols, padded_shape, pads

    def infer(self, X, workspace):
        Pz = self._pooled(X, workspace)[0]
        return apply_activation(self.conv.activation, Pz, overwrite=True)

    def forward(self, X, training=True):
        if not training:
            return self.infer(X, {})
        Pz, Z, cols, padded_shape, pads = self._pooled(X, None)
        P = Pz
        if self.conv.activation == "relu":
            P = self.conv._buffer("pooled_relu", Pz.shape, Pz.dtype)
            np.maximum(Pz, 0, out=P)
        self._cache = (Pz, P, Z, cols, padded_shape, pads, X.shape)
        return P

    def backward(self, dP):
        cache, self._cache = self._cache, None
        if cache is None:
            raise RuntimeError(
                "ConvPool.backward called without a preceding "
                "forward(X, training=True)."
            )
        Pz, P, Z, cols, padded_shape, pads, input_shape = cache
        conv = self.conv
        n, out_h2, out_w2, filters = P.shape
        ph, pw = self.pool.pool_size
        n_offsets = ph * pw
        # The part of dP not routed yet, through the activation first.
        remaining = conv._buffer("remaining", (n, out_h2 * out_w2 * filters), dP.dtype)
        if conv.activation == "relu":
            np.greater(P.reshape(n, -1), 0, out=remaining)
            remaining *= dP.reshape(n, -1)
        else:
            np.copyto(remaining, dP.reshape(n, -1))
        dZ = conv._buffer("dZ", Z.shape, dP.dtype)
        blocks, dblocks = Z.reshape(n, n_offsets, -1), dZ.reshape(n, n_offsets, -1)
        # A boolean mask: np.equal writes it twice as fast as numbers.
        hit = conv._buffer("pool_hit", remaining.shape, np.bool_)
        flat = Pz.reshape(n, -1)
        # Offset k (row-major in the window) takes what remains where it holds
        # the maximum; the last offset takes the rest.
        for k in range(n_offsets - 1):
            np.equal(blocks[:, k], flat, out=hit)
            np.multiply(remaining, hit, out=dblocks[:, k])
            remaining -= dblocks[:, k]
        dblocks[:, n_offsets - 1] = remaining
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
        for k, (py, px) in enumerate(np.ndindex(ph, pw)):
            windows[:, :, py, :, px] = dblocks[:, k].reshape(n, out_h2, out_w2, filters)
        return conv._input_gradient(
            dZ_image.reshape(-1, filters), padded_shape, pads, (out_h, out_w)
        )

    def release(self):
        self._cache = None
