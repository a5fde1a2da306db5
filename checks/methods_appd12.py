r"""Plugin methods for 003 Appendix D.1-D.2: expectations, integrals and KL divergences in closed form.

The claim's LaTeX is PARSED: a fixed table of lexical rewrites (below) turns the book's constructs into the
dialect of checks/latex.py; expectations, integrals, KL divergences and evaluation brackets are peeled into
placeholders whose bodies are parsed in turn; symbols are read with the claim's notation
(checks/notations_appd12.py: exact jointly Gaussian reference models, every number seeded).

Evaluation is exact (50 digits, no quadrature): every integrand is a sum of c(.) exp(quadratic) polynomial
terms in the integration variable (Gaussian densities, their logs, scores, polynomial models, Gaussian-bump test
functions), integrated by completing the square (``gauss_int``); an expectation E_{p(R | G)}[A] substitutes
R = mean(G) + chol(cov) xi (the exact conditional law, notations_appd12.Ref) and integrates over xi.
KL(p || q) of two Gaussian laws is derive.gaussian.kl_normal of the means and variances read off the log-densities
by completing the square (derive.gaussian.complete_square); it is never the integral the document writes.

Rewrites (``prepare``), in order:
  field ``definitions`` (verbatim displays 'LHS := RHS' of the document, located there): LHS -> (RHS);
  \underbrace{A}_{..} -> {A};  \left, \right, \big.. dropped;  \mathrm{d} -> d;  \iint -> \int \int;
  E_{law} \|A\|^2 (no bracket) -> E_{law}[\|A\|^2];  \|A\|_2^2, \|A\|^2 -> ((A))^{2};  \langle A, B \rangle ->
  (A) \cdot (B);  ^\top dropped;  \text{Tr}(A) -> (A);  one coordinate (D = 1): \sum_{i=1}^D dropped,
  s_\phi^{(i)} -> s_\phi, \partial_{x_i} -> \nabla_{\mathbf{x}};  \nabla_{\tilde{\mathbf{x}}} -> \nabla_{y};
  X_t = \mathbf{x}_t -> \mathbf{x}_t, X_0, X_t -> \mathbf{x}_0, \mathbf{x}_t;  _{i-1} -> _{j};  p^*, s^* -> p, s;
  h'(v) -> \frac{d}{dv}(h(v));  notation "appd12.stein": Z -> z and a bare \nabla -> \nabla_{z};
  density calls p_sub(A | B) -> p_{sub}(n, A, B) with n the number of random arguments A.

Methods (claim field ``methods``):
* "appd12": every relation sign of the claim holds at a seeded point of each of two reference models;
* "appd12-fp": Fokker-Planck displays of D.2.5 through the built-in exact-gaussian check after the rewrites
  \partial_t -> \frac{\partial}{\partial t} (also s), \Delta_{\mathbf{x}} -> \nabla_x \cdot \nabla_x, one coordinate
  (\sum_{i,j=1}^D, \sum_{i=1}^D dropped, \delta_{ij} -> 1,
  \partial^2/\partial x_i \partial x_j -> \nabla_x \cdot \nabla_x),
  p_{T-s}(x) -> p(x, T-s), \tilde{p} -> p, \bar{p}_s -> p(x, T-s) (the text's assumption p-bar_s = p_{T-s});
* "appd12-sde-s": an SDE in the reversed clock s (dx(s) = a ds + b dw(s), or an ODE d/ds x(T - s) = a) must have
  the marginals p_{T-s}:
  Fokker-Planck residual in s of the law p_{T-s} (derive.fokker_planck.log_residual), zero iff it holds.
"""
from __future__ import annotations

import re
import time as _time

import numpy as np
import sympy as sp

from checks import latex as L
from checks import verify as V
from checks.catalogue import locate
from checks.methods_expectation import gaussian_models
from checks.notation import get_notation, interpret
from checks.notations_appd12 import STATES, T_END, Ref
from checks.verdict import MethodResult
from derive import fokker_planck, gaussian as G, schedules
from derive.data import normal_pdf
from derive.symbols import s as S_SYM, t as T_SYM, x as X_SYM

HOLD_TOL, REFUTE_TOL = 1e-10, 1e-6
MODELS = 2          # reference models per claim (seeded: schedule, data, times, model coefficients)


class Appd12Error(ValueError):
    """A construct this plugin cannot read; the message names it."""


