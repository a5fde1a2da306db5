r"""Optimal transport between Gaussians: Monge map, W2 cost, displacement interpolation, entropic OT and the
Schrödinger bridge with a Brownian reference (003 ch. 7, eqs. (7.2.1)-(7.2.11)).

* ``monge_map_1d``: the increasing map pushing N(m1, v1) to N(m2, v2), *solved* from the CDF-matching condition
  (x - m1)/sqrt(v1) = (T - m2)/sqrt(v2); ``w2_squared_1d`` is E[(T(X) - X)^2] (eq. (7.2.2)) by Gaussian moments.
* ``monge_map``: T(x) = m2 + A(x - m1), A = S1^{-1/2} (S1^{1/2} S2 S1^{1/2})^{1/2} S1^{-1/2} with exact matrix square
  roots of sympy Matrices (Cayley–Hamilton for 2x2, else diagonalisation), and ``w2_squared`` = E||T(X) - X||^2; the Bures closed form
  |m1 - m2|^2 + tr(S1 + S2 - 2 (S1^{1/2} S2 S1^{1/2})^{1/2}) is a separate function, so tests compare two routes.
  T = grad psi with psi convex (A symmetric positive definite): the Monge–Ampère equation (7.2.4).
* ``benamou_brenier_energy_1d``: int_0^1 int v_t^2 p_t dx dt for the displacement interpolation (eq. (7.2.3)).
* ``entropic_coupling_1d``: EOT_eps (eq. (7.2.5)) with reference M = p_src (x) p_tgt among Gaussian couplings:
  cost (m1-m2)^2 + v1 + v2 - 2c, KL = -1/2 log(1 - c^2/(v1 v2)); the stationarity equation in the
  cross-covariance c is *solved* (the Gaussian optimum is the known result of Janati et al. 2020; tests compare
  with a discrete Sinkhorn solution).
* ``schrodinger_bridge_1d``: SB_eps with reference dX = sqrt(eps) dW on [0, T] (eqs. (7.2.9)-(7.2.10)): its static
  coupling is the EOT coupling with regularisation 2 eps T (KL(P||R) = KL(pi||R_01) + ...); in between the
  bridge is a Brownian bridge, which gives the marginal mean and variance at time t.
"""
from __future__ import annotations

import functools

import sympy as sp

from .score_matching import _gauss_expectation

m1, m2 = sp.symbols("m_1 m_2", real=True)
v1, v2 = sp.symbols("v_1 v_2", positive=True)
reg = sp.Symbol("varepsilon", positive=True)


def monge_map_1d(xx, mean1=m1, var1=v1, mean2=m2, var2=v2) -> sp.Expr:
    """Increasing OT map N(mean1, var1) -> N(mean2, var2), solved from F_2(T(x)) = F_1(x) (standardised scores)."""
    tt = sp.Symbol("T_x", real=True)
    sol = sp.solve(sp.Eq((tt - mean2) / sp.sqrt(var2), (xx - mean1) / sp.sqrt(var1)), tt)
    return sol[0]


def w2_squared_1d(mean1=m1, var1=v1, mean2=m2, var2=v2) -> sp.Expr:
    """W2^2 = E[(T(X) - X)^2], X ~ N(mean1, var1) (003 eq. (7.2.2)), computed with Gaussian moments."""
    xs = sp.Symbol("X_src", real=True)
    cost = sp.expand((monge_map_1d(xs, mean1, var1, mean2, var2) - xs)**2)
    return sp.simplify(_gauss_expectation(cost, xs, mean1, var1))


def benamou_brenier_energy_1d(mean1=m1, var1=v1, mean2=m2, var2=v2) -> sp.Expr:
    """Kinetic energy of the displacement interpolation x_t = (1 - t) x + t T(x) (003 eq. (7.2.3)).

    The Eulerian velocity at x_t is T(x) - x (straight lines at constant speed), so the energy is
    int_0^1 E[(T(X) - X)^2] dt, with the expectation again by Gaussian moments of X.
    """
    xs, tt = sp.Symbol("X_src", real=True), sp.Symbol("t_bb", nonnegative=True)
    path = (1 - tt) * xs + tt * monge_map_1d(xs, mean1, var1, mean2, var2)
    speed = sp.expand(sp.diff(path, tt)**2)
    return sp.simplify(sp.integrate(_gauss_expectation(speed, xs, mean1, var1), (tt, 0, 1)))


# --- multivariate ---------------------------------------------------------------------------------

def _matrix(name: str, value) -> sp.Matrix:
    mat = sp.Matrix(value)
    if mat.rows != mat.cols or mat.rows == 0:
        raise ValueError(f"{name} must be a non-empty square matrix, got shape {mat.shape}")
    if mat != mat.T:
        raise ValueError(f"{name} must be symmetric, got {mat.tolist()}")
    if not mat.is_positive_definite:
        raise ValueError(f"{name} must be positive definite, got {mat.tolist()}")
    return mat


