"""minigrad/ops/pool.py: avg_pool2d, max_pool2d, adaptive_avg_pool2d and interpolate to
second order (gradcheck and gradgradcheck, float64), their PyTorch conventions, the input
checks."""
import numpy as np
import pytest
from conftest import make

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from kernels import reference as ref
from minigrad.ops.pool import MaxPoolGather, MaxPoolScatter

CASES = {
    "avg k3 s2 p1": lambda x: F.avg_pool2d(x, 3, 2, 1),
    "avg k2x3 s1 real-pixel mean": lambda x: F.avg_pool2d(x, (2, 3), 1, (1, 1),
                                                        count_include_pad=False),
    "max k3 s2 p1": lambda x: F.max_pool2d(x, 3, 2, 1),
    "max k2 (overlap-free)": lambda x: F.max_pool2d(x, 2),
    "max k3 s1 (overlapping)": lambda x: F.max_pool2d(x, 3, 1),
    "avg k2 s2 ceil_mode": lambda x: F.avg_pool2d(x, 2, 2, ceil_mode=True),      # 5x4 -> 3x2
    "avg k3 s2 p1 ceil real-pixel mean": lambda x: F.avg_pool2d(
        x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    "avg divisor_override": lambda x: F.avg_pool2d(x, 2, 1, divisor_override=3),
    "max k2 s2 ceil_mode": lambda x: F.max_pool2d(x, 2, 2, ceil_mode=True),
    "max k3 s2 p1 ceil_mode": lambda x: F.max_pool2d(x, (3, 2), 2, 1, ceil_mode=True),
    "adaptive 3x2": lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
    "adaptive 1": lambda x: F.adaptive_avg_pool2d(x, 1),
    "nearest size 9x11": lambda x: F.interpolate(x, size=(9, 11)),
    "nearest x2": lambda x: F.interpolate(x, scale_factor=2),
    "nearest down 3x2": lambda x: F.interpolate(x, size=(3, 2)),
    "bilinear size 9x11": lambda x: F.interpolate(x, size=(9, 11), mode="bilinear"),
    "bilinear x1.5 corners": lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear",
                                                     align_corners=True),
    "bilinear down 3x2": lambda x: F.interpolate(x, size=(3, 2), mode="bilinear"),
    "nearest-exact size 9x7": lambda x: F.interpolate(x, size=(9, 7), mode="nearest-exact"),
    "nearest-exact x1.7": lambda x: F.interpolate(x, scale_factor=1.7, mode="nearest-exact"),
    "area down 3x3": lambda x: F.interpolate(x, size=(3, 3), mode="area"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_gradcheck_and_gradgradcheck(device, name):
    x = make((1, 2, 5, 4), device, seed=1)          # distinct values: no ties in max pool
    fn = CASES[name]
    assert mg.gradcheck(fn, [x])
    assert mg.gradgradcheck(fn, [x])


BATCH_2 = ["avg k3 s2 p1", "avg k2x3 s1 real-pixel mean", "adaptive 3x2", "nearest x2",
           "bilinear size 9x11", "bilinear x1.5 corners"]


@pytest.mark.parametrize("name", BATCH_2)
def test_gradcheck_and_gradgradcheck_batch_2(device, name):
    """A few of CASES on two images (the rows above are batch 1): each image's windows
    read and write its own plane only."""
    x = make((2, 2, 5, 4), device, seed=11)
    fn = CASES[name]
    assert mg.gradcheck(fn, [x])
    assert mg.gradgradcheck(fn, [x])


MAX_POOL_WINNERS = {"k3 s2 p1": (3, 2, 1), "k3 s1 (a pixel wins several windows)": (3, 1),
                    "k2": (2,)}


@pytest.mark.parametrize("name", list(MAX_POOL_WINNERS))
def test_max_pool_scatter_and_gather_gradcheck_and_gradgradcheck(device, name):
    """max_pool2d's backward pair as functions of their own input, the winners (argmax)
    held fixed: MaxPoolScatter(gy) adds each output's gradient at its winner,
    MaxPoolGather(g) reads g at the winners. Each is the other's backward, so here every
    backward of the pair runs in a checked pass (max_pool2d's own rows never run
    MaxPoolGather's), and the two are adjoint: <scatter(gy), g> = <gy, gather(g)>."""
    x = make((2, 2, 5, 4), device, requires_grad=False, seed=12)
    _, winners = F.max_pool2d(x, *MAX_POOL_WINNERS[name], return_indices=True)
    argmax = winners.data
    gy = make(tuple(winners.shape), device, seed=13)
    g = make(tuple(x.shape), device, seed=14)

    def scatter(gy):
        return MaxPoolScatter(argmax, x.shape)(gy)

    def gather(g):
        return MaxPoolGather(argmax)(g)

    for fn, value in ((scatter, gy), (gather, g)):
        assert mg.gradcheck(fn, [value])
        assert mg.gradgradcheck(fn, [value])
    index, gy_, g_ = winners.numpy(), gy.numpy(), g.numpy()
    if name.startswith("k3 s1"):                     # gradients that meet at one pixel add
        assert any(len(np.unique(plane)) < plane.size for plane in index.reshape(4, -1))
    expected = np.zeros((2, 2, 5 * 4))
    for n in range(2):
        for c in range(2):
            np.add.at(expected[n, c], index[n, c].ravel(), gy_[n, c].ravel())
    np.testing.assert_allclose(scatter(gy).numpy(), expected.reshape(x.shape), rtol=1e-15)
    np.testing.assert_array_equal(
        gather(g).numpy(), np.take_along_axis(g_.reshape(2, 2, -1), index.reshape(2, 2, -1),
                                              axis=2).reshape(index.shape))
    assert (scatter(gy) * g).sum().item() == pytest.approx((gy * gather(g)).sum().item(),
                                                           rel=1e-12)


UNBATCHED = {                                       # one image (C, H, W), as PyTorch reads it
    "avg": lambda x: F.avg_pool2d(x, 3, 2, 1),
    "max": lambda x: F.max_pool2d(x, 3, 2, 1),
    "adaptive": lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
}


@pytest.mark.parametrize("name", list(UNBATCHED))
def test_one_image_without_a_batch_dim(device, name):
    x = make((2, 5, 4), device, seed=2)
    fn = UNBATCHED[name]
    y = fn(x)
    assert y.ndim == 3
    np.testing.assert_array_equal(y.numpy(), fn(x.unsqueeze(0)).numpy()[0])
    assert mg.gradcheck(fn, [x])
    assert mg.gradgradcheck(fn, [x])
    values, indices = F.max_pool2d(x, 2, return_indices=True)
    assert values.shape == indices.shape == (2, 2, 2)


def test_max_pool_double_backward_in_a_penalty():
    """A gradient penalty through max pooling: the second derivative flows through the
    scatter/gather pair (argmax is a constant)."""
    w = make((2, 1, 3, 3), seed=2)
    x = make((2, 1, 6, 6), seed=3)

    def penalty(w):
        h = F.max_pool2d(F.conv2d(x, w, padding=1), 2)
        (g,) = mg.grad((h * h).sum(), x, create_graph=True)
        return (g * g).sum()

    assert mg.gradcheck(penalty, [w])


def test_values_match_reference():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 7, 6))
    t = mg.tensor(x, dtype=mg.float64)
    np.testing.assert_allclose(F.avg_pool2d(t, 3, 2, 1).numpy(),
                               ref.avg_pool2d(x, (3, 3), (2, 2), (1, 1)))
    y, idx = F.max_pool2d(t, 2, return_indices=True)
    ry, ridx = ref.max_pool2d(x, (2, 2))
    np.testing.assert_allclose(y.numpy(), ry)
    np.testing.assert_array_equal(idx.numpy(), ridx)
    assert not idx.requires_grad
    np.testing.assert_allclose(F.adaptive_avg_pool2d(t, (None, 4)).numpy(),
                               ref.adaptive_avg_pool2d(x, (7, 4)))
    np.testing.assert_allclose(F.interpolate(t, scale_factor=(1.5, 2), mode="bilinear").numpy(),
                               ref.upsample_bilinear2d(x, (10, 12), False, (1.5, 2.0)))
    np.testing.assert_allclose(F.interpolate(t, size=(5, 5)).numpy(),
                               ref.upsample_nearest2d(x, (5, 5)))


