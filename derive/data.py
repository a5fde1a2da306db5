r"""Exact marginals for Gaussian and Gaussian-mixture data under any schedule.

If x_0 ~ sum_k w_k N(m_k, v_k) and x_t = alpha_t x_0 + sigma_t eps, then
p_t(x) = sum_k w_k N(x; alpha_t m_k, alpha_t^2 v_k + sigma_t^2) and the score is d/dx log p_t(x).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .schedules import Schedule, check_expr
from .symbols import t, x


def normal_pdf(xx, mean, var) -> sp.Expr:
    """Density of N(mean, var) at xx."""
    check_expr("xx", xx), check_expr("mean", mean), check_expr("var", var, "positive")
    return sp.exp(-(xx - mean)**2 / (2 * var)) / sp.sqrt(2 * sp.pi * var)


@dataclass(frozen=True)
class Mixture:
    """A one-dimensional Gaussian mixture data law (a single component is Gaussian data)."""

    weights: tuple
    means: tuple
    variances: tuple

    def __post_init__(self):
        for name in ("weights", "means", "variances"):
            if not isinstance(getattr(self, name), tuple):
                raise TypeError(f"{name} must be a tuple of SymPy expressions or numbers, got {getattr(self, name)!r}")
        if not (len(self.weights) == len(self.means) == len(self.variances) >= 1):
            raise ValueError("weights, means and variances must have the same length >= 1, got lengths "
                             f"{len(self.weights)}, {len(self.means)}, {len(self.variances)}")
        for k, (w, mu, var) in enumerate(zip(self.weights, self.means, self.variances)):
            check_expr(f"weights[{k}]", w, "nonnegative"), check_expr(f"means[{k}]", mu)
            check_expr(f"variances[{k}]", var, "positive")
        total = sp.Add(*self.weights)
        if total.is_number and abs(float(total) - 1) > 1e-12:
            raise ValueError(f"weights must sum to 1, got sum {total}")

    def _check(self, schedule, xx, time):
        if not isinstance(schedule, Schedule):
            raise TypeError(f"schedule must be a derive.schedules.Schedule, got {type(schedule).__name__}")
        check_expr("xx", xx), schedule._time(time, "time", numeric_range=True)

    def marginal_density(self, schedule: Schedule, xx=x, time=t) -> sp.Expr:
        self._check(schedule, xx, time)
        a, s2 = schedule.alpha(time), schedule.sigma(time)**2
        return sp.Add(*[w * normal_pdf(xx, a * mu, a**2 * var + s2)
                        for w, mu, var in zip(self.weights, self.means, self.variances)])

    def score(self, schedule: Schedule, xx=x, time=t) -> sp.Expr:
        self._check(schedule, xx, time)
        dens = self.marginal_density(schedule, x, time)
        return (sp.diff(dens, x) / dens).subs(x, xx)


def gaussian(mean=None, var=None) -> Mixture:
    """Gaussian data N(mean, var); symbolic m, v by default."""
    from .symbols import m, v
    mean = m if mean is None else check_expr("mean", mean)
    var = v if var is None else check_expr("var", var, "positive")
    return Mixture((sp.Integer(1),), (mean,), (var,))
