"""Bad input, across every estimator and layer (issue 8).

Each bad input must raise a ValueError, TypeError or NotFittedError whose message
names the argument and what was received -- never an IndexError, a crash deep in
numpy, or a silent NaN model -- and a fit that raises must leave the estimator as
it was before the call (``skdeep.utils._persistence.rollback_on_error``):

- a fresh estimator whose fit raises stays unfitted (no attribute ending in
  ``_``; ``check_is_fitted`` raises);
- a fitted estimator whose refit, warm start or ``partial_fit`` raises keeps its
  previous model exactly (weights, classes, counters, random streams), even when
  the failure happens in the middle of training.

Every bad input is one parametrized case, so ``pytest`` counts them.
"""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from skdeep import (
    CoarseToFineSearchCV,
    ConvNetClassifier,
    LogisticGD,
    MLPNetClassifier,
    MLPNetRegressor,
    PerceptronClassifier,
)
from skdeep.augmentation import ImageAugmenter
from skdeep.layers import (
    Activation,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    MaxPooling2D,
)
from skdeep.nn import training
from skdeep.optimizers import SGD, Adam, RMSProp

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)

BAD = (ValueError, TypeError, NotFittedError)

# ---------------------------------------------------------------------------
# Small, fast estimators and data
# ---------------------------------------------------------------------------

ESTIMATORS = {
    "PerceptronClassifier": lambda: PerceptronClassifier(max_iter=5, random_state=0),
    "LogisticGD": lambda: LogisticGD(max_iter=5, random_state=0),
    "MLPNetClassifier": lambda: MLPNetClassifier((4,), max_iter=3, random_state=0),
    "MLPNetRegressor": lambda: MLPNetRegressor((4,), max_iter=3, random_state=0),
    "ConvNetClassifier": lambda: ConvNetClassifier(
        [Conv2D(2, (1, 2), activation="relu"), Flatten()],
        max_iter=3,
        batch_size=8,
        random_state=0,
    ),
    "CoarseToFineSearchCV": lambda: CoarseToFineSearchCV(
        MLPNetClassifier((4,), max_iter=3, random_state=0),
        {"alpha": [1e-4, 1e-3]},
        n_iter=2,
        n_rounds=1,
        random_state=0,
    ),
}
CLASSIFIERS = [name for name in ESTIMATORS if name != "MLPNetRegressor"]
INCREMENTAL = [
    "PerceptronClassifier",
    "LogisticGD",
    "MLPNetClassifier",
    "MLPNetRegressor",
    "ConvNetClassifier",
]
WEIGHTED = ["LogisticGD", "MLPNetClassifier", "MLPNetRegressor", "ConvNetClassifier"]

RNG = np.random.default_rng(0)
X = RNG.normal(size=(20, 4))
Y_CLASS = np.arange(20) % 2


def targets(name):
    return X[:, 0] + 0.5 * X[:, 1] if name == "MLPNetRegressor" else Y_CLASS


def fitted(name):
    return ESTIMATORS[name]().fit(X, targets(name))


def fitted_attributes(estimator):
    return sorted(
        k for k in vars(estimator) if k.endswith("_") and not k.startswith("__")
    )


def assert_unfitted(estimator):
    assert fitted_attributes(estimator) == []
    with pytest.raises(NotFittedError):
        check_is_fitted(estimator)


# ---------------------------------------------------------------------------
# fit: bad X and y, every estimator
# ---------------------------------------------------------------------------


def _with(value, at=(0, 0)):
    X_bad = X.copy()
    X_bad[at] = value
    return X_bad


def _objects():
    X_bad = X.astype(object)
    X_bad[0, 0] = {"a": 1}
    return X_bad


