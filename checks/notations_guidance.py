r"""Notations of the book 003, chapters 8 (guidance), 10 (distillation) and 11 (consistency models, CTM, MeanFlow).

Every quantity is interpreted in a reference model where it is known exactly (schedule alpha_t, sigma_t from
derive.schedules; Gaussian data N(m, v) unless stated). Networks (subscripts theta, theta^-, phi^x) are read at
their optimum (the ideal object they are trained to match), except in "cm_003.net" where they are arbitrary.
The LaTeX of a claim is first rewritten by checks.methods_guidance.prepare (stars, underbraces, flow-map arrows,
conditional expectations); the placeholder names below (``gstarvec``, ``Evec``, ...) are the ones it produces.

* "guidance_003": class-conditional data. The label c (also the measurement y) has p(c) = 3/10 and
  x_0 | c ~ N(1, 1/2); the other class (weight 7/10) is N(-1/2, 1). p_t(x_t) is the mixture's marginal,
  p_t(x_t | c) the class marginal, p_t(c | x_t) the posterior (Bayes), p_t(x_t | c, omega) the tilted density
  p_t(x_t) p_t(c | x_t)^omega of eq. (8.2.2) (unnormalised: only its score is used). s(x_t, t, c) / s(x_t, t, null)
  are the conditional / unconditional scores; s^CG, s^CFG the score of the tilted density. x_{t -> t-1} is the
  DDIM step (derive.ddim) from x_t to t - Delta, with the ideal predictions of the unconditional model.
  Remark of sec. 8.1 (tilted PF-ODE): h_t = exp(-w_t tau l), l(x) = (x - 1)^2/2, w_t = 1 + t, tau = 7/5;
  ptilt = p_t h_t / Z_t (Z_t by completing the square, derive.gaussian), vorig / vtilt the PF-ODE velocities of p_t / ptilt.
* "pd_003": progressive distillation (sec. 10.3). x_s is the current state at time s; xtilde_u, xtilde_t the
  two teacher DDIM steps s -> u -> t (derive.ddim.ddim_step with the exact x-prediction of Gaussian data);
  xtilde (no subscript) the student target *solved* from 'one DDIM step with x-prediction xtilde equals
  xtilde_t'; xtilde'_t the student's single step with that target.
* "ct_003": consistency training/distillation (sec. 11.2): x_tau = alpha_tau x_0 + sigma_tau eps with one shared
  (x_0, eps) pair; E[A | x_tau] the exact conditional expectation (A linear in x_0, eps); the one-point score
  -(x_s - alpha_s x_0)/sigma_s^2; x^DDIM_{tau} the DDIM step from x_s.
* "cm_003": flow maps (secs. 10.1, 11.1-11.5): x_tau, x(tau) are points of one exact PF-ODE trajectory (through a
  free point X at time 1/2); Psi_{a -> b} the exact PF-ODE flow map of Gaussian data (derive.pf_ode);
  v* the PF-ODE velocity; f* = Psi_{s -> 0}; G* = Psi_{s -> t}; g* (eq. 11.4.1) and h* (average velocity) from
  Psi, their diagonal values t = s as limits (derivative of Psi); ideal networks equal these. Bare x is the
  clean data x_0 (inside E[x | x_tau]).
* "cm_003.net": as cm_003 but h_theta = h* + phi is an arbitrary network (phi a fixed smooth perturbation),
  g_theta = x - s h_theta (eq. 11.5.x parameterisation) and G_theta from g_theta by eq. (11.4.2); the consistency
  network f_theta = f* + phi(x, s, 0) is arbitrary as well (chain-rule identities (11.3.3)).
"""
from __future__ import annotations

import functools
import re

import sympy as sp

from checks.notation import COMMON, parse_time
from derive import ddim, gaussian, pf_ode
from derive.data import normal_pdf
from derive.symbols import dt as DT, eps as EPS, t as T_SYM, tau as TAU, u as U_SYM, x as X_SYM, x0 as X0_SYM
from derive.symbols import z as Z_SYM

S_SYM = sp.Symbol("s", positive=True)
T_END = sp.Symbol("T", positive=True)
ANCHOR = sp.Symbol("X", real=True)            #: the free point of the reference trajectory (cm_003)
ANCHOR_TIME = sp.Rational(1, 2)
CLASS = sp.Symbol("c_label")                  #: the condition c (or measurement y): a label, not a number
NULL = sp.Symbol("null_label")                #: the null token of classifier-free guidance
OMEGA = sp.Symbol("omega", positive=True)     #: guidance scale
W_CLASS = sp.Rational(3, 10)
CLASS_LAW = (sp.Integer(1), sp.Rational(1, 2))          # x_0 | c
OTHER_LAW = (sp.Rational(-1, 2), sp.Integer(1))         # x_0 | not c


