"""Activation layers, Dropout and Dropout2d: thin wrappers around the functional forms.

`inplace=True` is accepted so that PyTorch code (`nn.ReLU(True)`) runs unchanged, but the
result is always a new tensor: in-place ops would break the saved-tensor checks that
make backward safe, and they save nothing worth the confusion here.
"""
from __future__ import annotations

from ...ops import leaky_relu, relu, sigmoid, tanh
from ...ops.loss import dropout, dropout2d
from .. import functional as F
from ..module import Module


def _inplace_repr(inplace: bool, lead: str = "") -> str:
    return (lead + "inplace=True") if inplace else ""


class ReLU(Module):
    """y = max(x, 0)"""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return relu(x)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class LeakyReLU(Module):
    """y = x where x > 0, else negative_slope * x (DCGAN's discriminator uses 0.2)."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, x):
        return leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + _inplace_repr(self.inplace, ", ")


class Tanh(Module):
    """y = tanh(x), in (-1, 1): the usual generator output for images scaled to [-1, 1]."""

    def forward(self, x):
        return tanh(x)


class Sigmoid(Module):
    """y = 1 / (1 + e^-x), in (0, 1)."""

    def forward(self, x):
        return sigmoid(x)


class Dropout(Module):
    """In training, zero each element with probability p and scale the rest by 1/(1-p);
    in eval, y = x."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """In training, zero each whole channel of (N, C, H, W) or (C, H, W) with probability p
    and scale the rest by 1/(1-p) (F.dropout2d); in eval, y = x."""

    def forward(self, x):
        return dropout2d(x, self.p, self.training)


class Softmax(Module):
    """y_i = e^(x_i) / sum_j e^(x_j) over `dim`: values in (0, 1) that sum to 1. dim None is
    PyTorch's deprecated implicit choice (dim 0 for 0-, 1- and 3-D input, else 1), with
    its warning."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        # _stacklevel 5, as PyTorch's: the implicit-dim warning names the line that called
        # the module (softmax's helper, softmax, forward, Module.__call__, that line).
        return F.softmax(x, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """y_i = log softmax(x)_i = x_i - log sum_j e^(x_j) over `dim` (the log-sum-exp trick);
    NLLLoss after LogSoftmax is CrossEntropyLoss. dim None as Softmax's."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.log_softmax(x, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softplus(Module):
    """y = (1/beta) log(1 + e^(beta x)), a smooth ReLU; y = x where beta x > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        if beta == 0:            # 1/beta: PyTorch gives inf (log 2 / 0) for every x
            raise ValueError("Softplus: beta must be nonzero, y = (1/beta) log(1 + "
                             "e^(beta x)) divides by it")
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class SiLU(Module):
    """y = x sigmoid(x) ("swish")."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.silu(x)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class ELU(Module):
    """y = x where x > 0, else alpha (e^x - 1)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + _inplace_repr(self.inplace, ", ")


class GELU(Module):
    """y = x Phi(x), Phi the standard normal CDF (approximate="tanh": its tanh formula)."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Hardtanh(Module):
    """y = x clipped to [min_val, max_val]."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__()
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + _inplace_repr(
            self.inplace, ", ")


class ReLU6(Hardtanh):
    """y = min(max(x, 0), 6)."""

    def __init__(self, inplace: bool = False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class LogSigmoid(Module):
    """y = log sigmoid(x) = -softplus(-x)."""

    def forward(self, x):
        return F.logsigmoid(x)
