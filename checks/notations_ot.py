r"""Meanings of the symbols of 003 chapter 7 (optimal transport, entropic OT, Schrödinger bridge) in an exact
reference instance: two one-dimensional Gaussians p_src = N(m1, v1), p_tgt = N(m2, v2), a regularisation eps and
a horizon T (``Instance``). Every object is *derived* in derive/optimal_transport.py: the Monge map (solved from
the CDF equation), the EOT coupling (solved stationarity), the Schrödinger potentials (from the static coupling and
the heat semigroup), the SB marginal (Brownian-bridge mixture of the static coupling).

Used only by the method ``ot-exact`` (checks/methods_ot.py), which passes an ``Instance`` as the model.
Operators the normaliser cannot read are rewritten by methods_ot.prenormalise into placeholders ``\Phi_{name}(B)``
(an expectation / integral / divergence of the body B), interpreted here:

* ``\Phi_{gamma}(B)``  E_{(x, y) ~ gamma}[B] = int int B gamma dx dy   (also int B dgamma(x, y));
* ``\Phi_{src}(B)``    E_{x ~ p_src}[B];   ``\Phi_{indep}(B)``: E over p_src (x) p_tgt (independent coupling);
* ``\Phi_{xy}(B)``     int int B dx dy;    ``\Phi_{path}(B)``: E_P[B] over the SB path measure (time integrals
  of functions of x_t become int E_{p_t}[.] dt);
* ``\Phi_{klprod}``, ``\Phi_{klR}``, ``\Phi_{klpath}``: KL(gamma || p_src (x) p_tgt), KL(gamma || tilde R^eps),
  KL(P || R^eps); ``\Phi_{entropy}``: H(gamma);
* ``\Phi_{wtwo}``, ``\Phi_{ot}``, ``\Phi_{eot}``, ``\Phi_{sb}``: the optimal values W_2^2 (Bures closed form),
  OT (= W_2^2), EOT_eps (closed form at the solved coupling), SB_eps (endpoint KL, ``sb_value_1d``).
"""
from __future__ import annotations

import functools

import sympy as sp

from derive import optimal_transport as ot, pf_ode, schedules
from derive.data import normal_pdf
from derive.symbols import t as T_SYM, x as X_SYM, y as Y_SYM

from .notation import NotationError

EPS_SYM = sp.Symbol("varepsilon", positive=True)
DIGITS = 80


def numeric(expr: sp.Expr, digits: int = DIGITS) -> sp.Expr:
    """Every numeric sub-expression (also inside exp, which evalf leaves alone) as a Float of ``digits`` digits."""
    return expr.replace(lambda e: e.is_number and not e.is_Atom and not e.is_Float,
                        lambda e: sp.Float(e.evalf(digits), digits))


class Instance:
    """Two Gaussians, a regularisation and a horizon; the chapter's optimal objects derived from them."""

    def __init__(self, m1, v1, m2, v2, eps, horizon=1):
        self.m1, self.v1, self.m2, self.v2, self.eps, self.horizon = m1, v1, m2, v2, eps, horizon
        self.cross = ot.entropic_coupling_1d(v1, v2, eps)          # EOT_eps, cost |x - y|^2
        self.tmap = ot.monge_map_1d(X_SYM, m1, v1, m2, v2)

    def time_of(self, state):
        return T_SYM if state == X_SYM else None

    # --- SB_eps with reference dX = sqrt(eps) dW on [0, T] (eps numeric) ---
    @functools.cached_property
    def sb(self):
        psi, psihat = ot.sb_potentials_1d(X_SYM, T_SYM, self.horizon, self.m1, self.v1, self.m2, self.v2, self.eps)
        mean, var = ot.schrodinger_bridge_1d(T_SYM, self.horizon, self.m1, self.v1, self.m2, self.v2, self.eps)
        drift = ot.sb_drift_1d(X_SYM, T_SYM, self.horizon, self.m1, self.v1, self.m2, self.v2, self.eps)
        return {k: numeric(v) for k, v in
                {"psi": psi, "psihat": psihat, "mean": mean, "var": var, "drift": drift}.items()}

    def sb_density(self, xx, tau):
        return normal_pdf(xx, self.sb["mean"].subs(T_SYM, tau), self.sb["var"].subs(T_SYM, tau))

    def coupling(self, xx, yy, cross=None):
        return ot.gaussian_coupling_1d(xx, yy, self.m1, self.v1, self.m2, self.v2,
                                       self.cross if cross is None else cross)

    # --- McCann displacement interpolation T_t = (1 - t) id + t T (derived map) ---
    def interp(self, xx, tau):
        return ((1 - tau) * X_SYM + tau * self.tmap).subs(X_SYM, xx)

    def interp_inverse(self, xx, tau):
        z = sp.Symbol("z_inv", real=True)
        (root,) = sp.solve(sp.Eq(self.interp(z, tau), xx), z)
        return root

    def mccann_density(self, xx, tau):
        """p_t = (T_t)_# p_src by the change of variables p_src(T_t^{-1}(x)) / |T_t'|."""
        z = sp.Symbol("z_cv", real=True)
        slope = sp.diff(self.interp(z, tau), z)
        return normal_pdf(self.interp_inverse(xx, tau), self.m1, self.v1) / slope

    def mccann_velocity(self, xx, tau):
        """Eulerian velocity of the straight lines: T(x0) - x0 at x0 = T_t^{-1}(x)."""
        start = self.interp_inverse(xx, tau)
        return (self.tmap - X_SYM).subs(X_SYM, start)


