import os
import warnings

import numpy as np
import pandas as pd
import pytest
from imblearn import metrics as imblearn_metrics
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    confusion_matrix,
    make_scorer,
    precision_score,
    recall_score,
    roc_curve,
)
from sklearn.model_selection import (
    GridSearchCV,
    RandomizedSearchCV,
    StratifiedKFold,
    TunedThresholdClassifierCV,
    cross_validate,
)
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skdeep.metrics import (
    make_sensitivity_at_specificity_scorer,
    sensitivity_at_specificity_score,
    sensitivity_score,
    sensitivity_scorer,
    sensitivity_specificity_report,
    specificity_score,
    specificity_scorer,
)

AVERAGES = [None, "micro", "macro", "weighted"]


def _random_labels(seed, n_classes, n_samples=200):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(n_classes, size=n_samples)
    # Correct predictions more often than not, so the scores are not all ~1/k.
    y_pred = np.where(
        rng.random(n_samples) < 0.6, y_true, rng.integers(n_classes, size=n_samples)
    )
    return y_true, y_pred


def _weighted_rates(y_true, y_pred, sample_weight, labels):
    """Per-label sensitivity and specificity from the weighted confusion matrix,
    computed independently of skdeep (and of multilabel_confusion_matrix)."""
    cm = confusion_matrix(y_true, y_pred, labels=labels, sample_weight=sample_weight)
    total = cm.sum()
    tp = np.diag(cm)
    fn = cm.sum(axis=1) - tp  # row: true class
    fp = cm.sum(axis=0) - tp  # column: predicted class
    tn = total - tp - fn - fp
    return tp / (tp + fn), tn / (tn + fp), tp + fn


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(
    "n_classes, average",
    [(2, "binary")] + [(k, avg) for k in (2, 3, 5) for avg in AVERAGES],
)
def test_equal_imbalanced_learn(seed, n_classes, average):
    y_true, y_pred = _random_labels(seed, n_classes)
    for ours, theirs in [
        (sensitivity_score, imblearn_metrics.sensitivity_score),
        (specificity_score, imblearn_metrics.specificity_score),
    ]:
        assert_allclose(
            ours(y_true, y_pred, average=average),
            theirs(y_true, y_pred, average=average),
            rtol=0,
            atol=1e-12,
        )


@pytest.mark.parametrize("average", AVERAGES)
def test_equal_imbalanced_learn_with_labels(average):
    # A subset of the labels, in a non-sorted order, including an absent one.
    y_true, y_pred = _random_labels(0, 4)
    labels = [3, 1, 7]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        for ours, theirs in [
            (sensitivity_score, imblearn_metrics.sensitivity_score),
            (specificity_score, imblearn_metrics.specificity_score),
        ]:
            assert_allclose(
                ours(y_true, y_pred, labels=labels, average=average),
                theirs(y_true, y_pred, labels=labels, average=average),
                rtol=0,
                atol=1e-12,
            )


@pytest.mark.parametrize("average", AVERAGES)
def test_string_labels(average):
    y_true, y_pred = _random_labels(1, 3)
    names = np.array(["benign", "malignant", "unknown"])
    for ours, theirs in [
        (sensitivity_score, imblearn_metrics.sensitivity_score),
        (specificity_score, imblearn_metrics.specificity_score),
    ]:
        assert_allclose(
            ours(names[y_true], names[y_pred], average=average),
            theirs(y_true, y_pred, average=average),
            rtol=0,
            atol=1e-12,
        )


