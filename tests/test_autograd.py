"""The tape on its own: second-order gradients against hand-derived formulas, grad modes,
accumulation, retain_graph, hooks, the version counter, memory release, deep graphs,
dtypes and seeding."""
import re
import warnings

import numpy as np
import pytest
from conftest import make

import minigrad as mg
import minigrad.nn.functional as F


def assert_close(actual, expected, rtol=1e-10):
    actual = actual.numpy() if isinstance(actual, mg.Tensor) else actual
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-12)


# ----------------------------------------------------------------------- second order
def test_gradient_of_gradient_norm_matches_hand_derivation(device):
    """f = sum(x^3 w):  g = df/dx = 3 x^2 w,  h = ||g||^2,
    dh/dx = 2 g * dg/dx = 2 (3 x^2 w)(6 x w),   dh/dw = 2 g * 3 x^2."""
    x, w = make((2, 3), device, seed=0), make((2, 3), device, seed=1)
    (g,) = mg.grad((x ** 3 * w).sum(), x, create_graph=True)
    xs, ws = x.numpy(), w.numpy()
    assert_close(g, 3 * xs ** 2 * ws)
    dx, dw = mg.grad((g * g).sum(), [x, w])
    assert_close(dx, 2 * (3 * xs ** 2 * ws) * (6 * xs * ws))
    assert_close(dw, 2 * (3 * xs ** 2 * ws) * 3 * xs ** 2)


def test_third_derivative_of_tanh(device):
    """t = tanh x:  t' = 1 - t^2,  t'' = -2 t (1 - t^2),  t''' = (1 - t^2)(6 t^2 - 2)."""
    x = make((5,), device, seed=2)
    t = np.tanh(x.numpy())
    (d1,) = mg.grad(x.tanh().sum(), x, create_graph=True)
    (d2,) = mg.grad(d1.sum(), x, create_graph=True)
    (d3,) = mg.grad(d2.sum(), x)
    assert_close(d1, 1 - t ** 2)
    assert_close(d2, -2 * t * (1 - t ** 2))
    assert_close(d3, (1 - t ** 2) * (6 * t ** 2 - 2))


def test_backward_with_create_graph_gives_differentiable_grad(device):
    x = make((3,), device, seed=3)
    (x ** 3).sum().backward(create_graph=True)      # x.grad = 3 x^2, on the tape
    assert x.grad.requires_grad and x.grad.creator is not None
    (h,) = mg.grad(x.grad.sum(), x)
    assert_close(h, 6 * x.numpy())


def test_create_graph_false_builds_no_graph(device):
    x = make((2, 3), device, seed=4)
    (g,) = mg.grad((x ** 3).sum(), x)
    assert g.creator is None and not g.requires_grad
    (x.exp() * x).sum().backward()
    assert x.grad.creator is None and not x.grad.requires_grad
    (g2,) = mg.grad((x ** 3).sum(), x, create_graph=True)
    assert g2.creator is not None and g2.requires_grad


# ----------------------------------------------------------------------- accumulation, retain_graph
def test_repeated_backward_accumulates(device):
    x = make((3,), device, seed=5)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert_close(x.grad, 4 * x.numpy())
    (x * 3.0).sum().backward()                     # a new graph adds to it as well
    assert_close(x.grad, 4 * x.numpy() + 3)


def test_backward_inputs_fills_only_those_grads(device):
    """loss.backward(inputs=...) as PyTorch's: only the named tensors get .grad (the D
    step of a GAN can name D's parameters and leave G's .grad alone)."""
    a, b = make((3,), device, seed=40), make((3,), device, seed=41)
    unused = make((2,), device, seed=42)
    y = (a * a * b).sum()
    y.backward(inputs=[a, unused], retain_graph=True)
    assert_close(a.grad, 2 * a.numpy() * b.numpy())
    assert b.grad is None and unused.grad is None
    y.backward(inputs=b, retain_graph=True)          # a single tensor; adds like backward
    assert_close(b.grad, a.numpy() ** 2)
    assert_close(a.grad, 2 * a.numpy() * b.numpy())
    y.backward(inputs=[a, a])                        # named twice: added once
    assert_close(a.grad, 4 * a.numpy() * b.numpy())


def test_backward_inputs_non_leaf_stops_there(device):
    """A non-leaf among inputs gets its gradient in .grad, and the pass goes no further
    for it (a's .grad stays None), as in PyTorch."""
    a, b = make((3,), device, seed=43), make((3,), device, seed=44)
    h = a * 2
    (h * b).sum().backward(inputs=[h])
    assert_close(h.grad, b.numpy())
    assert a.grad is None and b.grad is None


def test_backward_inputs_non_leaf_gets_its_gradient_after_hooks_and_once(device):
    """As PyTorch: a non-leaf input's .grad is the gradient its hooks leave, stored once
    even when it also called retain_grad(); the retention is this pass's only."""
    x = make((3,), device, seed=49)
    y = x * 2
    y.register_hook(lambda g: g * 10)
    (y * y).sum().backward(inputs=[y])
    assert_close(y.grad, 10 * 2 * 2 * x.numpy())
    assert not y.retains_grad
    z = x * 2
    z.retain_grad()
    (z * z).sum().backward(inputs=[z])
    assert_close(z.grad, 2 * 2 * x.numpy())
    assert z.retains_grad and x.grad is None


def test_backward_inputs_runs_hooks_and_create_graph(device):
    a, b = make((3,), device, seed=45), make((3,), device, seed=46)
    a.register_hook(lambda g: g * 10)
    (a ** 3 * b).sum().backward(inputs=[a], create_graph=True)
    assert_close(a.grad, 10 * 3 * a.numpy() ** 2 * b.numpy())
    assert a.grad.requires_grad                      # on the tape: differentiable again
    (h,) = mg.grad(a.grad.sum(), b)
    assert_close(h, 30 * a.numpy() ** 2)


