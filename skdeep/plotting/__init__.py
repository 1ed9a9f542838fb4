"""Plots of skdeep models, in scikit-learn's Display style (optional ``plot`` extra).

Each display is built with ``Display.from_estimator(...)`` (or
``from_predictions``), draws with ``plot(ax=...)``, and keeps what it drew in
attributes ending in ``_`` (``ax_`` or ``axes_``, ``figure_``...), like
:class:`sklearn.metrics.ConfusionMatrixDisplay`. matplotlib is imported only
when a display draws, with a clear error if it is missing: install it with
``pip install 'skdeep[plot]'``.

- :class:`BoundaryDisplay`: decision regions and the line ``Wx + b = 0`` (notes 一);
- :class:`TrainingHistoryDisplay`: loss and score per epoch, best epoch marked (二.5);
- :class:`SearchRoundsDisplay`: a coarse-to-fine search narrowing its ranges (二.12);
- :class:`ConvFiltersDisplay`: the learnt convolution kernels (三.3);
- :class:`FeatureMapsDisplay`: the feature maps of one image (三.3);
- :class:`AugmentationDisplay`: original against augmented images (三.9);
- :class:`SensitivitySpecificityDisplay`: a confusion matrix annotated with
  sensitivity and specificity (四).
"""

from ._augmentation import AugmentationDisplay
from ._boundary import BoundaryDisplay
from ._classification import SensitivitySpecificityDisplay
from ._history import TrainingHistoryDisplay
from ._images import ConvFiltersDisplay, FeatureMapsDisplay
from ._search import SearchRoundsDisplay

__all__ = [
    "AugmentationDisplay",
    "BoundaryDisplay",
    "ConvFiltersDisplay",
    "FeatureMapsDisplay",
    "SearchRoundsDisplay",
    "SensitivitySpecificityDisplay",
    "TrainingHistoryDisplay",
]
