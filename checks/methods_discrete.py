r"""Verification methods of the discrete-time family (DDPM / DDIM samplers and recursions, 004's algorithms).

* ``discrete-points`` — the built-in point/symbolic checks (checks.verify) on the claim's LaTeX after the
  extra normalisation ``prenormalise`` (``|`` in a conditional read as ``\mid``, ``\underbrace{X}_{..}`` read
  as X, step labels ``^{(t)}`` dropped). The text is still parsed, never transcribed.
* ``chain`` — *exact Gaussian chain*. The claimed update ``x_new = F(x_old, x_0, eps_hat(x_old), noises)``
  (or a law ``q(x_new | ...) = N(mean, var)``, read as x_new = mean + sqrt(var) xi) is parsed and interpreted
  in a VP reference model with Gaussian data N(m, v); every state is an affine function of independent
  standard normals (x_0 = m + sqrt(v) u_0, fresh noise per step), so the joint law of (x_0, x_new) is
  propagated exactly, step after step, and compared with the exact forward marginal q(x_0, x_s):
  mean alpha_s m, variance alpha_s^2 v + sigma_s^2, and, when the update uses x_0 or is a law given x_0, the
  covariance with x_0, alpha_s v (claim field ``markov = true`` adds the covariance with the previous state of
  the Markov forward chain). The chain runs
  from t_start to t_end in N = 4, 8, 16 steps (Delta_t = |t_end - t_start| / N); it *holds* when the error
  vanishes (exact recursion) or decreases at first order in 1/N (a consistent sampler, e.g. DDIM eta = 0
  or DDPM ancestral sampling with the ideal eps prediction), and is *refuted* when it does not decrease.
  A claim with ``exact = true`` (a kernel or posterior stating an exact law) must be exact at every step:
  first-order convergence does not suffice there.
* ``sampler`` — 004's Algorithms 1-2 as written: the update line is parsed from the algorithm text, the loop
  runs ``iterations`` times from t_start with step h (fields of the claim, like checks.verify's algorithm
  method), tracking the time as the algorithm does (t <- t + h); it holds when the returned label equals
  the tracked time and the law error at the returned time decreases at first order in n.
"""
from __future__ import annotations

import re
import time as _time

import numpy as np
import sympy as sp

from derive import schedules
from derive.data import gaussian
from derive.symbols import dt as DT, t as T_SYM, x0 as X0_SYM

from . import latex as L
from . import verify as V
from .notation import Model, get_notation, interpret
from .verdict import MethodResult

HOLD_TOL = 1e-10


# --- extra normalisation of a document's LaTeX (textual, before checks.latex.normalise) ----------------

def _strip_underbrace(s: str) -> str:
    out, i = [], 0
    while True:
        j = s.find(r"\underbrace", i)
        if j < 0:
            out.append(s[i:])
            return "".join(out)
        out.append(s[i:j])
        k = s.index("{", j)
        inner, end = L._braced(s, k)
        out.append(" {" + inner + "} ")
        rest = s[end:].lstrip()
        if rest.startswith("_"):
            rest = rest[1:].lstrip()
            if rest.startswith("{"):
                _, e2 = L._braced(rest, 0)
                rest = rest[e2:]
            else:
                rest = rest[1:]
        s, i, out = rest, 0, ["".join(out)]


def _conditional_bars(s: str) -> str:
    """'q(a | b, c)' -> 'q(a \\mid b, c)': a single '|' inside a call's parentheses separates a condition."""
    out, depth_calls, i = [], [], 0
    while i < len(s):
        c = s[i]
        if c == "(":
            prev = s[:i].rstrip()
            depth_calls.append(bool(prev) and (prev[-1].isalpha() or prev[-1] in "}_"))
        elif c == ")" and depth_calls:
            depth_calls.pop()
        elif c == "|" and depth_calls and depth_calls[-1] and s[i - 1] != "\\" and s[i:i + 2] != "||" \
                and s[i - 1:i + 1] != "||":
            out.append(r" \mid ")
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _log_of_density(s: str) -> str:
    """'\\log(p(x_s))' -> '\\log p(x_s)', so that a gradient of it is read as the score at x_s."""
    out, i = [], 0
    while True:
        j = s.find(r"\log(", i)
        if j < 0:
            out.append(s[i:])
            return "".join(out)
        inner, end = L._paren(s, j + 4)
        if re.fullmatch(r"\s*[pq](?:_\{?[^(){}]*\}?)?\s*\([^()]*\)\s*", inner):
            out.append(s[i:j] + r"\log " + inner.strip() + " ")
        else:
            out.append(s[i:end])
        i = end


