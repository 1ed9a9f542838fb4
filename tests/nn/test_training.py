"""The epoch loop: batches, penalties, clipping, early stopping, best weights,
divergence and callbacks."""

import math
import signal

import numpy as np
import pytest
from _engine import linear_net

from skdeep.nn.losses import squared_error
from skdeep.nn.optimizers import SGD
from skdeep.nn.schedules import LearningRateSchedule
from skdeep.nn.trainer import StopRequest, Trainer
from skdeep.nn.training import (
    DivergenceWarning,
    EarlyStopping,
    TrainingInterruptedWarning,
    WeightSnapshot,
    run_epochs,
    stop_on_interrupt,
)


class ScriptedTrainer:
    """Stands in for Trainer: epoch k sets every weight to k and returns losses[k]."""

    epoch_predictions = None  # keeps no outputs: no training score
    converged = interrupted = False
    epoch_log = {}

    def __init__(self, losses, val_losses=None):
        self.network = linear_net()
        self.learning_rate = 0.1
        self.losses, self.val_losses = losses, val_losses
        self.epoch = 0
        self.resets = 0

    def reset(self):
        self.resets += 1

    def train_epoch(self, X, Y, sample_weight=None):
        self.epoch += 1
        for layer in self.network.layers:
            for p in layer.params.values():
                p[...] = self.epoch
        return self.losses[self.epoch - 1]

    def evaluate(self, X, Y, sample_weight=None):
        # The loss of the weights held: they are k after epoch k (0 initially).
        k = int(round(self.network.layers[0].params["b"][0]))
        losses = self.losses if self.val_losses is None else self.val_losses
        loss = 10.0 if k == 0 else losses[k - 1]
        return loss, np.zeros((len(X), 1))


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
    assert trainer.resets == 1  # the optimizer state of the diverged path is dropped

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
    net = linear_net()
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


def test_weight_snapshot_round_trip():
    net = linear_net()
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


def test_training_score_comes_from_the_epochs_batches():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3))
    Y = X @ np.array([[1.0], [-2.0], [0.5]])
    trainer = Trainer(linear_net(), squared_error, SGD(0.01), batch_size=5, rng=rng)
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


def test_a_diverging_validation_loss_does_not_crash():
    """Regression: a finite training loss with an infinite validation loss (an
    identity output blowing up) crashed with a TypeError; it is divergence."""
    trainer = ScriptedTrainer([2.0, 1.0, 0.5], val_losses=[1.0, math.inf, 0.1])
    with pytest.warns(DivergenceWarning, match="epoch 2.*epoch 1 were restored"):
        result = run_epochs(
            trainer, DATA, DATA, max_iter=3, stopper=EarlyStopping(5, 0), history=[]
        )
    assert result.stop_reason == "diverged"
    assert all(np.all(w == 1) for w in trainer.network.get_weights())


def test_missing_values_of_a_row_are_nan_not_none():
    history = []
    run_epochs(
        ScriptedTrainer([1.0]), DATA, max_iter=1, stopper=EarlyStopping(5, 0),
        history=history,
    )  # fmt: skip
    row = history[0]
    assert all(math.isnan(row[k]) for k in ("score", "val_loss", "val_score"))


def test_the_schedule_sets_and_records_each_epochs_rate():
    """'adaptive' divides by 5 after 2 epochs without improvement; the rate of
    each epoch is the one in history (catches a rate recorded after the change)."""
    trainer = ScriptedTrainer([3.0, 2.0, 2.5, 2.4, 2.6, 1.0])
    history = []
    run_epochs(
        trainer, DATA, max_iter=6, stopper=EarlyStopping(10, 0), history=history,
        schedule=LearningRateSchedule("adaptive", 0.1),
    )  # fmt: skip
    rates = [row["learning_rate"] for row in history]
    assert rates == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.02, 0.02])


@pytest.mark.parametrize(
    "schedule, samples, expected",
    [
        ("constant", 0, 0.3),
        ("invscaling", 0, 0.3),
        ("invscaling", 8, 0.1),
        (lambda epoch, rate: rate / (epoch + 1), 0, 0.15),
    ],
)
def test_schedule_rates(schedule, samples, expected):
    """sklearn's invscaling: lr / (t + 1) ** 0.5 after t samples; a callable gets
    (epochs already run, current rate), as Keras' LearningRateScheduler."""
    rule = LearningRateSchedule(schedule, 0.3)
    assert rule.rate(1, samples_seen=samples) == pytest.approx(expected)


def test_a_schedule_returning_garbage_is_refused():
    rule = LearningRateSchedule(lambda epoch, rate: None, 0.1)
    with pytest.raises(ValueError, match="positive finite learning rate"):
        rule.rate(0, samples_seen=0)


