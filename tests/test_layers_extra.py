"""Tests for the module wrappers that PyTorch GAN code expects: the losses (MSELoss, L1Loss,
BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss), Softmax, LogSoftmax, Softplus,
AdaptiveAvgPool2d and ModuleDict. Each module must give exactly what its functional form
gives, values and gradients; the losses' weight buffers must live in state_dict() and move
with to(); and where PyTorch is installed, the values, reprs and defaults must be its."""
import warnings
from collections import OrderedDict

import numpy as np
import pytest
from conftest import make

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F


def _const(values, device, dtype=mg.float64, requires_grad=False):
    return mg.tensor(np.asarray(values), dtype=dtype, device=device,
                     requires_grad=requires_grad)


def _labels(values, device):
    return mg.tensor(np.asarray(values, dtype=np.int64), device=device)


def _probabilities(shape, device, seed):
    """A leaf of values in (0, 1): a sigmoid of standard normals."""
    values = np.random.default_rng(seed).standard_normal(shape)
    return _const(1 / (1 + np.exp(-values)), device, requires_grad=True)


def _value_and_grads(fn, leaves, seed=123):
    """fn(*leaves) and its gradients w.r.t. the leaves that require grad, for random
    grad_outputs (a fixed seed, so two calls can be compared exactly)."""
    y = fn(*leaves)
    g = np.random.default_rng(seed).standard_normal(y.shape)
    g = mg.tensor(g, dtype=y.dtype, device=y.device)
    wrt = [leaf for leaf in leaves if isinstance(leaf, mg.Tensor) and leaf.requires_grad]
    return y.numpy(), [grad.numpy() for grad in mg.grad(y, wrt, grad_outputs=g)]


def _assert_same(module_fn, functional_fn, leaves):
    """The module and the functional form agree exactly: values and every gradient."""
    y_module, grads_module = _value_and_grads(module_fn, leaves)
    y_functional, grads_functional = _value_and_grads(functional_fn, leaves)
    np.testing.assert_array_equal(y_module, y_functional)
    assert len(grads_module) == len(grads_functional) > 0
    for got, expected in zip(grads_module, grads_functional):
        assert np.all(np.isfinite(got))
        np.testing.assert_array_equal(got, expected)
    return y_module, grads_module


