r"""Gaussian algebra by completing the square: products, conditionals (Bayes), marginals, KL divergences.

A Gaussian density in x is exp(Q(x)) with Q quadratic: Q(x) = -1/2 x^T A x + b^T x + c. Reading the
coefficients off Q (A = -Hessian, b = gradient at 0) gives the law N(A^{-1} b, A^{-1}) -- this is "completing the
square" (001 Appendix, the DDPM posterior derivation after eq. (7); 003 ch. 2, eqs. (2.2.8)-(2.2.10)).
``complete_square`` does this for one variable (scalar) or several (a SymPy Matrix of symbols); everything else
(products of densities, Bayes' rule for a linear-Gaussian model) is built on it. ``condition_joint`` is the
Schur-complement (moment-matching) route, kept as an independent check of the Bayes route.
``kl_normal`` is derived by taking E_q[log q - log p] of a quadratic polynomial with the moments of q.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence

import sympy as sp

from ._validate import EXPR, NONNEGATIVE, POSITIVE, SYMBOL, VARIABLES, checked, sequence_of


@checked(xx=EXPR, mean=EXPR, var=POSITIVE)
def log_normal(xx, mean, var) -> sp.Expr:
    """log N(xx; mean, var) (scalar) = -(xx - mean)^2/(2 var) - log(2 pi var)/2."""
    return -(xx - mean)**2 / (2 * var) - sp.log(2 * sp.pi * var) / 2


@checked(exponent=EXPR, var=VARIABLES)
def complete_square(exponent: sp.Expr, var) -> tuple[sp.Expr, sp.Expr]:
    r"""(mean, variance) of the density proportional to exp(exponent), exponent quadratic in ``var``.

    Scalar: exponent = -a/2 var^2 + b var + c gives N(b/a, 1/a). Vector (``var`` a column Matrix of
    symbols): A = -Hessian, b = gradient at var = 0, giving N(A^{-1} b, A^{-1}) as Matrices.
    Raises ValueError when the exponent is not quadratic in ``var``; the caller asserts a > 0 (A pos. def.).
    """
    expo = sp.expand(exponent)
    if isinstance(var, sp.Symbol):
        poly = sp.Poly(expo, var)
        if poly.degree() != 2:
            raise ValueError(f"exponent must be quadratic in {var}, got degree {poly.degree()}: {exponent}")
        a = -2 * poly.coeff_monomial(var**2)
        b = poly.coeff_monomial(var)
        return sp.simplify(b / a), sp.simplify(1 / a)
    vars_ = list(var)
    poly = sp.Poly(expo, *vars_)
    if poly.total_degree() != 2:
        raise ValueError(f"exponent must be quadratic in {vars_}, got total degree {poly.total_degree()}")
    A = -sp.hessian(expo, vars_)
    zero = {v_: 0 for v_ in vars_}
    b = sp.Matrix([sp.diff(expo, v_).subs(zero) for v_ in vars_])
    cov = sp.simplify(A.inv())
    return sp.simplify(cov * b), cov


@checked(var=SYMBOL, means=sequence_of(EXPR), variances=sequence_of(POSITIVE))
def product(var, means: Sequence, variances: Sequence) -> tuple[sp.Expr, sp.Expr]:
    """Prod_i N(var; means[i], variances[i]) is proportional to N(mean, variance): returns (mean, variance)."""
    if len(means) != len(variances) or not means:
        raise ValueError(f"means and variances must be non-empty and of equal length, got {len(means)}, {len(variances)}")
    expo = sp.Add(*[-(var - mu)**2 / (2 * s2) for mu, s2 in zip(means, variances)])
    return complete_square(expo, var)


@checked(prior_mean=EXPR, prior_var=POSITIVE, gain=EXPR, offset=EXPR, noise_var=POSITIVE, obs=EXPR)
def bayes_linear(prior_mean, prior_var, gain, offset, noise_var, obs) -> tuple[sp.Expr, sp.Expr]:
    r"""Posterior of u given y = obs for u ~ N(prior_mean, prior_var), y | u ~ N(gain u + offset, noise_var).

    Bayes' rule p(u | y) ∝ p(y | u) p(u), the square completed in u (a fresh dummy symbol).
    """
    u = sp.Dummy("u", real=True)
    expo = log_normal(obs, gain * u + offset, noise_var) + log_normal(u, prior_mean, prior_var)
    return complete_square(expo, u)


@checked(mean_u=EXPR, mean_y=EXPR, var_u=NONNEGATIVE, var_y=POSITIVE, cov_uy=EXPR, obs=EXPR)
def condition_joint(mean_u, mean_y, var_u, var_y, cov_uy, obs) -> tuple[sp.Expr, sp.Expr]:
    """Moment-matching (Schur complement) route: u | y = obs for jointly Gaussian (u, y):
    E = mean_u + cov_uy/var_y (obs - mean_y), Var = var_u - cov_uy^2/var_y. (Bishop (2006) eqs. (2.81)-(2.82).)
    var_y > 0 (it divides); var_u >= 0 (u may be a deterministic function of y)."""
    return mean_u + cov_uy / var_y * (obs - mean_y), var_u - cov_uy**2 / var_y


@checked(exponent=EXPR, var=SYMBOL)
def marginalize(exponent: sp.Expr, var: sp.Symbol) -> sp.Expr:
    r"""log of the integral over ``var`` of exp(exponent), exponent = -a/2 var^2 + b var + c with a > 0:
    log ∫ exp(Q) = c + b^2/(2a) + log(2 pi / a)/2 (the Gaussian integral after completing the square)."""
    poly = sp.Poly(sp.expand(exponent), var)
    if poly.degree() != 2:
        raise ValueError(f"exponent must be quadratic in {var}, got degree {poly.degree()}")
    a = -2 * poly.coeff_monomial(var**2)
    b = poly.coeff_monomial(var)
    c = poly.coeff_monomial(1)
    return c + b**2 / (2 * a) + sp.log(2 * sp.pi / a) / 2


@checked(mean=EXPR, var=NONNEGATIVE, gain=EXPR, offset=EXPR, noise_var=NONNEGATIVE)
def linear_push(mean, var, gain, offset=0, noise_var=0) -> tuple[sp.Expr, sp.Expr]:
    """Law of gain u + offset + sqrt(noise_var) z for u ~ N(mean, var), z ~ N(0, 1) independent."""
    return gain * mean + offset, gain**2 * var + noise_var


@functools.cache
def _kl_generic() -> tuple[tuple[sp.Symbol, ...], sp.Expr]:
    mq, mp = sp.symbols("m_q m_p", real=True)
    vq, vp = sp.symbols("v_q v_p", positive=True)
    xx = sp.Dummy("x", real=True)
    poly = sp.Poly(sp.expand(log_normal(xx, mq, vq) - log_normal(xx, mp, vp)), xx)
    moments = {0: sp.Integer(1), 1: mq, 2: vq + mq**2}
    expectation = sum(coeff * moments[deg[0]] for deg, coeff in poly.terms())
    return (mq, vq, mp, vp), sp.expand_log(sp.expand(expectation), force=True)


@checked(mean_q=EXPR, var_q=POSITIVE, mean_p=EXPR, var_p=POSITIVE)
def kl_normal(mean_q, var_q, mean_p, var_p) -> sp.Expr:
    r"""KL(N(mean_q, var_q) || N(mean_p, var_p)), derived: log q - log p is a quadratic polynomial in x; its
    expectation under q uses E x = mean_q, E x^2 = var_q + mean_q^2. Equals
    1/2 [var_q/var_p + (mean_q - mean_p)^2/var_p - 1 + log(var_p/var_q)] (003 eq. (2.2.13) per coordinate).
    Derived once with symbols (cached), then the arguments are substituted."""
    syms, expr = _kl_generic()
    return expr.subs(dict(zip(syms, (mean_q, var_q, mean_p, var_p))), simultaneous=True)


@checked(means_q=sequence_of(EXPR), vars_q=sequence_of(POSITIVE), means_p=sequence_of(EXPR),
         vars_p=sequence_of(POSITIVE))
def kl_normal_diag(means_q: Sequence, vars_q: Sequence, means_p: Sequence, vars_p: Sequence) -> sp.Expr:
    """KL between diagonal Gaussians: the sum over coordinates of ``kl_normal`` (independent coordinates)."""
    if not len(means_q) == len(vars_q) == len(means_p) == len(vars_p):
        raise ValueError("means_q, vars_q, means_p, vars_p must have equal lengths")
    return sp.Add(*[kl_normal(*args) for args in zip(means_q, vars_q, means_p, vars_p)])
