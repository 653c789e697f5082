"""`python -m gans evaluate`: measure a generator checkpoint and print a table.

    python -m gans evaluate --checkpoint runs/gan/checkpoint.npz
    python -m gans evaluate --checkpoint runs/dcgan/checkpoint.npz --metrics fid,is,modes \\
        --num-samples 5000
    python -m gans evaluate --checkpoint ... --feature-net inception \\
        --inception-weights pt_inception-2015-12-05.npz

Checkpoints: those of `python -m gans train` (gans.training.Trainer.save_checkpoint: G's
state dict plus a "config" JSON string, from which G is rebuilt; the EMA generator is used
when the run kept one, as for the training sample grids) and those of
examples/dcgan_mnist.py (G's state dict only: the generator is taken to be
--model/--image-size/--z-dim/--width, by default dcgan, 28, 100, 64). The real digits are
MNIST ("all" split: the canonical 70,000 if found, else the shipped 10,000).
"""
from __future__ import annotations

import json
import time

import numpy as np

from ..cli_common import (add_device_argument, non_negative_int, note_data_dir, positive_int,
                          resolve_device)

DEFAULT_METRICS = "fid,is,kid,pr,modes"


def build_evaluate_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="FID, IS, KID, precision/recall, mode coverage of "
                                        "a generator checkpoint",
                       description=__doc__)
    p.add_argument("--checkpoint", required=True, help="a checkpoint.npz with G's weights")
    p.add_argument("--metrics", default=DEFAULT_METRICS,
                   help=f"comma-separated, from fid,is,kid,pr,modes,diversity "
                        f"(default {DEFAULT_METRICS})")
    p.add_argument("--num-samples", type=int, default=10_000,
                   help="generated images (and at most this many real ones); default 10000")
    p.add_argument("--feature-net", choices=["mnist", "inception"], default="mnist")
    p.add_argument("--inception-weights", default=None,
                   help="the FID Inception .npz (tools/convert_fid_inception.py)")
    p.add_argument("--classifier-weights", default=None,
                   help="an MNIST classifier .npz (default: the shipped one)")
    p.add_argument("--model", choices=["mlp", "dcgan"], default="dcgan",
                   help="for checkpoints without a config (examples/dcgan_mnist.py)")
    p.add_argument("--image-size", type=int, choices=[28, 64], default=28)
    p.add_argument("--z-dim", type=int, default=100)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--no-ema", action="store_true", help="use G even if an EMA copy exists")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--offline", action="store_true", help="never try to download MNIST")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="images per batch through the feature network")
    p.add_argument("--json", default=None, help="also write the results to this file")
    add_device_argument(p)
    p.set_defaults(func=cmd_evaluate)


def load_generator(path, model: str = "dcgan", image_size: int = 28, z_dim: int = 100,
                   width: int = 64, use_ema: bool = True, device: str = "cpu"):
    """(G, z_dim, description) from a Trainer checkpoint or an examples/dcgan_mnist.py one."""
    import minigrad as mg  # noqa: PLC0415
    from ..models import build  # noqa: PLC0415

    state = mg.load(path)
    if not isinstance(state, dict) or "G" not in state:
        raise ValueError(f"{path}: not a generator checkpoint (no 'G' entry)")
    if "config" in state:
        config = json.loads(state["config"])
        model, z_dim = config.get("model", model), int(config.get("z_dim", z_dim))
        width = int(config.get("width", width))
        image_size = 28 if model == "mlp" else int(config.get("image_size", image_size))
        source = "training config"
    else:
        source = "flags (no config in the checkpoint)"
    if z_dim < 1 or width < 1:
        raise ValueError(f"z_dim and width must be at least 1, got {z_dim} and {width}")
    G, _ = build(model, image_size, z_dim, width=width)
    weights, which = state["G"], "G"
    if use_ema and isinstance(state.get("ema"), dict) and state["ema"]:
        weights, which = state["ema"], "EMA of G"
    try:
        G.load_state_dict(weights)
    except (RuntimeError, ValueError) as error:     # shapes or keys of another generator
        shape = f", width {width}" if model == "dcgan" else ""      # (the MLP has none)
        raise ValueError(f"{path}: its {which} does not fit a {model} generator "
                         f"{image_size}x{image_size} with z_dim {z_dim}{shape} ({source}): "
                         f"{' '.join(str(error).split())}") from None
    G.to(device)
    G.eval()
    shape = f"width {width}" if model == "dcgan" else "hidden 256-512-1024"   # MLP: fixed
    return G, z_dim, f"{model} {image_size}x{image_size}, z_dim {z_dim}, {shape} " \
                     f"({source}), weights: {which}"


def cmd_evaluate(args) -> int:
    from ..data import load_mnist  # noqa: PLC0415
    from .evaluate import (check_metrics, compute_metrics, feature_net,  # noqa: PLC0415
                           format_table, generate)

    device = resolve_device(args.device)
    metrics = check_metrics(m.strip() for m in args.metrics.split(",") if m.strip())
    if args.num_samples < 2:
        raise ValueError(f"--num-samples must be at least 2, got {args.num_samples}")
    if args.json:                      # before the work, not after it
        from pathlib import Path  # noqa: PLC0415

        target = Path(args.json)
        if target.is_dir() or not target.parent.is_dir():
            raise ValueError(f"--json {args.json}: needs a file name in an existing folder")
    note_data_dir(args.data_dir, "all")
    t0 = time.perf_counter()
    G, z_dim, description = load_generator(
        args.checkpoint, args.model, args.image_size, args.z_dim, args.width,
        use_ema=not args.no_ema, device=device)
    print(f"generator: {description}")
    weights = args.inception_weights if args.feature_net == "inception" else \
        args.classifier_weights
    net = feature_net(args.feature_net, weights, device=device, batch_size=args.batch_size)

    images, _ = load_mnist(args.data_dir, "all", download=not args.offline)
    rng = np.random.default_rng(args.seed)
    real_images = images[rng.permutation(len(images))[:args.num_samples]]
    fake_images = generate(G, args.num_samples, z_dim, device=device, seed=args.seed + 1)
    real, fake = net(real_images), net(fake_images)
    results = compute_metrics(real, fake, metrics)
    title = (f"{args.checkpoint}: {len(fake_images)} generated vs {len(real_images)} real "
             f"digits, {args.feature_net} features ({time.perf_counter() - t0:.0f} s)")
    print(format_table(results, title))
    if args.json:                      # atomically: a temporary file, then renamed
        from pathlib import Path  # noqa: PLC0415

        from ..data import write_atomically  # noqa: PLC0415

        text = json.dumps({k: float(v) for k, v in results.items()}, indent=2)
        write_atomically(Path(args.json), lambda tmp: tmp.write_text(text))
    return 0
