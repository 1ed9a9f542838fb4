"""The public homes of the warnings, errors and skops loader."""

import sklearn.exceptions

import skdeep.exceptions
import skdeep.persistence
from skdeep.nn.training import DivergenceWarning
from skdeep.utils import _persistence


def test_exceptions_are_the_classes_skdeep_raises():
    assert skdeep.exceptions.DivergenceWarning is DivergenceWarning
    assert (
        skdeep.exceptions.InconsistentVersionWarning
        is _persistence.InconsistentVersionWarning
    )
    for name in ["ConvergenceWarning", "NotFittedError", "UndefinedMetricWarning"]:
        assert getattr(skdeep.exceptions, name) is getattr(sklearn.exceptions, name)
    assert all(hasattr(skdeep.exceptions, name) for name in skdeep.exceptions.__all__)


def test_persistence_exposes_the_safe_loader():
    assert skdeep.persistence.load_skops is _persistence.load_skops
    assert skdeep.persistence.skops_trusted_types is _persistence.skops_trusted_types
