"""Tests of skdeep.plotting: each display draws what it says, on tiny fitted models."""

import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy.stats import loguniform
from sklearn.datasets import load_digits, make_blobs
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skdeep import (  # noqa: E402
    CoarseToFineSearchCV,
    LogisticGD,
    MLPNetClassifier,
    PerceptronClassifier,
)
from skdeep.metrics import (  # noqa: E402
    sensitivity_score,
    sensitivity_specificity_report,
    specificity_score,
)
from skdeep.plotting import (  # noqa: E402
    AugmentationDisplay,
    BoundaryDisplay,
    ConvFiltersDisplay,
    FeatureMapsDisplay,
    SearchRoundsDisplay,
    SensitivitySpecificityDisplay,
    TrainingHistoryDisplay,
)

# The tiny models below train for a few epochs on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def blobs():
    return make_blobs(n_samples=60, centers=2, cluster_std=0.8, random_state=0)


@pytest.fixture(scope="module")
def fitted_mlp(blobs):
    X, y = blobs
    return MLPNetClassifier(
        hidden_layer_sizes=(5,),
        early_stopping=True,
        validation_fraction=0.25,
        max_iter=40,
        n_iter_no_change=5,
        random_state=0,
    ).fit(X, y)


# ---------------------------------------------------------------------------
# optional dependency
# ---------------------------------------------------------------------------


def test_import_does_not_import_matplotlib():
    code = (
        "import sys, skdeep.plotting; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported eagerly'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_matplotlib_message(monkeypatch):
    from skdeep.plotting._utils import import_pyplot

    # A None entry in sys.modules makes `import matplotlib.pyplot` fail.
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"skdeep\[plot\]"):
        import_pyplot("TrainingHistoryDisplay.plot")


# ---------------------------------------------------------------------------
# TrainingHistoryDisplay
# ---------------------------------------------------------------------------


def test_history_from_estimator(fitted_mlp):
    display = TrainingHistoryDisplay.from_estimator(fitted_mlp)
    history = fitted_mlp.history_
    assert display.axes_.shape == (2,)
    assert display.ax_ is display.axes_[0]
    assert display.figure_ is display.ax_.figure
    assert [ax.get_xlabel() for ax in display.axes_] == ["epoch", "epoch"]
    assert [ax.get_ylabel() for ax in display.axes_] == ["loss", "score"]
    # The training score is drawn beside the validation score.
    assert set(display.lines_) == {"loss", "score", "val_loss", "val_score"}
    np.testing.assert_allclose(display.lines_["loss"].get_ydata(), history["loss"])
    np.testing.assert_array_equal(display.lines_["loss"].get_xdata(), history.index)
    # The best epoch is the one with the lowest validation loss.
    best = int(history["val_loss"].idxmin())
    assert display.best_epoch == fitted_mlp.best_epoch_ == best
    assert len(display.best_lines_) == 2
    assert display.best_lines_[0].get_xdata()[0] == best
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend == ["training", "validation", f"best epoch ({best})"]
    assert display.figure_._suptitle.get_text() == "MLPNetClassifier"


def test_history_from_pipeline_and_given_axes(blobs):
    X, y = blobs
    pipe = make_pipeline(
        StandardScaler(), MLPNetClassifier(hidden_layer_sizes=(4,), max_iter=5)
    )
    pipe.set_params(mlpnetclassifier__random_state=0)
    pipe.fit(X, y)
    _, axes = plt.subplots(1, 2)
    # No validation data: training loss and training score only.
    display = TrainingHistoryDisplay.from_estimator(pipe, ax=axes, name="five epochs")
    assert display.ax_ is axes[0]
    assert list(display.lines_) == ["loss", "score"]
    assert display.figure_._suptitle.get_text() == "five epochs"


def test_history_plot_from_dataframe():
    history = pd.DataFrame(
        {"loss": [1.0, 0.5, 0.4], "val_loss": [1.0, 0.6, 0.7], "val_score": [0.5] * 3}
    )
    display = TrainingHistoryDisplay(history, best_epoch=2).plot()
    np.testing.assert_array_equal(display.lines_["loss"].get_xdata(), [1, 2, 3])
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="2 panels"):
        TrainingHistoryDisplay(history).plot(ax=ax)
    with pytest.raises(ValueError, match="'loss' column"):
        TrainingHistoryDisplay(history.drop(columns="loss")).plot()


