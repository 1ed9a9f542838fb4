"""The epoch loop: early stopping, best weights, schedules, interrupts (notes 二.5-9).

:func:`run_epochs` repeats a trainer's epochs (a :class:`~skdeep.nn.trainer.Trainer`
for gradient descent, a :class:`~skdeep.nn.perceptron.PerceptronTrainer` for the
perceptron's rule) until ``max_iter``, early stopping, divergence, Ctrl-C or a
callback stops it, keeping one history row per epoch and restoring the best
weights at the end. Every estimator trains through it, so these words mean one
thing across skdeep:

- the *monitored loss* is the validation loss when there is validation data,
  the training loss otherwise; ``n_iter_no_change`` counts epochs in which it
  did not improve by ``tol``, and the best epoch is the one where it was lowest;
- *divergence* (a non-finite loss or weight) warns with
  :class:`DivergenceWarning` and keeps the best finite weights;
- *Ctrl-C* (:func:`stop_on_interrupt`) ends training at the end of the current
  batch; the best (or last) weights are kept and the loop reports it.

The estimator's scikit-learn callbacks (``sklearn.callback``, experimental) are
driven from here only, through :class:`FitCallbacks`: one task per epoch. This
module does not import scikit-learn; it calls the context object it is given.
"""

import math
import signal
import threading
import time
from contextlib import contextmanager

import numpy as np

from ..utils._warnings import warn_user
from .trainer import StopRequest, Trainer


class DivergenceWarning(UserWarning):
    """Training stopped because the loss or the weights became non-finite.

    The estimator keeps the best finite weights it saw; the message says how to
    avoid the divergence (a lower ``learning_rate``, scaled inputs, ``clipnorm``).

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from skdeep import MLPNetRegressor
    >>> from skdeep.exceptions import DivergenceWarning
    >>> X = np.arange(20.0).reshape(10, 2)
    >>> net = MLPNetRegressor((8,), optimizer="sgd", learning_rate=1e4,
    ...                       max_iter=20, random_state=0)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = net.fit(X, X[:, 0] * 100)
    >>> any(w.category is DivergenceWarning for w in caught)
    True
    >>> bool(np.isfinite(net.predict(X)).all())
    True
    """


class TrainingInterruptedWarning(UserWarning):
    """Training was stopped by Ctrl-C (``KeyboardInterrupt``); the model was kept.

    Training ends at the end of the batch under way; the estimator keeps the
    best weights (or the last, with ``restore_best_weights=False``), its
    ``history_`` holds the epochs run, and it predicts. A second Ctrl-C during
    the same fit raises ``KeyboardInterrupt`` as usual.

    Examples
    --------
    >>> import signal, warnings
    >>> import numpy as np
    >>> from skdeep import MLPNetClassifier
    >>> from skdeep.exceptions import TrainingInterruptedWarning
    >>> X = np.random.default_rng(0).normal(size=(40, 3))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> def press_ctrl_c(epoch, rate):  # a schedule pressing Ctrl-C after 2 epochs
    ...     if epoch == 2:
    ...         signal.raise_signal(signal.SIGINT)
    ...     return rate
    >>> net = MLPNetClassifier((4,), max_iter=50, learning_rate_schedule=press_ctrl_c,
    ...                        random_state=0)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = net.fit(X, y)
    >>> [w.category.__name__ for w in caught]
    ['TrainingInterruptedWarning']
    >>> net.n_iter_, net.predict(X[:2]).shape
    (2, (2,))
    """


