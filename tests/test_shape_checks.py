"""minigrad/ops/shape.py and index.py: bad sizes, dims and indices are refused with a
message that names the op and the value (as PyTorch refuses them, never cut by int() or
wrapped around), the input left as it was; and repeat_interleave, to second order.
Each refusal was checked against torch 2.x when it was written."""
import numpy as np
import pytest
from conftest import make

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import repeat_interleave


def refused(error, match, fn, x):
    """fn(x) raises error (its message matching), and x keeps its values and no grad."""
    before = x.numpy().copy()
    with pytest.raises(error, match=match):
        fn(x)
    np.testing.assert_array_equal(x.numpy(), before)
    assert x.grad is None


# --------------------------------------------------- sizes and dims: ints, never cut
NOT_WHOLE = [   # (id, shape, op on x, the message); int() used to take 2.5 as 2, True as 1
    ("reshape-float", (6,), lambda x: x.reshape(2.0, 3),
     r"reshape: each size in \(2\.0, 3\) must be an int, got 2\.0"),
    ("reshape-bool", (6,), lambda x: x.reshape(True, 6), r"reshape: .* got True"),
    ("view-float", (6,), lambda x: x.view(2.5, -1), r"reshape: .* got 2\.5"),
    ("expand-float", (6,), lambda x: x.expand(2.0, 6),
     r"expand: each size in \(2\.0, 6\) must be an int, got 2\.0"),
    ("repeat-float", (6,), lambda x: x.repeat(2.0, 1), r"repeat: .* got 2\.0"),
    ("split-float", (6,), lambda x: x.split(2.0),
     r"split: split_size \(or a list of sizes\) must be an int, got 2\.0"),
    ("split-string", (6,), lambda x: x.split("a"), r"split: .* got 'a'"),
    ("split-list-float", (6,), lambda x: x.split([2.0, 4]),
     r"split: each size in \[2\.0, 4\] must be an int, got 2\.0"),
    ("split-list-bool", (6,), lambda x: x.split([True, 5]), r"split: .* got True"),
    ("pad-float", (1, 2, 3, 3), lambda x: F.pad(x, (1.5, 1)),
     r"pad: each width in \(1\.5, 1\) must be an int, got 1\.5"),
    ("pad-bool", (1, 2, 3, 3), lambda x: F.pad(x, (True, 1), mode="reflect"),
     r"pad: .* got True"),
    ("pixel_shuffle-float", (1, 4, 2, 2), lambda x: F.pixel_shuffle(x, 2.0),
     r"pixel_shuffle: upscale_factor must be an int, got 2\.0"),
    ("pixel_unshuffle-float", (1, 1, 4, 4), lambda x: F.pixel_unshuffle(x, 2.0),
     r"pixel_unshuffle: downscale_factor must be an int, got 2\.0"),
    ("cat-dim-float", (2, 2), lambda x: mg.cat([x, x], dim=1.0),
     r"cat: dim must be an int, got 1\.0"),
    ("cat-dim-bool", (2, 2), lambda x: mg.cat([x, x], dim=True), r"cat: dim .* got True"),
    ("stack-dim-float", (2, 2), lambda x: mg.stack([x, x], dim=1.0), r"stack: dim .* 1\.0"),
    ("unsqueeze-float", (2, 2), lambda x: x.unsqueeze(1.0), r"unsqueeze: dim .* 1\.0"),
    ("transpose-float", (2, 2), lambda x: x.transpose(0, 1.0), r"transpose: dim .* 1\.0"),
    ("permute-float", (2, 2), lambda x: x.permute(0, 1.0), r"permute: .* got 1\.0"),
    ("flip-float", (2, 2), lambda x: x.flip(1.0), r"flip: dim .* 1\.0"),
    ("split-dim-float", (2, 2), lambda x: x.split(1, 1.0), r"split: dim .* 1\.0"),
    ("reshape-tensor-float", (6,), lambda x: x.reshape(mg.tensor(2.0), 3),
     r"reshape: .* got a float32 Tensor of shape \(\)"),
]


@pytest.mark.parametrize("shape, fn, match", [pytest.param(*c[1:], id=c[0]) for c in NOT_WHOLE])
def test_sizes_and_dims_that_are_not_ints_are_refused(shape, fn, match, device):
    refused(TypeError, match, fn, make(shape, device, seed=1))


def test_numpy_ints_and_one_element_int_tensors_are_still_sizes(device):
    """What PyTorch takes as an int (an __index__) still works."""
    x = make((6,), device, seed=2)
    assert x.reshape(np.int64(2), 3).shape == (2, 3)
    assert x.view(mg.tensor(2), -1).shape == (2, 3)
    assert [p.shape for p in x.split(mg.tensor(4))] == [(4,), (2,)]
    assert mg.cat([x, x], dim=np.int64(0)).shape == (12,)
    assert F.pad(x.reshape(1, 6), (np.int64(1), 0)).shape == (1, 7)


