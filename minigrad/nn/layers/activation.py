"""Activation layers and Dropout: thin wrappers around the functional forms.

`inplace=True` is accepted so that PyTorch code (`nn.ReLU(True)`) runs unchanged, but the
result is always a new tensor: in-place ops would break the saved-tensor checks that
make backward safe, and they save nothing worth the confusion here.
"""
from __future__ import annotations

from ...ops import leaky_relu, relu, sigmoid, tanh
from ...ops.loss import dropout
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
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
