"""Convolutional network classifier and transfer learning (notes 三).

:class:`ConvNetClassifier` trains a stack of :mod:`skdeep.layers` on images
with the shared machinery of :mod:`skdeep._base` (mini-batches, early
stopping with the best weights restored, callbacks). This module adds what is
specific to images: reading ``X`` as ``(n, height, width, channels)``, the
default network, augmentation of the training batches, and transfer learning
from a fitted ConvNet (notes 三.10), whose four cases :func:`transfer_strategy`
maps to parameters (both the strategy and the reuse of the pretrained layers
live in :mod:`skdeep._transfer`).
"""

import copy
from numbers import Integral

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.utils.validation import check_is_fitted

from ._base import BaseNetwork
from ._outputs import NetworkClassifierMixin
from ._summary import summarize
from ._transfer import (
    fitted_pretrained_base,
    pretrained_input_shape,
    pretrained_layers,
    transfer_strategy,
)
from .augmentation import ImageAugmenter
from .nn.conv import Conv2D
from .nn.layers import Activation, Dense, Flatten, Layer
from .nn.network import Sequential
from .nn.pooling import MaxPooling2D
from .utils._sklearn_compat import Interval
from .utils._validation import name_argument, validate_numeric
from .utils._warnings import warn_user

# Output activations that the loss applies to the logits: a Keras-style output
# layer with one of them is read as the output layer (see _split_output).
_OUTPUT_ACTIVATIONS = ("softmax", "sigmoid")


def _output_shape(layers, input_shape):
    """Shape after ``layers`` (no batch axis), from their side-effect-free rules."""
    shape = tuple(input_shape)
    for layer in layers:
        shape = tuple(layer.output_shape(shape))
    return shape


def default_layers(input_shape):
    """The default hidden layers for inputs of ``input_shape``.

    For images ``(h, w, c)``: two blocks of ``Conv2D(relu, 'same') -
    MaxPooling2D`` (32 then 64 filters) and a ``Dense(128, relu)`` layer, the
    usual small image classifier. Kernels are ``min(3, h) x min(3, w)`` and
    pooling windows shrink (or pooling is skipped) on small inputs, so that any
    input works: 28x28 images as well as the ``(1, n_features, 1)`` signals
    that 2-D rows become. For vectors ``(n_features,)`` (Keras'
    ``input_shape=(784,)``), which have no neighbouring pixels to convolve,
    the dense part alone: ``Dense(128, relu)``.

    Parameters
    ----------
    input_shape : tuple of int
        ``(height, width, channels)`` of one image, or ``(n_features,)``.

    Returns
    -------
    layers : list of Layer
        New, unbuilt layers (the output layer is added by the estimator).

    Examples
    --------
    >>> from skdeep.convnet import default_layers
    >>> [type(layer).__name__ for layer in default_layers((28, 28, 1))]
    ['Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dense']
    >>> default_layers((1, 4, 1))[0].kernel_size  # 1-D signals: (1, k) kernels
    (1, 3)
    >>> default_layers((784,))  # vectors
    [Dense(units=128, activation='relu')]
    """
    if len(input_shape) == 1:
        return [Dense(128, activation="relu")]
    layers, shape = [], tuple(input_shape)
    for filters in (32, 64):
        h, w = shape[:2]
        layers.append(
            Conv2D(filters, (min(3, h), min(3, w)), padding="same", activation="relu")
        )
        pool = (min(2, h), min(2, w))
        if pool != (1, 1):
            layers.append(MaxPooling2D(pool))
        shape = _output_shape(layers, input_shape)
    layers += [Flatten(), Dense(128, activation="relu")]
    return layers


def _split_output(layers):
    """``(body, output)``: a Keras-style output layer at the end of ``layers``.

    ``output`` is ``(dense, activation)`` for a last ``Dense(n,
    activation='softmax' | 'sigmoid')`` or a ``Dense(n)`` followed by a last
    ``Activation('softmax' | 'sigmoid')`` (the notes' 二.4 style), and
    ``body`` the layers before it; ``(layers, None)`` when there is none.
    """
    layers = list(layers)
    last = layers[-1] if layers else None
    if isinstance(last, Dense) and last.activation in _OUTPUT_ACTIVATIONS:
        return layers[:-1], (last, last.activation)
    if (
        isinstance(last, Activation)
        and last.name in _OUTPUT_ACTIVATIONS
        and len(layers) > 1
        and isinstance(layers[-2], Dense)
    ):
        return layers[:-2], (layers[-2], last.name)
    return layers, None


