"""Clear errors at every public entry point (issue 9 item 5).

The public API is found by introspection: every public function and class defined in a module of ``derive`` or
``numerics`` (``numerics.generated`` excluded: emitted code). ``CASES`` maps each one to bad calls
``(bad kwargs, expected exception, regex on the message)``; the bad kwargs replace entries of the valid call
``VALID[name]()`` (empty when every argument has a default). A message must name the argument and its allowed
range. ``EXEMPT`` lists, with a reason, the callables that take no input to validate. ``test_every_public_callable
_is_covered`` fails when a public callable is in neither.

The derive modules in ``K_MODULES`` get generated cases (``_k_cases``): every parameter is given text, and
parameters with a clear range (``_RANGES``) an out-of-range value. Their functions declare one rule per
argument with ``derive._validate.checked``.
"""
from __future__ import annotations

import functools
import importlib
import inspect
import math
import pkgutil
import re

import jax
import numpy as np
import pytest
import scipy.stats
import sympy as sp

import derive
import numerics

NAN, INF = math.nan, math.inf
TEXT = "not a number"
ERR = (TypeError, ValueError)

x, y, m, v, t_ = sp.symbols("x y m v t_", real=True)
pos = sp.Symbol("q", positive=True)


# --- valid objects (built lazily: compiling a schedule costs a second) ------------------------------------
@functools.cache
def sch():
    from derive import schedules
    return schedules.vp_linear()


@functools.cache
def fns():
    from numerics.kernels import schedule_functions
    return schedule_functions(sch())


@functools.cache
def mix():
    from numerics.exact import GaussianMixture
    return GaussianMixture(np.array([0.3, 0.7]), np.array([-1.0, 1.0]), np.array([0.2, 0.5]))


@functools.cache
def mix2d():
    from numerics.exact import GaussianMixture
    return GaussianMixture(np.array([1.0]), np.array([[0.0, 1.0]]), np.array([0.5]))


def key():
    return jax.random.PRNGKey(0)


def sym_data():
    from derive.data import gaussian
    return gaussian()


def xs(n=4, dtype=np.float64):
    return np.linspace(-1.0, 1.0, n).astype(dtype)


def step4(a, b, c, d):
    return a + 2 * b + 3 * c + d


def ident(xx, tt):
    return xx


def text(*params):
    """One wrong-type case per parameter: text must be refused (never parsed), naming the parameter."""
    return [({p: TEXT}, ERR, re.escape(p)) for p in params]


def case(kwargs, exc, pattern):
    return (kwargs, exc, pattern)


