"""Helpers shared by the displays: the lazy matplotlib import and axes grids."""

import numpy as np


def import_pyplot(caller):
    """Import ``matplotlib.pyplot`` or say how to install it.

    matplotlib is the optional ``plot`` extra, so it is imported only when a
    display draws something, never when :mod:`skdeep.plotting` is imported.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is a test dependency
        raise ImportError(
            f"{caller} requires matplotlib, which skdeep installs with its optional "
            "'plot' extra: pip install 'skdeep[plot]' (or pip install matplotlib)."
        ) from exc
    return plt


def axes_grid(plt, ax, n_panels, *, ncols, panel_size=(1.4, 1.4), caller):
    """Return ``(figure, axes)``: ``n_panels`` axes in a grid, flattened.

    ``ax=None`` makes a new figure with ``ncols`` columns. Otherwise ``ax`` is an
    array-like of at least ``n_panels`` axes of one figure; the extra ones are
    hidden.
    """
    if ax is None:
        ncols = max(1, min(ncols, n_panels))
        nrows = -(-n_panels // ncols)
        # Balance the rows: 9 panels in rows of at most 8 become 5 + 4, not 8 + 1.
        ncols = -(-n_panels // nrows)
        fig, axes = plt.subplots(
            nrows,
            ncols,
            figsize=(panel_size[0] * ncols + 0.6, panel_size[1] * nrows + 0.6),
            squeeze=False,
            layout="constrained",
        )
    else:
        axes = np.asarray(ax, dtype=object)
        if axes.size < n_panels:
            raise ValueError(
                f"{caller} draws {n_panels} panels; `ax` has only {axes.size} axes."
            )
        fig = axes.flat[0].figure
    flat = axes.ravel()
    for extra in flat[n_panels:]:
        extra.set_axis_off()
    return fig, axes, flat[:n_panels]


def symmetric_limits(values):
    """``(-m, m)`` with ``m`` the largest magnitude: zero sits mid-colormap."""
    m = float(np.max(np.abs(values))) if np.size(values) else 1.0
    return -(m or 1.0), m or 1.0


def final_estimator(estimator):
    """The last step of a pipeline, or the estimator itself."""
    steps = getattr(estimator, "steps", None)
    if steps:
        return steps[-1][1]
    return estimator
