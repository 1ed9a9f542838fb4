r"""
=========================
Neural-network regression
=========================

Everything so far classified. To predict a number instead, the notes (二.11)
make two changes to the network: drop the final sigmoid, so the output is the
weighted sum of the last hidden layer, and train on the squared error
:math:`(y - \hat{y})^2` instead of the cross-entropy. Backpropagation and the
optimizers stay the same. :class:`~skdeep.MLPNetRegressor` is that network.
"""

# %%
# A curve no line can follow
# --------------------------
# Noisy samples of a wave. A linear model fits the best straight line; the
# network's ReLU hidden units bend its output into a piecewise-linear curve,
# and tanh units into a smooth one.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression

from skdeep import MLPNetRegressor

rng = np.random.default_rng(0)
X = rng.uniform(-3, 3, size=(200, 1))
y = 2 * np.sin(X[:, 0]) + 0.3 * X[:, 0] + rng.normal(scale=0.3, size=200)

models = {
    "linear regression": LinearRegression(),
    "MLPNetRegressor, relu": MLPNetRegressor(
        hidden_layer_sizes=(64, 64), learning_rate=0.01, max_iter=300, random_state=0
    ),
    "MLPNetRegressor, tanh": MLPNetRegressor(
        hidden_layer_sizes=(64, 64),
        activation="tanh",
        learning_rate=0.01,
        max_iter=300,
        random_state=0,
    ),
}
X_plot = np.linspace(-3.3, 3.3, 300)[:, None]
fig, (ax_fit, ax_loss) = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
ax_fit.scatter(X[:, 0], y, s=10, color="0.6", label="training data")
for name, model in models.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    ax_fit.plot(
        X_plot[:, 0],
        model.predict(X_plot),
        linewidth=2,
        label=f"{name}: R² {model.score(X, y):.2f}",
    )
    if hasattr(model, "loss_curve_"):
        ax_loss.plot(np.arange(1, model.n_iter_ + 1), model.loss_curve_, label=name)
ax_fit.set_xlabel("x")
ax_fit.set_ylabel("y")
ax_fit.set_title("Fitted curves")
ax_fit.legend(fontsize=8)
ax_loss.set_yscale("log")
ax_loss.set_xlabel("epoch")
ax_loss.set_ylabel(r"training loss $\frac{1}{2}(y - \hat{y})^2$")
ax_loss.set_title("Squared error per epoch")
ax_loss.legend(fontsize=8)
plt.show()

# %%
# The output layer of the regressor is a single linear unit: ``summary()``
# shows it, and ``out_activation_`` names the identity.
relu_net = models["MLPNetRegressor, relu"]
print(relu_net.summary())
print("output activation:", relu_net.out_activation_)

# %%
# Real data: diabetes progression
# -------------------------------
# scikit-learn's diabetes data: ten measurements of 442 patients and a
# measure of disease progression one year later. Gradient descent works best
# when inputs *and* target are on a unit scale, so the features go through a
# :class:`~sklearn.preprocessing.StandardScaler` and the target through a
# :class:`~sklearn.compose.TransformedTargetRegressor`. Early stopping holds out
# 10% of each training fold; ``alpha`` adds weight decay.
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

X, y = load_diabetes(return_X_y=True)
network = TransformedTargetRegressor(
    make_pipeline(
        StandardScaler(),
        MLPNetRegressor(
            hidden_layer_sizes=(32,),
            learning_rate=0.003,
            alpha=0.1,
            early_stopping=True,
            n_iter_no_change=20,
            max_iter=300,
            random_state=0,
        ),
    ),
    transformer=StandardScaler(),
)
for name, model in [("linear regression", LinearRegression()), ("network", network)]:
    scores = cross_val_score(model, X, y, cv=5)
    print(f"{name:>17}: R² = {scores.mean():.3f} ± {scores.std():.3f}")

# %%
# The network only matches the linear model: on 442 patients, with a target
# that depends almost linearly on the measurements, there is nothing for the
# hidden layer to add -- a useful reminder to compare with a simple baseline.
# The training history shows early stopping at work; for a regressor the
# validation score is the R² of the held-out data.
from skdeep.plotting import TrainingHistoryDisplay

network.fit(X, y)
TrainingHistoryDisplay.from_estimator(network.regressor_, name="MLPNetRegressor")
plt.show()
