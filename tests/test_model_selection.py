import warnings

import numpy as np
import pandas as pd
import pytest
from _engine import Callback
from joblib import parallel_config
from numpy.testing import assert_array_equal
from scipy import stats
from scipy.stats import loguniform, randint, uniform
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris, make_regression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import (
    KFold,
    ParameterSampler,
    PredefinedSplit,
    RandomizedSearchCV,
    StratifiedShuffleSplit,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import check_estimator
from threadpoolctl import threadpool_limits

from skdeep import CoarseToFineSearchCV, LogisticGD, MLPNetClassifier
from skdeep.metrics import sensitivity_scorer
from skdeep.model_selection import (
    _rank_by_round,
    _sample,
    narrow_distributions,
)
from skdeep.utils._splits import HoldOutSplit


def _results(params, scores):
    return {"params": params, "mean_test_score": np.asarray(scores, dtype=float)}


# ---------------------------------------------------------------- narrowing ----


def test_narrow_uniform_around_top_values():
    params = [{"x": v} for v in (1.0, 2.0, 3.0, 7.0, 9.0)]
    scores = [0.1, 0.9, 0.8, 0.2, 0.3]
    narrowed = narrow_distributions({"x": uniform(0, 10)}, _results(params, scores))
    # The top 2 (the default for 5 candidates) are 2 and 3: span [2, 3] plus 5%
    # of the old width on each side.
    assert narrowed["x"].support() == pytest.approx((1.5, 3.5))
    assert narrowed["x"].dist.name == "uniform"


def test_narrow_shrink_caps_width_around_best():
    # The top values span the whole range: cap at shrink * width, centred on the
    # best value, clipped to the old range.
    params = [{"x": 0.5}, {"x": 9.5}, {"x": 5.0}]
    narrowed = narrow_distributions(
        {"x": uniform(0, 10)}, _results(params, [0.9, 0.8, 0.1]), shrink=0.4
    )
    assert narrowed["x"].support() == pytest.approx((0.0, 2.5))


def test_narrow_loguniform_on_log_scale():
    params = [{"lr": v} for v in (1e-4, 1e-3, 1e-1, 1e-5)]
    narrowed = narrow_distributions(
        {"lr": loguniform(1e-5, 1)}, _results(params, [0.8, 0.9, 0.2, 0.1])
    )
    low, high = narrowed["lr"].support()
    # Span 1e-4..1e-3 widened by a quarter decade (5% of 5 decades) each side.
    assert np.log10([low, high]) == pytest.approx([-4.25, -2.75])
    assert narrowed["lr"].dist.name == "loguniform"


def test_narrow_loguniform_with_scale():
    distribution = loguniform(1e-3, 1, scale=10)  # support (1e-2, 10)
    params = [{"lr": 0.1}, {"lr": 0.2}]
    narrowed = narrow_distributions({"lr": distribution}, _results(params, [1, 0]))
    low, high = narrowed["lr"].support()
    assert 1e-2 <= low < 0.1 and 0.2 < high <= 10


def test_narrow_randint_stays_integer():
    params = [{"n": v} for v in (10, 12, 40, 90)]
    narrowed = narrow_distributions(
        {"n": randint(1, 101)}, _results(params, [0.9, 0.8, 0.3, 0.1])
    )
    low, high = narrowed["n"].support()
    assert narrowed["n"].dist.name == "randint"
    # Span [10, 12] widened by 4.95 (5% of 100 - 1) each side, rounded inwards.
    assert (low, high) == (6, 16)


def test_narrow_randint_keeps_best_on_tiny_range():
    narrowed = narrow_distributions(
        {"n": randint(1, 4)}, _results([{"n": 3}, {"n": 1}], [0.9, 0.1]), top_k=1
    )
    low, high = narrowed["n"].support()
    assert low <= 3 <= high and high - low < 2


def test_narrow_lists_drop_tried_options_outside_top():
    options = [(32,), (64,), (128,), (256,)]
    params = [{"h": (32,)}, {"h": (64,)}, {"h": (128,)}, {"h": (64,)}]
    narrowed = narrow_distributions(
        {"h": options}, _results(params, [0.1, 0.9, 0.2, 0.8])
    )
    # (64,) is the only option in the top 2; (256,) was never tried: kept.
    assert narrowed["h"] == [(64,), (256,)]


def test_narrow_leaves_other_distributions_and_missing_params():
    normal = stats.norm(0, 1)
    shifted = loguniform(1e-3, 1, loc=1)  # not log-uniform on its support
    params = [{"a": 0.3, "b": 1.2}, {"a": -1.0, "b": 1.5}]
    distributions = {"a": normal, "b": shifted, "c": uniform(0, 1)}
    narrowed = narrow_distributions(distributions, _results(params, [1, 0]))
    assert narrowed["a"] is normal
    assert narrowed["b"] is shifted
    assert narrowed["c"] is distributions["c"]


def test_narrow_without_finite_scores_is_unchanged():
    distributions = {"x": uniform(0, 1), "k": ["a", "b"]}
    results = _results([{"x": 0.5, "k": "a"}], [np.nan])
    assert narrow_distributions(distributions, results) == distributions


def test_narrow_ignores_non_finite_scores():
    params = [{"x": 9.0}, {"x": 1.0}, {"x": 2.0}]
    narrowed = narrow_distributions(
        {"x": uniform(0, 10)}, _results(params, [np.nan, 0.5, 0.4])
    )
    assert narrowed["x"].support() == pytest.approx((0.5, 2.5))


def test_narrow_other_metric_and_dataframe():
    params = [{"x": 1.0}, {"x": 8.0}]
    results = {"params": params, "mean_test_recall": [0.2, 0.7]}
    narrowed = narrow_distributions(
        {"x": uniform(0, 10)}, pd.DataFrame(results), metric="recall", top_k=1
    )
    assert narrowed["x"].support() == pytest.approx((7.5, 8.5))


def test_narrow_validates_parameters():
    results = _results([{"x": 1.0}], [1.0])
    with pytest.raises(InvalidParameterError, match="shrink"):
        narrow_distributions({"x": uniform(0, 10)}, results, shrink=0)
    with pytest.raises(InvalidParameterError, match="top_k"):
        narrow_distributions({"x": uniform(0, 10)}, results, top_k=0)


def test_narrow_by_hand_with_randomized_search():
    # The docstring's recipe: sklearn's RandomizedSearchCV on one validation
    # split, rounds narrowed by hand.
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    validation = PredefinedSplit(np.where(np.arange(len(y)) % 5 == 0, 0, -1))
    distributions = {"C": loguniform(1e-3, 1e2)}
    for round_ in range(2):
        search = RandomizedSearchCV(
            LogisticRegression(),
            distributions,
            n_iter=3,
            cv=validation,
            random_state=round_,
        ).fit(X, y)
        narrowed = narrow_distributions(distributions, search.cv_results_)
        (old_low, old_high), (low, high) = (
            distributions["C"].support(),
            narrowed["C"].support(),
        )
        assert old_low <= low <= search.best_params_["C"] <= high <= old_high
        assert high / low < old_high / old_low
        distributions = narrowed


# ------------------------------------------------------------------- search ----


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _search(**kwargs):
    params = {
        "estimator": LogisticRegression(),
        "param_distributions": {
            "C": loguniform(1e-3, 1e2),
            "fit_intercept": [True, False],
        },
        "n_iter": 3,
        "n_rounds": 3,
        "coarse_params": {"tol": 0.5},
        "random_state": 0,
    }
    return CoarseToFineSearchCV(**{**params, **kwargs})


def test_rounds_and_coarse_params(iris):
    X, y = iris
    search = _search().fit(X, y)
    results = search.cv_results_
    assert_array_equal(results["round"], np.repeat([0, 1, 2], 3))
    for params, round_ in zip(results["params"], results["round"]):
        assert ("tol" in params) == (round_ < 2)
    # The best candidate is the best of the last (full) round, refit without
    # the coarse overrides.
    last = np.flatnonzero(results["round"] == 2)
    assert search.best_index_ == last[np.argmax(results["mean_test_score"][last])]
    assert search.best_score_ == results["mean_test_score"][search.best_index_]
    assert "tol" not in search.best_params_
    assert search.best_estimator_.tol == LogisticRegression().tol
    assert search.best_estimator_.C == search.best_params_["C"]
    # One validation split by default.
    assert search.n_splits_ == 1
    assert "split1_test_score" not in results
    assert "mean_train_score" not in results


def test_rounds_keep_the_given_form(iris):
    X, y = iris
    distributions = {"C": loguniform(1e-3, 1e2), "fit_intercept": [True, False]}
    search = _search(param_distributions=distributions).fit(X, y)
    assert len(search.rounds_) == 3
    assert search.rounds_[0] == distributions
    widths = []
    for round_, searched in enumerate(search.rounds_):
        assert searched["C"].dist.name == "loguniform"
        assert isinstance(searched["fit_intercept"], list)
        low, high = searched["C"].support()
        widths.append(np.log(high / low))
        # Every candidate of the round was drawn from the round's distributions.
        in_round = search.cv_results_["round"] == round_
        values = np.asarray(search.cv_results_["param_C"][in_round], dtype=float)
        assert np.all((low <= values) & (values <= high))
    assert widths[2] < widths[1] < widths[0]


def test_reproducible_and_seeded(iris):
    X, y = iris
    first = _search(n_rounds=2).fit(X, y).cv_results_
    second = _search(n_rounds=2).fit(X, y).cv_results_
    assert first["params"] == second["params"]
    assert_array_equal(first["mean_test_score"], second["mean_test_score"])
    other = _search(n_rounds=2, random_state=1).fit(X, y).cv_results_
    assert first["params"] != other["params"]


def test_one_round_is_a_randomized_search(iris):
    X, y = iris
    search = _search(n_rounds=1, n_iter=5).fit(X, y)
    assert_array_equal(search.cv_results_["round"], np.zeros(5))
    assert all("tol" not in p for p in search.cv_results_["params"])


def test_default_validation_split_is_the_early_stopping_policy():
    """cv=None holds out ceil(20%) by the estimators' split policy: stratified
    counts for classifiers (checked by hand), plain for regressors, and a class
    with one sample kept in training; the same split on every call."""
    y = np.repeat([0, 1, 2], [50, 30, 20])
    split = HoldOutSplit(0.2, random_state=0)
    ((train, test),) = split.split(np.zeros((100, 1)), y)
    assert len(test) == 20
    assert_array_equal(np.bincount(y[test]), [10, 6, 4])
    assert_array_equal(next(split.split(np.zeros((100, 1)), y))[1], test)
    regression = HoldOutSplit(0.2, stratify=False, random_state=0)
    ((train, test),) = regression.split(np.zeros((100, 1)), np.linspace(0, 1, 100))
    assert len(test) == 20 and len(set(train) | set(test)) == 100
    lonely_y = np.r_[np.zeros(20), 1]
    ((train, test),) = HoldOutSplit(0.2, random_state=0).split(
        lonely_y[:, None], lonely_y
    )
    assert 20 in train and len(test) == 5
    search = CoarseToFineSearchCV(
        LogisticGD(max_iter=5), {"alpha": [0.0, 1e-3]}, n_iter=2, n_rounds=1,
        random_state=0,
    ).fit(np.arange(40.0).reshape(20, 2), np.arange(20) % 2)  # fmt: skip
    assert search.cv is None and search.n_splits_ == 1


def test_regressor_search():
    """Catches a regressor search that scores, ranks or picks the wrong candidate.

    On noise-free linear data the validation R^2 of Ridge falls as ``alpha``
    grows, so the best candidate of the last round is its smallest alpha, and
    ranks follow alpha. With a known split, every score equals the R^2 that
    scikit-learn's Ridge gives on it.
    """
    X, y = make_regression(n_samples=80, n_features=5, noise=0, random_state=0)
    search = CoarseToFineSearchCV(
        Ridge(),
        {"alpha": loguniform(1e-3, 1e3)},
        n_iter=4,
        n_rounds=2,
        random_state=0,
    ).fit(X, y)
    results = search.cv_results_
    assert search.n_splits_ == 1  # the default: one held-out split
    last = np.flatnonzero(results["round"] == 1)
    alphas = np.asarray(results["param_alpha"][last], dtype=float)
    assert search.best_index_ == last[np.argmin(alphas)]
    assert_array_equal(results["rank_test_score"][last], stats.rankdata(alphas))
    assert search.best_score_ > 0.99
    np.testing.assert_allclose(
        search.best_estimator_.coef_,
        Ridge(alpha=search.best_params_["alpha"]).fit(X, y).coef_,
    )

    test = np.arange(len(y)) % 4 == 0
    known = CoarseToFineSearchCV(
        Ridge(),
        {"alpha": loguniform(1e-3, 1e3)},
        n_iter=3,
        n_rounds=2,
        cv=PredefinedSplit(np.where(test, 0, -1)),
        random_state=0,
    ).fit(X, y)
    for params, score in zip(
        known.cv_results_["params"], known.cv_results_["mean_test_score"]
    ):
        expected = Ridge(**params).fit(X[~test], y[~test]).score(X[test], y[test])
        assert score == pytest.approx(expected, rel=1e-12)


def test_cv_must_give_constant_splits(iris):
    X, y = iris
    with pytest.raises(ValueError, match="same splits on every call"):
        _search(cv=KFold(3, shuffle=True)).fit(X, y)
    search = _search(cv=KFold(3, shuffle=True, random_state=0), n_rounds=2)
    search.fit(X, y)
    assert search.n_splits_ == 3


def test_coarse_params_checks(iris):
    X, y = iris
    with pytest.raises(ValueError, match="must not set searched parameters"):
        _search(coarse_params={"C": 1.0}).fit(X, y)
    with pytest.raises(ValueError, match=r"\['epochs'\] are not parameters"):
        _search(coarse_params={"epochs": 5}).fit(X, y)
    with pytest.raises(InvalidParameterError, match="n_rounds"):
        _search(n_rounds=0).fit(X, y)


def test_multimetric_refit_by_name(iris):
    """Catches a multi-metric search that refits on another metric than named."""
    X, y = iris
    y = (y == 2).astype(int)
    search = _search(
        scoring={"sensitivity": sensitivity_scorer, "accuracy": "accuracy"},
        refit="sensitivity",
    ).fit(X, y)
    results = search.cv_results_
    last = np.flatnonzero(results["round"] == 2)
    best = last[np.argmax(results["mean_test_sensitivity"][last])]
    assert search.best_index_ == best
    assert search.best_score_ == results["mean_test_sensitivity"][best]


def test_callable_refit_sees_the_last_round(iris):
    X, y = iris
    seen = []

    def worst(results):
        seen.append(results["round"])
        return int(np.argmin(results["mean_test_score"]))

    search = _search(refit=worst).fit(X, y)
    assert_array_equal(seen[0], [2, 2, 2])
    last = np.flatnonzero(search.cv_results_["round"] == 2)
    scores = search.cv_results_["mean_test_score"]
    assert search.best_index_ == last[np.argmin(scores[last])]
    assert "tol" not in search.best_params_


# -------------------------------------------------------------------- ranks ----


def _expected_ranks(scores, rounds):
    """Ranks by round, last round first, counted directly: 1 + the candidates
    ranked strictly before (any of a later round, or of the same round with a
    higher score; NaN scores as the lowest)."""
    scores = np.where(np.isnan(scores), -np.inf, scores)
    return np.array(
        [
            1 + np.sum((rounds > r) | ((rounds == r) & (scores > score)))
            for score, r in zip(scores, rounds)
        ]
    )


def test_rank_by_round_by_hand():
    """Catches ranks computed over all rounds together, ties that do not share
    the lowest rank, and NaN scores not ranked last within their round."""
    scores = np.array([0.9, 0.5, np.nan, 0.7, 0.7, 0.2])
    rounds = np.array([0, 0, 0, 1, 1, 1])
    assert_array_equal(_rank_by_round(scores, rounds), [4, 5, 6, 1, 1, 3])
    # A round whose candidates all failed ties them after the later rounds.
    failed = np.array([np.nan, np.nan, 1.0])
    assert_array_equal(_rank_by_round(failed, np.array([0, 0, 1])), [2, 2, 1])


def test_rank_one_is_the_best_of_the_last_round():
    """Catches the ranking of issue "results mislead": here every coarse-round
    candidate scores above every last-round one (the coarse rounds fit an
    intercept the data needs, the last round does not), so ranking all rounds
    together gives rank 1 to a coarse candidate while best_index_ is in the last
    round."""
    X, y = make_regression(n_samples=80, n_features=5, noise=0, random_state=0)
    search = CoarseToFineSearchCV(
        Ridge(fit_intercept=False),
        {"alpha": loguniform(1e-3, 1e3)},
        n_iter=4,
        n_rounds=2,
        coarse_params={"fit_intercept": True},
        random_state=0,
    ).fit(X, y + 500)
    results = search.cv_results_
    scores, rounds = results["mean_test_score"], results["round"]
    assert scores[rounds == 0].min() > scores[rounds == 1].max()  # the premise
    assert results["rank_test_score"][search.best_index_] == 1
    assert_array_equal(rounds[results["rank_test_score"] == 1], [1])
    assert_array_equal(results["rank_test_score"], _expected_ranks(scores, rounds))


def _prefers(sign):
    """A scorer that prefers small (sign=-1) or large (sign=1) values of C,
    whatever the data: which candidates narrow the ranges is then known."""

    def scorer(estimator, X, y):
        return sign * estimator.C

    return scorer


C_SCORING = {"small_C": _prefers(-1), "large_C": _prefers(1)}


def _c_bounds(search, round_):
    return search.rounds_[round_]["C"].support()


def _round_values(search, round_):
    in_round = search.cv_results_["round"] == round_
    return np.asarray(search.cv_results_["param_C"][in_round], dtype=float)


def test_ranks_by_round_for_every_metric(iris):
    """Catches metrics other than the refit one still ranked all rounds together."""
    X, y = iris
    search = _search(scoring=C_SCORING, refit="large_C").fit(X, y)
    results = search.cv_results_
    for metric in C_SCORING:
        assert_array_equal(
            results[f"rank_test_{metric}"],
            _expected_ranks(results[f"mean_test_{metric}"], results["round"]),
        )
    assert results["rank_test_large_C"][search.best_index_] == 1


# ---------------------------------------------------------- several metrics ----


class _MustNotFit(LogisticRegression):
    """Fails loudly if a candidate is fitted (with ``error_score="raise"``)."""

    def fit(self, X, y, sample_weight=None):
        raise AssertionError("a candidate was fitted before the check")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"refit": False}, "`narrowing_metric` must name the one"),
        ({"refit": lambda results: 0}, "`narrowing_metric` must name the one"),
        ({"refit": "small_C", "narrowing_metric": "C"}, "must be one of the metrics"),
        ({"scoring": "accuracy", "narrowing_metric": "accuracy"}, "must be None"),
    ],
)
def test_narrowing_metric_checked_before_any_fit(iris, kwargs, match):
    """Catches a missing or wrong narrowing metric found only after a round was
    fitted (or never), as with several metrics and refit=False before."""
    X, y = iris
    search = _search(
        **{
            "estimator": _MustNotFit(),
            "scoring": C_SCORING,
            "error_score": "raise",
            **kwargs,
        }
    )
    with pytest.raises(ValueError, match=match):
        search.fit(X, y)


