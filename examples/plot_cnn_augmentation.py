"""
========================================================================
Convolutional networks: filters, feature maps, augmentation, checkpoints
========================================================================

Chapter 三 of the notes builds image classifiers from two new layers:
*convolution* layers, whose small filters slide over the image and respond to
local patterns (三.2-6), and *pooling* layers, which shrink the feature maps
(三.7). It then makes them robust with *data augmentation* -- training on
randomly shifted, rotated, zoomed or flipped copies of the images -- and keeps
the weights of the best epoch with Keras' ``ModelCheckpoint`` (三.9).

This example does all of it with :class:`~skdeep.ConvNetClassifier` on
scikit-learn's 8x8 handwritten digits.
"""

# %%
# Shapes and parameter counts
# ---------------------------
# The notes' formulas (三.6): a convolution layer of ``K`` filters of size
# ``F x F`` over an input of depth ``D_in`` has ``K * F * F * D_in + K``
# parameters, and outputs ``ceil(H / S)`` rows with 'same' padding,
# ``ceil((H - F + 1) / S)`` with 'valid'. The notes' first example --
# 16 filters of 2x2, stride 2, on 200x200 grey images -- gives 100x100x16
# feature maps and 16 * 2 * 2 * 1 + 16 = 80 parameters. ``summary()`` works
# before fitting (the output layer appears once the classes are known):
import warnings

import matplotlib.pyplot as plt

from skdeep import ConvNetClassifier
from skdeep.layers import Conv2D, Dense, Flatten, MaxPooling2D

notes_layer = ConvNetClassifier(
    [Conv2D(filters=16, kernel_size=2, strides=2, padding="valid", activation="relu")],
    input_shape=(200, 200, 1),
)
print(notes_layer.summary())

# %%
# The digits as images
# --------------------
# Each digit is an 8x8 grey image; :class:`~skdeep.ConvNetClassifier` takes
# images as ``(n_samples, height, width, channels)`` arrays, as Keras does.
# We keep 30% of them for testing, and make a second test set in which every
# image is moved a little: shifted by up to one pixel in each direction,
# rotated by up to 15 degrees and zoomed by up to 10% -- the same digits,
# written a little off-centre, slanted, larger or smaller.
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skdeep.augmentation import ImageAugmenter

X, y = load_digits(return_X_y=True)
X = (X / 16).reshape(-1, 8, 8, 1)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
mover = ImageAugmenter(
    width_shift_range=1,
    height_shift_range=1,
    rotation_range=15,
    zoom_range=0.1,
    random_state=1,
)
X_test_moved = mover.augment(X_test)

# %%
# Data augmentation
# -----------------
# :class:`~skdeep.augmentation.ImageAugmenter` follows Keras'
# ``ImageDataGenerator``, with the transformations the notes list:
#
# * ``width_shift_range`` and ``height_shift_range`` shift each image at random
#   (an integer is a number of pixels, a float below 1 a fraction of the size);
# * ``rotation_range`` turns it about its centre by an angle drawn uniformly
#   between plus and minus that many degrees;
# * ``zoom_range=0.1`` scales it by factors drawn in [0.9, 1.1], independently
#   along the width and the height; as in Keras, a factor below 1 magnifies;
# * ``horizontal_flip`` mirrors half of the images.
#
# Pixels brought in from outside the image repeat its edge, as Keras'
# ``fill_mode='nearest'``. We use the same ranges as for the moved test set,
# and do *not* flip: a mirrored cat is still a cat, but a mirrored digit is not
# always the same digit. :class:`~skdeep.plotting.AugmentationDisplay` shows
# what the network will see, each copy titled with the rotation (degrees,
# counter-clockwise), the zoom factors (width x height) and the shift (pixels
# right, down) drawn for it; each training batch gets fresh random ones.
from skdeep.plotting import AugmentationDisplay

augmenter = ImageAugmenter(
    width_shift_range=1,
    height_shift_range=1,
    rotation_range=15,
    zoom_range=0.1,
    random_state=0,
)
AugmentationDisplay.from_augmenter(augmenter, X_train, n_images=8, n_rows=2)
plt.show()

# %%
# The network
# -----------
# The notes' recipe (三.8): convolution layers with ReLU, each followed by max
# pooling, then a flattening layer and dense layers. The final softmax layer,
# one unit per class, is added by the estimator. (The notes' model also has
# ``Dropout`` layers; here augmentation is the only regularizer, to see what
# it does on its own.) ``early_stopping`` holds out 10% of the training
# images and stops after ``n_iter_no_change`` epochs without a better
# validation loss; ``restore_best_weights`` (on by default) plays the role of
# ``ModelCheckpoint(save_best_only=True)``: the weights of the best epoch are
# the ones kept, in memory rather than in a file.


def make_network(augmentation=None):
    return ConvNetClassifier(
        [
            Conv2D(8, 3, padding="same", activation="relu"),
            MaxPooling2D(2),
            Conv2D(16, 3, padding="same", activation="relu"),
            MaxPooling2D(2),
            Flatten(),
            Dense(32, activation="relu"),
        ],
        optimizer="adam",
        learning_rate=1e-2,
        max_iter=60,
        early_stopping=True,
        n_iter_no_change=10,
        augmentation=augmentation,
        random_state=0,
    )


from sklearn.exceptions import ConvergenceWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # 60 epochs at most
    plain = make_network().fit(X_train, y_train)
    augmented = make_network(augmenter).fit(X_train, y_train)
print(augmented.summary())

# %%
# Augmentation buys robustness
# ----------------------------
# Both networks recognise the test digits as they come. On the moved test
# digits the network trained without augmentation loses much of its accuracy;
# the one that saw moved copies during training keeps most of it.
for name, model in [("no augmentation", plain), ("augmentation", augmented)]:
    print(
        f"{name:>16}: test accuracy {model.score(X_test, y_test):.3f}, "
        f"moved test {model.score(X_test_moved, y_test):.3f}"
    )

# %%
# The training histories
# ----------------------
# The loss per epoch on the training batches and on the held-out validation
# images, with the best epoch -- the one whose weights were restored -- marked.
# Augmented batches are harder to fit, so the network trained on them keeps a
# higher training loss; its validation loss stopped improving earlier here,
# and training ended ``n_iter_no_change`` epochs later with the best weights
# put back.
from skdeep.plotting import TrainingHistoryDisplay

fig, axes = plt.subplots(2, 2, figsize=(10, 6.5), layout="constrained")
for row, (name, model) in zip(
    axes, [("no augmentation", plain), ("augmentation", augmented)]
):
    TrainingHistoryDisplay.from_estimator(model, ax=row)
    row[0].set_title(name)
    row[1].set_title(name)
fig.suptitle("ConvNetClassifier on the digits")
plt.show()

# %%
# What the filters learnt
# -----------------------
# The notes (三.3): "when we use a CNN we often visualise the filters, to see
# what patterns they detect". Each 3x3 filter of the first layer is a small
# template; red weights respond to bright pixels, blue to dark ones, so most
# filters are edge or stroke detectors.
from skdeep.plotting import ConvFiltersDisplay, FeatureMapsDisplay

ConvFiltersDisplay.from_estimator(augmented, layer=0)
plt.show()

# %%
# Feature maps
# ------------
# Sliding each filter over one image gives one *feature map* (or activation
# map, 三.3): bright where the image has the filter's pattern. The second
# convolution layer works on the pooled maps of the first, at 4x4.
FeatureMapsDisplay.from_estimator(augmented, X_test[0], layer=0)
FeatureMapsDisplay.from_estimator(augmented, X_test[0], layer=1)
plt.show()
