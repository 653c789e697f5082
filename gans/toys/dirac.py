"""Dirac-GAN (Mescheder, Geiger & Nowozin 2018, "Which training methods for GANs do
actually converge?", section 2): the smallest GAN that shows why training may not converge.

    data         a point mass at 0:            x = 0
    generator    G(z) = theta                   (one number; z is ignored)
    critic       D(x) = psi * x                 (a raw score, high = "real": the losses of
                                                 gans.losses put the sigmoid where needed)

The only equilibrium is (theta, psi) = (0, 0): G puts its mass on the data, D cannot tell.
Training moves the point (theta, psi) along the *vector field*

    v(theta, psi) = ( -dL_G/dtheta , -dL_D/dpsi )

(each player descends its own loss), with a step of size lr. The field of every method is
computed here by minigrad, with the same losses and penalties that train the MNIST GANs
(gans.losses, gans.penalties; the gradient penalties use mg.grad(create_graph=True)).
For reference, the fields by hand (s = sigmoid, t = psi * theta):

    method           v_theta                      v_psi
    minimax          s(t) psi                     -s(t) theta
    nonsaturating    s(-t) psi                    -s(t) theta
    wgan             psi                          -theta            (psi clipped to [-c, c])
    wgan-gp          psi                          -theta - 2 lambda (|psi| - 1) sign(psi)
    r1, r2           s(t) psi                     -s(t) theta - gamma psi
    instance noise   E_e s(psi (theta+e)) psi     E_e[e s(-psi e) - (theta+e) s(psi (theta+e))]
                     (e ~ N(0, sigma^2) added to real and fake samples alike)

The paper's results, which the example reproduces and tests/test_toys.py checks:
unregularised GAN training (minimax, non-saturating, WGAN) circles around the equilibrium
and, with simultaneous steps, spirals away from it (for the minimax loss the radius grows by
sqrt(1 + lr^2 s(t)^2) every step); WGAN-GP does not converge either (the penalty pulls
|psi| to 1, where D is never indifferent); R1, R2 and instance noise damp the rotation and
converge. With R1, gamma = 1 and the minimax loss, the Jacobian at (0, 0) is
[[0, 1/2], [-1/2, -1]], a double eigenvalue -1/2: the distance to (0, 0) falls like
(1 - lr/2)^n (below 1e-3 after 300 steps of lr = 0.1 from (1, 1)).

Sign convention: our D scores *real* samples high (as every loss in gans.losses), the paper's
scores fakes high, so our psi is the paper's -psi and the pictures are mirrored in psi.

Speed: a step costs one small minigrad graph per player. Many trajectories (several start
points) run at once: theta and psi are vectors, and the loss is summed over the points,
so one mg.grad gives every point's own gradient.
"""
from __future__ import annotations

import dataclasses
from statistics import NormalDist

import numpy as np

import minigrad as mg

from .. import losses as gan_losses
from .. import penalties


@dataclasses.dataclass(frozen=True)
class Method:
    """A training method: a loss of gans.losses plus at most one regulariser."""
    loss: str = "minimax"      # minimax | nonsaturating | wgan | lsgan | hinge
    penalty: str = "none"      # none | wgan-gp | r1 | r2
    weight: float = 0.0        # lambda (wgan-gp) or gamma (r1, r2)
    clip: float = 0.0          # WGAN weight clipping: psi kept in [-clip, clip] (0 = off)
    noise: float = 0.0         # instance noise: std sigma of the noise (0 = off)
    noise_nodes: int = 32      # quadrature points for the expectation over the noise


# The panels of the paper's figure, with the settings used by examples/dirac_gan.py.
METHODS = {
    "minimax": Method("minimax"),
    "nonsaturating": Method("nonsaturating"),
    "wgan": Method("wgan", clip=1.0),
    "wgan-gp": Method("wgan", "wgan-gp", weight=1.0),
    "r1": Method("minimax", "r1", weight=1.0),
    "r2": Method("minimax", "r2", weight=1.0),
    "instance-noise": Method("minimax", noise=1.0),
}


def get_method(method: "str | Method" = "minimax", **overrides) -> Method:
    """A Method by name (see METHODS), with fields replaced: get_method('r1', weight=0.3)."""
    if isinstance(method, Method):
        base = method
    else:
        try:
            base = METHODS[method]
        except KeyError:
            raise ValueError(f"unknown Dirac-GAN method {method!r}; choose from "
                             f"{sorted(METHODS)}") from None
    return dataclasses.replace(base, **overrides) if overrides else base


# ------------------------------------------------------------------ the two losses
def _noise_nodes(sigma: float, k: int) -> np.ndarray:
    """K equally weighted points e_k = sigma * Phi^-1((k + 1/2) / K): the mean of f(e_k)
    approximates E f(e), e ~ N(0, sigma^2), deterministically (no sampling noise)."""
    if sigma == 0:
        return np.zeros(1)
    normal = NormalDist(0.0, sigma)
    return np.array([normal.inv_cdf((i + 0.5) / k) for i in range(k)])


