"""Benchmark: memory of a long ConvNet fit, epoch by epoch.

A ConvNet is trained one epoch per call (``fit`` with ``warm_start=True`` and
``max_iter=1``, or ``partial_fit``), so that each epoch can be measured on its
own. Printed for every epoch:

- the traced peak (``tracemalloc``, which sees numpy's buffers) above what was
  allocated before training: weights, gradients, optimizer state, per-batch
  buffers and the state saved to roll a failed call back;
- what stays allocated after the epoch (after a garbage collection): the
  model, its history and the buffers layers keep between batches;
- the process' resident size (``/proc/self/statm``) and its peak
  (``ru_maxrss``), which include the libraries.

A flat peak column is the claim of issue 8: training holds a constant number of
batch-sized buffers besides the data, with no growth from epoch to epoch. The
first epoch allocates the buffers; from the second on the figures should stay
within a few KiB (the history grows by one row per epoch).

Usage::

    python benchmarks/bench_memory.py                       # 1000 images, 20 epochs
    python benchmarks/bench_memory.py --epochs 100 --batch-size 64
    python benchmarks/bench_memory.py --how partial_fit
"""

import argparse
import gc
import os
import resource
import sys
import time
import tracemalloc
import warnings

import numpy as np


def _rss_mib():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # pragma: no cover - not Linux
        return float("nan")


def _peak_rss_mib():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=1000)
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--how", choices=["warm_start", "partial_fit"],
                        default="warm_start")  # fmt: skip
    args = parser.parse_args(argv)

    from skdeep import ConvNetClassifier
    from skdeep.layers import Conv2D, Dense, Flatten, MaxPooling2D

    rng = np.random.default_rng(0)
    size = args.image_size
    X = rng.random((args.n_samples, size, size, 1), dtype=np.float32)
    y = (X[:, : size // 2].mean(axis=(1, 2, 3)) > 0.5).astype(int)
    net = ConvNetClassifier(
        [Conv2D(16, 3, padding="same", activation="relu"), MaxPooling2D(2),
         Conv2D(32, 3, padding="same", activation="relu"), MaxPooling2D(2),
         Flatten(), Dense(64, activation="relu")],
        batch_size=args.batch_size, max_iter=1, warm_start=True, random_state=0,
    )  # fmt: skip
    data_mib = (X.nbytes + y.nbytes) / 2**20
    print(
        f"ConvNet on {args.n_samples} images of {size}x{size}, batches of "
        f"{args.batch_size}, {args.epochs} epochs ({args.how}); data "
        f"{data_mib:.1f} MiB"
    )
    print(f"{'epoch':>5} {'peak KiB':>10} {'held KiB':>10} {'RSS MiB':>9} "
          f"{'max RSS MiB':>11} {'seconds':>8}")  # fmt: skip
    peaks = []
    warnings.simplefilter("ignore")  # the ConvergenceWarning of max_iter=1
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for epoch in range(1, args.epochs + 1):
        tracemalloc.reset_peak()
        start = time.perf_counter()
        if args.how == "partial_fit":
            net.partial_fit(X, y, classes=[0, 1])
        else:
            net.fit(X, y)
        seconds = time.perf_counter() - start
        peak = (tracemalloc.get_traced_memory()[1] - base) / 2**10
        gc.collect()
        held = (tracemalloc.get_traced_memory()[0] - base) / 2**10
        peaks.append(peak)
        print(f"{epoch:>5} {peak:>10.0f} {held:>10.0f} {_rss_mib():>9.1f} "
              f"{_peak_rss_mib():>11.1f} {seconds:>8.2f}")  # fmt: skip
    tracemalloc.stop()
    later = np.array(peaks[1:])
    print(
        f"peak from epoch 2 on: {later.min():.0f}-{later.max():.0f} KiB "
        f"(spread {later.max() - later.min():.0f} KiB, "
        f"{100 * (later.max() - later.min()) / later.min():.2f}% of the peak); "
        f"final accuracy {net.score(X, y):.3f}"
    )


if __name__ == "__main__":
    main()
