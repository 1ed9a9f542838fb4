"""
======================================================
Transfer learning: the notes' four cases on the digits
======================================================

A network trained on one task can start another (notes 三.10). How much of it
to reuse, and whether to keep its weights fixed, depends on two things: how
much labelled data the new task has, and how much its images resemble the
original ones. :func:`~skdeep.convnet.transfer_strategy` turns the notes'
table into :class:`~skdeep.ConvNetClassifier` parameters:

============  ============================  ==================================
new data      similar                       different
============  ============================  ==================================
small         1. keep all but the output    2. keep the first conv block,
              layer, frozen                 frozen
large         3. keep all but the output    4. as 3 (or train from scratch)
              layer, fine-tune everything
============  ============================  ==================================

Here the original network learns the ten digits from one half of
scikit-learn's 8x8 digits. The new task is to tell digits 5-9 apart in the
other half, from 20 ("small") or 400 ("large") labelled images: as they are
("similar"), or as negative, transposed images ("different"). Last, a grid
search picks how many layers to keep and whether to freeze them, by
cross-validation.
"""

# %%
# The original network
# --------------------
# A small CNN learns the ten digits from half of the data set.
import warnings

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, train_test_split

from skdeep import ConvNetClassifier
from skdeep.convnet import transfer_strategy
from skdeep.layers import Conv2D, Dense, Flatten, MaxPooling2D

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X = (X / 16).reshape(-1, 8, 8, 1)  # 8x8 grey images, pixels in [0, 1]
X_old, X_new, y_old, y_new = train_test_split(
    X, y, test_size=0.5, stratify=y, random_state=0
)


def make_layers():
    return [
        Conv2D(16, 3, padding="same", activation="relu"),
        MaxPooling2D(2),
        Conv2D(32, 3, padding="same", activation="relu"),
        MaxPooling2D(2),
        Flatten(),
        Dense(64, activation="relu"),
    ]


pretrained = ConvNetClassifier(
    make_layers(), optimizer="adam", max_iter=10, random_state=0
).fit(X_old, y_old)
print(pretrained.summary())

# %%
# The new tasks
# -------------
# Digits 5-9 from the other half: as they are (similar), or negated and
# transposed (different: the strokes are now dark on a light background and
# run the other way, so the later, task-specific features no longer fit).
target = y_new >= 5
X_similar, y_target = X_new[target], y_new[target]
X_different = 1.0 - X_similar.transpose(0, 2, 1, 3)

fig, axes = plt.subplots(2, 8, figsize=(8, 2.3))
for i in range(8):
    axes[0, i].imshow(X_similar[i, :, :, 0], cmap="gray_r")
    axes[1, i].imshow(X_different[i, :, :, 0], cmap="gray_r")
for ax in axes.ravel():
    ax.set_axis_off()
axes[0, 0].set_title("similar", loc="left", fontsize=9)
axes[1, 0].set_title("different", loc="left", fontsize=9)
fig.tight_layout()

# %%
# The four cases
# --------------
# Each case is trained twice on the same labelled images: from the pretrained
# network with the strategy of the table, and from scratch with the same
# layers. The test images are all the remaining digits 5-9.
# :func:`~skdeep.convnet.transfer_strategy` passes the pretrained network as
# ``FrozenEstimator(pretrained)``, so these models can also be cloned,
# cross-validated and searched (see the last section).
sizes = {"small": 20, "large": 400}
rows = []
for data_name, X_task in [("similar", X_similar), ("different", X_different)]:
    for size_name, n_labels in sizes.items():
        X_train, X_test, y_train, y_test = train_test_split(
            X_task, y_target, train_size=n_labels, stratify=y_target, random_state=0
        )
        # Few images make few steps per epoch: a larger step size for them.
        params = dict(
            optimizer="adam",
            learning_rate=0.01 if size_name == "small" else 1e-3,
            max_iter=60 if size_name == "small" else 10,
            random_state=0,
        )
        strategy = transfer_strategy(
            pretrained, small_data=size_name == "small", similar=data_name == "similar"
        )
        transfer = ConvNetClassifier(**strategy, **params).fit(X_train, y_train)
        scratch = ConvNetClassifier(make_layers(), **params).fit(X_train, y_train)
        rows.append(
            {
                "data": data_name,
                "labels": n_labels,
                "kept layers": strategy["keep_layers"],
                "frozen": strategy["freeze"],
                "transfer": transfer.score(X_test, y_test),
                "from scratch": scratch.score(X_test, y_test),
            }
        )

results = pd.DataFrame(rows)
print(results.round(3).to_string(index=False))

# %%
# With 20 labels, reusing the frozen network beats learning from scratch by a
# wide margin (cases 1 and 2); for the different images only its first block
# (edges, strokes) is kept. With 400 labels, a network trained from scratch
# catches up: fine-tuning the pretrained weights (case 3) is as good, and on
# the different images (case 4) training from scratch can even win -- the
# notes' alternative for that case.
ax = results.set_index(["data", "labels"])[["transfer", "from scratch"]].plot.bar(
    rot=0, figsize=(7, 3.5)
)
ax.set_ylabel("test accuracy")
ax.set_ylim(0, 1)
ax.set_title("Digits 5-9 of new writers, from a network pretrained on others")
ax.legend(loc="lower right")
plt.tight_layout()

# %%
# Choosing the strategy by cross-validation
# -----------------------------------------
# The table is a rule of thumb; with enough labels, cross-validation can
# choose instead. Cross-validation and searches work on copies made by
# :func:`~sklearn.base.clone`, which would replace a fitted network by an
# unfitted one: wrapped in :class:`~sklearn.frozen.FrozenEstimator`, the
# pretrained network is kept as it is (and never modified: its layers are
# copied). Here the grid tries keeping the first conv block, both blocks, or
# everything up to the output layer, frozen or fine-tuned, on 400 different
# images.
X_train, X_test, y_train, y_test = train_test_split(
    X_different, y_target, train_size=400, stratify=y_target, random_state=0
)
n_layers = len(pretrained.network_.layers)
search = GridSearchCV(
    ConvNetClassifier(
        pretrained=FrozenEstimator(pretrained),
        optimizer="adam",
        max_iter=10,
        random_state=0,
    ),
    {"keep_layers": [2, 4, n_layers - 1], "freeze": [True, False]},
    cv=3,
).fit(X_train, y_train)
cv_results = pd.DataFrame(search.cv_results_)[
    ["param_keep_layers", "param_freeze", "mean_test_score", "rank_test_score"]
]
print(cv_results.round(3).to_string(index=False))
print("best:", search.best_params_)
print(f"test accuracy of the best: {search.score(X_test, y_test):.3f}")

# %%
# On these different images, frozen late layers carry little over: the more
# frozen layers are kept, the lower the score, as the notes' case 2 says.
# Fine-tuned, the pretrained weights are a good start whatever is kept (case
# 4). The best model is refitted on all 400 images: ``best_estimator_`` is an
# ordinary fitted :class:`~skdeep.ConvNetClassifier`, whose summary shows the
# layers it reused and whether they trained. The pretrained network itself is
# unchanged.
print(search.best_estimator_.summary())
plt.show()