def test_history_requires_network(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="no `history_`"):
        TrainingHistoryDisplay.from_estimator(LinearRegression().fit(X, y))


# ---------------------------------------------------------------------------
# SensitivitySpecificityDisplay
# ---------------------------------------------------------------------------


def test_sensitivity_specificity_binary():
    y_true = np.array(["benign"] * 6 + ["malignant"] * 4)
    y_pred = np.array(["benign"] * 5 + ["malignant"] * 3 + ["benign"] * 2)
    display = SensitivitySpecificityDisplay.from_predictions(
        y_true, y_pred, pos_label="malignant"
    )
    sens = sensitivity_score(y_true, y_pred, pos_label="malignant")
    spec = specificity_score(y_true, y_pred, pos_label="malignant")
    assert display.sensitivity_[1] == pytest.approx(sens)
    assert display.specificity_[1] == pytest.approx(spec)
    texts = [t.get_text() for t in display.annotations_]
    # Rows: benign (negative) carries the specificity, malignant the sensitivity.
    assert texts[0].startswith("specificity") and f"{spec:.3f}" in texts[0]
    assert texts[1].startswith("sensitivity") and f"{sens:.3f}" in texts[1]
    cells = [[t.get_text() for t in row] for row in display.text_]
    assert cells == [["TN\n5", "FP\n1"], ["FN\n2", "TP\n2"]]
    assert display.ax_.get_title() == "positive class: malignant"
    assert display.ax_.get_ylabel() == "True label"


def test_sensitivity_specificity_default_positive_is_one():
    display = SensitivitySpecificityDisplay.from_predictions([0, 0, 1, 1], [0, 1, 1, 1])
    assert display.annotations_[1].get_text().startswith("sensitivity")
    assert display.text_[1, 1].get_text() == "TP\n2"


def test_sensitivity_specificity_multiclass_and_normalize():
    X, y = make_blobs(n_samples=90, centers=3, cluster_std=3.0, random_state=0)
    clf = LogisticGD(max_iter=50, random_state=0).fit(X, y)
    display = SensitivitySpecificityDisplay.from_estimator(
        clf, X, y, normalize="pred", display_labels=["a", "b", "c"]
    )
    report = sensitivity_specificity_report(y, clf.predict(X))
    # The scores come from the counts, whatever the normalization drawn.
    np.testing.assert_allclose(display.sensitivity_, report["sensitivity"])
    np.testing.assert_allclose(display.specificity_, report["specificity"])
    assert np.allclose(display.confusion_matrix.sum(axis=0), 1)
    assert len(display.annotations_) == 3
    assert [t.get_text() for t in display.ax_.get_yticklabels()] == ["a", "b", "c"]


def test_sensitivity_specificity_errors(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="only supports classifiers"):
        SensitivitySpecificityDisplay.from_estimator(LinearRegression().fit(X, y), X, y)
    with pytest.raises(ValueError, match="not a label"):
        SensitivitySpecificityDisplay.from_predictions([0, 1], [0, 1], pos_label=2)


# ---------------------------------------------------------------------------
# BoundaryDisplay
# ---------------------------------------------------------------------------


def test_boundary_perceptron_line(blobs):
    X, y = blobs
    clf = PerceptronClassifier(random_state=0).fit(X, y)
    display = BoundaryDisplay.from_estimator(clf, X, y, response_method="predict")
    xs, ys = display.line_.get_data()
    w, b = clf.coef_.ravel(), clf.intercept_[0]
    np.testing.assert_allclose(w[0] * xs + w[1] * ys + b, 0, atol=1e-6)
    assert len(display.scatters_) == 2
    assert display.ax_.get_xlabel() == "x1" and display.ax_.get_ylabel() == "x2"
    assert display.decision_display_.surface_ is not None
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend[:2] == ["class 0", "class 1"]


def test_boundary_multiclass_and_pandas_names():
    X, y = make_blobs(n_samples=60, centers=3, random_state=0)
    X = pd.DataFrame(X, columns=["height", "weight"])
    clf = LogisticGD(max_iter=50, random_state=0).fit(X, y)
    display = BoundaryDisplay.from_estimator(clf, X, y)
    assert display.line_ is None  # three classes: no single line
    assert len(display.scatters_) == 3
    assert display.ax_.get_xlabel() == "height"


