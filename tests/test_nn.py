"""Tests for minigrad.nn: Module (registration, state_dict, load_state_dict, modes, to,
apply, repr), the containers, the layers' shapes and default initialisation, nn.init, and
two small networks that learn."""
import math
from collections import OrderedDict

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F

# ------------------------------------------------------------------ a small DCGAN
class Generator(nn.Module):
    """The PyTorch DCGAN tutorial's generator, scaled down (nz=10, ngf=4, nc=1, 16x16)."""

    def __init__(self, nz=10, ngf=4, nc=1):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.main(z)


class Discriminator(nn.Module):
    def __init__(self, nc=1, ndf=4):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.main(x)


def bn_keys(prefix, c):
    return [(f"{prefix}.weight", (c,)), (f"{prefix}.bias", (c,)),
            (f"{prefix}.running_mean", (c,)), (f"{prefix}.running_var", (c,)),
            (f"{prefix}.num_batches_tracked", ())]


# What PyTorch's state_dict() gives for the same two networks, in order.
PYTORCH_G_KEYS = ([("main.0.weight", (10, 8, 4, 4))] + bn_keys("main.1", 8)
                  + [("main.3.weight", (8, 4, 4, 4))] + bn_keys("main.4", 4)
                  + [("main.6.weight", (4, 1, 4, 4))])
PYTORCH_D_KEYS = ([("main.0.weight", (4, 1, 4, 4)), ("main.2.weight", (8, 4, 4, 4))]
                  + bn_keys("main.3", 8) + [("main.5.weight", (1, 8, 4, 4))])

PYTORCH_G_REPR = """Generator(
  (main): Sequential(
    (0): ConvTranspose2d(10, 8, kernel_size=(4, 4), stride=(1, 1), bias=False)
    (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    (2): ReLU(inplace=True)
    (3): ConvTranspose2d(8, 4, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), bias=False)
    (4): BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    (5): ReLU(inplace=True)
    (6): ConvTranspose2d(4, 1, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), bias=False)
    (7): Tanh()
  )
)"""


def weights_init(m):
    """The DCGAN tutorial's custom initialisation, verbatim (m.weight.data is an ndarray
    here, and nn.init accepts it)."""
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


def test_state_dict_keys_and_shapes_match_pytorch_dcgan():
    for net, expected in [(Generator(), PYTORCH_G_KEYS), (Discriminator(), PYTORCH_D_KEYS)]:
        state = net.state_dict()
        assert [(k, tuple(v.shape)) for k, v in state.items()] == expected
        assert state["main.1.num_batches_tracked" if "main.1.running_mean" in state
                     else "main.3.num_batches_tracked"].dtype == np.int64
        assert all(state[k].dtype == np.float32 for k, _ in expected
                   if not k.endswith("num_batches_tracked"))


def test_repr_matches_pytorch():
    assert repr(Generator()) == PYTORCH_G_REPR
    d = repr(Discriminator())
    assert "(1): LeakyReLU(negative_slope=0.2, inplace=True)" in d
    assert "(0): Conv2d(1, 4, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), bias=False)" in d
    assert "(6): Sigmoid()" in d
    assert repr(nn.Linear(3, 2)) == "Linear(in_features=3, out_features=2, bias=True)"
    assert repr(nn.LayerNorm(5)) == "LayerNorm((5,), eps=1e-05, elementwise_affine=True)"
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(nn.Upsample(scale_factor=2)) == "Upsample(scale_factor=2.0, mode='nearest')"
    assert repr(nn.MaxPool2d(2)) == ("MaxPool2d(kernel_size=2, stride=2, padding=0, "
                                     "dilation=1, ceil_mode=False)")


def test_apply_weights_init():
    mg.manual_seed(0)
    net = Discriminator(ndf=16).apply(weights_init)
    conv = net.main[2].weight.numpy()
    assert abs(conv.std() - 0.02) < 0.002 and abs(conv.mean()) < 0.002
    bn = net.main[3]
    assert abs(bn.weight.numpy().mean() - 1.0) < 0.01
    np.testing.assert_array_equal(bn.bias.numpy(), 0.0)
    visited = []
    net.apply(lambda m: visited.append(type(m).__name__))
    assert visited[-2:] == ["Sequential", "Discriminator"]      # children first


