"""Linear classifiers of the notes' first chapter: the perceptron and logistic
regression trained by gradient descent (notes 一.2-3 and 一.11-13).

Both are one layer of weights ``W`` (one row per output unit) and a bias ``b``:
binary problems use one unit, ``K > 2`` classes use ``K`` units. Arithmetic is in
float64 whatever the input dtype: these models are cheap, and float64 keeps
refits identical and sample weights equivalent to repeated rows to ~1e-12, as
scikit-learn's checks demand.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .nn.activations import binary_log_proba, log_sigmoid, log_softmax
from .nn.losses import binary_cross_entropy, categorical_cross_entropy
from .utils._persistence import PersistenceMixin, all_or_nothing
from .utils._sklearn_compat import Interval, StrOptions, _fit_context
from .utils._validation import (
    UnseenLabelsScoreMixin,
    check_sample_weight,
    validate_numeric,
)

# Standard deviation of the random initial weights (notes 一.3: "start from random
# weights"). Small, so that the start barely biases the solution.
_INIT_SCALE = 0.01
# Relative rise of the full-batch loss that counts as an overshoot; it must sit
# above rounding noise, so that equal problems take equal decisions.
_SLACK = 1e-12


class _LinearClassifier(UnseenLabelsScoreMixin, PersistenceMixin, BaseEstimator):
    """Shared plumbing: input checks, label encoding, scores and prediction.

    A fit that raises leaves the estimator as it was (``all_or_nothing``), and
    pickles record the skdeep version (``PersistenceMixin``).
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Dense input only: the perceptron's online rule reads one row at a time.
        tags.input_tags.sparse = False
        return tags

    def _prepare(self, X, y, classes, incremental):
        """Validate a training call; return ``(first_call, X, y, classes)``.

        ``first_call`` is True when this call starts from scratch: there are no
        fitted weights yet, or neither `warm_start` nor an incremental call asks to
        continue from them.
        """
        first_call = not (hasattr(self, "coef_") and (incremental or self.warm_start))
        X, y = validate_numeric(self, X, y, reset=first_call, dtype=np.float64)
        check_classification_targets(y)
        name = type(self).__name__
        if not first_call:
            known = self.classes_
            if classes is not None and not np.array_equal(np.unique(classes), known):
                raise ValueError(
                    f"`classes`={np.unique(classes).tolist()} differs from the "
                    f"classes of the first call, {known.tolist()}."
                )
        elif incremental:
            if classes is None:
                raise ValueError(
                    "`classes` must be passed on the first call to partial_fit; "
                    "received classes=None."
                )
            known = np.unique(classes)
        else:
            known = np.unique(y)
        unseen = np.setdiff1d(y, known)
        if unseen.size:
            raise ValueError(
                f"y contains labels {unseen.tolist()} outside the classes "
                f"{known.tolist()} that {name} was first fitted with."
            )
        if known.size < 2:
            raise ValueError(
                f"{name} needs samples of at least 2 classes in the data, but the "
                f"data contains only one class: {known.tolist()[0]!r}."
            )
        return first_call, X, y, known

    @staticmethod
    def _targets(y, classes):
        """0/1 targets, one column per unit: a single column for two classes."""
        y_index = np.searchsorted(classes, y)
        if classes.size == 2:
            return (y_index == 1).astype(np.float64)[:, None], y_index
        return np.eye(classes.size)[y_index], y_index

    def _scores(self, X):
        check_is_fitted(self)
        X = validate_numeric(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_.T + self.intercept_

    def decision_function(self, X):
        """Signed scores ``Wx + b``: positive for the second class when binary.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            One score per sample for a binary problem, one per class otherwise.
        """
        scores = self._scores(X)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Predict class labels for the samples in X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]

    def predict_proba(self, X):
        """Class probabilities, ``exp(predict_log_proba(X))``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow `classes_`; rows sum to 1.
        """
        return np.exp(self.predict_log_proba(X))

    def _check_finite(self, epoch, *values):
        if not all(np.isfinite(value).all() for value in values):
            raise ValueError(
                f"{type(self).__name__} diverged at epoch {epoch}: the loss or the "
                f"weights are no longer finite. Lower `learning_rate` (received "
                f"learning_rate={self.learning_rate!r}) or scale X, e.g. with "
                "StandardScaler."
            )

    def _initial_weights(self, rng, n_units, n_features):
        W = rng.normal(scale=_INIT_SCALE, size=(n_units, n_features))
        b = rng.normal(scale=_INIT_SCALE, size=n_units)
        return W, b


