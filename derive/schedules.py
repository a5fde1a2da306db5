r"""Noise schedules: a schedule is the pair (alpha_t, sigma_t); everything else is derived from it.

Like score_sde's ``sde_lib``: one small class per family, all the SDE quantities come from two
expressions. With x_t = alpha_t x_0 + sigma_t eps the forward SDE dx = f(t) x dt + g(t) dw has

* drift coefficient  f(t)   = d log alpha_t / dt
* diffusion          g(t)^2 = d sigma_t^2/dt - 2 f(t) sigma_t^2
* log-SNR            lambda_t = log(alpha_t / sigma_t)
* transition x_t | x_s = N((alpha_t/alpha_s) x_s, alpha_t^2 (sigma_t^2/alpha_t^2 - sigma_s^2/alpha_s^2))

The transition variance is *derived* by integrating the variance ODE V' = 2 f V + g^2 with an
integrating factor; the antiderivative sigma^2/alpha^2 of g^2/alpha^2 is certified by differentiation.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import sympy as sp

from . import _validate
from .symbols import alpha as _alpha_fn, sigma as _sigma_fn, t, u


class ScheduleError(ValueError):
    """Raised for an unknown schedule or invalid schedule parameters or times."""


def check_expr(name: str, value, sign: str | None = None) -> sp.Expr:
    """``value`` as a finite SymPy expression (never text), ``sign`` enforced: ``derive._validate.expr``."""
    return _validate.expr(name, value, sign)


@dataclass(frozen=True)
class Schedule:
    """A diffusion schedule given by signal scale alpha(t) and noise scale sigma(t) on [t_min, t_max]."""

    name: str
    alpha_expr: sp.Expr
    sigma_expr: sp.Expr
    t_min: float = 0.0
    t_max: float = 1.0
    params: tuple = field(default_factory=tuple)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"name must be a non-empty str, got {self.name!r}")
        for arg in ("alpha_expr", "sigma_expr"):
            if not isinstance(getattr(self, arg), sp.Expr):
                raise TypeError(f"{arg} must be a SymPy expression in t, got {getattr(self, arg)!r}")
        try:
            lo, hi = float(self.t_min), float(self.t_max)
        except (TypeError, ValueError):
            raise TypeError(f"t_min and t_max must be real numbers, got {self.t_min!r}, {self.t_max!r}") from None
        if math.isnan(lo) or math.isnan(hi) or not lo < hi:
            raise ScheduleError(f"t_min < t_max required (the time interval [t_min, t_max]), "
                                f"got t_min={self.t_min!r}, t_max={self.t_max!r}")

    # --- validation -------------------------------------------------------------------------
    def check_time(self, value, argument: str = "t") -> float:
        """Return ``value`` as float, or raise naming ``argument`` and the valid interval."""
        try:
            val = float(value)
        except (TypeError, ValueError):
            raise ScheduleError(f"{argument} must be a real number in [{self.t_min}, {self.t_max}], got {value!r}") from None
        if not math.isfinite(val) or val < self.t_min or val > self.t_max:
            raise ScheduleError(f"{argument}={value!r} is outside the valid interval [{self.t_min}, {self.t_max}] "
                                f"of schedule {self.name!r}")
        return val

    def _time(self, value, argument: str = "time", numeric_range: bool = False):
        """A time argument: a SymPy expression (symbolic times pass) or a number; numbers are checked to be finite
        and, with ``numeric_range``, inside [t_min, t_max]. Text is refused (never parsed)."""
        expr = check_expr(argument, value)
        if numeric_range and expr.is_number:
            self.check_time(expr, argument)
        return value

    def check_interval(self, s_val, t_val) -> tuple[float, float]:
        """Validate s < t (both in range) for transition kernels."""
        s_f, t_f = self.check_time(s_val, "s"), self.check_time(t_val, "t")
        if not s_f < t_f:
            raise ScheduleError(f"times must satisfy s < t, got s={s_val!r}, t={t_val!r}")
        return s_f, t_f

    # --- the two defining expressions ---------------------------------------------------------
    def alpha(self, time=t) -> sp.Expr:
        return self.alpha_expr.subs(t, self._time(time))

    def sigma(self, time=t) -> sp.Expr:
        return self.sigma_expr.subs(t, self._time(time))

    # --- derived quantities -------------------------------------------------------------------
    @functools.cache
    def _f(self) -> sp.Expr:
        return _simp(sp.diff(sp.log(self.alpha_expr), t))

    @functools.cache
    def _g2(self) -> sp.Expr:
        return _simp(sp.diff(self.sigma_expr**2, t) - 2 * self._f() * self.sigma_expr**2)

    def drift_coeff(self, time=t) -> sp.Expr:
        """f(t) = d log alpha_t / dt (the SDE drift is f(t) x)."""
        return self._f().subs(t, self._time(time))

    def diffusion_sq(self, time=t) -> sp.Expr:
        """g(t)^2 = d sigma_t^2 / dt - 2 f(t) sigma_t^2 (from the variance ODE V' = 2 f V + g^2)."""
        return self._g2().subs(t, self._time(time))

    def diffusion(self, time=t) -> sp.Expr:
        return sp.sqrt(self.diffusion_sq(time))

    def log_snr(self, time=t) -> sp.Expr:
        """lambda_t = log(alpha_t / sigma_t)."""
        return sp.log(self.alpha(time) / self.sigma(time))

    def transition(self, s_time, t_time) -> tuple[sp.Expr, sp.Expr]:
        """Mean coefficient and variance of x_t | x_s, derived from the linear SDE (see module doc)."""
        self._time(s_time, "s_time", numeric_range=True), self._time(t_time, "t_time", numeric_range=True)
        if sp.sympify(s_time, strict=True).is_number and sp.sympify(t_time, strict=True).is_number:
            self.check_interval(s_time, t_time)
        mean_coeff = self.alpha(t_time) / self.alpha(s_time)
        antiderivative = self._variance_antiderivative()
        var = self.alpha(t_time)**2 * (antiderivative.subs(u, t_time) - antiderivative.subs(u, s_time))
        return mean_coeff, var

    @functools.cache
    def _variance_antiderivative(self) -> sp.Expr:
        """sigma_u^2/alpha_u^2, certified (once per schedule) as an antiderivative of g(u)^2/alpha_u^2.

        The variance of int_s^t (alpha_t/alpha_u) g(u) dW_u is alpha_t^2 int_s^t g(u)^2/alpha_u^2 du."""
        integrand = (self.diffusion_sq() / self.alpha_expr**2).subs(t, u)
        antiderivative = (self.sigma_expr**2 / self.alpha_expr**2).subs(t, u)
        _certify(sp.diff(antiderivative, u) - integrand, self)
        return antiderivative

    def marginal(self, time=t) -> tuple[sp.Expr, sp.Expr]:
        """x_t | x_0 = N(alpha_t x_0, sigma_t^2)."""
        self._time(time, "time", numeric_range=True)
        return self.alpha(time), self.sigma(time)**2

    def numeric_params(self) -> dict:
        return dict(self.params)


def _certify(difference: sp.Expr, schedule: "Schedule") -> None:
    """Check that an antiderivative certificate vanishes.

    For the generic schedule (alpha, sigma undefined functions) it is proved symbolically, which proves it for
    every schedule; a concrete schedule is checked at 50 digits on its time grid (simplifying an expression with
    numeric parameters, e.g. a VE schedule's rational sigma_max, can take minutes)."""
    if schedule.name == "generic":
        if _simp(difference) != 0:  # pragma: no cover - a failed derivation is a bug in this module
            raise AssertionError(f"antiderivative certificate failed for {schedule.name}: {difference}")
        return
    lo, hi = schedule.t_min, min(schedule.t_max, 1.0)
    for k in range(1, 8):
        point = sp.Float(lo + (hi - lo) * k / 8, 50)
        value = sp.N(difference.subs(u, point), 50)
        if abs(complex(value)) > 1e-30:  # pragma: no cover
            raise AssertionError(f"antiderivative certificate failed for {schedule.name} at u={point}: {value}")


def _simp(expr: sp.Expr) -> sp.Expr:
    return sp.simplify(expr)


# --- the families -------------------------------------------------------------------------------

def generic() -> Schedule:
    """alpha(t), sigma(t) as undefined positive functions: identities proved here hold for every schedule."""
    return Schedule("generic", _alpha_fn(t), _sigma_fn(t), 0.0, math.inf)


def _positive(name: str, value, allowed: str = "> 0") -> float:
    if value is None or isinstance(value, (str, bytes, bool)):
        raise TypeError(f"{name} must be a real number {allowed}, got {value!r}")
    try:
        val = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number {allowed}, got {value!r}") from None
    if not math.isfinite(val) or val <= 0:
        raise ScheduleError(f"{name} must be {allowed}, got {value!r}")
    return val


def vp_linear(beta_min=0.1, beta_max=20.0) -> Schedule:
    """VP-SDE with beta(t) = beta_min + t (beta_max - beta_min): alpha = exp(-1/2 int_0^t beta), sigma^2 = 1 - alpha^2."""
    b0, b1 = _positive("beta_min", beta_min), _positive("beta_max", beta_max)
    if b1 < b0:
        raise ScheduleError(f"beta_max must be >= beta_min, got beta_min={beta_min}, beta_max={beta_max}")
    b0s, b1s = sp.nsimplify(b0), sp.nsimplify(b1)
    log_alpha = -(b0s * t + (b1s - b0s) * t**2 / 2) / 2
    a = sp.exp(log_alpha)
    return Schedule("vp-linear", a, sp.sqrt(1 - sp.exp(2 * log_alpha)), 0.0, 1.0,
                    (("beta_min", b0), ("beta_max", b1)))


def vp_cosine(s_offset=0.008) -> Schedule:
    """Improved-DDPM cosine: alpha_bar = cos^2(pi/2 (t+s)/(1+s)) / cos^2(pi/2 s/(1+s)), alpha = sqrt(alpha_bar).

    sigma = sqrt(1 - alpha^2) as written (SymPy simplifies the derived f, g^2 and the transition kernel in this
    form); the emitted kernel uses the cancellation-free form ``stable_cosine_sigma`` (numerics/emit.py)."""
    off = _positive("s_offset", s_offset)
    so = sp.nsimplify(off)
    a = sp.cos(sp.pi / 2 * (t + so) / (1 + so)) / sp.cos(sp.pi / 2 * so / (1 + so))
    return Schedule("vp-cosine", a, sp.sqrt(1 - a**2), 0.0, 0.999, (("s_offset", off),))


def ve(sigma_min=0.01, sigma_max=50.0) -> Schedule:
    """VE-SDE: alpha = 1, sigma(t) = sigma_min (sigma_max/sigma_min)^t."""
    lo, hi = _positive("sigma_min", sigma_min), _positive("sigma_max", sigma_max)
    if hi <= lo:
        raise ScheduleError(f"sigma_max must be > sigma_min, got sigma_min={sigma_min}, sigma_max={sigma_max}")
    los, his = sp.nsimplify(lo), sp.nsimplify(hi)
    return Schedule("ve", sp.Integer(1), los * (his / los)**t, 0.0, 1.0,
                    (("sigma_min", lo), ("sigma_max", hi)))


def sub_vp(beta_min=0.1, beta_max=20.0) -> Schedule:
    """sub-VP SDE: alpha = exp(-1/2 B(t)), sigma = 1 - exp(-B(t)), B(t) = int_0^t beta."""
    vp = vp_linear(beta_min, beta_max)
    big_b = -2 * sp.log(vp.alpha_expr)
    return Schedule("sub-vp", vp.alpha_expr, 1 - sp.exp(-sp.expand(big_b)), 0.0, 1.0, vp.params)


def stable_cosine_sigma(s_offset=0.008) -> sp.Expr:
    """sigma_t of vp_cosine without cancellation at t -> 0: with a = pi/2 (t+s)/(1+s), b = pi/2 s/(1+s),
    cos^2 b - cos^2 a = sin(a - b) sin(a + b), so sigma = sqrt(sin(a-b) sin(a+b)) / cos b, where a - b =
    pi t / (2 (1+s)) keeps every digit of a small t (the naive sqrt(1 - alpha^2) loses them all in float32)."""
    so = sp.nsimplify(_positive("s_offset", s_offset))
    a_arg, b_arg = sp.pi / 2 * (t + so) / (1 + so), sp.pi / 2 * so / (1 + so)
    return sp.sqrt(sp.sin(sp.pi * t / (2 * (1 + so))) * sp.sin(a_arg + b_arg)) / sp.cos(b_arg)


def edm(sigma_max=80.0) -> Schedule:
    """EDM (Karras et al.): alpha = 1, sigma = t."""
    hi = _positive("sigma_max", sigma_max)
    return Schedule("edm", sp.Integer(1), t, 0.0, hi, (("sigma_max", hi),))


def rectified_flow() -> Schedule:
    """Rectified flow / OT path: alpha = 1 - t, sigma = t."""
    return Schedule("rectified-flow", 1 - t, t, 0.0, 1.0)


def ornstein_uhlenbeck(theta=1.5, noise=0.7) -> Schedule:
    """OU process dX = -theta X dt + noise dW: alpha = exp(-theta t), sigma^2 = noise^2 (1 - exp(-2 theta t)) / (2 theta)."""
    th, nz = sp.nsimplify(_positive("theta", theta)), sp.nsimplify(_positive("noise", noise))
    return Schedule("ou", sp.exp(-th * t), nz * sp.sqrt((1 - sp.exp(-2 * th * t)) / (2 * th)), 0.0, 1.0,
                    (("theta", float(th)), ("noise", float(nz))))


def brownian() -> Schedule:
    """Standard Brownian motion W_t started at the data: alpha = 1, sigma = sqrt(t)."""
    return Schedule("brownian", sp.Integer(1), sp.sqrt(t), 0.0, 1.0)


FAMILIES = {
    "ou": ornstein_uhlenbeck,
    "brownian": brownian,
    "generic": generic,
    "vp-linear": vp_linear,
    "vp-cosine": vp_cosine,
    "ve": ve,
    "sub-vp": sub_vp,
    "edm": edm,
    "rectified-flow": rectified_flow,
}


@functools.cache
def get(name: str, **params) -> Schedule:
    """Return the schedule called ``name`` (one of FAMILIES) with the given parameters."""
    if not isinstance(name, str) or name not in FAMILIES:
        raise ScheduleError(f"unknown schedule name {name!r}; choose one of {sorted(FAMILIES)}")
    try:
        return FAMILIES[name](**params)
    except TypeError as exc:
        raise ScheduleError(f"bad parameters for schedule {name!r}: {exc}") from None