# ------------------------------------------------------------------ registration
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.scale = nn.Parameter(mg.ones(1))
        self.register_buffer("steps", mg.zeros(1))
        self.register_buffer("cache", mg.zeros(2), persistent=False)
        self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.Tanh()])
        self.note = "a plain attribute"
        self.mask = mg.ones(3)                          # a plain Tensor: not registered

    def forward(self, x):
        h = self.fc(x) * self.scale
        for block in self.blocks:
            h = block(h)
        return h


def test_registration():
    net = Net()
    assert [name for name, _ in net.named_parameters()] == [
        "scale", "fc.weight", "fc.bias", "blocks.0.weight", "blocks.0.bias"]
    assert [name for name, _ in net.named_buffers()] == ["steps", "cache"]
    assert list(net.state_dict()) == ["scale", "steps", "fc.weight", "fc.bias",
                                      "blocks.0.weight", "blocks.0.bias"]
    assert [name for name, _ in net.named_children()] == ["fc", "blocks"]
    assert [name for name, _ in net.named_modules()] == ["", "fc", "blocks", "blocks.0",
                                                         "blocks.1"]
    assert len(list(net.modules())) == 5 and len(list(net.children())) == 2
    assert net.note == "a plain attribute" and isinstance(net.mask, mg.Tensor)
    assert all(p.requires_grad for p in net.parameters())
    assert net(mg.randn(2, 3)).shape == (2, 4)


def test_reassignment_and_deletion():
    net = Net()
    with pytest.raises(TypeError, match="cannot assign a Tensor to parameter 'scale'"):
        net.scale = mg.ones(1)
    net.scale = nn.Parameter(mg.zeros(1))              # a new Parameter is fine
    net.fc = nn.Linear(3, 5)
    assert net.state_dict()["fc.weight"].shape == (5, 3)
    net.steps = mg.ones(1)                              # buffers take any Tensor
    assert net.state_dict()["steps"].item() == 1.0
    del net.blocks
    assert "blocks.0.weight" not in net.state_dict()
    with pytest.raises(AttributeError, match="has no attribute 'blocks'"):
        net.blocks


def test_replacing_keeps_the_place_in_forward_order_and_state_dict():
    """As in PyTorch, a replaced layer, parameter or buffer keeps its place: seq[1] = Tanh()
    is still the second layer, and state_dict() and parameters() keep their order (the
    optimizer's state is matched to parameters by position)."""
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    seq[1] = nn.Tanh()
    assert [type(m).__name__ for m in seq] == ["Linear", "Tanh", "Linear"]
    x = mg.randn(4, 2)
    np.testing.assert_allclose(seq(x).numpy(), seq[2](seq[0](x).tanh()).numpy(), rtol=1e-6)
    layers = nn.ModuleList([nn.Linear(1, 1), nn.Tanh(), nn.ReLU()])
    layers[0] = nn.Sigmoid()
    assert [type(m).__name__ for m in layers] == ["Sigmoid", "Tanh", "ReLU"]

    net = Net()
    before = list(net.state_dict())
    net.fc = nn.Linear(3, 4)                           # a new submodule, the same name
    net.scale = nn.Parameter(mg.zeros(1))
    net.fc.weight = nn.Parameter(mg.zeros(4, 3))
    net.register_buffer("steps", mg.ones(1))
    net.add_module("blocks", nn.ModuleList([nn.Linear(4, 4), nn.Tanh()]))
    assert list(net.state_dict()) == before
    assert [name for name, _ in net.named_buffers()] == ["steps", "cache"]
    net.register_buffer("steps", mg.ones(1), persistent=False)   # persistence can change
    assert "steps" not in net.state_dict() and "steps" in dict(net.named_buffers())
    net.fc = None                                      # None keeps the slot, as in PyTorch
    net.fc = nn.Linear(3, 4)
    assert list(net.state_dict())[:3] == ["scale", "fc.weight", "fc.bias"]


