"""Small pieces shared by the command line and the example scripts."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import minigrad as mg


def add_device_argument(parser) -> None:
    parser.add_argument("--device", default="auto", choices=["cpu", "gpu", "cuda", "auto"],
                        help="cpu, gpu (needs CuPy and a CUDA device) or auto (gpu if "
                             "available)")


def positive_int(text: str) -> int:
    """argparse's type for a count that must be at least 1 (a batch size)."""
    return _whole_number(text, smallest=1)


def non_negative_int(text: str) -> int:
    """argparse's type for a whole number that may be 0 (a seed)."""
    return _whole_number(text, smallest=0)


def _whole_number(text: str, smallest: int) -> int:
    import argparse  # noqa: PLC0415

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < smallest:
        raise argparse.ArgumentTypeError(f"must be at least {smallest}, got {value}")
    return value


def finite_float(text: str) -> float:
    """argparse's type for a number that must be finite: a nan or inf learning rate or
    penalty weight would train on, and save a checkpoint of nan weights."""
    import argparse  # noqa: PLC0415
    import math  # noqa: PLC0415

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """argparse's type for a finite number >= 0 (a learning rate, a penalty weight)."""
    import argparse  # noqa: PLC0415

    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def check_out_folder(out, resuming: bool) -> None:
    """Before any work: --out must be a folder (or not exist yet), and a fresh run must
    not write over another run's checkpoint there (pass --resume to continue it)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        fail(f"--out {out} is a file, not a folder")
    if any(parent.exists() and not parent.is_dir() for parent in out.parents):
        fail(f"--out {out}: a part of that path is a file, not a folder")
    if not resuming and (out / "checkpoint.npz").exists():
        fail(f"{out} already holds a run ({out / 'checkpoint.npz'}); pass --resume "
             f"{out / 'checkpoint.npz'} to continue it, or another --out")


def fail(message) -> NoReturn:
    """Print `error: message` to stderr and exit with status 2 (argparse's code for a bad
    command line): a one-line message instead of a traceback."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def resolve_device(name: str) -> str:
    """'auto' -> 'gpu' when CuPy sees a device, else 'cpu'. 'gpu' without one exits with a
    message that says how to install CuPy (not a traceback)."""
    if name == "auto":
        return "gpu" if mg.gpu_available() else "cpu"
    device = mg.backend.normalize_device(name)
    if device == "gpu" and not mg.gpu_available():
        try:
            mg.backend.cupy()
        except RuntimeError as exc:
            fail(exc)
        fail("CuPy is installed but sees no usable CUDA device; use --device cpu")
    return device


def note_data_dir(data_dir, split: str, dataset: str = "mnist") -> None:
    """Print a note when --data-dir holds none of the files load_mnist looks for there:
    it then quietly goes on to the cache, a download or the shipped digits."""
    if data_dir is None:
        return
    from . import data  # noqa: PLC0415

    spec = data._dataset_spec(dataset)
    prefixes = ["train", "t10k"] if split == "all" else [data._SPLIT_PREFIX[split]]
    for folder in data._root_folders(Path(data_dir), spec):
        if all(data._find(folder, prefix, kind, rank) for prefix in prefixes
               for kind, rank in (("images", 3), ("labels", 1))):
            return
    names = " and ".join(f"{prefix}-images-idx3-ubyte[.gz]" for prefix in prefixes)
    what = "does not exist" if not Path(data_dir).is_dir() else \
        f"holds no {spec.title} files for the {split!r} split ({names}, with their labels)"
    print(f"note: --data-dir {data_dir} {what}; looking in the cache, then elsewhere")