# --- lexical helpers --------------------------------------------------------------------------------

def _definition(text: str) -> tuple[str, str]:
    body = re.sub(r"\\quad\s*\(\s*[0-9A-Z.]+\s*\)\s*$", "", text.strip()).strip().rstrip(".").strip()
    if ":=" not in body:
        raise Appd12Error(f"a definition reads 'LHS := RHS', got {text[:60]!r}")
    lhs, rhs = body.split(":=", 1)
    return lhs.strip(), rhs.strip()


def expand_definitions(text: str, definitions) -> str:
    """Replace each defined left side (whitespace-insensitive, exact tokens) by its bracketed right side."""
    for lhs, rhs in definitions:
        pattern = r"\s*".join(re.escape(tok) for tok in re.findall(r"\\[a-zA-Z]+|\S", lhs))
        text = re.sub(pattern, lambda mo: "(" + rhs + ")", text)
    return text


def _norms(s: str) -> str:
    # an expectation followed by a bare norm: E_{law} \|A\|^2 -> E_{law}[\|A\|^2]
    law = r"\\mathbb\{E\}_\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\}"
    s = re.sub(rf"({law})\s*(\\\|.*?\\\|(?:_2)?\^\{{?2\}}?)", r"\1[\2]", s)
    return re.sub(r"\\\|(.*?)\\\|(?:_2)?\^\{?2\}?", r"((\1))^{2}", s)


def _langle(s: str) -> str:
    while (mo := re.search(r"\\langle", s)):
        end = s.find(r"\rangle", mo.end())
        if end < 0:
            raise Appd12Error("\\langle without \\rangle")
        parts = L.split_top_level(s[mo.end():end], ",")
        if len(parts) != 2:
            raise Appd12Error("an inner product reads \\langle A, B \\rangle")
        s = s[:mo.start()] + f"({parts[0]}) \\cdot ({parts[1]})" + s[end + len(r"\rangle"):]
    return s


def _primes(s: str) -> str:
    return re.sub(r"(?<![a-zA-Z\\])(\\phi|[a-zA-Z])'\s*\(\s*([a-zA-Z])\s*\)", r"\\frac{d}{d\2}(\1(\2))", s)


def rewrite(text: str, notation: str) -> str:
    """The lexical rewrites of the module docstring (except densities, done after peeling)."""
    s = L._strip_braces_annotations(text)
    s = re.sub(r"\\(?:left|right)\s*\.", " ", s)
    s = re.sub(r"\\(?:left|right|big|Big|bigg|Bigg)(?![a-zA-Z])", " ", s)
    s = re.sub(r"\\mathrm\{d\}", "d", s)
    s = re.sub(r"\\tag\{[^{}]*\}", " ", s)
    s = s.replace(r"\iint", r"\int \int")
    s = _norms(s)
    s = _langle(s)
    s = re.sub(r"\^\s*\\top|\^\s*\{\s*\\top\s*\}", " ", s)
    while (mo := re.search(r"\\text\{Tr\}\s*\(", s)):
        end = L.group_end(s, mo.end() - 1)
        s = s[:mo.start()] + "(" + s[mo.end():end - 1] + ")" + s[end:]
    s = re.sub(r"\\sum_\{i=1\}\^D", " ", s)
    s = re.sub(r"\^\s*\{\s*\(i\)\s*\}", " ", s)
    while (mo := re.search(r"\\partial_\{x_i\}\s*([^\s(]+)\s*\(", s)):     # d/dx_i f(x) g(x) = (d/dx f(x)) g(x)
        end = L.group_end(s, mo.end() - 1)
        s = s[:mo.start()] + r"(\nabla_{\mathbf{x}} " + s[mo.start(1):end] + ")" + s[end:]
    s = re.sub(r"\\nabla_\{\\tilde\{\\mathbf\{x\}\}\}", r"\\nabla_{y}", s)
    s = re.sub(r"X_t\s*=\s*\\mathbf\{x\}_t", r"\\mathbf{x}_t", s)
    s = re.sub(r"(?<![a-zA-Z\\])X_([0t])", r"\\mathbf{x}_\1", s)
    s = re.sub(r"_\{i-1\}", "_{j}", s)
    s = re.sub(r"(?<![a-zA-Z\\])p\^\*", "p", s)
    s = re.sub(r"\\mathbf\{s\}\^\*|(?<![a-zA-Z\\])s\^\*", r"\\mathbf{s}", s)
    s = _primes(s)
    if notation == "appd12.stein":
        s = re.sub(r"(?<![a-zA-Z\\])Z(?![a-zA-Z])", "z", s)
        s = re.sub(r"\\nabla(?!_)", r"\\nabla_{z}", s)
    return s


