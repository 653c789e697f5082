"""Indexing: `x[key]` with slices, ints, None, Ellipsis, boolean masks and integer arrays.

Forward picks elements; backward puts the gradient back where they came from, into a
tensor of zeros of x's shape (a scatter). An integer array may pick the same element
twice (`x[[0, 0]]`): its gradient must then be *added* twice, which is why the scatter
uses `add.at` (unbuffered accumulation) instead of plain assignment.

The scatter and the gather are each other's backward, so double backward is free.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backend import xp_of
from ..tensor import Tensor


def unwrap_index(key):
    """Replace Tensors inside an index by their arrays (ints, slices pass through)."""
    if isinstance(key, Tensor):
        return key.data
    if isinstance(key, tuple):
        return tuple(k.data if isinstance(k, Tensor) else k for k in key)
    return key


def _has_array(key) -> bool:
    parts = key if isinstance(key, tuple) else (key,)
    return any(hasattr(k, "shape") or isinstance(k, list) for k in parts)


class GetItem(Function):
    """y = x[key].   dy/dx = scatter gy back into zeros shaped like x"""
    save_inputs = False

    def __init__(self, key):
        self.key = key

    def forward(self, x):
        try:
            return x[self.key]
        except IndexError as exc:
            raise IndexError(f"getitem: index {self.key!r} is invalid for a tensor of shape "
                             f"{tuple(x.shape)}: {exc}") from None

    def backward(self, gy):
        (shape, _), = self.input_meta
        return GetItemGrad(self.key, shape)(gy)


class GetItemGrad(Function):
    """y = zeros(shape) with g added at x[key] (accumulating repeats).   dy/dg = y[key]"""
    save_inputs = False

    def __init__(self, key, shape):
        self.key, self.shape = key, shape

    def forward(self, g):
        xp = xp_of(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        if _has_array(self.key) and hasattr(xp.add, "at"):
            xp.add.at(out, self.key, g)      # repeats accumulate (numpy; CuPy >= 13)
        elif _has_array(self.key):
            import cupyx  # noqa: PLC0415 (older CuPy's name for add.at)

            cupyx.scatter_add(out, self.key, g)
        else:
            out[self.key] = g                 # basic index: no repeats possible
        return out

    def backward(self, ggx):
        return GetItem(self.key)(ggx)


def getitem(x: Tensor, key) -> Tensor:
    key = unwrap_index(key)
    if isinstance(key, list):
        key = x.xp.asarray(key)
    return GetItem(key)(x)


def index_select(x: Tensor, dim: int, index) -> Tensor:
    key = (slice(None),) * (dim % x.ndim) + (unwrap_index(index),)
    return GetItem(key)(x)
