"""Inference in fixed-size chunks of rows: ``Sequential.predict`` and its buffers.

:class:`ChunkedInference` is the part of :class:`~skdeep.nn.network.Sequential`
that runs a built network on any number of rows: it casts (or keeps) their
dtype, cuts them into padded chunks of a fixed size, runs the chunks in
per-thread workspaces kept from call to call, side by side on threads when
that pays, and writes the outputs into one array. The network supplies
``layers``, ``input_shape_``, ``output_shape_``, ``dtype`` and its steps
(``_get_steps``).
"""

import threading

import numpy as np

from .layers import CAST_PREFIX, Activation, Dense, Dropout, Flatten, _is_sparse
from .parallel import blas_threads, one_blas_thread

# Layers whose inference BLAS's threads spread well (Sequential._matrix_products_only).
_MATRIX_PRODUCT_LAYERS = (Dense, Dropout, Flatten, Activation)

# Inference runs in chunks of a fixed number of rows, chosen so that the largest
# per-layer temporary of a chunk (an activation, or a Conv2D's im2col windows)
# takes about this many bytes: the chunk's arrays then stay in cache from one
# layer to the next, and the matrix products are large enough to be efficient.
# Notes' CNN, one thread: 15,100 images/s in chunks of 64 images (4 MiB of
# windows), 13,400 in chunks of 32, 11,700 in chunks of 16.
PREDICT_MEMORY_BUDGET = 4 * 2**20

# Bounds of the chunk size chosen from the budget, in rows. The upper bound is
# also the work a 1-row call pays for (every chunk is padded to full size): a
# (256, 128) MLP predicts 20,000 rows as fast in chunks of 256 as of 1,024.
PREDICT_MIN_ROWS, PREDICT_MAX_ROWS = 8, 256


def _padded_sparse_rows(rows_csr, n_rows, dtype):
    """``rows_csr`` as CSR of ``dtype`` with empty rows appended up to ``n_rows``."""
    rows_csr = rows_csr.astype(dtype, copy=False)
    missing = n_rows - rows_csr.shape[0]
    if not missing:
        return rows_csr
    indptr = np.concatenate(
        [rows_csr.indptr, np.full(missing, rows_csr.indptr[-1], rows_csr.indptr.dtype)]
    )
    return type(rows_csr)(
        (rows_csr.data, rows_csr.indices, indptr), shape=(n_rows, rows_csr.shape[1])
    )


