"""Integer and bool tensors follow PyTorch's type promotion, not numpy's.

The expected dtypes and values are PyTorch 2's (checked against it once, written out here):
a Python int keeps an int tensor's type (bool + int is int64), a Python float or true
division gives float32 (the default float dtype), exp/log/sqrt/tanh/sigmoid/softplus of an
int tensor are float32, an int tensor beside a float tensor takes the float dtype, and mean
of an int tensor is an error. Float tensors keep their dtype throughout.
"""
import numpy as np
import pytest
from conftest import as_device, as_numpy

import minigrad as mg
import minigrad.nn.functional as F
from kernels import pointwise


def _int(values, dtype, device):
    return mg.tensor(np.array(values, dtype=dtype), device=device)


def _check(y, dtype, values):
    assert y.dtype == np.dtype(dtype), f"got {y.dtype}, PyTorch gives {np.dtype(dtype)}"
    np.testing.assert_allclose(y.numpy(), np.asarray(values, dtype=np.float64), rtol=1e-6)


# ------------------------------------------------------------------ a Python number
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
@pytest.mark.parametrize("fn, expected", [
    (lambda x: x + 1, [2, 3, 4]),
    (lambda x: 1 + x, [2, 3, 4]),
    (lambda x: x * 2, [2, 4, 6]),
    (lambda x: x - 1, [0, 1, 2]),
    (lambda x: x ** 2, [1, 4, 9]),
    (lambda x: x + np.int64(1), [2, 3, 4]),
], ids=["add", "radd", "mul", "sub", "pow", "add-numpy-int"])
def test_int_tensor_with_a_python_int_keeps_its_type(fn, expected, dtype, device):
    _check(fn(_int([1, 2, 3], dtype, device)), dtype, expected)


def test_int_arithmetic_wraps_around_as_pytorch(device):
    u8 = _int([0, 1, 2], np.uint8, device)
    _check(u8 - 1, np.uint8, [255, 0, 1])
    _check(1 - u8, np.uint8, [1, 0, 255])
    _check(u8 * 300, np.uint8, [0, 44, 88])                 # 300 is 44 in uint8
    _check(2 ** u8, np.uint8, [1, 2, 4])
    _check(_int([1, 2], np.int32, device) + 2**40, np.int32, [1, 2])
    with pytest.raises(OverflowError, match=r"add: the number .* does not fit in 64 bits"):
        _int([1, 2], np.int64, device) + 2**70


def test_bool_tensor_with_a_python_int_is_int64(device):
    b = _int([True, False, True], np.bool_, device)
    _check(b + 1, np.int64, [2, 1, 2])
    _check(b * 2, np.int64, [2, 0, 2])
    _check(b ** 2, np.int64, [1, 0, 1])
    _check(2 ** b, np.int64, [2, 1, 2])


_TO_FLOAT32 = {
    "div": lambda x: x / 2, "add": lambda x: x + 0.5, "radd": lambda x: 0.5 + x,
    "mul": lambda x: x * 0.5, "sub": lambda x: x - 0.5, "rsub": lambda x: 2.0 - x,
    "rdiv": lambda x: 2 / x, "pow": lambda x: x ** 0.5, "rpow": lambda x: 2.0 ** x,
    "add-np-float64": lambda x: x + np.float64(0.5), "div-tensor": lambda x: x / x,
}


@pytest.mark.parametrize("name, dtype", [
    (name, dtype) for name in _TO_FLOAT32 for dtype in (np.int64, np.int32, np.uint8, np.bool_)
    if not (dtype is np.bool_ and "sub" in name)])        # bool - x: an error (below)
def test_int_tensor_with_a_float_or_true_division_is_float32(name, dtype, device):
    fn = _TO_FLOAT32[name]
    values = [1, 2, 4] if dtype is not np.bool_ else [True, True, True]
    expected = fn(mg.tensor(np.array(values, dtype=np.float64), device=device)).numpy()
    _check(fn(_int(values, dtype, device)), np.float32, expected)


