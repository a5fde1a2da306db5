"""derive/edm.py: preconditioning from the unit-variance conditions, Karras' schedule, Euler/Heun, churn."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from derive import edm as D
from numerics.kernels import lambdify_jax

A, S, SD = D.ALPHA, D.SIGMA, D.SIGMA_D


def test_unit_variance_conditions_hold():
    pre = D.preconditioning()
    # Var[c_in x_t] = c_in^2 (alpha^2 sigma_d^2 + sigma^2) = 1
    assert sp.simplify(pre["c_in"]**2 * (A**2 * SD**2 + S**2) - 1) == 0
    # Var[x_tgt] = ((1 - c_skip alpha)^2 sigma_d^2 + c_skip^2 sigma^2)/c_out^2 = 1
    c_skip, c_out = pre["c_skip"], pre["c_out"]
    assert sp.simplify(((1 - c_skip * A)**2 * SD**2 + c_skip**2 * S**2) / c_out**2 - 1) == 0
    # c_skip minimises c_out^2: zero derivative, positive curvature
    q = (1 - D.C_SKIP * A)**2 * SD**2 + D.C_SKIP**2 * S**2
    assert sp.simplify(sp.diff(q, D.C_SKIP).subs(D.C_SKIP, c_skip)) == 0
    assert sp.simplify(sp.diff(q, D.C_SKIP, 2)).is_positive
    # effective weight omega c_out^2 = 1
    assert sp.simplify(pre["loss_weight"] * c_out**2 - 1) == 0


def test_edm_values_karras_table1():
    """alpha = 1: Karras et al. (2022) Table 1 / 003 eq. (D.6.5) at a numeric point (sigma = 1.7, sigma_d = 0.5)."""
    pre = D.edm_preconditioning()
    vals = {S: sp.Rational(17, 10), SD: sp.Rational(1, 2)}
    assert sp.N(pre["c_skip"].subs(vals)) == pytest.approx(0.25 / (0.25 + 2.89))
    assert sp.N(pre["c_out"].subs(vals)) == pytest.approx(1.7 * 0.5 / np.sqrt(0.25 + 2.89))
    assert sp.N(pre["c_in"].subs(vals)) == pytest.approx(1 / np.sqrt(0.25 + 2.89))
    assert sp.N(pre["loss_weight"].subs(vals)) == pytest.approx((2.89 + 0.25) / (2.89 * 0.25))
    assert sp.N(pre["c_noise"].subs(vals)) == pytest.approx(np.log(1.7) / 4)


def test_karras_sigmas_endpoints_and_monotone():
    fn = lambdify_jax(D.karras_sigmas(), (D.I, D.N, D.SIGMA_MIN, D.SIGMA_MAX, D.RHO))
    sig = np.asarray(fn(np.arange(18.0), 18.0, 0.002, 80.0, 7.0))
    assert sig[0] == pytest.approx(80.0) and sig[-1] == pytest.approx(0.002)
    assert np.all(np.diff(sig) < 0)


def _ode_case():
    """Gaussian data N(m, v), alpha = 1: D(x; sigma) = m + v (x - m)/(v + sigma^2); exact flow x(s) linear in sqrt."""
    m, v = 0.3, 0.5
    den = lambda x, s: m + v * (x - m) / (v + s**2)
    flow = lambda x, s0, s1: m + np.sqrt((v + s1**2) / (v + s0**2)) * (x - m)
    return den, flow


@pytest.mark.parametrize("heun,order", [(False, 1), (True, 2)])
def test_euler_heun_single_step_order(heun, order):
    den, flow = _ode_case()
    euler = lambdify_jax(D.euler_step(), (D.X, D.DEN, D.SIGMA, D.SIGMA_NEXT))
    heun_k = lambdify_jax(D.heun_step(), (D.X, D.DEN, D.DEN_NEXT, D.SIGMA, D.SIGMA_NEXT))
    x, s0 = 1.1, 2.0
    errs = []
    for dsig in (0.04, 0.02, 0.01):
        s1 = s0 - dsig
        xe = float(euler(x, den(x, s0), s0, s1))
        out = float(heun_k(x, den(x, s0), den(xe, s1), s0, s1)) if heun else xe
        errs.append(abs(out - flow(x, s0, s1)))
    slope = np.log2(errs[1] / errs[2])
    assert abs(slope - (order + 1)) < 0.15, f"local error ~ dsigma^{slope:.3f}"


def test_heun_final_step_is_euler_and_finite():
    heun_k = lambdify_jax(D.heun_step(), (D.X, D.DEN, D.DEN_NEXT, D.SIGMA, D.SIGMA_NEXT))
    euler = lambdify_jax(D.euler_step(), (D.X, D.DEN, D.SIGMA, D.SIGMA_NEXT))
    out = float(heun_k(0.9, 0.4, 123.0, 0.5, 0.0))
    assert np.isfinite(out) and out == pytest.approx(float(euler(0.9, 0.4, 0.5, 0.0)))
    assert out == pytest.approx(0.4)     # Euler to sigma = 0 lands on the denoised value


def test_churn_raises_the_noise_level():
    """x ~ N(mu, sigma^2) + sqrt(sigma_hat^2 - sigma^2) z (S_noise = 1): variance sigma_hat^2 exactly."""
    step = D.churn_step().subs(D.S_NOISE, 1)
    var = sp.expand(sp.diff(step, D.X)**2 * S**2 + sp.diff(step, D.NOISE)**2)
    assert sp.simplify(var - D.churn_sigma()**2) == 0


def test_kernel_specs_contract():
    specs = D.kernel_specs()
    assert {s.module for s in specs} == {"edm"}
    for s in specs:
        assert s.expr.free_symbols <= set(s.args) and s.formula.startswith("args (")
