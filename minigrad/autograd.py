"""The tape: Function nodes, grad mode, and the backward pass.

How a gradient is computed, in four sentences:

1. Every op is a `Function`. Calling it (`Mul()(a, b)`) runs `forward` on the raw arrays
   and, when gradients are wanted, records the Function as the `creator` of its output:
   the output remembers where it came from, and the Function remembers its inputs.
2. These records form a graph (a "tape") that leads from the loss back to the leaves
   (the parameters, which have no creator).
3. `loss.backward()` visits the Functions in reverse topological order (every consumer
   before its producers) and calls each one's `backward(grad_output)`, which returns the
   gradient for each input; gradients reaching the same tensor are added up.
4. `backward` is written with minigrad ops on Tensors, not with raw arrays. So when
   `create_graph=True` the backward pass is itself recorded on the tape, and the gradient
   can be differentiated again: that is "double backward", which the WGAN-GP gradient
   penalty and R1 need.

Repeated `backward()` calls *accumulate* into each leaf's `.grad` (as in PyTorch): call
`optimizer.zero_grad()` (or set `.grad = None`) between steps. Each `.grad` is a tensor of
its own (never another tensor's gradient), so it is safe to change in place.

After a backward pass that does not ask `retain_graph=True` (which defaults to
`create_graph`), each Function drops what it saved (inputs, outputs, masks) so the memory
is returned at once; a second backward through the same graph then raises an error that
suggests `retain_graph=True`. (Ops that saved nothing, such as reshape, stay usable.)
"""
from __future__ import annotations

import functools
import inspect
from typing import NamedTuple, Sequence

# ---------------------------------------------------------------------- grad mode
# One plain module-level flag, read by Function.__call__ for every op. (PyTorch keeps one
# per thread; minigrad runs a training step in one thread, so one flag is enough.)
_grad_enabled = True


def is_grad_enabled() -> bool:
    return _grad_enabled


