r"""``python -m checks.latex '<latex>' --against NAME [--assume 'alpha means alpha-bar'] [--list]``.

Checks a formula a user types against an object derived in derive/: the LaTeX is *parsed* (checks.latex, never
eval/sympify), its symbols are read in a notation (checks.notation: ``common`` by default, with
``alpha_t`` = signal scale, ``\sigma_t`` = noise scale, ``\beta(t)`` = -2 f(t), ``\bar\alpha_t`` = alpha_t^2,
``\lambda_t`` = log-SNR, ``g``, ``f``, ``\nabla_x \log p_t(x)`` = the exact score), and the difference from the
derived object is evaluated at 30 digits at seeded random points of concrete reference models
(checks.verify.numeric_models: schedules with Gaussian-mixture data). The answer is ``holds`` (every point agrees
to 1e-10) or ``differs`` with a counterexample point, followed by the derived (corrected) form.

Discrete DDPM objects (``ddpm.*``, where derive/ddpm.py exists) read \beta_t, \alpha_t = 1 - \beta_t,
\bar\alpha_t, \bar\alpha_{t-1}, x_t, x_0, x_{t-1}, \epsilon_\theta as the symbols of derive.ddpm.

Exit status: 0 holds, 1 differs, 2 bad input (malformed LaTeX, unknown name, unknown assumption), 3 inconclusive.
"""
from __future__ import annotations

import argparse
import importlib
import re
import sys
from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy as sp

from derive import schedules
from derive.reverse_sde import forward_sde, reverse_sde
from derive.pf_ode import pf_ode
from derive.symbols import t as T_SYM, u as U_SYM, x as X_SYM

HOLD_TOL = 1e-10
DIFFER_TOL = 1e-6
DIGITS = 30
N_POINTS = 4


class UsageError(ValueError):
    """Bad command-line input: printed as one line, exit status 2."""


# --------------------------------------------------------------------------------------- derived objects
_beta_fn = sp.Function("beta", positive=True)
_sigma_fn = sp.Function("sigma", positive=True)


def _symbolic_vp() -> schedules.Schedule:
    """VP with a free beta(t): alpha_t = exp(-1/2 int_0^t beta), sigma_t^2 = 1 - alpha_t^2 (for the displayed form)."""
    big_b = sp.Integral(_beta_fn(U_SYM), (U_SYM, 0, T_SYM))
    return schedules.Schedule("vp", sp.exp(-big_b / 2), sp.sqrt(1 - sp.exp(-big_b)), 0.0, 1.0)


def _symbolic_ve() -> schedules.Schedule:
    """VE with a free sigma(t): alpha_t = 1."""
    return schedules.Schedule("ve", sp.Integer(1), _sigma_fn(T_SYM), 0.0, 1.0)


@dataclass(frozen=True)
class Target:
    """A named derived object: ``value(model)`` is its expression in a checks.notation.Model."""

    description: str
    value: Callable
    family: str = ""                       # schedule family of the test models ("" = several families)
    display: Callable | None = None        # schedule for the printed form (default: the generic one)
    show: Callable | None = None           # the printed form (default: value), e.g. with the score kept as a symbol


def _score(model):
    return model.score(X_SYM, T_SYM)


SCORE = sp.Symbol("score", real=True)         # the score kept as a symbol in the printed form
_LATEX_NAMES = {SCORE: r"\nabla_x \log p_t(x)"}


