"""The bilinear game min_x max_y x*y: gradient descent-ascent does not find (0, 0).

    python examples/bilinear_game.py              # ~2 s
    python examples/bilinear_game.py --lr 0.3 --steps 100

x descends and y ascends the gradient of f = x*y (computed by minigrad). With simultaneous
steps the point spirals outwards: the radius grows by exactly sqrt(1 + lr^2) per step. With
alternating steps (y sees the new x) it orbits for ever on the ellipse
x^2 - lr x y + y^2 = const. Neither converges. The picture shows the paths in the plane and
x, y and x*y against the iteration; see gans/toys/bilinear.py for the algebra.
"""
import argparse
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gans.cli_common import finite_float, non_negative_float, positive_int  # noqa: E402
from gans.toys import bilinear  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--lr", type=non_negative_float, default=0.2)
parser.add_argument("--steps", type=positive_int, default=150)
parser.add_argument("--start", type=finite_float, nargs=2, default=(1.0, 0.5),
                    metavar=("X", "Y"))
parser.add_argument("--out", default="runs/toys")
args = parser.parse_args()
if not 0 < args.lr < 2:                     # the alternating orbit is bounded only there
    parser.error(f"--lr must be between 0 and 2, got {args.lr}")
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
t0 = time.perf_counter()

paths = {mode: bilinear.trajectory(args.start, args.lr, args.steps, mode)
         for mode in ("simultaneous", "alternating")}
r = {mode: bilinear.radius(p) for mode, p in paths.items()}
growth = r["simultaneous"][1:] / r["simultaneous"][:-1]
print(f"simultaneous: radius {r['simultaneous'][0]:.3f} -> {r['simultaneous'][-1]:.3f}; "
      f"growth per step {growth.min():.6f}..{growth.max():.6f} "
      f"(sqrt(1 + lr^2) = {math.sqrt(1 + args.lr ** 2):.6f})")
q = bilinear.invariant(paths["alternating"][:, 0], paths["alternating"][:, 1], args.lr)
print(f"alternating:  radius in [{r['alternating'].min():.3f}, {r['alternating'].max():.3f}] "
      f"(bound {bilinear.alternating_radius_bound(args.start, args.lr):.3f}); "
      f"x^2 - lr xy + y^2 from {q[0]:.6f} to {q[-1]:.6f}")

fig = plt.figure(figsize=(14, 7))
ax = fig.add_subplot(1, 3, 1)
for mode, p in paths.items():
    ax.plot(p[:, 0], p[:, 1], "-" if mode == "simultaneous" else "--", lw=1.2, label=mode)
ax.plot(*args.start, "o", color="black", ms=4)
ax.plot(0, 0, "*", color="tab:red", ms=10, label="equilibrium")
lim = 1.05 * max(np.abs(p).max() for p in paths.values())
ax.set_xlim(-lim, lim), ax.set_ylim(-lim, lim), ax.set_aspect("equal")
ax.set_xlabel("x (minimises x*y)"), ax.set_ylabel("y (maximises x*y)")
ax.set_title(f"min_x max_y x*y, lr = {args.lr}")
ax.legend(fontsize=8)
for row, mode in enumerate(paths):
    p = paths[mode]
    steps = np.arange(len(p))
    ax = fig.add_subplot(2, 3, 3 * row + 2)
    ax.plot(steps, p[:, 0], label="x")
    ax.plot(steps, p[:, 1], label="y")
    ax.plot(steps, p[:, 0] * p[:, 1], label="x*y", color="black", lw=0.8)
    ax.set_title(f"{mode} steps", fontsize=10)
    ax.set_xlabel("iteration"), ax.legend(fontsize=7, loc="upper left")
    ax = fig.add_subplot(2, 3, 3 * row + 3)
    ax.plot(steps, r[mode])
    if mode == "simultaneous":
        ax.plot(steps, r[mode][0] * np.sqrt(1 + args.lr ** 2) ** steps, ":", color="black",
                label="r0 (1 + lr^2)^(t/2)")
    else:
        ax.axhline(bilinear.alternating_radius_bound(args.start, args.lr), ls=":",
                   color="black", label="bound sqrt(Q0 / (1 - lr/2))")
    ax.set_title(f"{mode}: distance to (0, 0)", fontsize=10)
    ax.set_xlabel("iteration"), ax.legend(fontsize=7, loc="upper left")
fig.tight_layout()
path = out / "bilinear_game.png"
fig.savefig(path, dpi=90)
plt.close(fig)
print(f"{time.perf_counter() - t0:.1f} s; picture: {path}")