def _with_output_layer(layers, input_shape, n_outputs):
    """``layers`` ending in an output layer that gives logits.

    A Keras-style output layer (see :func:`_split_output`) loses its output
    activation, which the loss applies to the logits: ``Dense(n, 'softmax')``
    becomes ``Dense(n)`` (with the same weights, if built), and a trailing
    ``Activation('softmax')`` is dropped (the ``Dense`` before it keeps its own
    activation, if any, as in Keras). Its size was checked against the targets
    by :meth:`NetworkClassifierMixin._check_declared_output`. Otherwise
    ``Dense(n_outputs)`` is appended, after a ``Flatten`` when the layers end
    with images. ``n_outputs=None`` (classes unknown, e.g. ``summary()``
    before ``fit``) returns the layers as written.
    """
    if n_outputs is None:
        return list(layers)
    body, output = _split_output(layers)
    if output is not None:
        dense = output[0]
        if dense is layers[-1]:
            logits = Dense(dense.units)
            for name in ("params", "grads", "input_shape_", "trainable"):
                if name in vars(dense):
                    setattr(logits, name, vars(dense)[name])
            dense = logits
        return [*body, dense]
    if len(_output_shape(layers, input_shape)) > 1:
        layers = [*layers, Flatten()]
    return [*layers, Dense(n_outputs)]


def _looks_channels_first(shape):
    """Whether an image shape reads like ``(channels, height, width)``: a grey or
    RGB first axis and a last axis too large for a number of channels."""
    return len(shape) == 3 and shape[0] in (1, 3) and shape[2] > 4


