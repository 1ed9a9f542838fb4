"""Linear classifiers of the notes' first chapter: the perceptron and logistic
regression trained by gradient descent (notes 一.2-3 and 一.11-13).

Both are a network of one ``Dense`` layer (weights ``W`` and bias ``b``; one unit
for two classes, one per class otherwise) on the engine every skdeep estimator
shares, so early stopping, validation data, history, restarts, callbacks and
the rest mean what they mean everywhere. What is linear-model specific is here:
the perceptron's online rule as its trainer, scikit-learn's ``coef_`` /
``intercept_``, and their defaults (float64, full-batch gradient descent).
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._base import CORE_CONSTRAINTS, BaseNetwork
from ._docs import BEST_LOSS_DOC, document
from ._outputs import NetworkClassifierMixin
from .nn.layers import Dense
from .nn.perceptron import PerceptronTrainer
from .utils._sklearn_compat import Interval

# Standard deviation of the perceptron's random initial weights (notes 一.3:
# "start from random weights"). Small, so that the first updates, of size
# learning_rate * x, dominate the start.
_PERCEPTRON_INIT_SCALE = 0.01

_ATTRIBUTES_DOC = (
    """
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights ``W``: one row for a binary problem, one per class otherwise
        (scikit-learn's layout; a view of the network's weights).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Biases ``b``.
    network_ : skdeep.nn.network.Sequential
        The one-layer network holding ``W`` and ``b``.
    n_iter_ : int
        Number of epochs run since the weights were initialised.
    loss_curve_ : list of float
        Training loss of every epoch.
