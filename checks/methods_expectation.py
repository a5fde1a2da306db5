r"""Plugin methods for expectations, integrals, flow maps and O(.) orders (003 §4.1.5, §4.5.2, App. C).

The claim's LaTeX is *parsed* (checks.latex); before parsing, a few structures the core normaliser does not
read are peeled off lexically and replaced by placeholders, whose bodies are parsed in turn:

* ``\mathbb{E}[A]``, ``\mathbb{E}[A | x_0]``, ``\mathbb{E}_{x_0 \sim p(x_0 | x_t)}[A]``, ``\text{Cov}[A | B]``
  -> ``\hat{E}_{k}``: the exact expectation over the Gaussian law of the random symbols in A (reference model:
  data N(m, v) under a schedule; x_0 = m + sqrt(v) xi, x_t = alpha_t x_0 + sigma_t eps, a later state from
  the schedule's transition kernel, z standard normal). Polynomials in the Gaussian variables use their
  moments; any other function of one Gaussian variable is integrated against its density (scipy quad).
  ``\mathbb{E}[d F(x_t, t)]`` is d/dt E[F(x_t, t)] dt, differentiating the closed-form marginal.
* ``\int A \, d\mathbf{x}_0`` (also dx, du, d tau with limits; a bound u is renamed xi, u being a time) -> ``\hat{J}_{k}``: integral over the real line
  (or the limits); Dirac deltas of the integration variable are sifted exactly, the rest is integrated by quad.
* ``\mathcal{O}(\Delta t^k)`` -> ``\hat{O}_{k}``: set to 0; the method "increment-order" measures the order of what is left.
* lexical renamings: ``\Psi_{s \rightarrow t}`` -> ``\Psi_{s,t}``; ``\operatorname{Tr}[A]`` -> (A) (one coordinate);
  ``\|A\|_2^2`` -> (A)^2; ``^\top`` dropped; ``\nabla_x^2 \phi`` and ``\Delta`` -> second x-derivative;
  a bare test function ``\phi`` -> ``\phi(x, t)``; a bare drift ``\mathbf{f}`` -> ``\mathbf{f}(\mathbf{x}, t)``;
  ``p_t^{\text{fwd}}`` -> ``p_t``; ``s^*`` -> ``s``; ``|`` -> ``\mid``; ``\sigma (..)``, ``z (..)`` -> products.

Symbols are read with notation "expectation_003" (checks/notations_expectation.py): Psi_{s,t} is the exact
PF-ODE flow map of Gaussian data (derive.pf_ode.gaussian_flow_map, eq. (4.1.9) of 003), phi one of two
smooth test functions, p_{data} the data law N(m, v).

Methods (claim field ``methods``):

* "expectation": every relation sign holds at seeded 50-digit points of three Gaussian-data models
  (residuals below 1e-10 hold, above 1e-6 refute), with each test function when phi occurs; integrals are
  exact for Gaussian integrands, else float64 adaptive quadrature (relative accuracy ~1e-13);
* "coupling": a coupling Q_t(x_t | x_0) = RHS must have marginal p_t: int RHS p_data(x_0) dx_0 = p_t(x_t);
* "flow-map": the states on the right of the flow-map definition (4.1.9) lie on the PF-ODE trajectory of the
  left side's start state; ``\Psi_{a \rightarrow b} \# p_c`` (claim field ``target``, LaTeX of a marginal):
  the push-forward of the law p_c by the affine flow map equals the target law (means and variances);
* "increment-order": a claim ``A = B + O(h^k)`` (or ``E[A] = O(h^k)``, or with field ``quantity`` the LaTeX of a
  remainder claimed O(h^k)): the residual (with ``average = true`` its exact expectation over the states,
  else its value at a random point) is evaluated at h = 1e-6 and 1e-8 (field ``steps``: other exponents;
  h = Delta t or sigma); its measured exponent must be >= k - 0.2 (refuted below k - 0.5);
  field ``compare = "log"`` compares log(A) - log(B) (a factor exp(O(.)));
* "reverse-law": ``\bar{x}(tau) \sim p_r`` for the reverse-time process of the SDE in field ``process``
  (LaTeX verbatim from the document): its mean and variance ODEs are solved from the start of the reverse-time
  integration (t = T, law p_T, 003 (4.1.6)) down to tau and compared with the law p_r.
"""
from __future__ import annotations

import re
import time as _time
import warnings

import mpmath
import numpy as np
import sympy as sp
from scipy.integrate import quad, solve_ivp

from checks import latex as L
from checks import verify as V
from checks.notation import Model, get_notation, interpret, parse_time, with_point
from checks.notations_expectation import data_density
from checks.verdict import MethodResult
from derive import schedules
from derive.data import gaussian
from derive.symbols import dt as DT, eps as EPS, t as T_SYM, x as X_SYM, x0 as X0_SYM, z as Z_SYM

