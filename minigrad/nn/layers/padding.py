"""Padding layers: the border of an image, as PyTorch's nn.ZeroPad2d, ConstantPad2d,
ReflectionPad2d (CycleGAN's and pix2pix's generators pad with it before each convolution:
no dark frame of zeros), ReplicationPad2d and CircularPad2d; and the two ends of a signal
(N, C, L), as ZeroPad1d, ConstantPad1d, ReflectionPad1d, ReplicationPad1d and
CircularPad1d. Each is F.pad with one mode (the math is in minigrad/ops/shape.py)."""
from __future__ import annotations

from .. import functional as F
from ..module import Module


class _Pad(Module):
    """padding: an int (every side) or one (before, after) pair per padded dim, the last
    dim first, as in PyTorch: (left, right) for the 1-D layers, (left, right, top,
    bottom) for the 2-D ones."""
    mode = "constant"
    dims = 2                        # how many of the last dims are padded
    value = None                    # what constant padding holds (None: zeros)

    def __init__(self, padding):
        super().__init__()
        sides = 2 * self.dims
        if isinstance(padding, int):
            padding = (padding,) * sides
        if len(padding) != sides:
            shape = "(left, right)" if self.dims == 1 else "(left, right, top, bottom)"
            raise ValueError(f"{type(self).__name__}: padding must be an int or {shape}, "
                             f"got {padding!r}")
        self.padding = tuple(int(p) for p in padding)

    def forward(self, x):
        return F.pad(x, self.padding, self.mode, self.value)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPad(_Pad):
    """`value` around the input."""

    def __init__(self, padding, value: float):
        super().__init__(padding)
        self.value = float(value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ZeroPad2d(_Pad):
    """Zeros around the image."""
    value = 0.0


class ConstantPad2d(_ConstantPad):
    """`value` around the image."""


class ReflectionPad2d(_Pad):
    """The image mirrored at its edges, the edge row itself not repeated (d c b | a b c d)."""
    mode = "reflect"


class ReplicationPad2d(_Pad):
    """The edge pixels repeated outwards (a a | a b c d)."""
    mode = "replicate"


class CircularPad2d(_Pad):
    """The image wrapped around, as on a torus (c d | a b c d)."""
    mode = "circular"


class ZeroPad1d(_Pad):
    """Zeros at both ends of the signal."""
    dims, value = 1, 0.0


class ConstantPad1d(_ConstantPad):
    """`value` at both ends of the signal."""
    dims = 1


class ReflectionPad1d(_Pad):
    """The signal mirrored at its ends, the end sample not repeated (d c b | a b c d)."""
    mode, dims = "reflect", 1


class ReplicationPad1d(_Pad):
    """The end samples repeated outwards (a a | a b c d)."""
    mode, dims = "replicate", 1


class CircularPad1d(_Pad):
    """The signal wrapped around, as on a ring (c d | a b c d)."""
    mode, dims = "circular", 1
