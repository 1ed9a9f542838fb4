"""Save and share fitted skdeep models safely.

Fitted estimators pickle like any scikit-learn estimator, but unpickling runs
code: only load pickles from sources you trust. To share a model, save it
with ``skops.io.dump`` (it stores data, not code) and load it with
:func:`load_skops`, which refuses files that ask for any type a skdeep model
does not need. Every saved model records the skdeep version that wrote it;
loading it with another version warns with
:class:`~skdeep.exceptions.InconsistentVersionWarning`.

Both functions need the optional dependency ``skops``.
"""

from .utils._persistence import load_skops, skops_trusted_types

__all__ = ["load_skops", "skops_trusted_types"]