@pytest.mark.parametrize("refit", [False, "large_C", "best-callable"])
def test_narrowing_metric_narrows(iris, refit):
    """Catches ranges narrowed on the refit metric (or the first one) instead of
    ``narrowing_metric``: narrowing on small_C keeps the smallest C of round 0
    and drops the largest, whatever refit prefers."""
    X, y = iris

    def best_large_c(results):
        return int(np.argmax(results["mean_test_large_C"]))

    search = _search(
        param_distributions={"C": loguniform(1e-3, 1e2)},
        scoring=C_SCORING,
        refit=best_large_c if refit == "best-callable" else refit,
        narrowing_metric="small_C",
        n_iter=6,
        n_rounds=2,
    ).fit(X, y)
    low, high = _c_bounds(search, 1)
    first = _round_values(search, 0)
    assert low <= first.min() <= high < first.max()
    if refit is False:
        assert not hasattr(search, "best_index_")
        assert not hasattr(search, "best_estimator_")
    else:
        last = np.flatnonzero(search.cv_results_["round"] == 1)
        assert search.best_index_ == last[np.argmax(_round_values(search, 1))]
        assert hasattr(search, "best_score_") == (refit == "large_C")


def test_narrowing_metric_defaults_to_refit(iris):
    """Catches a default narrowing metric other than the one refit names."""
    X, y = iris
    search = _search(
        param_distributions={"C": loguniform(1e-3, 1e2)},
        scoring=C_SCORING,
        refit="large_C",
        n_iter=6,
        n_rounds=2,
    ).fit(X, y)
    low, high = _c_bounds(search, 1)
    first = _round_values(search, 0)
    assert low < first.max() <= high and first.min() < low


