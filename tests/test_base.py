"""What skdeep/_base.py (BaseNetwork) promises every estimator, from the user's side.

Every estimator -- PerceptronClassifier, LogisticGD, MLPNetClassifier,
MLPNetRegressor, ConvNetClassifier -- trains through the one base and the one
epoch loop, so the shared vocabulary (DESIGN.md) must mean the same thing on
each: ``l1``, divergence, ``n_iter_no_change``, ``class_weight`` with
``partial_fit``, ``shuffle``, ``learning_rate_schedule``, warnings, validation
data, Ctrl-C, ``max_norm``, ``dtype`` and restarts.

Each test compares with an independent reference -- a loss recomputed here from
``get_weights()`` with numpy/scipy, a rule re-implemented here, a second
estimator configured to be equivalent, a hand count -- and its docstring names
the bug it catches. The loop pieces have their own tests
(tests/nn/test_training.py, tests/nn/test_trainer.py), the linear models theirs
(tests/test_linear.py); they are not repeated here.
"""

import signal
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
import sklearn
from _engine import Callback, RecordRestarts
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import expit, log_expit, log_softmax
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.class_weight import compute_class_weight

from skdeep import (
    ConvNetClassifier,
    LogisticGD,
    MLPNetClassifier,
    MLPNetRegressor,
    PerceptronClassifier,
)
from skdeep.exceptions import DivergenceWarning, TrainingInterruptedWarning
from skdeep.layers import Conv2D, Flatten
from skdeep.optimizers import SGD

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# ---------------------------------------------------------------------------
# Data, estimators and the independent losses
# ---------------------------------------------------------------------------

_RNG = np.random.default_rng(0)
X = _RNG.normal(size=(40, 4))
Y = (X[:, 0] + 0.5 * X[:, 1] + 0.7 * _RNG.normal(size=40) > 0).astype(int)
Y_REG = X[:, 0] - X[:, 1] + 0.3 * _RNG.normal(size=40)
X_VAL = _RNG.normal(size=(30, 4))
Y_VAL = (X_VAL[:, 0] + 0.5 * X_VAL[:, 1] + 0.7 * _RNG.normal(size=30) > 0).astype(int)
Y_VAL_REG = X_VAL[:, 0] - X_VAL[:, 1] + 0.3 * _RNG.normal(size=30)

ALL = [
    "PerceptronClassifier",
    "LogisticGD",
    "MLPNetClassifier",
    "MLPNetRegressor",
    "ConvNetClassifier",
]
GRADIENT_TRAINED = ALL[1:]  # the perceptron's rule has no optimizer or schedule


def make(name, **params):
    """A tiny float64 instance of ``name``. The MLPs and the ConvNet get an L2
    penalty, so that the losses recomputed here must include it."""
    estimator = {
        "PerceptronClassifier": lambda: PerceptronClassifier(),
        "LogisticGD": lambda: LogisticGD(learning_rate_schedule="constant"),
        "MLPNetClassifier": lambda: MLPNetClassifier((4,), alpha=1e-3),
        "MLPNetRegressor": lambda: MLPNetRegressor((4,), alpha=1e-3),
        # Rows of 4 features are read as (1, 4, 1) signals.
        "ConvNetClassifier": lambda: ConvNetClassifier(
            [Conv2D(2, (1, 2)), Flatten()], alpha=1e-3
        ),
    }[name]()
    if name == "PerceptronClassifier":
        params.pop("batch_size", None)  # the rule updates point by point
    return estimator.set_params(**{"random_state": 0, "dtype": np.float64, **params})


def targets(name, validation=False):
    if name == "MLPNetRegressor":
        return Y_VAL_REG if validation else Y_REG
    return Y_VAL if validation else Y


def logits(name, weights, X):
    """The network's outputs, computed here with numpy from ``get_weights()``."""
    if name in ("LogisticGD", "PerceptronClassifier"):
        W, b = weights
        return X @ W + b
    if name == "ConvNetClassifier":
        # Conv2D(filters, (1, kw)) on (1, 4, 1) signals, 'valid', no activation,
        # then Flatten (width-major, channels last) and the output Dense.
        kernel, bias, W, b = weights
        windows = sliding_window_view(X, kernel.shape[1], axis=1)  # (n, 3, kw)
        maps = np.einsum("njk,kf->njf", windows, kernel[0, :, 0, :]) + bias
        return maps.reshape(len(X), -1) @ W + b
    hidden = X  # an MLP: ReLU hidden layers, linear output
    for W, b in zip(weights[:-2:2], weights[1:-2:2]):
        hidden = np.maximum(hidden @ W + b, 0)
    return hidden @ weights[-2] + weights[-1]


def monitored_loss(name, estimator, X, y, sample_weight=None):
    """The estimator's loss (penalties in) of its current weights on ``(X, y)``,
    computed independently in float64: the binary / multi-class cross-entropy
    from the logits with scipy, half the squared error, or the perceptron
    criterion, plus ``0.5 * alpha * sum W**2 + l1 * sum |W|`` over the weight
    matrices (not the biases)."""
    weights = [np.asarray(w, dtype=np.float64) for w in estimator.get_weights()]
    Z = logits(name, weights, X)
    if name == "MLPNetRegressor":
        per_sample = 0.5 * (Z.ravel() - y) ** 2
    else:
        index = np.searchsorted(estimator.classes_, y)
        if name == "PerceptronClassifier":
            per_sample = np.maximum(0, -(2 * index - 1) * Z.ravel())
        elif Z.shape[1] == 1:
            z = Z.ravel()
            per_sample = -(index * log_expit(z) + (1 - index) * log_expit(-z))
        else:
            per_sample = -log_softmax(Z, axis=1)[np.arange(len(y)), index]
    loss = np.average(per_sample, weights=sample_weight)
    matrices = weights[::2]  # every layer here has exactly (W, b)
    alpha = getattr(estimator, "alpha", 0.0)
    l1 = getattr(estimator, "l1", 0.0)
    loss += 0.5 * alpha * sum(float((W**2).sum()) for W in matrices)
    loss += l1 * sum(float(np.abs(W).sum()) for W in matrices)
    return float(loss)


def same_weights(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))


class CountingSGD(SGD):
    """SGD that counts its steps (class-level: the estimator fits a clone)."""

    steps = 0

    def step(self, params, grads):
        type(self).steps += 1
        super().step(params, grads)


class CtrlCSGD(CountingSGD):
    """Counting SGD that presses Ctrl-C during its step number ``at`` (a press
    in the middle of a batch: the step still completes)."""

    at = None

    def step(self, params, grads):
        super().step(params, grads)
        if type(self).steps == type(self).at:
            signal.raise_signal(signal.SIGINT)


class CtrlC(Callback):
    """A sklearn.callback callback that presses Ctrl-C ``times`` times at the
    beginning or the end (``hook``) of the epoch task ``at`` (0-based, per call)."""

    def __init__(self, at=None, times=1, hook="end"):
        self.at, self.times, self.hook = at, times, hook

    def _press(self, context, hook):
        if hook == self.hook and context.task_name == "epoch":
            if context.task_id == self.at:
                for _ in range(self.times):
                    signal.raise_signal(signal.SIGINT)

    def on_fit_task_begin(self, estimator, context):
        self._press(context, "begin")

    def on_fit_task_end(self, estimator, context):
        self._press(context, "end")
        return False


def ctrl_c_at(epoch, times=1):
    """A learning_rate_schedule that presses Ctrl-C before epoch ``epoch``."""

    def schedule(current_epoch, rate):
        if current_epoch == epoch:
            for _ in range(times):
                signal.raise_signal(signal.SIGINT)
        return rate

    return schedule


