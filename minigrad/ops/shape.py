"""Shape ops: they move numbers around without changing them.

Each one's backward is the inverse movement: reshape back, permute back, sum back what
broadcasting expanded (`sum_to` <-> `broadcast_to` are each other's backward), cut back
what `cat`/`pad` glued on. Linear maps all: their double backward needs nothing new.
"""
from __future__ import annotations

import math
import operator
import warnings

import numpy as np

from ..autograd import Function
from ..backend import to_device as _to_device, to_numpy, xp_of
from ..tensor import Tensor, require_tensor


def _whole(value, op: str, name: str) -> int:
    """value as an int, as PyTorch takes a size, a width or a dim: an int, a numpy integer
    or a one-element integer tensor, but never a float or a bool (int() would cut 2.5 to 2
    and read True as 1)."""
    if not isinstance(value, (bool, np.bool_)):
        try:
            return operator.index(value)
        except TypeError:
            pass
    shown = (f"a {value.dtype} Tensor of shape {tuple(value.shape)}"
             if isinstance(value, Tensor) else repr(value))
    raise TypeError(f"{op}: {name} must be an int, got {shown}")


def _normalize_dim(dim: int, ndim: int, op: str) -> int:
    """dim as a non-negative axis. As in PyTorch, a 0-d tensor takes dim 0 or -1."""
    dim = _whole(dim, op, "dim")
    size = max(ndim, 1)
    if not -size <= dim < size:
        raise IndexError(f"{op}: dimension {dim} is out of range for a tensor with "
                         f"{ndim} dimensions (expected a dim in [{-size}, {size - 1}])")
    return dim % size if ndim else 0


class SumTo(Function):
    """y = x summed down to `shape` (undoing a broadcast).   dy/dx = broadcast back"""
    save_inputs = False
    holds_no_arrays = True   # backward needs only the bookkeeping (see Function)

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        lead = x.ndim - len(self.shape)            # axes broadcasting prepended
        axes = tuple(range(lead)) + tuple(
            lead + i for i, n in enumerate(self.shape) if n == 1 and x.shape[lead + i] != 1)
        y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(self.shape) if lead else y

    def backward(self, gy):
        (shape, _), = self.input_meta
        return broadcast_to(gy, shape)


class BroadcastTo(Function):
    """y = x repeated along the broadcast axes.               dy/dx = sum_to(gy)"""
    save_inputs = False
    holds_no_arrays = True   # backward needs only the bookkeeping (see Function)

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        try:
            return xp_of(x).broadcast_to(x, self.shape)
        except ValueError:
            raise ValueError(f"expand: cannot expand shape {tuple(x.shape)} to "
                             f"{self.shape}") from None

    def backward(self, gy):
        (shape, _), = self.input_meta
        return sum_to(gy, shape)


def sum_to(x: Tensor, shape) -> Tensor:
    """Sum x down to `shape` (a no-op when the shapes already agree)."""
    return x if tuple(x.shape) == tuple(shape) else SumTo(shape)(x)


def broadcast_to(x: Tensor, shape) -> Tensor:
    return x if tuple(x.shape) == tuple(shape) else BroadcastTo(shape)(x)


