"""The CPU tier: numba kernels for the data movement, numpy.matmul (BLAS) for the arithmetic.

Each kernel computes what its namesake in `reference.py` defines, with loops of its own
compiled with `@njit(parallel=True)`. The reference loops over output pixels and taps and
leaves the batch and channel axes to numpy; here the outer loop is a `prange` over the
image planes, split across threads, and every iteration writes only its own part of the
output, so no two threads ever write the same element. im2col and col2im differ most: they
go one (c, n) plane at a time through a table of taps (below). Run with
NUMBA_DISABLE_JIT=1 to step through any kernel as plain Python (slowly) in a debugger.

Convolution is lowered to one large matrix product (GEMM) per call:

    cols = im2col(x)                            # (C*KH*KW, N*OH*OW)
    y    = w.reshape(O, C*KH*KW) @ cols         # (O, N*OH*OW), then moved to (N, O, OH, OW)
    gx   = col2im(w.reshape(O, -1).T @ gy2)     # gy2 = gy as (O, N*OH*OW); a block of
                                                # images at a time (_DX_BLOCK_BYTES)
    gw   = gy2 @ cols.T                         # (O, C*KH*KW)

A bias rides along almost for free: conv2d adds it while moving y into NCHW order
(`_swap`), except where cols has few rows (`_BATCHED_MAX_ROWS`): there the GEMM writes
NCHW itself and the bias is one broadcast add over y. conv_transpose2d (conv2d_dx) starts
col2im's sums at it.

The two data-movement kernels are driven by a small "tap table" computed once per shape:
table[kh*KW + kw, oh*OW + ow] is the input pixel h*W + w that kernel tap (kh, kw) reads for
output pixel (oh, ow), or -1 where that tap lands in the zero padding. Both kernels run over
the (c, n) planes of x, one plane per loop iteration: im2col copies the plane through the
table into its KH*KW row segments of cols; col2im (its adjoint) adds those segments back into
the plane. A plane belongs to one iteration, so col2im needs no atomics and has no races.
(The GPU version instead gives each pixel of x its own thread, which gathers its sum.)
"""
import ctypes
import functools
import os
import sys
import threading
import types

import numpy as np
import numba
from numba import njit, prange

from .shapes import adaptive_window, conv_out_hw


def _choose_threading_layer():
    """Run numba's parallel loops on OpenMP, told to stop spinning almost at once.

    Two thread pools share the cores: numba's (im2col, col2im, the pointwise kernels) and
    OpenBLAS's (the GEMMs), and the two alternate many times per training step. Measured
    on a 2-core DCGAN step (see bench/README.md):
      * numba's `workqueue` layer sleeps when idle, but wakes slowly: ~0.1 ms per launch,
        and col2im of a DCGAN layer took 3.0 ms on it against 1.1 ms on OpenMP;
      * OpenMP (libgomp) as it comes spins ~300,000 times after each loop before sleeping,
        milliseconds on these CPUs, fighting the GEMM that follows: steps 2-6x slower;
      * OpenMP with GOMP_SPINCOUNT=2000 (tens of microseconds of spinning): fast launches
        and no fight.
    libgomp reads GOMP_SPINCOUNT once, when it is loaded, so the variable is set just
    around that moment and removed again (child processes do not inherit it). A user's own
    NUMBA_THREADING_LAYER, OMP_WAIT_POLICY or GOMP_SPINCOUNT always wins. Without libgomp,
    or if something loaded it earlier with its default spinning, `workqueue` is used.
    Note: GNU OpenMP does not survive fork(); a program that forks worker processes after
    running kernels should set NUMBA_THREADING_LAYER=workqueue (or use "spawn").
    """
    if "NUMBA_THREADING_LAYER" in os.environ:
        return
    user_tuned = "GOMP_SPINCOUNT" in os.environ or "OMP_WAIT_POLICY" in os.environ
    if not user_tuned and _libgomp_already_loaded():
        numba.config.THREADING_LAYER = "workqueue"
        return
    if not user_tuned:
        os.environ["GOMP_SPINCOUNT"] = "2000"
    try:
        from numba.np.ufunc import omppool  # noqa: F401  (loads libgomp, which reads it)
        numba.config.THREADING_LAYER = "omp"
    except ImportError:                        # no libgomp on this machine
        numba.config.THREADING_LAYER = "workqueue"
    finally:
        if not user_tuned:
            del os.environ["GOMP_SPINCOUNT"]