def _arg(a, i=0, default=X_SYM):
    return a[i] if len(a) > i else default


def _gauss(M, sub, xx):
    if "src" in sub or sub.strip("{} ") == "0":
        return normal_pdf(xx, M.m1, M.v1)
    if "tgt" in sub or "prior" in sub:
        return normal_pdf(xx, M.m2, M.v2)
    return None


def _static_density(M, tau, a, sub):
    if len(a) == 2:        # p_T(y | x): the Brownian transition density of the reference over [0, T]
        return normal_pdf(a[0], a[1], M.eps * M.horizon)
    known = _gauss(M, sub, _arg(a))
    if known is not None:
        return known
    return M.mccann_density(_arg(a), tau)


def _sb_density(M, tau, a, sub):
    known = _gauss(M, sub, _arg(a))
    if known is not None:
        return known
    return M.sb_density(_arg(a), tau)


def _marker(name):
    return lambda M, tau, a, s: sp.Symbol(f"@{name}")


def _values(M, sub: str):
    """Optimal values of the chapter's problems (closed forms of derive.optimal_transport)."""
    sub = sub.strip("{} ")
    if sub in ("wtwo", "ot"):
        return ot.bures_w2_squared([M.m1], [[M.v1]], [M.m2], [[M.v2]])
    if sub == "eot":
        return ot.entropic_cost_1d(M.m1, M.v1, M.m2, M.v2, M.eps)
    if sub == "sb":
        return ot.sb_value_1d(M.horizon, M.m1, M.v1, M.m2, M.v2, M.eps)
    if sub == "klprod":
        return -sp.log(1 - M.cross**2 / (M.v1 * M.v2)) / 2
    if sub == "entropy":
        return ot.coupling_entropy_1d(M.v1, M.v2, M.cross)
    if sub == "klpath":
        return ot.sb_value_1d(M.horizon, M.m1, M.v1, M.m2, M.v2, M.eps)
    return None


