"""Matrix square roots on minigrad tensors, differentiable to any order.

Three ops, for symmetric positive semi-definite (PSD) matrices, which is what covariance
matrices are:

    sqrtm_psd(X)        Y = X^(1/2)                    the PSD square root
    sylvester(Y, G)     Z with Y Z + Z Y = G           the derivative of the square root
    trace_sqrtm(S1, S2) t = Tr (S1 S2)^(1/2)           the cross term of the Frechet distance

All three are computed from a *symmetric eigendecomposition* (`eigh`), X = U diag(l) U^T:

- `eigh` of a symmetric matrix is backward stable and real. The product S1 S2 is not
  symmetric, so `scipy.linalg.sqrtm(S1 @ S2)` (Schur form) can return complex numbers
  whose imaginary parts are pure round-off; here nothing is ever complex.
- round-off can make a PSD matrix's smallest eigenvalues slightly negative, or tiny
  where they should be 0; eigenvalues below d * eps * (the largest) are set to 0 before
  the square root (sqrt would turn a round-off of 1e-16 into an error of 1e-8).
- Newton-Schulz iterations (the other common choice, GPU-friendly) need a normalisation
  and a stopping rule, and their gradient depends on both; the eigendecomposition has
  no tolerance to tune. Its cost, O(d^3), is fine for the feature sizes used here
  (128 for the MNIST classifier, 2048 for Inception).

Why the three close under differentiation (the same idea as the convolution triple):

    Y = X^(1/2):   Y Y = X  =>  Y dY + dY Y = dX  =>  dY = sylvester(Y, dX)
        so  dL/dX = sylvester(Y, dL/dY)              (sylvester(Y, .) is self-adjoint)
    Z = sylvester(Y, G):   Y Z + Z Y = G  =>  Y dZ + dZ Y = dG - dY Z - Z dY
        so  W = sylvester(Y, dL/dZ),  dL/dG = W,  dL/dY = -(W Z^T + Z^T W)

Each backward is sylvester + matmuls, so double backward needs nothing new. In the
eigenbasis of Y = U diag(s) U^T the Sylvester equation is diagonal:
Z = U [(U^T G U)_ij / (s_i + s_j)] U^T. Where s_i + s_j = 0 (a singular Y: fewer samples
than feature dimensions) the entry is set to 0, the minimum-norm (pseudo-inverse)
solution; the true derivative of a square root at an eigenvalue 0 is infinite, so a
gradient through a singular covariance is a finite stand-in, not the limit. Add eps * I
to the covariances (`frechet_distance_differentiable(..., eps=1e-6)`) when that matters.

Inputs are symmetrised, (X + X^T) / 2, before use, so each op is a function of the
symmetric part only and its gradient is symmetric; gradcheck may then perturb single
entries of a covariance matrix freely.
"""
from __future__ import annotations

import minigrad as mg
from minigrad import Function, Tensor
from minigrad import backend


def _xp(array):
    return backend.xp_of(array)


def _sym_array(x):
    return (x + x.T) * 0.5


def _sym(t: Tensor) -> Tensor:
    return (t + t.transpose(0, 1)) * 0.5


def _clean(lam):
    """Eigenvalues of a PSD matrix with round-off removed: below d * eps * max|lam| they
    are indistinguishable from 0 (and negative ones are impossible), so they become 0.
    This matters because the square root amplifies round-off: sqrt(1e-16) = 1e-8."""
    xp = _xp(lam)
    if lam.size == 0:
        return lam
    tol = float(xp.abs(lam).max()) * lam.size * xp.finfo(lam.dtype).eps
    return xp.where(lam > tol, lam, 0.0)


def _eigh_psd(x):
    """(cleaned eigenvalues, eigenvectors) of the symmetric part of x."""
    lam, U = _xp(x).linalg.eigh(_sym_array(x))
    return _clean(lam), U


def trace_sqrt_product(s1, s2):
    """Tr (S1 S2)^(1/2) on raw arrays (numpy or CuPy), as a 0-d array: sum_i sqrt(eig_i(A))
    with A = R S2 R, R = S1^(1/2) (see TraceSqrtm)."""
    _check_square("trace_sqrt_product", s1, s2)
    xp = _xp(s1)
    lam, U = _eigh_psd(s1)
    r = (U * xp.sqrt(lam)) @ U.T                     # S1^(1/2)
    a = _sym_array(r @ _sym_array(s2) @ r)           # A = R S2 R, symmetric PSD
    eig = _clean(xp.linalg.eigvalsh(a))
    return xp.asarray(xp.sqrt(eig).sum(), dtype=s1.dtype)


