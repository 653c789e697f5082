"""The generated derivative overview is up to date with the ops' docstrings, every
Function in minigrad/ops documents its math, and docs/tour.md points at files and functions
that exist."""
import re
import subprocess
import sys
from pathlib import Path

import minigrad.ops  # noqa: F401
from minigrad.autograd import Function

ROOT = Path(__file__).resolve().parents[1]


def _all_functions(cls=Function):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_functions(sub)


def test_every_op_has_a_docstring():
    missing = [f.__qualname__ for f in _all_functions()
               if f.__module__.startswith("minigrad.ops") and not f.__dict__.get("__doc__")]
    assert not missing, f"Functions without a docstring: {missing}"


def test_derivatives_md_is_up_to_date():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_derivatives.py"),
                           "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def _backticked(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def test_tour_names_files_that_exist():
    """docs/tour.md is a reading order: every path it names must be there to open."""
    tour = (ROOT / "docs" / "tour.md").read_text()
    paths = [t for t in _backticked(tour) if "/" in t and " " not in t]
    assert len(paths) > 50, paths
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, f"docs/tour.md names paths that do not exist: {missing}"


def test_tour_concept_table_names_functions_defined_in_its_files():
    """In the table of a GAN course's concepts, each function or class in the third column
    is defined (`def name` / `class name`) in one of the files of the second column."""
    tour = (ROOT / "docs" / "tour.md").read_text()
    rows = [line.split("|")[1:-1] for line in tour.splitlines()
            if line.startswith("| ") and "`" in line]
    assert len(rows) >= 15, rows
    wrong = []
    for concept, files, names, _example in rows:
        sources = ""
        for path in _backticked(files):
            target = ROOT / path
            for file in sorted(target.rglob("*.py")) if target.is_dir() else [target]:
                sources += file.read_text()
        for name in _backticked(names):
            last = re.match(r"[\w.]+", name).group().split(".")[-1]   # Trainer._update_ema
            if not re.search(rf"^\s*(def|class) {last}\b", sources, re.MULTILINE):
                wrong.append(f"{concept.strip()}: {name}")
    assert not wrong, f"docs/tour.md's concept table names what its files lack: {wrong}"


def test_the_differences_docs_pytorch_md_lists_hold():
    """Each row of docs/pytorch.md's table, checked, so the page cannot drift."""
    import numpy as np
    import pytest

    import minigrad as mg
    import minigrad.nn.functional as F

    page = (ROOT / "docs" / "pytorch.md").read_text()
    assert "| `mg.tensor(numpy_float64_array)`" in page
    assert mg.tensor(np.zeros(2)).dtype == mg.float32
    p = mg.zeros(2, requires_grad=True)
    (p * p).sum().backward()
    adam = mg.optim.Adam([p])
    adam.step()
    assert type(adam.state[p]["step"]) is int and isinstance(adam.state[p]["exp_avg"],
                                                             np.ndarray)
    assert isinstance(mg.tensor([1.0]).data, np.ndarray)              # p.data: the array
    assert mg.tensor([1.0, 3.0]).var().item() == 1.0                  # biased
    x = mg.tensor([1.0, -2.0], requires_grad=True)
    g, = mg.grad(x.relu().sum(), x, create_graph=True)
    assert not g.requires_grad                                        # no edge back to x
    y = x * 2.0
    alias = y
    y += 1.0
    assert alias is not y and alias.numpy().tolist() == [2.0, -4.0]
    (x * 2.0).sum().backward()
    first = x.grad
    (x * 2.0).sum().backward()
    assert first is not x.grad and first.numpy().tolist() == [2.0, 2.0]
    with pytest.raises(ValueError, match="must be equal"):
        F.mse_loss(mg.zeros(4, 1), mg.zeros(4))
    mixed = mg.zeros(2, 2) @ mg.zeros(2, 2, dtype=mg.float64)
    assert mixed.dtype == mg.float64
    assert mg.tensor([1.0, 2.0])[::-1].numpy().tolist() == [2.0, 1.0]
    assert mg.empty(3).numpy().tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(RuntimeError, match="computed by Mul"):
        (x * x).add_(1.0)
    z = (x * 2.0).sum()
    z.backward()
    z.backward()                                                      # saved nothing: runs
    z = (x * x).sum()
    z.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        z.backward()
    with pytest.warns(UserWarning, match="one image"):
        kept = F.dropout2d(mg.ones(4, 2, 2), 0.5)
    per_channel = kept.numpy().reshape(4, -1)
    assert (per_channel.min(1) == per_channel.max(1)).all()            # whole channels
    with pytest.raises(ValueError, match="beta must be nonzero"):
        F.softplus(mg.ones(2), beta=0)
    with pytest.raises(TypeError, match="use mg.zeros"):
        mg.Tensor(2, 3)
    signal = mg.tensor([[list(range(7))]], dtype=mg.float64, requires_grad=True)
    resized = F.interpolate(signal, scale_factor=1.1)
    assert resized.numpy().ravel().tolist() == [0, 0, 1, 2, 3, 4, 5]     # PyTorch's samples
    resized.sum().backward()
    assert signal.grad.numpy().ravel().tolist() == [2, 1, 1, 1, 1, 1, 0]  # their adjoint
    assert mg.FloatTensor(2, 3).shape == (2, 3) and mg.device("cuda") == "cuda"
    assert mg.device("cuda:0").type == "cuda" and mg.cuda.is_available() == mg.gpu_available()
    with pytest.raises(mg.SerializationError, match=r"state_dict\(\)"):
        mg.save(mg.nn.Linear(2, 2), ROOT / "never-written.npz")
    assert isinstance(mg.zeros(2).shape, tuple) and mg.zeros(2).dtype == np.float32
    p = mg.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="more than once"):
        mg.optim.SGD([p, p])
    norm = mg.nn.BatchNorm1d(2)
    with pytest.raises(RuntimeError, match="int64"):
        norm.load_state_dict({**norm.state_dict(), "num_batches_tracked": mg.tensor(3.0)})
    with pytest.raises(NotImplementedError, match="capturable=True"):
        mg.optim.Adam([p], capturable=True)