def expand(x: Tensor, *shape) -> Tensor:
    """PyTorch's expand: -1 keeps an existing dimension's size; new dimensions go in
    front and need a real size (-1 there has no size to keep)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = tuple(_whole(n, "expand", f"each size in {shape}") for n in shape)
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: cannot expand shape {tuple(x.shape)} to {shape} "
                         f"(fewer dimensions)")
    if -1 in shape[:lead]:
        raise ValueError(f"expand: cannot expand shape {tuple(x.shape)} to {shape}: -1 "
                         f"keeps the size of an existing dimension, but dimension "
                         f"{shape.index(-1)} is a new leading one")
    shape = tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
    return broadcast_to(x, shape)


class Reshape(Function):
    """y = x with a new shape (same elements, same order).   dy/dx = reshape back"""
    save_inputs = False
    holds_no_arrays = True   # backward needs only the bookkeeping (see Function)

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {tuple(x.shape)} "
                             f"({x.size} elements) to {self.shape}") from None

    def backward(self, gy):
        (shape, _), = self.input_meta
        return Reshape(shape)(gy)


def reshape(x: Tensor, *shape) -> Tensor:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = tuple(_whole(n, "reshape", f"each size in {shape}") for n in shape)
    return x if shape == tuple(x.shape) else Reshape(shape)(x)


class Permute(Function):
    """y = x with its axes reordered.   dy/dx = permute by the inverse order"""
    save_inputs = False
    holds_no_arrays = True   # backward needs only the bookkeeping (see Function)

    def __init__(self, dims):
        self.dims = tuple(dims)

    def forward(self, x):
        return x.transpose(self.dims)

    def backward(self, gy):
        inverse = tuple(int(i) for i in np.argsort(self.dims))
        return Permute(inverse)(gy)


def permute(x: Tensor, *dims) -> Tensor:
    """Reorder the axes: y.shape[i] == x.shape[dims[i]]. Each dim must be in
    [-ndim, ndim) and, once wrapped, the dims must name every axis exactly once."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    dims = tuple(_whole(d, "permute", f"each dim in {dims}") for d in dims)
    if len(dims) != x.ndim:
        raise ValueError(f"permute: {dims} names {len(dims)} dimensions, but shape "
                         f"{tuple(x.shape)} has {x.ndim}")
    for d in dims:
        if not -x.ndim <= d < x.ndim:
            raise IndexError(f"permute: dimension {d} in {dims} is out of range for shape "
                             f"{tuple(x.shape)} (expected a dim in [{-x.ndim}, {x.ndim - 1}])")
    wrapped = tuple(d % x.ndim for d in dims)
    if sorted(wrapped) != list(range(x.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the {x.ndim} "
                         f"dimensions of shape {tuple(x.shape)}")
    return Permute(wrapped)(x)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    dims = list(range(x.ndim))
    d0, d1 = _normalize_dim(dim0, x.ndim, "transpose"), _normalize_dim(dim1, x.ndim, "transpose")
    if x.ndim == 0:                          # a 0-d tensor has no axes to swap
        return x
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute(dims)(x)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if x.ndim == 0:
        return reshape(x, 1)
    start = _normalize_dim(start_dim, x.ndim, "flatten")
    end = _normalize_dim(end_dim, x.ndim, "flatten")
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                         f"(dims {start} > {end}) for shape {tuple(x.shape)}")
    middle = int(np.prod(x.shape[start:end + 1]))
    return reshape(x, *x.shape[:start], middle, *x.shape[end + 1:])


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    dim = _normalize_dim(dim, x.ndim + 1, "unsqueeze")
    return reshape(x, *x.shape[:dim], 1, *x.shape[dim:])


def squeeze(x: Tensor, dim=None) -> Tensor:
    """Remove axes of size 1: all of them (dim None), or those of dim (an int or a tuple)
    that have size 1; the others stay, as in PyTorch."""
    if dim is None:
        return reshape(x, *[n for n in x.shape if n != 1])
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    drop = {_normalize_dim(d, x.ndim, "squeeze") for d in dims}
    if x.ndim == 0 or all(x.shape[d] != 1 for d in drop):
        return x
    return reshape(x, *[n for i, n in enumerate(x.shape) if not (i in drop and n == 1)])


