r"""Flow matching on Gaussian probability paths (003 ch. 5; 000's flow-matching section).

Convention of this workbench: x_t = alpha_t x_0 + sigma_t eps with data x_0 at t = 0 and noise at the
other end (the rectified-flow / OT path is alpha = 1 - t, sigma = t). 003 ch. 5 names the ends the other
way round (x_0 ~ p_src, x_1 ~ p_tgt, a_t x_0 + b_t x_1); with a_t = sigma, b_t = alpha the formulas coincide.

* ``gaussian_path_velocity``: Proposition 5.3.1 (003), v_t(x) = sigma'(t)/sigma(t) (x - mu(t)) + mu'(t),
  *derived* as d/dt Psi_{0->t} o Psi_{0->t}^{-1} for the flow map (5.3.2) Psi(y) = mu + sigma (y - mu(0))/sigma(0).
* ``conditional_velocity``: the one-sided path p_t(x|x_0) = N(alpha_t x_0, sigma_t^2) (003 eq. (5.3.3) after
  renaming), i.e. alpha' x_0 + sigma'/sigma (x - alpha x_0) = alpha' x_0 + sigma' eps on the path.
* ``marginal_velocity``: v_t(x) = E[v_t(x | x_0) | x_t = x] (003 eq. (5.2.10)) for Gaussian-mixture data, with
  the posterior of x_0 by completing the square (derive.score_matching.gaussian_posterior).
* ``conversions``: velocity <-> eps <-> x_0 <-> score, solved from x = alpha x_0 + sigma eps, v = alpha' x_0 +
  sigma' eps and Tweedie's eps = -sigma score (003 ch. 6, Table of parameterisations).
* ``loss_gap``: L_CFM - L_FM for a parametric model (003 eq. (5.2.9)): independent of the parameters, so
  the gradients are equal.
* ``reflow_gaussian``: rectified flow (003 §5.4, eqs. (5.4.1)-(5.4.2)) for Gaussian data: one reflow step
  makes the coupling deterministic and the paths straight (straightness 0).
"""
from __future__ import annotations

import functools

import sympy as sp

from ._validate import EXPR, MIXTURE, NONNEGATIVE, POSITIVE, SCHEDULE, SYMBOL, checked, integer, optional
from .data import Mixture, normal_pdf
from .kernel_spec import KernelSpec
from .pf_ode import gaussian_flow_map
from .schedules import Schedule
from .score_matching import _gauss_expectation, gaussian_posterior
from .symbols import t, x, x0

# generic scale symbols for conversions and kernels (values of alpha_t, sigma_t and their time derivatives)
a_, s_ = sp.symbols("alpha_t sigma_t", positive=True)
da_, ds_ = sp.symbols("dalpha_t dsigma_t", real=True)
vel, eps_hat, x0_hat, score = sp.symbols("v_hat eps_hat x0_hat score_hat", real=True)
h_step = sp.Symbol("h", real=True)


@checked(mu=EXPR, sd=POSITIVE, xx=EXPR, time=SYMBOL)
def gaussian_path_velocity(mu, sd, xx=x, time=t) -> sp.Expr:
    """Velocity generating the flow map (003 eq. (5.3.2)) of the Gaussian path N(mu(t), sd(t)^2) (Prop. 5.3.1).

    Derived, not typed: v_t(x) = (d/dt Psi_{0->t})(Psi_{0->t}^{-1}(x)) with the inverse solved by SymPy.
    ``mu``, ``sd`` are expressions in the Symbol ``time`` (differentiated); ``sd`` must be positive.
    """
    y = sp.Symbol("y_init", real=True)
    psi = mu + sd * (y - mu.subs(time, 0)) / sd.subs(time, 0)
    inverse = sp.solve(sp.Eq(psi, xx), y)
    if len(inverse) != 1:  # pragma: no cover - the map is affine with nonzero slope
        raise AssertionError(f"flow map is not invertible: {inverse}")
    return sp.simplify(sp.diff(psi, time).subs(y, inverse[0]))


@checked(schedule=SCHEDULE, xx=EXPR, data_x0=EXPR, time=NONNEGATIVE)
def conditional_velocity(schedule: Schedule, xx=x, data_x0=x0, time=t) -> sp.Expr:
    """u_t(x | x_0) for p_t(x|x_0) = N(alpha_t x_0, sigma_t^2): Prop. 5.3.1 applied to mu = alpha x_0, sd = sigma
    (003 eq. (5.3.3) with a_t -> sigma_t, b_t -> alpha_t). Equals alpha' x_0 + sigma' eps at x = alpha x_0 + sigma eps."""
    # the path starts at t = 0 where sigma may vanish: derive on the generic path, then substitute
    mu_f, sd_f = sp.Function("mu_path"), sp.Function("sd_path", positive=True)
    generic = gaussian_path_velocity(mu_f(t), sd_f(t), xx, t)
    sub = {mu_f(t): schedule.alpha_expr * data_x0, sd_f(t): schedule.sigma_expr}
    out = generic.subs({sp.Derivative(mu_f(t), t): sp.diff(sub[mu_f(t)], t),
                        sp.Derivative(sd_f(t), t): sp.diff(sub[sd_f(t)], t)}).subs(sub)
    return sp.simplify(out).subs(t, time)


