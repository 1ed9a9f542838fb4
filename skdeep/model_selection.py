"""Coarse-to-fine random hyperparameter search (notes 二.12).

The notes' recipe for tuning a network on validation data:

1. set a rough range for every hyperparameter;
2. sample values at random from the ranges;
3. train with each sample for a few epochs and score it on the validation data;
4. repeat, narrowing the ranges around the values that scored best;

and finally pick a value from the narrowed ranges. :func:`narrow_distributions`
is step 4 on its own; :class:`CoarseToFineSearchCV` runs the whole loop as a
scikit-learn search object.
"""

from collections.abc import Sequence
from numbers import Integral

import numpy as np
from scipy import stats
from sklearn.base import clone, is_classifier
from sklearn.model_selection import ParameterGrid
from sklearn.utils import check_random_state
from sklearn.utils.random import sample_without_replacement

from skdeep._narrowing import narrow_distributions
from skdeep.utils._persistence import (
    PersistenceMixin,
    all_or_nothing,
    load_distributions,
    save_distributions,
)
from skdeep.utils._sklearn_compat import (
    BaseSearchCV,
    Interval,
    _yields_constant_splits,
)
from skdeep.utils._splits import HoldOutSplit
from skdeep.utils._warnings import warn_user

__all__ = ["CoarseToFineSearchCV", "narrow_distributions"]


def _take(results, indices):
    """The rows ``indices`` of a ``cv_results_`` dict."""
    return {
        key: [value[i] for i in indices] if isinstance(value, list) else value[indices]
        for key, value in results.items()
    }


def _sample(spaces, n_iter, random_state):
    """``n_iter`` candidates drawn from the list of dicts ``spaces`` as scikit-learn's
    ``ParameterSampler`` draws them, and the index of the dict each came from.

    ParameterSampler does not say which dict a candidate came from, and each dict
    narrows on its own candidates; this follows ``ParameterSampler.__iter__``
    (scikit-learn 1.9) draw for draw, so that a search samples what
    ``RandomizedSearchCV`` would (tests/test_model_selection.py compares them).
    """
    rng = check_random_state(random_state)
    if all(not hasattr(v, "rvs") for space in spaces for v in space.values()):
        # Only lists: draw without replacement from the grid of all the dicts.
        grid = ParameterGrid(spaces)
        if len(grid) < n_iter:
            warn_user(
                f"The {len(grid)} combinations of the listed options are fewer than "
                f"n_iter={n_iter}; each round samples {len(grid)} candidates.",
                UserWarning,
            )
        indices = sample_without_replacement(
            len(grid), min(n_iter, len(grid)), random_state=rng
        )
        # ParameterGrid numbers the combinations dict after dict.
        ends = np.cumsum([len(ParameterGrid(space)) for space in spaces])
        sources = np.searchsorted(ends, indices, side="right")
        return [grid[i] for i in indices], sources.tolist()
    candidates, sources = [], []
    for _ in range(n_iter):
        # ParameterSampler's rng.choice(list of dicts) draws this same index.
        source = int(rng.choice(len(spaces)))
        params = {}
        for name, values in sorted(spaces[source].items()):
            if hasattr(values, "rvs"):
                params[name] = values.rvs(random_state=rng)
            else:
                params[name] = values[rng.randint(len(values))]
        candidates.append(params)
        sources.append(source)
    return candidates, sources


def _rank_by_round(scores, rounds):
    """Ranks of ``scores`` (higher is better) within each round, last round first.

    Within a round, ranks are scikit-learn's (``BaseSearchCV._format_results``):
    ties share the lowest rank, NaN scores tie with the worst. Every candidate of
    a later round ranks before every candidate of an earlier one, so rank 1 is
    the best candidate of the last round.
    """
    ranks = np.empty(len(scores), dtype=np.int32)
    ranked = 0  # candidates of the later rounds, ranked already
    for round_ in np.unique(rounds)[::-1]:
        members = np.flatnonzero(rounds == round_)
        in_round = scores[members]
        if np.isnan(in_round).all():
            ranks[members] = ranked + 1
        else:
            in_round = np.where(np.isnan(in_round), np.nanmin(in_round) - 1, in_round)
            ranks[members] = ranked + stats.rankdata(-in_round, method="min")
        ranked += members.size
    return ranks


