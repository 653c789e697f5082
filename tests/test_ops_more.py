"""meshgrid, tril / triu, roll, cumsum, narrow, the in-place exp_ and random_, and
nn.init.orthogonal_, proved like the other ops: gradcheck and gradgradcheck in float64 on
both devices, values against numpy here and against PyTorch when it is installed, the
in-place refusals, and the errors for bad input.
"""
import warnings

import numpy as np
import pytest
from conftest import make

import minigrad as mg


def normal(*shape):
    return lambda device, seed: make(shape, device, seed=seed)


def case(id, fn, *makers):
    return pytest.param(fn, makers, id=id)


CASES = [
    # meshgrid: each output a view of one input, repeated (tuples of outputs)
    case("meshgrid-ij", lambda a, b: mg.meshgrid(a, b, indexing="ij"), normal(3), normal(2)),
    case("meshgrid-xy-three", lambda a, b, c: mg.meshgrid(a, b, c, indexing="xy"),
         normal(2), normal(3), normal(4)),
    case("meshgrid-list-batch1", lambda a, b: mg.meshgrid([a, b], indexing="ij"),
         normal(1), normal(3)),
    case("meshgrid-0d", lambda a, b: mg.meshgrid(a, b, indexing="xy"), normal(), normal(3)),
    case("meshgrid-times-itself", lambda a, b: mg.meshgrid(a, b, indexing="ij")[0]
         * mg.meshgrid(a, b, indexing="ij")[1] ** 2, normal(3), normal(2)),
    # tril / triu on the last two dims, batched
    case("tril", lambda x: mg.tril(x), normal(3, 4)),
    case("tril-above-wide", lambda x: x.tril(1), normal(2, 5)),
    case("triu-batched", lambda x: mg.triu(x, -1), normal(2, 3, 4)),
    case("triu-batch1-squared", lambda x: x.triu() * x, normal(1, 3, 3)),
    # roll: split + cat along each dim
    case("roll", lambda x: x.roll(2), normal(5)),
    case("roll-two-dims-negative", lambda x: mg.roll(x, (-1, -2), (0, 2)), normal(2, 3, 4)),
    case("roll-flattened", lambda x: mg.roll(x, 4), normal(2, 3)),
    case("roll-one-dim-twice", lambda x: x.roll((1, 2), (1, 1)) * x, normal(2, 4)),
    case("roll-batch1", lambda x: x.roll(-3, 1), normal(1, 4)),
    # cumsum: CumSum, whose backward is flip(cumsum(flip(gy)))
    case("cumsum-last", lambda x: x.cumsum(-1), normal(2, 3, 4)),
    case("cumsum-first", lambda x: mg.cumsum(x, 0), normal(3, 2)),
    case("cumsum-batch1", lambda x: x.cumsum(1), normal(1, 5)),
    case("cumsum-squared", lambda x: x.cumsum(0) ** 2 * x, normal(4, 2)),
    case("cumsum-0d", lambda x: mg.cumsum(x * x, 0), normal()),
    # narrow: a slice
    case("narrow", lambda x: x.narrow(1, 1, 2), normal(2, 4)),
    case("narrow-negative-start", lambda x: mg.narrow(x, 0, -2, 2) ** 2, normal(3, 2)),
    case("narrow-batch1", lambda x: x.narrow(-1, 0, 1), normal(1, 3)),
]


@pytest.mark.parametrize("fn, makers", CASES)
def test_gradcheck_and_gradgradcheck(fn, makers, device):
    inputs = [make_input(device, seed) for seed, make_input in enumerate(makers)]
    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


