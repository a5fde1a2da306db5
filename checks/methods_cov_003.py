r"""Verification methods of the coverage claims of 003 (checks/claims/cov_003.toml, helper CV, issues 5 and 6).

Each method parses the claim's LaTeX (checks.latex, after the documented rewrites named below) and compares it
with an object derived in derive/; none re-types the claim's formula.

* ``reread``: another family's method (claim field ``delegate``, e.g. "flow-gaussian", "consistency") after two
  symbol rewrites that method's parser does not read in this spelling: ``\tilde{\Psi}`` -> ``\Psi`` (the learned
  flow map with the network at its optimum, v_phi = v*, is the exact PF-ODE flow map; 003 (9.8.1)) and
  ``\mathbf{f}^{-1}(`` -> ``\mathbf{f}_\phi^{-1}(`` (the invertible map of 003 (5.0.1) is the flow of "flow.nf").
* ``ddim-family``: the reverse-kernel family pi(x_t | x_s, x_0) = N(a x_0 + b x_s, c^2) of 003 sec. 9.2.3 (one step
  from s to the EARLIER time t < s) against derive.ddim (coefficients solved from marginal consistency, the Markov
  noise = DDPM posterior std, the eta family, the sampler step); field ``meaning`` says which c_{t,s} the claim is
  about: "free-c" (any c in (0, sigma_t)), "eta", "ddpm-posterior", "zero-c", "edm" (alpha = 1, sigma_t = t), or
  "law" (sample identities given x_0 compared in law: means and variances over independent noises eps, eps', eps'').
  The text's forward factors alpha_{t|s} := alpha_t/alpha_s, sigma_{t|s}^2 := sigma_t^2 - alpha_{t|s}^2 sigma_s^2 are
  read as defined there. Points: VP, VE and general decreasing-SNR pairs of times.
* ``exp-integral``: integrating-factor forms of one step (003 (9.2.1), (9.3.1)) with E(a -> b) := exp(int_a^b f)
  on vp-linear, rectified-flow and VE schedules (SymPy inner integrals, mpmath outer quadrature) against derive.ddim's
  deterministic step.
* ``voc-lambda``: the exact solution in log-SNR time (003 (9.4.4), (9.4.6)) against
  derive.exp_integrator.variation_of_constants on the test problem alpha^2 = sigmoid(2 lambda),
  eps(lambda) = cos(lambda) + lambda^2/5.
* ``frozen-step``: exponential-Euler / Euler steps of dx/dt = f x + N with f, N frozen (003 (9.1.7), (9.1.8)):
  the exact frozen solution from derive.exp_integrator.variation_of_constants, and one Euler step of the same
  right-hand side.
* ``taylor-eps``: the DPM-Solver-n expansion with explicit eps-derivatives (003 (9.4.10)) against
  derive.exp_integrator.taylor_weight_eps.
* ``lambda-ode``: the PF-ODE with the log-SNR as time (003 (9.4.5), (9.7.1)) on the exact trajectory of Gaussian
  data (derive.pf_ode.gaussian_flow_map, optimal eps*), d/dlambda by the chain rule.
* ``vsd-gradient``: Prop. 10.2.1 (003 (10.2.2)) for a Gaussian generator theta + r z and Gaussian data at one time:
  omega d/dtheta KL (derive.gaussian.kl_normal) against the parsed expectation (exact Gaussian moments).
* ``fm-cfm``: 003 (5.2.9) L_FM = L_CFM + C at one time for Gaussian data and a quadratic model: the parsed conditional
  loss minus L_FM (derive.flow_matching's conditional and marginal velocities, Gaussian moments) has zero
  derivative in every model parameter.
A symbol a method does not define raises CovClaimError (a ValueError) naming it.
"""
from __future__ import annotations

import dataclasses
import functools
import re
import time as _time

import numpy as np
import sympy as sp

from derive import ddim as _ddim
from derive import exp_integrator as _E
from derive import pf_ode as _pf
from derive import schedules as _schedules

from . import latex as L
from . import verify as V
from .catalogue import Claim
from .methods_flow import _quadrature
from .methods_solvers import prenormalise as _drop_underbraces
from .verdict import MethodResult

REWRITES = ((r"\tilde{\Psi}", r"\Psi"), (r"\mathbf{f}^{-1}(", r"\mathbf{f}_\phi^{-1}("))
OPTIMUM_NOTATIONS = ("cm_003", "cov.nf")


