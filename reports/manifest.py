"""manifest.json: what produced a report (commit, versions, platform, seed, selection, counts)."""
from __future__ import annotations

import datetime as _dt
import importlib.metadata as _md
import platform
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _version(dist):
    try:
        return _md.version(dist)
    except _md.PackageNotFoundError:
        return None


def _git(*args):
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def make_manifest(rows, *, seed, samples, only, document, accuracy=None) -> dict:
    """The manifest; ``accuracy`` is reports.accuracy.manifest_entry (n, seed, ...) or None when not measured."""
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": _git("rev-parse", "HEAD"), "git_dirty": None if status is None else bool(status),
        "python": platform.python_version(), "sympy": _version("sympy"), "numpy": _version("numpy"),
        "jax": _version("jax"), "jaxlib": _version("jaxlib"), "pandas": _version("pandas"),
        "mpmath": _version("mpmath"),
        "platform": platform.platform(), "machine": platform.machine(),
        "seed": seed, "samples": samples if samples is not None else "default",
        "only": list(only) if only else None, "document": document, "argv": sys.argv[1:],
        "claims": len(rows), "status_counts": dict(Counter(r["status"] for r in rows)),
        "differing": [r["id"] for r in rows if r["status"] != r["expect"]],
        "parsed_share": round(sum(r["parsed"] for r in rows) / len(rows), 4) if rows else None,
        "kernel_accuracy": accuracy,
    }