def test_values_against_numpy(device):
    a, b, c = np.arange(2.0), np.arange(3.0) + 10, np.arange(4.0) + 20
    ours = [mg.tensor(v, device=device) for v in (a, b, c)]
    for indexing in ("ij", "xy"):
        for got, want in zip(mg.meshgrid(*ours, indexing=indexing),
                             np.meshgrid(a, b, c, indexing=indexing)):
            np.testing.assert_array_equal(got.numpy(), want)
    x_np = np.arange(24.0).reshape(2, 3, 4) - 7
    x = mg.tensor(x_np, device=device)
    for k in (-3, -1, 0, 2, 5):
        np.testing.assert_array_equal(mg.tril(x, k).numpy(), np.tril(x_np, k))
        np.testing.assert_array_equal(x.triu(k).numpy(), np.triu(x_np, k))
    ints = mg.tensor(x_np.astype(np.int32), device=device)
    assert ints.tril().dtype == mg.int32 and not ints.tril().requires_grad
    np.testing.assert_array_equal(ints.triu(1).numpy(), np.triu(x_np, 1))
    np.testing.assert_array_equal(mg.ones(2, 3, dtype=mg.bool, device=device).tril().numpy(),
                                  np.tril(np.ones((2, 3), bool)))
    inf = mg.tensor([[np.inf, np.nan], [1.0, 2.0]], device=device)
    np.testing.assert_array_equal(inf.triu(1).numpy(), [[0.0, np.nan], [0.0, 0.0]])
    np.testing.assert_array_equal(inf.tril(-1).numpy(), [[0.0, 0.0], [1.0, 0.0]])  # no nan
    for shifts, dims in ((1, None), (-7, None), (2, 1), ((1, -2), (0, 2)), ((1, 1), (2, 2)),
                         (3, -1), (0, 0)):
        np.testing.assert_array_equal(mg.roll(x, shifts, dims).numpy(),
                                      np.roll(x_np, shifts, dims))
    assert x.roll(0, 0) is not x and x.roll(4, 2).numpy().tolist() == x_np.tolist()
    assert mg.roll(mg.zeros(0, 3, device=device), 1, 0).shape == (0, 3)
    assert mg.tensor(3.0, device=device).roll(1).item() == 3.0
    for dim in (0, 1, -1):
        np.testing.assert_allclose(x.cumsum(dim).numpy(), np.cumsum(x_np, dim))
    counts = mg.tensor([[True, False, True]], device=device).cumsum(1)
    assert counts.dtype == mg.int64 and counts.numpy().tolist() == [[1, 1, 2]]
    assert ints.cumsum(0).dtype == mg.int64 and not ints.cumsum(0).requires_grad
    assert ints.cumsum(0, dtype=mg.float64).dtype == mg.float64
    assert mg.tensor(2.5, device=device).cumsum(0).item() == 2.5
    np.testing.assert_array_equal(x.narrow(2, 1, 2).numpy(), x_np[:, :, 1:3])
    np.testing.assert_array_equal(x.narrow(0, -1, 1).numpy(), x_np[-1:])
    assert x.narrow(1, 3, 0).shape == (2, 0, 4)
    assert x.narrow(1, mg.tensor(1), 2).shape == (2, 2, 4)        # a 0-d tensor start


def test_gradients_against_their_formulas(device):
    x = make((3, 4), device, seed=1)
    g = np.random.default_rng(2).standard_normal((3, 4))
    weights = mg.tensor(g, dtype=mg.float64, device=device)
    (x.cumsum(1) * weights).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cumsum(g[:, ::-1], 1)[:, ::-1])  # reversed
    x.grad = None
    (mg.roll(x, (1, -1), (0, 1)) * weights).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.roll(g, (-1, 1), (0, 1)))     # rolled back
    x.grad = None
    (x.triu(1) * weights).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.triu(g, 1))
    x.grad = None
    x.narrow(1, 1, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 1, 0]] * 3)
    a, b = make((3,), device, seed=3), make((2,), device, seed=4)
    first, second = mg.meshgrid(a, b, indexing="xy")                # (2, 3) each
    (first + second * 10.0).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0, 2.0])  # summed over copies
    np.testing.assert_array_equal(b.grad.numpy(), [30.0, 30.0])


def test_meshgrid_warns_without_indexing_as_pytorch_does(device):
    a, b = mg.zeros(2, device=device), mg.zeros(3, device=device)
    with pytest.warns(UserWarning, match="meshgrid: pass indexing="):
        grids = mg.meshgrid(a, b)
    assert [t.shape for t in grids] == [(2, 3), (2, 3)]                  # "ij"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mg.meshgrid(a, b, indexing="xy")[0].shape == (3, 2)
        assert mg.meshgrid([a], indexing="xy")[0].shape == (2,)       # one: nothing to swap


