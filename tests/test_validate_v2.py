"""Argument checks of derive.{exp_integrator, edm, flow_matching, consistency, distill, kernel_spec} and
numerics.{accuracy, emit} beyond tests/test_public_api.py (issue 9 item 5).

Covers what the table there cannot: the numerics entry points called with a real KernelSpec (so that the bad
argument, not the spec, is what is refused), range rules (a symbol passes unless its assumptions contradict the
range; numbers are checked exactly), ``k = 0`` of the phi-functions (valid: phi_0 = e^h), and the KernelSpec
fields checked in ``__post_init__``.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from derive import consistency as dc
from derive import distill as dd
from derive import edm
from derive import exp_integrator as E
from derive import flow_matching as fm
from derive import schedules
from derive.kernel_spec import KernelSpec
from numerics import accuracy, emit

x = sp.Symbol("x", real=True)
free = sp.Symbol("q")                         # no assumptions: passes every range rule
neg = sp.Symbol("n_neg", negative=True)       # contradicts > 0 and >= 0


def spec(**over):
    fields = dict(name="k", module="mod", args=(x,), expr=x**2, formula="x^2", derivation="derive.x")
    return KernelSpec(**{**fields, **over})


# --- KernelSpec.__post_init__ ------------------------------------------------------------------------------
@pytest.mark.parametrize("field, value, exc, pattern", [
    ("name", None, TypeError, r"name must be a non-empty str"),
    ("module", "", ValueError, r"module must be a non-empty str"),
    ("formula", 3, TypeError, r"formula must be a non-empty str"),
    ("derivation", None, TypeError, r"derivation must be a non-empty str"),
    ("meaning", None, TypeError, r"meaning must be a str"),
    ("expr", "x**2", TypeError, r"expr must be a SymPy expression"),
    ("expr", sp.nan, ValueError, r"expr must be finite"),
    ("args", "x", TypeError, r"args must be a list or tuple"),
    ("args", (x, "y"), TypeError, r"args\[1\] must be a SymPy Symbol"),
    ("domain", [("x", (0, 1))], TypeError, r"domain must be a tuple"),
    ("domain", (("y", (0, 1)),), ValueError, r"domain\[0\] name 'y' is not among the args"),
    ("domain", (("x", (0, "1")),), TypeError, r"domain\[0\] bounds must be a SymPy expression"),
    ("domain", (("x", (0, 1, 2)),), ValueError, r"domain\[0\] bounds must be \(low, high\)"),
])
def test_kernel_spec_rejects_bad_fields(field, value, exc, pattern):
    with pytest.raises(exc, match=pattern):
        spec(**{field: value})


def test_kernel_spec_normalises_args_and_expr():
    s = spec(args=[x], expr=2, domain=(("x", (0, 1)),))
    assert s.args == (x,) and s.expr == sp.Integer(2) and isinstance(s.expr, sp.Expr)
    assert s.domain == (("x", (sp.Integer(0), sp.Integer(1))),)
    hash(s)                                               # still usable as a dict key / in sets


# --- numerics.accuracy and numerics.emit with a valid spec ---------------------------------------------------
@pytest.mark.parametrize("kwargs, exc, pattern", [
    ({"n": 0}, ValueError, r"n must be an integer >= 1"),
    ({"n": 2.0}, TypeError, r"n must be an integer >= 1"),
    ({"seed": -1}, ValueError, r"seed must be an integer >= 0"),
    ({"dtype": np.int32}, ValueError, r"dtype must be float64 or float32, got int32"),
    ({"dtype": "no such type"}, TypeError, r"dtype must be a NumPy float dtype"),
    ({"spec": {"name": "k"}}, TypeError, r"spec must be a derive.kernel_spec.KernelSpec"),
])
def test_measure_rejects_bad_arguments(kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        accuracy.measure(**{"spec": spec(), **kwargs})


def test_sampler_and_all_kernels_reject_bad_arguments():
    with pytest.raises(TypeError, match=r"name must be a non-empty str"):
        accuracy.sampler(3)
    with pytest.raises(ValueError, match=r"name must be a non-empty str"):
        accuracy.sampler("")
    with pytest.raises(TypeError, match=r"n must be an integer"):
        accuracy.all_kernels(n="64")
    assert accuracy.sampler("alpha_t") is accuracy.sampler("alpha")       # the prefix rule still applies


@pytest.mark.parametrize("fn, kwargs, exc, pattern", [
    (emit.function_source, {"claim_ids": None}, TypeError, r"claim_ids must be a list or tuple"),
    (emit.function_source, {"claim_ids": ["a.b", ""]}, ValueError, r"claim_ids\[1\] must be a non-empty str"),
    (emit.module_source, {"module": "not a name"}, ValueError, r"module must be a public Python identifier"),
    (emit.module_source, {"specs": [spec(), "k"]}, TypeError, r"specs\[1\] must be a derive.kernel_spec.KernelSpec"),
    (emit.module_source, {"claims": {"m": "a.b"}}, TypeError, r"claims\['m'\] must be a list or tuple"),
    (emit.differences, {"files": {"a.py": 3}}, TypeError, r"files\['a.py'\] must be a str"),
    (emit.differences, {"directory": None}, TypeError, r"directory must be a directory path"),
])
def test_emit_rejects_bad_arguments(fn, kwargs, exc, pattern):
    base = {emit.function_source: {"spec": spec(), "claim_ids": []},
            emit.module_source: {"module": "mod", "specs": [spec()], "claims": {}},
            emit.differences: {"files": {}}}[fn]
    with pytest.raises(exc, match=pattern):
        fn(**{**base, **kwargs})


def test_emit_still_renders_a_valid_spec(tmp_path):
    text = emit.module_source("mod", [spec()], {"m": ["a.b"]})
    assert "def k(x):" in text and "return x**2" in text
    assert emit.differences({"mod.py": text}, str(tmp_path)) == ["mod.py"]          # a str directory is a Path


# --- derive: range rules pass symbols, refuse contradicting numbers and assumptions ----------------------
def test_phi_functions_accept_k_zero_and_refuse_negative_k():
    h = E.HR
    assert E.phi(0) == sp.exp(h)                                  # phi_0(h) = e^h by definition
    assert E.phi_recursion_residual(0) == 0                       # phi_1 = (e^h - 1)/h
    assert sp.expand(E.phi_series(0, 3) - (1 + h + h**2 / 2)) == 0
    assert sp.simplify(E.taylor_weight_data(0) - E.ALPHA_T * (1 - sp.exp(-E.H))) == 0
    for fn in (E.phi, E.phi_recursion_residual, E.phi_series, E.taylor_weight_eps, E.taylor_weight_data):
        with pytest.raises(ValueError, match=r"k must be an integer >= 0"):
            fn(-1)
    with pytest.raises(ValueError, match=r"k must be an integer >= 1"):
        E.stable_phi(0)
    with pytest.raises(TypeError, match=r"arg must be a SymPy expression"):
        E.phi(1, "h")


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: E.dpm_solver_2(2), ValueError, r"ratio must be in \(0, 1\]"),
    (lambda: E.dpm_solver_pp_2s(0), ValueError, r"ratio must be in \(0, 1\]"),
    (lambda: E.dpm_solver_1(alpha_s=neg), ValueError, r"alpha_s must be > 0"),
    (lambda: E.dpm_solver_1(hh=0), ValueError, r"hh must be > 0"),
    (lambda: E.h_of(sigma_t=0), ValueError, r"sigma_t must be > 0"),
    (lambda: E.deis(4), ValueError, r"order must be an integer in 1..3"),
    (lambda: E.dpm_solver_pp_2m(final_step=1), TypeError, r"final_step must be True or False"),
    (lambda: edm.ode_slope(sigma=0), ValueError, r"sigma must be > 0"),
    (lambda: fm.gaussian_path_velocity(x, 1 + fm.t, time=2 * fm.t), TypeError, r"time must be a SymPy Symbol"),
    (lambda: fm.gaussian_path_velocity(x, -1 - fm.t**2), ValueError, r"sd must be > 0"),
    (lambda: fm.loss_gap(schedules.rectified_flow(), sp.Rational(1, 2), var=-1), ValueError, r"var must be > 0"),
    (lambda: fm.loss_gap(schedules.rectified_flow(), -1), ValueError, r"time must be >= 0"),
    (lambda: fm.reflow_gaussian(mean="m"), TypeError, r"mean must be a SymPy expression"),
    (lambda: fm.marginal_velocity(schedules.rectified_flow(), (1, 0, 1)), TypeError, r"data must be a derive.data"),
    (lambda: dc.pf_velocity(schedules.rectified_flow(), data="gaussian"), TypeError, r"data must be a derive.data"),
    (lambda: dc.ctm_jump(start=0), ValueError, r"start must be > 0"),
    (lambda: dc.meanflow_identity_residual(schedules.rectified_flow(), var=0), ValueError, r"var must be > 0"),
    (lambda: dd.ddim_x(x, x, 1, 0, 1, 0), ValueError, r"sigma_from must be > 0"),
    (lambda: dd.guided_teacher(None), TypeError, r"w must be a SymPy expression"),
])
def test_derive_rejects_out_of_range_values(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_symbols_without_contradicting_assumptions_pass():
    assert E.h_of(free, free, free, free) == 0                               # log(1) - log(1)
    assert edm.ode_slope(x, 0, free) == x / free
    assert E.dpm_solver_2(free).has(free)
    assert sp.simplify(dc.ctm_jump(x, free, free) - x) == 0                 # G(x, s, s) = x
    assert dd.guided_teacher(-1) == dd.xh_unc                               # omega = -1: the unconditional model
    x0, eps = sp.symbols("x_0 epsilon", real=True)
    a1, s1, a2 = sp.symbols("a_1 s_1 a_2", positive=True)
    # the last CT step (sigma_to = 0) lands on alpha_to x_0 (003 §11.2.1 with sigma_to = 0)
    assert sp.expand(dc.ct_single_point_step(a1, s1, a2, 0) - a2 * x0) == 0
    assert eps not in dc.ct_single_point_step(a1, s1, a2, 0).free_symbols
