r"""Exact flow maps for Gaussian data and Monte Carlo for flow-matching and guided samplers (JAX, float64).

For x_0 ~ N(m, v) and x_t = alpha_t x_0 + sigma_t eps the PF-ODE is linear and its flow map is
    Psi_{s->t}(x) = alpha_t m + sqrt(V_t / V_s) (x - alpha_s m),   V = alpha^2 v + sigma^2     (derive.pf_ode),
so few-step objects of 003 chs. 10-11 have exact references: the PD target (Lemma 10.3.1: one student DDIM step
equals two teacher DDIM steps), the consistency function f*(x, s) = Psi_{s->0}(x) (eq. (11.2.2)), CTM's jump
G(x, s, t) = Psi_{s->t}(x) with g* from eq. (11.4.1), and MeanFlow's average velocity h* (§11.5).
The derived SymPy objects (derive.distill, derive.consistency, derive.flow_matching, derive.guidance) are compiled
with numerics.kernels.lambdify_jax; the references here (DDIM steps, flow maps, posterior means) are written
independently in JAX so that a check compares two routes.

Monte Carlo: an Euler flow-matching sampler (lax.scan) on a 1-D Gaussian mixture with the derived
v_from_x0 conversion and the exact posterior mean, and guided PF-ODE sampling with the derived guided score,
each compared with the exact law by numerics.stats at false-alarm rate 1e-6.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats
import sympy as sp

from derive import consistency as dcons
from derive import distill as ddist
from derive import flow_matching as dfm
from derive import guidance as dguid

from . import stats
from .exact import (GaussianMixture, _check_fns, _check_key, _check_mix, _check_n, _check_real, marginal_cdf,
                    sample_data)
from .kernels import ScheduleFns, lambdify_jax

FALSE_ALARM = 1e-6


_SKIP = object()


def _check(fns=_SKIP, *, data=None, times=(), positive=(), **reals) -> None:
    """One place for the argument checks: fns a ScheduleFns; data = (mean, var) with var > 0; times >= 0;
    ``positive`` values > 0; other reals finite. Traced values are checked for dtype only."""
    if fns is not _SKIP:
        _check_fns(fns)
    if data is not None:
        _check_real("mean", data[0]), _check_real("var", data[1], 0.0, strict=True)
    for name, value in times:
        _check_real(name, value, 0.0)
    for name, value in positive:
        _check_real(name, value, 0.0, strict=True)
    for name, value in reals.items():
        _check_real(name, value)


def _check_steps(n_steps) -> int:
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)):
        raise TypeError(f"n_steps must be a positive integer (>= 1), got {n_steps!r}")
    if n_steps <= 0:
        raise ValueError(f"n_steps must be a positive integer (>= 1), got {n_steps!r}")
    return int(n_steps)


def _derivative(fn, t):
    t = jnp.asarray(t, dtype=jnp.float64)
    return jax.jvp(fn, (t,), (jnp.ones_like(t),))[1]


# --- exact Gaussian references ---------------------------------------------------------------------

def flow_map(fns: ScheduleFns, mean, var, s, t, x):
    """Psi_{s->t}(x) for N(mean, var) data: alpha_t m + sqrt(V_t / V_s)(x - alpha_s m)."""
    _check(fns, data=(mean, var), times=(("s", s), ("t", t)), x=x)
    vs = fns.alpha(s) ** 2 * var + fns.sigma(s) ** 2
    vt = fns.alpha(t) ** 2 * var + fns.sigma(t) ** 2
    return fns.alpha(t) * mean + jnp.sqrt(vt / vs) * (x - fns.alpha(s) * mean)


def denoiser(fns: ScheduleFns, mean, var, t, x):
    """E[x_0 | x_t = x] = m + alpha v (x - alpha m) / (alpha^2 v + sigma^2) (Gaussian conjugacy)."""
    _check(fns, data=(mean, var), times=(("t", t),), x=x)
    a, s2 = fns.alpha(t), fns.sigma(t) ** 2
    return mean + a * var * (x - a * mean) / (a ** 2 * var + s2)


def ddim_step(fns: ScheduleFns, s, t, x, xhat):
    """Deterministic DDIM s -> t with an x-prediction: alpha_t xhat + sigma_t (x - alpha_s xhat) / sigma_s."""
    _check(fns, times=(("s", s), ("t", t)), x=x, xhat=xhat)
    return fns.alpha(t) * xhat + fns.sigma(t) * (x - fns.alpha(s) * xhat) / fns.sigma(s)


def pf_velocity(fns: ScheduleFns, mean, var, t, x):
    """v*(x, t) = f x - 1/2 g^2 score with the exact Gaussian score -(x - alpha m)/V."""
    _check(fns, data=(mean, var), times=(("t", t),), x=x)
    a, s2 = fns.alpha(t), fns.sigma(t) ** 2
    score = -(x - a * mean) / (a ** 2 * var + s2)
    return fns.f(t) * x - 0.5 * fns.g2(t) * score


# --- derived kernels -------------------------------------------------------------------------------

@functools.cache
def pd_target_kernel(kind: str = "x"):
    """The derived PD target (derive.distill.pd_targets) as a JAX kernel of
    (x_s, x_hat_s, x_hat_u, alpha_s, sigma_s, alpha_u, sigma_u, alpha_t, sigma_t)."""
    if not isinstance(kind, str) or kind not in ("x", "eps", "v"):
        raise ValueError(f"kind must be 'x', 'eps' or 'v', got {kind!r}")
    args = (ddist.x_s, ddist.xh_s, ddist.xh_u, ddist.a_s, ddist.s_s, ddist.a_u, ddist.s_u, ddist.a_t, ddist.s_t)
    return lambdify_jax(ddist.pd_targets()[kind], args)


def pd_discrepancy(fns: ScheduleFns, mean, var, s, u, t, x, kind: str = "x", perturb: float = 0.0):
    """|student one step - teacher two steps| with the exact Gaussian denoiser as teacher (003 Lemma 10.3.1).

    The student's x-prediction is the derived target (converted from eps/v with x = (x_s - sigma eps)/alpha or
    x = (alpha x_s - sigma v)/(alpha^2 + sigma^2)), optionally multiplied by (1 + perturb) to show the power of the check.
    """
    _check(fns, data=(mean, var), times=(("s", s), ("u", u), ("t", t)), x=x, perturb=perturb)
    pd_target_kernel(kind)
    xh_s = denoiser(fns, mean, var, s, x)
    x_u = ddim_step(fns, s, u, x, xh_s)
    xh_u = denoiser(fns, mean, var, u, x_u)
    teacher = ddim_step(fns, u, t, x_u, xh_u)
    a_s, s_s = fns.alpha(s), fns.sigma(s)
    tgt = pd_target_kernel(kind)(x, xh_s, xh_u, a_s, s_s, fns.alpha(u), fns.sigma(u), fns.alpha(t), fns.sigma(t))
    tgt = tgt * (1.0 + perturb)
    if kind == "eps":
        tgt = (x - s_s * tgt) / a_s
    elif kind == "v":
        tgt = (a_s * x - s_s * tgt) / (a_s ** 2 + s_s ** 2)
    student = ddim_step(fns, s, t, x, tgt)
    return jnp.abs(student - teacher)


@functools.cache
def _cm_kernels():
    c_skip, c_out = dcons.cm_coefficients()
    args = (dcons.s_lvl, dcons.sigma_d, dcons.eps_min)
    return lambdify_jax(c_skip, args), lambdify_jax(c_out, args)


def consistency_check(fns: ScheduleFns, mean, var, s, u, x, sigma_data, eps_boundary, perturb: float = 0.0):
    """Residuals of the consistency function f*(x, s) = Psi_{s->0}(x) (003 eqs. (11.2.2)-(11.2.3)):

    * self-consistency along the trajectory: |f*(Psi_{s->u}(x), u) - f*(x, s)|;
    * the CM parameterisation f = c_skip x + c_out F with the derived coefficients: the network target
      F* = (f* - c_skip x)/c_out reproduces f*, and at s = eps_boundary f_theta(x, eps) = x for any F.
    ``perturb`` scales f* at s by (1 + perturb) (power of the check). Returns the max residual.
    """
    _check(fns, data=(mean, var), times=(("s", s), ("u", u)), positive=(("sigma_data", sigma_data),
           ("eps_boundary", eps_boundary)), x=x, perturb=perturb)
    fstar_s = flow_map(fns, mean, var, s, 0.0, x) * (1.0 + perturb)
    x_u = flow_map(fns, mean, var, s, u, x)
    fstar_u = flow_map(fns, mean, var, u, 0.0, x_u)
    c_skip, c_out = _cm_kernels()
    k_s, o_s = c_skip(s, sigma_data, eps_boundary), c_out(s, sigma_data, eps_boundary)
    net = (fstar_s - k_s * x) / o_s
    rebuilt = k_s * x + o_s * net
    at_boundary = c_skip(eps_boundary, sigma_data, eps_boundary) * x + c_out(eps_boundary, sigma_data, eps_boundary) * 7.0
    return jnp.max(jnp.stack([jnp.abs(fstar_u - fstar_s), jnp.abs(rebuilt - fstar_s), jnp.abs(at_boundary - x)]))


@functools.cache
def _ctm_kernels():
    jump = lambdify_jax(dcons.ctm_jump(), (dcons.x, dcons.s_lvl, dcons.t_lvl, dcons.g_res))
    psi = sp.Symbol("psi_st", real=True)
    residual = lambdify_jax(dcons.ctm_residual(psi), (dcons.x, dcons.s_lvl, dcons.t_lvl, psi))
    return jump, residual


def ctm_check(fns: ScheduleFns, mean, var, s, u, t, x, perturb: float = 0.0):
    """CTM (003 eqs. (11.4.1)-(11.4.2)) on an EDM-like time axis: with the derived g*, G(x, s, t) = Psi_{s->t}(x), and
    jumps compose, G(G(x, s, u), u, t) = G(x, s, t) (semigroup (11.2.1)). Returns the max residual."""
    _check(fns, data=(mean, var), times=(("s", s), ("u", u), ("t", t)), x=x, perturb=perturb)
    jump, residual = _ctm_kernels()

    def big_g(xx, a, b):
        g = residual(xx, a, b, flow_map(fns, mean, var, a, b, xx)) * (1.0 + perturb)
        return jump(xx, a, b, g)

    direct = big_g(x, s, t)
    composed = big_g(big_g(x, s, u), u, t)
    return jnp.max(jnp.maximum(jnp.abs(direct - flow_map(fns, mean, var, s, t, x)), jnp.abs(composed - direct)))


def meanflow_check(fns: ScheduleFns, mean, var, s, t, x, n_nodes: int = 40, perturb: float = 0.0):
    """MeanFlow (003 §11.5): h*(x, s, t) = (Psi_{s->t}(x) - x)/(t - s) against two independent routes:
    Gauss–Legendre quadrature of (1/(t - s)) int_s^t v*(x_u, u) du along the exact trajectory, and the identity
    h* = v*(x, s) - (s - t)(d_x h* v* + d_s h*) with the derivative by jax.jvp. Returns the max residual."""
    _check(fns, data=(mean, var), times=(("s", s), ("t", t)), x=x, perturb=perturb)
    if isinstance(n_nodes, bool) or not isinstance(n_nodes, (int, np.integer)) or n_nodes < 1:
        raise ValueError(f"n_nodes must be a positive integer (>= 1), got {n_nodes!r}")

    def h(xx, ss):
        return (flow_map(fns, mean, var, ss, t, xx) - xx) / (t - ss) * (1.0 + perturb)

    nodes, weights = np.polynomial.legendre.leggauss(n_nodes)
    us = 0.5 * (t - s) * nodes + 0.5 * (t + s)
    vals = jax.vmap(lambda uu: pf_velocity(fns, mean, var, uu, flow_map(fns, mean, var, s, uu, x)))(jnp.asarray(us))
    average = 0.5 * jnp.sum(jnp.asarray(weights)[:, None] * vals.reshape(n_nodes, -1), axis=0).reshape(jnp.shape(x))
    vel = pf_velocity(fns, mean, var, s, x)
    h0, dh = jax.jvp(h, (x, jnp.asarray(s, dtype=jnp.float64)), (vel, jnp.ones_like(jnp.asarray(s, dtype=jnp.float64))))
    identity = vel - (s - t) * dh
    return jnp.maximum(jnp.max(jnp.abs(h0 - average)), jnp.max(jnp.abs(h0 - identity)))


# --- Monte Carlo -----------------------------------------------------------------------------------

def mixture_denoiser(fns: ScheduleFns, mix: GaussianMixture, t, x):
    """E[x_0 | x_t = x] for 1-D mixture data: responsibilities times per-component conjugate posterior means."""
    _check(fns, times=(("t", t),), x=x)
    _check_mix(mix)
    if mix.dim is not None:
        raise ValueError(f"mix must be 1-D data (means of shape (K,)), got means of shape {mix.means.shape}")
    a, s2 = fns.alpha(t), fns.sigma(t) ** 2
    var = a ** 2 * mix.variances + s2
    xk = x[..., None]
    logc = np.log(mix.weights) - 0.5 * ((xk - a * mix.means) ** 2 / var + jnp.log(2 * np.pi * var))
    r = jax.nn.softmax(logc, axis=-1)
    post = mix.means + a * mix.variances * (xk - a * mix.means) / var
    return jnp.sum(r * post, axis=-1)


@functools.cache
def _v_from_x0():
    c = dfm.conversions()
    return lambdify_jax(c["v_from_x0"], (dfm.x, dfm.a_, dfm.s_, dfm.da_, dfm.ds_, dfm.x0_hat))


def fm_velocity(fns: ScheduleFns, mix: GaussianMixture, t, x):
    """Marginal FM velocity (003 eq. (5.2.10)) through the derived v_from_x0 conversion and the exact denoiser."""
    _check(fns, times=(("t", t),), x=x)
    _check_mix(mix)
    return _v_from_x0()(x, fns.alpha(t), fns.sigma(t), _derivative(fns.alpha, t), _derivative(fns.sigma, t),
                        mixture_denoiser(fns, mix, t, x))


def fm_euler_sample(key, n: int, n_steps: int, fns: ScheduleFns, mix: GaussianMixture, velocity_mix=None,
                    t_start: float = 1.0, t_end: float = 0.0):
    """Euler sampler x <- x + (t_{k+1} - t_k) v(x, t_k) from exact x_{t_start} samples to t_end (lax.scan).

    The velocity uses the mixture ``velocity_mix`` (default: the data mixture; another mixture gives a wrong field,
    for power checks). Returns the samples at t_end."""
    _check_steps(n_steps), _check_key(key), _check_n(n), _check_fns(fns), _check_mix(mix)
    if velocity_mix is not None:
        _check_mix(velocity_mix, "velocity_mix")
    _check(times=(("t_start", t_start), ("t_end", t_end)))
    vmix = mix if velocity_mix is None else velocity_mix
    k0, k1 = jax.random.split(key)
    x_init = fns.alpha(t_start) * sample_data(k0, n, mix) + fns.sigma(t_start) * jax.random.normal(k1, (n,))
    grid = jnp.linspace(t_start, t_end, n_steps + 1)

    def step(xx, times):
        return xx + (times[1] - times[0]) * fm_velocity(fns, vmix, times[0], xx), None

    out, _ = jax.lax.scan(step, x_init, jnp.stack([grid[:-1], grid[1:]], axis=1))
    return out


def fm_euler_test(key, n: int, n_steps: int, fns: ScheduleFns, mix: GaussianMixture, velocity_mix=None,
                  alpha: float = FALSE_ALARM) -> stats.TestResult:
    """KS test of the Euler FM samples at t = 0 against the data mixture's CDF at false-alarm rate ``alpha``."""
    stats._check_alpha(alpha)
    xs = np.asarray(fm_euler_sample(key, n, n_steps, fns, mix, velocity_mix))
    return stats.ks_one_sample(xs, lambda q: np.asarray(marginal_cdf(jnp.asarray(q), 0.0, fns, mix)), alpha)


