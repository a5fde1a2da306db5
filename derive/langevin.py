r"""Langevin dynamics and annealed Langevin (NCSN), with the stationary law of the Gaussian case derived.

* ``langevin_step``: x_{n+1} = x_n + eta grad log p(x_n) + sqrt(2 eta) eps_n (003 eqs. (3.1.4)-(3.1.5), (3.2.x));
  the Euler–Maruyama step of dx = grad log p dt + sqrt(2) dw (003 eq. (3.1.6)); 004's Langevin/OU sections.
* ``annealed_step_size``: eta_l = delta sigma_l^2 / sigma_1^2 (003 ch. 3.3, Algorithm 1, Song & Ermon 2019).
* For a Gaussian target N(m, v) the step is affine, x' = a x + b + c eps, so the mean and variance obey
  M' = a M + b, V' = a^2 V + c^2; ``gaussian_fixed_point`` solves M' = M, V' = V:
  M* = m, V* = v / (1 - eta/(2 v)) -- the discretisation bias of unadjusted Langevin, -> v as eta -> 0.
* ``ou_stationary_variance``: the continuous-time Ornstein–Uhlenbeck dx = -theta (x - m) dt + g dw has
  dV/dt = -2 theta V + g^2, stationary V = g^2/(2 theta) (004 OU section; 003 footnote to eq. (3.1.6): theta = 1/v,
  g = sqrt 2 gives V = v, the target).
"""
from __future__ import annotations

import functools

import sympy as sp

from ._validate import EXPR, NONNEGATIVE, POSITIVE, checked, optional
from .data import normal_pdf
from .kernel_spec import KernelSpec

x, m, eps = sp.symbols("x m epsilon", real=True)
v, eta, delta = sp.symbols("v eta delta", positive=True)
score = sp.Symbol("score", real=True)


@checked(xx=EXPR, sc=EXPR, step=POSITIVE, noise=EXPR)
def langevin_step(xx=x, sc=score, step=eta, noise=eps) -> sp.Expr:
    """x + eta * score + sqrt(2 eta) eps (003 eq. (3.1.5))."""
    return xx + step * sc + sp.sqrt(2 * step) * noise


@checked(xx=EXPR, mean=EXPR, var=POSITIVE)
def gaussian_score(xx=x, mean=m, var=v) -> sp.Expr:
    """d/dx log N(x; mean, var), differentiated from the density (derive.data.normal_pdf)."""
    return sp.simplify(sp.diff(sp.log(normal_pdf(xx, mean, var)), xx))


@checked(step=POSITIVE, mean=EXPR, var=POSITIVE)
def affine_coefficients(step=eta, mean=m, var=v) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """(a, b, c) with langevin_step(x, gaussian_score(x)) = a x + b + c eps, read off by differentiation."""
    expr = sp.expand(langevin_step(x, gaussian_score(x, mean, var), step, eps))
    a, c = sp.diff(expr, x), sp.diff(expr, eps)
    b = sp.simplify(expr - a * x - c * eps)
    return sp.simplify(a), b, c


@functools.cache
def gaussian_fixed_point() -> tuple[sp.Expr, sp.Expr]:
    """(M*, V*) solving M = a M + b, V = a^2 V + c^2 for the Langevin chain on N(m, v) with step eta (0 < eta < 2v)."""
    a, b, c = affine_coefficients()
    M, V = sp.symbols("M V", real=True)
    m_star = sp.solve(sp.Eq(M, a * M + b), M)[0]
    v_star = sp.solve(sp.Eq(V, a**2 * V + c**2), V)[0]
    return sp.simplify(m_star), sp.factor(sp.simplify(v_star))


@checked(mean_n=EXPR, var_n=NONNEGATIVE, step=POSITIVE, mean=EXPR, var=POSITIVE)
def moment_recursion(mean_n, var_n, step=eta, mean=m, var=v) -> tuple[sp.Expr, sp.Expr]:
    """One Langevin step's action on (mean, variance) for the Gaussian target: (a M + b, a^2 V + c^2)."""
    a, b, c = affine_coefficients(step, mean, var)
    return a * mean_n + b, a**2 * var_n + c**2


@checked(theta=optional(POSITIVE), g=optional(POSITIVE))
def ou_stationary_variance(theta=None, g=None) -> sp.Expr:
    """Stationary variance of dx = -theta (x - m) dt + g dw: the zero of dV/dt = -2 theta V + g^2."""
    th = sp.Symbol("theta", positive=True) if theta is None else theta
    gg = sp.Symbol("g", positive=True) if g is None else g
    V = sp.Symbol("V", real=True)
    return sp.solve(sp.Eq(-2 * th * V + gg**2, 0), V)[0]


@checked(sigma_l=POSITIVE, sigma_1=POSITIVE, dlt=POSITIVE)
def annealed_step_size(sigma_l, sigma_1, dlt=delta) -> sp.Expr:
    """eta_l = delta sigma_l^2 / sigma_1^2 (003 Algorithm 1 / annealed Langevin, Song & Ermon 2019)."""
    return dlt * sigma_l**2 / sigma_1**2


def kernel_specs() -> list[KernelSpec]:
    return [KernelSpec("langevin_step", "langevin", (x, score, eta, eps), langevin_step(),
                       "x_{n+1} = x_n + eta score(x_n) + sqrt(2 eta) eps_n", "derive.langevin.langevin_step",
                       "langevin.step")]