# ---------------------------------------------------------------------------
# l1 is a proximal step everywhere: exact zeros
# ---------------------------------------------------------------------------

_SPARSE_X = _RNG.normal(size=(80, 8))
_SPARSE_Y = (_SPARSE_X[:, 0] - _SPARSE_X[:, 1] > 0).astype(int)  # 6 useless features


@pytest.mark.parametrize(
    "optimizer, learning_rate",
    [
        ("sgd", 0.1),
        ("adam", 0.01),
    ],
)
def test_l1_zeroes_more_first_layer_weights_as_it_grows(optimizer, learning_rate):
    """MLPNetClassifier's first layer goes sparse, more so as ``l1`` grows:
    no exact zero at l1=0, some at 1e-2, more at 1e-1 (counted here).

    Catches: ``l1`` as a sign subgradient (weights hover around 0, never exactly
    0: the issue's 0 of 160), or a proximal step that does not bite.
    """
    zeros = []
    for l1 in [0.0, 1e-3, 1e-2, 1e-1]:
        net = MLPNetClassifier(
            (16,),
            optimizer=optimizer,
            learning_rate=learning_rate,
            l1=l1,
            batch_size=20,
            max_iter=50,
            random_state=0,
        ).fit(_SPARSE_X, _SPARSE_Y)
        zeros.append(int(np.sum(net.coefs_[0] == 0)))
    assert zeros[0] == 0
    assert zeros == sorted(zeros), zeros
    assert 0 < zeros[2] < zeros[3], zeros


@pytest.mark.parametrize(
    "name, params",
    [
        ("ConvNetClassifier", {"optimizer": "sgd", "learning_rate": 0.1}),
        ("ConvNetClassifier", {"learning_rate": 0.01}),  # its default: rmsprop
        ("MLPNetRegressor", {"optimizer": "sgd", "learning_rate": 0.05}),
    ],
    ids=["convnet-sgd", "convnet-rmsprop", "mlp-regressor-sgd"],
)
def test_l1_gives_exact_zeros_on_every_estimator(name, params):
    """The same fit with l1=0.1 has exact zeros in its weight matrices, without
    l1 none. (LogisticGD with sgd: tests/test_linear.py.)

    Catches: an estimator whose ``l1`` is not the shared proximal step.
    """
    y = Y_REG if name == "MLPNetRegressor" else Y
    settings = {"batch_size": 10, "max_iter": 40, "alpha": 0.0, **params}
    plain = make(name, l1=0.0, **settings).fit(X, y)
    sparse = make(name, l1=0.1, **settings).fit(X, y)
    assert exact_zeros(plain) == 0
    assert exact_zeros(sparse) > 0


def exact_zeros(estimator):
    """The number of exact zeros in the weight matrices (not the biases)."""
    return sum(int(np.sum(W == 0)) for W in estimator.get_weights()[::2])


@pytest.mark.parametrize(
    "optimizer, learning_rate",
    [("sgd", 0.5), ("adam", 0.05)],
)
def test_l1_reaches_the_optimum_of_the_l1_penalised_loss(optimizer, learning_rate):
    """LogisticGD with l1 and tol=0 ends at the minimum of ``mean log loss +
    l1 * sum |w|``: scikit-learn's LogisticRegression(l1_ratio=1,
    C=1 / (l1 * n), solver='saga') (the reference) reaches the same objective,
    with exact zeros in the same places (the two useless features here).

    Catches: a proximal step that is not the prox of this penalty (with adam
    today the loss climbs away from its best epoch and the zeros never come).
    """
    l1 = 0.05
    reference = LogisticRegression(
        l1_ratio=1.0, C=1 / (l1 * len(Y)), solver="saga", tol=1e-12, max_iter=100_000
    ).fit(X, Y)
    ours = LogisticGD(
        l1=l1,
        optimizer=optimizer,
        learning_rate=learning_rate,
        learning_rate_schedule="constant",
        max_iter=1000,
        n_iter_no_change=1000,
        tol=0.0,
        random_state=0,
    ).fit(X, Y)

    def objective(coef, intercept):
        z = X @ coef.ravel() + intercept
        log_loss = -np.mean(Y * log_expit(z) + (1 - Y) * log_expit(-z))
        return log_loss + l1 * np.abs(coef).sum()

    expected = objective(reference.coef_, reference.intercept_)
    assert objective(ours.coef_, ours.intercept_) == pytest.approx(expected, rel=1e-9)
    assert np.sum(reference.coef_ == 0) == 2
    np.testing.assert_array_equal(ours.coef_ == 0, reference.coef_ == 0)


# ---------------------------------------------------------------------------
# Divergence: warn, keep the best finite weights, never crash
# ---------------------------------------------------------------------------


def test_identity_regressor_with_early_stopping_diverges_without_crashing():
    """Issue 13's crash: this fit raised ``TypeError: must be real number, not
    NoneType``. It must warn DivergenceWarning (naming the estimator, at this
    line) and predict finite values.

    Catches: the crash, or NaN predictions after a divergence.
    """
    X_iris, y_iris = load_iris(return_X_y=True)
    reg = MLPNetRegressor(
        activation="identity",
        optimizer="sgd",
        learning_rate=1.0,
        early_stopping=True,
        random_state=0,
    )
    with pytest.warns(DivergenceWarning, match="MLPNetRegressor") as record:
        reg.fit(X_iris, y_iris)
    assert {w.filename for w in record if w.category is DivergenceWarning} == {__file__}
    assert np.isfinite(reg.predict(X_iris)).all()
    assert np.isfinite(reg.best_loss_) and np.isfinite(reg.loss_curve_).all()


@pytest.mark.parametrize("random_state", [0, 1, 2, 3])
def test_full_batch_keeps_the_weights_whose_loss_it_recorded(random_state):
    """Issue 13's case: full-batch SGD at learning_rate=10 on raw iris. The log
    loss of the kept weights, recomputed in float64 from get_weights() (with the
    L2 penalty ``1e-4 * 0.5 * sum W**2``), equals best_loss_ and the minimum of
    loss_curve_.

    Catches: a snapshot taken after the step whose pre-step loss was recorded
    (restored weights of loss 24 reported as 4.15).
    """
    X_iris, y_iris = load_iris(return_X_y=True)
    clf = MLPNetClassifier(
        (8,),
        batch_size=None,
        optimizer="sgd",
        learning_rate=10.0,
        max_iter=5,
        dtype=np.float64,
        random_state=random_state,
    ).fit(X_iris, y_iris)
    kept = monitored_loss("MLPNetClassifier", clf, X_iris, y_iris)
    assert kept == pytest.approx(clf.best_loss_, rel=1e-9)
    assert kept == pytest.approx(min(clf.loss_curve_), rel=1e-9)
    assert clf.best_epoch_ == int(np.argmin(clf.loss_curve_)) + 1


# Full-batch settings whose loss curve goes up and down (too large a step), so
# the kept epoch is not the last one.
_OSCILLATING = {
    "PerceptronClassifier": {"learning_rate": 1.0, "max_iter": 12},
    "LogisticGD": {"optimizer": "sgd", "learning_rate": 40.0, "max_iter": 12},
    "MLPNetClassifier": {"optimizer": "sgd", "learning_rate": 8.0, "max_iter": 12},
    "MLPNetRegressor": {"optimizer": "sgd", "learning_rate": 0.9, "max_iter": 12},
    "ConvNetClassifier": {"optimizer": "sgd", "learning_rate": 15.0, "max_iter": 12},
}


