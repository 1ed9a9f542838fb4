"""The shared vocabulary's documentation, written once for every estimator.

Each parameter of DESIGN.md's vocabulary means the same in every estimator, so
it is described once here; :func:`parameters_doc` renders the numpydoc
``Parameters`` entries of an estimator with the defaults read from its own
``__init__``, so a docstring cannot state a wrong default.
"""

import inspect
import textwrap

import numpy as np

PARAMETERS = {
    "hidden_layer_sizes": (
        "array-like of int",
        "Number of units of each hidden layer.",
    ),
    "activation": (
        "{'relu', 'tanh', 'sigmoid', 'logistic', 'identity'}",
        "Activation of the hidden layers ('logistic' is 'sigmoid').",
    ),
    "optimizer": (
        "{'sgd', 'momentum', 'nesterov', 'adam', 'rmsprop'} or Optimizer",
        "The gradient-descent variant (notes 二.9-10). An optimizer object from "
        ":mod:`skdeep.optimizers` is cloned and used with its own learning rate "
        "and settings.",
    ),
    "learning_rate": (
        "float",
        "Step size α of the named optimizers (the first epoch's, under a "
        "``learning_rate_schedule``).",
    ),
    "momentum": ("float", "Momentum ``beta`` of 'momentum' and 'nesterov'."),
    "batch_size": (
        "int or None",
        "Mini-batch size, clipped to the number of samples; None is full-batch "
        "gradient descent (one step per epoch, and each epoch's loss is that of "
        "the weights after its step).",
    ),
    "max_iter": ("int", "Maximum number of epochs (passes over the data)."),
    "alpha": (
        "float",
        "L2 penalty ``0.5 * alpha * ||W||^2`` on the weights (not the biases), "
        "added to the mean loss (the notes' lambda). Unlike scikit-learn's MLP, "
        "it is not divided by the batch size.",
    ),
    "l1": (
        "float",
        "L1 penalty ``l1 * |W|`` on the weights (not the biases), added to the "
        "loss and applied as a proximal (soft-thresholding) step after every "
        "update: each weight moves ``l1`` times its step size towards zero and "
        "stops there (``learning_rate * l1`` for SGD; per weight, in the "
        "optimizer's own scaling, for Adam and RMSProp), so weights become "
        "exactly zero (the notes' feature selection, 二.6).",
    ),
    "max_norm": (
        "float or None",
        "Max-norm constraint (Keras' ``MaxNorm``, the notes' L-infinity idea of "
        "二.6): after every update, each unit's incoming weights are rescaled to "
        "an L2 norm of at most ``max_norm``. None is off.",
    ),
    "dropout": (
        "float",
        "Drop rate of a ``Dropout`` layer after each hidden layer (training only).",
    ),
    "early_stopping": (
        "bool",
        "Hold out ``validation_fraction`` of the data (stratified for "
        "classifiers) and monitor its loss instead of the training loss. With "
        "``X_val`` passed to ``fit``, no split is held out.",
    ),
    "validation_fraction": (
        "float",
        "Fraction of the training data held out with ``early_stopping`` "
        "(``ceil(validation_fraction * n_samples)`` rows). For classifiers, when "
        "the classes are too small to stratify, the rows are drawn at random "
        "among those whose class keeps a training row; a ValueError is raised "
        "if the training set cannot keep every class.",
    ),
    "n_iter_no_change": (
        "int",
        "Stop after this many epochs in a row without an improvement of the "
        "monitored loss (the validation loss with ``early_stopping`` or "
        "``X_val``, else the training loss) by ``tol``.",
    ),
    "tol": (
        "float",
        "An epoch improves if its monitored loss is below the best so far minus "
        "``tol``.",
    ),
    "restore_best_weights": (
        "bool",
        "Keep the weights of the epoch with the lowest monitored loss (the "
        "notes' ``ModelCheckpoint(save_best_only=True)``, kept in memory); False "
        "keeps the last epoch's weights. A diverging run always keeps the best "
        "finite weights.",
    ),
    "n_restarts": (
        "int",
        "Train from this many random initialisations and keep the run whose "
        "final weights have the lowest monitored loss (notes 二.8).",
    ),
    "clipnorm": ("float or None", "Clip each gradient array to this L2 norm."),
    "learning_rate_schedule": (
        "{'constant', 'invscaling', 'adaptive'} or callable",
        "The step size of each epoch, with scikit-learn MLP's meanings: "
        "'constant' keeps it; 'invscaling' uses ``learning_rate / (t + 1) ** "
        "0.5`` after ``t`` samples; 'adaptive' divides it by 5 each time the "
        "monitored loss fails to improve by ``tol`` for 2 epochs in a row. A "
        "callable ``schedule(epoch, rate) -> rate`` is called before each epoch "
        "with the number of epochs already run and the current rate, as Keras' "
        "``LearningRateScheduler``. ``history_['learning_rate']`` shows the rate "
        "of each epoch.",
    ),
    "shuffle": (
        "bool",
        "Visit the samples in a new random order each epoch (mini-batches and "
        "the perceptron's online rule; a full batch is the same in any order).",
    ),
    "random_state": (
        "int, RandomState instance or None",
        "Seeds the initialisation, the shuffling, dropout, augmentation, the "
        "validation split and the restarts: the same value gives the same model.",
    ),
    "warm_start": (
        "bool",
        "Continue from the fitted weights when ``fit`` is called again.",
    ),
    "verbose": ("int", "Print one line per epoch if > 0."),
    "class_weight": (
        "dict, 'balanced' or None",
        "Weights of the classes (``{label: weight}``), multiplied into the "
        "sample weights; 'balanced' uses ``n_samples / (n_classes * "
        "np.bincount(y))``, counted with the sample weights. ``partial_fit`` "
        "refuses 'balanced' (one chunk's class counts are not the data's).",
    ),
    "dtype": (
        "{np.float32, np.float64}, their names, or float",
        "Floating type of the weights and of training, whatever the input "
        "dtype; float64 models stay float64 end to end. Prediction computes "
        "float64 input in float64 (a row's result is then independent of the "
        "rows predicted with it, bit for bit) and any other input in ``dtype``: "
        "pass float32 ``X`` to a float32 model for the fastest prediction "
        "(about twice as fast, equal to float32 rounding).",
    ),
}


