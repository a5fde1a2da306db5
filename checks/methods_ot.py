r"""Verification method ``ot-exact`` for 003 chapter 7 (optimal transport, entropic OT, Schrödinger bridge).

The claim's LaTeX is parsed (checks.latex, after the rewrites of ``prenormalise`` below and those of
checks.methods_flow.prenormalise) and interpreted in exact reference instances (checks/notations_ot.py): random
one-dimensional Gaussians p_src = N(m1, v1), p_tgt = N(m2, v2), a regularisation eps and a horizon T, with the
Monge map, the McCann interpolation, the EOT coupling, the Schrödinger potentials and the SB marginals all derived
in derive/optimal_transport.py. Integrals over the line of polynomial x Gaussian integrands are done in closed
form (Gaussian moments), time integrals by mpmath quadrature; residuals are evaluated at 60 digits.

Claim fields read here (besides the usual ones):

* ``constant = true``: the formula holds up to an additive constant ("const", "Constant"): the residual must take
  the same value at every evaluation point (and coupling, with ``couplings = true``: the coupling's
  cross-covariance is varied, for statements "for every gamma in Gamma").
* ``separable = true``: unknown positive scaling functions u(x), v(y) (Sinkhorn form): the log-residual must have
  zero mixed derivative d^2/dx dy.
* ``limit = "epsilon"``: the formula carries lim_{eps -> 0}: the instance keeps eps symbolic and the sides are
  evaluated at eps = 1e-30 (a divergent side refutes).
* ``\min``/``\inf`` operators are evaluated at the derived optimiser; with ``constraints = true`` the constraints
  under the operator (an SDE, a continuity equation, endpoint laws) are parsed and checked on the optimiser too.
* ``instances``: how many random instances (default 2).
* kind ``sde``: the SB (or reference) marginal must satisfy the Fokker–Planck equation of the claimed process;
  ``clock = "reverse"`` reads the marginal at T - t (the reversed clock tau of (7.2.15)).
* inequalities: relations \le, \leq, \ge, \geq hold when the values are ordered (at 1e-10).

A second method, ``ot-brenier``, checks the counterexample of 003 §7.5.1: the claimed phi(x_1, x_2) is parsed and
the commutator of (7.5.1) for u = |x|^2/2 + eps phi (derive.brenier_commutator) must be non-zero.
"""
from __future__ import annotations

import copy
import functools
import re
import time as _time

import mpmath
import numpy as np
import sympy as sp

from derive import fokker_planck, optimal_transport as ot
from derive.symbols import t as T_SYM, x as X_SYM, y as Y_SYM

from . import latex as L
from . import methods_flow as MF
from . import verify as V
from .catalogue import Claim
from .notation import get_notation, interpret
from .notations_ot import EPS_SYM, Instance, numeric
from .verdict import MethodResult

DIGITS = 60
TINY = sp.Rational(1, 10**30)
QUAD_DIGITS = 15                       #: time quadrature: far below the hold tolerance 1e-10, and fast


# --- parsing ------------------------------------------------------------------------------------------------

def _braced_after(s: str, i: int) -> tuple[str, int]:
    """The {...} group starting at s[i] (s[i] == '{'): its content and the index after it."""
    return L.braced(s, i)


def _drop_operator(s: str, names=(r"\min", r"\inf")) -> tuple[str, list[str]]:
    r"""Remove \min_{...} / \inf_{...} (and their subscripts), returning the text and the subscripts."""
    subs = []
    for name in names:
        while True:
            i = s.find(name + "_")
            if i < 0:
                break
            j = i + len(name) + 1
            while s[j] == " ":
                j += 1
            if s[j] == "{":
                sub, end = _braced_after(s, j)
            else:
                sub, end = s[j], j + 1
            subs.append(sub)
            s = s[:i] + " " + s[end:]
    return s, subs


