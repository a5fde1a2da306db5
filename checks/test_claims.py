"""pytest entry point of the claims catalogue: one test per claim, the same verify() as the report."""
import pytest

from checks.catalogue import load_claims
from checks.seeds import claim_seed
from checks.verify import verify

CLAIMS = load_claims()


@pytest.mark.parametrize("claim", CLAIMS, ids=[c.id for c in CLAIMS])
def test_claim(claim):
    verdict = verify(claim, seed=claim_seed(0, claim.id))   # the seed `python -m reports` uses (--seed 0)
    detail = "; ".join(f"{r.method}/{r.form}: holds={r.holds} err={r.max_abs_error} {r.detail}" for r in verdict.results)
    assert verdict.status == claim.expect, (
        f"{claim.id} ({claim.document} {claim.label}, line {claim.line}): status {verdict.status!r}, "
        f"expected {claim.expect!r}. {verdict.message} {detail}")
