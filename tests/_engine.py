"""Small pieces shared by the engine's tests: a one-unit linear network, an
SGD that counts its steps, and ``sklearn.callback`` callbacks."""

import numpy as np

from skdeep.nn.layers import Dense
from skdeep.nn.network import Sequential
from skdeep.nn.optimizers import SGD


def linear_net(n_features=3, dtype=np.float64):
    """A built ``Sequential([Dense(1)])`` with fixed initial weights."""
    net = Sequential([Dense(1)], dtype=dtype)
    net.build((n_features,), np.random.default_rng(0))
    return net


class CountingSGD(SGD):
    """SGD that counts the steps it takes (``n_steps_``)."""

    def step(self, params, grads, **kwargs):
        self.n_steps_ = getattr(self, "n_steps_", 0) + 1
        super().step(params, grads, **kwargs)


class Callback:
    """A ``sklearn.callback`` callback that does nothing: subclasses override
    the hooks they use."""

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context, **kwargs):
        pass

    def on_fit_task_end(self, estimator, context, **kwargs):
        return False


class RecordRestarts(Callback):
    """A ``sklearn.callback`` callback keeping the model each restart ended with
    (its ``fitted_estimator``, a copy ready to predict)."""

    def __init__(self):
        self.models = []

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name == "restart":
            self.models.append(fitted_estimator)
        return False