def test_string_pos_label():
    y_true, y_pred = _random_labels(2, 2)
    names = np.array(["malignant", "benign"])
    for pos in (0, 1):
        for func in (sensitivity_score, specificity_score):
            assert func(names[y_true], names[y_pred], pos_label=names[pos]) == (
                pytest.approx(func(y_true, y_pred, pos_label=pos), abs=1e-15)
            )


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("average", AVERAGES)
def test_sample_weight_matches_weighted_confusion_matrix(seed, n_classes, average):
    y_true, y_pred = _random_labels(seed, n_classes)
    rng = np.random.default_rng(seed + 100)
    # Weights far from 1: imbalanced-learn's weighted specificity can exceed 1 here.
    sample_weight = rng.uniform(0, 10, size=y_true.shape[0])
    labels = np.arange(n_classes)
    sens, spec, support = _weighted_rates(y_true, y_pred, sample_weight, labels)
    if average is None:
        expected_sens, expected_spec = sens, spec
    elif average == "macro":
        expected_sens, expected_spec = sens.mean(), spec.mean()
    elif average == "weighted":
        expected_sens = np.average(sens, weights=support)
        expected_spec = np.average(spec, weights=support)
    else:  # micro: pool the one-vs-rest counts of every class first
        cm = confusion_matrix(y_true, y_pred, sample_weight=sample_weight)
        tp = np.diag(cm).sum()
        fn = fp = cm.sum() - tp
        tn = n_classes * cm.sum() - 2 * fn - tp
        expected_sens, expected_spec = tp / (tp + fn), tn / (tn + fp)
    kwargs = {"average": average, "sample_weight": sample_weight}
    got_spec = specificity_score(y_true, y_pred, **kwargs)
    assert_allclose(sensitivity_score(y_true, y_pred, **kwargs), expected_sens)
    assert_allclose(got_spec, expected_spec)
    assert np.all((np.asarray(got_spec) >= 0) & (np.asarray(got_spec) <= 1))


def test_integer_sample_weight_equals_repeated_samples():
    y_true, y_pred = _random_labels(3, 3, n_samples=60)
    sample_weight = np.random.default_rng(3).integers(0, 4, size=60)
    repeated_true = np.repeat(y_true, sample_weight)
    repeated_pred = np.repeat(y_pred, sample_weight)
    for func in (sensitivity_score, specificity_score):
        for average in AVERAGES:
            assert_allclose(
                func(y_true, y_pred, average=average, sample_weight=sample_weight),
                func(repeated_true, repeated_pred, average=average),
            )


@pytest.mark.parametrize("average", AVERAGES + ["binary", "samples"])
def test_sensitivity_is_recall(average):
    rng = np.random.default_rng(0)
    if average == "samples":  # multilabel indicator targets
        y_true = rng.integers(2, size=(50, 4))
        y_pred = rng.integers(2, size=(50, 4))
    else:
        y_true, y_pred = _random_labels(0, 2 if average == "binary" else 3)
    sample_weight = rng.uniform(0.5, 2, size=y_true.shape[0])
    kwargs = {"average": average, "sample_weight": sample_weight, "zero_division": 1}
    assert_allclose(
        sensitivity_score(y_true, y_pred, **kwargs),
        recall_score(y_true, y_pred, **kwargs),
    )


def test_multilabel_samples_average():
    rng = np.random.default_rng(0)
    y_true = rng.integers(2, size=(40, 5))
    y_pred = rng.integers(2, size=(40, 5))
    # Keep every row with at least one negative so each specificity is defined.
    y_true[:, 0] = 0
    tn = ((y_true == 0) & (y_pred == 0)).sum(axis=1)
    fp = ((y_true == 0) & (y_pred == 1)).sum(axis=1)
    assert_allclose(
        specificity_score(y_true, y_pred, average="samples"), np.mean(tn / (tn + fp))
    )
    per_label = specificity_score(y_true, y_pred, average=None)
    assert per_label.shape == (5,)


def test_samples_average_needs_multilabel():
    y_true, y_pred = _random_labels(0, 3)
    with pytest.raises(ValueError, match="Samplewise metrics"):
        specificity_score(y_true, y_pred, average="samples")


def test_binary_average_needs_binary_targets():
    y_true, y_pred = _random_labels(0, 3)
    with pytest.raises(ValueError, match="average='binary'"):
        specificity_score(y_true, y_pred)


def test_invalid_pos_label():
    with pytest.raises(ValueError, match="pos_label=2 is not a valid label"):
        sensitivity_score([0, 1, 1], [0, 1, 0], pos_label=2)


def test_pos_label_ignored_warning():
    with pytest.warns(UserWarning, match="pos_label .* is ignored"):
        specificity_score([0, 1, 2], [0, 1, 1], pos_label=2, average="macro")


def test_invalid_parameters():
    with pytest.raises(InvalidParameterError, match="average"):
        sensitivity_score([0, 1], [0, 1], average="mean")
    with pytest.raises(InvalidParameterError, match="zero_division"):
        specificity_score([0, 1], [0, 1], zero_division=2)


