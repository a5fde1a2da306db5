r"""Calibration of the Monte Carlo check (checks/montecarlo.py): false-alarm rate on true SDEs over many seeds,
power on wrong ones (issue 9, item 2).

True cases are members of the marginal-preserving family *derived* in derive/reverse_sde.py (forward SDE,
Anderson's reverse SDE, a reverse member with varsigma^2 = g^2/4); wrong cases are the errors documents make
(a missing factor 1/2 on the score term, a flipped drift sign, the PF-ODE drift with the reverse-SDE noise).
Each case runs the check exactly as a claim does (``montecarlo.run``: same schedule, data, steps and test,
seed by seed). A true case must be rejected at most at the declared rate ALPHA; the observed count over n
seeds is compared with the one-sided binomial bound, and the p-values with the uniform law.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.stats
import sympy as sp

from derive import reverse_sde
from derive.symbols import t, x

from . import montecarlo


@dataclass(frozen=True)
class Case:
    name: str
    truth: bool
    direction: str
    drift: sp.Expr
    diffusion_sq: sp.Expr


def _model():
    from .verify import numeric_models
    return montecarlo.opaque_model(numeric_models(np.random.default_rng(0), 1)[0].data)


def cases() -> list[Case]:
    model = _model()
    sc, score = model.schedule, model.score(x, t)
    fwd = reverse_sde.forward_sde(sc)
    rev = reverse_sde.reverse_sde(sc, score)
    quarter = reverse_sde.family_member(sc, score, sc.diffusion_sq() / 4)
    f, g2 = sc.drift_coeff(), sc.diffusion_sq()
    return [
        Case("forward SDE", True, "forward", fwd.drift, fwd.diffusion_sq),
        Case("reverse SDE (Anderson)", True, "reverse", rev.drift, rev.diffusion_sq),
        Case("reverse member varsigma^2 = g^2/4", True, "reverse", quarter.drift, quarter.diffusion_sq),
        Case("reverse SDE with the score term halved", False, "reverse", f * x - g2 * score / 2, g2),
        Case("forward SDE with the drift sign flipped", False, "forward", -f * x, g2),
        Case("reverse SDE with the score coefficient doubled", False, "reverse", f * x - 2 * g2 * score, g2),
    ]


def study(case: Case, seeds: range, samples: int | None = None) -> dict:
    """Run the check on ``case`` for every seed; rejections, p-values and the verdict on calibration/power."""
    model = _model()
    p_values = np.array([montecarlo.run(case.drift, case.diffusion_sq, case.direction, model, "document", seed,
                                        samples).p_value for seed in seeds])
    rejected = int(np.sum(p_values < montecarlo.ALPHA))
    n = len(p_values)
    row = {"case": case.name, "truth": case.truth, "seeds": n, "samples": samples or montecarlo.DEFAULT_SAMPLES,
           "steps": montecarlo.N_STEPS, "alpha": montecarlo.ALPHA, "rejected": rejected,
           "rate": rejected / n, "first_seed": seeds[0]}
    if case.truth:
        # P(Binomial(n, ALPHA) >= rejected): a small value would mean the declared rate is exceeded
        row["p_binomial"] = float(scipy.stats.binom.sf(rejected - 1, n, montecarlo.ALPHA)) if rejected else 1.0
        row["rejected_at_0.05"] = int(np.sum(p_values < 0.05))
        row["p_uniform_ks"] = float(scipy.stats.kstest(p_values, "uniform").pvalue)
    else:
        row["power"] = rejected / n
    return row
