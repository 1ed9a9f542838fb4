r"""
=======================================
Logistic regression by gradient descent
=======================================

The perceptron's error is discrete: a point is right or wrong. The notes
(一.4-13) replace it by a *continuous* error, so that gradient descent can
follow its slope:

1. swap the step function for the smooth **sigmoid**
   :math:`\sigma(x) = 1 / (1 + e^{-x})`, so the prediction
   :math:`\hat{y} = \sigma(Wx + b)` is a probability;
2. measure the model by the **cross-entropy**
   :math:`E = -\frac{1}{m}\sum_i y_i \ln \hat{y}_i + (1 - y_i)\ln(1 - \hat{y}_i)`;
3. step against its **gradient**, which for one point is
   :math:`\nabla E = -(y - \hat{y})\,(x_1, \dots, x_n, 1)`.

:class:`~skdeep.LogisticGD` is this recipe (with the softmax and the
multi-class cross-entropy for more than two classes). This example takes the
steps one at a time.
"""

# %%
# From the step function to the sigmoid
# -------------------------------------
# The sigmoid is a smoothed step: its output changes continuously with its
# input, and its derivative has the tidy form
# :math:`\sigma'(x) = \sigma(x)(1 - \sigma(x))` (notes 一.12).
import matplotlib.pyplot as plt
import numpy as np

from skdeep.nn.activations import sigmoid, softmax, step

x = np.linspace(-6, 6, 400)
fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
ax.plot(x, step(x), label="step (perceptron)")
ax.plot(x, sigmoid(x), label=r"sigmoid $\sigma(x)$")
derivative = sigmoid(x) * (1 - sigmoid(x))
ax.plot(x, derivative, "--", label=r"$\sigma'(x) = \sigma(1-\sigma)$")
ax.set_xlabel("x = Wx + b")
ax.set_ylabel("activation")
ax.legend()
ax.set_title("The sigmoid is a smooth step")
plt.show()

# %%
# The softmax, without overflow
# -----------------------------
# With several classes, the softmax turns one score per class into
# probabilities, :math:`e^{a_k} / \sum_i e^{a_i}`. The notes warn that the
# exponentials overflow. Subtracting the largest score first changes nothing
# mathematically and keeps every exponential at most 1, which is what
# :func:`skdeep.nn.activations.softmax` does.
scores = np.array([[1000.0, 999.0, 990.0]])
with np.errstate(over="ignore", invalid="ignore"):
    naive = np.exp(scores) / np.exp(scores).sum()
print("naive softmax: ", naive)
print("stable softmax:", softmax(scores))

# %%
# Cross-entropy: the error of a probabilistic model
# -------------------------------------------------
# The notes compare two models on the same four points by the probability
# each gives to what really happened. The better model gives the events high
# probabilities, so the sum of :math:`-\ln p` -- the cross-entropy -- is low.
model_a = np.array([0.6, 0.2, 0.1, 0.7])
model_b = np.array([0.7, 0.9, 0.9, 0.6])
# The notes quote about 4.8 and 1.2.
print(f"model A: cross-entropy = {-np.log(model_a).sum():.2f}")
print(f"model B: cross-entropy = {-np.log(model_b).sum():.2f}  <- the better model")

# %%
# One gradient-descent step, by hand
# ----------------------------------
# The gradient :math:`-(y - \hat{y})(x, 1)` is the point's coordinates times
# how wrong the prediction is: a well-classified point barely moves the line,
# a badly misclassified one moves it a lot. With ``batch_size=None``,
# :class:`~skdeep.LogisticGD` takes one step per epoch along the mean of these
# gradients. We let it run one epoch, compute the next step by hand, and
# compare with the estimator's second epoch.
import warnings

from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning

from skdeep import LogisticGD

X, y = make_blobs(n_samples=100, centers=2, cluster_std=1.5, random_state=0)
warnings.filterwarnings("ignore", category=ConvergenceWarning)  # 1-epoch fits

model = LogisticGD(learning_rate=0.1, max_iter=1, warm_start=True, random_state=0)
model.fit(X, y)
W, b = model.coef_.ravel().copy(), model.intercept_[0]

y_hat = sigmoid(X @ W + b)
gradient = np.mean(-(y - y_hat)[:, None] * np.c_[X, np.ones(len(X))], axis=0)
by_hand = np.r_[W, b] - 0.1 * gradient

model.fit(X, y)  # warm start: one more epoch from W, b
print("by hand:   ", by_hand)
print("LogisticGD:", np.r_[model.coef_.ravel(), model.intercept_])

# %%
# Training until the error stops falling
# --------------------------------------
# Repeating the step, epoch after epoch, lowers the cross-entropy
# (``loss_curve_``) until it stops improving by more than ``tol``. The shading
# is the predicted probability of class 1; the black line, where it is 0.5,
# is the line ``Wx + b = 0``.
from skdeep.plotting import BoundaryDisplay

model = LogisticGD(learning_rate=0.1, max_iter=500, random_state=0).fit(X, y)
print(f"{model.n_iter_} epochs, training accuracy {model.score(X, y):.2f}")

fig, (ax_loss, ax_boundary) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
ax_loss.plot(np.arange(1, model.n_iter_ + 1), model.loss_curve_)
ax_loss.set_xlabel("epoch")
ax_loss.set_ylabel("cross-entropy")
ax_loss.set_title("Gradient descent lowers the error")
BoundaryDisplay.from_estimator(model, X, y, ax=ax_boundary)
ax_boundary.set_title("Predicted probability of class 1")
plt.show()

# %%
# Perceptron against logistic regression
# --------------------------------------
# The two algorithms differ in what :math:`\hat{y}` can be (notes 一.13): 0 or 1
# for the perceptron, any probability for logistic regression. On overlapping
# classes the perceptron never settles, while gradient descent on the
# continuous error converges to the line that makes the data most likely --
# and reports how sure it is of each point.
from skdeep import PerceptronClassifier

X, y = make_blobs(n_samples=120, centers=2, cluster_std=2.0, random_state=0)
perceptron = PerceptronClassifier(learning_rate=0.1, max_iter=50, random_state=0)
logistic = LogisticGD(learning_rate=0.1, max_iter=500, random_state=0)

fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
for ax, clf, method in zip(axes, [perceptron, logistic], ["predict", "predict_proba"]):
    clf.fit(X, y)
    BoundaryDisplay.from_estimator(clf, X, y, response_method=method, ax=ax)
    ax.set_title(f"{type(clf).__name__}: accuracy {clf.score(X, y):.2f}")
plt.show()
