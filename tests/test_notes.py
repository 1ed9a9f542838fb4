"""The notes' concepts that the examples show, as tests that can fail.

Each test recomputes what the notes state with an independent reference (plain
math, finite differences, the closed form of the notes' formula, or
scikit-learn) and checks skdeep against it.
"""

import math
import warnings

import numpy as np
import pytest
from _gradcheck import assert_gradient_close, numerical_gradient
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from skdeep import LogisticGD
from skdeep.nn.layers import Dense
from skdeep.nn.losses import binary_cross_entropy, categorical_cross_entropy
from skdeep.nn.network import Sequential
from skdeep.optimizers import SGD

# ---------------------------------------------------------------------------
# 一.8-11: likelihood and cross-entropy, the notes' worked example
# ---------------------------------------------------------------------------

# 一.11's two models of four points: the probability each gives to the true
# label of every point (the notes' "-ln 0.6 - ln 0.2 - ln 0.1 - ln 0.7" and
# "-ln 0.7 - ln 0.9 - ln 0.9 - ln 0.6").
BAD_MODEL = (0.6, 0.2, 0.1, 0.7)
GOOD_MODEL = (0.7, 0.9, 0.9, 0.6)
# The labels of the four points do not matter (the cross-entropy only sees the
# probability of the true label); two of each exercise both terms of the
# binary cross-entropy, y ln p and (1 - y) ln(1 - p).
LABELS = np.array([1.0, 0.0, 1.0, 0.0])


def _logits_of_true_label_probabilities(p_true):
    """Logits z with sigmoid(z) = P(y = 1) for the points of LABELS."""
    p_true = np.asarray(p_true)
    p_one = np.where(LABELS == 1, p_true, 1 - p_true)
    return np.log(p_one / (1 - p_one))[:, None]


@pytest.mark.parametrize(
    "p_true, notes_value, four_digits",
    [(BAD_MODEL, 4.8, 4.7795), (GOOD_MODEL, 1.2, 1.0782)],
)
def test_notes_cross_entropy_worked_example(p_true, notes_value, four_digits):
    """一.11's numbers: the sum of -ln(p) over the four points, by plain math
    and by skdeep's losses (from logits, binary and two-class softmax).
    Catches a loss with a sign, a log base (the notes' figure says "log") or
    a (1 - y) term wrong, and a mean/sum mix-up (the losses return the mean).

    The notes' arithmetic: the bad model's -ln 0.6 - ln 0.2 - ln 0.1 - ln 0.7
    is 4.7795, which the notes round to 4.8, correctly. The good model's
    -ln 0.7 - ln 0.9 - ln 0.9 - ln 0.6 is 1.0782, not the notes' 1.2: 1.2 is
    what -ln 0.7 - ln 0.9 - ln 0.8 - ln 0.6 = 1.196 gives, so one of the two
    0.9 was probably 0.8 in the course's figure (not included in the notes).
    """
    n = len(p_true)
    by_hand = -sum(math.log(p) for p in p_true)
    assert by_hand == pytest.approx(four_digits, abs=5e-5)
    if notes_value == 4.8:
        assert round(by_hand, 1) == notes_value
    else:
        assert abs(by_hand - notes_value) > 0.1  # the notes' slip, see above

    Z = _logits_of_true_label_probabilities(p_true)
    mean_bce, _ = binary_cross_entropy(Z, LABELS[:, None])
    assert n * mean_bce == pytest.approx(by_hand, rel=1e-12)
    # The same points as a two-class softmax with one-hot targets (一.10):
    # logits log P(y=0), log P(y=1) give back these probabilities.
    p_one = 1 / (1 + np.exp(-Z[:, 0]))
    Z2 = np.log(np.column_stack([1 - p_one, p_one]))
    Y2 = np.column_stack([1 - LABELS, LABELS])
    mean_cce, _ = categorical_cross_entropy(Z2, Y2)
    assert n * mean_cce == pytest.approx(by_hand, rel=1e-12)
    # 一.11's error function is the mean over the points.
    assert mean_bce == pytest.approx(by_hand / n, rel=1e-12)