def test_autograd_backward_sums_several_outputs(device):
    a = make((3,), device, seed=47)
    y1, y2 = (a * a).sum(), a * 3
    mg.autograd.backward([y1, y2], [None, mg.ones(3, dtype=mg.float64, device=device)])
    assert_close(a.grad, 2 * a.numpy() + 3)


@pytest.mark.parametrize("inputs, error, words", [
    ([], RuntimeError, "inputs=[] asks for no gradient"),
    ("no grad", RuntimeError, "does not require grad"),
    ("array", TypeError, "backward: inputs must be a Tensor, got ndarray"),
])
def test_backward_inputs_bad_input(inputs, error, words):
    a = make((3,), "cpu", seed=48)
    if inputs == "no grad":
        inputs = [mg.zeros(3)]
    elif inputs == "array":
        inputs = [np.zeros(3)]
    y = (a * a).sum()
    with pytest.raises(error, match=re.escape(words)):
        y.backward(inputs=inputs)
    with pytest.raises(RuntimeError, match="2 tensors and 1 gradients"):
        mg.autograd.backward([y, y], [None])
    assert a.grad is None


def test_second_backward_without_retain_graph_raises(device):
    x = make((3,), device, seed=6)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        y.backward()


def test_retain_graph_keeps_saved_tensors_and_release_frees_them(device):
    x = make((3,), device, seed=7)
    y = x.exp() * x
    fn = y.creator
    y.sum().backward(retain_graph=True)
    assert not fn.released and fn.inputs is not None
    y.sum().backward()
    assert fn.released and getattr(fn, "inputs", None) is None
    assert getattr(fn, "_saved_versions", None) is None


def test_grad_does_not_touch_dot_grad(device):
    x = make((3,), device, seed=8)
    mg.grad((x * x).sum(), x)
    assert x.grad is None
    x.grad = mg.ones(3, dtype=mg.float64, device=device)
    mg.grad((x * x).sum(), x)
    assert_close(x.grad, np.ones(3))


def test_allow_unused(device):
    x, unused = make((3,), device, seed=9), make((2,), device, seed=10)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        mg.grad((x * x).sum(), [x, unused])
    gx, gu = mg.grad((x * x).sum(), [x, unused], allow_unused=True)
    assert_close(gx, 2 * x.numpy())
    assert gu is None


def test_grad_wrt_non_leaf_inputs(device):
    x = make((3,), device, seed=11)
    y = x * 2.0
    z = (y ** 2).sum()
    gy, gx = mg.grad(z, [y, x])
    assert_close(gy, 2 * y.numpy())
    assert_close(gx, 8 * x.numpy())


def test_grad_with_grad_outputs(device):
    x = make((2, 3), device, seed=12)
    v = make((2, 3), device, seed=13, requires_grad=False)
    (g,) = mg.grad(x * x, x, grad_outputs=v)
    assert_close(g, 2 * x.numpy() * v.numpy())


def test_backward_gradient_argument_is_not_aliased(device):
    x = make((3,), device, seed=14)
    v = mg.ones(3, dtype=mg.float64, device=device)
    (x + 1.0).backward(gradient=v)
    x.grad.zero_()                                  # .grad is safe to change in place
    assert_close(v, np.ones(3))


def test_leaf_grad_is_writable_after_broadcast_backward(device):
    x = make((2, 3), device, seed=15)
    x.sum().backward()                              # Sum's backward is a broadcast view
    x.grad.mul_(2.0)
    assert_close(x.grad, np.full((2, 3), 2.0))
    x.grad.zero_()
    assert_close(x.grad, np.zeros((2, 3)))


def test_leaf_reached_by_several_paths_gets_their_sum_in_its_own_memory(device):
    # x reaches the loss through three broadcast views (the gradients of the sums): the
    # engine adds them into an array of its own, which becomes x.grad without a copy
    x = make((2, 3), device, seed=40)
    w = make((2, 3), device, seed=41, requires_grad=False)
    loss = x.sum() + (2.0 * x).sum() + (x * w).sum()
    loss.backward()
    assert_close(x.grad, 3.0 + w.numpy())
    x.grad.mul_(2.0)                                # safe to change: nobody else holds it
    assert_close(x.grad, 6.0 + 2 * w.numpy())
    assert_close(w, make((2, 3), device, seed=41, requires_grad=False).numpy())
    loss2 = x.sum() + x.sum()                       # a second backward adds onto .grad
    loss2.backward()
    assert_close(x.grad, 8.0 + 2 * w.numpy())


def test_two_leaves_given_one_gradient_do_not_share_it(device):
    # Add's backward hands the same gy to both inputs; each .grad must be its own array
    a, b = make((3,), device, seed=42), make((3,), device, seed=43)
    ((a + b) * 1.0).sum().backward()
    a.grad.zero_()
    assert_close(b.grad, np.ones(3))


def test_a_hook_that_keeps_a_summed_gradient_keeps_it_unchanged(device):
    x = make((3,), device, seed=44)
    kept = []
    x.register_hook(kept.append)                    # keeps the tensor it is given
    (x.sum() + (3.0 * x).sum()).backward()          # two paths: the engine's own sum
    x.grad.zero_()                                  # .grad is a copy, not the kept tensor
    assert_close(kept[0], np.full(3, 4.0))
    assert_close(x.grad, np.zeros(3))


def _record_grads_returned(monkeypatch) -> dict:
    """{op name: the gradients its backward returned}, through the engine's trace hook."""
    from minigrad import autograd
    returned = {}
    monkeypatch.setattr(autograd, "_backward_trace",
                        lambda fn, grad_outs, grad_ins: returned.setdefault(fn.name, grad_ins))
    return returned