def test_zero_division():
    # Only negatives: specificity is defined, sensitivity is 0 / 0.
    y_true = y_pred = [0, 0, 0]
    assert specificity_score(y_true, y_pred) == 1.0
    with pytest.warns(
        UndefinedMetricWarning, match="Sensitivity is ill-defined"
    ) as rec:
        assert sensitivity_score(y_true, y_pred) == 0.0
    # The warning points at the caller's line, not inside skdeep or sklearn.
    assert os.path.samefile(rec[0].filename, __file__)
    assert sensitivity_score(y_true, y_pred, zero_division=1.0) == 1.0
    assert np.isnan(sensitivity_score(y_true, y_pred, zero_division=np.nan))
    # Only positives: specificity is 0 / 0.
    with pytest.warns(UndefinedMetricWarning, match="no negative samples"):
        assert specificity_score([1, 1], [1, 0]) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert specificity_score([1, 1], [1, 0], zero_division=1.0) == 1.0


def test_zero_division_nan_left_out_of_averages():
    # Label 2 is absent from y_true: its sensitivity is undefined.
    y_true = [0, 1, 0, 1]
    y_pred = [0, 2, 0, 1]
    per_label = sensitivity_score(y_true, y_pred, average=None, zero_division=np.nan)
    assert_allclose(per_label, [1.0, 0.5, np.nan])
    assert sensitivity_score(
        y_true, y_pred, average="macro", zero_division=np.nan
    ) == pytest.approx(0.75)
    assert sensitivity_score(
        y_true, y_pred, average="macro", zero_division=0.0
    ) == pytest.approx(0.5)


def test_report():
    y_true, y_pred = _random_labels(4, 3)
    names = np.array(["a", "b", "c"])
    report = sensitivity_specificity_report(names[y_true], names[y_pred])
    assert isinstance(report, pd.DataFrame)
    assert list(report.columns) == [
        "TP",
        "FP",
        "TN",
        "FN",
        "sensitivity",
        "specificity",
        "precision",
        "recall",
        "support",
    ]
    assert_array_equal(report.index, names)
    assert report.index.name == "class"
    assert report[["TP", "FP", "TN", "FN"]].to_numpy().sum(axis=1).tolist() == [200] * 3
    assert report["TP"].dtype.kind == "i"
    assert_allclose(
        report["sensitivity"], sensitivity_score(y_true, y_pred, average=None)
    )
    assert_allclose(
        report["specificity"], specificity_score(y_true, y_pred, average=None)
    )
    assert_allclose(report["precision"], precision_score(y_true, y_pred, average=None))
    assert_array_equal(report["recall"], report["sensitivity"])
    assert_array_equal(report["support"], np.bincount(y_true))


def test_report_labels_and_weights():
    y_true, y_pred = _random_labels(5, 3)
    sample_weight = np.random.default_rng(5).uniform(0, 3, size=y_true.shape[0])
    report = sensitivity_specificity_report(
        y_true, y_pred, labels=[2, 0], sample_weight=sample_weight
    )
    assert report.index.tolist() == [2, 0]
    sens, spec, support = _weighted_rates(y_true, y_pred, sample_weight, [0, 1, 2])
    assert_allclose(report["sensitivity"], sens[[2, 0]])
    assert_allclose(report["specificity"], spec[[2, 0]])
    assert_allclose(report["support"], support[[2, 0]])
    assert_allclose(report[["TP", "FP", "TN", "FN"]].sum(axis=1), sample_weight.sum())


def test_report_multilabel():
    rng = np.random.default_rng(0)
    y_true = rng.integers(2, size=(30, 3))
    y_pred = rng.integers(2, size=(30, 3))
    report = sensitivity_specificity_report(y_true, y_pred)
    assert report.index.tolist() == [0, 1, 2]
    assert_allclose(report["sensitivity"], recall_score(y_true, y_pred, average=None))


@pytest.fixture(scope="module")
def breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return X, y


