"""Numerical extremes (issue 8): huge logits and inputs, zeros, constant
features, diverging runs and gradient clipping.

No estimator may return a NaN or infinite probability or loss; a run that
diverges is detected, stopped, left with finite weights and reported with advice
(the networks warn, the linear models raise or back off); ``clipnorm`` bounds
every update.
"""

import warnings

import numpy as np
import pytest
from scipy import special
from sklearn.base import is_classifier

from skdeep import (
    CoarseToFineSearchCV,
    ConvNetClassifier,
    LogisticGD,
    MLPNetClassifier,
    MLPNetRegressor,
    PerceptronClassifier,
)
from skdeep.layers import Conv2D, Flatten
from skdeep.nn.activations import log_sigmoid, log_softmax, sigmoid, softmax
from skdeep.nn.layers import Dense
from skdeep.nn.losses import (
    binary_cross_entropy,
    categorical_cross_entropy,
    squared_error,
)
from skdeep.nn.network import Sequential
from skdeep.nn.optimizers import SGD
from skdeep.nn.training import DivergenceWarning, Trainer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ESTIMATORS = {
    "PerceptronClassifier": lambda: PerceptronClassifier(max_iter=5, random_state=0),
    "LogisticGD": lambda: LogisticGD(max_iter=20, random_state=0),
    "LogisticGD-minibatch": lambda: LogisticGD(
        max_iter=20, batch_size=8, random_state=0
    ),
    "MLPNetClassifier": lambda: MLPNetClassifier(
        (8,), max_iter=10, batch_size=16, random_state=0
    ),
    "MLPNetRegressor": lambda: MLPNetRegressor(
        (8,), max_iter=10, batch_size=16, random_state=0
    ),
    "ConvNetClassifier": lambda: ConvNetClassifier(
        [Conv2D(2, (1, 2), activation="relu"), Flatten()],
        max_iter=5,
        batch_size=16,
        random_state=0,
    ),
    "CoarseToFineSearchCV": lambda: CoarseToFineSearchCV(
        MLPNetClassifier((4,), max_iter=5, random_state=0),
        {"alpha": [1e-4, 1e-3]},
        n_iter=2,
        n_rounds=1,
        random_state=0,
    ),
}

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 4))
Y3 = np.arange(40) % 3


def _outputs(estimator, X_new):
    """Everything an estimator returns for X_new, and its losses."""
    outputs = [estimator.predict(X_new)]
    for method in ("predict_proba", "predict_log_proba", "decision_function"):
        if hasattr(estimator, method):
            outputs.append(getattr(estimator, method)(X_new))
    inner = getattr(estimator, "best_estimator_", estimator)
    losses = list(getattr(inner, "loss_curve_", []))
    return outputs, losses


def _target(name, X_fit, n_classes):
    if name == "MLPNetRegressor":
        return np.asarray(X_fit[:, 0] - X_fit[:, 1], dtype=float)
    return np.arange(len(X_fit)) % n_classes


def _assert_all_finite(outputs, losses):
    for out in outputs:
        if out.dtype.kind == "f":
            assert np.isfinite(out).all()
    assert np.isfinite(losses).all()


INPUTS = {
    "scaled_by_1e6": lambda: X * 1e6,
    "scaled_by_1e-6": lambda: X * 1e-6,
    "all_zero": lambda: np.zeros_like(X),
    "constant_features": lambda: np.c_[X[:, :2], np.full((40, 2), 7.0)],
    "all_constant": lambda: np.full_like(X, -3.0),
    "one_huge_feature": lambda: np.c_[X[:, :3], X[:, 3] * 1e8],
}


@pytest.mark.parametrize(
    "name, n_classes",
    # A regressor has one target here: the class count does not apply to it.
    [
        (name, k)
        for name in ESTIMATORS
        for k in (2, 3)
        if not (name == "MLPNetRegressor" and k == 3)
    ],
)
@pytest.mark.parametrize("inputs", INPUTS)
def test_extreme_inputs_give_finite_outputs_and_losses(name, inputs, n_classes):
    X_fit = INPUTS[inputs]()
    with warnings.catch_warnings():
        # A diverging run warns (tested below); here only finiteness counts.
        warnings.simplefilter("ignore", DivergenceWarning)
        estimator = ESTIMATORS[name]().fit(X_fit, _target(name, X_fit, n_classes))
    _assert_all_finite(*_outputs(estimator, X_fit))
    # Predicting far outside the training range stays finite too.
    _assert_all_finite(*_outputs(estimator, X * 1e6))


