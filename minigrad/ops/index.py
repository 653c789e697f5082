"""Indexing: `x[key]` with slices, ints, None, Ellipsis, boolean masks and integer arrays.

Forward picks elements; backward puts the gradient back where they came from, into a
tensor of zeros of x's shape (a scatter). An integer array may pick the same element
twice (`x[[0, 0]]`): its gradient must then be *added* twice, which is why the scatter
uses `add.at` (unbuffered accumulation) instead of plain assignment.

The scatter and the gather are each other's backward, so double backward is free.

PyTorch's rules, where they differ from numpy's (and minigrad follows PyTorch):

* Integers are basic indexing: each one removes its dimension *before* the advanced
  (array) indices are looked at, so an integer never counts as an advanced index.
  Where the advanced dimensions go is then numpy's rule on what is left: in place of the
  indexed dimensions when the arrays sit next to each other, else at the front.
      x (2, 3, 4):  x[0, :, [1, 2]] == x[0][:, [1, 2]]  -> (3, 2)
                    (numpy counts the 0 as advanced, the two are apart: (2, 3))
  A 0-d integer array (or Tensor) is an integer.
* A top-level list that holds a sequence, a slice, None or Ellipsis (and has fewer than
  32 items) is read as a tuple: `x[[[0, 1], [1, 0]]]` is `x[[0, 1], [1, 0]]`.
* An empty list picks nothing: `x[[]]` has shape (0, *x.shape[1:]).

So a key that mixes integers with arrays is applied in two steps, the integers first
(a basic index: a view) and then the rest; see `_steps`.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backend import xp_of
from ..tensor import Tensor, require_tensor


def unwrap_index(key):
    """Replace Tensors inside an index by their arrays (ints, slices pass through)."""
    if isinstance(key, Tensor):
        return key.data
    if isinstance(key, tuple):
        return tuple(k.data if isinstance(k, Tensor) else k for k in key)
    return key


def _is_array(k) -> bool:
    return hasattr(k, "shape") and hasattr(k, "dtype")


def _is_int(k) -> bool:
    """A Python/numpy integer or a 0-d integer array (not a bool: True is an int in Python)."""
    if isinstance(k, (bool, np.bool_)):
        return False
    if _is_array(k):
        return k.ndim == 0 and k.dtype.kind in "iu"
    return isinstance(k, (int, np.integer))


def _is_advanced(k) -> bool:
    """An index array (int or bool, after lists became arrays) or a scalar bool."""
    return (_is_array(k) and not _is_int(k)) or isinstance(k, (bool, np.bool_))


def _reads_as_tuple(key: list) -> bool:
    """PyTorch's (and old numpy's) rule for a top-level list: a tuple of indices when it
    holds a sequence, a slice, None or Ellipsis and is short, else one index array."""
    return len(key) < 32 and any(
        isinstance(k, (list, tuple, slice, Tensor)) or _is_array(k) or k is None
        or k is Ellipsis for k in key)


def _index_array(xp, values):
    """A list as an index array; an empty one is an integer array, not numpy's float."""
    array = xp.asarray(values)
    return array.astype(np.int64) if array.size == 0 and array.dtype.kind == "f" else array


def normalize_index(key, xp) -> tuple:
    """The key as a tuple of ints, slices, None, Ellipsis and arrays, read as PyTorch does."""
    if isinstance(key, list) and _reads_as_tuple(key):
        key = tuple(key)
    key = unwrap_index(key) if isinstance(key, tuple) else (unwrap_index(key),)
    return tuple(_component(k, xp) for k in key)


def _component(k, xp):
    if _is_int(k):
        return int(k)                        # also a 0-d integer array: PyTorch selects
    if isinstance(k, (list, tuple)):
        return _index_array(xp, k)           # x[0, (1, 2)] is x[0, [1, 2]]
    return k


def _dims_taken(k) -> int:
    """How many of x's dimensions an advanced index consumes: a bool mask its ndim,
    an integer array one, a scalar bool none (it adds one)."""
    if not _is_array(k):
        return 0
    return k.ndim if k.dtype == bool else 1


def _steps(key: tuple) -> tuple:
    """The key as one step, or as (integers only, the rest) when it mixes integers with
    advanced indices: x[0, :, [1, 2]] -> x[0, :, :][:, [1, 2]]. The first step is basic
    indexing (a view); the second has no integers left, and there numpy's rule for where
    the advanced dimensions go is PyTorch's."""
    if not (any(_is_int(k) for k in key) and any(_is_advanced(k) for k in key)):
        return (key,)
    ints, rest = [], []
    for k in key:
        if _is_int(k):
            ints.append(k)                              # removes its dimension now
        elif _is_advanced(k):
            ints.extend([slice(None)] * _dims_taken(k))
            rest.append(k)
        elif isinstance(k, slice) or k is Ellipsis:
            ints.append(slice(None) if isinstance(k, slice) else k)
            rest.append(k)
        else:                                           # None: a new axis, in step 2
            rest.append(k)
    return tuple(ints), tuple(rest)


