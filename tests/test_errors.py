"""Bad input raises an error a student can act on: it names the op and the shapes,
devices or dtypes involved (and, where there is one, the fix)."""
import re

import numpy as np
import pytest
from conftest import make

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import backend


def raises(error, *fragments):
    """pytest.raises whose message must contain every fragment (plain text, not regex)."""
    return pytest.raises(error, match="(?s)" + "".join(f"(?=.*{re.escape(f)})"
                                                       for f in fragments))


def t(*shape, device="cpu", dtype=mg.float32, requires_grad=False):
    return mg.zeros(*shape, dtype=dtype, device=device, requires_grad=requires_grad)


# --------------------------------------------------------------- shapes, named in the message
BAD_SHAPES = [
    pytest.param(lambda d: t(3, 4, device=d) + t(2, 4, device=d),
                 ["add", "(3, 4)", "(2, 4)"], id="add-broadcast"),
    pytest.param(lambda d: t(3, 1, 4, device=d) - t(2, 3, device=d),
                 ["sub", "(3, 1, 4)", "(2, 3)"], id="sub-broadcast"),
    pytest.param(lambda d: t(3, device=d) * t(4, device=d), ["mul", "(3,)", "(4,)"],
                 id="mul-broadcast"),
    pytest.param(lambda d: t(2, 3, device=d) / t(2, device=d), ["div", "(2, 3)", "(2,)"],
                 id="div-broadcast"),
    pytest.param(lambda d: mg.where(t(3, device=d).data > 0, t(3, device=d), t(4, device=d)),
                 ["where", "(3,)", "(4,)"], id="where-broadcast"),
    pytest.param(lambda d: mg.maximum(t(2, 3, device=d), t(4, device=d)),
                 ["maximum", "(2, 3)", "(4,)"], id="maximum-broadcast"),
    pytest.param(lambda d: t(2, 3, device=d) @ t(4, 5, device=d),
                 ["matmul", "(2, 3)", "(4, 5)", "3 != 4"], id="matmul-inner"),
    pytest.param(lambda d: t(3, device=d) @ t(4, 2, device=d), ["matmul", "(3,)", "(4, 2)"],
                 id="matmul-1d"),
    pytest.param(lambda d: t(2, 2, 3, device=d) @ t(3, 3, 4, device=d),
                 ["matmul", "(2, 2, 3)", "(3, 3, 4)"], id="matmul-batch"),
    pytest.param(lambda d: t(2, 3, device=d).reshape(4, 2),
                 ["reshape", "(2, 3)", "(4, 2)"], id="reshape"),
    pytest.param(lambda d: t(2, 3, device=d).expand(4, 4), ["expand", "(2, 3)", "(4, 4)"],
                 id="expand"),
    pytest.param(lambda d: mg.cat([t(2, 3, device=d), t(3, 2, device=d)]),
                 ["cat", "(2, 3)", "(3, 2)"], id="cat"),
    pytest.param(lambda d: mg.stack([t(2, 3, device=d), t(3, 2, device=d)]),
                 ["stack", "(2, 3)", "(3, 2)"], id="stack"),
    pytest.param(lambda d: t(2, 3, device=d).sum(2), ["sum", "2", "2 dimensions"],
                 id="sum-dim"),
    pytest.param(lambda d: t(2, 3, device=d).permute(0, 0), ["permute", "(2, 3)"],
                 id="permute"),
    pytest.param(lambda d: t(2, 3, 4, device=d).permute(0, 1, 5),
                 ["permute", "5", "(2, 3, 4)", "[-3, 2]"], id="permute-dim-range"),
    pytest.param(lambda d: t(2, 3, 4, device=d).flatten(1, 0),
                 ["flatten", "start_dim 1", "end_dim 0", "(2, 3, 4)"], id="flatten-order"),
    pytest.param(lambda d: t(3, 1, device=d).expand(-1, 3, 4),
                 ["expand", "(3, 1)", "(-1, 3, 4)", "leading"], id="expand-new-dim-minus1"),
    pytest.param(lambda d: t(2, 3, device=d)[5], ["getitem", "(2, 3)"], id="getitem"),
    pytest.param(lambda d: t(2, 3, 4, device=d)[0, :, [1, 9]],
                 ["getitem", "(2, 3, 4)", "[1, 9]", "out of bounds"], id="getitem-int-and-list"),
    pytest.param(lambda d: F.mse_loss(t(2, 3, device=d), t(3, 2, device=d)),
                 ["mse_loss", "(2, 3)", "(3, 2)"], id="mse-shapes"),
    pytest.param(lambda d: F.nll_loss(t(4, 3, device=d), mg.tensor([0, 1], device=d)),
                 ["nll_loss", "(4, 3)", "(2,)"], id="nll-shapes"),
    pytest.param(lambda d: F.nll_loss(t(2, 3, device=d), mg.tensor([0, 3], device=d)),
                 ["nll_loss", "[0, 3)"], id="nll-range"),
    pytest.param(lambda d: F.binary_cross_entropy(t(2, 3, device=d) - 2.0, t(2, 3, device=d)),
                 ["binary_cross_entropy", "[0, 1]", "binary_cross_entropy_with_logits"],
                 id="bce-given-logits"),
    pytest.param(lambda d: F.mse_loss(t(2, device=d), t(2, device=d), reduction="avg"),
                 ["mse_loss", "'avg'"], id="reduction"),
    pytest.param(lambda d: t(3, device=d) % t(4, device=d), ["remainder", "(3,)", "(4,)"],
                 id="remainder-broadcast"),
    pytest.param(lambda d: t(3, device=d).clamp(t(4, device=d)), ["clamp", "(3,)", "(4,)"],
                 id="clamp-tensor-bound"),
    pytest.param(lambda d: mg.arange(5, 0, 1, device=d), ["arange", "5", "0", "sign"],
                 id="arange-against-step"),
    pytest.param(lambda d: mg.arange(0, 5, 0, device=d), ["arange", "nonzero"],
                 id="arange-step-0"),
]


