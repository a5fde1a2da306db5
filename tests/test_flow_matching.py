"""Flow matching (003 ch. 5): each derivation checked by an independent route."""
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, strategies as st

from derive import data as D, flow_matching as fm, schedules as S
from derive.symbols import eps, m, t, v, x, x0


def test_gaussian_path_velocity_generates_the_flow_map():
    """Prop. 5.3.1: d/dt Psi_{0->t}(y) = v_t(Psi_{0->t}(y)) for the flow map (5.3.2)."""
    mu, sd = sp.Function("mu")(t), sp.Function("sd", positive=True)(t)
    vel = fm.gaussian_path_velocity(mu, sd)
    y = sp.Symbol("y", real=True)
    psi = mu + sd * (y - mu.subs(t, 0)) / sd.subs(t, 0)
    assert sp.simplify(sp.diff(psi, t) - vel.subs(x, psi)) == 0


def test_conditional_velocity_on_the_path_is_the_time_derivative():
    g = S.generic()
    u = fm.conditional_velocity(g)
    on_path = u.subs(x, g.alpha_expr * x0 + g.sigma_expr * eps)
    assert sp.simplify(on_path - sp.diff(g.alpha_expr * x0 + g.sigma_expr * eps, t)) == 0


def test_marginal_velocity_equals_pf_ode_velocity_for_gaussian_data():
    """E[u_t | x_t] (5.2.10) equals the PF-ODE drift f x - g^2/2 score (5.2.2) of derive.schedules, any schedule."""
    g = S.generic()
    data = D.gaussian()
    vel = fm.marginal_velocity(g, data)
    pf = g.drift_coeff() * x - g.diffusion_sq() / 2 * data.score(g)
    assert sp.simplify(vel - pf) == 0


def test_marginal_velocity_solves_continuity_equation_for_a_mixture():
    """d_t p + d_x (v p) = 0 (5.2.8) at random points, for a two-component mixture on the RF path."""
    rf = S.rectified_flow()
    mix = D.Mixture((sp.Rational(1, 3), sp.Rational(2, 3)), (-2, 1), (sp.Rational(1, 2), sp.Rational(1, 4)))
    dens = mix.marginal_density(rf)
    vel = fm.marginal_velocity(rf, mix)
    residual = sp.diff(dens, t) + sp.diff(vel * dens, x)
    rng = np.random.default_rng(0)
    for tv, xv in zip(rng.uniform(0.05, 0.95, 6), rng.uniform(-3, 3, 6)):
        val = sp.N(residual.subs({t: sp.Float(tv, 40), x: sp.Float(xv, 40)}), 40)
        assert abs(val) < 1e-30
    # power: a wrong velocity (the unconditional prior's) violates it
    wrong = sp.diff(dens, t) + sp.diff(fm.marginal_velocity(rf, D.gaussian(0, 1)) * dens, x)
    assert abs(sp.N(wrong.subs({t: sp.Rational(1, 2), x: 1}), 30)) > 1e-3


def test_conversions_round_trip_and_match_pf_ode_form():
    c = fm.conversions()
    assert sp.simplify(c["v_from_x0"].subs(fm.x0_hat, c["x0_from_v"]) - fm.vel) == 0
    assert sp.simplify(c["v_from_eps"].subs(fm.eps_hat, c["eps_from_v"]) - fm.vel) == 0
    assert sp.simplify(c["score_from_v"].subs(fm.vel, c["v_from_score"]) - fm.score) == 0
    f = fm.da_ / fm.a_
    g2 = 2 * fm.s_ * fm.ds_ - 2 * f * fm.s_**2                  # dsigma^2/dt - 2 f sigma^2
    assert sp.simplify(c["v_from_score"] - (f * x - g2 / 2 * fm.score)) == 0


@given(st.fractions(min_value=0.05, max_value=0.95), st.integers(0, 3))
def test_cfm_minus_fm_is_parameter_free(tval, degree):
    """(5.2.9): L_CFM - L_FM does not depend on theta (equal gradients) and equals E Var[u | x_t] > 0."""
    rf = S.rectified_flow()
    tv = sp.Rational(tval.numerator, tval.denominator)
    gap, theta = fm.loss_gap(rf, tv, degree=degree)
    assert not gap.free_symbols & set(theta)
    assert all(sp.diff(gap, th) == 0 for th in theta)
    post_var = v * tv**2 / ((1 - tv)**2 * v + tv**2)            # Var[x_0 | x_t], u = (x - x_0)/t on this path
    assert sp.simplify(gap - post_var / tv**2) == 0