def test_callable_scoring_with_several_metrics(iris):
    """Catches a callable scoring that returns several metrics: its narrowing
    metric is only known once it has scored, and must then be named."""
    X, y = iris

    def scoring(estimator, X, y):
        return {"small_C": -estimator.C, "large_C": estimator.C}

    with pytest.raises(ValueError, match="`narrowing_metric` must name the one"):
        _search(scoring=scoring, refit=False).fit(X, y)
    search = _search(
        param_distributions={"C": loguniform(1e-3, 1e2)},
        scoring=scoring,
        refit=False,
        narrowing_metric="small_C",
        n_iter=6,
        n_rounds=2,
    ).fit(X, y)
    low, high = _c_bounds(search, 1)
    first = _round_values(search, 0)
    assert low <= first.min() <= high < first.max()


# -------------------------------------------------------- lists of dicts ----


@pytest.mark.parametrize(
    "distributions",
    [
        {"a": uniform(0, 1), "b": [1, 2, 3], "c": loguniform(1e-3, 1)},
        [{"a": uniform(0, 1), "b": [1, 2]}, {"c": randint(1, 9)}, {"a": [5, 6]}],
        [{"a": [1, 2], "b": [3, 4]}, {"c": [5, 6, 7]}],
    ],
    ids=["dict", "list", "list-of-grids"],
)
def test_sampling_matches_parameter_sampler(distributions):
    """Catches rounds that sample otherwise than RandomizedSearchCV (scikit-learn's
    ParameterSampler) or misattribute a candidate to a dict: the dicts here have
    different keys, so a candidate's keys tell its dict."""
    spaces = [distributions] if isinstance(distributions, dict) else distributions
    for seed in range(5):
        candidates, sources = _sample(spaces, 5, seed)
        assert candidates == list(ParameterSampler(distributions, 5, random_state=seed))
        assert [set(spaces[i]) for i in sources] == [set(c) for c in candidates]


