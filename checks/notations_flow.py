r"""Notations of the flow-matching / optimal-transport claims (families flow_003, flow_000).

Every notation maps the document's symbols to the reference model of checks/notation.py: a schedule
(alpha_t, sigma_t) with x_t = alpha_t x_0 + sigma_t eps and a data law. Velocities are never typed from a
claim: the marginal velocity is the probability-flow drift f(t) x - g(t)^2/2 grad log p_t(x) (derived from the
Fokker-Planck equation, derive/fokker_planck.py), the conditional velocity the same drift with the conditional
score of p_t(x | x_0), and a two-sided (deterministic) conditional velocity is d/dt of the interpolant.

* "flow.diff"  003 §5.2.1 (diffusion convention, t = 0 data): v_t(x) marginal velocity, v_t(x | x_0)
               conditional velocity, s_phi / s^* the score, F = v.
* "flow.fm"    003 §5.3-5.4 (FM convention, t = 0 source/noise, t = 1 target/data): x_t = a_t x_0 + b_t x_1 with
               a_t := sigma_t (prior coefficient), b_t := alpha_t (data coefficient) [003 Table 5.2 relabelling];
               x_0 is the noise eps, x_1 the data sample; x / x_t a free state; a', b' time derivatives.
* "flow.fm.pair" as "flow.fm" but x_t is the paired sample a_t x_0 + b_t x_1 (identities "for paired samples").
* "flow.gpath" 003 Prop. 5.3.1: the Gaussian marginal path p_t = N(mu(t), sigma(t)^2) of Gaussian data N(m, v):
               mu(t) = alpha_t m, sigma(t)^2 = alpha_t^2 v + sigma_t^2; Psi_{0->t} the (exact) PF-ODE flow map.
* "flow.traj"  trajectories of the PF-ODE (Gaussian data): x(tau), z(tau) with a time argument is the exact
               trajectory through the anchor point xi at time T; v, F, v_phi, v^* the PF velocity; p(y, tau) the
               marginal density at time tau, p_prior the law at time 0 (NODE convention of 003 §5.1).
* "flow.000"   000 §6.2 (Lipman et al.): conditional path p_t(x | x_1) = N(mu_t(x_1), sigma_t(x_1)^2) with
               mu_t(x_1) := alpha_t x_1, sigma_t(x_1) := sigma_t of the model (x_1 the data point); phi_t(x) =
               sigma_t x + mu_t (the flow (73)); v_t(x | x_1), u_t(x | x_1) the conditional velocity; p_0 the
               standard normal density N(0, 1); \mathcal{N}(mean, var) the density at the point x.
* "flow.000.rev" 000 Lipman examples (16)-(21), (41): reversed paths p_t(x | x_1) = N(alpha_{1-t} x_1, sigma_{1-t}^2):
               u_t(x | x_1) is the conditional velocity of the reversed (noise -> data) path, i.e. minus the
               conditional PF drift at time 1 - t; T(t) = int_0^t beta = -2 log alpha_t; w_t(y | y_0) the forward
               conditional PF drift; y, y_0 the state and the data point.
* "ot.sb"      003 ch. 7 Schrödinger-bridge limits with the bridge equal to the diffusion (Psi = 1): p^SB = p_t.
"""
from __future__ import annotations

import sympy as sp

from checks.notation import COMMON, NotationError
from derive.data import normal_pdf
from derive.symbols import eps as EPS, t as T_SYM, x as X_SYM, x0 as X0_SYM

XI = sp.Symbol("xi", real=True)          #: anchor point of a PF-ODE trajectory (its value at time T)
T_END = sp.Symbol("T", positive=True)


# --- helpers -----------------------------------------------------------------------------------------

def _rate(fn, M, tau):
    """d/dtau of a schedule quantity fn(M, time) at tau."""
    return sp.diff(fn(M, T_SYM), T_SYM).subs(T_SYM, tau)


