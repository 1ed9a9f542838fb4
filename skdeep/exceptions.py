"""Warnings and errors raised by skdeep, in one place to catch them from.

skdeep's own classes:

- :class:`DivergenceWarning`: training stopped because the loss or the weights
  became non-finite; the last finite weights were restored (defined in
  :mod:`skdeep.nn.training`).
- :class:`InconsistentVersionWarning`: a model saved by another skdeep version
  was loaded (defined in ``skdeep.utils._persistence``).
- :class:`TrainingInterruptedWarning`: Ctrl-C stopped training; the model was
  kept (defined in :mod:`skdeep.nn.training`).

And, for convenience, the scikit-learn classes skdeep raises, re-exported
unchanged (``skdeep.exceptions.ConvergenceWarning is
sklearn.exceptions.ConvergenceWarning``):

- :class:`ConvergenceWarning`: ``max_iter`` epochs ran before training
  converged.
- :class:`NotFittedError`: a method that needs a fitted estimator was called
  before ``fit``.
- :class:`UndefinedMetricWarning`: a metric of :mod:`skdeep.metrics` is
  ill-defined (e.g. no negative samples) and was set to ``zero_division``.

Examples
--------
>>> import warnings
>>> import numpy as np
>>> from skdeep import MLPNetRegressor
>>> from skdeep.exceptions import ConvergenceWarning
>>> X, y = np.arange(8.0).reshape(-1, 1), np.arange(8.0)
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore", ConvergenceWarning)
...     reg = MLPNetRegressor(max_iter=2, random_state=0).fit(X, y)
>>> reg.n_iter_
2
"""

from sklearn.exceptions import (
    ConvergenceWarning,
    NotFittedError,
    UndefinedMetricWarning,
)

from .nn.training import DivergenceWarning, TrainingInterruptedWarning
from .utils._persistence import InconsistentVersionWarning

__all__ = [
    "ConvergenceWarning",
    "DivergenceWarning",
    "InconsistentVersionWarning",
    "NotFittedError",
    "TrainingInterruptedWarning",
    "UndefinedMetricWarning",
]
