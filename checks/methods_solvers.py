r"""Verification methods of the fast-sampler claims (family solvers_003: 003 ch. 9 and App. D.6, 001/002 DDIM).

* ``exp-update``: the claim's LaTeX is parsed (checks.latex, after ``prenormalise``) and read in the sampler
  notation of 003 ch. 9: the start state x~_s (also x~_{t_{i-1}}, x~_{t_0}) and its model outputs eps(x~_s, s),
  x*(x~_s, s) = (x~_s - sigma_s eps)/alpha_s, s*(x~_s, s) = -eps/sigma_s, the target state x~_t (x~_{t_i},
  x~_{t_1}), alpha/sigma at both times, lambda = log(alpha/sigma), h = lambda_t - lambda_s, h_{i-1} the previous
  step, r_i = h_i/h_{i-1}, x^_{i-1}, x^_{i-2} the data predictions of the last two steps. The quantity on the left
  (the new state, or D_i) is compared at 50 digits and seeded random points with the update *derived* in
  derive/exp_integrator.py named by the claim's ``meaning`` (DDIM = DPM-Solver-1, DPM-Solver++ 1 / 2M, ...).
* ``phi``: an identity between phi-functions and log-SNR integrals (003 eq. (9.4.9), ch. 9.5): phi_k(x) is the
  derived phi of derive.exp_integrator (from its integral definition), lambda_s/lambda_{i-1} a free start,
  lambda_t/lambda_i = start + h, alpha_{t_i} a free scale with sigma_{t_i} = alpha_{t_i} e^{-lambda_i}; integrals
  are evaluated exactly by SymPy; free integers k (m) are checked at k = 0..3 (m = 1..3). Residuals at 50 digits.
* ``semilinear``: flow map / first-order step of dx/dlambda = L x + N (003 ch. 9.7) on the test problem L = 7/10,
  N = cos(lambda), E(a -> b) = exp(L (b - a)), against the exact flow (SymPy integral, mpmath quadrature).
* ``order``: the claimed global order (field ``order``) of a one-step update, from its local error against the exact
  Gaussian-data PF-ODE flow (derive.pf_ode.gaussian_flow_map) at h = 0.04, 0.02, 0.01.
* ``prenormalised``: the engine's own checks (checks.verify) on the LaTeX after ``prenormalise``.
"""
from __future__ import annotations

import re
import time as _time

import numpy as np
import sympy as sp

from derive import exp_integrator as E

from . import latex as L
from . import verify as V
from .catalogue import Claim
from .verdict import MethodResult

DIGITS = 50
HOLD_TOL, REFUTE_TOL = 1e-30, 1e-8


class SolverClaimError(ValueError):
    """A symbol of a solver claim that the sampler notation does not define."""


