"""Every op of the engine, proved with gradcheck and gradgradcheck (float64, both devices),
plus forward values against numpy where PyTorch's semantics are easy to get wrong.

Each table row is (fn, makers): the makers build fn's inputs on the device under test.
Inputs stay small (<= ~30 elements): a check costs two evaluations per element.
"""
import warnings

import numpy as np
import pytest
from conftest import GPU_SKIP_REASON, make

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.ops.loss import BCEWithLogitsGrad
from minigrad.ops.reduce import Sum, SumGrad


# ----------------------------------------------------------------------- input makers
def _leaf(values, device, requires_grad=True):
    return mg.tensor(values, dtype=mg.float64, device=device, requires_grad=requires_grad)


def normal(*shape, low=None):
    """Standard normal; |x| >= low when given (keeps abs, relu, clamp off their kinks)."""
    return lambda device, seed: make(shape, device, seed=seed, low=low)


def positive(*shape):
    """Uniform in [0.5, 2): for log, sqrt, fractional powers and divisors."""
    return lambda device, seed: _leaf(
        np.random.default_rng(seed).uniform(0.5, 2.0, shape), device)


def unit(*shape, requires_grad=True):
    """Uniform in [0.05, 0.95]: probabilities and BCE targets."""
    return lambda device, seed: _leaf(
        np.random.default_rng(seed).uniform(0.05, 0.95, shape), device, requires_grad)


def whole(*shape):
    """Constant whole-number exponents 1, 2, 3, ... (no gradient): powers of a negative base."""
    return lambda device, seed: _leaf(
        np.arange(1, 1 + np.prod(shape), dtype=float).reshape(shape), device, False)


def exact(values, dtype=mg.float64):
    """Fixed values: the edge points (0, a clamp bound, a constant row)."""
    return lambda device, seed: mg.tensor(values, dtype=dtype, device=device,
                                          requires_grad=True)


def labels(n, classes):
    """Integer class indices (N,), or of shape n when it is a tuple: no gradient."""
    return lambda device, seed: mg.tensor(
        np.random.default_rng(seed).integers(0, classes, n), device=device)


def case(id, fn, *makers):
    return pytest.param(fn, makers, id=id)


def build(makers, device):
    return [make_input(device, seed) for seed, make_input in enumerate(makers)]


def values(result):
    """x.max(dim) returns (values, indices), as in PyTorch; keep the values."""
    return result.values if hasattr(result, "values") else result


def on(x, array):
    """A constant index/mask tensor on x's device."""
    return mg.tensor(array, device=x.device)


# ----------------------------------------------------------------------- the tables
ARITHMETIC = [
    case("add-broadcast", lambda a, b: a + b, normal(3, 1, 4), normal(2, 4)),
    case("sub-broadcast", lambda a, b: a - b, normal(3, 1, 4), normal(2, 4)),
    case("mul-broadcast", lambda a, b: a * b, normal(3, 1, 4), normal(2, 4)),
    case("div-broadcast", lambda a, b: a / b, normal(3, 1, 4), positive(2, 4)),
    case("div-broadcast-rev", lambda a, b: a / b, normal(2, 4), positive(3, 1, 4)),
    case("mul-0d", lambda a, b: a * b, normal(2, 3), normal()),
    case("add-batch1", lambda a, b: a + b, normal(1, 4), normal(4)),
    case("add-scalar", lambda x: x + 2.5, normal(2, 3)),
    case("radd-scalar", lambda x: 2.5 + x, normal(2, 3)),
    case("sub-scalar", lambda x: x - 2.5, normal(2, 3)),
    case("rsub-scalar", lambda x: 2.5 - x, normal(2, 3)),
    case("mul-scalar", lambda x: x * -1.5, normal(2, 3)),
    case("rmul-scalar", lambda x: -1.5 * x, normal(2, 3)),
    case("div-scalar", lambda x: x / 4.0, normal(2, 3)),
    case("rdiv-scalar", lambda x: 3.0 / x, positive(2, 3)),
    case("neg", lambda x: -x, normal(2, 3)),
    case("pow-2", lambda x: x ** 2, normal(2, 3)),
    case("pow-3-int", lambda x: x ** 3, normal(2, 3)),
    case("pow-0.5", lambda x: x ** 0.5, positive(2, 3)),
    case("pow-minus-1.5", lambda x: x ** -1.5, positive(2, 3)),
    case("pow-0-at-zero", lambda x: x ** 0, exact([0.0, -1.5, 2.0])),       # d/dx = 0, not nan
    case("pow-tensor", lambda x, p: x ** p, positive(3, 1), normal(4)),
    case("rpow", lambda x: 2.0 ** x, normal(2, 3)),
    case("pow-tensor-negative-base", lambda x, p: x ** p, normal(2, 3, low=0.1),
         whole(1, 3)),                    # bases of both signs, exponents 1, 2 and 3
    case("pow-tensor-both-broadcast", lambda x, p: x ** p, positive(2, 1), normal(1, 3)),
    case("rpow-array-base", lambda x: np.array([0.5, 2.0, 3.0]) ** x, normal(2, 3)),
    # a % b: dy/da = 1, dy/db = -floor(a / b); random inputs sit off the jumps
    case("remainder-broadcast", lambda a, b: a % b, normal(3, 1, 4), positive(2, 4)),
    case("remainder-negative-divisor", lambda a, b: a % -b, normal(2, 3), positive(3)),
    case("remainder-batch1", lambda a, b: mg.remainder(a, b), normal(1, 3), positive(1, 1)),
    case("remainder-scalar", lambda x: x % 0.7, normal(2, 3)),
    case("rmod-scalar", lambda x: 2.5 % x, positive(2, 3)),
]

POINTWISE = [
    case("exp", lambda x: x.exp(), normal(2, 3)),
    case("log", lambda x: x.log(), positive(2, 3)),
    case("sqrt", lambda x: x.sqrt(), positive(2, 3)),
    case("abs", lambda x: x.abs(), normal(2, 3, low=0.1)),
    case("tanh", lambda x: x.tanh(), normal(2, 3)),
    case("sigmoid", lambda x: x.sigmoid(), normal(2, 3)),
    case("relu", lambda x: F.relu(x), normal(2, 3, low=0.1)),
    case("leaky_relu", lambda x: F.leaky_relu(x, 0.2), normal(2, 3, low=0.1)),
    case("softplus", lambda x: F.softplus(x), normal(2, 3)),
    case("softplus-beta", lambda x: F.softplus(x, beta=2.0), normal(2, 3)),
    case("softplus-at-zero-and-far", lambda x: F.softplus(x), exact([0.0, -30.0, 30.0, 1.0])),
    case("softplus-beta-at-zero", lambda x: F.softplus(x, beta=0.5), exact([0.0, -3.0, 2.0])),
    case("softplus-threshold", lambda x: F.softplus(x, beta=2.0, threshold=1.0),
         exact([-1.0, 0.2, 0.4, 0.6, 2.0])),              # beta x = 1.2, 4 > 1: y = x
    case("clamp-min", lambda x: x.clamp(min=-0.5), normal(2, 3, low=0.1)),
    case("clamp-max", lambda x: x.clamp(max=0.5), normal(2, 3, low=0.1)),
    case("clamp-both", lambda x: mg.clamp(x, -0.5, 0.5), normal(2, 3, low=0.1)),
    case("clamp-min-above-max", lambda x: x.clamp(1.0, -1.0),            # y = -1: no gradient
         exact([-2.0, -1.0, 0.0, 1.0, 2.0])),
    # tensor bounds, broadcast against x: the gradient goes to whichever of x, lo, hi y is
    case("clamp-tensor-bounds", lambda x, lo, hi: x.clamp(lo, hi), normal(2, 3),
         exact([-0.5, -0.3, 0.2]), exact([[0.4], [0.9]])),
    case("clamp-tensor-min-number-max", lambda x, lo: mg.clamp(x, lo, 0.5), normal(2, 3),
         exact([-0.5, -0.3, 0.2])),
    case("clamp-tensor-min-above-max", lambda x, lo, hi: x.clamp(lo, hi),   # all to hi
         exact([-2.0, 0.0, 2.0]), exact([0.5]), exact([-0.5])),
    case("where-broadcast", lambda a, b: mg.where(on(a, [[True], [False], [True]]), a, b),
         normal(3, 4), normal(4)),
    case("where-scalar", lambda a: mg.where(on(a, [True, False, True]), a, 0.0), normal(2, 3)),
    # Extremum: the gradient to the larger (smaller), split on a tie (random inputs: none)
    case("maximum-broadcast", lambda a, b: mg.maximum(a, b), normal(3, 1, 4), normal(2, 4)),
    case("minimum-broadcast", lambda a, b: mg.minimum(a, b), normal(2, 4), normal(3, 1, 4)),
    case("maximum-number", lambda x: x.maximum(mg.tensor(0.3, dtype=mg.float64,
                                                          device=x.device)), normal(2, 3)),
]