def test_scorers_in_cross_validate(breast_cancer):
    X, y = breast_cancer
    model = make_pipeline(StandardScaler(), LogisticRegression())
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    # In this data set, 0 is malignant: the "positive" class of a cancer screen.
    scoring = {
        "sensitivity": sensitivity_scorer,
        "specificity": specificity_scorer,
        "malignant_sensitivity": make_scorer(sensitivity_score, pos_label=0),
        "malignant_specificity": make_scorer(specificity_score, pos_label=0),
    }
    result = cross_validate(model, X, y, cv=cv, scoring=scoring)
    # Sensitivity for one class is specificity for the other.
    assert_allclose(result["test_sensitivity"], result["test_malignant_specificity"])
    assert_allclose(result["test_specificity"], result["test_malignant_sensitivity"])
    assert np.all(result["test_sensitivity"] > 0.9)
    assert np.all(result["test_specificity"] > 0.9)
    # Each score equals the metric applied to the fold's predictions.
    train, test = next(cv.split(X, y))
    y_pred = model.fit(X[train], y[train]).predict(X[test])
    assert result["test_specificity"][0] == pytest.approx(
        specificity_score(y[test], y_pred)
    )


def test_scorers_in_grid_search_refit(breast_cancer):
    X, y = breast_cancer
    search = GridSearchCV(
        make_pipeline(StandardScaler(), LogisticRegression()),
        {"logisticregression__C": [1e-3, 1.0]},
        scoring={"sensitivity": sensitivity_scorer, "specificity": specificity_scorer},
        refit="sensitivity",
        cv=3,
    ).fit(X, y)
    results = search.cv_results_
    assert {"mean_test_sensitivity", "mean_test_specificity"} <= set(results)
    assert search.best_index_ == np.argmax(results["mean_test_sensitivity"])
    assert search.best_score_ == results["mean_test_sensitivity"][search.best_index_]


# --- sensitivity at a given specificity -------------------------------------


def _best_sensitivity_by_hand(y_true, y_score, min_specificity, pos_label, weight=None):
    """The reference: try every threshold, rate each one's confusion matrix.

    Independent of skdeep and of scikit-learn's ROC code: one thresholded
    prediction per distinct score (plus the threshold above every score, where
    no one is positive), each scored from ``confusion_matrix``.
    """
    y_true, y_score = np.asarray(y_true), np.asarray(y_score, dtype=float)
    weight = np.ones(len(y_true)) if weight is None else np.asarray(weight)
    positive = y_true == pos_label
    best = 0.0  # the threshold above every score: specificity 1, sensitivity 0
    for threshold in np.unique(y_score):
        predicted = y_score >= threshold
        tn, fp, fn, tp = confusion_matrix(
            positive, predicted, labels=[False, True], sample_weight=weight
        ).ravel()
        if tn / (tn + fp) >= min_specificity:
            best = max(best, tp / (tp + fn))
    return best


def _specificities_by_hand(y_true, y_score, pos_label):
    """Every specificity a threshold reaches: bounds met with equality."""
    negative = np.asarray(y_true) != pos_label
    return [
        np.sum(negative & (y_score < t)) / np.sum(negative) for t in np.unique(y_score)
    ]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("pos_label", [0, 1])
def test_at_specificity_matches_brute_force(seed, pos_label):
    """Catches a wrong ROC walk: off-by-one thresholds, ``>`` for ``>=``, tied
    scores split between operating points, or a flipped ``pos_label``.

    Scores are small integers, so ties are many; the bounds include every
    specificity the data reach exactly, where ``>=`` and ``>`` differ.
    """
    rng = np.random.default_rng(seed)
    n_samples = int(rng.integers(5, 40))
    y_true = rng.integers(2, size=n_samples)
    y_true[:2] = [0, 1]
    y_score = rng.integers(0, 6, size=n_samples) + 2 * (y_true == pos_label)
    bounds = [0.0, 1.0, *rng.uniform(size=5)]
    bounds += _specificities_by_hand(y_true, y_score, pos_label)
    for min_specificity in bounds:
        got = sensitivity_at_specificity_score(
            y_true, y_score, min_specificity=min_specificity, pos_label=pos_label
        )
        expected = _best_sensitivity_by_hand(
            y_true, y_score, min_specificity, pos_label
        )
        assert got == pytest.approx(expected, abs=1e-12), min_specificity


def test_at_specificity_tied_scores_are_one_point():
    """Catches walking the samples one by one: a tied positive and negative can
    only be called positive together, so no threshold gives this positive at
    full specificity."""
    y_true, y_score = [0, 1, 0], [0.5, 0.5, 0.1]
    assert sensitivity_at_specificity_score(y_true, y_score, min_specificity=1) == 0
    assert sensitivity_at_specificity_score(y_true, y_score, min_specificity=0.5) == 1


