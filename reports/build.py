r"""Build the verification report (``python -m reports``).

Every selected claim is verified once through ``checks.verify.verify`` (the same path as ``pytest checks/``),
serially or in ``jobs`` worker processes; claim ``c`` is verified with the seed ``claim_seed(seed, c.id)``, so the
numbers do not depend on the number of jobs or on the order of completion. Only then are the outputs rendered
and written, each atomically (temporary file in the same directory, then ``os.replace``): ``claims.csv``
(reports.table), ``report.tex`` (reports.latex) with its figures (reports.plots), ``summary.md``
(reports.summary), ``manifest.json`` (reports.manifest), ``kernel_accuracy.csv`` (reports.accuracy) and, where
``latexmk`` or ``pdflatex`` is installed, ``report.pdf`` (reports.pdf). A run that fails part-way leaves the
previous outputs untouched.

The kernel accuracy (issue 9) is measured once per run, after the claims, by ``numerics.accuracy.all_kernels(n,
seed)`` (every emitted kernel in float64 and float32 against mpmath at 50 digits; about 50 s on 2 loaded cores,
importing the derive modules included) with ``n = accuracy_points`` and ``seed = accuracy_seed`` (default: the
report's seed), both recorded in manifest.json; it runs in the main process whatever ``jobs`` is, and its numbers
depend on n and seed only. ``accuracy=False`` (``--no-accuracy``) skips it: the report then says so and an
existing kernel_accuracy.csv of an earlier run is left as it was.
"""
from __future__ import annotations

import json
import multiprocessing
import shutil  # noqa: F401  (tests look TeX up through build.shutil)
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from reports import accuracy as kernel_accuracy
from reports import ddim_convergence
from reports.latex import render_tex, tex_math, tex_text  # noqa: F401  (re-exported)
from reports.manifest import make_manifest
from reports.pdf import atomic_write, compile_pdf, write_text
from reports.plots import make_figures
from reports.summary import render_markdown
from reports.table import COLUMNS, MAIN_STATUSES, frame, json_rows, make_row  # noqa: F401

DEFAULT_OUT = Path(__file__).resolve().parent / "out"


class UsageError(Exception):
    """A bad selection (unknown family or document): the CLI prints one line and exits 2."""


def _api():
    """The catalogue and the verification path (imported late so that tests can substitute them)."""
    from checks.catalogue import load_claims
    from checks.verify import verify
    return load_claims, verify


from checks.seeds import claim_seed  # noqa: E402  (the same per-claim seeds as pytest checks/)


# ----------------------------------------------------------------------------------------------- selection
def select_claims(load_claims, only=None, document=None) -> list:
    """Claims of the families ``only`` and/or the document ``document`` (a path is reduced to its file name).

    The catalogue rejects unknown names with a ValueError; with a selection given, that becomes a UsageError.
    """
    document = Path(document).name if document else None
    if not only and not document:
        return list(load_claims())
    try:
        return list(load_claims(list(only) if only else None, document=document))
    except ValueError as exc:
        raise UsageError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


def _verify_in_worker(family: str, claim_id: str, samples, seed: int):
    """Worker process: load the claim from the catalogue and verify it (the real API: workers are spawned)."""
    load_claims, verify = _api()
    claim = next(c for c in load_claims([family]) if c.id == claim_id)
    return verify(claim, samples=samples, seed=seed)


def verify_all(claims, verify, samples=None, seed=0, progress=True, jobs=1, worker=None) -> list:
    """Verdicts in the order of ``claims``; ``jobs`` > 1 verifies in that many spawned processes, each claim by
    ``worker(family, claim id, samples, seed)`` (a picklable top-level function; default: load and verify)."""
    worker = worker or _verify_in_worker
    bar = tqdm(total=len(claims), desc="verify", unit="claim", file=sys.stderr, dynamic_ncols=True,
               disable=not progress)
    verdicts = [None] * len(claims)
    try:
        if jobs <= 1 or len(claims) <= 1:
            for i, claim in enumerate(claims):
                bar.set_postfix_str(claim.id, refresh=False)
                try:
                    verdicts[i] = verify(claim, samples=samples, seed=claim_seed(seed, claim.id))
                except Exception as exc:
                    exc.add_note(f"while verifying claim {claim.id}")
                    raise
                bar.update()
            return verdicts
        context = multiprocessing.get_context("spawn")     # JAX is multithreaded: never fork it
        with ProcessPoolExecutor(max_workers=min(jobs, len(claims)), mp_context=context) as pool:
            futures = {pool.submit(worker, c.family, c.id, samples, claim_seed(seed, c.id)): i
                       for i, c in enumerate(claims)}
            for future in as_completed(futures):
                i = futures[future]
                try:
                    verdicts[i] = future.result()
                except Exception as exc:
                    for other in futures:
                        other.cancel()
                    exc.add_note(f"while verifying claim {claims[i].id}")
                    raise
                bar.set_postfix_str(claims[i].id, refresh=False)
                bar.update()
        return verdicts
    finally:
        bar.close()


