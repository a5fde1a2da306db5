"""Denoising and explicit score matching: Vincent's identity and the s-independent objective gap, derived."""
import sympy as sp

from derive import ito, score_matching as sm
from derive.symbols import m, v, x


def test_posterior_mean_of_conditional_score_is_marginal_score():
    a, s2 = sp.symbols("a s2", positive=True)
    marginal = -(x - a * m) / (a**2 * v + s2)
    assert sp.simplify(sm.posterior_mean_of_conditional_score(x, a, s2) - marginal) == 0


def test_dsm_minus_esm_does_not_depend_on_the_model():
    a, s2 = sp.symbols("a s2", positive=True)
    gap = sm.objective_gap(a, s2)
    assert not gap.free_symbols & set(sp.symbols("k0 k1 e", real=True))
    assert sp.simplify(gap - a**2 * v / (s2 * (a**2 * v + s2))) == 0  # E Var[cond. score | x_t]


def test_ito_chain_rule_has_the_second_order_term():
    drift, diff = sp.symbols("A B", real=True)
    dt_coeff, dw_coeff = ito.chain_rule(x**2, drift, diff)
    assert sp.simplify(dt_coeff - (2 * x * drift + diff**2)) == 0
    assert sp.simplify(dw_coeff - 2 * x * diff) == 0


def test_linear_moment_odes():
    k, c, b2 = sp.symbols("k c b2", real=True)
    dm, dv = ito.linear_moment_odes(k, c, b2)
    mean, var = sp.symbols("M V")
    assert sp.simplify(dm - (k * mean + c)) == 0 and sp.simplify(dv - (2 * k * var + b2)) == 0
