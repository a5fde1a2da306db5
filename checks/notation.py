r"""Interpretation of a document's symbols in a reference model where every quantity is known exactly.

A parsed formula holds placeholders (base name, subscript) such as ('alphabar', 't-1') or ('p', 'x_t').
A *notation* maps base names to model quantities; the *model* is a schedule (alpha_t, sigma_t) and a data
law (Gaussian or Gaussian mixture), from which f, g^2, lambda, the marginal density and the score are
derived (derive/). The same notation is applied with the generic symbolic model (alpha, sigma undefined
functions, data N(m, v)) and with concrete numeric models (VP/VE/... schedules, mixtures).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import sympy as sp

from derive import schedules
from derive.data import Mixture, gaussian, normal_pdf
from derive.symbols import dt as DT, eps as EPS, t as T_SYM, x as X_SYM, x0 as X0_SYM, y as Y_SYM

T_END = sp.Symbol("T", positive=True)


class NotationError(ValueError):
    """A symbol the claim's notation does not define."""


class Model:
    """Exact quantities of a schedule + data law, as SymPy expressions of (x, t)."""

    def __init__(self, schedule: schedules.Schedule, data: Mixture, varsigma: Callable | None = None,
                 t_end=T_END):
        self.schedule, self.data, self.t_end = schedule, data, t_end
        self._varsigma = varsigma or (lambda tau: sp.Function("varsigma", positive=True)(tau))
        self._states: dict = {}
        self._times: dict = {}

    # schedule quantities
    def alpha(self, tau):
        return self.schedule.alpha(tau)

    def sigma(self, tau):
        return self.schedule.sigma(tau)

    def f(self, tau):
        return self.schedule.drift_coeff(tau)

    def g2(self, tau):
        return self.schedule.diffusion_sq(tau)

    def g(self, tau):
        return sp.sqrt(self.g2(tau))

    def log_snr(self, tau):
        return self.schedule.log_snr(tau)

    def varsigma(self, tau):
        return self._varsigma(tau)

    # data quantities
    def density(self, xx, tau):
        return self.data.marginal_density(self.schedule, xx, tau)

    def log_density(self, xx, tau):
        """log p_t(x); for a single Gaussian expanded so that it is a polynomial in x."""
        if len(self.data.weights) == 1:
            a, s2 = self.alpha(tau), self.sigma(tau)**2
            var = a**2 * self.data.variances[0] + s2
            return -(xx - a * self.data.means[0])**2 / (2 * var) - sp.log(2 * sp.pi * var) / 2
        return sp.log(self.density(xx, tau))

    def score(self, xx, tau):
        if len(self.data.weights) == 1:
            return sp.diff(self.log_density(X_SYM, tau), X_SYM).subs(X_SYM, xx)
        return self.data.score(self.schedule, xx, tau)

    def eps_pred(self, xx, tau):
        """Ideal noise prediction E[eps | x_t] = -sigma_t * score."""
        return -self.sigma(tau) * self.score(xx, tau)

    def x0_pred(self, xx, tau):
        """Tweedie: E[x_0 | x_t] = (x + sigma^2 score) / alpha."""
        return (xx + self.sigma(tau)**2 * self.score(xx, tau)) / self.alpha(tau)

    def state(self, tau):
        """State variable at time tau: x at t, x_0 at 0, a fresh real symbol otherwise."""
        if tau == T_SYM:
            return X_SYM
        if tau == 0:
            return X0_SYM
        key = sp.srepr(tau)
        if key not in self._states:
            self._states[key] = sp.Symbol(f"x[{tau}]", real=True)
            self._times[self._states[key]] = tau
        return self._states[key]

    def time_of(self, state):
        """The time of a state variable made by ``state`` (None for anything else)."""
        if state == X_SYM:
            return T_SYM
        if state == X0_SYM:
            return sp.Integer(0)
        return self._times.get(state)

    def conditional(self, xx, tau, given, tau_given):
        """Mean and variance of x_tau | x_{tau_given} = given (the transition kernel, derive.schedules).

        Conditioning on the data x_0 gives the perturbation kernel N(alpha_t x_0, sigma_t^2)."""
        if given == X0_SYM:
            return self.alpha(tau) * given, self.sigma(tau)**2
        if _earlier(tau, tau_given):   # a reverse conditional x_s | x_t (s < t): Bayes for Gaussian data
            if len(self.data.weights) != 1:
                raise NotationError("a reverse conditional density is exact for Gaussian data only")
            m0, v0 = self.data.means[0], self.data.variances[0]
            var_s = self.alpha(tau)**2 * v0 + self.sigma(tau)**2
            var_t = self.alpha(tau_given)**2 * v0 + self.sigma(tau_given)**2
            cov = self.alpha(tau_given) / self.alpha(tau) * var_s
            return self.alpha(tau) * m0 + cov / var_t * (given - self.alpha(tau_given) * m0), var_s - cov**2 / var_t
        coeff, var = self.schedule.transition(tau_given, tau)
        return coeff * given, var

    def conditional_density(self, xx, tau, given, tau_given):
        return normal_pdf(xx, *self.conditional(xx, tau, given, tau_given))

    def conditional_score(self, xx, tau, given, tau_given):
        mean, var = self.conditional(xx, tau, given, tau_given)
        return -(xx - mean) / var


