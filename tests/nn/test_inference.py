"""Sequential.predict (skdeep.nn.inference): chunks, dtypes, row independence,
buffers, threads."""

import copy
import pickle
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from skdeep.nn import inference as inference_module
from skdeep.nn.conv import Conv2D, GlobalAveragePooling2D, MaxPooling2D
from skdeep.nn.layers import Dense, Dropout, Layer
from skdeep.nn.network import Sequential


def test_predict_in_chunks_matches_one_pass():
    net = Sequential([Dense(16, activation="tanh"), Dropout(0.3), Dense(3)])
    net.build((5,), np.random.default_rng(0))
    X = np.random.default_rng(1).normal(size=(103, 5)).astype(np.float32)
    whole = net.predict(X, batch_size=103)
    assert whole.dtype == np.float64
    # Other chunk sizes: the same up to float32 rounding.
    np.testing.assert_allclose(net.predict(X, batch_size=10), whole, rtol=1e-6)
    np.testing.assert_allclose(net.predict(X), whole, rtol=1e-6)
    # The default chunks, float64 rows: a row's output does not depend on its
    # neighbours.
    X64 = X.astype(np.float64)
    parts = np.concatenate([net.predict(X64[:50]), net.predict(X64[50:])])
    np.testing.assert_array_equal(parts, net.predict(X64))


def test_predict_chunk_size_follows_the_memory_budget(monkeypatch):
    net = Sequential([Dense(16, activation="tanh"), Dense(3)])
    net.build((5,), np.random.default_rng(0))
    # The largest per-sample array is the 16 hidden units, 4 bytes each in
    # float32; the rows are rounded down to a multiple of 8, within the bounds.
    assert net.predict_batch_size(budget=16 * 4 * 37) == 32
    assert net.predict_batch_size(budget=1) == inference_module.PREDICT_MIN_ROWS
    assert net.predict_batch_size(budget=2**40) == inference_module.PREDICT_MAX_ROWS
    wide = Sequential([Dense(16, activation="tanh"), Dense(3)], dtype=np.float64)
    wide.build((5,), np.random.default_rng(0))
    assert wide.predict_batch_size(budget=16 * 8 * 37) == 32
    monkeypatch.setattr("skdeep.nn.inference.PREDICT_MEMORY_BUDGET", 16 * 4 * 8)
    seen = []
    infer = net.layers[0].infer

    def spy(X, workspace):
        seen.append((X.shape, X.dtype))
        return infer(X, workspace)

    monkeypatch.setattr(net.layers[0], "infer", spy)
    X = np.zeros((20, 5), dtype=np.int64)  # each chunk is cast to float32
    assert net.predict(X).shape == (20, 3)
    # Chunks of 8 rows, the last padded: every chunk has the same shape.
    assert seen == [((8, 5), np.float32)] * 3
    # float64 rows are computed in float64, in chunks of the same bytes.
    monkeypatch.setattr("skdeep.nn.inference.PREDICT_MEMORY_BUDGET", 16 * 8 * 16)
    assert net.predict_batch_size(dtype=np.float64) == 16
    seen.clear()
    assert net.predict(X.astype(np.float64)).shape == (20, 3)
    assert seen == [((16, 5), np.float64)] * 2


def _mlp(dtype=np.float32):
    net = Sequential(
        [Dense(16, activation="relu"), Dropout(0.2), Dense(8, activation="tanh"),
         Dense(3)],
        dtype=dtype,
    )  # fmt: skip
    net.build((7,), np.random.default_rng(0))
    return net


def _cnn(dtype=np.float32):
    net = Sequential(
        [
            Conv2D(4, 2, padding="same", activation="relu"),
            MaxPooling2D(2),
            Conv2D(5, 3, activation="relu"),
            GlobalAveragePooling2D(),
            Dense(3),
        ],
        dtype=dtype,
    )
    net.build((9, 9, 2), np.random.default_rng(0))
    return net


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make, shape", [(_mlp, (7,)), (_cnn, (9, 9, 2))],
                         ids=["mlp", "cnn"])  # fmt: skip
def test_predict_rows_do_not_depend_on_their_batch(make, shape, dtype):
    # The guarantee of Sequential.predict for float64 rows (what
    # scikit-learn's subset and sample-order invariance checks need, on their
    # float64 data): a row's output is the same, bit for bit, whatever rows
    # are predicted with it, in any order, for any number of rows, 1 included
    # (numpy would route a 1-row product to GEMV), for a float32 network as
    # for a float64 one.
    net = make(dtype)
    rows = net.predict_batch_size(dtype=np.float64)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3 * rows + 5, *shape))
    reference = net.predict(X)
    assert reference.dtype == np.float64
    for n in [1, 2, 3, 7, rows - 1, rows, rows + 1, 2 * rows + 3]:
        idx = rng.choice(len(X), size=n, replace=False)
        np.testing.assert_array_equal(net.predict(X[idx]), reference[idx])
    order = rng.permutation(len(X))
    np.testing.assert_array_equal(net.predict(X[order]), reference[order])
    np.testing.assert_array_equal(net.predict(X, n_threads=3), reference)
    for blas_threads in (1, 2):  # and it does not depend on BLAS's threads
        with threadpool_limits(limits=blas_threads, user_api="blas"):
            np.testing.assert_array_equal(net.predict(X), reference)
    # And it is the inference forward pass, computed in float64.
    expected = net.forward(X, training=False)
    np.testing.assert_allclose(reference, expected, rtol=1e-12, atol=1e-12)
    Z = net.predict(X, out_dtype=None)
    assert Z.dtype == np.float64
    np.testing.assert_array_equal(Z, reference)


