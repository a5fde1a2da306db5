r"""Plugin methods for the book 003, chapters 8, 10, 11: exact checks against closed-form references.

Each method PARSES the claim's LaTeX: ``prepare`` rewrites the book's constructs that checks/latex.py does not
read yet into ones it does (a fixed, documented table of rewrites; nothing is retyped), ``checks.latex`` parses
the result, ``checks.notation.interpret`` reads the symbols in the claim's notation (checks/notations_guidance.py),
and every relation of the chain is evaluated at seeded random points with 50 digits on several schedules:

* "guidance"    — class-conditional Gaussian-mixture data: conditional/unconditional/tilted scores (ch. 8);
* "pd-target"   — Gaussian data: the progressive-distillation target solved from two exact DDIM steps (10.3.2);
* "consistency" — Gaussian data: the exact PF-ODE flow map Psi_{s->t} (derive.pf_ode), consistency function,
                  CTM's g*, MeanFlow's average velocity h*, conditional expectations (ch. 10-11).
* "map-composition" — as "consistency", after the rewrite ``compositions`` (maps composed with \circ, applied to a point);
* "tilt"        — sec. 8.1 Remark: Gaussian data with Gaussian tilts, identities and the 'iff' condition against
                  the continuity residual of the tilted PF-ODE (``tilt_check``);
* "linear-inverse" — sec. 8.4 surrogates A^T(y - Ax), A^+(y - Ax) on concrete matrices (``linear_inverse_check``);
* "scm", "proposal" — sec. 11.3.3 sCM on the TrigFlow path with a concrete network (``scm_check``,
                  ``proposal_check``);
* "dpo"         — sec. 8.5 on seeded finite outcome sets (``dpo_check``).
Each of these has its own rewrite function (``prepare_tilt``, ``prepare_linear``, ``prepare_scm``, ``prepare_dpo``),
documented there.

Integrals (int_s^t v*(x_u, u) du along the exact trajectory) are evaluated by mpmath quadrature (lambdify, 50 digits).
A relation holds when every residual is below 1e-10 at every point, is refuted when one exceeds 1e-6.
Rewrites (``prepare``), in order:
  \underbrace{A}_{..} -> {A};  '=:' -> '=';  rows split at \iff, \implies, ', \quad \text{and} \quad', ', \quad';
  row labels 's \rightarrow u : \quad' and annotations '(\text{DDIM})' dropped;  \Delta s -> \Delta t (the step);
  s' -> s-\Delta t;  x(a) -> x_{a};  \alpha'_u -> \dot{\alpha}_u;  N^*, N_\theta, N_{\theta^-}, N^{\text{tgt}}
  -> \vec{Nstar}, \vec{Ntheta}, \vec{Ntgt} (N in g, h, G, f, v);  (\partial_x N)(..), (\nabla_x N)(..),
  (\partial_x N(..)) / \partial_s N(..), (\frac{\partial}{\partial s} N)(..) -> \vec{hdx..}(..) / \vec{hds..}(..) (N in h, f);  \Psi_{a \rightarrow b}(y) -> \Psi_{b}(y, a);
  x_{a \rightarrow b}^{\text{Euler}} -> \vec{xeuler}(x_a, a, b);  x_{a \rightarrow b} -> \vec{xstep}(x_a, a, b);
  x^{\text{DDIM}}_{b} -> \vec{xDDIM}(b);  \mathbb{E}[A | x_a] and \mathbb{E}_{x_0 \sim p(x_0 | x_a)}[A] ->
  \vec{E}(A, a);  \widehat{\nabla \log p_s(x_s)} -> \vec{scorehat}(x_s, s);  \|A\|^2 -> (A)^{2};
  s^{\text{CG}}, s^{\text{CFG}} -> \vec{sCG}, \vec{sCFG};  \emptyset -> c_{\emptyset};  '|' -> \mid;
  \tilde{x}'_t -> \vec{xstudent}_t;  \omega( -> \omega \cdot (;  x_{\phi^x} -> \vec{xphi} (x_{\phi^x}^{\omega} -> \vec{xphiomega});  \tau -> u in a claim with d/d\tau and no u.
"""
from __future__ import annotations

import re
import time as _time

import numpy as np
import sympy as sp

from derive import schedules
from derive.data import gaussian, normal_pdf
from derive.symbols import dt as DT, eps as EPS, t as T_SYM, tau as TAU, u as U_SYM, x as X_SYM, x0 as X0_SYM

from . import latex as L
from . import verify as V
from .catalogue import Claim
from .notation import Model, get_notation, interpret
from .notations_guidance import ANCHOR, OMEGA, S_SYM, T_END
from .verdict import MethodResult

DIGITS = 50
HOLD_TOL, REFUTE_TOL = 1e-10, 1e-6
STEP_LIMIT = sp.Float("1e-22", DIGITS)      # Delta for 'approx' claims (residual / Delta^order -> 0)


# --- rewriting ---------------------------------------------------------------------------------------

def _group_end(text: str, i: int, opening: str = "{", closing: str = "}") -> int:
    depth = 0
    for j in range(i, len(text)):
        if text[j] == opening:
            depth += 1
        elif text[j] == closing:
            depth -= 1
            if depth == 0:
                return j + 1
    raise L.LatexError(f"unbalanced {opening}{closing} near {text[i:i + 40]!r}")


def _underbraces(text: str) -> str:
    while True:
        mo = re.search(r"\\(?:underbrace|overbrace)\s*\{", text)
        if not mo:
            return text
        end = _group_end(text, mo.end() - 1)
        body = text[mo.end():end - 1]
        rest = text[end:]
        lab = re.match(r"\s*[_^]\s*\{", rest)
        if lab:
            rest = rest[_group_end(rest, lab.end() - 1):]
        else:
            lab = re.match(r"\s*[_^]\s*\\?[a-zA-Z]", rest)
            rest = rest[lab.end():] if lab else rest
        text = text[:mo.start()] + "{" + body + "}" + rest


def _paren_end(text: str, i: int) -> int:
    return _group_end(text, i, "(", ")")


def _arrow_calls(text: str) -> str:
    r"""\Psi_{a \rightarrow b}(y) -> \Psi_{b}(y, a); x_{a \rightarrow b}[^{\text{Euler}}] -> \vec{xstep|xeuler}(x_a, a, b)."""
    pattern = re.compile(r"\\Psi_\{([^{}]*?)\\rightarrow([^{}]*?)\}\s*\(")
    while True:
        mo = pattern.search(text)
        if not mo:
            break
        end = _paren_end(text, mo.end() - 1)
        text = (text[:mo.start()] + rf"\Psi_{{{mo.group(2).strip()}}}(" + text[mo.end():end - 1]
                + f", {mo.group(1).strip()})" + text[end:])
    state = re.compile(r"\\mathbf\{x\}_\{([^{}]*?)\\rightarrow([^{}]*?)\}(\^\{\\text\{Euler\}\})?")
    return state.sub(lambda mo: (r"\vec{xeuler}" if mo.group(3) else r"\vec{xstep}")
                     + rf"(\mathbf{{x}}_{{{mo.group(1).strip()}}}, {mo.group(1).strip()}, {mo.group(2).strip()})", text)