@checked(schedule=SCHEDULE, data=MIXTURE, xx=EXPR, time=NONNEGATIVE)
def posterior_x0_mean(schedule: Schedule, data: Mixture, xx=x, time=t) -> sp.Expr:
    """E[x_0 | x_t = xx] for mixture data: responsibilities times the per-component conjugate posterior means."""
    a, s2 = schedule.alpha(time), schedule.sigma(time)**2
    # derived at the plain symbol x (the posterior is completed in x_0), then evaluated at xx
    comps = [w * normal_pdf(x, a * mu, a**2 * var + s2) for w, mu, var in zip(data.weights, data.means, data.variances)]
    means = [gaussian_posterior(x, a, s2, mu, var)[0] for mu, var in zip(data.means, data.variances)]
    out = means[0] if len(comps) == 1 else sp.Add(*[c * mm for c, mm in zip(comps, means)]) / sp.Add(*comps)
    return out.subs(x, xx)


@checked(schedule=SCHEDULE, data=MIXTURE, xx=EXPR, time=NONNEGATIVE)
def marginal_velocity(schedule: Schedule, data: Mixture, xx=x, time=t) -> sp.Expr:
    """v_t(x) = E[u_t(x | x_0) | x_t = x] (003 eq. (5.2.10)); u is affine in x_0, so E acts on x_0 only."""
    u = conditional_velocity(schedule, x, x0, t).subs(t, time)
    return sp.expand(u).subs(x0, posterior_x0_mean(schedule, data, x, time)).subs(x, xx)


# --- parameterisation conversions -------------------------------------------------------------------

@functools.cache
def conversions() -> dict[str, sp.Expr]:
    """Velocity, eps, x_0 and score predictions expressed through each other (003 ch. 6).

    Solved from the two linear relations x = alpha x_0 + sigma eps and v = alpha' x_0 + sigma' eps, and the
    Tweedie relation eps = -sigma score. Keys ``"<target>_from_<source>"``; free symbols: x, alpha_t,
    sigma_t, dalpha_t, dsigma_t and the source symbol (v_hat, eps_hat, x0_hat, score_hat).
    """
    out = {}
    sol = sp.solve([sp.Eq(x, a_ * x0_hat + s_ * eps_hat), sp.Eq(vel, da_ * x0_hat + ds_ * eps_hat)],
                   [x0_hat, eps_hat], dict=True)[0]
    out["x0_from_v"], out["eps_from_v"] = sp.simplify(sol[x0_hat]), sp.simplify(sol[eps_hat])
    x0_of_eps = sp.solve(sp.Eq(x, a_ * x0_hat + s_ * eps_hat), x0_hat)[0]
    out["x0_from_eps"] = x0_of_eps
    out["v_from_eps"] = sp.simplify(da_ * x0_of_eps + ds_ * eps_hat)
    eps_of_x0 = sp.solve(sp.Eq(x, a_ * x0_hat + s_ * eps_hat), eps_hat)[0]
    out["eps_from_x0"] = eps_of_x0
    out["v_from_x0"] = sp.simplify(da_ * x0_hat + ds_ * eps_of_x0)
    out["eps_from_score"] = -s_ * score
    out["score_from_eps"] = sp.solve(sp.Eq(eps_hat, -s_ * score), score)[0]
    out["v_from_score"] = sp.simplify(out["v_from_eps"].subs(eps_hat, out["eps_from_score"]))
    out["score_from_v"] = sp.simplify(out["score_from_eps"].subs(eps_hat, out["eps_from_v"]))
    return out


@checked(time_step=EXPR)
def euler_step(time_step=h_step) -> sp.Expr:
    """One explicit Euler step x + h v_hat of dx/dt = v (h < 0 integrates from noise towards data)."""
    return x + time_step * vel


# --- FM vs CFM -------------------------------------------------------------------------------------