# --- valid calls (only arguments without defaults) ---------------------------------------------------------
VALID = {
    # derive: the continuous-time core
    "derive.data.normal_pdf": lambda: dict(xx=x, mean=m, var=v),
    "derive.data.Mixture": lambda: dict(weights=(1,), means=(0,), variances=(1,)),
    "derive.fokker_planck.operator": lambda: dict(drift=-x, diffusion_sq=1, density=sp.exp(-x**2)),
    "derive.fokker_planck.residual": lambda: dict(drift=-x, diffusion_sq=1, density=sp.exp(-x**2)),
    "derive.fokker_planck.log_residual": lambda: dict(drift=-x, diffusion_sq=1, log_density=-x**2),
    "derive.ito.chain_rule": lambda: dict(phi_expr=x**2, drift=-x, diffusion=1),
    "derive.ito.generator": lambda: dict(phi_expr=x**2, drift=-x, diffusion_sq=1),
    "derive.ito.linear_moment_odes": lambda: dict(k=-1, c=0, b_sq=1),
    "derive.pf_ode.pf_ode": lambda: dict(schedule=sch(), score=-x),
    "derive.pf_ode.gaussian_flow_map": lambda: dict(schedule=sch(), s_time=0.2, t_time=0.5, xx=x),
    "derive.reverse_sde.Process": lambda: dict(drift=-x, diffusion_sq=1),
    "derive.reverse_sde.forward_sde": lambda: dict(schedule=sch()),
    "derive.reverse_sde.family_member": lambda: dict(schedule=sch(), score=-x, varsigma_sq=1),
    "derive.reverse_sde.reverse_sde": lambda: dict(schedule=sch(), score=-x),
    "derive.reverse_sde.lambda_member": lambda: dict(schedule=sch(), score=-x, lam=1),
    "derive.reverse_sde.marginal_residual": lambda: dict(process=_process(), schedule=sch(), data=sym_data()),
    "derive.schedules.Schedule": lambda: dict(name="s", alpha_expr=1 - t_, sigma_expr=t_),
    "derive.schedules.get": lambda: dict(name="vp-linear"),
    "derive.score_matching.conditional_score": lambda: dict(xx=x, a=sp.Rational(1, 2), s2=sp.Rational(3, 4)),
    "derive.score_matching.gaussian_posterior": lambda: dict(xx=x, a=sp.Rational(1, 2), s2=sp.Rational(3, 4)),
    "derive.score_matching.posterior_mean_of_conditional_score":
        lambda: dict(xx=x, a=sp.Rational(1, 2), s2=sp.Rational(3, 4)),
    "derive.score_matching.objective_gap": lambda: dict(a=sp.Rational(1, 2), s2=sp.Rational(3, 4)),
    # numerics
    "numerics.exact.GaussianMixture": lambda: dict(weights=[0.5, 0.5], means=[-1.0, 1.0], variances=[0.2, 0.3]),
    "numerics.exact.marginal_logpdf": lambda: dict(x=xs(2), t=0.5, fns=fns(), mix=mix()),
    "numerics.exact.marginal_score": lambda: dict(x=xs(2), t=0.5, fns=fns(), mix=mix()),
    "numerics.exact.marginal_cdf": lambda: dict(x=xs(2), t=0.5, fns=fns(), mix=mix()),
    "numerics.exact.sample_data": lambda: dict(key=key(), n=4, mix=mix()),
    "numerics.exact.sample_marginal": lambda: dict(key=key(), n=4, t=0.5, fns=fns(), mix=mix()),
    "numerics.exact.marginal_mean_var": lambda: dict(t=0.5, fns=fns(), mix=mix()),
    "numerics.stats.ks_one_sample": lambda: dict(samples=xs(10), cdf=scipy.stats.norm.cdf),
    "numerics.stats.ks_two_sample": lambda: dict(a=xs(10), b=xs(12)),
    "numerics.stats.moment_z_test": lambda: dict(samples=xs(10), mean=0.0, var=1.0),
    "numerics.kernels.lambdify_jax": lambda: dict(expr=x**2, args=(x,)),
    "numerics.kernels.schedule_functions": lambda: dict(schedule=sch()),
    "numerics.phi.phi": lambda: dict(k=1, h=0.5),
    "numerics.phi.phi_1": lambda: dict(h=0.5),
    "numerics.phi.phi_2": lambda: dict(h=0.5),
    "numerics.phi.phi_3": lambda: dict(h=0.5),
    "numerics.sharded.shard_samples": lambda: dict(x=xs(4)),
    "numerics.simulate.euler_maruyama": lambda: dict(key=key(), x_init=xs(4), drift=ident, diffusion=lambda tt: tt,
                                                     t0=0.0, t1=1.0, n_steps=4),
    "numerics.simulate.forward_sde": lambda: dict(key=key(), x_init=xs(4), fns=fns(), t0=0.0, t1=1.0, n_steps=4),
    "numerics.simulate.tabulated_score_sde": lambda: dict(key=key(), x_init=xs(4), fns=fns(), mix=mix(),
                                                          coefficients=np.ones((4, 3)), t0=0.8, t1=0.2, n_steps=3),
    "numerics.simulate.pf_ode_flow": lambda: dict(x=xs(4), fns=fns(), mix=mix(), t0=1.0, t1=0.5, n_steps=4),
    "numerics.simulate.reverse_family": lambda: dict(key=key(), n=8, fns=fns(), mix=mix(), varsigma_sq=0.0, T=1.0,
                                                     t_end=0.5, n_steps=4),
    "numerics.chains.affine_coefficients": lambda: dict(step=step4, x_pos=0, pred_pos=1, noise_pos=2,
                                                        params={3: 1.0}),
    "numerics.chains.eps_hat_coefficients": lambda: dict(alpha=0.8, sigma=0.6, m=0.0, v=1.0),
    "numerics.chains.exact_chain": lambda: dict(mean0=0.0, var0=1.0, a=np.ones(3), b=np.zeros(3), c=np.ones(3),
                                                p=np.zeros(3), q=np.zeros(3)),
    "numerics.chains.ddim_coefficients": lambda: dict(fns=fns(), times=np.linspace(1.0, 0.1, 5), eta=0.0),
    "numerics.chains.ddim_exact_chain": lambda: dict(fns=fns(), times=np.linspace(1.0, 0.1, 5), eta=0.0, m=0.5,
                                                     v=0.2),
    "numerics.chains.ddim_convergence_table": lambda: dict(fns=fns(), m=0.5, v=0.2),
    "numerics.chains.ddpm_exact_chain": lambda: dict(betas=np.full(5, 0.1), m=0.5, v=0.2),
    "numerics.chains.ddim_monte_carlo": lambda: dict(key=key(), x_init=xs(4), fns=fns(), mix=mix(),
                                                     times=np.linspace(1.0, 0.1, 5), eta=0.0),
    "numerics.chains.ancestral_monte_carlo": lambda: dict(key=key(), x_init=xs(4), mix=mix(), betas=np.full(5, 0.1)),
    "numerics.chains.annealed_langevin_monte_carlo": lambda: dict(key=key(), x_init=xs(4), mix=mix(),
                                                                  noise_levels=[1.0, 0.5], step_sizes=[0.01, 0.01],
                                                                  n_inner=2),
    "numerics.chains.langevin_monte_carlo": lambda: dict(key=key(), x_init=xs(4), mix=mix(), step_size=0.01,
                                                         n_steps=3),
    "numerics.chains.langevin_exact_chain": lambda: dict(mean0=0.0, var0=1.0, m=0.5, v=0.2, step_size=0.01,
                                                         n_steps=3),
    "numerics.flow_exact.flow_map": lambda: dict(fns=fns(), mean=0.5, var=0.2, s=0.5, t=0.2, x=xs(3)),
    "numerics.flow_exact.denoiser": lambda: dict(fns=fns(), mean=0.5, var=0.2, t=0.5, x=xs(3)),
    "numerics.flow_exact.ddim_step": lambda: dict(fns=fns(), s=0.5, t=0.2, x=xs(3), xhat=xs(3)),
    "numerics.flow_exact.pf_velocity": lambda: dict(fns=fns(), mean=0.5, var=0.2, t=0.5, x=xs(3)),
    "numerics.flow_exact.pd_discrepancy": lambda: dict(fns=fns(), mean=0.5, var=0.2, s=0.6, u=0.4, t=0.2, x=xs(3)),
    "numerics.flow_exact.consistency_check": lambda: dict(fns=fns(), mean=0.5, var=0.2, s=0.6, u=0.4, x=xs(3),
                                                          sigma_data=0.5, eps_boundary=0.002),
    "numerics.flow_exact.ctm_check": lambda: dict(fns=fns(), mean=0.5, var=0.2, s=0.6, u=0.4, t=0.2, x=xs(3)),
    "numerics.flow_exact.meanflow_check": lambda: dict(fns=fns(), mean=0.5, var=0.2, s=0.6, t=0.2, x=xs(3)),
    "numerics.flow_exact.mixture_denoiser": lambda: dict(fns=fns(), mix=mix(), t=0.5, x=xs(3)),
    "numerics.flow_exact.fm_velocity": lambda: dict(fns=fns(), mix=mix(), t=0.5, x=xs(3)),
    "numerics.flow_exact.fm_euler_sample": lambda: dict(key=key(), n=8, n_steps=2, fns=fns(), mix=mix()),
    "numerics.flow_exact.fm_euler_test": lambda: dict(key=key(), n=8, n_steps=2, fns=fns(), mix=mix()),
    "numerics.flow_exact.guided_sample": lambda: dict(key=key(), n=8, fns=fns(), mean=0.5, var=2.0, obs=1.5,
                                                      lik_var=0.3, scale=1.0, n_steps=2),
    "numerics.flow_exact.tilted_moments": lambda: dict(mean=0.5, var=2.0, obs=1.5, lik_var=0.3, scale=1.0),
    "numerics.flow_exact.guided_test": lambda: dict(key=key(), n=8, fns=fns(), mean=0.5, var=2.0, obs=1.5,
                                                    lik_var=0.3, scale=1.0),
    "numerics.flow_exact.guided_moments": lambda: dict(fns=fns(), mean=0.5, var=2.0, obs=1.5, lik_var=0.3, scale=1.0,
                                                       n_steps=2),
    "numerics.solvers.solve": lambda: dict(name="ddim", x_start=xs(2), n_steps=4),
    "numerics.solvers.exact": lambda: dict(x_start=xs(2)),
    "numerics.solvers.karras_grid": lambda: dict(n_steps=4),
    "numerics.solvers.edm_solve": lambda: dict(name="edm_euler", x_start=xs(2), n_steps=4),
    "numerics.solvers.edm_exact": lambda: dict(x_start=xs(2)),
    "numerics.solvers.lambda_grid": lambda: dict(n_steps=4),
    "numerics.solvers.global_errors": lambda: dict(name="ddim"),
    "numerics.solvers.fitted_order": lambda: dict(steps=(10, 20), errors=(1e-2, 2.5e-3)),
    # files owned by others
    "derive.kernel_spec.KernelSpec": lambda: dict(name="k", module="mod", args=(x,), expr=x**2, formula="x^2",
                                                  derivation="derive.x"),
    "numerics.accuracy.sampler": lambda: dict(name="alpha_t"),
    "numerics.accuracy.measure": lambda: dict(spec=_kernel_spec()),
    "numerics.emit.function_source": lambda: dict(spec=_kernel_spec(), claim_ids=[]),
    "numerics.emit.module_source": lambda: dict(module="mod", specs=[], claims={}),
    "numerics.emit.differences": lambda: dict(files={}),
}