# ------------------------------------------------------------------ losses
REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_and_l1_loss_equal_the_functional_forms(device, reduction):
    x, t = make((3, 4), device, seed=1), make((3, 4), device, seed=2)
    for module, functional in [(nn.MSELoss, F.mse_loss), (nn.L1Loss, F.l1_loss)]:
        criterion = module(reduction=reduction)
        assert criterion.reduction == reduction
        y, (dx, dt) = _assert_same(criterion, lambda a, b: functional(a, b, reduction=reduction),
                                   [x, t])
        assert y.shape == ((3, 4) if reduction == "none" else ())
        np.testing.assert_array_equal(dx, -dt)           # the loss depends on x - t only
    # and the values are the formulas
    diff = x.numpy() - t.numpy()
    np.testing.assert_allclose(nn.MSELoss()(x, t).numpy(), np.mean(diff ** 2), rtol=1e-12)
    np.testing.assert_allclose(nn.L1Loss(reduction="sum")(x, t).numpy(),
                               np.abs(diff).sum(), rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_loss_equals_the_functional_form(device, reduction):
    p = _probabilities((3, 4), device, seed=3)
    t = _probabilities((3, 4), device, seed=4)
    weight = _const([0.5, 1.0, 2.0, 3.0], device)             # broadcast over the rows
    for w in (None, weight):
        criterion = nn.BCELoss(weight=w, reduction=reduction)
        _assert_same(criterion, lambda a, b: F.binary_cross_entropy(
            a, b, weight=w, reduction=reduction), [p, t])
    pv, tv, wv = p.numpy(), t.numpy(), weight.numpy()
    expected = -wv * (tv * np.log(pv) + (1 - tv) * np.log(1 - pv))
    np.testing.assert_allclose(nn.BCELoss(weight, reduction="none")(p, t).numpy(), expected,
                               rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_loss_equals_the_functional_form(device, reduction):
    x, t = make((3, 4), device, seed=5), _probabilities((3, 4), device, seed=6)
    weight = _const([[0.5], [1.0], [2.0]], device)             # one per row
    pos_weight = _const([1.0, 2.0, 3.0, 0.5], device)          # one per class (last dim)
    for w, pw in [(None, None), (weight, None), (None, pos_weight), (weight, pos_weight)]:
        criterion = nn.BCEWithLogitsLoss(weight=w, reduction=reduction, pos_weight=pw)
        _assert_same(criterion, lambda a, b: F.binary_cross_entropy_with_logits(
            a, b, weight=w, reduction=reduction, pos_weight=pw), [x, t])
    # pos_weight changes the value (so it really is passed on)
    plain = nn.BCEWithLogitsLoss()(x, t).numpy()
    weighted = nn.BCEWithLogitsLoss(pos_weight=pos_weight)(x, t).numpy()
    assert abs(plain - weighted) > 1e-3


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_and_nll_loss_equal_the_functional_forms(device, reduction):
    x = make((5, 4), device, seed=7)
    labels = _labels([0, 3, 1, 2, 1], device)
    weight = _const([1.0, 2.0, 0.5, 3.0], device)
    for w in (None, weight):
        for ignore_index in (-100, 1):
            for smoothing in (0.0, 0.2):
                criterion = nn.CrossEntropyLoss(weight=w, ignore_index=ignore_index,
                                                reduction=reduction,
                                                label_smoothing=smoothing)
                _assert_same(lambda a: criterion(a, labels), lambda a: F.cross_entropy(
                    a, labels, weight=w, ignore_index=ignore_index, reduction=reduction,
                    label_smoothing=smoothing), [x])
            criterion = nn.NLLLoss(weight=w, ignore_index=ignore_index, reduction=reduction)
            y, _ = _assert_same(lambda a: criterion(F.log_softmax(a, 1), labels),
                                lambda a: F.nll_loss(F.log_softmax(a, 1), labels, weight=w,
                                                     ignore_index=ignore_index,
                                                     reduction=reduction), [x])
            # NLLLoss after log_softmax is CrossEntropyLoss
            np.testing.assert_allclose(y, nn.CrossEntropyLoss(
                w, ignore_index=ignore_index, reduction=reduction)(x, labels).numpy(),
                rtol=1e-12)
    # class probabilities as targets (the target gets a gradient too); (N, C, H, W) input
    probabilities = _const(np.full((5, 4), 0.25), device, requires_grad=True)
    _assert_same(nn.CrossEntropyLoss(reduction=reduction),
                 lambda a, b: F.cross_entropy(a, b, reduction=reduction), [x, probabilities])
    images = make((2, 3, 2, 2), device, seed=8)
    pixel_labels = _labels(np.arange(8).reshape(2, 2, 2) % 3, device)
    _assert_same(lambda a: nn.CrossEntropyLoss(reduction=reduction)(a, pixel_labels),
                 lambda a: F.cross_entropy(a, pixel_labels, reduction=reduction), [images])


def test_ignore_index_and_weight_change_the_value(device):
    """The arguments reach the functional form: each one changes the loss as it should."""
    x = make((4, 3), device, seed=9)
    labels = _labels([0, 1, 2, 1], device)
    log_p = F.log_softmax(x, 1).numpy()
    picked = -log_p[np.arange(4), [0, 1, 2, 1]]
    np.testing.assert_allclose(nn.CrossEntropyLoss()(x, labels).numpy(), picked.mean(),
                               rtol=1e-12)
    np.testing.assert_allclose(nn.CrossEntropyLoss(ignore_index=1)(x, labels).numpy(),
                               picked[[0, 2]].mean(), rtol=1e-12)
    w = np.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose(nn.NLLLoss(_const(w, device))(F.log_softmax(x, 1), labels)
                               .numpy(), (w[[0, 1, 2, 1]] * picked).sum() / w[[0, 1, 2, 1]].sum(),
                               rtol=1e-12)


def test_the_deprecated_size_average_and_reduce_set_the_reduction():
    cases = [({"size_average": False}, "sum"), ({"reduce": False}, "none"),
             ({"size_average": True, "reduce": True}, "mean"),
             ({"size_average": False, "reduce": False}, "none")]
    for kwargs, expected in cases:
        for loss in (nn.MSELoss, nn.L1Loss, nn.BCELoss, nn.BCEWithLogitsLoss,
                     nn.CrossEntropyLoss, nn.NLLLoss):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                criterion = loss(**kwargs)
            assert criterion.reduction == expected, (loss, kwargs)
            assert len(caught) == 1 and caught[0].category is DeprecationWarning
            assert loss.__name__ in str(caught[0].message)
            assert caught[0].filename == __file__          # it names the caller's line
    x, t = make((2, 3), seed=10), make((2, 3), seed=11)
    with pytest.warns(DeprecationWarning):
        criterion = nn.MSELoss(size_average=False)
    np.testing.assert_array_equal(criterion(x, t).numpy(),
                                  F.mse_loss(x, t, reduction="sum").numpy())
    with pytest.raises(ValueError, match="reduction must be"):
        nn.L1Loss(reduction="average")
    with pytest.raises(TypeError, match="reduction='sum'"):
        nn.MSELoss("sum")                      # PyTorch's first argument is size_average


def test_arguments_in_pytorchs_order():
    w, pw = mg.ones(3), mg.ones(3) * 2
    criterion = nn.CrossEntropyLoss(w, None, 2, None, "sum", 0.1)
    assert (criterion.weight is w and criterion.ignore_index == 2
            and criterion.reduction == "sum" and criterion.label_smoothing == 0.1)
    criterion = nn.NLLLoss(w, None, 5, None, "none")
    assert criterion.weight is w and criterion.ignore_index == 5 and criterion.reduction == "none"
    criterion = nn.BCEWithLogitsLoss(w, None, None, "sum", pw)
    assert criterion.weight is w and criterion.pos_weight is pw and criterion.reduction == "sum"
    criterion = nn.BCELoss(w, None, None, "none")
    assert criterion.weight is w and criterion.reduction == "none"
    for loss in (nn.CrossEntropyLoss(), nn.NLLLoss()):
        assert loss.ignore_index == -100 and loss.reduction == "mean" and loss.weight is None
    assert nn.CrossEntropyLoss().label_smoothing == 0.0
    assert nn.BCEWithLogitsLoss().pos_weight is None
    assert repr(nn.BCELoss()) == "BCELoss()" and repr(nn.NLLLoss(w)) == "NLLLoss()"


def test_weight_buffers_are_in_state_dict_and_move_with_to(device):
    weight, pos_weight = mg.tensor([[0.5], [2.0]]), mg.tensor([1.0, 3.0, 0.25])
    criterion = nn.BCEWithLogitsLoss(weight=weight, pos_weight=pos_weight)
    assert list(criterion.state_dict()) == ["weight", "pos_weight"]
    assert [name for name, _ in criterion.named_buffers()] == ["weight", "pos_weight"]
    assert list(criterion.parameters()) == []                # buffers, not learned
    np.testing.assert_array_equal(criterion.state_dict()["pos_weight"].numpy(),
                                  [1.0, 3.0, 0.25])
    # a None buffer is allowed, and left out of state_dict
    assert nn.BCEWithLogitsLoss(weight=weight).pos_weight is None
    assert list(nn.BCEWithLogitsLoss(weight=weight).state_dict()) == ["weight"]
    assert list(nn.BCELoss().state_dict()) == [] and nn.BCELoss().weight is None
    for loss in (nn.BCELoss, nn.CrossEntropyLoss, nn.NLLLoss):
        assert list(loss(weight=pos_weight).state_dict()) == ["weight"]
    with pytest.raises(TypeError, match="must be a Tensor or None"):
        nn.BCELoss(weight=[1.0, 2.0])                       # PyTorch wants a Tensor too

    # to(device) moves the buffers in place, then the loss runs on that device
    assert criterion.to(device) is criterion
    assert criterion.weight.device == device and criterion.pos_weight.device == device
    x, t = make((2, 3), device, seed=12), _probabilities((2, 3), device, seed=13)
    on_device = (_const(weight.numpy(), device, mg.float32),
                 _const(pos_weight.numpy(), device, mg.float32))
    _assert_same(criterion, lambda a, b: F.binary_cross_entropy_with_logits(
        a, b, weight=on_device[0], pos_weight=on_device[1]), [x, t])
    # to(dtype) casts them; load_state_dict fills them; a parent names them with a prefix
    criterion.to(mg.float64)
    assert criterion.weight.dtype == np.float64 and criterion.pos_weight.dtype == np.float64
    fresh = nn.BCEWithLogitsLoss(weight=mg.zeros(2, 1, dtype=mg.float64),
                                 pos_weight=mg.zeros(3, dtype=mg.float64)).to(device)
    fresh.load_state_dict(criterion.state_dict())
    np.testing.assert_array_equal(fresh.pos_weight.numpy(), [1.0, 3.0, 0.25])

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)
            self.criterion = nn.CrossEntropyLoss(weight=mg.tensor([1.0, 4.0]))

    assert list(Classifier().state_dict()) == ["fc.weight", "fc.bias", "criterion.weight"]
    classifier = Classifier().to(device)
    assert classifier.criterion.weight.device == device


def test_a_weighted_loss_trains_a_classifier(device):
    """End to end: the module's loss backpropagates into a Linear layer's parameters."""
    mg.manual_seed(0)
    model = nn.Linear(4, 3).to(device).double()
    criterion = nn.CrossEntropyLoss(weight=mg.tensor([1.0, 2.0, 1.0])).to(device)
    x, labels = make((6, 4), device, requires_grad=False, seed=14), _labels(
        [0, 1, 2, 0, 1, 2], device)
    optimizer = mg.optim.SGD(model.parameters(), lr=0.5)
    first = None
    for _ in range(30):
        optimizer.zero_grad()
        loss = criterion(model(x), labels)
        loss.backward()
        optimizer.step()
        first = float(loss.numpy()) if first is None else first
    assert model.weight.grad is not None
    assert float(loss.numpy()) < 0.5 * first


# ------------------------------------------------------------------ activations, pooling
def test_softmax_log_softmax_and_softplus_equal_the_functional_forms(device):
    x = make((2, 3, 4), device, seed=15)
    for dim in (0, 1, 2, -1):
        y, _ = _assert_same(nn.Softmax(dim), lambda a: F.softmax(a, dim), [x])
        np.testing.assert_allclose(y.sum(axis=dim), 1.0, rtol=1e-12)
        log_y, _ = _assert_same(nn.LogSoftmax(dim=dim), lambda a: F.log_softmax(a, dim), [x])
        np.testing.assert_allclose(log_y, np.log(y), rtol=1e-10, atol=1e-12)
    for beta, threshold in [(1.0, 20.0), (2.0, 1.0), (0.5, 0.5)]:
        y, _ = _assert_same(nn.Softplus(beta, threshold),
                            lambda a: F.softplus(a, beta, threshold), [x])
        xv = x.numpy()
        expected = np.where(beta * xv > threshold, xv, np.log1p(np.exp(beta * xv)) / beta)
        np.testing.assert_allclose(y, expected, rtol=1e-12)
    defaults = nn.Softplus()
    assert (defaults.beta, defaults.threshold) == (1.0, 20.0)


def test_softmax_without_dim_warns_at_the_callers_line(device):
    x = make((3, 4), device, seed=16)
    for module, functional in [(nn.Softmax(), F.softmax), (nn.LogSoftmax(), F.log_softmax)]:
        assert module.dim is None
        with pytest.warns(UserWarning, match="implicit choice of dim") as caught:
            y = module(x)
        assert caught[0].filename == __file__             # this line, not minigrad's
        np.testing.assert_array_equal(y.numpy(), functional(x, 1).numpy())   # dim 1 for 2-D
    vector = make((4,), device, seed=17)                   # 1-D: PyTorch's rule picks dim 0
    with pytest.warns(UserWarning, match="picked dim=0"):
        np.testing.assert_allclose(nn.Softmax()(vector).numpy().sum(), 1.0, rtol=1e-12)


@pytest.mark.parametrize("output_size", [1, 2, (2, 3), (None, 2), (3, None)])
def test_adaptive_avg_pool2d_equals_the_functional_form(device, output_size):
    x = make((2, 3, 5, 6), device, seed=18)
    pool = nn.AdaptiveAvgPool2d(output_size)
    y, _ = _assert_same(pool, lambda a: F.adaptive_avg_pool2d(a, output_size), [x])
    size = (output_size, output_size) if isinstance(output_size, int) else output_size
    assert y.shape == (2, 3, size[0] or 5, size[1] or 6)
    if output_size == 1:                                   # global average pooling
        np.testing.assert_allclose(y[..., 0, 0], x.numpy().mean(axis=(2, 3)), rtol=1e-12)
    image = make((3, 5, 6), device, seed=19)               # one image, no batch dim
    np.testing.assert_array_equal(pool(image).numpy(),
                                  F.adaptive_avg_pool2d(image, output_size).numpy())
    assert repr(pool) == f"AdaptiveAvgPool2d(output_size={output_size})"


def test_reprs():
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"
    assert repr(nn.LogSoftmax()) == "LogSoftmax(dim=None)"
    assert repr(nn.Softplus(2, 5)) == "Softplus(beta=2, threshold=5)"
    assert repr(nn.MSELoss()) == "MSELoss()"
    assert repr(nn.CrossEntropyLoss(label_smoothing=0.1)) == "CrossEntropyLoss()"


# ------------------------------------------------------------------ ModuleDict
def _blocks():
    return nn.ModuleDict({"encoder": nn.Linear(3, 4), "act": nn.ReLU(),
                          "decoder": nn.Linear(4, 2)})


def test_module_dict_registers_its_modules(device):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = _blocks()
            self.head = nn.BatchNorm1d(2)

        def forward(self, x):
            for block in self.blocks.values():
                x = block(x)
            return self.head(x)

    net = Net()
    assert list(net.state_dict()) == [
        "blocks.encoder.weight", "blocks.encoder.bias", "blocks.decoder.weight",
        "blocks.decoder.bias", "head.weight", "head.bias", "head.running_mean",
        "head.running_var", "head.num_batches_tracked"]
    blocks = net.blocks
    assert [p is q for p, q in zip(net.parameters(), [
        blocks["encoder"].weight, blocks["encoder"].bias, blocks["decoder"].weight,
        blocks["decoder"].bias, net.head.weight, net.head.bias])] == [True] * 6
    assert len(list(net.parameters())) == 6
    net.eval()
    assert not any(m.training for m in blocks.values()) and not blocks.training
    net.train()
    assert all(m.training for m in blocks.values())
    net.to(device)
    assert all(p.device == device for p in net.parameters())
    out = net(make((5, 3), device, requires_grad=False, seed=20).to_dtype(mg.float32))
    out.sum().backward()
    assert blocks["encoder"].weight.grad is not None
    assert blocks["encoder"].weight.grad.shape == (4, 3)
    assert repr(blocks).startswith("ModuleDict(\n  (encoder): Linear(in_features=3")
    with pytest.raises(NotImplementedError, match="ModuleDict has no forward"):
        blocks(out)


def test_module_dict_mapping_api():
    blocks = _blocks()
    assert len(blocks) == 3
    assert list(blocks) == ["encoder", "act", "decoder"]      # insertion order
    assert list(blocks.keys()) == ["encoder", "act", "decoder"]
    assert [type(m).__name__ for m in blocks.values()] == ["Linear", "ReLU", "Linear"]
    assert [(k, v) for k, v in blocks.items()] == list(zip(blocks.keys(), blocks.values()))
    assert "act" in blocks and "missing" not in blocks and 0 not in blocks
    assert isinstance(blocks["act"], nn.ReLU) and blocks.act is blocks["act"]
    with pytest.raises(KeyError):
        blocks["missing"]

    # replacing keeps the position (as a dict and PyTorch's ModuleDict do)
    tanh = nn.Tanh()
    blocks["act"] = tanh
    assert list(blocks) == ["encoder", "act", "decoder"] and blocks["act"] is tanh
    # deletion and pop remove the module from every traversal
    del blocks["act"]
    assert list(blocks) == ["encoder", "decoder"] and "act" not in blocks
    assert not hasattr(blocks, "act")
    with pytest.raises(KeyError):
        del blocks["act"]
    decoder = blocks.pop("decoder")
    assert isinstance(decoder, nn.Linear) and list(blocks) == ["encoder"]
    assert list(blocks.state_dict()) == ["encoder.weight", "encoder.bias"]
    assert len(list(blocks.parameters())) == 2
    with pytest.raises(KeyError):
        blocks.pop("decoder")
    blocks.clear()
    assert len(blocks) == 0 and list(blocks.parameters()) == [] and blocks.state_dict() == {}

    # update from a dict, an OrderedDict, a ModuleDict, or (key, module) pairs, in order
    blocks.update({"b": nn.ReLU(), "a": nn.Tanh()})
    blocks.update(OrderedDict([("d", nn.Sigmoid())]))
    blocks.update(nn.ModuleDict({"c": nn.Linear(1, 1)}))
    blocks.update([("e", nn.Identity()), ["f", nn.Flatten()]])
    assert list(blocks) == ["b", "a", "d", "c", "e", "f"]
    assert list(blocks.state_dict()) == ["c.weight", "c.bias"]
    assert list(nn.ModuleDict([("x", nn.ReLU()), ("y", nn.Tanh())])) == ["x", "y"]
    assert len(nn.ModuleDict()) == 0


def test_module_dict_rejects_bad_keys_and_arguments():
    blocks = nn.ModuleDict()
    for key in (0, 1.5, ("a",), None):
        with pytest.raises(TypeError, match="ModuleDict keys must be strings"):
            blocks[key] = nn.ReLU()
        with pytest.raises(TypeError, match="ModuleDict keys must be strings"):
            nn.ModuleDict({key: nn.ReLU()})
        with pytest.raises(TypeError, match="ModuleDict keys must be strings"):
            nn.ModuleDict([(key, nn.ReLU())])
    assert len(blocks) == 0                                  # nothing was registered
    for name in ("a.b", ""):
        with pytest.raises(KeyError, match="without '.'"):
            blocks[name] = nn.ReLU()
    with pytest.raises(KeyError, match="already exists"):
        blocks["training"] = nn.ReLU()                      # an attribute of every Module
    with pytest.raises(TypeError, match="must be a Module or None"):
        blocks["a"] = mg.ones(2)
    with pytest.raises(TypeError, match="takes a mapping or an iterable"):
        blocks.update(3)
    with pytest.raises(TypeError, match="takes a mapping or an iterable"):
        nn.ModuleDict("ab")
    with pytest.raises(TypeError, match="element #1 should be a .key, module. pair"):
        blocks.update([("a", nn.ReLU()), 5])
    with pytest.raises(ValueError, match="element #0 has length 3"):
        blocks.update([("a", nn.ReLU(), nn.Tanh())])
    assert list(blocks) == ["a"]          # pairs before the bad one went in, as in PyTorch


# ------------------------------------------------------------------ against PyTorch
def test_values_gradients_reprs_and_defaults_match_pytorch():
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    rng = np.random.default_rng(21)
    x_np, t_np = rng.standard_normal((4, 3)), rng.uniform(0.05, 0.95, (4, 3))
    p_np = 1 / (1 + np.exp(-x_np))
    labels_np = np.array([0, 2, 1, 2])
    w_np, pw_np = np.array([0.5, 2.0, 1.5]), np.array([2.0, 1.0, 0.5])

    def both(ours, theirs, inputs, target):
        """Values and input gradients of our module and PyTorch's on the same data."""
        x = mg.tensor(inputs, dtype=mg.float64, requires_grad=True)
        tx = torch.tensor(inputs, dtype=torch.float64, requires_grad=True)
        y, ty = ours(x, mg.tensor(target, dtype=target.dtype)), theirs(tx, torch.tensor(target))
        y.sum().backward()
        ty.sum().backward()
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-14)

    w, tw = mg.tensor(w_np), torch.tensor(w_np)
    pw, tpw = mg.tensor(pw_np), torch.tensor(pw_np)
    for reduction in REDUCTIONS:
        both(nn.MSELoss(reduction=reduction), tnn.MSELoss(reduction=reduction), x_np, t_np)
        both(nn.L1Loss(reduction=reduction), tnn.L1Loss(reduction=reduction), x_np, t_np)
        both(nn.BCELoss(w, reduction=reduction), tnn.BCELoss(tw, reduction=reduction),
             p_np, t_np)
        both(nn.BCEWithLogitsLoss(w, reduction=reduction, pos_weight=pw),
             tnn.BCEWithLogitsLoss(tw, reduction=reduction, pos_weight=tpw), x_np, t_np)
        both(nn.CrossEntropyLoss(w, ignore_index=1, reduction=reduction, label_smoothing=0.1),
             tnn.CrossEntropyLoss(tw, ignore_index=1, reduction=reduction,
                                  label_smoothing=0.1), x_np, labels_np)
        both(nn.NLLLoss(w, reduction=reduction), tnn.NLLLoss(tw, reduction=reduction),
             x_np, labels_np)
    images = rng.standard_normal((2, 3, 5, 7))
    for ours, theirs, inputs in [
            (nn.Softmax(1), tnn.Softmax(1), x_np), (nn.LogSoftmax(0), tnn.LogSoftmax(0), x_np),
            (nn.Softplus(2.0, 1.0), tnn.Softplus(2.0, 1.0), x_np),
            (nn.AdaptiveAvgPool2d((2, 3)), tnn.AdaptiveAvgPool2d((2, 3)), images),
            (nn.AdaptiveAvgPool2d((None, 4)), tnn.AdaptiveAvgPool2d((None, 4)), images)]:
        both(lambda a, _, m=ours: m(a), lambda a, _, m=theirs: m(a), inputs, labels_np)

    # reprs, defaults and the reductions of the deprecated arguments are PyTorch's
    for make_module in [lambda n: n.Softmax(dim=1), lambda n: n.LogSoftmax(),
                        lambda n: n.Softplus(), lambda n: n.Softplus(beta=2, threshold=5),
                        lambda n: n.AdaptiveAvgPool2d(1), lambda n: n.AdaptiveAvgPool2d((2, None)),
                        lambda n: n.MSELoss(), lambda n: n.L1Loss(), lambda n: n.BCELoss(),
                        lambda n: n.BCEWithLogitsLoss(), lambda n: n.CrossEntropyLoss(),
                        lambda n: n.NLLLoss()]:
        assert repr(make_module(nn)) == repr(make_module(tnn))
    for name in ("CrossEntropyLoss", "NLLLoss"):
        ours, theirs = getattr(nn, name)(), getattr(tnn, name)()
        assert (ours.ignore_index, ours.reduction) == (theirs.ignore_index, theirs.reduction)
    assert nn.CrossEntropyLoss().label_smoothing == tnn.CrossEntropyLoss().label_smoothing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kwargs in [{"size_average": False}, {"reduce": False},
                       {"size_average": True, "reduce": True},
                       {"size_average": False, "reduce": True}]:
            assert nn.MSELoss(**kwargs).reduction == tnn.MSELoss(**kwargs).reduction
    # the buffers: the same state_dict keys, and a ModuleDict names its children as PyTorch's
    assert (list(nn.BCEWithLogitsLoss(w, pos_weight=pw).state_dict())
            == list(tnn.BCEWithLogitsLoss(tw, pos_weight=tpw).state_dict()))
    assert (list(nn.CrossEntropyLoss(w).state_dict())
            == list(tnn.CrossEntropyLoss(tw).state_dict()))
    ours = nn.ModuleDict({"b": nn.Linear(2, 2), "a": nn.ReLU(), "c": nn.Linear(2, 1)})
    theirs = tnn.ModuleDict({"b": tnn.Linear(2, 2), "a": tnn.ReLU(), "c": tnn.Linear(2, 1)})
    assert list(ours) == list(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    del ours["b"], theirs["b"]
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["c.weight", "c.bias"]


ACTIVATION_MODULES = [
    (lambda: nn.SiLU(), lambda x: F.silu(x)),
    (lambda: nn.ELU(0.5), lambda x: F.elu(x, 0.5)),
    (lambda: nn.GELU(approximate="tanh"), lambda x: F.gelu(x, approximate="tanh")),
    (lambda: nn.Hardtanh(-0.5, 0.5), lambda x: F.hardtanh(x, -0.5, 0.5)),
    (lambda: nn.ReLU6(True), lambda x: F.relu6(x)),
    (lambda: nn.LogSigmoid(), lambda x: F.logsigmoid(x)),
]


@pytest.mark.parametrize("build, functional", ACTIVATION_MODULES)
def test_more_activation_modules_are_their_functional_forms(build, functional, device):
    x = make((2, 5), device, seed=31)
    np.testing.assert_array_equal(build()(x).numpy(), functional(x).numpy())


def test_group_norm_module(device):
    norm = nn.GroupNorm(2, 4).to(device)
    assert [name for name, _ in norm.named_parameters()] == ["weight", "bias"]
    np.testing.assert_array_equal(norm.weight.numpy(), np.ones(4, dtype=np.float32))
    x = make((3, 4, 2, 2), device, seed=32).float()
    np.testing.assert_array_equal(norm(x).numpy(), F.group_norm(x, 2, norm.weight,
                                                                norm.bias).numpy())
    grouped = x.numpy().reshape(3, 2, -1)                 # each sample's two groups
    expected = (grouped - grouped.mean(2, keepdims=True)) / np.sqrt(
        grouped.var(2, keepdims=True) + 1e-5)
    np.testing.assert_allclose(norm(x).numpy(), expected.reshape(3, 4, 2, 2), rtol=1e-4,
                               atol=1e-5)
    assert nn.GroupNorm(2, 4, affine=False).weight is None
    with pytest.raises(ValueError, match="GroupNorm: num_channels 4 must be divisible"):
        nn.GroupNorm(3, 4)


def test_conv_transpose2d_output_size_and_embedding_from_pretrained(device):
    up = nn.ConvTranspose2d(2, 3, 4, stride=2, padding=1).to(device)
    x = make((1, 2, 5, 5), device, seed=33).float()
    assert up(x).shape == (1, 3, 10, 10)
    assert up(x, output_size=(11, 10)).shape == (1, 3, 11, 10)       # output_padding (1, 0)
    assert up(x, output_size=(1, 3, 11, 11)).shape == (1, 3, 11, 11)
    np.testing.assert_array_equal(
        up(x, output_size=(11, 11)).numpy(),
        F.conv_transpose2d(x, up.weight, up.bias, 2, 1, output_padding=1).numpy())
    with pytest.raises(ValueError, match=r"output_size \(13, 10\) is not reachable"):
        up(x, output_size=(13, 10))
    table = mg.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    frozen = nn.Embedding.from_pretrained(table)
    np.testing.assert_array_equal(frozen(mg.tensor([1, 0], device=device)).numpy(),
                                  [[3.0, 4.0], [1.0, 2.0]])
    assert not frozen.weight.requires_grad
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad
    table.data[0, 0] = 9.0                                  # shared, as in PyTorch
    assert frozen.weight.numpy()[0, 0] == 9.0
    one = nn.ConvTranspose2d(2, 3, 4, stride=2, padding=1).to(device)
    assert one(x[0], output_size=(3, 11, 11)).shape == (3, 11, 11)   # one image (C, H, W)


def test_module_api_as_pytorch_after_a_sweep(device):
    """Each line was wrong or missing before (from a sweep against torch.nn)."""
    linear = nn.Linear(2, 2).to(device)
    with pytest.raises(TypeError, match="only floating point dtypes, got int32"):
        linear.to(mg.int32)                           # weights truncated to 0 before
    assert linear.weight.dtype == mg.float32
    with pytest.raises(KeyError, match="attribute 'weight' already exists on Linear"):
        linear.register_buffer("weight", mg.zeros(2, device=device))
    with pytest.raises(KeyError, match="attribute 'bias' already exists"):
        linear.add_module("bias", nn.ReLU())
    assert [name for name, _ in linear.named_parameters()] == ["weight", "bias"]
    with pytest.raises(TypeError, match="expected a dict of tensors"):
        linear.load_state_dict(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="weight: checkpoint has a NoneType, not a tensor"):
        linear.load_state_dict({"weight": None, "bias": mg.zeros(2)})
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 3), nn.Tanh()).to(device)
    del seq[1]                                        # keys renumbered, as PyTorch
    assert list(seq._modules) == ["0", "1", "2"] and isinstance(seq[1], nn.Linear)
    seq.insert(1, nn.ReLU())
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear", "Tanh"]
    assert isinstance(seq.pop(0), nn.Linear) and list(seq._modules) == ["0", "1", "2"]
    seq += [nn.Sigmoid()]
    assert len(seq) == 4 and len(seq + nn.Sequential(nn.ReLU())) == 5
    assert "1.weight" in seq.state_dict()
    blocks = nn.ModuleList([nn.ReLU()])
    blocks += [nn.Tanh()]
    blocks.insert(0, nn.Sigmoid())
    assert [type(m).__name__ for m in blocks] == ["Sigmoid", "ReLU", "Tanh"]
    nested = nn.Sequential(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)))
    assert nested.get_submodule("0.1") is nested[0][1]
    assert nested.get_parameter("0.0.weight") is nested[0][0].weight
    assert nested.get_buffer("0.1.running_mean") is nested[0][1].running_mean
    with pytest.raises(AttributeError, match="get_submodule: .* no submodule '5'"):
        nested.get_submodule("0.5")
    norm = nn.BatchNorm1d(2)
    norm(mg.randn(4, 2))
    norm(mg.randn(4, 2))
    old = {k: v for k, v in norm.state_dict().items() if "num_batches" not in k}
    norm.load_state_dict(old)                         # a checkpoint from before the counter:
    assert int(norm.num_batches_tracked.item()) == 2  # the count is kept, as PyTorch
    counter = nn.Module()                             # only batch norm fills it in
    counter.register_buffer("num_batches_tracked", mg.tensor(5.0))
    with pytest.raises(RuntimeError, match="missing keys: 'num_batches_tracked'"):
        counter.load_state_dict({})
    assert seq.insert(0, nn.ReLU()) is seq and type(seq.pop(slice(0, 2))) is nn.Sequential
    with pytest.raises(IndexError, match="insert: index 10 is out of range"):
        seq.insert(10, nn.ReLU())

    class TwoLayers(nn.Sequential):
        def __init__(self, n):
            super().__init__(nn.Linear(n, n), nn.ReLU())

    assert type(TwoLayers(2) + nn.Sequential(nn.Tanh())) is nn.Sequential
    with pytest.raises(AttributeError, match="get_parameter: Linear has no parameter 'bias'"):
        nn.Linear(1, 1, bias=False).get_parameter("bias")

    class PlainAttributeFirst(nn.Module):
        def __init__(self):
            self.hidden = 3                           # before super().__init__(): fine
            super().__init__()
            self.layer = nn.Linear(1, 1)

    assert PlainAttributeFirst().hidden == 3
    layer = nn.Linear(2, 1).to(device)
    layer(mg.randn(1, 2, device=device)).sum().backward()
    grad = layer.weight.grad
    layer.zero_grad(set_to_none=False)                # the same tensor, zeroed
    assert layer.weight.grad is grad and float(grad.abs().sum().item()) == 0.0
    x = mg.randn(2, 2, device=device)
    (layer(x) ** 2).sum().backward(create_graph=True)   # a .grad with a graph: let go of it
    layer.zero_grad(set_to_none=False)
    assert layer.weight.grad.creator is None and not layer.weight.grad.requires_grad
    assert nn.Linear(2, 2).to("cpu", non_blocking=True).weight.device == "cpu"


