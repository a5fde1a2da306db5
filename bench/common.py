"""Shared helpers of the benchmarks: best-of-k wall times and atomic CSV output under bench/out/."""
from __future__ import annotations

import csv
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def best_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Minimum wall time of ``fn()`` over ``repeat`` runs after ``warmup`` runs (fn must block)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def device_name() -> str:
    import jax
    dev = jax.devices()[0]
    return f"{dev.platform}:{getattr(dev, 'device_kind', '')} x{len(jax.devices())} ({platform.processor() or platform.machine()}, {os.cpu_count()} cpus)"


def write_csv(name: str, rows: list[dict]) -> Path:
    """Write rows to bench/out/<name>.csv atomically (temporary file, then rename)."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.csv"
    fields = list(dict.fromkeys(k for row in rows for k in row))
    fd, tmp = tempfile.mkstemp(dir=OUT, suffix=".tmp")
    with os.fdopen(fd, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)
    return path
