"""One epoch of gradient descent on a network (notes 一.11-12, 二.5-10).

:class:`Trainer` runs one pass over the data in mini-batches (or one full
batch) and, after every optimizer step, applies what is not a gradient: the
proximal step of the L1 penalty and the max-norm constraint. The epoch loop
around it (validation, early stopping, best weights, schedules) is
:func:`skdeep.nn.training.run_epochs`.

What an epoch's loss describes:

- full batch (``batch_size=None``): the loss of the weights *after* the epoch's
  step. Each epoch ends with the forward pass of the new weights, whose
  activations the next epoch back-propagates, so the exact post-step loss costs
  no extra pass (only the first epoch makes one more forward pass). The best
  epoch's weights are then exactly the weights whose loss was recorded.
- mini-batches: the mean of the batch losses met during the epoch while the
  weights changed (Keras' running ``loss``), plus the penalties of the weights
  the epoch ends with.

**Data-parallel parts.** A batch (the full batch too) is split into
``N_PARTS`` (2) parts of consecutive rows, the first ``m // 2`` and the rest,
when each part has at least ``MIN_PART_ROWS`` (16) rows and
``MIN_PART_MULTIPLY_ADDS`` (50 million) multiply-adds of forward pass (rows
times the network's :meth:`~skdeep.nn.network.Sequential.multiply_adds`):
parts of a notes' CNN from batches of 64 images, of a (256, 128) MLP on 100
features from batches of 2,000 rows. Each part runs forward, loss and
backward on its own network (this network for the first part, a
:meth:`~skdeep.nn.network.Sequential.replica` sharing its weights for the
others), its loss being its own mean rescaled by its share of the batch (its
rows, or its sample weight), so that the parts' gradients, added into the flat
gradient array in part order, are the batch's gradient; then one optimizer
step. The rule depends on the batch's rows and the network only, never on
threads or cores, so a model is the same bit for bit whether the parts run
side by side (on :class:`~skdeep.nn.parallel.PartThreads`: as many threads as
BLAS would use, at most one per part, each with a one-thread BLAS) or in turn,
e.g. in a search's worker processes. ``partial_fit`` calls, one batch each,
follow the same rule.

Smaller parts are not worth it: handing work to another thread and taking
the GIL back cost tens of microseconds each, and half a batch runs less
efficiently than a whole one (smaller matrix products, a gradient sum). On 2
cores, float32 (``benchmarks/bench_parts.py``), split batches train the
notes' CNN 14-34% faster than whole ones on a two-thread BLAS in batches of
64-512 images and the MLP 5-23% faster in batches of 2,000 rows to the full
20,000; in batches of 32 images the CNN would gain nothing, and the MLP would
lose 6-28% in batches of 1,000-200 rows. On one thread split batches cost
0-3% more (16% for the CNN in batches of 64): the price of results that do
not depend on the thread count.

Augmentation, shuffling and the penalties stay in the caller's thread, once
per batch; the replicas draw their dropout masks from generators spawned from
``rng``, so masks do not depend on thread timing. The threads live for one
epoch: between epochs (validation, callbacks, pickles of the estimator) none
exists.
"""

import inspect
import math
from functools import partial

import numpy as np

from .activations import relu_into
from .parallel import PartThreads, blas_threads

# The split rule (see the module docstring): constants, never the number of
# threads or cores, so that results do not depend on the machine.
N_PARTS = 2
MIN_PART_ROWS = 16
MIN_PART_MULTIPLY_ADDS = 50_000_000