REDUCTIONS = {
    "sum": lambda x, dim, keep: x.sum(dim, keepdim=keep),
    "mean": lambda x, dim, keep: x.mean(dim, keepdim=keep),
    "var": lambda x, dim, keep: x.var(dim, keepdim=keep),
    "var-unbiased": lambda x, dim, keep: x.var(dim, unbiased=True, keepdim=keep),
    "max": lambda x, dim, keep: values(x.max(dim, keepdim=keep)),
    "min": lambda x, dim, keep: values(x.min(dim, keepdim=keep)),
    "std": lambda x, dim, keep: x.std(dim, keepdim=keep),
    "std-unbiased": lambda x, dim, keep: x.std(dim, unbiased=True, keepdim=keep),
}
REDUCE = [
    case(f"{name}-dim{dim}-keep{keep}",
         lambda x, f=f, dim=dim, keep=keep: f(x, dim, keep), normal(2, 3, 4))
    for name, f in REDUCTIONS.items()
    for dim in (None, 1, -1, (0, 2), (-1, 0))
    for keep in (False, True)
] + [
    # every axis but 1, as a conv's bias gradient: kernels.norm.channel_sum
    case(f"sum-channels-batch1-keep{keep}", lambda x, keep=keep: x.sum((0, 2, 3), keepdim=keep),
         normal(1, 3, 2, 2))
    for keep in (False, True)
] + [
    case("sum-channels-of-a-permuted-view",
         lambda x: x.permute(1, 0, 2, 3).sum((0, 2, 3)), normal(3, 2, 2, 3)),
] + [
    # a 0-d tensor takes dim 0 or -1 (no axes), as in PyTorch
    case(f"{name}-0d-dim{dim}", lambda x, f=f, dim=dim: f(x, dim, False), normal())
    for name, f in REDUCTIONS.items() if "unbiased" not in name      # (unbiased: nan)
    for dim in (0, -1)
] + [
    case("sum-numpy-int-dim", lambda x: x.sum(np.int64(1)), normal(2, 3)),
    case("mean-numpy-int-dims", lambda x: x.mean((np.int32(0), -1)), normal(2, 3, 2)),
]

MATMUL = [
    case("2d@2d", lambda a, b: a @ b, normal(2, 3), normal(3, 4)),
    case("batched", lambda a, b: a @ b, normal(2, 2, 3), normal(2, 3, 2)),
    case("broadcast-batch", lambda a, b: a @ b, normal(2, 1, 2, 3), normal(3, 3, 2)),
    case("batch@2d", lambda a, b: a @ b, normal(2, 2, 3), normal(3, 2)),
    case("1d@2d", lambda a, b: a @ b, normal(3), normal(3, 4)),
    case("2d@1d", lambda a, b: a @ b, normal(4, 3), normal(3)),
    case("1d@1d", lambda a, b: a @ b, normal(3), normal(3)),
    case("1d@batch", lambda a, b: mg.matmul(a, b), normal(3), normal(2, 3, 2)),
    case("batch1", lambda a, b: a @ b, normal(1, 3), normal(3, 2)),
    case("outer", lambda a, b: a @ b, normal(4, 1), normal(1, 3)),          # inner dim 1
    case("batched-outer", lambda a, b: a @ b, normal(2, 1, 3, 1), normal(2, 1, 2)),
]

SHAPE = [
    case("reshape", lambda x: x.reshape(4, 6), normal(2, 3, 4)),
    case("reshape-minus1", lambda x: x.reshape(-1, 3), normal(2, 3, 4)),
    case("view-tuple", lambda x: x.view((24,)), normal(2, 3, 4)),
    case("transpose-neg", lambda x: x.transpose(0, -1), normal(2, 3, 4)),
    case("T", lambda x: x.T, normal(2, 3)),
    case("permute", lambda x: x.permute(2, 0, 1), normal(2, 3, 4)),
    case("permute-neg", lambda x: mg.permute(x, (-1, 0, 1)), normal(2, 3, 4)),
    case("expand", lambda x: x.expand(2, 3, 4), normal(3, 1)),
    case("expand-minus1", lambda x: x.expand(-1, 4), normal(3, 1)),
    case("squeeze-dim", lambda x: x.squeeze(1), normal(2, 1, 3)),
    case("squeeze-all", lambda x: x.squeeze(), normal(1, 3, 1)),
    case("squeeze-neg", lambda x: x.squeeze(-1), normal(2, 3, 1)),
    case("unsqueeze-0", lambda x: x.unsqueeze(0), normal(2, 3)),
    case("unsqueeze-neg", lambda x: x.unsqueeze(-1), normal(2, 3)),
    case("flatten", lambda x: x.flatten(), normal(2, 3, 4)),
    case("flatten-1", lambda x: x.flatten(1), normal(2, 3, 4)),
    case("flatten-0-1", lambda x: mg.flatten(x, 0, 1), normal(2, 3, 4)),
    case("cat-dim1", lambda a, b: mg.cat([a, b], dim=1), normal(2, 3), normal(2, 1)),
    case("cat-neg", lambda a, b: mg.cat([a, b], dim=-1), normal(2, 3), normal(2, 1)),
    case("cat-three", lambda a, b, c: mg.cat([a, b, c]), normal(1, 3), normal(2, 3),
         normal(1, 3)),
    case("stack-0", lambda a, b: mg.stack([a, b]), normal(2, 3), normal(2, 3)),
    case("stack-neg", lambda a, b: mg.stack([a, b], dim=-1), normal(2, 3), normal(2, 3)),
    case("split-sizes", lambda x: x.split([1, 3], dim=1)[1], normal(2, 4)),
    case("split-uneven-glued-back-reversed",
         lambda x: mg.cat(mg.split(x, 2, dim=-1)[::-1], dim=-1), normal(2, 5)),
    case("chunk-batch1", lambda x: x.chunk(2, 1)[1], normal(1, 5, 1)),       # 3 and 2
    # every piece used, one twice, one not at all (Split's backward is one cat, zeros for it)
    case("split-pieces-used-apart",
         lambda x: (lambda a, b, c, d: a * b.exp() + (c * c).sum() * a)(*x.split(1, dim=0)),
         normal(4, 3)),
    case("unbind", lambda x: (lambda a, b, c: a * b - c.tanh())(*x.unbind(-1)), normal(2, 3)),
    case("pad-last", lambda x: F.pad(x, (1, 2)), normal(2, 3)),
    case("pad-two-dims", lambda x: F.pad(x, (1, 1, 2, 0)), normal(2, 3)),
    case("pad-crop", lambda x: F.pad(x, (-1, 1, 1, -1)), normal(3, 4)),
    case("pad-value", lambda x: F.pad(x, (1, 1), value=0.5), normal(2, 3)),
    # the border copies pixels: their gradient is the sum over every copy (scatter-add)
    case("pad-reflect-2d", lambda x: F.pad(x, (2, 1, 1, 2), mode="reflect"), normal(1, 2, 3, 4)),
    case("pad-replicate-2d", lambda x: F.pad(x, (2, 0, 3, 1), mode="replicate"),
         normal(1, 1, 2, 3)),
    case("pad-circular-1d", lambda x: F.pad(x, (3, 1), mode="circular"), normal(2, 3)),
    case("pad-circular-crop", lambda x: F.pad(x, (-1, 2), mode="circular"), normal(1, 2, 4)),
    case("pad-reflect-crop", lambda x: F.pad(x, (2, -1), mode="reflect"), normal(1, 2, 4)),
    # Clone's backward passes gy on: the gradient it hands back must stay on the tape (a
    # detached gy is right to first order, and gradgradcheck's d/dv of it is then 0)
    case("clone-times-x", lambda x: x.clone() * x, normal(2, 3)),
    case("clone-broadcast-batch1", lambda a, b: a.clone() * b.clone(), normal(1, 3),
         normal(2, 1)),
]

INDEX = [
    case("slices-steps", lambda x: x[1:, ::2], normal(3, 4)),
    case("reverse", lambda x: x[::-1], normal(3, 4)),
    case("int", lambda x: x[0], normal(3, 4)),
    case("negative-ints", lambda x: x[-1, -2], normal(3, 4)),
    case("none-ellipsis", lambda x: x[None, ..., 0], normal(2, 3, 4)),
    case("ellipsis-slice", lambda x: x[..., 1:3], normal(2, 3, 4)),
    case("int-array-repeats", lambda x: x[[0, 0, 2]], normal(3, 4)),
    case("two-int-arrays", lambda x: x[on(x, [0, 0, 1]), on(x, [1, 1, 3])], normal(3, 4)),
    case("slice-and-array", lambda x: x[:, on(x, [2, 0, 2])], normal(3, 4)),
    case("tensor-index", lambda x: x[on(x, [1, 1, 0])], normal(3, 4)),
    case("bool-mask", lambda x: x[on(x, [[True, False, True, True], [False] * 4,
                                         [True, True, False, False]])], normal(3, 4)),
]