def _perceptron_epoch(X, T, W, b, order, learning_rate):
    """One pass of the notes' perceptron rule (一.3), updating ``W`` and ``b`` in place.

    Points are visited in ``order``. A unit that predicts 0 for a point labelled 1
    moves towards it (``w += a x``, ``b += a``); one that predicts 1 for a point
    labelled 0 moves away (``w -= a x``, ``b -= a``). The units are independent
    one-vs-rest perceptrons, updated together.

    The rule is sequential, but points that are already classified correctly do
    not change the weights. So the scores of a whole block of upcoming points are
    computed with one matrix product, the first misclassified point is located,
    updated, and the scan resumes after it. This is exactly the point-by-point
    algorithm, with one Python step per *error* instead of per point.

    Returns
    -------
    n_errors : int
        Points that triggered an update (counted once, whatever the number of
        units that erred on it).
    loss : float
        Sum over visited points and units of the perceptron criterion
        ``max(0, -(2t - 1) s)`` at the time of the visit.
    """
    n_samples, n_units = order.size, W.shape[0]
    T = T[order]  # targets in visiting order, so that blocks below are views
    position, block, n_errors, loss = 0, 16, 0, 0.0
    while position < n_samples:
        rows = order[position : position + block]
        # take and dot rather than X[rows] @ W.T: cheaper calls on small blocks.
        S = np.dot(X.take(rows, axis=0), W.T)  # (len(rows), n_units) scores
        S += b
        P = S >= 0  # the step function's predictions
        wrong = P != T[position : position + block]
        hit = wrong[:, 0] if n_units == 1 else wrong.any(axis=1)
        j = hit.argmax()
        if not hit[j]:  # no error in this block: the weights stay as they are
            position += rows.size
            block = min(2 * block, 4096)
            continue
        # +1 where a unit predicted 0 for label 1, -1 for 1 vs 0, 0 where right.
        direction = T[position + j] - P[j]
        # Only wrong units contribute to the criterion, each with |s|.
        loss -= direction @ S[j]
        step = learning_rate * direction
        W += step[:, None] * X[rows[j]]
        b += step
        n_errors += 1
        position += j + 1
        # The next error is likely about as far away as this one was.
        block = max(2 * (j + 1), 8)
    return n_errors, float(loss)


