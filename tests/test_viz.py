"""minigrad.viz: the graph drawer (dot text, PNG) and the backward trace."""
import io

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
from minigrad import autograd, viz


def _tiny():
    """y = sum(tanh(w * x + b)) with w, b parameters and x data."""
    w = mg.tensor([1.0, -2.0, 0.5], requires_grad=True)
    b = mg.tensor([0.1, 0.2, 0.3], requires_grad=True)
    x = mg.tensor([3.0, 1.0, -1.0])
    y = ((w * x + b).tanh()).sum()
    return y, w, b


def test_dot_text_has_the_expected_nodes():
    y, w, b = _tiny()
    dot = viz.to_dot(y, params={"w": w, "b": b})
    assert dot.startswith("digraph minigrad {") and dot.rstrip().endswith("}")
    for op in ("Mul", "Add", "Tanh", "Sum"):
        assert f'label="{op}"' in dot
    assert 'label="w\\n(3)"' in dot and 'label="b\\n(3)"' in dot     # named parameters
    assert 'label="const\\n(3)"' in dot                               # x: no grad
    assert dot.count('fillcolor="#a6cee3"') == 2                      # w, b highlighted
    assert 'label="()"' in dot                                        # the scalar root
    graph = viz.build_graph(y)
    ops = [k for k, (_, kind) in graph.nodes.items() if kind.startswith("op")]
    assert len(ops) == viz.count_functions(y) == 4
    assert dot.count(" -> ") == len(graph.edges)


def test_dot_text_of_a_leaf_and_without_constants():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    assert 'shape=ellipse' in viz.to_dot(w)
    y, _, _ = _tiny()
    assert "const" not in viz.to_dot(y, show_constants=False)


def test_backward_pass_recorded_with_create_graph_is_marked():
    """The WGAN-GP picture: the gradient penalty's graph is built by the backward pass."""
    mg.manual_seed(0)
    D = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    x = mg.randn(3, 2, requires_grad=True)
    scores = D(x)
    (g,) = mg.grad(scores.sum(), x, create_graph=True)
    gp = ((g * g).sum(dim=1).sqrt() - 1.0).pow(2).mean()
    graph = viz.build_graph(gp, params=dict(D.named_parameters()), grads=g, outputs=scores)
    kinds = {label: kind for label, kind in graph.nodes.values()}
    assert kinds["Tanh"] == "op"                # forward: tanh's backward reuses its output
    for name in ("MatMul", "Mul", "AddScalar"):                 # the backward of Linear,
        assert any(label == name and kind == "op_backward"        # Tanh (1 - y^2) ...
                   for label, kind in graph.nodes.values())
    assert [k for label, k in graph.nodes.values() if label == "Sqrt"] == ["op"]  # after
    assert any(label.startswith("0.weight") for label in kinds)
    assert 'fillcolor="#fdb863"' in viz.to_dot(gp, grads=g, outputs=scores)
    assert 'fillcolor="#fdb863"' not in viz.to_dot(gp)
    compact = viz.build_graph(gp, show_tensors=False)
    assert all(kind != "tensor" for _, kind in compact.nodes.values())
    assert any(label == "(3, 4)" for _, _, label in compact.edges)


def test_trace_prints_one_line_per_backward_node():
    y, w, b = _tiny()
    n_functions = viz.count_functions(y)
    out = io.StringIO()
    with mg.autograd.trace(file=out) as records:
        y.backward()
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == len(records) == n_functions == 4
    assert [r.name for r in records] == ["Sum", "Tanh", "Add", "Mul"]   # root first
    assert "Sum" in lines[0] and "|grad out| 1" in lines[0]
    # the norms are those of the gradients: Mul sends dy/dw = x * (1 - tanh^2) to w
    t = np.tanh(np.array([1.0, -2.0, 0.5]) * [3.0, 1.0, -1.0] + [0.1, 0.2, 0.3])
    expected = np.linalg.norm(np.array([3.0, 1.0, -1.0]) * (1 - t * t))
    assert records[-1].grad_input_norms[0] == pytest.approx(expected, rel=1e-5)
    assert records[-1].grad_input_norms[1] is None                    # x needs none
    assert autograd._backward_trace is None                           # hook restored


def test_trace_counts_a_double_backward():
    mg.manual_seed(0)
    D = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    x = mg.randn(4, 2, requires_grad=True)
    (g,) = mg.grad(D(x).sum(), x, create_graph=True)
    penalty = (g * g).sum()
    n = viz.count_functions(penalty)
    with viz.trace(quiet=True) as records:
        penalty.backward()
    assert len(records) == n


def test_trace_restores_the_previous_hook_on_error():
    y, _, _ = _tiny()
    with pytest.raises(ZeroDivisionError):
        with viz.trace(quiet=True):
            1 / 0
    assert autograd._backward_trace is None
    assert mg.autograd.trace is viz.trace