class CoarseToFineSearchCV(PersistenceMixin, BaseSearchCV):
    """Random search in rounds that narrow the ranges around the best candidates.

    The notes' hyperparameter search (二.12) as a scikit-learn search object:
    round ``r`` samples ``n_iter`` candidates from the current distributions and
    scores them on validation data; every round but the last also applies
    ``coarse_params`` (e.g. a few epochs, so the early rounds are cheap); after
    each round :func:`narrow_distributions` narrows the ranges around the best
    candidates of that round. The best candidate of the last round -- trained
    with its real parameters -- is refit on the whole data.

    Parameters
    ----------
    estimator : estimator object
        The estimator (or pipeline) to tune.

    param_distributions : dict or list of dicts
        Parameter names (``"step__param"`` in pipelines) to frozen scipy
        distributions or lists of options, as for
        :class:`~sklearn.model_selection.RandomizedSearchCV`. ``uniform``,
        ``loguniform`` (narrowed on a log scale) and ``randint`` ranges narrow
        from round to round and lists drop their worst options; other
        distributions are sampled as given in every round.

        With a list of dicts, each round samples as ``RandomizedSearchCV``
        does: every candidate comes from one dict picked at random (or, when
        every value is a list, the candidates are drawn without replacement
        from the combined grid). Each dict then narrows on the candidates
        drawn from it (``cv_results_["distributions_index"]``); a dict no
        candidate came from stays as it was.

    n_iter : int, default=10
        Candidates sampled per round (fewer if the lists allow fewer).

    n_rounds : int, default=3
        Number of rounds. The last one is the only full-budget round.

    coarse_params : dict, default=None
        Parameters set on every candidate of every round but the last, e.g.
        ``{"max_iter": 5}`` to train for a few epochs only. They must not be
        searched too (keys of ``param_distributions``).

    scoring : str, callable, list, tuple or dict, default=None
        The validation score, as in
        :class:`~sklearn.model_selection.RandomizedSearchCV`. For several
        metrics, ``refit`` names the one that picks the best candidate and
        ``narrowing_metric`` the one that narrows the ranges.

    cv : int, cross-validation generator or iterable, default=None
        The validation scheme. ``None`` means one split holding out 20% of the
        data (``ceil(0.2 * n_samples)`` rows), seeded from ``random_state``,
        by the policy of the estimators' ``early_stopping`` split: stratified
        for classifiers, and when a class is too small to stratify, rows drawn
        at random among those whose class keeps a training row. Any splitter
        must give the same splits on every call (randomized splitters need an
        integer ``random_state``), so that all rounds are scored on the same
        data.

    refit : bool, str or callable, default=True
        Refit the best candidate of the last round on the whole data and make
        the ``best_*`` attributes available. As in
        :class:`~sklearn.model_selection.GridSearchCV`, several metrics need
        the name of the one that picks the best candidate, a callable, or
        ``False`` (no refit and no ``best_*`` attributes). A callable receives
        the ``cv_results_`` rows of the last round and returns the index of the
        best among them; ``best_score_`` is then not set.

    narrowing_metric : str, default=None
        With several metrics in ``scoring``, the name of the one whose
        validation scores narrow the ranges after each round. ``None`` means
        the metric ``refit`` names; it must be given when ``refit`` is
        ``False`` or a callable. Checked before any candidate is fitted (for a
        callable ``scoring``, whose metrics are only known once it has scored,
        after the first round). Leave it ``None`` with a single metric.

    n_jobs : int, default=None
        Number of candidate fits run in parallel through joblib (so on Dask
        under ``joblib.parallel_config(backend="dask")``). ``None`` means 1
        unless in a joblib context; -1 means all processors.

    random_state : int, RandomState instance or None, default=None
        Seeds the sampling of every round and the default validation split.
        The estimator's own randomness is governed by its own ``random_state``.

    verbose : int, default=0
        Print a summary of each round when > 0; more messages when higher.

    error_score : 'raise' or float, default=np.nan
        The score of a candidate whose fit fails, or ``'raise'`` to raise.

    Attributes
    ----------
    cv_results_ : dict of numpy (masked) ndarrays
        The scores, times and parameters of every candidate of every round, as
        for :class:`~sklearn.model_selection.RandomizedSearchCV`, plus
        ``"round"``: the round (0, 1, ...) each candidate came from, and, when
        ``param_distributions`` is a list, ``"distributions_index"``: the
        index of the dict it was drawn from. ``"params"`` are the parameters
        as evaluated, so coarse-round candidates include ``coarse_params``.

        ``rank_test_<metric>`` (``rank_test_score`` for a single metric) ranks
        round by round, last round first: the candidates of the last round
        rank 1, 2, ..., and those of each earlier round come after all those
        of the later rounds. So rank 1 is the best candidate of the last round
        (``best_index_`` when ``refit`` names the metric), and a coarse-round
        score, obtained with the coarse budget, never outranks a full-budget
        one. Within a round, ranks are as in ``RandomizedSearchCV``: ties share
        the lowest rank and NaN scores rank last.

    rounds_ : list of dict, or list of lists of dicts
        The ``param_distributions`` searched in each round, in the form given
        (scipy distributions or lists; a list of dicts per round when a list
        was given); ``rounds_[0]`` holds the given ones.

    best_estimator_ : estimator
        The best candidate of the last round, refit on the whole data. Not
        available if ``refit=False``.

    best_score_ : float
        Validation score of the best candidate of the last round. Not
        available if ``refit`` is a callable, or ``False`` with several
        metrics.

    best_params_ : dict
        Parameters of the best candidate of the last round (so without
        ``coarse_params``). Not available if ``refit=False`` with several
        metrics.

    best_index_ : int
        Index of the best candidate in ``cv_results_``. Not available if
        ``refit=False`` with several metrics.

    scorer_ : function or dict
        The scorer(s) used on the validation data.

    n_splits_ : int
        Number of cross-validation splits (1 with the default ``cv``).

    refit_time_ : float
        Seconds spent refitting the best candidate on the whole data.

    multimetric_ : bool
        Whether several metrics were scored.

    classes_ : ndarray of shape (n_classes,)
        The class labels (classifiers only, after refit).

    n_features_in_ : int
        Number of features seen during fit (after refit).

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, for pandas input the estimator
        records (after refit).

    See Also
    --------
    narrow_distributions : The narrowing step on its own.
    sklearn.model_selection.RandomizedSearchCV : One round, no narrowing.
    sklearn.model_selection.HalvingRandomSearchCV : Rounds that grow the budget
        of the surviving candidates instead of narrowing the ranges.

    Notes
    -----
    Why the last round picks the best (as in ``HalvingRandomSearchCV``): a
    coarse-round candidate was scored with the coarse budget
    (``coarse_params``), a score that is not comparable with the full-budget
    scores, and its evaluated parameters include the coarse overrides, which
    should not be refit. Narrowing makes the last round sample where the
    coarse rounds did well. The ranks follow the same rule, where
    ``HalvingRandomSearchCV`` (scikit-learn 1.9) ranks all its iterations
    together, so that its rank 1 may not be its best candidate.

    Saved with ``skops.io``, a search loads through
    :func:`skdeep.persistence.load_skops`: its scipy distributions are saved
    as plain data (the name of the ``scipy.stats`` distribution and its
    parameters) and rebuilt on load, without their own ``random_state``.

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdeep import CoarseToFineSearchCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = CoarseToFineSearchCV(
    ...     make_pipeline(StandardScaler(), LogisticRegression()),
    ...     {"logisticregression__C": loguniform(1e-3, 1e2)},
    ...     n_iter=4,
    ...     n_rounds=2,
    ...     # A loose tolerance makes the coarse fits quick.
    ...     coarse_params={"logisticregression__tol": 0.1},
    ...     random_state=0,
    ... ).fit(X, y)
    >>> search.cv_results_["round"]
    array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> for distributions in search.rounds_:
    ...     low, high = distributions["logisticregression__C"].support()
    ...     print(f"C in [{low:.3g}, {high:.3g}]")
    C in [0.001, 100]
    C in [..., ...]
    >>> search.best_params_  # from the last round: no coarse tol
    {'logisticregression__C': np.float64(...)}
    >>> bool(search.best_score_ >= 0.9)
    True

    The last round ranks first, and its best candidate is rank 1:

    >>> ranks = search.cv_results_["rank_test_score"]
    >>> rounds = search.cv_results_["round"]
    >>> bool(ranks[rounds == 1].max() < ranks[rounds == 0].min())
    True
    >>> int(ranks[search.best_index_])
    1
    """

    _parameter_constraints: dict = {
        # pre_dispatch and return_train_score are not parameters of this class.
        **{
            name: constraint
            for name, constraint in BaseSearchCV._parameter_constraints.items()
            if name not in {"pre_dispatch", "return_train_score"}
        },
        "param_distributions": [dict, list],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "n_rounds": [Interval(Integral, 1, None, closed="left")],
        "coarse_params": [dict, None],
        "narrowing_metric": [str, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator,
        param_distributions,
        *,
        n_iter=10,
        n_rounds=3,
        coarse_params=None,
        scoring=None,
        cv=None,
        refit=True,
        narrowing_metric=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
        error_score=np.nan,
    ):
        self.param_distributions = param_distributions
        self.n_iter = n_iter
        self.n_rounds = n_rounds
        self.coarse_params = coarse_params
        self.narrowing_metric = narrowing_metric
        self.random_state = random_state
        super().__init__(
            estimator=estimator,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            error_score=error_score,
            return_train_score=False,
        )

    @all_or_nothing
    def fit(self, X, y=None, **params):
        """Run the rounds of the search, then refit the best candidate.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, split into training and validation parts.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs), \
                default=None
            Targets; None for unsupervised learning.

        **params : dict of str -> object
            Parameters passed to the ``fit`` method of the estimator, the
            scorer and the CV splitter, as for
            :class:`~sklearn.model_selection.RandomizedSearchCV`.

        Returns
        -------
        self : object
            The fitted search.
        """
        try:
            return super().fit(X, y, **params)
        except ValueError as error:
            # scikit-learn's "All the N fits failed." With a single validation
            # split, bad input (e.g. a string in X) fails every fit, where with k
            # folds the refit would raise the estimator's own error. Raise that one
            # by fitting the estimator once; if it fits, the candidates' params were
            # to blame and scikit-learn's report stands.
            if "fits failed" not in str(error):
                raise
            clone(self.estimator).fit(X, y)
            raise

    def _check_input_parameters(self, X, y, split_params):
        # BaseSearchCV.fit calls this hook after `check_cv` and before counting the
        # splits (as HalvingRandomSearchCV does), so the default validation split
        # replaces the 5-fold default here. Every check runs before any fit.
        spaces = self._spaces()
        coarse = self.coarse_params or {}
        searched = set(coarse) & set().union(*spaces)
        if searched:
            raise ValueError(
                f"`coarse_params` must not set searched parameters; received "
                f"coarse_params={self.coarse_params!r} whose {sorted(searched)} are "
                f"also in `param_distributions`."
            )
        unknown = set(coarse) - set(self.estimator.get_params(deep=True))
        if unknown:
            raise ValueError(
                f"`coarse_params` must be parameters of the estimator; "
                f"{sorted(unknown)} are not parameters of {self.estimator!r}."
            )
        if callable(self.scoring):
            # A callable scoring tells its metrics only once it has scored.
            self._narrowing_key = None
        elif isinstance(self.scoring, list | tuple | set | dict):
            self._narrowing_key = self._narrowing_metric_of(list(self.scoring))
        else:
            self._narrowing_key = self._narrowing_metric_of(None)
        rng = check_random_state(self.random_state)
        split_seed, *self._round_seeds = rng.randint(
            np.iinfo(np.int32).max, size=1 + self.n_rounds
        )
        if self.cv is None:
            self._checked_cv_orig = HoldOutSplit(
                0.2, stratify=is_classifier(self.estimator), random_state=split_seed
            )
        elif not _yields_constant_splits(self._checked_cv_orig):
            raise ValueError(
                "`cv` must give the same splits on every call, so that every round "
                "is scored on the same validation data; received "
                f"cv={self.cv!r}. Set its random_state to an int, or shuffle=False."
            )

    def _spaces(self):
        """``param_distributions`` as a list of dicts, checked."""
        spaces = self.param_distributions
        if isinstance(spaces, dict):
            spaces = [spaces]
        if not spaces or not all(isinstance(space, dict) for space in spaces):
            raise ValueError(
                "`param_distributions` must be a dict or a non-empty list of dicts; "
                f"received param_distributions={self.param_distributions!r}."
            )
        for space in spaces:
            for name, values in space.items():
                options = isinstance(values, Sequence | np.ndarray) and not isinstance(
                    values, str
                )
                if not (hasattr(values, "rvs") or (options and len(values) > 0)):
                    raise ValueError(
                        "`param_distributions` must map each parameter to a scipy "
                        "distribution or a non-empty list of options; received "
                        f"{name!r}: {values!r}."
                    )
        return spaces

    def _narrowing_metric_of(self, names):
        """The metric whose scores narrow the ranges, given the ``names`` of
        the metrics scored (None for a single metric, then called "score")."""
        if names is None:
            if self.narrowing_metric is not None:
                raise ValueError(
                    "`narrowing_metric` names one of several metrics of `scoring`, "
                    "and must be None with a single metric; received "
                    f"narrowing_metric={self.narrowing_metric!r} with "
                    f"scoring={self.scoring!r}."
                )
            return "score"
        if self.narrowing_metric is not None:
            if self.narrowing_metric not in names:
                raise ValueError(
                    f"`narrowing_metric` must be one of the metrics of `scoring`, "
                    f"{sorted(names)}; received "
                    f"narrowing_metric={self.narrowing_metric!r}."
                )
            return self.narrowing_metric
        if isinstance(self.refit, str):
            return self.refit
        raise ValueError(
            "With several metrics in `scoring`, `narrowing_metric` must name the one "
            "that narrows the ranges, unless `refit` names one; received "
            f"narrowing_metric=None and refit={self.refit!r} with metrics "
            f"{sorted(names)}."
        )

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        """Sample, score and narrow, round after round."""
        coarse = dict(self.coarse_params or {})
        given_list = not isinstance(self.param_distributions, dict)
        spaces = [dict(space) for space in self._spaces()]
        metric = self._narrowing_key
        sources = []  # for each candidate so far, the index of the dict it came from
        self.rounds_ = []
        search_ctx = callback_ctx.subcontext(
            task_name="search", max_subtasks=self.n_rounds
        ).call_on_fit_task_begin(estimator=self)
        for round_, seed in enumerate(self._round_seeds):
            last = round_ == self.n_rounds - 1
            self.rounds_.append(spaces if given_list else spaces[0])
            candidates, round_sources = _sample(spaces, self.n_iter, seed)
            sources += round_sources
            # The coarse overrides go into the candidates themselves, so that
            # cv_results_["params"] shows what was evaluated.
            candidates = [{**p, **({} if last else coarse)} for p in candidates]
            more_results = {"round": [round_] * len(candidates)}
            if given_list:
                more_results["distributions_index"] = round_sources
            round_ctx = search_ctx.subcontext(
                task_name="coarse-to-fine-round",
                max_subtasks=len(candidates) * self.n_splits_,
                sequential_subtasks=False,
            ).call_on_fit_task_begin(estimator=self)
            results = evaluate_candidates(
                candidates, more_results=more_results, callback_ctx=round_ctx
            )
            round_ctx.call_on_fit_task_end(estimator=self)
            if metric is None:  # a callable scoring: its metrics are known now
                names = [
                    key.removeprefix("mean_test_")
                    for key in results
                    if key.startswith("mean_test_")
                ]
                metric = self._narrowing_metric_of(
                    None if names == ["score"] else names
                )
            in_round = results["round"] == round_
            if self.verbose > 0:
                scores = results[f"mean_test_{metric}"][in_round]
                best = np.nanmax(scores) if np.isfinite(scores).any() else np.nan
                print(
                    f"[CoarseToFineSearchCV] round {round_ + 1}/{self.n_rounds}: "
                    f"{len(candidates)} candidates, best {metric} {best:.4f}"
                )
            if not last:
                # Each dict narrows on its own candidates of this round.
                source = np.asarray(sources)
                spaces = [
                    narrow_distributions(
                        space,
                        _take(results, np.flatnonzero(in_round & (source == i))),
                        metric=metric,
                    )
                    for i, space in enumerate(spaces)
                ]
        search_ctx.call_on_fit_task_end(estimator=self)

    def _format_results(self, candidate_params, n_splits, out, more_results=None):
        # scikit-learn ranks all the candidates together, so that a coarse-round
        # candidate, scored after a few epochs, could rank above the best of the
        # last round. Rank round by round instead (see cv_results_ in the
        # docstring); BaseSearchCV.fit formats the results with this method.
        results = super()._format_results(candidate_params, n_splits, out, more_results)
        for key in [key for key in results if key.startswith("rank_test_")]:
            scores = results["mean_test_" + key.removeprefix("rank_test_")]
            results[key] = _rank_by_round(scores, results["round"])
        return results

    @staticmethod
    def _select_best_index(refit, refit_metric, results):
        """The best candidate of the last round (see the class Notes).

        As ``HalvingRandomSearchCV._select_best_index``; with the ranks by round,
        it is also the candidate ranked 1 for ``refit_metric``.
        """
        last = np.flatnonzero(results["round"] == np.max(results["round"]))
        if callable(refit):
            best = refit(_take(results, last))
            if not isinstance(best, Integral):
                raise TypeError("best_index_ returned is not an integer")
            if not 0 <= best < len(last):
                raise IndexError("best_index_ index out of range")
            return last[best]
        scores = results[f"mean_test_{refit_metric}"][last]
        if np.isnan(scores).all():
            return last[0]
        return last[np.nanargmax(scores)]

    # skops cannot rebuild scipy.stats distributions safely (their __setstate__
    # runs code from the file; see skdeep/utils/_persistence.py), so a saved search
    # holds them as plain data, rebuilt on load.
    def __getstate__(self):
        state = super().__getstate__()
        for name in ("param_distributions", "rounds_"):
            if name in state:
                state[name] = save_distributions(state[name])
        return state

    def __setstate__(self, state):
        state = dict(state)
        for name in ("param_distributions", "rounds_"):
            if name in state:
                state[name] = load_distributions(state[name])
        super().__setstate__(state)
