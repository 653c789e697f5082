"""Signals (N, C, L): avg_pool1d, max_pool1d, adaptive_avg_pool1d and interpolate on 3-D
input (the 2-D ops over height 1, minigrad/ops/pool.py), their layers, and the 1-D padding
layers (F.pad). Second order (gradcheck and gradgradcheck, float64), PyTorch's values and
gradients, and errors that name the 1-D op."""
import re

import numpy as np
import pytest
from conftest import make

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F

CASES = {  # name: (function, input shape); distinct random values, so no ties in max pool
    "avg k3 s2 p1, batch 1": (lambda x: F.avg_pool1d(x, 3, 2, 1), (1, 2, 7)),
    "avg k3 s2 p1 ceil real-sample mean": (lambda x: F.avg_pool1d(
        x, 3, 2, 1, ceil_mode=True, count_include_pad=False), (2, 3, 8)),
    "avg k2 (C, L)": (lambda x: F.avg_pool1d(x, 2), (3, 7)),
    "max k3 s2 p1, batch 1": (lambda x: F.max_pool1d(x, 3, 2, 1), (1, 2, 7)),
    "max k2 ceil_mode": (lambda x: F.max_pool1d(x, 2, ceil_mode=True), (2, 3, 7)),
    "max k3 s1 (C, L)": (lambda x: F.max_pool1d(x, 3, 1), (3, 8)),
    "max values of return_indices": (
        lambda x: F.max_pool1d(x, 2, 1, 1, return_indices=True)[0], (1, 2, 6)),
    "adaptive 3, batch 1": (lambda x: F.adaptive_avg_pool1d(x, 3), (1, 2, 7)),
    "adaptive 4 (C, L)": (lambda x: F.adaptive_avg_pool1d(x, (4,)), (3, 9)),
    "nearest size 11, batch 1": (lambda x: F.interpolate(x, size=11), (1, 2, 5)),
    "nearest x2": (lambda x: F.interpolate(x, scale_factor=2), (2, 3, 4)),
    "nearest x1.1, length kept": (lambda x: F.interpolate(x, scale_factor=1.1), (1, 2, 7)),
    "nearest-exact x1.7": (lambda x: F.interpolate(x, scale_factor=1.7,
                                                   mode="nearest-exact"), (1, 2, 5)),
    "linear size 13": (lambda x: F.interpolate(x, size=13, mode="linear"), (1, 2, 5)),
    "linear x1.5 align_corners": (lambda x: F.interpolate(
        x, scale_factor=1.5, mode="linear", align_corners=True), (2, 2, 5)),
    "linear down to 4": (lambda x: F.interpolate(x, size=(4,), mode="linear"), (1, 2, 9)),
    "area down to 3": (lambda x: F.interpolate(x, size=3, mode="area"), (1, 2, 8)),
    "pad constant (N, C, L)": (lambda x: F.pad(x, (2, 1), value=0.5), (1, 2, 5)),
    "pad reflect (C, L)": (lambda x: F.pad(x, (3, 2), "reflect"), (2, 5)),
    "pad replicate": (lambda x: F.pad(x, (1, 3), "replicate"), (1, 2, 5)),
    "pad circular (C, L)": (lambda x: F.pad(x, (2, 4), "circular"), (2, 5)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_gradcheck_and_gradgradcheck(device, name):
    fn, shape = CASES[name]
    x = make(shape, device, seed=1)
    assert mg.gradcheck(fn, [x])
    assert mg.gradgradcheck(fn, [x])


@pytest.mark.parametrize("name", ["avg_pool1d", "max_pool1d", "adaptive_avg_pool1d"])
def test_one_signal_without_a_batch_dim(device, name):
    """(C, L) is read as one signal, as PyTorch: the (1, C, L) result without its batch."""
    x = make((3, 8), device, seed=2)
    args = {"avg_pool1d": (3, 2, 1), "max_pool1d": (3, 2, 1), "adaptive_avg_pool1d": (3,)}
    fn = getattr(F, name)
    y = fn(x, *args[name])
    assert y.ndim == 2
    np.testing.assert_array_equal(y.numpy(), fn(x.unsqueeze(0), *args[name]).numpy()[0])


# ------------------------------------------------------------------------- against PyTorch

def _compare(ours_fn, theirs_fn, x, device):
    """Values, and the gradient of sum(w * y) for random w, of ours and PyTorch's; returns
    the largest differences (values, gradients)."""
    torch = pytest.importorskip("torch")
    x_ours = mg.tensor(x, dtype=mg.float64, device=device, requires_grad=True)
    x_theirs = torch.tensor(x, requires_grad=True)
    y_ours, y_theirs = ours_fn(x_ours), theirs_fn(x_theirs)
    assert y_ours.shape == tuple(y_theirs.shape)
    w = np.random.default_rng(7).standard_normal(y_ours.shape)
    (y_ours * mg.tensor(w, dtype=mg.float64, device=device)).sum().backward()
    (y_theirs * torch.tensor(w)).sum().backward()
    value = np.abs(y_ours.numpy() - y_theirs.detach().numpy()).max()
    gradient = np.abs(x_ours.grad.numpy() - x_theirs.grad.numpy()).max()
    return value, gradient


POOLS = [  # name, args, kwargs, input shape
    ("avg_pool1d", (3,), {}, (2, 3, 10)),
    ("avg_pool1d", (3, 2, 1), {}, (1, 2, 9)),
    ("avg_pool1d", (4, 3, 2), {"ceil_mode": True}, (2, 2, 10)),
    ("avg_pool1d", (3, 2, 1), {"count_include_pad": False}, (2, 2, 8)),
    ("avg_pool1d", (3, 2, 1), {"ceil_mode": True, "count_include_pad": False}, (2, 2, 8)),
    ("avg_pool1d", ((2,), (1,)), {}, (3, 7)),                      # 1-tuples; (C, L)
    ("max_pool1d", (2,), {}, (2, 3, 10)),
    ("max_pool1d", (3, 2, 1), {}, (1, 2, 9)),
    ("max_pool1d", (4, 3, 2), {"ceil_mode": True}, (2, 2, 10)),
    ("max_pool1d", (3, 1), {}, (3, 7)),                            # (C, L)
    ("adaptive_avg_pool1d", (4,), {}, (2, 3, 10)),
    ("adaptive_avg_pool1d", (7,), {}, (1, 2, 5)),                  # more outputs than inputs
    ("adaptive_avg_pool1d", ((3,),), {}, (3, 7)),                  # (C, L)
]


@pytest.mark.parametrize("name, args, kwargs, shape", POOLS)
def test_pools_match_pytorch(device, name, args, kwargs, shape):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal(shape)
    theirs = getattr(torch.nn.functional, name)
    value, gradient = _compare(lambda t: getattr(F, name)(t, *args, **kwargs),
                               lambda t: theirs(t, *args, **kwargs), x, device)
    assert value < 1e-13 and gradient < 1e-13


@pytest.mark.parametrize("args, kwargs, shape", [
    ((2,), {}, (2, 3, 10)),
    ((3, 2, 1), {"ceil_mode": True}, (1, 2, 8)),
    ((4, 3, 2), {"ceil_mode": True}, (3, 10)),                     # (C, L)
])
def test_max_pool1d_indices_match_pytorch(device, args, kwargs, shape):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).standard_normal(shape)
    values, indices = F.max_pool1d(mg.tensor(x, dtype=mg.float64, device=device), *args,
                                   return_indices=True, **kwargs)
    their_values, their_indices = torch.nn.functional.max_pool1d(
        torch.tensor(x), *args, return_indices=True, **kwargs)
    np.testing.assert_array_equal(values.numpy(), their_values.numpy())
    np.testing.assert_array_equal(indices.numpy(), their_indices.numpy())  # positions in L
    assert indices.dtype == np.int64 and not indices.requires_grad


RESIZES = [  # kwargs of interpolate; input length
    (dict(size=13), 5), (dict(size=3), 8), (dict(scale_factor=2), 5),
    (dict(scale_factor=1.7), 6), (dict(scale_factor=0.6), 9),
    (dict(scale_factor=1.1), 7),              # the length kept: PyTorch's 1-D rule, floor(l/s)
    (dict(scale_factor=1.7, recompute_scale_factor=True), 6),
    (dict(size=(9,)), 4), (dict(scale_factor=(2.5,)), 4), (dict(size=6), 6),
]
MODES = [("nearest", None), ("nearest-exact", None), ("linear", None), ("linear", False),
         ("linear", True), ("area", None)]


@pytest.mark.parametrize("mode, align_corners", MODES)
@pytest.mark.parametrize("kwargs, length", RESIZES)
def test_interpolate_matches_pytorch(device, mode, align_corners, kwargs, length):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).standard_normal((2, 3, length))
    options = dict(kwargs, mode=mode, align_corners=align_corners)
    value, gradient = _compare(lambda t: F.interpolate(t, **options),
                               lambda t: torch.nn.functional.interpolate(t, **options),
                               x, device)
    assert value < 1e-13
    if mode == "nearest" and kwargs == dict(scale_factor=1.1):
        # The length kept: PyTorch's forward reads floor(l / 1.1), but its backward copies
        # (not the adjoint of that forward). Ours is the adjoint: gradcheck in CASES.
        assert gradient > 0.1
    else:
        assert gradient < 1e-13


