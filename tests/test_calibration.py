"""Calibration of the Monte Carlo check over many seeds (slow; CI runs it): on true SDEs the observed false-alarm
count is within its declared rate, on wrong SDEs the power is at least 0.99. The full study at the check's own
sample size (200 and 50 seeds, every case) is bench/calibration.py; here every case runs at a reduced sample
size so that CI stays fast: 200 seeds on a true case and 50 seeds on each wrong case."""
import pytest

from checks import montecarlo
from checks.calibration import cases, study

SAMPLES = 4000
CASES = {c.name: c for c in cases()}


@pytest.mark.slow
def test_false_alarm_rate_of_a_true_case_over_200_seeds():
    row = study(CASES["reverse SDE (Anderson)"], range(200), SAMPLES)
    # expected rejections 200 * 1e-6; even one would make the declared rate implausible (binomial p < 2e-4)
    assert row["rejected"] == 0, row
    assert row["p_binomial"] >= 1e-3, row
    assert row["p_uniform_ks"] > 1e-4, row          # the p-values themselves are uniform: calibrated at every level
    assert row["rejected_at_0.05"] <= 20, row        # P(Binomial(200, 0.05) > 20) < 0.01


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n, c in CASES.items() if not c.truth])
def test_power_on_wrong_sdes_over_50_seeds(name):
    row = study(CASES[name], range(50), SAMPLES)
    assert row["power"] >= 0.99, row


def test_overall_false_alarm_probability_of_the_catalogue():
    """Union bound over the catalogue's Monte Carlo checks (one per SDE claim form) at the declared ALPHA."""
    from checks.catalogue import load_claims
    forms = sum(1 + (c.expect != "holds" and bool(c.corrected)) for c in load_claims() if c.kind == "sde")
    assert forms * montecarlo.ALPHA < 1e-4, (forms, montecarlo.ALPHA)