@pytest.mark.parametrize("fn, match", [
    (lambda x: F.pixel_shuffle(x, -2), r"pixel_shuffle: upscale_factor must be positive, "
                                       r"got -2"),
    (lambda x: F.pixel_shuffle(x, 0), r"pixel_shuffle: upscale_factor must be positive"),
    (lambda x: F.pixel_unshuffle(x, -1), r"pixel_unshuffle: downscale_factor must be "
                                         r"positive, got -1"),
], ids=["shuffle-negative", "shuffle-zero", "unshuffle-negative"])
def test_pixel_shuffle_factors_below_one_are_refused_first(fn, match, device):
    # -2 used to say "4 channels are not divisible by upscale_factor^2 = 4"
    refused(ValueError, match, fn, make((1, 4, 2, 2), device, seed=3))


# ------------------------------------------------------- padding an empty dim by copying
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_copying_pad_modes_refuse_to_pad_an_empty_dim(mode, device):
    # replicate used to fail in getitem, showing its internal index array [-1, -1]
    x = mg.zeros(1, 2, 0, 4, device=device)
    with pytest.raises(ValueError, match=rf"pad: mode '{mode}' cannot pad dim 2 of size 0 "
                                         rf"\(shape \(1, 2, 0, 4\), widths \(1, 1\)\)"):
        F.pad(x, (1, 1, 1, 1), mode=mode)
    assert F.pad(x, (1, 1, 0, 0), mode=mode).shape == (1, 2, 0, 6)   # not padded: fine


# ------------------------------------------------------------------------------- cat
def test_cat_refuses_zero_dimensional_tensors(device):
    # numpy's "zero-dimensional arrays cannot be concatenated" named neither op nor which
    s = mg.tensor(1.0, device=device, requires_grad=True)
    v = make((2,), device, seed=4)
    refused(ValueError, r"cat: zero-dimensional tensor \(at position 1\) cannot be "
                        r"concatenated", lambda t: mg.cat([t, s]), v)
    assert mg.stack([s, s]).shape == (2,)                      # what stack is for


# ------------------------------------------------- index_select, gather and one_hot
def test_index_select_refuses_negative_and_past_the_end_indices(device):
    # -1 used to wrap around to the last entry, as x[-1] does; PyTorch refuses it
    x = make((3, 4), device, seed=5)
    for values, shown in (([-1, 0], r"\[-1, 0\]"), ([0, 4], r"\[0, 4\]")):
        refused(IndexError, rf"index_select: index values must be in \[0, 4\) for dim 1 of "
                            rf"input \(3, 4\), got {shown}",
                lambda t: t.index_select(1, mg.tensor(values, device=device)), x)


@pytest.mark.parametrize("index, error, match", [
    (lambda d: mg.tensor([[1, 0]], device=d), IndexError,
     r"index_select: index must be a vector \(0-d or 1-D\), got shape \(1, 2\)"),
    (lambda d: mg.tensor([1.0], device=d), TypeError,
     r"index_select: index must be an integer tensor, got float32"),
    (lambda d: [1, 0], TypeError, r"index_select: index must be a Tensor, got list"),
    (lambda d: np.array([1, 0]), TypeError, r"index_select: index must be a Tensor, got "
                                            r"ndarray"),
], ids=["2-d", "float", "list", "numpy"])
def test_index_select_wants_a_vector_of_integers(index, error, match, device):
    # a 2-D index used to give a 3-D result; a list used to be taken
    refused(error, match, lambda t: t.index_select(0, index(device)),
            make((3, 4), device, seed=6))


def test_index_select_values_gradient_and_a_0d_index(device):
    x = make((3, 4), device, seed=7)
    y = x.index_select(0, mg.tensor([2, 0, 2], device=device))
    np.testing.assert_array_equal(y.numpy(), x.numpy()[[2, 0, 2]])
    assert x.index_select(1, mg.tensor(3, device=device)).shape == (3, 1)   # as PyTorch
    s = mg.tensor(5.0, device=device)
    assert s.index_select(0, mg.tensor([0], device=device)).shape == ()
    with pytest.raises(IndexError, match="index_select: a 0-d input takes an index of one "
                                         "value, got 2"):
        s.index_select(0, mg.tensor([0, 0], device=device))
    index = mg.tensor([2, 0, 2], device=device)
    assert mg.gradcheck(lambda t: t.index_select(0, index), [x])
    assert mg.gradgradcheck(lambda t: t.index_select(0, index) ** 2, [x])


def test_gather_and_one_hot_want_a_tensor_as_pytorch(device):
    x = make((2, 3), device, seed=8)
    refused(TypeError, r"gather: index must be a Tensor, got list \(wrap it",
            lambda t: t.gather(1, [[0, 1]]), x)
    with pytest.raises(TypeError, match=r"one_hot: class indices must be a Tensor, got list"):
        F.one_hot([0, 1])
    with pytest.raises(TypeError, match=r"one_hot: class indices must be a Tensor, got "
                                        r"ndarray"):
        F.one_hot(np.array([0, 1]))