HOLD_TOL, REFUTE_TOL = 1e-10, 1e-6
LAMBDA = sp.Symbol("lambda", positive=True)      # mixing weight of a coupling
SIGMA_C = sp.Symbol("sigma_c", positive=True)    # a free smoothing scale sigma (003 §4.1.5 Gaussian smoothing)
T_END = sp.Symbol("T", positive=True)


class ExpectationError(ValueError):
    """A claim this plugin cannot read (unknown structure, non-Gaussian law, bad field)."""


# --- lexical pre-processing ----------------------------------------------------------------------

def _rewrite(text: str) -> str:
    """Lexical renamings (module docstring); the formula itself is not changed."""
    s = re.sub(r"\\(?:left|right|middle)(?![a-zA-Z])", " ", text)
    s = re.sub(r"(?<![a-zA-Z\\])Q_t\s*\(", "q_t(", s)                 # the coupling's name (left side only)
    s = re.sub(r"\^\s*\{\s*\\text\s*\{\s*fwd\s*\}\s*\}", " ", s)
    s = re.sub(r",\s*\\quad\s*\\text\s*\{\s*with\s*\}.*$", " ", s)           # side condition "with p_0 = ..."
    s = re.sub(r"_\{\s*([a-zA-Z0-9]+)\s*\\rightarrow\s*([a-zA-Z0-9]+)\s*\}", r"_{\1,\2}", s)
    s = re.sub(r"\^\s*\\top|\^\s*\{\s*\\top\s*\}", " ", s)
    s = re.sub(r"\\\|(.*?)\\\|_2\^2", r"(\1)^2", s)
    while (mo := re.search(r"\\operatorname\s*\{\s*Tr\s*\}\s*[\[(]", s)):   # Tr[A] -> (A): one coordinate
        end = L.group_end(s, mo.end() - 1)
        s = s[:mo.start()] + "(" + s[mo.end():end - 1] + ")" + s[end:]
    s = re.sub(r"\\mathbf\{s\}\^\*|s\^\*", r"\\mathbf{s}", s)
    s = re.sub(r"\\phi(?!\s*\()", r"\\phi(x, t)", s)
    s = re.sub(r"\\mathbf\{f\}(?!\s*\()", r"\\mathbf{f}(\\mathbf{x}, t)", s)   # the drift field f(x, t)
    s = re.sub(r"\\phi\s*\(\s*\\mathbf\{x\}\s*\)", r"\\phi(x, t)", s)
    s = re.sub(r"\\nabla_\{?\\mathbf\{x\}\}?\^2\s*\\phi\(x, t\)", r"(\\nabla^2 \\phi(x, t))", s)
    s = re.sub(r"\\nabla_\{?\\mathbf\{x\}\}?\s*\\phi\(x, t\)", r"(\\nabla \\phi(x, t))", s)
    s = re.sub(r"\\Delta_\{?\\mathbf\{x\}\}?\s*\\phi\(x, t\)", r"(\\nabla^2 \\phi(x, t))", s)
    s = re.sub(r"\\Delta(?:_\{?\\mathbf\{x\}\}?)?\s*(p_[a-zA-Z]|p_\{[^{}]*\})(\s*\([^()]*\))?", r"(\\nabla^2 \1\2)", s)
    s = re.sub(r"\),\s*d\\tau", r") d\\tau", s)                              # stray comma "v(x, tau), d tau"
    s = re.sub(r"\\pi\s*(?=[a-zA-Z\\(])", r"\\pi \\cdot ", s)          # 2 pi g^2(t): a product, not pi(...)
    s = re.sub(r"\\sigma\s*(?=\(\\nabla)", r"\\sigma \\cdot ", s)          # sigma (grad phi): a product
    s = re.sub(r"\\mathbf\{z\}\s*(?=\()", r"\\mathbf{z} \\cdot ", s)        # z (Hessian) z: a product
    s = re.sub(r"\\mathbf\{u\}", r"\\xi", s)        # the bound variable u of a smoothing integral (u is a time)
    s = re.sub(r"(?<!\\)\|", r" \\mid ", s)
    s = re.sub(r"\\mid\s+\\mathbf\{x\}\(0\)\s*=\s*", r"\\mid ", s)          # E[x_t | x(0) = x_0]
    return s


_INT_VAR = re.compile(r"d\s*(\\mathbf\{x\}_0|\\mathbf\{x\}_\{0\}|\\mathbf\{x\}|\\xi|\\tau|x_0|x)(?![a-zA-Z_])")