def symbolic_model(schedule: str = "") -> Model:
    """Generic alpha(t), sigma(t) with data N(m, v); or a named schedule family with data N(m, v)."""
    return Model(schedules.get(schedule) if schedule else schedules.generic(), gaussian())


_TIME = re.compile(r"^(t|s|T|u|tau|\d+)(?:([+-])(\d+|@dt@|dt|h))?$")


def parse_time(sub: str):
    """A subscript read as a time ('t', 't-1', 't+@dt@', 'T', '0'), or None when it is not a time."""
    text = re.sub(r"\s+", "", sub or "").replace(r"\Delta_t", "@dt@").replace(r"\Deltat", "@dt@")
    text = re.sub(r"^\{(.*)\}$", r"\1", text).replace(r"\tau", "tau")
    swapped = re.match(r"^(@dt@|dt|h|\d+)\+(t|s|T|u)$", text)      # "dt+t" -> "t+dt"
    if swapped:
        text = f"{swapped.group(2)}+{swapped.group(1)}"
    mo = _TIME.match(text)
    if not mo:
        return None
    base = {"t": T_SYM, "s": sp.Symbol("s", positive=True), "T": T_END,
            "u": sp.Symbol("u", positive=True), "tau": sp.Symbol("tau", positive=True)}.get(mo.group(1))
    if base is None:
        base = sp.Integer(int(mo.group(1)))
    if mo.group(2):
        step = DT if mo.group(3) in ("@dt@", "dt", "h") else sp.Integer(int(mo.group(3)))
        base = base + step if mo.group(2) == "+" else base - step
    return base


# --- notations ------------------------------------------------------------------------------------
# A handler receives (model, tau, args, sub) and returns an expression. tau is the parsed time
# (defaulting to t); args are the interpreted function arguments (possibly empty); sub the raw subscript.

def _f(M, tau, args, sub):
    return M.f(tau) * args[0] if args else M.f(tau)


def _given(M, args):
    """(x, its time, conditioning state, its time) for p(x | y) written p(x, y) after normalisation."""
    xx, given = args[0], args[1]
    tau, tau_given = M.time_of(xx), M.time_of(given)
    if tau is None or tau_given is None:
        raise NotationError(f"cannot tell the times of the conditional density p({xx} | {given})")
    return xx, tau, given, tau_given


def _at_state(marginal: str, conditional: str):
    """Handler for a density-like quantity: q(x | y) conditional, else q_t(x) at the argument's own time."""
    def handler(M, tau, args, sub):
        if len(args) == 2:
            return getattr(M, conditional)(*_given(M, args))
        xx = args[0] if args else X_SYM
        own = M.time_of(xx) if args and not sub else None
        return getattr(M, marginal)(xx, tau if own is None else own)
    return handler


_density = _at_state("density", "conditional_density")
_score = _at_state("score", "conditional_score")


