"""Image data sets stored as one folder per class (notes 三.9-10).

The notes' cats and dogs live in a folder like ``data/cat/*.jpg``,
``data/dog/*.jpg``: :func:`load_image_folder` reads such a folder into the
``(n_samples, height, width, channels)`` array :class:`~skdeep.ConvNetClassifier`
takes, with the class names as targets. It follows Keras'
``image_dataset_from_directory`` for what counts as a class and an image, and
scikit-learn's loaders (``load_files``, ``load_digits``) for what it returns.

Pillow reads the images. It is the optional ``images`` extra, imported only when
a folder is loaded, so :mod:`skdeep.datasets` imports without it.
"""

import os
from numbers import Integral

import numpy as np
from sklearn.utils import Bunch

from .utils._sklearn_compat import StrOptions, validate_params

__all__ = ["load_image_folder"]

# Keras' image_dataset_from_directory reads these, matched case-insensitively.
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")

# color_mode -> (Pillow mode, channels)
_COLOR_MODES = {"grayscale": ("L", 1), "rgb": ("RGB", 3), "rgba": ("RGBA", 4)}

# Pillow's resampling filters, by the names Keras' load_img gives them.
_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming")


def _import_pil_image():
    """Import ``PIL.Image`` or say how to install it (the ``images`` extra)."""
    try:
        from PIL import Image
    except ImportError as exc:
        raise ImportError(
            "load_image_folder requires Pillow, which skdeep installs with its "
            'optional "images" extra: pip install "skdeep[images]" (or pip install '
            "Pillow)."
        ) from exc
    return Image


def _check_target_size(target_size):
    """``target_size`` as a (height, width) tuple of ints, or None."""
    if target_size is None:
        return None
    if len(target_size) == 2 and all(
        isinstance(side, Integral) and not isinstance(side, bool) and side > 0
        for side in target_size
    ):
        return int(target_size[0]), int(target_size[1])
    raise ValueError(
        "`target_size` must be None or a (height, width) pair of positive "
        f"integers; received target_size={target_size!r}."
    )


def _list_images(root):
    """The sorted class names, and every image's path and class index.

    Classes are the subfolders of ``root``; a class's images are the files with
    an image extension anywhere below its folder (os.walk, as Keras), sorted by
    name folder by folder. Names starting with a dot (hidden files, and folders
    such as ``.ipynb_checkpoints``) are skipped.
    """
    with os.scandir(root) as entries:
        entries = sorted(
            (entry for entry in entries if not entry.name.startswith(".")),
            key=lambda entry: entry.name,
        )
    classes = [entry.name for entry in entries if entry.is_dir()]
    if not classes:
        loose = [entry.name for entry in entries if _is_image(entry.name)]
        hint = (
            f" It holds {len(loose)} image(s) directly, such as {loose[0]!r}."
            if loose
            else ""
        )
        raise ValueError(
            f"`path` {root!r} has no class subfolders: put the images of each "
            f"class in a subfolder named after the class ({os.path.join(root, 'cat')}"
            f", {os.path.join(root, 'dog')}, ...).{hint}"
        )
    paths, labels = [], []
    for label, name in enumerate(classes):
        found = _walk_images(os.path.join(root, name))
        if not found:
            raise ValueError(
                f"The class folder {os.path.join(root, name)!r} holds no images "
                f"(files ending in {', '.join(IMAGE_EXTENSIONS)}); remove it or "
                "add its images."
            )
        paths += found
        labels += [label] * len(found)
    return classes, paths, labels


def _walk_images(folder):
    """Sorted paths of the non-hidden image files below ``folder``."""
    paths = []
    for directory, subfolders, files in os.walk(folder):
        # Sorting in place makes os.walk visit the subfolders in order.
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        paths += [
            os.path.join(directory, name)
            for name in sorted(files)
            if not name.startswith(".") and _is_image(name)
        ]
    return paths