def repeat(x: Tensor, *sizes) -> Tensor:
    """x tiled sizes[i] times along each dim, as PyTorch's Tensor.repeat (numpy's tile):
    (2, 3).repeat(2, 1, 2) -> (2, 2, 6). Written as an expand and a reshape, each copy a
    new axis before its dim: (a, b) -> (r1, a, r2, b) -> (r1 a, r2 b); so the gradient of
    x is the sum over its copies (expand's backward)."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    sizes = tuple(_whole(n, "repeat", f"each size in {sizes}") for n in sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"repeat: {len(sizes)} sizes {sizes} for a tensor with {x.ndim} "
                         f"dims (shape {tuple(x.shape)}); give at least one per dim")
    if any(n < 0 for n in sizes):
        raise ValueError(f"repeat: sizes must be non-negative, got {sizes}")
    shape = (1,) * (len(sizes) - x.ndim) + tuple(x.shape)    # new leading dims of size 1
    spaced = reshape(x, *[n for size in shape for n in (1, size)])          # (1, a, 1, b)
    tiled = expand(spaced, *[n for r, size in zip(sizes, shape) for n in (r, size)])
    return reshape(tiled, *[r * size for r, size in zip(sizes, shape)])     # (r1 a, r2 b)


def repeat_interleave(input: Tensor, repeats, dim=None) -> Tensor:
    """Each entry repeated `repeats` times in place along dim, as torch.repeat_interleave
    (numpy's repeat; dim None: of the flattened input): [a, b] -> [a, a, b, b] for 2.
    repeats an int: a new axis after dim, expanded to r copies and merged into dim,
    (n, m) -> (n, 1, m) -> (n, r, m) -> (n r, m); repeats a 1-D integer tensor (or one
    entry, for all): entry i taken repeats[i] times, an index array (getitem). Either way
    the gradient of an entry is the sum over its copies."""
    op = "repeat_interleave"
    x = input
    if dim is None:
        x, dim = flatten(x), 0
    elif x.ndim == 0:
        raise IndexError(f"{op}: a 0-d input has no dim {dim} to repeat along (dim=None "
                         f"repeats it as a 1-d one)")
    else:
        dim = _normalize_dim(dim, x.ndim, op)
    n = x.shape[dim]
    if not isinstance(repeats, Tensor):
        r = _whole(repeats, op, "repeats (or a 1-D integer tensor of them)")
        if r < 0:
            raise ValueError(f"{op}: repeats must be non-negative, got {r}")
        copies = expand(unsqueeze(x, dim + 1), *x.shape[:dim + 1], r, *x.shape[dim + 1:])
        return reshape(copies, *x.shape[:dim], n * r, *x.shape[dim + 1:])
    if repeats.dtype.kind not in "iu" or repeats.ndim > 1:
        raise TypeError(f"{op}: a repeats tensor must be 0-d or 1-D of integers, got "
                        f"{repeats.dtype} of shape {tuple(repeats.shape)}")
    counts = to_numpy(repeats.data).reshape(-1)   # read on the host: they size the output
    if counts.size == 1:
        counts = np.repeat(counts, n)             # one count for every entry
    if counts.size != n:
        raise ValueError(f"{op}: repeats has {counts.size} entries, but dim {dim} of input "
                         f"{tuple(x.shape)} has {n} (give one per entry, or one for all)")
    if counts.size and counts.min() < 0:
        raise ValueError(f"{op}: repeats must be non-negative, got {counts.tolist()}")
    from .index import getitem  # noqa: PLC0415

    positions = x.xp.asarray(np.repeat(np.arange(n), counts))  # i, repeats[i] times
    return getitem(x, (slice(None),) * dim + (positions,))


def flip(x: Tensor, dims) -> Tensor:
    """x reversed along each dim in dims (a slice with step -1: a view; the gradient is
    flipped back)."""
    from .index import getitem  # noqa: PLC0415

    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    axes = {_normalize_dim(d, x.ndim, "flip") for d in dims}
    if len(axes) != len(dims):
        raise RuntimeError(f"flip: dims {dims} name a dim more than once")
    if x.ndim == 0:
        return getitem(x, ())
    return getitem(x, tuple(slice(None, None, -1) if i in axes else slice(None)
                            for i in range(x.ndim)))


def roll(x: Tensor, shifts, dims=None) -> Tensor:
    """x's entries moved `shifts` places along each dim in dims, those pushed past the end
    coming back at the start, as torch.roll: roll([a, b, c, d], 1) = [d, a, b, c].
    shifts and dims are ints or tuples of one length (a dim named twice is rolled twice);
    dims None rolls the flattened tensor and restores its shape.
    Along one dim of size n, a shift s (taken mod n) is a split into the first n - s and
    the last s entries, glued back the other way round: Split and Cat are each other's
    backward, so the gradient is rolled back by -s."""
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    shifts = tuple(_whole(s, "roll", f"each shift in {shifts}") for s in shifts)
    if dims is None:
        if len(shifts) != 1:
            raise ValueError(f"roll: without dims, one shift rolls the flattened tensor; "
                             f"got {len(shifts)} shifts {shifts} (give one dim per shift)")
        return reshape(roll(flatten(x), shifts, 0), *x.shape)
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} must have the same length "
                         f"(one shift per dim), got {len(shifts)} and {len(dims)}")
    if not shifts:
        raise ValueError("roll: expected at least one shift")
    if x.ndim == 0:
        raise IndexError(f"roll: a 0-d tensor has no dims {dims} to roll along (without "
                         f"dims it is rolled as a 1-element tensor)")
    y = x
    for shift, dim in zip(shifts, dims):
        dim = _normalize_dim(dim, x.ndim, "roll")
        n = x.shape[dim]
        s = shift % n if n else 0
        if s:
            head, tail = Split([n - s, s], dim)(y)      # x[:n - s], x[n - s:] along dim
            y = Cat(dim)(tail, head)
    return clone(x) if y is x else y                    # (a new tensor, as PyTorch's)


def unbind(x: Tensor, dim: int = 0) -> tuple:
    """The slices of x along dim, each without that dim: x.unbind(0) = (x[0], x[1], ...).
    (Split into pieces of 1, each squeezed.)"""
    if x.ndim == 0:
        raise ValueError("unbind: expected a tensor with at least 1 dimension, got a 0-d one")
    dim = _normalize_dim(dim, x.ndim, "unbind")
    if x.shape[dim] == 0:
        return ()
    return tuple([squeeze(piece, dim) for piece in Split([1] * x.shape[dim], dim)(x)])


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(N, C r^2, H, W) -> (N, C, H r, W r): each group of r^2 channels becomes an r x r
    block of pixels (sub-pixel convolution, the upsampling of super-resolution GANs).
    A reshape, a permute and a reshape: the gradient moves the numbers back."""
    r = _whole(upscale_factor, "pixel_shuffle", "upscale_factor")
    *lead, channels, h, w = _image_shape("pixel_shuffle", input)
    if r < 1:
        raise ValueError(f"pixel_shuffle: upscale_factor must be positive, got {r}")
    if channels % (r * r):
        raise ValueError(f"pixel_shuffle: {channels} channels (input {tuple(input.shape)}) "
                         f"are not divisible by upscale_factor^2 = {r * r}")
    c, batch = channels // (r * r), math.prod(lead)
    x = reshape(input, batch, c, r, r, h, w)                      # (B, C, r, r, H, W)
    x = permute(x, 0, 1, 4, 2, 5, 3)                              # (B, C, H, r, W, r)
    return reshape(x, *lead, c, h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """The inverse of pixel_shuffle: (N, C, H r, W r) -> (N, C r^2, H, W)."""
    r = _whole(downscale_factor, "pixel_unshuffle", "downscale_factor")
    *lead, c, height, width = _image_shape("pixel_unshuffle", input)
    if r < 1:
        raise ValueError(f"pixel_unshuffle: downscale_factor must be positive, got {r}")
    if height % r or width % r:
        raise ValueError(f"pixel_unshuffle: height and width of input {tuple(input.shape)} "
                         f"are not divisible by downscale_factor = {r}")
    h, w, batch = height // r, width // r, math.prod(lead)
    x = reshape(input, batch, c, h, r, w, r)                      # (B, C, H, r, W, r)
    x = permute(x, 0, 1, 3, 5, 2, 4)                              # (B, C, r, r, H, W)
    return reshape(x, *lead, c * r * r, h, w)


def _image_shape(op: str, x: Tensor) -> tuple:
    if x.ndim < 3:
        raise ValueError(f"{op}: expected input (..., C, H, W), got shape {tuple(x.shape)}")
    return tuple(x.shape)


def unbatched(fn, input: Tensor, *args):
    """fn (a 2-D convolution or pooling) on one image (C, H, W) without its batch dim,
    as PyTorch reads 3-D input there: fn on (1, C, H, W), then the batch dim dropped
    again from each result."""
    result = fn(unsqueeze(input, 0), *args)
    if isinstance(result, tuple):                     # max_pool2d(..., return_indices)
        return tuple(squeeze(r, 0) for r in result)
    return squeeze(result, 0)


def over_height_1(op_2d, op: str, signals: tuple, *args, **kwargs):
    """A 1-D op (conv1d, avg_pool1d, ...) as its 2-D one over signals of height 1: each of
    `signals` (N, C, L) -> (N, C, 1, L) (a weight (O, C, K) -> (O, C, 1, K)), op_2d with
    args, and the height dim dropped from each result; the gradients flow back through the
    reshapes. An error op_2d raises says which 2-D op ran, with its 4-D shapes."""
    try:
        result = op_2d(*[unsqueeze(t, -2) for t in signals], *args, **kwargs)
    except (ValueError, TypeError, NotImplementedError) as error:
        name = op_2d.__name__
        article = "an" if name[0] in "aeiou" else "a"
        raise type(error)(f"{op} ({article} {name} of height 1): {error}") from None
    if isinstance(result, tuple):                     # max_pool1d(..., return_indices)
        return tuple(squeeze(r, -2) for r in result)
    return squeeze(result, -2)


class Cat(Function):
    """y = the inputs glued along `dim`.   dy/dx_i = the slice of gy that came from x_i"""
    save_inputs = False
    holds_no_arrays = True   # backward needs only the bookkeeping (see Function)

    def __init__(self, dim: int):
        self.dim = dim

    def forward(self, *xs):
        return xp_of(xs[0]).concatenate(xs, axis=self.dim)

    def backward(self, gy):
        pieces = Split([shape[self.dim] for shape, _ in self.input_meta], self.dim)(gy)
        return tuple([g if need else None for g, need in zip(pieces, self.needs_input_grad)])


class Split(Function):
    """pieces = x[..., s0:s1], x[..., s1:s2], ... along `dim` (views of x, no copy).
    dL/dx = cat(dL/dpiece_0, dL/dpiece_1, ..., dim): each piece's gradient goes back where
    the piece came from (a piece nobody used sends zeros). Split and Cat are each other's
    backward. (One op with several outputs: x's gradient is built by one cat, not by one
    x-sized scatter per piece.)"""
    save_inputs = False
    holds_no_arrays = True   # backward needs only the bookkeeping (see Function)

    def __init__(self, sizes, dim: int):
        self.sizes, self.dim = list(sizes), dim

    def forward(self, x):
        pieces, start = [], 0
        for n in self.sizes:                     # x[:, ..., start:start + n]
            pieces.append(x[(slice(None),) * self.dim + (slice(start, start + n),)])
            start += n
        return tuple(pieces)

    def backward(self, *grad_pieces):
        return cat(list(grad_pieces), self.dim)


def _tensor_list(tensors, op: str) -> list:
    """The tensors of cat / stack as a list; a single Tensor (whose rows a list() would
    take apart) or something that is not a Tensor is refused, as PyTorch does."""
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}: expected a list or tuple of tensors, got a single Tensor of "
                        f"shape {tuple(tensors.shape)}")
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty list of tensors")
    for number, t in enumerate(tensors):
        require_tensor(t, op, f"tensors[{number}]")
    return tensors


