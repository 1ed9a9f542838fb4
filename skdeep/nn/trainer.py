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
  weights changed (Keras' running ``loss``).
"""

import math

import numpy as np


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
        Shuffling (and augmentation) randomness.
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
        self.alpha = alpha
        self.l1 = l1
        self.max_norm = max_norm
        self.clipnorm = clipnorm
        self.augment = augment
        self.rng = rng
        self.stop_request = stop_request
        self.interrupted = False
        self.epoch_log = {}
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
        self._l1_scale = None
        self._weight_grads = [g for g, w in zip(self._grads, is_weight) if w]
        self._scratch = [np.empty_like(w) for w in self._weights]
        self._batches = {}
        self._predictions = None
        # Full batch: (loss, dZ) of the current weights, from the forward pass
        # that ended the previous epoch (the layers keep its caches).
        self._pending = None

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

    def _record_predictions(self, Z, idx, n):
        # Kept as the batches come, so a training score costs no extra forward
        # pass over the data (Keras' running ``accuracy`` is computed the same way).
        shape = (n, *Z.shape[1:])
        if self._predictions is None or self._predictions.shape != shape:
            # Zeros rather than empty: a skipped batch must not leave NaN behind.
            self._predictions = np.zeros(shape, dtype=Z.dtype)
        if idx is None:
            self._predictions[...] = Z
        else:
            self._predictions[idx] = Z

    def penalty(self):
        """The weight-decay terms added to the loss."""
        value = 0.0
        for W, scratch in zip(self._weights, self._scratch):
            if self.alpha:
                value += 0.5 * self.alpha * float(np.vdot(W, W))
            if self.l1:
                # |W| into the scratch buffer: no new array per batch.
                value += self.l1 * float(np.abs(W, out=scratch).sum())
        return value

    def _clip(self):
        for g in self._grads:
            norm = math.sqrt(float(np.vdot(g, g)))
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
            np.maximum(scratch, 0, out=scratch)
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

    def _step(self, dZ):
        """Back-propagate ``dZ`` and update the weights."""
        self.network.backward(dZ)
        if self.alpha:
            for W, dW, scratch in zip(self._weights, self._weight_grads, self._scratch):
                dW += np.multiply(W, self.alpha, out=scratch)
        if self.clipnorm is not None:
            self._clip()
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

    def _forward_loss(self, X, Y, sample_weight, idx, n):
        """Training forward pass of a batch: ``(loss, dZ)``, outputs recorded."""
        if self.augment is not None:
            X = self.augment(X, self.rng)
        Z = self.network.forward(X, training=True)
        self._record_predictions(Z, idx, n)
        return self.loss(Z, Y, sample_weight)

    def train_epoch(self, X, Y, sample_weight=None):
        """Run one pass over ``(X, Y)``; return the epoch's loss (penalties in).

        Stops at the first non-finite batch loss and returns it, leaving the
        caller to restore finite weights.
        """
        self.interrupted = False
        if self.batch_size is None:
            return self._full_batch_epoch(X, Y, sample_weight)
        return self._mini_batch_epoch(X, Y, sample_weight)

    def _full_batch_epoch(self, X, Y, sample_weight):
        n = X.shape[0]
        if self._pending is None:
            self._pending = self._forward_loss(X, Y, sample_weight, None, n)
        loss, dZ = self._pending
        self._pending = None
        if not math.isfinite(loss):
            return loss
        self._step(dZ)
        loss, dZ = self._pending = self._forward_loss(X, Y, sample_weight, None, n)
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
            loss, dZ = self._forward_loss(X_batch, Y_batch, w_batch, idx, n)
            if w_batch is not None:
                # The loss normalises the batch weights to sum to 1; rescale so the
                # batch estimates the weighted mean over the whole data set.
                scale = float(w_batch.mean() / mean_weight)
                loss *= scale
                dZ *= scale
            loss += self.penalty()
            total += loss * m
            if not math.isfinite(loss):
                return loss
            self._step(dZ)
            if self.stop_request is not None and self.stop_request.requested:
                self.interrupted = True
                break
        return total / max(seen, 1)

    def evaluate(self, X, Y, sample_weight=None):
        """Mean loss (penalties in) and the logits on ``(X, Y)``, in inference
        mode; no training."""
        Z = self.network.predict(X)
        loss, _ = self.loss(Z, Y, sample_weight)
        return loss + self.penalty(), Z


__all__ = ["StopRequest", "Trainer"]