class _GradMode:
    """`with _GradMode(flag):` sets the grad mode and restores the previous one on the way
    out (also after an exception). The same object can be used by several `with` blocks
    in turn, and as a decorator: `@mg.no_grad()` runs the function under the mode."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)

    def __enter__(self):
        global _grad_enabled
        self.previous, _grad_enabled = _grad_enabled, self.mode
        return self

    def __exit__(self, *exc_info) -> bool:
        global _grad_enabled
        _grad_enabled = self.previous
        return False               # an exception goes on up

    def __call__(self, func):
        if inspect.isgeneratorfunction(func):      # a sampling loop that yields batches
            @functools.wraps(func)
            def generate_in_mode(*args, **kwargs):
                return (yield from _resume_in_mode(func(*args, **kwargs), self.mode))
            return generate_in_mode

        @functools.wraps(func)
        def run_in_mode(*args, **kwargs):
            with _GradMode(self.mode):   # a new one per call: calls may nest (recursion)
                return func(*args, **kwargs)
        return run_in_mode


def _resume_in_mode(generator, mode: bool):
    """Run a generator with the grad mode set each time it resumes, and the caller's own
    mode while the caller has control, as PyTorch's decorators do: `@mg.no_grad()` on a
    generator function would otherwise only cover creating it, which runs none of its
    code. Values sent and exceptions thrown in are passed on."""
    resume, value = generator.send, None
    while True:
        try:
            with _GradMode(mode):
                response = resume(value)
        except StopIteration as stop:
            return stop.value
        try:
            value = yield response
            resume = generator.send
        except GeneratorExit:
            with _GradMode(mode):
                generator.close()
            raise
        except BaseException as error:          # thrown in by the caller: pass it on
            resume, value = generator.throw, error


class _NoArgumentMode(_GradMode):
    """A mode without arguments, usable as `@mode()` and, as in PyTorch, as `@mode`."""
    MODE = True

    def __new__(cls, func=None):
        if func is None:
            return super().__new__(cls)
        return cls()(func)                # `@mg.no_grad` without the parentheses

    def __init__(self, func=None):
        super().__init__(self.MODE)


class no_grad(_NoArgumentMode):
    """`with mg.no_grad():` ops inside record nothing (evaluation, optimizer updates)."""
    MODE = False


class inference_mode(_NoArgumentMode):
    """PyTorch's faster no_grad for sampling and evaluation; here it is no_grad itself
    (`@mg.inference_mode()` or `with mg.inference_mode():`). inference_mode(False) records,
    as enable_grad."""
    MODE = False

    def __init__(self, mode=True):
        _GradMode.__init__(self, not mode)

    def __new__(cls, mode=True):
        if callable(mode):
            return cls()(mode)            # `@mg.inference_mode` without the parentheses
        return object.__new__(cls)


class enable_grad(_NoArgumentMode):
    """`with mg.enable_grad():` turns recording back on inside a `no_grad` block."""
    MODE = True


class set_grad_enabled(_GradMode):
    """`mg.set_grad_enabled(False)` switches recording off at once, as a plain call (as in
    PyTorch); `with mg.set_grad_enabled(flag):` also restores the mode of before at the end
    of the block."""

    def __init__(self, mode: bool):
        global _grad_enabled
        super().__init__(mode)
        self.previous, _grad_enabled = _grad_enabled, self.mode   # now, not at `with`

    def __enter__(self):
        return self                # already applied; __exit__ restores self.previous

    def __call__(self, func):
        """As a decorator: undo the switch __init__ made; the mode holds inside func only."""
        global _grad_enabled
        _grad_enabled = self.previous
        return super().__call__(func)


# ---------------------------------------------------------------------- trace hook
# `minigrad.viz.trace()` sets this to a callable(fn, grad_outputs, grad_inputs) that
# prints one line per backward node. None means "do not trace" (the normal case).
_backward_trace = None


# ---------------------------------------------------------------------- Function
class Edge(NamedTuple):
    """Where the gradient for one input of a Function goes.

    fn/index: the Function that produced the input, and which of its outputs it was;
    leaf: the input itself when it is a leaf that requires grad (a parameter).
    """
    fn: "Function | None"
    index: int
    leaf: "object | None"


# Attributes a Function keeps after `release()` (bookkeeping, not saved data).
_KEPT_ON_RELEASE = ("next_edges", "n_outputs", "input_meta", "output_meta", "output_hooks",
                    "retained", "released")


class Function:
    """One node of the tape. Subclasses write `forward` and `backward` side by side.

    forward(self, *arrays) -> array or tuple of arrays
        Computes the op on raw ndarrays (numpy or CuPy). May store constants on `self`
        (a ReLU mask, a max index): those are not differentiated.
    backward(self, *grad_outputs: Tensor) -> Tensor | None | tuple
        Returns the gradient for each input, written with minigrad ops so that it can
        itself be differentiated. Inputs and outputs are available as Tensors:
        `self.inputs` (when `save_inputs` is True) and `self.outputs` (when
        `save_outputs` is True). `self.needs_input_grad[i]` says whether input i needs a
        gradient at all; return None for the ones that do not. `self.input_meta` holds
        the (shape, dtype) of each input, always kept (even after release()): ops that
        save no inputs read their input shapes there.
    """

    save_inputs = True    # keep the input Tensors for backward (most ops need them)
    save_outputs = False  # keep the output Tensors (tanh, sigmoid, exp use y)
    # {output index: weak reference to the output Tensor} for outputs that called
    # retain_grad(); set by Tensor.retain_grad only (a class default: no cost per op).
    # Weak, so that the Function does not keep a tensor alive that nobody else holds.
    retained = None
    # An op whose backward needs no tensors or arrays, only small bookkeeping (a shape, an
    # axis order: reshape, permute, cat), sets this. release() then has nothing to free
    # and leaves it whole, so a later backward may run through it again, as in PyTorch,
    # where only freed saved tensors stop a second pass: the graph of
    # backward(create_graph=True, retain_graph=False) often leads back through such ops.
    holds_no_arrays = False
    # An op whose backward, when not itself recorded (create_graph=False), returns each
    # gradient in a new array that nothing else holds (a GEMM's or a kernel's result,
    # never its incoming gradient passed through, never one array for two inputs) sets
    # this. A parameter's .grad may then be that array itself, where the engine would
    # otherwise copy it (_store_grad): PyTorch's AccumulateGrad takes over ("steals") a
    # gradient nobody else holds the same way. Set on the ops that take parameters in
    # the GAN models: convolutions, linear and matmul, batch norm. (A subclass inherits
    # it: one whose backward returns anything else must set it back to False.)
    returns_new_grads = False

    # __call__ and _record run for every op, forwards and backwards: ~4 us of Python per op
    # on a fast CPU, more than numpy needs for a small add. Hence plain list comprehensions
    # (cheaper than generators) and the private fields (t._data, not the property t.data).
    def __call__(self, *inputs):
        try:
            arrays = [t._data for t in inputs]
        except AttributeError:               # an array or a list where a Tensor belongs
            _name_the_non_tensor(self, inputs)
            raise
        _check_same_device(self, inputs)
        outputs = self.forward(*arrays)
        is_tuple = isinstance(outputs, tuple)
        outputs = outputs if is_tuple else (outputs,)

        requires_grad = _grad_enabled and any([t._requires_grad for t in inputs])
        results = tuple([Tensor._from_op(array, requires_grad) for array in outputs])
        _share_version_with_views(inputs, results)
        if requires_grad:
            self._record(inputs, results)
        return results if is_tuple else results[0]

    def _record(self, inputs, results) -> None:
        """Link this Function into the graph (called only when grad is needed)."""
        self.next_edges = tuple([_edge_to(t) for t in inputs])
        self.needs_input_grad = tuple([edge is not None for edge in self.next_edges])
        self.input_meta = tuple([(t._data.shape, t._data.dtype) for t in inputs])
        self.n_outputs = len(results)
        device = results[0].device if results else None      # one op, one device
        self.output_meta = tuple([(t._data.shape, t._data.dtype, device) for t in results])
        self.output_hooks = None
        self.released = False
        for index, tensor in enumerate(results):
            tensor.creator = self
            tensor._output_index = index
        self.inputs = inputs if self.save_inputs else None    # (inputs is already a tuple)
        self.outputs = results if self.save_outputs else None
        saved = (self.inputs or ()) + (self.outputs or ())
        self._saved_versions = tuple([(t, t._version_counter[0]) for t in saved])

    # The two methods every op writes.
    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, *grad_outputs):
        raise NotImplementedError

    @property
    def name(self) -> str:
        return type(self).__name__

    def release(self) -> None:
        """Drop everything saved for backward (called after a non-retained backward)."""
        if self.holds_no_arrays:
            return
        kept = {k: self.__dict__[k] for k in _KEPT_ON_RELEASE if k in self.__dict__}
        self.__dict__.clear()
        self.__dict__.update(kept)
        self.released = True

    def _check_saved_versions(self) -> None:
        for tensor, version in self._saved_versions:
            if tensor._version_counter[0] != version:
                raise RuntimeError(
                    f"{self.name}.backward: a tensor of shape {tuple(tensor.shape)} that "
                    f"{self.name} saved for backward was modified in place after it was "
                    f"used (version {version} -> {tensor._version}); its gradient would be "
                    f"wrong. Compute it again, or clone it before modifying it."
                )

    def __repr__(self) -> str:
        return f"<{self.name}>"


def _edge_to(tensor) -> Edge | None:
    if tensor.creator is not None:
        return Edge(tensor.creator, tensor._output_index, None)
    if tensor._requires_grad:
        return Edge(None, 0, tensor)
    return None


def _owner(array):
    """The array that owns the memory `array` sees (itself unless it is a view)."""
    while getattr(array, "base", None) is not None:   # numpy collapses chains, CuPy may not
        array = array.base
    return array


def _name_the_non_tensor(fn, inputs) -> None:
    """Raise require_tensor's TypeError for the first input that is not a Tensor, without
    the AttributeError that led here chained above it (the noise a student reads first)."""
    for number, value in enumerate(inputs):
        try:
            require_tensor(value, fn.name, f"input {number}")
        except TypeError as error:
            raise error from None


def _share_version_with_views(inputs, results) -> None:
    """An output that is a view of an input's memory (reshape, transpose, basic
    indexing) shares that input's version counter, so an in-place change through
    either one is seen by every Function that saved the other."""
    for result in results:
        if result.data.base is None:
            continue
        owner = _owner(result.data)
        for t in inputs:
            if _owner(t.data) is owner:
                result._version_counter = t._version_counter
                break


def _check_same_device(fn, inputs) -> None:
    if len(inputs) < 2:
        return
    array_type = type(inputs[0]._data)       # the same array type: the same device (fast)
    first = None
    for t in inputs[1:]:
        if type(t._data) is array_type:
            continue
        first = first or inputs[0].device
        if t.device != first:
            described = ", ".join(f"{tuple(x.shape)} on {x.device}" for x in inputs)
            raise RuntimeError(
                f"{fn.name}: all inputs must be on the same device, got {described}; "
                f"move them with .to('cpu') or .to('gpu')"
            )


# ---------------------------------------------------------------------- backward
def _topological_order(root_fns):
    """Functions reachable from the roots, every consumer before its producers.

    An iterative depth-first search (no recursion limit on deep graphs): a node is
    appended after all of its producers (post-order); reversing that list puts each
    node before everything it consumed.
    """
    order, visited = [], set()
    for root in root_fns:
        if root in visited:
            continue
        visited.add(root)
        stack = [(root, iter(root.next_edges))]
        while stack:
            fn, edges = stack[-1]
            for edge in edges:
                if edge is not None and edge.fn is not None and edge.fn not in visited:
                    visited.add(edge.fn)
                    stack.append((edge.fn, iter(edge.fn.next_edges)))
                    break
            else:
                stack.pop()
                order.append(fn)
    order.reverse()
    return order


def _accumulate(store: dict, key, index: int, n: int, grad, create_graph: bool) -> None:
    slots = store.get(key)
    if slots is None:
        slots = store[key] = [None] * n
    slots[index] = grad if slots[index] is None else _sum(slots[index], grad, create_graph)


def _sum(a, b, create_graph: bool):
    """a + b for two gradients reaching the same tensor. With create_graph it is an op on
    the tape (the sum must be differentiable again); without, a plain array sum: the same
    numbers without the cost of a Function call."""
    if create_graph or type(a._data) is not type(b._data):   # (devices differ: Add's error)
        return a + b
    return Tensor._from_op(a._data + b._data, False)


def run_backward(outputs: Sequence, grad_outputs: Sequence, retain_graph: bool,
                 create_graph: bool, inputs: Sequence | None = None,
                 allow_unused: bool = False):
    """The engine behind `Tensor.backward`, `mg.autograd.backward` and `mg.grad`.

    With `inputs=None` (a backward() without `inputs`) gradients are accumulated into the
    `.grad` of every leaf. With `inputs` (mg.grad, and backward(inputs=...)) the
    gradients w.r.t. those tensors are returned instead, no `.grad` is touched, and
    Functions that do not lead to an input are skipped (their `needs_input_grad` is
    narrowed, so e.g. a convolution does not compute a weight gradient nobody asked
    for). backward(inputs=...) then stores the returned gradients in those tensors'
    `.grad` itself (`mg.autograd.backward`).
    """
    from .tensor import Tensor  # noqa: PLC0415 (circular at import time)

    fn_grads: dict = {}    # Function -> [grad of output 0, grad of output 1, ...]
    leaf_grads: dict = {}  # id(leaf) -> [leaf, summed grad, whether nobody else holds it]
    captured = {}
    with _GradMode(create_graph):
        roots = _seed_roots(outputs, grad_outputs, fn_grads, leaf_grads, create_graph)
        order = _topological_order(roots)
        targets = None
        if inputs is not None:
            targets = {}
            for position, t in enumerate(inputs):
                key = (t.creator, t._output_index) if t.creator is not None else id(t)
                targets.setdefault(key, []).append(position)
            leads = _leads_to_targets(order, targets)

        for fn in order:
            slots = fn_grads.pop(fn, None)
            if slots is None:
                continue
            # mg.grad's answer for a non-leaf input: its gradient before its hooks run
            # (as PyTorch answers when that input's own creator runs too)
            if targets is not None:
                for index, g in enumerate(slots):
                    if (fn, index) in targets and g is not None:
                        captured[(fn, index)] = g
            if fn.output_hooks is not None:    # set by register_hook() or retain_grad()
                slots = _run_output_hooks(fn, slots, create_graph)
            if targets is not None:
                needs = tuple(e is not None and _edge_leads(e, targets, leads)
                              for e in fn.next_edges)
                if not any(needs):
                    continue
            else:
                needs = tuple([e is not None for e in fn.next_edges])
            if fn.released:
                raise RuntimeError(
                    f"{fn.name}.backward: trying to backward through the graph a second "
                    f"time, but its saved tensors were freed after the first backward. "
                    f"Pass retain_graph=True to the first backward()/grad() if you need "
                    f"to backward twice."
                )
            fn._check_saved_versions()
            fn.needs_input_grad = needs
            grad_outs = [g if g is not None else _zeros(*meta)
                         for g, meta in zip(slots, fn.output_meta)]
            grad_ins = fn.backward(*grad_outs)
            if not isinstance(grad_ins, tuple):
                grad_ins = (grad_ins,)
            if len(grad_ins) != len(fn.next_edges):
                raise RuntimeError(f"{fn.name}.backward returned {len(grad_ins)} gradients "
                                   f"for {len(fn.next_edges)} inputs")
            if _backward_trace is not None:
                _backward_trace(fn, grad_outs, grad_ins)
            for edge, g, need, (shape, dtype) in zip(fn.next_edges, grad_ins, needs,
                                                     fn.input_meta):
                if edge is None or g is None or not need:
                    continue
                if g._data.shape != shape or g._data.dtype != dtype:   # (rare: check, cast)
                    g = _conform(fn, g, shape, dtype)
                if edge.leaf is not None:
                    new = (fn.returns_new_grads and not create_graph
                           and _is_new_grad(g, grad_outs, grad_ins))
                    _add_leaf_grad(leaf_grads, edge.leaf, g, create_graph, new)
                else:
                    _accumulate(fn_grads, edge.fn, edge.index, edge.fn.n_outputs, g,
                                create_graph)
            if not retain_graph:
                fn.release()

        if targets is None:
            for leaf, g, owned in leaf_grads.values():
                hooked = bool(leaf._hooks)     # (read first: a hook may remove itself)
                g = _run_leaf_hooks(leaf, g)
                # requires_grad switched off after the graph was built: the hooks run,
                # but no .grad is stored (as PyTorch's AccumulateGrad does)
                if leaf._requires_grad:
                    _store_grad(leaf, g, create_graph, owned=owned and not hooked)
            return None

        results, hooked_leaf_grads = [], {}
        for position, t in enumerate(inputs):
            if t.creator is not None:
                g = captured.get((t.creator, t._output_index))
            elif id(t) in hooked_leaf_grads:   # the same leaf asked for twice: its hooks
                g = hooked_leaf_grads[id(t)]   # run once, as in PyTorch
            else:
                entry = leaf_grads.get(id(t))
                g = None if entry is None else _run_leaf_hooks(t, entry[1])
                hooked_leaf_grads[id(t)] = g
            if g is None and not allow_unused:
                raise RuntimeError(
                    f"grad: input {position} (shape {tuple(t.shape)}) was not used to "
                    f"compute the outputs; pass allow_unused=True to get None for it"
                )
            if g is not None and not create_graph:
                g = g.detach()
            results.append(g)
        return tuple(results)


def _seed_roots(outputs, grad_outputs, fn_grads: dict, leaf_grads: dict,
                create_graph: bool) -> list:
    """Put each output's starting gradient where the pass begins; return the Functions
    that made the outputs. A starting gradient of another dtype is cast to the output's
    (as PyTorch does): a float32 leaf gets a float32 .grad even from a float64 gradient."""
    roots = []
    for out, g in zip(outputs, grad_outputs):
        if g._data.dtype != out._data.dtype:
            g = g.to_dtype(out._data.dtype)      # an op: differentiable with create_graph
        if out.creator is not None:
            _accumulate(fn_grads, out.creator, out._output_index, out.creator.n_outputs, g,
                        create_graph)
            roots.append(out.creator)
        elif out.requires_grad:
            _add_leaf_grad(leaf_grads, out, g, create_graph)
        else:
            raise RuntimeError(
                f"backward: tensor of shape {tuple(out.shape)} does not require grad and "
                f"has no creator; nothing to differentiate (did you forget "
                f"requires_grad=True, or compute it under no_grad()?)"
            )
    return roots


def _store_grad(tensor, g, create_graph: bool, owned: bool = False) -> None:
    """Add g into `tensor.grad` (a leaf, or a non-leaf that called retain_grad()).

    `.grad` must be a tensor of its own, safe to change in place (zero_(), clipping):
    g itself may be a read-only broadcast view, the caller's gradient, or the very tensor
    that also became another leaf's .grad (Add hands the same gradient to both inputs).
    So the first gradient is copied, unless `owned`: a sum the engine made, or a new
    array from an op that returns_new_grads, that nobody else has seen (no hook either).
    With create_graph the copy is a Clone op on the tape, so `.grad` stays
    differentiable. A later backward adds onto `.grad`, into a new tensor."""
    if tensor._grad is not None:
        tensor._grad = _sum(tensor._grad, g, create_graph)
    elif owned:
        tensor._grad = g
    elif create_graph:
        tensor._grad = ops.clone(g)
    else:
        tensor._grad = Tensor._from_op(g._data.copy(), False)


def _add_leaf_grad(leaf_grads: dict, leaf, g, create_graph: bool, new: bool = False) -> None:
    """Sum the gradients that reach one leaf. The first one is kept as it came (it may be
    another tensor's array, unless `new`: see _is_new_grad). Without create_graph, the
    engine then owns the sum: the first gradient when it is new, else the new array that
    the second makes with it; the rest are added into it in place."""
    entry = leaf_grads.get(id(leaf))
    if entry is None:
        leaf_grads[id(leaf)] = [leaf, g, new]
    elif entry[2]:                   # the engine's own array: add in place
        entry[1]._data += g._data
    else:
        entry[1] = _sum(entry[1], g, create_graph)
        entry[2] = not create_graph  # a new array; with create_graph, the graph's: leave it


def _is_new_grad(g, grad_outs, grad_ins) -> bool:
    """Whether g, a gradient that the backward of an op with `returns_new_grads` returned
    for a leaf, may become that leaf's .grad without a copy. The op promises a new array;
    these checks keep a slip in that promise from sharing memory: g's memory is none of
    the gradients' the op received (passed through, or a view or detach() of one), no
    other gradient it returned shares it, and g is C-contiguous, as the copy it replaces
    would be."""
    memory = _owner(g._data)
    return (g._data.flags.c_contiguous
            and all([_owner(received._data) is not memory for received in grad_outs])
            and [x is not None and _owner(x._data) is memory
                 for x in grad_ins].count(True) == 1)


def _leads_to_targets(order, targets) -> dict:
    """For each Function: does any path from it reach one of the targets?"""
    leads = {}
    for fn in reversed(order):  # producers first
        leads[fn] = any(e is not None and _edge_leads(e, targets, leads)
                        for e in fn.next_edges)
    return leads


def _edge_leads(edge: Edge, targets: dict, leads: dict) -> bool:
    if edge.leaf is not None:
        return id(edge.leaf) in targets
    return (edge.fn, edge.index) in targets or leads.get(edge.fn, False)


def _zeros(shape, dtype, device):
    """The gradient of an output nobody used (multi-output Functions only)."""
    from . import backend  # noqa: PLC0415

    return Tensor._from_op(backend.get_xp(device).zeros(shape, dtype=dtype), False)


def _conform(fn, g, shape, dtype):
    """Check a returned gradient against its input's shape; cast its dtype if needed."""
    if tuple(g.shape) != tuple(shape):
        raise RuntimeError(
            f"{fn.name}.backward returned a gradient of shape {tuple(g.shape)} for an "
            f"input of shape {tuple(shape)} (internal error in the op's backward)"
        )
    if g.dtype != dtype:
        g = g.to_dtype(dtype)
    return g


def _run_output_hooks(fn, slots, create_graph: bool):
    """Run the hooks registered on fn's outputs (they may replace a gradient); then, for an
    output that called retain_grad(), keep the gradient in its .grad: after every hook,
    so the kept gradient is the one that flows on (as in PyTorch)."""
    slots = list(slots)
    for index, hooks in fn.output_hooks.items():
        if slots[index] is None:
            continue
        shape, dtype, _ = fn.output_meta[index]
        for hook in list(hooks.values()):        # a hook may remove itself
            replaced = hook(slots[index])
            if replaced is not None:
                slots[index] = _check_hook_result(hook, replaced, shape, dtype)
    for index, tensor_ref in (fn.retained or {}).items():
        tensor = tensor_ref()                    # None when the tensor is gone
        if tensor is not None and slots[index] is not None:
            _store_grad(tensor, slots[index], create_graph)
    return slots


def _run_leaf_hooks(leaf, g):
    for hook in list((leaf._hooks or {}).values()):
        replaced = hook(g)
        if replaced is not None:
            g = _check_hook_result(hook, replaced, leaf._data.shape, leaf._data.dtype)
    return g


def _check_hook_result(hook, g, shape, dtype):
    """A hook may replace a gradient, but only by one of the tensor's shape and dtype
    (else the error would surface later, far away, or .grad would silently change shape)."""
    name = getattr(hook, "__name__", repr(hook))
    if not isinstance(g, Tensor):
        raise TypeError(f"hook {name!r} returned a {type(g).__name__}; a hook must return "
                        f"a Tensor (the new gradient) or None")
    if g._data.shape != shape:
        raise RuntimeError(
            f"hook {name!r} has changed the size of value: the gradient of a tensor of "
            f"shape {tuple(shape)} must keep that shape, but the hook returned shape "
            f"{tuple(g.shape)}")
    if g._data.dtype != dtype:
        raise RuntimeError(
            f"hook {name!r} has changed the type of value: the gradient of a {dtype} "
            f"tensor of shape {tuple(shape)} must stay {dtype}, but the hook returned "
            f"{g.dtype}")
    return g


from .tensor import Tensor, require_tensor  # noqa: E402  (Tensor needs Function and vice versa)
from . import ops  # noqa: E402  (ops.clone, in _store_grad)


def _starting_gradients(op: str, outputs, gradients, name: str) -> tuple:
    """grad's and backward's first step: the outputs as a list, and the gradient each one
    starts from (`name`: grad_outputs or gradient; given, or 1 for a scalar output)."""
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    if gradients is None:
        gradients = [None] * len(outputs)
    elif isinstance(gradients, Tensor):
        gradients = [gradients]
    else:
        gradients = list(gradients)
    if len(gradients) != len(outputs):             # (zip would drop the extra outputs)
        raise RuntimeError(f"{op}: got {len(outputs)} tensors and {len(gradients)} "
                           f"gradients; give one per output (None for a scalar output)")
    grads = []
    for out, g in zip(outputs, gradients):
        require_tensor(out, op, "outputs")
        if g is None:
            if out._data.size != 1:
                raise RuntimeError(
                    f"{op}: {name} must be given for an output of shape "
                    f"{tuple(out.shape)} (only a scalar's gradient is implicitly 1; or "
                    f"call .sum() first)")
            g = Tensor._from_op(out.xp.ones_like(out._data), False)
        elif not isinstance(g, Tensor):
            g = Tensor(out.xp.asarray(g, dtype=out.dtype))
        if g.shape != out.shape:
            raise RuntimeError(f"{op}: {name} has shape {tuple(g.shape)} but the output "
                               f"has shape {tuple(out.shape)}")
        grads.append(g)
    return outputs, grads


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         allow_unused: bool = False, *, only_inputs: bool = True,
         is_grads_batched: bool = False):
    """The gradients of `outputs` w.r.t. `inputs`, returned as a tuple (no `.grad` touched).

    With `create_graph=True` the returned gradients are themselves on the tape and can be
    differentiated again: `gp = ((mg.grad(D(x).sum(), x, create_graph=True)[0]) ** 2)...`
    is how WGAN-GP and R1 penalise the critic's gradient. `retain_graph` defaults to
    `create_graph`, as in PyTorch. `only_inputs` is accepted and has no effect, as in
    PyTorch (which deprecated it; many WGAN-GP scripts still pass only_inputs=True);
    `is_grads_batched=True` is not implemented.
    """
    if is_grads_batched:
        raise NotImplementedError("grad: is_grads_batched=True is not implemented; call "
                                  "grad once per row of grad_outputs")
    outputs, grads = _starting_gradients("grad", outputs, grad_outputs, "grad_outputs")
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError(f"grad: an input of shape {tuple(t.shape)} does not "
                               f"require grad")
    if retain_graph is None:
        retain_graph = create_graph
    return run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs,
                        allow_unused=allow_unused)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False,
             inputs=None) -> None:
    """Accumulate the gradients of `tensors` into `.grad`: `loss.backward()` for one or
    more outputs at once (`mg.autograd.backward([d_loss, aux_loss])` sums them, as
    PyTorch's torch.autograd.backward does).

    `grad_tensors` gives each output its starting gradient (None for a scalar: 1).
    `inputs` narrows the pass to those tensors: only their `.grad` is written, and ops
    that lead to no input are skipped (`d_loss.backward(inputs=list(D.parameters()))`
    leaves G's `.grad` alone and skips G's weight gradients). A non-leaf among `inputs`
    gets its gradient in `.grad` as retain_grad() would (after its hooks), and the pass
    stops there for it. An input that the outputs do not depend on keeps its `.grad`.
    """
    tensors, grads = _starting_gradients("backward", tensors, grad_tensors, "gradient")
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is None:
        run_backward(tensors, grads, retain_graph, create_graph)
        return
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not inputs:
        raise RuntimeError("backward: inputs=[] asks for no gradient at all; leave inputs "
                           "out to fill every leaf's .grad")
    unique = list({id(t): t for t in inputs}.values())    # (a tensor named twice: once)
    for t in unique:
        require_tensor(t, "backward", "inputs")
        if not t.requires_grad:
            raise RuntimeError(f"backward: an input of shape {tuple(t.shape)} does not "
                               f"require grad, so it can have no .grad")
    # A non-leaf input's .grad is retain_grad()'s, stored after its hooks ran: retained
    # for this pass only, unless it already was.
    temporary = [t for t in unique if t.creator is not None and not t.retains_grad]
    had_hooks = [t.creator.output_hooks is not None for t in temporary]
    for t in temporary:
        t.retain_grad()
    try:
        found = run_backward(tensors, grads, retain_graph, create_graph, inputs=unique,
                             allow_unused=True)
    finally:
        for t, hooks_before in zip(temporary, had_hooks):
            fn = t.creator
            del fn.retained[t._output_index]
            fn.retained = fn.retained or None
            if not hooks_before and not fn.output_hooks:
                fn.output_hooks = None
    for t, g in zip(unique, found):
        if g is not None and t.creator is None:              # leaves; non-leaves above
            _store_grad(t, g, create_graph)


from .viz import trace  # noqa: E402,F401  (`with mg.autograd.trace():`, see viz.py)
from .legacy import Variable  # noqa: E402,F401  (`from torch.autograd import Variable`)
