"""Image augmentation: random shifts, rotations, zooms and flips (notes 三.9).

:class:`ImageAugmenter` follows Keras' ``ImageDataGenerator`` for the
transformations the notes list: ``width_shift_range``, ``height_shift_range``,
``rotation_range``, ``zoom_range`` and ``horizontal_flip``, with
``fill_mode='nearest'`` and bilinear interpolation. A whole batch is
transformed at once, each image with its own random transformation, with no
Python loop over images: shifts and flips alone by gathering rows and columns
with index arrays, rotations and zooms by one bilinear gather of every image's
own affine sampling grid.

:class:`~skdeep.ConvNetClassifier` calls :meth:`ImageAugmenter.transform_batch`
on every training batch with a generator derived from its own
``random_state``, so augmented fits are reproducible; :meth:`augment` returns
augmented copies to look at.
"""

from collections import namedtuple
from numbers import Integral, Real

import numpy as np
from sklearn import get_config
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from .utils._sklearn_compat import Interval, validate_params

_Transforms = namedtuple("_Transforms", "angle dy dx zoom_x zoom_y flip")
_Transforms.__doc__ = """The random transformation of each image of a batch.

Arrays of shape ``(n,)``: ``angle`` in degrees (counter-clockwise) and
``zoom_x``, ``zoom_y`` (Keras' factors along the width and the height) are
``None`` when the augmenter does not rotate or zoom; ``dy``, ``dx`` are shifts
in pixels (down, right); ``flip`` is a boolean mask, ``None`` without
``horizontal_flip``.
"""


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


def _zoom_bounds(zoom_range):
    """``(lower, upper)`` zoom factors of Keras' ``zoom_range``.

    A float ``z`` means ``[1 - z, 1 + z]``; a pair is ``[lower, upper]``. The
    float's range is checked by ``_parameter_constraints``; a pair is checked
    here, since a constraint cannot say "two numbers, ordered, positive".
    """
    if isinstance(zoom_range, Real):
        return 1.0 - zoom_range, 1.0 + zoom_range
    try:
        bounds = np.asarray(zoom_range, dtype=np.float64)
    except (TypeError, ValueError):
        bounds = None
    if (
        bounds is None
        or bounds.shape != (2,)
        or not np.all(np.isfinite(bounds))
        or not 0 < bounds[0] <= bounds[1]
    ):
        raise ValueError(
            "`zoom_range` must be a float in [0, 1) or a pair [lower, upper] "
            f"with 0 < lower <= upper; received zoom_range={zoom_range!r}."
        )
    return float(bounds[0]), float(bounds[1])


def _neighbours(source, size):
    """Bilinear neighbours of fractional source indices, 'nearest' fill.

    ``source`` (any shape) lies between pixels ``floor(source)`` and
    ``floor(source) + 1``; indices outside the image are clipped to its edge
    (Keras' ``fill_mode='nearest'``).

    Returns
    -------
    lower, upper : ndarray of int, shape of ``source``
    weight : ndarray of the shape of ``source``
        Weight of ``upper``; ``lower`` gets ``1 - weight``.
    """
    lower = np.floor(source)
    weight = source - lower
    lower = lower.astype(np.intp)
    upper = np.clip(lower + 1, 0, size - 1)
    np.clip(lower, 0, size - 1, out=lower)
    return lower, upper, weight


def _interpolation(shifts, size):
    """Neighbours of a shift along one axis: output ``j`` reads ``j - t``.

    Returns ``lower, upper, weight``, each of shape ``(n, size)``.
    """
    return _neighbours(np.arange(size) - shifts[:, None], size)


def _sampling_grid(transforms, h, w):
    """Where each output pixel reads its image: ``rows, cols`` of shape (n, h, w).

    Keras' ``apply_affine_transform`` composes rotation @ shift @ zoom about the
    image centre ``c``: output pixel ``p`` (row, column) reads the input at
    ``c + R (Z (p - c) - t)``, with ``Z = diag(zoom_y, zoom_x)``, ``t = (dy,
    dx)`` (the content moves by ``+t``, this module's convention for shifts)
    and ``R`` the rotation of the sampling coordinates that turns the content
    counter-clockwise by ``angle``. ``c = ((h - 1) / 2, (w - 1) / 2)`` is the
    centre of the middle pixel, as in current keras-preprocessing (early
    releases used ``h / 2 + 0.5``, a pixel off).
    """
    n = len(transforms.dy)
    centre_row, centre_col = (h - 1) / 2, (w - 1) / 2
    zoom_y = 1.0 if transforms.zoom_y is None else transforms.zoom_y[:, None, None]
    zoom_x = 1.0 if transforms.zoom_x is None else transforms.zoom_x[:, None, None]
    # Zoomed and shifted offsets from the centre: (n, h, 1) rows, (n, 1, w) columns.
    u = zoom_y * (np.arange(h) - centre_row)[:, None] - transforms.dy[:, None, None]
    v = zoom_x * (np.arange(w) - centre_col) - transforms.dx[:, None, None]
    if transforms.angle is None:
        rows = np.broadcast_to(centre_row + u, (n, h, w))
        cols = np.broadcast_to(centre_col + v, (n, h, w))
        return rows, cols
    theta = np.deg2rad(transforms.angle)[:, None, None]
    cos, sin = np.cos(theta), np.sin(theta)
    rows = centre_row + cos * u + sin * v  # (n, h, w)
    cols = centre_col - sin * u + cos * v
    return rows, cols