LAYERS = [  # the layer, the functional form it must compute (PyTorch's argument order)
    (nn.MaxPool2d(2), lambda x: F.max_pool2d(x, 2)),
    (nn.MaxPool2d(3, 2, 1, ceil_mode=True), lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True)),
    (nn.AvgPool2d(3, 1, 1), lambda x: F.avg_pool2d(x, 3, 1, 1)),
    (nn.AvgPool2d(3, 1, 1, count_include_pad=False),
     lambda x: F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)),
    (nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
     lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)),
    (nn.AvgPool2d(2, 1, divisor_override=3), lambda x: F.avg_pool2d(x, 2, 1,
                                                                     divisor_override=3)),
    (nn.AdaptiveAvgPool2d((3, None)), lambda x: F.adaptive_avg_pool2d(x, (3, None))),
    (nn.Upsample(scale_factor=2), lambda x: F.interpolate(x, scale_factor=2)),
    (nn.Upsample(size=(5, 7), mode="bilinear"),
     lambda x: F.interpolate(x, size=(5, 7), mode="bilinear")),
    (nn.Upsample(scale_factor=1.5, mode="bilinear", align_corners=True),
     lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear", align_corners=True)),
    (nn.Upsample(size=(5, 3), mode="nearest-exact"),
     lambda x: F.interpolate(x, size=(5, 3), mode="nearest-exact")),
]


