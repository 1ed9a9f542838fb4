"""Tests of skdeep.nn.locally_connected: naive loops, finite differences, PyTorch.

The naive reference below computes one output value at a time from Keras'
definition of the layer (each output pixel ``(y, x)`` has its own kernel
``W[y * out_w + x]``, whose rows follow the ``(kh, kw, c)`` order of the
flattened window) and lives only here (STYLE.md).
"""

import inspect

import numpy as np
import pytest
from _gradcheck import assert_gradient_close, numerical_gradient

from skdeep import ConvNetClassifier
from skdeep.layers import Conv2D, Dense, Flatten, LocallyConnected2D
from skdeep.nn.network import Sequential

# Agreement of two exact computations in float64, up to rounding.
TIGHT = {"rtol": 1e-10, "atol": 1e-12}

# ---------------------------------------------------------------------------
# Naive reference
# ---------------------------------------------------------------------------


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def naive_locally_connected(X, W, b, kernel, strides):
    """Forward pass, one output value at a time."""
    kh, kw = kernel
    sh, sw = strides
    n, h, w, _ = X.shape
    out_h, out_w = (h - kh) // sh + 1, (w - kw) // sw + 1
    filters = W.shape[2]
    Y = np.zeros((n, out_h, out_w, filters))
    for i in range(n):
        for y in range(out_h):
            for x in range(out_w):
                window = X[i, y * sh : y * sh + kh, x * sw : x * sw + kw, :]
                kernel_yx = W[y * out_w + x]  # (kh * kw * c, filters)
                for f in range(filters):
                    Y[i, y, x, f] = window.reshape(-1) @ kernel_yx[:, f] + b[y, x, f]
    return Y


def naive_locally_connected_backward(X, W, dY, kernel, strides):
    """(dX, dW, db) for the output gradient dY, one output value at a time."""
    kh, kw = kernel
    sh, sw = strides
    n, out_h, out_w, filters = dY.shape
    dX, dW = np.zeros_like(X), np.zeros_like(W)
    for i in range(n):
        for y in range(out_h):
            for x in range(out_w):
                rows = slice(y * sh, y * sh + kh)
                cols = slice(x * sw, x * sw + kw)
                p = y * out_w + x
                for f in range(filters):
                    g = dY[i, y, x, f]
                    dW[p, :, f] += g * X[i, rows, cols, :].reshape(-1)
                    dX[i, rows, cols, :] += g * W[p, :, f].reshape(kh, kw, -1)
    return dX, dW, dY.sum(axis=0)


# (h, w, c, filters, kernel, strides). They cover square and rectangular
# kernels and strides, overlapping windows, windows tiling the image exactly
# (col2im's copy path), strides leaving pixels in no window, a kernel as large
# as the image (one position) and a 1-D signal.
CONFIGS = [
    (5, 5, 1, 1, 1, 1),
    (6, 7, 3, 4, 3, 1),
    (7, 6, 2, 3, 2, 2),
    (8, 8, 2, 5, 2, 2),
    (9, 7, 3, 2, (3, 2), (2, 1)),
    (9, 7, 3, 2, (2, 3), (1, 3)),
    (5, 5, 2, 3, 5, 1),
    (1, 6, 1, 2, (1, 3), 1),
    (5, 4, 2, 3, (2, 1), (3, 1)),
]


def _case(config, dtype=np.float64, seed=0, activation=None):
    h, w, c, filters, kernel, strides = config
    rng = np.random.default_rng(seed)
    layer = LocallyConnected2D(filters, kernel, strides=strides, activation=activation)
    out_shape = layer.build((h, w, c), rng, dtype=dtype)
    # Keras' init is small (see its Notes): draw weights of order one, and a
    # non-zero bias so that it is tested too.
    layer.params["W"][...] = rng.normal(size=layer.params["W"].shape)
    layer.params["b"][...] = rng.normal(size=layer.params["b"].shape)
    X = rng.normal(size=(3, h, w, c)).astype(dtype)
    return layer, X, out_shape


