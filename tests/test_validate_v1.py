"""Argument rules of derive.gaussian, ddpm, ddim, parameterization, langevin (derive._validate): the ends of each
documented range are accepted, values beyond them and text are refused with a message naming the argument and
its range, and symbols pass unless their assumptions contradict the range."""
import pytest
import sympy as sp

from derive import ddim, ddpm, gaussian as g, langevin as lg, parameterization as par

x, e, z, m = sp.symbols("x e z m", real=True)
a_s, s_s, a_t, s_t = sp.symbols("alpha_s sigma_s alpha_t sigma_t", positive=True)
plain = sp.Symbol("p")                      # no assumptions: passes every range rule
neg = sp.Symbol("n", negative=True)         # contradicts > 0 and >= 0


def test_range_ends_are_accepted():
    # sigma_s = 0: the last DDIM step lands on x0_hat = (x - sigma_t eps)/alpha_t (001 eq. (12) at s = 0)
    assert sp.simplify(ddim.ddim_step(x, e, 1, 0, a_t, s_t) - (x - s_t * e) / a_t) == 0
    assert ddim.sigma_eta(0, a_s, s_s, a_t, s_t) == 0
    assert sp.simplify(ddim.sigma_eta(1, a_s, s_s, a_t, s_t) - ddim.markov_noise(a_s, s_s, a_t, s_t)) == 0
    assert g.linear_push(m, 0, 2, 1, 0) == (2 * m + 1, 0)             # a point mass pushed without noise
    assert g.condition_joint(m, 0, 0, 1, 0, x) == (m, 0)              # var_u = 0: u deterministic
    assert ddpm.x0_from_eps(x, e, 1) == x                             # alphabar = 1: no noise
    assert lg.ou_stationary_variance() == sp.Symbol("g", positive=True)**2 / (2 * sp.Symbol("theta", positive=True))


def test_symbols_without_contradicting_assumptions_pass():
    assert g.log_normal(x, m, plain) == -(x - m)**2 / (2 * plain) - sp.log(2 * sp.pi * plain) / 2
    assert par.convert("eps", "x0", e, x, plain, plain) == (x - plain * e) / plain
    mean, var = ddpm.posterior(x, m, 1 - plain, plain)
    assert sp.simplify(var - (1 - plain)**2 / (1 - plain**2)) == 0      # beta_tilde, beta = 1 - abar_prev


@pytest.mark.parametrize("call, exc, message", [
    (lambda: g.log_normal(x, m, neg), ValueError, r"var must be > 0"),
    (lambda: g.log_normal(x, m, 0), ValueError, r"var must be > 0"),
    (lambda: g.kl_normal(0, 1, 0, sp.nan), ValueError, r"var_p must be finite"),
    (lambda: g.linear_push(m, 1, 1, 0, -sp.Rational(1, 2)), ValueError, r"noise_var must be >= 0"),
    (lambda: g.complete_square(-x**2, sp.Matrix([[x, z]])), TypeError, r"var must be a SymPy Symbol or a column"),
    (lambda: g.product(x, [0, "1"], [1, 1]), TypeError, r"means\[1\] must be a SymPy expression"),
    (lambda: g.kl_normal_diag([0], [0], [0], [1]), ValueError, r"vars_q\[0\] must be > 0"),
    (lambda: ddim.ddim_step(x, e, a_s, s_s, a_t, 0), ValueError, r"sigma_t must be > 0"),
    (lambda: ddim.x0_from_eps(x, e, 0, s_t), ValueError, r"alpha_t must be > 0"),
    (lambda: ddim.sigma_eta(sp.Rational(-1, 10), a_s, s_s, a_t, s_t), ValueError, r"eta must be in \[0, 1\]"),
    (lambda: ddim.ddim_step(x, e, a_s, s_s, a_t, s_t, neg), ValueError, r"sigma_noise must be >= 0"),
    (lambda: ddim.family_chain_marginals([1, a_t], [0, -1], [0]), ValueError, r"sigmas\[1\] must be >= 0"),
    (lambda: ddim.family_kl_eps_weight(a_s, s_s, a_t, s_t, 0), ValueError, r"sigma_noise must be > 0"),
    (lambda: ddpm.alphabar((sp.Rational(1, 2), 1)), ValueError, r"betas\[1\] must be in \(0, 1\)"),
    (lambda: ddpm.alphabar("0.5"), TypeError, r"betas must be a list or tuple"),
    (lambda: ddpm.posterior(abar_prev=1), ValueError, r"abar_prev must be in \(0, 1\)"),
    (lambda: ddpm.ancestral_step(abar=1), ValueError, r"abar must be in \(0, 1\)"),
    (lambda: ddpm.ancestral_step(sig=-1), ValueError, r"sig must be >= 0"),
    (lambda: ddpm.elbo_log_terms(9), ValueError, r"T must be an integer in 1\.\.8"),
    (lambda: ddpm.elbo_log_terms(2.0), TypeError, r"T must be an integer"),
    (lambda: par.convert("eps", "x0", "u"), TypeError, r"value must be a SymPy expression"),
    (lambda: par.tweedie_x0(x, m, 1, -1), ValueError, r"sigma must be > 0"),
    (lambda: par.relations(u={"eps": e}), ValueError, r"u must have exactly the keys"),
    (lambda: par.relations(u=[e]), TypeError, r"u must be None or a dict"),
    (lambda: lg.langevin_step(x, m, 0, z), ValueError, r"step must be > 0"),
    (lambda: lg.moment_recursion(m, -1), ValueError, r"var_n must be >= 0"),
    (lambda: lg.ou_stationary_variance(0), ValueError, r"theta must be > 0"),
    (lambda: lg.annealed_step_size(1, 1, "0.1"), TypeError, r"dlt must be a SymPy expression"),
])
def test_bad_values_are_refused_with_the_range(call, exc, message):
    with pytest.raises(exc, match=message):
        call()
