r"""Notations of family ito_003 (document 003, §4.4-4.6 and Appendix C).

"ito_003": the book's notation 003 (alpha_t, sigma_t the schedule) with
  * f(t) read as the scalar drift coefficient when its argument is a time (f(x, t) stays f(t) x);
  * alpha_{s|t}, sigma_{s|t}: the forward transition x_s | x_t (t < s) derived by the linear SDE
    (derive.schedules.Schedule.transition), not by the formulas being checked;
  * lambda_t the half log-SNR log(alpha_t / sigma_t);
  * x_phi(x, s), epsilon_phi(x, s): ideal data / noise predictions at the time given as second argument;
  * \tilde{f} (a second drift) and a, b of the product-rule example read as the model's f(t) x and g(t).
"""
from __future__ import annotations

import sympy as sp

from checks.notation import COMMON, parse_time
from derive.symbols import t as T_SYM, x as X_SYM


def _is_time(e):
    return isinstance(e, sp.Expr) and (e == T_SYM or (e.free_symbols and all(
        s.name in ("t", "s", "u", "T", "Delta_t") for s in e.free_symbols)) or e.is_number)


def _f(M, tau, args, sub):
    if args and _is_time(args[0]) and len(args) == 1:
        return M.f(args[0])
    if len(args) == 2:
        return M.f(args[1]) * args[0]
    return M.f(tau) * args[0] if args else M.f(tau)


def _g(M, tau, args, sub):
    if args and _is_time(args[0]):
        return M.g(args[0])
    return M.g(tau)


def _pair(sub):
    a, b = sub.split("|", 1)
    return parse_time(a), parse_time(b)


def _alpha(M, tau, args, sub):
    if "|" in sub:
        later, earlier = _pair(sub)
        return M.schedule.transition(earlier, later)[0]
    return M.alpha(tau)


def _sigma(M, tau, args, sub):
    if "|" in sub:
        later, earlier = _pair(sub)
        return sp.sqrt(M.schedule.transition(earlier, later)[1])
    return M.sigma(tau)


def _time_arg(tau, args):
    return args[1] if len(args) >= 2 else tau


def _x(M, tau, args, sub):
    if "phi" in sub and args:
        return M.x0_pred(args[0], _time_arg(tau, args))
    return M.state(tau)


def _eps(M, tau, args, sub):
    if args:
        return M.eps_pred(args[0], _time_arg(tau, args))
    from derive.symbols import eps
    return eps


def _score(M, tau, args, sub):
    return M.score(args[0] if args else X_SYM, _time_arg(tau, args))


ITO = {**COMMON,
       "f": _f, "ftilde": _f, "a": _f,
       "g": _g, "b": _g,
       "alpha": _alpha, "sigma": _sigma,
       "lambda": lambda M, tau, a, s: M.log_snr(tau),
       "x": _x, "epsilon": _eps, "s": _score}

NOTATIONS = {"ito_003": ITO}

ITO["Psi"] = lambda M, tau, a, s: 1 / M.alpha(a[0] if a else tau)
# Brownian examples of Appendix C (dx = sigma dw, sigma a constant): sigma is the (constant) diffusion
# of the reference model; used with schedule = "brownian", where it equals 1.
NOTATIONS["ito_003.bm"] = {**ITO, "sigma": lambda M, tau, a, s: M.g(tau)}

# a bare s is the time s (e.g. the second argument of x_phi(x_s, s)); s_phi(x, t) with arguments is the score
ITO["s"] = lambda M, tau, a, sub: (M.score(a[0], _time_arg(tau, a)) if a else sp.Symbol("s", positive=True))
NOTATIONS["ito_003.bm"]["s"] = ITO["s"]


# --- round 2: kernels, posterior of the VDM reverse step, moments of the linear SDE ---------------------
from checks.notation import parse_time as _pt  # noqa: E402
from derive.symbols import x0 as _X0, dt as _DT  # noqa: E402


def _posterior(M, t_early, s_late, x_late, x_data):
    """x_t | x_s, x_0 (t < s): mean and variance by Gaussian conditioning on the schedule's kernels."""
    a, v = M.schedule.transition(t_early, s_late)
    prec = 1 / M.sigma(t_early)**2 + a**2 / v
    mean = (M.alpha(t_early) * x_data / M.sigma(t_early)**2 + a * x_late / v) / prec
    return mean, 1 / prec


def _mu(M, tau, args, sub):
    # mu_phi(x_s, s, t): posterior mean with x_0 replaced by the ideal data prediction x_phi(x_s, s)
    if "phi" in sub and len(args) == 3:
        x_s, s_time, t_time = args
        return _posterior(M, t_time, s_time, x_s, M.x0_pred(x_s, s_time))[0]
    if not args:        # §4.5: mu := f(x_t, t) dt (the Euler drift increment)
        return M.f(T_SYM) * M.state(T_SYM) * _DT
    raise ValueError("mu with these arguments has no meaning in ito_003")


_sigma_plain = ITO["sigma"]


def _sigma2(M, tau, args, sub):
    # sigma^2(s, t): posterior variance of x_t | x_s, x_0 (first time argument s taken as tau)
    if args and _is_time(args[0]) and "|" not in (sub or ""):
        return sp.sqrt(_posterior(M, args[0], tau, X_SYM, _X0)[1])
    return _sigma_plain(M, tau, args, sub)


ITO.update({
    "mu": _mu,
    "sigma": _sigma2,
    "SNR": lambda M, tau, a, s: sp.exp(2 * M.log_snr(a[0] if a else tau)),
    "m": lambda M, tau, a, s: M.alpha(a[0] if a and _is_time(a[0]) else tau) * _X0,
    "P": lambda M, tau, a, s: M.sigma(a[0] if a and _is_time(a[0]) else tau)**2,
    "delta": lambda M, tau, a, s: M.state(T_SYM + _DT) - M.state(T_SYM),
})

ITO["u"] = lambda M, tau, a, s: sp.Symbol("u", positive=True)   # integration variable of \int_0^t f(u) du
ITO["r"] = lambda M, tau, a, s: sp.Symbol("r", positive=True)
ITO["e"] = lambda M, tau, a, s: sp.E

# m(t), P(t) of §4.4.2 / C.1.5: mean and covariance of the linear SDE started at x(0) = x_0
# (transition kernel from time 0, so that schedules with sigma_0 > 0, e.g. VE, are read consistently)
ITO["m"] = lambda M, tau, a, s: M.schedule.transition(sp.Integer(0), a[0] if a and _is_time(a[0]) else tau)[0] * _X0
ITO["P"] = lambda M, tau, a, s: M.schedule.transition(sp.Integer(0), a[0] if a and _is_time(a[0]) else tau)[1]

