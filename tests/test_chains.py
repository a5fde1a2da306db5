"""numerics.chains: exact moment chains against exact marginals, Monte Carlo at a 1e-6 false-alarm rate.

The DDIM figures (eta = 0 and eta = 1 landing on the data law as the step count grows) are printed with -s.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from derive import langevin as lg, schedules
from numerics import chains, stats
from numerics.exact import GaussianMixture, marginal_cdf, sample_data, sample_marginal
from numerics.kernels import schedule_functions

ALPHA = 1e-6
T_MIN = 1e-3
MIX = GaussianMixture([0.3, 0.7], [-1.0, 1.5], [0.2, 0.4])


@pytest.fixture(scope="module")
def vp():
    return schedule_functions(schedules.vp_linear())


def _grid(n):
    return np.linspace(1.0, T_MIN, n + 1)


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_ddim_exact_chain_lands_on_the_data_law_as_steps_grow(vp, eta):
    rows = chains.ddim_convergence_table(vp, 0.5, 0.3, (eta,), (10, 20, 40, 80, 160), 1.0, T_MIN)
    assert all(r["max_mean_error"] < 1e-12 for r in rows)                     # the mean is carried exactly
    errors = [r["max_var_error"] for r in rows]
    assert all(r["final_var_error"] <= r["max_var_error"] for r in rows)
    print(f"\nDDIM eta={eta}: max |Var_chain - Var_exact| over the steps, N=10..160: {errors}")
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all(ratios > 1.4), ratios                                       # first order in 1/N
    assert errors[-1] < 0.03


def test_diagonal_data_runs_coordinate_wise(vp):
    diag = chains.ddim_exact_chain(vp, _grid(20), 0.5, [0.5, -1.0], [0.3, 2.0])
    for j, (m, v) in enumerate([(0.5, 0.3), (-1.0, 2.0)]):
        single = chains.ddim_exact_chain(vp, _grid(20), 0.5, m, v)
        np.testing.assert_allclose(diag["variances"][:, j], single["variances"], rtol=1e-13)
        np.testing.assert_allclose(diag["exact_means"][:, j], single["exact_means"], rtol=1e-13)


def test_ddim_chain_eta1_first_step_is_exact_in_the_ddpm_limit(vp):
    # one step of the Markovian (eta=1) sampler with the exact eps keeps the mean exact; its variance error is
    # the gap between the true reverse kernel and the DDPM posterior -- it vanishes as the step shrinks
    gaps = [abs(chains.ddim_exact_chain(vp, [0.5, 0.5 - h], 1.0, 0.5, 0.3)["variances"][-1]
                - chains.ddim_exact_chain(vp, [0.5, 0.5 - h], 1.0, 0.5, 0.3)["exact_variances"][-1])
            for h in (0.1, 0.05, 0.025)]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.01


def test_generated_ddim_kernel_agrees_with_the_derivation(vp):
    gen = pytest.importorskip("numerics.generated.ddim")
    derived = chains.ddim_coefficients(vp, _grid(8), 0.7)
    emitted = chains.ddim_coefficients(vp, _grid(8), 0.7, gen.ddim_step)
    for key in ("a", "b", "c", "offset"):
        np.testing.assert_allclose(emitted[key], derived[key], rtol=1e-12, atol=1e-14)


def test_ddpm_exact_chain_converges_with_refinement(vp):
    errs = []
    for n in (100, 1000):
        ab = np.asarray(vp.alpha(jnp.linspace(0, 1, n + 1))) ** 2
        betas = 1 - ab[1:] / ab[:-1]
        r = chains.ddpm_exact_chain(betas, 0.5, 0.3)
        assert np.max(np.abs(r["means"] - r["exact_means"])) < 1e-12
        errs.append(float(np.max(np.abs(r["variances"] - r["exact_variances"]))))
    print(f"\nDDPM ancestral, beta_tilde: max variance error T=100, 1000: {errs}")
    assert errs[1] < errs[0] / 5 and errs[1] < 0.01


def test_monte_carlo_agrees_with_the_exact_chain_not_the_marginal(vp):
    # Gaussian data, a coarse 10-step eta=1 sampler: the sample law is the chain's (biased) law, which the
    # tests detect -- the same samples reject the exact marginal (power on a real discretisation error)
    m, v, n = 0.5, 0.3, 10000
    data = GaussianMixture([1.0], [m], [v])
    r = chains.ddim_exact_chain(vp, _grid(10), 1.0, m, v)
    x = sample_marginal(jax.random.PRNGKey(3), n, 1.0, vp, data)
    y = np.asarray(chains.ddim_monte_carlo(jax.random.PRNGKey(4), x, vp, data, _grid(10), 1.0))
    assert stats.moment_z_test(y, r["means"][-1], r["variances"][-1], ALPHA).passed
    assert not stats.moment_z_test(y, r["exact_means"][-1], r["exact_variances"][-1], ALPHA).passed


@pytest.mark.parametrize("eta,n_steps", [(0.0, 100), (1.0, 100)])
def test_ddim_monte_carlo_on_a_mixture_lands_on_the_data_law(vp, eta, n_steps):
    n = 10000
    x = sample_marginal(jax.random.PRNGKey(0), n, 1.0, vp, MIX)
    fine = np.asarray(chains.ddim_monte_carlo(jax.random.PRNGKey(1), x, vp, MIX, _grid(n_steps), eta))
    coarse = np.asarray(chains.ddim_monte_carlo(jax.random.PRNGKey(1), x, vp, MIX, _grid(4), eta))
    cdf = lambda u: marginal_cdf(u, T_MIN, vp, MIX)                  # noqa: E731
    ks_fine, ks_coarse = stats.ks_one_sample(fine, cdf, ALPHA), stats.ks_one_sample(coarse, cdf, ALPHA)
    print(f"\nDDIM eta={eta} mixture, n={n}: KS N=4: {ks_coarse.statistic:.4f}, N={n_steps}: {ks_fine.statistic:.4f}")
    assert ks_fine.passed and not ks_coarse.passed


def test_erroneous_ddim_noise_is_detected(vp):
    # the eta=1 noise added without shrinking the direction term sqrt(sigma_s^2 - sigma_eta^2): variance inflates
    base = chains.ddim_step_kernel()

    def wrong(x, e, a_s, s_s, a_t, s_t, eta, z):
        sig = chains.ddim_step_kernel()(0.0, 0.0, a_s, s_s, a_t, s_t, eta, 1.0)     # sigma_eta from the kernel
        return base(x, e, a_s, s_s, a_t, s_t, 0.0, z) + sig * z

    x = sample_marginal(jax.random.PRNGKey(5), 10000, 1.0, vp, MIX)
    y = np.asarray(chains.ddim_monte_carlo(jax.random.PRNGKey(6), x, vp, MIX, _grid(100), 1.0, wrong))
    assert not stats.ks_one_sample(y, lambda u: marginal_cdf(u, T_MIN, vp, MIX), ALPHA).passed


def test_ancestral_monte_carlo_on_a_mixture(vp):
    ab = np.asarray(vp.alpha(jnp.linspace(0, 1, 201))) ** 2
    betas = 1 - ab[1:] / ab[:-1]
    x = sample_marginal(jax.random.PRNGKey(7), 10000, 1.0, vp, MIX)
    y = np.asarray(chains.ancestral_monte_carlo(jax.random.PRNGKey(8), x, MIX, betas))
    assert stats.ks_one_sample(y, lambda u: marginal_cdf(u, 0.0, vp, MIX), ALPHA).passed


def test_langevin_exact_chain_reaches_the_derived_fixed_point():
    m, v, eta = 0.5, 0.3, 0.1
    means, variances = chains.langevin_exact_chain(3.0, 2.0, m, v, eta, 150)
    m_star, v_star = (float(u.subs({lg.m: m, lg.v: v, lg.eta: eta})) for u in lg.gaussian_fixed_point())
    assert abs(means[-1] - m_star) < 1e-12 and abs(variances[-1] - v_star) < 1e-12
    # Monte Carlo of the same chain agrees with its moments and sees the O(eta) bias against the target v
    data = GaussianMixture([1.0], [m], [v])
    x0 = 3.0 + np.sqrt(2.0) * jax.random.normal(jax.random.PRNGKey(9), (10000,), dtype=jnp.float64)
    y = np.asarray(chains.langevin_monte_carlo(jax.random.PRNGKey(10), x0, data, eta, 150))
    assert stats.moment_z_test(y, means[-1], variances[-1], ALPHA).passed
    assert not stats.moment_z_test(y, m, v, ALPHA).passed


def test_langevin_keeps_a_mixture_stationary_and_detects_wrong_noise():
    x = sample_data(jax.random.PRNGKey(11), 10000, MIX)
    cdf = lambda u: marginal_cdf(u, 0.0, chains._additive_fns(), MIX)       # noqa: E731
    y = np.asarray(chains.langevin_monte_carlo(jax.random.PRNGKey(12), x, MIX, 0.002, 100))
    assert stats.ks_one_sample(y, cdf, ALPHA).passed
    half_noise = lambda x_, sc, e, z: x_ + e * sc + jnp.sqrt(e) * z          # noqa: E731 - sqrt(eta), not sqrt(2 eta)
    w = np.asarray(chains.langevin_monte_carlo(jax.random.PRNGKey(12), x, MIX, 0.02, 100, half_noise))
    assert not stats.ks_one_sample(w, cdf, ALPHA).passed


def test_annealed_langevin_reaches_the_smallest_noise_level():
    levels = np.geomspace(1.0, 0.05, 6)
    sizes = 0.003 * levels**2 / levels[-1]**2             # eta_l = delta sigma_l^2 / sigma_1^2 (003 Alg. 1)
    fns = chains._additive_fns()
    x = sample_marginal(jax.random.PRNGKey(13), 10000, levels[0], fns, MIX)
    y = np.asarray(chains.annealed_langevin_monte_carlo(jax.random.PRNGKey(14), x, MIX, levels, sizes, 100))
    assert stats.ks_one_sample(y, lambda u: marginal_cdf(u, levels[-1], fns, MIX), ALPHA).passed


def test_bad_input_is_rejected(vp):
    with pytest.raises(ValueError, match="times"):
        chains.ddim_exact_chain(vp, [0.1, 0.5], 0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="eta"):
        chains.ddim_exact_chain(vp, [0.5, 0.1], 1.5, 0.0, 1.0)
    with pytest.raises(ValueError, match="v must be"):
        chains.ddim_exact_chain(vp, [0.5, 0.1], 0.0, 0.0, -1.0)
    with pytest.raises(ValueError, match="betas"):
        chains.ddpm_exact_chain([0.1, 1.2], 0.0, 1.0)
    with pytest.raises(ValueError, match="variance must be"):
        chains.ddpm_exact_chain([0.1], 0.0, 1.0, "beta_tilde")
    with pytest.raises(ValueError, match="n_inner"):
        chains.annealed_langevin_monte_carlo(jax.random.PRNGKey(0), np.zeros(3), MIX, [1.0], [0.1], 0)
    with pytest.raises(ValueError, match="step axis"):
        chains.exact_chain(0.0, 1.0, [1.0, 1.0], [0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="backend"):
        chains._compile("ddim", "ddim_step", "torch")
