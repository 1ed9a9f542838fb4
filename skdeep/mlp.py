"""Multilayer perceptrons: ``MLPNetClassifier`` and ``MLPNetRegressor`` (notes 二.1-11).

Both are a stack of ``Dense`` hidden layers (with optional ``Dropout``) and a
linear output layer, trained by mini-batch gradient descent with the optimizers
of :mod:`skdeep.optimizers`; the machinery lives in :mod:`skdeep._base`.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._base import BaseNetwork
from ._docs import BEST_LOSS_DOC, document
from ._outputs import NetworkClassifierMixin, NetworkRegressorMixin
from .nn.layers import Dense, Dropout
from .utils._sklearn_compat import Interval, StrOptions

_MLP_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions({"relu", "tanh", "sigmoid", "logistic", "identity"})],
    "dropout": [Interval(Real, 0, 1, closed="left")],
}


class _MLPLayersMixin:
    """The layer stack shared by the MLP classifier and regressor."""

    def _make_layers(self, input_shape, n_outputs):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        if any(
            isinstance(s, bool) or not isinstance(s, Integral) or s < 1 for s in sizes
        ):
            raise ValueError(
                "`hidden_layer_sizes` must contain positive integers; received "
                f"hidden_layer_sizes={self.hidden_layer_sizes!r}."
            )
        layers = []
        for units in sizes:
            layers.append(Dense(int(units), activation=self.activation))
            if self.dropout:
                layers.append(Dropout(self.dropout))
        layers.append(Dense(n_outputs))
        return layers

    def _accepted_sparse_formats(self):
        # The first layer is Dense: sparse x dense products, no dense X.
        return ("csr", "csc")

    def _dense_layers(self):
        return [layer for layer in self.network_.layers if isinstance(layer, Dense)]

    @property
    def coefs_(self):
        """List of the weight matrices, ``coefs_[i]`` of shape (n_in, n_out).

        Views of the network's arrays, as scikit-learn's ``MLPClassifier.coefs_``.
        """
        check_is_fitted(self)
        return [layer.params["W"] for layer in self._dense_layers()]

    @property
    def intercepts_(self):
        """List of the bias vectors, ``intercepts_[i]`` of shape (n_out,)."""
        check_is_fitted(self)
        return [layer.params["b"] for layer in self._dense_layers()]


# The vocabulary both MLPs take, in __init__ order (documented in skdeep._docs).
_PARAMETERS = [
    "hidden_layer_sizes",
    "activation",
    "optimizer",
    "learning_rate",
    "momentum",
    "batch_size",
    "max_iter",
    "alpha",
    "l1",
    "max_norm",
    "dropout",
    "early_stopping",
    "validation_fraction",
    "n_iter_no_change",
    "tol",
    "restore_best_weights",
    "n_restarts",
    "clipnorm",
    "learning_rate_schedule",
    "shuffle",
    "random_state",
    "warm_start",
    "verbose",
]

_ATTRIBUTES_DOC = (
    """
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, when ``X`` has string column names.
    network_ : skdeep.nn.network.Sequential
        The trained network (its output layer gives logits).
    optimizer_ : Optimizer
        The optimizer used, with its state.
    coefs_ : list of ndarray
        Weight matrices of the dense layers, in order.
    intercepts_ : list of ndarray
        Bias vectors of the dense layers.
    n_iter_ : int
        Number of epochs run.
    loss_ : float
        Training loss of the last epoch.
    loss_curve_ : list of float
        Training loss of every epoch.
"""
    + BEST_LOSS_DOC
    + """    validation_scores_ : list of float or None
        Validation score of every epoch with validation data, else None.
    history_ : pandas.DataFrame
        One row per epoch (index ``epoch``): loss, score, val_loss, val_score,
        learning_rate, seconds. ``score`` (accuracy, or R^2 for the regressor)
        is the running score of the epoch's training batches, as Keras'
        ``accuracy``: no extra pass over the data.
    best_epoch_ : int or None
        The epoch whose weights the estimator holds (None if training diverged
        in its first epoch and the initial weights were kept).
    out_activation_ : str
        Activation that turns the logits into predictions.
