"""Learning-rate schedules (minigrad/optim/lr_scheduler.py).

Each schedule is checked twice over 30 steps and two parameter groups (lr0 = 0.1 and
0.03): against its closed form written out here (lr_t as a function of lr0 and t), and,
where PyTorch is installed, against torch.optim.lr_scheduler to 1e-12. Then checkpoints
(mg.save / mg.load in the middle of a schedule), ReduceLROnPlateau on scripted losses, the
warning about the order of the two step() calls, and bad arguments.
"""
import math
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.optim import lr_scheduler

LR0 = (0.1, 0.03)       # two parameter groups with different lrs
STEPS = 30


def make_optimizer(lrs=LR0):
    """An SGD over one parameter per group, each group with its own lr."""
    return mg.optim.SGD([{"params": [mg.zeros(2, requires_grad=True)], "lr": lr}
                         for lr in lrs], lr=1.0)


def run(optimizer, scheduler, steps=STEPS):
    """The lrs of epochs 0 .. steps-1, one list per group, stepping as a loop does:
    optimizer.step(), then scheduler.step()."""
    seen = []
    for _ in range(steps):
        lrs = [group["lr"] for group in optimizer.param_groups]
        assert scheduler.get_last_lr() == lrs
        seen.append(lrs)
        optimizer.step()
        scheduler.step()
    return np.array(seen)                  # (steps, groups)


