"""skdeep: scikit-learn-compatible deep-learning estimators on numpy."""

import importlib

__version__ = "0.1.0"

# Public name -> module that defines it. Imported lazily so `import skdeep` stays
# fast and a module's heavy imports happen only when its estimator is used.
_PUBLIC = {
    "PerceptronClassifier": "skdeep.linear",
    "LogisticGD": "skdeep.linear",
    "MLPNetClassifier": "skdeep.mlp",
    "MLPNetRegressor": "skdeep.mlp",
    "ConvNetClassifier": "skdeep.convnet",
    "CoarseToFineSearchCV": "skdeep.model_selection",
}

__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'skdeep' has no attribute {name!r}")


def __dir__():
    return __all__
