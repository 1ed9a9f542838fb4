"""Training curves of a network: loss and score per epoch (notes 二.5)."""

import numpy as np

from ._utils import final_estimator, import_pyplot

# history_ column -> (panel, legend label). The training score column is optional:
# networks record it only when they compute it.
_CURVES = {
    "loss": ("loss", "training"),
    "val_loss": ("loss", "validation"),
    "score": ("score", "training"),
    "train_score": ("score", "training"),
    "val_score": ("score", "validation"),
}


class TrainingHistoryDisplay:
    """Loss and score per epoch of a fitted network, best epoch marked.

    The notes' early-stopping picture (二.5): the training loss keeps falling
    while the validation loss turns back up; the epoch with the best validation
    result is where training should have stopped, and the weights a network with
    ``early_stopping=True`` restores. One panel shows the losses, a second the
    scores when the history has any.

    Use :meth:`from_estimator` to build it from a fitted network. All parameters
    are stored as attributes.

    Parameters
    ----------
    history : pandas.DataFrame
        One row per epoch, as a network's ``history_``: column ``loss`` and
        optionally ``val_loss``, ``score`` (or ``train_score``) and
        ``val_score``; epochs from an ``epoch`` column or index (else 1, 2, ...).

    best_epoch : int, default=None
        Epoch to mark (the one whose weights were kept); ``None`` marks none.

    estimator_name : str, default=None
        Name used in the title.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The loss panel.

    axes_ : ndarray of matplotlib Axes
        All panels: loss, then score when the history has scores.

    figure_ : matplotlib Figure
        Figure holding the panels.

    lines_ : dict of str to matplotlib Line2D
        The curve drawn for each history column.

    best_lines_ : list of matplotlib Line2D
        The vertical marks of the best epoch, one per panel (empty without one).

    See Also
    --------
    SearchRoundsDisplay : Scores of a coarse-to-fine hyperparameter search.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from skdeep.plotting import TrainingHistoryDisplay
    >>> history = pd.DataFrame({"epoch": [1, 2, 3, 4], "loss": [1.0, 0.6, 0.4, 0.3],
    ...                         "val_loss": [1.1, 0.7, 0.6, 0.65]})
    >>> display = TrainingHistoryDisplay(history, best_epoch=3).plot()
    >>> display.ax_.get_ylabel()
    'loss'
    """

    def __init__(self, history, *, best_epoch=None, estimator_name=None):
        self.history = history
        self.best_epoch = best_epoch
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None):
        """Plot the ``history_`` of a fitted network.

        Parameters
        ----------
        estimator : estimator instance
            A fitted network with a ``history_`` DataFrame (``MLPNetClassifier``,
            ``MLPNetRegressor``, ``ConvNetClassifier``), or a pipeline ending in
            one.

        ax : matplotlib Axes or array-like of Axes, default=None
            Where to draw: one Axes per panel (loss, then score when present).
            ``None`` creates a figure.

        name : str, default=None
            Title; defaults to the estimator's class name.

        Returns
        -------
        display : TrainingHistoryDisplay
            The display, with its axes and lines.
        """
        net = final_estimator(estimator)
        history = getattr(net, "history_", None)
        if history is None:
            raise ValueError(
                f"{type(net).__name__} has no `history_`: pass a fitted network "
                "(MLPNetClassifier, MLPNetRegressor or ConvNetClassifier)."
            )
        display = cls(
            history,
            best_epoch=_best_epoch(net, history),
            estimator_name=name or type(net).__name__,
        )
        return display.plot(ax=ax)

    def plot(self, ax=None, *, name=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of Axes, default=None
            One Axes per panel (loss, then score when the history has scores);
            ``None`` creates a figure.

        name : str, default=None
            Title; overrides ``estimator_name``.

        Returns
        -------
        display : TrainingHistoryDisplay
            ``self``, with ``ax_``, ``axes_``, ``figure_`` and ``lines_`` set.
        """
        plt = import_pyplot("TrainingHistoryDisplay.plot")
        history = self.history
        if "loss" not in history:
            raise ValueError(
                "`history` needs a 'loss' column; received columns "
                f"{list(history.columns)}."
            )
        epochs = _epochs(history)
        columns = [
            col
            for col in _CURVES
            if col in history and np.isfinite(history[col].astype(float)).any()
        ]
        panels = list(dict.fromkeys(_CURVES[col][0] for col in columns))

        if ax is None:
            fig, axes = plt.subplots(
                1,
                len(panels),
                figsize=(4.2 * len(panels), 3.4),
                squeeze=False,
                layout="constrained",
            )
            axes = axes.ravel()
        else:
            axes = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
            if axes.size < len(panels):
                raise ValueError(
                    f"The history has {len(panels)} panels ({', '.join(panels)}); "
                    f"`ax` has only {axes.size} axes."
                )
            fig = axes[0].figure
        panel_ax = dict(zip(panels, axes))

        self.lines_ = {}
        for col in columns:
            panel, label = _CURVES[col]
            style = "-" if label == "training" else "--"
            color = "C0" if label == "training" else "C1"
            (self.lines_[col],) = panel_ax[panel].plot(
                epochs, history[col].astype(float), style, color=color, label=label
            )

        self.best_lines_ = []
        if self.best_epoch is not None:
            for panel in panels:
                line = panel_ax[panel].axvline(
                    self.best_epoch,
                    color="0.3",
                    linestyle=":",
                    linewidth=1.2,
                    label=f"best epoch ({self.best_epoch})",
                )
                self.best_lines_.append(line)

        for panel, axis in panel_ax.items():
            axis.set_xlabel("epoch")
            axis.set_ylabel(panel)
            axis.grid(True, alpha=0.3)
            axis.legend(frameon=False)
        title = name or self.estimator_name
        if title:
            fig.suptitle(title)

        self.axes_ = np.asarray(axes[: len(panels)], dtype=object)
        self.ax_ = self.axes_[0]
        self.figure_ = fig
        return self


def _epochs(history):
    """Epoch numbers: the ``epoch`` column or index, else 1, 2, ..."""
    if "epoch" in history:
        return np.asarray(history["epoch"])
    if history.index.name == "epoch":
        return np.asarray(history.index)
    return np.arange(1, len(history) + 1)


def _best_epoch(net, history):
    """The epoch whose weights the network kept, or ``None`` if unknown.

    A network that records it (``best_epoch_``) is trusted. Otherwise the rule
    of skdeep's training loop is replayed: it monitors the validation loss (the
    training loss without a validation split), counts an epoch as better when
    its loss is below the best so far minus ``tol``, and restores the weights
    of the best epoch at the end of training.
    """
    best = getattr(net, "best_epoch_", None)
    if best is not None:
        return int(best)
    epochs = _epochs(history)
    tol = abs(float(getattr(net, "tol", 0.0) or 0.0))
    for col in ("val_loss", "loss"):
        if col not in history:
            continue
        values = history[col].astype(float).to_numpy()
        if not np.isfinite(values).any():
            continue
        best_value, best_epoch = np.inf, None
        for epoch, value in zip(epochs, values):
            if np.isfinite(value) and (best_epoch is None or value < best_value - tol):
                best_value, best_epoch = value, epoch
        return int(best_epoch)
    return None
