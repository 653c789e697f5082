"""The ops beyond API.md's list that PyTorch code reaches for (norm, repeat, gather, gelu,
group_norm, ...), proved like the rest: gradcheck and gradgradcheck in float64 on both
devices, values against numpy formulas here, and against PyTorch when it is installed.
"""
import math
import re

import numpy as np
import pytest
from conftest import make

import minigrad as mg
import minigrad.nn.functional as F


def normal(*shape, low=None):
    return lambda device, seed: make(shape, device, seed=seed, low=low)


def fixed(values):
    return lambda device, seed: mg.tensor(values, dtype=mg.float64, device=device,
                                          requires_grad=True)


def positive(*shape):
    """Values in [0.5, 2.5): variances."""
    def make_positive(device, seed):
        values = np.random.default_rng(seed).uniform(0.5, 2.5, shape)
        return mg.tensor(values, dtype=mg.float64, device=device, requires_grad=True)
    return make_positive


def probabilities(*shape):
    """Rows that sum to 1 (no gradient): KL targets."""
    def make_rows(device, seed):
        rows = np.random.default_rng(seed).dirichlet(np.ones(shape[-1]), shape[:-1])
        return mg.tensor(rows, dtype=mg.float64, device=device)
    return make_rows


def labels_like(shape, high):
    return lambda device, seed: mg.tensor(
        np.random.default_rng(seed).integers(0, high, shape), device=device)


def case(id, fn, *makers):
    return pytest.param(fn, makers, id=id)


