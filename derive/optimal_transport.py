r"""Optimal transport between Gaussians: Monge map, W2 cost, displacement interpolation, entropic OT and the
Schrödinger bridge with a Brownian reference (003 ch. 7, eqs. (7.2.1)-(7.5.1)).

* ``monge_map_1d``: the increasing map pushing N(m1, v1) to N(m2, v2), *solved* from the CDF-matching condition
  (x - m1)/sqrt(v1) = (T - m2)/sqrt(v2); ``w2_squared_1d`` is E[(T(X) - X)^2] (eq. (7.2.2)) by Gaussian moments.
* ``monge_map``: T(x) = m2 + A(x - m1), A = S1^{-1/2} (S1^{1/2} S2 S1^{1/2})^{1/2} S1^{-1/2} with exact matrix square
  roots of sympy Matrices (Cayley–Hamilton for 2x2, else diagonalisation), and ``w2_squared`` = E||T(X) - X||^2;
  the Bures closed form |m1 - m2|^2 + tr(S1 + S2 - 2 (S1^{1/2} S2 S1^{1/2})^{1/2}) is a separate function, so
  tests compare two routes.
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

from ._validate import EXPR, MATRIX, NONNEGATIVE, POSITIVE, SPD, SYMBOL, checked, sequence_of
from .score_matching import _gauss_expectation

m1, m2 = sp.symbols("m_1 m_2", real=True)
v1, v2 = sp.symbols("v_1 v_2", positive=True)
reg = sp.Symbol("varepsilon", positive=True)


@checked(xx=EXPR, mean1=EXPR, var1=POSITIVE, mean2=EXPR, var2=POSITIVE)
def monge_map_1d(xx, mean1=m1, var1=v1, mean2=m2, var2=v2) -> sp.Expr:
    """Increasing OT map N(mean1, var1) -> N(mean2, var2), solved from F_2(T(x)) = F_1(x) (standardised scores)."""
    tt = sp.Symbol("T_x", real=True)
    sol = sp.solve(sp.Eq((tt - mean2) / sp.sqrt(var2), (xx - mean1) / sp.sqrt(var1)), tt)
    return sol[0]


@checked(mean1=EXPR, var1=POSITIVE, mean2=EXPR, var2=POSITIVE)
def w2_squared_1d(mean1=m1, var1=v1, mean2=m2, var2=v2) -> sp.Expr:
    """W2^2 = E[(T(X) - X)^2], X ~ N(mean1, var1) (003 eq. (7.2.2)), computed with Gaussian moments."""
    xs = sp.Symbol("X_src", real=True)
    cost = sp.expand((monge_map_1d(xs, mean1, var1, mean2, var2) - xs)**2)
    return sp.simplify(_gauss_expectation(cost, xs, mean1, var1))


@checked(mean1=EXPR, var1=POSITIVE, mean2=EXPR, var2=POSITIVE)
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

@checked(mat=SPD)
def sqrtm_psd(mat) -> sp.Matrix:
    """The symmetric positive definite square root R of an SPD matrix M (R^2 = M), exact.

    2x2: Cayley–Hamilton for R (R^2 - tr(R) R + det(R) I = 0 with R^2 = M, det R = sqrt(det M),
    tr R = sqrt(tr M + 2 sqrt(det M))) gives R = (M + sqrt(det M) I) / sqrt(tr M + 2 sqrt(det M)).
    Other sizes: P D^{1/2} P^T by orthogonal diagonalisation (fast when the eigenvalues are rational).
    """
    if mat.rows == 1:
        return sp.Matrix([[sp.sqrt(mat[0, 0])]])
    if mat.rows == 2:
        root_det = sp.sqrt(mat.det())
        return ((mat + root_det * sp.eye(2)) / sp.sqrt(mat.trace() + 2 * root_det)).applyfunc(sp.radsimp)
    pmat, dmat = mat.diagonalize(normalize=True)
    return (pmat * sp.diag(*[sp.sqrt(dmat[i, i]) for i in range(dmat.rows)]) * pmat.T).applyfunc(sp.radsimp)


@checked(cov1=SPD, cov2=SPD)
def monge_map(cov1, cov2) -> sp.Matrix:
    """A of T(x) = m2 + A (x - m1): A = S1^{-1/2} (S1^{1/2} S2 S1^{1/2})^{1/2} S1^{-1/2} (003 ch. 7, Gaussian case)."""
    s1, s2 = cov1, cov2
    r1 = sqrtm_psd(s1)
    r1_inv = r1.inv()
    return r1_inv * sqrtm_psd((r1 * s2 * r1).applyfunc(sp.radsimp)) * r1_inv


@checked(mean1=MATRIX, cov1=SPD, mean2=MATRIX, cov2=SPD)
def w2_squared(mean1, cov1, mean2, cov2) -> sp.Expr:
    """E||T(X) - X||^2 for X ~ N(mean1, cov1): |m2 - m1|^2 + tr((A - I) S1 (A - I)^T) (eq. (7.2.2))."""
    a = monge_map(cov1, cov2)
    dm = sp.Matrix(mean2) - sp.Matrix(mean1)
    eye = sp.eye(a.rows)
    return (dm.T * dm)[0] + ((a - eye) * sp.Matrix(cov1) * (a - eye).T).trace()


@checked(mean1=MATRIX, cov1=SPD, mean2=MATRIX, cov2=SPD)
def bures_w2_squared(mean1, cov1, mean2, cov2) -> sp.Expr:
    """The closed form |m1 - m2|^2 + tr(S1 + S2 - 2 (S1^{1/2} S2 S1^{1/2})^{1/2})."""
    s1, s2 = cov1, cov2
    r1 = sqrtm_psd(s1)
    dm = sp.Matrix(mean2) - sp.Matrix(mean1)
    return (dm.T * dm)[0] + (s1 + s2 - 2 * sqrtm_psd((r1 * s2 * r1).applyfunc(sp.radsimp))).trace()


# --- entropic OT and the Schrödinger bridge -------------------------------------------------------

@checked(var1=POSITIVE, var2=POSITIVE, eps_reg=POSITIVE)
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


@checked(mean1=EXPR, var1=POSITIVE, mean2=EXPR, var2=POSITIVE, eps_reg=POSITIVE)
def entropic_cost_1d(mean1=m1, var1=v1, mean2=m2, var2=v2, eps_reg=reg) -> sp.Expr:
    """Value of EOT_eps (eq. (7.2.5)) at the optimal Gaussian coupling."""
    c = entropic_coupling_1d(var1, var2, eps_reg)
    return (mean1 - mean2)**2 + var1 + var2 - 2 * c - eps_reg / 2 * sp.log(1 - c**2 / (var1 * var2))


@checked(time=NONNEGATIVE, horizon=POSITIVE, mean1=EXPR, var1=POSITIVE, mean2=EXPR, var2=POSITIVE,
         eps_ref=POSITIVE)
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
    return mean, var


# --- Gaussian couplings, the Schrödinger system and the kinetic (Girsanov) form ---------------------------

@checked(xx=EXPR, yy=EXPR, mean1=EXPR, var1=POSITIVE, mean2=EXPR, var2=POSITIVE, cross=EXPR)
def gaussian_coupling_1d(xx, yy, mean1=m1, var1=v1, mean2=m2, var2=v2, cross=0) -> sp.Expr:
    """Density gamma(x, y) of the Gaussian coupling of N(mean1, var1) and N(mean2, var2) with Cov(x, y) = cross.

    Every coupling in the Gaussian family has these marginals (003 §7.2.1, the constraint set Gamma); the EOT and
    SB optima are members (cross = ``entropic_coupling_1d``)."""
    det = var1 * var2 - cross**2
    dx, dy = xx - mean1, yy - mean2
    quad = (var2 * dx**2 - 2 * cross * dx * dy + var1 * dy**2) / det
    return sp.exp(-quad / 2) / (2 * sp.pi * sp.sqrt(det))


@checked(mean1=EXPR, var1=POSITIVE, mean2=EXPR, var2=POSITIVE, cross=EXPR, eps_reg=POSITIVE)
def eot_objective_1d(mean1=m1, var1=v1, mean2=m2, var2=v2, cross=0, eps_reg=reg) -> sp.Expr:
    """int |x - y|^2 dgamma + eps KL(gamma || p_src (x) p_tgt) for the Gaussian coupling with Cov(x, y) = cross
    (the objective of 003 eq. (7.2.5)); KL = -1/2 log(1 - cross^2/(var1 var2))."""
    return (mean1 - mean2)**2 + var1 + var2 - 2 * cross - eps_reg / 2 * sp.log(1 - cross**2 / (var1 * var2))


def _kl_gauss2(mean0, cov0, mean1, cov1) -> sp.Expr:
    """KL(N(mean0, cov0) || N(mean1, cov1)) for 2-vectors (sympy Matrices)."""
    inv1 = cov1.inv()
    dm = mean1 - mean0
    return ((inv1 * cov0).trace() + (dm.T * inv1 * dm)[0] - 2 + sp.log(cov1.det() / cov0.det())) / 2


@checked(horizon=POSITIVE, mean1=EXPR, var1=POSITIVE, mean2=EXPR, var2=POSITIVE, eps_ref=POSITIVE)
def sb_value_1d(horizon=1, mean1=m1, var1=v1, mean2=m2, var2=v2, eps_ref=reg) -> sp.Expr:
    """SB_eps = KL(P* || R^eps) (003 eq. (7.2.9)) for the Brownian reference dX = sqrt(eps) dW with R_0 = p_src.

    The path KL splits at the endpoints (the bridges of P* are those of R), so it is the KL of the endpoint laws:
    gamma* (cross-covariance ``entropic_coupling_1d`` with regularisation 2 eps T) against R_{0T} = law of
    (x, x + sqrt(eps T) z), x ~ p_src."""
    c = entropic_coupling_1d(var1, var2, 2 * eps_ref * horizon)
    mean_p, cov_p = sp.Matrix([mean1, mean2]), sp.Matrix([[var1, c], [c, var2]])
    mean_r, cov_r = sp.Matrix([mean1, mean1]), sp.Matrix([[var1, var1], [var1, var1 + eps_ref * horizon]])
    return _kl_gauss2(mean_p, cov_p, mean_r, cov_r)


def _heat(coeffs, spread):
    """exp(A z^2 + B z + C) evolved by the heat semigroup of variance ``spread`` (analytically continued)."""
    a2, b1, c0 = coeffs
    beta = -1 / (2 * a2)                      # exp(A z^2 + B z + C) = K exp(-(z - centre)^2 / (2 beta))
    centre = b1 * beta
    k = sp.exp(c0 + centre**2 / (2 * beta))
    return lambda xx: k * sp.sqrt(beta / (beta + spread)) * sp.exp(-(xx - centre)**2 / (2 * (beta + spread)))


@checked(xx=EXPR, time=NONNEGATIVE, horizon=POSITIVE, mean1=EXPR, var1=POSITIVE, mean2=EXPR, var2=POSITIVE,
         eps_ref=POSITIVE)
def sb_potentials_1d(xx, time, horizon=1, mean1=m1, var1=v1, mean2=m2, var2=v2, eps_ref=reg):
    """(Psi, hat Psi) at (xx, time): the Schrödinger potentials of SB_eps between Gaussians (003 (7.2.11)-(7.2.12)).

    Derived from the static solution, not from the marginals: the EOT coupling gamma* (cost |x - y|^2, regulariser
    2 eps T) is written gamma*(x, y) = hat phi_0(x) N(y; x, eps T) phi_T(y) (log gamma* + |y - x|^2/(2 eps T) must
    split into a function of x plus one of y: the Sinkhorn form); hat Psi is hat phi_0 run forward and Psi is
    phi_T run backward by the heat semigroup of dX = sqrt(eps) dW, so both solve the Schrödinger system.
    """
    x_, y_ = sp.Symbol("x_sb", real=True), sp.Symbol("y_sb", real=True)
    c = entropic_coupling_1d(var1, var2, 2 * eps_ref * horizon)
    split = sp.expand(sp.expand_log(sp.log(gaussian_coupling_1d(x_, y_, mean1, var1, mean2, var2, c)), force=True)
                      + (y_ - x_)**2 / (2 * eps_ref * horizon))
    hat0 = sp.Poly(split.subs(y_, 0), x_)
    tgt = sp.Poly(split.subs(x_, 0) - split.subs({x_: 0, y_: 0}), y_)
    coeffs = [tuple(p.coeff_monomial(x_**k if p is hat0 else y_**k) for k in (2, 1, 0)) for p in (hat0, tgt)]
    psihat = _heat(coeffs[0], eps_ref * time)(xx)
    # gamma* = hat phi_0(x) phi_T(y) exp(-|y - x|^2/(2 eps T)): the heat kernel's normalisation goes into Psi
    psi = sp.sqrt(2 * sp.pi * eps_ref * horizon) * _heat(coeffs[1], eps_ref * (horizon - time))(xx)
    return psi, psihat


X1, X2 = sp.symbols("x_1 x_2", real=True)


@checked(phi=EXPR, eps_small=EXPR, variables=sequence_of(SYMBOL, 2))
def brenier_commutator(phi, eps_small, variables=(X1, X2)):
    """[D^2(log det D^2 u - |grad u|^2 / 2), D^2 u] at x = 0 for u = |x|^2/2 + eps phi (003 (7.5.1), §7.5.1).

    Zero for every convex u whose PF-ODE maps stay optimal (Lavenant-Santambrogio); a non-zero matrix exhibits the
    counterexample. Returns the commutator as a sympy Matrix (a series in eps_small)."""
    xs = list(variables)
    u = sum(v**2 for v in xs) / 2 + eps_small * phi
    hess = sp.hessian(u, xs)
    grad = sp.Matrix([sp.diff(u, v) for v in xs])
    inner = sp.log(hess.det()) - (grad.T * grad)[0] / 2
    at0 = {v: 0 for v in xs}
    left = sp.hessian(inner, xs).subs(at0)
    right = hess.subs(at0)
    return (left * right - right * left).applyfunc(sp.simplify)


@checked(var1=POSITIVE, var2=POSITIVE, cross=EXPR)
def coupling_entropy_1d(var1=v1, var2=v2, cross=0) -> sp.Expr:
    """Differential entropy H(gamma) = 1 + log(2 pi) + 1/2 log det Cov of the Gaussian coupling (003 §7.2.2)."""
    return 1 + sp.log(2 * sp.pi) + sp.log(var1 * var2 - cross**2) / 2


@checked(mean1=EXPR, var1=POSITIVE, mean2=EXPR, var2=POSITIVE, eps_reg=POSITIVE)
def eot_normaliser_1d(mean1=m1, var1=v1, mean2=m2, var2=v2, eps_reg=reg) -> sp.Expr:
    """Z_eps = E_{p_src (x) p_tgt}[exp(-|x - y|^2/eps)] (003 §7.3.1): x - y ~ N(mean1 - mean2, var1 + var2)."""
    spread = var1 + var2
    return sp.exp(-(mean1 - mean2)**2 / (eps_reg + 2 * spread)) / sp.sqrt(1 + 2 * spread / eps_reg)


@checked(xx=EXPR, time=NONNEGATIVE, horizon=POSITIVE, mean1=EXPR, var1=POSITIVE, mean2=EXPR, var2=POSITIVE,
         eps_ref=POSITIVE)
def sb_drift_1d(xx, time, horizon=1, mean1=m1, var1=v1, mean2=m2, var2=v2, eps_ref=reg) -> sp.Expr:
    """The affine drift a_t x + b_t of dX = (a_t X + b_t) dt + sqrt(eps) dW whose marginals are the SB marginals
    N(mu_t, S_t) of ``schrodinger_bridge_1d`` (the Brownian-bridge mixture): S' = 2 a S + eps, mu' = a mu + b.

    A route to the optimal control v* of (7.2.8) that does not use the potentials Psi, hat Psi."""
    tt = sp.Symbol("t_drift", nonnegative=True)
    mean, var = schrodinger_bridge_1d(tt, horizon, mean1, var1, mean2, var2, eps_ref)
    slope = (sp.diff(var, tt) - eps_ref) / (2 * var)
    shift = sp.diff(mean, tt) - slope * mean
    return (slope * xx + shift).subs(tt, time)


@checked(xx=EXPR, time=NONNEGATIVE, mean1=EXPR, var1=POSITIVE, eps_ref=POSITIVE)
def half_bridge_psihat_1d(xx, time, mean1=m1, var1=v1, eps_ref=reg) -> sp.Expr:
    """hat Psi of the half bridge Psi = 1 (003 (7.4.1)): hat Psi(., 0) = p_src run forward by the heat semigroup of
    dX = sqrt(eps) dW (the second equation of (7.2.12) with f = 0)."""
    z = sp.Symbol("z_half", real=True)
    logp = sp.expand(sp.expand_log(sp.log(sp.exp(-(z - mean1)**2 / (2 * var1)) / sp.sqrt(2 * sp.pi * var1)),
                                   force=True))
    poly = sp.Poly(logp, z)
    return _heat(tuple(poly.coeff_monomial(z**k) for k in (2, 1, 0)), eps_ref * time)(xx)
