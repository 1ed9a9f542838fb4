"""MLPNetClassifier and MLPNetRegressor: scikit-learn compatibility, training
behaviour, inspection, callbacks, bad input, and accuracy next to scikit-learn."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from _engine import Callback, RecordRestarts
from scipy import special
from sklearn.callback import ProgressBar, ScoringMonitor
from sklearn.datasets import load_diabetes, load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdeep import MLPNetClassifier, MLPNetRegressor
from skdeep.nn.layers import Dense, Dropout
from skdeep.nn.training import DivergenceWarning
from skdeep.optimizers import SGD, Adam, RMSProp
from skdeep.utils._splits import holdout_indices

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@pytest.fixture(scope="module")
def blobs():
    X, y = make_classification(
        120, 6, n_informative=4, n_classes=3, n_clusters_per_class=1, random_state=0
    )
    return X, y


def reference_logits(weights, X, activation):
    """The logits of an MLP computed here in float64 from its ``get_weights()``
    (``W, b`` of each Dense layer in order): the reference for the network's
    forward pass in inference mode (dropout is the identity there)."""
    hidden = {"relu": lambda A: np.maximum(A, 0.0), "tanh": np.tanh}[activation]
    layers = list(zip(weights[::2], weights[1::2]))
    A = np.asarray(X, dtype=np.float64)
    for W, b in layers[:-1]:
        A = hidden(A @ W + b)
    W, b = layers[-1]
    return A @ W + b


def reference_loss(weights, X, y, alpha, activation="relu"):
    """Multi-class cross-entropy (mean over rows) plus ``0.5 * alpha *
    sum(W**2)`` over the weight matrices (not the biases), in float64, full
    batch: the monitored loss as the docs define it, computed independently."""
    Z = reference_logits(weights, X, activation)
    log_proba = special.log_softmax(Z, axis=1)
    cross_entropy = -log_proba[np.arange(len(y)), np.asarray(y)].mean()
    return cross_entropy + 0.5 * alpha * sum(np.sum(W**2) for W in weights[::2])


# ---------------------------------------------------------------------------
# Accuracy next to scikit-learn's MLP, same settings, same data
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_digits_accuracy_matches_sklearn(digits):
    X_train, X_test, y_train, y_test = digits
    settings = dict(hidden_layer_sizes=(100,), batch_size=200, max_iter=100)
    ours, theirs = [], []
    for seed in range(3):
        ours.append(
            MLPNetClassifier(optimizer="adam", random_state=seed, **settings)
            .fit(X_train, y_train)
            .score(X_test, y_test)
        )
        theirs.append(
            MLPClassifier(solver="adam", random_state=seed, **settings)
            .fit(X_train, y_train)
            .score(X_test, y_test)
        )
    print(f"digits accuracy: skdeep {np.mean(ours):.4f}, sklearn {np.mean(theirs):.4f}")
    assert np.mean(ours) >= np.mean(theirs) - 0.005


@pytest.mark.parametrize(
    "optimizer, learning_rate",
    [
        ("sgd", 0.1),
        ("momentum", 0.01),
        ("nesterov", 0.01),
        ("adam", 1e-3),
        ("rmsprop", 1e-3),
    ],
)
def test_every_optimizer_learns_digits(digits, optimizer, learning_rate):
    X_train, X_test, y_train, y_test = digits
    clf = MLPNetClassifier(
        (64,),
        optimizer=optimizer,
        learning_rate=learning_rate,
        max_iter=60,
        random_state=0,
    ).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.93


@pytest.mark.slow
def test_diabetes_r2_matches_sklearn():
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    ours, theirs = [], []
    for seed in range(3):
        ours.append(
            MLPNetRegressor(
                hidden_layer_sizes=(32,),
                learning_rate=0.01,
                max_iter=300,
                random_state=seed,
            )
            .fit(X_train, y_train)
            .score(X_test, y_test)
        )
        theirs.append(
            MLPRegressor(
                hidden_layer_sizes=(32,),
                learning_rate_init=0.01,
                max_iter=300,
                random_state=seed,
            )
            .fit(X_train, y_train)
            .score(X_test, y_test)
        )
    print(f"diabetes R2: skdeep {np.mean(ours):.4f}, sklearn {np.mean(theirs):.4f}")
    assert np.mean(ours) >= np.mean(theirs) - 0.03


# ---------------------------------------------------------------------------
# Training behaviour
# ---------------------------------------------------------------------------


def test_a_diverging_learning_rate_warns_and_leaves_a_finite_model():
    X, y = make_classification(200, 5, random_state=0)
    X = X * 100 + 100  # unscaled, as the notes warn against
    clf = MLPNetClassifier((16,), optimizer="sgd", learning_rate=1e4, random_state=0)
    with pytest.warns(DivergenceWarning, match="Lower learning_rate"):
        clf.fit(X, y)
    assert np.isfinite(clf.predict_proba(X)).all()
    assert all(np.isfinite(w).all() for w in clf.get_weights())
    assert np.isfinite(clf.loss_curve_).all()


def test_unscaled_inputs_do_not_produce_nan():
    rng = np.random.default_rng(0)
    X = rng.normal(100, 1, size=(60, 4))
    y = (X[:, 0] > 100).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        clf = MLPNetClassifier(max_iter=20, random_state=0).fit(X, y)
        reg = MLPNetRegressor(max_iter=20, random_state=0).fit(X, X[:, 0])
    assert np.isfinite(clf.predict_proba(X)).all()
    assert np.isfinite(reg.predict(X)).all()


def test_fit_is_reproducible_and_float32(blobs):
    X, y = blobs
    a = MLPNetClassifier((8,), dropout=0.2, max_iter=5, random_state=3).fit(X, y)
    b = MLPNetClassifier((8,), dropout=0.2, max_iter=5, random_state=3).fit(X, y)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert wa.dtype == np.float32
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.loss_curve_ == b.loss_curve_
    c = MLPNetClassifier((8,), max_iter=2, random_state=3, dtype=np.float64)
    assert all(w.dtype == np.float64 for w in c.fit(X, y).get_weights())


def test_early_stopping_restores_the_best_epoch(blobs):
    X, y = blobs
    clf = MLPNetClassifier(
        (32,),
        learning_rate=0.05,
        early_stopping=True,
        n_iter_no_change=3,
        max_iter=200,
        random_state=0,
    ).fit(X, y)
    history = clf.history_
    assert clf.n_iter_ == len(history) < 200
    assert history["val_loss"].notna().all()
    assert clf.best_loss_ == history["val_loss"].min()
    # The run stopped n_iter_no_change epochs after its best epoch.
    assert history["val_loss"].idxmin() == clf.n_iter_ - 3
    assert clf.validation_scores_ == list(history["val_score"])
    assert all(0 <= s <= 1 for s in clf.validation_scores_)


@pytest.mark.parametrize("Estimator", [MLPNetClassifier, MLPNetRegressor])
def test_restore_best_weights_false_keeps_the_last_epoch(Estimator, blobs):
    X, y = blobs
    params = dict(
        hidden_layer_sizes=(32,),
        learning_rate=0.05,
        early_stopping=True,
        n_iter_no_change=3,
        max_iter=200,
        random_state=0,
    )
    assert Estimator().get_params()["restore_best_weights"] is True
    best = Estimator(**params).fit(X, y)
    last = Estimator(restore_best_weights=False, **params).fit(X, y)
    assert last.n_iter_ == best.n_iter_ and best.best_epoch_ < best.n_iter_
    # Training again for exactly the best (last) number of epochs reproduces
    # the weights each run keeps.
    params.pop("max_iter")
    at_best = Estimator(max_iter=best.best_epoch_, **params).fit(X, y)
    at_last = Estimator(max_iter=last.n_iter_, restore_best_weights=False, **params)
    for fitted, reference in [(best, at_best), (last, at_last.fit(X, y))]:
        for a, b in zip(fitted.get_weights(), reference.get_weights()):
            np.testing.assert_array_equal(a, b)
    assert not all(
        np.array_equal(a, b) for a, b in zip(best.get_weights(), last.get_weights())
    )
    with pytest.raises(ValueError, match="restore_best_weights"):
        Estimator(restore_best_weights="yes").fit(X, y)


def test_history_and_curves(blobs):
    X, y = blobs
    clf = MLPNetClassifier((8,), max_iter=4, random_state=0).fit(X, y)
    history = clf.history_
    assert list(history.columns) == [
        "loss",
        "score",
        "val_loss",
        "val_score",
        "learning_rate",
        "seconds",
    ]
    assert list(history.index) == [1, 2, 3, 4] and history.index.name == "epoch"
    assert list(history["loss"]) == clf.loss_curve_
    assert clf.loss_ == clf.loss_curve_[-1]
    assert clf.validation_scores_ is None
    assert (history["learning_rate"] == 1e-3).all()
    assert clf.out_activation_ == "softmax"
    assert history["score"].between(0, 1).all()
    assert clf.best_epoch_ == history["loss"].idxmin()


@pytest.mark.parametrize("validation", [False, True], ids=["train", "X_val"])
def test_random_restarts_keep_the_run_with_the_lowest_loss(blobs, validation):
    """Catches an estimator that reports the lowest loss of its restarts but
    keeps another restart's network (e.g. the first), and a ``best_loss_`` that
    is not the loss of the weights it holds.

    Each restart's final weights are recorded through the public callback API;
    their loss (cross-entropy + L2 penalty, on the validation data when given,
    else on the training data) is computed here in float64, full batch. The
    estimator must hold the weights of the restart with the lowest such loss,
    and ``best_loss_`` must be that loss. Some seeds must pick a restart other
    than the first, so keeping restart 0 cannot pass.
    """
    X, y = blobs
    X_fit, y_fit = (X[:90], y[:90]) if validation else (X, y)
    X_mon, y_mon = (X[90:], y[90:]) if validation else (X, y)
    extra = {"X_val": X_mon, "y_val": y_mon} if validation else {}
    alpha, kept = 0.05, []
    for seed in range(4):
        recorder = RecordRestarts()
        clf = MLPNetClassifier(
            (3,), learning_rate=0.01, alpha=alpha, max_iter=8, n_restarts=4,
            dtype=np.float64, random_state=seed,
        ).set_callbacks(recorder)  # fmt: skip
        clf.fit(X_fit, y_fit, **extra)
        assert len(recorder.models) == 4
        weights = [model.get_weights() for model in recorder.models]
        losses = [reference_loss(w, X_mon, y_mon, alpha) for w in weights]
        assert len(set(losses)) == 4  # the restarts are different runs
        best = int(np.argmin(losses))
        kept.append(best)
        for held, expected in zip(clf.get_weights(), weights[best]):
            np.testing.assert_array_equal(held, expected)
        assert clf.best_loss_ == pytest.approx(
            reference_loss(clf.get_weights(), X_mon, y_mon, alpha), rel=1e-10
        )
        assert clf.best_loss_ == pytest.approx(losses[best], rel=1e-10)
        pd.testing.assert_frame_equal(clf.history_, recorder.models[best].history_)
        assert clf.n_iter_ == len(clf.history_) == 8
    assert any(best != 0 for best in kept), kept
    # Restart 0 is the run a single fit with the same random_state makes (here
    # the last seed's), so a restarted fit is never worse than a single one.
    single = MLPNetClassifier(
        (3,), learning_rate=0.01, alpha=alpha, max_iter=8, dtype=np.float64,
        random_state=seed,
    ).fit(X_fit, y_fit, **extra)  # fmt: skip
    for a, b in zip(single.get_weights(), recorder.models[0].get_weights()):
        np.testing.assert_array_equal(a, b)


def test_warm_start_and_partial_fit_continue_training(blobs):
    X, y = blobs
    clf = MLPNetClassifier((8,), max_iter=3, warm_start=True, random_state=0)
    clf.fit(X, y)
    first = clf.get_weights()
    clf.fit(X, y)
    assert clf.n_iter_ == 6 and list(clf.history_.index) == list(range(1, 7))
    assert not np.allclose(first[0], clf.get_weights()[0])

    online = MLPNetClassifier((8,), learning_rate=0.01, random_state=0)
    losses = []
    for _ in range(5):
        online.partial_fit(X, y, classes=np.unique(y))
        losses.append(online.loss_)
    assert online.n_iter_ == 5
    assert losses[-1] < losses[0]
    with pytest.raises(ValueError, match="`classes` must be passed on the first"):
        MLPNetClassifier().partial_fit(X, y)
    with pytest.raises(ValueError, match="not seen in the first fit"):
        online.partial_fit(X, y + 10)


def test_class_weight_helps_the_rare_class():
    X, y = make_classification(
        300, 4, n_informative=2, weights=[0.9], flip_y=0, random_state=1
    )

    def rare_recall(class_weight):
        clf = MLPNetClassifier(
            (8,), max_iter=30, class_weight=class_weight, random_state=0
        ).fit(X, y)
        return np.mean(clf.predict(X[y == 1]) == 1)

    assert rare_recall("balanced") > rare_recall(None)
    assert rare_recall({0: 1, 1: 9}) > rare_recall(None)


def test_sample_weight_zero_weights_ignore_samples():
    X, y = make_classification(100, 4, random_state=0)
    w = np.ones(len(y))
    flipped = y.copy()
    flipped[:50] = 1 - flipped[:50]
    w[:50] = 0  # the corrupted half does not count
    clf = MLPNetClassifier((8,), max_iter=50, learning_rate=0.01, random_state=0)
    clf.fit(X, flipped, sample_weight=w)
    assert clf.score(X[50:], y[50:]) > 0.85
    with pytest.raises(ValueError, match="at least one non-zero"):
        clf.fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="sample_weight.shape"):
        clf.fit(X, y, sample_weight=np.ones(3))


def test_binary_and_multilabel_outputs():
    X, y = make_classification(80, 5, random_state=0)
    labels = np.array(["no", "yes"])[y]
    clf = MLPNetClassifier((8,), max_iter=20, random_state=0).fit(X, labels)
    assert clf.out_activation_ == "sigmoid" and clf.coefs_[-1].shape == (8, 1)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), atol=1e-10)
    np.testing.assert_array_equal(
        clf.predict(X), clf.classes_[(clf.decision_function(X) > 0).astype(int)]
    )

    Y = np.column_stack([y, 1 - y, X[:, 0] > 0]).astype(int)
    multi = MLPNetClassifier((8,), max_iter=20, random_state=0).fit(X, Y)
    assert multi.predict(X).shape == Y.shape
    proba = multi.predict_proba(X)
    assert proba.shape == Y.shape and ((proba > 0) & (proba < 1)).all()


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_probabilities_are_the_output_activation_of_the_logits(kind):
    """Catches a wrong output activation: e.g. normalised one-vs-rest sigmoids
    instead of a softmax (rows still sum to 1 and the argmax still agrees), a
    softmax over a binary problem's single logit, or log-probabilities that
    are not the log of the probabilities.

    The logits are computed here from ``get_weights()`` (tanh hidden layer,
    float64); ``decision_function`` must equal them, and ``predict_proba`` /
    ``predict_log_proba`` their softmax (multi-class) or sigmoid (binary, one
    logit for ``classes_[1]``; multilabel, one per label), from scipy.
    """
    X, y = make_classification(
        60, 4, n_informative=3, n_redundant=0, n_classes=3, random_state=0
    )
    y = {
        "binary": y == 1,
        "multiclass": y,
        "multilabel": np.column_stack([y == 0, y == 1, X[:, 0] > 0]).astype(int),
    }[kind]
    clf = MLPNetClassifier(
        (5,), activation="tanh", learning_rate=0.05, max_iter=20,
        dtype=np.float64, random_state=0,
    ).fit(X, y)  # fmt: skip
    Z = reference_logits(clf.get_weights(), X, "tanh")
    if kind == "binary":
        Z = Z.ravel()
        proba = np.column_stack([special.expit(-Z), special.expit(Z)])
        log_proba = np.column_stack([special.log_expit(-Z), special.log_expit(Z)])
    elif kind == "multiclass":
        proba = special.softmax(Z, axis=1)
        log_proba = special.log_softmax(Z, axis=1)
        # One-vs-rest sigmoids normalised to sum to 1 differ from the softmax
        # here: the comparison below can tell them apart.
        ovr = special.expit(Z) / special.expit(Z).sum(axis=1, keepdims=True)
        assert np.abs(ovr - proba).max() > 0.01
    else:
        proba, log_proba = special.expit(Z), special.log_expit(Z)
    np.testing.assert_allclose(clf.decision_function(X), Z, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(clf.predict_proba(X), proba, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(
        clf.predict_log_proba(X), log_proba, rtol=1e-12, atol=1e-15
    )
    assert proba.min() < 0.2 and proba.max() > 0.8  # away from uniform


def test_predict_log_proba_is_finite_for_confident_predictions():
    X, y = make_classification(60, 4, class_sep=5, random_state=0)
    clf = MLPNetClassifier((8,), learning_rate=0.5, max_iter=100, random_state=0)
    clf.fit(X * 100, y)
    log_proba = clf.predict_log_proba(X * 1e4)
    assert np.isfinite(log_proba).all()
    assert (clf.decision_function(X * 1e4) ** 2).max() > 1e4  # saturated logits


def test_regressor_outputs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    Y = np.column_stack([X @ [1.0, 2.0, 0.0], X[:, 0] - X[:, 2]])
    reg = MLPNetRegressor((16,), learning_rate=0.01, max_iter=100, random_state=0)
    assert reg.fit(X, Y).predict(X).shape == (80, 2)
    assert reg.n_outputs_ == 2 and reg.out_activation_ == "identity"
    assert reg.score(X, Y) > 0.9
    pred = reg.fit(X, Y[:, 0]).predict(X)
    assert pred.shape == (80,) and pred.dtype == np.float64
    with pytest.raises(ValueError, match="y has 2 outputs"):
        reg.partial_fit(X, Y)


# ---------------------------------------------------------------------------
# Inspection, persistence, parameters
# ---------------------------------------------------------------------------


def test_summary_weights_and_coefs(blobs):
    X, y = blobs
    clf = MLPNetClassifier((5, 4), dropout=0.1, max_iter=2, random_state=0).fit(X, y)
    summary = clf.summary()
    assert isinstance(summary, pd.DataFrame)
    assert list(summary.columns) == ["layer", "output_shape", "params", "trainable"]
    assert list(summary["output_shape"]) == [(None, 5), (None, 5), (None, 4)] + [
        (None, 4),
        (None, 3),
    ]
    assert list(summary["params"]) == [35, 0, 24, 0, 15]
    text = str(summary)
    assert "dense_2 (Dense)" in text and "(None, 3)" in text
    assert "Total params: 74" in text and "Non-trainable params: 0" in text
    assert [c.shape for c in clf.coefs_] == [(6, 5), (5, 4), (4, 3)]
    assert [b.shape for b in clf.intercepts_] == [(5,), (4,), (3,)]

    other = MLPNetClassifier((5, 4), dropout=0.1, max_iter=1, random_state=1)
    other.fit(X, y).set_weights(clf.get_weights())
    np.testing.assert_array_equal(other.predict_proba(X), clf.predict_proba(X))


def test_pickle_round_trip(blobs):
    X, y = blobs
    clf = MLPNetClassifier((8,), max_iter=3, random_state=0).fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    pd.testing.assert_frame_equal(loaded.history_, clf.history_)


@pytest.mark.slow  # importing skops.io takes seconds
def test_skops_round_trip(blobs):
    import skops.io as sio

    X, y = blobs
    clf = MLPNetClassifier((8,), max_iter=3, random_state=0).fit(X, y)
    data = sio.dumps(clf)
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    pd.testing.assert_frame_equal(loaded.history_, clf.history_)


def test_optimizer_objects_are_cloned_not_changed(blobs):
    X, y = blobs
    optimizer = Adam(learning_rate=0.01)
    clf = MLPNetClassifier((8,), optimizer=optimizer, max_iter=3, random_state=0)
    clf.fit(X, y)
    assert clf.optimizer is optimizer and not hasattr(optimizer, "state_")
    assert clf.optimizer_ is not optimizer and clf.optimizer_.state_["t"] > 0
    # Neither value is SGD's default learning rate (0.01), so a nested
    # parameter that does not reach the refit estimator's optimizer fails.
    grid = GridSearchCV(
        MLPNetClassifier((4,), optimizer=SGD(), max_iter=2, random_state=0),
        {"optimizer__learning_rate": [0.05, 0.2]},
        cv=2,
    ).fit(X, y)
    best_rate = grid.best_params_["optimizer__learning_rate"]
    assert grid.best_estimator_.optimizer_.learning_rate == best_rate


def _closed_form_steps(rule, settings, W, b, X, y, n_steps):
    """The weights after each of ``n_steps`` full-batch steps of ``rule`` on the
    squared error ``0.5 * mean((X W + b - y)**2)`` of one Dense layer, whose
    gradient is ``X^T r / n`` for W and ``mean(r)`` for b (r the residuals).
    The update formulas are those of scikit-learn's SGDOptimizer and
    AdamOptimizer, and PyTorch's RMSprop (epsilon outside the square root)."""
    params = [W.copy(), b.copy()]
    state = [{"v": 0.0, "m": 0.0} for _ in params]
    out = []
    for t in range(1, n_steps + 1):
        residual = X @ params[0] + params[1] - y[:, None]
        grads = [X.T @ residual / len(X), residual.mean(axis=0)]
        for p, g, st in zip(params, grads, state):
            lr = settings["learning_rate"]
            if rule == "sgd":
                momentum = settings["momentum"]
                st["v"] = momentum * st["v"] - lr * g
                if settings["nesterov"]:
                    p += momentum * st["v"] - lr * g
                else:
                    p += st["v"]
            elif rule == "adam":
                beta_1, beta_2 = settings["beta_1"], settings["beta_2"]
                st["m"] = beta_1 * st["m"] + (1 - beta_1) * g
                st["v"] = beta_2 * st["v"] + (1 - beta_2) * g**2
                step = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
                p -= step * st["m"] / (np.sqrt(st["v"]) + settings["epsilon"])
            else:  # rmsprop
                rho = settings["rho"]
                st["v"] = rho * st["v"] + (1 - rho) * g**2
                p -= lr * g / (np.sqrt(st["v"]) + settings["epsilon"])
        out.append([p.copy() for p in params])
    return out