def _libgomp_already_loaded() -> bool:
    try:
        with open("/proc/self/maps") as maps:
            return "libgomp" in maps.read()
    except OSError:                            # not Linux: assume not
        return False


_choose_threading_layer()

# Every parallel kernel is launched under one lock: the `workqueue` layer must not be
# entered by two Python threads at once (the kernels themselves never nest).
_LAUNCH_LOCK = threading.Lock()


def _launch(kernel, *args):
    """Run a parallel numba kernel, one at a time across Python threads."""
    with _LAUNCH_LOCK:
        kernel(*args)


# The elementwise and per-channel loops (kernels/pointwise.py, norm.py, optim.py) are each
# written once, as plain Python, and compiled twice: with parallel=True (prange splits the
# loop over the cores) for large arrays, and serially for small ones, where waking the
# threads would cost more than the work. (In the serial build prange is range.)
PARALLEL_MIN = 1 << 15   # elements; below this a single thread is faster


def compile_twice(loop, **options):
    """(parallel, serial) numba builds of one loop; options, e.g. fastmath, go to both.

    Each build compiles its own copy of the loop, named `<name>_parallel` and
    `<name>_serial`. numba's disk cache (cache=True) files a build by the function's module,
    name and first line, and looks it up by argument types and bytecode, not by options
    such as parallel=True. Two builds of one function would share one entry: whichever
    compiled first was loaded for both, and large arrays ran the serial loop (Adam over a
    DCGAN's parameters: 2.7 ms instead of 0.2).
    """
    return (njit(parallel=True, cache=True, **options)(_renamed(loop, "_parallel")),
            njit(cache=True, **options)(_renamed(loop, "_serial")))


def _renamed(function, suffix: str):
    """A copy of `function` (same code, globals and defaults) named name + suffix."""
    copy = types.FunctionType(function.__code__, function.__globals__,
                              function.__name__ + suffix, function.__defaults__,
                              function.__closure__)
    copy.__qualname__ = function.__qualname__ + suffix
    return copy


def by_size(builds, size: int):
    """The build of (parallel, serial) for an array of `size` elements."""
    parallel, serial = builds
    return parallel if size >= PARALLEL_MIN else serial


# glibc's malloc settings made below, by the names of the environment variables that give
# the same settings to a process at its start (bench/conv.py gives them to PyTorch's).
MALLOC_SETTINGS = {"MALLOC_MMAP_THRESHOLD_": 32 << 20, "MALLOC_TRIM_THRESHOLD_": 1 << 30}


def _keep_freed_memory():
    """Let glibc's malloc keep the memory of freed large arrays for the next ones.

    A training step allocates and frees the same large arrays (im2col matrices, activations,
    gradients: 1-13 MB each) over and over. By default glibc gives such memory back to the
    OS: arrays above a threshold (128 KB, rising with use to at most 32 MB) get their own
    mmap, and the heap is trimmed whenever more than twice that threshold is free at its top.
    Each new array then page-faults its memory back in, and the kernel zeroes every page:
    measured on a DCGAN step, 1.9 s of system time per 33 steps and a step 20-40% slower.
    Here: arrays up to 32 MB (the ceiling of glibc's own rising threshold) come from the
    heap, and freed heap memory is kept up to 1 GB. Peak memory does not change (the same
    arrays are live at the peak); the process just does not shrink between steps. A user's
    own MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ wins; a C library other than glibc
    without mallopt: nothing is done.
    """
    if not sys.platform.startswith("linux") or any(var in os.environ for var in MALLOC_SETTINGS):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except AttributeError:                     # a C library without mallopt (musl)
        return
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    # Setting either stops glibc adapting both, so both are set.
    mallopt(M_MMAP_THRESHOLD, MALLOC_SETTINGS["MALLOC_MMAP_THRESHOLD_"])
    mallopt(M_TRIM_THRESHOLD, MALLOC_SETTINGS["MALLOC_TRIM_THRESHOLD_"])