def _two_spaces():
    # fit_intercept tells which dict a candidate came from.
    return [
        {"C": loguniform(1e-3, 1e-1), "fit_intercept": [True]},
        {"C": loguniform(1, 1e2), "fit_intercept": [False]},
    ]


def test_list_of_dicts_narrows_each_on_its_candidates(iris):
    """Catches a list of dicts narrowed on all the candidates together: every
    candidate of the second dict scores below every one of the first (the
    scorer prefers small C), so pooled narrowing would squeeze the second dict
    to its lower end and lose its own best candidate."""
    X, y = iris
    given = _two_spaces()
    search = _search(
        param_distributions=given,
        scoring=_prefers(-1),
        n_iter=8,
        n_rounds=3,
        coarse_params=None,
    ).fit(X, y)
    results = search.cv_results_
    sources = results["distributions_index"]
    assert_array_equal(
        sources, [0 if p["fit_intercept"] else 1 for p in results["params"]]
    )
    assert [space["C"] for space in search.rounds_[0]] == [g["C"] for g in given]
    for round_, spaces in enumerate(search.rounds_):
        assert isinstance(spaces, list) and len(spaces) == 2
        for i, space in enumerate(spaces):
            low, high = space["C"].support()
            rows = (results["round"] == round_) & (sources == i)
            values = np.asarray(results["param_C"][rows], dtype=float)
            assert np.all((low <= values) & (values <= high))
    for i in range(2):
        first = np.asarray(
            results["param_C"][(results["round"] == 0) & (sources == i)], dtype=float
        )
        (old_low, old_high), (low, high) = (
            search.rounds_[r][i]["C"].support() for r in (0, 1)
        )
        assert low <= first.min() <= high  # its own best candidate stays
        assert high / low < old_high / old_low