@pytest.mark.parametrize("name", ALL)
def test_the_kept_model_is_never_worse_than_the_best_recorded_epoch(name):
    """Full-batch training with a step too large: the loss of the kept weights,
    recomputed here, is the lowest of loss_curve_ and equals best_loss_, even
    though later epochs were worse.

    Catches: an estimator that returns the last weights, or weights one
    unchecked step past the best epoch.
    """
    settings = {"n_iter_no_change": 100, **_OSCILLATING[name]}
    if name != "PerceptronClassifier":
        settings["batch_size"] = None
    est = make(name, **settings)
    y = targets(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)  # large, yet finite
        est.fit(X, y)
    curve = np.asarray(est.loss_curve_)
    assert est.best_epoch_ < est.n_iter_, "the curve should rise after its best"
    kept = monitored_loss(name, est, X, y)
    assert kept == pytest.approx(curve.min(), rel=1e-9)
    assert kept == pytest.approx(est.best_loss_, rel=1e-9)


# ---------------------------------------------------------------------------
# n_iter_no_change: epochs without improvement of the monitored loss
# ---------------------------------------------------------------------------

_NOISY = {  # mini-batch settings whose monitored loss stops improving early
    "PerceptronClassifier": {"learning_rate": 1.0},
    "LogisticGD": {"learning_rate": 0.5, "batch_size": 8},
    "MLPNetClassifier": {"learning_rate": 0.05, "batch_size": 8},
    "MLPNetRegressor": {"learning_rate": 0.05, "batch_size": 8},
    "ConvNetClassifier": {"learning_rate": 0.05, "batch_size": 8},
}


def stopping_rule(monitored, patience, tol):
    """Our own statement of the rule: an epoch improves if its loss is below the
    best so far by more than ``tol``; training stops after ``patience`` epochs
    in a row without improvement. Returns (best epoch, stop epoch or None)."""
    best, best_epoch, wait = np.inf, None, 0
    for epoch, value in enumerate(monitored, start=1):
        if best_epoch is None or value < best - tol:
            best, best_epoch, wait = value, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return best_epoch, epoch
    return best_epoch, None


