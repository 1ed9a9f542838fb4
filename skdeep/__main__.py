"""Command line: ``python -m skdeep demo`` runs the notes' story end to end.

``python -m skdeep --help`` lists the commands.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

from sklearn.exceptions import ConvergenceWarning

DEFAULT_OUT = "skdeep-demo-output"


def _section(title):
    print(f"\n== {title} " + "=" * max(0, 74 - len(title)), flush=True)


def _progress(message):
    print(f"  .. {message}", flush=True)


def _cancer_detection(out, random_state, quick):
    """Notes 二.12 and 四: tune an MLP by coarse-to-fine search, report on hold-out."""
    import numpy as np
    from scipy.stats import loguniform
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skdeep import (
        CoarseToFineSearchCV,
        LogisticGD,
        MLPNetClassifier,
        PerceptronClassifier,
    )
    from skdeep.metrics import (
        sensitivity_score,
        sensitivity_specificity_report,
        specificity_score,
    )

    _section("Cancer detection on scikit-learn's breast-cancer data (notes 四)")
    data = load_breast_cancer()
    # Name the classes so that "malignant" is the positive class everywhere below.
    y = data.target_names[data.target]
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, y, test_size=0.25, stratify=y, random_state=random_state
    )
    print(
        f"{len(X_train)} training and {len(X_test)} held-out tumours; "
        "positive class = malignant"
    )

    rows = []

    def report(name, model, seconds):
        y_pred = model.predict(X_test)
        rows.append(
            {
                "model": name,
                "accuracy": np.mean(y_pred == y_test),
                "sensitivity": sensitivity_score(
                    y_test, y_pred, pos_label="malignant"
                ),
                "specificity": specificity_score(
                    y_test, y_pred, pos_label="malignant"
                ),
                "fit seconds": seconds,
            }
        )

    for name, estimator in [
        ("PerceptronClassifier", PerceptronClassifier(random_state=random_state)),
        ("LogisticGD", LogisticGD(random_state=random_state)),
    ]:
        _progress(f"fitting {name}")
        start = time.perf_counter()
        model = make_pipeline(StandardScaler(), estimator).fit(X_train, y_train)
        report(name, model, time.perf_counter() - start)

    _progress(
        "coarse-to-fine search of an MLP's learning rate, L2 strength and size "
        "(notes 二.12): few epochs first, then narrower ranges"
    )
    pipeline = make_pipeline(
        StandardScaler(),
        MLPNetClassifier(max_iter=60, batch_size=32, random_state=random_state),
    )
    search = CoarseToFineSearchCV(
        pipeline,
        {
            "mlpnetclassifier__learning_rate": loguniform(1e-4, 1e-1),
            "mlpnetclassifier__alpha": loguniform(1e-6, 1e-1),
            "mlpnetclassifier__hidden_layer_sizes": [(16,), (64,), (64, 32)],
        },
        n_iter=4 if quick else 8,
        n_rounds=2 if quick else 3,
        coarse_params={"mlpnetclassifier__max_iter": 5},
        random_state=random_state,
        verbose=1,
    )
    start = time.perf_counter()
    search.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    for round_index, distributions in enumerate(search.rounds_):
        lr = distributions["mlpnetclassifier__learning_rate"]
        low, high = lr.support()
        print(f"  round {round_index}: learning_rate in [{low:.2g}, {high:.2g}]")
    print(f"  best validation accuracy {search.best_score_:.3f} with")
    for key, value in search.best_params_.items():
        print(f"    {key.split('__')[-1]} = {value}")
    report("MLPNetClassifier (searched)", search, seconds)

    import pandas as pd

    _section("Held-out results (positive class = malignant)")
    print(pd.DataFrame(rows).set_index("model").round(3).to_string())
    print()
    print(
        sensitivity_specificity_report(y_test, search.predict(X_test))
        .round(3)
        .to_string()
    )

    if out is not None:
        _cancer_plots(out, search, X_test, y_test)
    return search


def _cancer_plots(out, search, X_test, y_test):
    from skdeep.plotting import (
        SearchRoundsDisplay,
        SensitivitySpecificityDisplay,
        TrainingHistoryDisplay,
    )

    plt = _pyplot()
    display = SensitivitySpecificityDisplay.from_estimator(
        search, X_test, y_test, pos_label="malignant"
    )
    _save(display.figure_, out / "cancer_confusion_matrix.png")
    display = SearchRoundsDisplay.from_estimator(search)
    _save(display.figure_, out / "cancer_search_rounds.png")
    display = TrainingHistoryDisplay.from_estimator(search.best_estimator_[-1])
    _save(display.figure_, out / "cancer_mlp_history.png")
    plt.close("all")


def _digits_convnet(out, random_state, quick):
    """Notes 三: a small ConvNet on the bundled 8x8 digits, with augmentation."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from skdeep import ConvNetClassifier
    from skdeep.augmentation import ImageAugmenter
    from skdeep.layers import Conv2D, Dense, Flatten, MaxPooling2D

    _section("A ConvNet on the bundled 8x8 digits (notes 三)")
    digits = load_digits()
    images = digits.images[..., None] / 16.0  # (n, 8, 8, 1), pixels in [0, 1]
    X_train, X_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, stratify=digits.target,
        random_state=random_state,
    )
    model = ConvNetClassifier(
        layers=[
            Conv2D(16, 3, padding="same", activation="relu"),
            MaxPooling2D(),
            Conv2D(32, 3, padding="same", activation="relu"),
            MaxPooling2D(),
            Flatten(),
            Dense(64, activation="relu"),
        ],
        optimizer="adam",
        batch_size=32,
        max_iter=8 if quick else 30,
        augmentation=ImageAugmenter(width_shift_range=0.125, height_shift_range=0.125),
        early_stopping=True,
        n_iter_no_change=8,
        random_state=random_state,
        verbose=1,
    )
    print(model.set_params(input_shape=(8, 8, 1)).summary())
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    print(
        f"  held-out accuracy {model.score(X_test, y_test):.3f} "
        f"after {model.n_iter_} epochs in {seconds:.1f} s "
        "(best validation epoch's weights restored)"
    )
    if out is not None:
        from skdeep.plotting import (
            AugmentationDisplay,
            ConvFiltersDisplay,
            FeatureMapsDisplay,
            TrainingHistoryDisplay,
        )

        plt = _pyplot()
        _save(
            TrainingHistoryDisplay.from_estimator(model).figure_,
            out / "digits_convnet_history.png",
        )
        _save(
            ConvFiltersDisplay.from_estimator(model).figure_,
            out / "digits_conv_filters.png",
        )
        _save(
            FeatureMapsDisplay.from_estimator(model, X_test[:1]).figure_,
            out / "digits_feature_maps.png",
        )
        _save(
            AugmentationDisplay.from_estimator(model, X_test[:6]).figure_,
            out / "digits_augmentation.png",
        )
        plt.close("all")
    return model


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path):
    figure.savefig(path, dpi=110, bbox_inches="tight")
    print(f"  wrote {path}")