def test_notes_likelihood_of_the_worked_example():
    """一.8: the likelihood is the product of the probabilities of what
    happened, and the cross-entropy is minus its logarithm, so the model with
    the larger product has the smaller cross-entropy. Catches a loss that is
    not -ln(likelihood), by plain arithmetic on the notes' numbers."""
    for p_true, product in [(BAD_MODEL, 0.0084), (GOOD_MODEL, 0.3402)]:
        assert math.prod(p_true) == pytest.approx(product, rel=1e-12, abs=0)
        mean_bce, _ = binary_cross_entropy(
            _logits_of_true_label_probabilities(p_true), LABELS[:, None]
        )
        assert math.exp(-len(p_true) * mean_bce) == pytest.approx(
            product, rel=1e-12, abs=0
        )


def _true_label_probabilities(clf, X, y):
    proba = clf.predict_proba(X)
    return proba[np.arange(len(y)), np.searchsorted(clf.classes_, y)]


def _noisy_binary_problem():
    # Overlapping classes (20% of labels flipped): the likelihood has a finite
    # maximum, which separable data would not have.
    return make_classification(
        n_samples=60, n_features=3, n_informative=2, n_redundant=0, flip_y=0.2,
        class_sep=0.8, random_state=0,
    )  # fmt: skip


def test_likelihood_is_exp_of_minus_n_cross_entropy():
    """一.8 and 一.9: for a fitted LogisticGD, the product of the predicted
    probabilities of the true labels equals exp(-n * cross-entropy), the
    cross-entropy computed by scikit-learn's log_loss, and both are the
    likelihood of the notes' model y_hat = sigmoid(Wx + b) computed by hand
    from coef_ and intercept_. 60 samples keep the product (about 1e-16)
    above float64's underflow, which is why one works with its logarithm in
    practice. Catches predict_proba columns out of classes_ order, and
    probabilities that are not those of the fitted linear model."""
    X, y = _noisy_binary_problem()
    clf = LogisticGD(random_state=0).fit(X, y)
    likelihood = np.prod(_true_label_probabilities(clf, X, y))
    total_cross_entropy = log_loss(y, clf.predict_proba(X), normalize=False)
    assert 1e-300 < likelihood < 1
    # abs=0: approx's default absolute tolerance (1e-12) would accept any
    # two products this small.
    assert likelihood == pytest.approx(math.exp(-total_cross_entropy), rel=1e-9, abs=0)

    y_hat = 1 / (1 + np.exp(-(X @ clf.coef_[0] + clf.intercept_[0])))
    by_hand = np.prod(np.where(y == clf.classes_[1], y_hat, 1 - y_hat))
    assert likelihood == pytest.approx(by_hand, rel=1e-9, abs=0)


def test_logistic_gd_finds_the_maximum_likelihood():
    """Minimising the cross-entropy (一.11) is maximising the likelihood (一.8):
    LogisticGD run to convergence reaches the log-likelihood of the maximum
    likelihood estimate, which scikit-learn's LogisticRegression computes
    without a penalty (C=inf) by a second-order solver; one epoch is well
    below it. Catches a gradient that descends something else than the
    cross-entropy, or a training loop that stops far from the optimum."""
    X, y = _noisy_binary_problem()
    mle = LogisticRegression(C=np.inf, tol=1e-10, max_iter=10_000).fit(X, y)
    best = -log_loss(y, mle.predict_proba(X), normalize=False)

    def log_likelihood(max_iter):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = LogisticGD(
                learning_rate=0.5, max_iter=max_iter, tol=0.0,
                n_iter_no_change=max_iter, random_state=0,
            ).fit(X, y)  # fmt: skip
        return np.sum(np.log(_true_label_probabilities(clf, X, y)))

    trained = log_likelihood(1000)
    assert trained == pytest.approx(best, abs=1e-4)
    assert trained <= best + 1e-6  # nothing beats the maximum
    assert log_likelihood(1) < best - 1.0


# ---------------------------------------------------------------------------
# 二.7: vanishing gradients
# ---------------------------------------------------------------------------


