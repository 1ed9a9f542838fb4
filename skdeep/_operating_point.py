"""The best sensitivity at a fixed specificity: a screening test's operating point.

The cancer screening of the notes (四) fixes the specificity and asks for the
best sensitivity. Separate from the scores of hard predictions in
:mod:`skdeep.metrics` (which re-exports these functions) because it reads the
ROC curve of a continuous score, one point per threshold, rather than one
confusion matrix.
"""

from numbers import Real

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import confusion_matrix_at_thresholds, make_scorer
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d

from skdeep.utils._sklearn_compat import Interval, validate_params
from skdeep.utils._warnings import warn_user

__all__ = [
    "make_sensitivity_at_specificity_scorer",
    "sensitivity_at_specificity_score",
]


def _binary_scores(y_true, y_score, pos_label):
    """Check binary ``y_true`` and 1-D ``y_score``; resolve ``pos_label``.

    Returns ``y_true``, ``y_score`` as scores, the positive label, and whether
    ``y_true`` holds both classes. Hard predictions (labels of ``y_true`` with a
    non-floating dtype, as
    :class:`~sklearn.model_selection.TunedThresholdClassifierCV` passes them)
    become the score 1.0 for ``pos_label`` and 0.0 for the other class: read as
    scores, the labels would rank the samples by label value, and backwards
    whenever the positive class is the smaller label (``0``, *malignant*, in
    :func:`~sklearn.datasets.load_breast_cancer`).
    """
    target_type = type_of_target(y_true, input_name="y_true")
    if target_type != "binary":
        classes = (
            f" with classes {unique_labels(y_true).tolist()}"
            if target_type == "multiclass"
            else ""
        )
        raise ValueError(
            "`y_true` must hold the labels of two classes (binary targets); "
            f"received {target_type!r} targets{classes}."
        )
    y_true = column_or_1d(y_true)
    y_score = np.asarray(y_score)
    if y_score.ndim != 1:
        raise ValueError(
            "`y_score` must be 1-D, one score per sample (of predict_proba's "
            f"output, the column of the positive class); received shape "
            f"{y_score.shape}."
        )
    if y_score.shape[0] != y_true.shape[0] or y_true.shape[0] == 0:
        raise ValueError(
            "`y_true` and `y_score` must hold the same number of samples, at "
            f"least one; received {y_true.shape[0]} and {y_score.shape[0]}."
        )
    classes = np.unique(y_true)
    if pos_label is None:
        # The rule of scikit-learn's ranking metrics (roc_curve, ...).
        if classes.dtype.kind not in "biuf" or not (
            np.isin(classes, [0, 1]).all() or np.isin(classes, [-1, 1]).all()
        ):
            raise ValueError(
                f"`y_true` holds the classes {classes.tolist()}: pass `pos_label`, "
                "the positive class (e.g. the patients who have cancer). Without "
                "it, the classes must be {0, 1} or {-1, 1}, and 1 is positive."
            )
        pos_label = 1
    elif classes.shape[0] == 2 and pos_label not in classes.tolist():
        raise ValueError(
            f"`pos_label` must be one of the classes of `y_true`, "
            f"{classes.tolist()}; received pos_label={pos_label!r}."
        )
    if classes.shape[0] < 2:
        return y_true, y_score, pos_label, False

    values = set(np.unique(y_score).tolist())
    are_labels = values <= set(classes.tolist())
    if are_labels and y_score.dtype.kind != "f":
        y_score = (y_score == pos_label).astype(np.float64)
    elif y_score.dtype.kind not in "biuf":
        raise ValueError(
            "`y_score` must hold numeric scores, or hard predictions among the "
            f"classes of `y_true`, {classes.tolist()}; received values such as "
            f"{sorted(values - set(classes.tolist()), key=str)[:3]}."
        )
    elif (
        are_labels
        and classes.dtype.kind == "f"
        and len(values) == 2
        and pos_label != classes.max()
    ):
        raise ValueError(
            "`y_score` holds only the classes of `y_true`, "
            f"{classes.tolist()}, as floats: as hard predictions {pos_label!r} "
            "(the `pos_label`) would be positive, as scores the higher value "
            "would. Encode the classes as integers or strings, whose "
            "predictions are read as labels."
        )
    return y_true, y_score, pos_label, True


