"""Parametrizations, as torch.nn.utils.parametrize: a tensor of a module computed from
another one each time it is read. After

    register_parametrization(layer, "weight", SomeModule())

`layer.weight` is no longer a Parameter. The Parameter is `layer.parametrizations.weight.
original` (what the optimizer updates, and what state_dict() saves), and reading
`layer.weight` runs `SomeModule()(original)`: a minigrad expression, so gradients reach
`original` through it. PyTorch's newer spectral norm is one such parametrization
(parametrizations.py).

How `layer.weight` becomes a computed value: the layer's class is swapped for a subclass
of its own with a property named `weight` (as PyTorch does: a property must live on the
class, not on the instance), and the property calls the parametrizations in turn.

    layer.parametrizations            a ModuleDict, one entry per parametrized name
    layer.parametrizations.weight     a ParametrizationList: .original (or .original0,
                                      .original1, ...), then [0], [1], ...
"""
from __future__ import annotations

from ..container import ModuleDict, ModuleList
from ..module import Module
from ..parameter import Parameter


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, in order, and what they are computed from:
    forward() = p_n(... p_1(p_0(original))). A first parametrization whose right_inverse
    returns a tuple (weight norm: a length g and a direction v) is computed from several
    tensors, original0, original1, ..., passed to it in that order."""

    def __init__(self, modules, originals: tuple):
        super().__init__(modules)
        self.n_originals = len(originals)
        if self.n_originals == 1:
            self.original = originals[0]
        else:
            for i, tensor in enumerate(originals):
                setattr(self, f"original{i}", tensor)

    def originals(self) -> tuple:
        if self.n_originals == 1:
            return (self.original,)
        return tuple(getattr(self, f"original{i}") for i in range(self.n_originals))

    def forward(self):
        first, *rest = list(self)
        value = first(*self.originals())
        for parametrization in rest:
            value = parametrization(value)
        return value

    def right_inverse(self, value) -> None:
        """`layer.weight = value`: set the originals so that forward() gives value back,
        through each parametrization's right_inverse (last first); in place, so the
        optimizer keeps the same Parameters."""
        from ...autograd import no_grad  # noqa: PLC0415

        with no_grad():
            for parametrization in reversed(list(self)):
                if not hasattr(parametrization, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(parametrization).__name__} "
                                       f"has no right_inverse: the tensor cannot be set")
                value = parametrization.right_inverse(value)
            values = value if isinstance(value, tuple) else (value,)
            for original, new in zip(self.originals(), values, strict=True):
                if tuple(new.shape) != tuple(original.shape):
                    raise ValueError(f"setting a parametrized tensor: right_inverse gave "
                                     f"shape {tuple(new.shape)}, not the original's "
                                     f"{tuple(original.shape)}")
                original.copy_(new)


def _set_class(module: Module) -> None:
    """Give module a class of its own: its plain class plus one property per parametrized
    name (or the plain class again when there is none). A new class each time, never
    shared with another module that might have other names parametrized."""
    base = getattr(type(module), "_plain_class", type(module))
    names = list(module.parametrizations) if is_parametrized(module) else []
    if not names:
        module.__class__ = base
        return
    members = {name: _tensor_property(name) for name in names}
    members.update(_plain_class=base, __doc__=f"{base.__name__} with parametrized "
                                               f"{', '.join(names)} (see parametrize.py)")
    module.__class__ = type(f"Parametrized{base.__name__}", (base,), members)


def _tensor_property(name: str) -> property:
    def get(module):
        try:
            return module.parametrizations[name]()
        except AttributeError as error:    # (else Python would report "no attribute name")
            raise RuntimeError(f"computing {type(module).__name__}.{name} from its "
                               f"parametrizations: {type(error).__name__}: {error}") from error

    def set_(module, value):
        module.parametrizations[name].right_inverse(value)

    return property(get, set_, doc=f"{name}, computed by module.parametrizations.{name}")


def register_parametrization(module: Module, tensor_name: str, parametrization: Module,
                             *, unsafe: bool = False) -> Module:
    """Make module.<tensor_name> the result of `parametrization` applied to the tensor it
    was (which becomes parametrizations.<tensor_name>.original). A second call on the same
    name chains: the new parametrization is applied to the first one's output. Returns
    module. `unsafe` is accepted, as in PyTorch (it skips no check here: the check that
    the result keeps the tensor's shape is a read of one parametrized value)."""
    if not isinstance(parametrization, Module):
        raise TypeError(f"register_parametrization: the parametrization must be an "
                        f"nn.Module, got {type(parametrization).__name__}")
    if is_parametrized(module, tensor_name):
        chain = module.parametrizations[tensor_name]
        before = tuple(chain().shape)
        chain.append(parametrization)
        try:
            after = tuple(chain().shape)
            if not unsafe and after != before:
                raise ValueError(f"register_parametrization: the parametrization changed "
                                 f"{tensor_name}'s shape {before} into {after}")
        except BaseException:
            chain.pop()                                  # the module as it was
            raise
        return module
    original = module._parameters.get(tensor_name)
    if not isinstance(original, Parameter):
        raise ValueError(f"register_parametrization: {type(module).__name__} has no "
                         f"parameter {tensor_name!r}")
    from ...autograd import no_grad  # noqa: PLC0415

    with no_grad():                                     # as PyTorch: original = W^-1(W)
        inverse = (parametrization.right_inverse(original)
                   if hasattr(parametrization, "right_inverse") else original)
    kept = original.detach().clone()
    if isinstance(inverse, tuple):                      # computed from several tensors
        originals = tuple(Parameter(t.detach().clone()) for t in inverse)
    else:
        originals = (original,)
        with no_grad():
            original.copy_(inverse)                     # in place: the optimizer's tensor
    chain = ParametrizationList([parametrization], originals)
    try:                 # one read, before the module changes: its errors as they are
        value = chain()
        if not unsafe and tuple(value.shape) != tuple(original.shape):
            raise ValueError(f"register_parametrization: the parametrization changed "
                             f"{tensor_name}'s shape {tuple(original.shape)} into "
                             f"{tuple(value.shape)}")
    except BaseException:
        with no_grad():
            original.copy_(kept)                        # the module as it was
        raise
    del module._parameters[tensor_name]
    if not is_parametrized(module):
        module.parametrizations = ModuleDict()
    module.parametrizations[tensor_name] = chain
    _set_class(module)
    return module


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    parametrizations = module._modules.get("parametrizations")
    if not isinstance(parametrizations, ModuleDict):
        return False
    return len(parametrizations) > 0 if tensor_name is None else tensor_name in parametrizations


def remove_parametrizations(module: Module, tensor_name: str,
                            leave_parametrized: bool = True) -> Module:
    """Undo register_parametrization for one name: module.<tensor_name> is a Parameter
    again, holding the parametrized value (leave_parametrized=True) or the original.
    The class goes back to the plain one when no parametrized name is left."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"remove_parametrizations: {type(module).__name__} has no "
                         f"parametrization on {tensor_name!r}")
    from ...autograd import no_grad  # noqa: PLC0415

    entry = module.parametrizations[tensor_name]
    if not leave_parametrized and entry.n_originals > 1:
        raise ValueError(f"remove_parametrizations: {tensor_name!r} is computed from "
                         f"{entry.n_originals} tensors, so there is no one original to leave "
                         f"(pass leave_parametrized=True)")
    with no_grad():
        value = entry() if leave_parametrized else entry.original
    parameter = Parameter(value.detach().clone()) if leave_parametrized else entry.original
    del module.parametrizations[tensor_name]
    if not module.parametrizations:
        del module.parametrizations
    _set_class(module)
    module.register_parameter(tensor_name, parameter)
    return module
