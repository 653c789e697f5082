"""The GPU tier: CUDA kernels (compiled by CuPy) for the data movement, cuBLAS for the
arithmetic. The same loops as `cpu.py`, one CUDA thread per output element.

This module imports CuPy, so `kernels` imports it only when a CuPy array arrives. Nothing here
synchronises with the host: no .item(), no copies to numpy, no data-dependent shapes; every
index table that `cpu.py` precomputes with numpy is computed inline by each thread instead.

Conventions in the CUDA source below:
  * every kernel is a template over T (float or double), instantiated for both;
  * a grid-stride loop `for (i = first; i < total; i += stride)` so any grid size covers any
    array; all indices are `long long`, so arrays past 2**31 elements are safe;
  * gathers where each output element can compute its own sum (im2col, col2im, pooling
    forward, average-pool backward); atomicAdd where several outputs send gradient to one
    input (max-pool, adaptive-pool and upsampling backward; double atomicAdd needs sm_60+).
"""
import functools
import math

import cupy
import numpy as np
from cupy.cuda import cublas

from .shapes import conv_out_hw

_SOURCE = r"""
typedef long long i64;

template <typename T> __device__ __forceinline__ T minus_infinity();
template <> __device__ __forceinline__ float minus_infinity<float>() {
    return __int_as_float((int)0xff800000u);
}
template <> __device__ __forceinline__ double minus_infinity<double>() {
    return __longlong_as_double((long long)0xfff0000000000000ull);
}

#define GRID_STRIDE_LOOP(i, total) \
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (total); \
         i += (i64)blockDim.x * gridDim.x)

// im2col and col2im do their index arithmetic in I: int (32-bit) when every index of the
// call fits (the wrapper checks), else long long. They are the two busiest kernels of a
// convolution, and on the GPU a 64-bit division costs several times a 32-bit one: with
// long long throughout, col2im spent its time dividing, not moving data (2.9 -> 1.25 ms per
// DCGAN step at batch 512).
#define GRID_STRIDE_LOOP_I(i, total) \
    for (I i = (I)(blockIdx.x * blockDim.x + threadIdx.x); i < (total); \
         i += (I)(blockDim.x * gridDim.x))

// cols[(c*KH + kh)*KW + kw, (n*OH + oh)*OW + ow] = x[n, c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw]
template <typename T, typename I>
__global__ void im2col(const T* x, T* cols, I N, I C, I H, I W, I KH, I KW,
                       I sh, I sw, I ph, I pw, I dh, I dw, I OH, I OW) {
    const I NP = N * OH * OW;
    GRID_STRIDE_LOOP_I(i, C * KH * KW * NP) {
        const I row = i / NP, col = i % NP;
        const I c = row / (KH * KW), kh = row / KW % KH, kw = row % KW;
        const I n = col / (OH * OW), oh = col / OW % OH, ow = col % OW;
        const I h = oh * sh - ph + kh * dh, w = ow * sw - pw + kw * dw;
        const bool inside = 0 <= h && h < H && 0 <= w && w < W;
        cols[i] = inside ? x[((n * C + c) * H + h) * W + w] : (T)0;
    }
}

// The gather: x[n, c, h, w] = sum of the cols entries that im2col copied from (h, w), i.e. the
// taps (kh, kw) and output pixels (oh, ow) with oh*sh - ph + kh*dh == h (and the same for w).
// So t = h + ph - kh*dh must be a multiple of sh. The taps for which it is are kh0,
// kh0 + th, kh0 + 2*th, ... with th = sh / gcd(sh, dh) (the host passes th and tw: 2 for
// DCGAN's stride 2), so the loops visit only those: 4 of the 16 taps of a k4 s2 kernel,
// where testing all 16 spent the kernel's time on integer division. t falls as kh grows,
// so a loop stops at the first negative t. (Same taps, same order: the same sums.)
template <typename I>
__device__ __forceinline__ I first_tap(I t0, I s, I d, I step, I K) {
    for (I k = 0; k < step; ++k)          // the smallest k with t0 - k*d a multiple of s
        if ((t0 - k * d) % s == 0) return k;
    return K;                             // none at all (possible when gcd(s, d) > 1)
}

// The sums start at bias[c] when has_bias (a transposed convolution's bias), else at 0.
template <typename T, typename I>
__global__ void col2im(const T* cols, const T* bias, T* x, I N, I C, I H, I W, I KH, I KW,
                       I sh, I sw, I ph, I pw, I dh, I dw, I OH, I OW, I th, I tw,
                       int has_bias) {
    const I NP = N * OH * OW;
    GRID_STRIDE_LOOP_I(i, N * C * H * W) {
        const I w = i % W, h = i / W % H, c = i / (H * W) % C, n = i / (C * H * W);
        const I kw0 = first_tap(w + pw, sw, dw, tw, KW);
        T acc = has_bias ? bias[c] : (T)0;
        for (I kh = first_tap(h + ph, sh, dh, th, KH); kh < KH; kh += th) {
            const I t = h + ph - kh * dh;              // = oh * sh for a reader
            if (t < 0) break;
            const I oh = t / sh;
            if (oh >= OH) continue;
            for (I kw = kw0; kw < KW; kw += tw) {
                const I u = w + pw - kw * dw;
                if (u < 0) break;
                const I ow = u / sw;
                if (ow >= OW) continue;
                acc += cols[((c * KH + kh) * KW + kw) * NP + (n * OH + oh) * OW + ow];
            }
        }
        x[i] = acc;
    }
}

// The divisor of output o's average along one axis: K, or the real pixels of its window.
__device__ __forceinline__ i64 window_size(i64 o, i64 s, i64 p, i64 K, i64 size, int include_pad) {
    if (include_pad) return K;
    const i64 start = o * s - p;
    return min(start + K, size) - max(start, (i64)0);
}

template <typename T>
__global__ void avg_pool(const T* x, T* y, i64 NC, i64 H, i64 W, i64 KH, i64 KW,
                         i64 sh, i64 sw, i64 ph, i64 pw, i64 OH, i64 OW, int include_pad) {
    GRID_STRIDE_LOOP(i, NC * OH * OW) {
        const i64 ow = i % OW, oh = i / OW % OH, plane = i / (OH * OW);
        const i64 h0 = oh * sh - ph, w0 = ow * sw - pw;
        const T* p = x + plane * H * W;
        T acc = 0;
        for (i64 h = max(h0, (i64)0); h < min(h0 + KH, H); ++h)
            for (i64 w = max(w0, (i64)0); w < min(w0 + KW, W); ++w)
                acc += p[h * W + w];
        const i64 size = window_size(oh, sh, ph, KH, H, include_pad)
                       * window_size(ow, sw, pw, KW, W, include_pad);
        y[i] = acc / (T)size;
    }
}

// The gather: pixel h lies in the windows of the outputs ceil((h+ph-KH+1)/sh) <= oh <= (h+ph)/sh.
template <typename T>
__global__ void avg_pool_backward(const T* gy, T* gx, i64 NC, i64 H, i64 W, i64 KH, i64 KW,
                                  i64 sh, i64 sw, i64 ph, i64 pw, i64 OH, i64 OW,
                                  int include_pad) {
    GRID_STRIDE_LOOP(i, NC * H * W) {
        const i64 w = i % W, h = i / W % H, plane = i / (H * W);
        const i64 t = h + ph - KH + 1, u = w + pw - KW + 1;
        const i64 oh_lo = t <= 0 ? 0 : (t + sh - 1) / sh, oh_hi = min((h + ph) / sh, OH - 1);
        const i64 ow_lo = u <= 0 ? 0 : (u + sw - 1) / sw, ow_hi = min((w + pw) / sw, OW - 1);
        const T* g = gy + plane * OH * OW;
        T acc = 0;
        for (i64 oh = oh_lo; oh <= oh_hi; ++oh)
            for (i64 ow = ow_lo; ow <= ow_hi; ++ow) {
                const i64 size = window_size(oh, sh, ph, KH, H, include_pad)
                               * window_size(ow, sw, pw, KW, W, include_pad);
                acc += g[oh * OW + ow] / (T)size;
            }
        gx[i] = acc;
    }
}

// PyTorch's rule: first strict maximum in row-major order; a NaN always wins.
template <typename T>
__global__ void max_pool(const T* x, T* y, i64* argmax, i64 NC, i64 H, i64 W, i64 KH, i64 KW,
                         i64 sh, i64 sw, i64 ph, i64 pw, i64 OH, i64 OW) {
    GRID_STRIDE_LOOP(i, NC * OH * OW) {
        const i64 ow = i % OW, oh = i / OW % OH, plane = i / (OH * OW);
        const i64 h0 = max(oh * sh - ph, (i64)0), h1 = min(oh * sh - ph + KH, H);
        const i64 w0 = max(ow * sw - pw, (i64)0), w1 = min(ow * sw - pw + KW, W);
        const T* p = x + plane * H * W;
        T best = minus_infinity<T>();
        i64 best_i = h0 * W + w0;
        for (i64 h = h0; h < h1; ++h)
            for (i64 w = w0; w < w1; ++w) {
                const T v = p[h * W + w];
                if (v > best || isnan(v)) { best = v; best_i = h * W + w; }
            }
        y[i] = best;
        argmax[i] = best_i;
    }
}

template <typename T>
__global__ void max_pool_backward(const T* gy, const i64* argmax, T* gx, i64 NC, i64 HW, i64 P) {
    GRID_STRIDE_LOOP(i, NC * P) {
        const i64 k = argmax[i];
        if (0 <= k && k < HW) atomicAdd(gx + (i / P) * HW + k, gy[i]);
    }
}

template <typename T>
__global__ void max_pool_gather(const T* g, const i64* argmax, T* gy, i64 NC, i64 HW, i64 P) {
    GRID_STRIDE_LOOP(i, NC * P) {
        const i64 k = argmax[i];
        gy[i] = (0 <= k && k < HW) ? g[(i / P) * HW + k] : (T)0;
    }
}

// Adaptive windows: rows [floor(oh*H/OH), ceil((oh+1)*H/OH)), the same for columns.
__device__ __forceinline__ i64 win_start(i64 o, i64 in, i64 out) { return (o * in) / out; }
__device__ __forceinline__ i64 win_end(i64 o, i64 in, i64 out) {
    return ((o + 1) * in + out - 1) / out;
}

template <typename T>
__global__ void adaptive_avg_pool(const T* x, T* y, i64 NC, i64 H, i64 W, i64 OH, i64 OW) {
    GRID_STRIDE_LOOP(i, NC * OH * OW) {
        const i64 ow = i % OW, oh = i / OW % OH, plane = i / (OH * OW);
        const i64 h0 = win_start(oh, H, OH), h1 = win_end(oh, H, OH);
        const i64 w0 = win_start(ow, W, OW), w1 = win_end(ow, W, OW);
        const T* p = x + plane * H * W;
        T acc = 0;
        for (i64 h = h0; h < h1; ++h)
            for (i64 w = w0; w < w1; ++w)
                acc += p[h * W + w];
        y[i] = acc / (T)((h1 - h0) * (w1 - w0));
    }
}

template <typename T>
__global__ void adaptive_avg_pool_backward(const T* gy, T* gx, i64 NC, i64 H, i64 W,
                                           i64 OH, i64 OW) {
    GRID_STRIDE_LOOP(i, NC * OH * OW) {
        const i64 ow = i % OW, oh = i / OW % OH, plane = i / (OH * OW);
        const i64 h0 = win_start(oh, H, OH), h1 = win_end(oh, H, OH);
        const i64 w0 = win_start(ow, W, OW), w1 = win_end(ow, W, OW);
        const T share = gy[i] / (T)((h1 - h0) * (w1 - w0));
        for (i64 h = h0; h < h1; ++h)
            for (i64 w = w0; w < w1; ++w)
                atomicAdd(gx + plane * H * W + h * W + w, share);
    }
}

// PyTorch's 'nearest' source index, in float arithmetic as PyTorch (sf <= 0: no scale factor).
__device__ i64 nearest_src(i64 dst, i64 in, i64 out, double sf) {
    if (out == in) return dst;
    if (out == 2 * in) return dst / 2;
    const float scale = sf > 0 ? (float)(1.0 / sf) : (float)in / (float)out;
    const i64 s = (i64)floorf((float)dst * scale);
    return s < in - 1 ? s : in - 1;
}

template <typename T>
__global__ void nearest(const T* x, T* y, i64 NC, i64 H, i64 W, i64 OH, i64 OW,
                        double sf_h, double sf_w) {
    GRID_STRIDE_LOOP(i, NC * OH * OW) {
        const i64 ow = i % OW, oh = i / OW % OH, plane = i / (OH * OW);
        const i64 h = nearest_src(oh, H, OH, sf_h), w = nearest_src(ow, W, OW, sf_w);
        y[i] = x[plane * H * W + h * W + w];
    }
}

template <typename T>
__global__ void nearest_backward(const T* gy, T* gx, i64 NC, i64 H, i64 W, i64 OH, i64 OW,
                                 double sf_h, double sf_w) {
    GRID_STRIDE_LOOP(i, NC * OH * OW) {
        const i64 ow = i % OW, oh = i / OW % OH, plane = i / (OH * OW);
        const i64 h = nearest_src(oh, H, OH, sf_h), w = nearest_src(ow, W, OW, sf_w);
        atomicAdd(gx + plane * H * W + h * W + w, gy[i]);
    }
}

// PyTorch's linear source: neighbours i0, i1 and weights l0, l1, computed in T.
template <typename T>
__device__ void linear_src(i64 dst, i64 in, i64 out, int align_corners, double sf,
                           i64& i0, i64& i1, T& l0, T& l1) {
    if (out == in) { i0 = dst; i1 = dst; l0 = (T)1; l1 = (T)0; return; }
    T src;
    if (align_corners) {
        const T scale = out > 1 ? (T)(in - 1) / (T)(out - 1) : (T)0;
        src = scale * (T)dst;
    } else {
        const T scale = sf > 0 ? (T)(1.0 / sf) : (T)in / (T)out;
        src = scale * ((T)dst + (T)0.5) - (T)0.5;
        if (src < (T)0) src = (T)0;
    }
    i0 = (i64)src;
    i1 = i0 < in - 1 ? i0 + 1 : in - 1;
    l1 = src - (T)i0;
    l0 = (T)1 - l1;
}

template <typename T>
__global__ void bilinear(const T* x, T* y, i64 NC, i64 H, i64 W, i64 OH, i64 OW,
                         int align_corners, double sf_h, double sf_w) {
    GRID_STRIDE_LOOP(i, NC * OH * OW) {
        const i64 ow = i % OW, oh = i / OW % OH, plane = i / (OH * OW);
        i64 h0, h1, w0, w1;
        T lh0, lh1, lw0, lw1;
        linear_src<T>(oh, H, OH, align_corners, sf_h, h0, h1, lh0, lh1);
        linear_src<T>(ow, W, OW, align_corners, sf_w, w0, w1, lw0, lw1);
        const T* p = x + plane * H * W;
        const T top = lw0 * p[h0 * W + w0] + lw1 * p[h0 * W + w1];
        const T bottom = lw0 * p[h1 * W + w0] + lw1 * p[h1 * W + w1];
        y[i] = lh0 * top + lh1 * bottom;
    }
}

template <typename T>
__global__ void bilinear_backward(const T* gy, T* gx, i64 NC, i64 H, i64 W, i64 OH, i64 OW,
                                  int align_corners, double sf_h, double sf_w) {
    GRID_STRIDE_LOOP(i, NC * OH * OW) {
        const i64 ow = i % OW, oh = i / OW % OH, plane = i / (OH * OW);
        i64 h0, h1, w0, w1;
        T lh0, lh1, lw0, lw1;
        linear_src<T>(oh, H, OH, align_corners, sf_h, h0, h1, lh0, lh1);
        linear_src<T>(ow, W, OW, align_corners, sf_w, w0, w1, lw0, lw1);
        T* p = gx + plane * H * W;
        const T g = gy[i];
        atomicAdd(p + h0 * W + w0, lh0 * lw0 * g);
        atomicAdd(p + h0 * W + w1, lh0 * lw1 * g);
        atomicAdd(p + h1 * W + w0, lh1 * lw0 * g);
        atomicAdd(p + h1 * W + w1, lh1 * lw1 * g);
    }
}
"""

