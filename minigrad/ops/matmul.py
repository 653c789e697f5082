"""Matrix multiplication, batched and broadcast like numpy.matmul.

    Y = A @ B            A (..., n, k), B (..., k, m) -> Y (..., n, m)
    dL/dA = dL/dY @ B^T  (..., n, m) @ (..., m, k) -> (..., n, k), summed over broadcast
    dL/dB = A^T @ dL/dY  (..., k, n) @ (..., n, m) -> (..., k, m), summed over broadcast

Both gradients are matmuls again, so double backward needs nothing new.
1-D operands are treated as in numpy (a vector is a 1-row or 1-column matrix).

`Linear` is a linear layer's y = x W^T + b as one op (PyTorch's addmm), where the
composition transpose, matmul, add cost three ops forward and five backward.
"""
from __future__ import annotations

from ..autograd import Function
from ..tensor import Tensor, require_tensor
from .shape import _promoted, reshape, sum_to


def _mT(x: Tensor) -> Tensor:
    """Swap the last two axes."""
    from .shape import transpose  # noqa: PLC0415

    return transpose(x, -1, -2)


class MatMul(Function):
    """Y = A @ B (both at least 2-D).   dA = gY @ B^T,  dB = A^T @ gY"""
    returns_new_grads = True     # each gradient a new product (see Function)

    def forward(self, a, b):
        if a.shape[-1] == 1:
            # An outer product (a linear layer with one output, in backward): a sum of one
            # term per element, which broadcasting computes exactly and ~10x faster than
            # BLAS (64x1 @ 1x6272: 0.05 vs 0.5 ms).
            return a * b
        return a @ b

    def backward(self, gy):
        a, b = self.inputs
        grad_a = sum_to(gy @ _mT(b), a.shape) if self.needs_input_grad[0] else None
        grad_b = sum_to(_mT(a) @ gy, b.shape) if self.needs_input_grad[1] else None
        return grad_a, grad_b


class Linear(Function):
    """y = x W^T + b      x (N, in), W (out, in), b (out,) optional -> y (N, out)
    dL/dx = g W           (N, out) @ (out, in)
    dL/dW = g^T x         (out, N) @ (N, in)
    dL/db = sum of g over N

    The gradients are written with matmul, transpose and sum, so double backward needs
    nothing new."""
    returns_new_grads = True     # each gradient a new product or sum (see Function)

    def forward(self, x, w, b=None):
        y = x @ w.T                                  # w.T is a view: BLAS reads it as is
        if b is None:
            return y
        if b.dtype == y.dtype:
            y += b                                   # y is new: add in place
            return y
        return y + b

    def backward(self, g):
        from .reduce import sum as sum_  # noqa: PLC0415

        x, w = self.inputs[:2]
        needs = self.needs_input_grad
        grad_x = matmul(g, w) if needs[0] else None
        grad_w = matmul(_mT(g), x) if needs[1] else None
        if len(self.inputs) == 2:
            return grad_x, grad_w
        return grad_x, grad_w, (sum_(g, 0) if needs[2] else None)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    require_tensor(a, "matmul", "input")
    require_tensor(b, "matmul", "other")
    if a.dtype.kind == "b" or b.dtype.kind == "b":
        raise TypeError(f"matmul: not implemented for bool tensors (as in PyTorch), got "
                        f"{a.dtype} and {b.dtype}; convert first, e.g. x.float()")
    if a.dtype != b.dtype:                 # an integer beside a float takes the float's
        a, b = _promoted([a, b])           # dtype, as everywhere here (numpy: float64)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    inner_a = a.shape[-1]
    inner_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if inner_a != inner_b:
        raise ValueError(f"matmul: inner dimensions do not match: {tuple(a.shape)} @ "
                         f"{tuple(b.shape)} ({inner_a} != {inner_b})")
    try:
        import numpy as np  # noqa: PLC0415

        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: batch dimensions of {tuple(a.shape)} and "
                         f"{tuple(b.shape)} cannot be broadcast") from None
    a2 = reshape(a, 1, a.shape[0]) if a.ndim == 1 else a
    b2 = reshape(b, b.shape[0], 1) if b.ndim == 1 else b
    y = MatMul()(a2, b2)
    if a.ndim == 1:
        y = reshape(y, *y.shape[:-2], y.shape[-1])
    if b.ndim == 1:
        y = reshape(y, *y.shape[:-1])
    return y