# ---------------------------------------------------------------------------
# Forward and backward against the naive loops, finite differences, PyTorch
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("config", CONFIGS)
def test_matches_naive_loops(config):
    """Catches wrong window/position pairing, a kernel row order other than
    (kh, kw, c), a bias shared across positions, and a wrong col2im fold."""
    layer, X, out_shape = _case(config)
    kernel, strides = _pair(config[4]), _pair(config[5])
    W, b = layer.params["W"], layer.params["b"]
    expected = naive_locally_connected(X, W, b, kernel, strides)
    # Inference takes the allocating code path, training the buffered one.
    np.testing.assert_allclose(layer.forward(X), expected, **TIGHT)
    Y = layer.forward(X, training=True)
    assert Y.shape == (3, *out_shape) == expected.shape
    np.testing.assert_allclose(Y, expected, **TIGHT)

    dY = np.random.default_rng(1).normal(size=Y.shape)
    dX = layer.backward(dY)
    dX_ref, dW_ref, db_ref = naive_locally_connected_backward(X, W, dY, kernel, strides)
    np.testing.assert_allclose(dX, dX_ref, **TIGHT)
    np.testing.assert_allclose(layer.grads["W"], dW_ref, **TIGHT)
    np.testing.assert_allclose(layer.grads["b"], db_ref, **TIGHT)