def reread(text: str) -> str:
    r"""``text`` with the rewrites of REWRITES applied (``\tilde{\Psi}`` -> ``\Psi``, ``f^{-1}(`` -> ``f_phi^{-1}(``)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    for old, new in REWRITES:
        text = text.replace(old, new)
    return text


def reread_method(claim: Claim, form: str, seed: int, samples=None) -> MethodResult:
    delegate = claim.extra.get("delegate")
    plugins = V._plugins()
    if delegate not in plugins or delegate == "reread":
        raise ValueError(f"claim {claim.id!r}: field delegate must name a plugin method other than 'reread', "
                         f"got {delegate!r}")
    if claim.notation not in OPTIMUM_NOTATIONS:
        raise ValueError(f"claim {claim.id!r}: notation must be one of {OPTIMUM_NOTATIONS} (networks at their "
                         f"optimum), got {claim.notation!r}")
    shadow = dataclasses.replace(claim, latex=reread(claim.latex), corrected=reread(claim.corrected),
                                 transcribed=reread(claim.transcribed), methods=(delegate,))
    result = plugins[delegate](shadow, form, seed, samples)
    return dataclasses.replace(result, method="reread", detail=f"{delegate} after reread: {result.detail}")


METHODS = {"reread": reread_method}


# --- ddim-family: the DDIM reverse-kernel family of 003 sec. 9.2.3 (step s -> t, t the earlier time) ---------------


# document times: t the earlier (less noisy) target, s the later start; derive.ddim names them the other way round
AT, ST, AS, SS = sp.symbols("alpha_t sigma_t alpha_s sigma_s", positive=True)
C, ETA_S = sp.symbols("c_ts eta", nonnegative=True)
X0, XS, EPS, ZN = sp.symbols("x_0 x_s eps_model eps_t", real=True)
DIGITS, HOLD_TOL, REFUTE_TOL = 50, 1e-30, 1e-8
C_MEANINGS = ("free-c", "eta", "ddpm-posterior", "zero-c", "edm", "law")   #: edm: deterministic, alpha = 1, sigma = time
NOISES = sp.symbols("eps_prime eps_plain eps_second eps_fresh", real=True)  #: eps', eps, eps'' and x_t's own noise


class CovClaimError(ValueError):
    """A symbol or relation of a coverage claim that its method does not define."""


@functools.cache
def _family():
    """(a, b) of pi(x_t | x_s, x_0) = N(a x_0 + b x_s, c^2) solved from marginal consistency, the Markov (DDPM
    posterior) noise std, the eta-family noise std and the sampler step, all from derive.ddim (its s = our t)."""
    a, b = _ddim.family_coefficients(AT, ST, AS, SS, C)
    c_ddpm = _ddim.markov_noise(AT, ST, AS, SS)
    c_eta = _ddim.sigma_eta(ETA_S, AT, ST, AS, SS)
    step = _ddim.ddim_step(XS, EPS, AT, ST, AS, SS, C, ZN)
    return a, b, c_ddpm, c_eta, step


def _c_value(meaning: str) -> sp.Expr:
    _, _, c_ddpm, c_eta, _ = _family()
    return {"ddpm-posterior": c_ddpm, "eta": c_eta, "zero-c": sp.Integer(0), "edm": sp.Integer(0)}.get(meaning, C)


def _family_value(base: str, sub: str, args: tuple, meaning: str, lhs: bool) -> sp.Expr:
    n = re.sub(r"[{}\s]", "", sub or "")
    a, b, _, _, step = _family()
    times = {"t": (AT, ST), "s": (AS, SS)}
    if base == "alpha" and n in times:
        return times[n][0]
    if base == "sigma" and n in times:
        return times[n][1]
    if base in ("alpha", "sigma") and re.fullmatch(r"[ts]\|[ts]", n) and n[0] != n[2]:
        (a1, s1), (a2, s2) = times[n[0]], times[n[2]]
        # the text's forward factors: alpha_{t|s} := alpha_t / alpha_s, sigma_{t|s}^2 := sigma_t^2 - alpha_{t|s}^2 sigma_s^2
        return a1 / a2 if base == "alpha" else sp.sqrt(s1**2 - (a1 / a2)**2 * s2**2)
    if n == "t,s" and base in ("a", "b", "c"):
        return {"a": a, "b": b, "c": _c_value(meaning)}[base]
    if base == "eta" and not n:
        return ETA_S
    if meaning == "law":                                   # (9.2.7): samples given x_0, compared in law
        if base == "x" and n == "s" and not args:
            return AS * X0 + SS * NOISES[0]                    # x_s | x_0 = alpha_s x_0 + sigma_s eps'
        if base == "x" and n == "t" and lhs and not args:
            return AT * X0 + ST * NOISES[3]                    # x_t | x_0 ~ N(alpha_t x_0, sigma_t^2), the target law
        if base == "epsilon" and not args and n in ("", "a", "b"):
            return NOISES[{"a": 0, "": 1, "b": 2}[n]]
    if base in ("x", "xtilde") and not args:
        if n == "0":
            return X0
        if n == "s":
            return XS
        if n == "t" and lhs and meaning == "edm":
            return step.subs({C: 0, AT: 1, AS: 1})
        if n == "t" and lhs:
            return step.subs(C, _c_value(meaning))        # the new state: derive.ddim's step s -> t
    if base == "epsilon" and args and args[0] == XS:
        return EPS                                         # the eps-model output at the start state
    if base == "x" and args and args[0] == XS:
        return (XS - SS * EPS) / AS                        # x*(x_s, s): the x-prediction of the same model output
    if meaning == "edm" and base in ("s", "t") and not n and not args:
        return times[base][1]                              # EDM (003 (9.2.4)): sigma_t = t, alpha_t = 1
    if base == "epsilon" and n == "t" and not args:
        return ZN                                          # the injected noise eps_t
    if base in ("I", "e") and not args:
        return sp.Integer(1) if base == "I" else sp.E
    if base in ("s", "t") and not n and not args:
        return sp.Symbol(base)                             # a bare time argument, as in eps(x_s, s)
    raise CovClaimError(f"symbol {base!r} (subscript {sub!r}) has no meaning in the DDIM-family notation")


def _points(rng: np.random.Generator, n: int = 6, only_ve: bool = False) -> list[dict]:
    """Schedules at two times t < s: VP (alpha^2 + sigma^2 = 1), VE (alpha = 1) and a general decreasing-SNR pair."""
    pts = []
    for i in range(n):
        kind = 1 if only_ve else i % 3
        if kind == 0:
            a_t = rng.uniform(0.6, 0.99)
            a_s = rng.uniform(0.05, a_t - 0.05)
            vals = (a_t, np.sqrt(1 - a_t**2), a_s, np.sqrt(1 - a_s**2))
        elif kind == 1:
            s_t = rng.uniform(0.05, 2)
            vals = (1.0, s_t, 1.0, s_t + rng.uniform(0.1, 5))
        else:
            a_t, s_t = rng.uniform(0.5, 1.5), rng.uniform(0.1, 1)
            a_s = rng.uniform(0.1, 1.5)
            s_s = a_s * s_t / a_t * rng.uniform(1.2, 4)          # sigma_s/alpha_s > sigma_t/alpha_t
            vals = (a_t, s_t, a_s, s_s)
        pt = {k: sp.Float(v, DIGITS) for k, v in zip((AT, ST, AS, SS), vals)}
        pt.update({C: sp.Float(rng.uniform(0.05, 0.95), DIGITS) * pt[ST], ETA_S: sp.Float(rng.uniform(0.1, 0.9), DIGITS),
                   X0: sp.Float(rng.normal(), DIGITS), XS: sp.Float(rng.normal(0, 1.5), DIGITS),
                   EPS: sp.Float(rng.normal(), DIGITS), ZN: sp.Float(rng.normal(), DIGITS)})
        pts.append(pt)
    return pts


def _residuals(rel: L.Relation, meaning: str) -> list[sp.Expr]:
    """Residuals of a relation: chained equalities, or pi(x_t | x_s, x_0) = N(x_t; mean, var) against the family."""
    sides = list(rel.sides)

    def value(base, sub, args, lhs):
        return _family_value(base, sub, args, meaning, lhs)

    if len(sides) == 2 and isinstance(sides[0], sp.core.function.AppliedUndef) and sides[0].func.__name__ == "pi" \
            and isinstance(sides[1], sp.core.function.AppliedUndef) and sides[1].func.__name__ == "N":
        a, b, _, _, _ = _family()
        mean, var = (_walk_keep_vars(x, rel.atoms, value, False) for x in sides[1].args[1:])
        return [mean - (a * X0 + b * XS), var - _c_value(meaning)**2]
    if any(op not in ("=", ":=") for op in rel.ops):
        raise CovClaimError(f"relations {rel.ops} are not equalities")
    vals = [_walk_keep_vars(side, rel.atoms, value, i == 0) for i, side in enumerate(sides)]
    if meaning == "law":            # Gaussian laws given x_0: mean and variance over the independent noises
        def law(v):
            v = sp.expand(v)
            return v.subs({n: 0 for n in NOISES}), sp.Add(*[sp.diff(v, n)**2 for n in NOISES])
        laws = [law(v) for v in vals]
        return [d for i in range(1, len(laws)) for d in (laws[i][0] - laws[0][0], laws[i][1] - laws[0][1])]
    return [vals[i] - vals[0] for i in range(1, len(vals))]


def ddim_family(claim: Claim, form: str, seed: int, samples=None) -> MethodResult:
    """Residuals of the parsed claim against derive.ddim's reverse-kernel family at seeded 50-digit points."""
    start = _time.perf_counter()
    if claim.meaning not in C_MEANINGS:
        raise CovClaimError(f"claim {claim.id!r}: meaning must be one of {C_MEANINGS}, got {claim.meaning!r}")
    text, _ = V.claim_text(claim, form)
    if claim.meaning == "law":      # documented rewrite: the primed noises eps'', eps' named eps_b, eps_a (kept distinct)
        text = text.replace("\\epsilon''", "\\epsilon_{b}").replace("\\epsilon'", "\\epsilon_{a}")
    rel = L.parse_relation(_drop_underbraces(text))
    res = _residuals(rel, claim.meaning)
    worst, where = 0.0, ""
    for pt in _points(np.random.default_rng(seed), only_ve=claim.meaning == "edm"):
        for r in res:
            val = complex(sp.N(r.subs(pt), DIGITS))
            if abs(val) > worst or val != val:
                worst = abs(val) if val == val else float("inf")
                where = ", ".join(f"{k}={float(v):.4g}" for k, v in pt.items() if k in r.free_symbols)
    holds = True if worst < HOLD_TOL else (False if worst > REFUTE_TOL else None)
    return MethodResult("ddim-family", form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"against derive.ddim ({claim.meaning}); worst residual {worst:.3g} ({where})")