def prenormalise(text: str) -> str:
    r"""Rewrites the engine's normaliser does not read yet (meaning kept): ``\underbrace{X}_{l}`` -> X,
    ``\textcolor{c}{X}`` -> X, ``c_{\text{in}}(t)`` -> ``c_{in}`` (the argument is the time already in the
    notation), trailing ``+ \mathcal{O}(...)`` remainders dropped (only the explicit terms are compared)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    s = text
    while r"\underbrace" in s:
        i = s.index(r"\underbrace")
        j = s.index("{", i)
        inner, k = L.braced(s, j)
        rest = s[k:]
        mo = re.match(r"\s*_\s*", rest)
        if mo:
            rest = rest[mo.end():]
            if rest.startswith("{"):
                _, kk = L.braced(rest, 0)
                rest = rest[kk:]
            else:
                rest = rest[1:]
        s = s[:i] + "{" + inner + "}" + rest
    s = re.sub(r"\\textcolor\{[a-z]+\}\{([^{}]*)\}", r"\1", s)
    s = s.replace(r"s^{\text{mid}}", "u").replace(r"^{\text{mid}}", "_{mid}")   # the stage time u, state x_{mid}
    s = s.replace(r"\varphi", r"\phi")                          # same function; \phi_k(h) reads as a call
    s = re.sub(r"\^\s*\*\s*(?=\()", " ", s)                     # x^*(..), s^*(..), eps^*(..): oracle outputs
    s = re.sub(r"c_\{\\text\{(in|skip|out|noise)\}\}\s*(\^\s*\*)?\s*\(t\)", r"c_{\1}", s)
    s = re.sub(r"c_\{\\text\{(in|skip|out|noise)\}\}\^(2)\s*\(t\)", r"c_{\1}^{\2}", s)
    s = re.sub(r"\\(begin|end)\{aligned\}", " ", s)
    s = re.sub(r"(?<=[\w}])\s*\|\s*(?=\\mathbf)", r" \\mid ", s)     # p(x_t | x_0): the conditioning bar
    s = s.replace(r"\hat{\mathbf{x}}_{\phi^\times}(", r"\mathbf{x}_{\phi^\times}(")   # x^_phi(x_lambda, lambda) = x_phi
    s = s.replace(r"^{\text{sim}}", "")
    s = s.replace(r"\mathbf{x}_{t_{i-1} \rightarrow t_i}", r"\mathbf{x}_{t_i}")   # the step's result at t_i                           # D_i^sim: the name of the simplified D_i
    s = re.sub(r",\s*t_(0|\{i-1\})\s*\)", ", s)", s)              # bare start-time argument t_0, t_{i-1}
    s = re.sub(r"\+\s*\\mathcal\{O\}\((?:[^()]|\([^()]*\))*\)", " ", s)
    return s


def _relation(claim: Claim, form: str) -> tuple[L.Relation, bool]:
    text, parsed = V.claim_text(claim, form)
    return L.parse_relation(prenormalise(text)), parsed


def _norm(sub: str) -> str:
    return re.sub(r"[{}\s]", "", sub or "")


START, TARGET, PREVIOUS = {"s", "t_i-1", "i-1", "t_0", "0"}, {"t", "t_i", "i", "t_1", "1"}, {"i-2", "t_i-2"}


# --- exp-update --------------------------------------------------------------------------------------------

XN = sp.Symbol("x_new", real=True)          #: the unknown on the left (new state or D_i)
H_EXPR = sp.log(E.ALPHA_T * E.SIGMA_S / (E.SIGMA_T * E.ALPHA_S))
X0_FROM_EPS = (E.X - E.SIGMA_S * E.EPS_S) / E.ALPHA_S


ALPHA_M, SIGMA_M = sp.symbols("alpha_mid sigma_mid", positive=True)
XMID = sp.Symbol("x_mid", real=True)
LAM_MID = sp.log(ALPHA_M / SIGMA_M)


def _update_value(base: str, sub: str, args: tuple, start=START, target=TARGET, ratio_alpha=False, lhs=False):
    n = _norm(sub)
    if base in ("alphabar", "abar") and (n in start or n in target):      # alphabar = alpha^2 (001, 002)
        return (E.ALPHA_S if n in start else E.ALPHA_T)**2
    if base == "betabar" and (n in start or n in target):                 # betabar = sigma^2 (002)
        return (E.SIGMA_S if n in start else E.SIGMA_T)**2
    if base == "alpha" and ratio_alpha and n in start:                    # 002: alpha_t = alphabar_t/alphabar_{t-1}
        return E.ALPHA_S**2 / E.ALPHA_T**2
    if base in ("alpha", "sigma") and n == "u":
        return ALPHA_M if base == "alpha" else SIGMA_M
    if base == "gamma" and not n:                                          # stage ratio (lambda_mid - lambda_s)/h
        return (LAM_MID - sp.log(E.ALPHA_S / E.SIGMA_S)) / H_EXPR
    if base == "epsilontilde":                                             # eps~(s): the model output at the start
        return E.EPS_S
    if base == "beta" and args and lhs:                                    # the defined symbol of a beta claim
        return XN
    if base == "beta" and args:                                            # beta(h) := (h-1+e^{-h})/(1-e^{-h}), 003 ch. 9.5
        return sp.simplify(E.taylor_weight_data(1) / E.taylor_weight_data(0)).subs(E.H, args[0])
    if base in ("alpha", "sigma"):
        if n in start:
            return E.ALPHA_S if base == "alpha" else E.SIGMA_S
        if n in target:
            return E.ALPHA_T if base == "alpha" else E.SIGMA_T
    if base == "lambda":
        if n in start:
            return sp.log(E.ALPHA_S / E.SIGMA_S)
        if n in target:
            return sp.log(E.ALPHA_T / E.SIGMA_T)
    if base == "h":
        if n in ("", "i", "1"):
            return H_EXPR
        if n == "i-1":
            return E.H1
    if base == "r" and n == "i":
        return H_EXPR / E.H1
    if base in ("xtilde", "x") and not args:
        if n in start:
            return E.X
        if n in target:
            return XN
    if base == "x" and not args and n == "mid":
        return XMID
    if base == "epsilon" and args and args[0] == XMID:
        return E.EPS_1
    if base in ("epsilon", "x", "s", "xhat") and args:
        if args[0] != E.X:
            raise SolverClaimError(f"{base}({args[0]}, ...): model outputs are taken at the start state only")
        return {"epsilon": E.EPS_S, "x": X0_FROM_EPS, "xhat": X0_FROM_EPS, "s": -E.EPS_S / E.SIGMA_S}[base]
    if base == "xhat" and not args:
        if n in ("i-1",):
            return X0_FROM_EPS
        if n in PREVIOUS:
            return E.X0_1
    if base == "a" and n in ("0", "1"):
        return X0_FROM_EPS if n == "0" else (X0_FROM_EPS - E.X0_1) / E.H1
    if base == "D":
        return XN
    if base == "e":
        return sp.E
    if base in ("s", "t", "u") and not n and not args:     # a bare time argument, as in eps(x_s, s)
        return sp.Symbol(base)
    raise SolverClaimError(f"symbol {base!r} (subscript {sub!r}) has no meaning in the sampler notation")


def _interpret(expr: sp.Expr, atoms: dict, value) -> sp.Expr:
    table = {name.replace("\\", ""): val for name, val in atoms.items()}

    def walk(e):
        if isinstance(e, sp.Symbol):
            if e.name in table:
                return value(*table[e.name], ())
            return value(e.name, "", ())
        if isinstance(e, sp.core.function.AppliedUndef):
            name = e.func.__name__
            args = tuple(walk(a) for a in e.args)
            base, sub = table.get(name, (name, ""))
            return value(base, sub, args)
        if isinstance(e, (sp.Integral, sp.Sum)):
            var = e.args[1][0]
            inner = walk(e.args[0])
            lims = [walk(v) for v in e.args[1][1:]]
            return e.func(inner, (var, *lims))
        if not e.args:
            return e
        return e.func(*[walk(a) for a in e.args])
    return walk(expr)


def _derived(meaning: str) -> sp.Expr:
    """The derived quantity a claim's left side is compared with, by ``meaning``."""
    sub = {E.H: H_EXPR, E.X0_S: X0_FROM_EPS}
    if meaning in ("ddim", "ddim.ode", "dpm-solver.1", "dpm-solver-pp.1"):
        return {"ddim": E.ddim, "ddim.ode": E.ddim, "dpm-solver.1": E.dpm_solver_1,
                "dpm-solver-pp.1": E.dpm_solver_pp_1}[meaning]().subs(sub)
    if meaning == "dpm-solver.2":
        gamma = (LAM_MID - sp.log(E.ALPHA_S / E.SIGMA_S)) / H_EXPR
        return E.dpm_solver_2(gamma).subs(sub)
    if meaning == "dpm-solver.1.stage":      # DPM-Solver-1 from s to the stage s^mid
        return E.dpm_solver_1(alpha_t=ALPHA_M, hh=LAM_MID - sp.log(E.ALPHA_S / E.SIGMA_S))
    if meaning == "dpm-solver-pp.2.beta":    # weight ratio of a_1 to a_0 in the exact linear-in-lambda integral
        return sp.simplify(E.taylor_weight_data(1) / E.taylor_weight_data(0)).subs(sub)
    if meaning == "dpm-solver-pp.2.linear-exact.D":
        a0, a1 = X0_FROM_EPS, (X0_FROM_EPS - E.X0_1) / E.H1
        return (a0 + sp.simplify(E.taylor_weight_data(1) / E.taylor_weight_data(0)) * a1).subs(sub)
    if meaning == "dpm-solver-pp.2m.D.uniform":   # equal steps h_{i-1} = h_i (r_i = 1)
        return _derived("dpm-solver-pp.2m.D").subs(E.H1, H_EXPR)
    if meaning == "dpm-solver-pp.2m":
        return E.dpm_solver_pp_2m(final_step=False).subs(sub)
    if meaning == "dpm-solver-pp.2m.D":      # D of x_t = (sigma_t/sigma_s) x + alpha_t (1 - e^{-h}) D
        upd = E.dpm_solver_pp_2m(final_step=False)
        return sp.simplify(((upd - E.SIGMA_T / E.SIGMA_S * E.X) / (E.ALPHA_T * (1 - sp.exp(-E.H)))).rewrite(sp.exp)).subs(sub)
    if meaning == "dpm-solver-pp.2.linear-exact":   # x0 linear in lambda, integrated exactly (003 ch. 9.5 first form)
        a0, a1 = X0_FROM_EPS, (X0_FROM_EPS - E.X0_1) / E.H1
        return (E.SIGMA_T / E.SIGMA_S * E.X + E.taylor_weight_data(0) * a0 + E.taylor_weight_data(1) * a1).subs(sub)
    raise SolverClaimError(f"no derived update for meaning {meaning!r}")


