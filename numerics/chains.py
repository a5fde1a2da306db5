r"""Exact moment chains and Monte Carlo for discrete samplers (DDPM ancestral, DDIM with any eta, Langevin).

A sampler step is affine in (state, prediction, noise):  x_next = a x + b pred(x) + c z.  For Gaussian data
N(m, v) (scalar or diagonal) the exact prediction is itself affine in x -- eps_hat(x) = E[eps | x_t = x] =
sigma_t (x - alpha_t m) / (alpha_t^2 v + sigma_t^2) (Tweedie, derive.parameterization), score(x) = -(x - mu)/V --
so the law stays Gaussian and its mean M and variance V propagate exactly:
    M' = (a + b p) M + b q,   V' = (a + b p)^2 V + c^2      (pred(x) = p x + q).
``exact_chain`` runs this recursion (a float64 NumPy loop: K is small) and returns (M_k, V_k) at every step,
to be compared with the exact marginal q(x_{t_k}) = N(alpha m, alpha^2 v + sigma^2) at every step.

The step coefficients (a, b, c) are read off any step function -- a kernel emitted from derive/ or one compiled
here from the derived SymPy expression -- by evaluating it at unit inputs (the step is affine, so this is exact):
a = f(1,0,0) - f(0,0,0), etc. Monte Carlo (``ddim_monte_carlo``, ``ancestral_monte_carlo``, ``langevin_monte_carlo``,
``annealed_langevin_monte_carlo``) runs the same steps with the exact Gaussian-mixture scores of numerics.exact,
vectorised over samples in one ``lax.scan`` with keyed PRNG; compare the output with numerics.stats tests.
"""
from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

from .exact import GaussianMixture, _check_fns, _check_key, _check_mix, _check_real, marginal_score
from .kernels import ScheduleFns, lambdify_jax

Step = Callable[..., jax.Array]


# ------------------------------------------------------------------------------------------ step kernels
def _compile(module: str, name: str, backend: str) -> Step:
    import importlib
    if not isinstance(backend, str) or backend not in ("jax", "numpy"):
        raise ValueError(f"backend must be 'jax' or 'numpy', got {backend!r}")
    specs = importlib.import_module(f"derive.{module}").kernel_specs()
    spec = next(k for k in specs if k.name == name)
    if backend == "jax":
        return lambdify_jax(spec.expr, spec.args)
    # NumPy twin for the exact chains: no per-shape XLA compilation (each costs ~1 s on a loaded CPU)
    return sp.lambdify(spec.args, spec.expr, modules="numpy")


@functools.cache
def ddim_step_kernel(backend: str = "jax") -> Step:
    """f(x, eps, alpha_s, sigma_s, alpha_t, sigma_t, eta, z): the DDIM step compiled from derive.ddim (001 eq. (12))."""
    return _compile("ddim", "ddim_step", backend)


@functools.cache
def ancestral_step_kernel(backend: str = "jax") -> Step:
    """f(x, eps, beta_t, alphabar_t, sigma_t, z): the DDPM ancestral step compiled from derive.ddpm (003 eq. (2.2.14))."""
    return _compile("ddpm", "ancestral_step", backend)


@functools.cache
def langevin_step_kernel(backend: str = "jax") -> Step:
    """f(x, score, eta, eps): the Langevin step compiled from derive.langevin (003 eq. (3.1.5))."""
    return _compile("langevin", "langevin_step", backend)


def affine_coefficients(step: Step, x_pos: int, pred_pos: int, noise_pos: int, params: dict) -> tuple:
    """(a, b, c) of an affine step f(...) = a x + b pred + c z, by evaluation at unit inputs.

    ``params`` maps the other argument positions to values (arrays broadcast)."""
    _check_step(step, optional=False)
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict mapping argument positions to values, got {params!r}")
    for name, pos in (("x_pos", x_pos), ("pred_pos", pred_pos), ("noise_pos", noise_pos), *(("params key", k) for k in params)):
        if isinstance(pos, bool) or not isinstance(pos, (int, np.integer)):
            raise TypeError(f"{name} must be an integer argument position >= 0, got {pos!r}")
    n_args = len(params) + 3
    if sorted([x_pos, pred_pos, noise_pos, *params]) != list(range(n_args)):
        raise ValueError(f"argument positions must cover 0..{n_args - 1} once, got x={x_pos}, pred={pred_pos}, "
                         f"noise={noise_pos}, params={sorted(params)}")

    unit = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    args = {i: np.asarray(val, dtype=np.float64)[None] for i, val in params.items()}   # one call, 4 probes
    shape = (4,) + (1,) * max([a.ndim - 1 for a in args.values()] + [0])
    args.update({pos: unit[:, j].reshape(shape) for j, pos in enumerate((x_pos, pred_pos, noise_pos))})
    out = np.asarray(step(*(args[i] for i in range(n_args))), dtype=np.float64)
    zero = out[0]
    return out[1] - zero, out[2] - zero, out[3] - zero, zero