def test_boundary_errors(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="2 features"):
        BoundaryDisplay.from_estimator(
            LogisticGD(max_iter=5).fit(np.c_[X, X], y), np.c_[X, X], y
        )
    with pytest.raises(ValueError, match="only supports classifiers"):
        BoundaryDisplay.from_estimator(LinearRegression().fit(X, y), X, y)


# ---------------------------------------------------------------------------
# SearchRoundsDisplay
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted_search(blobs):
    X, y = blobs
    return CoarseToFineSearchCV(
        LogisticGD(random_state=0),
        {"learning_rate": loguniform(1e-3, 1.0), "batch_size": [None, 8, 16]},
        n_iter=4,
        n_rounds=3,
        coarse_params={"max_iter": 3},
        random_state=0,
    ).fit(X, y)


def test_search_rounds(fitted_search):
    display = SearchRoundsDisplay.from_estimator(fitted_search)
    assert len(display.axes_) == 2
    lr_ax, batch_ax = display.axes_
    assert lr_ax.get_xlabel() == "learning_rate"
    assert lr_ax.get_xscale() == "log"
    assert lr_ax.get_ylabel() == "mean validation score"
    assert [t.get_text() for t in batch_ax.get_xticklabels()] == ["None", "8", "16"]
    rounds = fitted_search.cv_results_["round"]
    for r in range(3):
        points = display.scatters_["learning_rate", r].get_offsets()
        assert len(points) == np.sum(rounds == r)
        # One light span and one strip per range sampled.
        assert len(display.spans_["learning_rate", r]) == 2
    # The shaded range of each round is the one it sampled from.
    for r, distributions in enumerate(fitted_search.rounds_):
        low, high = distributions["learning_rate"].support()
        span = display.spans_["learning_rate", r][0]
        np.testing.assert_allclose(
            [span.get_x(), span.get_x() + span.get_width()], [low, high]
        )
    legend = [t.get_text() for t in display.figure_.legends[0].get_texts()]
    assert legend[0] == "round 0: 4 candidates (max_iter=3)"
    assert legend[2] == "round 2: 4 candidates"


def test_search_rounds_of_a_multi_metric_search_without_refit(blobs):
    """refit=False with several metrics: the y axis is the metric that narrowed
    the ranges. Catches ``KeyError: 'mean_test_False'`` (the score key built
    from ``refit``) and a display that plots another metric's scores."""
    X, y = blobs
    search = CoarseToFineSearchCV(
        LogisticGD(random_state=0),
        {"learning_rate": loguniform(1e-3, 1.0)},
        n_iter=3,
        n_rounds=2,
        scoring={"accuracy": "accuracy", "nll": "neg_log_loss"},
        refit=False,
        narrowing_metric="nll",
        random_state=0,
    ).fit(X, y)
    nll = search.cv_results_["mean_test_nll"]
    assert not np.allclose(nll, search.cv_results_["mean_test_accuracy"])
    display = SearchRoundsDisplay.from_estimator(search)
    assert display.ax_.get_ylabel() == "mean validation score\n(nll)"
    rounds = search.cv_results_["round"]
    for r in range(2):
        points = display.scatters_["learning_rate", r].get_offsets()
        np.testing.assert_array_equal(
            points[:, 0], search.cv_results_["param_learning_rate"][rounds == r]
        )
        np.testing.assert_array_equal(points[:, 1], nll[rounds == r])
    # No best_index_ without refit: the star is the best nll of all rounds.
    star = display.ax_.collections[-1].get_offsets()
    np.testing.assert_array_equal(star, [[
        search.cv_results_["param_learning_rate"][np.argmax(nll)], nll.max()
    ]])  # fmt: skip