def _points(rng: np.random.Generator, n: int = 6) -> list[dict]:
    pts = []
    for _ in range(n):
        a_s, a_t = sp.Float(rng.uniform(0.05, 0.5), DIGITS), sp.Float(rng.uniform(0.7, 1.0), DIGITS)
        a_m = sp.Float(rng.uniform(float(a_s), float(a_t)), DIGITS)
        s_s, s_t, s_m = (sp.sqrt(1 - a**2) for a in (a_s, a_t, a_m))   # VP: sigma^2 = 1 - alpha^2 to 50 digits
        pts.append({E.ALPHA_S: a_s, E.SIGMA_S: s_s, E.ALPHA_T: a_t, E.SIGMA_T: s_t, E.X: rng.normal(0, 1.5),
                    E.EPS_S: rng.normal(), E.X0_1: rng.normal(), E.H1: rng.uniform(0.1, 1.5), ALPHA_M: a_m,
                    SIGMA_M: s_m, E.EPS_1: rng.normal(), XMID: rng.normal()})
    return [{k: sp.Float(v, DIGITS) for k, v in p.items()} for p in pts]


def _value_fn(claim: Claim):
    """The symbol reader for ``claim``: field ``times = "t,t-1"`` names the start and target subscripts (001/002 step
    t -> t-1); ``alpha_ratio = true`` reads alpha_t as alphabar_t/alphabar_{t-1} (002)."""
    times = claim.extra.get("times")
    start, target = (START, TARGET) if not times else ({times.split(",")[0]}, {times.split(",")[1]})
    ratio = bool(claim.extra.get("alpha_ratio"))
    return (lambda base, sub, args: _update_value(base, sub, args, start, target, ratio),
            lambda base, sub, args: _update_value(base, sub, args, start, target, ratio, lhs=True))


