r"""Sampler loops (``lax.scan``) for the exponential-integrator and EDM solvers, and their measured orders.

Every loop integrates the PF-ODE from x_T down a grid uniform in log-SNR lambda (003 ch. 9.4: lambda_{t_i} =
lambda_T + i/M (lambda_0 - lambda_T)) with the *exact* noise / data prediction of Gaussian data N(m, v), whose
PF-ODE flow map is known in closed form (derive.pf_ode.gaussian_flow_map). The step kernels are the SymPy
updates of derive.exp_integrator / derive.edm compiled with numerics.kernels.lambdify_jax (the same stable
printing as the emitted modules). A VP schedule is alpha_lambda^2 = sigmoid(2 lambda), sigma_lambda^2 =
sigmoid(-2 lambda) in lambda, whatever its time parameterisation; the endpoints come from vp-linear at t = 1
and t = t_end.

Multistep warm-up: a k-th order multistep method needs k-1 previous outputs. The first steps use a single-step
method of order >= k - 1 (2S / DPM-Solver-2 before 3M / DEIS-3) so that the warm-up's local error O(h^k) keeps
the global order k; ``warmup="first-order"`` reproduces the common lower-order warm-up (global order 2 for
third-order methods: one step with local error O(h^2)).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

from derive import edm as _edm, exp_integrator as _ei, schedules as _schedules
from derive.data import gaussian
from derive.pf_ode import gaussian_flow_map
from derive.symbols import s as _s, t as _t, x as _x

from .kernels import lambdify_jax

#: claimed orders (Lu et al. 2022 a/b, Zhang & Chen 2022, Karras et al. 2022; 003 ch. 9)
CLAIMED_ORDERS = {"ddim": 1, "dpm_solver_1": 1, "dpm_solver_2": 2, "dpm_solver_3": 3, "dpm_solver_pp_1": 1,
                  "dpm_solver_pp_2s": 2, "dpm_solver_pp_2m": 2, "dpm_solver_pp_3m": 3, "deis_1": 1, "deis_2": 2,
                  "deis_3": 3, "edm_euler": 1, "edm_heun": 2}
SOLVERS = tuple(CLAIMED_ORDERS)
STEPS = (40, 80, 160, 320)
T_END = 0.1     #: final time of the order runs (see module doc: at t_end = 1e-3 the 3rd-order multistep methods superconverge)


class SolverError(ValueError):
    """Bad solver name, step count or data parameters."""


def _real(name: str, value, low: float = -math.inf, high: float = math.inf) -> float:
    """A finite real number in the open interval (low, high), else TypeError / SolverError naming ``name``."""
    if value is None or isinstance(value, (str, bytes, bool)):
        raise TypeError(f"{name} must be a real number in ({low}, {high}), got {value!r}")
    try:
        val = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number in ({low}, {high}), got {value!r}") from None
    if not (math.isfinite(val) and low < val < high):
        raise SolverError(f"{name} must be finite and in ({low}, {high}), got {value!r}")
    return val


def _count(name: str, value, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {low}, got {value!r}")
    if value < low:
        raise SolverError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _start(x_start) -> jax.Array:
    if x_start is None or isinstance(x_start, (str, bytes)):
        raise TypeError(f"x_start must be a real number or a float array, got {x_start!r}")
    dtype = getattr(x_start, "dtype", None)
    if dtype is not None and not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"x_start must have a floating dtype, got dtype {dtype}")
    try:
        arr = np.asarray(x_start, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"x_start must be a real number or a float array, got {x_start!r}") from None
    if not np.all(np.isfinite(arr)):
        raise SolverError(f"x_start must be finite, got {x_start!r}")
    return jnp.asarray(arr)


def _data(mean, var) -> tuple[float, float]:
    return _real("mean", mean), _real("var", var, 0.0)


# --- exact model of Gaussian data, derived ------------------------------------------------------------

@functools.cache
def _lambda_schedule() -> _schedules.Schedule:
    """VP in log-SNR time: the symbol t plays lambda; alpha = sqrt(sigmoid(2 lambda)), sigma = sqrt(sigmoid(-2 lambda))."""
    return _schedules.Schedule("vp-logsnr", 1 / sp.sqrt(1 + sp.exp(-2 * _t)), 1 / sp.sqrt(1 + sp.exp(2 * _t)),
                               -math.inf, math.inf)


@functools.cache
def _exact_fns(mean: float, var: float):
    """(eps(x, lam), x0(x, lam), flow(x, lam_from, lam_to)) for N(mean, var): eps = -sigma * score of the derived
    Gaussian marginal (derive.data, generic schedule with alpha_t, sigma_t replaced by symbols), x0 by Tweedie
    x0 = (x - sigma eps)/alpha, flow from derive.pf_ode. eps and x0 take (alpha, sigma) of lambda, so they stay
    finite at lambda = +inf (sigma = 0)."""
    a_sym, s_sym = sp.symbols("a s_", positive=True)
    gen = _schedules.generic()
    m_, v_ = sp.nsimplify(mean), sp.nsimplify(var)
    score = gaussian(m_, v_).score(gen, _x, _t).subs({gen.alpha(): a_sym, gen.sigma(): s_sym})
    eps = sp.simplify(-s_sym * score)
    x0 = sp.simplify((_x - s_sym * eps) / a_sym)
    eps_fn, x0_fn = lambdify_jax(eps, (_x, a_sym, s_sym)), lambdify_jax(x0, (_x, a_sym, s_sym))
    flow = gaussian_flow_map(_lambda_schedule(), _s, _t, _x, m_, v_)
    return (lambda x, lam: eps_fn(x, *_alpha_sigma(lam)), lambda x, lam: x0_fn(x, *_alpha_sigma(lam)),
            lambdify_jax(flow, (_x, _s, _t)))


def _alpha_sigma(lam):
    return jnp.sqrt(jax.nn.sigmoid(2 * lam)), jnp.sqrt(jax.nn.sigmoid(-2 * lam))


@functools.cache
def _specs() -> dict:
    return {s.name: s for s in _ei.kernel_specs() + _edm.kernel_specs()}


class _Kernels:
    """Lazily compiled step kernels, by spec name (only the ones a solver uses are compiled)."""

    def __getitem__(self, name: str):
        return _kernel(name)


@functools.cache
def _kernel(name: str):
    spec = _specs()[name]
    return lambdify_jax(spec.expr, spec.args)


def _kernels() -> _Kernels:
    return _Kernels()


def lambda_grid(n_steps: int, t_end: float = T_END) -> jax.Array:
    """n_steps + 1 log-SNR values, uniform from lambda(t=1) to lambda(t_end) of vp-linear (003 ch. 9.4)."""
    n_steps, t_end = _count("n_steps", n_steps), _real("t_end", t_end, 0.0, 1.0)
    sch = _schedules.get("vp-linear")
    lam = [float(sch.log_snr(sp.Float(v, 30)).evalf(30)) for v in (1.0, float(t_end))]
    return jnp.linspace(lam[0], lam[1], int(n_steps) + 1)


# --- the loops ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Model:
    eps: callable
    x0: callable


def _step_fn(name: str, model: _Model, warmup: str):
    """One scan step (carry, (lam_s, lam_t, i)) -> carry for solver ``name``; carry = (x, out_1, out_2, h_1, h_2)."""
    K = _kernels()
    third = float(_ei.third_order_ratio())

    def single(x, lam_s, lam_t):
        a_s, s_s = _alpha_sigma(lam_s)
        a_t, s_t = _alpha_sigma(lam_t)
        h = lam_t - lam_s
        if name in ("dpm_solver_1", "deis_1"):
            return K[f"{name}_step"](x, model.eps(x, lam_s), a_s, s_s, a_t, h)
        if name == "ddim":
            return K["ddim_step"](x, model.eps(x, lam_s), a_s, s_s, a_t, s_t)
        if name in ("dpm_solver_2", "dpm_solver_3"):
            e_s = model.eps(x, lam_s)
            r1 = 0.5 if name == "dpm_solver_2" else 1.0 - third      # DPM-Solver-3 stages at h/3, 2h/3
            a_1, _ = _alpha_sigma(lam_s + r1 * h)
            u1 = K["dpm_solver_1_step"](x, e_s, a_s, s_s, a_1, r1 * h)
            e_1 = model.eps(u1, lam_s + r1 * h)
            if name == "dpm_solver_2":
                return K["dpm_solver_2_step"](x, e_s, e_1, a_s, s_s, a_t, h, r1)
            a_2, _ = _alpha_sigma(lam_s + third * h)
            u2 = K["dpm_solver_2_step"](x, e_s, e_1, a_s, s_s, a_2, third * h, r1 / third)
            return K["dpm_solver_3_step"](x, e_s, model.eps(u2, lam_s + third * h), a_s, s_s, a_t, h)
        if name == "dpm_solver_pp_1":
            return K["dpm_solver_pp_1_step"](x, model.x0(x, lam_s), a_t, s_s, s_t, h)
        if name == "dpm_solver_pp_2s":
            d_s = model.x0(x, lam_s)
            a_1, s_1 = _alpha_sigma(lam_s + 0.5 * h)
            u = K["dpm_solver_pp_1_step"](x, d_s, a_1, s_s, s_1, 0.5 * h)
            return K["dpm_solver_pp_2s_step"](x, d_s, model.x0(u, lam_s + 0.5 * h), a_t, s_s, s_t, h, 0.5)
        raise SolverError(name)  # pragma: no cover

    if name in ("dpm_solver_1", "deis_1", "ddim", "dpm_solver_2", "dpm_solver_3", "dpm_solver_pp_1",
                "dpm_solver_pp_2s"):
        def step(carry, lam):
            x, o1, o2, h1, h2 = carry
            return (single(x, lam[0], lam[1]), o1, o2, h1, h2), None
        return step

    data = name.startswith("dpm_solver_pp")
    order = int(name.rstrip("ms")[-1])
    pred = model.x0 if data else model.eps
    starter = {True: {"first-order": "dpm_solver_pp_1", "order": "dpm_solver_pp_2s"},
               False: {"first-order": "dpm_solver_1", "order": "dpm_solver_2"}}[data][warmup]

    def step(carry, lam):
        x, o1, o2, h1, h2 = carry
        lam_s, lam_t, i = lam[0], lam[1], lam[2]
        a_s, s_s = _alpha_sigma(lam_s)
        a_t, s_t = _alpha_sigma(lam_t)
        h = lam_t - lam_s
        o_s = pred(x, lam_s)
        first = _step_fn(starter, model, warmup)((x, o1, o2, h1, h2), lam)[0][0] if order == 3 else \
            _step_fn("dpm_solver_pp_1" if data else "dpm_solver_1", model, warmup)((x, o1, o2, h1, h2), lam)[0][0]
        if data:
            second = K["dpm_solver_pp_2m_step"](x, o_s, o1, a_t, s_s, s_t, h, h1)
            third_ = K["dpm_solver_pp_3m_step"](x, o_s, o1, o2, a_t, s_s, s_t, h, h1, h2)
        else:
            second = K["deis_2_step"](x, o_s, o1, a_s, s_s, a_t, s_t, h, h1)
            third_ = K["deis_3_step"](x, o_s, o1, o2, a_s, s_s, a_t, s_t, h, h1, h2)
        new = jnp.where(i == 0, first, second if order == 2 else jnp.where(i == 1, second, third_))
        return (new, o_s, o1, h, h1), None
    return step


MAX_STEPS = 512      #: loops run on a padded grid of this many steps (masked), so each solver compiles once


def _padded(lams: jax.Array) -> tuple[jax.Array, jax.Array]:
    n = lams.shape[0] - 1
    if n > MAX_STEPS:
        raise SolverError(f"n_steps must be <= {MAX_STEPS}, got {n}")
    pad = jnp.concatenate([lams, jnp.full((MAX_STEPS - n,), lams[-1])])
    return pad, jnp.asarray(n)


@functools.partial(jax.jit, static_argnames=("name", "mean", "var", "warmup"))
def _solve(x_start, lams, n, name: str, mean: float, var: float, warmup: str):
    eps, x0, _ = _exact_fns(mean, var)
    step = _step_fn(name, _Model(eps, x0), warmup)
    idx = jnp.arange(lams.shape[0] - 1, dtype=lams.dtype)
    xs = jnp.stack([lams[:-1], lams[1:], idx], axis=1)

    def masked(carry, lam):            # steps past n leave the carry unchanged (their h = 0 is never used)
        new, _ = step(carry, lam)
        return jax.tree_util.tree_map(lambda a, b: jnp.where(lam[2] < n, a, b), new, carry), None
    carry = (x_start, jnp.zeros_like(x_start), jnp.zeros_like(x_start), jnp.asarray(1.0, lams.dtype),
             jnp.asarray(1.0, lams.dtype))
    (x, *_), _ = jax.lax.scan(masked, carry, xs)
    return x


def solve(name: str, x_start, n_steps: int, mean: float = 0.5, var: float = 0.2, t_end: float = T_END,
          warmup: str = "order") -> jax.Array:
    """Integrate the PF-ODE of N(mean, var) data (exact model) from lambda(t=1) to lambda(t_end) with solver ``name``
    (one of SOLVERS except the EDM ones) in ``n_steps`` steps uniform in lambda; returns x at t_end."""
    if name not in SOLVERS or name.startswith("edm"):
        raise SolverError(f"name must be one of {[s for s in SOLVERS if not s.startswith('edm')]}, got {name!r}")
    if warmup not in ("order", "first-order"):
        raise SolverError(f"warmup must be 'order' or 'first-order', got {warmup!r}")
    mean, var = _data(mean, var)
    return _solve(_start(x_start), *_padded(lambda_grid(n_steps, t_end)), name, mean, var, warmup)


def exact(x_start, mean: float = 0.5, var: float = 0.2, t_end: float = T_END) -> jax.Array:
    """The exact PF-ODE flow map from lambda(t=1) to lambda(t_end) for N(mean, var) data."""
    x_start, (mean, var) = _start(x_start), _data(mean, var)
    lam = lambda_grid(1, t_end)
    return _exact_fns(mean, var)[2](x_start, lam[0], lam[1])


# --- EDM (alpha = 1, sigma = t) -------------------------------------------------------------------------

@functools.cache
def _edm_denoiser(mean: float, var: float):
    """D(x; sigma) = E[x_0 | x] for N(mean, var) data under alpha = 1, sigma = t (Tweedie, derive.data)."""
    sch = _schedules.get("edm")
    m_, v_ = sp.nsimplify(mean), sp.nsimplify(var)
    den = sp.simplify(_x + _t**2 * gaussian(m_, v_).score(sch, _x, _t))
    flow = gaussian_flow_map(sch, _s, _t, _x, m_, v_)
    return lambdify_jax(den, (_x, _t)), lambdify_jax(flow, (_x, _s, _t))


def karras_grid(n_steps: int, sigma_min: float = 0.02, sigma_max: float = 20.0, rho: float = 7.0) -> jax.Array:
    """Karras' sigma_i, i = 0..n_steps (derive.edm.karras_sigmas, with n = n_steps + 1 points)."""
    n_steps = _count("n_steps", n_steps)
    sigma_min, sigma_max, rho = _real("sigma_min", sigma_min, 0.0), _real("sigma_max", sigma_max, 0.0), _real("rho", rho, 0.0)
    if not sigma_min < sigma_max:
        raise SolverError(f"sigma_min must be < sigma_max, got sigma_min={sigma_min!r}, sigma_max={sigma_max!r}")
    i = jnp.arange(n_steps + 1, dtype=jnp.float64)
    return _kernels()["karras_sigma"](i, float(n_steps + 1), sigma_min, sigma_max, rho)


