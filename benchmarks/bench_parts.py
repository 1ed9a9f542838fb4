"""Benchmark: batches split into parts on threads, against whole batches.

The trainer splits a batch into two parts run side by side (``skdeep.nn.trainer``)
when each part is large enough: ``MIN_PART_ROWS`` rows and
``MIN_PART_MULTIPLY_ADDS`` multiply-adds of forward pass. This benchmark shows
where that line should be. For two networks and several batch sizes it times a
training epoch (``Trainer.train_epoch``, float32) four ways, in one process,
alternating for ``--repeats`` rounds (medians reported):

- whole batches on 1 BLAS thread, and split batches on 1 thread (the parts in
  turn: what splitting costs by itself -- smaller matrix products, the
  gradient sum -- and what a one-thread process pays for the same results);
- whole batches on 2 BLAS threads (the engine without parts), and split
  batches on 2 threads (each part on its own thread, each with one BLAS
  thread).

The networks: the (256, 128) MLP of ``bench_mlp.py`` (Adam, 20,000 rows of 100
features) and the notes' CNN of ``bench_convnet.py`` (RMSProp, 1,024 random
32x32x3 images). The last column says whether the rule splits that batch.

Usage::

    python benchmarks/bench_parts.py                 # 3 rounds
    python benchmarks/bench_parts.py --repeats 5 --networks cnn
"""

import argparse
import copy
import math
import os
import statistics
import time
from contextlib import contextmanager

import numpy as np
from bench_convnet import notes_cnn_layers
from threadpoolctl import threadpool_limits

from skdeep.layers import Dense
from skdeep.nn import trainer as trainer_module
from skdeep.nn.losses import categorical_cross_entropy
from skdeep.nn.network import Sequential
from skdeep.nn.optimizers import Adam, RMSProp
from skdeep.nn.trainer import Trainer, part_bounds

BATCHES = {"mlp": [200, 1000, 2000, 5000, None], "cnn": [32, 64, 128, 512]}


def _mlp():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 100)).astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, len(X))]
    layers = [Dense(256, activation="relu"), Dense(128, activation="relu"), Dense(10)]
    return layers, (100,), X, Y, lambda: Adam(1e-3)


def _cnn():
    rng = np.random.default_rng(0)
    X = rng.random((1024, 32, 32, 3), dtype=np.float32)
    Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, len(X))]
    # The notes' CNN of bench_convnet.py, ending in logits (the raw trainer
    # applies no output activation of its own).
    layers = [*notes_cnn_layers()[:-1], Dense(10)]
    return layers, (32, 32, 3), X, Y, lambda: RMSProp(1e-3)


@contextmanager
def _splitting(split):
    """Split every batch of 2 rows or more (or none), whatever the rule says."""
    saved = trainer_module.MIN_PART_ROWS, trainer_module.MIN_PART_MULTIPLY_ADDS
    if split:
        trainer_module.MIN_PART_ROWS, trainer_module.MIN_PART_MULTIPLY_ADDS = 1, 0
    else:
        trainer_module.MIN_PART_ROWS = math.inf
    try:
        yield
    finally:
        trainer_module.MIN_PART_ROWS, trainer_module.MIN_PART_MULTIPLY_ADDS = saved


def epoch_seconds(make, batch_size, split, threads, epochs=2):
    """Seconds per epoch after a warm-up epoch on a fresh network."""
    layers, input_shape, X, Y, optimizer = make
    net = Sequential(copy.deepcopy(layers))
    net.build(input_shape, np.random.default_rng(0))
    with _splitting(split), threadpool_limits(limits=threads, user_api="blas"):
        trainer = Trainer(
            net, categorical_cross_entropy, optimizer(), batch_size=batch_size,
            rng=np.random.default_rng(0),
        )  # fmt: skip
        trainer.train_epoch(X, Y)
        start = time.perf_counter()
        for _ in range(epochs):
            trainer.train_epoch(X, Y)
        return (time.perf_counter() - start) / epochs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--networks", nargs="+", default=["mlp", "cnn"])
    args = parser.parse_args(argv)
    print(
        f"Median of {args.repeats} alternating round(s); load average before: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}. Times in ms per epoch."
    )
    ways = [(False, 1), (True, 1), (False, 2), (True, 2)]
    rows = [("network, batch", "whole 1t", "split 1t", "whole 2t", "split 2t",
             "split 2t / whole 2t", "rule splits")]  # fmt: skip
    for name in args.networks:
        make = {"mlp": _mlp, "cnn": _cnn}[name]()
        row_cost = None
        for batch_size in BATCHES[name]:
            times = {way: [] for way in ways}
            for _ in range(args.repeats):
                for way in ways:
                    times[way].append(epoch_seconds(make, batch_size, *way))
            median = {way: 1e3 * statistics.median(t) for way, t in times.items()}
            if row_cost is None:
                net = Sequential(make[0])
                net.build(make[1], np.random.default_rng(0))
                row_cost = net.multiply_adds()
            rows_per_batch = len(make[2]) if batch_size is None else batch_size
            splits = len(part_bounds(rows_per_batch, row_cost)) > 2
            rows.append(
                (
                    f"{name}, {'full' if batch_size is None else batch_size}",
                    *(f"{median[way]:.0f}" for way in ways),
                    f"{median[True, 2] / median[False, 2]:.2f}x "
                    f"(1t: {median[True, 1] / median[False, 1]:.2f}x)",
                    "yes" if splits else "no",
                )
            )
            print("  ".join(rows[-1]), flush=True)
    print()
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print(f"Load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}.")


if __name__ == "__main__":
    main()
