r"""Notations "appd12.*": 003 Appendix D.1-D.2 read in exact, jointly Gaussian reference models.

Used by the plugin checks/methods_appd12.py (all but "appd12.fp", which the built-in engine reads).

Reference model (``Ref``): data x ~ N(m, v) under a schedule (alpha_tau, sigma_tau) with alpha_0 = 1,
sigma_0 = 0, every time a seeded number. A state at time tau is x_tau = alpha_tau x + sigma_tau eps and states
are linked by the schedule's transition kernel (derive.schedules.Schedule.transition), so all states are jointly
Gaussian: Cov(x_a, x_b) = (alpha_b / alpha_a) Var(x_a) for a <= b. A density p(A | B) of the document is the
exact conditional law of that joint distribution (Schur complement, as derive.gaussian.condition_joint with
several conditions; a joint law of two variables by the chain rule, one variable at a time). One coordinate (D = 1): every identity of the appendix is coordinate-wise.

Symbols, per notation (the subscripts name states; ``x_{i-1}`` is written ``x_j`` by the plugin's rewrites):

* "appd12.chain" (D.1.1): x_0 and bare x the data; x_i the state at time t, x_j = x_{i-1} at an earlier time s.
* "appd12.elbo"  (D.1.2): bare x the data; latents x_0, x_j = x_{i-1}, x_i, x_L at times u < s < t < T.
* "appd12.sm"    (D.2.1): bare x the data; s(x) its score; s_phi(x) a model (seeded polynomial, below).
* "appd12.dsm"   (D.2.2, D.2.4 SURE): bare x the data; x~ = x + sigma z the noisy state (EDM schedule alpha = 1,
                  sigma the noise level); D(.) a denoiser and a(.) a vector field (smooth test functions);
                  bare D the dimension, 1.
* "appd12.stein" (D.2.4 Stein): z (also Z) ~ N(0, 1); f, g, u test functions; phi the N(0, 1) density.
* "appd12.tweedie" (D.2.3, D.2.6): x_0 the data, x_t (and bare x, the variable of nabla_{x_t}) at time t.
* "appd12.gauss" (D.2.7): x~ the variable of N(x~; mu, Sigma), mu and Sigma > 0 seeded.
* "appd12.fp"    (D.2.5, built-in engine): "scoresde_003" plus p_{T-s}(x) (written p(x, T-s)) and its score
                  at a time argument, T the final time.

Densities: p, p_t, p_sigma, p_data, p_0, p^* (the optimum, = p) are the exact law; p_phi(a | b) an arbitrary
Gaussian model kernel N(a; k1 b + k0, w) (seeded: identities must hold for every model); p_prior = N(0, 1).
A density is written by the plugin as p_sub(n, r_1..r_n, g_1..) (n random arguments, then the conditions).
The model score s_phi(y, c) = k0 + k1 y + k2 y^2 + k3 c y (c its second argument: the noise level or time);
s and s^* (no subscript) are the exact score of the law of their argument (Proposition 4.2.1: s^* = grad log p_t).
"""
from __future__ import annotations

import sympy as sp

from checks.notations_scoresde_003 import BASE as SCORESDE, _is_state
from derive.data import normal_pdf
from derive.symbols import x0 as X0_SYM, x as X_SYM, y as Y_SYM, z as Z_SYM

DIGITS = 50
T_END = sp.Symbol("T", positive=True)


def _num(value) -> sp.Float:
    return sp.Float(sp.N(value, DIGITS), DIGITS)


