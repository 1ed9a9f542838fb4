"""Gradient-descent optimizers: SGD (momentum, Nesterov), Adam, RMSProp (notes 二.9-10).

An optimizer holds hyperparameters only; ``step(params, grads)`` updates every
array of ``params`` in place from the matching array of ``grads``, and the state
it needs (velocities, moments, the step count) lives in ``self.state_``, created
on the first step with one buffer per parameter (and a block-sized scratch
array) and reused afterwards: a step allocates no arrays. Each update runs
block by block over cache-sized slices (``_BLOCK_BYTES``), the same formula
element by element.

The optimizers subclass scikit-learn's ``BaseEstimator`` -- the one scikit-learn
import of :mod:`skdeep.nn` -- only for ``get_params``/``set_params``/``clone``, so
an optimizer object can be an estimator's hyperparameter and be searched over
(``optimizer__learning_rate``). They have no fitting machinery.
"""

import math
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator

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

    def step(self, params, grads):
        """Update each ``params[i]`` in place from ``grads[i]``.

        Parameters
        ----------
        params : list of ndarray
            The arrays to update, always given in the same order.
        grads : list of ndarray
            Their gradients, same shapes.
        """
        if not hasattr(self, "state_"):
            self._check_hyperparameters()
            self.state_ = self._init_state(params)
        self._update(params, grads, self.state_)

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


def _like(params):
    return [np.zeros_like(p) for p in params]


def _block_size(a):
    return max(1, _BLOCK_BYTES // a.itemsize)


def _scratch(params):
    """One flat scratch array per parameter, the size of a block."""
    return [np.empty(min(p.size, _block_size(p)), dtype=p.dtype) for p in params]


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
        yield (*arrays, scratch.reshape(arrays[0].shape))
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

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov

    def _init_state(self, params):
        state = {"scratch": _scratch(params)}
        if self.momentum:
            state["velocity"] = _like(params)
        return state

    def _update(self, params, grads, state):
        lr, momentum = self.learning_rate, self.momentum
        if not momentum:
            for p, g, scratch in zip(params, grads, state["scratch"]):
                for p_, g_, s in _blocks(p, g, scratch=scratch):
                    p_ -= np.multiply(g_, lr, out=s)
            return
        # Following scikit-learn's SGDOptimizer._get_updates
        # (sklearn/neural_network/_stochastic_optimizers.py):
        #   velocity = momentum * velocity - lr * grad
        #   update = momentum * velocity - lr * grad   if nesterov
        #            velocity                          otherwise
        for p, g, v, scratch in zip(params, grads, state["velocity"], state["scratch"]):
            for p_, g_, v_, s in _blocks(p, g, v, scratch=scratch):
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

    def _update(self, params, grads, state):
        state["t"] += 1
        t, beta_1, beta_2 = state["t"], self.beta_1, self.beta_2
        step_size = self.learning_rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        for p, g, m, v, scratch in zip(
            params, grads, state["m"], state["v"], state["scratch"]
        ):
            for p_, g_, m_, v_, s in _blocks(p, g, m, v, scratch=scratch):
                m_ *= beta_1
                m_ += np.multiply(g_, 1 - beta_1, out=s)
                v_ *= beta_2
                np.multiply(g_, g_, out=s)
                s *= 1 - beta_2
                v_ += s
                np.sqrt(v_, out=s)
                s += self.epsilon
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

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7):
        self.learning_rate = learning_rate
        self.rho = rho
        self.epsilon = epsilon

    def _init_state(self, params):
        return {"v": _like(params), "scratch": _scratch(params)}

    def _update(self, params, grads, state):
        rho = self.rho
        for p, g, v, scratch in zip(params, grads, state["v"], state["scratch"]):
            for p_, g_, v_, s in _blocks(p, g, v, scratch=scratch):
                v_ *= rho
                np.multiply(g_, g_, out=s)
                s *= 1 - rho
                v_ += s
                np.sqrt(v_, out=s)
                s += self.epsilon
                np.divide(g_, s, out=s)
                s *= self.learning_rate
                p_ -= s

    def step_scale(self, index, out):
        np.sqrt(self.state_["v"][index], out=out)
        out += self.epsilon
        np.divide(self.learning_rate, out, out=out)
        return out


__all__ = ["Adam", "Optimizer", "RMSProp", "SGD"]
