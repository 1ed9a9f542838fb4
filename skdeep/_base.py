"""The one estimator base of skdeep: every estimator is a network on the engine.

:class:`BaseNetwork` validates parameters and data, builds a
:class:`~skdeep.nn.network.Sequential` network, trains it with
:func:`skdeep.nn.training.run_epochs` and exposes the fitted network (``summary``,
``get_weights``, ``history_``, ...). The perceptron and logistic regression are
one-``Dense`` networks on it, the MLPs and ConvNets deeper ones, so every
parameter of the shared vocabulary (DESIGN.md) means the same everywhere. The
classifier / regressor sides (targets, predictions, ``fit`` signatures) are in
:mod:`skdeep._outputs`.

``fit`` and ``partial_fit`` run under scikit-learn's ``_fit_context``, which
validates the parameters and also opens ``sklearn.callback``'s callback
management context: callbacks are torn down even when fitting fails. A call
that raises leaves the estimator as it was (``all_or_nothing``); Ctrl-C stops
training and keeps the model (:func:`~skdeep.nn.training.stop_on_interrupt`).

A fit runs these steps, one method each: ``_training_data`` (validation,
targets, weights, dtype), :meth:`_continued_state` (what a warm start or
``partial_fit`` continues from), ``_validation_data`` (``X_val`` or a
held-out split) -- the data steps live in :mod:`skdeep._data` --,
:meth:`_train_runs` (the restarts, each a
:func:`~skdeep.nn.training.run_epochs`), :meth:`_keep_run` (the fitted
attributes).

Subclass hooks
--------------
An estimator is ``class MyNet(NetworkClassifierMixin, BaseNetwork)`` that
defines ``__init__`` (plain assignments of every parameter its
``_parameter_constraints`` names) and overrides:

``_make_layers(self, input_shape, n_outputs)`` (required)
    Return a list of fresh Layer objects ending in ``Dense(n_outputs)`` with no
    activation: the network outputs logits, and the output activation comes from
    the loss (sigmoid for binary/multilabel, softmax for multi-class, identity for
    regression). Called once per random restart, so return new objects each time
    (deep-copy layers given by the user: ``fit`` must not change parameters).

    *Prebuilt / frozen layers (transfer learning).* A layer that is already built
    (it has ``input_shape_`` and weights) keeps its weights; set
    ``layer.trainable = False`` on it to freeze it. Restarts re-initialise only
    the unbuilt layers. See :mod:`skdeep.nn.network`.

    *Layer contract.* During training the trainable arrays are gathered into one
    flat buffer and ``layer.params`` / ``layer.grads`` become views into it: a
    layer reads its weights from ``self.params`` at every call and writes
    gradients into the existing ``self.grads`` arrays (``out=``).

``_validate_X(self, X, reset)``
    Return X as an array shaped for the network input. Must call
    ``validate_data(self, X, reset=reset, ...)`` so ``n_features_in_`` and
    ``feature_names_in_`` are set and checked.

``_augment_batch(self, X_batch, rng)``
    Return the training batch to use (identity by default).

``_make_trainer(self, network, rng, stop_request, continuing, whole_batch)``
    The trainer of one run: gradient descent (:class:`~skdeep.nn.trainer.Trainer`)
    by default, full batch when ``whole_batch``; the perceptron returns its own
    rule's trainer.
"""

import copy
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.callback import CallbackSupportMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._data import TrainingDataMixin
from ._summary import summarize
from .nn.losses import LOSSES, OUTPUT_ACTIVATION
from .nn.network import Sequential
from .nn.optimizers import SGD, Adam, Optimizer, RMSProp
from .nn.schedules import LearningRateSchedule
from .nn.trainer import StopRequest, Trainer
from .nn.training import (
    EarlyStopping,
    FitCallbacks,
    run_epochs,
    stop_on_interrupt,
)
from .utils._persistence import PersistenceMixin, all_or_nothing
from .utils._sklearn_compat import (
    Interval,
    Options,
    StrOptions,
    _fit_context,
    init_callback_context,
)
from .utils._validation import validate_numeric
from .utils._warnings import warn_user

