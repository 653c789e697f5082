"""Convolution: three primitives that are each other's derivatives.

    Conv2d   (x,  W )  y  = conv2d(x, W)             x (N,C,H,W), W (O,C,KH,KW) -> (N,O,OH,OW)
    Conv2dDx (gy, W )  gx = conv2d_dx(gy, W, (H,W))  the input gradient of conv2d
    Conv2dDW (x,  gy)  gW = conv2d_dw(x, gy, (KH,KW)) the weight gradient of conv2d

with  y[n,o,oh,ow] = sum_{c,kh,kw} x_pad[n, c, oh*sh + kh*dh, ow*sw + kw*dw] * W[o,c,kh,kw].

Each is linear in each of its two arguments, and the three share one identity,

    <conv2d(x, W), gy> = <x, conv2d_dx(gy, W)> = <W, conv2d_dw(x, gy)>,

which says at once what every backward is: the derivative of any of the three with respect
to either argument is one of the other two (written out in each class below). So the
backward passes are built from the same three Functions, they are recorded like any other
op under `create_graph=True`, and gradients of any order (WGAN-GP's penalty through a conv
critic) need nothing else.

Why the transposed convolution is `Conv2dDx` run forwards
---------------------------------------------------------
A strided convolution maps a large image to a small one; the map that carries a small image
back to the large one "through the same kernel" is its transpose, and the transpose of a
linear map is exactly what backpropagation applies to the incoming gradient. So DCGAN's
upsampling layer, `conv_transpose2d(input, weight)`, *is* conv2d's input gradient applied to
`input`: weight (in, out, KH, KW) plays W (O = in, C = out), and the output size is the
(H, W) whose convolution has input's size, PyTorch's
OH = (H_in - 1)*sh - 2*ph + dh*(KH - 1) + output_padding + 1. Its own gradients then come for
free from the triple: conv2d (w.r.t. input) and conv2d_dw (w.r.t. weight).

The arithmetic lives in `kernels` (im2col / col2im + one GEMM per call).
"""
from __future__ import annotations

import numpy as np

import kernels

from ..autograd import Function
from ..tensor import Tensor, require_tensor
from .shape import _whole, cat, over_height_1, split, unbatched


# Conv2d's forward builds the im2col matrix `cols` of x; the weight gradient needs the same
# matrix, so forward keeps it rather than have backward build it again: one im2col pass
# saved, 3% of a DCGAN step at batch 64 on the CPU. But cols is KH*KW/(sh*sw) times the size
# of x, 4x for DCGAN's k4 s2 layers, and it stays alive until backward: at batch 512, D's
# two forward passes kept 205 MB of it (bench/README.md, "GPU"). So forward keeps cols only
# up to this size; larger ones are built again by backward (tests may lower it).
KEEP_COLS_BYTES = 32 << 20


def _pair(value, name: str, op: str) -> tuple:
    """An int or a pair of ints -> (h, w). As PyTorch, a float or a bool is refused
    (shape._whole), where int() would cut stride=1.5 to 1 without a word."""
    if type(value) is int:                          # the usual case, on the hot path
        return value, value
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2:
        raise ValueError(f"{op}: {name} must be an int or a pair, got {value!r}")
    try:
        return _whole(pair[0], op, name), _whole(pair[1], op, name)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got "
                        f"{value!r}") from None


def _check_geometry(op: str, stride: tuple, padding: tuple, dilation: tuple) -> None:
    """As PyTorch: stride and dilation >= 1, padding >= 0. Checked here, before any size
    is worked out from them, so that the error names the op that was called (the kernels
    check again, under their own names: conv_transpose2d runs conv2d_dx)."""
    if min(stride) < 1:
        raise ValueError(f"{op}: stride must be >= 1, got {stride}")
    if min(dilation) < 1:
        raise ValueError(f"{op}: dilation must be >= 1, got {dilation}")
    if min(padding) < 0:
        raise ValueError(f"{op}: padding must be >= 0, got {padding}")