def cat(tensors, dim: int = 0) -> Tensor:
    tensors = _tensor_list(tensors, "cat")
    for number, t in enumerate(tensors):
        if t.ndim == 0:                      # no dim to glue along (stack gives them one)
            raise ValueError(f"cat: zero-dimensional tensor (at position {number}) cannot "
                             f"be concatenated; stack makes a 1-d tensor of 0-d ones")
    ndim = tensors[0].ndim
    dim = _normalize_dim(dim, ndim, "cat")
    for t in tensors:
        if t.ndim != ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, tensors[0].shape))
                                 if i != dim):
            shapes = ", ".join(str(tuple(u.shape)) for u in tensors)
            raise ValueError(f"cat: shapes {shapes} must agree except in dimension {dim}")
    return Cat(dim)(*_promoted(tensors))


def _promoted(tensors: list) -> list:
    """The tensors in one dtype, as PyTorch promotes them: beside a float tensor an integer
    or bool one takes the widest float dtype there (float32 stays float32; numpy alone
    would make int64 and float32 float64); without one, numpy's integer promotion."""
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) == 1:
        return tensors
    floats = [d for d in dtypes if d.kind == "f"]
    target = np.result_type(*floats) if floats else np.result_type(*dtypes)
    return [to_dtype(t, target) for t in tensors]