# Each optimizer's own defaults: a setting lost on the way falls back to these.
_OPTIMIZER_DEFAULTS = {
    "sgd": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
    "adam": {"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8},
    "rmsprop": {"learning_rate": 1e-3, "rho": 0.9, "epsilon": 1e-7},
}
_OPTIMIZER_CASES = {
    # id: (estimator parameters, the update rule, the settings given; the
    # others are the optimizer's defaults)
    "SGD": ({"optimizer": SGD(learning_rate=0.05)}, "sgd", {"learning_rate": 0.05}),
    "SGD-momentum": (
        {"optimizer": SGD(learning_rate=0.05, momentum=0.7)},
        "sgd", {"learning_rate": 0.05, "momentum": 0.7},
    ),
    "SGD-nesterov": (
        {"optimizer": SGD(learning_rate=0.05, momentum=0.7, nesterov=True)},
        "sgd", {"learning_rate": 0.05, "momentum": 0.7, "nesterov": True},
    ),
    "Adam": (
        {"optimizer": Adam(learning_rate=0.05, beta_1=0.5, beta_2=0.8, epsilon=0.3)},
        "adam", {"learning_rate": 0.05, "beta_1": 0.5, "beta_2": 0.8, "epsilon": 0.3},
    ),
    "RMSProp": (
        {"optimizer": RMSProp(learning_rate=0.05, rho=0.5, epsilon=0.3)},
        "rmsprop", {"learning_rate": 0.05, "rho": 0.5, "epsilon": 0.3},
    ),
    "'sgd'": ({"optimizer": "sgd", "learning_rate": 0.05}, "sgd",
              {"learning_rate": 0.05}),
    "'momentum'": (
        {"optimizer": "momentum", "learning_rate": 0.05, "momentum": 0.7},
        "sgd", {"learning_rate": 0.05, "momentum": 0.7},
    ),
    "'nesterov'": (
        {"optimizer": "nesterov", "learning_rate": 0.05, "momentum": 0.7},
        "sgd", {"learning_rate": 0.05, "momentum": 0.7, "nesterov": True},
    ),
    "'adam'": ({"optimizer": "adam", "learning_rate": 0.05}, "adam",
               {"learning_rate": 0.05}),
    "'rmsprop'": ({"optimizer": "rmsprop", "learning_rate": 0.05}, "rmsprop",
                  {"learning_rate": 0.05}),
}  # fmt: skip


@pytest.mark.parametrize("case", _OPTIMIZER_CASES)
def test_optimizer_settings_reach_the_update(case):
    """Catches an optimizer setting, given by object or by the estimator's
    parameters, that does not reach ``optimizer_`` or the update (e.g. a
    default-constructed optimizer, a momentum or epsilon dropped, a learning
    rate taken from the wrong place, state not carried from step to step).

    A one-Dense-layer float64 regressor takes three full-batch steps
    (``partial_fit``) from weights set here, with fresh optimizer state; each
    step is compared with the closed form computed in the test. For every
    setting, the closed form with that setting at its default is checked to
    differ, so each setting is visible in the comparison.
    """
    params, rule, given = _OPTIMIZER_CASES[case]
    settings = {**_OPTIMIZER_DEFAULTS[rule], **given}
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 1.0
    W0, b0 = rng.normal(size=(3, 1)), np.array([0.3])
    reg = MLPNetRegressor(
        hidden_layer_sizes=(), batch_size=None, alpha=0.0, max_iter=1,
        dtype=np.float64, random_state=0, **params,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)  # builds the network
    optimizer_class = {"sgd": SGD, "adam": Adam, "rmsprop": RMSProp}[rule]
    assert type(reg.optimizer_) is optimizer_class
    assert reg.optimizer_.get_params() == settings
    reg.set_weights([W0, b0])
    reg.optimizer_.reset()  # start the steps below from fresh state
    expected = _closed_form_steps(rule, settings, W0, b0, X, y, n_steps=3)
    for W_expected, b_expected in expected:
        reg.partial_fit(X, y)
        W, b = reg.get_weights()
        np.testing.assert_allclose(W, W_expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(b, b_expected, rtol=1e-12, atol=1e-12)
    for name in given:
        default = _OPTIMIZER_DEFAULTS[rule][name]
        lost = _closed_form_steps(
            rule, {**settings, name: default}, W0, b0, X, y, n_steps=3
        )
        assert np.abs(lost[-1][0] - expected[-1][0]).max() > 1e-4, name


def test_layers_follow_the_parameters():
    clf = MLPNetClassifier((7, 3), activation="tanh", dropout=0.5)
    layers = clf._make_layers((4,), 2)
    assert [type(layer) for layer in layers] == [Dense, Dropout, Dense, Dropout, Dense]
    assert [layer.get_config() for layer in layers[::2]] == [
        {"units": 7, "activation": "tanh"},
        {"units": 3, "activation": "tanh"},
        {"units": 2, "activation": None},
    ]
    assert MLPNetRegressor(hidden_layer_sizes=()).fit([[0.0], [1.0]], [0, 1]).n_iter_


def test_pandas_input_sets_feature_names(blobs):
    X, y = blobs
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = MLPNetClassifier((4,), max_iter=2, random_state=0).fit(df, pd.Series(y))
    assert list(clf.feature_names_in_) == list(df.columns)
    assert clf.predict(df).shape == (len(y),)


# ---------------------------------------------------------------------------
# Callbacks and verbosity
# ---------------------------------------------------------------------------


def test_scoring_monitor_records_one_task_per_epoch(blobs):
    X, y = blobs
    monitor = ScoringMonitor(scoring="accuracy")
    clf = MLPNetClassifier((8,), max_iter=4, random_state=0).set_callbacks(monitor)
    clf.fit(X, y)
    log = monitor.get_logs().data_as_pandas
    assert list(log["task_name"]) == ["fit"] + ["epoch"] * 4
    assert log["accuracy"].iloc[0] == pytest.approx(clf.score(X, y))

    monitor = ScoringMonitor(scoring="accuracy")
    clf = MLPNetClassifier((8,), max_iter=2, n_restarts=2, random_state=0)
    clf.set_callbacks(monitor).fit(X, y)
    log = monitor.get_logs().data_as_pandas
    assert list(log["task_name"]) == ["fit", "restart", "restart"] + ["epoch"] * 4


def test_a_callback_can_stop_training(blobs):
    class StopAfter(Callback):
        def __init__(self, n_epochs):
            self.n_epochs = n_epochs

        def on_fit_task_end(self, estimator, context):
            return context.task_name == "epoch" and context.task_id + 1 >= self.n_epochs

    X, y = blobs
    clf = MLPNetClassifier((8,), max_iter=50, random_state=0)
    clf.set_callbacks(StopAfter(3)).fit(X, y)
    assert clf.n_iter_ == 3


def test_progress_bar_and_monitor_in_pipeline_and_search(blobs, capsys):
    X, y = blobs
    monitor = ScoringMonitor(scoring="accuracy")
    net = MLPNetClassifier((4,), max_iter=2, random_state=0).set_callbacks(monitor)
    pipe = make_pipeline(StandardScaler(), net).set_callbacks(ProgressBar())
    pipe.fit(X, y)
    assert len(monitor.get_logs().data) == 3

    search = GridSearchCV(
        make_pipeline(StandardScaler(), MLPNetClassifier((4,), max_iter=2)),
        {"mlpnetclassifier__alpha": [1e-4, 1e-2]},
        cv=2,
    )
    search.set_callbacks(ProgressBar())
    search.fit(X, y)
    assert "MLPNetClassifier - fit" in capsys.readouterr().out

    monitored = MLPNetClassifier((4,), max_iter=2, random_state=0).set_callbacks(
        ScoringMonitor(scoring="accuracy")
    )
    GridSearchCV(monitored, {"alpha": [1e-4, 1e-2]}, cv=2).fit(X, y)


def test_verbose_prints_one_line_per_epoch(blobs, capsys):
    X, y = blobs
    MLPNetClassifier((4,), max_iter=3, verbose=1, early_stopping=True).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("Epoch 1, loss=") and "val_score=" in lines[0]


def test_max_iter_warns_like_sklearn(blobs):
    X, y = blobs
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(2\\)"):
        MLPNetClassifier((4,), max_iter=2).fit(X, y)


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method",
    [
        "predict",
        "predict_proba",
        "predict_log_proba",
        "decision_function",
        "summary",
        "get_weights",
        "history_",
        "coefs_",
    ],
)
def test_unfitted_estimator_raises(method):
    clf = MLPNetClassifier()
    with pytest.raises(NotFittedError):
        attribute = getattr(clf, method)
        if callable(attribute):
            attribute(
                *([[[0.0]]] if method.startswith(("predict", "decision")) else [])
            )


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nan_and_inf_are_rejected(blobs, value):
    X, y = blobs
    bad = X.copy()
    bad[3, 2] = value
    clf = MLPNetClassifier((4,), max_iter=1)
    with pytest.raises(ValueError, match="NaN|infinity"):
        clf.fit(bad, y)
    clf.fit(X, y)
    with pytest.raises(ValueError, match="NaN|infinity"):
        clf.predict(bad)


def test_wrong_number_of_features_at_predict(blobs):
    X, y = blobs
    reg = MLPNetRegressor((4,), max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="X has 5 features, but MLPNetRegressor is"):
        reg.predict(X[:, :5])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"optimizer": "adagrad"}, "'optimizer' parameter"),
        ({"learning_rate": 0}, "'learning_rate' parameter"),
        ({"activation": "swish"}, "'activation' parameter"),
        ({"hidden_layer_sizes": (4, 0)}, "`hidden_layer_sizes` must contain positive"),
        ({"dropout": 1.0}, "'dropout' parameter"),
        ({"dtype": np.int32}, "'dtype' parameter"),
        ({"batch_size": 0}, "'batch_size' parameter"),
    ],
)
def test_bad_parameters_give_clear_errors(blobs, params, match):
    X, y = blobs
    with pytest.raises(ValueError, match=match):
        MLPNetClassifier(**params).fit(X, y)


