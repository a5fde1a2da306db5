r"""Verification methods of 003 Appendix D.3-D.5 (claims checks/claims/appd345_003.toml, notations
checks/notations_appd345.py).

The claim's LaTeX is PARSED: ``prepare`` applies a fixed table of lexical rewrites (below) for constructs
checks/latex.py does not read, then checks.methods_flow.prenormalise and checks.latex.parse_relation; the
symbols are read in the claim's notation (checks.notation.interpret) and every relation sign of every row is
evaluated at seeded random points, 45 digits, on concrete schedules with Gaussian data where the PF-ODE flow
maps are exact (derive.pf_ode). Integrals (weak forms, losses, posterior expectations) by mpmath.quad.

Claim fields read here (besides the catalogue's):
* ``defines``   list of LaTeX definitions 'A := B' verbatim from the document: the text A is replaced by (B)
                in the claim before parsing (e.g. a loss used in a later display);
* ``where``     LaTeX 'a = b' from the document: after derivatives are taken, the symbol a is replaced by b
                (a change of variables x = Psi_t(y), or the trajectory z = z(t) along which a chain is read);
* ``definiens`` true: the first side of a chain 'A := B = C' only names B and is not checked;
* ``identify``  true: theta^- := theta after differentiation (stop-gradient copy equal to theta);
* ``order``     for kind "approx": the residual divided by Delta^order must vanish (Delta = 1e-12, 1e-20, 1e-15 for orders 0, 1, 2).

Rewrites of ``prepare`` (in order): aligned/left/right layout dropped; ``defines`` expanded;
\Delta s -> \Delta t; '+ \mathcal{O}(..)' remainders dropped (kind approx with ``order``);
\text{Tr}(A) -> (A) and \det dropped (one coordinate); A \circ B of flow maps -> A(B(x)), a bare trailing map -> at x;
\Psi_{a \rightarrow b}(y) -> \Psi(a, b, y); \Psi_t^{-1}(y) -> \Psi(t, 0, y); \Psi_t(y) -> \Psi(0, t, y);
\Psi_{a \rightarrow b} \# p_c -> \vec{push}(a, b, p_c); \nabla \Psi_t(\mathbf{y}) -> \nabla_{\mathbf{y}} \Psi_t(\mathbf{y});
\nabla \varphi(A) -> \varphi'(A); \frac{\partial P}{\partial t}(y) -> \frac{\partial P(y)}{\partial t};
\frac{d\mathbf{z}}{dt} -> \frac{d}{dt} \mathbf{z}(t); \partial_\theta, \nabla_\theta -> \frac{\partial}{\partial \theta};
stars s^*, x^*, \epsilon^*, v^* -> \vec{sstar}, ...; \mathbb{E}_{p(\mathbf{x}_0 | \mathbf{x}_t)} -> \mathbb{E};
\mathbb{E}_{\mathbf{x}_a \sim p_a} \|A\|^2 -> \vec{E}((A)^2, a); p_t^\theta -> q_t; \|A\|_2^2 -> (A)^2;
\langle a, b \rangle and {\langle a,} {b} \rangle -> (a)(b); \mathcal{D}_{\text{KL}}(q_t \| p_t) -> \vec{KL}(q_t, p_t);
\nabla_{\mathbf{x}} \log p_t (bare) -> \frac{\partial}{\partial x} \log p_t(\mathbf{x}); \mathbb{E}_t[A] -> (A) at a fixed t (appd345.vsd); G_\theta(..) -> G(..) (the parameter is the notation's); ^\top dropped; f_{\theta^-} -> \vec{fminus}, f_\theta -> \vec{ftheta},
\partial_s f_{\theta^-} -> \vec{fdsminus}, (\partial_x f_{\theta^-}(..)) -> \vec{fdxminus}(..), \delta f -> \vec{deltaf};
\mathbb{E}[B] (no subscript, notation appd345.cm) -> \vec{E}(B); \omega(a) -> w_{\omega}(a) (a weight function);
\lim_{\Delta s \rightarrow 0} dropped (kind approx, order 0); \Delta t (A) -> \Delta t \cdot (A); \vec{deltaf} (A) -> \vec{deltaf} \cdot (A).
"""
from __future__ import annotations

import math
import re
import time as _time

import mpmath
import numpy as np
import sympy as sp

from derive.symbols import dt as DT

from . import latex as L
from . import methods_flow as MF
from . import verify as V
from .catalogue import Claim
from .notation import get_notation, interpret
from .notations_appd345 import THETA, THETA_M
from .verdict import MethodResult