"""
)


class MLPNetClassifier(_MLPLayersMixin, NetworkClassifierMixin, BaseNetwork):
    __doc__ = (
        """Multilayer perceptron classifier trained by mini-batch gradient descent.

    Binary targets use one sigmoid output, multi-class targets a softmax, and
    multilabel indicator targets independent sigmoids, all trained with the
    cross-entropy computed from the logits (finite for any input).

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels."""
        + _ATTRIBUTES_DOC
        + """
    See Also
    --------
    MLPNetRegressor : The regression counterpart.
    sklearn.neural_network.MLPClassifier : scikit-learn's MLP.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdeep import MLPNetClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = make_pipeline(
    ...     StandardScaler(),
    ...     MLPNetClassifier(hidden_layer_sizes=(16,), learning_rate=0.01,
    ...                      max_iter=100, random_state=0),
    ... ).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    >>> clf[-1].predict_proba(StandardScaler().fit(X).transform(X[:1])).shape
    (1, 3)
    >>> print(clf[-1].summary())
     Layer (type)     Output Shape   Param #   Trainable
    ====================================================
     dense (Dense)    (None, 16)     80        yes
     dense_1 (Dense)  (None, 3)      51        yes
    ====================================================
    Total params: 131
    Trainable params: 131
    Non-trainable params: 0
    """
    )

    _parameter_constraints: dict = {
        **BaseNetwork._parameter_constraints,
        **NetworkClassifierMixin._parameter_constraints,
        **_MLP_CONSTRAINTS,
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        optimizer="adam",
        learning_rate=1e-3,
        momentum=0.9,
        batch_size=200,
        max_iter=200,
        alpha=1e-4,
        l1=0.0,
        max_norm=None,
        dropout=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        restore_best_weights=True,
        n_restarts=1,
        clipnorm=None,
        learning_rate_schedule="constant",
        shuffle=True,
        random_state=None,
        warm_start=False,
        verbose=0,
        class_weight=None,
        dtype=np.float32,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.alpha = alpha
        self.l1 = l1
        self.max_norm = max_norm
        self.dropout = dropout
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.restore_best_weights = restore_best_weights
        self.n_restarts = n_restarts
        self.clipnorm = clipnorm
        self.learning_rate_schedule = learning_rate_schedule
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.class_weight = class_weight
        self.dtype = dtype


class MLPNetRegressor(_MLPLayersMixin, NetworkRegressorMixin, BaseNetwork):
    __doc__ = (
        """Multilayer perceptron regressor trained by mini-batch gradient descent.

    Identity outputs (one per target column) trained with the squared error
    ``0.5 * mean(sum((y_pred - y)**2))`` (notes 二.11).

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    n_outputs_ : int
        Number of targets."""
        + _ATTRIBUTES_DOC
        + """
    See Also
    --------
    MLPNetClassifier : The classification counterpart.
    sklearn.neural_network.MLPRegressor : scikit-learn's MLP.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep import MLPNetRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = X @ np.array([1.0, -2.0, 0.5])
    >>> reg = MLPNetRegressor(hidden_layer_sizes=(32,), learning_rate=0.01,
    ...                       max_iter=200, random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.95
    True
    >>> reg.predict(X[:2]).shape
    (2,)
    """
    )

    _parameter_constraints: dict = {
        **BaseNetwork._parameter_constraints,
        **_MLP_CONSTRAINTS,
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        optimizer="adam",
        learning_rate=1e-3,
        momentum=0.9,
        batch_size=200,
        max_iter=200,
        alpha=1e-4,
        l1=0.0,
        max_norm=None,
        dropout=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        restore_best_weights=True,
        n_restarts=1,
        clipnorm=None,
        learning_rate_schedule="constant",
        shuffle=True,
        random_state=None,
        warm_start=False,
        verbose=0,
        dtype=np.float32,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.alpha = alpha
        self.l1 = l1
        self.max_norm = max_norm
        self.dropout = dropout
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.restore_best_weights = restore_best_weights
        self.n_restarts = n_restarts
        self.clipnorm = clipnorm
        self.learning_rate_schedule = learning_rate_schedule
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.dtype = dtype


document(MLPNetClassifier, [*_PARAMETERS, "class_weight", "dtype"])
document(MLPNetRegressor, [*_PARAMETERS, "dtype"])

__all__ = ["MLPNetClassifier", "MLPNetRegressor"]