def test_exp_in_place(device):
    x_np = np.array([0.0, 1.0, -2.0])
    x = mg.tensor(x_np, dtype=mg.float64, device=device)
    version = x._version
    assert x.exp_() is x and x._version == version + 1
    np.testing.assert_allclose(x.numpy(), np.exp(x_np), rtol=1e-15)
    view = x[1:]
    view.exp_()                                                      # writes through a view
    np.testing.assert_allclose(x.numpy()[1:], np.exp(np.exp(x_np[1:])), rtol=1e-15)
    with pytest.raises(TypeError, match="exp_: only floating point tensors, got int64"):
        mg.tensor([1, 2], device=device).exp_()


def test_random_in_place_ranges_dtypes_and_seed(device):
    x = mg.zeros(2000, device=device)
    assert x.random_(5) is x and x.dtype == mg.float32
    assert set(x.numpy().tolist()) == {0.0, 1.0, 2.0, 3.0, 4.0}            # [0, to)
    ints = mg.zeros(2000, dtype=mg.int64, device=device).random_(-3, 4)
    assert ints.dtype == mg.int64 and set(ints.numpy().tolist()) == set(range(-3, 4))
    small = mg.zeros(500, dtype=mg.uint8, device=device).random_()
    assert small.dtype == mg.uint8 and small.numpy().max() > 200
    flags = mg.zeros(200, dtype=mg.bool, device=device).random_()
    assert flags.dtype == mg.bool and set(flags.numpy().tolist()) == {False, True}
    top = mg.zeros(1000, device=device).random_()                   # [0, 2^24] for float32
    assert top.numpy().min() >= 0 and top.numpy().max() <= 2 ** 24
    assert (top.numpy() == np.round(top.numpy())).all() and top.numpy().max() > 2 ** 23
    wide = mg.zeros(1000, dtype=mg.float64, device=device).random_(2 ** 40, None)
    assert wide.numpy().min() >= 2 ** 40 and wide.numpy().max() <= 2 ** 53
    assert mg.zeros(300, device=device).random_(to=2).numpy().max() == 1.0
    mg.manual_seed(3)                                     # the library's generator
    drawn = mg.zeros(2, 3, dtype=mg.int32, device=device).random_(10, 20)
    np.testing.assert_array_equal(
        drawn.numpy(), np.random.default_rng(3).integers(10, 19, (2, 3), endpoint=True))


def test_in_place_refusals_are_those_of_the_other_in_place_methods(device):
    p = make((3,), device, seed=1)                                   # a leaf needing grad
    for target in (p, p * 2.0):
        with pytest.raises(RuntimeError) as refused:
            target.mul_(2.0)
        for name, method in (("exp_", lambda t: t.exp_()), ("random_", lambda t: t.random_(3))):
            with pytest.raises(RuntimeError) as error:
                method(target)
            assert str(error.value) == str(refused.value).replace("mul_", name)
    with pytest.raises(RuntimeError, match="exp_: a leaf tensor of shape .* requires grad"):
        p.exp_()
    with pytest.raises(RuntimeError, match="random_: cannot modify .* computed by MulScalar"):
        (p * 2.0).random_(3)
    with mg.no_grad():
        p.exp_()
        p.random_(0, 3)
    assert set(p.numpy().tolist()) <= {0.0, 1.0, 2.0}
    free = (p * 2.0).detach()                                    # outside any graph
    free.exp_()
    free.random_(1)
    np.testing.assert_array_equal(free.numpy(), [0.0, 0.0, 0.0])


