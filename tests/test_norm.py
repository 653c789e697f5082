"""Tests for minigrad/ops/norm.py: linear, batch_norm, instance_norm, layer_norm, embedding.

Every op is gradchecked and gradgradchecked in float64. Batch norm's primitive
(`Standardize`) has two backward paths, a fused raw-array one (plain backward) and one in
minigrad ops (create_graph=True): they are compared with each other, and gradgradcheck
exercises the second (its first derivative) and the first (inside the outer check).
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from conftest import make


def numpy_norm(x, axes, eps=1e-5):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def channel(v, ndim):
    return v.reshape((1, -1) + (1,) * (ndim - 2))


# ------------------------------------------------------------------ linear
@pytest.mark.parametrize("x_shape, bias", [((4, 3), True), ((4, 3), False), ((1, 3), True),
                                           ((2, 4, 3), True), ((3,), True)])
def test_linear_gradcheck(device, x_shape, bias):
    x = make(x_shape, device, seed=1)
    w = make((5, 3), device, seed=2)
    b = make((5,), device, seed=3) if bias else None
    inputs = (x, w, b) if bias else (x, w)

    def f(x, w, b=None):
        return F.linear(x, w, b)

    expected = x.numpy() @ w.numpy().T + (b.numpy() if bias else 0)
    np.testing.assert_allclose(f(*inputs).numpy(), expected, rtol=1e-12, atol=1e-12)
    assert mg.gradcheck(f, inputs)
    assert mg.gradgradcheck(f, inputs)


def test_linear_rejects_wrong_feature_count():
    with pytest.raises(ValueError, match="linear: input has 4 features"):
        F.linear(mg.zeros(2, 4), mg.zeros(5, 3))


# ------------------------------------------------------------------ batch norm
BN_SHAPES = [(6, 3), (4, 3, 5), (3, 2, 3, 3)]


@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm_training_forward_matches_numpy(device, shape):
    x = make(shape, device, requires_grad=False, seed=4)
    w, b = make((shape[1],), device, seed=5), make((shape[1],), device, seed=6)
    axes = (0,) + tuple(range(2, len(shape)))
    y = F.batch_norm(x, None, None, w, b, training=True)
    expected = numpy_norm(x.numpy(), axes) * channel(w.numpy(), len(shape)) + \
        channel(b.numpy(), len(shape))
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("affine", [False, True])
def test_batch_norm_training_gradcheck_and_gradgradcheck(device, shape, affine):
    x = make(shape, device, seed=7)
    C = shape[1]
    if affine:
        inputs = (x, make((C,), device, seed=8), make((C,), device, seed=9))
    else:
        inputs = (x,)

    def f(x, w=None, b=None):
        return F.batch_norm(x, None, None, w, b, training=True)

    assert mg.gradcheck(f, inputs)
    assert mg.gradgradcheck(f, inputs)


def test_batch_norm_training_loss_is_not_linear_gradgradcheck(device):
    """A loss that is not linear in y (the second derivative of the norm itself shows)."""
    x = make((5, 2, 2, 2), device, seed=10)

    def f(x):
        return (F.batch_norm(x, None, None, training=True) ** 3).sum()

    assert mg.gradgradcheck(f, (x,))


@pytest.mark.parametrize("norm", ["batch", "instance", "layer"])
def test_fused_and_differentiable_backward_agree(device, norm):
    """The raw-array backward (no create_graph) equals the minigrad-ops one (create_graph)."""
    x = make((4, 3, 5, 5), device, seed=11)
    g = make((4, 3, 5, 5), device, requires_grad=False, seed=12)
    fn = {"batch": lambda x: F.batch_norm(x, None, None, training=True),
          "instance": lambda x: F.instance_norm(x),
          "layer": lambda x: F.layer_norm(x, (3, 5, 5))}[norm]
    fused, = mg.grad(fn(x), x, g)
    recorded, = mg.grad(fn(x), x, g, create_graph=True)
    assert recorded.requires_grad            # it really took the differentiable path
    np.testing.assert_allclose(fused.numpy(), recorded.numpy(), rtol=1e-10, atol=1e-12)


def test_batch_norm_gradient_penalty_through_a_critic(device):
    """WGAN-GP through batch norm: the penalty's gradient w.r.t. the weights matches
    finite differences (batch norm couples the samples, but the gradient is exact)."""
    x = make((4, 3), device, requires_grad=False, seed=13)
    w1, w2 = make((5, 3), device, seed=14), make((1, 5), device, seed=15)

    def penalty(w1, w2):
        xi = x.detach().requires_grad_()
        with mg.enable_grad():
            h = F.batch_norm(F.linear(xi, w1), None, None, training=True)
            score = F.linear(F.tanh(h), w2).sum()
            grad_x, = mg.grad(score, xi, create_graph=True)
        return ((grad_x * grad_x).sum(dim=1) - 1.0) ** 2

    assert mg.gradcheck(penalty, (w1, w2))


def test_batch_norm_eval_uses_running_stats_and_gradchecks(device):
    x = make((4, 3, 2), device, seed=16)
    running_mean = make((3,), device, requires_grad=False, seed=17)
    running_var = mg.tensor(np.array([0.5, 1.5, 2.0]), dtype=mg.float64, device=device)
    w, b = make((3,), device, seed=18), make((3,), device, seed=19)

    def f(x, w, b):
        return F.batch_norm(x, running_mean, running_var, w, b, training=False)

    expected = ((x.numpy() - channel(running_mean.numpy(), 3))
                / np.sqrt(channel(running_var.numpy(), 3) + 1e-5)
                * channel(w.numpy(), 3) + channel(b.numpy(), 3))
    np.testing.assert_allclose(f(x, w, b).numpy(), expected, rtol=1e-12)
    assert mg.gradcheck(f, (x, w, b))
    assert mg.gradgradcheck(f, (x, w, b))


@pytest.mark.parametrize("Layer, shape", [(nn.BatchNorm1d, (8, 3)), (nn.BatchNorm1d, (8, 3, 4)),
                                          (nn.BatchNorm2d, (8, 3, 4, 4))])
def test_running_stats_after_n_steps_match_the_formula(device, Layer, shape):
    bn = Layer(3, device=device)
    axes = (0,) + tuple(range(2, len(shape)))
    n = int(np.prod([shape[a] for a in axes]))
    expected_mean, expected_var = np.zeros(3), np.ones(3)
    rng = np.random.default_rng(20)
    for _ in range(5):
        batch = rng.standard_normal(shape) * 3.0 + 2.0
        bn(mg.tensor(batch, device=device))
        expected_mean = 0.9 * expected_mean + 0.1 * batch.mean(axis=axes)
        expected_var = 0.9 * expected_var + 0.1 * batch.var(axis=axes) * n / (n - 1)
    np.testing.assert_allclose(bn.running_mean.numpy(), expected_mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), expected_var, rtol=1e-5)
    assert bn.num_batches_tracked.item() == 5
    assert bn.running_mean.dtype == np.float32

    bn.eval()
    x = rng.standard_normal(shape)
    y = bn(mg.tensor(x, device=device))
    expected = (x - channel(expected_mean, len(shape))) / np.sqrt(
        channel(expected_var, len(shape)) + 1e-5)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-4, atol=1e-5)
    before = bn.running_mean.numpy().copy()
    bn(mg.tensor(x, device=device))
    np.testing.assert_array_equal(bn.running_mean.numpy(), before)   # eval: no update
    assert bn.num_batches_tracked.item() == 5


def test_momentum_none_is_a_cumulative_average():
    bn = nn.BatchNorm1d(2, momentum=None)
    batches = [np.random.default_rng(i).standard_normal((6, 2)) for i in range(4)]
    for batch in batches:
        bn(mg.tensor(batch))
    np.testing.assert_allclose(bn.running_mean.numpy(),
                               np.mean([b.mean(axis=0) for b in batches], axis=0), rtol=1e-5)


def test_batch_norm_without_running_stats_uses_batch_stats_in_eval():
    bn = nn.BatchNorm1d(2, track_running_stats=False).eval()
    assert "running_mean" not in bn.state_dict()
    x = np.random.default_rng(21).standard_normal((5, 2))
    np.testing.assert_allclose(bn(mg.tensor(x)).numpy(), numpy_norm(x, (0,)), rtol=1e-4,
                               atol=1e-5)


def test_batch_norm_needs_more_than_one_value_per_channel():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(mg.ones(1, 3))
    with pytest.raises(ValueError, match="expected a 4-D input"):
        nn.BatchNorm2d(3)(mg.ones(2, 3))


def test_float32_stays_float32(device):
    x = mg.randn(4, 3, 2, 2, device=device, requires_grad=True)
    bn = nn.BatchNorm2d(3, device=device)
    ln = nn.LayerNorm((3, 2, 2), device=device)
    lin = nn.Linear(2, 5, device=device)
    y = lin(ln(bn(x)))
    assert y.dtype == np.float32
    g, = mg.grad(y.sum(), x, create_graph=True)
    assert g.dtype == np.float32 and g.data.dtype == np.float32
    (g * g).sum().backward()
    # (the biases do not reach dL/dx: their .grad stays None)
    assert bn.weight.grad.dtype == np.float32 and ln.weight.grad.dtype == np.float32
    assert bn.running_var.dtype == np.float32


# ------------------------------------------------------------------ instance and layer norm
@pytest.mark.parametrize("affine", [False, True])
def test_instance_norm(device, affine):
    x = make((2, 3, 3, 2), device, seed=22)
    inputs = (x, make((3,), device, seed=23), make((3,), device, seed=24)) if affine else (x,)

    def f(x, w=None, b=None):
        return F.instance_norm(x, weight=w, bias=b)

    expected = numpy_norm(x.numpy(), (2, 3))
    if affine:
        expected = expected * channel(inputs[1].numpy(), 4) + channel(inputs[2].numpy(), 4)
    np.testing.assert_allclose(f(*inputs).numpy(), expected, rtol=1e-10, atol=1e-12)
    assert mg.gradcheck(f, inputs)
    assert mg.gradgradcheck(f, inputs)


def test_instance_norm_module_defaults_and_unbatched_input():
    layer = nn.InstanceNorm2d(3)
    assert list(layer.state_dict()) == [] and list(layer.parameters()) == []
    assert repr(layer) == ("InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=False, "
                           "track_running_stats=False)")
    x = np.random.default_rng(25).standard_normal((3, 4, 4))
    np.testing.assert_allclose(layer(mg.tensor(x)).numpy(), numpy_norm(x, (1, 2)),
                               rtol=1e-4, atol=1e-5)


def test_instance_norm_running_stats_average_over_the_batch():
    layer = nn.InstanceNorm2d(2, track_running_stats=True)
    x = np.random.default_rng(26).standard_normal((3, 2, 4, 4)) + 1.0
    layer(mg.tensor(x))
    per_instance_var = x.var(axis=(2, 3), ddof=1)                   # (N, C)
    np.testing.assert_allclose(layer.running_mean.numpy(),
                               0.1 * x.mean(axis=(2, 3)).mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(layer.running_var.numpy(),
                               0.9 + 0.1 * per_instance_var.mean(axis=0), rtol=1e-5)


@pytest.mark.parametrize("normalized_shape", [(4,), (3, 4)])
def test_layer_norm(device, normalized_shape):
    x = make((2, 3, 4), device, seed=27)
    w = make(normalized_shape, device, seed=28)
    b = make(normalized_shape, device, seed=29)

    def f(x, w, b):
        return F.layer_norm(x, normalized_shape, w, b)

    axes = tuple(range(3 - len(normalized_shape), 3))
    expected = numpy_norm(x.numpy(), axes) * w.numpy() + b.numpy()
    np.testing.assert_allclose(f(x, w, b).numpy(), expected, rtol=1e-10, atol=1e-12)
    assert mg.gradcheck(f, (x, w, b))
    assert mg.gradgradcheck(f, (x, w, b))


def test_layer_norm_checks_the_trailing_shape():
    with pytest.raises(ValueError, match="normalized_shape"):
        F.layer_norm(mg.zeros(2, 3), (4,))


# ------------------------------------------------------------------ embedding
def test_embedding_gradcheck(device):
    weight = make((5, 3), device, seed=30)
    indices = mg.tensor(np.array([[0, 2, 2], [4, 0, 1]]), device=device)

    def f(weight):
        return F.embedding(indices, weight)

    np.testing.assert_array_equal(f(weight).numpy(), weight.numpy()[indices.numpy()])
    assert mg.gradcheck(f, (weight,))
    assert mg.gradgradcheck(f, (weight,))


def test_embedding_repeated_indices_accumulate(device):
    layer = nn.Embedding(4, 2, device=device)
    layer(mg.tensor(np.array([1, 1, 3, 1]), device=device)).sum().backward()
    np.testing.assert_array_equal(layer.weight.grad.numpy(),
                                  [[0, 0], [3, 3], [0, 0], [1, 1]])


def test_embedding_padding_idx_gets_no_gradient():
    layer = nn.Embedding(4, 2, padding_idx=0)
    np.testing.assert_array_equal(layer.weight.numpy()[0], [0, 0])
    out = layer(mg.tensor(np.array([0, 2, 0])))
    assert out.shape == (3, 2)
    out.sum().backward()
    np.testing.assert_array_equal(layer.weight.grad.numpy(), [[0, 0], [0, 0], [1, 1], [0, 0]])


def test_embedding_rejects_bad_indices():
    weight = mg.zeros(3, 2)
    with pytest.raises(IndexError, match=r"indices must be in \[0, 3\)"):
        F.embedding(mg.tensor(np.array([3])), weight)
    with pytest.raises(TypeError, match="integers"):
        F.embedding(mg.tensor([0.0]), weight)