MODEL_TARGETS = {
    "schedule.drift_coeff": Target("f(t) = d log alpha_t / dt (derive.schedules)", lambda M: M.f(T_SYM)),
    "schedule.diffusion_sq": Target("g(t)^2 = d sigma_t^2/dt - 2 f(t) sigma_t^2 (derive.schedules)",
                                    lambda M: M.g2(T_SYM)),
    "schedule.log_snr": Target("lambda_t = log(alpha_t / sigma_t) (derive.schedules)", lambda M: M.log_snr(T_SYM)),
    "vp.drift": Target("drift f(t) x of the VP SDE (derive.schedules.vp_linear)", lambda M: M.f(T_SYM) * X_SYM,
                       "vp-linear", _symbolic_vp),
    "vp.diffusion_sq": Target("g(t)^2 of the VP SDE (derive.schedules.vp_linear)", lambda M: M.g2(T_SYM),
                              "vp-linear", _symbolic_vp),
    "ve.drift": Target("drift f(t) x of the VE SDE (derive.schedules.ve)", lambda M: M.f(T_SYM) * X_SYM,
                       "ve", _symbolic_ve),
    "ve.diffusion_sq": Target("g(t)^2 of the VE SDE (derive.schedules.ve)", lambda M: M.g2(T_SYM),
                              "ve", _symbolic_ve),
    "forward_sde.drift": Target("drift of dx = f(t) x dt + g(t) dw (derive.reverse_sde.forward_sde)",
                                lambda M: forward_sde(M.schedule).drift),
    "reverse_sde.drift": Target("drift f x - g^2 score of Anderson's reverse SDE (derive.reverse_sde.reverse_sde)",
                                lambda M: reverse_sde(M.schedule, _score(M)).drift,
                                show=lambda M: reverse_sde(M.schedule, SCORE).drift),
    "reverse_sde.diffusion_sq": Target("g(t)^2 of the reverse SDE (derive.reverse_sde.reverse_sde)",
                                       lambda M: reverse_sde(M.schedule, _score(M)).diffusion_sq),
    "pf_ode.velocity": Target("f x - 1/2 g^2 score, the probability-flow ODE velocity (derive.pf_ode.pf_ode)",
                              lambda M: pf_ode(M.schedule, _score(M)).drift,
                              show=lambda M: pf_ode(M.schedule, SCORE).drift),
    "score.x0_prediction": Target("Tweedie: E[x_0 | x_t] = (x + sigma_t^2 score) / alpha_t (checks.notation.Model)",
                                  lambda M: M.x0_pred(X_SYM, T_SYM)),
    "score.eps_prediction": Target("E[eps | x_t] = -sigma_t score (checks.notation.Model)",
                                   lambda M: M.eps_pred(X_SYM, T_SYM)),
}


@dataclass(frozen=True)
class DiscreteTarget:
    description: str
    value: Callable                        # () -> expression in derive.ddpm's symbols


def _ddpm():
    try:
        return importlib.import_module("derive.ddpm")
    except ImportError:
        return None


def discrete_targets() -> dict[str, DiscreteTarget]:
    """DDPM objects (only when derive/ddpm.py is present)."""
    d = _ddpm()
    if d is None:
        return {}
    found = {
        "ddpm.posterior_mean": DiscreteTarget("mean of q(x_{t-1} | x_t, x_0) (derive.ddpm.posterior)",
                                              lambda: d.posterior()[0]),
        "ddpm.posterior_variance": DiscreteTarget("variance beta-tilde of q(x_{t-1} | x_t, x_0) (derive.ddpm.posterior)",
                                                  lambda: d.posterior()[1]),
        "ddpm.eps_mean": DiscreteTarget("eps-parameterised mean mu_theta(x_t) (derive.ddpm.eps_mean)",
                                        lambda: d.eps_mean()),
        "ddpm.x0_from_eps": DiscreteTarget("x_0 from x_t and eps (derive.ddpm.x0_from_eps)",
                                           lambda: d.x0_from_eps()),
    }
    return found


def names() -> dict[str, str]:
    """Every name ``--against`` accepts, with its description."""
    out = {k: v.description for k, v in MODEL_TARGETS.items()}
    out.update({k: v.description for k, v in discrete_targets().items()})
    return dict(sorted(out.items()))


# ------------------------------------------------------------------------------------------- notations
def _model_notation(name: str):
    from checks.notation import get_notation
    base = dict(get_notation(name or "common"))
    if not name:
        base.setdefault("alphabar", lambda M, tau, a, s: M.alpha(tau)**2)
        base.setdefault("lambda", lambda M, tau, a, s: M.log_snr(tau))
    return base


