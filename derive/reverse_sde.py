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
from .schedules import Schedule
from .symbols import t, x


@dataclass(frozen=True)
class Process:
    """A one-dimensional SDE dx = drift dt + sqrt(diffusion_sq) dw in the given time direction."""

    drift: sp.Expr
    diffusion_sq: sp.Expr
    direction: str = fp.FORWARD


def forward_sde(schedule: Schedule) -> Process:
    """dx = f(t) x dt + g(t) dw."""
    return Process(schedule.drift_coeff() * x, schedule.diffusion_sq(), fp.FORWARD)


def family_member(schedule: Schedule, score: sp.Expr, varsigma_sq, direction: str = fp.REVERSE) -> Process:
    """Member of the marginal-preserving family with free diffusion varsigma^2 (an expression in t)."""
    if isinstance(varsigma_sq, (int, float)) and varsigma_sq < 0:
        raise ValueError(f"varsigma_sq must be >= 0, got {varsigma_sq}")
    coeff = fp.marginal_preserving_coefficient(direction)
    c = coeff.subs({sp.Symbol("G2"): schedule.diffusion_sq(), sp.Symbol("S2"): varsigma_sq})
    return Process(schedule.drift_coeff() * x + c * score, sp.sympify(varsigma_sq), direction)


def reverse_sde(schedule: Schedule, score: sp.Expr) -> Process:
    """Anderson's reverse SDE dx = [f x - g^2 score] dt + g d\bar w (member varsigma = g)."""
    return family_member(schedule, score, schedule.diffusion_sq(), fp.REVERSE)


def lambda_member(schedule: Schedule, score: sp.Expr, lam) -> Process:
    """varsigma = lambda g: dx = [f x - (1+lambda^2)/2 g^2 score] dt + lambda g d\bar w."""
    return family_member(schedule, score, sp.sympify(lam)**2 * schedule.diffusion_sq(), fp.REVERSE)


def marginal_residual(process: Process, schedule: Schedule, data: Mixture) -> sp.Expr:
    """Fokker–Planck residual of the exact data marginal under ``process`` (zero iff marginals are shared)."""
    dens = data.marginal_density(schedule)
    return fp.residual(process.drift, process.diffusion_sq, dens, process.direction)