METHODS["ddim-family"] = ddim_family


# --- exp-integral: variation-of-constants forms of one solver step s -> t (003 eqs. (9.2.1), (9.3.1)) ---------------


_ARROW = re.compile(r"\\mathcal\{E\}\s*\(\s*([^()]*?)\s*\\rightarrow\s*([^()]*?)\s*\)")


def prepare_exp_integral(text: str) -> str:
    r"""Documented rewrites: underbraces and O(.) remainders dropped (checks.methods_solvers.prenormalise);
    ``\mathcal{E}(a \rightarrow b)`` -> ``\mathcal{E}(a, b)`` (the integrating factor, a function of two times);
    the grid times ``t_{i-1}``, ``t_i`` of one step -> ``s``, ``t``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    s = _drop_underbraces(text)
    s = s.replace("t_{i-1}", "s").replace("t_i", "t")
    return _ARROW.sub(r"\\mathcal{E}(\1, \2)", s)


def _schedule_cases(rng: np.random.Generator) -> list:
    b0 = round(float(rng.uniform(0.05, 0.5)), 3)
    return [_schedules.get("vp-linear", beta_min=b0, beta_max=round(b0 + float(rng.uniform(1, 15)), 3)),
            _schedules.get("rectified-flow"),
            _schedules.get("ve", sigma_min=round(float(rng.uniform(0.01, 0.1)), 3),
                           sigma_max=round(float(rng.uniform(5, 50)), 2))]


def _exp_value(sc, s_val, t_val):
    """Symbol reader: E(a, b) := exp(int_a^b f(u) du) (003, definition before (9.1.6)), f, g^2, alpha, sigma of the
    schedule ``sc``; the start state x~_s and the model output eps(x~_s, s) free; x~_t (left side) derive.ddim's step."""
    times = {"s": s_val, "t": t_val}

    def value(base, sub, args, lhs):
        n = re.sub(r"[{}\s\\]", "", sub or "")
        if base == "E" and len(args) == 2:
            u = sp.Dummy("u")
            return sp.exp(sp.Integral(sc.drift_coeff(u), (u, args[0], args[1])))
        if base == "f" and len(args) == 1:
            return sc.drift_coeff(args[0])
        if base == "g" and len(args) == 1:
            return sp.sqrt(sc.diffusion_sq(args[0]))
        if base in ("alpha", "sigma") and not args:
            when = times.get(n, sp.Symbol(n) if n in ("tau", "u") else None)
            if when is None:
                raise CovClaimError(f"{base}_{sub}: unknown time")
            return sc.alpha(when) if base == "alpha" else sc.sigma(when)
        if base in ("xtilde", "x") and not args and n in times:
            if n == "s":
                return XS
            if lhs:
                return _family()[4].subs({C: 0, AT: sc.alpha(t_val), ST: sc.sigma(t_val), AS: sc.alpha(s_val),
                                          SS: sc.sigma(s_val)})
        if base == "epsilon" and args and args[0] == XS:
            return EPS
        if base == "e" and not n and not args:
            return sp.E
        if base in times and not n and not args:
            return times[base]
        raise CovClaimError(f"symbol {base!r} (subscript {sub!r}) has no meaning in the exp-integral notation")
    return value


def _walk_keep_vars(expr, atoms: dict, value, lhs: bool):
    """``expr`` with every placeholder and letter replaced by ``value(base, sub, args, lhs)``; integration variables
    are kept (they stay the integrals' own symbols)."""
    table = {name.replace("\\", ""): v for name, v in atoms.items()}
    bound: set = set()

    def walk(e):
        if isinstance(e, sp.Integral):
            var = e.limits[0][0]
            bound.add(var)
            lims = [(lim[0], *[walk(x) for x in lim[1:]]) for lim in e.limits]
            return sp.Integral(walk(e.function), *lims)
        if isinstance(e, sp.Symbol):
            if e in bound:
                return e
            return value(*table[e.name], (), lhs) if e.name in table else value(e.name, "", (), lhs)
        if isinstance(e, sp.core.function.AppliedUndef):
            base, sub = table.get(e.func.__name__, (e.func.__name__, ""))
            return value(base, sub, tuple(walk(x) for x in e.args), lhs)
        if not e.args:
            return e
        return e.func(*[walk(x) for x in e.args])
    return walk(expr)