def test_lerp_for_an_ema_of_the_weights(device):
    ema = mg.tensor([1.0, 2.0], device=device)
    with mg.no_grad():
        ema.lerp_(mg.tensor([3.0, 6.0], device=device), 0.25)
    np.testing.assert_allclose(ema.numpy(), [1.5, 3.0])
    far = mg.tensor([1e8], device=device)
    assert far.lerp(mg.tensor([1.0], device=device), 1.0).item() == 1.0   # exact at 1
    with pytest.raises(TypeError, match="lerp: only floating point"):
        mg.tensor([1, 2], device=device).lerp(mg.tensor([3, 4], device=device), 0.5)
    a = make((3,), device, seed=34)
    b = make((3,), device, seed=35)
    assert mg.gradcheck(lambda x, y: x.lerp(y, 0.3), [a, b])
    assert mg.gradgradcheck(lambda x, y: x.lerp(y, 0.3), [a, b])


# ------------------------------------------------------------------ from a review (2)
def test_class_losses_name_a_missing_or_empty_class_dim():
    """A 0-d input gave "tuple index out of range", and 0 classes an error from max."""
    scalar, target = mg.tensor(1.0), mg.tensor(np.int64(0))
    for loss in (F.nll_loss, F.cross_entropy):
        name = loss.__name__
        with pytest.raises(ValueError, match=rf"{name}: input must have a class dim, .* got "
                                             rf"a 0-d input"):
            loss(scalar, target)
        with pytest.raises(ValueError, match=rf"{name}: input \(3, 0\) has no classes \(dim 1 "
                                             rf"is empty\)"):
            loss(mg.randn(3, 0), _labels([0, 0, 0], "cpu"))
    with pytest.raises(ValueError, match=r"cross_entropy: input \(0,\) has no classes"):
        F.cross_entropy(mg.randn(0), target)


