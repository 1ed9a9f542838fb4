"""Original images above augmented copies of them (notes 三.9).

Separate from the filter and feature-map displays of
:mod:`skdeep.plotting._images` (whose image drawing it reuses) because it shows
the training images an :class:`~skdeep.augmentation.ImageAugmenter` makes, not
a fitted network.
"""

import numpy as np

from ._images import _show_image
from ._utils import final_estimator, import_pyplot


class AugmentationDisplay:
    """Original images above augmented copies of them (notes 三.9).

    Augmentation trains on randomly shifted, rotated, zoomed and flipped copies
    of the training images, so that the network learns that a moved, turned,
    magnified or mirrored object is the same object. The first row shows the
    originals, each further row one random augmented copy of every original,
    titled (by :meth:`from_augmenter`) with the transformation drawn for it.

    Use :meth:`from_augmenter` with an :class:`~skdeep.augmentation.ImageAugmenter`,
    or :meth:`from_estimator` with a ConvNet that has one. All parameters are
    stored as attributes.

    Parameters
    ----------
    images : ndarray of shape (n_images, height, width, channels)
        The original images.

    augmented : ndarray of shape (n_rows, n_images, height, width, channels)
        Augmented copies: row ``r`` holds one copy of every original.

    titles : array-like of str of shape (n_rows, n_images), default=None
        Title of each augmented panel; none when None. :meth:`from_augmenter`
        describes the transformation of each copy: ``rot +12°`` (degrees,
        counter-clockwise), ``zoom 0.90×1.10`` (Keras' factors along the width
        and the height; below 1 magnifies), ``shift +1,-0.5`` (pixels right and
        down) and ``flip`` (mirrored before the other transformations).

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes of shape (n_rows + 1, n_images)
        Originals in the first row, augmented copies below.

    figure_ : matplotlib Figure
        The figure.

    See Also
    --------
    skdeep.augmentation.ImageAugmenter : The random shifts, rotations, zooms
        and flips.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skdeep.augmentation import ImageAugmenter
    >>> from skdeep.plotting import AugmentationDisplay
    >>> images = np.random.default_rng(0).random((4, 8, 8, 1))
    >>> display = AugmentationDisplay(images, images[None, :, :, ::-1]).plot()
    >>> display.axes_.shape
    (2, 4)
    >>> augmenter = ImageAugmenter(rotation_range=20, zoom_range=0.1, random_state=0)
    >>> display = AugmentationDisplay.from_augmenter(augmenter, images, n_rows=1)
    >>> display.axes_[1, 0].get_title()
    'rot -5°  zoom 1.07×0.98'
    """

    def __init__(self, images, augmented, *, titles=None):
        self.images = images
        self.augmented = augmented
        self.titles = titles

    @classmethod
    def from_augmenter(
        cls, augmenter, X, *, n_images=8, n_rows=2, input_shape=None, ax=None
    ):
        """Augment the first images of ``X`` and draw them.

        Parameters
        ----------
        augmenter : ImageAugmenter
            The augmenter; its ``random_state`` fixes the copies drawn (through
            its ``augment`` method).

        X : array-like of shape (n_samples, height, width, channels)
            Images (``(n_samples, height, width)`` for one channel, or flat rows
            with ``input_shape``).

        n_images : int, default=8
            How many images (columns) to draw.

        n_rows : int, default=2
            How many augmented copies (rows) of each image.

        input_shape : tuple of int, default=None
            ``(height, width, channels)`` of flat rows.

        ax : array-like of matplotlib Axes, default=None
            A ``(n_rows + 1, n_images)`` grid of Axes; ``None`` creates a figure.

        Returns
        -------
        display : AugmentationDisplay
            The display, each copy titled with its transformation.
        """
        images = _as_images(X, input_shape)[:n_images]
        # Copy k of image i is row k * n_images + i of `augment`'s output; the
        # private twin of `augment` also returns what it drew, for the titles.
        copies, transforms = augmenter._augment(images, n_copies=n_rows)
        augmented = copies.reshape((n_rows, *images.shape))
        titles = np.reshape(_describe_transforms(transforms), (n_rows, len(images)))
        return cls(images, augmented, titles=titles).plot(ax=ax)

    @classmethod
    def from_estimator(cls, estimator, X, *, n_images=8, n_rows=2, ax=None):
        """Draw images augmented as a ConvNet's ``augmentation`` would.

        Parameters
        ----------
        estimator : estimator instance
            A :class:`~skdeep.ConvNetClassifier` (fitted or not) whose
            ``augmentation`` is set.

        X : array-like
            Images, in any form the estimator accepts.

        n_images : int, default=8
            How many images (columns) to draw.

        n_rows : int, default=2
            How many augmented copies (rows) of each image.

        ax : array-like of matplotlib Axes, default=None
            A ``(n_rows + 1, n_images)`` grid of Axes; ``None`` creates a figure.

        Returns
        -------
        display : AugmentationDisplay
            The display.
        """
        net = final_estimator(estimator)
        augmenter = getattr(net, "augmentation", None)
        if augmenter is None:
            raise ValueError(
                f"{type(net).__name__} has no `augmentation` to draw; set it to an "
                "ImageAugmenter."
            )
        input_shape = getattr(net, "input_shape_", None) or net.input_shape
        return cls.from_augmenter(
            augmenter,
            X,
            n_images=n_images,
            n_rows=n_rows,
            input_shape=input_shape,
            ax=ax,
        )

    def plot(self, ax=None):
        """Draw the originals in the first row and the copies below.

        Parameters
        ----------
        ax : array-like of matplotlib Axes, default=None
            A ``(n_rows + 1, n_images)`` grid of Axes; ``None`` creates a figure.

        Returns
        -------
        display : AugmentationDisplay
            ``self``, with ``axes_`` and ``figure_`` set.
        """
        plt = import_pyplot("AugmentationDisplay.plot")
        images = np.asarray(self.images)
        augmented = np.asarray(self.augmented)
        n_rows, n_images = augmented.shape[0] + 1, images.shape[0]
        titles = None if self.titles is None else np.asarray(self.titles, dtype=str)
        if titles is not None and titles.shape != augmented.shape[:2]:
            raise ValueError(
                f"`titles` must have shape (n_rows, n_images) = {augmented.shape[:2]}, "
                f"one per augmented image; received shape {titles.shape}."
            )
        if ax is None:
            # Two lines of titles above each augmented panel need room.
            panel_height = 1.15 if titles is None else 1.4
            fig, axes = plt.subplots(
                n_rows,
                n_images,
                figsize=(1.1 * n_images + 0.9, panel_height * n_rows + 0.5),
                squeeze=False,
                layout="constrained",
            )
        else:
            axes = np.asarray(ax, dtype=object).reshape(n_rows, n_images)
            fig = axes[0, 0].figure
        # One grey scale for all panels: a transformation must not change contrast.
        vmin, vmax = float(images.min()), float(images.max())
        for j in range(n_images):
            _show_image(axes[0, j], images[j], vmin=vmin, vmax=vmax)
            for r in range(1, n_rows):
                _show_image(axes[r, j], augmented[r - 1, j], vmin=vmin, vmax=vmax)
                if titles is not None:
                    axes[r, j].set_title(titles[r - 1, j], fontsize=6)
        axes[0, 0].set_ylabel("original", fontsize=9)
        for r in range(1, n_rows):
            axes[r, 0].set_ylabel(f"augmented {r}", fontsize=9)
        fig.suptitle("Original (top) and augmented training images")
        self.axes_ = axes
        self.figure_ = fig
        return self