LOSSES = [
    case("softmax", lambda x: F.softmax(x, dim=-1), normal(2, 5)),
    case("softmax-dim0", lambda x: F.softmax(x, dim=0), normal(3, 4)),
    case("softmax-batch1", lambda x: F.softmax(x, dim=1), normal(1, 5)),
    case("log_softmax", lambda x: F.log_softmax(x, dim=-1), normal(2, 5)),
    case("log_softmax-dim0", lambda x: F.log_softmax(x, dim=0), normal(3, 4)),
    case("softmax-0d", lambda x: F.softmax(x, 0), normal()),
    case("log_softmax-0d", lambda x: F.log_softmax(x, -1), normal()),
    case("dropout", lambda x: (mg.manual_seed(1), F.dropout(x, 0.5))[1], normal(3, 4)),
    case("dropout-eval", lambda x: F.dropout(x, 0.5, training=False), normal(3, 4)),
    # BCE-with-logits' input gradient g (sigmoid(x) - t), an op of its own (g, x, t)
    case("bce-logits-grad-op", lambda *xs: BCEWithLogitsGrad()(*xs),
         normal(2, 3), normal(2, 3), unit(2, 3)),
    case("bce-logits-grad-op-broadcast-g", lambda *xs: BCEWithLogitsGrad()(*xs),
         normal(1, 3), normal(2, 3), unit(2, 3)),
    case("bce-logits-grad-op-batch1", lambda *xs: BCEWithLogitsGrad()(*xs),
         normal(1, 1), normal(1, 1), unit(1, 1)),
    # Sum's input gradient c * gy broadcast back over the summed axes, an op of its own
    case("sum-grad-op", lambda gy: SumGrad((2, 3, 4), (0, 2), False, 0.25)(gy), normal(3)),
    case("sum-grad-op-keepdim", lambda gy: SumGrad((2, 3, 4), (1,), True, 1.0)(gy),
         normal(2, 1, 4)),
    case("sum-grad-op-batch1-0d", lambda gy: SumGrad((1, 4), (0, 1), False, -0.5)(gy),
         normal()),
] + [
    case(f"{name}-{reduction}", lambda *xs, f=f, r=reduction: f(*xs, reduction=r), *makers)
    for reduction in ("mean", "sum", "none")
    for name, f, makers in [
        ("bce", F.binary_cross_entropy, (unit(2, 3), unit(2, 3, requires_grad=False))),
        ("bce-logits", F.binary_cross_entropy_with_logits,
         (normal(2, 3), unit(2, 3, requires_grad=False))),
        ("bce-logits-target-grad", F.binary_cross_entropy_with_logits,
         (normal(2, 3), normal(2, 3))),
        ("bce-logits-batch1", F.binary_cross_entropy_with_logits,
         (normal(1, 1), unit(1, 1, requires_grad=False))),
        ("mse", F.mse_loss, (normal(2, 3), normal(2, 3))),
        ("l1", F.l1_loss, (normal(2, 3), normal(2, 3))),
        ("cross_entropy", F.cross_entropy, (normal(4, 3), labels(4, 3))),
        ("cross_entropy-batch1", F.cross_entropy, (normal(1, 3), labels(1, 3))),
        ("nll", F.nll_loss, (normal(4, 3), labels(4, 3))),
        ("cross_entropy-per-pixel", F.cross_entropy, (normal(2, 3, 2, 2), labels((2, 2, 2), 3))),
        ("cross_entropy-one-sample", F.cross_entropy, (normal(3), labels((), 3))),
        # PyTorch's optional arguments: weights, pos_weight, ignored targets, smoothing,
        # class probabilities
        ("bce-target-grad-weight", lambda p, t, w, reduction: F.binary_cross_entropy(
            p, t, w, reduction=reduction), (unit(2, 3), unit(2, 3), unit(3))),
        ("bce-logits-weight-pos-weight", lambda x, t, w, pw, reduction:
            F.binary_cross_entropy_with_logits(x, t, w, reduction=reduction, pos_weight=pw),
         (normal(2, 3), unit(2, 3), unit(2, 3), positive(3))),
        ("mse-weight", lambda a, b, w, reduction: F.mse_loss(a, b, reduction=reduction,
                                                             weight=w),
         (normal(2, 3), normal(2, 3), positive(2, 3))),
        ("l1-weight", lambda a, b, w, reduction: F.l1_loss(a, b, reduction=reduction,
                                                           weight=w),
         (positive(2, 3), exact([[-1.0, -2.0, -0.5], [3.0, 4.0, 5.0]]), positive(2, 3))),
        ("cross_entropy-weight-ignore-smoothing", lambda x, y, reduction: F.cross_entropy(
            x, y, on(x, [0.5, 2.0, 1.0]), ignore_index=1, reduction=reduction,
            label_smoothing=0.2), (normal(5, 3), labels(5, 3))),
        ("cross_entropy-probabilities", lambda x, t, reduction: F.cross_entropy(
            x, t, reduction=reduction, label_smoothing=0.1), (normal(2, 3, 2), unit(2, 3, 2))),
    ]
]


@pytest.mark.parametrize("fn, makers", ARITHMETIC + POINTWISE + REDUCE + MATMUL + SHAPE
                         + INDEX + LOSSES)
def test_gradcheck_and_gradgradcheck(fn, makers, device):
    inputs = build(makers, device)
    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


def test_to_dtype_round_trip(device):
    """float64 -> float32 -> float64: the gradient is cast back. float32 round-off needs a
    larger step than the default eps."""
    x = make((2, 3), device, seed=0)

    def fn(x):
        return x.to_dtype(mg.float32).to(dtype=mg.float64) * 3.0

    assert fn(x).dtype == mg.float64
    assert mg.gradcheck(fn, [x], eps=1e-3, atol=1e-4)
    assert mg.gradgradcheck(fn, [x], eps=1e-3, atol=1e-4)


@pytest.mark.gpu
@pytest.mark.skipif(GPU_SKIP_REASON is not None, reason=GPU_SKIP_REASON or "")
def test_to_gpu_and_back_gradcheck_and_gradgradcheck():
    """ToDevice both ways, float64: a CPU leaf through x.to("gpu") and a GPU leaf through
    .cpu() (and back); each gradient is copied back to its leaf's device, to second order."""
    x, w = make((2, 3), "cpu", seed=0), make((3,), "gpu", seed=1)

    def fn(x, w):
        on_gpu = (x.to("gpu") * w).tanh()
        return on_gpu.cpu() * x + (w.cpu() ** 2).to("gpu").cpu()

    y = fn(x, w)
    assert y.device == "cpu"
    y.sum().backward()
    assert x.grad.device == "cpu" and w.grad.device == "gpu"
    assert mg.gradcheck(fn, [x, w])
    assert mg.gradgradcheck(fn, [x, w])


# ----------------------------------------------------------------------- forward values
def test_to_takes_a_dtype_a_device_or_a_tensor_as_pytorch(device):
    x = make((2, 3), device, seed=0)                   # float64
    assert x.to(mg.float32).dtype == mg.float32 and x.to(mg.float32).device == device
    assert x.to(device, mg.float32).dtype == mg.float32
    other = mg.zeros(1, dtype=mg.float32)              # on the CPU
    moved = x.to(other)
    assert moved.dtype == mg.float32 and moved.device == "cpu"
    assert x.to(x) is x
    with pytest.raises(TypeError, match="two dtypes"):
        x.to(mg.float32, mg.float64)


def test_broadcast_add_values(device):
    a, b = make((3, 1, 4), device, seed=1), make((2, 4), device, seed=2)
    y = a + b
    assert y.shape == (3, 2, 4)
    np.testing.assert_allclose(y.numpy(), a.numpy() + b.numpy())
    y.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.full((3, 1, 4), 2.0))   # summed back
    np.testing.assert_allclose(b.grad.numpy(), np.full((2, 4), 3.0))


@pytest.mark.parametrize("dim", [None, 0, -1, (0, 2)])
def test_var_matches_numpy(dim, device):
    x = make((2, 3, 4), device, seed=3)
    axis = dim if dim is None or isinstance(dim, int) else tuple(dim)
    np.testing.assert_allclose(x.var(dim).numpy(), np.var(x.numpy(), axis=axis))
    np.testing.assert_allclose(x.var(dim, unbiased=True).numpy(),
                               np.var(x.numpy(), axis=axis, ddof=1))
    assert x.var(dim, keepdim=True).shape == np.var(x.numpy(), axis=axis, keepdims=True).shape


def test_max_with_dim_returns_values_and_indices(device):
    x = make((3, 4), device, seed=4)
    values_, indices = x.max(1)
    np.testing.assert_allclose(values_.numpy(), x.numpy().max(1))
    np.testing.assert_array_equal(indices.numpy(), x.numpy().argmax(1))
    assert x.min(-1, keepdim=True).values.shape == (3, 1)
    assert x.max().shape == ()


def test_pow_with_a_tensor_exponent_matches_pytorch_at_negative_and_zero_bases(device):
    """PyTorch's numbers, for x ** p with p a tensor: a negative base with a whole exponent
    is a number, 0^0 = 1; the exponent's gradient y ln x is 0 at x = 0 (p >= 0) and nan
    for x < 0; the base's gradient is 0 where p = 0, even at x = 0."""
    x = mg.tensor([-2.0, 0.0, 3.0, 0.0], dtype=mg.float64, device=device, requires_grad=True)
    p = mg.tensor([2.0, 2.0, 2.0, 0.0], dtype=mg.float64, device=device, requires_grad=True)
    y = x ** p
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), [4.0, 0.0, 9.0, 1.0])
    np.testing.assert_allclose(x.grad.numpy(), [-4.0, 0.0, 6.0, 0.0])
    np.testing.assert_allclose(p.grad.numpy(), [np.nan, 0.0, 9.0 * np.log(3.0), 0.0])
    base = mg.tensor([2.0, 3.0, 0.0], dtype=mg.float64, device=device)
    np.testing.assert_allclose(((-2.0) ** base).numpy(), [4.0, -8.0, 1.0])
    np.testing.assert_allclose((0.0 ** base).numpy(), [0.0, 0.0, 1.0])


@pytest.mark.parametrize("which", ["max", "min"])
def test_extremes_over_a_dim_send_the_gradient_to_the_returned_index(which, device):
    """As PyTorch: x.max(dim) gives the whole gradient to the first of tied winners (the
    index it returns); x.max() over everything shares it evenly between them."""
    rows = [[3.0, 3.0, 1.0], [2.0, 5.0, 5.0]] if which == "max" else \
        [[1.0, 1.0, 3.0], [4.0, 0.0, 0.0]]
    x = mg.tensor(rows, dtype=mg.float64, device=device, requires_grad=True)
    result = getattr(x, which)(1)
    np.testing.assert_array_equal(result.indices.numpy(), [0, 1])
    (result.values * mg.tensor([1.0, 2.0], dtype=mg.float64, device=device)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    x.grad = None
    getattr(x[:1], which)().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.5, 0.5, 0.0], [0.0, 0.0, 0.0]])


