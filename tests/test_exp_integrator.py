"""derive/exp_integrator.py: variation of constants, Taylor weights, DDIM = DPM-Solver-1, local orders of the
updates (symbolic series), stable forms equal to the exact Lagrange integrals, and finite kernels at sigma_t = 0."""
from __future__ import annotations


import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from derive import exp_integrator as E
from numerics.kernels import lambdify_jax

h = E.H
SIG_T = sp.Symbol("sigma_t", positive=True)


def test_semilinear_coefficient_is_minus_sigma_dlambda():
    f, nonlinear, via_lambda = E.semilinear_coefficients()
    assert sp.simplify(nonlinear - via_lambda) == 0
    assert f.has(sp.Derivative)          # f = alpha'/alpha of the generic schedule


def test_variation_of_constants_solves_the_ode():
    sol, resid = E.variation_of_constants()
    assert resid == 0
    assert sp.simplify(sol.subs(E.LAM, E.LAM_S).doit() - sp.Symbol("x_s", real=True)) == 0   # initial value


@pytest.mark.parametrize("k", [0, 1, 2])
def test_taylor_weights_are_phi_functions(k):
    """003 eq. (9.4.9) and the DPM-Solver++ identity of ch. 9.5, against phi derived from its integral."""
    phik = E.phi(k + 1, h)
    assert sp.simplify(E.taylor_weight_eps(k) - SIG_T * h**(k + 1) * phik) == 0
    assert sp.simplify(E.taylor_weight_data(k) - E.ALPHA_T * h**(k + 1) * E.phi(k + 1, -h)) == 0
    # 003 ch. 9.5 writes sigma_t e^{lambda_{i-1}} h^{k+1} phi_{k+1}(h) = alpha_t e^{-h} h^{k+1} phi_{k+1}(h): k = 0 only
    book = E.ALPHA_T * sp.exp(-h) * h**(k + 1) * phik
    assert (sp.simplify(E.taylor_weight_data(k) - book) == 0) == (k == 0)


def _with_h(expr):
    """Substitute sigma_t from h = log(alpha_t sigma_s/(sigma_t alpha_s)) (the one relation between the arguments)."""
    return expr.subs(E.SIGMA_T, E.ALPHA_T * E.SIGMA_S / E.ALPHA_S * sp.exp(-h))


def test_ddim_is_dpm_solver_1():
    """003 Prop. 9.2.1: the re-noising DDIM step equals the exponential-Euler step."""
    assert sp.simplify(_with_h(E.ddim()).rewrite(sp.exp) - E.dpm_solver_1().rewrite(sp.exp)) == 0
    assert sp.simplify(_with_h(E.ddim()) - _with_h(E.dpm_solver_pp_1().subs(E.X0_S, (E.X - E.SIGMA_S * E.EPS_S) / E.ALPHA_S)).rewrite(sp.exp)) == 0


def test_ddim_matches_derive_ddim_module():
    ddim_mod = pytest.importorskip("derive.ddim")
    # derive.ddim steps from its t (start) to its s (target): swap the roles of the arguments
    other = ddim_mod.ddim_step(E.X, E.EPS_S, E.ALPHA_T, E.SIGMA_T, E.ALPHA_S, E.SIGMA_S)
    assert sp.simplify(other - E.ddim()) == 0


# --- local orders: update minus the exact variation-of-constants step, at 50 digits, for h -> 0 ----------------

C = sp.Rational(3, 5)
LAM_S = sp.Rational(1, 3)
HS = (mp.mpf("0.04"), mp.mpf("0.02"), mp.mpf("0.01"))


def _eps_model(lam):
    """eps(lambda) = e^{c lambda} cos(lambda): independent of x, so the exact step is the variation-of-constants integral."""
    return sp.exp(C * lam) * sp.cos(lam)


def _x0_model(lam):
    return sp.exp(C * lam) * sp.sin(lam)