def peel(text: str) -> tuple[str, dict]:
    """Replace E[..], Cov[..], int .. dv and O(..) by placeholders; returns (text, table k -> (kind, data))."""
    table: dict = {}
    s = _rewrite(text)
    changed = True
    while changed:
        changed = False
        mo = re.search(r"\\mathbb\{E\}\s*(_\{)?|\\text\{Cov\}\s*\[|\\mathcal\{O\}\s*\(|\\int(?![a-zA-Z])", s)
        if not mo:
            break
        k = len(table) + 1
        tok = mo.group(0)
        if tok.startswith(r"\mathbb"):
            j, law = mo.end(), ""
            if mo.group(1):
                law_end = L.group_end(s, j - 1)
                law, j = s[j:law_end - 1], law_end
            while s[j] == " ":
                j += 1
            if s[j] != "[":
                raise ExpectationError(f"expected [ after \\mathbb{{E}} near {s[mo.start():mo.start() + 40]!r}")
            end = L.group_end(s, j)
            table[k] = ("E", (s[j + 1:end - 1], law))
            s = s[:mo.start()] + rf" \hat{{E}}_{{{k}}} " + s[end:]
        elif tok.startswith(r"\text"):
            end = L.group_end(s, mo.end() - 1)
            table[k] = ("Cov", (s[mo.end():end - 1], ""))
            s = s[:mo.start()] + rf" \hat{{E}}_{{{k}}} " + s[end:]
        elif tok.startswith(r"\mathcal"):
            end = L.group_end(s, mo.end() - 1)
            table[k] = ("O", s[mo.end():end - 1])
            s = s[:mo.start()] + rf" \hat{{O}}_{{{k}}} " + s[end:]
        else:
            j, lo, hi = mo.end(), None, None
            lim = re.match(r"\s*_\s*(\{[^{}]*\}|[a-zA-Z0-9])\s*\^\s*(\{[^{}]*\}|[a-zA-Z0-9])", s[j:])
            if lim:
                lo, hi, j = lim.group(1).strip("{}"), lim.group(2).strip("{}"), j + lim.end()
            depth, var = 0, None
            for q in range(j, len(s)):
                if s[q] in "{([":
                    depth += 1
                elif s[q] in "})]":
                    depth -= 1
                elif depth == 0 and s[q] == "d":
                    vm = _INT_VAR.match(s, q)
                    if vm and (q == 0 or not s[q - 1].isalpha() and s[q - 1] != "\\"):
                        var = vm
                        break
            if var is None:
                raise ExpectationError(f"integral without a differential d<var>: {s[mo.start():mo.start() + 60]!r}")
            table[k] = ("int", (s[j:var.start()], var.group(1), lo, hi))
            s = s[:mo.start()] + rf" \hat{{J}}_{{{k}}} " + s[var.end():]
        changed = True
    return s, table


# --- Gaussian expectation ------------------------------------------------------------------------

def moment(k: int) -> sp.Integer:
    """E[xi^k] for a standard normal xi: 0 for odd k, (k-1)!! for even k."""
    if not isinstance(k, int) or k < 0:
        raise ValueError(f"moment order k must be an integer >= 0, got {k!r}")
    return sp.Integer(0) if k % 2 else sp.factorial2(k - 1)


def standard_normal_expectation(expr: sp.Expr, xis: list) -> sp.Expr:
    """E[expr] for independent standard normals ``xis``: moments for polynomials, else a 1-D integral."""
    if expr.has(sp.log):
        expr = sp.expand(sp.expand_log(expr, force=True))
    present = [xi for xi in xis if expr.has(xi)]
    if not present:
        return expr
    if expr.is_polynomial(*present):
        poly = sp.Poly(sp.expand(expr), *present)
        return sp.Add(*[c * sp.Mul(*[moment(int(e)) for e in mon]) for mon, c in poly.terms()])
    if len(present) != 1:
        raise ExpectationError("a non-polynomial expectation is computed over one Gaussian variable only")
    xi = present[0]
    u = sp.Dummy("u", real=True)
    return sp.Integral(expr.subs(xi, u) * sp.exp(-u**2 / 2) / sp.sqrt(2 * sp.pi), (u, -sp.oo, sp.oo))


def expectation(M: Model, body: sp.Expr, given=None, posterior_of=None, point: dict | None = None) -> sp.Expr:
    """E[body] in model M (Gaussian data N(m, v)): states, eps, z are Gaussian (module docstring).

    ``given`` = X0_SYM conditions on the data x_0; ``posterior_of`` = X0_SYM averages x_0 over p(x_0 | x_t).
    With ``point`` the non-random symbols (t, Delta t, ...) are given their values first (fast for big bodies)."""
    if len(M.data.weights) != 1:
        raise ExpectationError("exact expectations need Gaussian data (one component)")
    m0, v0 = M.data.means[0], M.data.variances[0]
    xi0, xie, xiz, xi1 = (sp.Dummy(n, real=True) for n in ("xi0", "xie", "xiz", "xi1"))
    a, s = M.alpha(T_SYM), M.sigma(T_SYM)
    later = sorted((sym for sym in body.free_symbols if M.time_of(sym) is not None and sym not in (X_SYM, X0_SYM)),
                   key=lambda sym: str(sym))
    sub = {Z_SYM: xiz}
    if posterior_of is not None:       # x_0 | x_t (Bayes for Gaussian data); x_t fixed
        var_t = a**2 * v0 + s**2
        mean = m0 + a * v0 / var_t * (X_SYM - a * m0)
        sub[X0_SYM] = mean + sp.sqrt(v0 - a**2 * v0**2 / var_t) * xi0
    elif given is not None:
        sub[X_SYM] = a * X0_SYM + s * xie
        sub[EPS] = xie
    elif body.has(X0_SYM) or body.has(EPS):
        sub[X0_SYM] = m0 + sp.sqrt(v0) * xi0
        sub[X_SYM] = a * sub[X0_SYM] + s * xie
        sub[EPS] = xie
    else:
        sub[X_SYM] = a * m0 + sp.sqrt(a**2 * v0 + s**2) * xie
    if len(later) > 1:
        raise ExpectationError(f"at most one state besides x_t and x_0, found {later}")
    for sym in later:
        coeff, var = M.schedule.transition(T_SYM, M.time_of(sym))
        sub[sym] = coeff * sub.get(X_SYM, X_SYM) + sp.sqrt(var) * xi1
    body = body.xreplace(sub)
    if point:
        body = body.subs(point)
    return standard_normal_expectation(body, [xi0, xie, xiz, xi1])


