"""Tests of skdeep.augmentation.ImageAugmenter against per-image references."""

import numpy as np
import pytest
from scipy import ndimage, stats
from sklearn.base import clone

from skdeep import ConvNetClassifier
from skdeep.augmentation import (
    ImageAugmenter,
    _bilinear_gather,
    _sampling_grid,
    _Transforms,
)
from skdeep.layers import Flatten


def _images(n=6, h=5, w=7, c=2, seed=0):
    return np.random.default_rng(seed).normal(size=(n, h, w, c))


def _coordinate_images(n, h, w):
    """Channel 0 holds each pixel's row, channel 1 its column.

    Bilinear interpolation of a linear function is exact, so wherever no edge
    pixel is repeated, an augmented copy holds the source coordinates each
    output pixel read: the transformation can be read off the output.
    """
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    return np.broadcast_to(np.stack([rows, cols], axis=-1), (n, h, w, 2)).astype(float)


def _reference(X, seed, height_range, width_range, flip):
    """One image at a time with scipy: the draws replayed in the same order."""
    rng = np.random.default_rng(seed)
    n, h, w, _ = X.shape

    def draw(r, size):
        if isinstance(r, int):
            return rng.integers(-r, r + 1, size=n).astype(float)
        limit = r * size if r < 1 else r
        return rng.uniform(-limit, limit, size=n)

    dy, dx = draw(height_range, h), draw(width_range, w)
    flips = rng.random(n) < 0.5 if flip else np.zeros(n, dtype=bool)
    out = np.empty_like(X)
    for i in range(n):
        image = X[i, :, ::-1] if flips[i] else X[i]
        # shifted(x) = image(x - shift), edges repeated ('nearest'), linear.
        out[i] = ndimage.shift(image, (dy[i], dx[i], 0), order=1, mode="nearest")
    return out, dy, dx, flips


def _affine_reference(X, seed, rotation, zoom, height_range, width_range, flip):
    """Keras' ImageDataGenerator one image and one channel at a time, with scipy.

    The draws are replayed in Keras' order (angle, vertical shift, horizontal
    shift, one (zx, zy) pair per image, flip), each for the whole batch. Output
    pixel p reads the (mirrored) image at c + R (Z (p - c) - t): Keras'
    rotation @ shift @ zoom about the centre c of the middle pixel, with
    Z = diag(zy, zx) and R turning the content counter-clockwise.
    """
    rng = np.random.default_rng(seed)
    n, h, w, channels = X.shape
    angles = rng.uniform(-rotation, rotation, n) if rotation else np.zeros(n)
    dy = rng.uniform(-height_range * h, height_range * h, n)
    dx = rng.uniform(-width_range * w, width_range * w, n)
    lower, upper = (1 - zoom, 1 + zoom) if np.isscalar(zoom) else zoom
    if (lower, upper) == (1, 1):
        zooms = np.ones((n, 2))
    else:
        zooms = rng.uniform(lower, upper, (n, 2))
    flips = rng.random(n) < 0.5 if flip else np.zeros(n, dtype=bool)
    centre = np.array([(h - 1) / 2, (w - 1) / 2])
    out = np.empty_like(X)
    for i in range(n):
        theta = np.deg2rad(angles[i])
        rotation_matrix = np.array(
            [[np.cos(theta), np.sin(theta)], [-np.sin(theta), np.cos(theta)]]
        )
        matrix = rotation_matrix @ np.diag([zooms[i, 1], zooms[i, 0]])
        offset = centre - matrix @ centre - rotation_matrix @ [dy[i], dx[i]]
        image = X[i, :, ::-1] if flips[i] else X[i]
        for k in range(channels):
            out[i, :, :, k] = ndimage.affine_transform(
                image[:, :, k], matrix, offset, order=1, mode="nearest"
            )
    return out


