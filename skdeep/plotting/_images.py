"""Image displays of convolutional networks: filters and feature maps (notes 三.3)."""

import numpy as np

from ._utils import axes_grid, final_estimator, import_pyplot, symmetric_limits


def _network(estimator):
    """``(preprocessing, network)``: a fitted ConvNet's layers and what precedes it."""
    net = final_estimator(estimator)
    network = getattr(net, "network_", None)
    if network is None:
        raise ValueError(
            f"{type(net).__name__} has no fitted network (`network_`): pass a "
            "fitted ConvNetClassifier."
        )
    steps = getattr(estimator, "steps", None)
    preprocessing = estimator[:-1] if steps and len(steps) > 1 else None
    return preprocessing, network


def _conv_layer_index(network, layer):
    """Index in ``network.layers`` of the ``layer``-th Conv2D layer."""
    conv = [i for i, lay in enumerate(network.layers) if _is_conv(lay)]
    if not conv:
        raise ValueError("The network has no Conv2D layer.")
    if not -len(conv) <= layer < len(conv):
        raise ValueError(
            f"`layer`={layer} is out of range: the network has {len(conv)} "
            "Conv2D layers (counted from 0)."
        )
    return conv[layer]


def _is_conv(layer):
    weights = getattr(layer, "params", {}).get("W")
    return weights is not None and weights.ndim == 4


def _layer_name(network, index):
    layer = network.layers[index]
    return f"{type(layer).__name__} (layer {index})"


def _show_image(axis, image, *, cmap="gray", vmin=None, vmax=None):
    """Draw one (h, w, c) or (h, w) image: grey for one channel, RGB for three."""
    image = np.asarray(image, dtype=float)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 3:
        if image.shape[-1] != 3:
            raise ValueError(
                f"Images must have 1 or 3 channels to be drawn; received "
                f"{image.shape[-1]}."
            )
        low, high = image.min(), image.max()
        if low < 0 or high > 1:
            image = (image - low) / ((high - low) or 1.0)
        artist = axis.imshow(image, interpolation="nearest")
    else:
        artist = axis.imshow(
            image, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest"
        )
    axis.set_xticks([])
    axis.set_yticks([])
    return artist