@validate_params(
    {
        "y_true": ["array-like"],
        "y_score": ["array-like"],
        "min_specificity": [Interval(Real, 0, 1, closed="both")],
        "pos_label": [Real, str, "boolean", None],
        "sample_weight": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def sensitivity_at_specificity_score(
    y_true, y_score, *, min_specificity, pos_label=None, sample_weight=None
):
    """The highest sensitivity whose specificity is at least ``min_specificity``.

    A screening test is tuned by fixing the specificity it may not fall below
    (the fraction of healthy patients it must clear) and asking for the best
    sensitivity (the fraction of cancers it finds). Each threshold ``t`` on the
    score, predicting *positive* where ``y_score >= t``, is one point of the ROC
    curve; this is the highest sensitivity among the points whose specificity is
    at least ``min_specificity``. The point above every score, where no one is
    positive (specificity 1, sensitivity 0), always qualifies.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels.

    y_score : array-like of shape (n_samples,)
        Scores, higher meaning more likely positive: the probability of the
        positive class, or a decision function. Hard predictions (labels of
        ``y_true`` with an integer, boolean or string dtype, as
        :class:`~sklearn.model_selection.TunedThresholdClassifierCV` passes
        them) give a single operating point, so the score is their sensitivity
        if their specificity is at least ``min_specificity``, else 0 (or 1
        when ``min_specificity=0``, where predicting everyone positive
        qualifies).

    min_specificity : float in [0, 1]
        The lowest specificity ``TN / (TN + FP)`` allowed.

    pos_label : int, float, bool or str, default=None
        The positive class (e.g. the patients who have cancer). When ``None``,
        the classes must be ``{0, 1}`` or ``{-1, 1}``, and ``1`` is positive,
        as in :func:`sklearn.metrics.roc_curve`.

    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights: every count becomes a sum of weights.

    Returns
    -------
    sensitivity : float
        The highest sensitivity ``TP / (TP + FN)`` with a specificity of at
        least ``min_specificity``; NaN, with an
        :class:`~sklearn.exceptions.UndefinedMetricWarning`, if ``y_true``
        holds only one class (or only one with a positive weight), as
        :func:`sklearn.metrics.roc_auc_score` does.

    See Also
    --------
    make_sensitivity_at_specificity_scorer : This score as a scorer.
    sklearn.metrics.roc_curve : Every operating point of a score.
    sklearn.model_selection.TunedThresholdClassifierCV : Picks the threshold.

    Notes
    -----
    The specificity of each point is computed from the counts, ``TN / N``,
    rather than as ``1 - FP / N``, which can round below an exactly met
    bound (``1 - 11 / 20 < 0.45``).

    A floating ``y_score`` is read as scores, never as hard predictions. If it
    holds exactly the two classes of a floating ``y_true`` and ``pos_label`` is
    the smaller one, the two readings would rank the samples in opposite
    orders, so this raises a ``ValueError`` rather than guess.

    Examples
    --------
    >>> from skdeep.metrics import sensitivity_at_specificity_score
    >>> y_true = [0, 0, 0, 0, 1, 0, 1, 1]
    >>> y_score = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.9]
    >>> sensitivity_at_specificity_score(y_true, y_score, min_specificity=0.9)
    0.666...
    >>> sensitivity_at_specificity_score(y_true, y_score, min_specificity=0.8)
    1.0

    In :func:`~sklearn.datasets.load_breast_cancer` the cancers are class 0,
    so ``y_score`` scores class 0 and ``pos_label=0``:

    >>> y_true = [1, 1, 1, 1, 0, 1, 0, 0]
    >>> sensitivity_at_specificity_score(
    ...     y_true, y_score, min_specificity=0.9, pos_label=0
    ... )
    0.666...
    """
    y_true, y_score, pos_label, both_classes = _binary_scores(
        y_true, y_score, pos_label
    )
    if both_classes:
        tns, fps, _, tps, _ = confusion_matrix_at_thresholds(
            y_true, y_score, pos_label=pos_label, sample_weight=sample_weight
        )
        n_negative, n_positive = fps[-1], tps[-1]  # zero-weight samples drop out
    if not both_classes or n_negative == 0 or n_positive == 0:
        warn_user(
            "Only one class is present in y_true (or has a positive weight): "
            "the sensitivity at a given specificity is not defined and is set "
            "to nan.",
            UndefinedMetricWarning,
        )
        return float("nan")
    # One point per distinct score, plus the point above every score, where no
    # one is positive: specificity 1, sensitivity 0.
    specificity = np.append(1.0, tns / n_negative)
    sensitivity = np.append(0.0, tps / n_positive)
    return float(sensitivity[specificity >= min_specificity].max())


@validate_params(
    {
        "min_specificity": [Interval(Real, 0, 1, closed="both")],
        "pos_label": [Real, str, "boolean", None],
    },
    prefer_skip_nested_validation=True,
)
def make_sensitivity_at_specificity_scorer(min_specificity, *, pos_label=None):
    """Make a scorer of :func:`sensitivity_at_specificity_score`.

    The scorer reads the model's ``decision_function``, or else its
    ``predict_proba`` column of ``pos_label``, so a search
    (:class:`~sklearn.model_selection.GridSearchCV`, ...) ranks the models by
    the best sensitivity any threshold gives them at the required specificity.
    :class:`~sklearn.model_selection.TunedThresholdClassifierCV` applies the
    same function to the predictions at each candidate threshold, which scores
    their sensitivity where their specificity is high enough and 0 elsewhere:
    it picks the threshold with the best sensitivity at that specificity.

    Parameters
    ----------
    min_specificity : float in [0, 1]
        The lowest specificity ``TN / (TN + FP)`` allowed.

    pos_label : int, float, bool or str, default=None
        The positive class, e.g. ``0`` (*malignant*) in
        :func:`~sklearn.datasets.load_breast_cancer`. When ``None``, the
        classes must be ``{0, 1}`` or ``{-1, 1}``, and ``1`` is positive.

    Returns
    -------
    scorer : callable
        A scorer ``scorer(estimator, X, y, sample_weight=None)``, from
        :func:`sklearn.metrics.make_scorer`.

    See Also
    --------
    sensitivity_at_specificity_score : The score function.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import TunedThresholdClassifierCV
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdeep.metrics import make_sensitivity_at_specificity_scorer
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = X[:, :2]  # two features: a harder problem
    >>> model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)

    Class 0 is *malignant*. At a specificity of at least 0.95, the model's
    scores find this fraction of the cancers at best:

    >>> scorer = make_sensitivity_at_specificity_scorer(0.95, pos_label=0)
    >>> round(scorer(model, X, y), 3)
    0.774

    Cross-validated, the threshold on the probability of malignancy that
    finds the most cancers while clearing at least 95% of the healthy:

    >>> tuned = TunedThresholdClassifierCV(model, scoring=scorer).fit(X, y)
    >>> float(round(tuned.best_threshold_, 2))
    0.74
    """
    return make_scorer(
        sensitivity_at_specificity_score,
        response_method=("decision_function", "predict_proba"),
        min_specificity=min_specificity,
        pos_label=pos_label,
    )
