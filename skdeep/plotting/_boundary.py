"""Decision regions of a classifier on 2-D data (notes 一.2-13)."""

import numpy as np
from sklearn.base import is_classifier
from sklearn.inspection import DecisionBoundaryDisplay

from ._utils import final_estimator, import_pyplot


class BoundaryDisplay:
    """Decision regions of a classifier on 2-D data, with the data and the line.

    The perceptron and logistic regression of the notes (一.2-13) split the
    plane with the line ``w1 x1 + w2 x2 + b = 0``. This display shades the
    regions (or the predicted probability) with
    :class:`sklearn.inspection.DecisionBoundaryDisplay`, scatters the samples by
    class, and, for a binary linear model (one with ``coef_`` and
    ``intercept_``), draws that line.

    Use :meth:`from_estimator` to build it.

    Parameters
    ----------
    decision_display : sklearn.inspection.DecisionBoundaryDisplay
        The computed regions.

    X : ndarray of shape (n_samples, 2)
        The samples to scatter.

    y : ndarray of shape (n_samples,)
        Their labels.

    coef : ndarray of shape (2,), default=None
        Weights ``w`` of a linear boundary ``w @ x + b = 0``; no line when None.

    intercept : float, default=None
        Bias ``b`` of the linear boundary.

    classes : ndarray of shape (n_classes,), default=None
        Labels in colour order; those of ``y`` when None.

    colors : list of matplotlib colors, default=None
        One colour per class, matching the regions; the ends of the ``'RdBu'``
        colormap for two classes and ``'tab10'`` colours for more when None.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes of the plot.

    figure_ : matplotlib Figure
        Figure holding it.

    decision_display_ : sklearn.inspection.DecisionBoundaryDisplay
        The drawn regions (``surface_`` holds the contour set).

    scatters_ : list of matplotlib PathCollection
        One scatter per class.

    line_ : matplotlib Line2D or None
        The line ``w @ x + b = 0`` of a binary linear model.

    See Also
    --------
    sklearn.inspection.DecisionBoundaryDisplay : The regions alone.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skdeep.plotting import BoundaryDisplay
    >>> X, y = make_blobs(centers=2, random_state=0)
    >>> clf = LogisticRegression().fit(X, y)
    >>> display = BoundaryDisplay.from_estimator(clf, X, y)
    >>> display.line_ is not None
    True
    """

    def __init__(
        self,
        decision_display,
        X,
        y,
        *,
        coef=None,
        intercept=None,
        classes=None,
        colors=None,
    ):
        self.decision_display = decision_display
        self.X = X
        self.y = y
        self.coef = coef
        self.intercept = intercept
        self.classes = classes
        self.colors = colors

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        response_method="auto",
        grid_resolution=200,
        eps=0.5,
        feature_names=None,
        ax=None,
    ):
        """Draw the decision regions of a fitted classifier on 2-D ``X``.

        Parameters
        ----------
        estimator : estimator instance
            Fitted classifier on two features, or a pipeline ending in one.

        X : array-like of shape (n_samples, 2)
            The samples; they set the plotted range.

        y : array-like of shape (n_samples,)
            Their labels, for the scatter colours.

        response_method : {'auto', 'predict_proba', 'decision_function', \
'predict'}, default='auto'
            What to shade, as in :class:`sklearn.inspection.DecisionBoundaryDisplay`:
            ``'auto'`` shades the probability of a binary classifier that has
            ``predict_proba`` and the predicted class otherwise.

        grid_resolution : int, default=200
            Grid points along each axis.

        eps : float, default=0.5
            Margin around the data.

        feature_names : list of str, default=None
            Axis labels; ``x1``, ``x2`` when None (or the pandas column names).

        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` creates a figure.

        Returns
        -------
        display : BoundaryDisplay
            The display.
        """
        plt = import_pyplot("BoundaryDisplay.from_estimator")
        if not is_classifier(estimator):
            raise ValueError(
                "BoundaryDisplay.from_estimator only supports classifiers; "
                f"received {type(estimator).__name__}."
            )
        if np.shape(X)[1] != 2:
            raise ValueError(
                f"`X` must have 2 features to be drawn in the plane; received "
                f"{np.shape(X)[1]}."
            )
        if feature_names is None:
            feature_names = [str(c) for c in getattr(X, "columns", ["x1", "x2"])]
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4.2), layout="constrained")
        classes = np.asarray(getattr(estimator, "classes_", np.unique(y)))
        if response_method == "auto":
            binary_proba = len(classes) == 2 and hasattr(estimator, "predict_proba")
            response_method = "predict_proba" if binary_proba else "predict"
        colors = _class_colors(plt, len(classes))
        if len(classes) == 2:
            # Two classes: one diverging colormap, its ends the class colours.
            kwargs = {"cmap": "RdBu"}
            if response_method == "predict_proba":
                kwargs.update(vmin=0.0, vmax=1.0)
        else:
            kwargs = {"multiclass_colors": colors}
        decision = DecisionBoundaryDisplay.from_estimator(
            estimator,
            X,
            response_method=response_method,
            grid_resolution=grid_resolution,
            eps=eps,
            xlabel=feature_names[0],
            ylabel=feature_names[1],
            ax=ax,
            alpha=0.45,
            **kwargs,
        )
        net = final_estimator(estimator)
        coef = intercept = None
        if (
            len(classes) == 2
            and net is estimator
            and getattr(net, "coef_", None) is not None
            and np.size(net.coef_) == 2
        ):
            coef = np.ravel(net.coef_)
            intercept = float(np.ravel(net.intercept_)[0])
        display = cls(
            decision,
            np.asarray(X),
            np.asarray(y),
            coef=coef,
            intercept=intercept,
            classes=classes,
            colors=colors,
        )
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Scatter the samples and draw the linear boundary over the regions.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; the regions' axes when None.

        Returns
        -------
        display : BoundaryDisplay
            ``self``, with ``ax_``, ``figure_``, ``scatters_`` and ``line_`` set.
        """
        plt = import_pyplot("BoundaryDisplay.plot")
        if ax is None:
            ax = self.decision_display.ax_
        classes = np.unique(self.y) if self.classes is None else self.classes
        colors = self.colors or _class_colors(plt, len(classes))
        markers = "os^vDP*X"
        self.scatters_ = []
        for k, label in enumerate(classes):
            mask = self.y == label
            self.scatters_.append(
                ax.scatter(
                    self.X[mask, 0],
                    self.X[mask, 1],
                    color=colors[k],
                    marker=markers[k % len(markers)],
                    edgecolor="k",
                    linewidth=0.5,
                    s=28,
                    label=f"class {label}",
                )
            )
        self.line_ = None
        if self.coef is not None:
            w1, w2 = self.coef
            b = self.intercept
            x_lo, x_hi = ax.get_xlim()
            y_lo, y_hi = ax.get_ylim()
            if abs(w2) > 1e-12:
                xs = np.array([x_lo, x_hi])
                ys = -(w1 * xs + b) / w2
            else:  # a vertical line
                xs = np.full(2, -b / w1)
                ys = np.array([y_lo, y_hi])
            (self.line_,) = ax.plot(
                xs, ys, "k-", linewidth=1.5, label=r"$w_1x_1 + w_2x_2 + b = 0$"
            )
            ax.set_xlim(x_lo, x_hi)
            ax.set_ylim(y_lo, y_hi)
        ax.legend(loc="best", fontsize=8, framealpha=0.8)
        self.decision_display_ = self.decision_display
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


def _class_colors(plt, n_classes):
    """Class colours: the ends of 'RdBu' for two classes, 'tab10' beyond."""
    if n_classes <= 2:
        cmap = plt.get_cmap("RdBu")
        return [cmap(0.1), cmap(0.9)][:n_classes]
    cmap = plt.get_cmap("tab10" if n_classes <= 10 else "gist_rainbow")
    return [cmap(k % cmap.N) for k in range(n_classes)]
