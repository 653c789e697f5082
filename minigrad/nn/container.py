"""Containers: Sequential (a chain of layers), ModuleList (a list that registers),
ModuleDict (a dict that registers) and ParameterList (a list of parameters that registers).

The children of the first two are named "0", "1", ... so that a Sequential's state dict
reads "main.0.weight", "main.1.running_mean", exactly as PyTorch's does; a ModuleDict's
are named by their keys ("blocks.encoder.weight").
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping

from .module import Module
from .parameter import Parameter


def _index(i: int, n: int, who: str) -> int:
    if not -n <= i < n:
        raise IndexError(f"{who}: index {i} is out of range for {n} modules")
    return i % n


class _NumberedModules(Module):
    """What Sequential and ModuleList share: children named "0", "1", ... in order, and
    list-like editing that keeps the names counting from 0 (as PyTorch renumbers them
    after del, insert and pop, so that state_dict keys stay "0", "1", ...)."""

    def _renumber(self, modules) -> None:
        modules = list(modules)
        self._modules.clear()
        for i, module in enumerate(modules):
            self._modules[str(i)] = module

    def append(self, module: Module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module):
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.insert: expected a Module, got "
                            f"{type(module).__name__}")
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"{type(self).__name__}.insert: index {index} is out of range "
                             f"for {n} modules")
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._renumber(modules)
        return self

    def pop(self, index=-1):
        """Remove and return the module at index (a slice: a container of them)."""
        popped = self[index]
        del self[index]
        return popped

    def __delitem__(self, index) -> None:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[_index(index, len(modules), type(self).__name__)]
        self._renumber(modules)

    def __iadd__(self, modules: Iterable[Module]):
        return self.extend(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class Sequential(_NumberedModules):
    """Sequential(m0, m1, ...) or Sequential(OrderedDict(name=module)):
    forward(x) = ... m1(m0(x))."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), module)

    def forward(self, x):
        for module in self:
            x = module(x)
        return x

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[_index(index, len(items), "Sequential")][1]

    def __setitem__(self, index: int, module: Module) -> None:
        name = list(self._modules)[_index(index, len(self), "Sequential")]
        setattr(self, name, module)

    def __add__(self, other) -> "Sequential":
        return Sequential(*list(self), *list(other))


class ModuleList(_NumberedModules):
    """A Python list of modules whose parameters the parent sees (a plain list would hide
    them from parameters(), state_dict() and to())."""

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, index):
        values = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(values[index])
        return values[_index(index, len(values), "ModuleList")]

    def __setitem__(self, index: int, module: Module) -> None:
        setattr(self, str(_index(index, len(self), "ModuleList")), module)

    def __add__(self, other) -> "ModuleList":
        return ModuleList(list(self) + list(other))

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward: iterate over it instead")


class ModuleDict(Module):
    """A Python dict of modules whose parameters the parent sees, keys in insertion order:
    ModuleDict({"real": nn.Linear(4, 1), "fake": nn.Linear(4, 1)}). Each key is the
    child's name, so it must be a string that is a valid module name (no ".")."""

    def __init__(self, modules: Mapping | Iterable | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict keys must be strings (they name the submodules in "
                            f"state_dict()), got {key!r} of type {type(key).__name__}")
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def clear(self) -> None:
        self._modules.clear()

    def pop(self, key: str) -> Module:
        """Remove the module under `key` and return it."""
        module = self[key]
        del self[key]
        return module

    def update(self, modules: Mapping | Iterable) -> None:
        """Add (or replace, in place) modules from a mapping (a dict, an OrderedDict, a
        ModuleDict), in its order, or from an iterable of (key, module) pairs."""
        if isinstance(modules, (Mapping, ModuleDict)):
            for key, module in modules.items():
                self[key] = module
            return
        if isinstance(modules, (str, bytes)) or not isinstance(modules, Iterable):
            raise TypeError(f"ModuleDict.update takes a mapping or an iterable of "
                            f"(key, module) pairs, got {type(modules).__name__}")
        for i, pair in enumerate(modules):
            if isinstance(pair, (str, bytes)) or not isinstance(pair, Iterable):
                raise TypeError(f"ModuleDict.update: element #{i} should be a (key, module) "
                                f"pair, got {type(pair).__name__}")
            pair = tuple(pair)
            if len(pair) != 2:
                raise ValueError(f"ModuleDict.update: element #{i} has length {len(pair)}; "
                                 f"a (key, module) pair has 2")
            self[pair[0]] = pair[1]

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward: look its modules up by key "
                                  "instead")


class ParameterList(Module):
    """A Python list of parameters that the parent sees (a plain list would hide them from
    parameters(), state_dict() and the optimizer): one learned noise scale per layer, say.
    Named "0", "1", ... as in PyTorch; a Tensor that is not yet a Parameter is made one."""

    def __init__(self, values: Iterable | None = None):
        super().__init__()
        for value in values or ():
            self.append(value)

    def append(self, value) -> "ParameterList":
        self.register_parameter(str(len(self)), _as_parameter(value))
        return self

    def extend(self, values: Iterable) -> "ParameterList":
        for value in values:
            self.append(value)
        return self

    def __getitem__(self, index):
        values = list(self._parameters.values())
        if isinstance(index, slice):
            return ParameterList(values[index])
        return values[_index(index, len(values), "ParameterList")]

    def __setitem__(self, index: int, value) -> None:
        self.register_parameter(str(_index(index, len(self), "ParameterList")),
                                _as_parameter(value))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._parameters.values())

    def __iadd__(self, values: Iterable) -> "ParameterList":
        return self.extend(values)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterList has no forward: iterate over it instead")

    def extra_repr(self) -> str:
        return "\n".join(f"({i}): Parameter of shape {tuple(p.shape)} ({p.dtype})"
                         for i, p in enumerate(self))


def _as_parameter(value) -> Parameter:
    from ..tensor import Tensor  # noqa: PLC0415

    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value)
    raise TypeError(f"ParameterList: expected a Parameter or a Tensor, got "
                    f"{type(value).__name__}")