# ------------------------------------------------------------------------------------------ exact chains
def _check_step(step, optional: bool = True):
    if (step is None and not optional) or (step is not None and not callable(step)):
        raise TypeError(f"step must be a step function (a callable kernel){' or None' if optional else ''}, got {step!r}")
    return step


def _float_array(name: str, value) -> np.ndarray:
    if value is None or isinstance(value, (str, bytes, bool)):
        raise TypeError(f"{name} must be a real number or array, got {value!r}")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number or array, got {value!r}") from None


def _check_finite(name: str, value) -> np.ndarray:
    arr = _float_array(name, value)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (in (-inf, inf)), got {value!r}")
    return arr


def _check_positive(name, value):
    arr = _float_array(name, value)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return arr


def eps_hat_coefficients(alpha, sigma, m, v) -> tuple[jax.Array, jax.Array]:
    """(p, q) with E[eps | x_t = x] = p x + q for data N(m, v): p = sigma/(alpha^2 v + sigma^2), q = -p alpha m."""
    _check_real("alpha", alpha, 0.0), _check_real("sigma", sigma, 0.0), _check_real("m", m)
    _check_real("v", v, 0.0, strict=True)
    var_t = alpha**2 * v + sigma**2
    p = sigma / var_t
    return p, -p * alpha * m


def exact_chain(mean0, var0, a, b, c, p, q, d=0.0) -> tuple[np.ndarray, np.ndarray]:
    """Propagate N(mean0, var0) through x_{k+1} = a_k x + b_k (p_k x + q_k) + c_k z + d_k, k = 0..K-1.

    a, b, c, p, q, d: arrays whose leading axis is the step index (trailing axes broadcast with the state for
    diagonal data). Returns (means, variances) of shape (K + 1, ...), entry 0 the initial law."""
    arrays = [_check_finite(name, u) for name, u in zip("abcpq", (a, b, c, p, q))]
    mean0, var0, d = _check_finite("mean0", mean0), _check_finite("var0", var0), _check_finite("d", d)
    n = arrays[0].shape[0]
    if any(u.ndim == 0 or u.shape[0] != n for u in arrays):
        raise ValueError(f"a, b, c, p, q must share the step axis, got shapes {[u.shape for u in arrays]}")
    d = np.asarray(d, dtype=np.float64)
    d = np.broadcast_to(d, (n,) + d.shape[1:]) if d.ndim else np.full(n, float(d))
    if np.any(np.asarray(var0) < 0):
        raise ValueError(f"var0 must be >= 0, got {var0!r}")
    mm, vv = np.broadcast_arrays(np.asarray(mean0, dtype=np.float64), np.asarray(var0, dtype=np.float64))
    means, variances = [mm], [vv]
    for ak, bk, ck, pk, qk, dk in zip(*arrays, d):     # K is small (<= a few thousand): a plain float64 loop
        gain = ak + bk * pk
        means.append(gain * means[-1] + bk * qk + dk)
        variances.append(gain**2 * variances[-1] + ck**2)
    return np.stack(means), np.stack(variances)


def _check_grid(times) -> np.ndarray:
    ts = _float_array("times", times)
    if ts.ndim != 1 or len(ts) < 2 or not np.all(np.isfinite(ts)) or np.any(np.diff(ts) >= 0):
        raise ValueError(f"times must be a strictly decreasing 1-D grid of at least 2 finite times, got {times!r}")
    return ts