def test_shared_parameters_appear_once():
    a = nn.Linear(2, 2)
    net = nn.Sequential(a, nn.ReLU(), a)
    assert len(list(net.parameters())) == 2


def test_forgetting_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_sequential_and_module_list():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    assert isinstance(seq[1:], nn.Sequential) and list(seq[1:].state_dict()) == ["2.weight",
                                                                                 "2.bias"]
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    named = nn.Sequential(OrderedDict(fc=nn.Linear(2, 2), act=nn.Tanh()))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"]
    layers = nn.ModuleList([nn.Linear(1, 1)])
    layers.append(nn.Linear(1, 2))
    assert list(layers.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    with pytest.raises(IndexError):
        layers[2]


def test_forward_hooks():
    layer = nn.Linear(2, 2)
    seen = []
    handle = layer.register_forward_pre_hook(lambda m, args: (args[0] * 0.0,))
    layer.register_forward_hook(lambda m, args, out: seen.append(out.shape))
    np.testing.assert_allclose(layer(mg.ones(1, 2)).numpy(), layer.bias.numpy()[None])
    handle.remove()
    layer(mg.ones(1, 2))
    assert seen == [(1, 2), (1, 2)]


# ------------------------------------------------------------------ load_state_dict
def test_load_state_dict_round_trip_keeps_identity():
    mg.manual_seed(0)
    source, target = Generator(), Generator()
    params_before = list(target.parameters())
    target.load_state_dict(source.state_dict())
    for (k, a), b in zip(source.state_dict().items(), target.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    assert all(p is q for p, q in zip(params_before, target.parameters()))


def test_load_state_dict_accepts_numpy_arrays_and_nested_dicts():
    source, target = Net(), Net()
    arrays = {k: v.numpy() for k, v in source.state_dict().items()}
    target.load_state_dict(arrays)
    np.testing.assert_array_equal(target.fc.weight.numpy(), source.fc.weight.numpy())
    nested = {"scale": arrays["scale"], "steps": arrays["steps"],
              "fc": {"weight": arrays["fc.weight"] * 2, "bias": arrays["fc.bias"]},
              "blocks": {"0": {"weight": arrays["blocks.0.weight"],
                               "bias": arrays["blocks.0.bias"]}}}
    target.load_state_dict(nested)
    np.testing.assert_array_equal(target.fc.weight.numpy(), 2 * source.fc.weight.numpy())


def test_strict_load_lists_every_problem_and_changes_nothing():
    net = Generator()
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    bad = {k: v.numpy() * 0 + 7 for k, v in Generator().state_dict().items()}
    del bad["main.4.running_var"]                                   # missing
    bad["main.9.weight"] = np.zeros(3, np.float32)                  # unexpected
    bad["main.3.weight"] = np.zeros((4, 8, 4, 4), np.float32)       # wrong shape
    bad["main.1.bias"] = bad["main.1.bias"].astype(np.int32)        # dtype of another kind
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(bad)
    message = str(info.value)
    for fragment in ["missing keys: 'main.4.running_var'", "unexpected keys: 'main.9.weight'",
                     "main.3.weight: checkpoint has (4, 8, 4, 4) float32, the module has "
                     "(8, 4, 4, 4) float32", "main.1.bias: checkpoint has (8,) int32",
                     "unchanged"]:
        assert fragment in message
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=k)


def test_non_strict_load_reports_keys_but_still_rejects_mismatches():
    net = Net()
    state = {k: v.numpy() for k, v in Net().state_dict().items()}
    del state["scale"]
    state["extra"] = np.zeros(1)
    result = net.load_state_dict(state, strict=False)
    missing, unexpected = result
    assert missing == ["scale"] and unexpected == ["extra"]
    assert repr(result) == "IncompatibleKeys(missing_keys=['scale'], unexpected_keys=['extra'])"
    assert repr(Net().load_state_dict(Net().state_dict())) == "<All keys matched successfully>"
    np.testing.assert_array_equal(net.fc.weight.numpy(), state["fc.weight"])
    state["fc.bias"] = np.zeros(5, np.float32)
    with pytest.raises(RuntimeError, match="fc.bias: checkpoint has"):
        net.load_state_dict(state, strict=False)


def test_load_state_dict_casts_within_a_kind_as_pytorch():
    # A float32 checkpoint loads into a float64 model (and back), an int32 step count into
    # an int64 buffer: copied and cast, as PyTorch's copy_ does; identity is kept
    source = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    source(mg.randn(4, 3))                                   # running stats, 1 batch
    state = {k: v.numpy() for k, v in source.state_dict().items()}
    state["1.num_batches_tracked"] = state["1.num_batches_tracked"].astype(np.int32)
    target = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).to(dtype=mg.float64)
    weight = target[0].weight
    target.load_state_dict(state)
    assert target[0].weight is weight and weight.dtype == mg.float64
    np.testing.assert_array_equal(weight.numpy(), state["0.weight"].astype(np.float64))
    np.testing.assert_array_equal(target[1].running_var.numpy(),
                                  state["1.running_var"].astype(np.float64))
    assert target[1].num_batches_tracked.dtype == mg.int64
    assert target[1].num_batches_tracked.item() == 1