@functools.cache
def _guided_score_kernel():
    g = dguid
    expr = g.guided_score()
    return lambdify_jax(expr, (g.w_g, g.a_, g.s_, g.x, g.m, g.v, g.y_obs, g.r_lik))


def guided_sample(key, n: int, fns: ScheduleFns, mean, var, obs, lik_var, scale, t0=1.0, t1=1e-3, n_steps=200):
    """Guided PF-ODE samples at t1 (RK4) with the derived score grad log p_t(x) + w grad log p_t(y|x) (eq. (8.2.3)),
    started from the exact noised tilted law at t0 (the tilted Gaussian of derive.guidance pushed forward)."""
    from .simulate import pf_ode_flow
    _check_key(key), _check_n(n), _check_steps(n_steps)
    _check(fns, data=(mean, var), times=(("t0", t0), ("t1", t1)), positive=(("lik_var", lik_var),), obs=obs)
    _check_scale(scale)
    score = _guided_score_kernel()
    mt, vt = tilted_moments(mean, var, obs, lik_var, scale)
    a0, s0 = fns.alpha(t0), fns.sigma(t0)
    x_init = a0 * mt + jnp.sqrt(a0 ** 2 * vt + s0 ** 2) * jax.random.normal(key, (n,))
    dummy = GaussianMixture(np.array([1.0]), np.array([float(mean)]), np.array([float(var)]))
    return pf_ode_flow(x_init, fns, dummy, t0, t1, n_steps,
                       score=lambda xx, tt: score(scale, fns.alpha(tt), fns.sigma(tt), xx, mean, var, obs, lik_var))


