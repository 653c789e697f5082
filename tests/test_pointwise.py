"""The fused pointwise kernels (kernels/pointwise.py) against their numpy references, on
both sides of the serial/parallel threshold, in float32 and float64, with inf and nan."""
import numpy as np
import pytest
from conftest import as_device, as_numpy

import minigrad as mg
import minigrad.nn.functional as F
from kernels import pointwise


@pytest.mark.parametrize("size", [7, 100_003])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("slope", [0.0, 0.2])
def test_leaky_relu_matches_reference(size, dtype, slope, device):
    x = np.random.default_rng(0).standard_normal(size).astype(dtype)
    x[:4] = [np.inf, -np.inf, 0.0, np.nan]
    y, positive = pointwise.leaky_relu(as_device(x, device), slope)
    y_ref, positive_ref = pointwise.leaky_relu_reference(x, slope)
    np.testing.assert_array_equal(as_numpy(y), y_ref)
    np.testing.assert_array_equal(as_numpy(positive), positive_ref)
    assert as_numpy(y).dtype == dtype and as_numpy(positive).dtype == np.bool_
    assert as_numpy(y)[1] == (0.0 if slope == 0 else -np.inf)   # relu(-inf) = 0, not nan
    assert as_numpy(y)[2] == 0 and not as_numpy(positive)[2]  # x = 0: not positive
    assert np.isnan(as_numpy(y)[3]) and not as_numpy(positive)[3]   # nan stays nan (PyTorch)


def test_relu_and_leaky_relu_let_nan_through_as_pytorch_does(device):
    """A diverged network's nan must show in its activations, not turn into 0: relu(nan)
    and leaky_relu(nan) are nan, while relu(-inf) is 0. The gradient at nan follows the
    forward's switch, x > 0 or not: the slope (leaky_relu's 0.2, as in PyTorch; relu's 0,
    where PyTorch's threshold rule happens to pass the 1)."""
    x = mg.tensor([np.nan, -np.inf, -1.0, 2.0], dtype=mg.float64, device=device,
                  requires_grad=True)
    for y, slope in ((F.relu(x), 0.0), (F.leaky_relu(x, 0.2), 0.2)):
        (g,) = mg.grad(y.sum(), x)
        assert np.isnan(as_numpy(y.data)[0]) and as_numpy(y.data)[3] == 2.0
        np.testing.assert_array_equal(as_numpy(g.data), [slope, slope, slope, 1.0])
    assert as_numpy(F.relu(x).data)[1] == 0.0


@pytest.mark.parametrize("size", [6, 90_001])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("slope", [0.0, 0.2])
def test_slope_mul_matches_reference_and_blocks_inf_at_slope_0(size, dtype, slope, device):
    """slope_mul(g, positive, slope) = g * (1 where positive, else slope): leaky_relu's
    derivative applied to g; exactly 0 (not nan) for inf/nan g where the slope is 0."""
    rng = np.random.default_rng(2)
    g = rng.standard_normal(size).astype(dtype)
    positive = rng.random(size) > 0.5
    g[:3], positive[:3] = [np.inf, np.nan, -3.0], [False, False, True]
    y = as_numpy(pointwise.slope_mul(as_device(g, device), as_device(positive, device),
                                      slope))
    expected = pointwise.slope_mul_reference(g, positive, slope)
    np.testing.assert_array_equal(y, expected)
    np.testing.assert_array_equal(y[3:], np.where(positive[3:], g[3:], slope * g[3:]))
    assert y.dtype == dtype and y[2] == -3.0
    if slope == 0:
        assert y[0] == 0 and y[1] == 0
    else:
        assert y[0] == np.inf and np.isnan(y[1])


@pytest.mark.parametrize("size", [5, 70_001])
def test_mask_mul_zero_mask_blocks_inf_and_nan(size, device):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(size).astype(np.float32)
    mask = (rng.random(size) > 0.5).astype(np.float32) * 0.5
    x[:2], mask[:2] = [np.inf, np.nan], 0.0
    y = as_numpy(pointwise.mask_mul(as_device(x, device), as_device(mask, device)))
    np.testing.assert_array_equal(y, pointwise.mask_mul_reference(x, mask))
    assert y[0] == 0 and y[1] == 0


def test_mask_mul_broadcast_mask_falls_back():
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    mask = np.array([1.0, 0.0, 2.0])
    np.testing.assert_array_equal(pointwise.mask_mul(x, mask), x * mask)