def _is_time_expr(a) -> bool:
    """A time argument: a number (sigma(0)) or an expression of time symbols only."""
    if sp.sympify(a, strict=True).is_number:
        return True
    names = {s.name for s in sp.sympify(a, strict=True).free_symbols}
    return bool(names) and names <= {"t", "s", "u", "tau", "T", "Delta_t"}


def _split_time(tau, args):
    """(time, remaining args): a leading or trailing time argument (g(s), v(x, t)) overrides tau."""
    args = tuple(args)
    if args and _is_time_expr(args[-1]) and len(args) > 1:
        return args[-1], args[:-1]
    if args and _is_time_expr(args[0]):
        return args[0], args[1:]
    return tau, args


def _flow_args(tau, args):
    """(start time, end time, point) of a flow map written Psi(s, t, x) (see methods_flow.prenormalise)."""
    args = tuple(args)
    if len(args) == 3:
        return args
    if len(args) == 2:       # the leading time was taken as the quantity's time by the interpreter
        return (tau, args[0], args[1])
    raise NotationError(f"a flow map needs (start, end, point), got {args}")


def pf_velocity(M, xx, tau):
    """Marginal velocity of the probability-flow ODE: f(t) x - g(t)^2/2 grad log p_t(x) (003 (5.2.2))."""
    return M.f(tau) * xx - M.g2(tau) * M.score(xx, tau) / 2


def conditional_velocity(M, xx, tau, given):
    """Conditional velocity f(t) x - g(t)^2/2 grad log p_t(x | x_0) (003 §5.2.1, Fig. 5.5), given the data x_0."""
    mean, var = M.alpha(tau) * given, M.sigma(tau)**2
    return M.f(tau) * xx + M.g2(tau) * (xx - mean) / var / 2


def _gauss(M):
    if len(M.data.weights) != 1:
        raise NotationError("this quantity is exact for Gaussian data only (use the flow-gaussian method)")
    return M.data.means[0], M.data.variances[0]


def marginal_std(M, tau):
    m, v = _gauss(M)
    return sp.sqrt(M.alpha(tau)**2 * v + M.sigma(tau)**2)


def pf_trajectory(M, tau, anchor=XI, anchor_time=T_END):
    """Exact PF-ODE trajectory for Gaussian data N(m, v) through ``anchor`` at ``anchor_time``.

    x(tau) = alpha_tau m + s_tau / s_a (anchor - alpha_a m), s_tau^2 = alpha_tau^2 v + sigma_tau^2. It solves
    dx/dtau = pf_velocity(x, tau) (certified symbolically for the generic schedule in checks/methods_flow.py).
    """
    m, _ = _gauss(M)
    return M.alpha(tau) * m + marginal_std(M, tau) / marginal_std(M, anchor_time) * (anchor - M.alpha(anchor_time) * m)


def data_density(M, xx):
    """p_data: the data law itself (Gaussian or Gaussian mixture), not the marginal at time 0."""
    d = M.data
    return sp.Add(*[w * normal_pdf(xx, mu, var) for w, mu, var in zip(d.weights, d.means, d.variances)])


# --- expectations -------------------------------------------------------------------------------------------

def expectation(M, tau, args, sub):
    """Phi_post(B) = E[B | x_t = x] (posterior over the data x_0, the noise eliminated by x = alpha x_0 + sigma eps);
    Phi_data(B) = E_{x_0 ~ p_data}[B]. Returned as an integral over the data (evaluated by quadrature)."""
    if len(args) != 1:
        raise NotationError("an expectation takes one argument")
    body = args[0]
    time = T_SYM
    if "data" in sub:
        return sp.Integral(body * data_density(M, X0_SYM), (X0_SYM, -sp.oo, sp.oo))
    body = body.subs(EPS, (X_SYM - M.alpha(time) * X0_SYM) / M.sigma(time))
    posterior = normal_pdf(X_SYM, M.alpha(time) * X0_SYM, M.sigma(time)**2) * data_density(M, X0_SYM) / M.density(X_SYM, time)
    return sp.Integral(body * posterior, (X0_SYM, -sp.oo, sp.oo))


