"""Reductions: sum, mean, var, max, min over any dims, with keepdim.

The one primitive is `Sum`, a sum times a scale c (1 for sum, 1/count for mean): its
backward, `SumGrad`, broadcasts c times the gradient back over the summed axes (every
input element contributed with weight c), and SumGrad's backward is a Sum again. `mean`
and `var` are Sums with a scale, so they need no backward of their own. `max`/`min` send
the gradient to the winning elements through a constant mask (over one dim: to the
returned index only).
"""
from __future__ import annotations

import builtins
import math
from collections import namedtuple

import numpy as np

from kernels import norm as norm_kernels

from ..autograd import Function
from ..backend import xp_of
from ..tensor import Tensor
from .elementwise import MaskMul, PowScalar, RDivScalar

MaxResult = namedtuple("MaxResult", ["values", "indices"])


def _is_int(dim) -> bool:
    """An int or a numpy integer, but not a bool (sum(dim=True) is no dim 1)."""
    return isinstance(dim, (int, np.integer)) and not isinstance(dim, (bool, np.bool_))


def _normalize_dims(dim, shape: tuple, op: str) -> tuple:
    """None -> all axes; an int (a numpy int too) or a tuple of them -> a sorted tuple of
    non-negative axes. As in PyTorch, an empty tuple also means all axes (numpy's reading
    would be none), a 0-d tensor takes dim 0 or -1, meaning no axes, and naming one dim
    twice is an error."""
    ndim = len(shape)
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    dims = (dim,) if _is_int(dim) else dim
    if not isinstance(dims, (tuple, list)) or not all(_is_int(d) for d in dims):
        raise TypeError(f"{op}: dim must be None, an int or a tuple of ints, got {dim!r}")
    size = builtins.max(ndim, 1)                 # a 0-d tensor counts as one dim here
    out = []
    for d in dims:
        if not -size <= d < size:
            raise IndexError(f"{op}: dim {int(d)} is out of range for a tensor with {ndim} "
                             f"dimensions, shape {tuple(shape)} (expected a dim in "
                             f"[{-size}, {size - 1}])")
        out.append(int(d) % size)
    if len(set(out)) != len(out):
        named = tuple(int(d) for d in dims)
        raise RuntimeError(f"{op}: dims {named} name the same dim more than once (tensor "
                           f"of shape {tuple(shape)})")
    return tuple(sorted(out)) if ndim else ()


def _per(count: int) -> float:
    """1 / count, the scale that turns a sum into a mean. With nothing to count the mean
    is 0/0 = nan, as in PyTorch (the empty sum is 0; nan rather than 1/0 = inf, so that
    numpy has no 0 * inf to warn about)."""
    return 1.0 / count if count > 0 else math.nan


def _keepdim_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    """y = c * (sum of x over `axes`)     c = 1 (sum) or 1/count (mean)
    dy/dx = c for every element: gx = c gy, broadcast back over the axes (SumGrad)

    (The scale is part of the op: a mean as Sum and MulScalar was two ops forward and
    three backward, MulScalar, Reshape and BroadcastTo; the numbers are the same.)"""
    save_inputs = False
    holds_no_arrays = True   # backward needs only the axes and shape (see Function)

    def __init__(self, axes, keepdim: bool, scale: float = 1.0):
        self.axes, self.keepdim, self.scale = axes, keepdim, scale

    def forward(self, x):
        if x.ndim >= 3 and self.axes == (0, *range(2, x.ndim)):
            # Every axis but the channels': a convolution's bias gradient. On the CPU one
            # pass over x, where numpy's sum over these axes makes several (kernels/norm.py).
            sums = norm_kernels.channel_sum(x)                            # (C,)
            if self.keepdim:
                sums = sums.reshape(_keepdim_shape(x.shape, self.axes))
        else:
            sums = x.sum(axis=self.axes, keepdims=self.keepdim)
        return sums if self.scale == 1.0 else sums * self.scale

    def backward(self, gy):
        (shape, _), = self.input_meta
        return SumGrad(shape, self.axes, self.keepdim, self.scale)(gy)


