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


def _divided_by_sigma(weight, u, v, dim):
    """W / (u^T W_mat v) in numpy, W_mat the weight with axis `dim` first, flattened."""
    matrix = np.moveaxis(weight, dim, 0).reshape(weight.shape[dim], -1)
    return weight / (u @ matrix @ v)


def test_spectrally_normalised_conv_layers_forward_and_backward(device):
    """Conv2d (dim 0) then ConvTranspose2d (dim 1, stride 2), float64. In training the
    forward updates u, v (a power iteration) and computes F.conv2d and F.conv_transpose2d
    of W / sigma with them (W / sigma computed here in numpy); eval mode then reuses them:
    the same output and gradients, and those gradients w.r.t. x and both weight_orig hold
    to second order (gradcheck needs eval: in training each call moves u and v)."""
    mg.manual_seed(1)
    conv = nn.utils.spectral_norm(nn.Conv2d(2, 3, 3, padding=1, device=device,
                                            dtype=mg.float64))
    deconv = nn.utils.spectral_norm(nn.ConvTranspose2d(3, 2, 4, 2, 1, device=device,
                                                       dtype=mg.float64))
    u_before = conv.weight_u.numpy().copy()
    x = make((2, 2, 4, 4), device, seed=30)
    inputs = (x, conv.weight_orig, deconv.weight_orig)
    y = deconv(conv(x))
    assert y.shape == (2, 2, 8, 8)
    assert not np.array_equal(conv.weight_u.numpy(), u_before)          # power iteration
    w1, w2 = (_divided_by_sigma(layer.weight_orig.numpy(), layer.weight_u.numpy(),
                                layer.weight_v.numpy(), dim)
              for layer, dim in ((conv, 0), (deconv, 1)))
    on = lambda a: mg.tensor(a, dtype=mg.float64, device=device)   # noqa: E731
    expected = F.conv_transpose2d(F.conv2d(x, on(w1), conv.bias, padding=1), on(w2),
                                  deconv.bias, stride=2, padding=1)
    np.testing.assert_allclose(y.numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)
    trained = mg.grad(y.sum(), inputs)
    assert [tuple(g.shape) for g in trained[1:]] == [(3, 2, 3, 3), (3, 2, 4, 4)]
    conv.eval()
    deconv.eval()

    def f(x, weight_1, weight_2):          # the layers' own weight_orig, perturbed in place
        return deconv(conv(x))

    y_eval = f(*inputs)
    np.testing.assert_allclose(y_eval.numpy(), y.numpy(), rtol=1e-15, atol=0)
    for g_train, g_eval in zip(trained, mg.grad(y_eval.sum(), inputs)):
        np.testing.assert_allclose(g_train.numpy(), g_eval.numpy(), rtol=1e-15, atol=0)
    assert mg.gradcheck(f, inputs)
    assert mg.gradgradcheck(f, inputs)


# ------------------------------------------------- the parametrization form (PyTorch's newer)

from minigrad.nn.utils import parametrize  # noqa: E402
from minigrad.nn.utils.parametrizations import spectral_norm as sn_parametrization  # noqa: E402

SN_LAYERS = [  # our layer, PyTorch's name and arguments, input shape
    (lambda: nn.Conv2d(3, 4, 3, padding=1, dtype=mg.float64), "Conv2d", (3, 4, 3),
     dict(padding=1), (2, 3, 5, 5)),
    (lambda: nn.ConvTranspose2d(3, 4, 4, 2, 1, dtype=mg.float64), "ConvTranspose2d",
     (3, 4, 4, 2, 1), {}, (1, 3, 3, 3)),                   # dim 1, batch 1
    (lambda: nn.Linear(5, 3, dtype=mg.float64), "Linear", (5, 3), {}, (2, 5)),
]