# --- models, points, evaluation ------------------------------------------------------------------

def gaussian_models(rng: np.random.Generator) -> list[Model]:
    """VP-linear, sub-VP and rectified-flow schedules (seeded parameters) with Gaussian data N(m, v).

    All three have sigma_0 = 0, so that p_0 = p_data as in the book (x(0) ~ p_data); for VE, p_0 would be
    the data blurred by sigma_min and the book's identities hold only up to sigma_min."""
    b0 = round(float(rng.uniform(0.05, 0.5)), 3)
    b1 = round(float(rng.uniform(0.05, 0.5)), 3)
    scheds = [schedules.get("vp-linear", beta_min=b0, beta_max=round(b0 + float(rng.uniform(1, 15)), 3)),
              schedules.get("sub-vp", beta_min=b1, beta_max=round(b1 + float(rng.uniform(1, 15)), 3)),
              schedules.get("rectified-flow")]
    out = []
    for sc in scheds:
        data = gaussian(sp.Rational(int(rng.integers(-15, 15)), 10), sp.Rational(int(rng.integers(2, 15)), 10))
        out.append(Model(sc, data, t_end=sp.Rational(9, 10)))
    return out


def random_point(rng: np.random.Generator, M: Model, symbols_: set) -> dict:
    lo = max(M.schedule.t_min, 0.0) + 0.1
    hi = min(M.schedule.t_max, 1.0) - 0.2
    pt = {}
    for sym in sorted(symbols_, key=lambda q: q.name):
        if sym.name in ("t", "s", "u", "tau"):
            pt[sym] = sp.Float(rng.uniform(lo, hi), 50)
        elif sym == T_END:
            pt[sym] = sp.Float(hi + 0.1, 50)
        elif sym == DT:
            pt[sym] = sp.Float(rng.uniform(0.001, 0.02), 50)
        elif sym in (LAMBDA, SIGMA_C):
            pt[sym] = sp.Float(rng.uniform(0.1, 0.9), 50)
        else:
            pt[sym] = sp.Float(rng.normal(0, 1.5), 50)
    if "s" in {q.name for q in pt} and "t" in {q.name for q in pt}:   # s < t (a flow map from s to t)
        s_sym = next(q for q in pt if q.name == "s")
        t_sym = next(q for q in pt if q.name == "t")
        a, b = sorted((pt[s_sym], pt[t_sym]))
        pt[s_sym], pt[t_sym] = a, b
    return pt


def gaussian_integral(body: sp.Expr, var: sp.Symbol):
    """int body d(var) over the line in closed form when every term is c exp(quadratic in var), else None."""
    total = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(body, deep=False)):
        if not term.has(var):
            return None
        lg = sp.expand(sp.expand_log(sp.log(term), force=True))
        if not lg.is_polynomial(var) or sp.degree(lg, var) != 2:
            return None
        c2, c1, c0 = (lg.coeff(var, k) for k in (2, 1, 0))
        if not (sp.re(sp.N(c2)) < 0):
            return None
        total += sp.sqrt(sp.pi / -c2) * sp.exp(c0 - c1**2 / (4 * c2))
    return total


_LAMBDIFIED: dict = {}


def _pure_gaussian(body: sp.Expr, var: sp.Symbol) -> bool:
    """Every term a product of exponentials and factors free of ``var`` (a closed form may exist)."""
    for term in sp.Add.make_args(body):
        for factor in sp.Mul.make_args(term):
            base = factor.base if factor.is_Pow else factor
            if factor.has(var) and base.func != sp.exp:
                return False
    return True