def _bias_grad(fn: Function, grad: Tensor):
    """dL/db = grad summed over N, H, W, when fn was called with a bias that needs it."""
    if len(fn.inputs) < 3 or not fn.needs_input_grad[2]:
        return None
    return grad.sum((0, 2, 3))


class Conv2d(Function):
    """y = conv2d(x, W) + b                (b optional: one number per output channel)
    dL/dx = conv2d_dx(gy, W, (H, W))       (needs gy and W)
    dL/dW = conv2d_dw(x, gy, (KH, KW))     (needs x and gy)
    dL/db = sum of gy over N, OH, OW

    (Two speed-ups, not math: the weight gradient multiplies gy by the same im2col matrix of
    x that the forward pass built, so forward keeps it in `self.cols` for Conv2dDW, up to
    KEEP_COLS_BYTES, or any size when `use_cols_at_once` says backward comes right after;
    and the bias is added inside the kernel, while the GEMM's result is moved into NCHW
    order, instead of by a separate broadcast add over y, except where the GEMM writes NCHW
    directly (on the CPU when C*KH*KW is small, on the GPU for small calls): there the
    kernel adds it to y, in one broadcast add, after the GEMM.)"""
    returns_new_grads = True     # each gradient a new kernel result (see Function)

    def __init__(self, stride, padding, dilation, use_cols_at_once=False):
        self.geometry = (stride, padding, dilation)
        self.use_cols_at_once = use_cols_at_once

    def forward(self, x, w, b=None):
        # y (N, O, OH, OW); cols (C*KH*KW, N*OH*OW), im2col(x)
        y, cols = kernels.conv2d(x, w, *self.geometry, keep_cols=True, bias=b)
        keep = self.use_cols_at_once or cols.nbytes <= KEEP_COLS_BYTES
        self.cols = cols if keep else None
        return y

    def backward(self, gy):
        x, w = self.inputs[:2]
        cols, self.cols = self.cols, None
        # gx (N, C, H, W) as x; gw (O, C, KH, KW) as W
        gx = Conv2dDx(x.shape[2:], *self.geometry)(gy, w) if self.needs_input_grad[0] else None
        gw = (Conv2dDW(w.shape[2:], *self.geometry, cols=cols)(x, gy)
              if self.needs_input_grad[1] else None)
        return (gx, gw) if len(self.inputs) == 2 else (gx, gw, _bias_grad(self, gy))


class Conv2dDx(Function):
    """gx = conv2d_dx(gy, W, x_hw) + b: the transposed convolution of gy (b optional, one
    number per channel of gx; conv_transpose2d's bias, added where col2im starts its sums).
    With g = dL/dgx:
    dL/dgy = conv2d(g, W)                  since <conv2d_dx(gy, W), g> = <gy, conv2d(g, W)>
    dL/dW  = conv2d_dw(g, gy, (KH, KW))    since it also equals <W, conv2d_dw(g, gy)>
    dL/db  = sum of g over N, H, W"""
    returns_new_grads = True

    def __init__(self, x_hw, stride, padding, dilation):
        self.x_hw = tuple(x_hw)
        self.geometry = (stride, padding, dilation)

    def forward(self, gy, w, b=None):
        return kernels.conv2d_dx(gy, w, self.x_hw, *self.geometry, bias=b)

    def backward(self, g):
        gy, w = self.inputs[:2]
        conv = Conv2d(*self.geometry, use_cols_at_once=True)   # both need im2col(g): once
        d_gy = conv(g, w) if self.needs_input_grad[0] else None
        d_w = (Conv2dDW(w.shape[2:], *self.geometry, cols=getattr(conv, "cols", None))(g, gy)
               if self.needs_input_grad[1] else None)
        return (d_gy, d_w) if len(self.inputs) == 2 else (d_gy, d_w, _bias_grad(self, g))