def test_list_of_dicts_keeps_a_dict_without_candidates(iris):
    """Catches a dict narrowed (or dropped) on a round that drew nothing from it."""
    X, y = iris
    search = _search(
        param_distributions=_two_spaces(), n_iter=1, n_rounds=2, coarse_params=None
    ).fit(X, y)
    (drawn,) = search.cv_results_["distributions_index"][:1]
    other = 1 - drawn
    assert search.rounds_[1][other]["C"] is search.rounds_[0][other]["C"]


def test_list_of_grids_is_sampled_without_replacement(iris):
    """Catches duplicate candidates within a round when every value is a list."""
    X, y = iris
    grids = [{"C": [0.01, 0.1, 1.0]}, {"C": [10.0], "fit_intercept": [False]}]
    search = _search(param_distributions=grids, n_iter=4, n_rounds=1).fit(X, y)
    params = search.cv_results_["params"]
    assert len(params) == 4
    assert len({tuple(sorted(p.items())) for p in params}) == 4


@pytest.mark.parametrize(
    "distributions",
    [[], ["C"], [{"C": []}], {"C": "abc"}, {"C": 1.0}],
    ids=["empty", "not-dicts", "no-options", "string", "number"],
)
def test_param_distributions_checked(iris, distributions):
    """Catches param_distributions that fail deep inside sampling, or not at all."""
    X, y = iris
    with pytest.raises(ValueError, match="`param_distributions` must"):
        _search(param_distributions=distributions, coarse_params=None).fit(X, y)