def _expectation(s: str) -> str:
    r"""\mathbb{E}_{...}[B] and \mathbb{E}_P[...] -> \Phi_{kind}(B) by what the subscript draws from."""
    out = ""
    while True:
        mo = re.search(r"\\mathbb\{E\}\s*_\s*", s)
        if not mo:
            return out + s
        j = mo.end()
        if s[j] == "{":
            sub, j = _braced_after(s, j)
        else:
            sub, j = s[j], j + 1
        if re.search(r"\\gamma", sub):
            kind = "gamma"
        elif re.search(r"\\pi", sub):
            kind = "indep"
        elif "src" in sub:
            kind = "src"
        elif sub.strip() == "P":
            kind = "path"
        else:
            raise L.LatexError(f"expectation over {sub!r} has no meaning in the OT notation")
        k = re.match(r"\s*(\\left)?\s*\[", s[j:])
        if k:
            start, depth, end = j + k.end() - 1, 0, None
            for i in range(start, len(s)):
                depth += {"[": 1, "]": -1}.get(s[i], 0)
                if depth == 0:
                    end = i
                    break
            body = re.sub(r"\\right\s*$", "", s[start + 1:end])
            out += s[:mo.start()] + rf"\Phi_{{{kind}}}({body})"
            s = s[end + 1:]
        else:                                  # E_pi ||x_1 - x_0||^2: the body is the rest of the side
            out += s[:mo.start()] + rf"\Phi_{{{kind}}}({s[j:]})"
            s = ""


_VALUES = [  # optimal values and divergences written as functions of the two laws
    (r"\\mathcal\{W\}_2\^2\s*\(p_\{\\text\{src\}\},\s*p_\{\\text\{tgt\}\}\)", r"\\Phi_{wtwo}(0)"),
    (r"\\mathcal\{K\}\s*\(p_\{\\text\{src\}\},\s*p_\{\\text\{tgt\}\}\)", r"\\Phi_{ot}(0)"),
    (r"\\text\{EOT\}_\\varepsilon\s*\(p_\{\\text\{src\}\},\s*p_\{\\text\{tgt\}\}\)", r"\\Phi_{eot}(0)"),
    (r"EOT_\\varepsilon\s*\(p_\{src\},\s*p_\{tgt\}\)", r"\\Phi_{eot}(0)"),
    (r"\\text\{SB\}_\\varepsilon\s*\(p_\{\\text\{src\}\},\s*p_\{\\text\{tgt\}\}\)", r"\\Phi_{sb}(0)"),
    (r"\\text\{OT\}\s*\(p_\{\\text\{src\}\},\s*p_\{\\text\{tgt\}\}\)", r"\\Phi_{ot}(0)"),
    (r"OT\s*\(p_\{src\},\s*p_\{tgt\}\)", r"\\Phi_{ot}(0)"),
    (r"\\mathcal\{D\}_\{\\text\{KL\}\}\s*\(\\gamma\s*\\\|\s*p_\{\\text\{src\}\}\s*\\otimes\s*p_\{\\text\{tgt\}\}\)",
     r"\\Phi_{klprod}(0)"),
    (r"\\mathcal\{D\}_\{\\text\{KL\}\}\s*\(\\gamma\s*\\\|\s*\\tilde\{R\}\^\\varepsilon\)", r"\\Phi_{klR}(0)"),
    (r"\\mathcal\{D\}_\{\\text\{KL\}\}\s*\(P\s*\\\|\s*R\)", r"\\Phi_{klpath}(0)"),
    (r"\\mathcal\{H\}\s*\(\\gamma\)", r"\\Phi_{entropy}(0)"),
]


def _exp(s: str) -> str:
    """e^{...} (nested braces allowed) -> \\exp(...)."""
    while True:
        mo = re.search(r"(?<![a-zA-Z\\])e\^\{", s)
        if not mo:
            return s
        body, end = _braced_after(s, mo.end() - 1)
        s = s[:mo.start()] + rf"\exp({body})" + s[end:]


