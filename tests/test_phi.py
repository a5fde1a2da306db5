"""phi_1..phi_3 (numerics/phi.py and the emitted-kernel expressions of derive.exp_integrator) against mpmath at
50 digits: phi_k(h) = 1F1(1; k+1; h)/k! (an independent closed form of sum_n h^n/(n+k)!), for h log-uniform in
[1e-12, 50] and its negative (DPM-Solver++ uses phi_k(-h)). Tolerances of issue 5: 1e-14 (float64), 1e-6 (float32)."""
from __future__ import annotations

import math

import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

import numerics  # noqa: F401  (enables float64)
from derive import exp_integrator as E
from numerics.kernels import lambdify_jax
from numerics.phi import phi

TOL = {np.float64: 1e-14, np.float32: 1e-6}


def reference(k: int, h: float) -> float:
    with mp.workdps(50):
        return float(mp.hyp1f1(1, k + 1, mp.mpf(h)) / mp.factorial(k))


def rel_error(k, values, dtype) -> tuple[float, float]:
    """Worst relative error of phi(k, values) in ``dtype`` against mpmath, and the input where it occurs."""
    hv = np.asarray(values, dtype=dtype)
    got = np.asarray(phi(k, jnp.asarray(hv)), dtype=np.float64)
    ref = np.array([reference(k, float(v)) for v in hv])
    err = np.abs(got - ref) / np.abs(ref)
    i = int(np.argmax(err))
    return float(err[i]), float(hv[i])


def grid(n: int = 400, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mags = 10.0 ** rng.uniform(-12, math.log10(50), n)
    return np.concatenate([mags, -mags, [0.0, 1.9999999, 2.0, -2.0, 50.0, -50.0, 1e-12, -1e-12]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_phi_grid_against_mpmath(k, dtype):
    worst, where = rel_error(k, grid(), dtype)
    assert worst <= TOL[dtype], f"phi_{k} {np.dtype(dtype).name}: worst relative error {worst:.3g} at h={where!r}"


@settings(max_examples=60, deadline=None, derandomize=True)
@given(exponent=st.floats(-12, math.log10(50)), negative=st.booleans(), k=st.sampled_from([1, 2, 3]),
       single=st.booleans())
def test_phi_hypothesis_against_mpmath(exponent, negative, k, single):
    dtype = np.float32 if single else np.float64
    h = (-1.0 if negative else 1.0) * 10.0 ** exponent
    worst, where = rel_error(k, [h], dtype)
    assert worst <= TOL[dtype], f"phi_{k} {np.dtype(dtype).name}: relative error {worst:.3g} at h={where!r}"


def test_phi_zero_and_dtype_and_gradient():
    import jax
    assert np.allclose(np.asarray(phi(1, jnp.zeros(3))), 1.0)
    assert phi(2, jnp.float32(0.5)).dtype == jnp.float32
    assert phi(3, 1).dtype == jnp.float64
    g = jax.grad(lambda v: phi(1, v))(0.0)        # phi_1'(0) = phi_2(0) = 1/2 (d/dh sum h^n/(n+1)!)
    assert abs(float(g) - 0.5) < 1e-12
    assert np.all(np.isfinite(np.asarray(phi(3, jnp.array([-np.inf, -700.0, 0.0, 1e-300])))))
    with pytest.raises(ValueError, match="k must be 1, 2 or 3"):
        phi(4, 1.0)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_emitted_phi_expression_matches_mpmath(k):
    """The phi kernels that derive.exp_integrator hands to the emitter (printed like numerics.emit does)."""
    spec = {s.name: s for s in E.kernel_specs()}[f"phi_{k}"]
    fn = lambdify_jax(spec.expr, spec.args)
    hv = grid(120, seed=1)
    got = np.asarray(fn(jnp.asarray(hv)))
    ref = np.array([reference(k, float(v)) for v in hv])
    err = np.abs(got - ref) / np.abs(ref)
    assert err.max() <= 1e-14, f"emitted phi_{k}: worst {err.max():.3g} at h={hv[np.argmax(err)]!r}"


@pytest.mark.parametrize("k", [1, 2, 3])
def test_phi_derivation_integral_recursion_series(k):
    h = E.HR
    # the integral definition, evaluated independently at a point by mpmath quadrature
    with mp.workdps(30):
        quad = mp.quad(lambda u: mp.e**((1 - u) * mp.mpf("0.7")) * u**(k - 1) / mp.factorial(k - 1), [0, 1])
    assert abs(float(E.phi(k).subs(h, sp.Rational(7, 10)).evalf(30)) - float(quad)) < 1e-25
    assert E.phi_recursion_residual(k) == 0
    series = E.phi_series(k, 8)
    assert sp.expand(series - sum(h**n / sp.factorial(n + k) for n in range(8))) == 0
    assert sp.limit(E.phi(k), h, 0) == sp.Rational(1, math.factorial(k))