def _check_scale(scale) -> None:
    """The guidance scale w of p(x) p(y|x)^w: a real number >= 0 (the tilted law is a proper Gaussian)."""
    _check_real("scale", scale, 0.0)


@functools.cache
def _tilted_kernels():
    g = dguid
    mean_e, var_e = g.tilted_density()
    args = (g.m, g.v, g.y_obs, g.r_lik, g.w_g)
    return lambdify_jax(mean_e, args), lambdify_jax(var_e, args)


def tilted_moments(mean, var, obs, lik_var, scale):
    """Mean and variance of p(x) p(y|x)^w (derive.guidance.tilted_density)."""
    _check(data=(mean, var), positive=(("lik_var", lik_var),), obs=obs)
    _check_scale(scale)
    km, kv = _tilted_kernels()
    return km(mean, var, obs, lik_var, scale), kv(mean, var, obs, lik_var, scale)


def guided_test(key, n: int, fns: ScheduleFns, mean, var, obs, lik_var, scale, t1=1e-3,
                alpha: float = FALSE_ALARM) -> stats.TestResult:
    """KS test of guided samples at t1 against the tilted density pushed to t1, N(alpha m_w, alpha^2 v_w + sigma^2)."""
    stats._check_alpha(alpha)
    xs = np.asarray(guided_sample(key, n, fns, mean, var, obs, lik_var, scale, t1=t1))
    mt, vt = (float(q) for q in tilted_moments(mean, var, obs, lik_var, scale))
    a, s = float(fns.alpha(t1)), float(fns.sigma(t1))
    law = scipy.stats.norm(a * mt, np.sqrt(a ** 2 * vt + s ** 2))
    return stats.ks_one_sample(xs, law.cdf, alpha)


