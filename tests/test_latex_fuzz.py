"""Garbled LaTeX never crashes the parser: it parses or raises LatexError."""
from hypothesis import given, settings, strategies as st

from checks import latex as L

TOKENS = st.sampled_from([r"\frac", "{", "}", "(", ")", "_", "^", r"\nabla", r"\log", r"\mathbf", "x", "t", "d",
                          r"\bar", r"\alpha", "=", "+", "-", r"\sqrt", r"\partial", "2", " ", "&", r"\\", r"\delta",
                          r"\mid", ",", r"\sim", r"\mathcal{N}", "p", r"\Delta t", r"\int", r"\approx", "|"])


@settings(max_examples=200, deadline=None)
@given(st.lists(TOKENS, max_size=25).map("".join))
def test_garbage_parses_or_raises_latex_error(text):
    try:
        L.parse_relation(text)
    except L.LatexError:
        pass


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_parses_or_raises_latex_error(text):
    try:
        L.parse_relation(text)
    except L.LatexError:
        pass
