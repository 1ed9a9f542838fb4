"""Tests for skdeep.linear: PerceptronClassifier and LogisticGD."""

import warnings

import numpy as np
import pytest
from scipy.special import expit, log_softmax, softmax
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_iris, make_blobs
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression, Perceptron
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_class_weight

from skdeep import LogisticGD, PerceptronClassifier
from skdeep.exceptions import DivergenceWarning


def separable_data(n_samples=80, n_features=3, seed=0):
    """Points at least 0.5 away from a random hyperplane, labelled by its side."""
    rng = np.random.RandomState(seed)
    w, b = rng.normal(size=n_features), 0.3
    X = rng.normal(size=(4 * n_samples, n_features))
    margin = (X @ w + b) / np.linalg.norm(w)
    X = X[np.abs(margin) > 0.5][:n_samples]
    return X, (X @ w + b > 0).astype(int)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# --- Agreement with scikit-learn ----------------------------------------------


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "ours, reference",
    [
        (PerceptronClassifier(random_state=0), Perceptron(random_state=0)),
        (LogisticGD(random_state=0), LogisticRegression()),
    ],
    ids=["perceptron", "logistic"],
)
def test_breast_cancer_accuracy_within_one_point_of_sklearn(ours, reference):
    X, y = load_breast_cancer(return_X_y=True)
    splits = StratifiedShuffleSplit(5, test_size=0.25, random_state=0).split(X, y)
    scores = {"ours": [], "reference": []}
    for train, test in splits:
        for key, model in [("ours", ours), ("reference", reference)]:
            pipe = make_pipeline(StandardScaler(), model).fit(X[train], y[train])
            scores[key].append(pipe.score(X[test], y[test]))
    ours_mean, reference_mean = np.mean(scores["ours"]), np.mean(scores["reference"])
    # Never more than one point worse (the pocket perceptron is 1.1 points better).
    assert ours_mean >= reference_mean - 0.01, (ours_mean, reference_mean)


# --- PerceptronClassifier -----------------------------------------------------


def test_perceptron_separates_separable_data():
    X, y = separable_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = PerceptronClassifier(random_state=0).fit(X, y)
    assert clf.errors_[-1] == 0
    assert clf.n_iter_ == len(clf.errors_) < clf.max_iter
    assert clf.loss_curve_[-1] == 0
    assert clf.score(X, y) == 1.0


def _perceptron_on_one_point(coef, intercept, x, label, learning_rate):
    """A binary perceptron with hand-set weights, then one partial_fit on (x, label)."""
    clf = PerceptronClassifier(learning_rate=learning_rate, random_state=0)
    clf.partial_fit([[0.0, 0.0], [1.0, 1.0]], [0, 1], classes=[0, 1])
    clf.coef_, clf.intercept_ = np.array([coef]), np.array([intercept])
    return clf.partial_fit([x], [label])


def test_perceptron_update_by_hand_predicted_0_label_1():
    # w = (0.5, -0.5), b = 0, x = (1, 2): Wx + b = 0.5 - 1 = -0.5 < 0, so the
    # step function predicts 0 for a point labelled 1. The notes' rule:
    # w += 0.1 * x = (0.6, -0.3), b += 0.1.
    clf = _perceptron_on_one_point([0.5, -0.5], 0.0, [1.0, 2.0], 1, 0.1)
    np.testing.assert_allclose(clf.coef_, [[0.6, -0.3]])
    np.testing.assert_allclose(clf.intercept_, [0.1])
    assert clf.errors_[-1] == 1
    # The epoch's loss is the criterion of the updated weights: 0.6 - 0.6 + 0.1
    # = 0.1 >= 0 on the right side, so 0.
    assert clf.loss_curve_[-1] == 0


def test_perceptron_loss_is_the_criterion_of_the_weights_after_the_epoch():
    """Catches a loss recorded during the pass (before updates) instead of the
    criterion of the weights the epoch ended with, which best weights rely on."""
    X = np.array([[1.0, 2.0], [2.0, -1.0], [-1.0, 0.5]])
    y = np.array([1, 0, 1])
    clf = _perceptron_on_one_point([0.5, -0.5], 0.0, X[0], 1, 0.1)
    clf.partial_fit(X, y)
    W, b = clf.coef_[0], clf.intercept_[0]
    scores = X @ W + b
    by_hand = np.mean(np.maximum(-(2 * y - 1) * scores, 0))
    assert clf.loss_curve_[-1] == pytest.approx(by_hand, rel=1e-12)


