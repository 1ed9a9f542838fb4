"""Optimizers: the first two steps against their closed forms, in-place updates."""

import numpy as np
import pytest
from sklearn.base import clone

from skdeep.nn import optimizers as optimizers_module
from skdeep.nn.optimizers import SGD, Adam, RMSProp
from skdeep.nn.parallel import PartThreads

P0 = np.array([[0.5, -1.0], [2.0, 0.0]])
G = [np.array([[0.1, -0.2], [0.3, 1.0]]), np.array([[-0.4, 0.5], [0.0, 2.0]])]
LR, MU = 0.1, 0.9

# Each built-in optimizer and variant, as the parameter ``optimizer``.
EVERY_OPTIMIZER = pytest.mark.parametrize(
    "optimizer",
    [SGD(LR), SGD(LR, momentum=MU), SGD(LR, momentum=MU, nesterov=True), Adam(LR),
     RMSProp(LR)],
    ids=["sgd", "momentum", "nesterov", "adam", "rmsprop"],
)  # fmt: skip


def _two_steps(optimizer):
    p = P0.copy()
    out = []
    for g in G:
        g = g.copy()
        g_before = g.copy()
        optimizer.step([p], [g])
        np.testing.assert_array_equal(g, g_before)  # gradients are not modified
        out.append(p.copy())
    return out


def _sgd_closed_form():
    p1 = P0 - LR * G[0]
    return [p1, p1 - LR * G[1]]


def _momentum_closed_form():
    v1 = -LR * G[0]
    v2 = MU * v1 - LR * G[1]
    return [P0 + v1, P0 + v1 + v2]


def _nesterov_closed_form():
    v1 = -LR * G[0]
    p1 = P0 + MU * v1 - LR * G[0]
    v2 = MU * v1 - LR * G[1]
    return [p1, p1 + MU * v2 - LR * G[1]]


def _adam_closed_form(b1=0.9, b2=0.999, eps=1e-8):
    m1, v1 = (1 - b1) * G[0], (1 - b2) * G[0] ** 2
    p1 = P0 - LR * np.sqrt(1 - b2) / (1 - b1) * m1 / (np.sqrt(v1) + eps)
    m2, v2 = b1 * m1 + (1 - b1) * G[1], b2 * v1 + (1 - b2) * G[1] ** 2
    p2 = p1 - LR * np.sqrt(1 - b2**2) / (1 - b1**2) * m2 / (np.sqrt(v2) + eps)
    return [p1, p2]


def _rmsprop_closed_form(rho=0.9, eps=1e-7):
    v1 = (1 - rho) * G[0] ** 2
    p1 = P0 - LR * G[0] / (np.sqrt(v1) + eps)
    v2 = rho * v1 + (1 - rho) * G[1] ** 2
    return [p1, p1 - LR * G[1] / (np.sqrt(v2) + eps)]


@pytest.mark.parametrize(
    "optimizer, closed_form",
    [
        (SGD(LR), _sgd_closed_form),
        (SGD(LR, momentum=MU), _momentum_closed_form),
        (SGD(LR, momentum=MU, nesterov=True), _nesterov_closed_form),
        (Adam(LR), _adam_closed_form),
        (RMSProp(LR), _rmsprop_closed_form),
    ],
    ids=["sgd", "momentum", "nesterov", "adam", "rmsprop"],
)
def test_first_two_steps_match_closed_form(optimizer, closed_form):
    optimizer = clone(optimizer)
    for got, expected in zip(_two_steps(optimizer), closed_form()):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_adam_first_step_moves_each_weight_by_the_learning_rate():
    p = np.zeros(3)
    Adam(learning_rate=0.01).step([p], [np.array([0.1, -5.0, 1e3])])
    np.testing.assert_allclose(p, [-0.01, 0.01, -0.01], rtol=1e-4)


@pytest.mark.parametrize(
    "optimizer", [SGD(0.1), SGD(0.1, momentum=0.5, nesterov=True), Adam(), RMSProp()]
)
def test_updates_in_place_with_preallocated_state(optimizer):
    optimizer = clone(optimizer)
    params = [np.ones((3, 2), dtype=np.float32), np.ones(2, dtype=np.float32)]
    ids = [id(p) for p in params]
    grads = [np.full_like(p, 0.5) for p in params]
    optimizer.step(params, grads)
    state_ids = {
        key: [id(a) for a in value]
        for key, value in optimizer.state_.items()
        if isinstance(value, list)
    }
    optimizer.step(params, grads)
    assert [id(p) for p in params] == ids
    assert all(p.dtype == np.float32 for p in params)
    for key, value in state_ids.items():
        assert [id(a) for a in optimizer.state_[key]] == value
    assert (params[0] < 1).all()


def test_clone_get_params_and_reset():
    opt = Adam(learning_rate=0.01, beta_1=0.8)
    assert opt.get_params() == {
        "learning_rate": 0.01,
        "beta_1": 0.8,
        "beta_2": 0.999,
        "epsilon": 1e-8,
    }
    opt.step([np.zeros(2)], [np.ones(2)])
    assert opt.state_["t"] == 1
    assert not hasattr(clone(opt), "state_")
    opt.reset()
    assert not hasattr(opt, "state_")
    assert (
        SGD(momentum=0.9, nesterov=True).set_params(learning_rate=0.5).learning_rate
        == 0.5
    )


