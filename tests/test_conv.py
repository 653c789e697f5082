"""minigrad/ops/conv.py: the convolution triple to second order (gradcheck and gradgradcheck,
float64), conv2d / conv_transpose2d as PyTorch's functional forms, the WGAN-GP penalty
through a conv critic, and the input checks."""
import re
import warnings

import numpy as np
import pytest
from conftest import make

import kernels
import minigrad as mg
import minigrad.nn.functional as F
from kernels import reference as ref
from minigrad.ops import conv as conv_ops


# ------------------------------------------------------------- the functional forms

CONV_CASES = [  # x shape, weight shape, bias, stride, padding, dilation
    ((1, 2, 5, 5), (3, 2, 3, 3), True, 2, 1, 1),           # batch 1, stride 2, padding 1
    ((2, 1, 6, 5), (2, 1, 2, 3), False, 1, 0, 2),          # channels 1, non-square, dilation
    ((2, 3, 4, 4), (2, 3, 4, 4), True, 2, 1, 1),           # the DCGAN layer, in miniature
    ((1, 5, 5, 5), (2, 5, 4, 4), True, 2, 1, 1),           # C*KH*KW = 80 > 64: one big GEMM
    ((2, 5, 5), (3, 2, 3, 3), True, 2, 1, 1),              # one image (C, H, W), no batch dim
]


@pytest.mark.parametrize("x_shape,w_shape,bias,stride,padding,dilation", CONV_CASES)
def test_conv2d_gradcheck_and_gradgradcheck(device, x_shape, w_shape, bias, stride, padding,
                                            dilation):
    x, w = make(x_shape, device, seed=1), make(w_shape, device, seed=2)
    inputs = [x, w] + ([make((w_shape[0],), device, seed=3)] if bias else [])

    def fn(x, w, b=None):
        return F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation)

    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


def _record_weight_gradient_cols(monkeypatch) -> list:
    """Every kernels.conv2d_dw call from minigrad's convolutions appends whether it was
    handed the forward's im2col matrix (True) or must build it (False)."""
    handed = []
    conv2d_dw = kernels.conv2d_dw

    def recording(*args, cols=None, **kwargs):
        handed.append(cols is not None)
        return conv2d_dw(*args, cols=cols, **kwargs)

    monkeypatch.setattr(kernels, "conv2d_dw", recording)
    return handed


def test_conv2d_keeps_im2col_for_backward_only_up_to_the_limit(monkeypatch, device):
    """Forward keeps cols (4x x here) for the weight gradient while they are small; above
    KEEP_COLS_BYTES backward builds them again, with the same gradients to the last bit,
    and gradcheck and gradgradcheck still hold."""
    x, w, b = (make(shape, device, seed=seed)
               for seed, shape in enumerate([(1, 2, 6, 6), (3, 2, 4, 4), (3,)]))

    def fn(x, w, b):
        return F.conv2d(x, w, b, stride=2, padding=1)

    handed = _record_weight_gradient_cols(monkeypatch)
    fn(x, w, b).sum().backward()
    kept_grads = [t.grad.numpy() for t in (x, w, b)]
    assert handed == [True]
    for t in (x, w, b):
        t.grad = None
    monkeypatch.setattr(conv_ops, "KEEP_COLS_BYTES", 0)
    handed.clear()
    fn(x, w, b).sum().backward()
    assert handed == [False]
    for kept, t in zip(kept_grads, (x, w, b)):
        np.testing.assert_array_equal(t.grad.numpy(), kept)
    assert mg.gradcheck(fn, [x, w, b])
    assert mg.gradgradcheck(fn, [x, w, b])


def test_transposed_conv_backward_hands_its_cols_over_at_any_size(monkeypatch, device):
    """conv_transpose2d's backward runs conv2d(g, W) and at once conv2d_dw(g, gy): it
    builds im2col(g) once, however large (nothing is kept alive by it)."""
    monkeypatch.setattr(conv_ops, "KEEP_COLS_BYTES", 0)
    handed = _record_weight_gradient_cols(monkeypatch)
    inp, w = make((2, 3, 3, 3), device, seed=1), make((3, 2, 4, 4), device, seed=2)
    F.conv_transpose2d(inp, w, stride=2, padding=1).sum().backward()
    assert handed == [True]


TRANSPOSED_CASES = [  # input, weight (in, out, kh, kw), bias, stride, padding, out_pad, dilation
    ((1, 3, 3, 3), (3, 2, 4, 4), True, 2, 1, 0, 1),        # DCGAN's upsampling, 3 -> 6
    ((2, 2, 3, 2), (2, 1, 3, 3), False, 2, 1, 1, 1),       # output_padding 1
    ((1, 2, 2, 3), (2, 2, 2, 3), True, 3, 0, 2, 1),        # stride 3, output_padding 2
    ((1, 2, 3, 3), (2, 5, 4, 4), True, 2, 1, 0, 1),        # out C*KH*KW = 80: one big GEMM
    ((3, 3, 3), (3, 2, 4, 4), True, 2, 1, 0, 1),           # one image (C, H, W), no batch dim
    ((2, 2, 3, 2), (2, 3, 3, 2), True, 2, 1, 1, 2),        # stride 2, dilation 2: 3x2 -> 8x4
    ((1, 2, 2, 3), (2, 1, 2, 3), False, 1, 0, 0, (2, 3)),  # dilation per dim, stride 1
]


