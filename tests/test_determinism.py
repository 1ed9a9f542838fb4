"""Reproducibility and continued training (issue 8).

The same ``random_state`` gives bit-identical weights and predictions -- with
mini-batch shuffling, dropout, early stopping, restarts and augmentation, and in
a search run on two processes. ``partial_fit`` over chunks and ``warm_start``
continue from the current weights instead of starting again.
"""

import numpy as np
import pytest
from sklearn.metrics import log_loss

from skdeep import (
    CoarseToFineSearchCV,
    ConvNetClassifier,
    LogisticGD,
    MLPNetClassifier,
    MLPNetRegressor,
    PerceptronClassifier,
)
from skdeep.augmentation import ImageAugmenter
from skdeep.layers import Conv2D, Dropout, Flatten, MaxPooling2D

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

RNG = np.random.default_rng(0)
IMAGES = RNG.normal(size=(60, 6, 6, 1))
Y = (IMAGES[:, :3, :, 0].mean(axis=(1, 2)) > 0).astype(int) + (
    IMAGES[:, :, :3, 0].mean(axis=(1, 2)) > 0
)
X = IMAGES.reshape(60, 36)


def _convnet(**params):
    return ConvNetClassifier(
        [Conv2D(3, 3, padding="same", activation="relu"), MaxPooling2D(2),
         Flatten(), Dropout(0.3)],
        input_shape=(6, 6, 1), batch_size=16, max_iter=4, **params,
    )  # fmt: skip


ESTIMATORS = {
    "PerceptronClassifier": lambda rs: PerceptronClassifier(max_iter=10,
                                                            random_state=rs),
    "LogisticGD-minibatch": lambda rs: LogisticGD(batch_size=8, max_iter=10,
                                                  random_state=rs),
    "MLPNetClassifier": lambda rs: MLPNetClassifier(
        (8,), dropout=0.2, batch_size=16, max_iter=5, n_restarts=2,
        random_state=rs,
    ),  # fmt: skip
    "MLPNetClassifier-early-stopping": lambda rs: MLPNetClassifier(
        (8,), early_stopping=True, n_iter_no_change=2, max_iter=10,
        random_state=rs,
    ),  # fmt: skip
    "MLPNetRegressor": lambda rs: MLPNetRegressor((8,), batch_size=16, max_iter=5,
                                                  random_state=rs),
    "ConvNetClassifier-augmented": lambda rs: _convnet(
        augmentation=ImageAugmenter(width_shift_range=0.3, height_shift_range=1,
                                    horizontal_flip=True),
        random_state=rs,
    ),  # fmt: skip
}


def _weights(estimator):
    if hasattr(estimator, "coef_"):
        return [estimator.coef_, estimator.intercept_]
    return estimator.get_weights()


