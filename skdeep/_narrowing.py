"""Narrowing of hyperparameter ranges around the best candidates of a search.

Step 4 of the notes' coarse-to-fine recipe (二.12), on its own so that it works
after any scikit-learn search; :mod:`skdeep.model_selection` exports
:func:`narrow_distributions` and runs it between the rounds of
:class:`~skdeep.model_selection.CoarseToFineSearchCV`.
"""

import math
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import stats

from skdeep.utils._sklearn_compat import Interval, validate_params

__all__ = ["narrow_distributions"]

# Each side of the span of the best values is widened by this fraction of the old
# range, so that the next round also explores just beyond them. (On digits, 0.05
# matched a 3x larger random search more often than 0.1: benchmarks/bench_search.py.)
_MARGIN = 0.05

# The scipy families whose range can narrow; other distributions pass unchanged.
_UNIFORM = type(stats.uniform)
_LOGUNIFORM = type(stats.loguniform)
_RANDINT = type(stats.randint)


def _loc(distribution):
    """The ``loc`` of a frozen distribution; its args are ``(*shapes, loc, scale)``."""
    n_shapes = distribution.dist.numargs
    if len(distribution.args) > n_shapes:
        return distribution.args[n_shapes]
    return distribution.kwds.get("loc", 0)


def _narrow_interval(low, high, values, best, *, shrink, log):
    """The narrowed ``(low, high)`` around ``values``, computed on a log scale if
    ``log``: their span, widened by ``_MARGIN`` of the old width on each side, at
    most ``shrink`` times the old width if set (then centred on ``best``), and
    clipped to the old range."""
    to_scale, from_scale = (np.log, np.exp) if log else (float, float)
    width = to_scale(high) - to_scale(low)
    values = [to_scale(v) for v in values]
    new_low = min(values) - _MARGIN * width
    new_high = max(values) + _MARGIN * width
    if shrink is not None and new_high - new_low > shrink * width:
        best = to_scale(best)
        new_low, new_high = best - shrink * width / 2, best + shrink * width / 2
    # Clip on the original scale, so that a bound kept is kept exactly.
    return max(from_scale(new_low), low), min(from_scale(new_high), high)


def _index_of(options, value):
    """Position of ``value`` in the list ``options`` (identity first, then ==)."""
    for i, option in enumerate(options):
        if option is value:
            return i
    for i, option in enumerate(options):
        try:
            if bool(option == value):
                return i
        except (TypeError, ValueError):  # e.g. arrays: ambiguous truth value
            continue
    return None


def _narrow_one(distribution, sampled, top, *, shrink):
    """The narrowed form of one parameter's ``distribution``.

    ``sampled`` are all the values the results hold for the parameter, ``top`` the
    values of the best candidates, best first.
    """
    if isinstance(distribution, (list, tuple, np.ndarray)):
        options = list(distribution)
        seen = {_index_of(options, v) for v in sampled}
        best = {_index_of(options, v) for v in top}
        # Drop the options that were tried and never reached the top; keep the
        # untried ones, about which the round said nothing.
        return [o for i, o in enumerate(options) if i in best or i not in seen]
    family = getattr(distribution, "dist", None)
    if isinstance(family, _UNIFORM | _RANDINT) or (
        isinstance(family, _LOGUNIFORM) and _loc(distribution) == 0
    ):
        low, high = distribution.support()  # closed bounds; randint: high - 1
        top = np.clip(np.asarray(top, dtype=np.float64), low, high)
        if high <= low:
            return distribution
        new_low, new_high = _narrow_interval(
            low,
            high,
            top,
            top[0],
            shrink=shrink,
            log=isinstance(family, _LOGUNIFORM),
        )
        if isinstance(family, _UNIFORM):
            return stats.uniform(new_low, new_high - new_low)
        if isinstance(family, _LOGUNIFORM):
            return stats.loguniform(new_low, new_high)
        # Integers: round inwards (the range must not grow back), but keep the best.
        best = int(round(top[0]))
        new_low = min(math.ceil(new_low), best)
        new_high = max(math.floor(new_high), best)
        return stats.randint(new_low, new_high + 1)
    return distribution