class SumGrad(Function):
    """y = c * gy broadcast back to `shape` over `axes`: Sum's input gradient (gy has Sum's
    output shape; without keepdim the summed axes are put back as 1s first)
    dL/dgy = c * (sum of g over `axes`) = Sum(axes, keepdim, c)(g)

    One op where MulScalar, Reshape and BroadcastTo were three, with their numbers: c gy
    is formed on the small array, then broadcast (a read-only view, as broadcast_to's)."""
    save_inputs = False
    holds_no_arrays = True

    def __init__(self, shape, axes, keepdim: bool, scale: float):
        self.shape, self.axes, self.keepdim, self.scale = tuple(shape), axes, keepdim, scale

    def forward(self, gy):
        if self.scale != 1.0:
            gy = gy * self.scale
        if not self.keepdim:
            gy = gy.reshape(_keepdim_shape(self.shape, self.axes))
        return xp_of(gy).broadcast_to(gy, self.shape)

    def backward(self, g):
        return Sum(self.axes, self.keepdim, self.scale)(g)


def _keepdim(keepdim: bool, keepdims, op: str) -> bool:
    """PyTorch also takes numpy's spelling, keepdims=, for keepdim= (StyleGAN2's
    minibatch-stddev writes mean(..., keepdims=True))."""
    if keepdims is None:
        return keepdim
    if keepdim:
        raise TypeError(f"{op}: keepdim and keepdims are one argument; pass only one")
    return keepdims


def sum(x: Tensor, dim=None, keepdim: bool = False, *, keepdims=None) -> Tensor:
    """The sum over dim (all dims when None). As in PyTorch, the sum of an integer or bool
    tensor is int64 (numpy's of uint8 is uint64); it has no gradient."""
    keepdim = _keepdim(keepdim, keepdims, "sum")
    axes = _normalize_dims(dim, x.shape, "sum")
    if x._data.dtype.kind in "biu":
        return Tensor._from_op(x.data.sum(axis=axes, keepdims=keepdim, dtype=np.int64), False)
    return Sum(axes, keepdim)(x)


class CumSum(Function):
    """y_i = x_0 + x_1 + ... + x_i along `dim` (the running sums)
    dL/dx_j = sum over i >= j of gy_i: the running sums of gy taken from the other end,
    flip(cumsum(flip(gy))) along dim. Linear, so the backward of that is again flips
    and a CumSum: double backward needs nothing new. (One op: composed, the running sums
    would be a product with a triangle of ones, n^2 work for n entries.)"""
    save_inputs = False
    holds_no_arrays = True   # backward needs only the dim (see Function)

    def __init__(self, dim: int):
        self.dim = dim

    def forward(self, x):
        return x.cumsum(axis=self.dim)

    def backward(self, gy):
        from .shape import flip  # noqa: PLC0415

        return flip(CumSum(self.dim)(flip(gy, self.dim)), self.dim)


def cumsum(x: Tensor, dim=None, *, dtype=None) -> Tensor:
    """The running sums along dim, as torch.cumsum: y[..., i] = x[..., 0] + ... + x[..., i].
    dim is required, as in PyTorch (numpy's default, the flattened tensor, would be
    x.flatten().cumsum(0)); dtype converts x first. As sum, an integer or bool tensor gives
    int64 without a gradient."""
    from .shape import _normalize_dim, reshape, to_dtype  # noqa: PLC0415

    if dim is None:
        raise TypeError(f"cumsum: dim is required (the dim to sum along, e.g. "
                        f"x.cumsum(0)), got none for a tensor of shape {tuple(x.shape)}")
    if dtype is not None:
        x = to_dtype(x, dtype)
    dim = _normalize_dim(dim, x.ndim, "cumsum")
    if x.ndim == 0:                                     # a 0-d tensor: itself, as 1 entry
        return reshape(cumsum(reshape(x, 1), 0), ())
    if x._data.dtype.kind in "biu":
        return Tensor._from_op(x.data.cumsum(axis=dim, dtype=np.int64), False)
    return CumSum(dim)(x)


