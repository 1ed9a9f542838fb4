"""The epoch loop: mini-batches, early stopping, best weights (notes 二.5-9).

:class:`Trainer` runs one epoch of mini-batch gradient descent on a
:class:`~skdeep.nn.network.Sequential` network; :func:`run_epochs` repeats epochs
until ``max_iter``, early stopping, divergence or a callback stops it, keeping
one history row per epoch and restoring the best weights at the end.

The estimator's scikit-learn callbacks (``sklearn.callback``, experimental) are
driven from here only, through :class:`FitCallbacks`: one task per epoch. This
module does not import scikit-learn; it calls the context object it is given.
"""

import math
import time
import warnings

import numpy as np


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


class Trainer:
    """One epoch of mini-batch gradient descent on a network.

    Parameters
    ----------
    network : Sequential
        A built network.
    loss : callable
        ``loss(Z, Y, sample_weight) -> (loss, dZ)`` from :mod:`skdeep.nn.losses`.
    optimizer : Optimizer
        Updates the trainable arrays in place. It is given one flat array of
        all of them (see ``Sequential.flat_trainable``), so its state is one
        array per moment.
    batch_size : int or None
        Mini-batch size; None is full-batch gradient descent.
    alpha, l1 : float
        L2 (``0.5 * alpha * ||W||^2``) and L1 (``l1 * |W|``) penalties on the
        weights 'W' of the trainable layers, added to the batch's mean loss.
    clipnorm : float or None
        Clip each gradient array to this L2 norm (Keras' ``clipnorm``).
    augment : callable or None
        ``augment(X_batch, rng) -> X_batch``, applied to training batches only.
    rng : numpy.random.Generator
        Shuffling (and augmentation) randomness.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.nn.layers import Dense
    >>> from skdeep.nn.losses import squared_error
    >>> from skdeep.nn.network import Sequential
    >>> from skdeep.nn.optimizers import SGD
    >>> from skdeep.nn.training import Trainer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(64, 2))
    >>> Y = X @ np.array([[2.0], [-1.0]])
    >>> net = Sequential([Dense(1)], dtype=np.float64)
    >>> net.build((2,), rng)
    (1,)
    >>> trainer = Trainer(net, squared_error, SGD(0.1), batch_size=16, rng=rng)
    >>> losses = [trainer.train_epoch(X, Y) for _ in range(30)]
    >>> bool(losses[-1] < 1e-3 < losses[0])
    True
    """

    def __init__(
        self,
        network,
        loss,
        optimizer,
        *,
        batch_size=None,
        alpha=0.0,
        l1=0.0,
        clipnorm=None,
        augment=None,
        rng,
    ):
        self.network = network
        self.loss = loss
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.alpha = alpha
        self.l1 = l1
        self.clipnorm = clipnorm
        self.augment = augment
        self.rng = rng
        self._flat_params, self._flat_grads = network.flat_trainable()
        self._params, self._grads, is_weight = network.trainable_params()
        self._weights = [p for p, w in zip(self._params, is_weight) if w]
        self._weight_grads = [g for g, w in zip(self._grads, is_weight) if w]
        self._scratch = [np.empty_like(w) for w in self._weights]
        self._batches = {}
        self._predictions = None

    @property
    def epoch_predictions(self):
        """The outputs the network gave each training row during the last epoch.

        An array shaped like ``Y`` in the rows' original order: every batch's
        outputs (logits) are kept as the forward pass of training computed them,
        with the weights of that moment and in training mode (dropout,
        augmentation). Rows of a skipped zero-weight batch keep stale values.
        None before the first epoch.
        """
        return self._predictions

    def _record_predictions(self, Z, idx, n):
        # Kept as the batches come, so a training score costs no extra forward
        # pass over the data (Keras' running ``accuracy`` is computed the same way).
        shape = (n, *Z.shape[1:])
        if self._predictions is None or self._predictions.shape != shape:
            # Zeros rather than empty: a skipped batch must not leave NaN behind.
            self._predictions = np.zeros(shape, dtype=Z.dtype)
        if idx is None:
            self._predictions[...] = Z
        else:
            self._predictions[idx] = Z

    def penalty(self):
        """The weight-decay term added to the loss."""
        value = 0.0
        for W, scratch in zip(self._weights, self._scratch):
            if self.alpha:
                value += 0.5 * self.alpha * float(np.vdot(W, W))
            if self.l1:
                # |W| into the scratch buffer: no new array per batch.
                value += self.l1 * float(np.abs(W, out=scratch).sum())
        return value

    def _add_penalty_grads(self):
        for W, dW, scratch in zip(self._weights, self._weight_grads, self._scratch):
            if self.alpha:
                dW += np.multiply(W, self.alpha, out=scratch)
            if self.l1:
                np.sign(W, out=scratch)
                scratch *= self.l1
                dW += scratch

    def _clip(self):
        for g in self._grads:
            norm = math.sqrt(float(np.vdot(g, g)))
            if norm > self.clipnorm:
                g *= self.clipnorm / norm

    def _take(self, A, idx, name):
        # Batches are gathered into buffers reused from batch to batch.
        shape = (len(idx), *A.shape[1:])
        out = self._batches.get(name)
        if out is None or out.shape != shape:
            out = self._batches[name] = np.empty(shape, dtype=A.dtype)
        return np.take(A, idx, axis=0, out=out)

    def train_epoch(self, X, Y, sample_weight=None):
        """Run one pass over ``(X, Y)``; return the mean training loss.

        Stops at the first non-finite batch loss and returns it, leaving the
        caller to restore finite weights.
        """
        n = X.shape[0]
        batch_size = n if self.batch_size is None else min(self.batch_size, n)
        # Shuffle indices rather than the data: no copy of X per epoch.
        order = self.rng.permutation(n) if batch_size < n else None
        mean_weight = None if sample_weight is None else sample_weight.mean()
        total = 0.0
        for start in range(0, n, batch_size):
            if order is None:
                idx = None
                X_batch, Y_batch, w_batch = X, Y, sample_weight
            else:
                idx = order[start : start + batch_size]
                X_batch = self._take(X, idx, "X")
                Y_batch = self._take(Y, idx, "Y")
                w_batch = None if sample_weight is None else sample_weight[idx]
            m = X_batch.shape[0]
            if w_batch is not None and not w_batch.any():
                continue  # a batch of zero weights carries no gradient
            if self.augment is not None:
                X_batch = self.augment(X_batch, self.rng)
            Z = self.network.forward(X_batch, training=True)
            self._record_predictions(Z, idx, n)
            loss, dZ = self.loss(Z, Y_batch, w_batch)
            if w_batch is not None:
                # The loss normalises the batch weights to sum to 1; rescale so the
                # batch estimates the weighted mean over the whole data set.
                scale = float(w_batch.mean() / mean_weight)
                loss *= scale
                dZ *= scale
            loss += self.penalty()
            total += loss * m
            if not math.isfinite(loss):
                return loss
            self.network.backward(dZ)
            if self.alpha or self.l1:
                self._add_penalty_grads()
            if self.clipnorm is not None:
                self._clip()
            self.optimizer.step([self._flat_params], [self._flat_grads])
        return total / n

    def evaluate(self, X, Y, sample_weight=None):
        """Mean loss (with the penalty) and the logits on ``(X, Y)``, no training."""
        Z = self.network.predict(X)
        loss, _ = self.loss(Z, Y, sample_weight)
        return loss + self.penalty(), Z