def _operator(M, tau, a, sub):
    r"""\Phi_{name}(B): expectations and integrals as sympy Integrals (evaluated by methods_ot)."""
    name = sub.strip("{} ")
    value = _values(M, name)
    if value is not None:
        return value
    body = a[0] if a else sp.Integer(1)
    whole = (-sp.oo, sp.oo)
    if name == "gamma":
        return sp.Integral(body * M.coupling(X_SYM, Y_SYM), (Y_SYM, *whole), (X_SYM, *whole))
    if name == "indep":
        return sp.Integral(body * normal_pdf(X_SYM, M.m1, M.v1) * normal_pdf(Y_SYM, M.m2, M.v2),
                           (Y_SYM, *whole), (X_SYM, *whole))
    if name in ("linex", "liney"):
        var = X_SYM if name == "linex" else Y_SYM
        return sp.Integral(body, (var, *whole))
    if name == "src":
        return sp.Integral(body * normal_pdf(X_SYM, M.m1, M.v1), (X_SYM, *whole))
    if name == "xy":
        return sp.Integral(body, (Y_SYM, *whole), (X_SYM, *whole))
    if name == "klR":      # KL(gamma || tilde R^eps), tilde R^eps = e^{-c/eps} p_src p_tgt / Z_eps
        g = M.coupling(X_SYM, Y_SYM)
        kern = sp.exp(-(X_SYM - Y_SYM)**2 / M.eps) * normal_pdf(X_SYM, M.m1, M.v1) * normal_pdf(Y_SYM, M.m2, M.v2)
        zed = ot.eot_normaliser_1d(M.m1, M.v1, M.m2, M.v2, M.eps)
        return sp.Integral(g * (sp.log(g) - sp.log(kern)), (Y_SYM, *whole), (X_SYM, *whole)) + sp.log(zed)
    if name == "path":     # E_P[int_0^T F(x_t, t) dt] = int_0^T E_{p_t}[F] dt (Fubini)
        def inside(e):
            (var, lo, hi), = e.limits
            return sp.Integral(sp.Integral(e.function * M.sb_density(X_SYM, var), (X_SYM, *whole)), (var, lo, hi))
        return body.replace(lambda e: isinstance(e, sp.Integral) and e.limits[0][0] == T_SYM, inside)
    raise NotationError(f"operator Phi_{name} has no meaning in the OT notation")


def _score(density):
    def handler(M, tau, a, s):
        z = sp.Symbol("z_score", real=True)
        return sp.diff(sp.log(density(M, tau, (z,), s)), z).subs(z, _arg(a))
    return handler


COMMON_OT = {
    # x, x_t, x_0: the point; x_1 (a coupling's second coordinate, 003 §7.5.2) is y
    "x": lambda M, tau, a, s: Y_SYM if s.strip("{} ") == "1" else X_SYM,
    "y": lambda M, tau, a, s: Y_SYM,
    "t": lambda M, tau, a, s: T_SYM,
    "T": lambda M, tau, a, s: M.horizon,
    "epsilon": lambda M, tau, a, s: M.eps,
    "I": lambda M, tau, a, s: sp.Integer(1),
    "C": lambda M, tau, a, s: sp.Symbol("C_const"),      # "const", "Constant": an additive constant (see methods_ot)
    "Phi": _operator,
    "pi": lambda M, tau, a, s: sp.pi,
}

STATIC = {
    **COMMON_OT,
    "p": _static_density, "q": _static_density, "score": _score(_static_density),
    "gamma": lambda M, tau, a, s: M.coupling(a[0], a[1]) if len(a) == 2 else sp.Symbol("@gamma"),
    "c": lambda M, tau, a, s: (a[0] - a[1])**2,                           # quadratic cost |x - y|^2
    "T": lambda M, tau, a, s: (M.interp(_arg(a, 1), a[0]) if len(a) == 2 else M.tmap.subs(X_SYM, _arg(a)))
    if a else M.horizon,
    "v": lambda M, tau, a, s: M.mccann_velocity(_arg(a), tau),
    "Z": lambda M, tau, a, s: ot.eot_normaliser_1d(M.m1, M.v1, M.m2, M.v2, M.eps),
    # Prop. 7.5.1 (1): a conditional flow joining (x_0, x_1) other than the straight line, Psi_t = x_0 + t^2 (x_1 - x_0)
    "Psidot": lambda M, tau, a, s: 2 * tau * (a[1] - a[0]),      # (the time argument arrives as tau)
    # Brenier potential of the Monge map from p_0 = p_src to N(0, 1) (003 §7.5.1): u' = T
    "u": lambda M, tau, a, s: sp.integrate(ot.monge_map_1d(X_SYM, M.m1, M.v1, 0, 1), X_SYM).subs(X_SYM, _arg(a)),
}

