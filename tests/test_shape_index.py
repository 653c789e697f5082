"""Shape and index ops where numpy and PyTorch disagree: minigrad does what PyTorch does.

The expected values are written with numpy in the form PyTorch's rule gives them
(integers first, as basic indexing: x[0, :, [1, 2]] is x[0][:, [1, 2]]), so the tests
need no torch. Each case was checked against torch 2.x when it was written.
"""
import numpy as np
import pytest
from conftest import make

import minigrad as mg


def on(x, values):
    """A constant index tensor on x's device."""
    return mg.tensor(np.asarray(values), device=x.device)


def scatter(shape, key, g):
    """The gradient x[key] sends back: zeros of x's shape with g added at key."""
    out = np.zeros(shape)
    np.add.at(out, key, g)
    return out


# ------------------------------------------------------------ permute, flatten, expand
@pytest.mark.parametrize("dims", [(3, 1, 2), (0, 1, 5), (0, -4, 1)])
def test_permute_dims_out_of_range_raise(dims, device):
    # d % ndim used to wrap 3 to 0 and 5 to 2: an identity permutation, no error.
    with pytest.raises(IndexError, match=r"permute.*\(2, 3, 4\)"):
        mg.zeros(2, 3, 4, device=device).permute(*dims)


@pytest.mark.parametrize("dims", [(0, 1, 1), (0, -3, 1), (0, 1)])
def test_permute_dims_that_are_not_a_permutation_raise(dims, device):
    with pytest.raises(ValueError, match=r"permute.*\(2, 3, 4\)"):
        mg.zeros(2, 3, 4, device=device).permute(*dims)


def test_permute_negative_dims_still_work(device):
    x = make((2, 3, 4), device, seed=1)
    np.testing.assert_array_equal(x.permute(-1, 0, 1).numpy(),
                                  x.numpy().transpose(2, 0, 1))


@pytest.mark.parametrize("start, end", [(1, 0), (2, 1), (-1, 0), (2, -2)])
def test_flatten_start_after_end_raises(start, end, device):
    # flatten(1, 0) used to insert a dimension of size 1: shape (2, 1, 3, 4).
    with pytest.raises(ValueError, match=r"flatten.*start_dim.*end_dim.*\(2, 3, 4\)"):
        mg.zeros(2, 3, 4, device=device).flatten(start, end)


def test_flatten_a_single_dim_is_a_no_op(device):
    assert mg.zeros(2, 3, 4, device=device).flatten(1, 1).shape == (2, 3, 4)
    assert mg.zeros(2, 3, 4, device=device).flatten(-2, 1).shape == (2, 3, 4)


def test_expand_minus_one_in_a_new_leading_dim_raises(device):
    # -1 there used to take the size of the LAST existing dim: (3, 1) -> (1, 3, 4).
    with pytest.raises(ValueError, match=r"expand.*\(3, 1\).*\(-1, 3, 4\).*leading"):
        mg.zeros(3, 1, device=device).expand(-1, 3, 4)


def test_expand_minus_one_keeps_an_existing_dim(device):
    assert mg.zeros(3, 1, device=device).expand(2, -1, 4).shape == (2, 3, 4)
    assert mg.zeros(3, 1, device=device).expand(-1, 4).shape == (3, 4)