CASES = [
    # norms: the WGAN-GP penalty's grad.norm(2, dim=1), and the others
    case("norm-2-dim1", lambda x: x.norm(2, dim=1), normal(3, 4)),
    case("norm-fro-all", lambda x: mg.norm(x), normal(2, 3)),
    case("norm-1-keepdim", lambda x: x.norm(1, dim=0, keepdim=True), normal(3, 2, low=0.1)),
    case("norm-inf", lambda x: x.norm(math.inf, dim=1), normal(2, 4)),
    case("norm-3", lambda x: x.norm(3, dim=(0, 1)), normal(2, 3, low=0.1)),
    case("norm-1.5-keepdim", lambda x: x.norm(1.5, dim=1, keepdim=True), normal(2, 3, low=0.1)),
    case("norm-batch1", lambda x: x.flatten(1).norm(2, dim=1), normal(1, 2, 2)),
    case("normalize", lambda x: F.normalize(x, dim=1), normal(3, 4)),
    case("amax-two-dims", lambda x: x.amax((0, 2)), normal(2, 3, 2)),
    case("amin-all", lambda x: x.amin(), normal(2, 3)),
    case("logsumexp", lambda x: x.logsumexp(1), normal(3, 4)),
    case("logsumexp-keepdim", lambda x: mg.logsumexp(x, (0, 2), keepdim=True), normal(2, 3, 2)),
    # pointwise
    case("sin", lambda x: x.sin(), normal(2, 3)),
    case("cos", lambda x: mg.cos(x), normal(2, 3)),
    case("log1p", lambda x: x.abs().log1p(), normal(2, 3, low=0.1)),
    case("expm1", lambda x: x.expm1(), normal(2, 3)),
    case("erf", lambda x: x.erf(), normal(2, 3)),
    case("silu", lambda x: F.silu(x), normal(2, 3)),
    case("elu", lambda x: F.elu(x, 0.7), normal(2, 3, low=0.1)),
    case("gelu", lambda x: F.gelu(x), normal(2, 3)),
    case("gelu-tanh", lambda x: F.gelu(x, approximate="tanh"), normal(2, 3)),
    case("logsigmoid", lambda x: F.logsigmoid(x), fixed([-40.0, -1.0, 0.0, 2.0, 40.0])),
    case("logsigmoid-far", lambda x: F.logsigmoid(x), fixed([-1e4, -20.5, 20.5, 1e4])),
    case("expm1-far-negative", lambda x: x.expm1(), fixed([-40.0, -18.0, -1.0, 0.5])),
    case("hardtanh", lambda x: F.hardtanh(x, -0.5, 0.7), normal(2, 3, low=0.1)),
    case("relu6", lambda x: F.relu6(x * 4.0), normal(2, 3, low=0.1)),
    case("round-floor-sign-zero-gradient",
         lambda x: x.round() + x.floor() + x.ceil() + x.sign() + x.trunc() + x,
         fixed([0.3, -1.7, 2.2, 0.6])),                   # off the jumps: slope 1 (the x)
    case("div-rounding-modes-zero-gradient",                # RoundedDivide: dy/da = dy/db = 0
         lambda a, b: a.div(b, rounding_mode="floor") + a.div(b, rounding_mode="trunc") + a,
         fixed([2.3, -1.7, 5.4]), fixed([0.7, 0.9, -1.3])),
    # broadcast (2, 3) by (3,): each zero gradient has its own input's shape (b's is (3,))
    case("div-rounding-modes-broadcast",
         lambda a, b: a.div(b, rounding_mode="floor") + a.div(b, rounding_mode="trunc") + a * b,
         fixed([[2.3, -1.7, 5.4], [0.4, 3.2, -2.9]]), fixed([0.7, 0.9, -1.3])),
    case("square-rsqrt-reciprocal", lambda x: x.square() + x.rsqrt() + x.reciprocal(),
         fixed([0.5, 1.5, 2.0])),
    case("masked_fill", lambda x: x.masked_fill(x.detach() > 0, 0.5), normal(2, 3)),
    # shapes and indexing
    case("repeat", lambda x: x.repeat(2, 1, 3), normal(2, 3)),
    case("repeat-batch1", lambda x: x.repeat(3, 1), normal(1, 2)),
    case("flip", lambda x: x.flip((0, 2)), normal(2, 3, 2)),
    case("unbind", lambda x: x.unbind(1)[2] * 2.0 + x.unbind(1)[0], normal(2, 3)),
    case("gather-repeats", lambda x: x.gather(1, mg.tensor([[0, 0, 3], [1, 2, 1]],
                                                          device=x.device)), normal(2, 4)),
    case("gather-dim0-smaller-index", lambda x: mg.gather(x, 0, mg.tensor(
        [[2, 0]], device=x.device)), normal(3, 3)),
    case("pixel_shuffle", lambda x: F.pixel_shuffle(x, 2), normal(1, 8, 2, 3)),
    case("pixel_unshuffle", lambda x: F.pixel_unshuffle(x, 2), normal(2, 1, 4, 2)),
    # group norm: statistics per sample and group of channels
    case("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), normal(2, 4, 2, 2),
         normal(4), normal(4)),
    case("group_norm-batch1-1d", lambda x: F.group_norm(x, 3), normal(1, 6, 3)),
    # losses
    case("smooth_l1", lambda x, t: F.smooth_l1_loss(x, t, beta=0.5), normal(2, 3),
         normal(2, 3)),
    case("huber-sum", lambda x, t: F.huber_loss(x, t, reduction="sum", delta=0.7),
         normal(2, 3), normal(2, 3)),
    case("smooth_l1-both-branches", lambda x: F.smooth_l1_loss(x, x.detach() * 0.0,
                                                               reduction="sum", beta=0.5),
         fixed([-2.0, -0.3, 0.2, 0.45, 1.5])),
    case("huber-both-branches", lambda x: F.huber_loss(x, x.detach() * 0.0, reduction="none",
                                                       delta=0.5),
         fixed([-2.0, -0.3, 0.2, 0.45, 1.5])),
    case("kl_div-batchmean", lambda q: F.kl_div(F.log_softmax(q, 1), mg.tensor(
        [[0.2, 0.8, 0.0], [0.5, 0.25, 0.25]], dtype=mg.float64, device=q.device),
        reduction="batchmean"), normal(2, 3)),
    case("kl_div-log-target", lambda q, t: F.kl_div(q, t, reduction="sum", log_target=True),
         normal(2, 3), normal(2, 3)),
    # gaussian_nll_loss: a variance per element, per row, with a dim of 1, and one number
    case("gaussian_nll-per-element", lambda x, t, v: F.gaussian_nll_loss(x, t, v),
         normal(3, 4), normal(3, 4), positive(3, 4)),
    case("gaussian_nll-per-row-full-sum",
         lambda x, t, v: F.gaussian_nll_loss(x, t, v, full=True, reduction="sum"),
         normal(3, 4), normal(3, 4), positive(3)),
    case("gaussian_nll-broadcast-dim", lambda x, t, v: F.gaussian_nll_loss(
        x, t, v, reduction="none"), normal(2, 3, 4), normal(2, 3, 4), positive(2, 1, 4)),
    case("gaussian_nll-number-batch1", lambda x, t: F.gaussian_nll_loss(x, t, 0.7),
         normal(1, 3), normal(1, 3)),
    # einsum: a matmul, attention scores, a letter only one operand has (broadcast back),
    # the implicit output, '...', three operands, batch 1
    case("einsum-matmul", lambda a, b: mg.einsum("ij,jk->ik", a, b), normal(2, 3),
         normal(3, 4)),
    case("einsum-attention-batch1", lambda q, k: mg.einsum("bhnd,bhmd->bhnm", q, k),
         normal(1, 2, 3, 4), normal(1, 2, 2, 4)),
    case("einsum-summed-letter", lambda a: mg.einsum("ij->j", a), normal(2, 3)),
    case("einsum-implicit-outer", lambda a, b: mg.einsum("j,i", a, b), normal(3), normal(2)),
    case("einsum-ellipsis", lambda a, b: mg.einsum("...ij,...jk->...ik", a, b),
         normal(2, 3, 2), normal(2, 4)),
    case("einsum-three-and-square", lambda a, b, c: mg.einsum("ij,jk,ik->i", a, b, c * c),
         normal(2, 3), normal(3, 2), normal(2, 2)),
]


@pytest.mark.parametrize("fn, makers", CASES)
def test_gradcheck_and_gradgradcheck(fn, makers, device):
    inputs = [make_input(device, seed) for seed, make_input in enumerate(makers)]
    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