@pytest.mark.parametrize("ours, name, args, kwargs, x_shape", SN_LAYERS)
def test_parametrized_spectral_norm_matches_pytorch(ours, name, args, kwargs, x_shape):
    """The same state_dict keys; from PyTorch's state, three SGD steps give the same
    outputs, gradients and u, v; eval mode reuses u and v."""
    torch = pytest.importorskip("torch")
    theirs = torch.nn.utils.parametrizations.spectral_norm(
        getattr(torch.nn, name)(*args, dtype=torch.float64, **kwargs))
    layer = sn_parametrization(ours())
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert sorted(layer.state_dict()) == sorted(state)
    layer.load_state_dict({k: mg.tensor(v, dtype=mg.float64) for k, v in state.items()})
    x = np.random.default_rng(8).standard_normal(x_shape)
    opt_ours = mg.optim.SGD(layer.parameters(), lr=0.1)
    opt_theirs = torch.optim.SGD(theirs.parameters(), lr=0.1)
    for _ in range(3):
        y_ours, y_theirs = layer(mg.tensor(x, dtype=mg.float64)), theirs(torch.tensor(x))
        np.testing.assert_allclose(y_ours.numpy(), y_theirs.detach().numpy(), atol=1e-12)
        (y_ours ** 2).sum().backward()
        (y_theirs ** 2).sum().backward()
        np.testing.assert_allclose(layer.parametrizations.weight.original.grad.numpy(),
                                   theirs.parametrizations.weight.original.grad.numpy(),
                                   atol=1e-10)
        opt_ours.step(), opt_theirs.step()
        opt_ours.zero_grad(), opt_theirs.zero_grad()
    for buffer in ("_u", "_v"):
        np.testing.assert_allclose(getattr(layer.parametrizations.weight[0], buffer).numpy(),
                                   getattr(theirs.parametrizations.weight[0], buffer).numpy(),
                                   atol=1e-12)
    layer.eval(), theirs.eval()
    u = layer.parametrizations.weight[0]._u.numpy().copy()
    np.testing.assert_allclose(layer(mg.tensor(x, dtype=mg.float64)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), atol=1e-12)
    np.testing.assert_array_equal(layer.parametrizations.weight[0]._u.numpy(), u)


def test_parametrized_spectral_norm_sigma_and_gradcheck(device):
    """After its 15 starting rounds W / sigma has top singular value ~1; in eval mode (u, v
    fixed) the layer passes gradcheck and gradgradcheck w.r.t. x and the original weight,
    so WGAN-GP and R1 work through it; a 1-D weight is scaled to unit length."""
    layer = sn_parametrization(nn.Conv2d(2, 3, 3, stride=2, padding=1, dtype=mg.float64)
                               .to(device))
    for _ in range(20):                                      # training mode: 20 more rounds
        layer.weight
    assert top_singular_value(layer.weight.numpy().reshape(3, -1)) == pytest.approx(1, 1e-6)
    layer.eval()
    x = make((1, 2, 5, 5), device, seed=9)
    original = layer.parametrizations.weight.original
    assert mg.gradcheck(lambda x, w: layer(x), [x, original])
    assert mg.gradgradcheck(lambda x, w: layer(x), [x, original])
    vector = sn_parametrization(nn.Linear(2, 2, dtype=mg.float64).to(device), name="bias")
    np.testing.assert_allclose(np.linalg.norm(vector.bias.numpy()), 1.0, rtol=1e-12)


class Doubled(nn.Module):
    def forward(self, w):
        return w * 2

    def right_inverse(self, w):
        return w / 2


def test_register_parametrization_chains_sets_and_removes():
    layer = nn.Linear(3, 2, dtype=mg.float64)
    start = layer.weight.numpy().copy()
    parametrize.register_parametrization(layer, "weight", Doubled())
    np.testing.assert_allclose(layer.weight.numpy(), start, rtol=1e-15)   # right_inverse: W
    parametrize.register_parametrization(layer, "weight", Doubled())      # chained on top,
    np.testing.assert_allclose(layer.weight.numpy(), 2 * start)           # as PyTorch
    np.testing.assert_allclose(layer.parametrizations.weight.original.numpy(), start / 2)
    assert type(layer).__name__ == "ParametrizedLinear" and isinstance(layer, nn.Linear)
    assert "weight" not in dict(layer.named_parameters())
    layer(mg.ones(1, 3, dtype=mg.float64)).sum().backward()                # d/d original: 4
    np.testing.assert_allclose(layer.parametrizations.weight.original.grad.numpy(),
                               np.full((2, 3), 4.0))
    layer.weight = mg.ones(2, 3, dtype=mg.float64)                        # right_inverse
    np.testing.assert_allclose(layer.parametrizations.weight.original.numpy(), 0.25)
    other = nn.Linear(3, 2)                                 # another instance: untouched
    parametrize.register_parametrization(other, "bias", Doubled())
    assert isinstance(layer.bias, nn.Parameter) and not parametrize.is_parametrized(layer,
                                                                                    "bias")
    parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)
    assert type(layer) is nn.Linear and isinstance(layer.weight, nn.Parameter)
    np.testing.assert_allclose(layer.weight.numpy(), 0.25)
    parametrize.remove_parametrizations(other, "bias")
    assert type(other) is nn.Linear and sorted(other.state_dict()) == ["bias", "weight"]