def test_search_rounds_over_a_list_of_dicts(blobs):
    """param_distributions as a list of dicts (rounds_ holds a list per round):
    one panel per parameter of any dict, each candidate in the panels of the
    parameters its dict set, one shaded range per dict that has the parameter.
    Catches the ValueError the display raised on such rounds, and ranges or
    points taken from the wrong dict."""
    X, y = blobs
    search = CoarseToFineSearchCV(
        LogisticGD(random_state=0),
        [
            {"learning_rate": loguniform(1e-3, 1.0)},
            {"learning_rate": [0.01, 0.5], "batch_size": [None, 8, 16]},
        ],
        n_iter=4,
        n_rounds=3,
        coarse_params={"max_iter": 3},
        random_state=0,
    ).fit(X, y)
    results = search.cv_results_
    rounds, source = results["round"], results["distributions_index"]
    assert set(source) == {0, 1}  # both dicts gave candidates
    display = SearchRoundsDisplay.from_estimator(search)
    lr_ax, batch_ax = display.axes_
    assert [lr_ax.get_xlabel(), batch_ax.get_xlabel()] == [
        "learning_rate",
        "batch_size",
    ]
    # A distribution in one dict: a numeric (log) axis for learning_rate, where
    # the other dict's list of numbers is shaded from its lowest to highest.
    assert lr_ax.get_xscale() == "log"
    assert [t.get_text() for t in batch_ax.get_xticklabels()] == ["None", "8", "16"]
    for r, (first, second) in enumerate(search.rounds_):
        lr_spans = display.spans_["learning_rate", r]
        expected = [first["learning_rate"].support(), (0.01, 0.5)]
        assert len(lr_spans) == 2 * len(expected)  # a light span and a strip each
        for span, (low, high) in zip(lr_spans[::2], expected):
            np.testing.assert_allclose(
                [span.get_x(), span.get_x() + span.get_width()], [low, high]
            )
        # batch_size: one band per option the second dict still lists, centred
        # on the option's tick.
        options = second["batch_size"]
        batch_spans = display.spans_["batch_size", r][::2]
        assert len(batch_spans) == len(options)
        for span, option in zip(batch_spans, options):
            centre = span.get_x() + span.get_width() / 2
            assert centre == pytest.approx([None, 8, 16].index(option))
        in_round = rounds == r
        lr_points = display.scatters_["learning_rate", r].get_offsets()
        np.testing.assert_array_equal(
            lr_points[:, 0], results["param_learning_rate"][in_round]
        )
        np.testing.assert_array_equal(
            lr_points[:, 1], results["mean_test_score"][in_round]
        )
        # Only the candidates of the second dict have a batch_size to show.
        batch_points = display.scatters_["batch_size", r].get_offsets()
        shown = ~np.ma.getmaskarray(batch_points[:, 0])
        np.testing.assert_array_equal(shown, source[in_round] == 1)


def test_search_rounds_subset_and_errors(fitted_search):
    _, ax = plt.subplots()
    display = SearchRoundsDisplay.from_estimator(
        fitted_search, params=["learning_rate"], ax=ax
    )
    assert display.ax_ is ax
    with pytest.raises(ValueError, match="no candidates"):
        SearchRoundsDisplay.from_estimator(fitted_search, params=["alpha"])
    with pytest.raises(ValueError, match="no `cv_results_`"):
        SearchRoundsDisplay.from_estimator(LogisticGD())


# ---------------------------------------------------------------------------
# Image displays from arrays
# ---------------------------------------------------------------------------


def test_conv_filters_from_kernels():
    kernels = np.random.default_rng(0).normal(size=(3, 3, 2, 5))
    display = ConvFiltersDisplay(kernels, layer_name="conv").plot(ncols=3)
    assert len(display.images_) == 5
    # Two input channels: their mean is drawn, on a scale centred on zero.
    np.testing.assert_allclose(
        display.images_[1].get_array(), kernels[..., 1].mean(axis=2)
    )
    vmin, vmax = display.images_[0].get_clim()
    assert vmin == -vmax
    assert "mean over 2 input channels" in display.figure_._suptitle.get_text()
    one = ConvFiltersDisplay(kernels, channel=1).plot()
    np.testing.assert_allclose(one.images_[0].get_array(), kernels[:, :, 1, 0])
    with pytest.raises(ValueError, match=r"\(kh, kw, c_in, filters\)"):
        ConvFiltersDisplay(kernels[0]).plot()