@pytest.mark.parametrize("layer, functional", LAYERS, ids=[repr(layer) for layer, _ in LAYERS])
def test_layers_use_the_functional_forms(layer, functional, device):
    """Each layer's output equals its functional form with the same options, to the bit.
    The input is 7 x 8 with padding 1, so every option chosen changes the edge windows (a
    layer that dropped count_include_pad, ceil_mode or divisor_override would differ)."""
    x = make((2, 3, 7, 8), device, requires_grad=False, seed=15)
    y = layer(x)
    expected = functional(x)
    assert y.shape == expected.shape
    np.testing.assert_array_equal(y.numpy(), expected.numpy())


def test_the_layer_options_change_the_output(device):
    """The options the table above passes matter on its input (so that table can fail)."""
    x = make((2, 3, 7, 8), device, requires_grad=False, seed=15)
    for with_option, without in [
            (nn.AvgPool2d(3, 1, 1, count_include_pad=False), nn.AvgPool2d(3, 1, 1)),
            (nn.AvgPool2d(3, 2, 1, ceil_mode=True), nn.AvgPool2d(3, 2, 1)),
            (nn.MaxPool2d(3, 2, 1, ceil_mode=True), nn.MaxPool2d(3, 2, 1)),
            (nn.AvgPool2d(2, 1, divisor_override=3), nn.AvgPool2d(2, 1)),
            (nn.Upsample(scale_factor=1.5, mode="bilinear", align_corners=True),
             nn.Upsample(scale_factor=1.5, mode="bilinear")),
            (nn.Upsample(size=(5, 3), mode="nearest-exact"), nn.Upsample(size=(5, 3)))]:
        a, b = with_option(x), without(x)
        assert a.shape != b.shape or not np.allclose(a.numpy(), b.numpy()), with_option


def test_bad_inputs():
    x = mg.zeros(2, 3, 5, 5)
    with pytest.raises(ValueError, match=r"avg_pool2d: input must be 4-D \(N, C, H, W\) or "
                                         r"3-D \(C, H, W\), got shape \(5, 5\)"):
        F.avg_pool2d(x[0, 0], 2)
    with pytest.raises(ValueError, match=r"max_pool2d: padding \(2, 2\) must be at most half "
                                         r"the kernel size \(3, 3\)"):
        F.max_pool2d(x, 3, 1, 2)
    with pytest.raises(ValueError, match=r"max_pool2d: kernel \(6, 6\).*larger than the padded "
                                         r"input \(5, 5\)"):
        F.max_pool2d(x, 6)
    with pytest.raises(NotImplementedError, match="dilation != 1"):
        F.max_pool2d(x, 2, dilation=2)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x, size=4, scale_factor=2)
    with pytest.raises(ValueError, match="align_corners can only be set with mode='bilinear'"):
        F.interpolate(x, size=4, align_corners=False)
    with pytest.raises(NotImplementedError, match="'bicubic'"):
        F.interpolate(x, size=4, mode="bicubic")
    with pytest.raises(ValueError, match=r"output size \(0, 0\)"):
        F.interpolate(x, scale_factor=0.1)