def _plots_available():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def demo(out=DEFAULT_OUT, random_state=0, quick=False):
    """Run the demo; write plots under ``out`` (None: no plots)."""
    start = time.perf_counter()
    if out is not None:
        if _plots_available():
            out = Path(out)
            out.mkdir(parents=True, exist_ok=True)
            print(f"plots go to {out.resolve()}")
        else:
            print('matplotlib is not installed: no plots (pip install ".[plot]")')
            out = None
    with warnings.catch_warnings():
        # The coarse rounds stop after a few epochs on purpose (notes 二.12), and
        # early stopping ends the others: "not converged" tells the user nothing.
        warnings.simplefilter("ignore", ConvergenceWarning)
        _cancer_detection(out, random_state, quick)
        _digits_convnet(out, random_state, quick)
    print(f"\ndemo finished in {time.perf_counter() - start:.0f} s")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skdeep",
        description=(
            "skdeep: scikit-learn-compatible deep-learning estimators. "
            "Commands: 'demo' runs the course notes' story on scikit-learn's "
            "bundled data."
        ),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo_parser = commands.add_parser(
        "demo",
        help="cancer detection (perceptron, logistic regression, an MLP tuned by "
        "coarse-to-fine search; sensitivity/specificity) then a ConvNet on digits",
        description=(
            "Cancer detection on the breast-cancer data: a perceptron, a logistic "
            "regression by gradient descent and a Pipeline(StandardScaler, "
            "MLPNetClassifier) tuned by CoarseToFineSearchCV, reported by "
            "sensitivity and specificity with malignant as the positive class; "
            "then a ConvNetClassifier with augmentation on the 8x8 digits."
        ),
    )
    demo_parser.add_argument(
        "--out",
        default=DEFAULT_OUT,
        help=f"folder for the plots (default: {DEFAULT_OUT}; needs matplotlib)",
    )
    demo_parser.add_argument(
        "--no-plots", action="store_true", help="do not write any plot"
    )
    demo_parser.add_argument(
        "--random-state", type=int, default=0, help="seed of every random choice"
    )
    demo_parser.add_argument(
        "--quick", action="store_true", help="fewer candidates and epochs (tests)"
    )
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    demo(
        out=None if args.no_plots else args.out,
        random_state=args.random_state,
        quick=args.quick,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