def stack(tensors, dim: int = 0) -> Tensor:
    tensors = _tensor_list(tensors, "stack")
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    dim = _normalize_dim(dim, tensors[0].ndim + 1, "stack")
    return cat([unsqueeze(t, dim) for t in tensors], dim)


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Coordinate grids, as torch.meshgrid: for 1-D inputs of lengths n0, n1, ..., output i
    has shape (n0, n1, ...) and holds tensors[i] along dim i, the same along the others
    (indexing "ij", matrix order). indexing "xy" (Cartesian, numpy's default) swaps the
    first two dims: outputs of shape (n1, n0, n2, ...), tensors[0] along dim 1. The
    tensors come one by one or as one list; a 0-d one counts as length 1. As in PyTorch,
    leaving indexing out warns and means "ij". Each output is a reshape and an expand (a
    view), so its gradient is summed back over the copies."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("meshgrid: pass indexing='ij' (matrix order, what it means when left "
                      "out) or indexing='xy' (numpy's default); PyTorch warns that it will "
                      "require it", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if not tensors:
        raise ValueError("meshgrid: expected at least one tensor")
    for number, t in enumerate(tensors):
        require_tensor(t, "meshgrid", f"tensors[{number}]")
        if t.ndim > 1:
            raise ValueError(f"meshgrid: expected 0-d or 1-D tensors, got shape "
                             f"{tuple(t.shape)} at position {number}")
    if len({t.dtype for t in tensors}) > 1 or len({t.device for t in tensors}) > 1:
        described = ", ".join(f"{t.dtype} on {t.device}" for t in tensors)
        raise TypeError(f"meshgrid: all tensors must have the same dtype and device, got "
                        f"{described}")
    sizes = [math.prod(t.shape) for t in tensors]
    along = list(range(len(tensors)))                   # the output dim of tensors[i]
    if indexing == "xy" and len(tensors) > 1:
        along[0], along[1] = 1, 0
    shape = [0] * len(tensors)
    for n, dim in zip(sizes, along):
        shape[dim] = n
    return tuple(expand(reshape(t, *[n if d == dim else 1 for d in range(len(shape))]),
                        *shape) for t, n, dim in zip(tensors, sizes, along))


def split(x: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """x cut along dim into pieces, as in PyTorch: an int gives pieces of that size (the
    last one smaller when the size does not divide), a list gives the pieces' sizes, which
    must add up to the dim's size. Each piece is a slice x[..., start:stop] (a view), so
    its gradient flows back into the matching part of x's gradient (see Split)."""
    if x.ndim == 0:
        raise ValueError("split: expected a tensor with at least 1 dimension, got a 0-d one")
    dim = _normalize_dim(dim, x.ndim, "split")
    size = x.shape[dim]
    if not isinstance(split_size_or_sections, (list, tuple)):
        step = _whole(split_size_or_sections, "split", "split_size (or a list of sizes)")
        if step < 0 or (step == 0 and size != 0):
            raise ValueError(f"split: split_size must be positive (0 only for an empty "
                             f"dim), got {step} for dim {dim} of size {size}")
        sizes = [step] * (size // step) + ([size % step] if size % step else []) \
            if step else []
        sizes = sizes or [0]                     # an empty dim: one empty piece
    else:
        sizes = [_whole(n, "split", f"each size in {list(split_size_or_sections)}")
                 for n in split_size_or_sections]
        if any(n < 0 for n in sizes) or sum(sizes) != size:
            raise ValueError(f"split: sizes {sizes} must be non-negative and add up to "
                             f"{size}, the size of dim {dim} of shape {tuple(x.shape)}")
    return Split(sizes, dim)(x)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple:
    """x cut along dim into `chunks` pieces of ceil(size / chunks) each, as in PyTorch (the
    last may be smaller, and there may be fewer pieces than asked: 6 in 4 chunks gives 2,
    2 and 2)."""
    if not isinstance(chunks, (int, np.integer)) or isinstance(chunks, bool):
        raise TypeError(f"chunk: chunks must be an int, got {chunks!r}")
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    if x.ndim == 0:
        raise ValueError("chunk: expected a tensor with at least 1 dimension, got a 0-d one")
    size = x.shape[_normalize_dim(dim, x.ndim, "chunk")]
    if size == 0:                                       # an empty dim: chunks empty pieces
        return split(x, [0] * int(chunks), dim)
    return split(x, -(-size // int(chunks)), dim)       # ceil(size / chunks) each


def narrow(x: Tensor, dim: int, start, length: int) -> Tensor:
    """x[..., start:start + length] along dim, as torch.narrow: `length` entries from
    `start` (a negative start counts from the end). A slice, so a view, and the gradient
    is 0 outside it (getitem)."""
    from .index import getitem  # noqa: PLC0415

    if x.ndim == 0:
        raise ValueError("narrow: cannot narrow a 0-d tensor (it has no dims)")
    dim = _normalize_dim(dim, x.ndim, "narrow")
    start, length = _whole(start, "narrow", "start"), _whole(length, "narrow", "length")
    size = x.shape[dim]
    if not -size <= start <= size:
        raise IndexError(f"narrow: start {start} is out of range for dim {dim} of size "
                         f"{size} (shape {tuple(x.shape)}; expected a start in "
                         f"[{-size}, {size}])")
    if length < 0:
        raise ValueError(f"narrow: length must be non-negative, got {length}")
    start = start + size if start < 0 else start
    if start + length > size:
        raise ValueError(f"narrow: start ({start}) + length ({length}) exceeds the size "
                         f"{size} of dim {dim} (shape {tuple(x.shape)})")
    return getitem(x, (slice(None),) * dim + (slice(start, start + length),))


class Pad(Function):
    """y = x surrounded by a constant (zeros by default).   dy/dx = the middle of gy"""
    save_inputs = False
    holds_no_arrays = True   # backward needs only the bookkeeping (see Function)

    def __init__(self, widths, value: float):
        self.widths = widths      # ((before, after), ...) per dimension, numpy style
        self.value = value

    def forward(self, x):
        return xp_of(x).pad(x, self.widths, mode="constant", constant_values=self.value)

    def backward(self, gy):
        from .index import getitem  # noqa: PLC0415

        key = tuple(slice(before, gy.shape[i] - after)
                    for i, (before, after) in enumerate(self.widths))
        return getitem(gy, key)


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """PyTorch's F.pad: `pad` lists (left, right) pairs starting from the LAST dimension,
    e.g. (1, 1, 2, 2) pads W by 1 and H by 2 on each side. Negative widths crop.
    mode "constant": the padding holds `value` (None: 0, PyTorch's default);
    "reflect" (d c b | a b c d | c b a), "replicate" (a a | a b c d | d d) and "circular"
    (c d | a b c d | a b): see _pad_by_index."""
    x = input
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: mode {mode!r} is not implemented ('constant', "
                                  f"'reflect', 'replicate' and 'circular' are)")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: {tuple(pad)} must hold (before, after) pairs for at most "
                         f"{x.ndim} dimensions of shape {tuple(x.shape)}")
    pad = tuple(_whole(n, "pad", f"each width in {tuple(pad)}") for n in pad)
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode != "constant":
        if value is not None:
            raise ValueError(f"pad: mode {mode!r} takes no value (got {value!r}), as in "
                             f"PyTorch")
        return _pad_by_index(x, len(pad) // 2, widths, mode)
    value = 0.0 if value is None else value
    for dim, ((a, b), n) in enumerate(zip(widths, x.shape)):
        if max(-a, 0) + max(-b, 0) > n:            # as PyTorch: no crop past the edge
            raise ValueError(f"pad: the negative widths ({a}, {b}) crop more than dim "
                             f"{dim} holds (size {n}, shape {tuple(x.shape)})")
    if any(a < 0 or b < 0 for a, b in widths):   # cropping part: slice first
        from .index import getitem  # noqa: PLC0415

        key = tuple(slice(-a if a < 0 else 0, n + b if b < 0 else n)
                    for (a, b), n in zip(widths, x.shape))
        x = getitem(x, key)
        widths = [(max(a, 0), max(b, 0)) for a, b in widths]
    return Pad(tuple(widths), float(value))(x)


def _pad_by_index(x: Tensor, dims: int, widths: list, mode: str) -> Tensor:
    """reflect, replicate and circular padding, one padded dim at a time: output position
    j copies input position i = j - before (before < 0 crops), brought into [0, n):
        reflect     mirror at the edges, the edge itself not repeated: |i|, then
                    2 (n - 1) - i past the end (so widths must be < n)
        replicate   the edge repeated: clip(i, 0, n - 1)
        circular    wrapped around: i mod n (widths at most n; a negative one crops
                    first, as in PyTorch)
    Each is x indexed with an array of positions (getitem), so the backward is
    GetItem's scatter-add: an input pixel copied into the border also receives the
    border's gradient. As PyTorch, the last 1, 2 or 3 dims of an input with one or two
    more (a batch and/or channel dim)."""
    if not 1 <= dims <= 3 or x.ndim not in (dims + 1, dims + 2):
        raise ValueError(f"pad: mode {mode!r} pads the last 1, 2 or 3 dims of an input with "
                         f"one or two dims more (as PyTorch); got {2 * dims} widths for "
                         f"shape {tuple(x.shape)}")
    from .index import getitem  # noqa: PLC0415

    for dim, (before, after) in enumerate(widths):
        if before == after == 0:
            continue
        n = x.shape[dim]
        if mode == "circular" and min(before, after) < 0:   # as PyTorch: crop, then wrap
            x = getitem(x, (slice(None),) * dim + (slice(max(-before, 0), n - max(-after, 0)),))
            n, before, after = x.shape[dim], max(before, 0), max(after, 0)
            if before == after == 0:
                continue
        if n == 0:                           # no values to copy: all three need one
            raise ValueError(f"pad: mode {mode!r} cannot pad dim {dim} of size 0 (shape "
                             f"{tuple(x.shape)}, widths ({before}, {after})): it has no "
                             f"values to copy")
        limit = n - 1 if mode == "reflect" else n if mode == "circular" else None
        if limit is not None and max(before, after) > limit:
            raise ValueError(f"pad: mode {mode!r} needs widths of at most {limit} for dim "
                             f"{dim} of size {n} (shape {tuple(x.shape)}), got "
                             f"({before}, {after})")
        if n + before + after < 1:
            raise ValueError(f"pad: widths ({before}, {after}) leave nothing of dim {dim} "
                             f"(size {n}, shape {tuple(x.shape)})")
        source = np.arange(-before, n + after)            # for each output position
        if mode == "reflect":
            source = np.abs(source)
            source = np.where(source > n - 1, 2 * (n - 1) - source, source)
        elif mode == "replicate":
            source = np.clip(source, 0, n - 1)
        else:
            source = source % n
        x = getitem(x, (slice(None),) * dim + (source,))
    return x


class ToDtype(Function):
    """y = x converted to another float dtype.   dy/dx = convert back"""
    save_inputs = False
    holds_no_arrays = True   # backward needs only the bookkeeping (see Function)

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)

    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, gy):
        (_, dtype), = self.input_meta
        return ToDtype(dtype)(gy)


def to_dtype(x: Tensor, dtype) -> Tensor:
    """x in another dtype; to an integer or bool dtype the result has no gradient (its
    values are not differentiable), as in PyTorch."""
    if np.dtype(dtype) == x.dtype:
        return x
    if np.dtype(dtype).kind not in "fc":
        return Tensor._from_op(x.data.astype(dtype), False)
    return ToDtype(dtype)(x)


class ToDevice(Function):
    """y = x copied to another device.   dy/dx = copy back"""
    save_inputs = False
    holds_no_arrays = True   # backward needs only the bookkeeping (see Function)

    def __init__(self, device: str):
        self.device = device

    def forward(self, x):
        self.source_device = "gpu" if type(x).__module__.startswith("cupy") else "cpu"
        return _to_device(x, self.device)

    def backward(self, gy):
        return ToDevice(self.source_device)(gy)


def to_device(x: Tensor, device: str) -> Tensor:
    return ToDevice(device)(x)


class Clone(Function):
    """y = a copy of x.   dy/dx = 1"""
    save_inputs = False
    holds_no_arrays = True   # backward needs only the bookkeeping (see Function)

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy


def clone(x: Tensor) -> Tensor:
    return Clone()(x)