def test_ceil_mode_and_divisor_override_as_pytorch(device):
    """PyTorch's numbers for a 1 x 1 x 3 x 3 image 1..9, k2 s2 (from torch)."""
    x = mg.arange(1.0, 10.0, device=device).reshape(1, 1, 3, 3)
    np.testing.assert_array_equal(F.avg_pool2d(x, 2, ceil_mode=True).numpy()[0, 0],
                                  [[3.0, 4.5], [7.5, 9.0]])     # the edge windows: 2 and 1
    np.testing.assert_array_equal(
        F.avg_pool2d(x, 2, padding=1, ceil_mode=True).numpy()[0, 0],
        [[0.25, 1.25], [2.75, 7.0]])         # the padding counts, what hangs past it not
    np.testing.assert_array_equal(F.avg_pool2d(x, 2, divisor_override=1).numpy()[0, 0],
                                  [[12.0]])
    values, indices = F.max_pool2d(x, 2, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(values.numpy()[0, 0], [[5.0, 6.0], [8.0, 9.0]])
    np.testing.assert_array_equal(indices.numpy()[0, 0], [[4, 5], [7, 8]])   # h * 3 + w
    assert nn.AvgPool2d(2, ceil_mode=True)(x).shape == (1, 1, 2, 2)
    assert nn.MaxPool2d(2, ceil_mode=True)(x).shape == (1, 1, 2, 2)
    with pytest.raises(ValueError, match="divisor_override must be positive"):
        F.avg_pool2d(x, 2, divisor_override=0)


def test_nearest_exact_and_area_as_pytorch(device):
    """PyTorch's numbers for a row 0..3 resized to 3 and 6 (from torch): nearest-exact
    picks by pixel centres, where nearest's floor(d * in/out) shifts by half a pixel."""
    row = mg.arange(4.0, device=device).reshape(1, 1, 1, 4)
    assert F.interpolate(row, size=(1, 3), mode="nearest-exact").numpy().ravel().tolist() == \
        [0.0, 2.0, 3.0]
    assert F.interpolate(row, size=(1, 3), mode="nearest").numpy().ravel().tolist() == \
        [0.0, 1.0, 2.0]
    assert F.interpolate(row, size=(1, 6), mode="nearest-exact").numpy().ravel().tolist() == \
        [0.0, 1.0, 1.0, 2.0, 3.0, 3.0]
    np.testing.assert_allclose(F.interpolate(row, size=(1, 3), mode="area").numpy().ravel(),
                               [0.5, 1.5, 2.5])


BAD_SIZES = [
    (lambda x: F.max_pool2d(x, 2.5), TypeError, r"max_pool2d: kernel_size must be an int, "
                                                 r"got 2\.5"),
    (lambda x: F.max_pool2d(x, 2, 1.5), TypeError, r"max_pool2d: stride must be an int, "
                                                    r"got 1\.5"),
    (lambda x: F.max_pool2d(x, (2, 2.0)), TypeError, r"max_pool2d: kernel_size .* got 2\.0"),
    (lambda x: F.max_pool2d(x, True), TypeError, r"max_pool2d: kernel_size .* got True"),
    (lambda x: F.avg_pool2d(x, 2.5), TypeError, r"avg_pool2d: kernel_size .* got 2\.5"),
    (lambda x: F.avg_pool2d(x, 2, 2, 0.5), TypeError, r"avg_pool2d: padding .* got 0\.5"),
    (lambda x: F.avg_pool2d(x, 2, divisor_override=1.5), TypeError,
     r"avg_pool2d: divisor_override must be an int, got 1\.5"),
    (lambda x: F.adaptive_avg_pool2d(x, 2.5), TypeError,
     r"adaptive_avg_pool2d: output_size must be an int, got 2\.5"),
    # already clear before (from kernels): the op and every value named
    (lambda x: F.max_pool2d(x, 2, 0), ValueError, r"max_pool2d: kernel size \(2, 2\), stride "
                                                  r"\(0, 0\) .* must be >= 1"),
    (lambda x: F.avg_pool2d(x, 2, 1, -1), ValueError, r"avg_pool2d: .* padding \(-1, -1\) "
                                                      r">= 0"),
    (lambda x: F.avg_pool2d(x, 6), ValueError, r"avg_pool2d: kernel \(6, 6\).*larger than "
                                               r"the padded input \(5, 5\)"),
    # interpolate: NaN used to reach math.floor ("cannot convert float NaN to integer")
    (lambda x: F.interpolate(x, scale_factor=float("nan")), ValueError,
     r"interpolate: scale_factor must be positive and finite, got nan"),
    (lambda x: F.interpolate(x, scale_factor=(2, float("inf"))), ValueError,
     r"interpolate: scale_factor must be positive and finite, got \(2, inf\)"),
    (lambda x: F.interpolate(x, scale_factor=-1.0), ValueError, r"positive and finite"),
    (lambda x: F.interpolate(x, scale_factor="2"), TypeError,
     r"interpolate: scale_factor must be a number or a pair of numbers, got '2'"),
    (lambda x: F.interpolate(x, size=(3, 0)), ValueError,
     r"interpolate: output size \(3, 0\) for input \(1, 2, 5, 5\) must be positive"),
    (lambda x: F.interpolate(x, size=-2), ValueError, r"output size \(-2, -2\)"),
]


@pytest.mark.parametrize("fn, error, match", BAD_SIZES,
                         ids=[f"{error.__name__}-{n}" for n, (_, error, _) in
                              enumerate(BAD_SIZES)])
def test_bad_sizes_name_the_op_and_the_value(fn, error, match, device):
    """As PyTorch: 2.5 (or True) is refused, not cut to 2 (or read as 1)."""
    x = make((1, 2, 5, 5), device, seed=5)
    before = x.numpy().copy()
    with pytest.raises(error, match=match):
        fn(x)
    np.testing.assert_array_equal(x.numpy(), before)
    assert x.grad is None
