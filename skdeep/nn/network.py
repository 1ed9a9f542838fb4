"""``Sequential``: a stack of layers, forward and backward (notes 二.2-4).

The network knows nothing of losses, optimizers or scikit-learn: it chains the
layers' ``forward`` and ``backward`` and hands out their weights.

Two rules make transfer learning (notes 三.10) a matter of building the layer list:

- ``build`` keeps the weights of a layer that is already built (it has
  ``input_shape_``, e.g. a layer copied from a fitted network) and only builds
  the others.
- A layer with ``trainable=False`` is frozen: it gets no weight gradients and the
  optimizer never sees it. The frozen base (the layers up to the last frozen one
  below the lowest trained layer) runs in inference mode (no cache, no dropout),
  as a frozen feature extractor does; every layer above it trains, so a
  ``Dropout`` at the input or at the start of a transfer head drops units.
  Back-propagation stops at the lowest trained layer: nothing below it needs a
  gradient.
"""

import copy
import re
import threading

import numpy as np

from .activations import SAFE_BOUND
from .conv_pool import ConvPool
from .layers import Activation, Dense, Dropout, Flatten, deepcopy_value
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


def _is_sparse(X):
    return hasattr(X, "tocsr")


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


def _snake_case(name):
    return re.sub(r"(?<=[a-z])([A-Z])", r"_\1", name).lower()


