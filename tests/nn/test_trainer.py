"""One epoch of gradient descent: batches, weights, penalties, constraints, and
batches split into parts run side by side."""

import copy
import pickle
import signal
import threading

import numpy as np
import pytest
from _engine import CountingSGD, linear_net
from _gradcheck import numerical_gradient
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.utils.estimator_checks import (
    check_sample_weight_equivalence_on_dense_data,
)
from threadpoolctl import threadpool_info, threadpool_limits

from skdeep import ConvNetClassifier, MLPNetClassifier
from skdeep.exceptions import TrainingInterruptedWarning
from skdeep.layers import Conv2D, Flatten
from skdeep.nn import trainer as trainer_module
from skdeep.nn.layers import Dense, Dropout, Layer
from skdeep.nn.losses import categorical_cross_entropy, squared_error
from skdeep.nn.network import Sequential
from skdeep.nn.optimizers import SGD
from skdeep.nn.parallel import PartThreads
from skdeep.nn.trainer import StopRequest, Trainer


@pytest.mark.parametrize(
    "batch_size, n_steps", [(None, 1), (100, 1), (4, 3), (5, 2), (1, 10)]
)
def test_mini_batches(batch_size, n_steps):
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(10, 3)), rng.normal(size=(10, 1))
    optimizer = CountingSGD(0.01)
    trainer = Trainer(
        linear_net(), squared_error, optimizer, batch_size=batch_size, rng=rng
    )
    trainer.train_epoch(X, Y)
    assert optimizer.n_steps_ == n_steps


def test_full_batch_does_not_depend_on_the_shuffling_seed():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(10, 3)), rng.normal(size=(10, 1))
    weights = []
    for seed in (1, 2):
        net = linear_net()
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
    net = linear_net()
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
    net = linear_net()
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
    net = linear_net()
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
        linear_net(), squared_error, optimizer, batch_size=batch_size, rng=rng,
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
        linear_net(), squared_error, SGD(0.0), batch_size=3, shuffle=False,
        augment=augment, rng=np.random.default_rng(0),
    ).train_epoch(X, np.zeros((7, 1)))  # fmt: skip
    assert [list(s) for s in seen] == [[0, 1, 2], [3, 4, 5], [6]]


def test_clipnorm_bounds_each_gradient_array():
    X = np.full((4, 3), 100.0)
    Y = np.zeros((4, 1))
    net = linear_net()
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
        linear_net(), squared_error, SGD(0.1), batch_size=4, augment=augment, rng=rng
    )
    trainer.train_epoch(X, Y)
    trainer.evaluate(X, Y)
    assert seen == [(4, 3), (2, 3)]


# ---------------------------------------------------------------------------
# Data-parallel parts
# ---------------------------------------------------------------------------


@pytest.fixture
def split_small_batches(monkeypatch):
    """Split every batch of at least 4 rows (the rule's constants are tuned
    for real networks, far larger than these)."""
    monkeypatch.setattr(trainer_module, "MIN_PART_ROWS", 2)
    monkeypatch.setattr(trainer_module, "MIN_PART_MULTIPLY_ADDS", 0)


def _use_threads(monkeypatch, n):
    # The number of threads the trainer reads from BLAS.
    monkeypatch.setattr(trainer_module, "blas_threads", lambda: n)


def _part_threads_alive():
    return [t.name for t in threading.enumerate() if t.name.startswith("skdeep-part")]


class ThreadSpy(Layer):
    """Identity recording the thread of each training forward pass, and able
    to raise there (``fail_on`` a thread name prefix)."""

    fail_on = None
    error = RuntimeError

    def __init__(self):
        super().__init__()
        self.threads = []

    def forward(self, X, training=False):
        if training:
            name = threading.current_thread().name
            self.threads.append(name)
            if self.fail_on is not None and name.startswith(self.fail_on):
                raise self.error("failed in a part thread")
            self._cache = X.shape
        return X

    def backward(self, dY):
        self._pop_cache()
        return dY


