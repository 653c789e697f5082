"""Optimizers and gradient clipping.

Each optimizer is checked against its update formula written out here in numpy (never by
calling the optimizer), for three steps, in float64 and in float32. The loss is
L(p) = sum(c * p * p), so the gradient that backward() produces is g = 2 c p.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad.nn.utils import clip_grad_norm_, clip_grad_value_

DTYPES = [np.float64, np.float32]
TOL = {np.float64: dict(rtol=1e-12, atol=1e-14), np.float32: dict(rtol=2e-5, atol=1e-6)}

P0 = np.array([[0.5, -1.5, 2.0], [-0.25, 1.0, 3.0]])
C = np.array([[1.0, 0.5, -0.3], [2.0, -1.0, 0.25]])


def run(make_opt, device, dtype, steps=3):
    """Three optimizer steps on L(p) = sum(c p^2); returns the parameter and optimizer."""
    p = mg.tensor(P0, dtype=dtype, device=device, requires_grad=True)
    c = mg.tensor(C, dtype=dtype, device=device)
    opt = make_opt([p])
    for _ in range(steps):
        opt.zero_grad()
        (c * p * p).sum().backward()
        opt.step()
    return p, opt


def assert_matches(p, expected, dtype, opt):
    assert p.dtype == dtype, "the update changed the parameter's dtype"
    for state in opt.state.values():
        for name, value in state.items():
            if hasattr(value, "dtype"):
                assert value.dtype == dtype, f"state {name} has dtype {value.dtype}"
    np.testing.assert_allclose(p.numpy(), expected, **TOL[dtype])


# ---------------------------------------------------------------------- by hand
def test_sgd_momentum_literal_numbers():
    """L = p^2, p0 = 1, lr = 0.1, momentum = 0.9, worked out on paper:
    step 1: g = 2,    buf = 2,                p = 1 - 0.1 * 2     = 0.8
    step 2: g = 1.6,  buf = 0.9*2 + 1.6 = 3.4,   p = 0.8 - 0.34   = 0.46
    step 3: g = 0.92, buf = 0.9*3.4 + 0.92 = 3.98, p = 0.46 - 0.398 = 0.062"""
    p = mg.tensor([1.0], dtype=mg.float64, requires_grad=True)
    opt = mg.optim.SGD([p], lr=0.1, momentum=0.9)
    seen = []
    for _ in range(3):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
        seen.append(p.item())
    np.testing.assert_allclose(seen, [0.8, 0.46, 0.062], rtol=1e-13)


def test_adam_first_step_moves_by_lr():
    """On step 1, m_hat = g and v_hat = g^2, so p moves by lr * g / (|g| + eps)."""
    p = mg.tensor([1.0, -2.0], dtype=mg.float64, requires_grad=True)
    opt = mg.optim.Adam([p], lr=0.1)
    (p * p).sum().backward()
    opt.step()
    np.testing.assert_allclose(p.numpy(), [1 - 0.1 * 2 / (2 + 1e-8), -2 + 0.1 * 4 / (4 + 1e-8)],
                               rtol=1e-15)


# ---------------------------------------------------------------------- formulas
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("momentum, dampening, weight_decay, nesterov",
                         [(0.0, 0.0, 0.0, False), (0.9, 0.0, 0.0, False),
                          (0.9, 0.1, 0.01, False), (0.8, 0.0, 0.05, True)])
def test_sgd_matches_formula(device, dtype, momentum, dampening, weight_decay, nesterov):
    lr = 0.05
    p, buf = P0.copy(), None
    for _ in range(3):
        g = 2 * C * p + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    got, opt = run(lambda ps: mg.optim.SGD(ps, lr=lr, momentum=momentum, dampening=dampening,
                                           weight_decay=weight_decay, nesterov=nesterov),
                   device, dtype)
    assert_matches(got, p, dtype, opt)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("betas, weight_decay", [((0.9, 0.999), 0.0), ((0.5, 0.999), 0.1),
                                                 ((0.0, 0.9), 0.0)])
def test_adam_matches_formula(device, dtype, betas, weight_decay):
    lr, eps = 0.01, 1e-8
    b1, b2 = betas
    p, m, v = P0.copy(), np.zeros_like(P0), np.zeros_like(P0)
    for t in (1, 2, 3):
        g = 2 * C * p + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    got, opt = run(lambda ps: mg.optim.Adam(ps, lr=lr, betas=betas, eps=eps,
                                            weight_decay=weight_decay), device, dtype)
    assert_matches(got, p, dtype, opt)
    assert next(iter(opt.state.values()))["step"] == 3


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("momentum, centered, weight_decay", [(0.0, False, 0.0),
                                                              (0.9, False, 0.0),
                                                              (0.5, True, 0.01)])
def test_rmsprop_matches_formula(device, dtype, momentum, centered, weight_decay):
    lr, alpha, eps = 0.01, 0.9, 1e-8
    p, v = P0.copy(), np.zeros_like(P0)
    mean_g, buf = np.zeros_like(P0), np.zeros_like(P0)
    for _ in range(3):
        g = 2 * C * p + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            mean_g = alpha * mean_g + (1 - alpha) * g
            avg = np.sqrt(v - mean_g * mean_g) + eps
        else:
            avg = np.sqrt(v) + eps
        if momentum:
            buf = momentum * buf + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
    got, opt = run(lambda ps: mg.optim.RMSprop(ps, lr=lr, alpha=alpha, eps=eps,
                                               weight_decay=weight_decay, momentum=momentum,
                                               centered=centered), device, dtype)
    assert_matches(got, p, dtype, opt)


# ---------------------------------------------------------------------- groups
def test_parameter_groups_have_their_own_lr(device):
    """Two-time-scale update rule: D and G in one optimizer with different lrs."""
    d = mg.tensor([1.0, 2.0], dtype=mg.float64, device=device, requires_grad=True)
    g = mg.tensor([3.0], dtype=mg.float64, device=device, requires_grad=True)
    opt = mg.optim.SGD([{"params": [d], "lr": 0.4}, {"params": [g]}], lr=0.1)
    assert [group["lr"] for group in opt.param_groups] == [0.4, 0.1]
    ((d * d).sum() + (g * g).sum()).backward()
    opt.step()
    np.testing.assert_allclose(d.numpy(), [1 - 0.4 * 2, 2 - 0.4 * 4])
    np.testing.assert_allclose(g.numpy(), [3 - 0.1 * 6])
    opt.param_groups[1]["lr"] = 0.0  # changing a group's lr takes effect at once
    opt.zero_grad()
    (g * g).sum().backward()
    before = g.numpy().copy()
    opt.step()
    np.testing.assert_array_equal(g.numpy(), before)


def test_parameters_from_a_generator_and_bad_arguments():
    p = mg.tensor([1.0], requires_grad=True)
    assert mg.optim.Adam(iter([p])).param_groups[0]["params"] == [p]
    with pytest.raises(TypeError, match="single Tensor"):
        mg.optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="empty"):
        mg.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        mg.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        mg.optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="learning rate"):
        mg.optim.Adam([p], lr=-1.0)
    with pytest.raises(ValueError, match="beta2"):
        mg.optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Nesterov"):
        mg.optim.SGD([p], lr=0.1, nesterov=True)


def test_a_group_keeps_keys_of_its_own_and_they_survive_a_resume():
    # As in PyTorch: a group's "name", the "initial_lr" a learning-rate schedule records;
    # a state dict with them loads into a fresh optimizer of the same kind
    p = mg.zeros(3, requires_grad=True)
    opt = mg.optim.Adam([{"params": [p], "name": "D"}], lr=0.1)
    opt.param_groups[0]["initial_lr"] = 0.1
    assert opt.param_groups[0]["name"] == "D" and opt.param_groups[0]["betas"] == (0.9, 0.999)
    p.grad = mg.ones(3)
    opt.step()
    fresh_p = mg.zeros(3, requires_grad=True)
    fresh = mg.optim.Adam([fresh_p], lr=0.5)
    fresh.load_state_dict(opt.state_dict())
    group = fresh.param_groups[0]
    assert group["name"] == "D" and group["initial_lr"] == 0.1 and group["lr"] == 0.1
    assert group["params"] == [fresh_p]


@pytest.mark.parametrize("option", ["capturable", "differentiable"])
def test_pytorchs_options_that_are_not_implemented_are_refused_unless_neutral(option):
    p = mg.zeros(3, requires_grad=True)
    mg.optim.Adam([{"params": [p], option: False, "foreach": True, "fused": False}])
    mg.optim.Adam([p], **{option: False})                                  # asks nothing
    message = f"Adam: {option}=True is not implemented"
    with pytest.raises(NotImplementedError, match=message):
        mg.optim.Adam([{"params": [p], option: True}])
    with pytest.raises(NotImplementedError, match=message):
        mg.optim.Adam([p], **{option: True})
    # switched on behind the constructor's back: refused before any parameter changes
    opt = mg.optim.Adam([p], lr=0.1)
    saved = opt.state_dict()
    saved["param_groups"][0][option] = True
    with pytest.raises(NotImplementedError, match=message):
        opt.load_state_dict(saved)
    assert opt.param_groups[0][option] is False
    opt.param_groups[0][option] = True
    p.grad = mg.ones(3)
    with pytest.raises(NotImplementedError, match=message):
        opt.step()
    np.testing.assert_array_equal(p.numpy(), 0.0)


@pytest.mark.parametrize("make", [
    lambda ps, **kw: mg.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, **kw),
    lambda ps, **kw: mg.optim.Adam(ps, lr=0.1, betas=(0.5, 0.9), weight_decay=0.01, **kw),
    lambda ps, **kw: mg.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True, **kw),
], ids=["sgd", "adam", "rmsprop"])
def test_maximize_climbs_as_minimizing_the_negative_descends(make):
    # maximize=True is the same formula on -g: ascending f is descending -f, to the bit
    start = np.array([0.5, -1.5, 2.0])
    climber = mg.tensor(start.copy(), dtype=mg.float64, requires_grad=True)
    descender = mg.tensor(start.copy(), dtype=mg.float64, requires_grad=True)
    up, down = make([climber], maximize=True), make([descender])
    for _ in range(5):
        for opt, p, sign in ((up, climber, 1.0), (down, descender, -1.0)):
            opt.zero_grad()
            (sign * (p ** 3 - 2.0 * p).sum()).backward()
            opt.step()
    np.testing.assert_array_equal(climber.numpy(), descender.numpy())
    assert not np.array_equal(climber.numpy(), start)
    # and it may be switched on later, through param_groups, as in PyTorch: the next step
    # climbs f (as `up` does), where it had been descending -f
    down.param_groups[0]["maximize"] = True
    for opt, p in ((up, climber), (down, descender)):
        opt.zero_grad()
        (p ** 3 - 2.0 * p).sum().backward()
        opt.step()
    np.testing.assert_array_equal(climber.numpy(), descender.numpy())


@pytest.mark.parametrize("make", [
    lambda ps, v: mg.optim.Adam(ps, lr=v), lambda ps, v: mg.optim.Adam(ps, betas=(v, 0.9)),
    lambda ps, v: mg.optim.Adam(ps, eps=v), lambda ps, v: mg.optim.SGD(ps, momentum=v),
    lambda ps, v: mg.optim.RMSprop(ps, alpha=v), lambda ps, v: mg.optim.SGD(ps, lr=v),
])
def test_a_nan_hyperparameter_is_refused(make):
    with pytest.raises(ValueError, match=r"invalid .*: nan \(must be"):
        make([mg.zeros(2, requires_grad=True)], float("nan"))


def test_params_as_named_parameters_a_set_or_a_default_sgd():
    model = mg.nn.Linear(2, 3)
    opt = mg.optim.SGD(model.named_parameters())          # lr 1e-3 by default, as PyTorch
    assert opt.param_groups[0]["lr"] == 1e-3
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.param_groups[0]["params"] == [model.weight, model.bias]
    assert opt.state[model.weight] == {}                   # state is a defaultdict, as torch
    for params in ({model.weight}, [{"params": {model.bias}}]):
        with pytest.raises(TypeError, match="got a set; pass a list"):
            mg.optim.Adam(params)


def test_a_saved_state_that_lacks_an_entry_is_refused():
    p = mg.ones(3, requires_grad=True)
    opt = mg.optim.Adam([p], lr=0.1)
    p.grad = mg.ones(3)
    opt.step()
    saved = opt.state_dict()
    del saved["state"][0]["exp_avg_sq"]
    fresh = mg.optim.Adam([mg.ones(3, requires_grad=True)])
    with pytest.raises(ValueError, match=r"parameter 0 lacks \['exp_avg_sq'\], which a Adam "
                                         r"needs"):
        fresh.load_state_dict(saved)
    assert not fresh.state and fresh.param_groups[0]["lr"] == 1e-3


def test_a_state_dict_saved_before_pytorchs_options_existed_loads():
    p = mg.ones(3, requires_grad=True)
    opt = mg.optim.RMSprop([p], lr=0.1)
    p.grad = mg.ones(3)
    opt.step()
    saved = opt.state_dict()
    for option in ("maximize", "foreach", "capturable", "differentiable"):
        del saved["param_groups"][0][option]
    fresh = mg.optim.RMSprop([mg.ones(3, requires_grad=True)])
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["maximize"] is False and fresh.param_groups[0]["lr"] == 0.1


def test_another_optimizers_state_is_refused_by_its_entries_too():
    # An SGD group that happens to carry Adam's hyperparameters as extra keys passes the
    # group check; its per-parameter state (momentum_buffer) does not
    p = mg.ones(3, requires_grad=True)
    sgd = mg.optim.SGD([{"params": [p], "betas": (0.9, 0.999), "eps": 1e-8}], lr=0.1,
                       momentum=0.9)
    p.grad = mg.ones(3)
    sgd.step()
    adam = mg.optim.Adam([mg.ones(3, requires_grad=True)])
    with pytest.raises(ValueError, match=r"holds \['momentum_buffer'\], which a Adam never "
                                         r"keeps; it looks like another optimizer's"):
        adam.load_state_dict(sgd.state_dict())


# ---------------------------------------------------------------------- step details
def test_step_bumps_the_version_counter(device):
    p = mg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = p * p  # saves p for its backward
    (p * 3).sum().backward()
    version = p._version
    mg.optim.Adam([p]).step()
    assert p._version > version
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()


def test_step_skips_parameters_without_grad_and_runs_the_closure():
    a = mg.tensor([1.0], requires_grad=True)
    b = mg.tensor([1.0], requires_grad=True)
    opt = mg.optim.SGD([a, b], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (a * a).sum()
        loss.backward()
        return loss

    with mg.no_grad():  # the closure runs with grad enabled anyway
        loss = opt.step(closure)
    assert loss.item() == 1.0
    assert a.item() == 0.0 and b.item() == 1.0
    assert b not in opt.state


def test_zero_grad(device):
    p = mg.tensor([1.0, 2.0], device=device, requires_grad=True)
    q = mg.tensor([1.0, 2.0], device=device, requires_grad=True)
    opt = mg.optim.SGD([p, q], lr=0.1)
    (p + q).sum().backward()
    q.grad = kept = p.grad       # a user's choice: one tensor as both .grads
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(kept.numpy(), [1.0, 1.0])   # new zeros, not in place
    np.testing.assert_array_equal(p.grad.numpy(), [0.0, 0.0])
    (p * 5).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), [5.0, 5.0])
    np.testing.assert_array_equal(q.grad.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert p.grad is None and q.grad is None


# ---------------------------------------------------------------------- state dicts
OPTIMIZERS = {
    "sgd": lambda ps: mg.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01),
    "adam": lambda ps: mg.optim.Adam([{"params": ps[:1], "lr": 0.02},
                                      {"params": ps[1:], "lr": 0.01}], betas=(0.5, 0.99)),
    "rmsprop": lambda ps: mg.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
}


def _params(device, dtype=np.float32):
    return [mg.tensor(P0 * s, dtype=dtype, device=device, requires_grad=True)
            for s in (1.0, -0.5)]


def _train(params, opt, steps):
    for _ in range(steps):
        opt.zero_grad()
        sum(((mg.tensor(C, dtype=p.dtype, device=p.device) * p * p * p).sum()
             for p in params)).backward()
        opt.step()


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_resume_from_state_dict_is_bit_identical(device, name, tmp_path):
    make = OPTIMIZERS[name]
    straight = _params(device)
    _train(straight, make(straight), 6)

    first = _params(device)
    opt = make(first)
    _train(first, opt, 3)
    mg.save({"params": [p.detach() for p in first], "opt": opt.state_dict()},
            tmp_path / "ckpt.npz")
    ckpt = mg.load(tmp_path / "ckpt.npz", device=device)
    resumed = [mg.tensor(t, device=device, requires_grad=True) for t in ckpt["params"]]
    opt2 = make(resumed)
    opt2.load_state_dict(ckpt["opt"])
    _train(resumed, opt2, 3)
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert b.dtype == np.float32


def test_state_dict_layout_and_snapshot():
    params = _params("cpu", np.float64)
    opt = OPTIMIZERS["adam"](params)
    _train(params, opt, 2)
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert [g["lr"] for g in sd["param_groups"]] == [0.02, 0.01]
    assert sorted(sd["state"]) == [0, 1]
    assert sd["state"][0]["step"] == 2
    assert isinstance(sd["state"][0]["exp_avg"], np.ndarray)
    saved = sd["state"][0]["exp_avg"].copy()
    _train(params, opt, 1)
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"], saved)  # a snapshot


def test_load_state_dict_casts_to_the_parameter_dtype_and_restores_hyperparameters():
    params = _params("cpu", np.float64)
    opt = OPTIMIZERS["adam"](params)
    _train(params, opt, 1)
    sd = opt.state_dict()
    fresh = _params("cpu", np.float32)
    opt2 = mg.optim.Adam([{"params": fresh[:1]}, {"params": fresh[1:]}])
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.02 and opt2.param_groups[0]["betas"] == (0.5, 0.99)
    assert opt2.param_groups[0]["params"][0] is fresh[0]
    assert opt2.state[fresh[0]]["exp_avg"].dtype == np.float32


def test_load_state_dict_mismatch_leaves_the_optimizer_unchanged():
    params = _params("cpu")
    opt = OPTIMIZERS["sgd"](params)
    _train(params, opt, 1)
    sd = opt.state_dict()
    other = [mg.tensor(np.ones(3), requires_grad=True), params[1]]
    opt2 = mg.optim.SGD(other, lr=0.5, momentum=0.9)
    with pytest.raises(ValueError, match="shape"):
        opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.5 and not opt2.state
    with pytest.raises(ValueError, match="parameter group"):
        OPTIMIZERS["adam"](_params("cpu")).load_state_dict(sd)
    with pytest.raises(ValueError, match="but 1 in this optimizer"):
        mg.optim.SGD(params[:1], lr=0.1).load_state_dict(sd)


def test_load_state_dict_of_another_optimizer_is_refused_before_anything_changes():
    """Adam's groups have betas, RMSprop's alpha: loading one into the other must fail
    at once (not with a KeyError at the next step) and leave the optimizer as it was."""
    one_group = {"adam": lambda ps: mg.optim.Adam(ps, lr=0.02, betas=(0.5, 0.99)),
                 "rmsprop": OPTIMIZERS["rmsprop"], "sgd": OPTIMIZERS["sgd"]}
    for saved_name, target_name in (("adam", "rmsprop"), ("rmsprop", "adam"),
                                    ("sgd", "rmsprop")):
        params = _params("cpu")
        source = one_group[saved_name](params)
        _train(params, source, 1)
        sd = source.state_dict()
        fresh = _params("cpu")
        target = one_group[target_name](fresh)
        _train(fresh, target, 1)
        groups_before = [dict(g) for g in target.param_groups]
        state_before = {p: dict(s) for p, s in target.state.items()}
        with pytest.raises(ValueError, match="another optimizer's state dict") as info:
            target.load_state_dict(sd)
        assert "alpha" in str(info.value)
        assert target.param_groups == groups_before
        assert target.state.keys() == state_before.keys()
        for p, entries in state_before.items():
            assert target.state[p] is not entries and target.state[p].keys() == entries.keys()
            for name, value in entries.items():
                np.testing.assert_array_equal(target.state[p][name], value)
        _train(fresh, target, 1)                       # and it still steps


# ---------------------------------------------------------------------- clipping
def _with_grads(device, grads):
    params = []
    for g in grads:
        p = mg.tensor(np.zeros_like(g), device=device, requires_grad=True)
        p.grad = mg.tensor(g, device=device)
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm(device, norm_type):
    grads = [np.array([3.0, -4.0]), np.array([[12.0]])]
    flat = np.concatenate([g.ravel() for g in grads])
    expected = np.linalg.norm(flat, ord=norm_type)  # 13, 19, 12
    params = _with_grads(device, grads)
    total = clip_grad_norm_(params, max_norm=1.0, norm_type=norm_type)
    assert isinstance(total, mg.Tensor)
    np.testing.assert_allclose(total.item(), expected, rtol=1e-6)
    scale = 1.0 / (expected + 1e-6)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad.numpy(), g * scale, rtol=1e-6)
        assert p.grad.dtype == np.float32


def test_clip_grad_norm_below_max_and_shared_gradients():
    a = mg.tensor([3.0], requires_grad=True)
    b = mg.tensor([4.0], requires_grad=True)
    (a + b).sum().backward()  # a.grad and b.grad share one array
    total = clip_grad_norm_([a, b], max_norm=10.0)
    np.testing.assert_allclose(total.item(), np.sqrt(2), rtol=1e-6)
    assert a.grad.item() == 1.0 and b.grad.item() == 1.0  # untouched
    clip_grad_norm_([a, b], max_norm=np.sqrt(2) / 2)
    np.testing.assert_allclose([a.grad.item(), b.grad.item()], [0.5, 0.5], rtol=1e-5)
    assert clip_grad_norm_([mg.tensor([1.0], requires_grad=True)], 1.0).item() == 0.0
    # max_norm as a 0-d tensor, and PyTorch's foreach (accepted, changes nothing)
    clip_grad_norm_([a, b], max_norm=mg.tensor(np.sqrt(2) / 4), foreach=True)
    np.testing.assert_allclose([a.grad.item(), b.grad.item()], [0.25, 0.25], rtol=1e-5)
    clip_grad_value_([a], 0.1, foreach=False)
    assert a.grad.item() == np.float32(0.1)


def test_clip_grad_value(device):
    params = _with_grads(device, [np.array([-3.0, 0.5, 2.0])])
    clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(params[0].grad.numpy(), [-1.0, 0.5, 1.0])


def test_adam_counts_the_steps_of_each_parameter_in_one_group(device):
    """A parameter without a gradient is skipped, so two parameters of one group can be at
    different steps (bias corrections): the group's update keeps them apart."""
    from kernels.optim import adam_update_reference

    a = mg.tensor([1.0, -2.0], device=device, requires_grad=True)
    b = mg.tensor([0.5, 3.0, 4.0], device=device, requires_grad=True)
    opt = mg.optim.Adam([a, b], lr=0.1, betas=(0.5, 0.9))
    expected = {name: [t.numpy().copy(), np.zeros(t.shape, np.float32),
                       np.zeros(t.shape, np.float32)] for name, t in (("a", a), ("b", b))}
    hyper = dict(lr=0.1, beta1=0.5, beta2=0.9, eps=1e-8)
    (a * a).sum().backward()                       # step 1: only a has a gradient
    adam_update_reference(expected["a"][0], 2 * expected["a"][0], *expected["a"][1:],
                          step=1, **hyper)
    opt.step()
    opt.zero_grad()
    (a * a).sum().backward()                       # step 2: a's second, b's first
    (b * b * b).sum().backward()
    for name, step, grad in (("a", 2, lambda x: 2 * x), ("b", 1, lambda x: 3 * x * x)):
        adam_update_reference(expected[name][0], grad(expected[name][0]), *expected[name][1:],
                              step=step, **hyper)
    opt.step()
    assert opt.state[a]["step"] == 2 and opt.state[b]["step"] == 1
    np.testing.assert_allclose(a.numpy(), expected["a"][0], rtol=1e-6)
    np.testing.assert_allclose(b.numpy(), expected["b"][0], rtol=1e-6)


