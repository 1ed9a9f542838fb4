"""Sensitivity and specificity, the cancer-detection metrics of the notes (section 四).

In the cancer example of the notes:

- **sensitivity** -- of all the people who *have* cancer, how many were diagnosed
  correctly: ``TP / (TP + FN)``. It is the same number as the recall.
- **specificity** -- of all the people who do *not* have cancer, how many were
  diagnosed correctly: ``TN / (TN + FP)``. It is *not* the precision,
  ``TP / (TP + FP)``.

All counts come from :func:`sklearn.metrics.multilabel_confusion_matrix`, one
one-vs-rest 2x2 matrix per class, so sample weights, string labels, the ``labels``
argument and multilabel targets behave as in :func:`sklearn.metrics.recall_score`.
The averages follow imbalanced-learn's ``sensitivity_score`` / ``specificity_score``
(``'weighted'`` weighs every class by its support, the number of true samples of
that class), except that weighted true negatives are summed from the weights: there
imbalanced-learn counts samples, and its weighted specificity can exceed 1
(imbalanced-learn issue #1180).

Two ready-made scorers, :data:`sensitivity_scorer` and :data:`specificity_scorer`,
score the positive class ``1``. For another positive class, e.g. *malignant* which
is class ``0`` in :func:`sklearn.datasets.load_breast_cancer`, make one with
:func:`sklearn.metrics.make_scorer`::

    make_scorer(sensitivity_score, pos_label=0)

A screening test is tuned the other way round: the doctors fix the specificity
they can afford and ask for the best sensitivity.
:func:`sensitivity_at_specificity_score` reads it off the ROC curve of a
continuous score, and :func:`make_sensitivity_at_specificity_scorer` makes it a
scorer for a search or for
:class:`~sklearn.model_selection.TunedThresholdClassifierCV`, which picks the
threshold.
"""

from numbers import Real

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import make_scorer, multilabel_confusion_matrix
from sklearn.utils.multiclass import type_of_target, unique_labels

from skdeep._operating_point import (
    make_sensitivity_at_specificity_scorer,
    sensitivity_at_specificity_score,
)
from skdeep.utils._sklearn_compat import (
    Options,
    StrOptions,
    _check_set_wise_labels,
    validate_params,
)
from skdeep.utils._warnings import warn_user

__all__ = [
    "make_sensitivity_at_specificity_scorer",
    "sensitivity_at_specificity_score",
    "sensitivity_score",
    "sensitivity_scorer",
    "sensitivity_specificity_report",
    "specificity_score",
    "specificity_scorer",
]

# The constraints shared by the scores of hard predictions, in scikit-learn's
# vocabulary.
_COMMON_CONSTRAINTS = {
    "y_true": ["array-like", "sparse matrix"],
    "y_pred": ["array-like", "sparse matrix"],
    "labels": ["array-like", None],
    "sample_weight": ["array-like", None],
    "zero_division": [Options(Real, {0.0, 1.0}), "nan", StrOptions({"warn"})],
}
_SCORE_CONSTRAINTS = {
    **_COMMON_CONSTRAINTS,
    "pos_label": [Real, str, "boolean", None],
    "average": [
        StrOptions({"binary", "micro", "macro", "weighted", "samples"}),
        None,
    ],
}


def _divide(numerator, denominator, *, metric, modifier, average, zero_division):
    """``numerator / denominator``, with ``zero_division`` where the denominator is 0.

    Warns like scikit-learn's precision and recall when ``zero_division="warn"``.
    """
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    undefined = denominator == 0
    result = numerator / np.where(undefined, 1.0, denominator)
    if not undefined.any():
        return result
    result[undefined] = 0.0 if zero_division == "warn" else zero_division
    if zero_division == "warn":
        # e.g. "Specificity is ill-defined and being set to 0.0 in labels with no
        # negative samples. Use `zero_division` parameter to control this behavior."
        axis, other = (
            ("label", "sample") if average == "samples" else ("sample", "label")
        )
        where = "due to" if result.shape[0] == 1 else f"in {other}s with"
        warn_user(
            f"{metric} is ill-defined and being set to 0.0 {where} no {modifier} "
            f"{axis}s. Use `zero_division` parameter to control this behavior.",
            UndefinedMetricWarning,
        )
    return result