def prenormalise(text: str) -> str:
    r"""Rewrites for chapter 7 (each keeps the formula's meaning), then methods_flow.prenormalise:

    * ``\min_{...}``, ``\inf_{...}``, ``\lim_{\varepsilon \rightarrow 0}`` dropped (the notation supplies the
      optimiser; limits: field ``limit``); optimal values / divergences -> ``\Phi_{name}(0)`` (notations_ot);
    * ``\mathbb{E}_{(x, y) ~ gamma}[B]``, ``\int B d\gamma(x, y)`` -> ``\Phi_{gamma}(B)``; ``\iint B dx dy`` ->
      ``\Phi_{xy}(B)``; ``\mathbb{E}_{x ~ p_src}``, ``\mathbb{E}_{pi}``, ``\mathbb{E}_P`` likewise;
    * ``\frac{\partial F}{\partial t}(x, t)`` -> ``\frac{\partial}{\partial t} F(x, t)``; ``\text{const}``,
      ``\text{Constant}`` -> ``C_0``; ``\mathbf{T}_t^*(x)`` -> ``T(t, x)``; ``\gamma_\varepsilon^*`` -> ``\gamma``;
      ``e^{...}`` -> ``\exp(...)``; ``\mathbf{y}_\tau``, ``\tau`` of (7.2.15) -> ``\mathbf{x}_t``, ``t``;
    * ``\int_0^T \int_{\mathbb{R}^D} F dx dt`` -> ``\int_0^T \Phi_{linex}(F) dt`` (inner integral over the line) and
      the integrand of a time integral in parentheses; ``V_\varepsilon``, ``V_0`` -> EOT and OT values;
    * §7.5.1 Jacobians: ``D\mathbf{S}_t``, ``D\mathbf{v}_t(\mathbf{S}_t)``, ``D^2 \log p_t(\mathbf{S}_t)`` ->
      ``\Phi_{DS}``, ``\Phi_{Dv}``, ``\Phi_{DDlogp}`` (notation ot003.ou); ``\leq``, ``\geq`` -> ``\le``, ``\ge``.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    text = re.sub(r"[.,]\s*$", "", text.strip())
    s = re.sub(r"\\begin\{aligned\}|\\end\{aligned\}", " ", text).replace("&", " ")
    s = re.sub(r"\\gamma_\\varepsilon\^\*", r"\\gamma", s)
    s = re.sub(r"V_\\varepsilon(?![a-zA-Z])", r"\\Phi_{eot}(0)", s)
    s = re.sub(r"V_0(?![0-9])", r"\\Phi_{ot}(0)", s)
    s = re.sub(r"\\mathcal\{D\}_\{\\text\{KL\}\}\(\\gamma \\\| M\)", r"\\Phi_{klprod}(0)", s)
    s = re.sub(r"\\lim_\{\\varepsilon\s*\\rightarrow\s*0\}", " ", s)
    s, _ = _drop_operator(s)
    for pat, rep in _VALUES:
        s = re.sub(pat, rep, s)
    s = re.sub(r"\\int\s+c\s*\(\\mathbf\{x\},\s*\\mathbf\{y\}\)\s*(\\,)?\s*d\\gamma\(\\mathbf\{x\},\s*\\mathbf\{y\}\)",
               r"\\Phi_{gamma}(c(\\mathbf{x}, \\mathbf{y}))", s)
    s = re.sub(r"\\int\s+c\s*d\\gamma(?![a-zA-Z_])", r"\\Phi_{gamma}(c(\\mathbf{x}, \\mathbf{y}))", s)
    s = re.sub(r"\\iint\s*(.*?)\s*d\\mathbf\{x\}\s*d\\mathbf\{y\}", r"\\Phi_{xy}(\1)", s)
    s = re.sub(r"-\s*\\int\s+(.*?)\s*d\\mathbf\{x\}\s*d\\mathbf\{y\}", r"- \\Phi_{xy}(\1)", s)
    s = _expectation(s)
    # §7.5.1 Jacobians of the PF-ODE flow map (one dimension): D S_t, D v_t(S_t), D^2 log p_t(S_t)
    s = re.sub(r"\\frac\{\\partial\s*\(D\\mathbf\{S\}_t\)\}\{\\partial t\}", r"\\frac{\\partial}{\\partial t} \\Phi_{DS}(0)", s)
    s = re.sub(r"D\\mathbf\{v\}_t\(\\mathbf\{S\}_t\)", r"\\Phi_{Dv}(0)", s)
    s = re.sub(r"D\^2 \\log p_t\(\\mathbf\{S\}_t\)", r"\\Phi_{DDlogp}(0)", s)
    s = re.sub(r"D\\mathbf\{S\}_t(?![a-zA-Z(])", r"\\Phi_{DS}(0)", s)
    s = _exp(s)
    # int_0^T int_{R^D} F dx dt: the inner integral over the line becomes \Phi_{line}(F)
    s = re.sub(r"\\int_\{\\mathbb\{R\}\^D\}\s*(.*?)\s*(?:\\,)?\s*d\\mathbf\{([xy])\}\s*(?:\\,)?\s*(dt|d\\tau)",
               lambda mo: rf"\Phi_{{line{mo.group(2)}}}({mo.group(1)}) {mo.group(3)}", s)
    # the integrand of a time integral in parentheses (else a trailing "dt" after a \frac parses as a factor)
    s = re.sub(r"\\int_0\^(T|1)\s+(.*?)\s+dt(?![a-zA-Z])", r"\\int_0^\1 (\2) dt", s)
    s = re.sub(r"\\frac\{\\partial\s*(\\widehat\{\\Psi\}|\\hat\{\\Psi\}|\\Psi)\}\{\\partial t\}\s*\(([^()]*)\)",
               r"\\frac{\\partial}{\\partial t} \1(\2)", s)
    s = re.sub(r"\\text\{(?:const\.?|Constant)\}", r"C_0", s)
    s = re.sub(r"[.,]\s*$", "", s.strip())
    s = re.sub(r"\\mathbf\{T\}_t\^\*\s*\(", r"T(t, ", s)
    s = re.sub(r"\\mathbf\{T\}\^\*\s*\(", r"T(", s)
    # (7.2.15): the reversed clock tau and its state y_tau are renamed t, x_t (the marginal is read at T - t)
    s = s.replace(r"\mathbf{y}_\tau", r"\mathbf{x}_t").replace(r"\nabla_{\mathbf{y}}", r"\nabla_{\mathbf{x}}")
    s = s.replace(r"d\tau", "dt").replace(r"\mathbf{w}_\tau", r"\mathbf{w}_t").replace(r"T-\tau", "T-t")
    s = s.replace(r"\widehat{\Psi}", r"\hat{\Psi}")
    s = re.sub(r"\\leq(?![a-zA-Z])", r"\\le ", s)
    s = re.sub(r"\\geq(?![a-zA-Z])", r"\\ge ", s)
    return MF.prenormalise(s)


def parse(claim: Claim, form: str) -> L.Relation:
    """The claim's relation; field ``rename_y``: the bound point y is renamed x (003 §7.5.1 writes log p_0(y))."""
    text, _ = V.claim_text(claim, form)
    if claim.extra.get("rename_y"):
        text = text.replace(r"\mathbf{y}", r"\mathbf{x}")
    return _parse_text(text)