class _NoModel:
    """The DDPM notation reads symbols only; no state has a model time."""

    def time_of(self, state):
        return None


def _ddpm_notation():
    d = _ddpm()

    def at(table):
        def handler(M, tau, args, sub):
            key = sp.srepr(tau)
            if key not in table:
                raise UsageError(f"no DDPM symbol at time {tau} (use t, t-1 or 0)")
            return table[key]
        return handler
    t_, tm1, zero = sp.srepr(T_SYM), sp.srepr(T_SYM - 1), sp.srepr(sp.Integer(0))
    eps_handler = lambda M, tau, a, s: d.eps_theta if (a or "theta" in s) else d.eps  # noqa: E731
    return {
        "beta": at({t_: d.beta_t}),
        "alpha": at({t_: 1 - d.beta_t}),
        "alphabar": at({t_: (1 - d.beta_t) * d.alphabar_prev, tm1: d.alphabar_prev}),
        "x": at({t_: d.x_t, tm1: d.x_prev, zero: d.x0}),
        "epsilon": eps_handler,
        "sigma": at({t_: d.sigma_t}),
    }


_ASSUME = re.compile(r"^\s*\\?([A-Za-z]+)(?:[-_ ]?(bar))?\s+(?:means|is|denotes|=)\s+\\?([A-Za-z]+)(?:[-_ ]?(bar))?\s*$")


def apply_assumptions(notation: dict, assumptions: list[str]) -> tuple[dict, str]:
    """``'A means B'``: the document's A is the workbench's B (e.g. 'alpha means alpha-bar'); ``'notation N'``
    selects a document notation of checks.notation (e.g. 'notation 002'). Returns (notation, notation name)."""
    chosen = ""
    table = dict(notation)
    for text in assumptions:
        mo = re.match(r"^\s*notation\s+(\S+)\s*$", text)
        if mo:
            chosen = mo.group(1)
            continue
        mo = _ASSUME.match(text)
        if not mo:
            raise UsageError(f"cannot read --assume {text!r}; write 'A means B' (e.g. 'alpha means alpha-bar') "
                             "or 'notation NAME'")
        a, b = mo.group(1) + (mo.group(2) or ""), mo.group(3) + (mo.group(4) or "")
        if b not in table:
            raise UsageError(f"--assume {text!r}: {b!r} is not a known quantity; known: {sorted(table)}")
        table[a] = table[b]
    return table, chosen


# ------------------------------------------------------------------------------------------------ input
_OPS = "+-*/^_="


def bad_token(latex: str, message: str) -> tuple[int, str] | None:
    """(column, token) of the likely culprit of a parse failure, or None."""
    depth, opened = 0, []
    for i, ch in enumerate(latex):
        if ch == "{" and (i == 0 or latex[i - 1] != "\\"):
            opened.append(i)
        elif ch == "}" and (i == 0 or latex[i - 1] != "\\"):
            if not opened:
                return i, "}"
            opened.pop()
    if opened:
        return opened[-1], "{"
    mo = re.search(r"\\[A-Za-z]+", message)
    if mo and mo.group(0) in latex:
        return latex.index(mo.group(0)), mo.group(0)
    mo = re.search(r"symbol '([^']+)'", message)
    if mo:
        hit = re.search(r"(?<![A-Za-z\\])" + re.escape(mo.group(1)) + r"(?![A-Za-z])", latex)
        if hit:
            return hit.start(), mo.group(1)
    return None


def lexical_check(latex: str) -> None:
    """Reject what the parser might silently accept: a dangling or doubled binary operator."""
    from checks.latex import LatexError
    s = latex.rstrip()
    if not s.strip():
        raise LatexError("empty formula")
    if s[-1] in _OPS and not s.endswith("\\_"):
        raise LatexError(f"formula ends with the operator {s[-1]!r}")
    for mo in re.finditer(r"([+\-*/^=])\s*([+*/^=])", s):
        if mo.group(0).replace(" ", "") in ("==",):
            continue
        raise LatexError(f"operator {mo.group(2)!r} follows {mo.group(1)!r}")
    if s.lstrip()[0] in "*/^=":
        raise LatexError(f"formula starts with the operator {s.lstrip()[0]!r}")