def test_values_against_numpy(device):
    x_np = np.array([[3.0, -4.0, 0.0], [0.0, 0.0, 0.0]])
    x = mg.tensor(x_np, dtype=mg.float64, device=device, requires_grad=True)
    np.testing.assert_allclose(x.norm(2, dim=1).numpy(), [5.0, 0.0])
    np.testing.assert_allclose(x.norm(1).item(), 7.0)
    np.testing.assert_allclose(x.norm(math.inf).item(), 4.0)
    x.norm(2, dim=1).sum().backward()                 # an all-zero row: 0, not nan
    np.testing.assert_allclose(x.grad.numpy(), [[0.6, -0.8, 0.0], [0.0, 0.0, 0.0]])
    x.grad = None
    y = mg.tensor([[1.0, -4.0, 0.0]], dtype=mg.float64, device=device, requires_grad=True)
    with np.errstate(divide="ignore"):                # |0|^(p-1) = inf, masked to 0
        y.norm(0.5, dim=1).sum().backward()           # p < 1: 0 at a zero element, as torch
    np.testing.assert_allclose(y.grad.numpy(), [[3.0, -1.5, 0.0]])
    x.norm(3, dim=1).sum().backward()                 # p = 3 too: x|x| / norm^2, 0 at zeros
    np.testing.assert_allclose(x.grad.numpy(), [[9.0, -16.0, 0.0], [0.0, 0.0, 0.0]]
                               / np.cbrt(91.0) ** 2)
    np.testing.assert_allclose(F.normalize(x, dim=1).numpy(), [[0.6, -0.8, 0.0], [0, 0, 0]])
    tied = mg.tensor([[1.0, 3.0, 3.0]], dtype=mg.float64, device=device, requires_grad=True)
    tied.amax(1).sum().backward()                     # tied winners share, as PyTorch's amax
    np.testing.assert_array_equal(tied.grad.numpy(), [[0.0, 0.5, 0.5]])
    y = mg.tensor([[1.0, 2.0], [-np.inf, -np.inf]], dtype=mg.float64, device=device)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(y.logsumexp(1).numpy(), [np.log(np.e + np.e ** 2), -np.inf])
    z = mg.tensor([-1.5, -0.5, 0.5, 1.5, 2.5], device=device)
    np.testing.assert_array_equal(z.round().numpy(), [-2.0, -0.0, 0.0, 2.0, 2.0])  # to even
    np.testing.assert_array_equal(z.floor().numpy(), [-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(z.sign().numpy(), [-1.0, -1.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(mg.tensor([1.234, -5.678], device=device).round(2).numpy(),
                               [1.23, -5.68], rtol=1e-6)
    np.testing.assert_array_equal(mg.tensor([-3, 0, 2], device=device).sign().numpy(),
                                  [-1, 0, 1])
    a = mg.tensor([[1, 2, 3], [4, 5, 6]], device=device)
    np.testing.assert_array_equal(a.repeat(2, 2).numpy(), np.tile(a.numpy(), (2, 2)))
    np.testing.assert_array_equal(a.flip(1).numpy(), [[3, 2, 1], [6, 5, 4]])
    np.testing.assert_array_equal(
        a.gather(1, mg.tensor([[2, 0], [1, 1]], device=device)).numpy(), [[3, 1], [5, 5]])
    np.testing.assert_array_equal(F.one_hot(mg.tensor([0, 2, 1], device=device)).numpy(),
                                  np.eye(3, dtype=np.int64)[[0, 2, 1]])
    assert F.one_hot(mg.tensor([[1]], device=device), 4).shape == (1, 1, 4)
    np.testing.assert_array_equal(mg.linspace(0, 1, 5, device=device).numpy(),
                                  [0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_array_equal(mg.eye(2, 3, device=device).numpy(), np.eye(2, 3))
    assert sorted(mg.randperm(6, device=device).numpy().tolist()) == list(range(6))
    shuffled = F.pixel_shuffle(mg.arange(8.0, device=device).reshape(1, 4, 1, 2), 2)
    np.testing.assert_array_equal(shuffled.numpy()[0, 0], [[0, 2, 1, 3], [4, 6, 5, 7]])
    np.testing.assert_array_equal(F.pixel_unshuffle(shuffled, 2).numpy().ravel(), np.arange(8))


def test_activations_against_their_formulas(device):
    x_np = np.linspace(-3.0, 3.0, 13)
    x = mg.tensor(x_np, dtype=mg.float64, device=device)
    sigmoid = 1 / (1 + np.exp(-x_np))
    erf = np.vectorize(math.erf)
    np.testing.assert_allclose(F.silu(x).numpy(), x_np * sigmoid, rtol=1e-12)
    np.testing.assert_allclose(F.elu(x).numpy(), np.where(x_np > 0, x_np, np.expm1(x_np)))
    np.testing.assert_allclose(F.gelu(x).numpy(), x_np * (1 + erf(x_np / np.sqrt(2))) / 2,
                               rtol=1e-12, atol=1e-15)
    tanh_form = 0.5 * x_np * (1 + np.tanh(np.sqrt(2 / np.pi) * (x_np + 0.044715 * x_np**3)))
    np.testing.assert_allclose(F.gelu(x, approximate="tanh").numpy(), tanh_form, rtol=1e-12)
    np.testing.assert_allclose(F.logsigmoid(x).numpy(), np.log(sigmoid), rtol=1e-12)
    np.testing.assert_allclose(x.erf().numpy(), erf(x_np), rtol=1e-12, atol=1e-15)
    edges = mg.tensor([-1.0, 0.0, 1.0, 6.0], dtype=mg.float64, device=device,
                      requires_grad=True)
    F.relu6(edges).sum().backward()                   # at the bounds: 0, as PyTorch
    np.testing.assert_array_equal(edges.grad.numpy(), [0.0, 0.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="gelu: approximate must be"):
        F.gelu(x, approximate="fast")


def test_losses_against_their_formulas(device):
    x_np, t_np = np.array([0.0, 0.3, 2.0, -1.5]), np.array([0.5, 0.0, 0.0, 0.0])
    x = mg.tensor(x_np, dtype=mg.float64, device=device)
    t = mg.tensor(t_np, dtype=mg.float64, device=device)
    d = np.abs(x_np - t_np)                            # 0.5, 0.3, 2.0, 1.5
    np.testing.assert_allclose(F.smooth_l1_loss(x, t, reduction="none").numpy(),
                               np.where(d < 1, 0.5 * d**2, d - 0.5))
    np.testing.assert_allclose(F.huber_loss(x, t, reduction="none", delta=0.4).numpy(),
                               np.where(d < 0.4, 0.5 * d**2, 0.4 * (d - 0.2)))
    p = np.array([[0.5, 0.5, 0.0]])
    log_q = np.log(np.array([[0.25, 0.25, 0.5]]))
    kl = F.kl_div(mg.tensor(log_q, dtype=mg.float64, device=device),
                  mg.tensor(p, dtype=mg.float64, device=device), reduction="batchmean")
    np.testing.assert_allclose(kl.item(), 0.5 * np.log(2) * 2, rtol=1e-12)   # 0 log 0 = 0
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(mg.tensor(log_q, device=device), mg.tensor(p, device=device))


def test_group_norm_is_layer_norm_and_instance_norm_at_its_extremes(device):
    x = make((2, 4, 3, 3), device, seed=5)
    np.testing.assert_allclose(F.group_norm(x, 1).numpy(),
                               F.layer_norm(x, (4, 3, 3)).numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(F.group_norm(x, 4).numpy(), F.instance_norm(x).numpy(),
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="4 channels .* cannot be split into 3 groups"):
        F.group_norm(x, 3)
    with pytest.raises(ValueError, match=r"group_norm: weight should have shape \(4,\)"):
        F.group_norm(x, 2, mg.ones(3, device=device))


def test_tensor_methods_pytorch_code_uses(device):
    x = make((2, 3), device, seed=6)
    assert x.new_zeros(2, 2).dtype == x.dtype and x.new_ones((1,)).device == x.device
    assert x.new_full((2,), 3.0).numpy().tolist() == [3.0, 3.0]
    assert mg.tensor([1, 2], device=device).type_as(x).dtype == mg.float64
    assert x.view_as(mg.zeros(3, 2)).shape == (3, 2) and x.t().shape == (3, 2)
    np.testing.assert_allclose(x.mm(x.t()).numpy(), x.numpy() @ x.numpy().T)
    np.testing.assert_allclose(x.add(x, alpha=2).numpy(), 3 * x.numpy())
    np.testing.assert_allclose(x.sub(x, alpha=0.5).numpy(), 0.5 * x.numpy())
    ints = mg.tensor([7, -7], device=device)
    np.testing.assert_array_equal(ints.div(2, rounding_mode="trunc").numpy(), [3, -3])
    np.testing.assert_array_equal(ints.div(2, rounding_mode="floor").numpy(), [3, -4])
    assert ints.div(2, rounding_mode="trunc").dtype == mg.int64
    nan = mg.tensor([1.0, np.nan], device=device)
    assert nan.isnan().any().item() and not nan.isfinite().all().item()
    assert x.softmax(1).sum(1).numpy() == pytest.approx([1.0, 1.0])
    with pytest.raises(ValueError, match="mm: both operands must be 2-D"):
        x.mm(mg.zeros(3, device=device))
    with pytest.raises(ValueError, match="repeat: 1 sizes"):
        x.repeat(2)
    with pytest.raises(IndexError, match=r"gather: index values must be in \[0, 3\)"):
        x.gather(1, mg.tensor([[3]], device=device))


def test_the_extras_match_pytorch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = np.random.default_rng(7)
    x_np = rng.standard_normal((2, 4, 3, 3))
    pairs = {
        "norm": (lambda x: x.norm(2, dim=1), lambda x: x.norm(2, dim=1)),
        "normalize": (lambda x: F.normalize(x, dim=2), lambda x: tf.normalize(x, dim=2)),
        "logsumexp": (lambda x: x.logsumexp(1), lambda x: x.logsumexp(1)),
        "amax": (lambda x: x.amax((1, 3)), lambda x: x.amax((1, 3))),
        "gelu": (F.gelu, tf.gelu),
        "silu": (F.silu, tf.silu),
        "elu": (F.elu, tf.elu),
        "repeat": (lambda x: x.repeat(1, 2, 1, 1, 2), lambda x: x.repeat(1, 2, 1, 1, 2)),
        "group_norm": (lambda x: F.group_norm(x, 2), lambda x: tf.group_norm(x, 2)),
        "pixel_shuffle": (lambda x: F.pixel_shuffle(x, 2), lambda x: tf.pixel_shuffle(x, 2)),
        "smooth_l1": (lambda x: F.smooth_l1_loss(x, x * 0.3, beta=0.5),
                      lambda x: tf.smooth_l1_loss(x, x * 0.3, beta=0.5)),
    }
    for name, (ours, theirs) in pairs.items():
        x = mg.tensor(x_np, dtype=mg.float64, requires_grad=True)
        t = torch.tensor(x_np, requires_grad=True)
        y, y_torch = ours(x), theirs(t)
        np.testing.assert_allclose(y.numpy(), y_torch.detach().numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)
        (y * y).sum().backward()
        (y_torch * y_torch).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)


def test_comparing_with_none_is_a_question_about_the_tensor(device):
    t = mg.tensor([1, 2], device=device)
    assert (t == None) is False and (t != None) is True      # noqa: E711 (PyTorch's answer)
    np.testing.assert_array_equal((t == 1).numpy(), [True, False])


def test_review_fixes_rounded_division_rounding_copies_and_masked_fill(device):
    """From a review against PyTorch: each line failed before its fix."""
    big = mg.tensor([100000001, -7, 7], device=device)
    np.testing.assert_array_equal(big.div(3, rounding_mode="trunc").numpy(),
                                  [33333333, -2, 2])          # integer arithmetic, not float32
    np.testing.assert_array_equal(big.div(3, rounding_mode="floor").numpy(),
                                  [33333333, -3, 2])
    assert mg.tensor([7], dtype=mg.int32, device=device).div(
        mg.tensor([2], device=device), rounding_mode="trunc").dtype == mg.int64   # promoted
    with pytest.raises(ZeroDivisionError, match="div: integer division by zero"):
        big.div(0, rounding_mode="trunc")
    np.testing.assert_array_equal(mg.tensor([1.0], device=device).div(
        0.1, rounding_mode="trunc").numpy(), [10.0])          # the true quotient, truncated
    x = mg.tensor([5.5, -3.2], dtype=mg.float64, device=device, requires_grad=True)
    x.div(2.0, rounding_mode="floor").sum().backward()        # 0, where // refuses
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])
    ints = mg.tensor([1, 2], device=device)
    copy = ints.floor()
    copy += 10
    np.testing.assert_array_equal(ints.numpy(), [1, 2])       # a new tensor, not ints itself
    filled = ints.masked_fill(mg.tensor([True, False], device=device), 1.5)
    assert filled.dtype == mg.int64 and filled.numpy().tolist() == [1, 2]
    floats = mg.zeros(2, device=device)
    wide = mg.tensor(2.0, dtype=mg.float64, device=device)
    assert floats.masked_fill(mg.tensor([True, False], device=device), wide).dtype == mg.float32
    with pytest.raises(TypeError, match="masked_fill: the mask must be a bool tensor"):
        floats.masked_fill(mg.tensor([1, 0], device=device), 0.0)
    np.testing.assert_array_equal(F.relu6(mg.tensor([-1, 3, 8], device=device)).numpy(),
                                  [0, 3, 6])                  # integers stay integers
    with pytest.raises(ValueError, match="hardtanh: min_val 2 must not be greater"):
        F.hardtanh(floats, 2, 1)


def test_review_fixes_empty_and_0d_inputs(device):
    assert F.group_norm(mg.zeros(0, 6, 2, 2, device=device), 3).shape == (0, 6, 2, 2)
    assert F.pixel_shuffle(mg.zeros(1, 4, 0, 3, device=device), 2).shape == (1, 1, 0, 6)
    assert mg.tensor(5.0, device=device).gather(0, mg.tensor(0, device=device)).item() == 5.0
    with pytest.raises(IndexError, match="argmin: cannot reduce over an empty dim"):
        mg.zeros(0, device=device).argmin()
    with pytest.raises(IndexError, match=r"cannot reduce over an empty dim .*\(0, 3\)"):
        mg.zeros(0, 3, device=device).amax(0)
    np.testing.assert_array_equal(mg.linspace(mg.tensor(0.0), mg.tensor(1.0), 3,
                                              device=device).numpy(), [0.0, 0.5, 1.0])
    assert mg.arange(mg.tensor(3), device=device).numpy().tolist() == [0, 1, 2]
    with np.errstate(invalid="ignore"):
        kl = F.kl_div(mg.zeros(2, device=device), mg.tensor([-0.5, 0.5], device=device),
                      reduction="none")
    assert np.isnan(kl.numpy()[0]) and not np.isnan(kl.numpy()[1])   # nan, as PyTorch


def test_elu_has_a_finite_gradient_for_a_large_input(device):
    """where's backward multiplies the unused branch by 0: e^x there must not be inf."""
    x = mg.tensor([-1.0, 0.5, 100.0], device=device, requires_grad=True)
    F.elu(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [np.exp(-1.0), 1.0, 1.0], rtol=1e-6)


def test_review_fixes_ties_tiny_and_far_values_and_infinite_differences(device):
    """From a review against PyTorch: each block failed before its fix."""
    def leaf(values, dtype=mg.float64):
        return mg.tensor(values, dtype=dtype, device=device, requires_grad=True)

    # maximum / minimum: a tie's gradient is split, half to each (PyTorch's); y is exact
    a, b = leaf([1.0, 3.0, 3.0]), leaf([3.0, 1.0, 3.0])
    mg.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 1.0, 0.5])
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 0.0, 0.5])
    a.grad = b.grad = None
    mg.minimum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 0.0, 0.5])
    np.testing.assert_array_equal(b.grad.numpy(), [0.0, 1.0, 0.5])
    x = leaf([0.0, 2.0, -1.0], mg.float32)
    mg.maximum(x, 0.0).sum().backward()                    # relu's kink, as max(x, 0)
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, 1.0, 0.0])
    assert mg.gradcheck(mg.maximum, [leaf([1.0, 3.0, 3.0]), leaf([3.0, 1.0, 3.0])])
    tiny = mg.tensor([5e-324, -5e-324], dtype=mg.float64, device=device)
    np.testing.assert_array_equal(mg.maximum(tiny, tiny).numpy(), [5e-324, -5e-324])

    # a / b: the divisor's gradient without b * b, which overflows or underflows float32
    a, b = leaf([1e-25, 1e20], mg.float32), leaf([1e-25, 1e20], mg.float32)
    (a / b).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), [-1e25, -1e-20], rtol=1e-6)
    np.testing.assert_allclose(a.grad.numpy(), [1e25, 1e-20], rtol=1e-6)

    # expm1 and elu: the slope e^x from x, not y + 1 (0 in float32 below -17.3)
    x = leaf([-18.0, -16.0, -1.0], mg.float32)
    F.elu(x, 0.5).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 0.5 * np.exp([-18.0, -16.0, -1.0]), rtol=1e-6)
    x = leaf([-40.0, -18.0])
    x.expm1().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([-40.0, -18.0]), rtol=1e-14)

    # logsigmoid: exact below -20 (no softplus threshold), first and second derivative
    x = leaf([-20.5, -40.0, -1e4, 1e4, 40.0])
    y = F.logsigmoid(x)
    e = np.exp(-np.abs(x.numpy()))
    np.testing.assert_allclose(y.numpy(), np.minimum(x.numpy(), 0) - np.log1p(e),
                               rtol=1e-15, atol=0)
    assert y.numpy()[0] == -20.500000001250154             # PyTorch's value
    (g,) = mg.grad(y.sum(), x, create_graph=True)
    s = np.exp(-np.logaddexp(0.0, x.numpy()))              # sigmoid(-x), no overflow
    np.testing.assert_allclose(g.numpy(), s, rtol=1e-15, atol=0)
    assert g.numpy()[0] == 0.9999999987498471              # PyTorch's value
    (h,) = mg.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), -s * (1 - s), rtol=1e-12, atol=0)
    assert h.numpy()[0] != 0.0

    # smooth_l1 / huber: an infinite difference has gradient +-1 (+-delta), not nan
    for loss, slope in ((lambda x, t: F.smooth_l1_loss(x, t, reduction="sum"), 1.0),
                        (lambda x, t: F.huber_loss(x, t, reduction="sum", delta=2.0), 2.0)):
        x = leaf([np.inf, -np.inf, 0.5], mg.float32)
        t = leaf([0.0, 0.0, 0.0], mg.float32)
        assert loss(x, t).item() == np.inf
        loss(x, t).backward()
        np.testing.assert_array_equal(x.grad.numpy(), [slope, -slope, 0.5])
        np.testing.assert_array_equal(t.grad.numpy(), [-slope, slope, -0.5])


