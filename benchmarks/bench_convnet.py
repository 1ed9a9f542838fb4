"""Benchmark: the notes' CNN (三.8) in skdeep and in PyTorch CPU, side by side.

The network: Conv2D(16, 2, 'same', relu) - MaxPooling2D(2) - Conv2D(32) - pool -
Conv2D(64) - pool - Flatten - Dense(500, relu) - Dense(10), on 32x32x3 images,
trained with RMSProp (learning rate 1e-3, rho 0.9, epsilon 1e-7) on mini-batches
of 32, as in the notes' Keras code. PyTorch gets the same number of threads as
numpy's BLAS (``torch.set_num_threads``).

Each measurement runs in a fresh subprocess, so its peak resident memory
(``ru_maxrss``) is its own; the frameworks alternate for ``--repeats`` rounds and
the median is reported, which evens out a busy machine. Printed:

- training time per epoch and the skdeep / PyTorch ratio,
- inference throughput (images/s, batches of 32, through ``predict`` for skdeep
  and ``model(x)`` under ``torch.no_grad()`` for PyTorch),
- peak memory: the whole process (``ru_maxrss``, libraries included) and what
  training adds to it (peak minus the resident size once the libraries are
  imported and the data created: weights, gradients, optimizer state and
  per-batch buffers),
- with ``--profile``, where skdeep's training time goes (cProfile).

PyTorch is optional (never a dependency of skdeep); without it only skdeep runs.

Usage::

    python benchmarks/bench_convnet.py                 # 2048 images, 3 epochs
    python benchmarks/bench_convnet.py --n-samples 4096 --epochs 2 --repeats 5
    python benchmarks/bench_convnet.py --profile
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time


def _rss_mb():
    """Current resident set size in MiB (Linux), or None."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # pragma: no cover - not Linux
        return None


def _peak_rss_mb():
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def _data(n_samples, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.random((n_samples, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, size=n_samples)
    y[:10] = np.arange(10)  # every class present
    return X, y


def _n_threads():
    from threadpoolctl import threadpool_info

    blas = [info for info in threadpool_info() if info["user_api"] == "blas"]
    return blas[0]["num_threads"] if blas else 1


def run_skdeep(n_samples, epochs, profile=False):
    import warnings

    from skdeep import ConvNetClassifier
    from skdeep.layers import Conv2D, Dense, Flatten, MaxPooling2D

    X, y = _data(n_samples)
    baseline = _rss_mb()  # before any weight, gradient or buffer exists
    layers = [
        Conv2D(16, 2, padding="same", activation="relu"),
        MaxPooling2D(2),
        Conv2D(32, 2, padding="same", activation="relu"),
        MaxPooling2D(2),
        Conv2D(64, 2, padding="same", activation="relu"),
        MaxPooling2D(2),
        Flatten(),
        Dense(500, activation="relu"),
        Dense(10, activation="softmax"),
    ]
    clf = ConvNetClassifier(
        layers,
        optimizer="rmsprop",
        learning_rate=1e-3,
        batch_size=32,
        max_iter=epochs,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )
    # Warm-up on a few images: first-call costs (imports, allocations) aside.
    warnings.simplefilter("ignore")
    clf.set_params(max_iter=1).fit(X[:64], y[:64])
    clf.set_params(max_iter=epochs)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    clf.fit(X, y)
    train_seconds = time.perf_counter() - start
    if profiler is not None:
        profiler.disable()
    peak_train = _peak_rss_mb()
    X_test = X[:1024]
    start = time.perf_counter()
    for i in range(0, len(X_test), 32):
        clf.predict(X_test[i : i + 32])
    infer_seconds = time.perf_counter() - start
    result = {
        "train_seconds": train_seconds,
        "epoch_seconds": train_seconds / epochs,
        "images_per_second": len(X_test) / infer_seconds,
        "peak_rss_mb": peak_train,
        "baseline_rss_mb": baseline,
        "threads": _n_threads(),
        "final_loss": float(clf.loss_),
    }
    if profiler is not None:
        import io
        import pstats

        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(18)
        result["profile"] = stream.getvalue()
    return result


def run_torch(n_samples, epochs, threads):
    import numpy as np
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    X, y = _data(n_samples)
    Xt = torch.from_numpy(np.ascontiguousarray(X.transpose(0, 3, 1, 2)))  # NCHW
    yt = torch.from_numpy(y)
    del X
    baseline = _rss_mb()  # before any weight, gradient or buffer exists
    model = nn.Sequential(
        nn.Conv2d(3, 16, 2, padding="same"),  # pads bottom/right, as Keras
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 2, padding="same"),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 2, padding="same"),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(1024, 500),
        nn.ReLU(),
        nn.Linear(500, 10),
    )
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)

    def epoch(X_all, y_all):
        order = torch.randperm(len(X_all), generator=generator)
        total = 0.0
        for start in range(0, len(X_all), 32):
            idx = order[start : start + 32]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(X_all[idx]), y_all[idx])
            loss.backward()
            optimizer.step()
            total += float(loss) * len(idx)
        return total / len(X_all)

    model.train()
    epoch(Xt[:64], yt[:64])  # warm-up
    start = time.perf_counter()
    for _ in range(epochs):
        loss = epoch(Xt, yt)
    train_seconds = time.perf_counter() - start
    peak_train = _peak_rss_mb()
    model.eval()
    X_test = Xt[:1024]
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(X_test), 32):
            model(X_test[i : i + 32]).argmax(1).numpy()
    infer_seconds = time.perf_counter() - start
    return {
        "train_seconds": train_seconds,
        "epoch_seconds": train_seconds / epochs,
        "images_per_second": len(X_test) / infer_seconds,
        "peak_rss_mb": peak_train,
        "baseline_rss_mb": baseline,
        "threads": threads,
        "final_loss": loss,
    }


