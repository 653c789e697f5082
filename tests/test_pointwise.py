"""The fused pointwise kernels (kernels/pointwise.py) against their numpy references, on
both sides of the serial/parallel threshold, in float32 and float64, with inf and nan."""
import numpy as np
import pytest
from conftest import as_device, as_numpy

from kernels import pointwise


@pytest.mark.parametrize("size", [7, 100_003])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("slope", [0.0, 0.2])
def test_leaky_relu_matches_reference(size, dtype, slope, device):
    x = np.random.default_rng(0).standard_normal(size).astype(dtype)
    x[:3] = [np.inf, -np.inf, 0.0]
    y, positive = pointwise.leaky_relu(as_device(x, device), slope)
    y_ref, positive_ref = pointwise.leaky_relu_reference(x, slope)
    np.testing.assert_array_equal(as_numpy(y), y_ref)
    np.testing.assert_array_equal(as_numpy(positive), positive_ref)
    assert as_numpy(y).dtype == dtype and as_numpy(positive).dtype == np.bool_
    assert as_numpy(y)[1] == (0.0 if slope == 0 else -np.inf)   # relu(-inf) = 0, not nan
    assert as_numpy(y)[2] == 0 and not as_numpy(positive)[2]  # x = 0: not positive


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