_keep_freed_memory()


# ------------------------------------------------------------------------ im2col and col2im

@njit(cache=True)
def _tap_table(H, W, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW):
    """table[kh*KW + kw, oh*OW + ow] = h*W + w, the input pixel read by tap (kh, kw) for output
    pixel (oh, ow), or -1 where it falls in the zero padding."""
    table = np.empty((KH * KW, OH * OW), dtype=np.int64)
    for kh in range(KH):
        for kw in range(KW):
            for oh in range(OH):
                for ow in range(OW):
                    h = oh * sh - ph + kh * dh
                    w = ow * sw - pw + kw * dw
                    inside = 0 <= h < H and 0 <= w < W
                    table[kh * KW + kw, oh * OW + ow] = h * W + w if inside else -1
    return table


@functools.lru_cache(maxsize=64)
def _table(H, W, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW):
    """The tap table of one geometry (cached: a network reuses a handful)."""
    return _tap_table(H, W, KH, KW, sh, sw, ph, pw, dh, dw, OH, OW)


@njit(parallel=True, cache=True)
def _im2col_kernel(x, table, cols):
    """cols[c*KK + k, n*P + j] = x[n, c].flat[table[k, j]] (0 in the padding)."""
    N, C = x.shape[0], x.shape[1]
    KK, P = table.shape
    planes = x.reshape(N, C, x.shape[2] * x.shape[3])
    for plane in prange(C * N):                # one input plane (c, n) per iteration
        c, n = plane // N, plane % N
        src = planes[n, c]
        for k in range(KK):                    # its segment of each of its KK rows of cols
            out = cols[c * KK + k, n * P:(n + 1) * P]
            for j in range(P):
                i = table[k, j]
                out[j] = src[i] if i >= 0 else 0


@njit(parallel=True, cache=True)
def _col2im_kernel(cols, table, start, x):
    """x[n, c].flat[table[k, j]] += cols[c*KK + k, n*P + j]: the same loops as im2col, with
    the copy reversed into a sum, onto planes that start at start[c] (0, or a bias). Each
    iteration owns one (c, n) plane of x and adds into nothing else, so no two threads ever
    write the same pixel."""
    N, C = x.shape[0], x.shape[1]
    KK, P = table.shape
    planes = x.reshape(N, C, x.shape[2] * x.shape[3])
    for plane in prange(C * N):
        c, n = plane // N, plane % N
        dst = planes[n, c]
        dst[:] = start[c]
        for k in range(KK):
            src = cols[c * KK + k, n * P:(n + 1) * P]
            for j in range(P):
                i = table[k, j]
                if i >= 0:
                    dst[i] += src[j]


def im2col(x, kernel_hw, stride, padding, dilation):
    N, C, H, W = x.shape
    OH, OW = conv_out_hw((H, W), kernel_hw, stride, padding, dilation)
    table = _table(H, W, *kernel_hw, *stride, *padding, *dilation, OH, OW)
    cols = np.empty((C * kernel_hw[0] * kernel_hw[1], N * OH * OW), dtype=x.dtype)
    _launch(_im2col_kernel, x, table, cols)
    return cols


def col2im(cols, x_shape, kernel_hw, stride, padding, dilation, bias=None, out=None):
    """The adjoint of im2col; bias (C,), if given, is added to every plane of channel c.
    out: a C-contiguous array of x_shape to write into (else a new one)."""
    N, C, H, W = x_shape
    OH, OW = conv_out_hw((H, W), kernel_hw, stride, padding, dilation)
    table = _table(H, W, *kernel_hw, *stride, *padding, *dilation, OH, OW)
    start = np.zeros(C, dtype=cols.dtype) if bias is None else bias
    x = np.empty((N, C, H, W), dtype=cols.dtype) if out is None else out
    _launch(_col2im_kernel, cols, table, start, x)
    return x