def test_perceptron_update_by_hand_predicted_1_label_0():
    # w = (1, 1), b = 0.2, x = (0.5, -0.2): Wx + b = 0.5 >= 0 predicts 1 for a
    # point labelled 0: w -= 0.1 * x = (0.95, 1.02), b -= 0.1.
    clf = _perceptron_on_one_point([1.0, 1.0], 0.2, [0.5, -0.2], 0, 0.1)
    np.testing.assert_allclose(clf.coef_, [[0.95, 1.02]])
    np.testing.assert_allclose(clf.intercept_, [0.1])


def test_perceptron_correct_point_leaves_weights_alone():
    clf = _perceptron_on_one_point([1.0, 1.0], 0.0, [1.0, 1.0], 1, 0.1)
    np.testing.assert_array_equal(clf.coef_, [[1.0, 1.0]])
    assert clf.errors_[-1] == 0


def naive_perceptron_epoch(X, T, W, b, learning_rate):
    """The notes' rule written point by point, unit by unit (reference only)."""
    W, b = W.copy(), b.copy()
    for x, targets in zip(X, T, strict=True):
        for k, target in enumerate(targets):
            prediction = 1.0 if W[k] @ x + b[k] >= 0 else 0.0
            if prediction == 0 and target == 1:
                W[k] += learning_rate * x
                b[k] += learning_rate
            elif prediction == 1 and target == 0:
                W[k] -= learning_rate * x
                b[k] -= learning_rate
    return W, b


@pytest.mark.parametrize("centers", [2, 3])
def test_perceptron_epoch_equals_point_by_point_rule(centers):
    # The blocked implementation must reproduce the sequential rule exactly.
    X, y = make_blobs(n_samples=120, centers=centers, cluster_std=3.0, random_state=0)
    clf = PerceptronClassifier(learning_rate=0.05, shuffle=False, random_state=0)
    clf.partial_fit(X[:5], y[:5], classes=np.unique(y))
    W, b = clf.coef_.copy(), clf.intercept_.copy()
    T = (y == 1)[:, None] if centers == 2 else np.eye(centers)[y]
    W_ref, b_ref = naive_perceptron_epoch(X, T.astype(float), W, b, 0.05)
    clf.partial_fit(X, y)
    assert clf.errors_[-1] > 0  # updates did happen
    np.testing.assert_allclose(clf.coef_, W_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(clf.intercept_, b_ref, rtol=1e-12, atol=1e-12)


def test_perceptron_multiclass_iris(iris):
    X, y = iris
    clf = PerceptronClassifier(n_iter_no_change=5, random_state=0).fit(X, y)
    assert clf.coef_.shape == (3, 4) and clf.intercept_.shape == (3,)
    assert clf.score(X, y) > 0.8
    assert clf.n_iter_ < clf.max_iter  # n_iter_no_change stopped it
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))


def test_perceptron_proba_is_sigmoid_of_score_and_log_proba_is_stable():
    X, y = separable_data()
    clf = PerceptronClassifier(random_state=0).fit(X, y)
    scores = clf.decision_function(X)
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], 1 / (1 + np.exp(-scores)))
    clf.coef_ = clf.coef_ * 1e5  # huge scores: probabilities saturate
    log_proba = clf.predict_log_proba(X)
    assert np.isfinite(log_proba).all()
    assert log_proba.min() < -1000


def test_perceptron_warm_start_and_partial_fit_accumulate():
    X, y = make_blobs(n_samples=60, centers=2, cluster_std=3.0, random_state=0)
    clf = PerceptronClassifier(max_iter=3, warm_start=True, random_state=0)
    with pytest.warns(ConvergenceWarning, match="did not separate"):
        clf.fit(X, y)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    clf.partial_fit(X, y)
    assert clf.n_iter_ == len(clf.errors_) == len(clf.loss_curve_) == 7