def test_reflow_straightens_gaussian_paths():
    out = fm.reflow_gaussian()
    assert sp.simplify(out["map"] - (m + sp.sqrt(v) * sp.Symbol("e_std", real=True))) == 0  # monotone (OT) map
    assert out["straightness_after"] == 0
    assert sp.simplify(out["straightness_before"].subs(v, 1) - sp.pi / 2) == 0
    # Monte Carlo estimate of the straightness before reflow (v = 1, m = 0.4): int_0^1 E|v(x_t) - (e - x_0)|^2 dt
    rng = np.random.default_rng(1)
    n = 400_000
    tt, x0s, es = rng.uniform(0, 1, n), 0.4 + rng.standard_normal(n), rng.standard_normal(n)
    vf = sp.lambdify((x, t), out["velocity"].subs({m: sp.Rational(2, 5), v: 1}), "numpy")
    xt = (1 - tt) * x0s + tt * es
    est = np.mean((vf(xt, tt) - (es - x0s))**2)
    assert abs(est - np.pi / 2) < 6 * np.std((vf(xt, tt) - (es - x0s))**2) / np.sqrt(n)


def test_bad_input_is_rejected():
    with pytest.raises(TypeError, match="schedule"):
        fm.conditional_velocity("rf")
    with pytest.raises(ValueError, match="degree"):
        fm.loss_gap(S.rectified_flow(), sp.Rational(1, 2), degree=7)


def test_kernel_specs_are_consistent():
    specs = fm.kernel_specs()
    assert {s.name for s in specs} >= {"v_from_eps", "x0_from_v", "euler_step"}
    for s in specs:
        assert s.module == "flow_matching" and s.expr.free_symbols <= set(s.args)


def test_fm_euler_sampler_monte_carlo_on_a_mixture():
    """Euler FM sampler (derived v_from_x0, exact denoiser) on the RF path: KS at false-alarm 1e-6 holds; the same
    sampler with a wrong mixture's velocity is rejected (power)."""
    import jax
    from numerics import flow_exact as fe
    from numerics.exact import GaussianMixture
    from numerics.kernels import schedule_functions
    fns = schedule_functions(S.rectified_flow())
    mix = GaussianMixture(np.array([0.3, 0.7]), np.array([-2.0, 1.5]), np.array([0.3, 0.5]))
    wrong = GaussianMixture(np.array([0.5, 0.5]), np.array([-2.0, 1.5]), np.array([0.3, 0.5]))
    key = jax.random.PRNGKey(3)
    ok = fe.fm_euler_test(key, 20_000, 200, fns, mix)
    assert ok.passed, ok
    bad = fe.fm_euler_test(key, 20_000, 200, fns, mix, velocity_mix=wrong)
    assert not bad.passed, bad


def test_lipman_examples_of_000():
    """000 eqs. (17), (19), (21) (Lipman et al.'s Theorem 3 examples) from Prop. 5.3.1's derived velocity."""
    x1, smin = sp.Symbol("x_1", real=True), sp.Symbol("sigma_min", positive=True)
    ot_v = fm.gaussian_path_velocity(t * x1, 1 - (1 - smin) * t)
    assert sp.simplify(ot_v - (x1 - (1 - smin) * x) / (1 - (1 - smin) * t)) == 0          # (21)
    sig = sp.Function("sigma_ve", positive=True)
    ve_v = fm.gaussian_path_velocity(x1 + 0 * t, sig(1 - t))
    dsig = sp.Subs(sp.Derivative(sig(sp.Symbol("q")), sp.Symbol("q")), sp.Symbol("q"), 1 - t).doit()
    assert sp.simplify(ve_v - (-dsig / sig(1 - t) * (x - x1))) == 0                         # (17)
    big_t = sp.Function("T_int", positive=True)
    q = sp.Symbol("q")
    alpha_r = sp.exp(-big_t(1 - t) / 2)
    vp_v = fm.gaussian_path_velocity(alpha_r * x1, sp.sqrt(1 - alpha_r**2))
    dT = sp.Subs(sp.Derivative(big_t(q), q), q, 1 - t).doit()
    expected = -dT / 2 * (sp.exp(-big_t(1 - t)) * x - sp.exp(-big_t(1 - t) / 2) * x1) / (1 - sp.exp(-big_t(1 - t)))
    assert sp.simplify(vp_v - expected) == 0                                                 # (19), second form