@pytest.mark.parametrize("bad, fragments", BAD_SHAPES)
def test_bad_shapes_name_the_op_and_shapes(bad, fragments, device):
    with raises((ValueError, IndexError, RuntimeError), *fragments):
        bad(device)


# --------------------------------------------------------------- devices
class _PretendCupyArray(np.ndarray):
    """A numpy array that minigrad's device check takes for a CuPy one (by its module)."""
    __module__ = "cupy.pretend"


def test_mixing_devices_names_both_devices_faked_on_cpu():
    """Runs without a GPU: one tensor's array pretends to be a CuPy array."""
    a, b = t(2, 3), t(3)
    b._data = b._data.view(_PretendCupyArray)
    assert b.device == "gpu"
    with raises(RuntimeError, "Add", "(2, 3) on cpu", "(3,) on gpu", ".to("):
        a + b


@pytest.mark.gpu
@pytest.mark.skipif(not mg.gpu_available(), reason="no GPU: CuPy or a CUDA device is missing")
def test_mixing_devices_on_a_real_gpu():
    with raises(RuntimeError, "(2, 3) on cpu", "(2, 3) on gpu"):
        t(2, 3) * t(2, 3, device="gpu")


def test_gpu_without_cupy_says_how_to_install(monkeypatch):
    monkeypatch.setattr(backend, "_load_cupy", lambda: None)
    monkeypatch.setattr(backend, "_cupy_error", "ModuleNotFoundError: No module named 'cupy'")
    for ask in (lambda: mg.zeros(2, device="gpu"), lambda: t(2).to("cuda"),
                lambda: mg.tensor([1.0], device="gpu")):
        with raises(RuntimeError, "gpu", "No module named 'cupy'",
                    'pip install -e ".[cuda12]"'):
            ask()