def _observed_local_order(update: sp.Expr, data: bool) -> float:
    """log2 ratio of |update - exact| at h and h/2 (smallest pair of HS); local order p + 1 for a p-th order method.

    exact (003 eq. (9.4.4) / ch. 9.5 with x-independent model):
      eps:  x_t = (a_t/a_s) x_s - a_t int_{l_s}^{l_s+h} e^{-l} eps(l) dl,
      x0:   x_t = (s_t/s_s) x_s + s_t int_{l_s}^{l_s+h} e^{l} x0(l) dl."""
    a_s, a_t, x_s = sp.Rational(1, 2), sp.Rational(3, 4), sp.Rational(2, 5)
    s_s = a_s * sp.exp(-LAM_S)
    values = {E.X: x_s, E.ALPHA_S: a_s, E.SIGMA_S: s_s, E.ALPHA_T: a_t, E.SIGMA_T: a_t * sp.exp(-(LAM_S + h))}
    fn = sp.lambdify(h, update.subs(values).rewrite(sp.exp), "mpmath")
    l_s = mp.mpf(1) / 3
    c = mp.mpf(3) / 5
    errs = []
    with mp.workdps(50):
        for hv in HS:
            if data:
                s_t = mp.mpf(3) / 4 * mp.e**(-(l_s + hv))
                ex = s_t / s_s.evalf(50) * mp.mpf(2) / 5 + s_t * mp.quad(lambda l: mp.e**l * mp.e**(c * l) * mp.sin(l), [l_s, l_s + hv])
            else:
                ex = mp.mpf(3) / 4 / (mp.mpf(1) / 2) * mp.mpf(2) / 5 - mp.mpf(3) / 4 * mp.quad(
                    lambda l: mp.e**(-l) * mp.e**(c * l) * mp.cos(l), [l_s, l_s + hv])
            errs.append(abs(fn(hv) - ex))
    return float(mp.log(errs[-2] / errs[-1], 2))


@pytest.mark.parametrize("name,order", [("dpm_solver_1", 1), ("dpm_solver_2", 2), ("dpm_solver_3", 3)])
def test_single_step_local_order(name, order):
    r = sp.Rational(1, 2) if name == "dpm_solver_2" else E.third_order_ratio()
    upd = getattr(E, name)().subs({E.EPS_S: _eps_model(LAM_S), E.EPS_1: _eps_model(LAM_S + r * h), E.R1: r})
    observed = _observed_local_order(upd, data=False)
    assert abs(observed - (order + 1)) < 0.15, f"{name}: local error ~ h^{observed:.3f}, want h^{order + 1}"


@pytest.mark.parametrize("order", [1, 2, 3])
def test_deis_local_order_with_exact_history(order):
    h1, h2 = h * sp.Rational(9, 10), h * sp.Rational(11, 10)       # history steps proportional to h
    upd = E.deis(order, final_step=False).subs({E.H1: h1, E.H2: h2}).subs(
        {E.EPS_S: _eps_model(LAM_S), E.EPS_1: _eps_model(LAM_S - h1), E.EPS_2: _eps_model(LAM_S - h1 - h2)})
    observed = _observed_local_order(upd, data=False)
    assert abs(observed - (order + 1)) < 0.15, f"DEIS-{order}: local error ~ h^{observed:.3f}"


@pytest.mark.parametrize("name,order", [("dpm_solver_pp_1", 1), ("dpm_solver_pp_2s", 2), ("dpm_solver_pp_2m", 2),
                                        ("dpm_solver_pp_3m", 3)])
def test_data_prediction_local_order(name, order):
    h1, h2 = h * sp.Rational(9, 10), h * sp.Rational(11, 10)
    kwargs = {"final_step": False} if name in ("dpm_solver_pp_2m", "dpm_solver_pp_3m") else {}
    upd = getattr(E, name)(**kwargs).subs({E.H1: h1, E.H2: h2, E.R1: sp.Rational(1, 2)})
    upd = upd.subs({E.X0_S: _x0_model(LAM_S), E.X0_2: _x0_model(LAM_S - h1 - h2),
                    E.X0_1: _x0_model(LAM_S + h / 2) if name.endswith("2s") else _x0_model(LAM_S - h1)})
    observed = _observed_local_order(upd, data=True)
    assert abs(observed - (order + 1)) < 0.15, f"{name}: local error ~ h^{observed:.3f}, want h^{order + 1}"


def test_third_order_ratio():
    assert E.third_order_ratio() == sp.Rational(2, 3)