def _process():
    from derive.reverse_sde import forward_sde
    return forward_sde(sch())


# --- the formula-family derive modules (K_MODULES): all-symbolic calls; required arguments get symbols
def _symbolic_valid(name: str) -> dict:
    """Valid call of a derive function: required arguments by name (schedule, data, sequences, matrices)."""
    mod, fn = name.rsplit(".", 1)
    out = {}
    for p in inspect.signature(getattr(importlib.import_module(mod), fn)).parameters.values():
        if p.default is not inspect.Parameter.empty or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        if p.name == "schedule":
            out[p.name] = sch()
        elif p.name == "data":
            out[p.name] = sym_data()
        elif p.name in ("betas", "alphas", "sigmas", "noises", "means", "variances", "means_q", "vars_q",
                        "means_p", "vars_p", "ref_probs", "rewards"):
            out[p.name] = (sp.Rational(1, 10), sp.Rational(1, 5))
        elif p.name in ("op", "mat", "cov1", "cov2"):
            out[p.name] = sp.eye(2)
        elif p.name in ("xs", "ys", "mean1", "mean2"):
            out[p.name] = sp.Matrix([1, 2])
        elif p.name in ("src", "dst"):
            out[p.name] = "eps" if p.name == "src" else "x0"
        elif p.name in ("k", "order", "T"):
            out[p.name] = 1
        elif p.name in ("exponent",):
            out[p.name] = -(x - 1)**2 / 2
        else:
            out[p.name] = sp.Symbol(p.name, positive=True)
    return out


def _kernel_spec():
    from derive.kernel_spec import KernelSpec
    return KernelSpec(**VALID["derive.kernel_spec.KernelSpec"]())


K_MODULES = ("consistency", "ddim", "ddpm", "distill", "edm", "exp_integrator", "flow_matching", "gaussian",
             "guidance", "langevin", "optimal_transport", "parameterization")

