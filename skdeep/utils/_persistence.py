"""What a fitted estimator keeps: across pickles, versions and failed fits.

Users keep skdeep models for years and share them, so three guarantees live here:

- :class:`PersistenceMixin` stamps every pickle (``pickle``, ``joblib``,
  ``skops.io``) with the skdeep version that wrote it, and warns with
  :class:`InconsistentVersionWarning` when another version loads it, as
  scikit-learn does with ``_sklearn_version`` for its own estimators.
- :func:`skops_trusted_types` lists the types a skdeep model saved with
  ``skops.io`` may contain (skdeep's own classes and functions, numpy's dtype,
  and the scikit-learn scorers, metric functions and splitters a search keeps),
  and :func:`load_skops` loads a file after checking that it asks for nothing
  else: the safe way to open a model from someone else. A search's scipy.stats
  distributions are saved as plain data (:class:`SavedDistribution`), because
  skops cannot rebuild them safely.
- :func:`rollback_on_error` makes a fit all-or-nothing: if ``fit`` or
  ``partial_fit`` raises (bad input, a callback error, ``KeyboardInterrupt``),
  the estimator is left exactly as it was before the call -- unfitted if it
  was, otherwise with its previous model -- never half-fitted.
"""

import copy
import functools
import inspect
import sys
import warnings
from contextlib import contextmanager
from numbers import Real

import numpy as np


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


# What load_skops trusts beyond skops' defaults (which already cover numpy's arrays,
# scalars and random generators, and scikit-learn's estimators):
#
# - skdeep's own classes and functions;
# - numpy.dtype;
# - scikit-learn's scorer classes (the classes defined in the module of
#   ``get_scorer("accuracy")``'s class) and the metric functions of sklearn.metrics
#   (its public functions, less the scorer factories, which a saved model never
#   holds);
# - scikit-learn's splitters: the classes sklearn.model_selection exports that
#   have ``split`` and ``get_n_splits``, and the wrapper ``check_cv`` puts around
#   a list of splits.
#
# Not scipy.stats distributions: rv_generic.__setstate__ runs ``exec`` on a string
# of the saved state (``_parse_arg_template``), so a file naming only scipy.stats
# types can run any code at load. CoarseToFineSearchCV saves its distributions as
# plain data instead (SavedDistribution below) and rebuilds them itself.
#
# Names are looked up in modules already imported, with vars() (no module
# __getattr__), so that a name in a file never imports or runs anything.
_SKDEEP_MODULES = ("skdeep.",)
_OTHER_TRUSTED = frozenset({"numpy.dtype"})
# The scorer factories of sklearn.metrics: functions, but not metrics.
_NOT_METRICS = frozenset(
    {"check_scoring", "get_scorer", "get_scorer_names", "make_scorer"}
)


def _lookup(type_name):
    """The object ``type_name`` ("module.name") names in an imported module, or None."""
    module_name, _, name = type_name.rpartition(".")
    module = sys.modules.get(module_name)
    return None if module is None else vars(module).get(name)


def _is_scorer_class(type_name):
    from sklearn.metrics import get_scorer

    module_name = type(get_scorer("accuracy")).__module__
    obj = _lookup(type_name)
    return (
        type_name.rpartition(".")[0] == module_name
        and isinstance(obj, type)
        and obj.__module__ == module_name
    )


def _is_metric_function(type_name):
    import sklearn.metrics

    name = type_name.rpartition(".")[2]
    obj = _lookup(type_name)
    return (
        type_name.startswith("sklearn.metrics.")
        and inspect.isfunction(obj)
        and name in sklearn.metrics.__all__
        and name not in _NOT_METRICS
        and vars(sklearn.metrics).get(name) is obj
    )


def _is_splitter(type_name):
    import sklearn.model_selection as model_selection

    obj = _lookup(type_name)
    if not (type_name.startswith("sklearn.model_selection.") and isinstance(obj, type)):
        return False
    if obj is type(model_selection.check_cv([([0], [1])])):  # cv given as a list
        return True
    name = type_name.rpartition(".")[2]
    return (
        vars(model_selection).get(name) is obj
        and callable(getattr(obj, "split", None))
        and callable(getattr(obj, "get_n_splits", None))
    )


def _is_trusted(type_name):
    return (
        type_name.startswith(_SKDEEP_MODULES)
        or type_name in _OTHER_TRUSTED
        or _is_scorer_class(type_name)
        or _is_metric_function(type_name)
        or _is_splitter(type_name)
    )