def when(sub: str, default):
    r"""Time of a subscript: t, s, u, T, 0, \tau, t-1 (an earlier time t - Delta), s-\Delta t; else ``default``."""
    text = re.sub(r"\s+", "", sub or "")
    if not text or re.search(r"theta|phi|psi", text):
        return default
    if text in (r"\tau", "tau"):
        return TAU
    mo = re.match(r"^([tsu])-(\d)$", text)
    if mo:                                        # discrete index t-1: an earlier time, t - k Delta
        return {"t": T_SYM, "s": S_SYM, "u": U_SYM}[mo.group(1)] - int(mo.group(2)) * DT
    found = parse_time(text)
    return default if found is None else found


def _time_arg(args, index, default):
    return args[index] if len(args) > index else default


# --- Gaussian data: marginals, score, predictions ---------------------------------------------------

def _gauss(M):
    if len(M.data.weights) != 1:
        raise ValueError("this notation is exact for Gaussian data only")
    return M.data.means[0], M.data.variances[0]


def marginal_var(M, tau):
    _, var = _gauss(M)
    return M.alpha(tau)**2 * var + M.sigma(tau)**2


def score(M, y, tau):
    """Score of the Gaussian marginal N(alpha m, alpha^2 v + sigma^2) at y."""
    mean, _ = _gauss(M)
    return -(y - M.alpha(tau) * mean) / marginal_var(M, tau)


def x0_pred(M, y, tau):
    """Tweedie E[x_0 | x_tau = y] = (y + sigma^2 score)/alpha."""
    return (y + M.sigma(tau)**2 * score(M, y, tau)) / M.alpha(tau)


def eps_pred(M, y, tau):
    return -M.sigma(tau) * score(M, y, tau)


def velocity(M, y, tau):
    """PF-ODE velocity v*(y, tau) = f y - g^2/2 score (eq. 10.1.1)."""
    return M.f(tau) * y - M.g2(tau) * score(M, y, tau) / 2


def flow(M, y, a, b):
    """Exact PF-ODE flow map Psi_{a -> b}(y) of Gaussian data (derive.pf_ode.gaussian_flow_map)."""
    mean, var = _gauss(M)
    return pf_ode.gaussian_flow_map(M.schedule, a, b, y, mean, var)


_DDIM_ARGS = sp.symbols("y_d e_d a_to s_to a_from s_from", real=True)


@functools.cache
def _ddim_generic():
    y, e, a_to, s_to, a_from, s_from = _DDIM_ARGS
    return ddim.ddim_step(y, e, a_to, s_to, a_from, s_from)


def ddim_from_x0(M, y, a, b, x0_hat):
    """DDIM step a -> b of y with x-prediction x0_hat (derive.ddim.ddim_step with eps from x0_hat).

    The step is derived once with plain symbols and then evaluated at the model's quantities."""
    eps_hat = (y - M.alpha(a) * x0_hat) / M.sigma(a)
    values = (y, eps_hat, M.alpha(b), M.sigma(b), M.alpha(a), M.sigma(a))
    return _ddim_generic().subs(dict(zip(_DDIM_ARGS, values)), simultaneous=True)


def ddim_exact(M, y, a, b):
    return ddim_from_x0(M, y, a, b, x0_pred(M, y, a))


# --- chapter 8: class-conditional data -------------------------------------------------------------

def _class_density(M, y, tau, law):
    mean, var = law
    return normal_pdf(y, M.alpha(tau) * mean, M.alpha(tau)**2 * var + M.sigma(tau)**2)


def _mixture(M, y, tau):
    return W_CLASS * _class_density(M, y, tau, CLASS_LAW) + (1 - W_CLASS) * _class_density(M, y, tau, OTHER_LAW)


def _label(a) -> bool:
    return a in (CLASS, NULL)


def _g_density(M, tau, args, sub):
    """p_t(x), p_t(x | c), p_t(c | x), p(c), p_t(x | c, omega) (tilted), p_psi(c | x, t) (ideal classifier)."""
    tau = when(sub, tau)
    args = [a for a in args if not (a.free_symbols and a.free_symbols <= {T_SYM, S_SYM, U_SYM, TAU})]  # trailing t
    if len(args) == 1 and _label(args[0]):
        return W_CLASS if args[0] == CLASS else sp.Integer(1)
    if len(args) == 1:
        return _mixture(M, args[0], tau)
    if len(args) == 2 and _label(args[1]):
        return _class_density(M, args[0], tau, CLASS_LAW) if args[1] == CLASS else _mixture(M, args[0], tau)
    if len(args) == 2 and _label(args[0]):
        return W_CLASS * _class_density(M, args[1], tau, CLASS_LAW) / _mixture(M, args[1], tau)
    if len(args) == 3 and args[1] == CLASS:
        posterior = W_CLASS * _class_density(M, args[0], tau, CLASS_LAW) / _mixture(M, args[0], tau)
        return _mixture(M, args[0], tau) * posterior**args[2]
    raise ValueError(f"p with arguments {args} has no meaning in notation guidance_003")


