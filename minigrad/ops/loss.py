"""Activations and losses that need no convolution. Most are compositions of primitive
ops, so each inherits its backward (and double backward) from them; the docstrings give
the formula and say what makes it numerically stable.

The exceptions: binary_cross_entropy_with_logits, the loss of every GAN step (three times
in a DCGAN step), is one op, `BCEWithLogits`, with its derivative written out, and that
derivative one op too, `BCEWithLogitsGrad`, where the composition took eleven ops forward
and twelve backward (on the GPU, each one a kernel launch or more); binary_cross_entropy is
one op, `BCE`, to give PyTorch's derivative where p saturates at 0 or 1.

The arguments come in PyTorch's order: `weight` (and for the class losses `ignore_index`)
before `reduction`, and PyTorch's deprecated `size_average` / `reduce` in their places.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from kernels import pointwise

from ..autograd import Function
from ..backend import to_numpy, xp_of
from ..tensor import Tensor
from . import elementwise as E
from .index import getitem
from .reduce import max as _max
from .reduce import _per, mean, sum
from .shape import sum_to


def _reduction(op: str, reduction, size_average=None, reduce=None) -> str:
    """The reduction to apply: `reduction`, or what PyTorch's legacy size_average and
    reduce say when either is given (deprecated in PyTorch, and here)."""
    if isinstance(size_average, str) or isinstance(reduce, str):
        given = size_average if isinstance(size_average, str) else reduce
        raise TypeError(f"{op}: got {given!r} for size_average or reduce (PyTorch's "
                        f"deprecated arguments, in its order); pass the reduction by name, "
                        f"reduction={given!r}")
    if size_average is not None or reduce is not None:
        reduction = "none" if reduce is False else "sum" if size_average is False else "mean"
        warnings.warn(f"{op}: size_average and reduce are deprecated (as in PyTorch); use "
                      f"reduction={reduction!r}", DeprecationWarning, stacklevel=3)
    if not isinstance(reduction, str) or reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got "
                         f"{reduction!r}")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return mean(loss)
    return sum(loss) if reduction == "sum" else loss


def _check_weight(op: str, weight) -> None:
    """A string where the weight goes is a reduction passed by position: in PyTorch's order
    the third argument is the weight."""
    if isinstance(weight, str):
        raise TypeError(f"{op}: got {weight!r} for weight; as in PyTorch the third argument "
                        f"is the weight: pass the reduction by name, reduction={weight!r}")


def _weighted(op: str, loss: Tensor, weight, like: Tensor) -> Tensor:
    """loss * weight, the weight broadcast over the loss (never the other way)."""
    _check_weight(op, weight)
    if weight is None:
        return loss
    weight = _in_dtype(E.as_tensor(weight, like), like)
    _check_broadcasts(op, "weight", weight, loss)
    return loss * weight


def _in_dtype(weight: Tensor, like: Tensor) -> Tensor:
    """A weight in the input's float dtype: as in PyTorch, a float64 weight does not make
    a float32 loss float64."""
    return weight if weight.dtype == like.dtype else weight.to_dtype(like.dtype)


def _check_broadcasts(op: str, name: str, weight: Tensor, input: Tensor) -> None:
    """A weight may repeat over the input (PyTorch's broadcasting), never grow it."""
    shape = tuple(input.shape)
    try:
        ok = np.broadcast_shapes(tuple(weight.shape), shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{op}: {name} of shape {tuple(weight.shape)} does not broadcast to "
                         f"the input's shape {shape}")


def _require_float(op: str, input: Tensor, name: str = "input") -> None:
    """As PyTorch ("not implemented for 'Long'"): an integer tensor here would give a loss
    (or a scaled mask) in some float dtype nobody chose."""
    if not input.is_floating_point():
        raise TypeError(f"{op}: only floating point tensors, got {name} of {input.dtype} "
                        f"(shape {tuple(input.shape)}); convert it first, e.g. x.float()")


def _check_same_shape(op: str, input: Tensor, other: Tensor, name: str = "target") -> None:
    if tuple(input.shape) != tuple(other.shape):
        raise ValueError(f"{op}: input shape {tuple(input.shape)} and {name} shape "
                         f"{tuple(other.shape)} must be equal")


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """softmax(x)_i = e^(x_i - m) / sum_j e^(x_j - m), with m = max_j x_j (a constant:
    subtracting it changes nothing mathematically and keeps e^. from overflowing).
    dtype: the input is cast to it first. dim None: PyTorch's deprecated implicit
    choice, with its warning (see _softmax_input)."""
    input, dim = _softmax_input("softmax", input, dim, dtype, _stacklevel)
    shift = _max(input, dim, keepdim=True).values.detach()
    e = E.exp(input - shift)
    return e / sum(e, dim, keepdim=True)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """log softmax(x)_i = (x_i - m) - log sum_j e^(x_j - m)   (the log-sum-exp trick)."""
    input, dim = _softmax_input("log_softmax", input, dim, dtype, _stacklevel)
    shifted = input - _max(input, dim, keepdim=True).values.detach()
    return shifted - E.log(sum(E.exp(shifted), dim, keepdim=True))


def _softmax_input(op: str, input: Tensor, dim, dtype, stacklevel: int):
    """(input cast to dtype, the dim to normalize over). Without a dim PyTorch picks one,
    with a deprecation warning: dim 0 for 0-, 1- and 3-D input, dim 1 otherwise (the
    classes of (N, C) and (N, C, H, W)). Old code relies on it, so the same rule here."""
    if dtype is not None:
        from .shape import to_dtype  # noqa: PLC0415

        input = to_dtype(input, dtype)
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1
        warnings.warn(f"{op}: the implicit choice of dim is deprecated (as in PyTorch); "
                      f"it picked dim={dim} for an input of shape {tuple(input.shape)}. "
                      f"Pass dim={dim} to keep this.", UserWarning, stacklevel=stacklevel)
    return input, dim


def _pointwise_loss(op: str, error: Tensor, weight, reduction: str) -> Tensor:
    """mse_loss's and l1_loss's reduction: as PyTorch, with a weight (of the input's
    shape) the mean is sum(weight * error) / sum(weight)."""
    if weight is None:
        return _reduce(error, reduction)
    weight = _in_dtype(E.as_tensor(weight, error), error)
    _check_same_shape(op, error, weight, "weight")
    weighted = error * weight
    return sum(weighted) / sum(weight) if reduction == "mean" else _reduce(weighted, reduction)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight=None) -> Tensor:
    """mean((input - target)^2)   (with a weight w: sum(w (input - target)^2) / sum(w))"""
    reduction = _reduction("mse_loss", reduction, size_average, reduce)
    _require_float("mse_loss", input)
    target = E.as_tensor(target, input)
    _check_same_shape("mse_loss", input, target)
    diff = input - target
    return _pointwise_loss("mse_loss", diff * diff, weight, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight=None) -> Tensor:
    """mean(|input - target|)   (with a weight w: sum(w |input - target|) / sum(w))"""
    reduction = _reduction("l1_loss", reduction, size_average, reduce)
    target = E.as_tensor(target, input)
    _check_same_shape("l1_loss", input, target)
    return _pointwise_loss("l1_loss", E.abs(input - target), weight, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Per element, with d = |input - target|: 0.5 d^2 / beta where d < beta, else
    d - 0.5 beta (quadratic near 0, then linear: L1 that is smooth at 0). beta = 0 is L1.

    The quadratic is computed on min(d, beta): `where`'s backward multiplies the unused
    branch's gradient by 0, and in d * d's backward 0 * d would be 0 * inf = nan for an
    infinite difference (whose gradient is +-1, as in PyTorch)."""
    reduction = _reduction("smooth_l1_loss", reduction, size_average, reduce)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    _require_float("smooth_l1_loss", input)
    target = E.as_tensor(target, input)
    _check_same_shape("smooth_l1_loss", input, target)
    d = E.abs(input - target)
    if beta == 0:
        return _reduce(d, reduction)
    small = d.data < beta
    near = E.clamp(d, max=beta)              # the quadratic on min(d, beta): see above
    return _reduce(E.where(small, near * near * (0.5 / beta), d - 0.5 * beta), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean",
               delta: float = 1.0) -> Tensor:
    """Per element, with d = |input - target|: 0.5 d^2 where d < delta, else
    delta (d - 0.5 delta): smooth_l1_loss with beta = delta, times delta."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    reduction = _reduction("huber_loss", reduction)
    _require_float("huber_loss", input)
    target = E.as_tensor(target, input)
    _check_same_shape("huber_loss", input, target)
    d = E.abs(input - target)
    small = d.data < delta
    near = E.clamp(d, max=delta)             # as in smooth_l1_loss: no 0 * inf = nan
    return _reduce(E.where(small, near * near * 0.5, (d - 0.5 * delta) * delta), reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """The negative log-likelihood of target under N(input, var), per element:
        0.5 (log v + (input - target)^2 / v)     (+ 0.5 log(2 pi) when full)
    with v = max(var, eps). As PyTorch, the clamp changes the value only: the gradient
    reaches var as if unclamped (PyTorch clamps a copy in place under no_grad). var has
    input's shape, or one per row (input's shape without its last dim, or with a 1 in
    one dim), or is one number. InfoGAN's loss for its continuous codes."""
    op = "gaussian_nll_loss"
    reduction = _reduction(op, reduction)
    _require_float(op, input)
    target = E.as_tensor(target, input)
    _check_same_shape(op, input, target)
    if not isinstance(var, Tensor):
        if float(var) < 0:
            raise ValueError(f"{op}: var has a negative entry: {var}")
        var = E.as_tensor(float(var), input)
    else:
        _require_float(op, var, "var")
        if bool(var.xp.any(var.data < 0)):                 # (one host sync, as PyTorch)
            raise ValueError(f"{op}: var has a negative entry (shape {tuple(var.shape)})")
        shape, var_shape = tuple(input.shape), tuple(var.shape)
        if var_shape == shape[:-1]:                        # one variance per row
            var = var.unsqueeze(-1)
        elif var_shape != shape and not (
                len(var_shape) == len(shape)
                and [v for v, n in zip(var_shape, shape) if v != n] == [1]):
            raise ValueError(f"{op}: var of shape {var_shape} fits neither input's shape "
                             f"{shape}, nor one per row {shape[:-1]}, nor input's shape "
                             f"with one dim of 1")
    floor = var.xp.maximum(var.data, eps) - var.data      # 0 wherever var >= eps
    var = var + Tensor._from_op(floor.astype(var.dtype, copy=False), False)
    diff = input - target
    loss = (E.log(var) + diff * diff / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL(target || q) pointwise, with input = log q (log-probabilities, as PyTorch):
        target (log target - input),  0 where target = 0 (0 log 0 = 0);
        log_target=True: target is given as log-probabilities, exp(t) (t - input).
    reduction "batchmean" divides the sum by the batch size: the true KL divergence per
    sample. "mean" divides by every element (PyTorch's default, and its warning)."""
    if reduction == "batchmean":
        kind = "batchmean"
    else:
        kind = _reduction("kl_div", reduction, size_average, reduce)
    _require_float("kl_div", input)
    target = E.as_tensor(target, input)
    _require_float("kl_div", target, "target")                  # as PyTorch: both
    _check_same_shape("kl_div", input, target)
    if log_target:
        pointwise = E.exp(target) * (target - input)
    else:
        zero = target.data == 0                        # t log t -> 0 as t -> 0
        log_t = E.log(E.where(zero, 1.0, target))      # (a negative t: nan, as PyTorch)
        pointwise = E.where(zero, 0.0, target * (log_t - input))
    if kind == "batchmean":
        return sum(pointwise) / (input.shape[0] if input.ndim else 1)
    if kind == "mean":
        warnings.warn("kl_div: reduction='mean' divides by the number of elements, not by "
                      "the batch size; reduction='batchmean' gives the KL divergence (as "
                      "PyTorch warns)", UserWarning, stacklevel=2)
    return _reduce(pointwise, kind)


def _clamped_log(x: Tensor) -> Tensor:
    """max(log x, -100) for x in [0, 1], as ops: -100 at x = 0, with a zero gradient there
    (log is taken of 1 instead, under a constant mask), so no inf or nan is ever formed."""
    positive = x.data > 0
    safe = E.where(positive, x, 1.0)
    return E.where(positive, E.clamp(E.log(safe), min=-100.0), -100.0)


class BCE(Function):
    """loss = -(t max(log p, -100) + (1 - t) max(log(1 - p), -100))   (p probabilities)
    dloss/dp = (p - t) / max(p (1 - p), 1e-12)
    dloss/dt = max(log(1 - p), -100) - max(log p, -100)

    PyTorch's definition, clamps included: p = 0 or 1 gives a large finite loss instead of
    inf. The derivative in p is PyTorch's too, the true one wherever p (1 - p) > 1e-12:
    where a probability saturates (p = 0 with t = 1, say: a float32 sigmoid rounds to 0
    below -104) it is -1e12, a confidently wrong prediction pushed hard, where the clamped
    curve is flat (0). The backward is written in ops, for gradients of any order."""

    def forward(self, p, t):
        xp = xp_of(p)
        with np.errstate(divide="ignore"):                        # log 0 = -inf, clamped
            log_p = xp.maximum(xp.log(p), -100)
            log_1mp = xp.maximum(xp.log1p(-p), -100)
        return -(t * log_p + (1 - t) * log_1mp)

    def backward(self, g):
        p, t = self.inputs
        grad_p = grad_t = None
        if self.needs_input_grad[0]:
            grad_p = g * (p - t) / E.clamp(p * (1.0 - p), min=1e-12)
        if self.needs_input_grad[1]:
            grad_t = g * (_clamped_log(1.0 - p) - _clamped_log(p))
        return grad_p, grad_t


def binary_cross_entropy(input: Tensor, target, weight=None, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """-(t log p + (1 - t) log(1 - p)) for probabilities p = input, times `weight` (which
    broadcasts to the input's shape) if given, averaged (or summed).

    As in PyTorch, each log is clamped at -100 so that p = 0 or 1 gives a large finite loss
    instead of inf, and the gradient is PyTorch's (the BCE op above). Prefer
    binary_cross_entropy_with_logits: it never needs the clamp.

    Also as in PyTorch, an input or a target outside [0, 1] (or nan) is an error: the
    classic mistake of passing a discriminator's logits here would otherwise give a finite,
    wrong loss (and a target of 2 a loss of no meaning)."""
    op = "binary_cross_entropy"
    reduction = _reduction(op, reduction, size_average, reduce)
    target = E.as_tensor(target, input)
    _check_same_shape(op, input, target)
    if input.data.size:      # one wait for the GPU: the four numbers come back at once
        p, t, xp = input.data, target.data, input.xp
        lowest, highest, t_lowest, t_highest = (float(v) for v in to_numpy(xp.stack(
            [v.astype(np.float64) for v in (p.min(), p.max(), t.min(), t.max())])))
        if not (lowest >= 0.0 and highest <= 1.0):
            raise ValueError(f"binary_cross_entropy: input must hold probabilities in [0, 1], "
                             f"got values in [{lowest:.4g}, {highest:.4g}]; for logits (a "
                             f"discriminator's raw output) use "
                             f"binary_cross_entropy_with_logits")
        if not (t_lowest >= 0.0 and t_highest <= 1.0):
            raise ValueError(f"binary_cross_entropy: target must hold values in [0, 1], got "
                             f"values in [{t_lowest:.4g}, {t_highest:.4g}]")
    return _reduce(_weighted(op, BCE()(input, target), weight, input), reduction)


class BCEWithLogits(Function):
    """loss_i = max(x_i, 0) - x_i t_i + log(1 + e^-|x_i|)    (x logits, t targets)
    y = loss (reduction "none"), sum_i loss_i ("sum") or c sum_i loss_i, c = 1/n ("mean")
    With g = dL/dy (a reduced y's g is one number, broadcast over x) and c = 1 unless "mean":
    dL/dx = c g (sigmoid(x) - t)
    dL/dt = -c g x

    The loss is -(t log s + (1 - t) log(1 - s)) with s = sigmoid(x), rewritten so that
    nothing overflows: e^-|x| is at most 1. The forward is one fused loop
    (kernels/pointwise.py), then the sum and the scale (as `mean` computes them); so is the
    input gradient g (sigmoid(x) - t), an op of its own (BCEWithLogitsGrad, below) that
    can itself be differentiated. The reduction is part of the op, as in PyTorch: a GAN's
    loss is taken three times a step, and as Sum and MulScalar it cost two more ops forward
    and three backward each time (on the GPU, each op a launch the host waits to issue)."""

    def __init__(self, reduction: str = "none"):
        self.reduction = reduction

    def forward(self, x, t):
        loss = pointwise.bce_with_logits(x, t)
        if self.reduction == "none":
            return loss
        total = loss.sum(axis=tuple(range(loss.ndim)))          # as Sum: one number
        if self.reduction == "sum":
            return total
        self.scale = _per(loss.size)                              # 1/n, as mean
        return total * self.scale

    def backward(self, g):
        x, t = self.inputs
        if self.reduction == "mean":
            g = g * self.scale                                    # c g, one number
        grad_x = BCEWithLogitsGrad()(g, x, t) if self.needs_input_grad[0] else None
        grad_t = None
        if self.needs_input_grad[1]:
            # A one-number g does not promote x (a 0-d tensor never does): a float32 x with
            # a float64 target would give -g x in float32. So x comes in g's dtype first.
            grad_t = -(g * (x if x.dtype == g.dtype else x.to_dtype(g.dtype)))
        return grad_x, grad_t


class BCEWithLogitsGrad(Function):
    """y = g (sigmoid(x) - t): BCEWithLogits's input gradient, g the loss's gradient.
    dy/dg = sigmoid(x) - t
    dy/dx = g sigmoid(x) (1 - sigmoid(x))
    dy/dt = -g

    The composition sigmoid, subtract, multiply as one fused loop (kernels/pointwise.py),
    with the same roundings: a GAN's loss takes its backward three times a step, and on the
    GPU each op is a kernel launch the host waits to issue (bench/README.md, "Fourteenth
    round"). Its own backward is written with minigrad ops, for gradients of any order."""

    def forward(self, g, x, t):
        return pointwise.bce_with_logits_grad(g, x, t)

    def backward(self, gy):
        g, x, t = self.inputs
        needs = self.needs_input_grad
        s = E.sigmoid(x) if needs[0] or needs[1] else None
        d_g = sum_to(gy * (s - t), g.shape) if needs[0] else None
        d_x = sum_to(gy * g * s * (1.0 - s), x.shape) if needs[1] else None
        d_t = sum_to(-(gy * g), t.shape) if needs[2] else None
        return d_g, d_x, d_t


def binary_cross_entropy_with_logits(input: Tensor, target, weight=None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight=None) -> Tensor:
    """BCE on logits x: max(x, 0) - x t + log(1 + e^-|x|), averaged (or summed).

    Equal to -(t log sigmoid(x) + (1-t) log(1 - sigmoid(x))) but finite for any x: e^-|x|
    is at most 1, so nothing overflows even for |x| = 1e4 (where sigmoid(x) rounds to 0
    or 1 and the naive form takes log 0). One op, BCEWithLogits (above), the reduction
    included.

    As in PyTorch, `weight` multiplies each element's loss, and `pos_weight` (one per
    class, broadcast over the last dim) the positive term: the loss is then
    (1 - t) x + (1 + (pos_weight - 1) t) softplus(-x), as ops."""
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(op, reduction, size_average, reduce)
    target = E.as_tensor(target, input)
    _check_same_shape(op, input, target)
    _check_weight(op, weight)
    if weight is None and pos_weight is None:
        return BCEWithLogits(reduction)(input, target)
    if pos_weight is None:
        loss = BCEWithLogits()(input, target)
    else:
        pos_weight = _in_dtype(E.as_tensor(pos_weight, input), input)
        _check_broadcasts(op, "pos_weight", pos_weight, input)
        positive = 1.0 + (pos_weight - 1.0) * target
        loss = (1.0 - target) * input + positive * E.softplus(-input, threshold=math.inf)
    return _reduce(_weighted(op, loss, weight, input), reduction)


def _class_weights(op: str, weight, n_classes: int, like: Tensor):
    """The per-class weight as a constant array (C,), or None."""
    _check_weight(op, weight)
    if weight is None:
        return None
    weight = weight.data if isinstance(weight, Tensor) else like.xp.asarray(weight)
    if weight.shape != (n_classes,):
        raise ValueError(f"{op}: weight must have one entry per class, shape "
                         f"({n_classes},), got {tuple(weight.shape)}")
    return weight.astype(like.dtype, copy=False)


def nll_loss(input: Tensor, target, weight=None, size_average=None, ignore_index: int = -100,
             reduce=None, reduction: str = "mean") -> Tensor:
    """-w[t_n] input[n, t_n] for log-probabilities `input` and class indices t, averaged over
    n with the weights: sum_n -w[t_n] input[n, t_n] / sum_n w[t_n] (w = 1 without a
    weight). Positions whose target is `ignore_index` add nothing, to either sum.

    As in PyTorch, the class dim is dim 1: input (N, C) with integer targets (N,); (N, C,
    d1, d2, ...) with (N, d1, d2, ...), one class per position (the mean is over every
    position); or (C,) with a 0-d target. The weight is a constant (no gradient)."""
    reduction = _reduction("nll_loss", reduction, size_average, reduce)
    return _nll("nll_loss", input, target, weight, ignore_index, reduction)


def _labels(op: str, input: Tensor, target, ignore_index: int):
    """The class indices, checked (one wait for the GPU: three numbers come back at once),
    and where they are not ignore_index."""
    labels = target.data if isinstance(target, Tensor) else input.xp.asarray(target)
    shape_ok = (labels.shape == () if input.ndim == 1 else
                input.ndim >= 2 and labels.shape == (input.shape[0], *input.shape[2:]))
    if not shape_ok:
        raise ValueError(f"{op}: expected input (N, C) and target (N,), or (N, C, d1, ...) "
                         f"and (N, d1, ...), or (C,) and (), got {tuple(input.shape)} and "
                         f"{tuple(labels.shape)}")
    if labels.dtype.kind not in "iu":
        raise ValueError(f"{op}: target must hold integer class indices, got {labels.dtype}")
    n_classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    kept = labels != ignore_index                           # the positions that count
    if labels.size:
        xp = input.xp
        counted = xp.where(kept, labels, 0)
        checks = [counted.min(), counted.max(), kept.sum()]
        lowest, highest, n_kept = (int(v) for v in to_numpy(xp.stack(
            [v.astype(np.int64) for v in checks])))
        if lowest < 0 or highest >= n_classes:
            raise ValueError(f"{op}: target values must be in [0, {n_classes}) (or "
                             f"ignore_index={ignore_index}), got [{lowest}, {highest}]")
        all_kept = n_kept == labels.size
    else:
        all_kept = True
    return labels, kept, all_kept


def _n_classes(op: str, input: Tensor) -> int:
    """The size of the class dim (dim 1, or dim 0 of a (C,) input), which must exist and
    hold at least one class."""
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class dim, (C,), (N, C) or (N, C, d1, "
                         f"...), got a 0-d input")
    class_dim = 0 if input.ndim == 1 else 1
    if input.shape[class_dim] == 0:
        raise ValueError(f"{op}: input {tuple(input.shape)} has no classes (dim {class_dim} "
                         f"is empty)")
    return input.shape[class_dim]


def _nll(op: str, input: Tensor, target, weight, ignore_index: int, reduction: str):
    """nll_loss, with `op` the name its errors give."""
    n_classes = _n_classes(op, input)
    labels, kept, all_kept = _labels(op, input, target, ignore_index)
    class_weight = _class_weights(op, weight, n_classes, input)
    labels = labels if all_kept else input.xp.where(kept, labels, 0)   # any valid index
    rows = input.reshape(1, n_classes) if input.ndim == 1 else input
    if rows.ndim > 2:                # (N, C, d1, ...) -> (N*d1*..., C): one row a position
        rows = rows.permute(0, *range(2, rows.ndim), 1).reshape(-1, n_classes)
    flat_labels = labels.reshape(-1)
    picked = getitem(rows, (rows.xp.arange(rows.shape[0]), flat_labels))   # (rows,)
    if class_weight is None and all_kept:
        return _reduce(-picked.reshape(labels.shape), reduction)      # the target's shape
    weights = _position_weights(labels, kept, class_weight, input).reshape(-1)   # (rows,)
    loss = -E.MaskMul(weights)(picked).reshape(labels.shape)
    return _weighted_mean(loss, weights) if reduction == "mean" else _reduce(loss, reduction)


def _position_weights(labels, kept, class_weight, like: Tensor):
    """Each position's weight, a constant array of the target's shape: 0 where the target
    is ignore_index, else its class's weight (1 without a weight)."""
    weights = kept.astype(like.dtype)
    if class_weight is not None:
        weights = weights * class_weight[like.xp.where(kept, labels, 0)]
    return weights


def _weighted_mean(loss: Tensor, weights) -> Tensor:
    """sum(loss) / sum(weights), the weights constants: their sum stays on the device (no
    wait for the GPU). Nothing counted: nan, as PyTorch's 0 / 0 (without numpy's warning)."""
    xp, total = xp_of(weights), weights.sum().astype(loss.dtype)
    with np.errstate(divide="ignore"):
        scale = xp.where(total != 0, 1 / total, xp.nan).astype(loss.dtype)
    return sum(loss) * Tensor._from_op(scale, False)


def cross_entropy(input: Tensor, target, weight=None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """nll_loss(log_softmax(input over the class dim), target, weight, ignore_index): input
    (N, C) with integer targets (N,), or (N, C, d1, ...) with (N, d1, ...), or (C,) with a
    0-d target. As in PyTorch, a float target of the input's shape holds class
    probabilities instead: the loss is -sum_c w_c t_c log softmax(input)_c, averaged over
    the positions (the weight, a tensor, then gets a gradient too; no ignore_index).

    label_smoothing = e mixes the targets with the uniform distribution, as PyTorch's:
    (1 - e) times the loss above plus e/C times the loss against every class
    (-sum_c w_c log softmax(input)_c, reduced like the first, ignored positions left out)."""
    op = "cross_entropy"
    reduction = _reduction(op, reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    n_classes = _n_classes(op, input)
    class_dim = 0 if input.ndim == 1 else 1
    log_probs = log_softmax(input, dim=class_dim)
    labels = target.data if isinstance(target, Tensor) else input.xp.asarray(target)
    class_weight = _class_weights(op, weight, n_classes, input)
    shape = [1] * input.ndim
    shape[class_dim] = n_classes                                  # (1, C, 1, ...)
    if labels.dtype.kind == "f":                                  # class probabilities
        if ignore_index >= 0:                 # (a negative one cannot name a class)
            raise ValueError(f"{op}: ignore_index {ignore_index} is not supported for "
                             f"class-probability (floating point) targets, as in PyTorch")
        probabilities = E.as_tensor(target, input)
        _check_same_shape(op, input, probabilities, "target (class probabilities)")
        if label_smoothing:
            probabilities = (probabilities * (1.0 - label_smoothing)
                             + label_smoothing / n_classes)
        weighted = log_probs
        if weight is not None:
            w = weight if isinstance(weight, Tensor) else Tensor._from_op(class_weight, False)
            weighted = log_probs * _in_dtype(w, input).reshape(shape)
        loss = -sum(weighted * probabilities, class_dim)          # per position
        if reduction == "mean":
            return sum(loss) * (1.0 / (input.data.size // n_classes or math.nan))
        return _reduce(loss, reduction)
    nll = _nll(op, log_probs, labels, weight, ignore_index, reduction)
    if not label_smoothing:
        return nll
    weighted = (log_probs if class_weight is None else
                log_probs * Tensor._from_op(class_weight.reshape(shape), False))
    kept = labels != ignore_index
    every_class = -E.MaskMul(kept.astype(input.dtype))(sum(weighted, class_dim))
    if reduction == "mean":
        every_class = _weighted_mean(every_class,
                                     _position_weights(labels, kept, class_weight, input))
    else:
        every_class = _reduce(every_class, reduction)
    return nll * (1.0 - label_smoothing) + every_class * (label_smoothing / n_classes)


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted
    dropout: nothing to rescale at eval time). The mask is a constant. `inplace` is
    accepted for PyTorch's calls; the result is always a new tensor (as nn.Dropout's)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    _require_float("dropout", input)
    if p == 1.0:
        return input * 0.0
    return _drop(input, p, input.shape)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Channel dropout: zero each whole channel (feature map) with probability p and scale
    the rest by 1/(1-p): one draw per (n, c) of input (N, C, H, W), a mask (N, C, 1, 1)
    broadcast over H and W; for one image (C, H, W) a mask (C, 1, 1). Otherwise as dropout
    (the mask a constant, eval the identity, `inplace` accepted, a new tensor returned).
    PyTorch 2 still reads a 3-D input as (N, C, L), one draw per (n, c), and warns that
    it will become one image (C, H, W); here it already is, with a warning that says so."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: p must be in [0, 1], got {p}")
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected input (N, C, H, W) or (C, H, W), got shape "
                         f"{tuple(input.shape)}; for other shapes use dropout")
    if input.ndim == 3:
        warnings.warn("dropout2d: a 3-D input is read as one image (C, H, W), each of its "
                      "C channels dropped whole; PyTorch 2 still reads it as (N, C, L) "
                      "(dropout1d), and says it will change to (C, H, W)", UserWarning,
                      stacklevel=2)
    if not training or p == 0.0:
        return input
    _require_float("dropout2d", input)
    if p == 1.0:
        return input * 0.0
    return _drop(input, p, tuple(input.shape[:-2]) + (1, 1))


def _drop(input: Tensor, p: float, mask_shape: tuple) -> Tensor:
    """input * mask, mask 0 with probability p and 1/(1-p) otherwise, a constant of
    mask_shape (broadcast over input), drawn on the host from the library's generator
    (the same numbers for a seed on every device) and copied to the input's device."""
    from .. import backend  # noqa: PLC0415

    keep = backend.rng().random(mask_shape) >= p
    mask = (keep * (1.0 / (1.0 - p))).astype(input.dtype)
    return E.MaskMul(backend.to_device(mask, input.device))(input)