def test_softmax_values_and_stability(device):
    x = make((2, 5), device, seed=5)
    e = np.exp(x.numpy() - x.numpy().max(1, keepdims=True))
    np.testing.assert_allclose(F.softmax(x, dim=1).numpy(), e / e.sum(1, keepdims=True))
    np.testing.assert_allclose(F.log_softmax(x, dim=1).numpy(),
                               np.log(e / e.sum(1, keepdims=True)))
    big = mg.tensor([[1000.0, 0.0, -1000.0]], dtype=mg.float64, device=device)
    np.testing.assert_allclose(F.softmax(big, 1).numpy(), [[1.0, 0.0, 0.0]])
    np.testing.assert_allclose(F.log_softmax(big, -1).numpy(), [[0.0, -1000.0, -2000.0]])
    probs = F.softmax(mg.tensor([1, 2], device=device), 0, dtype=mg.float64)   # cast first
    assert probs.dtype == mg.float64


@pytest.mark.parametrize("shape, implicit_dim", [((4,), 0), ((2, 3), 1), ((2, 3, 4), 0),
                                                 ((2, 3, 2, 2), 1)])
def test_softmax_without_dim_picks_pytorchs_deprecated_implicit_dim(shape, implicit_dim,
                                                                    device):
    x = make(shape, device, seed=6)
    for f in (F.softmax, F.log_softmax):
        with pytest.warns(UserWarning, match=f"implicit choice of dim.*dim={implicit_dim}"):
            implicit = f(x)
        np.testing.assert_array_equal(implicit.numpy(), f(x, implicit_dim).numpy())


def test_cross_entropy_values(device):
    x, t = make((4, 3), device, seed=6), labels(4, 3)(device, 7)
    logp = x.numpy() - np.log(np.exp(x.numpy()).sum(1, keepdims=True))
    picked = -logp[np.arange(4), t.numpy()]
    np.testing.assert_allclose(F.cross_entropy(x, t).numpy(), picked.mean())
    np.testing.assert_allclose(F.nll_loss(F.log_softmax(x, 1), t, reduction="sum").numpy(),
                               picked.sum())
    np.testing.assert_allclose(F.cross_entropy(x, t, reduction="none").numpy(), picked)


def test_cross_entropy_per_position_is_the_per_row_loss_of_each_position(device):
    """(N, C, H, W) logits with (N, H, W) targets: every pixel is one (N*H*W, C) row."""
    x, t = make((2, 3, 2, 4), device, seed=8), labels((2, 2, 4), 3)(device, 9)
    rows = mg.tensor(x.numpy().transpose(0, 2, 3, 1).reshape(-1, 3), dtype=mg.float64,
                     device=device)
    flat = mg.tensor(t.numpy().reshape(-1), device=device)
    per_row = F.cross_entropy(rows, flat, reduction="none").numpy()
    per_position = F.cross_entropy(x, t, reduction="none")
    assert per_position.shape == (2, 2, 4)
    np.testing.assert_allclose(per_position.numpy(), per_row.reshape(2, 2, 4))
    np.testing.assert_allclose(F.cross_entropy(x, t).numpy(), per_row.mean())
    one = F.cross_entropy(x[:, :, 0, 0][0], t[0, 0, 0], reduction="none")
    assert one.shape == () and np.isclose(one.numpy(), per_row[0])


def test_bce_values(device):
    p, t = unit(2, 3)(device, 0), unit(2, 3)(device, 1)
    expected = -(t.numpy() * np.log(p.numpy()) + (1 - t.numpy()) * np.log(1 - p.numpy()))
    np.testing.assert_allclose(F.binary_cross_entropy(p, t).numpy(), expected.mean())
    # p exactly 0 or 1 (a saturated float32 sigmoid): log clamped at -100, as in PyTorch,
    # and a finite gradient (not 0 * inf = nan)
    edge = mg.tensor([0.0, 1.0, 0.0], dtype=mg.float64, device=device, requires_grad=True)
    loss = F.binary_cross_entropy(edge, mg.tensor([1.0, 0.0, 0.0], dtype=mg.float64,
                                                  device=device), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [100.0, 100.0, 0.0], atol=1e-12)
    loss.sum().backward()
    assert np.isfinite(edge.grad.numpy()).all()


def test_bce_with_logits_values(device):
    x, t = make((2, 3), device, seed=8), unit(2, 3)(device, 9)
    s = 1 / (1 + np.exp(-x.numpy()))
    expected = -(t.numpy() * np.log(s) + (1 - t.numpy()) * np.log(1 - s))
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(x, t, reduction="none").numpy(),
                               expected)


