"""The convolution layer, channels-last as in Keras (notes 三.3-6).

Images are ``(n, height, width, channels)`` arrays. A convolution is computed
as one matrix product: :func:`~skdeep.nn.windows.im2col` lays every receptive
field out as a row, so that ``Conv2D.forward`` is ``cols @ W.reshape(kh * kw *
c, filters)``, and its gradients are two more products, ``dW = cols.T @ dY``
and ``dcols = dY @ W.T``, the second folded back onto the image by
:func:`~skdeep.nn.windows.col2im`.

``_SlidingWindowLayer`` holds what :class:`Conv2D` shares with
:class:`~skdeep.nn.locally_connected.LocallyConnected2D`, the same windows
without weight sharing: the configuration, its checks, the output shape and
the glorot-uniform initialisation.

This module also re-exports the names it held before the window kernels
(:mod:`skdeep.nn.windows`), the pooling layers (:mod:`skdeep.nn.pooling`) and
the fused convolution and pooling (:mod:`skdeep.nn.conv_pool`) moved to their
own modules: pickles and skops files of fitted networks saved before then name
``skdeep.nn.conv.MaxPooling2D`` and ``skdeep.nn.conv.GlobalAveragePooling2D``,
and load only while those names resolve here.
"""

import math
from functools import partial

import numpy as np

from .activations import (
    activation_backward,
    activation_bound,
    apply_activation,
    get_activation,
)
from .layers import Layer, _computed_dtype, check_positive_int

# The pooling names, and the window kernels Conv2D does not call, are imported
# to be re-exported (see the module docstring).
from .pooling import (
    GlobalAveragePooling2D,
    MaxPooling2D,
    max_pool_axis,
    max_pool_axis_backward,
)
from .windows import (
    _check_padding,
    _pair,
    _window_output_size,
    col2im,
    conv_output_length,
    crop,
    im2col,
    pad_images,
    same_padding,
    window_copies,
    window_padding,
    window_view,
)


class _SlidingWindowLayer(Layer):
    """Base of the layers that slide ``filters`` filters over an image.

    :class:`Conv2D` and
    :class:`~skdeep.nn.locally_connected.LocallyConnected2D` take the same
    arguments, check them alike and give the same output shapes; they differ
    in the paddings they accept (``_accepted_padding``), in the layout of
    their weights (:meth:`_weight_layout`) and in how they compute.
    """

    # The padding, normalised, or ValueError if the layer does not accept it:
    # LocallyConnected2D accepts 'valid' only.
    _accepted_padding = staticmethod(_check_padding)

    # The axes of W that run over a window (output_bound): Conv2D's (kh, kw,
    # c, filters) kernel; LocallyConnected2D overrides it.
    _window_axes = (0, 1, 2)

    def __init__(
        self, filters, kernel_size, strides=1, padding="valid", activation=None
    ):
        super().__init__()
        self.filters = check_positive_int(filters, "filters")
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.strides = _pair(strides, "strides")
        self.padding = self._accepted_padding(padding)
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

    def _shape_memo(self, what, input_size, compute):
        """``compute()``, kept per configuration and input size: shapes
        asked several times per batch (dropped from copies and pickles)."""
        key = (what, input_size, self.kernel_size, self.strides, self.padding,
               self.filters)  # fmt: skip
        shapes = self.__dict__.setdefault("_shapes", {})
        value = shapes.get(key)
        if value is None:
            value = shapes[key] = compute()
        return value

    def output_shape(self, input_shape):
        def compute():
            out_h, out_w = _window_output_size(
                self, input_shape, self.kernel_size, self.strides, self.padding,
                "kernel",
            )  # fmt: skip
            return out_h, out_w, self.filters

        return self._shape_memo("output", tuple(input_shape), compute)

    def _weight_layout(self, output_shape):  # pragma: no cover - abstract
        """``(W shape, b shape, (fan_in, fan_out))`` once ``input_shape_`` is set."""
        raise NotImplementedError

    def build(self, input_shape, rng, dtype=np.float32):
        if rng is None:
            raise ValueError(
                f"{type(self).__name__}.build needs a numpy.random.Generator to "
                "initialise its weights; received rng=None."
            )
        output_shape = super().build(input_shape, rng, dtype)
        W_shape, b_shape, (fan_in, fan_out) = self._weight_layout(output_shape)
        # Glorot uniform, with the fans Keras gives the layer's kernel.
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        W = rng.uniform(-limit, limit, size=W_shape)
        self.params = {
            "W": W.astype(dtype),
            "b": np.zeros(b_shape, dtype=dtype),
        }
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self._cache = None
        return output_shape

    def output_bound(self, input_bound):
        # Each output is a window's inputs (or padding zeros) times one
        # filter's weights (or one position's, for LocallyConnected2D), plus
        # a bias: at most the largest sum of |weights| over a filter's
        # window, times input_bound, plus the largest |bias|.
        W, b = self.params["W"], self.params["b"]
        sums = np.abs(W).sum(axis=self._window_axes, dtype=np.float64)
        bound = float(sums.max(initial=0.0) * input_bound + np.abs(b).max(initial=0.0))
        return activation_bound(self.activation, bound)

    def scratch_size(self, input_shape):
        # Inference holds the im2col windows: kh*kw*c values per output pixel.
        out_h, out_w, filters = self.output_shape(input_shape)
        kh, kw = self.kernel_size
        return out_h * out_w * max(kh * kw * input_shape[2], filters)


