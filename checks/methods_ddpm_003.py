r"""Plugin method "d003" for the claims of 003 chapters 2, 3 and 6 (checks/claims/ddpm_003.toml).

The claim's own LaTeX is parsed (checks.latex.parse_relation) after a few *lexical* rewrites of constructs the
core normaliser does not read yet (each is a renaming, never a change of the formula):

* ``X^*`` and ``X_0^*`` (the optimal predictor)        -> ``X_{*}``;
* ``\alpha'_t``, ``c'(t)`` (time derivatives, primes)   -> ``\dot{\alpha}_t``, ``\dot{c}(t)``;
  unicode α, σ -> ``\alpha``, ``\sigma``;
* a conditional bar ``|`` inside a density              -> ``\mid``; ``\mathbf{x}(t)`` -> ``\mathbf{x}_t``;
* ``\mathbb{E}[A | B]`` (conditional mean of eps or x_0) -> ``A_{*}(B)``; ``\text{Cov}[x | B]`` -> ``x_{cov}(B)``;
* ``\|A\|_2^2`` (squared norm, one-dimensional reduction) -> ``(A)^2``; ``\tilde{\mathbf{x}}`` -> ``\mathbf{y}``;
* ``\nabla_x E_{\phi}(``, ``E_{\phi}(`` (energy)          -> ``\psi_{gradE}(``, ``\psi_{E}(``;
  ``p_\sigma`` -> ``p_{\sigma}``;
* ``\mathcal{D}_{\text{KL}}(P \| Q)``                    -> ``D_{KL}(P, Q)``; ``\Delta p`` (Laplacian) -> ``\nabla^2 p``;
* ``\mathbf{x}_{s}^{\text{FM}}``, ``\mathbf{v}^{\text{FM}}`` -> ``\mathbf{x}_{FM}(s)``, ``\mathbf{v}_{FM}``;
* ``\underbrace{A}_{...}`` -> ``A``; ``\stackrel{d}{=}`` -> ``=``; ``d\bar{t}`` -> ``dt`` (direction = reverse).

Discrete indices are then renamed on the parsed placeholders (i -> t, i-1 -> t-Δt, i+1 -> t+Δt, n -> t,
n+1 -> t+Δt) and the symbols are interpreted with the notations of checks/notations_ddpm_003.py. A display
holding several relations separated by top-level commas (Lemma 2.2.2: "mu := ..., sigma^2 := ...") is checked
part by part; side conditions such as "x_0 ~ p_data" are skipped.

Modes (claim field ``mode``):
* "equation" (default): every relation sign holds identically (residual 0) in the reference models;
* "law": ``p(a | b, c) = N(a; mean, var)`` or ``a \sim N(mean, var)``: mean and variance equal the exact law
  of a given its conditions: the perturbation kernel (given x_0), the transition kernel (given an earlier
  state), the DDPM posterior (given a later state and x_0, Bayes' rule), or Gaussian-data marginals;
* "sample": ``a = (affine in standard normal noises)``: the law of the right side given its states equals the
  exact conditional law of a (reparameterised sampling, e.g. (2.2.1), Table 3.1);
* "langevin-step": ``x_{n+1} = x_n + ... + sqrt(2 eta) eps_n``: (E[x_{n+1}] - x_n)/eta -> score(x_n) and
  Var/eta -> 2 as eta -> 0 (Euler–Maruyama consistency with the Langevin SDE of the target p);
* "langevin-sde": ``dx = A dt + B dw`` leaves the target density p stationary (Fokker–Planck residual 0);
* "sde": the engine's Fokker–Planck check of ``dx = A dt + B dw`` against the exact marginals (verify._sde_residual);
* "equal-law": both sides affine in independent standard normal noises have equal mean and variance;
* "table": a table row ``| name | | A_t | B_t |``: the field ``target`` equals A_t x_0 + B_t eps.
Options: ``reparam`` (eps is the noise of x_t = alpha_t x_0 + sigma_t eps: x_0 is read from (x_t, eps)),
``ode`` (a side dx(t)/dt is the PF-ODE velocity), ``bare_x = "state"`` (x is the state, not the clean sample),
``underbrace`` (check each labelled ``\underbrace{A}_{B}`` as A = B). A ``\propto`` relation holds when the
log-ratio of its sides does not depend on the free model output, the noise or the states (a loss weight).

Residuals are evaluated at seeded random points at 50 digits on concrete schedules (claim field ``schedule``
picks the family) with Gaussian-mixture data, and proved symbolically where SymPy can (generic N(m, v) data).
"""
from __future__ import annotations

