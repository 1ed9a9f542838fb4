"""The numpy engine: activations, losses, layers, optimizers, networks, training.

Nothing in this package imports scikit-learn's estimator machinery; the
estimators in :mod:`skdeep` drive it.
"""
