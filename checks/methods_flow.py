r"""Verification methods of the flow-matching and optimal-transport claims (families flow_003, flow_000).

* ``flow-gaussian``: the claim's LaTeX is parsed (checks.latex, after the rewrites of ``prenormalise`` for the
  flow-matching notation the engine does not read yet) and its residuals (checks.verify.residuals) are evaluated
  at 50 digits in concrete schedules (VP, VE, rectified flow, cosine, sub-VP, EDM) with *Gaussian* data N(m, v):
  for Gaussian data the marginal path, the PF-ODE trajectories and flow maps are exact (notations "flow.gpath",
  "flow.traj"), so trajectory integrals such as NODE likelihoods (003 (5.1.8)) are checked exactly (mpmath
  quadrature). A symbolic proof for the generic schedule alpha(t), sigma(t) is attempted as well.
* ``ot-gaussian``: optimal transport between two random one-dimensional Gaussians N(m1, v1) -> N(m2, v2): the
  claimed map / potential / cost / interpolation is parsed and compared with the optimal objects *derived* here
  (the monotone rearrangement T = F_tgt^{-1} o F_src, obtained by solving the CDF equation, its potential, and the
  Monge cost E|T(x) - x|^2 integrated against the source density), at 50 digits.
"""
from __future__ import annotations

import functools
import re
import time as _time

import numpy as np
import sympy as sp

from derive import schedules
from derive.data import Mixture, gaussian, normal_pdf
from derive.symbols import t as T_SYM, x as X_SYM

from . import latex as L
from .catalogue import Claim
from .notation import Model, get_notation, interpret
from .verdict import MethodResult
from . import verify as V

DIGITS = 50
QUAD_DIGITS = 30    #: quadrature precision: far below the hold tolerance 1e-10, and fast
FAMILIES = ("vp-linear", "ve", "rectified-flow")   #: default; a claim may list others in ``families``


# --- parsing: rewrites for the flow-matching notation -------------------------------------------------------

_NAME = r"(\\[a-zA-Z]+|[a-zA-Z])"


def _bar_to_mid(s: str) -> str:
    """A single '|' inside a function's parentheses is the conditioning bar: p_t(x|z) -> p_t(x \\mid z)."""
    out, stack = list(s), []
    for i, ch in enumerate(s):
        if ch == "(":
            stack.append([i, []])
        elif ch == ")" and stack:
            start, bars = stack.pop()
            if len(bars) == 1:
                out[bars[0]] = r" \mid "
        elif ch == "|" and stack and s[i - 1] != "\\" and (i + 1 >= len(s) or s[i + 1] != "|") and s[i - 1] != "|":
            stack[-1][1].append(i)
    return "".join(out)


def _drop_underbrace(s: str) -> str:
    r"""\underbrace{X}_{label} -> X (the label names the braced quantity)."""
    while True:
        i = s.find(r"\underbrace")
        if i < 0:
            return s
        j = s.index("{", i)
        body, end = L.braced(s, j)
        mo = re.match(r"\s*_\s*", s[end:])
        if mo and s[end + mo.end()] == "{":
            _, end = L.braced(s, end + mo.end())
        s = s[:i] + "{" + body + "}" + s[end:]


def _cut_side_conditions(s: str) -> str:
    """Drop a trailing side condition ', \\quad x_0 ~ p_data' / ', \\quad t in [0, 1]' at top level."""
    depth = 0
    for i, ch in enumerate(s):
        depth += ch in "({[" and 1 or 0
        depth -= ch in ")}]" and 1 or 0
        if depth == 0 and re.match(r",\s*\\quad", s[i:]):
            return s[:i]
    return s