# ------------------------------------------------------------------------------------------- kernel accuracy
def measure_accuracy(points: int, seed: int, progress=True):
    """(Accuracy records, seconds) of ``numerics.accuracy.all_kernels(points, seed)``, looked up when called (tests
    substitute it)."""
    from numerics import accuracy as measured
    if progress:
        print(f"kernel accuracy: numerics.accuracy.all_kernels(n={points}, seed={seed}) ...", file=sys.stderr)
    start = time.perf_counter()
    records = measured.all_kernels(points, seed)
    return records, time.perf_counter() - start


def _check_count(name: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


# ---------------------------------------------------------------------------------------------------- run
def run(*, only=None, document=None, samples=None, seed=0, out=DEFAULT_OUT, as_json=False, pdf=True,
        progress=True, jobs=1, plots=True, accuracy=True, accuracy_points=kernel_accuracy.DEFAULT_POINTS,
        accuracy_seed=None) -> int:
    """Verify, measure the kernels' accuracy (unless ``accuracy`` is false), write every output, and return the
    exit status (0: every status equals its expectation; a kernel outside its accuracy target is reported in
    kernel_accuracy.csv, report.tex and summary.md but does not change the status: tests/test_kernel_accuracy.py
    is where it fails)."""
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    accuracy_seed = seed if accuracy_seed is None else accuracy_seed
    if accuracy:
        _check_count("accuracy_points", accuracy_points, 1)
        _check_count("accuracy_seed (default: seed)", accuracy_seed, 0)
    load_claims, verify = _api()
    claims = select_claims(load_claims, only, document)
    verdicts = verify_all(claims, verify, samples=samples, seed=seed, progress=progress, jobs=jobs)
    rows = [make_row(c, v, claim_seed(seed, c.id)) for c, v in zip(claims, verdicts)]
    acc_rows = acc_entry = None
    if accuracy:
        records, seconds = measure_accuracy(accuracy_points, accuracy_seed, progress)
        acc_rows = kernel_accuracy.make_rows(records)
        acc_entry = kernel_accuracy.manifest_entry(acc_rows, accuracy_points, accuracy_seed, seconds)
    manifest = make_manifest(rows, seed=seed, samples=samples, only=only,
                             document=Path(document).name if document else None, accuracy=acc_entry)
    manifest["jobs"] = jobs
    manifest["seeds"] = "per claim: sha256(f'{seed}:{claim id}')[:4] & 0x7fffffff (checks.seeds.claim_seed)"
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figures = make_figures(rows, claims, verdicts, out, orders=not only and not document) if plots else {}
    acc_tex = kernel_accuracy.tex_section(acc_rows, accuracy_points, accuracy_seed)
    acc_md = kernel_accuracy.markdown_block(acc_rows, accuracy_points, accuracy_seed)
    if plots and not only and not document:    # the full report: DDIM eta = 0, 1 per step count (issue 4)
        ddim_rows = ddim_convergence.convergence_rows(seed)
        manifest["ddim_convergence"] = {"seed": seed, "samples": ddim_convergence.SAMPLES,
                                        "step_counts": list(ddim_convergence.STEP_COUNTS)}
        acc_tex = [*ddim_convergence.latex_section(ddim_rows), *(acc_tex or [])]
        acc_md = [*ddim_convergence.markdown_lines(ddim_rows), *(acc_md or [])]
    texts = {"report.tex": render_tex(rows, claims, verdicts, manifest, figures, accuracy=acc_tex),
             "summary.md": render_markdown(rows, manifest, accuracy=acc_md),
             "manifest.json": json.dumps(manifest, indent=2, default=str) + "\n"}
    df = frame(rows)
    atomic_write(out / "claims.csv", lambda tmp: df.to_csv(tmp, index=False))
    if acc_rows is not None:
        acc_df = kernel_accuracy.frame(acc_rows)
        atomic_write(out / "kernel_accuracy.csv", lambda tmp: acc_df.to_csv(tmp, index=False))
    for name, text in texts.items():
        atomic_write(out / name, write_text(text))
    if pdf:
        compile_pdf(out)
    if as_json:
        print(json_rows(rows))
    differing = [r for r in rows if r["status"] != r["expect"]]
    for r in differing:
        print(f"differs: {r['id']} ({r['document']} {r['label']}, line {r['line']}): status {r['status']}, "
              f"expected {r['expect']}" + (f": {r['message']}" if r["message"] else ""), file=sys.stderr)
    if acc_rows is not None:
        for r in kernel_accuracy.outside(acc_rows):
            print(f"kernel accuracy: {r['kernel']} ({r['dtype']}) outside target: relative error "
                  f"{r['worst_rel_error']:.3g} (target {r['target']:g}), {r['nonfinite']} NaN/inf, at "
                  f"{r['worst_at'] or '-'}", file=sys.stderr)
    print(f"{len(rows)} claims, {len(differing)} differing" + (
        "" if acc_rows is None else f"; {len(acc_rows) - len(kernel_accuracy.outside(acc_rows))}/{len(acc_rows)} "
        "kernel accuracy measurements within target") + f"; outputs in {out}", file=sys.stderr)
    return 1 if differing else 0