class Conv2dDW(Function):
    """gW = conv2d_dw(x, gy, kernel_hw): the weight gradient of conv2d.
    With g = dL/dgW (shaped like W):
    dL/dx  = conv2d_dx(gy, g, (H, W))      since <conv2d_dw(x, gy), g> = <x, conv2d_dx(gy, g)>
    dL/dgy = conv2d(x, g)                  since it also equals <conv2d(x, g), gy>"""
    returns_new_grads = True

    def __init__(self, kernel_hw, stride, padding, dilation, cols=None):
        self.kernel_hw = tuple(kernel_hw)
        self.geometry = (stride, padding, dilation)
        self.cols = cols                      # im2col(x), when Conv2d already built it

    def forward(self, x, gy):
        cols, self.cols = self.cols, None     # used once, then let go
        return kernels.conv2d_dw(x, gy, self.kernel_hw, *self.geometry, cols=cols)

    def backward(self, g):
        x, gy = self.inputs
        d_x = Conv2dDx(x.shape[2:], *self.geometry)(gy, g) if self.needs_input_grad[0] else None
        d_gy = Conv2d(*self.geometry)(x, g) if self.needs_input_grad[1] else None
        return d_x, d_gy


# --------------------------------------------------------------------- functional forms

def _check(op: str, input: Tensor, weight: Tensor, groups: int, out_dim: int) -> int:
    """The checks both ops share (O(1), on shapes, dtypes and devices); returns groups as
    an int. out_dim: the dim of weight that counts the output channels (0 for conv2d, 1
    for conv_transpose2d)."""
    require_tensor(input, op, "input")
    require_tensor(weight, op, "weight")
    if type(groups) is not int:
        groups = _whole(groups, op, "groups")
    if groups < 1:
        raise ValueError(f"{op}: groups must be >= 1, got {groups}")
    if input.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got "
                         f"shape {tuple(input.shape)}")
    if weight.ndim != 4:
        raise ValueError(f"{op}: weight must be 4-D, got shape {tuple(weight.shape)}")
    if weight.shape[out_dim] == 0:
        raise ValueError(f"{op}: weight {tuple(weight.shape)} has no output channels (dim "
                         f"{out_dim}), as PyTorch refuses")
    if 0 in weight.shape[2:]:
        raise ValueError(f"{op}: weight {tuple(weight.shape)} has an empty kernel")
    for name, tensor in (("input", input), ("weight", weight)):
        if tensor.dtype not in (np.float32, np.float64):
            raise TypeError(f"{op}: {name} must be float32 or float64, got {tensor.dtype}")
    if input.dtype != weight.dtype:
        raise TypeError(f"{op}: input ({input.dtype}) and weight ({weight.dtype}) must have "
                        f"the same dtype")
    if input.device != weight.device:
        raise ValueError(f"{op}: the weight is on {weight.device} and the input on "
                         f"{input.device}; move them to one device")
    if weight.shape[0] % groups:
        raise ValueError(f"{op}: weight {tuple(weight.shape)} has {weight.shape[0]} "
                         f"{'output' if out_dim == 0 else 'input'} channels (dim 0), which "
                         f"groups={groups} does not divide")
    return groups


