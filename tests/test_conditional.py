"""The conditional GANs of gans/models/conditional.py: shapes, label errors, that the label
really conditions both networks, the projection discriminator's first and second
derivatives (what an R1 or WGAN-GP penalty needs), a state_dict round trip, and
examples/cgan_mnist.py's metrics.json (its DCGAN run is in tests/test_examples.py)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from gans.models import (ConditionalDCGANDiscriminator, ConditionalDCGANGenerator,
                         ConditionalMLPDiscriminator, ConditionalMLPGenerator, weights_init)

Z_DIM = 8
GENERATORS = {"mlp": lambda: ConditionalMLPGenerator(Z_DIM, hidden=(16,)),
              "dcgan": lambda: ConditionalDCGANGenerator(Z_DIM, width=4)}
DISCRIMINATORS = {"mlp": lambda: ConditionalMLPDiscriminator(hidden=(16,)),
                  "dcgan": lambda: ConditionalDCGANDiscriminator(width=4)}


def _pair(kind, device):
    G, D = GENERATORS[kind]().to(device), DISCRIMINATORS[kind]().to(device)
    G.apply(weights_init)
    D.apply(weights_init)
    return G, D


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
def test_shapes(kind, device):
    G, D = _pair(kind, device)
    labels = mg.tensor([0, 3, 9], device=device)               # int64 (3,)
    images = G(mg.randn(3, Z_DIM, device=device), labels)
    assert images.shape == (3, 1, 28, 28) and images.device == device
    assert -1 <= images.min().item() and images.max().item() <= 1    # tanh
    logits = D(images, labels)
    assert logits.shape == (3,) and logits.dtype == mg.float32


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
@pytest.mark.parametrize("network", ["G", "D"])
@pytest.mark.parametrize("labels, error, words", [
    (np.array([0, 1]), TypeError, "must be an int64 Tensor"),
    (mg.tensor([0.0, 1.0]), TypeError, "int64 class indices"),
    (mg.tensor([0, 1], dtype=mg.int32), TypeError, "labels.long()"),
    (mg.tensor([[0], [1]]), ValueError, r"shape \(2,\)"),
    (mg.tensor([0, 1, 2]), ValueError, r"shape \(2,\)"),
    (mg.tensor([0, 10]), ValueError, r"0\.\.9"),
    (mg.tensor([-1, 0]), ValueError, r"0\.\.9"),
])
def test_wrong_labels_are_named(kind, network, labels, error, words):
    G, D = _pair(kind, "cpu")
    name = type(G if network == "G" else D).__name__
    with pytest.raises(error, match=words) as caught:
        if network == "G":
            G(mg.randn(2, Z_DIM), labels)
        else:
            D(mg.randn(2, 1, 28, 28), labels)
    assert name in str(caught.value)


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
def test_the_label_conditions_both_networks(kind, device):
    G, D = _pair(kind, device)
    G.eval()                             # batch norm's running statistics: rows independent
    D.eval()
    z = mg.randn(1, Z_DIM, device=device).repeat(10, 1)         # one z, ten times
    digits = mg.arange(10, device=device)
    with mg.no_grad():
        images = G(z, digits).numpy().reshape(10, -1)            # (10, 784)
        same = mg.tensor(np.repeat(images[:1], 10, 0).reshape(10, 1, 28, 28), device=device)
        logits = D(same, digits).numpy()                         # one image, ten labels
    gaps = np.abs(images[:, None] - images[None]).max(axis=2)    # (10, 10)
    assert (gaps + np.eye(10) > 1e-4).all(), "two labels gave the same image"
    assert len(set(logits.tolist())) == 10, logits


@pytest.mark.parametrize("norm", ["batch", "none"])
def test_projection_discriminator_gradcheck_and_gradgradcheck(norm, device):
    """Tiny (8x8, width 2, 3 classes), float64. With norm="batch" (training mode) the batch
    statistics are part of the graph: every image's logit depends on the others."""
    D = ConditionalDCGANDiscriminator(image_size=8, num_classes=3, width=2,
                                      norm=norm).to(device).double()
    labels = mg.tensor([0, 2, 2], device=device)
    x = mg.tensor(np.random.default_rng(0).standard_normal((3, 1, 8, 8)),
                  dtype=mg.float64, device=device, requires_grad=True)
    assert mg.gradcheck(lambda x: D(x, labels), (x,))
    assert mg.gradgradcheck(lambda x: D(x, labels), (x,))


def test_projection_is_linear_plus_inner_product():
    D = ConditionalDCGANDiscriminator(image_size=8, num_classes=3, width=2)
    D.eval()
    x, labels = mg.randn(4, 1, 8, 8), mg.tensor([0, 1, 2, 1])
    with mg.no_grad():
        h = D.features(x).numpy()                                        # (4, F)
        expected = (h @ D.linear.weight.numpy().T)[:, 0] + D.linear.bias.numpy() \
            + (D.label_embedding.weight.numpy()[labels.numpy()] * h).sum(1)
        np.testing.assert_allclose(D(x, labels).numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
def test_state_dict_round_trip(kind, tmp_path):
    G, D = _pair(kind, "cpu")
    G.eval()
    D.eval()
    z, labels = mg.randn(4, Z_DIM), mg.tensor([1, 2, 3, 4])
    mg.save({"G": G.state_dict(), "D": D.state_dict()}, tmp_path / "cgan.npz")
    state = mg.load(tmp_path / "cgan.npz")
    G2, D2 = GENERATORS[kind](), DISCRIMINATORS[kind]()          # fresh random weights
    G2.load_state_dict(state["G"])
    D2.load_state_dict(state["D"])
    G2.eval()
    D2.eval()
    with mg.no_grad():
        images = G(z, labels)
        np.testing.assert_array_equal(G2(z, labels).numpy(), images.numpy())
        np.testing.assert_array_equal(D2(images, labels).numpy(), D(images, labels).numpy())
    assert any("label_embedding" in key for key in state["D"])


def test_bad_image_size_is_named():
    with pytest.raises(ValueError, match="ConditionalDCGANGenerator: image_size"):
        ConditionalDCGANGenerator(image_size=30)
    with pytest.raises(ValueError, match="ConditionalDCGANDiscriminator: image_size"):
        ConditionalDCGANDiscriminator(image_size=30)


@pytest.mark.slow
def test_the_example_writes_its_label_accuracy(tmp_path):
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(root), MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, str(root / "examples" / "cgan_mnist.py"),
                           "--model", "mlp", "--offline", "--device", "cpu",
                           "--max-steps", "2", "--out", "out"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert 0 <= metrics["label_accuracy"] <= 1 and len(metrics["per_digit"]) == 10
    assert metrics["samples"] == 1000 and metrics["steps"] == 2
    assert f"label accuracy {metrics['label_accuracy']:.1%}" in done.stdout
    assert (tmp_path / "out" / "epoch001.png").is_file()
