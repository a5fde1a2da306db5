"""Measured convergence orders of the samplers (numerics/solvers.py) on Gaussian data with the exact eps / x0:
global error at t_end against step count, fitted log-log slope within 0.2 of the claimed order."""
from __future__ import annotations

import math

import numpy as np
import pytest

from numerics import solvers as S


@pytest.mark.parametrize("name", S.SOLVERS)
def test_measured_order_matches_claim(name):
    errors = S.global_errors(name)
    order = S.fitted_order(S.STEPS, errors)
    claimed = S.CLAIMED_ORDERS[name]
    assert abs(order - claimed) <= 0.2, (f"{name}: measured order {order:.3f}, claimed {claimed}; "
                                         f"errors {errors} at steps {S.STEPS}")
    assert all(e > 1e-13 for e in errors), f"{name}: errors {errors} reach round-off; the fit would be meaningless"


def test_ddim_equals_dpm_solver_1_in_a_run():
    start = np.linspace(-2, 2, 5)
    a = np.asarray(S.solve("ddim", start, 17))
    b = np.asarray(S.solve("dpm_solver_1", start, 17))
    assert np.max(np.abs(a - b)) < 1e-12


def test_exact_reference_is_the_flow_of_the_ode():
    """Many tiny DPM-Solver-3 steps converge to the closed-form flow map (the reference itself is right)."""
    start = np.array([-1.5, 0.3, 2.0])
    err = np.max(np.abs(np.asarray(S.solve("dpm_solver_3", start, 500)) - np.asarray(S.exact(start))))
    assert err < 1e-8


def test_measured_orders_rows():
    rows = S.measured_orders(["dpm_solver_2"], steps=(40, 80))
    assert rows[0]["solver"] == "dpm_solver_2" and rows[0]["claimed_order"] == 2
    assert abs(rows[0]["measured_order"] - 2) < 0.2 and len(rows[0]["errors"].split()) == 2


def test_final_step_to_sigma_zero_is_finite():
    """The last step of a run may reach sigma_t = 0 (lambda = +inf, h = +inf): every kernel stays finite."""
    import jax.numpy as jnp
    lams = jnp.concatenate([S.lambda_grid(9), jnp.array([math.inf])])
    pad, n = S._padded(lams)
    for name in ("dpm_solver_1", "dpm_solver_2", "dpm_solver_3", "dpm_solver_pp_2s", "dpm_solver_pp_2m",
                 "dpm_solver_pp_3m", "deis_2", "deis_3", "ddim"):
        out = np.asarray(S._solve(jnp.linspace(-2.0, 2.0, 8), pad, n, name, 0.5, 0.2, "order"))
        assert np.all(np.isfinite(out)), (name, out)


def test_bad_arguments():
    with pytest.raises(S.SolverError, match="n_steps"):
        S.solve("ddim", [0.0], 0)
    with pytest.raises(S.SolverError, match="name"):
        S.solve("rk4", [0.0], 4)
    with pytest.raises(S.SolverError, match="warmup"):
        S.solve("deis_3", [0.0], 4, warmup="none")
    with pytest.raises(S.SolverError, match="t_end"):
        S.lambda_grid(4, t_end=2.0)