@pytest.mark.parametrize("make, shape", [(_mlp, (7,)), (_cnn, (9, 9, 2))],
                         ids=["mlp", "cnn"])  # fmt: skip
def test_float32_rows_agree_with_their_batch_to_float32_rounding(make, shape):
    # float32 rows take the float32 path: a float32 GEMM may sum a row in an
    # order that depends on its position (see Sequential.predict), so a row
    # agrees with itself in another batch to float32 rounding, not bit for bit.
    net = make(np.float32)
    rows = net.predict_batch_size()
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2 * rows + 5, *shape)).astype(np.float32)
    reference = net.predict(X, out_dtype=None)
    assert reference.dtype == np.float32
    order = rng.permutation(len(X))
    np.testing.assert_allclose(net.predict(X[order]), reference[order], rtol=1e-5,
                               atol=1e-6)  # fmt: skip
    np.testing.assert_allclose(net.predict(X[:1]), reference[:1], rtol=1e-5, atol=1e-6)
    # The float64 computation of the same rows, to float32 rounding.
    exact = net.predict(X.astype(np.float64))
    np.testing.assert_allclose(reference, exact, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_inference_runs_in_the_network_dtype(dtype):
    # float64 networks stay float64 end to end; float32 ones compute float32
    # and integer rows in float32 and only float64 rows in float64.
    for net in (_mlp(dtype), _cnn(dtype)):
        shape = net.input_shape_
        for X_dtype in (np.float32, np.float64, np.int64):
            net.release_buffers()
            net.predict(np.ones((3, *shape), dtype=X_dtype))
            (workspaces,) = net._idle_workspaces
            buffers = [
                a
                for workspace in workspaces
                for a in workspace.values()
                if isinstance(a, np.ndarray)
            ]  # (tuples: views of them)
            computed = np.float64 if X_dtype == np.float64 else dtype
            assert buffers and {a.dtype for a in buffers} == {np.dtype(computed)}


def test_predict_buffers_do_not_grow_with_the_data():
    net = _cnn()
    rows = net.predict_batch_size()

    def buffer_bytes():
        (workspaces,) = net._idle_workspaces
        return sum(
            a.nbytes
            for ws in workspaces
            for a in ws.values()
            if isinstance(a, np.ndarray)
        )  # (tuples: views of them)

    net.predict(np.ones((1, 9, 9, 2)))
    small = buffer_bytes()
    net.predict(np.ones((10 * rows + 3, 9, 9, 2)))
    assert buffer_bytes() == small
    net.release_buffers()
    assert net._idle_workspaces == []


def test_concurrent_predictions_use_their_own_buffers():
    net = _cnn()
    rng = np.random.default_rng(0)
    inputs = [rng.normal(size=(50 + 7 * k, 9, 9, 2)) for k in range(6)]
    expected = [net.predict(X) for X in inputs]
    results = [None] * len(inputs)

    def work(k):
        for _ in range(5):
            results[k] = net.predict(inputs[k])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(inputs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)


def test_predict_errors_and_empty_input():
    net = _mlp()
    assert net.predict(np.zeros((0, 7))).shape == (0, 3)
    with pytest.raises(ValueError, match=r"built for inputs of shape \(7,\); received"):
        net.predict(np.zeros((2, 6)))
    with pytest.raises(ValueError, match="`batch_size` must be >= 1"):
        net.predict(np.zeros((2, 7)), batch_size=0)

    class Failing(Layer):
        def forward(self, X, training=False):
            raise RuntimeError("boom")

    failing = Sequential([Dense(2), Failing()])
    failing.build((3,), np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="boom"):
        failing.predict(np.zeros((100, 3)), batch_size=8, n_threads=2)


def test_copies_and_pickles_carry_no_buffers():
    net = _cnn()
    X = np.random.default_rng(0).normal(size=(5, 9, 9, 2))
    expected = net.predict(X)
    net.forward(X, training=True)
    for copy_ in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert copy_._idle_workspaces == [] and copy_._steps is None
        np.testing.assert_array_equal(copy_.predict(X), expected)
    assert len(pickle.dumps(net)) < 2 * len(pickle.dumps(net.get_weights())) + 5000


@pytest.mark.parametrize("make, side_by_side", [(_mlp, False), (_cnn, True)],
                         ids=["mlp", "cnn"])  # fmt: skip
def test_auto_threads_compute_chunks_side_by_side_for_windowed_layers(
    make, side_by_side, monkeypatch
):
    # n_threads="auto": chunks on threads (BLAS on one thread meanwhile) for a
    # network with convolutions or pooling; BLAS's own threads for matrix
    # products only. Either way the same result.
    net = make(np.float32)
    rows = net.predict_batch_size(dtype=np.float64)
    X = np.random.default_rng(0).normal(size=(3 * rows, *net.input_shape_))
    expected = net.predict(X)
    limited = []
    real = inference_module.one_blas_thread

    def spy():
        limited.append(True)
        return real()

    monkeypatch.setattr(inference_module, "blas_threads", lambda: 2)
    monkeypatch.setattr(inference_module, "one_blas_thread", spy)
    np.testing.assert_array_equal(net.predict(X, n_threads="auto"), expected)
    assert bool(limited) == side_by_side


def test_float64_rows_see_weights_changed_between_calls():
    # A float32 network casts its Dense weights for float64 rows once per
    # call: a later call must not reuse the copies of weights changed since.
    net = _mlp(np.float32)
    X = np.random.default_rng(0).normal(size=(20, 7))
    net.predict(X)
    weights = [2 * w for w in net.get_weights()]
    net.set_weights(weights)
    expected = net.forward(X.astype(np.float32), training=False)
    np.testing.assert_allclose(net.predict(X), expected, rtol=1e-5, atol=1e-6)
