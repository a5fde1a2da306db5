"""Progressive distillation (003 §10.3): the derived targets, and exactness for Hypothesis-drawn schedules."""
import jax
import jax.numpy as jnp
import pytest
import sympy as sp
from hypothesis import given, strategies as st

from derive import distill as dd
from numerics import flow_exact as fe
from numerics.kernels import ScheduleFns

# --- Hypothesis-drawn schedules as plain JAX functions (independent of derive/; shared with test_consistency):
# VP with a drawn quadratic log-alpha, and a power path alpha = (1 - t)^p, sigma = t^q; f, g^2 by jax.jvp.

def _d(fn, t):
    t = jnp.asarray(t, dtype=jnp.float64)
    return jax.jvp(fn, (t,), (jnp.ones_like(t),))[1]


def make(alpha, sigma) -> ScheduleFns:
    f = lambda t: _d(alpha, t) / alpha(t)                                    # d log alpha / dt
    g2 = lambda t: _d(lambda u: sigma(u) ** 2, t) - 2 * f(t) * sigma(t) ** 2
    return ScheduleFns(alpha, sigma, f, g2)


def vp(b0, b1):
    alpha = lambda t: jnp.exp(-(b0 * t + (b1 - b0) * t ** 2 / 2) / 2)
    return make(alpha, lambda t: jnp.sqrt(-jnp.expm1(-(b0 * t + (b1 - b0) * t ** 2 / 2))))


def power(p, q):
    return make(lambda t: (1 - t) ** p, lambda t: t ** q)


schedules = st.one_of(
    st.builds(vp, st.floats(0.05, 1.0), st.floats(2.0, 20.0)),
    st.builds(power, st.floats(0.5, 2.0), st.floats(0.5, 2.0)),
)
times = st.lists(st.floats(0.05, 0.95), min_size=3, max_size=3, unique=True).map(lambda ts: sorted(ts, reverse=True)) \
    .filter(lambda ts: ts[0] - ts[1] > 1e-2 and ts[1] - ts[2] > 1e-2)
data = st.tuples(st.floats(-2.0, 2.0), st.floats(0.1, 3.0))


class fs:  # namespace used by the tests below and by tests/test_consistency.py
    schedules, times, data, make, vp, power = schedules, times, data, make, vp, power



def test_x_target_is_lemma_10_3_1():
    """Solving the one-step = two-step equation gives the Lemma's closed form in terms of xtilde_t."""
    t = dd.pd_targets()
    lemma = t["x_from_xt"].subs(sp.Symbol("xtilde_t", real=True), t["xt_two_step"])
    assert sp.simplify(t["x"] - lemma) == 0
    xt = sp.Symbol("xtilde_t", real=True)
    # the Lemma as printed in 003: sigma_s/(alpha_t sigma_s - alpha_s sigma_t) xt - sigma_t/(...) x_s
    den = dd.a_t * dd.s_s - dd.a_s * dd.s_t
    assert sp.simplify(t["x_from_xt"] - (dd.s_s / den * xt - dd.s_t / den * dd.x_s)) == 0


def test_targets_agree_across_parameterisations():
    t = dd.pd_targets()
    x_of_eps = (dd.x_s - dd.s_s * t["eps"]) / dd.a_s
    x_of_v = (dd.a_s * dd.x_s - dd.s_s * t["v"]) / (dd.a_s**2 + dd.s_s**2)
    assert sp.simplify(x_of_eps - t["x"]) == 0 and sp.simplify(x_of_v - t["x"]) == 0


def test_consistent_teacher_gives_its_own_prediction():
    """If the teacher predicts the same x_0 at both steps (a data point on its ray), the target is that x_0."""
    c = sp.Symbol("c", real=True)
    assert sp.simplify(dd.pd_targets()["x"].subs({dd.xh_s: c, dd.xh_u: c}) - c) == 0


def test_guided_teacher_is_an_affine_combination():
    g = dd.guided_teacher()
    assert sp.simplify(g.subs({dd.xh_c: 1, dd.xh_unc: 1}) - 1) == 0            # weights sum to one
    assert sp.simplify(g.subs(dd.omega, 0) - dd.xh_c) == 0


@given(fs.schedules, fs.times, fs.data)
def test_one_student_step_equals_two_teacher_steps(fns, ts, dat):
    s, u, t = ts
    x = jnp.linspace(-3.0, 3.0, 9)
    for kind in ("x", "eps", "v"):
        assert float(jnp.max(fe.pd_discrepancy(fns, dat[0], dat[1], s, u, t, x, kind))) < 1e-10


@given(fs.schedules, fs.times, fs.data)
def test_perturbed_target_is_detected(fns, ts, dat):
    s, u, t = ts
    x = jnp.linspace(-3.0, 3.0, 9)
    assert float(jnp.max(fe.pd_discrepancy(fns, dat[0], dat[1], s, u, t, x, "x", perturb=1e-3))) > 1e-8


def test_bad_kind_is_rejected():
    with pytest.raises(ValueError, match="kind"):
        fe.pd_target_kernel("score")


def test_all_kernel_specs_compile_to_jax():
    """Every KernelSpec of this task's modules lambdifies to a JAX kernel that evaluates finitely."""
    import numpy as np
    from derive import consistency, flow_matching, guidance
    from numerics.kernels import lambdify_jax
    for mod in (dd, consistency, flow_matching, guidance):
        for spec in mod.kernel_specs():
            fn = lambdify_jax(spec.expr, spec.args)
            vals = [0.3 + 0.1 * k for k in range(len(spec.args))]
            assert np.isfinite(float(fn(*vals))), spec.name