def _describe_transforms(transforms):
    """One title per image of an augmented batch: what was drawn for it.

    ``transforms`` is what :class:`~skdeep.augmentation.ImageAugmenter` drew:
    angles and zoom factors (``None`` when unset), shifts in pixels, flips.
    A line for rotation and zoom, a line for shift and flip.
    """
    n = len(transforms.dy)
    shifted = np.any(transforms.dy) or np.any(transforms.dx)
    titles = []
    for i in range(n):
        first, second = [], []
        if transforms.angle is not None:
            first.append(f"rot {transforms.angle[i]:+.0f}°")
        if transforms.zoom_x is not None:
            first.append(f"zoom {transforms.zoom_x[i]:.2f}×{transforms.zoom_y[i]:.2f}")
        if shifted:
            second.append(
                f"shift {_pixels(transforms.dx[i])},{_pixels(transforms.dy[i])}"
            )
        if transforms.flip is not None and transforms.flip[i]:
            second.append("flip")
        lines = ["  ".join(part) for part in (first, second) if part]
        titles.append("\n".join(lines))
    return titles


def _pixels(shift):
    """A shift in pixels, signed: ``+2`` when whole, else ``+1.4``."""
    return f"{shift:+.0f}" if shift == round(shift) else f"{shift:+.1f}"


def _as_images(X, input_shape):
    """``X`` as a 4-D ``(n, height, width, channels)`` array."""
    X = np.asarray(X, dtype=float)
    if input_shape is not None and X.ndim == 2:
        return X.reshape((X.shape[0], *input_shape))
    if X.ndim == 3:
        return X[..., None]
    if X.ndim != 4:
        raise ValueError(
            "Images must be (n, height, width[, channels]) or flat rows with "
            f"`input_shape`; received an array of shape {X.shape}."
        )
    return X