def _samples(theta: mg.Tensor, psi: mg.Tensor, m: Method):
    """Real and fake samples of every point, and the critic x -> psi * x, flattened to
    N = P * K samples (P points, K noise nodes; K = 1 without noise)."""
    P = theta.shape[0]
    e = _noise_nodes(m.noise, m.noise_nodes)                        # (K,)
    K = e.shape[0]
    real = mg.tensor(np.tile(e, P), dtype=mg.float64)              # (N,) data + noise
    e = mg.tensor(e.reshape(1, K), dtype=mg.float64)
    fake = (theta.reshape(P, 1) + e).reshape(P * K)                # (N,) G(z) + noise
    psi_n = (psi.reshape(P, 1) + mg.zeros(1, K, dtype=mg.float64)).reshape(P * K)
    return real, fake, (lambda x: psi_n * x), P


def d_loss(theta: mg.Tensor, psi: mg.Tensor, m: Method) -> mg.Tensor:
    """D's loss summed over the points (each point's loss is a mean over its K samples,
    so P * the mean over all N samples)."""
    real, fake, critic, P = _samples(theta, psi, m)
    fake = fake.detach()                                   # D's loss does not reach G
    loss = gan_losses.get(m.loss).d_loss(critic(real), critic(fake))
    if m.penalty == "wgan-gp":
        loss = loss + penalties.gradient_penalty(critic, real, fake, m.weight)
    elif m.penalty == "r1":
        loss = loss + penalties.r1_penalty(critic, real, m.weight)
    elif m.penalty == "r2":
        loss = loss + penalties.r2_penalty(critic, fake, m.weight)
    elif m.penalty != "none":
        raise ValueError(f"unknown penalty {m.penalty!r}: none, wgan-gp, r1 or r2")
    return P * loss


def g_loss(theta: mg.Tensor, psi: mg.Tensor, m: Method) -> mg.Tensor:
    """G's loss summed over the points."""
    _, fake, critic, P = _samples(theta, psi, m)
    return P * gan_losses.get(m.loss).g_loss(critic(fake))


def _leaf(values) -> mg.Tensor:
    return mg.tensor(np.ravel(values), dtype=mg.float64, requires_grad=True)


def _v_theta(theta: np.ndarray, psi: np.ndarray, m: Method) -> np.ndarray:
    th, ps = _leaf(theta), mg.tensor(np.ravel(psi), dtype=mg.float64)
    (grad,) = mg.grad(g_loss(th, ps, m), th)
    return -grad.numpy()


def _v_psi(theta: np.ndarray, psi: np.ndarray, m: Method) -> np.ndarray:
    th, ps = mg.tensor(np.ravel(theta), dtype=mg.float64), _leaf(psi)
    (grad,) = mg.grad(d_loss(th, ps, m), ps)
    return -grad.numpy()


def vector_field(theta, psi, method: "str | Method" = "minimax",
                 **overrides) -> tuple[np.ndarray, np.ndarray]:
    """(v_theta, v_psi) = (-dL_G/dtheta, -dL_D/dpsi) at every point; theta and psi are
    numbers or arrays of one shape (a whole quiver grid is one vectorised call)."""
    m = get_method(method, **overrides)
    theta, psi = np.broadcast_arrays(np.asarray(theta, np.float64),
                                     np.asarray(psi, np.float64))
    return (_v_theta(theta, psi, m).reshape(theta.shape),
            _v_psi(theta, psi, m).reshape(theta.shape))


# ------------------------------------------------------------------ training
def _project(psi: np.ndarray, m: Method) -> np.ndarray:
    return np.clip(psi, -m.clip, m.clip) if m.clip else psi


def trajectory(method: "str | Method" = "minimax", start=(1.0, 1.0), lr: float = 0.1,
               steps: int = 500, mode: str = "simultaneous", **overrides) -> np.ndarray:
    """Train the Dirac-GAN by gradient steps; returns every (theta, psi) visited.

    start: (theta0, psi0), or an array (P, 2) of P start points run together.
    mode:  'simultaneous': both players step from the same point;
           'alternating':  D steps first, then G steps against the updated D
                           (the order of gans.training.Trainer.train_step).
    Returns an array (steps + 1, 2), or (steps + 1, P, 2) for P start points.
    """
    m = get_method(method, **overrides)
    if mode not in ("simultaneous", "alternating"):
        raise ValueError(f"mode must be 'simultaneous' or 'alternating', got {mode!r}")
    points = np.asarray(start, dtype=np.float64)
    single = points.ndim == 1
    points = points.reshape(-1, 2)
    theta, psi = points[:, 0].copy(), _project(points[:, 1].copy(), m)
    path = np.empty((steps + 1, points.shape[0], 2))
    path[0, :, 0], path[0, :, 1] = theta, psi
    for step in range(1, steps + 1):
        if mode == "simultaneous":
            v_theta, v_psi = _v_theta(theta, psi, m), _v_psi(theta, psi, m)
            theta, psi = theta + lr * v_theta, _project(psi + lr * v_psi, m)
        else:
            psi = _project(psi + lr * _v_psi(theta, psi, m), m)
            theta = theta + lr * _v_theta(theta, psi, m)
        path[step, :, 0], path[step, :, 1] = theta, psi
    return path[:, 0] if single else path


def distance_to_equilibrium(path: np.ndarray) -> np.ndarray:
    """||(theta, psi)|| along a trajectory (the equilibrium is (0, 0))."""
    return np.hypot(path[..., 0], path[..., 1])