def test_layers_parameters_take_over_their_new_gradients(device, monkeypatch):
    # Conv2d, ConvTranspose2d (Conv2dDx), BatchNorm and Linear return their parameters'
    # gradients in new arrays (returns_new_grads): each becomes the parameter's .grad
    # without a copy (PyTorch's AccumulateGrad "steals" such a gradient), and is still a
    # tensor of its own, safe to change in place
    returned = _record_grads_returned(monkeypatch)
    x = make((2, 3, 6, 6), device, seed=60, requires_grad=False)
    w_up, b_up = make((3, 3, 2, 2), device, seed=61), make((3,), device, seed=62)
    w_conv, b_conv = make((4, 3, 3, 3), device, seed=63), make((4,), device, seed=64)
    gamma, beta = make((4,), device, seed=65), make((4,), device, seed=66)
    w_lin, b_lin = make((2, 4 * 12 * 12), device, seed=67), make((2,), device, seed=68)
    h = F.conv_transpose2d(x, w_up, b_up, stride=2)                        # (2, 3, 12, 12)
    h = F.batch_norm(F.conv2d(h, w_conv, b_conv, padding=1), None, None, gamma, beta,
                     training=True)                                       # (2, 4, 12, 12)
    y = F.linear(h.reshape(2, -1), w_lin, b_lin)                           # (2, 2)
    expected_sum = {}
    (y * y).sum().backward()
    layers = {"Conv2dDx": (w_up, b_up), "Conv2d": (w_conv, b_conv),
              "BatchNorm": (gamma, beta), "Linear": (w_lin, b_lin)}
    for name, params in layers.items():
        for p, g in zip(params, returned[name][1:]):
            assert p.grad is g, f"{name}: the parameter's .grad is a copy"
            expected_sum[id(p)] = float(p.grad.sum().item())
    w_conv.grad.zero_()
    for name, params in layers.items():                # nothing else shares that memory
        for p in params:
            if p is not w_conv:
                assert float(p.grad.sum().item()) == expected_sum[id(p)], name


class _PromisesNewGrads(mg.Function):
    """y = a * b, whose backward breaks returns_new_grads' promise in the way `mode` says:
    the engine's checks must catch it and copy."""
    returns_new_grads = True

    def __init__(self, mode):
        self.mode = mode

    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        if self.mode == "passes gy through":
            return gy, gy * 4.0
        if self.mode == "a view of gy":
            return gy.reshape(-1).reshape(gy.shape), gy * 4.0
        if self.mode == "gy detached":
            return gy.detach(), gy * 4.0
        if self.mode == "one array for both":
            g = gy * 1.0
            return g, g
        if self.mode == "two views of one array":
            g = gy * 1.0
            return g, g.reshape(-1).reshape(g.shape)
        xp = mg.backend.get_xp(gy.device)             # new, but column-major
        return (mg.Tensor._from_op(xp.asfortranarray(gy.data * 1.0), False),
                mg.Tensor._from_op(xp.asfortranarray(gy.data * 4.0), False))


@pytest.mark.parametrize("mode", ["passes gy through", "a view of gy", "gy detached",
                                  "one array for both", "two views of one array",
                                  "column-major"])
def test_a_broken_new_grads_promise_still_gives_each_leaf_its_own_grad(device, mode):
    a, b = make((2, 3), device, seed=69), make((2, 3), device, seed=70)
    c = make((2, 3), device, seed=71, requires_grad=False)
    _PromisesNewGrads(mode)(a, b).backward(c)           # gy is the caller's c itself
    scale_b = 1.0 if mode in ("one array for both", "two views of one array") else 4.0
    assert_close(a.grad, c.numpy())
    assert_close(b.grad, scale_b * c.numpy())
    assert a.grad.data.flags.c_contiguous and b.grad.data.flags.c_contiguous
    a.grad.zero_()                                   # b's .grad and c are untouched
    assert_close(b.grad, scale_b * c.numpy())
    assert_close(c, make((2, 3), device, seed=71, requires_grad=False).numpy())


def test_a_hook_that_removes_itself_still_gets_a_grad_of_its_own(device, monkeypatch):
    # The engine decides whether to copy by the hooks a leaf had, not by those left after
    # they ran: a one-shot hook that keeps its tensor must not find .grad sharing it
    returned = _record_grads_returned(monkeypatch)
    x = make((2, 3), device, seed=72, requires_grad=False)
    w = make((4, 3), device, seed=73)
    kept = []

    def keep_once(g):
        kept.append(g)
        handle.remove()

    handle = w.register_hook(keep_once)
    F.linear(x, w).sum().backward()
    assert kept[0] is returned["Linear"][1]          # the hook saw Linear's new array
    expected = kept[0].numpy().copy()
    w.grad.zero_()                                   # the kept tensor is untouched
    assert_close(kept[0], expected)
    assert not w._hooks


def test_with_create_graph_a_layers_new_gradient_is_still_cloned(device, monkeypatch):
    # returns_new_grads holds only for a backward that is not recorded: with
    # create_graph the gradient belongs to the graph, and .grad is a Clone of it
    returned = _record_grads_returned(monkeypatch)
    x = make((2, 3), device, seed=74, requires_grad=False)
    w = make((4, 3), device, seed=75)
    (F.linear(x, w) ** 2).sum().backward(create_graph=True)
    assert w.grad is not returned["Linear"][1] and w.grad.requires_grad
    assert type(w.grad.creator).__name__ == "Clone"
    # .grad = 2 (x w^T)^T x; the sum of its entries is 2 sum_n (x w^T)[n, :].sum() s_n with
    # s_n = x[n, :].sum(), whose derivative by w[o, j] is 2 sum_n x[n, j] s_n for every o
    (gg,) = mg.grad(w.grad.sum(), w)
    x_np = x.numpy()
    assert_close(gg, np.tile(2 * x_np.T @ x_np.sum(1), (4, 1)))


def test_summed_leaf_gradient_with_create_graph_is_differentiable(device):
    x = make((3,), device, seed=45)
    (x * x * x).sum().backward(create_graph=True)   # x reaches Mul twice: 3x^2, on the tape
    (g2,) = mg.grad(x.grad.sum(), x)
    assert_close(x.grad, 3 * x.numpy() ** 2)
    assert_close(g2, 6 * x.numpy())