def test_unknown_device():
    with raises(ValueError, "'tpu'", "'cpu'", "'gpu'"):
        mg.zeros(2, device="tpu")


# --------------------------------------------------------------- autograd misuse
def test_backward_on_non_scalar_needs_gradient(device):
    y = make((2, 3), device) * 2.0
    with raises(RuntimeError, "(2, 3)", "gradient"):
        y.backward()
    with raises(RuntimeError, "(2, 3)", "(3,)"):
        y.backward(mg.ones(3, dtype=mg.float64, device=device))
    with raises(RuntimeError, "grad_outputs", "(2, 3)"):
        mg.grad(y, make((2, 3), device))


def test_second_backward_through_freed_graph(device):
    y = (make((2, 3), device).exp() * 2.0).sum()
    y.backward()
    with raises(RuntimeError, "second time", "freed", "retain_graph=True"):
        y.backward()


def test_backward_without_anything_to_differentiate(device):
    with raises(RuntimeError, "does not require grad"):
        make((2,), device, requires_grad=False).sum().backward()


@pytest.mark.parametrize("dtype", [mg.int64, mg.int32, mg.bool_])
def test_integer_tensors_cannot_require_grad(dtype, device):
    with raises(RuntimeError, "floating-point", str(np.dtype(dtype)), "(3,)"):
        mg.tensor([1, 0, 1], dtype=dtype, device=device, requires_grad=True)
    with raises(RuntimeError, "floating-point", "(2, 2)"):
        mg.zeros(2, 2, dtype=dtype, device=device).requires_grad_()


@pytest.mark.parametrize("change", [
    lambda x: x.__setitem__(0, 1.0), lambda x: x.add_(1.0), lambda x: x.mul_(0.5),
    lambda x: x.zero_(), lambda x: x.fill_(2.0), lambda x: x.copy_(mg.ones(3, device=x.device)),
    lambda x: x.clamp_(0.0, 1.0), lambda x: x.normal_(), lambda x: x.uniform_(),
    lambda x: x.lerp_(mg.ones(3, device=x.device), 0.5), lambda x: x.div_(2.0), lambda x: x.sub_(1.0),
], ids=["setitem", "add_", "mul_", "zero_", "fill_", "copy_", "clamp_", "normal_",
        "uniform_", "lerp_", "div_", "sub_"])
def test_in_place_on_leaf_that_requires_grad(change, device):
    # PyTorch: "a leaf Variable that requires grad is being used in an in-place operation"
    x = make((3,), device)
    before = x.numpy().copy()
    with raises(RuntimeError, "leaf", "(3,)", "requires grad", "no_grad"):
        change(x)
    np.testing.assert_array_equal(x.numpy(), before)
    with mg.no_grad():
        change(x)                                  # allowed: that is an optimizer update


def test_in_place_on_computed_tensor(device):
    y = make((2, 3), device).exp()
    with raises(RuntimeError, "mul_", "(2, 3)", "Exp", "no_grad"):
        y.mul_(2.0)


def test_in_place_write_of_a_value_that_requires_grad(device):
    acc = t(3, device=device)
    w = t(3, device=device, requires_grad=True)
    with raises(RuntimeError, "add_", "(3,)", "requires grad", "acc = acc + x", "no_grad"):
        acc.add_(w * 2.0)


def bad_shape_hook(grad):
    return mg.ones(1, dtype=grad.dtype, device=grad.device)


def bad_dtype_hook(grad):
    return grad.to(mg.float64)