def _worker(args):
    if args.worker == "skdeep":
        result = run_skdeep(args.n_samples, args.epochs, profile=args.profile)
    else:
        result = run_torch(args.n_samples, args.epochs, args.threads)
    print(json.dumps(result))


def _spawn(framework, args, threads, profile=False):
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        framework,
        "--n-samples",
        str(args.n_samples),
        "--epochs",
        str(args.epochs),
        "--threads",
        str(threads),
    ]
    if profile:
        command.append("--profile")
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def _median(results, key):
    return statistics.median(r[key] for r in results)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=2048)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--worker", choices=["skdeep", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args)
        return

    try:
        import torch  # noqa: F401

        has_torch = True
    except ImportError:
        has_torch = False
    threads = _n_threads()
    print(
        f"Notes' CNN on {args.n_samples} random 32x32x3 images, {args.epochs} "
        f"epoch(s), batch 32, RMSProp; {threads} BLAS thread(s); median of "
        f"{args.repeats} run(s), each in a fresh process."
    )
    results = {"skdeep": [], "torch": []}
    for _ in range(args.repeats):
        results["skdeep"].append(_spawn("skdeep", args, threads))
        if has_torch:
            results["torch"].append(_spawn("torch", args, threads))

    rows = [("", "skdeep", "PyTorch", "ratio")]
    names = ["skdeep", "torch"] if has_torch else ["skdeep"]

    def row(label, key, fmt, higher_is_better=False):
        values = [_median(results[name], key) for name in names]
        cells = [fmt.format(v) for v in values]
        if has_torch:
            ratio = values[0] / values[1]
            note = " (higher is better)" if higher_is_better else ""
            cells.append(f"{ratio:.2f}x{note}")
        rows.append((label, *cells))

    row("training, s / epoch", "epoch_seconds", "{:.3f}")
    row("inference, images / s", "images_per_second", "{:,.0f}", higher_is_better=True)
    row("peak RSS, MiB", "peak_rss_mb", "{:.0f}")
    for name in names:
        for r in results[name]:
            r["growth_mb"] = r["peak_rss_mb"] - r["baseline_rss_mb"]
    row("peak RSS added by training, MiB", "growth_mb", "{:.1f}")
    row("final training loss", "final_loss", "{:.4f}")
    n_columns = len(rows[0])
    widths = [max(len(str(r[i])) for r in rows if i < len(r)) for i in range(n_columns)]
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    if has_torch:
        ratio = _median(results["skdeep"], "epoch_seconds") / _median(
            results["torch"], "epoch_seconds"
        )
        print(f"\nTraining-time ratio skdeep / PyTorch: {ratio:.2f}")
    else:
        print("\nPyTorch is not installed: no comparison.")
    if args.profile:
        print("\nWhere skdeep's training time goes (cProfile, by own time):")
        print(_spawn("skdeep", args, threads, profile=True)["profile"])


if __name__ == "__main__":
    main()