# (case, X, y or None for the estimator's own targets, error, match). `match`
# names the argument (X, y, ...) and what was received.
FIT_CASES = [
    ("nan_in_X", lambda: _with(np.nan), None, ValueError, "Input X contains NaN"),
    ("inf_in_X", lambda: _with(np.inf), None, ValueError, "Input X contains infinity"),
    ("-inf_in_X", lambda: _with(-np.inf), None, ValueError, "X contains infinity"),
    ("empty_X", lambda: X[:0], "empty", ValueError, r"0 sample\(s\)|n_samples=0"),
    ("no_features", lambda: X[:, :0], None, ValueError, r"0 feature\(s\)"),
    ("y_wrong_length", lambda: X, "short", ValueError,
     r"inconsistent numbers of samples: \[20, 19\]"),
    ("y_none", lambda: X, "none", ValueError, "requires y to be passed"),
    ("nan_in_y", lambda: X, "nan", ValueError, "Input y contains NaN"),
    ("strings_in_X", lambda: np.full((20, 4), "a"), None, ValueError,
     r"Invalid X \(a ndarray of dtype <U1 and shape \(20, 4\)\).*could not convert"),
    ("objects_in_X", _objects, None, TypeError,
     r"Invalid X \(a ndarray of dtype object.*argument must be a string.* number"),
    ("ragged_list_X", lambda: [[1.0, 2.0], [3.0]] * 10, None, ValueError,
     r"Invalid X \(a list\).*sequence"),
    ("string_column_in_DataFrame",
     lambda: pd.DataFrame({"a": ["x"] * 20, "b": 1.0}), None, ValueError,
     r"Invalid X \(a DataFrame with column dtypes \['float64', '(object|str)'\]\)"),
    ("1d_X", lambda: X[:, 0], None, ValueError,
     r"Invalid X \(a ndarray of dtype float64 and shape \(20,\)\).*Expected 2D"),
    ("complex_X", lambda: X + 1j, None, ValueError,
     r"Invalid X \(a ndarray of dtype complex128.*Complex data not supported"),
    ("y_3d", lambda: X, "3d", ValueError, "dim 3"),
]


def _bad_y(name, kind):
    y = targets(name)
    return {
        None: y,
        "empty": y[:0],
        "short": y[:-1],
        "none": None,
        "nan": np.where(np.arange(20) == 0, np.nan, y.astype(float)),
        "3d": np.zeros((20, 2, 2)),
    }[kind]


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize(
    "case, make_X, y_kind, error, match", FIT_CASES, ids=[c[0] for c in FIT_CASES]
)
def test_fit_rejects_bad_data(name, case, make_X, y_kind, error, match):
    estimator = ESTIMATORS[name]()
    with pytest.raises(error, match=match):
        estimator.fit(make_X(), _bad_y(name, y_kind))
    assert_unfitted(estimator)


def test_3d_X_to_a_tabular_estimator_names_X():
    for name in ESTIMATORS:
        if name == "ConvNetClassifier":
            continue  # 3-D input is a batch of one-channel images there
        with pytest.raises(ValueError, match=r"Invalid X .*shape \(20, 2, 2\).*dim 3"):
            ESTIMATORS[name]().fit(X.reshape(20, 2, 2), targets(name))


@pytest.mark.parametrize("name", CLASSIFIERS)
@pytest.mark.parametrize("n_samples", [1, 20], ids=["one_sample", "one_class"])
def test_classifiers_need_two_classes(name, n_samples):
    estimator = ESTIMATORS[name]()
    y = np.zeros(n_samples, dtype=int)
    match = "n_samples=1" if name == "CoarseToFineSearchCV" and n_samples == 1 else (
        "only one class: 0"
    )
    with pytest.raises(ValueError, match=match):
        estimator.fit(X[:n_samples], y)
    assert_unfitted(estimator)


@pytest.mark.parametrize("n_samples", [1, 20], ids=["one_sample", "constant_y"])
def test_regressor_fits_one_sample_or_a_constant_target(n_samples):
    """scikit-learn allows a regressor either to fit one sample or to refuse
    it; fitting it is the clean outcome. Trained long enough, the regressor
    predicts the constant target on its training rows (to 0.01; about 1e-4
    and 4e-3 are reached). Catches a model that loses the level of a target
    with no variance (e.g. standardising y, with a constant mapped to 0) or
    turns it into NaN, which a finiteness check alone lets through."""
    regressor = MLPNetRegressor(
        (4,), optimizer="momentum", learning_rate=0.1, batch_size=None,
        max_iter=300, tol=0.0, n_iter_no_change=300, random_state=0,
    )  # fmt: skip
    regressor.fit(X[:n_samples], np.full(n_samples, 3.0))
    np.testing.assert_allclose(regressor.predict(X[:n_samples]), 3.0, atol=0.01)
    assert np.isfinite(regressor.predict(X)).all()


@pytest.mark.parametrize("name", ["PerceptronClassifier", "LogisticGD",
                                  "MLPNetClassifier", "ConvNetClassifier"])
def test_continuous_y_to_a_classifier(name):
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        ESTIMATORS[name]().fit(X, X[:, 0])