_KERNELS = ("im2col", "col2im", "avg_pool", "avg_pool_backward", "max_pool",
            "max_pool_backward", "max_pool_gather", "adaptive_avg_pool",
            "adaptive_avg_pool_backward", "nearest", "nearest_backward", "bilinear",
            "bilinear_backward")
_CTYPE = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
_BLOCK = 256
_MAX_GRID = 65535 * 8


_INDEXED = ("im2col", "col2im")   # templates over <T, I>: I the index type
_INT32_LIMIT = 2**30              # int indices when every index stays below this


@functools.lru_cache(maxsize=None)
def _module():
    """Compile all kernels once (NVRTC; CuPy caches the binary on disk as well)."""
    names = [f"{k}<{t}>" for k in _KERNELS if k not in _INDEXED for t in _CTYPE.values()]
    names += [f"{k}<{t}, {i}>" for k in _INDEXED for t in _CTYPE.values()
              for i in ("int", "long long")]
    return cupy.RawModule(code=_SOURCE, name_expressions=names)


@functools.lru_cache(maxsize=None)
def _function(full_name: str):
    """One compiled kernel, e.g. "im2col<float, int>" (looked up once, then remembered)."""
    return _module().get_function(full_name)


def _launch(name, arrays, total, *numbers, largest_index=None):
    """Run kernel `name` over `total` elements: arrays (the first one's dtype picks the
    <float> or <double> build), then the numbers, ints passed as i64, floats as double,
    bools as int. For the kernels in _INDEXED, `largest_index` (the size of the largest
    array the call indexes) picks <dtype, int> (ints passed as int32) or <dtype, long long>."""
    if total == 0:
        return
    small = name in _INDEXED and largest_index < _INT32_LIMIT
    kernel, grid, numbers = _launch_plan(name, arrays[0].dtype, total, numbers, small)
    kernel((grid,), (_BLOCK,), (*arrays, *numbers))


