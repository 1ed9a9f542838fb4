"""Gradient-descent optimizers: SGD (momentum, Nesterov), Adam, RMSProp (notes 二.9-10).

An optimizer holds hyperparameters only; ``step(params, grads)`` updates every
array of ``params`` in place from the matching array of ``grads``, and the state
it needs (velocities, moments, the step count) lives in ``self.state_``, created
on the first step with one buffer per parameter (and a block-sized scratch
array) and reused afterwards: a step allocates no arrays. Each update runs
block by block over cache-sized slices (``_BLOCK_BYTES``), the same formula
element by element. Given threads (``step(..., run=...)``, the trainer's part
threads), the built-in optimizers update the two halves of each large array
side by side, each thread in its own scratch: element-wise formulas give the
same result bit for bit however the elements are shared out.

The optimizers subclass scikit-learn's ``BaseEstimator`` -- the one scikit-learn
import of :mod:`skdeep.nn` -- only for ``get_params``/``set_params``/``clone``, so
an optimizer object can be an estimator's hyperparameter and be searched over
(``optimizer__learning_rate``). They have no fitting machinery.
"""

import math
from functools import partial
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator

from .layers import deepcopy_state

_NON_NEGATIVE = (lambda v: 0 <= v < math.inf, "a non-negative finite number")
_FRACTION = (lambda v: 0 <= v < 1, "a number in [0, 1)")

# A step makes up to a dozen element-wise passes over each array. They run
# block by block, this many bytes of each array at a time, so that the block of
# the parameters, gradients, moments and scratch (about 1 MiB) stays in a core's
# L2 cache and only the first pass reads memory. Notes' CNN (528,054 float32
# weights), one thread: RMSProp 0.76 ms against 1.03 ms per step in whole-array
# passes, Adam 0.97 against 1.40 ms; below 16 KiB blocks the per-call overhead
# takes over.
_BLOCK_BYTES = 256 * 2**10

# Arrays of at least this many bytes are updated in two halves on two threads
# when a step is given threads. Handing work to another thread and back costs
# ~70 us (2-core KVM guest); RMSProp's passes over the notes' CNN's 528,054
# float32 weights take ~0.9 ms on one thread, Adam's over a (256, 128) MLP's
# 60,042 ~0.17 ms: halves pay for arrays of a megabyte or more.
_LANE_MIN_BYTES = 2**20
_LANES = 2