@pytest.mark.parametrize("early_stopping", [False, True], ids=["loss", "val_loss"])
@pytest.mark.parametrize("name", ALL)
def test_n_iter_no_change_counts_epochs_without_improvement(name, early_stopping):
    """With tol=0: training stops ``n_iter_no_change`` epochs after the best
    one, and best_epoch_ is the argmin of the monitored history column (the
    training loss, or val_loss with early_stopping).

    Catches: counting errors or the training loss when validation is
    monitored (the perceptron and LogisticGD used to), an off-by-one in the
    patience, a best epoch that is not the lowest monitored loss.
    """
    est = make(
        name,
        max_iter=100,
        n_iter_no_change=3,
        tol=0.0,
        early_stopping=early_stopping,
        **_NOISY[name],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # it stops early
        est.fit(X, targets(name))
    column = est.history_["val_loss" if early_stopping else "loss"]
    assert est.n_iter_ < 100
    assert est.n_iter_ == est.best_epoch_ + 3
    assert est.best_epoch_ == column.idxmin()
    assert len(column) == est.n_iter_


@pytest.mark.parametrize(
    "name", ["LogisticGD", "MLPNetClassifier", "PerceptronClassifier"]
)
def test_tol_is_the_improvement_n_iter_no_change_waits_for(name):
    """With tol=0.02 the stop epoch and the kept epoch are those of our own
    statement of the rule applied to history_'s loss column.

    Catches: ``tol`` ignored or applied the other way (an epoch better by less
    than tol counted as an improvement).
    """
    est = make(name, max_iter=100, n_iter_no_change=3, tol=0.02, **_NOISY[name])
    est.fit(X, Y)
    best_epoch, stop_epoch = stopping_rule(est.history_["loss"].to_numpy(), 3, 0.02)
    assert (est.best_epoch_, est.n_iter_) == (best_epoch, stop_epoch)


# ---------------------------------------------------------------------------
# class_weight='balanced' with partial_fit: the counts of all chunks seen
# ---------------------------------------------------------------------------


def _balanced(labels, sample_weight=None):
    """compute_class_weight's 'balanced' dict for the labels present (an absent
    class weighs no row, so its weight does not matter)."""
    present = np.unique(labels)
    values = compute_class_weight(
        "balanced", classes=present, y=labels, sample_weight=sample_weight
    )
    return {0: 1.0, 1: 1.0, 2: 1.0} | dict(zip(present.tolist(), values))


# 3 unbalanced classes; class 2 (6 rows) is absent from the first chunk.
_Y3 = np.where((X[:, 2] > 0.5) & (np.arange(40) >= 12), 2, Y)
_CHUNKS = [np.arange(0, 12), np.arange(12, 40), np.arange(40)]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize(
    "name", ["PerceptronClassifier", "MLPNetClassifier", "ConvNetClassifier"]
)
def test_balanced_partial_fit_weighs_by_the_counts_of_all_chunks_seen(name, weighted):
    """'balanced' over three partial_fit chunks (class 2 absent from the first)
    trains exactly like dict class weights computed by compute_class_weight on
    the concatenation of the chunks seen so far (sample weights included).

    Catches: partial_fit refusing 'balanced' (the networks raised), balancing
    each chunk on its own, or counting rows instead of their weights.
    """
    assert 2 not in _Y3[_CHUNKS[0]] and np.bincount(_Y3).min() >= 5
    sample_weight = np.linspace(0.5, 2.0, 40) if weighted else np.ones(40)
    balanced = make(name, class_weight="balanced", batch_size=10)
    manual = make(name, batch_size=10)
    seen_y, seen_w = [], []
    for i, rows in enumerate(_CHUNKS):
        seen_y.append(_Y3[rows])
        seen_w.append(sample_weight[rows])
        weights = _balanced(np.concatenate(seen_y), np.concatenate(seen_w))
        classes = [0, 1, 2] if i == 0 else None
        fit_args = (X[rows], _Y3[rows])
        balanced.partial_fit(
            *fit_args, classes=classes, sample_weight=sample_weight[rows]
        )
        manual.set_params(class_weight=weights)
        manual.partial_fit(
            *fit_args, classes=classes, sample_weight=sample_weight[rows]
        )
    for ours, reference in zip(balanced.get_weights(), manual.get_weights()):
        np.testing.assert_allclose(ours, reference, rtol=1e-10, atol=1e-12)
    unweighted = make(name, batch_size=10)
    for i, rows in enumerate(_CHUNKS):
        unweighted.partial_fit(
            X[rows], _Y3[rows], classes=[0, 1, 2] if i == 0 else None
        )
    assert not same_weights(balanced, unweighted)  # the class weights did act


# ---------------------------------------------------------------------------
# shuffle
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_every_estimator_has_shuffle(name):
    """Catches: an estimator without the shared ``shuffle`` (the MLPs had none)."""
    assert make(name).get_params()["shuffle"] is True


@pytest.mark.parametrize("name", ALL)
def test_shuffle_false_makes_training_independent_of_the_random_state(name):
    """Two estimators with different random_state, given the same weights
    (set_weights, then a warm-start fit of 3 mini-batch epochs): with
    shuffle=False nothing else is random, so they end identical; with
    shuffle=True their batch orders, hence their weights, differ.

    Catches: ``shuffle=False`` ignored (rows still drawn at random), or
    ``shuffle=True`` not shuffling.
    """
    y = targets(name)
    start = make(name, random_state=42, max_iter=1).fit(X, y).get_weights()
    batch = {} if name == "PerceptronClassifier" else {"batch_size": 8}
    for shuffle in [False, True]:
        fits = []
        for random_state in [0, 1]:
            est = make(
                name,
                random_state=random_state,
                shuffle=shuffle,
                warm_start=True,
                max_iter=1,
                **batch,
            ).fit(X, y)
            est.set_weights(start)
            fits.append(est.set_params(max_iter=3).fit(X, y))
        assert same_weights(*fits) is (not shuffle)


# ---------------------------------------------------------------------------
# learning_rate_schedule
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", GRADIENT_TRAINED)
def test_invscaling_rate_is_learning_rate_over_root_of_samples_seen(name):
    """'invscaling': the rate of each epoch in history_ is
    ``learning_rate / (t + 1) ** 0.5``, t the rows seen in earlier epochs.

    Catches: t counted in epochs or batches, or the rate not recorded.
    """
    est = make(name, learning_rate=0.2, learning_rate_schedule="invscaling", max_iter=4)
    est.set_params(batch_size=8).fit(X, targets(name))
    expected = [0.2 / (1 + 40 * epoch) ** 0.5 for epoch in range(4)]
    np.testing.assert_allclose(est.history_["learning_rate"], expected, rtol=1e-12)


def test_invscaling_counts_the_rows_of_every_partial_fit_call():
    """Chunks of 10, 15 and 40 rows: t is 0, 10, 25 before each call.

    Catches: samples_seen reset by each partial_fit call.
    """
    net = make(
        "MLPNetClassifier", learning_rate=0.2, learning_rate_schedule="invscaling"
    )
    net.partial_fit(X[:10], Y[:10], classes=[0, 1])
    net.partial_fit(X[10:25], Y[10:25])
    net.partial_fit(X, Y)
    expected = [0.2 / (1 + t) ** 0.5 for t in (0, 10, 25)]
    np.testing.assert_allclose(net.history_["learning_rate"], expected, rtol=1e-12)


# The regressor's squared error falls steadily at the _NOISY rate: a larger
# step makes it stall, so that the rule acts.
_ADAPTIVE = {**_NOISY, "MLPNetRegressor": {"learning_rate": 0.2, "batch_size": 8}}


def adaptive_rates(monitored, learning_rate, tol):
    """Our own statement of 'adaptive': keep the rate while the monitored loss
    improves by more than ``tol``; after 2 epochs in a row without, divide it by
    5 and count again. Returns the rate each epoch ran with."""
    rates, best, wait, rate = [], np.inf, 0, learning_rate
    for epoch, value in enumerate(monitored):
        rates.append(rate)
        if epoch == 0 or value < best - tol:
            best, wait = value, 0
        else:
            wait += 1
            if wait == 2:
                rate, wait = rate / 5, 0
    return rates


@pytest.mark.parametrize("early_stopping", [False, True], ids=["loss", "val_loss"])
@pytest.mark.parametrize("name", GRADIENT_TRAINED)
def test_adaptive_divides_the_rate_by_5_after_2_epochs_without_improvement(
    name, early_stopping
):
    """'adaptive': history_'s rates are those our own statement of the rule
    derives from history_'s monitored column (val_loss with early_stopping),
    and the rule did act (the rate changed at least once).

    Catches: a patience other than 2, a factor other than 5, ``tol`` ignored,
    or the training loss watched when validation is monitored.
    """
    est = make(
        name,
        learning_rate_schedule="adaptive",
        tol=0.05,
        max_iter=15,
        n_iter_no_change=100,
        early_stopping=early_stopping,
        **_ADAPTIVE[name],
    ).fit(X, targets(name))
    history = est.history_
    monitored = history["val_loss" if early_stopping else "loss"].to_numpy()
    expected = adaptive_rates(monitored, est.learning_rate, tol=0.05)
    assert len(set(expected)) > 1
    np.testing.assert_allclose(history["learning_rate"], expected, rtol=1e-12)


class RecordingSchedule:
    """A callable schedule recording its calls; returns 0.1 / (epoch + 1)."""

    def __init__(self):
        self.calls = []

    def __call__(self, epoch, rate):
        self.calls.append((epoch, rate))
        return 0.1 / (epoch + 1)


@pytest.mark.parametrize("name", GRADIENT_TRAINED)
def test_a_callable_schedule_is_called_before_each_epoch(name):
    """A callable is called with (0, learning_rate), (1, its last rate), ...,
    its rates appear in history_, and partial_fit calls continue the count.

    Catches: epochs counted from 1 or restarted by each partial_fit call, the
    initial rate passed every time, or rates not recorded.
    """
    schedule = RecordingSchedule()
    est = make(name, learning_rate=0.3, learning_rate_schedule=schedule, max_iter=3)
    est.fit(X, targets(name))
    assert schedule.calls == [(0, 0.3), (1, 0.1), (2, 0.05)]
    np.testing.assert_allclose(est.history_["learning_rate"], [0.1, 0.05, 0.1 / 3])

    schedule = RecordingSchedule()
    est = make(name, learning_rate=0.3, learning_rate_schedule=schedule)
    classes = {} if name == "MLPNetRegressor" else {"classes": [0, 1]}
    for _ in range(3):
        est.partial_fit(X, targets(name), **classes)
    assert schedule.calls == [(0, 0.3), (1, 0.1), (2, 0.05)]


def test_the_optimizer_steps_with_the_scheduled_rate():
    """One full-batch SGD step of LogisticGD from the same initial weights W0
    with scheduled rates r1 and r2 (the constructor's learning_rate is 1):
    ``W_i = W0 - r_i g``, so ``g = (W1 - W2) / (r2 - r1)`` and
    ``W0 = W1 + r1 g``; g must be the notes' gradient at W0,
    ``X.T (sigmoid(X W0 + b0) - y) / n`` (computed here).

    Catches: a rate recorded in history_ but not given to the optimizer.
    """
    r1, r2 = 0.05, 0.2
    fits = [
        LogisticGD(
            learning_rate=1.0,
            learning_rate_schedule=lambda epoch, rate, r=r: r,
            max_iter=1,
            random_state=0,
        ).fit(X, Y)
        for r in (r1, r2)
    ]
    (W1, b1), (W2, b2) = (fit.get_weights() for fit in fits)
    gW, gb = (W1 - W2) / (r2 - r1), (b1 - b2) / (r2 - r1)
    W0, b0 = W1 + r1 * gW, b1 + r1 * gb
    residual = expit(X @ W0 + b0) - Y[:, None]
    np.testing.assert_allclose(gW, X.T @ residual / len(Y), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(gb, residual.mean(axis=0), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize(
    "change",
    [{"learning_rate": 0.5}, {"learning_rate_schedule": "invscaling"}],
    ids=["learning_rate", "schedule"],
)
def test_a_warm_start_fit_uses_the_parameters_it_is_given(change):
    """warm_start=True, fit at learning_rate=0.01, set_params(change), fit again:
    the second fit's epochs run at the new rate (0.5, or 0.01 / (t + 1) ** 0.5
    with t = 80, 120 rows seen).

    Catches: the schedule (and its rate) of the first fit carried into the next.
    """
    net = make("MLPNetClassifier", learning_rate=0.01, max_iter=2, warm_start=True)
    net.fit(X, Y).set_params(**change).fit(X, Y)
    if "learning_rate" in change:
        expected = [0.5, 0.5]
    else:
        expected = [0.01 / (1 + t) ** 0.5 for t in (80, 120)]
    np.testing.assert_allclose(net.history_["learning_rate"].iloc[2:], expected)


# ---------------------------------------------------------------------------
# Warnings point at the user's line and name the estimator
# ---------------------------------------------------------------------------


def _warnings_of(category, record):
    return [w for w in record if issubclass(w.category, category)]


@pytest.mark.parametrize("name", ALL)
def test_convergence_warning_points_at_the_users_line(name):
    """max_iter reached: one ConvergenceWarning naming the estimator, attributed
    to this file, also when the estimator is fitted inside a Pipeline.

    Catches: a warning attributed to sklearn/base.py (``_fit_context``),
    sklearn/pipeline.py or skdeep, or one that does not say which estimator.
    """
    est = make(name, max_iter=2, n_iter_no_change=100, tol=0.0, batch_size=8)
    for model in (est, make_pipeline(StandardScaler(), est)):
        with pytest.warns(ConvergenceWarning) as record:
            model.fit(X, targets(name))
        caught = _warnings_of(ConvergenceWarning, record)
        assert len(caught) == 1
        assert caught[0].filename == __file__
        assert name in str(caught[0].message)


_DIVERGING = {
    "PerceptronClassifier": (PerceptronClassifier(learning_rate=1e300), 1e10),
    "LogisticGD": (LogisticGD(learning_rate=1e30, dtype=np.float32), 1e10),
    "MLPNetClassifier": (
        MLPNetClassifier((4,), optimizer="sgd", learning_rate=1e10),
        1e10,
    ),
    "MLPNetRegressor": (MLPNetRegressor((4,), optimizer="sgd", learning_rate=1e4), 100),
    "ConvNetClassifier": (
        ConvNetClassifier(
            [Conv2D(2, (1, 2)), Flatten()], optimizer="sgd", learning_rate=1e10
        ),
        1e10,
    ),
}


def _diverging(name):
    estimator, scale = _DIVERGING[name]
    estimator = clone(estimator).set_params(max_iter=20, random_state=0)
    if name == "MLPNetRegressor":
        return estimator, X, X[:, 0] * scale
    return estimator, X * scale, Y


@pytest.mark.parametrize("name", ALL)
def test_divergence_warning_points_at_the_users_line(name):
    """A diverging fit warns DivergenceWarning naming the estimator, attributed
    to this file (directly and inside a Pipeline), and the model is finite.

    Catches: a warning attributed to skdeep or scikit-learn, or NaN weights kept.
    """
    est, X_big, y = _diverging(name)
    identity = FunctionTransformer()
    for model in (est, make_pipeline(identity, est)):
        with pytest.warns(DivergenceWarning) as record:
            model.fit(X_big, y)
        for caught in _warnings_of(DivergenceWarning, record):
            assert caught.filename == __file__
            assert name in str(caught.message)
        assert np.isfinite(model.predict(X_big)).all()


def test_warnings_inside_cross_val_score_point_at_the_users_line():
    """cross_val_score(est, ...): the DivergenceWarning of each fold is
    attributed to this file, where the user called cross_val_score.

    Catches: frames of the libraries between the user and the fit (joblib)
    taken for the user's line.
    """
    est, X_big, y = _diverging("MLPNetRegressor")
    with pytest.warns(DivergenceWarning) as record:
        cross_val_score(est, X_big, y, cv=2)
    assert {w.filename for w in _warnings_of(DivergenceWarning, record)} == {__file__}


# ---------------------------------------------------------------------------
# Validation data of one's own: fit(X, y, X_val=, y_val=, sample_weight_val=)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_fit_with_validation_data_on_a_new_estimator(name):
    """The plainest use: a new estimator, fit with X_val and y_val; history_ has
    a finite val_loss every epoch.

    Catches: validation data that only work on an already-fitted estimator.
    """
    est = make(name, max_iter=3, n_iter_no_change=100, batch_size=8)
    est.fit(X, targets(name), X_val=X_VAL, y_val=targets(name, validation=True))
    assert np.isfinite(est.history_["val_loss"]).all()


@pytest.mark.parametrize("name", ["LogisticGD", "MLPNetClassifier", "MLPNetRegressor"])
def test_val_loss_and_val_score_are_those_of_each_epochs_model(name):
    """With restore_best_weights=False a fit of k epochs keeps the k-th epoch's
    model; its loss on X_val (recomputed here) and its score (accuracy_score,
    or R^2) are history_'s val_loss and val_score of epoch k, for k = 1..4.

    Catches: validation measured before the epoch's step, on the training
    data, or with another model than the epoch's.
    """
    y, y_val = targets(name), targets(name, validation=True)
    settings = {"restore_best_weights": False, "n_iter_no_change": 100, "batch_size": 8}
    full = make(name, max_iter=4, **settings).fit(X, y, X_val=X_VAL, y_val=y_val)
    for k in range(1, 5):
        est = make(name, max_iter=k, **settings).fit(X, y, X_val=X_VAL, y_val=y_val)
        row = full.history_.loc[k]
        assert monitored_loss(name, est, X_VAL, y_val) == pytest.approx(
            row["val_loss"], rel=1e-9
        )
        if name == "MLPNetRegressor":
            score = r2_score(y_val, est.predict(X_VAL))
        else:
            score = accuracy_score(y_val, est.predict(X_VAL))
        assert score == pytest.approx(row["val_score"], rel=1e-9)


# Validation targets that follow another rule than the training ones, so that
# the lowest validation loss and the lowest training loss fall on other epochs.
_Y_VAL_OTHER = (X_VAL[:, 0] - 0.5 * X_VAL[:, 1] > 0).astype(int)
_Y_VAL_REG_OTHER = X_VAL[:, 0] + X_VAL[:, 1]


@pytest.mark.parametrize("name", ALL)
def test_the_best_weights_are_chosen_on_the_validation_data(name):
    """The kept model's loss on X_val, recomputed here, is history_'s lowest
    val_loss, that of best_epoch_, and best_loss_; the training loss does not
    decide (validation targets of another rule put its argmin elsewhere).

    Catches: best weights chosen on the training loss when X_val is given.
    """
    y_val = _Y_VAL_REG_OTHER if name == "MLPNetRegressor" else _Y_VAL_OTHER
    est = make(name, max_iter=12, n_iter_no_change=100, **_NOISY[name])
    est.fit(X, targets(name), X_val=X_VAL, y_val=y_val)
    history = est.history_
    kept = monitored_loss(name, est, X_VAL, y_val)
    assert history["loss"].idxmin() != history["val_loss"].idxmin()
    assert est.best_epoch_ == history["val_loss"].idxmin()
    assert kept == pytest.approx(history["val_loss"].min(), rel=1e-9)
    assert kept == pytest.approx(est.best_loss_, rel=1e-9)


def test_sample_weight_val_weighs_the_validation_loss_and_score():
    """val_loss of the kept epoch is the sample_weight_val-weighted loss on
    X_val and val_score the weighted accuracy (both computed here).

    Catches: sample_weight_val ignored, or the training weights used instead.
    """
    weights = np.linspace(0.1, 3.0, len(Y_VAL))
    est = make("MLPNetClassifier", max_iter=6, batch_size=8, n_iter_no_change=100)
    est.fit(X, Y, X_val=X_VAL, y_val=Y_VAL, sample_weight_val=weights)
    row = est.history_.loc[est.best_epoch_]
    loss = monitored_loss("MLPNetClassifier", est, X_VAL, Y_VAL, sample_weight=weights)
    assert loss == pytest.approx(row["val_loss"], rel=1e-9)
    score = accuracy_score(Y_VAL, est.predict(X_VAL), sample_weight=weights)
    assert score == pytest.approx(row["val_score"], rel=1e-9)
    unweighted = monitored_loss("MLPNetClassifier", est, X_VAL, Y_VAL)
    assert unweighted != pytest.approx(row["val_loss"], rel=1e-6)


@pytest.mark.parametrize("name", ALL)
def test_early_stopping_with_validation_data_holds_no_split(name):
    """early_stopping=True with X_val trains on every row of X and watches X_val:
    the same fit as early_stopping=False with X_val (the reference), and it
    stops n_iter_no_change epochs after the lowest val_loss.

    Catches: a validation_fraction split held out of X although X_val is given.
    """
    y, y_val = targets(name), targets(name, validation=True)
    settings = {"max_iter": 100, "n_iter_no_change": 3, "tol": 0.0, **_NOISY[name]}
    ours = make(name, early_stopping=True, **settings)
    ours.fit(X, y, X_val=X_VAL, y_val=y_val)
    reference = make(name, early_stopping=False, **settings)
    reference.fit(X, y, X_val=X_VAL, y_val=y_val)
    assert same_weights(ours, reference)
    assert ours.n_iter_ == reference.n_iter_ < 100
    assert ours.n_iter_ == ours.best_epoch_ + 3
    assert ours.best_epoch_ == ours.history_["val_loss"].idxmin()


@pytest.mark.parametrize(
    "name, kwargs, match",
    [
        ("MLPNetClassifier", {"X_val": X_VAL}, "y_val is missing"),
        ("MLPNetClassifier", {"y_val": Y_VAL}, "X_val is missing"),
        ("LogisticGD", {"sample_weight_val": np.ones(30)}, "without `X_val`"),
        (
            "ConvNetClassifier",
            {"X_val": X_VAL, "y_val": Y_VAL + 3 * Y_VAL},
            r"y_val .*\[4\]",
        ),
        (
            "MLPNetRegressor",
            {"X_val": X_VAL, "y_val": np.c_[Y_VAL, Y_VAL]},
            "y_val has 2",
        ),
    ],
    ids=["no-y_val", "no-X_val", "weights-alone", "unseen-label", "outputs"],
)
def test_bad_validation_data_is_refused_with_a_clear_message(name, kwargs, match):
    """Catches: validation data silently ignored or half-given."""
    with pytest.raises(ValueError, match=match):
        make(name, max_iter=1).fit(X, targets(name), **kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"X_val": X_VAL[:, :3], "y_val": Y_VAL}, "X_val"),
        ({"X_val": np.where(X_VAL > 2, np.nan, X_VAL), "y_val": Y_VAL}, "X_val"),
        (
            {"X_val": X_VAL, "y_val": Y_VAL, "sample_weight_val": np.ones(3)},
            "sample_weight_val",
        ),
    ],
    ids=["n_features", "nan", "weights-length"],
)
def test_errors_in_validation_data_name_the_validation_argument(kwargs, match):
    """Catches: an error about X_val that speaks of X, whose 4 features are fine."""
    with pytest.raises(ValueError, match=match):
        make("MLPNetClassifier", max_iter=1).fit(X, Y, **kwargs)