@pytest.mark.parametrize("dim, keepdim", [(None, False), ((0, 2), True), (1, False)])
def test_mean_is_one_op_each_way_with_the_compositions_bits(dim, keepdim, device,
                                                            monkeypatch):
    # mean is a Sum with the scale 1/count, and its gradient one SumGrad: the bits of Sum
    # followed by MulScalar forward, and of c gy broadcast back (MulScalar, Reshape,
    # BroadcastTo, the ops SumGrad replaced), written out in numpy
    rng = np.random.default_rng(11)
    x_np = rng.standard_normal((3, 7, 5)).astype(np.float32)
    axes = {None: (0, 1, 2), (0, 2): (0, 2), 1: (1,)}[dim]
    count = int(np.prod([x_np.shape[a] for a in axes]))
    g_np = rng.standard_normal(np.sum(x_np, axis=dim, keepdims=keepdim).shape)
    g_np = g_np.astype(np.float32)
    x = mg.tensor(x_np, device=device, requires_grad=True)
    y = x.mean(dim, keepdim=keepdim)
    assert type(y.creator) is Sum
    composed = Sum(axes, keepdim)(mg.tensor(x_np, device=device)) * (1.0 / count)
    ops_called = []                                     # the ops the backward pass runs
    function_call = mg.Function.__call__
    monkeypatch.setattr(mg.Function, "__call__", lambda self, *inputs: (
        ops_called.append(self.name), function_call(self, *inputs))[1])
    y.backward(mg.tensor(g_np, device=device))
    monkeypatch.undo()
    assert ops_called == ["SumGrad"]
    kept_shape = tuple(1 if a in axes else n for a, n in enumerate(x_np.shape))
    expected_grad = np.broadcast_to((g_np * (1.0 / count)).reshape(kept_shape), x_np.shape)
    assert y.dtype == mg.float32 and x.grad.dtype == mg.float32
    np.testing.assert_array_equal(y.numpy(), composed.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), expected_grad)
    np.testing.assert_allclose(y.numpy(), x_np.mean(axis=dim, keepdims=keepdim),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_bce_with_logits_reduces_inside_its_op_with_the_compositions_bits(reduction, device):
    # The reduction is part of BCEWithLogits (one op forward, MulScalar for the mean and
    # BCEWithLogitsGrad backward); the loss and the input gradient keep the bits of the
    # loss per element followed by the mean or sum ops, which it replaced, and the target
    # gradient is -c g x, as numpy rounds it
    rng = np.random.default_rng(10)
    x_np = (rng.standard_normal((64, 1)) * 3).astype(np.float32)
    t_np = (rng.random((64, 1)) > 0.5).astype(np.float32)
    scale = 1.0 / 64 if reduction == "mean" else 1.0

    def run(fused: bool):
        x = mg.tensor(x_np, device=device, requires_grad=True)
        t = mg.tensor(t_np, device=device, requires_grad=True)
        if fused:
            loss = F.binary_cross_entropy_with_logits(x, t, reduction=reduction)
            assert type(loss.creator).__name__ == "BCEWithLogits"
        else:
            per_element = F.binary_cross_entropy_with_logits(x, t, reduction="none")
            loss = per_element.mean() if reduction == "mean" else per_element.sum()
        (loss * 3.0).backward()
        return [loss.numpy(), x.grad.numpy(), t.grad.numpy()]

    fused, composed = run(True), run(False)
    for name, a, b in zip(("loss", "grad x"), fused[:2], composed[:2]):
        assert a.dtype == np.float32, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    np.testing.assert_array_equal(fused[2], -((np.float32(3.0) * scale) * x_np))
    s = 1 / (1 + np.exp(-x_np.astype(np.float64)))              # the textbook, in float64
    np.testing.assert_allclose(fused[1], 3.0 * scale * (s - t_np), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_bce_with_logits_target_gradient_in_the_wider_dtype(reduction, device):
    # float32 logits, a float64 target: the loss is float64, and so is -c g x (a one-number
    # g must not leave x's product in float32)
    x_np = np.random.default_rng(12).standard_normal((5, 3)).astype(np.float32)
    x = mg.tensor(x_np, device=device, requires_grad=True)
    t = mg.tensor(np.full((5, 3), 0.25), dtype=mg.float64, device=device, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, t, reduction=reduction)
    assert loss.dtype == mg.float64
    loss.backward()
    scale = 1.0 / 15 if reduction == "mean" else 1.0
    assert t.grad.dtype == mg.float64
    np.testing.assert_allclose(t.grad.numpy(), -scale * x_np.astype(np.float64), rtol=1e-15)


@pytest.mark.parametrize("dtype", [mg.float32, mg.float64])
def test_bce_with_logits_finite_for_huge_logits(dtype, device):
    x = mg.tensor([1e4, -1e4], dtype=dtype, device=device, requires_grad=True)
    t = mg.tensor([0.3, 0.3], dtype=dtype, device=device)
    loss = F.binary_cross_entropy_with_logits(x, t)
    loss.backward()
    # loss_i = max(x, 0) - x t + log(1 + e^-|x|); grad_i = (sigmoid(x) - t) / N
    np.testing.assert_allclose(loss.item(), (7000.0 + 3000.0) / 2, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), [0.35, -0.15], rtol=1e-6)
    assert x.grad.dtype == dtype


def test_class_losses_with_weights_ignored_targets_and_smoothing_by_hand(device):
    # PyTorch's definitions, written out in numpy: the weighted mean divides by the weights
    # of the counted targets; an ignored target adds nothing; smoothing mixes in the loss
    # against every class (its weights too), reduced over the counted positions
    rng = np.random.default_rng(13)
    logits = rng.standard_normal((5, 4))
    y = np.array([0, 3, -100, 1, 3])
    w = np.array([0.5, 2.0, 1.0, 1.5])
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    kept = y != -100
    picked = np.where(kept, -w[np.where(kept, y, 0)] * logp[np.arange(5), np.where(kept, y, 0)],
                      0.0)
    total = w[y[kept]].sum()
    every = np.where(kept, -(logp * w).sum(1), 0.0)
    x = mg.tensor(logits, dtype=mg.float64, device=device)
    weight = mg.tensor(w, dtype=mg.float64, device=device)
    target = mg.tensor(y, device=device)
    np.testing.assert_allclose(F.nll_loss(F.log_softmax(x, 1), target, weight).item(),
                               picked.sum() / total, rtol=1e-12)
    np.testing.assert_allclose(F.cross_entropy(x, target, weight, reduction="none").numpy(),
                               picked, rtol=1e-12, atol=1e-15)
    smoothed = F.cross_entropy(x, target, weight, label_smoothing=0.2)
    np.testing.assert_allclose(smoothed.item(), 0.8 * picked.sum() / total
                               + 0.2 / 4 * every.sum() / total, rtol=1e-12)
    assert np.isnan(F.cross_entropy(x, mg.tensor(np.full(5, -100), device=device)).item())
    soft = rng.random((5, 4))
    soft /= soft.sum(1, keepdims=True)
    probabilities = mg.tensor(soft, dtype=mg.float64, device=device)
    by_probabilities = F.cross_entropy(x, probabilities)
    np.testing.assert_allclose(by_probabilities.item(), -(soft * logp).sum(1).mean(),
                               rtol=1e-12)
    # with a weight (a tensor that gets a gradient, as in PyTorch) and smoothing
    weight.requires_grad = True
    smooth_soft = soft * 0.9 + 0.1 / 4
    loss = F.cross_entropy(x, probabilities, weight, label_smoothing=0.1)
    np.testing.assert_allclose(loss.item(), -(w * smooth_soft * logp).sum(1).mean(),
                               rtol=1e-12)
    loss.backward()
    np.testing.assert_allclose(weight.grad.numpy(), -(smooth_soft * logp).mean(0), rtol=1e-12)
    with pytest.raises(ValueError, match="ignore_index 0 is not supported for class-prob"):
        F.cross_entropy(x, probabilities, ignore_index=0)
    assert F.cross_entropy(x, probabilities, ignore_index=-1).item() == \
        F.cross_entropy(x, probabilities).item()          # a negative one: as PyTorch, unused
    with pytest.raises(ValueError, match=r"cross_entropy: target values must be in"):
        F.cross_entropy(x, mg.tensor([0, 3, 4, 1, 3], device=device))
    as_float32 = F.cross_entropy(x.to_dtype(mg.float32), target, weight)   # a float64 weight
    assert as_float32.dtype == mg.float32
    with pytest.raises(ValueError, match=r"target values must be in \[0, 4\) \(or "
                                         r"ignore_index=-100\), got \[-2, 3\]"):
        F.cross_entropy(x, mg.tensor([0, 3, -2, 1, 3], device=device))
    with pytest.raises(ValueError, match=r"one entry per class, shape \(4,\), got \(3,\)"):
        F.cross_entropy(x, target, weight[:3])


def test_binary_losses_with_weights_by_hand(device):
    rng = np.random.default_rng(14)
    x_np, t_np = rng.standard_normal((4, 3)), rng.random((4, 3))
    w_np, pw_np = rng.random((4, 3)), rng.random(3) * 3
    x, t, w, pw = (mg.tensor(a, dtype=mg.float64, device=device)
                   for a in (x_np, t_np, w_np, pw_np))
    softplus_minus_x = np.log1p(np.exp(-x_np))
    plain = x_np - x_np * t_np + softplus_minus_x                 # max(x,0) - x t + ..., here
    with_pos = (1 - t_np) * x_np + (1 + (pw_np - 1) * t_np) * softplus_minus_x
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(x, t, w).item(),
                               (w_np * plain).mean(), rtol=1e-12)
    np.testing.assert_allclose(
        F.binary_cross_entropy_with_logits(x, t, w, reduction="sum", pos_weight=pw).item(),
        (w_np * with_pos).sum(), rtol=1e-12)
    p = mg.tensor(1 / (1 + np.exp(-x_np)), dtype=mg.float64, device=device)
    np.testing.assert_allclose(F.binary_cross_entropy(p, t, w[0]).item(),
                               (w_np[0] * plain).mean(), rtol=1e-10)
    np.testing.assert_allclose(F.mse_loss(x, t, weight=w).item(),
                               (w_np * (x_np - t_np) ** 2).sum() / w_np.sum(), rtol=1e-12)
    np.testing.assert_allclose(F.l1_loss(x, t, reduction="sum", weight=w).item(),
                               (w_np * abs(x_np - t_np)).sum(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"pos_weight of shape \(2,\) does not broadcast"):
        F.binary_cross_entropy_with_logits(x, t, pos_weight=pw[:2])


def test_loss_arguments_come_in_pytorchs_order(device):
    # The third argument is the weight (mse_loss's and l1_loss's: PyTorch's deprecated
    # size_average, then reduce): a reduction passed there by position is caught with a
    # message that says what to write, and the legacy pair maps as in PyTorch, warning
    x = make((2, 3), device, seed=15)
    t = make((2, 3), device, seed=16, requires_grad=False)
    for loss in (F.binary_cross_entropy_with_logits, F.cross_entropy):
        target = t if loss is F.binary_cross_entropy_with_logits else mg.tensor([0, 2],
                                                                               device=device)
        with pytest.raises(TypeError, match=r"third argument is the weight: pass the "
                                            r"reduction by name, reduction='sum'"):
            loss(x, target, "sum")
    with pytest.raises(TypeError, match=r"reduction='none'"):
        F.mse_loss(x, t, "none")
    squared = (x.numpy() - t.numpy()) ** 2
    with pytest.warns(DeprecationWarning, match=r"use reduction='sum'"):
        np.testing.assert_allclose(F.mse_loss(x, t, False).item(), squared.sum())
    with pytest.warns(DeprecationWarning, match=r"use reduction='none'"):
        np.testing.assert_allclose(F.l1_loss(x, t, None, False).numpy(), np.sqrt(squared))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
        F.nll_loss(x, mg.tensor([0, 1], device=device), reduction="avg")


def test_bce_gradient_at_saturated_probabilities_is_pytorchs(device):
    # p (1 - p) is clamped at 1e-12 in dloss/dp = (p - t) / (p (1 - p)): a confidently wrong
    # probability gets a large gradient, a right one none; the loss is 100 at most
    p = mg.tensor([0.0, 1.0, 0.0, 1.0, 0.3], dtype=mg.float32, device=device,
                  requires_grad=True)
    t = mg.tensor([0.0, 1.0, 1.0, 0.0, 0.6], dtype=mg.float32, device=device)
    loss = F.binary_cross_entropy(p, t, reduction="none")
    np.testing.assert_allclose(loss.numpy()[:4], [0.0, 0.0, 100.0, 100.0])
    loss.sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), [0.0, 0.0, -1e12, 1e12, -0.3 / 0.21],
                               rtol=1e-6)


@pytest.mark.parametrize("case", ["bce", "bce-logits", "mse", "cross_entropy", "nll"])
def test_losses_with_pytorchs_optional_arguments_match_pytorch(case):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    rng = np.random.default_rng(17)
    x, t, w = rng.standard_normal((4, 3)), rng.random((4, 3)), rng.random((4, 3))
    y, cw = np.array([0, 2, -100, 1]), rng.random(3) + 0.5
    calls = {  # (minigrad arguments, PyTorch's), the same order and names
        "bce": lambda lib, m: lib.binary_cross_entropy(m(1 / (1 + np.exp(-x))), m(t), m(w[0])),
        "bce-logits": lambda lib, m: lib.binary_cross_entropy_with_logits(
            m(x), m(t), m(w), reduction="sum", pos_weight=m(cw)),
        "mse": lambda lib, m: lib.mse_loss(m(x), m(t), reduction="mean", weight=m(w)),
        "cross_entropy": lambda lib, m: lib.cross_entropy(m(x), m(y), m(cw),
                                                          label_smoothing=0.3),
        "nll": lambda lib, m: lib.nll_loss(lib.log_softmax(m(x), 1), m(y), m(cw),
                                           reduction="sum"),
    }
    leaves = []

    def ours(a):                     # the first argument, the input, needs a gradient
        leaves.append(mg.tensor(a, dtype=None if a.dtype.kind == "i" else mg.float64,
                                requires_grad=not leaves))
        return leaves[-1]

    theirs_leaves = []

    def theirs(a):
        theirs_leaves.append(torch.tensor(a, requires_grad=not theirs_leaves))
        return theirs_leaves[-1]

    mine, reference = calls[case](F, ours), calls[case](TF, theirs)
    np.testing.assert_allclose(mine.item(), reference.item(), rtol=1e-12)
    mine.backward()
    reference.backward()
    for a, b in zip(leaves, theirs_leaves):
        if b.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_mse_l1_values(device):
    a, b = make((2, 3), device, seed=10), make((2, 3), device, seed=11)
    d = a.numpy() - b.numpy()
    np.testing.assert_allclose(F.mse_loss(a, b).numpy(), (d ** 2).mean())
    np.testing.assert_allclose(F.l1_loss(a, b, reduction="sum").numpy(), np.abs(d).sum())