@pytest.mark.parametrize("order", [2, 3])
def test_deis_taylor_form_equals_lagrange_basis_integrals(order):
    """The emitted (Taylor / stable) form equals sum_j eps_j int_0^h e^{-u} l_j(u) du exactly."""
    weights = E._lagrange_weights(order, "eps")
    basis_form = E.ALPHA_T / E.ALPHA_S * E.X - E.ALPHA_T * E.SIGMA_S / E.ALPHA_S * sum(
        w * e for w, e in zip(weights, (E.EPS_S, E.EPS_1, E.EPS_2)))
    assert sp.simplify((E.deis(order, final_step=False).rewrite(sp.exp) - basis_form)) == 0


def test_pp_3m_equals_lagrange_basis_integrals():
    weights = E._lagrange_weights(3, "x0")
    basis_form = E.SIGMA_T / E.SIGMA_S * E.X + E.ALPHA_T * sum(w * e for w, e in zip(weights, (E.X0_S, E.X0_1, E.X0_2)))
    assert sp.simplify(E.dpm_solver_pp_3m(final_step=False).rewrite(sp.exp) - basis_form) == 0


@pytest.mark.parametrize("order", [2, 3])
def test_deis_final_step_is_the_limit(order):
    general = E.deis(order, final_step=False).rewrite(sp.exp)
    final = E.deis(order).subs(E.SIGMA_T, 0).subs(h, sp.oo).rewrite(sp.exp)
    assert sp.simplify(sp.limit(general, h, sp.oo) - final) == 0


# --- kernels ----------------------------------------------------------------------------------------------

SPECS = E.kernel_specs()


def test_kernel_specs_contract():
    names = {s.name for s in SPECS}
    for required in ("dpm_solver_pp_2m_step", "dpm_solver_1_step", "dpm_solver_2_step", "dpm_solver_3_step",
                     "dpm_solver_pp_2s_step", "dpm_solver_pp_3m_step", "deis_1_step", "deis_2_step", "deis_3_step",
                     "phi_1", "phi_2", "phi_3"):
        assert required in names
    for s in SPECS:
        assert s.module in ("dpm_solver", "deis", "phi")
        assert s.expr.free_symbols <= set(s.args), s.name
        assert s.formula.startswith("args (") and s.derivation.startswith("derive.exp_integrator.")


def _inputs(spec, rng, final: bool):
    vals = []
    for a in spec.args:
        n = a.name
        if n == "h":
            vals.append(np.inf if final else 10 ** rng.uniform(-8, 1.5, 64))
        elif n == "sigma_t":
            vals.append(0.0 if final else rng.uniform(1e-4, 1, 64))
        elif n in ("r_1",):
            vals.append(rng.uniform(0.2, 1, 64))
        elif n.startswith(("alpha", "sigma")) or n in ("h_1", "h_2"):
            vals.append(rng.uniform(1e-3, 1, 64))
        else:
            vals.append(rng.normal(0, 3, 64))
    return vals


@pytest.mark.parametrize("final", [False, True], ids=["generic", "sigma_t=0"])
def test_kernels_finite(final):
    rng = np.random.default_rng(0)
    for spec in SPECS:
        if spec.module == "phi":
            continue
        fn = lambdify_jax(spec.expr, spec.args)
        out = np.asarray(fn(*[jnp.asarray(v) for v in _inputs(spec, rng, final)]))
        assert np.all(np.isfinite(out)), f"{spec.name} not finite ({'final' if final else 'generic'} step)"


def test_final_step_values():
    """At sigma_t = 0 every noise-prediction update lands on the predicted data alpha_t x0_hat (eps weights -> limits)
    and data-prediction ones on alpha_t x0_s."""
    by = {s.name: lambdify_jax(s.expr, s.args) for s in SPECS}
    x, e, a_s, s_s, a_t = 0.7, -0.4, 0.6, 0.8, 1.0
    x0_hat = (x - s_s * e) / a_s
    assert abs(float(by["dpm_solver_1_step"](x, e, a_s, s_s, a_t, np.inf)) - a_t * x0_hat) < 1e-14
    assert abs(float(by["dpm_solver_2_step"](x, e, e, a_s, s_s, a_t, np.inf, 0.5)) - a_t * x0_hat) < 1e-14
    assert abs(float(by["dpm_solver_pp_2m_step"](x, 0.3, -0.2, a_t, s_s, 0.0, np.inf, 0.4)) - 0.3) < 1e-14
    assert abs(float(by["ddim_step"](x, e, a_s, s_s, a_t, 0.0)) - a_t * x0_hat) < 1e-14
