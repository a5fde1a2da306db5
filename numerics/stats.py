r"""Statistical comparisons of samples with a claimed law, at a stated false-alarm rate ``alpha``.

Each test returns a ``TestResult`` with ``passed = p_value >= alpha``. If the claim is true (the
samples are i.i.d. from the claimed law), the false-alarm probability -- rejecting a true claim --
is at most ``alpha`` by construction: P(p <= alpha) <= alpha for a valid p-value. For the
Kolmogorov–Smirnov tests the p-value is exact or a conservative asymptotic (continuous laws); for
the moment z-tests it is asymptotic (CLT), with a Bonferroni union bound over the tests made.
A simulation's discretisation bias is *not* covered: a check must keep it below the test's
resolution (about sqrt(log(2/alpha) / (2 n)) in CDF distance for KS).

Non-finite samples cannot come from a law on R^d, so they reject with p_value = 0.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.stats

DEFAULT_ALPHA = 1e-6


@dataclass(frozen=True)
class TestResult:
    """Outcome of one test: statistic, p-value, false-alarm rate alpha, sample size n, passed."""

    __test__ = False  # not a pytest test class

    statistic: float
    p_value: float
    alpha: float
    n: int
    passed: bool


def _check_alpha(alpha) -> float:
    if alpha is None or isinstance(alpha, (str, bytes, bool)):
        raise TypeError(f"alpha must be a real number in (0, 1), got {alpha!r}")
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise TypeError(f"alpha must be a real number in (0, 1), got {alpha!r}") from None
    if not 0 < a < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    return a


def _samples(name: str, values, ndim=(1,)) -> np.ndarray:
    if values is None or isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be an array of real numbers, got {values!r}")
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of real numbers, got {values!r}") from None
    if arr.ndim not in ndim or arr.shape[0] < 2:
        raise ValueError(f"{name} must have ndim in {ndim} and at least 2 samples, got shape {arr.shape}")
    return arr


def _samples_param(name: str, value, shape) -> np.ndarray:
    """A claimed mean or variance: a real scalar or one value per coordinate (broadcast to ``shape``)."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a real number or an array of shape {shape}, got {value!r}")
    try:
        return np.broadcast_to(np.asarray(value, dtype=np.float64), shape)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number or an array broadcastable to shape {shape}, "
                         f"got {value!r}") from None


def _result(stat: float, p: float, alpha: float, n: int) -> TestResult:
    p = float(min(max(p, 0.0), 1.0))
    return TestResult(float(stat), p, alpha, int(n), bool(p >= alpha))


def _rejected_nonfinite(arr: np.ndarray, alpha: float, n: int) -> TestResult | None:
    return None if np.all(np.isfinite(arr)) else _result(math.inf, 0.0, alpha, n)


def ks_one_sample(samples, cdf: Callable, alpha: float = DEFAULT_ALPHA) -> TestResult:
    """Kolmogorov–Smirnov test of 1-D ``samples`` against the continuous ``cdf`` (any callable mapping a
    NumPy array to CDF values, e.g. ``lambda x: marginal_cdf(x, t, fns, mix)``). The false-alarm
    probability of a true claim is at most alpha by construction."""
    alpha = _check_alpha(alpha)
    x = _samples("samples", samples)
    if not callable(cdf):
        raise TypeError(f"cdf must be a callable mapping an array to CDF values in [0, 1], got {cdf!r}")
    bad = _rejected_nonfinite(x, alpha, len(x))
    if bad is not None:
        return bad
    res = scipy.stats.kstest(x, lambda v: np.asarray(cdf(v), dtype=np.float64))
    return _result(res.statistic, res.pvalue, alpha, len(x))


def ks_two_sample(a, b, alpha: float = DEFAULT_ALPHA) -> TestResult:
    """Two-sample Kolmogorov–Smirnov test that 1-D samples ``a`` and ``b`` share one law; n = len(a) +
    len(b). The false-alarm probability of a true claim is at most alpha by construction."""
    alpha = _check_alpha(alpha)
    xa, xb = _samples("a", a), _samples("b", b)
    n = len(xa) + len(xb)
    bad = _rejected_nonfinite(np.concatenate([xa, xb]), alpha, n)
    if bad is not None:
        return bad
    res = scipy.stats.ks_2samp(xa, xb)
    return _result(res.statistic, res.pvalue, alpha, n)


def moment_z_test(samples, mean, var, alpha: float = DEFAULT_ALPHA) -> TestResult:
    """Two-sided z-tests that the mean and the variance of ``samples`` (shape (n,) or (n, d), tested
    per coordinate) equal ``mean`` and ``var``, combined by Bonferroni over the 2d tests.

    z_mean = (xbar - mean) / sqrt(var / n);  z_var = (s^2 - var) / sqrt((m4 - m2^2) / n), with m2, m4 the
    sample second and fourth central moments (the CLT for s^2 holds for any law with a finite fourth moment).
    The statistic is max |z|; p = min(1, 2d * min_j p_j). The false-alarm probability of a true claim
    is at most alpha by construction (asymptotically in n)."""
    alpha = _check_alpha(alpha)
    x = _samples("samples", samples, (1, 2))
    n = x.shape[0]
    bad = _rejected_nonfinite(x, alpha, n)
    if bad is not None:
        return bad
    x2 = x.reshape(n, -1)
    mu, v = _samples_param("mean", mean, x2.shape[1:]), _samples_param("var", var, x2.shape[1:])
    if np.any(~np.isfinite(mu)):
        raise ValueError(f"mean must be finite, got {mean!r}")
    if np.any(~np.isfinite(v)) or np.any(v <= 0):
        raise ValueError(f"var must be finite and > 0, got {var!r}")
    centred = x2 - x2.mean(axis=0)
    s2 = np.mean(centred ** 2, axis=0) * n / (n - 1)
    m2, m4 = np.mean(centred ** 2, axis=0), np.mean(centred ** 4, axis=0)
    z_mean = (x2.mean(axis=0) - mu) / np.sqrt(v / n)
    z_var = (s2 - v) / np.sqrt(np.maximum(m4 - m2 ** 2, 1e-300) / n)
    z = np.abs(np.concatenate([z_mean, z_var]))
    p_each = 2 * scipy.stats.norm.sf(z)
    return _result(z.max(), min(1.0, len(z) * p_each.min()), alpha, n)
