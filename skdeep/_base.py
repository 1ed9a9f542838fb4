"""Shared machinery of the network estimators (MLPNet*, ConvNetClassifier).

:class:`BaseNetwork` validates parameters and data, builds a
:class:`~skdeep.nn.network.Sequential` network, trains it with
:func:`skdeep.nn.training.run_epochs` and exposes the fitted network (``summary``,
``get_weights``, ``history_``, ...). :class:`NetworkClassifierMixin` and
:class:`NetworkRegressorMixin` turn targets into network outputs and back.

``fit`` and ``partial_fit`` run under scikit-learn's ``_fit_context``, which
validates the parameters and also opens ``sklearn.callback``'s callback
management context (the job of ``sklearn.callback.with_callbacks``): callbacks
are torn down even when fitting fails. Predictions are computed in float64
from the (float32 by default) weights, so a row's output does not depend on
the rows batched with it.

Subclass hooks
--------------
A network estimator is ``class MyNet(NetworkClassifierMixin, BaseNetwork)`` that
defines ``__init__`` (plain assignments), ``_parameter_constraints`` (start from
``BaseNetwork._parameter_constraints``; the classifier adds
``NetworkClassifierMixin._parameter_constraints``) and overrides:

``_make_layers(self, input_shape, n_outputs)`` (required)
    Return a list of fresh Layer objects ending in ``Dense(n_outputs)`` with no
    activation: the network outputs logits, and the output activation comes from
    the loss (sigmoid for binary/multilabel, softmax for multi-class, identity for
    regression). Called once per random restart, so return new objects each time
    (deep-copy layers given by the user: ``fit`` must not change parameters).

    *Prebuilt / frozen layers (transfer learning).* A layer that is already built
    (it has ``input_shape_`` and weights, e.g. a deep copy of
    ``pretrained.network_.layers[i]``) keeps its weights:
    ``Sequential.build`` builds only the unbuilt layers (after checking that a
    built layer receives the input shape it was built for) and casts kept weights
    to ``dtype``. Set ``layer.trainable = False`` on the copies to freeze them:
    the optimizer skips them, they get no weight gradients, and back-propagation
    stops at the lowest trainable layer (layers below it run in inference mode).
    Restarts re-initialise only the unbuilt layers.

    *Layer contract.* During training the trainable arrays are gathered into one
    flat buffer (``Sequential.flat_trainable``) and ``layer.params`` /
    ``layer.grads`` become views into it: a layer must read its weights from
    ``self.params`` at every call and write gradients into the existing
    ``self.grads`` arrays (``out=``), never rebind them outside ``build``.

``_validate_X(self, X, reset)``
    Return X as a float array shaped for the network input (``(n, n_features)``
    here; a ConvNet returns ``(n, h, w, c)``). Must call
    ``validate_data(self, X, reset=reset, ...)`` so ``n_features_in_`` and
    ``feature_names_in_`` are set and checked. Used by ``fit``, ``partial_fit``
    and every prediction method.

``_augment_batch(self, X_batch, rng)``
    Return the training batch to use (identity by default). Called on training
    batches only, never on validation data or at prediction; ``rng`` is a
    ``numpy.random.Generator`` derived from ``random_state``.

The training parameters read by ``_fit`` are the shared vocabulary (DESIGN.md):
``optimizer``, ``learning_rate``, ``momentum``, ``batch_size``, ``max_iter``,
``alpha``, ``l1``, ``early_stopping``, ``validation_fraction``,
``n_iter_no_change``, ``tol``, ``restore_best_weights``, ``n_restarts``,
``clipnorm``, ``random_state``, ``warm_start``, ``verbose``, ``dtype`` (and
``class_weight`` for classifiers);
a subclass must define them all in ``__init__``.
"""