def _require_float(x: Tensor, op: str) -> None:
    """As in PyTorch, mean, var and std refuse an integer or bool tensor (numpy would
    give a float64 result): the caller chooses the float dtype."""
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: could not infer the output dtype: the input must be a "
                           f"floating point tensor, got {x.dtype} of shape {x.shape}; "
                           f"convert it first, e.g. x.float().{op}()")


def mean(x: Tensor, dim=None, keepdim: bool = False, *, keepdims=None) -> Tensor:
    """mean = sum * (1 / count): a Sum with the scale 1/count (the gradient is 1/count for
    every element). The mean of no elements is nan, as in PyTorch; an integer tensor's
    mean is an error."""
    _require_float(x, "mean")
    keepdim = _keepdim(keepdim, keepdims, "mean")
    axes = _normalize_dims(dim, x.shape, "mean")
    count = math.prod(x.shape[a] for a in axes)
    return Sum(axes, keepdim, _per(count))(x)


def var(x: Tensor, dim=None, unbiased: bool = False, keepdim: bool = False, *,
        correction: int | None = None, keepdims=None) -> Tensor:
    """var = sum((x - mean x)^2) / (count - correction); correction is 1 when unbiased,
    else 0, unless given (PyTorch's newer spelling: var(dim, correction=0) is biased).

    Biased (unbiased=False) is the default here, as batch norm uses it; note PyTorch's
    Tensor.var defaults to unbiased=True. As in PyTorch, a divisor of 0 or less (one
    element, unbiased; or none) gives nan."""
    _require_float(x, "var")
    keepdim = _keepdim(keepdim, keepdims, "var")
    axes = _normalize_dims(dim, x.shape, "var")
    count = math.prod(x.shape[a] for a in axes)
    centred = x - mean(x, axes, keepdim=True)
    if correction is None:
        correction = 1 if unbiased else 0
    elif unbiased:
        raise ValueError("var: give either unbiased=True or correction, not both")
    divisor = count - correction
    return Sum(axes, keepdim, _per(divisor))(centred * centred)


class Root(Function):
    """y = v^(1/p) (v >= 0: a sum of squares or of |x|^p), the last step of std and norm
    dy/dv = 1 / (p y^(p-1)) where y > 0, and 0 where y = 0   (p = 2: 0.5 / y)

    As PyTorch's std and norm: a constant slice has std 0 (an all-zero one norm 0) and
    gradient 0 (the root's slope 1 / 0 = inf would become nan in the sum's backward,
    inf * 0). sqrt keeps its infinite slope at 0. The division uses 1 in place of y where
    y = 0, so that no inf is formed in the double backward either (it is masked away)."""
    save_inputs = False
    save_outputs = True

    def __init__(self, p: float = 2.0):
        self.p = p

    def forward(self, v):
        return xp_of(v).sqrt(v) if self.p == 2 else v ** (1.0 / self.p)

    def backward(self, gy):
        (y,) = self.outputs
        zero = y.xp.asarray(y.data == 0)                          # a constant mask
        safe = y + Tensor._from_op(zero.astype(y.dtype), False)    # y, or 1 where y = 0
        if self.p == 2:
            slope = RDivScalar(0.5)(safe)                          # 0.5 / y
        else:
            slope = RDivScalar(1.0 / self.p)(PowScalar(self.p - 1.0)(safe))
        return MaskMul((~zero).astype(y.dtype))(gy * slope)


def std(x: Tensor, dim=None, unbiased: bool = False, keepdim: bool = False, *,
        correction: int | None = None, keepdims=None) -> Tensor:
    """std = sqrt(var) (biased by default here, see var); its gradient is 0 where the std
    is 0 (Root)."""
    _require_float(x, "std")
    keepdim = _keepdim(keepdim, keepdims, "std")
    return Root(2.0)(var(x, dim, unbiased=unbiased, keepdim=keepdim, correction=correction))