def _integrals(e):
    """Integrals evaluated: inner ones (depending on an outer variable) symbolically, closed ones by quadrature."""
    if isinstance(e, sp.Integral):
        body = _integrals(e.function)
        (var, lo, hi), = e.limits
        lo, hi = _integrals(lo), _integrals(hi)
        if body.free_symbols - {var} or (lo.free_symbols | hi.free_symbols):
            return sp.integrate(body, (var, lo, hi))
        return _quadrature(sp.Integral(body, (var, lo, hi)))
    if not e.args:
        return e
    return e.func(*[_integrals(x) for x in e.args])


def exp_integral(claim: Claim, form: str, seed: int, samples=None) -> MethodResult:
    """Residuals of the parsed claim (new state x~_t) against derive.ddim's deterministic step on concrete schedules."""
    start = _time.perf_counter()
    text, _ = V.claim_text(claim, form)
    rel = L.parse_relation(prepare_exp_integral(text))
    if any(op not in ("=", ":=") for op in rel.ops):
        raise CovClaimError(f"relations {rel.ops} are not equalities")
    rng = np.random.default_rng(seed)
    worst, where = 0.0, ""
    for sc in _schedule_cases(rng):
        s_val = sp.Rational(int(rng.integers(40, 90)), 100)
        t_val = sp.Rational(int(rng.integers(5, int(s_val * 100) - 10)), 100)
        value = _exp_value(sc, s_val, t_val)
        sides = [_walk_keep_vars(sd, rel.atoms, value, i == 0) for i, sd in enumerate(rel.sides)]
        pt = {XS: sp.Float(rng.normal(0, 1.5), DIGITS), EPS: sp.Float(rng.normal(), DIGITS)}
        for side in sides[1:]:
            val = complex(sp.N(_integrals((side - sides[0]).subs(pt)), DIGITS))
            if abs(val) > worst or val != val:
                worst = abs(val) if val == val else float("inf")
                where = f"{sc.name}, s={s_val}, t={t_val}"
    holds = True if worst < V.HOLD_TOL else (False if worst > V.REFUTE_TOL else None)   # schedules carry floats
    return MethodResult("exp-integral", form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"against derive.ddim.ddim_step (eta = 0); worst residual {worst:.3g} ({where})")


METHODS["exp-integral"] = exp_integral


# --- voc-lambda: the exact solution of the PF-ODE in log-SNR time (003 eqs. (9.4.4), (9.4.6)) ------------------------


def prepare_voc(text: str) -> str:
    r"""Documented rewrites: underbraces dropped; ``\hat{\epsilon}_{\phi^\times}(`` -> ``\epsilon_{\phi^\times}(`` (the
    same model re-indexed by lambda, 003 (9.4.3)); ``\tilde{\Psi}_{s \rightarrow t}(\mathbf{x}_s)`` -> ``\tilde{\mathbf{x}}_t``
    (the solution map applied to the start state is the state at t)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    s = _drop_underbraces(text).replace(r"\hat{\epsilon}_{\phi^\times}(", r"\epsilon_{\phi^\times}(")
    return re.sub(r"\\tilde\{\\Psi\}_\{s \\rightarrow t\}\(\\mathbf\{x\}_s\)", r"\\tilde{\\mathbf{x}}_t", s)


def _test_alpha(lam):
    """Test problem: alpha(lambda) of a VP schedule, alpha^2 = 1/(1 + e^{-2 lambda}) (sigma = alpha e^{-lambda})."""
    return 1 / sp.sqrt(1 + sp.exp(-2 * lam))


def _test_eps(lam):
    """Test problem: a model output varying along the path, eps(lambda) = cos(lambda) + lambda^2/5."""
    return sp.cos(lam) + lam**2 / 5


def _derived_voc(ls, lt, xs_val):
    sol, _ = _E.variation_of_constants()
    funcs = {f.func.__name__: f.func for f in sol.atoms(sp.core.function.AppliedUndef)}
    sol = sol.replace(funcs["alpha"], _test_alpha)
    sol = sol.replace(funcs["epsilon"], _test_eps)
    x_s = next(sym for sym in sol.free_symbols if sym.name == "x_s")
    return sol.subs({_E.LAM_S: ls, _E.LAM: lt, x_s: xs_val})


def voc_lambda(claim: Claim, form: str, seed: int, samples=None) -> MethodResult:
    """The parsed claim against derive.exp_integrator.variation_of_constants on a test problem (see the helpers)."""
    start = _time.perf_counter()
    text, _ = V.claim_text(claim, form)
    rel = L.parse_relation(prepare_voc(text))
    if rel.ops != ["="]:
        raise CovClaimError(f"relations {rel.ops}: one equality expected")
    rng = np.random.default_rng(seed)
    worst, where = 0.0, ""
    for _ in range(3):
        ls = sp.Float(rng.uniform(-3, 1), DIGITS)
        lt = ls + sp.Float(rng.uniform(0.1, 2), DIGITS)
        xs_val = sp.Float(rng.normal(0, 1.5), DIGITS)
        lams = {"s": ls, "t": lt}

        def value(base, sub, args, lhs):
            n = re.sub(r"[{}\s\\]", "", sub or "")
            if base == "alpha" and n in lams and not args:
                return _test_alpha(lams[n])
            if base == "lambda" and n in lams and not args:
                return lams[n]
            if base in ("x", "xtilde") and n == "s" and not args:
                return xs_val
            if base in ("x", "xtilde") and n == "t" and not args and lhs:
                return _derived_voc(ls, lt, xs_val)
            if base == "xhat" and n == "lambda":
                return sp.Symbol("xhat_lambda")          # the state on the path; eps of the test problem ignores it
            if base == "epsilon" and len(args) == 2:
                return _test_eps(args[1])
            if base == "e" and not n and not args:
                return sp.E
            raise CovClaimError(f"symbol {base!r} (subscript {sub!r}) has no meaning in the voc-lambda notation")

        lhs, rhs = (_walk_keep_vars(sd, rel.atoms, value, i == 0) for i, sd in enumerate(rel.sides))
        val = complex(sp.N(_integrals(rhs) - _integrals(lhs), DIGITS))
        if abs(val) > worst or val != val:
            worst = abs(val) if val == val else float("inf")
            where = f"lambda_s={float(ls):.4g}, lambda_t={float(lt):.4g}"
    holds = True if worst < V.HOLD_TOL else (False if worst > V.REFUTE_TOL else None)
    return MethodResult("voc-lambda", form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"against derive.exp_integrator.variation_of_constants (alpha^2 = sigmoid(2 lambda), "
                               f"eps = cos(lambda) + lambda^2/5); worst residual {worst:.3g} ({where})")


METHODS["voc-lambda"] = voc_lambda


# --- frozen-step: one step s -> s - Delta s of dx/dt = f x + N with f and N frozen at s (003 eqs. (9.1.7), (9.1.8)) --
F_C = sp.Symbol("f_frozen", real=True, nonzero=True)     #: the frozen linear coefficient (nonzero: (9.1.7) divides)
N_C, H_C, X_C, S_C = sp.symbols("N_frozen Delta_s x_start s_start", real=True)
STEP_MEANINGS = ("exp-euler", "euler")


def prepare_frozen(text: str) -> str:
    r"""Documented rewrites: underbraces dropped; the scheme tags ``^{\text{Exp-Euler}}``, ``^{\text{Euler}}`` dropped;
    the new state ``x_{s-\Delta s}`` named ``x_{new}``; the step ``\Delta s`` read as one symbol ``(\Delta_s)``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    s = _drop_underbraces(text).replace(r"^{\text{Exp-Euler}}", "").replace(r"^{\text{Euler}}", "")
    return s.replace(r"_{s-\Delta s}", "_{new}").replace(r"\Delta s", r"(\Delta_s)")