def test_a_stop_request_ends_training_with_the_best_weights_and_a_warning():
    """Ctrl-C: the trainer reports an interrupted epoch; the loop records it,
    keeps the best weights and warns; history holds the epochs run."""

    class InterruptedAtThirdEpoch(ScriptedTrainer):
        def train_epoch(self, X, Y, sample_weight=None):
            loss = super().train_epoch(X, Y, sample_weight)
            self.interrupted = self.epoch == 3
            return loss

    trainer = InterruptedAtThirdEpoch([3.0, 1.0, 2.0, 0.5])
    history = []
    with pytest.warns(TrainingInterruptedWarning, match="after 3 epoch.*epoch 2"):
        result = run_epochs(
            trainer, DATA, max_iter=4, stopper=EarlyStopping(10, 0), history=history
        )
    assert result.stop_reason == "interrupted" and len(history) == 3
    assert all(np.all(w == 2) for w in trainer.network.get_weights())


def test_a_keyboard_interrupt_raised_by_a_callback_stops_training_gracefully():
    class RaisingCallback:
        def epoch_begin(self):
            pass

        def epoch_end(self):
            raise KeyboardInterrupt

    trainer = ScriptedTrainer([3.0, 1.0])
    with pytest.warns(TrainingInterruptedWarning):
        result = run_epochs(
            trainer, DATA, max_iter=2, stopper=EarlyStopping(10, 0), history=[],
            callbacks=RaisingCallback(),
        )  # fmt: skip
    assert result.stop_reason == "interrupted" and result.n_epochs == 1


def test_ctrl_c_sets_the_request_and_a_second_one_raises():
    request = StopRequest()
    with stop_on_interrupt(request):
        signal.raise_signal(signal.SIGINT)
        assert request.requested
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_kept_weights_that_give_infinite_outputs_fall_back_to_the_initial_ones():
    """Mini-batch epochs record a running loss, so the weights an epoch ends with
    were never measured; if the kept ones give a non-finite loss when measured,
    the initial weights come back with a warning (never a model that predicts
    NaN)."""

    class BlowsUp(ScriptedTrainer):
        def evaluate(self, X, Y, sample_weight=None):
            k = int(round(self.network.layers[0].params["b"][0]))
            return (math.inf if k else 5.0), np.zeros((len(X), 1))

    trainer = BlowsUp([2.0, 1.0])
    with pytest.warns(DivergenceWarning, match="infinite or NaN outputs.*initial"):
        result = run_epochs(
            trainer, DATA, max_iter=2, stopper=EarlyStopping(5, 0), history=[]
        )
    assert result.best_epoch is None and result.final_loss == 5.0
    assert all(np.all(w == 0) for w in trainer.network.get_weights()[1:])


class CountingEvaluations(ScriptedTrainer):
    """Epoch k sets every weight to ``scale * k``; counts evaluate calls."""

    def __init__(self, losses, scale):
        super().__init__(losses)
        self.scale, self.evaluations = scale, 0

    def train_epoch(self, X, Y, sample_weight=None):
        loss = super().train_epoch(X, Y, sample_weight)
        for layer in self.network.layers:
            for p in layer.params.values():
                p *= self.scale
        return loss

    def evaluate(self, X, Y, sample_weight=None):
        self.evaluations += 1
        finite = self.network.layers[0].params["b"][0] < 1e30
        return (2.0 if finite else math.inf), np.zeros((len(X), 1))


def test_a_single_run_skips_the_final_pass_when_the_weights_bound_the_outputs():
    # measure_final="unless_bounded": weights that prove every output finite
    # need no pass over the data; the final loss is then the best monitored one.
    trainer = CountingEvaluations([3.0, 1.0], scale=1.0)
    result = run_epochs(trainer, DATA, max_iter=2, stopper=EarlyStopping(5, 0),
                        history=[], measure_final="unless_bounded")  # fmt: skip
    assert trainer.evaluations == 0
    assert result.final_loss == 1.0 and result.best_epoch == 2


def test_weights_too_large_to_bound_the_outputs_are_measured_and_dropped():
    # Finite weights of 1e35 might give infinite outputs: the final pass runs,
    # finds them, and the initial weights come back with a warning.
    trainer = CountingEvaluations([3.0, 1.0], scale=1e35)
    with pytest.warns(DivergenceWarning, match="infinite or NaN outputs.*initial"):
        result = run_epochs(trainer, DATA, max_iter=2, stopper=EarlyStopping(5, 0),
                            history=[], measure_final="unless_bounded")  # fmt: skip
    assert trainer.evaluations == 2  # the kept weights, then the initial ones
    assert result.best_epoch is None and result.final_loss == 2.0
    assert np.all(trainer.network.layers[0].params["b"] == 0)  # initial bias
