"""One epoch of gradient descent: batches, weights, penalties, constraints."""

import numpy as np
import pytest

from skdeep.nn.layers import Dense
from skdeep.nn.losses import squared_error
from skdeep.nn.network import Sequential
from skdeep.nn.optimizers import SGD
from skdeep.nn.trainer import StopRequest, Trainer


def _linear_net(n_features=3, dtype=np.float64):
    net = Sequential([Dense(1)], dtype=dtype)
    net.build((n_features,), np.random.default_rng(0))
    return net


class CountingSGD(SGD):
    def step(self, params, grads):
        self.n_steps_ = getattr(self, "n_steps_", 0) + 1
        super().step(params, grads)


@pytest.mark.parametrize(
    "batch_size, n_steps", [(None, 1), (100, 1), (4, 3), (5, 2), (1, 10)]
)
def test_mini_batches(batch_size, n_steps):
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(10, 3)), rng.normal(size=(10, 1))
    optimizer = CountingSGD(0.01)
    trainer = Trainer(
        _linear_net(), squared_error, optimizer, batch_size=batch_size, rng=rng
    )
    trainer.train_epoch(X, Y)
    assert optimizer.n_steps_ == n_steps


def test_full_batch_does_not_depend_on_the_shuffling_seed():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(10, 3)), rng.normal(size=(10, 1))
    weights = []
    for seed in (1, 2):
        net = _linear_net()
        Trainer(
            net, squared_error, SGD(0.1), rng=np.random.default_rng(seed)
        ).train_epoch(X, Y)
        weights.append(net.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_sample_weights_estimate_the_weighted_mean_and_skip_zero_batches():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 1))
    w = np.array([0.0, 0.0, 0.0, 2.0, 1.0, 1.0])
    net = _linear_net()
    full_loss = squared_error(net.forward(X), Y, w)[0]
    optimizer = CountingSGD(0.0)
    trainer = Trainer(net, squared_error, optimizer, batch_size=3, rng=rng)
    trainer.rng = type("NoShuffle", (), {"permutation": staticmethod(np.arange)})()
    loss = trainer.train_epoch(X, Y, w)
    assert optimizer.n_steps_ == 1  # the all-zero batch is skipped
    # Batch losses are rescaled by mean(batch weights) / mean(weights), so the
    # epoch loss is the weighted mean over the data set.
    assert loss == pytest.approx(full_loss)


def test_weight_decay_and_the_proximal_l1_step_by_hand():
    """One full-batch SGD step, by hand: the L2 term joins the gradient, then
    every weight moves lr * l1 towards 0 and stops there (soft thresholding);
    biases are not penalised. The epoch's loss is that of the new weights.
    Catches l1 as a sign subgradient (no exact zeros) and a pre-step loss."""
    X = np.array([[1.0, -2.0, 0.5]])
    Y = np.array([[0.3]])
    lr, alpha, l1 = 0.1, 0.5, 0.2
    net = _linear_net()
    net.layers[0].params["W"][:, 0] = [0.5, 0.01, -0.4]  # the middle one will hit 0
    W, b = (w.copy() for w in net.get_weights())
    trainer = Trainer(
        net, squared_error, SGD(lr), alpha=alpha, l1=l1, rng=np.random.default_rng(0)
    )
    penalty = 0.5 * alpha * np.sum(W**2) + l1 * np.abs(W).sum()
    assert trainer.penalty() == pytest.approx(penalty)
    residual = (X @ W + b - Y)[0, 0]
    loss = trainer.train_epoch(X, Y)
    step = W - lr * (X.T * residual + alpha * W)
    shrunk = np.sign(step) * np.maximum(np.abs(step) - lr * l1, 0)
    np.testing.assert_allclose(net.get_weights()[0], shrunk)
    assert net.get_weights()[0][1, 0] == 0.0  # exactly zero
    new_b = b - lr * residual  # no decay on the bias
    np.testing.assert_allclose(net.get_weights()[1], new_b)
    new_residual = (X @ shrunk + new_b - Y)[0, 0]
    new_penalty = 0.5 * alpha * np.sum(shrunk**2) + l1 * np.abs(shrunk).sum()
    assert loss == pytest.approx(0.5 * new_residual**2 + new_penalty)