def exp_update(claim: Claim, form: str, seed: int, samples=None) -> MethodResult:
    start = _time.perf_counter()
    rel, _ = _relation(claim, form)
    value, value_lhs = _value_fn(claim)
    sides = [_interpret(s, rel.atoms, value_lhs if i == 0 else value) for i, s in enumerate(rel.sides)]
    if XN not in sides[0].free_symbols:
        raise SolverClaimError("the left side of an update claim must contain the new state (or D_i)")
    target = _derived(claim.meaning)
    rng = np.random.default_rng(seed)
    worst, where = 0.0, ""
    for side in sides[1:]:
        sol = sp.solve(sp.Eq(sides[0], side), XN)       # the claimed new state (the left side is linear in it)
        if len(sol) != 1:
            raise SolverClaimError(f"cannot solve the claim for the new state: {sol}")
        resid = (sol[0] - target).rewrite(sp.exp)
        for pt in _points(rng):
            val = abs(complex(V.evaluate(resid, pt)))
            if val > worst:
                worst, where = val, ", ".join(f"{k}={float(v):.4g}" for k, v in pt.items())
    holds = True if worst < HOLD_TOL else (False if worst > REFUTE_TOL else None)
    return MethodResult("exp-update", form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"against derive.exp_integrator ({claim.meaning}); worst residual {worst:.3g} ({where})")


# --- phi ---------------------------------------------------------------------------------------------------

LS = sp.Symbol("lambda_start", real=True)
A_T = sp.Symbol("alpha_target", positive=True)
K_INT = {name: sp.Symbol(name, integer=True, nonnegative=True) for name in ("k", "m", "j", "n")}