def _is_image(name):
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _read_image(Image, path, color_mode, target_size, resample):
    """One image's pixels as ``(height, width, channels)``, and their maximum.

    Pixels are 8-bit (maximum 255), except for 16-bit grayscale PNGs, which
    Pillow opens in an ``I`` mode: converting those to 8 bits would clip every
    value above 255, so they are read as floats with maximum 65535.
    """
    mode, channels = _COLOR_MODES[color_mode]
    # Opened here, so that file-system errors (a missing file, no permission)
    # reach the user as the OSError they are; only decoding errors become the
    # ValueError below.
    with open(path, "rb") as file:
        try:
            with Image.open(file) as image:
                if image.mode.startswith("I"):
                    image, white = image.convert("F"), 65535.0
                else:
                    image, white = image.convert(mode), 255.0
                if target_size is not None and image.size != target_size[::-1]:
                    # Pillow sizes are (width, height).
                    image = image.resize(target_size[::-1], resample)
                pixels = np.asarray(image)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            # Pillow's own message here repeats the path as a file object's repr.
            reason = (
                "Pillow does not recognise its format"
                if isinstance(exc, Image.UnidentifiedImageError)
                else exc
            )
            raise ValueError(f"Cannot read {path!r} as an image: {reason}.") from exc
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.shape[2] != channels:  # a 16-bit grayscale image, kept as 'F'
        gray = np.repeat(pixels, min(channels, 3), axis=2)
        opaque = np.full_like(pixels, white)
        pixels = np.concatenate([gray, opaque], axis=2) if channels == 4 else gray
    return pixels, white