def test_create_graph_gives_each_leaf_a_grad_of_its_own(device):
    # Add hands the same gradient to a and b; with create_graph each .grad must still be a
    # tensor of its own (zeroing one must not zero the other), and stay differentiable
    a, b = make((3,), device, seed=46), make((3,), device, seed=47)
    c = make((3,), device, seed=48, requires_grad=False)
    ((a + b) * c * a).sum().backward(create_graph=True)
    assert a.grad is not b.grad and b.grad.requires_grad
    (gb,) = mg.grad(b.grad.sum(), a)             # d/da of sum(c * a)
    assert_close(gb, c.numpy())
    with mg.no_grad():
        a.grad.zero_()
    assert_close(b.grad, c.numpy() * a.numpy())
    x = make((2, 3), device, seed=49)
    x.sum().backward(create_graph=True)          # Sum's backward is a read-only broadcast view
    with mg.no_grad():
        x.grad.mul_(2.0)
    assert_close(x.grad, np.full((2, 3), 2.0))


def test_create_graph_does_not_alias_the_callers_gradient(device):
    x = make((3,), device, seed=50)
    v = mg.full((3,), 5.0, dtype=mg.float64, device=device)
    x.backward(v, create_graph=True)
    assert x.grad is not v
    with mg.no_grad():
        v.mul_(0.0)
    assert_close(x.grad, np.full(3, 5.0))


def test_root_gradient_is_cast_to_the_outputs_dtype(device):
    x = mg.ones(3, device=device, requires_grad=True)                    # float32
    x.backward(mg.ones(3, dtype=mg.float64, device=device))
    assert x.grad.dtype == mg.float32
    y = x * 2.0
    (g,) = mg.grad(y, x, grad_outputs=mg.ones(3, dtype=mg.float64, device=device))
    assert g.dtype == mg.float32
    assert_close(g, np.full(3, 2.0))


def test_assigned_grad_must_match_shape_dtype_and_be_a_tensor(device):
    x = mg.ones(2, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="different size"):
        x.grad = mg.ones(3, device=device)
    with pytest.raises(RuntimeError, match="different type"):
        x.grad = mg.ones(2, dtype=mg.float64, device=device)
    with pytest.raises(TypeError, match="Tensor or None"):
        x.grad = np.ones(2, dtype=np.float32)
    assert x.grad is None
    x.grad = mg.ones(2, device=device)
    x.grad = None


def test_explicit_retain_graph_false_frees_the_graph_even_with_create_graph(device):
    x = make((3,), device, seed=51)
    y = (x * x).sum()
    y.backward(create_graph=True, retain_graph=False)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()
    y = (x * x).sum()                            # retain_graph defaults to create_graph
    y.backward(create_graph=True)
    y.backward()


def test_ops_that_hold_no_arrays_can_go_backward_again_after_release(device):
    # as in PyTorch: a reshape or a permute saves nothing, so the double backward of a
    # graph freed by retain_graph=False may still run through them
    x = make((2, 3), device, seed=52)
    y = mg.cat([x.reshape(6), x.permute(1, 0).reshape(6)]).to(mg.float32)
    (y.to(mg.float64) ** 3).sum().backward(create_graph=True, retain_graph=False)
    (gg,) = mg.grad(x.grad.sum(), x)
    assert_close(gg, 12 * x.numpy(), rtol=1e-6)


def test_a_second_backward_runs_through_ops_that_saved_nothing_only(device):
    """As in PyTorch: slicing, a scalar multiply or add, negation and a sum keep only
    bookkeeping, so backward may run through them twice (the gradients add up); an op
    that saved a tensor (x * x saves x) refuses the second pass after release."""
    x = make((4,), device, seed=53)
    y = (-(x * 3.0 + 1.0))[1:3].sum()
    y.backward()
    y.backward()
    assert_close(x.grad, np.array([0.0, -6.0, -6.0, 0.0]))
    z = (x * x)[0:2].sum()
    z.backward()
    with pytest.raises(RuntimeError, match=r"Mul.backward: trying to backward through the "
                                           r"graph a second time"):
        z.backward()
    w = x[np.array([0, 0])].sum()            # an index array: saved, so released as well
    w.backward()
    with pytest.raises(RuntimeError, match="a second time"):
        w.backward()


# ----------------------------------------------------------------------- hooks
def test_register_hook_on_leaf_can_replace_grad(device):
    x = make((3,), device, seed=16)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))   # observes (returns None)
    x.register_hook(lambda g: g * 10.0)                       # replaces
    (x * x).sum().backward()
    assert_close(seen[0], 2 * x.numpy())
    assert_close(x.grad, 20 * x.numpy())


def test_register_hook_on_non_leaf_changes_upstream(device):
    x = make((3,), device, seed=17)
    y = x * 3.0
    y.register_hook(lambda g: g * 0.0 + 1.0)    # dz/dy forced to 1
    (y * y).sum().backward()
    assert_close(x.grad, np.full(3, 3.0))


def test_register_hook_returns_a_handle_that_removes_it(device):
    x = make((3,), device, seed=19)
    y = x * 3.0
    leaf_handle = x.register_hook(lambda g: g * 10.0)
    inner_handle = y.register_hook(lambda g: g * 0.0)
    (y * 2.0).sum().backward()
    assert_close(x.grad, np.zeros(3))                 # both hooks ran
    leaf_handle.remove()
    inner_handle.remove()
    inner_handle.remove()                             # twice: nothing left to remove
    x.grad = None
    (x * 3.0 * 2.0).sum().backward()
    assert_close(x.grad, np.full(3, 6.0))
    once = []
    x.register_hook(lambda g: once.append(1))
    handle = x.register_hook(lambda g: handle.remove())   # a hook that removes itself
    x.grad = None
    (x * 1.0).sum().backward()
    (x * 1.0).sum().backward()
    assert once == [1, 1] and len(x._hooks) == 1


def test_retain_grad(device):
    x = make((3,), device, seed=18)
    y = x.exp()
    y.retain_grad()
    (y * y).sum().backward()
    assert_close(y.grad, 2 * np.exp(x.numpy()))
    x.retain_grad()                              # a leaf keeps its grad anyway
    assert x.grad is not None