def test_losses_and_dropout_refuse_integer_input():
    """PyTorch: "not implemented for 'Long'"; these gave a float result before."""
    ints = mg.tensor(np.arange(6).reshape(2, 3))
    for call, name in [(lambda: F.kl_div(ints, ints, reduction="batchmean"), "kl_div"),
                       (lambda: F.huber_loss(ints, ints), "huber_loss"),
                       (lambda: F.smooth_l1_loss(ints, ints), "smooth_l1_loss"),
                       (lambda: F.mse_loss(ints, ints, reduction="sum"), "mse_loss"),
                       (lambda: F.dropout(ints), "dropout"),
                       (lambda: F.dropout2d(ints.reshape(1, 2, 3, 1)), "dropout2d")]:
        with pytest.raises(TypeError, match=rf"{name}: only floating point tensors, got "
                                            rf"input of int64 \(shape"):
            call()
    with pytest.raises(TypeError, match="kl_div: only floating point tensors, got target"):
        F.kl_div(ints.float(), ints, reduction="batchmean")
    assert F.huber_loss(ints.float(), ints).item() == 0.0      # an integer target: fine
    assert F.dropout(ints, training=False) is ints               # eval: nothing to scale


def test_softplus_with_beta_zero_is_refused():
    """1/beta: a bare ZeroDivisionError before (PyTorch gives inf for every x)."""
    with pytest.raises(ValueError, match=r"Softplus: beta must be nonzero"):
        nn.Softplus(beta=0)
    assert nn.Softplus(beta=-1.0)(mg.tensor([1.0])).shape == (1,)     # negative: as PyTorch