class PerceptronClassifier(_LinearClassifier):
    """The notes' perceptron: step activation and the online update rule.

    Starting from small random weights, each epoch visits the training points in
    (by default shuffled) order. A point predicted 0 but labelled 1 pulls the
    weights towards it, ``w += learning_rate * x`` and ``b += learning_rate``; a
    point predicted 1 but labelled 0 pushes them away, ``w -= learning_rate * x``
    and ``b -= learning_rate`` (notes 一.2-3). Training stops after an epoch with
    no misclassified point, or after `max_iter` epochs. More than two classes are
    learnt one-vs-rest, all units updated in the same pass.

    Parameters
    ----------
    learning_rate : float, default=0.01
        Step size α of the update rule.
    max_iter : int, default=1000
        Maximum number of epochs (passes over the training data).
    n_iter_no_change : int or None, default=None
        None follows the notes: train until an epoch has no error, or for
        `max_iter` epochs. An integer also stops training once the epoch error
        count has not reached a new minimum for that many epochs in a row, which
        saves time on data that are not linearly separable (where the rule never
        settles).
    shuffle : bool, default=True
        Visit the points in a new random order each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights and the visiting order.
    warm_start : bool, default=False
        Continue from the previous solution on the next call to `fit`.
    verbose : int, default=0
        Print the error count of each epoch when positive.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights ``W``: one row for a binary problem, one per class otherwise.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Biases ``b``.
    errors_ : list of int
        Misclassified points met in each epoch (a point counts once, however
        many one-vs-rest units it fooled). Zero in the last epoch means the
        training data are separated.
    loss_curve_ : list of float
        Mean perceptron criterion ``max(0, -(2y - 1)(Wx + b))`` of each epoch,
        summed over units and measured when each point was visited.
    n_iter_ : int
        Number of epochs run since the weights were initialised.
    n_features_in_ : int
        Number of features seen during `fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during `fit`; only when X has string column names.

    See Also
    --------
    LogisticGD : Logistic regression by gradient descent, the notes' smooth
        successor of the perceptron.
    sklearn.linear_model.Perceptron : scikit-learn's perceptron (SGD-based).

    Notes
    -----
    A score of exactly 0 is predicted as the positive class, as the step function
    does (the classes then have equal probability). `predict_proba` squashes
    the scores, it does not calibrate them: ``sigmoid(s)`` for a binary problem
    and the one-vs-rest sigmoids normalised to sum to 1 otherwise. Wrap the
    estimator in :class:`~sklearn.calibration.CalibratedClassifierCV` for
    calibrated probabilities.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skdeep import PerceptronClassifier
    >>> X, y = make_blobs(n_samples=60, centers=2, cluster_std=0.8, random_state=0)
    >>> clf = PerceptronClassifier(random_state=0).fit(X, y)
    >>> clf.n_iter_, clf.errors_[-1]
    (38, 0)
    >>> clf.score(X, y)
    1.0
    >>> clf.predict(X[:2]), y[:2]
    (array([1, 0]), array([1, 0]))
    """

    _parameter_constraints: dict = {
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        learning_rate=0.01,
        max_iter=1000,
        *,
        n_iter_no_change=None,
        shuffle=True,
        random_state=None,
        warm_start=False,
        verbose=0,
    ):
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Run the perceptron rule until an epoch has no error, or `max_iter` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Target labels.

        Returns
        -------
        self : PerceptronClassifier
            The fitted estimator.
        """
        return self._fit(X, y, classes=None, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Run one epoch of the perceptron rule over the given samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Target labels.
        classes : array-like of shape (n_classes,), default=None
            All the classes that will ever appear; required on the first call,
            optional (and checked) afterwards.

        Returns
        -------
        self : PerceptronClassifier
            The updated estimator.
        """
        return self._fit(X, y, classes=classes, incremental=True)

    @all_or_nothing
    def _fit(self, X, y, classes, incremental):
        first_call, X, y, classes = self._prepare(X, y, classes, incremental)
        T, _ = self._targets(y, classes)
        n_samples, n_features = X.shape
        if first_call:
            self._rng = check_random_state(self.random_state)
            W, b = self._initial_weights(self._rng, T.shape[1], n_features)
            errors, losses, n_iter = [], [], 0
        else:
            W, b = self.coef_.copy(), self.intercept_.copy()
            errors, losses = list(self.errors_), list(self.loss_curve_)
            n_iter = self.n_iter_
        order = np.arange(n_samples)
        fewest_errors, no_improvement = n_samples + 1, 0
        for _ in range(1 if incremental else self.max_iter):
            if self.shuffle:
                self._rng.shuffle(order)  # indices, not the data: X is not copied
            with np.errstate(over="ignore", invalid="ignore"):
                n_errors, loss = _perceptron_epoch(
                    X, T, W, b, order, self.learning_rate
                )
            n_iter += 1
            self._check_finite(n_iter, W, b)
            errors.append(n_errors)
            losses.append(loss / n_samples)
            if self.verbose:
                print(f"Epoch {n_iter}, errors = {n_errors}, loss = {losses[-1]:.6f}")
            if n_errors == 0:
                break
            if incremental or self.n_iter_no_change is None:
                continue
            no_improvement = 0 if n_errors < fewest_errors else no_improvement + 1
            fewest_errors = min(fewest_errors, n_errors)
            if no_improvement >= self.n_iter_no_change:
                break
        else:
            if not incremental:
                warnings.warn(
                    f"PerceptronClassifier did not separate the training data in "
                    f"max_iter={self.max_iter} epochs ({errors[-1]} errors in the "
                    "last one); the data may not be linearly separable (see "
                    "n_iter_no_change).",
                    ConvergenceWarning,
                    stacklevel=5,  # past all_or_nothing, fit and _fit_context
                )
        self.classes_ = classes
        self.coef_, self.intercept_ = W, b
        self.errors_, self.loss_curve_, self.n_iter_ = errors, losses, n_iter
        return self

    def predict(self, X):
        """Predict class labels: the step function's 1 where ``Wx + b >= 0`` if binary,
        the unit with the highest score otherwise.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores >= 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]

    def predict_log_proba(self, X):
        """Log of the squashed scores (see Notes), computed without underflow.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        scores = self._scores(X)
        if scores.shape[1] == 1:
            return binary_log_proba(scores)
        log_sig = log_sigmoid(scores)
        return log_sig - logsumexp(log_sig, axis=1, keepdims=True)