_HISTORY_COLUMNS = [
    "epoch",
    "loss",
    "score",
    "val_loss",
    "val_score",
    "learning_rate",
    "seconds",
]

_DTYPES = {np.dtype(np.float32), np.dtype(np.float64)}

# The parameters every estimator has: the epoch loop's.
CORE_CONSTRAINTS: dict = {
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "restore_best_weights": ["boolean"],
    "n_restarts": [Interval(Integral, 1, None, closed="left")],
    "shuffle": ["boolean"],
    "random_state": ["random_state"],
    "warm_start": ["boolean"],
    "verbose": ["verbose"],
    "dtype": [
        Options(type, {np.float32, np.float64, float}),
        StrOptions({"float32", "float64"}),
        np.dtype,
    ],
}

# The parameters of gradient descent (every estimator but the perceptron).
GRADIENT_CONSTRAINTS: dict = {
    "optimizer": [
        StrOptions({"sgd", "momentum", "nesterov", "adam", "rmsprop"}),
        Optimizer,
    ],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "momentum": [Interval(Real, 0, 1, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "l1": [Interval(Real, 0, None, closed="left")],
    "max_norm": [Interval(Real, 0, None, closed="neither"), None],
    "clipnorm": [Interval(Real, 0, None, closed="neither"), None],
    "learning_rate_schedule": [
        StrOptions({"constant", "invscaling", "adaptive"}),
        callable,
    ],
}


class _Start(NamedTuple):
    """What a fit starts from: fresh, or a warm start / partial_fit."""

    rng: np.random.Generator
    n_iter: int
    history_rows: list
    samples_seen: int


class _Run(NamedTuple):
    """One training run (a restart) and the loss of the weights it ended with."""

    result: object
    network: Sequential
    trainer: object
    schedule: object
    history: list
    final_loss: float


class BaseNetwork(
    TrainingDataMixin,
    CallbackSupportMixin,
    PersistenceMixin,
    BaseEstimator,
    metaclass=ABCMeta,
):
    """Base class of every skdeep estimator; see the module docstring for the hooks.

    Not to be used directly.
    """

    _parameter_constraints: dict = {**CORE_CONSTRAINTS, **GRADIENT_CONSTRAINTS}
    _history_columns = _HISTORY_COLUMNS
    # The fitted attributes a continuing fit changes in place (the rest it only
    # rebinds): what a failed fit must restore from copies (all_or_nothing).
    _mutated_in_place = ("network_", "optimizer_", "_lr_schedule", "_rng")

    # ------------------------------------------------------------------
    # Hooks
    # ------------------------------------------------------------------

    @abstractmethod
    def _make_layers(self, input_shape, n_outputs):
        """Fresh layers for one network, ending in ``Dense(n_outputs)`` (logits)."""

    def _validate_X(self, X, reset):
        return validate_numeric(
            self,
            X,
            reset=reset,
            dtype=[np.float32, np.float64],
            order="C",
            accept_sparse=self._accepted_sparse_formats(),
        )

    def _accepted_sparse_formats(self):
        """Sparse formats X may come in (False: dense only)."""
        return False

    def _augment_batch(self, X_batch, rng):
        return X_batch

    def _trained_by_shuffled_batches(self):
        """Whether training takes steps on parts of the data (see
        :func:`skdeep.utils.estimator_checks.expected_failed_checks`)."""
        return self.batch_size is not None

    def _make_trainer(self, network, rng, stop_request, continuing, whole_batch):
        optimizer = self.optimizer_ if continuing else self._make_optimizer()
        return Trainer(
            network,
            LOSSES[self._loss_name],
            optimizer,
            batch_size=None if whole_batch else self.batch_size,
            shuffle=self.shuffle,
            alpha=self.alpha,
            l1=self.l1,
            max_norm=self.max_norm,
            clipnorm=self.clipnorm,
            augment=self._augment_batch,
            rng=rng,
            stop_request=stop_request,
        )

    def _make_schedule(self, trainer):
        return LearningRateSchedule(self.learning_rate_schedule, trainer.learning_rate)

    def _max_iter_message(self):
        return (
            f"{type(self).__name__}: Maximum iterations ({self.max_iter}) reached "
            "and the optimization hasn't converged yet."
        )

    # Provided by the classifier / regressor mixins (skdeep._outputs):
    # _validate_targets(y, first_call, classes, input_name) -> Y (n, n_outputs)
    # _output_sample_weight(y, sample_weight, first_call, incremental) -> weights
    # _split_labels(y) -> class labels the validation split must respect, or None
    # _score_outputs(Y, Z, sample_weight) -> float (training and validation score)

    # ------------------------------------------------------------------
    # Fitting
    # ------------------------------------------------------------------

    def _dtype(self):
        dtype = np.dtype(self.dtype)
        if dtype not in _DTYPES:
            raise ValueError(
                "`dtype` must be float32 or float64 (a numpy dtype, its name, or "
                f"float); received dtype={self.dtype!r}."
            )
        return dtype

    def _make_optimizer(self):
        if isinstance(self.optimizer, Optimizer):
            optimizer = clone(self.optimizer)
            optimizer._check_hyperparameters()  # before anything reads them
            return optimizer
        lr = self.learning_rate
        return {
            "sgd": lambda: SGD(lr),
            "momentum": lambda: SGD(lr, momentum=self.momentum),
            "nesterov": lambda: SGD(lr, momentum=self.momentum, nesterov=True),
            "adam": lambda: Adam(lr),
            "rmsprop": lambda: RMSProp(lr),
        }[self.optimizer]()

    def _build_network(self, input_shape, n_outputs, rng):
        network = Sequential(
            self._make_layers(input_shape, n_outputs), dtype=self._dtype()
        )
        output_shape = network.build(input_shape, rng)
        if output_shape != (n_outputs,):
            raise ValueError(
                f"The network's output shape {output_shape} does not match the "
                f"{n_outputs} outputs the targets need: end the layers with "
                f"Dense({n_outputs})."
            )
        return network

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, X, y, sample_weight=None, *, X_val=None, y_val=None,
        sample_weight_val=None,
    ):  # fmt: skip
        """Train the network on ``(X, y)``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Training data (images for a ConvNet: see its ``input_shape``).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (a binary indicator matrix for multilabel
            classification), or the targets of a regressor.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, multiplied by the ``class_weight`` weights of
            a classifier.
        X_val : array-like of shape (n_val_samples, n_features), default=None
            Validation data of your own (Keras' ``validation_data``): its loss
            and score are recorded every epoch, the best weights are chosen on
            it, and ``n_iter_no_change`` watches its loss; no split is held
            out even with ``early_stopping=True``.
        y_val : array-like of shape (n_val_samples,) or \
(n_val_samples, n_outputs), default=None
            Targets of ``X_val``.
        sample_weight_val : array-like of shape (n_val_samples,), default=None
            Weights of the validation samples.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(
            X,
            y,
            sample_weight,
            X_val=X_val,
            y_val=y_val,
            sample_weight_val=sample_weight_val,
        )

    @all_or_nothing
    def _fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        incremental=False,
        classes=None,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
    ):
        first_call = not (
            hasattr(self, "network_") and (incremental or self.warm_start)
        )
        train, labels = self._training_data(
            X, y, sample_weight, first_call, incremental, classes
        )
        # The seed of the training streams, then the split, drawn in this order
        # by every call that needs either, so that a warm start holds out the
        # same rows (an int random_state costs ~0.1 ms: not per partial_fit).
        random_state = root_seed = None
        needs_split = self.early_stopping and not incremental and X_val is None
        if first_call or needs_split:
            random_state = check_random_state(self.random_state)
            root_seed = random_state.randint(2**31 - 1)
        start = self._continued_state(first_call, root_seed)
        train, validation = self._validation_data(
            train, labels, X_val, y_val, sample_weight_val, random_state, incremental
        )
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        run, callbacks = self._train_runs(
            train, validation, start, first_call, incremental, (X, y, metadata)
        )
        self._keep_run(
            run, start, first_call, validation, train.X.shape[0], incremental
        )
        callbacks.end()
        if run.result.stop_reason == "max_iter" and not incremental:
            warn_user(self._max_iter_message(), ConvergenceWarning)
        return self

    def _continued_state(self, first_call, root_seed):
        if first_call:
            return _Start(np.random.default_rng(root_seed), 0, [], 0)
        return _Start(
            self._rng, self.n_iter_, list(self._history_rows), self._samples_seen
        )

    def _train_runs(self, train, validation, start, first_call, incremental, inputs):
        """Train ``n_restarts`` runs (one when continuing); return the one whose
        final weights have the lowest monitored loss."""
        n_restarts = self.n_restarts if first_call and not incremental else 1
        max_iter = 1 if incremental else self.max_iter
        # A batch as large as the data is full-batch descent: each epoch then
        # records the loss of the weights it ends with, which best weights need.
        # Not for partial_fit: a call is one step, and the exact loss would cost
        # it a second forward pass.
        batch_size = getattr(self, "batch_size", None)
        whole_batch = batch_size is None or (
            not incremental and batch_size >= train.X.shape[0]
        )
        if first_call:
            rngs = [np.random.default_rng(s) for s in start.rng.spawn(n_restarts)]
        else:
            rngs = [start.rng]
        current = {}
        root = init_callback_context(
            self, max_subtasks=max_iter if n_restarts == 1 else n_restarts
        )
        callbacks = FitCallbacks(
            root, self, *inputs, lambda: self._fitted_attributes(current, start)
        ).begin()
        best = None
        with stop_on_interrupt(StopRequest()) as stop_request:
            for rng in rngs:
                if first_call:
                    network = self._build_network(
                        train.X.shape[1:], train.Y.shape[1], rng
                    )
                else:
                    network = self.network_
                continuing = incremental and not first_call
                trainer = self._make_trainer(
                    network, rng, stop_request, continuing, whole_batch
                )
                schedule = self._schedule(trainer, continuing)
                history = []
                current.update(trainer=trainer, history=history, validation=validation)
                task = (
                    callbacks
                    if n_restarts == 1
                    else callbacks.subtask("restart", max_iter)
                )
                result = run_epochs(
                    trainer,
                    train,
                    validation,
                    max_iter=max_iter,
                    stopper=EarlyStopping(self.n_iter_no_change, self.tol),
                    history=history,
                    score=self._score_outputs,
                    callbacks=task,
                    verbose=self.verbose,
                    first_epoch=start.n_iter + 1,
                    restore_best=self.restore_best_weights,
                    schedule=schedule,
                    samples_seen=start.samples_seen,
                    estimator_name=type(self).__name__,
                    # A partial_fit call is one step of a stream: no extra
                    # pass. Restarts are compared by their measured losses.
                    measure_final=(
                        False
                        if incremental
                        else (True if n_restarts > 1 else "unless_bounded")
                    ),
                )
                final_loss = result.final_loss
                if n_restarts > 1:
                    task.end()
                run = _Run(result, network, trainer, schedule, history, final_loss)
                if best is None or final_loss < best.final_loss:
                    best = run
                if result.stop_reason in ("callback", "interrupted"):
                    break
        current.update(trainer=best.trainer, history=best.history)
        return best, callbacks

    def _schedule(self, trainer, continuing):
        # partial_fit continues the schedule (its rate, its adaptive count); a
        # warm-start fit starts one with the parameters it is given.
        if continuing and hasattr(self, "_lr_schedule"):
            return self._lr_schedule
        return self._make_schedule(trainer)

    def _fitted_attributes(self, current, start):
        """The fitted attributes of the run under way, copied, for a callback
        that asks for a fitted estimator (``reconstruction_attributes``)."""
        trainer, history = current["trainer"], current["history"]
        rows = start.history_rows + list(history)
        validated = current["validation"] is not None
        monitored = "val_loss" if validated else "loss"
        attributes = {
            # The copy holds this epoch's weights: they are its "best".
            "best_epoch_": start.n_iter + len(history) if history else None,
            "best_loss_": history[-1][monitored] if history else None,
            "validation_scores_": (
                [row["val_score"] for row in rows] if validated else None
            ),
            "network_": copy.deepcopy(trainer.network),
            "_rng": start.rng,
            "_history_rows": rows,
            "n_iter_": start.n_iter + len(history),
            "_samples_seen": start.samples_seen,
            "loss_curve_": [row["loss"] for row in rows],
            "loss_": rows[-1]["loss"] if rows else None,
            "out_activation_": OUTPUT_ACTIVATION[self._loss_name],
        }
        if hasattr(trainer, "optimizer"):
            attributes["optimizer_"] = copy.deepcopy(trainer.optimizer)
        return attributes

    def _keep_run(self, run, start, first_call, validation, n_train, incremental):
        """Store the chosen run as the fitted attributes."""
        result, network = run.result, run.network
        if not incremental:
            # A fitted model keeps no training buffers; a partial_fit stream
            # keeps them for its next call.
            network.release_buffers()
        self.network_ = network
        if hasattr(run.trainer, "optimizer"):
            self.optimizer_ = run.trainer.optimizer
        if run.schedule is not None:
            self._lr_schedule = run.schedule
        self._rng = start.rng
        rows = start.history_rows + run.history
        self._history_rows = rows
        self.n_iter_ = start.n_iter + result.n_epochs
        self._samples_seen = start.samples_seen + result.n_epochs * n_train
        self.loss_curve_ = [row["loss"] for row in rows]
        self.loss_ = self.loss_curve_[-1] if rows else None
        self.best_loss_ = run.final_loss
        if result.best_epoch is not None or first_call:
            self.best_epoch_ = result.best_epoch
        self.validation_scores_ = (
            None if validation is None else [row["val_score"] for row in rows]
        )
        self.out_activation_ = OUTPUT_ACTIVATION[self._loss_name]

    # ------------------------------------------------------------------
    # Inspection
    # ------------------------------------------------------------------

    def _logits(self, X):
        """The network's outputs for ``X``, as float64 (n_samples, n_outputs)."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self.network_.predict(X, n_threads="auto")

    @property
    def history_(self):
        """pandas DataFrame of per-epoch training records, indexed by epoch.

        Columns: loss, score, val_loss, val_score, learning_rate, seconds.
        ``loss`` is the training loss (penalties included): of the weights
        after the epoch's step for full-batch training, the mean of the batch
        losses met during the epoch for mini-batches. ``score`` is the training
        score (accuracy for classifiers, R^2 for regressors) of the outputs the
        network gave the training rows during the epoch, in training mode
        (dropout, augmentation): the running value Keras reports as
        ``accuracy``, computed without an extra pass over the data. The
        ``val_*`` columns are computed on the validation data after the epoch
        (NaN without validation data).
        """
        check_is_fitted(self)
        return pd.DataFrame(
            self._history_rows, columns=self._history_columns
        ).set_index("epoch")

    def summary(self):
        """Describe the fitted network, one row per layer, as Keras' summary.

        Returns
        -------
        summary : NetworkSummary
            A pandas DataFrame with columns ``layer``, ``output_shape`` (batch
            axis None), ``params`` and ``trainable``; printing it shows the
            totals.
        """
        check_is_fitted(self)
        return summarize(self.network_)

    def get_weights(self):
        """Copies of the network's weight arrays, in layer order (as Keras).

        Returns
        -------
        weights : list of ndarray
        """
        check_is_fitted(self)
        return self.network_.get_weights()

    def set_weights(self, weights):
        """Set the network's weights from a list shaped like ``get_weights()``.

        Parameters
        ----------
        weights : list of ndarray

        Returns
        -------
        self : object
        """
        check_is_fitted(self)
        self.network_.set_weights(weights)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = bool(self._accepted_sparse_formats())
        return tags


__all__ = ["CORE_CONSTRAINTS", "GRADIENT_CONSTRAINTS", "BaseNetwork"]