# --- "flow.diff" ----------------------------------------------------------------------------------------

def _v_diff(M, tau, args, sub):
    time, rest = _split_time(tau, args)
    xx = rest[0] if rest else M.state(time)
    if len(rest) >= 2:
        return conditional_velocity(M, xx, time, rest[1])
    own = M.time_of(xx) if rest and not sub else None
    return pf_velocity(M, xx, time if own is None or time != tau else own)


def _score_net(M, tau, args, sub):
    time, rest = _split_time(tau, args)
    if not rest:
        return sp.Symbol("s", positive=True)
    return M.score(rest[0], time)


def _p_diff(M, tau, args, sub):
    if "data" in sub or "pi" in sub:
        return data_density(M, args[0] if args else X0_SYM)
    return COMMON["p"](M, tau, args, sub)


DIFF = {**COMMON, "v": _v_diff, "F": _v_diff, "s": _score_net, "p": _p_diff, "Phi": expectation}
DIFF_Z = {**DIFF, "z": lambda M, tau, a, s: X0_SYM}


# --- "flow.fm" ---------------------------------------------------------------------------------------------

def _x_fm(M, tau, args, sub):
    if tau == 0:
        return EPS          # the source (noise) sample x_0 of the FM convention
    if tau == 1:
        return X0_SYM       # the target (data) sample x_1
    return M.state(tau)


def _x_pair(M, tau, args, sub):
    if tau in (0, 1):
        return _x_fm(M, tau, args, sub)
    return M.sigma(tau) * EPS + M.alpha(tau) * X0_SYM


def _interpolant_rate(M, tau):
    """d/dt of the two-sided conditional flow x_t = a_t x_0 + b_t x_1 (a := sigma, b := alpha)."""
    return sp.diff(M.sigma(T_SYM) * EPS + M.alpha(T_SYM) * X0_SYM, T_SYM).subs(T_SYM, tau)


def _v_fm(M, tau, args, sub):
    time, rest = _split_time(tau, args)
    xx = rest[0] if rest else M.state(time)
    if len(rest) == 3 or (len(rest) == 2 and rest[1] == EPS):    # v_t(x | x_0, x_1): two-sided, deterministic
        return _interpolant_rate(M, time)
    if len(rest) == 2:
        if rest[1] != X0_SYM:
            raise NotationError(f"v_t(x | z) is defined for z = x_1 (data) or z = (x_0, x_1), got {rest[1]}")
        return conditional_velocity(M, xx, time, X0_SYM)
    return pf_velocity(M, xx, time)


def _p_fm(M, tau, args, sub):
    time, rest = _split_time(tau, args)
    xx = rest[0] if rest else X_SYM
    if len(rest) == 2:
        if rest[1] != X0_SYM:
            raise NotationError("p_t(x | z) is defined here for z = x_1 (the data sample)")
        mean, var = M.conditional(xx, time, X0_SYM, 0)
        return normal_pdf(xx, mean, var)
    return M.density(xx, time)


FM = {**COMMON,
      "a": lambda M, tau, a, s: M.sigma(_split_time(tau, a)[0]),
      "b": lambda M, tau, a, s: M.alpha(_split_time(tau, a)[0]),
      "adot": lambda M, tau, a, s: _rate(lambda M_, T_: M_.sigma(T_), M, _split_time(tau, a)[0]),
      "bdot": lambda M, tau, a, s: _rate(lambda M_, T_: M_.alpha(T_), M, _split_time(tau, a)[0]),
      "x": _x_fm, "X": _x_fm, "z": _x_fm,
      "v": _v_fm, "p": _p_fm, "Phi": expectation,
      "xdot": lambda M, tau, a, s: _interpolant_rate(M, _split_time(tau, a)[0])}