@pytest.mark.parametrize(
    "height_range, width_range, flip",
    [(0.2, 0.0, False), (0.0, 0.3, False), (0.25, 0.15, True), (0.0, 0.0, True),
     (1, 2, False), (2, 1, True), (1.5, 2.5, False)],
)  # fmt: skip
def test_matches_per_image_scipy_shift(height_range, width_range, flip):
    """Catches a wrong shift direction, size, interpolation, edge fill or flip."""
    X = _images()
    augmenter = ImageAugmenter(
        width_shift_range=width_range,
        height_shift_range=height_range,
        horizontal_flip=flip,
    )
    out = augmenter.transform_batch(X, np.random.default_rng(3))
    expected, *_ = _reference(X, 3, height_range, width_range, flip)
    np.testing.assert_allclose(out, expected, atol=1e-12)


@pytest.mark.parametrize(
    "rotation, zoom, height_range, width_range, flip",
    [(40.0, 0.0, 0.0, 0.0, False), (0.0, 0.3, 0.0, 0.0, False),
     (0.0, (0.5, 1.5), 0.0, 0.0, True), (25.0, 0.2, 0.2, 0.1, False),
     (180.0, (0.7, 0.9), 0.1, 0.3, True), (10.0, (1.2, 1.4), 0.0, 0.2, True)],
)  # fmt: skip
def test_matches_per_image_scipy_affine_transform(
    rotation, zoom, height_range, width_range, flip
):
    """Catches a wrong centre, rotation sense, composition order, zoom axis
    (the images are not square and zx, zy differ), interpolation or edge fill,
    and channels or images mixed up by the batched gather."""
    X = _images(n=8, h=6, w=9, c=3)
    augmenter = ImageAugmenter(
        width_shift_range=width_range,
        height_shift_range=height_range,
        horizontal_flip=flip,
        rotation_range=rotation,
        zoom_range=zoom,
    )
    out = augmenter.transform_batch(X, np.random.default_rng(4))
    expected = _affine_reference(X, 4, rotation, zoom, height_range, width_range, flip)
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_rotation_matches_scipy_rotate():
    """A rotation alone is scipy.ndimage.rotate about the centre, same angle:
    catches a rotation about a corner or the wrong way round."""
    X = _images(n=5, h=7, w=7, c=2)
    augmenter = ImageAugmenter(rotation_range=60)
    out = augmenter.transform_batch(X, np.random.default_rng(8))
    angles = np.random.default_rng(8).uniform(-60, 60, 5)
    for i in range(5):
        expected = ndimage.rotate(
            X[i], angles[i], axes=(1, 0), reshape=False, order=1, mode="nearest"
        )
        np.testing.assert_allclose(out[i], expected, atol=1e-12)


@pytest.mark.parametrize("angle, k", [(90.0, 1), (-90.0, -1), (180.0, 2)])
def test_right_angles_are_np_rot90(angle, k):
    """A quarter turn of a square image is np.rot90 everywhere (the centre is
    the middle pixel's, so every pixel lands on a pixel): catches an off-centre
    rotation, a wrong sense, or rows and columns swapped."""
    X = _images(n=2, h=6, w=6, c=3)
    transforms = _Transforms(
        angle=np.full(2, angle), dy=np.zeros(2), dx=np.zeros(2),
        zoom_x=None, zoom_y=None, flip=None,
    )  # fmt: skip
    rows, cols = _sampling_grid(transforms, 6, 6)
    out = _bilinear_gather(X, rows, cols)
    np.testing.assert_allclose(out, np.rot90(X, k=k, axes=(1, 2)), atol=1e-12)