def _grouped(conv, groups: int, input: Tensor, weight: Tensor, bias=None,
             **geometry) -> Tensor:
    """`groups` convolutions side by side, as PyTorch's `groups`: the input's channels are
    cut into `groups` equal parts, and part g is convolved with part g of the weight (cut
    along dim 0, for both conv2d and conv_transpose2d) and of the bias; the results are
    glued back along the channels. groups = in_channels is a depthwise convolution;
    StyleGAN2 folds its batch into the channels with groups = N, to give every sample its
    own modulated weight. A split, the convolutions and a cat: their backwards give the
    gradients (loops over groups in Python: clear, not fast for thousands of groups)."""
    inputs = split(input, input.shape[1] // groups, dim=1)
    weights = split(weight, weight.shape[0] // groups, dim=0)
    biases = [None] * groups if bias is None else split(bias, bias.shape[0] // groups)
    return cat([conv(x, w, b, **geometry) for x, w, b in zip(inputs, weights, biases)], dim=1)


def conv_padding(padding, kernel_hw, dilation, stride, op: str) -> tuple:
    """PyTorch's padding as widths (top, bottom, left, right): ints (the same on both
    sides), or 'valid' (none) or 'same' (the output as large as the input: stride 1 only,
    as in PyTorch; an odd total padding dilation*(kernel-1) puts the extra one at the
    bottom / right, as PyTorch does)."""
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        if stride != (1, 1):
            raise ValueError(f"{op}: padding='same' is not supported for strided "
                             f"convolutions (stride {stride}), as in PyTorch")
        (th, tw) = (d * (k - 1) for k, d in zip(kernel_hw, dilation))
        return th // 2, th - th // 2, tw // 2, tw - tw // 2
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding={padding!r}: use an int, a pair, 'same' or 'valid'")
    ph, pw = _pair(padding, "padding", op)
    return ph, ph, pw, pw


def _with_bias(input: Tensor, weight: Tensor, bias: Tensor | None, channels: int,
               op: str) -> tuple:
    """The op's inputs: (input, weight), and the bias when there is one ((channels,))."""
    if bias is None:
        return input, weight
    require_tensor(bias, op, "bias")
    if tuple(bias.shape) != (channels,):
        raise ValueError(f"{op}: bias must have shape ({channels},), got {tuple(bias.shape)}")
    if bias.dtype != input.dtype or bias.device != input.device:
        raise TypeError(f"{op}: bias ({bias.dtype}, on {bias.device}) must have the input's "
                        f"dtype and device ({input.dtype}, on {input.device})")
    return input, weight, bias


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """y = conv2d(x, W) + b, as torch.nn.functional.conv2d.
    input (N, C, H, W), weight (O, C/groups, KH, KW), bias (O,) -> (N, O, OH, OW) with
    OH = (H + 2*padding - dilation*(KH - 1) - 1) // stride + 1 (likewise OW).
    groups > 1: see _grouped."""
    op = "conv2d"
    if input.ndim == 3:                              # one image (C, H, W), as PyTorch
        return unbatched(conv2d, input, weight, bias, stride, padding, dilation, groups)
    groups = _check(op, input, weight, groups, out_dim=0)
    if input.shape[1] != weight.shape[1] * groups:
        raise ValueError(f"{op}: input {tuple(input.shape)} has {input.shape[1]} channels but "
                         f"weight {tuple(weight.shape)} expects {weight.shape[1] * groups}"
                         + (f" ({weight.shape[1]} per group, groups={groups})"
                            if groups > 1 else ""))
    stride, dilation = _pair(stride, "stride", op), _pair(dilation, "dilation", op)
    top, bottom, left, right = conv_padding(padding, weight.shape[2:], dilation, stride, op)
    if (top, left) != (bottom, right):     # 'same' with an odd total: pad first, unevenly
        from .shape import pad  # noqa: PLC0415

        input = pad(input, (left, right, top, bottom))
        top = left = 0
    padding = (top, left)
    _check_geometry(op, stride, padding, dilation)
    inputs = _with_bias(input, weight, bias, weight.shape[0], op)
    if groups > 1:
        return _grouped(conv2d, groups, *inputs, stride=stride, padding=padding,
                        dilation=dilation)
    return Conv2d(stride, padding, dilation)(*inputs)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """The transposed convolution, as torch.nn.functional.conv_transpose2d: conv2d's input
    gradient applied to `input` (see the module docstring).
    input (N, in, H, W), weight (in, out/groups, KH, KW), bias (out,) -> (N, out, OH, OW)
    with OH = (H - 1)*stride - 2*padding + dilation*(KH - 1) + output_padding + 1 (likewise
    OW). output_padding must be smaller than stride (PyTorch also allows < dilation; not
    here). groups > 1: see _grouped."""
    op = "conv_transpose2d"
    if input.ndim == 3:                              # one image (C, H, W), as PyTorch
        return unbatched(conv_transpose2d, input, weight, bias, stride, padding,
                         output_padding, groups, dilation)
    groups = _check(op, input, weight, groups, out_dim=1)
    if input.shape[1] != weight.shape[0]:
        raise ValueError(f"{op}: input {tuple(input.shape)} has {input.shape[1]} channels but "
                         f"weight {tuple(weight.shape)} (in, out, KH, KW) expects "
                         f"{weight.shape[0]}")
    stride, dilation = _pair(stride, "stride", op), _pair(dilation, "dilation", op)
    padding = _pair(padding, "padding", op)
    output_padding = _pair(output_padding, "output_padding", op)
    _check_geometry(op, stride, padding, dilation)
    if any(o >= s or o < 0 for o, s in zip(output_padding, stride)):
        raise ValueError(f"{op}: output_padding {output_padding} must be >= 0 and smaller "
                         f"than stride {stride}")
    out_hw = tuple(kernels.conv_transpose_out(i, k, s, p, d, o) for i, k, s, p, d, o in zip(
        input.shape[2:], weight.shape[2:], stride, padding, dilation, output_padding))
    if min(out_hw) < 1:
        raise ValueError(f"{op}: input {tuple(input.shape)} with weight {tuple(weight.shape)}, "
                         f"stride {stride}, padding {padding}, dilation {dilation} and "
                         f"output_padding {output_padding} gives an empty output {out_hw}")
    inputs = _with_bias(input, weight, bias, weight.shape[1] * groups, op)
    if groups > 1:
        return _grouped(conv_transpose2d, groups, *inputs, stride=stride, padding=padding,
                        output_padding=output_padding, dilation=dilation)
    return Conv2dDx(out_hw, stride, padding, dilation)(*inputs)


# --------------------------------------------------------------------- 1-D, as 2-D of height 1

def _single(value, name: str, op: str) -> int:
    """An int or a one-element tuple of ints -> the int (a float or a bool is refused)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{op}: {name} must be an int or a 1-tuple, got {value!r}")
        value = value[0]
    return _whole(value, op, name)


def _as_height_1(conv2d_like, op: str, input: Tensor, weight: Tensor, *args):
    """A 1-D convolution is the 2-D one over signals of height 1 (shape.over_height_1):
    input (N, C, L) or (C, L), weight (O, C, K) read as (O, C, 1, K)."""
    require_tensor(input, op, "input")
    require_tensor(weight, op, "weight")
    if input.ndim not in (2, 3):
        raise ValueError(f"{op}: input must be 3-D (N, C, L) or 2-D (C, L), got shape "
                         f"{tuple(input.shape)}")
    if weight.ndim != 3:
        raise ValueError(f"{op}: weight must be 3-D, got shape {tuple(weight.shape)}")
    return over_height_1(conv2d_like, op, (input, weight), *args)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """The 1-D convolution, as torch.nn.functional.conv1d: conv2d over height 1.
    input (N, C, L), weight (O, C/groups, K), bias (O,) -> (N, O, OL) with
    OL = (L + 2*padding - dilation*(K - 1) - 1) // stride + 1."""
    op = "conv1d"
    if not isinstance(padding, str):
        padding = (0, _single(padding, "padding", op))
    return _as_height_1(conv2d, op, input, weight, bias, (1, _single(stride, "stride", op)),
                        padding, (1, _single(dilation, "dilation", op)), groups)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """The 1-D transposed convolution, as torch.nn.functional.conv_transpose1d:
    conv_transpose2d over height 1. input (N, in, L), weight (in, out/groups, K), bias
    (out,) -> (N, out, OL), OL = (L - 1)*stride - 2*padding + dilation*(K - 1)
    + output_padding + 1."""
    op = "conv_transpose1d"
    return _as_height_1(conv_transpose2d, op, input, weight, bias,
                        (1, _single(stride, "stride", op)),
                        (0, _single(padding, "padding", op)),
                        (0, _single(output_padding, "output_padding", op)), groups,
                        (1, _single(dilation, "dilation", op)))
