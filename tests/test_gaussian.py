"""derive.gaussian: completing the square checked against independent routes (Schur complement, quadrature)."""
import mpmath
import pytest
import sympy as sp
from hypothesis import given, strategies as st

from derive import gaussian as g

real = st.floats(-3, 3, allow_nan=False)
pos = st.floats(0.05, 4, allow_nan=False)
u, y = sp.symbols("u y", real=True)


def _n(expr, digits=50):
    return sp.N(expr, digits)


def test_product_of_densities_is_proportional_to_the_derived_gaussian():
    a, b = sp.symbols("a b", real=True)
    v1, v2 = sp.symbols("v1 v2", positive=True)
    mean, var = g.product(u, [a, b], [v1, v2])
    ratio = g.log_normal(u, a, v1) + g.log_normal(u, b, v2) - g.log_normal(u, mean, var)
    assert sp.simplify(sp.diff(ratio, u)) == 0          # the ratio does not depend on u


@given(real, pos, st.floats(-2, 2).filter(lambda c: abs(c) > 0.05), real, pos, real)
def test_bayes_rule_matches_moment_matching(m0, p0, gain, off, r, obs):
    m0, p0, gain, off, r, obs = (sp.Rational(repr(q)) for q in (m0, p0, gain, off, r, obs))
    bayes = g.bayes_linear(m0, p0, gain, off, r, obs)
    schur = g.condition_joint(m0, gain * m0 + off, p0, gain**2 * p0 + r, gain * p0, obs)
    for lhs, rhs in zip(bayes, schur):
        assert abs(_n(lhs - rhs)) < sp.Float("1e-45")


def test_vector_completion_gives_the_joint_law_of_a_linear_chain():
    a = sp.Symbol("a", real=True)
    v2 = sp.Symbol("v2", positive=True)
    x1, x2 = sp.symbols("x1 x2", real=True)
    mean, cov = g.complete_square(g.log_normal(x1, a, 1) + g.log_normal(x2, x1, v2), sp.Matrix([x1, x2]))
    m2, var2 = g.linear_push(a, 1, 1, 0, v2)           # x2 = x1 + sqrt(v2) z, independently
    assert sp.simplify(mean - sp.Matrix([a, m2])) == sp.zeros(2, 1)
    assert sp.simplify(cov[1, 1] - var2) == 0 and cov[0, 0] == 1 and sp.simplify(cov[0, 1] - 1) == 0


@given(real, pos, real, pos)
@mpmath.workdps(50)
def test_kl_matches_quadrature(mq, vq, mp, vp):
    mq, vq, mp, vp = (sp.Rational(repr(q)) for q in (mq, vq, mp, vp))
    kl = _n(g.kl_normal(mq, vq, mp, vp))
    dens = lambda xx: mpmath.npdf(xx, mpmath.mpf(mq), mpmath.sqrt(vq))
    logr = lambda xx: mpmath.log(dens(xx)) - mpmath.log(mpmath.npdf(xx, mpmath.mpf(mp), mpmath.sqrt(vp)))
    lo, hi = float(mq) - 40 * float(vq) ** 0.5, float(mq) + 40 * float(vq) ** 0.5
    quad = mpmath.quad(lambda xx: dens(xx) * logr(xx), [lo, float(mq), hi])
    assert abs(kl - sp.Float(str(quad), 50)) < sp.Float("1e-30")
    assert kl >= 0


def test_kl_vanishes_only_for_equal_laws_and_sums_over_coordinates():
    m1, m2 = sp.symbols("m1 m2", real=True)
    v1 = sp.Symbol("v1", positive=True)
    assert sp.simplify(g.kl_normal(m1, v1, m1, v1)) == 0
    assert sp.simplify(g.kl_normal(m1, 1, m2, 1) - (m1 - m2)**2 / 2) == 0
    diag = g.kl_normal_diag([m1, 0], [v1, 1], [m2, 0], [1, 2])
    assert sp.simplify(diag - g.kl_normal(m1, v1, m2, 1) - g.kl_normal(0, 1, 0, 2)) == 0


@mpmath.workdps(50)
def test_marginalize_matches_quadrature():
    expo = g.log_normal(y, sp.Rational(1, 3) * u + 1, sp.Rational(1, 2)) + g.log_normal(u, -1, 2)
    closed = sp.lambdify(y, g.marginalize(expo, u), "mpmath")
    f = sp.lambdify((u, y), sp.exp(expo), "mpmath")
    quad = mpmath.log(mpmath.quad(lambda uu: f(uu, mpmath.mpf("0.7")), [-mpmath.inf, mpmath.inf]))
    assert abs(closed(mpmath.mpf("0.7")) - quad) < mpmath.mpf("1e-30")
    # and it is the log-density of the predictive law N(1/3 * (-1) + 1, 1/9 * 2 + 1/2)
    pred = g.log_normal(y, sp.Rational(2, 3), sp.Rational(2, 9) + sp.Rational(1, 2))
    assert sp.simplify(g.marginalize(expo, u) - pred) == 0


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="quadratic"):
        g.complete_square(u**3 - u**2, u)
    with pytest.raises(ValueError, match="quadratic"):
        g.marginalize(u, u)
    with pytest.raises(TypeError, match="var"):
        g.complete_square(-u**2, "u")
    with pytest.raises(ValueError, match="equal length"):
        g.product(u, [0, 1], [1])
    with pytest.raises(ValueError, match="equal lengths"):
        g.kl_normal_diag([0], [1], [0, 1], [1])