def test_string_y_to_a_regressor_names_y():
    with pytest.raises(ValueError, match=r"Invalid y \(a ndarray of dtype <U1.*"):
        MLPNetRegressor(max_iter=2).fit(X, np.array(["a", "b"] * 10))


@pytest.mark.parametrize("name", ["PerceptronClassifier", "LogisticGD",
                                  "MLPNetClassifier", "MLPNetRegressor"])
@pytest.mark.parametrize("fmt", ["coo", "lil", "dok"])
def test_sparse_X_of_any_format_is_taken_as_csr(name, fmt):
    # Estimators whose first layer is Dense take sparse rows (tests/test_base.py
    # compares them with dense ones); other scipy formats are converted.
    X_sparse = sparse.csr_matrix(X).asformat(fmt)
    estimator = ESTIMATORS[name]().fit(X_sparse, targets(name))
    np.testing.assert_allclose(
        estimator.predict(X_sparse), estimator.predict(X), rtol=1e-5, atol=1e-6
    )


def test_sparse_X_is_refused_by_the_convnet_with_a_clear_message():
    with pytest.raises(TypeError, match="dense images; received a sparse"):
        ESTIMATORS["ConvNetClassifier"]().fit(sparse.csr_matrix(X), targets(
            "ConvNetClassifier"))


SAMPLE_WEIGHT_CASES = [
    ("wrong_length", np.ones(5), r"sample_weight.shape == \(5,\), expected \(20,\)"),
    ("negative", -np.ones(20), "Negative values in data passed to `sample_weight`"),
    ("all_zero", np.zeros(20), "(at least one|non-zero)"),
    ("nan", np.full(20, np.nan), "Input sample_weight contains NaN"),
    ("2d", np.ones((20, 2)), r"sample_weight"),
]


@pytest.mark.parametrize("name", WEIGHTED)
@pytest.mark.parametrize(
    "case, sample_weight, match",
    SAMPLE_WEIGHT_CASES,
    ids=[c[0] for c in SAMPLE_WEIGHT_CASES],
)
def test_bad_sample_weight(name, case, sample_weight, match):
    estimator = ESTIMATORS[name]()
    with pytest.raises(ValueError, match=match):
        estimator.fit(X, targets(name), sample_weight=sample_weight)
    assert_unfitted(estimator)


@pytest.mark.parametrize("name", ["LogisticGD", "MLPNetClassifier",
                                  "ConvNetClassifier"])
def test_class_weight_for_an_unknown_class(name):
    estimator = ESTIMATORS[name]().set_params(class_weight={7: 2.0})
    with pytest.raises(ValueError, match=r"class_weight"):
        estimator.fit(X, Y_CLASS)
    assert_unfitted(estimator)


# ---------------------------------------------------------------------------
# predict, score and partial_fit after fit
# ---------------------------------------------------------------------------

PREDICT_CASES = [
    ("wrong_n_features", lambda: X[:, :3], ValueError,
     "X has 3 features, but .* is expecting 4 features"),
    ("nan", lambda: _with(np.nan)[:3], ValueError, "Input X contains NaN"),
    ("inf", lambda: _with(np.inf)[:3], ValueError, "Input X contains infinity"),
    ("empty", lambda: X[:0], ValueError, r"0 sample\(s\)"),
    ("strings", lambda: np.full((2, 4), "a"), ValueError,
     r"Invalid X \(a ndarray of dtype <U1.*could not convert"),
    ("3d", lambda: X.reshape(20, 2, 2), ValueError,
     r"dim 3|images of shape \(2, 2, 1\)"),
    ("1d", lambda: X[0], ValueError, "Expected 2D array"),
]


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize(
    "case, make_X, error, match", PREDICT_CASES, ids=[c[0] for c in PREDICT_CASES]
)
def test_predict_rejects_bad_data(name, case, make_X, error, match):
    estimator = fitted(name)
    methods = ["predict", "predict_proba", "predict_log_proba", "decision_function"]
    for method in methods:
        if hasattr(estimator, method):
            with pytest.raises(error, match=match):
                getattr(estimator, method)(make_X())