def check_bounds(step: tuple, shape: tuple, on_gpu: bool) -> None:
    """Raise numpy's IndexError for an integer index array that reaches past its axis, when
    the array indexed is on the GPU (on_gpu).

    numpy and PyTorch check every index; CuPy does not (an index past the end of a GPU
    array wraps around, or reads and writes memory it should not), whether the index is a
    CuPy or a numpy array. So for GPU arrays the bounds are checked here, before indexing.
    A GPU index is read back to the host once (whether any entry is out of range): a wait
    for the GPU that only integer-array keys cost (never in a GAN step: only classifiers'
    losses index by labels). On the CPU numpy checks, and this returns at once."""
    if not on_gpu:
        return
    taken = [_dims_taken(k) if _is_advanced(k) else 0 if k is None or k is Ellipsis else 1
             for k in step]
    axis = 0
    for k, dims in zip(step, taken):
        if k is Ellipsis:
            axis += len(shape) - sum(taken)
            continue
        if _is_array(k) and k.dtype.kind in "iu" and k.size and axis < len(shape):
            size = shape[axis]
            outside = (k < -size) | (k >= size)
            if bool(outside.any()):
                bad = int(k[outside].ravel()[0])
                raise IndexError(f"index {bad} is out of bounds for axis {axis} with "
                                 f"size {size}")
        axis += dims


def _show(key: tuple):
    return key[0] if len(key) == 1 else key


class GetItem(Function):
    """y = x[key] (PyTorch's reading of key, see the module docstring).
    dy/dx = scatter gy back into zeros shaped like x (GetItemGrad)"""
    save_inputs = False

    def __init__(self, key: tuple):
        self.key = key                       # normalized: see normalize_index
        self.steps = _steps(key)
        # a basic key (ints, slices, None, ...) is small bookkeeping; index arrays are not
        self.holds_no_arrays = not any(_is_advanced(k) for k in key)

    def forward(self, x):
        y, on_gpu = x, not isinstance(x, np.ndarray)
        try:
            for step in self.steps:
                check_bounds(step, y.shape, on_gpu)  # (CuPy does not check; numpy does)
                y = y[step]
        except IndexError as exc:
            raise IndexError(f"getitem: index {_show(self.key)!r} is invalid for a tensor of "
                             f"shape {tuple(x.shape)}: {exc}") from None
        return y

    def backward(self, gy):
        (shape, _), = self.input_meta
        return GetItemGrad(self.key, shape)(gy)


