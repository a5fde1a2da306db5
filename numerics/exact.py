r"""Exact marginals of Gaussian-mixture data under a schedule (the numeric twin of derive.data).

Data x_0 ~ sum_k w_k N(m_k, v_k I_d) and x_t = alpha_t x_0 + sigma_t eps give the marginal
    p_t(x) = sum_k w_k N(x; alpha_t m_k, (alpha_t^2 v_k + sigma_t^2) I_d),
a mixture with component variances s_k(t) = alpha_t^2 v_k + sigma_t^2, and the score
    grad log p_t(x) = sum_k r_k(x) (alpha_t m_k - x) / s_k(t),  r_k = softmax_k(log w_k + log N_k(x)),
computed with log-sum-exp so that far tails neither underflow nor give 0/0.

Shapes: 1-D data (``means`` of shape (K,)) uses samples x of shape (...,); d-dim isotropic data
(``means`` of shape (K, d)) uses x of shape (..., d). ``t`` is a scalar or broadcasts against the
sample batch shape ``...``. ``fns`` is a numerics.kernels.ScheduleFns.
"""
from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp, ndtr

from .kernels import ScheduleFns

_LOG_2PI = float(np.log(2 * np.pi))


def _array(name: str, value, ndim: tuple[int, ...]) -> np.ndarray:
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be an array of real numbers, got {value!r}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of real numbers, got {value!r}") from None
    if arr.ndim not in ndim or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty array with ndim in {ndim}, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return arr


@dataclass(frozen=True, eq=False)
class GaussianMixture:
    """Data law sum_k weights[k] N(means[k], variances[k] I): weights (K,), means (K,) or (K, d),
    variances (K,) (isotropic per component). Arrays are stored as float64 NumPy arrays."""

    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray

    def __post_init__(self):
        w = _array("weights", self.weights, (1,))
        m = _array("means", self.means, (1, 2))
        v = _array("variances", self.variances, (1,))
        if np.any(w < 0) or abs(w.sum() - 1.0) > 1e-9:
            raise ValueError(f"weights must be >= 0 and sum to 1, got {w.tolist()} (sum {w.sum()!r})")
        if np.any(v <= 0):
            raise ValueError(f"variances must be > 0, got {v.tolist()}")
        if not len(w) == len(m) == len(v):
            raise ValueError(f"weights, means and variances must have the same number of components, "
                             f"got {len(w)}, {len(m)}, {len(v)}")
        for name, arr in (("weights", w), ("means", m), ("variances", v)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def dim(self) -> int | None:
        """None for 1-D data (samples of shape (n,)), else d (samples of shape (n, d))."""
        return None if self.means.ndim == 1 else self.means.shape[1]


def _mixture_unflatten(_aux, arrays) -> GaussianMixture:
    """Rebuild from (possibly traced) arrays without the checks of __post_init__ (they ran on the original)."""
    mix = object.__new__(GaussianMixture)
    for name, arr in zip(("weights", "means", "variances"), arrays):
        object.__setattr__(mix, name, arr)
    return mix


# a pytree: a mixture can be an argument of a jitted function (one compilation for all mixtures of one shape)
jax.tree_util.register_pytree_node(GaussianMixture, lambda m: ((m.weights, m.means, m.variances), None),
                                   _mixture_unflatten)


# --- argument checks (shared by numerics.simulate, numerics.chains, numerics.flow_exact) -----------------

def _concrete(value) -> bool:
    """A value whose numbers can be read here: not a tracer, and not an array spread over other processes'
    devices (multi-host Monte Carlo: reading it would need a cross-host gather)."""
    return not isinstance(value, jax.core.Tracer) and getattr(value, "is_fully_addressable", True)


def _check_fns(fns, name: str = "fns") -> ScheduleFns:
    if not isinstance(fns, ScheduleFns):
        raise TypeError(f"{name} must be a numerics.kernels.ScheduleFns (from schedule_functions(schedule)), "
                        f"got {type(fns).__name__}: {fns!r}")
    return fns


def _check_mix(mix, name: str = "mix") -> GaussianMixture:
    if not isinstance(mix, GaussianMixture):
        raise TypeError(f"{name} must be a numerics.exact.GaussianMixture, got {type(mix).__name__}: {mix!r}")
    return mix


def _check_real(name: str, value, lower: float | None = None, strict: bool = False):
    """A real array or scalar (floating dtype if it is an array; Python numbers are accepted), finite and, when
    concrete, >= lower (> lower with ``strict``). Tracers are checked for dtype only."""
    if value is None or isinstance(value, (str, bytes, bool)):
        raise TypeError(f"{name} must be a real number or a float array, got {value!r}")
    dtype = getattr(value, "dtype", None)
    if dtype is not None and not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"{name} must have a floating dtype (float32 or float64), got dtype {dtype}")
    if dtype is None:
        try:
            value = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a real number or a float array, got {value!r}") from None
    if _concrete(value):
        arr = np.asarray(value)
        interval = "(-inf, inf)" if lower is None else (f"({lower}, inf)" if strict else f"[{lower}, inf)")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite, in {interval}, got {value!r}")
        if lower is not None and (np.any(arr <= lower) if strict else np.any(arr < lower)):
            raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return value