def test_bad_targets(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="at least 2 classes"):
        MLPNetClassifier().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPNetClassifier().fit(X, np.linspace(0, 1, len(X)))
    with pytest.raises(ValueError, match="requires y to be passed"):
        MLPNetClassifier().fit(X, None)
    with pytest.raises(ValueError, match="holds out validation_fraction"):
        MLPNetRegressor(early_stopping=True).fit(X[:1], [0.5])


def test_training_score_is_the_running_score_of_the_epoch(blobs):
    """Full batch, no dropout: the epoch's score comes from the forward pass of
    the weights after its step, so the last epoch's score is the model's
    accuracy (restore_best_weights=False keeps those weights)."""
    X, y = blobs
    clf = MLPNetClassifier(
        (8,), batch_size=None, max_iter=3, restore_best_weights=False, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.history_["score"].iloc[-1] == pytest.approx(clf.score(X, y))
    reg = MLPNetRegressor((8,), max_iter=3, random_state=0).fit(X, X[:, 0])
    assert reg.history_["score"].notna().all()


def test_best_epoch_is_the_restored_epoch(blobs):
    X, y = blobs
    clf = MLPNetClassifier(
        (32,), learning_rate=0.05, early_stopping=True, n_iter_no_change=3,
        random_state=0,
    ).fit(X, y)  # fmt: skip
    assert clf.best_epoch_ == clf.history_["val_loss"].idxmin() == clf.n_iter_ - 3


@pytest.mark.parametrize("validation_fraction", [0.1, 0.2, 0.5])
def test_early_stopping_on_tiny_data_keeps_every_class_for_training(
    validation_fraction,
):
    # 3 classes cannot be stratified into 1 or 2 validation rows: the split
    # falls back to a random one that leaves every class in the training set.
    X = np.arange(20.0).reshape(10, 2)
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
    clf = MLPNetClassifier(
        (4,), early_stopping=True, validation_fraction=validation_fraction,
        max_iter=3, random_state=0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.history_["val_loss"].notna().all()
    train, validation = holdout_indices(
        10, validation_fraction, y, np.random.RandomState(0),
        name="validation_fraction", context="", instead="",
    )  # fmt: skip
    assert len(validation) == np.ceil(validation_fraction * 10)
    assert set(y[train]) == {0, 1, 2}  # every class is in training


@pytest.mark.parametrize(
    "Estimator, X, y, needs",
    [
        (MLPNetClassifier, np.eye(3), [0, 1, 2], "one of each of the 3 classes"),
        (MLPNetRegressor, np.ones((1, 2)), [1.0], "at least one"),
    ],
)
def test_early_stopping_without_enough_training_rows_raises(Estimator, X, y, needs):
    est = Estimator(early_stopping=True, validation_fraction=0.1)
    with pytest.raises(
        ValueError,
        match=rf"validation_fraction=0.1 of the n_samples={len(y)} samples \(1 for "
        rf"validation\), which leaves {len(y) - 1} for training; training needs "
        rf"{needs}.*early_stopping=False",
    ):
        est.fit(X, y)
