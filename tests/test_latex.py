"""The LaTeX normaliser and parser: structure is accounted for, malformed input gets a clear error."""
import pytest
import sympy as sp

from checks import latex as L


def test_bar_alpha_with_index_becomes_one_atom():
    rel = L.parse_relation(r"\bar{\alpha}_{t-1} + 1 = y")
    assert ("alphabar", "t-1") in rel.atoms.values()


def test_score_and_divergence_are_recognised():
    rel = L.parse_relation(r"\frac{\partial}{\partial t} p_t(\mathbf{x}) = - \nabla_\mathbf{x} \cdot [f p_t(\mathbf{x})]")
    assert any(isinstance(a, sp.Derivative) for a in sp.preorder_traversal(rel.sides[1]))


def test_sde_differentials():
    rel = L.parse_relation(r"d\mathbf{x} = f dt + g_t d\bar{\mathbf{w}}")
    assert ("d", "wbar") in rel.atoms.values() and ("d", "t") in rel.atoms.values()


@pytest.mark.parametrize("bad", [r"\frac{1}{2", r"x = \foo{y}", "", r"\mathbf{x} = \left(", "x" * 30000])
def test_malformed_latex_raises_latex_error(bad):
    with pytest.raises(L.LatexError):
        L.parse_relation(bad)


def test_parse_that_drops_a_symbol_is_rejected():
    # parse_latex reads "\frac{1}{2} a b c" fine; a dropped tail must never pass silently
    rel = L.parse_relation(r"y = \frac{1}{2} a b")
    assert {"a", "b"} <= {s.name for s in rel.sides[1].free_symbols}