class EarlyStopping:
    """Keras' early-stopping rule on a loss (lower is better).

    An epoch improves if ``value < best - |tol|``; training should stop after
    ``patience`` epochs in a row without improvement (never if ``patience`` is
    None).

    Examples
    --------
    >>> from skdeep.nn.training import EarlyStopping
    >>> stopper = EarlyStopping(patience=1, tol=0.0)
    >>> stopper.update(1.0, epoch=1), stopper.update(2.0, epoch=2)
    (True, False)
    >>> stopper.should_stop, stopper.best_epoch
    (True, 1)
    """

    def __init__(self, patience, tol):
        self.patience = patience
        self.tol = abs(tol)
        self.best = math.inf
        self.best_epoch = None
        self.wait = 0

    def update(self, value, epoch):
        """Record ``value``; return True if it improves on the best so far."""
        if value < self.best - self.tol or self.best_epoch is None:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            return True
        self.wait += 1
        return False

    @property
    def should_stop(self):
        return self.patience is not None and self.wait >= self.patience


class WeightSnapshot:
    """A copy of the network's parameters kept in memory, in preallocated arrays.

    In memory rather than on disk, so parallel searches cannot collide on
    checkpoint files (skorch#819).

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.nn.layers import Dense
    >>> from skdeep.nn.network import Sequential
    >>> from skdeep.nn.training import WeightSnapshot
    >>> net = Sequential([Dense(2)])
    >>> _ = net.build((3,), np.random.default_rng(0))
    >>> snapshot = WeightSnapshot(net)
    >>> before = net.get_weights()
    >>> net.layers[0].params["W"] += 1
    >>> snapshot.restore()
    >>> all(np.array_equal(a, b) for a, b in zip(before, net.get_weights()))
    True
    """

    def __init__(self, network):
        self._targets = [p for layer in network.layers for p in layer.params.values()]
        self._copies = [p.copy() for p in self._targets]

    def save(self):
        for copy, p in zip(self._copies, self._targets):
            np.copyto(copy, p)

    def restore(self):
        for copy, p in zip(self._copies, self._targets):
            np.copyto(p, copy)


class FitCallbacks:
    """Bridge to ``sklearn.callback``: a task per epoch under ``context``.

    Parameters
    ----------
    context : sklearn.callback.CallbackContext
        The estimator's root context (from ``_init_callback_context``) or a
        sub-context (one per restart).
    estimator : estimator
        The estimator being fitted.
    X, y : array-like
        Training data passed to the hooks.
    metadata : dict or None
        E.g. ``{"sample_weight": ...}``.
    reconstruction_attributes : callable
        ``f() -> dict`` of the fitted attributes that make a copy of the
        estimator ready to predict with the current weights; evaluated only
        when a callback asks for a fitted estimator.
    """

    def __init__(self, context, estimator, X, y, metadata, reconstruction_attributes):
        self.context = context
        self.estimator = estimator
        self.X, self.y, self.metadata = X, y, metadata
        self.reconstruction_attributes = reconstruction_attributes

    def _kwargs(self):
        return {
            "estimator": self.estimator,
            "X": self.X,
            "y": self.y,
            "metadata": self.metadata,
        }

    def begin(self):
        """Start this task (the fit or a restart)."""
        self.context.call_on_fit_task_begin(**self._kwargs())
        return self

    def end(self):
        """End this task; return True if a callback asks to stop."""
        return self.context.call_on_fit_task_end(
            **self._kwargs(), reconstruction_attributes=self.reconstruction_attributes
        )

    def subtask(self, task_name, max_subtasks):
        """Start a child task (e.g. one restart) with its own epoch tasks."""
        child = FitCallbacks(
            self.context.subcontext(task_name=task_name, max_subtasks=max_subtasks),
            self.estimator,
            self.X,
            self.y,
            self.metadata,
            self.reconstruction_attributes,
        )
        return child.begin()

    def epoch_begin(self):
        self._epoch = self.context.subcontext(task_name="epoch")
        self._epoch.call_on_fit_task_begin(**self._kwargs())

    def epoch_end(self):
        return self._epoch.call_on_fit_task_end(
            **self._kwargs(), reconstruction_attributes=self.reconstruction_attributes
        )


