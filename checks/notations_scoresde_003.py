r"""Notations of the book 003 (chapter 4, score SDE): alpha_t, sigma_t the schedule; f, g the SDE coefficients.

The book writes the drift f(x, t) or f(t) x and the diffusion g(t); in integrals the integration variable
(s, u, tau) is a time. Function handlers here read a non-state argument as the time at which to evaluate.

* "scoresde_003"     : f(x,t) = f(t) x, f(t), g(t), beta(t) = -2 f(t), sigma(t), alpha(t) at their argument;
                       s, u, tau plain times (s(x, t) with a state argument is the score);
                       m(t) = alpha(t) x_0 (conditional mean), P(t) = sigma(t)^2 (conditional variance),
                       B(t) = int_0^t beta = -2 log alpha(t) (VP), v(x,t) the PF-ODE velocity.
                       sigma_min/max, beta_min/max: the constants of the ve / vp-linear schedule.
                       xbar, xtilde (reverse-time / PF-ODE paths) are the state; e = exp(1);
                       I, I_D the identity (one coordinate: 1).
"""
from __future__ import annotations

import sympy as sp

from checks.notation import COMMON, X_SYM
from derive.symbols import dt as DT_SYM, x0 as X0_SYM

S_T, U_T, TAU_T = (sp.Symbol(n, positive=True) for n in ("s", "u", "tau"))


def _is_state(a) -> bool:
    return a == X_SYM or a == X0_SYM or (isinstance(a, sp.Symbol) and a.name.startswith("x["))


def _time(tau, args):
    """The time of a coefficient: its last non-state argument, else the subscript/default time."""
    for a in reversed(args):
        if not _is_state(a):
            return a
    return tau


def _coef(fn):
    return lambda M, tau, a, s: fn(M, _time(tau, a))


def _f(M, tau, a, s):
    coeff = M.f(_time(tau, a))
    return coeff * a[0] if a and _is_state(a[0]) else coeff


def _param(M, base, sub):
    """sigma_min, sigma_max, beta_min, beta_max: the constants of the ve / vp-linear schedule (else None)."""
    key = sub.replace("\\", "").strip()
    if key in ("min", "max"):
        params = M.schedule.numeric_params()
        name = f"{base}_{key}"
        if name not in params:
            raise ValueError(f"{base}_{key} is not a constant of schedule {M.schedule.name!r}")
        return sp.nsimplify(params[name])
    return None


def _velocity(M, tau, a, s):
    xx = a[0] if a and _is_state(a[0]) else X_SYM
    time = _time(tau, a)
    return M.f(time) * xx - M.g2(time) * M.score(xx, time) / 2


BASE = {
    **COMMON,
    "f": _f,
    "g": _coef(lambda M, t: M.g(t)),
    "beta": lambda M, tau, a, sub: _param(M, "beta", sub) or -2 * M.f(_time(tau, a)),
    "sigma": lambda M, tau, a, sub: _param(M, "sigma", sub) or M.sigma(_time(tau, a)),
    "alpha": _coef(lambda M, t: M.alpha(t)),
    "s": lambda M, tau, a, sub: M.score(a[0], _time(tau, a[1:])) if a else S_T,
    "u": lambda M, tau, a, s: U_T,
    "tau": lambda M, tau, a, s: TAU_T,
    "m": lambda M, tau, a, s: M.alpha(_time(tau, a)) * X0_SYM,
    "P": _coef(lambda M, t: M.sigma(t)**2),
    "B": _coef(lambda M, t: -2 * sp.log(M.alpha(t))),
    "v": _velocity,
    "xbar": lambda M, tau, a, s: M.state(_time(tau, a)),
    "xtilde": lambda M, tau, a, s: M.state(_time(tau, a)),
    "e": lambda M, tau, a, s: sp.E,
    "I": lambda M, tau, a, s: sp.Integer(1),   # identity matrix: isotropic, one coordinate
}

NOTATIONS = {"scoresde_003": BASE}


# "scoresde_003.x0": x_0 = x(0) is the state of the SDE at time 0 (not the noise-free data of the reference
# model): conditioning on it uses the SDE's transition kernel from time 0, so that for VE
# p_t(x_t | x_0) = N(x_0, sigma^2(t) - sigma^2(0)) (sigma(0) = sigma_min > 0). P(t) is then the conditional
# variance from time 0 and m(t) the conditional mean.
_X0_SDE = sp.Symbol("x[0;sde]", real=True)


def _state0(M, tau, a, s):
    if tau == 0:
        M._times[_X0_SDE] = sp.Integer(0)
        return _X0_SDE
    return M.state(tau)


def _cond0(M, tau):
    M._times[_X0_SDE] = sp.Integer(0)
    return M.schedule.transition(sp.Integer(0), tau)


BASE_X0 = {
    **BASE,
    "x": _state0,
    "xbar": lambda M, tau, a, s: _state0(M, _time(tau, a), a, s),
    "m": lambda M, tau, a, s: _cond0(M, _time(tau, a))[0] * _state0(M, sp.Integer(0), (), ""),
    "P": lambda M, tau, a, s: _cond0(M, _time(tau, a))[1],
}

NOTATIONS["scoresde_003.x0"] = BASE_X0

# ftilde: the velocity of the continuity equation after (4.1.8), the document's name for v (f~ := v).
BASE["ftilde"] = _velocity
BASE_X0["ftilde"] = _velocity

# "scoresde_003.gauss" (§4.1.6, one-dimensional example): a := 1 + f(t) dt, r := g(t) sqrt(dt), the
# coefficients of the Euler step x_{t+dt} = a x_t + r eps defined inline in the text.
NOTATIONS["scoresde_003.gauss"] = {
    **BASE,
    "a": lambda M, tau, a, s: 1 + M.f(tau) * DT_SYM,
    "r": lambda M, tau, a, s: M.g(tau) * sp.sqrt(DT_SYM),
}