def _g_score(M, tau, args, sub):
    """grad_x log of the density named by the arguments (the state is x_t = x)."""
    return sp.diff(sp.log(_g_density(M, tau, args, sub)), X_SYM)


def _g_network_score(M, tau, args, sub):
    """s_phi(x, t, c) / s_phi(x, t, null) / s_phi(x, t): the ideal conditional / unconditional score."""
    if not args:
        return S_SYM
    cond = [a for a in args if _label(a)]
    return _g_score(M, _time_arg([a for a in args if not _label(a)], 1, tau), [args[0]] + cond[:1], "")


def _g_tilted_score(M, tau, args, sub):
    """Score of the tilted density (8.2.2): s^CG(x, t, c; omega) and s^CFG(x, t, c; omega)."""
    return _g_score(M, tau, [args[0], CLASS, args[-1]], "")


def _g_ddim(M, tau, args, sub):
    """x_{a -> b}: DDIM step (derive.ddim) of the unconditional mixture model, exact predictions."""
    y, a, b = args
    offset = sp.simplify(b - a)
    if offset.is_integer:                       # discrete index t-1: the earlier time t - Delta (as in ``when``)
        b = a + offset * DT
    sc = sp.diff(sp.log(_mixture(M, X_SYM, a)), X_SYM).subs(X_SYM, y)
    x0_hat = (y + M.sigma(a)**2 * sc) / M.alpha(a)
    return ddim_from_x0(M, y, a, b, x0_hat)


def _g_pred(kind):
    def handler(M, tau, args, sub):
        sc = sp.diff(sp.log(_mixture(M, X_SYM, tau)), X_SYM).subs(X_SYM, args[0])
        return (args[0] + M.sigma(tau)**2 * sc) / M.alpha(tau) if kind == "x0" else sc
    return handler


def _g_x0_network(M, tau, args, sub):
    """x_phi(x, s, c) / x_phi(x, s, null): Tweedie x-prediction of the class-conditional / unconditional model."""
    y, time = args[0], _time_arg(args, 1, tau)
    cond = [a for a in args if _label(a)]
    return (y + M.sigma(time)**2 * _g_score(M, time, [y] + cond[:1], "")) / M.alpha(time)


def _g_x0_guided(M, tau, args, sub):
    """x^omega_phi(x, s, c): Tweedie x-prediction of the score of the tilted density (8.2.2) with exponent 1 + omega
    (eq. (10.3.4) writes the guidance weight as 1 + omega)."""
    y, time = args[0], _time_arg(args, 1, tau)
    tilted = _g_score(M, time, [y, CLASS, 1 + OMEGA], "")
    return (y + M.sigma(time)**2 * tilted) / M.alpha(time)


# Remark of sec. 8.1: tilt by h_t(x) = exp(-w_t tau l(x)) with the loss l(x) = (x - 1)^2/2, w_t = 1 + t, tau = 7/5.
_TILT = (1 + T_SYM) * sp.Rational(7, 5)


def _tilt_h(y):
    return sp.exp(-_TILT * (y - 1)**2 / 2)


@functools.cache
def _gauss_tilt_integral():
    """int N(x; mu, V) exp(-k (x - 1)^2 / 2) dx by completing the square (derive.gaussian.marginalize)."""
    xx, mu = sp.Symbol("x_i", real=True), sp.Symbol("mu_i", real=True)
    var, k = sp.symbols("V_i k_i", positive=True)
    exponent = sp.expand_log(sp.log(normal_pdf(xx, mu, var)), force=True) - k * (xx - 1)**2 / 2
    return (mu, var, k), sp.exp(gaussian.marginalize(exponent, xx))


def _tilt_z(M, tau):
    """Z_t = int p_t(x) h_t(x) dx for the class mixture (sum of Gaussian integrals)."""
    cache = M.__dict__.setdefault("_tilt_z", {})
    if tau in cache:
        return cache[tau]
    (mu, var, k), value = _gauss_tilt_integral()
    total = sp.Integer(0)
    for weight, (mean, v0) in ((W_CLASS, CLASS_LAW), (1 - W_CLASS, OTHER_LAW)):
        total += weight * value.subs({mu: M.alpha(tau) * mean, var: M.alpha(tau)**2 * v0 + M.sigma(tau)**2,
                                      k: _TILT.subs(T_SYM, tau)}, simultaneous=True)
    cache[tau] = total
    return total


def _p_tilt(M, y):
    return _mixture(M, y, T_SYM) * _tilt_h(y) / _tilt_z(M, T_SYM)


def _velocity_of(M, y, log_density):
    """PF-ODE velocity f y - g^2/2 d/dy log density (the density a function of y at time t)."""
    return M.f(T_SYM) * y - M.g2(T_SYM) / 2 * sp.diff(log_density, X_SYM).subs(X_SYM, y)