def _expectations(s: str) -> str:
    r"""\mathbb{E}_{x_0 ~ p(. | x_t)}[B], \mathbb{E}[B | x_t (= x)] -> \Phi_{post}(B); \mathbb{E}_{x_0 ~ p_data}[B] -> \Phi_{data}(B)."""
    out = ""
    while True:
        mo = re.search(r"\\mathbb\{E\}\s*(_\s*\{)?", s)
        if not mo:
            return out + s
        kind, j = "post", mo.end()
        if mo.group(1):
            sub, j = L.braced(s, mo.end() - 1)
            kind = "data" if r"\text{data}" in sub else "post"
            if "data" not in kind and not re.search(r"p\s*\(\s*\\cdot", sub):
                raise L.LatexError(f"expectation over {sub!r} is not a posterior or data expectation")
        k = re.match(r"\s*(\\left)?\s*\[", s[j:])
        if not k:
            raise L.LatexError(f"expectation without brackets near {s[mo.start():mo.start() + 40]!r}")
        start = j + k.end() - 1
        depth, end = 0, None
        for i in range(start, len(s)):
            if s[i] == "[":
                depth += 1
            elif s[i] == "]":
                depth -= 1
                if depth == 0:
                    end = i
                    break
        if end is None:
            raise L.LatexError("unbalanced brackets in an expectation")
        body = re.sub(r"\\right\s*$", "", s[start + 1:end]).strip()
        cond = re.search(r"\|\s*\\mathbf\{[xX]\}_t(\s*=\s*\\mathbf\{x\})?\s*$", body)
        if cond:
            body = body[:cond.start()]
        out += s[:mo.start()] + rf"\Phi_{{{kind}}}({body})"
        s = s[end + 1:]


