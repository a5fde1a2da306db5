"""derive.langevin: the Langevin step as Euler–Maruyama of the Langevin SDE, and the Gaussian fixed point."""
import mpmath
import pytest
import sympy as sp

from derive import langevin as lg, schedules
from derive.data import normal_pdf


def test_step_is_euler_maruyama_of_the_langevin_sde():
    xx, sc, dt, z = sp.symbols("x sc Delta_t z", real=True)
    dtp = sp.Symbol("dt", positive=True)
    # dx = score dt + sqrt(2) dw, dw = sqrt(dt) z (003 eq. (3.1.6))
    em = xx + sc * dtp + sp.sqrt(2) * sp.sqrt(dtp) * z
    assert sp.simplify(lg.langevin_step(xx, sc, dtp, z) - em) == 0


def test_gaussian_score():
    assert sp.simplify(lg.gaussian_score() + (lg.x - lg.m) / lg.v) == 0


@mpmath.workdps(30)
def test_fixed_point_solves_the_recursion_and_tends_to_the_target():
    m_star, v_star = lg.gaussian_fixed_point()
    assert m_star == lg.m
    mean_next, var_next = lg.moment_recursion(m_star, v_star)
    assert sp.simplify(mean_next - m_star) == 0 and sp.simplify(var_next - v_star) == 0
    assert sp.limit(v_star, lg.eta, 0) == lg.v
    # iterating the recursion numerically from far away reaches the fixed point (an independent route)
    point = {lg.m: sp.Rational(1, 2), lg.v: sp.Rational(3, 10), lg.eta: sp.Rational(1, 20)}
    M, V = sp.symbols("M V", real=True)
    rec = sp.lambdify((M, V), [u.subs(point) for u in lg.moment_recursion(M, V)], "mpmath")
    mean, var = mpmath.mpf(4), mpmath.mpf(5)
    for _ in range(400):
        mean, var = rec(mean, var)
    assert abs(var - v_star.subs(point)) < 1e-20 and abs(mean - sp.Rational(1, 2)) < 1e-20


def test_ou_stationary_variance_matches_the_schedule_limit():
    theta, g = sp.Rational(3, 2), sp.Rational(7, 10)
    ou = schedules.ornstein_uhlenbeck(theta, g)
    assert sp.simplify(sp.limit(ou.sigma_expr**2, schedules.t, sp.oo) - lg.ou_stationary_variance(theta, g)) == 0
    # Langevin with the score of N(m, v) is OU with theta = 1/v and g = sqrt(2): stationary variance v
    assert sp.simplify(lg.ou_stationary_variance(1 / lg.v, sp.sqrt(2)) - lg.v) == 0


def test_stationarity_of_the_target_under_the_langevin_fokker_planck():
    # d/dt p = -d/dx (score p) + d^2/dx^2 p = 0 for p = N(m, v) (003 footnote to eq. (3.1.6))
    p = normal_pdf(lg.x, lg.m, lg.v)
    assert sp.simplify(-sp.diff(lg.gaussian_score() * p, lg.x) + sp.diff(p, lg.x, 2)) == 0


def test_annealed_step_sizes():
    assert lg.annealed_step_size(sp.Integer(2), sp.Rational(1, 10), sp.Rational(1, 1000)) == sp.Rational(2, 5)
    assert lg.kernel_specs()[0].expr.free_symbols <= set(lg.kernel_specs()[0].args)


def test_bad_input():
    with pytest.raises(TypeError, match="theta"):
        lg.ou_stationary_variance("theta", 1)
    with pytest.raises(ValueError, match="g must be > 0"):
        lg.ou_stationary_variance(1, -2)
    with pytest.raises(ValueError, match="sigma_1"):
        lg.annealed_step_size(1, 0)