import copy
import math
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import special
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.callback import CallbackSupportMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_array, check_random_state, compute_sample_weight
from sklearn.utils.multiclass import (
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from .nn.activations import binary_log_proba, log_sigmoid, log_softmax
from .nn.losses import LOSSES, OUTPUT_ACTIVATION
from .nn.network import Sequential
from .nn.optimizers import SGD, Adam, Optimizer, RMSProp
from .nn.training import (
    EarlyStopping,
    FitCallbacks,
    Trainer,
    run_epochs,
)
from .utils._persistence import PersistenceMixin, all_or_nothing
from .utils._sklearn_compat import (
    Interval,
    Options,
    StrOptions,
    _fit_context,
)
from .utils._validation import (
    UnseenLabelsScoreMixin,
    check_sample_weight,
    name_argument,
    validate_numeric,
)

_HISTORY_COLUMNS = [
    "epoch",
    "loss",
    "score",
    "val_loss",
    "val_score",
    "learning_rate",
    "seconds",
]


class NetworkSummary(pd.DataFrame):
    """The table ``summary()`` returns: one row per layer.

    A DataFrame with columns ``layer``, ``output_shape``, ``params`` and
    ``trainable``, printed like Keras' ``model.summary()`` with the totals.
    """

    @property
    def _constructor(self):
        # Slices and computations give plain DataFrames.
        return pd.DataFrame

    @property
    def total_params(self):
        return int(self["params"].sum())

    @property
    def trainable_params(self):
        return int(self.loc[self["trainable"].astype(bool), "params"].sum())

    def __repr__(self):
        header = ("Layer (type)", "Output Shape", "Param #", "Trainable")
        rows = [
            (
                r.layer,
                str(r.output_shape),
                f"{r.params:,}",
                "yes" if r.trainable else "no",
            )
            for r in self.itertuples()
        ]
        widths = [max(len(row[i]) for row in [header, *rows]) + 2 for i in range(4)]

        def line(cells):
            return " " + "".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

        rule = "=" * (sum(widths) + 1)
        total, trainable = self.total_params, self.trainable_params
        return "\n".join(
            [
                line(header),
                rule,
                *(line(row) for row in rows),
                rule,
                f"Total params: {total:,}",
                f"Trainable params: {trainable:,}",
                f"Non-trainable params: {total - trainable:,}",
            ]
        )

    __str__ = __repr__

    def _repr_html_(self):
        return pd.DataFrame(self)._repr_html_()


def _check_range(A, name, dtype):
    """Refuse finite values that become infinite in the weights' ``dtype``."""
    limit = float(np.finfo(dtype).max)
    if A.dtype.itemsize > np.dtype(dtype).itemsize and A.size:
        largest = max(float(A.max()), -float(A.min()))
        if largest > limit:
            raise ValueError(
                f"{name} has values up to {largest:.3g}, beyond the range of "
                f"dtype={np.dtype(dtype).name} (+-{limit:.3g}) in which the network "
                f"computes. Scale {name} (e.g. with StandardScaler) or pass "
                "dtype=np.float64."
            )


class BaseNetwork(
    CallbackSupportMixin, PersistenceMixin, BaseEstimator, metaclass=ABCMeta
):
    """Base class of the network estimators; see the module docstring for the hooks.

    A call to ``fit`` or ``partial_fit`` that raises leaves the estimator as it
    was (``all_or_nothing``); pickles record the skdeep version
    (``PersistenceMixin``). Not to be used directly.
    """

    _parameter_constraints: dict = {
        "optimizer": [
            StrOptions({"sgd", "momentum", "nesterov", "adam", "rmsprop"}),
            Optimizer,
        ],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "restore_best_weights": ["boolean"],
        "n_restarts": [Interval(Integral, 1, None, closed="left")],
        "clipnorm": [Interval(Real, 0, None, closed="neither"), None],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "dtype": [Options(type, {np.float32, np.float64})],
    }

    # ------------------------------------------------------------------
    # Hooks
    # ------------------------------------------------------------------

    @abstractmethod
    def _make_layers(self, input_shape, n_outputs):
        """Fresh layers for one network, ending in ``Dense(n_outputs)`` (logits)."""

    def _validate_X(self, X, reset):
        return validate_numeric(
            self, X, reset=reset, dtype=[np.float32, np.float64], order="C"
        )

    def _augment_batch(self, X_batch, rng):
        return X_batch

    # Provided by the classifier / regressor mixins:
    # _validate_targets(y, first_call, classes) -> Y (n, n_outputs) float array
    # _output_sample_weight(y, sample_weight, incremental) -> weights or None
    # _split_labels(y) -> class labels the validation split must respect, or None
    # _validation_score(Y, Z, sample_weight) -> float or None (training and
    #     validation score)

    # ------------------------------------------------------------------
    # Fitting
    # ------------------------------------------------------------------

    def _make_optimizer(self):
        if isinstance(self.optimizer, Optimizer):
            return clone(self.optimizer)
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
            self._make_layers(input_shape, n_outputs), dtype=self.dtype
        )
        output_shape = network.build(input_shape, rng)
        if output_shape != (n_outputs,):
            raise ValueError(
                f"The network's output shape {output_shape} does not match the "
                f"{n_outputs} outputs the targets need: end the layers with "
                f"Dense({n_outputs})."
            )
        return network

    @all_or_nothing
    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        first_call = not (
            hasattr(self, "network_") and (incremental or self.warm_start)
        )
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        X_input, y_input = X, y
        X = self._validate_X(X, reset=first_call)
        check_consistent_length(X, y)
        Y = self._validate_targets(y, first_call, classes)
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, X.shape[0])
        sample_weight = self._output_sample_weight(y, sample_weight, incremental)

        dtype = self.dtype if first_call else self.network_.dtype
        _check_range(X, "X", dtype)
        _check_range(Y, "y", dtype)
        X = np.ascontiguousarray(X, dtype=dtype)
        Y = np.ascontiguousarray(Y, dtype=dtype)
        if sample_weight is not None:
            sample_weight = sample_weight.astype(dtype)

        random_state = check_random_state(self.random_state)
        # Fitted attributes are only assigned once training succeeded.
        if first_call:
            root_rng = np.random.default_rng(random_state.randint(2**31 - 1))
            n_iter, history_rows = 0, []
        else:
            root_rng, n_iter = self._rng, self.n_iter_
            history_rows = list(self._history_rows)
        n_restarts = self.n_restarts if first_call and not incremental else 1
        max_iter = 1 if incremental else self.max_iter

        # The validation split (the same for every restart, so their validation
        # losses compare).
        validation = None
        train = (X, Y, sample_weight)
        if self.early_stopping and not incremental:
            train, validation = self._split_validation(
                X, Y, y, sample_weight, random_state
            )

        # One generator per restart; on a warm start or partial_fit the
        # shuffling stream continues from the previous call.
        if first_call:
            rngs = [np.random.default_rng(s) for s in root_rng.spawn(n_restarts)]
        else:
            rngs = [root_rng]

        root = self._init_callback_context(
            max_subtasks=max_iter if n_restarts == 1 else n_restarts
        )
        state = {}
        callbacks = FitCallbacks(
            root,
            self,
            X_input,
            y_input,
            None if sample_weight is None else {"sample_weight": sample_weight},
            lambda: {"network_": copy.deepcopy(state["network"])},
        ).begin()

        best = None
        for rng in rngs:
            if first_call:
                network = self._build_network(X.shape[1:], Y.shape[1], rng)
            else:
                network = self.network_
            if incremental and hasattr(self, "optimizer_") and not first_call:
                optimizer = self.optimizer_
            else:
                optimizer = self._make_optimizer()
            state["network"] = network
            trainer = Trainer(
                network,
                LOSSES[self._loss_name],
                optimizer,
                batch_size=self.batch_size,
                alpha=self.alpha,
                l1=self.l1,
                clipnorm=self.clipnorm,
                augment=self._augment_batch,
                rng=rng,
            )
            task = (
                callbacks if n_restarts == 1 else callbacks.subtask("restart", max_iter)
            )
            history = []
            result = run_epochs(
                trainer,
                train,
                validation,
                max_iter=max_iter,
                stopper=EarlyStopping(self.n_iter_no_change, self.tol),
                history=history,
                score=self._validation_score,
                callbacks=task,
                verbose=self.verbose,
                first_epoch=n_iter + 1,
                restore_best=self.restore_best_weights,
            )
            if n_restarts > 1:
                task.end()
            if best is None or result.best_loss < best[0].best_loss:
                best = (result, network, optimizer, history)
            if result.stop_reason == "callback":
                break

        result, network, optimizer, history = best
        state["network"] = network  # what the fit task's callbacks evaluate
        network.release_buffers()
        self.network_ = network
        self.optimizer_ = optimizer
        history_rows.extend(history)
        self._rng = root_rng
        self._history_rows = history_rows
        self.n_iter_ = n_iter + result.n_epochs
        self.loss_curve_ = [row["loss"] for row in history_rows]
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else None
        self.best_loss_ = result.best_loss
        if result.best_epoch is not None:
            self.best_epoch_ = result.best_epoch
        elif first_call:
            self.best_epoch_ = None  # diverged at once: the initial weights
        self.validation_scores_ = (
            [row["val_score"] for row in history_rows] if self.early_stopping else None
        )
        self.out_activation_ = OUTPUT_ACTIVATION[self._loss_name]
        callbacks.end()
        if result.stop_reason == "max_iter" and not incremental:
            warnings.warn(
                f"Maximum iterations ({self.max_iter}) reached and the optimization "
                "hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=4,  # past all_or_nothing and fit
            )
        return self

    def _split_validation(self, X, Y, y, sample_weight, random_state):
        """Hold out ``validation_fraction`` of the data for early stopping.

        ``ceil(validation_fraction * n_samples)`` rows are held out (as
        ``train_test_split`` counts), so the validation set is never empty.
        For classifiers the split is stratified when it can be (every class has
        2 samples or more and each side can hold one of each); otherwise the
        rows are drawn at random among those whose class keeps another row in
        the training set, so that training still sees every class. A
        ``ValueError`` naming ``validation_fraction`` is raised when even that is
        impossible: fewer training rows than classes, or none at all.
        """
        n_samples = X.shape[0]
        n_val = math.ceil(self.validation_fraction * n_samples)
        n_train = n_samples - n_val
        labels = self._split_labels(y)
        classes, codes, counts = (
            (None, None, None)
            if labels is None
            else np.unique(labels, return_inverse=True, return_counts=True)
        )
        n_needed = 1 if labels is None else len(classes)
        if n_train < n_needed:
            needs = (
                "at least one"
                if labels is None
                else f"one of each of the {n_needed} classes"
            )
            raise ValueError(
                f"early_stopping=True holds out validation_fraction="
                f"{self.validation_fraction} of the n_samples={n_samples} samples "
                f"({n_val} for validation), which leaves {n_train} for training; "
                f"training needs {needs}. Use more data, a smaller "
                "validation_fraction, or early_stopping=False."
            )
        if (
            labels is not None
            and counts.min() >= 2
            and min(n_val, n_train) >= len(classes)
        ):
            train_idx, val_idx = train_test_split(
                np.arange(n_samples),
                test_size=n_val,
                random_state=random_state,
                stratify=labels,
            )
        else:
            order = random_state.permutation(n_samples)
            if labels is None:
                val_idx, train_idx = order[:n_val], order[n_val:]
            else:
                # Walk the shuffled rows, holding one out only if its class keeps
                # a training row; n_train >= n_classes guarantees n_val are found.
                left = counts.copy()
                held_out = np.zeros(n_samples, dtype=bool)
                n_held = 0
                for i in order:
                    if n_held == n_val:
                        break
                    if left[codes[i]] > 1:
                        left[codes[i]] -= 1
                        held_out[i] = True
                        n_held += 1
                val_idx, train_idx = order[held_out[order]], order[~held_out[order]]

        def take(idx):
            return (
                X[idx],
                Y[idx],
                None if sample_weight is None else sample_weight[idx],
            )

        return take(train_idx), take(val_idx)

    # ------------------------------------------------------------------
    # Inspection
    # ------------------------------------------------------------------

    def _logits(self, X):
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self.network_.predict(X)

    @property
    def history_(self):
        """pandas DataFrame of per-epoch training records, indexed by epoch.

        Columns: loss, score, val_loss, val_score, learning_rate, seconds.
        ``score`` is the training score (accuracy for classifiers, R^2 for
        regressors) of the outputs the network gave the training batches
        during the epoch, while its weights changed and in training mode
        (dropout, augmentation): the running average Keras reports as
        ``accuracy``, computed without an extra pass over the data. The
        ``val_*`` columns are computed on the validation split after the epoch
        (None without ``early_stopping``).
        """
        check_is_fitted(self)
        return pd.DataFrame(self._history_rows, columns=_HISTORY_COLUMNS).set_index(
            "epoch"
        )

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
        return NetworkSummary(
            self.network_.summary_rows(),
            columns=["layer", "output_shape", "params", "trainable"],
        )

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


