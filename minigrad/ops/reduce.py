"""Reductions: sum, mean, var, max, min over any dims, with keepdim.

The one primitive is `Sum`: its backward broadcasts the gradient back over the summed
axes (every input element contributed with weight 1). `mean` and `var` are compositions
of it, so they need no backward of their own. `max`/`min` send the gradient to the
winning elements through a constant mask (over one dim: to the returned index only).
"""
from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from kernels import norm as norm_kernels

from ..autograd import Function
from ..tensor import Tensor
from .elementwise import MaskMul
from .shape import broadcast_to, reshape

MaxResult = namedtuple("MaxResult", ["values", "indices"])


def _normalize_dims(dim, ndim: int, op: str):
    """None -> all axes; int or tuple -> a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = []
    for d in dims:
        if not -builtins.max(ndim, 1) <= d < builtins.max(ndim, 1):
            raise IndexError(f"{op}: dimension {d} is out of range for a tensor with "
                             f"{ndim} dimensions")
        out.append(d % ndim if ndim else 0)
    return tuple(sorted(set(out)))


def _keepdim_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    """y = sum of x over `axes`.   dy/dx = 1 for every element: broadcast gy back"""
    save_inputs = False

    def __init__(self, axes, keepdim: bool):
        self.axes, self.keepdim = axes, keepdim

    def forward(self, x):
        if x.ndim >= 3 and self.axes == (0, *range(2, x.ndim)):
            # Every axis but the channels': a convolution's bias gradient. On the CPU one
            # pass over x, where numpy's sum over these axes makes several (kernels/norm.py).
            sums = norm_kernels.channel_sum(x)                            # (C,)
            return sums.reshape(_keepdim_shape(x.shape, self.axes)) if self.keepdim else sums
        return x.sum(axis=self.axes, keepdims=self.keepdim)

    def backward(self, gy):
        (shape, _), = self.input_meta
        if not self.keepdim:
            gy = reshape(gy, _keepdim_shape(shape, self.axes))
        return broadcast_to(gy, shape)


def sum(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    axes = _normalize_dims(dim, x.ndim, "sum")
    return Sum(axes, keepdim)(x)


def mean(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """mean = sum / count (a composition: the gradient is 1/count for every element)."""
    axes = _normalize_dims(dim, x.ndim, "mean")
    count = int(np.prod([x.shape[a] for a in axes])) if axes else 1
    return Sum(axes, keepdim)(x) * (1.0 / builtins.max(count, 1))


def var(x: Tensor, dim=None, unbiased: bool = False, keepdim: bool = False) -> Tensor:
    """var = mean((x - mean x)^2), divided by count - 1 when unbiased.

    Biased (unbiased=False) is the default here, as batch norm uses it; note PyTorch's
    Tensor.var defaults to unbiased=True."""
    axes = _normalize_dims(dim, x.ndim, "var")
    count = int(np.prod([x.shape[a] for a in axes])) if axes else 1
    centred = x - mean(x, axes, keepdim=True)
    divisor = count - 1 if unbiased else count
    return Sum(axes, keepdim)(centred * centred) * (1.0 / builtins.max(divisor, 1))


def _extreme(x: Tensor, dim, keepdim: bool, which: str):
    """Shared by max and min, which pick their winners as PyTorch does:
    over one dim (x.max(1)), the element at the returned index (the first of tied ones)
    gets the whole gradient; over all dims (x.max()) or several, tied winners share it
    evenly."""
    axes = _normalize_dims(dim, x.ndim, which)
    xp = x.xp
    if isinstance(dim, int) and x.ndim == 0:       # dim 0 of a 0-d tensor: itself, index 0
        return MaxResult(Sum((), False)(x), Tensor._from_op(xp.asarray(0), False))
    if isinstance(dim, int):
        arg = xp.argmax if which == "max" else xp.argmin
        index = arg(x.data, axis=axes[0], keepdims=True)
        positions = xp.arange(x.shape[axes[0]]).reshape(
            [-1 if i == axes[0] else 1 for i in range(x.ndim)])
        winners = (positions == index).astype(x.dtype)           # one-hot along dim
        values = Sum(axes, keepdim)(MaskMul(winners)(x))
        indices = index if keepdim else xp.squeeze(index, axis=axes[0])
        return MaxResult(values, Tensor._from_op(indices, False))
    pick = xp.max if which == "max" else xp.min
    best = pick(x.data, axis=axes, keepdims=True)
    winners = (x.data == best).astype(x.dtype)
    winners /= winners.sum(axis=axes, keepdims=True)
    return Sum(axes, keepdim)(MaskMul(winners)(x))      # the max (ties: k equal shares)


def max(x: Tensor, dim=None, keepdim: bool = False):
    """x.max() -> a scalar tensor; x.max(dim) -> (values, indices), as in PyTorch."""
    return _extreme(x, dim, keepdim, "max")


def min(x: Tensor, dim=None, keepdim: bool = False):
    return _extreme(x, dim, keepdim, "min")


def argmax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return Tensor._from_op(x.xp.asarray(x.data.argmax()), False)
    return Tensor._from_op(x.xp.argmax(x.data, axis=dim, keepdims=keepdim), False)