def _nanaverage(scores, weights=None):
    """Average of ``scores`` ignoring NaN (``zero_division=np.nan``), as a float.

    All-zero weights fall back to the plain mean, as scikit-learn's averages do.
    """
    keep = ~np.isnan(scores)
    if not keep.any():
        return float("nan")
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)[keep]
        if weights.sum() == 0:
            weights = None
    return float(np.average(scores[keep], weights=weights))


def _sensitivity_specificity(
    y_true, y_pred, *, labels, pos_label, average, sample_weight, zero_division, which
):
    """Compute the sensitivity or the specificity (``which``) for any ``average``."""
    labels = _check_set_wise_labels(y_true, y_pred, average, labels, pos_label)
    # One one-vs-rest matrix [[TN, FP], [FN, TP]] per label (per sample for
    # average='samples'), flattened below to the columns TN, FP, FN, TP.
    mcm = multilabel_confusion_matrix(
        y_true,
        y_pred,
        sample_weight=sample_weight,
        labels=labels,
        samplewise=average == "samples",
    )
    # With float sample weights, scikit-learn derives TN, FP and FN by
    # subtraction, which can leave -1e-16 where 0 is meant (a score just
    # outside [0, 1]): clip the rounding away.
    tn, fp, fn, tp = np.maximum(mcm, 0).reshape(-1, 4).T
    support = tp + fn
    if which == "sensitivity":
        numerator, denominator = tp, tp + fn
        metric, modifier = "Sensitivity", "true"
    else:
        numerator, denominator = tn, tn + fp
        metric, modifier = "Specificity", "negative"
    if average == "micro":
        numerator, denominator = (
            numerator.sum(keepdims=True),
            denominator.sum(keepdims=True),
        )
    scores = _divide(
        numerator,
        denominator,
        metric=metric,
        modifier=modifier,
        average=average,
        zero_division=zero_division,
    )
    if average is None:
        return scores
    if average == "weighted":
        weights = support
    elif average == "samples":
        weights = sample_weight
    else:
        weights = None
    return _nanaverage(scores, weights)


@validate_params(_SCORE_CONSTRAINTS, prefer_skip_nested_validation=True)
def sensitivity_score(
    y_true,
    y_pred,
    *,
    labels=None,
    pos_label=1,
    average="binary",
    sample_weight=None,
    zero_division="warn",
):
    """Sensitivity ``TP / (TP + FN)``: the fraction of actual positives found.

    Of all the patients who have cancer, how many were diagnosed as having it.
    The sensitivity is the recall, so this equals
    :func:`sklearn.metrics.recall_score` with the same arguments; it is here to
    pair with :func:`specificity_score`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_labels)
        Ground truth (correct) labels; a label indicator matrix for multilabel
        targets.

    y_pred : array-like of shape (n_samples,) or (n_samples, n_labels)
        Predicted labels, as returned by a classifier's ``predict``.

    labels : array-like, default=None
        The labels to include when ``average != 'binary'``, and their order if
        ``average is None``. Labels absent from the data get a score of
        ``zero_division`` (or 0 for the absent side). For multilabel targets,
        labels are column indices. By default, all labels of ``y_true`` and
        ``y_pred``, sorted.

    pos_label : int, float, bool or str, default=1
        The positive class (e.g. the patients who have cancer) when
        ``average='binary'`` and the data are binary. Ignored otherwise (with a
        warning if set); use ``labels=[pos_label]`` and ``average=None`` to score
        one class of a multiclass problem.

    average : {'binary', 'micro', 'macro', 'weighted', 'samples'} or None, \
            default='binary'
        ``None`` returns the score of each label. Otherwise:

        ``'binary'``
            The score of ``pos_label`` only; binary targets only.
        ``'micro'``
            Sum the counts of every label first, then divide.
        ``'macro'``
            The unweighted mean of the per-label scores.
        ``'weighted'``
            The mean of the per-label scores weighted by support (the number of
            true samples of each label).
        ``'samples'``
            The mean over samples of the per-sample scores; multilabel targets
            only.

    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights: every count of the confusion matrix becomes a sum of
        weights.

    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        The score where it is undefined (a zero denominator). ``"warn"`` acts as
        0 and raises an :class:`~sklearn.exceptions.UndefinedMetricWarning`.
        ``np.nan`` scores are left out of the averages.

    Returns
    -------
    sensitivity : float or ndarray of shape (n_labels,)
        The sensitivity, or one per label if ``average is None``.

    See Also
    --------
    specificity_score : The fraction of actual negatives found.
    sensitivity_specificity_report : Counts and scores of every class.
    sklearn.metrics.recall_score : The same number under its other name.

    Notes
    -----
    :data:`sensitivity_scorer` wraps this function for ``pos_label=1``. Make a
    scorer for another positive class with ``make_scorer(sensitivity_score,
    pos_label=0)``.

    Examples
    --------
    >>> from skdeep.metrics import sensitivity_score
    >>> y_true = [0, 1, 1, 0, 1, 0]
    >>> y_pred = [0, 1, 0, 0, 1, 1]
    >>> sensitivity_score(y_true, y_pred)
    0.666...
    >>> sensitivity_score(y_true, y_pred, average=None)
    array([0.666..., 0.666...])
    >>> y_true = ["cat", "dog", "pig", "cat", "dog", "pig"]
    >>> y_pred = ["cat", "pig", "dog", "cat", "cat", "dog"]
    >>> sensitivity_score(y_true, y_pred, average="macro")
    0.333...
    """
    return _sensitivity_specificity(
        y_true,
        y_pred,
        labels=labels,
        pos_label=pos_label,
        average=average,
        sample_weight=sample_weight,
        zero_division=zero_division,
        which="sensitivity",
    )