class Conv2D(_SlidingWindowLayer):
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
    :func:`~skdeep.nn.windows.col2im`.

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

    def _weight_layout(self, output_shape):
        _, _, c = self.input_shape_
        kh, kw = self.kernel_size
        # Keras' fans: each output unit sees kh*kw*c inputs and each input unit
        # feeds kh*kw*filters outputs.
        fans = (kh * kw * c, kh * kw * self.filters)
        return (kh, kw, c, self.filters), (self.filters,), fans

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

    def _padded(self, X, workspace):
        """``X`` checked, in the computation's dtype and padded: ``(Xp,
        padded_shape, pads)``, ``Xp`` a buffer of the training run
        (``workspace=None``) or of ``workspace`` when padding is needed."""
        W = self.params["W"]
        self._check_input(X, 4, W.shape[2])
        if X.shape[1:] != tuple(self.input_shape_):
            raise ValueError(
                f"Conv2D was built for images of shape {self.input_shape_} "
                f"(height, width, channels); received X of shape {X.shape}, "
                f"i.e. images of shape {X.shape[1:]}."
            )
        n, h, w, c = X.shape
        # In X's type if it is wider than the weights' (as numpy would promote).
        dtype = _computed_dtype(X.dtype, W.dtype)
        X = X.astype(dtype, copy=False)
        pads = self._shape_memo("pads", (h, w), lambda: window_padding(
            (h, w), self.kernel_size, self.strides, self.padding))  # fmt: skip
        (top, bottom), (left, right) = pads
        padded_shape = (n, h + top + bottom, w + left + right, c)
        if padded_shape == X.shape:
            return np.ascontiguousarray(X), padded_shape, pads
        # The border of the kept buffer is written once, when allocated: only
        # the interior changes from batch to batch.
        Xp = self._buffer("Xp", padded_shape, dtype, workspace, init=_fill_zeros)
        crop(Xp, pads)[...] = X
        return Xp, padded_shape, pads

    def _folded_weights(self, dtype, workspace):
        """``W.reshape(kh * kw * c, filters)`` with ``b`` as its last row."""
        W, b = self.params["W"], self.params["b"]
        n_cols, filters = math.prod(W.shape[:3]), W.shape[3]
        Wb = self._buffer("Wb", (n_cols + 1, filters), dtype, workspace)
        Wb[:n_cols] = W.reshape(n_cols, filters)
        Wb[n_cols] = b
        return Wb

    def _window_grid(self, Xp, out_size, pool=None):
        """``(grid, origins)`` for :func:`~skdeep.nn.windows._gather_windows`:
        the output pixels ``(n, out_h, out_w)``, or with ``pool=(ph, pw)``
        ``(ph, pw, n, out_h // ph, out_w // pw)``: pixel ``(y2 * ph + py, x2 *
        pw + px)`` grouped by its offset ``(py, px)`` in its pooling window
        (each offset's rows contiguous), and only the pixels a 'valid'
        pooling reads."""
        n = Xp.shape[0]
        out_h, out_w = out_size
        sh, sw = self.strides
        stride_n, stride_h, stride_w, _ = Xp.strides
        if pool is None:
            return (n, out_h, out_w), (stride_n, stride_h * sh, stride_w * sw)
        ph, pw = pool
        grid = (ph, pw, n, out_h // ph, out_w // pw)
        origins = (stride_h * sh, stride_w * sw, stride_n,
                   stride_h * sh * ph, stride_w * sw * pw)  # fmt: skip
        return grid, origins

    def _pre_activation(self, X, workspace):
        """``Z = conv(X, W) + b`` as one GEMM, in buffers of the training run
        (``workspace=None``) or of ``workspace``.

        Returns ``Z`` (one row per output pixel ``(n, out_h, out_w)``, one
        column per filter), the windows with their column of ones, the padded
        shape and the padding.
        """
        Xp, padded_shape, pads = self._padded(X, workspace)
        dtype = Xp.dtype
        out_h, out_w, filters = self.output_shape(X.shape[1:])
        kh, kw = self.kernel_size
        grid, origins = self._window_grid(Xp, (out_h, out_w))
        n_rows, n_cols = math.prod(grid), kh * kw * X.shape[3]
        # The windows and a column of ones, against W with b as its last row:
        # one GEMM adds the bias, and in backward the same product of the
        # windows with dZ gives dW and db together.
        cols = self._buffer("cols", (n_rows, n_cols + 1), dtype, workspace,
                            init=_ones_in_last_column)  # fmt: skip

        def copies(Xp, cols):
            return window_copies(Xp, self.kernel_size, grid, origins, cols[:, :n_cols])

        for target, source in self._window_copies("windows", X, Xp, cols, copies,
                                                  workspace):  # fmt: skip
            target[...] = source
        Wb = self._folded_weights(dtype, workspace)
        Z = self._buffer("Z", (n_rows, filters), dtype, workspace)
        # (n_rows, kh*kw*c + 1) @ (kh*kw*c + 1, filters)
        np.matmul(cols, Wb, out=Z)
        return Z, cols, padded_shape, pads

    def _window_copies(self, name, X, Xp, cols, copies, workspace):
        """``copies(Xp, cols)``: the views that gather ``Xp``'s windows into
        ``cols``. Kept from batch to batch (``Layer._derived``) when ``Xp`` is
        a kept buffer (padded images), built afresh when it is ``X`` itself
        (whose views must not outlive the call)."""
        if Xp.shape == X.shape:
            return copies(Xp, cols)
        return self._derived(name, (Xp, cols), copies, workspace)

    def _pooled_pre_activation(self, X, workspace, pool, keep=False):
        """The maximum of ``conv(X, W) + b`` over each ``pool`` window, one
        window offset at a time: ``(pooled, Z, cols, padded_shape, pads)``,
        ``pooled`` of shape ``(n, out_h // ph, out_w // pw, filters)``.

        Each offset's windows, its GEMM and its share of the maximum take a
        quarter (for 2x2 pooling) of the arrays of one GEMM over every window, so
        they stay in cache from one step to the next. For inference
        (``keep=False``) the offsets take turns in the same quarter-sized
        buffers and the convolution's whole output never exists (notes' CNN,
        first layer, 64 images: 1 MiB per offset, against 4 MiB); ``Z`` and
        ``cols`` are then those of the last offset. Training (``keep=True``)
        keeps every offset's windows and outputs for backward, one block of
        rows per offset (see :meth:`_window_grid`).
        """
        Xp, padded_shape, pads = self._padded(X, workspace)
        dtype = Xp.dtype
        out_h, out_w, filters = self.output_shape(X.shape[1:])
        ph, pw = pool
        grid, origins = self._window_grid(Xp, (out_h, out_w), pool)
        grid, origins = grid[2:], origins[2:]  # of the windows of one offset
        sh, sw = self.strides
        n_rows, n_cols = math.prod(grid), math.prod(self.params["W"].shape[:3])
        n_kept = ph * pw if keep else 1
        cols = self._buffer("cols", (n_kept * n_rows, n_cols + 1), dtype, workspace,
                            init=_ones_in_last_column)  # fmt: skip

        def copies(Xp, cols):
            # Per offset, the copies of its windows into its rows of cols.
            # The windows of offset (py, px) start py rows and px columns of
            # windows further in: the grid of a view of Xp that begins there.
            # Training keeps offset k's windows in rows k * n_rows onwards;
            # inference has the offsets take turns in the same rows.
            starts = [k * n_rows if keep else 0 for k in range(ph * pw)]
            return [
                window_copies(Xp[:, py * sh :, px * sw :], self.kernel_size, grid,
                              origins, cols[start : start + n_rows, :n_cols])
                for start, (py, px) in zip(starts, _offsets(ph, pw))
            ]  # fmt: skip

        offset_copies = self._window_copies(
            f"pooled_windows_{keep}", X, Xp, cols, copies, workspace
        )
        Z = self._buffer("Z", (n_kept * n_rows, filters), dtype, workspace)
        Wb = self._folded_weights(dtype, workspace)
        pooled = self._buffer("pooled", (*grid, filters), dtype, workspace)
        flat = pooled.reshape(n_rows, filters)
        for k in range(ph * pw):
            rows = slice(k * n_rows, (k + 1) * n_rows) if keep else slice(None)
            for target, source in offset_copies[k]:
                target[...] = source
            if k == 0 and not keep:
                np.matmul(cols, Wb, out=flat)
                continue
            np.matmul(cols[rows], Wb, out=Z[rows])
            if keep and k == 1:
                np.maximum(Z[:n_rows], Z[rows], out=flat)
            elif k:
                np.maximum(flat, Z[rows], out=flat)
        return pooled, Z, cols, padded_shape, pads

    def _weight_gradients(self, cols, dZ):
        """``[dW; db] = [cols, 1].T @ dZ``: the column of ones sums dZ's rows."""
        n_cols, filters = cols.shape[1] - 1, dZ.shape[1]
        dWb = self._buffer("dWb", (n_cols + 1, filters), dZ.dtype)
        n_rows, out_size = cols.shape[0], (n_cols + 1) * filters
        chunk = _CHUNK_MULTIPLY_ADDS // out_size
        if out_size <= _SMALL_GRADIENT and n_rows >= 2 * chunk:
            # A small gradient summed over many rows (a first layer: 13 x 16
            # from 32,768 rows) is a product a multi-threaded BLAS splits
            # badly (OpenBLAS, 2 threads: 0.68 ms, against 0.33 ms on one).
            # As a stack of products of `chunk` rows, each too small for BLAS
            # to thread, then summed: 0.29 ms. Chosen by shape alone, so the
            # sums do not depend on the thread count.
            n_chunks = n_rows // chunk
            head = n_chunks * chunk
            parts = self._buffer("dWb_parts", (n_chunks, n_cols + 1, filters),
                                 dZ.dtype)  # fmt: skip
            np.matmul(
                cols[:head].reshape(n_chunks, chunk, n_cols + 1).transpose(0, 2, 1),
                dZ[:head].reshape(n_chunks, chunk, filters),
                out=parts,
            )
            np.sum(parts, axis=0, out=dWb)
            if head < n_rows:
                dWb += cols[head:].T @ dZ[head:]
        else:
            # np.dot rather than np.matmul: as fast, and it releases the GIL
            # for this shape (few columns, many rows), where numpy 2.4's
            # matmul keeps it: two trainer parts' products then run side by
            # side (1.9x on 2 cores for 16 images of 32x32x3, against 0.9x
            # with matmul).
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
        n_cols = math.prod(self.params["W"].shape[:3])
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
        offsets = [(top, left)] + [(u, v) for u in range(kh) for v in range(kw)
                                   if (u, v) != (top, left)]  # fmt: skip
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


# Weight gradients of at most _SMALL_GRADIENT values are summed in chunks of
# _CHUNK_MULTIPLY_ADDS multiply-adds (see Conv2D._weight_gradients): below
# OpenBLAS's threading threshold (2**18 for a GEMM).
_SMALL_GRADIENT = 512
_CHUNK_MULTIPLY_ADDS = 2**18


def _offsets(ph, pw):
    """The offsets ``(py, px)`` of a ``ph`` x ``pw`` window, row-major (as
    ``np.ndindex``, without its per-step cost)."""
    return [(py, px) for py in range(ph) for px in range(pw)]


def _fill_zeros(array):
    array.fill(0)


def _ones_in_last_column(cols):
    cols[:, -1] = 1


def __getattr__(name):
    # ConvPool is built on Conv2D: imported at the top, its module would import
    # this one half-initialised. Resolved on first use instead, it stays
    # importable from here (``from skdeep.nn.conv import ConvPool``), though
    # not listed in __all__, which names what the module defines or imports.
    if name == "ConvPool":
        from .conv_pool import ConvPool

        return ConvPool
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Conv2D",
    "GlobalAveragePooling2D",
    "MaxPooling2D",
    "col2im",
    "conv_output_length",
    "crop",
    "im2col",
    "max_pool_axis",
    "max_pool_axis_backward",
    "pad_images",
    "same_padding",
    "window_padding",
    "window_view",
]
