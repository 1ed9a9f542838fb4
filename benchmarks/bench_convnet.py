"""Benchmark: the notes' CNN (三.8) in skdeep and in PyTorch CPU, side by side.

The network: Conv2D(16, 2, 'same', relu) - MaxPooling2D(2) - Conv2D(32) - pool -
Conv2D(64) - pool - Flatten - Dense(500, relu) - Dense(10), on 32x32x3 images,
trained with RMSProp (learning rate 1e-3, rho 0.9, epsilon 1e-7) on mini-batches
of 32, as in the notes' Keras code.

Both sides get the same number of threads: numpy's BLAS threads (or
``--threads``), given to PyTorch with ``torch.set_num_threads``. PyTorch is
measured at its best: its input tensors are prepared (and split into batches)
outside the timer, inference runs under ``torch.no_grad()`` in ``eval`` mode,
and every figure is the faster of NCHW-contiguous and channels-last memory
layouts (the layout of both the model and the input); for inference also the
faster of batches of 32 and 256.

Each measurement runs in a fresh subprocess, so its peak resident memory
(``ru_maxrss``) is its own; the frameworks alternate for ``--repeats`` rounds
(5 by default, at least 3) and the median of each figure is reported, which
evens out a busy machine: on a shared 2-vCPU VM one round's training ratio
ranged from 0.85x to 1.64x within a single run. Printed, each with the ratio
skdeep / PyTorch:

- training time per epoch (wall clock, and process CPU time: the steadier of
  the two on a shared machine),
- inference throughput, images/s: skdeep's ``predict_proba`` on 2,000 images
  (one call, as a user makes it) against PyTorch's best ``softmax(model(x))``
  over the same 2,000 images; every PyTorch variant is listed too. With
  several threads, a second skdeep line: the same probabilities from the
  fitted network run as ``network_.predict(X, n_threads=T)`` under a 1-thread
  BLAS limit (chunks on T threads; what ``predict_proba`` gives when the
  estimator runs its network that way),
- peak memory: the whole process (``ru_maxrss``, libraries included) and what
  training adds to it (peak minus the resident size once the libraries are
  imported and the data created: weights, gradients, optimizer state and
  per-batch buffers),
- with ``--profile``, where skdeep's time goes in training and in
  ``predict_proba`` (cProfile, by own time).

PyTorch is optional (never a dependency of skdeep); without it only skdeep runs.

Usage::

    python benchmarks/bench_convnet.py                   # 2048 images, 3 epochs
    python benchmarks/bench_convnet.py --repeats 5 --threads 1
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

N_TEST = 2000  # images predicted by the inference measurement
INFERENCE_CALLS = 3  # timed calls per process; their median is kept


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


def _blas_info():
    from threadpoolctl import threadpool_info

    blas = [info for info in threadpool_info() if info["user_api"] == "blas"]
    return blas[0] if blas else {}


def _blas_threads():
    return _blas_info().get("num_threads", 1)


def _timed(function):
    """``function()``'s wall-clock and process CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def _profile(function, top=18):
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    function()
    profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(top)
    return stream.getvalue()


