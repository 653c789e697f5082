"""The MNIST classifier shipped with the package: a small CNN whose penultimate features
give "MNIST-FID" and whose softmax gives the MNIST Inception Score and the class
histogram of mode coverage.

    x (N, 1, 28, 28) in [-1, 1]
    -> Conv(1 -> 16, 3x3, pad 1), ReLU, MaxPool 2   (N, 16, 14, 14)
    -> Conv(16 -> 32, 3x3, pad 1), ReLU, MaxPool 2  (N, 32, 7, 7)
    -> flatten (N, 1568) -> Linear 128, ReLU        (N, 128)  = features(x)
    -> Linear 10                                    (N, 10)   = logits; probs = softmax

207k parameters, 0.8 MB as float32 in gans/data_files/mnist_classifier.npz.

Data and split: trained by `examples/train_mnist_classifier.py` with minigrad on the
digits shipped in gans/data_files/mnist-10k, the FIRST 8,000 of the 10,000 (what
`gans.data.load_mnist(split="train")` returns when no canonical MNIST is found), and
evaluated on the LAST 2,000 (`split="test"`), which it never saw. `shipped_digits()`
returns exactly these parts, whatever MNIST files are on the machine. The stated
held-out accuracy (98.1% for the shipped weights; the package promises at least 97%) is
stored in the weight file's metadata and checked by tests/test_metrics.py. Numbers from
this network are "MNIST-FID"/"MNIST-IS": comparable with each other, not with Inception
FIDs or with other papers' MNIST classifiers.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from gans.data import SHIPPED_DIR, SHIPPED_TRAIN_SIZE, read_idx, to_float_images

WEIGHTS = Path(__file__).resolve().parent.parent / "data_files" / "mnist_classifier.npz"
NUM_FEATURES = 128


class MNISTClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, NUM_FEATURES)
        self.fc2 = nn.Linear(NUM_FEATURES, 10)

    def features(self, x):
        """The penultimate activations (N, 128) of images (N, 1, 28, 28) in [-1, 1]."""
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)           # (N, 16, 14, 14)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)           # (N, 32, 7, 7)
        return F.relu(self.fc1(h.flatten(1)))                # (N, 128)

    def forward(self, x):
        """Logits (N, 10)."""
        return self.fc2(self.features(x))

    def probs(self, x):
        """Class probabilities (N, 10)."""
        return F.softmax(self.forward(x), dim=1)


def shipped_digits(split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 28, 28), labels (N,)) of the shipped 10k digits: "train" = the
    first 8,000, "test" = the last 2,000 (the classifier's split), "all" = 10,000."""
    images = read_idx(SHIPPED_DIR / "images-idx3-ubyte.gz")
    labels = read_idx(SHIPPED_DIR / "labels-idx1-ubyte.gz")
    part = {"train": slice(0, SHIPPED_TRAIN_SIZE), "test": slice(SHIPPED_TRAIN_SIZE, None),
            "all": slice(None)}
    if split not in part:
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    return images[part[split]], labels[part[split]]


def as_model_input(images) -> np.ndarray:
    """uint8 (N, 28, 28) / float (N, 28, 28) or (N, 1, 28, 28) in [-1, 1] / a Tensor ->
    float32 (N, 1, 28, 28) in [-1, 1] (numpy)."""
    if isinstance(images, mg.Tensor):
        images = images.numpy()
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return to_float_images(images)
    images = images.astype(np.float32, copy=False)
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim != 4 or images.shape[1:] != (1, 28, 28):
        raise ValueError(f"expected MNIST images (N, 28, 28) or (N, 1, 28, 28), got "
                         f"{images.shape}")
    return images


def extract(model: MNISTClassifier, images, batch_size: int = 500,
            device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """(features (N, 128), probs (N, 10)) as float64 numpy arrays, in eval mode, without
    the tape, `batch_size` images at a time."""
    x = as_model_input(images)
    was_training = model.training
    model.eval()
    feats, probs = [], []
    with mg.no_grad():
        for start in range(0, len(x), batch_size):
            batch = mg.tensor(x[start:start + batch_size], device=device)
            f = model.features(batch)
            feats.append(f.numpy().astype(np.float64))
            probs.append(F.softmax(model.fc2(f), dim=1).numpy().astype(np.float64))
    model.train(was_training)
    return np.concatenate(feats), np.concatenate(probs)


def accuracy(model: MNISTClassifier, images, labels, device: str = "cpu") -> float:
    """Fraction of images whose most probable class is the label."""
    _, probs = extract(model, images, device=device)
    return float((probs.argmax(1) == np.asarray(labels)).mean())


_CACHE: dict = {}


def load_classifier(path=None, device: str = "cpu") -> MNISTClassifier:
    """The shipped classifier (or the one saved at `path` by
    examples/train_mnist_classifier.py), in eval mode. Loaded once per process and
    device; treat it as read-only. Its metadata (accuracy, split, training time) is in
    `model.meta`."""
    path = Path(path) if path is not None else WEIGHTS
    key = (str(path.resolve()), device)
    if key in _CACHE:
        return _CACHE[key]
    if not path.exists():
        raise FileNotFoundError(f"MNIST classifier weights {path} not found; train them "
                                f"with `python examples/train_mnist_classifier.py`")
    state = mg.load(path)
    if not isinstance(state, dict) or not isinstance(state.get("state_dict"), dict):
        if isinstance(state, dict):
            keys = sorted(state)
            found = ", ".join(map(repr, keys[:5])) + (f", ... ({len(keys)} entries)"
                                                      if len(keys) > 5 else "")
        else:
            found = type(state).__name__
        raise ValueError(f"load_classifier: {path} is not an MNIST classifier checkpoint (as "
                         f"examples/train_mnist_classifier.py saves): no 'state_dict' entry, "
                         f"it holds {found}")
    with mg.backend.fork_rng():       # its random initial weights are overwritten: their
        model = MNISTClassifier()     # draws must not move a training run's stream
    try:
        model.load_state_dict(state["state_dict"])
        model.meta = json.loads(state.get("meta", "{}"))
    except (RuntimeError, ValueError) as error:
        raise ValueError(f"load_classifier: {path} does not hold this classifier: "
                         f"{error}") from error
    model.eval()
    model.requires_grad_(False)
    _CACHE[key] = model.to(device)
    return _CACHE[key]