import re
import time as _time
from dataclasses import replace

import numpy as np
import sympy as sp

from checks import latex as L
from checks import verify as V
from checks.notation import get_notation, interpret
from checks.notations_ddpm_003 import ddpm_posterior, oracle_velocity
from checks.verdict import MethodResult
from derive.symbols import dt as DT, eps as EPS, t as T_SYM, x as X_SYM, x0 as X0_SYM

SYMBOLIC_SECONDS = 2
MODES = ("equation", "law", "sample", "equal-law", "table", "sde", "langevin-step", "langevin-sde")
INDEX = {"i": "t", "i-1": "t-@dt@", "i+1": "t+@dt@", "n": "t", "n+1": "t+@dt@", "\\ell": "t"}


# --- lexical rewrites ------------------------------------------------------------------------------

def _replace_group(text: str, command: str, build) -> str:
    """Replace every ``command{A}...`` group by build(A, rest_index) (balanced braces)."""
    out, i = [], 0
    while True:
        j = text.find(command, i)
        if j < 0:
            return "".join(out) + text[i:]
        k = j + len(command)
        while k < len(text) and text[k] == " ":
            k += 1
        if k >= len(text) or text[k] not in "{[":
            out.append(text[i:k])
            i = k
            continue
        inner, end = L.balanced(text, k, text[k], "}" if text[k] == "{" else "]")
        replacement, end = build(inner, end)
        out.append(text[i:j] + replacement)
        i = end


def _underbrace(inner: str, end: int, text: str) -> tuple[str, int]:
    mo = re.match(r"\s*_\s*", text[end:])
    if mo and text[end + mo.end()] == "{":
        _, end = L.braced(text, end + mo.end())
    return " " + inner + " ", end


def _expectation(text: str) -> str:
    r"""\mathbb{E}[A | B] and \mathbb{E}_{...}[A | B] -> A_{*}(B) for A the noise or the clean sample."""
    pattern = re.compile(r"\\mathbb\{E\}\s*(_\s*\{)?")
    while True:
        mo = pattern.search(text)
        if not mo:
            return text
        k = mo.end()
        if mo.group(1):
            _, k = L.braced(text, k - 1)
        k += len(text[k:]) - len(text[k:].lstrip())
        if k >= len(text) or text[k] != "[":
            raise L.LatexError("an expectation must read \\mathbb{E}[A | B]")
        inner, end = L.balanced(text, k, "[", "]")
        parts = re.split(r"\\mid|(?<!\\)\|", inner)
        if len(parts) != 2:
            raise L.LatexError(f"expectation {inner[:40]!r} is not a conditional mean E[A | B]")
        target, given = (p.strip() for p in parts)
        base = re.sub(r"_\s*\{?0\}?$", "", target)
        if not re.fullmatch(r"(\\boldsymbol\{\\epsilon\}|\\epsilon|\\mathbf\{x\}|x)", base):
            raise L.LatexError(f"conditional mean of {target!r} is not supported (noise or clean sample only)")
        text = text[:mo.start()] + f" {base}_{{*}}({given}) " + text[end:]


def _covariance(text: str) -> str:
    r"""\text{Cov}[\mathbf{x} | B] -> \mathbf{x}_{cov}(B): the posterior variance of the clean sample."""
    mo = re.search(r"\\text\{Cov\}\s*\[\s*\\mathbf\{x\}(?:_0)?\s*(?:\||\\mid)\s*(.+?)\]", text)
    while mo:
        text = text[:mo.start()] + rf" \mathbf{{x}}_{{cov}}({mo.group(1)}) " + text[mo.end():]
        mo = re.search(r"\\text\{Cov\}\s*\[\s*\\mathbf\{x\}(?:_0)?\s*(?:\||\\mid)\s*(.+?)\]", text)
    return text