def _extreme(x: Tensor, dim, keepdim: bool, which: str):
    """Shared by max and min, which pick their winners as PyTorch does:
    over one dim (x.max(1)), the element at the returned index (the first of tied ones)
    gets the whole gradient; over all dims (x.max()) or several, tied winners share it
    evenly. An integer or bool tensor (no gradient) gets its values only, in its dtype."""
    axes = _normalize_dims(dim, x.shape, which)
    _check_not_empty(x, axes, which)
    xp = x.xp
    floating = x.is_floating_point()
    if _is_int(dim) and x.ndim == 0:               # dim 0 of a 0-d tensor: itself, index 0
        values = Sum((), False)(x) if floating else Tensor._from_op(x.data.copy(), False)
        return MaxResult(values, Tensor._from_op(xp.asarray(0), False))
    if _is_int(dim):
        arg = xp.argmax if which == "max" else xp.argmin
        index = arg(x.data, axis=axes[0], keepdims=True)
        if floating:
            positions = xp.arange(x.shape[axes[0]]).reshape(
                [-1 if i == axes[0] else 1 for i in range(x.ndim)])
            winners = (positions == index).astype(x.dtype)       # one-hot along dim
            values = Sum(axes, keepdim)(MaskMul(winners)(x))
        else:                              # the values, in x's dtype (a Sum of bools
            picked = xp.take_along_axis(x.data, index, axis=axes[0])    # is int64)
            values = Tensor._from_op(picked if keepdim else
                                     xp.squeeze(picked, axis=axes[0]), False)
        indices = index if keepdim else xp.squeeze(index, axis=axes[0])
        return MaxResult(values, Tensor._from_op(indices, False))
    pick = xp.max if which == "max" else xp.min
    if not floating:
        return Tensor._from_op(pick(x.data, axis=axes, keepdims=keepdim), False)
    best = pick(x.data, axis=axes, keepdims=True)
    winners = x.data == best
    winners |= xp.isnan(x.data) & xp.isnan(best)   # a nan is the max (and min): it wins
    winners = winners.astype(x.dtype)
    winners /= winners.sum(axis=axes, keepdims=True)
    return Sum(axes, keepdim)(MaskMul(winners)(x))      # the max (ties: k equal shares)


def max(x: Tensor, dim=None, keepdim: bool = False, *, keepdims=None):
    """x.max() -> a scalar tensor; x.max(dim) -> (values, indices), as in PyTorch."""
    return _extreme(x, dim, _keepdim(keepdim, keepdims, "max"), "max")


def min(x: Tensor, dim=None, keepdim: bool = False, *, keepdims=None):
    return _extreme(x, dim, _keepdim(keepdim, keepdims, "min"), "min")


def argmax(x: Tensor, dim=None, keepdim: bool = False, *, keepdims=None) -> Tensor:
    """The index of the largest element: in the flattened tensor, or along an int dim.
    With dim None and keepdim, the index has every dim kept as 1 (shape (1, 1, ...)), as
    in PyTorch. Ties: the first index; a nan counts as the largest."""
    return _arg_extreme(x, dim, _keepdim(keepdim, keepdims, "argmax"), "argmax")


def argmin(x: Tensor, dim=None, keepdim: bool = False, *, keepdims=None) -> Tensor:
    """The index of the smallest element, as argmax (a nan counts as the smallest)."""
    return _arg_extreme(x, dim, _keepdim(keepdim, keepdims, "argmin"), "argmin")


def _check_not_empty(x: Tensor, axes: tuple, op: str) -> None:
    """A max, min or arg of either over an empty dim has no answer (numpy's error would
    not name the op)."""
    if any(x.shape[a] == 0 for a in axes):
        raise IndexError(f"{op}: cannot reduce over an empty dim (tensor of shape "
                         f"{tuple(x.shape)}, dims {axes})")


def _arg_extreme(x: Tensor, dim, keepdim: bool, op: str) -> Tensor:
    """argmax and argmin: int64 indices, no gradient."""
    pick = getattr(x.xp, op)                       # xp.argmax or xp.argmin
    if dim is not None and not _is_int(dim):
        raise TypeError(f"{op}: dim must be an int or None, got {dim!r}")
    axes = tuple(range(x.ndim)) if dim is None else _normalize_dims(dim, x.shape, op)
    _check_not_empty(x, axes, op)
    if dim is None:
        return Tensor._from_op(x.xp.asarray(pick(x.data, keepdims=keepdim)), False)
    if not axes:                                   # dim 0 of a 0-d tensor: index 0
        return Tensor._from_op(x.xp.asarray(0), False)
    return Tensor._from_op(pick(x.data, axis=axes[0], keepdims=keepdim), False)


