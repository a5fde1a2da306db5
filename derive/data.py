r"""Exact marginals for Gaussian and Gaussian-mixture data under any schedule.

If x_0 ~ sum_k w_k N(m_k, v_k) and x_t = alpha_t x_0 + sigma_t eps, then
p_t(x) = sum_k w_k N(x; alpha_t m_k, alpha_t^2 v_k + sigma_t^2) and the score is d/dx log p_t(x).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .schedules import Schedule
from .symbols import t, x


def normal_pdf(xx, mean, var) -> sp.Expr:
    """Density of N(mean, var) at xx."""
    return sp.exp(-(xx - mean)**2 / (2 * var)) / sp.sqrt(2 * sp.pi * var)


@dataclass(frozen=True)
class Mixture:
    """A one-dimensional Gaussian mixture data law (a single component is Gaussian data)."""

    weights: tuple
    means: tuple
    variances: tuple

    def __post_init__(self):
        if not (len(self.weights) == len(self.means) == len(self.variances) >= 1):
            raise ValueError("weights, means and variances must have the same length >= 1")

    def marginal_density(self, schedule: Schedule, xx=x, time=t) -> sp.Expr:
        a, s2 = schedule.alpha(time), schedule.sigma(time)**2
        return sp.Add(*[w * normal_pdf(xx, a * mu, a**2 * var + s2)
                        for w, mu, var in zip(self.weights, self.means, self.variances)])

    def score(self, schedule: Schedule, xx=x, time=t) -> sp.Expr:
        dens = self.marginal_density(schedule, x, time)
        return (sp.diff(dens, x) / dens).subs(x, xx)


def gaussian(mean=None, var=None) -> Mixture:
    """Gaussian data N(mean, var); symbolic m, v by default."""
    from .symbols import m, v
    return Mixture((sp.Integer(1),), (m if mean is None else mean,), (v if var is None else var,))