@contextmanager
def stop_on_interrupt(request):
    """Turn the first Ctrl-C into ``request.requested = True`` while active.

    The epoch loop then ends training at the end of the current batch, with
    consistent weights (a ``KeyboardInterrupt`` raised in the middle of an
    optimizer step would leave them half-updated). A second Ctrl-C raises
    ``KeyboardInterrupt`` as usual. Signal handlers belong to the main thread:
    elsewhere (a thread pool) this does nothing.

    Examples
    --------
    >>> import signal
    >>> from skdeep.nn.trainer import StopRequest
    >>> from skdeep.nn.training import stop_on_interrupt
    >>> request = StopRequest()
    >>> with stop_on_interrupt(request):
    ...     signal.raise_signal(signal.SIGINT)
    >>> request.requested
    True
    """
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if request.requested:
            if callable(previous):
                previous(signum, frame)
            raise KeyboardInterrupt
        request.requested = True

    signal.signal(signal.SIGINT, handler)
    try:
        yield request
    finally:
        signal.signal(signal.SIGINT, previous)


class RunResult:
    """What :func:`run_epochs` reports: epochs run, best loss, how it ended.

    ``best_epoch`` is the number of the epoch whose weights the network holds at
    the end (the best one, or the last one without ``restore_best``); None if
    no epoch finished and the initial weights were kept. ``stop_reason`` is
    one of "max_iter", "converged", "callback", "diverged", "interrupted".
    """

    def __init__(
        self, n_epochs, best_loss, stop_reason, best_epoch=None, final_loss=None
    ):
        self.n_epochs = n_epochs
        self.best_loss = best_loss
        self.best_epoch = best_epoch
        self.stop_reason = stop_reason
        self.final_loss = best_loss if final_loss is None else final_loss