def _phi_value(base: str, sub: str, args: tuple):
    n = _norm(sub)
    if base in ("varphi", "phi") and args:
        return sp.Function("PHI")(sp.sympify(L.parse_expression(n)[0] if n else 1, strict=True).subs(
            {sp.Symbol(k): v for k, v in K_INT.items()}), args[0])
    if base == "lambda":
        if n in START:
            return LS
        if n in TARGET:
            return LS + E.H
        if n == "":
            return sp.Symbol("lambda")
    if base == "h" and n in ("", "i", "1"):
        return E.H
    if base in ("alpha", "sigma") and n in TARGET:
        return A_T if base == "alpha" else A_T * sp.exp(-(LS + E.H))
    if base == "e":
        return sp.E
    if base in K_INT and not n:
        return K_INT[base]
    raise SolverClaimError(f"symbol {base!r} (subscript {sub!r}) has no meaning in a phi identity")


def _expand_phi(expr: sp.Expr) -> sp.Expr:
    """Replace PHI(k, x) (k a number by now) with derive.exp_integrator.phi(k, x)."""
    return expr.replace(lambda e: isinstance(e, sp.core.function.AppliedUndef) and e.func.__name__ == "PHI",
                        lambda e: E.phi(int(e.args[0]), e.args[1]))


def phi_identity(claim: Claim, form: str, seed: int, samples=None) -> MethodResult:
    start = _time.perf_counter()
    rel, _ = _relation(claim, form)
    sides = [_interpret(s, rel.atoms, _phi_value) for s in rel.sides]
    rng = np.random.default_rng(seed)
    free_ints = sorted({s for side in sides for s in side.free_symbols if s in K_INT.values()}, key=str)
    worst, where = 0.0, ""
    for i in range(1, len(sides)):
        if rel.ops[i - 1] not in ("=", ":="):
            raise SolverClaimError(f"relation {rel.ops[i - 1]!r} is not an identity")
        for kval in range(4):
            ints = {s: (kval if s.name != "m" else kval + 1) for s in free_ints}
            resid = _expand_phi((sides[i] - sides[i - 1]).subs(ints)).doit()
            for _ in range(3):
                pt = {E.H: sp.Float(rng.uniform(0.05, 3), DIGITS), LS: sp.Float(rng.uniform(-3, 3), DIGITS),
                      A_T: sp.Float(rng.uniform(0.2, 1), DIGITS)}
                val = abs(complex(V.evaluate(resid, pt)))
                if val > worst:
                    worst = val
                    where = ", ".join([f"{k}={v}" for k, v in ints.items()] + [f"h={float(pt[E.H]):.4g}"])
            if not free_ints:
                break
    holds = True if worst < HOLD_TOL else (False if worst > REFUTE_TOL else None)
    return MethodResult("phi", form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"phi_k from derive.exp_integrator.phi (integral definition); worst residual "
                               f"{worst:.3g} ({where})")


def prenormalised(claim: Claim, form: str, seed: int, samples=None) -> MethodResult:
    """The engine's own checks (checks.verify: symbolic + exact-gaussian, or Fokker-Planck for ODE/SDE claims) on
    the claim's LaTeX after ``prenormalise`` (underbraces, c_{\\text{in}}(t), oracle stars): the document's formula
    is still what is parsed."""
    import dataclasses
    text = {"document": claim.latex, "corrected": claim.corrected}[form]
    if form == "document" and claim.extra.get("continues"):
        text = f"{claim.extra['continues']} {text}"
    source = text if form == "corrected" else (claim.transcribed or text)
    shadow = dataclasses.replace(claim, transcribed=prenormalise(source),
                                 methods=("symbolic", "exact-gaussian"),   # no Monte Carlo: both are decisive here
                                 extra={k: v for k, v in claim.extra.items() if k != "continues"})
    results, _ = V._builtin_check(shadow, "document", seed, samples)
    decisive = [r.holds for r in results if r.holds is not None]
    holds = (all(decisive) if decisive else None) if not (any(decisive) and not all(decisive)) else None
    worst = max((r.max_abs_error or 0.0) for r in results) if results else None
    return MethodResult("prenormalised", form, holds, worst, seed=seed,
                        seconds=sum(r.seconds for r in results),
                        detail="; ".join(f"{r.method}: {r.holds} ({r.detail[:120]})" for r in results))