@functools.partial(jax.jit, static_argnames=("heun", "mean", "var"))
def _edm_solve(x_start, sigmas, n, heun: bool, mean: float, var: float):
    den, _ = _edm_denoiser(mean, var)
    K = _kernels()

    def step(x, sg):
        s, s_next, i = sg[0], sg[1], sg[2]
        d = den(x, s)
        x_e = K["edm_euler_step"](x, d, s, s_next)
        new = K["edm_heun_step"](x, d, den(x_e, s_next), s, s_next) if heun else x_e
        return jnp.where(i < n, new, x), None
    idx = jnp.arange(sigmas.shape[0] - 1, dtype=sigmas.dtype)
    x, _ = jax.lax.scan(step, x_start, jnp.stack([sigmas[:-1], sigmas[1:], idx], axis=1))
    return x


def edm_solve(name: str, x_start, n_steps: int, mean: float = 0.5, var: float = 0.2):
    """EDM Euler or Heun (``name`` "edm_euler" / "edm_heun") from sigma = 20 to 0.02 on Karras' grid."""
    if name not in ("edm_euler", "edm_heun"):
        raise SolverError(f"name must be 'edm_euler' or 'edm_heun', got {name!r}")
    x_start, (mean, var) = _start(x_start), _data(mean, var)
    return _edm_solve(x_start, *_padded(karras_grid(n_steps)), name == "edm_heun", mean, var)


