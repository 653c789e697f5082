"""The FID Inception-v3 (gans/metrics/inception.py): block shapes, the TF-style pooling,
the whole network's outputs, determinism, and loading weights under pytorch-fid's names.
No real weights are needed: the tests write random ones."""
import numpy as np
import pytest

import minigrad as mg
from gans.metrics.inception import (FIDInceptionV3, InceptionA, InceptionB, InceptionC,
                                    InceptionD, InceptionE, _tf_avg_pool, load_inception,
                                    prepare_images)


def images(n, size, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    return mg.tensor(rng.uniform(-1, 1, (n, channels, size, size)).astype(np.float32))


@pytest.fixture(scope="module")
def model():
    mg.manual_seed(0)
    return FIDInceptionV3(resize_input=False)


@pytest.mark.parametrize("block, in_shape, out_shape", [
    (lambda: InceptionA(8, pool_features=32), (2, 8, 5, 5), (2, 256, 5, 5)),
    (lambda: InceptionB(8), (2, 8, 7, 7), (2, 384 + 96 + 8, 3, 3)),
    (lambda: InceptionC(8, channels_7x7=4), (2, 8, 5, 5), (2, 768, 5, 5)),
    (lambda: InceptionD(8), (2, 8, 7, 7), (2, 320 + 192 + 8, 3, 3)),
    (lambda: InceptionE(8, pool="avg"), (2, 8, 3, 3), (2, 2048, 3, 3)),
    (lambda: InceptionE(8, pool="max"), (2, 8, 3, 3), (2, 2048, 3, 3)),
])
def test_block_output_shapes(block, in_shape, out_shape):
    module = block().eval()
    x = mg.tensor(np.random.default_rng(1).standard_normal(in_shape).astype(np.float32))
    with mg.no_grad():
        y = module(x)
    assert y.shape == out_shape and np.isfinite(y.numpy()).all()


# ---------------------------------------------------------------- values against PyTorch
# The FID graph written out with torch.nn.functional, as torchvision's Inception3 and
# pytorch-fid's FIDInception* blocks define it (branch order, paddings, strides, the pools),
# reading the same state-dict names. Nothing here calls gans.metrics.inception.

def _torch_basic(torch, x, weights, prefix, stride=1, padding=0):
    """BasicConv2d: conv (no bias) -> batch norm (eval, eps 0.001) -> ReLU."""
    def w(name):
        return torch.from_numpy(weights[f"{prefix}.{name}"])
    x = torch.nn.functional.conv2d(x, w("conv.weight"), stride=stride, padding=padding)
    x = torch.nn.functional.batch_norm(x, w("bn.running_mean"), w("bn.running_var"),
                                       w("bn.weight"), w("bn.bias"), training=False, eps=0.001)
    return torch.relu(x)


def _torch_chain(torch, x, weights, prefix, layers):
    """BasicConv2d layers one after another: layers = [(name, stride, padding), ...]."""
    for name, stride, padding in layers:
        x = _torch_basic(torch, x, weights, prefix + name, stride, padding)
    return x


def _tf_pool(torch, x):
    return torch.nn.functional.avg_pool2d(x, 3, 1, 1, count_include_pad=False)


def _torch_block(torch, kind, x, weights, prefix=""):
    """One Inception block: kind "A", "B", "C", "D", "E_1" (avg pool) or "E_2" (max pool)."""
    def chain(*layers):
        return _torch_chain(torch, x, weights, prefix, layers)

    def basic(h, name, padding):
        return _torch_basic(torch, h, weights, prefix + name, 1, padding)

    if kind == "A":
        branches = [chain(("branch1x1", 1, 0)),
                    chain(("branch5x5_1", 1, 0), ("branch5x5_2", 1, 2)),
                    chain(("branch3x3dbl_1", 1, 0), ("branch3x3dbl_2", 1, 1),
                          ("branch3x3dbl_3", 1, 1)),
                    basic(_tf_pool(torch, x), "branch_pool", 0)]
    elif kind == "B":
        branches = [chain(("branch3x3", 2, 0)),
                    chain(("branch3x3dbl_1", 1, 0), ("branch3x3dbl_2", 1, 1),
                          ("branch3x3dbl_3", 2, 0)),
                    torch.nn.functional.max_pool2d(x, 3, 2)]
    elif kind == "C":
        branches = [chain(("branch1x1", 1, 0)),
                    chain(("branch7x7_1", 1, 0), ("branch7x7_2", 1, (0, 3)),
                          ("branch7x7_3", 1, (3, 0))),
                    chain(("branch7x7dbl_1", 1, 0), ("branch7x7dbl_2", 1, (3, 0)),
                          ("branch7x7dbl_3", 1, (0, 3)), ("branch7x7dbl_4", 1, (3, 0)),
                          ("branch7x7dbl_5", 1, (0, 3))),
                    basic(_tf_pool(torch, x), "branch_pool", 0)]
    elif kind == "D":
        branches = [chain(("branch3x3_1", 1, 0), ("branch3x3_2", 2, 0)),
                    chain(("branch7x7x3_1", 1, 0), ("branch7x7x3_2", 1, (0, 3)),
                          ("branch7x7x3_3", 1, (3, 0)), ("branch7x7x3_4", 2, 0)),
                    torch.nn.functional.max_pool2d(x, 3, 2)]
    else:
        h = chain(("branch3x3_1", 1, 0))
        d = chain(("branch3x3dbl_1", 1, 0), ("branch3x3dbl_2", 1, 1))
        pooled = (_tf_pool(torch, x) if kind == "E_1"
                  else torch.nn.functional.max_pool2d(x, 3, 1, 1))
        branches = [chain(("branch1x1", 1, 0)),
                    torch.cat([basic(h, "branch3x3_2a", (0, 1)),
                               basic(h, "branch3x3_2b", (1, 0))], 1),
                    torch.cat([basic(d, "branch3x3dbl_3a", (0, 1)),
                               basic(d, "branch3x3dbl_3b", (1, 0))], 1),
                    basic(pooled, "branch_pool", 0)]
    return torch.cat(branches, 1)


def _torch_fid_inception(torch, x, weights):
    """The whole graph on images already 299 x 299 (or at least 75 x 75): (pool, logits)."""
    stem = [("Conv2d_1a_3x3", 2, 0), ("Conv2d_2a_3x3", 1, 0), ("Conv2d_2b_3x3", 1, 1)]
    x = _torch_chain(torch, x, weights, "", stem)
    x = torch.nn.functional.max_pool2d(x, 3, 2)
    x = _torch_chain(torch, x, weights, "", [("Conv2d_3b_1x1", 1, 0), ("Conv2d_4a_3x3", 1, 0)])
    x = torch.nn.functional.max_pool2d(x, 3, 2)
    for name, kind in [("Mixed_5b", "A"), ("Mixed_5c", "A"), ("Mixed_5d", "A"),
                       ("Mixed_6a", "B"), ("Mixed_6b", "C"), ("Mixed_6c", "C"),
                       ("Mixed_6d", "C"), ("Mixed_6e", "C"), ("Mixed_7a", "D"),
                       ("Mixed_7b", "E_1"), ("Mixed_7c", "E_2")]:
        x = _torch_block(torch, kind, x, weights, name + ".")
    pool = torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
    return pool, torch.nn.functional.linear(pool, torch.from_numpy(weights["fc.weight"]),
                                            torch.from_numpy(weights["fc.bias"]))


def _scaled_weights(module, seed):
    """float64 random weights that keep activations of order 1 through many layers: He
    scaled convolutions, batch-norm statistics and affine terms away from 0 and 1."""
    rng = np.random.default_rng(seed)
    weights = {}
    for name, value in module.state_dict().items():
        shape = tuple(value.shape)
        if name.endswith("num_batches_tracked"):
            continue
        if name.endswith("running_var"):
            array = rng.uniform(0.5, 1.5, shape)
        elif name.endswith("bn.weight"):
            array = rng.uniform(0.5, 1.5, shape)
        elif name.endswith("weight"):                     # conv (out, in, kh, kw), fc (out, in)
            array = rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[1:]))
        else:                                             # biases, running means
            array = rng.standard_normal(shape) * 0.1
        weights[name] = array
    return weights