# --- semilinear: exact flow of dx/dlambda = L x + N(lambda) (003 ch. 9.7, eqs. (9.7.4)-(9.7.6)) -------------

ELL = sp.Rational(7, 10)                      #: the constant linear coefficient L of the test problem
Z = sp.Symbol("z_unknown", real=True)


def _nonlinear(lam):
    """The test nonlinearity N(x, lambda) = cos(lambda) (x-independent, so the exact flow is an integral)."""
    return sp.cos(lam)


def _semilinear_text(text: str, unknown: str) -> str:
    r"""E(a \rightarrow b) := exp(int_a^b L) = exp(L (b - a)) for constant L (003's definition of the exponential
    integrator); Psi~_{lambda_s -> lambda_t}(x_{lambda_s}) and x~_{lambda_t} become the unknown Z (``unknown``) or
    the exact flow value PSI."""
    t = prenormalise(text)
    t = re.sub(r"\\mathcal\{E\}\(([^()]*?)\\rightarrow([^()]*?)\)", r"\\exp(L \\cdot ((\2) - (\1)))", t)
    psi = r"\tilde{\Psi}_{\lambda_s \rightarrow \lambda_t}(\mathbf{x}_{\lambda_s})"
    xt = r"\tilde{\mathbf{x}}_{\lambda_t}"
    t = t.replace(psi, " Z " if unknown == "psi" else " P ").replace(xt, " Z " if unknown == "xtilde" else " P ")
    return t


def _semilinear_value(base: str, sub: str, args: tuple):
    n = _norm(sub)
    if base == "L" and not n:
        return ELL
    if base == "Z":
        return Z
    if base == "P":        # the exact flow e^{L h} x_s + int e^{L(lambda_t - l)} N(l) dl
        lam = sp.Symbol("lambda")
        return sp.exp(ELL * E.H) * E.X + sp.Integral(sp.exp(ELL * (LS + E.H - lam)) * _nonlinear(lam), (lam, LS, LS + E.H))
    if base == "lambda":
        return {"s": LS, "\\lambda_s": LS, "t": LS + E.H}.get(n, sp.Symbol("lambda")) if n else sp.Symbol("lambda")
    if base == "x":
        return E.X if n in ("\\lambda_s", "lambda_s") else sp.Symbol("x_lambda")
    if base == "N" and args:
        return _nonlinear(args[-1])
    if base == "e":
        return sp.E
    raise SolverClaimError(f"symbol {base!r} (subscript {sub!r}) has no meaning in the semi-linear test problem")


def semilinear(claim: Claim, form: str, seed: int, samples=None) -> MethodResult:
    """The claim (flow or first-order step of dx/dlambda = L x + N, 003 ch. 9.7) against the exact solution of the
    test problem L = 7/10, N = cos(lambda): meaning "semilinear.flow" (the left side is the flow map, compared with
    the exact flow) or "semilinear.exp-euler" (the left side holds x~_{lambda_t}, the step with N frozen at lambda_s)."""
    start = _time.perf_counter()
    text = {"document": claim.transcribed or claim.latex, "corrected": claim.corrected}[form]
    unknown = {"semilinear.flow": "psi", "semilinear.exp-euler": "xtilde"}.get(claim.meaning)
    if unknown is None:
        raise SolverClaimError(f"semilinear claims have meaning semilinear.flow or semilinear.exp-euler, got {claim.meaning!r}")
    rel = L.parse_relation(_semilinear_text(text, unknown))
    sides = [_interpret(s_, rel.atoms, _semilinear_value) for s_ in rel.sides]
    lam = sp.Symbol("lambda")
    frozen = sp.exp(ELL * E.H) * E.X + sp.Integral(sp.exp(ELL * (LS + E.H - lam)) * _nonlinear(LS), (lam, LS, LS + E.H))
    target = _semilinear_value("P", "", ()) if unknown == "psi" else frozen
    rng = np.random.default_rng(seed)
    worst, where = 0.0, ""
    sol = sp.solve(sp.Eq(sides[0], sides[1]), Z)
    if len(sol) != 1:
        raise SolverClaimError(f"cannot solve the claim for its left side: {sol}")
    resid = sol[0] - target          # integrals evaluated by mpmath quadrature at each (numeric) point
    for _ in range(4):
        pt = {E.H: sp.Float(rng.uniform(0.1, 1.5), DIGITS), LS: sp.Float(rng.uniform(-2, 2), DIGITS),
              E.X: sp.Float(rng.normal(), DIGITS)}
        val = abs(complex(sp.N(resid.subs(pt), DIGITS)))
        if val > worst:
            worst, where = val, ", ".join(f"{k}={float(v):.4g}" for k, v in pt.items())
    holds = True if worst < HOLD_TOL else (False if worst > REFUTE_TOL else None)
    return MethodResult("semilinear", form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"dx/dlambda = (7/10) x + cos(lambda), exact flow by SymPy; worst residual {worst:.3g} ({where})")