@validate_params(
    {
        "param_distributions": [dict],
        "cv_results": [dict, pd.DataFrame],
        "top_k": [Interval(Integral, 1, None, closed="left"), None],
        "shrink": [Interval(Real, 0, 1, closed="right"), None],
        "metric": [str],
    },
    prefer_skip_nested_validation=True,
)
def narrow_distributions(
    param_distributions, cv_results, *, top_k=None, shrink=None, metric="score"
):
    """Narrow hyperparameter ranges around the best candidates of a search.

    This is the notes' step "narrow the ranges according to the validation
    scores" of a coarse-to-fine search, usable after any scikit-learn search.
    Given the ``param_distributions`` a search sampled from and its
    ``cv_results_``, the ``top_k`` best candidates decide the next ranges:

    - ``scipy.stats.uniform`` and ``scipy.stats.randint`` ranges shrink to the span
      of the top values, widened on each side by 5% of the old range, and kept
      inside the old range. A parameter that matters narrows quickly, one that
      does not (its top values spread out) stays wide.
    - ``scipy.stats.loguniform`` ranges do the same on a log scale.
    - Lists (categorical options) drop the options that were tried but are not
      among the top values; options that were never tried stay.
    - Any other distribution is returned unchanged.

    Parameters
    ----------
    param_distributions : dict
        The distributions the candidates were sampled from: parameter names to
        frozen scipy distributions or lists, as for
        :class:`~sklearn.model_selection.RandomizedSearchCV`.

    cv_results : dict or pandas.DataFrame
        A search's ``cv_results_`` (or a DataFrame of it), restricted to the
        candidates to learn from; needs the keys ``"params"`` and
        ``"mean_test_<metric>"``. Candidates with a non-finite score are ignored.

    top_k : int, default=None
        How many of the best candidates to narrow around. ``None`` means a third
        of the scored candidates, and at least 2.

    shrink : float in (0, 1], default=None
        If set, the widest a narrowed range can be, as a fraction of the old
        range: a wider one is cut to this width around the best value, so that
        every range narrows by this factor at least.

    metric : str, default="score"
        The score that ranks candidates: ``cv_results["mean_test_<metric>"]``.
        Use the scorer's name for multi-metric searches.

    Returns
    -------
    param_distributions : dict
        The narrowed distributions, in the form given: a new frozen scipy
        distribution of the same family, or a list. Unchanged if no candidate
        has a finite score.

    See Also
    --------
    CoarseToFineSearchCV : The whole coarse-to-fine loop as a search object.

    Examples
    --------
    The notes' rounds by hand with scikit-learn's ``RandomizedSearchCV`` on one
    validation split: a cheap first round (a loose tolerance) then a full round
    in the narrowed ranges.

    >>> from scipy.stats import loguniform
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import RandomizedSearchCV, ShuffleSplit
    >>> from skdeep.model_selection import narrow_distributions
    >>> X, y = load_iris(return_X_y=True)
    >>> X = (X - X.mean(axis=0)) / X.std(axis=0)
    >>> validation = ShuffleSplit(n_splits=1, test_size=0.2, random_state=0)
    >>> distributions = {"C": loguniform(1e-3, 1e2), "fit_intercept": [True, False]}
    >>> coarse = RandomizedSearchCV(
    ...     LogisticRegression(tol=0.1), distributions, n_iter=6, cv=validation,
    ...     random_state=0,
    ... ).fit(X, y)
    >>> narrowed = narrow_distributions(distributions, coarse.cv_results_)
    >>> low, high = narrowed["C"].support()
    >>> bool(high / low < 1e5)  # narrower than the five decades searched
    True
    >>> fine = RandomizedSearchCV(
    ...     LogisticRegression(), narrowed, n_iter=6, cv=validation, random_state=1,
    ... ).fit(X, y)
    >>> bool(fine.best_score_ >= 0.9)
    True
    """
    scores = np.asarray(cv_results[f"mean_test_{metric}"], dtype=np.float64)
    params = list(cv_results["params"])
    scored = np.flatnonzero(np.isfinite(scores))
    if scored.size == 0:
        return dict(param_distributions)
    if top_k is None:
        top_k = max(2, math.ceil(scored.size / 3))
    # Best first; a stable sort keeps the earlier candidate first among ties.
    ranked = scored[np.argsort(-scores[scored], kind="stable")]
    top = [params[i] for i in ranked[:top_k]]
    narrowed = {}
    for name, distribution in param_distributions.items():
        top_values = [p[name] for p in top if name in p]
        if not top_values:
            narrowed[name] = distribution
            continue
        sampled = [p[name] for p in params if name in p]
        narrowed[name] = _narrow_one(distribution, sampled, top_values, shrink=shrink)
    return narrowed