@pytest.mark.parametrize("make", [
    lambda ps: mg.optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: mg.optim.Adam(ps, lr=0.1),
    lambda ps: mg.optim.RMSprop(ps, lr=0.1)], ids=["sgd", "adam", "rmsprop"])
def test_a_gradient_that_no_longer_fits_changes_no_parameter(make):
    first, second = mg.ones(3, requires_grad=True), mg.ones(2, 2, requires_grad=True)
    opt = make([first, second])
    first.grad, second.grad = mg.ones(3), mg.ones(2, 2)
    with mg.no_grad():
        second.data = np.ones(3, np.float32)      # the parameter replaced, its grad kept
    with pytest.raises(RuntimeError, match=r"step: a parameter of shape \(3,\) on cpu has a "
                                           r"gradient of shape \(2, 2\)"):
        opt.step()
    np.testing.assert_array_equal(first.numpy(), 1.0)
    assert not opt.state[first]


def _adam_by_hand(p, grads, lr, betas, eps, weight_decay, amsgrad, decoupled):
    """Adam / AdamW / AMSGrad written out in float64, step by step (the papers' formulas
    with PyTorch's eps placement): what the optimizer must reproduce."""
    beta1, beta2 = betas
    m, v, max_v = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        max_v = np.maximum(max_v, v)
        second = max_v if amsgrad else v
        p = p - lr / (1 - beta1 ** t) * m / (np.sqrt(second) / np.sqrt(1 - beta2 ** t) + eps)
    return p