@validate_params(_SCORE_CONSTRAINTS, prefer_skip_nested_validation=True)
def specificity_score(
    y_true,
    y_pred,
    *,
    labels=None,
    pos_label=1,
    average="binary",
    sample_weight=None,
    zero_division="warn",
):
    """Specificity ``TN / (TN + FP)``: the fraction of actual negatives found.

    Of all the patients who do not have cancer, how many were diagnosed as
    healthy. Unlike the sensitivity (the recall) it is not the precision,
    ``TP / (TP + FP)``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_labels)
        Ground truth (correct) labels; a label indicator matrix for multilabel
        targets.

    y_pred : array-like of shape (n_samples,) or (n_samples, n_labels)
        Predicted labels, as returned by a classifier's ``predict``.

    labels : array-like, default=None
        The labels to include when ``average != 'binary'``, and their order if
        ``average is None``. Labels absent from the data get a score of
        ``zero_division`` (or 0 for the absent side). For multilabel targets,
        labels are column indices. By default, all labels of ``y_true`` and
        ``y_pred``, sorted.

    pos_label : int, float, bool or str, default=1
        The positive class (e.g. the patients who have cancer) when
        ``average='binary'`` and the data are binary. Ignored otherwise (with a
        warning if set); use ``labels=[pos_label]`` and ``average=None`` to score
        one class of a multiclass problem.

    average : {'binary', 'micro', 'macro', 'weighted', 'samples'} or None, \
            default='binary'
        ``None`` returns the score of each label. Otherwise:

        ``'binary'``
            The score of ``pos_label`` only; binary targets only.
        ``'micro'``
            Sum the counts of every label first, then divide.
        ``'macro'``
            The unweighted mean of the per-label scores.
        ``'weighted'``
            The mean of the per-label scores weighted by support (the number of
            true samples of each label).
        ``'samples'``
            The mean over samples of the per-sample scores; multilabel targets
            only.

    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights: every count of the confusion matrix becomes a sum of
        weights.

    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        The score where it is undefined (a zero denominator). ``"warn"`` acts as
        0 and raises an :class:`~sklearn.exceptions.UndefinedMetricWarning`.
        ``np.nan`` scores are left out of the averages.

    Returns
    -------
    specificity : float or ndarray of shape (n_labels,)
        The specificity, or one per label if ``average is None``.

    See Also
    --------
    sensitivity_score : The fraction of actual positives found.
    sensitivity_specificity_report : Counts and scores of every class.

    Notes
    -----
    The per-label specificity of label ``k`` treats ``k`` as the positive class
    and every other label as negative; ``'weighted'`` weighs it by the support of
    ``k``, as imbalanced-learn does. With ``sample_weight``, true negatives are
    sums of weights (imbalanced-learn counts them unweighted; see its issue #1180).

    :data:`specificity_scorer` wraps this function for ``pos_label=1``. Make a
    scorer for another positive class with ``make_scorer(specificity_score,
    pos_label=0)``.

    Examples
    --------
    >>> from skdeep.metrics import specificity_score
    >>> y_true = [0, 1, 1, 0, 1, 0]
    >>> y_pred = [0, 1, 0, 0, 1, 1]
    >>> specificity_score(y_true, y_pred)
    0.666...
    >>> specificity_score(y_true, y_pred, pos_label=0)
    0.666...
    >>> y_true = ["cat", "dog", "pig", "cat", "dog", "pig"]
    >>> y_pred = ["cat", "pig", "dog", "cat", "cat", "dog"]
    >>> specificity_score(y_true, y_pred, average=None)
    array([0.75, 0.5 , 0.75])
    """
    return _sensitivity_specificity(
        y_true,
        y_pred,
        labels=labels,
        pos_label=pos_label,
        average=average,
        sample_weight=sample_weight,
        zero_division=zero_division,
        which="specificity",
    )


