"""kernels: arrays in, arrays out. The compute under minigrad's convolution, pooling and
resizing ops, with no tensors and no tape.

Every function here takes numpy or CuPy arrays (NCHW, float32 or float64), checks the shapes,
and routes by array type: numpy arrays go to `kernels.cpu` (numba + BLAS), CuPy arrays to
`kernels.gpu` (CUDA kernels + cuBLAS). `kernels.reference` holds the same functions as plain
loops; it is the test oracle and the place to read what each op means. CuPy is imported only
when a CuPy array arrives, so this package imports on machines without it.

The convolution triple
----------------------
A convolution y = conv2d(x, w) is linear in x and linear in w, so it comes with two more maps:

    conv2d(x, w)                 x (N,C,H,W), w (O,C,KH,KW)  -> y  (N,O,OH,OW)
    conv2d_dx(gy, w, (H, W))     gy (N,O,OH,OW), w           -> gx (N,C,H,W)   input gradient
    conv2d_dw(x, gy, (KH, KW))   x, gy                       -> gw (O,C,KH,KW) weight gradient

with <conv2d(x, w), gy> == <x, conv2d_dx(gy, w)> == <w, conv2d_dw(x, gy)>. conv2d_dx is also
the transposed ("fractionally strided") convolution: PyTorch's conv_transpose2d(input, weight)
is conv2d_dx(input, weight, out_hw). Each of the three is the derivative of the others, which
is why minigrad needs nothing more for gradients of any order. All three become one matrix
product (GEMM) around the data-movement kernels im2col / col2im (layout in `im2col`); on the
CPU, conv2d_dx runs its GEMM and col2im a block of images at a time, so that col2im finds
the block's columns still in the cache. On the GPU, small calls run the GEMM as N per-image
products in one batched cuBLAS call that reads and writes NCHW arrays where they lie.

Spatial arguments are (h, w) pairs; a single int is accepted for both.

Three more modules hold fused kernels with their own references, routed the same way:
`kernels.pointwise` (leaky_relu with its switch pattern, slope_mul, mask_mul, sigmoid,
bce_with_logits and its input gradient bce_with_logits_grad, inverse_std; and erf, scipy's
or CuPy's, so that GELU runs on either device), `kernels.norm` (batch norm's forward and
backward in training mode) and `kernels.optim` (Adam's update).

Stepping through a kernel
-------------------------
The CPU kernels are numba functions. Run with the environment variable NUMBA_DISABLE_JIT=1
(set before Python starts) and they execute as ordinary Python: put a breakpoint inside the
loop and look at every index. Expect it to be slow.
"""
import functools

import numpy as np

from . import cpu
from .shapes import adaptive_window, conv_out, conv_out_hw, conv_transpose_out

__all__ = [
    "conv2d", "conv2d_dx", "conv2d_dw", "im2col", "col2im",
    "avg_pool2d", "avg_pool2d_backward", "max_pool2d", "max_pool2d_backward",
    "max_pool2d_gather", "adaptive_avg_pool2d", "adaptive_avg_pool2d_backward",
    "upsample_nearest2d", "upsample_nearest2d_backward",
    "upsample_bilinear2d", "upsample_bilinear2d_backward",
    "conv_out", "conv_out_hw", "conv_transpose_out", "adaptive_window",
]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


# --------------------------------------------------------------------------------- routing

def _is_cupy(a) -> bool:
    """True for a CuPy array, decided without importing CuPy."""
    return type(a).__module__.startswith("cupy")


def _array_module(a):
    """numpy, or cupy for a CuPy array (imported only then)."""
    if _is_cupy(a):
        import cupy  # noqa: PLC0415 (GPU only)

        return cupy
    return np


def _backend(op: str, *arrays):
    """`kernels.cpu` for numpy arrays, `kernels.gpu` for CuPy arrays; mixing is an error."""
    on_gpu = [_is_cupy(a) for a in arrays]
    if all(on_gpu):
        from . import gpu
        return gpu
    if any(on_gpu):
        kinds = ", ".join(type(a).__module__.split(".")[0] for a in arrays)
        raise TypeError(f"{op}: arrays must all be numpy or all CuPy, got {kinds}")
    return cpu