TILT = {
    "ptiltvec": lambda M, tau, a, s: _p_tilt(M, a[0] if a else X_SYM),
    "vorigvec": lambda M, tau, a, s: _velocity_of(M, a[0] if a else X_SYM, sp.log(_mixture(M, X_SYM, T_SYM))),
    "vtiltvec": lambda M, tau, a, s: _velocity_of(M, a[0] if a else X_SYM, sp.log(_p_tilt(M, X_SYM))),
    "hvec": lambda M, tau, a, s: _tilt_h(a[0] if a else X_SYM),
    "Zvec": lambda M, tau, a, s: _tilt_z(M, a[0] if a else T_SYM),
}


def _coef(name):
    return lambda M, tau, a, sub: getattr(M, name)(when(sub, a[0] if a else tau))


TIMES = {"t": lambda M, tau, a, s: T_SYM, "u": lambda M, tau, a, s: U_SYM, "tau": lambda M, tau, a, s: TAU,
         "T": lambda M, tau, a, s: T_END, "dt": lambda M, tau, a, s: DT}

GUIDANCE = {
    **COMMON, **TIMES,
    "x": lambda M, tau, a, s: X_SYM, "y": lambda M, tau, a, s: CLASS,
    "c": lambda M, tau, a, sub: NULL if "emptyset" in sub else CLASS,
    "omega": lambda M, tau, a, s: OMEGA,
    "alpha": _coef("alpha"), "sigma": _coef("sigma"),
    "p": _g_density, "score": _g_score, "s": _g_network_score,
    "sCGvec": _g_tilted_score, "sCFGvec": _g_tilted_score,
    **TILT,
    "xphivec": _g_x0_network, "xphiomegavec": _g_x0_guided,
    "xstepvec": _g_ddim, "xhatvec": _g_pred("x0"), "shatvec": _g_pred("score"),
    "f": lambda M, tau, a, s: M.f(a[0] if a else tau),
}


# --- chapters 10-11: Gaussian data, states, flow maps ----------------------------------------------

def _state_pd(M, tau, args, sub):
    """x_s: the free current state (the only state of the distillation step)."""
    time = when(sub, tau)
    if time != S_SYM:
        raise ValueError(f"notation pd_003 has only the state x_s, got x at time {time}")
    return ANCHOR


def _pd_teacher(M, tau, args, sub):
    """xtilde_u, xtilde_t: the two teacher DDIM steps s -> u -> t from x_s; xtilde: the solved target."""
    time = when(sub, None)
    if not hasattr(M, "_pd_steps"):
        x_u = ddim_exact(M, ANCHOR, S_SYM, U_SYM)
        M._pd_steps = (x_u, ddim_exact(M, x_u, U_SYM, T_SYM))
    x_u, x_t = M._pd_steps
    if time == U_SYM:
        return x_u
    if time == T_SYM:
        return x_t
    if time is None:   # the target: solve 'student DDIM step s -> t with x-prediction X equals x_t' for X
        unknown = sp.Symbol("target", real=True)
        equation = ddim_from_x0(M, ANCHOR, S_SYM, T_SYM, unknown) - x_t      # linear in the unknown
        slope = sp.diff(equation, unknown)
        if slope == 0 or unknown in slope.free_symbols:
            raise ValueError("the student step is not an invertible affine function of its target")
        return -equation.subs(unknown, 0) / slope
    raise ValueError(f"xtilde at {sub!r} is not defined in pd_003")


def _pd_student(M, tau, args, sub):
    """xtilde'_t: the student's single DDIM step s -> t with the solved target as x-prediction."""
    return ddim_from_x0(M, ANCHOR, S_SYM, T_SYM, _pd_teacher(M, tau, args, ""))


def _x0_network(M, tau, args, sub):
    return x0_pred(M, args[0], _time_arg(args, 1, tau))


PD = {**COMMON, **TIMES,
      "x": _state_pd, "xtilde": _pd_teacher, "xstudentvec": _pd_student, "xphivec": _x0_network,
      "alpha": _coef("alpha"), "sigma": _coef("sigma")}


def register(M, expr, time):
    """Record the time of a state expression, so that checks.notation reads p(x_s | x_0), s(x_s) at it."""
    M._times[expr] = time
    return expr


def _ct_state(M, tau, args, sub):
    time = when(sub, tau)
    return X0_SYM if time == 0 else register(M, M.alpha(time) * X0_SYM + M.sigma(time) * EPS, time)


def expectation(M, inner, state, time):
    """E[inner | x_time = state] for inner affine in (x_0, eps), Gaussian data (Tweedie)."""
    for sym in (X0_SYM, EPS):
        if sp.diff(inner, sym, 2) != 0:
            raise ValueError("E[A | x] is exact here only for A affine in x_0 and eps")
    return inner.subs({X0_SYM: x0_pred(M, state, time), EPS: eps_pred(M, state, time)}, simultaneous=True)


def _ct_expect(M, tau, args, sub):
    inner, time = args[0], args[-1]
    return expectation(M, inner, _ct_state(M, time, (), ""), time)