def notes_cnn_layers():
    from skdeep.layers import Conv2D, Dense, Flatten, MaxPooling2D

    return [
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


def run_skdeep(n_samples, epochs, profile=False):
    import warnings

    from skdeep import ConvNetClassifier

    X, y = _data(n_samples)
    X_test = _data(N_TEST, seed=1)[0]
    baseline = _rss_mb()  # before any weight, gradient or buffer exists
    clf = ConvNetClassifier(
        notes_cnn_layers(),
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
    clf.predict_proba(X_test[:64])
    clf.set_params(max_iter=epochs)
    result = {"threads": _blas_threads()}
    if profile:
        result["profile_fit"] = _profile(lambda: clf.fit(X, y))
        result["profile_predict"] = _profile(lambda: clf.predict_proba(X_test))
        return result
    wall, cpu = _timed(lambda: clf.fit(X, y))
    peak_train = _peak_rss_mb()
    clf.predict_proba(X_test)  # warm-up at full size
    calls = [_timed(lambda: clf.predict_proba(X_test)) for _ in range(INFERENCE_CALLS)]
    infer_wall = statistics.median(c[0] for c in calls)
    infer_cpu = statistics.median(c[1] for c in calls)
    if result["threads"] > 1:
        result["threaded_images_per_second"] = _threaded_inference(
            clf, X_test, result["threads"]
        )
    result.update(
        epoch_seconds=wall / epochs,
        epoch_cpu_seconds=cpu / epochs,
        images_per_second=N_TEST / infer_wall,
        images_per_cpu_second=N_TEST / infer_cpu,
        infer_variant="predict_proba, one call",
        peak_rss_mb=peak_train,
        baseline_rss_mb=baseline,
        final_loss=float(clf.loss_),
    )
    return result


def _threaded_inference(clf, X_test, threads):
    """Images/s of ``clf``'s probabilities computed by its network on
    ``threads`` threads of chunks, each with one BLAS thread
    (``Sequential.predict(n_threads=...)``): what ``predict_proba`` gives once
    the estimator runs its network that way."""
    from scipy import special
    from threadpoolctl import threadpool_limits

    def infer():
        with threadpool_limits(limits=1, user_api="blas"):
            Z = clf.network_.predict(X_test, n_threads=threads)
        special.softmax(Z, axis=1)

    infer()
    calls = [_timed(infer)[0] for _ in range(INFERENCE_CALLS)]
    return N_TEST / statistics.median(calls)


def _torch_model(layout):
    import torch
    from torch import nn

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
    if layout == "channels_last":
        model = model.to(memory_format=torch.channels_last)
    return model


def _torch_images(X, layout):
    import numpy as np
    import torch

    images = torch.from_numpy(np.ascontiguousarray(X.transpose(0, 3, 1, 2)))  # NCHW
    if layout == "channels_last":
        images = images.contiguous(memory_format=torch.channels_last)
    return images


def _torch_train(layout, images, labels, epochs):
    """Train a fresh model for ``epochs`` epochs; return it and its timings."""
    import torch
    from torch import nn

    model = _torch_model(layout)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)

    def epoch(n):
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for start in range(0, n, 32):
            idx = order[start : start + 32]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(images[idx]), labels[idx])
            loss.backward()
            optimizer.step()
            total += float(loss) * len(idx)
        return total / n

    model.train()
    epoch(64)  # warm-up
    losses = []
    wall, cpu = _timed(lambda: losses.extend(epoch(len(images)) for _ in range(epochs)))
    timings = {
        "epoch_seconds": wall / epochs,
        "epoch_cpu_seconds": cpu / epochs,
        "final_loss": losses[-1],
    }
    return model, timings


def _torch_infer(model, batches):
    """Median images/s (wall and CPU) of softmax(model(batch)) over ``batches``."""
    import torch

    def infer():
        with torch.no_grad():
            for batch in batches:
                torch.softmax(model(batch), dim=1)

    infer()  # warm-up
    calls = [_timed(infer) for _ in range(INFERENCE_CALLS)]
    return {
        "images_per_second": N_TEST / statistics.median(c[0] for c in calls),
        "images_per_cpu_second": N_TEST / statistics.median(c[1] for c in calls),
    }


def run_torch(n_samples, epochs, threads):
    import warnings

    import torch

    # padding='same' with an even kernel: PyTorch warns that it pads a copy.
    warnings.simplefilter("ignore")
    torch.set_num_threads(threads)
    X, y = _data(n_samples)
    X_test = _data(N_TEST, seed=1)[0]
    labels = torch.from_numpy(y)
    layouts = ("nchw", "channels_last")
    inputs = {layout: _torch_images(X, layout) for layout in layouts}
    test_inputs = {layout: _torch_images(X_test, layout) for layout in layouts}
    del X, X_test
    baseline = _rss_mb()  # before any weight, gradient or buffer exists
    result = {"threads": threads, "train": {}, "infer": {}}
    for layout in layouts:
        torch.manual_seed(0)
        model, result["train"][layout] = _torch_train(
            layout, inputs[layout], labels, epochs
        )
        model.eval()
        memory_format = (
            torch.channels_last
            if layout == "channels_last"
            else torch.contiguous_format
        )
        for batch_size in (32, 256):
            # The batches are cut (and laid out) before the clock starts.
            batches = [
                test_inputs[layout][i : i + batch_size].contiguous(
                    memory_format=memory_format
                )
                for i in range(0, N_TEST, batch_size)
            ]
            result["infer"][f"{layout}, batch {batch_size}"] = _torch_infer(
                model, batches
            )
    peak_train = _peak_rss_mb()
    # At its best: the faster layout for training, the fastest variant for
    # inference.
    train, infer = result["train"], result["infer"]
    best_train = min(train, key=lambda k: train[k]["epoch_seconds"])
    best_infer = max(infer, key=lambda k: infer[k]["images_per_second"])
    result.update(
        epoch_seconds=train[best_train]["epoch_seconds"],
        epoch_cpu_seconds=train[best_train]["epoch_cpu_seconds"],
        final_loss=train[best_train]["final_loss"],
        train_variant=best_train,
        images_per_second=infer[best_infer]["images_per_second"],
        images_per_cpu_second=infer[best_infer]["images_per_cpu_second"],
        infer_variant=best_infer,
        peak_rss_mb=peak_train,
        baseline_rss_mb=baseline,
    )
    return result