def _integral_value(integral: sp.Integral, point: dict) -> sp.Expr:
    (var, lo, hi), = integral.limits
    lo, hi = sp.sympify(lo, strict=True).subs(point), sp.sympify(hi, strict=True).subs(point)
    if integral not in _LAMBDIFIED:
        if len(_LAMBDIFIED) > 256:
            _LAMBDIFIED.clear()
        body = done(integral.function)
        syms = tuple(sorted(body.free_symbols - {var}, key=lambda q: q.name))
        gaussian_like = (integral.limits[0][1:] == (-sp.oo, sp.oo)) and _pure_gaussian(body, var)
        _LAMBDIFIED[integral] = (body, syms, gaussian_like, sp.lambdify((var, *syms), body, "numpy"))
    body, syms, gaussian_like, fn = _LAMBDIFIED[integral]
    if gaussian_like:
        val = gaussian_integral(body.subs(point), var)
        if val is not None:
            return val
    args = [float(point[q]) for q in syms]
    bounds = [-np.inf if lo == -sp.oo else float(lo), np.inf if hi == sp.oo else float(hi)]

    def integrand(u):
        with np.errstate(all="ignore"):
            val = float(np.real(fn(u, *args)))
        # far in the tails an exp(+u^2) in a denominator overflows (inf/inf): the decaying integrand is 0 there
        return val if np.isfinite(val) else 0.0
    with warnings.catch_warnings():      # quad's round-off notice at 1e-13 relative accuracy is not an error here
        warnings.simplefilter("ignore")
        return sp.Float(quad(integrand, *bounds, epsabs=1e-15, epsrel=1e-13, limit=200)[0], 30)


def evaluate(expr: sp.Expr, point: dict) -> complex:
    """expr at ``point``; its integrals in closed form (Gaussian) or by adaptive quadrature (float64)."""
    expr = sp.sympify(expr, strict=True)
    for integral in sorted(expr.atoms(sp.Integral), key=sp.count_ops):
        expr = expr.xreplace({integral: _integral_value(integral, point)})
    return complex(sp.N(expr.subs(point), 50))


# --- interpretation of peeled formulas ----------------------------------------------------------

class Context:
    """Model, notation and the placeholders' meanings while one formula is interpreted."""

    def __init__(self, M: Model, notation: dict, anchor=None):
        self.M, self.base, self.anchor = M, notation, anchor
        self.orders: list = []          # (variable, exponent) of every O(.) met

    def value(self, text: str) -> sp.Expr:
        """Interpret an expression (no relation sign)."""
        sides, ops = self.relation(text)
        if ops:
            raise ExpectationError(f"expected an expression, found {ops[0]!r} in {text[:60]!r}")
        return sides[0]

    def relation(self, text: str) -> tuple[list, list]:
        peeled, table = peel(text)
        rel = L.parse_relation(peeled)
        notation = {**self.base,
                    "Ehat": lambda M, tau, a, sub: self._expect(*table[int(sub)][1], cov=table[int(sub)][0] == "Cov"),
                    "Jhat": lambda M, tau, a, sub: self._integral(*table[int(sub)][1]),
                    "Ohat": lambda M, tau, a, sub: self._order(table[int(sub)][1])}
        return [done(interpret(side, rel.atoms, self.M, notation)) for side in rel.sides], rel.ops

    def _split(self, body: str) -> tuple[str, str]:
        depth = 0
        for i, c in enumerate(body):
            depth += c in "{(["
            depth -= c in "})]"
            if depth == 0 and body.startswith(r"\mid", i):
                return body[:i], body[i + 4:]
        return body, ""

    def _expect(self, body: str, law: str, cov: bool = False) -> sp.Expr:
        body, cond = self._split(body)
        given = posterior = None
        if cond:
            if self.value(cond) != X0_SYM:
                raise ExpectationError(f"conditional expectations are given x_0 only, not {cond!r}")
            given = X0_SYM
        if law:
            if not re.search(r"\\sim\s*p\s*\(.*\\mid", law) or "x}_0" not in law.split(r"\sim")[0]:
                raise ExpectationError(f"unsupported law of an expectation: {law!r}")
            posterior = X0_SYM
        differential = re.match(r"\s*d\s*(?=\\phi)", body)
        if differential:
            inner = self.value(body[differential.end():])
            mean = expectation(self.M, inner, given, posterior)
            if isinstance(mean, sp.Integral):
                (var, lo, hi), = mean.limits
                return sp.Integral(sp.diff(mean.function, T_SYM), (var, lo, hi)) * DT
            return sp.diff(mean, T_SYM) * DT
        inner = self.value(body)
        if cov:
            centre = expectation(self.M, inner, given, posterior)
            return expectation(self.M, (inner - centre)**2, given, posterior)
        return expectation(self.M, inner, given, posterior)

    def _integral(self, body: str, var_text: str, lo, hi) -> sp.Expr:
        var = self.value(var_text)
        if not isinstance(var, sp.Symbol):
            raise ExpectationError(f"integration variable {var_text!r} is not a single symbol")
        f = self.value(body)
        lower = -sp.oo if lo is None else parse_time(lo)
        upper = sp.oo if hi is None else parse_time(hi)
        if lower is None or upper is None:
            raise ExpectationError(f"cannot read the limits {lo!r}, {hi!r} as times")
        if self.anchor is not None:      # states along the PF-ODE trajectory of the anchor state
            start = self.M.time_of(self.anchor)
            moving = {sym: gaussian_flow(self.M, start, self.M.time_of(sym), self.anchor)
                      for sym in f.free_symbols if self.M.time_of(sym) is not None and sym != self.anchor}
            f = f.xreplace(moving)
        return integrate(f, var, lower, upper)

    def _order(self, text: str) -> sp.Expr:
        arg = self.value(text)
        syms = [q for q in arg.free_symbols if q in (DT, SIGMA_C)]
        if len(syms) != 1:
            raise ExpectationError(f"an order O({text}) must be a power of Delta t or sigma")
        h = syms[0]
        k = sp.simplify(sp.log(arg.subs(h, sp.E**2) / arg.subs(h, sp.E)))
        if not k.is_number:
            raise ExpectationError(f"O({text}) is not a power of {h}")
        self.orders.append((h, float(k)))
        return sp.Integer(0)