def test_retain_grad_is_a_flag_and_sees_every_hook(device):
    x = make((3,), device, seed=53)
    y = x * 2.0
    y.retain_grad()
    y.retain_grad()                              # twice: still counted once
    y.register_hook(lambda g: g * 10.0)          # registered after retain_grad: it counts
    y.sum().backward(retain_graph=True)
    assert_close(y.grad, np.full(3, 10.0))
    assert_close(x.grad, np.full(3, 20.0))
    y.sum().backward()                           # a second backward adds on, like a leaf
    assert_close(y.grad, np.full(3, 20.0))
    assert y.retains_grad and not x.retains_grad


def test_retained_grad_is_a_copy_of_its_own(device):
    x = make((3,), device, seed=54)
    y1 = x * 2.0
    y2 = y1 + 0.0                                # AddScalar passes the same gradient on
    y1.retain_grad()
    y2.retain_grad()
    (y2 * 3.0).sum().backward()
    y2.grad.mul_(0.0)                            # writable, shared with nobody
    assert_close(y1.grad, np.full(3, 3.0))
    assert_close(x.grad, np.full(3, 6.0))
    z = x + 0.0                                  # Sum's backward: a read-only broadcast view
    z.retain_grad()
    z.sum().backward()
    z.grad.mul_(7.0)
    assert_close(x.grad, np.full(3, 7.0))


def test_retained_grad_with_create_graph_is_differentiable(device):
    x = make((3,), device, seed=55)
    y = x * 2.0
    y.retain_grad()
    (y * y).sum().backward(create_graph=True)    # y.grad = 2 y = 4 x
    assert y.grad.requires_grad
    (g,) = mg.grad(y.grad.sum(), x)
    assert_close(g, np.full(3, 4.0))


def test_hook_requires_grad(device):
    with pytest.raises(RuntimeError, match="does not require grad"):
        make((3,), device, requires_grad=False).register_hook(lambda g: g)


# ----------------------------------------------------------------------- grad modes, detach
def test_no_grad_enable_grad_nesting(device):
    x = make((3,), device, seed=19)
    assert mg.is_grad_enabled()
    with mg.no_grad():
        assert not (x * 2.0).requires_grad
        with mg.enable_grad():
            y = x * 2.0
            assert y.requires_grad and y.creator is not None
            with mg.no_grad():
                assert not mg.is_grad_enabled()
            assert mg.is_grad_enabled()
        assert not mg.is_grad_enabled()
        assert (x * 2.0).creator is None
    assert mg.is_grad_enabled()


def test_no_grad_restores_mode_after_an_exception():
    with pytest.raises(ValueError), mg.no_grad():
        raise ValueError
    assert mg.is_grad_enabled()


def test_no_grad_as_decorator(device):
    @mg.no_grad()
    def evaluate(x):
        return x * 2.0

    x = make((3,), device, seed=20)
    assert not evaluate(x).requires_grad and not evaluate(x).requires_grad
    assert mg.is_grad_enabled()


def test_no_grad_decorates_a_generator_function_each_time_it_resumes(device):
    """As in PyTorch: the mode holds inside the generator's code, and the caller's own
    mode holds between its steps; sent values, thrown exceptions and the return value
    pass through."""
    @mg.no_grad()
    def sample(x):
        sent = yield x * 2.0
        try:
            yield sent, mg.is_grad_enabled()
        except KeyError:
            yield "caught", mg.is_grad_enabled()
        return "done"

    x = make((3,), device, seed=21)
    steps = sample(x)
    assert not next(steps).requires_grad
    assert mg.is_grad_enabled() and (x * 2.0).requires_grad       # the caller's mode
    assert steps.send("hello") == ("hello", False)
    assert steps.throw(KeyError("k")) == ("caught", False)
    with pytest.raises(StopIteration) as stop:
        next(steps)
    assert stop.value.value == "done" and mg.is_grad_enabled()


def test_a_leaf_switched_off_after_the_graph_was_built_gets_no_grad(device):
    """As PyTorch's AccumulateGrad: requires_grad_(False) before backward means no .grad."""
    x, w = make((3,), device, seed=23), make((3,), device, seed=24)
    loss = (x * w).sum()
    x.requires_grad_(False)
    loss.backward()
    assert x.grad is None and w.grad is not None


def test_retain_grad_on_a_tensor_that_does_not_require_grad_is_an_error(device):
    x = make((3,), device, seed=25, requires_grad=False)
    with pytest.raises(RuntimeError, match="retain_grad: .* does not require grad"):
        (x * 2.0).retain_grad()