class _TaskRecorder(Callback):
    """A scikit-learn fit callback that records the names of the tasks."""

    def __init__(self):
        self.tasks = []

    def on_fit_task_begin(self, estimator, context, **kwargs):
        self.tasks.append(context.task_name)


def test_callbacks_see_one_task_per_round(iris):
    X, y = iris
    recorder = _TaskRecorder()
    search = _search(n_rounds=2, n_iter=2)
    search.set_callbacks(recorder)
    search.fit(X, y)
    assert recorder.tasks.count("search") == 1
    assert recorder.tasks.count("coarse-to-fine-round") == 2
    assert recorder.tasks.count("candidate-split-evaluation") == 4
    assert recorder.tasks.count("refit-with-best-params") == 1


def test_verbose_prints_each_round(iris, capsys):
    X, y = iris
    _search(n_rounds=2, n_iter=2, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "round 1/2: 2 candidates, best score" in out
    assert "round 2/2" in out


def test_all_fits_failing_raises_the_estimators_error(iris):
    X, y = iris
    X = X.astype(object)
    X[0, 0] = {"not": "a number"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TypeError, match="must be a string or a real number"):
            _search().fit(X, y)


def test_n_jobs_gives_the_same_results(iris):
    # Threads keep the test fast; test_runs_on_a_dask_cluster uses processes.
    X, y = iris
    serial = _search(n_rounds=2).fit(X, y)
    with parallel_config(backend="threading"):
        parallel = _search(n_rounds=2, n_jobs=2).fit(X, y)
    assert serial.cv_results_["params"] == parallel.cv_results_["params"]
    assert_array_equal(
        serial.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"]
    )


# ------------------------------------------------------ with MLPNetClassifier ----


def _mlp_search():
    return CoarseToFineSearchCV(
        # The check sets random_state on the search only: the network gets its own.
        MLPNetClassifier(hidden_layer_sizes=(10,), max_iter=50, random_state=0),
        {
            "alpha": loguniform(1e-5, 1e-2),
            "learning_rate": loguniform(3e-3, 3e-2),
        },
        n_iter=1,
        n_rounds=2,
        coarse_params={"max_iter": 5},
    )


def test_sklearn_compatible_with_scipy_distributions():
    # tests/test_common.py checks a search over lists; this one samples scipy
    # distributions. One test runs every check (the first failure raises):
    # parametrize_with_checks would name tests after the distributions' memory
    # addresses, which differ between pytest-xdist workers.
    check_estimator(_mlp_search())


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pipeline_step_params():
    X, y = load_digits(n_class=3, return_X_y=True)
    search = CoarseToFineSearchCV(
        make_pipeline(StandardScaler(), MLPNetClassifier(max_iter=20, random_state=0)),
        {
            "mlpnetclassifier__learning_rate": loguniform(1e-4, 1e-1),
            "mlpnetclassifier__hidden_layer_sizes": [(8,), (16,)],
        },
        n_iter=3,
        n_rounds=2,
        coarse_params={"mlpnetclassifier__max_iter": 2},
        random_state=0,
    ).fit(X, y)
    network = search.best_estimator_[-1]
    assert network.max_iter == 20
    assert (
        network.learning_rate == search.best_params_["mlpnetclassifier__learning_rate"]
    )
    assert search.score(X, y) > 0.9


@pytest.mark.slow  # starts a two-process cluster
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_runs_on_a_dask_cluster():
    distributed = pytest.importorskip("dask.distributed")
    X, y = load_digits(n_class=3, return_X_y=True)
    search = CoarseToFineSearchCV(
        make_pipeline(StandardScaler(), MLPNetClassifier(max_iter=10, random_state=0)),
        {"mlpnetclassifier__learning_rate": loguniform(1e-3, 1e-1)},
        n_iter=4,
        n_rounds=2,
        coarse_params={"mlpnetclassifier__max_iter": 2},
        n_jobs=-1,
        random_state=0,
    )
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        workers = set(client.scheduler_info()["workers"])
        with distributed.get_task_stream(client) as tasks:
            with parallel_config(backend="dask"):
                search.fit(X, y)
    # The candidate fits ran as tasks in the cluster's worker processes.
    assert len(workers) == 2
    assert len(tasks.data) > 0
    assert {task["worker"] for task in tasks.data} <= workers
    local = clone(search).set_params(n_jobs=1).fit(X, y)
    assert search.cv_results_["params"] == local.cv_results_["params"]
    assert_array_equal(
        search.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )


# ------------------------------------------------------------------- digits ----


@pytest.mark.slow
def test_digits_coarse_to_fine_matches_random_search():
    # The benchmark's comparison (benchmarks/bench_search.py, seed 0) without its
    # timing: 3 rounds of 8 (two of them 5-epoch rounds) against 24 full
    # candidates (up to 100 epochs, early stopping) on one validation split.
    X, y = load_digits(return_X_y=True)
    network = MLPNetClassifier(max_iter=100, early_stopping=True, random_state=0)
    pipeline = make_pipeline(StandardScaler(), network)
    distributions = {
        "mlpnetclassifier__learning_rate": loguniform(1e-5, 1),
        "mlpnetclassifier__alpha": loguniform(1e-7, 1),
        "mlpnetclassifier__hidden_layer_sizes": [(32,), (64,), (128,)],
    }
    split = StratifiedShuffleSplit(n_splits=1, test_size=0.2, random_state=0)
    # One BLAS thread: threaded BLAS on these small matrices only slows them down.
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")  # diverging rates and 5-epoch fits warn
        coarse_to_fine = CoarseToFineSearchCV(
            pipeline,
            distributions,
            n_iter=8,
            n_rounds=3,
            coarse_params={"mlpnetclassifier__max_iter": 5},
            cv=split,
            refit=False,
            random_state=0,
        ).fit(X, y)
        random = RandomizedSearchCV(
            pipeline, distributions, n_iter=24, cv=split, refit=False, random_state=0
        ).fit(X, y)
    assert coarse_to_fine.best_score_ >= random.best_score_ - 0.005
    (first_low, first_high), (last_low, last_high) = (
        coarse_to_fine.rounds_[i]["mlpnetclassifier__learning_rate"].support()
        for i in (0, -1)
    )
    assert last_high / last_low < first_high / first_low