def test_at_specificity_keeps_collinear_points():
    """Catches reading ``roc_curve`` with its default ``drop_intermediate=True``:
    the ROC points (1/3, 1/3), (2/3, 2/3), (1, 1) are collinear, and dropping
    the middle one loses the best point at specificity 1/3."""
    y_true, y_score = [1, 0, 1, 0, 1, 0], [3, 3, 2, 2, 1, 1]
    fpr, _, _ = roc_curve(y_true, y_score)  # the trap is there
    assert not np.isclose(fpr, 2 / 3).any()
    # Threshold 2: TP=2, FP=2, TN=1, FN=1: sensitivity 2/3, specificity 1/3.
    got = sensitivity_at_specificity_score(y_true, y_score, min_specificity=1 / 3)
    assert got == pytest.approx(2 / 3)


def test_at_specificity_bound_met_exactly():
    """Catches ``specificity = 1 - fpr``: with 20 negatives and 11 false
    positives, ``1 - 11/20`` rounds below 0.45 while 9/20 is exactly 0.45."""
    assert 1 - 11 / 20 < 0.45 == 9 / 20  # why the test is built this way
    # 10 positives: 5 above and 5 just below the 11 high-scoring negatives.
    y_true = np.array([1] * 5 + [0] * 11 + [1] * 5 + [0] * 9)
    y_score = np.array([0.9] * 5 + [0.6] * 11 + [0.5] * 5 + [0.1] * 9)
    # Threshold 0.5: TP=10, FP=11, TN=9: sensitivity 1, specificity 9/20.
    got = sensitivity_at_specificity_score(y_true, y_score, min_specificity=0.45)
    assert got == 1.0


def test_at_specificity_extremes():
    """Catches a missing end point of the ROC curve: at min_specificity=0 the
    threshold below every score (everyone positive) gives sensitivity 1; at 1
    only thresholds with no false positive count; when the highest score is a
    negative, only the point above every score (sensitivity 0) qualifies."""
    y_true = [0, 0, 1, 1, 1]
    y_score = [0.1, 0.6, 0.5, 0.7, 0.9]
    assert sensitivity_at_specificity_score(y_true, y_score, min_specificity=0) == 1
    # No false positive: threshold 0.7, which finds 2 of the 3 positives.
    got = sensitivity_at_specificity_score(y_true, y_score, min_specificity=1)
    assert got == pytest.approx(2 / 3)
    y_true, y_score = [1, 0, 1], [0.2, 0.9, 0.5]
    assert sensitivity_at_specificity_score(y_true, y_score, min_specificity=1) == 0
    assert sensitivity_at_specificity_score(y_true, y_score, min_specificity=0) == 1


@pytest.mark.parametrize("seed", range(4))
def test_at_specificity_sample_weight_is_repeated_rows(seed):
    """Catches weights ignored, or counted as samples: integer weights, zeros
    included, must equal repeating each row that many times."""
    rng = np.random.default_rng(seed)
    y_true = rng.integers(2, size=30)
    y_true[:2] = [0, 1]
    y_score = rng.integers(0, 8, size=30) + y_true
    weight = rng.integers(0, 4, size=30)
    weight[:2] = 1
    for min_specificity in [0.0, 0.3, 0.7, 0.9, 1.0]:
        got = sensitivity_at_specificity_score(
            y_true, y_score, min_specificity=min_specificity, sample_weight=weight
        )
        repeated = sensitivity_at_specificity_score(
            np.repeat(y_true, weight),
            np.repeat(y_score, weight),
            min_specificity=min_specificity,
        )
        assert got == repeated