class EarlyStopping:
    """Keras' early-stopping rule on a loss (lower is better).

    An epoch improves if ``value < best - |tol|``; training should stop after
    ``patience`` epochs in a row without improvement.
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
        return self.wait >= self.patience


class WeightSnapshot:
    """A copy of the network's parameters kept in memory, in preallocated arrays.

    In memory rather than on disk, so parallel searches cannot collide on
    checkpoint files (skorch#819).
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


class RunResult:
    """What :func:`run_epochs` reports: epochs run, best loss, how it ended.

    ``best_epoch`` is the number of the epoch whose weights the network holds at
    the end (the best one, or the last one without ``restore_best``); None if
    no epoch finished and the initial weights were kept.
    """

    def __init__(self, n_epochs, best_loss, stop_reason, best_epoch=None):
        self.n_epochs = n_epochs
        self.best_loss = best_loss
        self.best_epoch = best_epoch
        self.stop_reason = (
            stop_reason  # "max_iter", "converged", "callback", "diverged"
        )


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
):
    """Train for up to ``max_iter`` epochs, then restore the best weights.

    Parameters
    ----------
    trainer : Trainer
    train : tuple (X, Y, sample_weight)
    validation : tuple (X, Y, sample_weight) or None
        Monitored instead of the training loss when given.
    max_iter : int
    stopper : EarlyStopping
        Decides which epoch is best and when to stop.
    history : list of dict
        One row per epoch is appended: epoch, loss, score, val_loss, val_score,
        learning_rate, seconds.
    score : callable or None
        ``score(Y, Z, sample_weight) -> float``. Gives ``val_score`` on the
        validation data and the training ``score``: the score of the outputs
        the network gave the training batches during the epoch
        (``Trainer.epoch_predictions``), i.e. an average over the epoch while
        the weights changed, in training mode (dropout, augmentation) -- what
        Keras reports as ``accuracy`` -- not the score of the epoch's final
        weights. It costs no forward pass. None leaves both scores None.
    callbacks : FitCallbacks or None
    verbose : int
        Print a line per epoch if > 0.
    first_epoch : int
        Number of the first epoch (warm starts continue the count).
    restore_best : bool
        Restore the best epoch's weights at the end (Keras'
        ``restore_best_weights``); False keeps the last epoch's. Divergence
        always restores them.

    Returns
    -------
    RunResult
    """
    network = trainer.network
    best = WeightSnapshot(network)  # the initial weights until an epoch improves
    stop_reason = "max_iter"
    n_epochs = 0
    for epoch in range(first_epoch, first_epoch + max_iter):
        if callbacks is not None:
            callbacks.epoch_begin()
        start = time.perf_counter()
        # A diverging run overflows on its way to inf/NaN: it is detected below
        # and reported with advice, rather than as numpy's overflow warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            loss = trainer.train_epoch(*train)
            train_score = val_loss = val_score = None
            if score is not None and math.isfinite(loss):
                train_score = _score_or_none(
                    score, train[1], trainer.epoch_predictions, train[2]
                )
            if validation is not None and math.isfinite(loss):
                val_loss, Z_val = trainer.evaluate(*validation)
                if score is not None and math.isfinite(val_loss):
                    val_score = score(validation[1], Z_val, validation[2])
        monitored = loss if validation is None else val_loss
        if not (math.isfinite(monitored) and network.weights_finite()):
            best.restore()
            # The velocities and moments belong to the diverged trajectory:
            # continuing from the restored weights starts them afresh.
            trainer.optimizer.reset()
            _warn_divergence(epoch, stopper.best_epoch, loss)
            if callbacks is not None:
                callbacks.epoch_end()
            stop_reason = "diverged"
            break
        n_epochs += 1
        history.append(
            {
                "epoch": epoch,
                "loss": loss,
                "score": train_score,
                "val_loss": val_loss,
                "val_score": val_score,
                "learning_rate": getattr(trainer.optimizer, "learning_rate", None),
                "seconds": time.perf_counter() - start,
            }
        )
        if stopper.update(monitored, epoch):
            best.save()
        if verbose:
            print(_epoch_line(history[-1]))
        if callbacks is not None and callbacks.epoch_end():
            stop_reason = "callback"
            break
        if stopper.should_stop:
            stop_reason = "converged"
            break
    kept_epoch = stopper.best_epoch
    if stop_reason != "diverged":
        if restore_best:
            best.restore()
        else:
            kept_epoch = history[-1]["epoch"] if n_epochs else None
    return RunResult(n_epochs, stopper.best, stop_reason, kept_epoch)


