r"""
=========================================
Vanishing gradients: sigmoid against ReLU
=========================================

Backpropagation computes the gradient of the loss with respect to a weight by
the chain rule: a product of one derivative per layer between that weight and
the output (notes 二.3). The sigmoid's derivative
:math:`\sigma'(x) = \sigma(x)(1 - \sigma(x))` is at most 0.25, and close to 0
away from the origin. Multiply several of these together and the gradient
reaching the first layers *vanishes* (notes 二.7): those layers hardly learn.
The rectified linear unit :math:`\max(0, x)` has derivative 1 wherever it is
active, so its gradients keep their size through the layers.

This example measures the gradient of every layer of a deep network with
skdeep's numpy engine, then trains the same networks with
:class:`~skdeep.MLPNetClassifier`.
"""

# %%
# Gradients layer by layer
# ------------------------
# We build networks of eight hidden ``Dense`` layers of 32 units with
# :class:`skdeep.nn.network.Sequential`, run one forward and one backward pass
# over the digits at their random initial weights, and read the gradient each
# ``Dense`` layer stores in ``layer.grads["W"]``. The norms are averaged over
# five random initialisations.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.preprocessing import LabelBinarizer, StandardScaler

from skdeep.layers import Dense
from skdeep.nn.losses import categorical_cross_entropy
from skdeep.nn.network import Sequential

X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X).astype(np.float32)
Y = LabelBinarizer().fit_transform(y).astype(np.float32)  # one-hot targets

depth, width = 8, 32
activations = ["sigmoid", "tanh", "relu"]


def gradient_norms(activation, seed):
    """Norm of the loss gradient for each Dense layer's weights, input first."""
    layers = [Dense(width, activation=activation) for _ in range(depth)]
    layers.append(Dense(10))  # the output layer: logits for the softmax
    network = Sequential(layers)
    network.build(X.shape[1:], np.random.default_rng(seed))
    logits = network.forward(X, training=True)
    loss, d_logits = categorical_cross_entropy(logits, Y)
    network.backward(d_logits)
    return [np.linalg.norm(layer.grads["W"]) for layer in layers]


norms = {
    activation: np.mean([gradient_norms(activation, seed) for seed in range(5)], 0)
    for activation in activations
}

fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
layer_numbers = np.arange(1, depth + 2)
for activation, values in norms.items():
    ax.plot(layer_numbers, values, "o-", label=activation)
ax.set_yscale("log")
ax.set_xticks(layer_numbers, [*map(str, layer_numbers[:-1]), "output"])
ax.set_xlabel("Dense layer (1 = next to the input)")
ax.set_ylabel("norm of the weight gradient")
ax.set_title("At initialisation: the sigmoid's gradients vanish towards the input")
ax.legend()
plt.show()

# %%
# The sigmoid network's gradient shrinks by a factor of about four at every
# layer -- the 0.25 bound of :math:`\sigma'` -- so its first layer receives a
# gradient tens of thousands of times smaller than the output layer's.
for activation, values in norms.items():
    ratio = values[-2] / values[0]
    print(f"{activation:>8}: last hidden / first hidden layer gradient = {ratio:,.3g}")

# %%
# What it does to training
# ------------------------
# Plain stochastic gradient descent moves each weight in proportion to its
# gradient. The deep sigmoid network therefore sits at the loss of a random
# guess, :math:`\ln 10 \approx 2.3`, for all forty epochs, while the ReLU and
# tanh networks learn.
import warnings

from sklearn.exceptions import ConvergenceWarning

from skdeep import MLPNetClassifier

fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
for activation in activations:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 40 epochs on purpose
        model = MLPNetClassifier(
            hidden_layer_sizes=(width,) * depth,
            activation=activation,
            optimizer="sgd",
            learning_rate=0.1,
            max_iter=40,
            n_iter_no_change=40,  # run all 40 epochs, even without progress
            random_state=0,
        ).fit(X, y)
    label = f"{activation}: training accuracy {model.score(X, y):.2f}"
    ax.plot(np.arange(1, model.n_iter_ + 1), model.loss_curve_, label=label)
ax.axhline(np.log(10), color="0.5", linestyle=":", label="random guess, ln 10")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.set_title(f"{depth} hidden layers of {width} units, plain SGD")
ax.legend()
plt.show()

# %%
# The fixes the notes point at are the ones used throughout skdeep: ReLU
# activations in the hidden layers (the default of
# :class:`~skdeep.MLPNetClassifier` and of Keras), and optimizers such as Adam
# or RMSProp that scale every weight's step by the size of its recent gradients
# (see :ref:`sphx_glr_auto_examples_plot_mlp_optimizers_regularization.py`).