class Optimizer(BaseEstimator):
    """Base class: hyperparameters in ``__init__``, in-place updates in ``step``.

    Subclasses (:class:`SGD`, :class:`Adam`, :class:`RMSProp`) keep their state
    (velocities, moments) in ``state_``, so ``clone`` gives a fresh optimizer
    and the hyperparameters are never changed by training.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.optimizers import SGD
    >>> w, g = np.array([1.0, 2.0]), np.array([0.5, -0.5])
    >>> SGD(learning_rate=0.1).step([w], [g])  # w -= 0.1 * g, in place
    >>> w
    array([0.95, 2.05])
    """

    # Hyperparameter -> (check, what it must be), verified on the first step:
    # not in __init__, which set_params and clone bypass.
    _hyperparameter_checks: dict = {}

    # A subclass either overrides _update (whole arrays, in the caller's
    # thread), or sets _elementwise and defines _begin_step, _moment_names and
    # _update_lane: an update element by element, which step may then run on
    # parts of the arrays side by side.
    _elementwise = False

    def step(self, params, grads, run=None):
        """Update each ``params[i]`` in place from ``grads[i]``.

        Parameters
        ----------
        params : list of ndarray
            The arrays to update, always given in the same order.
        grads : list of ndarray
            Their gradients, same shapes.
        run : callable or None, default=None
            ``run(tasks)`` calls every function (of no argument) of the list
            ``tasks``, possibly side by side on threads, and returns once all
            have returned: the trainer passes its part threads'
            :meth:`~skdeep.nn.parallel.PartThreads.run`. The built-in
            optimizers then update the two halves of each large array as two
            tasks; their formulas are element-wise, so the result is the same
            bit for bit. None updates everything in this thread.
        """
        if not hasattr(self, "state_"):
            self._check_hyperparameters()
            self.state_ = self._init_state(params)
        if not self._elementwise:
            self._update(params, grads, self.state_)
            return
        state = self.state_
        coefficients = self._begin_step(state)
        moments = [state[name] for name in self._moment_names()]
        n_lanes = 1 if run is None else _LANES
        tasks = []
        for i, (p, g) in enumerate(zip(params, grads)):
            arrays = (p, g, *(m[i] for m in moments))
            for lane, scratch in _lanes(arrays, state["scratch"][i], n_lanes):
                tasks.append(partial(self._update_lane, lane, scratch, coefficients))
        if run is None or len(tasks) == 1:
            for task in tasks:
                task()
        else:
            run(tasks)

    def step_scale(self, index, out):
        """The step size the last update gave each coordinate of ``params[index]``.

        What a gradient of 1 would have moved each coordinate by: the
        learning rate for SGD, the rate divided by the root of the second
        moment for the adaptive optimizers. The trainer's proximal L1 step
        shrinks each weight by ``l1`` times it, the proximal-gradient step of
        the metric the optimizer descends in. Returns a float, or ``out``
        (an array shaped like ``params[index]``) filled in.
        """
        return self.learning_rate

    def __deepcopy__(self, memo):
        # The generic path costs more than the moments' copies for a small
        # network; a partial_fit call's rollback copies the optimizer each call.
        return deepcopy_state(self, self.__dict__, memo)

    def reset(self):
        """Forget the state (velocities, moments, step count)."""
        self.__dict__.pop("state_", None)

    def _check_hyperparameters(self):
        for name, (check, expected) in self._hyperparameter_checks.items():
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, Real)
                or not check(value)
            ):
                raise ValueError(
                    f"{type(self).__name__}: `{name}` must be {expected}; received "
                    f"{name}={value!r}."
                )

    def _init_state(self, params):  # pragma: no cover - abstract
        raise NotImplementedError

    def _update(self, params, grads, state):  # pragma: no cover - abstract
        raise NotImplementedError

    def _begin_step(self, state):
        """Advance what changes once per step (Adam's step count); return the
        coefficients every lane of this step uses."""
        return None

    def _moment_names(self):
        """Keys of ``state_`` holding one array per parameter, updated element
        by element along with it."""
        return ()


def _floats(*values):
    """The hyperparameters as Python floats: numpy applies a Python float to a
    float32 array in float32, where a numpy float64 (a schedule's result, say)
    makes every pass convert each value (8x slower at 60k weights)."""
    return tuple(float(value) for value in values)


def _like(params):
    return [np.zeros_like(p) for p in params]


def _block_size(a):
    return max(1, _BLOCK_BYTES // a.itemsize)


def _n_lanes(a):
    return _LANES if a.nbytes >= _LANE_MIN_BYTES and a.size >= _LANES else 1


def _scratch(params):
    """Per parameter, a scratch block for each lane it may be updated in:
    an array of shape ``(n_lanes, block)``."""
    return [
        np.empty((_n_lanes(p), min(p.size, _block_size(p))), dtype=p.dtype)
        for p in params
    ]


def _lanes(arrays, scratch, n_lanes):
    """``[(arrays_part, scratch_block), ...]``: the same-shaped ``arrays`` cut
    into up to ``n_lanes`` contiguous parts, each with its own scratch block.

    An array too small to share out, or not contiguous (its flat view would
    be a copy), is one lane.
    """
    if scratch.ndim == 1:  # a state saved before lanes existed
        scratch = scratch[None]
    n_lanes = min(n_lanes, scratch.shape[0])
    if n_lanes == 1 or not all(a.flags.c_contiguous for a in arrays):
        return [(arrays, scratch[0])]
    size = arrays[0].size
    flat = [a.reshape(-1) for a in arrays]
    bounds = [k * size // n_lanes for k in range(n_lanes + 1)]
    return [
        (tuple(f[start:stop] for f in flat), scratch[k])
        for k, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:]))
    ]