@pytest.mark.parametrize("make, amsgrad, decoupled, weight_decay", [
    (lambda ps, **kw: mg.optim.Adam(ps, amsgrad=True, **kw), True, False, 0.1),
    (lambda ps, **kw: mg.optim.AdamW(ps, **kw), False, True, 0.1),
    (lambda ps, **kw: mg.optim.AdamW(ps, amsgrad=True, **kw), True, True, 0.1),
    (lambda ps, **kw: mg.optim.Adam(ps, decoupled_weight_decay=True, **kw), False, True, 0.3),
], ids=["amsgrad", "adamw", "adamw-amsgrad", "adam-decoupled"])
def test_amsgrad_and_adamw_follow_their_formulas(make, amsgrad, decoupled, weight_decay,
                                                 device):
    rng = np.random.default_rng(5)
    start = rng.standard_normal(6)
    # gradients that shrink after a large one: AMSGrad's max_v then differs from v
    grads = [rng.standard_normal(6) * scale for scale in (3.0, 0.1, 0.1, 2.0, 0.05)]
    p = mg.tensor(start, dtype=mg.float64, device=device, requires_grad=True)
    opt = make([p], lr=0.05, betas=(0.8, 0.9), eps=1e-8, weight_decay=weight_decay)
    for g in grads:
        p.grad = mg.tensor(g, dtype=mg.float64, device=device)
        opt.step()
    expected = _adam_by_hand(start, grads, 0.05, (0.8, 0.9), 1e-8, weight_decay, amsgrad,
                             decoupled)
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-12, atol=1e-14)
    if amsgrad:                          # the largest v so far is kept, and checkpointed
        state = opt.state_dict()["state"][0]
        assert (state["max_exp_avg_sq"] >= state["exp_avg_sq"]).all()
        assert (state["max_exp_avg_sq"] > state["exp_avg_sq"]).any()