def _eps(M, tau, args, sub):
    if args or "theta" in sub:
        xx = args[0] if args else X_SYM
        return M.eps_pred(xx, tau)
    if sub and sub.strip("{} ").isdigit():      # independent noises eps_1, eps_2, ...
        return sp.Symbol(f"epsilon_{sub.strip('{} ')}", real=True)
    return EPS


def _x(M, tau, args, sub):
    return M.state(tau)


COMMON = {
    "x": _x, "X": _x, "y": _x,
    "f": _f,
    "g": lambda M, tau, a, s: M.g(tau),
    "p": _density, "q": _density,
    "score": _score,
    "s": lambda M, tau, a, sub: M.score(a[0], tau) if a or sub else sp.Symbol("s", positive=True),
    "epsilon": _eps,
    "beta": lambda M, tau, a, s: -2 * M.f(tau),
    "alpha": lambda M, tau, a, s: M.alpha(tau),
    "sigma": lambda M, tau, a, s: M.sigma(tau),
    "t": lambda M, tau, a, s: T_SYM,
    "dt": lambda M, tau, a, s: DT,
    "I": lambda M, tau, a, s: sp.Integer(1),      # identity covariance: the one-dimensional reduction
    "delta": lambda M, tau, a, s: sp.DiracDelta(a[0]) if a else sp.Symbol("delta"),
}

NOTATIONS: dict[str, dict] = {
    "common": COMMON,
    # 002: x_t = sqrt(abar_t) x_0 + sqrt(bbar_t) eps; free family diffusion written sigma_t
    "002": {**COMMON,
            "alphabar": lambda M, tau, a, s: M.alpha(tau)**2,
            "betabar": lambda M, tau, a, s: M.sigma(tau)**2,
            "gammabar": lambda M, tau, a, s: M.g2(tau),
            "sigma": lambda M, tau, a, s: M.varsigma(tau)},
    # 000: lambda_t signal scale, mu_t noise scale; sigma_t the free diffusion of the family (1)
    "000": {**COMMON,
            "lambda": lambda M, tau, a, s: M.alpha(tau),
            "mu": lambda M, tau, a, s: M.sigma(tau),
            "alphabar": lambda M, tau, a, s: M.alpha(tau)**2,
            "sigma": lambda M, tau, a, s: M.varsigma(tau)},
    # 003 (the book): alpha_t, sigma_t the schedule itself
    "003": {**COMMON},
    # 004: h the step; in an SDE u_t(x) = f(t) x is the drift and sigma_t = g(t) the diffusion
    "004": {**COMMON, "sigma": lambda M, tau, a, s: M.g(tau), "h": lambda M, tau, a, s: DT,
            "u": lambda M, tau, a, s: M.f(tau) * (a[0] if a else X_SYM)},
    # 004 ODE parts: u_t is the probability-flow velocity field f x - g^2/2 score of the model
    "004.ode": {**COMMON, "h": lambda M, tau, a, s: DT,
                "u": lambda M, tau, a, s: (M.f(tau) * (a[0] if a else X_SYM)
                                           - M.g2(tau) * M.score(a[0] if a else X_SYM, tau) / 2),
                "psi": lambda M, tau, a, s: M.state(tau)},
    # 004 OU process: theta and sigma are the constants of schedules.ornstein_uhlenbeck
    "004.ou": {**COMMON, "theta": lambda M, tau, a, s: sp.nsimplify(M.schedule.numeric_params()["theta"]),
               "sigma": lambda M, tau, a, s: sp.nsimplify(M.schedule.numeric_params()["noise"])},
    # 004 Brownian motion: W_t is the state of the Brownian schedule
    "004.bm": {**COMMON, "W": _x, "h": lambda M, tau, a, s: DT},
}


def _load_extensions() -> None:
    """Merge NOTATIONS from checks/notations_*.py (one module per family, so families do not collide)."""
    import importlib
    import pkgutil
    import checks
    for info in pkgutil.iter_modules(checks.__path__):
        if info.name.startswith("notations_"):
            module = importlib.import_module(f"checks.{info.name}")
            NOTATIONS.update(getattr(module, "NOTATIONS", {}))


_loaded = False