def prenormalise(text: str) -> str:
    r"""Rewrite notations the engine's normaliser does not read yet (each rewrite keeps the formula's meaning).

    * ``a'_t`` -> ``\dot{a}(t)``, ``\sigma'_{1-t}`` -> ``\dot{\sigma}(1-t)``, ``\alpha_{1-t}`` -> ``\alpha(1-t)``: a
      time subscript becomes the time argument (primes are time derivatives); ``\sigma_t(x_1)``, ``A_t(z)``: the
      argument only marks the dependence on the conditioning variable and is dropped;
    * flow maps ``\Psi_{s \rightarrow t}(x)`` -> ``\Psi(s, t, x)``, ``\Psi^{-1}_{0 \rightarrow t}`` -> ``\Psi(t, 0, .)``,
      ``\phi_t(x)`` -> ``\phi(0, t, x)``, ``\phi_t^{-1}`` -> ``\phi(t, 0, .)``, ``S_t(x)`` -> ``S(0, t, x)``;
    * a single ``|`` inside a function's parentheses -> ``\mid`` (conditional); ``| z = x_1`` -> ``| x_1``;
    * expectations ``\mathbb{E}[B | x_t]``, ``\mathbb{E}_{x_0 ~ p(. | x_t)}[B]`` -> ``\Phi_{post}(B)`` (posterior mean
      given the state x_t), ``\mathbb{E}_{x_0 ~ p_data}[B]`` -> ``\Phi_{data}(B)``; ``\pi(z)`` -> ``p_{\pi}(z)``;
    * decorations of learned/optimal fields (``v^*``, ``v_{\phi^\times}``, ``T^*``, ``^{(k)}``, ``p^{SB}``,
      ``p^\varepsilon``) are dropped; ``b^+``/``b^-`` -> ``h_{fwd}``/``h_{bwd}``;
    * an integral ending in ``d\mathbf{x}_1`` integrates over a fresh variable ``u`` (the engine keeps no subscript
      on differentials); ``p_t^{rev}``, ``p_t^{fwd}`` -> ``p_t``;
    * ``\partial_t`` -> ``\frac{\partial}{\partial t}``, ``\Delta`` (Laplacian) -> ``\nabla^2``, ``D^2`` -> ``\nabla^2``,
      ``\det`` of a 1x1 Jacobian -> its entry, ``\int_{\mathbb{R}^D}`` -> ``\int_{-\infty}^{\infty}``,
      ``\leftarrow`` (assignment) -> ``=``, densities ``\nu_1(x)`` -> ``p_{\nu_1}(x)``, ``\underbrace{X}_{l}`` -> ``X``, trailing ``, \quad`` side conditions cut.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    s = _expectations(_cut_side_conditions(_drop_underbrace(text)))
    s = re.sub(r"\^\s*\{\\text\{(?:rev|fwd)\}\}", "", s)          # p_t^{rev}, p_t^{fwd}: the induced densities
    final = re.search(r"d\\mathbf\{x\}_(\d)\s*\.?\s*$", s)           # \int ... dx_1: the subscript names the variable
    if final and r"\delta" in s:
        s = s.replace(r"\mathbf{x}_" + final.group(1), r"\mathbf{u}")
    s = re.sub(r"\\pi\s*\(\s*\\mathbf\{z\}\s*\)", r"p_{\\pi}(\\mathbf{z})", s)   # the latent law pi(z)
    s = re.sub(r"\\partial_t(?![a-zA-Z])", r"\\frac{\\partial}{\\partial t}", s)
    s = re.sub(r"\\Delta_\{\\mathbf\{x\}\}|\\Delta(?!\s*t\b)(?![a-zA-Z_])", r"\\nabla^2 ", s)
    s = re.sub(r"(?<![a-zA-Z\\])D\^2\s*", r"\\nabla^2 ", s)
    s = re.sub(r"\\det\s*", " ", s)
    s = re.sub(r"\\nu_(\d)\s*\(", r"p_{\\nu_\1}(", s)      # densities nu_1, nu_2 of the Monge-Ampere equation
    s = re.sub(r"\\int_\{\\mathbb\{R\}\^D\}", r"\\int_{-\\infty}^{\\infty}", s)
    s = s.replace(r"\leftarrow", "=")
    s = re.sub(r"\\mathbf\{b\}\^\+", r"h_{fwd}", s)
    s = re.sub(r"\\mathbf\{b\}\^-", r"h_{bwd}", s)
    s = re.sub(r"\^\s*\{\s*\(k(?:\+1)?\)\s*\}", "", s)
    s = re.sub(r"\^\s*\{\\text\{SB\}\}|\^\s*\\varepsilon|\^\s*\{\\varepsilon\}", "", s)
    s = re.sub(r"(_t)\^0(?![0-9])", r"\1", s)
    s = re.sub(r"_\s*\{\s*\\phi\s*(?:\^\s*\{?\s*(?:\\times|x|\*)\s*\}?|_\{k\+1\})\s*\}", r"_{\\phi}", s)
    s = re.sub(r"_\s*\{\s*\\phi\s*\^\s*(?:x|\\times)\s*\}", r"_{\\phi}", s)
    s = re.sub(r"\^\s*(?:\{\s*(?:\*|\\times|\\star)\s*\}|\*|\\times|\\star)", "", s)
    # the divergence inside an integral is one factor: \int (\nabla_x \cdot v(...)) dt
    s = re.sub(r"(\\int_\S+\s+)(\\nabla_\{(?:[^{}]|\{[^{}]*\})*\}\s*\\cdot\s*\\mathbf\{v\}_\S*?\((?:[^()]|\([^()]*\))*\))",
               r"\1(\2)", s)
    # dependence markers: sigma_t(x_1), A_t(z)
    s = re.sub(r"(\\sigma'?\s*_\s*t(?:\s*\^\s*2)?)\s*\(\s*x_1\s*\)", r"\1", s)
    s = re.sub(r"\\sigma'\s*_\s*t(?![a-zA-Z])", r"\\dot{\\sigma}(t) ", s)
    s = re.sub(r"\\(tilde|hat|bar)\s*\{\s*([a-zA-Z])\s*\}\s*_\s*t\s*\(", r"\\\1{\2}(t, ", s)   # \tilde{w}_t(y) -> \tilde{w}(t, y)
    s = re.sub(r"(\\mathbf\{A\}'?\s*_\s*t)\s*\(\s*\\mathbf\{z\}\s*\)", r"\1", s)
    s = re.sub(r"\\mathbf\{A\}\s*_\s*t", r"A_t", s)
    # flow maps
    arrow = r"_\s*\{\s*([0-9a-z])\s*\\rightarrow\s*([0-9a-z])\s*\}"
    s = re.sub(r"\\Psi" + arrow + r"\s*\^\s*\{\s*-1\s*\}\s*\(", r"\\Psi(\2, \1, ", s)
    s = re.sub(r"\\Psi'" + arrow + r"\s*\(", r"\\Psi_{rate}(\1, \2, ", s)   # before the prime rewrite
    s = re.sub(r"\\Psi" + arrow + r"\s*\(", r"\\Psi(\1, \2, ", s)
    s = re.sub(r"d(\\phi_t\([^()]*\))\s*/\s*dt", r"\\frac{d}{dt}(\1)", s)      # d phi_t(x)/dt
    s = re.sub(r"\\phi_t\s*\^\s*\{\s*-1\s*\}\s*\(", r"\\phi(t, 0, ", s)
    s = re.sub(r"\\phi_0\s*\(", r"\\phi(0, 0, ", s)
    s = re.sub(r"\\mathbf\{f\}_\\phi\s*\^\s*\{\s*-1\s*\}\s*\(", r"\\Psi(T, 0, ", s)   # f_phi^{-1}: data (T) -> prior (0)
    s = re.sub(r"\\phi_t\s*\(", r"\\phi(0, t, ", s)
    s = re.sub(r"\\mathbf\{S\}_t\s*\(", r"S(0, t, ", s)
    s = re.sub(r"\\mathbf\{S\}_t(?![a-zA-Z(])", r"S(0, t)", s)
    s = re.sub(r"\\partial\s+x_t\s*\}", r"\\partial x}", s)
    # primed quantities (time derivatives) -> \dot{X}(time, ...): a'_t, \sigma'_{1-t}(x_1), \mu'(t), T'(s)
    s = re.sub(r"\\(?:mathbf|boldsymbol)\s*\{\s*(\\?[a-zA-Z]+)\s*\}\s*'", r"\1'", s)
    s = re.sub(_NAME + r"'\s*_\s*\{([^{}]*)\}\s*\(", r"\\dot{\1}(\2, ", s)
    s = re.sub(_NAME + r"'\s*_\s*([a-zA-Z0-9])\s*\(", r"\\dot{\1}(\2, ", s)
    s = re.sub(_NAME + r"'\s*_\s*\{([^{}]*)\}", r"\\dot{\1}(\2)", s)
    s = re.sub(_NAME + r"'\s*_\s*([a-zA-Z0-9])", r"\\dot{\1}(\2)", s)
    s = re.sub(_NAME + r"'\s*\(", r"\\dot{\1}(", s)
    # arithmetic time subscripts of schedule quantities: \alpha_{1-t} -> \alpha(1-t)
    s = re.sub(r"(\\alpha|\\sigma)\s*_\s*\{\s*(1\s*-\s*t)\s*\}", r"\1(\2)", s)
    s = _bar_to_mid(s)
    s = re.sub(r"\\mid\s*\\mathbf\{z\}\s*=\s*", r"\\mid ", s)
    return s


def parse(claim: Claim, form: str) -> tuple[L.Relation, bool]:
    """The claim's relation (document, transcribed or corrected form), parsed after ``prenormalise``."""
    text, parsed = V.claim_text(claim, form)
    rel = L.parse_relation(prenormalise(text))
    return L.Relation([_repair(side, rel) for side in rel.sides], rel.ops, rel.atoms), parsed