class ConvFiltersDisplay:
    """The kernels of a convolution layer, one panel per filter.

    A filter is a small ``kh x kw`` window of weights that the layer slides
    over its input (notes 三.3). Its weights are learnt; drawing them shows which
    pattern each filter responds to: an edge, a stroke, a blob. Weights are
    coloured on a diverging scale centred on zero (red positive, blue negative),
    shared by all panels so that their strengths compare.

    Use :meth:`from_estimator` with a fitted
    :class:`~skdeep.ConvNetClassifier`. All parameters are stored as attributes.

    Parameters
    ----------
    kernels : ndarray of shape (kh, kw, c_in, filters)
        Kernel weights, in Keras' layout.

    channel : int, default=None
        Input channel to draw. ``None`` draws the only channel of a one-channel
        input, the colour kernel of a three-channel input, and otherwise the
        mean over input channels.

    layer_name : str, default=None
        Title of the figure.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes
        One Axes per filter.

    images_ : list of matplotlib AxesImage
        The drawn kernels.

    figure_ : matplotlib Figure
        The figure.

    See Also
    --------
    FeatureMapsDisplay : What the filters produce on an image.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skdeep.plotting import ConvFiltersDisplay
    >>> kernels = np.random.default_rng(0).normal(size=(3, 3, 1, 4))
    >>> display = ConvFiltersDisplay(kernels).plot()
    >>> len(display.images_)
    4
    """

    def __init__(self, kernels, *, channel=None, layer_name=None):
        self.kernels = kernels
        self.channel = channel
        self.layer_name = layer_name

    @classmethod
    def from_estimator(cls, estimator, *, layer=0, channel=None, ax=None, ncols=8):
        """Draw the filters of a fitted convolutional network.

        Parameters
        ----------
        estimator : estimator instance
            Fitted :class:`~skdeep.ConvNetClassifier`, or a pipeline ending in one.

        layer : int, default=0
            Which Conv2D layer, counted from 0 among the network's Conv2D layers
            (negative counts from the last).

        channel : int, default=None
            Input channel to draw; see the class docstring.

        ax : array-like of matplotlib Axes, default=None
            At least one Axes per filter; ``None`` creates a figure.

        ncols : int, default=8
            Panels per row of a new figure.

        Returns
        -------
        display : ConvFiltersDisplay
            The display.
        """
        _, network = _network(estimator)
        index = _conv_layer_index(network, layer)
        display = cls(
            network.layers[index].params["W"],
            channel=channel,
            layer_name=_layer_name(network, index),
        )
        return display.plot(ax=ax, ncols=ncols)

    def plot(self, ax=None, *, ncols=8, cmap="RdBu_r"):
        """Draw one panel per filter.

        Parameters
        ----------
        ax : array-like of matplotlib Axes, default=None
            At least one Axes per filter; ``None`` creates a figure.

        ncols : int, default=8
            Panels per row of a new figure.

        cmap : str or matplotlib Colormap, default='RdBu_r'
            Diverging colormap for one-channel kernels.

        Returns
        -------
        display : ConvFiltersDisplay
            ``self``, with ``axes_``, ``images_`` and ``figure_`` set.
        """
        plt = import_pyplot("ConvFiltersDisplay.plot")
        kernels = np.asarray(self.kernels, dtype=float)
        if kernels.ndim != 4:
            raise ValueError(
                "`kernels` must have shape (kh, kw, c_in, filters); received "
                f"shape {kernels.shape}."
            )
        kh, kw, c_in, n_filters = kernels.shape
        if self.channel is not None:
            shown, what = (
                kernels[:, :, [self.channel], :],
                f"input channel {self.channel}",
            )
        elif c_in in (1, 3):
            shown, what = kernels, None
        else:
            shown = kernels.mean(axis=2, keepdims=True)
            what = f"mean over {c_in} input channels"
        fig, _, axes = axes_grid(
            plt, ax, n_filters, ncols=ncols, caller="ConvFiltersDisplay"
        )
        vmin, vmax = symmetric_limits(shown)
        self.images_ = []
        for k, axis in enumerate(axes):
            self.images_.append(
                _show_image(axis, shown[..., k], cmap=cmap, vmin=vmin, vmax=vmax)
            )
            axis.set_title(f"filter {k}", fontsize=8)
        if shown.shape[2] == 1:
            fig.colorbar(self.images_[0], ax=list(axes), shrink=0.8, label="weight")
        title = f"{n_filters} filters of {kh}x{kw}"
        if self.layer_name:
            title = f"{self.layer_name}: {title}"
        if what:
            title = f"{title} ({what})"
        fig.suptitle(title)
        self.axes_ = axes
        self.figure_ = fig
        return self