# --- the table ------------------------------------------------------------------------------------------------
CASES: dict[str, list[tuple]] = {
    # derive.data
    "derive.data.normal_pdf": [
        case({"var": -1}, ValueError, r"var must be > 0"), case({"var": NAN}, ValueError, r"var must be finite"),
        *text("xx", "mean", "var"), case({"mean": None}, TypeError, "mean"), case({"xx": [1, 2]}, TypeError, "xx")],
    "derive.data.Mixture": [
        case({"variances": (-1,)}, ValueError, r"variances\[0\] must be > 0"),
        case({"weights": (sp.Rational(1, 2),)}, ValueError, r"weights must sum to 1"),
        case({"weights": (-1,)}, ValueError, r"weights\[0\] must be >= 0"),
        case({"weights": (1, 0)}, ValueError, r"same length >= 1"),
        case({"means": ("m",)}, TypeError, r"means\[0\]"), case({"weights": [1]}, TypeError, r"weights must be a tuple")],
    "derive.data.gaussian": [case({"var": 0}, ValueError, r"var must be > 0"), *text("mean", "var")],
    # derive.fokker_planck
    **{f"derive.fokker_planck.{f}": [
        case({"direction": "sideways"}, ValueError, r"direction must be 'forward' or 'reverse'"),
        case({"diffusion_sq": -1}, ValueError, r"diffusion_sq must be >= 0"),
        case({"drift": NAN}, ValueError, r"drift must be finite"),
        *text("drift", "diffusion_sq", "log_density" if f == "log_residual" else "density")]
       for f in ("operator", "residual", "log_residual")},
    "derive.fokker_planck.marginal_preserving_coefficient": [
        case({"direction": "up"}, ValueError, r"direction must be 'forward' or 'reverse'"),
        case({"direction": 1}, ValueError, r"direction must be 'forward' or 'reverse'")],
    # derive.ito
    "derive.ito.chain_rule": [*text("phi_expr", "drift", "diffusion"), case({"diffusion": None}, TypeError, "diffusion"),
                              case({"drift": INF}, ValueError, r"drift must be finite")],
    "derive.ito.generator": [*text("phi_expr", "drift", "diffusion_sq"),
                             case({"diffusion_sq": -2}, ValueError, r"diffusion_sq must be >= 0")],
    "derive.ito.linear_moment_odes": [*text("k", "c", "b_sq"), case({"b_sq": -1}, ValueError, r"b_sq must be >= 0")],
    # derive.pf_ode
    "derive.pf_ode.pf_ode": [case({"schedule": "vp-linear"}, TypeError, r"schedule must be a derive.schedules.Schedule"),
                             *text("score")],
    "derive.pf_ode.gaussian_flow_map": [
        case({"s_time": 1.5}, ValueError, r"s_time=1.5 is outside the valid interval \[0.0, 1.0\]"),
        case({"t_time": -0.1}, ValueError, r"t_time=-0.1 is outside the valid interval \[0.0, 1.0\]"),
        case({"var": -1}, ValueError, r"var must be > 0"), case({"schedule": None}, TypeError, "schedule must be"),
        *text("s_time", "t_time", "xx", "mean", "var")],
    # derive.reverse_sde
    "derive.reverse_sde.Process": [
        case({"direction": "sideways"}, ValueError, r"direction must be 'forward' or 'reverse'"),
        case({"diffusion_sq": -1}, ValueError, r"diffusion_sq must be >= 0"), *text("drift", "diffusion_sq")],
    "derive.reverse_sde.forward_sde": [case({"schedule": None}, TypeError, r"schedule must be a derive.schedules")],
    "derive.reverse_sde.family_member": [
        case({"varsigma_sq": -1}, ValueError, r"varsigma_sq must be >= 0"),
        case({"direction": "up"}, ValueError, r"direction must be 'forward' or 'reverse'"),
        case({"schedule": 1}, TypeError, r"schedule must be"), *text("score", "varsigma_sq")],
    "derive.reverse_sde.reverse_sde": [case({"schedule": "ve"}, TypeError, r"schedule must be"), *text("score")],
    "derive.reverse_sde.lambda_member": [*text("lam", "score"), case({"lam": NAN}, ValueError, r"lam must be finite"),
                                         case({"lam": sp.I}, ValueError, r"lam must be a real number")],
    "derive.reverse_sde.marginal_residual": [
        case({"process": "p"}, TypeError, r"process must be a derive.reverse_sde.Process"),
        case({"data": None}, TypeError, r"data must be a derive.data.Mixture"),
        case({"schedule": None}, TypeError, r"schedule must be")],
    "derive.reverse_sde.euler_maruyama_step": [
        case({"direction": "sideways"}, ValueError, r"direction must be 'forward' or 'reverse'")],
    # derive.schedules
    "derive.schedules.Schedule": [
        case({"t_min": 1.0, "t_max": 0.0}, ValueError, r"t_min < t_max"),
        case({"t_min": NAN}, ValueError, r"t_min < t_max"),
        case({"alpha_expr": "1 - t"}, TypeError, r"alpha_expr must be a SymPy expression"),
        case({"sigma_expr": None}, TypeError, r"sigma_expr must be a SymPy expression"),
        case({"name": None}, TypeError, r"name must be a non-empty str"),
        case({"t_max": TEXT}, TypeError, r"t_min and t_max must be real numbers")],
    "derive.schedules.check_expr": [
        case({"name": "w", "value": "1"}, TypeError, r"w must be a SymPy expression or a real number"),
        case({"name": "w", "value": -1, "sign": "positive"}, ValueError, r"w must be > 0"),
        case({"name": "w", "value": NAN}, ValueError, r"w must be finite"),
        case({"name": "w", "value": True}, TypeError, r"w must be a SymPy expression")],
    "derive.schedules.vp_linear": [
        case({"beta_min": -1}, ValueError, r"beta_min must be > 0"),
        case({"beta_max": 0.05}, ValueError, r"beta_max must be >= beta_min"),
        case({"beta_max": "20"}, TypeError, r"beta_max must be a real number > 0"),
        case({"beta_min": None}, TypeError, r"beta_min must be a real number > 0")],
    "derive.schedules.vp_cosine": [case({"s_offset": 0}, ValueError, r"s_offset must be > 0"),
                                   case({"s_offset": "0.008"}, TypeError, r"s_offset must be a real number")],
    "derive.schedules.stable_cosine_sigma": [case({"s_offset": -1}, ValueError, r"s_offset must be > 0"),
                                             case({"s_offset": "0.008"}, TypeError, r"s_offset must be a real")],
    "derive.schedules.ve": [case({"sigma_min": 0}, ValueError, r"sigma_min must be > 0"),
                            case({"sigma_max": 0.001}, ValueError, r"sigma_max must be > sigma_min")],
    "derive.schedules.sub_vp": [case({"beta_min": INF}, ValueError, r"beta_min must be > 0")],
    "derive.schedules.edm": [case({"sigma_max": -1}, ValueError, r"sigma_max must be > 0")],
    "derive.schedules.ornstein_uhlenbeck": [case({"theta": 0}, ValueError, r"theta must be > 0"),
                                            case({"noise": NAN}, ValueError, r"noise must be > 0")],
    "derive.schedules.get": [
        case({"name": "nope"}, ValueError, r"unknown schedule name 'nope'; choose one of"),
        case({"name": None}, ValueError, r"unknown schedule name None"),
        case({"beta_min": -1}, ValueError, r"beta_min must be > 0")],
    # derive.score_matching
    **{f"derive.score_matching.{f}": [
        case({"s2": 0}, ValueError, r"s2 must be > 0"), case({"s2": NAN}, ValueError, r"s2 must be finite"),
        *text("a", "s2"), *([] if f == "conditional_score" else [case({"var": -1}, ValueError, r"var must be > 0")]),
        *([] if f == "objective_gap" else text("xx"))]
       for f in ("conditional_score", "gaussian_posterior", "posterior_mean_of_conditional_score", "objective_gap")},
    # numerics.exact
    "numerics.exact.GaussianMixture": [
        case({"variances": [0.2, -0.3]}, ValueError, r"variances must be > 0"),
        case({"weights": [0.5, 0.6]}, ValueError, r"weights must be >= 0 and sum to 1"),
        case({"means": "ab"}, TypeError, r"means must be an array of real numbers"),
        case({"means": [1.0, NAN]}, ValueError, r"means must be finite"),
        case({"weights": [1.0]}, ValueError, r"same number of components"),
        case({"means": [[[1.0]]]}, ValueError, r"means must be a non-empty array with ndim in \(1, 2\)"),
        case({"variances": None}, TypeError, r"variances must be an array")],
    **{f"numerics.exact.{f}": [
        case({"x": np.array([1, 2])}, TypeError, r"x must have a floating dtype"),
        case({"x": TEXT}, TypeError, r"x must be a real number or a float array"),
        case({"t": -0.5}, ValueError, r"t must be in \[0.0, inf\)"),
        case({"t": NAN}, ValueError, r"t must be finite"),
        case({"t": np.ones(3)}, ValueError, r"t of shape \(3,\) does not broadcast against the sample batch shape"),
        case({"fns": None}, TypeError, r"fns must be a numerics.kernels.ScheduleFns"),
        case({"mix": "mix"}, TypeError, r"mix must be a numerics.exact.GaussianMixture"),
        case({"mix": mix2d, "x": np.zeros((3, 3))}, ValueError, r"x must have shape \(\.\.\., 2\)")]
       for f in ("marginal_logpdf", "marginal_score", "marginal_cdf")},
    "numerics.exact.sample_data": [
        case({"n": 0}, ValueError, r"n must be a positive integer"), case({"n": 2.5}, TypeError, r"n must be a positive"),
        case({"key": 0}, TypeError, r"key must be a JAX PRNG key"), case({"mix": None}, TypeError, r"mix must be")],
    "numerics.exact.sample_marginal": [
        case({"t": np.ones(2)}, ValueError, r"t must be a scalar time"), case({"t": -1.0}, ValueError, r"t must be in"),
        case({"n": -3}, ValueError, r"n must be a positive integer"), case({"fns": "f"}, TypeError, r"fns must be")],
    "numerics.exact.marginal_mean_var": [case({"t": INF}, ValueError, r"t must be finite"),
                                         case({"fns": "vp"}, TypeError, r"fns must be")],
    # numerics.stats
    "numerics.stats.ks_one_sample": [
        case({"alpha": 0}, ValueError, r"alpha must be in \(0, 1\)"),
        case({"alpha": 1.5}, ValueError, r"alpha must be in \(0, 1\)"),
        case({"alpha": "0.1"}, TypeError, r"alpha must be a real number in \(0, 1\)"),
        case({"cdf": None}, TypeError, r"cdf must be a callable"),
        case({"samples": [1.0]}, ValueError, r"samples must have ndim in \(1,\) and at least 2 samples"),
        case({"samples": "abc"}, TypeError, r"samples must be an array of real numbers")],
    "numerics.stats.ks_two_sample": [
        case({"a": None}, TypeError, r"a must be an array of real numbers"),
        case({"b": [[1.0, 2.0], [3.0, 4.0]]}, ValueError, r"b must have ndim in \(1,\)"),
        case({"alpha": NAN}, ValueError, r"alpha must be in \(0, 1\)")],
    "numerics.stats.moment_z_test": [
        case({"var": 0.0}, ValueError, r"var must be finite and > 0"),
        case({"var": -1.0}, ValueError, r"var must be finite and > 0"),
        case({"mean": NAN}, ValueError, r"mean must be finite"),
        case({"mean": "0"}, TypeError, r"mean must be a real number"),
        case({"samples": np.zeros((2, 2, 2))}, ValueError, r"samples must have ndim in \(1, 2\)"),
        case({"mean": [0.0, 0.0, 0.0]}, ValueError, r"mean must be a real number or an array broadcastable to shape"),
        case({"alpha": None}, TypeError, r"alpha must be a real number in \(0, 1\)")],
    # numerics.kernels
    "numerics.kernels.lambdify_jax": [
        case({"expr": "x**2"}, TypeError, r"expr must be a SymPy expression"),
        case({"args": ("x",)}, TypeError, r"args must be SymPy Symbols"),
        case({"args": (y,)}, ValueError, r"free symbols \['x'\] are not among args"),
        case({"args": (x, x)}, ValueError, r"argument names must be distinct"),
        case({"args": None}, TypeError, r"args must be a sequence of SymPy Symbols"),
        case({"functions": "abc"}, TypeError, r"functions must be None or a dict")],
    "numerics.kernels.schedule_functions": [
        case({"schedule": "vp-linear"}, TypeError, r"schedule must be a derive.schedules.Schedule")],
    # numerics.phi
    "numerics.phi.phi": [
        case({"k": 4}, ValueError, r"k must be 1, 2 or 3"), case({"k": 1.0}, TypeError, r"k must be the integer 1, 2 or 3"),
        case({"h": "0.5"}, TypeError, r"h must be a real number or a real array"),
        case({"h": None}, TypeError, r"h must be a real number"),
        case({"h": 1j}, TypeError, r"h must be a real number or a real array, got dtype complex")],
    **{f"numerics.phi.phi_{k}": [case({"h": TEXT}, TypeError, r"h must be a real number"),
                                 case({"h": [1j]}, TypeError, r"h must be a real number or a real array")]
       for k in (1, 2, 3)},
    # numerics.sharded
    "numerics.sharded.sample_mesh": [
        case({"devices": []}, ValueError, r"devices must be a non-empty sequence"),
        case({"devices": "cpu"}, TypeError, r"devices must be None or a sequence of jax devices"),
        case({"devices": [1, 2]}, TypeError, r"devices must be a sequence of jax devices")],
    "numerics.sharded.shard_samples": [
        case({"x": 1.0}, ValueError, r"x must have a samples axis \(ndim >= 1\)"),
        case({"mesh": "mesh"}, TypeError, r"mesh must be a jax.sharding.Mesh"),
        case({"x": None}, TypeError, r"x must be an array")],
    # numerics.simulate
    "numerics.simulate.euler_maruyama": [
        case({"n_steps": 0}, ValueError, r"n_steps must be a positive integer"),
        case({"n_steps": 2.0}, ValueError, r"n_steps must be a positive integer"),
        case({"t0": NAN}, ValueError, r"t0 must be finite and in \[0, inf\)"),
        case({"t0": -1.0}, ValueError, r"t0 must be finite and in \[0, inf\)"),
        case({"t1": "1"}, ValueError, r"t1 must be a real number"),
        case({"t1": 0.0}, ValueError, r"t0 and t1 must differ"),
        case({"drift": None}, TypeError, r"drift must be a callable"),
        case({"diffusion": 1.0}, TypeError, r"diffusion must be a callable"),
        case({"x_init": xs(4, np.int64)}, TypeError, r"x_init must have a floating dtype"),
        case({"key": "k"}, TypeError, r"key must be a JAX PRNG key"),
        case({"noise_dtype": np.int32}, ValueError, r"noise_dtype must be float32 or float64")],
    "numerics.simulate.forward_sde": [
        case({"fns": None}, TypeError, r"fns must be a numerics.kernels.ScheduleFns"),
        case({"n_steps": -1}, ValueError, r"n_steps must be a positive integer"),
        case({"t1": INF}, ValueError, r"t1 must be finite")],
    "numerics.simulate.tabulated_score_sde": [
        case({"coefficients": np.ones((3, 3))}, ValueError, r"coefficients must have shape \(4, n_steps\)"),
        case({"coefficients": "a"}, ERR, r"coefficients"),
        case({"mix": None}, TypeError, r"mix must be a numerics.exact.GaussianMixture"),
        case({"n_steps": 0}, ValueError, r"n_steps must be a positive integer"),
        case({"t1": 0.8}, ValueError, r"t0 and t1 must differ")],
    "numerics.simulate.pf_ode_flow": [
        case({"t0": 0.0}, ValueError, r"t0 must be finite and in \(0, inf\)"),
        case({"score": "s"}, TypeError, r"score must be a callable"),
        case({"mix": None}, TypeError, r"mix must be a numerics.exact.GaussianMixture"),
        case({"x": xs(4, np.int32)}, TypeError, r"x must have a floating dtype")],
    "numerics.simulate.reverse_family": [
        case({"t_end": 2.0}, ValueError, r"t_end must be < T"),
        case({"varsigma_sq": -1.0}, ValueError, r"varsigma_sq must be a finite number >= 0"),
        case({"varsigma_sq": "1"}, ValueError, r"varsigma_sq must be None, a number >= 0 or a callable"),
        case({"n": 0}, ValueError, r"n must be a positive integer"),
        case({"T": NAN}, ValueError, r"T must be finite"),
        case({"key": None}, TypeError, r"key must be a JAX PRNG key")],
    # numerics.chains
    **{f"numerics.chains.{f}": [case({"backend": "torch"}, ValueError, r"backend must be 'jax' or 'numpy'"),
                                case({"backend": 1}, ValueError, r"backend must be 'jax' or 'numpy'")]
       for f in ("ddim_step_kernel", "ancestral_step_kernel", "langevin_step_kernel")},
    "numerics.chains.affine_coefficients": [
        case({"x_pos": 1}, ValueError, r"argument positions must cover 0..3 once"),
        case({"step": None}, TypeError, r"step must be a step function"),
        case({"params": [1.0]}, TypeError, r"params must be a dict"),
        case({"x_pos": 0.0}, TypeError, r"x_pos must be an integer argument position")],
    "numerics.chains.eps_hat_coefficients": [
        case({"v": 0.0}, ValueError, r"v must be in \(0.0, inf\)"),
        case({"alpha": -0.1}, ValueError, r"alpha must be in \[0.0, inf\)"),
        case({"m": "0"}, TypeError, r"m must be a real number")],
    "numerics.chains.exact_chain": [
        case({"var0": -1.0}, ValueError, r"var0 must be >= 0"),
        case({"b": np.zeros(2)}, ValueError, r"a, b, c, p, q must share the step axis"),
        case({"a": "a"}, TypeError, r"a must be a real number or array"),
        case({"c": [NAN, 1.0, 1.0]}, ValueError, r"c must be finite")],
    "numerics.chains.ddim_coefficients": [
        case({"eta": 1.5}, ValueError, r"eta must be in \[0, 1\]"),
        case({"eta": "0"}, TypeError, r"eta must be a real number"),
        case({"times": np.linspace(0.1, 1.0, 5)}, ValueError, r"times must be a strictly decreasing 1-D grid"),
        case({"times": [1.0]}, ValueError, r"times must be a strictly decreasing 1-D grid of at least 2"),
        case({"fns": None}, TypeError, r"fns must be")],
    "numerics.chains.ddim_exact_chain": [case({"v": -0.2}, ValueError, r"v must be finite and > 0"),
                                         case({"m": NAN}, ValueError, r"m must be finite")],
    "numerics.chains.ddim_convergence_table": [
        case({"etas": (2.0,)}, ValueError, r"eta must be in \[0, 1\]"),
        case({"step_counts": (0,)}, ValueError, r"step_counts must be integers >= 1"),
        case({"t_end": -1.0}, ValueError, r"0 < t_end < t_start"),
        case({"etas": "0"}, TypeError, r"etas must be a sequence")],
    "numerics.chains.ddpm_exact_chain": [
        case({"betas": np.full(5, 1.5)}, ValueError, r"betas must be a 1-D array of values in \(0, 1\)"),
        case({"betas": np.full(5, -0.1)}, ValueError, r"betas must be finite and > 0"),
        case({"variance": "other"}, ValueError, r"variance must be 'posterior' or 'beta'"),
        case({"v": 0.0}, ValueError, r"v must be finite and > 0")],
    "numerics.chains.ddim_monte_carlo": [
        case({"eta": -1.0}, ValueError, r"eta must be in \[0, 1\]"),
        case({"key": None}, TypeError, r"key must be a JAX PRNG key"),
        case({"x_init": xs(4, np.int64)}, TypeError, r"x_init must have a floating dtype")],
    "numerics.chains.ancestral_monte_carlo": [
        case({"betas": [0.1, 1.2]}, ValueError, r"betas must be a 1-D array of values in \(0, 1\)"),
        case({"mix": None}, TypeError, r"mix must be")],
    "numerics.chains.annealed_langevin_monte_carlo": [
        case({"n_inner": 0}, ValueError, r"n_inner must be a positive integer"),
        case({"step_sizes": [0.01, -0.01]}, ValueError, r"step_sizes must be finite and > 0"),
        case({"noise_levels": [1.0]}, ValueError, r"noise_levels \(>= 0\) and step_sizes must be 1-D of equal length"),
        case({"noise_levels": [-1.0, 0.5]}, ValueError, r"noise_levels \(>= 0\)")],
    "numerics.chains.langevin_monte_carlo": [
        case({"step_size": 0.0}, ValueError, r"step_size must be finite and > 0"),
        case({"n_steps": 0}, ValueError, r"n_steps must be a positive integer")],
    "numerics.chains.langevin_exact_chain": [
        case({"n_steps": 0}, ValueError, r"n_steps must be a positive integer"),
        case({"v": 0.0}, ValueError, r"v must be finite and > 0"),
        case({"step_size": NAN}, ValueError, r"step_size must be finite")],
    # numerics.flow_exact
    "numerics.flow_exact.flow_map": [
        case({"var": 0.0}, ValueError, r"var must be in \(0.0, inf\)"),
        case({"s": -1.0}, ValueError, r"s must be in \[0.0, inf\)"),
        case({"x": TEXT}, TypeError, r"x must be a real number"),
        case({"fns": None}, TypeError, r"fns must be"),
        case({"x": xs(3, np.int64)}, TypeError, r"x must have a floating dtype")],
    "numerics.flow_exact.denoiser": [case({"t": NAN}, ValueError, r"t must be finite"),
                                     case({"var": -1.0}, ValueError, r"var must be in \(0.0, inf\)")],
    "numerics.flow_exact.ddim_step": [case({"xhat": None}, TypeError, r"xhat must be a real number"),
                                      case({"t": -0.2}, ValueError, r"t must be in \[0.0, inf\)")],
    "numerics.flow_exact.pf_velocity": [case({"mean": INF}, ValueError, r"mean must be finite")],
    "numerics.flow_exact.pd_target_kernel": [
        case({"kind": "z"}, ValueError, r"kind must be 'x', 'eps' or 'v'"),
        case({"kind": 1}, ValueError, r"kind must be 'x', 'eps' or 'v'")],
    "numerics.flow_exact.pd_discrepancy": [
        case({"u": -0.4}, ValueError, r"u must be in \[0.0, inf\)"),
        case({"kind": "z"}, ValueError, r"kind must be 'x', 'eps' or 'v'"),
        case({"perturb": "0"}, TypeError, r"perturb must be a real number")],
    "numerics.flow_exact.consistency_check": [
        case({"sigma_data": 0.0}, ValueError, r"sigma_data must be in \(0.0, inf\)"),
        case({"eps_boundary": -1.0}, ValueError, r"eps_boundary must be in \(0.0, inf\)")],
    "numerics.flow_exact.ctm_check": [case({"t": NAN}, ValueError, r"t must be finite")],
    "numerics.flow_exact.meanflow_check": [
        case({"n_nodes": 0}, ValueError, r"n_nodes must be a positive integer"),
        case({"s": None}, TypeError, r"s must be a real number")],
    "numerics.flow_exact.mixture_denoiser": [
        case({"mix": mix2d}, ValueError, r"mix must be 1-D data"),
        case({"t": -1.0}, ValueError, r"t must be in \[0.0, inf\)")],
    "numerics.flow_exact.fm_velocity": [
        case({"x": TEXT}, TypeError, r"x must be a real number"),
        case({"fns": None}, TypeError, r"fns must be")],
    "numerics.flow_exact.fm_euler_sample": [
        case({"n_steps": 0}, ValueError, r"n_steps must be a positive integer"),
        case({"n": 0}, ValueError, r"n must be a positive integer"),
        case({"velocity_mix": "m"}, TypeError, r"velocity_mix must be a numerics.exact.GaussianMixture"),
        case({"t_start": -1.0}, ValueError, r"t_start must be in \[0.0, inf\)")],
    "numerics.flow_exact.fm_euler_test": [case({"alpha": 2.0}, ValueError, r"alpha must be in \(0, 1\)")],
    "numerics.flow_exact.guided_sample": [
        case({"lik_var": 0.0}, ValueError, r"lik_var must be in \(0.0, inf\)"),
        case({"scale": -1.0}, ValueError, r"scale must be in \[0.0, inf\)"),
        case({"n_steps": 0}, ValueError, r"n_steps must be a positive integer")],
    "numerics.flow_exact.tilted_moments": [case({"var": 0.0}, ValueError, r"var must be in \(0.0, inf\)"),
                                           case({"obs": None}, TypeError, r"obs must be a real number")],
    "numerics.flow_exact.guided_test": [case({"alpha": 0.0}, ValueError, r"alpha must be in \(0, 1\)")],
    "numerics.flow_exact.guided_moments": [case({"n_steps": -1}, ValueError, r"n_steps must be a positive integer"),
                                           case({"t0": NAN}, ValueError, r"t0 must be finite")],
    # numerics.solvers
    "numerics.solvers.lambda_grid": [
        case({"n_steps": 0}, ValueError, r"n_steps must be an integer >= 1"),
        case({"n_steps": 2.5}, TypeError, r"n_steps must be an integer >= 1"),
        case({"t_end": 1.5}, ValueError, r"t_end must be finite and in \(0.0, 1.0\)"),
        case({"t_end": "0.1"}, TypeError, r"t_end must be a real number in \(0.0, 1.0\)")],
    "numerics.solvers.solve": [
        case({"name": "rk4"}, ValueError, r"name must be one of"),
        case({"var": 0.0}, ValueError, r"var must be finite and in \(0.0, inf\)"),
        case({"x_start": xs(2, np.int64)}, TypeError, r"x_start must have a floating dtype"),
        case({"warmup": "none"}, ValueError, r"warmup must be 'order' or 'first-order'"),
        case({"n_steps": 1000}, ValueError, r"n_steps must be <= 512"),
        case({"mean": NAN}, ValueError, r"mean must be finite")],
    "numerics.solvers.exact": [case({"t_end": 0.0}, ValueError, r"t_end must be finite and in \(0.0, 1.0\)"),
                               case({"x_start": TEXT}, TypeError, r"x_start must be a real number"),
                               case({"var": -1.0}, ValueError, r"var must be finite and in \(0.0, inf\)")],
    "numerics.solvers.karras_grid": [
        case({"sigma_min": 0.0}, ValueError, r"sigma_min must be finite and in \(0.0, inf\)"),
        case({"sigma_min": 30.0}, ValueError, r"sigma_min must be < sigma_max"),
        case({"rho": None}, TypeError, r"rho must be a real number")],
    "numerics.solvers.edm_solve": [case({"name": "ddim"}, ValueError, r"name must be 'edm_euler' or 'edm_heun'"),
                                   case({"n_steps": 0}, ValueError, r"n_steps must be an integer >= 1")],
    "numerics.solvers.edm_exact": [case({"var": 0.0}, ValueError, r"var must be finite and in \(0.0, inf\)")],
    "numerics.solvers.global_errors": [
        case({"name": "rk4"}, ValueError, r"name must be one of"),
        case({"steps": (40,)}, ValueError, r"steps must be a sequence of at least 2"),
        case({"steps": (0, 10)}, ValueError, r"steps\[i\] must be an integer >= 1"),
        case({"seed": -1}, ValueError, r"seed must be an integer >= 0"),
        case({"n_starts": 0}, ValueError, r"n_starts must be an integer >= 1")],
    "numerics.solvers.fitted_order": [
        case({"errors": (1e-2,)}, ValueError, r"errors must be 2 finite numbers > 0"),
        case({"errors": (0.0, 1.0)}, ValueError, r"errors must be 2 finite numbers > 0"),
        case({"steps": "ab"}, TypeError, r"steps must be a sequence")],
    "numerics.solvers.measured_orders": [
        case({"solvers": ("rk4",)}, ValueError, r"unknown solver 'rk4'"),
        case({"solvers": "ddim"}, TypeError, r"solvers must be a sequence of solver names")],
    # the emitter, the accuracy sweep and the kernel record
    "derive.kernel_spec.KernelSpec": [case({"name": None}, ERR, "name"), case({"expr": "x**2"}, ERR, "expr"),
                                      case({"args": "x"}, ERR, "args")],
    "numerics.accuracy.sampler": [case({"name": None}, ERR, "name")],
    "numerics.accuracy.measure": [case({"spec": "k"}, ERR, "spec"), case({"n": 0}, ERR, r"\bn\b"),
                                  case({"dtype": np.int32}, ERR, "dtype")],
    "numerics.accuracy.all_kernels": [case({"n": "64"}, ERR, r"\bn\b"), case({"seed": TEXT}, ERR, "seed")],
    "numerics.emit.function_source": [case({"spec": "k"}, ERR, "spec"), case({"claim_ids": None}, ERR, "claim_ids")],
    "numerics.emit.module_source": [case({"module": None}, ERR, "module"), case({"specs": "k"}, ERR, "specs")],
    "numerics.emit.differences": [case({"files": None}, ERR, "files")],
}

