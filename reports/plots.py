r"""Figures of the report (matplotlib, Agg backend), written atomically under ``<out>/figures/``.

* ``mc_histogram``: for an SDE claim with a Monte Carlo result, the end-time law of the claimed process (the
  document's and, for an erratum, the corrected form) against the exact marginal density. The simulation is the
  one of checks.montecarlo.run (same reference model, seed, step count, time span), repeated here because the
  verdict keeps only the KS statistic, not the samples.
* ``order_plot``: global error against step count for every solver of ``numerics.solvers.measured_orders()``
  with the fitted and claimed orders (skipped when that function is absent).
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

FIG_DIR = "figures"
MAX_PLOT_SAMPLES = 20_000


def _save(fig, path: Path) -> None:
    """Save ``fig`` to ``path`` atomically (temporary file in the same directory, then os.replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, bbox_inches="tight", metadata={"CreationDate": None} if path.suffix == ".pdf" else None)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        plt.close(fig)


def _safe_name(claim_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in claim_id)


def simulate_claim(claim, form: str, seed: int, samples: int | None):
    """(end samples, grid, exact density on the grid, end time) of the claimed SDE, as checks.montecarlo.run."""
    import jax
    import sympy as sp
    from checks import montecarlo
    from checks.notation import get_notation
    from checks.verify import _sde_parts, numeric_models, parse_claim
    from derive.symbols import t as T_SYM, x as X_SYM
    from numerics import exact, kernels, simulate

    model = montecarlo.opaque_model(numeric_models(np.random.default_rng(seed), 1)[0].data)
    rel, _ = parse_claim(claim, form)
    drift, diff_sq, direction = _sde_parts(rel, model, get_notation(claim.notation or claim.document[:3]), claim)
    n = min(int(samples or montecarlo.DEFAULT_SAMPLES), MAX_PLOT_SAMPLES)
    mix_sym = model.data
    mix = exact.GaussianMixture(np.array([float(w) for w in mix_sym.weights]),
                                np.array([float(m) for m in mix_sym.means]),
                                np.array([float(v) for v in mix_sym.variances]))
    fns = kernels.schedule_functions(model.schedule)
    bound = {"S": lambda xx, tt: exact.marginal_score(xx, tt, fns, mix),
             "P": lambda xx, tt: jax.numpy.exp(exact.marginal_logpdf(xx, tt, fns, mix))}
    drift_fn = kernels.lambdify_jax(sp.sympify(drift.doit(), strict=True), [X_SYM, T_SYM], bound)
    diff_fn = kernels.lambdify_jax(sp.sqrt(sp.sympify(diff_sq.doit(), strict=True)), [T_SYM])
    key_init, key_path = jax.random.split(jax.random.PRNGKey(seed))
    t0, t1 = 0.2, 0.8
    begin, end = (t0, t1) if direction == "forward" else (t1, t0)
    x_init = exact.sample_marginal(key_init, n, begin, fns, mix)
    x_end = np.asarray(simulate.euler_maruyama(key_path, x_init, drift_fn, diff_fn, begin, end, montecarlo.N_STEPS))
    finite = x_end[np.isfinite(x_end)]
    lo, hi = np.percentile(finite, [0.5, 99.5]) if finite.size else (-4.0, 4.0)
    grid = np.linspace(lo - 0.5, hi + 0.5, 400)
    density = np.exp(np.asarray(exact.marginal_logpdf(grid, end, fns, mix)))
    return x_end, grid, density, end