@EVERY_OPTIMIZER
@pytest.mark.parametrize("layout", ["blocks", "non-contiguous"])
def test_block_by_block_updates_equal_whole_array_updates(optimizer, layout):
    # Large arrays are updated a cache-sized block at a time: element by element
    # the same arithmetic, so the same result as arrays cut anywhere else. A
    # non-contiguous array (no flat view) is updated whole.
    rng = np.random.default_rng(0)
    block = optimizers_module._block_size(np.zeros(1))
    size = 3 * block + 5
    p = rng.normal(size=size)
    grads = [rng.normal(size=size) for _ in range(3)]
    if layout == "non-contiguous":
        p = np.repeat(p[:100], 2)[::2]
        grads = [np.repeat(g[:100], 2)[::2] for g in grads]
    cut = 4099  # not a multiple of the block
    reference = [p[i : i + cut].copy() for i in range(0, p.size, cut)]
    opt_whole, opt_parts = clone(optimizer), [clone(optimizer) for _ in reference]
    for g in grads:
        opt_whole.step([p], [g])
        for part, opt, i in zip(reference, opt_parts, range(0, p.size, cut)):
            opt.step([part], [g[i : i + cut].copy()])
    np.testing.assert_array_equal(p, np.concatenate(reference))


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop"])
def test_step_scale_is_what_a_unit_gradient_moves_each_weight(name):
    """step_scale (the metric of the proximal L1 step) equals lr for SGD and
    lr / (sqrt(v_hat) + eps) for Adam / RMSProp, computed here from the state
    by the closed forms; catches a threshold in the wrong metric."""
    rng = np.random.default_rng(0)
    p, g = rng.normal(size=7), rng.normal(size=7)
    optimizer = {
        "sgd": SGD(0.1, momentum=0.9),
        "adam": Adam(0.01, beta_1=0.8, beta_2=0.9, epsilon=1e-3),
        "rmsprop": RMSProp(0.01, rho=0.7, epsilon=1e-3),
    }[name]
    for _ in range(3):
        optimizer.step([p], [g])
    scale = optimizer.step_scale(0, np.empty(7))
    if name == "sgd":
        assert scale == 0.1
        return
    if name == "adam":
        v = sum(0.1 * 0.9**k * g**2 for k in range(3))  # (1 - b2) sum b2^k g^2
        expected = 0.01 / (np.sqrt(v / (1 - 0.9**3)) + 1e-3)
    else:
        v = sum(0.3 * 0.7**k * g**2 for k in range(3))
        expected = 0.01 / (np.sqrt(v) + 1e-3)
    np.testing.assert_allclose(scale, expected, rtol=1e-12)


@EVERY_OPTIMIZER
def test_steps_on_two_threads_equal_steps_on_one(optimizer):
    """Given threads, a large array is updated in two halves side by side,
    each in its own scratch: the same bits as in one thread (catches a step
    count advanced once per half, or halves sharing a scratch block)."""
    rng = np.random.default_rng(0)
    size = 5 * optimizers_module._block_size(np.zeros(1, dtype=np.float32)) + 3
    p = rng.normal(size=size).astype(np.float32)
    small = rng.normal(size=7).astype(np.float32)  # too small to share out
    grads = [
        (
            rng.normal(size=size).astype(np.float32),
            rng.normal(size=7).astype(np.float32),
        )
        for _ in range(3)
    ]
    tasks_seen = []

    def run(tasks):
        tasks_seen.append(len(tasks))
        with PartThreads(2) as threads:
            threads.run(tasks)

    one, two = clone(optimizer), clone(optimizer)
    p1, s1, p2, s2 = p.copy(), small.copy(), p.copy(), small.copy()
    for g, h in grads:
        one.step([p1, s1], [g, h])
        two.step([p2, s2], [g, h], run=run)
    assert tasks_seen == [3, 3, 3]  # two halves and the small array
    np.testing.assert_array_equal(p2, p1)
    np.testing.assert_array_equal(s2, s1)


def test_a_state_saved_before_lanes_existed_still_steps():
    """Optimizer state pickled by earlier versions has one 1-D scratch block
    per parameter: it updates in one lane, as it did."""
    rng = np.random.default_rng(0)
    p, g = rng.normal(size=50_000), rng.normal(size=50_000)
    reference, old = Adam(LR), Adam(LR)
    p_ref, p_old = p.copy(), p.copy()
    reference.step([p_ref], [g])
    old.step([p_old], [g])
    old.state_["scratch"] = [np.empty(min(p.size, 32_768))]
    reference.step([p_ref], [g])
    old.step([p_old], [g], run=lambda tasks: [task() for task in tasks])
    np.testing.assert_array_equal(p_old, p_ref)


@pytest.mark.parametrize("make", [
    lambda lr: SGD(learning_rate=lr, momentum=0.9),
    lambda lr: Adam(learning_rate=lr),
    lambda lr: RMSProp(learning_rate=lr),
])  # fmt: skip
def test_a_numpy_float64_hyperparameter_updates_float32_weights_as_a_float_does(make):
    # A search samples numpy float64 values (scipy.stats.loguniform). The
    # update of float32 weights must not depend on the value's type: numpy
    # would compute a float32 array times a numpy float64 in float64 (and
    # round back), times a Python float in float32.
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=1000).astype(np.float32)
    grads = [rng.normal(size=1000).astype(np.float32) for _ in range(3)]
    results = []
    for lr in (0.0123, np.float64(0.0123)):
        w, optimizer = w0.copy(), make(lr)
        for g in grads:
            optimizer.step([w], [g])
        results.append(w)
    np.testing.assert_array_equal(results[0], results[1])
