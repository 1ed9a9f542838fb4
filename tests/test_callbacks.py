"""ModelCheckpoint (notes 三.9): which epoch each file holds, atomic writes,
parameters, pipelines, searches and parallel fits.

The reference for "the model of epoch k" is an estimator of the same seed
trained for exactly k epochs with full-batch gradient descent and
``restore_best_weights=False``: its weights are those of epoch k, bit for bit.
"""

import gc
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest
import skops.io
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdeep import (
    ConvNetClassifier,
    LogisticGD,
    MLPNetClassifier,
    MLPNetRegressor,
    PerceptronClassifier,
)
from skdeep.augmentation import ImageAugmenter
from skdeep.callbacks import ModelCheckpoint
from skdeep.exceptions import DivergenceWarning
from skdeep.layers import Conv2D, Dense, Flatten
from skdeep.persistence import load_skops

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Full-batch training that overfits: val_loss is lowest at epoch 4 of 12, and
# val_score has ties (0.6111 at epochs 1-2 and 8-12, 0.6667 at epochs 3-7).
PARAMS = dict(
    hidden_layer_sizes=(32,),
    batch_size=None,
    learning_rate=0.05,
    max_iter=12,
    early_stopping=True,
    validation_fraction=0.3,
    n_iter_no_change=100,
    tol=0.0,
    random_state=0,
)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    y = (X[:, 0] + 0.8 * rng.normal(size=60) > 0).astype(int)
    return X, y


def trained_for(n_epochs, X, y, **params):
    """The reference: the same estimator trained for exactly ``n_epochs``."""
    params = {**PARAMS, **params, "max_iter": n_epochs}
    return MLPNetClassifier(**{**params, "restore_best_weights": False}).fit(X, y)


def fit_with(checkpoint, X, y, **params):
    net = MLPNetClassifier(**{**PARAMS, **params})
    return net.set_callbacks(checkpoint).fit(X, y)


class CountingDump:
    """Wraps ``skops.io.dump``; ``fail_at`` makes that call write part of the
    file and raise, as a full disk or a crash would."""

    def __init__(self, dump, fail_at=None):
        self.dump, self.fail_at, self.calls = dump, fail_at, 0

    def __call__(self, obj, file, **kwargs):
        self.calls += 1
        if self.calls == self.fail_at:
            file.write(skops.io.dumps(obj)[:100])
            raise OSError("No space left on device")
        return self.dump(obj, file, **kwargs)


# ---------------------------------------------------------------------------
# Which epoch the file holds
# ---------------------------------------------------------------------------


def test_file_holds_the_best_epoch_bit_for_bit(data, tmp_path):
    """The file is the model of the epoch of lowest val_loss in history_, equal
    to the estimator trained for exactly that many epochs. Catches saving the
    last epoch instead of the best, saving the weights of the step after the
    recorded loss (off by one), and saving arrays that training later
    changes."""
    X, y = data
    path = tmp_path / "best.skops"
    net = fit_with(ModelCheckpoint(path), X, y, restore_best_weights=False)
    best_epoch = int(net.history_["val_loss"].idxmin())
    assert 1 < best_epoch < net.n_iter_  # neither the first nor the last

    loaded = load_skops(path)
    reference = trained_for(best_epoch, X, y)
    assert loaded.n_iter_ == best_epoch
    assert_array_equal(loaded.predict_proba(X), reference.predict_proba(X))
    assert not np.array_equal(loaded.predict_proba(X), net.predict_proba(X))
    pd.testing.assert_frame_equal(loaded.history_, net.history_.loc[:best_epoch])


@pytest.mark.parametrize("n_restarts", [1, 3])
def test_file_matches_the_restored_best_weights(data, tmp_path, n_restarts):
    """With restore_best_weights=True (and tol=0, so both compare strictly) the
    file predicts as the fitted estimator; across restarts it holds the best
    epoch of all runs, which is the run the estimator keeps. Catches a
    comparison that restarts with each run, or one that keeps the first
    run's best."""
    X, y = data
    path = tmp_path / "best.skops"
    net = fit_with(ModelCheckpoint(path), X, y, n_restarts=n_restarts)
    loaded = load_skops(path)
    assert loaded.n_iter_ == net.best_epoch_
    assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))