def test_zoom_half_magnifies_the_centre_twice():
    """zoom_range=[0.5, 0.5] (Keras: a factor below 1 magnifies) shows the
    middle half at twice the size. Catches an inverted zoom factor or a zoom
    about a corner."""
    augmenter = ImageAugmenter(zoom_range=[0.5, 0.5])
    # A linear image: magnified twice about the centre (3.5, 3.5), its slopes
    # halve; hand computation f(3.5 + (r - 3.5) / 2, 3.5 + (c - 3.5) / 2).
    r, c = np.meshgrid(np.arange(8.0), np.arange(8.0), indexing="ij")
    ramp = (3 * r + c)[None, :, :, None]
    out = augmenter.transform_batch(ramp, np.random.default_rng(0))
    expected = 3 * (1.75 + r / 2) + (1.75 + c / 2)
    np.testing.assert_allclose(out[0, :, :, 0], expected, atol=1e-12)
    # Any image: the middle 4x4 block scaled by 2 (scipy.ndimage.zoom, pixel
    # grid mode), away from the block's border where zoom repeats edge pixels.
    X = _images(n=1, h=8, w=8, c=1)
    out = augmenter.transform_batch(X, np.random.default_rng(0))
    block = ndimage.zoom(X[0, 2:6, 2:6, 0], 2, order=1, mode="nearest", grid_mode=True)
    np.testing.assert_allclose(out[0, 1:-1, 1:-1, 0], block[1:-1, 1:-1], atol=1e-12)


def test_shift_ranges_follow_keras_conventions():
    """Shifts read off the augmenter's output: a float below 1 is a fraction
    of the size, a float of at least 1 pixels, an int r whole pixels in
    [-r, r]. Catches a range applied to the wrong axis or in the wrong unit."""
    X = _coordinate_images(2000, 10, 20)

    def shifts(height_range, width_range):
        augmenter = ImageAugmenter(
            width_shift_range=width_range, height_shift_range=height_range
        )
        out = augmenter.transform_batch(X, np.random.default_rng(0))
        # Pixel (5, 10) read (5 - dy, 10 - dx): inside the image for these ranges.
        return 5 - out[:, 5, 10, 0], 10 - out[:, 5, 10, 1]

    dy, dx = shifts(0.1, 0.25)  # 10% of 10 rows, 25% of 20 columns
    assert 0.95 < np.abs(dy).max() < 1.0
    assert 4.9 < np.abs(dx).max() < 5.0
    assert not np.all(dy == np.round(dy))
    dy, dx = shifts(2, 3.0)  # int: whole pixels; float >= 1: pixels, fractional
    assert set(np.unique(dy)) == {-2, -1, 0, 1, 2}
    assert 2.9 < np.abs(dx).max() < 3.0 and not np.all(dx == np.round(dx))


def test_rotation_angles_uniform_within_range():
    """Angles read off the output lie in (-range, range), uniformly. Catches a
    range taken as radians or as a half-width, or one angle for the batch."""
    X = _coordinate_images(1000, 21, 21)
    out = ImageAugmenter(rotation_range=30).transform_batch(X, np.random.default_rng(1))
    # Near the centre, source row = 10 + cos(a) (r - 10) + sin(a) (c - 10).
    source_row = out[:, :, :, 0]
    sin = source_row[:, 10, 11] - source_row[:, 10, 10]
    cos = source_row[:, 11, 10] - source_row[:, 10, 10]
    angles = np.rad2deg(np.arctan2(sin, cos))
    assert np.abs(angles).max() < 30 < np.abs(angles).max() + 0.5
    assert stats.kstest(angles, stats.uniform(-30, 60).cdf).pvalue > 0.01


@pytest.mark.parametrize(
    "zoom_range, lower, upper", [(0.2, 0.8, 1.2), ([0.5, 1.5], 0.5, 1.5),
                                 ((1.1, 1.3), 1.1, 1.3)],
)  # fmt: skip
def test_zoom_factors_within_range_and_independent(zoom_range, lower, upper):
    """Zoom factors read off the output lie in [lower, upper] and differ along
    the width and the height, independently (Keras draws zx and zy apart).
    Catches a float range misread, a single factor for both axes, or
    correlated factors."""
    X = _coordinate_images(2000, 15, 15)
    out = ImageAugmenter(zoom_range=zoom_range).transform_batch(
        X, np.random.default_rng(2)
    )
    zoom_y = out[:, 8, 7, 0] - out[:, 7, 7, 0]  # d(source row) / d(row)
    zoom_x = out[:, 7, 8, 1] - out[:, 7, 7, 1]
    for zoom in (zoom_x, zoom_y):
        assert lower - 1e-12 <= zoom.min() < lower + 0.01
        assert upper - 0.01 < zoom.max() <= upper + 1e-12
    assert abs(np.corrcoef(zoom_x, zoom_y)[0, 1]) < 0.1


