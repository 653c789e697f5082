"""kernels: each tier against the one before it (reference loops -> numba CPU -> CuPy GPU),
the adjoint identities that make the backward passes right, and the input checks."""
import itertools
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from conftest import DEVICES, GPU_SKIP_REASON, as_device, as_numpy

import kernels
from kernels import reference as ref
from kernels.shapes import conv_out_hw, conv_transpose_out


def randn(rng, shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def assert_close(actual, expected, dtype=np.float32):
    """max |actual - expected| < tol * max(1, max |expected|); tol 1e-5 (float32), 1e-12."""
    actual = as_numpy(actual)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    tol = 1e-5 if np.dtype(dtype) == np.float32 else 1e-12
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    err = float(np.abs(actual.astype(np.float64) - expected).max(initial=0.0))
    assert err < tol * scale, f"max abs diff {err:.3g} (scale {scale:.3g})"


def pair(v):
    return (v, v) if isinstance(v, int) else v


# ------------------------------------------------------------------ convolution vs reference

KERNEL_SIZES = [(1, 1), (3, 3), (4, 4), (2, 3)]
CONV_GRID = list(itertools.product(KERNEL_SIZES, [1, 2, 3], [0, 1, 2], [1, 2]))
SHAPES = [(1, 1, 7, 9), (2, 3, 8, 5)]        # batch 1 / channels 1 / odd sizes; and a mix


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("x_shape", SHAPES, ids=["n1c1", "n2c3"])
@pytest.mark.parametrize("k,s,p,d", CONV_GRID, ids=[f"k{k[0]}x{k[1]}-s{s}-p{p}-d{d}"
                                                    for k, s, p, d in CONV_GRID])
def test_conv_triple_matches_reference(device, x_shape, k, s, p, d):
    rng = np.random.default_rng(0)
    N, C, H, W = x_shape
    out = conv_out_hw((H, W), k, pair(s), pair(p), pair(d))
    if min(out) < 1 or any(dd * (kk - 1) + 1 > i + 2 * p for kk, dd, i in zip(k, pair(d), (H, W))):
        with pytest.raises(ValueError):
            kernels.conv2d(randn(rng, x_shape), randn(rng, (2, C, *k)), s, p, d)
        return
    x, w = randn(rng, x_shape), randn(rng, (2, C, *k))
    gy = randn(rng, (N, 2, *out))
    X, Wt, GY = (as_device(a, device) for a in (x, w, gy))
    assert_close(kernels.conv2d(X, Wt, s, p, d), ref.conv2d(x, w, pair(s), pair(p), pair(d)))
    assert_close(kernels.conv2d_dx(GY, Wt, (H, W), s, p, d),
                 ref.conv2d_dx(gy, w, (H, W), pair(s), pair(p), pair(d)))
    assert_close(kernels.conv2d_dw(X, GY, k, s, p, d),
                 ref.conv2d_dw(x, gy, k, pair(s), pair(p), pair(d)))
    cols = kernels.im2col(X, k, s, p, d)
    assert_close(cols, ref.im2col(x, k, pair(s), pair(p), pair(d)))
    c = as_numpy(cols)
    assert_close(kernels.col2im(cols, x_shape, k, s, p, d),
                 ref.col2im(c, x_shape, k, pair(s), pair(p), pair(d)))


@pytest.mark.gpu
@pytest.mark.skipif(GPU_SKIP_REASON is not None, reason=GPU_SKIP_REASON or "")
@pytest.mark.parametrize("k,s,p,d", [((4, 4), 2, 1, 1), ((3, 2), 1, 2, 2), ((2, 3), 3, 0, 1)])
def test_gpu_im2col_and_col2im_with_64_bit_indices(monkeypatch, k, s, p, d):
    """im2col/col2im index in int (32-bit) when every index fits, else long long: force
    the long long build on small arrays and check it against the reference as well."""
    import kernels.gpu
    monkeypatch.setattr(kernels.gpu, "_INT32_LIMIT", 0)
    builds = []                                  # the kernel builds looked up, by name
    function = kernels.gpu._function
    monkeypatch.setattr(kernels.gpu, "_function", lambda name: builds.append(name) or
                        function(name))
    kernels.gpu._launch_plan.cache_clear()       # (launch plans are remembered per shape)
    rng = np.random.default_rng(5)
    x_shape = (2, 3, 9, 8)
    x = randn(rng, x_shape)
    X = as_device(x, "gpu")
    cols = kernels.im2col(X, k, s, p, d)
    assert_close(cols, ref.im2col(x, k, pair(s), pair(p), pair(d)))
    assert_close(kernels.col2im(cols, x_shape, k, s, p, d),
                 ref.col2im(as_numpy(cols), x_shape, k, pair(s), pair(p), pair(d)))
    assert builds == ["im2col<float, long long>", "col2im<float, long long>"]


TRANSPOSED_GRID = [(k, s, p, op, d) for k, s, p, op, d in itertools.product(
    [(3, 3), (4, 4), (2, 3)], [1, 2, 3], [0, 1, 2], [0, 1], [1, 2]) if op < s]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("k,s,p,op,d", TRANSPOSED_GRID,
                         ids=[f"k{k[0]}x{k[1]}-s{s}-p{p}-op{op}-d{d}" for k, s, p, op, d
                              in TRANSPOSED_GRID])
def test_transposed_conv_sizes(device, k, s, p, op, d):
    """conv_transpose2d(inp, weight) == conv2d_dx(inp, weight, out_hw) with PyTorch's
    out = (in - 1)*s - 2p + d*(k - 1) + output_padding + 1; conv2d of out gives back in."""
    rng = np.random.default_rng(1)
    inp_hw = (4, 5)
    out_hw = tuple(conv_transpose_out(i, kk, s, p, d, op) for i, kk in zip(inp_hw, k))
    if min(out_hw) < 1:
        pytest.skip(f"output size {out_hw} is empty")
    assert conv_out_hw(out_hw, k, pair(s), pair(p), pair(d)) == inp_hw
    inp, w = randn(rng, (1, 3, *inp_hw)), randn(rng, (3, 2, *k))     # weight (in, out, kh, kw)
    y = kernels.conv2d_dx(as_device(inp, device), as_device(w, device), out_hw, s, p, d)
    assert y.shape == (1, 2, *out_hw)
    assert_close(y, ref.conv2d_dx(inp, w, out_hw, pair(s), pair(p), pair(d)))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_dtypes_and_dcgan_shape(device, dtype):
    """The DCGAN layer shape, in both precisions; the output keeps the input dtype."""
    rng = np.random.default_rng(2)
    x, w = randn(rng, (3, 4, 14, 14), dtype), randn(rng, (5, 4, 4, 4), dtype)
    gy = randn(rng, (3, 5, 7, 7), dtype)
    X, Wt, GY = (as_device(a, device) for a in (x, w, gy))
    assert_close(kernels.conv2d(X, Wt, 2, 1), ref.conv2d(x, w, (2, 2), (1, 1)), dtype)
    assert_close(kernels.conv2d_dx(GY, Wt, (14, 14), 2, 1),
                 ref.conv2d_dx(gy, w, (14, 14), (2, 2), (1, 1)), dtype)
    assert_close(kernels.conv2d_dw(X, GY, (4, 4), 2, 1),
                 ref.conv2d_dw(x, gy, (4, 4), (2, 2), (1, 1)), dtype)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("channels", [1, 5], ids=["per-image-gemm", "one-gemm"])
def test_conv_bias_is_added_inside_the_kernels(device, channels):
    """conv2d(bias=b) = conv2d + b and conv2d_dx(bias=b) = conv2d_dx + b, per channel, on
    both CPU paths (C*KH*KW = 16: a GEMM per image; 80: one GEMM, bias added in the move to
    NCHW) and with keep_cols."""
    rng = np.random.default_rng(7)
    x, w = randn(rng, (3, channels, 9, 8)), randn(rng, (4, channels, 4, 4))
    b_out, b_in = randn(rng, (4,)), randn(rng, (channels,))
    gy = randn(rng, (3, 4, 4, 4))
    X, Wt, GY, B_out, B_in = (as_device(a, device) for a in (x, w, gy, b_out, b_in))
    expected = ref.conv2d(x, w, (2, 2), (1, 1)) + b_out.reshape(1, 4, 1, 1)
    assert_close(kernels.conv2d(X, Wt, 2, 1, bias=B_out), expected)
    y, cols = kernels.conv2d(X, Wt, 2, 1, keep_cols=True, bias=B_out)
    assert_close(y, expected)
    assert_close(cols, ref.im2col(x, (4, 4), (2, 2), (1, 1)))
    assert_close(kernels.conv2d_dx(GY, Wt, (9, 8), 2, 1, bias=B_in),
                 ref.conv2d_dx(gy, w, (9, 8), (2, 2), (1, 1)) + b_in.reshape(1, channels, 1, 1))
    with pytest.raises(ValueError, match=r"conv2d: bias must have shape \(4,\), got \(3,\)"):
        kernels.conv2d(X, Wt, 2, 1, bias=B_out[:3])
    with pytest.raises(ValueError, match=rf"conv2d_dx: bias must have shape \({channels},\)"):
        kernels.conv2d_dx(GY, Wt, (9, 8), 2, 1, bias=B_out[:2])
    with pytest.raises(TypeError, match="conv2d: arrays must have the same dtype"):
        kernels.conv2d(X, Wt, 2, 1, bias=B_out.astype(np.float64))


@pytest.mark.gpu
@pytest.mark.skipif(GPU_SKIP_REASON is not None, reason=GPU_SKIP_REASON or "")
@pytest.mark.parametrize("max_flops", [2**62, -1], ids=["batched", "one-gemm"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("N", [1, 3])
def test_gpu_conv_gemm_both_ways(monkeypatch, max_flops, dtype, N):
    """The GPU runs a convolution's forward and input-gradient GEMMs as N per-image products
    in one batched cuBLAS call that reads and writes the column blocks in place, or (large
    calls) as one GEMM over all N*L columns with gy or y moved: both against the reference,
    with and without a bias, with an odd output size (L = 5*4) and a 3x2 kernel."""
    import kernels.gpu
    monkeypatch.setattr(kernels.gpu, "BATCHED_GEMM_MAX_FLOPS", max_flops)
    rng = np.random.default_rng(11)
    x, w = randn(rng, (N, 3, 9, 7), dtype), randn(rng, (4, 3, 3, 2), dtype)
    b_out, b_in = randn(rng, (4,), dtype), randn(rng, (3,), dtype)
    gy = randn(rng, (N, 4, 5, 4), dtype)
    X, Wt, GY, B_out, B_in = (as_device(a, "gpu") for a in (x, w, gy, b_out, b_in))
    geometry = ((2, 2), (1, 1), (1, 1))
    y = ref.conv2d(x, w, *geometry)
    gx = ref.conv2d_dx(gy, w, (9, 7), *geometry)
    assert_close(kernels.conv2d(X, Wt, 2, 1), y, dtype)
    assert_close(kernels.conv2d(X, Wt, 2, 1, bias=B_out), y + b_out.reshape(1, 4, 1, 1), dtype)
    assert_close(kernels.conv2d_dx(GY, Wt, (9, 7), 2, 1), gx, dtype)
    assert_close(kernels.conv2d_dx(GY, Wt, (9, 7), 2, 1, bias=B_in),
                 gx + b_in.reshape(1, 3, 1, 1), dtype)
    assert_close(kernels.conv2d_dw(X, GY, (3, 2), 2, 1), ref.conv2d_dw(x, gy, (3, 2), *geometry),
                 dtype)


@pytest.mark.gpu
@pytest.mark.skipif(GPU_SKIP_REASON is not None, reason=GPU_SKIP_REASON or "")
def test_gpu_conv_gemm_form_follows_its_size():
    """Batched per-image products where the host's time per launch dominates (the DCGAN's
    64->128 layer at batch 64), one large GEMM where the GPU's does (the same at 512)."""
    from kernels.gpu import _batched
    assert _batched(O=128, K=64 * 16, N=64, L=7 * 7)
    assert not _batched(O=128, K=64 * 16, N=512, L=7 * 7)
    assert _batched(O=64, K=16, N=512, L=14 * 14)


@pytest.mark.parametrize("images_per_block", [1, 2, 5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_dx_runs_in_blocks_of_images(monkeypatch, images_per_block, dtype):
    """The CPU conv2d_dx makes its column matrix a block of images at a time (so that col2im
    reads it from the cache): 5 images in blocks of 1, 2 (the last one short) or all at
    once give the reference's result, with and without a bias."""
    rng = np.random.default_rng(8)
    N, C, O = 5, 5, 3                                         # C*KH*KW = 80: the GEMM path
    w, gy, bias = randn(rng, (O, C, 4, 4), dtype), randn(rng, (N, O, 4, 5), dtype), \
        randn(rng, (C,), dtype)
    column_bytes = (C * 4 * 4) * (4 * 5) * np.dtype(dtype).itemsize  # one image's columns:
    #                                          C*KH*KW rows, OH*OW columns
    monkeypatch.setattr(kernels.cpu, "_DX_BLOCK_BYTES", images_per_block * column_bytes)
    expected = ref.conv2d_dx(gy, w, (9, 10), (2, 2), (1, 1))
    assert_close(kernels.conv2d_dx(gy, w, (9, 10), 2, 1), expected, dtype)
    assert_close(kernels.conv2d_dx(gy, w, (9, 10), 2, 1, bias=bias),
                 expected + bias.reshape(1, C, 1, 1), dtype)


def test_non_contiguous_inputs():
    rng = np.random.default_rng(3)
    x = randn(rng, (2, 3, 9, 8)).transpose(0, 1, 3, 2)          # a strided view
    w = randn(rng, (4, 3, 3, 3))[:, :, ::-1, :]                 # negative strides
    assert_close(kernels.conv2d(x, w, 1, 1), ref.conv2d(x, w, (1, 1), (1, 1)))
    assert_close(kernels.avg_pool2d(x, 2), ref.avg_pool2d(x, (2, 2)))


# ------------------------------------------------------------------------ pooling, resizing

POOL_GRID = [(k, s, p) for k, s, p in itertools.product([(2, 2), (3, 3), (2, 3)], [None, 1, 2, 3],
                                                        [0, 1]) if 2 * p <= min(k)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("x_shape", SHAPES, ids=["n1c1", "n2c3"])
@pytest.mark.parametrize("k,s,p", POOL_GRID,
                         ids=[f"k{k[0]}x{k[1]}-s{s}-p{p}" for k, s, p in POOL_GRID])
def test_pooling_matches_reference(device, x_shape, k, s, p):
    rng = np.random.default_rng(4)
    x = randn(rng, x_shape)
    stride = k if s is None else pair(s)
    out = conv_out_hw(x_shape[2:], k, stride, pair(p), (1, 1))
    gy = randn(rng, (*x_shape[:2], *out))
    X, GY = as_device(x, device), as_device(gy, device)
    for cip in (True, False):                    # count_include_pad
        assert_close(kernels.avg_pool2d(X, k, s, p, cip),
                     ref.avg_pool2d(x, k, stride, pair(p), cip))
        assert_close(kernels.avg_pool2d_backward(GY, x_shape, k, s, p, cip),
                     ref.avg_pool2d_backward(gy, x_shape, k, stride, pair(p), cip))
    y, argmax = kernels.max_pool2d(X, k, s, p)
    y_ref, argmax_ref = ref.max_pool2d(x, k, stride, pair(p))
    assert_close(y, y_ref)
    np.testing.assert_array_equal(as_numpy(argmax), argmax_ref)
    assert as_numpy(argmax).dtype == np.int64
    assert_close(kernels.max_pool2d_backward(GY, argmax, x_shape),
                 ref.max_pool2d_backward(gy, argmax_ref, x_shape))
    assert_close(kernels.max_pool2d_gather(X, argmax), ref.max_pool2d_gather(x, argmax_ref))


@pytest.mark.parametrize("device", DEVICES)
def test_max_pool_ties_and_overlaps(device):
    """Ties pick the first maximum in row-major order; overlapping windows (stride 1) send
    gradient to the same pixel more than once, and it must add up."""
    x = np.zeros((1, 1, 5, 5), np.float32)
    x[0, 0, 2, 2] = 1.0                          # wins all 9 windows of a 3x3, stride 1 pool
    y, argmax = kernels.max_pool2d(as_device(x, device), 3, 1, 1)
    assert (as_numpy(argmax)[0, 0, 1:4, 1:4] == 12).all()
    assert as_numpy(argmax)[0, 0, 0, 0] == 0     # an all-zero window: its first pixel
    gx = as_numpy(kernels.max_pool2d_backward(as_device(np.ones_like(as_numpy(y)), device),
                                              argmax, x.shape))
    assert gx[0, 0, 2, 2] == 9.0
    assert gx.sum() == 25.0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("out_hw", [(4, 3), (7, 9), (8, 5), (1, 1), (13, 17), (16, 10)])
def test_adaptive_avg_pool_matches_reference(device, out_hw):
    rng = np.random.default_rng(5)
    for x_shape in SHAPES:
        x, gy = randn(rng, x_shape), randn(rng, (*x_shape[:2], *out_hw))
        assert_close(kernels.adaptive_avg_pool2d(as_device(x, device), out_hw),
                     ref.adaptive_avg_pool2d(x, out_hw))
        assert_close(kernels.adaptive_avg_pool2d_backward(as_device(gy, device), x_shape),
                     ref.adaptive_avg_pool2d_backward(gy, x_shape))


RESIZES = [((14, 18), None), ((3, 4), None), ((7, 9), None), ((5, 13), None),
           ((10, 13), (1.5, 1.5)), ((21, 27), (3.0, 3.0)), ((7, 9), (1.05, 1.05))]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("out_hw,sf", RESIZES, ids=[f"{o[0]}x{o[1]}-sf{sf}" for o, sf in RESIZES])
def test_upsampling_matches_reference(device, out_hw, sf):
    rng = np.random.default_rng(6)
    x_shape = (2, 3, 7, 9)
    x, gy = randn(rng, x_shape), randn(rng, (2, 3, *out_hw))
    X, GY = as_device(x, device), as_device(gy, device)
    assert_close(kernels.upsample_nearest2d(X, out_hw, sf), ref.upsample_nearest2d(x, out_hw, sf))
    assert_close(kernels.upsample_nearest2d_backward(GY, x_shape, sf),
                 ref.upsample_nearest2d_backward(gy, x_shape, sf))
    for ac in (False, True):
        assert_close(kernels.upsample_bilinear2d(X, out_hw, ac, sf),
                     ref.upsample_bilinear2d(x, out_hw, ac, sf))
        assert_close(kernels.upsample_bilinear2d_backward(GY, x_shape, ac, sf),
                     ref.upsample_bilinear2d_backward(gy, x_shape, ac, sf))


def test_nearest_and_bilinear_known_values():
    """Hand-checked values of PyTorch's conventions."""
    x = np.arange(4, dtype=np.float64).reshape(1, 1, 1, 4)
    up = kernels.upsample_nearest2d(x, (1, 8))
    np.testing.assert_array_equal(up[0, 0, 0], [0, 0, 1, 1, 2, 2, 3, 3])
    down = kernels.upsample_nearest2d(x, (1, 3))                 # src = floor(d * 4/3)
    np.testing.assert_array_equal(down[0, 0, 0], [0, 1, 2])
    bil = kernels.upsample_bilinear2d(x, (1, 8))                 # src = (d + .5)/2 - .5, >= 0
    np.testing.assert_allclose(bil[0, 0, 0], [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3])
    corners = kernels.upsample_bilinear2d(x, (1, 7), align_corners=True)
    np.testing.assert_allclose(corners[0, 0, 0], [0, 0.5, 1, 1.5, 2, 2.5, 3])


# ------------------------------------------------------------------------ adjoint identities

def inner(a, b):
    return float(np.sum(as_numpy(a).astype(np.float64) * as_numpy(b).astype(np.float64)))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("k,s,p,d", [((3, 3), 1, 1, 1), ((4, 4), 2, 1, 1), ((2, 3), 3, 2, 2),
                                     ((1, 1), 2, 0, 1), ((3, 2), (2, 1), (0, 1), (1, 2))])
def test_conv_adjoint_identities(device, k, s, p, d):
    """<conv2d(x, w), gy> == <x, conv2d_dx(gy, w)> == <w, conv2d_dw(x, gy)>, and im2col/col2im."""
    rng = np.random.default_rng(7)
    x, w = randn(rng, (2, 3, 9, 8), np.float64), randn(rng, (4, 3, *k), np.float64)
    out = conv_out_hw((9, 8), k, pair(s), pair(p), pair(d))
    gy = randn(rng, (2, 4, *out), np.float64)
    X, Wt, GY = (as_device(a, device) for a in (x, w, gy))
    forward = inner(kernels.conv2d(X, Wt, s, p, d), gy)
    assert np.isclose(forward, inner(x, kernels.conv2d_dx(GY, Wt, (9, 8), s, p, d)), rtol=1e-10)
    assert np.isclose(forward, inner(w, kernels.conv2d_dw(X, GY, k, s, p, d)), rtol=1e-10)
    cols = kernels.im2col(X, k, s, p, d)
    c = randn(rng, cols.shape, np.float64)
    back = kernels.col2im(as_device(c, device), x.shape, k, s, p, d)
    assert np.isclose(inner(cols, c), inner(x, back), rtol=1e-10)


@pytest.mark.parametrize("device", DEVICES)
def test_pool_and_resize_adjoint_identities(device):
    rng = np.random.default_rng(8)
    x_shape = (2, 3, 9, 7)
    x = randn(rng, x_shape, np.float64)
    X = as_device(x, device)

    def check(y, backward):
        gy = randn(rng, y.shape, np.float64)
        assert np.isclose(inner(y, gy), inner(x, backward(as_device(gy, device))), rtol=1e-10)

    for cip in (True, False):
        check(kernels.avg_pool2d(X, 3, 2, 1, cip),
              lambda g: kernels.avg_pool2d_backward(g, x_shape, 3, 2, 1, cip))
    check(kernels.adaptive_avg_pool2d(X, (4, 5)),
          lambda g: kernels.adaptive_avg_pool2d_backward(g, x_shape))
    for size in ((13, 11), (5, 4)):
        check(kernels.upsample_nearest2d(X, size),
              lambda g: kernels.upsample_nearest2d_backward(g, x_shape))
    for ac in (False, True):
        check(kernels.upsample_bilinear2d(X, (13, 20), ac),
              lambda g: kernels.upsample_bilinear2d_backward(g, x_shape, ac))
        check(kernels.upsample_bilinear2d(X, (4, 3), ac),
              lambda g: kernels.upsample_bilinear2d_backward(g, x_shape, ac))
    # max pool: for a fixed argmax, gather and scatter are each other's transpose
    _, argmax = kernels.max_pool2d(as_device(randn(rng, x_shape, np.float64), device), 3, 1, 1)
    check(kernels.max_pool2d_gather(X, argmax),
          lambda g: kernels.max_pool2d_backward(g, argmax, x_shape))


# ------------------------------------------------------------------------------ input checks

def _raises(match, fn, *args, exc=ValueError):
    with pytest.raises(exc, match=match):
        fn(*args)


def test_bad_convolution_inputs():
    x, w = np.zeros((2, 3, 5, 5), np.float32), np.zeros((4, 3, 3, 3), np.float32)
    _raises(r"conv2d: input must be 4-D, got shape \(3, 5, 5\)", kernels.conv2d, x[0], w)
    _raises(r"conv2d: input \(2, 3, 5, 5\) has 3 channels but weight \(4, 2, 3, 3\)",
            kernels.conv2d, x, w[:, :2])
    _raises(r"conv2d: kernel \(7, 7\).*larger than the padded input \(5, 5\)",
            kernels.conv2d, x, np.zeros((4, 3, 7, 7), np.float32))
    _raises(r"conv2d: kernel \(3, 3\) \(dilation \(3, 3\), span \(7, 7\)\)", kernels.conv2d,
            x, w, 1, 0, 3)
    _raises(r"stride \(0, 1\)", kernels.conv2d, x, w, (0, 1))
    _raises(r"conv2d_dx: grad_output \(2, 4, 4, 4\) does not match input size \(5, 5\)",
            kernels.conv2d_dx, np.zeros((2, 4, 4, 4), np.float32), w, (5, 5))
    _raises(r"conv2d_dx: grad_output \(2, 3, 3, 3\) has 3 channels but weight \(4, 3, 3, 3\)",
            kernels.conv2d_dx, np.zeros((2, 3, 3, 3), np.float32), w, (5, 5))
    _raises(r"conv2d_dw: grad_output \(2, 4, 2, 2\) does not match input \(2, 3, 5, 5\)",
            kernels.conv2d_dw, x, np.zeros((2, 4, 2, 2), np.float32), (3, 3))
    _raises(r"col2im: cols \(5, 5\) does not match", kernels.col2im,
            np.zeros((5, 5), np.float32), x.shape, (3, 3))
    _raises(r"conv2d: arrays must have the same dtype", kernels.conv2d, x, w.astype(np.float64),
            exc=TypeError)
    _raises(r"conv2d: input must be float32 or float64, got int64", kernels.conv2d,
            x.astype(np.int64), w, exc=TypeError)


def test_bad_pooling_and_resize_inputs():
    x = np.zeros((2, 3, 5, 5), np.float32)
    _raises(r"avg_pool2d: padding \(2, 2\) must be at most half the kernel size \(3, 3\)",
            kernels.avg_pool2d, x, 3, 1, 2)
    _raises(r"max_pool2d: kernel \(6, 6\).*larger than the padded input \(5, 5\)",
            kernels.max_pool2d, x, 6)
    _raises(r"avg_pool2d_backward: grad_output \(2, 3, 3, 3\) does not match input "
            r"\(2, 3, 5, 5\): expected \(2, 3, 2, 2\)", kernels.avg_pool2d_backward,
            np.zeros((2, 3, 3, 3), np.float32), x.shape, 2)
    _raises(r"max_pool2d_backward: argmax must be an integer array of shape \(2, 3, 2, 2\)",
            kernels.max_pool2d_backward, np.zeros((2, 3, 2, 2), np.float32),
            np.zeros((2, 3, 2, 2), np.float32), x.shape)
    _raises(r"upsample_nearest2d: output size \(0, 4\) must be positive",
            kernels.upsample_nearest2d, x, (0, 4))
    _raises(r"upsample_bilinear2d: input must be 4-D, got shape \(5, 5\)",
            kernels.upsample_bilinear2d, x[0, 0], (4, 4))
    _raises(r"adaptive_avg_pool2d_backward: grad_output \(2, 4, 2, 2\) does not match input",
            kernels.adaptive_avg_pool2d_backward, np.zeros((2, 4, 2, 2), np.float32), x.shape)


def test_max_pool_backward_ignores_out_of_range_argmax():
    """A corrupted argmax must not write outside the plane (numba does no bounds checks)."""
    gy = np.ones((1, 1, 2, 2), np.float32)
    argmax = np.array([[[[0, 3], [-1, 10**6]]]], np.int64)
    gx = kernels.max_pool2d_backward(gy, argmax, (1, 1, 2, 2))
    np.testing.assert_array_equal(gx[0, 0], [[1, 0], [0, 1]])


# ------------------------------------------------------------------------- how it is run

def _run_python(code, *args, **env):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    clean = {k: v for k, v in os.environ.items() if k not in (
        "NUMBA_THREADING_LAYER", "GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT")}
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=root,
                            env=dict(clean, **env), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_kernels_import_without_cupy_and_route_numpy_to_cpu():
    code = ("import sys; sys.modules['cupy'] = None; import kernels, numpy as np; "
            "y = kernels.conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2))); "
            "assert 'kernels.gpu' not in sys.modules and y.sum() == 16, y")
    _run_python(code)


def test_kernels_run_as_plain_python_with_jit_disabled():
    """NUMBA_DISABLE_JIT=1 runs the numba kernels as ordinary Python (for a debugger)."""
    code = ("import numpy as np, kernels; from kernels import reference as ref; "
            "r = np.random.default_rng(0); x = r.random((1, 2, 5, 4)); w = r.random((3, 2, 3, 2)); "
            "gy = r.random((1, 3, 3, 3)); "
            "assert np.allclose(kernels.conv2d(x, w, 2, 1), ref.conv2d(x, w, (2, 2), (1, 1))); "
            "assert np.allclose(kernels.conv2d_dx(gy, w, (5, 4), 2, 1), "
            "                   ref.conv2d_dx(gy, w, (5, 4), (2, 2), (1, 1))); "
            "assert np.allclose(kernels.max_pool2d(x, 2)[0], ref.max_pool2d(x, (2, 2))[0])")
    _run_python(code, NUMBA_DISABLE_JIT="1")


def test_thread_settings_are_chosen_without_leaking_into_the_environment():
    """kernels picks numba's OpenMP layer with short spinning (or workqueue without libgomp);
    minigrad, imported before numpy, loads OpenBLAS with a short spin. Neither leaves a
    variable behind for child processes, and a user's own choice wins."""
    code = ("import os, numpy as np, numba, kernels; "
            "kernels.im2col(np.zeros((1, 1, 4, 4), np.float32), 3, 1, 1); "
            "print(numba.threading_layer(), os.environ.get('GOMP_SPINCOUNT', '-'))")
    layer, spin = _run_python(code)
    assert layer in ("omp", "workqueue") and spin == "-"
    layer, spin = _run_python(code, NUMBA_THREADING_LAYER="workqueue", GOMP_SPINCOUNT="7")
    assert (layer, spin) == ("workqueue", "7")
    code = "import os, minigrad; print(os.environ.get('OPENBLAS_THREAD_TIMEOUT', '-'))"
    assert _run_python(code) == ["-"]
    assert _run_python(code, OPENBLAS_THREAD_TIMEOUT="9") == ["9"]


def test_parallel_and_serial_builds_keep_their_own_disk_cache(tmp_path):
    """compile_twice's two builds of one loop must not load each other from numba's disk
    cache, which does not tell builds apart by options such as parallel=True (once, the
    serial Adam loop was loaded for the large parameters too). Run 1 compiles the serial
    build first: the parallel one must compile its own (a cache miss, not a hit). Run 2
    finds both in the cache."""
    (tmp_path / "double_loop.py").write_text(
        "from numba import prange\n"
        "from kernels.cpu import compile_twice\n"
        "def double(x, y):\n"
        "    for i in prange(x.size):\n"
        "        y[i] = 2 * x[i]\n"
        "parallel, serial = compile_twice(double)\n")
    code = ("import sys; sys.path.insert(0, sys.argv[-1]); import numpy as np; "
            "from double_loop import parallel, serial; "
            "x = np.arange(5.0); y = np.empty_like(x); "
            "serial(x, y); parallel(x, y); assert (y == 2 * x).all(); "
            "print(len(serial.stats.cache_hits), len(parallel.stats.cache_hits), "
            "len(parallel.stats.cache_misses))")
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    first = _run_python(code, str(tmp_path), **env)
    assert first == ["0", "0", "1"], "the parallel build loaded the serial one's cache entry"
    assert _run_python(code, str(tmp_path), **env) == ["1", "1", "0"]


def test_parallel_kernels_from_several_python_threads():
    """numba's workqueue threading layer (the fallback) must not be entered concurrently;
    kernels serialises its launches, so calling it from several Python threads is safe."""
    rng = np.random.default_rng(9)
    x, w = randn(rng, (4, 8, 12, 12)), randn(rng, (8, 8, 3, 3))
    expected = kernels.conv2d(x, w, 1, 1)
    results, errors = [], []

    def work():
        try:
            for _ in range(5):
                results.append(kernels.conv2d_dx(kernels.conv2d(x, w, 1, 1), w, (12, 12), 1, 1))
        except Exception as error:                    # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 15
    for r in results:
        np.testing.assert_allclose(r, results[0], rtol=1e-6)
    assert kernels.conv2d(x, w, 1, 1).shape == expected.shape


@pytest.mark.parametrize("device", DEVICES)
def test_empty_batch(device):
    x = as_device(np.zeros((0, 2, 5, 5), np.float32), device)
    w = as_device(np.ones((3, 2, 3, 3), np.float32), device)
    y = kernels.conv2d(x, w, 1, 1)
    assert y.shape == (0, 3, 5, 5)
    assert kernels.conv2d_dx(y, w, (5, 5), 1, 1).shape == (0, 2, 5, 5)
    assert float(as_numpy(kernels.conv2d_dw(x, y, (3, 3), 1, 1)).sum()) == 0.0
    pooled, argmax = kernels.max_pool2d(x, 2)
    assert kernels.max_pool2d_backward(pooled, argmax, x.shape).shape == x.shape
    assert kernels.upsample_bilinear2d(x, (7, 7)).shape == (0, 2, 7, 7)


@pytest.mark.parametrize("device", DEVICES)
def test_conv2d_keeps_cols_for_the_weight_gradient(device):
    rng = np.random.default_rng(10)
    x, w, gy = randn(rng, (2, 3, 7, 6)), randn(rng, (4, 3, 3, 2)), randn(rng, (2, 4, 4, 4))
    X, Wt, GY = (as_device(a, device) for a in (x, w, gy))
    y, cols = kernels.conv2d(X, Wt, 2, 1, keep_cols=True)
    assert_close(y, ref.conv2d(x, w, (2, 2), (1, 1)))
    assert_close(cols, ref.im2col(x, (3, 2), (2, 2), (1, 1)))
    assert_close(kernels.conv2d_dw(X, GY, (3, 2), 2, 1, cols=cols),
                 ref.conv2d_dw(x, gy, (3, 2), (2, 2), (1, 1)))
    with pytest.raises(ValueError, match=r"conv2d_dw: cols float32 \(18, 24\) is not im2col"):
        kernels.conv2d_dw(X, GY, (3, 2), 2, 1, cols=cols[:, :24].copy())