def test_feature_maps_from_arrays():
    maps = np.random.default_rng(0).random((4, 4, 3))
    image = np.ones((5, 5, 1))
    display = FeatureMapsDisplay(maps, image=image).plot()
    assert len(display.axes_) == 4
    assert display.axes_[0].get_title() == "input"
    assert [ax.get_title() for ax in display.axes_[1:]] == ["map 0", "map 1", "map 2"]
    with pytest.raises(ValueError, match="n_filters"):
        FeatureMapsDisplay(maps[..., 0]).plot()


def test_augmentation_from_arrays():
    images = np.random.default_rng(0).random((3, 6, 6, 1))
    augmented = np.stack([images[:, :, ::-1], images[:, ::-1]])
    display = AugmentationDisplay(images, augmented).plot()
    assert display.axes_.shape == (3, 3)
    assert display.axes_[0, 0].get_ylabel() == "original"
    assert display.axes_[2, 0].get_ylabel() == "augmented 2"
    np.testing.assert_allclose(
        display.axes_[1, 0].get_images()[0].get_array(), images[0, :, ::-1, 0]
    )


def test_augmentation_titles_describe_the_drawn_rotation_and_zoom():
    """Each augmented panel is its original rotated and zoomed as its title
    says, re-done with scipy from the title's numbers. Catches panels showing
    another copy, titles of another copy, and an angle's sign or the zoom axes
    swapped in the titles."""
    import re

    from scipy import ndimage

    from skdeep.augmentation import ImageAugmenter

    rows, cols = np.meshgrid(np.arange(16.0), np.arange(16.0), indexing="ij")
    images = np.stack([rows + 2 * cols, 2 * rows - cols + 20])[..., None]
    augmenter = ImageAugmenter(rotation_range=40, zoom_range=[0.5, 1], random_state=0)
    display = AugmentationDisplay.from_augmenter(augmenter, images, n_rows=3)
    assert display.axes_.shape == (4, 2)
    np.testing.assert_array_equal(
        display.axes_[0, 1].get_images()[0].get_array(), images[1, :, :, 0]
    )
    centre = np.array([7.5, 7.5])
    for r in range(1, 4):
        for j in range(2):
            axis = display.axes_[r, j]
            title = re.fullmatch(
                r"rot ([+-]\d+)°  zoom (\d\.\d\d)×(\d\.\d\d)", axis.get_title()
            )
            angle, zoom_x, zoom_y = map(float, title.groups())
            # Output pixel p reads c + R Z (p - c), R turning counter-clockwise.
            theta = np.deg2rad(angle)
            rotation = np.array(
                [[np.cos(theta), np.sin(theta)], [-np.sin(theta), np.cos(theta)]]
            )
            matrix = rotation @ np.diag([zoom_y, zoom_x])
            expected = ndimage.affine_transform(
                images[j, :, :, 0], matrix, centre - matrix @ centre, order=1,
                mode="nearest",
            )  # fmt: skip
            # The title rounds the angle to 1° and zooms to 0.01: on these
            # slopes (at most 2.3 per pixel) that moves values by under 0.4.
            np.testing.assert_allclose(
                axis.get_images()[0].get_array(), expected, atol=0.4
            )


def test_augmentation_titles_describe_shifts_and_flips():
    """Whole-pixel shifts and flips read off the panels match the titles.
    Catches a shift's sign or axis, or a flip, misreported."""
    import re

    from skdeep.augmentation import ImageAugmenter

    columns = np.tile(np.arange(9.0), (9, 1))[None, :, :, None]  # value = column
    augmenter = ImageAugmenter(
        width_shift_range=2, height_shift_range=1, horizontal_flip=True,
        random_state=0,
    )  # fmt: skip
    display = AugmentationDisplay.from_augmenter(augmenter, columns, n_rows=8)
    titles = [display.axes_[r, 0].get_title() for r in range(1, 9)]
    assert any("flip" in title for title in titles)
    assert any("flip" not in title for title in titles)
    for r, title in enumerate(titles, start=1):
        shift = re.fullmatch(r"shift ([+-]\d),([+-]\d)(  flip)?", title)
        dx, flipped = int(shift.group(1)), shift.group(3) is not None
        middle = display.axes_[r, 0].get_images()[0].get_array()[4, 4]
        # The middle pixel reads column 4 - dx of the (mirrored) image.
        assert middle == (8 - (4 - dx) if flipped else 4 - dx)