@pytest.mark.parametrize("x_shape,w_shape,bias,stride,padding,output_padding,dilation",
                         TRANSPOSED_CASES)
def test_conv_transpose2d_gradcheck_and_gradgradcheck(device, x_shape, w_shape, bias, stride,
                                                      padding, output_padding, dilation):
    x, w = make(x_shape, device, seed=4), make(w_shape, device, seed=5)
    inputs = [x, w] + ([make((w_shape[1],), device, seed=6)] if bias else [])

    def fn(x, w, b=None):
        return F.conv_transpose2d(x, w, b, stride=stride, padding=padding,
                                  output_padding=output_padding, dilation=dilation)

    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


def test_conv_transpose2d_dilation_is_a_kernel_with_zeros_between_its_taps(device):
    """dilation (dh, dw) = the undilated op with dh - 1 rows and dw - 1 columns of zeros
    between the kernel's taps (no PyTorch needed)."""
    rng = np.random.default_rng(8)
    x, w, b = rng.standard_normal((2, 3, 4, 3)), rng.standard_normal((3, 2, 3, 2)), \
        rng.standard_normal(2)
    spread = np.zeros((3, 2, 2 * 2 + 1, 3 * 1 + 1))            # dilation (2, 3): 5 x 4 taps
    spread[:, :, ::2, ::3] = w
    as_t = lambda a: mg.tensor(a, device=device, dtype=mg.float64)   # noqa: E731
    ours = F.conv_transpose2d(as_t(x), as_t(w), as_t(b), stride=2, padding=1,
                              output_padding=1, dilation=(2, 3))
    plain = F.conv_transpose2d(as_t(x), as_t(spread), as_t(b), stride=2, padding=1,
                               output_padding=1)
    assert ours.shape == plain.shape == (2, 2, 10, 7)
    np.testing.assert_allclose(ours.numpy(), plain.numpy(), rtol=1e-12, atol=1e-12)


