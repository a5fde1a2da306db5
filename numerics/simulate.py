r"""Simulation on ``jax.lax.scan``: Euler–Maruyama for SDEs, RK4 for the probability-flow ODE.

Euler–Maruyama on the uniform grid t_i = t0 + i dt, dt = (t1 - t0)/n_steps:
    x_{i+1} = x_i + b(x_i, t_i) dt + c(t_i) sqrt(|dt|) z_i,   z_i ~ N(0, I) i.i.d.
With t1 < t0 (dt < 0) this is the reverse-time scheme for dx = b dt + c d\bar w (Anderson 1982):
time runs backwards and the Brownian increment still has variance |dt|.

The reverse family sharing the forward marginals (derive.reverse_sde) is
    dx = [f(t) x - 1/2 (g(t)^2 + varsigma_t^2) score(x, t)] dt + varsigma_t d\bar w,
varsigma = g the reverse SDE and varsigma = 0 the PF-ODE dx/dt = f x - 1/2 g^2 score, which is
integrated with classical RK4 (global error O(dt^4)) rather than Euler.
All arrays are float64 (numerics enables x64), vectorised over samples, keyed PRNG.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable
from numbers import Real

import jax
import jax.numpy as jnp
import numpy as np

from .exact import (GaussianMixture, _check_fns, _check_key, _check_mix, _check_n, _check_real, marginal_score,
                    sample_marginal)
from .kernels import ScheduleFns

Drift = Callable[[jax.Array, jax.Array], jax.Array]
Score = Callable[[jax.Array, jax.Array], jax.Array]


def _check_steps(n_steps) -> int:
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps <= 0:
        raise ValueError(f"n_steps must be a positive integer (>= 1), got {n_steps!r}")
    return int(n_steps)


def _check_callable(name: str, fn, signature: str, optional: bool = False):
    if (fn is None and not optional) or (fn is not None and not callable(fn)):
        raise TypeError(f"{name} must be a callable {signature}{' or None' if optional else ''}, got {fn!r}")
    return fn


def _check_time(value, name: str, allow_zero: bool = False) -> float:
    if value is None or isinstance(value, (str, bytes, bool)):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    try:
        val = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    lower_ok = val >= 0 if allow_zero else val > 0
    if not (math.isfinite(val) and lower_ok):
        interval = "[0, inf)" if allow_zero else "(0, inf)"
        raise ValueError(f"{name} must be finite and in {interval}, got {value!r}")
    return val


def _check_span(t0, t1, allow_zero: bool) -> tuple[float, float]:
    a, b = _check_time(t0, "t0", allow_zero), _check_time(t1, "t1", allow_zero)
    if a == b:
        raise ValueError(f"t0 and t1 must differ, got t0 = t1 = {t0!r}")
    return a, b


def _scan(step, x_init, keys_or_none, t0: float, dt: float, n_steps: int, return_path: bool):
    """Run ``step(x, t, key)`` over the grid with lax.scan; final state or path (n_steps+1, ...)."""
    times = t0 + dt * jnp.arange(n_steps, dtype=jnp.float64)

    def body(x, inputs):
        x_next = step(x, *inputs)
        return x_next, (x_next if return_path else None)

    xs = (times,) if keys_or_none is None else (times, keys_or_none)
    x_final, path = jax.lax.scan(body, x_init, xs)
    if return_path:
        return jnp.concatenate([x_init[None], path], axis=0)
    return x_final


def euler_maruyama(key: jax.Array, x_init, drift: Drift, diffusion: Callable[[jax.Array], jax.Array],
                   t0: float, t1: float, n_steps: int, *, return_path: bool = False,
                   noise_dtype=jnp.float32) -> jax.Array:
    """Integrate dx = drift(x, t) dt + diffusion(t) dw from t0 to t1 (t1 < t0: reverse time) by
    Euler–Maruyama in ``n_steps`` uniform steps. Returns the final samples (shape of ``x_init``),
    or the path of shape (n_steps + 1, *x_init.shape) with ``return_path=True``. Times may be 0.

    The state and the arithmetic are float64; the Gaussian increments are drawn in ``noise_dtype``
    (default float32, then widened): on CPU the PRNG dominates the cost (DESIGN §7) and float32 normals are
    ~4x cheaper, while their 24-bit resolution is far below any Monte Carlo statistic's (~1/sqrt(n)).
    Pass ``noise_dtype=jnp.float64`` for full-precision increments."""
    if jnp.dtype(noise_dtype) not in (jnp.dtype(jnp.float32), jnp.dtype(jnp.float64)):
        raise ValueError(f"noise_dtype must be float32 or float64, got {noise_dtype!r}")
    n_steps = _check_steps(n_steps)
    t0, t1 = _check_span(t0, t1, allow_zero=True)
    _check_key(key), _check_callable("drift", drift, "(x, t) -> array")
    _check_callable("diffusion", diffusion, "t -> array")
    x_init = jnp.asarray(_check_real("x_init", x_init), dtype=jnp.float64)
    return _em(x_init, key, drift=drift, diffusion=diffusion, t0=t0, dt=(t1 - t0) / n_steps, n_steps=n_steps,
               return_path=return_path, noise_dtype=jnp.dtype(noise_dtype).name)


@functools.partial(jax.jit, static_argnames=("drift", "diffusion", "t0", "dt", "n_steps", "return_path", "noise_dtype"))
def _em(x_init, key, *, drift, diffusion, t0, dt, n_steps, return_path, noise_dtype):
    """The compiled Euler–Maruyama scan: one compilation per (drift, diffusion, grid, shape), reused across calls."""
    sqrt_dt = math.sqrt(abs(dt))

    def step(x, t, k):
        z = jax.random.normal(k, x.shape, dtype=noise_dtype).astype(x.dtype)
        return x + drift(x, t) * dt + diffusion(t) * sqrt_dt * z

    return _scan(step, x_init, jax.random.split(key, n_steps), t0, dt, n_steps, return_path)


def tabulated_score_sde(key: jax.Array, x_init, fns: ScheduleFns, mix: GaussianMixture, coefficients, t0: float,
                        t1: float, n_steps: int) -> jax.Array:
    r"""Euler–Maruyama for dx = [a(t) x + b(t) \nabla log p_t(x) + c(t)] dt + g(t) dw (every member of the
    reverse family, the PF-ODE and the forward SDE have this form), with the exact mixture score and the
    coefficients given on the grid: ``coefficients`` of shape (4, n_steps) holds a, b, c, g at t_i = t0 + i dt.

    The mixture and the coefficients are traced arguments, so one compilation serves every mixture (of one
    number of components), every coefficient table and every time span of a given ``n_steps`` and sample shape."""
    n_steps = _check_steps(n_steps)
    t0, t1 = _check_span(t0, t1, allow_zero=True)
    _check_key(key), _check_fns(fns), _check_mix(mix)
    table = np.asarray(_check_real("coefficients", coefficients), dtype=np.float64)
    if table.shape != (4, n_steps):
        raise ValueError(f"coefficients must have shape (4, n_steps) = (4, {n_steps}), got {table.shape}")
    x_init = jnp.asarray(_check_real("x_init", x_init), dtype=jnp.float64)
    return _tabulated_em(x_init, key, mix, jnp.asarray(table.T), jnp.float64(t0), jnp.float64((t1 - t0) / n_steps),
                         fns=fns, n_steps=n_steps)


@functools.partial(jax.jit, static_argnames=("fns", "n_steps"))
def _tabulated_em(x_init, key, mix, table, t0, dt, *, fns, n_steps):
    sqrt_dt = jnp.sqrt(jnp.abs(dt))

    def body(x, inputs):
        t, (a, b, c, g), k = inputs
        z = jax.random.normal(k, x.shape, dtype=jnp.float32).astype(x.dtype)   # float32 increments: see above
        return x + (a * x + b * marginal_score(x, t, fns, mix) + c) * dt + g * sqrt_dt * z, None

    times = t0 + dt * jnp.arange(n_steps, dtype=jnp.float64)
    x_final, _ = jax.lax.scan(body, x_init, (times, table, jax.random.split(key, n_steps)))
    return x_final


@functools.cache
def _linear_sde(fns: ScheduleFns) -> tuple[Drift, Callable[[jax.Array], jax.Array]]:
    """Drift f(t) x and diffusion g(t) of the forward SDE, one pair per schedule (so compilations are reused)."""
    return (lambda x, t: fns.f(t) * x), (lambda t: jnp.sqrt(fns.g2(t)))


def forward_sde(key: jax.Array, x_init, fns: ScheduleFns, t0: float, t1: float, n_steps: int, *,
                return_path: bool = False) -> jax.Array:
    """Euler–Maruyama for the forward SDE dx = f(t) x dt + g(t) dw from t0 to t1 (t0 may be 0)."""
    _check_fns(fns)
    drift, diffusion = _linear_sde(fns)
    return euler_maruyama(key, x_init, drift, diffusion, t0, t1, n_steps, return_path=return_path)


def _rk4(velocity: Drift, x_init, t0: float, t1: float, n_steps: int, return_path: bool) -> jax.Array:
    dt = (t1 - t0) / n_steps

    def step(x, t):
        k1 = velocity(x, t)
        k2 = velocity(x + 0.5 * dt * k1, t + 0.5 * dt)
        k3 = velocity(x + 0.5 * dt * k2, t + 0.5 * dt)
        k4 = velocity(x + dt * k3, t + dt)
        return x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)

    run = jax.jit(lambda x: _scan(step, x, None, t0, dt, n_steps, return_path))
    return run(jnp.asarray(x_init, dtype=jnp.float64))


def _default_score(fns: ScheduleFns, mix: GaussianMixture, score: Score | None) -> Score:
    return score if score is not None else (lambda x, t: marginal_score(x, t, fns, mix))


def pf_ode_flow(x, fns: ScheduleFns, mix: GaussianMixture, t0: float, t1: float, n_steps: int, *,
                score: Score | None = None, return_path: bool = False) -> jax.Array:
    """Transport samples x from t0 to t1 along the PF-ODE dx/dt = f(t) x - 1/2 g(t)^2 score(x, t)
    by RK4 in ``n_steps`` uniform steps. ``score`` defaults to the exact mixture score."""
    n_steps = _check_steps(n_steps)
    t0, t1 = _check_span(t0, t1, allow_zero=False)
    _check_fns(fns), _check_mix(mix), _check_callable("score", score, "(x, t) -> array", optional=True)
    x = _check_real("x", x)
    sc = _default_score(fns, mix, score)
    return _rk4(lambda y, t: fns.f(t) * y - 0.5 * fns.g2(t) * sc(y, t), x, t0, t1, n_steps, return_path)


def _varsigma_fn(varsigma_sq) -> Callable[[jax.Array], jax.Array] | None:
    """None for the PF-ODE (varsigma_sq None or 0), else a callable t -> varsigma_t^2."""
    if varsigma_sq is None:
        return None
    if isinstance(varsigma_sq, Real) and not isinstance(varsigma_sq, bool):
        if not (math.isfinite(varsigma_sq) and varsigma_sq >= 0):
            raise ValueError(f"varsigma_sq must be a finite number >= 0 or a callable of t, got {varsigma_sq!r}")
        return None if varsigma_sq == 0 else (lambda t, c=float(varsigma_sq): jnp.full_like(t, c))
    if callable(varsigma_sq):
        return varsigma_sq
    raise ValueError(f"varsigma_sq must be None, a number >= 0 or a callable of t, got {varsigma_sq!r}")


def reverse_family(key: jax.Array, n: int, fns: ScheduleFns, mix: GaussianMixture, varsigma_sq,
                   T: float, t_end: float, n_steps: int, *, score: Score | None = None,
                   return_path: bool = False, mesh=None) -> jax.Array:
    r"""Draw n exact samples of p_T and run the reverse family member
        dx = [f x - 1/2 (g^2 + varsigma^2) score] dt + varsigma d\bar w
    from T down to t_end (< T). ``varsigma_sq`` is a callable t -> varsigma_t^2 (JAX-traceable), a
    constant >= 0, or None/0 for the PF-ODE (then RK4 instead of Euler–Maruyama). ``score``
    defaults to the exact mixture score; pass another (e.g. a wrong one) to test power.
    ``mesh`` (numerics.sharded.sample_mesh()) shards the samples over its devices; the result for a
    key does not depend on the device count."""
    n_steps = _check_steps(n_steps)
    T, t_end = _check_time(T, "T"), _check_time(t_end, "t_end")
    if not t_end < T:
        raise ValueError(f"t_end must be < T, got T={T!r}, t_end={t_end!r}")
    _check_key(key), _check_n(n), _check_fns(fns), _check_mix(mix)
    _check_callable("score", score, "(x, t) -> array", optional=True)
    k_init, k_path = jax.random.split(key)
    x_T = sample_marginal(k_init, n, T, fns, mix)
    if mesh is not None:
        from .sharded import shard_samples
        x_T = shard_samples(x_T, mesh)
    sc = _default_score(fns, mix, score)
    vs2 = _varsigma_fn(varsigma_sq)
    if vs2 is None:
        return pf_ode_flow(x_T, fns, mix, T, t_end, n_steps, score=sc, return_path=return_path)

    def drift(x, t):
        return fns.f(t) * x - 0.5 * (fns.g2(t) + vs2(t)) * sc(x, t)

    return euler_maruyama(k_path, x_T, drift, lambda t: jnp.sqrt(vs2(t)), T, t_end, n_steps,
                          return_path=return_path)
