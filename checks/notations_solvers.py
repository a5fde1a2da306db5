r"""Notation of the fast-sampler claims (003 ch. 9, App. D.6; family solvers_003).

"solvers_003": the book's alpha_t, sigma_t are the schedule; lambda_t = log(alpha_t/sigma_t) (003 eq. (9.4.2));
x-tilde is the sampler state; e is Euler's number; in App. D.6, sigma_d is the data standard deviation (a free
positive constant), R_t := alpha_t^2 sigma_d^2 + sigma_t^2 (003 line "记 R_t := ..."), c_in/c_skip/c_out/c_noise
the EDM preconditioning, whose values are *derived* (derive.edm.preconditioning, from the unit-variance conditions).
"""
from __future__ import annotations

import sympy as sp

from derive.symbols import eps as EPS

from .notation import COMMON, _x

SIGMA_DATA = sp.Symbol("sigma_data", positive=True)


def _sigma(M, tau, args, sub):
    return SIGMA_DATA if (sub or "").strip("{} ") == "d" else M.sigma(tau)


def _precond(M, tau, args, sub):
    from derive import edm
    name = (sub or "").strip("{} ").replace("\\text", "").strip("{} ")
    pre = edm.preconditioning()
    if name not in ("in", "skip", "out", "noise"):
        raise ValueError(f"c_{{{sub}}} is not an EDM preconditioning coefficient")
    expr = pre["c_" + name]
    return expr.subs({edm.ALPHA: M.alpha(tau), edm.SIGMA: M.sigma(tau), edm.SIGMA_D: SIGMA_DATA})


def _x_or_x0(M, tau, args, sub):
    """x_t is the state; x_{phi}(x, t) (a data prediction, 003 eq. (D.6.1)) is the ideal one, Tweedie's E[x_0 | x_t]."""
    if args and "phi" in (sub or ""):
        return M.x0_pred(args[0], tau)
    if (sub or "").strip("{} ") == "tgt":   # 003 App. D.6: x_tgt := ((1 - c_skip alpha) x_0 - c_skip sigma eps)/c_out
        c_skip, c_out = _precond(M, tau, (), "skip"), _precond(M, tau, (), "out")
        return ((1 - c_skip * M.alpha(tau)) * M.state(sp.Integer(0)) - c_skip * M.sigma(tau) * EPS) / c_out
    return _x(M, tau, args, sub)


NOTATIONS = {
    "solvers_003": {
        **COMMON,
        "lambda": lambda M, tau, a, s: M.log_snr(tau),
        "xtilde": _x,
        "x": _x_or_x0,
        "e": lambda M, tau, a, s: sp.E,
        "sigma": _sigma,
        "R": lambda M, tau, a, s: M.alpha(tau)**2 * SIGMA_DATA**2 + M.sigma(tau)**2,
        "c": _precond,
    },
}


def _perturbed(M, tau, args, sub):
    """x_t = alpha_t x_0 + sigma_t eps (003's forward perturbation) for a state at t > 0; x_0 stays the data."""
    if tau == 0 or (sub or "").strip("{} ") == "0":
        return M.state(sp.Integer(0))
    return M.alpha(tau) * M.state(sp.Integer(0)) + M.sigma(tau) * EPS


#: "solvers_003.perturbed": as solvers_003, with the state x_t written through the perturbation x_t = alpha_t x_0 + sigma_t eps
NOTATIONS["solvers_003.perturbed"] = {**NOTATIONS["solvers_003"], "x": _perturbed}

