"""``python -m bench`` (``make bench``): every benchmark in one run, then bench/RESULTS.md against the goals of
issue 8. Ratios are measured side by side in this run; nothing here is a timed test."""
from __future__ import annotations

import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from . import calibration, checks_timing, kernels, montecarlo
from .common import device_name

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def _slope(xs, ys) -> float:
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def render(kernel_rows, mc_rows, timing_rows, calibration_rows=()) -> str:
    out = [f"# Benchmark results\n\nOne run of `make bench` on {device_name()}, Python {sys.version.split()[0]}. "
           "Ratios are side by side in the same run. Raw figures: bench/out/*.csv.\n",
           "## Kernels (10^7 elements; state buffer donated, as a sampler replaces x each step)\n",
           "| kernel | dtype | fraction of copy bandwidth (goal >= 0.5) | speed-up vs NumPy (goal > 1) | "
           "speed-up vs diffusers step (goal > 1) |", "|---|---|---|---|---|"]
    for r in kernel_rows:
        dif = r.get("speedup_vs_diffusers")
        out.append(f"| {r['kernel']} | {r['dtype']} | {r['ours_fraction_of_copy_bw']:.2f} "
                   f"({_verdict(r['ours_fraction_of_copy_bw'] >= 0.5)}) | {r['speedup_vs_numpy']:.1f}x "
                   f"({_verdict(r['speedup_vs_numpy'] > 1)}) | "
                   + (f"{dif:.1f}x ({_verdict(dif > 1)})" if dif else "no diffusers equivalent") + " |")
    thr = {r["engine"]: r for r in mc_rows if r["bench"] == "throughput"}
    ours = thr["lax.scan (ours)"]["sample_steps_per_s"]
    vs_np = ours / thr["numpy loop"]["sample_steps_per_s"]
    vs_dfx = ours / thr["diffrax Euler + VirtualBrownianTree"]["sample_steps_per_s"]
    out += ["\n## Monte Carlo (forward VP SDE, Euler–Maruyama, "
            f"{thr['numpy loop']['samples']} samples x {thr['numpy loop']['steps']} steps)\n",
            "| engine | sample-steps per second |", "|---|---|"]
    out += [f"| {k} | {v['sample_steps_per_s']:.3g} |" for k, v in thr.items()]
    out += [f"\n- vs NumPy: {vs_np:.2f}x (goal >= 5x: {_verdict(vs_np >= 5)}"
            + ("" if vs_np >= 5 else f"; distance {5 / vs_np:.1f}x") + ")",
            f"- vs diffrax: {vs_dfx:.1f}x (goal >= 10x: {_verdict(vs_dfx >= 10)}"
            + ("" if vs_dfx >= 10 else f"; distance {10 / vs_dfx:.1f}x") + ")"]
    for bench, col in (("scaling-samples", "samples"), ("scaling-steps", "steps")):
        rows = [r for r in mc_rows if r["bench"] == bench]
        slope = _slope([r[col] for r in rows], [r["seconds"] for r in rows])
        out.append(f"- cost vs {col} at {[r[col] for r in rows]}: seconds {[round(r['seconds'], 4) for r in rows]}, "
                   f"log-log slope {slope:.2f} (linear = 1: {_verdict(0.8 <= slope <= 1.2)})")
    mem = [r for r in mc_rows if r["bench"] == "memory-vs-steps"]
    out.append(f"- compiled memory vs steps {[r['steps'] for r in mem]}: {[r['compiled_bytes'] for r in mem]} bytes "
               f"(state {mem[0]['state_bytes']} bytes): grows with samples, not steps "
               f"({_verdict(mem[-1]['compiled_bytes'] < 2 * mem[0]['compiled_bytes'])})")
    out += ["\n## Checks catalogue (`pytest checks/ -n 2`)\n", "| run | seconds | pytest |", "|---|---|---|"]
    out += [f"| {r['run']} | {r['seconds']:.1f} | {r['pytest']} |" for r in timing_rows]
    warm = next(r for r in timing_rows if r["run"] == "warm")["seconds"]
    out.append(f"\nWarm run {warm:.1f} s (goal < 90 s: {_verdict(warm < 90)}).\n")
    if calibration_rows:
        out += ["## Monte Carlo check calibration (checks/calibration.py, the check's own samples and steps)\n",
                "| case | true? | seeds | rejected at the declared rate | rate | P(>= that many if calibrated) / power |",
                "|---|---|---|---|---|---|"]
        for r in calibration_rows:
            last = f"{r['p_binomial']:.3g}" if r["truth"] else f"power {r['power']:.2f} ({_verdict(r['power'] >= 0.99)})"
            out.append(f"| {r['case']} | {r['truth']} | {r['seeds']} | {r['rejected']} | {r['rate']:.3g} | {last} |")
    return "\n".join(out)


def main() -> None:
    kernel_rows = kernels.main()
    mc_rows = montecarlo.main()
    timing_rows = checks_timing.main() if os.environ.get("BENCH_SKIP_CHECKS") != "1" else \
        [{"run": "cold", "seconds": math.nan, "pytest": "skipped"}, {"run": "warm", "seconds": math.nan, "pytest": "skipped"}]
    if os.environ.get("BENCH_COLD_SECONDS"):   # measured by the `make test` run whose cache BENCH_WARM_CACHE names
        timing_rows = [{"run": "cold (the make test run that filled the cache; its pytest checks/ share)",
                        "seconds": float(os.environ["BENCH_COLD_SECONDS"]), "pytest": "see CI log"}] + timing_rows
    calibration_rows = calibration.main()
    text = render(kernel_rows, mc_rows, timing_rows, calibration_rows)
    fd, tmp = tempfile.mkstemp(dir=RESULTS.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, RESULTS)
    print(text)


if __name__ == "__main__":
    main()