FM_PAIR = {**FM, "x": _x_pair, "X": _x_pair, "z": _x_pair, "zhat": _x_pair}
FM_Z2 = {**FM, "z": lambda M, tau, a, s: EPS}      # z = (x_0, x_1): two-sided conditioning (marked by x_0)
# conditional affine flow Psi(x_0; z) = mu_t(z) + A_t(z) x_0 with the one-sided choice mu_t(z) = b_t z, A_t = a_t
FM_AFFINE = {**FM, "z": lambda M, tau, a, s: X0_SYM,
             "mu": lambda M, tau, a, s: M.alpha(_split_time(tau, a)[0]) * X0_SYM,
             "mudot": lambda M, tau, a, s: _rate(lambda M_, T_: M_.alpha(T_), M, _split_time(tau, a)[0]) * X0_SYM,
             "A": lambda M, tau, a, s: M.sigma(_split_time(tau, a)[0]),
             "Adot": lambda M, tau, a, s: _rate(lambda M_, T_: M_.sigma(T_), M, _split_time(tau, a)[0])}


# --- "flow.gpath" ------------------------------------------------------------------------------------------

def _mu_path(M, tau, args, sub):
    m, _ = _gauss(M)
    return M.alpha(_split_time(tau, args)[0]) * m


def _sigma_path(M, tau, args, sub):
    return marginal_std(M, _split_time(tau, args)[0])


def _flow_map(M, tau, args, sub):
    r"""Psi_{s->t}(x): the exact PF-ODE flow map from time s to time t (Gaussian data)."""
    start, end, xx = _flow_args(tau, args)
    return pf_trajectory(M, end, xx, start)


def _flow_rate(M, tau, args, sub):
    r"""Psi'_{s->t}(x) = d/dt Psi_{s->t}(x)."""
    start, end, xx = _flow_args(tau, args)
    time = sp.Dummy("time", positive=True)      # the end time alone varies (the point may depend on t)
    return sp.diff(pf_trajectory(M, time, xx, start), time).subs(time, end)


GPATH = {**COMMON,
         "mu": _mu_path, "sigma": _sigma_path,
         "mudot": lambda M, tau, a, s: _rate(lambda M_, T_: _mu_path(M_, T_, (), ""), M, _split_time(tau, a)[0]),
         "sigmadot": lambda M, tau, a, s: _rate(lambda M_, T_: marginal_std(M_, T_), M, _split_time(tau, a)[0]),
         "v": lambda M, tau, a, s: pf_velocity(M, *(lambda tr: (tr[1][0] if tr[1] else X_SYM, tr[0]))(_split_time(tau, a))),
         "Psi": lambda M, tau, a, s: (_flow_rate if "rate" in s else _flow_map)(M, tau, a, s)}
GPATH_Y = {**GPATH, "y": lambda M, tau, a, s: pf_trajectory(M, sp.Integer(0), X_SYM, T_SYM)}


# --- "flow.traj" -------------------------------------------------------------------------------------------

def _v_traj(M, tau, args, sub):
    time, rest = _split_time(tau, args)
    return pf_velocity(M, rest[0] if rest else X_SYM, time)


def _p_traj(M, tau, args, sub):
    time, rest = _split_time(tau, args)
    if "prior" in sub or "data" in sub:
        time = sp.Integer(0)
    elif "phi" in sub and len(rest) == len(args):   # no explicit time argument
        time = T_END            # p_phi(x): the model density at the data end T (NODE convention)
    xx = rest[0] if rest else X_SYM
    return M.density(xx, time)