def done(expr: sp.Expr) -> sp.Expr:
    """Evaluate the derivatives in ``expr`` (never its integrals)."""
    return expr.replace(lambda e: isinstance(e, sp.Derivative), lambda e: e.doit())


def time_of_subscript(sub: str):
    """A law's time: 't', 'T', '0', 't+dt' (checks.notation.parse_time) or an expression in t and T ('T-t')."""
    time = parse_time(sub)
    if time is not None:
        return time
    expr, atoms = L.parse_expression(sub)
    names = {q.name for q in expr.free_symbols}
    if atoms or not names <= {"t", "T"}:
        return None
    return expr.subs({sp.Symbol("t"): T_SYM, sp.Symbol("T"): T_END})


def gaussian_flow(M: Model, s_time, t_time, xx) -> sp.Expr:
    from derive.pf_ode import gaussian_flow_map
    return gaussian_flow_map(M.schedule, s_time, t_time, xx, M.data.means[0], M.data.variances[0])


def integrate(f: sp.Expr, var: sp.Symbol, lower=-sp.oo, upper=sp.oo) -> sp.Expr:
    """int f d(var): Dirac deltas of an affine argument in var are sifted exactly; the rest stays an Integral."""
    total, smooth = sp.Integer(0), sp.Integer(0)
    u = sp.Dummy("w", real=True)
    if not f.has(sp.DiracDelta):
        return sp.Integral(f.subs(var, u), (u, lower, upper))
    for term in sp.Add.make_args(sp.expand(f, deep=False, mul=True, multinomial=False, power_exp=False, log=False)):
        deltas = [q for q in sp.Mul.make_args(term) if isinstance(q, sp.DiracDelta) and q.has(var)]
        if not deltas:
            smooth += term
            continue
        if len(deltas) > 1 or (lower, upper) != (-sp.oo, sp.oo):
            raise ExpectationError("one Dirac delta per term, integrated over the whole line")
        arg = deltas[0].args[0]
        slope = sp.diff(arg, var)
        if slope == 0 or slope.has(var):
            raise ExpectationError("a Dirac delta's argument must be affine in the integration variable")
        root = var - arg / slope
        total += (term / deltas[0]).subs(var, root) / sp.Abs(slope)
    return total + (sp.Integral(smooth.subs(var, u), (u, lower, upper)) if smooth != 0 else 0)


def claim_text(claim, form: str) -> str:
    if form == "corrected":
        return claim.corrected
    if claim.transcribed:
        return claim.transcribed
    left = claim.extra.get("continues", "")
    return f"{left} {claim.latex}" if left else claim.latex


def _notation(claim) -> dict:
    notation = get_notation(claim.notation or "expectation_003")
    return with_point(notation) if claim.extra.get("point") else notation


def _tests(text: str, model_index: int) -> tuple:
    """Test functions to use with the i-th model: both with the first, then alternating (every one is used)."""
    if r"\phi" not in text:
        return (0,)
    return (0, 1) if model_index == 0 else (model_index % 2,)


def _judge(name, form, worst, seed, start, where, extra="") -> MethodResult:
    holds = True if worst < HOLD_TOL else (False if worst >= REFUTE_TOL else None)
    return MethodResult(name, form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"worst residual {worst:.3g} ({where}){extra}")


def _check(claim, form, seed, residual_fn, name, n_points=2) -> MethodResult:
    """Evaluate residual_fn(M, text) -> list of expressions at seeded points of each Gaussian model."""
    start = _time.perf_counter()
    rng = np.random.default_rng(seed)
    text = claim_text(claim, form)
    worst, where = 0.0, ""
    for i, M in enumerate(gaussian_models(rng)):
        for k in _tests(text, i):
            M.test_index = k
            for r in residual_fn(M, text):
                for _ in range(n_points):
                    pt = random_point(rng, M, sp.sympify(r, strict=True).free_symbols)
                    val = abs(evaluate(r, pt))
                    if val != val:
                        return MethodResult(name, form, None, None, seed=seed, detail=f"not finite at {pt}")
                    if val > worst:
                        worst, where = val, f"{M.schedule.name}, test function {k}"
    return _judge(name, form, worst, seed, start, where)