DIGITS = 45
#: Delta for kind "approx" by order (residual / Delta^order -> 0; 45 digits keep the cancellation error far below)
STEPS = {0: sp.Float("1e-12", DIGITS), 1: sp.Float("1e-20", DIGITS), 2: sp.Float("1e-15", DIGITS)}
QUAD_DIGITS = 25      #: quadrature digits for exact relations (far below the 1e-10 hold tolerance); approx: DIGITS
HOLD_TOL, REFUTE_TOL = V.HOLD_TOL, V.REFUTE_TOL


# --- rewriting -----------------------------------------------------------------------------------------------

def _sub_calls(text: str, pattern: str, build) -> str:
    """Replace 'pattern(' ... ')' calls: build(match, argument text) -> replacement."""
    while True:
        mo = re.search(pattern + r"\s*\(", text)
        if not mo:
            return text
        end = L.group_end(text, mo.end() - 1, "(", ")")
        text = text[:mo.start()] + build(mo, text[mo.end():end - 1]) + text[end:]


_ARROW = r"\\Psi_\{\s*([^{}]*?)\s*\\rightarrow\s*([^{}]*?)\s*\}"


def _flow_maps(text: str) -> str:
    text = re.sub(_ARROW + r"\s*\\circ\s*" + _ARROW + r"\s*=\s*" + _ARROW + r"\s*[.,;]?\s*$",
                  lambda mo: rf"\Psi_{{{mo.group(1)} \rightarrow {mo.group(2)}}}(\Psi_{{{mo.group(3)} \rightarrow "
                             rf"{mo.group(4)}}}(\mathbf{{x}})) = \Psi_{{{mo.group(5)} \rightarrow {mo.group(6)}}}(\mathbf{{x}})",
                  text.strip().rstrip(".,;"))
    text = re.sub(_ARROW + r"\s*\\#\s*(p_\{[^{}]*\}|p_\{\\text\{[a-z]+\}\}|p_[a-zA-Z0-9])",
                  lambda mo: rf"\vec{{push}}({mo.group(1)}, {mo.group(2)}, {mo.group(3)})", text)
    text = re.sub(r"\\nabla\s*\\Psi_t\s*\(\s*\\mathbf\{y\}\s*\)", r"\\nabla_{\\mathbf{y}} \\Psi_t(\\mathbf{y})", text)
    text = _sub_calls(text, _ARROW, lambda mo, arg: rf"\Psi({mo.group(1)}, {mo.group(2)}, {arg})")
    text = _sub_calls(text, r"\\Psi_([t0])\s*\^\s*\{\s*-1\s*\}", lambda mo, arg: rf"\Psi({mo.group(1)}, 0, {arg})")
    return _sub_calls(text, r"\\Psi_([t0])", lambda mo, arg: rf"\Psi(0, {mo.group(1)}, {arg})")


def _norms(text: str) -> str:
    text = re.sub(r"\\\|(.*?)\\\|_2\^2", r"(\1)^{2}", text)
    text = re.sub(r"\\\|(.*?)\\\|\^2", r"(\1)^{2}", text)
    return re.sub(r"\\langle(.*?),(.*?)\\rangle", r"(\1)(\2)", text)


def _expectations(text: str, notation: str) -> str:
    text = re.sub(r"\\mathbb\{E\}_\{p\(\\mathbf\{x\}_0\s*\|\s*\\mathbf\{x\}_t\)\}", r"\\mathbb{E}", text)
    while (mo := re.search(r"\\mathbb\{E\}_\{\\mathbf\{x\}_(\w)\s*\\sim\s*p_\1\}\s*\\\|(.*?)\\\|_2\^2", text)):
        text = text[:mo.start()] + rf"\vec{{E}}(({mo.group(2)})^{{2}}, {mo.group(1)})" + text[mo.end():]
    if notation == "appd345.vsd":             # E_t[A] at a fixed t (the outer average over t of both sides)
        while (mo := re.search(r"\\mathbb\{E\}_t\s*\[", text)):
            end = L.group_end(text, mo.end() - 1, "[", "]")
            text = text[:mo.start()] + "(" + text[mo.end():end - 1] + ")" + text[end:]
    if notation in ("appd345.cm", "appd345.vsd"):
        while (mo := re.search(r"\\mathbb\{E\}\s*\[", text)):
            end = L.group_end(text, mo.end() - 1, "[", "]")
            text = text[:mo.start()] + r"\vec{E}(" + text[mo.end():end - 1] + ")" + text[end:]
    return text


