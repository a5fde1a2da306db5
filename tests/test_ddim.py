"""derive.ddim: marginal preservation (two routes), eta = 1 is DDPM, eta = 0 is an Euler step of the PF-ODE."""
import pytest
import sympy as sp
from hypothesis import given, strategies as st

from derive import ddim, ddpm, gaussian

a_s, s_s, a_t, s_t, sn = sp.symbols("a_s s_s a_t s_t s_n", positive=True)
x, e, x0, z = sp.symbols("x e x_0 z", real=True)
Q = lambda q: sp.Rational(repr(q))   # noqa: E731


def test_step_matches_001_eq12_in_vp_convention():
    ab_t, ab_s = sp.symbols("alpha_t alpha_tm1", positive=True)         # the DDIM paper's alpha (= alphabar)
    step = ddim.ddim_step(x, e, sp.sqrt(ab_s), sp.sqrt(1 - ab_s), sp.sqrt(ab_t), sp.sqrt(1 - ab_t), sn, z)
    document = sp.sqrt(ab_s) * (x - sp.sqrt(1 - ab_t) * e) / sp.sqrt(ab_t) + sp.sqrt(1 - ab_s - sn**2) * e + sn * z
    assert sp.simplify(step - document) == 0


@given(st.floats(0.05, 0.95), st.floats(0.05, 0.95), st.floats(0.05, 0.95), st.floats(-2, 2), st.floats(-2, 2))
def test_family_conditional_preserves_the_marginal_by_integration(ab_t, gap, frac, xs_val, x0_val):
    ab_s = ab_t + (1 - ab_t) * gap                                       # alphabar_s > alphabar_t (s earlier)
    al_s, sg_s, al_t, sg_t = sp.sqrt(Q(ab_s)), sp.sqrt(1 - Q(ab_s)), sp.sqrt(Q(ab_t)), sp.sqrt(1 - Q(ab_t))
    noise = Q(frac) * sg_s
    k, l = ddim.family_coefficients(al_s, sg_s, al_t, sg_t, noise)
    xt = sp.Symbol("xt", real=True)
    expo = gaussian.log_normal(x, k * Q(x0_val) + l * xt, noise**2) + gaussian.log_normal(xt, al_t * Q(x0_val), sg_t**2)
    lhs = gaussian.marginalize(expo, xt).subs(x, Q(xs_val))          # log of the integral over x_t
    rhs = gaussian.log_normal(Q(xs_val), al_s * Q(x0_val), sg_s**2)
    assert abs(sp.N(lhs - rhs, 50)) < sp.Float("1e-40")


def test_lemma1_by_induction_over_a_chain():
    alphas = sp.symbols("a0:4", positive=True)
    sigmas = sp.symbols("s0:4", positive=True)
    noises = sp.symbols("n0:3", positive=True)
    for i, (mean, var) in enumerate(ddim.family_chain_marginals(alphas, sigmas, noises)):
        assert sp.simplify(mean - alphas[i] * ddim._x0) == 0 and sp.simplify(var - sigmas[i]**2) == 0


def test_eta1_noise_is_the_ddpm_posterior_variance():
    # general schedule: DDPM posterior by Bayes (derive.ddpm) vs the Markov condition (derive.ddim)
    _, var = ddpm.posterior_general(a_s, s_s, a_t, s_t, x, x0)
    assert sp.simplify(ddim.markov_noise(a_s, s_s, a_t, s_t)**2 - var) == 0
    # 001 eq. (16) with eta = 1, in the DDIM paper's alpha (= alphabar): sqrt((1-a_{t-1})/(1-a_t)) sqrt(1-a_t/a_{t-1})
    ab_t, ab_s = sp.Rational(3, 10), sp.Rational(4, 5)
    doc = sp.sqrt((1 - ab_s) / (1 - ab_t)) * sp.sqrt(1 - ab_t / ab_s)
    ours = ddim.sigma_eta(1, sp.sqrt(ab_s), sp.sqrt(1 - ab_s), sp.sqrt(ab_t), sp.sqrt(1 - ab_t))
    assert sp.simplify(ours - doc) == 0
    assert ddim.sigma_eta(0, a_s, s_s, a_t, s_t) == 0


def test_eta1_family_conditional_is_the_ddpm_posterior():
    noise = ddim.markov_noise(a_s, s_s, a_t, s_t)
    k, l = ddim.family_coefficients(a_s, s_s, a_t, s_t, noise)
    mean, _ = ddpm.posterior_general(a_s, s_s, a_t, s_t, x, x0)
    point = {a_s: sp.Rational(9, 10), s_s: sp.Rational(1, 3), a_t: sp.Rational(1, 2), s_t: sp.Rational(4, 5),
             x: sp.Rational(2, 7), x0: sp.Rational(-5, 4)}
    assert abs(sp.N((k * x0 + l * x - mean).subs(point), 50)) < sp.Float("1e-45")


def test_eta0_is_an_euler_step_of_the_reparameterised_pf_ode():
    assert ddim.pf_ode_reparam_velocity() == sp.Symbol("epsilon", real=True)
    euler = ddim.euler_reparam_step(x, e, a_s, s_s, a_t, s_t)
    assert sp.simplify(euler - ddim.ddim_step(x, e, a_s, s_s, a_t, s_t)) == 0


def test_family_kl_weight():
    # KL of two equal-variance Gaussians, checked at a point against the closed form (m1-m2)^2/(2 var)
    w = ddim.family_kl_eps_weight(a_s, s_s, a_t, s_t, sn)
    k, _ = ddim.family_coefficients(a_s, s_s, a_t, s_t, sn)
    assert sp.simplify(w - k**2 * s_t**2 / (2 * sn**2 * a_t**2)) == 0


def test_kernel_specs_are_closed():
    specs = ddim.kernel_specs()
    assert {k.name for k in specs} == {"ddim_step", "ddim_sigma_eta"}
    for k in specs:
        assert k.expr.free_symbols <= set(k.args) and k.module == "ddim"


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="len"):
        ddim.family_chain_marginals([a_s], [s_s], [])