def test_validation_data_is_routed_and_transformed_in_a_pipeline():
    """With metadata routing, Pipeline(transform_input=["X_val"]) scales X_val
    with the pipeline's StandardScaler before the network sees it: the same
    weights and history as a network fitted on the scaled arrays directly.

    Catches: X_val not routable (no fit request), or reaching the network
    unscaled.
    """
    X_raw, X_val_raw = 5 * X + 3, 5 * X_VAL + 3
    with sklearn.config_context(enable_metadata_routing=True):
        net = make("MLPNetClassifier", max_iter=4, batch_size=8)
        net.set_fit_request(X_val=True, y_val=True)
        pipe = Pipeline(
            [("scale", StandardScaler()), ("net", net)], transform_input=["X_val"]
        ).fit(X_raw, Y, X_val=X_val_raw, y_val=Y_VAL)
    scaler = StandardScaler().fit(X_raw)
    reference = make("MLPNetClassifier", max_iter=4, batch_size=8).fit(
        scaler.transform(X_raw), Y, X_val=scaler.transform(X_val_raw), y_val=Y_VAL
    )
    assert same_weights(pipe[-1], reference)
    np.testing.assert_array_equal(
        pipe[-1].history_["val_loss"], reference.history_["val_loss"]
    )
    assert not sklearn.get_config()["enable_metadata_routing"]


