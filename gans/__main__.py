"""The command line: `python -m gans train ...` (and `python -m gans evaluate ...`).

    python -m gans train --model dcgan --loss nonsaturating --epochs 5
    python -m gans train --model dcgan --loss wgan --penalty wgan-gp --d-norm none \\
        --n-critic 5 --lr-d 1e-4 --lr-g 1e-4 --betas 0 0.9 --out runs/wgan-gp
    python -m gans train --model mlp --loss minimax --label-smoothing 0.1 --history 50 \\
        --ema 0.999 --out runs/mlp
    python -m gans train ... --resume runs/gan/checkpoint.npz

Each run goes into its own --out folder (default runs/gan): a fresh run refuses a folder
that holds another run's checkpoint (pass --resume to continue that one).

A mistake (a missing file, a value out of range, a checkpoint of other settings) ends with
one line, `error: ...`, and exit status 2; a setting that has no effect is warned about.
"""
from __future__ import annotations

import argparse
import sys
import warnings

import minigrad as mg

from .cli_common import (add_device_argument, check_out_folder, fail, finite_float,
                         non_negative_float, non_negative_int, note_data_dir, resolve_device)
from .losses import get as get_loss


def _loss_name(text: str) -> str:
    """'non-saturating' or 'Hinge' as gans.losses.get spells them ('nonsaturating',
    'hinge'); an unknown name is passed on for argparse's choices to refuse."""
    try:
        return get_loss(text).name
    except ValueError:
        return text


def build_train_parser(sub) -> None:
    p = sub.add_parser("train", help="train a GAN on MNIST (or Fashion-MNIST)")
    p.add_argument("--model", choices=["mlp", "dcgan"], default="dcgan")
    p.add_argument("--loss", default="nonsaturating", type=_loss_name,
                   choices=["minimax", "nonsaturating", "lsgan", "wgan", "hinge"])
    p.add_argument("--penalty", default="none", choices=["none", "wgan-gp", "r1", "r2"])
    p.add_argument("--penalty-weight", type=non_negative_float, default=10.0,
                   help="lambda for wgan-gp, gamma for r1/r2 (default 10)")
    p.add_argument("--spectral-norm", action="store_true", help="spectral norm on D")
    p.add_argument("--d-norm", default="batch", choices=["batch", "instance", "layer", "none"])
    p.add_argument("--clip", type=non_negative_float, default=0.0,
                   help="WGAN weight clipping c (e.g. 0.01)")
    p.add_argument("--n-critic", type=int, default=1)
    p.add_argument("--optimizer", choices=["adam", "rmsprop"], default="adam")
    p.add_argument("--lr-d", type=non_negative_float, default=2e-4)
    p.add_argument("--lr-g", type=non_negative_float, default=2e-4)
    p.add_argument("--betas", type=finite_float, nargs=2, default=(0.5, 0.999))
    p.add_argument("--label-smoothing", type=finite_float, default=0.0,
                   help="real label = 1 - this, in [0, 1) (BCE losses only, e.g. 0.1)")
    p.add_argument("--label-flip", type=finite_float, default=0.0,
                   help="probability of swapping the labels in a D step (BCE losses only)")
    p.add_argument("--history", type=int, default=0, help="pool of old fakes (e.g. 50)")
    p.add_argument("--ema", type=finite_float, default=0.0,
                   help="EMA decay of G (e.g. 0.999)")
    p.add_argument("--epochs", type=int, default=5, help="passes over the digits (>= 1)")
    p.add_argument("--max-steps", type=int, default=0,
                   help="stop after this many steps (0 = no limit: --epochs decides)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--z-dim", type=int, default=100)
    p.add_argument("--image-size", type=int, choices=[28, 64], default=28,
                   help="28, or 64 (digits resized; dcgan only)")
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--offline", action="store_true", help="never try to download")
    p.add_argument("--out", default="runs/gan")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--checkpoint-every", type=int, default=500,
                   help="steps between checkpoints (0 = only at the end; one is always "
                        "written at the end)")
    p.add_argument("--resume", default=None, help="a checkpoint.npz to continue from")
    p.add_argument("--eval-every", type=int, default=0,
                   help="epochs between MNIST-FID / mode-coverage evaluations (0 = off)")
    add_device_argument(p)
    p.set_defaults(func=cmd_train)


def cmd_train(args) -> int:
    from .data import load_mnist  # noqa: PLC0415
    from .training import TrainConfig, Trainer  # noqa: PLC0415

    device = resolve_device(args.device)
    check_out_folder(args.out, resuming=bool(args.resume))
    note_data_dir(args.data_dir, "train", args.dataset)
    images, _ = load_mnist(args.data_dir, "train", download=not args.offline,
                           dataset=args.dataset)
    config = TrainConfig(
        model=args.model, loss=args.loss, penalty=args.penalty,
        penalty_weight=args.penalty_weight, spectral_norm=args.spectral_norm,
        d_norm=args.d_norm, clip=args.clip, n_critic=args.n_critic, optimizer=args.optimizer,
        lr_d=args.lr_d, lr_g=args.lr_g, betas=tuple(args.betas),
        label_smoothing=args.label_smoothing, label_flip=args.label_flip,
        history=args.history, ema=args.ema, epochs=args.epochs, max_steps=args.max_steps,
        batch_size=args.batch_size, z_dim=args.z_dim, image_size=args.image_size,
        out=args.out, seed=args.seed, device=device, checkpoint_every=args.checkpoint_every,
        eval_every=args.eval_every)
    trainer = Trainer(config, images)
    if args.resume:
        trainer.load_checkpoint(args.resume)
        print(f"resumed from {args.resume} at step {trainer.step}")
    start = trainer.step
    last = trainer.train()
    if last:
        steps = trainer.step - start
        print(f"done: {steps} step{'s' if steps != 1 else ''}, now at step {trainer.step}, "
              f"loss_D {last['loss_d']:.4f}, loss_G {last['loss_g']:.4f}")
    else:
        print(f"already at step {trainer.step}, and this run stops at step "
              f"{trainer.total_steps()}: nothing to train (raise --epochs or --max-steps "
              f"to go on)")
    print(f"written in {trainer.out}/: {describe_written(trainer.written)}")
    return 0


def describe_written(paths) -> str:
    """'3 sample grids (samples_step*.png), losses.png, checkpoint.npz': what train() wrote."""
    grids = [p for p in paths if p.name.startswith("samples_step")]
    names = [p.name for p in paths if p not in grids]
    if grids:
        names.insert(0, f"{len(grids)} sample grid{'s' if len(grids) > 1 else ''} "
                        f"(samples_step*.png)")
    return ", ".join(names) or "nothing"


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gans", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    build_train_parser(sub)
    try:
        from .metrics.cli import build_evaluate_parser  # noqa: PLC0415

        build_evaluate_parser(sub)
    except ImportError:
        pass
    args = parser.parse_args(argv)
    with warnings.catch_warnings():         # warnings as one line each, not file:line
        warnings.showwarning = _show_warning
        try:
            return args.func(args)
        except (OSError, ValueError, mg.SerializationError) as error:
            fail(error)                     # `error: ...` and exit status 2 (OSError: a
                                            # full disk, a path that is a file, ...)


if __name__ == "__main__":
    sys.exit(main())
