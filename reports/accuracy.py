r"""Kernel accuracy in the report (issue 9: "the report lists, for each kernel, the worst relative error found and
where"): the rows of ``kernel_accuracy.csv``, the section "Kernel accuracy" of report.tex and the block in
summary.md.

Nothing is measured here. The measurement is ``numerics.accuracy.all_kernels(n, seed)``: every emitted kernel in
float64 and float32 against mpmath at 50 digits, at n seeded points of its valid domain, the relative error counted
where the formula is well conditioned (numerics/accuracy.py). This module only turns its ``Accuracy`` records
into rows and text. A measurement is *within target* when it produced no NaN/inf, counted at least one
well-conditioned point, and its worst relative error is at most ``numerics.accuracy.TARGET[dtype]`` (1e-12 in
float64, 1e-5 in float32), the criterion of tests/test_kernel_accuracy.py.
"""
from __future__ import annotations

import math

import pandas as pd

from numerics.accuracy import TARGET, Accuracy
from reports.latex import tex_text

COLUMNS = ["kernel", "dtype", "points", "conditioned_points", "worst_rel_error", "target", "within_target",
           "nonfinite", "worst_at"]
DEFAULT_POINTS = 64


def _flatten(worst_at: dict, prefix: str = ""):
    """(name, value) pairs of ``Accuracy.worst_at``; a nested dict (``nonfinite_at``) gives dotted names."""
    if not isinstance(worst_at, dict):
        raise TypeError(f"worst_at must be a dict of argument values, got {type(worst_at).__name__}")
    for key, value in worst_at.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def where(worst_at: dict, digits: int | None = None) -> str:
    """``worst_at`` as "arg=value; ..." (values exactly, as Python's shortest round-trip repr, or to ``digits``
    significant digits); "" when there is no worst point (the kernel was exact everywhere)."""
    def fmt(v):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return repr(float(v)) if digits is None else f"{float(v):.{digits}g}"
        return str(v)
    return "; ".join(f"{k}={fmt(v)}" for k, v in _flatten(worst_at))


def within_target(record: Accuracy) -> bool:
    """No NaN/inf, at least one well-conditioned point, worst relative error <= TARGET[dtype]."""
    err = record.worst_rel_error
    return (record.nonfinite == 0 and record.conditioned_points > 0 and isinstance(err, (int, float))
            and not math.isnan(err) and err <= TARGET[record.dtype])


def make_rows(records) -> list[dict]:
    """One row (``COLUMNS``) per Accuracy record, in the order given (all_kernels: by kernel, float64 first)."""
    rows = []
    for i, rec in enumerate(records):
        if not isinstance(rec, Accuracy):
            raise TypeError(f"records[{i}] must be a numerics.accuracy.Accuracy, got {type(rec).__name__}")
        if rec.dtype not in TARGET:
            raise ValueError(f"records[{i}].dtype must be one of {sorted(TARGET)}, got {rec.dtype!r}")
        rows.append({"kernel": rec.kernel, "dtype": rec.dtype, "points": rec.points,
                     "conditioned_points": rec.conditioned_points, "worst_rel_error": float(rec.worst_rel_error),
                     "target": TARGET[rec.dtype], "within_target": within_target(rec), "nonfinite": rec.nonfinite,
                     "worst_at": where(rec.worst_at)})
    return rows


def frame(rows) -> pd.DataFrame:
    """kernel_accuracy.csv as a DataFrame (the columns in ``COLUMNS`` order, even with no rows)."""
    return pd.DataFrame(rows, columns=COLUMNS)


def outside(rows) -> list[dict]:
    return [r for r in rows if not r["within_target"]]


def _err(x: float) -> str:
    return "--" if x is None or math.isnan(x) else ("0" if x == 0 else f"{x:.2e}")