def _traj(M, tau, args, sub):  # noqa: F811 - the path handler of "flow.traj"
    r"""xpath(t) (x(t) in the text): the trajectory at t; z_0, \hat{z}_1: at 0 / 1; bare x or z: the point x(T)."""
    if args:
        return pf_trajectory(M, args[0])
    if sub.strip("{} ") in ("0", "1"):
        return pf_trajectory(M, sp.Integer(int(sub.strip("{} "))))
    if sub and not args and tau != T_SYM:
        return pf_trajectory(M, tau)
    return XI                   # x = x(T) = z(T): the point whose likelihood is computed


def _path(M, tau, args, sub):
    """xpath(t) (x(t) in the text; the interpreter passes a symbolic time as tau, a number as argument)."""
    return pf_trajectory(M, args[0] if args else tau)


TRAJ = {**COMMON, "T": lambda M, tau, a, s: T_END, "Psi": _flow_map, "xpath": _path, "zpath": _path, "x": _traj, "z": _traj, "zhat": _traj, "v": _v_traj, "F": _v_traj, "p": _p_traj}


# --- "flow.000" --------------------------------------------------------------------------------------------

def _mu000(M, tau, args, sub):
    return M.alpha(_split_time(tau, args)[0]) * X0_SYM


def _sigma000(M, tau, args, sub):
    if "min" in sub:
        params = M.schedule.numeric_params()
        if "sigma_min" not in params:
            raise NotationError(f"sigma_min is not a constant of schedule {M.schedule.name!r}")
        return sp.nsimplify(params["sigma_min"])
    return M.sigma(_split_time(tau, args)[0])


def _phi000(M, tau, args, sub):
    """phi_t(x) = sigma_t x + mu_t(x_1): the conditional flow (73) (written phi(0, t, x) after prenormalise)."""
    start, end, xx = _flow_args(tau, args) if len(args) >= 2 else (0, tau, args[0] if args else X_SYM)
    if start != 0:
        raise NotationError("only the forward map phi_t = phi_{0->t} of (73) is defined")
    return M.sigma(end) * xx + M.alpha(end) * X0_SYM


def _v000(M, tau, args, sub):
    time, rest = _split_time(tau, args)
    xx = rest[0] if rest else X_SYM
    if len(rest) == 2:
        return conditional_velocity(M, xx, time, rest[1])
    return pf_velocity(M, xx, time)


def _p000(M, tau, args, sub):
    time, rest = _split_time(tau, args)
    if len(rest) == 2:
        mean, var = M.conditional(rest[0], time, X0_SYM, 0)
        return normal_pdf(rest[0], mean, var)
    if sub.strip("{} ") == "0":
        return normal_pdf(rest[0] if rest else X_SYM, 0, 1)    # p_0 = N(0, I) (71)
    return M.density(rest[0] if rest else X_SYM, time)


def _normal_at_x(M, tau, args, sub):
    """\\mathcal{N}(mean, var): the density at the point x; N(x | mean, var) with three arguments."""
    if len(args) == 3:
        return normal_pdf(*args)
    if len(args) == 2:
        return normal_pdf(X_SYM, *args)
    raise NotationError("\\mathcal{N} takes (mean, variance) or (x, mean, variance)")


def _x000(M, tau, args, sub):
    if tau == 1:
        return X0_SYM      # the data point x_1
    return M.state(tau)


N000 = {**COMMON,
        "x": _x000, "y": _x000,
        "mu": _mu000, "sigma": _sigma000,
        "mudot": lambda M, tau, a, s: _rate(lambda M_, T_: M_.alpha(T_) * X0_SYM, M, _split_time(tau, a)[0]),
        "sigmadot": lambda M, tau, a, s: _rate(lambda M_, T_: M_.sigma(T_), M, _split_time(tau, a)[0]),
        "phi": _phi000,
        "v": _v000, "u": _v000, "p": _p000, "N": _normal_at_x, "mathcalN": _normal_at_x,
        "e": lambda M, tau, a, s: sp.E}


# --- "flow.000.rev" ----------------------------------------------------------------------------------------

