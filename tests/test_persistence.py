"""Saving and loading models (issue 8): pickle, joblib and skops, versions.

Every fitted estimator (the six, with their options that add state: dropout,
early stopping, augmentation, transfer learning) and ``ImageAugmenter`` must
round-trip with identical predictions and keep training afterwards. A skops
file of a skdeep model asks to trust only skdeep's own types and a few numpy /
scikit-learn ones, all listed in ``skdeep.utils._persistence``. A model records
the skdeep version that saved it, and another version warns when loading it.
"""

import copy
import io
import os
import pickle
import warnings

import joblib
import numpy as np
import pytest
import skops.io as sio
from sklearn.base import clone

import skdeep
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
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    MaxPooling2D,
)
from skdeep.optimizers import SGD
from skdeep.utils._persistence import (
    InconsistentVersionWarning,
    load_skops,
    skops_trusted_types,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

RNG = np.random.default_rng(0)
IMAGES = RNG.normal(size=(30, 4, 4, 1))
X = IMAGES.reshape(30, 16)
Y = np.arange(30) % 3


def _base_convnet():
    return ConvNetClassifier(
        [Conv2D(2, 2, activation="relu"), Flatten(), Dense(4, activation="tanh")],
        input_shape=(4, 4, 1),
        max_iter=2,
        random_state=0,
    ).fit(X, Y)


ESTIMATORS = {
    "PerceptronClassifier": lambda: PerceptronClassifier(max_iter=5, random_state=0),
    "LogisticGD": lambda: LogisticGD(max_iter=5, alpha=1e-3, random_state=0),
    "MLPNetClassifier": lambda: MLPNetClassifier(
        (6,), dropout=0.2, early_stopping=True, validation_fraction=0.3,
        max_iter=3, random_state=0,
    ),  # fmt: skip
    "MLPNetClassifier-multilabel": lambda: MLPNetClassifier(
        (6,), optimizer=SGD(0.1, momentum=0.9), max_iter=3, random_state=0
    ),
    "MLPNetRegressor": lambda: MLPNetRegressor(
        (6,), activation="tanh", optimizer="rmsprop", max_iter=3, random_state=0,
        dtype=np.float64,
    ),  # fmt: skip
    "ConvNetClassifier": lambda: ConvNetClassifier(
        [Conv2D(2, 2, padding="same", activation="relu"), MaxPooling2D(2),
         Conv2D(3, 1), GlobalAveragePooling2D(), Dropout(0.1)],
        input_shape=(4, 4, 1),
        augmentation=ImageAugmenter(width_shift_range=1, horizontal_flip=True),
        max_iter=2, batch_size=8, random_state=0,
    ),  # fmt: skip
    "ConvNetClassifier-transfer": lambda: ConvNetClassifier(
        pretrained=_base_convnet(), input_shape=(4, 4, 1), max_iter=2,
        random_state=0,
    ),
    "CoarseToFineSearchCV": lambda: CoarseToFineSearchCV(
        MLPNetClassifier((4,), max_iter=3, random_state=0),
        {"alpha": [1e-4, 1e-3], "learning_rate": [1e-3, 1e-2]},
        n_iter=2, n_rounds=2, coarse_params={"max_iter": 1}, random_state=0,
    ),  # fmt: skip
}


def _target(name):
    if name == "MLPNetRegressor":
        return X[:, 0] - X[:, 1]
    if name.endswith("multilabel"):
        return np.c_[Y == 0, Y == 1].astype(int)
    return Y


@pytest.fixture(scope="module", params=list(ESTIMATORS))
def fitted(request):
    name = request.param
    return name, ESTIMATORS[name]().fit(X, _target(name))


def _predictions(estimator):
    methods = ["predict", "predict_proba", "predict_log_proba", "decision_function"]
    return [getattr(estimator, m)(X) for m in methods if hasattr(estimator, m)]


def _assert_same_predictions(a, b):
    for p, q in zip(_predictions(a), _predictions(b), strict=True):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("how", ["pickle", "joblib", "joblib-compressed", "deepcopy"])
def test_round_trip_gives_identical_predictions(fitted, how, tmp_path):
    name, estimator = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same version: no warning
        if how == "pickle":
            loaded = pickle.loads(pickle.dumps(estimator))
        elif how == "deepcopy":
            loaded = copy.deepcopy(estimator)
        else:
            path = tmp_path / "model.joblib"
            joblib.dump(estimator, path, compress=3 if "compressed" in how else 0)
            loaded = joblib.load(path)
    assert type(loaded) is type(estimator)
    _assert_same_predictions(estimator, loaded)
    assert loaded.get_params().keys() == estimator.get_params().keys()


def test_skops_round_trip_with_reviewed_types(fitted, tmp_path):
    name, estimator = fitted
    path = tmp_path / "model.skops"
    sio.dump(estimator, path)
    untrusted = sio.get_untrusted_types(file=path)
    trusted, foreign = skops_trusted_types(path)
    # Reviewed: only skdeep's own classes and functions, numpy's dtype and the
    # scikit-learn helpers a search keeps (its split and scorer).
    assert foreign == []
    assert sorted(trusted) == sorted(untrusted)
    for type_name in untrusted:
        assert type_name.startswith("skdeep.") or type_name in {
            "numpy.dtype",
            "sklearn.metrics._scorer._PassthroughScorer",
            "sklearn.model_selection._split.StratifiedShuffleSplit",
            "sklearn.model_selection._split.ShuffleSplit",
        }, type_name
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = sio.load(path, trusted=untrusted)
    _assert_same_predictions(estimator, loaded)
    with open(path, "rb") as file:
        _assert_same_predictions(estimator, load_skops(file))
    _assert_same_predictions(estimator, load_skops(path))


def test_skops_types_of_the_estimators():
    # The list that a reviewer approves once, printed by `pytest -s`.
    types = set()
    for name, make in ESTIMATORS.items():
        data = sio.dumps(make().fit(X, _target(name)))
        types |= set(sio.get_untrusted_types(data=data))
    print("\nskops types of the fitted skdeep estimators:", *sorted(types), sep="\n  ")
    assert {t for t in types if not t.startswith("skdeep.")} <= {
        "numpy.dtype",
        "sklearn.metrics._scorer._PassthroughScorer",
        "sklearn.model_selection._split.StratifiedShuffleSplit",
    }


def test_load_skops_refuses_foreign_types(tmp_path):
    path = tmp_path / "evil.skops"
    sio.dump({"model": LogisticGD(max_iter=2).fit(X, Y), "payload": os.system}, path)
    with pytest.raises(ValueError, match=r"types that a skdeep model never needs: "
                       r"\['(posix|nt)\.system'\]"):  # fmt: skip
        load_skops(path)


@pytest.mark.parametrize(
    # The search has no partial_fit: training goes on through its best estimator.
    "name", [name for name in ESTIMATORS if name != "CoarseToFineSearchCV"]
)
def test_loaded_models_keep_training(name):
    estimator = ESTIMATORS[name]().fit(X, _target(name))
    loaded = pickle.loads(pickle.dumps(estimator))
    reference = copy.deepcopy(estimator)
    loaded.partial_fit(X, _target(name))
    reference.partial_fit(X, _target(name))
    _assert_same_predictions(reference, loaded)


def test_augmenter_round_trips():
    augmenter = ImageAugmenter(width_shift_range=0.3, height_shift_range=1,
                               horizontal_flip=True, random_state=3)  # fmt: skip
    expected = augmenter.augment(IMAGES, n_copies=2)
    for loaded in (
        pickle.loads(pickle.dumps(augmenter)),
        sio.loads(sio.dumps(augmenter), trusted=["skdeep.augmentation.ImageAugmenter"]),
    ):
        np.testing.assert_array_equal(loaded.augment(IMAGES, n_copies=2), expected)
        assert loaded.get_params() == augmenter.get_params()


def test_pickles_carry_weights_not_batch_buffers():
    # Layers drop their per-batch caches and buffers when pickled: the size of
    # a saved model does not depend on the batch size it was trained with.
    def saved_size(batch_size):
        net = ConvNetClassifier(max_iter=1, batch_size=batch_size, random_state=0)
        return len(pickle.dumps(net.fit(np.tile(IMAGES, (4, 1, 1, 1)), np.tile(Y, 4))))

    assert abs(saved_size(120) - saved_size(2)) < 1_000


# ---------------------------------------------------------------------------
# Versions
# ---------------------------------------------------------------------------


def test_pickles_record_the_skdeep_version(fitted):
    _, estimator = fitted
    state = estimator.__getstate__()
    assert state["_skdeep_version"] == skdeep.__version__
    assert "_skdeep_version" not in vars(estimator)
    assert "_skdeep_version" not in vars(pickle.loads(pickle.dumps(estimator)))


def _saved_by(estimator, version, monkeypatch):
    monkeypatch.setattr(skdeep, "__version__", version)
    data = pickle.dumps(estimator)
    monkeypatch.undo()
    return data


def test_loading_another_version_warns(fitted, monkeypatch):
    name, estimator = fitted
    data = _saved_by(estimator, "0.0.1", monkeypatch)
    with pytest.warns(
        InconsistentVersionWarning,
        match=rf"Loading {type(estimator).__name__} saved by skdeep 0\.0\.1 with "
        rf"skdeep {skdeep.__version__}",
    ) as record:
        loaded = pickle.loads(data)
    warning = next(w.message for w in record
                   if isinstance(w.message, InconsistentVersionWarning))  # fmt: skip
    assert warning.original_version == "0.0.1"
    assert warning.current_version == skdeep.__version__
    assert issubclass(InconsistentVersionWarning, UserWarning)
    _assert_same_predictions(estimator, loaded)


def test_loading_with_skops_under_another_version_warns(monkeypatch):
    estimator = LogisticGD(max_iter=3).fit(X, Y)
    monkeypatch.setattr(skdeep, "__version__", "9.9.9")
    data = sio.dumps(estimator)
    monkeypatch.undo()
    with pytest.warns(InconsistentVersionWarning, match="saved by skdeep 9.9.9"):
        sio.loads(data, trusted=["skdeep.linear.LogisticGD"])


def test_a_pickle_without_a_version_warns():
    estimator = PerceptronClassifier(max_iter=3).fit(X, Y)
    state = estimator.__getstate__()
    del state["_skdeep_version"]  # as written before versions were recorded
    blank = PerceptronClassifier.__new__(PerceptronClassifier)
    with pytest.warns(InconsistentVersionWarning, match="saved by skdeep unknown"):
        blank.__setstate__(state)
    np.testing.assert_array_equal(blank.predict(X), estimator.predict(X))


def test_copies_and_clones_do_not_warn():
    estimator = MLPNetClassifier((4,), max_iter=2, random_state=0).fit(X, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        copy.deepcopy(estimator)
        clone(estimator)
        pickle.loads(pickle.dumps(estimator))


def test_readme_states_the_safe_way_to_load():
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md")).read()
    assert "Only load pickles from" in readme
    assert "get_untrusted_types" in readme
    assert "InconsistentVersionWarning" in readme


def test_skops_data_loads_from_bytes():
    estimator = LogisticGD(max_iter=3).fit(X, Y)
    loaded = load_skops(io.BytesIO(sio.dumps(estimator)))
    _assert_same_predictions(estimator, loaded)