@checked(schedule=SCHEDULE, time=NONNEGATIVE, mean=optional(EXPR), var=optional(POSITIVE), degree=integer(0, 3))
def loss_gap(schedule: Schedule, time, mean=None, var=None, degree: int = 2) -> tuple[sp.Expr, tuple]:
    r"""L_CFM(theta) - L_FM(theta) at one time for N(mean, var) data and a polynomial model
    v_theta(x) = sum_k theta_k x^k of the given degree (003 eq. (5.2.9)).

    Both expectations are taken exactly over x_0 ~ N(mean, var), eps ~ N(0, 1) (Gaussian moments). Returns the
    gap and the parameter symbols; the gap does not depend on them, hence grad L_CFM = grad L_FM. ``mean``,
    ``var`` default to the symbols m, v; ``degree`` is 0..3.
    """
    from .symbols import m, v
    mean = m if mean is None else mean
    var = v if var is None else var
    theta = sp.symbols(f"theta_0:{degree + 1}", real=True)
    e = sp.Symbol("e_std", real=True)
    data = Mixture((sp.Integer(1),), (mean,), (var,))
    xt = schedule.alpha(time) * x0 + schedule.sigma(time) * e
    model = sum(th * xt**k for k, th in enumerate(theta))
    target_c = conditional_velocity(schedule, xt, x0, time)
    target_m = marginal_velocity(schedule, data, xt, time)
    gap = sp.expand((model - target_c)**2 - (model - target_m)**2)
    gap = _gauss_expectation(_gauss_expectation(gap, x0, mean, var), e, 0, 1)
    return sp.simplify(gap), theta


# --- rectified flow and reflow ---------------------------------------------------------------------

@checked(mean=optional(EXPR), var=optional(POSITIVE))
def reflow_gaussian(mean=None, var=None):
    r"""One reflow step for N(mean, var) data on the rectified-flow path alpha = 1 - t, sigma = t (003 §5.4).

    1-rectified flow: integrate the marginal velocity from noise (t = 1) to data (t = 0). For Gaussian data the
    marginal velocity is affine in x, so the flow map is affine (an ansatz certified to solve the ODE).
    Returns a dict with the map T(eps) (noise -> data), the new coupling's straight-line conditional
    velocity, the 2-rectified marginal velocity and the straightness S = int_0^1 E|v(x_t) - (x_1 - x_0)|^2 dt
    before (independent coupling) and after the reflow (the deterministic coupling (T(eps), eps)).
    """
    from .schedules import rectified_flow
    from .symbols import m, v
    mean = m if mean is None else mean
    var = v if var is None else var
    rf = rectified_flow()
    data = Mixture((sp.Integer(1),), (mean,), (var,))
    vfield = sp.simplify(marginal_velocity(rf, data, x, t))
    e = sp.Symbol("e_std", real=True)
    # the velocity is affine in x, so the flow is affine: ansatz X(t) = alpha_t m + sqrt(V_t / V_1)(e - alpha_1 m),
    # V = alpha^2 var + sigma^2 (derive.pf_ode.gaussian_flow_map), certified below to solve dX/dt = v(X), X(1) = e
    flow = sp.simplify(gaussian_flow_map(rf, 1, t, e, mean, var))
    residual = sp.simplify(sp.diff(flow, t) - vfield.subs(x, flow))
    if residual != 0 or sp.simplify(flow.subs(t, 1) - e) != 0:  # pragma: no cover - a failed derivation
        raise AssertionError(f"reflow flow-map certificate failed: residual {residual}")
    t_map = sp.simplify(flow.subs(t, 0))                       # T(eps): data produced from noise eps
    # new coupling: x_0 = T(eps), x_1 = eps; straight path x_t = (1 - t) T(eps) + t eps; target eps - T(eps)
    xt_new = (1 - t) * t_map + t * e
    target_new = e - t_map
    eps_of_x = sp.solve(sp.Eq(x, xt_new), e)[0]                # x_t determines eps: the coupling is deterministic
    v_new = sp.simplify(target_new.subs(e, eps_of_x))
    straight_after = sp.simplify(_gauss_expectation(sp.expand((v_new.subs(x, xt_new) - target_new)**2), e, 0, 1))
    # straightness of the 1-rectified problem's training pairs (independent coupling)
    xt_old = (1 - t) * x0 + t * e
    gap = sp.expand((vfield.subs(x, xt_old) - (e - x0))**2)
    straight_before = sp.simplify(sp.integrate(_gauss_expectation(_gauss_expectation(gap, x0, mean, var), e, 0, 1),
                                               (t, 0, 1)))
    return {"velocity": vfield, "flow": flow, "map": t_map, "velocity_reflow": v_new,
            "straightness_before": straight_before, "straightness_after": straight_after}


# --- kernels ---------------------------------------------------------------------------------------

def kernel_specs() -> list[KernelSpec]:
    """Velocity conversions and the Euler step, emitted to numerics/generated/flow_matching.py."""
    c = conversions()
    base = (x, a_, s_, da_, ds_)
    specs = []
    for key, src in (("v_from_eps", eps_hat), ("v_from_x0", x0_hat), ("v_from_score", score),
                     ("eps_from_v", vel), ("x0_from_v", vel), ("score_from_v", vel)):
        specs.append(KernelSpec(key, "flow_matching", base + (src,), c[key], f"{key.replace('_from_', ' <- ')}: "
                                f"{sp.sstr(c[key])}", "derive.flow_matching.conversions",
                                f"flow_matching.{key}"))
    specs.append(KernelSpec("euler_step", "flow_matching", (x, vel, h_step), euler_step(),
                            "x + h v_hat", "derive.flow_matching.euler_step", "flow_matching.euler_step"))
    return specs