def _repair(expr: sp.Expr, rel: L.Relation) -> sp.Expr:
    """Integrals whose differential parsed as a factor (``\\int_0^T f dt``), and divergences along a path.

    * Integral(d_t * f, (x, a, b)) -> Integral(f, (t, a, b)): the differential names the integration variable;
    * d/dx G(x(t), t) -> (d/dy G(y, t)) at y = x(t): the divergence of a field evaluated on a trajectory;
    * x(t), z(0) -> xpath(t), zpath(0): a path at a time, distinct from the bare point x.
    """
    def fix_integral(e):
        marks = [sym for sym in e.function.free_symbols if rel.atoms_base(sym) == "d"]
        if len(e.limits) == 1 and len(e.limits[0]) == 1 and not marks:   # \int f dz over the whole line
            return sp.Integral(e.function, (e.limits[0][0], -sp.oo, sp.oo))
        if len(marks) != 1 or len(e.limits) != 1:
            return e
        mark = marks[0]
        key = [k for k in rel.atoms if k.replace("\\", "") == mark.name][0]
        name = rel.atoms[key][1]
        body = e.function.subs(mark, 1)
        var = sp.Symbol(name)
        if name == "x" and var not in body.free_symbols:   # d x_0: the differential's subscript was not kept
            fixed = [sym for sym in body.free_symbols
                     if [v for k, v in rel.atoms.items() if k.replace("\\", "") == sym.name][:1]
                     and rel.atoms[[k for k in rel.atoms if k.replace("\\", "") == sym.name][0]][0] == "x"
                     and rel.atoms[[k for k in rel.atoms if k.replace("\\", "") == sym.name][0]][1].isdigit()]
            if len(fixed) != 1:
                raise L.LatexError(f"cannot tell the integration variable of {e}")
            var = fixed[0]
        limits = e.limits[0][1:] if len(e.limits[0]) == 3 else (-sp.oo, sp.oo)
        return sp.Integral(body, (var, *limits))

    def fix_divergence(e):
        var = e.variables[0] if len(e.variables) == 1 else None
        inner = e.expr
        if (var is not None and isinstance(inner, sp.core.function.AppliedUndef) and inner.args
                and isinstance(inner.args[0], sp.core.function.AppliedUndef)
                and inner.args[0].func.__name__ == var.name):
            local = inner.func(var, *inner.args[1:])
            return sp.Subs(sp.Derivative(local, var), var, inner.args[0])
        return e

    def is_path(e):
        return (isinstance(e, sp.core.function.AppliedUndef) and e.func.__name__ in ("x", "z")
                and len(e.args) == 1)

    expr = expr.replace(lambda e: isinstance(e, sp.Integral), fix_integral)
    expr = expr.replace(lambda e: isinstance(e, sp.Derivative), fix_divergence)
    # x(t), z(0): a path evaluated at a time (the interpreter would drop the time argument of plain x)
    return expr.replace(is_path, lambda e: sp.Function(e.func.__name__ + "path")(*e.args))


