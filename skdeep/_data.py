"""From user input to the arrays a network trains on.

:class:`TrainingDataMixin` is the first step of every fit (see
:mod:`skdeep._base`): it validates ``X``, ``y`` and the sample weights, casts
them to the network's dtype, and provides the validation data -- the user's
``X_val`` / ``y_val``, or a held-out split for ``early_stopping`` -- with errors
that name the argument at fault.
"""

from typing import NamedTuple

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import check_consistent_length

from .utils._splits import holdout_indices
from .utils._validation import check_sample_weight


class _Data(NamedTuple):
    """Training or validation arrays, in the network's dtype."""

    X: object
    Y: np.ndarray
    sample_weight: np.ndarray | None


def _check_range(A, name, dtype):
    """Refuse finite values that become infinite in the weights' ``dtype``."""
    limit = float(np.finfo(dtype).max)
    values = A.data if hasattr(A, "tocsr") else A  # the stored values if sparse
    if values.dtype.itemsize > np.dtype(dtype).itemsize and values.size:
        largest = max(float(values.max()), -float(values.min()))
        if largest > limit:
            raise ValueError(
                f"{name} has values up to {largest:.3g}, beyond the range of "
                f"dtype={np.dtype(dtype).name} (+-{limit:.3g}) in which the network "
                f"computes. Scale {name} (e.g. with StandardScaler) or pass "
                "dtype=np.float64."
            )


def _as_dtype(A, dtype):
    if hasattr(A, "tocsr"):
        # Sparse rows: CSR, whose row slices are cheap, in canonical form (no
        # duplicate entries), which the perceptron's row updates rely on.
        A = A.tocsr().astype(dtype, copy=True)
        A.sum_duplicates()
        return A
    return np.ascontiguousarray(A, dtype=dtype)


class TrainingDataMixin:
    """The data steps of ``BaseNetwork._fit``; relies on the estimator's hooks
    (``_validate_X``, ``_validate_targets``, ``_output_sample_weight``,
    ``_split_labels``, ``_accepted_sparse_formats``, ``_dtype``)."""

    def _training_data(self, X, y, sample_weight, first_call, incremental, classes):
        """Validated training arrays in the network's dtype, and the class
        labels a validation split must respect (None for regressors)."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        X_checked = self._validate_X(X, reset=first_call)
        check_consistent_length(X_checked, y)
        Y = self._validate_targets(y, first_call, classes)
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, X_checked.shape[0])
        sample_weight = self._output_sample_weight(
            y, sample_weight, first_call, incremental
        )
        dtype = self._dtype() if first_call else self.network_.dtype
        train = self._cast(X_checked, Y, sample_weight, dtype)
        return train, self._split_labels(y)

    def _cast(self, X, Y, sample_weight, dtype):
        _check_range(X, "X", dtype)
        _check_range(Y, "y", dtype)
        if sample_weight is not None:
            sample_weight = sample_weight.astype(dtype)
        return _Data(_as_dtype(X, dtype), _as_dtype(Y, dtype), sample_weight)

    def _validation_data(
        self, train, labels, X_val, y_val, sample_weight_val, random_state, incremental
    ):
        """``(train, validation)``: the user's validation data, a held-out split
        (``early_stopping``), or None."""
        if X_val is None and y_val is None:
            if sample_weight_val is not None:
                raise ValueError(
                    "`sample_weight_val` was given without `X_val` and `y_val`."
                )
            if self.early_stopping and not incremental:
                return self._split(train, labels, random_state)
            return train, None
        if X_val is None or y_val is None:
            missing = "X_val" if X_val is None else "y_val"
            raise ValueError(
                f"`X_val` and `y_val` must be given together; {missing} is missing."
            )
        X_val = self._validate_X_val(X_val)
        Y_val = self._validate_targets(y_val, False, None, input_name="y_val")
        if X_val.shape[0] != Y_val.shape[0]:
            raise ValueError(
                f"`X_val` and `y_val` have {X_val.shape[0]} and {Y_val.shape[0]} "
                "samples; they must have the same number."
            )
        if sample_weight_val is not None:
            sample_weight_val = check_sample_weight(
                sample_weight_val, X_val.shape[0], name="sample_weight_val"
            )
        sample_weight_val = self._output_sample_weight(
            y_val, sample_weight_val, False, incremental, validation=True
        )
        return train, self._cast(X_val, Y_val, sample_weight_val, train.Y.dtype)

    def _validate_X_val(self, X_val):
        """``X_val`` validated as ``X`` is, with errors that name it."""
        # Finiteness, dtype and emptiness first, so that the message says X_val.
        check_array(
            X_val,
            input_name="X_val",
            accept_sparse=self._accepted_sparse_formats() or False,
            dtype=None,
            ensure_2d=False,
            allow_nd=True,
            ensure_all_finite=True,
        )
        shape = X_val.shape if hasattr(X_val, "shape") else np.shape(X_val)
        n_features = int(np.prod(shape[1:])) if len(shape) > 1 else None
        if n_features is not None and n_features != self.n_features_in_:
            raise ValueError(
                f"X_val has {n_features} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input (those of X)."
            )
        return self._validate_X(X_val, reset=False)

    def _split(self, data, labels, random_state):
        """Hold out ``validation_fraction`` of the data (see
        :func:`~skdeep.utils._splits.holdout_indices`)."""
        train_idx, val_idx = holdout_indices(
            data.X.shape[0],
            self.validation_fraction,
            labels,
            random_state,
            name="validation_fraction",
            context="early_stopping=True",
            instead="early_stopping=False",
        )

        def take(idx):
            weights = data.sample_weight
            return _Data(
                data.X[idx], data.Y[idx], None if weights is None else weights[idx]
            )

        return take(train_idx), take(val_idx)


__all__ = ["TrainingDataMixin"]