def _ct_score(M, tau, args, sub):
    time = when(sub, tau)
    if len(args) == 2:   # conditional score grad log p(x_s | x_0)
        return -(args[0] - M.alpha(time) * args[1]) / M.sigma(time)**2
    return score(M, args[0], time)


def _ct_onepoint(M, tau, args, sub):
    time = args[-1]
    return -(args[0] - M.alpha(time) * X0_SYM) / M.sigma(time)**2


def _ct_ddim(M, tau, args, sub):
    """x^DDIM_{b}: the DDIM step from x_s to time b (exact x-prediction)."""
    return ddim_exact(M, _ct_state(M, S_SYM, (), ""), S_SYM, args[-1] if args else when(sub, tau))


def _dot(name):
    def handler(M, tau, args, sub):
        time = when(sub, tau)
        return sp.diff(getattr(M, name)(T_SYM), T_SYM).subs(T_SYM, time)
    return handler


CT = {**COMMON, **TIMES,
      "x": _ct_state, "epsilon": lambda M, tau, a, s: EPS, "Evec": _ct_expect, "score": _ct_score,
      "scorehatvec": _ct_onepoint, "xDDIMvec": _ct_ddim, "xphivec": _x0_network,  # ideal x-prediction (Tweedie)
      "Psi": lambda M, tau, args, sub: flow(M, args[0], args[1], when(sub, tau)),
      "vstarvec": lambda M, tau, a, s: velocity(M, a[0], a[1]),
      "s": lambda M, tau, a, sub: score(M, a[0], a[1] if len(a) > 1 else when(sub, tau)) if a else S_SYM,
      "xtilde": lambda M, tau, a, sub: ddim_exact(M, _ct_state(M, S_SYM, (), ""), S_SYM, when(sub, tau)),
      "alpha": _coef("alpha"), "sigma": _coef("sigma"), "alphadot": _dot("alpha"), "sigmadot": _dot("sigma")}


def trajectory(M, time):
    """The point at ``time`` of the PF-ODE trajectory through (ANCHOR, 1/2)."""
    return register(M, flow(M, ANCHOR, ANCHOR_TIME, time), time)


def _cm_state(M, tau, args, sub):
    if not sub and not args:
        return X0_SYM                      # bare x: the clean data (E[x | x_tau]) or a free point
    return trajectory(M, when(sub, tau))


_B = sp.Symbol("b_time", positive=True)


def avg_velocity(M, y, a, b):
    """h*(y, a, b) = (Psi_{a->b}(y) - y)/(b - a); at b = a the limit d/db Psi_{a->b}(y)."""
    if sp.simplify(a - b) == 0:
        return sp.diff(flow(M, y, a, _B), _B).subs(_B, a)
    return (flow(M, y, a, b) - y) / (b - a)


def g_star(M, y, a, b):
    """g*(y, a, b) = y + a/(a - b) int_a^b v* = y - a h*(y, a, b) (eq. 11.4.1)."""
    return y - a * avg_velocity(M, y, a, b)


def _perturbation(y, a, b):
    """A fixed smooth non-zero function: an arbitrary (non-optimal) network's error."""
    return (y / 3 + a * b + sp.Rational(1, 5)) * sp.sin(a + 2 * b + y / 4) / 5


def _net(M, y, a, b, arbitrary):
    h = avg_velocity(M, y, a, b)
    return h + _perturbation(y, a, b) if arbitrary else h


def _partial(fn, which):
    """d/dy or d/da of fn(M, y, a, *rest) at the given arguments (fresh symbols, then substituted)."""
    def handler(M, tau, args, sub):
        y, a, rest = args[0], args[1], args[2:]
        yy, aa = sp.Symbol("y_p", real=True), sp.Symbol("a_p", positive=True)
        expr = fn(M, yy, aa, *rest)
        var = yy if which == "x" else aa
        return sp.diff(expr, var).subs({yy: y, aa: a}, simultaneous=True)
    return handler


