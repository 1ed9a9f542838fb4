"""Tests of skdeep.nn.conv: naive loop references, finite differences, PyTorch.

The naive references below are deliberately slow, one output pixel at a time,
and live only here (STYLE.md): the layers must agree with them on random
configurations of sizes, kernels, strides and paddings.
"""

import copy
import math

import numpy as np
import pytest
from _gradcheck import assert_gradient_close, numerical_gradient

from skdeep.nn.conv import (
    Conv2D,
    ConvPool,
    GlobalAveragePooling2D,
    MaxPooling2D,
    col2im,
    im2col,
)
from skdeep.nn.layers import Dense, Dropout, Flatten
from skdeep.nn.network import Sequential

# ---------------------------------------------------------------------------
# Naive references
# ---------------------------------------------------------------------------


def naive_pads(n, k, s, padding):
    """TensorFlow's 'same' padding, (before, after), recomputed independently."""
    if padding == "valid":
        return 0, 0
    out = math.ceil(n / s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def naive_pad(X, window, strides, padding, value=0.0):
    _, h, w, _ = X.shape
    top, bottom = naive_pads(h, window[0], strides[0], padding)
    left, right = naive_pads(w, window[1], strides[1], padding)
    Xp = np.pad(
        X, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value
    )
    return Xp, (top, left)


def naive_conv2d(X, W, b, strides, padding):
    kh, kw, _, filters = W.shape
    sh, sw = strides
    Xp, _ = naive_pad(X, (kh, kw), strides, padding)
    n, hp, wp, _ = Xp.shape
    out_h, out_w = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    Y = np.zeros((n, out_h, out_w, filters))
    for i in range(n):
        for y in range(out_h):
            for x in range(out_w):
                patch = Xp[i, y * sh : y * sh + kh, x * sw : x * sw + kw, :]
                for f in range(filters):
                    Y[i, y, x, f] = np.sum(patch * W[:, :, :, f]) + b[f]
    return Y


def naive_conv2d_backward(X, W, dY, strides, padding):
    kh, kw, _, filters = W.shape
    sh, sw = strides
    Xp, (top, left) = naive_pad(X, (kh, kw), strides, padding)
    n, out_h, out_w, _ = dY.shape
    dXp = np.zeros_like(Xp)
    dW = np.zeros_like(W)
    for i in range(n):
        for y in range(out_h):
            for x in range(out_w):
                rows = slice(y * sh, y * sh + kh)
                cols = slice(x * sw, x * sw + kw)
                for f in range(filters):
                    dW[:, :, :, f] += dY[i, y, x, f] * Xp[i, rows, cols, :]
                    dXp[i, rows, cols, :] += dY[i, y, x, f] * W[:, :, :, f]
    db = dY.sum(axis=(0, 1, 2))
    h, w = X.shape[1:3]
    return dXp[:, top : top + h, left : left + w], dW, db


def naive_maxpool(X, pool, strides, padding):
    """Forward output and, per output pixel, the (row, col) of its first max."""
    ph, pw = pool
    sh, sw = strides
    Xp, (top, left) = naive_pad(X, pool, strides, padding, value=-np.inf)
    n, hp, wp, c = Xp.shape
    out_h, out_w = (hp - ph) // sh + 1, (wp - pw) // sw + 1
    Y = np.zeros((n, out_h, out_w, c))
    where = np.zeros((n, out_h, out_w, c, 2), dtype=int)
    for i in range(n):
        for y in range(out_h):
            for x in range(out_w):
                for ch in range(c):
                    patch = Xp[i, y * sh : y * sh + ph, x * sw : x * sw + pw, ch]
                    u, v = np.unravel_index(np.argmax(patch), patch.shape)
                    Y[i, y, x, ch] = patch[u, v]
                    where[i, y, x, ch] = (y * sh + u - top, x * sw + v - left)
    return Y, where


def naive_maxpool_backward(X, dY, where):
    dX = np.zeros_like(X)
    n, out_h, out_w, c = dY.shape
    for i in range(n):
        for y in range(out_h):
            for x in range(out_w):
                for ch in range(c):
                    row, col = where[i, y, x, ch]
                    dX[i, row, col, ch] += dY[i, y, x, ch]
    return dX


# Random configurations: (h, w, c, filters, kernel, strides, padding). They cover
# square and rectangular kernels and strides, overlapping and disjoint windows,
# odd 'same' paddings (extra pixel bottom / right) and kernels as large as the
# image.
CONV_CONFIGS = [
    (5, 5, 1, 1, 1, 1, "valid"),
    (6, 7, 3, 4, 3, 1, "valid"),
    (6, 7, 3, 4, 3, 1, "same"),
    (7, 6, 2, 3, 2, 2, "same"),
    (8, 8, 2, 5, 2, 2, "valid"),
    (9, 7, 3, 2, (3, 2), (2, 1), "same"),
    (9, 7, 3, 2, (2, 3), (1, 3), "valid"),
    (5, 5, 2, 3, 5, 1, "valid"),
    (5, 4, 2, 3, 4, 3, "same"),
    (1, 6, 1, 2, (1, 3), 1, "same"),
]

POOL_CONFIGS = [
    (4, 4, 2, 2, None, "valid"),
    (5, 7, 3, 2, None, "valid"),
    (5, 7, 3, 2, None, "same"),
    (6, 6, 2, 3, 1, "valid"),
    (7, 5, 2, 3, 2, "same"),
    (6, 5, 1, (2, 3), (1, 2), "same"),
    (3, 3, 2, 3, None, "valid"),
    (1, 5, 2, (1, 2), None, "same"),
]


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def _conv_case(config, dtype=np.float64, seed=0):
    h, w, c, filters, kernel, strides, padding = config
    rng = np.random.default_rng(seed)
    layer = Conv2D(filters, kernel, strides=strides, padding=padding)
    out_shape = layer.build((h, w, c), rng, dtype=dtype)
    # Non-zero bias so that it is tested too.
    layer.params["b"][:] = rng.normal(size=filters)
    X = rng.normal(size=(3, h, w, c)).astype(dtype)
    return layer, X, out_shape


@pytest.mark.parametrize("config", CONV_CONFIGS)
def test_conv2d_matches_naive_loops(config):
    layer, X, out_shape = _conv_case(config)
    strides, padding = _pair(config[5]), config[6]
    Y = layer.forward(X, training=True)
    W, b = layer.params["W"], layer.params["b"]
    expected = naive_conv2d(X, W, b, strides, padding)
    assert Y.shape == (3, *out_shape) == expected.shape
    np.testing.assert_allclose(Y, expected, rtol=1e-10, atol=1e-12)

    dY = np.random.default_rng(1).normal(size=Y.shape)
    dX = layer.backward(dY)
    dX_ref, dW_ref, db_ref = naive_conv2d_backward(X, W, dY, strides, padding)
    np.testing.assert_allclose(dX, dX_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.grads["W"], dW_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], db_ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("config", POOL_CONFIGS)
def test_maxpool_matches_naive_loops(config):
    h, w, c, pool, strides, padding = config
    rng = np.random.default_rng(0)
    layer = MaxPooling2D(pool, strides=strides, padding=padding)
    out_shape = layer.build((h, w, c), rng)
    X = rng.normal(size=(3, h, w, c))
    pool = _pair(pool)
    strides = pool if strides is None else _pair(strides)
    expected, where = naive_maxpool(X, pool, strides, padding)
    # Inference takes the other (argmax-free) code path.
    np.testing.assert_array_equal(layer.forward(X, training=False), expected)
    Y = layer.forward(X, training=True)
    assert Y.shape == (3, *out_shape) == expected.shape
    np.testing.assert_array_equal(Y, expected)

    dY = rng.normal(size=Y.shape)
    np.testing.assert_allclose(
        layer.backward(dY), naive_maxpool_backward(X, dY, where), atol=1e-12
    )


@pytest.mark.parametrize("config", POOL_CONFIGS)
def test_maxpool_ties_match_naive_first_maximum(config):
    # Small integers: most windows hold their maximum several times. The
    # gradient must go to the first one in row-major order, as np.argmax does.
    h, w, c, pool, strides, padding = config
    layer = MaxPooling2D(pool, strides=strides, padding=padding)
    layer.build((h, w, c), None)
    X = np.random.default_rng(0).integers(0, 3, size=(4, h, w, c)).astype(float)
    Y = layer.forward(X, training=True)
    pool = _pair(pool)
    strides = pool if strides is None else _pair(strides)
    expected, where = naive_maxpool(X, pool, strides, padding)
    np.testing.assert_array_equal(Y, expected)
    dY = np.random.default_rng(1).normal(size=Y.shape)
    np.testing.assert_allclose(
        layer.backward(dY), naive_maxpool_backward(X, dY, where), atol=1e-12
    )


def test_maxpool_ties_route_gradient_to_first_maximum():
    layer = MaxPooling2D(2)
    layer.build((2, 2, 1), None)
    X = np.zeros((1, 2, 2, 1))
    layer.forward(X, training=True)
    dX = layer.backward(np.ones((1, 1, 1, 1)))
    np.testing.assert_array_equal(dX[0, :, :, 0], [[1, 0], [0, 0]])
    # A tie between (0, 1) and (1, 0): row-major order picks (0, 1).
    X = np.array([[0.0, 2.0], [2.0, 1.0]]).reshape(1, 2, 2, 1)
    layer.forward(X, training=True)
    dX = layer.backward(np.ones((1, 1, 1, 1)))
    np.testing.assert_array_equal(dX[0, :, :, 0], [[0, 1], [0, 0]])


def test_global_average_pooling_matches_mean():
    rng = np.random.default_rng(0)
    layer = GlobalAveragePooling2D()
    assert layer.build((3, 4, 5), rng) == (5,)
    X = rng.normal(size=(2, 3, 4, 5))
    np.testing.assert_allclose(layer.forward(X, training=True), X.mean(axis=(1, 2)))
    dY = rng.normal(size=(2, 5))
    np.testing.assert_allclose(
        layer.backward(dY), np.broadcast_to(dY[:, None, None, :] / 12, X.shape)
    )


@pytest.mark.parametrize(
    "padded_shape, kernel, strides",
    [((2, 5, 6, 3), (2, 3), (1, 1)), ((2, 6, 6, 2), (2, 2), (2, 2))],
)
def test_col2im_is_the_adjoint_of_im2col(padded_shape, kernel, strides):
    # <im2col(X), C> == <X, col2im(C)> for all X, C: col2im is the transpose.
    rng = np.random.default_rng(0)
    Xp = rng.normal(size=padded_shape)
    out = tuple((padded_shape[1 + a] - kernel[a]) // strides[a] + 1 for a in (0, 1))
    cols = im2col(Xp, kernel, strides, out)
    C = rng.normal(size=cols.shape)
    np.testing.assert_allclose(
        np.sum(cols * C), np.sum(Xp * col2im(C, padded_shape, kernel, strides, out))
    )


# ---------------------------------------------------------------------------
# Finite differences in float64, every layer
# ---------------------------------------------------------------------------


def _check_gradients(layer, X, seed=0):
    R = np.random.default_rng(seed).normal(size=layer.forward(X).shape)

    def loss():
        return float(np.sum(layer.forward(X) * R))

    layer.forward(X, training=True)
    dX = layer.backward(R.copy())
    assert_gradient_close(dX, numerical_gradient(loss, X), rtol=1e-5, atol=1e-7)
    for name, param in layer.params.items():
        layer.forward(X, training=True)
        layer.backward(R.copy())
        assert_gradient_close(
            layer.grads[name], numerical_gradient(loss, param), rtol=1e-5, atol=1e-7
        )


@pytest.mark.parametrize("activation", [None, "relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("config", CONV_CONFIGS[1:7])
def test_conv2d_finite_differences(config, activation):
    h, w, c, filters, kernel, strides, padding = config
    rng = np.random.default_rng(0)
    layer = Conv2D(filters, kernel, strides=strides, padding=padding,
                   activation=activation)  # fmt: skip
    layer.build((h, w, c), rng, dtype=np.float64)
    layer.params["b"][:] = rng.normal(size=filters)
    X = rng.normal(size=(2, h, w, c))
    _check_gradients(layer, X)


@pytest.mark.parametrize("config", POOL_CONFIGS)
def test_maxpool_finite_differences(config):
    h, w, c, pool, strides, padding = config
    layer = MaxPooling2D(pool, strides=strides, padding=padding)
    layer.build((h, w, c), None)
    # Distinct values well apart: the maximum cannot switch under +-eps.
    X = np.random.default_rng(0).permutation(2 * h * w * c).reshape(2, h, w, c)
    _check_gradients(layer, X / 10.0)


def test_global_average_pooling_finite_differences():
    layer = GlobalAveragePooling2D()
    layer.build((3, 4, 2), None)
    _check_gradients(layer, np.random.default_rng(0).normal(size=(2, 3, 4, 2)))


# ---------------------------------------------------------------------------
# Shapes, parameter counts, dtype, frozen layers, argument validation
# ---------------------------------------------------------------------------


def test_notes_single_conv_layer_shape_and_params():
    # Notes 三.6: Conv2D(16, 2, strides=2, 'valid') on 200x200x1.
    layer = Conv2D(16, 2, strides=2, padding="valid", activation="relu")
    assert layer.build((200, 200, 1), np.random.default_rng(0)) == (100, 100, 16)
    assert layer.n_params == 80 == 16 * 2 * 2 * 1 + 16
    assert layer.params["W"].shape == (2, 2, 1, 16)


def test_notes_cnn_shapes_and_params():
    # Notes 三.8: the CNN on 32x32x3 images, 'same' padding, kernel 2.
    from skdeep.nn.layers import Dense, Flatten

    layers = [
        Conv2D(16, 2, padding="same", activation="relu"),
        MaxPooling2D(2),
        Conv2D(32, 2, padding="same", activation="relu"),
        MaxPooling2D(2),
        Conv2D(64, 2, padding="same", activation="relu"),
        MaxPooling2D(2),
        Flatten(),
        Dense(500, activation="relu"),
        Dense(10, activation="softmax"),
    ]
    rng = np.random.default_rng(0)
    shape, shapes, params = (32, 32, 3), [], []
    for layer in layers:
        shape = layer.build(shape, rng)
        shapes.append(shape)
        params.append(layer.n_params)
    assert shapes == [
        (32, 32, 16), (16, 16, 16), (16, 16, 32), (8, 8, 32), (8, 8, 64),
        (4, 4, 64), (1024,), (500,), (10,),
    ]  # fmt: skip
    assert params == [208, 0, 2080, 0, 8256, 0, 0, 512500, 5010]


@pytest.mark.parametrize(
    "h, k, s, padding, expected",
    [(7, 3, 2, "valid", 3), (7, 3, 2, "same", 4), (5, 5, 1, "valid", 1),
     (32, 2, 1, "same", 32), (9, 2, 3, "valid", 3), (1, 1, 1, "same", 1)],
)  # fmt: skip
def test_output_size_formulas(h, k, s, padding, expected):
    layer = Conv2D(1, (k, 1), strides=(s, 1), padding=padding)
    assert layer.output_shape((h, 1, 1)) == (expected, 1, 1)
    # Keras' formulas: floor((n - k) / s) + 1 and ceil(n / s).
    formula = (h - k) // s + 1 if padding == "valid" else math.ceil(h / s)
    assert expected == formula


def test_float32_in_float32_out():
    layer = Conv2D(4, 3, padding="same", activation="relu")
    layer.build((6, 6, 2), np.random.default_rng(0))
    assert layer.params["W"].dtype == np.float32
    X = np.random.default_rng(0).normal(size=(2, 6, 6, 2)).astype(np.float32)
    Y = layer.forward(X, training=True)
    assert Y.dtype == np.float32
    assert layer.backward(np.ones_like(Y)).dtype == np.float32
    assert layer.grads["W"].dtype == np.float32
    pool = MaxPooling2D(2, padding="same")
    pool.build((6, 6, 4), None)
    assert pool.forward(Y, training=True).dtype == np.float32


def test_glorot_uniform_init_and_zero_bias():
    layer = Conv2D(32, 3)
    layer.build((10, 10, 16), np.random.default_rng(0))
    limit = np.sqrt(6 / (3 * 3 * 16 + 3 * 3 * 32))
    W = layer.params["W"]
    assert np.abs(W).max() <= limit
    assert np.abs(W).max() > 0.95 * limit
    assert abs(W.std() - limit / np.sqrt(3)) < 0.05 * limit
    np.testing.assert_array_equal(layer.params["b"], 0)


def test_frozen_conv_computes_no_weight_gradients():
    layer, X, _ = _conv_case(CONV_CONFIGS[2])
    layer.trainable = False
    sentinel = {name: np.full_like(g, 7.0) for name, g in layer.grads.items()}
    for name, g in layer.grads.items():
        g[...] = sentinel[name]
    Y = layer.forward(X, training=True)
    dX = layer.backward(np.ones_like(Y))
    for name, g in layer.grads.items():
        np.testing.assert_array_equal(g, sentinel[name])
    # The input gradient is still exact: frozen layers pass gradients on.
    strides, padding = _pair(CONV_CONFIGS[2][5]), CONV_CONFIGS[2][6]
    dX_ref, _, _ = naive_conv2d_backward(
        X, layer.params["W"], np.ones_like(Y), strides, padding
    )
    np.testing.assert_allclose(dX, dX_ref, atol=1e-12)


@pytest.mark.parametrize("fused", [False, True])
def test_small_weight_gradient_over_many_rows(fused):
    # A first layer's 13 x 16 gradient summed over 4 images of 32x32 = 4,096
    # rows: summed by Conv2D in chunks of rows (three and a remainder). The
    # reference is a sum over the windows (sliding_window_view and einsum,
    # float64), independent of im2col and of the chunks.
    rng = np.random.default_rng(0)
    layer = Conv2D(16, 2, padding="same", activation="relu")
    layer.build((32, 32, 3), rng)
    layer.params["W"] = layer.params["W"].astype(np.float64)
    layer.params["b"] = rng.normal(size=16) * 0.1
    layer.grads = {k: np.zeros_like(p) for k, p in layer.params.items()}
    X = rng.normal(size=(4, 32, 32, 3))
    dY_pooled = rng.normal(size=(4, 16, 16, 16))
    Xp = np.pad(X, ((0, 0), (0, 1), (0, 1), (0, 0)))  # 'same' for a 2x2 kernel
    windows = np.lib.stride_tricks.sliding_window_view(Xp, (2, 2), axis=(1, 2))
    Z = np.einsum("nyxcuv,uvcf->nyxf", windows, layer.params["W"]) + layer.params["b"]
    if fused:
        runner = ConvPool(layer, MaxPooling2D(2))
        runner.pool.build((32, 32, 16), None)
        runner.forward(X, training=True)
        runner.backward(dY_pooled)
        # The pool routes dY to each 2x2 window's first maximum, through relu.
        blocks = Z.reshape(4, 16, 2, 16, 2, 16).transpose(0, 1, 3, 5, 2, 4)
        blocks = blocks.reshape(4, 16, 16, 16, 4)
        first = blocks.argmax(axis=-1)
        routed = np.zeros_like(blocks)
        np.put_along_axis(
            routed, first[..., None], (dY_pooled * (blocks.max(-1) > 0))[..., None], -1
        )
        dZ = routed.reshape(4, 16, 16, 16, 2, 2).transpose(0, 1, 4, 2, 5, 3)
        dZ = dZ.reshape(4, 32, 32, 16)
    else:
        layer.forward(X, training=True)
        dY = rng.normal(size=Z.shape)
        layer.backward(dY)
        dZ = dY * (Z > 0)
    dW_ref = np.einsum("nyxcuv,nyxf->uvcf", windows, dZ)
    np.testing.assert_allclose(layer.grads["W"], dW_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(layer.grads["b"], dZ.sum(axis=(0, 1, 2)), rtol=1e-10,
                               atol=1e-10)  # fmt: skip


@pytest.mark.parametrize("layer", [Conv2D(2, 2), MaxPooling2D(),
                                   GlobalAveragePooling2D()])  # fmt: skip
def test_backward_without_forward_raises(layer):
    layer.build((4, 4, 2), np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="without a preceding"):
        layer.backward(np.ones((1, 2, 2, 2)))
    # An inference forward keeps no cache either.
    layer.forward(np.ones((1, 4, 4, 2)), training=False)
    with pytest.raises(RuntimeError, match="without a preceding"):
        layer.backward(np.ones((1, 2, 2, 2)))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Conv2D(0, 2), r"`filters` must be a positive integer; "
                               r"received filters=0\."),
        (lambda: Conv2D(2.5, 2), r"received filters=2\.5"),
        (lambda: Conv2D(True, 2), r"received filters=True"),
        (lambda: Conv2D(4, 0), r"`kernel_size` must be a positive integer"),
        (lambda: Conv2D(4, (2, 2, 2)), r"tuple of 2 .*kernel_size=\(2, 2, 2\)"),
        (lambda: Conv2D(4, (2, -1)), r"kernel_size=\(2, -1\)"),
        (lambda: Conv2D(4, 2, strides=0), r"`strides` must be a positive"),
        (lambda: Conv2D(4, 2, padding="full"), r"'valid' or 'same'.*'full'"),
        (lambda: Conv2D(4, 2, activation="swish"), r"Unknown activation 'swish'"),
        (lambda: MaxPooling2D(0), r"`pool_size` must be a positive integer"),
        (lambda: MaxPooling2D(2, strides=(1,)), r"strides=\(1,\)"),
        (lambda: MaxPooling2D(2, padding=None), r"received padding=None"),
    ],
)  # fmt: skip
def test_invalid_arguments_raise_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    "layer, input_shape, message",
    [
        (Conv2D(4, 5), (4, 6, 1), r"kernel 5x5 is larger than the 4x6 input"),
        (Conv2D(4, (1, 3)), (3, 2, 1), r"kernel 1x3 is larger than the 3x2"),
        (MaxPooling2D(3), (2, 2, 4), r"pool size 3x3 is larger than the 2x2"),
        (Conv2D(4, 2), (4, 4), r"expects images of shape \(height, width, "
                               r"channels\); received input_shape=\(4, 4\)"),
        (MaxPooling2D(), (8,), r"received input_shape=\(8,\)"),
        (GlobalAveragePooling2D(), (8,), r"received input_shape=\(8,\)"),
    ],
)  # fmt: skip
def test_build_rejects_inputs_that_do_not_fit(layer, input_shape, message):
    with pytest.raises(ValueError, match=message):
        layer.build(input_shape, np.random.default_rng(0))


def test_same_padding_fits_any_kernel():
    # 'same' pads as needed: a 5x5 kernel on a 2x2 image is fine.
    layer = Conv2D(1, 5, padding="same")
    assert layer.build((2, 2, 1), np.random.default_rng(0)) == (2, 2, 1)


def test_get_config_returns_constructor_arguments():
    layer = Conv2D(8, (3, 2), strides=2, padding="same", activation="relu")
    assert layer.get_config() == {
        "filters": 8, "kernel_size": (3, 2), "strides": (2, 2),
        "padding": "same", "activation": "relu",
    }  # fmt: skip
    assert Conv2D(**layer.get_config()).get_config() == layer.get_config()
    pool = MaxPooling2D(3)
    assert pool.get_config() == {"pool_size": (3, 3), "strides": None,
                                 "padding": "valid"}  # fmt: skip
    assert repr(pool) == "MaxPooling2D(pool_size=(3, 3), strides=None, padding='valid')"


# ---------------------------------------------------------------------------
# PyTorch, when installed (an optional reference, never a dependency)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("config", CONV_CONFIGS)
def test_conv2d_matches_torch(config):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    layer, X, _ = _conv_case(config, dtype=np.float32)
    kernel, strides, padding = _pair(config[4]), _pair(config[5]), config[6]
    Y = layer.forward(X, training=True)
    dY = np.random.default_rng(1).normal(size=Y.shape).astype(np.float32)
    dX = layer.backward(dY)

    Xt = torch.tensor(X.transpose(0, 3, 1, 2), requires_grad=True)  # NCHW
    Wt = torch.tensor(layer.params["W"].transpose(3, 2, 0, 1), requires_grad=True)
    bt = torch.tensor(layer.params["b"], requires_grad=True)
    top, bottom = naive_pads(X.shape[1], kernel[0], strides[0], padding)
    left, right = naive_pads(X.shape[2], kernel[1], strides[1], padding)
    Yt = F.conv2d(F.pad(Xt, (left, right, top, bottom)), Wt, bt, stride=strides)
    Yt.backward(torch.tensor(dY.transpose(0, 3, 1, 2)))

    np.testing.assert_allclose(Y, Yt.detach().numpy().transpose(0, 2, 3, 1),
                               rtol=1e-4, atol=1e-4)  # fmt: skip
    np.testing.assert_allclose(dX, Xt.grad.numpy().transpose(0, 2, 3, 1),
                               rtol=1e-4, atol=1e-4)  # fmt: skip
    np.testing.assert_allclose(layer.grads["W"], Wt.grad.numpy().transpose(2, 3, 1, 0),
                               rtol=1e-4, atol=1e-4)  # fmt: skip
    np.testing.assert_allclose(layer.grads["b"], bt.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("config", POOL_CONFIGS)
def test_maxpool_matches_torch(config):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    h, w, c, pool, strides, padding = config
    layer = MaxPooling2D(pool, strides=strides, padding=padding)
    layer.build((h, w, c), None)
    X = np.random.default_rng(0).normal(size=(3, h, w, c)).astype(np.float32)
    Y = layer.forward(X, training=True)
    dY = np.random.default_rng(1).normal(size=Y.shape).astype(np.float32)
    dX = layer.backward(dY)

    pool = _pair(pool)
    strides = pool if strides is None else _pair(strides)
    top, bottom = naive_pads(h, pool[0], strides[0], padding)
    left, right = naive_pads(w, pool[1], strides[1], padding)
    Xt = torch.tensor(X.transpose(0, 3, 1, 2), requires_grad=True)
    Xp = F.pad(Xt, (left, right, top, bottom), value=-math.inf)
    Yt = F.max_pool2d(Xp, pool, stride=strides)
    Yt.backward(torch.tensor(dY.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(Y, Yt.detach().numpy().transpose(0, 2, 3, 1),
                               rtol=1e-4, atol=1e-4)  # fmt: skip
    np.testing.assert_allclose(dX, Xt.grad.numpy().transpose(0, 2, 3, 1),
                               rtol=1e-4, atol=1e-4)  # fmt: skip


def test_conv_build_requires_a_generator():
    with pytest.raises(ValueError, match="rng=None"):
        Conv2D(2, 3).build((5, 5, 1), None)


def test_conv_refuses_images_of_another_size():
    layer = Conv2D(2, 3)
    layer.build((6, 6, 1), np.random.default_rng(0))
    layer.forward(np.zeros((2, 6, 6, 1)))
    for X in (np.zeros((2, 8, 6, 1)), np.zeros((2, 6, 7, 1))):
        with pytest.raises(ValueError, match=r"built for images of shape \(6, 6, 1\)"):
            layer.forward(X)
    with pytest.raises(ValueError, match=r"received X of shape \(2, 8, 6, 1\)"):
        layer.forward(np.zeros((2, 8, 6, 1)), training=True)


def test_conv_scratch_size_counts_the_im2col_windows():
    layer = Conv2D(4, 3, padding="same")
    layer.build((28, 28, 2), np.random.default_rng(0))
    assert layer.scratch_size((28, 28, 2)) == 28 * 28 * 3 * 3 * 2


# ---------------------------------------------------------------------------
# im2col's two copy paths; Conv2D + MaxPooling2D run as one step (ConvPool)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "c, kernel, strides",
    # Window rows of 2*1*4 = 8 bytes up to 3*16*8 = 384 bytes: copied as opaque
    # items (<= 64 bytes) or as numbers.
    [
        (1, (2, 2), (1, 1)),
        (3, (2, 3), (2, 1)),
        (4, (3, 2), (1, 2)),
        (16, (3, 3), (1, 1)),
    ],  # fmt: skip
)
def test_im2col_copies_every_window_into_its_row(c, kernel, strides, dtype):
    rng = np.random.default_rng(0)
    Xp = rng.normal(size=(2, 7, 8, c)).astype(dtype)
    (kh, kw), (sh, sw) = kernel, strides
    out_h, out_w = (7 - kh) // sh + 1, (8 - kw) // sw + 1
    expected = np.array(
        [
            Xp[i, y * sh : y * sh + kh, x * sw : x * sw + kw, :].ravel()
            for i in range(2)
            for y in range(out_h)
            for x in range(out_w)
        ]
    )
    np.testing.assert_array_equal(im2col(Xp, kernel, strides, (out_h, out_w)), expected)
    # Into the first columns of a wider array (Conv2D keeps a column of ones
    # there for the bias): the other columns are left alone.
    wide = np.full((len(expected), expected.shape[1] + 1), 7, dtype=dtype)
    im2col(Xp, kernel, strides, (out_h, out_w), out=wide[:, :-1])
    np.testing.assert_array_equal(wide[:, :-1], expected)
    np.testing.assert_array_equal(wide[:, -1], 7)


def _unfused_twin(net):
    """A copy of ``net`` whose steps are its layers, one by one."""
    twin = copy.deepcopy(net)
    twin._steps = [(i, layer) for i, layer in enumerate(twin.layers)]
    return twin


def _relu_conv(filters, kernel, **kwargs):
    return Conv2D(filters, kernel, activation="relu", **kwargs)


# (input shape, layers): relu and linear convolutions; 2x2, 3x3 and 1x2 pools;
# pools that drop the last row / column ('valid' on odd sizes); a strided conv;
# a fused pair above a trained layer (its dX is needed) and a frozen one.
FUSED_CASES = {
    "relu-2x2": (
        (8, 8, 3),
        lambda: [_relu_conv(4, 2, padding="same"), MaxPooling2D(2), Flatten(),
                 Dense(3)],
    ),
    "dropped-pixels": (
        (9, 9, 2),
        lambda: [_relu_conv(3, 2, padding="same"), _relu_conv(4, 2, padding="same"),
                 MaxPooling2D(2), Flatten(), Dense(3)],
    ),
    "linear-3x3-pool": (
        (10, 9, 1),
        lambda: [Conv2D(3, 3, padding="same"), _relu_conv(2, 2), MaxPooling2D(3),
                 Flatten(), Dense(2)],
    ),
    "strided-conv": (
        (10, 9, 2),
        lambda: [_relu_conv(3, 3), Conv2D(4, (2, 3), strides=2, padding="same"),
                 MaxPooling2D((1, 2)), Flatten(), Dense(3)],
    ),
    "same-pool-divisible": (
        (8, 6, 2),
        lambda: [_relu_conv(3, 3, padding="same"), MaxPooling2D(2, padding="same"),
                 GlobalAveragePooling2D(), Dense(2)],
    ),
}  # fmt: skip


def _fused_network(name, frozen_first=False):
    shape, layers = FUSED_CASES[name]
    layers = layers()
    if frozen_first:
        layers[1].trainable = False  # a frozen layer above a trained one
    net = Sequential(layers, dtype=np.float64)
    net.build(shape, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    for layer in net.layers:  # non-zero biases, tested too
        if "b" in layer.params:
            layer.params["b"][:] = rng.normal(size=layer.params["b"].shape)
    return net, shape


def _assert_trains_as_twin(net, twin, X, rng):
    """A training forward and backward of ``net`` on ``X`` give the outputs
    and gradients its unfused twin gives."""
    Y = net.forward(X, training=True).copy()
    np.testing.assert_allclose(Y, twin.forward(X, training=True), rtol=1e-12)
    dY = rng.normal(size=Y.shape)
    net.backward(dY)
    twin.backward(dY)
    for layer, twin_layer in zip(net.layers, twin.layers):
        for key, grad in layer.grads.items():
            np.testing.assert_allclose(grad, twin_layer.grads[key], rtol=1e-10,
                                       atol=1e-12)  # fmt: skip


@pytest.mark.parametrize("frozen_first", [False, True])
@pytest.mark.parametrize("name", list(FUSED_CASES))
def test_fused_conv_pool_computes_what_the_two_layers_compute(name, frozen_first):
    net, shape = _fused_network(name, frozen_first)
    assert any(isinstance(runner, ConvPool) for _, runner in net._steps)
    twin = _unfused_twin(net)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(4, *shape))
    X[:, : shape[0] // 2] = 0.5  # flat regions: ties in the pooling windows
    _assert_trains_as_twin(net, twin, X, rng)
    np.testing.assert_allclose(net.predict(X), twin.predict(X), rtol=1e-12)
    np.testing.assert_allclose(net.predict(X), net.forward(X), rtol=1e-12)


@pytest.mark.parametrize("name", list(FUSED_CASES))
def test_fused_conv_pool_over_batches_of_changing_sizes(name):
    # Training keeps its window views from batch to batch (Layer._derived):
    # each batch, whatever its size and after one of another size, computes
    # what the unfused layers compute from scratch.
    net, shape = _fused_network(name)
    twin = _unfused_twin(net)
    rng = np.random.default_rng(4)
    for n in (5, 3, 3, 5):
        _assert_trains_as_twin(net, twin, rng.normal(size=(n, *shape)), rng)


@pytest.mark.parametrize("name", list(FUSED_CASES))
def test_fused_conv_pool_finite_differences(name):
    net, shape = _fused_network(name)
    rng = np.random.default_rng(3)
    # Distinct inputs: no maximum can switch under +-eps.
    X = rng.permutation(np.prod((2, *shape))).reshape(2, *shape) / 10.0
    Y = net.forward(X, training=True)
    R = rng.normal(size=Y.shape)

    def loss():
        return float(np.sum(net.forward(X, training=True) * R))

    net.forward(X, training=True)
    net.backward(R)
    params, grads, _ = net.trainable_params()
    analytic = [g.copy() for g in grads]
    for p, g in zip(params, analytic):
        assert_gradient_close(g, numerical_gradient(loss, p), rtol=1e-5, atol=1e-7)


def test_ties_in_a_fused_pool_route_the_gradient_to_the_first_maximum():
    conv, pool = Conv2D(1, 1, activation="relu"), MaxPooling2D(2)
    net = Sequential([conv, pool], dtype=np.float64)
    net.build((2, 2, 1), np.random.default_rng(0))
    conv.params["W"][:] = 1.0
    conv.params["b"][:] = 0.0
    assert isinstance(net._steps[0][1], ConvPool)
    # A tie between (0, 1) and (1, 0): row-major order picks (0, 1).
    X = np.array([[[[1.0], [3.0]], [[3.0], [2.0]]]])
    net.forward(X, training=True)
    conv.trainable = True
    net.backward(np.ones((1, 1, 1, 1)))
    # dW = sum over pixels of x * dZ: only pixel (0, 1), value 3, got dZ = 1.
    np.testing.assert_array_equal(conv.grads["W"].ravel(), [3.0])
    np.testing.assert_array_equal(conv.grads["b"], [1.0])


@pytest.mark.parametrize(
    "conv, pool, input_shape, fused",
    [
        (_relu_conv(2, 2), MaxPooling2D(2), (5, 5, 1), True),
        (Conv2D(2, 2), MaxPooling2D(2), (5, 5, 1), True),
        (Conv2D(2, 2, activation="tanh"), MaxPooling2D(2), (5, 5, 1), False),
        (_relu_conv(2, 2), MaxPooling2D(2, strides=1), (5, 5, 1), False),
        (_relu_conv(2, 2), MaxPooling2D(3, padding="same"), (5, 5, 1), False),
        (_relu_conv(2, 2), MaxPooling2D(2, padding="same"), (5, 5, 1), True),
        (_relu_conv(2, 2), MaxPooling2D(1), (5, 5, 1), False),
    ],
)  # fmt: skip
def test_which_pairs_are_fused(conv, pool, input_shape, fused):
    conv.build(input_shape, np.random.default_rng(0))
    assert ConvPool.fusable(conv, pool) is fused
    assert not ConvPool.fusable(pool, conv)


@pytest.mark.parametrize("head", [[], [Dropout(0.5)]])
def test_a_frozen_fused_pair_runs_in_inference_mode(head):
    # The frozen base ends at the convolution: the pair runs fused, in
    # inference mode, pooling included (it would only keep a cache nobody
    # reads); a Dropout at the start of the head still drops units.
    conv, pool = Conv2D(2, 2, activation="relu"), MaxPooling2D(2)
    conv.trainable = False
    net = Sequential([conv, pool, *head, Flatten(), Dense(2)])
    net.build((6, 6, 1), np.random.default_rng(0))
    assert isinstance(net._steps[0][1], ConvPool)
    X = np.random.default_rng(0).normal(size=(3, 6, 6, 1)).astype(np.float32)
    features = net._steps[0][1].infer(X, {}).reshape(3, -1).copy()
    Y = net.forward(X, training=True)
    assert net._steps[0][1]._cache is None
    head_input = net.layers[-1]._cache[0].copy()
    net.backward(np.ones_like(Y))
    if head:
        assert (head_input == 0).any() and not np.allclose(head_input, features)
    else:
        np.testing.assert_array_equal(head_input, features)
