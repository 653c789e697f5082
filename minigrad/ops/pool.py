"""Pooling and resizing: avg_pool2d, max_pool2d, adaptive_avg_pool2d, interpolate, and the
1-D pools avg_pool1d, max_pool1d, adaptive_avg_pool1d (the 2-D ones over height 1, as
conv1d in minigrad/ops/conv.py; interpolate resizes a signal (N, C, L) the same way).

Every one of these is a *linear* map of its input once its indices are fixed:

    average pooling, adaptive average pooling   y = A x   (A: window means)
    nearest / bilinear resizing                 y = A x   (A: copies / 2x2 mixes)
    max pooling                                 y = A x   (A: picks x at argmax, a constant)

The backward of y = A x is g -> A^T g, and the backward of *that* is A again. So each op is a
pair of Functions, forward and adjoint, each one's backward being the other; gradients of
every order follow. Max pooling's argmax depends on x, but only piecewise-constantly: it is
saved as a constant (like a ReLU mask) and the pair is gather/scatter at those indices.

The loops live in `kernels` (reference loops, numba, CUDA).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

import kernels

from ..autograd import Function
from ..tensor import Tensor, require_tensor
from .conv import _single
from .shape import _whole, over_height_1, squeeze, unbatched, unsqueeze


def _pair(value, name: str, op: str) -> tuple:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{op}: {name} must be an int or a pair, got {value!r}")
        return tuple(value)
    return value, value


def _int_pair(value, name: str, op: str) -> tuple:
    """_pair of ints: as PyTorch, 2.5 (or True) is refused, not cut to 2 (or read as 1)."""
    return tuple(_whole(v, op, name) for v in _pair(value, name, op))


def _check_4d(op: str, x: Tensor) -> None:
    """(N, C, H, W), or an error. The pools took one image (C, H, W) before this check
    (unbatched), and a 1-D pool (N, C, L) or (C, L) before calling them (_as_height_1)."""
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W) or 3-D (C, H, W), got shape "
                         f"{tuple(x.shape)}")


# ---------------------------------------------------------------------- average pooling

class AvgPool2d(Function):
    """y[n,c,oh,ow] = mean of the window at (oh*sh - ph, ow*sw - pw)    (linear)
    dL/dx = AvgPool2dBackward(gy): each window's gradient shared by its pixels."""
    save_inputs = False

    def __init__(self, kernel, stride, padding, count_include_pad):
        self.args = (kernel, stride, padding, count_include_pad)

    def forward(self, x):
        return kernels.avg_pool2d(x, *self.args)

    def backward(self, gy):
        (x_shape, _), = self.input_meta
        return AvgPool2dBackward(x_shape, *self.args)(gy)


class AvgPool2dBackward(Function):
    """gx = A^T gy (the adjoint of AvgPool2d)       dL/dgy = AvgPool2d(g)"""
    save_inputs = False

    def __init__(self, x_shape, kernel, stride, padding, count_include_pad):
        self.x_shape = tuple(x_shape)
        self.args = (kernel, stride, padding, count_include_pad)

    def forward(self, gy):
        return kernels.avg_pool2d_backward(gy, self.x_shape, *self.args)

    def backward(self, g):
        return AvgPool2d(*self.args)(g)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """Mean over each kernel_size window, as torch.nn.functional.avg_pool2d (stride defaults
    to kernel_size; count_include_pad=True divides by the full window size). ceil_mode:
    the last window of a dim may hang past the edge (PyTorch's output size and divisors);
    divisor_override: every window's sum divided by that number."""
    op = "avg_pool2d"
    if input.ndim == 3:                              # one image (C, H, W), as PyTorch
        return unbatched(avg_pool2d, input, kernel_size, stride, padding, ceil_mode,
                         count_include_pad, divisor_override)
    _check_4d(op, input)
    kernel = _int_pair(kernel_size, "kernel_size", op)
    stride = kernel if stride is None else _int_pair(stride, "stride", op)
    padding = _int_pair(padding, "padding", op)
    if divisor_override is not None:
        divisor_override = _whole(divisor_override, op, "divisor_override")
    extra = _ceil_mode_extra(input, kernel, stride, padding) if ceil_mode else (0, 0)
    if extra == (0, 0) and divisor_override is None:
        return AvgPool2d(kernel, stride, padding, bool(count_include_pad))(input)
    # The windows' sums (the mean over the full window, times its size), each divided by
    # its own divisor: PyTorch's rule for windows that hang past the edge (ceil_mode), or
    # divisor_override. The zeros that pad the last windows add nothing to the sums.
    from .elementwise import MulScalar  # noqa: PLC0415
    from .shape import pad  # noqa: PLC0415

    padded = pad(input, (0, extra[1], 0, extra[0])) if extra != (0, 0) else input
    sums = MulScalar(float(kernel[0] * kernel[1]))(AvgPool2d(kernel, stride, padding,
                                                             True)(padded))
    if divisor_override is not None:
        if divisor_override <= 0:
            raise ValueError(f"{op}: divisor_override must be positive, got "
                             f"{divisor_override}")
        return MulScalar(1.0 / divisor_override)(sums)
    divisor = np.outer(*(_window_sizes(n, o, k, s, p, count_include_pad) for n, o, k, s, p
                         in zip(input.shape[2:], sums.shape[2:], kernel, stride, padding)))
    return sums * Tensor._from_op(input.xp.asarray((1.0 / divisor).astype(input.dtype)),
                                  False)                         # (OH, OW), broadcast