@functools.lru_cache(maxsize=256)
def _parse_text(text: str) -> L.Relation:
    rel = L.parse_relation(prenormalise(text))
    return L.Relation([MF._repair(side, rel) for side in rel.sides], rel.ops, rel.atoms)


def constraints(claim: Claim, form: str) -> list[str]:
    r"""The constraints written under \min_{\substack{...}} (pieces with '=' that are not laws 'x ~ p')."""
    text, _ = V.claim_text(claim, form)
    _, subs = _drop_operator(text)
    out = []
    for sub in subs:
        sub = re.sub(r"\\substack\s*\{(.*)\}\s*$", r"\1", sub.strip(), flags=re.S)
        sub = re.sub(r"\\begin\{array\}\{l\}|\\end\{array\}", " ", sub)
        for piece in re.split(r"\\\\|,(?![^()]*\))", sub):
            piece = re.sub(r"^.*\\text\{\s*s\.t\.\s*\}", "", piece).strip()
            if "=" in piece and r"\sim" not in piece:
                out.append(piece)
    return out


# --- evaluation ---------------------------------------------------------------------------------------------

_numeric = numeric


def _gauss_line_integral(body: sp.Expr, var: sp.Symbol):
    """int_R body dvar in closed form when body = P(var) exp(Q(var)) with P a polynomial and Q a concave quadratic
    (the exponentials of ``var`` appear only as factors); None otherwise. Other symbols (a time) may remain."""
    body = _numeric(body)
    exps = [e for e in body.atoms(sp.exp) if e.has(var)]
    expo = sp.expand(sum(e.args[0] for e in exps))
    rest = body.xreplace({e: sp.Integer(1) for e in exps})
    try:
        quad = sp.Poly(expo, var)
        poly = sp.Poly(sp.expand(rest), var)
    except sp.PolynomialError:
        return None
    if quad.degree() != 2 or any(c.has(var) for c in poly.coeffs()):
        return None
    probe = {sym: sp.Rational(3, 7) for sym in body.free_symbols}     # the factorisation must be exact
    if abs(complex(sp.N((body - poly.as_expr() * sp.exp(expo)).subs(probe), 30))) > 1e-20 * (
            1 + abs(complex(sp.N(body.subs(probe), 30)))):
        return None
    a, b, c = (quad.coeff_monomial(var**k) for k in (2, 1, 0))
    mean, variance = -b / (2 * a), -1 / (2 * a)
    # int P(z) exp(a z^2 + b z + c) dz = exp(c - b^2/(4a)) sqrt(pi/(-a)) E[P(Z)], Z ~ N(mean, variance)
    moments = [sp.Integer(1), mean]
    for k in range(2, poly.degree() + 1):
        moments.append(mean * moments[k - 1] + (k - 1) * variance * moments[k - 2])
    expect = sum(coef * moments[k] for (k,), coef in poly.terms())
    return _numeric(sp.exp(c - b**2 / (4 * a)) * sp.sqrt(sp.pi / (-a)) * expect)


