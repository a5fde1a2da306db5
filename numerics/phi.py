r"""phi-functions phi_1, phi_2, phi_3 in JAX, accurate for all real h (float32 and float64).

phi_k(h) = int_0^1 e^{(1-u) h} u^{k-1}/(k-1)! du = sum_{n>=0} h^n/(n+k)! (derive.exp_integrator.phi; 003 eq.
(9.4.9) and ch. 9.5). Two regimes:
  * |h| < 2: the Taylor series, its coefficients 1/(n+k)! taken from the SymPy series of the derived closed
    form (truncation error < 2^32/35! ~ 4e-31 relative);
  * |h| >= 2: phi_1 = expm1(h)/h and the recursion phi_{j+1} = (phi_j - 1/j!)/h, which loses at most a few
    ulps there (|phi_j - 1/j!| stays comparable to phi_j for |h| >= 2, both signs of h).
Both branches are computed on a "safe" argument (the double-where pattern) so that neither value nor gradient
is NaN at h = 0. Large h: phi_k(h) ~ e^h/h^k overflows only past the float range (h > ~709 in float64,
~88 in float32), as the function itself does; h = -inf gives phi_k = 0 for k >= 1.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

SERIES_RADIUS = 2.0
SERIES_TERMS = 32


@functools.cache
def _coefficients(k: int) -> tuple[float, ...]:
    """1/(n+k)! for n < SERIES_TERMS, read off SymPy's series of the derived phi_k (derive/exp_integrator)."""
    import sympy as sp
    from derive.exp_integrator import HR, phi
    series = sp.series(phi(k), HR, 0, SERIES_TERMS).removeO()
    return tuple(float(series.coeff(HR, n)) for n in range(SERIES_TERMS))


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be the integer 1, 2 or 3, got {k!r}")
    if not 1 <= k <= 3:
        raise ValueError(f"k must be 1, 2 or 3, got {k!r}")
    return int(k)


def _check_h(h) -> jax.Array:
    """h: real numbers (any real dtype; complex, text and None are refused). NaN propagates, +-inf is valid."""
    if h is None or isinstance(h, (str, bytes)):
        raise TypeError(f"h must be a real number or a real array, got {h!r}")
    try:
        arr = jnp.asarray(h)
    except TypeError:
        raise TypeError(f"h must be a real number or a real array, got {h!r}") from None
    if not (jnp.issubdtype(arr.dtype, jnp.floating) or jnp.issubdtype(arr.dtype, jnp.integer)):
        raise TypeError(f"h must be a real number or a real array, got dtype {arr.dtype}")
    return arr


def phi(k: int, h) -> jax.Array:
    """phi_k(h) for k in {1, 2, 3}, elementwise; dtype of ``h`` (float32 or float64; integers become float)."""
    k = _check_k(k)
    h = _check_h(h)
    if not jnp.issubdtype(h.dtype, jnp.floating):
        h = h.astype(jnp.result_type(float))
    return _phi(k, h)


@functools.partial(jax.jit, static_argnums=0)
def _phi(k: int, h: jax.Array) -> jax.Array:
    small = jnp.abs(h) < SERIES_RADIUS
    hs = jnp.where(small, h, jnp.zeros_like(h))                  # series argument, bounded
    hl = jnp.where(small, jnp.full_like(h, SERIES_RADIUS), h)    # closed-form argument, never 0
    coeffs = _coefficients(k)
    series = jnp.full_like(h, coeffs[-1])
    for c in reversed(coeffs[:-1]):                               # Horner
        series = series * hs + jnp.asarray(c, h.dtype)
    closed = jnp.expm1(hl) / hl
    fact = 1.0
    for j in range(1, k):
        closed = (closed - jnp.asarray(1.0 / fact, h.dtype)) / hl
        fact *= j + 1
    return jnp.where(small, series, closed)


def phi_1(h) -> jax.Array:
    """phi_1(h) = (e^h - 1)/h, with phi_1(0) = 1."""
    return phi(1, h)


def phi_2(h) -> jax.Array:
    """phi_2(h) = (e^h - 1 - h)/h^2, with phi_2(0) = 1/2."""
    return phi(2, h)


def phi_3(h) -> jax.Array:
    """phi_3(h) = (e^h - 1 - h - h^2/2)/h^3, with phi_3(0) = 1/6."""
    return phi(3, h)