# ------------------------------------------------------------------ repeat_interleave
def counts(values):
    """A repeats tensor on x's device."""
    return lambda x: mg.tensor(np.asarray(values), device=x.device)


def repeats_int(r):
    return lambda x: r


RI_CASES = [   # (id, shape, repeats, dim): an int, a tensor, one count for all, batch 1
    ("int-flattened", (2, 3), repeats_int(2), None),
    ("int-dim1", (2, 3, 2), repeats_int(3), 1),
    ("int-last-batch1", (1, 3), repeats_int(2), -1),
    ("int-dim0-batch1", (1, 2, 2), repeats_int(2), 0),
    ("tensor-with-0", (2, 3), counts([1, 0, 3]), 1),
    ("tensor-flattened", (2, 2), counts([0, 2, 1, 3]), None),
    ("one-count-for-all", (1, 2, 2), counts([2]), -1),
    ("0d-count-for-all", (2, 3), counts(3), 0),
]


@pytest.mark.parametrize("shape, repeats, dim", [pytest.param(*c[1:], id=c[0])
                                                 for c in RI_CASES])
def test_repeat_interleave_values_gradcheck_and_gradgradcheck(shape, repeats, dim, device):
    x = make(shape, device, seed=9)
    r = repeats(x)
    y = repeat_interleave(x, r, dim)
    reps = r if isinstance(r, int) else r.numpy()
    np.testing.assert_array_equal(y.numpy(), np.repeat(x.numpy(), reps, axis=dim))
    np.testing.assert_array_equal(x.repeat_interleave(r, dim).numpy(), y.numpy())  # method
    assert mg.gradcheck(lambda t: repeat_interleave(t, r, dim), [x])
    assert mg.gradgradcheck(lambda t: repeat_interleave(t, r, dim) ** 2, [x])


def test_repeat_interleave_edge_cases(device):
    x = make((2, 3), device, seed=10)
    assert repeat_interleave(x, 0, 1).shape == (2, 0)
    assert repeat_interleave(mg.tensor(3.0, device=device), 2).numpy().tolist() == [3.0, 3.0]
    assert repeat_interleave(mg.zeros(0, 3, device=device), counts([2])(x), 0).shape == (0, 3)
    g = np.random.default_rng(11).standard_normal((2, 4))
    repeat_interleave(x, counts([1, 0, 3])(x), 1).backward(
        mg.tensor(g, dtype=mg.float64, device=device))
    np.testing.assert_allclose(x.grad.numpy(),                  # copies' gradients add up
                               np.stack([g[:, 0], 0 * g[:, 0], g[:, 1:].sum(1)], 1))


@pytest.mark.parametrize("repeats, dim, error, match", [
    (-1, 1, ValueError, r"repeat_interleave: repeats must be non-negative, got -1"),
    (2.0, 1, TypeError, r"repeat_interleave: repeats .* must be an int, got 2\.0"),
    (True, 1, TypeError, r"repeat_interleave: repeats .* must be an int, got True"),
    ([1, 1, 2], 1, TypeError, r"repeat_interleave: repeats .* must be an int, got \[1, 1, 2\]"),
    (counts([1, 2]), 1, ValueError, r"repeat_interleave: repeats has 2 entries, but dim 1 of "
                                    r"input \(2, 3\) has 3"),
    (counts([1, -1, 2]), 1, ValueError, r"repeat_interleave: repeats must be non-negative, "
                                        r"got \[1, -1, 2\]"),
    (counts([1.0, 1.0, 2.0]), 1, TypeError, r"repeat_interleave: a repeats tensor must be 0-d "
                                            r"or 1-D of integers, got float"),
    (counts([[1, 1, 2]]), 1, TypeError, r"repeat_interleave: .* got int64 of shape \(1, 3\)"),
    (2, 2, IndexError, r"repeat_interleave: dimension 2 is out of range"),
    (2, 1.0, TypeError, r"repeat_interleave: dim must be an int, got 1\.0"),
], ids=["negative", "float", "bool", "list", "wrong-length", "negative-count", "float-counts",
        "2-d-counts", "dim-out-of-range", "dim-float"])
def test_repeat_interleave_bad_repeats(repeats, dim, error, match, device):
    x = make((2, 3), device, seed=12)
    r = repeats(x) if callable(repeats) else repeats
    refused(error, match, lambda t: repeat_interleave(t, r, dim), x)


def test_repeat_interleave_of_a_0d_input_needs_dim_none(device):
    refused(IndexError, r"repeat_interleave: a 0-d input has no dim 0",
            lambda t: repeat_interleave(t, 2, 0), mg.tensor(1.0, device=device))
