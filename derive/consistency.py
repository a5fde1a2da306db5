r"""Consistency models and flow maps (003 ch. 11): c_skip/c_out, the consistency function, CT/CD targets, CTM's
any-to-any jump and MeanFlow's average velocity.

* ``edm_preconditioning``: EDM's c_skip, c_out (003 §D.6 / eq. (D.6.5), used by CMs in §11.2.1) *derived* by asking
  that the effective network target (x_0 - c_skip x)/c_out have unit variance with c_out minimal, for x = x_0 + s n,
  Var x_0 = sigma_d^2: c_skip = sigma_d^2/(s^2 + sigma_d^2), c_out = s sigma_d / sqrt(s^2 + sigma_d^2).
  ``cm_coefficients`` shifts them to the CM boundary s = eps_min (Song et al. 2023): c_skip(eps) = 1, c_out(eps) = 0,
  hence f_theta(x, eps) = x for every network (003 §11.2.1, "f_theta(x, 0) = x").
* ``consistency_function``: f*(x, s) = Psi_{s->0}(x) for Gaussian data (the PF-ODE flow map, derive.pf_ode), with
  the defining properties (11.2.2)-(11.2.3) and, for the trigonometric schedule (11.3.7)-(11.3.8), the implied
  network target.
* ``ct_single_point_step``: DDIM with the single-point (conditional) x_0 lands exactly on alpha_s' x_0 + sigma_s' eps
  (003 §11.2.1): the CT target uses the same (x_0, eps) as x_{s_{i+1}}.
* ``ctm_residual``: g* solved from G(x, s, t) = (t/s) x + (s - t)/s g = Psi_{s->t}(x) (eqs. (11.4.1)-(11.4.2)).
* ``meanflow_average_velocity``: h*(x_s, s, t) = (Psi_{s->t}(x_s) - x_s)/(t - s) (003 §11.5) and the identity
  h* = v*(x_s, s) - (s - t) d/ds h*(x_s, s, t) (MeanFlow's u = v - (t - r) du/dt).
"""
from __future__ import annotations

import functools

import sympy as sp

from ._validate import EXPR, MIXTURE, NONNEGATIVE, POSITIVE, SCHEDULE, checked, optional
from .data import Mixture, gaussian
from .kernel_spec import KernelSpec
from .pf_ode import gaussian_flow_map
from .schedules import Schedule
from .symbols import m, v, x

s_lvl, t_lvl = sp.symbols("s t_end", positive=True)    #: start and end noise levels / times
sigma_d = sp.Symbol("sigma_d", positive=True)
eps_min = sp.Symbol("epsilon_min", positive=True)
net = sp.Symbol("F_net", real=True)                     #: network output F_theta(...)
g_res = sp.Symbol("g_res", real=True)


@functools.cache
def edm_preconditioning() -> tuple[sp.Expr, sp.Expr]:
    """(c_skip(s), c_out(s)) for x = x_0 + s n, Var[x_0] = sigma_d^2: minimise c_out^2 = E[(x_0 - c_skip x)^2]."""
    c = sp.Symbol("c_skip", real=True)
    x0_, n_ = sp.symbols("x0_d n_d", real=True)
    # E over independent zero-mean x_0 (variance sigma_d^2) and n (variance 1): only squares survive
    second = sp.Poly(sp.expand((x0_ - c * (x0_ + s_lvl * n_))**2), x0_, n_)
    c_out_sq = sum(coef * (sigma_d**2 if mon == (2, 0) else 1 if mon == (0, 2) else 0)
                   for mon, coef in zip(second.monoms(), second.coeffs()))
    c_skip = sp.solve(sp.diff(c_out_sq, c), c)[0]
    c_out = sp.sqrt(sp.factor(c_out_sq.subs(c, c_skip)))
    return sp.simplify(c_skip), sp.simplify(c_out)


def cm_coefficients() -> tuple[sp.Expr, sp.Expr]:
    """CM coefficients with the boundary at s = epsilon_min: c_skip = sigma_d^2/((s - eps)^2 + sigma_d^2),
    c_out = sigma_d (s - eps)/sqrt(sigma_d^2 + s^2) (Song et al. 2023; EDM's with the noise level shifted)."""
    c_skip, c_out = edm_preconditioning()
    shifted_skip = c_skip.subs(s_lvl, s_lvl - eps_min)
    shifted_out = c_out * (s_lvl - eps_min) / s_lvl          # numerator shifted, normaliser kept
    return sp.simplify(shifted_skip), sp.simplify(shifted_out)


@checked(c_skip=EXPR, c_out=EXPR, xx=EXPR, output=EXPR)
def parameterised(c_skip: sp.Expr, c_out: sp.Expr, xx=x, output=net) -> sp.Expr:
    """f_theta(x, s) = c_skip(s) x + c_out(s) F_theta (003 §11.2.1)."""
    return c_skip * xx + c_out * output


@checked(schedule=SCHEDULE, xx=EXPR, time=NONNEGATIVE, mean=EXPR, var=POSITIVE)
def consistency_function(schedule: Schedule, xx=x, time=s_lvl, mean=m, var=v) -> sp.Expr:
    """f*(x, s) = Psi_{s->0}(x) for N(mean, var) data (003 eq. (11.2.2)): the PF-ODE flow map to t = 0."""
    return gaussian_flow_map(schedule, time, 0, xx, mean, var)