_DENSITY = re.compile(r"(?<![a-zA-Z\\])p\s*(?:_\s*(\{(?:[^{}]|\{[^{}]*\})*\}|\\[a-zA-Z]+|[a-zA-Z0-9]))?\s*\(")


def densities(s: str) -> str:
    """p_sub(A | B) -> p_{sub}(n, A, B): n random arguments first (the normaliser would read | as a comma)."""
    out, i = [], 0
    while (mo := _DENSITY.search(s, i)):
        end = L.group_end(s, mo.end() - 1)
        inner = s[mo.end():end - 1]
        parts = L.split_top_level(inner, r"\mid") if r"\mid" in inner else L.split_top_level(inner, "|")
        if len(parts) > 2:
            raise Appd12Error(f"a density has one bar: {inner!r}")
        random = L.split_top_level(parts[0], ",")
        sub = mo.group(1) or ""
        sub = sub[1:-1] if sub.startswith("{") else sub
        given = [parts[1].strip()] if len(parts) == 2 else []
        args = ", ".join([str(len(random))] + [a.strip() for a in random] + given)
        out.append(s[i:mo.start()] + (f"p_{{{sub}}}" if sub else "p") + f"({args})")
        i = end
    out.append(s[i:])
    return "".join(out)


_DIFF = re.compile(r"d\s*(\\tilde\{\\mathbf\{x\}\}|\\mathbf\{x\}(?:_\{[^{}]*\}|_[a-zA-Z0-9])?"
                   r"|z(?![a-zA-Z])|y(?![a-zA-Z]))")


def _integral_end(s: str, j: int) -> tuple[int, re.Match]:
    """Position of the differential closing the integral whose body starts at j (nested integrals skipped)."""
    depth, open_, q = 0, 0, j
    while q < len(s):
        c = s[q]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0 and s.startswith(r"\int", q):
            open_ += 1
            q += 4
            continue
        elif depth == 0 and c == "d" and (q == 0 or not (s[q - 1].isalpha() or s[q - 1] == "\\")):
            mo = _DIFF.match(s, q)
            if mo:
                if open_ == 0:
                    return q, mo
                open_ -= 1
                q = mo.end()
                continue
        q += 1
    raise Appd12Error(f"integral without its differential: {s[j - 4:j + 50]!r}")


def _bracket_open(s: str, close: int) -> int:
    depth, q = 0, close
    while q >= 0:
        depth += s[q] == "]"
        depth -= s[q] == "["
        if depth == 0:
            return q
        q -= 1
    raise Appd12Error("evaluation bracket without its [")


def _expectation_end(s: str, j: int) -> int:
    """Index after the expectation E_{law}[...] (or E_{law} E_{law'}[...]) starting at s[j]."""
    j += len(r"\mathbb{E}")
    while j < len(s) and s[j] == " ":
        j += 1
    if s.startswith("_{", j):
        j = L.group_end(s, j + 1)
    while j < len(s) and s[j] == " ":
        j += 1
    if s.startswith(r"\mathbb{E}", j):
        return _expectation_end(s, j)
    if j >= len(s) or s[j] != "[":
        raise Appd12Error(f"expected [ after an expectation near {s[j - 20:j + 30]!r}")
    return L.group_end(s, j)


