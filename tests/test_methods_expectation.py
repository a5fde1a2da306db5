"""Tests of checks/methods_expectation.py: Gaussian expectations, integrals, flow maps, orders, reverse laws."""
import numpy as np
import pytest
import sympy as sp
from scipy.integrate import quad

from checks import methods_expectation as E
from checks.catalogue import Claim
from checks.notation import get_notation
from derive.symbols import dt as DT, t as T_SYM, x as X_SYM, x0 as X0_SYM


def _claim(latex, methods, **extra):
    return Claim(id="test.expectation", document="none", label="test", latex=latex, kind="equation",
                 expect="holds", family="test", line=1, methods=tuple(methods), extra=extra)


@pytest.fixture(scope="module")
def model():
    return E.gaussian_models(np.random.default_rng(3))[0]


def test_moments_of_a_standard_normal():
    assert [E.moment(k) for k in range(7)] == [1, 0, 1, 0, 3, 0, 15]
    with pytest.raises(ValueError, match="moment order"):
        E.moment(-1)


def test_standard_normal_expectation_polynomial_and_integral():
    xi, a, b = sp.symbols("xi a b", real=True)
    assert sp.expand(E.standard_normal_expectation((a + b * xi)**2, [xi]) - a**2 - b**2) == 0
    val = E.standard_normal_expectation(sp.exp(-xi**2), [xi])       # E[exp(-xi^2)] = 1/sqrt(3)
    assert isinstance(val, sp.Integral)
    assert abs(E.evaluate(val, {}) - 1 / np.sqrt(3)) < 1e-12


def test_expectation_of_states_matches_quadrature_of_the_marginal(model):
    """E[x_t^2] from the reparameterisation against int x^2 p_t(x) dx of derive's marginal density."""
    pt = {T_SYM: sp.Float("0.43", 30)}
    second = complex(sp.N(E.expectation(model, X_SYM**2).subs(pt))).real
    dens = sp.lambdify(X_SYM, model.density(X_SYM, T_SYM).subs(pt), "numpy")
    assert abs(second - quad(lambda u: u**2 * dens(u), -np.inf, np.inf, epsabs=1e-13)[0]) < 1e-9
    cond = E.expectation(model, X_SYM, given=X0_SYM)                 # E[x_t | x_0] = alpha_t x_0
    assert sp.simplify(cond - model.alpha(T_SYM) * X0_SYM) == 0


def test_gaussian_integral_and_delta_sifting():
    u = sp.Symbol("u", real=True)
    assert abs(complex(sp.N(E.gaussian_integral(3 * sp.exp(-u**2 / 2), u))) - 3 * np.sqrt(2 * np.pi)) < 1e-12
    assert E.gaussian_integral((1 + u) * sp.exp(-u**2), u) is None
    g = sp.exp(-u**2) * (1 + u)
    sifted = E.integrate(sp.DiracDelta(2 * u - 1) * g, u)
    assert sp.simplify(sifted - g.subs(u, sp.Rational(1, 2)) / 2) == 0


def test_peel_replaces_structures_and_rejects_a_bare_integral():
    text, table = E.peel(r"\mathbb{E}[\mathbf{z}] = \int p_t(\mathbf{x}) d\mathbf{x} + \mathcal{O}(\Delta t)")
    assert [table[k][0] for k in sorted(table)] == ["E", "int", "O"]
    assert r"\hat{E}_{1}" in text and r"\hat{J}_{2}" in text and r"\hat{O}_{3}" in text
    with pytest.raises(E.ExpectationError, match="differential"):
        E.peel(r"\int p_t(\mathbf{x})")


def test_flow_maps_compose_to_the_identity(model):
    s, t = sp.Rational(2, 10), sp.Rational(6, 10)
    y = sp.Symbol("y", real=True)
    back = E.gaussian_flow(model, t, s, E.gaussian_flow(model, s, t, y))
    assert abs(complex(sp.N(back.subs(y, sp.Rational(7, 10)))) - 0.7) < 1e-12


def test_context_reads_a_density_integral_and_the_data_law(model):
    ctx = E.Context(model, get_notation("expectation_003"))
    val = ctx.value(r"\int p_t(\mathbf{x}_t | \mathbf{x}_0) p_{\text{data}}(\mathbf{x}_0) d\mathbf{x}_0")
    pt = {T_SYM: sp.Float("0.37", 30), X_SYM: sp.Float("0.2", 30)}
    assert abs(E.evaluate(val, pt) - complex(sp.N(model.density(X_SYM, T_SYM).subs(pt)))) < 1e-12


def test_order_method_measures_the_increment_order():
    holds = _claim(r"\mathbb{E}[\|\mathbf{x}_{t+\Delta t} - \mathbf{x}_t\|_2^2] = \mathcal{O}(\Delta t)", ["increment-order"])
    wrong = _claim(r"\mathbb{E}[\|\mathbf{x}_{t+\Delta t} - \mathbf{x}_t\|_2^2] = \mathcal{O}(\Delta t^2)", ["increment-order"])
    assert E.method_order(holds, "document", 0).holds is True
    assert E.method_order(wrong, "document", 0).holds is False
    with pytest.raises(E.ExpectationError, match="steps"):
        E.method_order(_claim(holds.latex, ["increment-order"], steps=[8, 6]), "document", 0)


def test_test_function_identity_and_its_sign_error():
    """int phi'' p_t = + int phi p_t'' holds; the minus sign is refuted (each test function)."""
    good = _claim(r"\int \phi'' p_t d\mathbf{x} = \int \phi \Delta p_t d\mathbf{x}".replace(r"\phi''", r"(\nabla^2 \phi(x, t))"),
                  ["expectation"])
    bad = _claim(good.latex.replace("= ", "= - "), ["expectation"])
    assert E.method_expectation(good, "document", 1).holds is True
    assert E.method_expectation(bad, "document", 1).holds is False


def test_reverse_law_of_a_forward_process_and_missing_fields():
    process = r"d\mathbf{x} = \mathbf{f}(\mathbf{x}, t) dt + g(t) d\mathbf{w}"
    good = _claim(r"\bar{\mathbf{x}}(t) \sim p_t", ["reverse-law"], process=process)
    bad = _claim(r"\bar{\mathbf{x}}(t) \sim p_{T-t}", ["reverse-law"], process=process)
    assert E.method_reverse_law(good, "document", 2).holds is True
    assert E.method_reverse_law(bad, "document", 2).holds is False
    with pytest.raises(E.ExpectationError, match="process"):
        E.method_reverse_law(_claim(good.latex, ["reverse-law"]), "document", 0)
    with pytest.raises(E.ExpectationError, match="target"):
        E.method_flow_map(_claim(r"\Psi_{0 \rightarrow t} \# p_{\text{data}}", ["flow-map"]), "document", 0)


def test_plugin_methods_are_registered():
    assert set(E.METHODS) == {"expectation", "coupling", "flow-map", "increment-order", "reverse-law"}