def _check_eta(eta) -> float:
    e = _float_array("eta", eta)
    if e.ndim:
        raise TypeError(f"eta must be a real number in [0, 1], got {eta!r}")
    e = float(e)
    if not 0 <= e <= 1:
        raise ValueError(f"eta must be in [0, 1], got {eta!r}")
    return e


def ddim_coefficients(fns: ScheduleFns, times, eta: float, step: Step | None = None) -> dict:
    """Per-step (a, b, c) of the DDIM step t_k -> t_{k+1} on a decreasing grid, with alpha, sigma of ``fns``."""
    ts, eta = _check_grid(times), _check_eta(eta)
    _check_fns(fns), _check_step(step)
    step = step or ddim_step_kernel("numpy")
    al, sg = np.asarray(fns.alpha(jnp.asarray(ts))), np.asarray(fns.sigma(jnp.asarray(ts)))
    params = {2: al[1:], 3: sg[1:], 4: al[:-1], 5: sg[:-1], 6: eta}
    a, b, c, zero = affine_coefficients(step, 0, 1, 7, params)
    return {"a": a, "b": b, "c": c, "offset": zero, "alpha": al[:-1], "sigma": sg[:-1],
            "alpha_grid": al, "sigma_grid": sg}


def ddim_exact_chain(fns: ScheduleFns, times, eta: float, m, v, step: Step | None = None) -> dict:
    """Exact moments of DDIM (any eta) with the exact eps for data N(m, v), started from the exact q(x_{t_0}).

    Returns dict(means, variances, exact_means, exact_variances) of shape (K + 1, ...) on the grid ``times``."""
    _check_positive("v", v), _check_finite("m", m)
    ts = _check_grid(times)
    co = ddim_coefficients(fns, ts, eta, step)
    m, v = np.asarray(m, dtype=np.float64), np.asarray(v, dtype=np.float64)
    al, sg = co["alpha"], co["sigma"]
    shape = (-1,) + (1,) * m.ndim
    p, q = eps_hat_coefficients(al.reshape(shape), sg.reshape(shape), m, v)
    a_all, s_all = co["alpha_grid"].reshape(shape), co["sigma_grid"].reshape(shape)
    means, variances = exact_chain(a_all[0] * m, a_all[0]**2 * v + s_all[0]**2, co["a"].reshape(shape),
                                   co["b"].reshape(shape), co["c"].reshape(shape), p, q, co["offset"].reshape(shape))
    return {"means": means, "variances": variances, "exact_means": a_all * m,
            "exact_variances": a_all**2 * v + s_all**2}


def ddim_convergence_table(fns: ScheduleFns, m, v, etas=(0.0, 1.0), step_counts=(10, 20, 40, 80, 160),
                           t_start: float = 1.0, t_end: float = 1e-3) -> list[dict]:
    """Exact-chain error of DDIM against the exact marginals, per eta and step count (uniform grid t_start -> t_end).

    Each row: eta, steps, max_var_error (max over steps of |V_chain - V_exact|), final_var_error, max_mean_error."""
    _check_fns(fns), _check_positive("v", v), _check_finite("m", m)
    if not 0 < _check_finite("t_end", t_end) < _check_finite("t_start", t_start):
        raise ValueError(f"times must satisfy 0 < t_end < t_start, got t_start={t_start!r}, t_end={t_end!r}")
    etas = [_check_eta(e) for e in _sequence("etas", etas)]
    step_counts = _sequence("step_counts", step_counts)
    for n in step_counts:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"step_counts must be integers >= 1, got {step_counts!r}")
    rows = []
    for eta in etas:
        for n in step_counts:
            r = ddim_exact_chain(fns, np.linspace(t_start, t_end, int(n) + 1), eta, m, v)
            dv = np.abs(r["variances"] - r["exact_variances"])
            rows.append({"eta": float(eta), "steps": int(n), "max_var_error": float(dv.max()),
                         "final_var_error": float(dv[-1].max()),
                         "max_mean_error": float(np.abs(r["means"] - r["exact_means"]).max())})
    return rows


def _sequence(name: str, value) -> list:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a sequence, got {value!r}")
    return list(value)