def prepare(text: str) -> str:
    """Lexical rewrites of the document's LaTeX into the dialect checks.latex reads (module docstring)."""
    s = text.replace(r"\stackrel{d}{=}", "=").replace("$", " ").replace("α", r"\alpha").replace("σ", r"\sigma")
    s = re.sub(r"\\mathbf\{x\}\(t\)", r"\\mathbf{x}_t", s)            # x(t) is the state x_t
    s = re.sub(r"\\Delta\s*(?=p|\\rho)", r"\\nabla^2 ", s)
    s = re.sub(r"d\\bar\{t\}", "dt", s)       # reverse-time differential: the claim's direction says reverse
    s = _covariance(s)
    # x_{tau(t)}^{FM}, x_t^{FM}, x_{tau_t}^{Trig}, v^{FM}(...): a path's state/velocity at an inner time
    s = re.sub(r"(\\mathbf\{[xv]\})_\{([^{}]*(?:\([^()]*\))?)\}\s*\^\s*\{\\text\{(FM|Trig)\}\}", r"\1_{\3}(\2)", s)
    s = re.sub(r"(\\mathbf\{[xv]\})_([a-z])\s*\^\s*\{\\text\{(FM|Trig)\}\}", r"\1_{\3}(\2)", s)
    s = re.sub(r"(\\mathbf\{v\})\^\{\\text\{(FM|Trig)\}\}", r"\1_{\2}", s)
    s = _replace_group(s, r"\underbrace", lambda inner, end: _underbrace(inner, end, s))
    s = _expectation(s)
    s = s.replace(r"\tilde{\mathbf{x}}", r"\mathbf{y}").replace(r"\tilde{x}", "y")
    s = re.sub(r"\\nabla_\{?\\mathbf\{x\}\}?\s*E_\{?\\phi\}?\s*\(", r"\\psi_{gradE}(", s)
    s = re.sub(r"E_\{?\\phi\}?\s*\(", r"\\psi_{E}(", s)
    s = re.sub(r"(\\mathbf\{[a-zA-Z]\}|\\boldsymbol\{\\epsilon\}|\\epsilon|[a-zA-Z])"
               r"(?:_\{?0\}?)?\s*\^\s*\{?\*\}?",
               r"\1_{*}", s)
    s = re.sub(r"(\\alpha|\\sigma|\\tau|\\rho|c)'(_\{?t\}?)", r"\\dot{\1}\2", s)
    s = re.sub(r"(\\alpha|\\sigma|\\tau|\\rho|c)'\s*\(", r"\\dot{\1}(", s)
    s = re.sub(r"(\\mathcal\{D\}_\{\\text\{KL\}\}\s*(?:\\left)?\(.*?)\\\|", r"\1,", s)   # D_KL(P || Q) -> D_KL(P, Q)
    s = re.sub(r"\\\|(.+?)\\\|_2\^2", r"(\1)^2", s)
    s = re.sub(r"_\\(sigma|phi|theta)(?![a-zA-Z])", r"_{\\\1}", s)
    s = re.sub(r"(?<![\\|])\|(?!\|)", r" \\mid ", s)
    return s


SIDE = re.compile(r"^\s*(\\quad\s*)*(\\text\{[^}]*\}\s*)*[^=]*\\sim\s*(p_|\\mathcal\{N\}\s*\(\s*\\mathbf\{0\})"
                  r"|^\s*(\\quad\s*)*\\text|^\s*(\\quad\s*)*(i|n)\s*=|^\s*(\\quad\s*)*\\mathbf\{x\}_\{?i\}?\s*\\sim")


