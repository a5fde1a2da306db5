"""Consistency models, CTM and MeanFlow (003 ch. 11): derived objects and exact Gaussian references."""
import jax.numpy as jnp
import sympy as sp
from hypothesis import given, strategies as st

from derive import consistency as dc, schedules as S
from derive.symbols import eps, m, v, x, x0
from numerics import flow_exact as fe
from tests.test_distill import fs


def test_edm_preconditioning_gives_unit_variance_target_with_minimal_c_out():
    c_skip, c_out = dc.edm_preconditioning()
    # independent route: Var[(x_0 - c_skip (x_0 + s n)) / c_out] = 1 with Var x_0 = sigma_d^2, Var n = 1
    var_target = ((1 - c_skip)**2 * dc.sigma_d**2 + c_skip**2 * dc.s_lvl**2) / c_out**2
    assert sp.simplify(var_target - 1) == 0
    assert sp.simplify(c_skip - dc.sigma_d**2 / (dc.s_lvl**2 + dc.sigma_d**2)) == 0


def test_cm_boundary_condition():
    """c_skip(eps) = 1, c_out(eps) = 0, so f_theta(x, eps) = x for any network output (003 §11.2.1)."""
    c_skip, c_out = dc.cm_coefficients()
    assert sp.simplify(c_skip.subs(dc.s_lvl, dc.eps_min)) == 1
    assert sp.simplify(c_out.subs(dc.s_lvl, dc.eps_min)) == 0
    f = dc.parameterised(c_skip, c_out)
    assert sp.simplify(f.subs(dc.s_lvl, dc.eps_min) - x) == 0


def test_trig_parameterisation_boundary():
    """sCM (11.3.8): c_skip = cos s, c_out = -sigma_d sin s satisfy the boundary at s = 0."""
    s = dc.s_lvl
    f = dc.parameterised(sp.cos(s), -dc.sigma_d * sp.sin(s))
    assert sp.simplify(f.subs(s, 0) - x) == 0


def test_consistency_function_is_constant_along_pf_ode():
    """(11.2.3): d/ds f*(x(s), s) = d_s f* + d_x f* v* = 0 and f*(x, 0) = x, for VP, EDM and RF paths."""
    for sch in (S.edm(), S.rectified_flow(), S.vp_linear()):
        f = dc.consistency_function(sch)
        vel = dc.pf_velocity(sch)
        assert sp.simplify(sp.diff(f, dc.s_lvl) + sp.diff(f, x) * vel) == 0
        assert sp.simplify(f.subs(dc.s_lvl, 0) - x) == 0


def test_ct_single_point_ddim_is_exact_on_the_pair():
    a1, s1, a2, s2 = sp.symbols("a1 s1 a2 s2", positive=True)
    assert sp.expand(dc.ct_single_point_step(a1, s1, a2, s2) - (a2 * x0 + s2 * eps)) == 0


def test_ctm_residual_limit_is_prop_11_4_1():
    """g*(x, s, s) = x - s v*(x, s) on the EDM axis (sigma = s), by a SymPy limit of the solved g*."""
    edm = S.edm()
    flow = dc.gaussian_flow_map(edm, dc.s_lvl, dc.t_lvl, x, m, v)
    g = dc.ctm_residual(flow)
    assert sp.simplify(sp.limit(g, dc.t_lvl, dc.s_lvl) - (x - dc.s_lvl * dc.pf_velocity(edm))) == 0
    assert sp.simplify(dc.ctm_jump(x, dc.s_lvl, dc.s_lvl) - x) == 0         # G(x, s, s) = x
    assert sp.simplify(dc.ctm_jump(residual=g) - flow) == 0


def test_meanflow_identity_symbolic():
    for sch in (S.rectified_flow(), S.edm()):
        assert dc.meanflow_identity_residual(sch) == 0


@given(fs.schedules, fs.times, fs.data, st.floats(0.1, 1.0))
def test_exact_consistency_function(fns, ts, dat, sigma_data):
    s, u, _ = ts
    x = jnp.linspace(-3.0, 3.0, 9)
    assert float(fe.consistency_check(fns, dat[0], dat[1], s, u, x, sigma_data, 0.002)) < 1e-10
    assert float(fe.consistency_check(fns, dat[0], dat[1], s, u, x, sigma_data, 0.002, perturb=1e-4)) > 1e-8


@given(st.one_of(fs.schedules, st.builds(lambda c: fs.make(lambda t: jnp.ones_like(jnp.asarray(t, dtype=jnp.float64)),
                                                            lambda t: c * t), st.floats(1.0, 80.0))),
       fs.times, fs.data)
def test_exact_ctm_jumps(fns, ts, dat):
    """EDM axes sigma = c t (CTM's setting) and the drawn schedules: g* is solved, so G = Psi on any time axis."""
    s, u, t = ts
    x = jnp.linspace(-3.0, 3.0, 9)
    assert float(fe.ctm_check(fns, dat[0], dat[1], s, u, t, x)) < 1e-10
    assert float(fe.ctm_check(fns, dat[0], dat[1], s, u, t, x, perturb=1e-4)) > 1e-8


@given(fs.schedules, fs.times, fs.data)
def test_exact_meanflow_average_velocity(fns, ts, dat):
    s, _, t = ts
    x = jnp.linspace(-3.0, 3.0, 9)
    assert float(fe.meanflow_check(fns, dat[0], dat[1], s, t, x)) < 1e-10
    assert float(fe.meanflow_check(fns, dat[0], dat[1], s, t, x, perturb=1e-4)) > 1e-8


def test_kernel_specs():
    for spec in dc.kernel_specs():
        assert spec.module == "consistency" and spec.expr.free_symbols <= set(spec.args)