# ------------------------------------------------------------------ modes, moves, grads
def test_train_eval_propagate():
    net = Generator()
    assert all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.main.train()
    assert not net.training and all(m.training for m in net.main.modules())
    drop = nn.Dropout(0.5)
    x = mg.ones(100)
    assert (drop(x).numpy() == 0).any()
    np.testing.assert_array_equal(drop.eval()(x).numpy(), x.numpy())


def test_train_calls_each_childs_own_train():
    """A parent's train() goes through each child's train(), as in PyTorch, so a layer that
    overrides it (a batch norm frozen in eval mode, a common fine-tuning pattern) stays as
    it wants to be."""
    class FrozenBatchNorm(nn.BatchNorm2d):
        def train(self, mode=True):
            return super().train(False)

    net = nn.Sequential(nn.Conv2d(1, 2, 3), FrozenBatchNorm(2), nn.Sequential(nn.ReLU()))
    net.train()
    assert net.training and net[0].training and net[2][0].training
    assert not net[1].training
    running_mean = net[1].running_mean.numpy().copy()
    net(mg.randn(2, 1, 5, 5))
    np.testing.assert_array_equal(net[1].running_mean.numpy(), running_mean)
    net.eval()
    assert not any(m.training for m in net.modules())


def test_to_moves_in_place_and_keeps_identity(device):
    net = Generator()
    params = list(net.parameters())
    assert net.to(device) is net
    assert all(p is q for p, q in zip(params, net.parameters()))
    assert all(t.device == device for t in list(net.parameters()) + list(net.buffers()))
    net.double()
    assert net.main[0].weight.dtype == np.float64
    assert net.main[1].running_var.dtype == np.float64
    assert net.main[1].num_batches_tracked.dtype == np.int64      # not a float: kept
    net.to("cpu", mg.float32)
    assert net.main[0].weight.dtype == np.float32 and net.main[0].weight.device == "cpu"


def test_zero_grad_and_requires_grad():
    net = nn.Sequential(nn.Linear(2, 2))
    net(mg.ones(1, 2)).sum().backward()
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    assert not net(mg.ones(1, 2)).requires_grad


