"""Optimizer: the base class of SGD, Adam, AdamW and RMSprop.

An optimizer holds *parameter groups*: a list of dicts, each with its own `params` and its
own hyperparameters (`lr`, ...). The two-time-scale update rule of GANs (TTUR) is two
optimizers, or one optimizer with two groups:

    opt = mg.optim.Adam([{"params": D.parameters(), "lr": 4e-4},
                         {"params": G.parameters(), "lr": 1e-4}], betas=(0.0, 0.9))

`step()` walks over every parameter that has a `.grad` and calls the subclass's
`_update(p, g, state, group)` (or `_update_group`, for a whole group at once), which
changes `p.data` on raw arrays (numpy or CuPy, the parameter's own dtype and device) and
keeps what it remembers between steps (momentum buffers, moving averages) in `state`, a
dict of plain arrays and Python numbers.

Updates never build a graph (they work on `.data`, not on Tensors), and they assign
through the `.data` setter, which bumps the parameter's version counter (Adam's fused
kernel writes in place and bumps it with `p._bump()`): a graph that saved the old value
for its backward pass then refuses to run instead of giving a wrong gradient.

`state_dict()` / `load_state_dict()` follow PyTorch: parameters are named by their position
(0, 1, 2, ... over all groups in order), so a state dict contains only numbers and arrays
and can be written with `mg.save`. Loading it into a fresh optimizer over the same
parameters continues training bit for bit.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable, Iterable, NoReturn

import numpy as np

from .. import backend
from ..autograd import enable_grad
from ..tensor import Tensor


# PyTorch's keyword options, which every optimizer here takes too, with the value that
# asks for nothing:
#   maximize        implemented: step() climbs the gradient (g = -g before the formula),
#                   as PyTorch's optimizers do
#   foreach, fused  accepted: they choose how PyTorch loops over the parameters; here the
#                   update is one fused loop per parameter (Adam: per group) either way
#   the rest        not implemented: a parameter group may carry them only with that value
# (Adam's amsgrad and decoupled_weight_decay are its own: adam.py.)
OPTIONS = {"maximize": False, "foreach": None, "fused": None, "capturable": False,
           "differentiable": False}
_NOT_IMPLEMENTED = {"capturable": False, "differentiable": False}
# What a state dict saved before these options were taken lacks: the value it meant.
_ADDED_LATER = {**OPTIONS, "amsgrad": False, "decoupled_weight_decay": False}


class Optimizer:
    """Base class. Subclasses pass their `defaults` (hyperparameters) and write `_update`."""
    # The names of the per-parameter state a subclass keeps (load_state_dict refuses
    # others); None: not checked.
    state_names: frozenset | None = None

    def __init__(self, params, defaults: dict[str, Any]):
        self.defaults = dict(defaults)
        # keyed by the parameter itself; an entry is made on its first update
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError("params must be an iterable of Tensors or of dicts (parameter "
                            "groups), got a single Tensor; wrap it in a list: [p]")
        _refuse_a_set(params)
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group: a dict with `params` and any hyperparameters that differ from
        the optimizer's defaults (e.g. its own `lr`)."""
        if not isinstance(group, dict):
            raise TypeError(f"a parameter group must be a dict, got {type(group).__name__}")
        group = dict(group)
        params = group.get("params")
        if params is None:
            raise ValueError("a parameter group needs a 'params' entry")
        _refuse_a_set(params)
        params = [params] if isinstance(params, Tensor) else list(params)
        if params and all(_is_named(p) for p in params):    # model.named_parameters()
            group["param_names"] = [name for name, _ in params]
            params = [p for _, p in params]
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, got "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor (one computed by an op); "
                                 "optimize the leaves it was computed from")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or seen & {id(p) for p in params}:
            raise ValueError("some parameters appear more than once (in one group or in "
                             "several groups); each parameter may be listed only once")
        # Other keys ride along untouched, as in PyTorch: a group's "name", the
        # "initial_lr" that a learning-rate schedule records.
        for name, value in self.defaults.items():
            group.setdefault(name, value)
        self._check_group(group)
        group["params"] = params
        self.param_groups.append(group)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Subclasses validate their hyperparameters here (lr >= 0, 0 <= beta < 1, ...).
        Called when a group is added or loaded, and at every step(), since a training
        loop may change param_groups[i]["lr"] (or anything else) between steps. An option
        of PyTorch's that minigrad lacks is refused unless it asks for nothing."""
        for name, neutral in _NOT_IMPLEMENTED.items():
            if group.get(name, neutral) != neutral:
                raise NotImplementedError(f"{type(self).__name__}: {name}={group[name]!r} is "
                                          f"not implemented (PyTorch's option; only "
                                          f"{name}={neutral!r} is)")
        _check_range("learning rate", group.get("lr", 0.0), 0.0)

    def _required_state(self, group: dict[str, Any]) -> set[str]:
        """The state a parameter that has been updated must have (load_state_dict refuses
        a saved state without it, which would crash the next step)."""
        return set()

    # ------------------------------------------------------------------ the two calls
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients before the next backward (which would add to them).

        set_to_none=True (the default, as in PyTorch) sets `.grad = None`; False puts a
        fresh tensor of zeros there instead. Why replace rather than zero in place, as
        PyTorch's optimizers and `Module.zero_grad` here do: the engine gives every
        parameter a .grad of its own, but a user may have assigned `.grad` a tensor that
        is not the optimizer's to overwrite (one tensor as two parameters' .grad, a
        tensor still used elsewhere), and a .grad recorded with create_graph has a graph
        behind it. New zeros are safe in every case. Either way .grad reads 0 and the
        next backward adds onto it; only a reference kept to the old .grad differs (it
        keeps its values here, and reads zeros after Module.zero_grad)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad = Tensor(p.xp.zeros_like(p.data))

    def step(self, closure: Callable[[], Any] | None = None):
        """One update of every parameter that has a gradient. `closure`, if given, is
        called first (with grad enabled) to recompute the loss, and its value returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        # Everything is checked before any parameter changes: hyperparameters (a loop may
        # have edited param_groups) and each gradient against its parameter.
        updates = []
        for group in self.param_groups:
            self._check_group(group)
            items = []
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad._data
                if g.shape != p._data.shape or type(g) is not type(p._data):
                    _refuse_grad(p, type(self).__name__)
                if g.dtype != p.dtype:
                    g = g.astype(p.dtype)
                if group.get("maximize", False):   # (a subclass's defaults may lack it)
                    g = -g                         # climb: the same formula on -g
                items.append((p, g, self.state[p]))
            updates.append((group, items))
        for group, items in updates:
            self._update_group(group, items)
        self._opt_called = True       # for lr_scheduler's warning about the calls' order
        return loss

    def _update_group(self, group: dict[str, Any], items: list) -> None:
        """Update a group's parameters that have a gradient: items is [(p, g, state), ...].
        By default one `_update` each; Adam updates them all at once (one GPU launch)."""
        for p, g, state in items:
            self._update(p, g, state, group)

    def _update(self, p: Tensor, g, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Change `p.data` using its gradient `g` (a raw array, never modified here)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """{"state": {index: {name: array or number}}, "param_groups": [{..., "params":
        [index, ...]}]}. Arrays are copies: later steps do not change a state dict."""
        index_of: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index_of[id(p)] = len(index_of)
                packed["params"].append(index_of[id(p)])
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if self.state.get(p):
                    state[index_of[id(p)]] = {k: _copy(v) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and per-parameter state saved by `state_dict()` (possibly
        through mg.save / mg.load). The parameters are matched by position, so the
        optimizer must have been built over the same parameters in the same order.
        Arrays are moved to each parameter's device and (if floating) cast to its dtype.
        Everything is checked before anything is changed: on error the optimizer is as
        it was."""
        saved_groups = state_dict["param_groups"]
        # a state dict saved before PyTorch's options were taken lacks them: they asked
        # for nothing
        options = {k: v for k, v in _ADDED_LATER.items() if k in self.defaults}
        saved_groups = [{**saved, **{k: v for k, v in options.items() if k not in saved}}
                        for saved in saved_groups]
        hyperparameters = set(self.defaults) - set(options)
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"load_state_dict: the state dict has {len(saved_groups)} "
                             f"parameter group(s), this optimizer has "
                             f"{len(self.param_groups)}")
        param_of: dict[int, Tensor] = {}
        new_groups = []
        for number, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            saved_names = set(saved) - {"params"} - set(options)
            if not hyperparameters <= saved_names:
                # a group saved by this kind of optimizer has every one of its
                # hyperparameters (and maybe other keys, such as "initial_lr"); one that
                # lacks some is another kind's (Adam's betas, RMSprop's alpha), whose
                # state would crash the first step()
                raise ValueError(f"load_state_dict: parameter group {number} of the state "
                                 f"dict has hyperparameters {sorted(saved_names)}, but a "
                                 f"{type(self).__name__} needs {sorted(hyperparameters)}; it "
                                 f"looks like another optimizer's state dict")
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"load_state_dict: parameter group {number} has "
                                 f"{len(saved['params'])} parameter(s) in the state dict "
                                 f"but {len(group['params'])} in this optimizer")
            for index, p in zip(saved["params"], group["params"]):
                param_of[int(index)] = p
            new_group = {k: v for k, v in saved.items() if k != "params"}
            new_group["params"] = group["params"]
            self._check_group(new_group)
            new_groups.append(new_group)
        group_of = {id(p): group for group in new_groups for p in group["params"]}
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for index, entries in state_dict["state"].items():
            unknown = set(entries) - self.state_names if self.state_names else set()
            if unknown:                # SGD's momentum_buffer in an Adam, say
                raise ValueError(f"load_state_dict: the state of parameter {index} holds "
                                 f"{sorted(unknown)}, which a {type(self).__name__} never "
                                 f"keeps; it looks like another optimizer's state dict")
            p = param_of.get(int(index))
            if p is None:
                raise ValueError(f"load_state_dict: state for parameter {index}, but the "
                                 f"parameter groups list only {sorted(param_of)}")
            missing = self._required_state(group_of[id(p)]) - set(entries) if entries else ()
            if missing:
                raise ValueError(f"load_state_dict: the state of parameter {index} lacks "
                                 f"{sorted(missing)}, which a {type(self).__name__} needs "
                                 f"for its next step")
            new_state[p] = {name: _restore(value, p, index, name)
                            for name, value in entries.items()}
        self.param_groups = new_groups
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for number, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {number}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"