def test_clamp_values(device):
    x = mg.tensor([-2.0, -0.2, 0.3, 2.0], device=device, requires_grad=True)
    y = x.clamp(-1.0, 1.0)
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), [-1.0, -0.2, 0.3, 1.0])
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 1.0, 1.0, 0.0])


def test_matmul_values_1d(device):
    a, b = make((3,), device, seed=12), make((3, 4), device, seed=13)
    np.testing.assert_allclose((a @ b).numpy(), a.numpy() @ b.numpy())
    np.testing.assert_allclose((b.T @ a).numpy(), b.numpy().T @ a.numpy())
    assert (a @ a).shape == ()
    col, row = make((2, 1, 5, 1), device, seed=15), make((3, 1, 4), device, seed=16)
    outer = col @ row                 # inner dimension 1: computed by broadcasting
    assert outer.shape == (2, 3, 5, 4)
    np.testing.assert_allclose(outer.numpy(), col.numpy() @ row.numpy(), rtol=1e-12)


def test_pad_crop_values(device):
    x = make((3, 4), device, seed=14)
    y = F.pad(x, (-1, 1, 1, -1))      # W: crop 1 left, pad 1 right; H: pad 1 top, crop 1
    expected = np.pad(x.numpy()[:2, 1:], ((1, 0), (0, 1)))
    np.testing.assert_allclose(y.numpy(), expected)


def test_getitem_repeats_accumulate(device):
    x = make((3, 2), device, seed=15)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[3, 3], [0, 0], [1, 1]])


def test_dropout_scales_kept_and_is_identity_in_eval(device):
    x = mg.ones(1000, device=device)
    y = F.dropout(x, 0.25).numpy()
    assert set(np.unique(y).tolist()) <= {0.0, np.float32(1 / 0.75)}
    assert 0.6 < (y > 0).mean() < 0.9
    assert F.dropout(x, 0.25, training=False) is x


def test_masked_positions_give_zero_not_nan(device):
    """where(keep, x, -inf) (a masked softmax), relu(-inf), clamp(+inf): inf * 0 is nan,
    so a mask must select, not multiply blindly."""
    x = mg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = mg.where(on(x, [True, False, True]), x, float("-inf"))
    np.testing.assert_array_equal(y.numpy(), [1.0, -np.inf, 3.0])
    (F.softmax(y, dim=0) * on(x, [1.0, 2.0, 3.0])).sum().backward()
    assert np.isfinite(x.grad.numpy()).all() and x.grad.numpy()[1] == 0.0
    inf = mg.tensor([-np.inf, np.inf], device=device)
    np.testing.assert_array_equal(F.relu(inf).numpy(), [0.0, np.inf])
    np.testing.assert_array_equal(inf.clamp(-1.0, 1.0).numpy(), [-1.0, 1.0])


@pytest.mark.parametrize("shape", [(1, 3), (2, 3, 4)], ids=["batch1", "3d"])
@pytest.mark.parametrize("slope", [0.0, 0.2])
def test_slope_mul_gradcheck_and_gradgradcheck(shape, slope, device):
    """SlopeMul (leaky_relu's derivative with a fixed switch pattern) directly: linear in x,
    its own backward."""
    from minigrad.ops.elementwise import SlopeMul

    x = make(shape, device, seed=21)
    positive = x.xp.asarray(np.random.default_rng(22).random(shape) > 0.5)
    y = SlopeMul(positive, slope)(x)
    expected = np.where(mg.backend.to_numpy(positive), x.numpy(), slope * x.numpy())
    np.testing.assert_array_equal(y.numpy(), expected)
    assert mg.gradcheck(lambda t: SlopeMul(positive, slope)(t), [x])
    assert mg.gradgradcheck(lambda t: SlopeMul(positive, slope)(t), [x])


# ----------------------------------------------------------------------- edge points, as PyTorch
@pytest.mark.parametrize("beta", [1.0, 2.0])
def test_softplus_gradient_at_zero_is_one_half_as_pytorch(beta, device):
    """d/dx (1/beta) ln(1 + e^(beta x)) = sigmoid(beta x): 1/2 at 0, for any beta."""
    x = mg.tensor([0.0, 100.0, -100.0], device=device, requires_grad=True)   # float32
    y = F.softplus(x, beta=beta)
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), [np.log(2.0) / beta, 100.0, 0.0], rtol=1e-6,
                               atol=1e-30)
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 1.0, 0.0], atol=1e-30)
    assert y.dtype == x.grad.dtype == mg.float32


def test_softplus_is_the_line_y_x_above_its_threshold_as_pytorch(device):
    # beta x > threshold: y = x and dy/dx = 1 (PyTorch's switch-over); below, the curve
    x = mg.tensor([1.0, 2.0, 0.25, -1.0], dtype=mg.float64, device=device, requires_grad=True)
    y = F.softplus(x, beta=2.0, threshold=1.0)                  # beta x = 2, 4, 0.5, -2
    y.sum().backward()
    curve = np.log1p(np.exp(2.0 * np.array([0.25, -1.0]))) / 2.0
    np.testing.assert_allclose(y.numpy(), [1.0, 2.0, *curve], rtol=1e-14)
    slope = 1 / (1 + np.exp(-2.0 * np.array([0.25, -1.0])))
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0, *slope], rtol=1e-14)


def test_pow_0_has_gradient_zero_even_at_zero(device):
    """d/dx x^0 = 0 everywhere, as in PyTorch (not 0 * 0^-1 = nan at x = 0). Checked by
    value: gradcheck's comparison lets a nan analytical gradient through."""
    x = mg.tensor([0.0, -1.5, 2.0], dtype=mg.float64, device=device, requires_grad=True)
    (g,) = mg.grad((x ** 0).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0, 0.0])


def test_std_of_a_constant_slice_has_gradient_zero_not_nan(device):
    """PyTorch's std backward is 0 where the std is 0 (sqrt's slope 1/(2*0) would be nan
    after var's backward). Elsewhere, torch's numbers; double backward stays finite."""
    x = mg.tensor([[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]], dtype=mg.float64, device=device,
                  requires_grad=True)
    y = x.std(1, unbiased=True)
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), [0.0, 1.5275252316519468])
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, 0.0, 0.0],
                                                [-0.4364357804719847, -0.1091089451179962,
                                                 0.5455447255899809]])
    assert mg.gradcheck(lambda t: t.std(1), [x])   # central differences at 0: 0 too
    (g,) = mg.grad(x[:1].std(), x, create_graph=True)            # the constant row's std
    (hessian_g,) = mg.grad((g * g).sum(), x)
    np.testing.assert_array_equal(hessian_g.numpy(), np.zeros((2, 3)))


def test_var_and_std_default_to_the_biased_estimate(device):
    x = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64, device=device)
    np.testing.assert_allclose(x.var().item(), 2.0 / 3.0)
    np.testing.assert_allclose(x.std().item(), np.sqrt(2.0 / 3.0))
    np.testing.assert_allclose(x.std(unbiased=True).item(), 1.0)           # torch's default


def test_division_by_a_zero_number_gives_inf_and_nan(device):
    """x / 0.0 as in IEEE arithmetic (and PyTorch), not Python's ZeroDivisionError;
    float32 stays float32."""
    x = mg.tensor([1.0, -1.0, 0.0], device=device, requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = x / 0.0
        np.testing.assert_array_equal(y.numpy(), [np.inf, -np.inf, np.nan])
        np.testing.assert_array_equal((x / -0.0).numpy(), [-np.inf, np.inf, np.nan])
        (y * mg.tensor([1.0, 1.0, 0.0], device=device)).sum().backward()
    assert y.dtype == mg.float32
    np.testing.assert_array_equal(x.grad.numpy(), [np.inf, np.inf, np.nan])


def test_empty_means_are_nan_as_pytorch(device):
    """The mean of nothing is 0/0 = nan, quietly (no numpy warning); a sum is 0."""
    empty = mg.zeros(0, device=device, requires_grad=True)
    logits, targets = mg.zeros(0, 3, device=device), mg.tensor(np.zeros(0, np.int64),
                                                               device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean = empty.mean()
        assert np.isnan(mean.item())
        for loss in (F.mse_loss(empty, empty), F.l1_loss(empty, empty),
                     F.cross_entropy(logits, targets), F.nll_loss(logits, targets)):
            assert np.isnan(loss.item())
        assert F.mse_loss(empty, empty, reduction="sum").item() == 0.0
        mean.backward()
        assert empty.grad.shape == (0,)
        one_row = mg.tensor([[1.0, 2.0]], device=device)
        assert np.isnan(one_row.var(0, unbiased=True).numpy()).all()   # divided by n - 1 = 0
        np.testing.assert_array_equal(one_row.var(0).numpy(), [0.0, 0.0])


def test_clamp_with_min_above_max_is_max_with_no_gradient(device):
    """PyTorch's mask (x >= min) & (x <= max): with min > max nothing is inside."""
    x = mg.tensor([-2.0, -1.0, 0.0, 1.0, 2.0], device=device, requires_grad=True)
    y = x.clamp(1.0, -1.0)
    y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), [-1.0] * 5)
    np.testing.assert_array_equal(x.grad.numpy(), [0.0] * 5)
    x.grad = None
    x.clamp(-1.0, 1.0).sum().backward()              # the bounds themselves are inside
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 1.0, 1.0, 0.0])


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "rsub", "rdiv"])
def test_a_0d_tensor_does_not_promote_a_dimensioned_one(op, device):
    """As PyTorch: float32 (N,) op float64 () is float32; each gradient in its input's
    dtype. Two 0-d tensors, or two dimensioned ones, promote as usual."""
    f = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
         "div": lambda a, b: a / b, "pow": lambda a, b: a ** b, "rsub": lambda a, b: b - a,
         "rdiv": lambda a, b: b / a}[op]
    a = mg.tensor([0.5, 1.0, 2.0], device=device, requires_grad=True)          # float32
    b = mg.tensor(1.5, dtype=mg.float64, device=device, requires_grad=True)
    y = f(a, b)
    assert y.dtype == mg.float32
    y.sum().backward()
    assert a.grad.dtype == mg.float32 and b.grad.dtype == mg.float64
    a64 = mg.tensor([0.5, 1.0, 2.0], dtype=mg.float64, device=device, requires_grad=True)
    b64 = mg.tensor(1.5, dtype=mg.float64, device=device, requires_grad=True)
    f(a64, b64).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), a64.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), b64.grad.numpy(), rtol=1e-6)
    assert f(a.sum(), b).dtype == mg.float64                        # 0-d with 0-d
    assert f(a, b64.reshape(1)).dtype == mg.float64                  # (1,) is dimensioned