# ------------------------------------------------------------------- the convolution triple

def _swap_loop(src, shift, dst):
    """dst[b, a, :] = src[a, b, :] + shift[a]: (A, B, P) -> (B, A, P), the moves between
    NCHW (N, O, P) and the GEMMs' (O, N*P) order; shift is conv2d's bias, or zeros.
    (Large arrays in parallel over b: ~3x faster than numpy's single-threaded strided
    copy.)"""
    A, B, P = src.shape
    for b in prange(B):
        for a in range(A):
            add = shift[a]
            for p in range(P):
                dst[b, a, p] = src[a, b, p] + add


_swap_builds = compile_twice(_swap_loop)   # serial below PARALLEL_MIN: at batch 2 a swap
                                           # is 12,544 numbers, 2 us of work


def _swap(src, shift=None):
    """(A, B, P) -> a new C-contiguous (B, A, P), plus shift[a] (A,) if given."""
    A, B, P = src.shape
    dst = np.empty((B, A, P), dtype=src.dtype)
    _launch(by_size(_swap_builds, dst.size), np.ascontiguousarray(src),
            np.zeros(A, dtype=src.dtype) if shift is None else shift, dst)
    return dst


def _as_rows(gy):
    """gy (N, O, OH, OW) -> (O, N*OH*OW), the column order of cols."""
    N, O, OH, OW = gy.shape
    return _swap(gy.reshape(N, O, OH * OW)).reshape(O, N * OH * OW)


# With few rows in cols (C*KH*KW: the single-channel layers, 1*4*4 = 16), the GEMM is tiny
# and moving its output dominates: there one matrix product per image, reading and writing
# the (n) column blocks of cols in place, gives the NCHW result directly and skips the
# transpose (measured: 64x16 @ 16x(64*196), 0.30 ms vs 0.44 ms with the transpose). With many
# rows the one large GEMM is faster (128x1024 @ 1024x(64*49): 4.7 ms vs 6.2 ms per image).
_BATCHED_MAX_ROWS = 64


def conv2d(x, w, stride, padding, dilation, keep_cols=False, bias=None):
    N = x.shape[0]
    O, C, KH, KW = w.shape
    OH, OW = conv_out_hw(x.shape[2:], (KH, KW), stride, padding, dilation)
    CKK, P = C * KH * KW, OH * OW
    cols = im2col(x, (KH, KW), stride, padding, dilation)      # (C*KH*KW, N*OH*OW)
    w2d = w.reshape(O, CKK)
    if CKK <= _BATCHED_MAX_ROWS:                               # y[n] = w2d @ cols_n
        y = np.matmul(w2d, cols.reshape(CKK, N, P).transpose(1, 0, 2))  # (N, O, OH*OW)
        if bias is not None:
            y += bias.reshape(1, O, 1)
    else:
        y_rows = (w2d @ cols).reshape(O, N, P)                 # (O, N, OH*OW)
        y = _swap(y_rows, bias)                                # (N, O, OH*OW), + bias
    y = y.reshape(N, O, OH, OW)
    return (y, cols) if keep_cols else y


# conv2d_dx's GEMM writes a column matrix that col2im reads straight back: for D's 64->128
# layer, 12.8 MB, more than the caches keep between the two. Done a block of images at a
# time, each block's columns are still in the cache when col2im reads them. Blocks of about
# 4 MB (20 images of that layer): 1.6-3.9 ms less per DCGAN step (`python
# bench/conv_blocks.py --step`; blocks of 8 images or fewer were slower: more, smaller
# GEMMs). The forward pass gains nothing from the same blocking (measured: 2.8 ms slower):
# it must keep the whole matrix for the weight gradient anyway.
_DX_BLOCK_BYTES = 4 << 20


