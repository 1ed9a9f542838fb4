"""Public layers for :class:`~skdeep.ConvNetClassifier` and custom networks.

Channels-last, with Keras' names and defaults (see :mod:`skdeep.nn.layers`,
:mod:`skdeep.nn.conv`, :mod:`skdeep.nn.locally_connected` and
:mod:`skdeep.nn.pooling`).
"""

from .nn.conv import Conv2D
from .nn.layers import Activation, Dense, Dropout, Flatten, Layer
from .nn.locally_connected import LocallyConnected2D
from .nn.pooling import GlobalAveragePooling2D, MaxPooling2D

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