SB = {
    **COMMON_OT,
    "p": _sb_density, "q": _sb_density, "score": _score(_sb_density),
    "f": lambda M, tau, a, s: sp.Integer(0),                               # Brownian reference: f = 0
    "g": lambda M, tau, a, s: sp.sqrt(M.eps),                              # g = sqrt(eps)
    "Psi": lambda M, tau, a, s: M.sb["psi"].subs({X_SYM: _arg(a), T_SYM: _arg(a, 1, tau)}, simultaneous=True),
    "Psihat": lambda M, tau, a, s: M.sb["psihat"].subs({X_SYM: _arg(a), T_SYM: _arg(a, 1, tau)}, simultaneous=True),
    # the optimal controls, derived from the SB marginals (not from the potentials): v* the affine drift with
    # diffusion eps that has those marginals; u* = b^- - f = v* - eps d/dx log p_t (time reversal, Nelson)
    "v": lambda M, tau, a, s: M.sb["drift"].subs({X_SYM: _arg(a), T_SYM: tau}, simultaneous=True),
    "u": lambda M, tau, a, s: (M.sb["drift"] - M.eps * sp.diff(sp.log(M.sb_density(X_SYM, T_SYM)), X_SYM)).subs(
        {X_SYM: _arg(a), T_SYM: tau}, simultaneous=True),
    "w": lambda M, tau, a, s: sp.Symbol("w"),
}

# Half bridge with Psi = 1 (003 §7.4.1, (7.4.1)): only P_0 = p_src is imposed, the optimum is the reference itself.
# hat Psi solves the second equation of (7.2.12) from hat Psi(., 0) = p_src / Psi(., 0) = p_src (heat semigroup of
# dX = sqrt(eps) dW applied to p_src, derive._heat route); p^SB is the reference marginal, the law of
# x_0 + sqrt(eps t) z (Gaussian sum of independent variables).
HALF = {**COMMON_OT,
        "Psi": lambda M, tau, a, s: sp.Integer(1),
        "Psihat": lambda M, tau, a, s: ot.half_bridge_psihat_1d(_arg(a), _arg(a, 1, tau), M.m1, M.v1, M.eps),
        "p": lambda M, tau, a, s: _gauss(M, s, _arg(a)) if _gauss(M, s, _arg(a)) is not None
        else normal_pdf(_arg(a), M.m1, M.v1 + M.eps * tau),
        "f": lambda M, tau, a, s: sp.Integer(0), "g": lambda M, tau, a, s: sp.sqrt(M.eps)}

# §7.5.1: the OU process dx = -x dt + sqrt(2) dw from p_0 = N(m1, v1); S_t the PF-ODE flow map 0 -> t (exact for
# Gaussian data, derive.pf_ode.gaussian_flow_map), v_t = -x - grad log p_t. Jacobians D (d/dx in one dimension):
# \Phi_{DS} = D S_t(x), \Phi_{Dv} = D v_t at S_t(x), \Phi_{DDlogp} = D^2 log p_t at S_t(x) (methods_ot.prenormalise).
def _ou_schedule():
    return schedules.ornstein_uhlenbeck(theta=1, noise=sp.sqrt(2))


def _ou_log_density(M, xx, tau):
    sc = _ou_schedule()
    return sp.log(normal_pdf(xx, sc.alpha(tau) * M.m1, sc.alpha(tau)**2 * M.v1 + sc.sigma(tau)**2))


def _ou_flow(M, xx, tau):
    return pf_ode.gaussian_flow_map(_ou_schedule(), 0, tau, xx, M.m1, M.v1)


def _ou_operator(M, tau, a, sub):
    z = sp.Symbol("z_ou", real=True)
    name = sub.strip("{} ")
    flow = _ou_flow(M, X_SYM, tau)
    if name == "DS":
        return sp.diff(flow, X_SYM)
    velocity = -z - sp.diff(_ou_log_density(M, z, tau), z)
    if name == "Dv":
        return sp.diff(velocity, z).subs(z, flow)
    if name == "DDlogp":
        return sp.diff(_ou_log_density(M, z, tau), z, 2).subs(z, flow)
    raise NotationError(f"operator Phi_{name} has no meaning in the OU notation")


OU = {**COMMON_OT, "Phi": _ou_operator}

# Sinkhorn form: u(x), v(y) are unknown positive scaling functions (methods_ot: field ``separable``)
SINKHORN = {**STATIC, "u": lambda M, tau, a, s: sp.Function("u_scale", positive=True)(*a),
            "v": lambda M, tau, a, s: sp.Function("v_scale", positive=True)(*a)}

NOTATIONS = {"ot003.static": STATIC, "ot003.sb": SB, "ot003.sinkhorn": SINKHORN, "ot003.half": HALF, "ot003.ou": OU}
