"""Module: a container of parameters, buffers and submodules, as in PyTorch.

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(2, 16)     # a submodule: registered by assignment
            self.out = nn.Linear(16, 1)
        def forward(self, x):
            return self.out(self.hidden(x).relu())

Assigning an attribute is what registers it (`__setattr__` below):
    a Parameter  -> self._parameters   (learned; what the optimizer updates)
    a Module     -> self._modules      (its parameters become ours, with a dotted prefix)
    a buffer     -> self._buffers      (state that is saved but not learned: BatchNorm's
                                        running_mean; declared with register_buffer)
Everything else is an ordinary Python attribute.

`state_dict()` names every parameter and persistent buffer by its dotted path
("main.1.running_mean"), in the same order as PyTorch, so a PyTorch checkpoint maps key for
key. `load_state_dict` checks every key, shape and dtype before it copies anything.
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Mapping
from typing import Callable, Iterator

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..tensor import RemovableHandle, Tensor
from .parameter import Parameter


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What load_state_dict returns: the keys it did not find and those it did not use."""

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"                 # as PyTorch prints it
        return super().__repr__()


class Module:
    """Base class of every layer and model. Subclasses call `super().__init__()` first and
    write `forward`; calling the module (`model(x)`) runs the pre-hooks, forward, hooks."""

    training: bool

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks):    # the usual case
            return self.forward(*args, **kwargs)
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            if isinstance(value, (Parameter, Module)):    # (a plain attribute may go first)
                raise AttributeError(f"cannot assign {name!r} before Module.__init__() is "
                                     f"called: call super().__init__() first in "
                                     f"{type(self).__name__}.__init__")
            object.__setattr__(self, name, value)
            return
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            self._forget(name, keep=params)
            params[name] = value
        elif isinstance(value, Module):
            self._forget(name, keep=modules)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to parameter "
                                f"{name!r} of {type(self).__name__}: use nn.Parameter(...) "
                                f"or None (or change the data with `.data` / copy_)")
            params[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} to buffer "
                                f"{name!r} of {type(self).__name__}: use a Tensor or None")
            buffers[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to submodule "
                                f"{name!r} of {type(self).__name__}: use a Module or None")
            modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: OrderedDict | None = None) -> None:
        """Remove `name` from wherever it is registered, except from `keep`, the registry
        it is about to be registered in again. There the new value replaces the old one in
        its place (an OrderedDict keeps a key's position), as in PyTorch: `seq[1] =
        nn.Tanh()` stays the second layer, in forward order and in state_dict()."""
        self.__dict__.pop(name, None)
        for registry in (self._parameters, self._buffers, self._modules):
            if registry is not keep:
                registry.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __getattr__(self, name: str):
        # Only called when ordinary lookup fails: look in the three registries.
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        if name in self._parameters or name in self._buffers or name in self._modules:
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def _check_new_name(self, name: str, kind: str, registry: OrderedDict) -> None:
        """A new name, or one already registered as the same kind (then replaced). As in
        PyTorch, a name that is something else here (another kind of entry, a method, a
        plain attribute) is refused: register_buffer("weight", ...) on a Linear would
        otherwise take its weight out of parameters(), and so out of the optimizer."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"{kind} name must be a non-empty string without '.', "
                           f"got {name!r}")
        if name not in registry and hasattr(self, name):
            raise KeyError(f"attribute {name!r} already exists on {type(self).__name__}")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register a Parameter (or None: 'this layer has no bias') under `name`."""
        self._check_new_name(name, "parameter", self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be an nn.Parameter or "
                            f"None, got {type(param).__name__}")
        self._forget(name, keep=self._parameters)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None,
                        persistent: bool = True) -> None:
        """Register state that is not learned (running statistics, spectral-norm vectors).
        Persistent buffers are part of state_dict(); all buffers move with to(device)."""
        self._check_new_name(name, "buffer", self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got "
                            f"{type(tensor).__name__}")
        self._forget(name, keep=self._buffers)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: "Module | None") -> None:
        self._check_new_name(name, "module", self._modules)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got "
                            f"{type(module).__name__}")
        self._forget(name, keep=self._modules)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> "Module":
        """The submodule at a dotted path ("main.0"; "" is self), as in PyTorch."""
        module = self
        for name in target.split(".") if target else []:
            child = module._modules.get(name)
            if child is None:
                raise AttributeError(f"get_submodule: {type(module).__name__} has no "
                                     f"submodule {name!r} (path {target!r})")
            module = child
        return module

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at a dotted path ("main.0.weight")."""
        return self._get_entry(target, "_parameters", "parameter")

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at a dotted path ("main.1.running_mean")."""
        return self._get_entry(target, "_buffers", "buffer")

    def _get_entry(self, target: str, registry: str, kind: str):
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        entries = getattr(module, registry)
        if entries.get(name) is None:
            raise AttributeError(f"get_{kind}: {type(module).__name__} has no {kind} "
                                 f"{name!r} (path {target!r})")
        return entries[name]

    def register_forward_pre_hook(self, hook: Callable) -> RemovableHandle:
        """hook(module, args) runs before forward; it may return new args."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """hook(module, args, output) runs after forward; it may return a new output."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, "Module"]]:
        """(dotted name, module) for self ("") and every submodule, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            child_prefix = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, child_prefix, remove_duplicate)

    def modules(self) -> Iterator["Module"]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator["Module"]:
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry: str, prefix: str, recurse: bool,
                       remove_duplicate: bool = True):
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        seen = set()
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter); a parameter shared by two layers appears once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    # ------------------------------------------------------------------ modes and moves
    def train(self, mode: bool = True) -> "Module":
        """Training mode for self and every submodule (BatchNorm uses batch statistics,
        Dropout drops, spectral norm runs its power iteration). Each child's own `train`
        is called, as in PyTorch, so a layer that overrides it (a BatchNorm kept frozen in
        eval mode) has its say."""
        if not isinstance(mode, bool):
            raise ValueError(f"train(mode): mode must be a bool, got {mode!r}")
        object.__setattr__(self, "training", mode)
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Switch gradients on or off for every parameter (e.g. freeze D while training G)."""
        for param in self.parameters():
            param.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the parameters' gradients: `.grad = None` (the default), or with
        set_to_none=False zero the same .grad tensor in place, as PyTorch's
        Module.zero_grad does, so that a reference kept to it reads the zeros too. A
        .grad with a graph behind it (create_graph) gets new zeros instead, which lets
        the graph go. `Optimizer.zero_grad(set_to_none=False)` always puts new zeros in,
        the safe choice when a user may have assigned a .grad tensor that is used
        elsewhere (see its docstring). Either way .grad reads 0 and the next backward
        adds onto it."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            elif param.grad.creator is not None:    # a graph's (create_graph): let it go
                param.grad = Tensor(param.xp.zeros_like(param.data))
            else:                                   # the same tensor, zeroed, as PyTorch
                with no_grad():
                    param.grad.zero_()

    def apply(self, fn: Callable[["Module"], None]) -> "Module":
        """Call fn on every submodule (children first) and then on self:
        `netG.apply(weights_init)` as in the DCGAN tutorial."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def to(self, *args, device=None, dtype=None, non_blocking: bool = False) -> "Module":
        """Move parameters and buffers to a device and/or cast floating ones to a dtype,
        in place: each Parameter stays the same object (an optimizer built before the
        move still holds it). `model.to("gpu")`, `model.to(mg.float64)`. Only a float
        dtype, as in PyTorch (weights cast to integers would be truncated).
        non_blocking is accepted for PyTorch's calls (every copy here is synchronous)."""
        for arg in args:
            if isinstance(arg, bool):               # to("gpu", mg.float32, True)
                non_blocking = arg
            elif isinstance(arg, str):
                device = arg
            else:
                dtype = arg
        device = None if device is None else backend.normalize_device(device)
        dtype = None if dtype is None else np.dtype(dtype)
        if dtype is not None and dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}.to: only floating point dtypes, got "
                            f"{dtype}")

        def convert(array):
            if dtype is not None and array.dtype.kind == "f" and array.dtype != dtype:
                array = array.astype(dtype)
            if device is not None:
                array = backend.to_device(array, device)
            return array

        for tensor in list(self.parameters()) + list(self.buffers()):
            changed = convert(tensor.data)
            if changed is not tensor.data:
                tensor.data = changed          # the setter bumps the version
            if tensor.grad is not None:
                tensor.grad = Tensor(convert(tensor.grad.data))
        return self

    def cpu(self) -> "Module":
        return self.to("cpu")

    def gpu(self) -> "Module":
        return self.to("gpu")

    cuda = gpu

    def double(self) -> "Module":
        return self.to(dtype=np.float64)

    def float(self) -> "Module":
        return self.to(dtype=np.float32)

    # ------------------------------------------------------------------ state dict
    def state_dict(self, destination=None, prefix: str = "",
                   keep_vars: bool = False) -> "OrderedDict[str, Tensor]":
        """Every parameter and persistent buffer by dotted name, module by module (each
        module's parameters, then its buffers, then its children), as PyTorch orders them.
        Values share memory with the module (detached unless keep_vars)."""
        if destination is None:
            destination = OrderedDict()
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = buffer if keep_vars else buffer.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def load_state_dict(self, state_dict: Mapping, strict: bool = True) -> IncompatibleKeys:
        """Copy values (Tensors or numpy/CuPy arrays) into the parameters and buffers.

        Everything is checked first: missing keys and unexpected keys (errors when
        strict), and a shape that differs from the module's, or a dtype of another kind
        (a float checkpoint for an integer buffer; always an error). One RuntimeError
        lists every problem, and the module is left unchanged. Values are copied into the
        existing arrays, so Parameter identity is kept, and cast to their dtype within a
        kind (a float32 checkpoint loads into a float64 model; PyTorch's copy_ would cast
        across kinds too). A nested dict
        ({"main": {"0": {"weight": ...}}}) is read as its dotted flattening.
        Returns (missing_keys, unexpected_keys)."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected a dict of tensors (a state_dict()), "
                            f"got {type(state_dict).__name__}")
        given = _flatten(state_dict)
        targets = self.state_dict(keep_vars=True)
        for name, module in self.named_modules():  # each may fill in what older files lack
            module._fill_in_missing(given, name + "." if name else "")
        missing = [key for key in targets if key not in given]
        unexpected = [key for key in given if key not in targets]
        mismatched, arrays = [], {}
        for key, target in targets.items():
            if key not in given:
                continue
            if not (isinstance(given[key], Tensor) or hasattr(given[key], "shape")
                    or isinstance(given[key], (list, tuple, int, float, bool))):
                mismatched.append(f"{key}: checkpoint has a {type(given[key]).__name__}, "
                                  f"not a tensor")
                continue
            array = _as_array(given[key])
            if (tuple(array.shape) != tuple(target.shape)
                    or not _same_kind(array.dtype, target.dtype)):
                mismatched.append(f"{key}: checkpoint has {tuple(array.shape)} "
                                  f"{array.dtype}, the module has {tuple(target.shape)} "
                                  f"{target.dtype}")
            arrays[key] = array
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(map(repr, missing)))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(map(repr, unexpected)))
        if mismatched:
            problems.append("shape or dtype mismatch:\n    " + "\n    ".join(mismatched))
        if problems:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__} "
                               f"(nothing was loaded; the module is unchanged):\n  "
                               + "\n  ".join(problems))
        with no_grad():
            for key, array in arrays.items():
                targets[key].copy_(array)
        return IncompatibleKeys(missing, unexpected)

    def _fill_in_missing(self, state: dict, prefix: str) -> None:
        """Put in `state` (flat, dotted keys) what this module's entries need but an older
        checkpoint lacks. Nothing, here; batch norm fills in its batch counter."""

    # ------------------------------------------------------------------ repr
    def extra_repr(self) -> str:
        """The text between the parentheses of this module's line in repr (override)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _indent(repr(module), 2)
                       for name, module in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif lines:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{type(self).__name__}({body})"


def _indent(text: str, spaces: int) -> str:
    """Indent every line but the first (a child's repr inside its parent's)."""
    first, *rest = text.split("\n")
    return "\n".join([first] + [" " * spaces + line for line in rest])


def _flatten(state: Mapping, prefix: str = "") -> dict:
    flat = {}
    for key, value in state.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _same_kind(saved, ours) -> bool:
    """Whether a checkpoint's dtype may be cast to a module's: float to float, integer to
    integer (signed or not), bool to bool."""
    kinds = {saved.kind, ours.kind}
    return len(kinds) == 1 or kinds <= {"i", "u"}


def _as_array(value):
    """A state-dict value as an ndarray (numpy or CuPy), without copying."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.ndarray) or backend.is_gpu_array(value):
        return value
    return np.asarray(value)