def edm_exact(x_start, mean: float = 0.5, var: float = 0.2):
    x_start, (mean, var) = _start(x_start), _data(mean, var)
    sig = karras_grid(1)
    return _edm_denoiser(mean, var)[1](x_start, sig[0], sig[-1])


def _steps(steps) -> list[int]:
    if isinstance(steps, (str, bytes)) or not hasattr(steps, "__iter__"):
        raise TypeError(f"steps must be a sequence of at least 2 integers >= 1, got {steps!r}")
    out = [_count("steps[i]", n) for n in steps]
    if len(out) < 2:
        raise SolverError(f"steps must be a sequence of at least 2 integers >= 1, got {steps!r}")
    return out


# --- measured orders ------------------------------------------------------------------------------------

def global_errors(name: str, steps=STEPS, warmup: str = "order", seed: int = 0, n_starts: int = 8) -> list[float]:
    """max_i |x_N(x_T^i) - Psi(x_T^i)| over seeded starting points x_T^i ~ N(0, 1)-ish, for each step count."""
    if not isinstance(name, str) or name not in CLAIMED_ORDERS:
        raise SolverError(f"name must be one of {list(CLAIMED_ORDERS)}, got {name!r}")
    _steps(steps), _count("seed", seed, 0), _count("n_starts", n_starts)
    rng = np.random.default_rng(seed)
    start = rng.normal(0.0, 1.0, n_starts) * (20.0 if name.startswith("edm") else 1.0)
    if name.startswith("edm"):
        ref = np.asarray(edm_exact(start))
        return [float(np.max(np.abs(np.asarray(edm_solve(name, start, n)) - ref))) for n in steps]
    ref = np.asarray(exact(start))
    return [float(np.max(np.abs(np.asarray(solve(name, start, n, warmup=warmup)) - ref))) for n in steps]