@functools.cache
def _hermite(n: int = 12, dps: int = 40):
    """Nodes and weights of Gauss–Hermite quadrature for N(0, 1) (Golub–Welsch), exact for degree <= 2n - 1."""
    with mpmath.workdps(dps):
        jac = mpmath.zeros(n)
        for k in range(1, n):
            jac[k, k - 1] = jac[k - 1, k] = mpmath.sqrt(k)
        nodes, vecs = mpmath.eigsy(jac)
        return [nodes[i] for i in range(n)], [vecs[0, i]**2 for i in range(n)]


def _line_callable(body: sp.Expr, var: sp.Symbol, params: list):
    """fn(*params) = int_R body dvar for body = P(var) exp(Q(var)) (P polynomial, Q concave quadratic), by the
    Gaussian closed form with E[P] from Gauss–Hermite nodes (exact for polynomials of degree <= 23)."""
    exps = [e for e in body.atoms(sp.exp) if e.has(var)]
    expo = sum(e.args[0] for e in exps)
    rest = body.xreplace({e: sp.Integer(1) for e in exps})
    q_fn = sp.lambdify([var, *params], expo, modules="mpmath")
    p_fn = sp.lambdify([var, *params], rest, modules="mpmath")
    f_fn = sp.lambdify([var, *params], body, modules="mpmath")
    nodes, weights = _hermite()

    def fn(*vals):
        q0, q1, qm = q_fn(0, *vals), q_fn(1, *vals), q_fn(-1, *vals)
        a, b, c = (q1 + qm) / 2 - q0, (q1 - qm) / 2, q0
        if not mpmath.re(a) < 0:
            raise V.VerificationError(f"integrand over the line is not Gaussian in {var} (exponent {expo})")
        mean, sd = -b / (2 * a), mpmath.sqrt(-1 / (2 * a))
        probe = mean + sd / 3                       # the factorisation P exp(Q) must be exact
        if abs(f_fn(probe, *vals) - p_fn(probe, *vals) * mpmath.exp(q_fn(probe, *vals))) > \
                mpmath.mpf(10)**(-15) * (1 + abs(f_fn(probe, *vals))):
            raise V.VerificationError(f"integrand over the line is not P exp(Q) in {var}")
        expect = mpmath.fsum(w * p_fn(mean + sd * z, *vals) for z, w in zip(nodes, weights))
        return mpmath.exp(c - b**2 / (4 * a)) * mpmath.sqrt(mpmath.pi / (-a)) * expect
    return fn


