"""Multilayer perceptrons: ``MLPNetClassifier`` and ``MLPNetRegressor`` (notes 二.1-11).

Both are a stack of ``Dense`` hidden layers (with optional ``Dropout``) and a
linear output layer, trained by mini-batch gradient descent with the optimizers
of :mod:`skdeep.optimizers`; the machinery lives in :mod:`skdeep._base`.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._base import BaseNetwork, NetworkClassifierMixin, NetworkRegressorMixin
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


_PARAMETERS_DOC = """
    hidden_layer_sizes : array-like of int, default=(100,)
        Number of units of each hidden layer.
    activation : {'relu', 'tanh', 'sigmoid', 'logistic', 'identity'}, default='relu'
        Activation of the hidden layers ('logistic' is 'sigmoid').
    optimizer : {'sgd', 'momentum', 'nesterov', 'adam', 'rmsprop'} or Optimizer, \
default='adam'
        The gradient-descent variant (notes 二.9-10). An optimizer object from
        :mod:`skdeep.optimizers` is cloned and used with its own learning rate.
    learning_rate : float, default=1e-3
        Step size of the named optimizers.
    momentum : float, default=0.9
        Momentum ``beta`` of 'momentum' and 'nesterov'.
    batch_size : int or None, default=200
        Mini-batch size, clipped to the number of samples; None is full-batch
        gradient descent.
    max_iter : int, default=200
        Maximum number of epochs (passes over the data).
    alpha : float, default=1e-4
        L2 penalty ``0.5 * alpha * ||W||^2`` on the weights (not the biases),
        added to the mean loss (the notes' lambda). Unlike scikit-learn's
        ``MLPClassifier``, it is not divided by the batch size.
    l1 : float, default=0.0
        L1 penalty ``l1 * |W|`` on the weights.
    dropout : float, default=0.0
        Drop rate of a ``Dropout`` layer after each hidden layer (training only).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified for classifiers)
        and stop when its loss has not improved for ``n_iter_no_change`` epochs.
    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping
        (``ceil(validation_fraction * n_samples)`` rows). For classifiers, when
        the classes are too small to stratify, the rows are drawn at random
        among those whose class keeps a training row; a ValueError is raised if
        the training set cannot keep every class.
    n_iter_no_change : int, default=10
        Epochs without improvement (of the validation loss with
        ``early_stopping``, else of the training loss) before training stops.
    tol : float, default=1e-4
        An epoch improves if its loss is below the best so far minus ``tol``.
    restore_best_weights : bool, default=True
        Restore the weights of the best epoch at the end of training (the
        notes' ``ModelCheckpoint(save_best_only=True)``, kept in memory); False
        keeps the last epoch's weights.
    n_restarts : int, default=1
        Train from this many random initialisations and keep the network with
        the best (validation or training) loss (notes 二.8).
    clipnorm : float or None, default=None
        Clip each gradient array to this L2 norm.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, shuffling, dropout, validation split and
        restarts.
    warm_start : bool, default=False
        Continue from the fitted weights when ``fit`` is called again.
    verbose : int, default=0
        Print one line per epoch if > 0.
    dtype : {np.float32, np.float64}, default=np.float32
        Floating type of the weights and computations, whatever the input dtype.
"""

_ATTRIBUTES_DOC = """
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
    best_loss_ : float
        Best monitored loss (validation loss with ``early_stopping``, else
        training loss); the restored weights are those of that epoch.
    validation_scores_ : list of float or None
        Validation score of every epoch with ``early_stopping``, else None.
    history_ : pandas.DataFrame
        One row per epoch (index ``epoch``): loss, score, val_loss, val_score,
        learning_rate, seconds. ``score`` (accuracy, or R^2 for the regressor)
        is the running score of the epoch's training batches, as Keras'
        ``accuracy``: no extra pass over the data.
    best_epoch_ : int or None
        The epoch whose weights were restored (None if training diverged in its
        first epoch and the initial weights were kept).
    out_activation_ : str
        Activation that turns the logits into predictions.
"""


class MLPNetClassifier(_MLPLayersMixin, NetworkClassifierMixin, BaseNetwork):
    __doc__ = (
        """Multilayer perceptron classifier trained by mini-batch gradient descent.

    Binary targets use one sigmoid output, multi-class targets a softmax, and
    multilabel indicator targets independent sigmoids, all trained with the
    cross-entropy computed from the logits (finite for any input).

    Parameters
    ----------"""
        + _PARAMETERS_DOC
        + """    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes (``{label: weight}``), multiplied into the sample
        weights; 'balanced' uses ``n_samples / (n_classes * np.bincount(y))``.

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
        dropout=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        restore_best_weights=True,
        n_restarts=1,
        clipnorm=None,
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
        self.dropout = dropout
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.restore_best_weights = restore_best_weights
        self.n_restarts = n_restarts
        self.clipnorm = clipnorm
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
    ----------"""
        + _PARAMETERS_DOC
        + """
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
        dropout=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        restore_best_weights=True,
        n_restarts=1,
        clipnorm=None,
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
        self.dropout = dropout
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.restore_best_weights = restore_best_weights
        self.n_restarts = n_restarts
        self.clipnorm = clipnorm
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.dtype = dtype


__all__ = ["MLPNetClassifier", "MLPNetRegressor"]
