"""The bilinear game min_x max_y f(x, y) = x * y: the simplest game on which gradient
descent-ascent fails, and the course's first picture of GAN non-convergence.

The only equilibrium is (0, 0). The gradients are df/dx = y, df/dy = x, so x descends and
y ascends with step size lr:

  simultaneous   x' = x - lr y,   y' = y + lr x
                 = a rotation scaled by sqrt(1 + lr^2): the radius r = sqrt(x^2 + y^2)
                 grows by exactly that factor every step; the point spirals outwards.
  alternating    x' = x - lr y,   y' = y + lr x'      (y sees the updated x)
                 The step matrix [[1, -lr], [lr, 1 - lr^2]] has determinant 1 and, for
                 lr < 2, eigenvalues on the unit circle: the point orbits for ever.
                 It keeps Q(x, y) = x^2 - lr x y + y^2 exactly (M^T Q M = Q), and since Q
                 lies between (1 - lr/2) r^2 and (1 + lr/2) r^2, the radius stays below
                 sqrt(Q(start) / (1 - lr/2)).

Neither converges; in continuous time (lr -> 0) both become the circle x^2 + y^2 = const.
The gradients are computed by minigrad (mg.grad of x * y), as a GAN's would be.
"""
from __future__ import annotations

import math

import numpy as np

import minigrad as mg


def gradients(x: float, y: float) -> tuple[float, float]:
    """(df/dx, df/dy) of f = x * y at one point, by minigrad."""
    tx = mg.tensor(x, dtype=mg.float64, requires_grad=True)
    ty = mg.tensor(y, dtype=mg.float64, requires_grad=True)
    gx, gy = mg.grad(tx * ty, [tx, ty])
    return gx.item(), gy.item()


def trajectory(start=(1.0, 1.0), lr: float = 0.1, steps: int = 200,
               mode: str = "simultaneous") -> np.ndarray:
    """Gradient descent on x, ascent on y; returns the (steps + 1, 2) points visited."""
    if mode not in ("simultaneous", "alternating"):
        raise ValueError(f"mode must be 'simultaneous' or 'alternating', got {mode!r}")
    x, y = (float(v) for v in start)
    path = np.empty((steps + 1, 2))
    path[0] = x, y
    for step in range(1, steps + 1):
        gx, gy = gradients(x, y)
        if mode == "simultaneous":
            x, y = x - lr * gx, y + lr * gy
        else:
            x = x - lr * gx
            _, gy = gradients(x, y)        # y's gradient at the updated x
            y = y + lr * gy
        path[step] = x, y
    return path


def radius(path: np.ndarray) -> np.ndarray:
    """Distance to the equilibrium (0, 0) along a path."""
    return np.hypot(path[..., 0], path[..., 1])


def invariant(x, y, lr: float):
    """Q = x^2 - lr x y + y^2, conserved exactly by alternating steps."""
    return x * x - lr * x * y + y * y


def alternating_radius_bound(start, lr: float) -> float:
    """An upper bound on the radius of the alternating orbit: sqrt(Q(start) / (1 - lr/2))."""
    if not 0 < lr < 2:
        raise ValueError("the alternating orbit is bounded for 0 < lr < 2")
    return math.sqrt(invariant(start[0], start[1], lr) / (1 - lr / 2))
