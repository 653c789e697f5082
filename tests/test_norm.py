"""Tests for minigrad/ops/norm.py: linear, batch_norm, instance_norm, layer_norm, embedding,
and for batch norm's fused kernels (kernels/norm.py).

Every op is gradchecked and gradgradchecked in float64. The two primitives (`BatchNorm`
for batch norm in training mode, `Standardize` for instance and layer norm) have two
backward paths each, a fused raw-array one (plain backward) and one in minigrad ops
(create_graph=True): they are compared with each other, and gradgradcheck exercises the
second (its first derivative) and the first (inside the outer check). The kernels are
compared with their numpy references on both sides of the serial/parallel threshold,
in both layouts ((N, C) and (N, C, L)).
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from conftest import as_device, as_numpy, make
from kernels import norm as norm_kernels


def numpy_norm(x, axes, eps=1e-5):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def channel(v, ndim):
    return v.reshape((1, -1) + (1,) * (ndim - 2))


# ------------------------------------------------------------------ linear
@pytest.mark.parametrize("x_shape, out, bias", [
    ((4, 3), 5, "grad"), ((4, 3), 5, None), ((1, 3), 5, "grad"), ((2, 4, 3), 5, "grad"),
    ((3,), 5, "grad"),
    ((6, 3), 1, "grad"),          # one output: its backward takes matmul's outer-product path
    ((4, 3), 5, "constant")])     # a bias that needs no gradient
def test_linear_gradcheck(device, x_shape, out, bias):
    """F.linear is one op (Linear): y = x W^T + b with its three gradients."""
    x = make(x_shape, device, seed=1)
    w = make((out, 3), device, seed=2)
    b = make((out,), device, requires_grad=bias == "grad", seed=3) if bias else None
    inputs = (x, w, b) if bias else (x, w)

    def f(x, w, b=None):
        return F.linear(x, w, b)

    expected = x.numpy() @ w.numpy().T + (b.numpy() if bias else 0)
    np.testing.assert_allclose(f(*inputs).numpy(), expected, rtol=1e-12, atol=1e-12)
    assert mg.gradcheck(f, inputs)
    assert mg.gradgradcheck(f, inputs)


def test_linear_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="linear: input has 4 features"):
        F.linear(mg.zeros(2, 4), mg.zeros(5, 3))
    with pytest.raises(ValueError, match=r"linear: expected weight \(out, in\) and bias "
                                         r"\(out,\), got \(5, 3\) and \(4,\)"):
        F.linear(mg.zeros(2, 3), mg.zeros(5, 3), mg.zeros(4))
    with pytest.raises(ValueError, match="linear: the input needs at least 1 dimension"):
        F.linear(mg.tensor(1.0), mg.zeros(5, 1))


# ------------------------------------------------------------------ batch norm


# (N, C): batch 2, odd sizes, and above the parallel threshold with a last channel block
# shorter than the others (803 channels, 13 per block); (N, C, L) and (N, C, H, W) the same.
KERNEL_SHAPES = [(2, 3), (7, 5), (41, 803), (2, 3, 1), (3, 5, 7), (2, 4, 3, 5),
                 (4, 9, 31, 31), (64, 6, 1, 1)]


def _kernel_inputs(shape, dtype, affine, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2.0 + 3.0).astype(dtype)      # mean far from 0
    gy = rng.standard_normal(shape).astype(dtype)
    C = shape[1]
    weight = rng.standard_normal(C).astype(dtype) if affine else None
    bias = rng.standard_normal(C).astype(dtype) if affine else None
    return x, gy, weight, bias


def _assert_close(actual, expected, dtype):
    """Relative to the array's scale: grad_input is a difference of larger terms."""
    tol = 1e-5 if dtype == np.float32 else 1e-11
    actual = as_numpy(actual)
    assert actual.dtype == dtype and actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=tol,
                               atol=tol * max(1.0, np.abs(expected).max()))


