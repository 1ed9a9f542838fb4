"""What scikit-learn's estimator checks may fail on a skdeep estimator, and why.

Every skdeep estimator passes :func:`sklearn.utils.estimator_checks.check_estimator`
with one documented allowance, the one scikit-learn makes for its own SGD
estimators: an estimator trained by shuffled mini-batches (or, like the
perceptron, point by point) cannot make a sample weight of 2 equal to a repeated
row, because the weighted row and its copy take different steps. Only the two
``check_sample_weight_equivalence_*`` checks test that.
:func:`expected_failed_checks` returns exactly that allowance for an estimator
instance (an empty dict where none applies), in the form ``check_estimator``
and ``parametrize_with_checks`` take.
"""

from sklearn.utils.validation import has_fit_parameter

SHUFFLED_BATCHES_REASON = (
    "trained by shuffled mini-batches (or point by point): a repeated row and a "
    "doubled weight take different steps, so the fits differ (as for "
    "scikit-learn's SGD estimators); where one batch covers the checks' small "
    "data, float32 rounding still tells them apart (float64 passes)"
)

_SAMPLE_WEIGHT_CHECKS = (
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weight_equivalence_on_sparse_data",
)


def expected_failed_checks(estimator):
    """The estimator checks ``estimator`` may fail, with the reason.

    The allowance applies to an estimator whose ``fit`` takes ``sample_weight``
    and that trains by shuffled mini-batches: a network or ``LogisticGD`` with
    ``batch_size`` set (the networks' default), and ``PerceptronClassifier``,
    whose rule updates point by point. It does not apply to full-batch training
    (``batch_size=None``), which passes every check. On the checks' 15-row data
    a batch of 200 covers every row, and then only float32 rounding separates a
    weight from a repeated row: a float64 estimator with such a batch passes the
    check anyway (``check_estimator`` reports an expected failure that passes
    as passed).

    Parameters
    ----------
    estimator : estimator instance

    Returns
    -------
    expected_failed_checks : dict of str to str
        Check name to reason: the ``expected_failed_checks`` argument of
        :func:`~sklearn.utils.estimator_checks.check_estimator`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils.estimator_checks import check_estimator
    >>> from skdeep import LogisticGD, MLPNetClassifier
    >>> from skdeep.utils.estimator_checks import expected_failed_checks
    >>> sorted(expected_failed_checks(MLPNetClassifier()))
    ['check_sample_weight_equivalence_on_dense_data', \
'check_sample_weight_equivalence_on_sparse_data']
    >>> expected_failed_checks(LogisticGD())  # full batch: no allowance
    {}
    >>> net = MLPNetClassifier((16,), max_iter=100, random_state=0)
    >>> results = check_estimator(
    ...     net, expected_failed_checks=expected_failed_checks(net), on_fail=None
    ... )
    >>> [r["check_name"] for r in results if r["status"] in ("failed", "xfail")]
    ['check_sample_weight_equivalence_on_dense_data', \
'check_sample_weight_equivalence_on_sparse_data']
    """
    trains_by_batches = getattr(estimator, "_trained_by_shuffled_batches", None)
    if trains_by_batches is None or not has_fit_parameter(estimator, "sample_weight"):
        return {}
    if not trains_by_batches():
        return {}
    return dict.fromkeys(_SAMPLE_WEIGHT_CHECKS, SHUFFLED_BATCHES_REASON)


__all__ = ["SHUFFLED_BATCHES_REASON", "expected_failed_checks"]