def prenormalise(text: str) -> str:
    """Document LaTeX -> LaTeX checks.latex reads (annotations and step labels dropped, conditionals marked)."""
    s = _strip_underbrace(text)
    s = re.sub(r"\\underline\s*\{", "{", s)
    s = s.replace(r"\Rightarrow", " ")                                    # a derivation's arrow, not a relation
    s = re.sub(r"\\tilde\s*\{\s*(?:\\boldsymbol\s*\{\s*)?\\mu\s*\}?\s*\}\s*_\s*\{?t\}?\s*\(", r"\\mu(", s)  # tilde mu_t(a, b): mu(a, b)
    s = re.sub(r"\^\s*\{\s*\(\s*[a-zA-Z0-9]\s*\)\s*\}", " ", s)           # eps_theta^{(t)}, f_theta^{(1)}
    s = re.sub(r"\\text\s*\{\s*(?:if|otherwise|where)[^{}]*\}.*$", " ", s)
    s = _conditional_bars(s)
    s = _log_of_density(s)
    # 001's handwritten Sigma_theta(x_t, t) is the network's noise prediction; the parser calls only known bases
    s = re.sub(r"\\Sigma_\{?\\theta\}?\s*\(", r"\\epsilon_\\theta(", s)
    return s.replace(r"\varepsilon", r"\epsilon")


def relation(claim, form: str) -> L.Relation:
    """The claim's relation (document: latex, or continuation + latex; corrected; transcribed if present)."""
    if form == "corrected":
        return L.parse_relation(prenormalise(claim.corrected))
    if claim.transcribed:
        return L.parse_relation(claim.transcribed)
    left = claim.extra.get("continues", "")
    return L.parse_relation(prenormalise(f"{left} {claim.latex}" if left else claim.latex))


# --- discrete-points ---------------------------------------------------------------------------------

def discrete_points(claim, form, seed, samples) -> MethodResult:
    """checks.verify's 50-digit point evaluation (and, unless ``numeric_only``, its symbolic proof attempt) on
    the relation read by ``relation`` (extra normalisation), in the claim's notation and schedule."""
    rel = relation(claim, form)
    numeric = V._numeric(claim, rel, form, seed, n_points=2 if claim.extra.get("numeric_only") else 4)
    if numeric.holds is not False and not claim.extra.get("numeric_only"):
        sym = V._symbolic(claim, rel, form)
        if sym.holds:
            numeric.detail += "; symbolic: residual simplifies to 0"
            numeric.holds = True
    numeric.method = "discrete-points"
    return numeric


# --- exact Gaussian chain ----------------------------------------------------------------------------

def _with_differentials(notation: dict) -> dict:
    """In a kernel or update, dt is the step Delta_t and dw = sqrt(Delta_t) times a fresh standard normal."""
    base = notation.get("d")

    def d(M, tau, a, sub):
        key = (sub or "").strip("{} ")
        if key == "t":
            return DT
        if key in ("w", "W"):
            return sp.sqrt(DT) * sp.Symbol("epsilon_dw", real=True)
        if base is None:
            raise V.VerificationError(f"differential d_{key} has no meaning in an update")
        return base(M, tau, a, sub)
    return {**notation, "d": d}