def _networks(text: str) -> str:
    theta = r"\\boldsymbol\{\\theta\}|\\theta"
    text = re.sub(r"\\mathbf\{f\}_\{(?:" + theta + r")\^-\}", r"\\vec{fminus}", text)
    text = re.sub(r"\\mathbf\{f\}_\{(?:" + theta + r")\}(?:\^\\top)?", r"\\vec{ftheta}", text)
    text = re.sub(r"\\partial_s\s*\\vec\{fminus\}", r"\\vec{fdsminus}", text)
    text = re.sub(r"\(\\partial_\{\\mathbf\{x\}\}\s*\\vec\{fminus\}(\([^()]*\))\)", r"\\vec{fdxminus}\1", text)
    text = re.sub(r"\\delta\s*\\mathbf\{f\}", r"\\vec{deltaf}", text)
    text = re.sub(r"\\vec\{deltaf\}\s*\(", r"\\vec{deltaf} \\cdot (", text)   # delta f (A): a product
    return re.sub(r"(" + theta + r")\^-", r"\\theta_{minus}", text)


def _defines(text: str, claim: Claim) -> str:
    for definition in claim.extra.get("defines", []):
        parts = re.split(r":=", definition, maxsplit=1) if ":=" in definition else definition.split("=", 1)
        if len(parts) != 2:
                raise L.LatexError(f"a definition reads 'A := B' or 'A = B', got {definition[:60]!r}")
        name, body = parts[0].strip().rstrip("& "), re.sub(r"[,.]\s*$", "", parts[1].strip())
        body = re.sub(r"^\\begin\{aligned\}|\\end\{aligned\}$", "", body.split(r"\\")[0]).strip().lstrip("&")
        if "=" in body:
            raise L.LatexError(f"the body of the definition of {name[:40]!r} is itself a relation")
        if name not in text:                    # used without its argument: L_VSD for L_VSD(theta)
            name = re.sub(r"\s*\([^()]*\)$", "", name)
        if name not in text:
            raise L.LatexError(f"defined name {name[:40]!r} does not occur in the claim")
        text = text.replace(name, "(" + body + ")")
    return text


def prepare(text: str, claim: Claim, expand: bool = True) -> list[str]:
    """The claim's relations in the dialect of checks.latex (module docstring lists every rewrite);
    ``expand``: replace the names of the claim's ``defines`` by their bodies."""
    s = MF._drop_underbrace(text)
    s = _defines(s, claim) if expand else s
    s = re.sub(r"\\(?:begin|end)\{aligned\}", " ", s)
    s = re.sub(r"\\(?:left|right)(?![a-zA-Z])\s*", " ", s)
    s = s.replace(r"\Delta s", r"\Delta t")
    s = re.sub(r"\+\s*\\mathcal\{O\}\s*\((?:[^()]|\([^()]*\))*\)", " ", s)
    s = re.sub(r"\\text\{Tr\}\s*", " ", s)
    s = re.sub(r"(\\Delta t)\s*\(", r"\1 \\cdot (", s)                 # dt (A) is a product, not a call
    s = re.sub(r"\\lim_\{\\Delta t\s*\\rightarrow\s*0\}", " ", s)     # a limit: kind approx, order 0
    s = re.sub(r"\\omega\s*\(", r"w_{\\omega}(", s)
    s = _flow_maps(s)
    s = re.sub(r"\\nabla\s*\\varphi\s*\(", r"\\varphi'(", s)
    s = re.sub(r"\\frac\{\\partial\s*(p_t(?:\^\{\\text\{fwd\}\})?)\}\{\\partial t\}\s*\(([^()]*)\)",
               r"\\frac{\\partial \1(\2)}{\\partial t}", s)
    s = re.sub(r"\\frac\{d\\mathbf\{z\}\}\{dt\}", r"\\frac{d}{dt} \\mathbf{z}(t)", s)
    s = re.sub(r"(?:\\partial|\\nabla)_\{?(?:\\boldsymbol\{\\theta\}|\\theta)\}?", r"\\frac{\\partial}{\\partial \\theta}", s)
    for name in ("s", "x", "v"):
        s = re.sub(r"\\mathbf\{" + name + r"\}\^\*", rf"\\vec{{{name}star}}", s)
    s = re.sub(r"(?:\\boldsymbol\{\\epsilon\}|\\epsilon)\^\*", r"\\vec{epsilonstar}", s)
    s = re.sub(r"p_t\^\{?\\theta\}?", "q_t", s)
    s = re.sub(r"\\mathbf\{G\}_\{?(?:\\boldsymbol\{\\theta\}|\\theta)\}?\s*\(", r"\\mathbf{G}(", s)   # G_theta(..): a call
    s = re.sub(r"\\mathcal\{D\}_\{\\text\{KL\}\}\((\w_t)\s*\\\|\s*(\w_t)\)", r"\\vec{KL}(\1, \2)", s)
    s = re.sub(r"\\nabla_\{\\mathbf\{x\}\}\s*\\log\s*([pq]_t)(?!\s*\()", r"\\frac{\\partial}{\\partial x} \\log \1(\\mathbf{x})", s)
    s = re.sub(r"\{\s*\\langle(.*?),\s*\}\s*\{(.*?)\}\s*\\rangle", r"(\1)(\2)", s)   # {<a,} {b}> (underbraces)
    s = _expectations(s, claim.notation)
    s = _norms(s)
    s = re.sub(r"\^\s*\\top|\^\s*\{\\top\}", " ", s)
    s = _networks(s)
    rows = [r for r in re.split(r"\\quad\s*\\text\{and\}\s*\\quad|,\s*\\quad", s) if r.strip()]
    return [MF.prenormalise(r) for r in rows if re.search(r"=|\\approx", r)]


