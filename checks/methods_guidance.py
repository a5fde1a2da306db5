r"""Plugin methods for the book 003, chapters 8, 10, 11: exact checks against closed-form references.

Each method PARSES the claim's LaTeX: ``prepare`` rewrites the book's constructs that checks/latex.py does not
read yet into ones it does (a fixed, documented table of rewrites; nothing is retyped), ``checks.latex`` parses
the result, ``checks.notation.interpret`` reads the symbols in the claim's notation (checks/notations_guidance.py),
and every relation of the chain is evaluated at seeded random points with 50 digits on several schedules:

* "guidance"    — class-conditional Gaussian-mixture data: conditional/unconditional/tilted scores (ch. 8);
* "pd-target"   — Gaussian data: the progressive-distillation target solved from two exact DDIM steps (10.3.2);
* "consistency" — Gaussian data: the exact PF-ODE flow map Psi_{s->t} (derive.pf_ode), consistency function,
                  CTM's g*, MeanFlow's average velocity h*, conditional expectations (ch. 10-11).

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
from derive.data import gaussian
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


def relations(claim: Claim, form: str) -> tuple[list[L.Relation], bool]:
    """Parsed relations of the document's (or corrected / transcribed) form; flag: the document's own text."""
    text, parsed = V.claim_text(claim, form)
    rows = prepare(text)
    if not rows:
        raise L.LatexError(f"no relation found in {text[:80]!r}")
    return [L.parse_relation(r) for r in rows], parsed


# --- reference models and points ------------------------------------------------------------------

def models(rng: np.random.Generator, claim: Claim) -> list[Model]:
    """Concrete schedules (random parameters) with Gaussian data N(m, v) of random rational m, v."""
    names = [claim.extra["schedule"]] if claim.extra.get("schedule") else ["vp-linear", "ve", "rectified-flow"]
    out = []
    for name in names:
        if name == "vp-linear":
            b0 = round(float(rng.uniform(0.05, 0.5)), 3)
            sc = schedules.get(name, beta_min=b0, beta_max=round(b0 + float(rng.uniform(1, 15)), 3))
        elif name == "ve":
            sc = schedules.get(name, sigma_min=round(float(rng.uniform(0.01, 0.1)), 3),
                               sigma_max=round(float(rng.uniform(5, 50)), 2))
        else:
            sc = schedules.get(name)
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


def exact_check(method: str):
    """A plugin method: every relation of the claim at seeded random points of several reference models."""
    def run(claim: Claim, form: str, seed: int, samples: int | None = None) -> MethodResult:
        start = _time.perf_counter()
        rng = np.random.default_rng(seed)
        rels, _ = relations(claim, form)
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