# ------------------------------------------------------------------------------ validation

def _pair(value, name: str, op: str) -> tuple:
    """An int or an (h, w) pair of ints -> (h, w)."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    try:
        h, w = value
        return int(h), int(w)
    except (TypeError, ValueError):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}") from None


def _geometry(op, kernel_hw, stride, padding, dilation):
    kernel_hw, stride = _pair(kernel_hw, "kernel size", op), _pair(stride, "stride", op)
    padding, dilation = _pair(padding, "padding", op), _pair(dilation, "dilation", op)
    if min(kernel_hw) < 1 or min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(f"{op}: kernel size {kernel_hw}, stride {stride} and dilation "
                         f"{dilation} must be >= 1 and padding {padding} >= 0")
    return kernel_hw, stride, padding, dilation


def _check_array(op, name, a, ndim=4):
    if a.ndim != ndim:
        raise ValueError(f"{op}: {name} must be {ndim}-D, got shape {tuple(a.shape)}")
    if a.dtype not in _FLOATS:
        raise TypeError(f"{op}: {name} must be float32 or float64, got {a.dtype}")


def _same_dtype(op, *arrays):
    if len({a.dtype for a in arrays}) > 1:
        dtypes = ", ".join(str(a.dtype) for a in arrays)
        raise TypeError(f"{op}: arrays must have the same dtype, got {dtypes}")


@functools.lru_cache(maxsize=1024)
def _out_hw(op, in_hw, kernel_hw, stride, padding, dilation):
    """The output size of a window sweep, or a ValueError naming the shapes. (Remembered:
    a network asks for the same few layers' sizes every step; an error is not cached.)"""
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel_hw, dilation))
    padded = tuple(i + 2 * p for i, p in zip(in_hw, padding))
    out = conv_out_hw(in_hw, kernel_hw, stride, padding, dilation)
    if min(out) < 1 or any(s > p for s, p in zip(span, padded)):
        raise ValueError(f"{op}: kernel {kernel_hw} (dilation {dilation}, span {span}) is larger "
                         f"than the padded input {padded} (input {tuple(in_hw)}, padding "
                         f"{padding}); the output size would be {out}")
    return out


def _contiguous(xp_arrays):
    """The arrays in C order (copies of those that are not), for loops over flat views.
    (a.copy(), not np.ascontiguousarray, which turns a 0-d array into shape (1,).)"""
    return [a if a.flags.c_contiguous else a.copy() for a in xp_arrays]


# ----------------------------------------------------------------------------- convolution

def _check_bias(op, bias, channels, like):
    """bias: None, or a (channels,) array of like's dtype (contiguous copy if needed)."""
    if bias is None:
        return None
    if tuple(bias.shape) != (channels,):
        raise ValueError(f"{op}: bias must have shape ({channels},), got {tuple(bias.shape)}")
    _same_dtype(op, like, bias)
    return _contiguous([bias])[0]


def conv2d(x, w, stride=1, padding=0, dilation=1, *, keep_cols=False, bias=None):
    """y[n, o, oh, ow] = sum_{c, kh, kw} x_pad[n, c, oh*sh + kh*dh, ow*sw + kw*dw] * w[o, c, kh, kw]
                         (+ bias[o])
    for x (N, C, H, W), w (O, C, KH, KW), bias (O,) or None -> y (N, O, OH, OW) with
    OH = (H + 2*ph - dh*(KH-1) - 1)//sh + 1 (and likewise OW). The bias is added while the
    GEMM's result is moved into NCHW order (no extra pass over y), except where the GEMM
    writes NCHW itself (on the CPU when C*KH*KW is small, on the GPU for small calls):
    there it is one broadcast add over y after the GEMM.
    keep_cols=True returns (y, cols), cols = im2col(x), for conv2d_dw(..., cols=cols)."""
    op = "conv2d"
    _check_array(op, "input", x), _check_array(op, "weight", w), _same_dtype(op, x, w)
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"{op}: input {tuple(x.shape)} has {x.shape[1]} channels but weight "
                         f"{tuple(w.shape)} expects {w.shape[1]}")
    geometry = _geometry(op, w.shape[2:], stride, padding, dilation)
    _out_hw(op, x.shape[2:], *geometry)
    bias = _check_bias(op, bias, w.shape[0], x)
    x, w = _contiguous([x, w])
    arrays = (x, w) if bias is None else (x, w, bias)
    return _backend(op, *arrays).conv2d(x, w, *geometry[1:], keep_cols=keep_cols, bias=bias)