def test_same_generator_same_batch():
    """Reproducible from the generator: catches a draw from global state."""
    X = _images()
    augmenter = ImageAugmenter(
        0.1, 0.2, horizontal_flip=True, rotation_range=20, zoom_range=0.1
    )
    first = augmenter.transform_batch(X, np.random.default_rng(5))
    again = augmenter.transform_batch(X, np.random.default_rng(5))
    other = augmenter.transform_batch(X, np.random.default_rng(6))
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_without_rotation_or_zoom_the_generator_is_used_as_before():
    """Defaults draw shifts then flips and nothing more, so seeded fits stay
    as they were. Catches angles or zooms drawn (and discarded) when unset."""
    augmenter = ImageAugmenter(0.1, 0.2, horizontal_flip=True, zoom_range=[1, 1])
    rng = np.random.default_rng(9)
    augmenter.transform_batch(_images(n=4), rng)
    replay = np.random.default_rng(9)
    replay.uniform(size=4), replay.uniform(size=4), replay.random(4)
    assert rng.random() == replay.random()


def test_flips_half_the_images_and_keeps_pixels():
    """Catches a flip probability other than 0.5 or a flip that moves pixels."""
    X = np.tile(np.arange(4.0).reshape(1, 1, 4, 1), (1000, 3, 1, 1))
    out = ImageAugmenter(horizontal_flip=True).transform_batch(
        X, np.random.default_rng(0)
    )
    flipped = np.all(out == X[:, :, ::-1], axis=(1, 2, 3))
    unchanged = np.all(out == X, axis=(1, 2, 3))
    assert np.all(flipped ^ unchanged)
    assert 430 < flipped.sum() < 570


