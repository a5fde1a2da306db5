"""The claim engine end to end on synthetic claims: statuses, errata both ways, clear failures."""
import pytest

from checks import catalogue
from checks.catalogue import Claim, CatalogueError
from checks.verify import verify

DOC = "002_c84d6164ec9e60ec.txt"
FP = (r"\frac{\partial}{\partial t}  p_{\mathbf{x}_t}(\mathbf{x}) =- \nabla_\mathbf{x} \cdot "
      r"[\mathbf{f}_t(\mathbf{x}) p_t(\mathbf{x})] + \frac{1}{2}  g_t^2  \nabla_\mathbf{x} \cdot \nabla_\mathbf{x}p_t(\mathbf{x})")
WRONG_FP = FP.replace(r"\frac{1}{2}  g_t^2", r"g_t^2")


def claim(latex, kind="equation", expect="holds", corrected="", **extra):
    return Claim(id="t." + kind, document=DOC, label="test", latex=latex, kind=kind, expect=expect,
                 family="test", line=1, notation="002", corrected=corrected, extra=extra)


def test_true_fokker_planck_holds_by_both_methods():
    verdict = verify(claim(FP))
    assert verdict.status == "holds"
    assert {r.method for r in verdict.results} == {"symbolic", "exact-gaussian"}
    assert all(r.holds for r in verdict.results)


def test_erratum_needs_document_refuted_and_correction_holding():
    verdict = verify(claim(WRONG_FP, expect="erratum", corrected=FP))
    assert verdict.status == "erratum"
    doc = [r for r in verdict.results if r.form == "document"]
    fixed = [r for r in verdict.results if r.form == "corrected"]
    assert any(r.holds is False and r.max_abs_error > 1e-3 for r in doc)
    assert all(r.holds for r in fixed)


def test_wrong_correction_does_not_make_an_erratum():
    verdict = verify(claim(WRONG_FP, expect="erratum", corrected=WRONG_FP))
    assert verdict.status != "erratum"


def test_wrong_formula_expected_to_hold_is_refuted():
    assert verify(claim(WRONG_FP)).status == "refuted"


def test_reverse_sde_with_wrong_sign_fails_fokker_planck_and_monte_carlo():
    good = r"d \mathbf{x} = [\mathbf{f}_t(\mathbf{x})-g_t^2\nabla_{\mathbf{x}} \log p_t(\mathbf{x})]dt+g_t d\mathbf{w}"
    bad = good.replace("-g_t^2", "+g_t^2")
    verdict = verify(Claim(id="t.rev", document=DOC, label="t", latex=bad, kind="sde", expect="erratum",
                           family="test", line=1, notation="002", direction="reverse", corrected=good))
    assert verdict.status == "erratum"
    mc = {r.form: r for r in verdict.results if r.method == "monte-carlo"}
    assert mc["document"].holds is False and mc["document"].p_value < 1e-6
    assert mc["corrected"].holds is True


def test_malformed_latex_is_a_failed_verdict_with_a_message():
    verdict = verify(claim(r"\frac{1}{2 = x"))
    assert verdict.status == "failed" and "LatexError" in verdict.message


def test_unknown_symbol_is_reported():
    verdict = verify(claim(r"\zeta_t = 1"))
    assert verdict.status == "failed" and "zeta" in verdict.message


def test_latex_not_in_document_is_rejected():
    with pytest.raises(CatalogueError, match="not found"):
        catalogue.locate(DOC, r"this formula \alpha = 42 is not there")


def test_line_numbers_are_computed():
    assert catalogue.locate(DOC, r"d \mathbf{x} = \mathbf{f}_t(\mathbf{x})dt+g_t d\mathbf{w}") == 27


def test_unknown_family_is_a_clear_error():
    with pytest.raises(CatalogueError, match="unknown family"):
        catalogue.load_claims(["no-such-family"])
