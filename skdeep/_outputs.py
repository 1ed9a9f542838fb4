"""From targets to network outputs and back: the classifier and regressor sides.

:class:`NetworkClassifierMixin` turns class labels into 0/1 output columns
(one sigmoid unit for two classes, a softmax over one unit per class for more,
one independent sigmoid per label for multilabel indicators) and logits into
labels and probabilities; :class:`NetworkRegressorMixin` uses identity outputs.
Both give ``fit`` / ``partial_fit`` their public signatures, which call
``BaseNetwork._fit``.
"""

import numpy as np
from scipy import special
from sklearn.base import RegressorMixin
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_array, compute_sample_weight
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import (
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import column_or_1d

from .nn.activations import binary_log_proba, log_sigmoid, log_softmax
from .utils._sklearn_compat import StrOptions, _fit_context
from .utils._validation import UnseenLabelsScoreMixin, name_argument


def _weighted_mean(hits, sample_weight):
    if sample_weight is None:
        return float(np.mean(hits))
    return float(np.average(hits, weights=sample_weight))


class NetworkClassifierMixin(UnseenLabelsScoreMixin):
    """Targets and predictions of network classifiers.

    Binary targets train one sigmoid output, multi-class targets a softmax over
    one output per class, and multilabel indicator targets one independent
    sigmoid per label.
    """

    _parameter_constraints: dict = {
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def _positive(self, Z):
        """Where a logit predicts the positive class (a sigmoid above 0.5)."""
        return Z > 0

    def _validate_targets(self, y, first_call, classes, input_name="y"):
        y = check_array(y, ensure_2d=False, dtype=None, input_name=input_name)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if first_call or y.ndim != 1:
            # Later 1-D targets are checked against classes_ instead (below),
            # a stricter test than type_of_target's and a cheaper one.
            check_classification_targets(y)
        if first_call:
            self._fit_binarizer(y, classes)
        elif classes is not None and not np.array_equal(
            np.sort(np.asarray(classes)), np.sort(self.classes_)
        ):
            raise ValueError(
                f"`classes`={np.asarray(classes).tolist()!r} is not the same as on "
                f"the first call to partial_fit: {self.classes_.tolist()!r}."
            )
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            return self._label_binarizer.transform(y)
        index = self._class_index(y, input_name)
        if len(self.classes_) == 2 and not getattr(self, "_binary_as_softmax", False):
            return index[:, None].astype(np.int8)  # one sigmoid unit: classes_[1]
        # One-hot rows (LabelBinarizer's encoding, without its target checks
        # again: a partial_fit call is a step of a stream).
        Y = np.zeros((len(index), len(self.classes_)), dtype=np.int8)
        Y[np.arange(len(index)), index] = 1
        return Y

    def _class_index(self, y, input_name):
        """Position of each label of ``y`` in ``classes_``; refuse unseen ones."""
        try:
            index = np.searchsorted(self.classes_, y).clip(0, len(self.classes_) - 1)
            known = bool(np.all(self.classes_[index] == y))
        except TypeError:  # labels that do not compare with classes_
            known = False
        if not known:
            unseen = np.setdiff1d(unique_labels(y), self.classes_)
            raise ValueError(
                f"{input_name} contains classes {unseen.tolist()!r} not seen in "
                f"the first fit (classes_={self.classes_.tolist()!r})."
            )
        return index

    def _declared_output(self):
        """``(units, activation)`` of an output layer the user wrote, or None.

        A network whose layers end in ``Dense(k, activation='softmax' or
        'sigmoid')`` (Keras style, ConvNetClassifier) returns it; the targets
        are then encoded for that head, or refused with advice.
        """
        return None

    def _check_declared_output(self, y_type, n_classes):
        """Whether a declared 2-unit softmax head trains a binary target; refuse
        heads that do not match the target."""
        head = self._declared_output()
        if head is None:
            return False
        units, activation = head
        if y_type == "binary" and (units, activation) == (2, "softmax"):
            return True  # the notes' Dense(2, 'softmax') for two classes
        expected = {
            "binary": "Dense(1, activation='sigmoid') or Dense(2, activation="
            "'softmax')",
            "multiclass": f"Dense({n_classes}, activation='softmax')",
            "multilabel-indicator": f"Dense({n_classes}, activation='sigmoid') "
            "(one independent sigmoid per label)",
        }[y_type]
        right = {
            "binary": (units, activation) == (1, "sigmoid"),
            "multiclass": (units, activation) == (n_classes, "softmax"),
            "multilabel-indicator": (units, activation) == (n_classes, "sigmoid"),
        }[y_type]
        if not right:
            kind = y_type.replace("-indicator", "")
            raise ValueError(
                f"The output layer Dense({units}, activation={activation!r}) does "
                f"not fit a {kind} target with {n_classes} classes"
                f"{' (labels)' if kind == 'multilabel' else ''}: end the layers "
                f"with {expected}, or drop the output layer to have it added."
            )
        return False

    def _fit_binarizer(self, y, classes):
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
        if binarizer.y_type_ != "multilabel-indicator" and len(binarizer.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in "
                f"the data; received only one class: "
                f"{binarizer.classes_.tolist()[0]!r}."
            )
        self._binary_as_softmax = self._check_declared_output(
            binarizer.y_type_, len(binarizer.classes_)
        )
        self._label_binarizer = binarizer
        self.classes_ = binarizer.classes_
        softmax = binarizer.y_type_ == "multiclass" or self._binary_as_softmax
        self._loss_name = (
            "categorical_crossentropy" if softmax else "binary_crossentropy"
        )

    def _output_sample_weight(
        self, y, sample_weight, first_call, incremental, validation=False
    ):
        """``sample_weight`` times the weight of each sample's class.

        'balanced' weighs each class by ``total / (n_classes * count)``, the
        counts weighted by ``sample_weight`` (so a weight of 2 and a repeated
        row give the same class weights), over the rows of this ``fit``, or,
        with ``partial_fit``, over all the rows seen by the calls since the
        first one: the weights approach the data's as the chunks come.
        Validation data (``validation=True``) take the training data's class
        weights, so that both losses weigh the classes alike.
        """
        if self.class_weight is None:
            return sample_weight
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:  # multilabel indicators
            class_sample_weight = compute_sample_weight(self.class_weight, y)
        else:
            y_index = np.searchsorted(self.classes_, y.ravel())
            if not validation:
                weights = (
                    np.ones(y_index.shape[0])
                    if sample_weight is None
                    else sample_weight
                )
                totals = np.bincount(y_index, weights, minlength=len(self.classes_))
                if incremental and not first_call:
                    totals = totals + self._class_totals
                self._class_totals = totals
                self._class_weight_values = self._class_weights(totals)
            class_sample_weight = self._class_weight_values[y_index]
        if sample_weight is None:
            return class_sample_weight
        return sample_weight * class_sample_weight

    def _class_weights(self, totals):
        """One weight per class of ``classes_`` from its weighted count."""
        present = totals > 0
        weights = np.ones(len(self.classes_))
        if self.class_weight == "balanced":
            # compute_class_weight's formula, over the classes present (a class
            # absent from the weighted rows needs no weight).
            weights[present] = compute_class_weight(
                "balanced",
                classes=np.flatnonzero(present),
                y=np.flatnonzero(present),
                sample_weight=totals[present],
            )
        else:
            weights = compute_class_weight(
                self.class_weight, classes=self.classes_, y=self.classes_
            )
        return weights

    def _split_labels(self, y):
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            return None
        return np.asarray(y)

    def _score_outputs(self, Y, Z, sample_weight):
        """Accuracy of logits ``Z`` against the 0/1 targets ``Y`` (for history)."""
        if self._loss_name == "categorical_crossentropy":
            hits = Y.argmax(axis=1) == Z.argmax(axis=1)
        else:
            # Every label right (subset accuracy, as accuracy_score).
            hits = ((Y > 0.5) == self._positive(Z)).all(axis=1)
        return _weighted_mean(hits, sample_weight)

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
            if Z.shape[1] == 2:  # a 2-unit softmax head: the log-odds
                return Z[:, 1] - Z[:, 0]
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
            return self._positive(Z).astype(int)
        return self.classes_[self._positive(Z[:, 0]).astype(int)]

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

    def _validate_targets(self, y, first_call, classes, input_name="y"):
        try:
            y = check_array(
                y,
                ensure_2d=False,
                dtype=[np.float64, np.float32],
                input_name=input_name,
            )
        except (TypeError, ValueError) as exc:
            name_argument(exc, y, input_name)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if first_call:
            self.n_outputs_ = Y.shape[1]
            self._y_1d = y.ndim == 1
            self._loss_name = "squared_error"
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"{input_name} has {Y.shape[1]} outputs, but {type(self).__name__} "
                f"was fitted with {self.n_outputs_}."
            )
        return Y

    def _output_sample_weight(
        self, y, sample_weight, first_call, incremental, validation=False
    ):
        return sample_weight

    def _split_labels(self, y):
        return None

    def _score_outputs(self, Y, Z, sample_weight):
        """R^2 of the outputs (uniform average over outputs); NaN where undefined."""
        if Y.shape[0] < 2:
            return np.nan  # R^2 is undefined on one sample
        Y = Y.astype(np.float64, copy=False)
        weights = np.ones(Y.shape[0]) if sample_weight is None else sample_weight
        mean = np.average(Y, axis=0, weights=weights)
        residual = np.average((Y - Z) ** 2, axis=0, weights=weights)
        total = np.average((Y - mean) ** 2, axis=0, weights=weights)
        # As r2_score: a constant target scores 1 if predicted exactly, else 0.
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(
                total > 0, 1 - residual / total, np.where(residual == 0, 1.0, 0.0)
            )
        return float(r2.mean())

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


__all__ = ["NetworkClassifierMixin", "NetworkRegressorMixin"]