# --- order: local error of a claimed update against the exact PF-ODE flow of Gaussian data --------------------

def _vp_in_lambda():
    """VP in log-SNR time (the symbol t plays lambda): alpha^2 = sigmoid(2 lambda), sigma^2 = sigmoid(-2 lambda)."""
    import math
    from derive import schedules
    from derive.symbols import t
    return schedules.Schedule("vp-logsnr", 1 / sp.sqrt(1 + sp.exp(-2 * t)), 1 / sp.sqrt(1 + sp.exp(2 * t)),
                              -math.inf, math.inf)


def order(claim: Claim, form: str, seed: int, samples=None) -> MethodResult:
    """Measured order of a claimed one-step update (field ``order``: the claimed global order p): the update is
    parsed as for ``exp-update``, fed with the exact eps of Gaussian data N(1/2, 1/5) under VP, and its local error
    against the exact flow map (derive.pf_ode.gaussian_flow_map) is measured for h = 0.04, 0.02, 0.01 in lambda at
    50 digits; local error ~ h^{p+1} within 0.2 holds."""
    from derive.pf_ode import gaussian_flow_map
    from derive.symbols import s as s_sym, t as t_sym, x as x_sym
    start = _time.perf_counter()
    claimed = claim.extra.get("order")
    if claimed is None:
        raise SolverClaimError("an order claim needs the field 'order' (the claimed global order)")
    rel, _ = _relation(claim, form)
    value, value_lhs = _value_fn(claim)
    sides = [_interpret(s_, rel.atoms, value_lhs if i == 0 else value) for i, s_ in enumerate(rel.sides)]
    sol = sp.solve(sp.Eq(sides[0], sides[-1]), XN)
    if len(sol) != 1:
        raise SolverClaimError(f"cannot solve the claim for the new state: {sol}")
    sch = _vp_in_lambda()
    m, v = sp.Rational(1, 2), sp.Rational(1, 5)
    flow = gaussian_flow_map(sch, s_sym, t_sym, x_sym, m, v)
    rng = np.random.default_rng(seed)
    lam_s, x0 = sp.Float(rng.uniform(-1, 1), DIGITS), sp.Float(rng.normal(), DIGITS)
    errs = []
    for hv in (sp.Rational(1, 25), sp.Rational(1, 50), sp.Rational(1, 100)):
        lam_t = lam_s + hv
        a_s, s_s, a_t, s_t = sch.alpha(lam_s), sch.sigma(lam_s), sch.alpha(lam_t), sch.sigma(lam_t)
        eps = s_s * (x0 - a_s * m) / (a_s**2 * v + s_s**2)          # -sigma * score of N(alpha m, alpha^2 v + sigma^2)
        pt = {E.ALPHA_S: a_s, E.SIGMA_S: s_s, E.ALPHA_T: a_t, E.SIGMA_T: s_t, E.X: x0, E.EPS_S: eps}
        exact = flow.subs({x_sym: x0, s_sym: lam_s, t_sym: lam_t})
        errs.append(abs(sp.N(sol[0].subs(pt) - exact, DIGITS)))
    local = float(sp.log(errs[-2] / errs[-1], 2))
    measured = local - 1
    holds = abs(measured - float(claimed)) <= 0.2
    return MethodResult("order", form, holds, float(errs[-1]), seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"local error {', '.join(f'{float(e):.3g}' for e in errs)} at h = 0.04, 0.02, 0.01: "
                               f"order {measured:.3f} (claimed {claimed})")


METHODS = {"exp-update": exp_update, "phi": phi_identity, "prenormalised": prenormalised, "semilinear": semilinear,
           "order": order}