def conv2d_dx(gy, w, x_hw, stride=1, padding=0, dilation=1, *, bias=None):
    """The input gradient of conv2d, i.e. the transposed convolution.
    gy (N, O, OH, OW), w (O, C, KH, KW) -> gx (N, C, H, W) with (H, W) = x_hw; (OH, OW) must be
    conv2d's output size for x_hw. PyTorch's conv_transpose2d(inp, weight (in, out, kh, kw))
    is conv2d_dx(inp, weight, out_hw) with out_hw from its output-size formula; its bias (C,),
    if given, is where col2im's sums start (no extra pass over gx)."""
    op = "conv2d_dx"
    _check_array(op, "grad_output", gy), _check_array(op, "weight", w), _same_dtype(op, gy, w)
    if gy.shape[1] != w.shape[0]:
        raise ValueError(f"{op}: grad_output {tuple(gy.shape)} has {gy.shape[1]} channels but "
                         f"weight {tuple(w.shape)} has {w.shape[0]} output channels")
    x_hw = _pair(x_hw, "input size", op)
    geometry = _geometry(op, w.shape[2:], stride, padding, dilation)
    expected = _out_hw(op, x_hw, *geometry)
    if tuple(gy.shape[2:]) != expected:
        raise ValueError(f"{op}: grad_output {tuple(gy.shape)} does not match input size {x_hw}: "
                         f"conv2d with kernel {geometry[0]}, stride {geometry[1]}, padding "
                         f"{geometry[2]}, dilation {geometry[3]} gives {expected}")
    bias = _check_bias(op, bias, w.shape[1], gy)
    gy, w = _contiguous([gy, w])
    arrays = (gy, w) if bias is None else (gy, w, bias)
    return _backend(op, *arrays).conv2d_dx(gy, w, x_hw, *geometry[1:], bias=bias)


def conv2d_dw(x, gy, kernel_hw, stride=1, padding=0, dilation=1, *, cols=None):
    """The weight gradient of conv2d:
    gw[o, c, kh, kw] = sum_{n, oh, ow} gy[n, o, oh, ow] * x_pad[n, c, oh*sh + kh*dh, ow*sw + kw*dw].
    x (N, C, H, W), gy (N, O, OH, OW) -> gw (O, C, KH, KW) with (KH, KW) = kernel_hw.
    cols: im2col(x) if already at hand (conv2d(..., keep_cols=True) of the same x and
    geometry); it is then used instead of being built again."""
    op = "conv2d_dw"
    _check_array(op, "input", x), _check_array(op, "grad_output", gy), _same_dtype(op, x, gy)
    if x.shape[0] != gy.shape[0]:
        raise ValueError(f"{op}: input {tuple(x.shape)} and grad_output {tuple(gy.shape)} have "
                         f"different batch sizes")
    geometry = _geometry(op, kernel_hw, stride, padding, dilation)
    expected = _out_hw(op, x.shape[2:], *geometry)
    if tuple(gy.shape[2:]) != expected:
        raise ValueError(f"{op}: grad_output {tuple(gy.shape)} does not match input "
                         f"{tuple(x.shape)}: conv2d with kernel {geometry[0]}, stride "
                         f"{geometry[1]}, padding {geometry[2]}, dilation {geometry[3]} "
                         f"gives {expected}")
    (KH, KW), (N, _, OH, OW) = geometry[0], gy.shape
    if cols is not None and (tuple(cols.shape) != (x.shape[1] * KH * KW, N * OH * OW)
                             or cols.dtype != x.dtype or not cols.flags.c_contiguous):
        raise ValueError(f"{op}: cols {cols.dtype} {tuple(cols.shape)} is not im2col of input "
                         f"{tuple(x.shape)} with kernel {geometry[0]}")
    x, gy = _contiguous([x, gy])
    arrays = (x, gy) if cols is None else (x, gy, cols)
    return _backend(op, *arrays).conv2d_dw(x, gy, *geometry, cols=cols)


