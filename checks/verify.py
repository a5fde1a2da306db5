r"""The one verification path: ``verify(claim) -> Verdict``, used by pytest and by the report.

A formula (the document's, or for errata and notation claims also the corrected one) is parsed, its
symbols are interpreted in reference models (notation.py), and checked by the methods its kind allows:

* symbolic      — generic schedule alpha(t), sigma(t) and data N(m, v): ``simplify(residual) == 0``;
* exact-gaussian — concrete schedules and Gaussian-mixture data, residual evaluated at seeded random
                  points at 50 digits (mpmath); decisive both ways (a clear non-zero refutes);
* monte-carlo   — for SDE claims: Euler–Maruyama simulation of the claimed process (numerics/) against
                  the exact marginal, KS test at a stated false-alarm rate.
"""
from __future__ import annotations

import contextlib
import functools
import signal
import threading
import time as _time

import mpmath
import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef

from derive import fokker_planck, schedules
from derive.data import Mixture
from derive.symbols import dt as DT, eps as EPS, t as T_SYM, x as X_SYM, x0 as X0_SYM, y as Y_SYM

from . import latex as L
from .catalogue import Claim
from .notation import Model, get_notation, interpret, symbolic_model, with_point
from .verdict import MethodResult, Verdict

HOLD_TOL = 1e-10      # residual below which a 50-digit evaluation counts as zero (true identities give ~1e-45)
REFUTE_TOL = 1e-6     # residual above which the formula is refuted; in between: inconclusive
DIGITS = 50


class VerificationError(ValueError):
    """A claim that cannot be checked as written (bad kind, unparseable formula, unknown symbol)."""


# --- reference models ------------------------------------------------------------------------------

def random_schedule(rng: np.random.Generator, name: str) -> schedules.Schedule:
    """The schedule family ``name`` with seeded random parameters: VP-linear and sub-VP beta_min, beta_max; VE
    sigma_min, sigma_max; any other family its defaults. The one draw every numeric check uses."""
    if name in ("vp-linear", "sub-vp"):
        b0 = round(float(rng.uniform(0.05, 0.5)), 3)
        return schedules.get(name, beta_min=b0, beta_max=round(b0 + float(rng.uniform(1, 15)), 3))
    if name == "ve":
        return schedules.get(name, sigma_min=round(float(rng.uniform(0.01, 0.1)), 3),
                             sigma_max=round(float(rng.uniform(5, 50)), 2))
    return schedules.get(name)


def numeric_models(rng: np.random.Generator, count: int = 3, family: str = "") -> list[Model]:
    """Concrete schedules (random parameters) with Gaussian-mixture data, for point evaluation."""
    models = []
    names = [family] if family else ["vp-linear", "ve", "rectified-flow", "vp-cosine", "sub-vp", "edm"]
    for i in range(count):
        name = names[i % len(names)]
        if name == "ou":
            sc = schedules.get(name, theta=round(float(rng.uniform(0.3, 3)), 2), noise=round(float(rng.uniform(0.2, 2)), 2))
        else:
            sc = random_schedule(rng, name)
        w = sp.Rational(int(rng.integers(2, 8)), 10)
        mix = Mixture((w, 1 - w), (sp.Rational(int(rng.integers(-20, -5)), 10), sp.Rational(int(rng.integers(5, 20)), 10)),
                      (sp.Rational(int(rng.integers(1, 9)), 10), sp.Rational(int(rng.integers(1, 9)), 10)))
        c0 = sp.Rational(int(rng.integers(1, 9)), 10)
        models.append(Model(sc, mix, varsigma=lambda tau, c0=c0: c0 + tau / 3, t_end=sp.Rational(9, 10)))
    return models