class SavedDistribution:
    """A frozen ``scipy.stats`` distribution saved as plain data.

    skops cannot be trusted to rebuild scipy.stats distributions from their
    state (see the comment above ``_is_trusted``), so objects that hold them
    save this instead: the name of a public ``scipy.stats`` distribution and
    the numbers it was frozen with. :meth:`rebuild` checks both before calling
    ``scipy.stats.<name>(*args, **kwds)``. The class name is part of the saved
    files: keep it.

    Parameters
    ----------
    name : str
        The distribution's name in ``scipy.stats``, e.g. ``"loguniform"``.
    args : tuple of float
        The positional arguments it was frozen with.
    kwds : dict of str -> float
        The keyword arguments it was frozen with.

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from skdeep.utils._persistence import SavedDistribution
    >>> saved = SavedDistribution.from_frozen(loguniform(1e-3, 1, scale=10))
    >>> saved.name, saved.args, saved.kwds
    ('loguniform', (0.001, 1), {'scale': 10})
    >>> [float(bound) for bound in saved.rebuild().support()]
    [0.01, 10.0]
    """

    def __init__(self, name, args, kwds):
        self.name = name
        self.args = args
        self.kwds = kwds

    @staticmethod
    def _family(name):
        """The public scipy.stats distribution called ``name``, or None."""
        from scipy import stats

        family = vars(stats).get(name) if isinstance(name, str) else None
        if isinstance(family, stats.rv_continuous | stats.rv_discrete):
            return family
        return None

    @classmethod
    def from_frozen(cls, distribution):
        """The saved form of ``distribution``, or None if it has none.

        Only frozen public scipy.stats distributions with numbers for parameters
        have one; the others are saved as they are (and skops files holding them
        do not load through :func:`load_skops`).
        """
        family = cls._family(getattr(getattr(distribution, "dist", None), "name", None))
        if family is None or type(family) is not type(distribution.dist):
            return None
        args, kwds = tuple(distribution.args), dict(distribution.kwds)
        if not _all_numbers(args, kwds):
            return None
        return cls(distribution.dist.name, args, kwds)

    def rebuild(self):
        """The frozen distribution, after checking the saved name and numbers."""
        family = self._family(self.name)
        if family is None:
            raise ValueError(
                f"A saved distribution must name a scipy.stats distribution; "
                f"received name={self.name!r}."
            )
        if not (
            isinstance(self.args, tuple | list)
            and isinstance(self.kwds, dict)
            and _all_numbers(self.args, self.kwds)
        ):
            raise ValueError(
                f"A saved distribution's parameters must be numbers; received "
                f"args={self.args!r}, kwds={self.kwds!r} for {self.name}."
            )
        return family(*self.args, **self.kwds)


def _all_numbers(args, kwds):
    return all(isinstance(value, Real) for value in (*args, *kwds.values())) and all(
        isinstance(key, str) for key in kwds
    )


def save_distributions(value):
    """``value`` (dicts and lists, nested) with frozen scipy.stats distributions
    replaced by :class:`SavedDistribution` where they have a saved form."""
    if isinstance(value, dict):
        return {key: save_distributions(item) for key, item in value.items()}
    if isinstance(value, list):
        return [save_distributions(item) for item in value]
    if hasattr(value, "rvs") and hasattr(value, "dist"):
        return SavedDistribution.from_frozen(value) or value
    return value


def load_distributions(value):
    """The inverse of :func:`save_distributions`."""
    if isinstance(value, dict):
        return {key: load_distributions(item) for key, item in value.items()}
    if isinstance(value, list):
        return [load_distributions(item) for item in value]
    if isinstance(value, SavedDistribution):
        return value.rebuild()
    return value


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
        The file's untrusted types (``skops.io.get_untrusted_types``) that
        skdeep vouches for: its own classes and functions, ``numpy.dtype``,
        scikit-learn's scorer classes, the metric functions of
        ``sklearn.metrics`` and the splitters of ``sklearn.model_selection``.
    untrusted : list of str
        The others: a skdeep model never needs them. They include the
        ``scipy.stats`` distribution types, which run code from the file when
        skops rebuilds them; skdeep saves its distributions as plain data.

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
    another package, a scorer made from your own function...) is refused before
    anything is loaded. A :class:`~skdeep.CoarseToFineSearchCV` over scipy.stats
    distributions and scikit-learn's scorers loads. Public as
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
        If the file contains types other than those
        :func:`skops_trusted_types` vouches for.

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


@functools.cache
def _parameter_names(estimator_class):
    # Read once per class: inspect.signature costs more than a small fit step.
    return frozenset(estimator_class._get_param_names())


@contextmanager
def rollback_on_error(estimator):
    """Restore ``estimator``'s attributes if the body raises.

    Constructor parameters (never changed by ``fit``) and the callback wiring
    are kept by reference. The fitted state is copied: deeply, for the
    attributes a continuing fit (``warm_start``, ``partial_fit``) changes in
    place -- those an estimator lists in ``_mutated_in_place`` (the network,
    the optimizer state, the schedule, the random generator), or all of them
    if it lists none; by reference for the others, which a fit only rebinds.
    Layers drop their per-batch buffers when copied, so the copy costs about
    one set of weights and optimizer moments.
    """
    params = _parameter_names(type(estimator))
    saved = dict(vars(estimator))
    fitted = [
        name
        for name in saved
        if name not in params and not name.startswith(_CALLBACK_ATTRIBUTES)
    ]
    in_place = getattr(estimator, "_mutated_in_place", None)
    if in_place is not None:
        fitted = [name for name in fitted if name in in_place]
    # A random generator keeps its identity (layers share it) and gets its
    # state back: cheaper than a copy.
    generators = {
        name: saved[name].bit_generator.state
        for name in fitted
        if isinstance(saved[name], np.random.Generator)
    }
    # One deepcopy call, so that objects shared between attributes stay shared.
    saved.update(
        copy.deepcopy({name: saved[name] for name in fitted if name not in generators})
    )
    try:
        yield
    except BaseException:
        for name, state in generators.items():
            saved[name].bit_generator.state = state
        # Keep the callback wiring set during the call (_callback_fit_ctx,
        # _skl_callbacks_to_teardown): scikit-learn's callback management
        # context reads it after fit raises, to call the teardown hooks.
        wiring = {
            name: value
            for name, value in vars(estimator).items()
            if name.startswith(_CALLBACK_ATTRIBUTES)
        }
        estimator.__dict__.clear()
        estimator.__dict__.update(saved)
        estimator.__dict__.update(wiring)
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
    "SavedDistribution",
    "all_or_nothing",
    "load_distributions",
    "load_skops",
    "rollback_on_error",
    "save_distributions",
    "skops_trusted_types",
]
