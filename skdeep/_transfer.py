"""Transfer learning from a fitted ConvNet (notes 三.10).

:func:`transfer_strategy` maps the notes' four cases to the parameters
``pretrained``, ``keep_layers`` and ``freeze`` of
:class:`~skdeep.ConvNetClassifier`; the other functions are what the estimator
does with them: unwrap ``pretrained`` (a FrozenEstimator or a fitted ConvNet),
check it, and copy the layers it reuses. :mod:`skdeep.convnet` trains a network
and re-exports :func:`transfer_strategy`; this module only reads a fitted one.
"""

import copy

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.utils.validation import check_is_fitted

from .nn.conv import Conv2D
from .nn.pooling import MaxPooling2D

__all__ = ["transfer_strategy"]


def _is_convnet(estimator):
    """Whether ``estimator`` is a ConvNetClassifier.

    The class is imported here, when first needed, because :mod:`skdeep.convnet`
    imports this module.
    """
    from .convnet import ConvNetClassifier

    return isinstance(estimator, ConvNetClassifier)


def unwrap_pretrained(pretrained):
    """The estimator ``pretrained`` holds: the one in a FrozenEstimator, or itself."""
    if isinstance(pretrained, FrozenEstimator):
        return pretrained.estimator
    return pretrained


def pretrained_input_shape(pretrained, n_features):
    """The input shape of the fitted network ``pretrained`` holds if it has
    ``n_features`` values, else None (a wrong ``pretrained`` is reported when
    the layers are made)."""
    base = unwrap_pretrained(pretrained)
    shape = getattr(base, "input_shape_", None)
    if _is_convnet(base) and shape is not None:
        if int(np.prod(shape)) == n_features:
            return tuple(shape)
    return None


def fitted_pretrained_base(pretrained):
    """The fitted ConvNetClassifier ``pretrained`` holds, or a clear error."""
    base = unwrap_pretrained(pretrained)
    frozen = base is not pretrained
    if not _is_convnet(base):
        raise ValueError(
            "`pretrained` must be a fitted ConvNetClassifier, best wrapped in "
            "sklearn.frozen.FrozenEstimator; received "
            f"{'FrozenEstimator(' if frozen else ''}"
            f"{type(base).__name__}{')' if frozen else ''}."
        )
    if not hasattr(base, "network_"):
        if frozen:
            advice = "fit it before wrapping it in FrozenEstimator."
        else:
            # What a clone (cross_val_score, searches) leaves of a fitted
            # base passed as is.
            advice = (
                "fit it, and pass it as pretrained=FrozenEstimator(base) "
                "(from sklearn.frozen import FrozenEstimator): a fitted "
                "ConvNetClassifier passed as is does not survive clone(), "
                "which cross-validation, searches and pipelines call, and "
                "leaves an unfitted copy."
            )
        raise NotFittedError(
            "`pretrained` must be a fitted ConvNetClassifier; received an "
            f"unfitted one: {advice}"
        )
    return base


def pretrained_layers(pretrained, input_shape, *, keep_layers, freeze):
    """Deep copies of the first ``keep_layers`` layers of the network
    ``pretrained`` holds (None: all but its output layer), frozen if
    ``freeze``."""
    pretrained = fitted_pretrained_base(pretrained)
    base = pretrained.network_.layers
    keep = len(base) - 1 if keep_layers is None else keep_layers
    if keep > len(base) - 1:
        raise ValueError(
            f"`keep_layers`={keep_layers} is too large: the pretrained "
            f"network has {len(base)} layers including its output layer, so "
            f"at most {len(base) - 1} can be kept."
        )
    if tuple(pretrained.input_shape_) != tuple(input_shape):
        raise ValueError(
            f"X has images of shape {tuple(input_shape)}, but the pretrained "
            f"network reads images of shape {pretrained.input_shape_}."
        )
    kept = copy.deepcopy(base[:keep])
    for layer in kept:
        layer.trainable = not freeze
    return kept


def transfer_strategy(pretrained, *, small_data, similar):
    """Parameters of :class:`ConvNetClassifier` for the notes' four cases (三.10).

    ==========  ====================================  ================================
    new data    similar to the original data          different from the original data
    ==========  ====================================  ================================
    small       1. keep all but the output layer,     2. keep only the first (low-level)
                frozen; train a new output layer      conv block, frozen; train a new
                                                      head on it
    large       3. keep all but the output layer and  4. as 3 (the pretrained weights
                fine-tune everything                  are a good start), or train
                                                      from scratch
    ==========  ====================================  ================================

    With little data, freezing avoids overfitting; when the data differ, only
    the early layers (edges, simple shapes) carry over, so the later ones are
    dropped.

    Parameters
    ----------
    pretrained : ConvNetClassifier or FrozenEstimator
        The fitted network to start from, as is or wrapped in
        ``sklearn.frozen.FrozenEstimator``.
    small_data : bool
        Whether the new data set is small (thousands of images rather than
        hundreds of thousands: the limit is a judgement call).
    similar : bool
        Whether the new images resemble the original ones (dogs and wolves do,
        flowers and dogs do not).

    Returns
    -------
    params : dict
        ``pretrained`` (as ``FrozenEstimator(pretrained)``, so that the model
        survives ``clone`` in cross-validation and searches), ``keep_layers``
        and ``freeze``, to pass to ``ConvNetClassifier(**params)`` or
        ``set_params(**params)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import cross_val_score
    >>> from skdeep.convnet import ConvNetClassifier, transfer_strategy
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(40, 8, 8, 1)), np.arange(40) % 2
    >>> base = ConvNetClassifier(max_iter=1, random_state=0).fit(X, y)
    >>> [type(layer).__name__ for layer in base.network_.layers]
    ['Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dense', 'Dense']
    >>> params = transfer_strategy(base, small_data=True, similar=False)
    >>> params["pretrained"], params["keep_layers"], params["freeze"]
    (FrozenEstimator(estimator=ConvNetClassifier(max_iter=1, random_state=0)), 2, True)
    >>> new_model = ConvNetClassifier(**params, max_iter=1, random_state=0)
    >>> cross_val_score(new_model, X, y, cv=2).shape
    (2,)
    """
    base = unwrap_pretrained(pretrained)
    if not _is_convnet(base):
        raise ValueError(
            "`pretrained` must be a fitted ConvNetClassifier (or one wrapped in "
            f"FrozenEstimator); received {type(base).__name__}."
        )
    check_is_fitted(base, msg=(
        "`pretrained` must be a fitted ConvNetClassifier; call its fit first."
    ))  # fmt: skip
    layers = base.network_.layers
    keep, freeze = len(layers) - 1, bool(small_data)
    if small_data and not similar:
        # Up to the end of the first convolution block (its pooling layer).
        keep = 1
        for i, layer in enumerate(layers):
            if isinstance(layer, Conv2D):
                keep = i + 1
                while keep < len(layers) and isinstance(layers[keep], MaxPooling2D):
                    keep += 1
                break
    if not isinstance(pretrained, FrozenEstimator):
        pretrained = FrozenEstimator(pretrained)
    return {"pretrained": pretrained, "keep_layers": keep, "freeze": freeze}