def _points(rng: np.random.Generator, model: Model, symbols_: set, n: int) -> list[dict]:
    lo = max(model.schedule.t_min, 0.0) + 0.05
    hi = min(model.schedule.t_max, 1.0) - 0.15
    pts = []
    for _ in range(n):
        pt = {}
        for sym in sorted(symbols_, key=lambda sym_: sym_.name):   # fixed order: reproducible points
            name = sym.name
            if name == "t":
                pt[sym] = sp.Float(rng.uniform(lo, hi), DIGITS)
            elif name in ("s", "u", "tau"):
                pt[sym] = sp.Float(rng.uniform(lo, hi), DIGITS)
            elif name == "Delta_t":
                pt[sym] = sp.Float(rng.uniform(0.001, 0.02), DIGITS)
            elif name == "T":
                pt[sym] = sp.Float(hi + 0.05, DIGITS)
            elif name == "m":
                pt[sym] = sp.Float(rng.uniform(-2, 2), DIGITS)
            elif name == "v":
                pt[sym] = sp.Float(rng.uniform(0.1, 2), DIGITS)
            elif name == "h":
                pt[sym] = sp.Float(rng.uniform(0.01, 0.5), DIGITS)
            elif sym.is_positive:          # a positive unknown (e.g. sigma_data): never a negative value
                pt[sym] = sp.Float(rng.uniform(0.1, 2), DIGITS)
            else:
                pt[sym] = sp.Float(rng.normal(0, 1.5), DIGITS)
        pts.append(pt)
    return pts


def _evaluate(expr: sp.Expr, point: dict) -> sp.Expr:
    """``expr`` at ``point`` to 50 digits: compiled to mpmath once per expression (common subexpressions shared),
    else by SymPy's evalf of the substituted expression (functions mpmath lacks, or a point where the compiled form
    divides by zero: evalf then reports zoo/nan, which the callers treat as "cannot be evaluated here")."""
    syms = tuple(sorted(point, key=sp.default_sort_key))
    fn = _mpmath_function(expr, syms)
    if fn is not None:
        try:
            with mpmath.workdps(DIGITS + 10):
                value = fn(*(mpmath.mpmathify(str(point[s])) for s in syms))
            return sp.Float(value, DIGITS) if isinstance(value, mpmath.mpf) else sp.sympify(complex(value), strict=True)
        except (ZeroDivisionError, ValueError, TypeError, NameError, OverflowError):
            pass
    return sp.N(expr.subs(point).doit(), DIGITS)


@functools.lru_cache(maxsize=512)
def _mpmath_function(expr: sp.Expr, syms: tuple):
    if expr.has(sp.Derivative, sp.Integral, sp.Subs, sp.DiracDelta, sp.Piecewise, AppliedUndef) \
            or not expr.free_symbols <= set(syms):
        return None
    try:
        return sp.lambdify(syms, expr, modules="mpmath", cse=True)
    except Exception:   # printing failed (an object mpmath has no name for): evalf decides
        return None


# --- parsing ---------------------------------------------------------------------------------------

def claim_text(claim: Claim, form: str) -> tuple[str, bool]:
    """The LaTeX of ``form`` ('document' or 'corrected') and whether it is the document's own text: the corrected
    form; else the transcribed text where the verbatim one cannot be parsed; else the verbatim text, after the
    chain's left side for a continuation row "&= ..." (field ``continues``)."""
    if form == "corrected":
        return claim.corrected, False
    if claim.transcribed:
        return claim.transcribed, False
    left = claim.extra.get("continues", "")
    return (f"{left} {claim.latex}" if left else claim.latex), True


def parse_claim(claim: Claim, form: str) -> tuple[L.Relation, bool]:
    """The relation of ``form`` ('document' or 'corrected'); falls back to the transcribed text."""
    text, parsed = claim_text(claim, form)
    return L.parse_relation(text), parsed


# --- residual builders, one per kind ---------------------------------------------------------------

def _relation_residuals(rel: L.Relation, model: Model, notation: dict, claim: Claim) -> list[sp.Expr]:
    """One residual per relation sign: a - b for = and approx; d/dv log(a/b) for proportionality in v."""
    sides = [interpret(side, rel.atoms, model, notation) for side in rel.sides]
    out = []
    for i, op in enumerate(rel.ops):
        if op in ("=", ":=", r"\equiv", r"\approx"):
            out.append(sides[i + 1] - sides[i])
        elif op == r"\propto":
            variable = _variable(claim, model, notation)
            out.append(sp.diff(sp.log(sides[i]) - sp.log(sides[i + 1]), variable))
        else:
            raise VerificationError(f"relation {op!r} is not an equality or a proportionality")
    return out