def with_point(notation: dict) -> dict:
    """A notation in which a bare x (no subscript) is the evaluation point y, distinct from the states x_t.

    Used for distributional identities such as delta(x - x_t) expansions, tested against smooth functions of y.
    """
    base_x = notation.get("x", _x)

    def point_or_state(M, tau, args, sub):
        return Y_SYM if not sub and not args else base_x(M, tau, args, sub)
    return {**notation, "x": point_or_state}


def get_notation(name: str) -> dict:
    global _loaded
    if not _loaded:
        _load_extensions()
        _loaded = True
    if name not in NOTATIONS:
        raise NotationError(f"unknown notation {name!r}; known: {sorted(NOTATIONS)}")
    return NOTATIONS[name]


def interpret(expr: sp.Expr, atoms: dict, model: Model, notation: dict,
              markers: frozenset = frozenset()) -> sp.Expr:
    """Replace every placeholder (and plain letter) in ``expr`` by its value in ``model``.

    ``markers`` are bases left as symbols (e.g. the differentials 'd' of an SDE); they are returned as
    Symbol('d_<sub>').
    """
    table = {name.replace("\\", ""): val for name, val in atoms.items()}

    def value(base: str, sub: str, args: tuple):
        if base in markers:
            return sp.Symbol(f"{base}_{sub}")
        time = parse_time(sub)
        if time is None and sub:
            mo = re.match(r"^[a-zA-Z]_\{?([^{}]+)\}?$", sub.replace(" ", ""))  # p_{x_t}
            if mo:
                time = parse_time(mo.group(1))
            elif re.search(r"[+\-]", sub):   # an arithmetic subscript must be a time: never read it as t silently
                raise NotationError(f"cannot read the subscript {sub!r} of {base!r} as a time (map it in the notation)")
        if time is None and args:
            time = _time_of(args[0], model)
            if time is None and _is_time(args[0]):     # g(s), beta(t): the argument is the time
                time, args = args[0], args[1:]
        if time is None:
            time = T_SYM
        handler = notation.get(base)
        if handler is None:
            raise NotationError(f"symbol {base!r} (subscript {sub!r}) has no meaning in this notation")
        return handler(model, time, args, sub)

    def walk(e):
        if isinstance(e, sp.Symbol):
            name = e.name
            if name in table:
                base, sub = table[name]
                return value(base, sub, ())
            if name in notation:
                return value(name, "", ())
            if name in ("x",):
                return X_SYM
            raise NotationError(f"symbol {name!r} has no meaning in this notation")
        if isinstance(e, sp.core.function.AppliedUndef):
            name = e.func.__name__
            args = tuple(walk(a) for a in e.args)
            if name in table:
                base, sub = table[name]
                return value(base, sub, args)
            if name in notation:
                return value(name, "", args)
            raise NotationError(f"function {name!r} has no meaning in this notation")
        if isinstance(e, sp.Derivative):
            inner = walk(e.expr)
            variables = [(T_SYM if v.name == "t" else (value("x", "", ()) if v.name == "x" else walk(v)), n)
                         for v, n in e.variable_count]
            return sp.Derivative(inner, *variables)
        if not e.args:
            return e
        return e.func(*[walk(a) for a in e.args])

    return walk(expr)


def _earlier(a, b) -> bool:
    """Whether time a comes before time b (t = 0.7, s = 0.3, small dt; as in the usual notations)."""
    values = {T_SYM: sp.Rational(7, 10), sp.Symbol("s", positive=True): sp.Rational(3, 10),
              sp.Symbol("u", positive=True): sp.Rational(1, 2), sp.Symbol("tau", positive=True): sp.Rational(2, 5),
              T_END: sp.Rational(9, 10), DT: sp.Rational(1, 1000)}
    try:
        return float(sp.sympify(a, strict=True).subs(values)) < float(sp.sympify(b, strict=True).subs(values))
    except TypeError:
        return False


def _is_time(arg) -> bool:
    names = {sym.name for sym in sp.sympify(arg, strict=True).free_symbols}
    return bool(names) and names <= {"t", "s", "u", "tau", "T", "Delta_t"}


def _time_of(arg, model: Model):
    return model.time_of(arg)
