"""Guidance (003 ch. 8): derived identities, a Gaussian route for each, and guided Monte Carlo."""
import jax
import numpy as np
import pytest
import sympy as sp

from derive import guidance as G, schedules as S
from derive.data import normal_pdf
from derive.symbols import m, v, x
from numerics import flow_exact as fe
from numerics.kernels import schedule_functions


def test_tilted_density_score_is_prior_plus_w_likelihood_score():
    """(8.2.3) at t = 0: grad log of the completed-square tilted Gaussian = grad log p + w grad log p(y|x)."""
    mean, var = G.tilted_density()
    lhs = -(x - mean) / var
    rhs = sp.diff(sp.log(normal_pdf(x, m, v)), x) + G.w_g * sp.diff(sp.log(normal_pdf(G.y_obs, x, G.r_lik)), x)
    assert sp.simplify(lhs - rhs) == 0


def test_w1_tilt_is_the_bayes_posterior_and_guided_score_is_its_noised_score():
    mean, var = G.tilted_density(1)
    assert sp.simplify(var - 1 / (1 / v + 1 / G.r_lik)) == 0
    # guided score at w = 1 equals the score of the noised posterior N(a mean, a^2 var + s^2) (Bayes at every t)
    noised = -(x - G.a_ * mean) / (G.a_**2 * var + G.s_**2)
    assert sp.simplify(G.guided_score(1) - noised) == 0


def test_noisy_likelihood_by_integration():
    """p_t(y|x_t) = int N(y; x_0, r) p(x_0|x_t) dx_0 (§8.4) against direct numeric integration."""
    vals = {G.a_: 0.6, G.s_: 0.8, m: 0.3, v: 1.7, G.r_lik: 0.4, x: 0.9, G.y_obs: -0.2}
    mean, var = G.noisy_likelihood()
    from derive.score_matching import gaussian_posterior
    pm, pv = gaussian_posterior(x, G.a_, G.s_**2)
    z = sp.Symbol("z0", real=True)
    integrand = (normal_pdf(G.y_obs, z, G.r_lik) * normal_pdf(z, pm, pv)).subs(vals)
    numeric = sp.Integral(integrand, (z, -sp.oo, sp.oo)).evalf(30)
    closed = normal_pdf(G.y_obs, mean, var).subs(vals).evalf(30)
    assert abs(numeric - closed) < 1e-12 * closed


def test_cfg_equivalent_in_every_space():
    assert all(val == 0 for val in G.cfg_equivalences().values())
    # power: a combination whose weights do not sum to one is not equivalent across spaces
    bad = 2 * G.e_cond - G.e_unc / 2
    assert sp.simplify(bad.subs({G.e_cond: -G.s_ * G.s_cond, G.e_unc: -G.s_ * G.s_unc})
                       + G.s_ * (2 * G.s_cond - G.s_unc / 2)) == 0  # eps/score is linear (no intercept) ...
    x0_bad = 2 * G._x0_of_eps(G.e_cond) - G._x0_of_eps(G.e_unc) / 2
    assert sp.simplify(x0_bad - G._x0_of_eps(bad)) != 0                 # ... but x0 space has an intercept


def test_dps_overweights_the_likelihood_by_the_posterior_variance():
    dps, exact = G.dps_gradient()
    a_op = sp.Symbol("a_op", positive=True)
    from derive.score_matching import gaussian_posterior
    _, pv = gaussian_posterior(x, G.a_, G.s_**2)
    assert sp.simplify(dps / exact - (a_op**2 * pv + G.r_lik) / G.r_lik) == 0
    assert sp.simplify(sp.limit(dps / exact, G.s_, 0)) == 1                 # exact as the noise vanishes


def test_ilvr_projection_matches_measurement():
    a_mat = sp.Matrix([[1, 1, 0], [0, 1, 2]])
    xs, ys = sp.Matrix([1, -2, 3]), sp.Matrix([4, 5])
    new = xs + G.ilvr_correction(a_mat, xs, ys)          # x + A^+ (y_t - A x)
    assert sp.simplify(a_mat * new - ys) == sp.zeros(2, 1)
    proj = a_mat.pinv() * a_mat                          # (I - A^+ A) part of x is untouched
    assert sp.simplify((sp.eye(3) - proj) * (new - xs)) == sp.zeros(3, 1)
    with pytest.raises(ValueError, match="shapes"):
        G.ilvr_correction(a_mat, sp.Matrix([1, 2]), ys)


def test_likelihood_gradient_sign():
    """grad log N(y; A x, 1) = +A^T (y - A x): the surrogate printed in 003 §8.4, -A^T (y_t - A x_t), points the
    other way (negative inner product with the true gradient) unless y = A x."""
    a_mat = sp.Matrix([[1, 1, 0], [0, 1, 2]])
    xs, ys = sp.Matrix([1, -2, 3]), sp.Matrix([4, 5])
    grad = G.linear_likelihood_gradient(a_mat, xs, ys)
    assert grad == a_mat.T * (ys - a_mat * xs)
    printed = -a_mat.T * (ys - a_mat * xs)
    assert (printed.T * grad)[0] < 0


def test_guided_sampling_w1_matches_posterior_and_w3_does_not_match_tilt():
    """Monte Carlo (KS at false-alarm 1e-6): the w = 1 guided PF-ODE samples the (noised) posterior exactly;
    with w = 3 the samples are NOT the tilted density p(x) p(y|x)^3 (the test rejects: guidance with w != 1 does
    not transport the noised tilted law) but follow the exact law of the linear guided ODE (``guided_moments``)."""
    import scipy.stats
    from numerics import stats
    fns = schedule_functions(S.vp_linear())
    key = jax.random.PRNGKey(7)
    args = (0.5, 2.0, 1.5, 0.3)
    ok = fe.guided_test(key, 20_000, fns, *args, 1.0)
    assert ok.passed, ok
    bad = fe.guided_test(key, 20_000, fns, *args, 3.0)
    assert not bad.passed and bad.statistic > 0.05, bad
    # second route for w = 1: the moment ODE lands on the tilted (posterior) law pushed to t1
    mu1, var1 = fe.guided_moments(fns, *args, 1.0)
    mt, vt = fe.tilted_moments(*args, 1.0)
    a, s = float(fns.alpha(1e-3)), float(fns.sigma(1e-3))
    assert abs(float(mu1) - a * float(mt)) < 1e-9 and abs(float(var1) - (a**2 * float(vt) + s**2)) < 1e-9
    # w = 3: the samples follow the exact law of the guided ODE, whose variance is far below the tilt's
    mu3, var3 = (float(q) for q in fe.guided_moments(fns, *args, 3.0))
    xs = np.asarray(fe.guided_sample(key, 20_000, fns, *args, 3.0))
    res = stats.ks_one_sample(xs, scipy.stats.norm(mu3, np.sqrt(var3)).cdf)
    assert res.passed, res
    _, vt3 = fe.tilted_moments(*args, 3.0)
    assert var3 < 0.1 * (a**2 * float(vt3) + s**2)


def test_kernel_specs():
    for spec in G.kernel_specs():
        assert spec.module == "guidance" and spec.expr.free_symbols <= set(spec.args)