def _cm(arbitrary: bool) -> dict:
    def h_theta(M, y, a, b):
        return _net(M, y, a, b, arbitrary)

    def g_theta(M, y, a, b):
        return y - a * h_theta(M, y, a, b)

    def big_g_theta(M, y, a, b):
        return b / a * y + (a - b) / a * g_theta(M, y, a, b)

    def f_theta(M, y, a):
        """Consistency function: ideal f* = Psi_{a->0}, or (arbitrary) f* + phi(y, a, 0)."""
        return flow(M, y, a, 0) + (_perturbation(y, a, 0) if arbitrary else 0)

    def three(fn):
        return lambda M, tau, args, sub: fn(M, *args)

    return {
        **COMMON, **TIMES,
        "x": _cm_state, "X": _cm_state,
        "Psi": lambda M, tau, args, sub: flow(M, args[0], args[1], when(sub, tau)),
        "vstarvec": lambda M, tau, a, s: velocity(M, a[0], a[1]),
        "vthetavec": lambda M, tau, a, s: velocity(M, a[0], a[1]),
        "v": lambda M, tau, a, s: velocity(M, a[0], a[1]),          # v_phi: the teacher velocity at its optimum
        "s": lambda M, tau, a, sub: score(M, a[0], a[1] if len(a) > 1 else when(sub, tau)) if a else S_SYM,
        "xtilde": lambda M, tau, a, sub: ddim_exact(M, trajectory(M, S_SYM), S_SYM, when(sub, tau)),
        "hstarvec": three(avg_velocity), "htgtvec": three(h_theta), "hthetavec": three(h_theta),
        "gstarvec": three(g_star), "gthetavec": three(g_theta),
        "Gstarvec": lambda M, tau, a, s: flow(M, a[0], a[1], a[2]), "Gthetavec": three(big_g_theta),
        "fstarvec": lambda M, tau, a, s: flow(M, a[0], a[1], 0),
        "fthetavec": lambda M, tau, a, s: f_theta(M, a[0], a[1]),
        "fdxstarvec": _partial(lambda M, y, a: flow(M, y, a, 0), "x"),
        "fdsstarvec": _partial(lambda M, y, a: flow(M, y, a, 0), "s"),
        "fdxthetavec": _partial(lambda M, y, a: f_theta(M, y, a), "x"),
        "fdsthetavec": _partial(lambda M, y, a: f_theta(M, y, a), "s"),
        "hdxstarvec": _partial(avg_velocity, "x"), "hdsstarvec": _partial(avg_velocity, "s"),
        "hdxthetavec": _partial(lambda M, y, a, b: h_theta(M, y, a, b), "x"),
        "hdsthetavec": _partial(lambda M, y, a, b: h_theta(M, y, a, b), "s"),
        "xeulervec": lambda M, tau, a, s: a[0] + (a[2] - a[1]) * velocity(M, a[0], a[1]),
        "Evec": lambda M, tau, a, s: expectation(M, a[0], trajectory(M, a[-1]), a[-1]),
        "score": lambda M, tau, a, sub: score(M, a[0], when(sub, tau)),
        "d": lambda M, tau, a, s: (a[0] - a[1])**2,
        "alpha": _coef("alpha"), "sigma": _coef("sigma"),
    }


NOTATIONS = {
    "guidance_003": GUIDANCE,
    "pd_003": PD,
    "ct_003": CT,
    "cm_003": _cm(False),
    "cm_003.net": _cm(True),
}


# --- sec. 8.1 Remark: Gaussian data with a Gaussian tilt (notation "tilt_003") ------------------------------
# The model carries the tilt as ``M._tilt = (k_t, c_t)`` (expressions in t): h_t(x) = exp(-k_t (x - c_t)^2 / 2),
# set by the method "tilt" of checks/methods_guidance.py (consistent tilts from derive.guidance.consistent_tilt,
# and tilts that are not). p_t is the Gaussian marginal N(alpha m, alpha^2 v + sigma^2), Z_t = int p_t h_t dx
# (derive.guidance.tilt_normaliser), ptilt = p_t h_t / Z_t, vorig / vtilt the PF-ODE velocities of p_t / ptilt.

def _tilt_parts(M, tau=T_SYM):
    mean, var = _gauss(M)
    k, c = (q.subs(T_SYM, tau) for q in M._tilt)
    return M.alpha(tau) * mean, marginal_var(M, tau), k, c


def _t_density(M, y, tau=T_SYM):
    mu, var, _, _ = _tilt_parts(M, tau)
    return normal_pdf(y, mu, var)


def _t_h(M, y, tau=T_SYM):
    _, _, k, c = _tilt_parts(M, tau)
    return sp.exp(-k * (y - c)**2 / 2)


def _t_z(M, tau=T_SYM):
    from derive.guidance import tilt_normaliser
    return tilt_normaliser(*_tilt_parts(M, tau))


def _t_tilted(M, y):
    return _t_density(M, y) * _t_h(M, y) / _t_z(M)


TILT_TAU = sp.Rational(7, 5)


def _t_loss(M, y):
    """The loss l(x, c; t) = k_t (x - c_t)^2 / (2 w_t tau) of the tilt h_t = exp(-w_t tau l), w_t = 1 + t, tau = 7/5;
    the surrogate likelihood ptilde_t(c | x) = exp(-tau l) / (1 + t) (any x-free normaliser)."""
    _, _, k, c = _tilt_parts(M)
    return k * (y - c)**2 / (2 * (1 + T_SYM) * TILT_TAU)


def _arg(a):
    return a[0] if a else X_SYM


