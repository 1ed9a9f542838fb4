"""scikit-learn's estimator checks on every skdeep estimator.

No check is expected to fail, with the one allowance of DEVELOPERS.md: an
estimator trained by shuffled mini-batches cannot make a weight of 2 equal to a
repeated row, because the two land in different batches (scikit-learn declares
the same for its own SGD estimators). Full-batch estimators get no allowance.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skdeep import (
    CoarseToFineSearchCV,
    ConvNetClassifier,
    LogisticGD,
    MLPNetClassifier,
    MLPNetRegressor,
    PerceptronClassifier,
)

MINI_BATCH_REASON = (
    "trained by shuffled mini-batches: a repeated row and a doubled weight fall "
    "in different batches, so the fits differ (as for scikit-learn's SGD "
    "estimators)"
)


def _estimators():
    return [
        PerceptronClassifier(),
        LogisticGD(),
        MLPNetClassifier(max_iter=100),
        MLPNetRegressor(max_iter=100),
        ConvNetClassifier(max_iter=30),
        CoarseToFineSearchCV(
            MLPNetClassifier(max_iter=60, random_state=0),
            {"learning_rate": [1e-3, 1e-2], "alpha": [1e-5, 1e-3]},
            n_iter=2,
            n_rounds=2,
            coarse_params={"max_iter": 5},
        ),
    ]


def _expected_failed_checks(estimator):
    trained_by_minibatches = "sample_weight" in _fit_parameters(estimator) and (
        getattr(estimator, "batch_size", None) is not None
    )
    if not trained_by_minibatches:
        return {}
    return {
        "check_sample_weight_equivalence_on_dense_data": MINI_BATCH_REASON,
        "check_sample_weight_equivalence_on_sparse_data": MINI_BATCH_REASON,
    }


def _fit_parameters(estimator):
    import inspect

    return inspect.signature(estimator.fit).parameters


@parametrize_with_checks(_estimators(), expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
