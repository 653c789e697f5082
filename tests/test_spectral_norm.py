"""Tests for nn.utils.spectral_norm (Miyato et al. 2018) and remove_spectral_norm."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from conftest import make
from minigrad.nn.utils.spectral_norm import SpectralNorm, normalized_weight


class WeightOnly(nn.Module):
    """A module whose forward returns its (spectrally normalised) weight: lets the conv
    weight layouts be tested without a convolution."""

    def __init__(self, shape, device="cpu"):
        super().__init__()
        self.weight = nn.Parameter(mg.randn(*shape, device=device))

    def forward(self):
        return self.weight


def top_singular_value(matrix):
    return np.linalg.svd(matrix, compute_uv=False)[0]


def sigma_estimate(module, dim=0):
    """u^T W_mat v with the module's current buffers."""
    weight = module.weight_orig.numpy()
    if dim:
        weight = np.moveaxis(weight, dim, 0)
    matrix = weight.reshape(weight.shape[0], -1)
    return module.weight_u.numpy() @ matrix @ module.weight_v.numpy(), matrix


def test_state_dict_keys_and_shapes_as_pytorch():
    layer = nn.utils.spectral_norm(nn.Linear(5, 3))
    assert list(layer.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    assert [p.shape for p in layer.parameters()] == [(3,), (3, 5)]
    assert layer.weight_u.shape == (3,) and layer.weight_v.shape == (5,)
    conv = nn.utils.spectral_norm(nn.Conv2d(2, 4, 3))
    assert conv.weight_u.shape == (4,) and conv.weight_v.shape == (2 * 3 * 3,)
    deconv = nn.utils.spectral_norm(nn.ConvTranspose2d(2, 4, 3))      # dim=1 by default
    assert deconv.weight_u.shape == (4,) and deconv.weight_v.shape == (2 * 3 * 3,)
    np.testing.assert_allclose(np.linalg.norm(layer.weight_u.numpy()), 1.0, rtol=1e-6)


@pytest.mark.parametrize("shape, dim", [((10, 20), 0), ((8, 3, 3, 3), 0), ((3, 8, 3, 3), 1)])
def test_200_power_iterations_find_the_largest_singular_value(device, shape, dim):
    module = nn.utils.spectral_norm(WeightOnly(shape, device), n_power_iterations=200,
                                    dim=dim)
    normalized = module()                      # training mode: runs the power iteration
    sigma, matrix = sigma_estimate(module, dim)
    np.testing.assert_allclose(sigma, top_singular_value(matrix), rtol=1e-4)
    normalized_matrix = np.moveaxis(normalized.numpy(), dim, 0).reshape(matrix.shape)
    assert abs(top_singular_value(normalized_matrix) - 1.0) < 1e-3


def test_one_iteration_per_step_tracks_sigma_during_training(device):
    layer = nn.utils.spectral_norm(nn.Linear(6, 4, device=device))
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 6))
    A *= 0.9 / top_singular_value(A)           # a target a 1-Lipschitz layer can reach
    x = mg.tensor(rng.standard_normal((32, 6)), device=device)
    target = x @ mg.tensor(A, device=device).T
    for step in range(60):
        loss = F.mse_loss(layer(x), target)
        sigma, matrix = sigma_estimate(layer)                # the sigma this step used
        if step >= 10:
            assert abs(sigma / top_singular_value(matrix) - 1) < 1e-3, step
        layer.zero_grad()
        loss.backward()
        with mg.no_grad():
            for p in layer.parameters():
                p.data -= 0.2 * p.grad.data
    assert loss.item() < 0.02
    assert abs(top_singular_value(layer.weight.numpy()) - 1.0) < 1e-3


def test_normalized_weight_gradcheck_with_u_v_fixed(device):
    W = make((4, 3, 2, 2), device, seed=1)
    u = make((3,), device, requires_grad=False, seed=2)
    v = make((4 * 2 * 2,), device, requires_grad=False, seed=3)

    def f(W):
        return normalized_weight(W, u, v, dim=1)

    assert mg.gradcheck(f, (W,))
    assert mg.gradgradcheck(f, (W,))