@functools.lru_cache(maxsize=1024)
def _launch_plan(name, dtype, total, numbers, small):
    """What _launch needs besides the arrays: the compiled kernel (its <dtype, int> build
    when `small`), the grid, and the numbers as the C types the kernel takes. The same
    layer calls with the same numbers every step, so this is worked out once per shape and
    then looked up: it is Python that the host would otherwise repeat on every launch
    (bench/README.md, "Ninth round")."""
    ctype, int_type = _CTYPE[np.dtype(dtype)], np.int64
    if name in _INDEXED:
        int_type = np.int32 if small else np.int64
        kernel = _function(f"{name}<{ctype}, {'int' if small else 'long long'}>")
    else:
        kernel = _function(f"{name}<{ctype}>")
    grid = min((total + _BLOCK - 1) // _BLOCK, _MAX_GRID)
    numbers = tuple(np.int32(a) if isinstance(a, bool) else np.float64(a)
                    if isinstance(a, float) else int_type(a) for a in numbers)
    return kernel, grid, numbers


# ------------------------------------------------------------------------ im2col and col2im

def im2col(x, kernel_hw, stride, padding, dilation):
    N, C, H, W = x.shape
    OH, OW = conv_out_hw((H, W), kernel_hw, stride, padding, dilation)
    cols = cupy.empty((C * kernel_hw[0] * kernel_hw[1], N * OH * OW), dtype=x.dtype)
    _launch("im2col", (x, cols), cols.size, N, C, H, W, *kernel_hw, *stride, *padding,
            *dilation, OH, OW, largest_index=max(cols.size, x.size))
    return cols


def col2im(cols, x_shape, kernel_hw, stride, padding, dilation, bias=None):
    """x (N, C, H, W) from cols, each pixel's sum starting at bias[c] when a bias is given
    (no pass over x of its own, as on the CPU)."""
    N, C, H, W = x_shape
    OH, OW = conv_out_hw((H, W), kernel_hw, stride, padding, dilation)
    x = cupy.empty((N, C, H, W), dtype=cols.dtype)
    taps = tuple(s // math.gcd(s, d) for s, d in zip(stride, dilation))   # (th, tw): above
    # without a bias any valid address stands in for it: has_bias tells the kernel not to read
    _launch("col2im", (cols, cols if bias is None else bias, x), x.size, N, C, H, W,
            *kernel_hw, *stride, *padding, *dilation, OH, OW, *taps, bias is not None,
            largest_index=max(cols.size, x.size))
    return x


# ------------------------------------------------------------------------------ the GEMMs

# Alpha = 1 and beta = 0 of every GEMM below, in host memory that cuBLAS reads (pointer mode
# host, set before each call); kept alive here for the life of the module.
_ONE = {t: np.ones((), t) for t in (np.float32, np.float64)}
_ZERO = {t: np.zeros((), t) for t in (np.float32, np.float64)}
_CUBLAS_GEMM = {np.dtype(np.float32): (cublas.sgemm, cublas.sgemmStridedBatched),
                np.dtype(np.float64): (cublas.dgemm, cublas.dgemmStridedBatched)}


def _gemm(a, b, out, m, n, k, *, lda, ldb, ldc, trans_a=False, trans_b=False, batch=1,
          stride_a=0, stride_b=0, stride_c=0):
    """out[i] = op(a[i]) @ op(b[i]) for i < batch, in one cuBLAS call: the matrices are
    row-major (numpy's order) inside the arrays a, b, out, with
        op(a[i]) (m, k), op(b[i]) (k, n), out[i] (m, n),    op(t) = t.T if trans_t else t,
    lda, ldb, ldc their row strides in elements (a row of a[i] as stored, before op), and
    a[i] starting stride_a elements after a[i-1] (0: the same a for every i; likewise b, out).

    Why not cupy.matmul: it wants each matrix contiguous, so the convolutions would first
    move their operands into place (one more kernel launch and one more pass over memory
    each), and its own Python costs the host 7-10 us more per call. Strides let one call
    read the column block of image n straight out of im2col's matrix, or write image n of
    the output straight into NCHW order (bench/README.md, "Ninth round").

    cuBLAS is column-major: it sees a row-major (m, n) matrix as its (n, m) transpose. So
    it is asked for out^T = op(b)^T @ op(a)^T, which needs no transposition at all: b goes
    first, then a, and the sizes are (n, m, k)."""
    if m == 0 or n == 0 or batch == 0:
        return
    if k == 0:                                   # an empty sum: cuBLAS would leave out as is
        out.fill(0)
        return
    gemm, gemm_batched = _CUBLAS_GEMM[out.dtype]
    dtype = out.dtype.type
    handle = cupy.cuda.device.get_cublas_handle()
    cublas.setStream(handle, cupy.cuda.get_current_stream().ptr)
    cublas.setPointerMode(handle, cublas.CUBLAS_POINTER_MODE_HOST)
    op_a = cublas.CUBLAS_OP_T if trans_a else cublas.CUBLAS_OP_N
    op_b = cublas.CUBLAS_OP_T if trans_b else cublas.CUBLAS_OP_N
    one, zero = _ONE[dtype].ctypes.data, _ZERO[dtype].ctypes.data
    if batch == 1:
        gemm(handle, op_b, op_a, n, m, k, one, b.data.ptr, ldb, a.data.ptr, lda,
             zero, out.data.ptr, ldc)
    else:
        gemm_batched(handle, op_b, op_a, n, m, k, one, b.data.ptr, ldb, stride_b,
                     a.data.ptr, lda, stride_a, zero, out.data.ptr, ldc, stride_c, batch)


# ------------------------------------------------------------------- the convolution triple
#
# With K = C*KH*KW rows and L = OH*OW output pixels per image, im2col's matrix `cols` is
# (K, N*L): image n's columns are the block cols[:, n*L:(n+1)*L], with row stride N*L.
# The forward pass and the input gradient are one (O, K) x (K, L) product per image. Two ways
# to run them:
#   * batched: all N products in one cuBLAS call that reads and writes the blocks in place:
#     y comes out in NCHW order, gy is read in NCHW order, nothing is moved;
#   * one large GEMM over all N*L columns, with gy moved into (O, N*L) first, or y moved
#     into NCHW after (one more launch and one more pass over memory).
# Small calls are bound by the host's time per launch (a DCGAN step at batch 64 is), and the
# batched call saves a launch and the move: 4-5% of that step (bench/README.md, "Ninth
# round"). Large calls are bound by the GPU, and there one GEMM with all N*L columns in its
# tiles beats N thin products of L = 49 columns, move included: at batch 512, D's 64->128
# layer took 181 us as GEMM + move and 217 us batched. The line between: this many flops.
BATCHED_GEMM_MAX_FLOPS = 2**31


def _batched(O, K, N, L) -> bool:
    """Run this convolution's GEMM as N per-image products (see above)?"""
    return 2 * O * K * N * L <= BATCHED_GEMM_MAX_FLOPS


def _as_rows(gy):
    """gy (N, O, OH, OW) -> (O, N*OH*OW), the column order of cols."""
    N, O, OH, OW = gy.shape
    return cupy.ascontiguousarray(gy.transpose(1, 0, 2, 3)).reshape(O, N * OH * OW)


def conv2d(x, w, stride, padding, dilation, keep_cols=False, bias=None):
    N = x.shape[0]
    O, C, KH, KW = w.shape
    OH, OW = conv_out_hw(x.shape[2:], (KH, KW), stride, padding, dilation)
    K, L = C * KH * KW, OH * OW
    cols = im2col(x, (KH, KW), stride, padding, dilation)      # (K, N*L)
    y = cupy.empty((N, O, OH, OW), dtype=x.dtype)
    if _batched(O, K, N, L):
        # y[n] (O, L) = w (O, K) @ cols[:, n*L:(n+1)*L] (K, L): straight into NCHW order
        _gemm(w, cols, y, O, L, K, lda=K, ldb=N * L, ldc=L, batch=N, stride_b=L,
              stride_c=O * L)
        if bias is not None:
            y += bias.reshape(1, O, 1, 1)
    else:
        y_rows = cupy.empty((O, N, OH, OW), dtype=x.dtype)
        _gemm(w, cols, y_rows, O, N * L, K, lda=K, ldb=N * L, ldc=N * L)   # (O, N*L)
        if bias is None:                                       # moved to (N, O, OH, OW), and
            y[...] = y_rows.transpose(1, 0, 2, 3)              # the bias added on the way
        else:
            cupy.add(y_rows.transpose(1, 0, 2, 3), bias.reshape(1, O, 1, 1), out=y)
    return (y, cols) if keep_cols else y


def conv2d_dx(gy, w, x_hw, stride, padding, dilation, bias=None):
    N, O, OH, OW = gy.shape
    _, C, KH, KW = w.shape
    K, L = C * KH * KW, OH * OW
    cols = cupy.empty((K, N * L), dtype=gy.dtype)
    if _batched(O, K, N, L):
        # cols[:, n*L:(n+1)*L] (K, L) = w.T (K, O) @ gy[n] (O, L): gy read in NCHW order
        _gemm(w, gy, cols, K, L, O, lda=K, ldb=L, ldc=N * L, trans_a=True, batch=N,
              stride_b=O * L, stride_c=L)
    else:                                                      # cols = w.T @ gy_rows
        _gemm(w, _as_rows(gy), cols, K, N * L, O, lda=K, ldb=N * L, ldc=N * L, trans_a=True)
    return col2im(cols, (N, C, *x_hw), (KH, KW), stride, padding, dilation, bias)


def conv2d_dw(x, gy, kernel_hw, stride, padding, dilation, cols=None):
    O, C = gy.shape[1], x.shape[1]
    K = C * kernel_hw[0] * kernel_hw[1]
    if cols is None:                                           # else: conv2d's, kept
        cols = im2col(x, kernel_hw, stride, padding, dilation)  # (K, N*L)
    NL = cols.shape[1]
    gw = cupy.empty((O, C, *kernel_hw), dtype=x.dtype)
    # gw (O, K) = gy_rows (O, N*L) @ cols.T (N*L, K): the sum over images and pixels at once
    _gemm(_as_rows(gy), cols, gw, O, K, NL, lda=NL, ldb=NL, ldc=K, trans_b=True)
    return gw


# --------------------------------------------------------------------------------- pooling

def avg_pool2d(x, kernel, stride, padding, count_include_pad=True):
    N, C, H, W = x.shape
    OH, OW = conv_out_hw((H, W), kernel, stride, padding, (1, 1))
    y = cupy.empty((N, C, OH, OW), dtype=x.dtype)
    _launch("avg_pool", (x, y), y.size, N * C, H, W, *kernel, *stride, *padding, OH, OW,
            bool(count_include_pad))
    return y


def avg_pool2d_backward(gy, x_shape, kernel, stride, padding, count_include_pad=True):
    N, C, H, W = x_shape
    OH, OW = gy.shape[2:]
    gx = cupy.empty(x_shape, dtype=gy.dtype)
    _launch("avg_pool_backward", (gy, gx), gx.size, N * C, H, W, *kernel, *stride,
            *padding, OH, OW, bool(count_include_pad))
    return gx


def max_pool2d(x, kernel, stride, padding):
    N, C, H, W = x.shape
    OH, OW = conv_out_hw((H, W), kernel, stride, padding, (1, 1))
    y = cupy.empty((N, C, OH, OW), dtype=x.dtype)
    argmax = cupy.empty((N, C, OH, OW), dtype=cupy.int64)
    _launch("max_pool", (x, y, argmax), y.size, N * C, H, W, *kernel, *stride,
            *padding, OH, OW)
    return y, argmax


def max_pool2d_backward(gy, argmax, x_shape):
    N, C, H, W = x_shape
    gx = cupy.zeros(x_shape, dtype=gy.dtype)
    _launch("max_pool_backward", (gy, argmax, gx), gy.size, N * C, H * W,
            gy.shape[2] * gy.shape[3])
    return gx


def max_pool2d_gather(g, argmax):
    N, C, H, W = g.shape
    gy = cupy.empty(argmax.shape, dtype=g.dtype)
    _launch("max_pool_gather", (g, argmax, gy), gy.size, N * C, H * W,
            argmax.shape[2] * argmax.shape[3])
    return gy


def adaptive_avg_pool2d(x, out_hw):
    N, C, H, W = x.shape
    y = cupy.empty((N, C, *out_hw), dtype=x.dtype)
    _launch("adaptive_avg_pool", (x, y), y.size, N * C, H, W, *out_hw)
    return y


def adaptive_avg_pool2d_backward(gy, x_shape):
    N, C, H, W = x_shape
    gx = cupy.zeros(x_shape, dtype=gy.dtype)
    _launch("adaptive_avg_pool_backward", (gy, gx), gy.size, N * C, H, W,
            *gy.shape[2:])
    return gx


# ------------------------------------------------------------------------------ upsampling

def _sf(scale_factor):
    """(sf_h, sf_w) as floats, 0.0 standing for 'none'."""
    sf_h, sf_w = scale_factor or (None, None)
    return float(sf_h or 0.0), float(sf_w or 0.0)


def upsample_nearest2d(x, out_hw, scale_factor=None):
    N, C, H, W = x.shape
    y = cupy.empty((N, C, *out_hw), dtype=x.dtype)
    _launch("nearest", (x, y), y.size, N * C, H, W, *out_hw, *_sf(scale_factor))
    return y


def upsample_nearest2d_backward(gy, x_shape, scale_factor=None):
    N, C, H, W = x_shape
    gx = cupy.zeros(x_shape, dtype=gy.dtype)
    _launch("nearest_backward", (gy, gx), gy.size, N * C, H, W, *gy.shape[2:],
            *_sf(scale_factor))
    return gx


def upsample_bilinear2d(x, out_hw, align_corners=False, scale_factor=None):
    N, C, H, W = x.shape
    y = cupy.empty((N, C, *out_hw), dtype=x.dtype)
    _launch("bilinear", (x, y), y.size, N * C, H, W, *out_hw, bool(align_corners),
            *_sf(scale_factor))
    return y


def upsample_bilinear2d_backward(gy, x_shape, align_corners=False, scale_factor=None):
    N, C, H, W = x_shape
    gx = cupy.zeros(x_shape, dtype=gy.dtype)
    _launch("bilinear_backward", (gy, gx), gy.size, N * C, H, W, *gy.shape[2:],
            bool(align_corners), *_sf(scale_factor))
    return gx
