"""Conv2d and ConvTranspose2d (and Conv1d / ConvTranspose1d): the parameters and
PyTorch's default initialisation; the convolutions themselves are `F.conv2d` /
`F.conv_transpose2d` (minigrad/ops/conv.py; the 1-D ones run them over height 1)."""
from __future__ import annotations

import math

from ...ops.conv import _pair, _single, conv_padding
from ...ops.shape import _whole
from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import zeros_parameter

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared set-up. weight_shape is (out, in) for Conv2d and (in, out) for
    ConvTranspose2d; the weight is then (out, in/groups, KH, KW) and
    (in, out/groups, KH, KW). In both cases PyTorch initialises with
    kaiming_uniform(a=sqrt(5)) and a bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)), where
    fan_in = weight.shape[1] * KH * KW (for the transposed convolution that is
    out/groups * KH * KW: PyTorch's convention)."""

    dims = 2                           # 2-D (kernel (KH, KW)); Conv1d's are 1 (K,)

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride, padding,
                 dilation, output_padding, groups: int, bias: bool, padding_mode: str,
                 weight_shape: tuple, device, dtype):
        super().__init__()
        name = type(self).__name__
        _tuple = _pair if self.dims == 2 else lambda v, what, op: (_single(v, what, op),)
        groups = _whole(groups, name, "groups")
        if groups < 1:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        for what, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
            if channels % groups:
                raise ValueError(f"{name}: {what} must be divisible by groups, got "
                                 f"{what}={channels}, groups={groups}")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {PADDING_MODES}, got "
                             f"{padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _tuple(kernel_size, "kernel_size", name)
        self.stride = _tuple(stride, "stride", name)
        self.padding = padding if isinstance(padding, str) else _tuple(padding, "padding", name)
        self.dilation = _tuple(dilation, "dilation", name)
        self.output_padding = _tuple(output_padding, "output_padding", name)
        self.groups = groups
        self.padding_mode = padding_mode
        rows, cols = weight_shape
        self.weight = zeros_parameter(rows, cols // groups, *self.kernel_size, device=device,
                                      dtype=dtype)
        if bias:
            self.bias = zeros_parameter(out_channels, device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * self.dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.dims:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class Conv2d(_ConvNd):
    """y = conv2d(x, W) + b.   x (N, in, H, W), weight (out, in/groups, KH, KW)
    -> (N, out, OH, OW),
    OH = (H + 2 padding - dilation (KH - 1) - 1) // stride + 1 (likewise OW).
    padding_mode 'reflect', 'replicate' or 'circular': the border is F.pad in that mode
    (the same widths), then the convolution has no padding, as in PyTorch."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         0, groups, bias, padding_mode,
                         (out_channels, in_channels), device, dtype)
        if isinstance(padding, str):      # 'same' or 'valid': checked now, kept as given
            conv_padding(padding, self.kernel_size, self.dilation, self.stride, "Conv2d")

    def forward(self, x):
        if self.padding_mode == "zeros":
            return F.conv2d(x, self.weight, self.bias, stride=self.stride,
                            padding=self.padding, dilation=self.dilation, groups=self.groups)
        if x.ndim not in (3, 4):        # before F.pad, so that the error shows x's shape
            raise ValueError(f"Conv2d: input must be 4-D (N, C, H, W) or 3-D (C, H, W), "
                             f"got shape {tuple(x.shape)}")
        top, bottom, left, right = conv_padding(self.padding, self.kernel_size,
                                                self.dilation, self.stride, "Conv2d")
        return F.conv2d(F.pad(x, (left, right, top, bottom), self.padding_mode), self.weight,
                        self.bias, stride=self.stride, dilation=self.dilation,
                        groups=self.groups)


class ConvTranspose2d(_ConvNd):
    """The transposed ("fractionally strided") convolution, the gradient of conv2d w.r.t.
    its input: DCGAN's upsampling layer. weight (in, out/groups, KH, KW);
    OH = (H - 1) stride - 2 padding + dilation (KH - 1) + output_padding + 1."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None):
        name = type(self).__name__
        if isinstance(padding, str):
            raise ValueError(f"{name}: padding={padding!r}: use an int"
                             + (" or a pair" if self.dims == 2 else ""))
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported, as in "
                             f"PyTorch, got {padding_mode!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         output_padding, groups, bias, padding_mode,
                         (in_channels, out_channels), device, dtype)

    def forward(self, x, output_size=None):
        """output_size (H, W), or the whole shape: one of the `stride` sizes that all give
        back x's size under the matching conv2d; it picks the output_padding, as PyTorch."""
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = self._output_padding_for(x, tuple(output_size))
        return F.conv_transpose2d(x, self.weight, self.bias, stride=self.stride,
                                  padding=self.padding, output_padding=output_padding,
                                  groups=self.groups, dilation=self.dilation)

    def _output_padding_for(self, x, output_size: tuple) -> tuple:
        name, dims = type(self).__name__, self.dims
        wanted = output_size[-dims:]
        if len(output_size) not in (dims, x.ndim):
            raise ValueError(f"{name}: output_size must be {'(H, W)' if dims == 2 else '(L,)'} "
                             f"or the whole output shape ({x.ndim} dims), got {output_size}")
        padding = []
        for n, want, k, s, p, d in zip(x.shape[-dims:], wanted, self.kernel_size, self.stride,
                                       self.padding, self.dilation):
            smallest = (n - 1) * s - 2 * p + d * (k - 1) + 1
            if not smallest <= want < smallest + s:
                raise ValueError(f"{name}: output_size {tuple(wanted)} is not "
                                 f"reachable from input {tuple(x.shape)}: each size must be "
                                 f"in [smallest, smallest + stride - 1], smallest here "
                                 f"{smallest}, stride {s}")
            padding.append(want - smallest)
        return tuple(padding)


