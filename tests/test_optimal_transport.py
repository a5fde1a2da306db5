"""Optimal transport between Gaussians (003 ch. 7), each closed form checked by a second route."""
import numpy as np
import pytest
import scipy.linalg
import sympy as sp

from derive import optimal_transport as ot


def test_monge_map_1d_pushes_forward_and_w2_matches_bb_energy():
    xs = sp.Symbol("X", real=True)
    tmap = ot.monge_map_1d(xs)
    # push-forward: T(X) for X ~ N(m1, v1) has mean m2 and variance v2 (T affine)
    slope = sp.diff(tmap, xs)
    assert sp.simplify(tmap.subs(xs, ot.m1) - ot.m2) == 0 and sp.simplify(slope**2 * ot.v1 - ot.v2) == 0
    w2 = ot.w2_squared_1d()
    assert sp.simplify(w2 - ((ot.m1 - ot.m2)**2 + (sp.sqrt(ot.v1) - sp.sqrt(ot.v2))**2)) == 0
    assert sp.simplify(ot.benamou_brenier_energy_1d() - w2) == 0       # (7.2.3) = (7.2.2)


def test_monge_map_1d_beats_the_anti_monotone_map():
    """The increasing map is cheaper than the decreasing map with the same push-forward (optimality witness)."""
    vals = {ot.m1: 0.3, ot.m2: -1.0, ot.v1: 2.0, ot.v2: 0.5}
    w2 = float(ot.w2_squared_1d().subs(vals))
    anti = (0.3 + 1.0)**2 + 2.0 + 0.5 + 2 * np.sqrt(2.0 * 0.5)          # E(T(X)-X)^2 for the decreasing map
    assert w2 < anti


@pytest.mark.parametrize("cov1,cov2", [([[2, 1], [1, 3]], [[1, 0], [0, 4]]),
                                       ([[1, 0, 0], [0, 4, 0], [0, 0, 9]], [[2, 0, 0], [0, 1, 0], [0, 0, 1]])])
def test_monge_map_matrix_against_scipy(cov1, cov2):
    a = np.array(ot.monge_map(cov1, cov2).evalf(30), dtype=float)
    s1, s2 = np.array(cov1, float), np.array(cov2, float)
    r1 = scipy.linalg.sqrtm(s1).real
    ref = np.linalg.inv(r1) @ scipy.linalg.sqrtm(r1 @ s2 @ r1).real @ np.linalg.inv(r1)
    assert np.allclose(a, ref, atol=1e-12)
    assert np.allclose(a @ s1 @ a.T, s2, atol=1e-12)                  # T # N(m1, S1) = N(m2, S2)
    assert np.allclose(a, a.T) and np.all(np.linalg.eigvalsh(a) > 0)  # T = grad of a convex potential (7.2.4)
    m1, m2 = [0] * len(cov1), [1] + [0] * (len(cov1) - 1)
    w_moments = float(sp.N(ot.w2_squared(m1, cov1, m2, cov2), 30))
    w_bures = float(sp.N(ot.bures_w2_squared(m1, cov1, m2, cov2), 30))
    assert abs(w_moments - w_bures) < 1e-12


def test_matrix_input_is_validated():
    with pytest.raises(ValueError, match="cov1 must be symmetric"):
        ot.monge_map([[1, 2], [0, 1]], [[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="positive definite"):
        ot.monge_map([[1, 0], [0, -1]], [[1, 0], [0, 1]])


def _sinkhorn_cross_cov(s1, s2, eps_reg, n=300):
    """Discrete Sinkhorn for EOT_eps (7.2.5) with reference p (x) q on a grid; returns Cov(X, Y) of the plan."""
    grid = np.linspace(-7, 7, n)
    p = np.exp(-grid**2 / (2 * s1**2)); p /= p.sum()
    q = np.exp(-grid**2 / (2 * s2**2)); q /= q.sum()
    kern = np.exp(-(grid[:, None] - grid[None, :])**2 / eps_reg)
    a, b = np.ones(n), np.ones(n)
    for _ in range(500):
        a = 1.0 / (kern @ (b * q))
        b = 1.0 / (kern.T @ (a * p))
    plan = a[:, None] * kern * b[None, :] * p[:, None] * q[None, :]
    assert abs(plan.sum() - 1) < 1e-9
    return float(np.sum(plan * grid[:, None] * grid[None, :]))


def test_entropic_coupling_against_sinkhorn():
    s1, s2, e = 1.0, 1.5, 0.8
    c = float(ot.entropic_coupling_1d().subs({ot.v1: s1**2, ot.v2: s2**2, ot.reg: e}))
    assert abs(c - _sinkhorn_cross_cov(s1, s2, e)) < 2e-3
    # limits: eps -> 0 gives the Monge coupling sqrt(v1 v2), eps -> oo independence
    expr = ot.entropic_coupling_1d()
    assert sp.limit(expr, ot.reg, 0) == sp.sqrt(ot.v1 * ot.v2)
    assert sp.limit(expr, ot.reg, sp.oo) == 0


def test_schrodinger_bridge_marginals_interpolate_endpoints():
    tt = sp.Symbol("tau", positive=True)
    mean, var = ot.schrodinger_bridge_1d(tt)
    assert sp.simplify(var.subs(tt, 0) - ot.v1) == 0 and sp.simplify(var.subs(tt, 1) - ot.v2) == 0
    assert sp.simplify(mean.subs(tt, 1) - ot.m2) == 0
    # eps -> 0: the bridge collapses to McCann's displacement interpolation variance ((1-t) s1 + t s2)^2
    lim = sp.limit(var, ot.reg, 0)
    assert sp.simplify(lim - ((1 - tt) * sp.sqrt(ot.v1) + tt * sp.sqrt(ot.v2))**2) == 0