@functools.cache
def _frozen_reference(meaning: str) -> sp.Expr:
    """The new state after one step of length -Delta_s from x_start at s_start, for dx/dt = f x + N (f, N constants).

    exp-euler: the exact solution, from derive.exp_integrator.variation_of_constants with alpha(l) = e^{f l} (so
    alpha'/alpha = f) and eps(l) = -N e^{(1 - f) l} (so -sigma eps = -alpha e^{-l} eps = N), evaluated symbolically;
    euler: one explicit Euler step x + (t_new - t_old) * (f x + N) of the same right-hand side."""
    if meaning == "euler":
        rhs = F_C * X_C + N_C
        return X_C + ((S_C - H_C) - S_C) * rhs
    sol, resid = _E.variation_of_constants()
    if resid != 0:   # pragma: no cover - the derivation certifies itself
        raise AssertionError("variation_of_constants is not certified")
    funcs = {f.func.__name__: f.func for f in sol.atoms(sp.core.function.AppliedUndef)}
    sol = sol.replace(funcs["alpha"], lambda l: sp.exp(F_C * l)).replace(funcs["epsilon"],
                                                                         lambda l: -N_C * sp.exp((1 - F_C) * l))
    x_s = next(sym for sym in sol.free_symbols if sym.name == "x_s")
    return sol.subs({_E.LAM_S: S_C, _E.LAM: S_C - H_C, x_s: X_C}).doit()


def frozen_step(claim: Claim, form: str, seed: int, samples=None) -> MethodResult:
    """Every side of the parsed chain against the step named by ``meaning`` (see _frozen_reference), 50-digit points."""
    start = _time.perf_counter()
    if claim.meaning not in STEP_MEANINGS:
        raise CovClaimError(f"claim {claim.id!r}: meaning must be one of {STEP_MEANINGS}, got {claim.meaning!r}")
    text, _ = V.claim_text(claim, form)
    rel = L.parse_relation(prepare_frozen(text))
    if any(op != "=" for op in rel.ops):
        raise CovClaimError(f"relations {rel.ops} are not equalities")
    reference = _frozen_reference(claim.meaning)

    def value(base, sub, args, lhs):
        n = re.sub(r"[{}\s\\]", "", sub or "")
        if base == "x" and n == "new" and lhs and not args:
            return reference
        if base == "x" and n == "s" and not args:
            return X_C
        if base == "f" and args == (S_C,):
            return F_C
        if base == "N" and args == (X_C, S_C):
            return N_C
        if base == "Delta" and n == "s":
            return H_C
        if base == "e" and not n and not args:
            return sp.E
        if base == "s" and not n and not args:
            return S_C
        raise CovClaimError(f"symbol {base!r} (subscript {sub!r}) has no meaning in the frozen-step notation")

    sides = [_walk_keep_vars(sd, rel.atoms, value, i == 0) for i, sd in enumerate(rel.sides)]
    rng = np.random.default_rng(seed)
    worst, where = 0.0, ""
    for _ in range(6):
        pt = {F_C: rng.uniform(-3, 3), N_C: rng.normal(), H_C: rng.uniform(0.01, 0.5), X_C: rng.normal(0, 1.5),
              S_C: rng.uniform(0.2, 1)}
        pt = {k: sp.Float(v, DIGITS) for k, v in pt.items()}
        for side in sides[1:]:
            val = abs(complex(sp.N((side - sides[0]).subs(pt), DIGITS)))
            if val > worst:
                worst, where = val, ", ".join(f"{k}={float(v):.4g}" for k, v in pt.items())
    holds = True if worst < HOLD_TOL else (False if worst > REFUTE_TOL else None)
    return MethodResult("frozen-step", form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"against the {claim.meaning} step of dx/dt = f x + N (f, N frozen); worst residual "
                               f"{worst:.3g} ({where})")


METHODS["frozen-step"] = frozen_step