def test_perceptron_diverging_weights_warn_and_keep_the_initial_weights():
    """Catches an overflowing perceptron left with infinite weights (it raised
    before the engine was shared; now it behaves as every estimator)."""
    X, y = make_blobs(n_samples=40, centers=2, cluster_std=5.0, random_state=0)
    clf = PerceptronClassifier(learning_rate=1e308, random_state=0)
    with pytest.warns(DivergenceWarning, match="diverged at epoch 1.*initial weights"):
        clf.fit(X * 100, y)
    assert np.isfinite(clf.coef_).all() and clf.n_iter_ == 0
    assert np.isfinite(clf.predict_proba(X)).all()


def test_pocket_perceptron_keeps_the_best_epoch_on_overlapping_data():
    """On data that are not separable, the kept weights are those of the epoch
    with the lowest criterion (pocket), checked against the criterion computed
    by hand from the kept coef_."""
    X, y = make_blobs(n_samples=80, centers=2, cluster_std=4.0, random_state=0)
    with pytest.warns(ConvergenceWarning, match="did not separate"):
        clf = PerceptronClassifier(max_iter=30, random_state=0).fit(X, y)
    scores = X @ clf.coef_[0] + clf.intercept_[0]
    kept = np.mean(np.maximum(-(2 * y - 1) * scores, 0))
    assert kept == pytest.approx(min(clf.loss_curve_), rel=1e-10)
    assert kept == pytest.approx(clf.best_loss_, rel=1e-10)
    assert clf.loss_curve_[clf.best_epoch_ - 1] == min(clf.loss_curve_)


# --- LogisticGD -----------------------------------------------------------------


def _logistic_from(coef, intercept, X, y, **params):
    """A LogisticGD holding hand-set weights (fitted one epoch, then overwritten)."""
    clf = LogisticGD(random_state=0, **params)
    clf.partial_fit(X, y, classes=np.unique(y))
    clf.coef_, clf.intercept_ = coef, intercept
    return clf


@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_one_step_is_the_notes_gradient_step(alpha):
    """One full-batch epoch of plain gradient descent moves the weights by
    -lr * mean(-(y - y_hat)(x, 1)) (notes 一.12) plus the L2 term, computed here
    by hand; catches a wrong gradient, sign, scale or penalty in the engine."""
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(7, 3)), np.array([0, 1, 1, 0, 1, 0, 0])
    W, b = rng.normal(size=(1, 3)), rng.normal(size=1)
    clf = _logistic_from(W, b, X, y, learning_rate=0.5, alpha=alpha)
    clf.partial_fit(X, y)
    y_hat = expit(X @ W[0] + b[0])
    grad_W = -((y - y_hat) @ X) / len(y) + alpha * W[0]
    grad_b = -np.mean(y - y_hat)
    np.testing.assert_allclose(clf.coef_[0], W[0] - 0.5 * grad_W, rtol=1e-12)
    np.testing.assert_allclose(clf.intercept_, b - 0.5 * grad_b, rtol=1e-12)


def test_one_multiclass_step_uses_the_softmax_gradient():
    """Multi-class: grad = mean((softmax(XW^T + b) - onehot) x); catches normalised
    one-vs-rest sigmoids in place of the softmax."""
    rng = np.random.RandomState(1)
    X, y = rng.normal(size=(9, 2)), np.arange(9) % 3
    W, b = rng.normal(size=(3, 2)), rng.normal(size=3)
    clf = _logistic_from(W, b, X, y, learning_rate=0.2)
    clf.partial_fit(X, y)
    P = softmax(X @ W.T + b, axis=1)
    residual = P - np.eye(3)[y]
    np.testing.assert_allclose(clf.coef_, W - 0.2 * residual.T @ X / 9, rtol=1e-12)
    np.testing.assert_allclose(clf.intercept_, b - 0.2 * residual.mean(axis=0))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_full_batch_loss_curve_is_the_loss_of_each_epochs_weights(iris):
    """Full batch: loss_curve_[k] is the loss of the weights after epoch k, so
    the kept weights' log loss, computed here with scikit-learn, equals
    best_loss_ and the curve's minimum; catches a snapshot taken one step after
    the loss it was chosen on."""
    X, y = iris
    clf = LogisticGD(learning_rate=0.01, max_iter=300, tol=0, random_state=0)
    clf.fit(X, y)
    assert len(clf.loss_curve_) == clf.n_iter_ == 300
    assert np.all(np.diff(clf.loss_curve_) <= 0)  # a small rate descends
    independent = log_loss(y, clf.predict_proba(X))
    assert independent == pytest.approx(clf.best_loss_, rel=1e-10)
    assert independent == pytest.approx(min(clf.loss_curve_), rel=1e-10)


