r"""Notations of 003 Appendix D.3-D.5 (proofs of Lemma 5.1.1, Thm 5.2.2, Prop 6.3.1, eq. (10.1.4), Prop 10.2.1,
Thm 11.2.1, Prop 11.3.1); read after the rewrites of checks/methods_appd345.prepare.

Reference model: a schedule (alpha_t, sigma_t) with Gaussian data N(m, v) (checks/methods_flow._models), where
the PF-ODE flow maps are exact (derive.pf_ode.gaussian_flow_map) and the PF velocity is f x - g^2/2 score
(derive.fokker_planck, notations_flow.pf_velocity). Networks are arbitrary smooth functions (``_net``) so that
the identities proved for *any* student / consistency function are tested away from the optimum.

* "appd345.flow"   D.3: z, x (bare or at time t) the point x; y a second free point; z_0, x_0 states at time 0;
                   F, v, v_t the PF velocity; p_t(x), p(z, t), p (bare: at (x, t)), p_0 the marginal at time 0,
                   p_t^fwd = p_t (prenormalise); Psi(a, b, y) the exact flow map a -> b (Psi_t = Psi_{0 -> t});
                   varphi a smooth rapidly decaying test function, varphidot its derivative; z(t), x(t) the exact
                   PF-ODE trajectory through the anchor xi at time T.
* "appd345.euler"  as "appd345.flow" but z_{t+Delta t} is the Euler image z_t + Delta t F(z_t, t) of the
                   discretised ODE (first display of D.3.1), so that the change-of-variables chain is about it.
* "appd345.param"  D.4: x_t the state, s^* the marginal score, x^* = E[x_0 | x_t] and eps^* = E[eps | x_t] as
                   posterior integrals over the data (Bayes, not Tweedie), v^* the PF velocity, alpha', sigma'.
* "appd345.kd"     D.5.1: x_a ~ p_a a state at time a (bound by E_{x_a ~ p_a}), Psi_{a -> b} exact flow maps,
                   G_theta(y, a, b) an arbitrary smooth student, p_data = p_0, p_prior = p_T, Psi # p push-forward.
* "appd345.vsd"    D.5.2: generator G_theta(z) = theta (1 + z) + theta^2/4, z, eps ~ N(0, 1) independent,
                   xhat_t = alpha_t G_theta(z) + sigma_t eps (claims expand the document's definition); q_t
                   (p_t^theta) the law of xhat_t, p_t the teacher marginal;
                   v_theta(x) = E[d xhat_t / d theta | xhat_t = x] by Gaussian conditioning (derive.gaussian).
* "appd345.ct"     D.5.3: notation "ct_003" (shared (x_0, eps) pair) plus xhat_{s'} = the DDIM step of
                   derive.ddim from x_s with the exact x-prediction, and E[A | x_s] for any A (posterior quadrature).
* "appd345.cm"     D.5.4: x_s a point of one exact PF-ODE trajectory (notations_guidance.trajectory), xtilde the
                   flow map Psi_{s -> s - Delta}(x_s); f_theta = Psi_{s -> 0} + theta phi, f_{theta^-} the same with
                   theta^- (phi a fixed smooth perturbation), so delta f = (theta - theta^-) phi; omega(s) = 1 + s^2;
                   E[.] the expectation over x_s ~ p_s (over the trajectory's anchor ~ p_{1/2}).
"""
from __future__ import annotations

import sympy as sp

from checks.notation import COMMON, NotationError
from checks.notations_flow import XI, _flow_args, _split_time, expectation as post_expectation, pf_trajectory, pf_velocity
from checks.notations_guidance import ANCHOR, ANCHOR_TIME, CT, S_SYM, T_END, ddim_exact, flow, trajectory, velocity, when
from derive import gaussian as G
from derive.data import normal_pdf
from derive.symbols import dt as DT, eps as EPS, t as T_SYM, x as X_SYM, x0 as X0_SYM, y as Y_SYM

