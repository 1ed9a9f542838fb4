import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, make_scorer, precision_score, recall_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skdeep.metrics import (
    sensitivity_score,
    sensitivity_scorer,
    sensitivity_specificity_report,
    specificity_score,
    specificity_scorer,
)

imblearn_metrics = pytest.importorskip("imblearn.metrics")

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
    with pytest.warns(UndefinedMetricWarning, match="Sensitivity is ill-defined"):
        assert sensitivity_score(y_true, y_pred) == 0.0
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