@pytest.mark.parametrize(
    "monitor, mode, pick",
    [
        ("val_loss", "auto", "idxmin"),
        ("val_score", "auto", "idxmax"),
        ("loss", "auto", "idxmin"),
        ("val_score", "min", "idxmin"),
        ("val_loss", "max", "idxmax"),
    ],
)
def test_mode_picks_the_first_best_epoch_of_the_history(
    data, tmp_path, monitor, mode, pick
):
    """The saved epoch is the first minimum (mode min, losses under 'auto') or
    maximum (mode max, scores under 'auto') of the monitored column, found
    with pandas. Catches an ignored mode, 'auto' reading a score as a loss,
    and ties counted as improvements (val_score ties at 0.6667 from epoch 3
    to 7: a >= comparison would save epoch 7)."""
    X, y = data
    path = tmp_path / "best.skops"
    net = fit_with(ModelCheckpoint(path, monitor=monitor, mode=mode), X, y)
    expected = int(getattr(net.history_[monitor], pick)())
    assert load_skops(path).n_iter_ == expected


def test_save_every_epoch_fills_in_placeholders(data, tmp_path):
    """save_best_only=False writes one file per epoch, named from history_ with
    Keras-style placeholders; each holds its epoch. Catches skipped epochs,
    placeholders filled from the wrong row, and files all holding the same
    model."""
    X, y = data
    template = str(tmp_path / "net-{epoch:02d}-{val_loss:.4f}.skops")
    net = fit_with(ModelCheckpoint(template, save_best_only=False), X, y, max_iter=5)
    expected = [
        f"net-{epoch:02d}-{row.val_loss:.4f}.skops"
        for epoch, row in net.history_.iterrows()
    ]
    assert sorted(os.listdir(tmp_path)) == expected
    for epoch, name in enumerate(expected, start=1):
        loaded = load_skops(tmp_path / name)
        assert loaded.n_iter_ == epoch
    reference = trained_for(3, X, y)
    assert_array_equal(
        load_skops(tmp_path / expected[2]).predict_proba(X),
        reference.predict_proba(X),
    )


def test_save_every_epoch_to_one_file_ends_with_the_last(data, tmp_path):
    """With a fixed filepath and save_best_only=False the file ends holding the
    last epoch, not the best. Catches save_best_only being ignored."""
    X, y = data
    path = tmp_path / "last.skops"
    net = fit_with(
        ModelCheckpoint(path, save_best_only=False),
        X,
        y,
        restore_best_weights=False,
    )
    loaded = load_skops(path)
    assert loaded.n_iter_ == net.n_iter_ == PARAMS["max_iter"]
    assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))


def test_each_fit_starts_a_new_comparison(data, tmp_path):
    """A second fit with the same checkpoint saves its own best even if it is
    worse than the first fit's (setup resets the comparison). Catches a best
    value carried over from the previous fit, which would leave the first
    fit's model in the file."""
    X, y = data
    path = tmp_path / "best.skops"
    checkpoint = ModelCheckpoint(path)
    net = fit_with(checkpoint, X, y)
    first_best = net.history_["val_loss"].min()
    y_noise = np.random.default_rng(1).permutation(y)  # labels made noise
    net.fit(X, y_noise)
    assert net.history_["val_loss"].min() > first_best
    loaded = load_skops(path)
    assert loaded.n_iter_ == net.best_epoch_
    assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))


def test_partial_fit_saves_each_call_and_numbers_epochs_on(data, tmp_path):
    """Each partial_fit call is a fit of one epoch: it saves, and {epoch}
    continues the history's numbering. Catches epoch numbers restarting at 1
    on continued fits (files overwritten)."""
    X, y = data
    template = str(tmp_path / "net-{epoch}.skops")
    net = MLPNetClassifier((8,), random_state=0)
    net.set_callbacks(ModelCheckpoint(template, monitor="loss"))
    for _ in range(3):
        net.partial_fit(X, y, classes=[0, 1])
    assert sorted(os.listdir(tmp_path)) == [f"net-{i}.skops" for i in (1, 2, 3)]
    assert load_skops(tmp_path / "net-3.skops").n_iter_ == 3


def test_restart_placeholder_separates_the_runs(data, tmp_path):
    """{restart} names the random restart, so runs do not overwrite each
    other's epochs. Catches a restart index read from the wrong task."""
    X, y = data
    template = str(tmp_path / "r{restart}-e{epoch}.skops")
    fit_with(
        ModelCheckpoint(template, save_best_only=False),
        X,
        y,
        n_restarts=2,
        max_iter=2,
    )
    assert sorted(os.listdir(tmp_path)) == [
        "r0-e1.skops",
        "r0-e2.skops",
        "r1-e1.skops",
        "r1-e2.skops",
    ]