def test_a_rate_too_large_for_unscaled_data_recovers_by_the_adaptive_schedule():
    """Unscaled features (about 1e3) make learning_rate=0.1 overshoot; the default
    'adaptive' schedule lowers the rate (seen in history_) and training still
    separates the blobs, as backtracking did before the engine was shared."""
    X, y = make_blobs(n_samples=100, centers=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticGD(random_state=0).fit(X * 1000, y)
    rates = clf.history_["learning_rate"]
    assert rates.iloc[0] == 0.1 and rates.iloc[-1] < 0.1
    assert np.isfinite(clf.coef_).all()
    assert clf.score(X * 1000, y) > 0.8


def test_the_weights_kept_are_never_worse_than_the_best_recorded_epoch():
    """The issue's case: learning_rate=10 for 3 epochs on iris. The kept model's
    log loss (computed here with scipy from coef_; scikit-learn's log_loss clips
    at 36 per sample) is the lowest of the curve, not a loss one unchecked step
    past it."""
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticGD(learning_rate=10.0, max_iter=3, random_state=0).fit(X, y)
    log_p = log_softmax(X @ clf.coef_.T + clf.intercept_, axis=1)
    independent = -log_p[np.arange(len(y)), y].mean()
    assert independent == pytest.approx(min(clf.loss_curve_), rel=1e-9)
    assert independent == pytest.approx(clf.best_loss_, rel=1e-9)


@pytest.mark.parametrize("batch_size", [None, 4])
def test_heavy_class_weight_dominates(batch_size):
    # With weights 1000 : 1e-4 the model should predict class 0 everywhere. A
    # mini-batch holding only class-1 points must then take a near-zero step:
    # each batch's mean loss is rescaled by its share of the total weight (left
    # normalised per batch, such batches took full steps and 9% went to class 1).
    X, y = make_blobs(n_samples=200, centers=2, cluster_std=3, random_state=0)
    X = StandardScaler().fit_transform(X)
    clf = LogisticGD(
        batch_size=batch_size, class_weight={0: 1000, 1: 1e-4}, random_state=0
    ).fit(X[::2], y[::2])
    assert np.mean(clf.predict(X[1::2]) == 0) > 0.99


def test_partial_fit_balances_with_the_counts_seen_so_far():
    """'balanced' with partial_fit weighs the classes by the counts of all chunks
    seen so far: the same fit as passing compute_class_weight's dicts of the
    first chunk, then of both chunks together (the independent reference)."""
    X, y = make_blobs(n_samples=[30, 10, 5], centers=None, random_state=0)
    first = y < 2  # class 2 absent from the first chunk
    balanced = LogisticGD(class_weight="balanced", random_state=0)
    balanced.partial_fit(X[first], y[first], classes=[0, 1, 2])
    balanced.partial_fit(X, y)

    def weights(labels):
        present = np.unique(labels)
        values = compute_class_weight("balanced", classes=present, y=labels)
        return {0: 1.0, 1: 1.0, 2: 1.0} | dict(zip(present.tolist(), values))

    manual = LogisticGD(class_weight=weights(y[first]), random_state=0)
    manual.partial_fit(X[first], y[first], classes=[0, 1, 2])
    seen = np.concatenate([y[first], y])
    manual.set_params(class_weight=weights(seen)).partial_fit(X, y)
    np.testing.assert_allclose(balanced.coef_, manual.coef_, rtol=1e-12)


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = separable_data()
    perceptron = PerceptronClassifier(verbose=1, random_state=0).fit(X, y)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == perceptron.n_iter_ > 1
    assert [line.split(",")[0] for line in out] == [
        f"Epoch {k}" for k in range(1, perceptron.n_iter_ + 1)
    ]
    assert out[-1].split(", ")[-2] == "errors=0"
    clf = LogisticGD(verbose=1, max_iter=3, tol=0, random_state=0)
    clf.partial_fit(X, y, [0, 1])
    clf.partial_fit(X, y)
    assert capsys.readouterr().out.splitlines()[1].startswith("Epoch 2, loss=")


def test_logistic_diverging_mini_batch_warns_and_keeps_finite_weights():
    """Catches a NaN model (or a crash) after an overflowing step: the estimator
    warns and keeps the initial weights, which predict finite probabilities."""
    X, y = make_blobs(n_samples=40, centers=2, random_state=0)
    clf = LogisticGD(learning_rate=1e308, batch_size=8, random_state=0)
    with pytest.warns(DivergenceWarning, match="diverged at epoch 1"):
        clf.fit(X * 1e3, y)
    assert np.isfinite(clf.coef_).all() and clf.n_iter_ == 0
    assert np.isfinite(clf.predict_proba(X)).all()


def test_logistic_multiclass_iris(iris):
    """predict_proba is the softmax of X coef_^T + intercept_, computed here;
    catches normalised one-vs-rest sigmoids (rows sum to 1 and argmax agree)."""
    X, y = iris
    clf = LogisticGD(random_state=0).fit(X, y)
    assert clf.coef_.shape == (3, 4)
    assert clf.score(X, y) > 0.93
    scores = X @ clf.coef_.T + clf.intercept_
    np.testing.assert_allclose(clf.decision_function(X), scores, rtol=1e-12)
    np.testing.assert_allclose(clf.predict_proba(X), softmax(scores, axis=1))
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[scores.argmax(axis=1)])
    np.testing.assert_allclose(
        clf.predict_log_proba(X), np.log(softmax(scores, axis=1)), atol=1e-12
    )


