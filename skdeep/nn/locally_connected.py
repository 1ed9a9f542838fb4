"""Locally connected layer: a convolution without weight sharing (notes 三.2).

The notes introduce convolution (三.3) by way of *local connectivity* (三.2):
each hidden unit sees only a small patch of the image. A locally connected
layer is exactly that, and nothing more: every output position ``p`` has its
own filters ``W[p]``, where a convolution reuses one set of filters at every
position.

With :func:`~skdeep.nn.windows.im2col` the windows of a batch form an array
``cols`` of shape ``(n, P, K)`` -- ``P = out_h * out_w`` positions, ``K = kh *
kw * c`` values per window -- and the layer is one batched matrix product over
the positions,

    ``Z[:, p] = cols[:, p] @ W[p] + b[p]``,   ``W`` of shape ``(P, K, filters)``,

whose gradients are two more batched products, ``dW[p] = cols[:, p].T @
dZ[:, p]`` and ``dcols[:, p] = dZ[:, p] @ W[p].T``, the latter folded back
onto the image by :func:`~skdeep.nn.windows.col2im`.

The configuration, its checks, the output shape and the glorot-uniform
initialisation are those of ``Conv2D`` (their common base in
:mod:`skdeep.nn.conv`); only the padding ('valid' alone) and the weights differ.
"""

from functools import partial

import numpy as np

from .activations import activation_backward, apply_activation
from .conv import _SlidingWindowLayer
from .windows import col2im, im2col


def _check_valid_padding(padding):
    if not isinstance(padding, str) or padding.lower() != "valid":
        raise ValueError(
            "`padding` must be 'valid': a locally connected layer has its own "
            "weights at every position, so the weights of a zero-padded border "
            "would only ever multiply zeros and never learn (Keras 2 refuses "
            f"'same' too); received padding={padding!r}."
        )
    return "valid"