def test_pixel_shuffle_modules(device):
    x = make((2, 8, 3, 5), device, seed=41)
    shuffle, unshuffle = nn.PixelShuffle(2), nn.PixelUnshuffle(2)
    y = shuffle(x)
    assert y.shape == (2, 2, 6, 10)
    np.testing.assert_array_equal(y.numpy(), F.pixel_shuffle(x, 2).numpy())
    np.testing.assert_array_equal(unshuffle(y).numpy(), x.numpy())   # the inverse
    assert repr(shuffle) == "PixelShuffle(upscale_factor=2)"
    assert repr(nn.PixelUnshuffle(3)) == "PixelUnshuffle(downscale_factor=3)"
    assert mg.gradcheck(shuffle, [x]) and mg.gradgradcheck(shuffle, [x])
    with pytest.raises(ValueError, match="PixelShuffle: upscale_factor must be an int >= 1, "
                                         "got 0"):
        nn.PixelShuffle(0)
    for bad in (1.5, True):                       # TypeError, as F.pixel_shuffle's
        with pytest.raises(TypeError, match=rf"PixelShuffle: upscale_factor must be an int, "
                                            rf"got {bad!r}"):
            nn.PixelShuffle(bad)
    with pytest.raises(ValueError, match="PixelUnshuffle: downscale_factor must be an int"):
        nn.PixelUnshuffle(-2)