# ------------------------------------------------------------------ layers and init
def test_default_initialisation_as_pytorch():
    mg.manual_seed(0)
    linear = nn.Linear(50, 400)
    bound = 1 / math.sqrt(50)
    for p in (linear.weight, linear.bias):
        values = p.numpy()
        assert values.min() >= -bound and values.max() <= bound and values.max() > 0.95 * bound
    conv = nn.Conv2d(3, 200, 3)                               # fan_in = 3 * 3 * 3
    assert conv.weight.shape == (200, 3, 3, 3)
    assert abs(np.abs(conv.weight.numpy()).max() - 1 / math.sqrt(27)) < 0.01
    deconv = nn.ConvTranspose2d(200, 4, 3)                    # PyTorch: fan_in = 4 * 3 * 3
    assert deconv.weight.shape == (200, 4, 3, 3)
    assert abs(np.abs(deconv.weight.numpy()).max() - 1 / 6) < 0.01
    assert np.abs(deconv.bias.numpy()).max() <= 1 / 6
    embedding = nn.Embedding(1000, 20).weight.numpy()
    assert abs(embedding.mean()) < 0.02 and abs(embedding.std() - 1) < 0.02
    bn = nn.BatchNorm2d(3)
    np.testing.assert_array_equal(bn.weight.numpy(), 1.0)
    np.testing.assert_array_equal(bn.bias.numpy(), 0.0)


def test_init_functions():
    mg.manual_seed(0)
    w = mg.zeros(300, 200)
    nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu")
    assert abs(w.numpy().std() - math.sqrt(2 / 200)) < 0.002
    nn.init.kaiming_uniform_(w, a=0.2, mode="fan_out")
    assert abs(np.abs(w.numpy()).max() - math.sqrt(2 / 1.04) * math.sqrt(3 / 300)) < 1e-3
    nn.init.xavier_uniform_(w, gain=2.0)
    assert abs(np.abs(w.numpy()).max() - 2 * math.sqrt(6 / 500)) < 1e-3
    nn.init.xavier_normal_(w)
    assert abs(w.numpy().std() - math.sqrt(2 / 500)) < 0.001
    assert nn.init.uniform_(w, -1, 1) is w and 0.99 < np.abs(w.numpy()).max() <= 1
    nn.init.zeros_(w)
    assert not w.numpy().any()
    nn.init.ones_(w)
    assert (w.numpy() == 1).all()
    assert nn.init.calculate_gain("tanh") == 5 / 3
    assert nn.init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nn.init.xavier_uniform_(mg.zeros(3))
    p = nn.Parameter(mg.zeros(2))
    version = p._version
    nn.init.normal_(p)
    assert p._version > version and p.requires_grad and p.creator is None


def test_shape_layers():
    x = mg.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Unflatten(1, (3, 20))(nn.Flatten()(x)).shape == (2, 3, 20)
    assert nn.Identity(54, unused=1)(x) is x
    assert nn.LayerNorm((4, 5))(x).shape == x.shape
    assert nn.Embedding(10, 3)(mg.tensor(np.array([[1, 2], [3, 4]]))).shape == (2, 2, 3)