def test_orthogonal_init(device):
    init = mg.nn.init
    for shape in ((3, 5), (5, 3), (4, 4), (8, 4, 3, 3), (64, 2, 2, 2), (1, 6)):
        w = mg.zeros(*shape, device=device, dtype=mg.float64)
        assert init.orthogonal_(w, gain=2.0) is w and w.shape == shape
        flat = w.numpy().reshape(shape[0], -1) / 2.0
        gram = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
        np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-12, err_msg=str(shape))
    weight = mg.nn.Conv2d(4, 8, 3).weight                            # a Parameter, float32
    init.orthogonal_(weight)
    assert weight.dtype == mg.float32 and weight.requires_grad and weight.grad_fn is None
    flat = weight.numpy().reshape(8, -1).astype(np.float64)
    np.testing.assert_allclose(flat @ flat.T, np.eye(8), atol=1e-6)
    mg.manual_seed(5)
    first = init.orthogonal_(mg.zeros(3, 4, device=device)).numpy()
    mg.manual_seed(5)
    np.testing.assert_array_equal(init.orthogonal_(mg.zeros(3, 4, device=device)).numpy(),
                                  first)                               # seeded
    array = np.zeros((4, 2))
    assert init.orthogonal_(array) is array                          # an ndarray, in place
    np.testing.assert_allclose(array.T @ array, np.eye(2), atol=1e-12)
    assert init.orthogonal_(mg.zeros(0, 3, device=device)).shape == (0, 3)   # nothing to do


def test_bad_input_errors_name_the_op_and_the_values(device):
    x = mg.zeros(2, 3, device=device)
    with pytest.raises(ValueError, match=r"roll: shifts \(1, 2\) and dims \(0,\) must have "
                                         r"the same length"):
        x.roll((1, 2), 0)
    with pytest.raises(ValueError, match=r"roll: without dims, one shift .* got 2 shifts"):
        mg.roll(x, (1, 2))
    with pytest.raises(IndexError, match="roll: dimension 2 is out of range"):
        x.roll(1, 2)
    with pytest.raises(IndexError, match="roll: a 0-d tensor has no dims"):
        mg.tensor(1.0, device=device).roll(1, 0)
    with pytest.raises(TypeError, match="roll: each shift in .* must be an int"):
        x.roll(1.5)
    with pytest.raises(IndexError, match=r"narrow: start 4 is out of range for dim 1 of "
                                         r"size 3 \(shape \(2, 3\)"):
        x.narrow(1, 4, 0)
    with pytest.raises(ValueError, match=r"narrow: start \(2\) \+ length \(2\) exceeds the "
                                         r"size 3 of dim 1"):
        mg.narrow(x, 1, 2, 2)
    with pytest.raises(ValueError, match="narrow: length must be non-negative, got -1"):
        x.narrow(0, 0, -1)
    with pytest.raises(ValueError, match="narrow: cannot narrow a 0-d tensor"):
        mg.tensor(1.0, device=device).narrow(0, 0, 1)
    with pytest.raises(ValueError, match=r"tril: expected a tensor with at least 2 dims .* "
                                         r"got shape \(3,\)"):
        mg.tril(mg.zeros(3, device=device))
    with pytest.raises(ValueError, match="triu: expected a tensor with at least 2 dims"):
        mg.tensor(1.0, device=device).triu()
    with pytest.raises(TypeError, match="tril: diagonal must be an int, got 0.5"):
        x.tril(0.5)
    with pytest.raises(ValueError, match=r"meshgrid: expected 0-d or 1-D tensors, got shape "
                                         r"\(2, 3\) at position 1"):
        mg.meshgrid(mg.zeros(2, device=device), x, indexing="ij")
    with pytest.raises(TypeError, match="meshgrid: all tensors must have the same dtype"):
        mg.meshgrid(mg.zeros(2, device=device), mg.tensor([1, 2], device=device),
                    indexing="ij")
    with pytest.raises(ValueError, match="meshgrid: indexing must be 'ij' or 'xy', got 'yx'"):
        mg.meshgrid(mg.zeros(2, device=device), indexing="yx")
    with pytest.raises(ValueError, match="meshgrid: expected at least one tensor"):
        mg.meshgrid(indexing="ij")
    with pytest.raises(TypeError, match=r"cumsum: dim is required .* shape \(2, 3\)"):
        x.cumsum()
    with pytest.raises(TypeError, match="cumsum: dim is required"):
        mg.cumsum(x)
    with pytest.raises(IndexError, match="cumsum: dimension 2 is out of range"):
        x.cumsum(2)
    with pytest.raises(ValueError, match="random_: expects from < to, got from=4, to=4"):
        x.random_(4, 4)
    with pytest.raises(ValueError, match=r"random_: \[-1, 2\] does not fit in uint8 "
                                         r"\(\[0, 255\]\)"):
        mg.zeros(2, dtype=mg.uint8, device=device).random_(-1, 3)
    with pytest.raises(ValueError, match=r"random_: \[0, 2\] does not fit in bool"):
        mg.zeros(2, dtype=mg.bool, device=device).random_(0, 3)
    with pytest.raises(TypeError, match="random_: to must be an int, got 2.5"):
        x.random_(2.5)
    with pytest.raises(TypeError, match=r"random_: expected random_\(\), random_\(to\)"):
        x.random_(1, 2, 3)
    with pytest.warns(UserWarning, match=r"random_: \[0, 33554431\] reaches past"):
        x.random_(0, 2 ** 25)
    with pytest.raises(ValueError, match=r"orthogonal_: only tensors with 2 or more "
                                         r"dimensions are supported, got shape \(3,\)"):
        mg.nn.init.orthogonal_(mg.zeros(3, device=device))