def im2col(x, kernel_hw, stride=1, padding=0, dilation=1):
    """x (N, C, H, W) -> cols (C*KH*KW, N*OH*OW) with
    cols[(c*KH + kh)*KW + kw, (n*OH + oh)*OW + ow] = x_pad[n, c, oh*sh + kh*dh, ow*sw + kw*dw],
    so that conv2d(x, w) == (w.reshape(O, -1) @ cols) reshaped (O, N, OH, OW) -> (N, O, OH, OW).
    One row per (channel, kernel tap), one column per output pixel: a single large GEMM."""
    op = "im2col"
    _check_array(op, "input", x)
    geometry = _geometry(op, kernel_hw, stride, padding, dilation)
    _out_hw(op, x.shape[2:], *geometry)
    (x,) = _contiguous([x])
    return _backend(op, x).im2col(x, *geometry)


def col2im(cols, x_shape, kernel_hw, stride=1, padding=0, dilation=1):
    """The adjoint of im2col: cols (C*KH*KW, N*OH*OW) -> x (N, C, H, W) = x_shape, each entry
    added back to the pixel it was copied from (entries from the padding are dropped)."""
    op = "col2im"
    _check_array(op, "cols", cols, ndim=2)
    N, C, H, W = _shape4(op, "x_shape", x_shape)
    geometry = _geometry(op, kernel_hw, stride, padding, dilation)
    OH, OW = _out_hw(op, (H, W), *geometry)
    KH, KW = geometry[0]
    if tuple(cols.shape) != (C * KH * KW, N * OH * OW):
        raise ValueError(f"{op}: cols {tuple(cols.shape)} does not match x_shape {(N, C, H, W)} "
                         f"and kernel {geometry[0]}: expected {(C * KH * KW, N * OH * OW)}")
    (cols,) = _contiguous([cols])
    return _backend(op, cols).col2im(cols, (N, C, H, W), *geometry)


def _shape4(op, name, shape):
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError:
        raise ValueError(f"{op}: {name} must be a 4-tuple (N, C, H, W), got {shape!r}") from None
    if len(shape) != 4 or min(shape) < 0:
        raise ValueError(f"{op}: {name} must be a 4-tuple (N, C, H, W), got {shape!r}")
    return shape


# --------------------------------------------------------------------------------- pooling

def _pool_geometry(op, x_shape, kernel, stride, padding):
    kernel = _pair(kernel, "kernel size", op)
    stride = kernel if stride is None else _pair(stride, "stride", op)
    padding = _pair(padding, "padding", op)
    kernel, stride, padding, _ = _geometry(op, kernel, stride, padding, 1)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel size {kernel}")
    out = _out_hw(op, tuple(x_shape[2:]), kernel, stride, padding, (1, 1))
    return kernel, stride, padding, out


def _check_grad(op, gy, x_shape, out_hw):
    expected = (*x_shape[:2], *out_hw)
    if tuple(gy.shape) != expected:
        raise ValueError(f"{op}: grad_output {tuple(gy.shape)} does not match input "
                         f"{tuple(x_shape)}: expected {expected}")


def avg_pool2d(x, kernel, stride=None, padding=0, count_include_pad=True):
    """y = mean over each KH x KW window of the zero-padded x. stride defaults to the kernel
    size. count_include_pad=True (PyTorch's default): the divisor is always KH*KW; False: the
    number of real (unpadded) pixels in the window."""
    op = "avg_pool2d"
    _check_array(op, "input", x)
    kernel, stride, padding, _ = _pool_geometry(op, x.shape, kernel, stride, padding)
    (x,) = _contiguous([x])
    return _backend(op, x).avg_pool2d(x, kernel, stride, padding, bool(count_include_pad))


