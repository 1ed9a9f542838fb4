"""Saving and loading models (issue 8): pickle, joblib and skops, versions.

Every fitted estimator (the six, with their options that add state: dropout,
early stopping, augmentation, transfer learning) and ``ImageAugmenter`` must
round-trip with identical predictions and keep training afterwards. A skops
file of a skdeep model asks to trust only skdeep's own types, ``numpy.dtype``
and scikit-learn's scorers, metric functions and splitters, as
``skdeep.utils._persistence`` decides; a search's scipy.stats distributions are
saved as plain data, because skops rebuilding them runs code from the file. A
model records the skdeep version that saved it, and another version warns when
loading it.
"""

import copy
import io
import json
import os
import pickle
import warnings
import zipfile

import joblib
import numpy as np
import pytest
import skops.io as sio
from scipy import stats
from scipy.stats import loguniform, randint, ttest_ind, uniform
from sklearn.base import clone
from sklearn.metrics import make_scorer
from sklearn.model_selection import ParameterSampler
from sklearn.utils._testing import ignore_warnings

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
from skdeep.metrics import sensitivity_scorer
from skdeep.optimizers import SGD
from skdeep.utils._persistence import (
    InconsistentVersionWarning,
    SavedDistribution,
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
        (6,),
        dropout=0.2,
        early_stopping=True,
        validation_fraction=0.3,
        max_iter=3,
        random_state=0,
    ),  # fmt: skip
    "MLPNetClassifier-multilabel": lambda: MLPNetClassifier(
        (6,), optimizer=SGD(0.1, momentum=0.9), max_iter=3, random_state=0
    ),
    "MLPNetRegressor": lambda: MLPNetRegressor(
        (6,),
        activation="tanh",
        optimizer="rmsprop",
        max_iter=3,
        random_state=0,
        dtype=np.float64,
    ),  # fmt: skip
    "ConvNetClassifier": lambda: ConvNetClassifier(
        [
            Conv2D(2, 2, padding="same", activation="relu"),
            MaxPooling2D(2),
            Conv2D(3, 1),
            GlobalAveragePooling2D(),
            Dropout(0.1),
        ],
        input_shape=(4, 4, 1),
        augmentation=ImageAugmenter(width_shift_range=1, horizontal_flip=True),
        max_iter=2,
        batch_size=8,
        random_state=0,
    ),  # fmt: skip
    "ConvNetClassifier-transfer": lambda: ConvNetClassifier(
        pretrained=_base_convnet(),
        input_shape=(4, 4, 1),
        max_iter=2,
        random_state=0,
    ),
    "CoarseToFineSearchCV": lambda: CoarseToFineSearchCV(
        MLPNetClassifier((4,), max_iter=3, random_state=0),
        {
            "alpha": loguniform(1e-4, 1e-3),
            "learning_rate": [1e-3, 1e-2],
            "batch_size": randint(4, 16),
        },
        n_iter=2,
        n_rounds=2,
        coarse_params={"max_iter": 1},
        random_state=0,
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


def _save_and_load(estimator, how, tmp_path):
    if how == "pickle":
        return pickle.loads(pickle.dumps(estimator))
    if how == "joblib":
        joblib.dump(estimator, tmp_path / "model.joblib")
        return joblib.load(tmp_path / "model.joblib")
    return load_skops(io.BytesIO(sio.dumps(estimator)))


def _weights(estimator):
    if hasattr(estimator, "get_weights"):
        return estimator.get_weights()
    return [estimator.coef_, estimator.intercept_]


@pytest.mark.parametrize("how", ["pickle", "joblib", "skops"])
@pytest.mark.parametrize(
    # The search has no partial_fit: training goes on through its best estimator.
    "name",
    [name for name in ESTIMATORS if name != "CoarseToFineSearchCV"],
)
def test_loaded_models_keep_training(name, how, tmp_path):
    """Catches a saved model that loses what training goes on from: the
    optimizer's state (velocities, Adam's moments and step count), the random
    generators, the schedule, early stopping's counters.

    The reference is the original estimator, trained on in place and never
    copied: a copy (``deepcopy``) goes through the same ``__getstate__`` as the
    pickle, so it would lose the same state and agree with the loaded model.
    Both then get the same calls (``partial_fit``, then ``fit`` with
    ``warm_start``), and must agree exactly: they start from bit-identical
    arrays and generator states and run the same float operations in the same
    order in one process, so any difference, however small, is lost state.
    """
    y = _target(name)
    original = ESTIMATORS[name]().fit(X, y)
    loaded = _save_and_load(original, how, tmp_path)
    for model in (original, loaded):
        model.partial_fit(X, y)
        model.set_params(warm_start=True).fit(X, y)
    for a, b in zip(_weights(original), _weights(loaded), strict=True):
        np.testing.assert_array_equal(a, b)
    _assert_same_predictions(original, loaded)


# ---------------------------------------------------------------------------
# A saved search: scipy distributions and scikit-learn's scorers (issue
# "Saved searches do not load")
# ---------------------------------------------------------------------------

SEARCH_DISTRIBUTIONS = {
    "alpha": loguniform(1e-4, 1e-1),
    "learning_rate": uniform(1e-3, 1e-2),
    "batch_size": randint(4, 16),
    "activation": ["relu", "tanh"],
}
Y_BINARY = (Y == 0).astype(int)


def _search(scoring, refit=True, distributions=SEARCH_DISTRIBUTIONS):
    return CoarseToFineSearchCV(
        MLPNetClassifier((4,), max_iter=3, random_state=0),
        distributions,
        n_iter=3,
        n_rounds=2,
        coarse_params={"max_iter": 1},
        scoring=scoring,
        refit=refit,
        random_state=0,
    ).fit(X, Y_BINARY)


def _assert_same_results(results, loaded):
    assert loaded.keys() == results.keys()
    for key, value in results.items():
        if isinstance(value, list):
            assert loaded[key] == value, key
        else:
            np.testing.assert_array_equal(
                np.ma.getmaskarray(loaded[key]), np.ma.getmaskarray(value), key
            )
            np.testing.assert_array_equal(
                np.ma.getdata(loaded[key]), np.ma.getdata(value), key
            )


def _assert_same_distributions(given, loaded):
    assert loaded.keys() == given.keys()
    for name, distribution in given.items():
        back = loaded[name]
        if isinstance(distribution, list):
            assert back == distribution
            continue
        assert back is not distribution
        assert back.dist.name == distribution.dist.name
        assert (back.args, back.kwds) == (distribution.args, distribution.kwds)
        np.testing.assert_array_equal(
            back.rvs(size=5, random_state=0), distribution.rvs(size=5, random_state=0)
        )


@pytest.mark.parametrize(
    "scoring, refit",
    [
        ("roc_auc", True),
        (
            {"auc": "roc_auc", "accuracy": "accuracy", "sens": sensitivity_scorer},
            "sens",
        ),
        (sensitivity_scorer, True),
    ],
    ids=["roc_auc", "multi-metric", "skdeep-scorer"],
)
def test_saved_search_loads_through_load_skops(scoring, refit):
    """Catches issue "Saved searches do not load": load_skops refused a search
    over scipy.stats distributions or with a scorer such as roc_auc (and skops
    could not even save a ``randint``). The loaded search must be the same:
    predictions, scores through its scorers, cv_results_, and distributions
    that sample the same values."""
    search = _search(scoring, refit)
    data = sio.dumps(search)
    trusted, untrusted = skops_trusted_types(data=data)
    assert untrusted == []
    # The distributions are saved as data: no scipy type is asked for.
    assert not [t for t in trusted if t.startswith("scipy.")]
    loaded = load_skops(io.BytesIO(data))
    _assert_same_predictions(search, loaded)
    assert loaded.score(X, Y_BINARY) == search.score(X, Y_BINARY)
    _assert_same_results(search.cv_results_, loaded.cv_results_)
    assert loaded.best_index_ == search.best_index_
    _assert_same_distributions(search.param_distributions, loaded.param_distributions)
    assert len(loaded.rounds_) == len(search.rounds_)
    for given, back in zip(search.rounds_, loaded.rounds_):
        _assert_same_distributions(given, back)
    # pickle goes through the same state.
    _assert_same_distributions(
        search.rounds_[1], pickle.loads(pickle.dumps(search)).rounds_[1]
    )


def test_saved_search_over_a_list_of_dicts_loads():
    """Catches distributions inside a list of dicts left for skops to rebuild."""
    spaces = [
        {"alpha": loguniform(1e-4, 1e-1), "activation": ["relu"]},
        {"batch_size": randint(4, 16), "activation": ["tanh"]},
    ]
    search = _search("accuracy", distributions=spaces)
    loaded = load_skops(io.BytesIO(sio.dumps(search)))
    _assert_same_predictions(search, loaded)
    for given_round, back_round in zip(search.rounds_, loaded.rounds_):
        for given, back in zip(given_round, back_round, strict=True):
            _assert_same_distributions(given, back)


def _foreign_score(y_true, y_pred):
    return 0.0


class _Foreign:
    pass


@pytest.mark.parametrize(
    "payload, type_name",
    [
        (os.system, r"(posix|nt)\.system"),
        (ignore_warnings, r"sklearn\.utils\._testing\.ignore_warnings"),
        (_Foreign(), r"(\w+\.)*test_persistence\._Foreign"),
        # scikit-learn and scipy types, but none a saved model holds.
        (ParameterSampler({"a": [1]}, 1), r"sklearn\..*\.ParameterSampler"),
        (make_scorer, r"sklearn\.metrics\._scorer\.make_scorer"),
        (ttest_ind, r"scipy\.stats\..*\.ttest_ind"),
        # A scipy.stats distribution as skops saves it: see the next test.
        (uniform(0, 1), r"scipy\.stats\..*uniform_gen"),
    ],
    ids=["os", "sklearn-testing", "class", "sampler", "make_scorer", "scipy", "dist"],
)
def test_load_skops_refuses_foreign_types(payload, type_name, tmp_path):
    """Catches a trust list that lets through more than skdeep models need."""
    path = tmp_path / "evil.skops"
    sio.dump({"model": LogisticGD(max_iter=2).fit(X, Y), "payload": payload}, path)
    with pytest.raises(ValueError, match=rf"never needs: .*'{type_name}'"):
        load_skops(path)


@pytest.mark.parametrize(
    "scoring",
    [make_scorer(_foreign_score), make_scorer(lambda y_true, y_pred: 0.0)],
    ids=["function", "lambda"],
)
def test_load_skops_refuses_a_search_with_a_foreign_scorer(scoring):
    """Catches a scorer made from someone's own function let through because
    the scorer class is scikit-learn's."""
    data = sio.dumps(_search(scoring))
    with pytest.raises(ValueError, match=r"never needs: \[.*test_persistence\."):
        load_skops(io.BytesIO(data))


def test_load_skops_refuses_a_search_over_other_distributions():
    """Catches a distribution that is not a public scipy.stats one (here a
    histogram) saved as data: it stays an object of its own type, refused."""
    histogram = stats.rv_histogram(np.histogram([1e-4, 2e-4, 5e-4], bins=2))
    search = _search("accuracy", distributions={"alpha": histogram})
    with pytest.raises(ValueError, match=r"never needs: .*rv_histogram"):
        load_skops(io.BytesIO(sio.dumps(search)))


def _with_code_in_distribution(data, marker):
    """The skops ``data`` of a scipy distribution, edited as an attacker would:
    code in the template that scipy's ``__setstate__`` passes to ``exec``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    schema = json.loads(source.read("schema.json"))
    edited = []

    def edit(node):
        if isinstance(node, dict):
            content = node.get("content")
            if isinstance(content, dict) and "_parse_arg_template" in content:
                template = content["_parse_arg_template"]
                code = f"open({str(marker)!r}, 'w').write('ran')\n"
                template["content"] = json.dumps(code + json.loads(template["content"]))
                edited.append(template)
            for value in node.values():
                edit(value)
        elif isinstance(node, list):
            for value in node:
                edit(value)

    edit(schema)
    assert edited, "the skops format changed: update this test"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.namelist():
            content = json.dumps(schema) if item == "schema.json" else source.read(item)
            target.writestr(item, content)
    return out.getvalue()


def test_scipy_distribution_types_are_not_trusted(tmp_path):
    """Catches scipy.stats distribution types added to the trusted list: skops
    rebuilds them through scipy's ``__setstate__``, which runs ``exec`` on a
    string of the file, so a file asking only for them runs any code. Shown
    with skops' own loader, then refused by load_skops before anything runs."""
    data = sio.dumps(uniform(0, 1))
    marker = tmp_path / "ran"
    evil = _with_code_in_distribution(data, marker)
    sio.loads(evil, trusted=sio.get_untrusted_types(data=evil))
    assert marker.read_text() == "ran"  # the threat is real
    marker.unlink()
    with pytest.raises(ValueError, match="never needs"):
        load_skops(io.BytesIO(evil))
    assert not marker.exists()


@pytest.mark.parametrize(
    "name, args, kwds",
    [
        ("ttest_ind", (), {}),  # a scipy.stats function, not a distribution
        ("rv_continuous", (), {}),  # a class, not a distribution
        ("system", (), {}),
        ("uniform", ("0",), {}),
        ("uniform", (0,), {"scale": [1]}),
        ("uniform", (0,), {1: 1.0}),
    ],
)
def test_saved_distribution_checks_what_it_rebuilds(name, args, kwds):
    """Catches a saved distribution that rebuilds whatever a file names."""
    with pytest.raises(ValueError, match="A saved distribution"):
        SavedDistribution(name, args, kwds).rebuild()
    assert SavedDistribution("uniform", (2,), {"scale": 3}).rebuild().support() == (
        2,
        5,
    )


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


def _as_saved_before_the_pooling_module(how, estimator):
    """``estimator`` saved as skdeep saved it while the pooling layers lived in
    ``skdeep.nn.conv``: the same file, with that module in their class names."""
    if how == "pickle":
        # Protocol 2 names a class with the GLOBAL opcode, "c<module>\n<name>\n".
        data = pickle.dumps(estimator, protocol=2)
        old = data.replace(b"cskdeep.nn.pooling\n", b"cskdeep.nn.conv\n")
        assert old != data
        return old
    new, old = io.BytesIO(sio.dumps(estimator)), io.BytesIO()
    with zipfile.ZipFile(new) as src, zipfile.ZipFile(old, "w") as dst:
        for item in src.infolist():
            content = src.read(item)
            if item.filename == "schema.json":
                content = content.replace(
                    b'"__module__": "skdeep.nn.pooling"',
                    b'"__module__": "skdeep.nn.conv"',
                )
                assert b"skdeep.nn.pooling" not in content
            dst.writestr(item, content)
    return old.getvalue()


@pytest.mark.parametrize("how", ["pickle", "skops"])
def test_models_saved_when_pooling_lived_in_conv_still_load(how):
    """Catches moving a layer class out of ``skdeep.nn.conv`` without leaving its
    name there: pickles and skops files find a class by the module it was
    defined in when they were saved, and files saved before MaxPooling2D and
    GlobalAveragePooling2D moved to ``skdeep.nn.pooling`` name
    ``skdeep.nn.conv``."""
    estimator = ESTIMATORS["ConvNetClassifier"]().fit(X, Y)
    data = _as_saved_before_the_pooling_module(how, estimator)
    if how == "pickle":
        loaded = pickle.loads(data)
    else:
        loaded = load_skops(io.BytesIO(data))
    layers = [type(layer).__name__ for layer in loaded.network_.layers]
    assert {"MaxPooling2D", "GlobalAveragePooling2D"} <= set(layers)
    _assert_same_predictions(estimator, loaded)


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
        load_skops(io.BytesIO(data))


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