# K_MODULES: every parameter refuses text; typical ranges where the parameter's meaning is clear
_RANGES = {"var": -1, "var1": -1, "var2": -1, "var_q": -1, "var_p": -1, "prior_var": -1, "var_u": -1, "var_y": -1,
           "noise_var": -1, "lik_var": -1, "sd": -1, "sigma": -1, "sig2": -1, "k": -1, "order": 5, "T": 0,
           "n_terms": 0, "beta": 2, "eta": 2, "sigma_l": -1, "sigma_1": -1, "theta": -1, "horizon": 0,
           "eps_reg": -1, "eps_ref": -1, "abar": 2, "abar_T": 2, "abar_prev": 2}


def _k_cases(name: str) -> list[tuple]:
    mod, fn = name.rsplit(".", 1)
    params = [p for p in inspect.signature(getattr(importlib.import_module(mod), fn)).parameters.values()
              if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    out = []
    for p in params:
        if p.name in ("schedule", "data"):
            out.append(case({p.name: TEXT}, ERR, re.escape(p.name)))
        elif p.name in ("final_step",):
            out.append(case({p.name: "yes"}, ERR, p.name))
        elif p.name in ("space", "src", "dst"):
            out.append(case({p.name: "bogus"}, ERR, p.name))
        else:
            out.append(case({p.name: TEXT}, ERR, re.escape(p.name)))
        if p.name in _RANGES:
            out.append(case({p.name: _RANGES[p.name]}, ERR, re.escape(p.name)))
    return out


def _public(module) -> dict[str, object]:
    return {f"{module.__name__}.{k}": obj for k, obj in vars(module).items()
            if not k.startswith("_") and callable(obj) and getattr(obj, "__module__", None) == module.__name__}


@functools.cache
def public_api() -> dict[str, object]:
    out = {}
    for pkg in (derive, numerics):
        for info in pkgutil.iter_modules(pkg.__path__):
            if info.name.startswith("_") or info.name == "generated":
                continue
            out.update(_public(importlib.import_module(f"{pkg.__name__}.{info.name}")))
    return out


for _name, _obj in public_api().items():
    if _name.split(".")[1] in K_MODULES and _name.startswith("derive.") and _name not in CASES:
        _params = inspect.signature(_obj).parameters
        if _params:
            VALID.setdefault(_name, functools.partial(_symbolic_valid, _name))
            CASES[_name] = _k_cases(_name)

EXEMPT: dict[str, str] = {
    "derive.schedules.ScheduleError": "exception class",
    "numerics.solvers.SolverError": "exception class",
    "numerics.emit.EmitError": "exception class",
    "derive.schedules.generic": "takes no arguments",
    "derive.schedules.rectified_flow": "takes no arguments",
    "derive.schedules.brownian": "takes no arguments",
    "derive.reverse_sde.kernel_specs": "takes no arguments",
    "numerics.kernels.ScheduleFns": "a NamedTuple record of four callables (no __post_init__ possible); every "
                                    "function taking one checks its type (numerics.exact._check_fns)",
    "numerics.stats.TestResult": "result record built by the tests of numerics.stats, not an input entry point",
    "numerics.accuracy.Accuracy": "result record built by numerics.accuracy.measure, not an input entry point",
    "numerics.emit.main": "command-line entry point: argparse reports bad arguments (tests/test_emit.py)",
    "numerics.distributed.main": "command-line entry point (argparse reports bad arguments); starts JAX's "
                                 "distributed runtime, not callable in a unit test",
    "numerics.emit.write": "writes files: exercised with valid input only, by tests/test_emit.py",
    **{n: "takes no arguments" for n in (
        "numerics.emit.schedule_specs", "numerics.emit.reverse_sde_specs", "numerics.emit.pf_ode_specs",
        "numerics.emit.derive_modules", "numerics.emit.collect_specs", "numerics.emit.claims_by_meaning",
        "numerics.emit.render_all")},
}
# argument-free derivations of K_MODULES (kernel_specs(), closed forms): listed by introspection below, each checked
# to take no arguments in test_exemptions_are_justified.
for _name, _obj in public_api().items():
    if (_name.split(".")[1] in K_MODULES and _name.startswith("derive.") and _name not in CASES
            and not inspect.signature(_obj).parameters):
        EXEMPT[_name] = "takes no arguments"



# --- the tests --------------------------------------------------------------------------------------------------
def test_every_public_callable_is_covered():
    api = public_api()
    missing = sorted(n for n in api if n not in CASES and n not in EXEMPT)
    assert not missing, f"public callables with neither bad-input cases nor a justified exemption: {missing}"
    stale = sorted(n for n in list(CASES) + list(EXEMPT) if n not in api)
    assert not stale, f"table entries for callables that no longer exist: {stale}"
    assert not set(CASES) & set(EXEMPT)


def test_exemptions_are_justified():
    api = public_api()
    for name, why in EXEMPT.items():
        assert why.strip(), name
        obj = api[name]
        if why == "takes no arguments":
            assert not inspect.signature(obj).parameters, f"{name} takes arguments: it needs cases, not an exemption"
        if why == "exception class":
            assert isinstance(obj, type) and issubclass(obj, Exception), name


def test_every_table_entry_has_cases():
    for name, cases in CASES.items():
        assert cases, name
        for kwargs, exc, pattern in cases:
            assert isinstance(kwargs, dict) and kwargs and isinstance(pattern, str), name
            assert exc in (TypeError, ValueError, ERR), name


def _params():
    for name in sorted(CASES):
        for i in range(len(CASES[name])):
            yield pytest.param(name, i, id=f"{name}[{i}]")


@pytest.mark.parametrize("name, index", list(_params()))
def test_bad_input_gives_clear_error(name, index):
    fn = public_api()[name]
    bad, exc, pattern = CASES[name][index]
    kwargs = dict(VALID[name]()) if name in VALID else {}
    kwargs.update({k: (val() if val is mix2d else val) for k, val in bad.items()})
    inspect.signature(fn).bind(**kwargs)            # the table itself must match the signature
    with pytest.raises(exc) as info:
        fn(**kwargs)
    message = str(info.value)
    assert re.search(pattern, message), f"{name}({bad}): message {message!r} does not match {pattern!r}"
    assert not isinstance(info.value, (KeyError, IndexError, AttributeError))