def _blocks(*arrays, scratch):
    """Matching flat slices of the same-shaped ``arrays``, a block at a time,
    each with the matching slice of ``scratch``.

    Non-contiguous arrays (whose flat view would be a copy) come whole, with a
    whole-size scratch.
    """
    if not all(a.flags.c_contiguous for a in arrays):
        yield (*arrays, np.empty_like(arrays[0]))
        return
    size, step = arrays[0].size, _block_size(arrays[0])
    if size <= step:  # one block: the arrays themselves
        yield (*arrays, scratch[:size].reshape(arrays[0].shape))
        return
    flat = [a.reshape(-1) for a in arrays]
    for start in range(0, size, step):
        stop = min(start + step, size)
        yield (*(f[start:stop] for f in flat), scratch[: stop - start])


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum.

    With velocity ``v`` (zero at the start), each step computes
    ``v = momentum * v - learning_rate * g`` and then moves the parameters by
    ``v`` (classical momentum) or by ``momentum * v - learning_rate * g``
    (Nesterov), as scikit-learn's ``SGDOptimizer._get_updates`` does.

    Parameters
    ----------
    learning_rate : float, default=0.01
        Step size.
    momentum : float, default=0.0
        Momentum ``beta`` in [0, 1); 0 is plain gradient descent.
    nesterov : bool, default=False
        Use Nesterov's momentum.

    Attributes
    ----------
    state_ : dict
        ``"velocity"`` (list of arrays) and ``"scratch"`` buffers.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.nn.optimizers import SGD
    >>> w = np.array([1.0, 2.0])
    >>> SGD(learning_rate=0.1).step([w], [np.array([1.0, -1.0])])
    >>> w
    array([0.9, 2.1])
    """

    _hyperparameter_checks = {"learning_rate": _NON_NEGATIVE, "momentum": _FRACTION}
    _elementwise = True

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov

    def _init_state(self, params):
        state = {"scratch": _scratch(params)}
        if self.momentum:
            state["velocity"] = _like(params)
        return state

    def _moment_names(self):
        return ("velocity",) if self.momentum else ()

    def _update_lane(self, arrays, scratch, coefficients):
        lr, momentum = _floats(self.learning_rate, self.momentum)
        if not momentum:
            for p_, g_, s in _blocks(*arrays, scratch=scratch):
                p_ -= np.multiply(g_, lr, out=s)
            return
        # Following scikit-learn's SGDOptimizer._get_updates
        # (sklearn/neural_network/_stochastic_optimizers.py):
        #   velocity = momentum * velocity - lr * grad
        #   update = momentum * velocity - lr * grad   if nesterov
        #            velocity                          otherwise
        for p_, g_, v_, s in _blocks(*arrays, scratch=scratch):
            np.multiply(g_, lr, out=s)
            v_ *= momentum
            v_ -= s
            if self.nesterov:
                p_ -= s
                p_ += np.multiply(v_, momentum, out=s)
            else:
                p_ += v_


class Adam(Optimizer):
    """Adam: momentum on the gradient and its square, with bias correction.

    With ``t`` the step count, ``m = beta_1 m + (1 - beta_1) g``,
    ``v = beta_2 v + (1 - beta_2) g**2`` and
    ``p -= learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(v) +
    epsilon)``, the form of scikit-learn's ``AdamOptimizer`` and Keras.

    Parameters
    ----------
    learning_rate : float, default=0.001
    beta_1 : float, default=0.9
    beta_2 : float, default=0.999
    epsilon : float, default=1e-8

    Attributes
    ----------
    state_ : dict
        ``"t"`` (int), ``"m"``, ``"v"`` and ``"scratch"`` (lists of arrays).

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.nn.optimizers import Adam
    >>> w = np.array([1.0, 2.0])
    >>> Adam(learning_rate=0.1).step([w], [np.array([3.0, -0.5])])
    >>> w.round(6)  # the first step moves every weight by learning_rate
    array([0.9, 2.1])
    """

    _hyperparameter_checks = {
        "learning_rate": _NON_NEGATIVE,
        "beta_1": _FRACTION,
        "beta_2": _FRACTION,
        "epsilon": _NON_NEGATIVE,
    }
    _elementwise = True

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def _init_state(self, params):
        return {
            "t": 0,
            "m": _like(params),
            "v": _like(params),
            "scratch": _scratch(params),
        }

    def _moment_names(self):
        return ("m", "v")

    def _begin_step(self, state):
        state["t"] += 1
        t = state["t"]
        # A Python float, as _floats gives the hyperparameters.
        return float(
            self.learning_rate * np.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        )

    def _update_lane(self, arrays, scratch, step_size):
        beta_1, beta_2, epsilon = _floats(self.beta_1, self.beta_2, self.epsilon)
        for p_, g_, m_, v_, s in _blocks(*arrays, scratch=scratch):
            m_ *= beta_1
            m_ += np.multiply(g_, 1 - beta_1, out=s)
            v_ *= beta_2
            np.multiply(g_, g_, out=s)
            s *= 1 - beta_2
            v_ += s
            np.sqrt(v_, out=s)
            s += epsilon
            np.divide(m_, s, out=s)
            s *= step_size
            p_ -= s

    def step_scale(self, index, out):
        # lr / (sqrt(v_hat) + epsilon), v_hat the bias-corrected second moment.
        v, t = self.state_["v"][index], self.state_["t"]
        np.divide(v, 1 - self.beta_2**t, out=out)
        np.sqrt(out, out=out)
        out += self.epsilon
        np.divide(self.learning_rate, out, out=out)
        return out


class RMSProp(Optimizer):
    """RMSProp: divide the step by a running root mean square of the gradient.

    ``v = rho v + (1 - rho) g**2`` and ``p -= learning_rate * g / (sqrt(v) +
    epsilon)``.

    Parameters
    ----------
    learning_rate : float, default=0.001
    rho : float, default=0.9
        Decay of the running mean of squared gradients.
    epsilon : float, default=1e-7

    Attributes
    ----------
    state_ : dict
        ``"v"`` and ``"scratch"`` (lists of arrays).

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.nn.optimizers import RMSProp
    >>> w = np.array([1.0])
    >>> RMSProp(learning_rate=0.1, rho=0.0, epsilon=0.0).step([w], [np.array([4.0])])
    >>> w
    array([0.9])
    """

    _hyperparameter_checks = {
        "learning_rate": _NON_NEGATIVE,
        "rho": _FRACTION,
        "epsilon": _NON_NEGATIVE,
    }
    _elementwise = True

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7):
        self.learning_rate = learning_rate
        self.rho = rho
        self.epsilon = epsilon

    def _init_state(self, params):
        return {"v": _like(params), "scratch": _scratch(params)}

    def _moment_names(self):
        return ("v",)

    def _update_lane(self, arrays, scratch, coefficients):
        rho, epsilon, lr = _floats(self.rho, self.epsilon, self.learning_rate)
        for p_, g_, v_, s in _blocks(*arrays, scratch=scratch):
            v_ *= rho
            np.multiply(g_, g_, out=s)
            s *= 1 - rho
            v_ += s
            np.sqrt(v_, out=s)
            s += epsilon
            np.divide(g_, s, out=s)
            s *= lr
            p_ -= s

    def step_scale(self, index, out):
        np.sqrt(self.state_["v"][index], out=out)
        out += self.epsilon
        np.divide(self.learning_rate, out, out=out)
        return out


__all__ = ["Adam", "Optimizer", "RMSProp", "SGD"]
