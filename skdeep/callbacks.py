"""Callbacks for skdeep estimators, on scikit-learn's callback API (notes 三.9).

:class:`ModelCheckpoint` is the notes' Keras ``ModelCheckpoint``: during
training it writes the model of each epoch whose monitored value improves to a
file, which :func:`skdeep.persistence.load_skops` loads back. It follows the
``sklearn.callback`` protocol (``est.set_callbacks(...)``), so it works on an
estimator inside a ``Pipeline`` or a search as on its own.

The estimators end one callback task per epoch (:mod:`skdeep.nn.training`)
and hand the hooks a copy of themselves as fitted up to that epoch
(``fitted_estimator``); the checkpoint saves that copy. The
``sklearn.callback`` API is experimental: this module relies only on its
documented hooks and context attributes (``task_name``, ``task_id``,
``parent``).
"""

import copy
import math
import os
import string
import uuid
import weakref

from ._base import BaseNetwork
from .utils._persistence import _CALLBACK_ATTRIBUTES, skops_trusted_types
from .utils._warnings import warn_user

__all__ = ["ModelCheckpoint"]

# The name skdeep's epoch loop gives each epoch's task (nn/training.py), and
# the name of the task of one random restart (_base.py).
_EPOCH_TASK = "epoch"
_RESTART_TASK = "restart"

# Placeholders of `filepath` besides the history's columns.
_PATH_FIELDS = ("epoch", "restart", "task")

_MODES = ("auto", "min", "max")


def _import_skops_io():
    """Import ``skops.io`` or say how to install it."""
    try:
        import skops.io
    except ImportError as exc:
        raise ImportError(
            "ModelCheckpoint writes skops files and requires skops: pip install skops."
        ) from exc
    return skops.io


def _direction(monitor, mode):
    """``"min"`` or ``"max"``: Keras' ``mode``, with ``"auto"`` read from the
    name (losses are minimized, scores maximized); None if it cannot tell."""
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_")
    if name.endswith("loss"):
        return "min"
    if name.endswith("score"):
        return "max"
    return None


def _path_fields(filepath):
    """The placeholder names of ``filepath``; ValueError if it is not a valid
    ``str.format`` template of named fields."""
    try:
        parsed = list(string.Formatter().parse(filepath))
    except ValueError as exc:
        raise ValueError(
            f"`filepath` must be a path, with placeholders such as {{epoch}} in "
            f"braces (double braces for a literal brace); received "
            f"filepath={filepath!r} ({exc})."
        ) from None
    fields = [name for _, name, _, _ in parsed if name is not None]
    for name in fields:
        if not name.isidentifier():
            raise ValueError(
                "`filepath` placeholders must be names, such as {epoch} or "
                f"{{val_loss:.4f}}; received {{{name}}} in filepath={filepath!r}."
            )
    return set(fields)


def _task_path(context):
    """The task ids from the outermost estimator's root task down to
    ``context``, joined by '-': unique among the fits of one search."""
    ids = []
    while context is not None:
        ids.append(str(context.task_id))
        context = context.parent
    return "-".join(reversed(ids))


def _file_signature(stat):
    """What tells one version of a file from another written over it."""
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


class _Fit:
    """What :class:`ModelCheckpoint` keeps during one fit of one estimator."""

    def __init__(self, task, direction, seen_rows):
        self.task = task
        self.direction = direction
        self.best = -math.inf if direction == "max" else math.inf
        # History rows already handled, kept (not only their ids) so that no
        # new row can reuse the id of one that was garbage-collected. An epoch
        # task that ends without a new row (a diverged epoch) saves nothing.
        self.seen = {id(row): row for row in seen_rows}
        self.first_row = True
        self.types_checked = False
        # path -> signature of the file this fit last wrote there.
        self.written = {}

    def improves(self, value):
        if self.direction == "min":
            return value < self.best
        return value > self.best