TILT_GAUSS = {
    **COMMON, **TIMES,
    "x": lambda M, tau, a, s: X_SYM,
    "p": lambda M, tau, a, s: _t_density(M, _arg(a)),
    "hvec": lambda M, tau, a, s: _t_h(M, _arg(a)),
    "Zvec": lambda M, tau, a, s: _t_z(M, a[0] if a else T_SYM),
    "ptiltvec": lambda M, tau, a, s: _t_tilted(M, _arg(a)),
    "vorigvec": lambda M, tau, a, s: _velocity_of(M, _arg(a), sp.log(_t_density(M, X_SYM))),
    "vtiltvec": lambda M, tau, a, s: _velocity_of(M, _arg(a), sp.log(_t_tilted(M, X_SYM))),
    "f": lambda M, tau, a, s: M.f(a[0] if a else tau),
    "c": lambda M, tau, a, s: CLASS,
    "w": lambda M, tau, a, s: 1 + T_SYM,                      # w_t = 1 + t
    "tau": lambda M, tau, a, s: TILT_TAU,
    "ellvec": lambda M, tau, a, s: _t_loss(M, _arg(a)),
    "psurvec": lambda M, tau, a, s: sp.exp(-TILT_TAU * _t_loss(M, _arg(a))) / (1 + T_SYM),
}


# --- sec. 11.3.3 sCM (notation "scm_003") -------------------------------------------------------------------
# TrigFlow path x_s = cos(s) x_0 + sin(s) z (eq. (11.3.7)), z = sigma_d eps; a concrete smooth "network"
# F(y, c; theta) (not an optimum: any smooth F), parameterisation (11.3.8) f(x, s) = cos(s) x - sin(s) sigma_d
# F(x / sigma_d, s) with c_noise(s) = s. F_theta and f_theta carry the parameter theta, F_theta^- and f_theta^- its
# stop-gradient copy theta^- (a separate symbol, set equal to theta after differentiation). Fdx = grad_{x_s} of
# F_theta^-(x_s / sigma_d, .) = (d_1 F)/sigma_d; Fds = d_2 F; fdx, fds the partial derivatives of f_theta^-; w = cos(s) d/ds f_theta^-(x_s, s) (the tangent of
# the sCM loss), r = 1 (after warm-up); y a vector independent of theta; bare x a free point; alpha_s = cos s and
# sigma_s = sigma_d sin s (the standard form x_s = alpha_s x_0 + sigma_s eps of the same path, eps = z / sigma_d);
# P_mean, P_std the proposal's parameters; e Euler's number; omega(s) = 1 + s^2 a positive weight; Lct the pointwise
# integrand of (11.3.4), omega(s) f_theta(x_s, s) d/ds f_theta^-(x_s, s).

SIGMA_D = sp.Symbol("sigma_d", positive=True)
THETA = sp.Symbol("theta", real=True)
THETA_MINUS = sp.Symbol("theta_minus", real=True)
Y_VEC = sp.Symbol("y_vec", real=True)
X_FREE = sp.Symbol("x_free", real=True)
P_MEAN = sp.Symbol("P_mean", real=True)
P_STD = sp.Symbol("P_std", positive=True)


def scm_network(y, c, th):
    """A fixed smooth non-linear 'network' F(y, c; theta)."""
    return (th + 1 + c / 2) * y + sp.sin(c) / 2 + y**2 / 7 + th**2 * c / 3


def scm_path(tau):
    return sp.cos(tau) * X0_SYM + sp.sin(tau) * Z_SYM


def scm_consistency(xx, tau, th):
    """Eq. (11.3.8): f(x, s) = cos(s) x - sin(s) sigma_d F(x / sigma_d, s)."""
    return sp.cos(tau) * xx - sp.sin(tau) * SIGMA_D * scm_network(xx / SIGMA_D, tau, th)


def _scm_partial(index):
    def handler(M, tau, args, sub):
        y, c = args if args else (scm_path(S_SYM) / SIGMA_D, S_SYM)
        yy, cc = sp.symbols("y_n c_n", real=True)
        part = sp.diff(scm_network(yy, cc, THETA_MINUS), (yy, cc)[index]).subs({yy: y, cc: c}, simultaneous=True)
        return part / SIGMA_D if index == 0 else part
    return handler


def _f_partial(args, index):
    """d/dx or d/ds of f_theta^-(x, s) of (11.3.8) at the arguments."""
    yy, cc = sp.symbols("y_f c_f", real=True)
    part = sp.diff(scm_consistency(yy, cc, THETA_MINUS), (yy, cc)[index])
    return part.subs({yy: args[0], cc: args[1]}, simultaneous=True)


def _scm_net(th):
    def handler(M, tau, args, sub):
        y, c = args if args else (scm_path(S_SYM) / SIGMA_D, S_SYM)
        return scm_network(y, c, th)
    return handler


def _scm_state(M, tau, args, sub):
    if not sub and not args:
        return X_FREE
    return X0_SYM if when(sub, tau) == 0 else scm_path(when(sub, tau))


