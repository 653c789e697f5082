"""Weight initialisation, as torch.nn.init: fill a tensor in place and return it.

Every function draws from the library's seeded generator (`mg.manual_seed`), runs without
recording gradients, and accepts a Tensor/Parameter or a raw ndarray (so the DCGAN
tutorial's `nn.init.normal_(m.weight.data, 0.0, 0.02)` works as written).

fan_in / fan_out of a weight (out, in, *kernel): fan_in = in * prod(kernel),
fan_out = out * prod(kernel). (For ConvTranspose2d's (in, out, kh, kw) weight that makes
"fan_in" = out * kh * kw, exactly as PyTorch computes it.)

    xavier (Glorot):  std = gain * sqrt(2 / (fan_in + fan_out))
    kaiming (He):     std = gain / sqrt(fan),  gain = calculate_gain(nonlinearity, a)
    uniform versions: U(-bound, bound) with bound = sqrt(3) * std (same variance)
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..tensor import Tensor


def _as_tensor(tensor) -> Tensor:
    """A Tensor view of `tensor` (an ndarray is wrapped, sharing its memory)."""
    if isinstance(tensor, Tensor):
        return tensor
    if isinstance(tensor, np.ndarray) or backend.is_gpu_array(tensor):
        return Tensor(tensor)
    raise TypeError(f"init: expected a Tensor or an ndarray, got {type(tensor).__name__}")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps activations' variance steady through the nonlinearity."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                        "conv_transpose2d", "conv_transpose3d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _empty(tensor) -> bool:
    """A tensor with no elements has nothing to initialise (and a fan of 0 to divide by):
    warn and leave it, as PyTorch's kaiming functions do (its xavier ones may divide by
    zero instead)."""
    if math.prod(tensor.shape) == 0:
        warnings.warn(f"initialising a zero-element tensor (shape {tuple(tensor.shape)}) "
                      f"is a no-op", stacklevel=3)
        return True
    return False


def _calculate_fan_in_and_fan_out(tensor) -> tuple[int, int]:
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a tensor with at least 2 dimensions, "
                         f"got shape {tuple(shape)}")
    receptive_field = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive_field, shape[0] * receptive_field


def _fan(tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a: float = 0.0, b: float = 1.0):
    """U(a, b)."""
    with no_grad():
        _as_tensor(tensor).uniform_(float(a), float(b))
    return tensor


def normal_(tensor, mean: float = 0.0, std: float = 1.0):
    """N(mean, std^2)."""
    with no_grad():
        _as_tensor(tensor).normal_(float(mean), float(std))
    return tensor


def constant_(tensor, val: float):
    with no_grad():
        _as_tensor(tensor).fill_(val)
    return tensor


def ones_(tensor):
    return constant_(tensor, 1.0)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def xavier_uniform_(tensor, gain: float = 1.0):
    """U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out))."""
    if _empty(tensor):
        return tensor
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain: float = 1.0):
    """N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    if _empty(tensor):
        return tensor
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu"):
    """U(-b, b), b = gain * sqrt(3 / fan). Linear and Conv2d use a = sqrt(5), which
    gives b = 1 / sqrt(fan_in)."""
    if _empty(tensor):
        return tensor
    gain = calculate_gain(nonlinearity, a)
    bound = gain * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu"):
    """N(0, std^2), std = gain / sqrt(fan)."""
    if _empty(tensor):
        return tensor
    gain = calculate_gain(nonlinearity, a)
    return normal_(tensor, 0.0, gain / math.sqrt(_fan(tensor, mode)))


def orthogonal_(tensor, gain: float = 1.0):
    """A (semi-)orthogonal matrix times gain, as torch.nn.init.orthogonal_ (Saxe et al.,
    2013). The tensor is read as a (rows, cols) matrix, rows = shape[0] (a conv weight
    (out, in, kh, kw) as (out, in kh kw)); it gets orthonormal rows, W W^T = I, when
    rows <= cols, else orthonormal columns, W^T W = I. PyTorch's algorithm: Q of the QR
    factorisation of a standard normal matrix (of its transpose when rows < cols, so that
    Q has the long side), column j of Q times the sign of R_jj (which makes Q uniform over
    the orthogonal matrices, Mezzadri 2007). Computed in float64, then stored in the
    tensor's dtype. An empty tensor is left as it is, as in PyTorch."""
    t = _as_tensor(tensor)
    if t.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are "
                         f"supported, got shape {tuple(t.shape)}")
    if t.numel() == 0:
        return tensor
    rows = t.shape[0]
    cols = t.numel() // rows
    flat = backend.rng().standard_normal((rows, cols))   # (rows, cols)
    if rows < cols:
        flat = flat.T                                     # (cols, rows): tall
    q, r = np.linalg.qr(flat)                             # q (long, short), r (short, short)
    q = q * np.sign(np.diag(r))                           # column j times sign(R_jj)
    if rows < cols:
        q = q.T                                           # (rows, cols)
    with no_grad():
        t.copy_((gain * q).reshape(t.shape).astype(t.dtype))
    return tensor
