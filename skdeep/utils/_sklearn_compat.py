"""Every private scikit-learn import skdeep makes, in one place.

scikit-learn documents these helpers for third-party estimators but keeps them
private (scikit-learn PR #23772: "it's a private thing"). When a release moves one,
this is the only file to edit.
"""

from sklearn.base import _fit_context
from sklearn.callback import CallbackSupportMixin
from sklearn.metrics._classification import _check_set_wise_labels
from sklearn.model_selection._search import BaseSearchCV
from sklearn.model_selection._split import _yields_constant_splits
from sklearn.utils._param_validation import (
    Hidden,
    Interval,
    Options,
    StrOptions,
    validate_params,
)
from sklearn.utils.validation import validate_data


def init_callback_context(estimator, **kwargs):
    """Open the estimator's root ``sklearn.callback`` context and set up its
    callbacks (the documented-but-private ``_init_callback_context``)."""
    return CallbackSupportMixin._init_callback_context(estimator, **kwargs)


__all__ = [
    "BaseSearchCV",
    "Hidden",
    "Interval",
    "Options",
    "StrOptions",
    "_check_set_wise_labels",
    "_fit_context",
    "_yields_constant_splits",
    "init_callback_context",
    "validate_data",
    "validate_params",
]