def relations(claim: Claim, form: str) -> tuple[list[L.Relation], bool]:
    text, parsed = V.claim_text(claim, form)
    rels = []
    for row in prepare(text, claim):
        rel = L.parse_relation(row)
        rels.append(L.Relation([MF._repair(side, rel) for side in rel.sides], rel.ops, rel.atoms))
    if not rels:
        raise L.LatexError(f"no relation in {text[:60]!r}")
    return rels, parsed


# --- evaluation ----------------------------------------------------------------------------------------------

def _where(claim: Claim, model, notation) -> dict:
    text = claim.extra.get("where")
    if not text:
        return {}
    rel = L.parse_relation(prepare(text, claim, expand=False)[0])
    lhs, rhs = (interpret(MF._repair(side, rel), rel.atoms, model, notation) for side in rel.sides)
    if not isinstance(lhs, sp.Symbol):
        raise V.VerificationError(f"'where' must name a symbol on its left, got {lhs}")
    return {lhs: rhs}


def residuals(claim: Claim, rel: L.Relation, model) -> list[sp.Expr]:
    notation = get_notation(claim.notation)
    first = 1 if claim.extra.get("definiens") else 0      # 'A := B = C': A only names B
    sides = [interpret(side, rel.atoms, model, notation) for side in rel.sides[first:]]
    ops = list(rel.ops)[first:]
    swap = _where(claim, model, notation)
    out = []
    for a, b, op in zip(sides, sides[1:], ops):
        if op not in ("=", ":=", r"\approx"):
            raise V.VerificationError(f"relation {op!r} is not an equality")
        r = _derivatives(b - a)
        r = r.subs(swap)
        if claim.extra.get("identify"):
            r = r.subs(THETA_M, THETA)
        if claim.kind == "approx":
            r = r / DT**int(claim.extra.get("order", 0))
        out.append(r)
    return out


def _derivatives(expr: sp.Expr) -> sp.Expr:
    """Carry out derivatives (inside out); one of an integral goes under the sign (no symbolic integration)."""
    return expr.replace(lambda e: isinstance(e, (sp.Derivative, sp.Subs)),
                        lambda e: e.doit(deep=False) if e.has(sp.Integral) else e.doit())


def _quad(integral: sp.Integral, digits: int) -> sp.Expr:
    """A definite integral by mpmath.quad at ``digits`` (the line split at -3, 0, 3)."""
    (var, lo, hi), = integral.limits
    body = integral.function
    if body.free_symbols - {var}:
        raise V.VerificationError(f"integrand has free symbols {body.free_symbols - {var}}")
    fn = sp.lambdify(var, body, modules="mpmath")
    with mpmath.workdps(digits):
        value = mpmath.quad(fn, [-mpmath.inf, -3, 0, 3, mpmath.inf] if (lo, hi) == (-sp.oo, sp.oo) else [lo, hi])
        return sp.Float(mpmath.nstr(mpmath.re(value), digits), digits)


def evaluate(expr: sp.Expr, point: dict, digits: int = QUAD_DIGITS) -> complex:
    """``expr`` at ``point``: derivatives carried out, integrals by quadrature at ``digits``, the rest at 45 digits."""
    expr = _derivatives(expr.subs(point))
    expr = expr.replace(lambda e: isinstance(e, sp.Integral), lambda e: _quad(e, digits))
    return complex(sp.N(expr, DIGITS))


