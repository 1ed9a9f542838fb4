"""Coarse-to-fine search against scikit-learn's random and halving searches.

The notes' recipe (二.12) on digits: a scaled ``MLPNetClassifier`` pipeline with
the learning rate in loguniform(1e-5, 1), alpha in loguniform(1e-7, 1) and three
hidden-layer sizes, every search scoring the same number of candidates (24) on
the same stratified 80/20 validation split. A full fit is up to 100 epochs with
early stopping (notes 二.5):

- ``CoarseToFineSearchCV``: 3 rounds of 8, the first two trained for 5 epochs;
- ``RandomizedSearchCV(n_iter=24)``: every candidate trained in full;
- ``HalvingRandomSearchCV(n_candidates=24)``: epochs (``max_iter``) as the
  resource, a third of the candidates surviving each iteration.

Prints the best validation score, the wall and CPU time (search and refit; the
fastest of ``--repeat`` fits) of each, and the learning-rate range of every
coarse-to-fine round. The coarse-to-fine search should be within 0.5 point of the
random search in at most 60% of its time, and its last learning-rate range should
be narrower than its first.

BLAS runs single-threaded, so that the timings compare the searches rather than
the machine's load. Run::

    python benchmarks/bench_search.py                 # seed 0
    python benchmarks/bench_search.py --seeds 0 1 2   # several seeds
"""

import argparse
import time
import warnings

import numpy as np
from scipy.stats import loguniform
from sklearn.datasets import load_digits
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    HalvingRandomSearchCV,
    RandomizedSearchCV,
    StratifiedShuffleSplit,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skdeep import CoarseToFineSearchCV, MLPNetClassifier

MAX_ITER = 100  # epochs of a full-budget fit (fewer once early stopping stops it)
COARSE_ITER = 5  # epochs of a coarse-round fit
N_CANDIDATES = 24
N_ROUNDS = 3


def make_problem(seed):
    """Digits, the pipeline, the distributions and the shared validation split."""
    X, y = load_digits(return_X_y=True)
    # Early stopping (notes 二.5) ends a full fit once its validation score stalls.
    network = MLPNetClassifier(
        max_iter=MAX_ITER, early_stopping=True, random_state=seed
    )
    pipeline = make_pipeline(StandardScaler(), network)
    distributions = {
        "mlpnetclassifier__learning_rate": loguniform(1e-5, 1),
        "mlpnetclassifier__alpha": loguniform(1e-7, 1),
        "mlpnetclassifier__hidden_layer_sizes": [(32,), (64,), (128,)],
    }
    split = StratifiedShuffleSplit(n_splits=1, test_size=0.2, random_state=seed)
    return X, y, pipeline, distributions, split


def make_searches(pipeline, distributions, split, seed, n_jobs=None):
    """The three searches, by name."""
    common = {"cv": split, "random_state": seed, "n_jobs": n_jobs}
    return {
        "CoarseToFineSearchCV": CoarseToFineSearchCV(
            pipeline,
            distributions,
            n_iter=N_CANDIDATES // N_ROUNDS,
            n_rounds=N_ROUNDS,
            coarse_params={"mlpnetclassifier__max_iter": COARSE_ITER},
            **common,
        ),
        "RandomizedSearchCV": RandomizedSearchCV(
            pipeline, distributions, n_iter=N_CANDIDATES, **common
        ),
        "HalvingRandomSearchCV": HalvingRandomSearchCV(
            pipeline,
            distributions,
            n_candidates=N_CANDIDATES,
            resource="mlpnetclassifier__max_iter",
            max_resources=MAX_ITER,
            factor=3,
            **common,
        ),
    }


def learning_rate_ranges(search):
    """The (low, high) learning-rate range of each coarse-to-fine round."""
    return [
        tuple(float(b) for b in r["mlpnetclassifier__learning_rate"].support())
        for r in search.rounds_
    ]


def run(seed, n_jobs=None, repeat=3):
    """Fit the three searches ``repeat`` times (interleaved); keep the fastest."""
    X, y, pipeline, distributions, split = make_problem(seed)
    searches = make_searches(pipeline, distributions, split, seed, n_jobs)
    wall = {name: np.inf for name in searches}
    cpu = dict(wall)
    for _ in range(repeat):
        for name, search in searches.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            with warnings.catch_warnings():
                # Diverging learning rates and 5-epoch fits warn by design here.
                warnings.simplefilter("ignore")
                search.fit(X, y)
            wall[name] = min(wall[name], time.perf_counter() - start)
            cpu[name] = min(cpu[name], time.process_time() - start_cpu)
    reference = "RandomizedSearchCV"
    print(f"seed {seed}: {N_CANDIDATES} candidates each, same validation split")
    print(f"  {'search':<24}{'best score':>11}{'wall s':>8}{'ratio':>7}{'cpu s':>8}")
    for name, search in searches.items():
        print(
            f"  {name:<24}{search.best_score_:>11.4f}{wall[name]:>8.2f}"
            f"{wall[name] / wall[reference]:>7.0%}{cpu[name]:>8.2f}"
        )
    coarse_to_fine = searches["CoarseToFineSearchCV"]
    ranges = learning_rate_ranges(coarse_to_fine)
    for round_, (low, high) in enumerate(ranges):
        print(
            f"  round {round_} learning rate in [{low:.2g}, {high:.2g}] "
            f"({np.log10(high / low):.2f} decades)"
        )
    checks = {
        "score >= random - 0.5 pt": coarse_to_fine.best_score_
        >= searches[reference].best_score_ - 0.005,
        "wall time <= 60% of random": wall["CoarseToFineSearchCV"]
        <= 0.6 * wall[reference],
        "learning rate narrowed": ranges[-1][1] / ranges[-1][0]
        < ranges[0][1] / ranges[0][0],
    }
    print("  " + ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in checks.items()))
    return checks


def main():
    # One BLAS thread: multi-threaded BLAS on small matrices makes the timings
    # depend on the machine's load far more than on the searches.
    threadpool_limits(1)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument(
        "--repeat", type=int, default=3, help="fits per search; the fastest counts"
    )
    args = parser.parse_args()
    outcomes = [run(seed, args.n_jobs, args.repeat) for seed in args.seeds]
    for check in outcomes[0]:
        met = sum(outcome[check] for outcome in outcomes)
        print(f"{check}: {met} of {len(outcomes)} seeds")


if __name__ == "__main__":
    main()