# --- flow-gaussian ------------------------------------------------------------------------------------------

def _models(rng: np.random.Generator, claim: Claim) -> list[Model]:
    """Concrete schedules with Gaussian data N(m, v) (random), or the claim's ``families`` only."""
    names = tuple(claim.extra.get("families", FAMILIES))
    models = []
    for name in names:
        if name in ("vp-linear", "sub-vp", "ve"):
            sc = V.random_schedule(rng, name)
        elif name == "fm-linear":      # FM canonical path a_t = 1 - t (noise), b_t = t (data): sigma = 1 - t, alpha = t
            sc = schedules.Schedule("fm-linear", T_SYM, 1 - T_SYM, 0.0, 1.0)
        elif name == "lipman-ot":      # 000 (20): mu_t = t x_1, sigma_t = 1 - (1 - sigma_min) t
            smin = sp.Rational(int(rng.integers(1, 10)), 100)
            sc = schedules.Schedule("lipman-ot", T_SYM, 1 - (1 - smin) * T_SYM, 0.0, 1.0, (("sigma_min", float(smin)),))
        elif name == "ou":
            sc = schedules.get(name, theta=float(claim.extra.get("theta", 1)), noise=float(claim.extra.get("noise", 1)))
        else:
            sc = schedules.get(name)
        mean = sp.Rational(int(rng.integers(-15, 16)), 10)
        var = sp.Rational(int(rng.integers(2, 20)), 10)
        data = gaussian(mean, var)
        if claim.extra.get("data") == "mixture":
            data = Mixture((sp.Rational(3, 10), sp.Rational(7, 10)), (mean - 1, mean + 1), (var, var / 2))
        models.append(Model(sc, data, t_end=sp.Rational(9, 10)))
    return models


def _quadrature(integral: sp.Integral, breaks=()) -> sp.Expr:
    """A definite integral at 50 digits: mpmath.quad of the lambdified integrand (Dirac deltas: exactly)."""
    import mpmath
    (var, lo, hi), = integral.limits
    if integral.has(sp.DiracDelta):    # int c(u) delta(a u + b) du = c(-b/a)/|a| (affine argument, whole line)
        deltas = list(integral.function.atoms(sp.DiracDelta))
        if len(deltas) != 1 or (lo, hi) != (-sp.oo, sp.oo):
            raise ValueError(f"cannot integrate {integral.function} over ({lo}, {hi})")
        arg = deltas[0].args[0]
        slope = sp.diff(arg, var)
        if var in slope.free_symbols or slope == 0:
            raise ValueError(f"delta argument {arg} is not affine in {var}")
        root = -arg.subs(var, 0) / slope
        coeff = integral.function.subs(deltas[0], 1)
        if sp.simplify(integral.function.subs(deltas[0], 2) - 2 * coeff) != 0:
            raise ValueError(f"integrand {integral.function} is not linear in its Dirac delta")
        return coeff.subs(var, root) / sp.Abs(slope)
    body = integral.function
    if body.free_symbols - {var}:
        raise ValueError(f"integrand has free symbols {body.free_symbols - {var}} after substitution")
    fn = sp.lambdify(var, body, modules="mpmath")
    with mpmath.workdps(QUAD_DIGITS):
        a = mpmath.mpf(str(sp.N(lo, DIGITS))) if lo.is_finite else -mpmath.inf
        b = mpmath.mpf(str(sp.N(hi, DIGITS))) if hi.is_finite else mpmath.inf
        inner = sorted({mpmath.mpf(str(c)) for c in breaks if a < c < b})   # subdivide at the point's coordinates
        value = mpmath.quad(fn, [a, *inner, b])
        return sp.Float(mpmath.nstr(mpmath.re(value), QUAD_DIGITS), DIGITS)   # inside: str() outside keeps 15 digits


