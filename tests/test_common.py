"""scikit-learn's estimator checks on every skdeep estimator.

No check is expected to fail, with the one allowance of DEVELOPERS.md: an
estimator trained by shuffled mini-batches cannot make a weight of 2 equal to a
repeated row, because the two land in different batches (scikit-learn declares
the same for its own SGD estimators). Full-batch estimators get no allowance.

The networks appear twice. In float64 with a batch larger than the checks'
data sets (so, full batch), where a weighted fit must equal a fit on repeated
rows to the check's 1e-7 and no check may fail. And with their float32 default
in real mini-batches, where only the sample-weight equivalence is let off.
The networks with early stopping run on the checks' tiny data sets too, in
mini-batches (their random validation split alone would also tell a repeated row
from a doubled weight).
"""

import inspect

import numpy as np
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
        # The default perceptron runs all 1000 epochs on the checks' overlapping
        # classes; stopping once errors no longer fall keeps the checks fast.
        PerceptronClassifier(n_iter_no_change=5, random_state=0),
        LogisticGD(random_state=0),
        LogisticGD(alpha=1e-3, l1=1e-3, class_weight="balanced", random_state=0),
        LogisticGD(batch_size=16, random_state=0),
        MLPNetClassifier(max_iter=100, dtype=np.float64),
        MLPNetClassifier(max_iter=100, batch_size=16),
        MLPNetRegressor(max_iter=100, dtype=np.float64),
        MLPNetRegressor(max_iter=100, batch_size=16),
        # Early stopping on the checks' tiny data sets (10 rows, 2-3 classes).
        MLPNetClassifier(early_stopping=True, max_iter=50, batch_size=16),
        MLPNetRegressor(early_stopping=True, max_iter=50, batch_size=16),
        ConvNetClassifier(max_iter=30, dtype=np.float64, batch_size=1000),
        ConvNetClassifier(max_iter=30),
        CoarseToFineSearchCV(
            MLPNetClassifier(max_iter=60, random_state=0),
            {"learning_rate": [1e-3, 1e-2], "alpha": [1e-5, 1e-3]},
            n_iter=2,
            n_rounds=2,
            coarse_params={"max_iter": 5},
        ),
    ]


# The largest data set a sample-weight check fits has fewer rows than this.
CHECK_DATA_ROWS = 100


def _expected_failed_checks(estimator):
    batch_size = getattr(estimator, "batch_size", None)
    trained_by_minibatches = (
        "sample_weight" in inspect.signature(estimator.fit).parameters
        and batch_size is not None
        and batch_size < CHECK_DATA_ROWS
    )
    if not trained_by_minibatches:
        return {}
    return {
        "check_sample_weight_equivalence_on_dense_data": MINI_BATCH_REASON,
        "check_sample_weight_equivalence_on_sparse_data": MINI_BATCH_REASON,
    }


@parametrize_with_checks(_estimators(), expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