def test_review_fixes_errors_name_the_op(device):
    """Each of these gave numpy's text, a KeyError, or (BCE's target) no error at all."""
    m = mg.zeros(2, 3, device=device)
    for how, compare in (("eq", m.__eq__), ("ne", m.__ne__), ("lt", m.__lt__),
                         ("le", m.__le__), ("gt", m.__gt__), ("ge", m.__ge__)):
        with pytest.raises(ValueError, match=rf"^{how}: cannot broadcast shapes \(2, 3\), "
                                             rf"\(4,\)"):
            compare(mg.zeros(4, device=device))
    with pytest.raises(ValueError, match=r"masked_fill: mask \(4,\) does not broadcast to "
                                         r"the tensor's shape \(2, 3\)"):
        m.masked_fill(mg.zeros(4, device=device) > 0, 1.0)
    for f, op in ((lambda v: m + v, "add"), (lambda v: v - m, "sub"), (lambda v: m * v, "mul"),
                  (lambda v: m / v, "div"), (lambda v: m ** v, "pow"),
                  (lambda v: mg.maximum(m, v), "maximum"), (lambda v: mg.where(m > 0, m, v),
                                                            "where")):
        with pytest.raises(TypeError, match=f"^{op}: unsupported operand type str"):
            f("x")
        with pytest.raises(TypeError, match=f"^{op}: unsupported operand type NoneType"):
            f(None)
    with pytest.raises(TypeError, match="^add: unsupported operand type list"):
        m + ["a", "b", "c"]
    p = mg.tensor([0.2, 0.7], device=device)
    for bad in ([0.0, 2.0], [-0.1, 1.0], [np.nan, 0.5]):
        with pytest.raises(ValueError, match=r"binary_cross_entropy: target must hold values "
                                             r"in \[0, 1\]"):
            F.binary_cross_entropy(p, mg.tensor(bad, device=device))
    np.testing.assert_allclose(F.binary_cross_entropy(p, mg.tensor([0.0, 1.0], device=device))
                               .item(), -(np.log(0.8) + np.log(0.7)) / 2, rtol=1e-6)


