"""Memory under load (issue 8): training holds a constant set of batch-sized
buffers besides the data, with no growth from epoch to epoch.

A ConvNet is trained epoch by epoch (``partial_fit``, and ``fit`` with
``warm_start``) while ``tracemalloc`` (which sees numpy's buffers) records the
peak of each epoch. The later epochs' peaks must not exceed the second epoch's
by more than a small tolerance -- far less than one batch-sized buffer -- and
what stays allocated between epochs must not grow. The peak must not depend on
the number of samples (no copy of the data per epoch, indices are shuffled
rather than the data), only on the batch size.

``benchmarks/bench_memory.py`` prints the same figures for a longer run.
"""

import gc
import tracemalloc
import warnings

import numpy as np
import pytest

from skdeep import ConvNetClassifier
from skdeep.layers import Conv2D, Dense, Flatten, MaxPooling2D

EPOCHS = 8
KIB = 1024


def _convnet(batch_size):
    return ConvNetClassifier(
        [Conv2D(8, 3, padding="same", activation="relu"), MaxPooling2D(2),
         Flatten(), Dense(16, activation="relu")],
        batch_size=batch_size, max_iter=1, random_state=0, warm_start=True,
    )  # fmt: skip


def _data(n_samples):
    rng = np.random.default_rng(0)
    # float32 like the weights: fit uses X as given, without a converted copy.
    X = rng.normal(size=(n_samples, 12, 12, 1)).astype(np.float32)
    return X, np.arange(n_samples) % 3


def epoch_memory(n_samples=200, batch_size=32, epochs=EPOCHS, how="partial_fit"):
    """Per epoch: the traced peak and the memory still held after it, in bytes
    above what was allocated before training."""
    X, y = _data(n_samples)
    net = _convnet(batch_size)
    peaks, held = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of max_iter=1 fits
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            for _ in range(epochs):
                tracemalloc.reset_peak()
                if how == "partial_fit":
                    net.partial_fit(X, y, classes=[0, 1, 2])
                else:
                    net.fit(X, y)
                peaks.append(tracemalloc.get_traced_memory()[1] - base)
                gc.collect()  # count what is still referenced, not garbage
                held.append(tracemalloc.get_traced_memory()[0] - base)
        finally:
            tracemalloc.stop()
    return np.array(peaks), np.array(held), net


def _batch_buffer_bytes(batch_size):
    # The largest single per-batch array: the im2col matrix of the first conv
    # layer, (batch * 12 * 12, 3 * 3 * 1) float32 values.
    return batch_size * 12 * 12 * 9 * 4


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_peak_memory_is_flat_across_epochs(how):
    peaks, held, _ = epoch_memory(how=how)
    print(f"\n{how}: peak KiB per epoch", np.round(peaks / KIB).astype(int).tolist())
    print(f"{how}: KiB held after each", np.round(held / KIB).astype(int).tolist())
    tolerance = 0.25 * _batch_buffer_bytes(32)  # a quarter of one batch buffer
    assert peaks[2:].max() <= peaks[1] + tolerance
    assert held[2:].max() <= held[1] + tolerance


def test_peak_memory_does_not_depend_on_the_number_of_samples():
    small, _, _ = epoch_memory(n_samples=200, epochs=3)
    large, _, _ = epoch_memory(n_samples=800, epochs=3)
    # 600 more samples may cost their shuffled indices and one-hot targets
    # (8 + 3 * 4 bytes each), not buffers sized like the data.
    assert large[-1] <= small[-1] + 600 * 64 + 0.25 * _batch_buffer_bytes(32)


def test_peak_memory_grows_with_the_batch_size_only():
    peaks_32, _, _ = epoch_memory(batch_size=32, epochs=3)
    peaks_64, _, _ = epoch_memory(batch_size=64, epochs=3)
    extra = peaks_64[-1] - peaks_32[-1]
    # 32 more samples per batch add a bounded number of batch-sized buffers.
    assert 0 < extra <= 12 * _batch_buffer_bytes(32)
