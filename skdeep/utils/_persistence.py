"""What a fitted estimator keeps: across pickles, versions and failed fits.

Users keep skdeep models for years and share them, so three guarantees live here:

- :class:`PersistenceMixin` stamps every pickle (``pickle``, ``joblib``,
  ``skops.io``) with the skdeep version that wrote it, and warns with
  :class:`InconsistentVersionWarning` when another version loads it, as
  scikit-learn does with ``_sklearn_version`` for its own estimators.
- :func:`skops_trusted_types` lists the types a skdeep model saved with
  ``skops.io`` may contain (skdeep's own classes and functions, numpy's dtype,
  the scikit-learn helpers a search keeps), and :func:`load_skops` loads a file
  after checking that it asks for nothing else: the safe way to open a model
  from someone else.
- :func:`rollback_on_error` makes a fit all-or-nothing: if ``fit`` or
  ``partial_fit`` raises (bad input, a callback error, ``KeyboardInterrupt``),
  the estimator is left exactly as it was before the call -- unfitted if it
  was, otherwise with its previous model -- never half-fitted.
"""

import copy
import functools
import warnings
from contextlib import contextmanager


class InconsistentVersionWarning(UserWarning):
    """A model is loaded by a skdeep version other than the one that saved it.

    Parameters
    ----------
    estimator_name : str
        Class of the loaded estimator.
    current_version : str
        The running skdeep version.
    original_version : str
        The version that saved the model.

    Examples
    --------
    >>> import pickle, warnings
    >>> from skdeep import LogisticGD
    >>> from skdeep.exceptions import InconsistentVersionWarning
    >>> model = LogisticGD(max_iter=5).fit([[0.0], [1.0]], [0, 1])
    >>> state = model.__getstate__()
    >>> state["_skdeep_version"] = "0.0.1"  # as if an old release saved it
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     LogisticGD().__setstate__(state)
    >>> print(caught[0].category.__name__, caught[0].message.original_version)
    InconsistentVersionWarning 0.0.1
    """

    def __init__(self, *, estimator_name, current_version, original_version):
        self.estimator_name = estimator_name
        self.current_version = current_version
        self.original_version = original_version

    def __str__(self):
        return (
            f"Loading {self.estimator_name} saved by skdeep {self.original_version} "
            f"with skdeep {self.current_version}. This might give wrong results or "
            "fail later. Check its predictions on known data, or refit it with "
            f"skdeep {self.current_version} and save it again."
        )


# Stored in place of a version by pickles written before versions were recorded.
_UNKNOWN_VERSION = "unknown (saved before skdeep recorded versions)"


def _current_version():
    # Read at call time (not import time), so that the running version is used.
    import skdeep

    return skdeep.__version__


class PersistenceMixin:
    """Record the skdeep version in the pickled state; warn on a mismatch at load.

    Put it before ``BaseEstimator`` in the bases, so that its ``__getstate__`` and
    ``__setstate__`` wrap scikit-learn's.
    """

    def __getstate__(self):
        # dict(): object.__getstate__ may return the instance's own __dict__.
        state = dict(super().__getstate__())
        state["_skdeep_version"] = _current_version()
        return state

    def __setstate__(self, state):
        state = dict(state)
        saved = state.pop("_skdeep_version", _UNKNOWN_VERSION)
        current = _current_version()
        if saved != current:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    current_version=current,
                    original_version=saved,
                ),
                stacklevel=2,
            )
        super().__setstate__(state)


# Types beyond skops' defaults that a fitted skdeep estimator may hold. Each is
# skdeep's own, numpy's, or the scikit-learn helper a search object keeps.
_SKDEEP_MODULES = ("skdeep.",)
_OTHER_TRUSTED = frozenset(
    {
        "numpy.dtype",
        # CoarseToFineSearchCV: its validation split and its default scorer.
        "sklearn.metrics._scorer._PassthroughScorer",
        "sklearn.metrics._scorer._Scorer",
        "sklearn.model_selection._split.ShuffleSplit",
        "sklearn.model_selection._split.StratifiedShuffleSplit",
        "sklearn.model_selection._split.StratifiedKFold",
        "sklearn.model_selection._split.KFold",
    }
)


def _is_trusted(type_name):
    return type_name.startswith(_SKDEEP_MODULES) or type_name in _OTHER_TRUSTED