def test_identity_without_transformations_returns_a_copy():
    """Catches the input returned (and later modified in place) as the batch."""
    X = _images()
    out = ImageAugmenter().transform_batch(X, np.random.default_rng(0))
    np.testing.assert_array_equal(out, X)
    assert out is not X and not np.shares_memory(out, X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("extra", [{}, {"rotation_range": 45, "zoom_range": 0.3}])
def test_input_untouched_dtype_and_shape_kept(dtype, extra):
    """Catches an input modified in place, a float32 batch upcast, or values
    extrapolated beyond the image's range."""
    X = _images().astype(dtype)
    X_before = X.copy()
    augmenter = ImageAugmenter(0.3, 0.3, horizontal_flip=True, **extra)
    out = augmenter.transform_batch(X, np.random.default_rng(0))
    np.testing.assert_array_equal(X, X_before)
    assert out.shape == X.shape and out.dtype == dtype
    assert not np.shares_memory(out, X)
    # Linear interpolation of nearest-filled images stays within their range.
    assert out.min() >= X.min() - 1e-6 and out.max() <= X.max() + 1e-6


def test_non_contiguous_batch():
    """A strided view is read pixel by pixel correctly: catches a flat view of
    memory that is not laid out as (n, h, w, c)."""
    X = _images(n=8, h=6, w=9, c=3)
    augmenter = ImageAugmenter(rotation_range=30, zoom_range=0.2)
    view = X[::2, :, ::-1]
    out = augmenter.transform_batch(view, np.random.default_rng(1))
    expected = augmenter.transform_batch(view.copy(), np.random.default_rng(1))
    np.testing.assert_array_equal(out, expected)
    reference = _affine_reference(view.copy(), 1, 30, 0.2, 0, 0, False)
    np.testing.assert_allclose(out, reference, atol=1e-12)


def test_augment_is_reproducible_and_makes_copies():
    """Catches copies that repeat one draw, or a random_state that is ignored."""
    X = _images(n=3)
    augmenter = ImageAugmenter(
        0.2, 0.2, horizontal_flip=True, rotation_range=15, random_state=0
    )
    first = augmenter.augment(X, n_copies=4)
    assert first.shape == (12, 5, 7, 2)
    np.testing.assert_array_equal(first, augmenter.augment(X, n_copies=4))
    # Copy k of image i is row k * n + i, each drawn afresh.
    assert not np.allclose(first[0], first[3])
    other = clone(augmenter).set_params(random_state=1)
    assert not np.allclose(first, other.augment(X, n_copies=4))


def test_augment_accepts_one_channel_images_and_integers():
    """Catches 3-D images rejected or integer images interpolated as integers."""
    X = np.arange(2 * 4 * 4).reshape(2, 4, 4)
    out = ImageAugmenter(horizontal_flip=True, random_state=0).augment(X)
    assert out.shape == (2, 4, 4, 1)
    assert out.dtype == np.float64
    out = ImageAugmenter(zoom_range=[0.5, 0.5]).augment(X)
    assert out.dtype == np.float64 and out[0, 0, 0, 0] == 3.75  # 4 * 0.75 + 0.75


@pytest.mark.parametrize(
    "params", [{"width_shift_range": -0.1}, {"height_shift_range": "a"},
               {"horizontal_flip": "yes"}, {"rotation_range": -5},
               {"rotation_range": "20"}, {"zoom_range": -0.1},
               {"zoom_range": 1.0}, {"zoom_range": [1.2, 0.8]},
               {"zoom_range": [0.0, 1.0]}, {"zoom_range": (-0.5, 1.0)},
               {"zoom_range": [0.5, 1.0, 1.5]}, {"zoom_range": ["a", "b"]},
               {"zoom_range": [np.nan, 1.0]}, {"zoom_range": "0.2"}],
)  # fmt: skip
def test_invalid_parameters_raise(params):
    """Catches a bad value accepted silently, or an error not naming it."""
    name = next(iter(params))
    with pytest.raises(ValueError, match=name):
        ImageAugmenter(**params).augment(_images())
    with pytest.raises(ValueError, match=name):
        ImageAugmenter(**params).transform_batch(_images(), np.random.default_rng(0))


def test_invalid_zoom_pair_raises_in_a_fit():
    """An estimator's fit skips nested validation; the zoom pair is still
    checked. Catches a reversed pair that trains on mirrored images."""
    X, y = np.zeros((4, 3, 3, 1)), np.array([0, 1, 0, 1])
    net = ConvNetClassifier(
        [Flatten()], augmentation=ImageAugmenter(zoom_range=[1.2, 0.8]), max_iter=1
    )
    with pytest.raises(ValueError, match="zoom_range"):
        net.fit(X, y)


def test_invalid_inputs_raise():
    """Catches flat rows or a zero n_copies accepted."""
    with pytest.raises(ValueError, match=r"shape \(n_images, height, width"):
        ImageAugmenter().transform_batch(np.zeros((2, 3)), np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_copies"):
        ImageAugmenter().augment(_images(), n_copies=0)


def test_is_a_clonable_scikit_learn_object():
    """Catches an __init__ that changes or drops a parameter."""
    augmenter = ImageAugmenter(
        0.1, 0.2, horizontal_flip=True, rotation_range=10, zoom_range=[0.9, 1.2],
        random_state=3,
    )  # fmt: skip
    params = clone(augmenter).get_params()
    assert params == augmenter.get_params()
    assert params["rotation_range"] == 10 and params["zoom_range"] == [0.9, 1.2]
