"""The epoch loop: batches, penalties, clipping, early stopping, best weights,
divergence and callbacks."""

import math

import numpy as np
import pytest

from skdeep.nn.layers import Dense
from skdeep.nn.losses import squared_error
from skdeep.nn.network import Sequential
from skdeep.nn.optimizers import SGD
from skdeep.nn.training import (
    DivergenceWarning,
    EarlyStopping,
    Trainer,
    WeightSnapshot,
    run_epochs,
)


def _linear_net(n_features=3, dtype=np.float64):
    net = Sequential([Dense(1)], dtype=dtype)
    net.build((n_features,), np.random.default_rng(0))
    return net


class CountingSGD(SGD):
    def step(self, params, grads):
        self.n_steps_ = getattr(self, "n_steps_", 0) + 1
        super().step(params, grads)


class ScriptedTrainer:
    """Stands in for Trainer: epoch k sets every weight to k and returns losses[k]."""

    epoch_predictions = None  # keeps no outputs: no training score

    def __init__(self, losses, val_losses=None):
        self.network = _linear_net()
        self.optimizer = SGD(0.1)
        self.losses, self.val_losses = losses, val_losses
        self.epoch = 0

    def train_epoch(self, X, Y, sample_weight=None):
        self.epoch += 1
        for layer in self.network.layers:
            for p in layer.params.values():
                p[...] = self.epoch
        return self.losses[self.epoch - 1]

    def evaluate(self, X, Y, sample_weight=None):
        return self.val_losses[self.epoch - 1], np.zeros((len(X), 1))


DATA = (np.zeros((4, 3)), np.zeros((4, 1)), None)


def test_early_stopping_follows_keras():
    stopper = EarlyStopping(patience=2, tol=0.1)
    assert stopper.update(1.0, 1)
    assert not stopper.update(0.95, 2)  # not below best - tol
    assert stopper.update(0.85, 3)
    assert not stopper.update(0.9, 4) and not stopper.should_stop
    assert not stopper.update(0.8, 5) and stopper.should_stop
    assert (stopper.best, stopper.best_epoch) == (0.85, 3)
    assert EarlyStopping(1, tol=-0.1).tol == 0.1


def test_best_weights_are_restored_even_without_a_cut():
    trainer = ScriptedTrainer([3.0, 1.0, 2.0, 2.5])
    history = []
    result = run_epochs(
        trainer,
        DATA,
        max_iter=4,
        stopper=EarlyStopping(10, 0.0),
        history=history,
    )
    assert (result.n_epochs, result.best_loss, result.stop_reason) == (
        4,
        1.0,
        "max_iter",
    )
    assert all(np.all(w == 2) for w in trainer.network.get_weights())
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]
    assert set(history[0]) == {
        "epoch",
        "loss",
        "score",
        "val_loss",
        "val_score",
        "learning_rate",
        "seconds",
    }


def test_validation_loss_is_monitored_and_stops_training(capsys):
    trainer = ScriptedTrainer([5, 4, 3, 2, 1, 0], val_losses=[3, 1, 2, 2, 2, 2])
    history = []
    result = run_epochs(
        trainer,
        DATA,
        DATA,
        max_iter=6,
        stopper=EarlyStopping(2, 1e-4),
        history=history,
        score=lambda Y, Z, w: 0.5,
        verbose=1,
        first_epoch=11,
    )
    assert (result.n_epochs, result.best_loss, result.stop_reason) == (
        4,
        1,
        "converged",
    )
    assert all(np.all(w == 2) for w in trainer.network.get_weights())
    assert [row["val_score"] for row in history] == [0.5] * 4
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("Epoch 11, loss=5, val_loss=3, val_score=0.5000")


def test_divergence_restores_finite_weights_and_warns():
    trainer = ScriptedTrainer([2.0, 1.0, math.inf, 0.5])
    history = []
    with pytest.warns(
        DivergenceWarning, match="epoch 3.*epoch 2 were restored.*Lower learning_rate"
    ):
        result = run_epochs(
            trainer, DATA, max_iter=4, stopper=EarlyStopping(5, 0), history=history
        )
    assert result.stop_reason == "diverged" and result.n_epochs == 2
    assert all(np.all(w == 2) for w in trainer.network.get_weights())

    trainer = ScriptedTrainer([math.nan])
    initial = trainer.network.get_weights()
    with pytest.warns(DivergenceWarning, match="initial weights were kept"):
        run_epochs(trainer, DATA, max_iter=3, stopper=EarlyStopping(5, 0), history=[])
    for got, want in zip(trainer.network.get_weights(), initial):
        np.testing.assert_array_equal(got, want)


