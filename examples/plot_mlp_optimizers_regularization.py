"""
====================================================================
Deep networks: layers, optimizers, regularization and early stopping
====================================================================

Chapter 二 of the notes stacks perceptrons into a *multilayer perceptron*
(二.1-3), trains it by backpropagation with several flavours of gradient
descent (二.8-10), and fights overfitting with weight decay, dropout (二.6) and
early stopping (二.5). :class:`~skdeep.MLPNetClassifier` has all of these as
parameters; this example tries each in turn.
"""

# %%
# Why several layers
# ------------------
# One perceptron draws one line. A hidden layer combines several lines, and the
# non-linear activations between the layers bend them into curves (二.1-2).
# On the two interleaved half-moons below, logistic regression can only cut
# straight; a network with two hidden layers follows the moons.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning

from skdeep import LogisticGD, MLPNetClassifier
from skdeep.plotting import BoundaryDisplay, TrainingHistoryDisplay

# Most fits below run a fixed number of epochs on purpose.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = make_moons(n_samples=200, noise=0.2, random_state=0)
linear = LogisticGD(random_state=0).fit(X, y)
mlp = MLPNetClassifier(
    hidden_layer_sizes=(32, 32), learning_rate=0.01, max_iter=300, random_state=0
).fit(X, y)

fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
for ax, model in zip(axes, [linear, mlp]):
    BoundaryDisplay.from_estimator(model, X, y, ax=ax)
    ax.set_title(f"{type(model).__name__}: accuracy {model.score(X, y):.2f}")
plt.show()

# %%
# Like Keras' ``model.summary()`` (二.4), ``summary()`` lists the layers, their
# output shapes (``None`` is the batch axis) and parameter counts: a ``Dense``
# layer of ``n`` inputs and ``u`` units has ``(n + 1) * u`` parameters.
print(mlp.summary())

# %%
# Optimizers
# ----------
# The notes list the optimizers Keras offers (二.10): plain **SGD**; SGD with
# **momentum**, which averages the previous steps to roll through flat regions
# and small bumps; **Nesterov** momentum, which corrects the step where the
# momentum is about to take it; **Adam**, which also scales each weight's step
# by a running average of its squared gradients; and **RMSProp**, which only
# does the scaling. We train the same network on the 8x8 digits with each and
# compare the training loss per epoch (``loss_curve_``).
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

settings = {
    "sgd": 0.05,
    "momentum": 0.05,
    "nesterov": 0.05,
    "adam": 1e-3,
    "rmsprop": 1e-3,
}
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
for optimizer, learning_rate in settings.items():
    model = MLPNetClassifier(
        hidden_layer_sizes=(64,),
        optimizer=optimizer,
        learning_rate=learning_rate,
        batch_size=64,
        max_iter=30,
        random_state=0,
    ).fit(X_train, y_train)
    test_score = model.score(X_test, y_test)
    label = f"{optimizer} (lr={learning_rate:g}): test {test_score:.3f}"
    ax.plot(np.arange(1, model.n_iter_ + 1), model.loss_curve_, label=label)
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss (cross-entropy)")
ax.set_title("The same network trained with each optimizer")
ax.legend()
plt.show()

# %%
# Batch against stochastic gradient descent
# -----------------------------------------
# Full-batch gradient descent (``batch_size=None``) computes the exact gradient
# over all the data and takes *one* step per epoch. Mini-batch stochastic
# gradient descent (二.8) estimates the gradient from a few samples at a time
# and takes many cheap, noisy steps per epoch -- with 16 samples per batch,
# about 84 steps for our 1347 training images -- so it gets much further in
# the same number of passes over the data.
fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
for batch_size in [None, 128, 16]:
    model = MLPNetClassifier(
        hidden_layer_sizes=(64,),
        optimizer="sgd",
        learning_rate=0.1,
        batch_size=batch_size,
        max_iter=30,
        random_state=0,
    ).fit(X_train, y_train)
    name = "full batch" if batch_size is None else f"batch_size={batch_size}"
    ax.plot(np.arange(1, model.n_iter_ + 1), model.loss_curve_, label=name)
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.set_title("Mini-batches: many small steps per epoch")
ax.legend()
plt.show()

# %%
# Regularization: weight decay and dropout
# ----------------------------------------
# A big network trained long on few points memorises them: it *overfits*,
# scoring perfectly on the training data and worse on new data. The notes'
# remedies (二.6):
#
# - **L2 weight decay** (``alpha``) adds :math:`\frac{1}{2}\lambda \|W\|^2` to
#   the loss, which keeps all the weights small;
# - **L1** (``l1``) adds :math:`\lambda \|W\|_1`, which drives many weights to
#   exactly zero;
# - **dropout** (``dropout``) switches off a random fraction of the hidden
#   units at every training step, so no unit can rely on another.
#
# We train on 80 noisy points and score on 1000 fresh ones.
X, y = make_moons(n_samples=80, noise=0.3, random_state=0)
X_new, y_new = make_moons(n_samples=1000, noise=0.3, random_state=1)

regularizations = {
    "no regularization": {},
    "L2: alpha=3e-3": {"alpha": 3e-3},
    "L1: l1=3e-3": {"l1": 3e-3},
    "dropout=0.5": {"dropout": 0.5},
}
fig, axes = plt.subplots(2, 2, figsize=(10, 8), layout="constrained")
for ax, (name, params) in zip(axes.ravel(), regularizations.items()):
    model = MLPNetClassifier(
        hidden_layer_sizes=(100, 100),
        learning_rate=0.01,
        batch_size=None,
        max_iter=400,
        random_state=0,
        **params,
    ).fit(X, y)
    BoundaryDisplay.from_estimator(model, X, y, ax=ax)
    train_score, new_score = model.score(X, y), model.score(X_new, y_new)
    ax.set_title(f"{name}\ntrain {train_score:.2f}, new data {new_score:.2f}")
plt.show()

# %%
# Early stopping
# --------------
# The notes' simplest remedy (二.5): keep some data aside for validation and
# stop training when the validation loss stops falling and starts rising,
# while the training loss keeps falling. With ``early_stopping=True`` the
# network holds out ``validation_fraction`` of the training data, stops after
# ``n_iter_no_change`` epochs without improvement, and restores the weights of
# its best epoch. ``history_`` records every epoch, and
# :class:`~skdeep.plotting.TrainingHistoryDisplay` draws it with the best
# epoch marked.
model = MLPNetClassifier(
    hidden_layer_sizes=(100, 100),
    learning_rate=0.01,
    batch_size=None,
    max_iter=400,
    early_stopping=True,
    validation_fraction=0.25,
    n_iter_no_change=30,
    random_state=0,
).fit(X, y)
print(model.history_.head())
print(f"stopped after {model.n_iter_} epochs")
print(f"accuracy on new data: {model.score(X_new, y_new):.2f}")
TrainingHistoryDisplay.from_estimator(model)
plt.show()
