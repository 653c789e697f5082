"""nn.utils.weight_norm / remove_weight_norm and parametrizations.weight_norm (Salimans &
Kingma 2016): W = g v / ||v||, proved by finite differences to second order, against its
definition, and against PyTorch step by step."""
import warnings

import numpy as np
import pytest
from conftest import make

import minigrad as mg
import minigrad.nn as nn
from minigrad.nn.utils import parametrize
from minigrad.nn.utils.parametrizations import weight_norm as wn_parametrization
from minigrad.nn.utils.weight_norm import norm_except_dim, weight_from


@pytest.mark.parametrize("v_shape, g_shape, dim", [
    ((3, 2, 4), (3, 1, 1), 0),                  # a Conv1d weight, one length per output
    ((2, 3, 4), (1, 3, 1), 1),                  # a ConvTranspose1d weight (in, out, K)
    ((1, 3), (), None),                         # one length for the whole tensor, 1 row
])
def test_weight_from_gradcheck_and_gradgradcheck(device, v_shape, g_shape, dim):
    g = make(g_shape, device, seed=1, low=0.5)
    v = make(v_shape, device, seed=2, low=0.1)
    assert mg.gradcheck(lambda g, v: weight_from(g, v, dim), [g, v])
    assert mg.gradgradcheck(lambda g, v: weight_from(g, v, dim), [g, v])


def test_weight_from_is_the_definition():
    v = np.random.default_rng(3).standard_normal((3, 2, 4))
    g = np.array([2.0, -1.0, 0.5]).reshape(3, 1, 1)
    expected = g * v / np.sqrt((v ** 2).sum(axis=(1, 2), keepdims=True))
    ours = weight_from(mg.tensor(g, dtype=mg.float64), mg.tensor(v, dtype=mg.float64), 0)
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-12)
    whole = norm_except_dim(mg.tensor(v, dtype=mg.float64), None)
    assert whole.shape == () and whole.item() == pytest.approx(np.linalg.norm(v), rel=1e-12)


LAYERS = [  # ours, PyTorch's name and arguments, input shape, dim
    (lambda: nn.Conv1d(3, 4, 3, padding=1, dtype=mg.float64), "Conv1d", (3, 4, 3),
     dict(padding=1), (2, 3, 7), 0),
    (lambda: nn.ConvTranspose1d(3, 4, 4, 2, 1, dtype=mg.float64), "ConvTranspose1d",
     (3, 4, 4, 2, 1), {}, (1, 3, 5), 1),
    (lambda: nn.Linear(5, 3, dtype=mg.float64), "Linear", (5, 3), {}, (2, 5), None),
]


@pytest.mark.parametrize("form", ["hook", "parametrization"])
@pytest.mark.parametrize("ours, name, args, kwargs, x_shape, dim", LAYERS)
def test_weight_norm_matches_pytorch(form, ours, name, args, kwargs, x_shape, dim):
    """The same state_dict keys and shapes; from PyTorch's state, three Adam steps give
    the same outputs and g, v."""
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, name)(*args, dtype=torch.float64, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                 # PyTorch deprecates the hook form
        if form == "hook":
            theirs, layer = (torch.nn.utils.weight_norm(theirs, dim=dim),
                             nn.utils.weight_norm(ours(), dim=dim))
        else:
            theirs, layer = (torch.nn.utils.parametrizations.weight_norm(theirs, dim=dim),
                             wn_parametrization(ours(), dim=dim))
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in layer.state_dict().items()} == {
        k: v.shape for k, v in state.items()}
    layer.load_state_dict({k: mg.tensor(v, dtype=mg.float64) for k, v in state.items()})
    x = np.random.default_rng(4).standard_normal(x_shape)
    opt_ours = mg.optim.Adam(layer.parameters(), lr=0.1)
    opt_theirs = torch.optim.Adam(theirs.parameters(), lr=0.1)
    for _ in range(3):
        y_ours, y_theirs = layer(mg.tensor(x, dtype=mg.float64)), theirs(torch.tensor(x))
        np.testing.assert_allclose(y_ours.numpy(), y_theirs.detach().numpy(), atol=1e-12)
        (y_ours ** 2).sum().backward()
        (y_theirs ** 2).sum().backward()
        opt_ours.step(), opt_theirs.step()
        opt_ours.zero_grad(), opt_theirs.zero_grad()
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(layer.state_dict()[key].numpy(), value.numpy(), atol=1e-12)


def test_weight_norm_starts_at_the_weight_and_removes():
    layer = nn.Conv1d(2, 3, 3)
    start = layer.weight.numpy().copy()
    nn.utils.weight_norm(layer)
    assert sorted(layer.state_dict()) == ["bias", "weight_g", "weight_v"]
    assert layer.weight_g.shape == (3, 1, 1)
    np.testing.assert_allclose(layer.weight.numpy(), start, rtol=1e-6)
    with mg.no_grad():
        layer.weight_g.mul_(2.0)                         # twice the length, same direction
    layer(mg.zeros(1, 2, 5))
    np.testing.assert_allclose(layer.weight.numpy(), 2 * start, rtol=1e-6)
    nn.utils.remove_weight_norm(layer)
    assert sorted(layer.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(layer.weight.numpy(), 2 * start, rtol=1e-6)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found in Conv1d"):
        nn.utils.remove_weight_norm(layer)
    nn.utils.weight_norm(layer)
    with pytest.raises(RuntimeError, match="already weight-normalised"):
        nn.utils.weight_norm(layer)
    with pytest.raises(ValueError, match="Conv1d has no parameter 'scale'"):
        nn.utils.weight_norm(layer, "scale")
    with pytest.raises(IndexError, match=r"dim 3 is out of range for a weight of shape"):
        nn.utils.weight_norm(nn.Linear(2, 2), dim=3)


def test_weight_norm_parametrization_has_two_originals():
    layer = wn_parametrization(nn.Linear(3, 2, dtype=mg.float64))
    chain = layer.parametrizations.weight
    assert chain.n_originals == 2 and chain.original0.shape == (2, 1)
    layer.weight = mg.tensor([[3.0, 4.0, 0.0], [0.0, 0.0, 2.0]], dtype=mg.float64)
    np.testing.assert_allclose(chain.original0.numpy(), [[5.0], [2.0]])   # the lengths
    np.testing.assert_allclose(layer.weight.numpy(), [[3, 4, 0], [0, 0, 2]])
    with pytest.raises(ValueError, match="computed from 2 tensors"):
        parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)
    parametrize.remove_parametrizations(layer, "weight")
    assert type(layer) is nn.Linear
    np.testing.assert_allclose(layer.weight.numpy(), [[3, 4, 0], [0, 0, 2]])