def avg_pool2d_backward(gy, x_shape, kernel, stride=None, padding=0, count_include_pad=True):
    """gx (x_shape): each output's gradient shared equally by the pixels of its window."""
    op = "avg_pool2d_backward"
    _check_array(op, "grad_output", gy)
    x_shape = _shape4(op, "x_shape", x_shape)
    kernel, stride, padding, out = _pool_geometry(op, x_shape, kernel, stride, padding)
    _check_grad(op, gy, x_shape, out)
    (gy,) = _contiguous([gy])
    return _backend(op, gy).avg_pool2d_backward(gy, x_shape, kernel, stride, padding,
                                                bool(count_include_pad))


def max_pool2d(x, kernel, stride=None, padding=0):
    """(y, argmax): y = max over each window (padding never wins), argmax (int64, the shape of y)
    = the flat index h*W + w of the maximum in its (H, W) plane; first maximum on ties, NaN wins."""
    op = "max_pool2d"
    _check_array(op, "input", x)
    kernel, stride, padding, _ = _pool_geometry(op, x.shape, kernel, stride, padding)
    (x,) = _contiguous([x])
    return _backend(op, x).max_pool2d(x, kernel, stride, padding)


def _check_argmax(op, argmax, shape):
    if tuple(argmax.shape) != tuple(shape) or argmax.dtype.kind not in "iu":
        raise ValueError(f"{op}: argmax must be an integer array of shape {tuple(shape)}, got "
                         f"{argmax.dtype} {tuple(argmax.shape)}")


def max_pool2d_backward(gy, argmax, x_shape):
    """gx (x_shape) with gx[n, c].flat[argmax[n, c, oh, ow]] += gy[n, c, oh, ow]: every output's
    gradient goes to the pixel that won its window; overlapping windows add up."""
    op = "max_pool2d_backward"
    _check_array(op, "grad_output", gy)
    x_shape = _shape4(op, "x_shape", x_shape)
    _check_argmax(op, argmax, gy.shape)
    if tuple(gy.shape[:2]) != x_shape[:2]:
        raise ValueError(f"{op}: grad_output {tuple(gy.shape)} does not match input {x_shape}")
    gy, argmax = _contiguous([gy, argmax.astype(np.int64, copy=False)])
    return _backend(op, gy, argmax).max_pool2d_backward(gy, argmax, x_shape)


def max_pool2d_gather(g, argmax):
    """gy[n, c, oh, ow] = g[n, c].flat[argmax[n, c, oh, ow]]: the adjoint of
    max_pool2d_backward, i.e. the forward of max_pool2d's double backward."""
    op = "max_pool2d_gather"
    _check_array(op, "input", g)
    if argmax.ndim != 4 or tuple(argmax.shape[:2]) != tuple(g.shape[:2]):
        raise ValueError(f"{op}: argmax {tuple(argmax.shape)} does not match input "
                         f"{tuple(g.shape)}")
    _check_argmax(op, argmax, argmax.shape)
    g, argmax = _contiguous([g, argmax.astype(np.int64, copy=False)])
    return _backend(op, g, argmax).max_pool2d_gather(g, argmax)


def _check_out_hw(op, out_hw):
    out_hw = _pair(out_hw, "output size", op)
    if min(out_hw) < 1:
        raise ValueError(f"{op}: output size {out_hw} must be positive")
    return out_hw


def adaptive_avg_pool2d(x, out_hw):
    """y[n, c, i, j] = mean of x[n, c] over rows [floor(i*H/OH), ceil((i+1)*H/OH)) and
    columns [floor(j*W/OW), ceil((j+1)*W/OW)) (PyTorch's windows; any sizes)."""
    op = "adaptive_avg_pool2d"
    _check_array(op, "input", x)
    out_hw = _check_out_hw(op, out_hw)
    if min(x.shape[2:]) < 1:
        raise ValueError(f"{op}: input {tuple(x.shape)} has an empty plane")
    (x,) = _contiguous([x])
    return _backend(op, x).adaptive_avg_pool2d(x, out_hw)