def _check_square(op: str, *tensors: Tensor) -> None:
    for t in tensors:
        if t.ndim != 2 or t.shape[0] != t.shape[1]:
            raise ValueError(f"{op}: expected a square matrix (d, d), got shape "
                             f"{tuple(t.shape)}")
    if len({t.shape for t in tensors}) > 1:
        shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
        raise ValueError(f"{op}: the matrices must have the same shape, got {shapes}")


class SqrtmPSD(Function):
    """Y = X^(1/2) = U diag(sqrt(l)) U^T for X = U diag(l) U^T symmetric PSD.
    dL/dX = sylvester(Y, sym(dL/dY))."""
    save_inputs = False
    save_outputs = True

    def forward(self, x):
        lam, U = _eigh_psd(x)
        return (U * _xp(x).sqrt(lam)) @ U.T          # (d, d)

    def backward(self, gy):
        (y,) = self.outputs
        return sylvester(y, _sym(gy))


class Sylvester(Function):
    """Z solving Y Z + Z Y = G, for Y symmetric PSD (minimum-norm Z when Y is singular).
    W = sylvester(Y, gZ):  dL/dG = W,  dL/dY = -sym(W Z^T + Z^T W)."""
    save_outputs = True

    def forward(self, y, g):
        xp = _xp(y)
        s, U = _eigh_psd(y)
        denom = s[:, None] + s[None, :]                     # (d, d): s_i + s_j
        tiny = max(float(s.max()) if s.size else 0.0, 1e-300) * s.size * xp.finfo(y.dtype).eps
        safe = xp.where(denom > tiny, denom, 1.0)
        inv = xp.where(denom > tiny, 1.0 / safe, 0.0)
        return U @ ((U.T @ g @ U) * inv) @ U.T             # (d, d)

    def backward(self, gz):
        y, _ = self.inputs
        (z,) = self.outputs
        w = sylvester(y, gz)
        grad_y = None
        if self.needs_input_grad[0]:
            zt = z.transpose(0, 1)
            grad_y = -_sym(w @ zt + zt @ w)
        return grad_y, (w if self.needs_input_grad[1] else None)


class TraceSqrtm(Function):
    """t = Tr (S1 S2)^(1/2), for S1, S2 symmetric PSD.

    forward: with R = S1^(1/2), S1 S2 = R (R S2 R) R^-1 has the eigenvalues of the
    symmetric PSD matrix A = R S2 R (this holds for a singular S1 too: eig(XY) = eig(YX)),
    so t = sum_i sqrt(eig_i(A)). Two `eigh`, all real.

    backward: t = Tr A^(1/2), dt = Tr sylvester(A^(1/2), dA) = <sylvester(A^(1/2), I), dA>
    (which is A^(-1/2) / 2), and dA = R dS2 R, so
        dt/dS2 = R sylvester((R S2 R)^(1/2), I) R
    and, because t is symmetric in S1 and S2 (eig(S1 S2) = eig(S2 S1)), with Q = S2^(1/2),
        dt/dS1 = Q sylvester((Q S1 Q)^(1/2), I) Q  =  T / 2,
    where T = Q (Q S1 Q)^(-1/2) Q is the optimal-transport map from N(0, S1) to N(0, S2).
    Neither gradient needs an inverse of S1 or S2 themselves. Written with sqrtm_psd,
    sylvester and matmul, so it can be differentiated again.
    """

    def forward(self, s1, s2):
        return trace_sqrt_product(s1, s2)                # () scalar

    def backward(self, gt):
        s1, s2 = self.inputs
        identity = mg.tensor(_xp(s1.data).eye(s1.shape[0], dtype=s1.dtype), device=s1.device)
        grads = []
        for mine, other, needed in ((s1, s2, self.needs_input_grad[0]),
                                    (s2, s1, self.needs_input_grad[1])):
            if not needed:
                grads.append(None)
                continue
            q = sqrtm_psd(other)                         # the other matrix's square root
            root = sqrtm_psd(q @ _sym(mine) @ q)         # (Q S Q)^(1/2)
            grads.append(gt * (q @ sylvester(root, identity) @ q))
        return tuple(grads)


def sqrtm_psd(x: Tensor) -> Tensor:
    """The symmetric PSD square root of the symmetric part of x (d, d)."""
    _check_square("sqrtm_psd", x)
    return SqrtmPSD()(x)


def sylvester(y: Tensor, g: Tensor) -> Tensor:
    """Z (d, d) with Y Z + Z Y = G, for Y (d, d) symmetric PSD; the minimum-norm solution
    when Y is singular."""
    _check_square("sylvester", y, g)
    return Sylvester()(y, g)


def trace_sqrtm(s1: Tensor, s2: Tensor) -> Tensor:
    """Tr (S1 S2)^(1/2), a 0-d tensor, for S1, S2 (d, d) symmetric PSD."""
    _check_square("trace_sqrtm", s1, s2)
    return TraceSqrtm()(s1, s2)