@pytest.mark.parametrize(
    "name, method",
    [
        (name, method)
        for name in ESTIMATORS
        for method in ["predict", "predict_proba", "predict_log_proba",
                       "decision_function", "score"]
        if hasattr(ESTIMATORS[name](), method)
    ],
)
def test_methods_before_fit_raise_not_fitted(name, method):
    estimator = ESTIMATORS[name]()
    args = (X, targets(name)) if method == "score" else (X,)
    with pytest.raises(NotFittedError, match=f"This {name} instance is not fitted"):
        getattr(estimator, method)(*args)


@pytest.mark.parametrize("name", ["MLPNetClassifier", "MLPNetRegressor",
                                  "ConvNetClassifier"])
@pytest.mark.parametrize("method", ["summary", "get_weights", "history_"])
def test_inspection_before_fit_raises_not_fitted(name, method):
    estimator = ESTIMATORS[name]()
    with pytest.raises(NotFittedError):
        attribute = getattr(estimator, method)
        attribute()


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_score_with_labels_unseen_in_fit_warns(name):
    # Unseen labels can only be errors; score says so instead of raising, so
    # that a cross-validation fold holding a rare class still gets a score.
    estimator = fitted(name)
    y_unseen = np.where(np.arange(20) < 4, 5, Y_CLASS)
    with pytest.warns(UserWarning, match=r"y contains labels \[5\] that .* never saw"):
        score = estimator.score(X, y_unseen)
    assert score <= 16 / 20


@pytest.mark.parametrize("name", [n for n in INCREMENTAL if n != "MLPNetRegressor"])
def test_partial_fit_with_unseen_labels(name):
    estimator = ESTIMATORS[name]().partial_fit(X, Y_CLASS, classes=[0, 1])
    before = pickle_state(estimator)
    with pytest.raises(ValueError, match=r"y contains (labels|classes) \[5, 6\]"):
        estimator.partial_fit(X, Y_CLASS + 5)
    assert pickle_state(estimator) == before


@pytest.mark.parametrize("name", [n for n in INCREMENTAL if n != "MLPNetRegressor"])
def test_partial_fit_first_call_needs_classes(name):
    estimator = ESTIMATORS[name]()
    with pytest.raises(ValueError, match="`classes` must be passed on the first"):
        estimator.partial_fit(X, Y_CLASS)
    assert_unfitted(estimator)


@pytest.mark.parametrize("name", [n for n in INCREMENTAL if n != "MLPNetRegressor"])
def test_partial_fit_classes_must_not_change(name):
    estimator = ESTIMATORS[name]().partial_fit(X, Y_CLASS, classes=[0, 1])
    with pytest.raises(ValueError, match=r"`classes`=\[0, 1, 2\]"):
        estimator.partial_fit(X, Y_CLASS, classes=[0, 1, 2])


@pytest.mark.parametrize("name", INCREMENTAL)
def test_partial_fit_wrong_number_of_features(name):
    estimator = ESTIMATORS[name]()
    kwargs = {} if name == "MLPNetRegressor" else {"classes": [0, 1]}
    estimator.partial_fit(X, targets(name), **kwargs)
    with pytest.raises(ValueError, match="X has 3 features, but .* expecting 4"):
        estimator.partial_fit(X[:, :3], targets(name))


def test_regressor_partial_fit_with_another_number_of_outputs():
    regressor = ESTIMATORS["MLPNetRegressor"]().fit(X, targets("MLPNetRegressor"))
    with pytest.raises(ValueError, match="y has 2 outputs, but .* fitted with 1"):
        regressor.partial_fit(X, np.zeros((20, 2)))


# ---------------------------------------------------------------------------
# Parameters and layer specifications
# ---------------------------------------------------------------------------