def reference_models(seed: int, count: int = 2) -> list[Model]:
    """VP-linear schedules with Gaussian data N(m, v) (random, seeded parameters)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        b0 = round(float(rng.uniform(0.05, 0.5)), 3)
        sc = schedules.get("vp-linear", beta_min=b0, beta_max=round(b0 + float(rng.uniform(2, 12)), 3))
        m = sp.Rational(int(rng.integers(-15, 15)), 10)
        v = sp.Rational(int(rng.integers(2, 15)), 10)
        c0 = sp.Rational(int(rng.integers(1, 9)), 10)
        out.append(Model(sc, gaussian(m, v), varsigma=lambda tau, c0=c0: c0 + tau / 3))
    return out


def _is_noise(sym) -> bool:
    return sym.name.startswith("epsilon")


def _sample_form(rel: L.Relation, model: Model, notation: dict):
    """(new state symbol, expression whose root in the new state is the update) of a claimed relation."""
    lhs, rhs = rel.sides[0], rel.sides[-1]
    if isinstance(rhs, sp.core.function.AppliedUndef) and rel.atoms_base(rhs) in ("N", "mathcalN"):
        args = [interpret(a, rel.atoms, model, notation) for a in rhs.args]
        if len(args) == 3:
            target = args[0]
        elif isinstance(lhs, sp.core.function.AppliedUndef):       # q(x_new | ...) = N(mean, var)
            target = interpret(lhs.args[0], rel.atoms, model, notation)
        else:                                                       # x_new ~ N(mean, var)
            target = interpret(lhs, rel.atoms, model, notation)
        xi = sp.Symbol("epsilon_law", real=True)
        return target, target - (args[-2] + sp.sqrt(args[-1]) * xi)
    left = interpret(lhs, rel.atoms, model, notation)
    right = interpret(rel.sides[1] if len(rel.sides) > 1 else rhs, rel.atoms, model, notation)
    return left, left - right


def _new_and_old(claim, expr, target, model):
    """The new state (the left side when it is a state, else by the claim's direction: reverse -> the earlier
    state, forward -> the later one) and the old state (None when only x_0 conditions the new state)."""
    states = sorted((s for s in expr.free_symbols if model.time_of(s) is not None and s != X0_SYM),
                    key=lambda s: float(sp.sympify(model.time_of(s), strict=True).subs({DT: 0.01, T_SYM: 0.5})))
    if target is not None and getattr(target, "is_Symbol", False) and model.time_of(target) is not None:
        new = target
    elif len(states) == 2:
        new = states[-1] if claim.direction == "forward" else states[0]
    else:
        raise V.VerificationError("cannot tell the new state of the update")
    olds = [s for s in states if s != new]
    if len(olds) > 1:
        raise V.VerificationError(f"an update relates one old state (and x_0), found {sorted(map(str, states))}")
    return new, (olds[0] if olds else None)


class _Rep:
    """A random variable as const + coeffs . (u_0, n_1, n_2, ...) with independent standard normals."""

    def __init__(self, const, coeffs):
        self.const, self.coeffs = float(const), np.asarray(coeffs, dtype=float)

    def padded(self, size):
        return np.pad(self.coeffs, (0, size - len(self.coeffs)))


def _law_error(law, rep: _Rep, x0rep: _Rep | None, time, m, v, prev: _Rep | None = None, prev_time=None):
    """Largest error of the mean, the variance, the covariance with x_0 (when x0rep) and with the previous state."""
    a, s = law["alpha"](time), law["sigma"](time)
    size = len(rep.coeffs)
    errs = [abs(rep.const - a * m), abs(float(rep.coeffs @ rep.coeffs) - (a * a * v + s * s))]
    if x0rep is not None:
        errs.append(abs(float(rep.coeffs @ x0rep.padded(size)) - a * v))
    if prev is not None:       # Markov forward chain: Cov(x_lo, x_hi) = (alpha_hi / alpha_lo) Var(x_lo)
        lo, hi = (time, prev_time) if time < prev_time else (prev_time, time)
        var_lo = law["alpha"](lo)**2 * v + law["sigma"](lo)**2
        errs.append(abs(float(rep.coeffs @ prev.padded(size)) - law["alpha"](hi) / law["alpha"](lo) * var_lo))
    return max(errs)


class _Update:
    """The claimed update solved for the new state, as affine coefficients lambdified in (t, Delta_t)."""

    def __init__(self, model, new, old, expr):
        expr = expr.doit()
        slope = sp.diff(expr, new)
        if slope == 0 or new in slope.free_symbols:
            raise V.VerificationError("the update must be linear in its new state")
        update = -expr.subs(new, 0) / slope
        self.noises = sorted((s for s in update.free_symbols if _is_noise(s)), key=lambda s: s.name)
        self.states = [s for s in (old, X0_SYM) if s is not None and s in update.free_symbols]
        basis = self.states + self.noises
        coeffs = [sp.diff(update, b) for b in basis]
        for c in coeffs:
            if any(b in c.free_symbols for b in basis):
                raise V.VerificationError("the update is not affine in the states and noises (non-Gaussian chain)")
        const = update.subs({b: 0 for b in basis})
        self.fn = sp.lambdify((T_SYM, DT), [const] + coeffs, modules="mpmath")
        self.old, self.new = old, new
        self.old_time = model.time_of(old) if old is not None else None
        self.new_time = model.time_of(new)
        self.k_new = float(sp.diff(self.new_time, DT))
        self.k_old = float(sp.diff(self.old_time, DT)) if self.old_time is not None else 0.0
        # state times are affine in (t, Delta_t): time = a t + k Delta_t + c; solve for t given a time
        anchor = self.old_time if self.old_time is not None else self.new_time
        self.a = float(sp.diff(anchor, T_SYM)) or 1.0
        self.c = float(anchor.subs({T_SYM: 0, DT: 0}))
        self.k_anchor = self.k_old if self.old_time is not None else self.k_new
        self.new_time_fn = sp.lambdify((T_SYM, DT), self.new_time)

    def t_for(self, time, dt_val):
        """The value of t at which the old state (or, without one, the new state) sits at ``time``."""
        return (time - self.k_anchor * dt_val - self.c) / self.a

    def __call__(self, tt, dt_val):
        vals = [float(sp.re(sp.N(vv, 30))) if not isinstance(vv, (int, float)) else float(vv)
                for vv in self.fn(tt, dt_val)]
        return vals[0], vals[1:]


def _law(model):
    a = sp.lambdify(T_SYM, model.alpha(T_SYM), modules="mpmath")
    s = sp.lambdify(T_SYM, model.sigma(T_SYM), modules="mpmath")
    return {"alpha": lambda tt: float(a(tt)), "sigma": lambda tt: float(s(tt))}


def _run_chain(model, upd: _Update, t_start, t_end, steps, markov, law=None):
    """Propagate the joint law of (x_0, state) through ``steps`` updates from t_start toward t_end."""
    law = law or _law(model)
    m, v = float(model.data.means[0]), float(model.data.variances[0])
    h = (t_end - t_start) / steps
    if upd.old is not None and (upd.k_new - upd.k_old) * np.sign(h) <= 0:
        raise V.VerificationError("the update's direction does not match the chain (new state must move toward t_end)")
    x0rep = _Rep(m, [np.sqrt(v)])
    cur_time = t_start
    a0, s0 = law["alpha"](cur_time), law["sigma"](cur_time)
    cur = _Rep(a0 * m, [a0 * np.sqrt(v), s0])
    span = abs(upd.k_new - upd.k_old) if upd.old is not None else 1
    dt_val = abs(h) / float(span)
    worst = 0.0
    for _ in range(steps if upd.old is not None else 1):
        tt = upd.t_for(cur_time if upd.old is not None else t_end, dt_val)
        const, coeffs = upd(tt, dt_val)
        size = len(cur.coeffs) + len(upd.noises)
        total, total_const = np.zeros(size), const
        for b, c in zip(upd.states, coeffs):
            src = cur if b == upd.old else x0rep
            total += c * src.padded(size)
            total_const += c * src.const
        for j in range(len(upd.noises)):
            total[len(cur.coeffs) + j] += coeffs[len(upd.states) + j]
        nxt = _Rep(total_const, total)
        nxt_time = float(upd.new_time_fn(tt, dt_val))
        joint = x0rep if X0_SYM in upd.states or upd.old is None else None   # a sampler sees x_0 only through x_t
        err = _law_error(law, nxt, joint, nxt_time, m, v, cur if markov else None, cur_time if markov else None)
        worst = max(worst, err)
        cur, cur_time = nxt, nxt_time
    return worst, cur_time, cur


def chain(claim, form, seed, samples) -> MethodResult:
    start = _time.perf_counter()
    rel = relation(claim, form)
    notation = _with_differentials(get_notation(claim.notation))
    t_start = float(claim.extra.get("t_start", 0.8))
    t_end = float(claim.extra.get("t_end", 0.3))
    markov = bool(claim.extra.get("markov", False))
    lines = []
    errors = {}
    for model in reference_models(seed):
        target, expr = _sample_form(rel, model, notation)
        new, old = _new_and_old(claim, expr, target, model)
        upd, law = _Update(model, new, old, expr), _law(model)
        for n in (4, 8, 16):
            err, reached, _ = _run_chain(model, upd, t_start, t_end, n, markov, law)
            errors.setdefault(n, []).append(err)
        lines.append(f"{model.schedule.name}{tuple(round(p, 3) for p in model.schedule.numeric_params().values())}: "
                     + ", ".join(f"N={n}: {errors[n][-1]:.3g}" for n in (4, 8, 16)))
    e4, e8, e16 = (max(errors[n]) for n in (4, 8, 16))
    r1, r2 = (e8 / e4 if e4 > 0 else 0.0), (e16 / e8 if e8 > 0 else 0.0)
    exact = bool(claim.extra.get("exact", False))
    if e16 < HOLD_TOL:
        holds, verdict = True, "exact at every step"
    elif exact and max(e4, e8, e16) > 1e-6:
        holds, verdict = False, "not exact (the claim states an exact law: field exact = true)"
    elif r1 < 0.65 and r2 < 0.65:
        holds, verdict = True, f"converges (error ratios per halving {r1:.3f}, {r2:.3f}: order {-np.log2(r2):.2f})"
    elif r2 > 0.85 and e16 > 1e-6:
        holds, verdict = False, f"does not converge (error ratios per halving {r1:.3f}, {r2:.3f})"
    else:
        holds, verdict = None, f"inconclusive (ratios {r1:.3f}, {r2:.3f})"
    return MethodResult("chain", form, holds, e16, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"exact Gaussian chain t={t_start} -> {t_end}, law error of x_s "
                               f"[mean, variance; covariance with x_0 when the update uses x_0 or is a law given x_0"
                               f"{'; covariance with the previous state' if markov else ''}]: {verdict}; " + "; ".join(lines))


# --- 004's algorithms, run as written ----------------------------------------------------------------

def _update_line(text: str) -> str:
    """The update formula of an algorithm block: the math segment of the form X_{t+h} = ..."""
    for seg in re.findall(r"\$([^$]+)\$", text):
        if re.search(r"X_\{t\s*\+\s*h\}\s*=", seg):
            return seg.strip()
    raise V.VerificationError("no update line X_{t+h} = ... found in the algorithm")


def sampler(claim, form, seed, samples) -> MethodResult:
    """Run Algorithm 1/2 of 004 on Gaussian data, as written: the update line is parsed from the algorithm's
    text, the loop runs ``iterations`` times from t_start with step ``step`` (claim fields, as for checks.verify's
    algorithm method; corrected_* for the corrected form) while t <- t + h is tracked. The algorithm's time
    s in [0, 1] is the model time T1 - (T1 - T0) s (notation discrete.004.*: noise at s = 0, data at s = 1).

    Holds when the tracked final time equals the returned label's time AND the law of the returned state
    (exact Gaussian chain) approaches the data law at first order in n (n = 8, 16, 32)."""
    from .notations_discrete import T0_004, T1_004
    start = _time.perf_counter()
    text = claim.corrected if form == "corrected" else claim.latex
    rel = L.parse_relation(prenormalise(_update_line(text)))
    notation = get_notation(claim.notation)
    prefix = "corrected_" if form == "corrected" else ""
    fields = {k: L.parse_expression(str(claim.extra.get(prefix + k, claim.extra.get(k))))[0]
              for k in ("t_start", "step", "iterations", "t_end")}
    n_sym = sp.Symbol("n")
    span = float(T1_004 - T0_004)
    model = reference_models(seed, 1)[0]
    target, expr = _sample_form(rel, model, notation)
    new, old = _new_and_old(claim, expr, target, model)
    upd, law = _Update(model, new, old, expr), _law(model)
    m, v = float(model.data.means[0]), float(model.data.variances[0])
    errs, gaps = {}, []
    for n in (8, 16, 32):
        iters = int(fields["iterations"].subs(n_sym, n))
        h = float(fields["step"].subs(n_sym, n))
        s0 = float(fields["t_start"].subs(n_sym, n))
        tracked = s0 + iters * h                                   # t <- t + h, iters times
        returned = float(fields["t_end"].subs(n_sym, n))
        gaps.append(abs(tracked - returned))
        _, _, final = _run_chain(model, upd, float(T1_004) - span * s0, float(T1_004) - span * tracked, iters,
                                 False, law)
        errs[n] = _law_error(law, final, None, float(T1_004) - span * returned, m, v)
    gap = max(gaps)
    r1, r2 = errs[16] / errs[8], errs[32] / errs[16]
    holds = gap < 1e-12 and r1 < 0.65 and r2 < 0.65
    return MethodResult("sampler", form, holds, max(gap, errs[32]), seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"loop arithmetic: |t_start + iterations*h - t_returned| = {gap:.3g} (worst over n); law "
                               f"error of the returned state against the law at the returned time (exact Gaussian "
                               f"chain, mean and variance): " + ", ".join(f"n={n}: {e:.3g}" for n, e in errs.items())
                               + f"; ratios per doubling {r1:.3f}, {r2:.3f}")


METHODS = {"discrete-points": discrete_points, "chain": chain, "sampler": sampler}