def _expectations(text: str) -> str:
    r"""\mathbb{E}[A | x_a] and \mathbb{E}_{x_0 \sim p(. | x_a)}[A] -> \vec{E}(A, a)."""
    pattern = re.compile(r"\\mathbb\{E\}\s*(_\{)?")
    out, i = [], 0
    while True:
        mo = pattern.search(text, i)
        if not mo:
            out.append(text[i:])
            return "".join(out)
        j, cond = mo.end(), None
        if mo.group(1):                                   # subscript: x_0 ~ p(x_0 | x_a)
            end = _group_end(text, j - 1)
            sub = text[j:end - 1]
            cm = re.search(r"\|\s*\\mathbf\{x\}_\{?(\\tau|[a-z0-9']+)\}?\s*\)", sub)
            if not cm:
                raise L.LatexError(f"cannot read the conditioning of {sub!r}")
            cond, j = cm.group(1), end
        k = j + len(text[j:]) - len(text[j:].lstrip())
        if k >= len(text) or text[k] != "[":
            raise L.LatexError(f"expectation without brackets near {text[mo.start():mo.start() + 40]!r}")
        end = _group_end(text, k, "[", "]")
        body = text[k + 1:end - 1]
        if cond is None:
            cm = re.search(r"\|\s*\\mathbf\{x\}_\{?(\\tau|[a-z0-9']+)\}?\s*$", body)
            if not cm:
                raise L.LatexError(f"cannot read the conditioning of E[{body}]")
            cond, body = cm.group(1), body[:cm.start()]
        out.append(text[i:mo.start()] + rf"\vec{{E}}({body}, {cond})")
        i = end


def _norms(text: str) -> str:
    r"""\left\| A \right\|^2, \| A \|^2 (one coordinate) -> (A)^{2}."""
    pattern = re.compile(r"(\\left)?\\\|(.*?)(\\right)?\\\|(?:_2)?\s*\^\s*(?:2|\{2\})", re.S)
    return pattern.sub(lambda mo: "(" + mo.group(2) + ")^{2}", text)


_NETS = "ghGfv"


def _networks(text: str) -> str:
    net = rf"\\mathbf\{{([{_NETS}])\}}"
    theta = r"(?:_\{?\\(?:boldsymbol\{\\theta\}|theta)(?:\^-|\^\{-\}|\^x|\^\\times)?\}?)"
    text = re.sub(net + theta + r"\^\{\\text\{tgt\}\}", r"\\vec{\1tgt}", text)
    text = re.sub(net + r"\^\*", r"\\vec{\1star}", text)
    text = re.sub(net + theta, r"\\vec{\1theta}", text)
    text = re.sub(r"\(\s*\\partial_\{\\mathbf\{x\}\}\s*\\vec\{h(star|theta)\}\s*\)", r"\\vec{hdx\1}", text)
    text = re.sub(r"\\partial_s\s*\\vec\{([hf])(star|theta)\}", r"\\vec{\1ds\2}", text)
    text = re.sub(r"\(\s*\\nabla_\{\\mathbf\{x\}\}\s*\\vec\{f(star|theta)\}\s*\)", r"\\vec{fdx\1}", text)
    text = re.sub(r"\\left\(\s*\\frac\{\\partial\}\{\\partial s\}\s*\\vec\{f(star|theta)\}\s*\\right\)",
                  r"\\vec{fds\1}", text)
    text = re.sub(r"\(\s*\\partial_\{\\mathbf\{x\}\}\s*\\vec\{f(star|theta)\}(\([^()]*\))\s*\)", r"\\vec{fdx\1}\2", text)
    return text


_REL_START = re.compile(r"^\s*&?\s*(=|:=|\\approx|\\le|\\iff|\\implies)")
_REL_END = re.compile(r"(=|:=|\\approx)\s*&?\s*$")


def _rows(text: str) -> str:
    r"""Rows of an aligned block: a row with its own left side starts a new relation (joined by \iff)."""
    rows = text.split("\\\\")
    out = rows[0]
    for row in rows[1:]:
        if _REL_START.match(row) or _REL_END.search(out) or not row.strip():
            out += " " + row
        else:
            out += r" \iff " + row
    return out