def test_pytorchs_edge_cases_of_the_layers():
    # an out-of-range Unflatten dim and an empty layer_norm shape are errors, as in
    # PyTorch; a zero-size weight is left alone with a warning; MaxPool2d's fifth
    # argument is return_indices
    x = mg.randn(2, 4, 3)
    with pytest.raises(IndexError, match=r"Unflatten: dim 3 is out of range .* \(2, 4, 3\)"):
        nn.Unflatten(3, (2, 2))(x)
    assert nn.Unflatten(-2, (2, 2))(x).shape == (2, 2, 2, 3)
    with pytest.raises(ValueError, match="normalized_shape must name at least one dim"):
        F.layer_norm(x, ())
    with pytest.warns(UserWarning, match="zero-element tensor"):
        empty = nn.Linear(0, 2)
    assert empty(mg.zeros(3, 0)).shape == (3, 2)
    for init in (nn.init.xavier_uniform_, nn.init.xavier_normal_, nn.init.kaiming_uniform_,
                 nn.init.kaiming_normal_):
        with pytest.warns(UserWarning, match="zero-element tensor"):
            assert init(mg.zeros(2, 0)).shape == (2, 0)
    values, indices = nn.MaxPool2d(2, 2, 0, 1, True)(mg.randn(1, 1, 4, 4))
    assert values.shape == indices.shape == (1, 1, 2, 2)
    for f in (F.relu, F.leaky_relu, F.tanh, F.sigmoid, F.softplus, F.dropout):
        assert f(input=x).shape == x.shape          # the argument's name is PyTorch's
    for f in (F.softmax, F.log_softmax):
        assert f(input=x, dim=1).shape == x.shape
    # PyTorch's positional inplace flags (the result is a new tensor, as nn.ReLU(True)'s)
    for y in (F.relu(x, False), F.leaky_relu(x, 0.2, False), F.dropout(x, 0.5, True, False)):
        assert y.shape == x.shape and y is not x
    np.testing.assert_array_equal(F.pad(x, (1, 0), value=None).numpy()[..., 0], 0.0)
    image = mg.randn(1, 1, 4, 4)                    # crops within the size; none past it
    assert F.pad(input=image, pad=(1, 1)).shape == (1, 1, 4, 6)
    assert F.pad(image, (-2, -2)).shape == (1, 1, 4, 0)
    assert F.pad(image, (-1, 2, 0, -4)).shape == (1, 1, 0, 5)
    with pytest.raises(ValueError, match=r"pad: the negative widths \(-3, -3\) crop more "
                                         r"than dim 3 holds \(size 4"):
        F.pad(image, (-3, -3))
    with pytest.raises(TypeError, match="interpolate: size must be an int or a pair of ints"):
        F.interpolate(image, size=3.7)
    assert F.interpolate(image, size=(3, np.int64(5))).shape == (1, 1, 3, 5)


def test_conv2d_layer_takes_same_and_valid_padding():
    x = mg.randn(2, 3, 5, 6)
    same, valid = nn.Conv2d(3, 4, 3, padding="same"), nn.Conv2d(3, 4, 3, padding="valid")
    assert same(x).shape == (2, 4, 5, 6) and valid(x).shape == (2, 4, 3, 4)
    explicit = nn.Conv2d(3, 4, 3, padding=1)
    explicit.load_state_dict(same.state_dict())
    np.testing.assert_array_equal(same(x).numpy(), explicit(x).numpy())
    assert "padding=same" in repr(same)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="'full'"):
        nn.Conv2d(3, 4, 3, padding="full")
    with pytest.raises(ValueError, match="ConvTranspose2d"):
        nn.ConvTranspose2d(3, 4, 3, padding="same")


def test_parameter():
    p = nn.Parameter(mg.randn(2, 3))
    assert isinstance(p, mg.Tensor) and p.requires_grad and p.is_leaf
    assert type(p * 2) is mg.Tensor
    assert nn.Parameter([1.0, 2.0]).dtype == np.float32
    assert repr(nn.Parameter(mg.zeros(1))).startswith("Parameter containing:\ntensor(")
    with pytest.raises(RuntimeError, match="floating-point"):
        nn.Parameter(np.arange(3))


# ------------------------------------------------------------------ learning
def sgd_step(module, lr):
    with mg.no_grad():
        for p in module.parameters():
            p.data -= lr * p.grad.data


def test_mlp_learns_a_toy_regression(device):
    mg.manual_seed(0)
    rng = np.random.default_rng(0)
    x_np = rng.uniform(-2, 2, (128, 2))
    y_np = np.sin(x_np[:, :1]) * x_np[:, 1:]
    x, y = mg.tensor(x_np, device=device), mg.tensor(y_np, device=device)
    model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32),
                          nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 1)).to(device)
    first = None
    for _ in range(300):
        loss = F.mse_loss(model(x), y)
        first = first if first is not None else loss.item()
        model.zero_grad()
        loss.backward()
        sgd_step(model, 0.1)
    assert first > 0.5 and loss.item() < 0.01


def test_dcgan_shapes():
    z = mg.randn(2, 10, 1, 1)
    fake = Generator()(z)
    assert fake.shape == (2, 1, 16, 16)
    assert Discriminator()(fake).shape == (2, 1, 1, 1)