def _tex_where(row) -> str:
    text = row["worst_at"]
    # shorter numbers in the PDF (the CSV has them exactly); long argument lists wrap in the p-column
    parts = [p.partition("=") for p in text.split("; ")] if text else []
    short = "; ".join(f"{k}={float(v):.6g}" if eq and _is_number(v) else k + eq + v for k, eq, v in parts)
    cell = tex_text(short) if short else r"\emph{exact at every point}"
    if row["nonfinite"]:
        cell = rf"\textcolor{{red}}{{{row['nonfinite']} NaN/inf}}; " + cell
    return cell


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def tex_section(rows, points=None, seed=None) -> list[str]:
    """The section "Kernel accuracy": a sentence with n, seed and the count within target, then a longtable
    (kernel, dtype, worst relative error, target, where) with measurements outside their target in red and
    marked $^{\times}$. ``rows`` None: the measurement was skipped (``--no-accuracy``)."""
    L = [r"\section*{Kernel accuracy}"]
    if rows is None:
        return L + [r"Not measured in this run (\texttt{--no-accuracy}).", ""]
    bad = outside(rows)
    kernels = len({r["kernel"] for r in rows})
    targets = ", ".join(rf"\texttt{{{tex_text(d)}}} {t:g}" for d, t in TARGET.items())
    L += [rf"Every emitted kernel ({kernels}) against mpmath at 50 digits at {tex_text(points)} seeded points of its "
          rf"valid domain (seed {tex_text(seed)}), relative error counted where the formula is well conditioned. "
          rf"Target: {targets}; no NaN or inf. "
          rf"{len(rows) - len(bad)} of {len(rows)} measurements within target"
          + ("." if not bad else rf"; outside ($^{{\times}}$, in red): "
             + ", ".join(rf"\texttt{{{tex_text(r['kernel'])}}} ({tex_text(r['dtype'])})" for r in bad) + "."),
          "", r"{\footnotesize",
          r"\begin{longtable}{@{}l l r r >{\raggedright\arraybackslash}p{0.36\linewidth}@{}}", r"\toprule",
          r"kernel & dtype & worst rel.\ error & target & where \\", r"\midrule", r"\endhead"]
    for r in rows:
        err = _err(r["worst_rel_error"])
        if r["within_target"]:
            name, err_cell = rf"\texttt{{{tex_text(r['kernel'])}}}", err
        else:
            name = rf"\texttt{{{tex_text(r['kernel'])}}}$^{{\times}}$"
            err_cell = rf"\textcolor{{red}}{{{err}}}"
        L.append(rf"{name} & \texttt{{{tex_text(r['dtype'])}}} & {err_cell} & {r['target']:g} & {_tex_where(r)} \\")
    L += [r"\bottomrule", r"\end{longtable}", "}",
          r"\noindent Measured by \texttt{numerics.accuracy.all\_kernels(n, seed)}.\\",
          r"The worst inputs, to every digit: \texttt{kernel\_accuracy.csv}.", ""]
    return L


def markdown_block(rows, points=None, seed=None) -> list[str]:
    """The short block of summary.md: per dtype the count within target and the worst kernel, then every
    measurement outside its target. ``rows`` None: skipped."""
    L = ["## Kernel accuracy", ""]
    if rows is None:
        return L + ["Not measured in this run (`--no-accuracy`)."]
    bad = outside(rows)
    L += [f"{len({r['kernel'] for r in rows})} emitted kernels against mpmath at 50 digits, {points} seeded points "
          f"each (seed {seed}): {len(rows) - len(bad)} of {len(rows)} measurements within target "
          f"({', '.join(f'{d} {t:g}' for d, t in TARGET.items())}, no NaN/inf). All rows: `kernel_accuracy.csv`.",
          "", "| dtype | kernels | within target | worst relative error | kernel | where |",
          "|---|---:|---:|---:|---|---|"]
    for dtype in TARGET:
        mine = [r for r in rows if r["dtype"] == dtype]
        if not mine:
            continue
        worst = max(mine, key=lambda r: (not math.isnan(r["worst_rel_error"]), r["worst_rel_error"]))
        L.append(f"| {dtype} | {len(mine)} | {sum(r['within_target'] for r in mine)} | "
                 f"{_err(worst['worst_rel_error'])} | `{worst['kernel']}` | {_md_where(worst)} |")
    if bad:
        L += ["", "Outside target:", ""]
        L += [f"- `{r['kernel']}` ({r['dtype']}): worst relative error {_err(r['worst_rel_error'])} "
              f"(target {r['target']:g}), {r['nonfinite']} NaN/inf, {r['conditioned_points']} of {r['points']} "
              f"points well conditioned; at {_md_where(r)}" for r in bad]
    return L


def _md_where(row) -> str:
    text = row["worst_at"]
    return f"`{text}`" if text else "exact at every point"


def manifest_entry(rows, points, seed, seconds) -> dict:
    """What manifest.json records of the measurement (n and seed reproduce it: all_kernels(points, seed))."""
    return {"function": "numerics.accuracy.all_kernels", "points": points, "seed": seed,
            "reference": "mpmath, 50 significant digits", "targets": dict(TARGET),
            "measurements": len(rows), "kernels": len({r["kernel"] for r in rows}),
            "outside_target": [f"{r['kernel']} ({r['dtype']})" for r in outside(rows)],
            "seconds": round(float(seconds), 2)}