def amax(x: Tensor, dim=(), keepdim: bool = False, *, keepdims=None) -> Tensor:
    """The largest value over dim (an int or a tuple; () or None: every dim), values only.
    Unlike x.max(dim), tied winners share the gradient evenly, as PyTorch's amax."""
    return _extreme(x, _all_or_tuple(dim), _keepdim(keepdim, keepdims, "amax"), "max")


def amin(x: Tensor, dim=(), keepdim: bool = False, *, keepdims=None) -> Tensor:
    """The smallest value over dim, as amax."""
    return _extreme(x, _all_or_tuple(dim), _keepdim(keepdim, keepdims, "amin"), "min")


def _all_or_tuple(dim):
    """_extreme reads an int dim as x.max(dim) (values and indices, one winner takes the
    gradient); amax's int dim means the tuple (dim,) (tied winners share), so wrap it.
    None and () mean every dim."""
    if dim is None:
        return None
    return (dim,) if _is_int(dim) else tuple(dim)


def logsumexp(x: Tensor, dim, keepdim: bool = False, *, keepdims=None) -> Tensor:
    """log sum_i e^(x_i) over dim, computed as m + log sum_i e^(x_i - m) with m the max (a
    constant: no overflow, the same value). Its gradient is softmax(x) along dim. Where
    every x_i is -inf the answer is -inf (m is taken as 0 there, not -inf - -inf = nan)."""
    _require_float(x, "logsumexp")
    keepdim = _keepdim(keepdim, keepdims, "logsumexp")
    from .elementwise import exp, log  # noqa: PLC0415
    from .shape import reshape  # noqa: PLC0415

    axes = _normalize_dims(dim, x.shape, "logsumexp")
    m = x.xp.max(x.data, axis=axes, keepdims=True) if x.data.size else \
        x.xp.zeros(_keepdim_shape(x.shape, axes), dtype=x.dtype)
    m = Tensor._from_op(x.xp.where(x.xp.isinf(m), 0, m).astype(x.dtype), False)
    total = log(sum(exp(x - m), axes, keepdim=True)) + m             # keepdim's shape
    if keepdim:
        return total
    return reshape(total, *[n for i, n in enumerate(total.shape) if i not in axes])


def norm(x: Tensor, p="fro", dim=None, keepdim: bool = False) -> Tensor:
    """The p-norm over dim (every dim when None), as torch.norm / Tensor.norm:
        p = 2 or "fro"   sqrt(sum x^2), with gradient x / norm
        p = 1            sum |x|
        p = inf, -inf    max |x|, min |x|
        other p > 0      (sum |x|^p)^(1/p)
    The gradient at an all-zero slice is 0, as PyTorch's (Root: no nan from 0 / 0); so is
    a zero element's for 0 < p < 1, whose |x|^p has an infinite slope at 0 (abs's mask is
    0 there, and MaskMul gives exactly 0, even times inf).
    The WGAN-GP penalty is (grad.norm(2, dim=1) - 1)^2."""
    _require_float(x, "norm")
    from .elementwise import abs as abs_  # noqa: PLC0415

    if p == "fro" or p == 2:
        return Root(2.0)(sum(x * x, dim, keepdim))
    if p == 1:
        return sum(abs_(x), dim, keepdim)
    if p == math.inf or p == -math.inf:
        return (amax if p > 0 else amin)(abs_(x), _all_or_tuple(dim), keepdim)
    if isinstance(p, (int, float)) and not isinstance(p, bool) and p > 0:
        return Root(float(p))(sum(abs_(x) ** float(p), dim, keepdim))
    raise ValueError(f"norm: p must be 'fro', a positive number, inf or -inf, got {p!r}")


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(||x||_p, eps) along dim, as torch.nn.functional.normalize: each row (dim=1)
    scaled to unit length; eps keeps an all-zero row at 0 instead of 0/0."""
    from .elementwise import clamp  # noqa: PLC0415

    return input / clamp(norm(input, p, dim, keepdim=True), min=float(eps))