@checked(schedule=SCHEDULE, data=optional(MIXTURE), xx=EXPR, time=NONNEGATIVE)
def pf_velocity(schedule: Schedule, data: Mixture | None = None, xx=x, time=s_lvl) -> sp.Expr:
    """v*(x, s) = f(s) x - 1/2 g(s)^2 score (003 eq. (10.1.1)) with the exact score of the data (default: Gaussian
    data N(m, v), derive.data.gaussian)."""
    data = gaussian() if data is None else data
    from .symbols import t
    vel = schedule.drift_coeff() * x - schedule.diffusion_sq() / 2 * data.score(schedule, x, t)
    return vel.subs(t, time).subs(x, xx)


@checked(alpha_from=POSITIVE, sigma_from=POSITIVE, alpha_to=POSITIVE, sigma_to=NONNEGATIVE)
def ct_single_point_step(alpha_from, sigma_from, alpha_to, sigma_to) -> sp.Expr:
    """DDIM x_from -> x_to with the single-point prediction x_0 (003 §11.2.1, eq. after (11.2.5)), evaluated at
    x_from = alpha_from x_0 + sigma_from eps: equals alpha_to x_0 + sigma_to eps (the CT pair). Scales > 0, except
    sigma_to >= 0 (0 at the last step)."""
    from .distill import ddim_x
    from .symbols import eps, x0
    return sp.expand(ddim_x(alpha_from * x0 + sigma_from * eps, x0, alpha_from, sigma_from, alpha_to, sigma_to))


@checked(xx=EXPR, start=POSITIVE, end=NONNEGATIVE, residual=EXPR)
def ctm_jump(xx=x, start=s_lvl, end=t_lvl, residual=g_res) -> sp.Expr:
    """G(x_s, s, t) = (t/s) x_s + (s - t)/s g (003 eq. (11.4.2)); noise levels s > 0, t >= 0."""
    return end / start * xx + (start - end) / start * residual


@checked(flow_map=EXPR, xx=EXPR, start=POSITIVE, end=NONNEGATIVE)
def ctm_residual(flow_map: sp.Expr, xx=x, start=s_lvl, end=t_lvl) -> sp.Expr:
    """g* solved from G(x, s, t) = Psi_{s->t}(x) (003 eq. (11.4.1)): g* = (s Psi - t x)/(s - t)."""
    return sp.simplify(sp.solve(sp.Eq(ctm_jump(xx, start, end, g_res), flow_map), g_res)[0])


@checked(flow_map=EXPR, xx=EXPR, start=NONNEGATIVE, end=NONNEGATIVE)
def meanflow_average_velocity(flow_map: sp.Expr, xx=x, start=s_lvl, end=t_lvl) -> sp.Expr:
    """h*(x_s, s, t) = (1/(t - s)) int_s^t v* du = (Psi_{s->t}(x_s) - x_s)/(t - s) (003 §11.5.1)."""
    return (flow_map - xx) / (end - start)


@checked(schedule=SCHEDULE, mean=EXPR, var=POSITIVE)
def meanflow_identity_residual(schedule: Schedule, mean=m, var=v) -> sp.Expr:
    """h* - [v*(x, s) - (s - t)(d_x h* v* + d_s h*)] for N(mean, var) data (003 §11.5.1); simplifies to 0."""
    flow = gaussian_flow_map(schedule, s_lvl, t_lvl, x, mean, var)
    h = meanflow_average_velocity(flow)
    vel = pf_velocity(schedule, gaussian(mean, var), x, s_lvl)
    return sp.simplify(h - (vel - (s_lvl - t_lvl) * (sp.diff(h, x) * vel + sp.diff(h, s_lvl))))


def kernel_specs() -> list[KernelSpec]:
    """CM coefficients, f_theta, the CTM jump and the MeanFlow map, emitted to numerics/generated/consistency.py."""
    c_skip, c_out = cm_coefficients()
    h_avg = sp.Symbol("h_avg", real=True)
    return [
        KernelSpec("cm_c_skip", "consistency", (s_lvl, sigma_d, eps_min), c_skip, sp.sstr(c_skip),
                   "derive.consistency.cm_coefficients", "consistency.c_skip"),
        KernelSpec("cm_c_out", "consistency", (s_lvl, sigma_d, eps_min), c_out, sp.sstr(c_out),
                   "derive.consistency.cm_coefficients", "consistency.c_out"),
        KernelSpec("cm_output", "consistency", (x, net, s_lvl, sigma_d, eps_min), parameterised(c_skip, c_out),
                   "c_skip(s) x + c_out(s) F", "derive.consistency.parameterised", "consistency.parameterisation"),
        KernelSpec("ctm_jump", "consistency", (x, s_lvl, t_lvl, g_res), ctm_jump(), "(t/s) x + (s - t)/s g",
                   "derive.consistency.ctm_jump", "consistency.ctm"),
        KernelSpec("meanflow_step", "consistency", (x, s_lvl, t_lvl, h_avg), x + (t_lvl - s_lvl) * h_avg,
                   "x_s + (t - s) h", "derive.consistency.meanflow_average_velocity", "consistency.meanflow"),
    ]