# ---------------------------------------------------------------------------
# Ctrl-C: stop at the end of the batch, keep the best model; twice: abort
# ---------------------------------------------------------------------------


def test_ctrl_c_stops_fit_after_the_current_batch_and_keeps_the_model():
    """Ctrl-C pressed during the first batch of epoch 3 (step 9), 4 batches an
    epoch: exactly 2 * 4 + 1 optimizer steps are taken, a
    TrainingInterruptedWarning naming the estimator points at this line,
    history_ holds the 3 epochs run, and the estimator predicts. A new fit then
    runs normally.

    Catches: the fit rolled back (the model thrown away), training finishing
    the epoch or running on, the stop request surviving into the next fit, or
    the Ctrl-C handler left installed after fit.
    """
    CtrlCSGD.steps, CtrlCSGD.at = 0, 9
    handler = signal.getsignal(signal.SIGINT)
    net = make(
        "MLPNetClassifier",
        optimizer=CtrlCSGD(0.1),
        batch_size=10,
        max_iter=20,
        n_iter_no_change=100,
    )
    with pytest.warns(TrainingInterruptedWarning, match="MLPNetClassifier") as record:
        net.fit(X, Y)
    assert signal.getsignal(signal.SIGINT) is handler
    assert [w.filename for w in _warnings_of(TrainingInterruptedWarning, record)] == [
        __file__
    ]
    assert CtrlCSGD.steps == 9
    assert net.n_iter_ == 3 and list(net.history_.index) == [1, 2, 3]
    assert net.predict(X).shape == (40,)

    CtrlCSGD.steps, CtrlCSGD.at = 0, None
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingInterruptedWarning)
        net.set_params(max_iter=3).fit(X, Y)
    assert CtrlCSGD.steps == 12 and net.n_iter_ == 3


def test_ctrl_c_between_epochs_starts_no_new_epoch():
    """Ctrl-C pressed before epoch 3 (from the schedule): no batch of epoch 3
    runs (8 steps), history_ holds epochs 1-2, with a warning.

    Catches: an epoch of one batch recorded as a full epoch after a press
    between epochs.
    """
    CountingSGD.steps = 0
    net = make(
        "MLPNetClassifier",
        optimizer=CountingSGD(0.1),
        batch_size=10,
        max_iter=20,
        n_iter_no_change=100,
        learning_rate_schedule=ctrl_c_at(2),
    )
    with pytest.warns(TrainingInterruptedWarning, match="after 2 epoch"):
        net.fit(X, Y)
    assert CountingSGD.steps == 8 and list(net.history_.index) == [1, 2]


@pytest.mark.parametrize("name", GRADIENT_TRAINED)
def test_ctrl_c_keeps_the_best_epochs_weights(name):
    """Full batch with a step too large, Ctrl-C before epoch 12: the kept
    weights' loss (recomputed here) is the lowest of the 11 epochs run.

    Catches: the last (worse) weights kept on an interrupt.
    """
    est = make(
        name,
        batch_size=None,
        n_iter_no_change=100,
        **{**_OSCILLATING[name], "max_iter": 20},
    )
    est.set_params(learning_rate_schedule=ctrl_c_at(11))
    with pytest.warns(TrainingInterruptedWarning):
        est.fit(X, targets(name))
    assert est.n_iter_ == 11 and est.best_epoch_ < 11
    kept = monitored_loss(name, est, X, targets(name))
    assert kept == pytest.approx(min(est.loss_curve_), rel=1e-9)


def test_ctrl_c_from_a_callback_stops_training():
    """Ctrl-C pressed in a sklearn.callback callback at the end of epoch 2:
    training stops with a TrainingInterruptedWarning before another batch
    (8 steps of 4 batches an epoch), history_ holds the epochs run.

    Catches: an interrupt raised from a callback that aborts the fit or is lost.
    """
    CountingSGD.steps = 0
    net = make(
        "MLPNetClassifier", optimizer=CountingSGD(0.1), batch_size=10, max_iter=20
    ).set_callbacks(CtrlC(at=1, hook="end"))
    with pytest.warns(TrainingInterruptedWarning):
        net.fit(X, Y)
    assert CountingSGD.steps == 8
    assert net.n_iter_ == len(net.history_) == 2
    assert net.predict(X).shape == (40,)