@pytest.mark.parametrize("shape", KERNEL_SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_kernels_match_reference(device, shape, dtype, affine):
    x, gy, weight, bias = _kernel_inputs(shape, dtype, affine)
    dev = [None if a is None else as_device(a, device) for a in (x, gy, weight, bias)]
    y, mean, var = norm_kernels.batch_norm_forward(dev[0], dev[2], dev[3], 1e-5)
    expected = norm_kernels.batch_norm_forward_reference(x, weight, bias, 1e-5)
    for actual, wanted in zip((y, mean, var), expected):
        _assert_close(actual, wanted, dtype)

    inv_std = (1.0 / np.sqrt(as_numpy(var).astype(np.float64) + 1e-5)).astype(dtype)
    grads = norm_kernels.batch_norm_backward(dev[1], dev[0], mean,
                                             as_device(inv_std, device), dev[2])
    expected = norm_kernels.batch_norm_backward_reference(gy, x, as_numpy(mean), inv_std,
                                                          weight)
    for actual, wanted in zip(grads, expected):
        _assert_close(actual, wanted, dtype)


@pytest.mark.parametrize("shape", [(7, 5), (41, 803), (3, 5, 7), (4, 9, 31, 31)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("which", ["both", "mean", "var"])
def test_batch_norm_forward_kernel_updates_the_running_statistics(device, shape, dtype,
                                                                   which):
    """running = momentum * batch + (1 - momentum) * running, unbiased var, in place; a
    running array not given is not touched (and the others' results do not change)."""
    x, _, weight, bias = _kernel_inputs(shape, dtype, True, seed=4)
    C, rng = shape[1], np.random.default_rng(5)
    start_mean, start_var = rng.standard_normal(C).astype(dtype), rng.random(C).astype(dtype)
    running = {"mean": as_device(start_mean.copy(), device) if which != "var" else None,
               "var": as_device(start_var.copy(), device) if which != "mean" else None}
    y, mean, var = norm_kernels.batch_norm_forward(
        as_device(x, device), as_device(weight, device), as_device(bias, device), 1e-5,
        running["mean"], running["var"], momentum=0.3)
    ref_mean, ref_var = start_mean.copy(), start_var.copy()
    expected = norm_kernels.batch_norm_forward_reference(x, weight, bias, 1e-5, ref_mean,
                                                         ref_var, momentum=0.3)
    for actual, wanted in zip((y, mean, var), expected):
        _assert_close(actual, wanted, dtype)
    M = x.size // C
    unbiased = x.astype(np.float64).var(axis=(0,) + tuple(range(2, x.ndim))) * M / (M - 1)
    np.testing.assert_allclose(ref_var, 0.3 * unbiased + 0.7 * start_var,
                               rtol=1e-6 if dtype == np.float32 else 1e-12)
    if running["mean"] is not None:
        _assert_close(running["mean"], ref_mean, dtype)
    if running["var"] is not None:
        _assert_close(running["var"], ref_var, dtype)


def test_batch_norm_forward_kernel_checks_the_running_arrays():
    x = np.ones((4, 3), np.float32)
    with pytest.raises(ValueError, match="running_var must be a contiguous float32 array"):
        norm_kernels.batch_norm_forward(x, running_var=np.ones(3))
    with pytest.raises(ValueError, match=r"running_mean must have shape \(3,\)"):
        norm_kernels.batch_norm_forward(x, running_mean=np.ones(4, np.float32))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        norm_kernels.batch_norm_forward(x[:1], running_mean=np.ones(3, np.float32))


def test_batch_norm_reference_is_the_textbook_formula():
    """The oracle itself, against numpy's own mean and var and the backward formula
    written out from the chain rule (dL/dx through x_hat, mean and var)."""
    x, gy, weight, bias = _kernel_inputs((5, 3, 4), np.float64, True)
    y, mean, var = norm_kernels.batch_norm_forward_reference(x, weight, bias, 1e-5)
    axes = (0, 2)
    np.testing.assert_allclose(mean, x.mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(var, x.var(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(y, numpy_norm(x, axes) * channel(weight, 3) + channel(bias, 3),
                               rtol=1e-12)
    inv_std = 1.0 / np.sqrt(var + 1e-5)
    gx, gw, gb = norm_kernels.batch_norm_backward_reference(gy, x, mean, inv_std, weight)
    M, x_hat = 5 * 4, numpy_norm(x, axes)
    g_hat = gy * channel(weight, 3)                                  # dL/dx_hat
    grad_var = (g_hat * (x - channel(mean, 3))).sum(axis=axes) * -0.5 * inv_std ** 3
    grad_mean = -(g_hat * channel(inv_std, 3)).sum(axis=axes)
    expected = (g_hat * channel(inv_std, 3) + channel(grad_var, 3) * 2 *
                (x - channel(mean, 3)) / M + channel(grad_mean, 3) / M)
    np.testing.assert_allclose(gx, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gw, (gy * x_hat).sum(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(gb, gy.sum(axis=axes), rtol=1e-12)


@pytest.mark.parametrize("shape", [(64, 600), (64, 8, 1000)])
def test_batch_norm_kernel_statistics_are_summed_in_float64(device, shape):
    """float32 values around 1e4: summed in float32 the mean and var would be off by far
    more than float32's resolution."""
    rng = np.random.default_rng(1)
    x = (1e4 + rng.standard_normal(shape)).astype(np.float32)
    _, mean, var = norm_kernels.batch_norm_forward(as_device(x, device), None, None, 1e-5)
    axes = (0,) + tuple(range(2, len(shape)))
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(as_numpy(mean), x64.mean(axis=axes), rtol=1e-7)
    np.testing.assert_allclose(as_numpy(var), x64.var(axis=axes), rtol=1e-5)


@pytest.mark.parametrize("shape", [(7, 5), (41, 803), (4, 9, 31, 31)])
def test_batch_norm_backward_kernel_can_skip_grad_input(device, shape):
    x, gy, weight, _ = _kernel_inputs(shape, np.float64, True)
    dev_x, dev_gy = as_device(x, device), as_device(gy, device)
    _, mean, var = norm_kernels.batch_norm_forward(dev_x, None, None, 1e-5)
    inv_std = 1.0 / (var + 1e-5) ** 0.5
    full = norm_kernels.batch_norm_backward(dev_gy, dev_x, mean, inv_std,
                                            as_device(weight, device))
    partial = norm_kernels.batch_norm_backward(dev_gy, dev_x, mean, inv_std,
                                               as_device(weight, device), grad_input=False)
    assert partial[0] is None
    np.testing.assert_array_equal(as_numpy(partial[1]), as_numpy(full[1]))
    np.testing.assert_array_equal(as_numpy(partial[2]), as_numpy(full[2]))


@pytest.mark.parametrize("shape", [(1, 3, 5), (4, 2, 3, 3), (2, 3, 2, 1, 2), (50, 70, 30),
                                   (4, 3), (2, 3, 1, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channel_sum_matches_numpy(device, shape, dtype):
    """channel_sum (a conv's bias gradient): the sum over every axis but 1, from a
    contiguous array and from a transposed view."""
    x = np.random.default_rng(5).standard_normal(shape).astype(dtype) + 3
    axes = (0,) + tuple(range(2, len(shape)))
    sums = as_numpy(norm_kernels.channel_sum(as_device(x, device)))
    assert sums.dtype == dtype and sums.shape == (shape[1],)
    exact = x.astype(np.float64).sum(axis=axes)
    np.testing.assert_allclose(sums, exact, rtol=1e-5 if dtype == np.float32 else 1e-13)
    view = as_device(np.ascontiguousarray(x.swapaxes(0, 1)), device).swapaxes(0, 1)
    np.testing.assert_allclose(as_numpy(norm_kernels.channel_sum(view)), sums,
                               rtol=1e-6 if dtype == np.float32 else 1e-13)


def test_channel_sum_of_integers_empty_and_1d_input(device):
    ints = np.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(as_numpy(norm_kernels.channel_sum(as_device(ints, device))),
                                  ints.sum(axis=(0, 2)))
    empty = as_numpy(norm_kernels.channel_sum(as_device(np.ones((0, 3, 2)), device)))
    np.testing.assert_array_equal(empty, [0, 0, 0])
    with pytest.raises(ValueError, match=r"channel_sum.*\(5,\)"):
        norm_kernels.channel_sum(as_device(np.ones(5), device))


def test_batch_norm_kernels_check_shapes():
    x = np.zeros((4, 3, 2))
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        norm_kernels.batch_norm_forward(x, np.ones(2), None)
    with pytest.raises(ValueError, match="expected a float input"):
        norm_kernels.batch_norm_forward(np.zeros(3), None, None)
    with pytest.raises(ValueError, match="grad_output"):
        norm_kernels.batch_norm_backward(np.zeros((4, 3)), x, np.zeros(3), np.ones(3))


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


@pytest.mark.parametrize("shape", BN_SHAPES + [(2, 4), (2, 2, 1, 3), (1, 2, 2, 3), (1, 3, 4)])
@pytest.mark.parametrize("affine", ["none", "weight", "bias", "both"])
def test_batch_norm_training_gradcheck_and_gradgradcheck(device, shape, affine):
    """With respect to x, weight and bias; weight or bias or both None (affine=False).
    Batch 1 with H x W or L > 1: the statistics are over one sample's pixels."""
    x = make(shape, device, seed=7)
    C = shape[1]
    weight = make((C,), device, seed=8) if affine in ("weight", "both") else None
    bias = make((C,), device, seed=9) if affine in ("bias", "both") else None
    inputs = (x,) + tuple(t for t in (weight, bias) if t is not None)

    def f(x, *affine_params):
        given = iter(affine_params)
        w = next(given) if weight is not None else None
        b = next(given) if bias is not None else None
        return F.batch_norm(x, None, None, w, b, training=True)

    assert mg.gradcheck(f, inputs)
    assert mg.gradgradcheck(f, inputs)


def test_batch_norm_2d_layer_in_training_on_one_image_gradcheck_and_gradgradcheck(device):
    """nn.BatchNorm2d in training mode on a batch of 1 (3 x 2 pixels per channel), weight
    and bias away from 1 and 0: its output is F.batch_norm's, and its gradients w.r.t.
    the input and both parameters (perturbed in place) hold to second order."""
    layer = nn.BatchNorm2d(2, device=device, dtype=mg.float64)
    with mg.no_grad():
        layer.weight.copy_(make((2,), device, requires_grad=False, seed=20))
        layer.bias.copy_(make((2,), device, requires_grad=False, seed=21))
    x = make((1, 2, 3, 2), device, seed=22)

    def f(x, weight, bias):          # weight and bias are the layer's own parameters
        return layer(x)

    np.testing.assert_allclose(
        f(x, layer.weight, layer.bias).numpy(),
        F.batch_norm(x, None, None, layer.weight, layer.bias, training=True).numpy(),
        rtol=1e-14, atol=1e-14)
    assert mg.gradcheck(f, (x, layer.weight, layer.bias))
    assert mg.gradgradcheck(f, (x, layer.weight, layer.bias))


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


@pytest.mark.parametrize("shape", [(6, 5), (4, 3, 5, 5), (2, 3, 7)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_fused_and_differentiable_backward_agree_for_every_input(
        device, shape, affine):
    x = make(shape, device, seed=31)
    C = shape[1]
    params = (make((C,), device, seed=32), make((C,), device, seed=33)) if affine else ()
    g = make(shape, device, requires_grad=False, seed=34)

    def f():
        return F.batch_norm(x, None, None, *params, training=True)

    fused = mg.grad(f(), (x,) + params, g)
    recorded = mg.grad(f(), (x,) + params, g, create_graph=True)
    # it really took the minigrad-ops path (dL/dbias = sum(g) does not depend on x)
    assert all(r.requires_grad for r in recorded[:2])
    assert not any(r.requires_grad for r in fused)     # and this one the kernel
    for a, b in zip(fused, recorded):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("create_graph", [False, True])
def test_batch_norm_backward_computes_only_the_gradients_asked_for(monkeypatch, create_graph):
    """x constant, weight and bias parameters: the kernel skips grad_input, the
    gradients of weight and bias are still right, and x gets none."""
    calls = []
    kernel = norm_kernels.batch_norm_backward

    def spy(*args, **kwargs):
        calls.append(kwargs.get("grad_input", True))
        return kernel(*args, **kwargs)

    monkeypatch.setattr(norm_kernels, "batch_norm_backward", spy)
    x = make((5, 3, 4), requires_grad=False, seed=35)
    w, b = make((3,), seed=36), make((3,), seed=37)
    g = make((5, 3, 4), requires_grad=False, seed=38)
    grad_w, grad_b = mg.grad(F.batch_norm(x, None, None, w, b, training=True), (w, b), g,
                             create_graph=create_graph)
    assert calls == ([] if create_graph else [False])
    _, expected_w, expected_b = norm_kernels.batch_norm_backward_reference(
        g.numpy(), x.numpy(), x.numpy().mean(axis=(0, 2)),
        1.0 / np.sqrt(x.numpy().var(axis=(0, 2)) + 1e-5), w.numpy())
    np.testing.assert_allclose(grad_w.numpy(), expected_w, rtol=1e-10)
    np.testing.assert_allclose(grad_b.numpy(), expected_b, rtol=1e-10)
    assert x.grad is None


def test_batch_norm_saves_the_input_and_per_channel_statistics_only():
    """The memory part of the fused op: no x_hat or other activation-size array is kept
    for backward, only the input x itself (which its producer holds anyway)."""
    x = make((8, 3, 4, 4), seed=39)
    w, b = make((3,), seed=40), make((3,), seed=41)
    y = F.batch_norm(x, None, None, w, b, training=True)
    fn = y.creator
    assert type(fn).__name__ == "BatchNorm" and fn.outputs is None
    assert fn.inputs[0] is x
    arrays = [v for v in vars(fn).values() if isinstance(v, np.ndarray)]
    assert arrays and all(a.shape == (3,) for a in arrays)


def test_batch_norm_matches_pytorch():
    """Forward, the gradients of x, weight and bias, and the running statistics, against
    torch.nn.functional.batch_norm in training mode (float64)."""
    torch = pytest.importorskip("torch")
    for shape in [(6, 4), (5, 4, 3), (3, 4, 5, 2)]:
        x, w, b = make(shape, seed=42), make((4,), seed=43), make((4,), seed=44)
        g = make(shape, requires_grad=False, seed=45)
        running_mean, running_var = mg.zeros(4, dtype=mg.float64), mg.ones(4, dtype=mg.float64)
        y = F.batch_norm(x, running_mean, running_var, w, b, training=True, momentum=0.2)
        y.backward(g)

        tx, tw, tb = (torch.tensor(t.numpy(), requires_grad=True) for t in (x, w, b))
        t_mean, t_var = torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
        ty = torch.nn.functional.batch_norm(tx, t_mean, t_var, tw, tb, training=True,
                                            momentum=0.2, eps=1e-5)
        ty.backward(torch.tensor(g.numpy()))
        for ours, theirs in [(y, ty), (x.grad, tx.grad), (w.grad, tw.grad), (b.grad, tb.grad),
                             (running_mean, t_mean), (running_var, t_var)]:
            np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10,
                                       atol=1e-12)


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
        with pytest.raises(ValueError):
            bn(mg.zeros(1, 2))              # one value per channel: refused, and not counted
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


def test_embedding_padding_idx_and_weight_are_checked_as_pytorch():
    """A padding_idx out of range (PyTorch: "Padding_idx must be within num_embeddings")
    and a 1-D weight were accepted; a negative padding_idx counts from the end."""
    indices, weight = mg.tensor(np.array([1, 2])), mg.randn(10, 3)
    for padding_idx in (10, 20, -11):
        with pytest.raises(ValueError, match=rf"embedding: padding_idx {padding_idx} must be "
                                             rf"within num_embeddings 10"):
            F.embedding(indices, weight, padding_idx=padding_idx)
    with pytest.raises(ValueError, match=r"embedding: weight must be 2-D .* got shape "
                                         r"\(10,\)"):
        F.embedding(indices, mg.randn(10))
    with pytest.raises(ValueError, match="Embedding: padding_idx 20 must be within "
                                         "num_embeddings 10"):
        nn.Embedding(10, 3, padding_idx=20)
    weight.requires_grad_()
    F.embedding(mg.tensor(np.array([9, 1])), weight, padding_idx=-1).sum().backward()
    np.testing.assert_array_equal(weight.grad.numpy()[[1, 9]], [[1, 1, 1], [0, 0, 0]])


NORMS = [  # the functional form, the input it takes
    (lambda x, eps: F.batch_norm(x, None, None, training=True, eps=eps), (4, 3)),
    (lambda x, eps: F.batch_norm(x, mg.zeros(3), mg.ones(3), eps=eps), (4, 3)),
    (lambda x, eps: F.layer_norm(x, (3,), eps=eps), (4, 3)),
    (lambda x, eps: F.group_norm(x, 1, eps=eps), (2, 3, 4)),
    (lambda x, eps: F.instance_norm(x, eps=eps), (2, 3, 4)),
]
NORM_NAMES = ["batch_norm", "batch_norm", "layer_norm", "group_norm", "instance_norm"]


@pytest.mark.parametrize("norm,shape,op", [(*n, name) for n, name in zip(NORMS, NORM_NAMES)])
def test_norms_refuse_a_negative_eps_and_integer_input(norm, shape, op):
    """eps = -1 gave nan silently (sqrt of var - 1), and an int64 input was normalised
    (PyTorch: not implemented for 'Long')."""
    x = mg.randn(*shape)
    for eps in (-1.0, float("nan")):
        with pytest.raises(ValueError, match=rf"{op}: eps must be >= 0, got {eps}"):
            norm(x, eps)
    assert np.isfinite(norm(x, 0.0).numpy()).all()               # eps = 0 is allowed
    with pytest.raises(TypeError, match=rf"{op}: only floating point tensors, got int64"):
        norm(mg.tensor(np.ones(shape, dtype=np.int64)), 1e-5)


def test_norm_layers_refuse_a_negative_eps():
    for build in (lambda: nn.BatchNorm1d(3, eps=-1.0), lambda: nn.BatchNorm2d(3, eps=-1.0),
                  lambda: nn.InstanceNorm2d(3, eps=-1.0), lambda: nn.LayerNorm(3, eps=-1.0),
                  lambda: nn.GroupNorm(1, 3, eps=-1.0)):
        with pytest.raises(ValueError, match=r"Norm\w*: eps must be >= 0, got -1.0"):
            build()
    with pytest.raises(ValueError, match="LayerNorm: eps must be >= 0, got nan"):
        nn.LayerNorm(3, eps=float("nan"))


def test_a_channel_mismatch_is_named_and_leaves_the_running_statistics_alone(device):
    """The per-channel tensors are checked before the update (it was a mul_ then add_,
    and the mul_ landed before the shapes failed)."""
    norm = nn.InstanceNorm2d(3, track_running_stats=True).to(device)
    batch = nn.BatchNorm1d(3).to(device)
    for module, x in ((norm, mg.randn(2, 4, 3, 3, device=device)),
                      (batch, mg.randn(2, 4, device=device))):
        with pytest.raises(ValueError, match=r"running_mean should have shape \(4,\)"):
            module(x)
        np.testing.assert_array_equal(module.running_mean.numpy(), [0.0, 0.0, 0.0])
        np.testing.assert_array_equal(module.running_var.numpy(), [1.0, 1.0, 1.0])
        if module is batch:
            assert batch.num_batches_tracked.item() == 0      # the failed batch not counted
        module.eval()
        with pytest.raises(ValueError, match=r"should have shape \(4,\)"):
            module(x)
    with pytest.raises(ValueError, match=r"instance_norm: weight should have shape \(4,\)"):
        nn.InstanceNorm2d(3, affine=True).to(device)(mg.randn(2, 4, 3, 3, device=device))
    with pytest.raises(ValueError, match=r"layer_norm: weight should have shape .*\(4,\)"):
        F.layer_norm(mg.randn(2, 4, device=device), (4,), mg.randn(3, device=device))