def test_linear_is_bilinear_over_height_1_with_the_height_untouched():
    """The height of 1 is copied (out = in), so align_corners changes only the length:
    PyTorch's numbers for 0, 1, 2 resized to 5."""
    row = mg.arange(3.0).reshape(1, 1, 3)
    np.testing.assert_allclose(F.interpolate(row, size=5, mode="linear",
                                             align_corners=True).numpy().ravel(),
                               [0.0, 0.5, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(F.interpolate(row, size=5, mode="linear").numpy().ravel(),
                               [0.0, 0.4, 1.0, 1.6, 2.0], atol=1e-6)
    assert F.interpolate(row, scale_factor=1.1).numpy().ravel().tolist() == [0.0, 0.0, 1.0]


LAYERS = [  # name, args, kwargs, input shape
    ("AvgPool1d", (3, 2, 1), {}, (2, 3, 9)),
    ("AvgPool1d", (3, 2, 1), {"ceil_mode": True, "count_include_pad": False}, (1, 2, 8)),
    ("AvgPool1d", (2,), {}, (3, 7)),
    ("MaxPool1d", (3, 2, 1), {}, (2, 3, 9)),
    ("MaxPool1d", (2,), {"ceil_mode": True}, (3, 7)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 9)),
    ("AdaptiveAvgPool1d", (1,), {}, (3, 7)),
    ("Upsample", (), {"scale_factor": 2}, (2, 3, 5)),
    ("Upsample", (), {"size": 8, "mode": "linear"}, (2, 3, 5)),
    ("Upsample", (), dict(scale_factor=1.5, mode="linear", align_corners=True), (1, 2, 6)),
    ("ZeroPad1d", ((1, 3),), {}, (2, 3, 5)),
    ("ConstantPad1d", (2, 3.5), {}, (3, 5)),
    ("ReflectionPad1d", ((3, 1),), {}, (2, 3, 5)),
    ("ReflectionPad1d", (2,), {}, (3, 5)),
    ("ReplicationPad1d", ((1, 4),), {}, (2, 3, 5)),
    ("ReplicationPad1d", (2,), {}, (3, 5)),
    ("CircularPad1d", ((2, 5),), {}, (2, 3, 5)),
    ("CircularPad1d", (1,), {}, (3, 5)),
]


@pytest.mark.parametrize("name, args, kwargs, shape", LAYERS)
def test_layers_match_pytorch(device, name, args, kwargs, shape):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(6).standard_normal(shape)
    value, gradient = _compare(ours, theirs, x, device)
    assert value < 1e-13 and gradient < 1e-13


def test_max_pool1d_layer_returns_indices():
    x = mg.tensor([[[1.0, 3.0, 2.0, 5.0, 4.0]]])
    values, indices = nn.MaxPool1d(2, return_indices=True)(x)
    assert values.numpy().ravel().tolist() == [3.0, 5.0]
    assert indices.numpy().ravel().tolist() == [1, 3]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("widths", [(1, 2), (0, 3), (4, 0), (-1, 2), (2, -2), (4, 4)])
@pytest.mark.parametrize("shape", [(2, 3, 5), (3, 5)])
def test_pad_of_signals_matches_pytorch(mode, widths, shape):
    """F.pad of (N, C, L) and (C, L) with (left, right), as PyTorch (which the 1-D padding
    layers use); where PyTorch refuses the widths, so does F.pad."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(8).standard_normal(shape)
    try:
        torch.nn.functional.pad(torch.tensor(x), widths, mode)
    except (RuntimeError, ValueError, NotImplementedError):
        with pytest.raises(ValueError, match="pad: "):
            F.pad(mg.tensor(x), widths, mode)
        return
    value, gradient = _compare(lambda t: F.pad(t, widths, mode),
                               lambda t: torch.nn.functional.pad(t, widths, mode), x, "cpu")
    assert value == 0 and gradient < 1e-13        # (the order of the sums may differ)


# ------------------------------------------------------------------------------ bad input

BAD = [  # what, error, the words (each names the 1-D op)
    (lambda: F.avg_pool1d(mg.zeros(2, 3, 5, 5), 2), ValueError,
     "avg_pool1d: input must be 3-D (N, C, L) or 2-D (C, L), got shape (2, 3, 5, 5)"),
    (lambda: F.max_pool1d(mg.zeros(5), 2), ValueError,
     "max_pool1d: input must be 3-D (N, C, L) or 2-D (C, L), got shape (5,)"),
    (lambda: F.adaptive_avg_pool1d(mg.zeros(1, 2, 3, 5), 2), ValueError,
     "adaptive_avg_pool1d: input must be 3-D (N, C, L) or 2-D (C, L)"),
    (lambda: F.avg_pool1d(np.zeros((2, 3, 5)), 2), TypeError,
     "avg_pool1d: input must be a Tensor, got ndarray"),
    (lambda: F.avg_pool1d(mg.zeros(2, 3, 5), (2, 2)), ValueError,
     "avg_pool1d: kernel_size must be an int or a 1-tuple, got (2, 2)"),
    (lambda: F.max_pool1d(mg.zeros(2, 3, 5), 2.5), TypeError,
     "max_pool1d: kernel_size must be an int, got 2.5"),
    (lambda: F.max_pool1d(mg.zeros(2, 3, 5), 2, stride=True), TypeError,
     "max_pool1d: stride must be an int, got True"),
    (lambda: F.avg_pool1d(mg.zeros(2, 3, 5), 2, padding=(1, 1)), ValueError,
     "avg_pool1d: padding must be an int or a 1-tuple, got (1, 1)"),
    (lambda: F.adaptive_avg_pool1d(mg.zeros(2, 3, 5), None), TypeError,
     "adaptive_avg_pool1d: output_size must be an int, got None"),
    (lambda: F.adaptive_avg_pool1d(mg.zeros(2, 3, 5), (2, 2)), ValueError,
     "adaptive_avg_pool1d: output_size must be an int or a 1-tuple, got (2, 2)"),
    # errors of the 2-D op say which 1-D op ran it, with the 2-D shapes
    (lambda: F.avg_pool1d(mg.zeros(2, 3, 5), 6), ValueError,
     "avg_pool1d (an avg_pool2d of height 1): avg_pool2d: kernel (1, 6)"),
    (lambda: F.max_pool1d(mg.zeros(2, 3, 5), 3, 1, 2), ValueError,
     "max_pool1d (a max_pool2d of height 1): max_pool2d: padding (0, 2) must be at most "
     "half the kernel size (1, 3)"),
    (lambda: F.avg_pool1d(mg.zeros(2, 3, 5), 2, 0), ValueError,
     "avg_pool1d (an avg_pool2d of height 1): avg_pool2d: kernel size (1, 2), stride (1, 0)"),
    (lambda: F.adaptive_avg_pool1d(mg.zeros(2, 3, 5), 0), ValueError,
     "adaptive_avg_pool1d (an adaptive_avg_pool2d of height 1): adaptive_avg_pool2d: output "
     "size (1, 0) must be positive"),
    (lambda: F.max_pool1d(mg.zeros(2, 3, 5), 2, dilation=2), NotImplementedError,
     "max_pool1d (a max_pool2d of height 1): max_pool2d: dilation != 1 is not implemented"),
    # the layers reach the same checks
    (lambda: nn.AvgPool1d(2)(mg.zeros(2, 3, 5, 5)), ValueError,
     "avg_pool1d: input must be 3-D"),
    (lambda: nn.MaxPool1d(2)(mg.zeros(5)), ValueError, "max_pool1d: input must be 3-D"),
    (lambda: nn.AdaptiveAvgPool1d(2)(mg.zeros(1, 1, 2, 5)), ValueError,
     "adaptive_avg_pool1d: input must be 3-D"),
    (lambda: nn.ReflectionPad1d((1, 2, 3)), ValueError,
     "ReflectionPad1d: padding must be an int or (left, right), got (1, 2, 3)"),
    (lambda: nn.ZeroPad1d((1, 1, 1, 1)), ValueError,
     "ZeroPad1d: padding must be an int or (left, right)"),
    (lambda: nn.ReflectionPad1d(5)(mg.zeros(2, 3, 5)), ValueError,
     "pad: mode 'reflect' needs widths of at most 4 for dim 2 of size 5"),
    (lambda: nn.ReplicationPad1d(1)(mg.zeros(5)), ValueError,
     "pad: mode 'replicate' pads the last 1, 2 or 3 dims of an input with one or two dims "
     "more"),
    # interpolate of a signal
    (lambda: F.interpolate(mg.zeros(3, 5), size=4), ValueError,
     "interpolate: input must be 4-D (N, C, H, W) or 3-D (N, C, L), got shape (3, 5)"),
    (lambda: F.interpolate(mg.zeros(2, 3, 5), size=(4, 4)), ValueError,
     "interpolate: size must be one number or a 1-tuple for a signal (N, C, L), got (4, 4)"),
    (lambda: F.interpolate(mg.zeros(2, 3, 5), size=2.5), TypeError,
     "interpolate: size must be an int or a 1-tuple of ints, got 2.5"),
    (lambda: F.interpolate(mg.zeros(2, 3, 5), scale_factor="2"), TypeError,
     "interpolate: scale_factor must be a number or a 1-tuple of numbers, got '2'"),
    (lambda: F.interpolate(mg.zeros(2, 3, 5), size=0), ValueError,
     "interpolate: output size (0,) for input (2, 3, 5) must be positive"),
    (lambda: F.interpolate(mg.zeros(2, 3, 5), scale_factor=0.1), ValueError,
     "interpolate: output size (0,) for input (2, 3, 5) must be positive"),
    (lambda: F.interpolate(mg.zeros(2, 3, 5), scale_factor=float("nan")), ValueError,
     "interpolate: scale_factor must be positive and finite, got nan"),
    (lambda: F.interpolate(mg.zeros(2, 3, 5), size=4, align_corners=True), ValueError,
     "interpolate: align_corners can only be set with mode='linear'"),
    (lambda: F.interpolate(mg.zeros(2, 3, 5), size=4, mode="bicubic"), NotImplementedError,
     "interpolate: mode 'bicubic' is not implemented"),
]


@pytest.mark.parametrize("make_bad, error, words", BAD)
def test_bad_input_names_the_op(make_bad, error, words):
    with pytest.raises(error, match=re.escape(words)):
        make_bad()


@pytest.mark.parametrize("shape, mode, words", [
    ((2, 3, 5), "bilinear",
     "mode 'bilinear' needs 4-D (N, C, H, W) input, got shape (2, 3, 5) (use mode='linear')"),
    ((1, 2, 3, 5), "linear",
     "mode 'linear' needs 3-D (N, C, L) input, got shape (1, 2, 3, 5) (use mode='bilinear')"),
])
def test_linear_and_bilinear_refuse_each_others_input_as_pytorch(shape, mode, words):
    """PyTorch: "Got 3D input, but bilinear mode needs 4D input" (and the converse), a
    NotImplementedError; the same error here, also from nn.Upsample."""
    torch = pytest.importorskip("torch")
    with pytest.raises(NotImplementedError, match="needs"):
        torch.nn.functional.interpolate(torch.zeros(shape), size=4, mode=mode)
    with pytest.raises(NotImplementedError, match=re.escape(f"interpolate: {words}")):
        F.interpolate(mg.zeros(*shape), size=4, mode=mode)
    with pytest.raises(NotImplementedError, match=re.escape(words)):
        nn.Upsample(size=4, mode=mode)(mg.zeros(*shape))


def test_the_new_names_are_exported():
    for name in ["avg_pool1d", "max_pool1d", "adaptive_avg_pool1d"]:
        assert callable(getattr(F, name))
    for name in ["AvgPool1d", "MaxPool1d", "AdaptiveAvgPool1d", "ZeroPad1d", "ConstantPad1d",
                 "ReflectionPad1d", "ReplicationPad1d", "CircularPad1d"]:
        assert name in nn.__all__ and name in nn.layers.__all__
        assert issubclass(getattr(nn, name), nn.Module)
