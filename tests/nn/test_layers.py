"""Dense, Activation, Dropout, Flatten: gradients, the layer contract, edge cases."""

import copy
import pickle

import numpy as np
import pytest
from _gradcheck import assert_gradient_close, numerical_gradient

from skdeep.nn.layers import Activation, Dense, Dropout, Flatten


def _gradcheck_layer(layer, X, reseed=None):
    """Compare backward with central differences of sum(forward(X) * R)."""
    rng = np.random.default_rng(1)
    R = None

    def loss():
        if reseed is not None:
            reseed()
        return float(np.sum(layer.forward(X, training=True) * R))

    if reseed is not None:
        reseed()
    Y = layer.forward(X, training=True)
    R = rng.normal(size=Y.shape)
    dX = layer.backward(R)
    analytic = {name: g.copy() for name, g in layer.grads.items()}
    assert_gradient_close(dX, numerical_gradient(loss, X))
    for name, p in layer.params.items():
        assert_gradient_close(analytic[name], numerical_gradient(loss, p))


@pytest.mark.parametrize(
    "activation", [None, "identity", "relu", "tanh", "sigmoid", "softmax"]
)
@pytest.mark.parametrize("shape", [(5, 3, 4), (1, 1, 1), (7, 6, 2)])
def test_dense_gradients(activation, shape):
    n, n_in, units = shape
    rng = np.random.default_rng(0)
    layer = Dense(units, activation=activation)
    layer.build((n_in,), rng, dtype=np.float64)
    layer.params["b"][:] = rng.normal(size=units)
    X = rng.normal(size=(n, n_in))
    _gradcheck_layer(layer, X)


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid", "softmax", "identity"])
def test_activation_layer_gradients(name):
    X = np.random.default_rng(0).normal(size=(4, 3))
    layer = Activation(name)
    layer.build((3,), None)
    _gradcheck_layer(layer, X)


@pytest.mark.parametrize("rate", [0.0, 0.3, 0.8])
def test_dropout_gradients_with_a_fixed_mask(rate):
    layer = Dropout(rate)
    layer.build((6,), np.random.default_rng(0), dtype=np.float64)

    def reseed():
        layer._rng = np.random.default_rng(42)

    _gradcheck_layer(layer, np.random.default_rng(0).normal(size=(5, 6)), reseed)


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 7), (1, 2, 2)])
def test_flatten_gradients_and_order(shape):
    X = np.random.default_rng(0).normal(size=shape)
    layer = Flatten()
    assert layer.build(shape[1:], None) == (int(np.prod(shape[1:])),)
    np.testing.assert_array_equal(layer.forward(X), X.reshape(shape[0], -1))
    _gradcheck_layer(layer, X)


def test_dense_uses_glorot_uniform_and_zero_bias():
    layer = Dense(200, activation="relu")
    assert layer.build((300,), np.random.default_rng(0)) == (200,)
    W, b = layer.params["W"], layer.params["b"]
    limit = np.sqrt(6 / (300 + 200))
    assert W.shape == (300, 200) and W.dtype == np.float32
    assert np.abs(W).max() <= limit
    assert np.abs(W).max() > 0.95 * limit
    np.testing.assert_array_equal(b, 0)
    assert layer.n_params == 300 * 200 + 200
    assert layer.get_config() == {"units": 200, "activation": "relu"}
    assert repr(layer) == "Dense(units=200, activation='relu')"


def test_backward_overwrites_gradients():
    rng = np.random.default_rng(0)
    layer = Dense(3, activation="tanh")
    layer.build((4,), rng, dtype=np.float64)
    X, dY = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    grads = []
    for _ in range(2):
        layer.forward(X, training=True)
        layer.backward(dY)
        grads.append(layer.grads["W"].copy())
    np.testing.assert_array_equal(grads[0], grads[1])


@pytest.mark.parametrize(
    "layer", [Dense(2), Activation("relu"), Dropout(0.5), Flatten()], ids=repr
)
def test_backward_without_training_forward_raises(layer):
    layer.build((3,), np.random.default_rng(0))
    layer.forward(np.ones((2, 3)), training=False)  # inference keeps no cache
    with pytest.raises(RuntimeError, match="without a preceding forward"):
        layer.backward(np.ones((2, layer.output_shape((3,))[0])))


def test_frozen_dense_computes_no_weight_gradient_and_input_grad_is_optional():
    rng = np.random.default_rng(0)
    layer = Dense(2)
    layer.build((3,), rng, dtype=np.float64)
    layer.trainable = False
    layer.forward(rng.normal(size=(4, 3)), training=True)
    dX = layer.backward(np.ones((4, 2)))
    np.testing.assert_array_equal(layer.grads["W"], 0)
    assert dX.shape == (4, 3)

    layer.trainable, layer.needs_input_grad = True, False
    layer.forward(rng.normal(size=(4, 3)), training=True)
    assert layer.backward(np.ones((4, 2))) is None
    assert np.abs(layer.grads["W"]).sum() > 0


def test_dropout_is_identity_at_predict_and_inverted_in_training():
    layer = Dropout(0.25)
    layer.build((10_000,), np.random.default_rng(0))
    X = np.ones((2, 10_000), dtype=np.float32)
    assert layer.forward(X, training=False) is X
    Y = layer.forward(X, training=True)
    assert set(np.unique(Y)) == {0.0, np.float32(1 / 0.75)}
    assert abs((Y == 0).mean() - 0.25) < 0.02
    assert abs(Y.mean() - 1.0) < 0.03  # inverted dropout keeps the expectation


@pytest.mark.parametrize("rate", [-0.1, 1.0, "0.5", True])
def test_dropout_rejects_bad_rates(rate):
    with pytest.raises(ValueError, match="`rate` must be a float in \\[0, 1\\)"):
        Dropout(rate)


@pytest.mark.parametrize("units", [0, -3, 2.5, True])
def test_dense_rejects_bad_units(units):
    with pytest.raises(ValueError, match="`units` must be a positive integer"):
        Dense(units)


def test_dense_needs_flat_input_and_activation_names():
    with pytest.raises(ValueError, match="Put a Flatten\\(\\) layer before it"):
        Dense(3).build((4, 4, 1), np.random.default_rng(0))
    with pytest.raises(ValueError, match="Unknown activation"):
        Dense(3, activation="swish")
    with pytest.raises(ValueError, match="Unknown activation"):
        Activation("swish")


def test_copies_and_pickles_drop_caches_and_buffers():
    rng = np.random.default_rng(0)
    layer = Dense(3, activation="relu")
    layer.build((4,), rng)
    layer.forward(np.ones((5, 4), dtype=np.float32), training=True)
    for clone in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
        assert clone._cache is None and clone._buffers == {}
        np.testing.assert_array_equal(clone.params["W"], layer.params["W"])
        X = np.ones((2, 4), dtype=np.float32)
        np.testing.assert_array_equal(clone.forward(X), layer.forward(X))
