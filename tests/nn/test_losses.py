"""Losses from logits: gradients against central differences, stability, values."""

import numpy as np
import pytest
from _gradcheck import assert_gradient_close, numerical_gradient

from skdeep.nn.losses import (
    LOSSES,
    binary_cross_entropy,
    categorical_cross_entropy,
    squared_error,
)


def _targets(name, rng, shape):
    if name == "categorical_crossentropy":
        return np.eye(shape[1])[rng.integers(shape[1], size=shape[0])]
    if name == "binary_crossentropy":
        return rng.integers(2, size=shape).astype(float)
    return rng.normal(size=shape)


@pytest.mark.parametrize(
    "name, n_outputs",
    [
        ("binary_crossentropy", 1),
        ("binary_crossentropy", 3),  # multilabel: independent sigmoids
        ("categorical_crossentropy", 3),
        ("squared_error", 1),
        ("squared_error", 3),
    ],
)
@pytest.mark.parametrize("weighted", [False, True])
def test_gradient_matches_finite_differences(name, n_outputs, weighted):
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(6, n_outputs))
    Y = _targets(name, rng, Z.shape)
    w = rng.uniform(0.5, 2.0, size=6) if weighted else None
    loss_fn = LOSSES[name]
    _, dZ = loss_fn(Z, Y, w)
    numeric = numerical_gradient(lambda: loss_fn(Z, Y, w)[0], Z)
    assert_gradient_close(dZ, numeric)


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finite_at_extreme_logits(name, dtype):
    Z = np.array([[-1e4, 1e4, 0.0], [1e4, -1e4, 1e4]], dtype=dtype)
    Y = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=dtype)
    loss, dZ = LOSSES[name](Z, Y)
    assert np.isfinite(loss)
    assert np.isfinite(dZ).all()


def test_values_match_the_definitions():
    Z = np.array([[2.0], [-1.0]])
    Y = np.array([[1.0], [0.0]])
    p = 1 / (1 + np.exp(-Z))
    expected = -np.mean(Y * np.log(p) + (1 - Y) * np.log(1 - p))
    assert binary_cross_entropy(Z, Y)[0] == pytest.approx(expected)

    Z = np.array([[1.0, 2.0, 3.0]])
    Y = np.array([[0.0, 0.0, 1.0]])
    expected = -np.log(np.exp(3) / np.exp(Z).sum())
    assert categorical_cross_entropy(Z, Y)[0] == pytest.approx(expected)
    # Confident and wrong costs the logit gap, exactly.
    assert categorical_cross_entropy(np.array([[1e4, 0.0]]), np.array([[0.0, 1.0]]))[
        0
    ] == pytest.approx(1e4)

    assert squared_error(np.array([[3.0]]), np.array([[1.0]]))[0] == pytest.approx(2.0)


def test_sample_weight_weights_the_mean():
    Z = np.array([[0.5], [-2.0]])
    Y = np.array([[1.0], [3.0]])
    per_sample = 0.5 * (Z - Y).ravel() ** 2
    loss, _ = squared_error(Z, Y, np.array([3.0, 1.0]))
    assert loss == pytest.approx((3 * per_sample[0] + per_sample[1]) / 4)
