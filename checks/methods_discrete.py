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
* ``kl`` — identities between KL divergences of Gaussian laws and their printed closed forms (001 (30), 003
  (4.4.7)): each D_KL(P || Q) is computed from the notation's densities P, Q (moments by completing the square,
  derive.gaussian.kl_normal); a common outer expectation is stripped (integrands compared pointwise); '\equiv'
  ("equal up to a value free of the network") is checked as a vanishing derivative in the free network output.
* ``sde-increment`` — a printed SDE read as the law of its increment over a step h: a term without dt or dw
  (000's VP-path SDE) gives a mean increment that does not vanish as h -> 0, so the formula is refuted as an
  SDE; a well-formed SDE is checked by the Fokker-Planck equation of the exact marginal.
* ``table-row`` — a row of a markdown table (003 Table 5.2) read as one relation per column, each column in its
  reference path and the table's stated convention (notations "table52.fm" / "table52.diffusion").
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
        inner, end = L.braced(s, k)
        out.append(" {" + inner + "} ")
        rest = s[end:].lstrip()
        if rest.startswith("_"):
            rest = rest[1:].lstrip()
            if rest.startswith("{"):
                _, e2 = L.braced(rest, 0)
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
        inner, end = L.parenthesised(s, j + 4)
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


# --- KL divergences between Gaussian laws ------------------------------------------------------------------

_KL_HEAD = re.compile(r"(?:\\mathcal\s*\{\s*D\s*\}|\\mathcal\s*D|D)\s*_\s*\{\s*\\(?:text|mathrm)\s*\{\s*KL\s*\}\s*\}"
                      r"\s*(?:\\left\s*)?(?=\()")
_EXPECT_HEAD = re.compile(r"^\s*\\mathbb\s*\{\s*E\s*\}")
_SQUARE = re.compile(r"\s*(?:_\s*(?:\{\s*2\s*\}|2))?\s*\^\s*(?:\{\s*2\s*\}|2)")


def _strip_expectation(side: str) -> tuple[str, str | None]:
    r"""'\mathbb{E}_{sub} [body]' (or '\left[ body \right]') filling the whole side -> ('(body)', sub); else (side, None)."""
    mo = _EXPECT_HEAD.match(side)
    if not mo:
        return side, None
    i = mo.end()
    sub = ""
    rest = side[i:].lstrip()
    if rest.startswith("_"):
        rest = rest[1:].lstrip()
        if not rest.startswith("{"):
            raise V.VerificationError("an expectation's subscript must be braced")
        sub, end = L.braced(rest, 0)
        rest = rest[end:]
    rest = rest.lstrip()
    if rest.startswith(r"\left"):
        rest = rest[len(r"\left"):].lstrip()
    if not rest.startswith("["):
        raise V.VerificationError(f"expectation without a bracket: {side[:60]!r}")
    body, end = L.balanced(rest, 0, "[", "]")
    if rest[end:].strip():          # not the whole side: an inner expectation (``_inner_expectations``)
        return side, None
    body = re.sub(r"\\right\s*$", "", body.rstrip())
    return "(" + body + ")", re.sub(r"\s+", "", sub)


def _inner_expectations(s: str, inner: list) -> str:
    r"""Each remaining '\mathbb{E}_{v \sim p(v | ...)}[body]' (or '\mathbb{E}_{p(a, b)}[body]') -> a slot
    '\upsilon_{k}', (v, p, body) appended to ``inner``: the expectation of body over the Gaussian law p
    (``expectation_value``)."""
    while True:      # the last operator first: 'E_a E_b [f]' is E_a of the slot that E_b [f] becomes
        found = list(re.finditer(r"\\mathbb\s*\{\s*E\s*\}\s*_\s*", s))
        if not found:
            return s
        mo = found[-1]
        if mo.end() >= len(s) or s[mo.end()] != "{":
            raise V.VerificationError("an inner expectation needs a braced subscript 'v \\sim p(v | ...)'")
        sub, j = L.braced(s, mo.end())
        while j < len(s) and s[j] == " ":
            j += 1
        if s.startswith(r"\left", j):
            j += len(r"\left")
            while j < len(s) and s[j] == " ":
                j += 1
        slot = re.match(r"\s*\\upsilon_\{\d+\}", s[j:])
        if slot:                                        # an operator applied to the next expectation
            body, end = slot.group(0), j + slot.end()
        elif j >= len(s) or s[j] != "[":
            raise V.VerificationError("expectation without a bracket")
        else:
            body, end = L.balanced(s, j, "[", "]")
            body = _inner_expectations(re.sub(r"\\right\s*$", "", body.rstrip()), inner)   # nested expectations first
        parts = sub.split(r"\sim")
        if len(parts) > 2:
            raise V.VerificationError(f"an inner expectation's subscript reads 'v \\sim p(v | ...)' or 'p(v)', got {sub!r}")
        inner.append((parts[0].strip(), parts[1].strip(), body) if len(parts) == 2 else ("", sub.strip(), body))
        s = s[:mo.start()] + rf" \upsilon_{{{len(inner)}}} " + s[end:]


def _squared_norms(s: str) -> str:
    r"""'\|X\|_2^2', '\left\| X \right\|^2' -> '(X)^{2}' (one coordinate: KL of isotropic Gaussians is a sum)."""
    s = re.sub(r"\\(?:left|right|big|Big)\s*\\\|", r"\\|", s)
    while r"\|" in s:
        i = s.index(r"\|")
        j = s.find(r"\|", i + 2)
        if j < 0:
            raise V.VerificationError("unpaired norm bars \\|")
        mo = _SQUARE.match(s, j + 2)
        if not mo:
            raise V.VerificationError("only squared norms ||.||_2^2 are read")
        s = s[:i] + "(" + s[i + 2:j] + ")^{2}" + s[mo.end():]
    return s


def _kl_slots(s: str, pairs: list) -> str:
    """Each 'D_KL(P || Q)' -> a slot '\\kappa_{k}', (P, Q) appended to ``pairs``."""
    while True:
        mo = _KL_HEAD.search(s)
        if not mo:
            return s
        inner, end = L.parenthesised(s, mo.end())
        inner = re.sub(r"\\right\s*$", "", inner.rstrip())
        halves = L.split_top_level(inner, r"\|")
        if len(halves) != 2:
            raise V.VerificationError(f"a KL divergence needs two laws separated by \\|: {inner[:60]!r}")
        pairs.append(tuple(h.strip() for h in halves))
        s = s[:mo.start()] + rf" \kappa_{{{len(pairs)}}} " + s[end:]


def kl_rewrite(text: str, outer: bool = True) -> tuple[str, list, str | None, list]:
    r"""A chain of KL expressions -> (LaTeX the engine parses, [(P, Q), ...], the common expectation's subscript,
    [(variable, law, body), ...] of the inner expectations). With ``outer`` False every expectation is inner.

    Documented rewrite, no formula re-typed: layout (aligned, &, \\, the equation number) dropped; every side's
    outer expectation \mathbb{E}_{sub}[...] removed after checking that all sides carry the same one (the
    integrands are then compared pointwise, which decides the identity of the expectations for every law of
    the variables: the difference is a function of them); D_KL(P || Q) -> slot \kappa_k; squared norms -> squares;
    \text{SNR}(u) -> \rho_u (notations define rho as alpha_u^2/sigma_u^2, 003 after (4.4.7)); annotations
    \underbrace{X}_{label} -> X; an expectation inside a side, E_{v ~ p(v | ..)}[body] -> slot \upsilon_k.
    """
    s = re.sub(r"\\(?:begin|end)\s*\{(?:aligned|split)\}", " ", _strip_underbrace(text))
    s = re.sub(r"\\q?quad\s*\(\s*[0-9A-Z.]+\s*\)", " ", s).replace("&", " ").replace("\\\\", " ")
    s = re.sub(r"[\s,.]*$", "", s)
    s = re.sub(r"\\leq(?![a-zA-Z])", r"\\le ", re.sub(r"\\geq(?![a-zA-Z])", r"\\ge ", s))
    s = re.sub(r"\\(?:text|mathrm)\s*\{\s*SNR\s*\}\s*\(\s*([a-z])\s*\)", r"\\rho_{\1}", s)   # SNR(u) -> rho_u
    sides, ops = L.split_relation(s)
    pairs, subs, out, inner = [], set(), [], []
    for side in sides:
        body, sub = _strip_expectation(side.strip()) if outer else (side, None)
        subs.add(sub)
        out.append(_squared_norms(_inner_expectations(_kl_slots(body, pairs), inner)))
    if len(subs) > 1:
        raise V.VerificationError(f"the sides are expectations over different laws: {sorted(map(str, subs))}")
    if not pairs and not inner:
        raise V.VerificationError("no KL divergence D_KL(P || Q) or expectation in the formula")
    text_out = out[0]
    for op, side in zip(ops, out[1:]):
        text_out += f" {op} {side}"
    return text_out, pairs, subs.pop(), inner


def _call_variables(law_text: str) -> list[str]:
    """LaTeX of the random variables of a law 'p(a, b | c) q(d | a)': the arguments before each condition bar."""
    out = []
    for mo in re.finditer(r"[A-Za-z}]\s*\(", law_text):
        inner, _ = L.parenthesised(law_text, mo.end() - 1)
        free = L.split_top_level(inner, "|")[0]
        for part in L.split_top_level(free, ","):
            if part.strip() and part.strip() not in out:
                out.append(part.strip())
    return out


def expectation_value(item, model: Model, notation: dict) -> sp.Expr:
    r"""E[body] over a Gaussian law (one or several variables): 'v \sim p(v | ..)' or a law 'p(a, b)',
    'p(a) q(b | a)' whose variables are the arguments before the condition bars. The law's log-density is
    quadratic in the variables: mean and covariance from its gradient and Hessian (completing the square);
    the body must be quadratic too, E f = f(mean) + tr(Hess f Cov)/2 (exact)."""
    var_text, law_text, body = item
    names = L.split_top_level(var_text, ",") if var_text else _call_variables(law_text)
    variables = []
    for name in names:
        expr, atoms = L.parse_expression(prenormalise(name))
        sym = interpret(expr, atoms, model, notation)
        if not isinstance(sym, sp.Symbol):
            raise V.VerificationError(f"the expectation's variable {name!r} is not a symbol")
        variables.append(sym)
    law, atoms = L.parse_expression(prenormalise(law_text))
    if not isinstance(law, (sp.core.function.AppliedUndef, sp.Mul)) and len(names) == 1:
        law, atoms = L.parse_expression(prenormalise(f"{law_text}({names[0]})"))
    log_law = sp.expand_log(sp.log(interpret(law, atoms, model, notation).doit()), force=True)
    hess = sp.hessian(log_law, variables)
    if any(v in hess.free_symbols for v in variables):
        raise V.VerificationError(f"the law {law_text[:40]!r} is not Gaussian in {variables}")
    zero = {v: 0 for v in variables}
    cov = (-hess).inv()
    mean = cov * sp.Matrix([sp.diff(log_law, v).subs(zero) for v in variables])
    b_expr, b_atoms = L.parse_expression(prenormalise(body))
    f = sp.expand_log(interpret(b_expr, b_atoms, model, notation).doit(), force=True)   # no expand: schedules are long
    hess_f = sp.hessian(f, variables)
    if any(v in hess_f.free_symbols for v in variables):
        raise V.VerificationError("the expectation's body is not quadratic in its variables")
    at_mean = dict(zip(variables, list(mean)))
    return f.subs(at_mean, simultaneous=True) + (hess_f * cov).trace() / 2


def mark_joint_densities(text: str) -> str:
    r"""'p_\phi(\mathbf{x}, \mathbf{z})' (several arguments, no condition bar) -> 'p_{\phi joint}(...)': the joint
    law, told apart from a conditional p_\phi(\mathbf{x}|\mathbf{z}) whose bar the parser reads as a comma."""
    out, i = [], 0
    for mo in re.finditer(r"([pq])\s*_\s*(\\[a-zA-Z]+|\{[^{}]*\})\s*\(", text):
        inner, _ = L.parenthesised(text, mo.end() - 1)
        if len(L.split_top_level(inner, ",")) > 1 and len(L.split_top_level(inner, "|")) == 1:
            out.append(text[i:mo.start()] + f"{mo.group(1)}_{{{mo.group(2).strip('{}')} joint}}(")
            i = mo.end()
    out.append(text[i:])
    return "".join(out)


def apply_definitions(text: str, claim) -> str:
    r"""Substitute the document's own definitions (claim field ``definitions``: verbatim LaTeX 'HEAD = BODY' found
    in the document, e.g. 003 (2.1.1) for L_ELBO): every HEAD in ``text`` (with its argument list, if any) -> (BODY)."""
    from .catalogue import locate
    for definition in claim.extra.get("definitions", []):
        locate(claim.document, definition)                 # raises unless the definition is printed verbatim
        clean = re.sub(r"\\q?quad\s*\(\s*[0-9A-Z.]+\s*\)", " ", definition)
        clean = re.sub(r"[\s,.]*$", "", clean)
        heads, ops = L.split_relation(clean)
        if len(heads) != 2 or ops[0] not in ("=", ":="):
            raise V.VerificationError(f"a definition reads 'HEAD = BODY': {definition[:60]!r}")
        head, body = heads[0].strip(), heads[1].strip()
        if head in body:
            raise V.VerificationError(f"the definition of {head!r} is recursive")
        while head in text:
            i = text.index(head)
            j = i + len(head)
            rest = text[j:].lstrip()
            if rest.startswith("("):
                _, end = L.parenthesised(rest, 0)
                j = len(text) - len(rest) + end
            text = text[:i] + "(" + body + ")" + text[j:]
    return text


def gaussian_law(latex: str, model: Model, notation: dict, variable: str | None = None
                 ) -> tuple[sp.Symbol, sp.Expr, sp.Expr]:
    """(variable, mean, variance) of a density written 'p(a | b, ...)': the notation's density of the first
    argument, its log completed to a square in that argument. A density written without its argument
    ('p_{data}') is read at ``variable`` (LaTeX: the expectation's variable, or the claim's ``kl_variable``)."""
    expr, atoms = L.parse_expression(prenormalise(latex))
    if not isinstance(expr, sp.core.function.AppliedUndef) and variable:
        expr, atoms = L.parse_expression(prenormalise(f"{latex}({variable})"))
    if not isinstance(expr, sp.core.function.AppliedUndef) or not expr.args:
        raise V.VerificationError(f"a KL argument must be a density p(a | ...): {latex[:60]!r}")
    var = interpret(expr.args[0], atoms, model, notation)
    if not isinstance(var, sp.Symbol):
        raise V.VerificationError(f"the variable of {latex[:40]!r} is not a state")
    dens = interpret(expr, atoms, model, notation).doit()
    exps = [f for f in sp.Mul.make_args(dens) if isinstance(f, sp.exp)]
    if any(var in f.free_symbols for f in sp.Mul.make_args(dens) if not isinstance(f, sp.exp)):
        raise V.VerificationError(f"the density {latex[:40]!r} is not of the form c exp(Q) in {var}")
    log_dens = sp.Add(*[f.args[0] for f in exps])          # log of the density up to a constant in var
    # completing the square by derivatives (log N is -(y - m)^2/(2 v) + c: v = -1/Q'', m = y + v Q'(y) at y = 0);
    # derive.gaussian.complete_square would simplify the schedule's long expressions, which is slow
    slope = sp.diff(log_dens, var)
    curvature = sp.diff(slope, var)
    if var in curvature.free_symbols:
        raise V.VerificationError(f"the density {latex[:40]!r} is not Gaussian in {var}")
    var_ = -1 / curvature
    return var, (var_ * slope).subs(var, 0), var_


def kl_value(pair, model: Model, notation: dict, laws: dict | None = None, variable: str | None = None) -> sp.Expr:
    """KL(P || Q) of two Gaussian laws of the same variable: derive.gaussian.kl_normal of their moments
    (``laws``: a cache of gaussian_law per density text, for one model and notation)."""
    from derive import gaussian as G
    if len(_call_variables(pair[0])) > 1:         # a joint law: KL = E_P[log P - log Q] (definition), exactly
        return expectation_value(("", pair[0], rf"\log {pair[0]} - \log {pair[1]}"), model, notation)
    laws = {} if laws is None else laws
    for text in pair:
        if text not in laws:
            laws[text] = gaussian_law(text, model, notation, variable)
    (vp, mp, sp_), (vq, mq, sq) = laws[pair[0]], laws[pair[1]]
    if vp != vq:
        raise V.VerificationError(f"KL between laws of different variables {vp}, {vq}")
    return G.kl_normal(mp, sp_, mq, sq)


def kl(claim, form, seed, samples) -> MethodResult:
    r"""Identities between KL divergences of Gaussian laws and their closed forms (e.g. 001 (30)).

    The chain is read by ``kl_rewrite``; each D_KL(P || Q) is computed from the notation's densities P and Q
    (moments by completing the square, then derive.gaussian.kl_normal), never from a printed closed form.
    '=' must hold identically; '\equiv' means "equal up to a value free of the network" (001, after (29)): the
    derivative of the difference in the claim's ``equiv_in`` (LaTeX of the free network output) must vanish.
    '\le', '\ge' (also \leq, \geq): the inequality at every point (a point check, reported with its margin).
    Claim fields: ``definitions`` (verbatim 'HEAD = BODY' of the document, substituted: ``apply_definitions``),
    ``outer_expectation`` (false: every expectation is computed, ``expectation_value``), ``joint_densities``
    (``mark_joint_densities``), ``kl_variable`` (the variable of densities written without argument),
    ``step_index`` (a discrete index read as t, index-1 as t - Delta_t), ``network`` (symbol names of free network
    parameters: '= ... + C' with C free of them holds when the difference does not change as they are redrawn).
    Checked at 50-digit points (4 per link) of a VP reference model (``reference_models``; claim field ``models``)."""
    start = _time.perf_counter()
    text, _ = V.claim_text(claim, form)
    text = apply_definitions(text, claim)
    index = claim.extra.get("step_index")
    if index:                                  # a discrete step index (003 ch. 2: i) read as the time t
        text = re.sub(r"_\s*\{\s*" + index + r"\s*([+-]\s*1)?\s*\}", r"_{t\1}", text)
        text = re.sub(r"_\s*" + index + r"(?![a-zA-Z])", "_t", text)
    if claim.extra.get("joint_densities"):
        text = mark_joint_densities(text)
    rewritten, pairs, sub, inner = kl_rewrite(text,
                                              outer=bool(claim.extra.get("outer_expectation", True)))
    rel = L.parse_relation(prenormalise(rewritten))
    base = get_notation(claim.notation)
    rng = np.random.default_rng(seed)
    worst, where, links, margins = 0.0, "", [], []
    for model in reference_models(seed, int(claim.extra.get("models", 1))):
        laws: dict = {}

        def slot(M, tau, a, s, laws=laws):
            return kl_value(pairs[int(s.strip("{} ")) - 1], M, notation, laws, claim.extra.get("kl_variable"))
        def mean_slot(M, tau, a, s):
            return expectation_value(inner[int(s.strip("{} ")) - 1], M, notation)

        notation = {**base, "kappa": slot, "upsilon": mean_slot}
        sides = [interpret(side, rel.atoms, model, notation).doit() for side in rel.sides]
        for i, op in enumerate(rel.ops):
            diff = sides[i + 1] - sides[i]
            if op == r"\equiv":
                text_q = claim.extra.get("equiv_in")
                if not text_q:
                    raise V.VerificationError("a '\\equiv' link needs the field equiv_in (the free network output)")
                q_expr, q_atoms = L.parse_expression(prenormalise(text_q))
                q_sym = interpret(q_expr, q_atoms, model, notation)
                if not isinstance(q_sym, sp.Symbol):
                    raise V.VerificationError(f"equiv_in {text_q!r} is not a free symbol in this notation")
                diff = sp.diff(diff, q_sym)
            elif op not in ("=", ":=", r"\le", r"\ge"):
                raise V.VerificationError(f"relation {op!r} is not read by the kl method")
            network = [sp.Symbol(n, real=True) for n in claim.extra.get("network", [])] if op == "=" else []
            for pt in V.points(rng, model, diff.free_symbols, 4):
                s_sym = next((k for k in pt if k.name == "s"), None)
                if s_sym is not None and T_SYM in pt and pt[s_sym] < pt[T_SYM]:   # s is the later time
                    pt[s_sym], pt[T_SYM] = pt[T_SYM], pt[s_sym]
                value = complex(V.evaluate(diff, pt))
                if network:      # '= ... + C', C free of the network: the difference must not change with it
                    other = {**pt, **{n: sp.Float(rng.normal(0, 1.5), V.DIGITS) for n in network}}
                    value = value - complex(V.evaluate(diff, other))
                if op in (r"\le", r"\ge"):       # a <= b: violation max(0, a - b), at the same 50-digit points
                    if abs(value.imag) > HOLD_TOL:
                        raise V.VerificationError("an inequality between complex values")
                    val = max(0.0, -value.real if op == r"\le" else value.real)
                    margins.append(value.real if op == r"\le" else -value.real)
                else:
                    val = abs(value)
                if not np.isfinite(val):
                    return MethodResult("kl", form, None, None, seed=seed, seconds=_time.perf_counter() - start,
                                        detail=f"residual not finite at {pt}")
                links.append((i, val))
                if val > worst or not where:
                    worst = val
                    where = f"link {i + 1} ({op}) on {model.schedule.name} at " + \
                        ", ".join(f"{k}={float(v):.4g}" for k, v in pt.items())
    per_link = {}
    for i, val in links:
        per_link[i] = max(per_link.get(i, 0.0), val)
    holds = True if worst < HOLD_TOL else (False if worst >= V.REFUTE_TOL else None)
    return MethodResult("kl", form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"{len(pairs)} KL divergence(s) of Gaussian laws (moments by completing the square, "
                               f"derive.gaussian.kl_normal){'; common expectation over ' + sub if sub else ''}; "
                               f"worst residual per link: " + ", ".join(f"{rel.ops[i]} {v:.3g}" for i, v in sorted(per_link.items()))
                               + (f"; inequality margin (larger minus smaller side) min {min(margins):.3g}, "
                                  f"max {max(margins):.3g} (a point check, not a proof)" if margins else "")
                               + f"; worst {worst:.3g} ({where})")


METHODS["kl"] = kl


# --- an SDE read as the law of its increment over a step ---------------------------------------------------

def _increment_models(seed: int, claim) -> list[Model]:
    """The claim's schedule families (field ``families``; default VP linear and cosine) with Gaussian data."""
    from derive.data import gaussian as gaussian_data
    rng = np.random.default_rng(seed)
    out = []
    for name in claim.extra.get("families", ["vp-linear", "vp-cosine"]):
        sc = V.random_schedule(rng, name)
        data = gaussian_data(sp.Rational(int(rng.integers(-15, 16)), 10), sp.Rational(int(rng.integers(2, 20)), 10))
        out.append(Model(sc, data, t_end=sp.Rational(9, 10)))
    return out


def increment_parts(rel: L.Relation, model: Model, notation: dict):
    """(rest, drift, diffusion) of 'dx = rest + drift dt + diffusion dw', read term by term (no term dropped)."""
    lhs = interpret(rel.sides[0], rel.atoms, model, notation, markers=frozenset({"d"}))
    rhs = interpret(rel.sides[-1], rel.atoms, model, notation, markers=frozenset({"d"}))
    d_t, d_w, d_x = sp.Symbol("d_t"), sp.Symbol("d_w"), sp.Symbol("d_x")
    if len(rel.sides) != 2 or sp.expand(lhs - d_x) != 0:
        raise V.VerificationError("an increment law reads 'dx = ...' (the state's differential on the left)")
    rhs = sp.expand(rhs)
    drift, noise = rhs.coeff(d_t), rhs.coeff(d_w)
    rest = sp.expand(rhs - drift * d_t - noise * d_w)
    if {d_t, d_w} & (rest.free_symbols | drift.free_symbols | noise.free_symbols):
        raise V.VerificationError("the right side is not affine in dt and dw")
    return rest, drift, noise


def sde_increment(claim, form, seed, samples) -> MethodResult:
    r"""A printed SDE 'dx = A + B dt + C dw' read as the law of the increment over a step h (dt -> h,
    dw -> sqrt(h) xi): E[x_{t+h} - x_t | x_t = x] = A + B h, Var = C^2 h.

    An SDE (indeed any process with continuous paths) has a mean increment that vanishes with the step, so
    a term A without dt or dw refutes the formula as an SDE: the mean increment tends to A != 0 and the mean
    velocity (A + B h)/h diverges like A/h (reported at h = 1e-2, 1e-4). When A = 0 the coefficients are
    checked by the Fokker-Planck equation of the exact marginal (derive.fokker_planck.log_residual), the
    engine's SDE check. Text: methods_flow.prenormalise (T'(t) -> \dot{T}(t)), then the differential of the
    state written y ('dy') is read as dx (the notation reads y as the state). 50-digit points, 4 per model."""
    from derive import fokker_planck
    from .methods_flow import prenormalise as flow_prenormalise
    start = _time.perf_counter()
    text, _ = V.claim_text(claim, form)
    s = re.sub(r"(?<![a-zA-Z\\{])d\s*y(?![a-zA-Z_])", r"d x", flow_prenormalise(text))
    rel = L.parse_relation(s)
    notation = get_notation(claim.notation)
    rng = np.random.default_rng(seed)
    worst_rest, worst_fp, speeds, where = 0.0, 0.0, [], ""
    for model in _increment_models(seed, claim):
        rest, drift, noise = increment_parts(rel, model, notation)
        fp = None
        if rest == 0:
            fp = fokker_planck.log_residual(drift, sp.expand(noise**2), model.log_density(V.X_SYM, V.T_SYM),
                                            claim.direction or "forward")
        for pt in V.points(rng, model, (rest.free_symbols | drift.free_symbols | {V.X_SYM, V.T_SYM}), 4):
            a = abs(complex(V.evaluate(rest, pt)))
            if a > worst_rest:
                worst_rest = a
                b = complex(V.evaluate(drift, pt)).real
                speeds = [(h, (complex(V.evaluate(rest, pt)).real + b * h) / h) for h in (1e-2, 1e-4)]
                where = f"{model.schedule.name} at " + ", ".join(f"{k}={float(v):.4g}" for k, v in pt.items())
            if fp is not None:
                worst_fp = max(worst_fp, abs(complex(V.evaluate(fp, pt))))
    if worst_rest >= V.REFUTE_TOL:
        holds = False
        detail = (f"the increment has a term without dt or dw: mean increment -> {worst_rest:.4g} as the step -> 0 "
                  f"({where}); mean velocity E[dx]/h = " + ", ".join(f"{v:.4g} at h={h:g}" for h, v in speeds)
                  + ": diverges, so the formula is not an SDE (no Fokker-Planck equation to check)")
    else:
        holds = True if worst_fp < HOLD_TOL else (False if worst_fp >= V.REFUTE_TOL else None)
        detail = (f"every term carries dt or dw (mean increment -> {worst_rest:.3g}); Fokker-Planck residual of the "
                  f"exact marginal {worst_fp:.3g}")
    return MethodResult("sde-increment", form, holds, max(worst_rest, worst_fp), seed=seed,
                        seconds=_time.perf_counter() - start, detail=detail)


METHODS["sde-increment"] = sde_increment


# --- table rows: one quantity per column, each column its own path -------------------------------------------

def _table_paths(column: str, rng: np.random.Generator):
    """The reference path of a column of 003 Table 5.2, in the diffusion convention (tau = 0 data, 1 prior),
    idealised so that the end points are exact: VE alpha = 1, sigma = sigma_max tau^k (sigma_0 = 0); VP
    alpha = (1 - tau)^k, sigma = sqrt(1 - alpha^2) (alpha_1 = 0); FM/RF the rectified flow alpha = 1 - tau,
    sigma = tau (derive.schedules); Trig. alpha = cos(pi tau/2), sigma = sin(pi tau/2). k, sigma_max random."""
    k = sp.Rational(int(rng.integers(1, 5)), 2)
    name = column.split()[0] if column.split() else ""
    if name == "VE":
        smax = sp.Rational(int(rng.integers(50, 500)), 10)
        return schedules.Schedule("ve-ideal", sp.Integer(1), smax * T_SYM**k, 0.0, 1.0)
    if name == "VP":
        alpha = (1 - T_SYM)**k
        return schedules.Schedule("vp-ideal", alpha, sp.sqrt(1 - alpha**2), 0.0, 1.0)
    if name == "FM/RF":
        return schedules.get("rectified-flow")
    if name == "Trig.":
        return schedules.Schedule("trig", sp.cos(sp.pi * T_SYM / 2), sp.sin(sp.pi * T_SYM / 2), 0.0, 1.0)
    raise V.VerificationError(f"no reference path for the table column {column!r}")


def _cells(row: str) -> list[str]:
    """Cells of a markdown table row '| a | b |' (math delimiters $ removed)."""
    text = row.strip()
    if not (text.startswith("|") and text.endswith("|")):
        raise V.VerificationError(f"not a table row: {row[:40]!r}")
    return [c.strip().strip("$").strip() for c in text[1:-1].split("|")]


def table_row(claim, form, seed, samples) -> MethodResult:
    r"""A row of a markdown table 'quantity | cell_1 | ... | cell_n' read as the n relations quantity = cell_k,
    each in its column's reference path (``_table_paths``), in the claim's notation (the table's convention,
    e.g. "table52.fm"). The header row (claim field ``header``, verbatim) must be a line of the document: the
    column names are read from it. Holds when every column holds at 50-digit points (t in (0.05, 0.85), two
    random paths per column); the detail also reports the row under the other convention of the family
    (field ``other_notation``) as evidence of which convention the printed cells follow."""
    from .catalogue import documents_dir
    start = _time.perf_counter()
    header = claim.extra.get("header", "")
    doc_lines = {ln.strip() for ln in (documents_dir() / claim.document).read_text(encoding="utf-8").splitlines()}
    if header.strip() not in doc_lines:
        raise V.VerificationError("the field header must be a table header line of the document, verbatim")
    columns = _cells(header)[1:]
    text = claim.corrected if form == "corrected" else claim.latex
    cells = _cells(text)
    if len(cells) != len(columns) + 1:
        raise V.VerificationError(f"the row has {len(cells) - 1} cells for {len(columns)} columns")
    quantity = re.sub(r"\(.*\)\s*$", "", cells[0]).strip()            # 'a_t (prior coeff.)' -> 'a_t'

    def worst_per_column(notation_name):
        notation = get_notation(notation_name)
        rng = np.random.default_rng(seed)
        out = {}
        for col, cell in zip(columns, cells[1:]):
            rel = L.parse_relation(f"{quantity} = {cell}")
            worst = 0.0
            for _ in range(2):
                model = Model(_table_paths(col, rng), gaussian(0, 1))
                res = (interpret(rel.sides[1], rel.atoms, model, notation)
                       - interpret(rel.sides[0], rel.atoms, model, notation))
                for _ in range(4):
                    pt = {T_SYM: sp.Float(rng.uniform(0.05, 0.85), 50)}
                    worst = max(worst, abs(complex(V.evaluate(res, pt))))
            out[col] = worst
        return out

    own = worst_per_column(claim.notation)
    worst = max(own.values())
    holds = True if worst < HOLD_TOL else (False if worst >= V.REFUTE_TOL else None)
    detail = f"{quantity} per column ({claim.notation}): " + ", ".join(f"{c.split()[0]}: {v:.3g}" for c, v in own.items())
    other = claim.extra.get("other_notation")
    if other:
        alt = worst_per_column(other)
        detail += f"; same row under {other}: " + ", ".join(f"{c.split()[0]}: {v:.3g}" for c, v in alt.items())
    return MethodResult("table-row", form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=detail)


METHODS["table-row"] = table_row