def _variable(claim: Claim, model: Model, notation: dict) -> sp.Symbol:
    """The variable of a proportionality (claim field ``variable``, LaTeX such as '\\mathbf{x}_t')."""
    text = claim.extra.get("variable")
    if not text:
        raise VerificationError("a \\propto claim needs the field 'variable' (what the sides are functions of)")
    expr, atoms = L.parse_expression(text)
    var = interpret(expr, atoms, model, notation)
    if not isinstance(var, sp.Symbol):
        raise VerificationError(f"variable {text!r} is not a single state or symbol")
    return var


def _distribution_residuals(rel: L.Relation, model: Model, notation: dict, claim: Claim) -> list[sp.Expr]:
    """'A \\sim N(mean, var)' or 'p(a | b) = N(a; mean, var)': mean and variance against the model's law.

    With states in the mean the law is conditional on them (the transition kernel of the schedule);
    without, it is the marginal of the (Gaussian) data law.
    """
    if len(rel.sides) != 2 or rel.ops[0] not in (r"\sim", "="):
        raise VerificationError("a distribution claim reads 'A \\sim N(mean, var)' or 'p(..) = N(..)'")
    law = rel.sides[1]
    if not (isinstance(law, sp.core.function.AppliedUndef) and rel.atoms_base(law) in ("N", "mathcalN")):
        raise VerificationError("right side must be \\mathcal{N}(...)")
    args = [interpret(a, rel.atoms, model, notation) for a in law.args]
    mean, var = args[-2], args[-1]
    if rel.ops[0] == r"\sim":
        target = interpret(rel.sides[0], rel.atoms, model, notation)
    else:
        target = args[0]
    order = {T_SYM: sp.Rational(7, 10), sp.Symbol("s", positive=True): sp.Rational(3, 10),
             sp.Symbol("u", positive=True): sp.Rational(1, 2), sp.Symbol("T", positive=True): sp.Rational(9, 10),
             DT: sp.Rational(1, 1000)}
    states = sorted({s for s in (target.free_symbols | mean.free_symbols) if model.time_of(s) is not None},
                    key=lambda s: float(sp.sympify(model.time_of(s), strict=True).subs(order)))
    if not states or len(states) > 2:
        raise VerificationError(f"a law must involve one state and at most one condition, found {states}")
    x_sym, given = states[-1], states[:-1]
    slope = sp.diff(target, x_sym)
    if slope == 0 or x_sym in slope.free_symbols:
        raise VerificationError("the random quantity must be affine in its latest state")
    tau = model.time_of(x_sym)
    if given:
        true_mean, true_var = model.conditional(x_sym, tau, given[0], model.time_of(given[0]))
    else:
        weights, means, variances = model.data.weights, model.data.means, model.data.variances
        if len(weights) != 1:
            raise VerificationError("a marginal law is compared on Gaussian data only")
        true_mean = model.alpha(tau) * means[0]
        true_var = model.alpha(tau)**2 * variances[0] + model.sigma(tau)**2
    offset = target.subs(x_sym, 0)
    return [mean - (slope * true_mean + offset), var - slope**2 * true_var]


def _sde_parts(rel: L.Relation, model: Model, notation: dict, claim: Claim):
    """(drift, diffusion_sq, direction) of 'dx = A dt + B dw' or 'dx/dt = A'."""
    if len(rel.sides) != 2:
        raise VerificationError("an SDE claim must have the form dx = A dt + B dw")
    lhs = interpret(rel.sides[0], rel.atoms, model, notation, markers=frozenset({"d"}))
    rhs = interpret(rel.sides[1], rel.atoms, model, notation, markers=frozenset({"d"}))
    marks = [sp.Symbol(n) for n in ("d_t", "d_w", "d_wbar")]
    rhs = sp.expand(rhs, deep=False, mul=True, multinomial=False, power_exp=False, log=False)
    rhs = sp.collect(rhs, marks)
    d_t, d_w, d_wbar, d_x = (sp.Symbol(n) for n in ("d_t", "d_w", "d_wbar", "d_x"))
    direction = claim.direction or "forward"
    if d_x in lhs.free_symbols:
        drift = rhs.coeff(d_t)
        noise = rhs.coeff(d_w) + rhs.coeff(d_wbar)
        if d_wbar in rhs.free_symbols:
            direction = "reverse"
        rest = rhs.subs({d_t: 0, d_w: 0, d_wbar: 0})
        if rest != 0 or (lhs - d_x) != 0:
            raise VerificationError(f"SDE has terms that are neither dt nor dw: {rest}")
    elif isinstance(rel.sides[0], sp.Derivative) and rel.sides[0].variables == (sp.Symbol("t"),):
        drift, noise = rhs, sp.Integer(0)
    else:
        raise VerificationError("SDE left side must be dx or dx/dt")
    # continuous time: a coefficient evaluated at x_{t+dt} or t+dt means its value at (x, t) as dt -> 0
    shifted = {sym: X_SYM for sym in (drift.free_symbols | noise.free_symbols) if model.time_of(sym) is not None
               and sym not in (X_SYM, X0_SYM)}
    if shifted or DT in (drift.free_symbols | noise.free_symbols):
        drift = drift.subs(shifted).subs(DT, 0)
        noise = noise.subs(shifted).subs(DT, 0)
    return drift, sp.expand(noise**2), direction