# ------------------------------------------------------------------ against PyTorch
# Each takes the module (mg or torch) first: the two spell these the same way.
TORCH_CASES = [
    ("meshgrid-ij", lambda m, a, b: m.meshgrid(a, b, indexing="ij"), [(3,), (2,)]),
    ("meshgrid-xy-three", lambda m, a, b, c: m.meshgrid([a, b, c], indexing="xy"),
     [(2,), (3,), (4,)]),
    ("tril", lambda m, x: m.tril(x, -1), [(2, 3, 4)]),
    ("triu-method", lambda m, x: x.triu(2), [(4, 5)]),
    ("roll-two-dims-negative", lambda m, x: m.roll(x, (-1, -2), (0, 2)), [(2, 3, 4)]),
    ("roll-flattened", lambda m, x: x.roll(-4), [(2, 3)]),
    ("cumsum-last", lambda m, x: m.cumsum(x, -1), [(2, 3, 4)]),
    ("cumsum-first-squared", lambda m, x: x.cumsum(0) ** 2, [(3, 2)]),
    ("narrow", lambda m, x: m.narrow(x, 1, -3, 2), [(2, 4)]),
]


@pytest.mark.parametrize("fn, shapes", [pytest.param(fn, shapes, id=name)
                                        for name, fn, shapes in TORCH_CASES])