class ConvNetClassifier(NetworkClassifierMixin, BaseNetwork):
    """Convolutional neural network classifier (notes 三).

    Images are read channels-last, as in Keras: ``X`` of shape ``(n_samples,
    height, width, channels)``, ``(n_samples, height, width)`` (one channel),
    or flat rows with ``input_shape=(height, width, channels)``. Without
    ``input_shape``, rows of ``n_features`` values are read as ``(1,
    n_features, 1)`` signals, so 1-D data works with ``(1, k)`` kernels and the
    estimator fits in any scikit-learn pipeline. ``input_shape=(n_features,)``
    reads the rows as vectors, for the Dense-only models of Keras (notes 二.4).

    The network is ``layers`` followed by an output ``Dense`` layer sized to
    the classes (softmax for several classes, one sigmoid unit for two, one
    sigmoid per label for multilabel targets), trained on the cross-entropy by
    mini-batch gradient descent. ``layers`` may end with the output layer
    instead, as a Keras model does: ``Dense(n, activation='softmax')``, or
    ``Dense(n)`` then ``Activation('softmax')`` (or 'sigmoid'). Its activation
    is then applied by the loss (the network outputs logits) and it must suit
    the target: ``Dense(n_classes, 'softmax')`` for several classes,
    ``Dense(1, 'sigmoid')`` or ``Dense(2, 'softmax')`` for two,
    ``Dense(n_labels, 'sigmoid')`` for multilabel indicators; any other head
    raises a ValueError that says which one to use.

    Parameters
    ----------
    layers : list of Layer or None, default=None
        The hidden layers, e.g. ``[Conv2D(16, 2, padding='same',
        activation='relu'), MaxPooling2D(2), Flatten(), Dense(500,
        activation='relu')]`` from :mod:`skdeep.layers`. They are deep-copied,
        never modified. The output layer is appended (after a ``Flatten`` if
        needed), unless the list ends with a Keras-style output layer (see
        above). None uses :func:`default_layers`: two convolution-pooling
        blocks (32 and 64 filters of up to 3x3) and ``Dense(128)`` for images,
        ``Dense(128)`` alone for vectors. With ``pretrained``, ``layers`` is
        the new head.
    input_shape : tuple or list of int, or None, default=None
        The shape of one sample, to read flat rows: ``(height, width,
        channels)`` (or ``(height, width)``) of ``height * width * channels``
        values, or ``(n_features,)`` to read them as vectors (Keras'
        ``input_shape=(784,)``). Channels come last, as in Keras: a shape that
        looks channels-first, e.g. ``(3, 32, 32)``, warns. With
        ``pretrained`` and flat rows of its size, None reads them as the
        pretrained network's images.
    optimizer : {'sgd', 'momentum', 'nesterov', 'adam', 'rmsprop'} or \
Optimizer, default='rmsprop'
        The gradient-descent variant (notes 二.10); RMSProp as in the notes'
        CNN. An optimizer object is cloned and used with its own learning rate.
    learning_rate : float, default=1e-3
        Step size of the named optimizers.
    momentum : float, default=0.9
        Momentum ``beta`` of 'momentum' and 'nesterov'.
    batch_size : int or None, default=32
        Mini-batch size, clipped to the number of samples; None is full-batch
        gradient descent.
    max_iter : int, default=100
        Maximum number of epochs.
    alpha : float, default=0.0
        L2 penalty ``0.5 * alpha * ||W||^2`` on the weights.
    l1 : float, default=0.0
        L1 penalty ``l1 * |W|`` on the weights, applied as a proximal
        (soft-thresholding) step after every update: weights become exactly
        zero.
    max_norm : float or None, default=None
        Max-norm constraint: after every update, each unit's (filter's)
        incoming weights are rescaled to an L2 norm of at most ``max_norm``.
    augmentation : ImageAugmenter or None, default=None
        Random shifts and flips applied afresh to every training batch (never
        to validation data or at prediction), drawn from ``random_state``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified) and stop when
        its loss has not improved for ``n_iter_no_change`` epochs.
    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping
        (``ceil(validation_fraction * n_samples)`` rows); the split falls back
        to a non-stratified one that keeps every class in training when the
        classes are too small to stratify.
    n_iter_no_change : int, default=10
        Epochs without improvement (of the validation loss with
        ``early_stopping``, else of the training loss) before training stops.
    tol : float, default=1e-4
        An epoch improves if its loss is below the best so far minus ``tol``.
    restore_best_weights : bool, default=True
        Restore the weights of the best epoch at the end of training (the
        notes' ``ModelCheckpoint(save_best_only=True)``, kept in memory).
    n_restarts : int, default=1
        Train from this many random initialisations and keep the best network.
    clipnorm : float or None, default=None
        Clip each gradient array to this L2 norm.
    learning_rate_schedule : {'constant', 'invscaling', 'adaptive'} or \
callable, default='constant'
        The step size of each epoch, as for
        :class:`~skdeep.MLPNetClassifier`.
    shuffle : bool, default=True
        Visit the images in a new random order each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, shuffling, dropout, augmentation and the
        validation split.
    warm_start : bool, default=False
        Continue from the fitted weights when ``fit`` is called again.
    verbose : int, default=0
        Print one line per epoch if > 0.
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into the sample weights.
    dtype : {np.float32, np.float64, float, 'float32', 'float64'} or \
np.dtype, default=np.float32
        Floating type of the weights and computations (``float`` is float64).
    pretrained : FrozenEstimator, ConvNetClassifier or None, default=None
        A fitted ConvNet whose first ``keep_layers`` layers are reused (notes
        三.10), under the head ``layers``, best passed as
        ``sklearn.frozen.FrozenEstimator(base)``: ``clone`` keeps a frozen
        estimator as it is, so the model can be cross-validated and searched.
        A fitted ConvNetClassifier passed as is works in ``fit`` but not after
        ``clone`` (which cross-validation and searches call), which replaces it
        by an unfitted copy. It is never modified: its layers are
        deep-copied.
    keep_layers : int or None, default=None
        How many leading layers of ``pretrained`` to reuse; None keeps all but
        its output layer. See :func:`transfer_strategy`.
    freeze : bool, default=True
        Keep the reused weights fixed: they get no gradients and the optimizer
        skips them. False fine-tunes them with the head.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    input_shape_ : tuple of int
        ``(height, width, channels)`` of the images the network reads, or
        ``(n_features,)`` for vectors.
    n_features_in_ : int
        Number of values per sample (``height * width * channels``).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, when ``X`` is a DataFrame with string columns.
    network_ : skdeep.nn.network.Sequential
        The trained network (its output layer gives logits).
    optimizer_ : Optimizer
        The optimizer used, with its state.
    n_iter_ : int
        Number of epochs run.
    loss_ : float
        Training loss of the last epoch.
    loss_curve_ : list of float
        Training loss of every epoch.
    best_loss_ : float
        Best monitored loss; the restored weights are those of that epoch.
    validation_scores_ : list of float or None
        Validation accuracy of every epoch with ``early_stopping``.
    history_ : pandas.DataFrame
        One row per epoch: loss, score (running training accuracy of the
        epoch's batches, as Keras' ``accuracy``), val_loss, val_score
        (accuracy), learning_rate, seconds.
    best_epoch_ : int or None
        The epoch whose weights the network holds (the best one, or the last
        with ``restore_best_weights=False``).

    See Also
    --------
    skdeep.MLPNetClassifier : Fully-connected networks.
    skdeep.augmentation.ImageAugmenter : Random shifts and flips.
    transfer_strategy : Parameters for the notes' four transfer-learning cases.

    Examples
    --------
    The digits as 8x8 grey images:

    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from skdeep import ConvNetClassifier
    >>> from skdeep.layers import Conv2D, Dense, Flatten, MaxPooling2D
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0)
    >>> clf = ConvNetClassifier(
    ...     [Conv2D(8, 3, padding="same", activation="relu"), MaxPooling2D(2),
    ...      Flatten(), Dense(32, activation="relu")],
    ...     input_shape=(8, 8, 1), optimizer="adam", max_iter=10, random_state=0)
    >>> print(clf.summary())  # before fit: the classes are not known yet
     Layer (type)                  Output Shape     Param #  Trainable
    ====================================================================
     conv2d (Conv2D)               (None, 8, 8, 8)  80       yes
     max_pooling2d (MaxPooling2D)  (None, 4, 4, 8)  0        yes
     flatten (Flatten)             (None, 128)      0        yes
     dense (Dense)                 (None, 32)       4,128    yes
    ====================================================================
    Total params: 4,208
    Trainable params: 4,208
    Non-trainable params: 0
    >>> clf.fit(X_train, y_train).score(X_test, y_test) > 0.9
    True
    >>> clf.summary().iloc[-1].to_dict()
    {'layer': 'dense_1 (Dense)', 'output_shape': (None, 10), 'params': 330, \
'trainable': True}

    A Keras model as the notes write it (二.4): the rows read as vectors, and
    the output layer written out, ``Dense(10)`` then ``Activation('softmax')``:

    >>> from skdeep.layers import Activation
    >>> keras_style = ConvNetClassifier(
    ...     [Dense(32), Activation("relu"), Dense(10), Activation("softmax")],
    ...     input_shape=(64,), optimizer="adam", max_iter=20, random_state=0)
    >>> keras_style.summary()["params"].tolist()  # (64+1)*32, 0, (32+1)*10, 0
    [2080, 0, 330, 0]
    >>> keras_style.fit(X_train, y_train).score(X_test, y_test) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **BaseNetwork._parameter_constraints,
        **NetworkClassifierMixin._parameter_constraints,
        "layers": [list, tuple, None],
        "input_shape": [tuple, list, None],
        "augmentation": [ImageAugmenter, None],
        "restore_best_weights": ["boolean"],
        "pretrained": ["no_validation"],  # set below the class, which it names
        "keep_layers": [Interval(Integral, 0, None, closed="left"), None],
        "freeze": ["boolean"],
    }

    def __init__(
        self,
        layers=None,
        input_shape=None,
        *,
        optimizer="rmsprop",
        learning_rate=1e-3,
        momentum=0.9,
        batch_size=32,
        max_iter=100,
        alpha=0.0,
        l1=0.0,
        max_norm=None,
        augmentation=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        restore_best_weights=True,
        n_restarts=1,
        clipnorm=None,
        learning_rate_schedule="constant",
        shuffle=True,
        random_state=None,
        warm_start=False,
        verbose=0,
        class_weight=None,
        dtype=np.float32,
        pretrained=None,
        keep_layers=None,
        freeze=True,
    ):
        self.layers = layers
        self.input_shape = input_shape
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.alpha = alpha
        self.l1 = l1
        self.max_norm = max_norm
        self.augmentation = augmentation
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.restore_best_weights = restore_best_weights
        self.n_restarts = n_restarts
        self.clipnorm = clipnorm
        self.learning_rate_schedule = learning_rate_schedule
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.class_weight = class_weight
        self.dtype = dtype
        self.pretrained = pretrained
        self.keep_layers = keep_layers
        self.freeze = freeze

    # ------------------------------------------------------------------
    # Input: images
    # ------------------------------------------------------------------

    def _check_input_shape(self):
        """``input_shape`` as ``(h, w, c)`` or ``(n_features,)`` ints, or None."""
        shape = self.input_shape
        if shape is None:
            return None
        if (
            len(shape) not in (1, 2, 3)
            or any(isinstance(d, bool) or not isinstance(d, Integral) for d in shape)
            or min(shape) < 1
        ):
            raise ValueError(
                "`input_shape` must be a tuple (height, width, channels), "
                "(height, width) or (n_features,) of positive integers; received "
                f"input_shape={shape!r}."
            )
        return tuple(int(d) for d in shape) + ((1,) if len(shape) == 2 else ())

    def _validate_X(self, X, reset):
        if hasattr(X, "tocsr"):
            raise TypeError(
                f"ConvNetClassifier reads dense images; received a sparse "
                f"{type(X).__name__} of shape {X.shape}. Convert it with "
                "X.toarray(), or use MLPNetClassifier or LogisticGD, which take "
                "sparse rows."
            )
        input_shape = self._check_input_shape()
        image_shape = None
        ndim = getattr(X, "ndim", None)
        if ndim is None and isinstance(X, list | tuple):
            try:
                ndim = np.ndim(X)  # nested lists of images
            except ValueError as exc:  # ragged lists
                name_argument(exc, X, "X")
        if ndim in (3, 4):
            # Images: validate them as flat rows (NaN, dtype, n_features_in_).
            X = np.asarray(X)
            image_shape = X.shape[1:] + ((1,) if X.ndim == 3 else ())
            X = X.reshape(X.shape[0], -1)
        X = validate_numeric(
            self, X, reset=reset, dtype=[np.float32, np.float64], order="C"
        )
        n_samples, n_features = X.shape
        if image_shape is not None:
            if input_shape is not None and image_shape != input_shape:
                raise ValueError(
                    f"`input_shape` {self.input_shape} does not match X with "
                    f"images of shape {image_shape}."
                )
        elif input_shape is not None:
            if np.prod(input_shape) != n_features:
                raise ValueError(
                    f"`input_shape` {self.input_shape} does not match X with "
                    f"{n_features} features: it needs "
                    f"{int(np.prod(input_shape))} = "
                    f"{' * '.join(map(str, input_shape))}."
                )
            image_shape = input_shape
        elif reset:
            # Flat rows: the pretrained network's images if they have its
            # size, else 1-D signals.
            pretrained_shape = pretrained_input_shape(self.pretrained, n_features)
            image_shape = pretrained_shape or (1, n_features, 1)
        else:
            image_shape = self.input_shape_  # flat rows of the fitted shape
        if reset:
            if _looks_channels_first(image_shape):
                self._warn_channels_first(image_shape)
            self.input_shape_ = image_shape
        elif image_shape != self.input_shape_:
            raise ValueError(
                f"X has images of shape {image_shape}, but {type(self).__name__} "
                f"was fitted on images of shape {self.input_shape_}."
            )
        return X.reshape(n_samples, *image_shape)

    @staticmethod
    def _warn_channels_first(shape):
        c, h, w = shape
        warn_user(
            f"The images' shape {shape} looks channels-first (channels, height, "
            "width), but ConvNetClassifier reads (height, width, channels), as "
            f"Keras does: {h} rows of {w} pixels with {c} channels need "
            f"input_shape=({h}, {w}, {c}) and pixels in that order, e.g. "
            "X.transpose(0, 2, 3, 1) for images (n, channels, height, width). "
            "If the shape is right, ignore this warning.",
            UserWarning,
        )

    def _fit(self, X, y, *args, **kwargs):
        if self.augmentation is not None:
            # Once per fit: transform_batch skips the check under fit's nested
            # validation context, so the batches do not repeat it.
            self.augmentation._validate_params()
        return super()._fit(X, y, *args, **kwargs)

    def _augment_batch(self, X_batch, rng):
        if self.augmentation is None:
            return X_batch
        return self.augmentation.transform_batch(X_batch, rng)

    # ------------------------------------------------------------------
    # Network: default, user layers, or a pretrained base
    # ------------------------------------------------------------------

    def _network_layers(self, input_shape, n_outputs):
        if self.pretrained is not None:
            kept = pretrained_layers(
                self.pretrained,
                input_shape,
                keep_layers=self.keep_layers,
                freeze=self.freeze,
            )
            head = [] if self.layers is None else copy.deepcopy(list(self.layers))
        else:
            kept = []
            if self.layers is None:
                head = default_layers(input_shape)
            else:
                head = copy.deepcopy(list(self.layers))
        for layer in head:
            if not isinstance(layer, Layer):
                raise ValueError(
                    f"`layers` must contain skdeep layers; received {layer!r}."
                )
        return _with_output_layer(kept + head, input_shape, n_outputs)

    def _declared_output(self):
        # Only the user's layers (the new head under `pretrained`) declare an
        # output layer: a pretrained network's own output layer is never kept,
        # and a sigmoid Dense among its kept layers is a hidden layer.
        if self.layers is None:
            return None
        _, output = _split_output(self.layers)
        if output is None:
            return None
        dense, activation = output
        return dense.units, activation

    def _make_layers(self, input_shape, n_outputs):
        # A trailing output Activation('softmax') is left out of the network
        # (the loss applies it); summary() shows it, as Keras' does.
        last = self.layers[-1] if self.layers else None
        declared = self._declared_output() is not None
        trailing = declared and isinstance(last, Activation)
        self._output_activation = last.name if trailing else None
        return self._network_layers(input_shape, n_outputs)

    def summary(self):
        """Describe the network, one row per layer, as Keras' summary.

        Works before ``fit`` when ``input_shape`` is set (or with
        ``pretrained``); the output layer, sized to the classes, is then not
        known yet and not shown (unless ``layers`` ends with one). A trailing
        ``Activation('softmax')`` or ``Activation('sigmoid')`` in ``layers`` is
        shown as its own row, as in Keras, though the loss applies it.

        Returns
        -------
        summary : NetworkSummary
            A pandas DataFrame with columns ``layer``, ``output_shape`` (batch
            axis None), ``params`` and ``trainable``; printing it shows the
            totals.
        """
        if hasattr(self, "network_"):
            if getattr(self, "_output_activation", None) is None:
                return super().summary()
            # The fitted layers and the output activation, for display only.
            shown = Sequential(
                [*self.network_.layers, Activation(self._output_activation)]
            )
            shown.input_shape_ = self.network_.input_shape_
            return summarize(shown)
        input_shape = self._check_input_shape()
        if input_shape is None and self.pretrained is not None:
            base = fitted_pretrained_base(self.pretrained)
            input_shape = getattr(base, "input_shape_", None)
        if input_shape is None:
            check_is_fitted(self, msg=(
                "This ConvNetClassifier is not fitted yet and has no "
                "`input_shape`: set input_shape or call fit before summary()."
            ))  # fmt: skip
        if _looks_channels_first(input_shape):
            self._warn_channels_first(input_shape)
        layers = self._network_layers(input_shape, None)
        network = Sequential(layers, dtype=self._dtype())
        network.build(input_shape, np.random.default_rng(0))
        return summarize(network)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


ConvNetClassifier._parameter_constraints["pretrained"] = [
    FrozenEstimator,
    ConvNetClassifier,
    None,
]


__all__ = ["ConvNetClassifier", "default_layers", "transfer_strategy"]