def ddpm_exact_chain(betas, m, v, variance: str = "posterior", step: Step | None = None) -> dict:
    """Exact moments of DDPM ancestral sampling on betas (beta_1..beta_T) with the exact eps for data N(m, v),
    started from the exact q(x_T); sigma_t^2 = beta_tilde_t ("posterior") or beta_t ("beta") (DDPM Sec. 3.2).

    Returns means, variances and the exact q(x_t) moments, index k = state x_{T-k} (k = 0..T)."""
    bs = _check_positive("betas", betas)
    if bs.ndim != 1 or np.any(bs >= 1):
        raise ValueError(f"betas must be a 1-D array of values in (0, 1), got {betas!r}")
    _check_finite("m", m), _check_positive("v", v), _check_step(step)
    if not isinstance(variance, str) or variance not in ("posterior", "beta"):
        raise ValueError(f"variance must be 'posterior' or 'beta', got {variance!r}")
    step = step or ancestral_step_kernel("numpy")
    ab = np.cumprod(1 - bs)                                   # alphabar_1..alphabar_T
    ab_prev = np.concatenate([[1.0], ab[:-1]])
    sig2 = (1 - ab_prev) / (1 - ab) * bs if variance == "posterior" else bs
    rev = slice(None, None, -1)                               # steps T -> T-1 -> ... -> 0
    a, b, c, zero = affine_coefficients(step, 0, 1, 5, {2: bs[rev], 3: ab[rev], 4: np.sqrt(sig2[rev])})
    p, q = eps_hat_coefficients(np.sqrt(ab[rev]), np.sqrt(1 - ab[rev]), float(m), float(v))
    means, variances = exact_chain(np.sqrt(ab[-1]) * m, ab[-1] * v + 1 - ab[-1], a, b, c, p, q, zero)
    ab_states = np.concatenate([ab[rev], [1.0]])              # alphabar of x_T, ..., x_0
    return {"means": means, "variances": variances, "exact_means": np.sqrt(ab_states) * m,
            "exact_variances": ab_states * v + 1 - ab_states}


# ------------------------------------------------------------------------------------------ Monte Carlo
def _vp_fns() -> ScheduleFns:
    """'time' = alpha itself on a VP path (sigma = sqrt(1 - alpha^2)): lets discrete DDPM reuse numerics.exact."""
    return ScheduleFns(lambda a: a, lambda a: jnp.sqrt(1 - a**2), None, None)


def _additive_fns() -> ScheduleFns:
    """'time' = the noise level sigma with alpha = 1 (NCSN / Langevin targets p_sigma = p_data * N(0, sigma^2))."""
    return ScheduleFns(lambda s: jnp.ones_like(s), lambda s: s, None, None)


def _scan_samples(body, x_init, keys, xs):
    def step(x, inp):
        key, coeffs = inp
        return body(x, key, coeffs), None
    out, _ = jax.lax.scan(step, x_init, (keys, xs))
    return out


def ddim_monte_carlo(key: jax.Array, x_init, fns: ScheduleFns, mix: GaussianMixture, times, eta: float,
                     step: Step | None = None) -> jax.Array:
    """Run DDIM (any eta) from samples ``x_init`` at times[0] down the grid with the exact mixture eps."""
    ts, eta = _check_grid(times), _check_eta(eta)
    _check_key(key), _check_fns(fns), _check_mix(mix), _check_real("x_init", x_init), _check_step(step)
    step = step or ddim_step_kernel()
    t_now, t_next = jnp.asarray(ts[:-1]), jnp.asarray(ts[1:])
    keys = jax.random.split(key, len(t_now))

    def body(x, k, tt):
        tn, tx = tt
        eps_hat = -fns.sigma(tn) * marginal_score(x, tn, fns, mix)
        z = jax.random.normal(k, x.shape, dtype=x.dtype)
        return step(x, eps_hat, fns.alpha(tx), fns.sigma(tx), fns.alpha(tn), fns.sigma(tn), eta, z)

    return _scan_samples(body, jnp.asarray(x_init, dtype=jnp.float64), keys, (t_now, t_next))


