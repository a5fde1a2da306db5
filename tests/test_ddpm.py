"""derive.ddpm: forward marginals, posterior (Bayes vs moment matching vs 001 eq. (7)), ELBO terms, ε-loss weight."""
import pytest
import sympy as sp
from hypothesis import given, strategies as st

from derive import ddpm, gaussian

beta = st.floats(1e-4, 0.5, allow_nan=False)
abar = st.floats(0.01, 0.99, allow_nan=False)
real = st.floats(-3, 3, allow_nan=False)
Q = lambda q: sp.Rational(repr(q))   # noqa: E731 - exact rationals from drawn floats


def test_forward_marginal_is_the_product_schedule():
    bs = sp.symbols("b1:4", positive=True)
    mean, var = ddpm.forward_marginal(bs)
    ab = (1 - bs[0]) * (1 - bs[1]) * (1 - bs[2])
    assert sp.simplify(mean**2 - ab * ddpm.x0**2) == 0 and sp.simplify(var - (1 - ab)) == 0
    assert sp.simplify(ddpm.alphabar(bs) - ab) == 0


@given(beta, abar, real, real)
def test_posterior_by_bayes_equals_moment_matching(b, ab_prev, xt, x0):
    b, ab_prev, xt, x0 = map(Q, (b, ab_prev, xt, x0))
    bayes = ddpm.posterior(xt, x0, b, ab_prev)
    # joint of (x_{t-1}, x_t) given x_0: x_t = sqrt(1-b) x_{t-1} + sqrt(b) z
    mean_prev, var_prev = sp.sqrt(ab_prev) * x0, 1 - ab_prev
    schur = gaussian.condition_joint(mean_prev, sp.sqrt(1 - b) * mean_prev, var_prev, (1 - b) * var_prev + b,
                                     sp.sqrt(1 - b) * var_prev, xt)
    for lhs, rhs in zip(bayes, schur):
        assert abs(sp.N(lhs - rhs, 50)) < sp.Float("1e-45")


def test_posterior_coefficients_are_those_of_001_eq7():
    b, abp = ddpm.beta_t, ddpm.alphabar_prev
    ab = (1 - b) * abp
    c0, ct, var = ddpm.posterior_coefficients()
    assert sp.simplify(c0 - sp.sqrt(abp) * b / (1 - ab)) == 0
    assert sp.simplify(ct - sp.sqrt(1 - b) * (1 - abp) / (1 - ab)) == 0
    assert sp.simplify(var - (1 - abp) / (1 - ab) * b) == 0


def test_general_posterior_reduces_to_ddpm_on_vp():
    b, abp = sp.Rational(3, 100), sp.Rational(41, 50)
    ab = (1 - b) * abp
    xt, x0 = sp.Rational(7, 10), sp.Rational(-3, 2)
    gen = ddpm.posterior_general(sp.sqrt(abp), sp.sqrt(1 - abp), sp.sqrt(ab), sp.sqrt(1 - ab), xt, x0)
    for lhs, rhs in zip(gen, ddpm.posterior(xt, x0, b, abp)):
        assert sp.simplify(lhs - rhs) == 0


def test_eps_mean_and_ancestral_step_match_the_document():
    b, ab, xt, e = ddpm.beta_t, ddpm.alphabar_t, ddpm.x_t, ddpm.eps_theta
    document = (xt - b / sp.sqrt(1 - ab) * e) / sp.sqrt(1 - b)        # 001 eq. (10) / DDPM Algorithm 2
    assert sp.simplify(ddpm.eps_mean() - document) == 0
    assert sp.simplify(ddpm.ancestral_step() - document - ddpm.sigma_t * ddpm.z) == 0


def test_eps_loss_weight_and_kl_term():
    b, ab, s = ddpm.beta_t, ddpm.alphabar_t, ddpm.sigma_t
    w = ddpm.eps_loss_weight()
    assert sp.simplify(w - b**2 / (2 * s**2 * (1 - b) * (1 - ab))) == 0
    # with the model variance equal to beta_tilde the KL is exactly w (eps - eps_theta)^2 (no variance term)
    beta_tilde = ddpm.posterior_coefficients()[2].subs(ddpm.alphabar_prev, ab / (1 - b))
    point = {b: sp.Rational(1, 50), ab: sp.Rational(3, 10), ddpm.x_t: sp.Rational(1, 3),
             ddpm.eps: sp.Rational(-1, 2), ddpm.eps_theta: sp.Rational(2, 7)}
    kl = ddpm.kl_term(beta_tilde).subs(point)
    expected = (w * (ddpm.eps - ddpm.eps_theta)**2).subs(s**2, beta_tilde).subs(point)
    assert abs(sp.N(kl - expected, 50)) < sp.Float("1e-45")


@given(st.lists(beta, min_size=3, max_size=3), st.lists(real, min_size=4, max_size=4))
def test_elbo_rewriting_holds_pointwise(bs, xs_vals):
    forward, decomposed, xs, betas = ddpm.elbo_log_terms(3)
    point = dict(zip(betas, map(Q, bs)))
    point.update(zip(xs, map(Q, xs_vals)))
    assert abs(sp.N((forward - decomposed).subs(point), 50)) < sp.Float("1e-40")


def test_prior_kl_vanishes_as_alphabar_goes_to_zero():
    kl = ddpm.prior_kl(ddpm.alphabar_t, sp.Integer(2))
    assert sp.limit(kl, ddpm.alphabar_t, 0, "+") == 0
    assert sp.N(kl.subs(ddpm.alphabar_t, sp.Rational(1, 2))) > 0


def test_kernel_specs_are_closed():
    specs = ddpm.kernel_specs()
    assert {k.name for k in specs} == {"ancestral_step", "posterior_mean", "posterior_variance"}
    for k in specs:
        assert k.expr.free_symbols <= set(k.args) and k.module == "ddpm"


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="betas"):
        ddpm.forward_marginal([])
    with pytest.raises(ValueError, match="betas"):
        ddpm.alphabar([sp.Rational(3, 2)])
    with pytest.raises(ValueError, match="T must be"):
        ddpm.elbo_log_terms(0)