def test_float_tensor_with_a_number_keeps_its_dtype(device):
    """A guard for the hot path (held before too): float32 stays float32 for every kind
    of number, including numpy's float64 scalar that numpy 2 would promote by."""
    x = mg.tensor([1.0, 2.0], device=device)
    for y in (x + 1, x * np.int64(2), x - np.float64(0.5), 1 - x, x / 2, 2 / x, x ** 2,
              2 ** x, x + True):
        assert y.dtype == np.float32


def test_bool_subtraction_is_refused_as_in_pytorch(device):
    b = _int([True, False], np.bool_, device)
    for fn in (lambda: b - 1, lambda: 1 - b, lambda: b - 0.5, lambda: b - b,
               lambda: b - _int([1, 2], np.int64, device),
               lambda: _int([1, 2], np.int64, device) - b):
        with pytest.raises(RuntimeError, match=r"sub: subtraction with a bool tensor is not "
                                               r"supported.*bool"):
            fn()


def test_int_to_a_negative_int_power_is_refused(device):
    with pytest.raises(RuntimeError, match=r"pow: integers to negative integer powers.*"
                                           r"int64.*-1"):
        _int([1, 2], np.int64, device) ** -1
    _check(_int([1, 2], np.int64, device) ** -1.0, np.float32, [1, 0.5])


# ------------------------------------------------------------------ another tensor
def test_int_tensor_beside_a_float_tensor_takes_the_float_dtype(device):
    i = _int([1, 2, 3], np.int64, device)
    f32 = mg.tensor([2.0, 4.0, 8.0], device=device)
    _check(i + f32, np.float32, [3, 6, 11])                 # numpy: float64
    _check(f32 * i, np.float32, [2, 8, 24])
    _check(f32 * _int(2, np.int64, device), np.float32, [4, 8, 16])     # 0-d int
    _check(i * mg.tensor(0.5, device=device), np.float32, [0.5, 1, 1.5])  # 0-d float
    _check(i / _int([2, 4, 4], np.int64, device), np.float32, [0.5, 0.5, 0.75])
    _check(f32 ** i, np.float32, [2, 16, 512])
    _check(_int([1, 2], np.uint8, device) + _int(300, np.int64, device), np.uint8,
           [45, 46])                                        # a 0-d int does not widen
    _check(i + mg.tensor(0.5, dtype=mg.float64, device=device), np.float64, [1.5, 2.5, 3.5])


@pytest.mark.parametrize("fn", [
    lambda x, t: x + t, lambda x, t: x - t, lambda x, t: x * t, lambda x, t: x / t,
    lambda x, t: t / x, lambda x, t: x ** t, lambda x, t: mg.where(t > 1, x, t),
], ids=["add", "sub", "mul", "div", "rdiv", "pow", "where"])
def test_gradient_through_a_float_tensor_beside_an_int_tensor(fn, device):
    t = _int([[1, 2, 3], [3, 2, 1]], np.int64, device)        # where: t > 1 picks x
    x32 = mg.tensor(np.random.default_rng(0).uniform(0.5, 2.0, (2, 3)), device=device,
                    requires_grad=True)
    y = fn(x32, t)
    y.sum().backward()
    assert y.dtype == np.float32 and x32.grad.dtype == np.float32
    x64 = mg.tensor(x32.numpy().astype(np.float64), dtype=mg.float64, device=device,
                    requires_grad=True)
    fn(x64, t).sum().backward()
    np.testing.assert_allclose(x32.grad.numpy(), x64.grad.numpy(), rtol=1e-5)
    assert mg.gradcheck(lambda x: fn(x, t), [x64])
    assert mg.gradgradcheck(lambda x: fn(x, t), [x64])


# ------------------------------------------------------------------ float-only functions
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "tanh", "sigmoid", "softplus"])
def test_float_functions_of_an_int_tensor_are_float32(name, dtype, device):
    values = [1, 2, 5] if dtype is not np.bool_ else [True, True]
    fn = getattr(F if name == "softplus" else mg, name)
    got = fn(_int(values, dtype, device))
    expected = fn(mg.tensor(np.array(values, dtype=np.float64), device=device)).numpy()
    _check(got, np.float32, expected)


