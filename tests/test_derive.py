"""Property tests of derive/: Fokker–Planck residuals of exact marginals and the reverse family."""
import pytest
import sympy as sp
from hypothesis import given, strategies as st

from derive import data, fokker_planck, pf_ode, reverse_sde, schedules
from derive.symbols import t, x

FAMILY = st.sampled_from(["vp-linear", "ve", "rectified-flow", "vp-cosine", "edm", "sub-vp"])


def _numeric_zero(expr, tt, xx=0.37):
    return abs(complex(sp.N(expr.subs({t: sp.Float(tt, 40), x: sp.Float(xx, 40)}).doit(), 40))) < 1e-25


@given(FAMILY, st.floats(0.1, 0.8), st.floats(-2, 2), st.floats(0.1, 2.0))
def test_forward_marginal_solves_fokker_planck(name, tt, mean, var):
    sc = schedules.get(name)
    gauss = data.Mixture((1,), (sp.nsimplify(round(mean, 3)),), (sp.nsimplify(round(var, 3)),))
    assert _numeric_zero(reverse_sde.marginal_residual(reverse_sde.forward_sde(sc), sc, gauss), tt)


@given(FAMILY, st.floats(0.1, 0.8), st.sampled_from([0, sp.Rational(1, 2), 1, 2]))
def test_reverse_family_shares_mixture_marginals(name, tt, lam):
    sc = schedules.get(name)
    mix = data.Mixture((sp.Rational(1, 3), sp.Rational(2, 3)), (-1, sp.Rational(3, 2)), (sp.Rational(1, 4), sp.Rational(1, 2)))
    member = reverse_sde.lambda_member(sc, mix.score(sc), lam)
    assert _numeric_zero(reverse_sde.marginal_residual(member, sc, mix), tt)


def test_wrong_reverse_drift_is_detected():
    sc = schedules.get("vp-linear")
    gauss = data.gaussian(0, 1)
    wrong = reverse_sde.Process(sc.drift_coeff() * x + sc.diffusion_sq() * gauss.score(sc), sc.diffusion_sq(), "reverse")
    assert not _numeric_zero(reverse_sde.marginal_residual(wrong, sc, gauss), 0.5)


def test_generic_schedule_family_holds_symbolically():
    sc = schedules.generic()
    gauss = data.gaussian()
    for proc in (reverse_sde.forward_sde(sc), reverse_sde.reverse_sde(sc, gauss.score(sc)), pf_ode.pf_ode(sc, gauss.score(sc))):
        assert sp.simplify(reverse_sde.marginal_residual(proc, sc, gauss) / gauss.marginal_density(sc)) == 0


def test_pf_ode_gaussian_flow_map_solves_the_ode():
    sc = schedules.get("vp-linear")
    s0 = sp.Rational(1, 5)
    xs = sp.Symbol("xs", real=True)
    phi = pf_ode.gaussian_flow_map(sc, s0, t, xs, mean=sp.Rational(1, 2), var=sp.Rational(3, 2))
    score = data.gaussian(sp.Rational(1, 2), sp.Rational(3, 2)).score(sc)
    velocity = pf_ode.pf_ode(sc, score).drift.subs(x, phi)
    assert abs(float(sp.N((sp.diff(phi, t) - velocity).subs({t: 0.6, xs: 0.3})))) < 1e-12


def test_marginal_preserving_coefficients_are_derived():
    g2, s2 = sp.symbols("G2 S2")
    assert sp.simplify(fokker_planck.marginal_preserving_coefficient("forward") + (g2 - s2) / 2) == 0
    assert sp.simplify(fokker_planck.marginal_preserving_coefficient("reverse") + (g2 + s2) / 2) == 0


@pytest.mark.parametrize("call, word", [
    (lambda: schedules.get("nope"), "unknown schedule"),
    (lambda: schedules.get("ve", sigma_min=-1), "sigma_min"),
    (lambda: schedules.get("vp-linear", beta_min=5, beta_max=1), "beta_max"),
    (lambda: schedules.get("vp-linear").check_time(-0.1), "outside"),
    (lambda: schedules.get("vp-linear").check_interval(0.7, 0.3), "s < t"),
    (lambda: fokker_planck.operator(x, 1, x, "sideways"), "direction"),
])
def test_bad_input_names_the_argument(call, word):
    with pytest.raises(ValueError, match=word):
        call()