def _evaluate(expr: sp.Expr, point: dict) -> complex:
    """50-digit value: derivatives and substitutions done symbolically, integrals by mpmath quadrature."""
    expr = expr.replace(lambda e: isinstance(e, (sp.Derivative, sp.Subs)), lambda e: e.doit())
    expr = expr.subs(point)
    expr = expr.replace(lambda e: isinstance(e, (sp.Derivative, sp.Subs)), lambda e: e.doit())
    breaks = [float(v) for v in point.values()]
    expr = expr.replace(lambda e: isinstance(e, sp.Integral), lambda e: _quadrature(e, breaks))
    return complex(sp.N(expr, DIGITS))


def flow_gaussian(claim: Claim, form: str, seed: int, samples=None) -> MethodResult:
    """Residuals of the parsed claim at 50 digits, concrete schedules with Gaussian data (see module doc)."""
    start = _time.perf_counter()
    if claim.notation in TRAJECTORY_NOTATIONS and not certify_trajectory():
        return MethodResult("flow-gaussian", form, None, detail="PF-ODE trajectory certificate failed")
    rel, _ = parse(claim, form)
    rng = np.random.default_rng(seed)
    worst, where = 0.0, ""
    n_points = int(claim.extra.get("points", 2))
    for model in _models(rng, claim):
        res, limit = V._residuals(claim, rel, model)   # delta integrals are done in _quadrature
        for r in res:
            for pt in V._points(rng, model, r.free_symbols, n_points):
                if limit and V.DT in pt:
                    pt[V.DT] = sp.Float("1e-24", DIGITS)
                val = abs(_evaluate(r, pt))
                if val != val or val == float("inf"):
                    return MethodResult("flow-gaussian", form, None, None, seed=seed,
                                        seconds=_time.perf_counter() - start,
                                        detail=f"residual not finite on {model.schedule.name}")
                if val > worst:
                    worst, where = val, f"{model.schedule.name}, data {model.data.means}, " + ", ".join(
                        f"{k}={float(v):.4g}" for k, v in pt.items())
    holds = True if worst < V.HOLD_TOL else (False if worst >= V.REFUTE_TOL else None)
    detail = f"Gaussian data, schedules {', '.join(claim.extra.get('families', FAMILIES))}: worst residual {worst:.3g} ({where})"
    if holds and claim.extra.get("symbolic", False):
        proved = _symbolic(claim, rel)
        detail += "; symbolic (generic alpha, sigma; data N(m, v)): " + ("residual simplifies to 0" if proved else "not shown")
    return MethodResult("flow-gaussian", form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=detail)


def _symbolic(claim: Claim, rel: L.Relation) -> bool:
    try:
        res, limit = V.residuals(claim, rel, V.symbolic_model())
        with V._time_limit(2):
            for r in res:
                r = r.doit()
                if limit and V.DT in r.free_symbols:
                    r = sp.limit(sp.cancel(r), V.DT, 0)
                if sp.simplify(r) != 0:
                    return False
        return True
    except Exception:   # noqa: BLE001 - SymPy could not decide (time limit, unevaluated integral): not proved
        return False


TRAJECTORY_NOTATIONS = ("flow.traj", "flow.nf", "flow.gpath", "flow.gpath.y", "flow.pushforward", "flow.000.map", "ot.ou")


@functools.cache
def certify_trajectory() -> bool:
    """The PF-ODE trajectory of notations_flow.pf_trajectory solves dx/dt = f x - g^2/2 score (generic schedule)."""
    from .notations_flow import pf_trajectory, pf_velocity
    model = V.symbolic_model()
    traj = pf_trajectory(model, T_SYM)
    return sp.simplify(sp.diff(traj, T_SYM) - pf_velocity(model, traj, T_SYM)) == 0