def peel(s: str) -> tuple[str, dict]:
    """KL, evaluation brackets, expectations and integrals -> placeholders \\hat{K|B|E|J}_{k}."""
    table: dict = {}
    while True:
        kl = re.search(r"\\mathcal\{D\}_\{\\text\{KL\}\}\s*\(", s)
        br = re.search(r"\]\s*_\s*\{([^{}]*)\}\s*\^\s*\{([^{}]*)\}", s)
        ex = re.search(r"\\mathbb\{E\}", s)
        it = re.search(r"\\int(?![a-zA-Z])", s)
        opening = _bracket_open(s, br.start()) if br else None
        starts = {"kl": kl and kl.start(), "br": opening, "ex": ex and ex.start(), "it": it and it.start()}
        starts = {key: val for key, val in starts.items() if val is not None}
        if not starts:
            return s, table
        first = min(starts, key=starts.get)       # the outermost construct: its body is peeled when evaluated
        kl, br, ex, it = (m if first == key else None for key, m in (("kl", kl), ("br", br), ("ex", ex), ("it", it)))
        k = len(table) + 1
        if kl:
            end = L.group_end(s, kl.end() - 1)
            parts = L.split_top_level(s[kl.end():end - 1], r"\|")
            if len(parts) != 2:
                raise Appd12Error("a KL divergence reads D_KL(p \\| q)")
            table[k] = ("KL", tuple(parts))
            s = s[:kl.start()] + rf" \hat{{K}}_{{{k}}} " + s[end:]
        elif br:
            table[k] = ("bracket", (s[opening + 1:br.start()], br.group(1), br.group(2)))
            s = s[:opening] + rf" \hat{{B}}_{{{k}}} " + s[br.end():]
        elif ex:
            j, law = ex.end(), ""
            if s[j:].lstrip().startswith("_{"):
                j = s.index("_{", j) + 1
                end = L.group_end(s, j)
                law, j = s[j + 1:end - 1], end
            while j < len(s) and s[j] == " ":
                j += 1
            if s.startswith(r"\mathbb{E}", j):          # E_{a} E_{b}[A]: the outer body is the inner expectation
                end = _expectation_end(s, j)
                table[k] = ("E", (s[j:end], law))
                s = s[:ex.start()] + rf" \hat{{E}}_{{{k}}} " + s[end:]
                continue
            if j >= len(s) or s[j] != "[":
                raise Appd12Error(f"expected [ after an expectation near {s[ex.start():ex.start() + 50]!r}")
            end = L.group_end(s, j)
            table[k] = ("E", (s[j + 1:end - 1], law))
            s = s[:ex.start()] + rf" \hat{{E}}_{{{k}}} " + s[end:]
        else:
            j, lo, hi = it.end(), None, None
            lim = re.match(r"\s*_\s*(\{[^{}]*\}|[a-zA-Z0-9])\s*\^\s*(\{[^{}]*\}|[a-zA-Z0-9])", s[j:])
            if lim:
                lo, hi, j = lim.group(1).strip("{}").strip(), lim.group(2).strip("{}").strip(), j + lim.end()
            q, mo = _integral_end(s, j)
            table[k] = ("int", (s[j:q], mo.group(1), lo, hi))
            s = s[:it.start()] + rf" \hat{{J}}_{{{k}}} " + s[mo.end():]


# --- exact Gaussian integration -------------------------------------------------------------------

def _moment(k: int):
    return sp.Integer(0) if k % 2 else sp.factorial2(k - 1)


def gauss_int(expr: sp.Expr, var: sp.Symbol) -> sp.Expr:
    """int_R expr d(var), expr a sum of c exp(Q) P terms (Q quadratic with negative leading coefficient in var,
    P polynomial in var): completing the square, exp(Q) = exp(Q(mu)) exp(-(var - mu)^2 / (2 s2))."""
    expr = sp.expand(sp.expand_log(expr, force=True))
    total = sp.Integer(0)
    w = sp.Dummy("w", real=True)
    for term in sp.Add.make_args(expr):
        if not term.has(var):
            raise Appd12Error(f"integrand term without a Gaussian factor in {var} (divergent): {term}")
        exps = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.exp)]
        rest = sp.Mul(*[f for f in sp.Mul.make_args(term) if not isinstance(f, sp.exp)])
        Q = sp.expand(sp.Add(*[f.args[0] for f in exps]))
        if not rest.is_polynomial(var) or not Q.is_polynomial(var):
            raise Appd12Error(f"integrand is not exp(quadratic) x polynomial in {var}: {term}")
        poly = sp.Poly(Q, var)
        if poly.degree() != 2:
            raise Appd12Error(f"no Gaussian factor in {var} (exponent of degree {poly.degree()}): divergent")
        a2, a1, a0 = (poly.coeff_monomial(var**k) for k in (2, 1, 0))
        if not (a2.is_number and a2 < 0):
            raise Appd12Error(f"exponent's leading coefficient in {var} must be a negative number, got {a2}")
        mu, s2 = -a1 / (2 * a2), -1 / (2 * a2)
        moments = sp.Poly(sp.expand(rest.subs(var, mu + sp.sqrt(s2) * w)), w)
        mean = sp.Add(*[c * _moment(int(e[0])) for e, c in moments.terms()])
        total += sp.exp(sp.expand(a0 - a1**2 / (4 * a2))) * sp.sqrt(sp.pi / -a2) * mean
    return sp.expand(total)