@pytest.mark.parametrize("batch_size", [None, 16])
def test_logistic_binary_and_mini_batch(batch_size):
    X, y = make_blobs(n_samples=200, centers=2, cluster_std=2.0, random_state=1)
    clf = LogisticGD(batch_size=batch_size, random_state=0).fit(X, y)
    assert clf.coef_.shape == (1, 2) and clf.decision_function(X).shape == (200,)
    assert clf.score(X, y) > 0.95
    np.testing.assert_array_equal(
        clf.predict(X), clf.classes_[(clf.decision_function(X) > 0).astype(int)]
    )


def test_log_proba_is_exact_where_proba_underflows():
    X, y = separable_data()
    clf = LogisticGD(random_state=0).fit(X, y)
    clf.coef_ = clf.coef_ * 1e5
    log_proba = clf.predict_log_proba(X)
    assert np.isfinite(log_proba).all() and log_proba.min() < -1000


def test_l1_gives_exact_zeros_and_l2_shrinks():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 6))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)  # 4 useless features
    plain = LogisticGD(random_state=0).fit(X, y)
    sparse = LogisticGD(l1=0.05, random_state=0).fit(X, y)
    ridge = LogisticGD(alpha=0.5, random_state=0).fit(X, y)
    assert np.count_nonzero(plain.coef_[0, 2:]) == 4
    assert np.count_nonzero(sparse.coef_[0, 2:]) == 0
    assert np.count_nonzero(sparse.coef_[0, :2]) == 2
    assert np.linalg.norm(ridge.coef_) < 0.5 * np.linalg.norm(plain.coef_)


@pytest.mark.parametrize("class_weight", [None, "balanced", {0: 2.0, 1: 1.0, 2: 0.5}])
def test_sample_weight_equals_repeated_rows(class_weight):
    X, y = make_blobs(n_samples=30, centers=3, random_state=0)
    weights = np.random.RandomState(0).randint(0, 4, size=30)
    clf = LogisticGD(class_weight=class_weight, random_state=0)
    weighted = clone(clf).fit(X, y, sample_weight=weights)
    repeated = clone(clf).fit(X.repeat(weights, axis=0), y.repeat(weights))
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X))


def test_class_weight_balanced_matches_manual_dict():
    X, y = make_blobs(n_samples=[60, 20], centers=None, random_state=0)
    weights = compute_class_weight("balanced", classes=np.array([0, 1]), y=y)
    balanced = LogisticGD(class_weight="balanced", random_state=0).fit(X, y)
    manual = LogisticGD(class_weight=dict(enumerate(weights)), random_state=0).fit(X, y)
    np.testing.assert_allclose(balanced.coef_, manual.coef_)
    plain = LogisticGD(random_state=0).fit(X, y)
    minority_recall = np.mean(balanced.predict(X)[y == 1] == 1)
    assert minority_recall >= np.mean(plain.predict(X)[y == 1] == 1)