@pytest.mark.parametrize("activation", [None, "relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("config", CONFIGS[1:6])
def test_finite_differences(config, activation):
    """Catches any backward that is not the derivative of forward, through
    every activation (e.g. dZ taken before the activation's derivative)."""
    layer, X, _ = _case(config, activation=activation)
    X = X[:2]
    R = np.random.default_rng(2).normal(size=layer.forward(X).shape)

    def loss():
        return float(np.sum(layer.forward(X) * R))

    layer.forward(X, training=True)
    dX = layer.backward(R.copy())
    assert_gradient_close(dX, numerical_gradient(loss, X))
    for name, param in layer.params.items():
        layer.forward(X, training=True)
        layer.backward(R.copy())
        assert_gradient_close(layer.grads[name], numerical_gradient(loss, param))


@pytest.mark.parametrize("config", CONFIGS)
def test_matches_torch_unfold(config):
    """PyTorch has no locally connected layer; building one from F.unfold and
    a batched product (autograd for the gradients) is an independent
    implementation. Catches the same bugs as the naive loops, against code
    that shares nothing with skdeep's im2col/col2im."""
    torch = pytest.importorskip("torch")
    layer, X, (out_h, out_w, filters) = _case(config)
    kh, kw = _pair(config[4])
    sh, sw = _pair(config[5])
    n, _, _, c = X.shape
    Y = layer.forward(X, training=True)
    dY = np.random.default_rng(1).normal(size=Y.shape)
    dX = layer.backward(dY)

    Xt = torch.tensor(X.transpose(0, 3, 1, 2), requires_grad=True)  # NCHW
    Wt = torch.tensor(layer.params["W"], requires_grad=True)
    bt = torch.tensor(layer.params["b"], requires_grad=True)
    # unfold: (n, c * kh * kw, P), rows in (c, kh, kw) order -> (n, P, kh*kw*c).
    cols = torch.nn.functional.unfold(Xt, (kh, kw), stride=(sh, sw))
    cols = cols.reshape(n, c, kh, kw, -1).permute(0, 4, 2, 3, 1)
    cols = cols.reshape(n, -1, kh * kw * c)
    Yt = torch.einsum("npk,pkf->npf", cols, Wt).reshape(n, out_h, out_w, filters) + bt
    Yt.backward(torch.tensor(dY))

    np.testing.assert_allclose(Y, Yt.detach().numpy(), **TIGHT)
    np.testing.assert_allclose(
        dX, Xt.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(layer.grads["W"], Wt.grad.numpy(), **TIGHT)
    np.testing.assert_allclose(layer.grads["b"], bt.grad.numpy(), **TIGHT)


def test_shared_weights_give_the_convolution():
    """A locally connected layer whose positions all hold the same kernel is a
    'valid' Conv2D. Catches a kernel layout that disagrees with Conv2D's
    (kh, kw, c_in, filters) kernel flattened in im2col order."""
    rng = np.random.default_rng(0)
    conv = Conv2D(4, (3, 2), strides=(2, 1), activation="tanh")
    local = LocallyConnected2D(4, (3, 2), strides=(2, 1), activation="tanh")
    assert conv.build((7, 5, 3), rng, dtype=np.float64) == local.build(
        (7, 5, 3), rng, dtype=np.float64
    )
    conv.params["b"][...] = rng.normal(size=4)
    local.params["W"][...] = conv.params["W"].reshape(1, 3 * 2 * 3, 4)
    local.params["b"][...] = conv.params["b"]
    X = rng.normal(size=(2, 7, 5, 3))
    np.testing.assert_allclose(local.forward(X), conv.forward(X), rtol=1e-12)


# ---------------------------------------------------------------------------
# Shapes, parameter counts and initialisation
# ---------------------------------------------------------------------------


def test_keras_documentation_example_shapes_and_params():
    """Keras' docs: 64 filters of 3x3 on 32x32x3 give (30, 30, 64) and
    (30*30)*(3*3*3*64) + (30*30)*64 parameters. Catches a Conv2D-like count
    (shared weights) or a per-filter bias instead of a per-position one."""
    layer = LocallyConnected2D(64, (3, 3))
    assert layer.build((32, 32, 3), np.random.default_rng(0)) == (30, 30, 64)
    assert layer.params["W"].shape == (30 * 30, 3 * 3 * 3, 64)
    assert layer.params["b"].shape == (30, 30, 64)
    assert layer.n_params == 1_612_800 == (30 * 30) * (3 * 3 * 3 * 64) + (30 * 30) * 64


def test_parameter_count_in_convnet_summary():
    """The public summary() reports out_h*out_w*(kh*kw*c_in*filters + filters)
    for the layer (9x9x2 input, 3x3 kernel, stride 2: a 4x4 output). Catches a
    wrong count or output shape reaching users, and a layer name other than
    Keras' 'locally_connected2d'."""
    clf = ConvNetClassifier(
        layers=[LocallyConnected2D(4, 3, strides=2, activation="relu"), Flatten(),
                Dense(8, activation="relu")],
        input_shape=(9, 9, 2),
    )  # fmt: skip
    summary = clf.summary()
    first = summary.iloc[0].to_dict()
    assert first == {
        "layer": "locally_connected2d (LocallyConnected2D)",
        "output_shape": (None, 4, 4, 4),
        "params": 4 * 4 * (3 * 3 * 2 * 4) + 4 * 4 * 4,
        "trainable": True,
    }
    assert summary["params"].tolist() == [1216, 0, 4 * 4 * 4 * 8 + 8]
    assert "Total params: 1,736" in str(summary)


def test_glorot_uniform_init_with_keras_fans_and_zero_bias():
    """Keras' fans for a (P, K, F) kernel are P*K and P*F. Catches per-unit
    fans (a limit sqrt(P) times larger), a normal draw, or a random bias."""
    layer = LocallyConnected2D(8, 3)
    layer.build((12, 12, 4), np.random.default_rng(0))
    n_positions, window = 10 * 10, 3 * 3 * 4
    limit = np.sqrt(6 / (n_positions * window + n_positions * 8))
    W = layer.params["W"]
    assert np.abs(W).max() <= limit
    assert np.abs(W).max() > 0.99 * limit
    assert abs(W.std() - limit / np.sqrt(3)) < 0.02 * limit
    np.testing.assert_array_equal(layer.params["b"], 0)


def test_float32_in_float32_out():
    """Catches a float64 temporary leaking into training (twice the memory)."""
    layer = LocallyConnected2D(4, 3, activation="relu")
    layer.build((6, 6, 2), np.random.default_rng(0))
    assert layer.params["W"].dtype == layer.params["b"].dtype == np.float32
    X = np.random.default_rng(0).normal(size=(2, 6, 6, 2)).astype(np.float32)
    Y = layer.forward(X, training=True)
    assert Y.dtype == np.float32
    assert layer.backward(np.ones_like(Y)).dtype == np.float32
    assert layer.grads["W"].dtype == layer.grads["b"].dtype == np.float32


# ---------------------------------------------------------------------------
# The layer contract: flat buffers, frozen layers, caches
# ---------------------------------------------------------------------------


def test_reads_weights_and_writes_gradients_in_the_flat_buffers():
    """During training the weights and gradients become views into one flat
    array each (Sequential.flat_trainable). Catches a layer that keeps its
    own reference to W (taken at build or at a first forward), or rebinds
    grads instead of writing into them."""
    rng = np.random.default_rng(0)
    layer = LocallyConnected2D(3, 2, strides=(1, 2))
    network = Sequential([layer], dtype=np.float64)
    network.build((4, 5, 2), rng)
    X = rng.normal(size=(2, 4, 5, 2))
    network.forward(X)  # as a network that predicted before being trained
    flat_params, flat_grads = network.flat_trainable()
    flat_params[...] = rng.normal(size=flat_params.shape)  # through the buffer
    W, b = layer.params["W"], layer.params["b"]
    assert np.shares_memory(W, flat_params)
    Y = network.forward(X, training=True)
    np.testing.assert_allclose(Y, naive_locally_connected(X, W, b, (2, 2), (1, 2)))
    dY = rng.normal(size=Y.shape)
    layer.needs_input_grad = True
    layer.backward(dY)
    _, dW_ref, db_ref = naive_locally_connected_backward(X, W, dY, (2, 2), (1, 2))
    expected = np.concatenate([dW_ref.ravel(), db_ref.ravel()])
    np.testing.assert_allclose(flat_grads, expected, **TIGHT)


def test_frozen_layer_computes_no_weight_gradients():
    """trainable=False: grads untouched, dX still exact. Catches a frozen layer
    that overwrites its gradients or stops passing the gradient on."""
    layer, X, _ = _case(CONFIGS[4])
    layer.trainable = False
    for g in layer.grads.values():
        g[...] = 7.0
    Y = layer.forward(X, training=True)
    dY = np.random.default_rng(1).normal(size=Y.shape)
    dX = layer.backward(dY)
    for g in layer.grads.values():
        np.testing.assert_array_equal(g, 7.0)
    dX_ref, _, _ = naive_locally_connected_backward(
        X, layer.params["W"], dY, _pair(CONFIGS[4][4]), _pair(CONFIGS[4][5])
    )
    np.testing.assert_allclose(dX, dX_ref, **TIGHT)


def test_no_input_gradient_when_nothing_reads_it():
    """needs_input_grad=False (the lowest trained layer): backward returns None
    but still fills the weight gradients. Catches skipping dW with dX."""
    layer, X, _ = _case(CONFIGS[1])
    layer.needs_input_grad = False
    Y = layer.forward(X, training=True)
    dY = np.random.default_rng(1).normal(size=Y.shape)
    assert layer.backward(dY) is None
    _, dW_ref, db_ref = naive_locally_connected_backward(
        X, layer.params["W"], dY, _pair(CONFIGS[1][4]), _pair(CONFIGS[1][5])
    )
    np.testing.assert_allclose(layer.grads["W"], dW_ref, **TIGHT)
    np.testing.assert_allclose(layer.grads["b"], db_ref, **TIGHT)


def test_backward_without_training_forward_raises():
    """Catches backward running on a stale cache, or inference keeping one."""
    layer = LocallyConnected2D(2, 2)
    layer.build((4, 4, 2), np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="without a preceding"):
        layer.backward(np.ones((1, 3, 3, 2)))
    layer.forward(np.ones((1, 4, 4, 2)), training=True)
    layer.forward(np.ones((1, 4, 4, 2)), training=False)
    with pytest.raises(RuntimeError, match="without a preceding"):
        layer.backward(np.ones((1, 3, 3, 2)))


# ---------------------------------------------------------------------------
# Configuration and errors
# ---------------------------------------------------------------------------


def test_get_config_returns_constructor_arguments():
    """Catches a config that misses an argument or cannot rebuild the layer."""
    layer = LocallyConnected2D(8, (3, 2), strides=2, padding="VALID", activation="relu")
    config = layer.get_config()
    assert list(config) == list(inspect.signature(LocallyConnected2D).parameters)
    assert config == {
        "filters": 8, "kernel_size": (3, 2), "strides": (2, 2),
        "padding": "valid", "activation": "relu",
    }  # fmt: skip
    assert LocallyConnected2D(**config).get_config() == config
    assert repr(LocallyConnected2D(2, 1)) == (
        "LocallyConnected2D(filters=2, kernel_size=(1, 1), strides=(1, 1), "
        "padding='valid', activation=None)"
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"filters": 0, "kernel_size": 2}, r"`filters` must be a positive integer; "
                                           r"received filters=0\."),
        ({"filters": 2.5, "kernel_size": 2}, r"received filters=2\.5"),
        ({"filters": 4, "kernel_size": (2, 2, 2)}, r"tuple of 2 .*\(2, 2, 2\)"),
        ({"filters": 4, "kernel_size": 2, "strides": 0}, r"`strides` must be a"),
        ({"filters": 4, "kernel_size": 2, "padding": "same"},
         r"`padding` must be 'valid'.*never learn.*received padding='same'\."),
        ({"filters": 4, "kernel_size": 2, "padding": None}, r"received padding=None"),
        ({"filters": 4, "kernel_size": 2, "activation": "swish"},
         r"Unknown activation 'swish'"),
    ],
)  # fmt: skip
def test_invalid_arguments_raise_clear_errors(kwargs, message):
    """Catches arguments accepted now that would fail (or do the wrong thing)
    at fit time, e.g. 'same' padding silently treated as 'valid'."""
    with pytest.raises(ValueError, match=message):
        LocallyConnected2D(**kwargs)