def parse_user(latex: str):
    """Parse the user's formula; a relation is compared through its right-most side."""
    from checks.latex import LatexError, parse_relation
    if not isinstance(latex, str):
        raise TypeError(f"latex must be a string, got {type(latex).__name__}")
    try:
        lexical_check(latex)
        rel = parse_relation(latex)
    except LatexError as exc:
        msg = str(exc).splitlines()[0] if str(exc) else "cannot parse"
        where = bad_token(latex, msg) or _operator_position(latex, msg)
        at = f" at column {where[0] + 1} ('{where[1]}')" if where else ""
        raise UsageError(f"malformed LaTeX{at}: {msg}") from None
    return rel


def _operator_position(latex: str, msg: str):
    mo = re.search(r"operator '(.)'", msg)
    if not mo:
        return None
    if "ends with" in msg:
        return len(latex.rstrip()) - 1, mo.group(1)
    if "starts with" in msg:
        return len(latex) - len(latex.lstrip()), mo.group(1)
    hit = re.search(r"[+\-*/^=]\s*" + re.escape(mo.group(1)), latex)
    return (hit.end() - 1, mo.group(1)) if hit else None


# --------------------------------------------------------------------------------------------- compare
@dataclass
class Outcome:
    status: str                 # holds | differs | inconclusive
    worst: float
    counterexample: str
    derived: str
    compared: str


def _sample(rng, model, symbols_) -> dict:
    lo = max(model.schedule.t_min, 0.0) + 0.1 if model else 0.1
    hi = (min(model.schedule.t_max, 1.0) - 0.1) if model else 0.9
    point = {}
    for sym in sorted(symbols_, key=lambda s_: s_.name):
        if sym.name in ("t", "s", "u"):
            val = rng.uniform(lo, hi)
        elif sym.name == "beta_t":
            val = rng.uniform(0.01, 0.3)
        elif sym.name.startswith("alphabar"):
            val = rng.uniform(0.1, 0.99)
        elif sym.is_positive:
            val = rng.uniform(0.2, 1.5)
        else:
            val = rng.normal(0, 1.5)
        point[sym] = sp.Float(float(val), DIGITS)
    return point


def _value(expr, point):
    val = sp.N(expr.subs(point).doit(), DIGITS)
    if not val.is_number:
        left = sorted(map(str, val.free_symbols | val.atoms(sp.Function)))[:3]
        raise UsageError(f"the formula keeps {', '.join(left) or 'an unevaluated term'} after reading its symbols; "
                         "it cannot be evaluated (see --assume)")
    return complex(val)


def _describe(point, model) -> str:
    where = ", ".join(f"{k}={float(v):.4g}" for k, v in point.items())
    if model is None:
        return where
    params = ", ".join(f"{k}={v:g}" for k, v in model.schedule.numeric_params().items())
    data = " + ".join(f"{w}*N({m}, {v})" for w, m, v in zip(model.data.weights, model.data.means,
                                                             model.data.variances))
    return f"{where} on schedule {model.schedule.name}" + (f" ({params})" if params else "") + f", data {data}"


def _judge(pairs) -> tuple[str, float, str]:
    """pairs: iterable of (user value, derived value, description) -> (status, worst relative gap, where)."""
    worst, where, undecided = 0.0, "", False
    for user, derived, desc in pairs:
        gap = abs(user - derived) / (1 + abs(derived))
        if not np.isfinite(gap):
            undecided = True
            continue
        if gap > worst:
            worst, where = gap, f"{desc}: yours = {_fmt(user)}, derived = {_fmt(derived)}"
    if worst >= DIFFER_TOL:
        return "differs", worst, where
    if worst < HOLD_TOL and not undecided:
        return "holds", worst, ""
    return "inconclusive", worst, where


def _fmt(z: complex) -> str:
    return f"{z.real:.10g}" if abs(z.imag) < 1e-30 else f"{z.real:.6g}{z.imag:+.6g}i"


