r"""EDM (Karras et al. 2022; 003 App. D.6): preconditioning derived from unit-variance conditions, the sigma
schedule, Euler and Heun steps of dx/dsigma = (x - D(x; sigma))/sigma, and stochastic churn.

Preconditioning (003 eqs. (D.6.1)-(D.6.4)): x_phi(x, t) = c_skip x + c_out F(c_in x, c_noise), data with
variance sigma_d^2, x_t = alpha_t x_0 + sigma_t eps. ``preconditioning`` *solves*:
  * Var[c_in x_t] = 1                                        -> c_in = 1/sqrt(alpha^2 sigma_d^2 + sigma^2);
  * Var[x_tgt] = 1, x_tgt = ((1 - c_skip alpha) x_0 - c_skip sigma eps)/c_out
                                                             -> c_out^2 = (1 - c_skip alpha)^2 sigma_d^2 + c_skip^2 sigma^2;
  * c_skip minimises c_out^2 (d/dc_skip = 0)                 -> c_skip = alpha sigma_d^2/(alpha^2 sigma_d^2 + sigma^2);
  * the loss weight makes the effective weight of ||F - x_tgt||^2 one: omega c_out^2 = 1 -> omega = 1/c_out^2.
c_noise = log(sigma)/4 is Karras' choice (a design decision, not derived). EDM itself is alpha = 1, sigma = t.
"""
from __future__ import annotations

import functools

import sympy as sp

from ._validate import EXPR, POSITIVE, checked
from .kernel_spec import KernelSpec

ALPHA = sp.Symbol("alpha", positive=True)
SIGMA = sp.Symbol("sigma", positive=True)
SIGMA_D = sp.Symbol("sigma_data", positive=True)
C_SKIP, C_OUT, C_IN = sp.symbols("c_skip c_out c_in", real=True)
X, DEN, DEN_NEXT, NOISE = sp.symbols("x denoised denoised_next noise", real=True)
SIGMA_NEXT = sp.Symbol("sigma_next", nonnegative=True)       #: 0 at the final step
I, N = sp.Symbol("i", nonnegative=True), sp.Symbol("n", positive=True)
SIGMA_MIN, SIGMA_MAX, RHO = sp.symbols("sigma_min sigma_max rho", positive=True)
GAMMA, S_NOISE = sp.symbols("gamma S_noise", nonnegative=True)


@functools.cache
def preconditioning() -> dict[str, sp.Expr]:
    """c_in, c_skip, c_out (>= 0) and the loss weight, solved from the unit-variance conditions (module doc),
    as functions of alpha, sigma, sigma_data (003 eqs. (D.6.3), (D.6.4); EDM: alpha = 1, eq. (D.6.5))."""
    x0, e = sp.symbols("x_0 epsilon", real=True)
    var = {x0**2: SIGMA_D**2, e**2: 1, x0 * e: 0}          # second moments of independent x_0 (mean 0), eps

    def variance(expr):
        return sp.expand(expr**2).subs(var)
    c_in = [c for c in sp.solve(sp.Eq(variance(C_IN * (ALPHA * x0 + SIGMA * e)), 1), C_IN) if c.is_positive][0]
    target = ((1 - C_SKIP * ALPHA) * x0 - C_SKIP * SIGMA * e) / C_OUT
    c_out_sq = sp.solve(sp.Eq(variance(target * C_OUT), C_OUT**2), C_OUT**2)
    c_out_sq = c_out_sq[0] if c_out_sq else sp.expand(variance(target * C_OUT))
    c_skip = sp.solve(sp.diff(c_out_sq, C_SKIP), C_SKIP)[0]
    c_out = sp.sqrt(sp.factor(sp.simplify(c_out_sq.subs(C_SKIP, c_skip))))
    return {"c_in": sp.simplify(c_in), "c_skip": sp.simplify(c_skip), "c_out": sp.simplify(c_out),
            "c_out_sq_of_c_skip": c_out_sq, "loss_weight": sp.simplify(1 / c_out**2),
            "c_noise": sp.log(SIGMA) / 4}


def edm_preconditioning() -> dict[str, sp.Expr]:
    """``preconditioning`` at alpha = 1 (EDM, 003 eq. (D.6.5) with t = sigma)."""
    return {k: v.subs(ALPHA, 1) for k, v in preconditioning().items()}


def karras_sigmas() -> sp.Expr:
    r"""sigma_i = (sigma_max^{1/rho} + i/(n-1) (sigma_min^{1/rho} - sigma_max^{1/rho}))^rho, i = 0..n-1 (Karras eq. (5));
    the n-th value sigma_n = 0 is appended by the sampler."""
    return (SIGMA_MAX**(1 / RHO) + I / (N - 1) * (SIGMA_MIN**(1 / RHO) - SIGMA_MAX**(1 / RHO)))**RHO