@pytest.mark.parametrize("name", ESTIMATORS)
def test_logits_of_1e4_give_finite_probabilities(name):
    estimator = ESTIMATORS[name]().fit(X, _target(name, X, 3))
    inner = getattr(estimator, "best_estimator_", estimator)
    # Blow the output layer up until the logits reach about +-1e4.
    if hasattr(inner, "coef_"):
        inner.coef_ = inner.coef_ * 1e4 / np.abs(inner.coef_).max()
    else:
        weights = inner.get_weights()
        weights[-2] = weights[-2] * 1e4 / np.abs(weights[-2]).max()
        inner.set_weights(weights)
    outputs, _ = _outputs(estimator, X * 10)
    _assert_all_finite(outputs, [])
    if hasattr(estimator, "predict_proba"):
        proba = estimator.predict_proba(X * 10)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        # The predicted class has the largest probability (saturated sigmoids
        # may tie: the perceptron's scores still order them).
        predicted = np.searchsorted(estimator.classes_, estimator.predict(X * 10))
        chosen = proba[np.arange(len(proba)), predicted]
        np.testing.assert_array_equal(chosen, proba.max(axis=1))
        # Saturated probabilities keep exact, finite logarithms: the (log-)
        # softmax of the scores, computed here by scipy. Catches log(proba)
        # (-inf where proba underflows to 0) and a log-softmax that loses the
        # log-sum-exp term.
        scores = estimator.decision_function(X * 10)
        assert np.abs(scores).max() > 1e4  # saturated indeed
        log_proba = estimator.predict_log_proba(X * 10)
        assert np.isfinite(log_proba).all()
        np.testing.assert_allclose(
            log_proba, special.log_softmax(scores, axis=1), rtol=1e-12, atol=1e-9
        )
        np.testing.assert_allclose(
            proba, special.softmax(scores, axis=1), rtol=1e-12, atol=1e-15
        )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1e4, 1e30])
def test_losses_and_activations_of_huge_logits(dtype, scale):
    Z = np.array([[scale, -scale, 0.0], [-scale, scale, scale]], dtype=dtype)
    Y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=dtype)
    for loss in (binary_cross_entropy, categorical_cross_entropy):
        value, dZ = loss(Z, Y)
        assert np.isfinite(value) and np.isfinite(dZ).all()
    # Confidently wrong: the loss is about the logit gap, exactly.
    value, _ = categorical_cross_entropy(Z[:1], Y[:1])
    assert value == pytest.approx(2 * float(dtype(scale)), rel=1e-6)
    value, _ = binary_cross_entropy(Z[:1, :1], np.zeros((1, 1), dtype=dtype))
    assert value == pytest.approx(float(dtype(scale)), rel=1e-6)
    for function in (sigmoid, softmax, log_sigmoid, log_softmax):
        assert np.isfinite(function(Z)).all()
    assert np.isfinite(squared_error(Z / scale, Y)[0])


# ---------------------------------------------------------------------------
# Divergence
# ---------------------------------------------------------------------------

X_UNSCALED = RNG.normal(size=(40, 4)) * 10
Y_UNSCALED = (X_UNSCALED[:, 0] > 0).astype(int)


@pytest.mark.parametrize(
    "make",
    [
        lambda: MLPNetClassifier(
            optimizer="sgd", learning_rate=1e4, max_iter=20, random_state=0
        ),
        lambda: MLPNetClassifier(
            optimizer="momentum",
            learning_rate=1e4,
            batch_size=8,
            max_iter=20,
            random_state=0,
        ),
        lambda: MLPNetRegressor(
            optimizer="sgd", learning_rate=1e4, max_iter=20, random_state=0
        ),
        lambda: ConvNetClassifier(
            optimizer="sgd", learning_rate=1e4, max_iter=10, random_state=0
        ),
    ],
    ids=["MLP-sgd", "MLP-momentum", "MLPRegressor-sgd", "ConvNet-sgd"],
)
def test_a_diverging_network_stops_restores_finite_weights_and_warns(make):
    estimator = make()
    y = Y_UNSCALED if is_classifier(estimator) else X_UNSCALED @ [100.0, -50, 3, 0]
    with pytest.warns(
        DivergenceWarning, match="diverged at epoch .* Lower learning_rate, scale"
    ):
        estimator.fit(X_UNSCALED, y)
    assert estimator.n_iter_ < estimator.max_iter  # stopped at once
    assert all(np.isfinite(w).all() for w in estimator.get_weights())
    assert np.isfinite(estimator.loss_curve_).all()
    assert np.isfinite(estimator.predict(X_UNSCALED)).all()
    # The velocities and moments of the diverged run are dropped with it: a
    # continued fit does not inherit them.
    assert not hasattr(estimator.optimizer_, "state_")


