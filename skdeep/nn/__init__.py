"""The numpy engine: activations, losses, layers, optimizers, networks, training.

The engine knows nothing of scikit-learn's estimator API (validation, tags,
fitted attributes); the estimators in :mod:`skdeep` drive it. The optimizers are
scikit-learn ``BaseEstimator`` subclasses only so that ``clone`` and
``get_params`` work on them when they are passed as hyperparameters.
"""

from .network import Sequential

__all__ = ["Sequential"]