@pytest.mark.parametrize("hook, fragments", [
    (bad_shape_hook, ["bad_shape_hook", "changed the size", "(3,)", "(1,)"]),
    (bad_dtype_hook, ["bad_dtype_hook", "changed the type", "float32", "float64"]),
], ids=["shape", "dtype"])
@pytest.mark.parametrize("leaf", [True, False], ids=["leaf", "non-leaf"])
def test_hook_that_changes_shape_or_dtype_is_named(hook, fragments, leaf, device):
    x = t(3, device=device, requires_grad=True)
    y = x if leaf else x * 2.0
    y.register_hook(hook)
    with raises(RuntimeError, *fragments):
        (y * 3.0).sum().backward()
    assert x.grad is None


def test_grad_needs_one_grad_output_per_output(device):
    x = t(3, device=device, requires_grad=True)
    with raises(RuntimeError, "grad", "got 2 tensors and 1 gradients"):
        mg.grad([x * 2.0, x * 3.0], x, grad_outputs=[mg.ones(3, device=device)])


def test_assigned_grad_of_another_shape_or_dtype(device):
    x = t(2, device=device, requires_grad=True)
    with raises(RuntimeError, "assigned grad", "different size", "(2,)", "(3,)"):
        x.grad = t(3, device=device)
    with raises(RuntimeError, "assigned grad", "different type", "float32", "float64"):
        x.grad = t(2, device=device, dtype=mg.float64)


def test_requires_grad_off_on_non_leaf(device):
    with raises(RuntimeError, "leaf", "detach"):
        (make((3,), device) * 2.0).requires_grad = False


# --------------------------------------------------------------- gradcheck's own messages
class WrongSquare(mg.Function):
    """y = x^2 with a deliberately wrong derivative 3x (the right one is 2x)."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        (x,) = self.inputs
        return gy * x * 3.0


class FlatSquare(mg.Function):
    """y = x^2 with the right first derivative 2x, but computed from a constant copy of x,
    so its own derivative (the second derivative of y) is lost."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        (x,) = self.inputs
        return gy * x.detach() * 2.0


def test_gradcheck_failure_names_input_index_and_values():
    x = mg.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=mg.float64, requires_grad=True)
    y = mg.tensor([1.0, 1.0], dtype=mg.float64, requires_grad=True)
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda a, b: a * b + WrongSquare()(b), [x, y])
    message = str(info.value)
    assert "input 1" in message and "(2,)" in message, message   # the culprit: y
    # d/dy_j of sum(v * (x y + y^2)) with y = 1: (v x)_j + 2 v_j, but WrongSquare says 3 v_j
    v = np.random.default_rng(0).standard_normal((2, 2))         # gradcheck's v (seed 0)
    numerical = (v * x.numpy()).sum(0) + 2 * v.sum(0)
    analytical = (v * x.numpy()).sum(0) + 3 * v.sum(0)
    found = re.search(r"index \((\d),\): analytical (\S+), numerical (\S+)", message)
    assert found, message
    j = int(found.group(1))
    assert j == np.argmax(np.abs(analytical - numerical) - 1e-3 * np.abs(numerical))
    np.testing.assert_allclose(float(found.group(2)), analytical[j], rtol=1e-6)
    np.testing.assert_allclose(float(found.group(3).rstrip(",")), numerical[j], rtol=1e-6)


def test_gradcheck_names_the_worst_element_not_the_first_wrong_one():
    """x^2 with derivative 3x: the error |x| v is largest at the largest |x| (index 3),
    though every element is wrong."""
    x = mg.tensor([1.0, -1.0, 2.0, 40.0], dtype=mg.float64, requires_grad=True)
    with raises(mg.GradcheckError, "4 of 4 elements disagree"):
        mg.gradcheck(lambda a: WrongSquare()(a).sum(), [x])
    with pytest.raises(mg.GradcheckError, match=r"wrong at index \(3,\)"):
        mg.gradcheck(lambda a: WrongSquare()(a).sum(), [x])