"""
    + BEST_LOSS_DOC
    + """    best_epoch_ : int or None
        The epoch whose weights the estimator holds.
    history_ : pandas.DataFrame
        One row per epoch: loss, score (training accuracy), val_loss,
        val_score, learning_rate, seconds.
    n_features_in_ : int
        Number of features seen during `fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during `fit`; only when X has string column names.
"""
)


class _LinearModelMixin:
    """One ``Dense`` layer and scikit-learn's linear-model attributes."""

    def _make_layers(self, input_shape, n_outputs):
        return [Dense(n_outputs)]

    def _accepted_sparse_formats(self):
        # One Dense layer: sparse x dense products, no dense X.
        return ("csr", "csc")

    @property
    def coef_(self):
        check_is_fitted(self)
        return self.network_.layers[0].params["W"].T

    @coef_.setter
    def coef_(self, value):
        self._set_weight("W", np.asarray(value).T, "coef_")

    @property
    def intercept_(self):
        check_is_fitted(self)
        return self.network_.layers[0].params["b"]

    @intercept_.setter
    def intercept_(self, value):
        self._set_weight("b", np.asarray(value), "intercept_")

    def _set_weight(self, name, value, attribute):
        # Written into the network's array, as scikit-learn users set coef_.
        check_is_fitted(self)
        target = self.network_.layers[0].params[name]
        if value.shape != target.shape:
            shape = value.T.shape if name == "W" else value.shape
            expected = target.T.shape if name == "W" else target.shape
            raise ValueError(
                f"`{attribute}` must have shape {expected}; received shape {shape}."
            )
        target[...] = value


class PerceptronClassifier(_LinearModelMixin, NetworkClassifierMixin, BaseNetwork):
    """The notes' perceptron: step activation and the online update rule.

    Starting from small random weights, each epoch visits the training points in
    (by default shuffled) order. A point predicted 0 but labelled 1 pulls the
    weights towards it, ``w += learning_rate * x`` and ``b += learning_rate``; a
    point predicted 1 but labelled 0 pushes them away, ``w -= learning_rate * x``
    and ``b -= learning_rate`` (notes 一.2-3); a sample (or class) weight scales
    the point's move. Training stops after an epoch with no misclassified
    point, or after `max_iter` epochs. More than two classes are learnt
    one-vs-rest, all units updated in the same pass.

    The rule runs on the engine every skdeep estimator shares: early stopping
    on a validation split or ``X_val``, ``history_``, restarts and callbacks
    work as for the networks. An epoch's loss is the perceptron criterion
    ``mean(sum_k max(0, -(2y_k - 1)(Wx + b)_k))`` of the weights after the
    epoch, so keeping the best epoch's weights (``restore_best_weights``) is
    the *pocket* perceptron: on data that are not linearly separable it keeps
    the best weights met rather than the last.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    errors_ : list of int
        Misclassified points met in each epoch (the updates made; a point
        counts once, however many one-vs-rest units it fooled). Zero in the last
        epoch means the training data are separated."""

    __doc__ += _ATTRIBUTES_DOC
    __doc__ += """
    See Also
    --------
    LogisticGD : Logistic regression by gradient descent, the notes' smooth
        successor of the perceptron.
    sklearn.linear_model.Perceptron : scikit-learn's perceptron (SGD-based).

    Notes
    -----
    A score of exactly 0 is predicted as the positive class, as the step function
    does. `predict_proba` squashes the scores, it does not calibrate them:
    ``sigmoid(s)`` for a binary problem and the softmax of the one-vs-rest
    scores otherwise. Wrap the estimator in
    :class:`~sklearn.calibration.CalibratedClassifierCV` for calibrated
    probabilities.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skdeep import PerceptronClassifier
    >>> X, y = make_blobs(n_samples=60, centers=2, cluster_std=0.8, random_state=0)
    >>> clf = PerceptronClassifier(random_state=0).fit(X, y)
    >>> clf.errors_[-1], clf.score(X, y)
    (0, 1.0)
    >>> clf.predict(X[:2]), y[:2]
    (array([1, 0]), array([1, 0]))
    """

    _parameter_constraints: dict = {
        **CORE_CONSTRAINTS,
        **NetworkClassifierMixin._parameter_constraints,
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None],
    }
    _history_columns = [*BaseNetwork._history_columns, "errors"]

    def __init__(
        self,
        learning_rate=0.01,
        max_iter=1000,
        *,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=None,
        tol=1e-3,
        restore_best_weights=True,
        n_restarts=1,
        shuffle=True,
        class_weight=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        dtype=np.float64,
    ):
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.restore_best_weights = restore_best_weights
        self.n_restarts = n_restarts
        self.shuffle = shuffle
        self.class_weight = class_weight
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.dtype = dtype

    def _build_network(self, input_shape, n_outputs, rng):
        network = super()._build_network(input_shape, n_outputs, rng)
        for p in network.layers[0].params.values():
            p[...] = rng.normal(scale=_PERCEPTRON_INIT_SCALE, size=p.shape)
        return network

    def _make_trainer(self, network, rng, stop_request, continuing, whole_batch):
        return PerceptronTrainer(
            network,
            learning_rate=self.learning_rate,
            shuffle=self.shuffle,
            rng=rng,
            stop_request=stop_request,
        )

    def _make_schedule(self, trainer):
        return None  # the rule's step is fixed (a rate only scales the weights)

    def _trained_by_shuffled_batches(self):
        return True  # the rule updates point by point

    def _positive(self, Z):
        return Z >= 0  # the step function: 1 where the score is >= 0

    def _max_iter_message(self):
        return (
            f"PerceptronClassifier did not separate the training data in "
            f"max_iter={self.max_iter} epochs ({self.errors_[-1]} errors in the "
            "last one); the data may not be linearly separable (see "
            "n_iter_no_change, or LogisticGD)."
        )

    @property
    def errors_(self):
        check_is_fitted(self)
        return [row["errors"] for row in self._history_rows]


class LogisticGD(_LinearModelMixin, NetworkClassifierMixin, BaseNetwork):
    """Logistic regression trained by gradient descent on the cross-entropy.

    The notes' recipe (一.11-12): start from a random model, measure the error
    ``E(W, b)``, the mean cross-entropy of ``y_hat = sigmoid(Wx + b)``, and step
    against its gradient ``-(y - y_hat)(x, 1)``, averaged over a batch. More than
    two classes use a softmax over one unit per class and the multi-class
    cross-entropy (一.6, 一.10). It is the network ``Dense(n_outputs)`` on the
    engine every skdeep estimator shares, so it takes the whole vocabulary of
    the networks: optimizers, schedules, early stopping, restarts, callbacks.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------"""

    __doc__ += _ATTRIBUTES_DOC
    __doc__ += """    optimizer_ : Optimizer
        The optimizer used, with its state.

    See Also
    --------
    PerceptronClassifier : The notes' perceptron, with a step activation.
    sklearn.linear_model.LogisticRegression : The same model, fitted by a
        second-order solver with an L2 penalty by default.
    sklearn.linear_model.SGDClassifier : ``loss="log_loss"`` for per-sample SGD.

    Notes
    -----
    float64 by default (unlike the networks' float32): the model is cheap, and
    float64 keeps refits identical and sample weights equivalent to repeated
    rows to ~1e-12, as scikit-learn's checks demand of a full-batch estimator.
    With full-batch descent each epoch's loss is that of the weights after its
    step, so ``loss_curve_``, ``best_loss_`` and the kept weights agree
    exactly. The default ``learning_rate_schedule='adaptive'`` (the networks'
    default is 'constant') divides the rate by 5 whenever the loss has not
    fallen for 2 epochs, so a rate too large for the scale of X (an
    oscillating loss) recovers instead of stopping early; this is what the
    exact loss of full-batch descent allows. With mini-batches, whose running
    loss is noisy, prefer 'constant' or 'invscaling'. Weights that overflow
    warn (:class:`~skdeep.exceptions.DivergenceWarning`) and the best finite
    weights are kept.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdeep import LogisticGD
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), LogisticGD(random_state=0)).fit(X, y)
    >>> round(clf.score(X, y), 2)
    0.97
    >>> clf[-1].coef_.shape, clf[-1].intercept_.shape
    ((3, 4), (3,))
    """

    _parameter_constraints: dict = {
        **BaseNetwork._parameter_constraints,
        **NetworkClassifierMixin._parameter_constraints,
    }

    def __init__(
        self,
        learning_rate=0.1,
        max_iter=1000,
        *,
        batch_size=None,
        optimizer="sgd",
        momentum=0.9,
        alpha=0.0,
        l1=0.0,
        max_norm=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        restore_best_weights=True,
        n_restarts=1,
        clipnorm=None,
        learning_rate_schedule="adaptive",
        shuffle=True,
        class_weight=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        dtype=np.float64,
    ):
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.momentum = momentum
        self.alpha = alpha
        self.l1 = l1
        self.max_norm = max_norm
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.restore_best_weights = restore_best_weights
        self.n_restarts = n_restarts
        self.clipnorm = clipnorm
        self.learning_rate_schedule = learning_rate_schedule
        self.shuffle = shuffle
        self.class_weight = class_weight
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.dtype = dtype


document(
    PerceptronClassifier,
    [
        "learning_rate",
        "max_iter",
        "early_stopping",
        "validation_fraction",
        "n_iter_no_change",
        "tol",
        "restore_best_weights",
        "n_restarts",
        "shuffle",
        "class_weight",
        "random_state",
        "warm_start",
        "verbose",
        "dtype",
    ],
    overrides={
        "learning_rate": ("float", "Step size α of the update rule."),
        "n_iter_no_change": (
            "int or None",
            "None follows the notes: train until an epoch has no error, or for "
            "`max_iter` epochs. An integer also stops once the monitored loss "
            "(the perceptron criterion; on the validation data with "
            "``early_stopping`` or ``X_val``) has not improved by ``tol`` for "
            "that many epochs, which saves time on data that are not linearly "
            "separable, where the rule never settles.",
        ),
    },
)
document(
    LogisticGD,
    [
        "learning_rate",
        "max_iter",
        "batch_size",
        "optimizer",
        "momentum",
        "alpha",
        "l1",
        "max_norm",
        "early_stopping",
        "validation_fraction",
        "n_iter_no_change",
        "tol",
        "restore_best_weights",
        "n_restarts",
        "clipnorm",
        "learning_rate_schedule",
        "shuffle",
        "class_weight",
        "random_state",
        "warm_start",
        "verbose",
        "dtype",
    ],
)

__all__ = ["LogisticGD", "PerceptronClassifier"]