@pytest.mark.parametrize("kind, block, in_shape", [
    ("A", lambda: InceptionA(8, pool_features=32), (2, 8, 5, 5)),
    ("B", lambda: InceptionB(8), (2, 8, 7, 7)),
    ("C", lambda: InceptionC(8, channels_7x7=4), (2, 8, 5, 5)),
    ("D", lambda: InceptionD(8), (2, 8, 7, 7)),
    ("E_1", lambda: InceptionE(8, pool="avg"), (2, 8, 3, 3)),
    ("E_2", lambda: InceptionE(8, pool="max"), (2, 8, 3, 3)),
], ids=["A", "B", "C", "D", "E_1", "E_2"])
def test_blocks_match_the_graph_written_in_pytorch(kind, block, in_shape):
    """Each block, with the same float64 weights, gives PyTorch's output to round-off:
    the branches in their order, each branch's paddings and strides, the pools."""
    torch = pytest.importorskip("torch")
    mg.manual_seed(0)
    module = block().double().eval()
    weights = _scaled_weights(module, seed=3)
    module.load_state_dict(weights)
    x = np.random.default_rng(1).standard_normal(in_shape)
    with mg.no_grad():
        ours = module(mg.tensor(x, dtype=mg.float64)).numpy()
    theirs = _torch_block(torch, kind, torch.from_numpy(x), weights).numpy()
    assert ours.shape == theirs.shape
    assert np.abs(theirs).max() > 0.5                   # activations stay of order 1
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)