def _points(rng, model, symbols_, n, claim):
    pts = V._points(rng, model, symbols_, n)
    for pt in pts:
        if DT in pt and claim.kind == "approx":
            pt[DT] = STEPS[int(claim.extra.get("order", 0))]
        for sym in list(pt):
            pt[sym] = sp.Float(pt[sym], DIGITS)
    return pts


def _quad_digits(claim: Claim) -> int:
    """Quadrature digits: 25 for exact relations; for kind approx enough to divide by Delta^order (Delta = 1e-12
    for order 0, where the formula itself may divide by Delta, 1e-20 for order 1, 1e-15 for order 2) and stay far
    below the 1e-10 hold tolerance."""
    if claim.kind != "approx":
        return QUAD_DIGITS
    return {0: 30, 1: 36}.get(int(claim.extra.get("order", 0)), DIGITS)


def appd_exact(claim: Claim, form: str, seed: int, samples=None) -> MethodResult:
    """Every relation of every row at seeded points of Gaussian-data models (module docstring)."""
    start = _time.perf_counter()
    rels, _ = relations(claim, form)
    rng = np.random.default_rng(seed)
    worst, where = 0.0, ""
    for model in MF._models(rng, claim):
        for rel in rels:
            for r in residuals(claim, rel, model):
                for pt in _points(rng, model, r.free_symbols, int(claim.extra.get("points", 2)), claim):
                    val = abs(evaluate(r, pt, _quad_digits(claim)))
                    if not math.isfinite(val):
                        return MethodResult("appd-exact", form, None, None, seed=seed, seconds=_time.perf_counter() - start,
                                            detail=f"residual not finite on {model.schedule.name}")
                    if val > worst:
                        worst, where = val, f"{model.schedule.name}, data N({model.data.means[0]}, {model.data.variances[0]}), " + \
                            ", ".join(f"{k}={float(v):.4g}" for k, v in pt.items())
    holds = True if worst < HOLD_TOL else (False if worst >= REFUTE_TOL else None)
    return MethodResult("appd-exact", form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"{len(rels)} relation(s), Gaussian data: worst residual {worst:.3g} ({where})")


# --- orders -------------------------------------------------------------------------------------------------

def _claimed_order(text: str) -> tuple[str, int]:
    """(left side text, k) of 'A = \\mathcal{O}(\\Delta s^k)'."""
    mo = re.search(r"=\s*\\mathcal\{O\}\s*\((.*)\)\s*[,.]?\s*$", text.strip())
    if not mo:
        raise L.LatexError("an order claim reads 'A = \\mathcal{O}(\\Delta s^k)'")
    arg, _ = L.parse_expression(mo.group(1).replace(r"\Delta s", r"\Delta t").replace("|", ""))
    power = sp.Poly(arg, *arg.free_symbols).total_degree() if arg.free_symbols else 0
    return text[:mo.start()], int(power)


def appd_order(claim: Claim, form: str, seed: int, samples=None) -> MethodResult:
    """'A = O(Delta^k)': A (parsed with methods_guidance.prepare, notation of the claim) is evaluated at
    Delta = 1e-3 and 1e-5; the measured exponent must be >= k - 0.2 (refuted below k - 0.5)."""
    from . import methods_guidance as MG
    start = _time.perf_counter()
    text, _ = V.claim_text(claim, form)
    left, k = _claimed_order(text)
    rows = MG.prepare(left + " = 0")
    rel = L.parse_relation(rows[0])
    rng = np.random.default_rng(seed)
    notation = get_notation(claim.notation)
    worst = None
    for model in MG.models(rng, claim):
        value = interpret(rel.sides[0], rel.atoms, model, notation)
        pt = MG._point(rng, value.free_symbols - {DT}, False)
        vals = [abs(evaluate(value, {**pt, DT: sp.Float(h, DIGITS)})) for h in ("1e-3", "1e-5")]
        if min(vals) == 0:
            continue
        slope = math.log(vals[0] / vals[1]) / math.log(100)
        worst = slope if worst is None else min(worst, slope)
    if worst is None:
        return MethodResult("appd-order", form, None, detail="quantity vanished identically")
    holds = True if worst >= k - 0.2 else (False if worst < k - 0.5 else None)
    return MethodResult("appd-order", form, holds, None, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"measured exponent {worst:.3f} against claimed {k} (Delta = 1e-3, 1e-5)")


METHODS = {"appd-exact": appd_exact, "appd-order": appd_order}