def adaptive_avg_pool2d_backward(gy, x_shape):
    op = "adaptive_avg_pool2d_backward"
    _check_array(op, "grad_output", gy)
    x_shape = _shape4(op, "x_shape", x_shape)
    if tuple(gy.shape[:2]) != x_shape[:2] or min(x_shape[2:]) < 1 or min(gy.shape[2:]) < 1:
        raise ValueError(f"{op}: grad_output {tuple(gy.shape)} does not match input {x_shape}")
    (gy,) = _contiguous([gy])
    return _backend(op, gy).adaptive_avg_pool2d_backward(gy, x_shape)


# ------------------------------------------------------------------------------ upsampling

def _scale_pair(op, scale_factor):
    if scale_factor is None:
        return None
    if isinstance(scale_factor, (int, float)):
        scale_factor = (scale_factor, scale_factor)
    sf = tuple(None if s is None else float(s) for s in scale_factor)
    if len(sf) != 2 or any(s is not None and s <= 0 for s in sf):
        raise ValueError(f"{op}: scale_factor must be positive, got {scale_factor!r}")
    return sf


def upsample_nearest2d(x, out_hw, scale_factor=None):
    """y[n, c, oh, ow] = x[n, c, src(oh), src(ow)], src(d) = min(floor(d * in/out), in-1)
    (PyTorch's 'nearest'). scale_factor: the user's (h, w) factors when out_hw came from them;
    PyTorch then uses 1/scale_factor in place of in/out."""
    op = "upsample_nearest2d"
    _check_array(op, "input", x)
    out_hw, sf = _check_out_hw(op, out_hw), _scale_pair(op, scale_factor)
    (x,) = _contiguous([x])
    return _backend(op, x).upsample_nearest2d(x, out_hw, sf)


def upsample_nearest2d_backward(gy, x_shape, scale_factor=None):
    """The adjoint: gx[n, c, src(oh), src(ow)] += gy[n, c, oh, ow]."""
    op = "upsample_nearest2d_backward"
    _check_array(op, "grad_output", gy)
    x_shape = _shape4(op, "x_shape", x_shape)
    if tuple(gy.shape[:2]) != x_shape[:2] or min(x_shape[2:]) < 1 or min(gy.shape[2:]) < 1:
        raise ValueError(f"{op}: grad_output {tuple(gy.shape)} does not match input {x_shape}")
    (gy,) = _contiguous([gy])
    return _backend(op, gy).upsample_nearest2d_backward(gy, x_shape, _scale_pair(op, scale_factor))


def upsample_bilinear2d(x, out_hw, align_corners=False, scale_factor=None):
    """Bilinear resize as PyTorch: with align_corners=False, output index d reads the input at
    src = max((d + 0.5)*in/out - 0.5, 0), mixing the two neighbours floor(src), floor(src)+1
    (clamped) with weights 1 - frac, frac; separately along H and W."""
    op = "upsample_bilinear2d"
    _check_array(op, "input", x)
    out_hw, sf = _check_out_hw(op, out_hw), _scale_pair(op, scale_factor)
    (x,) = _contiguous([x])
    return _backend(op, x).upsample_bilinear2d(x, out_hw, bool(align_corners), sf)


def upsample_bilinear2d_backward(gy, x_shape, align_corners=False, scale_factor=None):
    """The adjoint (transpose) of upsample_bilinear2d."""
    op = "upsample_bilinear2d_backward"
    _check_array(op, "grad_output", gy)
    x_shape = _shape4(op, "x_shape", x_shape)
    if tuple(gy.shape[:2]) != x_shape[:2] or min(x_shape[2:]) < 1 or min(gy.shape[2:]) < 1:
        raise ValueError(f"{op}: grad_output {tuple(gy.shape)} does not match input {x_shape}")
    (gy,) = _contiguous([gy])
    return _backend(op, gy).upsample_bilinear2d_backward(
        gy, x_shape, bool(align_corners), _scale_pair(op, scale_factor))