THETA = sp.Symbol("theta", real=True)            #: the (scalar) parameter of a student / generator
THETA_M = sp.Symbol("theta_minus", real=True)    #: the stop-gradient copy theta^-
Z_LAT = sp.Symbol("z_lat", real=True)            #: latent z ~ N(0, 1) of a generator
U_INT = sp.Symbol("u_int", real=True)            #: integration variable of an expectation over a state


def test_function(a):
    """A smooth, rapidly decaying test function (the weak form needs decay for integration by parts)."""
    return (1 + a / 2) * sp.exp(-(a - sp.Rational(3, 10))**2 / 2)


def _test(M, tau, args, sub):
    return test_function(args[0] if args else X_SYM)


def _test_rate(M, tau, args, sub):
    y = sp.Dummy("y", real=True)
    return sp.diff(test_function(y), y).subs(y, args[0] if args else X_SYM)


def _rate(name):
    def handler(M, tau, args, sub):
        time, _ = _split_time(tau, args)
        return sp.diff(getattr(M, name)(T_SYM), T_SYM).subs(T_SYM, time)
    return handler


# --- D.3 -----------------------------------------------------------------------------------------------

def _point(M, tau, args, sub):
    if sub.strip("{} ") == "0":
        return M.state(sp.Integer(0))
    if not sub or tau == T_SYM:
        return X_SYM
    return M.state(tau)


def _euler_point(M, tau, args, sub):
    """z_{t+dt} := z_t + dt F(z_t, t): the discretised ODE of D.3.1; other times as in appd345.flow."""
    if sp.simplify(tau - (T_SYM + DT)) == 0:
        return X_SYM + DT * pf_velocity(M, X_SYM, T_SYM)
    return _point(M, tau, args, sub)


def _density(M, tau, args, sub):
    time, rest = _split_time(tau, args)
    if sub.strip("{} ") == "0" or "data" in sub:
        time = sp.Integer(0)
    elif "prior" in sub:
        time = T_END
    return M.density(rest[0] if rest else X_SYM, time)


def _velocity(M, tau, args, sub):
    time, rest = _split_time(tau, args)
    return pf_velocity(M, rest[0] if rest else X_SYM, time)


def _path(M, tau, args, sub):
    return pf_trajectory(M, args[0] if args else tau)


FLOW = {**COMMON, "x": _point, "z": _point, "y": lambda M, tau, a, s: Y_SYM,
        "p": _density, "F": _velocity, "v": _velocity, "Psi": lambda M, tau, a, s: pf_trajectory(M, *_end_point_start(tau, a)),
        "varphi": _test, "varphidot": _test_rate, "xpath": _path, "zpath": _path, "xi": lambda M, tau, a, s: XI}


def _end_point_start(tau, args):
    start, end, xx = _flow_args(tau, args)
    return end, xx, start


EULER = {**FLOW, "z": _euler_point}


# --- D.4 -----------------------------------------------------------------------------------------------

def _posterior(body):
    def handler(M, tau, args, sub):
        return post_expectation(M, tau, (body,), "post")
    return handler


PARAM = {**COMMON,
         "sstarvec": lambda M, tau, a, s: M.score(a[0] if a else X_SYM, T_SYM),
         "xstarvec": _posterior(X0_SYM), "epsilonstarvec": _posterior(EPS),
         "vstarvec": lambda M, tau, a, s: pf_velocity(M, a[0] if a else X_SYM, T_SYM),
         "Phi": post_expectation, "alphadot": _rate("alpha"), "sigmadot": _rate("sigma"),
         "epsilon": lambda M, tau, a, s: EPS}


# --- D.5.1 ---------------------------------------------------------------------------------------------

def student(y, a, b):
    """An arbitrary smooth student G_theta(y, a, b) (identities must hold for every student)."""
    return sp.sin(y / 2 + a) + y**2 / 5 - b / 3


def _expect_state(M, tau, args, sub):
    """E_{x_a ~ p_a}[B] (written Evec(B, a)): B's state at time a integrated against the marginal p_a."""
    if len(args) != 2:
        raise NotationError("E_{x_a ~ p_a}[B] is read as Evec(B, a)")
    time = args[1]
    state = M.state(time)
    body = args[0].subs(state, U_INT)
    return sp.Integral(body * M.density(U_INT, time), (U_INT, -sp.oo, sp.oo))


