"""WGAN-GP on MNIST (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs").

    python examples/wgan_gp_mnist.py --device cpu      # 20 epochs, 1,240 G steps, ~6 min

The critic f scores images (no sigmoid) and is trained to maximise E f(x) - E f(G(z)),
which estimates the Wasserstein-1 distance *if* f is 1-Lipschitz. The gradient penalty
enforces that softly: lambda E (||grad f(xhat)|| - 1)^2 at random points xhat between real
and fake samples. Computing it needs the gradient of f w.r.t. its input, *on the tape*
(mg.grad(..., create_graph=True)), so that the critic's update can differentiate through
it: a second derivative through every convolution. The paper's recipe, used below:
no batch norm in the critic (it would mix samples inside the penalty), n_critic = 5,
lambda = 10, Adam(lr 1e-4, betas (0, 0.9)).
"""
import argparse

from gans.cli_common import (add_device_argument, non_negative_float, non_negative_int,
                              positive_int, resolve_device)
from gans.data import load_mnist
from gans.training import TrainConfig, Trainer

parser = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
add_device_argument(parser)
parser.add_argument("--epochs", type=positive_int, default=20,
                    help="20 epochs = 1,240 generator steps, about 6 minutes on 2 CPU cores")
parser.add_argument("--max-steps", type=non_negative_int, default=0)
parser.add_argument("--batch-size", type=positive_int, default=32)
parser.add_argument("--n-critic", type=positive_int, default=5)
parser.add_argument("--lambda-gp", type=non_negative_float, default=10.0)
parser.add_argument("--data-dir", default=None)
parser.add_argument("--offline", action="store_true")
parser.add_argument("--out", default="runs/wgan_gp")
parser.add_argument("--seed", type=non_negative_int, default=0)
parser.add_argument("--resume", action="store_true",
                    help="continue from OUT/checkpoint.npz")
args = parser.parse_args()
device = resolve_device(args.device)

images, _ = load_mnist(args.data_dir, "all", download=not args.offline)   # no test split needed
config = TrainConfig(
    model="dcgan", loss="wgan",              # critic loss E f(G(z)) - E f(x); G: -E f(G(z))
    penalty="wgan-gp", penalty_weight=args.lambda_gp,
    d_norm="none",                           # no batch norm in the critic
    n_critic=args.n_critic,                  # 5 critic updates per generator update
    lr_d=1e-4, lr_g=1e-4, betas=(0.0, 0.9),  # the paper's Adam settings
    batch_size=args.batch_size, epochs=args.epochs, max_steps=args.max_steps,
    out=args.out, seed=args.seed, device=device)
trainer = Trainer(config, images)
if args.resume and (trainer.out / "checkpoint.npz").exists():
    try:
        trainer.load_checkpoint(trainer.out / "checkpoint.npz")
    except ValueError as error:            # another run's settings: nothing was loaded
        parser.error(f"--resume: {error}")
    print(f"resumed at step {trainer.step}")
elif args.resume:
    print(f"--resume: no checkpoint at {trainer.out / 'checkpoint.npz'}; starting fresh")
print(f"{trainer.steps_per_epoch} generator steps per epoch "
      f"({config.n_critic} critic steps each), {trainer.total_steps()} in all on {device}")
last = trainer.train()
if last:
    print(f"done: critic loss {last['loss_d']:.3f} (penalty {last['penalty']:.3f}), "
          f"G loss {last['loss_g']:.3f}")
else:                                    # --resume of a run that had already finished
    print(f"already at step {trainer.step}: nothing to train (raise --epochs or --max-steps "
          f"to go on)")
print(f"pictures in {trainer.out}/: samples_step*.png, samples.gif, losses.png")