def _relation_residuals(claim, M, text, anchor_fn=None) -> list:
    ctx = Context(M, _notation(claim))
    if anchor_fn is not None:
        ctx.anchor = anchor_fn(ctx, text)
    sides, ops = ctx.relation(text)
    if not ops:
        raise ExpectationError("the formula has no relation sign")
    return [sides[i + 1] - sides[i] for i in range(len(ops))]


def method_expectation(claim, form, seed, samples=None) -> MethodResult:
    """Every relation sign holds in Gaussian-data models (expectations, integrals, flow maps, test functions)."""
    return _check(claim, form, seed, lambda M, text: _relation_residuals(claim, M, text), "expectation")


def method_coupling(claim, form, seed, samples=None) -> MethodResult:
    """Q_t(x_t | x_0) = RHS: the coupling's marginal int RHS p_data(x_0) dx_0 must be p_t(x_t)."""
    def residuals(M, text):
        ctx = Context(M, _notation(claim))
        sides, ops = ctx.relation(text)
        if len(sides) != 2:
            raise ExpectationError("a coupling reads Q_t(x_t | x_0) = (conditional law of x_t)")
        marginal = integrate(sides[1] * data_density(M, X0_SYM), X0_SYM)
        return [marginal - M.density(X_SYM, T_SYM)]
    return _check(claim, form, seed, residuals, "coupling")


def _anchor(ctx: Context, text: str):
    """The start state of the flow map on the left side: Psi_{s,t}(x_s) -> x_s."""
    lhs = L.parse_relation(peel(text)[0]).sides[0]
    args = [a for a in lhs.atoms(sp.core.function.AppliedUndef)]
    if len(args) != 1:
        raise ExpectationError("the flow-map definition's left side must be Psi_{s -> t}(x_s)")
    rel = L.parse_relation(peel(text)[0])
    return interpret(args[0].args[0], rel.atoms, ctx.M, ctx.base)


def method_flow_map(claim, form, seed, samples=None) -> MethodResult:
    """(4.1.9) along the PF-ODE trajectory, or a push-forward Psi # p against the field ``target``."""
    text = claim_text(claim, form)
    if r"\#" not in text:
        return _check(claim, form, seed, lambda M, tx: _relation_residuals(claim, M, tx, _anchor), "flow-map")
    target = claim.extra.get("target")
    if not target:
        raise ExpectationError("a push-forward claim needs the field 'target' (LaTeX of the law it must equal)")

    def residuals(M, tx):
        map_text, law_text = tx.split(r"\#")
        ctx = Context(M, _notation(claim))
        fmap = ctx.value(map_text.strip() + r"(\mathbf{x}_t)")
        slope, offset = sp.diff(fmap, X_SYM), fmap.subs(X_SYM, 0)
        if slope.has(X_SYM):
            raise ExpectationError("the flow map must be affine (Gaussian data)")
        mean0, var0 = _law(ctx, law_text)
        mean1, var1 = _law(ctx, target)
        return [slope * mean0 + offset - mean1, slope**2 * var0 - var1]
    return _check(claim, form, seed, residuals, "flow-map")


def _law(ctx: Context, text: str) -> tuple:
    """Mean and variance of the marginal named by ``p_r`` (p_{data} is the law at time 0)."""
    rel = L.parse_relation(peel(text)[0])
    atom = rel.atoms.get("\\" + str(rel.sides[0])) if not rel.ops else None
    if atom is None or atom[0] != "p":
        raise ExpectationError(f"expected a marginal law p_r, got {text!r}")
    M = ctx.M
    if atom[1] == "data":                      # the data law itself (VE: p_0 = p_data * N(0, sigma_min^2))
        return M.data.means[0], M.data.variances[0]
    time = time_of_subscript(atom[1])
    if time is None:
        raise ExpectationError(f"cannot read the time of the law {text!r}")
    return M.alpha(time) * M.data.means[0], M.alpha(time)**2 * M.data.variances[0] + M.sigma(time)**2