def test_dims_are_checked_as_pytorch(device):
    x = mg.zeros(2, 3, device=device)
    with pytest.raises(RuntimeError, match=r"sum: dims \(0, -2\) name the same dim"):
        x.sum((0, -2))
    with pytest.raises(RuntimeError, match="same dim"):
        x.mean((1, 1))
    with pytest.raises(IndexError, match=r"argmax: dim 5 is out of range for a tensor with "
                                         r"2 dimensions, shape \(2, 3\)"):
        x.argmax(5)
    with pytest.raises(TypeError, match="sum: dim must be"):
        x.sum(1.0)
    assert x.sum(np.int64(1)).shape == (2,) and x.max(np.int64(-1)).values.shape == (2,)
    rows = mg.tensor([[1.0, 5.0], [7.0, 0.0]], device=device)
    np.testing.assert_array_equal(rows.argmax(np.int64(1)).numpy(), [1, 0])
    scalar = mg.tensor(3.0, device=device)
    assert scalar.argmax(0).item() == 0 and scalar.sum(-1, keepdim=True).shape == ()


def test_max_and_min_of_an_integer_tensor(device):
    x = mg.tensor([[1, 5, 2], [7, 0, 3]], device=device)
    assert x.max().item() == 7 and x.min().item() == 0
    assert x.max().dtype == x.dtype
    np.testing.assert_array_equal(x.max((0, 1), keepdim=True).numpy(), [[7]])
    np.testing.assert_array_equal(x.min(1).values.numpy(), [1, 0])


@pytest.mark.parametrize("x_shape", [(4, 3), (2, 5, 3), (3,)])
def test_linear_with_a_1d_weight_drops_the_output_dim(x_shape, device):
    x, w = make(x_shape, device, seed=5), make((3,), device, seed=6)
    y = F.linear(x, w)                      # PyTorch: (..., in) @ (in,) -> (...)
    assert y.shape == x_shape[:-1]
    np.testing.assert_allclose(y.numpy(), x.numpy() @ w.numpy())
    assert mg.gradcheck(F.linear, [x, w])
    assert mg.gradgradcheck(F.linear, [x, w])


def test_linear_with_a_1d_weight_and_a_bias_or_wrong_size_raises(device):
    x = mg.zeros(4, 3, device=device)
    with pytest.raises(ValueError, match=r"linear.*\(3,\).*\(4, 3\)"):
        F.linear(x, mg.zeros(3, device=device), mg.zeros(1, device=device))
    with pytest.raises(ValueError, match=r"linear.*\(5,\).*\(4, 3\)"):
        F.linear(x, mg.zeros(5, device=device))


# ----------------------------------------------------------------------- the Tensor API, as PyTorch
def test_augmented_assignment_is_in_place_where_autograd_allows(device):
    # `with no_grad(): p -= lr * p.grad` updates p and its views, as in PyTorch; in a graph
    # (a non-leaf, or a value that requires grad) the name takes the new tensor x + y
    w = mg.tensor([1.0, -2.0, 3.0], device=device, requires_grad=True)
    for _ in range(3):
        (w * w).sum().backward()
        with mg.no_grad():
            w -= 0.1 * w.grad
        w.grad = None
    np.testing.assert_allclose(w.numpy(), [0.512, -1.024, 1.536], rtol=1e-6)
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    row, same = x[0], x
    row += 10
    same *= 2
    same /= 4
    np.testing.assert_allclose(x.numpy(), [[5.5, 6.0], [1.5, 2.0]])
    assert same is x
    a = make((3,), device, seed=20)
    y = a * 2
    y += a                                   # a non-leaf: the graph's x + y, not in place
    loss = (a * a).sum()
    loss += a.sum()                          # a value that requires grad: the same
    (y.sum() + loss).backward()
    np.testing.assert_allclose(a.grad.numpy(), 3 + 2 * a.numpy() + 1)
    counts = mg.tensor([1, 2], device=device)
    with pytest.raises(TypeError, match=r"add_: the result with float cannot be stored in "
                                        r"place in a int64 tensor"):
        counts += 1.5
    # as in PyTorch: a parameter does not change in place while gradients are recorded,
    # and the result keeps x's shape and dtype
    with pytest.raises(RuntimeError, match=r"x -= y: a leaf tensor of shape \(3,\) that "
                                           r"requires grad"):
        w -= 0.5 * w
    y = a * 2
    with pytest.raises(RuntimeError, match=r"x \+= y: the result, float64 of shape "
                                           r"\(2, 3\), must keep x's float64 and shape"):
        y += mg.ones(2, 3, dtype=mg.float64, device=device)


def test_tensor_conversions_and_construction_as_pytorch(device):
    t = mg.tensor(2.5, device=device)
    assert float(t) == 2.5 and int(t) == 2
    assert [10, 11, 12][mg.tensor(1, device=device)] == 11
    with pytest.raises(TypeError, match="only integer tensors of a single element"):
        [10, 11][mg.tensor(1.0, device=device)]
    x = mg.tensor([1.5, -2.5], device=device, requires_grad=True)
    assert x.long().dtype == mg.int64 and x.int().dtype == np.int32
    np.testing.assert_array_equal(x.long().numpy(), [1, -2])
    assert not x.long().requires_grad and not x.to(mg.int64).requires_grad   # no gradient
    assert x.bool().numpy().tolist() == [True, True]
    stacked = mg.tensor([mg.tensor(1.0), mg.tensor(2.0)], device=device)
    assert stacked.dtype == mg.float32 and stacked.numpy().tolist() == [1.0, 2.0]
    assert mg.full((2,), 3).dtype == mg.int64 and mg.full((2,), True).dtype == np.bool_
    assert mg.full((2,), 1.5).dtype == mg.float32


def test_an_array_of_a_higher_kind_is_not_truncated(device):
    # int tensor + float array: float (numpy's float64, as torch.from_numpy), not int;
    # a float64 array beside a float32 tensor still takes the tensor's float32
    counts = mg.tensor([1, 2], device=device)
    half = np.array([0.5, 0.5])
    for result, expected in ((counts + half, [1.5, 2.5]), (counts / half, [2.0, 4.0]),
                             (half * counts, [0.5, 1.0])):
        assert result.dtype == mg.float64
        np.testing.assert_allclose(result.numpy(), expected)
    assert (mg.tensor([1.0, 2.0], device=device) + half).dtype == mg.float32


def test_nan_wins_maximum_minimum_and_max_with_its_gradient(device):
    a = mg.tensor([np.nan, 5.0, 1.0], device=device, requires_grad=True)
    b = mg.tensor([1.5, np.nan, 2.0], device=device, requires_grad=True)
    for f, finite in ((mg.maximum, 2.0), (mg.minimum, 1.0)):
        y = f(a, b)
        np.testing.assert_array_equal(y.numpy(), [np.nan, np.nan, finite])
    mg.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(b.grad.numpy(), [0.0, 1.0, 1.0])
    x = mg.tensor([1.0, np.nan, 3.0], device=device, requires_grad=True)
    top = x.max()
    top.backward()
    assert np.isnan(top.item())
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 0.0])


def test_cat_and_stack_promote_as_pytorch(device):
    counts = mg.tensor([1, 2], device=device)
    half = mg.tensor([0.5], device=device, requires_grad=True)
    y = mg.cat([counts, half])                  # numpy alone: int64 and float32 -> float64
    assert y.dtype == mg.float32
    np.testing.assert_array_equal(y.numpy(), [1.0, 2.0, 0.5])
    y.sum().backward()
    np.testing.assert_array_equal(half.grad.numpy(), [1.0])
    assert mg.stack([half, mg.tensor([2], device=device)]).dtype == mg.float32
    wide = mg.tensor([1.0], dtype=mg.float64, device=device)
    assert mg.cat([wide, half]).dtype == mg.float64