def test_gradgradcheck_catches_a_wrong_second_derivative():
    x = mg.tensor([1.0, -2.0, 0.5], dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(lambda a: FlatSquare()(a), [x])
    with raises(mg.GradcheckError, "gradgradcheck", "input 0", "analytical", "numerical"):
        mg.gradgradcheck(lambda a: FlatSquare()(a), [x])


def test_gradcheck_wants_float64():
    with raises(mg.GradcheckError, "input 0", "float32", "float64"):
        mg.gradcheck(lambda a: a * 2.0, [mg.randn(3, requires_grad=True)])


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv2d(np.zeros((1, 1, 3, 3)), mg.zeros(1, 1, 2, 2)),
     "conv2d: input must be a Tensor, got ndarray (wrap it: mg.tensor(...); x.data is"),
    (lambda: F.conv_transpose2d(mg.zeros(1, 1, 3, 3), None),
     "conv_transpose2d: weight must be a Tensor, got NoneType"),
    (lambda: F.linear(mg.zeros(2, 3), [[1.0, 2.0, 3.0]]),
     "linear: weight must be a Tensor, got list (wrap it"),
    (lambda: mg.zeros(2, 2) @ [[1.0, 2.0], [3.0, 4.0]], "matmul: other must be a Tensor"),
    (lambda: F.leaky_relu(np.zeros(3)), "LeakyReLU: input 0 must be a Tensor, got ndarray"),
    (lambda: mg.cat([mg.zeros(2), np.zeros(2)]), "cat: tensors[1] must be a Tensor"),
    (lambda: mg.stack(mg.zeros(2, 2)), "stack: expected a list or tuple of tensors, got a "
                                       "single Tensor of shape (2, 2)"),
    (lambda: mg.zeros_like([1.0, 2.0]), "zeros_like: input must be a Tensor, got list"),
])
def test_an_array_or_a_list_where_a_tensor_belongs_is_named(call, message):
    # PyTorch: "conv2d(): argument 'input' must be Tensor, not numpy.ndarray"
    with pytest.raises(TypeError) as info:
        call()
    assert message in str(info.value)
    assert info.value.__context__ is None or info.value.__suppress_context__  # no chain


def test_x_data_where_a_tensor_belongs_says_what_data_is_here():
    """A ported `torch.unsqueeze(image.data, 0)`: x.data is the array in minigrad."""
    x = mg.zeros(2, 3)
    with pytest.raises(TypeError, match=r"Reshape: input 0 must be a Tensor, got ndarray "
                                        r"\(wrap it: mg.tensor\(...\); x.data is the array "
                                        r"itself here, so .* write x.detach\(\)\)"):
        mg.unsqueeze(x.data, 0)


def test_creation_takes_pytorchs_forms_and_names_a_bad_size():
    assert mg.randint(10, (3,)).dtype == mg.int64                 # randint(high, size)
    assert mg.randint(10, size=(3,)).numpy().max() < 10           # high, size by keyword
    assert mg.randint(0, 10, size=(2, 2)).shape == (2, 2)
    assert mg.randint(5, (2,), dtype=mg.int32).dtype == mg.int32
    assert mg.randn(size=(2, 3)).shape == (2, 3) and mg.zeros([2, 3]).shape == (2, 3)
    assert mg.arange(3.0, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="only floating-point tensors can require"):
        mg.arange(3, requires_grad=True)                           # int64, as PyTorch
    for call, error, message in [
        (lambda: mg.zeros(-1), ValueError, "zeros: sizes must not be negative, got (-1,)"),
        (lambda: mg.ones(2.5), TypeError, "ones: each size must be an int, got 2.5"),
        (lambda: mg.randn(2, dtype=mg.int64), TypeError, "randn: samples are floating point"),
        (lambda: mg.randint(5, 5, (3,)), ValueError, "randint: high (5) must be greater"),
        (lambda: mg.randint(5), TypeError, "randint: expected randint(high, size)"),
        (lambda: mg.linspace(0, 1, 2.5), TypeError, "linspace: each size must be an int, got 2.5"),
        (lambda: mg.eye(-1), ValueError, "eye: sizes must not be negative"),
        (lambda: mg.randperm(-1), ValueError, "randperm: sizes must not be negative"),
        (lambda: mg.zeros(2, size=(3,)), TypeError, "zeros: give the shape once"),
    ]:
        with pytest.raises(error) as info:
            call()
        assert message in str(info.value)