def prepare(latex: str) -> list[str]:
    """The relations of ``latex`` in the dialect checks.latex reads (see the module docstring)."""
    text = re.sub(r"\\(?:begin|end)\{(?:aligned|align\*?|split)\}", " ", latex)
    text = re.sub(r"\\tag\{[^{}]*\}", " ", text)
    text = _underbraces(text)
    text = re.sub(r"\\(?:left|right)\s*([\[\]])", r"\1", text)
    text = re.sub(r"\\hat\{\\mathbf\{x\}\}_0\s*\(", r"\\vec{xhat}(", text)
    text = re.sub(r"\\hat\{\\mathbf\{s\}\}\s*\(", r"\\vec{shat}(", text)
    text = re.sub(r"\\text\{[^{}]*\}\s*\\quad\s*$", " ", text.strip())
    text = re.sub(r"\(\s*\\text\{[^{}]*\}\s*\)", " ", text)
    text = re.sub(r"(^|\\\\)\s*&?\s*[a-z]\s*\\rightarrow\s*[a-z]\s*:\s*&?\s*\\quad", r"\1", text)
    text = re.sub(r"\\\\\s*&?\s*\\(iff|implies)", r" \\\1 ", text)
    text = text.replace("=:", "=").replace(r"\Delta s", r"\Delta t").replace(r"\,", " ")
    text = re.sub(r"_\{s'\}|_s'", r"_{s-\\Delta t}", text)
    text = re.sub(r"\\(alpha|sigma)'_", r"\\dot{\\\1}_", text)
    text = re.sub(r"\\mathbf\{x\}\((\\tau|[stu0T])\)", r"\\mathbf{x}_{\1}", text)
    text = re.sub(r"\\tilde\{\\mathbf\{x\}\}'_", r"\\vec{xstudent}_", text)
    text = re.sub(r"\\mathbf\{x\}_\{\\phi\^(?:x|\\times)\}\^\{\\omega\}", r"\\vec{xphiomega}", text)
    text = re.sub(r"\\mathbf\{x\}_\{\\phi\^(?:x|\\times)\}", r"\\vec{xphi}", text)
    text = re.sub(r"\\mathbf\{x\}_\{([^{}]*)\}\^\{\\text\{DDIM\}\}", r"\\vec{xDDIM}(\1)", text)
    text = re.sub(r"\^\{\\phi\^(?:x|\\times)\}", "", text)
    text = re.sub(r"\\mathbf\{s\}\^\{\\text\{(CG|CFG)\}\}(?:_\{\\phi\^\\times\})?", r"\\vec{s\1}", text)
    text = re.sub(r"\\mathbf\{s\}_\{\\phi\^\\times\}\^\{\\text\{(CG|CFG)\}\}", r"\\vec{s\1}", text)
    text = re.sub(r"\\widehat\{\\nabla_\{\\mathbf\{x\}(?:_s)?\}\s*\\log p_s\(\\mathbf\{x\}_s\)\}",
                  r"\\vec{scorehat}(\\mathbf{x}_s, s)", text)
    text = text.replace(r"\emptyset", r"\mathbf{c}_{\emptyset}")
    text = _networks(text)
    text = _expectations(text)
    text = _arrow_calls(text)
    text = _norms(text)
    text = re.sub(r"(?<!\\)\|", r" \\mid ", text)
    text = re.sub(r"\\omega\s*\(", r"\\omega \\cdot (", text)     # a scale times a bracket, not a call
    text = re.sub(r"\^(\d)\}", r"^{\1}}", text)      # 's^2}': keep checks.latex from reading '^2} (' as a call
    text = re.sub(r"\^(\d)\}", r"^{\1}}", text)      # s^2} : keep checks.latex from reading '^2} (' as a call
    if r"{d\tau}" in text and not re.search(r"(?<![a-zA-Z\\])u(?![a-zA-Z])", text):
        text = text.replace(r"\tau", "u")
    text = _rows(text)
    parts = re.split(r"\\iff|\\implies|,\s*\\quad\s*\\text\{and\}\s*\\quad|\\quad\s*\\text\{and\}\s*\\quad|,\s*\\quad", text)
    rows = [p for p in (p.strip().strip(",") for p in parts) if p and not re.match(r"^\\text\{", p)]
    return [r for r in rows if any(op in r for op in ("=", r"\approx", r"\leftarrow"))]


def relations(claim: Claim, form: str, rewrite=None) -> tuple[list[L.Relation], bool]:
    """Parsed relations of the document's (or corrected / transcribed) form; flag: the document's own text.
    ``rewrite``: an extra documented rewrite applied before ``prepare`` (e.g. ``compositions``)."""
    text, parsed = V.claim_text(claim, form)
    rows = prepare(rewrite(text) if rewrite else text)
    if not rows:
        raise L.LatexError(f"no relation found in {text[:80]!r}")
    return [L.parse_relation(r) for r in rows], parsed


# --- reference models and points ------------------------------------------------------------------

def models(rng: np.random.Generator, claim: Claim) -> list[Model]:
    """Concrete schedules (random parameters) with Gaussian data N(m, v) of random rational m, v."""
    names = [claim.extra["schedule"]] if claim.extra.get("schedule") else \
        list(claim.extra.get("schedules", ["vp-linear", "ve", "rectified-flow"]))
    out = []
    for name in names:
        sc = V.random_schedule(rng, name) if name != "sub-vp" else schedules.get(name)
        mean = sp.Rational(int(rng.integers(-15, 15)), 10)
        var = sp.Rational(int(rng.integers(2, 20)), 10)
        out.append(Model(sc, gaussian(mean, var)))
    return out


def _point(rng: np.random.Generator, symbols_: set, approx: bool) -> dict:
    """Random values: times in (0.3, 0.85) (ordered t < u < s so that maps run towards the data), T = 0.9,
    the step Delta in (0.02, 0.2) (1e-22 for 'approx' claims), states normal, guidance scale in (0, 3)."""
    times = sorted(rng.uniform(0.3, 0.85, 3))
    values = {T_SYM: times[0], U_SYM: times[1], S_SYM: times[2], TAU: float(rng.uniform(0.3, 0.85)), T_END: 0.9,
              DT: float(rng.uniform(0.02, 0.2)), OMEGA: float(rng.uniform(0.2, 3))}
    pt = {}
    for sym in sorted(symbols_, key=lambda s_: s_.name):
        if sym == DT and approx:
            pt[sym] = STEP_LIMIT
        elif sym in values:
            pt[sym] = sp.Float(values[sym], DIGITS)
        elif sym in (ANCHOR, X_SYM, X0_SYM, EPS):
            pt[sym] = sp.Float(rng.normal(0, 1.5), DIGITS)
        else:
            raise ValueError(f"no value for the symbol {sym} (unknown quantity in this notation)")
    return pt


def compile_residual(expr: sp.Expr):
    """(symbols, function) evaluating ``expr`` with mpmath at 50 digits (integrals by mpmath.quad)."""
    syms = sorted(expr.free_symbols, key=lambda s_: s_.name)
    digits = 30 if expr.has(sp.Integral) else DIGITS     # quadrature to 30 digits is ample for the 1e-10 threshold
    return syms, sp.lambdify(syms, expr, modules="mpmath"), digits


def evaluate(compiled, point: dict) -> complex:
    """A compiled residual at ``point`` (50 digits)."""
    import mpmath
    syms, fn, digits = compiled
    with mpmath.workdps(digits):
        return complex(fn(*[mpmath.mpf(str(sp.N(point[s_], DIGITS))) for s_ in syms]))


def residuals(claim: Claim, rel: L.Relation, model: Model) -> list[sp.Expr]:
    notation = get_notation(claim.notation)
    sides = [interpret(side, rel.atoms, model, notation) for side in rel.sides]
    out = []
    for i, op in enumerate(rel.ops):
        if op not in ("=", ":=", r"\equiv", r"\approx", r"\leftarrow"):
            raise ValueError(f"relation {op!r} is not checked by this method")
        r = (sides[i + 1] - sides[i]).doit(integrals=False)
        if claim.kind == "approx":
            r = r / DT**int(claim.extra.get("order", 0))
        out.append(r)
    return out


def exact_check(method: str, rewrite=None):
    """A plugin method: every relation of the claim at seeded random points of several reference models."""
    def run(claim: Claim, form: str, seed: int, samples: int | None = None) -> MethodResult:
        start = _time.perf_counter()
        rng = np.random.default_rng(seed)
        rels, _ = relations(claim, form, rewrite)
        n_points = int(claim.extra.get("points", 3))
        worst, where = 0.0, ""
        for model in models(rng, claim):
            for rel in rels:
                for r in residuals(claim, rel, model):
                    compiled = compile_residual(r)
                    for _ in range(n_points):
                        pt = _point(rng, r.free_symbols, claim.kind == "approx")
                        val = abs(evaluate(compiled, pt))
                        if val != val or val == float("inf"):
                            return MethodResult(method, form, None, None, seed=seed, seconds=_time.perf_counter() - start,
                                                detail=f"residual not finite on {model.schedule.name}")
                        if val > worst:
                            worst = val
                            where = f"{model.schedule.name}: " + ", ".join(f"{k}={float(v):.4g}" for k, v in pt.items())
        holds = True if worst < HOLD_TOL else (False if worst >= REFUTE_TOL else None)
        return MethodResult(method, form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                            detail=f"{len(rels)} relation(s); worst residual {worst:.3g} ({where})")
    return run