def test_a_huge_learning_rate_diverges_without_leaving_nan_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(100, 1, size=(50, 3))
    Y = X.sum(axis=1, keepdims=True)
    net = _linear_net()
    trainer = Trainer(net, squared_error, SGD(1e4), batch_size=10, rng=rng)
    with pytest.warns(DivergenceWarning, match="Lower learning_rate"):
        result = run_epochs(
            trainer, (X, Y, None), max_iter=5, stopper=EarlyStopping(5, 0), history=[]
        )
    assert result.stop_reason == "diverged"
    assert net.weights_finite()


def test_callbacks_can_stop_training():
    class StopAtSecondEpoch:
        def __init__(self):
            self.events = []

        def epoch_begin(self):
            self.events.append("begin")

        def epoch_end(self):
            self.events.append("end")
            return self.events.count("end") == 2

    callbacks = StopAtSecondEpoch()
    result = run_epochs(
        ScriptedTrainer([3, 2, 1]),
        DATA,
        max_iter=3,
        stopper=EarlyStopping(5, 0),
        history=[],
        callbacks=callbacks,
    )
    assert result.stop_reason == "callback" and result.n_epochs == 2
    assert callbacks.events == ["begin", "end", "begin", "end"]


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


def test_weight_decay_gradients_by_hand():
    X = np.array([[1.0, -2.0, 0.5]])
    Y = np.array([[0.3]])
    lr, alpha, l1 = 0.1, 0.5, 0.2
    net = _linear_net()
    W, b = (w.copy() for w in net.get_weights())
    trainer = Trainer(
        net, squared_error, SGD(lr), alpha=alpha, l1=l1, rng=np.random.default_rng(0)
    )
    penalty = 0.5 * alpha * np.sum(W**2) + l1 * np.abs(W).sum()
    assert trainer.penalty() == pytest.approx(penalty)
    residual = (X @ W + b - Y)[0, 0]
    loss = trainer.train_epoch(X, Y)
    assert loss == pytest.approx(0.5 * residual**2 + penalty)
    dW = X.T * residual + alpha * W + l1 * np.sign(W)
    np.testing.assert_allclose(net.get_weights()[0], W - lr * dW)
    np.testing.assert_allclose(net.get_weights()[1], b - lr * residual)  # no decay


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


def test_weight_snapshot_round_trip():
    net = _linear_net()
    snapshot = WeightSnapshot(net)
    original = net.get_weights()
    net.layers[0].params["W"][...] = 7
    snapshot.restore()
    np.testing.assert_array_equal(net.get_weights()[0], original[0])
    net.layers[0].params["W"][...] = 7
    snapshot.save()
    net.layers[0].params["W"][...] = 0
    snapshot.restore()
    assert np.all(net.get_weights()[0] == 7)


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


def test_training_score_comes_from_the_epochs_batches():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3))
    Y = X @ np.array([[1.0], [-2.0], [0.5]])
    trainer = Trainer(_linear_net(), squared_error, SGD(0.01), batch_size=5, rng=rng)
    seen = []

    def score(Y_true, Z, sample_weight):
        seen.append(Z.copy())
        return -float(np.mean((Y_true - Z) ** 2))

    history = []
    run_epochs(
        trainer, (X, Y, None), max_iter=2, stopper=EarlyStopping(5, 0.0),
        history=history, score=score,
    )  # fmt: skip
    # One score per epoch, from the outputs kept while training (in row order),
    # not from an extra pass with the final weights.
    assert len(seen) == 2
    np.testing.assert_array_equal(seen[-1], trainer.epoch_predictions)
    assert not np.allclose(seen[-1], trainer.network.predict(X))
    assert [row["score"] for row in history] == [
        -float(np.mean((Y - Z) ** 2)) for Z in seen
    ]
    assert history[1]["score"] > history[0]["score"]


def test_best_epoch_is_the_epoch_whose_weights_are_kept():
    losses = [3.0, 1.0, 2.0, 2.5]
    for restore_best, kept in [(True, 2), (False, 4)]:
        result = run_epochs(
            ScriptedTrainer(losses), DATA, max_iter=4,
            stopper=EarlyStopping(10, 0.0), history=[], restore_best=restore_best,
        )  # fmt: skip
        assert result.best_epoch == kept