class LocallyConnected2D(_SlidingWindowLayer):
    """Locally connected 2-D layer (notes 三.2), as Keras 2's layer of that name.

    It works as :class:`~skdeep.layers.Conv2D`, except that the weights are
    not shared: a different set of ``filters`` filters is applied at each
    window position. It has as many weights as a convolution times the number
    of output positions, but each is trained on one region of the image only,
    which suits images whose regions play fixed roles (aligned faces, centred
    digits).

    Parameters
    ----------
    filters : int
        Number of filters at each position: the depth of the output.
    kernel_size : int or tuple of (int, int)
        Height and width of each window.
    strides : int or tuple of (int, int), default=1
        Step between two windows.
    padding : {'valid'}, default='valid'
        Only 'valid' (complete windows), as in Keras 2: with 'same', the
        weights facing the zero border would multiply zeros at every sample
        and never learn, so padding would add parameters without adding a
        single useful one. Use :class:`~skdeep.layers.Conv2D` to keep the
        image size.
    activation : str or None, default=None
        Name of the activation applied to the output ('relu', 'tanh', ...).
        None means linear.

    Attributes
    ----------
    params : dict
        Once built, ``'W'`` of shape ``(out_h * out_w, kh * kw * c_in,
        filters)`` and ``'b'`` of shape ``(out_h, out_w, filters)``, Keras'
        shapes: ``out_h * out_w * (kh * kw * c_in * filters + filters)``
        parameters. ``W[y * out_w + x]`` is the kernel of output pixel ``(y,
        x)``, its rows in ``(kh, kw, c_in)`` order.
    grads : dict
        Their gradients, same shapes.

    Input shape
    -----------
    ``(n, height, width, channels)``.

    Output shape
    ------------
    ``(n, out_h, out_w, filters)`` with ``out = floor((H - F) / S) + 1``, as for
    a 'valid' convolution.

    See Also
    --------
    skdeep.layers.Conv2D : The same windows with one shared set of filters.

    Notes
    -----
    The kernel is initialised with Keras' glorot-uniform rule, fans included:
    Keras computes the fans of a ``(P, K, filters)`` kernel as those of a
    convolution whose receptive field has ``P`` entries, ``fan_in = P * K`` and
    ``fan_out = P * filters``, so the limit ``sqrt(6 / (fan_in + fan_out))`` is
    ``sqrt(P)`` times smaller than the per-unit fans ``K`` and ``filters``
    would give. skdeep keeps Keras' rule so that the two initialise alike.

    Forward and backward are three batched products over the ``P`` positions
    (``np.matmul`` on strided views of the window and output buffers, so no
    operand is transposed into a copy). Measured on one core, float32, batch
    32, 28x28x1 images, 3x3 kernel, 16 filters (``P = 676``, ``K = 9``):
    ``np.matmul`` takes 0.09 ms for the forward product, ``np.einsum`` with
    ``out=`` 1.6 ms, ``np.einsum(..., optimize=True)`` 0.12 ms (but it
    allocates its result, and with ``out=`` it is slower than ``np.matmul``),
    a sum of ``K`` broadcast products 2.6 ms, and copying the windows to a
    contiguous ``(P, n, K)`` array before ``np.matmul`` 0.32 ms. On 32x32x3
    images with 32 filters (``P = 900``, ``K = 27``) the figures are 0.63,
    6.5, 0.54 (allocating), 23.5 and 1.05 ms.

    Examples
    --------
    Keras' documentation example: 64 filters of 3x3 on 32x32 RGB images.

    >>> import numpy as np
    >>> from skdeep.layers import LocallyConnected2D
    >>> layer = LocallyConnected2D(64, 3)
    >>> layer.build((32, 32, 3), np.random.default_rng(0))
    (30, 30, 64)
    >>> layer.params["W"].shape, layer.params["b"].shape
    ((900, 27, 64), (30, 30, 64))
    >>> layer.n_params == 30 * 30 * (3 * 3 * 3 * 64) + 30 * 30 * 64
    True
    >>> layer.forward(np.ones((2, 32, 32, 3), dtype=np.float32)).shape
    (2, 30, 30, 64)
    """

    _accepted_padding = staticmethod(_check_valid_padding)
    _valid_only = True
    _window_axes = 1  # W is (positions, window, filters)

    def _weight_layout(self, output_shape):
        out_h, out_w, filters = output_shape
        kh, kw = self.kernel_size
        n_positions, window = out_h * out_w, kh * kw * self.input_shape_[2]
        # Keras' fans for a (P, K, filters) kernel: the position axis counts as
        # a receptive field (see Notes). Each position has its own bias.
        fans = (n_positions * window, n_positions * filters)
        return (n_positions, window, filters), output_shape, fans

    def forward(self, X, training=False):
        W, b = self.params["W"], self.params["b"]
        self._check_input(X, 4, self.input_shape_[2])
        if X.shape[1:] != tuple(self.input_shape_):
            raise ValueError(
                f"LocallyConnected2D was built for images of shape "
                f"{self.input_shape_} (height, width, channels): it has weights "
                f"for each position; received X of shape {X.shape}."
            )
        n = X.shape[0]
        out_h, out_w, filters = self.output_shape(X.shape[1:])
        n_positions, window = W.shape[0], W.shape[1]
        out_size = (out_h, out_w)
        Xc = np.ascontiguousarray(X)  # window_view needs C order
        if training:
            # Scratch arrays reused from batch to batch (Layer._buffer).
            cols = self._buffer("cols", (n * n_positions, window), X.dtype)
            im2col(Xc, self.kernel_size, self.strides, out_size, out=cols)
            Z = self._buffer("Z", (n, out_h, out_w, filters), W.dtype)
        else:
            cols = im2col(Xc, self.kernel_size, self.strides, out_size)
            Z = np.empty((n, out_h, out_w, filters), dtype=np.result_type(X, W))
            W = W.astype(Z.dtype, copy=False)
        # Rows of cols are (image, position): viewed as (P, n, K) they give,
        # for each position p, the (n, K) matrix of its windows, and Z viewed
        # as (P, n, filters) receives cols[:, p] @ W[p]. Both views are
        # strided, not copied: np.matmul runs one GEMM per position on them.
        np.matmul(
            cols.reshape(n, n_positions, window).transpose(1, 0, 2),
            W,
            out=Z.reshape(n, n_positions, filters).transpose(1, 0, 2),
        )
        Z += b
        Y = apply_activation(self.activation, Z)
        self._cache = (cols, X.shape, Z, Y) if training else None
        return Y

    def backward(self, dY):
        cols, input_shape, Z, Y = self._pop_cache()
        n, out_h, out_w, filters = Y.shape
        n_positions, window = out_h * out_w, cols.shape[1]
        dZ = activation_backward(
            self.activation, Z, Y, dY, buffer=partial(self._buffer, "dZ")
        )
        # (P, n, filters): position p's output gradients, as in forward.
        dZ_by_position = dZ.reshape(n, n_positions, filters).transpose(1, 0, 2)
        if self.trainable:
            # dW[p] = cols[:, p].T @ dZ[:, p]: (P, K, n) @ (P, n, filters).
            windows_t = cols.reshape(n, n_positions, window).transpose(1, 2, 0)
            np.matmul(windows_t, dZ_by_position, out=self.grads["W"])
            # Each position has its own bias: sum over the batch only.
            np.sum(dZ, axis=0, out=self.grads["b"])
        if not self.needs_input_grad:
            return None
        # dcols[:, p] = dZ[:, p] @ W[p].T, then fold the windows onto the image.
        dcols = self._buffer("dcols", cols.shape, dZ.dtype)
        np.matmul(
            dZ_by_position,
            self.params["W"].transpose(0, 2, 1),
            out=dcols.reshape(n, n_positions, window).transpose(1, 0, 2),
        )
        dX = self._buffer("dX", input_shape, dZ.dtype)
        out_size = (out_h, out_w)
        return col2im(
            dcols, input_shape, self.kernel_size, self.strides, out_size, out=dX
        )


__all__ = ["LocallyConnected2D"]