METHODS = {
    "guidance": exact_check("guidance"),
    "pd-target": exact_check("pd-target"),
    "consistency": exact_check("consistency"),
}


# --- helper G: the tilted PF-ODE (sec. 8.1), linear inverse problems (sec. 8.4), sCM (sec. 11.3.3) ------------
# Rewrites of these methods (applied after the common ones above, documented per function): none retypes a formula.

def _call_group(text: str, start: int) -> tuple[str, int]:
    """The parenthesised group starting at text[start] == '(' -> (inner text, index after it)."""
    end = _paren_end(text, start)
    return text[start + 1:end - 1], end


def _apply_operator(text: str, pattern: str, template: str) -> str:
    r"""Replace ``pattern`` followed by a call ``\vec{..}(..)`` or a group ``(..)`` by ``template`` % that operand."""
    operand = re.compile(pattern + r"\s*((?:\\vec\{\w+\}|p_t|[a-zA-Z])?\s*\()")
    while True:
        mo = operand.search(text)
        if not mo:
            return text
        start = mo.end() - 1
        inner, end = _call_group(text, start)
        head = mo.group(1)[:-1].strip()
        body = f"{head}({inner})" if head else f"({inner})"
        text = text[:mo.start()] + template.replace("@", body) + text[end:]


def prepare_tilt(latex: str) -> list[str]:
    r"""Sec. 8.1 Remark in the dialect of checks.latex. Rewrites, in order: \left, \right dropped;
    \tilde{p}_t^{\text{tilt}}, \mathbf{v}_t^{\text{orig|tilt}}, \mathbf{h}_t (with or without (\mathbf{x})), p_t ->
    the calls \vec{ptilt}(x), \vec{vorig}(x), \vec{vtilt}(x), \vec{h}(x), p_t(x) at the point x;
    \tilde{p}_t(\mathbf{c}|\mathbf{x}_t) -> \vec{psur}(x); \ell -> \vec{ell}; \nabla_{\mathbf{x}_t} -> \nabla;
    Z'_t -> d/dt \vec{Z}(t), Z_t -> \vec{Z}(t);  \mathbf{f} -> f(t) x;  \|A\|^2 -> (A)^{2};
    \partial_t A, \nabla A, \nabla \cdot A, \Delta A (A a call or a bracket, after \log) -> d/dt, d/dx, d/dx, d^2/dx^2.
    A relation \propto is checked as d/dx of the log-ratio of its sides (proportional in x)."""
    text = re.sub(r"\\(?:begin|end)\{aligned\}", " ", latex)
    text = re.sub(r"\\(?:left|right)\s*([()\[\]])", r"\1", text)
    text = text.replace("[", "(").replace("]", ")")
    text = re.sub(r"\\tilde\{p\}_t\^\{\\text\{tilt\}\}(?:\([^()|]*\|[^()]*\))?", r"\\vec{ptilt}(x)", text)
    text = re.sub(r"\\tilde\{p\}_t\(\\mathbf\{c\}\|\\mathbf\{x\}_t\)", r"\\vec{psur}(x)", text)
    text = text.replace(r"\ell", r"\vec{ell}").replace(r"\nabla_{\mathbf{x}_t}", r"\nabla")
    text = re.sub(r"\\mathbf\{v\}_t\^\{\\text\{(orig|tilt)\}\}", r"\\vec{v\1}(x)", text)
    text = re.sub(r"\\mathbf\{h\}_t(?:\(\\mathbf\{x\}\))?", r"\\vec{h}(x)", text)
    text = re.sub(r"(?<![a-zA-Z\\])p_t(?!\s*\()", "p_t(x)", text)
    text = re.sub(r"Z'_t", r"\\frac{\\partial}{\\partial t}(\\vec{Z}(t))", text)
    text = re.sub(r"Z_t", r"\\vec{Z}(t)", text)
    text = re.sub(r"\\mathbf\{f\}(?![_a-zA-Z])", r"f(t) x", text)
    text = _norms(text)
    text = re.sub(r"\\log\s*(\\vec\{\w+\}\([^()]*\)|p_t\(x\))", r"\\log(\1)", text)
    text = _apply_operator(text, r"\\partial_t\s*\\log", r"\frac{\partial}{\partial t}(\log@)")
    text = _apply_operator(text, r"\\partial_t", r"\frac{\partial}{\partial t}(@)")
    text = _apply_operator(text, r"\\nabla\s*\\cdot", r"\frac{\partial}{\partial x}(@)")
    text = _apply_operator(text, r"\\nabla\s*\\log", r"\frac{\partial}{\partial x}(\log@)")
    text = _apply_operator(text, r"\\Delta\s*\\log", r"\frac{\partial}{\partial x}(\frac{\partial}{\partial x}(\log@))")
    text = _apply_operator(text, r"\\nabla(?!\s*\\cdot|\s*\\log)", r"\frac{\partial}{\partial x}(@)")
    text = re.sub(r"\\tag\{[^{}]*\}", " ", text).strip().rstrip(".").rstrip(",")
    parts = re.split(r",\s*\\quad", text)
    return [p.replace("&", " ").replace("\\\\", " ") for p in parts if re.search(r"=|\\equiv|\\propto", p)]


def _tilts(rng: np.random.Generator, model: Model, which: str, index: int) -> list[tuple[str, tuple]]:
    """Tilts of Gaussian data: a 'consistent' one (p_t h_t proportional to the marginal of other Gaussian data,
    derive.guidance.consistent_tilt) and, unless which == 'consistent', one that is not: a time-independent
    likelihood tilt (even ``index``) or a time-dependent one (odd ``index``)."""
    from derive.guidance import consistent_tilt
    mean, var = model.data.means[0], model.data.variances[0]
    target_mean = mean + sp.Rational(int(rng.integers(-10, 10)), 10)
    target_var = var * sp.Rational(int(rng.integers(2, 8)), 10)
    out = [("consistent", consistent_tilt(model.alpha(T_SYM), model.sigma(T_SYM), mean, var, target_mean, target_var))]
    if which != "consistent":
        if index % 2 == 0:
            out.append(("likelihood", (sp.Rational(int(rng.integers(5, 20)), 10),
                                       sp.Rational(int(rng.integers(-5, 15)), 10))))
        else:
            out.append(("time-dependent", (1 + T_SYM, T_SYM / 2)))
    return out