def fitted_order(steps, errors) -> float:
    """Least-squares slope of -log(error) against log(steps)."""
    steps = _steps(steps)
    try:
        errs = np.asarray(errors, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"errors must be a sequence of positive numbers, got {errors!r}") from None
    if errs.shape != (len(steps),) or not np.all(np.isfinite(errs)) or np.any(errs <= 0):
        raise SolverError(f"errors must be {len(steps)} finite numbers > 0 (one per step count), got {errors!r}")
    slope = np.polyfit(np.log(np.asarray(steps, float)), np.log(np.asarray(errors, float)), 1)[0]
    return float(-slope)


def measured_orders(solvers=SOLVERS, steps=STEPS, warmup: str = "order", seed: int = 0) -> list[dict]:
    """One row per solver: name, claimed order, fitted order, step counts and global errors (CSV-able)."""
    if isinstance(solvers, str):
        raise TypeError(f"solvers must be a sequence of solver names (one of {list(CLAIMED_ORDERS)}), got {solvers!r}")
    rows = []
    for name in solvers:
        if name not in CLAIMED_ORDERS:
            raise SolverError(f"unknown solver {name!r}; known: {list(CLAIMED_ORDERS)}")
        errs = global_errors(name, steps, warmup, seed)
        rows.append({"solver": name, "claimed_order": CLAIMED_ORDERS[name],
                     "measured_order": round(fitted_order(steps, errs), 4), "warmup": warmup,
                     "steps": " ".join(map(str, steps)), "errors": " ".join(f"{e:.3e}" for e in errs), "seed": seed})
    return rows
