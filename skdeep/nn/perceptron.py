"""The perceptron's online rule (notes 一.2-3) as a trainer of a one-layer network.

:func:`perceptron_epoch` is the notes' rule, point by point; :class:`PerceptronTrainer`
runs it on the weights of a network's single ``Dense`` layer, so that the
perceptron shares the epoch loop of every other estimator
(:func:`skdeep.nn.training.run_epochs`: validation, history, best weights,
callbacks) while its update stays exactly the notes'.
"""

import numpy as np


def perceptron_epoch(X, T, W, b, order, learning_rate, sample_weight=None):
    """One pass of the notes' perceptron rule, updating ``W`` and ``b`` in place.

    Points are visited in ``order``. A unit that predicts 0 (score below 0)
    for a point labelled 1 moves towards it (``w += a x``, ``b += a``); one
    that predicts 1 for a point labelled 0 moves away (``w -= a x``,
    ``b -= a``). With ``sample_weight``, point ``i`` moves the weights
    ``sample_weight[i]`` times as far. The units (columns of ``W``) are
    independent one-vs-rest perceptrons, updated together.

    The rule is sequential, but points that are already classified correctly do
    not change the weights. So the scores of a whole block of upcoming points are
    computed with one matrix product, the first misclassified point is located,
    updated, and the scan resumes after it. This is exactly the point-by-point
    algorithm, with one Python step per *error* instead of per point.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    T : ndarray of shape (n_samples, n_units)
        0/1 targets, one column per unit.
    W : ndarray of shape (n_features, n_units)
        Weights, updated in place.
    b : ndarray of shape (n_units,)
        Biases, updated in place.
    order : ndarray of int
        The visiting order.
    learning_rate : float
    sample_weight : ndarray of shape (n_samples,) or None

    Returns
    -------
    n_errors : int
        Points that triggered an update (counted once, whatever the number of
        units that erred on it).

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.nn.perceptron import perceptron_epoch
    >>> X, T = np.array([[1.0, 1.0]]), np.array([[1.0]])
    >>> W, b = np.zeros((2, 1)), np.full(1, -1.0)  # predicts 0 for the point
    >>> perceptron_epoch(X, T, W, b, np.arange(1), learning_rate=0.5)
    1
    >>> W.ravel(), b  # moved towards the point: w += 0.5 x, b += 0.5
    (array([0.5, 0.5]), array([-0.5]))
    """
    n_samples, n_units = order.size, W.shape[1]
    T = T[order]  # targets in visiting order, so that blocks below are views
    sparse = hasattr(X, "tocsr")
    position, block, n_errors = 0, 16, 0
    while position < n_samples:
        rows = order[position : position + block]
        if sparse:
            S = X[rows] @ W  # (len(rows), n_units) scores
        else:
            # take and dot rather than X[rows] @ W: cheaper calls on small blocks.
            S = np.dot(X.take(rows, axis=0), W)
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
        rate = learning_rate
        if sample_weight is not None:
            rate = learning_rate * sample_weight[rows[j]]
        step = rate * direction
        if sparse:  # only the weights of the row's nonzero features move
            x = X[rows[j]].tocsr()
            W[x.indices] += x.data[:, None] * step
        else:
            W += X[rows[j]][:, None] * step
        b += step
        n_errors += 1
        position += j + 1
        # The next error is likely about as far away as this one was.
        block = max(2 * (j + 1), 8)
    return n_errors


def perceptron_criterion(Z, T, sample_weight=None):
    """Mean perceptron criterion ``sum_k max(0, -(2 t_k - 1) z_k)`` over the rows.

    Zero exactly when every unit scores every row on its side (a score of 0
    for a 0 label counts as right here although the step function says 1: it
    is the boundary, at distance 0).

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.nn.perceptron import perceptron_criterion
    >>> Z, T = np.array([[2.0], [-3.0], [0.5]]), np.array([[0.0], [1.0], [1.0]])
    >>> float(perceptron_criterion(Z, T))  # (2 + 3 + 0) / 3
    1.6666666666666667
    """
    signs = 2 * T - 1
    per_row = np.maximum(-signs * Z, 0).sum(axis=1)
    if sample_weight is None:
        return float(per_row.mean())
    return float(per_row @ sample_weight / sample_weight.sum())


class PerceptronTrainer:
    """Runs :func:`perceptron_epoch` on a network of one ``Dense`` layer.

    Offers what :func:`skdeep.nn.training.run_epochs` asks of a trainer. An
    epoch's loss is the perceptron criterion of the weights *after* the epoch
    (one matrix product over the data), so the best epoch kept by the loop is
    the pocket perceptron's best weights; ``epoch_log["errors"]`` counts the
    updates the epoch made, and ``converged`` is True after an epoch without
    one (the notes' stopping rule).

    Parameters
    ----------
    network : Sequential
        A built network whose only layer is a ``Dense`` layer without
        activation; its ``W`` (n_features, n_units) and ``b`` are updated.
    learning_rate : float
    shuffle : bool
        Visit the points in a new random order each epoch.
    rng : numpy.random.Generator
    stop_request : StopRequest or None
        Not checked inside an epoch (a perceptron epoch is one quick pass).

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.nn.layers import Dense
    >>> from skdeep.nn.network import Sequential
    >>> from skdeep.nn.perceptron import PerceptronTrainer
    >>> rng = np.random.default_rng(0)
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> T = np.array([[0.0], [0.0], [0.0], [1.0]])  # logical AND: separable
    >>> net = Sequential([Dense(1)], dtype=np.float64)
    >>> _ = net.build((2,), rng)
    >>> trainer = PerceptronTrainer(net, learning_rate=0.1, shuffle=True, rng=rng)
    >>> for _ in range(100):
    ...     loss = trainer.train_epoch(X, T)
    ...     if trainer.converged:
    ...         break
    >>> loss, trainer.epoch_log["errors"]
    (0.0, 0)
    """

    def __init__(self, network, *, learning_rate, shuffle, rng, stop_request=None):
        self.network = network
        (layer,) = network.layers
        self._layer = layer
        self.learning_rate = learning_rate
        self.shuffle = shuffle
        self.rng = rng
        self.stop_request = stop_request
        self.interrupted = False
        self.converged = False
        self.epoch_log = {}
        self._predictions = None

    @property
    def epoch_predictions(self):
        """The scores of the weights after the last epoch, one row per sample."""
        return self._predictions

    def reset(self):
        """Nothing to forget: the rule keeps no state besides the weights."""

    def train_epoch(self, X, T, sample_weight=None):
        """One pass of the rule; return the criterion of the updated weights."""
        W, b = self._layer.params["W"], self._layer.params["b"]
        n = X.shape[0]
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        n_errors = perceptron_epoch(
            X, T, W, b, order, self.learning_rate, sample_weight
        )
        self.epoch_log = {"errors": n_errors}
        self.converged = n_errors == 0
        self.interrupted = bool(self.stop_request and self.stop_request.requested)
        Z = X @ W
        Z += b
        self._predictions = Z
        return perceptron_criterion(Z, T, sample_weight)

    def evaluate(self, X, T, sample_weight=None):
        """The criterion and the scores on ``(X, T)``; no training."""
        Z = self.network.predict(X)
        return perceptron_criterion(Z, T, sample_weight), Z


__all__ = ["PerceptronTrainer", "perceptron_criterion", "perceptron_epoch"]