def _worker(args):
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401
    import sklearn.neural_network  # noqa: F401
    from threadpoolctl import threadpool_limits

    if args.worker == "skdeep":
        import skdeep.convnet  # noqa: F401
    else:
        import torch  # noqa: F401
    # Every thread pool loaded by now (BLAS, OpenMP) gets the same limit, for
    # the rest of the process: one side never spins threads the other has not.
    threadpool_limits(limits=args.threads)
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


def _print_table(rows):
    widths = [
        max(len(str(r[i])) for r in rows if i < len(r)) for i in range(len(rows[0]))
    ]
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=2048)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--threads", type=int, default=None, help="threads per side (default: BLAS's)"
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--worker", choices=["skdeep", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args)
        return

    try:
        import torch  # noqa: F401

        has_torch = True
    except ImportError:
        has_torch = False
    threads = args.threads or _blas_threads()
    print(
        f"Notes' CNN, {args.n_samples} random 32x32x3 images, {args.epochs} "
        f"epoch(s), batch 32, RMSProp; inference on {N_TEST} images; {threads} "
        f"thread(s) per side; median of {args.repeats} alternating round(s), "
        f"each side in a fresh process; numpy's BLAS: "
        f"{_blas_info().get('internal_api', '?')} with its "
        f"{_blas_info().get('architecture', '?')} kernels; load average before: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}."
    )
    results = {"skdeep": [], "torch": []}
    for _ in range(args.repeats):
        results["skdeep"].append(_spawn("skdeep", args, threads))
        if has_torch:
            results["torch"].append(_spawn("torch", args, threads))

    names = ["skdeep", "torch"] if has_torch else ["skdeep"]
    rows = [
        ("", "skdeep", "PyTorch", "ratio skdeep / PyTorch")[
            : len(names) + 1 + has_torch
        ]
    ]

    def row(label, key, fmt, note=""):
        values = [_median(results[name], key) for name in names]
        cells = [fmt.format(v) for v in values]
        if has_torch:
            cells.append(f"{values[0] / values[1]:.2f}x{note}")
        rows.append((label, *cells))

    row("training, s / epoch", "epoch_seconds", "{:.3f}", " (<= 1.0 must, <= 0.5 goal)")
    row("training, CPU s / epoch", "epoch_cpu_seconds", "{:.3f}")
    row(
        "inference, images / s",
        "images_per_second",
        "{:,.0f}",
        " (>= 0.8 must, >= 1.5 goal)",
    )
    row("inference, images / CPU s", "images_per_cpu_second", "{:,.0f}")
    if threads > 1:
        speed = _median(results["skdeep"], "threaded_images_per_second")
        cells = [f"{speed:,.0f}"]
        if has_torch:
            best = _median(results["torch"], "images_per_second")
            cells += ["", f"{speed / best:.2f}x"]
        rows.append((f"  network on {threads} threads x 1 BLAS", *cells))
    row("peak RSS, MiB", "peak_rss_mb", "{:.0f}")
    for name in names:
        for r in results[name]:
            r["growth_mb"] = r["peak_rss_mb"] - r["baseline_rss_mb"]
    row("peak RSS added by training, MiB", "growth_mb", "{:.1f}")
    row("final training loss", "final_loss", "{:.4f}")
    _print_table(rows)
    if has_torch:
        print("\nPyTorch variants (medians; the best of each is in the table):")
        torch_rows = [("", "training s / epoch", "inference images / s")]
        for layout in ("nchw", "channels_last"):
            train = statistics.median(
                r["train"][layout]["epoch_seconds"] for r in results["torch"]
            )
            torch_rows.append((f"{layout}", f"{train:.3f}", ""))
            for batch_size in (32, 256):
                key = f"{layout}, batch {batch_size}"
                speed = statistics.median(
                    r["infer"][key]["images_per_second"] for r in results["torch"]
                )
                torch_rows.append((f"  {key}", "", f"{speed:,.0f}"))
        _print_table(torch_rows)
    print(
        "\nPer round, skdeep / PyTorch: training "
        + ", ".join(
            f"{s['epoch_seconds'] / t['epoch_seconds']:.2f}x"
            for s, t in zip(results["skdeep"], results["torch"])
        )
        + "; inference "
        + ", ".join(
            f"{s['images_per_second'] / t['images_per_second']:.2f}x"
            for s, t in zip(results["skdeep"], results["torch"])
        )
        if has_torch
        else "\nPyTorch is not installed: no comparison."
    )
    print(f"Load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}.")
    if args.profile:
        profiled = _spawn("skdeep", args, threads, profile=True)
        print("\nWhere skdeep's training time goes (cProfile, by own time):")
        print(profiled["profile_fit"])
        print(f"Where skdeep's predict_proba time goes ({N_TEST} images):")
        print(profiled["profile_predict"])


if __name__ == "__main__":
    main()