@validate_params(_COMMON_CONSTRAINTS, prefer_skip_nested_validation=True)
def sensitivity_specificity_report(
    y_true, y_pred, *, labels=None, sample_weight=None, zero_division="warn"
):
    """Confusion counts, sensitivity, specificity, precision and recall per class.

    Every class in turn is the positive class, the others together the negative
    one (the class's one-vs-rest confusion matrix).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_labels)
        Ground truth (correct) labels; a label indicator matrix for multilabel
        targets.

    y_pred : array-like of shape (n_samples,) or (n_samples, n_labels)
        Predicted labels, as returned by a classifier's ``predict``.

    labels : array-like, default=None
        The classes to report, in this order. By default, all labels of
        ``y_true`` and ``y_pred``, sorted (column indices for multilabel
        targets).

    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights: every count becomes a sum of weights.

    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        The score where it is undefined (a zero denominator). ``"warn"`` acts as
        0 and raises an :class:`~sklearn.exceptions.UndefinedMetricWarning`.

    Returns
    -------
    report : pandas.DataFrame
        One row per class, indexed by the class label (index name ``"class"``),
        with columns ``TP``, ``FP``, ``TN``, ``FN`` (integers, or floats with
        ``sample_weight``), ``sensitivity``, ``specificity``, ``precision``,
        ``recall`` and ``support`` (``TP + FN``). ``recall`` repeats
        ``sensitivity``: the notes stress that they are one number, while the
        specificity is not the precision.

    See Also
    --------
    sensitivity_score : The fraction of actual positives found.
    specificity_score : The fraction of actual negatives found.
    sklearn.metrics.classification_report : Precision, recall and F1 as text.

    Examples
    --------
    >>> from skdeep.metrics import sensitivity_specificity_report
    >>> y_true = ["benign", "malignant", "malignant", "benign", "malignant"]
    >>> y_pred = ["benign", "malignant", "benign", "benign", "malignant"]
    >>> report = sensitivity_specificity_report(y_true, y_pred)
    >>> report[["TP", "FP", "TN", "FN"]]
               TP  FP  TN  FN
    class
    benign      2   1   2   0
    malignant   2   0   2   1
    >>> report.loc["malignant", ["sensitivity", "specificity", "precision"]]
    sensitivity    0.666667
    specificity    1.000000
    precision      1.000000
    Name: malignant, dtype: float64
    """
    if labels is None:
        if type_of_target(y_true).startswith("multilabel"):
            labels = np.arange(np.shape(y_true)[1])
        else:
            labels = unique_labels(y_true, y_pred)
    mcm = multilabel_confusion_matrix(
        y_true, y_pred, sample_weight=sample_weight, labels=labels
    )
    # With float sample weights, scikit-learn derives TN, FP and FN by
    # subtraction, which can leave -1e-16 where 0 is meant (a score just
    # outside [0, 1]): clip the rounding away.
    tn, fp, fn, tp = np.maximum(mcm, 0).reshape(-1, 4).T
    kwargs = {"average": None, "zero_division": zero_division}
    sensitivity = _divide(tp, tp + fn, metric="Sensitivity", modifier="true", **kwargs)
    specificity = _divide(
        tn, tn + fp, metric="Specificity", modifier="negative", **kwargs
    )
    precision = _divide(tp, tp + fp, metric="Precision", modifier="predicted", **kwargs)
    report = pd.DataFrame(
        {
            "TP": tp,
            "FP": fp,
            "TN": tn,
            "FN": fn,
            "sensitivity": sensitivity,
            "specificity": specificity,
            "precision": precision,
            "recall": sensitivity,
            "support": tp + fn,
        },
        index=pd.Index(np.asarray(labels), name="class"),
    )
    return report


sensitivity_scorer = make_scorer(sensitivity_score)
"""Scorer of :func:`sensitivity_score` with ``pos_label=1`` (binary targets)."""

specificity_scorer = make_scorer(specificity_score)
"""Scorer of :func:`specificity_score` with ``pos_label=1`` (binary targets)."""