def test_ctrl_c_during_partial_fit_keeps_the_model_and_the_next_call_runs():
    """The second partial_fit call is interrupted during its first batch: it
    finishes that batch, warns and keeps the model; the third call trains all 4
    batches.

    Catches: partial_fit rolled back on Ctrl-C, or the stop request left set
    for the following calls.
    """
    CtrlCSGD.steps, CtrlCSGD.at = 0, 5
    net = make("MLPNetClassifier", optimizer=CtrlCSGD(0.1), batch_size=10)
    net.partial_fit(X, Y, classes=[0, 1])
    with pytest.warns(TrainingInterruptedWarning, match="MLPNetClassifier"):
        net.partial_fit(X, Y)
    assert CtrlCSGD.steps == 5 and net.n_iter_ == 2 and len(net.history_) == 2
    assert net.predict(X).shape == (40,)
    net.partial_fit(X, Y)
    assert CtrlCSGD.steps == 9 and net.n_iter_ == 3


def test_a_second_ctrl_c_aborts_a_new_fit_and_leaves_it_unfitted():
    """Ctrl-C twice (at the beginning of epoch 3, from a callback): the fit
    raises KeyboardInterrupt and the estimator is not fitted.

    Catches: a second Ctrl-C swallowed, or a half-fitted estimator left behind.
    """
    handler = signal.getsignal(signal.SIGINT)
    net = make("MLPNetClassifier", batch_size=10, max_iter=10)
    net.set_callbacks(CtrlC(at=2, times=2, hook="begin"))
    with pytest.raises(KeyboardInterrupt):
        net.fit(X, Y)
    assert signal.getsignal(signal.SIGINT) is handler
    with pytest.raises(NotFittedError):
        net.predict(X)


@pytest.mark.parametrize(
    "name", ["MLPNetClassifier", "ConvNetClassifier", "LogisticGD"]
)
def test_a_second_ctrl_c_leaves_a_fitted_estimator_as_it_was(name):
    """A warm-start refit aborted by a double Ctrl-C after 2 of its epochs:
    the estimator equals a twin that never made that call -- same weights,
    n_iter_ and history_ -- and both continue identically (partial_fit uses the
    optimizer state and the random generator, then a warm-start fit).

    Catches: a rollback that misses state changed in place (the network, the
    optimizer moments, the schedule, the random generator).
    """
    y = targets(name)
    ctrl_c = CtrlC()
    settings = {"batch_size": 10, "max_iter": 2, "warm_start": True}
    aborted = make(name, **settings).set_callbacks(ctrl_c).fit(X, y)
    twin = make(name, **settings).set_callbacks(CtrlC()).fit(X, y)
    ctrl_c.at, ctrl_c.times, ctrl_c.hook = 2, 2, "begin"
    with pytest.raises(KeyboardInterrupt):
        aborted.set_params(max_iter=5).fit(X, y)
    ctrl_c.at = None
    assert same_weights(aborted, twin) and aborted.n_iter_ == twin.n_iter_ == 2
    for est in (aborted, twin):
        est.partial_fit(X, y)
        est.set_params(max_iter=2).fit(X, y)
    assert same_weights(aborted, twin)
    columns = ["loss", "val_loss", "learning_rate"]
    np.testing.assert_array_equal(aborted.history_[columns], twin.history_[columns])


def test_a_second_ctrl_c_leaves_partial_fit_as_it_was():
    """A balanced partial_fit call aborted by a double Ctrl-C, then made again:
    the same model as a twin that made it once (the reference).

    Catches: the aborted call's rows left in the running class counts of
    'balanced', or any other state it changed kept.
    """
    ctrl_c = CtrlC()
    nets = [
        make("MLPNetClassifier", class_weight="balanced", batch_size=10)
        for _ in range(2)
    ]
    aborted, twin = nets[0].set_callbacks(ctrl_c), nets[1].set_callbacks(CtrlC())
    for net in nets:
        net.partial_fit(X[:12], _Y3[:12], classes=[0, 1, 2])
    ctrl_c.at, ctrl_c.times, ctrl_c.hook = 0, 2, "begin"
    with pytest.raises(KeyboardInterrupt):
        aborted.partial_fit(X[12:], _Y3[12:])
    ctrl_c.at = None
    for net in nets:
        net.partial_fit(X[12:], _Y3[12:])
    assert same_weights(aborted, twin) and aborted.n_iter_ == twin.n_iter_ == 2


class CtrlCTwiceSGD(SGD):
    """SGD whose 6th step comes with two Ctrl-C presses."""

    steps = 0

    def step(self, params, grads):
        type(self).steps += 1
        if type(self).steps == 6:
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)
        super().step(params, grads)


@pytest.mark.filterwarnings("ignore::skdeep.exceptions.TrainingInterruptedWarning")
@pytest.mark.parametrize("where", ["optimizer-step", "epoch-end-callback"])
def test_a_second_ctrl_c_during_an_epoch_aborts(where):
    """Ctrl-C twice while an epoch runs: KeyboardInterrupt, estimator unfitted.

    Catches: no way to abort a long fit (the usual place for Ctrl-C to land
    is inside an epoch).
    """
    CtrlCTwiceSGD.steps = 0
    if where == "optimizer-step":
        net = make("MLPNetClassifier", optimizer=CtrlCTwiceSGD(0.1))
    else:
        net = make("MLPNetClassifier").set_callbacks(CtrlC(at=1, times=2))
    net.set_params(batch_size=10, max_iter=10)
    with pytest.raises(KeyboardInterrupt):
        net.fit(X, Y)
    with pytest.raises(NotFittedError):
        net.predict(X)


# ---------------------------------------------------------------------------
# max_norm
# ---------------------------------------------------------------------------


def unit_norms(W):
    """The L2 norm of each unit's incoming weights: a Dense column, a Conv2D
    filter (every axis but the last)."""
    return np.linalg.norm(W.reshape(-1, W.shape[-1]), axis=0)


@pytest.mark.parametrize(
    "name", ["LogisticGD", "MLPNetClassifier", "MLPNetRegressor", "ConvNetClassifier"]
)
def test_max_norm_bounds_every_units_incoming_weights(name):
    """After fit no unit's incoming weight vector (each Dense column, each
    Conv2D filter) is longer than max_norm; the same fit without it has longer
    ones, and other weights.

    Catches: max_norm ignored, applied to rows or to whole matrices, or undone
    by the restore of the best weights.
    """
    settings = {"max_iter": 30, "batch_size": 8, "learning_rate": 0.2}
    if name != "LogisticGD":
        settings["optimizer"] = "sgd"
    y = targets(name)
    bounded = make(name, max_norm=0.3, **settings).fit(X, y)
    free = make(name, max_norm=None, **settings).fit(X, y)
    for W in bounded.get_weights()[::2]:
        assert unit_norms(W).max() <= 0.3 * (1 + 1e-9)
    assert max(unit_norms(W).max() for W in free.get_weights()[::2]) > 0.3
    assert not same_weights(bounded, free)


# ---------------------------------------------------------------------------
# dtype
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dtype, expected",
    [
        ("float32", np.float32),
        ("float64", np.float64),
        (np.dtype("float32"), np.float32),
        (np.float32, np.float32),
        (float, np.float64),
    ],
    ids=["'float32'", "'float64'", "dtype(float32)", "np.float32", "float"],
)
@pytest.mark.parametrize("name", ALL)
def test_dtype_spellings(name, dtype, expected):
    """Every spelling of float32/float64 gives weights of that type.

    Catches: a spelling refused, or ``float`` read as float32.
    """
    est = make(name, dtype=dtype, max_iter=1).fit(X, targets(name))
    assert {W.dtype for W in est.get_weights()} == {np.dtype(expected)}