def cosine(lr0, t, T_max, eta_min):
    return eta_min + (lr0 - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2


def linear(lr0, t, start, end, total):
    return lr0 * (start + (end - start) * min(t, total) / total)


# name: (build it over an optimizer; `lib` is minigrad or torch's lr_scheduler module,
#        lr_t from the closed form)
CASES = {
    "LambdaLR": (lambda lib, opt: lib.LambdaLR(opt, lambda t: 0.95 ** t + 0.1 * (t % 3)),
                 lambda lr0, t: lr0 * (0.95 ** t + 0.1 * (t % 3))),
    "LambdaLR, one per group": (
        lambda lib, opt: lib.LambdaLR(opt, [lambda t: 1 / (t + 1), lambda t: 0.9 ** t]),
        lambda lr0, t: lr0 * (1 / (t + 1) if lr0 == LR0[0] else 0.9 ** t)),
    "MultiplicativeLR": (lambda lib, opt: lib.MultiplicativeLR(opt, lambda t: 0.97),
                         lambda lr0, t: lr0 * 0.97 ** t),
    "StepLR": (lambda lib, opt: lib.StepLR(opt, step_size=7, gamma=0.5),
               lambda lr0, t: lr0 * 0.5 ** (t // 7)),
    "StepLR, default gamma": (lambda lib, opt: lib.StepLR(opt, 10),
                              lambda lr0, t: lr0 * 0.1 ** (t // 10)),
    "MultiStepLR": (lambda lib, opt: lib.MultiStepLR(opt, milestones=[3, 10, 10, 22],
                                                     gamma=0.3),
                    lambda lr0, t: lr0 * 0.3 ** sum(m <= t for m in [3, 10, 10, 22])),
    "ExponentialLR": (lambda lib, opt: lib.ExponentialLR(opt, gamma=0.9),
                      lambda lr0, t: lr0 * 0.9 ** t),
    "LinearLR, defaults": (lambda lib, opt: lib.LinearLR(opt),
                           lambda lr0, t: linear(lr0, t, 1 / 3, 1.0, 5)),
    "LinearLR, warm-up": (lambda lib, opt: lib.LinearLR(opt, start_factor=0.25,
                                                        end_factor=0.9, total_iters=12),
                          lambda lr0, t: linear(lr0, t, 0.25, 0.9, 12)),
    "LinearLR, decay": (lambda lib, opt: lib.LinearLR(opt, start_factor=1.0,
                                                      end_factor=0.0, total_iters=20),
                        lambda lr0, t: linear(lr0, t, 1.0, 0.0, 20)),
    "ConstantLR": (lambda lib, opt: lib.ConstantLR(opt, factor=0.5, total_iters=8),
                   lambda lr0, t: lr0 * (0.5 if t < 8 else 1.0)),
    # three periods (2 * T_max each) in 30 steps, through the troughs at t = 5, 15, 25
    "CosineAnnealingLR": (lambda lib, opt: lib.CosineAnnealingLR(opt, T_max=5, eta_min=0.01),
                          lambda lr0, t: cosine(lr0, t, 5, 0.01)),
    "CosineAnnealingLR, eta_min 0": (lambda lib, opt: lib.CosineAnnealingLR(opt, T_max=10),
                                     lambda lr0, t: cosine(lr0, t, 10, 0.0)),
    "SequentialLR, warm-up then cosine": (
        lambda lib, opt: lib.SequentialLR(opt, [
            lib.LinearLR(opt, start_factor=0.1, total_iters=5),
            lib.CosineAnnealingLR(opt, T_max=20)], milestones=[5]),
        lambda lr0, t: linear(lr0, t, 0.1, 1.0, 5) if t < 5 else cosine(lr0, t - 5, 20, 0.0)),
    "SequentialLR, three schedules": (
        lambda lib, opt: lib.SequentialLR(opt, [
            lib.ConstantLR(opt, factor=0.1, total_iters=20),
            lib.ExponentialLR(opt, gamma=0.9),
            lib.StepLR(opt, step_size=4, gamma=0.5)], milestones=[6, 17]),
        lambda lr0, t: (lr0 * 0.1 if t < 6 else lr0 * 0.9 ** (t - 6) if t < 17
                        else lr0 * 0.5 ** ((t - 17) // 4))),
}


def closed_form(name):
    lr_of = CASES[name][1]
    return np.array([[lr_of(lr0, t) for lr0 in LR0] for t in range(STEPS)])


@pytest.mark.parametrize("name", CASES)
def test_schedule_follows_its_closed_form(name):
    optimizer = make_optimizer()
    seen = run(optimizer, CASES[name][0](lr_scheduler, optimizer))
    np.testing.assert_allclose(seen, closed_form(name), rtol=1e-12, atol=1e-15)
    assert [group["initial_lr"] for group in optimizer.param_groups] == list(LR0)


@pytest.mark.parametrize("name", CASES)
def test_schedule_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    optimizer = make_optimizer()
    ours = run(optimizer, CASES[name][0](lr_scheduler, optimizer))
    torch_optimizer = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)],
                                        "lr": lr} for lr in LR0], lr=1.0)
    theirs = run(torch_optimizer, CASES[name][0](torch.optim.lr_scheduler, torch_optimizer))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    assert ([group["initial_lr"] for group in optimizer.param_groups]
            == [group["initial_lr"] for group in torch_optimizer.param_groups])


def test_the_optimizer_takes_the_scheduled_lr():
    """SGD on L = sum(p): g = 1, so each step moves p by -lr_t."""
    p = mg.zeros(1, dtype=mg.float64, requires_grad=True)
    optimizer = mg.optim.SGD([p], lr=0.1)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    for _ in range(5):
        optimizer.zero_grad()
        p.sum().backward()
        optimizer.step()
        scheduler.step()
    assert p.item() == pytest.approx(-(0.1 + 0.1 + 0.05 + 0.05 + 0.025), rel=1e-14)


def test_step_with_an_epoch_jumps_there_by_the_closed_form_and_warns():
    optimizer = make_optimizer()
    scheduler = lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    optimizer.step()
    with pytest.warns(UserWarning, match="deprecated"):
        scheduler.step(7)
    assert scheduler.last_epoch == 7
    assert scheduler.get_last_lr() == [lr0 * 0.5 ** 2 for lr0 in LR0]


def test_a_schedule_resumed_by_last_epoch_needs_initial_lr():
    optimizer = make_optimizer()
    with pytest.raises(KeyError, match="ExponentialLR: .*initial_lr"):
        lr_scheduler.ExponentialLR(optimizer, gamma=0.9, last_epoch=4)
    for group in optimizer.param_groups:
        group["initial_lr"] = group["lr"]
    scheduler = lr_scheduler.ExponentialLR(optimizer, gamma=0.9, last_epoch=4)
    assert scheduler.last_epoch == 5 and scheduler.get_last_lr() == list(LR0)


def test_two_schedules_on_one_optimizer_chain():
    """Chainable, as PyTorch: a warm-up and a decay stepped together multiply."""
    optimizer = make_optimizer()
    warmup = lr_scheduler.LinearLR(optimizer, start_factor=0.5, total_iters=4)
    decay = lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    for t in range(10):
        expected = [linear(lr0, t, 0.5, 1.0, 4) * 0.9 ** t for lr0 in LR0]
        np.testing.assert_allclose([g["lr"] for g in optimizer.param_groups], expected,
                                   rtol=1e-12)
        optimizer.step()
        warmup.step()
        decay.step()


# ---------------------------------------------------------------------- checkpoints
def plain_numbers_only(value):
    if isinstance(value, dict):
        return all(isinstance(k, (str, int)) and plain_numbers_only(v)
                   for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(plain_numbers_only(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


@pytest.mark.parametrize("name", CASES)
def test_state_dict_through_save_and_load_resumes_the_same_sequence(name, tmp_path):
    build = CASES[name][0]
    optimizer = make_optimizer()
    scheduler = build(lr_scheduler, optimizer)
    first = run(optimizer, scheduler, steps=12)
    state = scheduler.state_dict()
    assert plain_numbers_only(state), state
    mg.save({"optimizer": optimizer.state_dict(), "scheduler": state}, tmp_path / "ckpt.npz")
    rest = run(optimizer, scheduler, steps=STEPS - 12)

    # resume as PyTorch asks: build both, then load the optimizer, then the scheduler
    checkpoint = mg.load(tmp_path / "ckpt.npz")
    fresh_optimizer = make_optimizer(lrs=(0.5, 0.5))
    fresh = build(lr_scheduler, fresh_optimizer)
    fresh_optimizer.load_state_dict(checkpoint["optimizer"])
    fresh.load_state_dict(checkpoint["scheduler"])
    resumed = run(fresh_optimizer, fresh, steps=STEPS - 12)
    np.testing.assert_array_equal(resumed, rest)
    np.testing.assert_allclose(np.concatenate([first, rest]), closed_form(name),
                               rtol=1e-12, atol=1e-15)


def test_a_lambda_is_not_saved_but_a_callable_objects_attributes_are():
    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, t):
            return self.rate ** t

    optimizer = make_optimizer()
    scheduler = lr_scheduler.LambdaLR(optimizer, [lambda t: 1.0, Decay(0.5)])
    assert scheduler.state_dict()["lr_lambdas"] == [None, {"rate": 0.5}]
    restored = lr_scheduler.LambdaLR(make_optimizer(), [lambda t: 1.0, Decay(0.9)])
    restored.load_state_dict(scheduler.state_dict())
    assert restored.lr_lambdas[1].rate == 0.5


def test_another_schedulers_state_dict_is_refused():
    optimizer = make_optimizer()
    step = lr_scheduler.StepLR(optimizer, step_size=3)
    cosine_schedule = lr_scheduler.CosineAnnealingLR(make_optimizer(), T_max=10)
    with pytest.raises(ValueError, match="CosineAnnealingLR.load_state_dict: .*another"):
        cosine_schedule.load_state_dict(step.state_dict())
    assert cosine_schedule.T_max == 10


# ---------------------------------------------------------------------- ReduceLROnPlateau
def test_reduce_on_plateau_on_scripted_losses():
    """mode min, rel threshold 0.1 (better means loss < 0.9 * best), patience 2,
    cooldown 1, factor 0.5, min_lr 0.02; lr0 = 0.1:

    epoch  loss   better?  bad  lr after the step
      1    1.0    yes       0   0.1     best = 1.0
      2    0.95   no        1   0.1     (0.95 > 0.9)
      3    0.95   no        2   0.1
      4    0.95   no        3   0.05    3 > patience: cut; cooldown 1, bad = 0
      5    0.95   no        0   0.05    in cooldown: not counted
      6    0.5    yes       0   0.05    best = 0.5
      7    0.5    no        1   0.05
      8    0.5    no        2   0.05
      9    0.5    no        3   0.025   cut
     10    0.5    no        0   0.025   cooldown
     11    0.5    no        1   0.025
     12    0.5    no        2   0.025
     13    0.5    no        3   0.02    cut, held at min_lr
     14-16 0.5                  0.02    0.02 * 0.5 < min_lr: stays
    """
    optimizer = make_optimizer(lrs=(0.1,))
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2,
                                               threshold=0.1, cooldown=1, min_lr=0.02)
    assert "initial_lr" not in optimizer.param_groups[0]
    losses = [1.0, 0.95, 0.95, 0.95, 0.95] + [0.5] * 11
    expected = [0.1] * 3 + [0.05] * 5 + [0.025] * 4 + [0.02] * 4
    seen = []
    for loss in losses:
        optimizer.step()
        scheduler.step(mg.tensor(loss))
        seen.append(scheduler.get_last_lr()[0])
    assert seen == pytest.approx(expected, rel=1e-15)
    assert scheduler.best == 0.5 and scheduler.last_epoch == 16


def test_reduce_on_plateau_max_mode_abs_threshold():
    """mode max, abs threshold 0.05: better means accuracy > best + 0.05; patience 0."""
    optimizer = make_optimizer()
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.1,
                                               patience=0, threshold=0.05,
                                               threshold_mode="abs", min_lr=[0.0, 0.01])
    for accuracy in [0.5, 0.6, 0.62]:     # 0.62 < 0.6 + 0.05: bad, and patience is 0
        scheduler.step(accuracy)
    assert scheduler.get_last_lr() == pytest.approx([0.01, 0.01], rel=1e-15)
    scheduler.step(0.7)                    # better: unchanged
    scheduler.step(0.7)                    # bad: group 0 cut, group 1 held at its min_lr
    assert scheduler.get_last_lr() == pytest.approx([0.001, 0.01], rel=1e-15)


PLATEAU_SETTINGS = [dict(), dict(mode="max"), dict(threshold_mode="abs", threshold=0.05),
                    dict(mode="max", threshold_mode="abs", patience=1, cooldown=2,
                         factor=0.3, min_lr=[0.001, 0.005], eps=1e-4)]


@pytest.mark.parametrize("settings", PLATEAU_SETTINGS)
def test_reduce_on_plateau_matches_pytorch(settings):
    torch = pytest.importorskip("torch")
    settings = {"patience": 2, **settings}
    losses = np.random.default_rng(0).uniform(0.0, 1.0, size=40).cumsum() % 1.7

    def lrs(module, optimizer):
        scheduler = module.ReduceLROnPlateau(optimizer, **settings)
        seen = []
        for loss in losses:
            scheduler.step(float(loss))
            seen.append(scheduler.get_last_lr())
        return np.array(seen), scheduler.state_dict()

    ours, our_state = lrs(lr_scheduler, make_optimizer())
    theirs, their_state = lrs(torch.optim.lr_scheduler, torch.optim.SGD(
        [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in LR0]))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    assert len(np.unique(ours[:, 0])) > 2, "the script should cut the lr several times"
    for key in ("best", "num_bad_epochs", "cooldown_counter", "last_epoch"):
        assert our_state[key] == their_state[key], key


def test_reduce_on_plateau_resumes_through_save_and_load(tmp_path):
    losses = [1.0, 0.9, 0.95, 0.97, 0.5, 0.6, 0.7, 0.8, 0.45, 0.46, 0.47, 0.48]

    def build():
        optimizer = make_optimizer()
        return optimizer, lr_scheduler.ReduceLROnPlateau(optimizer, patience=1, cooldown=1)

    optimizer, scheduler = build()
    for loss in losses[:5]:
        scheduler.step(loss)
    mg.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
            tmp_path / "ckpt.npz")
    rest = []
    for loss in losses[5:]:
        scheduler.step(loss)
        rest.append(scheduler.get_last_lr())
    checkpoint = mg.load(tmp_path / "ckpt.npz")
    optimizer, resumed = build()
    optimizer.load_state_dict(checkpoint["optimizer"])
    resumed.load_state_dict(checkpoint["scheduler"])
    again = []
    for loss in losses[5:]:
        resumed.step(loss)
        again.append(resumed.get_last_lr())
    assert again == rest


# ---------------------------------------------------------------------- the order of step()
def test_scheduler_step_before_optimizer_step_warns():
    optimizer = make_optimizer()
    scheduler = lr_scheduler.StepLR(optimizer, step_size=3)
    with pytest.warns(UserWarning, match=r"before `optimizer.step\(\)`") as caught:
        scheduler.step()
    assert len(caught) == 1 and scheduler.last_epoch == 1     # warned once, and stepped


def test_the_usual_order_does_not_warn_and_a_deepcopy_steps_itself():
    import copy
    p = mg.ones(1, requires_grad=True)
    optimizer = mg.optim.SGD([p], lr=0.1)
    scheduler = lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            optimizer.step()
            scheduler.step()
    twin = copy.deepcopy(optimizer)
    twin_p = twin.param_groups[0]["params"][0]
    twin_p.grad = mg.ones(1)
    twin.step()
    assert p.item() == 1.0 and twin_p.item() == pytest.approx(1.0 - 0.1 * 0.5 ** 3)


# ---------------------------------------------------------------------- bad arguments
BAD_ARGUMENTS = [
    (lambda opt: lr_scheduler.StepLR(opt, step_size=3, gamma=0.0), ValueError,
     "StepLR: gamma must be > 0"),
    (lambda opt: lr_scheduler.StepLR(opt, step_size=0), ValueError, "StepLR: step_size"),
    (lambda opt: lr_scheduler.ExponentialLR(opt, gamma=-0.5), ValueError,
     "ExponentialLR: gamma must be > 0"),
    (lambda opt: lr_scheduler.MultiStepLR(opt, [5, 3]), ValueError,
     r"MultiStepLR: milestones must be in increasing order, got \[5, 3\]"),
    (lambda opt: lr_scheduler.MultiStepLR(opt, [2, 4], gamma=0), ValueError,
     "MultiStepLR: gamma must be > 0"),
    (lambda opt: lr_scheduler.LambdaLR(opt, 0.95), TypeError,
     "LambdaLR: lr_lambda must be a function of the epoch, got float"),
    (lambda opt: lr_scheduler.MultiplicativeLR(opt, [lambda t: 1.0, "x"]), TypeError,
     "MultiplicativeLR: lr_lambda must be a function"),
    (lambda opt: lr_scheduler.LambdaLR(opt, [lambda t: 1.0]), ValueError,
     "LambdaLR: expected 2 lr_lambdas"),
    (lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=0), ValueError,
     "CosineAnnealingLR: T_max must be >= 1"),
    (lambda opt: lr_scheduler.LinearLR(opt, start_factor=0.0), ValueError,
     r"LinearLR: start_factor must be in \(0, 1\]"),
    (lambda opt: lr_scheduler.ConstantLR(opt, factor=2.0), ValueError,
     r"ConstantLR: factor must be in \(0, 1\]"),
    (lambda opt: lr_scheduler.ConstantLR(opt, factor=0.0), ValueError,    # lr / 0 later
     r"ConstantLR: factor must be in \(0, 1\]"),
    (lambda opt: lr_scheduler.ConstantLR(opt, total_iters=2.5), ValueError,
     "ConstantLR: total_iters must be a whole number >= 0, got 2.5"),
    (lambda opt: lr_scheduler.LinearLR(opt, total_iters=0), ValueError,
     "LinearLR: total_iters must be a whole number >= 1, got 0"),
    (lambda opt: lr_scheduler.SequentialLR(opt, [lr_scheduler.StepLR(opt, 2),
                                                 lr_scheduler.SequentialLR(
                                                     opt, [lr_scheduler.StepLR(opt, 3)], [])],
                                           [4]), ValueError,
     r"SequentialLR: schedulers\[1\] is a SequentialLR; only the first"),
    (lambda opt: lr_scheduler.ReduceLROnPlateau(opt, factor=1.0), ValueError,
     "ReduceLROnPlateau: factor must be < 1.0"),
    (lambda opt: lr_scheduler.ReduceLROnPlateau(opt, mode="lowest"), ValueError,
     "ReduceLROnPlateau: mode must be 'min' or 'max'"),
    (lambda opt: lr_scheduler.ReduceLROnPlateau(opt, threshold_mode="ratio"), ValueError,
     "ReduceLROnPlateau: threshold_mode"),
    (lambda opt: lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.0]), ValueError,
     "ReduceLROnPlateau: expected 2 min_lrs"),
    (lambda opt: lr_scheduler.SequentialLR(opt, [], []), ValueError,
     "SequentialLR expects at least one scheduler"),
    (lambda opt: lr_scheduler.SequentialLR(
        opt, [lr_scheduler.ConstantLR(opt), lr_scheduler.ExponentialLR(opt, 0.9)], []),
     ValueError, "SequentialLR expects one milestone fewer"),
    (lambda opt: lr_scheduler.SequentialLR(
        opt, [lr_scheduler.ConstantLR(opt)] * 3, [5, 5]),
     ValueError, r"SequentialLR: milestones must be increasing, got \[5, 5\]"),
    (lambda opt: lr_scheduler.SequentialLR(
        opt, [lr_scheduler.ConstantLR(opt), lr_scheduler.ReduceLROnPlateau(opt)], [5]),
     ValueError, "SequentialLR cannot run ReduceLROnPlateau"),
    (lambda opt: lr_scheduler.SequentialLR(
        opt, [lr_scheduler.ConstantLR(make_optimizer())], []),
     ValueError, "another optimizer"),
]