def test_a_diverged_epoch_saves_nothing(tmp_path, monkeypatch):
    """The epoch that diverges has no history row and ends with the best
    weights restored: nothing is written for it. Catches writing the restored
    weights under the previous epoch's name (one write too many)."""
    dump = CountingDump(skops.io.dump)
    monkeypatch.setattr(skops.io, "dump", dump)
    X = np.random.default_rng(0).normal(size=(40, 4))
    net = MLPNetRegressor(
        (8,),
        optimizer="sgd",
        learning_rate=0.01,
        max_iter=8,
        batch_size=None,
        learning_rate_schedule=_blow_up_at_epoch_4,
        random_state=0,
    )
    checkpoint = ModelCheckpoint(
        str(tmp_path / "net-{epoch}.skops"), save_best_only=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # untrusted schedule
        with pytest.warns(DivergenceWarning):
            net.set_callbacks(checkpoint).fit(X, 3 * X[:, 0])
    assert net.n_iter_ == 3
    assert dump.calls == 3
    assert sorted(os.listdir(tmp_path)) == [f"net-{i}.skops" for i in (1, 2, 3)]


def _blow_up_at_epoch_4(epoch, rate):
    return 1e12 if epoch == 3 else rate


@pytest.mark.parametrize(
    "make",
    [
        lambda: (LogisticGD(max_iter=10, tol=0, random_state=0), "tabular"),
        lambda: (PerceptronClassifier(max_iter=10, tol=0, random_state=0), "tabular"),
        lambda: (
            MLPNetRegressor((4,), max_iter=10, tol=0, batch_size=None, random_state=0),
            "regression",
        ),
        lambda: (
            ConvNetClassifier(
                layers=[Conv2D(2, 3, activation="relu"), Flatten(), Dense(2)],
                augmentation=ImageAugmenter(horizontal_flip=True),
                max_iter=5,
                tol=0,
                random_state=0,
            ),
            "images",
        ),
    ],
    ids=["LogisticGD", "Perceptron", "MLPNetRegressor", "ConvNet"],
)
def test_every_estimator_saves_a_file_load_skops_trusts(make, tmp_path):
    """Every kind of estimator (optimizer objects, augmenters, the perceptron's
    trainer) writes a file that load_skops loads without a warning and that
    predicts as the estimator restored to the same best training loss.
    Catches types skops cannot save or load_skops refuses, e.g. callback
    contexts left in the saved copy."""
    estimator, kind = make()
    rng = np.random.default_rng(0)
    if kind == "images":
        X = rng.normal(size=(30, 6, 6, 1))
        y = (X.mean(axis=(1, 2, 3)) > 0).astype(int)
    else:
        X = rng.normal(size=(40, 4))
        y = X[:, 0] if kind == "regression" else (X[:, 0] > 0).astype(int)
    path = tmp_path / "best.skops"
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.set_callbacks(ModelCheckpoint(path, monitor="loss")).fit(X, y)
    loaded = load_skops(path)
    assert not hasattr(loaded, "_skl_callbacks")
    assert loaded.n_iter_ == estimator.best_epoch_
    assert_array_equal(loaded.predict(X), estimator.predict(X))


def test_foreign_types_warn_once_and_still_load_with_skops(data, tmp_path):
    """A parameter load_skops does not trust (the user's schedule function)
    warns at the first save only, and the file loads with skops.io.load once
    the type is trusted. Catches a silent file that load_skops then refuses,
    and a warning repeated at every epoch."""
    X, y = data
    path = tmp_path / "best.skops"
    with pytest.warns(UserWarning, match="load_skops refuses") as record:
        net = fit_with(
            ModelCheckpoint(path, save_best_only=False),
            X,
            y,
            max_iter=3,
            learning_rate_schedule=_blow_up_at_epoch_4,
        )
    assert sum("load_skops refuses" in str(w.message) for w in record) == 1
    with pytest.raises(ValueError, match="_blow_up_at_epoch_4"):
        load_skops(path)
    untrusted = skops.io.get_untrusted_types(file=path)
    loaded = skops.io.load(path, trusted=untrusted)
    assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))


# ---------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------