def test_gradient_flows_through_sigma():
    """dL/dW = (g - <g, W_sn> u v^T) / sigma (the formula in the module docstring)."""
    layer = nn.utils.spectral_norm(nn.Linear(5, 3).double())
    layer.eval()
    x = make((7, 5), requires_grad=False, seed=4)
    layer(x).sum().backward()
    u, v = layer.weight_u.numpy(), layer.weight_v.numpy()
    W = layer.weight_orig.numpy()
    sigma = u @ W @ v
    g = np.ones((7, 3)).T @ x.numpy()                 # dL/dW_sn
    expected = (g - (g * W / sigma).sum() * np.outer(u, v)) / sigma
    np.testing.assert_allclose(layer.weight_orig.grad.numpy(), expected, rtol=1e-10)


def test_eval_reuses_u_without_updating():
    layer = nn.utils.spectral_norm(nn.Linear(4, 4))
    x = mg.randn(2, 4)
    layer(x)
    u_trained = layer.weight_u.numpy().copy()
    layer(x)
    assert not np.array_equal(layer.weight_u.numpy(), u_trained)   # training: updated
    layer.eval()
    u_eval = layer.weight_u.numpy().copy()
    y1, y2 = layer(x), layer(x)
    np.testing.assert_array_equal(layer.weight_u.numpy(), u_eval)
    np.testing.assert_array_equal(y1.numpy(), y2.numpy())


def test_state_dict_round_trip_between_normalised_layers():
    mg.manual_seed(1)
    a = nn.utils.spectral_norm(nn.Linear(4, 3))
    a(mg.randn(2, 4))
    b = nn.utils.spectral_norm(nn.Linear(4, 3))
    b.load_state_dict(a.state_dict())
    a.eval(), b.eval()
    x = mg.randn(5, 4)
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


def test_remove_spectral_norm_bakes_the_weight():
    layer = nn.utils.spectral_norm(nn.Linear(4, 3), n_power_iterations=50)
    x = mg.randn(5, 4)
    layer(x)
    layer.eval()
    before = layer(x).numpy()
    nn.utils.remove_spectral_norm(layer)
    assert isinstance(layer.weight, nn.Parameter)
    assert sorted(layer.state_dict()) == ["bias", "weight"]
    assert not any(isinstance(h, SpectralNorm) for h in layer._forward_pre_hooks.values())
    np.testing.assert_allclose(layer(x).numpy(), before, rtol=1e-6)
    assert abs(top_singular_value(layer.weight.numpy()) - 1.0) < 1e-3
    with pytest.raises(ValueError, match="not found"):
        nn.utils.remove_spectral_norm(layer)


def test_errors():
    layer = nn.utils.spectral_norm(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="already spectrally normalised"):
        nn.utils.spectral_norm(layer)
    with pytest.raises(ValueError, match="no parameter 'kernel'"):
        nn.utils.spectral_norm(nn.Linear(2, 2), name="kernel")
    for count in (0, -1):          # as PyTorch: without an iteration sigma never moves
        with pytest.raises(ValueError, match="n_power_iterations must be positive"):
            nn.utils.spectral_norm(nn.Linear(2, 2), n_power_iterations=count)


@pytest.mark.skipif(not hasattr(F, "conv2d") or not hasattr(F, "conv_transpose2d"),
                    reason="F.conv2d / F.conv_transpose2d are not implemented yet "
                           "(minigrad/ops/conv.py)")
def test_spectrally_normalised_conv_layers_forward_and_backward():
    conv = nn.utils.spectral_norm(nn.Conv2d(2, 3, 3, padding=1))
    deconv = nn.utils.spectral_norm(nn.ConvTranspose2d(3, 2, 4, 2, 1))
    y = deconv(conv(mg.randn(2, 2, 4, 4)))
    assert y.shape == (2, 2, 8, 8)
    y.sum().backward()
    assert conv.weight_orig.grad.shape == (3, 2, 3, 3)
    assert deconv.weight_orig.grad.shape == (3, 2, 4, 4)
