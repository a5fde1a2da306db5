"""On-disk cache of verdicts, keyed by everything a verdict depends on (DESIGN §2: derivations cached on disk).

The key is a SHA-256 of: the source of every module in derive/, numerics/ and checks/ (the derivations, kernels
and engine), the claim's full entry, its document's text, the seed and sample count, and the versions of
Python, SymPy, NumPy and JAX. A cached verdict is therefore exactly what ``verify`` would compute now (every
check is seeded and deterministic); any edit to the code, the claim or the document makes a new key. The
verdict's ``cached`` flag says where it came from, and the report prints it.

Location: ``$WORKBENCH_CACHE_DIR`` or ``<repo>/.cache/verdicts`` (git-ignored). ``WORKBENCH_CACHE=0`` turns it
off. Entries are written atomically (temporary file, then rename), so concurrent workers never read half a file.
JAX's persistent compilation cache is kept beside it (``.cache/jax``), so warm Monte Carlo runs skip XLA compiles.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import pickle
import platform
import tempfile
from pathlib import Path

from .catalogue import Claim, documents_dir

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("derive", "numerics", "checks")


def enabled() -> bool:
    return os.environ.get("WORKBENCH_CACHE", "1") not in ("0", "false", "no", "off")


def cache_dir() -> Path:
    env = os.environ.get("WORKBENCH_CACHE_DIR")
    return Path(env) if env else ROOT / ".cache"


@functools.cache
def source_hash() -> str:
    """Hash of every .py file under derive/, numerics/, checks/ and of the library versions."""
    import jax
    import numpy
    import sympy
    digest = hashlib.sha256()
    for folder in SOURCE_DIRS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix == ".py" and "__pycache__" not in path.parts:   # claims enter the key field by field
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    digest.update(f"{platform.python_version()} {sympy.__version__} {numpy.__version__} {jax.__version__}".encode())
    return digest.hexdigest()


def key(claim: Claim, seed: int, samples: int | None) -> str:
    fields = {f.name: getattr(claim, f.name) for f in dataclasses.fields(claim)}
    document = documents_dir() / claim.document
    text = document.read_bytes() if document.is_file() else b""
    digest = hashlib.sha256(source_hash().encode())
    digest.update(repr(sorted(fields.items(), key=lambda kv: kv[0])).encode())
    digest.update(hashlib.sha256(text).digest())
    digest.update(f"seed={seed} samples={samples}".encode())
    return digest.hexdigest()


def load(claim: Claim, seed: int, samples: int | None):
    """The cached Verdict for this claim and settings, or None."""
    if not enabled():
        return None
    path = cache_dir() / "verdicts" / f"{key(claim, seed, samples)}.pkl"
    try:
        with path.open("rb") as fh:
            verdict = pickle.load(fh)   # our own files, written by store() below
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
        return None
    return dataclasses.replace(verdict, cached=True)


def store(claim: Claim, seed: int, samples: int | None, verdict) -> None:
    if not enabled() or verdict.status == "failed":   # failures are re-run, never remembered
        return
    folder = cache_dir() / "verdicts"
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        pickle.dump(verdict, fh)
    os.replace(tmp, folder / f"{key(claim, seed, samples)}.pkl")


def enable_jax_compilation_cache() -> None:
    """Persist XLA compilations of the Monte Carlo kernels across runs (.cache/jax)."""
    if not enabled():
        return
    import jax
    jax.config.update("jax_compilation_cache_dir", str(cache_dir() / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
