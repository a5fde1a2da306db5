"""Every emitted kernel against mpmath at 50 digits over its valid domain (issue 9 item 1, issue 5 kernels item 2).

numerics.accuracy.measure draws 64 seeded points of each kernel's domain (KernelSpec.domain, else the by-name
defaults of numerics/accuracy.py: t near 0 and T, sigma_t = 0 at a final step, h from 1e-12 to 50, ...), evaluates
the generated JAX function in float64 and float32 and the SymPy expression with mpmath at 50 digits. A kernel
passes when no valid input gives NaN/inf and the relative error at well-conditioned points is within
accuracy.TARGET (1e-12 float64, 1e-5 float32).
"""
from __future__ import annotations

import jax
import numpy as np
import pytest

from numerics import accuracy
from numerics.emit import collect_specs

jax.config.update("jax_enable_x64", True)

SPECS = collect_specs()
POINTS, SEED = 64, 0


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("spec", SPECS, ids=[f"{s.module}.{s.name}" for s in SPECS])
def test_kernel_accurate_and_finite(spec, dtype):
    acc = accuracy.measure(spec, POINTS, SEED, dtype)
    target = accuracy.TARGET[acc.dtype]
    assert acc.nonfinite == 0, f"{acc.kernel} ({acc.dtype}): {acc.nonfinite} NaN/inf outputs, e.g. at {acc.worst_at}"
    assert acc.conditioned_points > 0, f"{acc.kernel} ({acc.dtype}): no well-conditioned point was drawn"
    assert acc.worst_rel_error <= target, (
        f"{acc.kernel} ({acc.dtype}): relative error {acc.worst_rel_error:.3g} > {target:g} at {acc.worst_at}")


def test_measurement_detects_an_unstable_form(monkeypatch):
    """The measurement can fail: the same value beta computed as 1 - (1 - beta) loses the digits of small beta."""
    import sympy as sp
    from derive.kernel_spec import KernelSpec
    beta = sp.Symbol("beta_t", positive=True)
    spec = KernelSpec("naive", "ddpm", (beta,), beta, "beta_t", "tests")
    monkeypatch.setattr(accuracy, "_generated", lambda _spec: (lambda b: 1 - (1 - b)))
    for dtype in (np.float64, np.float32):
        acc = accuracy.measure(spec, 32, SEED, dtype)
        assert acc.nonfinite == 0 and acc.conditioned_points == 32
        assert acc.worst_rel_error > accuracy.TARGET[acc.dtype] and acc.worst_at["beta_t"] < 1e-3


def test_ill_conditioned_points_are_not_counted(monkeypatch):
    """x - y at x ~ y is ill conditioned (componentwise condition number |x| + |y| over |x - y|): not counted."""
    import sympy as sp
    from derive.kernel_spec import KernelSpec
    x, y = sp.symbols("x y", real=True)
    spec = KernelSpec("diff", "ddpm", (x, y), x - y, "x - y", "tests", domain=(("y", x * (1 + sp.Float(1e-9))),))
    monkeypatch.setattr(accuracy, "_generated", lambda _spec: (lambda a, b: a - b))
    acc = accuracy.measure(spec, 16, SEED, np.float64)
    assert acc.conditioned_points == 0 and acc.nonfinite == 0