BEST_LOSS_DOC = """    best_loss_ : float
        The monitored loss (validation loss with validation data, else the
        training loss, penalties included) of the weights the estimator holds.
        With ``n_restarts > 1``, or when the weights held are not the best
        epoch's, it is measured on the whole set in inference mode after
        training, and restarts are compared on it; otherwise it is the loss the
        best epoch recorded (for mini-batches, the running mean of its batch
        losses, as scikit-learn's ``best_loss_``; exact for the full batch and
        for validation data).
"""
"""The ``best_loss_`` entry of the engine's estimators' Attributes."""


def _default_repr(value):
    if isinstance(value, type) and issubclass(value, np.generic):
        return f"np.{value.__name__}"
    return repr(value)


def parameters_doc(estimator_class, names, overrides=None):
    """The numpydoc entries of ``names``, with the defaults of ``estimator_class``.

    ``overrides`` maps a name to ``(type, description)`` where an estimator
    documents a parameter its own way.

    Examples
    --------
    >>> from skdeep import MLPNetClassifier
    >>> from skdeep._docs import parameters_doc
    >>> print(parameters_doc(MLPNetClassifier, ["max_iter"]))
        max_iter : int, default=200
            Maximum number of epochs (passes over the data).
    """
    signature = inspect.signature(estimator_class.__init__)
    overrides = overrides or {}
    entries = []
    for name in names:
        kind, text = overrides.get(name, PARAMETERS.get(name, (None, None)))
        default = _default_repr(signature.parameters[name].default)
        lines = [f"    {name} : {kind}, default={default}"]
        lines += [f"        {line}" for line in textwrap.wrap(text, 72)]
        entries.append("\n".join(lines))
    return "\n".join(entries)


def document(estimator_class, names, overrides=None):
    """Fill the ``{parameters}`` slot of ``estimator_class``'s docstring."""
    estimator_class.__doc__ = estimator_class.__doc__.replace(
        "{parameters}", parameters_doc(estimator_class, names, overrides).lstrip()
    )
    return estimator_class


__all__ = ["BEST_LOSS_DOC", "PARAMETERS", "document", "parameters_doc"]
