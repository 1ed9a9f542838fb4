"""Input checks shared by the estimators, with errors that name the argument.

scikit-learn's ``validate_data`` reports most bad input well ("Input X contains
NaN", "X has 3 features, but ... is expecting 4"), but an array numpy cannot
convert to floats (strings, dicts, ragged lists) surfaces as numpy's own message,
e.g. ``could not convert string to float: 'a'``, which does not say which
argument held it; nor do scikit-learn's "Found array with dim 3" and "Complex
data not supported". :func:`validate_numeric` adds the argument and a
description of what was received, keeping the exception type and the original
first line (scikit-learn's ``check_dtype_object`` matches on it).
"""

from numbers import Real

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from ._sklearn_compat import validate_data
from ._warnings import warn_user

# Fragments of the messages of errors that do not say which argument is wrong:
# numpy failing to make floats of the input (strings, dicts, ragged lists), and
# scikit-learn's checks of the number of dimensions and of complex values.
_UNNAMED_ERRORS = (
    "could not convert",
    "argument must be a string",
    "setting an array element with a sequence",
    "invalid literal",
    "Found array with dim",
    "Expected 2D array",
    "Complex data not supported",
)


def _describe(value):
    """A short description of an array-like: its type, dtype and shape."""
    kind = type(value).__name__
    dtypes = getattr(value, "dtypes", None)  # DataFrame: one dtype per column
    if dtypes is not None and not isinstance(dtypes, np.dtype):
        return f"a {kind} with column dtypes {sorted({str(d) for d in dtypes})}"
    dtype, shape = getattr(value, "dtype", None), getattr(value, "shape", None)
    if dtype is not None and shape is not None:
        return f"a {kind} of dtype {dtype} and shape {shape}"
    return f"a {kind}"


def name_argument(exc, value, name):
    """Raise ``exc`` again, naming the argument ``name`` and describing ``value``.

    Only errors whose message does not already say which argument is wrong are
    changed; they keep their type and their first line (scikit-learn's own
    checks match on it), without the dump of the whole array.
    """
    message = str(exc)
    if not any(fragment in message for fragment in _UNNAMED_ERRORS):
        raise exc
    first_line = message.strip().split("\n")[0].rstrip(":")
    if "Reshape your data" in message:
        first_line += ". Reshape your data" + message.split("Reshape your data")[1]
    cls = TypeError if isinstance(exc, TypeError) else ValueError
    raise cls(f"Invalid {name} ({_describe(value)}): {first_line}") from exc


def validate_numeric(estimator, X, y="no_validation", **kwargs):
    """``validate_data`` whose errors always name X."""
    try:
        return validate_data(estimator, X, y, **kwargs)
    except (TypeError, ValueError) as exc:
        name_argument(exc, X, "X")


def warn_unseen_labels(estimator, y):
    """Warn if ``y`` holds labels outside ``estimator.classes_`` (in ``score``).

    Such samples can only be misclassified, so they count as errors, as in
    scikit-learn. ``score`` warns rather than raises: a cross-validation fold may
    hold a rare class that its training part lacks, and its score should then
    be low, not missing.
    """
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind == "f" and not np.isfinite(y).all():
        return  # multilabel indicators, or a y that the metric will reject
    known = set(estimator.classes_.tolist())
    # A set rather than np.setdiff1d: labels of mixed types need not sort.
    unseen = sorted({label for label in y.tolist() if label not in known}, key=repr)
    if unseen:
        warn_user(
            f"y contains labels {unseen[:10]} that {type(estimator).__name__} "
            f"never saw in fit (classes_={sorted(known, key=repr)}); they count as "
            "errors.",
            UserWarning,
        )


def check_sample_weight(sample_weight, n_samples, name="sample_weight"):
    """Validate ``sample_weight`` into a new float64 array of shape (n_samples,).

    A scalar stands for that weight on every sample. Weights must be finite,
    non-negative and not all zero. Errors name the argument ``name``.
    """
    if isinstance(sample_weight, Real):
        sample_weight = np.full(n_samples, sample_weight, dtype=np.float64)
    sample_weight = check_array(
        sample_weight,
        ensure_2d=False,
        dtype=np.float64,
        copy=True,
        input_name=name,
    )
    if sample_weight.ndim != 1:
        raise ValueError(
            f"`{name}` must be a 1-D array or a scalar; received shape "
            f"{sample_weight.shape}."
        )
    if sample_weight.shape != (n_samples,):
        # scikit-learn's wording, which its checks match.
        raise ValueError(
            f"{name}.shape == {sample_weight.shape}, expected ({n_samples},)!"
        )
    if np.any(sample_weight < 0):
        raise ValueError(f"Negative values in data passed to `{name}`.")
    if not np.any(sample_weight):
        raise ValueError(
            f"Sample weights must contain at least one non-zero number (`{name}`)."
        )
    return sample_weight


class UnseenLabelsScoreMixin(ClassifierMixin):
    """``ClassifierMixin`` whose ``score`` warns about labels unseen in fit."""

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on ``(X, y)``; labels never seen in fit count as errors
        and raise a warning.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        warn_unseen_labels(self, y)
        return super().score(X, y, sample_weight=sample_weight)


__all__ = [
    "UnseenLabelsScoreMixin",
    "check_sample_weight",
    "name_argument",
    "validate_numeric",
    "warn_unseen_labels",
]
