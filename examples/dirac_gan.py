"""Dirac-GAN: which GAN training methods converge? (Mescheder et al. 2018, figures 1-4)

    python examples/dirac_gan.py                  # ~10 s on a CPU
    python examples/dirac_gan.py --lr 0.2 --steps 600

The data is a point mass at 0, the generator outputs one number theta, the discriminator is
D(x) = psi * x. The only equilibrium is (theta, psi) = (0, 0). Each panel shows one training
method: the arrows are the vector field (-dL_G/dtheta, -dL_D/dpsi) that gradient steps
follow, the lines are trajectories from (1, 1) with simultaneous (solid) and alternating
(dashed) steps. Unregularised GANs do not converge: minimax and WGAN circle the equilibrium
and, with simultaneous steps, spiral away from it (WGAN's clipping only stops the spiral at
|psi| = 1). The non-saturating field points slightly inwards, but with simultaneous steps
training settles on a closed orbit of radius about sqrt(2 lr) (0.45 for lr = 0.1), from
inside and from outside; with alternating steps it creeps inwards, only like 1/sqrt(steps).
WGAN-GP does not converge either; R1, R2 and instance noise make the field point inwards
and training converges. The field and every step are computed by minigrad from the losses
and penalties of gans.losses/gans.penalties (the gradient penalties through
mg.grad(create_graph=True)); see gans/toys/dirac.py.
"""
import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gans.cli_common import finite_float, non_negative_float, positive_int  # noqa: E402
from gans.toys import dirac  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--lr", type=non_negative_float, default=0.1,
                    help="step size of both players")
parser.add_argument("--steps", type=positive_int, default=400)
parser.add_argument("--start", type=finite_float, nargs=2, default=(1.0, 1.0),
                    metavar=("THETA", "PSI"))
parser.add_argument("--out", default="runs/toys")
args = parser.parse_args()
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
t0 = time.perf_counter()

TITLES = {"minimax": "minimax GAN", "nonsaturating": "non-saturating GAN",
          "wgan": "WGAN (psi clipped to [-1, 1])", "wgan-gp": "WGAN-GP (lambda = 1)",
          "r1": "R1 (gamma = 1)", "r2": "R2 (gamma = 1)",
          "instance-noise": "instance noise (sigma = 1)"}
lim = 2.0
ticks = np.linspace(-lim, lim, 17)
TH, PS = np.meshgrid(ticks, ticks)              # the quiver grid: one vectorised call each

fig, axes = plt.subplots(2, 4, figsize=(16, 8.4))
print(f"{'method':16s} {'mode':13s} {'distance to (0,0): start':>26s} {'min':>9s} {'end':>9s}")
for ax, name in zip(axes.ravel(), dirac.METHODS):
    v_theta, v_psi = dirac.vector_field(TH, PS, name)
    ax.quiver(TH, PS, v_theta, v_psi, color="#888888", angles="xy", width=0.004)
    m = dirac.get_method(name)
    if m.clip:
        ax.axhspan(m.clip, lim, color="#eeeeee", zorder=0)
        ax.axhspan(-lim, -m.clip, color="#eeeeee", zorder=0)
    for mode, style in (("simultaneous", "-"), ("alternating", "--")):
        path = dirac.trajectory(name, start=args.start, lr=args.lr, steps=args.steps,
                                mode=mode)
        dist = dirac.distance_to_equilibrium(path)
        print(f"{name:16s} {mode:13s} {dist[0]:26.3f} {dist.min():9.2e} {dist[-1]:9.2e}")
        ax.plot(path[:, 0], path[:, 1], style, lw=1.3, label=f"{mode}: end |.| {dist[-1]:.1e}")
    ax.plot(*args.start, "o", color="black", ms=4)
    ax.plot(0, 0, "*", color="tab:red", ms=10)
    ax.set_title(TITLES[name], fontsize=10)
    ax.set_xlim(-lim, lim), ax.set_ylim(-lim, lim), ax.set_aspect("equal")
    ax.set_xlabel("theta (generator)"), ax.set_ylabel("psi (discriminator)")
    ax.legend(fontsize=7, loc="lower left")
axes.ravel()[-1].axis("off")
axes.ravel()[-1].text(0.0, 0.5, f"Dirac-GAN, lr = {args.lr}, {args.steps} steps\n"
                      f"from (theta, psi) = {tuple(args.start)}\n\n"
                      "solid: simultaneous steps\ndashed: alternating steps (D first)\n"
                      "red star: the equilibrium\n\nour psi = -psi of the paper\n"
                      "(D scores real samples high)", fontsize=10, va="center")
fig.suptitle("Which GAN training methods converge? (Mescheder et al. 2018)")
fig.tight_layout()
path = out / "dirac_gan.png"
fig.savefig(path, dpi=90)
plt.close(fig)
print(f"{time.perf_counter() - t0:.1f} s; picture: {path}")
