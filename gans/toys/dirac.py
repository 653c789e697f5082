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

The paper's results, which the example reproduces and tests/test_toys.py checks (lr = 0.1,
from (1, 1)): unregularised training does not converge.
  minimax, WGAN   the continuous flow keeps theta^2 + psi^2: it circles the equilibrium.
                  Simultaneous steps spiral away from it (the radius grows by
                  sqrt(1 + lr^2 s(t)^2) every step for minimax, sqrt(1 + lr^2) for WGAN
                  without clipping; clipping psi to [-c, c] stops the spiral at the clip,
                  not the circling); alternating steps circle on a closed orbit.
  non-saturating  the flow does pull inwards, d(r^2/2)/dt = -t tanh(t/2) <= 0 (r^2 =
                  theta^2 + psi^2), but weakly: t = psi theta is of order r^2. Near (0, 0)
                  a simultaneous step multiplies r^2 by about 1 + lr^2/4; the two balance
                  on a closed orbit (a limit cycle) of radius about sqrt(2 lr), 0.45 for
                  lr = 0.1, reached from inside and from outside: no convergence either.
                  Alternating steps follow the flow, and the distance shrinks only like
                  sqrt(8 / (lr n)) after n steps (about 0.06 after 20000 steps).
  WGAN-GP         does not converge either (the penalty pulls |psi| to 1, where D is never
                  indifferent).
R1, R2 and instance noise damp the rotation and converge. With R1, gamma = 1 and the minimax
loss, the Jacobian at (0, 0) is [[0, 1/2], [-1/2, -1]], a double eigenvalue -1/2: the
distance to (0, 0) falls like (1 - lr/2)^n (below 1e-3 after 300 steps of lr = 0.1 from
(1, 1)).

Sign convention: our D scores *real* samples high (as every loss in gans.losses), the paper's
scores fakes high, so our psi is the paper's -psi and the pictures are mirrored in psi.

Instance noise: the expectation over e is a K-point Gauss-Hermite rule (Method.noise_nodes,
default 32), sum_k w_k f(e_k), deterministic and accurate to about 1e-6 for |psi| <= 2.

Speed: a step costs one small minigrad graph per player. Many trajectories (several start
points) and all the noise nodes run at once: every sample (one per point and node) gets its
own copy of theta and psi, the loss is summed over the samples, so one mg.grad gives every
sample's own gradient; the nodes' weights are then applied to those (_expected_gradient).
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

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
    noise_nodes: int = 32      # Gauss-Hermite points for the expectation over the noise


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


# ------------------------------------------------------------------ the expectation over the noise
def _noise_rule(sigma: float, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes e_k and weights w_k (summing to 1) with sum_k w_k f(e_k) ~ E f(e), e ~ N(0, sigma^2).

    The K-point Gauss-Hermite rule of the weight exp(-x^2 / 2) (probabilists' Hermite
    polynomials, numpy's hermegauss), its nodes times sigma: exact when f is a polynomial of
    degree up to 2K - 1 (so the rule's variance is sigma^2 exactly), and the error falls
    fast for smooth f such as the sigmoids here. Deterministic: no sampling noise in the
    field. Without noise (sigma = 0): the single node 0 with weight 1."""
    if sigma == 0:
        return np.zeros(1), np.ones(1)
    if k < 1:
        raise ValueError(f"noise_nodes must be at least 1, got {k}")
    nodes, weights = _hermite_rule(k)
    return sigma * nodes, weights


@functools.lru_cache(maxsize=None)
def _hermite_rule(k: int) -> tuple[np.ndarray, np.ndarray]:
    """hermegauss(k), weights normalised to sum 1; cached (every step asks for it, and it
    solves an eigenvalue problem), read-only so that no caller can change the cache."""
    nodes, weights = hermegauss(k)
    weights = weights / weights.sum()
    nodes.flags.writeable = weights.flags.writeable = False
    return nodes, weights


# ------------------------------------------------------------------ the two losses
def _samples(theta: mg.Tensor, psi: mg.Tensor, m: Method):
    """Real and fake samples and the critic x -> psi * x for N = P * K samples: P points,
    each at the K noise nodes (K = 1 without noise). theta and psi are (N,): every sample
    holds its own copy of its point's theta and psi (each value repeated K times)."""
    e, _ = _noise_rule(m.noise, m.noise_nodes)                    # (K,)
    P = theta.shape[0] // e.shape[0]
    e = np.tile(e, P)                                              # (N,)
    real = mg.tensor(e, dtype=mg.float64)                          # data 0 + noise
    fake = theta + mg.tensor(e, dtype=mg.float64)                  # G(z) + noise
    return real, fake, (lambda x: psi * x)


def d_loss(theta: mg.Tensor, psi: mg.Tensor, m: Method) -> mg.Tensor:
    """D's loss of every sample, summed: N * (the loss of gans.losses, a mean over the N
    samples). theta, psi: (N,) copies, as in _samples. Every loss and penalty here is a
    mean of per-sample terms, so the gradient with respect to copy i is sample i's own
    term; _expected_gradient weights those. (The sum itself weights the nodes equally:
    it is not the expected loss, only its gradients are used.)"""
    real, fake, critic = _samples(theta, psi, m)
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
    return theta.shape[0] * loss


def g_loss(theta: mg.Tensor, psi: mg.Tensor, m: Method) -> mg.Tensor:
    """G's loss of every sample, summed (see d_loss)."""
    _, fake, critic = _samples(theta, psi, m)
    return theta.shape[0] * gan_losses.get(m.loss).g_loss(critic(fake))


def _copies(values: np.ndarray, k: int, requires_grad: bool = False) -> mg.Tensor:
    """(P,) values -> (P * K,): each value repeated for its point's K noise nodes."""
    return mg.tensor(np.repeat(np.ravel(values), k), dtype=mg.float64,
                     requires_grad=requires_grad)


def _expected_gradient(loss: mg.Tensor, copies: mg.Tensor, weights: np.ndarray) -> np.ndarray:
    """sum_k w_k d loss(e_k) / d x for each point: the gradient of the summed loss with
    respect to each sample's own copy of x, weighted over the K nodes of its point."""
    (grad,) = mg.grad(loss, copies)                                # (N,)
    return grad.numpy().reshape(-1, weights.shape[0]) @ weights   # (P,)


def _v_theta(theta: np.ndarray, psi: np.ndarray, m: Method) -> np.ndarray:
    _, weights = _noise_rule(m.noise, m.noise_nodes)
    K = weights.shape[0]
    th, ps = _copies(theta, K, requires_grad=True), _copies(psi, K)
    return -_expected_gradient(g_loss(th, ps, m), th, weights)


def _v_psi(theta: np.ndarray, psi: np.ndarray, m: Method) -> np.ndarray:
    _, weights = _noise_rule(m.noise, m.noise_nodes)
    K = weights.shape[0]
    th, ps = _copies(theta, K), _copies(psi, K, requires_grad=True)
    return -_expected_gradient(d_loss(th, ps, m), ps, weights)


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