def _fit(name, random_state):
    y = X[:, 0] if name == "MLPNetRegressor" else Y
    return ESTIMATORS[name](random_state).fit(X, y)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_same_random_state_gives_bit_identical_models(name):
    first, second = _fit(name, 7), _fit(name, 7)
    for a, b in zip(_weights(first), _weights(second), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first.predict(X), second.predict(X))
    assert first.loss_curve_ == second.loss_curve_
    # A RandomState instance in the same state is the same seed.
    third = _fit(name, np.random.RandomState(7))
    fourth = _fit(name, np.random.RandomState(7))
    for a, b in zip(_weights(third), _weights(fourth), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_another_random_state_gives_another_model(name):
    first, other = _fit(name, 7), _fit(name, 8)
    assert any(
        not np.array_equal(a, b)
        for a, b in zip(_weights(first), _weights(other), strict=True)
    )


def test_augmentation_is_reproducible_and_random():
    augmenter = ImageAugmenter(width_shift_range=0.5, horizontal_flip=True,
                               random_state=0)  # fmt: skip
    first = augmenter.augment(IMAGES[:5], n_copies=3)
    np.testing.assert_array_equal(first, augmenter.augment(IMAGES[:5], n_copies=3))
    other = augmenter.set_params(random_state=1).augment(IMAGES[:5], n_copies=3)
    assert not np.array_equal(first, other)
    batch = IMAGES[:8]
    a = augmenter.transform_batch(batch, np.random.default_rng(3))
    b = augmenter.transform_batch(batch, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


def test_search_on_two_processes_gives_the_same_result():
    # As with scikit-learn's searches, the search's random_state draws the
    # candidates and the validation split; the estimator's own random_state
    # seeds its training (with None, every candidate fit is random).
    def search(n_jobs):
        return CoarseToFineSearchCV(
            MLPNetClassifier((4,), max_iter=5, batch_size=16, random_state=0),
            {"alpha": [1e-5, 1e-4, 1e-3], "learning_rate": [1e-3, 1e-2, 3e-2]},
            n_iter=3, n_rounds=2, coarse_params={"max_iter": 2},
            n_jobs=n_jobs, random_state=0,
        ).fit(X, Y)  # fmt: skip

    serial, parallel = search(None), search(2)
    np.testing.assert_array_equal(
        serial.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"]
    )
    assert serial.best_params_ == parallel.best_params_
    for a, b in zip(serial.best_estimator_.get_weights(),
                    parallel.best_estimator_.get_weights()):  # fmt: skip
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(serial.predict_proba(X), parallel.predict_proba(X))


# ---------------------------------------------------------------------------
# partial_fit and warm_start continue training
# ---------------------------------------------------------------------------

INCREMENTAL = {
    "PerceptronClassifier": lambda: PerceptronClassifier(learning_rate=0.1,
                                                         random_state=0),
    "LogisticGD": lambda: LogisticGD(learning_rate=0.05, random_state=0),
    "MLPNetClassifier": lambda: MLPNetClassifier(
        (16,), learning_rate=3e-3, batch_size=10, random_state=0
    ),
    "ConvNetClassifier": lambda: _convnet(learning_rate=3e-3, random_state=0),
}


@pytest.mark.parametrize("name", INCREMENTAL)
def test_partial_fit_over_three_chunks_keeps_learning(name):
    estimator = INCREMENTAL[name]()
    chunks = np.array_split(np.arange(60), 3)
    losses, previous = [], None
    for _ in range(4):
        for rows in chunks:
            estimator.partial_fit(X[rows], Y[rows], classes=[0, 1, 2])
            weights = [w.copy() for w in _weights(estimator)]
            if previous is not None:  # every chunk moves the weights
                assert any(not np.array_equal(a, b)
                           for a, b in zip(weights, previous))  # fmt: skip
            previous = weights
        if hasattr(estimator, "predict_proba") and name != "PerceptronClassifier":
            losses.append(log_loss(Y, estimator.predict_proba(X)))
        else:
            losses.append(1 - estimator.score(X, Y))
    assert estimator.n_iter_ == 12  # one epoch per call
    assert len(estimator.loss_curve_) == 12
    if name == "PerceptronClassifier":
        assert losses[-1] <= losses[0]  # error counts fall, not monotonically
    else:
        assert all(later < earlier for earlier, later in zip(losses, losses[1:]))


@pytest.mark.parametrize("name", ["LogisticGD", "MLPNetClassifier",
                                  "ConvNetClassifier", "PerceptronClassifier"])
def test_partial_fit_is_reproducible(name):
    def run():
        estimator = INCREMENTAL[name]()
        for rows in np.array_split(np.arange(60), 3):
            estimator.partial_fit(X[rows], Y[rows], classes=[0, 1, 2])
        return _weights(estimator)

    for a, b in zip(run(), run(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "make",
    [
        lambda: LogisticGD(learning_rate=0.05, max_iter=5, random_state=0),
        lambda: MLPNetClassifier((16,), learning_rate=3e-3, batch_size=10,
                                 max_iter=5, random_state=0),
        lambda: MLPNetRegressor((16,), learning_rate=3e-3, batch_size=10,
                                max_iter=5, random_state=0),
        lambda: _convnet(learning_rate=3e-3, random_state=0),
    ],
    ids=["LogisticGD", "MLPNetClassifier", "MLPNetRegressor", "ConvNetClassifier"],
)
def test_warm_start_continues_from_the_previous_weights(make):
    estimator = make().set_params(warm_start=True)
    y = X[:, 0] if isinstance(estimator, MLPNetRegressor) else Y
    estimator.fit(X, y)
    first_curve = list(estimator.loss_curve_)
    first_n_iter = estimator.n_iter_
    estimator.fit(X, y)
    # The epochs accumulate, and the second fit starts where the first ended,
    # far below where the first started.
    assert estimator.n_iter_ > first_n_iter
    assert estimator.loss_curve_[: len(first_curve)] == first_curve
    resumed = estimator.loss_curve_[len(first_curve)]
    assert resumed < first_curve[0]
    assert resumed == pytest.approx(first_curve[-1], rel=0.25)
    # Without warm_start, a second fit starts again from scratch.
    cold = make().fit(X, y)
    cold.fit(X, y)
    assert cold.loss_curve_[0] == pytest.approx(first_curve[0])
    assert cold.n_iter_ == first_n_iter