# ------------------------------------------------------------ indexing, PyTorch's rules
# (id, key as minigrad takes it, the same selection written as numpy steps, torch's shape)
MIXED = [
    ("int-slice-list", lambda x: (0, slice(None), [1, 2]),
     lambda a: a[0][:, [1, 2]], (3, 2, 5)),
    ("int-slice-list-repeats", lambda x: (0, slice(None), [1, 1, 2]),
     lambda a: a[0][:, [1, 1, 2]], (3, 3, 5)),
    ("slice-int-slice-list", lambda x: (slice(None), 1, slice(None), [2]),
     lambda a: a[:, 1][:, :, [2]], (2, 4, 1)),
    ("int-slice-tensor", lambda x: (1, slice(None), on(x, [0, 2, 2])),
     lambda a: a[1][:, [0, 2, 2]], (3, 3, 5)),
    ("0d-tensor-is-an-int", lambda x: (on(x, 1), slice(None), [3, 0]),
     lambda a: a[1][:, [3, 0]], (3, 2, 5)),
    ("int-none-list", lambda x: (0, None, [1, 2]),
     lambda a: a[0][None, [1, 2]], (1, 2, 4, 5)),
    ("int-bool-mask", lambda x: (0, slice(None), on(x, [True, False, True, True])),
     lambda a: a[0][:, [0, 2, 3]], (3, 3, 5)),
    ("nested-list-is-a-tuple", lambda x: [[0, 1], [1, 0]],
     lambda a: a[[0, 1], [1, 0]], (2, 4, 5)),
    ("list-of-one-list", lambda x: [[1, 0]],
     lambda a: a[[1, 0]], (2, 3, 4, 5)),
    ("empty-list", lambda x: [],
     lambda a: a[np.array([], dtype=np.int64)], (0, 3, 4, 5)),
]
# keys that numpy already read as PyTorch does: they must stay as they were
SAME = [
    ("ellipsis-int-list", lambda x: (Ellipsis, 0, [1, 1]),
     lambda a: a[:, :, 0][..., [1, 1]], (2, 3, 2)),
    ("list-slice-int", lambda x: ([1, 0], slice(None), 0),
     lambda a: a[:, :, 0][[1, 0], :], (2, 3, 5)),
    ("empty-list-in-a-tuple", lambda x: (slice(None), [], 0),
     lambda a: a[:, :, 0][:, np.array([], dtype=np.int64)], (2, 0, 5)),
    ("ints-negative", lambda x: (-1, 0, -2), lambda a: a[-1, 0, -2], (5,)),
    ("slices-steps", lambda x: (slice(1, None), slice(0, 3, 2)),
     lambda a: a[1:, 0:3:2], (1, 2, 4, 5)),
    ("none-ellipsis-int", lambda x: (None, Ellipsis, 1), lambda a: a[None, ..., 1], (1, 2, 3, 4)),
    ("list-repeats", lambda x: [1, 1, 0], lambda a: a[[1, 1, 0]], (3, 3, 4, 5)),
    ("two-lists-adjacent", lambda x: (slice(None), [0, 2, 2], [1, 1, 3]),
     lambda a: a[:, [0, 2, 2], [1, 1, 3]], (2, 3, 5)),
    ("two-lists-apart", lambda x: ([0, 1], slice(None), [1, 3]),
     lambda a: a[[0, 1], :, [1, 3]], (2, 3, 5)),
    ("list-int-list", lambda x: ([0, 1], 2, [0, 3]), lambda a: a[[0, 1], 2, [0, 3]], (2, 5)),
    ("tensor-2d", lambda x: on(x, [[0, 1], [1, 1]]), lambda a: a[[[0, 1], [1, 1]]],
     (2, 2, 3, 4, 5)),
    ("bool-mask-2d", lambda x: on(x, [[True, False, True], [False, True, True]]),
     lambda a: a[np.array([[True, False, True], [False, True, True]])], (4, 4, 5)),
]


@pytest.mark.parametrize("key, numpy_steps, shape",
                         [pytest.param(*case[1:], id=case[0]) for case in MIXED + SAME])
def test_getitem_values_and_gradient_follow_pytorch(key, numpy_steps, shape, device):
    x = make((2, 3, 4, 5), device, seed=2)
    a = x.numpy()
    y = x[key(x)]
    assert y.shape == shape
    np.testing.assert_array_equal(y.numpy(), numpy_steps(a))
    # the gradient: g sent back to where each element came from, repeats adding up
    g = np.random.default_rng(3).standard_normal(shape)
    y.backward(mg.tensor(g, dtype=mg.float64, device=device))
    positions = np.arange(a.size).reshape(a.shape)
    expected = scatter(a.size, numpy_steps(positions).ravel(), g.ravel()).reshape(a.shape)
    np.testing.assert_allclose(x.grad.numpy(), expected)


