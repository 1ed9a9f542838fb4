"""Benchmark: MLPNetClassifier against scikit-learn's MLPClassifier, side by side.

The problem (issue 4): ``make_classification(20000, 100, n_informative=50,
n_classes=10)`` as float64, hidden layers (256, 128), Adam (learning rate 1e-3),
mini-batches of 200, 10 epochs, no early stopping (``tol=0`` so neither library
stops before the 10 epochs).

The two libraries alternate in one process for ``--repeats`` rounds and the
median fit time of each is reported, which evens out a busy machine. Printed:

- every round's fit times, the medians and the ratio skdeep / scikit-learn, in
  wall-clock and in CPU time (the process's, all threads): on a shared machine
  CPU time is the steadier of the two (it does not count time spent waiting for
  a core), while with several BLAS threads it also counts their spinning,
- the effective GFLOP/s of each: the matrix-product work of training (forward
  ``2 * n_in * n_out`` per sample and layer; backward the same for the weight
  gradients and again for the input gradients of every layer but the first),
  which is the same for both libraries, divided by the fit time,
- with ``--profile``, where skdeep's fit time goes (cProfile, by own time).

BLAS threads: by default both libraries use all of OpenBLAS's threads. On a
machine shared with other busy processes, OpenBLAS threads spin waiting for one
another and both fits slow down several-fold, erratically; ``--threads 1`` gives
the steady comparison.

Usage::

    python benchmarks/bench_mlp.py                  # 5 rounds
    python benchmarks/bench_mlp.py --repeats 9 --threads 1
    python benchmarks/bench_mlp.py --profile
"""

import argparse
import cProfile
import io
import pstats
import statistics
import time
import warnings

from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_info, threadpool_limits

from skdeep import MLPNetClassifier

HIDDEN = (256, 128)
SETTINGS = dict(batch_size=200, max_iter=10, alpha=1e-4, tol=0.0, random_state=0)


def make_data(n_samples=20_000, n_features=100):
    return make_classification(
        n_samples,
        n_features,
        n_informative=50,
        n_classes=10,
        random_state=0,
    )


def estimators():
    return {
        "skdeep": MLPNetClassifier(
            HIDDEN, optimizer="adam", learning_rate=1e-3, **SETTINGS
        ),
        "sklearn": MLPClassifier(
            HIDDEN, solver="adam", learning_rate_init=1e-3, **SETTINGS
        ),
    }


def training_flops(n_samples, n_features, n_classes, epochs):
    sizes = [n_features, *HIDDEN, n_classes]
    products = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    per_sample = 2 * sum(products)  # forward
    per_sample += 2 * sum(products)  # weight gradients
    per_sample += 2 * sum(products[1:])  # input gradients (not of the first layer)
    return per_sample * n_samples * epochs


def time_fit(estimator, X, y):
    """Wall-clock and CPU seconds of one fit."""
    wall, cpu = time.perf_counter(), time.process_time()
    estimator.fit(X, y)
    return time.perf_counter() - wall, time.process_time() - cpu


def profile_fit(X, y, top=15):
    profiler = cProfile.Profile(time.process_time)  # CPU time, steadier
    profiler.enable()
    estimators()["skdeep"].fit(X, y)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n-samples", type=int, default=20_000)
    parser.add_argument(
        "--threads", type=int, default=None, help="BLAS threads (default: all)"
    )
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)

    X, y = make_data(args.n_samples)
    flops = training_flops(len(X), X.shape[1], 10, SETTINGS["max_iter"])
    warnings.simplefilter("ignore", ConvergenceWarning)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
        print(
            f"X {X.shape} {X.dtype}, hidden {HIDDEN}, adam, batch 200, "
            f"{SETTINGS['max_iter']} epochs; BLAS "
            f"{blas[0]['internal_api'] if blas else '?'} x"
            f"{blas[0]['num_threads'] if blas else '?'} threads"
        )
        times = {"skdeep": [], "sklearn": []}
        for i in range(args.repeats):
            for name, estimator in estimators().items():
                times[name].append(time_fit(estimator, X, y))
            print(
                f"round {i + 1}: skdeep {times['skdeep'][-1][0]:.2f}s "
                f"(cpu {times['skdeep'][-1][1]:.2f}s), sklearn "
                f"{times['sklearn'][-1][0]:.2f}s (cpu {times['sklearn'][-1][1]:.2f}s)"
            )
        medians = {
            name: [statistics.median(t[k] for t in runs) for k in (0, 1)]
            for name, runs in times.items()
        }
        for name, (wall, cpu) in medians.items():
            print(
                f"{name:8s} median {wall:.3f}s wall "
                f"({flops / wall / 1e9:.1f} GFLOP/s), "
                f"{cpu:.3f}s cpu ({flops / cpu / 1e9:.1f} GFLOP/s)"
            )
        ratios = [medians["skdeep"][k] / medians["sklearn"][k] for k in (0, 1)]
        print(f"ratio skdeep / sklearn: {ratios[0]:.3f} wall, {ratios[1]:.3f} cpu")
        if args.profile:
            print(profile_fit(X, y))


if __name__ == "__main__":
    main()