def test_floor_divide_and_remainder_as_pytorch(device):
    """Python's rounding (down, the divisor's sign), PyTorch's dtypes and its errors."""
    ints = mg.tensor([5, -3, 7], device=device)
    np.testing.assert_array_equal((ints // 2).numpy(), [2, -2, 3])
    np.testing.assert_array_equal((ints % 2).numpy(), [1, 1, 1])
    np.testing.assert_array_equal((ints % -2).numpy(), [-1, -1, -1])
    np.testing.assert_array_equal((7 // mg.tensor([2, -3], device=device)).numpy(), [3, -3])
    np.testing.assert_array_equal((7 % mg.tensor([2, -3], device=device)).numpy(), [1, -2])
    assert (ints // 2).dtype == mg.int64
    assert (mg.tensor([5], dtype=mg.int32, device=device) % 2).dtype == mg.int32
    assert (ints // 2.5).dtype == mg.float32 and (ints % 2.5).dtype == mg.float32
    floats = mg.tensor([-7.5, 7.5], device=device)
    np.testing.assert_array_equal((floats % 2).numpy(), [0.5, 1.5])
    np.testing.assert_array_equal((floats % -2).numpy(), [-1.5, -0.5])
    np.testing.assert_array_equal((floats // 2).numpy(), [-4.0, 3.0])
    by_zero = mg.tensor([5.0, 0.0, -5.0], device=device)
    np.testing.assert_array_equal((by_zero // 0).numpy(), [np.inf, np.nan, -np.inf])
    assert np.isnan((by_zero % 0).numpy()).all()
    with pytest.raises(ZeroDivisionError, match="floor_divide: integer division by zero"):
        ints // 0
    with pytest.raises(ZeroDivisionError, match="remainder"):
        ints % mg.tensor([1, 0, 1], device=device)
    mask = mg.tensor([True], device=device)
    with pytest.raises(RuntimeError, match="remainder: not implemented for two bool"):
        mask % mask


def test_remainder_gradients_and_floor_divide_refusing_backward(device):
    a = mg.tensor([5.5, -3.2, 7.0], dtype=mg.float64, device=device, requires_grad=True)
    b = mg.tensor([2.0, 2.0, -3.0], dtype=mg.float64, device=device, requires_grad=True)
    y = a % b
    np.testing.assert_allclose(y.numpy(), [1.5, 0.8, -2.0], rtol=1e-12)
    y.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(b.grad.numpy(), [-2.0, 2.0, 3.0])     # -floor(a / b)
    with pytest.raises(RuntimeError, match="floor_divide .*no derivative"):
        (a // b).sum().backward()


def test_argmin_as_argmax(device):
    x = mg.tensor([[1.0, 0.0, 0.0], [2.0, 2.0, -1.0]], device=device)
    np.testing.assert_array_equal(x.argmin(1).numpy(), [1, 2])           # ties: the first
    assert x.argmin().item() == 5 and mg.argmin(x, 0, keepdim=True).shape == (1, 3)
    assert mg.tensor([np.nan, 1.0], device=device).argmin().item() == 0  # nan: the smallest
    assert mg.tensor([3, 1, 1], device=device).argmin().item() == 1
    assert mg.argmax(x, 1).dtype == mg.int64


def test_split_and_chunk_as_pytorch(device):
    x = mg.arange(10.0, device=device)
    shapes = lambda pieces: [p.shape for p in pieces]     # noqa: E731
    assert shapes(x.chunk(3)) == [(4,), (4,), (2,)]
    assert shapes(x.chunk(4)) == [(3,), (3,), (3,), (1,)]
    assert shapes(mg.arange(6.0, device=device).chunk(4)) == [(2,), (2,), (2,)]
    assert shapes(x.split(4)) == [(4,), (4,), (2,)]
    assert shapes(mg.split(x, [3, 7])) == [(3,), (7,)]
    assert shapes(mg.zeros(0, device=device).chunk(2)) == [(0,), (0,)]
    assert shapes(mg.zeros(0, device=device).split(2)) == [(0,)]
    assert shapes(mg.chunk(mg.zeros(2, 5, device=device), 2, dim=-1)) == [(2, 3), (2, 2)]
    np.testing.assert_array_equal(x.split([3, 7])[1].numpy(), np.arange(3.0, 10.0))
    with pytest.raises(ValueError, match=r"split: sizes \[3, 6\] must .* add up to 10"):
        x.split([3, 6])
    with pytest.raises(ValueError, match="split: split_size must be positive"):
        x.split(0)
    with pytest.raises(ValueError, match="chunk: chunks must be positive"):
        x.chunk(0)
    with pytest.raises(TypeError, match="chunk: chunks must be an int"):
        x.chunk(2.0)
    with pytest.raises(ValueError, match="at least 1 dimension"):
        mg.tensor(1.0, device=device).chunk(1)
    with pytest.raises(IndexError, match="chunk: dimension 1 is out of range"):
        x.chunk(2, dim=1)


def test_clamp_with_tensor_bounds_routes_the_gradient_as_pytorch(device):
    """Each y is x, lo or hi, and its gradient goes there; ties go to x (PyTorch's
    numbers, from torch.clamp on the same values)."""
    x = mg.tensor([0.0, 1.0, 2.0, 3.0], device=device, requires_grad=True)
    lo = mg.tensor([1.0, 1.0, 1.0, 1.0], device=device, requires_grad=True)
    hi = mg.tensor([2.0, 2.0, 2.0, 2.5], device=device, requires_grad=True)
    y = x.clamp(lo, hi)
    y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), [1.0, 1.0, 2.0, 2.5])
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 1.0, 0.0])
    np.testing.assert_array_equal(lo.grad.numpy(), [1.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(hi.grad.numpy(), [0.0, 0.0, 0.0, 1.0])
    ints = mg.tensor([1, 5, 9], device=device)
    clipped = ints.clamp(mg.tensor(2, device=device), mg.tensor([3, 4, 8], device=device))
    assert clipped.dtype == mg.int64
    np.testing.assert_array_equal(clipped.numpy(), [2, 4, 8])
    assert np.isnan(mg.tensor([1.0], device=device).clamp(
        max=mg.tensor([np.nan], device=device)).numpy()).all()


def test_pad_modes_as_pytorch(device):
    """PyTorch's numbers for a row 0 1 2 3 (from torch.nn.functional.pad)."""
    row = mg.arange(4.0, device=device).reshape(1, 1, 4)
    expected = {
        ("reflect", (2, 3)): [2, 1, 0, 1, 2, 3, 2, 1, 0],
        ("replicate", (2, 3)): [0, 0, 0, 1, 2, 3, 3, 3, 3],
        ("circular", (2, 3)): [2, 3, 0, 1, 2, 3, 0, 1, 2],
        ("reflect", (-1, 2)): [1, 2, 3, 2, 1],
        ("replicate", (-1, 2)): [1, 2, 3, 3, 3],
        ("circular", (-1, 2)): [1, 2, 3, 1, 2],           # crops first, then wraps
        ("circular", (2, -1)): [1, 2, 0, 1, 2],
    }
    for (mode, widths), values in expected.items():
        np.testing.assert_array_equal(F.pad(row, widths, mode=mode).numpy().ravel(), values)
    x = make((1, 1, 2, 2), device, seed=3)
    y = F.pad(x, (1, 1, 1, 1), mode="replicate")          # each corner pixel: 4 copies
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((1, 1, 2, 2), 4.0))
    with pytest.raises(ValueError, match="pad: mode 'reflect' needs widths of at most 3"):
        F.pad(row, (4, 0), mode="reflect")
    with pytest.raises(ValueError, match="pads the last 1, 2 or 3 dims"):
        F.pad(mg.zeros(4, device=device), (1, 1), mode="reflect")
    with pytest.raises(ValueError, match="takes no value"):
        F.pad(row, (1, 1), mode="replicate", value=0.0)
    with pytest.raises(NotImplementedError, match="mode 'symmetric' is not implemented"):
        F.pad(row, (1, 1), mode="symmetric")


def test_padding_layers(device):
    image = mg.arange(4.0, device=device).reshape(1, 1, 2, 2)
    np.testing.assert_array_equal(nn.ReflectionPad2d((1, 0, 0, 1))(image).numpy()[0, 0],
                                  [[1, 0, 1], [3, 2, 3], [1, 0, 1]])
    np.testing.assert_array_equal(nn.ReplicationPad2d(1)(image).numpy()[0, 0, 0], [0, 0, 1, 1])
    np.testing.assert_array_equal(nn.CircularPad2d((1, 0, 0, 0))(image).numpy()[0, 0],
                                  [[1, 0, 1], [3, 2, 3]])
    np.testing.assert_array_equal(nn.ZeroPad2d(1)(image).numpy()[0, 0, 0], [0, 0, 0, 0])
    assert nn.ConstantPad2d(2, 0.5)(image).numpy()[0, 0, 0, 0] == 0.5
    assert nn.ReflectionPad2d(1)(image[0]).shape == (1, 4, 4)           # (C, H, W)
    with pytest.raises(ValueError, match="ReflectionPad2d: padding must be an int or"):
        nn.ReflectionPad2d((1, 1))


def test_an_empty_dim_tuple_reduces_every_dim_as_pytorch(device):
    """PyTorch reads x.sum(dim=()) as every dim (numpy would reduce none)."""
    x = mg.arange(6.0, device=device).reshape(2, 3)
    assert x.sum(dim=()).item() == 15.0 and x.mean(dim=[]).item() == 2.5
    assert x.sum(dim=(), keepdim=True).shape == (1, 1)
    assert x.amax(()).item() == 5.0 and x.var(()).item() == pytest.approx(35 / 12)
