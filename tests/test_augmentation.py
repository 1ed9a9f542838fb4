"""Tests of skdeep.augmentation.ImageAugmenter against per-image references."""

import numpy as np
import pytest
from scipy import ndimage
from sklearn.base import clone

from skdeep.augmentation import ImageAugmenter


def _images(n=6, h=5, w=7, c=2, seed=0):
    return np.random.default_rng(seed).normal(size=(n, h, w, c))


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


@pytest.mark.parametrize(
    "height_range, width_range, flip",
    [(0.2, 0.0, False), (0.0, 0.3, False), (0.25, 0.15, True), (0.0, 0.0, True),
     (1, 2, False), (2, 1, True), (1.5, 2.5, False)],
)  # fmt: skip
def test_matches_per_image_scipy_shift(height_range, width_range, flip):
    X = _images()
    augmenter = ImageAugmenter(
        width_shift_range=width_range,
        height_shift_range=height_range,
        horizontal_flip=flip,
    )
    out = augmenter.transform_batch(X, np.random.default_rng(3))
    expected, *_ = _reference(X, 3, height_range, width_range, flip)
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_shift_ranges_follow_keras_conventions():
    # float < 1: fraction of the size; float >= 1: pixels; int r: whole pixels
    # in [-r, r].
    X = _images(n=2000, h=10, w=20, c=1)
    _, dy, dx, _ = _reference(X, 0, 0.1, 0.25, False)
    assert np.abs(dy).max() < 1.0 < np.abs(dy).max() + 0.05
    assert np.abs(dx).max() < 5.0 < np.abs(dx).max() + 0.05
    _, dy, dx, _ = _reference(X, 0, 2, 3.0, False)
    assert set(np.unique(dy)) == {-2, -1, 0, 1, 2}
    assert np.abs(dx).max() < 3.0 and not np.all(dx == np.round(dx))


def test_flips_half_the_images_and_keeps_pixels():
    X = np.tile(np.arange(4.0).reshape(1, 1, 4, 1), (1000, 3, 1, 1))
    out = ImageAugmenter(horizontal_flip=True).transform_batch(
        X, np.random.default_rng(0)
    )
    flipped = np.all(out == X[:, :, ::-1], axis=(1, 2, 3))
    unchanged = np.all(out == X, axis=(1, 2, 3))
    assert np.all(flipped ^ unchanged)
    assert 430 < flipped.sum() < 570


def test_identity_without_transformations_returns_a_copy():
    X = _images()
    out = ImageAugmenter().transform_batch(X, np.random.default_rng(0))
    np.testing.assert_array_equal(out, X)
    assert out is not X and not np.shares_memory(out, X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_input_untouched_dtype_and_shape_kept(dtype):
    X = _images().astype(dtype)
    X_before = X.copy()
    augmenter = ImageAugmenter(0.3, 0.3, horizontal_flip=True)
    out = augmenter.transform_batch(X, np.random.default_rng(0))
    np.testing.assert_array_equal(X, X_before)
    assert out.shape == X.shape and out.dtype == dtype
    # Linear interpolation of nearest-filled images stays within their range.
    assert out.min() >= X.min() - 1e-6 and out.max() <= X.max() + 1e-6


def test_augment_is_reproducible_and_makes_copies():
    X = _images(n=3)
    augmenter = ImageAugmenter(0.2, 0.2, horizontal_flip=True, random_state=0)
    first = augmenter.augment(X, n_copies=4)
    assert first.shape == (12, 5, 7, 2)
    np.testing.assert_array_equal(first, augmenter.augment(X, n_copies=4))
    # Copy k of image i is row k * n + i, each drawn afresh.
    assert not np.allclose(first[0], first[3])
    other = ImageAugmenter(0.2, 0.2, horizontal_flip=True, random_state=1)
    assert not np.allclose(first, other.augment(X, n_copies=4))


def test_augment_accepts_one_channel_images_and_integers():
    X = np.arange(2 * 4 * 4).reshape(2, 4, 4)
    out = ImageAugmenter(horizontal_flip=True, random_state=0).augment(X)
    assert out.shape == (2, 4, 4, 1)
    assert out.dtype == np.float64


@pytest.mark.parametrize(
    "params", [{"width_shift_range": -0.1}, {"height_shift_range": "a"},
               {"horizontal_flip": "yes"}],
)  # fmt: skip
def test_invalid_parameters_raise(params):
    with pytest.raises(ValueError, match=next(iter(params))):
        ImageAugmenter(**params).augment(_images())


def test_invalid_inputs_raise():
    with pytest.raises(ValueError, match=r"shape \(n_images, height, width"):
        ImageAugmenter().transform_batch(np.zeros((2, 3)), np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_copies"):
        ImageAugmenter().augment(_images(), n_copies=0)


def test_is_a_clonable_scikit_learn_object():
    augmenter = ImageAugmenter(0.1, 0.2, horizontal_flip=True, random_state=3)
    assert clone(augmenter).get_params() == augmenter.get_params()