# --- taylor-eps: DPM-Solver-n expansions with explicit eps-derivatives (003 eq. (9.4.10)) ------------------------------
def prepare_taylor(text: str) -> str:
    r"""Documented rewrites: underbraces and the O(h^k) remainder dropped (checks.methods_solvers.prenormalise); the
    k-th lambda-derivative ``\hat{\epsilon}_{\phi^\times}^{(k)}(..)`` of the model named ``\epsilon_{dk}(..)``
    (``\epsilon_{d0}`` the model itself)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    s = re.sub(r"\\hat\{\\epsilon\}_\{\\phi\^\\times\}\^\{\((\d)\)\}\(", r"\\epsilon_{d\1}(", _drop_underbraces(text))
    return s.replace(r"\hat{\epsilon}_{\phi^\times}(", r"\epsilon_{d0}(")


def taylor_eps(claim: Claim, form: str, seed: int, samples=None) -> MethodResult:
    """x_t of the claim against (alpha_t/alpha_s) x_s - sum_k taylor_weight_eps(k) eps^(k) (derive.exp_integrator: the
    weights integrated by SymPy from the Taylor terms of (9.4.6)), with as many terms as the claim's highest derivative."""
    start = _time.perf_counter()
    text, _ = V.claim_text(claim, form)
    rel = L.parse_relation(prepare_taylor(text))
    if rel.ops != ["="]:
        raise CovClaimError(f"relations {rel.ops}: one equality expected")
    orders = sorted({int(sub[1:]) for base, sub in rel.atoms.values() if base == "epsilon" and re.fullmatch(r"d\d", sub)})
    if not orders:
        raise CovClaimError("no model output eps^(k) in the claim")
    derivs = [sp.Symbol(f"eps_d{k}", real=True) for k in range(orders[-1] + 1)]
    weights = [_E.taylor_weight_eps(k) for k in range(orders[-1] + 1)]
    sig_sym = next(sym for w in weights for sym in w.free_symbols if sym.name == "sigma_t")
    rng = np.random.default_rng(seed)
    worst, where = 0.0, ""
    for _ in range(6):
        ls, h = sp.Float(rng.uniform(-3, 2), DIGITS), sp.Float(rng.uniform(0.05, 2.5), DIGITS)
        alpha = {n: 1 / sp.sqrt(1 + sp.exp(-2 * lam)) for n, lam in (("s", ls), ("t", ls + h))}   # VP: alpha^2 = sigmoid(2 lambda)
        sigma = {n: alpha[n] * sp.exp(-lam) for n, lam in (("s", ls), ("t", ls + h))}
        xs_val = sp.Float(rng.normal(0, 1.5), DIGITS)
        d_vals = {d: sp.Float(rng.normal(), DIGITS) for d in derivs}
        new = alpha["t"] / alpha["s"] * xs_val - sum(
            w.subs({sig_sym: sigma["t"], _E.LAM_S: ls, _E.H: h}) * d_vals[d] for w, d in zip(weights, derivs))

        def value(base, sub, args, lhs):
            n = re.sub(r"[{}\s\\]", "", sub or "")
            if base in ("x", "xtilde") and n == "t" and lhs and not args:
                return new
            if base in ("x", "xtilde") and n == "s" and not args:
                return xs_val
            if base in ("alpha", "sigma") and n in ("s", "t") and not args:
                return (alpha if base == "alpha" else sigma)[n]
            if base == "h" and not n and not args:
                return h
            if base == "epsilon" and re.fullmatch(r"d\d", n) and args:
                return d_vals[derivs[int(n[1:])]]
            if base in ("xhat", "lambda") and n in ("lambda_s", "s"):
                return ls if base == "lambda" else xs_val
            if base == "e" and not n and not args:
                return sp.E
            raise CovClaimError(f"symbol {base!r} (subscript {sub!r}) has no meaning in the taylor-eps notation")

        lhs, rhs = (_walk_keep_vars(sd, rel.atoms, value, i == 0) for i, sd in enumerate(rel.sides))
        val = abs(complex(sp.N(rhs - lhs, DIGITS)))
        if val > worst:
            worst, where = val, f"lambda_s={float(ls):.4g}, h={float(h):.4g}"
    holds = True if worst < HOLD_TOL else (False if worst > REFUTE_TOL else None)
    return MethodResult("taylor-eps", form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"against derive.exp_integrator.taylor_weight_eps(0..{orders[-1]}) (VP alpha, sigma); "
                               f"worst residual {worst:.3g} ({where})")


METHODS["taylor-eps"] = taylor_eps


# --- lambda-ode: the PF-ODE with the log-SNR lambda as time (003 eqs. (9.4.5), (9.7.1)) ------------------------------
T_TIME = sp.Symbol("t_time", positive=True)
ELL = sp.Symbol("ell_lambda", real=True)