def run_epochs(
    trainer,
    train,
    validation=None,
    *,
    max_iter,
    stopper,
    history,
    score=None,
    callbacks=None,
    verbose=0,
    first_epoch=1,
    restore_best=True,
    schedule=None,
    samples_seen=0,
    estimator_name="The network",
    measure_final=True,
):
    """Train for up to ``max_iter`` epochs, then restore the best weights.

    Parameters
    ----------
    trainer : Trainer or PerceptronTrainer
        Has ``train_epoch(X, Y, w) -> loss``, ``evaluate(X, Y, w) -> (loss,
        Z)``, ``epoch_predictions``, ``epoch_log`` (extra history columns),
        ``converged``, ``interrupted``, ``learning_rate``, ``reset()`` and
        ``network``.
    train : tuple (X, Y, sample_weight)
    validation : tuple (X, Y, sample_weight) or None
        Monitored instead of the training loss when given.
    max_iter : int
    stopper : EarlyStopping
        Decides which epoch is best and when to stop.
    history : list of dict
        One row per epoch is appended: epoch, loss, score, val_loss, val_score,
        learning_rate, seconds, and the trainer's ``epoch_log``. Missing
        values are NaN.
    score : callable or None
        ``score(Y, Z, sample_weight) -> float``. Gives ``val_score`` on the
        validation data and the training ``score`` from the outputs the
        trainer recorded during the epoch (``epoch_predictions``) -- what Keras
        reports as ``accuracy``, at no extra forward pass.
    callbacks : FitCallbacks or None
    verbose : int
        Print a line per epoch if > 0.
    first_epoch : int
        Number of the first epoch (warm starts continue the count).
    restore_best : bool
        Restore the best epoch's weights at the end (Keras'
        ``restore_best_weights``); False keeps the last epoch's. Divergence
        always restores them.
    schedule : LearningRateSchedule or None
        Sets ``trainer.learning_rate`` before each epoch.
    samples_seen : int
        Rows seen by earlier epochs (for the 'invscaling' schedule).
    estimator_name : str
        Named in warnings.
    measure_final : bool or "unless_bounded"
        Measure the monitored loss of the weights kept, on the whole validation
        (or training) set in inference mode (``RunResult.final_loss``). With
        mini-batches an epoch's loss is a running mean, so the weights it ends
        with were never measured: if they give non-finite outputs, the initial
        weights are restored with a :class:`DivergenceWarning`. Without it,
        ``final_loss`` is the best monitored loss. "unless_bounded" skips the
        pass when the weights alone prove every output finite
        (:meth:`~skdeep.nn.network.Sequential.output_bound` of that data
        below :data:`~skdeep.nn.activations.SAFE_BOUND`) and the weights held
        are the best epoch's (``restore_best``): a single run needs the pass
        for that check only (notes' CNN on 2,048 images: 0.1-0.16 s a fit),
        where restarts compare their measured losses.

    Returns
    -------
    RunResult
    """
    network = trainer.network
    best = WeightSnapshot(network)  # the initial weights until an epoch improves
    initial = WeightSnapshot(network) if measure_final else None
    stop_reason = "max_iter"
    n_epochs, diverged_at = 0, None
    n_train = train[0].shape[0]
    for epoch in range(first_epoch, first_epoch + max_iter):
        if _stop_requested(trainer):  # Ctrl-C between epochs: no new epoch
            stop_reason = "interrupted"
            break
        if schedule is not None:
            trainer.learning_rate = schedule.rate(epoch - 1, samples_seen)
            if _stop_requested(trainer):
                stop_reason = "interrupted"
                break
        if callbacks is not None:
            callbacks.epoch_begin()
        start = time.perf_counter()
        try:
            row = _run_one_epoch(trainer, train, validation, score)
        except KeyboardInterrupt:
            if _stop_requested(trainer):
                raise  # a second Ctrl-C: abort the fit
            # Raised by code run during the epoch (a callback, an augmenter):
            # the epoch is incomplete, so it is not recorded.
            stop_reason = "interrupted"
            break
        samples_seen += n_train
        if row is None:
            best.restore()
            # The velocities and moments belong to the diverged trajectory:
            # continuing from the restored weights starts them afresh.
            trainer.reset()
            diverged_at = epoch
            if callbacks is not None:
                callbacks.epoch_end()
            stop_reason = "diverged"
            break
        n_epochs += 1
        row = {
            "epoch": epoch,
            **row,
            "learning_rate": float(trainer.learning_rate),
            "seconds": time.perf_counter() - start,
            **trainer.epoch_log,
        }
        history.append(row)
        monitored = row["loss"] if validation is None else row["val_loss"]
        improved = stopper.update(monitored, epoch)
        if improved:
            best.save()
        if schedule is not None:
            schedule.end_epoch(improved)
        if verbose:
            print(_epoch_line(row))
        try:
            stop_asked = callbacks is not None and callbacks.epoch_end()
        except KeyboardInterrupt:
            if _stop_requested(trainer):
                raise
            stop_reason = "interrupted"
            break
        if trainer.interrupted or _stop_requested(trainer):
            stop_reason = "interrupted"
            break
        if stop_asked:
            stop_reason = "callback"
            break
        if trainer.converged or stopper.should_stop:
            stop_reason = "converged"
            break
    kept_epoch = stopper.best_epoch
    if stop_reason != "diverged":
        if restore_best:
            best.restore()
        else:
            kept_epoch = history[-1]["epoch"] if n_epochs else None
    final_loss, unusable = None, False
    data = train if validation is None else validation
    if measure_final == "unless_bounded":
        # Unless the weights held are the best epoch's (restore_best), the
        # best monitored loss is not theirs: measured then.
        bound = getattr(network, "output_bound", None)
        measure_final = not restore_best or bound is None or bound(data[0]) is None
    if measure_final:
        final_loss = _measure(trainer, data)
        if not math.isfinite(final_loss) and kept_epoch is not None:
            # Mini-batch epochs record a running loss: the weights an epoch
            # ended with were never measured, and these ones are unusable.
            unusable = True
            initial.restore()
            trainer.reset()
            final_loss = _measure(trainer, data)
    if diverged_at is not None or unusable:
        _warn_divergence(estimator_name, diverged_at, kept_epoch, unusable)
        if unusable:
            kept_epoch = None
    if stop_reason == "interrupted":
        _warn_interrupted(estimator_name, n_epochs, kept_epoch, restore_best)
    return RunResult(n_epochs, stopper.best, stop_reason, kept_epoch, final_loss)


