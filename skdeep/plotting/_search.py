"""Coarse-to-fine hyperparameter search, round by round (notes 二.12)."""

import numbers

import numpy as np

from ._utils import import_pyplot

_LOG_DISTRIBUTIONS = {"loguniform", "reciprocal"}
# Height of one round's range strip, as a fraction of the panel height.
_STRIP = 0.04


class SearchRoundsDisplay:
    """Validation score against each hyperparameter, one colour per search round.

    The notes' recipe (二.12): sample hyperparameters at random from wide
    ranges with few epochs, keep the region where the validation score is good,
    narrow the ranges there, and sample again. Each panel is one hyperparameter:
    the points are the candidates of every round, and the shaded bands the range
    each round sampled from, darker where the rounds overlap, so the narrowing
    is visible.

    Use :meth:`from_estimator` with a fitted
    :class:`~skdeep.CoarseToFineSearchCV`. All parameters are stored as
    attributes.

    Parameters
    ----------
    cv_results : dict of str to ndarray
        A search's ``cv_results_`` with a ``'round'`` entry.

    rounds : list of dict, or list of lists of dicts
        The ``param_distributions`` of each round (``rounds_``): scipy
        distributions or lists of values; a list of dicts per round when the
        search was given a list of dicts.

    params : list of str, default=None
        The hyperparameters to draw, one panel each; all those of the rounds
        (of any of their dicts) when None.

    score_key : str, default='mean_test_score'
        The ``cv_results`` entry on the y axis.

    score_name : str, default=None
        The y label; derived from ``score_key`` when None.

    best_index : int, default=None
        Index of the candidate to star (the search's ``best_index_``: the best
        of the last round); the best score of all rounds when None.

    coarse_params : dict, default=None
        The search's ``coarse_params``, named in the legend of every round but
        the last: their scores come from that reduced budget.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes
        One panel per hyperparameter.

    ax_ : matplotlib Axes
        The first panel.

    figure_ : matplotlib Figure
        The figure.

    scatters_ : dict of (str, int) to matplotlib PathCollection
        The candidates of round ``r`` in the panel of parameter ``p``, keyed
        ``(p, r)``.

    spans_ : dict of (str, int) to list of matplotlib Artist
        The shaded ranges of round ``r`` for parameter ``p``: two artists (a
        light span and a strip) per range, one range per dict of the round
        that has ``p`` (per option of a list drawn as categories).

    See Also
    --------
    TrainingHistoryDisplay : Loss and score per epoch of one network.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from scipy.stats import loguniform
    >>> from skdeep.plotting import SearchRoundsDisplay
    >>> rounds = [{"alpha": loguniform(1e-5, 1e-1)}, {"alpha": loguniform(1e-4, 1e-2)}]
    >>> cv_results = {"param_alpha": np.array([1e-5, 1e-2, 2e-3, 1e-3]),
    ...               "mean_test_score": np.array([0.7, 0.8, 0.9, 0.85]),
    ...               "round": np.array([0, 0, 1, 1])}
    >>> display = SearchRoundsDisplay(cv_results, rounds).plot()
    >>> display.ax_.get_xscale()
    'log'
    """

    def __init__(
        self,
        cv_results,
        rounds,
        *,
        params=None,
        score_key="mean_test_score",
        score_name=None,
        best_index=None,
        coarse_params=None,
    ):
        self.cv_results = cv_results
        self.rounds = rounds
        self.params = params
        self.score_key = score_key
        self.score_name = score_name
        self.best_index = best_index
        self.coarse_params = coarse_params

    @classmethod
    def from_estimator(cls, search, *, params=None, ax=None, ncols=3):
        """Plot the rounds of a fitted coarse-to-fine search.

        Parameters
        ----------
        search : CoarseToFineSearchCV
            A fitted search, with ``cv_results_`` and ``rounds_``.

        params : list of str, default=None
            Hyperparameters to draw; all those searched when None.

        ax : array-like of matplotlib Axes, default=None
            One Axes per parameter; ``None`` creates a figure.

        ncols : int, default=3
            Panels per row of a new figure.

        Returns
        -------
        display : SearchRoundsDisplay
            The display.
        """
        for attr in ("cv_results_", "rounds_"):
            if not hasattr(search, attr):
                raise ValueError(
                    f"SearchRoundsDisplay needs a fitted CoarseToFineSearchCV; "
                    f"{type(search).__name__} has no `{attr}`."
                )
        score_key, score_name = "mean_test_score", None
        if score_key not in search.cv_results_:
            # Multi-metric search: plot the metric that picks the best candidate
            # (``refit`` names it), else the one that narrowed the ranges (the
            # search requires ``narrowing_metric`` when ``refit`` is False or a
            # callable).
            metric = (
                search.refit
                if isinstance(search.refit, str)
                else getattr(search, "narrowing_metric", None)
            )
            score_key = f"mean_test_{metric}"
            score_name = f"mean validation score\n({metric})"
        elif isinstance(getattr(search, "scoring", None), str):
            score_name = f"mean validation score\n({search.scoring})"
        display = cls(
            search.cv_results_,
            search.rounds_,
            params=params,
            score_key=score_key,
            score_name=score_name,
            best_index=getattr(search, "best_index_", None),
            coarse_params=getattr(search, "coarse_params", None),
        )
        return display.plot(ax=ax, ncols=ncols)

    def plot(self, ax=None, *, ncols=3):
        """Draw one panel per hyperparameter.

        Parameters
        ----------
        ax : array-like of matplotlib Axes, default=None
            One Axes per parameter; ``None`` creates a figure.

        ncols : int, default=3
            Panels per row of a new figure.

        Returns
        -------
        display : SearchRoundsDisplay
            ``self``, with ``axes_``, ``figure_``, ``scatters_`` and ``spans_``.
        """
        plt = import_pyplot("SearchRoundsDisplay.plot")
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        results = self.cv_results
        # Each round as a list of dicts (one dict when the search was given one);
        # the parameters are the union of their keys, in order of appearance.
        rounds = [rd if isinstance(rd, list | tuple) else [rd] for rd in self.rounds]
        searched = dict.fromkeys(key for rd in rounds for d in rd for key in d)
        params = list(self.params or searched)
        missing = [p for p in params if f"param_{p}" not in results]
        if missing:
            raise ValueError(
                f"`cv_results` has no candidates for {missing}; searched: "
                f"{[k[6:] for k in results if k.startswith('param_')]}."
            )
        if self.score_key not in results:
            raise ValueError(
                f"`cv_results` has no {self.score_key!r}; its scores: "
                f"{[k for k in results if k.startswith('mean_test_')]}."
            )
        scores = np.asarray(results[self.score_key], dtype=float)
        rounds_of = np.asarray(results["round"], dtype=int)
        n_rounds = max(len(rounds), int(rounds_of.max()) + 1)
        colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, n_rounds))
        best = int(np.nanargmax(scores)) if self.best_index is None else self.best_index

        if ax is None:
            ncols = max(1, min(ncols, len(params)))
            nrows = -(-len(params) // ncols)
            fig, axes = plt.subplots(
                nrows,
                ncols,
                figsize=(3.6 * ncols, 3.2 * nrows + 0.6),
                squeeze=False,
                sharey=True,
                layout="constrained",
            )
        else:
            axes = np.atleast_1d(np.asarray(ax, dtype=object))
            fig = axes.flat[0].figure
        flat = axes.ravel()
        if flat.size < len(params):
            raise ValueError(
                f"{len(params)} parameters to draw; `ax` has only {flat.size} axes."
            )
        for extra in flat[len(params) :]:
            extra.set_axis_off()

        self.scatters_, self.spans_ = {}, {}
        for axis, param in zip(flat, params):
            values = _values(results[f"param_{param}"])
            present = [v for v in values if v is not _MISSING]
            spaces = [d[param] for rd in rounds for d in rd if param in d]
            # Lists of options are categories (one band per option); numbers
            # drawn from a distribution (in any dict) lie on a numeric axis,
            # where a list of numbers is shaded from its lowest to its highest.
            listed = all(isinstance(space, list | tuple) for space in spaces)
            if not listed and all(_is_number(v) for v in present):
                x = np.array([np.nan if v is _MISSING else v for v in values], float)
                categories = None
            else:
                categories = _categories(present, spaces)
                keys = [repr(c) for c in categories]
                x = np.array(
                    [np.nan if v is _MISSING else keys.index(repr(v)) for v in values],
                    dtype=float,
                )
                # Spread the points of one category so they do not hide each other.
                jitter = np.random.default_rng(0).uniform(-0.15, 0.15, x.size)
                x = x + jitter
            for r in range(n_rounds):
                # One range per dict of the round that has the parameter.
                self.spans_[param, r] = [
                    artist
                    for d in (rounds[r] if r < len(rounds) else [])
                    if param in d
                    for artist in _shade(axis, d[param], categories, colors[r], strip=r)
                ]
                mask = rounds_of == r
                self.scatters_[param, r] = axis.scatter(
                    x[mask],
                    scores[mask],
                    color=colors[r],
                    edgecolor="k",
                    linewidth=0.4,
                    s=26,
                    zorder=3,
                )
            axis.scatter(
                x[best],
                scores[best],
                marker="*",
                s=180,
                color="gold",
                edgecolor="k",
                linewidth=0.8,
                zorder=4,
            )
            if categories is not None:
                axis.set_xticks(range(len(categories)))
                axis.set_xticklabels([str(c) for c in categories], rotation=30)
            elif _log_scale(x, spaces):
                axis.set_xscale("log")
            axis.set_xlabel(_short_name(param, params))
            axis.grid(True, alpha=0.3)
        # Room under the points for the strips of the sampled ranges.
        low, high = np.nanmin(scores), np.nanmax(scores)
        pad = (high - low) or 1.0
        for axis in flat[: len(params)]:
            axis.set_ylim(low - pad * (0.1 + 2 * _STRIP * n_rounds), high + 0.12 * pad)
        for axis in axes[:, 0] if axes.ndim == 2 else flat[:1]:
            axis.set_ylabel(self.score_name or _score_label(self.score_key))

        handles = [
            Line2D(
                [],
                [],
                marker="o",
                linestyle="",
                color=colors[r],
                markeredgecolor="k",
                label=self._round_label(r, n_rounds, int(np.sum(rounds_of == r))),
            )
            for r in range(n_rounds)
        ]
        handles.append(Patch(color=colors[0], alpha=0.8, label="range sampled"))
        handles.append(
            Line2D(
                [],
                [],
                marker="*",
                linestyle="",
                color="gold",
                markeredgecolor="k",
                markersize=12,
                label="best candidate"
                + ("" if self.best_index is None else " (last round)"),
            )
        )
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=min(len(handles), 3),
            frameon=False,
        )

        self.axes_ = flat[: len(params)]
        self.ax_ = self.axes_[0]
        self.figure_ = fig
        return self

    def _round_label(self, r, n_rounds, n_candidates):
        label = f"round {r}: {n_candidates} candidates"
        if self.coarse_params and r < n_rounds - 1:
            names = list(self.coarse_params)
            budget = ", ".join(
                f"{_short_name(k, names)}={v}" for k, v in self.coarse_params.items()
            )
            label = f"{label} ({budget})"
        return label


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# A candidate that did not set the parameter (a masked cv_results_ entry).
_MISSING = object()


