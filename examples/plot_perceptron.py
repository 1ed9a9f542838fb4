r"""
==========================================
The perceptron: a line that learns to move
==========================================

The first chapter of the notes (一.2-3) starts with the simplest neural
network: the *perceptron*. It draws a line ``Wx + b = 0`` through the plane
and predicts

.. math::

    \hat{y} = \begin{cases} 1 & Wx + b \geq 0 \\ 0 & Wx + b < 0 \end{cases}

-- the *step function* as its activation. Training starts from random weights
and visits the points one by one. A misclassified point pulls the line towards
itself: a point predicted 0 but labelled 1 adds ``α x`` to the weights and
``α`` to the bias, a point predicted 1 but labelled 0 subtracts them.

:class:`~skdeep.PerceptronClassifier` implements exactly this rule. This
example watches the line move, epoch after epoch, and shows where the rule
stops working.
"""

# %%
# Two clouds of points
# --------------------
# Two well separated blobs in the plane: a line can split them.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_blobs

from skdeep import PerceptronClassifier
from skdeep.plotting import BoundaryDisplay

X, y = make_blobs(n_samples=80, centers=2, cluster_std=1.0, random_state=2)

# %%
# Watching the line move
# ----------------------
# :meth:`~skdeep.PerceptronClassifier.partial_fit` runs *one epoch* of the
# update rule (one pass over the points). Calling it repeatedly lets us draw
# the line after each epoch. The shaded regions are the two predictions of the
# step function; the black line is ``w1 x1 + w2 x2 + b = 0``.
perceptron = PerceptronClassifier(learning_rate=0.1, random_state=0)
fig, axes = plt.subplots(1, 4, figsize=(13, 3.4), layout="constrained")
panels = iter(axes)
for epoch in range(1, 100):
    perceptron.partial_fit(X, y, classes=[0, 1])
    errors = perceptron.errors_[-1]
    if epoch in (1, 2, 4) or errors == 0:
        ax = next(panels)
        BoundaryDisplay.from_estimator(
            perceptron, X, y, response_method="predict", ax=ax
        )
        ax.set_title(f"epoch {epoch}: {errors} mistakes met")
    if errors == 0:  # an epoch without mistakes: the points are separated
        break
for ax in axes[1:]:
    if ax.get_legend() is not None:
        ax.get_legend().remove()
for ax in panels:  # separated before the fourth panel
    ax.set_visible(False)
fig.suptitle("The perceptron rule moves the line towards misclassified points")
plt.show()

# %%
# Counting the mistakes
# ---------------------
# :meth:`~skdeep.PerceptronClassifier.fit` repeats epochs until one goes by
# without a single misclassified point -- the data are then separated -- or
# until ``max_iter`` epochs. ``errors_`` records the mistakes met in each epoch.
# (This fresh run visits the points in another random order than the epochs
# above, so it needs a different number of epochs.)
perceptron = PerceptronClassifier(learning_rate=0.1, random_state=0).fit(X, y)
print(f"separated after {perceptron.n_iter_} epochs")
print(f"training accuracy: {perceptron.score(X, y):.2f}")
print(f"weights W = {perceptron.coef_.ravel()}, bias b = {perceptron.intercept_[0]}")

fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
epochs = np.arange(1, perceptron.n_iter_ + 1)
ax.bar(epochs, perceptron.errors_, color="C0")
ax.set_xlabel("epoch")
ax.set_ylabel("misclassified points")
ax.set_title("Training stops after an epoch with no mistake")
plt.show()

# %%
# When no line can separate the classes
# -------------------------------------
# The rule only ever reacts to mistakes. When the clouds overlap there is
# always a mistake left, so the line keeps jumping back and forth and the
# error count never settles. Its error is *discrete* -- right or wrong -- and
# gives no hint of *how* wrong a point is. The notes' answer (一.4-5) is a
# continuous error and the smooth sigmoid: logistic regression, the next
# example.
import warnings

from sklearn.exceptions import ConvergenceWarning

X_overlap, y_overlap = make_blobs(
    n_samples=80, centers=2, cluster_std=1.6, random_state=0
)
with warnings.catch_warnings():
    # Expected: the perceptron cannot separate these points.
    warnings.simplefilter("ignore", ConvergenceWarning)
    stuck = PerceptronClassifier(learning_rate=0.1, max_iter=60, random_state=0).fit(
        X_overlap, y_overlap
    )

fig, (ax_line, ax_errors) = plt.subplots(1, 2, figsize=(11, 3.6), layout="constrained")
BoundaryDisplay.from_estimator(
    stuck, X_overlap, y_overlap, response_method="predict", ax=ax_line
)
ax_line.set_title("overlapping classes: the last line of 60 epochs")
ax_errors.plot(np.arange(1, stuck.n_iter_ + 1), stuck.errors_, "o-", markersize=3)
ax_errors.set_xlabel("epoch")
ax_errors.set_ylabel("misclassified points")
ax_errors.set_ylim(bottom=0)
ax_errors.set_title("the error count never reaches zero")
plt.show()