class Sequential:
    """A linear stack of layers.

    Parameters
    ----------
    layers : list of Layer
        The layers, input first. They are used as given (not copied).
    dtype : numpy dtype, default=np.float32
        Floating type of the weights and of the computations.

    Attributes
    ----------
    input_shape_ : tuple of int
        Shape of one sample (no batch axis), set by ``build``.
    output_shape_ : tuple of int
        Shape of one output.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.nn.layers import Dense
    >>> from skdeep.nn.network import Sequential
    >>> net = Sequential([Dense(8, activation="relu"), Dense(2)])
    >>> net.build((4,), np.random.default_rng(0))
    (2,)
    >>> net.forward(np.ones((3, 4))).shape
    (3, 2)
    >>> [w.shape for w in net.get_weights()]
    [(4, 8), (8,), (8, 2), (2,)]
    """

    def __init__(self, layers, dtype=np.float32):
        self.layers = list(layers)
        self.dtype = np.dtype(dtype)
        self._steps = None
        self._frozen_workspaces = None
        self._idle_workspaces = []

    def build(self, input_shape, rng):
        """Build every layer not built yet; return the network's output shape.

        Every layer, built or not, draws its randomness (dropout masks) from
        ``rng``, so a network made of copied layers trains reproducibly from
        the caller's random state.
        """
        shape = self.input_shape_ = tuple(int(d) for d in input_shape)
        for layer in self.layers:
            if hasattr(layer, "input_shape_"):
                layer.set_rng(rng)
                if tuple(layer.input_shape_) != shape:
                    raise ValueError(
                        f"Layer {layer!r} was built for inputs of shape "
                        f"{tuple(layer.input_shape_)} but receives {shape}."
                    )
                self._cast_weights(layer)
                shape = tuple(layer.output_shape(shape))
            else:
                shape = tuple(layer.build(shape, rng, dtype=self.dtype))
        self.output_shape_ = shape
        self._first_trainable = next(
            (i for i, layer in enumerate(self.layers) if self._is_trained(layer)),
            len(self.layers),
        )
        # Layers from _train_from up run in training mode: everything above the
        # last frozen layer of the base, including parameter-free layers
        # (Dropout, pooling) below the lowest trained one.
        frozen = [
            i for i in range(self._first_trainable) if not self.layers[i].trainable
        ]
        self._train_from = frozen[-1] + 1 if frozen else 0
        for i, layer in enumerate(self.layers):
            # Nobody reads the input gradient of the lowest trained layer.
            layer.needs_input_grad = i > self._first_trainable
        self._steps = self._plan_steps()
        self._frozen_workspaces = None
        self._idle_workspaces = []
        return shape

    def _plan_steps(self):
        """How forward, backward and predict run the layers: a list of
        ``(index of the first layer, runner)``.

        A runner is a layer, or a :class:`~skdeep.nn.conv_pool.ConvPool` running a
        ``Conv2D`` and the ``MaxPooling2D`` above it as one step when it can
        (same result, fewer passes). A step runs in training mode if its first
        layer does: a pair whose convolution ends the frozen base runs in
        inference mode, pooling included, which changes nothing, as backward
        stops below the pooling (it has no weights).
        """
        steps, i, layers = [], 0, self.layers
        while i < len(layers):
            pair = layers[i : i + 2]
            if len(pair) == 2 and ConvPool.fusable(*pair):
                steps.append((i, ConvPool(*pair)))
                i += 2
            else:
                steps.append((i, layers[i]))
                i += 1
        return steps

    def _get_steps(self):
        if getattr(self, "_steps", None) is None:  # unpickled: planned on demand
            self._steps = self._plan_steps()
        return self._steps

    def _cast_weights(self, layer):
        if any(p.dtype != self.dtype for p in layer.params.values()):
            layer.params = {k: p.astype(self.dtype) for k, p in layer.params.items()}
        layer.grads = {k: np.zeros_like(p) for k, p in layer.params.items()}

    @staticmethod
    def _is_trained(layer):
        return layer.trainable and bool(layer.params)

    def forward(self, X, training=False):
        """Output of the last layer for the batch ``X``.

        With ``training=True`` ``X`` is cast to ``dtype`` and the layers above
        the frozen base run in training mode (dropout active, caches kept for
        ``backward``); the frozen base runs in inference mode, in buffers kept
        from batch to batch. Inference computes in the floating type of ``X``
        and returns fresh arrays (:meth:`predict` is the fast way to infer).
        """
        Y = X if _is_sparse(X) else np.asarray(X)
        if training or Y.dtype.kind != "f":
            Y = Y.astype(self.dtype, copy=False)
        if not training:
            for layer in self.layers:
                Y = layer.forward(Y, training=False)
            return Y
        steps = self._get_steps()
        if self._train_from and self._frozen_workspaces is None:
            self._frozen_workspaces = [{} for _ in steps]
        for k, (i, runner) in enumerate(steps):
            if i < self._train_from:
                Y = runner.infer(Y, self._frozen_workspaces[k])
            else:
                Y = runner.forward(Y, training=True)
        return Y

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
                # Weights cast to dtype by a previous call may have changed since.
                workspace.pop("W_cast", None)
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

    def output_bound(self, X):
        """A bound on the magnitude of every inference output and every
        intermediate value for the rows of ``X``, from the weights and the
        largest ``|X|``; None if a layer cannot tell or a value might reach
        :data:`~skdeep.nn.activations.SAFE_BOUND` (see
        :meth:`~skdeep.nn.layers.Layer.output_bound`)."""
        values = X.data if _is_sparse(X) else X
        bound = float(max(values.max(initial=0.0), -values.min(initial=0.0)))
        for layer in self.layers:
            bound = layer.output_bound(bound)
            if bound is None or not bound < SAFE_BOUND:
                return None
        return bound

    def multiply_adds(self):
        """Multiply-adds of one sample's forward pass, roughly (the sum of the
        layers' :meth:`~skdeep.nn.layers.Layer.multiply_adds`): 60,042 for a
        (256, 128) MLP on 100 features, 1.8 million for the notes' CNN."""
        shape, total = self.input_shape_, 0
        for layer in self.layers:
            total += int(layer.multiply_adds(shape))
            shape = tuple(layer.output_shape(shape))
        return total

    def backward(self, dY):
        """Back-propagate the gradient of the loss with respect to the output.

        Fills the ``grads`` of every trainable layer, stopping at the lowest one.
        """
        for i, runner in reversed(self._get_steps()):
            if i + len(getattr(runner, "layers", (runner,))) <= self._first_trainable:
                break  # below the lowest trained layer: no gradient needed
            dY = runner.backward(dY)

    def trainable_params(self):
        """``(params, grads, is_weight)``: parallel lists over the trained arrays.

        ``is_weight`` marks the arrays named 'W' (weight decay applies to them,
        not to biases).
        """
        params, grads, is_weight = [], [], []
        for layer in self.layers:
            if self._is_trained(layer):
                for name, p in layer.params.items():
                    params.append(p)
                    grads.append(layer.grads[name])
                    is_weight.append(name == "W")
        return params, grads, is_weight

    def _trained_arrays(self):
        """``(layer, name)`` of every trained array, in the order of the flat
        arrays (:meth:`flat_trainable`, :meth:`replica`)."""
        return [
            (layer, name)
            for layer in self.layers
            if self._is_trained(layer)
            for name in layer.params
        ]

    def flat_trainable(self):
        """Gather the trained arrays into one contiguous array, and their
        gradients into another; return ``(flat_params, flat_grads)``.

        The layers' ``params`` and ``grads`` entries become views into the two
        arrays, so an optimizer step is a dozen whole-array operations instead
        of a dozen per array. Layers keep working unchanged as long as they read
        ``params`` at each call and write into the existing ``grads`` arrays
        (the layer contract). Called by the trainer at the start of each fit:
        copies and unpickled networks get fresh flat arrays.
        """
        trained = self._trained_arrays()
        kept = getattr(self, "_flat", None)
        if kept is not None and all(
            layer.params[name].base is kept[0] and layer.grads[name].base is kept[1]
            for layer, name in trained
        ):
            return kept  # already gathered (partial_fit's next call): no copy
        size = sum(layer.params[name].size for layer, name in trained)
        flat_params = np.empty(size, dtype=self.dtype)
        flat_grads = np.zeros(size, dtype=self.dtype)
        start = 0
        for layer, name in trained:
            p = layer.params[name]
            stop = start + p.size
            view = flat_params[start:stop].reshape(p.shape)
            view[...] = p
            layer.params[name] = view
            layer.grads[name] = flat_grads[start:stop].reshape(p.shape)
            start = stop
        self._flat = (flat_params, flat_grads)
        return self._flat

    def replica(self, rng):
        """A twin network computing with these weights in state of its own.

        The trainer runs a part of each batch through a replica on another
        thread (:mod:`skdeep.nn.trainer`). Its layers are shallow copies of
        these sharing their ``params`` dicts, hence the weight arrays and
        every update made to them, with their own gradient arrays, caches,
        training buffers and random generator (``rng``, for dropout masks);
        the replica has its own fused steps and frozen-base workspaces. The
        trained layers' gradients are views into one flat array laid out as
        :meth:`flat_trainable` lays out this network's, so that the
        gradients of a batch's parts add up array to array.

        Parameters
        ----------
        rng : numpy.random.Generator
            The replica's randomness (``set_rng`` of every layer).

        Returns
        -------
        replica : Sequential
        flat_grads : ndarray of shape (n_trained_params,)

        Notes
        -----
        Copies and pickles of a network never carry replicas: the trainer
        keeps them, for the duration of a fit.
        """
        layers = []
        for layer in self.layers:
            twin = copy.copy(layer)  # Layer.__getstate__: no cache, no buffers
            twin.params = layer.params  # the very dict: same arrays, same views
            twin.grads = dict(layer.grads)
            twin.set_rng(rng)
            layers.append(twin)
        # What build set, not planned again: the layers are built.
        replica = Sequential(layers, dtype=self.dtype)
        replica.input_shape_, replica.output_shape_ = (
            self.input_shape_,
            self.output_shape_,
        )
        replica._first_trainable = self._first_trainable
        replica._train_from = self._train_from
        trained = replica._trained_arrays()
        flat_grads = np.zeros(
            sum(layer.params[name].size for layer, name in trained), dtype=self.dtype
        )
        start = 0
        for layer, name in trained:
            shape = layer.params[name].shape
            stop = start + layer.params[name].size
            layer.grads[name] = flat_grads[start:stop].reshape(shape)
            start = stop
        return replica, flat_grads

    def get_weights(self):
        """Copies of every layer's parameters, in layer order (as Keras)."""
        return [p.copy() for layer in self.layers for p in layer.params.values()]

    def set_weights(self, weights):
        """Set every layer's parameters from a list shaped like ``get_weights()``."""
        targets = [p for layer in self.layers for p in layer.params.values()]
        weights = list(weights)
        if len(weights) != len(targets):
            raise ValueError(
                f"set_weights expects a list of {len(targets)} arrays; received "
                f"{len(weights)}."
            )
        for i, (target, w) in enumerate(zip(targets, weights)):
            w = np.asarray(w)
            if w.shape != target.shape:
                raise ValueError(
                    f"Weight {i} has shape {w.shape}; expected {target.shape}."
                )
            np.copyto(target, w, casting="same_kind")

    def weights_finite(self):
        """True if every parameter is finite."""
        return all(
            np.isfinite(p).all() for layer in self.layers for p in layer.params.values()
        )

    def summary_rows(self):
        """One dict per layer: name, output_shape (batch axis None), params, trainable.

        Names follow Keras: ``dense``, ``dense_1``, ... with the class in brackets.
        """
        rows, counts, shape = [], {}, self.input_shape_
        for layer in self.layers:
            shape = tuple(layer.output_shape(shape))
            kind = type(layer).__name__
            base = _snake_case(kind)
            k = counts[base] = counts.get(base, -1) + 1
            name = base if k == 0 else f"{base}_{k}"
            rows.append(
                {
                    "layer": f"{name} ({kind})",
                    "output_shape": (None, *shape),
                    "params": layer.n_params,
                    "trainable": bool(layer.trainable),
                }
            )
        return rows

    def release_buffers(self):
        """Drop the layers' caches and scratch buffers (after training) and the
        buffers kept for the next prediction."""
        for layer in self.layers:
            layer._cache = None
            if hasattr(layer, "_buffers"):
                layer._buffers = {}
        for _, runner in self._get_steps():
            if isinstance(runner, ConvPool):
                runner.release()
        self._frozen_workspaces = None
        self._idle_workspaces = []

    def __getstate__(self):
        # Buffers and the fused steps' caches are per-call state: copies and
        # pickles carry the layers only (the steps are planned again on use).
        state = self.__dict__.copy()
        state["_steps"] = None
        state["_frozen_workspaces"] = None
        state["_idle_workspaces"] = []
        state["_flat"] = None  # the copied layers' arrays are not views of it
        return state

    def __deepcopy__(self, memo):
        new = object.__new__(type(self))
        memo[id(self)] = new
        new.__dict__.update(
            {
                key: deepcopy_value(value, memo)
                for key, value in self.__getstate__().items()
            }
        )
        return new

    def __setstate__(self, state):
        # Networks pickled before these attributes existed get them empty.
        self.__dict__.update(
            {
                "_steps": None,
                "_frozen_workspaces": None,
                "_idle_workspaces": [],
                "_flat": None,
            }
        )
        self.__dict__.update(state)

    @property
    def n_params(self):
        """Number of scalar parameters."""
        return sum(layer.n_params for layer in self.layers)

    def __repr__(self):
        return f"Sequential({self.layers!r})"


__all__ = ["Sequential"]
