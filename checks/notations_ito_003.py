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