def _u_rev(M, tau, args, sub):
    """Conditional velocity of the reversed (noise -> data) path p_t(x | x_1) = p_{1-t}^{diffusion}(x | x_1)."""
    time, rest = _split_time(tau, args)
    xx, given = (rest + (X0_SYM,))[:2] if rest else (X_SYM, X0_SYM)
    return -conditional_velocity(M, xx, 1 - time, given)


def _w_fwd(M, tau, args, sub):
    time, rest = _split_time(tau, args)
    xx, given = (rest + (X0_SYM,))[:2] if rest else (X_SYM, X0_SYM)
    return conditional_velocity(M, xx, time, given)


def _w_reversed(M, tau, args, sub):
    """tilde w_t(y | y_0) = -w_{1-t}(y | y_0): the conditional field of the time-reversed path (Lipman et al., Lemma 1)."""
    time, rest = _split_time(tau, args)
    return -_w_fwd(M, 1 - time, rest, sub)


def _big_t(M, tau, args, sub):
    time, _ = _split_time(tau, args)
    return -2 * sp.log(M.alpha(time))


def _p_rev(M, tau, args, sub):
    """Reversed (noise -> data) path: p_t(x | x_1) = N(alpha_{1-t} x_1, sigma_{1-t}^2), p_t(x) = p^diff_{1-t}(x)."""
    time, rest = _split_time(tau, args)
    xx = rest[0] if rest else X_SYM
    if len(rest) == 2:
        return normal_pdf(xx, M.alpha(1 - time) * rest[1], M.sigma(1 - time)**2)
    return M.density(xx, 1 - time)


REV = {**COMMON, "p": _p_rev, "N": _normal_at_x, "mathcalN": _normal_at_x,
       "x": lambda M, tau, a, s: X0_SYM if s.strip("{} ") == "1" else X_SYM,
       "y": lambda M, tau, a, s: X0_SYM if s.strip("{} ") == "0" else X_SYM,
       "alpha": lambda M, tau, a, s: M.alpha(_split_time(tau, a)[0]),
       "sigma": lambda M, tau, a, s: M.sigma(_split_time(tau, a)[0]),
       "alphadot": lambda M, tau, a, s: _rate(lambda M_, T_: M_.alpha(T_), M, _split_time(tau, a)[0]),
       "sigmadot": lambda M, tau, a, s: _rate(lambda M_, T_: M_.sigma(T_), M, _split_time(tau, a)[0]),
       "T": _big_t,
       "Tdot": lambda M, tau, a, s: _rate(lambda M_, T_: -2 * sp.log(M_.alpha(T_)), M, _split_time(tau, a)[0]),
       "beta": lambda M, tau, a, s: -2 * M.f(_split_time(tau, a)[0]),
       "u": _u_rev, "w": _w_fwd, "wtilde": _w_reversed,
       "e": lambda M, tau, a, s: sp.E}


def _p_map(M, tau, args, sub):
    time, rest = _split_time(tau, args)
    xx = rest[0] if rest else X_SYM
    return M.density(xx, sp.Integer(0) if sub.strip("{} ") == "0" else time)


# "flow.000.map" (000 (65)-(66)): phi_t the exact PF-ODE flow map of the model (Gaussian data), p_0 the initial law
N000_MAP = {**COMMON, "phi": _flow_map, "p": _p_map}
# "flow.000.vp" (registered in NOTATIONS below): the appendix's forward VP path, the symbols of "flow.000.rev" but
# p_t(y | y_0) the forward kernel.


# --- chapter 7 ------------------------------------------------------------------------------------------------

def _ou_point(M, tau, a, s):
    from derive.symbols import y as Y_SYM
    return Y_SYM


OT_OU = {**COMMON, "S": _flow_map, "v": lambda M, tau, a, s: pf_velocity(M, a[0] if a else X_SYM, tau),
         "y": _ou_point, "x": lambda M, tau, a, s: X_SYM}