def test_small_conv_net_learns_bars(device):
    """Tell horizontal from vertical bars on 8x8 images."""
    mg.manual_seed(0)
    rng = np.random.default_rng(1)
    images = np.zeros((64, 1, 8, 8))
    labels = np.arange(64) % 2
    for i, label in enumerate(labels):
        row = rng.integers(0, 8)
        if label:
            images[i, 0, :, row] = 1.0
        else:
            images[i, 0, row, :] = 1.0
    images += 0.1 * rng.standard_normal(images.shape)
    x = mg.tensor(images, device=device)
    y = mg.tensor(labels, device=device)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.Conv2d(4, 8, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
                          nn.Flatten(), nn.Linear(8 * 4 * 4, 2)).to(device)
    for _ in range(60):
        loss = F.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        sgd_step(model, 0.1)
    assert loss.item() < 0.1


def test_parameter_list_registers_its_parameters():
    """A learned noise scale per layer (StyleGAN's NoiseInjection, kept in a list): the
    parent's parameters(), state_dict() and the optimizer see each one."""
    class Noisy(nn.Module):
        def __init__(self):
            super().__init__()
            self.scales = nn.ParameterList([nn.Parameter(mg.zeros(1)) for _ in range(2)])
            self.scales.append(mg.ones(3))               # a Tensor becomes a Parameter

    model = Noisy()
    assert list(model.state_dict()) == ["scales.0", "scales.1", "scales.2"]
    assert len(list(model.parameters())) == 3 and len(model.scales) == 3
    assert isinstance(model.scales[-1], nn.Parameter) and model.scales[2].shape == (3,)
    assert [p.shape for p in model.scales[1:]] == [(1,), (3,)]
    model.scales[0] = nn.Parameter(mg.full((1,), 5.0))
    assert model.state_dict()["scales.0"].item() == 5.0
    (model.scales[0] * 2 + model.scales[2].sum()).sum().backward()
    mg.optim.SGD(model.parameters(), lr=0.5).step()
    assert model.scales[0].item() == 4.0 and model.scales[2].numpy().tolist() == [0.5] * 3
    with pytest.raises(TypeError, match="ParameterList: expected a Parameter or a Tensor"):
        model.scales.append(3.0)
    with pytest.raises(IndexError, match="index 3 is out of range for 3"):
        model.scales[3]


def test_upsampling_layers_old_names():
    x = mg.arange(8.0).reshape(1, 2, 2, 2)
    near = nn.UpsamplingNearest2d(scale_factor=2)(x)
    np.testing.assert_array_equal(near.numpy()[0, 0], np.kron(x.numpy()[0, 0], np.ones((2, 2))))
    bilinear = nn.UpsamplingBilinear2d(size=(3, 3))(x)      # align_corners=True: corners kept
    np.testing.assert_allclose(bilinear.numpy()[0, 0], [[0, 0.5, 1], [1, 1.5, 2], [2, 2.5, 3]])
    torch = pytest.importorskip("torch")
    theirs = torch.nn.UpsamplingBilinear2d(scale_factor=2)(torch.tensor(x.numpy()))
    np.testing.assert_allclose(nn.UpsamplingBilinear2d(scale_factor=2)(x).numpy(),
                               theirs.numpy(), atol=1e-6)


def test_parameters_to_vector_and_back():
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    vector = nn.utils.parameters_to_vector(model.parameters())
    expected = np.concatenate([p.numpy().ravel() for p in model.parameters()])
    np.testing.assert_array_equal(vector.numpy(), expected)
    assert vector.requires_grad                               # differentiable, as PyTorch
    nn.utils.vector_to_parameters(vector * 2, model.parameters())
    np.testing.assert_array_equal(nn.utils.parameters_to_vector(model.parameters()).numpy(),
                                  2 * expected)
    with pytest.raises(ValueError, match=r"vec must be 1-D with 11 elements .* got shape \(3,\)"):
        nn.utils.vector_to_parameters(mg.zeros(3), model.parameters())