def _integrals(expr: sp.Expr) -> sp.Expr:
    """Integrals over the line (Gaussian closed form) and over time intervals (mpmath quadrature), innermost first."""
    table: dict = {}

    def one(e):
        body = e.function
        if body.has(sp.Integral):
            body = body.replace(lambda f: isinstance(f, sp.Integral), one)
        for var, lo, hi in e.limits:
            params = sorted(body.free_symbols - {var}, key=lambda sym: sym.name)
            if (lo, hi) == (-sp.oo, sp.oo) and params and set(params) <= {X_SYM, Y_SYM}:
                # an inner integral of a double integral over the plane: exact, so the outer one stays Gaussian
                body = sp.expand_log(body, force=True) if body.has(sp.log) else body
                done = _gauss_line_integral(body, var)
                if done is None:
                    raise V.VerificationError(f"cannot integrate {str(body)[:120]} over the line in closed form")
                body = done
            elif (lo, hi) == (-sp.oo, sp.oo):
                body = sp.expand_log(body, force=True) if body.has(sp.log) else body
                fn = _line_callable(body, var, params)
                if not params:
                    with mpmath.workdps(DIGITS):
                        body = sp.Float(str(mpmath.re(fn())), DIGITS)
                else:
                    name = f"LineIntegral{len(table)}"
                    table[name] = fn
                    body = sp.Function(name)(*params)
            elif params:                             # a path integral inside an expectation: polynomial in time
                if not body.is_polynomial(var):
                    raise V.VerificationError(f"integrand over [{lo}, {hi}] has free symbols {params}")
                body = sp.integrate(sp.expand(body), (var, lo, hi))
            else:
                fn = sp.lambdify(var, body, modules=[table, "mpmath"])
                with mpmath.workdps(QUAD_DIGITS):
                    body = sp.Float(str(mpmath.re(mpmath.quad(fn, [mpmath.mpf(str(sp.N(lo, 40))),
                                                                   mpmath.mpf(str(sp.N(hi, 40)))]))), QUAD_DIGITS)
        return body
    return expr.replace(lambda e: isinstance(e, sp.Integral), one)


def _norms(expr: sp.Expr) -> sp.Expr:
    """|z|^2 -> z^2 (the squared norms of real one-dimensional quantities)."""
    return expr.replace(lambda e: isinstance(e, sp.Pow) and isinstance(e.base, sp.Abs) and e.exp == 2,
                        lambda e: e.base.args[0]**2)


def _value(expr: sp.Expr, point: dict) -> sp.Expr:
    expr = _norms(expr)
    expr = expr.doit() if expr.has(sp.Derivative, sp.Subs) else expr
    expr = expr.subs({**point, sp.Symbol("C_const"): 0})
    expr = expr.doit() if expr.has(sp.Derivative, sp.Subs) else expr
    if expr.has(sp.Integral):
        expr = _integrals(expr)
    return sp.N(expr, DIGITS)


def _closed(expr: sp.Expr) -> sp.Expr:
    """Integrals without free point variables evaluated once (they do not change between points)."""
    expr = _norms(expr)
    return expr.replace(lambda e: isinstance(e, sp.Integral) and not (e.free_symbols & {X_SYM, Y_SYM, T_SYM}),
                        lambda e: _integrals(e.doit() if e.has(sp.Derivative) else e))


def _instances(rng: np.random.Generator, claim: Claim, count: int = 2) -> list[Instance]:
    out = []
    for _ in range(count):
        m1, m2 = (sp.Rational(int(rng.integers(-20, 21)), 10) for _ in range(2))
        v1, v2 = (sp.Rational(int(rng.integers(3, 30)), 10) for _ in range(2))
        eps = EPS_SYM if claim.extra.get("limit") else sp.Rational(int(rng.integers(2, 20)), 10)
        horizon = sp.Integer(1) if claim.extra.get("unit_horizon", True) and not claim.extra.get("horizon") \
            else sp.Rational(int(rng.integers(5, 20)), 10)
        out.append(_instance(m1, v1, m2, v2, eps, horizon))
    return out