def test_a_failed_write_keeps_the_previous_file(data, tmp_path, monkeypatch):
    """If writing epoch 3 fails midway, the file still holds epoch 2, loads, and
    equals the estimator trained for 2 epochs; the partial temporary file is
    removed and the fit is rolled back. Catches writing in place (a truncated
    file) and temporary files left behind."""
    X, y = data
    monkeypatch.setattr(skops.io, "dump", CountingDump(skops.io.dump, fail_at=3))
    path = tmp_path / "last.skops"
    net = MLPNetClassifier(**{**PARAMS, "restore_best_weights": False})
    net.set_callbacks(ModelCheckpoint(path, save_best_only=False))
    with pytest.raises(OSError, match="No space left"):
        net.fit(X, y)
    assert not hasattr(net, "network_")
    assert os.listdir(tmp_path) == ["last.skops"]
    loaded = load_skops(path)
    assert loaded.n_iter_ == 2
    assert_array_equal(loaded.predict_proba(X), trained_for(2, X, y).predict_proba(X))


_KILLED_SCRIPT = """
import os, signal, sys
import numpy as np
import skops.io
from skdeep import MLPNetClassifier
from skdeep.callbacks import ModelCheckpoint

calls = 0
real_dumps = skops.io.dumps

def dump_then_die(obj, file, **kwargs):
    global calls
    calls += 1
    data = real_dumps(obj)
    if calls == 3:  # killed halfway through writing epoch 3
        file.write(data[: len(data) // 2])
        file.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    file.write(data)

skops.io.dump = dump_then_die
rng = np.random.default_rng(0)
X = rng.normal(size=(60, 5))
y = (X[:, 0] + 0.8 * rng.normal(size=60) > 0).astype(int)
net = MLPNetClassifier(**PARAMS, restore_best_weights=False)
net.set_callbacks(ModelCheckpoint(sys.argv[1], save_best_only=False))
net.fit(X, y)
"""


@pytest.mark.slow  # a fresh interpreter imports skdeep
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_process_leaves_the_last_good_file(data, tmp_path):
    """A process killed (SIGKILL) while writing epoch 3 leaves the file of epoch
    2 whole: it loads and equals the estimator trained for 2 epochs. Catches a
    write that truncates the checkpoint before the new model is complete."""
    X, y = data
    path = tmp_path / "last.skops"
    params = {k: v for k, v in PARAMS.items() if k != "restore_best_weights"}
    script = f"PARAMS = {params!r}\n" + textwrap.dedent(_KILLED_SCRIPT)
    result = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, timeout=120
    )
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()
    loaded = load_skops(path)
    assert loaded.n_iter_ == 2
    assert_array_equal(loaded.predict_proba(X), trained_for(2, X, y).predict_proba(X))
    leftovers = [name for name in os.listdir(tmp_path) if name != "last.skops"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".last.skops.")


# ---------------------------------------------------------------------------
# Parameters and errors
# ---------------------------------------------------------------------------


def test_monitoring_validation_values_without_validation_data(data, tmp_path):
    """monitor='val_loss' without validation data fails at the first epoch,
    saying how to get validation data, before writing anything. Catches a
    checkpoint that silently never saves (NaN never improves)."""
    X, y = data
    net = MLPNetClassifier(**{**PARAMS, "early_stopping": False})
    net.set_callbacks(ModelCheckpoint(tmp_path / "best.skops"))
    with pytest.raises(ValueError, match="X_val.*early_stopping=True"):
        net.fit(X, y)
    assert os.listdir(tmp_path) == []
    assert not hasattr(net, "network_")
    # Saving every epoch does not use monitor.
    net.set_callbacks(ModelCheckpoint(tmp_path / "last.skops", save_best_only=False))
    net.fit(X, y)
    assert load_skops(tmp_path / "last.skops").n_iter_ == net.n_iter_


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"filepath": 3}, "`filepath` must be a str"),
        ({"filepath": "net-{}.skops"}, "`filepath` placeholders must be names"),
        ({"filepath": "net-{epoch.real}.skops"}, "placeholders must be names"),
        ({"filepath": "net-{epoch.skops"}, "`filepath` must be a path"),
        ({"filepath": "net-{accuracy}.skops"}, r"placeholders \['accuracy'\]"),
        ({"filepath": "folder/"}, "`filepath` must name a file"),
        ({"monitor": "val_acc"}, "`monitor` must be a column.*'val_acc'"),
        ({"monitor": 1}, "`monitor` must be the name"),
        ({"monitor": "seconds"}, "pass mode='min' or mode='max'"),
        ({"mode": "smaller"}, "`mode` must be one of.*'smaller'"),
        ({"save_best_only": "yes"}, "`save_best_only` must be True or False"),
        ({"verbose": -1}, "`verbose` must be a non-negative int"),
    ],
)
def test_bad_parameters_fail_before_anything_is_written(data, tmp_path, kwargs, match):
    """Each bad parameter raises a ValueError naming it and what was received,
    at setup or at the first epoch, before any file is written."""
    X, y = data
    kwargs = {"filepath": "best.skops", **kwargs}
    if isinstance(kwargs["filepath"], str):  # os.path.join keeps a trailing "/"
        kwargs["filepath"] = os.path.join(tmp_path, kwargs["filepath"])
    with pytest.raises(ValueError, match=match):
        fit_with(ModelCheckpoint(**kwargs), X, y, max_iter=2)
    assert os.listdir(tmp_path) == []


