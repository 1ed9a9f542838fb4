"""Public optimizers: ``SGD(learning_rate, momentum, nesterov)``, ``Adam``, ``RMSProp``.

Pass one as the ``optimizer`` of a network estimator; it is cloned at fit time
(see :mod:`skdeep.nn.optimizers`).
"""

from .nn.optimizers import SGD, Adam, Optimizer, RMSProp

__all__ = ["Adam", "Optimizer", "RMSProp", "SGD"]