def test_conv_transpose2d_with_dilation_matches_pytorch():
    """Stride 2, dilation 2 (and per-dim stride and dilation, with output_padding): values
    and the gradients of a non-linear loss w.r.t. input, weight and bias, as PyTorch's."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    for x_shape, w_shape, kwargs in [
            ((2, 3, 4, 3), (3, 2, 3, 3), dict(stride=2, padding=1, dilation=2)),
            ((1, 2, 3, 4), (2, 3, 2, 3), dict(stride=(2, 3), padding=(1, 2), dilation=(3, 2),
                                              output_padding=(1, 2)))]:
        x, w, b = (rng.standard_normal(s) for s in (x_shape, w_shape, (w_shape[1],)))
        ours = [mg.tensor(a, dtype=mg.float64, requires_grad=True) for a in (x, w, b)]
        theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
        y_ours = F.conv_transpose2d(*ours, **kwargs)
        y_theirs = torch.nn.functional.conv_transpose2d(*theirs, **kwargs)
        assert y_ours.shape == tuple(y_theirs.shape)
        np.testing.assert_allclose(y_ours.numpy(), y_theirs.detach().numpy(), rtol=1e-12,
                                   atol=1e-12)
        (y_ours ** 2).sum().backward()
        (y_theirs ** 2).sum().backward()
        for a, t in zip(ours, theirs):
            np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-10)


GROUPED_CASES = [  # x shape, weight shape, bias, stride, padding, groups
    ((1, 4, 5, 5), (6, 2, 3, 3), True, 2, 1, 2),           # batch 1, stride 2, padding 1
    ((2, 3, 4, 5), (3, 1, 2, 2), False, 1, 0, 3),          # depthwise: groups = channels
    ((4, 5, 5), (4, 2, 3, 3), True, 1, 1, 2),              # one image (C, H, W)
]


@pytest.mark.parametrize("x_shape,w_shape,bias,stride,padding,groups", GROUPED_CASES)
def test_grouped_conv2d_gradcheck_and_gradgradcheck(device, x_shape, w_shape, bias, stride,
                                                    padding, groups):
    x, w = make(x_shape, device, seed=7), make(w_shape, device, seed=8)
    inputs = [x, w] + ([make((w_shape[0],), device, seed=9)] if bias else [])

    def fn(x, w, b=None):
        return F.conv2d(x, w, b, stride=stride, padding=padding, groups=groups)

    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


GROUPED_TRANSPOSED_CASES = [  # input shape, weight (in, out/groups, kh, kw), ..., groups
    ((1, 4, 3, 3), (4, 1, 4, 4), True, 2, 1, 0, 2),        # DCGAN-like upsampling, batch 1
    ((2, 3, 2, 3), (3, 2, 3, 3), False, 2, 1, 1, 3),       # output_padding 1, depthwise in
]


@pytest.mark.parametrize("x_shape,w_shape,bias,stride,padding,output_padding,groups",
                         GROUPED_TRANSPOSED_CASES)
def test_grouped_conv_transpose2d_gradcheck_and_gradgradcheck(
        device, x_shape, w_shape, bias, stride, padding, output_padding, groups):
    x, w = make(x_shape, device, seed=10), make(w_shape, device, seed=11)
    inputs = [x, w] + ([make((w_shape[1] * groups,), device, seed=12)] if bias else [])

    def fn(x, w, b=None):
        return F.conv_transpose2d(x, w, b, stride=stride, padding=padding,
                                  output_padding=output_padding, groups=groups)

    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


def _block_diagonal(weight: np.ndarray, groups: int) -> np.ndarray:
    """(A, B, KH, KW) grouped along dim 0 -> (A, B * groups, KH, KW), block g of the rows
    in columns g*B:(g+1)*B and zeros elsewhere: the ordinary convolution's weight that a
    grouped one is (each output channel sees only its own group's input channels)."""
    rows, cols = weight.shape[0] // groups, weight.shape[1]
    full = np.zeros((weight.shape[0], cols * groups) + weight.shape[2:])
    for g in range(groups):
        full[g * rows:(g + 1) * rows, g * cols:(g + 1) * cols] = weight[g * rows:(g + 1) * rows]
    return full


def test_grouped_convolutions_are_block_diagonal_ordinary_ones(device):
    """The definition, independent of the split-and-cat that computes it: a grouped
    conv2d (and conv_transpose2d) is the ordinary one with a block-diagonal weight."""
    rng = np.random.default_rng(3)
    x, b = rng.standard_normal((2, 6, 7, 7)), rng.standard_normal(9)
    w = rng.standard_normal((9, 2, 3, 3))                       # groups 3: 6 in, 9 out
    as_t = lambda a: mg.tensor(a, device=device, dtype=mg.float64)   # noqa: E731
    ours = F.conv2d(as_t(x), as_t(w), as_t(b), stride=2, padding=1, groups=3)
    plain = F.conv2d(as_t(x), as_t(_block_diagonal(w, 3)), as_t(b), stride=2, padding=1)
    np.testing.assert_allclose(ours.numpy(), plain.numpy(), rtol=1e-12, atol=1e-12)
    wt = rng.standard_normal((6, 3, 4, 4))                      # transposed: 6 in, 9 out
    full_t = _block_diagonal(wt, 3)                             # (6, 9, 4, 4)
    ours = F.conv_transpose2d(as_t(x), as_t(wt), as_t(b), stride=2, padding=1, groups=3)
    plain = F.conv_transpose2d(as_t(x), as_t(full_t), as_t(b), stride=2, padding=1)
    np.testing.assert_allclose(ours.numpy(), plain.numpy(), rtol=1e-12, atol=1e-12)
    assert ours.shape == (2, 9, 14, 14)


def test_grouped_conv_layers_match_pytorch():
    """nn.Conv2d / ConvTranspose2d with groups: PyTorch's weight shapes, initial bounds
    (fan_in of one group), outputs and gradients."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).standard_normal((2, 4, 6, 6))
    for ours, theirs in (
            (mg.nn.Conv2d(4, 6, 3, padding=1, groups=2, dtype=mg.float64),
             torch.nn.Conv2d(4, 6, 3, padding=1, groups=2, dtype=torch.float64)),
            (mg.nn.ConvTranspose2d(4, 6, 4, stride=2, padding=1, groups=2, dtype=mg.float64),
             torch.nn.ConvTranspose2d(4, 6, 4, stride=2, padding=1, groups=2,
                                      dtype=torch.float64))):
        assert ours.weight.shape == tuple(theirs.weight.shape)
        bound = 1 / np.sqrt(ours.weight.shape[1] * 9 if ours.weight.shape[2] == 3
                            else ours.weight.shape[1] * 16)
        assert np.abs(ours.bias.numpy()).max() <= bound
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(ours.weight.numpy()))
            theirs.bias.copy_(torch.from_numpy(ours.bias.numpy()))
        x_ours = mg.tensor(x, dtype=mg.float64, requires_grad=True)
        x_theirs = torch.tensor(x, requires_grad=True)
        y_ours, y_theirs = ours(x_ours), theirs(x_theirs)
        np.testing.assert_allclose(y_ours.numpy(), y_theirs.detach().numpy(), atol=1e-12)
        (y_ours * y_ours).sum().backward()
        (y_theirs * y_theirs).sum().backward()
        np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(),
                                   atol=1e-10)
        assert "groups=2" in repr(ours)


@pytest.mark.parametrize("make_bad, error, words", [
    (lambda: mg.nn.Conv2d(4, 6, 3, groups=4), ValueError,
     "Conv2d: out_channels must be divisible by groups, got out_channels=6, groups=4"),
    (lambda: mg.nn.ConvTranspose2d(3, 6, 3, groups=2), ValueError,
     "ConvTranspose2d: in_channels must be divisible by groups"),
    (lambda: mg.nn.Conv2d(4, 4, 3, groups=0), ValueError, "groups must be a positive"),
    (lambda: mg.nn.Conv2d(4, 4, 3, groups=2.0), TypeError, "groups must be an int"),
    (lambda: F.conv2d(mg.zeros(1, 4, 5, 5), mg.zeros(6, 1, 3, 3), groups=2), ValueError,
     "conv2d: input (1, 4, 5, 5) has 4 channels but weight (6, 1, 3, 3) expects 2 "
     "(1 per group, groups=2)"),
    (lambda: F.conv2d(mg.zeros(1, 4, 5, 5), mg.zeros(5, 2, 3, 3), groups=2), ValueError,
     "weight (5, 2, 3, 3) has 5 output channels (dim 0), which groups=2 does not divide"),
    (lambda: F.conv_transpose2d(mg.zeros(1, 3, 5, 5), mg.zeros(3, 2, 3, 3), groups=2),
     ValueError, "has 3 input channels (dim 0), which groups=2 does not divide"),
    (lambda: F.conv2d(mg.zeros(1, 4, 5, 5), mg.zeros(4, 2, 3, 3), groups=-2), ValueError,
     "conv2d: groups must be >= 1, got -2"),
])
def test_grouped_conv_bad_input(make_bad, error, words):
    with pytest.raises(error, match=re.escape(words)):
        make_bad()


CONV1D_CASES = [  # x shape, weight shape, bias, stride, padding, dilation, groups
    ((1, 2, 7), (3, 2, 3), True, 2, 1, 1, 1),               # batch 1, stride 2, padding 1
    ((2, 4, 6), (2, 2, 2), False, 1, "same", 3, 2),        # 'same', dilation, groups
    ((2, 5), (3, 2, 3), True, 1, 0, 1, 1),                 # one signal (C, L), no batch dim
]


@pytest.mark.parametrize("x_shape,w_shape,bias,stride,padding,dilation,groups", CONV1D_CASES)
def test_conv1d_gradcheck_and_gradgradcheck(device, x_shape, w_shape, bias, stride, padding,
                                            dilation, groups):
    x, w = make(x_shape, device, seed=13), make(w_shape, device, seed=14)
    inputs = [x, w] + ([make((w_shape[0],), device, seed=15)] if bias else [])

    def fn(x, w, b=None):
        return F.conv1d(x, w, b, stride=stride, padding=padding, dilation=dilation,
                        groups=groups)

    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


@pytest.mark.parametrize("x_shape,w_shape,bias,stride,padding,output_padding,groups", [
    ((1, 3, 4), (3, 2, 4), True, 2, 1, 0, 1),              # WaveGAN-like upsampling, batch 1
    ((2, 4, 3), (4, 1, 3), False, 3, 1, 2, 2),             # output_padding, groups
])
def test_conv_transpose1d_gradcheck_and_gradgradcheck(device, x_shape, w_shape, bias, stride,
                                                      padding, output_padding, groups):
    x, w = make(x_shape, device, seed=16), make(w_shape, device, seed=17)
    inputs = [x, w] + ([make((w_shape[1] * groups,), device, seed=18)] if bias else [])

    def fn(x, w, b=None):
        return F.conv_transpose1d(x, w, b, stride=stride, padding=padding,
                                  output_padding=output_padding, groups=groups)

    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


def test_conv1d_is_the_sum_over_taps():
    """conv1d against its definition, y[n,o,l] = b[o] + sum_{c,k} x_pad[n,c,l*s + k*d] W[o,c,k],
    written as loops (independent of the height-1 conv2d that computes it)."""
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((2, 3, 9)), rng.standard_normal((4, 3, 3)), rng.standard_normal(4)
    stride, padding, dilation = 2, 2, 2
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    out_len = (9 + 2 * padding - dilation * 2 - 1) // stride + 1
    expected = np.empty((2, 4, out_len))
    for n in range(2):
        for o in range(4):
            for i in range(out_len):
                taps = x_pad[n, :, i * stride:i * stride + 2 * dilation + 1:dilation]
                expected[n, o, i] = b[o] + (taps * w[o]).sum()
    ours = F.conv1d(*(mg.tensor(a, dtype=mg.float64) for a in (x, w, b)), stride=stride,
                    padding=padding, dilation=dilation)
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layer, kwargs", [
    ("Conv1d", dict(kernel_size=3, stride=2, padding=1)),
    ("Conv1d", dict(kernel_size=3, padding="same", dilation=2, groups=2)),
    ("Conv1d", dict(kernel_size=3, padding=2, padding_mode="reflect")),
    ("ConvTranspose1d", dict(kernel_size=4, stride=2, padding=1, groups=2)),
])
def test_conv1d_layers_match_pytorch(layer, kwargs):
    torch = pytest.importorskip("torch")
    ours = getattr(mg.nn, layer)(4, 6, dtype=mg.float64, **kwargs)
    theirs = getattr(torch.nn, layer)(4, 6, dtype=torch.float64, **kwargs)
    assert ours.weight.shape == tuple(theirs.weight.shape) and repr(ours) == repr(theirs)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.numpy()))
        theirs.bias.copy_(torch.from_numpy(ours.bias.numpy()))
    x = np.random.default_rng(6).standard_normal((2, 4, 10))
    x_ours = mg.tensor(x, dtype=mg.float64, requires_grad=True)
    x_theirs = torch.tensor(x, requires_grad=True)
    y_ours, y_theirs = ours(x_ours), theirs(x_theirs)
    np.testing.assert_allclose(y_ours.numpy(), y_theirs.detach().numpy(), atol=1e-12)
    (y_ours ** 2).sum().backward()
    (y_theirs ** 2).sum().backward()
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(),
                               atol=1e-10)


@pytest.mark.parametrize("make_bad, error, words", [
    (lambda: F.conv1d(mg.zeros(2, 3, 5), mg.zeros(4, 2, 3)), ValueError,
     "conv1d (a conv2d of height 1): conv2d: input (2, 3, 1, 5) has 3 channels but weight "
     "(4, 2, 1, 3) expects 2"),
    (lambda: F.conv1d(mg.zeros(2, 3, 5, 5), mg.zeros(4, 3, 3)), ValueError,
     "conv1d: input must be 3-D (N, C, L) or 2-D (C, L), got shape (2, 3, 5, 5)"),
    (lambda: F.conv1d(mg.zeros(2, 3, 5), mg.zeros(4, 3, 3, 3)), ValueError,
     "conv1d: weight must be 3-D, got shape (4, 3, 3, 3)"),
    (lambda: F.conv1d(mg.zeros(2, 3, 5), mg.zeros(4, 3, 3), stride=(1, 2)), ValueError,
     "conv1d: stride must be an int or a 1-tuple, got (1, 2)"),
    (lambda: F.conv_transpose1d(mg.zeros(2, 3, 5), mg.zeros(3, 2, 3), stride=2,
                                output_padding=2), ValueError,
     "conv_transpose1d (a conv_transpose2d of height 1): conv_transpose2d: output_padding"),
    (lambda: mg.nn.Conv1d(4, 6, (3, 3)), ValueError,
     "Conv1d: kernel_size must be an int or a 1-tuple, got (3, 3)"),
    (lambda: mg.nn.ConvTranspose1d(4, 6, 3, padding="same"), ValueError,
     "ConvTranspose1d: padding='same': use an int"),
])
def test_conv1d_bad_input(make_bad, error, words):
    with pytest.raises(error, match=re.escape(words)):
        make_bad()


def test_conv_transpose2d_matches_pytorch_shape_and_definition():
    """Output size by PyTorch's formula; values = the scatter definition (reference.conv2d_dx)."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 8, 7, 7)), rng.standard_normal((8, 4, 4, 4))
    y = F.conv_transpose2d(mg.tensor(x, dtype=mg.float64), mg.tensor(w, dtype=mg.float64),
                           stride=2, padding=1)
    assert y.shape == (2, 4, 14, 14)                         # (7-1)*2 - 2 + 3 + 1
    np.testing.assert_allclose(y.numpy(), ref.conv2d_dx(x, w, (14, 14), (2, 2), (1, 1)),
                               rtol=1e-10, atol=1e-12)
    y = F.conv_transpose2d(mg.tensor(x[:, :, :3, :3]), mg.tensor(w.astype(np.float32)),
                           stride=2, padding=1, output_padding=1)
    assert y.shape == (2, 4, 7, 7) and y.dtype == np.float32        # (3-1)*2 - 2 + 3 + 1 + 1


def test_conv2d_bias_and_padding_forms():
    rng = np.random.default_rng(1)
    x, w, b = (mg.tensor(rng.standard_normal(s)) for s in ((1, 2, 5, 5), (3, 2, 3, 3), (3,)))
    expected = ref.conv2d(x.numpy(), w.numpy(), (1, 1), (1, 1)) + b.numpy()[:, None, None]
    np.testing.assert_allclose(F.conv2d(x, w, b, padding="same").numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(F.conv2d(x, w, b, padding=(1, 1)).numpy(), expected, atol=1e-5)
    assert F.conv2d(x, w, padding="valid").shape == (1, 3, 3, 3)


# ------------------------------------------------------------- the triple, edge by edge

def _primitive(name):
    """Each primitive as a function of its two tensor arguments (stride 2, padding 1)."""
    geometry = ((2, 2), (1, 1), (1, 1))
    return {
        "Conv2d": lambda x, w: conv_ops.Conv2d(*geometry)(x, w),
        "Conv2dDx": lambda gy, w: conv_ops.Conv2dDx((5, 4), *geometry)(gy, w),
        "Conv2dDW": lambda x, gy: conv_ops.Conv2dDW((3, 2), *geometry)(x, gy),
    }[name]


TRIPLE_SHAPES = {                      # x (1, 2, 5, 4), W (3, 2, 3, 2), gy (1, 3, 3, 3)
    "Conv2d": ((1, 2, 5, 4), (3, 2, 3, 2)),
    "Conv2dDx": ((1, 3, 3, 3), (3, 2, 3, 2)),
    "Conv2dDW": ((1, 2, 5, 4), (1, 3, 3, 3)),
}


@pytest.mark.parametrize("name", ["Conv2d", "Conv2dDx", "Conv2dDW"])
def test_all_six_edges_of_the_triple_to_second_order(device, name):
    """Each primitive w.r.t. each of its two inputs (six edges), first and second order;
    each backward is built from the other two primitives."""
    a_shape, b_shape = TRIPLE_SHAPES[name]
    a, b = make(a_shape, device, seed=7), make(b_shape, device, seed=8)
    fn = _primitive(name)
    assert mg.gradcheck(fn, [a, b])
    assert mg.gradgradcheck(fn, [a, b])


def test_the_triple_shares_one_inner_product():
    rng = np.random.default_rng(2)
    x, w, gy = (rng.standard_normal(s) for s in ((2, 2, 5, 4), (3, 2, 3, 2), (2, 3, 3, 3)))
    geometry = ((2, 2), (1, 1), (1, 1))
    lhs = np.sum(kernels.conv2d(x, w, *geometry) * gy)
    assert np.isclose(lhs, np.sum(x * kernels.conv2d_dx(gy, w, (5, 4), *geometry)))
    assert np.isclose(lhs, np.sum(w * kernels.conv2d_dw(x, gy, (3, 2), *geometry)))


def test_needs_input_grad_skips_unneeded_gradients(monkeypatch):
    """Real data does not require grad: its input gradient (a whole transposed conv) is
    never computed."""
    calls = []
    original = kernels.conv2d_dx
    monkeypatch.setattr(kernels, "conv2d_dx", lambda *a, **k: calls.append(1) or original(*a, **k))
    x = mg.randn(2, 1, 6, 6)                                  # data: no grad
    w = mg.randn(2, 1, 3, 3, requires_grad=True)
    F.conv2d(x, w, stride=2, padding=1).sum().backward()
    assert w.grad is not None and calls == []
    x.requires_grad = True
    F.conv2d(x, w, stride=2, padding=1).sum().backward()
    assert len(calls) == 1 and x.grad.shape == x.shape


# ------------------------------------------------------------------- WGAN-GP through convs

def _critic(x, w1, b1, w2, b2):
    """conv(1->2, k3 s2 p1) + leaky ReLU(0.2) + conv(2->1, k3) -> one score per sample."""
    h = F.leaky_relu(F.conv2d(x, w1, b1, stride=2, padding=1), 0.2)     # (N, 2, 3, 3)
    return F.conv2d(h, w2, b2).reshape(x.shape[0])                      # (N,)


def _gradient_penalty(x, w1, b1, w2, b2):
    """WGAN-GP: mean_i (||d C(x_i) / d x_i|| - 1)^2, differentiable w.r.t. the critic."""
    (g,) = mg.grad(_critic(x, w1, b1, w2, b2).sum(), x, create_graph=True)
    norms = ((g * g).sum(dim=(1, 2, 3)) + 1e-12).sqrt()
    return ((norms - 1.0) ** 2).mean()


def test_wgan_gp_penalty_through_a_conv_critic_passes_gradcheck(device):
    x = make((2, 1, 6, 6), device, seed=9)
    params = [make((2, 1, 3, 3), device, seed=10), make((2,), device, seed=11),
              make((1, 2, 3, 3), device, seed=12), make((1,), device, seed=13)]
    penalty = _gradient_penalty(x, *params)
    penalty.backward()
    w1, b1, w2, b2 = params
    assert w1.grad is not None and w2.grad is not None
    for b in (b1, b2):    # biases move no input gradient (b1 only flips the leaky mask)
        assert b.grad is None or float(np.abs(b.grad.numpy()).max()) == 0.0
    assert mg.gradcheck(lambda *p: _gradient_penalty(x, *p), params)


# ----------------------------------------------------------------------- input checks

def test_bad_convolution_inputs():
    x, w = mg.zeros(2, 3, 5, 5), mg.zeros(4, 3, 3, 3)
    with pytest.raises(ValueError, match=r"conv2d: input must be 4-D .* got shape \(5, 5\)"):
        F.conv2d(x[0, 0], w)
    with pytest.raises(ValueError, match=r"conv2d: input \(2, 3, 5, 5\) has 3 channels but "
                                         r"weight \(4, 2, 3, 3\) expects 2"):
        F.conv2d(x, mg.zeros(4, 2, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: kernel \(7, 7\).*larger than the padded "
                                         r"input \(5, 5\)"):
        F.conv2d(x, mg.zeros(4, 3, 7, 7))
    with pytest.raises(ValueError, match=r"conv2d: bias must have shape \(4,\), got \(3,\)"):
        F.conv2d(x, w, mg.zeros(3))
    with pytest.raises(ValueError, match=r"weight \(4, 3, 3, 3\) has 4 output channels"):
        F.conv2d(x, w, groups=3)
    with pytest.raises(ValueError, match=r"conv_transpose2d: input \(2, 3, 5, 5\) has 3 "
                                         r"channels but weight \(4, 3, 3, 3\)"):
        F.conv_transpose2d(x, w)
    with pytest.raises(ValueError, match=r"output_padding \(2, 2\) must be >= 0 and smaller "
                                         r"than stride \(2, 2\)"):
        F.conv_transpose2d(x, mg.zeros(3, 4, 3, 3), stride=2, output_padding=2)


def test_one_image_without_a_batch_dim_is_a_batch_of_one(device):
    """PyTorch reads 3-D input (C, H, W) as one image; the result has no batch dim."""
    x, w = make((2, 6, 6), device, seed=7), make((3, 2, 3, 3), device, seed=8)
    y = F.conv2d(x, w, padding=1)
    assert y.shape == (3, 6, 6)
    np.testing.assert_array_equal(y.numpy(), F.conv2d(x.unsqueeze(0), w, padding=1).numpy()[0])
    up = F.conv_transpose2d(x, make((2, 4, 4, 4), device, seed=9), stride=2, padding=1)
    assert up.shape == (4, 12, 12)
    with pytest.raises(ValueError, match=r"conv2d: input must be 4-D \(N, C, H, W\) or 3-D"):
        F.conv2d(make((6, 6), device, seed=7), w)


def test_convolution_arguments_are_checked_under_the_ops_name():
    """From a review: each line was wrong before its fix (a float stride truncated, a
    conv_transpose2d error that named conv2d_dx or output_padding, an empty weight)."""
    x, w, wt = mg.zeros(1, 2, 5, 5), mg.zeros(3, 2, 3, 3), mg.zeros(2, 3, 3, 3)
    for name, value in [("stride", 1.5), ("padding", 0.5), ("dilation", (1, 1.5)),
                        ("stride", True)]:
        message = rf"conv2d: {name} must be an int or a pair of ints, got {value!r}"
        with pytest.raises(TypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
            F.conv2d(x, w, **{name: value})
    with pytest.raises(TypeError, match="conv_transpose2d: stride must be an int or a pair"):
        F.conv_transpose2d(x, wt, stride=1.5)
    assert F.conv2d(x, w, stride=np.int64(2)).shape == (1, 3, 2, 2)     # numpy ints: fine
    for kwargs, message in [(dict(stride=0), r"stride must be >= 1, got \(0, 0\)"),
                            (dict(padding=-1), r"padding must be >= 0, got \(-1, -1\)"),
                            (dict(dilation=0), r"dilation must be >= 1, got \(0, 0\)")]:
        with pytest.raises(ValueError, match="conv_transpose2d: " + message):
            F.conv_transpose2d(x, wt, **kwargs)
        with pytest.raises(ValueError, match="conv2d: " + message):
            F.conv2d(x, w, **kwargs)
    with pytest.raises(TypeError, match="conv_transpose2d: input must be float32 or float64, "
                                        "got int64"):
        F.conv_transpose2d(mg.tensor(np.ones((1, 2, 5, 5), dtype=np.int64)), wt)
    with pytest.raises(TypeError, match=r"conv_transpose2d: input \(float32\) and weight "
                                        r"\(float64\) must have the same dtype"):
        F.conv_transpose2d(x, wt.double())
    with pytest.raises(TypeError, match=r"conv_transpose2d: bias \(float64, on cpu\) must "
                                        r"have the input's dtype and device \(float32"):
        F.conv_transpose2d(x, wt, mg.zeros(3, dtype=mg.float64))
    with pytest.raises(ValueError, match=r"conv2d: weight \(0, 2, 3, 3\) has no output "
                                         r"channels"):
        F.conv2d(x, mg.zeros(0, 2, 3, 3))
    with pytest.raises(ValueError, match=r"conv_transpose2d: weight \(2, 0, 3, 3\) has no "
                                         r"output channels"):
        F.conv_transpose2d(x, mg.zeros(2, 0, 3, 3))
    with pytest.raises(ValueError, match=r"conv_transpose2d: weight \(2, 3, 0, 3\) has an "
                                         r"empty kernel"):
        F.conv_transpose2d(x, mg.zeros(2, 3, 0, 3))


# ------------------------------------------------------------- nn.Conv2d's padding_mode

PADDING_MODES = ["reflect", "replicate", "circular"]


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("x_shape,kwargs", [
    ((1, 2, 5, 5), dict(padding=1)),
    ((2, 2, 6, 5), dict(padding=(2, 1), stride=2, dilation=(1, 2))),
    ((2, 5, 5), dict(padding="same")),                    # one image (C, H, W)
])
def test_conv2d_padding_modes_gradcheck_and_gradgradcheck(device, mode, x_shape, kwargs):
    """F.pad in the mode, then the convolution with no padding: gradients of x, weight and
    bias to second order."""
    conv = mg.nn.Conv2d(2, 3, 3, padding_mode=mode, dtype=mg.float64, **kwargs).to(device)
    x = make(x_shape, device, seed=21)
    inputs = [x, conv.weight, conv.bias]      # gradcheck perturbs them in place
    assert mg.gradcheck(lambda x, w, b: conv(x), inputs)
    assert mg.gradgradcheck(lambda x, w, b: conv(x), inputs)


@pytest.mark.parametrize("mode", PADDING_MODES)
def test_conv2d_padding_modes_match_pytorch(mode):
    torch = pytest.importorskip("torch")
    for kwargs in [dict(padding=1), dict(padding=(2, 1), stride=2),
                   dict(padding="same", dilation=2, bias=False)]:
        ours = mg.nn.Conv2d(2, 3, 3, padding_mode=mode, dtype=mg.float64, **kwargs)
        theirs = torch.nn.Conv2d(2, 3, 3, padding_mode=mode, dtype=torch.float64, **kwargs)
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(ours.weight.numpy()))
            if ours.bias is not None:
                theirs.bias.copy_(torch.from_numpy(ours.bias.numpy()))
        x = np.random.default_rng(22).standard_normal((2, 2, 6, 7))
        x_ours = mg.tensor(x, dtype=mg.float64, requires_grad=True)
        x_theirs = torch.tensor(x, requires_grad=True)
        y_ours, y_theirs = ours(x_ours), theirs(x_theirs)
        np.testing.assert_allclose(y_ours.numpy(), y_theirs.detach().numpy(), atol=1e-12)
        (y_ours * y_ours).sum().backward()
        (y_theirs * y_theirs).sum().backward()
        np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(),
                                   atol=1e-10)
        assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("kernel, dilation", [((2, 3), 1), ((4, 4), (1, 3))])
def test_same_padding_with_an_odd_total_gradcheck_and_gradgradcheck(device, kernel, dilation):
    """padding='same' whose total dilation*(k-1) is odd: one more row / column at the
    bottom / right, as PyTorch (the input is padded unevenly first)."""
    x, w = make((1, 2, 5, 4), device, seed=23), make((3, 2) + kernel, device, seed=24)

    def fn(x, w):
        return F.conv2d(x, w, padding="same", dilation=dilation)

    assert fn(x, w).shape == (1, 3, 5, 4)
    assert mg.gradcheck(fn, [x, w])
    assert mg.gradgradcheck(fn, [x, w])


@pytest.mark.parametrize("mode", ["zeros"] + PADDING_MODES)
def test_same_padding_with_an_odd_total_matches_pytorch(mode):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(25).standard_normal((2, 2, 6, 7))
    for layer, kernel, dilation, data in (("Conv2d", (2, 4), (3, 1), x),
                                          ("Conv1d", 4, 1, x[:, :, 0])):
        ours = getattr(mg.nn, layer)(2, 3, kernel, padding="same", dilation=dilation,
                                     padding_mode=mode, dtype=mg.float64)
        theirs = getattr(torch.nn, layer)(2, 3, kernel, padding="same", dilation=dilation,
                                          padding_mode=mode, dtype=torch.float64)
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(ours.weight.numpy()))
            theirs.bias.copy_(torch.from_numpy(ours.bias.numpy()))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")              # PyTorch: "may require a copy"
            expected = theirs(torch.tensor(data)).detach().numpy()
        np.testing.assert_allclose(ours(mg.tensor(data, dtype=mg.float64)).numpy(), expected,
                                   atol=1e-12)


def test_conv_layer_arguments_are_checked():
    with pytest.raises(ValueError, match=r"ConvTranspose2d: only padding_mode='zeros' is "
                                         r"supported, as in PyTorch, got 'reflect'"):
        mg.nn.ConvTranspose2d(2, 3, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match=r"Conv2d: padding_mode must be one of "
                                         r"\('zeros', 'reflect', 'replicate', 'circular'\), "
                                         r"got 'mirror'"):
        mg.nn.Conv2d(2, 3, 3, padding_mode="mirror")
    with pytest.raises(TypeError, match="Conv2d: stride must be an int or a pair of ints, "
                                        "got 1.5"):
        mg.nn.Conv2d(2, 3, 3, stride=1.5)                 # was stored as (1, 1)
    with pytest.raises(TypeError, match="ConvTranspose2d: kernel_size must be an int"):
        mg.nn.ConvTranspose2d(2, 3, 2.5)
    reflect = mg.nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect")
    with pytest.raises(ValueError, match=r"Conv2d: input must be 4-D .* got shape \(5, 5\)"):
        reflect(mg.zeros(5, 5))                           # x's shape, not the padded one