def test_set_on_a_pipeline_it_says_where_to_set_it(data, tmp_path):
    """The checkpoint saves networks epoch by epoch; set on a Pipeline it would
    never see an epoch and save nothing, so it refuses."""
    X, y = data
    pipe = make_pipeline(StandardScaler(), MLPNetClassifier(**PARAMS))
    pipe.set_callbacks(ModelCheckpoint(tmp_path / "best.skops"))
    with pytest.raises(ValueError, match="set on Pipeline. Set it on the network"):
        pipe.fit(X, y)


def test_verbose_prints_keras_lines(data, tmp_path, capsys):
    """verbose=1 prints Keras' lines, with the values of history_: 'improved
    from inf to ...' at epoch 1, one 'saving' line per new minimum, 'did not
    improve' otherwise."""
    X, y = data
    path = tmp_path / "best.skops"
    net = fit_with(ModelCheckpoint(path, verbose=1), X, y)
    lines = capsys.readouterr().out.splitlines()
    val_loss = net.history_["val_loss"].to_numpy()
    best = int(np.argmin(val_loss)) + 1
    assert len(lines) == net.n_iter_
    assert lines[0] == (
        f"Epoch 1: val_loss improved from inf to {val_loss[0]:.5f}, "
        f"saving model to {path}"
    )
    assert lines[best] == (
        f"Epoch {best + 1}: val_loss did not improve from {val_loss[best - 1]:.5f}"
    )
    running_min = np.minimum.accumulate(np.r_[np.inf, val_loss[:-1]])
    n_saves = int((val_loss < running_min).sum())
    assert sum("saving model to" in line for line in lines) == n_saves


def test_repr_and_init_only_store(tmp_path):
    """__init__ stores its arguments unchanged (validation waits for fit); the
    repr shows those that differ from the defaults."""
    checkpoint = ModelCheckpoint("best.skops", monitor="val_score", verbose=1)
    assert vars(checkpoint) == {
        "filepath": "best.skops",
        "monitor": "val_score",
        "save_best_only": True,
        "mode": "auto",
        "verbose": 1,
    }
    assert repr(checkpoint) == (
        "ModelCheckpoint('best.skops', monitor='val_score', verbose=1)"
    )
    ModelCheckpoint(filepath=None, mode="nonsense")  # only checked at fit


# ---------------------------------------------------------------------------
# Pickling, pipelines, searches and parallel fits
# ---------------------------------------------------------------------------


def test_pickled_during_a_fit_the_copy_starts_clean(data, tmp_path):
    """A search pickles callbacks to send them to workers, possibly while the
    main process fits: the copy carries no fit under way and works on its
    own. Catches per-fit state (or an unpicklable object) in the pickle."""
    X, y = data
    checkpoint = ModelCheckpoint(tmp_path / "{task}-{epoch}.skops")
    copies = []

    def pickle_at_epoch_2(epoch, rate):
        if epoch == 1:
            copies.append(pickle.loads(pickle.dumps(checkpoint)))
        return rate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the schedule function
        fit_with(checkpoint, X, y, learning_rate_schedule=pickle_at_epoch_2)
    (copy,) = copies
    assert "_fits" not in vars(copy)
    other = tmp_path / "other"
    copy.filepath = other / "best.skops"
    net = fit_with(copy, X, y)
    assert load_skops(other / "best.skops").n_iter_ == net.best_epoch_


