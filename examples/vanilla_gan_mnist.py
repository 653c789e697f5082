"""The original GAN (Goodfellow et al. 2014): two MLPs, and the question of which generator
loss to use.

    python examples/vanilla_gan_mnist.py --loss nonsaturating        # 40 epochs, ~3 min
    python examples/vanilla_gan_mnist.py --loss minimax --epochs 5    # compare: slower start

The paper's game is min_G max_D E log D(x) + E log(1 - D(G(z))). Taken literally, G
minimises log(1 - D(G(z))): the "minimax" or saturating loss. At the start D easily tells
the fakes apart, D(G(z)) ~ 0, and there log(1 - D) is flat: G's gradient is tiny. The paper
itself recommends maximising log D(G(z)) instead: the "non-saturating" loss, same fixed
point, strong gradient exactly where G is bad. This script measures both gradients on the
same first batch before training, then trains with the one you chose.
"""
import argparse

import minigrad as mg
from gans import losses
from gans.cli_common import (add_device_argument, non_negative_float, non_negative_int,
                              positive_int, resolve_device)
from gans.data import load_mnist
from gans.training import TrainConfig, Trainer

parser = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
add_device_argument(parser)
parser.add_argument("--loss", choices=["minimax", "nonsaturating"], default="nonsaturating")
parser.add_argument("--epochs", type=positive_int, default=40,
                    help="40 epochs = 6,240 steps, about 3 minutes on 2 CPU cores")
parser.add_argument("--max-steps", type=non_negative_int, default=0)
parser.add_argument("--batch-size", type=positive_int, default=64)
parser.add_argument("--lr", type=non_negative_float, default=2e-4)
parser.add_argument("--data-dir", default=None)
parser.add_argument("--offline", action="store_true")
parser.add_argument("--out", default="runs/vanilla_gan")
parser.add_argument("--seed", type=non_negative_int, default=0)
args = parser.parse_args()
device = resolve_device(args.device)

images, _ = load_mnist(args.data_dir, "all", download=not args.offline)   # no test split needed
config = TrainConfig(model="mlp", loss=args.loss, lr_d=args.lr, lr_g=args.lr,
                     batch_size=args.batch_size, epochs=args.epochs, max_steps=args.max_steps,
                     out=args.out, seed=args.seed, device=device)
trainer = Trainer(config, images)

# ---- Before training: how hard does each loss push G? First let D win (train it alone
# until it calls the fakes fake, D(G(z)) < 0.05): the situation of early training.
d_before_probe = {k: v.clone() for k, v in trainer.D.state_dict().items()}  # restored later
opt_probe = mg.optim.Adam(trainer.D.parameters(), lr=1e-3, betas=(0.5, 0.999))
for d_step in range(1, 301):
    real = next(trainer.loader)
    with mg.no_grad():
        fake = trainer.G(mg.randn(real.shape[0], config.z_dim, device=device))
    fake_logits = trainer.D(fake)
    loss_d = losses.minimax_d_loss(trainer.D(real), fake_logits)
    opt_probe.zero_grad()
    loss_d.backward()
    opt_probe.step()
    if fake_logits.sigmoid().mean().item() < 0.05:
        break
z = mg.randn(args.batch_size, config.z_dim, device=device)
fake_logits = trainer.D(trainer.G(z))
print(f"after {d_step} D steps: mean D(G(z)) = {fake_logits.sigmoid().mean().item():.4f}")
for name in ("minimax", "nonsaturating"):
    loss = losses.get(name).g_loss(fake_logits)
    grads = mg.grad(loss, list(trainer.G.parameters()), retain_graph=True)
    norm = sum(float((g * g).sum().item()) for g in grads) ** 0.5
    print(f"  {name:>13} generator loss {loss.item():+.4f}   ||dLoss/dG|| = {norm:.6f}")
print("the saturating (minimax) loss gives G a much smaller gradient: it learns slowly\n")
trainer.D.load_state_dict(d_before_probe)         # train from the untouched D

last = trainer.train()
if last:
    print(f"done: {trainer.step} steps, loss_D {last['loss_d']:.3f}, "
          f"loss_G {last['loss_g']:.3f}")
else:
    print(f"already at step {trainer.step}: nothing to train")
print(f"pictures in {trainer.out}/: samples_step*.png, samples.gif, losses.png")
