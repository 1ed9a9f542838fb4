"""Sequential: whole-network gradients, a hand-computed SGD step, freezing, weights."""

import copy
import math

import numpy as np
import pytest
from _gradcheck import assert_gradient_close, numerical_gradient

from skdeep.nn.conv import Conv2D, GlobalAveragePooling2D, MaxPooling2D
from skdeep.nn.layers import Activation, Dense, Dropout, Flatten, Layer
from skdeep.nn.losses import binary_cross_entropy, categorical_cross_entropy
from skdeep.nn.network import Sequential
from skdeep.nn.optimizers import SGD
from skdeep.nn.training import Trainer


class Spy(Layer):
    """Identity layer recording how it is called."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, X, training=False):
        self.calls.append(("forward", training))
        return X

    def backward(self, dY):
        self.calls.append(("backward",))
        return dY


@pytest.mark.parametrize(
    "layers",
    [
        lambda: [Dense(5, activation="tanh"), Dense(3)],
        lambda: [Flatten(), Dense(4, activation="relu"), Dense(4), Activation("tanh")],
        lambda: [Dense(6, activation="sigmoid"), Dropout(0.0), Dense(3)],
    ],
    ids=["tanh", "flatten-relu-activation", "sigmoid-dropout0"],
)
def test_network_gradients_match_finite_differences(layers):
    rng = np.random.default_rng(0)
    input_shape = (2, 3) if isinstance(layers()[0], Flatten) else (6,)
    net = Sequential(layers(), dtype=np.float64)
    out = net.build(input_shape, rng)
    X = rng.normal(size=(7, *input_shape))
    Y = np.eye(out[0])[rng.integers(out[0], size=7)]

    def loss():
        return categorical_cross_entropy(net.forward(X, training=True), Y)[0]

    _, dZ = categorical_cross_entropy(net.forward(X, training=True), Y)
    net.backward(dZ)
    params, grads, _ = net.trainable_params()
    analytic = [g.copy() for g in grads]
    for p, g in zip(params, analytic):
        assert_gradient_close(g, numerical_gradient(loss, p))


def test_one_sgd_step_of_a_2_2_1_sigmoid_network_matches_a_hand_computation():
    x, y, lr = [1.0, 2.0], 1.0, 0.5
    W1, b1 = [[0.1, 0.2], [0.3, 0.4]], [0.0, 0.1]
    W2, b2 = [0.5, -0.6], 0.2

    def sigma(t):
        return 1 / (1 + math.exp(-t))

    # Forward pass, unit by unit (notes 二.2).
    h = [sigma(x[0] * W1[0][j] + x[1] * W1[1][j] + b1[j]) for j in range(2)]
    p = sigma(h[0] * W2[0] + h[1] * W2[1] + b2)
    # Backward pass: with a sigmoid output and cross-entropy, dE/dz = p - y.
    dz = p - y
    dW2 = [h[j] * dz for j in range(2)]
    da = [W2[j] * dz * h[j] * (1 - h[j]) for j in range(2)]
    dW1 = [[x[i] * da[j] for j in range(2)] for i in range(2)]
    expected = [
        [[W1[i][j] - lr * dW1[i][j] for j in range(2)] for i in range(2)],
        [b1[j] - lr * da[j] for j in range(2)],
        [[W2[j] - lr * dW2[j]] for j in range(2)],
        [b2 - lr * dz],
    ]

    net = Sequential([Dense(2, activation="sigmoid"), Dense(1)], dtype=np.float64)
    net.build((2,), np.random.default_rng(0))
    net.set_weights([W1, b1, [[w] for w in W2], [b2]])
    trainer = Trainer(net, binary_cross_entropy, SGD(lr), rng=np.random.default_rng(0))
    loss = trainer.train_epoch(np.array([x]), np.array([[y]]))
    for got, want in zip(net.get_weights(), expected):
        np.testing.assert_allclose(got, np.array(want), rtol=1e-12)
    # A full-batch epoch reports the loss of the weights after its step.
    (W1, b1), (W2, b2) = (expected[0], expected[1]), (expected[2], expected[3])
    h = [sigma(x[0] * W1[0][j] + x[1] * W1[1][j] + b1[j]) for j in range(2)]
    p = sigma(h[0] * W2[0][0] + h[1] * W2[1][0] + b2[0])
    assert loss == pytest.approx(-math.log(p), rel=1e-12)


def test_backward_stops_at_the_lowest_trainable_layer():
    below, middle, above = Spy(), Spy(), Spy()
    frozen = Dense(4)
    frozen.trainable = False
    first, last = Dense(3, activation="relu"), Dense(2)
    net = Sequential([below, frozen, middle, first, above, last])
    net.build((5,), np.random.default_rng(0))
    net.forward(np.ones((2, 5)), training=True)
    net.backward(np.ones((2, 2), dtype=np.float32))
    # The frozen base runs in inference mode; a parameter-free layer above it
    # trains (forward in training mode) but gets no backward: nothing below the
    # first trainable layer needs a gradient.
    assert below.calls == [("forward", False)]
    assert middle.calls == [("forward", True)]
    assert above.calls == [("forward", True), ("backward",)]
    assert not first.needs_input_grad and last.needs_input_grad
    params, _, is_weight = net.trainable_params()
    assert [p.shape for p in params] == [(4, 3), (3,), (3, 2), (2,)]
    assert is_weight == [True, False, True, False]


def test_frozen_layer_above_a_trainable_one_passes_gradients_but_gets_none():
    rng = np.random.default_rng(0)
    frozen = Dense(3, activation="tanh")
    net = Sequential([Dense(4, activation="tanh"), frozen, Dense(2)], dtype=np.float64)
    net.build((5,), rng)
    frozen.trainable = False
    net.build((5,), rng)  # rebuilding keeps the weights and re-reads `trainable`
    before = [w.copy() for w in net.get_weights()]
    trainer = Trainer(net, categorical_cross_entropy, SGD(0.5), rng=rng)
    trainer.train_epoch(rng.normal(size=(6, 5)), np.eye(2)[[0, 1, 0, 1, 0, 1]])
    after = net.get_weights()
    np.testing.assert_array_equal(after[2], before[2])  # frozen weights unchanged
    np.testing.assert_array_equal(frozen.grads["W"], 0)
    assert not np.allclose(after[0], before[0])  # the layer below still learns


def test_prebuilt_layers_keep_their_weights_and_are_cast():
    rng = np.random.default_rng(0)
    source = Sequential([Dense(4, activation="relu"), Dense(3)], dtype=np.float64)
    source.build((5,), rng)
    reused = source.layers[0]
    net = Sequential([reused, Dense(2)])  # float32
    assert net.build((5,), np.random.default_rng(1)) == (2,)
    assert reused.params["W"].dtype == np.float32
    np.testing.assert_allclose(reused.params["W"], source.get_weights()[0], rtol=1e-6)
    with pytest.raises(ValueError, match="was built for inputs of shape \\(5,\\)"):
        Sequential([reused, Dense(2)]).build((6,), rng)


def test_weights_round_trip_and_errors():
    net = Sequential([Dense(3), Dense(2)])
    net.build((4,), np.random.default_rng(0))
    weights = net.get_weights()
    assert [w.shape for w in weights] == [(4, 3), (3,), (3, 2), (2,)]
    assert all(w.dtype == np.float32 for w in weights)
    weights[0][:] = 1.0  # copies: the network is unchanged
    assert not np.all(net.get_weights()[0] == 1.0)
    net.set_weights(weights)
    np.testing.assert_array_equal(net.get_weights()[0], 1.0)
    with pytest.raises(ValueError, match="expects a list of 4 arrays; received 3"):
        net.set_weights(weights[:3])
    with pytest.raises(ValueError, match="Weight 1 has shape \\(4,\\); expected"):
        net.set_weights([weights[0], np.zeros(4), *weights[2:]])


def test_summary_rows_and_predict_in_float64():
    net = Sequential([Flatten(), Dense(8, activation="relu"), Dropout(0.5), Dense(3)])
    net.build((2, 2), np.random.default_rng(0))
    rows = net.summary_rows()
    assert [r["layer"] for r in rows] == [
        "flatten (Flatten)",
        "dense (Dense)",
        "dropout (Dropout)",
        "dense_1 (Dense)",
    ]
    assert [r["output_shape"] for r in rows] == [
        (None, 4),
        (None, 8),
        (None, 8),
        (None, 3),
    ]
    assert [r["params"] for r in rows] == [0, 40, 0, 27]
    assert net.n_params == 67
    X = np.random.default_rng(1).normal(size=(2500, 2, 2)).astype(np.float32)
    Z = net.predict(X, batch_size=1000)
    assert Z.dtype == np.float64 and Z.shape == (2500, 3)
    # A row's output does not depend on the rows batched with it.
    np.testing.assert_array_equal(
        Z[1234:1240], net.predict(X[1234:1240], batch_size=1000)
    )


def test_input_dropout_is_active_in_training():
    # Regression: layers below the first trainable one used to run in inference
    # mode, which switched off input dropout.
    net = Sequential([Dropout(0.5), Dense(3)], dtype=np.float64)
    net.build((200,), np.random.default_rng(0))
    X = np.ones((4, 200))
    trained = net.forward(X, training=True).copy()
    assert not np.allclose(trained, net.forward(X, training=False))
    net.backward(np.ones((4, 3)))  # stops at the Dense: nothing below needs dX
    assert net.layers[1].needs_input_grad is False


def test_dropout_above_a_frozen_base_trains_and_the_base_does_not():
    frozen = Dense(6)
    frozen.trainable = False
    below, above = Dropout(0.5), Dropout(0.5)
    frozen_below = Dropout(0.5)
    frozen_below.trainable = False
    net = Sequential([below, frozen_below, frozen, above, Dense(2)])
    net.build((40,), np.random.default_rng(0))
    X = np.ones((3, 40), dtype=np.float32)
    net.forward(X, training=True)
    # Below the last frozen layer: inference (no mask kept); above it: dropout.
    assert below._cache is None and frozen_below._cache is None
    assert above._cache is not None and (above._cache == 0).any()


def test_build_hands_the_generator_to_built_layers():
    # Regression: a prebuilt (copied) Dropout kept the generator of its first
    # build, so its masks ignored the caller's random state.
    dropout = Dropout(0.5)
    dropout.build((50,), np.random.default_rng(123))
    X = np.ones((2, 50), dtype=np.float32)

    def masks(seed):
        net = Sequential([copy.deepcopy(dropout), Dense(2)])
        net.build((50,), np.random.default_rng(seed))
        return net.layers[0].forward(X, training=True).copy()

    np.testing.assert_array_equal(masks(0), masks(0))
    assert not np.array_equal(masks(0), masks(1))


def test_dropout_without_a_generator_fails_clearly():
    layer = Dropout(0.5)
    layer.build((3,), None)
    with pytest.raises(RuntimeError, match="random generator"):
        layer.forward(np.ones((2, 3)), training=True)


def test_frozen_base_reuses_its_buffers_from_batch_to_batch():
    base = Dense(6, activation="relu")
    base.trainable = False
    net = Sequential([base, Dense(2)])
    net.build((4,), np.random.default_rng(0))
    X = np.ones((3, 4), dtype=np.float32)
    first = net.forward(X, training=True)
    cached = net.layers[1]._cache[0]  # the frozen base's output, Dense's input
    net.backward(np.ones_like(first))
    net.forward(2 * X, training=True)
    assert net.layers[1]._cache[0] is cached  # written in place, not reallocated
    np.testing.assert_allclose(cached, base.forward(2 * X), rtol=1e-6)


def test_replica_shares_the_weights_and_owns_its_gradients_and_state():
    """A replica computes with the very weight arrays (an update made to them
    reaches it) but has gradients of its own, laid out like the network's flat
    gradients, and its own caches, buffers and dropout generator: catches a
    replica writing the network's gradients or caches, a stale weight copy,
    or a gradient layout the trainer's sum would misalign."""
    net = Sequential(
        [Conv2D(3, 2, activation="relu"), MaxPooling2D(2), Flatten(),
         Dense(4, activation="tanh"), Dropout(0.5), Dense(2)],
        dtype=np.float64,
    )  # fmt: skip
    net.build((6, 6, 1), np.random.default_rng(0))
    flat_params, flat_grads = net.flat_trainable()
    replica, replica_grads = net.replica(np.random.default_rng(1))
    X = np.random.default_rng(2).normal(size=(5, 6, 6, 1))
    dZ = np.ones((5, 2))
    for layer, twin in zip(net.layers, replica.layers):
        for name, p in layer.params.items():
            assert twin.params[name] is p
            if Sequential._is_trained(layer):
                offset = twin.grads[name].ctypes.data - replica_grads.ctypes.data
                assert offset == layer.grads[name].ctypes.data - flat_grads.ctypes.data
    assert replica.layers[4]._rng is not net.layers[4]._rng
    for rate in (0.0, 0.5):
        replica.layers[4].rate = net.layers[4].rate = rate
        net.forward(X, training=True)
        net.backward(dZ)
        expected = flat_grads.copy()
        flat_grads[...] = 0
        replica.forward(X, training=True)
        assert all(runner._cache is None for _, runner in net._get_steps())
        replica.backward(dZ)
        np.testing.assert_array_equal(flat_grads, 0)  # the network's are untouched
        if rate == 0:  # the same computation, array for array
            np.testing.assert_array_equal(replica_grads, expected)
        else:  # other dropout masks
            assert not np.array_equal(replica_grads, expected)
    flat_params += 1.0  # an optimizer step, in place
    np.testing.assert_array_equal(replica.predict(X), net.predict(X))
    np.testing.assert_array_equal(
        replica.layers[0].params["W"], flat_params[:12].reshape(2, 2, 1, 3)
    )