def ancestral_monte_carlo(key: jax.Array, x_init, mix: GaussianMixture, betas, step: Step | None = None) -> jax.Array:
    """DDPM ancestral sampling x_T -> x_0 (sigma_t^2 = beta_tilde_t) with the exact mixture eps; x_init ~ q(x_T)."""
    bs = _check_positive("betas", betas)
    if bs.ndim != 1 or np.any(bs >= 1):
        raise ValueError(f"betas must be a 1-D array of values in (0, 1), got {betas!r}")
    _check_key(key), _check_mix(mix), _check_real("x_init", x_init), _check_step(step)
    step = step or ancestral_step_kernel()
    ab = np.cumprod(1 - bs)
    ab_prev = np.concatenate([[1.0], ab[:-1]])
    sig = np.sqrt((1 - ab_prev) / (1 - ab) * bs)
    rev = slice(None, None, -1)
    fns, keys = _vp_fns(), jax.random.split(key, len(bs))

    def body(x, k, cf):
        b, abar, s = cf
        eps_hat = -jnp.sqrt(1 - abar) * marginal_score(x, jnp.sqrt(abar), fns, mix)
        return step(x, eps_hat, b, abar, s, jax.random.normal(k, x.shape, dtype=x.dtype))

    return _scan_samples(body, jnp.asarray(x_init, dtype=jnp.float64), keys,
                         tuple(jnp.asarray(u[rev]) for u in (bs, ab, sig)))


def annealed_langevin_monte_carlo(key: jax.Array, x_init, mix: GaussianMixture, noise_levels, step_sizes,
                                  n_inner: int, step: Step | None = None) -> jax.Array:
    """Annealed Langevin (003 Algorithm 1): for each noise level (given in the order used), n_inner steps
    x <- x + eta_l score_{sigma_l}(x) + sqrt(2 eta_l) eps with the exact score of p_data * N(0, sigma_l^2).
    A single level with noise 0 is plain Langevin on the data law."""
    lv = _check_finite("noise_levels", noise_levels)
    _check_key(key), _check_mix(mix), _check_real("x_init", x_init), _check_step(step)
    etas = _check_positive("step_sizes", step_sizes)
    if lv.ndim != 1 or lv.shape != etas.shape or np.any(lv < 0):
        raise ValueError(f"noise_levels (>= 0) and step_sizes must be 1-D of equal length, got {noise_levels!r}, "
                         f"{step_sizes!r}")
    if isinstance(n_inner, bool) or not isinstance(n_inner, (int, np.integer)) or n_inner < 1:
        raise ValueError(f"n_inner must be a positive integer (>= 1), got {n_inner!r}")
    step = step or langevin_step_kernel()
    fns = _additive_fns()
    levels, sizes = np.repeat(lv, n_inner), np.repeat(etas, n_inner)
    keys = jax.random.split(key, len(levels))

    def body(x, k, cf):
        sl, el = cf
        sc = marginal_score(x, sl, fns, mix)
        return step(x, sc, el, jax.random.normal(k, x.shape, dtype=x.dtype))

    return _scan_samples(body, jnp.asarray(x_init, dtype=jnp.float64), keys, (jnp.asarray(levels), jnp.asarray(sizes)))


def langevin_monte_carlo(key: jax.Array, x_init, mix: GaussianMixture, step_size: float, n_steps: int,
                         step: Step | None = None) -> jax.Array:
    """Unadjusted Langevin on the data law (003 eq. (3.1.5)) with the exact mixture score."""
    _check_positive("step_size", step_size)
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer (>= 1), got {n_steps!r}")
    return annealed_langevin_monte_carlo(key, x_init, mix, [0.0], [step_size], n_steps, step)


def langevin_exact_chain(mean0, var0, m, v, step_size: float, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact moments of Langevin on N(m, v): the score -(x - m)/v is affine, pred = score, p = -1/v, q = m/v."""
    _check_positive("v", v), _check_positive("step_size", step_size), _check_finite("m", m)
    _check_finite("mean0", mean0), _check_finite("var0", var0)
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer (>= 1), got {n_steps!r}")
    step = langevin_step_kernel("numpy")
    a, b, c, zero = affine_coefficients(step, 0, 1, 3, {2: np.full((n_steps,), float(step_size))})
    return exact_chain(mean0, var0, a, b, c, np.full((n_steps,), -1.0 / v), np.full((n_steps,), m / v), zero)
