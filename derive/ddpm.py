r"""DDPM (Ho et al. 2020), derived: forward marginals, the posterior q(x_{t-1} | x_t, x_0), the ELBO terms, the ε-loss.

Convention (DDPM's own: 001 eqs. (4), (8)-(10) and the posterior tilde-mu/tilde-beta (DDPM eq. (7), unnumbered
in 001); 000 eqs. (41), (52)-(53)): alpha_t = 1 - beta_t,
alphabar_t = prod_{s<=t} (1 - beta_s), q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t).
(003 ch. 2 writes alphabar_i for sqrt(alphabar_t) and alpha_i for sqrt(alpha_t); claims state their convention.)

* ``forward_marginal`` composes the one-step kernels (Gaussian push-forwards) -> N(sqrt(alphabar_t) x_0, 1 - alphabar_t).
* ``posterior`` applies Bayes' rule q(x_{t-1}|x_t,x_0) ∝ q(x_t|x_{t-1}) q(x_{t-1}|x_0) and completes the square
  (derive.gaussian) -> mu_tilde, beta_tilde of DDPM eq. (7) as quoted in 001 (lines 99-100) / 003 Lemma 2.2.2 (eq. (2.2.4)).
* ``elbo_log_terms`` gives the pointwise identity behind the ELBO decomposition (DDPM eq. (5), 003 Theorem 2.2.3):
  log q(x_{1:T}|x_0) = log q(x_T|x_0) + sum_{t>=2} log q(x_{t-1}|x_t,x_0).
* ``eps_mean``/``eps_loss_weight``: the ε-parameterised mean (001 eq. (10), 003 eq. (2.2.14)) and the weight
  beta_t^2 / (2 sigma_t^2 alpha_t (1 - alphabar_t)) of ||eps - eps_theta||^2 (DDPM eq. (12)); the simple loss sets it to 1.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence

import sympy as sp

from . import gaussian
from ._validate import BETA, EXPR, NONNEGATIVE, OPEN_UNIT, POSITIVE, UNIT, checked, integer, sequence_of
from .kernel_spec import KernelSpec

#: alphabar_t for t >= 1 (a product of factors 1 - beta_s in (0, 1)) lies in OPEN_UNIT = (0, 1); UNIT
#: (0, 1] also admits alphabar_0 = 1
_BETAS = sequence_of(BETA)

beta_t = sp.Symbol("beta_t", positive=True)
alpha_t = sp.Symbol("alpha_t", positive=True)             #: DDPM's alpha_t = 1 - beta_t (used while simplifying)
alphabar_t = sp.Symbol("alphabar_t", positive=True)
alphabar_prev = sp.Symbol("alphabar_tm1", positive=True)   #: alphabar_{t-1}
sigma_t = sp.Symbol("sigma_t", positive=True)              #: reverse-step noise std (model variance sigma_t^2)
x_t, x_prev, x0 = sp.symbols("x_t x_tm1 x_0", real=True)
eps, eps_theta, z = sp.symbols("epsilon epsilon_theta z", real=True)


@checked(betas=_BETAS)
def alphabar(betas: Sequence) -> sp.Expr:
    """alphabar_t = prod_{s<=t} (1 - beta_s) (001 eq. (4) context; DDPM eq. (4))."""
    return sp.Mul(*[1 - b for b in betas])


@checked(betas=_BETAS, start=EXPR)
def forward_marginal(betas: Sequence, start=x0) -> tuple[sp.Expr, sp.Expr]:
    """(mean, variance) of x_T | x_0 by composing x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps_t step by step
    (000 eqs. (40)-(41), (52)-(53); 001 eq. (4)); equals (sqrt(alphabar_T) x_0, 1 - alphabar_T)."""
    mean, var = start, sp.Integer(0)
    for b in betas:
        mean, var = gaussian.linear_push(mean, var, sp.sqrt(1 - b), 0, b)
    return mean, sp.expand(var)


@checked(xt=EXPR, xzero=EXPR, beta=BETA, abar_prev=OPEN_UNIT)
def posterior(xt=x_t, xzero=x0, beta=beta_t, abar_prev=alphabar_prev) -> tuple[sp.Expr, sp.Expr]:
    r"""(mean, variance) of q(x_{t-1} | x_t, x_0) by Bayes' rule with prior q(x_{t-1}|x_0) = N(sqrt(abar_prev) x_0,
    1 - abar_prev) and likelihood q(x_t|x_{t-1}) = N(sqrt(1 - beta) x_{t-1}, beta) (DDPM eq. (7) as quoted
    in 001, and 001's appendix derivation; 003 eq. (2.2.4); 000 eq. (54)).
    Variance = beta_tilde = (1 - abar_prev) beta / (1 - abar_t). beta, abar_prev in (0, 1) (t >= 2; at t = 1,
    abar_prev = 1 and the posterior is the point mass at x_0)."""
    return gaussian.bayes_linear(sp.sqrt(abar_prev) * xzero, 1 - abar_prev, sp.sqrt(1 - beta), 0, beta, xt)


@functools.cache
def posterior_coefficients() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """(coef of x_0, coef of x_t, beta_tilde) of the posterior in terms of beta_t and alphabar_{t-1}, with
    1 - alphabar_t = 1 - (1 - beta_t) alphabar_{t-1} factored out (DDPM eq. (7), 001 lines 99-100)."""
    mean, var = posterior(beta=1 - alpha_t)
    c0, ct = sp.diff(mean, x0), sp.diff(mean, x_t)
    return tuple(sp.factor(sp.simplify(e)).subs(alpha_t, 1 - beta_t) for e in (c0, ct, var))


@checked(alpha_s=POSITIVE, sigma_s=POSITIVE, alpha_t=POSITIVE, sigma_t_=POSITIVE, xt=EXPR, xzero=EXPR)
def posterior_general(alpha_s, sigma_s, alpha_t, sigma_t_, xt, xzero) -> tuple[sp.Expr, sp.Expr]:
    """Posterior x_s | x_t, x_0 for any schedule (s < t): prior N(alpha_s x_0, sigma_s^2), transition
    x_t | x_s = N(alpha_t/alpha_s x_s, sigma_t^2 - alpha_t^2 sigma_s^2 / alpha_s^2) (003 Lemma 4.4.2)."""
    gain = alpha_t / alpha_s
    return gaussian.bayes_linear(alpha_s * xzero, sigma_s**2, gain, 0, sigma_t_**2 - gain**2 * sigma_s**2, xt)


@checked(xt=EXPR, e=EXPR, abar=UNIT)
def x0_from_eps(xt=x_t, e=eps, abar=alphabar_t) -> sp.Expr:
    """x_0 solved from x_t = sqrt(abar) x_0 + sqrt(1 - abar) eps (001 eq. (9); 003 eq. (2.2.12))."""
    return sp.solve(sp.Eq(xt, sp.sqrt(abar) * x0 + sp.sqrt(1 - abar) * e), x0)[0]


@functools.cache
def eps_mean() -> sp.Expr:
    r"""mu_theta(x_t) = mu_tilde(x_t, x0_hat(x_t, eps_theta)) in terms of beta_t, alphabar_t: equals
    (x_t - beta_t / sqrt(1 - alphabar_t) eps_theta) / sqrt(1 - beta_t) (001 eq. (10); 003 eq. (2.2.14))."""
    mean, _ = posterior(beta=1 - alpha_t)
    mean = mean.subs(x0, x0_from_eps(x_t, eps_theta, alphabar_t)).subs(alphabar_prev, alphabar_t / alpha_t)
    mean = sp.expand(sp.simplify(mean))
    coeffs = [sp.factor(sp.simplify(mean.coeff(v_))) for v_ in (x_t, eps_theta)]
    if sp.simplify(mean - coeffs[0] * x_t - coeffs[1] * eps_theta) != 0:  # pragma: no cover
        raise AssertionError("eps_mean is not linear in (x_t, eps_theta)")
    return (coeffs[0] * x_t + coeffs[1] * eps_theta).subs(alpha_t, 1 - beta_t)


@checked(xt=EXPR, e=EXPR, beta=BETA, abar=OPEN_UNIT, sig=NONNEGATIVE, noise=EXPR)
def ancestral_step(xt=x_t, e=eps_theta, beta=beta_t, abar=alphabar_t, sig=sigma_t, noise=z) -> sp.Expr:
    """x_{t-1} = mu_theta(x_t) + sigma_t z (DDPM Algorithm 2; 003 eq. (2.2.14))."""
    return eps_mean().subs({x_t: xt, eps_theta: e, beta_t: beta, alphabar_t: abar}, simultaneous=True) + sig * noise


@checked(T=integer(1, 8))
@functools.cache
def elbo_log_terms(T: int) -> tuple[sp.Expr, sp.Expr, tuple[sp.Symbol, ...], tuple[sp.Symbol, ...]]:
    """(log q(x_{1:T}|x_0) as a product of forward kernels, the same as log q(x_T|x_0) + sum_{t=2}^T log
    q(x_{t-1}|x_t, x_0) with the derived posterior, states (x_0..x_T), betas (beta_1..beta_T)): the rewriting
    that turns the ELBO into KL terms (DDPM eq. (5); 001 eq. (11); 003 Theorem 2.2.3)."""
    xs = sp.symbols(f"x_0:{T + 1}", real=True)
    bs = sp.symbols(f"beta_1:{T + 1}", positive=True)
    forward = sp.Add(*[gaussian.log_normal(xs[k], sp.sqrt(1 - bs[k - 1]) * xs[k - 1], bs[k - 1])
                       for k in range(1, T + 1)])
    m_T, v_T = forward_marginal(bs, xs[0])
    decomposed = gaussian.log_normal(xs[T], m_T, v_T)
    for k in range(2, T + 1):
        mean, var = posterior(xs[k], xs[0], bs[k - 1], alphabar(bs[:k - 1]))
        decomposed += gaussian.log_normal(xs[k - 1], mean, var)
    return forward, decomposed, xs, bs


@checked(sig2=POSITIVE)
def kl_term(sig2=sigma_t**2) -> sp.Expr:
    """L_{t-1} = KL(q(x_{t-1}|x_t,x_0) || N(mu_theta, sig2)) with mu_theta the ε-parameterised mean, x_0 written
    through the true eps, in terms of beta_t, alphabar_t (DDPM eq. (8)-(10); 003 eqs. (2.2.6)-(2.2.7))."""
    mean_q, var_q = posterior()
    sub = {x0: x0_from_eps(x_t, eps, alphabar_t), alphabar_prev: alphabar_t / (1 - beta_t)}
    return gaussian.kl_normal(mean_q.subs(sub), var_q.subs(sub), eps_mean(), sig2)


@functools.cache
def eps_loss_weight() -> sp.Expr:
    r"""Weight w_t with KL mean part = w_t (eps - eps_theta)^2: beta_t^2 / (2 sigma_t^2 (1 - beta_t)(1 - alphabar_t))
    (DDPM eq. (12); 001 eq. (10)). Derived as (mu_tilde(x_t, x_0(eps)) - mu_theta)^2/(2 sigma_t^2), divided out."""
    mean_q, _ = posterior(beta=1 - alpha_t)
    sub = {x0: x0_from_eps(x_t, eps, alphabar_t), alphabar_prev: alphabar_t / alpha_t}
    diff = sp.factor(sp.simplify(mean_q.subs(sub) - eps_mean().subs(beta_t, 1 - alpha_t)))
    w = sp.factor(sp.simplify(diff**2 / (2 * sigma_t**2) / (eps - eps_theta)**2))
    if w.has(x_t, eps, eps_theta):  # pragma: no cover - a failed derivation is a bug
        raise AssertionError(f"eps-loss weight depends on the state: {w}")
    return w.subs(alpha_t, 1 - beta_t)


@checked(abar_T=OPEN_UNIT, xzero=EXPR)
def prior_kl(abar_T=alphabar_t, xzero=x0) -> sp.Expr:
    """L_T = KL(q(x_T|x_0) || N(0, 1)) (DDPM eq. (5)); -> 0 as alphabar_T -> 0 for fixed x_0."""
    return gaussian.kl_normal(sp.sqrt(abar_T) * xzero, 1 - abar_T, 0, 1)


def stable_posterior_coefficients() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """``posterior_coefficients`` with the denominator 1 - alphabar_t written (1 - alphabar_{t-1}) + alphabar_{t-1} beta_t
    (1 - alphabar_{t-1} is exact in floating point; 1 - (1 - beta_t) alphabar_{t-1} cancels as alphabar_{t-1} -> 1
    and beta_t -> 0): the same values, certified equal to ``posterior_coefficients``; for the emitted kernels."""
    one_minus = sp.UnevaluatedExpr(1 - alphabar_prev)       # kept as a unit by the printer (no re-association)
    den = one_minus + alphabar_prev * beta_t
    out = (sp.sqrt(alphabar_prev) * beta_t / den, sp.sqrt(1 - beta_t) * one_minus / den, one_minus * beta_t / den)
    for mine, exact in zip(out, posterior_coefficients()):
        if sp.simplify(mine.doit() - exact) != 0:   # pragma: no cover - certificate
            raise AssertionError(f"stable posterior coefficient {mine} differs from {exact}")
    return out


def kernel_specs() -> list[KernelSpec]:
    c0, ct, var = stable_posterior_coefficients()
    return [
        KernelSpec("ancestral_step", "ddpm", (x_t, eps_theta, beta_t, alphabar_t, sigma_t, z), ancestral_step(),
                   "x_{t-1} = (x_t - beta_t/sqrt(1-alphabar_t) eps_theta)/sqrt(1-beta_t) + sigma_t z",
                   "derive.ddpm.ancestral_step", "ddpm.ancestral_step"),
        KernelSpec("posterior_mean", "ddpm", (x_t, x0, beta_t, alphabar_prev), c0 * x0 + ct * x_t,
                   "mu_tilde = sqrt(alphabar_{t-1}) beta_t/(1-alphabar_t) x_0"
                   " + sqrt(alpha_t)(1-alphabar_{t-1})/(1-alphabar_t) x_t",
                   "derive.ddpm.posterior", "ddpm.posterior_mean"),
        KernelSpec("posterior_variance", "ddpm", (beta_t, alphabar_prev), var,
                   "beta_tilde = (1-alphabar_{t-1})/(1-alphabar_t) beta_t", "derive.ddpm.posterior",
                   "ddpm.posterior_variance"),
    ]