def _sde_residual(rel, model, notation, claim) -> sp.Expr:
    drift, diff_sq, direction = _sde_parts(rel, model, notation, claim)
    return fokker_planck.log_residual(drift, diff_sq, model.log_density(X_SYM, T_SYM), direction)


def _step_residuals(rel, model, notation, claim) -> list[sp.Expr]:
    """Euler–Maruyama consistency of a one-step update between two states.

    The new state is the later one (direction forward) or the earlier one (direction reverse); with
    h = time(new) - time(old) (signed), the update must satisfy (E[new] - old)/h -> drift(old, t) and
    Var[new]/|h| -> diffusion^2 as the step goes to 0 (drift: forward SDE, reverse SDE, or PF-ODE).
    """
    lhs, rhs = (interpret(s, rel.atoms, model, notation) for s in rel.sides[:2])
    expr = lhs - rhs
    states = [s for s in expr.free_symbols if model.time_of(s) is not None and s != X0_SYM]
    if len(states) != 2:
        raise VerificationError(f"a step must relate exactly two states, found {sorted(map(str, states))}")
    direction = claim.direction or "forward"
    a, b = sorted(states, key=lambda s: sp.sympify(model.time_of(s), strict=True).subs(DT, sp.Rational(1, 1000)))
    old, new = (a, b) if direction == "forward" else (b, a)
    slope = sp.diff(expr, new)
    if slope == 0 or new in slope.free_symbols:
        raise VerificationError("a step must be linear in its new state")
    update = -expr.subs(new, 0) / slope
    noises = sorted((s for s in update.free_symbols if s.name.startswith("epsilon")), key=lambda s: s.name)
    mean = update.subs({n: 0 for n in noises})
    var = sp.Add(*[sp.diff(update, n)**2 for n in noises])
    step = model.time_of(new) - model.time_of(old)
    if claim.meaning == "pf-ode":
        drift_ref = model.f(T_SYM) * X_SYM - model.g2(T_SYM) * model.score(X_SYM, T_SYM) / 2
        diff_ref = sp.Integer(0)
    elif direction == "forward":
        drift_ref, diff_ref = model.f(T_SYM) * X_SYM, model.g2(T_SYM)
    else:
        drift_ref = model.f(T_SYM) * X_SYM - model.g2(T_SYM) * model.score(X_SYM, T_SYM)
        diff_ref = model.g2(T_SYM)
    drift_res = ((mean - old) / step).subs(old, X_SYM) - drift_ref
    diff_res = (var / sp.Abs(step)).subs(old, X_SYM) - diff_ref
    return [drift_res, diff_res]


TEST_FUNCTIONS = (lambda y: sp.exp(-(y - sp.Rational(3, 10))**2 / 2),
                  lambda y: (1 + y / 2) * sp.exp(-(y + sp.Rational(1, 5))**2))