def _check_x(x, mix: GaussianMixture, name: str = "x"):
    """Samples: shape (...,) for 1-D data, (..., d) for d-dim data; real, finite."""
    x = _check_real(name, x)
    shape = jnp.shape(x)
    if mix.dim is not None and (len(shape) == 0 or shape[-1] != mix.dim):
        raise ValueError(f"{name} must have shape (..., {mix.dim}) for {mix.dim}-dim data, got shape {shape}")
    return x


def _check_t(t, x=None, mix: GaussianMixture | None = None, name: str = "t"):
    """Time(s) >= 0, broadcastable against the batch shape of x."""
    t = _check_real(name, t, lower=0.0)
    if x is not None:
        batch = jnp.shape(x) if mix is None or mix.dim is None else jnp.shape(x)[:-1]
        try:
            jnp.broadcast_shapes(jnp.shape(t), batch)
        except ValueError:
            raise ValueError(f"{name} of shape {jnp.shape(t)} does not broadcast against the sample batch shape "
                             f"{batch}") from None
    return t


def _check_key(key, name: str = "key"):
    dtype = getattr(key, "dtype", None)
    ok = dtype is not None and (jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)
                                or (dtype == jnp.uint32 and jnp.shape(key)[-1:] == (2,)))
    if not ok:
        raise TypeError(f"{name} must be a JAX PRNG key (jax.random.key(seed) or jax.random.PRNGKey(seed)), "
                        f"got {key!r}")
    return key


def _check_args(x, t, fns, mix):
    _check_fns(fns), _check_mix(mix)
    return _check_x(x, mix), _check_t(t, x, mix)


def _components(x, t, fns: ScheduleFns, mix: GaussianMixture):
    """Per-component log(w_k N_k(x)) (shape (..., K)), residual alpha m_k - x (..., K, d), variance s_k (..., K)."""
    x = jnp.asarray(x)
    xd = x[..., None] if mix.dim is None else x                        # (..., d)
    t = jnp.asarray(t)[..., None]                                      # broadcast over K
    a, s2 = fns.alpha(t), fns.sigma(t) ** 2
    var = a ** 2 * mix.variances + s2                                  # (..., K)
    means = mix.means[:, None] if mix.dim is None else mix.means       # (K, d)
    resid = a[..., None] * means - xd[..., None, :]                    # (..., K, d)
    d = means.shape[1]
    logn = -0.5 * (jnp.sum(resid ** 2, -1) / var + d * (_LOG_2PI + jnp.log(var)))
    return jnp.log(mix.weights) + logn, resid, var              # log 0 = -inf: an empty component


def marginal_logpdf(x, t, fns: ScheduleFns, mix: GaussianMixture) -> jax.Array:
    """log p_t(x) = logsumexp_k [log w_k + log N(x; alpha_t m_k, s_k(t) I)]; shape = batch shape of x."""
    x, t = _check_args(x, t, fns, mix)
    logc, _, _ = _components(x, t, fns, mix)
    return logsumexp(logc, axis=-1)


