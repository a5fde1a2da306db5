"""Tests of numerics/: kernels vs SymPy, exact mixture marginals, simulation against exact laws,
and the statistical tests' size (true claims pass at alpha = 1e-6) and power (errata are rejected)."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

import derive.schedules as S
from derive.symbols import t as T_SYM
from numerics.exact import (GaussianMixture, marginal_cdf, marginal_logpdf, marginal_mean_var,
                            marginal_score, sample_data, sample_marginal)
from numerics.kernels import lambdify_jax, schedule_functions
from numerics.simulate import euler_maruyama, forward_sde, pf_ode_flow, reverse_family
from numerics.stats import TestResult, ks_one_sample, ks_two_sample, moment_z_test

ALPHA = 1e-6
N = 20_000
NAMES = ["vp-linear", "vp-cosine", "ve", "sub-vp", "edm", "rectified-flow"]
VP = schedule_functions(S.get("vp-linear"))
MIX = GaussianMixture([0.3, 0.7], [-2.0, 1.5], [0.25, 0.5])


def cdf_at(t, fns=VP, mix=MIX):
    return lambda v: np.asarray(marginal_cdf(v, t, fns, mix))


# --- kernels ------------------------------------------------------------------------------------

@settings(max_examples=5, deadline=None)
@given(name=st.sampled_from(NAMES), frac=st.floats(0.01, 0.99))
def test_schedule_kernels_match_sympy_evalf(name, frac):
    sched = S.get(name)
    tv = sched.t_min + frac * (sched.t_max - sched.t_min)
    fns = schedule_functions(sched)
    exprs = (sched.alpha_expr, sched.sigma_expr, sched.drift_coeff(), sched.diffusion_sq())
    for fn, expr in zip(fns, exprs):
        want = float(expr.subs(T_SYM, sp.Float(tv, 30)).evalf(30))
        got = float(fn(tv))
        assert got == pytest.approx(want, rel=1e-11, abs=1e-13), (name, expr)
        assert fn(jnp.linspace(0.1, 0.2, 4)).shape == (4,)


def test_lambdify_jax_stable_cached_and_validated():
    x, y = sp.symbols("x y", real=True)
    f = lambdify_jax(sp.exp(x) - 1, [x])           # rewritten to expm1: full precision at tiny x
    assert float(f(1e-12)) == pytest.approx(1e-12 + 5e-25, rel=1e-15)
    assert lambdify_jax(sp.exp(x) - 1, [x]) is f
    assert float(lambdify_jax(sp.erf(x), [x])(jnp.array([0.5]))[0]) == pytest.approx(math.erf(0.5), rel=1e-14)
    assert f(jnp.float32(0.5)).dtype == jnp.float32
    for bad in (1.0, "x", None):
        with pytest.raises(TypeError, match="SymPy expression"):
            lambdify_jax(bad, [x])
    with pytest.raises(TypeError, match="Symbols"):
        lambdify_jax(x, ["x"])
    with pytest.raises(ValueError, match="free symbols"):
        lambdify_jax(x + y, [x])
    with pytest.raises(ValueError, match="undefined"):
        schedule_functions(S.get("generic"))


# --- exact mixture marginals --------------------------------------------------------------------

mixtures = st.integers(1, 3).flatmap(lambda k: st.tuples(
    st.lists(st.floats(0.1, 1.0), min_size=k, max_size=k),
    st.lists(st.floats(-3.0, 3.0), min_size=k, max_size=k),
    st.lists(st.floats(0.05, 2.0), min_size=k, max_size=k)))


@settings(max_examples=5, deadline=None)
@given(spec=mixtures, name=st.sampled_from(NAMES), frac=st.floats(0.0, 0.95), dim=st.sampled_from([None, 3]))
def test_score_is_gradient_of_logpdf(spec, name, frac, dim):
    w, m, v = (np.array(a) for a in spec)
    means = m if dim is None else m[:, None] * np.linspace(1.0, -0.5, dim)
    mix = GaussianMixture(w / w.sum(), means, v)
    sched = S.get(name)
    tv = sched.t_min + 1e-3 + frac * (sched.t_max - sched.t_min)
    fns = schedule_functions(sched)
    x = sample_marginal(jax.random.key(1), 16, tv, fns, mix) * 3.0      # include the tails
    far = jnp.full((1, *x.shape[1:]), 1e3)                                 # no 0/0 far out
    x = jnp.concatenate([x, far])

    @jax.jit
    def both(y):
        return marginal_score(y, tv, fns, mix), jax.vmap(jax.grad(lambda z: marginal_logpdf(z, tv, fns, mix)))(y)

    score, grad = both(x)
    assert np.all(np.isfinite(score))
    np.testing.assert_allclose(score, grad, rtol=1e-9, atol=1e-9)


def test_mixture_validation_names_argument():
    for kwargs, word in [(dict(weights=[0.5, 0.6]), "weights"), (dict(weights=[-0.5, 1.5]), "weights"),
                         (dict(variances=[1.0, 0.0]), "variances"), (dict(means=[0.0, np.nan]), "means"),
                         (dict(means=[0.0]), "same number")]:
        args = dict(weights=[0.5, 0.5], means=[0.0, 1.0], variances=[1.0, 1.0]) | kwargs
        with pytest.raises(ValueError, match=word):
            GaussianMixture(**args)


def test_exact_sampler_matches_cdf_and_moments():
    x = np.asarray(sample_marginal(jax.random.key(2), N, 0.3, VP, MIX))
    assert ks_one_sample(x, cdf_at(0.3), ALPHA).passed
    assert moment_z_test(x, *marginal_mean_var(0.3, VP, MIX), ALPHA).passed
    mix3 = GaussianMixture([0.4, 0.6], [[1.0, 0.0, -1.0], [0.0, 2.0, 0.5]], [0.3, 1.2])
    x3 = sample_marginal(jax.random.key(3), N, 0.3, VP, mix3)
    assert x3.shape == (N, 3)
    assert moment_z_test(x3, *marginal_mean_var(0.3, VP, mix3), ALPHA).passed


# --- simulation against exact laws ---------------------------------------------------------------

def test_forward_em_reproduces_exact_marginal():
    gauss = GaussianMixture([1.0], [0.5], [2.0])
    x0 = sample_data(jax.random.key(4), N, gauss)
    path = forward_sde(jax.random.key(5), x0, VP, 0.0, 1.0, 200, return_path=True)
    assert path.shape == (201, N)
    for step in (60, 200):                                  # t = 0.3 and t = 1
        res = ks_one_sample(np.asarray(path[step]), cdf_at(step / 200, VP, gauss), ALPHA)
        assert res.passed, res


def test_pf_ode_flow_is_the_exact_gaussian_map():
    """For N(m, v) data the PF-ODE map is affine: x_t1 = a1 m + sqrt(s1/s0) (x - a0 m), s = a^2 v + sigma^2."""
    m, v, t0, t1 = 0.7, 0.3, 0.9, 0.05
    gauss = GaussianMixture([1.0], [m], [v])
    x = jnp.linspace(-3.0, 3.0, 7)
    a0, a1, s0, s1 = (float(VP.alpha(t0)), float(VP.alpha(t1)),
                      float(VP.alpha(t0) ** 2 * v + VP.sigma(t0) ** 2), float(VP.alpha(t1) ** 2 * v + VP.sigma(t1) ** 2))
    exact = a1 * m + math.sqrt(s1 / s0) * (x - a0 * m)
    np.testing.assert_allclose(pf_ode_flow(x, VP, gauss, t0, t1, 200), exact, rtol=0, atol=1e-8)


MEMBERS = {"pf-ode": 0.0, "reverse-sde": VP.g2, "half-g": lambda t: 0.25 * VP.g2(t)}


@pytest.mark.parametrize("member", sorted(MEMBERS))
def test_reverse_family_lands_on_data(member):
    x = np.asarray(reverse_family(jax.random.key(6), N, VP, MIX, MEMBERS[member], 1.0, 1e-3, 200))
    one = ks_one_sample(x, cdf_at(1e-3), ALPHA)
    two = ks_two_sample(x, np.asarray(sample_data(jax.random.key(7), N, MIX)), ALPHA)
    assert one.passed and two.passed, (member, one, two)


def test_power_wrong_reverse_drifts_are_rejected():
    flipped = reverse_family(jax.random.key(8), N, VP, MIX, VP.g2, 1.0, 1e-3, 200,
                             score=lambda x, t: -marginal_score(x, t, VP, MIX))
    res = ks_one_sample(np.asarray(flipped), cdf_at(1e-3), ALPHA)
    assert not res.passed and res.p_value < 1e-12, res
    # reverse-SDE drift without its noise: the classic dropped-1/2 error in the PF-ODE
    x_T = sample_marginal(jax.random.key(9), N, 1.0, VP, MIX)
    no_noise = pf_ode_flow(x_T, VP, MIX, 1.0, 1e-3, 100, score=lambda x, t: 2.0 * marginal_score(x, t, VP, MIX))
    assert not ks_one_sample(np.asarray(no_noise), cdf_at(1e-3), ALPHA).passed


def test_simulation_arguments_are_validated():
    x = jnp.zeros(4)
    key = jax.random.key(0)
    drift, diff = (lambda y, t: -y), (lambda t: 1.0)
    for n_steps in (0, -3, 1.5, True):
        with pytest.raises(ValueError, match="n_steps"):
            euler_maruyama(key, x, drift, diff, 0.0, 1.0, n_steps)
    for t0 in (math.nan, math.inf, -1.0, "a"):
        with pytest.raises(ValueError, match="t0"):
            euler_maruyama(key, x, drift, diff, t0, 1.0, 10)
    with pytest.raises(ValueError, match="t1"):
        pf_ode_flow(x, VP, MIX, 1.0, 0.0, 10)
    with pytest.raises(ValueError, match="t_end"):
        reverse_family(key, 10, VP, MIX, 0.0, 0.5, 0.8, 10)
    with pytest.raises(ValueError, match="varsigma_sq"):
        reverse_family(key, 10, VP, MIX, -1.0, 1.0, 0.1, 10)
    back = euler_maruyama(key, jnp.ones(3), lambda y, t: jnp.zeros_like(y), lambda t: 0.0, 1.0, 0.5, 5,
                          return_path=True)
    assert back.shape == (6, 3)


# --- statistics ------------------------------------------------------------------------------

def test_stats_size_power_and_edge_cases():
    from scipy.stats import norm
    z = np.asarray(jax.random.normal(jax.random.key(10), (N,)))
    ok = ks_one_sample(z, norm.cdf)
    assert isinstance(ok, TestResult) and ok.passed and ok.alpha == 1e-6 and ok.n == N
    assert not ks_one_sample(z + 0.1, norm.cdf).passed
    assert ks_two_sample(z[: N // 2], z[N // 2:]).passed
    assert not ks_two_sample(z[: N // 2], 1.2 * z[N // 2:]).passed
    assert moment_z_test(z, 0.0, 1.0).passed
    assert not moment_z_test(z, 0.0, 1.1).passed
    nan = ks_one_sample(np.append(z, np.nan), norm.cdf)
    assert not nan.passed and nan.p_value == 0.0
    with pytest.raises(ValueError, match="alpha"):
        ks_one_sample(z, norm.cdf, alpha=0.0)


def test_tabulated_score_sde_is_the_euler_maruyama_of_its_drift():
    """The coefficient-table scan (one compilation for all reverse-family members) takes the same steps as
    Euler–Maruyama on the drift a x + b score + c written out, with the same key."""
    from derive import schedules as S
    from numerics import exact, simulate
    from numerics.kernels import schedule_functions
    fns = schedule_functions(S.vp_linear())
    mix = exact.GaussianMixture(np.array([0.3, 0.7]), np.array([-1.0, 1.5]), np.array([0.2, 0.4]))
    n_steps, t0, t1 = 50, 0.8, 0.2
    times = t0 + (t1 - t0) / n_steps * np.arange(n_steps)
    f, g2 = np.asarray(fns.f(times)), np.asarray(fns.g2(times))
    table = np.stack([f, -g2, 0.1 * np.ones(n_steps), np.sqrt(g2)])          # reverse SDE plus a constant drift
    x0 = exact.sample_marginal(jax.random.PRNGKey(0), 1000, t0, fns, mix)
    ours = simulate.tabulated_score_sde(jax.random.PRNGKey(1), x0, fns, mix, table, t0, t1, n_steps)
    drift = lambda x, t: fns.f(t) * x - fns.g2(t) * exact.marginal_score(x, t, fns, mix) + 0.1   # noqa: E731
    ref = simulate.euler_maruyama(jax.random.PRNGKey(1), x0, drift, lambda t: jnp.sqrt(fns.g2(t)), t0, t1, n_steps)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(ref), rtol=1e-10, atol=1e-10)