def _pair_with(r: sp.Expr, phi) -> sp.Expr:
    """<r, phi> for r a sum of terms c(y) delta^(k)(s y + b): (-1)^k / (s^k |s|) d^k/dy^k [c phi] at y = -b/s."""
    total = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(r)):
        deltas = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.DiracDelta)]
        if len(deltas) != 1:
            raise VerificationError("a distributional identity must be linear in Dirac deltas of the point y")
        delta = deltas[0]
        coeff = term / delta
        arg, k = delta.args[0], (int(delta.args[1]) if len(delta.args) > 1 else 0)
        slope = sp.diff(arg, Y_SYM)
        if slope == 0 or Y_SYM in slope.free_symbols:
            raise VerificationError("a Dirac delta's argument must be affine in the point y")
        root = -arg.subs(Y_SYM, 0) / slope
        total += (-1)**k / (slope**k * sp.Abs(slope)) * sp.diff(coeff * phi(Y_SYM), Y_SYM, k).subs(Y_SYM, root)
    return total


def _tested(res: list[sp.Expr]) -> list[sp.Expr]:
    """Distributional residuals (Dirac deltas in the point y) paired with two smooth test functions."""
    out = []
    for r in res:
        r = r.doit()
        if r.has(sp.DiracDelta):
            out += [_pair_with(r, phi) for phi in TEST_FUNCTIONS]
        else:
            out.append(r)
    return out


def residuals(claim: Claim, rel: L.Relation, model: Model) -> tuple[list[sp.Expr], bool]:
    """Residual expressions that vanish iff the formula holds in ``model``; flag: limit dt -> 0 wanted."""
    res, limit = _residuals(claim, rel, model)
    if any(r.has(sp.DiracDelta) for r in res):
        res = _tested(res)
    return res, limit


def _residuals(claim: Claim, rel: L.Relation, model: Model) -> tuple[list[sp.Expr], bool]:
    notation = get_notation(claim.notation or claim.document[:3])
    if claim.extra.get("point"):   # bare x is an evaluation point y (distributional identities)
        notation = with_point(notation)
    if claim.kind == "sde":
        return [_sde_residual(rel, model, notation, claim)], False
    if claim.kind == "step":
        return _step_residuals(rel, model, notation, claim), True
    if claim.kind == "distribution":
        return _distribution_residuals(rel, model, notation, claim), False
    if claim.kind in ("equation", "definition", "approx"):
        res = _relation_residuals(rel, model, notation, claim)
        if claim.kind == "approx" or r"\approx" in rel.ops:
            order = int(claim.extra.get("order", 0))     # holds if residual = o(dt^order)
            res = [r / DT**order if DT in r.free_symbols else r for r in res]
            return res, True
        return res, False
    raise VerificationError(f"kind {claim.kind!r} has no verification method yet")


# --- methods ---------------------------------------------------------------------------------------