def _class(worst: float) -> bool | None:
    return True if worst < HOLD_TOL else (False if worst >= REFUTE_TOL else None)


def _worst(expr: sp.Expr, rng: np.random.Generator, n_points: int) -> float:
    """Largest |expr| at seeded points, by direct 50-digit substitution (large expressions: no lambdify)."""
    worst = 0.0
    for _ in range(n_points):
        pt = {k: v for k, v in _point(rng, expr.free_symbols, False).items()}
        val = complex(sp.N(expr.xreplace(pt), DIGITS))
        worst = max(worst, abs(val) if val == val else float("inf"))
    return worst


_TRUTH: dict = {}


def _tilt_residuals(claim: Claim, rel: L.Relation, model: Model, notation: dict) -> list[sp.Expr]:
    """= as a difference; \\propto as d/dx of the log-ratio (the sides proportional as functions of x)."""
    sides = [interpret(side, rel.atoms, model, notation) for side in rel.sides]
    out = []
    for i, op in enumerate(rel.ops):
        if op == r"\propto":
            out.append(sp.diff(sp.log(sides[i]) - sp.log(sides[i + 1]), X_SYM))
        elif op in ("=", ":=", r"\equiv"):
            out.append(sides[i + 1] - sides[i])
        else:
            raise ValueError(f"relation {op!r} is not checked by the tilt method")
    return out


def tilt_check(claim: Claim, form: str, seed: int, samples: int | None = None) -> MethodResult:
    """Sec. 8.1 Remark on Gaussian data N(m, v) with Gaussian tilts h_t = exp(-k_t (x - c_t)^2/2) (notation tilt_003).

    Claim field ``tilt_check``: "identity" (default) — every relation holds at seeded points for every tilt;
    "condition" — the relation is a condition for ptilde_t to be the marginal family of the tilted PF-ODE: for every
    tilt it must vanish identically in x exactly when the continuity residual of derive.guidance.
    tilted_continuity_residual does (a consistent tilt, where it does, and tilts where it does not).
    Field ``tilts``: "consistent" restricts to tilts whose family is transported (a statement made under that premise)."""
    from derive.guidance import tilted_continuity_residual
    start = _time.perf_counter()
    rng = np.random.default_rng(seed)
    text, _ = V.claim_text(claim, form)
    rels = [L.parse_relation(r) for r in prepare_tilt(text)]
    notation = get_notation(claim.notation)
    mode = claim.extra.get("tilt_check", "identity")
    n_points = int(claim.extra.get("points", 3))
    worst, notes, verdict = 0.0, [], True
    for index, model in enumerate(models(rng, claim)):
        for name, tilt in _tilts(rng, model, claim.extra.get("tilts", "all"), index):
            model._tilt = tilt
            res = [r for rel in rels for r in _tilt_residuals(claim, rel, model, notation)]
            claim_worst = max(_worst(r.doit(), rng, n_points) for r in res)
            if mode == "condition":
                mu, var, k, c = (model.alpha(T_SYM) * model.data.means[0], model.alpha(T_SYM)**2 * model.data.variances[0]
                                 + model.sigma(T_SYM)**2, *tilt)
                key = (seed, index, name, sp.srepr(model.schedule.alpha(T_SYM)), sp.srepr(model.data.means[0]),
                       sp.srepr(model.data.variances[0]), sp.srepr(tilt[0]), sp.srepr(tilt[1]), n_points)
                if key not in _TRUTH:      # the same seeded tilt for both forms: its continuity residual once
                    from derive.guidance import tilt_normaliser
                    truth = tilted_continuity_residual(sp.log(normal_pdf(X_SYM, mu, var)), -k * (X_SYM - c)**2 / 2,
                                                       sp.log(tilt_normaliser(mu, var, k, c)), model.f(T_SYM),
                                                       model.g2(T_SYM), X_SYM, T_SYM)
                    _TRUTH[key] = _worst(truth, np.random.default_rng([seed, index]), n_points)
                true_worst = _TRUTH[key]
                got, want = _class(claim_worst), _class(true_worst)
                notes.append(f"{model.schedule.name}/{name}: condition residual {claim_worst:.2g}, "
                             f"continuity residual {true_worst:.2g}")
                if got is None or want is None:
                    verdict = None if verdict else verdict
                elif got != want:
                    verdict = False
                worst = max(worst, 0.0 if got == want else 1.0)
            else:
                worst = max(worst, claim_worst)
                notes.append(f"{model.schedule.name}/{name}: {claim_worst:.2g}")
    holds = verdict if mode == "condition" else _class(worst)
    return MethodResult("tilt", form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail="; ".join(notes))


def prepare_linear(latex: str) -> list[str]:
    r"""Sec. 8.4 linear inverse problems. Rewrites: (\mathbf{A}^\top \mathbf{A})^{-1} -> \vec{AtAinv};
    \mathbf{A}^\top -> \vec{AT}; \mathbf{A}^\dagger -> \vec{Apinv}; \mathbf{A} -> \vec{A}."""
    text = re.sub(r"\(\s*\\mathbf\{A\}\^\\top\s*\\mathbf\{A\}\s*\)\^\{-1\}", r"\\vec{AtAinv}", latex)
    text = text.replace(r"\mathbf{A}^\top", r"\vec{AT}").replace(r"\mathbf{A}^\dagger", r"\vec{Apinv}")
    text = text.replace(r"\mathbf{A}", r"\vec{A}")
    return [text]


def _linear_value(expr, rel: L.Relation, env: dict):
    """A side of a linear-algebra relation: matrices applied to vectors. A product holds scalars, at most one matrix
    and at most one vector (so its order is unambiguous although the parse is commutative); a call M(v) is M v."""
    if isinstance(expr, sp.core.function.AppliedUndef):
        base = rel.atoms_base(expr)
        if base not in env or len(expr.args) != 1:
            raise L.LatexError(f"{base}(...) is not a matrix applied to one vector")
        return env[base] * _linear_value(expr.args[0], rel, env)
    if isinstance(expr, sp.Symbol):
        name = rel.atoms_base(expr)
        key = {"x": "x", "y": "y"}.get(name, name)
        if key not in env:
            raise L.LatexError(f"symbol {name!r} has no meaning in a linear inverse problem")
        return env[key]
    if expr.is_Number:
        return expr
    if isinstance(expr, sp.Add):
        parts = [_linear_value(a, rel, env) for a in expr.args]
        total = parts[0]
        for p in parts[1:]:
            total = total + p
        return total
    if isinstance(expr, sp.Mul):
        scalars, mats, vecs = sp.Integer(1), [], []
        for a in expr.args:
            val = _linear_value(a, rel, env)
            if isinstance(val, sp.MatrixBase):
                (vecs if val.cols == 1 else mats).append(val)
            else:
                scalars *= val
        if len(mats) > 1 or len(vecs) > 1:
            raise L.LatexError("a product of several matrices or vectors is ambiguous in a commutative parse")
        out = scalars
        for factor in mats + vecs:          # matrix before vector: M v
            out = out * factor if isinstance(out, sp.MatrixBase) else factor * out
        return out
    raise L.LatexError(f"cannot read {expr} as linear algebra")


