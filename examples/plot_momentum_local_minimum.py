r"""
====================================================
Local minima, random restarts, momentum and Nesterov
====================================================

Gradient descent walks downhill, so it stops in the first valley it reaches:
a *local minimum* may hold it away from the lowest point (notes 二.7). The
notes give two remedies (二.9):

- **random restarts**: start from several random points and keep the best;
- **momentum**: let the step be a decaying sum of the past steps -- the last
  one weighted 1, the one before :math:`\beta`, then :math:`\beta^2`, ... -- so
  that the descent builds up speed and can roll over a small hump.

Keras' SGD adds **Nesterov** momentum (二.10), which evaluates the correction
where the momentum is about to carry the weights, and so brakes earlier.

:class:`skdeep.optimizers.SGD` implements these updates on any numpy arrays:
``SGD(learning_rate, momentum, nesterov).step(params, grads)`` moves each array
of ``params`` in place. Here the "network" is a single weight ``w`` and the
loss a curve with two valleys, so that every step can be drawn.
"""

# %%
# A loss with a local minimum
# ---------------------------
# :math:`E(w) = w^4 - 4w^2 + w` has a shallow valley near :math:`w = 1.35` and
# a deeper one near :math:`w = -1.47`, separated by a hump at :math:`w = 0.13`.
import matplotlib.pyplot as plt
import numpy as np

from skdeep.optimizers import SGD


def loss(w):
    return w**4 - 4 * w**2 + w


def gradient(w):
    return 4 * w**3 - 8 * w + 1


def descend(optimizer, start, n_steps=150):
    """Run ``n_steps`` optimizer steps from ``start``; return the path of w."""
    w = np.array([start], dtype=float)  # the parameter, updated in place
    path = [w[0]]
    for _ in range(n_steps):
        optimizer.step([w], [gradient(w)])
        path.append(w[0])
    return np.array(path)


optimizers = {
    "SGD": SGD(learning_rate=0.01),
    "momentum (β=0.9)": SGD(learning_rate=0.01, momentum=0.9),
    "Nesterov (β=0.9)": SGD(learning_rate=0.01, momentum=0.9, nesterov=True),
}
paths = {name: descend(opt, start=2.3) for name, opt in optimizers.items()}

w_grid = np.linspace(-2.3, 2.4, 300)
fig, (ax_curve, ax_steps) = plt.subplots(1, 2, figsize=(12, 4.2), layout="constrained")
ax_curve.plot(w_grid, loss(w_grid), color="0.4", linewidth=1)
for (name, path), marker in zip(paths.items(), "os^"):
    ax_curve.plot(path, loss(path), marker, markersize=3, alpha=0.6, label=name)
    ax_steps.plot(path, label=name)
ax_curve.set_xlabel("weight w")
ax_curve.set_ylabel("loss E(w)")
ax_curve.set_title("Steps of each optimizer, starting at w = 2.3")
ax_curve.legend()
ax_steps.axhline(-1.473, color="0.6", linestyle=":", label="global minimum")
ax_steps.axhline(1.347, color="0.6", linestyle="--", label="local minimum")
ax_steps.set_xlabel("step")
ax_steps.set_ylabel("weight w")
ax_steps.set_title("w after each step")
ax_steps.legend(fontsize=8)
plt.show()

for name, path in paths.items():
    print(f"{name:>17}: ends at w = {path[-1]:+.3f}, loss {loss(path[-1]):+.3f}")

# %%
# Plain gradient descent settles in the nearest valley. With momentum the
# weight arrives at the local minimum with speed to spare, runs over the hump
# and settles in the deeper valley. Nesterov's look-ahead correction starts
# braking as soon as the slope ahead turns, which damps the overshoot -- here
# enough to keep it in the shallow valley.
#
# How much momentum is needed? We sweep :math:`\beta` and record where each
# method ends.
betas = np.linspace(0, 0.95, 20)
fig, ax = plt.subplots(figsize=(7, 3.4), layout="constrained")
for nesterov, marker in [(False, "o"), (True, "^")]:
    ends = [
        descend(SGD(learning_rate=0.01, momentum=b, nesterov=nesterov), 2.3)[-1]
        for b in betas
    ]
    ax.plot(betas, ends, marker + "-", label="Nesterov" if nesterov else "momentum")
ax.axhline(-1.473, color="0.6", linestyle=":")
ax.axhline(1.347, color="0.6", linestyle="--")
ax.set_xlabel(r"momentum $\beta$")
ax.set_ylabel("final w")
ax.set_title("Enough momentum carries the descent into the deeper valley")
ax.legend()
plt.show()

# %%
# Random restarts
# ---------------
# The other remedy: run plain gradient descent from many random starting
# points and keep the end point with the lowest loss. Each run still stops in
# the valley it starts above; the more restarts, the more likely one of them
# starts above the deep one. Network estimators do this with ``n_restarts``:
# they train from several initialisations and keep the network with the lowest
# (validation) loss.
rng = np.random.default_rng(0)
starts = rng.uniform(-2.2, 2.2, size=12)
ends = np.array([descend(SGD(learning_rate=0.01), s)[-1] for s in starts])
best = ends[np.argmin(loss(ends))]

fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
ax.plot(w_grid, loss(w_grid), color="0.4", linewidth=1)
ax.plot(starts, loss(starts), "o", color="C0", label="random starts")
ax.plot(ends, loss(ends), "x", color="C3", markersize=9, label="where SGD ends")
ax.plot(
    best,
    loss(best),
    "*",
    color="gold",
    markeredgecolor="k",
    markersize=16,
    label=f"best of {len(starts)}: w = {best:.2f}",
)
ax.set_xlabel("weight w")
ax.set_ylabel("loss E(w)")
ax.set_title("Random restarts: keep the lowest end point")
ax.legend()
plt.show()

# %%
# Momentum in a narrow valley
# ---------------------------
# Momentum also helps where there is no local minimum at all. In a long narrow
# valley, :math:`E(x, y) = \frac{1}{2}(0.05x^2 + y^2)`, the slope along the
# floor is gentle and the walls are steep. A learning rate small enough not to
# bounce between the walls makes plain descent creep along the floor. Momentum
# adds up the small, consistent pull along the valley and gathers speed, at
# the price of swinging across it; Nesterov's early braking damps the swings.
curvature = np.array([0.05, 1.0])
fig, ax = plt.subplots(figsize=(8, 3.6), layout="constrained")
xx, yy = np.meshgrid(np.linspace(-10, 3, 200), np.linspace(-2.5, 2.5, 100))
ax.contour(xx, yy, 0.5 * (0.05 * xx**2 + yy**2), levels=15, colors="0.8")
for (name, optimizer), marker in zip(
    {
        "SGD": SGD(learning_rate=0.3),
        "momentum (β=0.8)": SGD(learning_rate=0.3, momentum=0.8),
        "Nesterov (β=0.8)": SGD(learning_rate=0.3, momentum=0.8, nesterov=True),
    }.items(),
    "os^",
):
    point = np.array([-9.0, 2.0])
    path = [point.copy()]
    for _ in range(50):
        optimizer.step([point], [curvature * point])
        path.append(point.copy())
    path = np.array(path)
    ax.plot(path[:, 0], path[:, 1], marker + "-", markersize=3, label=name)
ax.plot(0, 0, "k*", markersize=12, label="minimum")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.set_title("50 steps in a narrow valley")
ax.legend(loc="lower right", fontsize=8)
plt.show()