@pytest.mark.parametrize("seed", range(4))
def test_at_specificity_float_sample_weight_matches_brute_force(seed):
    """Catches weights applied to one side of the matrix only (e.g. the
    sensitivity weighted, the specificity counted)."""
    rng = np.random.default_rng(seed)
    y_true = rng.integers(2, size=40)
    y_true[:2] = [0, 1]
    y_score = rng.normal(size=40) + y_true
    weight = rng.uniform(0, 5, size=40)
    for min_specificity in rng.uniform(size=8):
        got = sensitivity_at_specificity_score(
            y_true, y_score, min_specificity=min_specificity, sample_weight=weight
        )
        expected = _best_sensitivity_by_hand(
            y_true, y_score, min_specificity, 1, weight
        )
        assert got == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    "y_true, sample_weight",
    [([1, 1, 1], None), ([0, 0, 0], None), ([0, 1, 1], [0.0, 1.0, 2.0])],
    ids=["positives only", "negatives only", "negative weighs 0"],
)
def test_at_specificity_one_class_is_nan(y_true, sample_weight):
    """Catches a made-up number where one rate is 0/0: like roc_auc_score, NaN
    and an UndefinedMetricWarning pointing at the caller's line."""
    with pytest.warns(UndefinedMetricWarning, match="Only one class") as record:
        got = sensitivity_at_specificity_score(
            y_true, [0.2, 0.5, 0.9], min_specificity=0.9, sample_weight=sample_weight
        )
    assert np.isnan(got)
    assert os.path.samefile(record[0].filename, __file__)


def test_at_specificity_pos_label():
    """Catches ``pos_label`` ignored or inverted: breast cancer codes malignant
    as 0, and the same scores must give the same answer whether the classes
    are 0/1, names, or swapped 1/0 with ``pos_label=0``; ``pos_label=None``
    means 1, as in roc_curve, with {-1, 1} too."""
    rng = np.random.default_rng(0)
    malignant = rng.integers(2, size=50).astype(bool)
    malignant[:2] = [False, True]
    score = rng.normal(size=50) + malignant  # higher: more likely malignant
    expected = _best_sensitivity_by_hand(malignant, score, 0.8, True)
    for y_true, pos_label in [
        (malignant.astype(int), 1),
        (malignant.astype(int), None),
        (np.where(malignant, 1, -1), None),
        ((~malignant).astype(int), 0),
        (np.where(malignant, "malignant", "benign"), "malignant"),
        (malignant, True),
    ]:
        got = sensitivity_at_specificity_score(
            y_true, score, min_specificity=0.8, pos_label=pos_label
        )
        assert got == pytest.approx(expected, abs=1e-12), (y_true[:3], pos_label)


def test_at_specificity_pos_label_errors():
    """Catches guessing the positive class of named classes, and accepting a
    ``pos_label`` that is not a class (every sample would be negative)."""
    y_true = ["benign", "malignant", "benign"]
    with pytest.raises(ValueError, match="pass `pos_label`"):
        sensitivity_at_specificity_score(y_true, [0.1, 0.9, 0.3], min_specificity=0.5)
    with pytest.raises(ValueError, match="`pos_label` must be one of .* pos_label=2"):
        sensitivity_at_specificity_score(
            [0, 1, 0], [0.1, 0.9, 0.3], min_specificity=0.5, pos_label=2
        )


@pytest.mark.parametrize(
    "y_true, match",
    [
        ([0, 1, 2], r"two classes .* 'multiclass' targets with classes \[0, 1, 2\]"),
        ([[0, 1], [1, 0], [1, 1]], "two classes .* 'multilabel-indicator'"),
        ([0.5, 1.5, 0.2], "two classes .* 'continuous'"),
    ],
)
def test_at_specificity_needs_binary_targets(y_true, match):
    """Catches multiclass targets scored silently as one-vs-rest of some class."""
    with pytest.raises(ValueError, match=match):
        sensitivity_at_specificity_score(y_true, [0.1, 0.9, 0.3], min_specificity=0.5)


def test_at_specificity_y_score_errors():
    """Catches predict_proba's two columns, or scores of another length, taken
    without a clear message."""
    with pytest.raises(ValueError, match=r"`y_score` must be 1-D.*\(3, 2\)"):
        sensitivity_at_specificity_score(
            [0, 1, 0], np.ones((3, 2)), min_specificity=0.5
        )
    with pytest.raises(ValueError, match="same number of samples.* 3 and 2"):
        sensitivity_at_specificity_score([0, 1, 0], [0.1, 0.2], min_specificity=0.5)
    with pytest.raises(ValueError, match="received values such as"):
        sensitivity_at_specificity_score(
            ["a", "b"], ["a", "c"], min_specificity=0.5, pos_label="a"
        )


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "high"])
def test_at_specificity_min_specificity_validated(bad):
    """Catches an unvalidated bound: above 1 only the empty prediction would
    qualify (score 0), below 0 every point would."""
    for call in [
        lambda: sensitivity_at_specificity_score([0, 1], [0, 1], min_specificity=bad),
        lambda: make_sensitivity_at_specificity_scorer(bad),
    ]:
        with pytest.raises(InvalidParameterError, match="'min_specificity'"):
            call()


