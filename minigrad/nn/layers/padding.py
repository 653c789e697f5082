"""Padding layers: the border of an image, as PyTorch's nn.ZeroPad2d, ConstantPad2d,
ReflectionPad2d (CycleGAN's and pix2pix's generators pad with it before each convolution:
no dark frame of zeros), ReplicationPad2d and CircularPad2d. Each is F.pad with one mode
(the math is in minigrad/ops/shape.py)."""
from __future__ import annotations

from .. import functional as F
from ..module import Module


class _Pad2d(Module):
    """padding: an int (every side) or (left, right, top, bottom), as in PyTorch."""
    mode = "constant"

    def __init__(self, padding):
        super().__init__()
        if isinstance(padding, int):
            padding = (padding,) * 4
        if len(padding) != 4:
            raise ValueError(f"{type(self).__name__}: padding must be an int or (left, "
                             f"right, top, bottom), got {padding!r}")
        self.padding = tuple(int(p) for p in padding)

    def forward(self, x):
        return F.pad(x, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(_Pad2d):
    """Zeros around the image."""

    def forward(self, x):
        return F.pad(x, self.padding, "constant", 0.0)


class ConstantPad2d(_Pad2d):
    """`value` around the image."""

    def __init__(self, padding, value: float):
        super().__init__(padding)
        self.value = float(value)

    def forward(self, x):
        return F.pad(x, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ReflectionPad2d(_Pad2d):
    """The image mirrored at its edges, the edge row itself not repeated (d c b | a b c d)."""
    mode = "reflect"


class ReplicationPad2d(_Pad2d):
    """The edge pixels repeated outwards (a a | a b c d)."""
    mode = "replicate"


class CircularPad2d(_Pad2d):
    """The image wrapped around, as on a torus (c d | a b c d)."""
    mode = "circular"