def test_dropout2d_zeroes_whole_channels(device):
    x = mg.ones(4, 50, 3, 5, device=device)
    y = F.dropout2d(x, 0.25).numpy()
    assert set(np.unique(y).tolist()) <= {0.0, np.float32(1 / 0.75)}
    np.testing.assert_array_equal(y, np.broadcast_to(y[:, :, :1, :1], y.shape))  # per channel
    assert 0.6 < (y[:, :, 0, 0] > 0).mean() < 0.9
    assert F.dropout2d(x, 0.25, training=False) is x
    assert np.all(F.dropout2d(x, 1.0).numpy() == 0) and F.dropout2d(x, 0.0) is x
    with pytest.warns(UserWarning, match=r"3-D input is read as one image \(C, H, W\)"):
        one = F.dropout2d(mg.ones(50, 3, 5, device=device), 0.5).numpy()
    np.testing.assert_array_equal(one, np.broadcast_to(one[:, :1, :1], one.shape))
    with pytest.raises(ValueError, match=r"dropout2d: expected input \(N, C, H, W\) or "
                                         r"\(C, H, W\), got shape \(4, 50\)"):
        F.dropout2d(mg.ones(4, 50))
    with pytest.raises(ValueError, match=r"dropout2d: p must be in \[0, 1\], got 1.5"):
        F.dropout2d(x, 1.5)
    mg.manual_seed(3)
    expected = F.dropout2d(x, 0.5).numpy()
    mg.manual_seed(3)                                   # the library's seed gives the mask
    np.testing.assert_array_equal(F.dropout2d(x, 0.5).numpy(), expected)