@pytest.mark.parametrize(
    "dtype, received",
    [("float16", "float16"), (np.dtype("int64"), "int64"), (int, "int")],
)
def test_other_dtypes_are_refused_naming_dtype(dtype, received):
    """Catches: an int or half-precision network built silently, or an error
    that does not say which parameter and value are wrong."""
    with pytest.raises(ValueError, match="dtype") as error:
        make("MLPNetClassifier", dtype=dtype, max_iter=1).fit(X, Y)
    assert received in str(error.value)


# ---------------------------------------------------------------------------
# Restarts: the best of n_restarts runs, on the loss of their final weights
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("validation", [False, True], ids=["loss", "X_val"])
@pytest.mark.parametrize("name", ["MLPNetClassifier", "ConvNetClassifier"])
def test_restarts_keep_the_run_with_the_lowest_loss(name, validation):
    """n_restarts=3, mini-batches: each restart's final weights (collected by a
    callback) have a monitored loss recomputed here (on X_val when given);
    best_loss_ is their minimum, and the kept weights are that restart's. The
    seed is one whose best restart is not the last.

    Catches: the last restart kept, restarts compared on running mini-batch
    losses or on the training loss despite X_val, or restarts that are not
    different initialisations.
    """
    restarts = RecordRestarts()
    est = make(
        name, n_restarts=3, max_iter=5, batch_size=8, learning_rate=0.01, random_state=3
    ).set_callbacks(restarts)
    if validation:
        est.fit(X, Y, X_val=X_VAL, y_val=Y_VAL)
        X_eval, y_eval = X_VAL, Y_VAL
    else:
        est.fit(X, Y)
        X_eval, y_eval = X, Y
    losses = [monitored_loss(name, m, X_eval, y_eval) for m in restarts.models]
    assert len(set(np.round(losses, 12))) == 3
    best = int(np.argmin(losses))
    assert best != 2
    assert est.best_loss_ == pytest.approx(losses[best], rel=1e-9)
    kept = monitored_loss(name, est, X_eval, y_eval)
    assert kept == pytest.approx(losses[best], rel=1e-9)
    assert same_weights(est, restarts.models[best])


# ---------------------------------------------------------------------------
# Sparse input: CSR / CSC rows for every estimator whose first layer is Dense
# ---------------------------------------------------------------------------


class _NeverDense(scipy.sparse.csr_matrix):
    """A CSR matrix that refuses to become dense: the engine must use sparse
    products (X @ W, X.T @ dZ), never ``toarray``."""

    def toarray(self, *args, **kwargs):
        raise AssertionError("the sparse input was densified")

    todense = toarray


def _one_hot_frame(n=240, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"city": rng.integers(0, 300, n).astype(str), "x": rng.normal(size=n)}
    )
    y = ((frame.x > 0) ^ (frame.city.astype(int) % 2 == 0)).astype(int)
    return frame, y


SPARSE_ESTIMATORS = {
    "PerceptronClassifier": lambda: PerceptronClassifier(max_iter=20, random_state=0),
    "LogisticGD": lambda: LogisticGD(max_iter=50, random_state=0),
    "LogisticGD-minibatch": lambda: LogisticGD(
        batch_size=32, max_iter=20, random_state=0
    ),
    "MLPNetClassifier": lambda: MLPNetClassifier(
        (16,), max_iter=20, random_state=0, dtype=np.float64
    ),
    "MLPNetRegressor": lambda: MLPNetRegressor(
        (16,), max_iter=20, random_state=0, dtype=np.float64
    ),
}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", SPARSE_ESTIMATORS)
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_rows_give_the_dense_predictions_without_densifying(name, fmt):
    """A ColumnTransformer with OneHotEncoder outputs CSR: fit and predict on it
    (or on CSC) equal fit and predict on the dense array (float64: to 1e-10),
    and the matrix is never made dense (a CSR that refuses toarray passes).

    Catches: sparse input refused, densified whole (memory), or a sparse path
    that computes something else than the dense one.
    """
    frame, y = _one_hot_frame()
    encoder = ColumnTransformer(
        [
            ("city", OneHotEncoder(handle_unknown="ignore"), ["city"]),
            ("x", StandardScaler(), ["x"]),
        ]
    )
    X_sparse = encoder.fit_transform(frame)
    assert scipy.sparse.issparse(X_sparse)
    target = y if "Regressor" not in name else y + 0.1 * frame.x.to_numpy()
    dense = SPARSE_ESTIMATORS[name]().fit(X_sparse.toarray(), target)
    X_fit = _NeverDense(X_sparse) if fmt == "csr" else X_sparse.tocsc()
    sparse = SPARSE_ESTIMATORS[name]().fit(X_fit, target)
    method = "predict_proba" if hasattr(dense, "predict_proba") else "predict"
    np.testing.assert_allclose(
        getattr(sparse, method)(_NeverDense(X_sparse)),
        getattr(dense, method)(X_sparse.toarray()),
        rtol=1e-10,
        atol=1e-12,
    )
    assert get_tags(sparse).input_tags.sparse
    pipeline = make_pipeline(encoder, SPARSE_ESTIMATORS[name]()).fit(frame, target)
    np.testing.assert_allclose(
        getattr(pipeline, method)(frame), getattr(dense, method)(X_sparse.toarray()),
        rtol=1e-10, atol=1e-12,
    )  # fmt: skip


def test_float32_networks_on_sparse_rows_match_dense_to_float32_rounding():
    """The default float32 MLP: sparse and dense inputs differ by float32
    rounding only (the sums run in another order)."""
    frame, y = _one_hot_frame()
    X_sparse = OneHotEncoder().fit_transform(frame[["city"]])
    dense = MLPNetClassifier((16,), max_iter=10, random_state=0)
    sparse = MLPNetClassifier((16,), max_iter=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense.fit(X_sparse.toarray(), y)
        sparse.fit(X_sparse, y)
    np.testing.assert_allclose(
        sparse.predict_proba(X_sparse), dense.predict_proba(X_sparse.toarray()),
        rtol=1e-4, atol=1e-6,
    )  # fmt: skip


def test_the_convnet_refuses_sparse_input_with_advice():
    frame, y = _one_hot_frame(40)
    X_sparse = OneHotEncoder().fit_transform(frame[["city"]])
    assert not get_tags(ConvNetClassifier()).input_tags.sparse
    with pytest.raises(TypeError, match=r"sparse .*toarray\(\).*MLPNetClassifier"):
        ConvNetClassifier(max_iter=1).fit(X_sparse, y)


@pytest.mark.parametrize(
    "params, passes",
    [
        ({}, 0),  # one run, best weights held, outputs bounded: no pass
        ({"n_restarts": 3}, 3),  # restarts are compared on measured losses
        ({"restore_best_weights": False}, 1),  # weights held not the best's
    ],
)
def test_the_final_pass_over_the_data_runs_only_when_needed(
    params, passes, monkeypatch
):
    from skdeep.nn.trainer import Trainer

    calls = []
    evaluate = Trainer.evaluate

    def counting(self, X, Y, sample_weight=None):
        calls.append(X.shape[0])
        return evaluate(self, X, Y, sample_weight)

    monkeypatch.setattr(Trainer, "evaluate", counting)
    X, y = load_iris(return_X_y=True)
    clf = MLPNetClassifier(hidden_layer_sizes=(8,), batch_size=32, max_iter=5,
                           random_state=0, **params)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert calls == [len(X)] * passes
    if not passes:  # the best epoch's recorded loss
        assert clf.best_loss_ == min(clf.loss_curve_)