def prepare_lambda_ode(text: str) -> str:
    r"""Documented rewrites: underbraces dropped; the derivative ``\frac{d\hat{\mathbf{x}}_\lambda}{d\lambda}`` (also
    without the hat) named ``D_{x}``; the prime ``\alpha'_\lambda`` (d alpha / d lambda) named ``\alpha_{prime}``;
    ``\hat{\epsilon}_{\phi^\times}(`` -> ``\epsilon_{\phi^\times}(`` (the model re-indexed by lambda, 003 (9.4.3));
    the free coefficient ``\ell_\lambda`` of (9.7.1) named ``q_{ell}`` (the parser has no ``\ell``)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    s = _drop_underbraces(text)
    s = re.sub(r"\\frac\{d(?:\\hat\{\\mathbf\{x\}\}|\\mathbf\{x\})_\\lambda\}\{d\\lambda\}", "D_{x}", s)
    s = s.replace(r"\alpha'_\lambda", r"\alpha_{prime}").replace(r"\ell_\lambda", r"q_{ell}")
    return s.replace(r"\hat{\epsilon}_{\phi^\times}(", r"\epsilon_{\phi^\times}(")


def lambda_ode(claim: Claim, form: str, seed: int, samples=None) -> MethodResult:
    """The claim's right side on the exact PF-ODE trajectory of Gaussian data (derive.pf_ode.gaussian_flow_map), with
    the optimal model eps* = -sigma_t score, against the trajectory's own derivative dx/dlambda = (dx/dt)/(dlambda/dt);
    d alpha/d lambda likewise by the chain rule; ell_lambda (9.7.1) a free number. Schedules vp-linear, rectified-flow, ve."""
    from derive.data import gaussian
    from .notation import Model
    start = _time.perf_counter()
    text, _ = V.claim_text(claim, form)
    rel = L.parse_relation(prepare_lambda_ode(text))
    if rel.ops != ["="]:
        raise CovClaimError(f"relations {rel.ops}: one equality expected")
    rng = np.random.default_rng(seed)
    worst, where = 0.0, ""
    for sc in _schedule_cases(rng):
        mean, var = sp.Rational(int(rng.integers(-15, 16)), 10), sp.Rational(int(rng.integers(2, 20)), 10)
        model = Model(sc, gaussian(mean, var))
        anchor, anchor_time = sp.Rational(int(rng.integers(-20, 21)), 10), sp.Rational(1, 2)
        x_t = _pf.gaussian_flow_map(sc, anchor_time, T_TIME, anchor, mean, var)
        lam_rate = sp.diff(sc.log_snr(T_TIME), T_TIME)
        eps_star = -sc.sigma(T_TIME) * model.score(x_t, T_TIME)

        def value(base, sub, args, lhs):
            n = re.sub(r"[{}\s\\]", "", sub or "")
            if base == "D" and n == "x" and lhs:
                return sp.diff(x_t, T_TIME) / lam_rate
            if base in ("x", "xhat") and n == "lambda" and not args:
                return x_t
            if base == "alpha" and n == "prime":
                return sp.diff(sc.alpha(T_TIME), T_TIME) / lam_rate
            if base in ("alpha", "sigma") and n == "lambda" and not args:
                return sc.alpha(T_TIME) if base == "alpha" else sc.sigma(T_TIME)
            if base == "epsilon" and len(args) == 2:
                return eps_star
            if base == "q" and n == "ell":
                return ELL
            if base == "lambda" and not n and not args:
                return sc.log_snr(T_TIME)
            raise CovClaimError(f"symbol {base!r} (subscript {sub!r}) has no meaning in the lambda-ode notation")

        lhs, rhs = (_walk_keep_vars(sd, rel.atoms, value, i == 0) for i, sd in enumerate(rel.sides))
        for _ in range(3):
            pt = {T_TIME: sp.Float(rng.uniform(0.1, 0.85), DIGITS), ELL: sp.Float(rng.normal(), DIGITS)}
            val = abs(complex(sp.N((rhs - lhs).subs(pt), DIGITS)))
            if val > worst:
                worst, where = val, f"{sc.name}, t={float(pt[T_TIME]):.4g}"
    holds = True if worst < V.HOLD_TOL else (False if worst > V.REFUTE_TOL else None)
    return MethodResult("lambda-ode", form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"exact Gaussian PF-ODE trajectory, d/dlambda by the chain rule; worst residual "
                               f"{worst:.3g} ({where})")


METHODS["lambda-ode"] = lambda_ode


# --- vsd-gradient: the variational-score-distillation gradient (003 eq. (10.2.2)) ------------------------------------
TH, R_G, M_D, V_D, W_T, A_T, S_T = sp.symbols("theta r_gen m_data v_data omega_t alpha_t sigma_t", real=True)
Z_G, E_G = sp.symbols("z_gen eps_gen", real=True)


def prepare_vsd(text: str) -> str:
    r"""Documented rewrites: underbraces dropped; ``\nabla_{\theta} \mathcal{L}_{\text{VSD}}(\theta)`` (the gradient of
    the loss defined before (10.2.2)) named ``V_{grad}``; the expectation ``\mathbb{E}_{t, \mathbf{z}, \epsilon}[A]``
    written ``E_{zeps}(A)`` (taken over z and eps at a fixed t: omega(t) is arbitrary, so the identity holds per t);
    the scores ``\nabla_{\mathbf{x}} \log p_t^\theta(`` / ``\nabla_{\mathbf{x}} \log p_t(`` named ``s_{gen}(`` /
    ``s_{data}(``; the generator's derivative ``\partial_{\theta} \mathbf{G}_{\theta}(\mathbf{z})`` named ``G_{dtheta}``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    s = _drop_underbraces(text).replace("&", " ")
    s = re.sub(r"\\nabla_\{\\theta\}\s*\\mathcal\{L\}_\{\\text\{VSD\}\}\(\\theta\)", r"V_{grad}", s)
    s = re.sub(r"\\mathbb\{E\}_\{t, \\mathbf\{z\}, \\epsilon\}\s*\[(.*)\]", r"E_{zeps}(\1)", s)
    s = s.replace(r"\nabla_{\mathbf{x}} \log p_t^\theta(", r"s_{gen}(").replace(r"\nabla_{\mathbf{x}} \log p_t(", r"s_{data}(")
    s = s.replace(r"\partial_{\theta} \mathbf{G}_{\theta}(\mathbf{z})", r"G_{dtheta}")
    return s.replace(r"\\", " ").strip().rstrip(".").strip()


def vsd_gradient(claim: Claim, form: str, seed: int, samples=None) -> MethodResult:
    """Gaussian generator G_theta(z) = theta + r z (z standard normal), data N(m, v), one time t with alpha_t, sigma_t:
    the left side is omega(t) d/dtheta KL(p_t^theta || p_t) (derive.gaussian.kl_normal of the two diffused Gaussians),
    the right side the parsed expectation over z and eps (Gaussian moments), the scores derived by differentiating
    the log-densities (derive.data.normal_pdf), x_t^theta = alpha_t G_theta(z) + sigma_t eps (10.2.1)."""
    from derive.data import normal_pdf
    from derive.gaussian import kl_normal
    from .methods_expectation import standard_normal_expectation
    start = _time.perf_counter()
    text, _ = V.claim_text(claim, form)
    rel = L.parse_relation(prepare_vsd(text))
    if rel.ops != ["="]:
        raise CovClaimError(f"relations {rel.ops}: one equality expected")
    e_names = [name.replace("\\", "") for name, (base, sub) in rel.atoms.items() if (base, sub) == ("E", "zeps")]
    if len(e_names) != 1 or not (isinstance(rel.sides[1], sp.Mul)
                                  and any(getattr(f, "name", None) == e_names[0] for f in rel.sides[1].args)):
        raise CovClaimError("the right side must be one expectation E_{t, z, eps}[...]")
    gen = TH + R_G * Z_G
    var_gen, var_data = A_T**2 * R_G**2 + S_T**2, A_T**2 * V_D + S_T**2
    y = sp.Dummy("y", real=True)
    score_gen = sp.diff(sp.log(normal_pdf(y, A_T * TH, var_gen)), y)
    score_data = sp.diff(sp.log(normal_pdf(y, A_T * M_D, var_data)), y)
    lhs_value = W_T * sp.diff(kl_normal(A_T * TH, var_gen, A_T * M_D, var_data), TH)

    def value(base, sub, args, lhs):
        n = re.sub(r"[{}\s\\]", "", sub or "")
        if (base, n) == ("V", "grad") and lhs:
            return lhs_value
        if (base, n) == ("E", "zeps"):
            return sp.Integer(1)                      # the expectation is applied to the whole right side below
        if base == "omega" and args:
            return W_T
        if (base, n) == ("alpha", "t"):
            return A_T
        if (base, n) == ("xhat", "t") and not args:
            return A_T * gen + S_T * E_G
        if base == "s" and n in ("gen", "data") and len(args) == 1:
            return (score_gen if n == "gen" else score_data).subs(y, args[0])
        if (base, n) == ("G", "dtheta"):
            return sp.diff(gen, TH)
        if base == "t" and not n and not args:
            return sp.Symbol("t")
        raise CovClaimError(f"symbol {base!r} (subscript {sub!r}) has no meaning in the vsd-gradient notation")

    lhs, rhs = (_walk_keep_vars(sd, rel.atoms, value, i == 0) for i, sd in enumerate(rel.sides))
    rhs = standard_normal_expectation(sp.expand(rhs), [Z_G, E_G])
    rng = np.random.default_rng(seed)
    worst, where = 0.0, ""
    for _ in range(6):
        a = rng.uniform(0.1, 1)
        pt = {TH: rng.normal(), R_G: rng.uniform(0.2, 2), M_D: rng.normal(), V_D: rng.uniform(0.2, 2),
              W_T: rng.uniform(0.1, 3), A_T: a, S_T: rng.uniform(0.1, 2)}
        pt = {k: sp.Float(v, DIGITS) for k, v in pt.items()}
        val = abs(complex(sp.N((rhs - lhs).subs(pt), DIGITS)))
        if val > worst:
            worst, where = val, ", ".join(f"{k}={float(v):.4g}" for k, v in pt.items())
    holds = True if worst < HOLD_TOL else (False if worst > REFUTE_TOL else None)
    return MethodResult("vsd-gradient", form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"Gaussian generator theta + r z, data N(m, v): omega d/dtheta KL against the parsed "
                               f"expectation; worst residual {worst:.3g} ({where})")


METHODS["vsd-gradient"] = vsd_gradient


# --- fm-cfm: flow matching equals conditional flow matching up to a constant (003 eq. (5.2.9)) ------------------------
THETA = sp.symbols("theta_0:3", real=True)
XI_D, E_N, C_CONST = sp.symbols("xi_data e_noise C", real=True)


def prepare_fm_cfm(text: str) -> str:
    r"""Documented rewrites: underbraces dropped (checks.methods_solvers.prenormalise); the left side
    ``\mathcal{L}_{\text{FM}}(\phi)`` (the loss defined in sec. 5.2.1) named ``F_{loss}``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    return _drop_underbraces(text).replace(r"\mathcal{L}_{\text{FM}}(\phi)", "F_{loss}")


def fm_cfm(claim: Claim, form: str, seed: int, samples=None) -> MethodResult:
    """At one time t, for N(m, v) data and the model v_phi(x) = theta_0 + theta_1 x + theta_2 x^2: the left side is
    L_FM = E (v_phi(x_t) - v_t(x_t))^2 with the marginal velocity of derive.flow_matching.marginal_velocity, the right
    side the parsed conditional loss (its expectation over z = x_0 and x_t | z by Gaussian moments, the conditional
    velocity from derive.flow_matching.conditional_velocity) plus the claim's constant C. Holds iff right minus left
    does not depend on theta (then C is that difference)."""
    from derive import flow_matching as _fm
    from derive.data import gaussian
    from .methods_expectation import standard_normal_expectation
    start = _time.perf_counter()
    text, _ = V.claim_text(claim, form)
    rel = L.parse_relation(prepare_fm_cfm(text))
    if rel.ops != ["="]:
        raise CovClaimError(f"relations {rel.ops}: one equality expected")
    e_names = [name.replace("\\", "") for name, (base, _) in rel.atoms.items() if base == "E"]
    if len(e_names) != 1 or C_CONST.name not in {s.name for s in rel.sides[1].free_symbols}:
        raise CovClaimError("the right side must be one expectation plus a constant C")
    rng = np.random.default_rng(seed)
    worst, where = 0.0, ""
    for sc in _schedule_cases(rng)[:2]:                      # vp-linear, rectified-flow
        time = sp.Rational(int(rng.integers(10, 90)), 100)
        mean, var = sp.Rational(int(rng.integers(-15, 16)), 10), sp.Rational(int(rng.integers(2, 20)), 10)
        x0 = mean + sp.sqrt(var) * XI_D
        x_t = sp.N(sc.alpha(time), DIGITS) * x0 + sp.N(sc.sigma(time), DIGITS) * E_N      # 50-digit coefficients
        model = sum(th * x_t**k for k, th in enumerate(THETA))
        y = sp.Dummy("y", real=True)
        marginal = sp.N(_fm.marginal_velocity(sc, gaussian(mean, var), y, time), DIGITS).subs(y, x_t)
        u_cond = sp.N(_fm.conditional_velocity(sc, y, X0, time), DIGITS)
        lhs_value = standard_normal_expectation(sp.expand((model - marginal)**2), [XI_D, E_N])

        def value(base, sub, args, lhs):
            n = re.sub(r"[{}\s\\]", "", sub or "")
            if (base, n) == ("F", "loss") and lhs:
                return lhs_value
            if base == "E" and not args:
                return sp.Integer(1)                  # the expectation is applied to the right side below
            if base == "v" and n == "phi" and len(args) == 2:
                return sum(th * args[0]**k for k, th in enumerate(THETA))
            if base == "v" and n == "t" and len(args) == 2:
                return u_cond.subs({y: args[0], X0: args[1]}, simultaneous=True)
            if (base, n) == ("x", "t") and not args:
                return x_t
            if base == "z" and not n and not args:
                return x0
            if base == "t" and not n and not args:
                return time
            if base == "C" and not n and not args:
                return C_CONST
            raise CovClaimError(f"symbol {base!r} (subscript {sub!r}) has no meaning in the fm-cfm notation")

        lhs, rhs = (_walk_keep_vars(sd, rel.atoms, value, i == 0) for i, sd in enumerate(rel.sides))
        gap = standard_normal_expectation(sp.expand(rhs - C_CONST), [XI_D, E_N]) - lhs
        pt = {k: sp.Float(rng.normal(), DIGITS) for k in THETA}
        for th in THETA:
            val = abs(complex(sp.N(sp.diff(gap, th).subs(pt), DIGITS)))
            if val > worst:
                worst, where = val, f"{sc.name}, t={time}, d/d{th}"
    holds = True if worst < V.HOLD_TOL else (False if worst > V.REFUTE_TOL else None)
    return MethodResult("fm-cfm", form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"theta-derivatives of (conditional loss) - L_FM, quadratic model, Gaussian data; worst "
                               f"{worst:.3g} ({where})")


METHODS["fm-cfm"] = fm_cfm