def test_review_fixes_match_pytorch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    pairs = [   # (ours, theirs, inputs, dtype)
        (mg.maximum, torch.maximum, ([1.0, 3.0, 3.0, 0.0], [3.0, 1.0, 3.0, 0.0]), "float32"),
        (mg.minimum, torch.minimum, ([1.0, 3.0, 3.0, 0.0], [3.0, 1.0, 3.0, 0.0]), "float32"),
        (lambda a, b: a / b, lambda a, b: a / b, ([1e-25, 1e20, 3.0], [1e-25, 1e20, -2.0]),
         "float32"),
        (F.elu, tf.elu, ([-18.0, -16.0, -1.0, 2.0],), "float32"),
        (F.logsigmoid, tf.logsigmoid, ([-1e4, -40.0, -20.5, 0.0, 20.5, 1e4],), "float64"),
        (lambda x, t: F.smooth_l1_loss(x, t, reduction="none"),
         lambda x, t: tf.smooth_l1_loss(x, t, reduction="none"),
         ([np.inf, -np.inf, 0.5, 3.0], [0.0, 0.0, 0.0, 1.0]), "float32"),
        (lambda x, t: F.huber_loss(x, t, reduction="none", delta=2.0),
         lambda x, t: tf.huber_loss(x, t, reduction="none", delta=2.0),
         ([np.inf, -np.inf, 0.5, 3.0], [0.0, 0.0, 0.0, 1.0]), "float32"),
    ]
    for ours, theirs, inputs, dtype in pairs:
        xs = [mg.tensor(v, dtype=getattr(mg, dtype), requires_grad=True) for v in inputs]
        ts = [torch.tensor(v, dtype=getattr(torch, dtype), requires_grad=True) for v in inputs]
        y, y_torch = ours(*xs), theirs(*ts)
        np.testing.assert_allclose(y.numpy(), y_torch.detach().numpy(), rtol=1e-6, atol=0)
        y.sum().backward()
        y_torch.sum().backward()
        for x, t in zip(xs, ts):
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=0,
                                       err_msg=str(inputs))
    with pytest.raises(RuntimeError, match="target should be between 0 and 1"):
        tf.binary_cross_entropy(torch.tensor([0.5]), torch.tensor([2.0]))