class ChunkedInference:
    """``predict`` and its buffers, for :class:`~skdeep.nn.network.Sequential`."""

    def predict(self, X, batch_size=None, out_dtype=np.float64, n_threads=1):
        """Inference output for ``X``, computed a fixed-size chunk of rows at
        a time, in float64 for float64 rows and in the network's ``dtype``
        otherwise.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, ...)
            Rows of shape ``input_shape_``, any real dtype. float64 rows are
            computed in float64 (a float32 network's weights are cast once per
            call); rows of any other type are cast, a chunk at a time, to the
            network's ``dtype``. Sparse rows (CSR) go to a first ``Dense``
            layer as they are.
        batch_size : int, default=None
            Rows per chunk; by default :meth:`predict_batch_size` for the
            dtype computed in.
        out_dtype : numpy dtype or None, default=np.float64
            Type of the result; None returns the dtype computed in, without a
            cast.
        n_threads : int or "auto", default=1
            Threads computing chunks side by side (the caller's thread and
            ``n_threads - 1`` more). numpy releases the GIL in its loops, so
            the element-wise passes, which one BLAS call cannot spread over
            cores, run in parallel too. Each thread should then run its matrix
            products on one BLAS thread: with an int, call this under
            ``threadpoolctl.threadpool_limits(1, "blas")`` with ``n_threads``
            set to the BLAS thread count it replaces; "auto" does that itself
            (as many threads as BLAS has, BLAS on one thread meanwhile) when
            ``X`` has more than one chunk and the network has layers other
            than ``Dense``, ``Dropout``, ``Flatten`` and ``Activation`` (whose
            matrix products BLAS's own threads spread as well). The result
            does not depend on ``n_threads``.

        Returns
        -------
        Y : ndarray of shape (n_samples, ...)
            Rows of shape ``output_shape_``.

        Notes
        -----
        **For float64 rows, a row's output does not depend on the other rows
        of ``X``**, bit for bit, for any number of rows and any order: what
        scikit-learn's ``check_methods_subset_invariance`` and
        ``check_methods_sample_order_invariance`` ask for (their data is
        float64). Every chunk has the same shape: the last one is padded with
        rows of zeros, so a 1-row call and a 10,000-row call put each row
        through the same kernels (numpy would send a 1-row product to a
        matrix-vector routine, which sums in another order). Every step of a
        layer is either row-wise or a matrix product whose rows are computed
        independently, and a float64 BLAS product of fixed shape gives a row
        the same value wherever it sits among the rows (checked in
        ``tests/nn/test_network.py``, for single-row, shuffled and
        differently-sized inputs, with 1 and 2 BLAS threads).

        float32 products do not all promise that: OpenBLAS 0.3.31's float32
        GEMM on an AMD Zen 5 CPU (run with its Haswell kernels) computes a
        row's sums in one of two or three orders depending on its position
        among the rows (modulo 12), so a float32 row's output may differ by
        float32 rounding (~1e-7 relative) with the rows around it. That is why
        float64 input is not narrowed to float32: the fast float32 path is
        taken for float32 input (images, ``X.astype(np.float32)``), where the
        guarantee is equality to float32 rounding, not bit for bit. A float32
        and a float64 network differ by float32 rounding too, as in training.

        **Peak memory** is the result, ``n_samples * prod(output_shape_)``
        values of ``out_dtype``, and per thread one set of buffers for
        ``batch_size`` rows, whatever ``n_samples``: the chunk, and for each
        layer its output and temporaries (for ``Conv2D`` the padded images and
        the im2col windows), at most ``batch_size * sum(layer.scratch_size) *
        3`` values of the dtype computed in: 0.5 MiB for a (256, 128) MLP in
        chunks of 256 rows, 22 MiB for the notes' CNN in chunks of 64 images
        (float32; in float64 the chunks have half the rows, the same bytes).
        float64 rows through a float32 network add, per thread, a float64
        copy of each ``Dense`` layer's weights. ``X`` is never copied whole.
        The buffers are reused for every chunk of a call and kept for the next
        call (:meth:`release_buffers` drops them); concurrent calls use
        separate buffers, so ``predict`` is thread-safe.
        """
        if _is_sparse(X):
            X = X.tocsr()  # row slices of CSR are cheap
        else:
            X = np.asarray(X)
        if X.shape[1:] != self.input_shape_:
            raise ValueError(
                f"The network was built for inputs of shape {self.input_shape_}; "
                f"received X of shape {X.shape}, i.e. inputs of shape "
                f"{X.shape[1:]}."
            )
        # float64 rows are computed in float64 (see Notes); anything else in
        # the network's dtype.
        compute = np.float64 if X.dtype == np.float64 else self.dtype
        if batch_size is None:
            rows = self.predict_batch_size(dtype=compute)
        else:
            rows = int(batch_size)
        if rows < 1:
            raise ValueError(f"`batch_size` must be >= 1; received {batch_size!r}.")
        if n_threads == "auto":
            chunks_side_by_side = X.shape[0] > rows and not self._matrix_products_only()
            n_threads = blas_threads() if chunks_side_by_side else 1
            if n_threads > 1:
                with one_blas_thread():
                    return self.predict(X, rows, out_dtype, n_threads)
        n = X.shape[0]
        dtype = compute if out_dtype is None else np.dtype(out_dtype)
        out = np.empty((n, *self.output_shape_), dtype=dtype)
        # Chunk starts, shared by the threads: next() on a range iterator is
        # atomic, so each chunk is computed once.
        starts = iter(range(0, n, rows))
        errors = []

        def work():
            try:
                self._predict_chunks(X, out, starts, rows, compute)
            except BaseException as exc:  # re-raised in the caller's thread
                errors.append(exc)

        n_helpers = min(int(n_threads), -(-n // rows)) - 1
        helpers = [threading.Thread(target=work, daemon=True) for _ in range(n_helpers)]
        for helper in helpers:
            helper.start()
        try:
            self._predict_chunks(X, out, starts, rows, compute)
        finally:
            for helper in helpers:
                helper.join()
        if errors:
            raise errors[0]
        return out

    def _matrix_products_only(self):
        """Whether inference is matrix products and light element-wise passes
        (``Dense``, ``Dropout``, ``Flatten``, ``Activation``): work a
        multi-threaded BLAS spreads over the cores by itself.

        ``predict(n_threads="auto")`` then keeps BLAS's threads rather than
        computing chunks side by side: right after a fit, OpenBLAS's idle
        threads spin for about 0.1 s and slow the chunk threads down (a
        (256, 128) MLP, 20,000 float64 rows, 2 cores: 57 ms against 36 ms).
        Convolutions and pooling have passes BLAS cannot spread, and gain
        from side-by-side chunks even then (notes' CNN: 16,800 images/s
        against 12,400).
        """
        return all(isinstance(layer, _MATRIX_PRODUCT_LAYERS) for layer in self.layers)

    def _predict_chunks(self, X, out, starts, rows, dtype):
        """Compute ``out[start:start + rows]`` for each ``start`` taken from
        ``starts``, in ``dtype`` and in one set of workspaces."""
        workspaces = self._take_workspaces()
        try:
            for workspace in workspaces:
                # Weights cast by a previous call may have changed since.
                for key in [key for key in workspace if key.startswith(CAST_PREFIX)]:
                    del workspace[key]
            chunk = workspaces[-1].get("chunk")
            if chunk is None or chunk.shape[0] != rows or chunk.dtype != dtype:
                chunk = workspaces[-1]["chunk"] = np.empty(
                    (rows, *self.input_shape_), dtype=dtype
                )
            n = X.shape[0]
            for start in starts:
                m = min(rows, n - start)
                if _is_sparse(X):
                    # Sparse rows go to the first layer as they are (its
                    # product is row by row): only padded to the chunk's shape.
                    Y = _padded_sparse_rows(X[start : start + m], rows, dtype)
                else:
                    np.copyto(chunk[:m], X[start : start + m], casting="unsafe")
                    if m < rows:
                        chunk[m:] = 0  # padding rows: the chunk keeps its shape
                    Y = chunk
                for (_, runner), workspace in zip(self._get_steps(), workspaces):
                    Y = runner.infer(Y, workspace)
                out[start : start + m] = Y[:m]
        finally:
            self._idle_workspaces.append(workspaces)

    def _take_workspaces(self):
        """One workspace per step (and one for the input chunk), reused from a
        previous call when one is idle. ``list.pop`` and ``append`` are atomic,
        so concurrent calls never share a workspace."""
        try:
            return self._idle_workspaces.pop()
        except IndexError:
            return [{} for _ in range(len(self._get_steps()) + 1)]

    def predict_batch_size(self, budget=None, dtype=None):
        """Rows per inference chunk: as many as keep the largest per-layer
        temporary of a chunk near ``budget`` bytes (default
        :data:`PREDICT_MEMORY_BUDGET`) when computed in ``dtype`` (default: the
        network's), rounded down to a multiple of 8 and kept within
        ``[PREDICT_MIN_ROWS, PREDICT_MAX_ROWS]``; a function of the network and
        the dtype only, never of the number of rows."""
        budget = PREDICT_MEMORY_BUDGET if budget is None else budget
        itemsize = np.dtype(self.dtype if dtype is None else dtype).itemsize
        shape, largest = self.input_shape_, int(np.prod(self.input_shape_))
        for layer in self.layers:
            largest = max(largest, layer.scratch_size(shape))
            shape = tuple(layer.output_shape(shape))
        rows = budget // (itemsize * largest) // 8 * 8
        return int(min(max(rows, PREDICT_MIN_ROWS), PREDICT_MAX_ROWS))


__all__ = [
    "ChunkedInference",
    "PREDICT_MAX_ROWS",
    "PREDICT_MEMORY_BUDGET",
    "PREDICT_MIN_ROWS",
]