def _bounded_networks():
    from skdeep.nn.layers import Activation, Flatten
    from skdeep.nn.locally_connected import LocallyConnected2D

    return [
        ([Dense(6, activation="relu"), Dense(4, activation="tanh"), Dense(3)], (5,)),
        ([Dense(6), Activation("softmax"), Dense(2, activation="sigmoid")], (5,)),
        ([Conv2D(4, 3, padding="same", activation="relu"), MaxPooling2D(2),
          LocallyConnected2D(3, 2), Flatten(), Dropout(0.5), Dense(2)], (8, 8, 2)),
        ([Conv2D(3, 2, strides=2), GlobalAveragePooling2D(), Dense(2)], (6, 6, 1)),
    ]  # fmt: skip


@pytest.mark.parametrize("k", range(4))
def test_output_bound_bounds_every_output(k):
    # The bound a fit relies on to skip its final pass (run_epochs): no output
    # may exceed it, for inputs as large as the bound assumes. Biases and
    # weights are random (not the zero biases of a fresh layer), and the
    # inputs' signs follow the weights' where they can, to come close to it.
    layers, shape = _bounded_networks()[k]
    rng = np.random.default_rng(k)
    net = Sequential(layers, dtype=np.float64)
    net.build(shape, rng)
    for layer in net.layers:
        for p in layer.params.values():
            p[...] = rng.normal(size=p.shape) * 3
    X = rng.choice([-2.0, 2.0], size=(200, *shape))
    bound = net.output_bound(X)
    assert np.abs(net.predict(X)).max() <= bound
    if k == 0:  # a single Dense is tight: inputs of the weights' signs reach it
        single = Sequential([Dense(1)], dtype=np.float64)
        single.build((5,), rng)
        W, b = single.layers[0].params["W"], single.layers[0].params["b"]
        b[...] = 0.5
        x = 2.0 * np.sign(W[:, 0])[None]
        assert single.output_bound(x) == pytest.approx(single.predict(x)[0, 0])
    # Weights so large that a value might overflow float32: no bound.
    for layer in net.layers:
        for p in layer.params.values():
            p *= 1e31
    assert net.output_bound(X) is None