def _push(M, tau, args, sub):
    r"""Psi_{a -> b} # p_c at the point x: p_c(Psi_{b -> a}(x)) |d Psi_{b -> a}(x)/dx| (change of variables)."""
    start, end, density = (args if len(args) == 3 else (tau, *args))
    back = pf_trajectory(M, start, X_SYM, end)
    return density.subs(X_SYM, back) * sp.Abs(sp.diff(back, X_SYM))


KD = {**COMMON, "x": _point, "p": _density,
      "Psi": lambda M, tau, a, s: pf_trajectory(M, *_end_point_start(tau, a)),
      "G": lambda M, tau, a, s: student(*a), "Evec": _expect_state, "pushvec": _push,
      "T": lambda M, tau, a, s: T_END}


# --- D.5.2 ---------------------------------------------------------------------------------------------

def generator(theta, z):
    """G_theta(z): a generator with a non-linear dependence on theta."""
    return theta * (1 + z) + theta**2 / 4


def _xhat(M, tau):
    return M.alpha(tau) * generator(THETA, Z_LAT) + M.sigma(tau) * EPS


def _gen_law(M, tau):
    """Mean and variance of xhat_t (z, eps independent standard normals)."""
    xh = _xhat(M, tau)
    mean = xh.subs({Z_LAT: 0, EPS: 0})
    return mean, sp.diff(xh, Z_LAT)**2 + sp.diff(xh, EPS)**2


def _gen_velocity(M, tau, args, sub):
    """v_theta(x) = E[d xhat/d theta | xhat = x] (Gaussian conditioning, derive.gaussian.condition_joint)."""
    time, rest = _split_time(tau, args)
    xx = rest[0] if rest else X_SYM
    xh = _xhat(M, time)
    u = sp.diff(xh, THETA)
    mean_y, var_y = _gen_law(M, time)
    cov = sp.diff(u, Z_LAT) * sp.diff(xh, Z_LAT) + sp.diff(u, EPS) * sp.diff(xh, EPS)
    mean_u = u.subs({Z_LAT: 0, EPS: 0})
    var_u = sp.diff(u, Z_LAT)**2 + sp.diff(u, EPS)**2
    return G.condition_joint(mean_u, mean_y, var_u, var_y, cov, xx)[0]


def _gen_density(M, tau, args, sub):
    time, rest = _split_time(tau, args)
    return normal_pdf(rest[0] if rest else X_SYM, *_gen_law(M, time))


def _kl(M, tau, args, sub):
    """D_KL(q || p) of two densities of the point x: the integral of q log(q/p) over the line."""
    q, p = args
    return sp.Integral(q * sp.log(q / p), (X_SYM, -sp.oo, sp.oo))


def _gen_expect(M, tau, args, sub):
    """E[B] over xhat_t ~ p_t^theta at a fixed t (B a function of the point x)."""
    return sp.Integral(args[0] * _gen_density(M, T_SYM, (), ""), (X_SYM, -sp.oo, sp.oo))


VSD = {**COMMON, "KLvec": _kl, "Evec": _gen_expect, "w": lambda M, tau, a, s: 1 + (a[0] if a else tau)**2, "theta": lambda M, tau, a, s: THETA, "z": lambda M, tau, a, s: Z_LAT,
       "G": lambda M, tau, a, s: generator(THETA, a[0] if a else Z_LAT),
       "x": lambda M, tau, a, s: X_SYM,
       "v": _gen_velocity, "q": _gen_density, "p": _density}


# --- D.5.3 ---------------------------------------------------------------------------------------------

_W = sp.Symbol("w_int", real=True)
_OBS = sp.Symbol("obs", real=True)