PARAMETER_CASES = [
    ("MLPNetClassifier", {"optimizer": "bogus"}, r"'optimizer' parameter.*Got 'bogus'"),
    ("MLPNetClassifier", {"activation": "bogus"},
     r"'activation' parameter.*Got 'bogus'"),
    ("MLPNetRegressor", {"optimizer": "adamw"}, r"'optimizer' parameter.*Got 'adamw'"),
    ("ConvNetClassifier", {"optimizer": "bogus"},
     r"'optimizer' parameter.*Got 'bogus'"),
    ("MLPNetClassifier", {"hidden_layer_sizes": (0,)},
     r"`hidden_layer_sizes` must contain positive integers; received .*\(0,\)"),
    ("MLPNetClassifier", {"hidden_layer_sizes": (8, -3)},
     r"`hidden_layer_sizes` must contain positive integers; received .*\(8, -3\)"),
    ("MLPNetRegressor", {"hidden_layer_sizes": ("a",)},
     r"`hidden_layer_sizes` must contain positive integers; received .*'a'"),
    ("MLPNetClassifier", {"hidden_layer_sizes": 0},
     r"hidden_layer_sizes.*Got 0"),
    ("MLPNetClassifier", {"learning_rate": 0.0}, r"'learning_rate' parameter.*Got 0"),
    ("LogisticGD", {"learning_rate": -1.0}, r"'learning_rate' parameter.*Got -1"),
    ("PerceptronClassifier", {"learning_rate": np.nan},
     r"'learning_rate' parameter.*Got nan"),
    ("MLPNetClassifier", {"learning_rate": np.inf},
     r"'learning_rate' parameter.*Got inf"),
    ("LogisticGD", {"max_iter": 0}, r"'max_iter' parameter.*Got 0"),
    ("MLPNetClassifier", {"batch_size": 0}, r"'batch_size' parameter.*Got 0"),
    ("LogisticGD", {"batch_size": -5}, r"'batch_size' parameter.*Got -5"),
    ("MLPNetClassifier", {"dropout": 1.0}, r"'dropout' parameter.*Got 1.0"),
    ("MLPNetClassifier", {"momentum": 1.5}, r"'momentum' parameter.*Got 1.5"),
    ("MLPNetClassifier", {"validation_fraction": 1.5, "early_stopping": True},
     r"'validation_fraction' parameter.*Got 1.5"),
    ("MLPNetClassifier", {"clipnorm": -1.0}, r"'clipnorm' parameter.*Got -1"),
    ("MLPNetClassifier", {"dtype": np.int32}, r"'dtype' parameter"),
    ("LogisticGD", {"class_weight": "bogus"}, r"'class_weight' parameter.*'bogus'"),
    ("ConvNetClassifier", {"input_shape": (5, 5, 1)},
     r"`input_shape` \(5, 5, 1\) does not match X with 4 features"),
    ("ConvNetClassifier", {"input_shape": (-2, 2, 1)},
     r"`input_shape` must be .* positive integers; received input_shape=\(-2, 2, 1\)"),
    ("ConvNetClassifier", {"input_shape": (0, 4, 1)},
     r"positive integers; received input_shape=\(0, 4, 1\)"),
    ("ConvNetClassifier", {"input_shape": (1, 2, 2, 1)},
     r"received input_shape=\(1, 2, 2, 1\)"),
    ("ConvNetClassifier", {"input_shape": "2x2"},
     r"'input_shape' parameter.*Got '2x2'"),
    ("ConvNetClassifier", {"input_shape": (2.0, 2, 1)},
     r"positive integers; received input_shape=\(2.0, 2, 1\)"),
    ("ConvNetClassifier", {"layers": ["dense"]},
     r"`layers` must contain skdeep layers; received 'dense'"),
    ("ConvNetClassifier", {"layers": [Conv2D(2, 9)], "input_shape": (2, 2, 1)},
     r"Conv2D: the kernel 9x9 is larger than the 2x2 input"),
    ("ConvNetClassifier", {"layers": [MaxPooling2D(3)], "input_shape": (2, 2, 1)},
     r"MaxPooling2D: the pool size 3x3 is larger than the 2x2 input"),
    ("ConvNetClassifier", {"layers": [Dense(3)], "input_shape": (2, 2, 1)},
     r"Dense expects flat inputs .*received input_shape=\(2, 2, 1\)"),
    ("ConvNetClassifier", {"layers": [Flatten(), Conv2D(2, 1)]},
     r"Conv2D expects images .*received input_shape=\(4,\)"),
    ("ConvNetClassifier", {"augmentation": "flip"},
     r"'augmentation' parameter.*Got 'flip'"),
    ("ConvNetClassifier", {"pretrained": ConvNetClassifier()},
     r"`pretrained` must be a fitted ConvNetClassifier"),
    ("ConvNetClassifier", {"keep_layers": -1}, r"'keep_layers' parameter.*Got -1"),
    ("MLPNetClassifier", {"optimizer": SGD(learning_rate=-1.0)},
     r"SGD: `learning_rate` must be .*; received learning_rate=-1.0"),
    ("MLPNetClassifier", {"optimizer": SGD(momentum=2.0)},
     r"SGD: `momentum` must be .*; received momentum=2.0"),
    ("MLPNetClassifier", {"optimizer": Adam(learning_rate="x")},
     r"Adam: `learning_rate` must be .*; received learning_rate='x'"),
    ("MLPNetClassifier", {"optimizer": Adam(beta_1=1.0)},
     r"Adam: `beta_1` must be .*; received beta_1=1.0"),
    ("MLPNetClassifier", {"optimizer": RMSProp(rho=-0.5)},
     r"RMSProp: `rho` must be .*; received rho=-0.5"),
    ("MLPNetClassifier", {"optimizer": RMSProp(epsilon=-1e-7)},
     r"RMSProp: `epsilon` must be .*; received epsilon=-1e-07"),
    ("CoarseToFineSearchCV", {"n_iter": 0}, r"'n_iter' parameter.*Got 0"),
    ("CoarseToFineSearchCV", {"coarse_params": {"alpha": 1.0}},
     r"`coarse_params` must not set searched parameters"),
    ("CoarseToFineSearchCV", {"coarse_params": {"bogus": 1}},
     r"`coarse_params` must be parameters of the estimator; \['bogus'\]"),
    ("CoarseToFineSearchCV", {"param_distributions": {"bogus": [1, 2]}},
     r"[Ii]nvalid parameter 'bogus'"),
]


