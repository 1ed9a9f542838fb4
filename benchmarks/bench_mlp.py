"""Benchmark: MLPNetClassifier against scikit-learn's MLPClassifier, side by side.

The problem (issue 4): ``make_classification(20000, 100, n_informative=50,
n_classes=10)`` as float64, hidden layers (256, 128), Adam (learning rate 1e-3),
mini-batches of 200, no early stopping unless said (``tol=0`` so neither library
stops early). Every figure is a ratio skdeep / scikit-learn of two timings taken
in the same round; the two libraries alternate in one process for ``--repeats``
rounds (at least 3) and the medians are reported, which evens out a busy
machine. The paths timed:

- ``fit``: 10 epochs on the 20,000 rows;
- ``predict_proba`` on the 20,000 float64 rows, with the models just fitted;
- streaming: 100 calls of ``partial_fit`` on consecutive chunks of 200 rows
  (``classes`` given on the first), from a fresh estimator;
- ``early_stopping=True`` (``validation_fraction=0.1``, ``n_iter_no_change``
  above ``max_iter`` so that all 10 epochs run): the extra time per epoch
  against a fit without early stopping on the same 18,000 training rows, so
  that the difference is the per-epoch validation (a prediction on 2,000 rows,
  the loss and score) and the best-weights bookkeeping. scikit-learn's own
  overhead is printed beside it.

Each timing is given in wall-clock and in CPU time (the process's, all
threads): on a shared machine CPU time is the steadier of the two (it does not
count time spent waiting for a core), while with several BLAS threads it also
counts their spinning. The effective GFLOP/s of the fits are printed too (the
matrix-product work of training: forward ``2 * n_in * n_out`` per sample and
layer; backward the same for the weight gradients and again for the input
gradients of every layer but the first), and with ``--profile``, where
skdeep's fit and ``predict_proba`` time goes (cProfile, by own time).

BLAS threads: by default both libraries use all of OpenBLAS's threads. On a
machine shared with other busy processes, OpenBLAS threads spin waiting for one
another and both sides slow down several-fold, erratically; ``--threads 1``
gives the steady comparison.

Usage::

    python benchmarks/bench_mlp.py                  # 5 rounds
    python benchmarks/bench_mlp.py --repeats 9 --threads 1
    python benchmarks/bench_mlp.py --profile
"""

import argparse
import cProfile
import io
import os
import pstats
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_info, threadpool_limits

from skdeep import MLPNetClassifier

HIDDEN = (256, 128)
SETTINGS = dict(batch_size=200, max_iter=10, alpha=1e-4, tol=0.0, random_state=0)
N_STREAM_CALLS, STREAM_ROWS = 100, 200


def make_data(n_samples=20_000, n_features=100):
    return make_classification(
        n_samples,
        n_features,
        n_informative=50,
        n_classes=10,
        random_state=0,
    )


def estimators(**params):
    settings = {**SETTINGS, **params}
    return {
        "skdeep": MLPNetClassifier(
            HIDDEN, optimizer="adam", learning_rate=1e-3, **settings
        ),
        "sklearn": MLPClassifier(
            HIDDEN, solver="adam", learning_rate_init=1e-3, **settings
        ),
    }


def training_flops(n_samples, n_features, n_classes, epochs):
    sizes = [n_features, *HIDDEN, n_classes]
    products = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    per_sample = 2 * sum(products)  # forward
    per_sample += 2 * sum(products)  # weight gradients
    per_sample += 2 * sum(products[1:])  # input gradients (not of the first layer)
    return per_sample * n_samples * epochs


