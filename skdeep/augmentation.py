"""Image augmentation: random shifts and horizontal flips (notes 三.9).

:class:`ImageAugmenter` follows Keras' ``ImageDataGenerator`` for the three
transformations the notes use: ``width_shift_range``, ``height_shift_range``
and ``horizontal_flip``, with ``fill_mode='nearest'``. A whole batch is
transformed at once: each image gets its own shift and flip, applied by
gathering rows and columns with index arrays (bilinear interpolation between
the two nearest pixels for fractional shifts), with no Python loop over
images.

:class:`~skdeep.ConvNetClassifier` calls :meth:`ImageAugmenter.transform_batch`
on every training batch with a generator derived from its own
``random_state``, so augmented fits are reproducible; :meth:`augment` returns
augmented copies to look at.
"""

from numbers import Integral, Real

import numpy as np
from sklearn import get_config
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from .utils._sklearn_compat import Interval, validate_params


def _shift_sampler(shift_range, size):
    """Return ``draw(rng, n) -> shifts in pixels`` with Keras' conventions.

    A float below 1 is a fraction of ``size``, drawn uniformly in
    ``(-range * size, range * size)``; a float of at least 1 is a number of
    pixels drawn the same way; an int ``r`` draws whole pixels in ``[-r, r]``.
    """
    if isinstance(shift_range, Integral) and not isinstance(shift_range, bool):
        r = int(shift_range)
        return lambda rng, n: rng.integers(-r, r + 1, size=n).astype(np.float64)
    limit = shift_range * size if shift_range < 1 else float(shift_range)
    return lambda rng, n: rng.uniform(-limit, limit, size=n)


def _interpolation(shifts, size):
    """Source indices and weights of a shift along one axis, 'nearest' fill.

    Output pixel ``j`` of an image shifted by ``t`` reads the input at ``j - t``,
    between pixels ``floor(j - t)`` and ``floor(j - t) + 1``; indices outside
    the image are clipped to its edge (Keras' ``fill_mode='nearest'``).

    Returns
    -------
    lower, upper : ndarray of int, shape (n, size)
    weight : ndarray of shape (n, size)
        Weight of ``upper``; ``lower`` gets ``1 - weight``.
    """
    source = np.arange(size) - shifts[:, None]  # (n, size)
    lower = np.floor(source)
    weight = source - lower
    lower = lower.astype(np.intp)
    upper = np.clip(lower + 1, 0, size - 1)
    np.clip(lower, 0, size - 1, out=lower)
    return lower, upper, weight