def limit_at_infinity(expr: sp.Expr, var: sp.Symbol, end) -> sp.Expr:
    """lim expr as var -> end (+-oo) for a sum of c exp(Q) P terms: a term with a Gaussian (or exponential, decaying
    towards ``end``) factor tends to 0, a term free of var is itself; anything else diverges (an error)."""
    sign = 1 if end == sp.oo else -1
    total = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(expr)):
        if not term.has(var):
            total += term
            continue
        exps = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.exp)]
        rest = sp.Mul(*[f for f in sp.Mul.make_args(term) if not isinstance(f, sp.exp)])
        Q = sp.expand(sp.Add(*[f.args[0] for f in exps]))
        if not (rest.is_polynomial(var) and Q.is_polynomial(var)) or sp.degree(Q, var) < 1:
            raise Appd12Error(f"cannot take the limit of {term} as {var} -> {end}")
        lead = sp.Poly(Q, var).LC() * sign**sp.degree(Q, var)
        if not (lead.is_number and lead < 0):
            raise Appd12Error(f"the term {term} does not decay as {var} -> {end}")
    return total


# --- interpretation -------------------------------------------------------------------------------

class Context:
    """A reference model and notation while one formula is interpreted (placeholders resolved recursively).

    States bound by an enclosing expectation or integral stay symbols; every other state is given its value at the
    evaluation point (``point``, drawn once per state and model) before an expectation or integral is computed, so
    that only the bound variables are integrated symbolically."""

    def __init__(self, ref: Ref, notation: str, rng: np.random.Generator):
        self.M, self.name, self.base, self.rng = ref, notation, get_notation(notation), rng
        self.point: dict = {}
        self.bound: list = []            # stack of sets of bound states (None: everything bound)

    def _fixed(self, expr: sp.Expr, keep=()) -> sp.Expr:
        """``expr`` with every state that is neither bound nor in ``keep`` replaced by its point value."""
        if any(b is None for b in self.bound):
            return expr
        bound = set(keep).union(*self.bound) if self.bound else set(keep)
        free = [q for q in sp.sympify(expr, strict=True).free_symbols if self.M.is_state(q) and q not in bound]
        for q in sorted(free, key=lambda q: q.name):
            if q not in self.point:
                self.point[q] = sp.Float(self.rng.normal(0, 1.2), 50)
        return expr.xreplace({q: self.point[q] for q in free})

    def _under(self, bound, fn):
        self.bound.append(bound)
        try:
            return fn()
        finally:
            self.bound.pop()

    def value(self, text: str) -> sp.Expr:
        sides, ops = self.relation(text, top=False)
        if ops:
            raise Appd12Error(f"expected an expression, found {ops[0]!r} in {text[:60]!r}")
        return sides[0]

    def relation(self, text: str, top: bool = True) -> tuple[list, list]:
        peeled, table = peel(text)
        rel = L.parse_relation(densities(peeled))
        handlers = {
            "Ehat": lambda M, tau, a, sub: self._expect(*table[int(sub)][1]),
            "Jhat": lambda M, tau, a, sub: self._integral(*table[int(sub)][1]),
            "Khat": lambda M, tau, a, sub: self._kl(*table[int(sub)][1]),
            "Bhat": lambda M, tau, a, sub: self._bracket(*table[int(sub)][1]),
        }
        notation = {**self.base, **handlers}
        # a derivative may act on an expectation or integral (grad_x int ... dx_0): its variable stays a symbol
        dvars = {interpret(v, rel.atoms, self.M, self.base) for side in rel.sides
                 for d in side.atoms(sp.Derivative) for v in d.variables}
        sides = self._under({q for q in dvars if self.M.is_state(q)},
                            lambda: [interpret(side, rel.atoms, self.M, notation).doit() for side in rel.sides])
        return ([self._fixed(side) for side in sides] if top else sides), rel.ops

    def _states(self, expr) -> list:
        return sorted((q for q in sp.sympify(expr, strict=True).free_symbols if self.M.is_state(q)), key=lambda q: q.name)

    def _law(self, law: str) -> tuple:
        """(random variables or None for 'all in the body', conditioning variables) of an expectation's law."""
        random, given = [], []
        if "0:L" in law:                 # p(x_{0:L} | B): the body's states other than B are random
            cond = re.search(r"\|(.*)\)\s*$", law)
            return None, [self.value(cond.group(1))] if cond else []
        for item in L.split_top_level(law, ","):
            if r"\sim" in item:
                left, right = item.split(r"\sim", 1)
                random.append(self.value(left))
                cond = re.search(r"\|([^()]*)\)", right)
                if cond:
                    given.append(self.value(cond.group(1)))
                continue
            for mo in _DENSITY.finditer(item):
                inner = item[mo.end():L.group_end(item, mo.end() - 1) - 1]
                parts = L.split_top_level(inner, "|")
                random += [self.value(a) for a in L.split_top_level(parts[0], ",")]
                if len(parts) == 2:
                    given += [self.value(a) for a in L.split_top_level(parts[1], ",")]
        if not random:
            raise Appd12Error(f"cannot read the law {law!r}")
        return random, [g for g in given if g not in random]

    def _expect(self, body_text: str, law: str) -> sp.Expr:
        parts = L.split_top_level(body_text, "|")
        if len(parts) > 2:
            raise Appd12Error(f"an expectation has one condition: {body_text[:60]!r}")
        given = [self.value(a) for a in L.split_top_level(parts[1], ",")] if len(parts) == 2 else []
        random = None
        if law:
            random, more = self._law(law)
            given += more
        # the body's own states are bound while it is read (all of them when the law is implicit)
        body = self._under(None if random is None else set(random), lambda: self.value(parts[0]))
        if random is None:               # E[A | B] or E_{p(x_{0:L} | B)}[A]: every other state of A is random
            random = [q for q in self._states(body) if q not in given]
        body = self._fixed(body.doit(), keep=random)
        return expectation(self.M, body, random, list(dict.fromkeys(given)), self._fixed)

    def _integral(self, body_text: str, var_text: str, lo, hi) -> sp.Expr:
        if (lo, hi) not in ((None, None), (r"-\infty", r"\infty")):
            raise Appd12Error(f"integrals over the whole line only, got limits {lo!r}, {hi!r}")
        var = self.value(var_text)
        if not self.M.is_state(var):
            raise Appd12Error(f"integration variable {var_text!r} is not a state")
        body = self._under({var}, lambda: self.value(body_text))
        return gauss_int(self._fixed(body.doit(), keep=[var]), var)

    def _kl(self, p_text: str, q_text: str) -> sp.Expr:
        first = re.search(r"\(\s*(.*?)\s*(?:\||,|\))", p_text)
        if not first:
            raise Appd12Error(f"cannot read the variable of the law {p_text!r}")
        var = self.value(first.group(1))
        laws = []
        for text in (p_text, q_text):
            dens = self._under({var}, lambda: self.value(text))
            logd = sp.expand(sp.expand_log(sp.log(self._fixed(dens, keep=[var])), force=True))
            laws.append(G.complete_square(logd, var))
        (mp, vp), (mq, vq) = laws
        return G.kl_normal(mp, vp, mq, vq)

    def _bracket(self, body_text: str, lo: str, hi: str) -> sp.Expr:
        body = self._under(None, lambda: self.value(body_text))
        states = self._states(body)
        if len(states) != 1:
            raise Appd12Error(f"an evaluation bracket [F]_a^b needs one variable, found {states}")
        bounds = {r"-\infty": -sp.oo, r"\infty": sp.oo}
        if lo not in bounds or hi not in bounds:
            raise Appd12Error(f"evaluation brackets at +-infinity only, got {lo!r}, {hi!r}")
        body = self._fixed(body, keep=states)
        return limit_at_infinity(body, states[0], bounds[hi]) - limit_at_infinity(body, states[0], bounds[lo])