def _bilinear_gather(X, rows, cols, flip=None):
    """Sample every image at its own grid: one gather per bilinear neighbour.

    ``X[i]`` is read at ``(rows[i], cols[i])`` (each of shape (n, h, w)),
    mirrored left-right first where ``flip`` is true. The four neighbours are
    gathered from ``X`` viewed as ``(n * h * w, channels)`` rows with
    ``np.take``, so all channels of a pixel come in one step.
    """
    n, h, w, c = X.shape
    row0, row1, row_weight = _neighbours(rows, h)
    col0, col1, col_weight = _neighbours(cols, w)
    if flip is not None:
        # Mirroring reads column w-1-j instead of j: flip the index maps.
        col0[flip] = w - 1 - col0[flip]
        col1[flip] = w - 1 - col1[flip]
    # Flat pixel index (i * h + row) * w + col, shape (n, h, w).
    images = (np.arange(n) * h)[:, None, None]
    top, bottom = (images + row0) * w, (images + row1) * w
    pixels = X.reshape(n * h * w, c)
    X_00 = np.take(pixels, top + col0, axis=0)  # (n, h, w, c)
    X_01 = np.take(pixels, top + col1, axis=0)
    X_10 = np.take(pixels, bottom + col0, axis=0)
    X_11 = np.take(pixels, bottom + col1, axis=0)
    col_weight = col_weight[..., None].astype(X.dtype)
    row_weight = row_weight[..., None].astype(X.dtype)
    # Along the columns, then the rows; a + t * (b - a), in place.
    X_01 -= X_00
    X_01 *= col_weight
    X_00 += X_01
    X_11 -= X_10
    X_11 *= col_weight
    X_10 += X_11
    X_10 -= X_00
    X_10 *= row_weight
    X_00 += X_10
    return X_00