def _small_net(dropout=0.0):
    net = Sequential(
        [Dense(3, activation="tanh"), Dropout(dropout), Dense(2)], dtype=np.float64
    )
    net.build((4,), np.random.default_rng(0))
    return net


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(
    "batch_size, weights",
    [(None, None), (None, "mixed"), (40, "first half zero"), (40, None)],
)
def test_split_batch_steps_by_the_batch_gradient(
    split_small_batches, monkeypatch, threads, batch_size, weights
):
    """One SGD step on a batch split into two parts moves the weights by the
    learning rate times the gradient of the batch's (weighted) mean loss,
    here central differences of that loss in float64; the loss reported is
    that mean (of the weights after the step for a full batch). Catches
    parts' losses not rescaled by their share (a gradient twice too large),
    a part left out of the sum, and a zero-weight part giving NaN."""
    _use_threads(monkeypatch, threads)
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(40, 4)), np.eye(2)[rng.integers(0, 2, 40)]
    w = None
    if weights == "mixed":
        w = rng.uniform(0.1, 3.0, size=40)
    elif weights == "first half zero":
        w = np.r_[np.zeros(20), rng.uniform(0.1, 3.0, size=20)]
    net, lr = _small_net(), 0.3
    trainer = Trainer(
        net, categorical_cross_entropy, SGD(lr), batch_size=batch_size,
        shuffle=False, rng=np.random.default_rng(0),
    )  # fmt: skip
    before = [p.copy() for p in net.trainable_params()[0]]

    def batch_loss():
        return categorical_cross_entropy(net.predict(X), Y, w)[0]

    expected = [
        p - lr * numerical_gradient(batch_loss, p) for p in net.trainable_params()[0]
    ]
    loss_before = batch_loss()
    for p, b in zip(net.trainable_params()[0], before):
        p[...] = b
    loss = trainer.train_epoch(X, Y, w)
    assert len(trainer._replicas) == 1  # the batch was split
    for got, want in zip(net.trainable_params()[0], expected):
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)
    reported = batch_loss() if batch_size is None else loss_before
    assert loss == pytest.approx(reported, rel=1e-12)


class ReversedTurns(PartThreads):
    """Runs the tasks in turn, last first."""

    def run(self, tasks):
        for task in reversed(tasks):
            task()


def test_threads_or_turns_give_bit_identical_models(split_small_batches, monkeypatch):
    """The parts run on two threads, in turn, or in turn last part first: the
    same model bit for bit, dropout included (each part draws its masks from
    its own generator, so their order does not matter); the threaded run did
    use the second thread, and left BLAS's thread count as it found it.
    Catches a replica drawing from the trainer's generator."""
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(64, 4)), np.eye(2)[rng.integers(0, 2, 64)]
    models = {}
    for way in ("threads", "turns", "reversed turns"):
        _use_threads(monkeypatch, 2 if way == "threads" else 1)
        if way == "reversed turns":
            monkeypatch.setattr(trainer_module, "_SEQUENTIAL", ReversedTurns(1))
        spy = ThreadSpy()
        net = Sequential(
            [Dense(6, activation="relu"), spy, Dropout(0.3), Dense(2)],
            dtype=np.float32,
        )
        # One generator for the weights, the masks and the shuffling, as the
        # estimators do.
        generator = np.random.default_rng(3)
        net.build((4,), generator)
        trainer = Trainer(
            net, categorical_cross_entropy, SGD(0.1), batch_size=16, rng=generator
        )
        with threadpool_limits(limits=2, user_api="blas"):
            losses = [trainer.train_epoch(X, Y) for _ in range(3)]
            assert {i["num_threads"] for i in threadpool_info()
                    if i["user_api"] == "blas"} == {2}  # fmt: skip
        models[way] = (net.get_weights(), losses, trainer.epoch_predictions)
        used = {name.split("-")[0] for name in spy.threads}
        assert used == (
            {"MainThread", "skdeep"} if way == "threads" else {"MainThread"}
        )
    reference = models.pop("turns")
    for weights, losses, outputs in models.values():
        for a, b in zip(weights, reference[0]):
            np.testing.assert_array_equal(a, b)
        assert losses == reference[1]
        np.testing.assert_array_equal(outputs, reference[2])
    assert _part_threads_alive() == []


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_an_error_in_a_part_thread_is_raised_in_the_caller(
    split_small_batches, monkeypatch, error
):
    """A part failing on the helper thread fails the epoch in the caller, and
    leaves no thread running and BLAS's thread count as it was."""
    _use_threads(monkeypatch, 2)
    monkeypatch.setattr(ThreadSpy, "fail_on", "skdeep-part")
    monkeypatch.setattr(ThreadSpy, "error", error)
    net = Sequential([Dense(3), ThreadSpy(), Dense(2)])
    net.build((4,), np.random.default_rng(0))
    trainer = Trainer(
        net, categorical_cross_entropy, SGD(0.1), rng=np.random.default_rng(0)
    )
    rng = np.random.default_rng(0)
    with threadpool_limits(limits=2, user_api="blas"):
        with pytest.raises(error):
            trainer.train_epoch(rng.normal(size=(8, 4)), np.eye(2)[[0, 1] * 4])
        assert _part_threads_alive() == []
        assert {i["num_threads"] for i in threadpool_info()
                if i["user_api"] == "blas"} == {2}  # fmt: skip