def test_draw_graph_matplotlib_fallback(tmp_path):
    y, w, b = _tiny()
    path = viz.draw_graph(y, tmp_path / "g.png", params={"w": w}, engine="matplotlib",
                          title="tiny")
    assert path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- gans.viz: training pictures
def test_make_gif_skips_missing_frames_and_says_how_many(tmp_path, capsys):
    from PIL import Image

    from gans import viz as gans_viz

    frames = [gans_viz.save_grid(np.full((4, 1, 8, 8), v), tmp_path / f"f{i}.png")
              for i, v in enumerate((-1.0, 0.0))]
    gif = gans_viz.make_gif(frames, tmp_path / "all.gif")
    assert capsys.readouterr().out == ""                     # nothing missing: nothing said
    with Image.open(gif) as image:
        assert image.n_frames == 2
    gif = gans_viz.make_gif([tmp_path / "gone.png"] + frames, tmp_path / "some.gif")
    assert "some.gif: 1 of 3 frame(s) not found and skipped" in capsys.readouterr().out
    with Image.open(gif) as image:
        assert image.n_frames == 2
    assert gans_viz.make_gif([tmp_path / "gone.png"], tmp_path / "none.gif") is None


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    """A full disk while losses.png is written: the old picture stays whole, no .tmp."""
    import matplotlib.figure

    from gans import viz as gans_viz

    path = gans_viz.plot_losses({"loss_d": [1.0, 2.0]}, tmp_path / "losses.png")
    before = path.read_bytes()

    def disk_full(self, target, **kwargs):
        with open(target, "wb") as f:
            f.write(b"\x89PNG half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", disk_full)
    with pytest.raises(OSError, match="No space left"):
        gans_viz.plot_losses({"loss_d": [3.0]}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["losses.png"]
    monkeypatch.undo()
    pdf = gans_viz.plot_losses({"loss_d": [1.0]}, tmp_path / "losses.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")                 # the format of its suffix


def test_pictures_get_the_usual_file_mode(tmp_path):
    """Written through a temporary file, yet readable by others as open() would make it."""
    import os

    from gans import viz as gans_viz

    umask = os.umask(0)
    os.umask(umask)
    path = gans_viz.save_grid(np.zeros((4, 1, 8, 8), dtype=np.float32), tmp_path / "g.png")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("shape, message", [
    ((8, 8), r"images must be a batch \(N, C, H, W\) or \(N, H, W\), got shape \(8, 8\)"),
    ((1, 1, 1, 8, 8), r"images must be a batch .* got shape \(1, 1, 1, 8, 8\)"),
    ((0, 1, 8, 8), r"no images to tile \(shape \(0, 1, 8, 8\)\)"),
    ((4, 8, 8, 3), r"images must have 1 or 3 channels, channels first \(N, C, H, W\); got "
                   r"shape \(4, 8, 8, 3\)\. For channels last \(N, H, W, C\) pass "
                   r"images\.transpose\(0, 3, 1, 2\)"),
    ((4, 2, 8, 8), r"images must have 1 or 3 channels.*\(4, 2, 8, 8\)")])
def test_make_grid_refuses_what_it_cannot_tile(shape, message):
    from gans import viz as gans_viz

    with pytest.raises(ValueError, match="make_grid: " + message):
        gans_viz.make_grid(np.zeros(shape))


def test_make_grid_refuses_nrow_below_one_and_keeps_its_layouts():
    from gans import viz as gans_viz

    for nrow in (0, -1):
        with pytest.raises(ValueError, match=rf"make_grid: nrow \(images per row\) must be at "
                                             rf"least 1, got {nrow}"):
            gans_viz.make_grid(np.zeros((4, 1, 8, 8)), nrow=nrow)
    assert gans_viz.make_grid(np.zeros((4, 8, 8)), nrow=2).shape == (22, 22)
    assert gans_viz.make_grid(np.zeros((4, 3, 8, 8)), nrow=4).shape == (12, 42, 3)


def test_save_grid_names_an_extension_pillow_cannot_write(tmp_path):
    from PIL import Image

    from gans import viz as gans_viz

    for name, suffix in (("grid.xyz", "'.xyz'"), ("grid", "''")):
        path = tmp_path / "new" / name
        with pytest.raises(ValueError, match=rf"save_grid: cannot write .*{name}: Pillow "
                                             rf"writes no image format with the extension "
                                             rf"{suffix}; use \.png"):
            gans_viz.save_grid(np.zeros((4, 1, 8, 8)), path)
        assert not (tmp_path / "new").exists()                  # nothing written, no folder
    for name in ("grid.jpg", "grid.PNG", "grid.tif"):           # ".tif" was written as "TIF"
        with Image.open(gans_viz.save_grid(np.zeros((4, 1, 8, 8)), tmp_path / name)) as image:
            assert image.size == (2 * 22, 2 * 22)
