"""Property-based tests (hypothesis) of the layers and the metrics (issue 8).

Layers: over random image sizes, kernels, strides and paddings, ``Conv2D`` and
``MaxPooling2D`` give the output shapes of the formulas (Keras': 'valid'
``floor((n - k) / s) + 1``, an error when it is not positive; 'same'
``ceil(n / s)``), forward passes have those shapes, max pooling never returns
its -inf padding, and the backward passes of random small configurations match
central finite differences (``tests/_gradcheck.py``).

Metrics: sensitivity and specificity lie in [0, 1] for any labels, weights and
averaging, and for binary labels {a, b} the sensitivity of a equals the
specificity of b.

Each test states its ``max_examples``; ``deadline=None`` because the first
example pays for imports.
"""

import numpy as np
import pytest
from _gradcheck import assert_gradient_close, numerical_gradient
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import recall_score

from skdeep.metrics import sensitivity_score, specificity_score
from skdeep.nn.conv import Conv2D, GlobalAveragePooling2D, MaxPooling2D
from skdeep.nn.layers import Dense

SHAPE_EXAMPLES = 150
GRADIENT_EXAMPLES = 30
METRIC_EXAMPLES = 100

sizes = st.integers(1, 12)
windows = st.integers(1, 5)
steps = st.integers(1, 4)
paddings = st.sampled_from(["valid", "same"])