def test_the_same_leaf_asked_for_twice_runs_its_hooks_once(device):
    x = make((3,), device, seed=26)
    calls = []
    x.register_hook(lambda g: calls.append(1) or g * 2.0)
    first, second = mg.grad((x * x).sum(), [x, x])
    assert len(calls) == 1
    np.testing.assert_allclose(first.numpy(), 4.0 * x.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(first.numpy(), second.numpy())


def test_a_tensor_made_from_a_tensor_shares_its_version_counter(device):
    """mg.Tensor(t) is an alias of t's memory: a change through it must be seen by the
    ops that saved t, or their gradients would be silently wrong."""
    x = make((2,), device, seed=22)
    y = x * x
    alias = mg.Tensor(x)
    with mg.no_grad():
        alias.add_(10.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()


def test_set_grad_enabled_as_a_plain_call_switches_at_once(device):
    x = make((3,), device, seed=56)
    try:
        mg.set_grad_enabled(False)
        assert not mg.is_grad_enabled() and not (x * 2.0).requires_grad
    finally:
        mg.set_grad_enabled(True)
    assert mg.is_grad_enabled() and (x * 2.0).requires_grad
    with mg.set_grad_enabled(False):
        assert not (x * 2.0).requires_grad
    assert mg.is_grad_enabled()

    @mg.set_grad_enabled(False)                  # a decorator: off inside f only
    def f():
        return mg.is_grad_enabled()

    assert mg.is_grad_enabled() and f() is False and mg.is_grad_enabled()


def test_a_no_grad_object_can_be_used_twice(device):
    x = make((3,), device, seed=57)
    off = mg.no_grad()
    for _ in range(2):
        with off:
            assert not (x * 2.0).requires_grad
        assert mg.is_grad_enabled()
    on = mg.enable_grad()
    with off:
        for _ in range(2):
            with on:
                assert (x * 2.0).requires_grad
            assert not mg.is_grad_enabled()


def test_no_grad_and_enable_grad_decorate_with_or_without_parentheses(device):
    x = make((3,), device, seed=58)

    @mg.no_grad
    def bare(t):
        return t * 2.0

    @mg.no_grad()
    def called(t):
        return t * 2.0

    @mg.enable_grad
    def back_on(t):
        return t * 2.0

    assert not bare(x).requires_grad and not called(x).requires_grad
    assert bare.__name__ == "bare" and mg.is_grad_enabled()
    with mg.no_grad():
        assert back_on(x).requires_grad and not mg.is_grad_enabled()


def test_grad_wrt_a_non_leaf_is_taken_before_its_hooks(device):
    """As in PyTorch: mg.grad returns d out / d y as it reaches y; y's hook changes only
    what flows on from y (here into x)."""
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, device=device, requires_grad=True)
    y = x * 2.0
    y.register_hook(lambda g: g * 10.0)
    gy, gx = mg.grad((y * y).sum(), [y, x])
    np.testing.assert_allclose(gy.numpy(), [4.0, 8.0])           # 2 y, before the hook
    np.testing.assert_allclose(gx.numpy(), [80.0, 160.0])        # 10 * 2 y * 2


def test_detach(device):
    x = make((3,), device, seed=21)
    d = x.detach()
    assert not d.requires_grad and d.creator is None
    assert d.data is x.data                       # shares memory, as in PyTorch
    (d * x).sum().backward()                      # no gradient flows through d
    assert_close(x.grad, x.numpy())


# ----------------------------------------------------------------------- version counter
def data_iadd(y):
    y.data += 1                                   # in place on the array, then the setter


def data_replace(y):
    y.data = y.data * 2


@pytest.mark.parametrize("modify", [
    data_iadd, data_replace,
    lambda y: y.add_(1.0),
    lambda y: y.mul_(2.0),
    lambda y: y.reshape(-1).add_(1.0),          # through a view
    lambda y: y[0].fill_(0.0),                  # through a basic-index view
], ids=["data-iadd", "data-replace", "add_", "mul_", "view-add_", "index-fill_"])
def test_in_place_change_of_saved_tensor_raises(modify, device):
    x = make((2, 3), device, seed=22)
    y = x.exp()                                   # Exp saves its output y
    z = (y * 2.0).sum()
    with mg.no_grad():                            # (outside it, in-place on y is refused)
        modify(y)
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()


def test_optimizer_like_update_between_forward_and_backward_raises(device):
    w = make((3, 4), device, seed=23)
    x = make((2, 4), device, seed=24)
    out = (x @ w.T).sum()                         # MatMul saved w.T, a view of w
    with mg.no_grad():
        w.data -= 0.1                             # what an SGD step does
    with pytest.raises(RuntimeError, match="modified in place"):
        out.backward()


def test_in_place_change_of_unsaved_tensor_is_fine(device):
    x = make((3,), device, seed=25)
    y = x * 1.0
    z = (y + 1.0).sum()                           # AddScalar saves nothing
    with mg.no_grad():
        y.add_(5.0)
    z.backward()
    assert_close(x.grad, np.ones(3))


def test_in_place_on_a_computed_tensor_is_refused_in_grad_mode(device):
    """It would not be recorded: y[0] = 5 would leave d/dx_0 at 2 * 2 * y_0, not 0."""
    x = make((2,), device, seed=30)
    y = x * 2.0
    for modify in (lambda: y.__setitem__(0, 5.0), lambda: y.mul_(3.0),
                   lambda: y[0:1].fill_(0.0)):
        with pytest.raises(RuntimeError, match="not recorded for backward"):
            modify()
    with mg.no_grad():
        y[0] = 5.0                                # allowed: the caller opted out of grads


@pytest.mark.parametrize("write, op", [
    (lambda acc, v: acc.add_(v), "add_"),
    (lambda acc, v: acc.mul_(v), "mul_"),
    (lambda acc, v: acc.copy_(v), "copy_"),
    (lambda acc, v: acc.__setitem__(0, v.sum()), "__setitem__"),
    (lambda acc, v: acc.__setitem__(slice(None), v), "__setitem__"),
])
def test_in_place_write_of_a_value_that_requires_grad_is_refused(write, op, device):
    """Not recorded, its gradient would be lost: acc.add_(w * 2); (acc * w).sum() gave
    dw = 2 w instead of 4 w."""
    w = make((3,), device, seed=58)
    acc = mg.zeros(3, dtype=mg.float64, device=device)
    with pytest.raises(RuntimeError, match=f"{op}.*requires grad.*out-of-place"):
        write(acc, w * 2.0)
    assert_close(acc, np.zeros(3))               # refused before writing
    write(acc, (w * 2.0).detach())               # no gradient wanted: fine
    with mg.no_grad():
        write(acc, w * 2.0)


def test_setitem_reads_the_key_as_getitem_does(device):
    x = mg.zeros(2, 2, device=device)
    x[[[0, 1], [1, 0]]] = 1.0                    # a list of lists is a tuple: 2 elements
    assert_close(x, [[0.0, 1.0], [1.0, 0.0]])
    x = mg.zeros(2, 3, 4, dtype=mg.float64, device=device)
    value = mg.tensor(np.arange(6.0).reshape(3, 2), dtype=mg.float64, device=device)
    x[0, :, [1, 2]] = value                      # integer first: the slot is (3, 2)
    assert_close(x[0, :, [1, 2]], value.numpy())
    assert x.numpy().sum() == value.numpy().sum()
    x[1, ..., 0] = 7.0                           # basic keys as before
    x[x.data < 0] = 0.0
    assert_close(x[1, :, 0], np.full(3, 7.0))
    with pytest.raises(IndexError, match="setitem.*(2, 3, 4)"):
        x[0, :, [1, 9]] = 0.0


# ----------------------------------------------------------------------- graph shapes
def test_diamond_graph_accumulates(device):
    x = make((3,), device, seed=26)
    a, b = x * 2.0, x * 3.0
    ((a * b).sum() + (x * x).sum()).backward()    # 6 x^2 + x^2
    assert_close(x.grad, 14 * x.numpy())


def test_deep_chain_has_no_recursion_error(device):
    x = make((2,), device, seed=27)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.sum().backward()
    assert_close(x.grad, np.full(2, 1.0001 ** 5000), rtol=1e-9)
    z = x
    for _ in range(5000):
        z = z + 1.0
    (g,) = mg.grad(z.sum(), x)
    assert_close(g, np.ones(2))
    del z                                         # freeing a deep graph is fine too


# ----------------------------------------------------------------------- dtypes
FLOAT32_LINEAR = [  # linear, or linear piecewise: the gradient is a constant
    lambda x: x * 2.0 + 1.0, lambda x: 2.0 - x, lambda x: x / 3.0,
    lambda x: np.float64(2.0) * x, lambda x: x * np.float64(2.0), F.relu,
    lambda x: F.leaky_relu(x, 0.1), lambda x: x.clamp(-0.5, 0.5),
    lambda x: mg.where(x.data > 0, x, 0.0), lambda x: x.mean(0), lambda x: x.max(1).values,
    lambda x: F.dropout(x), lambda x: F.pad(x, (1, 1)), lambda x: x[[0, 0]],
    lambda x: F.l1_loss(x, x.detach() * 0.5),
]
FLOAT32_NONLINEAR = [  # the gradient depends on x: it has a derivative of its own
    lambda x: 1.0 / (x.abs() + 1.0), lambda x: (x.abs() + 1.0) ** 1.5, lambda x: 2.0 ** x,
    lambda x: x.exp().log(), lambda x: (x * x + 1.0).sqrt(), lambda x: x.tanh(),
    lambda x: x.sigmoid(), F.softplus, lambda x: x.var(1, unbiased=True),
    lambda x: F.softmax(x, 1), lambda x: F.log_softmax(x, 0), lambda x: x @ x.T,
    lambda x: F.mse_loss(x, x.detach() * 0.5),
    lambda x: F.binary_cross_entropy_with_logits(x, x.detach().sigmoid()),
    lambda x: F.binary_cross_entropy(x.sigmoid(), x.detach().sigmoid()),
    lambda x: F.cross_entropy(x, mg.tensor([0, 2], device=x.device)),
]


@pytest.mark.parametrize("fn, nonlinear", [(fn, False) for fn in FLOAT32_LINEAR]
                         + [(fn, True) for fn in FLOAT32_NONLINEAR],
                         ids=[f"linear{i}" for i in range(len(FLOAT32_LINEAR))]
                         + [f"nonlinear{i}" for i in range(len(FLOAT32_NONLINEAR))])
def test_float32_stays_float32_forward_and_backward(fn, nonlinear, device):
    """float32 in, float32 out, in the gradient and (for a nonlinear op, whose gradient
    must then be on the tape) in the second derivative."""
    x = mg.randn(2, 3, device=device, requires_grad=True)
    assert x.dtype == mg.float32
    y = fn(x)
    assert y.dtype == mg.float32
    (g,) = mg.grad(y.sum(), x, create_graph=True)
    assert g.dtype == mg.float32
    if nonlinear:                                 # g depends on x: on the tape, and ...
        assert g.requires_grad
    if g.requires_grad:                           # (a linear op's g is a constant)
        (gg,) = mg.grad((g * g).sum(), x, allow_unused=True)
        assert gg is not None or not nonlinear    # ... with a second derivative
        assert gg is None or gg.dtype == mg.float32


def test_mixed_precision_grads_in_each_inputs_dtype(device):
    a = mg.randn(2, 3, device=device, requires_grad=True)
    b = mg.randn(2, 3, dtype=mg.float64, device=device, requires_grad=True)
    y = a * b
    assert y.dtype == mg.float64
    y.sum().backward()
    assert a.grad.dtype == mg.float32 and b.grad.dtype == mg.float64
    np.testing.assert_allclose(a.grad.numpy(), b.numpy(), rtol=1e-6)


# ----------------------------------------------------------------------- seeding
def test_manual_seed_is_bit_for_bit_repeatable(device):
    def draw():
        x = mg.ones(4, 5, device=device)
        return [mg.randn(3, 4, device=device).numpy(), mg.rand(3, device=device).numpy(),
                F.dropout(x, 0.5).numpy(), mg.randn(2, dtype=mg.float64,
                                                    device=device).numpy()]

    mg.manual_seed(123)
    first = draw()
    mg.manual_seed(123)
    second = draw()
    for a, b in zip(first, second):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    mg.manual_seed(124)
    assert draw()[0].tobytes() != first[0].tobytes()


def test_a_seed_gives_the_same_numbers_on_every_device(device):
    """One generator feeds both devices, so its state (get_rng_state) is the whole random
    state of a run: a GPU run repeats a CPU run's noise and resumes from a checkpoint."""
    def draw(dev):
        x = mg.ones(3, 4, dtype=mg.float64, device=dev)
        return [mg.randn(2, 3, device=dev).numpy(), mg.rand(4, device=dev).numpy(),
                mg.randint(0, 10, (5,), device=dev).numpy(), F.dropout(x, 0.5).numpy(),
                mg.zeros(3, device=dev).normal_(1.0, 2.0).numpy(),
                mg.zeros(3, device=dev).uniform_(-1.0, 1.0).numpy()]

    mg.manual_seed(7)
    on_cpu = draw("cpu")
    mg.manual_seed(7)
    state = mg.backend.get_rng_state()
    on_device = draw(device)
    for a, b in zip(on_cpu, on_device):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    mg.manual_seed(99)
    mg.backend.set_rng_state(state)
    assert draw(device)[0].tobytes() == on_cpu[0].tobytes()


def test_gradcheck_of_a_function_that_takes_a_gradient(device):
    """A WGAN-GP-style penalty, (||d critic / d x|| - 1)^2, differentiated w.r.t. the
    critic's weights and the input: gradcheck must keep the tape on for fn's own mg.grad."""
    w, x = make((3, 2), device, seed=28), make((4, 3), device, seed=29)

    def penalty(w, x):
        (g,) = mg.grad((x @ w).tanh().sum(), x, create_graph=True)
        return (((g * g).sum(1).sqrt() - 1.0) ** 2).mean()

    assert mg.gradcheck(penalty, [w, x])


def test_gradcheck_and_gradgradcheck_refuse_a_nan_gradient():
    """A nan gradient is wrong, not "within tolerance": |nan - numerical| > tol is False,
    so a check written as 'error > tol' would pass it. Both checks must fail, and name
    the element."""
    class NanGrad(mg.autograd.Function):
        def forward(self, x):
            return x * 2.0

        def backward(self, gy):
            return gy * float("nan")              # (the true one is 2 gy)

    class NanSecond(mg.autograd.Function):    # right first derivative, nan second one
        def forward(self, x):
            return x * x

        def backward(self, gy):
            (x,) = self.inputs
            return gy * NanGrad()(x)

    x = mg.tensor([0.5, -1.0], dtype=mg.float64, requires_grad=True)
    with pytest.raises(mg.GradcheckError, match=r"index \(0,\): analytical nan, numerical"):
        mg.gradcheck(lambda t: NanGrad()(t), [x])
    assert mg.gradcheck(lambda t: t * t, [x])
    with pytest.raises(mg.GradcheckError, match="gradgradcheck.*analytical nan"):
        mg.gradgradcheck(lambda t: NanSecond()(t), [x])


def test_review_fixes_parameter_alias_and_hooks_of_a_switched_off_leaf(device):
    """nn.Parameter(t) shares t's version counter as mg.Tensor(t) does; a leaf switched off
    after its graph was built still runs its hooks (PyTorch skips only the .grad)."""
    import minigrad.nn as nn

    a, w = make((2,), device, seed=27), make((2,), device, seed=28, requires_grad=False)
    loss = (a * w).sum()
    param = nn.Parameter(w)
    with mg.no_grad():
        param.mul_(3.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()
    x = make((2,), device, seed=29)
    calls = []
    x.register_hook(lambda g: calls.append(1))
    y = (x * 2.0).sum()
    x.requires_grad_(False)
    y.backward()
    assert calls == [1] and x.grad is None


def test_pytorch_idioms_around_the_tensor():
    # f"{loss:.4f}", detach_(), `.data =` checks, mg.grad(..., only_inputs=True)
    loss = mg.tensor(0.123456)
    assert f"{loss:.4f}" == "0.1235" and f"{loss}" == format(loss.item())
    with pytest.raises(TypeError):
        f"{mg.zeros(2):.2f}"                                  # as PyTorch: 0-d only
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    assert y.detach_() is y and y.is_leaf and not y.requires_grad
    assert y.numpy().tolist() == [3.0, 6.0]
    with pytest.raises(TypeError, match="requires grad must hold floating point"):
        x.data = np.array([1, 2])
    with pytest.raises(TypeError, match="expected an array .* got list"):
        x.data = [1.0, 2.0]
    s = mg.tensor(2.0)
    s.data = s.data - 1.0                          # numpy's 0-d arithmetic gives a scalar
    assert s.item() == 1.0 and isinstance(s.data, np.ndarray)
    g, = mg.grad((x * x).sum(), x, create_graph=True, retain_graph=True, only_inputs=True)
    assert g.numpy().tolist() == [2.0, 4.0]
    unused = mg.tensor([1.0], requires_grad=True)            # API.md's order: allow_unused 6th
    assert mg.grad((x * x).sum(), [x, unused], None, None, False, True)[1] is None
    with pytest.raises(NotImplementedError, match="is_grads_batched"):
        mg.grad((x * x).sum(), x, is_grads_batched=True)


def test_reading_the_grad_of_a_non_leaf_warns_as_pytorch():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    y.sum().backward()
    with pytest.warns(UserWarning, match=r"computed by MulScalar \(not a leaf\).*retain_grad"):
        assert y.grad is None
    z = x * 3.0
    z.retain_grad()
    z.sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")                # kept: no warning, and a value
        assert z.grad.numpy().tolist() == [1.0, 1.0]
        assert x.grad.numpy().tolist() == [5.0, 5.0]


def test_set_default_dtype_runs_a_script_in_float64(device):
    """Everything made without a dtype follows it: tensors of floats, zeros, randn,
    arange, layers' parameters and buffers, and so what they compute; integers keep
    int64; the repr leaves the default unsaid, as PyTorch's."""
    assert mg.get_default_dtype() is mg.float32
    mg.set_default_dtype(mg.float64)
    made = [mg.tensor([1.5]), mg.zeros(2, device=device), mg.randn(2), mg.arange(2.0),
            mg.full((2,), 0.5), mg.ones(1), mg.empty(1), mg.nn.Linear(2, 2).weight,
            mg.nn.BatchNorm2d(2).running_var]
    assert [t.dtype for t in made] == [mg.float64] * len(made)
    conv = mg.nn.Conv2d(2, 3, 3).to(device)
    assert conv(mg.randn(1, 2, 5, 5, device=device)).dtype == mg.float64
    assert mg.tensor([1]).dtype == mg.int64 and repr(mg.zeros(1)) == "tensor([0.])"
    mg.set_default_dtype(mg.float32)
    assert mg.zeros(1).dtype == mg.float32
    assert repr(mg.zeros(1, dtype=mg.float64)) == "tensor([0.], dtype=float64)"
    with pytest.raises(TypeError, match="only float32 and float64 are supported, got int64"):
        mg.set_default_dtype(mg.int64)