def test_dropout2d_module_in_training_and_eval(device):
    drop = nn.Dropout2d(0.5)
    assert repr(drop) == "Dropout2d(p=0.5, inplace=False)"
    x = make((2, 6, 3, 3), device, seed=42)
    mg.manual_seed(5)
    y = drop(x)
    mg.manual_seed(5)
    np.testing.assert_array_equal(y.numpy(), F.dropout2d(x, 0.5).numpy())
    assert drop.eval()(x) is x
    with pytest.raises(ValueError, match=r"Dropout2d: p must be in \[0, 1\], got -0.1"):
        nn.Dropout2d(-0.1)


@pytest.mark.parametrize("shape", [(2, 3, 2, 2), (3, 2, 2), (1, 1, 1, 1)])
def test_dropout2d_gradcheck_and_gradgradcheck(device, shape):
    x = make(shape, device, seed=43)
    fn = lambda x: (mg.manual_seed(1), F.dropout2d(x, 0.5))[1]     # noqa: E731 (one mask)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                # 3-D: the (C, H, W) warning
        assert mg.gradcheck(fn, [x])
        assert mg.gradgradcheck(fn, [x])


def test_new_modules_match_pytorch():
    torch = pytest.importorskip("torch")
    for name, arg in [("PixelShuffle", 2), ("PixelUnshuffle", 3), ("Dropout2d", 0.3)]:
        assert repr(getattr(nn, name)(arg)) == repr(getattr(torch.nn, name)(arg))
    x = np.random.default_rng(44).standard_normal((2, 18, 3, 4))
    np.testing.assert_array_equal(
        nn.PixelShuffle(3)(mg.tensor(x, dtype=mg.float64)).numpy(),
        torch.nn.PixelShuffle(3)(torch.from_numpy(x)).numpy())
    np.testing.assert_array_equal(
        nn.PixelUnshuffle(2)(mg.tensor(x.reshape(2, 6, 6, 6), dtype=mg.float64)).numpy(),
        torch.nn.PixelUnshuffle(2)(torch.from_numpy(x.reshape(2, 6, 6, 6))).numpy())
    y = np.ones((4, 40, 3, 3))                          # the same channel-wise pattern
    ours = nn.Dropout2d(0.5)(mg.tensor(y)).numpy()
    theirs = torch.nn.Dropout2d(0.5)(torch.from_numpy(y)).numpy()
    for z in (ours, theirs):
        assert set(np.unique(z).tolist()) <= {0.0, 2.0}
        np.testing.assert_array_equal(z, np.broadcast_to(z[:, :, :1, :1], z.shape))