def test_max_norm_rescales_each_units_incoming_weights():
    """Keras' MaxNorm(axis=0): columns of W longer than max_norm are scaled back
    to it, shorter ones untouched; catches a norm over the wrong axis."""
    net = Sequential([Dense(3)], dtype=np.float64)
    net.build((2,), np.random.default_rng(0))
    net.layers[0].params["W"][...] = [[3.0, 0.1, 0.0], [4.0, 0.2, 2.0]]
    trainer = Trainer(
        net, squared_error, SGD(0.0), max_norm=1.5, rng=np.random.default_rng(0)
    )
    trainer.train_epoch(np.zeros((2, 2)), np.zeros((2, 3)))
    W = net.layers[0].params["W"]
    np.testing.assert_allclose(W[:, 0], [3.0 * 1.5 / 5.0, 4.0 * 1.5 / 5.0])
    np.testing.assert_allclose(W[:, 1], [0.1, 0.2])
    np.testing.assert_allclose(W[:, 2], [0.0, 1.5])


def test_full_batch_loss_is_the_loss_after_the_step_at_no_extra_forward():
    """Each full-batch epoch reports the loss of the weights after its step,
    reusing that forward pass as the next epoch's: 2 epochs cost 3 forwards."""
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(10, 3)), rng.normal(size=(10, 1))
    net = _linear_net()
    forwards = []
    original = net.forward

    def counting_forward(X_batch, training=False):
        forwards.append(training)
        return original(X_batch, training=training)

    net.forward = counting_forward
    trainer = Trainer(net, squared_error, SGD(0.1), rng=rng)
    losses = [trainer.train_epoch(X, Y) for _ in range(2)]
    assert forwards == [True, True, True]
    for loss, weights in zip(losses[1:], [net.get_weights()]):
        expected = squared_error(X @ weights[0] + weights[1], Y)[0]
        assert loss == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("batch_size", [None, 3])
def test_a_stop_request_ends_the_epoch_after_the_current_batch(batch_size):
    """Ctrl-C handling: once requested, the epoch ends after the batch under way
    (weights consistent) and says it was interrupted."""
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(9, 3)), rng.normal(size=(9, 1))
    optimizer = CountingSGD(0.01)
    request = StopRequest()
    request.requested = True
    trainer = Trainer(
        _linear_net(), squared_error, optimizer, batch_size=batch_size, rng=rng,
        stop_request=request,
    )  # fmt: skip
    trainer.train_epoch(X, Y)
    assert optimizer.n_steps_ == 1 and trainer.interrupted


def test_shuffle_false_visits_the_rows_in_order():
    """shuffle=False: batches are consecutive rows (checked through the gathered
    batches an augmenter sees)."""
    seen = []

    def augment(X_batch, rng):
        seen.append(X_batch[:, 0].copy())
        return X_batch

    X = np.arange(7.0)[:, None] * np.ones((1, 3))
    Trainer(
        _linear_net(), squared_error, SGD(0.0), batch_size=3, shuffle=False,
        augment=augment, rng=np.random.default_rng(0),
    ).train_epoch(X, np.zeros((7, 1)))  # fmt: skip
    assert [list(s) for s in seen] == [[0, 1, 2], [3, 4, 5], [6]]


def test_clipnorm_bounds_each_gradient_array():
    X = np.full((4, 3), 100.0)
    Y = np.zeros((4, 1))
    net = _linear_net()
    before = net.get_weights()
    Trainer(
        net, squared_error, SGD(1.0), clipnorm=0.5, rng=np.random.default_rng(0)
    ).train_epoch(X, Y)
    for old, new in zip(before, net.get_weights()):
        assert np.linalg.norm(new - old) == pytest.approx(0.5)


def test_augment_is_applied_to_training_batches_only():
    seen = []

    def augment(X_batch, rng):
        seen.append(X_batch.shape)
        return X_batch * 0

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 1))
    trainer = Trainer(
        _linear_net(), squared_error, SGD(0.1), batch_size=4, augment=augment, rng=rng
    )
    trainer.train_epoch(X, Y)
    trainer.evaluate(X, Y)
    assert seen == [(4, 3), (2, 3)]
