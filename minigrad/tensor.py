"""Tensor: an ndarray (numpy on the CPU, CuPy on the GPU) plus what autograd needs.

    data           the array itself
    requires_grad  whether gradients should flow to this tensor
    grad           the accumulated gradient (a Tensor), filled by backward()
    creator        the Function that produced it (None for leaves: data and parameters);
                   `grad_fn` is the PyTorch name for the same thing
    _version       bumped by every in-place change, so that a Function which saved this
                   tensor for backward can tell that it was modified under its feet.
                   A view (`W.T`, `x[0]`, `x.reshape(...)`, `x.detach()`) shares the
                   counter of the tensor whose memory it sees: `W.data -= lr * g` then
                   also invalidates a saved `W.T`

The operators (`a + b`, `a @ b`, `x.sum()`) only forward to the ops in `minigrad.ops`;
the math lives there, next to its derivative.
"""
from __future__ import annotations

import contextlib
import warnings
import weakref

import numpy as np

from . import backend


class Tensor:
    __array_priority__ = 1000  # numpy_array * tensor -> Tensor.__rmul__, not numpy's

    def __init__(self, data, requires_grad: bool = False):
        if not isinstance(requires_grad, (bool, np.bool_)):
            hint = ""
            if isinstance(data, (int, np.integer)):             # torch.Tensor(2, 3): a shape
                hint = ("; for a new tensor of a shape use mg.zeros(...) or mg.empty(...), "
                        "for one of values mg.tensor(...)")
            raise TypeError(f"Tensor(data, requires_grad): requires_grad must be True or "
                            f"False, got {requires_grad!r}{hint}")
        version_counter = [0]        # one cell, shared with views (see _version)
        if isinstance(data, Tensor):   # an alias of the same memory: the same counter, so
            version_counter = data._version_counter    # that a change through it is seen
            data = data.data
        if not (isinstance(data, np.ndarray) or backend.is_gpu_array(data)):
            data = np.asarray(data)
        self._data = data
        self._version_counter = version_counter
        self._grad: Tensor | None = None   # (the property `grad` checks what is assigned)
        self.creator = None
        self._output_index = 0
        self._hooks = None
        self.name: str | None = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _from_op(cls, array, requires_grad: bool) -> "Tensor":
        """Fast constructor used by Function.__call__ (array already an ndarray)."""
        if isinstance(array, np.generic):  # numpy reductions return scalars
            array = np.asarray(array)
        t = cls.__new__(cls)
        t._data = array
        t._version_counter = [0]
        t._grad = None
        t.creator = None
        t._output_index = 0
        t._hooks = None
        t.name = None
        t._requires_grad = requires_grad
        return t

    # ------------------------------------------------------------------ attributes
    @property
    def data(self):
        return self._data

    @data.setter
    def data(self, array) -> None:
        """Replacing or updating `.data` in place (e.g. `p.data -= lr * g`) counts as an
        in-place modification: the version counter moves on. The new value must be an
        array (numpy or CuPy, or a Tensor's), floating point if self requires grad."""
        if isinstance(array, Tensor):
            array = array.data
        if isinstance(array, np.generic):             # a 0-d array's arithmetic: x.data - 1
            array = np.asarray(array)
        if not (isinstance(array, np.ndarray) or backend.is_gpu_array(array)):
            raise TypeError(f"data: expected an array (numpy or CuPy) or a Tensor, got "
                            f"{type(array).__name__}; wrap it: np.asarray(...)")
        if self._requires_grad and array.dtype.kind not in "fc":
            raise TypeError(f"data: a tensor that requires grad must hold floating point "
                            f"values, got an array of {array.dtype}")
        self._data = array
        self._version += 1

    @property
    def _version(self) -> int:
        return self._version_counter[0]

    @_version.setter
    def _version(self, value: int) -> None:
        self._version_counter[0] = value

    @property
    def grad(self) -> "Tensor | None":
        if self._grad is None and self.creator is not None and not self.retains_grad:
            # PyTorch's warning: y = x * 2; loss.backward(); y.grad is None, as designed
            warnings.warn(f"the .grad of a tensor of shape {self.shape} computed by "
                          f"{self.creator.name} (not a leaf) is being read: backward() fills "
                          f"only the leaves' .grad, so it is None. Call .retain_grad() on it "
                          f"before backward() to keep its gradient, or mg.grad(loss, it)",
                          UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: "Tensor | None") -> None:
        """`x.grad = g` (or None, as zero_grad does). As in PyTorch, g must be a Tensor of
        x's shape, dtype and device: an optimizer would otherwise fail later, or
        broadcast a wrong gradient silently. (backward() itself sets `_grad`.)"""
        if value is not None:
            _check_assigned_grad(self, value)
        self._grad = value

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag and not self.is_floating_point():
            raise RuntimeError(
                f"only floating-point tensors can require gradients; this tensor has "
                f"dtype {self.dtype} and shape {self.shape}. Convert it first, "
                f"e.g. mg.tensor(x, dtype=mg.float32, requires_grad=True)"
            )
        if not flag and self.creator is not None:
            raise RuntimeError("requires_grad can only be turned off on a leaf tensor; "
                               "use .detach() for a non-leaf")
        self._requires_grad = bool(flag)

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        self.requires_grad = flag
        return self

    @property
    def grad_fn(self):
        return self.creator

    @property
    def is_leaf(self) -> bool:
        return self.creator is None

    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def device(self) -> str:
        return backend.device_of(self._data)

    @property
    def xp(self):
        """numpy or cupy, whichever holds this tensor's data."""
        return backend.xp_of(self._data)

    def size(self, dim: int | None = None):
        if dim is None:
            return self.shape
        if self.ndim == 0:
            raise IndexError(f"size: a 0-d tensor has no dimension {dim}")
        return self.shape[ops.shape._normalize_dim(dim, self.ndim, "size")]

    def numel(self) -> int:
        return int(self._data.size)

    def dim(self) -> int:
        return self.ndim

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    # ------------------------------------------------------------------ conversions
    def numpy(self) -> np.ndarray:
        """The data as a numpy array (copied from the GPU if needed). Requires no grad
        history to matter: like PyTorch's .detach().cpu().numpy()."""
        return backend.to_numpy(self._data)

    def item(self) -> float:
        if self._data.size != 1:
            raise ValueError(f"item(): only one-element tensors can be converted to a "
                             f"Python number, got shape {self.shape}")
        return self._data.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self) -> "Tensor":
        """The same data, cut from the graph (shares memory and the version counter,
        like PyTorch)."""
        t = Tensor._from_op(self._data, False)
        t._version_counter = self._version_counter
        return t

    def detach_(self) -> "Tensor":
        """Cut this tensor from the graph in place: it becomes a leaf that needs no
        gradient (its values and memory unchanged), as PyTorch's detach_."""
        self.creator = None
        self._output_index = 0
        self._requires_grad = False
        return self

    def clone(self) -> "Tensor":
        return ops.clone(self)

    def to(self, device=None, dtype=None) -> "Tensor":
        """A copy on another device and/or with another dtype (self when nothing
        changes). Differentiable: gradients flow back across devices and dtypes.
        As in PyTorch: x.to("gpu"), x.to(mg.float64), x.to("gpu", mg.float64), and
        x.to(other), which takes other's device and dtype."""
        if isinstance(device, Tensor):
            device, dtype = device.device, device.dtype if dtype is None else dtype
        elif device is not None and not isinstance(device, str):   # x.to(mg.float64)
            if dtype is not None:
                raise TypeError(f"to: got two dtypes, {device!r} and {dtype!r}")
            device, dtype = None, device
        out = self
        if dtype is not None and np.dtype(dtype) != self.dtype:
            out = ops.to_dtype(out, dtype)
        if device is not None and backend.normalize_device(device) != self.device:
            out = ops.to_device(out, backend.normalize_device(device))
        return out

    def to_dtype(self, dtype) -> "Tensor":
        return ops.to_dtype(self, dtype)

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def gpu(self) -> "Tensor":
        return self.to("gpu")

    cuda = gpu

    def float(self) -> "Tensor":
        return self.to(dtype=np.float32)

    def double(self) -> "Tensor":
        return self.to(dtype=np.float64)

    def long(self) -> "Tensor":
        return self.to(dtype=np.int64)

    def int(self) -> "Tensor":
        return self.to(dtype=np.int32)

    def bool(self) -> "Tensor":
        return self.to(dtype=np.bool_)

    def type(self, dtype=None):
        """x.type(mg.float32) is x in that dtype (as x.to(dtype)); x.type(mg.FloatTensor)
        or x.type(mg.cuda.FloatTensor) also moves it to that type's device; x.type()
        names its type as PyTorch does, "minigrad.FloatTensor" (see legacy.py)."""
        from . import legacy  # noqa: PLC0415

        if dtype is None:
            return legacy.type_name(self)
        if isinstance(dtype, legacy._TensorType):
            return self.to(dtype.device, dtype.dtype)
        if isinstance(dtype, str):
            raise TypeError(f"type: pass a dtype (mg.float32, mg.int64, ...) or a tensor "
                            f"type (mg.FloatTensor), not the string {dtype!r}")
        return self.to(dtype=dtype)

    def type_as(self, other: "Tensor") -> "Tensor":
        """self in other's dtype (the device stays)."""
        return self.to(dtype=other.dtype)

    # new tensors on self's device, in self's dtype unless told otherwise (PyTorch's new_*)
    def new_zeros(self, *size, dtype=None, requires_grad=False) -> "Tensor":
        from .creation import zeros  # noqa: PLC0415
        return zeros(*size, dtype=dtype or self.dtype, device=self.device,
                     requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, requires_grad=False) -> "Tensor":
        """Zeros, as mg.empty (a value you can rely on; PyTorch leaves memory as it was)."""
        return self.new_zeros(*size, dtype=dtype, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad=False) -> "Tensor":
        from .creation import ones  # noqa: PLC0415
        return ones(*size, dtype=dtype or self.dtype, device=self.device,
                    requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, requires_grad=False) -> "Tensor":
        from .creation import full  # noqa: PLC0415
        return full(size, fill_value, dtype=dtype or self.dtype, device=self.device,
                    requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, requires_grad=False) -> "Tensor":
        from .creation import tensor  # noqa: PLC0415
        return tensor(data, dtype=dtype or self.dtype, device=self.device,
                      requires_grad=requires_grad)

    # ------------------------------------------------------------------ autograd
    def backward(self, gradient: "Tensor | None" = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad`.

        `gradient` is required unless self is a scalar (then it is 1); it is cast to
        self's dtype. Calling backward twice adds the second gradient to the first
        (zero_grad() between steps); the second call also needs `retain_graph=True` on
        the first one. `retain_graph` defaults to `create_graph`, as in PyTorch; an
        explicit `retain_graph=False` frees the graph even with `create_graph=True`.
        `inputs` (a tensor or a list) fills only those tensors' `.grad`: see
        `mg.autograd.backward`.
        """
        from .autograd import backward  # noqa: PLC0415

        backward([self], [gradient], retain_graph, create_graph, inputs)

    def register_hook(self, hook) -> "RemovableHandle":
        """Call `hook(grad)` when the gradient w.r.t. this tensor is computed; if the hook
        returns a Tensor, that replaces the gradient (e.g. for clipping or logging).
        Returns a handle: `handle.remove()` unregisters the hook."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that "
                               "does not require grad")
        if self.creator is None:
            if self._hooks is None:
                self._hooks = {}
            hooks = self._hooks
        else:
            fn = self.creator
            if fn.output_hooks is None:
                fn.output_hooks = {}
            hooks = fn.output_hooks.setdefault(self._output_index, {})
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def retain_grad(self) -> None:
        """Keep the gradient of a non-leaf tensor in `.grad` after backward (a leaf keeps
        its own anyway). A flag: calling it twice changes nothing. The engine stores the
        gradient after every hook of this tensor has run (whenever registered), as a copy
        of its own, and adds later backward passes onto it, like a leaf's."""
        if not self._requires_grad:
            raise RuntimeError(f"retain_grad: this tensor (shape {tuple(self.shape)}) does "
                               f"not require grad, so it will never have a gradient")
        if self.creator is None:
            return
        fn = self.creator
        if fn.output_hooks is None:
            fn.output_hooks = {}        # (not None: the engine looks at this output)
        if fn.retained is None:
            fn.retained = {}
        fn.retained[self._output_index] = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        """Whether retain_grad() was called on this (non-leaf) tensor."""
        fn = self.creator
        return fn is not None and self._output_index in (fn.retained or {})

    # ------------------------------------------------------------------ in place
    # In-place changes are not recorded on the tape. On a leaf (a parameter) under
    # mg.no_grad() that is what an update wants, and the version counter catches a graph
    # that saved the old value. Three cases are refused while grad mode is on (no_grad()
    # allows them: the caller opted out of gradients), as PyTorch refuses them:
    # * self is a leaf that requires grad: the graphs that used it would be wrong;
    # * self was computed by an op and gradients flow through it: the change would be
    #   missing from backward;
    # * the value written in requires grad (acc.add_(w * 2)): its gradient would be lost,
    #   as nothing records that self now depends on it.
    _OUT_OF_PLACE = {"add_": "acc = acc + x", "sub_": "acc = acc - x", "mul_": "y = y * x",
                     "div_": "y = y / x", "copy_": "y = x.clone()",
                     "__setitem__": "mg.where(mask, value, y), or mg.stack/mg.cat the parts"}

    def _check_in_place(self, op: str, source=None) -> None:
        source_needs_grad = isinstance(source, Tensor) and source._requires_grad
        if (self.creator is None and not self._requires_grad and not source_needs_grad) \
                or not _grad_on():
            return
        if self.creator is None and self._requires_grad:
            raise RuntimeError(
                f"{op}: a leaf tensor of shape {self.shape} that requires grad (a parameter) "
                f"cannot be changed in place while gradients are recorded: the graphs "
                f"that used it would be wrong. Wrap the update in mg.no_grad(), as "
                f"nn.init does (optimizers write p.data directly)"
            )
        if self.creator is not None:
            raise RuntimeError(
                f"{op}: cannot modify a tensor of shape {self.shape} in place: it was "
                f"computed by {self.creator.name} and gradients flow through it, but "
                f"in-place changes are not recorded for backward. Compute a new tensor "
                f"instead (y = y * 2, mg.where(mask, value, y)), or use mg.no_grad()"
            )
        instead = self._OUT_OF_PLACE.get(op, "a new tensor from an op")
        raise RuntimeError(
            f"{op}: the value written into this tensor of shape {self.shape} requires "
            f"grad, but in-place changes are not recorded for backward, so its gradient "
            f"would be lost. Use the out-of-place form ({instead}), or detach() the value "
            f"(or use mg.no_grad()) if no gradient should flow through it"
        )

    def _bump(self) -> "Tensor":
        self._version += 1
        return self

    def zero_(self) -> "Tensor":
        self._check_in_place("zero_")
        self._data[...] = 0
        return self._bump()

    def fill_(self, value) -> "Tensor":
        self._check_in_place("fill_", value)
        if isinstance(value, Tensor) and value.ndim != 0:
            raise ValueError(f"fill_: the value must be a number or a 0-d tensor, got a "
                             f"tensor of shape {value.shape} (to copy values use copy_)")
        with self._storable("fill_", value):
            self._data[...] = value.data if isinstance(value, Tensor) else value
        return self._bump()

    def copy_(self, other) -> "Tensor":
        self._check_in_place("copy_", other)
        source = other.data if isinstance(other, Tensor) else other
        with self._storable("copy_", other):
            self._data[...] = backend.to_device(source, self.device)
        return self._bump()

    def add_(self, other, alpha: float = 1.0) -> "Tensor":
        self._check_in_place("add_", other)
        source = other.data if isinstance(other, Tensor) else other
        with self._storable("add_", other):
            self._data += alpha * source if alpha != 1.0 else source
        return self._bump()

    def sub_(self, other, alpha: float = 1.0) -> "Tensor":
        self._check_in_place("sub_", other)
        source = other.data if isinstance(other, Tensor) else other
        with self._storable("sub_", other):
            self._data -= alpha * source if alpha != 1.0 else source
        return self._bump()

    def lerp_(self, end, weight) -> "Tensor":
        """self += weight * (end - self), in place: an EMA of G's weights is
        `ema_p.lerp_(p, 1 - decay)` under no_grad, as in PyTorch (whose formula this is:
        from the end for weight >= 0.5, so that weight 1 gives end exactly)."""
        if self.dtype.kind != "f":
            raise TypeError(f"lerp_: only floating point tensors, got {self.dtype}")
        self._check_in_place("lerp_", end)
        if isinstance(weight, Tensor):
            self._check_in_place("lerp_", weight)
        target = end.data if isinstance(end, Tensor) else end
        with self._storable("lerp_", end):
            gap = target - self._data
            if isinstance(weight, Tensor):               # a weight per element
                step = weight.data
                self._data[...] = self.xp.where(step < 0.5, self._data + step * gap,
                                                target - gap * (1 - step))
            elif weight < 0.5:
                self._data += weight * gap
            else:
                self._data[...] = target - gap * (1 - weight)
        return self._bump()

    def lerp(self, end, weight) -> "Tensor":
        """self + weight * (end - self) (from the end for weight >= 0.5, as PyTorch), and
        differentiable in self, end and weight."""
        if self.dtype.kind != "f":
            raise TypeError(f"lerp: only floating point tensors, got {self.dtype}")
        if isinstance(weight, Tensor):
            return ops.where(weight.data < 0.5, self + (end - self) * weight,
                             end - (end - self) * (1 - weight))
        if weight < 0.5:
            return self + (end - self) * weight
        return end - (end - self) * (1 - weight)

    def mul_(self, other) -> "Tensor":
        self._check_in_place("mul_", other)
        with self._storable("mul_", other):
            self._data *= other.data if isinstance(other, Tensor) else other
        return self._bump()

    def div_(self, other) -> "Tensor":
        self._check_in_place("div_", other)
        with self._storable("div_", other):
            self._data /= other.data if isinstance(other, Tensor) else other
        return self._bump()

    @contextlib.contextmanager
    def _storable(self, op: str, other):
        """An in-place result must fit this tensor, as PyTorch says: its shape (other
        broadcasts to it, never the other way: checked first, as numpy and CuPy word that
        error differently) and its dtype (an integer tensor cannot take 1.5: numpy's
        casting error, said again)."""
        shape = () if other is None or isinstance(other, (int, float)) else np.shape(other)
        if shape and shape != self.shape and not _broadcasts_to(shape, self.shape):
            raise ValueError(f"{op}: a value of shape {tuple(np.shape(other))} cannot be "
                             f"written in place into a tensor of shape {tuple(self.shape)} "
                             f"(it must broadcast to that shape)")
        try:
            yield
        except TypeError as exc:
            if "cast" not in str(exc):           # only numpy's casting error is ours to say
                raise
            given = other.dtype if isinstance(other, Tensor) else type(other).__name__
            raise TypeError(f"{op}: the result with {given} cannot be stored in place in a "
                            f"{self.dtype} tensor of shape {self.shape}; compute a new "
                            f"tensor, or convert this one first") from None

    # x += y, x -= y, x *= y, x /= y: in place, as in PyTorch (so that `with mg.no_grad():
    # p -= lr * p.grad` updates p, and every view of it). While autograd records:
    # - x a parameter (a leaf that requires grad): an error, as in PyTorch;
    # - x computed by an op, or y requiring grad (loss += penalty): an in-place change
    #   could not be differentiated here, so the name is bound to the new tensor x + y,
    #   which backward needs. It must keep x's shape and dtype, as in place it would
    #   (other references to x keep the old value: PyTorch would update them).
    def _in_place_or_new(self, other, symbol: str, in_place: str, op):
        if _grad_on():
            if self.creator is None and self._requires_grad:
                self._check_in_place(f"x {symbol} y")       # a parameter: refused
            if self.creator is not None or (isinstance(other, Tensor)
                                            and other._requires_grad):
                result = op(self, other)
                if result.shape != self.shape or result.dtype != self.dtype:
                    raise RuntimeError(f"x {symbol} y: the result, {result.dtype} of shape "
                                       f"{result.shape}, must keep x's {self.dtype} and "
                                       f"shape {self.shape} (it is in place, as in PyTorch)")
                return result
        return getattr(self, in_place)(other)

    def __iadd__(self, other):
        return self._in_place_or_new(other, "+=", "add_", ops.add)

    def __isub__(self, other):
        return self._in_place_or_new(other, "-=", "sub_", ops.sub)

    def __imul__(self, other):
        return self._in_place_or_new(other, "*=", "mul_", ops.mul)

    def __itruediv__(self, other):
        return self._in_place_or_new(other, "/=", "div_", ops.div)

    def clamp_(self, min=None, max=None) -> "Tensor":
        """Clamp into [min, max] in place; the bounds numbers or tensors that broadcast to
        this tensor's shape, as in PyTorch."""
        self._check_in_place("clamp_", min)
        self._check_in_place("clamp_", max)
        bounds = []
        for bound in (min, max):
            if isinstance(bound, Tensor):
                if bound.device != self.device:
                    raise RuntimeError(f"clamp_: a bound on {bound.device} for a tensor on "
                                       f"{self.device}")
                bound = bound.data
            bounds.append(bound)
        with self._storable("clamp_", min), self._storable("clamp_", max):
            self.xp.clip(self._data, *bounds, out=self._data)
        return self._bump()

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> "Tensor":
        self._check_in_place("normal_")
        if not std >= 0:
            raise ValueError(f"normal_: std must be >= 0, got {std}")
        sample = backend.rng().standard_normal(self.shape) * std + mean
        self._data[...] = backend.to_device(sample.astype(self.dtype), self.device)
        return self._bump()

    def uniform_(self, low: float = 0.0, high: float = 1.0) -> "Tensor":
        self._check_in_place("uniform_")
        if not low <= high:
            raise ValueError(f"uniform_: expects a range [low, high), got low={low} > "
                             f"high={high}")
        sample = backend.rng().uniform(low, high, self.shape)
        self._data[...] = backend.to_device(sample.astype(self.dtype), self.device)
        return self._bump()

    def exp_(self) -> "Tensor":
        """self = e^self, in place; floating point tensors only (e^x is no integer)."""
        self._check_in_place("exp_")
        if self.dtype.kind != "f":
            raise TypeError(f"exp_: only floating point tensors, got {self.dtype} of shape "
                            f"{self.shape}; x.exp() gives a new float tensor")
        self.xp.exp(self._data, out=self._data)
        return self._bump()

    def random_(self, *bounds, to=None) -> "Tensor":
        """Whole numbers drawn uniformly from the library's generator (`mg.manual_seed`),
        stored in this tensor's dtype, as PyTorch's random_ (whose `from` is a Python
        keyword, so it goes by position):
            x.random_(to)            [0, to)
            x.random_(from, to)      [from, to)
            x.random_()              [0, top]: top is 2^24 for float32 and 2^53 for
                                     float64 (up to there every whole number is exact),
                                     the maximum of an integer dtype, 1 for bool
            x.random_(from, None)    [from, top]"""
        self._check_in_place("random_")
        if len(bounds) > 2 or (len(bounds) == 2 and to is not None):
            raise TypeError(f"random_: expected random_(), random_(to) or random_(from, "
                            f"to), got bounds {bounds} and to={to!r}")
        if len(bounds) == 2:
            low, high = bounds
        elif len(bounds) == 1:
            low, high = (0, bounds[0]) if to is None else (bounds[0], to)
        else:
            low, high = 0, to
        for name, value in (("from", low), ("to", high)):
            if value is not None and (isinstance(value, (bool, np.bool_))
                                      or not isinstance(value, (int, np.integer))):
                raise TypeError(f"random_: {name} must be an int, got {value!r}")
        kind = self.dtype.kind
        if kind == "f":
            top = 2 ** (np.finfo(self.dtype).nmant + 1)     # every whole number up to it
        elif kind == "b":
            top = 1
        else:
            top = min(int(np.iinfo(self.dtype).max), int(np.iinfo(np.int64).max))
        last = top if high is None else int(high) - 1       # the largest number drawn
        if low > last:
            expected = f"from <= {top} for {self.dtype}" if high is None else "from < to"
            raise ValueError(f"random_: expects {expected}, got from={low}, to={high}")
        if kind in "biu":
            lowest = 0 if kind == "b" else int(np.iinfo(self.dtype).min)
            if low < lowest or last > top:
                raise ValueError(f"random_: [{low}, {last}] does not fit in {self.dtype} "
                                 f"([{lowest}, {top}])")
        elif max(-low, last) > top:                          # as PyTorch: a warning
            warnings.warn(f"random_: [{low}, {last}] reaches past [-{top}, {top}], where "
                          f"{self.dtype} holds every whole number; the values are rounded",
                          UserWarning, stacklevel=2)
        sample = backend.rng().integers(low, last, size=self.shape, endpoint=True)
        self._data[...] = backend.to_device(sample.astype(self.dtype), self.device)
        return self._bump()

    def __setitem__(self, key, value) -> None:
        """x[key] = value, with the key read as x[key] reads it (PyTorch's rules, see
        minigrad/ops/index.py): x[0, :, [1, 2]] = v writes where x[0, :, [1, 2]] reads."""
        self._check_in_place("__setitem__", value)
        steps = ops.index._steps(ops.index.normalize_index(key, self.xp))
        target = self._data
        try:
            for step in steps[:-1]:
                target = target[step]    # the integers first: a view into self's memory
            ops.index.check_bounds(steps[-1], target.shape,      # (CuPy does not check)
                                   on_gpu=not isinstance(target, np.ndarray))
            target[steps[-1]] = value.data if isinstance(value, Tensor) else value
        except ValueError as exc:          # (numpy and CuPy word it differently)
            raise ValueError(f"setitem: a value of shape {tuple(np.shape(value))} does not "
                             f"broadcast to x[{key!r}], of shape "
                             f"{tuple(target[steps[-1]].shape)} ({exc})") from None
        except IndexError as exc:
            raise IndexError(f"setitem: index {key!r} is invalid for a tensor of shape "
                             f"{tuple(self.shape)}: {exc}") from None
        self._bump()

    # ------------------------------------------------------------------ operators
    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(self, other)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.rsub(self, other)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(self, other)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.rdiv(self, other)

    def __floordiv__(self, other):
        return ops.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return ops.floor_divide(other, self)

    def __mod__(self, other):
        return ops.remainder(self, other)

    def __rmod__(self, other):
        return ops.remainder(other, self)

    def __pow__(self, exponent):
        return ops.pow(self, exponent)

    def __rpow__(self, base):
        return ops.rpow(self, base)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(ops.as_tensor(other, like=self), self)

    def __neg__(self):
        return ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return ops.abs(self)

    def __getitem__(self, key):
        return ops.getitem(self, key)

    # comparisons: no gradient, a boolean tensor
    def __eq__(self, other):  # type: ignore[override]
        if other is None:              # `x == None` is a question about x, as in PyTorch
            return False
        return ops.compare(self, other, "eq")

    def __ne__(self, other):  # type: ignore[override]
        if other is None:
            return True
        return ops.compare(self, other, "ne")

    def __lt__(self, other):
        return ops.compare(self, other, "lt")

    def __le__(self, other):
        return ops.compare(self, other, "le")

    def __gt__(self, other):
        return ops.compare(self, other, "gt")

    def __ge__(self, other):
        return ops.compare(self, other, "ge")

    # masks combined: (x > 0) & (x < 1), ~mask (bool or integer tensors; no gradient)
    def __and__(self, other): return ops.mask_op(self, other, "bitwise_and")
    def __or__(self, other): return ops.mask_op(self, other, "bitwise_or")
    def __xor__(self, other): return ops.mask_op(self, other, "bitwise_xor")
    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__
    def __invert__(self): return ops.logical_not(self, bitwise=True)
    def logical_and(self, other): return ops.mask_op(self, other, "logical_and")
    def logical_or(self, other): return ops.mask_op(self, other, "logical_or")
    def logical_xor(self, other): return ops.mask_op(self, other, "logical_xor")
    def logical_not(self): return ops.logical_not(self)

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"the truth value of a tensor with shape {self.shape} is "
                               f"ambiguous")
        return bool(self._data)

    def __format__(self, spec: str) -> str:
        """f"{loss:.4f}" formats a 0-d tensor as its number, as PyTorch does (f"{loss}"
        too); any other tensor takes only the empty format, as its str()."""
        if self.ndim == 0:
            return format(self.item(), spec)
        return super().__format__(spec)

    # float(loss), int(count), items[index]: one-element tensors only, as in PyTorch
    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError(f"only integer tensors of a single element can be converted to "
                            f"an index, got {self.dtype} of shape {self.shape}")
        return int(self.item())

    # ------------------------------------------------------------------ methods
    def exp(self): return ops.exp(self)
    def log(self): return ops.log(self)
    def sqrt(self): return ops.sqrt(self)
    def abs(self): return ops.abs(self)
    def tanh(self): return ops.tanh(self)
    def sigmoid(self): return ops.sigmoid(self)
    def relu(self): return ops.relu(self)

    def clamp(self, min=None, max=None): return ops.clamp(self, min, max)
    clip = clamp
    def clamp_min(self, min): return ops.clamp(self, min=min)
    def clamp_max(self, max): return ops.clamp(self, max=max)

    def sin(self): return ops.sin(self)
    def cos(self): return ops.cos(self)
    def log1p(self): return ops.log1p(self)
    def expm1(self): return ops.expm1(self)
    def erf(self): return ops.erf(self)
    def square(self): return self * self
    def rsqrt(self): return ops.pow(self, -0.5)
    def reciprocal(self): return ops.rdiv(self, 1.0)
    def neg(self): return ops.neg(self)
    def floor(self): return ops.floor(self)
    def ceil(self): return ops.ceil(self)
    def round(self, decimals=0): return ops.round(self, decimals)
    def trunc(self): return ops.trunc(self)
    def sign(self): return ops.sign(self)
    def maximum(self, other): return ops.maximum(self, other)
    def minimum(self, other): return ops.minimum(self, other)

    # the operators by name, as PyTorch's methods (add and sub also take alpha)
    def add(self, other, alpha=1):
        return ops.add(self, other if alpha == 1 else other * alpha)

    def sub(self, other, alpha=1):
        return ops.sub(self, other if alpha == 1 else other * alpha)

    def mul(self, other): return ops.mul(self, other)

    def div(self, other, rounding_mode=None):
        """self / other; rounding_mode "floor" rounds down (the values of //), "trunc"
        toward zero; either has derivative 0, as PyTorch's."""
        if rounding_mode is None:
            return ops.div(self, other)
        return ops.rounded_divide(self, other, rounding_mode)

    def eq(self, other): return self == other
    def ne(self, other): return self != other
    def lt(self, other): return self < other
    def le(self, other): return self <= other
    def gt(self, other): return self > other
    def ge(self, other): return self >= other

    def isnan(self): return Tensor._from_op(self.xp.isnan(self._data), False)
    def isfinite(self): return Tensor._from_op(self.xp.isfinite(self._data), False)

    def all(self, dim=None, keepdim=False, *, keepdims=None):
        keepdim = ops.reduce._keepdim(keepdim, keepdims, "all")
        axes = None if dim is None else ops.reduce._normalize_dims(dim, self.shape, "all")
        return Tensor._from_op(self.xp.asarray(self.xp.all(self._data, axis=axes,
                                                           keepdims=keepdim)), False)

    def any(self, dim=None, keepdim=False, *, keepdims=None):
        keepdim = ops.reduce._keepdim(keepdim, keepdims, "any")
        axes = None if dim is None else ops.reduce._normalize_dims(dim, self.shape, "any")
        return Tensor._from_op(self.xp.asarray(self.xp.any(self._data, axis=axes,
                                                           keepdims=keepdim)), False)

    def masked_fill(self, mask, value): return ops.masked_fill(self, mask, value)

    def softmax(self, dim):
        from .ops.loss import softmax  # noqa: PLC0415
        return softmax(self, dim)

    def log_softmax(self, dim):
        from .ops.loss import log_softmax  # noqa: PLC0415
        return log_softmax(self, dim)

    # (keepdims=: numpy's spelling of keepdim=, which PyTorch takes too)
    def sum(self, dim=None, keepdim=False, *, keepdims=None):
        return ops.sum(self, dim, keepdim, keepdims=keepdims)

    def mean(self, dim=None, keepdim=False, *, keepdims=None):
        return ops.mean(self, dim, keepdim, keepdims=keepdims)

    def var(self, dim=None, unbiased=False, keepdim=False, *, correction=None, keepdims=None):
        """The variance over dim (all dims when None). Biased by default here (divided by
        n, unbiased=False, as the project's API promises), unlike PyTorch's default: pass
        unbiased=True (or correction=1) for PyTorch's (divided by n - 1)."""
        return ops.var(self, dim, unbiased=unbiased, keepdim=keepdim, correction=correction,
                       keepdims=keepdims)

    def std(self, dim=None, unbiased=False, keepdim=False, *, correction=None, keepdims=None):
        """sqrt(var). Biased by default here (unbiased=False, as the project's API promises), unlike
        PyTorch's default: pass unbiased=True (or correction=1) for PyTorch's. Where the
        std is 0 its gradient is 0, as in PyTorch."""
        return ops.reduce.std(self, dim, unbiased=unbiased, keepdim=keepdim,
                              correction=correction, keepdims=keepdims)

    def max(self, dim=None, keepdim=False, *, keepdims=None):
        return ops.max(self, dim, keepdim, keepdims=keepdims)

    def min(self, dim=None, keepdim=False, *, keepdims=None):
        return ops.min(self, dim, keepdim, keepdims=keepdims)

    def argmax(self, dim=None, keepdim=False, *, keepdims=None):
        return ops.argmax(self, dim, keepdim, keepdims=keepdims)

    def argmin(self, dim=None, keepdim=False, *, keepdims=None):
        return ops.argmin(self, dim, keepdim, keepdims=keepdims)

    def amax(self, dim=(), keepdim=False, *, keepdims=None):
        return ops.amax(self, dim, keepdim, keepdims=keepdims)

    def amin(self, dim=(), keepdim=False, *, keepdims=None):
        return ops.amin(self, dim, keepdim, keepdims=keepdims)

    def logsumexp(self, dim, keepdim=False, *, keepdims=None):
        return ops.logsumexp(self, dim, keepdim, keepdims=keepdims)

    def norm(self, p="fro", dim=None, keepdim=False):
        return ops.reduce.norm(self, p, dim, keepdim)

    def reshape(self, *shape): return ops.reshape(self, *shape)
    view = reshape

    def transpose(self, dim0, dim1): return ops.transpose(self, dim0, dim1)

    @property
    def T(self):
        return ops.permute(self, *reversed(range(self.ndim)))

    def permute(self, *dims): return ops.permute(self, *dims)
    def flatten(self, start_dim=0, end_dim=-1): return ops.flatten(self, start_dim, end_dim)
    def unsqueeze(self, dim): return ops.unsqueeze(self, dim)
    def squeeze(self, dim=None): return ops.squeeze(self, dim)
    def expand(self, *shape): return ops.expand(self, *shape)
    def view_as(self, other): return ops.reshape(self, *other.shape)
    reshape_as = view_as
    def repeat(self, *sizes): return ops.repeat(self, *sizes)
    def repeat_interleave(self, repeats, dim=None):
        return ops.repeat_interleave(self, repeats, dim)
    def flip(self, dims): return ops.flip(self, dims)
    def unbind(self, dim=0): return ops.unbind(self, dim)
    def gather(self, dim, index): return ops.gather(self, dim, index)
    def index_select(self, dim, index): return ops.index_select(self, dim, index)
    def roll(self, shifts, dims=None): return ops.roll(self, shifts, dims)
    def narrow(self, dim, start, length): return ops.narrow(self, dim, start, length)
    def tril(self, diagonal=0): return ops.tril(self, diagonal)
    def triu(self, diagonal=0): return ops.triu(self, diagonal)
    def cumsum(self, dim=None, *, dtype=None): return ops.cumsum(self, dim, dtype=dtype)

    def t(self):
        """The transpose of a matrix (a 0-d or 1-d tensor is itself), as PyTorch's t()."""
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor with at most 2 dims, got shape "
                             f"{self.shape}; use transpose(dim0, dim1)")
        return ops.permute(self, *reversed(range(self.ndim)))

    def mm(self, other):
        if self.ndim != 2 or other.ndim != 2:
            raise ValueError(f"mm: both operands must be 2-D, got {self.shape} and "
                             f"{tuple(other.shape)}; matmul (@) takes other shapes")
        return ops.matmul(self, other)

    def bmm(self, other):
        if self.ndim != 3 or other.ndim != 3 or self.shape[0] != other.shape[0]:
            raise ValueError(f"bmm: both operands must be 3-D with the same batch size, "
                             f"got {self.shape} and {tuple(other.shape)}")
        return ops.matmul(self, other)

    def split(self, split_size_or_sections, dim=0):
        return ops.split(self, split_size_or_sections, dim)
    def chunk(self, chunks, dim=0): return ops.chunk(self, chunks, dim)
    def floor_divide(self, other): return ops.floor_divide(self, other)
    def remainder(self, other): return ops.remainder(self, other)
    def expand_as(self, other): return ops.expand(self, *other.shape)
    def matmul(self, other): return ops.matmul(self, other)
    def pow(self, exponent): return ops.pow(self, exponent)

    def contiguous(self):
        return self

    def __repr__(self) -> str:
        body = np.array2string(self.numpy(), separator=", ", precision=4, threshold=20,
                               prefix="tensor(")
        extras = []
        if self.dtype != backend.get_default_dtype():    # as PyTorch: the default unsaid
            extras.append(f"dtype={self.dtype}")
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.creator is not None:
            extras.append(f"grad_fn=<{self.creator.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"


class RemovableHandle:
    """Returned by Tensor.register_hook and Module.register_forward_(pre_)hook, as in
    PyTorch: `handle.remove()` unregisters the hook. The hooks live in a dict, in the
    order they were registered, under the handle's id."""

    _next_id = 0

    def __init__(self, hooks: dict):
        self.hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self.hooks.pop(self.id, None)


def require_tensor(value, op: str, argument: str = "input") -> None:
    """PyTorch's "conv2d(): argument 'input' must be Tensor", for an array, a list or None
    given where an op needs a Tensor (which would fail later, deep inside, with an
    AttributeError that names neither the op nor the argument)."""
    if not isinstance(value, Tensor):
        hint = ""
        if isinstance(value, (list, tuple)):
            hint = " (wrap it: mg.tensor(...))"
        elif hasattr(value, "__array__"):      # often x.data, ported from PyTorch
            hint = (" (wrap it: mg.tensor(...); x.data is the array itself here, so for "
                    "a tensor outside the graph write x.detach())")
        raise TypeError(f"{op}: {argument} must be a Tensor, got "
                        f"{type(value).__name__}{hint}")


def _check_assigned_grad(tensor: Tensor, grad) -> None:
    if not isinstance(grad, Tensor):
        raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                        f"type {type(grad).__name__}")
    if grad.shape != tensor.shape:
        raise RuntimeError(f"assigned grad has data of a different size: the tensor has "
                           f"shape {tuple(tensor.shape)}, the grad {tuple(grad.shape)}")
    if grad.dtype != tensor.dtype:
        raise RuntimeError(f"assigned grad has data of a different type: the tensor is "
                           f"{tensor.dtype}, the grad {grad.dtype} (convert it with "
                           f".to(mg.{tensor.dtype}))")
    if grad.device != tensor.device:
        raise RuntimeError(f"assigned grad has data on a different device: the tensor is "
                           f"on {tensor.device}, the grad on {grad.device}")


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    """Whether an array of `shape` broadcasts to `target` (as an in-place write needs)."""
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def _grad_on() -> bool:
    from .autograd import is_grad_enabled  # noqa: PLC0415

    return is_grad_enabled()


from . import ops  # noqa: E402  (ops need Tensor; Tensor's operators need ops)
