"""One row per claim for claims.csv / --json, and the documents x statuses count table (report.tex, summary.md)."""
from __future__ import annotations

import json
import math
from collections import Counter

import pandas as pd

from checks.verdict import STATUSES

COLUMNS = ["id", "document", "label", "line", "family", "kind", "expect", "status", "method", "max_abs_error",
           "statistic", "p_value", "samples", "seed", "seconds", "parsed", "corrected", "message", "cached"]
MAIN_STATUSES = ("holds", "erratum", "notation", "unverified")


def _finite(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def make_row(claim, verdict, seed) -> dict:
    best = verdict.best("document") or verdict.best("corrected")
    g = lambda name, default=None: getattr(claim, name, default)  # noqa: E731
    return {
        "id": claim.id, "document": g("document"), "label": g("label"), "line": g("line"), "family": g("family"),
        "kind": g("kind"), "expect": verdict.expect or g("expect"), "status": verdict.status,
        "method": best.method if best else None,
        "max_abs_error": _finite(best.max_abs_error) if best else None,
        "statistic": _finite(best.statistic) if best else None,
        "p_value": _finite(best.p_value) if best else None,
        "samples": best.samples if best else None,
        "seed": best.seed if best and best.seed is not None else seed,
        "seconds": round(float(verdict.seconds), 4), "parsed": bool(verdict.parsed),
        "corrected": g("corrected") or None, "message": verdict.message or None,
        "cached": bool(getattr(verdict, "cached", False)),   # read from checks/cache.py (same code, claim, seed)
    }


def frame(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("line", "samples", "seed"):
        df[col] = df[col].astype("Int64")
    return df


def json_rows(rows) -> str:
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
        return v
    return json.dumps([{k: clean(v) for k, v in r.items()} for r in rows], indent=1, default=str)


def statuses(rows) -> list[str]:
    seen = {r["status"] for r in rows}
    return list(MAIN_STATUSES) + [s for s in STATUSES if s in seen and s not in MAIN_STATUSES] + \
        sorted(seen - set(STATUSES))


def count_table(rows):
    """(statuses, [(document, {status: n}, total, differing)]) with a final 'all' row."""
    order = statuses(rows)
    table = []
    for doc in sorted({r["document"] or "" for r in rows}) + [None]:
        mine = [r for r in rows if doc is None or (r["document"] or "") == doc]
        table.append((doc if doc is not None else "all", Counter(r["status"] for r in mine), len(mine),
                      sum(r["status"] != r["expect"] for r in mine)))
    return order, table


def erratum_rows(rows):
    return [r for r in rows if r["status"] == "erratum" or r["expect"] == "erratum"]

