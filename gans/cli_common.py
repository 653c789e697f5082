"""Small pieces shared by the command line and the example scripts."""
from __future__ import annotations

import sys

import minigrad as mg


def add_device_argument(parser) -> None:
    parser.add_argument("--device", default="auto", choices=["cpu", "gpu", "cuda", "auto"],
                        help="cpu, gpu (needs CuPy and a CUDA device) or auto (gpu if "
                             "available)")


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
            print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2)
    return device