class ImageAugmenter(BaseEstimator):
    """Random shifts and horizontal flips of images, as Keras' ImageDataGenerator.

    Parameters
    ----------
    width_shift_range : float or int, default=0.0
        Horizontal shift. A float below 1 is a fraction of the width (the shift
        is drawn uniformly in ``(-r * width, r * width)``), a float of at least
        1 a number of pixels, and an int ``r`` a whole number of pixels in
        ``[-r, r]``.
    height_shift_range : float or int, default=0.0
        Vertical shift, the same way.
    horizontal_flip : bool, default=False
        Mirror each image left-right with probability 0.5.
    random_state : int, RandomState instance or None, default=None
        Randomness of :meth:`augment`. During a fit,
        :class:`~skdeep.ConvNetClassifier` passes its own generator to
        :meth:`transform_batch` instead.

    See Also
    --------
    skdeep.ConvNetClassifier : Uses it through its ``augmentation`` parameter.

    Notes
    -----
    Pixels shifted in from outside the image repeat the nearest edge pixel
    (``fill_mode='nearest'``). Fractional shifts interpolate linearly between
    the two nearest pixels, as Keras' default ``interpolation_order=1``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.augmentation import ImageAugmenter
    >>> X = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> flipper = ImageAugmenter(horizontal_flip=True, random_state=0)
    >>> copies = flipper.augment(X, n_copies=8)
    >>> copies.shape
    (8, 4, 4, 1)
    >>> np.unique(copies[:, 0, :, 0], axis=0)  # first rows: as is, or mirrored
    array([[0., 1., 2., 3.],
           [3., 2., 1., 0.]])
    >>> shifter = ImageAugmenter(width_shift_range=1, random_state=5)
    >>> shifter.augment(X, n_copies=3)[:, 0, :, 0]  # shifts of -1, -1, +1 pixel
    array([[1., 2., 3., 3.],
           [1., 2., 3., 3.],
           [0., 0., 1., 2.]])
    """

    _parameter_constraints: dict = {
        "width_shift_range": [Interval(Real, 0, None, closed="left")],
        "height_shift_range": [Interval(Real, 0, None, closed="left")],
        "horizontal_flip": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        width_shift_range=0.0,
        height_shift_range=0.0,
        horizontal_flip=False,
        random_state=None,
    ):
        self.width_shift_range = width_shift_range
        self.height_shift_range = height_shift_range
        self.horizontal_flip = horizontal_flip
        self.random_state = random_state

    def transform_batch(self, X, rng):
        """Return a randomly shifted and flipped copy of a batch of images.

        Parameters
        ----------
        X : ndarray of shape (n_images, height, width, channels)
            The batch; it is not modified.
        rng : numpy.random.Generator
            Source of the random shifts and flips.

        Returns
        -------
        X_new : ndarray of the shape and dtype of ``X``
        """
        if not get_config()["skip_parameter_validation"]:
            # A standalone call checks the parameters. Inside an estimator's fit
            # (scikit-learn skips nested validation there) they were checked
            # once per fit instead (ConvNetClassifier._fit), not once per batch.
            self._validate_params()
        X = np.asarray(X)
        if X.ndim != 4:
            raise ValueError(
                "ImageAugmenter expects images of shape (n_images, height, width, "
                f"channels); received an array of shape {X.shape}."
            )
        n, h, w, _ = X.shape
        # Draw in a fixed order (vertical, horizontal, flips) for reproducibility.
        dy = _shift_sampler(self.height_shift_range, h)(rng, n)
        dx = _shift_sampler(self.width_shift_range, w)(rng, n)
        flip = rng.random(n) < 0.5 if self.horizontal_flip else None
        images = np.arange(n)[:, None, None]
        out = X
        if self.height_shift_range:
            out = self._resample(out, images, dy, axis=1)
        if self.width_shift_range or flip is not None:
            out = self._resample(out, images, dx, axis=2, flip=flip)
        return out.copy() if out is X else out

    @staticmethod
    def _resample(X, images, shifts, axis, flip=None):
        """Shift (and flip) every image along ``axis`` (1: rows, 2: columns)."""
        size = X.shape[axis]
        lower, upper, weight = _interpolation(shifts, size)
        if flip is not None:
            # Mirroring reads column w-1-j instead of j: flip the index maps.
            lower[flip] = size - 1 - lower[flip]
            upper[flip] = size - 1 - upper[flip]
        if axis == 1:
            # Gather rows: (n, 1, 1) images x (n, h, 1) rows -> (n, h, w, c).
            lower, upper = lower[:, :, None], upper[:, :, None]
            weight = weight[:, :, None, None]
            cols = np.arange(X.shape[2])
            X_lower, X_upper = X[images, lower, cols], X[images, upper, cols]
        else:
            # Gather columns: (n, 1, 1) images x (n, 1, w) columns.
            lower, upper = lower[:, None, :], upper[:, None, :]
            weight = weight[:, None, :, None]
            rows = np.arange(X.shape[1])[None, :, None]
            X_lower, X_upper = X[images, rows, lower], X[images, rows, upper]
        if not np.any(weight):
            return X_lower  # whole-pixel shifts: no interpolation needed
        weight = weight.astype(X.dtype)
        # (1 - t) * lower + t * upper, written as lower + t * (upper - lower).
        X_upper -= X_lower
        X_upper *= weight
        X_lower += X_upper
        return X_lower

    def augment(self, X, n_copies=1):
        """Augmented copies of images, to look at (Keras' ``flow``).

        Parameters
        ----------
        X : array-like of shape (n_images, height, width, channels) or \
(n_images, height, width)
            Images; a 3-D array is one channel.
        n_copies : int, default=1
            Number of augmented copies of each image.

        Returns
        -------
        X_new : ndarray of shape (n_images * n_copies, height, width, channels)
            Copy ``k`` of image ``i`` is row ``k * n_images + i``. The same
            ``random_state`` gives the same copies.
        """
        _check_n_copies(n_copies=n_copies)
        X = np.asarray(X)
        if X.ndim == 3:
            X = X[..., None]
        if not np.issubdtype(X.dtype, np.floating):
            X = X.astype(np.float64)
        rng = np.random.default_rng(
            check_random_state(self.random_state).randint(2**31 - 1)
        )
        return self.transform_batch(np.concatenate([X] * n_copies), rng)


@validate_params(
    {"n_copies": [Interval(Integral, 1, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def _check_n_copies(n_copies):
    return n_copies