def expectation(M: Ref, body: sp.Expr, random: list, given: list, fixed=lambda e, keep=(): e) -> sp.Expr:
    """E[body | given] over ``random`` under the exact joint law: r_k = mean_k + sd_k xi_k (chain rule);
    ``fixed`` gives the conditioning states that are not bound their point values."""
    sub, xis = {}, []
    for i, r in enumerate(random):
        mu, var = M.conditional(r, list(given) + list(random[:i]))
        mu = fixed(mu, keep=random)
        xi = sp.Dummy(f"xi{i}", real=True)
        sub[r] = sp.expand(mu.xreplace(sub)) + sp.sqrt(var) * xi
        xis.append(xi)
    out = body.doit().xreplace(sub)
    for xi in reversed(xis):
        out = gauss_int(out * normal_pdf(xi, 0, 1), xi)
    return out


# --- reference models and points ------------------------------------------------------------------

def references(rng: np.random.Generator, notation: str) -> list[Ref]:
    """MODELS seeded reference models for ``notation`` (two of VP-linear, rectified flow, sub-VP, drawn by the seed;
    EDM for the notations of x~ = x + sigma z)."""
    if notation not in STATES:
        raise Appd12Error(f"notation {notation!r} is not one of {sorted(STATES)}")
    out, offset = [], int(rng.integers(0, 3))
    for i in range(MODELS):
        if notation in ("appd12.dsm", "appd12.stein", "appd12.gauss"):
            sched = schedules.get("edm")
        else:
            b0 = round(float(rng.uniform(0.05, 0.5)), 3)
            name = ("vp-linear", "rectified-flow", "sub-vp")[(i + offset) % 3]
            sched = schedules.get(name) if name == "rectified-flow" else \
                schedules.get(name, beta_min=b0, beta_max=round(b0 + float(rng.uniform(1, 15)), 3))
        times = dict(zip(("u", "s", "t", "T"), sorted(rng.uniform(0.1, 0.85, 4))))
        times["noisy"] = rng.uniform(0.3, 1.5)
        coeffs = {name: rng.uniform(-1, 1) for name in ("k0", "k1", "s0", "s1", "s2", "s3", "c1", "c2", "c3", "mu")}
        coeffs.update(w=rng.uniform(0.2, 1.5), Sigma=rng.uniform(0.2, 2))
        out.append(Ref(sched, rng.integers(-15, 15) / 10, rng.integers(2, 15) / 10, times, coeffs, STATES[notation]))
    return out


