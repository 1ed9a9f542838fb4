"""Warnings that point at the user's line, not at skdeep's or scikit-learn's.

``warnings.warn(..., stacklevel=k)`` needs ``k`` counted by hand, which breaks
the first time a frame is added between the warning and the user (a decorator,
a helper). :func:`warn_user` counts instead: it attributes the warning to the
first frame, walking outwards, whose code lives outside skdeep, scikit-learn
(whose ``_fit_context`` and meta-estimators wrap ``fit``) and joblib (which
runs the fits of ``cross_val_score`` and the searches).
Python 3.12's ``skip_file_prefixes`` does the same; skdeep supports 3.11.
"""

import os
import sys
import warnings

import joblib
import sklearn

import skdeep

# skdeep, scikit-learn, and joblib, through which scikit-learn runs the fits of
# cross-validation and searches.
_LIBRARY_DIRS = tuple(
    os.path.dirname(module.__file__) + os.sep for module in (skdeep, sklearn, joblib)
)


def _user_stacklevel():
    """``stacklevel`` for a warnings.warn call made by our caller."""
    frame = sys._getframe(2)  # the frame that called warn_user
    level = 2
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARY_DIRS):
        frame = frame.f_back
        level += 1
    return level


def warn_user(message, category):
    """``warnings.warn(message, category)`` attributed to the user's code.

    Examples
    --------
    >>> import warnings
    >>> from skdeep.utils._warnings import warn_user
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_user("look here", UserWarning)
    >>> caught[0].filename.endswith(".py") or caught[0].filename.startswith("<")
    True
    """
    warnings.warn(message, category, stacklevel=_user_stacklevel())


__all__ = ["warn_user"]