def test_in_place_methods_name_a_value_that_does_not_fit(device):
    x = mg.zeros(3, device=device)
    for call, message in [
        (lambda: x.add_(mg.ones(2, 3, device=device)), "add_: a value of shape (2, 3)"),
        (lambda: x.lerp_(mg.ones(2, device=device), 0.5), "lerp_: a value of shape (2,)"),
        (lambda: x.copy_(mg.ones(4, device=device)), "copy_: a value of shape (4,)"),
        (lambda: x.__setitem__(slice(0, 2), mg.ones(4, device=device)),
         "setitem: a value of shape (4,) does not broadcast to x[slice(0, 2, None)], of "
         "shape (2,)"),
        (lambda: x.fill_(mg.ones(3, device=device)), "fill_: the value must be a number or "
                                                     "a 0-d tensor"),
        (lambda: x.clamp_(min=mg.zeros(3, device=device), max=mg.ones(4, device=device)),
         "clamp_: a value of shape (4,)"),
        (lambda: x.mul_(mg.ones(2, 3, device=device)), "mul_: a value of shape (2, 3)"),
        (lambda: x.uniform_(1.0, 0.0), "uniform_: expects a range [low, high)"),
        (lambda: x.normal_(0.0, -1.0), "normal_: std must be >= 0"),
        (lambda: x.size(5), "size: dimension 5 is out of range"),
        (lambda: x.any(dim=1), "any: dim 1 is out of range"),
        (lambda: mg.where(x, x, x), "where: the condition must be a bool tensor"),
        (lambda: mg.ones(2, 2, dtype=mg.bool) @ mg.ones(2, 2, dtype=mg.bool),
         "matmul: not implemented for bool tensors"),
        (lambda: mg.optim.Adam([mg.zeros(2, requires_grad=True)], betas=(0.9, 0.9, 0.9)),
         "invalid betas: (0.9, 0.9, 0.9)"),
    ]:
        with pytest.raises((ValueError, TypeError, IndexError)) as info:
            call()
        assert message in str(info.value), (message, str(info.value))
    np.testing.assert_array_equal(x.numpy(), 0.0)               # nothing was written
    with pytest.raises(RuntimeError, match="clamp_: the value written into this tensor"):
        x.clamp_(min=mg.zeros(3, device=device, requires_grad=True))  # its gradient: lost
    # clamp_ takes tensor bounds, as PyTorch's
    y = mg.tensor([-2.0, 0.5, 3.0], device=device)
    y.clamp_(min=mg.zeros(3, device=device), max=mg.tensor([1.0, 1.0, 2.0], device=device))
    assert y.numpy().tolist() == [0.0, 0.5, 2.0]


def test_pytorchs_keywords_for_var_load_and_mixed_matmul(tmp_path):
    x = mg.tensor([1.0, 2.0, 3.0, 4.0])
    assert x.var(correction=0).item() == 1.25 and x.std(0, correction=1).item() == \
        pytest.approx(np.std([1, 2, 3, 4], ddof=1), rel=1e-6)
    with pytest.raises(ValueError, match="either unbiased=True or correction"):
        x.var(unbiased=True, correction=1)
    mg.save({"w": x}, tmp_path / "c.npz")
    loaded = mg.load(tmp_path / "c.npz", map_location="cpu", weights_only=True)
    assert loaded["w"].numpy().tolist() == [1.0, 2.0, 3.0, 4.0]
    counts = mg.ones(2, 2, dtype=mg.int64)
    assert (counts @ mg.ones(2, 2)).dtype == mg.float32      # the float's dtype, not float64