class Ref:
    """Seeded numeric reference: schedule, data N(m, v), times, model coefficients, test functions."""

    def __init__(self, schedule, mean, var, times: dict, coeffs: dict, states: dict):
        self.schedule, self.m, self.v = schedule, _num(mean), _num(var)
        self.times = {k: _num(val) for k, val in times.items()}      # name -> number ("data" is 0)
        self.times["data"] = sp.Integer(0)
        self.k = {k: _num(val) for k, val in coeffs.items()}
        self.state_keys = states                                       # subscript -> time name
        self.symbols: dict = {}                                        # time name -> state symbol
        self._time_of: dict = {}

    # -- states -------------------------------------------------------------------------------
    def state(self, key: str) -> sp.Symbol:
        """The state symbol at time name ``key`` ('data', 't', 's', ...; 'z' a standard normal)."""
        if key not in self.symbols:
            sym = {"data": X0_SYM, "t": X_SYM, "noisy": Y_SYM, "z": Z_SYM}.get(key) or sp.Symbol(f"x[{key}]", real=True)
            self.symbols[key] = sym
            self._time_of[sym] = key
        return self.symbols[key]

    def time_of(self, sym):
        key = self._time_of.get(sym)
        return None if key is None else self.times.get(key, sp.Integer(0))

    def is_state(self, sym) -> bool:
        return sym in self._time_of

    def alpha(self, key):
        return _num(self.schedule.alpha(self.times[key])) if key != "data" else sp.Integer(1)

    def sigma(self, key):
        return _num(self.schedule.sigma(self.times[key])) if key != "data" else sp.Integer(0)

    # -- joint Gaussian law ---------------------------------------------------------------------
    def _moments(self, key):
        return self.alpha(key) * self.m, self.alpha(key)**2 * self.v + self.sigma(key)**2

    def cov(self, a: sp.Symbol, b: sp.Symbol):
        ka, kb = self._time_of[a], self._time_of[b]
        if "z" in (ka, kb):
            return sp.Integer(1 if ka == kb else 0)
        if self.times[ka] > self.times[kb]:
            ka, kb = kb, ka
        coeff = self.alpha(kb) / self.alpha(ka)       # transition mean coefficient alpha_b / alpha_a
        return coeff * self._moments(ka)[1]

    def mean(self, a: sp.Symbol):
        key = self._time_of[a]
        return sp.Integer(0) if key == "z" else self._moments(key)[0]

    def conditional(self, target: sp.Symbol, given: list) -> tuple:
        """Mean (affine in the given states) and variance of ``target`` given ``given`` (Schur complement)."""
        if not given:
            return self.mean(target), self.cov(target, target)
        S = sp.Matrix([[self.cov(a, b) for b in given] for a in given])
        c = sp.Matrix([[self.cov(target, b) for b in given]])
        w = c * S.inv()
        mu = self.mean(target) + (w * sp.Matrix([g - self.mean(g) for g in given]))[0]
        var = self.cov(target, target) - (w * c.T)[0]
        return sp.expand(mu), var

    def density(self, random: list, given: list) -> sp.Expr:
        """p(random | given) = prod_k p(r_k | r_{<k}, given) (chain rule of the joint Gaussian)."""
        out = sp.Integer(1)
        for i, r in enumerate(random):
            mu, var = self.conditional(r, list(given) + list(random[:i]))
            out *= normal_pdf(r, mu, var)
        return out

    # -- model pieces (seeded coefficients) -------------------------------------------------------
    def model_kernel(self, a, b):
        return normal_pdf(a, self.k["k1"] * b + self.k["k0"], self.k["w"])

    def s_phi(self, yy, c=0):
        k = self.k
        return k["s0"] + k["s1"] * yy + k["s2"] * yy**2 + k["s3"] * c * yy

    def test_function(self, yy, which: int = 0):
        k = self.k
        if which == 0:
            return k["c3"] * yy**3 + k["c1"] * yy + (1 + yy / 2) * sp.exp(-(yy - sp.Rational(3, 10))**2)
        return k["c2"] * yy**2 - k["c1"] * yy + sp.exp(-(yy + sp.Rational(1, 5))**2 / 2)


# --- handlers: (M, tau, args, sub) -> expression ------------------------------------------------

def _sub(sub: str) -> str:
    return (sub or "").replace("\\", "").replace("text", "").strip("{} ")


def _state_handler(M, tau, args, sub):
    key = M.state_keys.get(_sub(sub))
    if key is None:
        raise ValueError(f"state x_{{{sub}}} has no meaning in this notation (known: {sorted(M.state_keys)})")
    return M.state(key)


def _split(args):
    if not args or not (args[0].is_Integer and args[0] > 0):
        raise ValueError("a density reads p(n, random..., given...) after the plugin's rewriting")
    n = int(args[0])
    return list(args[1:1 + n]), list(args[1 + n:])


def _density(M, tau, args, sub):
    random, given = _split(args)
    kind = _sub(sub)
    if kind == "phi":
        if len(random) != 1 or len(given) != 1:
            raise ValueError("the model kernel reads p_phi(a | b)")
        return M.model_kernel(random[0], given[0])
    if kind == "prior":
        return sp.Mul(*[normal_pdf(r, 0, 1) for r in random])
    if kind not in ("", "t", "0", "sigma", "data", "*", "i", "L"):
        raise ValueError(f"density p_{{{sub}}} has no meaning in this notation")
    return M.density(random, given)