def compare(latex: str, name: str, assumptions=(), seed: int = 0) -> Outcome:
    """Compare the user's ``latex`` with the derived object ``name`` (see module docstring)."""
    from checks.notation import Model, NotationError, interpret
    from checks.verify import numeric_models
    from derive.data import gaussian
    rel = parse_user(latex)
    side = rel.sides[-1]
    compared = "the right-hand side" if rel.ops else "the expression"
    rng = np.random.default_rng(seed)
    discrete = discrete_targets()
    if name in MODEL_TARGETS:
        target = MODEL_TARGETS[name]
        chosen = [a.split(None, 1)[1].strip() for a in assumptions if re.match(r"^\s*notation\s+\S", a)]
        try:
            base = _model_notation(chosen[-1] if chosen else "")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        notation, _ = apply_assumptions(base, list(assumptions))
        models = numeric_models(rng, 3 if target.family else 6, target.family)
        pairs = []
        try:
            for model in models:
                user = interpret(side, rel.atoms, model, notation).doit()
                derived = target.value(model)
                for _ in range(N_POINTS):
                    point = _sample(rng, model, user.free_symbols | derived.free_symbols | {T_SYM})
                    pairs.append((_value(user, point), _value(derived, point), _describe(point, model)))
        except NotationError as exc:
            raise UsageError(f"{exc} (see --assume)") from None
        display = Model(target.display() if target.display else schedules.generic(), gaussian())
        shown = sp.simplify((target.show or target.value)(display))
    elif name in discrete:
        target = discrete[name]
        notation, _ = apply_assumptions(_ddpm_notation(), list(assumptions))
        derived = target.value()
        try:
            user = interpret(side, rel.atoms, _NoModel(), notation)
        except NotationError as exc:
            raise UsageError(f"{exc} (see --assume)") from None
        pairs = []
        for _ in range(3 * N_POINTS):
            point = _sample(rng, None, user.free_symbols | derived.free_symbols)
            pairs.append((_value(user, point), _value(derived, point), _describe(point, None)))
        shown = derived
    else:
        known = ", ".join(names())
        raise UsageError(f"unknown name {name!r}; known names: {known}")
    status, worst, where = _judge(pairs)
    return Outcome(status, worst, where, sp.latex(shown, symbol_names=_LATEX_NAMES), compared)


# ------------------------------------------------------------------------------------------------- main
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m checks.latex", description=__doc__.split("\n\n")[0])
    p.add_argument("latex", nargs="?", help="the formula, e.g. '-\\frac{1}{2}\\beta(t) x'")
    p.add_argument("--against", metavar="NAME", help="the derived object to compare with (see --list)")
    p.add_argument("--assume", action="append", default=[], metavar="'A means B'",
                   help="a notation convention, e.g. 'alpha means alpha-bar' or 'notation 002' (repeatable)")
    p.add_argument("--list", action="store_true", help="list the names --against accepts")
    p.add_argument("--seed", type=int, default=0, help="seed of the random evaluation points (default 0)")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.list:
        width = max(map(len, names()))
        for name, desc in names().items():
            print(f"{name:<{width}}  {desc}")
        return 0
    if args.latex is None or not args.against:
        print("error: give a formula and --against NAME (or --list)", file=sys.stderr)
        return 2
    try:
        out = compare(args.latex, args.against, args.assume, args.seed)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, ZeroDivisionError) as exc:     # e.g. a symbol the notation cannot read
        print(f"error: cannot evaluate the formula: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}",
              file=sys.stderr)
        return 2
    if out.status == "holds":
        print(f"holds: {out.compared} equals {args.against} (max relative gap {out.worst:.2g} over the test points)")
    elif out.status == "differs":
        print(f"differs: {out.compared} is not {args.against}; counterexample {out.counterexample}")
    else:
        print(f"inconclusive: gap {out.worst:.2g} ({out.counterexample or 'non-finite values'})")
    print(f"derived: {out.derived}")
    return {"holds": 0, "differs": 1}.get(out.status, 3)
