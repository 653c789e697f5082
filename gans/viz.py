"""Pictures of training: sample grids (PNG), loss curves (PNG), and a GIF of the grids.

Uses matplotlib's non-interactive Agg backend and Pillow; nothing opens a window.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .data import write_atomically


def _to_numpy(images) -> np.ndarray:
    data = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
    if data.ndim == 3:                       # (N, H, W) -> (N, 1, H, W)
        data = data[:, None]
    return data


def make_grid(images, nrow: int | None = None, padding: int = 2,
              value_range=(-1.0, 1.0)) -> np.ndarray:
    """Tile a batch (N, C, H, W) into one uint8 image (rows, cols[, 3]), like torchvision's
    make_grid: values in `value_range` map to 0..255, `nrow` images per row."""
    data = _to_numpy(images).astype(np.float64)
    if data.ndim != 4:
        raise ValueError(f"make_grid: images must be a batch (N, C, H, W) or (N, H, W), got "
                         f"shape {data.shape}")
    n, c, h, w = data.shape
    if n == 0:
        raise ValueError(f"make_grid: no images to tile (shape {data.shape})")
    if c not in (1, 3):       # (N, H, W, 3) would be read as C = H and tiled as garbage
        raise ValueError(f"make_grid: images must have 1 or 3 channels, channels first "
                         f"(N, C, H, W); got shape {data.shape}. For channels last "
                         f"(N, H, W, C) pass images.transpose(0, 3, 1, 2)")
    if nrow is not None and nrow < 1:
        raise ValueError(f"make_grid: nrow (images per row) must be at least 1, got {nrow}")
    nrow = nrow or int(math.ceil(math.sqrt(n)))
    ncol_rows = int(math.ceil(n / nrow))
    low, high = value_range
    data = np.clip((data - low) / (high - low), 0.0, 1.0)
    grid = np.ones((c, ncol_rows * (h + padding) + padding, nrow * (w + padding) + padding))
    for i in range(n):
        r, q = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + q * (w + padding)
        grid[:, top:top + h, left:left + w] = data[i]
    grid = (grid * 255 + 0.5).astype(np.uint8)
    return grid[0] if c == 1 else np.transpose(grid, (1, 2, 0))


def save_grid(images, path, nrow: int | None = None, scale: int = 2) -> Path:
    """Write a sample grid as a PNG (each pixel enlarged `scale` times)."""
    from PIL import Image  # noqa: PLC0415

    path = Path(path)
    _image_format(path)               # refuse an unknown extension before drawing anything
    grid = make_grid(images, nrow)
    image = Image.fromarray(grid)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_image_save(image, path)
    return path


def _image_format(path: Path) -> str:
    """Pillow's name for the format of path's extension ('.png' -> 'PNG', '.jpg' -> 'JPEG');
    a ValueError names an extension Pillow cannot write."""
    from PIL import Image  # noqa: PLC0415

    name = Image.registered_extensions().get(path.suffix.lower())
    if name not in Image.SAVE:
        raise ValueError(f"save_grid: cannot write {path}: Pillow writes no image format "
                         f"with the extension {path.suffix!r}; use .png")
    return name


def _atomic_image_save(image, path: Path, **kwargs) -> None:
    write_atomically(path, lambda tmp: image.save(tmp, format=_image_format(path), **kwargs))




def plot_losses(history: dict, path, title: str = "GAN losses") -> Path:
    """Loss curves: history maps a name ('loss_d', 'loss_g', 'd_real', ...) to a list of
    (step, value) pairs or values."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, (ax_loss, ax_d) = plt.subplots(1, 2, figsize=(10, 3.5))
    for name, values in history.items():
        if not values:
            continue
        values = np.asarray(values, dtype=np.float64)
        steps, ys = (values[:, 0], values[:, 1]) if values.ndim == 2 else (
            np.arange(len(values)), values)
        ax = ax_loss if name.startswith("loss") else ax_d
        ax.plot(steps, ys, label=name, linewidth=1)
    ax_loss.set_title(title)
    ax_d.set_title("discriminator outputs")
    for ax in (ax_loss, ax_d):
        ax.set_xlabel("step")
        if ax.lines:
            ax.legend()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_atomically(path, lambda tmp: fig.savefig(
            tmp, dpi=100, format=path.suffix.lstrip(".") or "png"))   # (tmp ends in .part)
    finally:
        plt.close(fig)
    return path


def make_gif(frame_paths, path, duration_ms: int = 400) -> Path | None:
    """Assemble PNG frames into an animated GIF (None when there are no frames). Frames
    whose file is missing (deleted, or left in a run's old folder) are skipped, and a line
    says how many."""
    from PIL import Image  # noqa: PLC0415

    frame_paths = [Path(p) for p in frame_paths]
    found = [p for p in frame_paths if p.is_file()]
    if len(found) < len(frame_paths):
        missing = next(p for p in frame_paths if p not in found)
        print(f"{Path(path).name}: {len(frame_paths) - len(found)} of {len(frame_paths)} "
              f"frame(s) not found and skipped (e.g. {missing})")
    frames = [Image.open(p).convert("P") for p in found]
    if not frames:
        return None
    path = Path(path)
    write_atomically(path, lambda tmp: frames[0].save(
        tmp, format="GIF", save_all=True, append_images=frames[1:], duration=duration_ms,
        loop=0))
    return path