def _values(column):
    """``cv_results_['param_x']`` (often a masked array) as a list.

    Masked entries become ``_MISSING``. A list, not an array: numpy would turn
    tuple values such as ``hidden_layer_sizes=(50,)`` into rows of a 2-D array.
    """
    if np.ma.isMaskedArray(column):
        return [
            _MISSING if m else v
            for v, m in zip(column.data, np.ma.getmaskarray(column))
        ]
    return list(column)


def _categories(values, spaces):
    """The distinct values of a parameter, those listed in its ``spaces`` (the
    lists of options of every round and dict) first."""
    seen = {}
    for space in [*spaces, list(values)]:
        if isinstance(space, list | tuple):
            for v in space:
                seen.setdefault(repr(v), v)
    return list(seen.values())


def _distribution_range(space):
    """``(low, high)`` of a scipy distribution or numeric list, else None."""
    if space is None:
        return None
    if hasattr(space, "support"):
        low, high = space.support()
        if not (np.isfinite(low) and np.isfinite(high)):
            low, high = space.interval(0.98)
        return float(low), float(high)
    if isinstance(space, list | tuple | np.ndarray) and all(
        _is_number(v) for v in space
    ):
        return float(np.min(space)), float(np.max(space))
    return None


def _shade(axis, space, categories, color, *, strip):
    """Shade the range a round sampled ``space`` from; return the artists.

    Each range is drawn twice: lightly over the whole panel, so that nested
    ranges darken where the rounds agree, and as a solid strip (round ``strip``
    from the bottom) that shows each round's range on its own.
    """
    if categories is not None:
        if not isinstance(space, list | tuple):
            return []
        keys = [repr(c) for c in categories]
        spans = [(keys.index(repr(v)) - 0.4, keys.index(repr(v)) + 0.4) for v in space]
    else:
        bounds = _distribution_range(space)
        if bounds is None:
            return []
        spans = [bounds]
    artists = []
    for low, high in spans:
        artists.append(axis.axvspan(low, high, color=color, alpha=0.1, linewidth=0))
        artists.append(
            axis.axvspan(
                low,
                high,
                ymin=0.01 + _STRIP * strip,
                ymax=0.01 + _STRIP * (strip + 0.7),
                color=color,
                alpha=0.8,
                linewidth=0,
            )
        )
    return artists


def _short_name(param, params):
    """``param`` without its pipeline prefix (``mlp__alpha`` -> ``alpha``) when
    no other parameter has the same short name."""
    short = param.rsplit("__", 1)[-1]
    clashes = [p for p in params if p.rsplit("__", 1)[-1] == short]
    return short if len(clashes) == 1 else param


def _score_label(score_key):
    if score_key == "mean_test_score":
        return "mean validation score"
    return f"mean validation score\n({score_key.replace('mean_test_', '')})"


def _log_scale(x, spaces):
    """Log axis for log-uniform distributions, or positive values over 2 decades."""
    for space in spaces:
        name = getattr(getattr(space, "dist", None), "name", "")
        if name in _LOG_DISTRIBUTIONS:
            return True
    finite = x[np.isfinite(x)]
    return bool(finite.size and finite.min() > 0 and finite.max() / finite.min() > 100)