@pytest.mark.parametrize(
    "name, params, match",
    PARAMETER_CASES,
    ids=[f"{c[0]}-{'-'.join(c[1])}" for c in PARAMETER_CASES],
)
def test_bad_parameters(name, params, match):
    estimator = ESTIMATORS[name]().set_params(**params)
    with pytest.raises(BAD, match=match), warnings.catch_warnings():
        # A search reports failed candidates as a FitFailedWarning, then raises.
        warnings.simplefilter("ignore")
        estimator.fit(X, targets(name))
    assert_unfitted(estimator)


LAYER_CASES = [
    ("Dense(0)", lambda: Dense(0),
     r"`units` must be a positive integer; received units=0"),
    ("Dense(-1)", lambda: Dense(-1), r"received units=-1"),
    ("Dense(2.5)", lambda: Dense(2.5), r"received units=2.5"),
    ("Dense('a')", lambda: Dense("a"), r"received units='a'"),
    ("Dense(True)", lambda: Dense(True), r"received units=True"),
    ("Dense(activation)", lambda: Dense(3, activation="bogus"),
     r"Unknown activation 'bogus'"),
    ("Activation('bogus')", lambda: Activation("bogus"), r"Unknown activation 'bogus'"),
    ("Activation(3)", lambda: Activation(3), r"Unknown activation 3"),
    ("Dropout(1.0)", lambda: Dropout(1.0), r"`rate` must be .*; received rate=1.0"),
    ("Dropout(-0.1)", lambda: Dropout(-0.1), r"received rate=-0.1"),
    ("Dropout(nan)", lambda: Dropout(np.nan), r"received rate=nan"),
    ("Dropout('a')", lambda: Dropout("a"), r"received rate='a'"),
    ("Conv2D(filters=0)", lambda: Conv2D(0, 3), r"received filters=0"),
    ("Conv2D(filters=-4)", lambda: Conv2D(-4, 3), r"received filters=-4"),
    ("Conv2D(kernel_size=0)", lambda: Conv2D(2, 0), r"received kernel_size=0"),
    ("Conv2D(kernel_size=-1)", lambda: Conv2D(2, -1), r"received kernel_size=-1"),
    ("Conv2D(kernel_size=(3,))", lambda: Conv2D(2, (3,)),
     r"received kernel_size=\(3,\)"),
    ("Conv2D(kernel_size=(3, 0))", lambda: Conv2D(2, (3, 0)),
     r"received kernel_size=\(3, 0\)"),
    ("Conv2D(strides=0)", lambda: Conv2D(2, 3, strides=0), r"received strides=0"),
    ("Conv2D(strides=(1, -1))", lambda: Conv2D(2, 3, strides=(1, -1)),
     r"received strides=\(1, -1\)"),
    ("Conv2D(padding)", lambda: Conv2D(2, 3, padding="full"),
     r"`padding` must be 'valid' or 'same'; received padding='full'"),
    ("Conv2D(activation)", lambda: Conv2D(2, 3, activation="bogus"),
     r"Unknown activation 'bogus'"),
    ("MaxPooling2D(0)", lambda: MaxPooling2D(0), r"received pool_size=0"),
    ("MaxPooling2D(-2)", lambda: MaxPooling2D(-2), r"received pool_size=-2"),
    ("MaxPooling2D(strides=-1)", lambda: MaxPooling2D(2, strides=-1),
     r"received strides=-1"),
    ("MaxPooling2D(padding)", lambda: MaxPooling2D(2, padding="x"),
     r"received padding='x'"),
]


