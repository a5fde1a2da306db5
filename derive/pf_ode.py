r"""Probability-flow ODE: the varsigma = 0 member of the marginal-preserving family.

dx/dt = f(t) x - 1/2 g(t)^2 d_x log p_t(x). For Gaussian data N(m, v) the ODE is linear, so its flow map is
the increasing affine map carrying N(alpha_s m, V_s) to N(alpha_t m, V_t), V = alpha^2 v + sigma^2:
x -> alpha_t m + sqrt(V_t / V_s) (x - alpha_s m). tests/ checks that this map solves the ODE.
"""
from __future__ import annotations

import sympy as sp

from . import fokker_planck as fp
from .reverse_sde import Process, family_member
from .schedules import Schedule, check_expr
from .symbols import m, v


def pf_ode(schedule: Schedule, score: sp.Expr) -> Process:
    """dx = [f x - 1/2 g^2 score] dt (no noise; either time direction)."""
    _check_schedule(schedule)
    return family_member(schedule, score, sp.Integer(0), fp.FORWARD)


def gaussian_flow_map(schedule: Schedule, s_time, t_time, xx, mean=m, var=v) -> sp.Expr:
    """Flow map of the PF-ODE for N(mean, var) data, from time s to time t."""
    _check_schedule(schedule)
    for name, value in (("s_time", s_time), ("t_time", t_time)):
        if check_expr(name, value).is_number:
            schedule.check_time(value, name)
    check_expr("xx", xx), check_expr("mean", mean), check_expr("var", var, "positive")
    var_s = schedule.alpha(s_time)**2 * var + schedule.sigma(s_time)**2
    var_t = schedule.alpha(t_time)**2 * var + schedule.sigma(t_time)**2
    return schedule.alpha(t_time) * mean + sp.sqrt(var_t / var_s) * (xx - schedule.alpha(s_time) * mean)


def _check_schedule(schedule) -> None:
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a derive.schedules.Schedule, got {type(schedule).__name__}: {schedule!r}")