def test_augmentation_titles_must_match_the_copies():
    """Catches titles silently dropped or misplaced when their shape is wrong."""
    images = np.zeros((3, 4, 4, 1))
    with pytest.raises(ValueError, match=r"`titles` must have shape"):
        AugmentationDisplay(images, images[None], titles=[["a", "b"]]).plot()


def test_grid_too_few_axes():
    _, axes = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="5 panels"):
        ConvFiltersDisplay(np.zeros((2, 2, 1, 5))).plot(ax=axes)


# ---------------------------------------------------------------------------
# Image displays from a fitted ConvNetClassifier
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:120] / 16.0, y[:120]


@pytest.fixture(scope="module")
def fitted_convnet(digits):
    from skdeep import ConvNetClassifier
    from skdeep.augmentation import ImageAugmenter
    from skdeep.layers import Conv2D, Flatten, MaxPooling2D

    X, y = digits
    return ConvNetClassifier(
        [
            Conv2D(3, 3, padding="same", activation="relu"),
            MaxPooling2D(2),
            Conv2D(4, 2, activation="relu"),
            Flatten(),
        ],
        input_shape=(8, 8, 1),
        augmentation=ImageAugmenter(width_shift_range=1, random_state=0),
        max_iter=2,
        random_state=0,
    ).fit(X, y)


def test_conv_filters_from_estimator(fitted_convnet):
    display = ConvFiltersDisplay.from_estimator(fitted_convnet)
    kernels = fitted_convnet.network_.layers[0].params["W"]
    assert len(display.images_) == 3
    np.testing.assert_allclose(display.images_[2].get_array(), kernels[:, :, 0, 2])
    assert display.figure_._suptitle.get_text().startswith("Conv2D (layer 0)")
    # The second Conv2D layer has 3 input channels: its mean is drawn.
    second = ConvFiltersDisplay.from_estimator(fitted_convnet, layer=1)
    assert len(second.images_) == 4
    assert "layer 2" in second.figure_._suptitle.get_text()
    with pytest.raises(ValueError, match="2 Conv2D layers"):
        ConvFiltersDisplay.from_estimator(fitted_convnet, layer=2)
    with pytest.raises(ValueError, match="no fitted network"):
        ConvFiltersDisplay.from_estimator(LogisticGD())


def test_feature_maps_from_estimator(fitted_convnet, digits):
    X, _ = digits
    display = FeatureMapsDisplay.from_estimator(fitted_convnet, X[0])
    first = fitted_convnet.network_.layers[0]
    expected = first.forward(X[:1].reshape(1, 8, 8, 1).astype(np.float32))[0]
    assert len(display.images_) == 3
    np.testing.assert_allclose(display.images_[1].get_array(), expected[..., 1])
    np.testing.assert_allclose(
        display.axes_[0].get_images()[0].get_array(), X[0].reshape(8, 8)
    )
    # A batch gives the maps of its first image; max_maps limits the panels.
    batch = FeatureMapsDisplay.from_estimator(fitted_convnet, X[:5], max_maps=2)
    assert len(batch.images_) == 2
    deeper = FeatureMapsDisplay.from_estimator(fitted_convnet, X[0], layer=1)
    assert deeper.feature_maps.shape == (3, 3, 4)


def test_feature_maps_through_pipeline(fitted_convnet, digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), fitted_convnet).fit(X, y)
    display = FeatureMapsDisplay.from_estimator(pipe, X[3])
    scaled = pipe[0].transform(X[3:4]).reshape(8, 8)
    np.testing.assert_allclose(
        display.axes_[0].get_images()[0].get_array(), scaled, rtol=1e-5
    )


def test_augmentation_from_estimator(fitted_convnet, digits):
    X, _ = digits
    display = AugmentationDisplay.from_estimator(fitted_convnet, X, n_images=4)
    assert display.axes_.shape == (3, 4)
    copies = fitted_convnet.augmentation.augment(X[:4].reshape(4, 8, 8, 1), n_copies=2)
    np.testing.assert_allclose(display.augmented[1, 3], copies[4 + 3])
    from skdeep import ConvNetClassifier

    with pytest.raises(ValueError, match="no `augmentation`"):
        AugmentationDisplay.from_estimator(ConvNetClassifier(), X)
