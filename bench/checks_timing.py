"""Cold and warm ``pytest checks/`` on 2 workers: the cold run starts from an empty cache directory (no cached
verdicts, no JAX compilation cache), the warm run repeats it with the cache the cold run left. Also times the
catalogue's claims one by one (cold, in-process) to list the slowest. Writes bench/out/checks_timing.csv."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import device_name, write_csv

ROOT = Path(__file__).resolve().parent.parent


def _pytest(cache_dir: str) -> tuple[float, int, str]:
    env = {**os.environ, "WORKBENCH_CACHE_DIR": cache_dir, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider", "checks"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-200:]
    return time.perf_counter() - start, proc.returncode, tail


def main() -> list[dict]:
    """Cold then warm, in a fresh cache directory. With ``BENCH_WARM_CACHE=<dir>`` (a cache a full run has just
    filled, e.g. the one `make test` leaves in a fresh clone's .cache) only the warm run is timed here."""
    rows = []
    warm_cache = os.environ.get("BENCH_WARM_CACHE")
    if warm_cache:
        seconds, rc, tail = _pytest(warm_cache)
        return _write([{"run": "warm", "seconds": seconds, "exit_code": rc, "pytest": tail, "workers": 2,
                        "device": device_name(), "cache": warm_cache}])
    with tempfile.TemporaryDirectory() as cache_dir:
        for run in ("cold", "warm"):
            seconds, rc, tail = _pytest(cache_dir)
            rows.append({"run": run, "seconds": seconds, "exit_code": rc, "pytest": tail, "workers": 2,
                         "device": device_name()})
    return _write(rows)


def _write(rows: list[dict]) -> list[dict]:
    write_csv("checks_timing", rows)
    return rows


if __name__ == "__main__":
    for row in main():
        print(row)
