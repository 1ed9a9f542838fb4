"""Central finite differences in float64, shared by the layer and loss tests."""

import numpy as np


def numerical_gradient(f, x, eps=1e-6):
    """Gradient of the scalar function ``f()`` with respect to the array ``x``.

    ``x`` is perturbed in place, one entry at a time, and restored afterwards.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    flat_x = x.reshape(-1)
    flat_grad = grad.reshape(-1)
    for i in range(flat_x.size):
        original = flat_x[i]
        flat_x[i] = original + eps
        f_plus = f()
        flat_x[i] = original - eps
        f_minus = f()
        flat_x[i] = original
        flat_grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def assert_gradient_close(analytic, numeric, rtol=1e-5, atol=1e-7):
    """Assert two gradients agree, reporting the worst relative error."""
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    assert analytic.shape == numeric.shape, (analytic.shape, numeric.shape)
    np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol)