def _score(M, tau, args, sub):
    random, _ = _split(args)
    dens = _density(M, tau, args, sub)
    return sp.diff(sp.expand_log(sp.log(dens), force=True), random[0])


def _s(M, tau, args, sub):
    if _sub(sub) == "phi":
        if not args:
            raise ValueError("the model s_phi needs its argument")
        return M.s_phi(args[0], args[1] if len(args) > 1 else 0)
    if not args or not M.is_state(args[0]):
        raise ValueError("the score s(x) needs a state argument")
    sym = args[0]
    return sp.diff(sp.expand_log(sp.log(M.density([sym], [])), force=True), sym)


def _test(which):
    def handler(M, tau, args, sub):
        if len(args) != 1:
            raise ValueError("a test function takes one argument")
        return M.test_function(args[0], which)
    return handler


def _param(name):
    return lambda M, tau, a, s: M.k[name]


def _normal(M, tau, args, sub):
    if len(args) != 3:
        raise ValueError("N(x; mean, variance) takes three arguments")
    return normal_pdf(*args)


def _keys(**states):
    return states


_COMMONS = {
    "x": _state_handler, "p": _density, "score": _score, "s": _s,
    "pi": lambda M, tau, a, s: sp.pi, "e": lambda M, tau, a, s: sp.E,
    "D": lambda M, tau, a, s: M.test_function(a[0], 0) if a else sp.Integer(1),
    "I": lambda M, tau, a, s: sp.Integer(1),
}

CHAIN = {**_COMMONS}
ELBO = {**_COMMONS}
SM = {**_COMMONS}
DSM = {**_COMMONS, "xtilde": lambda M, tau, a, s: M.state("noisy"), "y": lambda M, tau, a, s: M.state("noisy"),
       "sigma": lambda M, tau, a, s: M.times["noisy"], "a": _test(1), "z": lambda M, tau, a, s: M.state("z")}
STEIN = {**_COMMONS, "z": lambda M, tau, a, s: M.state("z"), "Z": lambda M, tau, a, s: M.state("z"),
         "y": lambda M, tau, a, s: M.state("noisy"),
         "f": _test(0), "g": _test(1), "u": _test(0),
         "phi": lambda M, tau, a, s: normal_pdf(a[0], 0, 1) if a else sp.Symbol("phi")}
TWEEDIE = {**_COMMONS, "alpha": lambda M, tau, a, s: M.alpha("t"), "sigma": lambda M, tau, a, s: M.sigma("t"),
           "t": lambda M, tau, a, s: M.times["t"]}
GAUSS = {**_COMMONS, "xtilde": lambda M, tau, a, s: M.state("noisy"), "y": lambda M, tau, a, s: M.state("noisy"),
         "mu": _param("mu"), "Sigma": _param("Sigma"), "N": _normal}

#: subscript of x -> time name, per notation (the plugin builds Ref with these)
STATES = {
    "appd12.chain": {"": "data", "0": "data", "i": "t", "j": "s"},
    "appd12.elbo": {"": "data", "0": "u", "j": "s", "i": "t", "L": "T"},
    "appd12.sm": {"": "data"},
    "appd12.dsm": {"": "data"},
    "appd12.stein": {},
    "appd12.tweedie": {"0": "data", "t": "t", "": "t"},
    "appd12.gauss": {"": "data"},
}


# --- "appd12.fp": the built-in engine with p_{T-s}(x) written p(x, T-s) ----------------------------

def _fp_density(M, tau, args, sub):
    if len(args) == 2 and not _is_state(args[1]):
        return M.density(args[0], args[1])
    return SCORESDE["p"](M, tau, args, sub)


def _fp_score(M, tau, args, sub):
    if len(args) == 2 and not _is_state(args[1]):
        return M.score(args[0], args[1])
    return SCORESDE["score"](M, tau, args, sub)


NOTATIONS = {
    "appd12.chain": CHAIN, "appd12.elbo": ELBO, "appd12.sm": SM, "appd12.dsm": DSM, "appd12.stein": STEIN,
    "appd12.tweedie": TWEEDIE, "appd12.gauss": GAUSS,
    "appd12.fp": {**SCORESDE, "p": _fp_density, "score": _fp_score, "T": lambda M, tau, a, s: T_END},
}

__all__ = ["Ref", "STATES", "NOTATIONS"]