def _ceil_mode_extra(x: Tensor, kernel, stride, padding) -> tuple:
    """ceil_mode=True: how many rows and columns to add below and right of x (beyond the
    padding) so that the last window of each dim, which may hang past the edge, is whole.
    PyTorch's output size: ceil((n + 2p - k) / s) + 1, less one where that last window
    would start in the right-hand padding."""
    extra = []
    for n, k, s, p in zip(x.shape[2:], kernel, stride, padding):
        out = -(-(n + 2 * p - k) // s) + 1
        if (out - 1) * s >= n + p:
            out -= 1
        extra.append(max(0, (out - 1) * s + k - (n + 2 * p)))
    return tuple(extra)


def _window_sizes(n: int, out: int, k: int, s: int, p: int, count_include_pad: bool):
    """Along one dim, the length of each window as PyTorch counts it: cut at the far edge
    of the padding (count_include_pad), or at the input's own edges. Window (i, j) is
    divided by rows[i] * cols[j] (the np.outer in avg_pool2d)."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, n + p)
    if count_include_pad:
        return end - start
    return np.minimum(end, n) - np.maximum(start, 0)


# -------------------------------------------------------------------------- max pooling

class MaxPool2d(Function):
    """y = x picked at argmax (the winner of each window; argmax saved as a constant)
    dL/dx = MaxPoolScatter(gy): each output's gradient goes to its winner."""
    save_inputs = False

    def __init__(self, kernel, stride, padding):
        self.args = (kernel, stride, padding)

    def forward(self, x):
        y, self.argmax = kernels.max_pool2d(x, *self.args)
        return y

    def backward(self, gy):
        (x_shape, _), = self.input_meta
        return MaxPoolScatter(self.argmax, x_shape)(gy)


class MaxPoolScatter(Function):
    """gx[n,c].flat[argmax] += gy          (linear in gy; argmax constant)
    dL/dgy = MaxPoolGather(g): the adjoint of a scatter is the gather at the same indices."""
    save_inputs = False

    def __init__(self, argmax, x_shape):
        self.argmax, self.x_shape = argmax, tuple(x_shape)

    def forward(self, gy):
        return kernels.max_pool2d_backward(gy, self.argmax, self.x_shape)

    def backward(self, g):
        return MaxPoolGather(self.argmax)(g)


class MaxPoolGather(Function):
    """y = g[n,c].flat[argmax]              (linear in g; argmax constant)
    dL/dg = MaxPoolScatter(gy)."""
    save_inputs = False

    def __init__(self, argmax):
        self.argmax = argmax

    def forward(self, g):
        return kernels.max_pool2d_gather(g, self.argmax)

    def backward(self, gy):
        (g_shape, _), = self.input_meta
        return MaxPoolScatter(self.argmax, g_shape)(gy)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Max over each kernel_size window, as torch.nn.functional.max_pool2d (stride defaults
    to kernel_size; padding never wins). ceil_mode: the last window of a dim may hang past
    the edge (PyTorch's output size). return_indices=True also returns the flat index
    h*W + w of each maximum (int64, no gradient)."""
    op = "max_pool2d"
    if input.ndim == 3:                              # one image (C, H, W), as PyTorch
        return unbatched(max_pool2d, input, kernel_size, stride, padding, dilation,
                         ceil_mode, return_indices)
    _check_4d(op, input)
    if _int_pair(dilation, "dilation", op) != (1, 1):
        raise NotImplementedError(f"{op}: dilation != 1 is not implemented")
    kernel = _int_pair(kernel_size, "kernel_size", op)
    stride = kernel if stride is None else _int_pair(stride, "stride", op)
    padding = _int_pair(padding, "padding", op)
    extra = _ceil_mode_extra(input, kernel, stride, padding) if ceil_mode else (0, 0)
    padded = input
    if extra != (0, 0):               # ceil_mode: -inf below and right, which never wins
        from .shape import pad  # noqa: PLC0415

        padded = pad(input, (0, extra[1], 0, extra[0]), value=-math.inf)
    fn = MaxPool2d(kernel, stride, padding)
    y = fn(padded)
    if not return_indices:
        return y
    index = fn.argmax                 # h * W' + w in the padded image: back to h * W + w
    if extra[1]:
        width = input.shape[3]
        padded_width = width + extra[1]
        row, col = index // padded_width, index % padded_width     # in the padded image
        index = row * width + col                                  # in the input
    return y, Tensor(index)


# ----------------------------------------------------------------- adaptive average pool

class AdaptiveAvgPool2d(Function):
    """y[n,c,i,j] = mean of x over rows [floor(i*H/OH), ceil((i+1)*H/OH)) x the same for
    columns                                                       (linear)
    dL/dx = AdaptiveAvgPool2dBackward(gy)."""
    save_inputs = False

    def __init__(self, out_hw):
        self.out_hw = out_hw

    def forward(self, x):
        return kernels.adaptive_avg_pool2d(x, self.out_hw)

    def backward(self, gy):
        (x_shape, _), = self.input_meta
        return AdaptiveAvgPool2dBackward(x_shape)(gy)


class AdaptiveAvgPool2dBackward(Function):
    """gx = A^T gy                        dL/dgy = AdaptiveAvgPool2d(g)"""
    save_inputs = False

    def __init__(self, x_shape):
        self.x_shape = tuple(x_shape)

    def forward(self, gy):
        return kernels.adaptive_avg_pool2d_backward(gy, self.x_shape)

    def backward(self, g):
        (gy_shape, _), = self.input_meta
        return AdaptiveAvgPool2d(tuple(gy_shape[2:]))(g)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output size (any input size), as PyTorch; None in
    output_size keeps that input dimension."""
    op = "adaptive_avg_pool2d"
    if input.ndim == 3:                              # one image (C, H, W), as PyTorch
        return unbatched(adaptive_avg_pool2d, input, output_size)
    _check_4d(op, input)
    out = _pair(output_size, "output_size", op)
    out = tuple(i if o is None else _whole(o, op, "output_size")
                for o, i in zip(out, input.shape[2:]))
    return AdaptiveAvgPool2d(out)(input)


# ----------------------------------------------------------------------------- resizing

class UpsampleNearest2d(Function):
    """y[n,c,oh,ow] = x[n,c,src(oh),src(ow)],  src(d) = min(floor(d*in/out), in-1)  (linear)
    dL/dx = UpsampleNearest2dBackward(gy): gradients of the copies add up."""
    save_inputs = False

    def __init__(self, out_hw, scale_factor):
        self.out_hw, self.scale_factor = out_hw, scale_factor

    def forward(self, x):
        return kernels.upsample_nearest2d(x, self.out_hw, self.scale_factor)

    def backward(self, gy):
        (x_shape, _), = self.input_meta
        return UpsampleNearest2dBackward(x_shape, self.scale_factor)(gy)


class UpsampleNearest2dBackward(Function):
    """gx = A^T gy                        dL/dgy = UpsampleNearest2d(g)"""
    save_inputs = False

    def __init__(self, x_shape, scale_factor):
        self.x_shape, self.scale_factor = tuple(x_shape), scale_factor

    def forward(self, gy):
        return kernels.upsample_nearest2d_backward(gy, self.x_shape, self.scale_factor)

    def backward(self, g):
        (gy_shape, _), = self.input_meta
        return UpsampleNearest2d(tuple(gy_shape[2:]), self.scale_factor)(g)


class UpsampleBilinear2d(Function):
    """y[n,c,oh,ow] = sum over the 2x2 neighbours of lh * lw * x            (linear)
    (align_corners=False: src = max((d + 0.5)*in/out - 0.5, 0), weights 1-frac, frac)
    dL/dx = UpsampleBilinear2dBackward(gy): each output's gradient back to its 4 sources."""
    save_inputs = False

    def __init__(self, out_hw, align_corners, scale_factor):
        self.out_hw, self.options = out_hw, (align_corners, scale_factor)

    def forward(self, x):
        return kernels.upsample_bilinear2d(x, self.out_hw, *self.options)

    def backward(self, gy):
        (x_shape, _), = self.input_meta
        return UpsampleBilinear2dBackward(x_shape, *self.options)(gy)


class UpsampleBilinear2dBackward(Function):
    """gx = A^T gy                        dL/dgy = UpsampleBilinear2d(g)"""
    save_inputs = False

    def __init__(self, x_shape, align_corners, scale_factor):
        self.x_shape, self.options = tuple(x_shape), (align_corners, scale_factor)

    def forward(self, gy):
        return kernels.upsample_bilinear2d_backward(gy, self.x_shape, *self.options)

    def backward(self, g):
        (gy_shape, _), = self.input_meta
        return UpsampleBilinear2d(tuple(gy_shape[2:]), *self.options)(g)


# "linear" mixes neighbours along L of a signal (N, C, L), "bilinear" along H and W of an
# image (N, C, H, W); as in PyTorch, each refuses the other's input.
_LINEAR_MODE = {3: "linear", 4: "bilinear"}
_LAYOUT = {"linear": "3-D (N, C, L)", "bilinear": "4-D (N, C, H, W)"}


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize (N, C, H, W), or a signal (N, C, L), to `size`, or by `scale_factor` (output
    floor(H * scale)), as torch.nn.functional.interpolate with mode "nearest",
    "nearest-exact", "bilinear" (images), "linear" (signals) or "area" (adaptive average
    pooling). As in PyTorch, a given scale_factor is also what maps output to input
    coordinates (1/scale rather than in/out) unless recompute_scale_factor=True.
    A signal is resized as an image of height 1 whose height stays 1: "linear" is
    "bilinear" with nothing to mix along H (a height resized 1 -> 1 is copied, with
    align_corners True or False)."""
    op = "interpolate"
    require_tensor(input, op)
    if input.ndim not in (3, 4):
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W) or 3-D (N, C, L), got shape "
                         f"{tuple(input.shape)}")
    if mode not in ("nearest", "nearest-exact", "linear", "bilinear", "area"):
        raise NotImplementedError(f"{op}: mode {mode!r} is not implemented ('nearest', "
                                  f"'nearest-exact', 'linear', 'bilinear' and 'area' are)")
    linear = _LINEAR_MODE[input.ndim]               # the interpolating mode for this input
    if mode in _LAYOUT and mode != linear:
        raise NotImplementedError(f"{op}: mode {mode!r} needs {_LAYOUT[mode]} input, got "
                                  f"shape {tuple(input.shape)} (use mode={linear!r})")
    if antialias:
        raise NotImplementedError(f"{op}: antialias=True is not implemented")
    if mode != linear and align_corners is not None:
        raise ValueError(f"{op}: align_corners can only be set with mode={linear!r}")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor")
    dims = input.ndim - 2                        # the resized dims: L, or H and W
    several = "a pair" if dims == 2 else "a 1-tuple"
    if size is not None:
        sizes = size if isinstance(size, (tuple, list)) else (size,)
        if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool)
                   for s in sizes):
            raise TypeError(f"{op}: size must be an int or {several} of ints, got {size!r}")
        out, scales = tuple(int(s) for s in _per_dim(size, dims, "size", op)), None
    else:
        scales = _per_dim(scale_factor, dims, "scale_factor", op)
        if not all(isinstance(s, numbers.Real) for s in scales):
            raise TypeError(f"{op}: scale_factor must be a number or {several} of numbers, "
                            f"got {scale_factor!r}")
        scales = tuple(float(s) for s in scales)
        if not all(0 < s < math.inf for s in scales):         # (nan fails this too)
            raise ValueError(f"{op}: scale_factor must be positive and finite, got "
                             f"{scale_factor!r}")
        out = tuple(math.floor(i * s) for i, s in zip(input.shape[2:], scales))
        if recompute_scale_factor:
            scales = None
    if min(out) < 1:
        raise ValueError(f"{op}: output size {out} for input {tuple(input.shape)} must be "
                         f"positive")
    if dims == 2:
        return _resize(input, out, scales, mode, align_corners)
    if mode == "nearest" and scales is not None and out == tuple(input.shape[2:]):
        return _nearest_same_length(input, scales[0])      # PyTorch's 1-D rule: see there
    image = unsqueeze(input, -2)         # a signal (N, C, L) as an image (N, C, 1, L) ...
    scales = None if scales is None else (1.0,) + scales
    mode = "bilinear" if mode == "linear" else mode
    return squeeze(_resize(image, (1,) + out, scales, mode, align_corners), -2)  # ... and back


def _nearest_same_length(x: Tensor, scale: float) -> Tensor:
    """mode "nearest" on a signal whose length a scale_factor keeps (1 <= scale < 1 + 1/L):
    PyTorch's 1-D op still reads sample floor(l / scale) (in float32), where its 2-D op,
    and UpsampleNearest2d here, copy a dim whose size does not change. So here: x indexed
    at those samples (getitem, whose backward adds the gradients of the copies; PyTorch's
    backward there copies the gradient back, which is not the adjoint of its forward)."""
    from .index import getitem  # noqa: PLC0415

    length = x.shape[2]
    steps = np.arange(length, dtype=np.float32) * np.float32(1.0 / scale)
    source = np.minimum(np.floor(steps).astype(np.int64), length - 1)
    return getitem(x, (slice(None), slice(None), source))


def _per_dim(value, dims: int, name: str, op: str) -> tuple:
    """size or scale_factor for each resized dim: one value for all, or one each."""
    if dims == 2:
        return _pair(value, name, op)
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{op}: {name} must be one number or a 1-tuple for a signal "
                             f"(N, C, L), got {value!r}")
        return tuple(value)
    return (value,)


def _resize(x: Tensor, out_hw: tuple, scales, mode: str, align_corners) -> Tensor:
    """interpolate's work, its arguments checked: (N, C, H, W) -> (N, C, *out_hw)."""
    if mode == "nearest":
        return UpsampleNearest2d(out_hw, scales)(x)
    if mode == "nearest-exact":
        return _nearest_exact(x, out_hw, scales)
    if mode == "area":                   # each output pixel: the mean of its input area
        return adaptive_avg_pool2d(x, out_hw)
    return UpsampleBilinear2d(out_hw, bool(align_corners), scales)(x)


def _nearest_exact(x: Tensor, out_hw: tuple, scales) -> Tensor:
    """mode "nearest-exact": output pixel d copies input pixel floor((d + 0.5) * in/out)
    (1/scale_factor when one was given), the nearest by pixel centres; "nearest" uses
    floor(d * in/out), which shifts the image by half a pixel. Two index arrays, so the
    gradients of the copies add up (the scatter-add of getitem's backward)."""
    from .index import getitem  # noqa: PLC0415

    for axis, (size_in, size_out) in enumerate(zip(x.shape[2:], out_hw)):
        ratio = size_in / size_out if scales is None else 1.0 / scales[axis]
        source = np.minimum(np.floor((np.arange(size_out) + 0.5) * ratio).astype(np.int64),
                            size_in - 1)
        x = getitem(x, (slice(None),) * (2 + axis) + (source,))
    return x


# --------------------------------------------------------------- 1-D, as 2-D of height 1

def _as_height_1(pool2d, op: str, input: Tensor, *args):
    """A 1-D pool is the 2-D one over signals of height 1 (shape.over_height_1): input
    (N, C, L) or (C, L), the windows (1, K)."""
    require_tensor(input, op)
    if input.ndim not in (2, 3):
        raise ValueError(f"{op}: input must be 3-D (N, C, L) or 2-D (C, L), got shape "
                         f"{tuple(input.shape)}")
    return over_height_1(pool2d, op, (input,), *args)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over each kernel_size window of a signal, as torch.nn.functional.avg_pool1d:
    avg_pool2d over height 1. (N, C, L) or (C, L) -> (N, C, OL), OL = (L + 2*padding -
    kernel_size) // stride + 1 (rounded up with ceil_mode); stride defaults to
    kernel_size, count_include_pad=True divides by the full window size."""
    op = "avg_pool1d"
    kernel = (1, _single(kernel_size, "kernel_size", op))
    stride = None if stride is None else (1, _single(stride, "stride", op))
    return _as_height_1(avg_pool2d, op, input, kernel, stride,
                        (0, _single(padding, "padding", op)), ceil_mode, count_include_pad)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Max over each kernel_size window of a signal, as torch.nn.functional.max_pool1d:
    max_pool2d over height 1 (so dilation != 1 is refused, as there). return_indices=True
    also returns the position l of each maximum along L (max_pool2d's h*W + w, h = 0)."""
    op = "max_pool1d"
    kernel = (1, _single(kernel_size, "kernel_size", op))
    stride = None if stride is None else (1, _single(stride, "stride", op))
    return _as_height_1(max_pool2d, op, input, kernel, stride,
                        (0, _single(padding, "padding", op)),
                        (1, _single(dilation, "dilation", op)), ceil_mode, return_indices)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average pooling of a signal to output_size samples (any L), as PyTorch:
    adaptive_avg_pool2d over height 1. Sample i is the mean of x over
    [floor(i*L/OL), ceil((i+1)*L/OL))."""
    op = "adaptive_avg_pool1d"
    return _as_height_1(adaptive_avg_pool2d, op, input,
                        (1, _single(output_size, "output_size", op)))
