r"""Itô calculus: the chain rule derived from a second-order Taylor expansion with (dW)^2 = dt.

For dX = a dt + b dW and a smooth phi:
    d phi(X) = (a phi' + 1/2 b^2 phi'') dt + b phi' dW.
The derivation expands phi(X + dX) to second order and applies the Itô table
dt^2 = 0, dt dW = 0, dW^2 = dt. Linear SDEs dX = (k(t) X + c(t)) dt + b(t) dW have the moment ODEs
m' = k m + c and V' = 2 k V + b^2, obtained from the chain rule applied to X and X^2.
"""
from __future__ import annotations

import sympy as sp

from .schedules import check_expr
from .symbols import x


def chain_rule(phi_expr: sp.Expr, drift: sp.Expr, diffusion: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """(dt-coefficient, dW-coefficient) of d phi(X) for dX = drift dt + diffusion dW (phi in the symbol x)."""
    phi_expr, drift, diffusion = (check_expr(n, a) for n, a in
                                  (("phi_expr", phi_expr), ("drift", drift), ("diffusion", diffusion)))
    d_t, d_w, dx = sp.symbols("dt_ dW_ dx_")
    taylor = sp.diff(phi_expr, x) * dx + sp.diff(phi_expr, x, 2) * dx**2 / 2
    expanded = sp.expand(taylor.subs(dx, drift * d_t + diffusion * d_w))
    ito = expanded.subs({d_w**2: d_t}).subs({d_t**2: 0, d_t * d_w: 0})
    ito = sp.expand(ito)
    return sp.simplify(ito.coeff(d_t)), sp.simplify(ito.coeff(d_w))


def generator(phi_expr: sp.Expr, drift: sp.Expr, diffusion_sq: sp.Expr) -> sp.Expr:
    """Infinitesimal generator L phi = a phi' + 1/2 b^2 phi''."""
    phi_expr, drift = check_expr("phi_expr", phi_expr), check_expr("drift", drift)
    diffusion_sq = check_expr("diffusion_sq", diffusion_sq, "nonnegative")
    return drift * sp.diff(phi_expr, x) + diffusion_sq * sp.diff(phi_expr, x, 2) / 2


def linear_moment_odes(k, c, b_sq) -> tuple[sp.Expr, sp.Expr]:
    """Right-hand sides (in mean symbol M, variance symbol V) of the moment ODEs of a linear SDE."""
    k, c, b_sq = check_expr("k", k), check_expr("c", c), check_expr("b_sq", b_sq, "nonnegative")
    mean, var = sp.symbols("M V")
    dm, _ = chain_rule(x, k * x + c, sp.sqrt(b_sq))
    d2, _ = chain_rule(x**2, k * x + c, sp.sqrt(b_sq))
    # E[X^2]' = E[d2(X)], and V = E[X^2] - M^2
    second = sp.expand(d2).subs(x**2, var + mean**2).subs(x, mean)
    first = sp.expand(dm).subs(x, mean)
    return sp.simplify(first), sp.simplify(second - 2 * mean * first)
