r"""Prediction targets ε, x₀, v, score and all conversions between them, derived by solving linear relations; Tweedie.

With x_t = alpha_t x_0 + sigma_t eps the targets are tied by (003 ch. 6, Table 6.1 and eq. (6.3.1); 003 eq. (2.2.12);
001 eq. (9); Salimans & Ho's v = alpha eps - sigma x_0):
    x = alpha x0 + sigma eps,   v = alpha eps - sigma x0,   score = -eps / sigma.
``convert(src, dst, value, x, alpha, sigma)`` solves this linear system for the unknown targets given x and the
source target's value, so each of the 12 ordered conversions is derived, none typed. The relations hold for the
conditional targets and, by linearity of conditional expectation, for the optimal (posterior-mean) predictions.

Tweedie's formula (003 Lemma 3.3.2; Efron 2011): E[x_0 | x_t] = (x_t + sigma_t^2 grad log p_t(x_t)) / alpha_t, derived
in ``tweedie_x0`` from grad p_t(x) = ∫ grad_x N(x; alpha x0, sigma^2) p(x0) dx0 = (alpha E[x0|x] - x)/sigma^2 p_t(x).
"""
from __future__ import annotations

import functools
from collections.abc import Mapping

import sympy as sp

from ._validate import EXPR, POSITIVE, checked, choice

TARGETS = ("eps", "x0", "v", "score")
_X, _A, _S = sp.Symbol("x", real=True), sp.Symbol("alpha", positive=True), sp.Symbol("sigma", positive=True)
_U = {name: sp.Symbol(f"u_{name}", real=True) for name in TARGETS}
_TARGET = choice(*TARGETS)


def _TARGET_VALUES(name: str, value):
    """None (the default unknowns u_eps, u_x0, u_v, u_score) or a mapping of each name in TARGETS to an expression."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be None or a dict with keys {list(TARGETS)}, "
                        f"got {type(value).__name__}: {value!r}")
    if set(value) != set(TARGETS):
        raise ValueError(f"{name} must have exactly the keys {list(TARGETS)}, got {sorted(map(str, value))}")
    return {k: EXPR(f"{name}[{k!r}]", value[k]) for k in TARGETS}


@checked(x=EXPR, alpha=POSITIVE, sigma=POSITIVE, u=_TARGET_VALUES)
def relations(x=_X, alpha=_A, sigma=_S, u=None) -> list[sp.Eq]:
    """The three defining relations among (eps, x0, v, score) at state x (see module docstring)."""
    u = u or _U
    return [sp.Eq(x, alpha * u["x0"] + sigma * u["eps"]),
            sp.Eq(u["v"], alpha * u["eps"] - sigma * u["x0"]),
            sp.Eq(u["score"], -u["eps"] / sigma)]


@functools.cache
def _solved(src: str) -> dict:
    unknowns = [_U[n] for n in TARGETS if n != src]
    sol = sp.solve(relations(), unknowns, dict=True)
    if len(sol) != 1:  # pragma: no cover - the system is linear and non-singular for alpha, sigma > 0
        raise AssertionError(f"conversion system from {src} is not uniquely solvable: {sol}")
    return {n: sp.simplify(sol[0][_U[n]]) for n in TARGETS if n != src}


@checked(src=_TARGET, dst=_TARGET, value=EXPR, x=EXPR, alpha=POSITIVE, sigma=POSITIVE)
def convert(src: str, dst: str, value, x=_X, alpha=_A, sigma=_S) -> sp.Expr:
    """The ``dst`` prediction equivalent to the ``src`` prediction ``value`` at state x (alpha, sigma > 0).

    E.g. convert("eps", "x0", e, x, a, s) = (x - s e)/a (001 eq. (9)); convert("v", "eps", v, x, a, s) =
    (a v + s x)/(a^2 + s^2) (equal to a v + s x on VP schedules)."""
    if src == dst:
        return value
    expr = _solved(src)[dst]
    return expr.subs({_U[src]: value, _X: x, _A: alpha, _S: sigma}, simultaneous=True)


@checked(x=EXPR, score=EXPR, alpha=POSITIVE, sigma=POSITIVE)
def tweedie_x0(x, score, alpha, sigma) -> sp.Expr:
    r"""E[x_0 | x_t = x] from the score, derived: differentiating p_t(x) = ∫ N(x; alpha x0, sigma^2) p(x0) dx0 under
    the integral gives sigma^2 grad p_t = (alpha E[x0|x] - x) p_t; solved for E[x0|x] (003 Lemma 3.3.2)."""
    x0s, xs, m_post = sp.symbols("x0s xs m_post", real=True)
    a, s = sp.symbols("a s", positive=True)
    kernel = sp.exp(-(xs - a * x0s)**2 / (2 * s**2))
    # d/dx kernel = kernel * (a x0 - x)/s^2: take the ratio symbolically, then average over x0 (linear in x0)
    ratio = sp.simplify(sp.diff(kernel, xs) / kernel)
    if sp.Poly(ratio, x0s).degree() != 1:  # pragma: no cover
        raise AssertionError("kernel derivative is not affine in x0")
    averaged = ratio.subs(x0s, m_post)          # E[(a x0 - x)/s^2 | x] = (a E[x0|x] - x)/s^2 = score
    sol = sp.solve(sp.Eq(averaged, sp.Symbol("score_val", real=True)), m_post)[0]
    return sol.subs({xs: x, a: alpha, s: sigma, sp.Symbol("score_val", real=True): score}, simultaneous=True)


@checked(x=EXPR, score=EXPR, alpha=POSITIVE, sigma=POSITIVE)
def tweedie_eps(x, score, alpha, sigma) -> sp.Expr:
    """E[eps | x_t = x] = -sigma * score (Tweedie, converted with ``convert``)."""
    return convert("x0", "eps", tweedie_x0(x, score, alpha, sigma), x, alpha, sigma)


def kernel_specs() -> list:
    from .kernel_spec import KernelSpec
    val = sp.Symbol("u", real=True)
    specs = []
    for src in TARGETS:
        for dst in TARGETS:
            if src != dst:
                expr = convert(src, dst, val, _X, _A, _S)
                specs.append(KernelSpec(f"{src}_to_{dst}", "parameterization", (val, _X, _A, _S), expr,
                                        f"{dst} from {src} prediction u at x: {expr}",
                                        "derive.parameterization.convert", f"parameterization.{src}_to_{dst}"))
    return specs