class Conv1d(_ConvNd):
    """y = conv1d(x, W) + b, over signals (audio, time series): Conv2d over height 1.
    x (N, in, L), weight (out, in/groups, K) -> (N, out, OL),
    OL = (L + 2 padding - dilation (K - 1) - 1) // stride + 1."""
    dims = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         0, groups, bias, padding_mode, (out_channels, in_channels), device,
                         dtype)
        if isinstance(padding, str):      # 'same' or 'valid': checked now, kept as given
            conv_padding(padding, (1,) + self.kernel_size, (1,) + self.dilation,
                         (1,) + self.stride, "Conv1d")

    def forward(self, x):
        padding = self.padding
        if self.padding_mode != "zeros":
            if x.ndim not in (2, 3):      # before F.pad, so that the error shows x's shape
                raise ValueError(f"Conv1d: input must be 3-D (N, C, L) or 2-D (C, L), got "
                                 f"shape {tuple(x.shape)}")
            as_2d = self.padding if isinstance(self.padding, str) else (0, self.padding[0])
            _, _, left, right = conv_padding(as_2d, (1,) + self.kernel_size,
                                             (1,) + self.dilation, (1,) + self.stride, "Conv1d")
            x, padding = F.pad(x, (left, right), self.padding_mode), 0
        return F.conv1d(x, self.weight, self.bias, stride=self.stride, padding=padding,
                        dilation=self.dilation, groups=self.groups)


class ConvTranspose1d(ConvTranspose2d):
    """The 1-D transposed convolution (ConvTranspose2d over height 1): upsampling in a
    signal generator. weight (in, out/groups, K);
    OL = (L - 1) stride - 2 padding + dilation (K - 1) + output_padding + 1."""
    dims = 1

    def forward(self, x, output_size=None):
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = self._output_padding_for(x, tuple(output_size))
        return F.conv_transpose1d(x, self.weight, self.bias, stride=self.stride,
                                  padding=self.padding, output_padding=output_padding,
                                  groups=self.groups, dilation=self.dilation)