def test_sigmoid_of_an_int_tensor(device):
    """The review's case: the fused kernel cast its result back to int, all zeros."""
    _check(mg.tensor([-1, 0, 2], device=device).sigmoid(), np.float32,
           [0.26894142, 0.5, 0.88079708])
    _check(mg.tensor([True, False], device=device).sigmoid(), np.float32,
           [0.73105858, 0.5])


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.bool_])
def test_the_sigmoid_kernel_gives_float32_for_an_int_array(dtype, device):
    y = pointwise.sigmoid(as_device(np.array([1, 0, 1], dtype=dtype), device))
    assert y.dtype == np.float32
    np.testing.assert_allclose(as_numpy(y), [0.73105858, 0.5, 0.73105858], rtol=1e-6)


# ------------------------------------------------------------------ clamp, where
def test_clamp_of_an_int_tensor(device):
    x = _int([-1, 0, 2], np.int64, device)
    _check(x.clamp(-0.5, 0.5), np.float32, [-0.5, 0, 0.5])  # a float bound: float32
    _check(x.clamp(max=1.5), np.float32, [-1, 0, 1.5])
    _check(x.clamp(0, 1), np.int64, [0, 0, 1])              # int bounds: its own type
    _check(_int([-1, 0, 2], np.int32, device).clamp(0, np.int64(1)), np.int32, [0, 0, 1])
    _check(_int([True, False], np.bool_, device).clamp(0, 2), np.int64, [1, 0])
    _check(_int([True, False], np.bool_, device).clamp(0.5), np.float32, [1, 0.5])


def test_where_promotes_as_pytorch(device):
    cond = mg.tensor([True, False], device=device)
    i = _int([1, 2], np.int64, device)
    _check(mg.where(cond, i, 0.5), np.float32, [1, 0.5])    # was [1, 0]
    _check(mg.where(cond, 0.5, i), np.float32, [0.5, 2])
    _check(mg.where(cond, i, 7), np.int64, [1, 7])
    _check(mg.where(cond, i, mg.tensor([5.0, 6.0], device=device)), np.float32, [1, 6])
    _check(mg.where(cond, _int([3, 4], np.int32, device), i), np.int64, [3, 2])
    b = _int([False, True], np.bool_, device)
    _check(mg.where(cond, b, 2), np.int64, [0, 2])
    _check(mg.where(cond, b, False), np.bool_, [0, 0])
    _check(mg.maximum(i, 1.5), np.float32, [1.5, 2])


# ------------------------------------------------------------------ reductions
def test_argmax_keepdim_over_all_dims_keeps_every_dim(device):
    x = mg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], device=device)
    index = x.argmax(keepdim=True)
    assert index.shape == (1, 1) and index.dtype == np.int64 and index.item() == 3
    assert x.reshape(2, 3, 1).argmax(keepdim=True).shape == (1, 1, 1)
    assert x.argmax().shape == () and mg.tensor(4.0).argmax(keepdim=True).shape == ()


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int32])
def test_max_and_min_over_a_dim_keep_an_int_or_bool_dtype(dtype, device):
    x = _int([[1, 0, 1], [0, 0, 1]], dtype, device)
    _check(x.max(1).values, dtype, [1, 1])
    _check(x.min(1, keepdim=True).values, dtype, [[0], [0]])
    np.testing.assert_array_equal(x.max(1).indices.numpy(), [0, 2])
    _check(_int(1, dtype, device).max(0).values, dtype, 1)


def test_sum_of_an_int_or_bool_tensor_is_int64(device):
    for dtype in (np.uint8, np.bool_, np.int32):            # numpy: uint8 -> uint64
        x = _int([[1, 0, 1], [0, 0, 1]], dtype, device)
        _check(x.sum(), np.int64, 3)
        _check(x.sum(1, keepdim=True), np.int64, [[2], [1]])


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
@pytest.mark.parametrize("op", ["mean", "var", "std"])
def test_mean_var_std_of_an_int_tensor_are_refused(op, dtype, device):
    x = _int([1, 0, 1], dtype, device)
    with pytest.raises(RuntimeError, match=rf"{op}: could not infer the output dtype.*"
                                           rf"{np.dtype(dtype)}.*\(3,\).*x.float\(\)"):
        getattr(x, op)()
    assert getattr(x.float(), op)().dtype == np.float32     # the way out works