def conv2d_dx(gy, w, x_hw, stride, padding, dilation, bias=None):
    N, _, OH, OW = gy.shape
    O, C, KH, KW = w.shape
    CKK, P = C * KH * KW, OH * OW
    w2d = w.reshape(O, CKK)
    if CKK <= _BATCHED_MAX_ROWS:                               # cols_n = w2d.T @ gy[n]
        cols = np.empty((CKK, N * P), dtype=gy.dtype)
        # (CKK, O) @ (N, O, P) -> (N, CKK, P), written into cols (CKK, N*P) through a view
        np.matmul(w2d.T, gy.reshape(N, O, P), out=cols.reshape(CKK, N, P).transpose(1, 0, 2))
        return col2im(cols, (N, C, *x_hw), (KH, KW), stride, padding, dilation, bias)
    gy_rows = _as_rows(gy)                                     # (O, N*OH*OW)
    gx = np.empty((N, C, *x_hw), dtype=gy.dtype)
    block = max(1, min(N, _DX_BLOCK_BYTES // (CKK * P * gy.itemsize)))   # images per block
    cols = np.empty((CKK, block * P), dtype=gy.dtype)          # one block's columns, reused
    for n0 in range(0, N, block):
        n1 = min(N, n0 + block)
        block_cols = cols[:, :(n1 - n0) * P]                   # (C*KH*KW, images*OH*OW)
        np.matmul(w2d.T, gy_rows[:, n0 * P:n1 * P], out=block_cols)
        col2im(block_cols, (n1 - n0, C, *x_hw), (KH, KW), stride, padding, dilation, bias,
               out=gx[n0:n1])
    return gx


def conv2d_dw(x, gy, kernel_hw, stride, padding, dilation, cols=None):
    O, C = gy.shape[1], x.shape[1]
    if cols is None:                                           # else: conv2d's, kept
        cols = im2col(x, kernel_hw, stride, padding, dilation)  # (C*KH*KW, N*OH*OW)
    gw = _as_rows(gy) @ cols.T                                 # (O, C*KH*KW)
    return gw.reshape(O, C, *kernel_hw)


# --------------------------------------------------------------------------------- pooling

@njit(cache=True)
def _window_size(o, s, p, K, size, include_pad):
    """How many pixels of the window of output o (along one axis) the average divides by."""
    if include_pad:
        return K
    start = o * s - p
    return min(start + K, size) - max(start, 0)


@njit(parallel=True, cache=True)
def _avg_pool_kernel(x, KH, KW, sh, sw, ph, pw, include_pad, y):
    N, C, H, W = x.shape
    OH, OW = y.shape[2], y.shape[3]
    for plane in prange(N * C):
        n, c = plane // C, plane % C
        for oh in range(OH):
            for ow in range(OW):
                h0, w0 = oh * sh - ph, ow * sw - pw
                acc = 0.0
                for h in range(max(h0, 0), min(h0 + KH, H)):
                    for w in range(max(w0, 0), min(w0 + KW, W)):
                        acc += x[n, c, h, w]
                size = (_window_size(oh, sh, ph, KH, H, include_pad)
                        * _window_size(ow, sw, pw, KW, W, include_pad))
                y[n, c, oh, ow] = acc / size


@njit(parallel=True, cache=True)
def _avg_pool_backward_kernel(gy, KH, KW, sh, sw, ph, pw, include_pad, gx):
    """A gather: input pixel h is in the windows of the outputs oh with
    oh*sh - ph <= h < oh*sh - ph + KH, i.e. ceil((h+ph-KH+1)/sh) <= oh <= (h+ph)//sh."""
    N, C, H, W = gx.shape
    OH, OW = gy.shape[2], gy.shape[3]
    for plane in prange(N * C):
        n, c = plane // C, plane % C
        for h in range(H):
            t = h + ph - KH + 1
            oh_lo = 0 if t <= 0 else (t + sh - 1) // sh
            oh_hi = min((h + ph) // sh, OH - 1)
            for w in range(W):
                u = w + pw - KW + 1
                ow_lo = 0 if u <= 0 else (u + sw - 1) // sw
                ow_hi = min((w + pw) // sw, OW - 1)
                acc = 0.0
                for oh in range(oh_lo, oh_hi + 1):
                    for ow in range(ow_lo, ow_hi + 1):
                        size = (_window_size(oh, sh, ph, KH, H, include_pad)
                                * _window_size(ow, sw, pw, KW, W, include_pad))
                        acc += gy[n, c, oh, ow] / size
                gx[n, c, h, w] = acc


@njit(parallel=True, cache=True)
def _max_pool_kernel(x, KH, KW, sh, sw, ph, pw, y, argmax):
    """PyTorch's rule: scan the window in row-major order, keep the first strict maximum
    (a NaN always wins, so NaNs propagate); argmax starts at the window's first real pixel."""
    N, C, H, W = x.shape
    OH, OW = y.shape[2], y.shape[3]
    for plane in prange(N * C):
        n, c = plane // C, plane % C
        for oh in range(OH):
            h0, h1 = max(oh * sh - ph, 0), min(oh * sh - ph + KH, H)
            for ow in range(OW):
                w0, w1 = max(ow * sw - pw, 0), min(ow * sw - pw + KW, W)
                best, best_i = -np.inf, h0 * W + w0
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        v = x[n, c, h, w]
                        if v > best or v != v:
                            best, best_i = v, h * W + w
                y[n, c, oh, ow] = best
                argmax[n, c, oh, ow] = best_i


@njit(parallel=True, cache=True)
def _max_pool_backward_kernel(gy, argmax, gx):
    """gx[n, c].flat[argmax] += gy: a scatter, but each thread owns whole (n, c) planes, so
    overlapping windows accumulate without races. Indices outside the plane are skipped."""
    N, C = gx.shape[0], gx.shape[1]
    planes = gx.reshape(N, C, gx.shape[2] * gx.shape[3])
    g = gy.reshape(N, C, gy.shape[2] * gy.shape[3])
    idx = argmax.reshape(N, C, argmax.shape[2] * argmax.shape[3])
    HW = planes.shape[2]
    for plane in prange(N * C):
        n, c = plane // C, plane % C
        for j in range(g.shape[2]):
            i = idx[n, c, j]
            if 0 <= i < HW:
                planes[n, c, i] += g[n, c, j]


@njit(parallel=True, cache=True)
def _max_pool_gather_kernel(g, argmax, gy):
    N, C = g.shape[0], g.shape[1]
    planes = g.reshape(N, C, g.shape[2] * g.shape[3])
    idx = argmax.reshape(N, C, argmax.shape[2] * argmax.shape[3])
    out = gy.reshape(N, C, gy.shape[2] * gy.shape[3])
    HW = planes.shape[2]
    for plane in prange(N * C):
        n, c = plane // C, plane % C
        for j in range(out.shape[2]):
            i = idx[n, c, j]
            out[n, c, j] = planes[n, c, i] if 0 <= i < HW else 0


_adaptive_window = njit(cache=True)(adaptive_window)   # shapes.py's rule, compiled


@njit(parallel=True, cache=True)
def _adaptive_avg_pool_kernel(x, y):
    N, C, H, W = x.shape
    OH, OW = y.shape[2], y.shape[3]
    for plane in prange(N * C):
        n, c = plane // C, plane % C
        for oh in range(OH):
            h0, h1 = _adaptive_window(oh, H, OH)
            for ow in range(OW):
                w0, w1 = _adaptive_window(ow, W, OW)
                acc = 0.0
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        acc += x[n, c, h, w]
                y[n, c, oh, ow] = acc / ((h1 - h0) * (w1 - w0))


@njit(parallel=True, cache=True)
def _adaptive_avg_pool_backward_kernel(gy, gx):
    """Windows of varying size: a scatter within each thread's own (n, c) plane."""
    N, C, H, W = gx.shape
    OH, OW = gy.shape[2], gy.shape[3]
    for plane in prange(N * C):
        n, c = plane // C, plane % C
        for oh in range(OH):
            h0, h1 = _adaptive_window(oh, H, OH)
            for ow in range(OW):
                w0, w1 = _adaptive_window(ow, W, OW)
                share = gy[n, c, oh, ow] / ((h1 - h0) * (w1 - w0))
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        gx[n, c, h, w] += share


def avg_pool2d(x, kernel, stride, padding, count_include_pad=True):
    OH, OW = conv_out_hw(x.shape[2:], kernel, stride, padding, (1, 1))
    y = np.empty((*x.shape[:2], OH, OW), dtype=x.dtype)
    _launch(_avg_pool_kernel, x, *kernel, *stride, *padding, count_include_pad, y)
    return y


def avg_pool2d_backward(gy, x_shape, kernel, stride, padding, count_include_pad=True):
    gx = np.empty(x_shape, dtype=gy.dtype)
    _launch(_avg_pool_backward_kernel, gy, *kernel, *stride, *padding, count_include_pad, gx)
    return gx


def max_pool2d(x, kernel, stride, padding):
    OH, OW = conv_out_hw(x.shape[2:], kernel, stride, padding, (1, 1))
    y = np.empty((*x.shape[:2], OH, OW), dtype=x.dtype)
    argmax = np.empty(y.shape, dtype=np.int64)
    _launch(_max_pool_kernel, x, *kernel, *stride, *padding, y, argmax)
    return y, argmax


def max_pool2d_backward(gy, argmax, x_shape):
    gx = np.zeros(x_shape, dtype=gy.dtype)
    _launch(_max_pool_backward_kernel, gy, argmax, gx)
    return gx


def max_pool2d_gather(g, argmax):
    gy = np.empty(argmax.shape, dtype=g.dtype)
    _launch(_max_pool_gather_kernel, g, argmax, gy)
    return gy


def adaptive_avg_pool2d(x, out_hw):
    y = np.empty((*x.shape[:2], *out_hw), dtype=x.dtype)
    _launch(_adaptive_avg_pool_kernel, x, y)
    return y


def adaptive_avg_pool2d_backward(gy, x_shape):
    gx = np.zeros(x_shape, dtype=gy.dtype)
    _launch(_adaptive_avg_pool_backward_kernel, gy, gx)
    return gx


# ------------------------------------------------------------------------------ upsampling
# The source indices and weights depend on one axis only, so they are computed once per axis
# with numpy, in the arithmetic PyTorch uses (see reference.nearest_source / linear_source),
# and the kernels just read the tables.

def nearest_index(in_size, out_size, scale_factor=None):
    """src[dst] for PyTorch's 'nearest' (float32 arithmetic, as PyTorch)."""
    dst = np.arange(out_size)
    if out_size == in_size:
        return dst
    if out_size == 2 * in_size:
        return dst // 2
    if scale_factor:
        scale = np.float32(1.0 / scale_factor)
    else:
        scale = np.float32(in_size) / np.float32(out_size)
    return np.minimum(np.floor(dst.astype(np.float32) * scale).astype(np.int64), in_size - 1)


def linear_index(in_size, out_size, align_corners, scale_factor, dtype):
    """(i0, i1, l0, l1) arrays over dst for a linear resize along one axis, computed in `dtype`
    (PyTorch computes them in float for float32 tensors)."""
    dst = np.arange(out_size)
    if out_size == in_size:
        return dst, dst, np.ones(out_size, dtype), np.zeros(out_size, dtype)
    d = dst.astype(dtype)
    if align_corners:
        scale = dtype.type((in_size - 1) / (out_size - 1) if out_size > 1 else 0.0)
        src = scale * d
    else:
        scale = dtype.type(1.0 / scale_factor if scale_factor else in_size / out_size)
        src = np.maximum(scale * (d + dtype.type(0.5)) - dtype.type(0.5), dtype.type(0))
    i0 = src.astype(np.int64)
    i1 = np.minimum(i0 + 1, in_size - 1)
    l1 = (src - i0.astype(dtype)).astype(dtype)
    return i0, i1, (dtype.type(1) - l1).astype(dtype), l1


@njit(parallel=True, cache=True)
def _nearest_kernel(x, src_h, src_w, y):
    N, C = x.shape[0], x.shape[1]
    for plane in prange(N * C):
        n, c = plane // C, plane % C
        for oh in range(y.shape[2]):
            for ow in range(y.shape[3]):
                y[n, c, oh, ow] = x[n, c, src_h[oh], src_w[ow]]


@njit(parallel=True, cache=True)
def _nearest_backward_kernel(gy, src_h, src_w, gx):
    N, C = gx.shape[0], gx.shape[1]
    for plane in prange(N * C):                # a scatter within each thread's own plane
        n, c = plane // C, plane % C
        for oh in range(gy.shape[2]):
            for ow in range(gy.shape[3]):
                gx[n, c, src_h[oh], src_w[ow]] += gy[n, c, oh, ow]


@njit(parallel=True, cache=True)
def _bilinear_kernel(x, h0, h1, lh0, lh1, w0, w1, lw0, lw1, y):
    N, C = x.shape[0], x.shape[1]
    for plane in prange(N * C):
        n, c = plane // C, plane % C
        for oh in range(y.shape[2]):
            for ow in range(y.shape[3]):
                top = lw0[ow] * x[n, c, h0[oh], w0[ow]] + lw1[ow] * x[n, c, h0[oh], w1[ow]]
                bottom = lw0[ow] * x[n, c, h1[oh], w0[ow]] + lw1[ow] * x[n, c, h1[oh], w1[ow]]
                y[n, c, oh, ow] = lh0[oh] * top + lh1[oh] * bottom


@njit(parallel=True, cache=True)
def _bilinear_backward_kernel(gy, h0, h1, lh0, lh1, w0, w1, lw0, lw1, gx):
    N, C = gx.shape[0], gx.shape[1]
    for plane in prange(N * C):                # a scatter within each thread's own plane
        n, c = plane // C, plane % C
        for oh in range(gy.shape[2]):
            for ow in range(gy.shape[3]):
                g = gy[n, c, oh, ow]
                gx[n, c, h0[oh], w0[ow]] += lh0[oh] * lw0[ow] * g
                gx[n, c, h0[oh], w1[ow]] += lh0[oh] * lw1[ow] * g
                gx[n, c, h1[oh], w0[ow]] += lh1[oh] * lw0[ow] * g
                gx[n, c, h1[oh], w1[ow]] += lh1[oh] * lw1[ow] * g


def upsample_nearest2d(x, out_hw, scale_factor=None):
    sf_h, sf_w = scale_factor or (None, None)
    src_h = nearest_index(x.shape[2], out_hw[0], sf_h)
    src_w = nearest_index(x.shape[3], out_hw[1], sf_w)
    y = np.empty((*x.shape[:2], *out_hw), dtype=x.dtype)
    _launch(_nearest_kernel, x, src_h, src_w, y)
    return y


def upsample_nearest2d_backward(gy, x_shape, scale_factor=None):
    sf_h, sf_w = scale_factor or (None, None)
    src_h = nearest_index(x_shape[2], gy.shape[2], sf_h)
    src_w = nearest_index(x_shape[3], gy.shape[3], sf_w)
    gx = np.zeros(x_shape, dtype=gy.dtype)
    _launch(_nearest_backward_kernel, gy, src_h, src_w, gx)
    return gx


def upsample_bilinear2d(x, out_hw, align_corners=False, scale_factor=None):
    sf_h, sf_w = scale_factor or (None, None)
    rows = linear_index(x.shape[2], out_hw[0], align_corners, sf_h, x.dtype)
    cols = linear_index(x.shape[3], out_hw[1], align_corners, sf_w, x.dtype)
    y = np.empty((*x.shape[:2], *out_hw), dtype=x.dtype)
    _launch(_bilinear_kernel, x, *rows, *cols, y)
    return y


def upsample_bilinear2d_backward(gy, x_shape, align_corners=False, scale_factor=None):
    sf_h, sf_w = scale_factor or (None, None)
    rows = linear_index(x_shape[2], gy.shape[2], align_corners, sf_h, gy.dtype)
    cols = linear_index(x_shape[3], gy.shape[3], align_corners, sf_w, gy.dtype)
    gx = np.zeros(x_shape, dtype=gy.dtype)
    _launch(_bilinear_backward_kernel, gy, *rows, *cols, gx)
    return gx