def test_partial_fit_is_one_epoch_of_fit_and_warm_start_continues():
    X, y = make_blobs(n_samples=50, centers=2, random_state=0)
    one_epoch = LogisticGD(max_iter=1, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(1\)"):
        one_epoch.fit(X, y)
    incremental = LogisticGD(random_state=0).partial_fit(X, y, classes=[0, 1])
    np.testing.assert_array_equal(one_epoch.coef_, incremental.coef_)
    incremental.partial_fit(X, y)
    assert incremental.n_iter_ == len(incremental.loss_curve_) == 2

    warm = LogisticGD(max_iter=5, tol=0, warm_start=True, random_state=0)
    with pytest.warns(ConvergenceWarning):
        warm.fit(X, y)
    with pytest.warns(ConvergenceWarning):
        warm.fit(X, y)
    assert warm.n_iter_ == 10


# --- Input validation (both estimators) ------------------------------------------

ESTIMATORS = [PerceptronClassifier(random_state=0), LogisticGD(random_state=0)]
IDS = ["perceptron", "logistic"]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
@pytest.mark.parametrize(
    "X, error, match",
    [
        ([[0.0, np.nan], [1.0, 1.0]], ValueError, "NaN"),
        ([[0.0, np.inf], [1.0, 1.0]], ValueError, "infinity"),
        (np.empty((0, 2)), ValueError, "0 sample"),
        (np.empty((2, 0)), ValueError, "0 feature"),
        ([["a", "b"], ["c", "d"]], ValueError, "could not convert string"),
        ([0.0, 1.0], ValueError, "Reshape your data"),
    ],
    ids=["nan", "inf", "no-samples", "no-features", "strings", "1d"],
)
def test_fit_rejects_bad_X(estimator, X, error, match):
    estimator = clone(estimator)
    with pytest.raises(error, match=match):
        estimator.fit(X, [0, 1][: len(X)])


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_prediction_errors(estimator):
    estimator = clone(estimator)
    X, y = separable_data(n_features=3)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        estimator.predict(X)
    fitted = estimator.fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but .* expecting 3"):
        fitted.predict(np.ones((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        fitted.predict_proba([[np.nan, 0.0, 1.0]])


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_target_errors(estimator):
    estimator = clone(estimator)
    X = np.arange(8.0).reshape(4, 2)
    with pytest.raises(ValueError, match="only one class"):
        estimator.fit(X, [1, 1, 1, 1])
    with pytest.raises(ValueError, match="Unknown label type"):
        estimator.fit(X, [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="`classes` must be passed on the first call"):
        estimator.partial_fit(X, [0, 1, 0, 1])
    fitted = estimator.partial_fit(X, [0, 1, 0, 1], classes=[0, 1])
    with pytest.raises(ValueError, match=r"classes \[2\] not seen in the first fit"):
        fitted.partial_fit(X, [0, 1, 2, 1])


def test_sample_weight_errors():
    X, y = make_blobs(n_samples=20, centers=2, random_state=0)
    clf = LogisticGD()
    with pytest.raises(ValueError, match="at least one non-zero"):
        clf.fit(X, y, sample_weight=np.zeros(20))
    with pytest.raises(ValueError, match="Negative values"):
        clf.fit(X, y, sample_weight=-np.ones(20))
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(10,\)"):
        clf.fit(X, y, sample_weight=np.ones(10))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_bad_parameters_are_rejected_at_fit(estimator):
    estimator = clone(estimator)
    X, y = make_blobs(n_samples=20, centers=2, random_state=0)
    with pytest.raises(
        ValueError, match=r"'learning_rate' parameter .* range \(0.0, inf\)"
    ):
        estimator.set_params(learning_rate=-1.0).fit(X, y)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_pandas_feature_names(estimator):
    estimator = clone(estimator)
    import pandas as pd

    X, y = separable_data(n_features=2)
    frame = pd.DataFrame(X, columns=["height", "weight"])
    fitted = estimator.fit(frame, pd.Series(np.array(["no", "yes"])[y]))
    np.testing.assert_array_equal(fitted.feature_names_in_, ["height", "weight"])
    with pytest.raises(ValueError, match="feature names should match"):
        fitted.predict(frame[["weight", "height"]])
    assert set(fitted.predict(frame)) <= {"no", "yes"}