@pytest.mark.parametrize("build, error, message", BAD_ARGUMENTS)
def test_bad_arguments_are_refused_naming_the_class(build, error, message):
    with pytest.raises(error, match=message):
        build(make_optimizer())


@pytest.mark.parametrize("cls, arguments", [
    (lr_scheduler.StepLR, dict(step_size=3)), (lr_scheduler.LambdaLR, dict(lr_lambda=abs)),
    (lr_scheduler.CosineAnnealingLR, dict(T_max=5)),
    (lr_scheduler.ReduceLROnPlateau, dict())])
def test_an_optimizer_that_is_not_minigrads_is_refused(cls, arguments):
    with pytest.raises(TypeError, match=f"{cls.__name__}: expected a minigrad optimizer "
                                        f".*got list"):
        cls([mg.zeros(1, requires_grad=True)], **arguments)


def test_the_names_pytorch_code_uses():
    assert mg.optim.lr_scheduler.StepLR is lr_scheduler.StepLR
    assert issubclass(lr_scheduler._LRScheduler, lr_scheduler.LRScheduler)
    assert issubclass(lr_scheduler.ReduceLROnPlateau, lr_scheduler.LRScheduler)


def test_a_sequential_schedule_refuses_another_schedule_whole():
    def build(second):
        param = mg.zeros(1, requires_grad=True)
        opt = mg.optim.SGD([param], lr=0.1)
        return lr_scheduler.SequentialLR(opt, [lr_scheduler.StepLR(opt, 2), second(opt)],
                                         [3])
    saved = build(lambda opt: lr_scheduler.ExponentialLR(opt, 0.9))
    for _ in range(5):
        saved.optimizer.step()
        saved.step()
    target = build(lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=4))
    before = target.state_dict()
    with pytest.raises(ValueError, match="CosineAnnealingLR.load_state_dict"):
        target.load_state_dict(saved.state_dict())
    assert target.state_dict() == before                  # nothing was half-loaded