SCM = {
    **COMMON, **TIMES,
    "x": _scm_state, "z": lambda M, tau, a, s: Z_SYM, "y": lambda M, tau, a, s: Y_VEC,
    "sigma": lambda M, tau, a, sub: SIGMA_D if sub.strip("{} ") == "d" else SIGMA_D * sp.sin(a[0] if a else tau),
    "alpha": lambda M, tau, a, sub: sp.cos(a[0] if a else tau),
    "Fthvec": _scm_net(THETA), "Fnetvec": _scm_net(THETA_MINUS),
    "Fdxvec": _scm_partial(0), "Fdsvec": _scm_partial(1),
    "fdxvec": lambda M, tau, a, s: _f_partial(a, 0), "fdsvec": lambda M, tau, a, s: _f_partial(a, 1),
    "fthvec": lambda M, tau, a, s: scm_consistency(a[0], a[1], THETA),
    "fnetvec": lambda M, tau, a, s: scm_consistency(a[0], a[1], THETA_MINUS),
    "omega": lambda M, tau, a, s: 1 + (a[0] if a else tau)**2,          # a positive weight omega(s)
    "Lctvec": lambda M, tau, a, s: (1 + S_SYM**2) * scm_consistency(scm_path(S_SYM), S_SYM, THETA)
    * sp.diff(scm_consistency(scm_path(S_SYM), S_SYM, THETA_MINUS), S_SYM),
    "w": lambda M, tau, a, s: sp.cos(S_SYM) * sp.diff(scm_consistency(scm_path(S_SYM), S_SYM, THETA_MINUS), S_SYM),
    "r": lambda M, tau, a, s: sp.Integer(1),
    "q": lambda M, tau, a, s: THETA,
    "epsilon": lambda M, tau, a, s: Z_SYM / SIGMA_D, "e": lambda M, tau, a, s: sp.E,
    "P": lambda M, tau, a, sub: {"mean": P_MEAN, "std": P_STD}[sub.strip("{} ")],
}

NOTATIONS.update({"tilt_003": TILT_GAUSS, "scm_003": SCM})


# --- sec. 8.5 preference alignment (notation "dpo_003") ------------------------------------------------------
# A finite outcome set {0, 1, 2} (x_w = 0 the winner, x_l = 1 the loser; a bare x is the outcome being checked,
# M._dpo["k"]) with seeded reference probabilities pi_ref, rewards r, an arbitrary policy pi, KL weight beta and the
# constant Z(c) of the implicit reward; pi* the maximiser of (8.5.4) (derive.guidance.kl_regularised_optimum), Z(c)
# in (8.5.5) its partition function, r_pi = beta log(pi / pi_ref) + beta log Z(c) (8.5.6). Bradley-Terry: u = Delta r,
# sigma the logistic function, y the label, ell the per-pair logistic loss, p (= p_{r_psi}) a win probability,
# D_KL and H of Bernoulli laws from derive.guidance.bernoulli_kl / bernoulli_entropy.

U_BT = sp.Symbol("u_bt", real=True)
Y_LABEL = sp.Symbol("y_label", real=True)
P_WIN = sp.Symbol("p_win", real=True)


def _logistic(z):
    return 1 / (1 + sp.exp(-z))


def _dpo(M):
    return M._dpo


def _outcome(M, tau, args, sub):
    key = sub.strip("{} ")
    return sp.Integer({"w": 0, "l": 1}.get(key, _dpo(M)["k"])) if key in ("w", "l", "") else sp.Integer(_dpo(M)["k"])


def _pick(name):
    def handler(M, tau, args, sub):
        index = [a for a in args if a.is_Integer]
        return _dpo(M)[name][int(index[0])]
    return handler


def _bt_loss(M, tau, args, sub):
    p = _logistic(U_BT)
    return -(Y_LABEL * sp.log(p) + (1 - Y_LABEL) * sp.log(1 - p))


def _implicit_reward(M, tau, args, sub):
    d = _dpo(M)
    k = int([a for a in args if a.is_Integer][0])
    return d["beta"] * sp.log(d["policy"][k] / d["ref"][k]) + d["beta"] * sp.log(d["zc"])


def _kl(M, tau, args, sub):
    from derive.guidance import bernoulli_kl
    return bernoulli_kl(args[0], args[1])


def _entropy(M, tau, args, sub):
    from derive.guidance import bernoulli_entropy
    return bernoulli_entropy(args[0])


DPO = {
    "x": _outcome, "c": lambda M, tau, a, s: sp.Symbol("c_prompt"),
    "beta": lambda M, tau, a, s: _dpo(M)["beta"],
    "pistarvec": _pick("optimum"), "pirefvec": _pick("ref"), "pivec": _pick("policy"), "rvec": _pick("rewards"),
    "Zvec": lambda M, tau, a, s: sum(q * sp.exp(r / _dpo(M)["beta"]) for q, r in zip(_dpo(M)["ref"], _dpo(M)["rewards"])),
    "rpivec": _implicit_reward,
    "u": lambda M, tau, a, s: U_BT, "y": lambda M, tau, a, s: Y_LABEL, "sigmoidvec": lambda M, tau, a, s: _logistic(a[0]),
    "ellvec": _bt_loss, "pvec": lambda M, tau, a, s: P_WIN, "KLvec": _kl, "Hvec": _entropy,
}

NOTATIONS["dpo_003"] = DPO
