"""How skdeep holds out validation data: one policy for every estimator.

Early stopping (``early_stopping=True``, ``validation_fraction``) and the
default validation split of :class:`~skdeep.CoarseToFineSearchCV` both call
:func:`holdout_indices`.
"""

import math

import numpy as np
from sklearn.model_selection import BaseShuffleSplit, train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import type_of_target


def holdout_indices(
    n_samples, validation_fraction, labels, random_state, *, name, context, instead
):
    """Indices ``(train, validation)`` holding out ``validation_fraction`` of the rows.

    ``ceil(validation_fraction * n_samples)`` rows are held out (as
    ``train_test_split`` counts), so the validation set is never empty. With
    class ``labels``, the split is stratified when it can be (every class has 2
    samples or more and each side can hold one of each); otherwise the rows are
    drawn at random among those whose class keeps another row in the training
    set, so that training still sees every class. A ``ValueError`` naming
    ``name`` (the parameter that set the fraction) is raised when even that is
    impossible: fewer training rows than classes, or none at all.

    Parameters
    ----------
    n_samples : int
    validation_fraction : float in (0, 1)
    labels : array-like of shape (n_samples,) or None
        Class labels to respect (classifiers), or None (regression, multilabel).
    random_state : numpy.random.RandomState
    name : str
        The parameter named in errors, e.g. ``"validation_fraction"``.
    context, instead : str
        What holds the rows out and what to do instead, for the error message
        (e.g. ``"early_stopping=True"`` and ``"early_stopping=False"``).

    Returns
    -------
    train, validation : ndarray of int

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.utils._splits import holdout_indices
    >>> labels = np.array([0] * 5 + [1] * 5)
    >>> train, val = holdout_indices(
    ...     10, 0.2, labels, np.random.RandomState(0), name="validation_fraction",
    ...     context="early_stopping=True", instead="early_stopping=False")
    >>> len(train), sorted(labels[val].tolist())  # stratified: one of each class
    (8, [0, 1])
    """
    if n_samples == 0:
        raise ValueError(f"{context} cannot hold out rows of n_samples=0 samples.")
    n_val = math.ceil(validation_fraction * n_samples)
    n_train = n_samples - n_val
    classes, codes, counts = (
        (None, None, None)
        if labels is None
        else np.unique(labels, return_inverse=True, return_counts=True)
    )
    n_needed = 1 if labels is None else len(classes)
    if n_train < n_needed:
        needs = (
            "at least one"
            if labels is None
            else f"one of each of the {n_needed} classes"
        )
        raise ValueError(
            f"{context} holds out {name}={validation_fraction} of the "
            f"n_samples={n_samples} samples ({n_val} for validation), which leaves "
            f"{n_train} for training; training needs {needs}. Use more data, a "
            f"smaller {name}, or {instead}."
        )
    if labels is not None and counts.min() >= 2 and min(n_val, n_train) >= len(classes):
        train, val = train_test_split(
            np.arange(n_samples),
            test_size=n_val,
            random_state=random_state,
            stratify=labels,
        )
        return train, val
    order = random_state.permutation(n_samples)
    if labels is None:
        return order[n_val:], order[:n_val]
    # Walk the shuffled rows, holding one out only if its class keeps a
    # training row; n_train >= n_classes guarantees n_val are found.
    left = counts.copy()
    held_out = np.zeros(n_samples, dtype=bool)
    n_held = 0
    for i in order:
        if n_held == n_val:
            break
        if left[codes[i]] > 1:
            left[codes[i]] -= 1
            held_out[i] = True
            n_held += 1
    return order[~held_out[order]], order[held_out[order]]


class HoldOutSplit(BaseShuffleSplit):
    """One train/validation split by :func:`holdout_indices`, as a CV splitter.

    The default ``cv`` of :class:`~skdeep.CoarseToFineSearchCV`: the same
    policy as early stopping's split, stratified on binary and multi-class
    targets when ``stratify`` (falling back to a split that keeps every class
    in training when the classes are too small). With an int ``random_state``
    every call gives the same split.

    Parameters
    ----------
    validation_fraction : float, default=0.2
    stratify : bool, default=True
        Respect the classes of ``y`` (pass False for regression).
    random_state : int, RandomState instance or None, default=None

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.utils._splits import HoldOutSplit
    >>> y = np.repeat([0, 1], [5, 5])
    >>> ((train, validation),) = HoldOutSplit(random_state=0).split(y[:, None], y)
    >>> len(train), sorted(y[validation].tolist())
    (8, [0, 1])
    """

    def __init__(self, validation_fraction=0.2, *, stratify=True, random_state=None):
        super().__init__(
            n_splits=1, test_size=validation_fraction, random_state=random_state
        )
        self.validation_fraction = validation_fraction
        self.stratify = stratify

    def _iter_indices(self, X, y=None, groups=None):
        labels = None
        if self.stratify and y is not None:
            if type_of_target(y) in ("binary", "multiclass"):
                labels = np.asarray(y)
        yield holdout_indices(
            X.shape[0] if hasattr(X, "shape") else len(X),
            self.validation_fraction,
            labels,
            check_random_state(self.random_state),
            name="validation_fraction",
            context="The default validation split (cv=None)",
            instead="pass cv",
        )


__all__ = ["HoldOutSplit", "holdout_indices"]