def expected_length(n, k, s, padding):
    if padding == "same":
        return -(-n // s)  # ceil(n / s)
    return (n - k) // s + 1


@settings(max_examples=SHAPE_EXAMPLES, deadline=None)
@given(h=sizes, w=sizes, c=st.integers(1, 3), filters=st.integers(1, 3),
       kh=windows, kw=windows, sh=steps, sw=steps, padding=paddings,
       n=st.integers(1, 2))  # fmt: skip
def test_conv2d_output_shape(h, w, c, filters, kh, kw, sh, sw, padding, n):
    layer = Conv2D(filters, (kh, kw), strides=(sh, sw), padding=padding)
    out_h = expected_length(h, kh, sh, padding)
    out_w = expected_length(w, kw, sw, padding)
    if out_h <= 0 or out_w <= 0:
        with pytest.raises(ValueError, match=f"kernel {kh}x{kw} is larger than"):
            layer.build((h, w, c), np.random.default_rng(0))
        return
    assert layer.output_shape((h, w, c)) == (out_h, out_w, filters)
    assert layer.build((h, w, c), np.random.default_rng(0)) == (out_h, out_w, filters)
    assert layer.output_shape((h, w, c)) == (out_h, out_w, filters)  # no side effect
    assert layer.n_params == kh * kw * c * filters + filters
    X = np.random.default_rng(1).normal(size=(n, h, w, c)).astype(np.float32)
    for training in (False, True):
        Y = layer.forward(X, training=training)
        assert Y.shape == (n, out_h, out_w, filters)
        assert np.isfinite(Y).all()


@settings(max_examples=SHAPE_EXAMPLES, deadline=None)
@given(h=sizes, w=sizes, c=st.integers(1, 3), ph=windows, pw=windows,
       strides=st.one_of(st.none(), st.tuples(steps, steps)), padding=paddings,
       n=st.integers(1, 2))  # fmt: skip
def test_maxpool_output_shape(h, w, c, ph, pw, strides, padding, n):
    layer = MaxPooling2D((ph, pw), strides=strides, padding=padding)
    sh, sw = (ph, pw) if strides is None else strides
    out_h = expected_length(h, ph, sh, padding)
    out_w = expected_length(w, pw, sw, padding)
    if out_h <= 0 or out_w <= 0:
        with pytest.raises(ValueError, match=f"pool size {ph}x{pw} is larger than"):
            layer.build((h, w, c), None)
        return
    assert layer.build((h, w, c), None) == (out_h, out_w, c)
    X = np.random.default_rng(1).normal(size=(n, h, w, c))
    for training in (False, True):
        Y = layer.forward(X, training=training)
        assert Y.shape == (n, out_h, out_w, c)
        # Every window holds a pixel: the -inf padding never wins.
        assert np.isfinite(Y).all()
        assert Y.max() <= X.max()


# ---------------------------------------------------------------------------
# Gradients against finite differences
# ---------------------------------------------------------------------------


def check_gradients(layer, X, seed):
    """Backward of ``sum(forward(X) * R)`` for a random R, against differences."""
    R = np.random.default_rng(seed).normal(size=layer.forward(X).shape)

    def loss():
        return float(np.sum(layer.forward(X) * R))

    layer.forward(X, training=True)
    dX = layer.backward(R.copy())
    assert_gradient_close(dX, numerical_gradient(loss, X), rtol=1e-5, atol=1e-7)
    for name, param in layer.params.items():
        layer.forward(X, training=True)
        layer.backward(R.copy())
        assert_gradient_close(
            layer.grads[name], numerical_gradient(loss, param), rtol=1e-5, atol=1e-7
        )


small = st.integers(1, 5)
activations = st.sampled_from([None, "relu", "tanh", "sigmoid"])


@settings(max_examples=GRADIENT_EXAMPLES, deadline=None)
@given(h=small, w=small, c=st.integers(1, 2), filters=st.integers(1, 2),
       kh=st.integers(1, 3), kw=st.integers(1, 3), sh=st.integers(1, 3),
       sw=st.integers(1, 3), padding=paddings, activation=activations,
       n=st.integers(1, 2), seed=st.integers(0, 2**16))  # fmt: skip
def test_conv2d_gradients(h, w, c, filters, kh, kw, sh, sw, padding, activation,
                          n, seed):  # fmt: skip
    if expected_length(h, kh, sh, padding) <= 0 or (
        expected_length(w, kw, sw, padding) <= 0
    ):
        return  # the shape test covers the error
    rng = np.random.default_rng(seed)
    layer = Conv2D(filters, (kh, kw), strides=(sh, sw), padding=padding,
                   activation=activation)  # fmt: skip
    layer.build((h, w, c), rng, dtype=np.float64)
    layer.params["b"][:] = rng.normal(size=filters)
    check_gradients(layer, rng.normal(size=(n, h, w, c)), seed)


@settings(max_examples=GRADIENT_EXAMPLES, deadline=None)
@given(h=small, w=small, c=st.integers(1, 2), ph=st.integers(1, 3),
       pw=st.integers(1, 3), strides=st.one_of(st.none(), st.tuples(
           st.integers(1, 3), st.integers(1, 3))),
       padding=paddings, n=st.integers(1, 2), seed=st.integers(0, 2**16))  # fmt: skip
def test_maxpool_gradients(h, w, c, ph, pw, strides, padding, n, seed):
    sh, sw = (ph, pw) if strides is None else strides
    if expected_length(h, ph, sh, padding) <= 0 or (
        expected_length(w, pw, sw, padding) <= 0
    ):
        return
    layer = MaxPooling2D((ph, pw), strides=strides, padding=padding)
    layer.build((h, w, c), None)
    # Distinct values far apart (relative to eps): no maximum switches.
    X = np.random.default_rng(seed).permutation(n * h * w * c).reshape(n, h, w, c)
    check_gradients(layer, X / 10.0, seed)


@settings(max_examples=GRADIENT_EXAMPLES, deadline=None)
@given(n_features=st.integers(1, 5), units=st.integers(1, 4), activation=st.one_of(
           activations, st.just("softmax"), st.just("identity")),
       n=st.integers(1, 3), seed=st.integers(0, 2**16))  # fmt: skip
def test_dense_gradients(n_features, units, activation, n, seed):
    rng = np.random.default_rng(seed)
    layer = Dense(units, activation=activation)
    layer.build((n_features,), rng, dtype=np.float64)
    layer.params["b"][:] = rng.normal(size=units)
    check_gradients(layer, rng.normal(size=(n, n_features)), seed)


@settings(max_examples=GRADIENT_EXAMPLES, deadline=None)
@given(h=small, w=small, c=st.integers(1, 3), n=st.integers(1, 2),
       seed=st.integers(0, 2**16))  # fmt: skip
def test_global_average_pooling_gradients(h, w, c, n, seed):
    layer = GlobalAveragePooling2D()
    layer.build((h, w, c), None)
    check_gradients(layer, np.random.default_rng(seed).normal(size=(n, h, w, c)), seed)


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------

label_values = st.one_of(
    st.integers(-5, 5), st.sampled_from(["benign", "malignant", "a", "b"])
)


@st.composite
def binary_problems(draw):
    a, b = draw(st.lists(label_values, min_size=2, max_size=2, unique=True).filter(
        lambda pair: type(pair[0]) is type(pair[1])))  # fmt: skip
    n = draw(st.integers(1, 30))
    y_true = draw(st.lists(st.sampled_from([a, b]), min_size=n, max_size=n))
    y_pred = draw(st.lists(st.sampled_from([a, b]), min_size=n, max_size=n))
    weights = draw(st.one_of(st.none(), st.lists(
        st.floats(0.01, 100), min_size=n, max_size=n)))  # fmt: skip
    return a, b, np.array(y_true), np.array(y_pred), weights


@settings(max_examples=METRIC_EXAMPLES, deadline=None)
@given(problem=binary_problems())
def test_sensitivity_of_a_is_specificity_of_b(problem):
    a, b, y_true, y_pred, weights = problem
    kwargs = {"sample_weight": weights, "zero_division": 0.0}
    sensitivity_a = sensitivity_score(y_true, y_pred, pos_label=a, **kwargs)
    specificity_b = specificity_score(y_true, y_pred, pos_label=b, **kwargs)
    sensitivity_b = sensitivity_score(y_true, y_pred, pos_label=b, **kwargs)
    specificity_a = specificity_score(y_true, y_pred, pos_label=a, **kwargs)
    assert sensitivity_a == pytest.approx(specificity_b, abs=1e-12)
    assert sensitivity_b == pytest.approx(specificity_a, abs=1e-12)
    for value in (sensitivity_a, sensitivity_b, specificity_a, specificity_b):
        assert 0.0 <= value <= 1.0
    # Sensitivity is recall.
    assert sensitivity_a == pytest.approx(
        recall_score(y_true, y_pred, pos_label=a, **kwargs), abs=1e-12
    )


@st.composite
def multiclass_problems(draw):
    n_classes = draw(st.integers(2, 5))
    n = draw(st.integers(1, 40))
    classes = st.integers(0, n_classes - 1)
    y_true = draw(st.lists(classes, min_size=n, max_size=n))
    y_pred = draw(st.lists(classes, min_size=n, max_size=n))
    weights = draw(st.one_of(st.none(), st.lists(
        st.floats(0.0, 1e6), min_size=n, max_size=n)))  # fmt: skip
    return np.array(y_true), np.array(y_pred), weights


@settings(max_examples=METRIC_EXAMPLES, deadline=None)
@given(problem=multiclass_problems(),
       average=st.sampled_from([None, "micro", "macro", "weighted"]),
       zero_division=st.sampled_from([0.0, 1.0]))  # fmt: skip
def test_scores_lie_in_the_unit_interval(problem, average, zero_division):
    y_true, y_pred, weights = problem
    if weights is not None and not np.any(weights):
        weights = None
    for score in (sensitivity_score, specificity_score):
        value = score(y_true, y_pred, average=average, sample_weight=weights,
                      zero_division=zero_division)  # fmt: skip
        value = np.atleast_1d(value)
        assert np.all((value >= 0) & (value <= 1)), (score.__name__, value)