@pytest.mark.parametrize("make, match", [c[1:] for c in LAYER_CASES],
                         ids=[c[0] for c in LAYER_CASES])
def test_bad_layer_specs(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def _build(layer, shape):
    return lambda: layer.build(shape, np.random.default_rng(0))


def _forward(layer, shape, X_shape):
    def run():
        layer.build(shape, np.random.default_rng(0))
        layer.forward(np.ones(X_shape), training=True)

    return run


BUILD_CASES = [
    ("Conv2D_on_flat_input", _build(Conv2D(2, 3), (10,)),
     r"Conv2D expects images .*received input_shape=\(10,\)"),
    ("kernel_larger_than_image", _build(Conv2D(2, 5), (3, 3, 1)),
     r"the kernel 5x5 is larger than the 3x3 input"),
    ("kernel_larger_than_image_width", _build(Conv2D(2, (1, 4)), (3, 3, 1)),
     r"the kernel 1x4 is larger than the 3x3 input"),
    ("pool_larger_than_image", _build(MaxPooling2D(5), (3, 3, 1)),
     r"the pool size 5x5 is larger than the 3x3 input"),
    ("GAP_on_flat_input", _build(GlobalAveragePooling2D(), (3,)),
     r"GlobalAveragePooling2D expects images .*received input_shape=\(3,\)"),
    ("Dense_on_images", _build(Dense(3), (3, 3, 1)),
     r"Dense expects flat inputs .*received input_shape=\(3, 3, 1\)"),
    ("Dense_forward_wrong_features", _forward(Dense(2), (4,), (3, 5)),
     r"Dense was built for inputs of shape \(4,\); received .*\(3, 5\)"),
    ("Conv2D_forward_wrong_channels", _forward(Conv2D(2, 2), (4, 4, 1), (1, 4, 4, 3)),
     r"Conv2D was built for inputs of shape \(4, 4, 1\); received .*\(1, 4, 4, 3\)"),
]


@pytest.mark.parametrize("run, match", [c[1:] for c in BUILD_CASES],
                         ids=[c[0] for c in BUILD_CASES])
def test_layers_reject_inputs_they_cannot_take(run, match):
    with pytest.raises(ValueError, match=match):
        run()


def test_backward_without_forward_is_a_programming_error():
    # Not user data: the engine's contract (STYLE.md) is a RuntimeError.
    layer = Dense(2)
    layer.build((4,), np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="backward called without a preceding"):
        layer.backward(np.ones((1, 2)))


AUGMENTER_CASES = [
    ("negative_shift", lambda: ImageAugmenter(width_shift_range=-1).augment(
        np.zeros((1, 3, 3, 1))), r"'width_shift_range' parameter.*Got -1"),
    ("flat_rows", lambda: ImageAugmenter(width_shift_range=1).transform_batch(
        X, np.random.default_rng(0)), r"expects images .*received an array of shape"),
    ("n_copies_zero", lambda: ImageAugmenter().augment(np.zeros((1, 3, 3, 1)), 0),
     r"'n_copies' parameter.*Got 0"),
    ("flip_not_bool", lambda: ImageAugmenter(horizontal_flip="yes").augment(
        np.zeros((1, 3, 3, 1))), r"'horizontal_flip' parameter.*Got 'yes'"),
]


@pytest.mark.parametrize("run, match", [c[1:] for c in AUGMENTER_CASES],
                         ids=[c[0] for c in AUGMENTER_CASES])
def test_augmenter_rejects_bad_input(run, match):
    with pytest.raises(BAD, match=match):
        run()


def test_convnet_images_of_another_shape_at_predict():
    images = RNG.normal(size=(20, 4, 4, 1))
    net = ConvNetClassifier([Flatten()], max_iter=1, random_state=0)
    net.fit(images, Y_CLASS)
    with pytest.raises(ValueError, match="X has 9 features, but .* expecting 16"):
        net.predict(RNG.normal(size=(2, 3, 3, 1)))
    with pytest.raises(ValueError, match=r"images of shape \(2, 8, 1\).*\(4, 4, 1\)"):
        net.predict(RNG.normal(size=(2, 2, 8)))


def test_convnet_5d_input():
    with pytest.raises(ValueError, match=r"Invalid X .*shape \(20, 2, 2, 1, 1\)"):
        ESTIMATORS["ConvNetClassifier"]().fit(np.zeros((20, 2, 2, 1, 1)), Y_CLASS)


def test_transfer_keep_layers_too_large():
    images = RNG.normal(size=(20, 4, 4, 1))
    base = ConvNetClassifier([Flatten()], max_iter=1, random_state=0)
    base.fit(images, Y_CLASS)
    net = ConvNetClassifier(pretrained=base, keep_layers=5, max_iter=1)
    with pytest.raises(ValueError, match="`keep_layers`=5 is too large"):
        net.fit(images, Y_CLASS)
    assert_unfitted(net)


# ---------------------------------------------------------------------------
# A failed fit leaves no half-fitted estimator
# ---------------------------------------------------------------------------


def _canonical(value, depth=0):
    """A comparable form of an attribute: arrays by value, objects by state."""
    if depth > 20:
        return repr(value)
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, np.random.Generator):
        return ("generator", repr(value.bit_generator.state))
    if isinstance(value, np.random.RandomState):
        return ("random_state", repr(value.get_state(legacy=False)))
    if isinstance(value, dict):
        return {repr(k): _canonical(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v, depth + 1) for v in value]
    if isinstance(value, float | np.floating):
        return repr(float(value))  # NaN equals NaN here
    if hasattr(value, "__dict__") and not isinstance(value, type):
        state = value.__getstate__() if hasattr(value, "__getstate__") else vars(value)
        return (type(value).__qualname__, _canonical(state, depth + 1))
    return repr(value)