@functools.lru_cache(maxsize=64)
def _instance(m1, v1, m2, v2, eps, horizon) -> Instance:
    """Instances are cached: the document and corrected forms (same seed) share their derived objects."""
    return Instance(m1, v1, m2, v2, eps, horizon)


def _sides(claim: Claim, rel: L.Relation, inst: Instance, notation: dict) -> list[sp.Expr]:
    sides = [interpret(side, rel.atoms, inst, notation) for side in rel.sides]
    if claim.extra.get("limit"):
        sides = [s.subs(EPS_SYM, TINY) for s in sides]
    return sides


def _sde_residual(claim: Claim, rel: L.Relation, inst: Instance, notation: dict) -> sp.Expr:
    drift, diff_sq, direction = V.sde_parts(rel, inst, notation, claim)
    tau = inst.horizon - T_SYM if claim.extra.get("clock") == "reverse" else T_SYM
    log_density = sp.log(inst.sb_density(X_SYM, tau))
    return fokker_planck.log_residual(drift, diff_sq, sp.expand_log(log_density, force=True), direction)


def _points(rng: np.random.Generator, inst: Instance) -> dict:
    return {X_SYM: sp.Float(rng.normal(0, 1.5), DIGITS), Y_SYM: sp.Float(rng.normal(0, 1.5), DIGITS),
            T_SYM: sp.Float(rng.uniform(0.1, 0.9), DIGITS) * inst.horizon}


INEQ = {r"\le": "le", r"\leq": "le", r"\ge": "ge", r"\geq": "ge"}


def _residuals(claim: Claim, rel: L.Relation, inst: Instance, notation: dict):
    """(residual expressions, inequality flags) of the relation (one per relation sign)."""
    if claim.kind == "sde":
        return [_sde_residual(claim, rel, inst, notation)], [None]
    sides = _sides(claim, rel, inst, notation)
    res, kinds = [], []
    for i, op in enumerate(rel.ops):
        a, b = sides[i], sides[i + 1]
        if claim.extra.get("separable"):
            r = sp.diff(sp.expand_log(sp.log(a) - sp.log(b), force=True), X_SYM, Y_SYM)
        else:
            r = b - a
        res.append(r)
        kinds.append(INEQ.get(op))
    return res, kinds


def _constraint_residuals(claim: Claim, form: str, inst: Instance, notation: dict) -> list[sp.Expr]:
    out = []
    for text in constraints(claim, form):
        rel = _parse_text(text)
        if re.match(r"\s*d\\mathbf\{x\}", text):
            sub = Claim(**{**claim.__dict__, "kind": "sde", "extra": {}})
            out.append(_sde_residual(sub, rel, inst, notation))
        else:
            sides = [interpret(side, rel.atoms, inst, notation) for side in rel.sides]
            out += [b - a for a, b in zip(sides, sides[1:])]
    return out


def ot_exact(claim: Claim, form: str, seed: int, samples=None) -> MethodResult:
    """Parse the claim and evaluate it in exact Gaussian OT / EOT / SB instances (module doc)."""
    start = _time.perf_counter()
    rel = parse(claim, form)
    notation = get_notation(claim.notation)
    rng = np.random.default_rng(seed)
    worst, where = 0.0, ""
    for cached in _instances(rng, claim, int(claim.extra.get("instances", 2))):
        label = f"N({cached.m1}, {cached.v1}) -> N({cached.m2}, {cached.v2}), eps={cached.eps}, T={cached.horizon}"
        try:
            values = _instance_values(claim, form, rel, cached, notation, rng)
        except _NotFinite as exc:
            holds = False if claim.extra.get("limit") else None   # a divergent limit refutes
            return _result("ot-exact", form, holds, float("inf"), seed, start, f"{exc} for {label}")
        if claim.extra.get("constant"):         # the same value everywhere (an additive constant)
            gaps = [abs(complex(a - b)) for vals in values[1:] for a, b in zip(values[0], vals)]
            bad, why = max(gaps, default=0.0), "residual not constant"
        else:
            bad, why = max((b for vals in values for b in vals), default=0.0), "worst residual"
        if bad > worst:
            worst, where = bad, f"{why} for {label}"
        if worst >= V.REFUTE_TOL:               # refuted: another instance adds nothing
            break
    holds = True if worst < V.HOLD_TOL else (False if worst >= V.REFUTE_TOL else None)
    return _result("ot-exact", form, holds, worst, seed, start,
                   f"exact Gaussian OT/EOT/SB instances: worst {worst:.3g} ({where or 'all zero'})")