def test_in_a_pipeline_the_file_holds_the_network(data, tmp_path):
    """Set on the network step of a Pipeline, the checkpoint saves the network,
    which predicts on the scaled features as the pipeline does."""
    X, y = data
    path = tmp_path / "best.skops"
    net = MLPNetClassifier(**PARAMS).set_callbacks(ModelCheckpoint(path))
    pipe = make_pipeline(StandardScaler(), net).fit(X, y)
    loaded = load_skops(path)
    assert isinstance(loaded, MLPNetClassifier)
    X_scaled = pipe[0].transform(X)
    assert_array_equal(loaded.predict_proba(X_scaled), pipe.predict_proba(X))


@pytest.mark.parametrize("n_jobs", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_search_with_task_placeholder_writes_one_file_per_fit(data, tmp_path, n_jobs):
    """In a search ({task} in filepath) every candidate-split fit and the refit
    get their own file, also when worker processes fit in parallel from
    pickled copies; each file holds the best epoch of its own fit, and the
    refit's predicts as best_estimator_. Catches fits overwriting each other
    (skorch#819) and state shared between the clones of one callback."""
    X, y = data
    net = MLPNetClassifier(**{**PARAMS, "max_iter": 6})
    net.set_callbacks(ModelCheckpoint(tmp_path / "{task}.skops"))
    search = GridSearchCV(
        make_pipeline(StandardScaler(), net),
        {"mlpnetclassifier__alpha": [1e-4, 1e-1]},
        cv=2,
        n_jobs=n_jobs,
    ).fit(X, y)
    # GridSearchCV > search > candidate-split fit i > the pipeline's last step;
    # the refit is GridSearchCV's second task.
    expected = [f"0-0-{i}-1.skops" for i in range(4)] + ["0-1-1.skops"]
    assert sorted(os.listdir(tmp_path)) == expected
    for name in expected:
        loaded = load_skops(tmp_path / name)
        val_loss = loaded.history_["val_loss"]
        assert val_loss.idxmin() == loaded.n_iter_  # the best of its own fit
    refit = load_skops(tmp_path / "0-1-1.skops")
    best = search.best_estimator_
    assert_array_equal(refit.predict_proba(best[0].transform(X)), best.predict_proba(X))


def test_sequential_search_on_one_file_ends_with_the_refit(data, tmp_path):
    """Fits run one after another on one fixed filepath overwrite it (each is a
    new comparison); after a search it holds the refit's best epoch."""
    X, y = data
    path = tmp_path / "best.skops"
    net = MLPNetClassifier(**{**PARAMS, "max_iter": 6})
    net.set_callbacks(ModelCheckpoint(path))
    search = GridSearchCV(net, {"alpha": [1e-4, 1e-1]}, cv=2).fit(X, y)
    loaded = load_skops(path)
    assert loaded.n_iter_ == search.best_estimator_.best_epoch_
    assert_array_equal(loaded.predict_proba(X), search.best_estimator_.predict_proba(X))


def test_refuses_a_file_another_fit_replaced(data, tmp_path):
    """Two fits writing one file at the same time (here a fit started by the
    first fit's schedule, as a parallel search's worker would) are refused at
    the next save of the fit whose file was replaced, naming {task}; the
    other fit's file is left as it wrote it. Catches silently overwriting
    another fit's checkpoint (skorch#819), and per-fit state that the
    inner fit would corrupt."""
    X, y = data
    path = tmp_path / "last.skops"
    checkpoint = ModelCheckpoint(path, save_best_only=False)
    inner = MLPNetClassifier(
        **{**PARAMS, "max_iter": 2, "random_state": 1, "restore_best_weights": False}
    )

    def fit_another_net_at_epoch_3(epoch, rate):
        if epoch == 2:
            inner.set_callbacks(checkpoint).fit(X, y)
        return rate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the schedule function
        with pytest.raises(ValueError, match=r"replaced by another writer.*\{task\}"):
            fit_with(
                checkpoint, X, y, learning_rate_schedule=fit_another_net_at_epoch_3
            )
    loaded = load_skops(path)
    assert loaded.n_iter_ == inner.n_iter_ == 2
    assert_array_equal(loaded.predict_proba(X), inner.predict_proba(X))
    gc.collect()  # the failed fit's state goes with its callback context
    assert len(vars(checkpoint)["_fits"]) == 0