class _Timeout(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: int):
    """Bound a SymPy simplification (main thread only; elsewhere unbounded)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    def handler(signum, frame):
        # an exception raised while a GC callback or __del__ runs (e.g. JAX's) is printed and dropped by Python:
        # re-arm, so the simplification is interrupted at the next tick instead of running unbounded
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        raise _Timeout()
    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


SYMBOLIC_SECONDS = 2   # no proof in the catalogue takes over 1.2 s; the 11 that time out are decided numerically


def _symbolic(claim, rel, form) -> MethodResult:
    start = _time.perf_counter()
    res, limit = residuals(claim, rel, symbolic_model(claim.extra.get("schedule", "")))
    ok = True
    try:
        with _time_limit(SYMBOLIC_SECONDS):
            for r in res:
                r = r.doit()
                if limit and DT in r.free_symbols:
                    r = sp.limit(sp.cancel(r), DT, 0)
                if sp.simplify(r) != 0:
                    ok = None  # not proved; the numeric method decides
                    break
    except (_Timeout, NotImplementedError, ValueError, TypeError):   # SymPy could not decide: not proved
        ok = None
    family = claim.extra.get("schedule", "")
    return MethodResult("symbolic", form, ok, 0.0 if ok else None, seconds=_time.perf_counter() - start,
                        detail=(f"{family} schedule" if family else "generic schedule alpha(t), sigma(t)")
                        + "; data N(m, v)" + ("" if ok else "; residual not shown to be zero (not simplified to 0 or time limit)"))


def _numeric(claim, rel, form, seed: int, n_points: int = 4) -> MethodResult:
    start = _time.perf_counter()
    rng = np.random.default_rng(seed)
    worst, scale_worst, where = 0.0, 1.0, ""
    for model in numeric_models(rng, family=claim.extra.get("schedule", "")):
        res, limit = residuals(claim, rel, model)
        for r in res:
            r = r.doit()
            syms = r.free_symbols
            for pt in _points(rng, model, syms, n_points):
                if limit and DT in pt:
                    pt[DT] = sp.Float("1e-24", DIGITS)
                val = abs(complex(_evaluate(r, pt)))
                if val != val or val == float("inf"):   # NaN / zoo: the formula cannot be evaluated here
                    return MethodResult("exact-gaussian", form, None, None, seed=seed,
                                        seconds=_time.perf_counter() - start,
                                        detail=f"residual not finite on {model.schedule.name} at {pt}")
                if val > worst:
                    worst, where = val, f"{model.schedule.name} at " + ", ".join(f"{k}={float(v):.4g}" for k, v in pt.items())
    holds = True if worst < HOLD_TOL else (False if worst >= REFUTE_TOL else None)
    return MethodResult("exact-gaussian", form, holds, worst, seed=seed, samples=None,
                        seconds=_time.perf_counter() - start,
                        detail=f"worst residual {worst:.3g} ({where})")


def _algorithm(claim: Claim, form: str) -> MethodResult:
    """Loop arithmetic of a fixed-step sampler: t_start + iterations * step must equal t_end for every n >= 1.

    The fields t_start, step, iterations, t_end are LaTeX read off the algorithm (for the corrected form,
    the corrected_* fields); checked symbolically in the step count n and at n = 1..64.
    """
    start = _time.perf_counter()
    prefix = "corrected_" if form == "corrected" else ""
    fields = {}
    for key in ("t_start", "step", "iterations", "t_end"):
        text = claim.extra.get(prefix + key, claim.extra.get(key))
        if text is None:
            raise VerificationError(f"algorithm claim {claim.id!r} lacks the field {prefix + key!r}")
        fields[key], _ = L.parse_expression(str(text))
    n = sp.Symbol("n", positive=True, integer=True)
    fields = {k: v.subs(sp.Symbol("n"), n) for k, v in fields.items()}
    end = fields["t_start"] + fields["iterations"] * fields["step"]
    gap = sp.simplify(end - fields["t_end"])
    worst = max(abs(float(gap.subs(n, k))) for k in range(1, 65))
    return MethodResult("algorithm", form, gap == 0, worst, seconds=_time.perf_counter() - start,
                        detail=f"final time t_start + iterations*step - t_end = {gap} (worst over n=1..64: {worst:.3g})")


def _plugins() -> dict:
    """Family-specific methods: ``METHODS = {name: fn(claim, form, seed, samples) -> MethodResult}`` in
    checks/methods_<family>.py (e.g. exact propagation of a discrete chain, measured solver orders).

    A claim opts in by listing the name in its ``methods``; the method must parse the claim's LaTeX
    (``parse_claim``) and compare it with a derived object, like the built-in methods."""
    global _PLUGINS
    if _PLUGINS is None:
        import importlib
        import pkgutil
        import checks
        found, owner = {}, {}
        for info in pkgutil.iter_modules(checks.__path__):
            if info.name.startswith("methods_"):
                for name, fn in getattr(importlib.import_module(f"checks.{info.name}"), "METHODS", {}).items():
                    if name in found or name in BUILTIN_METHODS:   # one name, one method: never a silent override
                        raise VerificationError(f"method {name!r} is registered by both {owner.get(name, 'verify')} "
                                                f"and {info.name}")
                    found[name], owner[name] = fn, info.name
        _PLUGINS = found
    return _PLUGINS


_PLUGINS: dict | None = None
BUILTIN_METHODS = ("symbolic", "exact-gaussian", "monte-carlo", "algorithm")


def check_form(claim: Claim, form: str, seed: int, samples: int | None = None) -> tuple[list[MethodResult], bool]:
    plugins = [m for m in (claim.methods or ()) if m not in BUILTIN_METHODS]
    if plugins:
        unknown = [m for m in plugins if m not in _plugins()]
        if unknown:
            raise VerificationError(f"claim {claim.id!r}: unknown methods {unknown}; known: "
                                    f"{sorted(BUILTIN_METHODS) + sorted(_plugins())}")
        results = [_plugins()[m](claim, form, seed, samples) for m in plugins]
        if {"symbolic", "exact-gaussian"} & set(claim.methods) and claim.kind != "algorithm":
            builtin, _ = _builtin_check(claim, form, seed, samples)
            results += builtin
        return results, form == "document" and not claim.transcribed
    return _builtin_check(claim, form, seed, samples)


def _builtin_check(claim: Claim, form: str, seed: int, samples: int | None = None) -> tuple[list[MethodResult], bool]:
    if claim.kind == "algorithm":
        return [_algorithm(claim, form)], False
    rel, parsed = parse_claim(claim, form)
    numeric = _numeric(claim, rel, form, seed)
    # a 50-digit counterexample refutes; only a formula not refuted is worth a (slow) symbolic proof attempt
    results = [_symbolic(claim, rel, form)] if numeric.holds is not False else []
    results.append(numeric)
    if claim.kind == "sde" and "monte-carlo" in (claim.methods or ("monte-carlo",)) and not claim.extra.get("schedule"):
        results.append(_monte_carlo(claim, rel, form, seed, samples))
    return results, parsed


def _monte_carlo(claim, rel, form, seed, samples) -> MethodResult:
    from . import montecarlo
    model = montecarlo.opaque_model(numeric_models(np.random.default_rng(seed), 1)[0].data)
    drift, diff_sq, direction = _sde_parts(rel, model, get_notation(claim.notation or claim.document[:3]), claim)
    try:
        return montecarlo.run(drift.doit(), diff_sq.doit(), direction, model, form, seed, samples)
    except Exception as exc:  # e.g. a drift JAX cannot trace: the other methods still decide
        return MethodResult("monte-carlo", form, None, detail=f"not run: {type(exc).__name__}: {str(exc)[:120]}")


def _decide(results: list[MethodResult]) -> bool | None:
    decisive = [r.holds for r in results if r.holds is not None]
    if not decisive:
        return None
    if any(decisive) and not all(decisive):
        return None  # methods disagree: report as unverified
    return decisive[0]


def verify(claim: Claim, samples: int | None = None, seed: int = 0, cache: bool = True) -> Verdict:
    """Check ``claim`` by every applicable method and return its Verdict (status vs expect).

    With ``cache`` (and unless WORKBENCH_CACHE=0) a verdict computed before from the same code, claim, document,
    seed and sample count is read from disk (checks/cache.py); the verdict's ``cached`` flag says so."""
    from . import cache as _cache
    if cache:
        hit = _cache.load(claim, seed, samples)
        if hit is not None:
            return hit
        _cache.enable_jax_compilation_cache()
    verdict = _verify(claim, samples, seed)
    if cache:
        _cache.store(claim, seed, samples, verdict)
    return verdict