def part_bounds(n_rows, row_multiply_adds):
    """Row bounds ``(0, ..., n_rows)`` of the parts a batch is split into.

    Parameters
    ----------
    n_rows : int
        Rows of the batch.
    row_multiply_adds : int
        Multiply-adds of one row's forward pass
        (:meth:`~skdeep.nn.network.Sequential.multiply_adds`).

    Returns
    -------
    bounds : tuple of int
        ``N_PARTS`` parts of consecutive rows if each would have at least
        ``MIN_PART_ROWS`` rows and ``MIN_PART_MULTIPLY_ADDS`` multiply-adds,
        else the one part of every row.

    Examples
    --------
    >>> from skdeep.nn.trainer import part_bounds
    >>> part_bounds(2000, 60_000), part_bounds(65, 2 * 10**6), part_bounds(200, 60_000)
    ((0, 1000, 2000), (0, 32, 65), (0, 200))
    """
    smallest = n_rows // N_PARTS
    if smallest < MIN_PART_ROWS or smallest * row_multiply_adds < (
        MIN_PART_MULTIPLY_ADDS
    ):
        return (0, n_rows)
    return tuple(k * n_rows // N_PARTS for k in range(N_PARTS + 1))


class _Part:
    """One part of a batch, and what its forward pass left for the step."""

    __slots__ = ("network", "flat_grads", "X", "Y", "weight", "rows", "scale",
                 "active", "loss", "dZ")  # fmt: skip

    def __init__(self, network, flat_grads, X, Y, weight, rows, scale, active):
        self.network, self.flat_grads = network, flat_grads
        self.X, self.Y, self.weight, self.rows = X, Y, weight, rows
        # The part's mean loss times this is its contribution to the batch's.
        self.scale = scale
        # A part of zero weight has no loss or gradient (only outputs).
        self.active = active
        self.loss, self.dZ = 0.0, None


_SEQUENTIAL = PartThreads(1)


def _sum_of_squares(A):
    """``sum(A**2)`` by numpy's einsum, not BLAS's dot, which splits long sums
    over its threads: the result must not depend on their number."""
    flat = A.reshape(-1)
    return np.einsum("i,i->", flat, flat)


class StopRequest:
    """A flag the epoch loop checks between batches (set by Ctrl-C handling).

    Examples
    --------
    >>> from skdeep.nn.trainer import StopRequest
    >>> request = StopRequest()
    >>> request.requested
    False
    """

    def __init__(self):
        self.requested = False


class Trainer:
    """One epoch of (mini-batch) gradient descent on a network.

    Parameters
    ----------
    network : Sequential
        A built network.
    loss : callable
        ``loss(Z, Y, sample_weight) -> (loss, dZ)`` from :mod:`skdeep.nn.losses`.
    optimizer : Optimizer
        Updates the trainable arrays in place. It is given one flat array of
        all of them (see ``Sequential.flat_trainable``), so its state is one
        array per moment.
    batch_size : int or None, default=None
        Mini-batch size; None is full-batch gradient descent.
    shuffle : bool, default=True
        Visit the rows in a new random order each epoch (mini-batches only).
    alpha : float, default=0.0
        L2 penalty ``0.5 * alpha * ||W||^2`` on the weights 'W' of the trained
        layers (not the biases), added to the loss and to its gradient.
    l1 : float, default=0.0
        L1 penalty ``l1 * |W|``, added to the reported loss and applied as a
        proximal (soft-thresholding) step after every optimizer step: each
        weight moves ``l1`` times its step size towards 0 and stops there, so
        weights become exactly zero (the notes' feature selection, 二.6). The
        step size is the learning rate for SGD and, per weight, the adaptive
        one of Adam and RMSProp (``Optimizer.step_scale``): the proximal step in
        the metric the optimizer descends in.
    max_norm : float or None, default=None
        After every step, rescale each unit's incoming weights (every axis of
        'W' but the last) whose L2 norm exceeds ``max_norm`` back to it, as
        Keras' ``MaxNorm`` constraint.
    clipnorm : float or None, default=None
        Clip each gradient array to this L2 norm (Keras' ``clipnorm``).
    augment : callable or None, default=None
        ``augment(X_batch, rng) -> X_batch``, applied to training batches only.
    rng : numpy.random.Generator
        Shuffling (and augmentation) randomness; the replicas computing the
        other parts of split batches get generators spawned from it.
    stop_request : StopRequest or None, default=None
        Checked after every batch: once set, the epoch ends there
        (``interrupted`` becomes True).

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.nn.layers import Dense
    >>> from skdeep.nn.losses import squared_error
    >>> from skdeep.nn.network import Sequential
    >>> from skdeep.nn.optimizers import SGD
    >>> from skdeep.nn.trainer import Trainer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(64, 2))
    >>> Y = X @ np.array([[2.0], [-1.0]])
    >>> net = Sequential([Dense(1)], dtype=np.float64)
    >>> net.build((2,), rng)
    (1,)
    >>> trainer = Trainer(net, squared_error, SGD(0.1), batch_size=16, rng=rng)
    >>> losses = [trainer.train_epoch(X, Y) for _ in range(30)]
    >>> bool(losses[-1] < 1e-3 < losses[0])
    True
    """

    converged = False  # gradient descent has no notion of a finished epoch

    def __init__(
        self,
        network,
        loss,
        optimizer,
        *,
        batch_size=None,
        shuffle=True,
        alpha=0.0,
        l1=0.0,
        max_norm=None,
        clipnorm=None,
        augment=None,
        rng,
        stop_request=None,
    ):
        self.network = network
        self.loss = loss
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.shuffle = shuffle
        # Python floats: numpy applies them to float32 arrays in float32,
        # where a numpy float64 (a search's sampled value) would convert
        # every value of every pass.
        self.alpha = float(alpha)
        self.l1 = float(l1)
        self.max_norm = max_norm
        self.clipnorm = clipnorm
        self.augment = augment
        self.rng = rng
        self.stop_request = stop_request
        self.interrupted = False
        self.epoch_log = {}
        self._bind_arrays()
        self._l1_scale = None
        self._batches = {}
        self._predictions = None
        # Full batch: the parts of the forward pass of the current weights that
        # ended the previous epoch, with their (loss, dZ) (the layers of their
        # networks keep its caches).
        self._pending = None
        # (replica, its flat gradients) for parts 1, 2, ...: made on the first
        # split batch, kept for the fit.
        self._replicas = []
        self._threads = _SEQUENTIAL  # the epoch's PartThreads while it runs
        self._row_multiply_adds = network.multiply_adds()
        # An Optimizer subclass may override step without the `run` argument.
        self._step_takes_run = "run" in inspect.signature(optimizer.step).parameters

    def _bind_arrays(self):
        """Gather the network's trained arrays into the flat arrays the
        optimizer updates, and keep the lists the penalties walk."""
        network = self.network
        self._flat_params, self._flat_grads = network.flat_trainable()
        self._params, self._grads, is_weight = network.trainable_params()
        self._weights = [p for p, w in zip(self._params, is_weight) if w]
        # Where each weight array sits in the flat array the optimizer updates.
        base = self._flat_params.ctypes.data
        itemsize = self._flat_params.itemsize
        self._weight_slices = [
            slice(
                (W.ctypes.data - base) // itemsize,
                (W.ctypes.data - base) // itemsize + W.size,
            )
            for W in self._weights
        ]
        self._weight_grads = [g for g, w in zip(self._grads, is_weight) if w]
        self._scratch = [np.empty_like(w) for w in self._weights]

    @property
    def learning_rate(self):
        """The optimizer's current step size (schedules change it per epoch)."""
        return self.optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.optimizer.learning_rate = value

    def reset(self):
        """Forget the optimizer state and any pending forward pass (after weights
        were restored)."""
        self.optimizer.reset()
        self._pending = None

    @property
    def epoch_predictions(self):
        """The outputs the network gave each training row during the last epoch.

        An array shaped like ``Y`` in the rows' original order, in training
        mode (dropout, augmentation): for mini-batches each batch's outputs as
        its forward pass computed them while the weights changed; for a full
        batch the outputs of the weights after the step. Rows of a skipped
        zero-weight batch keep stale values. None before the first epoch.
        """
        return self._predictions

    def _prepare_predictions(self, n):
        # Kept as the batches come, so a training score costs no extra forward
        # pass over the data (Keras' running ``accuracy`` is computed the same
        # way). Allocated here, before the parts' threads write their rows.
        shape = (n, *self.network.output_shape_)
        if self._predictions is None or self._predictions.shape != shape:
            # Zeros rather than empty: a skipped batch must not leave NaN behind.
            self._predictions = np.zeros(shape, dtype=self.network.dtype)

    def penalty(self):
        """The weight-decay terms added to the loss."""
        value = 0.0
        for W, scratch in zip(self._weights, self._scratch):
            if self.alpha:
                value += 0.5 * self.alpha * float(_sum_of_squares(W))
            if self.l1:
                # |W| into the scratch buffer: no new array per batch.
                value += self.l1 * float(np.abs(W, out=scratch).sum())
        return value

    def _clip(self):
        for g in self._grads:
            norm = math.sqrt(float(_sum_of_squares(g)))
            if norm > self.clipnorm:
                g *= self.clipnorm / norm

    def _shrink_l1(self):
        # Proximal step of l1 * |W|: W <- sign(W) * max(|W| - t * l1, 0), with t
        # the step size the update gave each weight (the learning rate for SGD,
        # per coordinate for Adam and RMSProp).
        if self._l1_scale is None:
            self._l1_scale = np.empty_like(self._flat_params)
        scale = self.optimizer.step_scale(0, self._l1_scale)
        if np.ndim(scale):
            scale *= self.l1
        else:
            scale = scale * self.l1
        for W, where, scratch in zip(self._weights, self._weight_slices, self._scratch):
            np.abs(W, out=scratch)
            scratch -= scale if np.ndim(scale) == 0 else scale[where].reshape(W.shape)
            relu_into(scratch, scratch)
            np.copysign(scratch, W, out=W)

    def _constrain_max_norm(self):
        for W in self._weights:
            # A unit's incoming weights: every axis but the last (Keras'
            # MaxNorm axis=0 for Dense, [0, 1, 2] for Conv2D kernels).
            columns = W.reshape(-1, W.shape[-1])
            norms = np.sqrt(np.einsum("ij,ij->j", columns, columns))
            too_long = norms > self.max_norm
            if too_long.any():
                columns[:, too_long] *= self.max_norm / norms[too_long]

    def _networks(self, n_parts):
        """``[(network, flat_grads), ...]`` of ``n_parts`` parts: this network,
        then replicas, made once and kept for the fit."""
        while len(self._replicas) < n_parts - 1:
            # In the caller's thread, at the first split batch: the replica's
            # generator is the same whatever the threads.
            rng = self.rng.spawn(1)[0]
            self._replicas.append(self.network.replica(rng))
        return [(self.network, self._flat_grads), *self._replicas[: n_parts - 1]]

    def _split(self, X, Y, sample_weight, rows, scale):
        """The parts of a batch (see the module docstring).

        ``rows`` are the batch's rows in the data (an index array, or None for
        all of them in order), where the parts record their outputs; ``scale``
        rescales the batch's mean loss.
        """
        m = X.shape[0]
        bounds = part_bounds(m, self._row_multiply_adds)
        total = None if sample_weight is None else float(sample_weight.sum())
        if len(bounds) == 2 or total == 0:
            # One part: the batch as it is (a batch of zero weight keeps the
            # loss's 0 / 0, reported as a divergence).
            where = slice(0, m) if rows is None else rows
            return [_Part(self.network, self._flat_grads, X, Y, sample_weight,
                          where, scale, True)]  # fmt: skip
        parts = []
        networks = self._networks(len(bounds) - 1)
        for (network, flat_grads), start, stop in zip(networks, bounds, bounds[1:]):
            where = slice(start, stop)
            weight = None if sample_weight is None else sample_weight[where]
            # The part's share of the batch: its rows, or its sample weight.
            if weight is None:
                share = (stop - start) / m
            else:
                share = float(weight.sum()) / total
            parts.append(
                _Part(
                    network, flat_grads, X[where], Y[where], weight,
                    where if rows is None else rows[where], share * scale, share > 0,
                )
            )  # fmt: skip
        return parts

    def _forward_part(self, part):
        """Training forward pass and loss of a part (on a part thread)."""
        Z = part.network.forward(part.X, training=True)
        self._predictions[part.rows] = Z
        if not part.active:
            part.loss, part.dZ = 0.0, None
            return
        loss, dZ = self.loss(Z, part.Y, part.weight)
        if part.scale != 1.0:
            loss *= part.scale
            dZ *= part.scale
        part.loss, part.dZ = loss, dZ

    def _backward_part(self, part):
        """Back-propagate a part's ``dZ`` into its network's gradients."""
        dZ, part.dZ = part.dZ, None
        if part.active and math.isfinite(part.loss):
            part.network.backward(dZ)

    def _train_part(self, part):
        self._forward_part(part)
        self._backward_part(part)

    def _run_parts(self, method, parts):
        if len(parts) == 1:
            method(parts[0])  # most batches: no task list to build
        else:
            self._threads.run([partial(method, part) for part in parts])

    def _sum_gradients(self, parts):
        """Add the parts' gradients into the flat array the optimizer reads,
        in part order: the batch's gradient."""
        if len(parts) == 1:
            return  # its backward wrote them there
        target = self._flat_grads
        sources = [part.flat_grads for part in parts if part.active]
        if sources[0] is not target:  # the first part had no weight
            np.copyto(target, sources[0])
        sources = sources[1:]
        if not sources:
            return

        def add(start, stop):
            for source in sources:
                np.add(target[start:stop], source[start:stop],
                       out=target[start:stop])  # fmt: skip

        # Element-wise: halves on two threads give the same sums. Not worth a
        # hand-over (~70 us) below a megabyte of gradients.
        size = target.size
        if self._threads.threaded and target.nbytes >= 2**20:
            self._threads.run([partial(add, 0, size // 2),
                               partial(add, size // 2, size)])  # fmt: skip
        else:
            add(0, size)

    def _step(self, parts):
        """Sum the parts' gradients and update the weights."""
        self._sum_gradients(parts)
        if self.alpha:
            for W, dW, scratch in zip(self._weights, self._weight_grads, self._scratch):
                dW += np.multiply(W, self.alpha, out=scratch)
        if self.clipnorm is not None:
            self._clip()
        if self._step_takes_run and self._threads.threaded:
            self.optimizer.step(
                [self._flat_params], [self._flat_grads], run=self._threads.run
            )
        else:
            self.optimizer.step([self._flat_params], [self._flat_grads])
        if self.l1:
            self._shrink_l1()
        if self.max_norm is not None:
            self._constrain_max_norm()

    def _take(self, A, idx, name):
        if hasattr(A, "tocsr"):
            return A[idx]  # sparse rows: a small CSR per batch
        # Batches are gathered into buffers reused from batch to batch.
        shape = (len(idx), *A.shape[1:])
        out = self._batches.get(name)
        if out is None or out.shape != shape:
            out = self._batches[name] = np.empty(shape, dtype=A.dtype)
        return np.take(A, idx, axis=0, out=out)

    def _batch(self, X, Y, sample_weight, idx):
        w_batch = None if sample_weight is None else sample_weight[idx]
        return idx, self._take(X, idx, "X"), self._take(Y, idx, "Y"), w_batch

    def _part_threads(self, batch_rows):
        """The epoch's threads: as many as BLAS would use, at most one per
        part, if batches of ``batch_rows`` rows are split."""
        n_parts = len(part_bounds(batch_rows, self._row_multiply_adds)) - 1
        n_threads = 1 if n_parts == 1 else min(n_parts, blas_threads())
        return _SEQUENTIAL if n_threads == 1 else PartThreads(n_threads)

    def train_epoch(self, X, Y, sample_weight=None):
        """Run one pass over ``(X, Y)``; return the epoch's loss (penalties in).

        Stops at the first non-finite batch loss and returns it, leaving the
        caller to restore finite weights.
        """
        self.interrupted = False
        n = X.shape[0]
        self._prepare_predictions(n)
        batch_rows = n if self.batch_size is None else min(self.batch_size, n)
        try:
            with self._part_threads(batch_rows) as self._threads:
                if self.batch_size is None:
                    return self._full_batch_epoch(X, Y, sample_weight)
                return self._mini_batch_epoch(X, Y, sample_weight)
        finally:
            self._threads = _SEQUENTIAL

    def _forward_full_batch(self, X, Y, sample_weight):
        """Split the (augmented) full batch and run the parts' forward passes."""
        if self.augment is not None:
            X = self.augment(X, self.rng)
        parts = self._split(X, Y, sample_weight, None, 1.0)
        self._run_parts(self._forward_part, parts)
        return parts

    def _full_batch_epoch(self, X, Y, sample_weight):
        if self._pending is None:
            self._pending = self._forward_full_batch(X, Y, sample_weight)
        parts, self._pending = self._pending, None
        loss = sum(part.loss for part in parts)
        if not math.isfinite(loss):
            return loss
        self._run_parts(self._backward_part, parts)
        self._step(parts)
        parts = self._pending = self._forward_full_batch(X, Y, sample_weight)
        loss = sum(part.loss for part in parts)
        if self.stop_request is not None and self.stop_request.requested:
            self.interrupted = True
        return loss + self.penalty()

    def _mini_batch_epoch(self, X, Y, sample_weight):
        n = X.shape[0]
        if self.batch_size >= n:
            # One batch of every row, in the given order: nothing to gather.
            batches = [(None, X, Y, sample_weight)]
        else:
            # Shuffle indices rather than the data: no copy of X per epoch.
            order = self.rng.permutation(n) if self.shuffle else np.arange(n)
            batches = (
                self._batch(X, Y, sample_weight, order[start : start + self.batch_size])
                for start in range(0, n, self.batch_size)
            )
        mean_weight = None if sample_weight is None else sample_weight.mean()
        total, seen = 0.0, 0
        for idx, X_batch, Y_batch, w_batch in batches:
            m = X_batch.shape[0]
            seen += m
            if w_batch is not None and not w_batch.any():
                continue  # a batch of zero weights carries no gradient (nor loss)
            if self.augment is not None:
                X_batch = self.augment(X_batch, self.rng)
            # The loss normalises the batch weights to sum to 1; rescale so the
            # batch estimates the weighted mean over the whole data set.
            scale = 1.0 if w_batch is None else float(w_batch.mean() / mean_weight)
            parts = self._split(X_batch, Y_batch, w_batch, idx, scale)
            self._run_parts(self._train_part, parts)
            loss = sum(part.loss for part in parts)
            total += loss * m
            if not math.isfinite(loss):
                return loss
            self._step(parts)
            if self.stop_request is not None and self.stop_request.requested:
                self.interrupted = True
                break
        # The penalty once, of the weights the epoch ends with: it changes
        # little within an epoch, and a sum over every weight per batch costs.
        return total / max(seen, 1) + self.penalty()

    def __getstate__(self):
        # Replicas, a pending forward pass and threads belong to a fit under
        # way: copies and pickles of a trainer carry none (a copy starts its
        # full-batch epochs with a forward pass of its own).
        state = self.__dict__.copy()
        state.update(_replicas=[], _pending=None, _threads=_SEQUENTIAL)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        # A copy of a view is not a view: bind the copied layers' arrays to
        # flat arrays again, or the optimizer would update orphan copies.
        self._bind_arrays()

    def evaluate(self, X, Y, sample_weight=None):
        """Mean loss (penalties in) and the logits on ``(X, Y)``, in inference
        mode; no training."""
        Z = self.network.predict(X, n_threads="auto")
        loss, _ = self.loss(Z, Y, sample_weight)
        return loss + self.penalty(), Z


__all__ = ["StopRequest", "Trainer"]