def _logits(size, dtype, seed=3):
    """Normal logits, with the extremes first: +-inf, +-1e4 (where the naive formulas
    overflow), 0, and nan."""
    x = (np.random.default_rng(seed).standard_normal(size) * 4).astype(dtype)
    x[:6] = [np.inf, -np.inf, 1e4, -1e4, 0.0, np.nan]
    return x


# float32: the fused loops may round once where numpy rounds twice (a few ulp); a sign
# error or a wrong branch is off by far more.
_TOLERANCE = {np.float32: 1e-6, np.float64: 1e-14}


@pytest.mark.parametrize("size", [9, 80_001])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_matches_reference(size, dtype, device):
    x = _logits(size, dtype)
    y = as_numpy(pointwise.sigmoid(as_device(x, device)))
    assert y.dtype == dtype
    np.testing.assert_allclose(y, pointwise.sigmoid_reference(x), rtol=_TOLERANCE[dtype],
                               atol=0)
    np.testing.assert_array_equal(y[:5], [1, 0, 1, 0, 0.5])
    assert np.isnan(y[5])
    expected = 1 / (1 + np.exp(-x[6:].astype(np.float64)))        # the textbook formula
    np.testing.assert_allclose(y[6:], expected, rtol=10 * _TOLERANCE[dtype])


@pytest.mark.parametrize("size", [9, 80_001])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_matches_reference(size, dtype, device):
    x = _logits(size, dtype)
    t = np.random.default_rng(4).random(size).astype(dtype)
    t[:6] = [0.0, 1.0, 0.0, 1.0, 1.0, 0.5]
    loss = as_numpy(pointwise.bce_with_logits(as_device(x, device), as_device(t, device)))
    assert loss.dtype == dtype
    with np.errstate(invalid="ignore"):                  # inf * 0 in the reference
        expected = pointwise.bce_with_logits_reference(x, t)
    # max(x, 0) - x t cancels where the loss is small: each version may round its terms
    # differently (the GPU fuses x t into the subtraction), by a few ulp of |x| + 1. A
    # wrong sign or branch is off by about |x t| or log 2.
    bound = 8 * np.finfo(dtype).eps * (np.abs(x[6:].astype(np.float64)) + 1)
    assert np.all(np.abs(loss[6:] - expected[6:]) <= bound)
    # -(t log s + (1-t) log(1-s)) in float64, where s = sigmoid(x) is far enough from 0
    # and 1 for this textbook formula to be accurate itself (|x| < 4)
    moderate = np.abs(x[6:]) < 4
    x64, t64 = x[6:][moderate].astype(np.float64), t[6:][moderate].astype(np.float64)
    s = 1 / (1 + np.exp(-x64))
    textbook = -(t64 * np.log(s) + (1 - t64) * np.log1p(-s))
    assert np.all(np.abs(loss[6:][moderate] - textbook)
                  <= bound[moderate] + 1e-12 * np.abs(textbook))
    # x = inf, t = 0: inf - inf * 0 is nan, as in the numpy formula; x = -inf, t = 1:
    # infinitely wrong; +-1e4 logits: finite, |x| when wrong; x = 0: log 2
    assert np.isnan(loss[0]) and np.isnan(expected[0]) and np.isnan(loss[5])
    np.testing.assert_array_equal(loss[1:4], [np.inf, 1e4, 1e4])
    np.testing.assert_allclose(loss[4], np.log(2), rtol=1e-7)