def _stop_requested(trainer):
    request = getattr(trainer, "stop_request", None)
    return request is not None and request.requested


def _measure(trainer, data):
    """The loss of the network's weights on ``data``, in inference mode; inf if
    not finite."""
    with np.errstate(over="ignore", invalid="ignore"):
        loss, _ = trainer.evaluate(*data)
    return loss if math.isfinite(loss) else math.inf


def _run_one_epoch(trainer, train, validation, score):
    """Train one epoch and measure it; None if the loss or weights diverged."""
    # A diverging run overflows on its way to inf/NaN: it is detected here and
    # reported with advice, rather than as numpy's overflow warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        loss = trainer.train_epoch(*train)
        if not (math.isfinite(loss) and trainer.network.weights_finite()):
            return None
        row = {"loss": loss, "score": math.nan, "val_loss": math.nan}
        row["val_score"] = math.nan
        if score is not None:
            row["score"] = _score_or_nan(
                score, train[1], trainer.epoch_predictions, train[2]
            )
        if validation is not None:
            val_loss, Z_val = trainer.evaluate(*validation)
            if not math.isfinite(val_loss):
                return None
            row["val_loss"] = val_loss
            if score is not None:
                row["val_score"] = _score_or_nan(
                    score, validation[1], Z_val, validation[2]
                )
    return row


def _score_or_nan(score, Y, Z, sample_weight):
    """``score(Y, Z, sample_weight)``, or NaN where it is undefined."""
    if Z is None or not np.isfinite(Z).all():
        return math.nan
    value = score(Y, Z, sample_weight)
    return math.nan if value is None else float(value)


def _epoch_line(row):
    parts = [f"Epoch {row['epoch']}", f"loss={row['loss']:.6g}"]
    for name, fmt in (("score", ".4f"), ("val_loss", ".6g"), ("val_score", ".4f")):
        if not math.isnan(row[name]):
            parts.append(f"{name}={row[name]:{fmt}}")
    if "errors" in row:
        parts.append(f"errors={row['errors']}")
    parts.append(f"{row['seconds']:.2f}s")
    return ", ".join(parts)


def _warn_divergence(estimator_name, epoch, best_epoch, unusable=False):
    """One warning for a divergence, however it was found."""
    if epoch is not None:
        what = f"training diverged at epoch {epoch} (the loss or the weights became "
        what += "infinite or NaN)"
        if unusable:
            what += f", and the weights of epoch {best_epoch} give infinite or NaN "
            what += "outputs too"
    else:
        what = (
            f"the weights of epoch {best_epoch}, the best of training, give infinite "
            "or NaN outputs (training diverged)"
        )
    kept = (
        "the initial weights were kept"
        if unusable or best_epoch is None
        else f"the weights of epoch {best_epoch} were restored"
    )
    warn_user(
        f"{estimator_name}: {what}; {kept}. Lower learning_rate, scale the inputs "
        "(e.g. with StandardScaler), or set clipnorm.",
        DivergenceWarning,
    )


def _warn_interrupted(estimator_name, n_epochs, kept_epoch, restore_best):
    kept = (
        "the initial weights were kept"
        if kept_epoch is None
        else f"the weights of epoch {kept_epoch} "
        + ("(the best) were kept" if restore_best else "were kept")
    )
    warn_user(
        f"{estimator_name}: training interrupted (KeyboardInterrupt) after "
        f"{n_epochs} epoch(s); {kept}. Call fit again (with warm_start=True to "
        "continue), or press Ctrl-C twice to abort.",
        TrainingInterruptedWarning,
    )


__all__ = [
    "DivergenceWarning",
    "EarlyStopping",
    "FitCallbacks",
    "RunResult",
    "StopRequest",
    "Trainer",
    "TrainingInterruptedWarning",
    "WeightSnapshot",
    "run_epochs",
    "stop_on_interrupt",
]
