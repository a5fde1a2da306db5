"""derive._validate: the argument rules every public derive function declares with @checked."""
import pytest
import sympy as sp

from derive import _validate as V


@V.checked(var=V.POSITIVE, eta=V.ETA, order=V.integer(1, 3), name=V.choice("eps", "x0"))
def _f(var, eta=0, order=1, name="eps"):
    return var, eta, order, name


def test_valid_calls_pass_values_through():
    q = sp.Symbol("q", positive=True)
    assert _f(q) == (q, 0, 1, "eps")
    assert _f(2, eta=1, order=3, name="x0") == (2, 1, 3, "x0")
    free = sp.Symbol("z")                    # no assumptions: a range rule cannot refute it
    assert _f(free, eta=free)[0] == free


@pytest.mark.parametrize("kwargs, exc, pattern", [
    ({"var": -1}, ValueError, r"var must be > 0"),
    ({"var": sp.Symbol("n", negative=True)}, ValueError, r"var must be > 0"),
    ({"var": "2"}, TypeError, r"var must be a SymPy expression"),     # text is never sympified
    ({"var": True}, TypeError, r"var must be"),
    ({"var": sp.oo}, ValueError, r"var must be finite"),
    ({"var": 1, "eta": 1.5}, ValueError, r"eta must be in \[0, 1\]"),
    ({"var": 1, "order": 4}, ValueError, r"order must be an integer in 1..3"),
    ({"var": 1, "order": 2.0}, TypeError, r"order must be an integer"),
    ({"var": 1, "name": "v"}, ValueError, r"name must be one of \['eps', 'x0'\]"),
])
def test_bad_values_name_the_argument_and_range(kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        _f(**kwargs)


def test_open_and_closed_interval_ends():
    assert V.UNIT("abar", 1) == 1
    with pytest.raises(ValueError, match=r"abar must be in \(0, 1\)"):
        V.OPEN_UNIT("abar", 1)
    with pytest.raises(ValueError, match=r"abar must be in \(0, 1\]"):
        V.UNIT("abar", 0)


def test_matrices():
    assert V.SPD("cov", [[2, 1], [1, 2]]).shape == (2, 2)
    with pytest.raises(ValueError, match="cov must be positive definite"):
        V.SPD("cov", [[1, 2], [2, 1]])
    with pytest.raises(ValueError, match="cov must be symmetric"):
        V.SPD("cov", [[2, 1], [0, 2]])
    with pytest.raises(TypeError, match="cov must be a SymPy Matrix"):
        V.SPD("cov", "[[1]]")
    with pytest.raises(TypeError, match="cov entries must be"):
        V.MATRIX("cov", [["a"]])


def test_sequences_symbols_and_optional():
    assert V.sequence_of(V.BETA, 2)("betas", (0.1, 0.2)) == [sp.Float(0.1), sp.Float(0.2)]
    with pytest.raises(ValueError, match=r"betas\[1\] must be in \(0, 1\)"):
        V.sequence_of(V.BETA)("betas", [0.1, 1])
    with pytest.raises(TypeError, match="betas must be a list or tuple"):
        V.sequence_of(V.BETA)("betas", "0.1")
    x = sp.Symbol("x")
    assert V.VARIABLES("var", sp.Matrix([x])) == sp.Matrix([x])
    with pytest.raises(TypeError, match="var must be a SymPy Symbol"):
        V.SYMBOL("var", x + 1)
    assert V.optional(V.POSITIVE)("g", None) is None


def test_a_rule_for_a_missing_parameter_is_a_definition_error():
    with pytest.raises(TypeError, match="not parameters"):
        V.checked(sigma=V.POSITIVE)(lambda var: var)
