"""Sliding windows over channels-last images: the pure kernels of the conv layers.

Images are ``(n, height, width, channels)`` arrays, as in Keras (notes 三.3-7).
Everything here is a function of arrays and sizes, with no layer state:

- the output size and the padding of a window sliding over an image. Shapes
  follow Keras (and the notes' formulas, 三.6): 'valid' gives
  ``floor((n - k) / s) + 1`` outputs along an axis, 'same' gives
  ``ceil(n / s)`` and pads ``max(0, (ceil(n / s) - 1) * s + k - n)`` pixels,
  the odd one at the bottom / right;
- :func:`pad_images`, :func:`crop`, :func:`window_view`;
- :func:`im2col`, which lays every receptive field out as a row so that a
  convolution is one matrix product, and its adjoint :func:`col2im`;
- the checks of the window arguments (``kernel_size``, ``pool_size``,
  ``strides``, ``padding``, the input shape) that
  :class:`~skdeep.layers.Conv2D`, :class:`~skdeep.layers.LocallyConnected2D`
  and :class:`~skdeep.layers.MaxPooling2D` share, so that the three word their
  errors alike.
"""

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .layers import check_positive_int

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
    out_w)``; ``Conv2D._pooled_pre_activation`` (for
    :class:`~skdeep.nn.conv_pool.ConvPool`) the pixels at one offset of every
    pooling window, from a view of ``Xp`` that starts at that offset. ``Xp``
    may be such a view: only its strides and its first element are used.
    """
    for target, source in window_copies(Xp, kernel_size, grid_shape, grid_strides, out):
        target[...] = source
    return out


def window_copies(Xp, kernel_size, grid_shape, grid_strides, out):
    """The ``(target, source)`` views whose copies ``target[...] = source``
    make :func:`_gather_windows`' copy (same arguments).

    Building the views costs more than copying a small batch's windows (a
    few microseconds per view): a caller that gathers from the same buffers
    batch after batch keeps them (``Conv2D`` does, see ``Layer._derived``).
    """
    kh, kw = kernel_size
    c = Xp.shape[3]
    row_stride, item = out.strides
    # Byte strides of out's rows along the grid axes (C order of grid_shape).
    row_strides = tuple(
        row_stride * math.prod(grid_shape[axis + 1 :])
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
        return [(dst[..., u], src[..., u]) for u in range(kh)]
    # (..., kh, kw * c) views of the windows and of out's rows (window_view's
    # layout: the kw and c axes of a window row are one contiguous axis).
    shape = (*grid_shape, kh, kw * c)
    src = as_strided(Xp, shape, (*grid_strides, stride_h, stride_c), writeable=False)
    dst = as_strided(out, shape, (*row_strides, kw * c * item, item))
    return [(dst, src)]


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


# ---------------------------------------------------------------------------
# Checks of the window arguments, shared by the layers
# ---------------------------------------------------------------------------


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
    """Output ``(out_h, out_w)`` of a window sliding over images of ``input_shape``.

    ValueError, naming ``layer`` and the ``what`` that slides, if
    ``input_shape`` is not an image's ``(h, w, c)`` or the window does not fit.
    """
    h, w, _ = _check_image_shape(layer, input_shape)
    out_h = conv_output_length(h, window[0], strides[0], padding)
    out_w = conv_output_length(w, window[1], strides[1], padding)
    if out_h <= 0 or out_w <= 0:
        # A layer that takes 'valid' only (LocallyConnected2D) cannot be told
        # to pad.
        same = "" if getattr(layer, "_valid_only", False) else "padding='same', "
        raise ValueError(
            f"{type(layer).__name__}: the {what} {window[0]}x{window[1]} is larger "
            f"than the {h}x{w} input (padding={padding!r}); use a smaller "
            f"{what}, {same}or larger images."
        )
    return out_h, out_w
