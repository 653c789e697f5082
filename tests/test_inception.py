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