def mc_histogram(claim, verdict, out: Path) -> list[tuple[str, str]]:
    """[(relative path, caption)] of the Monte Carlo histogram figure of ``claim`` (empty when not applicable)."""
    mc = [r for r in verdict.results if r.method == "monte-carlo" and r.statistic is not None]
    if getattr(claim, "kind", "") != "sde" or not mc:
        return []
    fig, ax = plt.subplots(figsize=(6, 3.4))
    grid = density = end = None
    for res in mc:
        x_end, grid, density, end = simulate_claim(claim, res.form, res.seed or 0, res.samples)
        x_end = x_end[np.isfinite(x_end)]
        label = f"{res.form} form: KS {res.statistic:.3g}, p = {res.p_value:.2g}"
        ax.hist(x_end, bins=80, range=(grid[0], grid[-1]), density=True, histtype="step", linewidth=1.3, label=label)
    ax.plot(grid, density, "k-", linewidth=1.0, label=f"exact marginal density at t = {end:g}")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.set_title(f"{claim.id}: Euler-Maruyama samples vs exact law", fontsize=9)
    ax.legend(fontsize=7)
    rel = f"{FIG_DIR}/mc_{_safe_name(claim.id)}.pdf"
    _save(fig, out / rel)
    n = max(r.samples or 0 for r in mc)
    return [(rel, f"Monte Carlo histogram ({min(n, MAX_PLOT_SAMPLES)} samples per form) against the exact "
                  f"marginal density of the Gaussian-mixture reference model.")]


def _measured_orders():
    try:
        from numerics.solvers import measured_orders
    except (ImportError, AttributeError):
        return None
    return measured_orders


def order_plot(out: Path) -> list[tuple[str, str]]:
    """[(relative path, caption)] of the convergence-order figure, or [] without numerics.solvers.measured_orders."""
    measured = _measured_orders()
    if measured is None:
        return []
    rows = measured()
    if not rows:
        return []
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for row in rows:
        steps = np.array([float(s) for s in str(row["steps"]).split()])
        errors = np.array([float(e) for e in str(row["errors"]).split()])
        ok = np.isfinite(errors) & (errors > 0)
        if ok.sum() < 2:
            continue
        ax.loglog(steps[ok], errors[ok], "o-", markersize=3, linewidth=1,
                  label=f"{row['solver']}: {row['measured_order']:.2f} (claimed {row['claimed_order']})")
    ax.set_xlabel("number of steps")
    ax.set_ylabel("global error at the final time")
    ax.set_title("Convergence orders (fitted slope; claimed order in brackets)", fontsize=9)
    ax.legend(fontsize=6, ncol=2)
    rel = f"{FIG_DIR}/orders.pdf"
    _save(fig, out / rel)
    return [(rel, "Global error against step count; the fitted order is minus the slope of each line.")]


MAX_MC_FIGURES = 4      #: SDE claims (beyond errata) whose Monte Carlo histogram is shown in the appendix


def _has_mc(claim, verdict) -> bool:
    return getattr(claim, "kind", "") == "sde" and any(
        r.method == "monte-carlo" and r.statistic is not None for r in verdict.results)


def make_figures(rows, claims, verdicts, out: Path, orders: bool = True, max_mc: int = MAX_MC_FIGURES) -> dict:
    """claim id -> [(path, caption)] for the errata with a Monte Carlo result; "__mc__" -> histograms of up to
    ``max_mc`` other SDE claims (notation first, then by id); "__orders__" -> the convergence-order plot.

    A figure that fails to render is skipped with a one-line warning (the report still builds)."""
    figures = {}
    erratum_ids = {r["id"] for r in rows if r["status"] == "erratum" or r["expect"] == "erratum"}
    pairs = [(c, v) for c, v in zip(claims, verdicts) if _has_mc(c, v)]
    chosen = [p for p in pairs if p[0].id in erratum_ids]
    others = sorted((p for p in pairs if p[0].id not in erratum_ids),
                    key=lambda p: (p[0].expect == "holds", p[0].id))[:max_mc]
    for claim, verdict in chosen + others:
        try:
            found = mc_histogram(claim, verdict, out)
        except Exception as exc:  # a plot is evidence on top of the verdict: never fail the report for it
            print(f"warning: no histogram for {claim.id} ({type(exc).__name__}: {str(exc)[:120]})", file=sys.stderr)
            continue
        if found and claim.id in erratum_ids:
            figures[claim.id] = found
        elif found:
            figures.setdefault("__mc__", []).append((found[0][0], f"{claim.id}: {found[0][1]}"))
    if orders:
        try:
            found = order_plot(out)
        except Exception as exc:
            print(f"warning: no convergence-order plot ({type(exc).__name__}: {str(exc)[:120]})", file=sys.stderr)
            found = []
        if found:
            figures["__orders__"] = found
    return figures