@checked(x=EXPR, denoised=EXPR, sigma=POSITIVE)
def ode_slope(x=X, denoised=DEN, sigma=SIGMA) -> sp.Expr:
    """dx/dsigma = (x - D(x; sigma))/sigma: the PF-ODE of alpha = 1, sigma = t (003 App. D.6, Karras eq. (3));
    the noise level sigma > 0 (the slope is not defined at sigma = 0)."""
    return (x - denoised) / sigma


def euler_step() -> sp.Expr:
    """x_next = x + (sigma_next - sigma) (x - D)/sigma (Karras Alg. 1/2 Euler step). Finite at sigma_next = 0."""
    return X + (SIGMA_NEXT - SIGMA) * ode_slope()


def heun_step() -> sp.Expr:
    r"""Heun's second-order correction (Karras Alg. 1, lines 9-11): with x_E = ``euler_step`` and D' = D(x_E; sigma_next),
    x_next = x + (sigma_next - sigma) (d + d')/2, d = (x - D)/sigma, d' = (x_E - D')/sigma_next; at sigma_next = 0
    the Euler step is taken (Alg. 1, line 8). Arguments: x, denoised, denoised_next, sigma, sigma_next."""
    x_euler = euler_step()
    safe = sp.Piecewise((sp.Integer(1), sp.Eq(SIGMA_NEXT, 0)), (SIGMA_NEXT, True))
    d_next = ode_slope(x_euler.subs(SIGMA_NEXT, safe), DEN_NEXT, safe)
    heun = X + (SIGMA_NEXT - SIGMA) * (ode_slope() + d_next) / 2
    return sp.Piecewise((x_euler, sp.Eq(SIGMA_NEXT, 0)), (heun, True))


def churn_sigma() -> sp.Expr:
    """sigma_hat = sigma (1 + gamma) (Karras Alg. 2, line 5); gamma = min(S_churn/N, sqrt 2 - 1) on [S_tmin, S_tmax]."""
    return SIGMA * (1 + GAMMA)


def churn_step() -> sp.Expr:
    r"""x_hat = x + sqrt(sigma_hat^2 - sigma^2) S_noise noise (Karras Alg. 2, line 6): raises the noise level of
    x ~ p(x; sigma) to sigma_hat exactly when S_noise = 1 (variances add)."""
    return X + sp.sqrt(churn_sigma()**2 - SIGMA**2) * S_NOISE * NOISE


def kernel_specs() -> list[KernelSpec]:
    """EDM kernels (module "edm"); argument order in each ``formula``."""
    pre = preconditioning()
    mod = "derive.edm."
    a = (SIGMA, ALPHA, SIGMA_D)
    specs = [KernelSpec(f"{name}", "edm", a if name != "c_noise" else (SIGMA,), pre[name],
                        f"args ({'sigma, alpha, sigma_data' if name != 'c_noise' else 'sigma'}): {name} = {pre[name]}"
                        + (" (sigma > 0: the network is never evaluated at sigma = 0)"
                           if name in ("c_noise", "loss_weight") else " (finite for sigma >= 0)"),
                        mod + "preconditioning", f"edm.{name}")
             for name in ("c_in", "c_skip", "c_out", "loss_weight", "c_noise")]
    specs += [
        KernelSpec("karras_sigma", "edm", (I, N, SIGMA_MIN, SIGMA_MAX, RHO), karras_sigmas(),
                   "args (i, n, sigma_min, sigma_max, rho): (sigma_max^(1/rho) + i/(n-1)(sigma_min^(1/rho) -"
                   " sigma_max^(1/rho)))^rho; valid for n >= 2 steps and 0 <= i <= n - 1", mod + "karras_sigmas", "edm.schedule",
                   domain=(("n", (2, 1000)), ("i", (0, N - 1)))),
        KernelSpec("edm_euler_step", "edm", (X, DEN, SIGMA, SIGMA_NEXT), euler_step(),
                   "args (x, denoised, sigma, sigma_next): x + (sigma_next - sigma)(x - denoised)/sigma",
                   mod + "euler_step", "edm.euler"),
        KernelSpec("edm_heun_step", "edm", (X, DEN, DEN_NEXT, SIGMA, SIGMA_NEXT), heun_step(),
                   "args (x, denoised, denoised_next, sigma, sigma_next): Heun correction with denoised_next ="
                   " D(euler_step, sigma_next); sigma_next = 0: the Euler step", mod + "heun_step", "edm.heun"),
        KernelSpec("edm_churn_sigma", "edm", (SIGMA, GAMMA), churn_sigma(),
                   "args (sigma, gamma): sigma (1 + gamma)", mod + "churn_sigma", "edm.churn"),
        KernelSpec("edm_churn_step", "edm", (X, NOISE, SIGMA, GAMMA, S_NOISE), churn_step(),
                   "args (x, noise, sigma, gamma, S_noise): x + sqrt(sigma_hat^2 - sigma^2) S_noise noise",
                   mod + "churn_step", "edm.churn"),
    ]
    return specs