def linear_inverse_check(claim: Claim, form: str, seed: int, samples: int | None = None) -> MethodResult:
    r"""Sec. 8.4 surrogates for the likelihood term grad log p_t(y | x_t) with y_t = A x_t + noise, on concrete
    matrices A (tall of full column rank, square invertible) and seeded vectors x_t, y_t. The left side is the
    likelihood term; every later side of the chain is compared with the claim's ``surrogate``:
    "gradient" — a positive multiple of grad_x log N(y_t; A x, c I) (derive.guidance.linear_likelihood_gradient;
    the text says 'ignoring multiplicative constants'): residual |side - |lam| G| / |G| with lam the projection;
    "newton" — the step maximising that likelihood from x_t (derive.guidance.likelihood_maximising_step)."""
    from derive.guidance import likelihood_maximising_step, linear_likelihood_gradient
    start = _time.perf_counter()
    rng = np.random.default_rng(seed)
    text, _ = V.claim_text(claim, form)
    rel = L.parse_relation(prepare_linear(text)[0])
    kind = claim.extra.get("surrogate", "gradient")
    worst, where = 0.0, ""
    for shape in ((3, 2), (2, 2), (4, 3)):
        for _ in range(int(claim.extra.get("points", 3))):
            while True:
                mat = sp.Matrix(shape[0], shape[1], [int(v) for v in rng.integers(-3, 4, shape[0] * shape[1])])
                if mat.rank() == shape[1]:
                    break
            xs = sp.Matrix([sp.Rational(int(v), 4) for v in rng.integers(-8, 9, shape[1])])
            ys = sp.Matrix([sp.Rational(int(v), 4) for v in rng.integers(-8, 9, shape[0])])
            if mat * xs == ys:
                continue
            env = {"Avec": mat, "ATvec": mat.T, "Apinvvec": mat.pinv(), "AtAinvvec": (mat.T * mat).inv(),
                   "x": xs, "y": ys}
            grad = linear_likelihood_gradient(mat, xs, ys)
            ref = grad if kind == "gradient" else likelihood_maximising_step(mat, xs, ys)
            for side in rel.sides[1:]:
                val = sp.Matrix(_linear_value(side, rel, env))
                if kind == "gradient":
                    lam = (val.T * ref)[0] / (ref.T * ref)[0]
                    err = (val - abs(lam) * ref).norm() / ref.norm()
                else:
                    err = (val - ref).norm() / ref.norm()
                err = float(err)
                if err > worst:
                    worst, where = err, f"A={mat.tolist()}, x={list(xs)}, y={list(ys)}"
    return MethodResult("linear-inverse", form, _class(worst), worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"surrogate '{kind}', worst relative residual {worst:.3g} ({where})")


def prepare_scm(latex: str) -> list[str]:
    r"""Sec. 11.3.3 (sCM) in the dialect of checks.latex. Rewrites, in order: \left, \right dropped;
    c_{\text{noise}}(s) -> s (the sCM default); \mathcal{L}_{\text{CT}}^{\infty}(\theta, \theta^-) -> \vec{Lct}; \mathbb{E}_{..}[A] -> (A) and \mathbb{E}_{..} dropped (the
    identities are checked pointwise, which implies them in expectation); \|A\|_2^2 -> (A)^{2}; ^{\top}, ^\top dropped
    (one coordinate); \nabla_{\theta} -> d/dq (q: the parameter); \nabla_{\mathbf{x}_s} \mathbf{F}_{\theta^-} -> \vec{Fdx};
    \partial_s \mathbf{F}_{\theta^-} -> \vec{Fds}; \mathbf{F}_{\theta^-}, \mathbf{F}_\theta^- -> \vec{Fnet};
    \mathbf{F}_{\theta} -> \vec{Fth}; (\partial_{\mathbf{x}} \mathbf{f}_{\theta^-}(..)) -> \vec{fdx}(..);
    \partial_s \mathbf{f}_{\theta^-} -> \vec{fds}; \alpha'_s, \sigma'_s -> d/ds of \alpha_s, \sigma_s; \mathbf{f}_{\theta^-} -> \vec{fnet}; \mathbf{f}_{\theta} -> \vec{fth};
    \frac{d\vec{N}}{ds}(args) -> \frac{d}{ds}(\vec{N}(args)); a bare \vec{Fnet} / \vec{Fth} (no arguments) is
    evaluated at the sCM input (x_s / sigma_d, s); \boldsymbol{\theta} -> \theta; \frac{d}{ds} \vec{N}(args) ->
    \frac{d}{ds}(\vec{N}(args))."""
    text = re.sub(r"\\(?:begin|end)\{aligned\}", " ", latex)
    text = _underbraces(text)
    text = re.sub(r"\\(?:left|right)\s*([()\[\]])", r"\1", text)
    text = re.sub(r"c_\{\\text\{noise\}\}\(s\)", "s", text)
    text = re.sub(r"\\mathcal\{L\}_\{\\text\{CT\}\}\^\{\\infty\}\(\\theta,\s*\\theta\^-\)", r"\\vec{Lct}", text)
    while r"\mathbb{E}_{" in text:
        j = text.index(r"\mathbb{E}_{")
        text = text[:j] + " " + text[_group_end(text, j + len(r"\mathbb{E}_")):]
    text = re.sub(r"\\\|(.*?)\\\|_2\^2", r"(\1)^{2}", text)
    text = re.sub(r"\^\{?\\top\}?", " ", text)
    text = text.replace("[", "(").replace("]", ")")
    text = re.sub(r"\\nabla_\{?\\theta\}?", r"\\frac{\\partial}{\\partial q}", text)
    text = text.replace(r"\boldsymbol{\theta}", r"\theta")
    minus = r"(?:_\{\\theta\^-\}|_\\theta\^-|_\{\\theta\^\{-\}\})"
    text = re.sub(r"\\nabla_\{\\mathbf\{x\}_s\}\s*\\mathbf\{F\}" + minus, r"\\vec{Fdx}", text)
    text = re.sub(r"\\partial_s\s*\\mathbf\{F\}" + minus, r"\\vec{Fds}", text)
    text = re.sub(r"\\mathbf\{F\}" + minus, r"\\vec{Fnet}", text)
    text = re.sub(r"\\mathbf\{F\}_\{?\\theta\}?", r"\\vec{Fth}", text)
    text = re.sub(r"\(\s*\\partial_\{\\mathbf\{x\}\}\s*\\mathbf\{f\}" + minus + r"(\([^()]*\))\s*\)", r"\\vec{fdx}\1", text)
    text = re.sub(r"\\partial_s\s*\\mathbf\{f\}" + minus, r"\\vec{fds}", text)
    text = re.sub(r"\\(alpha|sigma)'_s", r"\\frac{d}{ds}(\\\1_s)", text)
    text = re.sub(r"\\mathbf\{f\}" + minus, r"\\vec{fnet}", text)
    text = re.sub(r"\\mathbf\{f\}_\{?\\theta\}?", r"\\vec{fth}", text)
    pattern = re.compile(r"\\frac\{d\s*(\\vec\{\w+\})\}\{ds\}\s*(\()?")
    while True:
        mo = pattern.search(text)
        if not mo:
            break
        if mo.group(2):
            inner, end = _call_group(text, mo.end() - 1)
            text = text[:mo.start()] + rf"\frac{{d}}{{ds}}({mo.group(1)}({inner}))" + text[end:]
        else:
            text = text[:mo.start()] + rf"\frac{{d}}{{ds}}({mo.group(1)})" + text[mo.end():]
    call = re.compile(r"\\frac\{d\}\{ds\}\s*(\\vec\{\w+\})\s*\(")     # d/ds N(args) -> d/ds (N(args))
    while True:
        mo = call.search(text)
        if not mo:
            break
        inner, end = _call_group(text, mo.end() - 1)
        text = text[:mo.start()] + rf"\frac{{d}}{{ds}}({mo.group(1)}({inner}))" + text[end:]
    text = re.sub(r"(\\vec\{F(?:net|th|dx|ds)\})(?!\s*\()", r"\1(\\frac{\\mathbf{x}_s}{\\sigma_d}, s)", text)
    text = re.sub(r"\\tag\{[^{}]*\}", " ", text).strip().rstrip(".").rstrip(",")
    return [text.replace("&", " ").replace("\\\\", " ")]