@validate_params(
    {
        "path": [str, os.PathLike],
        "target_size": [tuple, None],
        "color_mode": [StrOptions(set(_COLOR_MODES))],
        "interpolation": [StrOptions(set(_INTERPOLATIONS))],
        "return_X_y": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_image_folder(
    path,
    *,
    target_size=None,
    color_mode="rgb",
    interpolation="bilinear",
    return_X_y=False,
):
    """Load images stored in one folder per class, as Keras' image loaders do.

    Each subfolder of ``path`` is a class, named after the folder::

        path/
            cat/
                cat001.jpg
                cat002.jpg
            dog/
                dog001.jpg

    Classes are sorted by name, and so are the images of each class, so the
    result does not depend on the order the file system lists them in. A
    class's images are the files ending in ``.bmp``, ``.gif``, ``.jpeg``,
    ``.jpg`` or ``.png`` (in any case) anywhere below its folder; other files,
    and files and folders whose names start with a dot, are skipped. Samples
    come out grouped by class, so split them with a shuffling splitter
    (:func:`~sklearn.model_selection.train_test_split` shuffles by default),
    never by position.

    Reading needs Pillow, the optional ``images`` extra:
    ``pip install "skdeep[images]"``.

    Parameters
    ----------
    path : str or os.PathLike
        The folder holding one subfolder per class.
    target_size : tuple of int or None, default=None
        ``(height, width)`` to resize every image to, with the
        ``interpolation`` filter. None keeps the images' own size, which must
        then be the same for all of them.
    color_mode : {'rgb', 'grayscale', 'rgba'}, default='rgb'
        Convert every image to this mode, giving 3, 1 or 4 channels. Grayscale
        uses Pillow's luma ``L = 0.299 R + 0.587 G + 0.114 B``; images without
        transparency get an opaque alpha channel in 'rgba'.
    interpolation : {'bilinear', 'nearest', 'bicubic', 'lanczos', 'box', \
'hamming'}, default='bilinear'
        Pillow's resampling filter for ``target_size``, bilinear as in Keras'
        ``image_dataset_from_directory``. When shrinking, Pillow's filters
        average over every source pixel they cover (antialiasing).
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a :class:`~sklearn.utils.Bunch`.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        data : ndarray of shape (n_samples, height, width, channels), dtype float32
            The pixels scaled to ``[0, 1]``: the 8-bit values divided by 255
            (by 65535 for 16-bit grayscale PNGs).
        target : ndarray of str of shape (n_samples,)
            The class of each image: the name of its class folder.
        target_names : list of str
            The class names, sorted.
        filenames : ndarray of str of shape (n_samples,)
            The path of each image: ``path`` joined with the file's path in it.

    (data, target) : tuple if ``return_X_y`` is True
        The arrays ``data`` and ``target`` described above.

    Raises
    ------
    ImportError
        If Pillow is not installed.
    OSError
        If an image file cannot be opened (no permission, a dangling link).
    ValueError
        If ``path`` is not a folder, has no class subfolders, or has a class
        folder without images; if an image cannot be decoded (naming the
        file); if ``target_size`` is None and the images differ in size
        (naming two files and their sizes).

    See Also
    --------
    sklearn.datasets.load_files : Text files in one folder per class.
    skdeep.ConvNetClassifier : Classifies the images.
    skdeep.augmentation.ImageAugmenter : Random shifts and flips of the images.

    Notes
    -----
    Each image is converted to ``color_mode`` and then resized, as Keras'
    ``load_img`` does. A GIF gives its first frame. The EXIF orientation of
    photographs is not applied (nor is it by Keras). Keras'
    ``crop_to_aspect_ratio`` is not offered: crop or pad the images beforehand
    to keep their aspect ratio.

    Unlike Keras' loaders, which stream batches from the disk, this returns
    every image in memory, 4 bytes per pixel and channel: 25,000 RGB images
    of 150x150 pixels take 6.75 GB. ``target_size`` keeps that in check.

    Examples
    --------
    A folder of two classes with two 4x6 images each:

    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from skdeep.datasets import load_image_folder
    >>> folder = tempfile.TemporaryDirectory()
    >>> for label, value in [("cat", 0), ("dog", 255)]:
    ...     os.mkdir(os.path.join(folder.name, label))
    ...     for i in range(2):
    ...         image = Image.fromarray(np.full((4, 6, 3), value, dtype=np.uint8))
    ...         image.save(os.path.join(folder.name, label, f"{i}.png"))
    >>> images = load_image_folder(folder.name)
    >>> images.data.shape, images.data.dtype
    ((4, 4, 6, 3), dtype('float32'))
    >>> images.data.max(axis=(1, 2, 3))
    array([0., 0., 1., 1.], dtype=float32)
    >>> images.target
    array(['cat', 'cat', 'dog', 'dog'], dtype='<U3')
    >>> images.target_names
    ['cat', 'dog']
    >>> last = os.path.relpath(images.filenames[-1], folder.name)
    >>> last == os.path.join("dog", "1.png")
    True

    Resized to 2x3 grey images, as arrays ready for
    :class:`~skdeep.ConvNetClassifier`:

    >>> X, y = load_image_folder(
    ...     folder.name, target_size=(2, 3), color_mode="grayscale", return_X_y=True)
    >>> X.shape
    (4, 2, 3, 1)
    >>> folder.cleanup()
    """
    root = os.fspath(path)
    if not os.path.isdir(root):
        problem = "is not a folder" if os.path.exists(root) else "does not exist"
        raise ValueError(
            "`path` must be a folder holding one subfolder of images per class; "
            f"received path={path!r}, which {problem}."
        )
    target_size = _check_target_size(target_size)
    Image = _import_pil_image()
    resample = Image.Resampling[interpolation.upper()]

    classes, paths, labels = _list_images(root)
    X = None
    for i, image_path in enumerate(paths):
        pixels, white = _read_image(
            Image, image_path, color_mode, target_size, resample
        )
        if X is None:
            # Filled in place: no list of per-image arrays next to the result.
            X = np.empty((len(paths), *pixels.shape), dtype=np.float32)
        elif pixels.shape != X.shape[1:]:
            h, w = X.shape[1:3]
            raise ValueError(
                "The images differ in size and `target_size` is None: "
                f"{paths[0]!r} is {h}x{w} (height x width) but {image_path!r} is "
                f"{pixels.shape[0]}x{pixels.shape[1]}. Pass target_size=(height, "
                "width) to resize every image to one size."
            )
        # Divided in float32, so an 8-bit value v becomes float32(v) / 255.
        np.divide(pixels, np.float32(white), out=X[i], dtype=np.float32)

    target = np.asarray(classes)[labels]
    if return_X_y:
        return X, target
    return Bunch(
        data=X, target=target, target_names=classes, filenames=np.asarray(paths)
    )