@pytest.mark.parametrize(
    "input_shape, rng, message",
    [
        ((4, 6, 1), np.random.default_rng(0), r"kernel 5x5 is larger than the 4x6"),
        ((8, 8), np.random.default_rng(0), r"expects images of shape \(height, "
                                           r"width, channels\); received "
                                           r"input_shape=\(8, 8\)"),
        ((8, 8, 1), None, r"needs a numpy.random.Generator.*received rng=None"),
    ],
)  # fmt: skip
def test_build_rejects_what_does_not_fit(input_shape, rng, message):
    """Catches a zero-position layer or an uninitialised kernel."""
    with pytest.raises(ValueError, match=message):
        LocallyConnected2D(2, 5 if len(input_shape) == 3 else 2).build(input_shape, rng)


def test_forward_rejects_images_of_another_size():
    """Weights exist per position: a 7x7 batch for a layer built on 6x6 images
    must not be silently cropped to the positions the layer knows."""
    layer = LocallyConnected2D(2, 3)
    layer.build((6, 6, 1), np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"built for images of shape \(6, 6, 1\)"):
        layer.forward(np.zeros((2, 7, 7, 1)))
    with pytest.raises(ValueError, match=r"received X of shape \(2, 6, 6, 3\)"):
        layer.forward(np.zeros((2, 6, 6, 3)))


# ---------------------------------------------------------------------------
# Inside the estimator
# ---------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_trains_inside_convnet_classifier():
    """A tiny fit on images whose class is a bright patch at one of two places
    (a position-dependent rule, the layer's use case): the training loss falls
    and the images are classified. Catches a layer whose gradients the engine
    cannot use (wrong buffers, wrong shapes) or that does not learn."""
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 0.3, size=(40, 6, 6, 1))
    y = np.arange(40) % 2
    X[y == 0, :3, :3] += 1.0  # top-left patch
    X[y == 1, 3:, 3:] += 1.0  # bottom-right patch
    clf = ConvNetClassifier(
        [LocallyConnected2D(2, 3, activation="relu"), Flatten()],
        optimizer="adam", learning_rate=0.02, batch_size=10, max_iter=15,
        n_iter_no_change=15, random_state=0,
    ).fit(X, y)  # fmt: skip
    assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[0]
    assert clf.score(X, y) == 1.0
    assert isinstance(clf.network_.layers[0], LocallyConnected2D)