class FeatureMapsDisplay:
    """The feature maps a convolution layer computes on one image.

    Each filter of a convolution layer, slid over the image, gives one *feature
    map* (or activation map, notes 三.3): bright where the image has the filter's
    pattern. The first panel is the input image, the others the maps.

    Use :meth:`from_estimator` with a fitted
    :class:`~skdeep.ConvNetClassifier` and an image. All parameters are stored
    as attributes.

    Parameters
    ----------
    feature_maps : ndarray of shape (height, width, n_filters)
        The layer's output for one image.

    image : ndarray of shape (height, width, channels), default=None
        The input image, drawn first; not drawn when None.

    layer_name : str, default=None
        Title of the figure.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes
        The image's Axes (when drawn), then one per feature map.

    images_ : list of matplotlib AxesImage
        The drawn feature maps.

    figure_ : matplotlib Figure
        The figure.

    See Also
    --------
    ConvFiltersDisplay : The filters that produce the maps.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skdeep.plotting import FeatureMapsDisplay
    >>> maps = np.random.default_rng(0).random((6, 6, 3))
    >>> display = FeatureMapsDisplay(maps).plot()
    >>> len(display.images_)
    3
    """

    def __init__(self, feature_maps, *, image=None, layer_name=None):
        self.feature_maps = feature_maps
        self.image = image
        self.layer_name = layer_name

    @classmethod
    def from_estimator(cls, estimator, X, *, layer=0, max_maps=None, ax=None, ncols=8):
        """Compute and draw the feature maps of a fitted network on one image.

        Parameters
        ----------
        estimator : estimator instance
            Fitted :class:`~skdeep.ConvNetClassifier`, or a pipeline ending in one.

        X : array-like
            One image: ``(height, width, channels)``, ``(height, width)``, a
            flat row as the estimator takes it, or a batch of one of these (the
            first image is used). A pipeline's preprocessing is applied first.

        layer : int, default=0
            Which Conv2D layer, counted from 0 among the network's Conv2D layers.
            The maps are taken after its activation (and after an ``Activation``
            layer right behind it).

        max_maps : int, default=None
            Draw at most this many maps; all when None.

        ax : array-like of matplotlib Axes, default=None
            One Axes for the image plus one per map; ``None`` creates a figure.

        ncols : int, default=8
            Panels per row of a new figure.

        Returns
        -------
        display : FeatureMapsDisplay
            The display.
        """
        preprocessing, network = _network(estimator)
        index = _conv_layer_index(network, layer)
        input_shape = tuple(network.input_shape_)
        X = np.asarray(X)
        if preprocessing is not None:
            # A pipeline's steps take rows: one flat image is one row.
            X = preprocessing.transform(X.reshape(1, -1) if X.ndim == 1 else X)
        X = np.asarray(X, dtype=network.dtype)
        if X.shape == input_shape or X.size == np.prod(input_shape):
            images = X.reshape((1, *input_shape))
        else:
            images = X[:1].reshape((1, *input_shape))
        after = index + 1
        if after < len(network.layers) and type(network.layers[after]).__name__ == (
            "Activation"
        ):
            after += 1
        Y = images
        for lay in network.layers[:after]:
            Y = lay.forward(Y, training=False)
        maps = Y[0]
        if max_maps is not None:
            maps = maps[..., :max_maps]
        display = cls(maps, image=images[0], layer_name=_layer_name(network, index))
        return display.plot(ax=ax, ncols=ncols)

    def plot(self, ax=None, *, ncols=8, cmap="viridis"):
        """Draw the image and the feature maps.

        Parameters
        ----------
        ax : array-like of matplotlib Axes, default=None
            One Axes for the image (when given) plus one per map; ``None``
            creates a figure.

        ncols : int, default=8
            Panels per row of a new figure.

        cmap : str or matplotlib Colormap, default='viridis'
            Colormap of the maps.

        Returns
        -------
        display : FeatureMapsDisplay
            ``self``, with ``axes_``, ``images_`` and ``figure_`` set.
        """
        plt = import_pyplot("FeatureMapsDisplay.plot")
        maps = np.asarray(self.feature_maps, dtype=float)
        if maps.ndim != 3:
            raise ValueError(
                "`feature_maps` must have shape (height, width, n_filters); "
                f"received shape {maps.shape}."
            )
        n_maps = maps.shape[-1]
        offset = 0 if self.image is None else 1
        fig, _, axes = axes_grid(
            plt, ax, n_maps + offset, ncols=ncols, caller="FeatureMapsDisplay"
        )
        if self.image is not None:
            _show_image(axes[0], self.image)
            axes[0].set_title("input", fontsize=8)
        vmin, vmax = float(maps.min()), float(maps.max())
        if vmax <= vmin:
            vmax = vmin + 1.0
        self.images_ = []
        for k in range(n_maps):
            axis = axes[k + offset]
            self.images_.append(
                _show_image(axis, maps[..., k], cmap=cmap, vmin=vmin, vmax=vmax)
            )
            axis.set_title(f"map {k}", fontsize=8)
        fig.colorbar(self.images_[0], ax=list(axes), shrink=0.8, label="activation")
        title = f"{n_maps} feature maps of {maps.shape[0]}x{maps.shape[1]}"
        if self.layer_name:
            title = f"{self.layer_name}: {title}"
        fig.suptitle(title)
        self.axes_ = axes
        self.figure_ = fig
        return self