def scm_check(claim: Claim, form: str, seed: int, samples: int | None = None) -> MethodResult:
    """Sec. 11.3.3 identities on the TrigFlow path with a concrete smooth network (notation scm_003): every relation
    at seeded 50-digit points (s in (0.2, 1.3), sigma_d in (0.3, 2), x_0, z, theta, y normal); theta^- set to theta
    after differentiation (the stop-gradient copy has the same value)."""
    from .notations_guidance import SIGMA_D, THETA, THETA_MINUS, X_FREE, Y_VEC, Z_SYM
    start = _time.perf_counter()
    rng = np.random.default_rng(seed)
    text, _ = V.claim_text(claim, form)
    rels = [L.parse_relation(r) for r in prepare_scm(text)]
    model = models(np.random.default_rng(seed), claim)[0]
    worst, where = 0.0, ""
    for rel in rels:
        for r in residuals(claim, rel, model):
            r = r.doit().subs(THETA_MINUS, THETA)
            compiled = compile_residual(r)
            for _ in range(int(claim.extra.get("points", 4))):
                pt = {}
                for sym in r.free_symbols:
                    if sym == S_SYM:
                        pt[sym] = sp.Float(rng.uniform(0.2, 1.3), DIGITS)
                    elif sym == SIGMA_D:
                        pt[sym] = sp.Float(rng.uniform(0.3, 2), DIGITS)
                    elif sym in (X0_SYM, Z_SYM, THETA, Y_VEC, X_FREE):
                        pt[sym] = sp.Float(rng.normal(0, 1.5), DIGITS)
                    else:
                        raise ValueError(f"no value for the symbol {sym} in notation scm_003")
                val = abs(evaluate(compiled, pt))
                if val > worst or val != val:
                    worst = val if val == val else float("inf")
                    where = ", ".join(f"{k}={float(v):.4g}" for k, v in pt.items())
    return MethodResult("scm", form, _class(worst), worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"{len(rels)} relation(s); worst residual {worst:.3g} ({where})")


_MAP = r"\\Psi_\{[^{}]*\}"


def compositions(latex: str) -> str:
    r"""Maps as functions (sec. 11.2): (\Psi_a \circ \Psi_b)(y) -> \Psi_a(\Psi_b(y)); a relation between bare maps
    (a chain \Psi_a \circ \Psi_b ..., or \mathbf{I}) is applied to the point \mathbf{x}_s on both sides."""
    chain = re.compile(r"\(\s*(" + _MAP + r"(?:\s*\\circ\s*" + _MAP + r")*)\s*\)\s*\(")
    while True:
        mo = chain.search(latex)
        if not mo:
            break
        inner, end = _call_group(latex, mo.end() - 1)
        maps = re.findall(_MAP, mo.group(1))
        latex = latex[:mo.start()] + "(".join(maps) + "(" + inner + ")" * len(maps) + latex[end:]
    bare = re.compile(r"(" + _MAP + r"(?:\s*\\circ\s*" + _MAP + r")*)(?!\s*\()")

    def apply(mo):
        maps = re.findall(_MAP, mo.group(1))
        return "(".join(maps) + r"(\mathbf{x}_s" + ")" * len(maps)
    latex = bare.sub(apply, latex)
    return re.sub(r"\\mathbf\{I\}", r"\\mathbf{x}_s", latex)


