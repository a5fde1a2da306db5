r"""Fokker–Planck operator of a one-dimensional SDE and the drift that preserves marginals.

For dx = a(x, t) dt + b(t) dw the density obeys  d_t p = -d_x (a p) + 1/2 b^2 d_x^2 p.
For a process run backwards in time (dx = a dt + b d\bar w, dt < 0) the marginals obey
d_t p = -d_x (a p) - 1/2 b^2 d_x^2 p (substitute tau = T - t in the forward equation).
"""
from __future__ import annotations

import functools

import sympy as sp

from .schedules import check_expr
from .symbols import p as p_fn, t, x

FORWARD, REVERSE = "forward", "reverse"


def _check_direction(direction: str) -> int:
    if not isinstance(direction, str) or direction not in (FORWARD, REVERSE):
        raise ValueError(f"direction must be 'forward' or 'reverse', got {direction!r}")
    return 1 if direction == FORWARD else -1


def _check_terms(drift, diffusion_sq, density, density_name: str = "density"):
    return (check_expr("drift", drift), check_expr("diffusion_sq", diffusion_sq, "nonnegative"),
            check_expr(density_name, density, "positive" if density_name == "density" else None))


def operator(drift, diffusion_sq, density, direction: str = FORWARD) -> sp.Expr:
    """Right-hand side of the Fokker–Planck equation: -d_x(a p) +/- 1/2 b^2 d_x^2 p."""
    sign = _check_direction(direction)
    drift, diffusion_sq, density = _check_terms(drift, diffusion_sq, density)
    return -sp.diff(drift * density, x) + sign * diffusion_sq * sp.diff(density, x, 2) / 2


def residual(drift, diffusion_sq, density, direction: str = FORWARD) -> sp.Expr:
    """d_t p minus the Fokker–Planck right-hand side; zero iff ``density`` is the law of the process."""
    drift, diffusion_sq, density = _check_terms(drift, diffusion_sq, density)
    return sp.diff(density, t) - operator(drift, diffusion_sq, density, direction)


def log_residual(drift, diffusion_sq, log_density, direction: str = FORWARD) -> sp.Expr:
    """residual / p written with l = log p (rational in x for Gaussians, so it simplifies fast):
    l_t + a_x + a l_x -+ 1/2 b^2 (l_xx + l_x^2)."""
    sign = _check_direction(direction)
    drift, diffusion_sq, log_density = _check_terms(drift, diffusion_sq, log_density, "log_density")
    lx = sp.diff(log_density, x)
    return (sp.diff(log_density, t) + sp.diff(drift, x) + drift * lx
            - sign * diffusion_sq * (sp.diff(lx, x) + lx**2) / 2)


@functools.cache
def marginal_preserving_coefficient(direction: str = FORWARD) -> sp.Expr:
    r"""Derive c(t) such that dx = [f x + c(t) d_x log p] dt + varsigma dw keeps the marginals of dx = f x dt + g dw.

    Subtracting the two Fokker–Planck equations leaves d_x(c p_x) = +-1/2 (varsigma^2 -+ g^2) p_xx with the
    same generic p; solving this linear equation for c gives c = -1/2 (g^2 - varsigma^2) forward and
    c = -1/2 (g^2 + varsigma^2) in reverse time. Returned in the symbols G2 = g^2, S2 = varsigma^2.
    """
    sign = _check_direction(direction)
    c, g2, s2 = sp.symbols("c G2 S2")
    dens = p_fn(x, t)
    # forward equation of the reference SDE (direction forward, diffusion g^2) minus the candidate's
    reference = -sp.diff(sp.Symbol("f") * x * dens, x) + g2 * sp.diff(dens, x, 2) / 2
    candidate_drift = sp.Symbol("f") * x + c * sp.diff(dens, x) / dens
    candidate = operator(candidate_drift, s2, dens, direction)
    solution = sp.solve(sp.simplify(reference - candidate), c)
    if len(solution) != 1:  # pragma: no cover
        raise AssertionError(f"marginal-preserving drift not unique: {solution}")
    return sp.factor(solution[0])
