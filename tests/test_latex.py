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


def test_bare_bar_in_a_call_is_a_condition_but_absolute_values_and_norms_are_not():
    from checks.latex import normalise
    assert normalise(r"p(x \mid y)").text.split() == normalise(r"p(x | y)").text.split()
    assert "|" in normalise(r"f(|x|) = |x|").text
    assert "|" in normalise(r"\| x \|^2 = x^2").text


def test_underbrace_labels_and_aligned_are_layout():
    from checks.latex import parse_relation
    rel = parse_relation(r"\begin{aligned} \underbrace{a + b}_{\text{drift}} &= \overbrace{c}^{\text{note}} \end{aligned}")
    assert [str(s) for s in rel.sides] == ["a + b", "c"]


@pytest.mark.parametrize("text", [r"\beta_t x_t +", r"a = b -", r"a = b \cdot", r"x = y^"])
def test_dangling_operator_is_an_error_not_a_silent_product(text):
    from checks.latex import LatexError, parse_relation
    with pytest.raises(LatexError, match="dangling operator"):
        parse_relation(text)


def test_tau_is_a_time_and_arithmetic_subscripts_are_never_read_as_t():
    import sympy as sp
    from checks.notation import NotationError, interpret, get_notation, symbolic_model
    from checks.latex import parse_expression
    model, notation = symbolic_model(), get_notation("common")
    expr, atoms = parse_expression(r"\alpha_\tau")
    assert interpret(expr, atoms, model, notation) == model.alpha(sp.Symbol("tau", positive=True))
    for text in (r"\alpha_{i+1}", r"\alpha_{n-1}"):
        expr, atoms = parse_expression(text)
        with pytest.raises(NotationError, match="cannot read the subscript"):
            interpret(expr, atoms, model, notation)


def test_a_step_before_a_bracket_multiplies_and_a_model_score_is_refused():
    """\\Delta t (a + b) is a product (a call dropped the factor silently); \\log p_t^{SB} is not p_t's score."""
    import sympy as sp
    from checks import latex as L
    expr, atoms = L.parse_expression(r"\Delta t (a + b)")
    assert ("dt", "") in atoms.values()
    assert expr.free_symbols >= {sp.Symbol("a"), sp.Symbol("b")} and not expr.atoms(sp.core.function.AppliedUndef)
    with pytest.raises(L.LatexError, match="superscript"):
        L.parse_expression(r"\nabla_x \log p_t^{SB}(x)")