def split_parts(text: str) -> list[str]:
    """Top-level comma-separated parts that hold a relation; side conditions (x_0 ~ p_data, eps ~ N(0, I),
    'i = L, ...') are dropped."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    merged: list[str] = []
    parts = [p for p in parts if not re.search(r"\\geq|\\leq|\\neq|\\ge\b|\\le\b", p)]   # conditions
    for p in parts:                       # a comma inside a formula (no relation after it) stays in its part
        if merged and not re.search(r"=|\\sim|\\approx|\\equiv|\\propto|\\leftarrow", p):
            merged[-1] += "," + p
        else:
            merged.append(p)
    kept = [p for p in merged if p.strip() and not SIDE.match(p)]
    kept = [re.sub(r"\\quad\s*\(\s*[0-9.]+\s*\)\s*$", "", p) for p in kept]
    return [p for p in kept if re.search(r"=|\\sim|\\approx|\\equiv|\\propto|\\leftarrow", p)]


def reindex(rel: L.Relation) -> L.Relation:
    """Rename discrete indices of the placeholders to times (i -> t, i-1 -> t-Δt, n+1 -> t+Δt, ...)."""
    atoms = {}
    for name, (base, sub) in rel.atoms.items():
        key = sub.replace(" ", "")
        atoms[name] = (base, INDEX.get(key, sub))
    return L.Relation(rel.sides, rel.ops, atoms)


def underbraces(text: str) -> list[str]:
    r"""'A = B' for every \underbrace{A}_{B} whose label B is a formula (e.g. (2.2.14): the bracket is mu_phi)."""
    out, i = [], 0
    while (j := text.find(r"\underbrace", i)) >= 0:
        k = text.index("{", j)
        inner, end = L.braced(text, k)
        mo = re.match(r"\s*_\s*", text[end:])
        label, end = L.braced(text, end + mo.end()) if mo else ("", end)
        if label and not label.strip().startswith(r"\text"):
            out.append(f"{inner} = {label}")
        i = end
    return out


def relations(claim, form: str) -> list[L.Relation]:
    if claim.extra.get("underbrace") and form == "document":
        return [reindex(L.parse_relation(prepare(p))) for p in underbraces(claim.latex)]
    if claim.extra.get("mode") == "table":
        text = claim.corrected if form == "corrected" else claim.latex
        cells = [c.strip() for c in text.replace("$", " ").split("|") if c.strip()]
        a_cell, b_cell = cells[-2:]
        text = f"{claim.extra['target']} = ({a_cell}) \\mathbf{{x}}_0 + ({b_cell}) \\epsilon"
        return [reindex(L.parse_relation(prepare(text)))]
    if form == "corrected":
        text = claim.corrected
    elif claim.transcribed:
        text = claim.transcribed
    else:
        left = claim.extra.get("continues", "")
        text = f"{left} {claim.latex}" if left else claim.latex
    return [reindex(L.parse_relation(prepare(p))) for p in split_parts(text)]


# --- residual builders -----------------------------------------------------------------------------

def _noises(expr) -> list:
    return sorted((s for s in expr.free_symbols if s.name.startswith("epsilon")), key=lambda s: s.name)


def _states(model, expr) -> list:
    return sorted((s for s in expr.free_symbols if model.time_of(s) is not None),
                  key=lambda s: float(sp.sympify(model.time_of(s), strict=True).subs({T_SYM: sp.Rational(1, 2),
                                                                         DT: sp.Rational(1, 1000)})))


def true_law(model, target, conds):
    """Exact (mean, variance) of the state ``target`` given the states ``conds``."""
    tau = model.time_of(target)
    others = [c for c in conds if c != X0_SYM]
    times = {c: model.time_of(c) for c in others}
    if not conds:
        if len(model.data.weights) != 1:
            raise V.VerificationError("a marginal law is compared on Gaussian data only")
        a = model.alpha(tau)
        return a * model.data.means[0], a**2 * model.data.variances[0] + model.sigma(tau)**2
    if conds == [X0_SYM]:
        return model.alpha(tau) * X0_SYM, model.sigma(tau)**2
    if len(others) == 1 and X0_SYM in conds:       # posterior q(x_s | x_t, x_0)
        return ddpm_posterior(model, tau, others[0], times[others[0]], X0_SYM)
    if len(others) == 1:
        return model.conditional(target, tau, others[0], times[others[0]])
    raise V.VerificationError(f"cannot form the law of {target} given {conds}")


def _law_residuals(rel, model, notation):
    if len(rel.sides) != 2 or rel.ops[0] not in (r"\sim", "=", ":="):
        raise V.VerificationError("a law reads 'A \\sim N(mean, var)' or 'p(a | b) = N(a; mean, var)'")
    law = rel.sides[1]
    if not (isinstance(law, sp.core.function.AppliedUndef) and rel.atoms_base(law) in ("N", "mathcalN")):
        raise V.VerificationError("right side must be \\mathcal{N}(...)")
    args = [interpret(a, rel.atoms, model, notation) for a in law.args]
    mean, var = args[-2], args[-1]
    if rel.ops[0] == r"\sim":
        target = interpret(rel.sides[0], rel.atoms, model, notation)
        conds = [s for s in _states(model, mean)]
    else:
        lhs = rel.sides[0]
        if not isinstance(lhs, sp.core.function.AppliedUndef):
            raise V.VerificationError("left side must be a density p(a | b, ...)")
        largs = [interpret(a, rel.atoms, model, notation) for a in lhs.args]
        target, conds = args[0], [c for c in largs[1:] if model.time_of(c) is not None]
    states = _states(model, target)
    if len(states) != 1:
        raise V.VerificationError(f"the random quantity must hold one state, found {states}")
    x_sym = states[0]
    slope = sp.diff(target, x_sym)
    true_mean, true_var = true_law(model, x_sym, [c for c in conds if c != x_sym])
    return [mean - (slope * true_mean + target.subs(x_sym, 0)), var - slope**2 * true_var]


def _sample_residuals(rel, model, notation):
    lhs, rhs = (interpret(s, rel.atoms, model, notation) for s in rel.sides[:2])
    if not _noises(rhs):                       # a deterministic identity (e.g. (2.2.12))
        return [rhs - lhs]
    states = _states(model, lhs)
    if len(states) != 1 or sp.diff(lhs, states[0]) != 1 or lhs != states[0]:
        raise V.VerificationError("a sampling formula reads 'state = affine in noises'")
    noises = _noises(rhs)
    mean = rhs.subs({n: 0 for n in noises})
    var = sp.Add(*[sp.diff(rhs, n)**2 for n in noises])
    if any(n in sp.diff(rhs, m).free_symbols for n in noises for m in noises):
        raise V.VerificationError("the right side must be affine in the noises")
    conds = [c for c in _states(model, mean) if c != X0_SYM] + ([X0_SYM] if X0_SYM in mean.free_symbols else [])
    true_mean, true_var = true_law(model, states[0], conds)
    return [mean - true_mean, var - true_var]


def _langevin_step(rel, model, notation):
    lhs, rhs = (interpret(s, rel.atoms, model, notation) for s in rel.sides[:2])
    expr = lhs - rhs
    states = _states(model, expr)
    if len(states) != 2:
        raise V.VerificationError(f"a Langevin step relates two states, found {states}")
    old, new = states
    slope = sp.diff(expr, new)
    update = -expr.subs(new, 0) / slope
    noises = _noises(update)
    mean = update.subs({n: 0 for n in noises})
    var = sp.Add(*[sp.diff(update, n)**2 for n in noises])
    drift = ((mean - old) / DT).subs(old, X_SYM) - model.score(X_SYM, T_SYM)
    return [drift, (var / DT).subs(old, X_SYM) - 2]


def _langevin_sde(rel, model, notation, claim):
    drift, diff_sq, _ = V._sde_parts(rel, model, notation, replace(claim, direction="forward"))
    logp = model.log_density(X_SYM, T_SYM)
    lx = sp.diff(logp, X_SYM)
    return [sp.diff(drift, X_SYM) + drift * lx - diff_sq * (sp.diff(lx, X_SYM) + lx**2) / 2]


def _equal_law(rel, model, notation):
    """Both sides affine in independent standard normal noises: equal means and variances."""
    sides = [interpret(s, rel.atoms, model, notation) for s in rel.sides[:2]]
    moments = []
    for side in sides:
        noises = _noises(side)
        moments.append((side.subs({n: 0 for n in noises}), sp.Add(*[sp.diff(side, n)**2 for n in noises])))
    return [moments[0][0] - moments[1][0], moments[0][1] - moments[1][1]]


def _bare_x_state(notation):
    inner = notation["x"]
    return {**notation, "x": lambda M, tau, a, sub: X_SYM if not a and not sub else inner(M, tau, a, sub)}


def residuals(claim, rel, model) -> tuple[list, bool]:
    """Residuals of one relation in ``model``; flag: the step size Δt is to be taken to 0."""
    notation = get_notation(claim.notation or "ddpm_003")
    if claim.extra.get("bare_x") == "state":     # the bare x is the state x_t (e.g. (6.4.3)), not the clean sample
        notation = _bare_x_state(notation)
    mode = claim.extra.get("mode", "equation")
    if mode not in MODES:
        raise V.VerificationError(f"claim {claim.id!r}: mode {mode!r} not one of {MODES}")
    if mode == "law":
        return _law_residuals(rel, model, notation), False
    if mode == "sample":
        return _sample_residuals(rel, model, notation), False
    if mode == "langevin-step":
        return _langevin_step(rel, model, notation), True
    if mode == "langevin-sde":
        return _langevin_sde(rel, model, notation, claim), False
    if mode == "sde":
        return [V._sde_residual(rel, model, notation, claim)], False
    if mode == "equal-law":
        return _equal_law(rel, model, notation), False
    if r"\propto" in rel.ops:          # a ratio free of the model output, the noise and the state (a weight)
        sides = [interpret(s, rel.atoms, model, notation) for s in rel.sides]
        if claim.extra.get("reparam"):
            clean = (X_SYM - model.sigma(T_SYM) * EPS) / model.alpha(T_SYM)
            sides = [s_.subs(X0_SYM, clean) for s_ in sides]
        ratio = sp.log(sides[0]) - sp.log(sides[1])
        free = [s_ for s_ in ratio.free_symbols if s_.name in ("E_phi", "epsilon", "x", "x_0")]
        if not any(s_.name == "E_phi" for s_ in free):
            raise V.VerificationError("a loss proportionality must involve the free model output")
        return [sp.diff(ratio, s_) for s_ in free], False
    sides = []
    for side in rel.sides:
        if isinstance(side, sp.Derivative) and claim.extra.get("ode"):   # dx(t)/dt of the PF-ODE: the oracle velocity
            sides.append(oracle_velocity(model, X_SYM, T_SYM))
        else:
            sides.append(interpret(side, rel.atoms, model, notation))
    out = []
    for i, op in enumerate(rel.ops):
        if op not in ("=", ":=", r"\equiv", r"\leftarrow"):
            raise V.VerificationError(f"relation {op!r} is not an equality")
        out.append(sides[i + 1] - sides[i])
    if claim.extra.get("reparam") or mode == "table":   # eps is the noise of x_t = alpha_t x_0 + sigma_t eps
        clean = (X_SYM - model.sigma(T_SYM) * EPS) / model.alpha(T_SYM)
        out = [r.subs(X0_SYM, clean) for r in out]
    return out, False


# --- evaluation ------------------------------------------------------------------------------------

def _evaluate(expr: sp.Expr, point: dict) -> float:
    """|expr| at ``point`` at 50 digits (checks.verify.evaluate: compiled to mpmath once per expression)."""
    return abs(complex(V.evaluate(expr, point)))


def _numeric(claim, rels, form, seed, n_points=4) -> MethodResult:
    start = _time.perf_counter()
    rng = np.random.default_rng(seed)
    worst, where = 0.0, ""
    for model in V.numeric_models(rng, family=claim.extra.get("schedule", "")):
        for rel in rels:
            res, limit = residuals(claim, rel, model)
            for r in res:
                r = r.doit()
                for pt in V._points(rng, model, r.free_symbols, n_points):
                    if limit and DT in pt:
                        pt[DT] = sp.Float("1e-24", V.DIGITS)
                    val = _evaluate(r, pt)
                    if val != val or val == float("inf"):
                        return MethodResult("d003-exact", form, None, None, seed=seed,
                                            seconds=_time.perf_counter() - start,
                                            detail=f"residual not finite on {model.schedule.name}")
                    if val > worst:
                        worst = val
                        where = f"{model.schedule.name} at " + ", ".join(f"{k}={float(v):.4g}" for k, v in pt.items())
    holds = True if worst < V.HOLD_TOL else (False if worst >= V.REFUTE_TOL else None)
    return MethodResult("d003-exact", form, holds, worst, seed=seed, seconds=_time.perf_counter() - start,
                        detail=f"worst residual {worst:.3g} ({where}); mode {claim.extra.get('mode', 'equation')}")


def _symbolic(claim, rels, form) -> MethodResult:
    start = _time.perf_counter()
    ok = True
    try:
        with V._time_limit(SYMBOLIC_SECONDS):
            model = V.symbolic_model(claim.extra.get("schedule", ""))
            for rel in rels:
                res, limit = residuals(claim, rel, model)
                for r in res:
                    r = r.doit()
                    if limit and DT in r.free_symbols:
                        r = sp.limit(sp.cancel(r), DT, 0)
                    if sp.simplify(r) != 0:
                        ok = None
                        break
    except (V._Timeout, NotImplementedError, ValueError, TypeError):
        ok = None
    return MethodResult("d003-symbolic", form, ok, 0.0 if ok else None, seconds=_time.perf_counter() - start,
                        detail="data N(m, v), " + (claim.extra.get("schedule", "") or "generic") + " schedule"
                        + ("" if ok else "; not simplified to 0 (numeric method decides)"))


def method(claim, form: str, seed: int, samples=None) -> MethodResult:
    """The "d003" method: parse (with the rewrites above), reindex, interpret, evaluate (module docstring)."""
    rels = relations(claim, form)
    if not rels:
        raise V.VerificationError(f"claim {claim.id!r}: no relation found in the {form} form")
    numeric = _numeric(claim, rels, form, seed)
    if numeric.holds is False or claim.extra.get("mode") in ("langevin-step",):
        return numeric
    symbolic = _symbolic(claim, rels, form)
    if symbolic.holds:
        numeric.detail += "; symbolic residual 0 (" + symbolic.detail + ")"
    return numeric


METHODS = {"d003": method}