def test_at_specificity_min_specificity_required():
    """Catches a silent default bound: the specificity is the doctor's call."""
    with pytest.raises(TypeError, match="min_specificity"):
        sensitivity_at_specificity_score([0, 1], [0, 1])


def _hard_label_reference(y_true, y_pred, pos_label, min_specificity):
    """Sensitivity of the predictions if their specificity is high enough,
    else 0; 1 at min_specificity=0 (everyone positive qualifies)."""
    positive = np.asarray(y_true) == pos_label
    predicted = np.asarray(y_pred) == pos_label
    tn, fp, fn, tp = confusion_matrix(positive, predicted, labels=[False, True]).ravel()
    if min_specificity == 0:
        return 1.0
    return tp / (tp + fn) if tn / (tn + fp) >= min_specificity else 0.0


@pytest.mark.parametrize(
    "names, pos_label",
    [
        ([0, 1], 0),  # load_breast_cancer: malignant is 0, the smaller label
        ([0, 1], 1),
        (["benign", "malignant"], "malignant"),
        ([False, True], False),
        ([-1, 1], -1),
    ],
)
def test_at_specificity_hard_predictions(names, pos_label):
    """Catches hard labels read as scores: with the positive class the smaller
    label (0, malignant), "higher score" would mean the *negative* class and
    TunedThresholdClassifierCV would maximise the miss rate."""
    rng = np.random.default_rng(0)
    names = np.asarray(names)
    y_true = names[rng.integers(2, size=60)]
    y_pred = np.where(rng.random(60) < 0.8, y_true, names[rng.integers(2, size=60)])
    for min_specificity in [0.0, 0.5, 0.7, 0.8, 0.9, 1.0]:
        expected = _hard_label_reference(y_true, y_pred, pos_label, min_specificity)
        got = sensitivity_at_specificity_score(
            y_true, y_pred, min_specificity=min_specificity, pos_label=pos_label
        )
        assert got == pytest.approx(expected, abs=1e-12), min_specificity


def test_at_specificity_float_labels():
    """Catches silently reversed float predictions: with float classes, hard
    predictions where the smaller class is positive cannot be told from
    scores, so they are refused; with the larger class positive both readings
    agree."""
    y_true = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    y_pred = np.array([0.0, 1.0, 0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="as floats"):
        sensitivity_at_specificity_score(
            y_true, y_pred, min_specificity=0.5, pos_label=0.0
        )
    got = sensitivity_at_specificity_score(
        y_true, y_pred, min_specificity=0.5, pos_label=1.0
    )
    assert got == pytest.approx(_hard_label_reference(y_true, y_pred, 1.0, 0.5))


def test_at_specificity_probabilities_of_zero_and_one():
    """Catches refusing, or reading as labels, a fully grown tree's
    probabilities: floats 0.0 and 1.0 with integer classes are scores, the
    probability of ``pos_label``, even when ``pos_label=0``."""
    y_true = np.array([0, 1, 1, 0, 1, 0, 0])
    p_class_0 = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0])
    for min_specificity in [0.0, 0.5, 0.7, 1.0]:
        got = sensitivity_at_specificity_score(
            y_true, p_class_0, min_specificity=min_specificity, pos_label=0
        )
        expected = _best_sensitivity_by_hand(y_true, p_class_0, min_specificity, 0)
        assert got == pytest.approx(expected, abs=1e-12)


@pytest.fixture(scope="module")
def two_feature_cancer():
    """Breast cancer on two features, every third patient: errors remain, so
    thresholds matter, and the data stay small."""
    X, y = load_breast_cancer(return_X_y=True)
    return X[::3, :2], y[::3]


