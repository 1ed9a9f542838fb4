"""Tests of skdeep.datasets.load_image_folder on tiny images written here.

Every expected pixel value comes from the arrays the tests write into the files
(divided by 255), or from Pillow reading the same file in the test for lossy
formats and resampling filters; never from load_image_folder's own output.
"""

import importlib
import os
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from PIL import Image
from sklearn.exceptions import ConvergenceWarning

import skdeep
from skdeep import ConvNetClassifier
from skdeep.datasets import load_image_folder


def _save(path, pixels, **kwargs):
    """Write ``pixels`` (uint8 or uint16) as an image at ``path``."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(pixels).save(path, **kwargs)
    return pixels


def _pixels(seed, shape):
    """Random 8-bit pixels, with a 0 and a 255 to pin both ends of [0, 1]."""
    pixels = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    pixels.flat[0], pixels.flat[-1] = 0, 255
    return pixels


def _folder(root, shape=(3, 5, 3), per_class=2, classes=("cat", "dog")):
    """Write ``per_class`` random PNGs per class; return {path: pixels}."""
    written = {}
    for c, name in enumerate(classes):
        for i in range(per_class):
            path = os.path.join(root, name, f"{i}.png")
            written[path] = _save(path, _pixels(10 * c + i, shape))
    return written


def test_pixels_are_the_written_values_over_255(tmp_path):
    """X is float32 (n, h, w, c) holding exactly uint8 / 255.

    Catches: scaling by 256 or not at all, another dtype, swapped height and
    width (the images are 3x5, and Pillow's sizes are (width, height)), and
    images attached to the wrong file.
    """
    written = _folder(str(tmp_path))
    data = load_image_folder(tmp_path)
    assert data.data.dtype == np.float32
    assert data.data.shape == (4, 3, 5, 3)
    for image, path in zip(data.data, data.filenames, strict=True):
        assert_array_equal(image, written[path].astype(np.float32) / 255)
    assert data.data.min() == 0.0 and data.data.max() == 1.0


def test_classes_and_files_are_sorted_by_name(tmp_path):
    """Classes and files come in sorted order, whatever the creation order.

    Catches relying on os.listdir's order (arbitrary, often creation order: the
    files are created here in reverse) and labels not matching their folders.
    """
    root = str(tmp_path)
    written = {}
    for c, name in enumerate(["dog", "cat", "bird"]):
        for i, file in enumerate(["b.png", "a.png", "2.png", "10.png"]):
            path = os.path.join(root, name, file)
            written[path] = _save(path, _pixels(10 * c + i, (2, 2, 3)))
    data = load_image_folder(root)
    expected = [
        os.path.join(root, name, file)
        for name in ["bird", "cat", "dog"]
        for file in ["10.png", "2.png", "a.png", "b.png"]
    ]
    assert list(data.filenames) == expected
    assert data.target_names == ["bird", "cat", "dog"]
    assert list(data.target) == ["bird"] * 4 + ["cat"] * 4 + ["dog"] * 4
    for image, path in zip(data.data, data.filenames, strict=True):
        assert_array_equal(image, written[path] / np.float32(255))


def test_bunch_and_return_X_y(tmp_path):
    """The Bunch holds data/target/target_names/filenames; return_X_y the pair.

    Catches a return_X_y tuple that is not (data, target), a target of class
    indices instead of names, and a pathlib.Path not accepted as ``path``.
    """
    _folder(str(tmp_path))
    data = load_image_folder(tmp_path)
    assert set(data) == {"data", "target", "target_names", "filenames"}
    assert list(data.target) == ["cat", "cat", "dog", "dog"]
    assert all(isinstance(f, str) for f in data.filenames.tolist())
    X, y = load_image_folder(str(tmp_path), return_X_y=True)
    assert_array_equal(X, data.data)
    assert_array_equal(y, data.target)


@pytest.mark.parametrize(
    "color_mode, channels", [("grayscale", 1), ("rgb", 3), ("rgba", 4)]
)
def test_color_modes_from_grey_images(tmp_path, color_mode, channels):
    """A grey image gives its values in 1 channel, repeated in 3, then alpha 1.

    Catches a wrong channel count, a channel axis missing in grayscale, and a
    transparent (zero) alpha channel added to opaque images.
    """
    grey = _save(str(tmp_path / "a" / "grey.png"), _pixels(0, (4, 3)))
    X, _ = load_image_folder(tmp_path, color_mode=color_mode, return_X_y=True)
    assert X.shape == (1, 4, 3, channels)
    for channel in range(min(channels, 3)):
        assert_array_equal(X[0, :, :, channel], grey / np.float32(255))
    if channels == 4:
        assert_array_equal(X[0, :, :, 3], 1.0)


def test_rgba_keeps_alpha_and_grayscale_is_luma(tmp_path):
    """'rgba' keeps the written alpha; 'grayscale' weighs R, G, B as ITU-R 601.

    Catches alpha dropped or made opaque, and grey made as the channel mean or
    the first channel instead of L = 0.299 R + 0.587 G + 0.114 B.
    """
    rgba = _save(str(tmp_path / "a" / "x.png"), _pixels(1, (3, 4, 4)))
    X, _ = load_image_folder(tmp_path, color_mode="rgba", return_X_y=True)
    assert_array_equal(X[0], rgba / np.float32(255))

    X, _ = load_image_folder(tmp_path, color_mode="grayscale", return_X_y=True)
    luma = rgba[..., :3].astype(float) @ [0.299, 0.587, 0.114] / 255
    # Pillow rounds to 8 bits: within half a level of the exact luma.
    assert_allclose(X[0, :, :, 0], luma, atol=0.5 / 255 + 1e-7)


def test_16_bit_grey_png_is_scaled_not_clipped(tmp_path):
    """A 16-bit grayscale PNG is read as value / 65535, in every color_mode.

    Catches Pillow's conversion to 8 bits, which clips every value above 255
    to white (1000 and 30000 would both read as 1.0).
    """
    deep = np.array([[0, 1000, 30000, 65535]], dtype=np.uint16)
    _save(str(tmp_path / "a" / "deep.png"), deep)
    expected = deep / np.float32(65535)
    for color_mode in ["grayscale", "rgb", "rgba"]:
        X, _ = load_image_folder(tmp_path, color_mode=color_mode, return_X_y=True)
        assert X.dtype == np.float32
        for channel in range(min(X.shape[-1], 3)):
            assert_allclose(X[0, :, :, channel], expected, rtol=1e-6)
        if color_mode == "rgba":
            assert_array_equal(X[0, :, :, 3], 1.0)


@pytest.mark.parametrize("extension", ["bmp", "gif", "jpeg", "jpg", "png"])
def test_reads_keras_extensions(tmp_path, extension):
    """Every extension Keras reads is read, with the pixels Pillow decodes.

    Catches an extension left out of the list (the folder would then have no
    images) and formats decoded differently from Pillow (GIF palettes, lossy
    JPEG: the reference is Pillow reading the same file in this test).
    """
    path = str(tmp_path / "a" / f"x.{extension}")
    _save(path, _pixels(2, (6, 5, 3)))
    with Image.open(path) as image:
        expected = np.asarray(image.convert("RGB")) / np.float32(255)
    X, _ = load_image_folder(tmp_path, return_X_y=True)
    assert_array_equal(X[0], expected)


def test_skips_hidden_and_other_files_and_walks_subfolders(tmp_path):
    """Only non-hidden files with an image extension count, in any case.

    Catches: hidden files and folders read (e.g. a '.ipynb_checkpoints' class),
    other formats read (the TIFF and the hidden PNG have another size, so
    reading them would raise), upper-case extensions ignored, and images in a
    class's subfolders missed (Keras walks them).
    """
    root = str(tmp_path)
    _folder(root, shape=(2, 2, 3), per_class=1)
    odd = _pixels(3, (5, 7, 3))
    _save(os.path.join(root, "cat", ".hidden.png"), odd)
    _save(os.path.join(root, "cat", "other.tiff"), odd)
    _save(os.path.join(root, ".ipynb_checkpoints", "0.png"), odd)
    _save(os.path.join(root, "cat", ".cache", "0.png"), odd)
    with open(os.path.join(root, "cat", "notes.txt"), "w") as file:
        file.write("not an image")
    upper = _save(os.path.join(root, "dog", "UPPER.PNG"), _pixels(4, (2, 2, 3)))
    nested = _save(os.path.join(root, "dog", "inside", "n.png"), _pixels(5, (2, 2, 3)))

    data = load_image_folder(root)
    assert data.target_names == ["cat", "dog"]
    assert list(data.filenames) == [
        os.path.join(root, "cat", "0.png"),
        os.path.join(root, "dog", "0.png"),
        os.path.join(root, "dog", "UPPER.PNG"),
        os.path.join(root, "dog", "inside", "n.png"),
    ]
    assert list(data.target) == ["cat", "dog", "dog", "dog"]
    assert_array_equal(data.data[2], upper / np.float32(255))
    assert_array_equal(data.data[3], nested / np.float32(255))


def test_target_size_is_height_width_with_nearest(tmp_path):
    """target_size=(h, w) doubles a 2x3 image into 4x6 pixel blocks ('nearest').

    Catches (width, height) passed as (height, width) — the image is not
    square — and a filter other than the one asked for.
    """
    small = _save(str(tmp_path / "a" / "x.png"), _pixels(6, (2, 3, 3)))
    X, _ = load_image_folder(
        tmp_path, target_size=(4, 6), interpolation="nearest", return_X_y=True
    )
    blocks = np.repeat(np.repeat(small, 2, axis=0), 2, axis=1)
    assert X.shape == (1, 4, 6, 3)
    assert_array_equal(X[0], blocks / np.float32(255))


@pytest.mark.parametrize(
    "interpolation", ["bilinear", "nearest", "bicubic", "lanczos", "box", "hamming"]
)
def test_interpolation_is_pillows_filter(tmp_path, interpolation):
    """Each ``interpolation`` resizes as Pillow's filter of that name.

    Catches names mapped to the wrong filter. The images have different sizes,
    one already at the target, which must come out unchanged.
    """
    big = str(tmp_path / "a" / "big.png")
    _save(big, _pixels(7, (7, 9, 3)))
    exact = _save(str(tmp_path / "a" / "exact.png"), _pixels(8, (4, 5, 3)))
    filter_ = Image.Resampling[interpolation.upper()]
    with Image.open(big) as image:
        expected = np.asarray(image.resize((5, 4), filter_)) / np.float32(255)
    X, _ = load_image_folder(
        tmp_path, target_size=(4, 5), interpolation=interpolation, return_X_y=True
    )
    assert_array_equal(X[0], expected)
    assert_array_equal(X[1], exact / np.float32(255))


def test_default_interpolation_is_bilinear(tmp_path):
    """Without ``interpolation``, images are resized bilinearly (Keras' default).

    Catches a default of 'nearest' (Keras' load_img default), which gives
    other values on this image.
    """
    path = str(tmp_path / "a" / "x.png")
    _save(path, _pixels(9, (7, 9, 3)))
    with Image.open(path) as image:
        bilinear = np.asarray(image.resize((5, 4), Image.Resampling.BILINEAR))
        nearest = np.asarray(image.resize((5, 4), Image.Resampling.NEAREST))
    assert not np.array_equal(bilinear, nearest)
    X, _ = load_image_folder(tmp_path, target_size=(4, 5), return_X_y=True)
    assert_array_equal(X[0], bilinear / np.float32(255))


def test_mixed_sizes_without_target_size_name_two_files(tmp_path):
    """Images of different sizes need target_size; the error names both files.

    Catches a silent ragged result or a numpy stacking error, and sizes
    reported as Pillow's (width, height) instead of height x width.
    """
    first = os.path.join(str(tmp_path), "cat", "a.png")
    other = os.path.join(str(tmp_path), "dog", "b.png")
    _save(first, _pixels(0, (4, 6, 3)))
    _save(other, _pixels(1, (5, 7, 3)))
    with pytest.raises(ValueError, match="target_size") as info:
        load_image_folder(tmp_path)
    message = str(info.value)
    assert repr(first) in message and "4x6" in message
    assert repr(other) in message and "5x7" in message
    X, _ = load_image_folder(tmp_path, target_size=(3, 3), return_X_y=True)
    assert X.shape == (2, 3, 3, 3)


def test_corrupt_and_truncated_files_are_named(tmp_path):
    """A file that is not an image, or a cut-off PNG, raises naming the file.

    Catches Pillow's errors passed on as they are ('image file is truncated'
    names no file), and truncated images read as partly black.
    """
    _folder(str(tmp_path), shape=(16, 16, 3), per_class=1)
    garbage = os.path.join(str(tmp_path), "cat", "garbage.png")
    with open(garbage, "wb") as file:
        file.write(b"this is not a PNG")
    with pytest.raises(ValueError, match="Cannot read.*not recognise") as info:
        load_image_folder(tmp_path)
    assert repr(garbage) in str(info.value)

    os.remove(garbage)
    truncated = os.path.join(str(tmp_path), "dog", "0.png")
    with open(truncated, "rb") as file:
        content = file.read()
    with open(truncated, "wb") as file:
        file.write(content[: len(content) // 2])
    with pytest.raises(ValueError, match="Cannot read.*truncated") as info:
        load_image_folder(tmp_path)
    assert repr(truncated) in str(info.value)


def test_file_system_errors_stay_os_errors(tmp_path):
    """A file that cannot be opened (a dangling link) raises FileNotFoundError.

    Catches file-system errors disguised as 'not an image' ValueErrors.
    """
    _folder(str(tmp_path), per_class=1)
    dangling = os.path.join(str(tmp_path), "cat", "gone.png")
    try:
        os.symlink(os.path.join(str(tmp_path), "nowhere.png"), dangling)
    except (OSError, NotImplementedError):  # pragma: no cover - e.g. Windows
        pytest.skip("cannot create symbolic links here")
    with pytest.raises(FileNotFoundError, match="gone.png"):
        load_image_folder(tmp_path)


def test_folder_errors(tmp_path):
    """Each wrong folder layout raises a ValueError saying what is wrong.

    Catches: a missing path or a file taken as a folder, an empty folder or
    images without class subfolders returning empty arrays, and a class folder
    without images silently dropped or kept as a class with no samples.
    """
    root = str(tmp_path)
    missing = os.path.join(root, "missing")
    with pytest.raises(ValueError, match="`path` must be a folder.*does not exist"):
        load_image_folder(missing)

    loose = os.path.join(root, "loose.png")
    _save(loose, _pixels(0, (2, 2, 3)))
    with pytest.raises(ValueError, match="`path` must be a folder.*is not a folder"):
        load_image_folder(loose)
    # The image lies directly in the folder: no class subfolders.
    with pytest.raises(ValueError, match="no class subfolders.*'loose.png'"):
        load_image_folder(root)

    empty = os.path.join(root, "empty")
    os.mkdir(empty)
    with pytest.raises(ValueError, match="no class subfolders"):
        load_image_folder(empty)

    os.makedirs(os.path.join(empty, "cat"))
    with open(os.path.join(empty, "cat", "notes.txt"), "w") as file:
        file.write("not an image")
    _save(os.path.join(empty, "dog", "0.png"), _pixels(0, (2, 2, 3)))
    with pytest.raises(ValueError, match="holds no images") as info:
        load_image_folder(empty)
    assert repr(os.path.join(empty, "cat")) in str(info.value)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"color_mode": "RGB"}, "color_mode"),
        ({"color_mode": "hsv"}, "color_mode"),
        ({"interpolation": "area"}, "interpolation"),
        ({"target_size": (0, 5)}, "target_size"),
        ({"target_size": (5,)}, "target_size"),
        ({"target_size": (2, 3, 1)}, "target_size"),
        ({"target_size": (2.5, 3)}, "target_size"),
        ({"target_size": (True, 3)}, "target_size"),
        ({"target_size": 32}, "target_size"),
        ({"return_X_y": "yes"}, "return_X_y"),
    ],
)
def test_bad_arguments_name_the_argument(tmp_path, kwargs, argument):
    """Bad arguments raise a ValueError naming the argument and the value.

    Catches unchecked values reaching Pillow (a KeyError for the mode, a
    TypeError or negative size from resize) and (True, 3) read as (1, 3).
    """
    _folder(str(tmp_path), per_class=1)
    with pytest.raises(ValueError, match=argument) as info:
        load_image_folder(tmp_path, **kwargs)
    assert repr(kwargs[argument]) in str(info.value)


def test_bad_path_type_names_path():
    """A path that is not a str or os.PathLike raises naming ``path``."""
    with pytest.raises(ValueError, match="'path' parameter"):
        load_image_folder(3)


def test_missing_pillow_says_which_extra_to_install(tmp_path, monkeypatch):
    """Without Pillow, the module imports and loading says pip install the extra.

    Catches a module-level Pillow import (skdeep.datasets would not import)
    and a bare ModuleNotFoundError that does not name the 'images' extra.
    """
    _folder(str(tmp_path), per_class=1)
    # None in sys.modules makes `import PIL` raise ImportError.
    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    # Import the module afresh; teardown puts the original back in both places.
    monkeypatch.setattr(skdeep, "datasets", sys.modules["skdeep.datasets"])
    monkeypatch.delitem(sys.modules, "skdeep.datasets")
    datasets = importlib.import_module("skdeep.datasets")
    with pytest.raises(ImportError, match=r'pip install "skdeep\[images\]"'):
        datasets.load_image_folder(tmp_path)


def test_trains_a_convnet_for_one_epoch(tmp_path):
    """The loaded folder fits a ConvNetClassifier end to end, as the notes do.

    Catches an output a classifier rejects (wrong rank, dtype or labels) and
    targets that are not the class names (predictions must be folder names).
    """
    root = str(tmp_path)
    rng = np.random.default_rng(0)
    for name, level in [("cat", 40), ("dog", 210)]:
        for i in range(4):
            noise = rng.integers(-30, 31, (8, 8, 3))
            _save(
                os.path.join(root, name, f"{i}.png"),
                np.clip(level + noise, 0, 255).astype(np.uint8),
            )
    X, y = load_image_folder(root, target_size=(6, 6), return_X_y=True)
    clf = ConvNetClassifier(max_iter=1, batch_size=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.n_iter_ == 1
    assert clf.input_shape_ == (6, 6, 3)
    assert list(clf.classes_) == ["cat", "dog"]
    assert set(clf.predict(X)) <= {"cat", "dog"}
    assert clf.predict_proba(X).shape == (8, 2)