def test_values_and_gradients_match_pytorch(fn, shapes):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    arrays = [rng.standard_normal(shape) for shape in shapes]
    ours = [mg.tensor(a, dtype=mg.float64, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y_ours, y_theirs = fn(mg, *ours), fn(torch, *theirs)
    y_ours = y_ours if isinstance(y_ours, tuple) else (y_ours,)
    y_theirs = y_theirs if isinstance(y_theirs, tuple) else (y_theirs,)
    total_ours, total_theirs = 0.0, 0.0
    for a, b in zip(y_ours, y_theirs, strict=True):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)
        weights = rng.standard_normal(tuple(b.shape))
        total_ours = total_ours + (a * mg.tensor(weights, dtype=mg.float64)).sum()
        total_theirs = total_theirs + (b * torch.tensor(weights)).sum()
    total_ours.backward()
    total_theirs.backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_integer_results_and_in_place_methods_match_pytorch():
    torch = pytest.importorskip("torch")
    x_np = np.arange(12).reshape(3, 4) - 5
    for dtype in ("int32", "int64", "bool"):
        x, t = mg.tensor(x_np.astype(dtype)), torch.tensor(x_np.astype(dtype))
        y, u = x.cumsum(1), t.cumsum(1)
        assert str(y.dtype) == str(u.dtype).removeprefix("torch.") == "int64"
        np.testing.assert_array_equal(y.numpy(), u.numpy())
        np.testing.assert_array_equal(x.tril(1).numpy(), t.tril(1).numpy())
        np.testing.assert_array_equal(x.roll(2, 1).numpy(), t.roll(2, 1).numpy())
    x_np = np.linspace(-2.0, 2.0, 6)
    x, t = mg.tensor(x_np, dtype=mg.float64), torch.tensor(x_np)
    np.testing.assert_allclose(x.exp_().numpy(), t.exp_().numpy(), rtol=1e-15)
    for dtype, bounds in (("float32", (5,)), ("float32", (-3, 4)), ("float32", ()),
                          ("float64", (2, None)), ("int64", (-3, 4)), ("int32", ()),
                          ("uint8", ()), ("bool", ()), ("int64", (7,))):
        ours = mg.zeros(4000, dtype=getattr(mg, dtype)).random_(*bounds).numpy()
        theirs = torch.zeros(4000, dtype=getattr(torch, dtype)).random_(*bounds).numpy()
        assert ours.dtype == theirs.dtype, (dtype, bounds)
        low = bounds[0] if len(bounds) == 2 else 0
        assert ours.min() >= low and theirs.min() >= low, (dtype, bounds)
        if len(bounds) == 1 or (len(bounds) == 2 and bounds[1] is not None):
            high = bounds[-1] - 1                  # both reach the top of a small range
            assert ours.max() == theirs.max() == high, (dtype, bounds)
        else:                                      # [low, top]: both well into the range
            top = 1 if dtype == "bool" else (2 ** 24 if dtype == "float32" else 2 ** 53
                                             if dtype == "float64" else np.iinfo(dtype).max)
            assert ours.max() <= top and theirs.max() <= top, (dtype, bounds)
            assert ours.max() > top / 2 and theirs.max() > top / 2, (dtype, bounds)
    for dtype, bounds in (("float32", (4, 4)), ("uint8", (-1, 3)), ("bool", (0, 3))):
        with pytest.raises(RuntimeError):
            torch.zeros(2, dtype=getattr(torch, dtype)).random_(*bounds)
        with pytest.raises(ValueError, match="random_"):
            mg.zeros(2, dtype=getattr(mg, dtype)).random_(*bounds)
    with pytest.raises(RuntimeError, match="leaf"):
        torch.zeros(2, requires_grad=True).exp_()
    with pytest.warns(UserWarning, match="indexing"):
        torch.meshgrid(torch.zeros(2), torch.zeros(3))
    with pytest.warns(UserWarning, match="indexing"):
        mg.meshgrid(mg.zeros(2), mg.zeros(3))
    with pytest.raises(RuntimeError, match="leaf"):
        mg.zeros(2, requires_grad=True).exp_()


def test_orthogonal_init_is_pytorchs_algorithm():
    torch = pytest.importorskip("torch")
    for shape in ((3, 5), (5, 3), (8, 4, 3, 3), (64, 2, 2, 2)):
        theirs = torch.nn.init.orthogonal_(torch.empty(shape, dtype=torch.float64), gain=1.5)
        mg.manual_seed(21)
        ours = mg.nn.init.orthogonal_(mg.zeros(*shape, dtype=mg.float64), gain=1.5)
        assert tuple(theirs.shape) == ours.shape == shape
        rows = shape[0]
        for w in (ours.numpy(), theirs.numpy()):
            flat = w.reshape(rows, -1) / 1.5
            gram = flat @ flat.T if rows <= flat.shape[1] else flat.T @ flat
            np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-12)
        # the same steps in PyTorch, from the normal matrix the library's generator drew
        normal = torch.tensor(np.random.default_rng(21).standard_normal((rows, ours.numel()
                                                                         // rows)))
        wide = rows < normal.shape[1]
        q, r = torch.linalg.qr(normal.T if wide else normal)
        q = q * torch.diag(r).sign()
        expected = (q.T if wide else q).reshape(shape) * 1.5
        np.testing.assert_allclose(ours.numpy(), expected.numpy(), rtol=0, atol=1e-13)