# --- ot-gaussian --------------------------------------------------------------------------------------------

Y = sp.Symbol("y", real=True)


@functools.cache
def gaussian_ot(m1, v1, m2, v2) -> dict:
    """Optimal (quadratic-cost) transport N(m1, v1) -> N(m2, v2) in one dimension, derived:

    the monotone rearrangement solves F_tgt(T(x)) = F_src(x); for Gaussians the CDFs are Phi((x - m)/s), so
    T(x) = m2 + s2 (x - m1)/s1 (solved by sympy from the equality of the CDF arguments), the Brenier potential
    psi = int T, the displacement interpolation T_t = (1 - t) x + t T(x) and W_2^2 = E_src |T(x) - x|^2 by
    integration against the source density.
    """
    s1, s2 = sp.sqrt(v1), sp.sqrt(v2)
    target = sp.Symbol("T_x", real=True)
    (tmap,) = sp.solve(sp.Eq((target - m2) / s2, (X_SYM - m1) / s1), target)
    psi = sp.integrate(tmap, X_SYM)
    # E_src |T(x) - x|^2: a quadratic polynomial in x, integrated with the Gaussian moments 1, m1, m1^2 + v1
    cost = sp.Poly(sp.expand((tmap - X_SYM)**2), X_SYM)
    moments = (sp.Integer(1), m1, m1**2 + v1)
    w2 = sp.simplify(sum(c * moments[k] for (k,), c in cost.terms()))
    return {"T": tmap, "psi": psi, "W2": w2, "src": normal_pdf(X_SYM, m1, v1), "tgt": normal_pdf(X_SYM, m2, v2)}


def _ot_notation(ot: dict) -> dict:
    def at(expr):
        return lambda M, tau, a, s: expr.subs(X_SYM, a[0]) if a else expr

    def density(M, tau, a, s):
        key = "tgt" if ("tgt" in s or "nu_2" in s) else ("src" if ("src" in s or "nu_1" in s) else None)
        if key is None:
            raise V.VerificationError(f"density p_{s} has no meaning in the OT notation")
        return ot[key].subs(X_SYM, a[0] if a else X_SYM)

    def interp(M, tau, a, s):
        xx = a[0] if a else X_SYM
        return ((1 - T_SYM) * X_SYM + T_SYM * ot["T"]).subs(X_SYM, xx) if s else ot["T"].subs(X_SYM, xx)

    return {"x": lambda M, tau, a, s: X_SYM, "t": lambda M, tau, a, s: T_SYM, "u": at(ot["psi"]),
            "T": interp, "psi": at(ot["psi"]), "p": density, "W": lambda M, tau, a, s: ot["W2"],
            "I": lambda M, tau, a, s: sp.Integer(1)}


def ot_gaussian(claim: Claim, form: str, seed: int, samples=None) -> MethodResult:
    """Parse the claim and evaluate it on the optimal transport between random Gaussians (module doc)."""
    start = _time.perf_counter()
    rel, _ = parse(claim, form)
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(3):
        m1, m2 = (sp.Rational(int(rng.integers(-20, 21)), 10) for _ in range(2))
        v1, v2 = (sp.Rational(int(rng.integers(2, 30)), 10) for _ in range(2))
        notation = _ot_notation(gaussian_ot(m1, v1, m2, v2))
        model = V.symbolic_model()
        sides = [interpret(side, rel.atoms, model, notation) for side in rel.sides]
        for a, b in zip(sides, sides[1:]):
            r = (b - a).doit()
            for _ in range(3):
                pt = {X_SYM: sp.Float(rng.normal(0, 1.5), DIGITS), T_SYM: sp.Float(rng.uniform(0.05, 0.95), DIGITS)}
                worst = max(worst, abs(complex(sp.N(r.subs(pt), DIGITS))))
    holds = True if worst < V.HOLD_TOL else (False if worst >= V.REFUTE_TOL else None)
    return MethodResult("ot-gaussian", form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"optimal transport between random 1-D Gaussians: worst residual {worst:.3g}")


METHODS = {"flow-gaussian": flow_gaussian, "ot-gaussian": ot_gaussian}