def _score_or_none(score, Y, Z, sample_weight):
    """``score(Y, Z, sample_weight)``, or None where it is undefined.

    Non-finite outputs (a run on its way to diverge) have no score; the
    divergence check then stops training.
    """
    if Z is None or not np.isfinite(Z).all():
        return None
    return score(Y, Z, sample_weight)


def _epoch_line(row):
    parts = [f"Epoch {row['epoch']}", f"loss={row['loss']:.6g}"]
    if row.get("score") is not None:
        parts.append(f"score={row['score']:.4f}")
    if row["val_loss"] is not None:
        parts.append(f"val_loss={row['val_loss']:.6g}")
    if row["val_score"] is not None:
        parts.append(f"val_score={row['val_score']:.4f}")
    parts.append(f"{row['seconds']:.2f}s")
    return ", ".join(parts)


def _warn_divergence(epoch, best_epoch, loss):
    restored = (
        "the initial weights were kept"
        if best_epoch is None
        else f"the weights of epoch {best_epoch} were restored"
    )
    warnings.warn(
        f"Training diverged at epoch {epoch} (loss={loss}); {restored}. "
        "Lower learning_rate, scale the inputs (e.g. with StandardScaler), or set "
        "clipnorm.",
        DivergenceWarning,
        stacklevel=3,
    )


__all__ = [
    "DivergenceWarning",
    "EarlyStopping",
    "FitCallbacks",
    "RunResult",
    "Trainer",
    "WeightSnapshot",
    "run_epochs",
]