def _definitions(claim) -> list:
    defs = claim.extra.get("definitions", [])
    if isinstance(defs, str):
        defs = [defs]
    for text in defs:
        locate(claim.document, text)           # verbatim from the document, or CatalogueError
    return [_definition(text) for text in defs]


def claim_text(claim, form: str) -> str:
    text, _ = V.claim_text(claim, form)
    return text


def method_appd12(claim, form, seed, samples=None) -> MethodResult:
    """Every relation sign of the (rewritten, parsed) claim holds in three seeded reference models."""
    start = _time.perf_counter()
    rng = np.random.default_rng(seed)
    notation = claim.notation
    text = rewrite(expand_definitions(claim_text(claim, form), _definitions(claim)), notation)
    worst, where = 0.0, ""
    for ref in references(rng, notation):
        ctx = Context(ref, notation, rng)
        sides, ops = ctx.relation(text)
        if not ops or any(op not in ("=", ":=") for op in ops):
            raise Appd12Error(f"relations must be equalities, got {ops}")
        for i in range(len(ops)):
            r = sides[i + 1] - sides[i]
            if r.free_symbols:
                raise Appd12Error(f"residual has unknown symbols {sorted(map(str, r.free_symbols))}")
            val = abs(complex(sp.N(r, 50)))
            if val > worst:
                worst, where = val, f"{ref.schedule.name}, relation {i + 1}"
    holds = True if worst < HOLD_TOL else (False if worst >= REFUTE_TOL else None)
    return MethodResult("appd12", form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"worst residual {worst:.3g} ({where}); exact Gaussian integrals at 50 digits")


# --- D.2.5: Fokker-Planck displays through the built-in engine ------------------------------------