# "ot.eps": dx = v^eps dt + sqrt(2 eps) dw realised by the model's forward SDE: v^eps = f(t) x, eps = g^2/2
OT_EPS = {**COMMON, "v": lambda M, tau, a, s: M.f(tau) * (a[0] if a else X_SYM),
          "epsilon": lambda M, tau, a, s: M.g2(tau) / 2}
# "ot.eps0": the eps -> 0 limit, v^0 the probability-flow velocity (continuity equation)
OT_EPS0 = {**COMMON, "v": lambda M, tau, a, s: pf_velocity(M, a[0] if a else X_SYM, tau)}
# "ot.sb": Schrödinger bridge without terminal constraint (the diffusion itself): Psi = 1, Psihat = p_t,
# b^+ = f + g^2 grad log Psi (forward drift), b^- = b^+ - g^2 grad log p (Nelson's backward drift)
OT_SB = {**COMMON, "Psi": lambda M, tau, a, s: sp.Integer(1),
         "Psihat": lambda M, tau, a, s: M.density(a[0] if a else X_SYM, _split_time(tau, a)[0]),
         "h": lambda M, tau, a, s: (M.f(tau) * X_SYM if "fwd" in s else
                                    M.f(tau) * X_SYM - M.g2(tau) * M.score(X_SYM, tau)),
         "s": lambda M, tau, a, sub: M.score(a[0], _split_time(tau, a)[0]) if a else sp.Symbol("s", positive=True)}


U_INT = sp.Symbol("upsilon", real=True)   #: integration variable (not a time symbol)


def _p_ends(M, tau, args, sub):
    """p_prior at t = 1 (diffusion convention of §5.2.1), p_src at t = 0 (FM convention), else p_t."""
    time, rest = _split_time(tau, args)
    xx = rest[0] if rest else X_SYM
    if "prior" in sub:
        time = sp.Integer(1)
    elif "src" in sub:
        time = sp.Integer(0)
    return M.density(xx, time)


# "flow.pushforward" (003 (5.2.4), (5.2.12)): densities induced by the exact PF-ODE flow maps; u an integration variable
PUSH = {**GPATH, "p": _p_ends, "u": lambda M, tau, a, s: U_INT, "x": lambda M, tau, a, s: X_SYM}


NOTATIONS = {
    "flow.pushforward": PUSH,
    "ot.bm": {**COMMON, "epsilon": lambda M, tau, a, s: M.g2(tau)},
    "flow.diff": DIFF,
    "flow.diff.z": DIFF_Z,
    "flow.fm.z2": FM_Z2,
    "flow.fm.affine": FM_AFFINE,
    "flow.fm.affine.pair": {**FM_AFFINE, "x": _x_pair},
    # "flow.nf" (003 (5.1.1)): x = x(T) the data point, z = f_phi^{-1}(x) its latent (the trajectory at time 0)
    "flow.nf": {**TRAJ, "z": lambda M, tau, a, s: pf_trajectory(M, sp.Integer(0))},
    "flow.gpath.y": GPATH_Y,
    "flow.000.map": N000_MAP,
    "ot.ou": OT_OU,
    "ot.eps": OT_EPS,
    "ot.eps0": OT_EPS0,
    "ot.sb": OT_SB,
    "flow.fm": FM,
    "flow.fm.pair": FM_PAIR,
    "flow.gpath": GPATH,
    "flow.traj": TRAJ,
    "flow.000": N000,
    "flow.000.rev": REV,
    "flow.000.vp": {**REV, "p": COMMON["p"]},
}


def _path_state(M, tau, args, sub):
    """xpath(t): the state at time t (notations without trajectories)."""
    return M.state(args[0] if args else tau)


for _name, _table in NOTATIONS.items():
    for _key in ("xpath", "zpath"):
        _table.setdefault(_key, _path_state)
