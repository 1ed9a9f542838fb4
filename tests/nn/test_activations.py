"""Activations: derivatives against central differences, stability at +-1e4."""

import numpy as np
import pytest
from _gradcheck import assert_gradient_close, numerical_gradient

from skdeep.nn.activations import (
    ACTIVATION_GRADS,
    ACTIVATIONS,
    get_activation,
    log_sigmoid,
    log_softmax,
    sigmoid,
    softmax,
)

SMOOTH = ["sigmoid", "logistic", "tanh", "relu", "identity", "linear", "softmax"]


@pytest.mark.parametrize("name", SMOOTH)
def test_gradient_matches_finite_differences(name):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, 5))
    if name == "relu":
        X[np.abs(X) < 0.05] = 0.5  # keep away from the kink
    R = rng.normal(size=X.shape)
    f, grad = get_activation(name)
    analytic = grad(X, f(X), R)
    numeric = numerical_gradient(lambda: float(np.sum(f(X) * R)), X)
    assert_gradient_close(analytic, numeric)


def test_step_has_zero_gradient():
    f, grad = get_activation("step")
    X = np.array([[-1.0, 0.0, 2.0]])
    np.testing.assert_array_equal(f(X), [[0.0, 1.0, 1.0]])
    np.testing.assert_array_equal(grad(X, f(X), np.ones_like(X)), 0)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finite_at_extreme_logits(name, dtype):
    X = np.array([[-1e4, 0.0, 1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    f, grad = get_activation(name)
    Y = f(X)
    assert np.isfinite(Y).all()
    if name not in ("relu", "identity", "linear"):
        assert np.isfinite(grad(X, Y, np.ones_like(X))).all()


def test_softmax_rows_sum_to_one_and_logs_are_exact():
    X = np.array([[-1e4, 0.0, 1e4], [1.0, 2.0, 3.0]])
    np.testing.assert_allclose(softmax(X).sum(axis=1), 1)
    # log_softmax stays exact where softmax underflows to 0.
    np.testing.assert_allclose(log_softmax(X)[0], [-2e4, -1e4, 0.0])
    np.testing.assert_allclose(log_sigmoid(np.array([-1e4, 0.0])), [-1e4, np.log(0.5)])
    np.testing.assert_allclose(sigmoid(np.array([-1e4, 1e4])), [0.0, 1.0])


def test_registry_is_consistent_and_rejects_unknown_names():
    assert set(ACTIVATIONS) == set(ACTIVATION_GRADS)
    assert get_activation(None)[0] is ACTIVATIONS["identity"]
    with pytest.raises(ValueError, match="Unknown activation 'swish'"):
        get_activation("swish")