def marginal_score(x, t, fns: ScheduleFns, mix: GaussianMixture) -> jax.Array:
    """grad_x log p_t(x) = sum_k r_k (alpha_t m_k - x)/s_k(t) with r = softmax(log w + log N); shape of x."""
    x, t = _check_args(x, t, fns, mix)
    logc, resid, var = _components(x, t, fns, mix)
    r = jax.nn.softmax(logc, axis=-1)
    score = jnp.sum((r / var)[..., None] * resid, axis=-2)
    return score[..., 0] if mix.dim is None else score


def marginal_cdf(x, t, fns: ScheduleFns, mix: GaussianMixture) -> jax.Array:
    """P(X_t <= x) = sum_k w_k Phi((x - alpha_t m_k)/sqrt(s_k(t))) (1-D data only)."""
    x, t = _check_args(x, t, fns, mix)
    if mix.dim is not None:
        raise ValueError(f"marginal_cdf needs 1-D data (means of shape (K,)), got means of shape {mix.means.shape}")
    x = jnp.asarray(x)
    t = jnp.asarray(t)[..., None]
    a, s2 = fns.alpha(t), fns.sigma(t) ** 2
    z = (x[..., None] - a * mix.means) / jnp.sqrt(a ** 2 * mix.variances + s2)
    return jnp.sum(mix.weights * ndtr(z), axis=-1)


def _check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be a positive integer (>= 1), got {n!r}")
    if n <= 0:
        raise ValueError(f"n must be a positive integer (>= 1), got {n!r}")
    return int(n)


def sample_data(key: jax.Array, n: int, mix: GaussianMixture) -> jax.Array:
    """n draws of x_0: component k ~ Categorical(w), then m_k + sqrt(v_k) z; shape (n,) or (n, d)."""
    n = _check_n(n)
    _check_key(key), _check_mix(mix)
    k_comp, k_noise = jax.random.split(key)
    with np.errstate(divide="ignore"):
        logw = jnp.asarray(np.log(mix.weights))
    comp = jax.random.categorical(k_comp, logw, shape=(n,))
    shape = (n,) if mix.dim is None else (n, mix.dim)
    z = jax.random.normal(k_noise, shape, dtype=jnp.float64)
    scale = jnp.sqrt(jnp.asarray(mix.variances))[comp]
    return jnp.asarray(mix.means)[comp] + (scale if mix.dim is None else scale[:, None]) * z


def sample_marginal(key: jax.Array, n: int, t, fns: ScheduleFns, mix: GaussianMixture) -> jax.Array:
    """n exact draws of x_t = alpha_t x_0 + sigma_t eps (t a scalar)."""
    _check_key(key), _check_fns(fns), _check_mix(mix), _check_n(n)
    if jnp.ndim(_check_t(t)) != 0:
        raise ValueError(f"t must be a scalar time >= 0, got shape {jnp.shape(t)}")
    k_data, k_eps = jax.random.split(key)
    x0 = sample_data(k_data, n, mix)
    eps = jax.random.normal(k_eps, x0.shape, dtype=x0.dtype)
    return fns.alpha(t) * x0 + fns.sigma(t) * eps


def marginal_mean_var(t, fns: ScheduleFns, mix: GaussianMixture) -> tuple[jax.Array, jax.Array]:
    """Mean alpha_t E[x_0] and variance alpha_t^2 Var[x_0] + sigma_t^2 of x_t, per coordinate.

    Var[x_0] = sum_k w_k (v_k + m_k^2) - (sum_k w_k m_k)^2 (law of total variance). 1-D data:
    scalars; d-dim data: mean (d,) and the diagonal of the covariance (d,).
    """
    _check_fns(fns), _check_mix(mix), _check_t(t)
    w = mix.weights if mix.dim is None else mix.weights[:, None]
    v = mix.variances if mix.dim is None else mix.variances[:, None]
    mean0 = np.sum(w * mix.means, axis=0)
    var0 = np.sum(w * (v + mix.means ** 2), axis=0) - mean0 ** 2
    a, s = fns.alpha(t), fns.sigma(t)
    return a * mean0, a ** 2 * var0 + s ** 2