@pytest.mark.parametrize("key", [pytest.param(case[1], id=case[0]) for case in MIXED + SAME])
def test_getitem_gradcheck_and_gradgradcheck(key, device):
    x = make((2, 3, 4, 5), device, seed=4)
    k = key(x)
    assert mg.gradcheck(lambda t: t[k], [x])
    assert mg.gradgradcheck(lambda t: t[k] ** 2, [x])


def test_int_and_array_index_out_of_range_names_the_whole_key(device):
    with pytest.raises(IndexError, match=r"getitem.*\(0, slice\(None, None, None\), "
                                         r"array\(\[1, 9\]\)\).*\(2, 3, 4\)"):
        mg.zeros(2, 3, 4, device=device)[0, :, [1, 9]]


def test_squeeze_takes_a_tuple_and_0d_tensors_take_dim_0_or_minus_1(device):
    """As in PyTorch 2: squeeze((0, 2)) drops those axes that have size 1; a 0-d tensor
    accepts dim 0 and -1 in squeeze, unsqueeze and transpose (and nothing else)."""
    x = mg.zeros(1, 3, 1, 2, device=device)
    assert x.squeeze((0, 2)).shape == (3, 2)
    assert x.squeeze((0, 1)).shape == (3, 1, 2)          # axis 1 has size 3: stays
    assert x.squeeze([-2]).shape == (1, 3, 2)
    assert x.squeeze(1) is x
    s = mg.tensor(5.0, device=device)
    for dim in (0, -1):
        assert s.squeeze(dim).shape == () and s.transpose(0, dim).shape == ()
        assert s.unsqueeze(dim).shape == (1,)
    with pytest.raises(IndexError, match=r"squeeze: dimension 1 .* \[-1, 0\]"):
        s.squeeze(1)
    with pytest.raises(IndexError, match="transpose: dimension -2"):
        s.transpose(0, -2)
    w = make((1, 3, 1), device, seed=3)
    assert mg.gradcheck(lambda t: t.squeeze((0, 2)) * 2.0, [w])


@pytest.mark.parametrize("step, shape, message", [
    ((np.array([0, 3]),), (3, 5), "index 3 is out of bounds for axis 0 with size 3"),
    ((slice(None), np.array([-6, 1])), (3, 5), "index -6 is out of bounds for axis 1"),
    ((Ellipsis, np.array([4])), (2, 3, 4), "index 4 is out of bounds for axis 2"),
    ((None, slice(None), np.array([3])), (2, 3), "index 3 is out of bounds for axis 1"),
    ((np.ones((2, 3), bool), np.array([7])), (2, 3, 7), "index 7 is out of bounds "
                                                         "for axis 2"),
])
def test_check_bounds_finds_the_axis_of_an_index_array(step, shape, message):
    """CuPy wraps an index past the end around; for a GPU array check_bounds raises
    numpy's error first, at the axis the index array indexes (after slices, None,
    Ellipsis and boolean masks). For a CPU array numpy checks, and check_bounds does not."""
    from minigrad.ops.index import check_bounds

    with pytest.raises(IndexError, match=message) as info:
        check_bounds(step, shape, on_gpu=True)
    assert "out of bounds" in str(info.value)
    assert check_bounds(step, shape, on_gpu=False) is None       # left to numpy
    inside = tuple(np.zeros_like(k) if isinstance(k, np.ndarray) and k.dtype != bool else k
                   for k in step)
    assert check_bounds(inside, shape, on_gpu=True) is None      # in range: nothing raised


@pytest.mark.parametrize("index", [lambda d: np.array([1, 9]),
                                   lambda d: mg.tensor([1, 9]),
                                   lambda d: mg.tensor([1, 9], device=d)],
                         ids=["numpy", "cpu-tensor", "same-device-tensor"])
def test_an_index_array_out_of_range_raises_whatever_its_device(index, device):
    x = mg.zeros(2, 3, 4, device=device)
    with pytest.raises(IndexError, match=r"getitem.*out of bounds for axis 1 with size 4"):
        x[0, :, index(device)]
    with pytest.raises(IndexError, match=r"setitem.*out of bounds for axis 1 with size 4"):
        x[0, :, index(device)] = 1.0
    assert x.numpy().sum() == 0                                   # nothing was written