def test_split_full_batch_epochs_reuse_each_parts_forward_pass(split_small_batches):
    """Full batch, split: 2 epochs cost 3 forward passes of each part (the
    pass that ends an epoch is the next one's), and each epoch reports the
    loss of its new weights, computed here on the whole batch."""
    spy = ThreadSpy()
    net = Sequential([Dense(3, activation="tanh"), spy, Dense(1)], dtype=np.float64)
    net.build((3,), np.random.default_rng(0))
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(10, 3)), rng.normal(size=(10, 1))
    trainer = Trainer(net, squared_error, SGD(0.1), rng=rng)
    for _ in range(2):
        loss = trainer.train_epoch(X, Y)
        assert loss == pytest.approx(squared_error(net.predict(X), Y)[0], rel=1e-12)
    assert len(spy.threads) == 2 * 3  # the replica's spy shares the list


def test_copies_of_a_trainer_carry_no_replicas_or_threads(split_small_batches):
    """A pickled or copied trainer has no replica, pending forward pass or
    thread, and trains on as the original does (it redoes the forward pass
    the original kept)."""
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(12, 3)), rng.normal(size=(12, 1))
    trainer = Trainer(linear_net(), squared_error, SGD(0.1), rng=rng)
    trainer.train_epoch(X, Y)
    assert trainer._replicas and trainer._pending is not None
    copies = [copy.deepcopy(trainer), pickle.loads(pickle.dumps(trainer))]
    for copy_ in copies:
        assert copy_._replicas == [] and copy_._pending is None
        assert not copy_._threads.threaded
    losses = [t.train_epoch(X, Y) for t in [trainer, *copies]]
    assert losses[0] == losses[1] == losses[2]
    for copy_ in copies:
        for a, b in zip(copy_.network.get_weights(), trainer.network.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_a_stop_request_ends_a_split_epoch_after_the_current_batch(
    split_small_batches, monkeypatch
):
    _use_threads(monkeypatch, 2)
    rng = np.random.default_rng(0)
    optimizer = CountingSGD(0.01)
    request = StopRequest()
    request.requested = True
    trainer = Trainer(
        linear_net(), squared_error, optimizer, batch_size=6, rng=rng,
        stop_request=request,
    )  # fmt: skip
    trainer.train_epoch(rng.normal(size=(18, 3)), rng.normal(size=(18, 1)))
    assert optimizer.n_steps_ == 1 and trainer.interrupted
    assert len(trainer._replicas) == 1


# ---------------------------------------------------------------------------
# Parts through the estimators
# ---------------------------------------------------------------------------


def test_a_fit_in_worker_processes_equals_the_threaded_fit():
    """Same random_state, same model, whatever the threads: a fit whose full
    batch splits (by the real rule) run here on two threads equals the same
    fit in loky workers, whose BLAS -- hence part threads -- joblib limits
    (to one thread each on two cores). Catches a split that depends on the
    thread count."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 400))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    estimator = MLPNetClassifier((128,), batch_size=None, max_iter=3, random_state=0)
    with threadpool_limits(limits=2, user_api="blas"):
        here = clone(estimator).fit(X, y)
    assert len(trainer_module.part_bounds(2000, here.network_.multiply_adds())) == 3
    workers = Parallel(n_jobs=2)(delayed(clone(estimator).fit)(X, y) for _ in range(2))
    for there in workers:
        for a, b in zip(here.get_weights(), there.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
        assert there.loss_curve_ == here.loss_curve_


def test_split_full_batches_keep_weights_equivalent_to_repeated_rows(
    split_small_batches, monkeypatch
):
    """scikit-learn's check: a weighted float64 full-batch fit equals a fit on
    rows repeated as many times, to 1e-7, though the two data sets split at
    different rows (only the order of the sums changes, ~1e-16); catches
    parts' shares taken from their rows where they carry sample weight."""
    _use_threads(monkeypatch, 2)
    estimator = MLPNetClassifier(max_iter=100, batch_size=None, dtype=np.float64)
    check_sample_weight_equivalence_on_dense_data("MLPNetClassifier", estimator)


def _spy_convnet():
    return ConvNetClassifier(
        [Conv2D(3, 3, padding="same", activation="relu"), ThreadSpy(), Flatten()],
        input_shape=(6, 6, 1), batch_size=None, max_iter=2, random_state=0,
    )  # fmt: skip


def test_a_fit_failing_in_a_part_thread_leaves_the_estimator_as_it_was(
    split_small_batches, monkeypatch
):
    _use_threads(monkeypatch, 2)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 36)), rng.integers(0, 2, 40)
    estimator = _spy_convnet().set_params(warm_start=True).fit(X, y)
    weights, n_iter = estimator.get_weights(), estimator.n_iter_
    monkeypatch.setattr(ThreadSpy, "fail_on", "skdeep-part")
    with threadpool_limits(limits=2, user_api="blas"):
        with pytest.raises(RuntimeError, match="part thread"):
            estimator.fit(X, y)
        assert {i["num_threads"] for i in threadpool_info()
                if i["user_api"] == "blas"} == {2}  # fmt: skip
    assert estimator.n_iter_ == n_iter
    for a, b in zip(estimator.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert _part_threads_alive() == []


class CtrlCInPart(ThreadSpy):
    """Presses Ctrl-C from the helper thread during the second epoch (its
    third forward pass: the first epoch of a full batch makes two)."""

    def forward(self, X, training=False):
        Y = super().forward(X, training)
        on_helper = threading.current_thread().name.startswith("skdeep-part")
        if training and on_helper and self.threads.count(self.threads[-1]) == 3:
            signal.raise_signal(signal.SIGINT)
        return Y


def test_ctrl_c_during_split_training_stops_after_the_batch(
    split_small_batches, monkeypatch
):
    """Ctrl-C pressed while the parts run (here from the part thread) ends
    training at the end of the batch under way, keeping the model, as
    without parts."""
    _use_threads(monkeypatch, 2)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 36)), rng.integers(0, 2, 40)
    estimator = _spy_convnet().set_params(max_iter=10)
    estimator.layers[1] = CtrlCInPart()
    with pytest.warns(TrainingInterruptedWarning):
        estimator.fit(X, y)
    assert estimator.n_iter_ == 2
    assert estimator.predict(X).shape == (40,)
    assert _part_threads_alive() == []
