"""The reference tier: every kernel written as the plain loops of its definition.

This file is the test oracle and the place to read what an op *means*. Nothing here is fast:
the loops run over output pixels and kernel taps in Python, and only the sums over the batch
and channel axes are left to numpy. Everything is computed in float64 and cast back to the
input dtype at the end. Arguments are those of the public functions in `kernels` (spatial
arguments as (h, w) pairs), without the ones there for speed only: conv2d's keep_cols and
bias, conv2d_dx's bias, conv2d_dw's cols (a bias is a separate add where these are
compared). Nothing is validated here.

Notation: x is (N, C, H, W); a convolution weight w is (O, C, KH, KW); y and its gradient gy
are (N, O, OH, OW); (sh, sw) stride, (ph, pw) zero padding, (dh, dw) dilation.
"""
import numpy as np

from .shapes import adaptive_window, conv_out_hw


def _pad(x, ph, pw, value=0.0):
    """x (N, C, H, W) -> (N, C, H + 2*ph, W + 2*pw), in float64."""
    return np.pad(x.astype(np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)),
                  constant_values=value)


# ----------------------------------------------------------------------------- convolution

def conv2d(x, w, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """y[n, o, oh, ow] = sum_{c, kh, kw} x_pad[n, c, oh*sh + kh*dh, ow*sw + kw*dw]
                                        * w[o, c, kh, kw]"""
    (N, C, H, W), (O, _, KH, KW) = x.shape, w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    OH, OW = conv_out_hw((H, W), (KH, KW), stride, padding, dilation)
    xp, w64 = _pad(x, ph, pw), w.astype(np.float64)
    y = np.zeros((N, O, OH, OW))
    for oh in range(OH):
        for ow in range(OW):
            for kh in range(KH):
                for kw in range(KW):
                    pixel = xp[:, :, oh * sh + kh * dh, ow * sw + kw * dw]     # (N, C)
                    y[:, :, oh, ow] += pixel @ w64[:, :, kh, kw].T            # (N, O)
    return y.astype(x.dtype)


def conv2d_dx(gy, w, x_hw, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """The input gradient of conv2d (= the transposed convolution): every output pixel sends
    gy[n, :, oh, ow] @ w[:, :, kh, kw] back to the input pixel that tap (kh, kw) read.
    gx_pad[n, c, oh*sh + kh*dh, ow*sw + kw*dw] += sum_o gy[n, o, oh, ow] * w[o, c, kh, kw]"""
    (N, O, OH, OW), (_, C, KH, KW) = gy.shape, w.shape
    (H, W), (sh, sw), (ph, pw), (dh, dw) = x_hw, stride, padding, dilation
    gy64, w64 = gy.astype(np.float64), w.astype(np.float64)
    gxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for oh in range(OH):
        for ow in range(OW):
            for kh in range(KH):
                for kw in range(KW):
                    gxp[:, :, oh * sh + kh * dh, ow * sw + kw * dw] += (
                        gy64[:, :, oh, ow] @ w64[:, :, kh, kw])               # (N, C)
    return gxp[:, :, ph:ph + H, pw:pw + W].astype(gy.dtype)


def conv2d_dw(x, gy, kernel_hw, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """The weight gradient of conv2d:
    gw[o, c, kh, kw] = sum_{n, oh, ow} gy[n, o, oh, ow]
                                       * x_pad[n, c, oh*sh + kh*dh, ow*sw + kw*dw]"""
    (N, C, H, W), (_, O, OH, OW) = x.shape, gy.shape
    (KH, KW), (sh, sw), (ph, pw), (dh, dw) = kernel_hw, stride, padding, dilation
    xp, gy64 = _pad(x, ph, pw), gy.astype(np.float64)
    gw = np.zeros((O, C, KH, KW))
    for oh in range(OH):
        for ow in range(OW):
            for kh in range(KH):
                for kw in range(KW):
                    pixel = xp[:, :, oh * sh + kh * dh, ow * sw + kw * dw]     # (N, C)
                    gw[:, :, kh, kw] += gy64[:, :, oh, ow].T @ pixel          # (O, C)
    return gw.astype(x.dtype)


def im2col(x, kernel_hw, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """cols[(c*KH + kh)*KW + kw, (n*OH + oh)*OW + ow] = x_pad[n, c, oh*sh + kh*dh, ow*sw + kw*dw]
    so that conv2d is one matrix product: y = w.reshape(O, C*KH*KW) @ cols."""
    N, C, H, W = x.shape
    (KH, KW), (sh, sw), (ph, pw), (dh, dw) = kernel_hw, stride, padding, dilation
    OH, OW = conv_out_hw((H, W), kernel_hw, stride, padding, dilation)
    xp = _pad(x, ph, pw)
    cols = np.zeros((C, KH, KW, N, OH, OW))
    for kh in range(KH):
        for kw in range(KW):
            for oh in range(OH):
                for ow in range(OW):
                    cols[:, kh, kw, :, oh, ow] = xp[:, :, oh * sh + kh * dh, ow * sw + kw * dw].T
    return cols.reshape(C * KH * KW, N * OH * OW).astype(x.dtype)


def col2im(cols, x_shape, kernel_hw, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """The adjoint of im2col: every entry of cols is added back to the pixel it was copied from
    (entries copied from the padding are dropped)."""
    N, C, H, W = x_shape
    (KH, KW), (sh, sw), (ph, pw), (dh, dw) = kernel_hw, stride, padding, dilation
    OH, OW = conv_out_hw((H, W), kernel_hw, stride, padding, dilation)
    dtype = cols.dtype
    cols = cols.astype(np.float64).reshape(C, KH, KW, N, OH, OW)
    xp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for kh in range(KH):
        for kw in range(KW):
            for oh in range(OH):
                for ow in range(OW):
                    xp[:, :, oh * sh + kh * dh, ow * sw + kw * dw] += cols[:, kh, kw, :, oh, ow].T
    return xp[:, :, ph:ph + H, pw:pw + W].astype(dtype)


# --------------------------------------------------------------------------------- pooling

def _window_sizes(x_shape, kernel, stride, padding, count_include_pad):
    """The divisor of each output of an average pool: KH*KW, or (count_include_pad=False)
    the number of real, unpadded pixels in its window."""
    (KH, KW), (sh, sw), (ph, pw) = kernel, stride, padding
    H, W = x_shape[2:]
    OH, OW = conv_out_hw((H, W), kernel, stride, padding, (1, 1))
    if count_include_pad:
        return np.full((OH, OW), float(KH * KW))
    real = _pad(np.ones((1, 1, H, W)), ph, pw)[0, 0]
    return np.array([[real[oh * sh:oh * sh + KH, ow * sw:ow * sw + KW].sum() for ow in range(OW)]
                     for oh in range(OH)])


def avg_pool2d(x, kernel, stride=None, padding=(0, 0), count_include_pad=True):
    """y[n, c, oh, ow] = mean of the KH x KW window of x_pad starting at (oh*sh, ow*sw). With
    count_include_pad=True (PyTorch's default) the zero padding counts: the divisor is always
    KH*KW; with False it is the number of real pixels in the window."""
    N, C, H, W = x.shape
    (KH, KW), (sh, sw), (ph, pw) = kernel, stride or kernel, padding
    OH, OW = conv_out_hw((H, W), kernel, (sh, sw), padding, (1, 1))
    xp = _pad(x, ph, pw)
    y = np.zeros((N, C, OH, OW))
    for oh in range(OH):
        for ow in range(OW):
            y[:, :, oh, ow] = xp[:, :, oh * sh:oh * sh + KH, ow * sw:ow * sw + KW].sum(axis=(2, 3))
    sizes = _window_sizes(x.shape, kernel, (sh, sw), padding, count_include_pad)   # (OH, OW)
    return (y / sizes).astype(x.dtype)


def avg_pool2d_backward(gy, x_shape, kernel, stride=None, padding=(0, 0), count_include_pad=True):
    """Each output's gradient is shared equally (1/divisor each) by the pixels of its window."""
    N, C, H, W = x_shape
    (KH, KW), (sh, sw), (ph, pw) = kernel, stride or kernel, padding
    _, _, OH, OW = gy.shape
    sizes = _window_sizes(x_shape, kernel, (sh, sw), padding, count_include_pad)
    gxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for oh in range(OH):
        for ow in range(OW):
            share = gy[:, :, oh, ow].astype(np.float64) / sizes[oh, ow]
            gxp[:, :, oh * sh:oh * sh + KH, ow * sw:ow * sw + KW] += share[:, :, None, None]
    return gxp[:, :, ph:ph + H, pw:pw + W].astype(gy.dtype)


def max_pool2d(x, kernel, stride=None, padding=(0, 0)):
    """y[n, c, oh, ow] = max of the window (padding never wins); argmax is the flat index h*W + w
    of that maximum in the (H, W) plane, the first one in row-major order on ties."""
    N, C, H, W = x.shape
    (KH, KW), (sh, sw), (ph, pw) = kernel, stride or kernel, padding
    OH, OW = conv_out_hw((H, W), kernel, (sh, sw), padding, (1, 1))
    y = np.zeros((N, C, OH, OW), dtype=x.dtype)
    argmax = np.zeros((N, C, OH, OW), dtype=np.int64)
    for oh in range(OH):
        for ow in range(OW):
            h0, w0 = max(oh * sh - ph, 0), max(ow * sw - pw, 0)          # the window, clipped
            h1, w1 = min(oh * sh - ph + KH, H), min(ow * sw - pw + KW, W)  # to the real pixels
            window = x[:, :, h0:h1, w0:w1].reshape(N, C, -1)
            k = window.argmax(axis=2)                                     # (N, C)
            y[:, :, oh, ow] = np.take_along_axis(window, k[:, :, None], axis=2)[:, :, 0]
            argmax[:, :, oh, ow] = (h0 + k // (w1 - w0)) * W + (w0 + k % (w1 - w0))
    return y, argmax


def max_pool2d_backward(gy, argmax, x_shape):
    """gx[n, c].flat[argmax[n, c, oh, ow]] += gy[n, c, oh, ow] (overlapping windows add up)."""
    N, C, H, W = x_shape
    gx = np.zeros((N, C, H * W))
    for n in range(N):
        for c in range(C):
            np.add.at(gx[n, c], argmax[n, c].ravel(), gy[n, c].ravel().astype(np.float64))
    return gx.reshape(N, C, H, W).astype(gy.dtype)


def max_pool2d_gather(g, argmax):
    """gy[n, c, oh, ow] = g[n, c].flat[argmax[n, c, oh, ow]]: the adjoint of max_pool2d_backward."""
    N, C, H, W = g.shape
    picked = np.take_along_axis(g.reshape(N, C, H * W), argmax.reshape(N, C, -1), axis=2)
    return picked.reshape(argmax.shape)


def adaptive_avg_pool2d(x, out_hw):
    """y[n, c, i, j] = mean of x over rows [floor(i*H/OH), ceil((i+1)*H/OH)) and the same for
    columns: windows of varying size that cover the input."""
    N, C, H, W = x.shape
    OH, OW = out_hw
    y = np.zeros((N, C, OH, OW))
    for i in range(OH):
        h0, h1 = adaptive_window(i, H, OH)
        for j in range(OW):
            w0, w1 = adaptive_window(j, W, OW)
            y[:, :, i, j] = x[:, :, h0:h1, w0:w1].astype(np.float64).mean(axis=(2, 3))
    return y.astype(x.dtype)


def adaptive_avg_pool2d_backward(gy, x_shape):
    N, C, H, W = x_shape
    _, _, OH, OW = gy.shape
    gx = np.zeros((N, C, H, W))
    for i in range(OH):
        h0, h1 = adaptive_window(i, H, OH)
        for j in range(OW):
            w0, w1 = adaptive_window(j, W, OW)
            share = gy[:, :, i, j].astype(np.float64) / ((h1 - h0) * (w1 - w0))
            gx[:, :, h0:h1, w0:w1] += share[:, :, None, None]
    return gx.astype(gy.dtype)


# ----------------------------------------------------------------------------- upsampling

def nearest_source(dst, in_size, out_size, scale_factor=None):
    """The input index that output index `dst` copies, as PyTorch's 'nearest' computes it:
    src = min(floor(dst * scale), in - 1) with scale = in/out (or 1/scale_factor when the output
    size came from a scale factor), the product taken in float32; out == in and out == 2*in are
    special-cased to dst and dst // 2."""
    if out_size == in_size:
        return dst
    if out_size == 2 * in_size:
        return dst // 2
    if scale_factor:
        scale = np.float32(1.0 / scale_factor)
    else:
        scale = np.float32(in_size) / np.float32(out_size)
    return min(int(np.floor(np.float32(dst) * scale)), in_size - 1)


def upsample_nearest2d(x, out_hw, scale_factor=None):
    """y[n, c, oh, ow] = x[n, c, src(oh), src(ow)] with src = nearest_source."""
    N, C, H, W = x.shape
    OH, OW = out_hw
    sf_h, sf_w = scale_factor or (None, None)
    y = np.zeros((N, C, OH, OW), dtype=x.dtype)
    for oh in range(OH):
        for ow in range(OW):
            h, w = nearest_source(oh, H, OH, sf_h), nearest_source(ow, W, OW, sf_w)
            y[:, :, oh, ow] = x[:, :, h, w]
    return y


def upsample_nearest2d_backward(gy, x_shape, scale_factor=None):
    N, C, H, W = x_shape
    _, _, OH, OW = gy.shape
    sf_h, sf_w = scale_factor or (None, None)
    gx = np.zeros((N, C, H, W))
    for oh in range(OH):
        for ow in range(OW):
            h, w = nearest_source(oh, H, OH, sf_h), nearest_source(ow, W, OW, sf_w)
            gx[:, :, h, w] += gy[:, :, oh, ow]
    return gx.astype(gy.dtype)


def linear_source(dst, in_size, out_size, align_corners=False, scale_factor=None):
    """(i0, i1, l0, l1): output index `dst` of a linear resize reads l0*x[i0] + l1*x[i1].
    align_corners=False (PyTorch's default): src = (dst + 0.5)*scale - 0.5 clamped at 0, with
    scale = in/out (or 1/scale_factor); align_corners=True: src = dst*(in-1)/(out-1)."""
    if out_size == in_size:
        return dst, dst, 1.0, 0.0
    if align_corners:
        src = dst * (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    else:
        scale = 1.0 / scale_factor if scale_factor else in_size / out_size
        src = max((dst + 0.5) * scale - 0.5, 0.0)
    i0 = int(src)
    i1 = min(i0 + 1, in_size - 1)
    l1 = src - i0
    return i0, i1, 1.0 - l1, l1


def upsample_bilinear2d(x, out_hw, align_corners=False, scale_factor=None):
    """y[n, c, oh, ow] = sum over the 2 x 2 neighbours (i, j) of lh_i * lw_j * x[n, c, h_i, w_j]."""
    N, C, H, W = x.shape
    OH, OW = out_hw
    sf_h, sf_w = scale_factor or (None, None)
    x64 = x.astype(np.float64)
    y = np.zeros((N, C, OH, OW))
    for oh in range(OH):
        h0, h1, lh0, lh1 = linear_source(oh, H, OH, align_corners, sf_h)
        for ow in range(OW):
            w0, w1, lw0, lw1 = linear_source(ow, W, OW, align_corners, sf_w)
            y[:, :, oh, ow] = (lh0 * (lw0 * x64[:, :, h0, w0] + lw1 * x64[:, :, h0, w1])
                               + lh1 * (lw0 * x64[:, :, h1, w0] + lw1 * x64[:, :, h1, w1]))
    return y.astype(x.dtype)


def upsample_bilinear2d_backward(gy, x_shape, align_corners=False, scale_factor=None):
    """The adjoint: each output's gradient goes back to its 4 neighbours with the same weights."""
    N, C, H, W = x_shape
    _, _, OH, OW = gy.shape
    sf_h, sf_w = scale_factor or (None, None)
    gy64 = gy.astype(np.float64)
    gx = np.zeros((N, C, H, W))
    for oh in range(OH):
        h0, h1, lh0, lh1 = linear_source(oh, H, OH, align_corners, sf_h)
        for ow in range(OW):
            w0, w1, lw0, lw1 = linear_source(ow, W, OW, align_corners, sf_w)
            g = gy64[:, :, oh, ow]
            gx[:, :, h0, w0] += lh0 * lw0 * g
            gx[:, :, h0, w1] += lh0 * lw1 * g
            gx[:, :, h1, w0] += lh1 * lw0 * g
            gx[:, :, h1, w1] += lh1 * lw1 * g
    return gx.astype(gy.dtype)