def test_masks_combine_with_and_or_xor_invert(device):
    x = mg.tensor([-1.0, 0.5, 2.0], device=device)
    inside = (x > 0) & (x < 1)
    assert inside.dtype == mg.bool and inside.numpy().tolist() == [False, True, False]
    assert ((x > 0) | (x < -0.5)).numpy().tolist() == [True, True, True]
    assert ((x > 0) ^ True).numpy().tolist() == [True, False, False]
    assert (~(x > 0)).numpy().tolist() == [True, False, False]
    assert (mg.tensor([5, 6], device=device) & 3).numpy().tolist() == [1, 2]
    assert (~mg.tensor([0, 1], device=device)).numpy().tolist() == [-1, -2]
    assert mg.logical_and(x, x > 1).numpy().tolist() == [False, False, True]
    assert x.logical_not().numpy().tolist() == [False, False, False]
    with pytest.raises(TypeError, match="bitwise_and: bool or integer tensors only"):
        x & x
    with pytest.raises(TypeError, match="bitwise_not: bool or integer"):
        ~x
    with pytest.raises(ValueError, match=r"bitwise_or: cannot broadcast shapes \(3,\), \(2,\)"):
        (x > 0) | mg.tensor([True, False], device=device)


def test_pytorchs_other_names_at_the_top_level(device):
    x = mg.tensor([1.0, 3.0], device=device)
    assert mg.zeros(2, dtype=mg.float).dtype == mg.float32
    assert mg.zeros(2, dtype=mg.double).dtype == mg.float64
    assert mg.zeros(2, dtype=mg.long).dtype == mg.int64 and mg.int == mg.int32
    assert mg.mul(x, 2.0).numpy().tolist() == [2.0, 6.0]
    assert mg.sub(mg.add(x, 1.0), mg.div(x, 1.0)).numpy().tolist() == [1.0, 1.0]
    assert mg.pow(x, 2).numpy().tolist() == [1.0, 9.0] and mg.neg(x).numpy()[0] == -1.0
    assert mg.clip(x, 0.0, 2.0).numpy().tolist() == [1.0, 2.0]
    assert mg.std(x).item() == 1.0                        # biased, as x.std()
    np.testing.assert_allclose(mg.softmax(x, 0).numpy().sum(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(mg.log_softmax(x, 0).exp().numpy().sum(), 1.0, rtol=1e-6)
    assert mg.allclose(x, x + 1e-7) and not mg.allclose(x, x + 1e-3)
    assert mg.equal(x, x.clone()) and not mg.equal(x, x[:1])
    assert mg.isnan(mg.tensor([np.nan], device=device)).numpy().all()
    assert mg.isfinite(x).numpy().all()
    names = {}
    exec("from minigrad import *", names)
    assert "tensor" in names and "nn" in names and "float" not in names   # builtins kept
    assert "max" not in names and "sum" not in names and "mg" not in names


def test_more_of_pytorchs_spellings(device):
    """torch.bmm / mm / rsqrt / square / lerp / clone / numel, x.new_empty, x.type(dtype),
    keepdims=, and inference_mode: what the SAGAN, ProGAN and StyleGAN2 scripts wrote."""
    a = make((2, 3, 4), device, seed=60)
    b = make((2, 4, 5), device, seed=61)
    np.testing.assert_allclose(mg.bmm(a, b).numpy(), a.numpy() @ b.numpy(), rtol=1e-12)
    np.testing.assert_allclose(mg.mm(a[0], b[0]).numpy(), a.numpy()[0] @ b.numpy()[0],
                               rtol=1e-12)
    np.testing.assert_allclose(mg.rsqrt(a.abs()).numpy(), np.abs(a.numpy()) ** -0.5,
                               rtol=1e-12)
    np.testing.assert_allclose(mg.square(a).numpy(), a.numpy() ** 2, rtol=1e-12)
    np.testing.assert_allclose(mg.lerp(a, 2 * a, 0.25).numpy(), 1.25 * a.numpy(), rtol=1e-12)
    copy = mg.clone(a)
    assert copy is not a and mg.equal(copy, a) and copy.requires_grad
    assert mg.numel(a) == 24
    empty = a.new_empty(2, 3)
    assert empty.shape == (2, 3) and empty.dtype == mg.float64 and empty.device == device
    assert not empty.numpy().any()
    assert a.type(mg.float32).dtype == mg.float32
    assert a.type() == {"cpu": "minigrad.DoubleTensor", "gpu": "minigrad.cuda.DoubleTensor"}[device]
    with pytest.raises(TypeError, match="type: pass a dtype"):
        a.type("torch.FloatTensor")
    x = a.numpy()
    assert a.mean([1, 2], keepdims=True).shape == (2, 1, 1)
    np.testing.assert_allclose(mg.sum(a, 1, keepdims=True).numpy(), x.sum(1, keepdims=True))
    assert a.std(0, keepdims=True).shape == a.var(0, keepdims=True).shape == (1, 3, 4)
    assert a.max(1, keepdims=True)[0].shape == (2, 1, 4)
    assert a.amin(2, keepdims=True).shape == (2, 3, 1)
    assert a.argmax(2, keepdims=True).shape == (2, 3, 1)
    assert (a > 0).any(1, keepdims=True).shape == (2, 1, 4)
    assert mg.logsumexp(a, 1, keepdims=True).shape == (2, 1, 4)
    with pytest.raises(TypeError, match="sum: keepdim and keepdims are one argument"):
        a.sum(1, keepdim=True, keepdims=True)
    with mg.inference_mode():
        assert not (a * 2).requires_grad
        with mg.inference_mode(False):
            assert (a * 2).requires_grad
    assert mg.is_grad_enabled()

    @mg.inference_mode
    def sample():
        return a * 2

    assert not sample().requires_grad and mg.is_grad_enabled()


def test_gaussian_nll_loss_matches_pytorch():
    """Values and gradients of input, target and var, including PyTorch's clamp at eps,
    which changes the value only (the gradient reaches var below eps as if unclamped)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    for var, kwargs in ((rng.uniform(0.5, 2, (4, 3)), {}),
                        (rng.uniform(0.5, 2, 4), dict(full=True, reduction="sum")),
                        (np.array([[1e-9], [0.3], [2.0], [0.0]]), dict(eps=0.1)),
                        (0.25, dict(reduction="none"))):
        ours = [mg.tensor(a, dtype=mg.float64, requires_grad=True) for a in (x, t)]
        theirs = [torch.tensor(a, requires_grad=True) for a in (x, t)]
        if isinstance(var, np.ndarray):
            ours.append(mg.tensor(var, dtype=mg.float64, requires_grad=True))
            theirs.append(torch.tensor(var, requires_grad=True))
            v_ours, v_theirs = ours[2], theirs[2]
        else:
            v_ours = v_theirs = var
        loss_ours = F.gaussian_nll_loss(ours[0], ours[1], v_ours, **kwargs)
        loss_theirs = torch.nn.functional.gaussian_nll_loss(theirs[0], theirs[1], v_theirs,
                                                           **kwargs)
        np.testing.assert_allclose(loss_ours.numpy(), loss_theirs.detach().numpy(),
                                   rtol=1e-12)
        loss_ours.sum().backward()
        loss_theirs.sum().backward()
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10)
    criterion = mg.nn.GaussianNLLLoss(full=True, eps=1e-3)
    expected = torch.nn.GaussianNLLLoss(full=True, eps=1e-3)(
        torch.tensor(x), torch.tensor(t), torch.ones(4, 3))
    np.testing.assert_allclose(criterion(mg.tensor(x), mg.tensor(t), mg.ones(4, 3)).item(),
                               expected.item(), rtol=1e-6)


def test_gaussian_nll_loss_bad_input():
    x = mg.zeros(4, 3)
    with pytest.raises(ValueError, match="gaussian_nll_loss: var has a negative entry"):
        F.gaussian_nll_loss(x, x, mg.full((4, 3), -1.0))
    with pytest.raises(ValueError, match="gaussian_nll_loss: var has a negative entry: -2"):
        F.gaussian_nll_loss(x, x, -2)
    with pytest.raises(ValueError, match=r"var of shape \(4, 2\) fits neither input's shape "
                                         r"\(4, 3\), nor one per row \(4,\)"):
        F.gaussian_nll_loss(x, x, mg.ones(4, 2))
    with pytest.raises(ValueError, match="gaussian_nll_loss: .*must be equal"):
        F.gaussian_nll_loss(x, mg.zeros(4, 1), mg.ones(4, 3))


@pytest.mark.parametrize("equation, shapes", [
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("i,j->ij", [(3,), (4,)]),
    ("ij", [(2, 3)]), ("ji", [(2, 3)]), ("Bi,iA", [(2, 3), (3, 4)]),
    ("b...,b->...", [(2, 3, 4), (2,)]), ("ijk,kl,lm->im", [(2, 3, 4), (4, 5), (5, 2)]),
])
def test_einsum_matches_pytorch(equation, shapes):
    """Values and gradients, including PyTorch's implicit-output order (sorted letters,
    capitals first) and '...'."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    arrays = [rng.standard_normal(shape) for shape in shapes]
    ours = [mg.tensor(a, dtype=mg.float64, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y_ours, y_theirs = mg.einsum(equation, ours), torch.einsum(equation, *theirs)
    np.testing.assert_allclose(y_ours.numpy(), y_theirs.detach().numpy(), rtol=1e-12)
    weights = rng.standard_normal(y_theirs.shape)
    (y_ours * mg.tensor(weights, dtype=mg.float64)).sum().backward()
    (y_theirs * torch.tensor(weights)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("call, error, words", [
    (lambda: mg.einsum("ii->i", mg.zeros(2, 2)), NotImplementedError,
     "einsum: a letter repeated within one operand ('ii': a diagonal or a trace)"),
    (lambda: mg.einsum("ij,jk", mg.zeros(2, 3), mg.zeros(2, 4)), ValueError,
     "einsum: letter 'j' has size 3 in one operand and 2 in another; shapes"),
    (lambda: mg.einsum("ij,jk", mg.zeros(2, 1), mg.zeros(3, 4)), ValueError,
     "(broadcasting a size-1 letter is not implemented)"),
    (lambda: mg.einsum("ij", mg.zeros(2)), ValueError,
     "einsum: operand 0 has shape (2,) but the equation gives it 2 letters ('ij')"),
    (lambda: mg.einsum("ij,jk", mg.zeros(2, 3)), ValueError,
     "names 2 operands but 1 were given"),
    (lambda: mg.einsum("ij->k", mg.zeros(2, 3)), ValueError, "the output 'k' must name"),
    (lambda: mg.einsum("i1", mg.zeros(2, 3)), ValueError, "must be letters a-z, A-Z"),
    (lambda: mg.einsum("ij", np.zeros((2, 3))), TypeError, "einsum: operand 0 must be a"),
])
def test_einsum_bad_input(call, error, words):
    with pytest.raises(error, match=re.escape(words)):
        call()