class NetworkClassifierMixin(UnseenLabelsScoreMixin):
    """Targets and predictions of network classifiers.

    Binary targets train one sigmoid output, multi-class targets a softmax over
    one output per class, and multilabel indicator targets one independent
    sigmoid per label.
    """

    _parameter_constraints: dict = {
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def _validate_targets(self, y, first_call, classes):
        y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if first_call:
            target_type = type_of_target(y)
            if target_type not in ("binary", "multiclass", "multilabel-indicator"):
                raise ValueError(
                    f"{type(self).__name__} supports binary, multi-class and "
                    f"multilabel-indicator targets; received {target_type!r}."
                )
            binarizer = LabelBinarizer()
            if classes is not None and target_type != "multilabel-indicator":
                binarizer.fit(np.asarray(classes))
            else:
                binarizer.fit(y)
            if (
                binarizer.y_type_ != "multilabel-indicator"
                and len(binarizer.classes_) < 2
            ):
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in "
                    f"the data; received only one class: "
                    f"{binarizer.classes_.tolist()[0]!r}."
                )
            self._label_binarizer = binarizer
            self.classes_ = binarizer.classes_
            multiclass = binarizer.y_type_ == "multiclass"
            self._loss_name = (
                "categorical_crossentropy" if multiclass else "binary_crossentropy"
            )
        elif classes is not None and not np.array_equal(
            np.sort(np.asarray(classes)), np.sort(self.classes_)
        ):
            raise ValueError(
                f"`classes`={np.asarray(classes).tolist()!r} is not the same as on "
                f"the first call to partial_fit: {self.classes_.tolist()!r}."
            )
        if self._label_binarizer.y_type_ != "multilabel-indicator":
            unseen = np.setdiff1d(unique_labels(y), self.classes_)
            if unseen.size:
                raise ValueError(
                    f"y contains classes {unseen.tolist()!r} not seen in the first "
                    f"fit (classes_={self.classes_.tolist()!r})."
                )
        return self._label_binarizer.transform(y)

    def _output_sample_weight(self, y, sample_weight, incremental):
        if self.class_weight is None:
            return sample_weight
        if self.class_weight == "balanced" and incremental:
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: the "
                "class frequencies of the whole data are unknown. Pass a dict."
            )
        class_sample_weight = compute_sample_weight(self.class_weight, np.asarray(y))
        if sample_weight is None:
            return class_sample_weight
        return sample_weight * class_sample_weight

    def _split_labels(self, y):
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            return None
        return np.asarray(y)

    def _validation_score(self, Y, Z, sample_weight):
        if self._loss_name == "categorical_crossentropy":
            return accuracy_score(
                Y.argmax(axis=1), Z.argmax(axis=1), sample_weight=sample_weight
            )
        return accuracy_score(Y > 0.5, Z > 0, sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a binary indicator matrix for multilabel
            classification.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, multiplied by the ``class_weight`` weights.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one epoch on ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        classes : array-like of shape (n_classes,), default=None
            All the classes; required on the first call unless ``y`` is a
            multilabel indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        if (
            not hasattr(self, "network_")
            and classes is None
            and type_of_target(y) != "multilabel-indicator"
        ):
            raise ValueError(
                "`classes` must be passed on the first call to partial_fit."
            )
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def decision_function(self, X):
        """The network's logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            One column per class (multi-class) or label (multilabel); a 1-D
            array for binary problems (positive means ``classes_[1]``).
        """
        Z = self._logits(X)
        if self._label_binarizer.y_type_ == "binary":
            return Z.ravel()
        return Z

    def predict(self, X):
        """Predict classes (or the indicator matrix for multilabel targets).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
        """
        Z = self._logits(X)
        if self._loss_name == "categorical_crossentropy":
            return self.classes_[Z.argmax(axis=1)]
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            return (Z > 0).astype(int)
        return self.classes_[(Z[:, 0] > 0).astype(int)]

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or (n_samples, n_labels)
            Class probabilities (rows sum to one), or the independent probability
            of each label for multilabel targets.
        """
        Z = self._logits(X)
        if self._loss_name == "categorical_crossentropy":
            return special.softmax(Z, axis=1)
        P = special.expit(Z)
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            return P
        return np.hstack([1 - P, P])

    def predict_log_proba(self, X):
        """Logarithm of the probability estimates, computed stably from the logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of the shape of ``predict_proba(X)``
        """
        Z = self._logits(X)
        if self._loss_name == "categorical_crossentropy":
            return log_softmax(Z)
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            return log_sigmoid(Z)
        return binary_log_proba(Z)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class NetworkRegressorMixin(RegressorMixin):
    """Targets and predictions of network regressors: identity outputs, squared
    error, one output per target column."""

    def _validate_targets(self, y, first_call, classes):
        try:
            y = check_array(
                y, ensure_2d=False, dtype=[np.float64, np.float32], input_name="y"
            )
        except (TypeError, ValueError) as exc:
            name_argument(exc, y, "y")
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if first_call:
            self.n_outputs_ = Y.shape[1]
            self._y_1d = y.ndim == 1
            self._loss_name = "squared_error"
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} outputs, but {type(self).__name__} was fitted "
                f"with {self.n_outputs_}."
            )
        return Y

    def _output_sample_weight(self, y, sample_weight, incremental):
        return sample_weight

    def _split_labels(self, y):
        return None

    def _validation_score(self, Y, Z, sample_weight):
        if Y.shape[0] < 2:
            return None  # R^2 is undefined on one sample (r2_score warns)
        return float(r2_score(Y, Z, sample_weight=sample_weight))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train one epoch on ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict the targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        Z = self._logits(X)
        return Z.ravel() if self._y_1d else Z

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