def timed(function, *args):
    """Wall-clock and CPU seconds of ``function(*args)``."""
    wall, cpu = time.perf_counter(), time.process_time()
    function(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def stream(estimator, X, y):
    classes = np.unique(y)
    for i in range(N_STREAM_CALLS):
        rows = slice(i * STREAM_ROWS, (i + 1) * STREAM_ROWS)
        estimator.partial_fit(X[rows], y[rows], classes=classes)


def early_stopping_pair(X, y):
    """Per-epoch seconds with early stopping on (X, y) and without it on the
    rows it trains on, for each library: {name: (with, without)} timings."""
    n_train = X.shape[0] - int(np.ceil(0.1 * X.shape[0]))
    with_es = estimators(
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=SETTINGS["max_iter"] + 1,
    )
    without = estimators()
    result = {}
    for name in ("skdeep", "sklearn"):
        on = timed(with_es[name].fit, X, y)
        off = timed(without[name].fit, X[:n_train], y[:n_train])
        epochs_on = with_es[name].n_iter_
        epochs_off = without[name].n_iter_
        result[name] = tuple(
            (a / epochs_on, b / epochs_off) for a, b in zip(on, off)
        )  # ((wall on, wall off), (cpu on, cpu off)) per epoch
    return result


def profile(function, top=15):
    profiler = cProfile.Profile(time.process_time)  # CPU time, steadier
    profiler.enable()
    function()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def _median(values):
    return statistics.median(values)


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
            f"{blas[0]['internal_api'] if blas else '?'} "
            f"({blas[0].get('architecture', '?') if blas else '?'} kernels) x"
            f"{blas[0]['num_threads'] if blas else '?'} threads; median of "
            f"{args.repeats} alternating round(s); load average before: "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}."
        )
        # Per path and library, a list of (wall, cpu) timings.
        paths = ("fit", "predict_proba", "partial_fit x100")
        times = {path: {"skdeep": [], "sklearn": []} for path in paths}
        es = {"skdeep": [], "sklearn": []}
        for i in range(args.repeats):
            for name, estimator in estimators().items():
                times["fit"][name].append(timed(estimator.fit, X, y))
                estimator.predict_proba(X[:10])  # warm-up
                times["predict_proba"][name].append(timed(estimator.predict_proba, X))
            for name, estimator in estimators(max_iter=1).items():
                times["partial_fit x100"][name].append(timed(stream, estimator, X, y))
            for name, pair in early_stopping_pair(X, y).items():
                es[name].append(pair)
            print(
                f"round {i + 1}: "
                + "; ".join(
                    f"{path} {times[path]['skdeep'][-1][0]:.3f}s / "
                    f"{times[path]['sklearn'][-1][0]:.3f}s"
                    for path in paths
                )
            )

        def ratio(path, k):
            ours = _median(t[k] for t in times[path]["skdeep"])
            theirs = _median(t[k] for t in times[path]["sklearn"])
            return ours, theirs, ours / theirs

        print()
        rows = [
            ("path", "skdeep s", "sklearn s", "ratio wall", "ratio cpu", "must / goal")
        ]
        targets = {
            "fit": "<= 0.4 / <= 0.25",
            "predict_proba": "<= 0.5 / <= 0.3",
            "partial_fit x100": "<= 0.5 / <= 0.3",
        }
        for path in paths:
            ours, theirs, wall_ratio = ratio(path, 0)
            cpu_ratio = ratio(path, 1)[2]
            rows.append(
                (
                    path,
                    f"{ours:.3f}",
                    f"{theirs:.3f}",
                    f"{wall_ratio:.3f}",
                    f"{cpu_ratio:.3f}",
                    targets[path],
                )
            )

        def overhead(name, k):
            on = _median(p[k][0] for p in es[name])
            off = _median(p[k][1] for p in es[name])
            return on, off, on / off - 1

        on, off, extra = overhead("skdeep", 0)
        cpu_extra = overhead("skdeep", 1)[2]
        sk_extra = overhead("sklearn", 0)[2]
        rows.append(
            (
                "early_stopping, s / epoch",
                f"{on:.3f}",
                f"{off:.3f} (off)",
                f"{100 * extra:+.1f}%",
                f"{100 * cpu_extra:+.1f}%",
                "<= 15% / <= 5%",
            )
        )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        print(
            f"\nearly_stopping: skdeep's extra time per epoch is the median "
            f"per-epoch time of fit(X, y, early_stopping=True, "
            f"validation_fraction=0.1) over that of a fit without it on the same "
            f"18,000 training rows; scikit-learn's own extra: "
            f"{100 * sk_extra:+.1f}%."
        )
        for name in ("skdeep", "sklearn"):
            wall = _median(t[0] for t in times["fit"][name])
            cpu = _median(t[1] for t in times["fit"][name])
            print(
                f"{name:8s} fit median {wall:.3f}s wall "
                f"({flops / wall / 1e9:.1f} GFLOP/s), "
                f"{cpu:.3f}s cpu ({flops / cpu / 1e9:.1f} GFLOP/s)"
            )
        print(f"Load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}.")
        if args.profile:
            estimator = estimators()["skdeep"]
            print("\nWhere skdeep's fit time goes (cProfile, CPU time):")
            print(profile(lambda: estimator.fit(X, y)))
            print("Where skdeep's predict_proba time goes (5 calls):")
            print(profile(lambda: [estimator.predict_proba(X) for _ in range(5)]))
            print("Where skdeep's partial_fit streaming time goes:")
            print(profile(lambda: stream(estimators(max_iter=1)["skdeep"], X, y)))


if __name__ == "__main__":
    main()