def test_register_parametrization_errors():
    layer = nn.Linear(3, 2)

    class Flatten(nn.Module):
        def forward(self, w):
            return w.reshape(-1)

    with pytest.raises(ValueError, match=r"changed weight's shape \(2, 3\) into \(6,\)"):
        parametrize.register_parametrization(layer, "weight", Flatten())
    assert type(layer) is nn.Linear and isinstance(layer.weight, nn.Parameter)   # undone
    with pytest.raises(TypeError, match="must be an nn.Module, got function"):
        parametrize.register_parametrization(layer, "weight", lambda w: w)
    with pytest.raises(ValueError, match="Linear has no parameter 'scale'"):
        parametrize.register_parametrization(layer, "scale", Doubled())
    with pytest.raises(ValueError, match="no parametrization on 'weight'"):
        parametrize.remove_parametrizations(layer, "weight")
    parametrize.register_parametrization(layer, "weight", nn.Identity())
    with pytest.raises(RuntimeError, match="Identity has no right_inverse"):
        layer.weight = mg.zeros(2, 3)
    with pytest.raises(ValueError, match=r"changed weight's shape \(2, 3\) into \(6,\)"):
        parametrize.register_parametrization(layer, "weight", Flatten())     # chained
    assert len(layer.parametrizations.weight) == 1 and layer.weight.shape == (2, 3)


def test_a_parametrization_that_fails_leaves_the_module_as_it_was():
    """Its own error, raised before the module changes (PyTorch's too); later, a failing
    read names the parametrization instead of Python's "no attribute 'weight'"."""
    class Broken(nn.Module):
        def forward(self, w):
            return w.no_such_method()

    layer = nn.Linear(2, 2)
    start = layer.weight.numpy().copy()
    with pytest.raises(AttributeError, match="no_such_method"):
        parametrize.register_parametrization(layer, "weight", Broken())
    assert type(layer) is nn.Linear and sorted(layer.state_dict()) == ["bias", "weight"]
    np.testing.assert_array_equal(layer.weight.numpy(), start)
    parametrize.register_parametrization(layer, "weight", nn.Identity())
    with pytest.raises(AttributeError, match="no_such_method"):
        parametrize.register_parametrization(layer, "weight", Broken())    # chained
    assert len(layer.parametrizations.weight) == 1
    layer.parametrizations.weight.append(Broken())          # broken after registration
    with pytest.raises(RuntimeError, match=r"computing ParametrizedLinear.weight from its "
                                           r"parametrizations: AttributeError: .*no_such"):
        layer.weight


def test_spectral_norm_twice_stacks_as_pytorch():
    torch = pytest.importorskip("torch")
    sn = torch.nn.utils.parametrizations.spectral_norm
    theirs = sn(sn(torch.nn.Linear(3, 2, dtype=torch.float64)))
    layer = sn_parametrization(sn_parametrization(nn.Linear(3, 2, dtype=mg.float64)))
    assert sorted(layer.state_dict()) == sorted(theirs.state_dict())
    layer.load_state_dict({k: mg.tensor(v.detach().numpy(), dtype=mg.float64)
                           for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(10).standard_normal((2, 3))
    np.testing.assert_allclose(layer(mg.tensor(x, dtype=mg.float64)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="weight norm, computed from two tensors, must come"):
        nn.utils.parametrizations.weight_norm(layer)