def _is_array(value) -> bool:
    return isinstance(value, np.ndarray) or backend.is_gpu_array(value)


def _copy(value):
    return value.copy() if _is_array(value) else value


def _restore(value, p: Tensor, index, name: str):
    """A saved state entry made ready for parameter p: arrays on p's device and dtype."""
    if isinstance(value, Tensor):
        value = value.data
    if not _is_array(value):
        return value.item() if isinstance(value, np.generic) else value
    if tuple(value.shape) != tuple(p.shape):
        raise ValueError(f"load_state_dict: state {name!r} of parameter {index} has shape "
                         f"{tuple(value.shape)}, but the parameter has shape "
                         f"{tuple(p.shape)}")
    array = backend.to_device(value, p.device)
    if array.dtype.kind == "f" and array.dtype != p.dtype:
        array = array.astype(p.dtype)
    return array.copy() if array is value else array


def _refuse_grad(p: Tensor, optimizer: str) -> NoReturn:
    """A gradient that no longer fits its parameter (p.data replaced by an array of
    another shape, a .grad moved to another device) is refused before any update."""
    grad = p.grad
    raise RuntimeError(f"{optimizer}.step: a parameter of shape {tuple(p.shape)} on "
                       f"{p.device} has a gradient of shape {tuple(grad.shape)} on "
                       f"{grad.device}; no parameter was changed")


def _refuse_a_set(params) -> None:
    """A set has no fixed order, and a state dict names parameters by position."""
    if isinstance(params, (set, frozenset)):
        raise TypeError("optimizer parameters need an order that stays the same from run to "
                        "run (a state dict names them by position), got a set; pass a list")


def _is_named(item) -> bool:
    """One (name, parameter) pair of model.named_parameters()."""
    return (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
            and isinstance(item[1], Tensor))


def _check_range(name: str, value: float, low: float, high: float | None = None) -> None:
    """Shared hyperparameter check: low <= value (< high); nan is refused too."""
    if not low <= value or (high is not None and not value < high):
        bound = f"in [{low}, {high})" if high is not None else f">= {low}"
        raise ValueError(f"invalid {name}: {value} (must be {bound})")


Params = Iterable  # an iterable of Tensors, or of dicts (parameter groups)
