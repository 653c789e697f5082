"""Pooling and resampling layers: AvgPool2d, MaxPool2d, AdaptiveAvgPool2d, Upsample, and
for signals (N, C, L) AvgPool1d, MaxPool1d, AdaptiveAvgPool1d (the math is in
minigrad/ops/pool.py, reached through minigrad.nn.functional)."""
from __future__ import annotations

from ...ops.conv import _single
from .. import functional as F
from ..module import Module


class AvgPool2d(Module):
    """Mean over each KH x KW window. stride defaults to kernel_size."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        text = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        if self.ceil_mode:
            text += ", ceil_mode=True"
        if not self.count_include_pad:
            text += ", count_include_pad=False"
        if self.divisor_override is not None:
            text += f", divisor_override={self.divisor_override}"
        return text


class MaxPool2d(Module):
    """Max over each KH x KW window (the gradient goes to the winner). stride defaults to
    kernel_size. The arguments in PyTorch's order; return_indices=True also returns each
    maximum's flat index h*W + w."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode
        self.return_indices = return_indices

    def forward(self, x):
        options = {}
        if self.dilation != 1:
            options["dilation"] = self.dilation
        if self.ceil_mode:
            options["ceil_mode"] = True
        if self.return_indices:
            options["return_indices"] = True
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, **options)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class Upsample(Module):
    """Resize (N, C, H, W) to `size` or by `scale_factor`, mode "nearest",
    "nearest-exact", "bilinear" or "area" (see F.interpolate); a signal (N, C, L) the
    same way, with "linear" in place of "bilinear"."""

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest",
                 align_corners: bool | None = None):
        super().__init__()
        if (size is None) == (scale_factor is None):
            raise ValueError("Upsample: give exactly one of size and scale_factor")
        self.size, self.mode, self.align_corners = size, mode, align_corners
        self.scale_factor = (float(scale_factor) if isinstance(scale_factor, (int, float))
                             else scale_factor)

    def forward(self, x):
        options = {} if self.align_corners is None else {"align_corners": self.align_corners}
        return F.interpolate(x, size=self.size, scale_factor=self.scale_factor,
                             mode=self.mode, **options)

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            text = f"scale_factor={self.scale_factor!r}"
        else:
            text = f"size={self.size!r}"
        return text + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Upsample(..., mode="nearest"): PyTorch's older name, still in many GAN scripts."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Upsample(..., mode="bilinear", align_corners=True): PyTorch's older name (note the
    align_corners=True, which nn.Upsample does not default to)."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class AdaptiveAvgPool2d(Module):
    """Mean over windows chosen to give a fixed output size (OH, OW) for any input size:
    output_size is an int (square) or a pair; None in the pair keeps that input dim.
    AdaptiveAvgPool2d(1) is global average pooling."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


# ------------------------------------------------------------------ signals (N, C, L)

def _one_tuple(value, name: str) -> tuple:
    """As the 1-D layers keep their sizes, PyTorch's way: 3 -> (3,), [3] -> (3,)."""
    return (_single(value, name, "AvgPool1d"),)


class AvgPool1d(Module):
    """Mean over each window of kernel_size samples. stride defaults to kernel_size.
    As in PyTorch, the sizes are kept as 1-tuples (kernel_size=(3,))."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True):
        super().__init__()
        self.kernel_size = _one_tuple(kernel_size, "kernel_size")
        self.stride = _one_tuple(kernel_size if stride is None else stride, "stride")
        self.padding, self.ceil_mode = _one_tuple(padding, "padding"), ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, x):
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool1d(MaxPool2d):
    """Max over each window of kernel_size samples (the gradient goes to the winner):
    MaxPool2d's arguments, on a signal (N, C, L); return_indices=True also returns each
    maximum's position along L."""

    def forward(self, x):
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class AdaptiveAvgPool1d(Module):
    """Mean over windows chosen to give output_size samples for any input length.
    AdaptiveAvgPool1d(1) is global average pooling over time."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool1d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