def skops_trusted_types(file=None, *, data=None):
    """The types of a skops file that skdeep vouches for.

    Parameters
    ----------
    file : str, path or file object, default=None
        A file written by ``skops.io.dump``.
    data : bytes, default=None
        Or its content, from ``skops.io.dumps``.

    Returns
    -------
    trusted : list of str
        The file's untrusted types (``skops.io.get_untrusted_types``) that are
        skdeep's own classes and functions or known numpy / scikit-learn types.
    untrusted : list of str
        The others: a skdeep model never needs them.

    Examples
    --------
    >>> import skops.io
    >>> from skdeep import LogisticGD
    >>> from skdeep.persistence import skops_trusted_types
    >>> model = LogisticGD(max_iter=5).fit([[0.0], [1.0]], [0, 1])
    >>> trusted, untrusted = skops_trusted_types(data=skops.io.dumps(model))
    >>> "skdeep.linear.LogisticGD" in trusted, untrusted
    (True, [])
    """
    import skops.io

    types = skops.io.get_untrusted_types(file=file, data=data)
    trusted = [t for t in types if _is_trusted(t)]
    return trusted, [t for t in types if not _is_trusted(t)]


def load_skops(file):
    """Load a skdeep model saved with ``skops.io.dump``, refusing foreign types.

    The types the file needs are checked against :func:`skops_trusted_types`;
    a file that asks for any other type (a function from ``os``, a class of
    another package...) is refused before anything is loaded. Public as
    :func:`skdeep.persistence.load_skops`.

    Parameters
    ----------
    file : str, path or file object
        A file written by ``skops.io.dump``, or an open binary file (e.g. a
        ``BytesIO`` of ``skops.io.dumps``' output).

    Returns
    -------
    estimator : object
        The loaded model.

    Raises
    ------
    ValueError
        If the file contains types that are not skdeep's, numpy's dtype or the
        scikit-learn helpers skdeep uses.

    See Also
    --------
    skops_trusted_types : The check, without loading.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> import skops.io
    >>> from skdeep import LogisticGD
    >>> from skdeep.persistence import load_skops
    >>> X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
    >>> model = LogisticGD(random_state=0).fit(X, y)
    >>> skops.io.dump(model, buffer := io.BytesIO())
    >>> _ = buffer.seek(0)
    >>> loaded = load_skops(buffer)
    >>> bool((loaded.predict(X) == model.predict(X)).all())
    True
    """
    import skops.io

    if hasattr(file, "read"):
        data = file.read()
        trusted, untrusted = skops_trusted_types(data=data)
    else:
        data = None
        trusted, untrusted = skops_trusted_types(file)
    if untrusted:
        raise ValueError(
            f"The skops file contains types that a skdeep model never needs: "
            f"{untrusted}. It was not loaded; inspect it with "
            "skops.io.get_untrusted_types and load it with skops.io.load only if "
            "you trust its source."
        )
    if data is not None:
        return skops.io.loads(data, trusted=trusted)
    return skops.io.load(file, trusted=trusted)


# Wiring of scikit-learn's callback API (sklearn.callback): the user's callback
# objects and their contexts are kept as they are, never copied.
_CALLBACK_ATTRIBUTES = ("_skl_callbacks", "_callback", "_parent_callback")


@contextmanager
def rollback_on_error(estimator):
    """Restore ``estimator``'s attributes if the body raises.

    Constructor parameters (never changed by ``fit``) and the callback wiring
    are kept by reference; the rest -- the fitted state -- is deep-copied,
    because continuing fits (``warm_start``, ``partial_fit``) update the network,
    the optimizer state, the histories and the random generators in place.
    Layers drop their per-batch buffers when copied, so the copy costs about
    one set of weights and optimizer moments.
    """
    params = estimator.get_params(deep=False)
    saved = dict(vars(estimator))
    fitted = {
        name: value
        for name, value in saved.items()
        if name not in params and not name.startswith(_CALLBACK_ATTRIBUTES)
    }
    # One deepcopy call, so that objects shared between attributes stay shared.
    saved.update(copy.deepcopy(fitted))
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(saved)
        raise


def all_or_nothing(fit_method):
    """Decorate a fitting method so that it runs under :func:`rollback_on_error`."""

    @functools.wraps(fit_method)
    def wrapper(self, *args, **kwargs):
        with rollback_on_error(self):
            return fit_method(self, *args, **kwargs)

    return wrapper


__all__ = [
    "InconsistentVersionWarning",
    "PersistenceMixin",
    "all_or_nothing",
    "load_skops",
    "rollback_on_error",
    "skops_trusted_types",
]