def sqrtm_psd(mat) -> sp.Matrix:
    """The symmetric positive definite square root R of an SPD matrix M (R^2 = M), exact.

    2x2: Cayley–Hamilton for R (R^2 - tr(R) R + det(R) I = 0 with R^2 = M, det R = sqrt(det M),
    tr R = sqrt(tr M + 2 sqrt(det M))) gives R = (M + sqrt(det M) I) / sqrt(tr M + 2 sqrt(det M)).
    Other sizes: P D^{1/2} P^T by orthogonal diagonalisation (fast when the eigenvalues are rational).
    """
    mat = _matrix("mat", mat)
    if mat.rows == 1:
        return sp.Matrix([[sp.sqrt(mat[0, 0])]])
    if mat.rows == 2:
        root_det = sp.sqrt(mat.det())
        return ((mat + root_det * sp.eye(2)) / sp.sqrt(mat.trace() + 2 * root_det)).applyfunc(sp.radsimp)
    pmat, dmat = mat.diagonalize(normalize=True)
    return (pmat * sp.diag(*[sp.sqrt(dmat[i, i]) for i in range(dmat.rows)]) * pmat.T).applyfunc(sp.radsimp)


def monge_map(cov1, cov2) -> sp.Matrix:
    """A of T(x) = m2 + A (x - m1): A = S1^{-1/2} (S1^{1/2} S2 S1^{1/2})^{1/2} S1^{-1/2} (003 ch. 7, Gaussian case)."""
    s1, s2 = _matrix("cov1", cov1), _matrix("cov2", cov2)
    r1 = sqrtm_psd(s1)
    r1_inv = r1.inv()
    return r1_inv * sqrtm_psd((r1 * s2 * r1).applyfunc(sp.radsimp)) * r1_inv


def w2_squared(mean1, cov1, mean2, cov2) -> sp.Expr:
    """E||T(X) - X||^2 for X ~ N(mean1, cov1): |m2 - m1|^2 + tr((A - I) S1 (A - I)^T) (eq. (7.2.2))."""
    a = monge_map(cov1, cov2)
    dm = sp.Matrix(mean2) - sp.Matrix(mean1)
    eye = sp.eye(a.rows)
    return (dm.T * dm)[0] + ((a - eye) * sp.Matrix(cov1) * (a - eye).T).trace()


def bures_w2_squared(mean1, cov1, mean2, cov2) -> sp.Expr:
    """The closed form |m1 - m2|^2 + tr(S1 + S2 - 2 (S1^{1/2} S2 S1^{1/2})^{1/2})."""
    s1, s2 = _matrix("cov1", cov1), _matrix("cov2", cov2)
    r1 = sqrtm_psd(s1)
    dm = sp.Matrix(mean2) - sp.Matrix(mean1)
    return (dm.T * dm)[0] + (s1 + s2 - 2 * sqrtm_psd((r1 * s2 * r1).applyfunc(sp.radsimp))).trace()


# --- entropic OT and the Schrödinger bridge -------------------------------------------------------

def entropic_coupling_1d(var1=v1, var2=v2, eps_reg=reg) -> sp.Expr:
    """Cross-covariance c of the EOT_eps coupling of N(., var1) and N(., var2) with M = p_src (x) p_tgt (eq. (7.2.5)).

    Minimises (m1-m2)^2 + var1 + var2 - 2 c - eps/2 log(1 - c^2/(var1 var2)) over |c| < sqrt(var1 var2): the
    stationarity equation is solved and the root in (0, sqrt(var1 var2)) kept; eps -> 0 gives sqrt(var1 var2)
    (the Monge coupling), eps -> oo gives 0 (independence).
    """
    return _entropic_root().subs({v1: var1, v2: var2, reg: eps_reg}, simultaneous=True)


@functools.cache
def _entropic_root() -> sp.Expr:
    c = sp.Symbol("c_xy", real=True)
    objective = v1 + v2 - 2 * c - reg / 2 * sp.log(1 - c**2 / (v1 * v2))
    roots = sp.solve(sp.diff(objective, c), c)
    probe = {v1: 2, v2: 3, reg: 1}
    good = [r for r in roots if 0 < float(r.subs(probe)) < float(sp.sqrt(6))]
    if len(good) != 1:  # pragma: no cover - a failed derivation is a bug in this module
        raise AssertionError(f"no unique admissible EOT root: {roots}")
    return sp.simplify(good[0])


def entropic_cost_1d(mean1=m1, var1=v1, mean2=m2, var2=v2, eps_reg=reg) -> sp.Expr:
    """Value of EOT_eps (eq. (7.2.5)) at the optimal Gaussian coupling."""
    c = entropic_coupling_1d(var1, var2, eps_reg)
    return (mean1 - mean2)**2 + var1 + var2 - 2 * c - eps_reg / 2 * sp.log(1 - c**2 / (var1 * var2))


def schrodinger_bridge_1d(time, horizon=1, mean1=m1, var1=v1, mean2=m2, var2=v2, eps_ref=reg):
    """Mean, variance of the SB_eps marginal at ``time`` in [0, horizon] (reference dX = sqrt(eps) dW, eq. (7.2.9)).

    Static part: KL(pi || R_01) with R_01(x, y) = p_src(x) N(y; x, eps T) equals E[(y - x)^2]/(2 eps T) + KL(pi ||
    p_src (x) p_tgt) + const, i.e. EOT with regularisation 2 eps T. Dynamic part: given the endpoints, the
    optimal path measure is the reference's Brownian bridge x_t = (1 - r) x + r y + sqrt(eps t (1 - r)) z, r = t/T.
    """
    c = entropic_coupling_1d(var1, var2, 2 * eps_ref * horizon)
    r = time / horizon
    mean = (1 - r) * mean1 + r * mean2
    var = (1 - r)**2 * var1 + r**2 * var2 + 2 * r * (1 - r) * c + eps_ref * time * (1 - r)
    return sp.simplify(mean), sp.simplify(var)