def _deep_network(activation, seed=0):
    """Six hidden Dense layers of 16 units and a 3-class output, float64,
    after one forward and backward pass on a fixed batch."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(64, 10))
    Y = np.eye(3)[rng.integers(0, 3, size=64)]
    layers = [Dense(16, activation=activation) for _ in range(6)] + [Dense(3)]
    network = Sequential(layers, dtype=np.float64)
    network.build((10,), np.random.default_rng(seed))
    _, dZ = categorical_cross_entropy(network.forward(X, training=True), Y)
    network.backward(dZ)
    return network, X, Y


def _first_to_last_hidden_ratio(network):
    norms = [np.linalg.norm(layer.grads["W"]) for layer in network.layers[:6]]
    return norms[0] / norms[-1]


def test_sigmoid_gradients_vanish_and_relu_gradients_do_not():
    """二.7: the sigmoid's derivative is at most 1/4, so the gradient reaching
    the first of six hidden layers is orders of magnitude smaller than the
    last one's (about 0.25**5 ~ 1e-3 here), while ReLU passes gradients on
    at their size. The sigmoid network's tiny first-layer gradient is checked
    against finite differences, so it is the true gradient and not a
    backpropagation bug. Catches a sigmoid derivative other than
    s(1 - s) (e.g. 1, which would hide the effect) and a broken chain rule."""
    sigmoid_net, X, Y = _deep_network("sigmoid")
    relu_net, _, _ = _deep_network("relu")
    sigmoid_ratio = _first_to_last_hidden_ratio(sigmoid_net)
    relu_ratio = _first_to_last_hidden_ratio(relu_net)
    assert sigmoid_ratio < 1e-2
    assert relu_ratio > 1e-1
    assert sigmoid_ratio < relu_ratio / 100  # at least two orders of magnitude

    first = sigmoid_net.layers[0]

    def loss():
        return categorical_cross_entropy(sigmoid_net.forward(X), Y)[0]

    # eps=1e-4: the loss is about 1.1, so eps=1e-6 would leave rounding
    # errors of ~1e-10, too close to entries of ~1e-6.
    numeric = numerical_gradient(loss, first.params["W"], eps=1e-4)
    assert 0 < np.abs(numeric).max() < 1e-3  # it is small, and not zero
    # Entries are around 1e-5: a relative tolerance, and an absolute one far
    # below them.
    assert_gradient_close(first.grads["W"], numeric, rtol=1e-4, atol=1e-10)


# ---------------------------------------------------------------------------
# 二.7-9: a local minimum, and momentum out of it
# ---------------------------------------------------------------------------


def _loss(w):
    """The curve of examples/plot_momentum_local_minimum.py: a shallow valley
    on the right, a deeper one on the left, a hump between them."""
    return w**4 - 4 * w**2 + w


def _gradient(w):
    return 4 * w**3 - 8 * w + 1


def _descend(optimizer, start=2.3, n_steps=150):
    w = np.array([start])  # the one parameter, updated in place by step()
    path = [start]
    for _ in range(n_steps):
        optimizer.step([w], [_gradient(w)])
        path.append(w[0])
    return np.array(path)


def _critical_points():
    """(global minimum, hump, local minimum) from the roots of E'(w)."""
    left, hump, right = np.sort(np.roots([4.0, 0.0, -8.0, 1.0]).real)
    assert _loss(left) < _loss(right)  # the left valley is the deeper one
    return left, hump, right


def test_plain_gradient_descent_stays_in_the_local_minimum():
    """二.7: from w = 2.3, plain SGD goes down into the nearest valley and stays
    there, never crossing the hump. Catches an SGD step with the wrong sign
    or size (the minima come from the roots of E', not from SGD)."""
    global_min, hump, local_min = _critical_points()
    path = _descend(SGD(learning_rate=0.01))
    assert path[-1] == pytest.approx(local_min, abs=1e-6)
    assert np.all(path > hump)
    assert _loss(path[-1]) > _loss(global_min) + 1


def test_momentum_rolls_over_the_hump_into_the_deeper_valley():
    """二.9: with momentum β = 0.9 each step adds up the past gradient steps,
    weighted 1, β, β², ...: the descent gathers speed, crosses the hump and
    settles in the deeper valley. The path is compared with the notes'
    formula written out as that weighted sum. Catches momentum ignored,
    a velocity that is not reset between optimizers, or a different
    weighting of the past steps."""
    global_min, hump, local_min = _critical_points()
    beta, learning_rate = 0.9, 0.01
    path = _descend(SGD(learning_rate=learning_rate, momentum=beta))
    assert path[-1] == pytest.approx(global_min, abs=1e-2)
    assert np.any(path < hump)

    # The notes' rule, literally: step t = -lr * sum_j beta**(t - j) * g_j.
    w, gradients, expected = 2.3, [], [2.3]
    for _ in range(len(path) - 1):
        gradients.append(_gradient(w))
        t = len(gradients) - 1
        w += -learning_rate * sum(beta ** (t - j) * g for j, g in enumerate(gradients))
        expected.append(w)
    np.testing.assert_allclose(path, expected, rtol=1e-10, atol=1e-12)