class _NotFinite(ValueError):
    """A residual that evaluates to an infinite or undefined value."""


def _instance_values(claim, form, rel, cached, notation, rng) -> list[list]:
    """Per evaluation point, the residual values (equalities: |r|; inequalities: the violation; constant
    claims: the signed residuals, compared between points by the caller)."""
    crosses = [cached.cross, cached.cross / 2, -cached.cross / 3] if claim.extra.get("couplings") else [cached.cross]
    out = []
    for cross in crosses:
        inst = copy.copy(cached)                # the cached instance is never modified
        inst.cross = cross
        res, kinds = _residuals(claim, rel, inst, notation)
        if claim.extra.get("constraints"):
            extra = _constraint_residuals(claim, form, inst, notation)
            res, kinds = res + extra, kinds + [None] * len(extra)
        res = [_closed(r) for r in res]         # integrals that do not depend on the point: done once
        for _ in range(int(claim.extra.get("points", 2)) if not all(r.is_number for r in res) else 1):
            vals = [_value(r, _points(rng, inst)) for r in res]
            if any(not v.is_finite for v in vals):
                raise _NotFinite(f"residual not finite ({vals})")
            if claim.extra.get("constant"):
                out.append(vals)
                continue
            nums = [complex(v) for v in vals]
            # a <= b: the residual b - a must be >= 0; a >= b: it must be <= 0
            out.append([abs(n) if k is None else max(0.0, -n.real if k == "le" else n.real)
                        for n, k in zip(nums, kinds)])
    return out


def _result(method, form, holds, worst, seed, start, detail):
    return MethodResult(method, form, holds, worst, seed=seed, seconds=_time.perf_counter() - start, detail=detail)


def ot_brenier(claim: Claim, form: str, seed: int, samples=None) -> MethodResult:
    """003 §7.5.1: the claimed phi(x_1, x_2) = ... is parsed; u = |x|^2/2 + eps phi is a counterexample iff
    D^2(log det D^2 u - |grad u|^2/2) and D^2 u do not commute at 0 (derive.brenier_commutator), i.e. the
    commutator is non-zero for small eps (checked at eps = 1/100 and 1/1000; it scales like eps^2)."""
    start = _time.perf_counter()
    rel = _parse_text(V.claim_text(claim, form)[0])
    coords = {}
    for name, (base, sub) in rel.atoms.items():
        if base == "x" and sub.strip("{} ") in ("1", "2"):
            coords[sp.Symbol(name.replace("\\", ""))] = sp.Symbol(f"x_{sub.strip('{} ')}", real=True)
    phi = rel.sides[-1].xreplace(coords)
    variables = [sp.Symbol("x_1", real=True), sp.Symbol("x_2", real=True)]
    if phi.free_symbols - set(variables):
        return _result("ot-brenier", form, None, None, seed, start,
                       f"phi has unknown symbols {phi.free_symbols - set(variables)}")
    small = sp.Symbol("eps_small", positive=True)
    comm = ot.brenier_commutator(phi, small, variables)
    sizes = [max(abs(float(v.subs(small, e))) for v in comm) for e in (sp.Rational(1, 100), sp.Rational(1, 1000))]
    holds = True if min(sizes) > 1e-12 else (False if max(sizes) < 1e-30 else None)
    return _result("ot-brenier", form, holds, None, seed, start, f"commutator at x = 0 for u = |x|^2/2 + eps phi: "
                   f"{comm.tolist()} (max entry {sizes[0]:.3g} at eps = 0.01)")


METHODS = {"ot-exact": ot_exact, "ot-brenier": ot_brenier}
