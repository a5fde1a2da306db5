r"""The family of processes sharing the forward marginals; the reverse SDE and PF-ODE are members.

Forward-time family (000's sigma_t family, 002's "f <- f - 1/2 (g^2 - sigma^2) score, g <- sigma"):
    dx = [f x - 1/2 (g^2 - varsigma^2) score] dt + varsigma dw.
Reverse-time family (run from T to 0):
    dx = [f x - 1/2 (g^2 + varsigma^2) score] dt + varsigma d\bar w,
with varsigma = g the Anderson reverse SDE and varsigma = 0 the probability-flow ODE. The
lambda-parameterisation varsigma = lambda g gives dx = [f x - (1 + lambda^2)/2 g^2 score] dt + lambda g d\bar w.
The coefficient of the score is *derived* by fokker_planck.marginal_preserving_coefficient.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from . import fokker_planck as fp
from .data import Mixture
from .schedules import Schedule, check_expr
from .symbols import t, x


@dataclass(frozen=True)
class Process:
    """A one-dimensional SDE dx = drift dt + sqrt(diffusion_sq) dw in the given time direction."""

    drift: sp.Expr
    diffusion_sq: sp.Expr
    direction: str = fp.FORWARD

    def __post_init__(self):
        check_expr("drift", self.drift), check_expr("diffusion_sq", self.diffusion_sq, "nonnegative")
        _direction_sign(self.direction)


def forward_sde(schedule: Schedule) -> Process:
    """dx = f(t) x dt + g(t) dw."""
    _check_schedule(schedule)
    return Process(schedule.drift_coeff() * x, schedule.diffusion_sq(), fp.FORWARD)


def family_member(schedule: Schedule, score: sp.Expr, varsigma_sq, direction: str = fp.REVERSE) -> Process:
    """Member of the marginal-preserving family with free diffusion varsigma^2 (an expression in t)."""
    _check_schedule(schedule)
    check_expr("score", score), _direction_sign(direction)
    varsigma_sq = check_expr("varsigma_sq", varsigma_sq, "nonnegative")
    coeff = fp.marginal_preserving_coefficient(direction)
    c = coeff.subs({sp.Symbol("G2"): schedule.diffusion_sq(), sp.Symbol("S2"): varsigma_sq})
    return Process(schedule.drift_coeff() * x + c * score, varsigma_sq, direction)


def reverse_sde(schedule: Schedule, score: sp.Expr) -> Process:
    """Anderson's reverse SDE dx = [f x - g^2 score] dt + g d\bar w (member varsigma = g)."""
    _check_schedule(schedule)
    return family_member(schedule, score, schedule.diffusion_sq(), fp.REVERSE)


def lambda_member(schedule: Schedule, score: sp.Expr, lam) -> Process:
    """varsigma = lambda g: dx = [f x - (1+lambda^2)/2 g^2 score] dt + lambda g d\bar w."""
    _check_schedule(schedule)
    lam = check_expr("lam", lam)
    if lam.is_real is False:
        raise ValueError(f"lam must be a real number (varsigma = lam g), got {lam!r}")
    return family_member(schedule, score, lam**2 * schedule.diffusion_sq(), fp.REVERSE)


def marginal_residual(process: Process, schedule: Schedule, data: Mixture) -> sp.Expr:
    """Fokker–Planck residual of the exact data marginal under ``process`` (zero iff marginals are shared)."""
    if not isinstance(process, Process):
        raise TypeError(f"process must be a derive.reverse_sde.Process, got {type(process).__name__}: {process!r}")
    _check_schedule(schedule)
    if not isinstance(data, Mixture):
        raise TypeError(f"data must be a derive.data.Mixture, got {type(data).__name__}: {data!r}")
    dens = data.marginal_density(schedule)
    return fp.residual(process.drift, process.diffusion_sq, dens, process.direction)


def euler_maruyama_step(direction: str = fp.REVERSE) -> sp.Expr:
    r"""One Euler–Maruyama step of the reverse SDE (t -> t - Δt) or the forward SDE (t -> t + Δt), in plain symbols
    f, g2 (= g(t)^2), score, z ~ N(0, 1) and the step Δt > 0:
        reverse: x - [f x - g^2 score] Δt + g sqrt(Δt) z,      forward: x + f x Δt + g sqrt(Δt) z.
    The score coefficient -g^2 is the reverse member varsigma = g of the marginal-preserving family, solved from
    the Fokker–Planck equation (fokker_planck.marginal_preserving_coefficient), not typed in."""
    f, g2, score, z = sp.symbols("f g2 score z", real=True)
    step = sp.Symbol("Delta_t", positive=True)
    sign = _direction_sign(direction)
    if direction == fp.FORWARD:
        drift = f * x
    else:
        coeff = fp.marginal_preserving_coefficient(fp.REVERSE).subs({sp.Symbol("G2"): g2, sp.Symbol("S2"): g2})
        drift = f * x + coeff * score
    return x + sign * drift * step + sp.sqrt(g2 * step) * z


def _check_schedule(schedule) -> None:
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a derive.schedules.Schedule, got {type(schedule).__name__}: {schedule!r}")


def _direction_sign(direction: str) -> int:
    if not isinstance(direction, str) or direction not in (fp.FORWARD, fp.REVERSE):
        raise ValueError(f"direction must be {fp.FORWARD!r} or {fp.REVERSE!r}, got {direction!r}")
    return 1 if direction == fp.FORWARD else -1


def kernel_specs() -> list:
    """Euler–Maruyama steps of the forward and reverse SDE (module ``sde_steps``), for samplers and bench/."""
    from .kernel_spec import KernelSpec
    f, g2, score, z = sp.symbols("f g2 score z", real=True)
    step = sp.Symbol("Delta_t", positive=True)
    return [
        KernelSpec("reverse_sde_em_step", "sde_steps", (x, score, z, f, g2, step), euler_maruyama_step(fp.REVERSE),
                   "x_{t-Δt} = x - [f x - g^2 score] Δt + g sqrt(Δt) z  (args x, score, z, f, g2 = g(t)^2, Δt > 0)",
                   "derive.reverse_sde.euler_maruyama_step", "reverse-sde.em-step"),
        KernelSpec("forward_sde_em_step", "sde_steps", (x, z, f, g2, step), euler_maruyama_step(fp.FORWARD),
                   "x_{t+Δt} = x + f x Δt + g sqrt(Δt) z  (args x, z, f, g2 = g(t)^2, Δt > 0)",
                   "derive.reverse_sde.euler_maruyama_step", "forward-sde.em-step"),
    ]
