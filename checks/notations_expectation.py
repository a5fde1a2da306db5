r"""Notation "expectation_003": the book 003 (chapter 4 and App. C) read in Gaussian-data reference models.

On top of "scoresde_003" (checks/notations_scoresde_003.py):

* ``\Psi_{s,t}(x)`` (written ``\Psi_{s \rightarrow t}``): the PF-ODE flow map from time s to time t, eq. (4.1.9);
  for data N(m, v) it is the affine map of derive.pf_ode.gaussian_flow_map;
* ``\phi(x, t)``: a smooth test function, one of TEST_FUNCTIONS (the plugin checks each; ``M.test_index``);
* ``p_{\text{data}}``: the data law N(m, v) itself; other densities as in "scoresde_003";
* ``\mathcal{N}(x; m, s^2)``: the normal density at x;
* ``z``: a standard normal variable; ``\lambda``: a mixing weight in (0, 1); ``D``: the dimension, 1;
  ``\mathbf{0}``: 0; ``\tilde{x}_t``: the centred state x_t - m(t) = x_t - alpha_t x_0 (App. C.2);
* ``d`` with subscript t (``dt``): the time step, the Delta t symbol;
* "expectation_003.smooth": sigma is a free smoothing scale (the Gaussian smoothing lemma of §4.1.5).
"""
from __future__ import annotations

import sympy as sp

from checks.notations_scoresde_003 import BASE, TAU_T
from derive.data import normal_pdf
from derive.pf_ode import gaussian_flow_map
from derive.symbols import dt as DT, x as X_SYM, x0 as X0_SYM, z as Z_SYM

LAMBDA = sp.Symbol("lambda", positive=True)
SIGMA_C = sp.Symbol("sigma_c", positive=True)
XI = sp.Symbol("xi", real=True)     # a bound integration variable (written u in the document)

#: smooth test functions phi(y, t) (Gaussian decay, time-dependent so that d/dt phi is exercised)
TEST_FUNCTIONS = (
    lambda y, t: sp.exp(-(y - sp.Rational(3, 10))**2 / 2) * (1 + t / 2),
    lambda y, t: (1 + y / 2) * sp.exp(-(y + sp.Rational(1, 5) - t / 3)**2),
)


def data_density(M, xx) -> sp.Expr:
    """The data law p_data itself (not p_0, which for VE is blurred by sigma_min)."""
    return sp.Add(*[w * normal_pdf(xx, mu, var)
                    for w, mu, var in zip(M.data.weights, M.data.means, M.data.variances)])


def _density(M, tau, args, sub):
    if sub.strip() == "data":
        return data_density(M, args[0] if args else X0_SYM)
    return BASE["p"](M, tau, args, sub)


def _state(M, tau, args, sub):
    """x_t, x_0, x_{t+dt} as in "scoresde_003"; x_\tau is the state at the integration time tau."""
    if sub.strip().lstrip("\\") == "tau":
        return M.state(TAU_T)
    return BASE["x"](M, tau, args, sub)


def _flow_map(M, tau, args, sub):
    from checks.notation import parse_time
    parts = [p.strip() for p in sub.split(",")]
    if len(parts) != 2 or any(parse_time(p) is None for p in parts) or not args:
        raise ValueError(f"a flow map reads Psi_{{s -> t}}(x) with two times, got subscript {sub!r}")
    if len(M.data.weights) != 1:
        raise ValueError("the flow map is exact for Gaussian data only")
    s_time, t_time = (parse_time(p) for p in parts)
    return gaussian_flow_map(M.schedule, s_time, t_time, args[0], M.data.means[0], M.data.variances[0])


def _phi(M, tau, args, sub):
    if not args:
        raise ValueError("a test function phi needs its argument phi(x, t)")
    fn = TEST_FUNCTIONS[getattr(M, "test_index", 0)]
    time = args[1] if len(args) > 1 else tau
    return fn(args[0], time)


def _normal(M, tau, args, sub):
    if len(args) != 3:
        raise ValueError("a normal density reads N(x; mean, variance)")
    return normal_pdf(*args)


def _d(M, tau, args, sub):
    if sub.strip() == "t":
        return DT
    raise ValueError(f"differential d{sub} has no meaning here")


EXPECTATION = {
    **BASE,
    "Psi": _flow_map,
    "N": _normal,
    "xi": lambda M, tau, a, s: XI,
    "x": _state,
    "p": _density,
    "phi": _phi,
    "z": lambda M, tau, a, s: Z_SYM,
    "lambda": lambda M, tau, a, s: LAMBDA,
    "D": lambda M, tau, a, s: sp.Integer(1),
    "pi": lambda M, tau, a, s: sp.pi,
    "T": lambda M, tau, a, s: sp.Symbol("T", positive=True),   # the final time
    "0": lambda M, tau, a, s: sp.Integer(0),
    "d": _d,
    "xtilde": lambda M, tau, a, s: M.state(tau) - M.alpha(tau) * X0_SYM,
}

NOTATIONS = {
    "expectation_003": EXPECTATION,
    "expectation_003.smooth": {**EXPECTATION, "sigma": lambda M, tau, a, s: SIGMA_C},
}