class ImageAugmenter(BaseEstimator):
    """Random shifts, rotations, zooms and flips, as Keras' ImageDataGenerator.

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
    rotation_range : float, default=0.0
        Rotation in degrees about the image centre, drawn uniformly in
        ``(-rotation_range, rotation_range)``.
    zoom_range : float or array-like of two floats, default=0.0
        Zoom factors, drawn uniformly in ``[lower, upper]`` independently along
        the width and the height; a float ``z`` in ``[0, 1)`` means
        ``[1 - z, 1 + z]``. As in Keras the factor scales the sampling
        coordinates: below 1 it magnifies (0.5 shows the middle half of the
        image at twice the size), above 1 it shrinks.
    random_state : int, RandomState instance or None, default=None
        Randomness of :meth:`augment`. During a fit,
        :class:`~skdeep.ConvNetClassifier` passes its own generator to
        :meth:`transform_batch` instead.

    See Also
    --------
    skdeep.ConvNetClassifier : Uses it through its ``augmentation`` parameter.
    skdeep.plotting.AugmentationDisplay : Draws augmented copies of images.

    Notes
    -----
    Pixels brought in from outside the image repeat the nearest edge pixel
    (``fill_mode='nearest'``), and every transformation interpolates linearly
    between the nearest pixels (Keras' default ``interpolation_order=1``).

    Rotation, shift and zoom compose as in Keras' ``apply_affine_transform``
    (rotation @ shift @ zoom of the sampling coordinates, about the centre of
    the middle pixel): output pixel ``p`` reads the input at
    ``c + R (Z (p - c) - t)``. So the zoom also scales the shift. A positive
    angle turns the content counter-clockwise. The flip is applied first
    (Keras flips last); since mirrored angles and shifts are as likely as the
    originals, the distribution of augmented images is the same.

    Parameters are drawn for the whole batch, in Keras' order: angles (only
    when ``rotation_range`` is set), vertical shifts, horizontal shifts, one
    ``(zoom_x, zoom_y)`` pair per image (only when zooming), flips. Without
    rotation and zoom, shifts and flips are done separably (rows, then
    columns). With them, every image gets its own sampling grid and one
    gather per bilinear neighbour fetches all images and channels at once.
    Measured on the same grids for 32 images of 32x32x3 (float32, one thread,
    best of 10): 0.9 ms for the four gathers and the weighting, against 3.5 ms
    for ``scipy.ndimage.map_coordinates`` per image and channel in a loop, and
    5.8 ms (11.3 ms) for one ``map_coordinates`` call on the batch as a 3-D
    (4-D) array, which interpolates along the image (and channel) axes too,
    for nothing.

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
    >>> magnifier = ImageAugmenter(zoom_range=[0.5, 0.5])  # the middle, twice as big
    >>> magnifier.augment(X)[0, :, :, 0]
    array([[ 3.75,  4.25,  4.75,  5.25],
           [ 5.75,  6.25,  6.75,  7.25],
           [ 7.75,  8.25,  8.75,  9.25],
           [ 9.75, 10.25, 10.75, 11.25]])
    >>> rotator = ImageAugmenter(rotation_range=30, zoom_range=0.1, random_state=0)
    >>> rotator.augment(X, n_copies=4).shape
    (4, 4, 4, 1)
    """

    _parameter_constraints: dict = {
        "width_shift_range": [Interval(Real, 0, None, closed="left")],
        "height_shift_range": [Interval(Real, 0, None, closed="left")],
        "horizontal_flip": ["boolean"],
        "rotation_range": [Interval(Real, 0, None, closed="left")],
        # A pair [lower, upper] is checked further by `_zoom_bounds`.
        "zoom_range": [Interval(Real, 0, 1, closed="left"), "array-like"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        width_shift_range=0.0,
        height_shift_range=0.0,
        horizontal_flip=False,
        *,
        rotation_range=0.0,
        zoom_range=0.0,
        random_state=None,
    ):
        self.width_shift_range = width_shift_range
        self.height_shift_range = height_shift_range
        self.horizontal_flip = horizontal_flip
        self.rotation_range = rotation_range
        self.zoom_range = zoom_range
        self.random_state = random_state

    def _validate_params(self):
        # The constraints, then what they cannot express: a zoom pair's order
        # and sign. ConvNetClassifier calls this once per fit.
        super()._validate_params()
        _zoom_bounds(self.zoom_range)

    def transform_batch(self, X, rng):
        """Return a randomly transformed copy of a batch of images.

        Parameters
        ----------
        X : ndarray of shape (n_images, height, width, channels)
            The batch; it is not modified.
        rng : numpy.random.Generator
            Source of the random shifts, rotations, zooms and flips.

        Returns
        -------
        X_new : ndarray of the shape and dtype of ``X``
        """
        return self._transform_batch(X, rng)[0]

    def _transform_batch(self, X, rng):
        """:meth:`transform_batch`, also returning the drawn ``_Transforms``."""
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
        transforms = self._draw(n, h, w, rng)
        if transforms.angle is not None or transforms.zoom_x is not None:
            rows, cols = _sampling_grid(transforms, h, w)
            return _bilinear_gather(X, rows, cols, transforms.flip), transforms
        # Shifts and flips only: separable, and bit-identical to the releases
        # that had nothing else (fits with a fixed random_state depend on it).
        images = np.arange(n)[:, None, None]
        out = X
        if self.height_shift_range:
            out = self._resample(out, images, transforms.dy, axis=1)
        if self.width_shift_range or transforms.flip is not None:
            out = self._resample(
                out, images, transforms.dx, axis=2, flip=transforms.flip
            )
        return (out.copy() if out is X else out), transforms

    def _draw(self, n, h, w, rng):
        """Draw the transformations of a batch of ``n`` images of ``h x w``.

        The order is Keras' (angle, vertical shift, horizontal shift, zoom
        pair, flip), each for the whole batch; angles and zooms are drawn only
        when set, so that augmenters without them use the generator as before.
        """
        angle = zoom_x = zoom_y = flip = None
        if self.rotation_range:
            angle = rng.uniform(-self.rotation_range, self.rotation_range, size=n)
        dy = _shift_sampler(self.height_shift_range, h)(rng, n)
        dx = _shift_sampler(self.width_shift_range, w)(rng, n)
        lower, upper = _zoom_bounds(self.zoom_range)
        if not lower == upper == 1:
            # One (zx, zy) pair per image, as Keras' uniform(lower, upper, 2).
            zoom_x, zoom_y = rng.uniform(lower, upper, size=(n, 2)).T
        if self.horizontal_flip:
            flip = rng.random(n) < 0.5
        return _Transforms(angle, dy, dx, zoom_x, zoom_y, flip)

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
        return self._augment(X, n_copies)[0]

    def _augment(self, X, n_copies):
        """:meth:`augment`, also returning the drawn ``_Transforms``."""
        _check_n_copies(n_copies=n_copies)
        X = np.asarray(X)
        if X.ndim == 3:
            X = X[..., None]
        if not np.issubdtype(X.dtype, np.floating):
            X = X.astype(np.float64)
        rng = np.random.default_rng(
            check_random_state(self.random_state).randint(2**31 - 1)
        )
        return self._transform_batch(np.concatenate([X] * n_copies), rng)


@validate_params(
    {"n_copies": [Interval(Integral, 1, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def _check_n_copies(n_copies):
    return n_copies
