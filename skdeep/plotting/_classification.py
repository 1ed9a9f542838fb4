"""Confusion matrix annotated with sensitivity and specificity (notes 四)."""

import numpy as np
from sklearn.base import is_classifier
from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix
from sklearn.utils.multiclass import unique_labels

from ._utils import import_pyplot


class SensitivitySpecificityDisplay(ConfusionMatrixDisplay):
    """Confusion matrix annotated with sensitivity and specificity.

    The notes' cancer test (四): *sensitivity* ``TP / (TP + FN)`` is the row of
    the patients who have the disease, *specificity* ``TN / (TN + FP)`` the row
    of those who do not. For two classes the positive row is annotated with the
    sensitivity, the negative row with the specificity, and each cell with its
    name (TP, FN, FP, TN). With more classes, each row ``k`` gets the
    one-vs-rest sensitivity and specificity of class ``k``.

    It extends :class:`sklearn.metrics.ConfusionMatrixDisplay`; use
    :meth:`from_estimator` or :meth:`from_predictions` to build it.

    Parameters
    ----------
    confusion_matrix : ndarray of shape (n_classes, n_classes)
        The matrix to draw (counts, or normalized counts).

    display_labels : ndarray of shape (n_classes,), default=None
        Class labels for the ticks; ``0 .. n_classes - 1`` when ``None``.

    counts : ndarray of shape (n_classes, n_classes), default=None
        Raw (weighted) counts the scores are computed from; defaults to
        ``confusion_matrix``. Needed when the drawn matrix is normalized by
        column or over all cells.

    pos_label : int, float, bool or str, default=None
        The positive class of a binary problem (e.g. *malignant*). ``None``
        means ``1`` if it is a label, else the last label.

    Attributes
    ----------
    sensitivity_ : ndarray of shape (n_classes,)
        One-vs-rest sensitivity of each class (row).

    specificity_ : ndarray of shape (n_classes,)
        One-vs-rest specificity of each class (row).

    annotations_ : list of matplotlib Text
        The score annotations beside the rows (tick labels of ``score_axis_``).

    score_axis_ : matplotlib SecondaryAxis
        The right-hand axis carrying the annotations.

    im_, text_, ax_, figure_
        As in :class:`sklearn.metrics.ConfusionMatrixDisplay`.

    See Also
    --------
    skdeep.metrics.sensitivity_score : Sensitivity of predictions.
    skdeep.metrics.specificity_score : Specificity of predictions.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skdeep.plotting import SensitivitySpecificityDisplay
    >>> y_true = ["benign", "malignant", "malignant", "benign", "malignant"]
    >>> y_pred = ["benign", "malignant", "benign", "benign", "malignant"]
    >>> display = SensitivitySpecificityDisplay.from_predictions(
    ...     y_true, y_pred, pos_label="malignant")
    >>> display.sensitivity_
    array([1.        , 0.66666667])
    """

    def __init__(
        self, confusion_matrix, *, display_labels=None, counts=None, pos_label=None
    ):
        super().__init__(confusion_matrix, display_labels=display_labels)
        self.counts = counts
        self.pos_label = pos_label

    def plot(
        self,
        *,
        include_values=True,
        cmap="Blues",
        xticks_rotation="horizontal",
        values_format=None,
        ax=None,
        colorbar=False,
        im_kw=None,
        text_kw=None,
    ):
        """Draw the matrix and the scores.

        Parameters are those of
        :meth:`sklearn.metrics.ConfusionMatrixDisplay.plot`; the default colormap
        is ``'Blues'`` and the colorbar is off, to leave room for the scores.

        Parameters
        ----------
        include_values : bool, default=True
            Write the values in the cells.

        cmap : str or matplotlib Colormap, default='Blues'
            Colormap of the matrix.

        xticks_rotation : {'vertical', 'horizontal'} or float, default='horizontal'
            Rotation of the predicted-label tick labels.

        values_format : str, default=None
            Format of the cell values; ``'d'`` or ``'.2g'`` when ``None``.

        ax : matplotlib Axes, default=None
            Axes to draw on; ``None`` creates a figure.

        colorbar : bool, default=False
            Add a colorbar.

        im_kw : dict, default=None
            Keywords passed to ``imshow``.

        text_kw : dict, default=None
            Keywords passed to the cells' ``text``.

        Returns
        -------
        display : SensitivitySpecificityDisplay
            ``self``, with ``ax_``, ``figure_``, ``sensitivity_``,
            ``specificity_`` and ``annotations_`` set.
        """
        plt = import_pyplot("SensitivitySpecificityDisplay.plot")
        if ax is None:
            _, ax = plt.subplots(figsize=(5.6, 4.2), layout="constrained")
        super().plot(
            include_values=include_values,
            cmap=cmap,
            xticks_rotation=xticks_rotation,
            values_format=values_format,
            ax=ax,
            colorbar=colorbar,
            im_kw=im_kw,
            text_kw=text_kw,
        )
        counts = np.asarray(
            self.confusion_matrix if self.counts is None else self.counts, dtype=float
        )
        self.sensitivity_, self.specificity_ = _one_vs_rest_scores(counts)
        n_classes = counts.shape[0]
        labels = (
            np.arange(n_classes)
            if self.display_labels is None
            else np.asarray(self.display_labels)
        )

        # The scores label the rows on a right-hand axis, so that layout engines
        # make room for them as for any tick label.
        if n_classes == 2:
            pos = _positive_index(labels, self.pos_label)
            neg = 1 - pos
            row_text = {
                pos: f"sensitivity\nTP / (TP + FN)\n= {self.sensitivity_[pos]:.3f}",
                neg: f"specificity\nTN / (TN + FP)\n= {self.specificity_[pos]:.3f}",
            }
            if include_values:
                names = {(pos, pos): "TP", (pos, neg): "FN", (neg, pos): "FP"}
                names[neg, neg] = "TN"
                for (i, j), name in names.items():
                    cell = self.text_[i, j]
                    cell.set_text(f"{name}\n{cell.get_text()}")
            ax.set_title(f"positive class: {labels[pos]}")
        else:
            row_text = {
                row: f"sens {self.sensitivity_[row]:.2f}\n"
                f"spec {self.specificity_[row]:.2f}"
                for row in range(n_classes)
            }
            ax.set_title("sensitivity / specificity of each class vs the rest")
        rows = sorted(row_text)
        right = ax.secondary_yaxis("right")
        right.set_yticks(rows, [row_text[r] for r in rows], fontsize=9)
        right.tick_params(length=0, pad=6)
        self.annotations_ = right.get_yticklabels()
        self.score_axis_ = right
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        pos_label=None,
        labels=None,
        sample_weight=None,
        normalize=None,
        display_labels=None,
        include_values=True,
        xticks_rotation="horizontal",
        values_format=None,
        cmap="Blues",
        ax=None,
        colorbar=False,
        im_kw=None,
        text_kw=None,
    ):
        """Plot the confusion matrix of a fitted classifier on ``X, y``.

        Parameters
        ----------
        estimator : estimator instance
            Fitted classifier, or a pipeline ending in one.

        X : array-like of shape (n_samples, n_features)
            Input values.

        y : array-like of shape (n_samples,)
            True labels.

        pos_label : int, float, bool or str, default=None
            Positive class of a binary problem; see the class docstring.

        labels : array-like of shape (n_classes,), default=None
            Labels to index the matrix; those in ``y`` or predicted by default.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        normalize : {'true', 'pred', 'all'}, default=None
            Normalize the drawn matrix over rows, columns or all cells; the
            scores always come from the counts.

        display_labels : array-like of shape (n_classes,), default=None
            Tick labels; ``labels`` by default.

        include_values, xticks_rotation, values_format, cmap, ax, colorbar, \
im_kw, text_kw
            See :meth:`plot`.

        Returns
        -------
        display : SensitivitySpecificityDisplay
            The display.
        """
        if not is_classifier(estimator):
            raise ValueError(
                f"{cls.__name__}.from_estimator only supports classifiers; "
                f"received {type(estimator).__name__}."
            )
        return cls.from_predictions(
            y,
            estimator.predict(X),
            pos_label=pos_label,
            labels=labels,
            sample_weight=sample_weight,
            normalize=normalize,
            display_labels=display_labels,
            include_values=include_values,
            xticks_rotation=xticks_rotation,
            values_format=values_format,
            cmap=cmap,
            ax=ax,
            colorbar=colorbar,
            im_kw=im_kw,
            text_kw=text_kw,
        )

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_pred,
        *,
        pos_label=None,
        labels=None,
        sample_weight=None,
        normalize=None,
        display_labels=None,
        include_values=True,
        xticks_rotation="horizontal",
        values_format=None,
        cmap="Blues",
        ax=None,
        colorbar=False,
        im_kw=None,
        text_kw=None,
    ):
        """Plot the confusion matrix of true and predicted labels.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True labels.

        y_pred : array-like of shape (n_samples,)
            Predicted labels.

        pos_label : int, float, bool or str, default=None
            Positive class of a binary problem; see the class docstring.

        labels : array-like of shape (n_classes,), default=None
            Labels to index the matrix; those in ``y_true`` or ``y_pred`` by
            default.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        normalize : {'true', 'pred', 'all'}, default=None
            Normalize the drawn matrix over rows, columns or all cells; the
            scores always come from the counts.

        display_labels : array-like of shape (n_classes,), default=None
            Tick labels; ``labels`` by default.

        include_values, xticks_rotation, values_format, cmap, ax, colorbar, \
im_kw, text_kw
            See :meth:`plot`.

        Returns
        -------
        display : SensitivitySpecificityDisplay
            The display.
        """
        if labels is None:
            labels = unique_labels(y_true, y_pred)
        if display_labels is None:
            display_labels = labels
        counts = confusion_matrix(
            y_true, y_pred, sample_weight=sample_weight, labels=labels
        )
        shown = confusion_matrix(
            y_true,
            y_pred,
            sample_weight=sample_weight,
            labels=labels,
            normalize=normalize,
        )
        if pos_label is not None and pos_label not in list(labels):
            raise ValueError(
                f"`pos_label`={pos_label!r} is not a label; labels are {list(labels)}."
            )
        # The display labels may be renamed classes: find pos_label by position.
        pos_index = None if pos_label is None else list(labels).index(pos_label)
        display = cls(
            shown,
            display_labels=display_labels,
            counts=counts,
            pos_label=None if pos_index is None else display_labels[pos_index],
        )
        return display.plot(
            include_values=include_values,
            cmap=cmap,
            ax=ax,
            xticks_rotation=xticks_rotation,
            values_format=values_format,
            colorbar=colorbar,
            im_kw=im_kw,
            text_kw=text_kw,
        )


def _one_vs_rest_scores(counts):
    """Per-class sensitivity and specificity of a confusion matrix of counts."""
    total = counts.sum()
    tp = np.diag(counts)
    fn = counts.sum(axis=1) - tp
    fp = counts.sum(axis=0) - tp
    tn = total - tp - fn - fp
    with np.errstate(invalid="ignore", divide="ignore"):
        return tp / (tp + fn), tn / (tn + fp)


def _positive_index(labels, pos_label):
    """Row of the positive class among two labels (``1`` by default, as sklearn)."""
    labels = list(labels)
    if pos_label is None:
        pos_label = 1 if 1 in labels else labels[-1]
    if pos_label not in labels:
        raise ValueError(
            f"`pos_label`={pos_label!r} is not one of the labels {labels}."
        )
    return labels.index(pos_label)
