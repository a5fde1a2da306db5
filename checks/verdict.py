"""Verdicts: what one verification method found, and the status of a whole claim."""
from __future__ import annotations

from dataclasses import dataclass, field

STATUSES = ("holds", "erratum", "notation", "unverified", "refuted", "failed")


@dataclass
class MethodResult:
    """One method's evidence on one formula (the document's or the corrected one)."""

    method: str                 # symbolic | numeric-points | exact-gaussian | monte-carlo | order | algorithm
    form: str                   # "document" | "corrected"
    holds: bool | None          # None: inconclusive
    max_abs_error: float | None = None
    statistic: float | None = None
    p_value: float | None = None
    samples: int | None = None
    seed: int | None = None
    seconds: float = 0.0
    detail: str = ""


@dataclass
class Verdict:
    """The outcome of ``checks.verify(claim)``."""

    claim_id: str
    status: str                 # one of STATUSES
    expect: str
    parsed: bool                # True when the document's own LaTeX was parsed (not transcribed)
    results: list = field(default_factory=list)
    seconds: float = 0.0
    message: str = ""
    cached: bool = False        # True when read from the on-disk verdict cache (checks/cache.py)

    @property
    def ok(self) -> bool:
        return self.status == self.expect

    def best(self, form: str = "document") -> MethodResult | None:
        """The most informative result for ``form`` (a decisive one first)."""
        mine = [r for r in self.results if r.form == form]
        decisive = [r for r in mine if r.holds is not None]
        return (decisive or mine or [None])[0]