@pytest.mark.parametrize("size", [9, 80_001])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_grad_gives_the_compositions_bits(size, dtype, device):
    """g (sigmoid(x) - t) in one loop rounds as sigmoid, subtract, multiply do one after
    the other (the ops it replaces in BCE's backward), and as the reference does."""
    rng = np.random.default_rng(6)
    x = _logits(size, dtype)
    t = rng.random(size).astype(dtype)
    g = rng.standard_normal(size).astype(dtype)
    dg, dx, dt = (as_device(a, device) for a in (g, x, t))
    fused = as_numpy(pointwise.bce_with_logits_grad(dg, dx, dt))
    composed = as_numpy(dg * (pointwise.sigmoid(dx) - dt))
    assert fused.dtype == dtype
    np.testing.assert_array_equal(fused, composed)
    finite = np.isfinite(x)
    with np.errstate(invalid="ignore"):
        expected = pointwise.bce_with_logits_grad_reference(g, x, t)
    np.testing.assert_allclose(fused[finite], expected[finite], rtol=_TOLERANCE[dtype],
                               atol=_TOLERANCE[dtype])
    with np.errstate(over="ignore"):                                    # the textbook
        s = 1 / (1 + np.exp(-x[finite].astype(np.float64)))
    np.testing.assert_allclose(fused[finite], g[finite] * (s - t[finite]),
                               rtol=1e-3 if dtype == np.float32 else 1e-9, atol=1e-6)
    broadcast = pointwise.bce_with_logits_grad(as_device(np.float64(2.0), device), dx, dt)
    np.testing.assert_allclose(as_numpy(broadcast)[finite],
                               2.0 * (as_numpy(pointwise.sigmoid(dx)) - t)[finite],
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("g_shape", [(), (1, 1), (1, 3)])
def test_bce_with_logits_grad_broadcasts_a_smaller_g_in_the_fused_loop(g_shape, device,
                                                                      monkeypatch):
    """A reduced loss's gradient is one number: broadcast over x in the loop (not the
    numpy expression), it gives the bits of the same g written out in full."""
    def no_reference(*arrays):
        raise AssertionError("bce_with_logits_grad took the numpy expression")
    monkeypatch.setattr(pointwise, "bce_with_logits_grad_reference", no_reference)
    rng = np.random.default_rng(7)
    x = _logits(12, np.float32).reshape(4, 3)
    t = rng.random((4, 3)).astype(np.float32)
    g = rng.standard_normal(g_shape).astype(np.float32)
    dx, dt = as_device(x, device), as_device(t, device)
    small = as_numpy(pointwise.bce_with_logits_grad(as_device(g, device), dx, dt))
    full = as_numpy(pointwise.bce_with_logits_grad(
        as_device(np.ascontiguousarray(np.broadcast_to(g, x.shape)), device), dx, dt))
    assert small.shape == x.shape and small.dtype == np.float32
    np.testing.assert_array_equal(small, full)


def test_sigmoid_and_bce_fall_back_to_numpy_for_mixed_dtypes_and_shapes():
    x = np.array([[-2.0, 0.5, 3.0]])
    t32 = np.array([[0.0, 1.0, 1.0]], np.float32)
    np.testing.assert_array_equal(pointwise.bce_with_logits(x, t32),
                                  pointwise.bce_with_logits_reference(x, t32))
    assert pointwise.bce_with_logits(x, t32).dtype == np.float64
    broadcast = pointwise.bce_with_logits(x, np.array([1.0]))
    np.testing.assert_array_equal(broadcast, np.maximum(x, 0) - x + np.log1p(np.exp(-abs(x))))
    np.testing.assert_array_equal(pointwise.sigmoid(x.T), pointwise.sigmoid_reference(x.T))


def test_every_fused_loop_keeps_a_0d_input_0d(device):
    """np.ascontiguousarray turns a 0-d array into shape (1,); the loops must not."""
    x, other = as_device(np.array(-0.5), device), as_device(np.array(2.0), device)
    positive = as_device(np.array(False), device)
    results = [pointwise.sigmoid(x), pointwise.bce_with_logits(x, other),
               pointwise.bce_with_logits_grad(other, x, other),
               *pointwise.leaky_relu(x, 0.2), pointwise.slope_mul(other, positive, 0.2),
               pointwise.mask_mul(x, other)]
    assert [tuple(r.shape) for r in results] == [()] * 7
    np.testing.assert_allclose(
        [float(as_numpy(r)) for r in results],
        [1 / (1 + np.exp(0.5)), np.log1p(np.exp(-0.5)) + 1.0,
         2.0 * (1 / (1 + np.exp(0.5)) - 2.0), -0.1, 0.0, 0.4, -1.0])
    t = mg.tensor(0.3, requires_grad=True, device=device, dtype=np.float64)
    for y in (t.sigmoid(), F.leaky_relu(-t, 0.2),
              F.binary_cross_entropy_with_logits(t, mg.ones_like(t))):
        assert y.shape == ()
        y.backward()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_inverse_std_is_one_over_the_root(device, dtype):
    var = np.array([0.0, 0.25, 4.0, 1e-3], dtype)
    inv_std = as_numpy(pointwise.inverse_std(as_device(var, device), 1e-5))
    assert inv_std.dtype == dtype
    np.testing.assert_array_equal(inv_std, (1 / np.sqrt(var + dtype(1e-5))).astype(dtype))
    assert abs(inv_std[2] - 0.5) < 1e-5
