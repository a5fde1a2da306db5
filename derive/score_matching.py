r"""Denoising score matching and its equivalence to explicit score matching.

For x_t = alpha x_0 + sigma eps the conditional score is -(x_t - alpha x_0)/sigma^2 = -eps/sigma. The key
identity (Vincent 2011) is E[grad log p(x_t | x_0) | x_t] = grad log p_t(x_t); it makes
E||s(x_t) - grad log p(x_t|x_0)||^2 - E||s(x_t) - grad log p_t(x_t)||^2 independent of s.
For Gaussian data both are derived here in closed form (posterior by completing the square).
"""
from __future__ import annotations

import sympy as sp

from .schedules import check_expr
from .symbols import m, v, x, x0


def _check(a, s2, mean=m, var=v, **others):
    """Validate the common arguments (signal scale a, noise variance s2 > 0, data N(mean, var > 0))."""
    for name, value in others.items():
        check_expr(name, value)
    check_expr("a", a), check_expr("s2", s2, "positive"), check_expr("mean", mean), check_expr("var", var, "positive")


def conditional_score(xx, a, s2, data_x0=x0) -> sp.Expr:
    """d/dx log N(x; a x_0, s2) at x = xx."""
    _check(a, s2, xx=xx, data_x0=data_x0)
    xs = sp.Symbol("xi", real=True)
    logq = -(xs - a * data_x0)**2 / (2 * s2)
    return sp.diff(logq, xs).subs(xs, xx)


def gaussian_posterior(xx, a, s2, mean=m, var=v) -> tuple[sp.Expr, sp.Expr]:
    """Mean and variance of x_0 | x_t = xx for x_0 ~ N(mean, var), by completing the square in x_0."""
    _check(a, s2, mean, var, xx=xx)
    log_joint = -(x0 - mean)**2 / (2 * var) - (xx - a * x0)**2 / (2 * s2)
    poly = sp.Poly(sp.expand(log_joint), x0)
    quad, lin = poly.coeff_monomial(x0**2), poly.coeff_monomial(x0)
    post_var = sp.simplify(-1 / (2 * quad))
    return sp.simplify(lin * post_var), post_var


def posterior_mean_of_conditional_score(xx, a, s2, mean=m, var=v) -> sp.Expr:
    """E[grad log p(x_t|x_0) | x_t = xx]; equals the marginal score (Vincent's identity)."""
    _check(a, s2, mean, var, xx=xx)
    post_mean, _ = gaussian_posterior(xx, a, s2, mean, var)
    return sp.simplify(conditional_score(xx, a, s2, post_mean))


def objective_gap(a, s2, mean=m, var=v) -> sp.Expr:
    """DSM objective minus ESM objective for a linear model s(x) = k1 x + k0; independent of (k1, k0).

    E over x_0 ~ N(m, v), x_t | x_0 ~ N(a x_0, s2); expectations taken with Gaussian moments.
    """
    _check(a, s2, mean, var)
    k0, k1, e = sp.symbols("k0 k1 e", real=True)
    xt = a * x0 + sp.sqrt(s2) * e
    model = k1 * xt + k0
    marginal_score = -(xt - a * mean) / (a**2 * var + s2)
    dsm = sp.expand((model - conditional_score(xt, a, s2))**2)
    esm = sp.expand((model - marginal_score)**2)
    gap = _gauss_expectation(sp.expand(dsm - esm), x0, mean, var)
    gap = _gauss_expectation(gap, e, 0, 1)
    return sp.simplify(gap)


def _gauss_expectation(poly_expr, var_sym, mean, var) -> sp.Expr:
    """E[poly(X)] for X ~ N(mean, var) from the raw moments of a Gaussian."""
    poly = sp.Poly(poly_expr, var_sym)
    out = 0
    for (k,), coeff in poly.terms():
        out += coeff * _raw_moment(k, mean, var)
    return sp.expand(out)


def _raw_moment(k: int, mean, var) -> sp.Expr:
    z = sp.Symbol("zeta")
    mgf = sp.exp(mean * z + var * z**2 / 2)
    return sp.diff(mgf, z, k).subs(z, 0)
