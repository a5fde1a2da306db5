r"""Monte Carlo method for SDE claims: simulate the claimed process and test its law against the exact marginal.

The claimed drift and diffusion, interpreted in a concrete model (VP-linear schedule, two-component Gaussian
mixture data, free diffusion varsigma_t = 1/2 + t/3) in which the marginal density and score stay opaque
functions P(x, t), S(x, t) bound to numerics.exact's JAX implementations, are lambdified to JAX and
integrated by Euler–Maruyama
(numerics.simulate, lax.scan) from exact samples of p_{t0} to t1 (forward) or from p_{t1} back to t0
(reverse). A one-sample Kolmogorov–Smirnov test against the exact marginal CDF rejects at false-alarm
rate ALPHA = 1e-6 per check; the discretisation bias at the default 400 steps is far below the KS
resolution at the default sample size (so a true claim is rejected with probability at most ~ALPHA).
"""
from __future__ import annotations

import functools
import time as _time

import jax
import numpy as np
import sympy as sp

from derive import schedules
from derive.symbols import t as T_SYM, x as X_SYM
from numerics import exact, kernels, simulate, stats

from .verdict import MethodResult

ALPHA = 1e-6
DEFAULT_SAMPLES = 20_000
N_STEPS = 400


SCORE, DENSITY = sp.Function("S"), sp.Function("P")


def opaque_model(data):
    """VP-linear schedule with ``data``; density and score are the opaque functions P, S."""
    from .notation import Model

    class _Opaque(Model):
        def density(self, xx, tau):
            return DENSITY(xx, tau)

        def log_density(self, xx, tau):
            return sp.log(DENSITY(xx, tau))

        def score(self, xx, tau):
            return SCORE(xx, tau)

    return _Opaque(schedules.get("vp-linear"), data, varsigma=lambda tau: sp.Rational(1, 2) + tau / 3)


@functools.lru_cache(maxsize=64)
def _exact_functions(schedule, weights: tuple, means: tuple, variances: tuple):
    """Schedule kernels, the mixture and the exact S, P bound for lambdify, one set per (schedule, data): the same
    function objects across claims and seeds, so lambdified drifts and the Euler–Maruyama scan compile once."""
    fns = kernels.schedule_functions(schedule)
    mix = exact.GaussianMixture(np.array(weights), np.array(means), np.array(variances))
    bound = {"S": lambda xx, tt: exact.marginal_score(xx, tt, fns, mix),
             "P": lambda xx, tt: jax.numpy.exp(exact.marginal_logpdf(xx, tt, fns, mix))}
    return fns, mix, bound


def _coefficient_table(drift: sp.Expr, diffusion_sq: sp.Expr, begin: float, end: float) -> np.ndarray | None:
    """a, b, c, g on the Euler grid when drift = a(t) x + b(t) S(x, t) + c(t) and g^2 depends on t only; else None
    (the claim's drift is then compiled as written)."""
    score = sp.Dummy("score")
    d = sp.expand(drift.xreplace({SCORE(X_SYM, T_SYM): score}))
    if d.has(SCORE, DENSITY) or diffusion_sq.free_symbols - {T_SYM}:
        return None
    a, b = d.coeff(X_SYM), d.coeff(score)
    c = sp.expand(d - a * X_SYM - b * score)
    if any(e.free_symbols - {T_SYM} for e in (a, b, c)):
        return None
    times = begin + (end - begin) / N_STEPS * np.arange(N_STEPS)
    rows = [sp.lambdify(T_SYM, e, "numpy")(times) for e in (a, b, c, sp.sqrt(diffusion_sq))]
    table = np.stack([np.broadcast_to(np.asarray(r, dtype=np.float64), times.shape) for r in rows])
    return table if np.all(np.isfinite(table)) else None


def run(drift: sp.Expr, diffusion_sq: sp.Expr, direction: str, model, form: str, seed: int,
        samples: int | None = None, t0: float = 0.2, t1: float = 0.8) -> MethodResult:
    """KS test of the simulated law of the claimed SDE at the end time against the exact marginal."""
    start = _time.perf_counter()
    n = int(samples or DEFAULT_SAMPLES)
    sc = model.schedule
    mix_sym = model.data
    fns, mix, bound = _exact_functions(sc, tuple(float(w) for w in mix_sym.weights),
                                       tuple(float(m) for m in mix_sym.means),
                                       tuple(float(v) for v in mix_sym.variances))
    key_init, key_path = jax.random.split(jax.random.PRNGKey(seed))
    begin, end = (t0, t1) if direction == "forward" else (t1, t0)
    x_init = exact.sample_marginal(key_init, n, begin, fns, mix)
    table = _coefficient_table(sp.sympify(drift, strict=True), sp.sympify(diffusion_sq, strict=True), begin, end)
    if table is not None:     # affine in x and the score: the one compiled scan of numerics.simulate
        x_end = simulate.tabulated_score_sde(key_path, x_init, fns, mix, table, begin, end, N_STEPS)
    else:
        drift_fn = kernels.lambdify_jax(sp.sympify(drift, strict=True), [X_SYM, T_SYM], bound)
        diff_fn = kernels.lambdify_jax(sp.sqrt(sp.sympify(diffusion_sq, strict=True)), [T_SYM])
        x_end = simulate.euler_maruyama(key_path, x_init, drift_fn, diff_fn, begin, end, N_STEPS)
    result = stats.ks_one_sample(np.asarray(x_end), lambda z: np.asarray(exact.marginal_cdf(z, end, fns, mix)), ALPHA)
    return MethodResult("monte-carlo", form, bool(result.passed), None, statistic=float(result.statistic),
                        p_value=float(result.p_value), samples=n, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"Euler–Maruyama {N_STEPS} steps {begin}->{end} on {sc.name}, KS vs exact marginal, "
                               f"false-alarm rate {ALPHA:g}")