def fp_rewrite(text: str) -> str:
    s = text
    s = re.sub(r"\\sum_\{i,j=1\}\^D|\\sum_\{i=1\}\^D", " ", s)
    s = re.sub(r"\\delta_\{ij\}", "1", s)
    s = re.sub(r"\\frac\{\\partial\^2\}\{\\partial x_i \\partial x_j\}|\\frac\{\\partial\^2\}\{\\partial x_i\^2\}",
               r"\\nabla_{\\mathbf{x}} \\cdot \\nabla_{\\mathbf{x}} ", s)
    s = re.sub(r"\\Delta_\{\\mathbf\{x\}\}", r"\\nabla_{\\mathbf{x}} \\cdot \\nabla_{\\mathbf{x}} ", s)
    s = re.sub(r"\\partial_([ts])(?![a-zA-Z])", r"\\frac{\\partial}{\\partial \1}", s)
    s = re.sub(r"\\bar\{p\}_s\s*\(\\mathbf\{x\}\)", r"p_{T-s}(\\mathbf{x})", s)
    s = re.sub(r"\\bar\{p\}_s", r"p_{T-s}", s)
    s = re.sub(r"\\tilde\{p\}", "p", s)
    s = re.sub(r"p_\{T-s\}\s*\(\\mathbf\{x\}\)", r"p(\\mathbf{x}, T-s)", s)
    s = re.sub(r"p_\{T-s\}(?!\s*\()", r"p(\\mathbf{x}, T-s)", s)
    return s


def method_fp(claim, form, seed, samples=None) -> MethodResult:
    """The built-in exact-gaussian check (mixture data, several schedules) of the rewritten display."""
    from dataclasses import replace
    text = fp_rewrite(claim_text(claim, form))
    twin = replace(claim, transcribed=text, methods=(), corrected=text if form == "corrected" else claim.corrected)
    rel = L.parse_relation(text)
    result = V.numeric_check(twin, rel, form, seed)
    result.method = "appd12-fp"
    return result


def method_sde_s(claim, form, seed, samples=None) -> MethodResult:
    """dx(s) = a(x, s) ds + b(s) dw(s) in the reversed clock s: its marginals must be p_{T-s} (Fokker-Planck in s)."""
    start = _time.perf_counter()
    text = claim_text(claim, form)
    text = re.sub(r"d\\bar\{\\mathbf\{w\}\}'?\((?:T-s|s)\)", r"d\\mathbf{w}", text)
    text = re.sub(r"\\(?:bar|tilde)\{\\mathbf\{x\}\}\((?:T-s|s)\)", r"\\mathbf{x}", text)
    text = fp_rewrite(text)
    text = re.sub(r"(?<![a-zA-Z\\{])ds(?![a-zA-Z])", "dt", text)      # the differential ds, not d/ds
    rel = L.parse_relation(text)
    if len(rel.sides) != 2:
        raise Appd12Error("an SDE reads dx = a ds + b dw")
    worst, where = 0.0, ""
    rng = np.random.default_rng(seed)
    notation = get_notation(claim.notation)
    ode = isinstance(rel.sides[0], sp.Derivative)       # d/ds x = a(x, s): no noise
    if ode and [str(v) for v in rel.sides[0].variables] != ["s"]:
        raise Appd12Error("an ODE in the reversed clock reads d/ds x = a(x, s)")
    for model in gaussian_models(rng):       # Gaussian data: log p_{T-s} is a polynomial in x (fast, exact)
        rhs = interpret(rel.sides[1], rel.atoms, model, notation, markers=frozenset({"d"}))
        d_t, d_w = sp.Symbol("d_t"), sp.Symbol("d_w")
        rhs = sp.expand(rhs)
        drift, noise = (rhs, sp.Integer(0)) if ode else (rhs.coeff(d_t), rhs.coeff(d_w))
        if not ode and sp.expand(rhs - drift * d_t - noise * d_w) != 0:
            raise Appd12Error("SDE terms other than ds and dw")
        # the clock s is the time variable of the Fokker-Planck equation: s -> t in every coefficient
        law = model.log_density(X_SYM, T_END - S_SYM)
        res = fokker_planck.log_residual(*(sp.sympify(e, strict=True).subs(S_SYM, T_SYM) for e in (drift, sp.expand(noise**2), law)))
        for pt in V.points(rng, model, res.free_symbols, 3):
            val = abs(complex(V.evaluate(res, pt)))
            if val > worst:
                worst, where = val, model.schedule.name
    holds = True if worst < HOLD_TOL else (False if worst >= REFUTE_TOL else None)
    return MethodResult("appd12-sde-s", form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"Fokker-Planck residual in s of p_(T-s): worst {worst:.3g} ({where})")


METHODS = {"appd12": method_appd12, "appd12-fp": method_fp, "appd12-sde-s": method_sde_s}