def test_at_specificity_scorer_reads_scores(two_feature_cancer):
    """Catches a scorer that scores ``predict``'s labels, or the probability of
    the wrong class: it must rank by the probability of ``pos_label`` (through
    the decision function, or ``predict_proba`` where that is all there is)."""
    X, y = two_feature_cancer
    names = np.array(["malignant", "benign"])[y]
    for model in [
        make_pipeline(StandardScaler(), LogisticRegression()),  # decision_function
        GaussianNB(),  # predict_proba only
    ]:
        for labels, pos_label in [(y, 0), (y, None), (names, "malignant")]:
            model.fit(X, labels)
            column = 1 if pos_label is None else list(model.classes_).index(pos_label)
            reference_label = 1 if pos_label is None else pos_label
            score = model.predict_proba(X)[:, column]
            expected = _best_sensitivity_by_hand(labels, score, 0.9, reference_label)
            scorer = make_sensitivity_at_specificity_scorer(0.9, pos_label=pos_label)
            assert scorer(model, X, labels) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("search_cls", [GridSearchCV, RandomizedSearchCV])
def test_at_specificity_scorer_in_search(two_feature_cancer, search_cls):
    """Catches a scorer the searches cannot use or rank by: every fold's score
    is recomputed by hand from the fold's probabilities of malignancy."""
    X, y = two_feature_cancer
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    grid = {"logisticregression__C": [1e-3, 10.0]}
    kwargs = (
        {"n_iter": 2, "random_state": 0} if search_cls is RandomizedSearchCV else {}
    )
    search = search_cls(
        make_pipeline(StandardScaler(), LogisticRegression()),
        grid,
        scoring=make_sensitivity_at_specificity_scorer(0.9, pos_label=0),
        cv=cv,
        **kwargs,
    ).fit(X, y)
    results = search.cv_results_
    for i, params in enumerate(results["params"]):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0))
        model.set_params(**params)
        for k, (train, test) in enumerate(cv.split(X, y)):
            p_malignant = model.fit(X[train], y[train]).predict_proba(X[test])[:, 0]
            expected = _best_sensitivity_by_hand(y[test], p_malignant, 0.9, 0)
            got = results[f"split{k}_test_score"][i]
            assert got == pytest.approx(expected, abs=1e-12)
    assert search.best_index_ == np.argmax(results["mean_test_score"])


@pytest.mark.parametrize("min_specificity", [0.9, 0.95])
@pytest.mark.parametrize("encoding", ["0 is malignant", "names", "1 is benign"])
def test_at_specificity_scorer_tunes_threshold(
    two_feature_cancer, min_specificity, encoding
):
    """Catches a scorer TunedThresholdClassifierCV cannot use, or uses the
    wrong way round (integer labels with the smaller one positive): tuned on
    the training data itself, over every distinct score, the threshold must
    meet the specificity there, reach the best sensitivity that any threshold
    gives at that specificity (brute force), and beat predict's 0.5 threshold
    when 0.5 already meets the specificity with room to spare."""
    X, y = two_feature_cancer
    if encoding == "0 is malignant":
        labels, pos_label = y, 0
    elif encoding == "names":
        labels, pos_label = np.array(["malignant", "benign"])[y], "malignant"
    else:  # default pos_label: class 1, benign, is the positive one here
        labels, pos_label = y, None
    positive = 1 if pos_label is None else pos_label
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, labels)
    score = model.predict_proba(X)[:, list(model.classes_).index(positive)]
    tuned = TunedThresholdClassifierCV(
        model,
        scoring=make_sensitivity_at_specificity_scorer(
            min_specificity, pos_label=pos_label
        ),
        cv="prefit",
        refit=False,
        thresholds=np.unique(score),
    ).fit(X, labels)
    y_pred = tuned.predict(X)
    is_positive, called_positive = labels == positive, y_pred == positive
    tn, fp, fn, tp = confusion_matrix(is_positive, called_positive).ravel()
    assert tn / (tn + fp) >= min_specificity
    best = _best_sensitivity_by_hand(labels, score, min_specificity, positive)
    assert tp / (tp + fn) == pytest.approx(best)
    assert tuned.best_score_ == pytest.approx(best)

    tn, fp, fn, tp = confusion_matrix(is_positive, model.predict(X) == positive).ravel()
    if tn / (tn + fp) > min_specificity + 0.01:  # malignant positive, at 0.9
        assert best > tp / (tp + fn)
    else:  # predict's 0.5 misses the specificity the tuned threshold meets
        assert tn / (tn + fp) < min_specificity