def _ct_expect_any(M, tau, args, sub):
    """E[A | x_a] for any A(x_0, eps) under the shared pair x_a = alpha_a x_0 + sigma_a eps: given the observed
    value, (x_0, eps) = (w, (obs - alpha_a w)/sigma_a) with w integrated against the Gaussian posterior of x_0
    (derive.gaussian.bayes_linear); obs is then the sample's own x_a."""
    inner, time = args[0], args[-1]
    state = CT["x"](M, time, (), "")
    m, v = M.data.means[0], M.data.variances[0]
    post_mean, post_var = G.bayes_linear(m, v, M.alpha(time), 0, M.sigma(time)**2, _OBS)
    body = inner.subs({X0_SYM: _W, EPS: (_OBS - M.alpha(time) * _W) / M.sigma(time)}, simultaneous=True)
    return sp.Integral(body * normal_pdf(_W, post_mean, post_var), (_W, -sp.oo, sp.oo)).subs(_OBS, state)


CT_D = {**CT, "xhat": lambda M, tau, a, sub: ddim_exact(M, CT["x"](M, S_SYM, (), ""), S_SYM, when(sub, tau))}
CT_ANY = {**CT_D, "Evec": _ct_expect_any}


# --- D.5.4 ---------------------------------------------------------------------------------------------

def perturbation(y, a):
    """A fixed smooth function: the direction in which the consistency network moves with theta."""
    return (y / 3 + a + sp.Rational(1, 5)) * sp.sin(a + y / 4) / 5


def f_net(M, param, y, a):
    """Consistency network f(y, a) = Psi_{a -> 0}(y) + param * phi(y, a): the oracle moved by param."""
    return flow(M, y, a, 0) + param * perturbation(y, a)


def _partial(param, which):
    """d/dy or d/da of f_net at the given arguments (fresh variables, then substituted)."""
    def handler(M, tau, args, sub):
        yy, aa = sp.Symbol("y_p", real=True), sp.Symbol("a_p", positive=True)
        expr = f_net(M, param, yy, aa)
        return sp.diff(expr, yy if which == "x" else aa).subs({yy: args[0], aa: args[1]}, simultaneous=True)
    return handler


def _net(param):
    def handler(M, tau, args, sub):
        return f_net(M, param, args[0], args[1])
    return handler


def _cm_point(M, tau, args, sub):
    if not sub and not args:
        raise NotationError("a bare x has no meaning in appd345.cm")
    return trajectory(M, when(sub, tau))


def _cm_expect(M, tau, args, sub):
    """E[B] over x_s ~ p_s: the trajectory's anchor X (its value at time 1/2) has law p_{1/2}."""
    return sp.Integral(args[0] * M.density(ANCHOR, ANCHOR_TIME), (ANCHOR, -sp.oo, sp.oo))


CM = {**COMMON,
      "x": _cm_point, "xtilde": lambda M, tau, a, sub: flow(M, trajectory(M, S_SYM), S_SYM, when(sub, tau)),
      "Psi": lambda M, tau, a, s: flow(M, *(lambda st, en, y: (y, st, en))(*_flow_args(tau, a))),
      "vstarvec": lambda M, tau, a, s: velocity(M, a[0], a[1]),
      "fthetavec": _net(THETA), "fminusvec": _net(THETA_M),
      "fdsminusvec": _partial(THETA_M, "s"), "fdxminusvec": _partial(THETA_M, "x"),
      "deltafvec": lambda M, tau, a, s: (_net(THETA)(M, tau, (trajectory(M, S_SYM), S_SYM), s)
                                         - _net(THETA_M)(M, tau, (trajectory(M, S_SYM), S_SYM), s)),
      "w": lambda M, tau, a, s: 1 + (a[0] if a else tau)**2,      # omega(s) (rewritten w_omega(s)): a weight
      "Evec": _cm_expect, "theta": lambda M, tau, a, s: THETA, "thetaminus": lambda M, tau, a, s: THETA_M}


NOTATIONS = {
    "appd345.flow": FLOW,
    "appd345.euler": EULER,
    "appd345.param": PARAM,
    "appd345.kd": KD,
    "appd345.vsd": VSD,
    "appd345.ct": CT_D,
    "appd345.ct.any": CT_ANY,
    "appd345.cm": CM,
}