class ModelCheckpoint:
    """Save the model to a file at every epoch that improves (Keras' ModelCheckpoint).

    The notes (三.9) train with Keras' ``ModelCheckpoint(filepath,
    save_best_only=True)`` and load the best weights back after training. This
    is the same for skdeep estimators, as a scikit-learn callback: register it
    with ``est.set_callbacks(ModelCheckpoint(...))``. At the end of each epoch
    whose monitored value (a column of ``history_``) improves on the best so
    far in this fit, it writes the estimator as fitted up to that epoch to
    ``filepath`` with ``skops.io``; :func:`skdeep.persistence.load_skops`
    loads it, and it predicts as the estimator did after that epoch. Its
    ``history_`` and ``n_iter_`` stop at that epoch.

    Each file is written atomically: to a temporary file in the same folder,
    then renamed over ``filepath`` (``os.replace``). A process killed while
    writing leaves the previous checkpoint intact (and possibly a hidden
    ``.<name>.<random>.tmp`` file, which can be deleted).

    Parameters
    ----------
    filepath : str or path-like
        Where to write. Folders are created as needed. Like Keras, it may hold
        placeholders, filled in at each save with ``str.format``: ``{epoch}``
        (the epoch number of ``history_``), any other column of the history
        (``{val_loss:.4f}``, ``{score}``...), ``{restart}`` (the random
        restart, 0-based; 0 when ``n_restarts=1``) and ``{task}`` (which fit
        of a search or pipeline this is; see Notes). ``.skops`` is the usual
        extension.
    monitor : str, default="val_loss"
        The column of ``history_`` to watch: ``"val_loss"``, ``"val_score"``
        (needs validation data: ``fit(X, y, X_val=..., y_val=...)`` or
        ``early_stopping=True``), ``"loss"`` or ``"score"``.
    save_best_only : bool, default=True
        Save only the epochs that improve ``monitor``; with a fixed
        ``filepath`` the file ends holding the best epoch. False saves every
        epoch (``monitor`` is then unused). Keras' default is False.
    mode : {"auto", "min", "max"}, default="auto"
        Whether lower (``"min"``) or higher (``"max"``) values of ``monitor``
        are better; ``"auto"`` minimizes losses and maximizes scores, as Keras.
        An epoch improves if its value is strictly better than the best so far
        (Keras has no tolerance here either). The estimator's early stopping
        and ``restore_best_weights`` count an improvement only beyond its
        ``tol``, so with ``tol > 0`` the two can keep different epochs;
        ``tol=0`` makes them agree.
    verbose : int, default=0
        If > 0, print a line per epoch, as Keras does: ``Epoch 3: val_loss
        improved from 0.52000 to 0.48000, saving model to best.skops``.

    See Also
    --------
    skdeep.persistence.load_skops : Load the checkpoint.
    skdeep.MLPNetClassifier : ``restore_best_weights`` keeps the best epoch's
        weights in memory, without files.

    Notes
    -----
    **When the best resets.** Every call of ``fit`` or ``partial_fit`` starts a
    new comparison (the callback's ``setup``), as the estimator's own
    ``restore_best_weights`` does; the first epoch of a call is always saved.
    A ``partial_fit`` call runs one epoch, so each call saves its model. With
    ``n_restarts > 1`` the comparison runs across the restarts: the file holds
    the best epoch of all of them.

    **Cost.** Each epoch, scikit-learn builds the ``fitted_estimator`` this
    callback asks for (a copy of the network); each save is a skops dump,
    whose size grows with the history.

    **Which model.** The saved model is the estimator the callback was set on
    (a skdeep network), never a ``Pipeline`` around it: inside a pipeline,
    feed it the transformed features. Setting the callback on a ``Pipeline`` or
    a search raises a ValueError; set it on the network step. The callback
    wiring (``_skl_callbacks`` and the callback contexts) is not saved. A file
    holding types :func:`~skdeep.persistence.load_skops` refuses (e.g. your
    own ``learning_rate_schedule`` function) warns at its first save.

    **Searches and parallel fits (skorch#819).** ``clone`` passes callbacks by
    reference, so every candidate of a search uses this checkpoint, and with
    ``n_jobs > 1`` each worker gets a pickled copy. Fits run one after
    another overwrite the file (each starts a new comparison), so a fixed
    ``filepath`` ends holding the last fit's best epoch: a search's refit.
    Fits running at the same time must not share a file: before each save
    the callback checks that the file is still the one this fit last wrote,
    and raises a ValueError if another fit replaced it. Put ``{task}`` in
    ``filepath`` to give each fit its own file: it is the path of task ids
    from the outermost estimator down to this fit, unique within one
    ``fit`` of the outermost estimator -- ``"0"`` for an estimator fitted on
    its own, ``"0-0-5"`` for the sixth candidate-and-split fit of a
    ``GridSearchCV``, ``"0-1"`` for its refit.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from skdeep import MLPNetClassifier
    >>> from skdeep.callbacks import ModelCheckpoint
    >>> from skdeep.persistence import load_skops
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3))
    >>> y = (X[:, 0] + rng.normal(size=60) > 0).astype(int)
    >>> net = MLPNetClassifier((32,), learning_rate=0.05, batch_size=None,
    ...                        early_stopping=True, n_iter_no_change=2,
    ...                        random_state=0)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "best.skops")
    ...     _ = net.set_callbacks(ModelCheckpoint(path, verbose=1)).fit(X, y)
    ...     best = load_skops(path)
    Epoch 1: val_loss improved from inf to 0.62, saving model to ...best.skops
    Epoch 2: val_loss improved from 0.62 to 0.57, saving model to ...best.skops
    Epoch 3: val_loss did not improve from 0.57
    Epoch 4: val_loss did not improve from 0.57
    >>> best.n_iter_, net.best_epoch_
    (2, 2)
    >>> bool((best.predict_proba(X) == net.predict_proba(X)).all())
    True
    """

    def __init__(
        self,
        filepath,
        *,
        monitor="val_loss",
        save_best_only=True,
        mode="auto",
        verbose=0,
    ):
        self.filepath = filepath
        self.monitor = monitor
        self.save_best_only = save_best_only
        self.mode = mode
        self.verbose = verbose

    def __repr__(self):
        defaults = {
            "monitor": "val_loss",
            "save_best_only": True,
            "mode": "auto",
            "verbose": 0,
        }
        changed = [
            f"{name}={getattr(self, name)!r}"
            for name, default in defaults.items()
            if getattr(self, name) != default
        ]
        return f"ModelCheckpoint({', '.join([repr(self.filepath), *changed])})"

    def __getstate__(self):
        # The fits under way belong to this process: a pickled copy (sent to a
        # search's worker) starts without them.
        state = dict(self.__dict__)
        state.pop("_fits", None)
        return state

    def _fit_of(self, context):
        """The state of the fit that ``context`` (its root task or a task
        below it) belongs to."""
        fits = vars(self)["_fits"]
        while context not in fits:
            context = context.parent
        return fits[context]

    # ------------------------------------------------------------------
    # sklearn.callback hooks
    # ------------------------------------------------------------------

    def setup(self, estimator, context):
        """Check the parameters and start a new comparison for this fit."""
        if not isinstance(estimator, BaseNetwork):
            raise ValueError(
                "ModelCheckpoint saves skdeep networks epoch by epoch; it was "
                f"set on {type(estimator).__name__}. Set it on the network "
                "itself, e.g. make_pipeline(StandardScaler(), "
                "MLPNetClassifier().set_callbacks(ModelCheckpoint(...)))."
            )
        self._check_params()
        _import_skops_io()
        direction = _direction(self.monitor, self.mode) if self.save_best_only else None
        # Continuing fits (warm_start, partial_fit) start from these rows.
        previous_rows = getattr(estimator, "_history_rows", [])
        # One state per fit, keyed by the fit's root task: clones of one
        # estimator share this callback (in a search, possibly in threads).
        # Weak keys: a fit that fails may end without teardown, and its state
        # then goes with its context.
        fits = vars(self).setdefault("_fits", weakref.WeakKeyDictionary())
        fits[context] = _Fit(_task_path(context), direction, previous_rows)

    def teardown(self, estimator, context):
        """Forget the fit."""
        vars(self).get("_fits", {}).pop(context, None)

    def on_fit_task_begin(self, estimator, context):
        """Nothing to do at the start of a task."""

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        """At the end of an epoch, save ``fitted_estimator`` if it improves.

        Returns
        -------
        stop : bool
            Always False: a checkpoint never stops training.
        """
        if context.task_name != _EPOCH_TASK:
            return False
        fit = self._fit_of(context)
        rows = fitted_estimator._history_rows
        row = rows[-1] if rows else None
        if row is None or id(row) in fit.seen:
            return False
        fit.seen[id(row)] = row
        in_restart = (
            context.parent is not None and context.parent.task_name == _RESTART_TASK
        )
        restart = context.parent.task_id if in_restart else 0
        if fit.first_row:
            self._check_row(row, fit.direction, type(estimator).__name__)
            fit.first_row = False
        path = self._format_path({**row, "restart": restart, "task": fit.task})
        epoch = f"Epoch {row['epoch']}" + (
            f" (restart {restart})" if in_restart else ""
        )
        if not self.save_best_only:
            self._say(f"{epoch}: saving model to {path}")
            self._save(fit, fitted_estimator, path)
            return False
        value = row[self.monitor]
        if not fit.improves(value):
            self._say(f"{epoch}: {self.monitor} did not improve from {fit.best:.5f}")
            return False
        self._say(
            f"{epoch}: {self.monitor} improved from {fit.best:.5f} to "
            f"{value:.5f}, saving model to {path}"
        )
        self._save(fit, fitted_estimator, path)
        fit.best = value
        return False

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def _check_params(self):
        """Validate the parameters (``__init__`` only stores them)."""
        if not isinstance(self.filepath, str | os.PathLike) or not isinstance(
            os.fspath(self.filepath), str
        ):
            raise ValueError(
                "`filepath` must be a str or a path-like object naming a file; "
                f"received filepath={self.filepath!r}."
            )
        _path_fields(os.fspath(self.filepath))
        if not os.path.basename(os.fspath(self.filepath)):
            raise ValueError(
                "`filepath` must name a file, not a folder; received "
                f"filepath={self.filepath!r}."
            )
        if not isinstance(self.monitor, str):
            raise ValueError(
                "`monitor` must be the name of a column of history_, e.g. "
                f"'val_loss'; received monitor={self.monitor!r}."
            )
        if not isinstance(self.save_best_only, bool):
            raise ValueError(
                "`save_best_only` must be True or False; received "
                f"save_best_only={self.save_best_only!r}."
            )
        if self.mode not in _MODES:
            raise ValueError(
                f"`mode` must be one of {_MODES}; received mode={self.mode!r}."
            )
        if (
            isinstance(self.verbose, bool)
            or not isinstance(self.verbose, int)
            or self.verbose < 0
        ):
            raise ValueError(
                "`verbose` must be a non-negative int; received "
                f"verbose={self.verbose!r}."
            )

    def _check_row(self, row, direction, estimator_name):
        """Check ``filepath``'s placeholders and ``monitor`` against the first
        history row of the fit, before anything is written."""
        names = [*row, *(f for f in _PATH_FIELDS if f not in row)]
        unknown = _path_fields(os.fspath(self.filepath)) - set(names)
        if unknown:
            raise ValueError(
                f"`filepath` has placeholders {sorted(unknown)} that are neither "
                f"a column of {estimator_name}'s history_ nor 'restart' or "
                f"'task'; expected names among {names}; received "
                f"filepath={self.filepath!r}."
            )
        if not self.save_best_only:
            return
        if self.monitor not in row:
            raise ValueError(
                f"`monitor` must be a column of {estimator_name}'s history_, one "
                f"of {list(row)}; received monitor={self.monitor!r}."
            )
        if direction is None:
            raise ValueError(
                f"`mode`='auto' cannot tell whether monitor={self.monitor!r} should "
                "be minimized or maximized (it knows losses and scores); pass "
                "mode='min' or mode='max'."
            )
        if math.isnan(row[self.monitor]):
            if self.monitor.startswith("val_"):
                raise ValueError(
                    f"`monitor`={self.monitor!r} is NaN at epoch {row['epoch']}: "
                    f"{estimator_name} has no validation data. Pass X_val and "
                    "y_val to fit, set early_stopping=True, or monitor "
                    f"{self.monitor.removeprefix('val_')!r} (the training value)."
                )
            raise ValueError(
                f"`monitor`={self.monitor!r} is NaN at epoch {row['epoch']}, so "
                "no epoch can be compared with it; monitor another column, e.g. "
                "'loss'."
            )

    def _format_path(self, fields):
        filepath = os.fspath(self.filepath)
        try:
            return filepath.format(**fields)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"`filepath`={filepath!r} cannot be filled in with the values "
                f"{fields}: {exc}."
            ) from None

    def _say(self, message):
        if self.verbose:
            print(message)

    def _save(self, fit, fitted_estimator, path):
        """Write the epoch's model to ``path`` atomically (temporary file, then
        ``os.replace``), unless another writer replaced the file since this
        fit last wrote it."""
        self._refuse_foreign_file(fit, path)
        model = copy.copy(fitted_estimator)  # shared with other callbacks
        for name in list(vars(model)):
            if name.startswith(_CALLBACK_ATTRIBUTES):
                delattr(model, name)
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        temporary = os.path.join(
            folder, f".{os.path.basename(path)}.{uuid.uuid4().hex[:12]}.tmp"
        )
        skops_io = _import_skops_io()
        try:
            with open(temporary, "xb") as file:
                skops_io.dump(model, file)
                file.flush()
                os.fsync(file.fileno())
                signature = _file_signature(os.fstat(file.fileno()))
            if not fit.types_checked:
                fit.types_checked = True
                self._warn_untrusted(temporary, path)
            os.replace(temporary, path)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise
        fit.written[path] = signature

    def _refuse_foreign_file(self, fit, path):
        """Refuse to write over a file another fit wrote after this one."""
        if path not in fit.written:
            return
        try:
            current = _file_signature(os.stat(path))
        except FileNotFoundError:  # deleted meanwhile: nothing to overwrite
            return
        if current != fit.written[path]:
            raise ValueError(
                f"`filepath`: {path!r} was replaced by another writer since this "
                "fit last saved it. Several fits are writing one file at the "
                "same time (e.g. a search with n_jobs > 1; skorch#819). Put "
                "{task} in filepath to give each fit its own file, e.g. "
                "ModelCheckpoint('checkpoints/{task}.skops')."
            )

    def _warn_untrusted(self, file, path):
        _, untrusted = skops_trusted_types(file)
        if untrusted:
            warn_user(
                f"The checkpoint {path!r} holds types that "
                f"skdeep.persistence.load_skops refuses to load: {untrusted} "
                "(e.g. a function of yours passed as a parameter). Load it with "
                "skops.io.load(file, trusted=[...]) after checking them.",
                UserWarning,
            )