@pytest.mark.parametrize(
    "estimator, X_scale",
    [
        (LogisticGD(learning_rate=1e300, batch_size=4, max_iter=5), 1e5),
        (LogisticGD(learning_rate=1e300, max_iter=5), 1e5),
        (PerceptronClassifier(learning_rate=1e308, max_iter=5), 1.0),
    ],
    ids=["logistic-minibatch", "logistic-full-batch", "perceptron"],
)
def test_a_diverging_linear_model_warns_and_keeps_finite_weights(estimator, X_scale):
    """Overflowing weights: one behaviour for every estimator, a warning with
    advice and the best finite (here initial) weights, never NaN or a crash."""
    with pytest.warns(
        DivergenceWarning, match="diverged at epoch .*Lower learning_rate"
    ):
        estimator.fit(X_UNSCALED * X_scale, Y_UNSCALED)
    assert np.isfinite(estimator.coef_).all()
    assert np.isfinite(estimator.predict_proba(X_UNSCALED * X_scale)).all()


def test_float64_inputs_beyond_float32_are_refused_by_float32_networks():
    # 1e300 fits in float64 but is inf in the float32 weights' type.
    match = r"X has values up to .*e\+300, beyond the range of dtype=float32"
    with pytest.raises(ValueError, match=match):
        MLPNetClassifier(max_iter=2).fit(X * 1e300, Y3)
    MLPNetClassifier(max_iter=2, dtype=np.float64).fit(X * 1e300, Y3)


# ---------------------------------------------------------------------------
# Gradient clipping
# ---------------------------------------------------------------------------


def test_clipnorm_bounds_every_update_of_the_trainer():
    """Every gradient array here is far larger than clipnorm, so with SGD(1.0)
    each array moves by exactly clipnorm (Keras' per-array ``clipnorm``).
    Catches no clipping, clipping by the global norm of all arrays (every
    step smaller), and arrays left out of the clipping."""
    net = Sequential([Dense(5, activation="tanh"), Dense(2)], dtype=np.float64)
    net.build((4,), np.random.default_rng(0))
    X_big, Y_big = X_UNSCALED * 100, np.ones((40, 2)) * 1e3
    before = net.get_weights()
    trainer = Trainer(net, squared_error, SGD(1.0), clipnorm=0.01,
                      rng=np.random.default_rng(0))  # fmt: skip
    trainer.train_epoch(X_big, Y_big)  # one full-batch step
    steps = [np.linalg.norm(a - b) for a, b in zip(net.get_weights(), before)]
    np.testing.assert_allclose(steps, 0.01, rtol=1e-9)


@pytest.mark.parametrize("name", ["MLPNetClassifier", "ConvNetClassifier"])
def test_estimator_clipnorm_bounds_the_update(name):
    """Unclipped, the step on unscaled data is large; with ``clipnorm`` each
    weight array moves by exactly clipnorm (SGD(1.0), every gradient array
    beyond it). Catches a ``clipnorm`` that does not reach the trainer, and
    clipping by the global norm."""

    def step_norms(clipnorm):
        estimator = ESTIMATORS[name]().set_params(
            optimizer="sgd", learning_rate=1.0, batch_size=None, alpha=0.0,
            clipnorm=clipnorm, dtype=np.float64,
        )  # fmt: skip
        estimator.partial_fit(X_UNSCALED[:4], Y_UNSCALED[:4], classes=[0, 1])
        before = estimator.get_weights()
        estimator.partial_fit(X_UNSCALED * 100, Y_UNSCALED)  # one step
        return [np.linalg.norm(a - b) for a, b in zip(estimator.get_weights(), before)]

    assert min(step_norms(None)) > 0.1
    np.testing.assert_allclose(step_norms(1e-3), 1e-3, rtol=1e-9)