def method_order(claim, form, seed, samples=None) -> MethodResult:
    """Measured order in h (Delta t or sigma) of the (expected) residual against the claimed O(h^k)."""
    start = _time.perf_counter()
    rng = np.random.default_rng(seed)
    text = claim_text(claim, form)
    steps = tuple(int(e) for e in claim.extra.get("steps", (6, 8)))   # h = 10^-e
    if len(steps) != 2 or not 0 < steps[0] < steps[1] <= 12:
        raise ExpectationError(f"field 'steps' must be two exponents 0 < e1 < e2 <= 12, got {steps}")
    worst_gap, detail = np.inf, ""
    for i, M in enumerate(gaussian_models(rng)):
        for k_test in _tests(text, i):
            M.test_index = k_test
            ctx = Context(M, _notation(claim))
            if claim.extra.get("quantity"):
                ctx.value(text)                       # the claimed order O(h^k)
                residual = ctx.value(claim.extra["quantity"])
            else:
                sides, ops = ctx.relation(text)
                if len(sides) != 2:
                    raise ExpectationError("an order claim reads A = B + O(h^k)")
                if claim.extra.get("compare") == "log":      # expanded after the point is substituted
                    residual = sp.log(sides[0]) - sp.log(sides[1])
                else:
                    residual = sides[0] - sides[1]
            if len(ctx.orders) != 1:
                raise ExpectationError(f"an order claim needs exactly one O(.), found {len(ctx.orders)}")
            h, k = ctx.orders[0]
            pt = random_point(rng, M, {T_SYM} | (residual.free_symbols - {h}))
            if claim.extra.get("average"):     # exact expectation over the states at each step size
                    small = [abs(evaluate(expectation(M, residual, point={T_SYM: pt[T_SYM], h: sp.Float(f"1e-{e}", 50)}),
                                      pt)) for e in steps]
            else:
                small = [abs(evaluate(residual, {**pt, h: sp.Float(f"1e-{e}", 50)})) for e in steps]
            if max(small) < 1e-40:
                measured = np.inf
            else:
                measured = float(mpmath.log(small[0] / small[1]) / mpmath.log(10**(steps[1] - steps[0])))
            gap = measured - k
            if gap < worst_gap:
                worst_gap, detail = gap, f"{M.schedule.name}: |residual| {small[0]:.3g} at {h}=1e-{steps[0]}, " \
                                         f"{small[1]:.3g} at 1e-{steps[1]}: measured order {measured:.3f}, claimed {k:g}"
    holds = True if worst_gap > -0.2 else (False if worst_gap < -0.5 else None)
    return MethodResult("increment-order", form, holds, None, seed=seed, seconds=_time.perf_counter() - start, detail=detail)


def method_reverse_law(claim, form, seed, samples=None) -> MethodResult:
    """Law of the reverse-time process (field ``process``) at the claim's time against the claimed marginal."""
    start = _time.perf_counter()
    rng = np.random.default_rng(seed)
    process = claim.extra.get("process")
    if not process:
        raise ExpectationError("a reverse-law claim needs the field 'process' (the SDE's LaTeX)")
    text = claim_text(claim, form)
    worst, where = 0.0, ""
    for M in gaussian_models(rng):
        ctx = Context(M, get_notation("expectation_003"))
        rel = L.parse_relation(peel(text)[0])
        if rel.ops != [r"\sim"]:
            raise ExpectationError("a reverse-law claim reads xbar(tau) \\sim p_r")
        state = interpret(rel.sides[0], rel.atoms, M, ctx.base)
        tau = M.time_of(state)
        if tau is None:
            raise ExpectationError(f"the left side {text!r} is not a state at a time")
        mean_c, var_c = _law(ctx, text.split(r"\sim")[1])
        drift, diff_sq, direction = V._sde_parts(L.parse_relation(process), M, ctx.base, claim)
        a_coef, b_coef = sp.diff(drift, X_SYM), drift.subs(X_SYM, 0)
        if a_coef.has(X_SYM):
            raise ExpectationError("the process drift must be affine in the state (Gaussian data)")
        pt = random_point(rng, M, {T_SYM, T_END})
        t_end = pt[T_END]
        tau_val = sp.sympify(tau, strict=True).subs(pt)
        m_start, v_start = M.alpha(t_end) * M.data.means[0], M.alpha(t_end)**2 * M.data.variances[0] + M.sigma(t_end)**2
        fa, fb, fg = (sp.lambdify(T_SYM, e, "numpy") for e in (a_coef, b_coef, diff_sq))
        t0 = float(t_end) if direction == "reverse" else 0.0
        y0 = ([float(sp.N(m_start)), float(sp.N(v_start))] if direction == "reverse"
              else [float(M.data.means[0]), float(M.data.variances[0])])
        sign = -1.0 if direction == "reverse" else 1.0   # reverse time: integrate from T down to tau

        def rhs(u, y):
            tt = t0 + sign * u
            a, b = float(fa(tt)), float(fb(tt))
            return [sign * (a * y[0] + b), sign * 2 * a * y[1] + float(fg(tt))]
        span = abs(t0 - float(sp.N(tau_val)))
        sol = solve_ivp(rhs, (0.0, span), y0, method="DOP853", rtol=1e-13, atol=1e-14) if span > 0 else None
        mean_p, var_p = (sol.y[0, -1], sol.y[1, -1]) if sol is not None else y0
        claimed = [complex(sp.N(mean_c.subs(pt), 30)), complex(sp.N(var_c.subs(pt), 30))]
        gap = max(abs(claimed[0] - complex(mean_p)), abs(claimed[1] - complex(var_p)))
        if gap > worst:
            worst, where = gap, f"{M.schedule.name}, tau={float(sp.N(tau_val)):.3g}, T={float(t_end):.3g}"
    return _judge("reverse-law", form, worst, seed, start, where,
                  "; mean/variance ODEs of the process solved from its start (reverse time: t = T, law p_T)")


METHODS = {
    "expectation": method_expectation,
    "coupling": method_coupling,
    "flow-map": method_flow_map,
    "increment-order": method_order,
    "reverse-law": method_reverse_law,
}
