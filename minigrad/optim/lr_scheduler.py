"""Learning-rate schedules, as torch.optim.lr_scheduler.

A schedule sets `optimizer.param_groups[i]["lr"]` once per `scheduler.step()`, which the
training loop calls after `optimizer.step()` (once an epoch, or once an iteration):

    opt = mg.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    schedule = mg.optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.1)
    for epoch in range(100):
        for batch in data:
            opt.zero_grad(); loss(batch).backward(); opt.step()
        schedule.step()

Counting, as PyTorch counts: `last_epoch` is the epoch whose lr the groups hold now.
Building a scheduler records each group's lr as `group["initial_lr"]` (these are
`base_lrs`, lr0 below) and makes a first step itself (last_epoch -1 -> 0); each later
`step()` adds one. Each class's docstring gives lr_t, the lr of epoch t, in closed form.

The classes compute lr_t the way PyTorch does, though: *chainably*, from the lr the group
holds now (StepLR multiplies the current lr by gamma at every multiple of step_size
instead of setting lr0 * gamma ** (t // step_size)). When nothing else changes the lr,
the two agree; chaining is what lets two schedules share one optimizer, and keeps an lr
that the loop changed by hand. The closed form is used by `step(epoch)` (deprecated in
PyTorch, kept for old code) and by SequentialLR when it hands over to the next schedule.

Checkpoints: `state_dict()` holds plain numbers, lists and strings (never the optimizer),
so `mg.save` can write it beside the optimizer's. To resume, build the optimizer and the
scheduler as before, then load both state dicts (building a scheduler writes the lrs, so
the optimizer's load_state_dict must come after it, as PyTorch asks).

ReduceLROnPlateau is the odd one out: it is stepped with a metric, `schedule.step(loss)`,
and cuts the lr when the metric stops improving.
"""
from __future__ import annotations

import math
import types
import warnings
from bisect import bisect_right
from collections import Counter
from typing import Any, Callable, Iterable