def pickle_state(estimator):
    """A comparable snapshot of every attribute (arrays by value)."""
    return _canonical(dict(vars(estimator)))


@pytest.mark.parametrize("name", ESTIMATORS)
def test_a_failed_refit_keeps_the_previous_model(name):
    estimator = fitted(name)
    before = pickle_state(estimator)
    predictions = estimator.predict(X)
    for bad_X, bad_y in [
        (_with(np.nan), targets(name)),
        (X[:, :2], targets(name)[:5]),
        (X, np.zeros(20) if name != "MLPNetRegressor" else None),
    ]:
        with pytest.raises(BAD):
            estimator.fit(bad_X, bad_y)
        assert pickle_state(estimator) == before
        np.testing.assert_array_equal(estimator.predict(X), predictions)


class Interrupt(MemoryError):
    pass


@pytest.mark.parametrize("name", ["MLPNetClassifier", "MLPNetRegressor",
                                  "ConvNetClassifier"])
@pytest.mark.parametrize("how", ["warm_start", "partial_fit", "fresh"])
def test_a_fit_failing_midway_is_rolled_back(name, how, monkeypatch):
    # A failure in the middle of training (here a MemoryError in the second
    # epoch, after the first has updated the weights in place) restores the
    # state before the call: the weights, counters, histories, optimizer state
    # and random streams -- a retry gives what an uninterrupted call gives.
    # (Ctrl-C is not a failure: it stops training and keeps the model.)
    y = targets(name)
    kwargs = {"classes": [0, 1]} if how == "partial_fit" and name != (
        "MLPNetRegressor") else {}
    method = "partial_fit" if how == "partial_fit" else "fit"
    estimator = ESTIMATORS[name]().set_params(warm_start=how == "warm_start")
    if how != "fresh":
        getattr(estimator, method)(X, y, **kwargs)
    reference = pickle.loads(pickle.dumps(estimator))
    getattr(reference, method)(X, y, **kwargs)
    before = pickle_state(estimator)

    original, calls = training.Trainer.train_epoch, []

    def interrupted(self, *args, **kw):
        calls.append(1)
        if len(calls) == 2 or method == "partial_fit":
            original(self, *args, **kw)  # update the weights in place first
            raise Interrupt
        return original(self, *args, **kw)

    monkeypatch.setattr(training.Trainer, "train_epoch", interrupted)
    with pytest.raises(Interrupt):
        getattr(estimator, method)(X, y, **kwargs)
    monkeypatch.setattr(training.Trainer, "train_epoch", original)
    if how == "fresh":
        assert_unfitted(estimator)
        return
    assert pickle_state(estimator) == before
    getattr(estimator, method)(X, y, **kwargs)
    for a, b in zip(estimator.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)