def test_adamw_defaults_and_a_resumed_amsgrad_run_match_pytorch(tmp_path):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    start = rng.standard_normal((3, 4)).astype(np.float32)
    grads = [rng.standard_normal((3, 4)).astype(np.float32) * s for s in (2, 0.1, 1, 0.01)]
    for make_mg, make_torch in [
        (lambda ps: mg.optim.AdamW(ps), lambda ps: torch.optim.AdamW(ps)),
        (lambda ps: mg.optim.Adam(ps, lr=0.01, amsgrad=True, weight_decay=0.1),
         lambda ps: torch.optim.Adam(ps, lr=0.01, amsgrad=True, weight_decay=0.1)),
    ]:
        p = mg.tensor(start.copy(), requires_grad=True)
        q = torch.tensor(start.copy(), requires_grad=True)
        opt, ref = make_mg([p]), make_torch([q])
        assert opt.param_groups[0]["weight_decay"] == ref.param_groups[0]["weight_decay"]
        for number, g in enumerate(grads):
            p.grad, q.grad = mg.tensor(g), torch.tensor(g)
            opt.step()
            ref.step()
            if number == 1:                                   # save and resume mid-run
                mg.save(opt.state_dict(), tmp_path / "opt.npz")
                opt = make_mg([p])
                opt.load_state_dict(mg.load(tmp_path / "opt.npz"))
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_adamw_stays_adamw_and_amsgrad_can_be_switched_on_later():
    # an Adam's state dict (or one saved before the option) must not turn AdamW into Adam
    p, q = mg.ones(3, requires_grad=True), mg.ones(3, requires_grad=True)
    adamw = mg.optim.AdamW([p])
    saved = mg.optim.Adam([q]).state_dict()
    adamw.load_state_dict(saved)
    assert adamw.param_groups[0]["decoupled_weight_decay"] is True
    del saved["param_groups"][0]["decoupled_weight_decay"], saved["param_groups"][0]["amsgrad"]
    adam = mg.optim.Adam([q])
    adam.load_state_dict(saved)                          # an old Adam state dict loads
    assert adam.param_groups[0]["decoupled_weight_decay"] is False
    # amsgrad on after a step: max_v starts then (PyTorch raises a KeyError here)
    q.grad = mg.ones(3)
    adam.step()
    adam.param_groups[0]["amsgrad"] = True
    adam.step()
    state = adam.state_dict()["state"][0]
    np.testing.assert_array_equal(state["max_exp_avg_sq"], state["exp_avg_sq"])