from .optimizer import Optimizer

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR",
           "ExponentialLR", "LinearLR", "ConstantLR", "CosineAnnealingLR", "SequentialLR",
           "ReduceLROnPlateau"]

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` is deprecated (as in PyTorch): call "
    "`scheduler.step()` once per epoch. With an epoch, the schedule jumps there by its "
    "closed form where it has one.")


class LRScheduler:
    """Base class. A subclass sets its own arguments, calls `super().__init__` and writes
    `get_lr()`: the lrs of epoch `last_epoch`, from the lrs the groups hold now (those of
    the epoch before). It may also write `_get_closed_form_lr()`: the lrs of epoch
    `last_epoch` from `base_lrs` alone.

    last_epoch=-1 (the default) starts a schedule. A larger value resumes one that was at
    that epoch: each group must then hold its "initial_lr" already (from the optimizer's
    state dict); prefer `load_state_dict`, which restores everything.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        name = type(self).__name__
        _require_optimizer(name, optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for number, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{name}: last_epoch={last_epoch} resumes a schedule, "
                                   f"but param_groups[{number}] has no 'initial_lr'; load "
                                   f"the optimizer's state dict saved during the schedule "
                                   f"first, or start with last_epoch=-1")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._is_initial = False
        self._initial_step()

    def _initial_step(self) -> None:
        """The step the constructor makes (-1 -> 0 when starting). While it runs,
        `_is_initial` is True: the chainable schedules then keep the lr as it is."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The lr of each group at epoch `last_epoch` (subclasses write this)."""
        raise NotImplementedError

    def _get_closed_form_lr(self) -> list[float]:
        """The lr of each group at epoch `last_epoch`, from `base_lrs`; a schedule that
        has no closed form here computes it as usual."""
        return self.get_lr()

    def _current_lrs(self) -> list[float]:
        """The lr each group holds now (a chainable schedule's starting point)."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The lrs that the last step() set, one per parameter group."""
        return self._last_lr

    def step(self, epoch: int | None = None) -> None:
        """Move to the next epoch: last_epoch += 1, then each group's lr = get_lr().
        Call it after optimizer.step(). `epoch` (deprecated, as in PyTorch) jumps to that
        epoch instead, by the closed form where the schedule has one."""
        if self._step_count == 1:        # the first call after the constructor's own
            _warn_unless_optimizer_stepped(self.optimizer)
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            lrs = self.get_lr()
        else:
            self.last_epoch = epoch
            lrs = self._get_closed_form_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = self._current_lrs()

    def state_dict(self) -> dict[str, Any]:
        """Everything the scheduler holds except the optimizer (as PyTorch): epoch
        counters, base_lrs, the last lrs and the constructor's arguments; plain numbers,
        so `mg.save` can write it. Lists are copies."""
        return {key: _copy(value) for key, value in self.__dict__.items()
                if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what `state_dict()` returned (possibly through mg.save / mg.load) into
        a scheduler of the same kind, built over an optimizer with as many groups."""
        _check_same_keys(self, state_dict)
        self.__dict__.update({key: _copy(value) for key, value in state_dict.items()})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch})"


class _LRScheduler(LRScheduler):
    """The old name of LRScheduler, which PyTorch keeps for code that subclasses it."""


class _ScheduleOfLambdas(LRScheduler):
    """What LambdaLR and MultiplicativeLR share: one function of the epoch per parameter
    group (`lr_lambda`: one for all groups, or a list). A plain function (a `def` or a
    lambda) is code, not numbers, and is left out of `state_dict()`, as PyTorch leaves it
    out (None stands in its place): rebuild the scheduler with the same function before
    `load_state_dict`. A callable object's attributes (its `__dict__`) are saved and
    restored."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | list,
                 last_epoch: int = -1):
        _require_optimizer(type(self).__name__, optimizer)
        self.lr_lambdas = _lambdas_per_group(type(self).__name__, optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict[str, Any]:
        """As the base class's, with "lr_lambdas": per group None for a plain function,
        else a copy of the callable object's attributes."""
        state = {key: _copy(value) for key, value in self.__dict__.items()
                 if key not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [_lambda_state(lr_lambda) for lr_lambda in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _check_same_keys(self, state_dict)
        self.__dict__.update({key: _copy(value) for key, value in state_dict.items()
                              if key != "lr_lambdas"})
        for lr_lambda, saved in zip(self.lr_lambdas, state_dict["lr_lambdas"]):
            if saved is not None:
                lr_lambda.__dict__.update(saved)


class LambdaLR(_ScheduleOfLambdas):
    """lr_t = lr0 * lr_lambda(t)

    `lr_lambda`: a function of the epoch t, or a list of them, one per parameter group.
    A plain function is not kept by `state_dict()` (see _ScheduleOfLambdas).
    """

    def get_lr(self) -> list[float]:
        return [base_lr * lr_lambda(self.last_epoch)
                for lr_lambda, base_lr in zip(self.lr_lambdas, self.base_lrs, strict=True)]


class MultiplicativeLR(_ScheduleOfLambdas):
    """lr_0 = lr0;   lr_t = lr_{t-1} * lr_lambda(t)   (t >= 1)

    so lr_t = lr0 * lr_lambda(1) * ... * lr_lambda(t). `lr_lambda` as in LambdaLR.
    """

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [group["lr"] * lr_lambda(self.last_epoch)
                for lr_lambda, group in zip(self.lr_lambdas, self.optimizer.param_groups,
                                            strict=True)]


class StepLR(LRScheduler):
    """lr_t = lr0 * gamma ** (t // step_size)

    Chainably: at each epoch t that is a nonzero multiple of step_size, lr = lr * gamma.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1):
        name = type(self).__name__
        _check_count(name, "step_size", step_size, 1)
        _check_positive(name, "gamma", gamma)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """lr_t = lr0 * gamma ** (the number of milestones m with m <= t)

    Chainably: at an epoch listed in milestones, lr = lr * gamma (gamma ** n for an
    epoch listed n times, as PyTorch allows). Milestones must be given in order.
    """

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1):
        name = type(self).__name__
        milestones = list(milestones)
        _check_in_order(name, milestones, strictly=False)
        _check_positive(name, "gamma", gamma)
        self.milestones = Counter(milestones)     # epoch -> how many times it is listed
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        return [group["lr"] * self.gamma ** self.milestones[self.last_epoch]
                for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        milestones = sorted(self.milestones.elements())
        return [base_lr * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base_lr in self.base_lrs]

    def state_dict(self) -> dict[str, Any]:
        """As the base class's; milestones as a plain dict {epoch: times listed}."""
        return {**super().state_dict(), "milestones": dict(self.milestones)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self.milestones = Counter({int(epoch): times
                                   for epoch, times in state_dict["milestones"].items()})


class ExponentialLR(LRScheduler):
    """lr_t = lr0 * gamma ** t

    Chainably: lr = lr * gamma at every step.
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        _check_positive(type(self).__name__, "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """lr_t = lr0 * f(min(t, total_iters))
    f(t) = start_factor + (end_factor - start_factor) * t / total_iters

    a linear warm-up (start_factor < end_factor) or decay, then constant.
    Chainably: lr_0 = lr0 * start_factor, then lr_t = lr_{t-1} * f(t) / f(t - 1) up to
    t = total_iters, where f(t) / f(t - 1) = 1 + (end - start) / (total_iters * start
    + (t - 1) * (end - start)).
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1):
        name = type(self).__name__
        if not 0 < start_factor <= 1:
            raise ValueError(f"{name}: start_factor must be in (0, 1], got {start_factor}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"{name}: end_factor must be in [0, 1], got {end_factor}")
        _check_count(name, "total_iters", total_iters, 1)     # f divides by it
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        change = self.end_factor - self.start_factor
        ratio = 1.0 + change / (self.total_iters * self.start_factor
                                + (self.last_epoch - 1) * change)
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        change = self.end_factor - self.start_factor
        return [base_lr * (self.start_factor
                           + change * min(self.total_iters, self.last_epoch) / self.total_iters)
                for base_lr in self.base_lrs]


class ConstantLR(LRScheduler):
    """lr_t = lr0 * factor   for t < total_iters
       lr_t = lr0            for t >= total_iters

    Chainably: lr = lr * factor at epoch 0, lr = lr / factor at epoch total_iters.
    """

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1):
        name = type(self).__name__
        if not 0 < factor <= 1:           # epoch total_iters divides by it
            raise ValueError(f"{name}: factor must be in (0, 1], got {factor}")
        _check_count(name, "total_iters", total_iters, 0)
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return self._current_lrs()
        return [group["lr"] * (1.0 / self.factor) for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * (self.factor + (self.last_epoch >= self.total_iters)
                           * (1 - self.factor))
                for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """lr_t = eta_min + (lr0 - eta_min) * (1 + cos(pi * t / T_max)) / 2

    from lr0 at t = 0 down to eta_min at t = T_max (SGDR, Loshchilov & Hutter, 2017,
    without the restarts). Stepped past T_max it climbs back to lr0 at 2 * T_max, and so
    on, with period 2 * T_max, as PyTorch's does.
    Chainably, as PyTorch computes it:
        lr_t = eta_min + (lr_{t-1} - eta_min) * (1 + cos(pi * t / T_max))
                                              / (1 + cos(pi * (t - 1) / T_max))
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1):
        if not T_max >= 1:
            raise ValueError(f"{type(self).__name__}: T_max must be >= 1, got {T_max}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [group["lr"] for group in groups]
        if (self.last_epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
            # The step off a trough, where lr = eta_min and 1 + cos(...) = 0, so the ratio
            # below would be 0/0: climb by the closed form's increment instead.
            rise = (1 - math.cos(math.pi / self.T_max)) / 2
            return [group["lr"] + (base_lr - self.eta_min) * rise
                    for base_lr, group in zip(self.base_lrs, groups, strict=True)]
        ratio = ((1 + math.cos(math.pi * self.last_epoch / self.T_max))
                 / (1 + math.cos(math.pi * (self.last_epoch - 1) / self.T_max)))
        return [ratio * (group["lr"] - self.eta_min) + self.eta_min for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]


class SequentialLR(LRScheduler):
    """schedulers[0] for epochs t < milestones[0], schedulers[1] for milestones[0] <= t <
    milestones[1], and so on. At each milestone the next schedule starts from its own
    epoch 0 (by its closed form, from base_lrs): a warm-up followed by a decay is

        warmup = LinearLR(opt, start_factor=0.1, total_iters=5)
        decay = CosineAnnealingLR(opt, T_max=95)
        schedule = SequentialLR(opt, schedulers=[warmup, decay], milestones=[5])

    The schedulers must be built over `optimizer` and are stepped only through this one.
    """

    def __init__(self, optimizer: Optimizer, schedulers: list[LRScheduler],
                 milestones: list[int], last_epoch: int = -1):
        name = type(self).__name__
        _require_optimizer(name, optimizer)
        schedulers, milestones = list(schedulers), list(milestones)
        if not schedulers:
            raise ValueError(f"{name} expects at least one scheduler, got none")
        for index, scheduler in enumerate(schedulers):
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(f"{name} cannot run ReduceLROnPlateau (schedulers[{index}]): "
                                 f"its step() needs a metric")
            if not isinstance(scheduler, LRScheduler):
                raise TypeError(f"{name}: schedulers[{index}] is a "
                                f"{type(scheduler).__name__}, not a learning-rate scheduler")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"{name}: schedulers[{index}] ({type(scheduler).__name__}) "
                                 f"was built over another optimizer")
            if index > 0 and isinstance(scheduler, SequentialLR):
                # at its milestone a schedule restarts by its closed form, which a
                # SequentialLR lacks
                raise ValueError(f"{name}: schedulers[{index}] is a SequentialLR; only the "
                                 f"first schedule may be one")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"{name} expects one milestone fewer than schedulers, got "
                             f"{len(schedulers)} schedulers and {len(milestones)} milestones")
        _check_in_order(name, milestones, strictly=True)
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # Building the schedulers stepped each one to its epoch 0 and changed the lrs:
        # undo that, then start only the schedule that runs at epoch 0.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self.recursive_undo()
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def recursive_undo(self, sched: LRScheduler | None = None) -> None:
        """Take back the step each scheduler's constructor made (last_epoch -= 1), inside
        nested SequentialLRs too."""
        scheduler = self if sched is None else sched
        if hasattr(scheduler, "_schedulers"):
            for inner in scheduler._schedulers:
                self.recursive_undo(inner)
        elif hasattr(scheduler, "last_epoch"):
            scheduler.last_epoch -= 1

    def step(self) -> None:
        """Step the schedule that runs at the next epoch; at a milestone, start it."""
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        """Its own counters, and each scheduler's state dict under "_schedulers"."""
        state = {key: _copy(value) for key, value in self.__dict__.items()
                 if key not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Every part is checked before anything changes."""
        _check_same_keys(self, state_dict)
        if len(state_dict["_schedulers"]) != len(self._schedulers):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the state dict has "
                             f"{len(state_dict['_schedulers'])} schedulers, this one "
                             f"{len(self._schedulers)}")
        for scheduler, saved in zip(self._schedulers, state_dict["_schedulers"]):
            _check_same_keys(scheduler, saved)
        self.__dict__.update({key: _copy(value) for key, value in state_dict.items()
                              if key != "_schedulers"})
        for scheduler, saved in zip(self._schedulers, state_dict["_schedulers"]):
            scheduler.load_state_dict(saved)


class ReduceLROnPlateau(LRScheduler):
    """Cut the lr when a metric stops improving: `step(metric)` once per epoch.

    An epoch is *better* when its metric beats the best so far by the threshold:
        mode="min", threshold_mode="rel":  metric < best * (1 - threshold)
        mode="min", threshold_mode="abs":  metric < best - threshold
        mode="max", threshold_mode="rel":  metric > best * (1 + threshold)
        mode="max", threshold_mode="abs":  metric > best + threshold
    A better epoch becomes the best and resets the count of bad epochs; any other adds one.
    When there have been more than `patience` bad epochs in a row, each group's lr becomes
        lr = max(lr * factor, min_lr)      (unchanged if that lowers it by eps or less)
    and for the next `cooldown` epochs bad epochs are not counted. The first epoch is
    always better (best starts at +inf for "min", -inf for "max").
    `min_lr` is one number, or a list of one per parameter group. Unlike the other
    schedules, this one does not record "initial_lr" and does not step at construction.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: list[float] | float = 0, eps: float = 1e-8):
        name = type(self).__name__
        if factor >= 1.0:
            raise ValueError(f"{name}: factor must be < 1.0 (the lr is multiplied by it), "
                             f"got {factor}")
        _require_optimizer(name, optimizer)
        self.factor = factor
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(f"{name}: expected {len(optimizer.param_groups)} min_lrs "
                                 f"(one per parameter group), got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        self._init_is_better(mode=mode, threshold=threshold, threshold_mode=threshold_mode)
        self._reset()

    def _init_is_better(self, mode: str, threshold: float, threshold_mode: str) -> None:
        name = type(self).__name__
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{name}: threshold_mode must be 'rel' or 'abs', got "
                             f"{threshold_mode!r}")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_better(self, a: float, best: float) -> bool:
        """The rule of the class docstring."""
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (1.0 + self.threshold)
        return a > best + self.threshold

    def step(self, metrics: float, epoch: int | None = None) -> None:
        """One epoch's metric (a number or a one-element Tensor)."""
        current = float(metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0          # bad epochs in the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):            # a group was added since
            if self.default_min_lr is None:
                raise RuntimeError(f"{type(self).__name__}: the optimizer has {len(groups)} "
                                   f"parameter groups but min_lr gave {len(self.min_lrs)}; "
                                   f"set .min_lrs to one value per group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._init_is_better(mode=self.mode, threshold=self.threshold,
                             threshold_mode=self.threshold_mode)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(mode={self.mode!r}, factor={self.factor}, "
                f"patience={self.patience}, best={self.best}, "
                f"num_bad_epochs={self.num_bad_epochs})")


# ---------------------------------------------------------------------- helpers
def _check_count(scheduler: str, name: str, value, smallest: int) -> None:
    """A whole number of epochs (not a bool, not 2.5) of at least `smallest`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
        raise ValueError(f"{scheduler}: {name} must be a whole number >= {smallest}, got "
                         f"{value!r}")


def _require_optimizer(scheduler: str, optimizer) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{scheduler}: expected a minigrad optimizer (mg.optim.SGD, Adam, "
                        f"RMSprop, ...), got {type(optimizer).__name__}")


def _check_positive(scheduler: str, name: str, value: float) -> None:
    if not value > 0:                                     # nan is refused too
        raise ValueError(f"{scheduler}: {name} must be > 0, got {value}")


def _check_in_order(scheduler: str, milestones: list, strictly: bool) -> None:
    for before, after in zip(milestones, milestones[1:]):
        if after < before or (strictly and after == before):
            kind = "increasing" if strictly else "in increasing order"
            raise ValueError(f"{scheduler}: milestones must be {kind}, got {milestones}")


def _lambdas_per_group(scheduler: str, optimizer: Optimizer, lr_lambda) -> list:
    """One function per parameter group: the one given for all, or a list of them."""
    groups = len(optimizer.param_groups)
    if isinstance(lr_lambda, (list, tuple)):
        if len(lr_lambda) != groups:
            raise ValueError(f"{scheduler}: expected {groups} lr_lambdas (one per parameter "
                             f"group), got {len(lr_lambda)}")
        lr_lambdas = list(lr_lambda)
    else:
        lr_lambdas = [lr_lambda] * groups
    for lr_lambda in lr_lambdas:
        if not callable(lr_lambda):
            raise TypeError(f"{scheduler}: lr_lambda must be a function of the epoch, got "
                            f"{type(lr_lambda).__name__}")
    return lr_lambdas


def _lambda_state(lr_lambda) -> dict | None:
    """What a state dict keeps of an lr_lambda: nothing of a plain function (it is code),
    a copy of a callable object's attributes."""
    if isinstance(lr_lambda, types.FunctionType) or not hasattr(lr_lambda, "__dict__"):
        return None
    return dict(lr_lambda.__dict__)


def _copy(value):
    return list(value) if isinstance(value, list) else value


def _check_same_keys(scheduler: LRScheduler, state_dict: dict[str, Any]) -> None:
    """A state dict from another kind of scheduler has other entries: refuse it before
    anything changes."""
    expected, given = set(scheduler.state_dict()), set(state_dict)
    if given != expected:
        name = type(scheduler).__name__
        raise ValueError(f"{name}.load_state_dict: the state dict has entries "
                         f"{sorted(given - expected)} that a {name} does not keep and lacks "
                         f"{sorted(expected - given)}; it looks like another scheduler's")


def _warn_unless_optimizer_stepped(optimizer: Optimizer) -> None:
    """PyTorch warns when a scheduler's first step() comes before any optimizer.step():
    the schedule then skips its first lr. Optimizer.step leaves the mark `_opt_called`."""
    if not getattr(optimizer, "_opt_called", False):
        warnings.warn("Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
                      "Call them in the opposite order, `optimizer.step()` first, or the "
                      "schedule skips its first learning rate (as PyTorch warns)",
                      UserWarning, stacklevel=3)