class GetItemGrad(Function):
    """y = zeros(shape) with g added at x[key] (accumulating repeats).   dy/dg = y[key]"""
    save_inputs = False

    def __init__(self, key: tuple, shape):
        self.key, self.shape = key, shape
        self.steps = _steps(key)

    def forward(self, g):
        xp = xp_of(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        target = out
        for step in self.steps[:-1]:
            target = target[step]             # the integer step: a view into out
        last = self.steps[-1]
        if any(_is_advanced(k) for k in last) and hasattr(xp.add, "at"):
            xp.add.at(target, last, g)        # repeats accumulate (numpy; CuPy >= 13)
        elif any(_is_advanced(k) for k in last):
            import cupyx  # noqa: PLC0415 (older CuPy's name for add.at)

            cupyx.scatter_add(target, last, g)
        else:
            target[last] = g                  # basic index: no repeats possible
        return out

    def backward(self, ggx):
        return GetItem(self.key)(ggx)


def getitem(x: Tensor, key) -> Tensor:
    return GetItem(normalize_index(key, x.xp))(x)


def index_select(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of x at positions `index` along dim, as torch.index_select: index a 1-D
    (or 0-d) integer Tensor with values in [0, size of dim) (no negative ones, unlike
    x[...]); y has len(index) slices there. An integer-array index (getitem), so the
    gradient is scattered back into x's shape, adding where a slice was picked twice."""
    from .shape import _normalize_dim  # noqa: PLC0415

    require_tensor(index, "index_select", "index")
    if index.dtype.kind not in "iu":
        raise TypeError(f"index_select: index must be an integer tensor, got {index.dtype}")
    if index.ndim > 1:
        raise IndexError(f"index_select: index must be a vector (0-d or 1-D), got shape "
                         f"{tuple(index.shape)}")
    dim = _normalize_dim(dim, x.ndim, "index_select")
    size = x.shape[dim] if x.ndim else 1             # a 0-d tensor: index 0 picks itself
    positions = index.data.reshape(-1)
    if positions.size and (int(positions.min()) < 0 or int(positions.max()) >= size):
        raise IndexError(f"index_select: index values must be in [0, {size}) for dim {dim} "
                         f"of input {tuple(x.shape)}, got [{int(positions.min())}, "
                         f"{int(positions.max())}]")
    if x.ndim == 0:
        if positions.size != 1:
            raise IndexError(f"index_select: a 0-d input takes an index of one value, got "
                             f"{positions.size}")
        return getitem(x, ())
    return getitem(x, (slice(None),) * dim + (positions,))


def gather(x: Tensor, dim: int, index) -> Tensor:
    """y[i][j][k] = x[index[i][j][k]][j][k] for dim 0 (likewise for the other dims), as
    torch.gather: y has index's shape, and index may be smaller than x in the other dims.
    An integer-array index (getitem), so the gradient is scattered back into x's shape,
    adding where an element was picked twice."""
    from .shape import _normalize_dim  # noqa: PLC0415

    require_tensor(index, "gather", "index")
    positions = index.data
    if positions.dtype.kind not in "iu":
        raise TypeError(f"gather: index must be an integer tensor, got {positions.dtype}")
    if x.ndim == 0 and positions.ndim == 0:          # a 0-d tensor: index 0 picks itself
        if int(positions) != 0:
            raise IndexError(f"gather: index {int(positions)} is out of range for a 0-d "
                             f"input (only 0)")
        return getitem(x, ())
    if positions.ndim != x.ndim:
        raise ValueError(f"gather: index {tuple(positions.shape)} must have as many dims as "
                         f"input {tuple(x.shape)}")
    dim = _normalize_dim(dim, x.ndim, "gather")
    if any(positions.shape[d] > x.shape[d] for d in range(x.ndim) if d != dim):
        raise ValueError(f"gather: index {tuple(positions.shape)} is larger than input "
                         f"{tuple(x.shape)} outside dim {dim}")
    if positions.size and (int(positions.min()) < 0 or int(positions.max()) >= x.shape[dim]):
        raise IndexError(f"gather: index values must be in [0, {x.shape[dim]}) for dim {dim} "
                         f"of input {tuple(x.shape)}, got [{int(positions.min())}, "
                         f"{int(positions.max())}]")
    xp = x.xp
    key = tuple(positions if d == dim else                  # along dim: the given index;
                xp.arange(positions.shape[d]).reshape(      # elsewhere: each position
                    [-1 if e == d else 1 for e in range(x.ndim)])
                for d in range(x.ndim))
    return getitem(x, key)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class indices (any shape, int64) -> (*shape, num_classes) int64 of 0s and a 1 at
    each index, as torch.nn.functional.one_hot (num_classes -1: the largest index + 1).
    No gradient: a conditional GAN feeds it (as float) next to z."""
    require_tensor(tensor, "one_hot", "class indices")
    labels = tensor.data
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: class indices must be integers, got {labels.dtype}")
    xp = xp_of(labels)
    if num_classes == -1:
        if labels.size == 0:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor")
        num_classes = int(labels.max()) + 1
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got "
                         f"[{int(labels.min())}, {int(labels.max())}]")
    classes = xp.arange(num_classes)                                # (num_classes,)
    return Tensor._from_op((labels[..., None] == classes).astype(np.int64), False)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (rows, cols), the rest 0, as torch.tril:
    y[..., i, j] = x[..., i, j] where j <= i + diagonal (0 the main diagonal, 1 one above
    it, -1 one below), else 0. A constant 0/1 mask (MaskMul: exactly 0 where it is 0, even
    for inf), so the gradient is gy under the same mask; batched over the leading dims."""
    return _triangle(input, diagonal, "tril")


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle, as torch.triu: y[..., i, j] = x[..., i, j] where
    j >= i + diagonal, else 0 (the complement of tril(x, diagonal - 1))."""
    return _triangle(input, diagonal, "triu")


def _triangle(x: Tensor, diagonal: int, op: str) -> Tensor:
    from .elementwise import MaskMul  # noqa: PLC0415
    from .shape import _whole  # noqa: PLC0415

    require_tensor(x, op)
    k = _whole(diagonal, op, "diagonal")
    if x.ndim < 2:
        raise ValueError(f"{op}: expected a tensor with at least 2 dims (..., rows, cols), "
                         f"got shape {tuple(x.shape)}")
    rows, cols = x.shape[-2:]
    xp = x.xp
    if op == "tril":
        keep = xp.tri(rows, cols, k, dtype=bool)         # (rows, cols): j <= i + k
    else:
        keep = ~xp.tri(rows, cols, k - 1, dtype=bool)    # (rows, cols): j >= i + k
    if not x.is_floating_point():                        # integers, bools: no gradient
        return Tensor._from_op(xp.where(keep, x.data, xp.zeros((), x.dtype)), False)
    return MaskMul(keep.astype(x.dtype))(x)