def _verify(claim: Claim, samples: int | None, seed: int) -> Verdict:
    start = _time.perf_counter()
    results: list[MethodResult] = []
    parsed = False
    message = ""
    try:
        doc_results, parsed = check_form(claim, "document", seed, samples)
        results += doc_results
        doc_holds = _decide(doc_results)
        if claim.expect == "holds":
            status = "holds" if doc_holds else ("refuted" if doc_holds is False else "unverified")
        else:
            corr_results, _ = check_form(claim, "corrected", seed, samples) if claim.corrected else ([], False)
            results += corr_results
            corr_holds = _decide(corr_results)
            if claim.expect == "erratum":
                status = "erratum" if (doc_holds is False and corr_holds) else \
                    ("holds" if doc_holds else "unverified")
            else:  # notation: the convention's form must hold
                status = "notation" if (corr_holds or (not claim.corrected and doc_holds)) else "unverified"
    except Exception as exc:  # any failure is reported on the claim, never crashes the run
        status, message = "failed", f"{type(exc).__name__}: {str(exc)[:300]}"
    return Verdict(claim.id, status, claim.expect, parsed, results, _time.perf_counter() - start, message)


# --- the public API for plugin methods (checks/methods_<family>.py) -------------------------------------------
#: reference points, evaluation, time limits and the built-in checks, for methods that extend the engine
points = _points
evaluate = _evaluate
time_limit = _time_limit
builtin_check = _builtin_check
numeric_check = _numeric
symbolic_check = _symbolic
sde_parts = _sde_parts
sde_residual = _sde_residual