def test_full_network_matches_the_graph_written_in_pytorch():
    """The whole network at 75 x 75 (every block runs), float64: pool features and
    logits as PyTorch computes them from the same weights."""
    torch = pytest.importorskip("torch")
    net = FIDInceptionV3(resize_input=False).double()
    weights = _scaled_weights(net, seed=4)
    net.load_state_dict(weights)
    x = np.random.default_rng(5).uniform(-1, 1, (1, 3, 75, 75))
    with mg.no_grad():
        features, logits = net(mg.tensor(x, dtype=mg.float64))
    pool, fc = _torch_fid_inception(torch, torch.from_numpy(x), weights)
    assert np.abs(pool.numpy()).max() > 0.1
    np.testing.assert_allclose(features.numpy(), pool.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(logits.numpy(), fc.numpy(), rtol=1e-9, atol=1e-9)


def test_tf_average_pool_ignores_padding():
    x = mg.tensor(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))
    y = _tf_avg_pool(x).numpy()[0, 0]
    assert y[0, 0] == pytest.approx(np.mean([0, 1, 4, 5]))        # corner: 4 real pixels
    assert y[1, 1] == pytest.approx(np.mean([0, 1, 2, 4, 5, 6, 8, 9, 10]))
    np.testing.assert_allclose(_tf_avg_pool(mg.ones(1, 2, 5, 5)).numpy(), 1.0)


def test_full_network_shapes_and_determinism_at_75x75(model):
    """75 x 75 is the smallest input the graph takes; every block runs, 1 x 1 at the end."""
    x = images(2, 75)
    with mg.no_grad():
        features, logits = model(x)
        features2, logits2 = model(x)
    assert features.shape == (2, 2048) and logits.shape == (2, 1008)
    np.testing.assert_array_equal(features.numpy(), features2.numpy())
    np.testing.assert_array_equal(logits.numpy(), logits2.numpy())
    assert np.isfinite(logits.numpy()).all()


def test_prepare_resizes_and_repeats_grey_images():
    x = prepare_images(images(2, 28, channels=1))
    assert x.shape == (2, 3, 299, 299)
    np.testing.assert_array_equal(x.numpy()[:, 0], x.numpy()[:, 2])


def test_full_299_forward_with_random_weights():
    """The real input path: 28 x 28 grey digits -> 299 x 299 x 3 -> 2048 + 1008 (about
    2 s for this batch of 2 on two CPU cores, so not marked slow)."""
    mg.manual_seed(0)
    net = FIDInceptionV3()
    with mg.no_grad():
        features, logits = net(images(2, 28, channels=1))
    assert features.shape == (2, 2048) and logits.shape == (2, 1008)
    assert np.isfinite(features.numpy()).all()


# ---------------------------------------------------------------- weights
@pytest.fixture(scope="module")
def random_weights(model):
    """Every tensor of pytorch-fid's state dict (its names), with random values."""
    rng = np.random.default_rng(2)
    weights = {}
    for name, value in model.state_dict().items():
        if name.endswith("num_batches_tracked"):
            continue
        array = rng.standard_normal(value.shape).astype(np.float32) * 0.01
        if name.endswith("running_var"):
            array = np.abs(array) + 1.0
        weights[name] = array
    return weights


def test_standard_names_are_pytorch_fids(random_weights):
    for name, shape in [("Conv2d_1a_3x3.conv.weight", (32, 3, 3, 3)),
                        ("Conv2d_1a_3x3.bn.running_var", (32,)),
                        ("Mixed_5b.branch1x1.conv.weight", (64, 192, 1, 1)),
                        ("Mixed_6b.branch7x7_2.conv.weight", (128, 128, 1, 7)),
                        ("Mixed_7c.branch3x3dbl_3b.bn.bias", (384,)),
                        ("fc.weight", (1008, 2048)), ("fc.bias", (1008,))]:
        assert random_weights[name].shape == shape
    assert len(random_weights) == 94 * 5 + 2     # 94 conv layers (conv + 4 bn tensors), fc


def test_load_inception_from_npz(tmp_path, random_weights):
    path = tmp_path / "fid_inception.npz"
    np.savez(path, **random_weights)
    net = load_inception(path, resize_input=False)
    state = net.state_dict()
    for name in ("Conv2d_1a_3x3.conv.weight", "Mixed_6e.branch_pool.bn.running_mean",
                 "fc.weight"):
        np.testing.assert_array_equal(state[name].numpy(), random_weights[name])
    with mg.no_grad():
        features, logits = net(images(1, 75))
    assert features.shape == (1, 2048) and logits.shape == (1, 1008)


def test_load_inception_names_missing_and_wrong_shaped_tensors(tmp_path, random_weights):
    broken = dict(random_weights)
    del broken["Mixed_6c.branch7x7dbl_3.conv.weight"]
    broken["fc.weight"] = np.zeros((1000, 2048), np.float32)      # torchvision's 1000 classes
    path = tmp_path / "broken.npz"
    np.savez(path, **broken)
    with pytest.raises(ValueError) as info:
        load_inception(path)
    message = str(info.value)
    assert "1 missing: Mixed_6c.branch7x7dbl_3.conv.weight" in message
    assert "fc.weight: expected (1008, 2048), got (1000, 2048)" in message
    with pytest.raises(FileNotFoundError, match="convert_fid_inception"):
        load_inception(tmp_path / "nowhere.npz")
