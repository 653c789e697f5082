"""Autograd you can step through: the graph behind a tensor, a backward trace, hooks.

    python examples/autograd_graph.py            # a few seconds; pictures in runs/autograd

1. The graph of a tiny expression, y = sum(tanh(w * x + b)): Graphviz dot text (printed and
   saved) and a PNG (by `dot` when Graphviz is installed, else drawn by matplotlib).
2. The graph of a critic loss with the WGAN-GP penalty. The penalty needs the gradient of
   the critic w.r.t. its input, taken with mg.grad(create_graph=True): the backward pass is
   recorded as ordinary ops (orange boxes), and loss.backward() later differentiates
   through them. That is "double backward".
3. A trace of the backward pass of one generator step of a (small) DCGAN: one line per
   Function, in the order backward visits them, with shapes and gradient norms:
   `with mg.autograd.trace(): loss_G.backward()`.
4. register_hook: watch the gradient that D sends into G's images, rescale a gradient on
   its way, and keep an intermediate gradient with retain_grad().
"""
import argparse
import time
from pathlib import Path

import minigrad as mg
import minigrad.nn as nn
from gans import losses

parser = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--out", default="runs/autograd")
parser.add_argument("--mlp", action="store_true",
                    help="trace an MLP GAN instead of a DCGAN")
args = parser.parse_args()
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
t0 = time.perf_counter()
mg.manual_seed(0)


def section(title):
    print(f"\n{'=' * 8} {title} {'=' * (70 - len(title))}")


# ---------------------------------------------------------------- 1. a tiny expression
section("1. the graph of y = sum(tanh(w * x + b))")
w = mg.tensor([1.0, -2.0, 0.5], requires_grad=True)
b = mg.tensor([0.1, 0.2, 0.3], requires_grad=True)
x = mg.tensor([3.0, 1.0, -1.0])                    # data: does not require grad
y = (w * x + b).tanh().sum()
dot = mg.viz.to_dot(y, params={"w": w, "b": b}, title="y = sum(tanh(w * x + b))")
print(dot)
(out / "tiny_graph.dot").write_text(dot)
tiny_png = mg.viz.draw_graph(y, out / "tiny_graph.png", params={"w": w, "b": b},
                             title="y = sum(tanh(w * x + b))")

# ---------------------------------------------------------------- 2. WGAN-GP, double backward
section("2. a WGAN-GP critic loss: the penalty's graph is a backward pass")
D = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
real, fake = mg.randn(3, 2), mg.randn(3, 2)
critic = lambda v: D(v).reshape(v.shape[0])          # noqa: E731  (N, 2) -> (N,)
scores_real, scores_fake = critic(real), critic(fake)
alpha = mg.rand(3, 1)
x_hat = (alpha * real + (1 - alpha) * fake).detach()
x_hat.requires_grad = True
x_hat.name = "x_hat"
scores_hat = critic(x_hat)
(grad_x,) = mg.grad(scores_hat.sum(), x_hat, create_graph=True)   # recorded on the tape
penalty = 10.0 * ((((grad_x * grad_x).sum(dim=1) + 1e-12).sqrt() - 1.0) ** 2).mean()
loss_D = losses.wgan_d_loss(scores_real, scores_fake) + penalty
loss_D.name = "loss_D"
params = dict(D.named_parameters())
marks = dict(grads=grad_x, outputs=scores_hat)       # ops behind grad_x, not scores_hat
gp_dot = mg.viz.to_dot(loss_D, params=params, **marks,
                       title="WGAN-GP critic loss (orange: recorded by mg.grad)")
(out / "wgan_gp_graph.dot").write_text(gp_dot)
gp_png = mg.viz.draw_graph(loss_D, out / "wgan_gp_graph.png", params=params, **marks,
                           show_constants=False, show_tensors=False,
                           title="WGAN-GP critic loss: orange = the backward pass "
                                 "recorded by mg.grad(create_graph=True)")
graph = mg.viz.build_graph(loss_D, **marks)
kinds = [kind for _, kind in graph.nodes.values()]
n_ops = kinds.count("op") + kinds.count("op_backward")
print(f"{kinds.count('op_backward')} of the {n_ops} ops were recorded by the backward pass "
      f"of mg.grad(create_graph=True)")
with mg.autograd.trace(quiet=True) as records:
    loss_D.backward()            # goes through the recorded backward pass: double backward
print(f"loss_D.backward() visited {len(records)} Functions "
      f"(the graph holds {mg.viz.count_functions(loss_D)} before it is freed); "
      f"|dloss/dW1| = {float((D[0].weight.grad ** 2).sum().sqrt().item()):.4f}")

# ---------------------------------------------------------------- 3. trace of a G step
section("3. the backward pass of one generator step, traced")
z_dim = 16
if args.mlp:
    from gans.models import MLPDiscriminator, MLPGenerator
    G, D2 = MLPGenerator(z_dim, hidden=(32,)), MLPDiscriminator(hidden=(32,))
    which = "MLP GAN (--mlp)"
else:
    from gans.models import DCGANDiscriminator, DCGANGenerator
    G, D2 = DCGANGenerator(z_dim, 28, width=8), DCGANDiscriminator(28, width=8)
    which = "DCGAN (width 8)"
print(f"model: {which}")
fake_images = G(mg.randn(4, z_dim))                    # (4, 1, 28, 28)
loss_G = losses.nonsaturating_g_loss(D2(fake_images))  # -E log D(G(z))
n_functions = mg.viz.count_functions(loss_G)
trace_file = out / "trace_generator_step.txt"
with open(trace_file, "w") as f, mg.autograd.trace(file=f) as records:
    loss_G.backward()
print(trace_file.read_text(), end="")
print(f"{len(records)} lines = {n_functions} Functions in the graph of loss_G "
      f"(D's ops are visited too: G's gradient flows through D)")

# ---------------------------------------------------------------- 4. hooks
section("4. register_hook and retain_grad")
G.zero_grad(), D2.zero_grad()
fake_images = G(mg.randn(4, z_dim))
seen = {}


def watch(grad):                                        # returns None: only observes
    seen["push"] = float((grad * grad).sum().sqrt().item())


fake_images.register_hook(watch)
hidden = fake_images * 1.0
hidden.retain_grad()                                    # keep a non-leaf's gradient
first_weight = next(iter(G.parameters()))
first_weight.register_hook(lambda g: g * 0.5)           # a hook may return a new gradient
losses.nonsaturating_g_loss(D2(hidden)).backward()
print(f"norm of the gradient D sends into G's images: {seen['push']:.4g}")
print(f"retain_grad kept d loss_G / d images: shape {tuple(hidden.grad.shape)}")
print(f"the hook halved the gradient of G's first weight: norm "
      f"{float((first_weight.grad ** 2).sum().sqrt().item()):.4g}")

print(f"\n{time.perf_counter() - t0:.1f} s; pictures: {tiny_png}, {gp_png}; dot files and "
      f"{trace_file} in {out}")