def guided_moments(fns: ScheduleFns, mean, var, obs, lik_var, scale, t0=1.0, t1=1e-3, n_steps=2000):
    """Exact law of the guided PF-ODE output: the derived guided score is affine in x, so the ODE dx/dt = A(t) x + B(t)
    is linear and a Gaussian start N(mu, V) stays Gaussian with mu' = A mu + B, V' = 2 A V (integrated by RK4 in
    ``n_steps`` steps, error O(dt^4)). Starts from the same noised tilted law as ``guided_sample``."""
    _check_steps(n_steps)
    _check(fns, data=(mean, var), times=(("t0", t0), ("t1", t1)), positive=(("lik_var", lik_var),), obs=obs)
    _check_scale(scale)
    score = _guided_score_kernel()

    def coeffs(tt):
        at, st_ = fns.alpha(tt), fns.sigma(tt)
        k0 = score(scale, at, st_, 0.0, mean, var, obs, lik_var)
        k1 = score(scale, at, st_, 1.0, mean, var, obs, lik_var) - k0
        return fns.f(tt) - 0.5 * fns.g2(tt) * k1, -0.5 * fns.g2(tt) * k0

    def rhs(state, tt):
        a_coef, b_coef = coeffs(tt)
        return jnp.stack([a_coef * state[0] + b_coef, 2 * a_coef * state[1]])

    mt, vt = tilted_moments(mean, var, obs, lik_var, scale)
    a0, s0 = fns.alpha(t0), fns.sigma(t0)
    dt = (t1 - t0) / n_steps

    def step(state, k):
        tt = t0 + k * dt
        k1 = rhs(state, tt)
        k2 = rhs(state + 0.5 * dt * k1, tt + 0.5 * dt)
        k3 = rhs(state + 0.5 * dt * k2, tt + 0.5 * dt)
        k4 = rhs(state + dt * k3, tt + dt)
        return state + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4), None

    out, _ = jax.lax.scan(step, jnp.stack([a0 * mt, a0 ** 2 * vt + s0 ** 2]), jnp.arange(n_steps))
    return out[0], out[1]