def _logistic_loss_grad(W, b, X, Y, sample_weight=None):
    """The notes' error function E(W, b) and its gradient (一.11-12).

    ``E`` is the weighted mean cross-entropy of ``sigmoid(X W^T + b)`` (one
    column, binary) or of ``softmax(X W^T + b)`` (one column per class, 一.10).
    Its gradient is the notes' ``-(y - y_hat)(x, 1)``, averaged over the samples.

    Returns
    -------
    loss : float
    dW : ndarray of the shape of W
    db : ndarray of the shape of b
    """
    cross_entropy = (
        binary_cross_entropy if W.shape[0] == 1 else categorical_cross_entropy
    )
    loss, dZ = cross_entropy(X @ W.T + b, Y, sample_weight)
    return loss, dZ.T @ X, dZ.sum(axis=0)


class LogisticGD(_LinearClassifier):
    """Logistic regression trained by gradient descent on the cross-entropy.

    The notes' recipe (一.11-12): start from a random model, measure the error
    ``E(W, b)``, the mean cross-entropy of ``y_hat = sigmoid(Wx + b)``, and step
    against its gradient ``-(y - y_hat)(x, 1)``, averaged over a batch. More than
    two classes use a softmax over one unit per class and the multi-class
    cross-entropy (一.6, 一.10).

    Parameters
    ----------
    learning_rate : float, default=0.1
        Step size α.
    max_iter : int, default=1000
        Maximum number of epochs (passes over the training data).
    batch_size : int or None, default=None
        Samples per gradient step. None means full-batch gradient descent (one
        step per epoch); an integer means mini-batch stochastic gradient descent.
    alpha : float, default=0.0
        L2 penalty ``alpha/2 ||W||^2`` (weight decay; the bias is not penalised).
    l1 : float, default=0.0
        L1 penalty ``l1 ||W||_1``, applied by a proximal (soft-thresholding) step
        after each gradient step, so that weights can become exactly zero.
    tol : float, default=1e-4
        Training stops when the epoch loss has not improved on the best loss by at
        least `tol` for `n_iter_no_change` consecutive epochs.
    n_iter_no_change : int, default=10
        See `tol`.
    shuffle : bool, default=True
        Shuffle the samples each epoch (mini-batch training only: a full batch
        is the same in any order).
    class_weight : dict, "balanced" or None, default=None
        Weights ``{label: weight}`` multiplying the samples of each class;
        "balanced" uses ``n_samples / (n_classes * np.bincount(y))``, with the
        counts weighted by `sample_weight` and taken over the classes present in
        the `y` of each call (`partial_fit` balances each batch on its own).
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights and the mini-batch shuffling.
    warm_start : bool, default=False
        Continue from the previous solution on the next call to `fit`.
    verbose : int, default=0
        Print the loss of each epoch when positive.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights ``W``: one row for a binary problem, one per class otherwise.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Biases ``b``.
    loss_curve_ : list of float
        Loss of each epoch, penalties included: the loss of the weights the epoch
        started from (full batch), or the mean of the batch losses met during the
        epoch (mini-batches).
    n_iter_ : int
        Number of epochs run since the weights were initialised.
    n_features_in_ : int
        Number of features seen during `fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during `fit`; only when X has string column names.

    See Also
    --------
    PerceptronClassifier : The notes' perceptron, with a step activation.
    sklearn.linear_model.LogisticRegression : The same model, fitted by a
        second-order solver with an L2 penalty by default.
    sklearn.linear_model.SGDClassifier : ``loss="log_loss"`` for per-sample SGD.

    Notes
    -----
    Full-batch descent (``batch_size=None``) in `fit` never lets the loss rise:
    a step that would raise it is undone and `learning_rate` halved for the rest
    of the call, with a :class:`~sklearn.exceptions.ConvergenceWarning` (usually
    a sign that X needs scaling). So `loss_curve_` does not increase, and a too
    large rate costs a few epochs instead of a diverging run. Mini-batch training
    takes plain steps; each batch's mean loss is rescaled by its share of the
    total sample weight, so that batch gradients estimate the full gradient
    without bias. Training that ends worse than it started, or whose weights
    overflow, warns or raises rather than returning NaN.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdeep import LogisticGD
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), LogisticGD(random_state=0)).fit(X, y)
    >>> round(clf.score(X, y), 2)
    0.96
    >>> clf.predict_proba(X[:1]).round(2)
    array([[0.99, 0.01, 0.  ]])
    """

    _parameter_constraints: dict = {
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1": [Interval(Real, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        learning_rate=0.1,
        max_iter=1000,
        *,
        batch_size=None,
        alpha=0.0,
        l1=0.0,
        tol=1e-4,
        n_iter_no_change=10,
        shuffle=True,
        class_weight=None,
        random_state=None,
        warm_start=False,
        verbose=0,
    ):
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.alpha = alpha
        self.l1 = l1
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.class_weight = class_weight
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Minimise the cross-entropy by gradient descent.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Target labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the mean loss; None gives every
            sample weight 1.

        Returns
        -------
        self : LogisticGD
            The fitted estimator.
        """
        return self._fit(X, y, None, sample_weight, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch of gradient descent over the given samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Target labels.
        classes : array-like of shape (n_classes,), default=None
            All the classes that will ever appear; required on the first call,
            optional (and checked) afterwards.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        self : LogisticGD
            The updated estimator.
        """
        return self._fit(X, y, classes, sample_weight, incremental=True)

    def _sample_weight(self, sample_weight, y_index, classes, y):
        """Per-sample weights: `sample_weight` times the class weight of each label."""
        n_samples = y_index.size
        if sample_weight is None:
            sample_weight = np.ones(n_samples)
        else:
            sample_weight = check_sample_weight(sample_weight, n_samples)
        if self.class_weight == "balanced":
            # Weighted class totals, so that weights and repeated rows agree.
            totals = np.bincount(y_index, sample_weight, minlength=classes.size)
            present = totals > 0  # a class absent from this call needs no weight
            weights = np.ones(classes.size)
            weights[present] = totals.sum() / (present.sum() * totals[present])
            sample_weight = sample_weight * weights[y_index]
        elif self.class_weight is not None:
            weights = compute_class_weight(self.class_weight, classes=classes, y=y)
            sample_weight = sample_weight * weights[y_index]
        if not sample_weight.any():
            raise ValueError(
                "Sample weights must contain at least one non-zero number (after "
                "applying class_weight); all are zero."
            )
        return sample_weight

    @all_or_nothing
    def _fit(self, X, y, classes, sample_weight, incremental):
        first_call, X, y, classes = self._prepare(X, y, classes, incremental)
        Y, y_index = self._targets(y, classes)
        data = (X, Y, self._sample_weight(sample_weight, y_index, classes, y))
        if first_call:
            self._rng = check_random_state(self.random_state)
            W, b = self._initial_weights(self._rng, Y.shape[1], X.shape[1])
            losses, n_iter = [], 0
        else:
            W, b = self.coef_.copy(), self.intercept_.copy()
            losses, n_iter = list(self.loss_curve_), self.n_iter_
        # Full-batch descent within fit() sees the exact loss, so a rise means the
        # step overshot: it is undone and the learning rate halved (backtracking).
        backtrack = not incremental and (
            self.batch_size is None or self.batch_size >= X.shape[0]
        )
        learning_rate, n_halvings, accepted = self.learning_rate, 0, None
        # Mini-batch losses are noisy: SGD compares its last epoch only with the
        # loss of its starting weights, to flag a far too large learning rate.
        start_loss = None
        with np.errstate(over="ignore", invalid="ignore"):
            if not (incremental or backtrack):
                start_loss = self._objective(data, W, b)[0]
        best_loss, no_improvement = np.inf, 0
        for _ in range(1 if incremental else self.max_iter):
            halved = False
            with np.errstate(over="ignore", invalid="ignore"):
                if backtrack:
                    loss, dW, db = self._objective(data, W, b)
                    if accepted and loss > accepted[0] + _SLACK * abs(accepted[0]):
                        # The last step overshot: undo it, halve the rate, retry.
                        loss, dW, db, W, b = accepted
                        learning_rate /= 2
                        n_halvings += 1
                        halved = True
                    accepted = (loss, dW, db, W, b)
                    W, b = self._step(W, b, dW, db, learning_rate)
                else:
                    loss, W, b = self._sgd_epoch(data, W, b)
            n_iter += 1
            self._check_finite(n_iter, loss, W, b)
            losses.append(loss)
            if self.verbose:
                print(f"Epoch {n_iter}, loss = {loss:.6f}")
            if incremental or halved:
                continue
            no_improvement = 0 if loss <= best_loss - self.tol else no_improvement + 1
            best_loss = min(best_loss, loss)
            if no_improvement >= self.n_iter_no_change:
                break
        else:
            if not incremental:
                self._warn(
                    f"LogisticGD reached max_iter={self.max_iter} epochs before "
                    f"the loss stopped improving by tol={self.tol}; consider "
                    "raising max_iter or learning_rate."
                )
        if n_halvings:
            self._warn(
                f"LogisticGD's loss rose {n_halvings} time(s) with learning_rate="
                f"{self.learning_rate!r}; each step was undone and the rate halved, "
                f"down to {learning_rate:.3g}. Scale X (e.g. StandardScaler) or lower "
                "learning_rate."
            )
        elif start_loss is not None and losses[-1] > start_loss:
            self._warn(
                f"LogisticGD's loss rose from {start_loss:.4g} to {losses[-1]:.4g} "
                f"during training: learning_rate={self.learning_rate!r} is too "
                "large for the scale of X. Scale X (e.g. StandardScaler) or lower "
                "learning_rate."
            )
        self.classes_ = classes
        self.coef_, self.intercept_ = W, b
        self.loss_curve_, self.n_iter_ = losses, n_iter
        return self

    @staticmethod
    def _warn(message):
        # Point at the caller of fit: past _warn, _fit, all_or_nothing, fit and
        # _fit_context.
        warnings.warn(message, ConvergenceWarning, stacklevel=6)

    def _objective(self, data, W, b, scale=1.0):
        """``scale * E(W, b)`` plus the penalties, and the gradient of its smooth
        part. Neither penalty touches the bias."""
        X, Y, sample_weight = data
        loss, dW, db = _logistic_loss_grad(W, b, X, Y, sample_weight)
        if scale != 1.0:
            loss, dW, db = scale * loss, scale * dW, scale * db
        if self.alpha:
            loss += 0.5 * self.alpha * np.sum(W * W)
            dW += self.alpha * W
        if self.l1:
            loss += self.l1 * np.abs(W).sum()
        return loss, dW, db

    def _step(self, W, b, dW, db, learning_rate):
        """A gradient step, then the proximal step of the L1 penalty: shrink each
        weight towards 0 by ``learning_rate * l1``, stopping at 0."""
        W = W - learning_rate * dW
        if self.l1:
            W = np.sign(W) * np.maximum(np.abs(W) - learning_rate * self.l1, 0)
        return W, b - learning_rate * db

    def _sgd_epoch(self, data, W, b):
        """One pass of steps over mini-batches (one batch of all of X by default).

        Returns the epoch's loss, the mean of the batch losses (each taken before
        its step), and the updated ``W`` and ``b``.
        """
        X, Y, sample_weight = data
        n_samples = X.shape[0]
        if self.batch_size is None or self.batch_size >= n_samples:
            loss, dW, db = self._objective(data, W, b)  # one batch: X not copied
            return float(loss), *self._step(W, b, dW, db, self.learning_rate)
        # Shuffle indices, not the data: X is never copied whole.
        order = (
            self._rng.permutation(n_samples) if self.shuffle else np.arange(n_samples)
        )
        mean_weight, epoch_loss = sample_weight.mean(), 0.0
        for start in range(0, n_samples, self.batch_size):
            rows = order[start : start + self.batch_size]
            batch = (X[rows], Y[rows], sample_weight[rows])
            # E of a batch is normalised by the batch's own weight; rescaling it
            # by that weight's share makes each batch gradient an unbiased
            # estimate of the full one, so that a batch of near-zero weights
            # takes a near-zero step.
            share = batch[2].mean() / mean_weight
            if share == 0:  # only the penalties remain, and E would be 0/0
                batch, share = (*batch[:2], None), 0.0
            loss, dW, db = self._objective(batch, W, b, scale=share)
            epoch_loss += loss * rows.size / n_samples
            W, b = self._step(W, b, dW, db, self.learning_rate)
        return float(epoch_loss), W, b

    def predict_log_proba(self, X):
        """Log-probabilities from log-sigmoid or log-softmax, exact where the
        probabilities underflow.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        scores = self._scores(X)
        if scores.shape[1] == 1:
            return binary_log_proba(scores)
        return log_softmax(scores)
