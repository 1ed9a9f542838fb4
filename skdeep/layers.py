"""Public layers for :class:`~skdeep.ConvNetClassifier` and custom networks.

Channels-last, with Keras' names and defaults (see :mod:`skdeep.nn.layers` and
:mod:`skdeep.nn.conv`).
"""

from .nn.conv import Conv2D, GlobalAveragePooling2D, MaxPooling2D
from .nn.layers import Activation, Dense, Dropout, Flatten, Layer
from .nn.locally_connected import LocallyConnected2D

__all__ = [
    "Activation",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "GlobalAveragePooling2D",
    "Layer",
    "LocallyConnected2D",
    "MaxPooling2D",
]