def proposal_check(claim: Claim, form: str, seed: int, samples: int | None = None) -> MethodResult:
    r"""Sec. 11.3.3 time proposal: 'Q(s) ~ N(.; P_mean, P_std^2)' with s drawn as in Algorithm 10 line 3,
    s = arctan(e^tau / sigma_d), tau ~ N(P_mean, P_std^2). Q(s(tau)) is Gaussian with the stated law iff it is affine
    in tau, Q = a tau + b, with a P_mean + b = mean and a^2 P_std^2 = variance: those three residuals at seeded
    points. Rewrite: \mathcal{N}(\cdot; m, v) -> \mathcal{N}(m, v)."""
    from .notations_guidance import P_MEAN, P_STD, SIGMA_D
    start = _time.perf_counter()
    rng = np.random.default_rng(seed)
    text, _ = V.claim_text(claim, form)
    text = re.sub(r"\\mathcal\{N\}\(\s*\\cdot\s*;", r"\\mathcal{N}(", text).strip().rstrip(".")
    text = re.sub(r"\\tag\{[^{}]*\}|\\quad\s*\(\d+\.\d+\.\d+\)", " ", text)
    rel = L.parse_relation(text)
    if rel.ops != [r"\sim"] or rel.atoms_base(rel.sides[1]) not in ("N", "mathcalN"):
        raise L.LatexError("a proposal claim reads 'Q(s) \\sim \\mathcal{N}(.; mean, variance)'")
    model = models(np.random.default_rng(seed), claim)[0]
    notation = get_notation(claim.notation)
    tau = sp.Symbol("tau_p", real=True)
    quantity = interpret(rel.sides[0], rel.atoms, model, notation).subs(S_SYM, sp.atan(sp.exp(tau) / SIGMA_D))
    mean, var = (interpret(a, rel.atoms, model, notation) for a in rel.sides[1].args[-2:])
    slope = sp.diff(quantity, tau)
    res = [sp.diff(quantity, tau, 2), slope * P_MEAN + (quantity - slope * tau) - mean, slope**2 * P_STD**2 - var]
    worst = 0.0
    for r in res:
        for _ in range(3):
            pt = {tau: rng.normal(0, 1), SIGMA_D: rng.uniform(0.3, 2), P_MEAN: rng.normal(0, 1), P_STD: rng.uniform(0.5, 2)}
            val = abs(complex(sp.N(r.xreplace({k: sp.Float(v, DIGITS) for k, v in pt.items()}), DIGITS)))
            worst = max(worst, val if val == val else float("inf"))
    return MethodResult("proposal", form, _class(worst), worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"Q(s(tau)) = {sp.simplify(quantity)}; worst residual {worst:.3g}")


METHODS.update({"proposal": proposal_check, "map-composition": exact_check("map-composition", compositions),
                "tilt": tilt_check, "linear-inverse": linear_inverse_check, "scm": scm_check})


def prepare_dpo(latex: str) -> list[str]:
    r"""Sec. 8.5 in the dialect of checks.latex. Rewrites: \left, \right dropped; \Delta r -> u; \ell -> \vec{ell};
    \sigma( -> \vec{sigmoid}( (the logistic function); p_{r_\psi} -> \vec{p};
    \mathcal{D}_{\text{KL}}(\text{Bern}(a) \parallel \text{Bern}(b)) -> \vec{KL}(a, b); \mathcal{H}(\text{Bern}(a)) ->
    \vec{H}(a); \pi^* -> \vec{pistar}; \pi_{\text{ref}} -> \vec{piref}; \pi -> \vec{pi}; r_\pi -> \vec{rpi};
    r( -> \vec{r}(; Z( -> \vec{Z}(; \beta ( -> \beta \cdot (."""
    text = re.sub(r"\\(?:left|right)\s*([()\[\]])", r"\1", latex)
    text = re.sub(r"\\tag\{[^{}]*\}|\\quad\s*\(\d+\.\d+\.\d+\)", " ", text)
    text = text.replace(r"\Delta r", "u").replace(r"\ell", r"\vec{ell}").replace(r"\sigma(", r"\vec{sigmoid}(")
    text = text.replace(r"p_{r_\psi}", r"\vec{p}")
    text = re.sub(r"\\mathcal\{D\}_\{\\text\{KL\}\}\(\\text\{Bern\}\(([^()]*)\)\s*\\parallel\s*\\text\{Bern\}\(([^()]*)\)\)",
                  r"\\vec{KL}(\1, \2)", text)
    text = re.sub(r"\\mathcal\{H\}\(\\text\{Bern\}\(([^()]*)\)\)", r"\\vec{H}(\1)", text)
    text = text.replace(r"\pi^*", r"\vec{pistar}").replace(r"\pi_{\text{ref}}", r"\vec{piref}")
    text = text.replace(r"r_\pi", r"\vec{rpi}")
    text = re.sub(r"\\pi(?![a-zA-Z])", r"\\vec{pi}", text)
    text = re.sub(r"(?<![a-zA-Z\\])r\(", r"\\vec{r}(", text)
    text = re.sub(r"(?<![a-zA-Z\\])Z\(", r"\\vec{Z}(", text)
    text = re.sub(r"\\beta\s*\(", r"\\beta \\cdot (", text)      # a scale times a bracket, not a call
    text = text.strip().rstrip(".").rstrip(",")
    return [p for p in re.split(r",\s*\\quad", text) if "=" in p]


def dpo_check(claim: Claim, form: str, seed: int, samples: int | None = None) -> MethodResult:
    """Sec. 8.5 identities on seeded finite problems (notation dpo_003): three outcomes with random reference
    probabilities, rewards, policy, KL weight and constant Z(c); every relation for every outcome, at seeded points
    of the Bradley-Terry variables (u normal, label y and win probability p in (0.05, 0.95))."""
    from derive.guidance import kl_regularised_optimum
    from .notations_guidance import P_WIN, U_BT, Y_LABEL
    start = _time.perf_counter()
    rng = np.random.default_rng(seed)
    text, _ = V.claim_text(claim, form)
    rels = [L.parse_relation(r) for r in prepare_dpo(text)]
    model = models(np.random.default_rng(seed), claim)[0]
    notation = get_notation(claim.notation)
    worst = 0.0
    for _ in range(int(claim.extra.get("problems", 2))):
        weights = [sp.Rational(int(v), 1) for v in rng.integers(1, 9, 3)]
        ref = [w / sum(weights) for w in weights]
        pol = [sp.Rational(int(v), 1) for v in rng.integers(1, 9, 3)]
        rewards = [sp.Rational(int(v), 4) for v in rng.integers(-8, 9, 3)]
        beta = sp.Rational(int(rng.integers(2, 20)), 10)
        data = {"ref": ref, "rewards": rewards, "beta": beta, "policy": [p / sum(pol) for p in pol],
                "zc": sp.Rational(int(rng.integers(1, 30)), 10)}
        if "pistar" in "".join(prepare_dpo(text)):
            data["optimum"] = kl_regularised_optimum(ref, rewards, beta)
        for k in range(3):
            model._dpo = {**data, "k": k}
            for rel in rels:
                sides = [interpret(side, rel.atoms, model, notation) for side in rel.sides]
                for a, b in zip(sides, sides[1:]):
                    r = (b - a).doit()
                    pt = {U_BT: rng.normal(0, 2), Y_LABEL: rng.uniform(0.05, 0.95), P_WIN: rng.uniform(0.05, 0.95)}
                    val = abs(complex(sp.N(r.xreplace({s_: sp.Float(v, DIGITS) for s_, v in pt.items()}), DIGITS)))
                    worst = max(worst, val if val == val else float("inf"))
    return MethodResult("dpo", form, _class(worst), worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"{len(rels)} relation(s) x 3 outcomes x problems; worst residual {worst:.3g}")


METHODS["dpo"] = dpo_check
