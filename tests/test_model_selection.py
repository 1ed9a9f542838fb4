import warnings

import numpy as np
import pandas as pd
import pytest
from joblib import parallel_config
from numpy.testing import assert_array_equal
from scipy import stats
from scipy.stats import loguniform, randint, uniform
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris, make_classification
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import (
    KFold,
    PredefinedSplit,
    RandomizedSearchCV,
    ShuffleSplit,
    StratifiedShuffleSplit,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import check_estimator
from threadpoolctl import threadpool_limits

from skdeep import CoarseToFineSearchCV, MLPNetClassifier
from skdeep.metrics import sensitivity_scorer
from skdeep.model_selection import _validation_split, narrow_distributions


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


def test_default_validation_split():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    split = _validation_split(y, classifier=True, random_state=0)
    assert isinstance(split, StratifiedShuffleSplit)
    ((train, test),) = split.split(np.zeros((100, 1)), y)
    assert len(test) == 20
    assert_array_equal(np.bincount(y[test]), [10, 6, 4])
    regression = _validation_split(
        np.linspace(0, 1, 100), classifier=False, random_state=0
    )
    assert isinstance(regression, ShuffleSplit)
    # A class with one sample cannot be stratified.
    lonely = _validation_split(np.r_[np.zeros(20), 1], classifier=True, random_state=0)
    assert type(lonely) is ShuffleSplit


def test_regressor_search():
    X, y = make_classification(n_samples=80, random_state=0)
    search = CoarseToFineSearchCV(
        Ridge(),
        {"alpha": loguniform(1e-3, 1e3)},
        n_iter=3,
        n_rounds=2,
        random_state=0,
    ).fit(X, y.astype(float))
    assert search.n_splits_ == 1
    assert np.isfinite(search.best_score_)


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
    with pytest.raises(ValueError, match="`refit` must name the one"):
        _search(scoring=["accuracy", "recall"], refit=False).fit(X, y)


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


class _TaskRecorder:
    """A scikit-learn fit callback that records the names of the tasks."""

    def __init__(self):
        self.tasks = []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context, **kwargs):
        self.tasks.append(context.task_name)

    def on_fit_task_end(self, estimator, context, **kwargs):
        return False


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
