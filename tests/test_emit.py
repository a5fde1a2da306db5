"""numerics.emit: the committed numerics/generated/ modules are up to date, import only jax, and every emitted
function agrees with its SymPy expression (evaluated at 30 digits) in float64 and float32."""
from __future__ import annotations

import ast
import functools
import importlib
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import numerics  # noqa: F401  (enables float64 in JAX)
import jax.numpy as jnp
from derive.kernel_spec import KernelSpec
from numerics import emit

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def _files():
    return emit.render_all()


@functools.cache
def _specs():
    return emit.collect_specs()


def test_regenerating_changes_nothing():
    stale = emit.differences(_files())
    assert not stale, f"numerics/generated is out of date for {stale}: run python -m numerics.emit"


def test_check_flag_detects_a_stale_file(tmp_path):
    files = dict(_files())
    emit.write(files, tmp_path)
    assert emit.differences(files, tmp_path) == []
    target = tmp_path / "schedules.py"
    target.write_text(target.read_text() + "# edited\n")
    (tmp_path / "orphan.py").write_text("x = 1\n")
    assert emit.differences(files, tmp_path) == ["orphan.py", "schedules.py"]
    assert emit.write(files, tmp_path) == ["orphan.py", "schedules.py"]
    assert emit.differences(files, tmp_path) == [] and not (tmp_path / "orphan.py").exists()


def test_cli_check_exit_codes(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(emit, "render_all", lambda: dict(_files()))
    assert emit.main(["--out", str(tmp_path)]) == 0
    assert emit.main(["--check", "--out", str(tmp_path)]) == 0
    (tmp_path / "pf_ode.py").write_text("stale\n")
    assert emit.main(["--check", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "out of date: pf_ode.py" in err and "Traceback" not in err
    assert (tmp_path / "pf_ode.py").read_text() == "stale\n"          # --check writes nothing


@pytest.mark.parametrize("name", sorted(n for n in _files() if n != "__init__.py"))
def test_generated_modules_import_only_jax(name):
    tree = ast.parse(_files()[name])
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert imported and imported <= emit.ALLOWED_IMPORTS
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert funcs
    for fn in funcs:
        doc = ast.get_docstring(fn)
        assert "Derivation: derive." in doc and "Source claims" in doc


def test_docstrings_list_claims_of_the_same_meaning():
    from checks.catalogue import load_claims
    vp_drift = {c.id for c in load_claims() if c.meaning == "vp.drift"}
    assert vp_drift, "the catalogue has claims with meaning vp.drift"
    mod = importlib.import_module("numerics.generated.schedules")
    doc = mod.vp_linear_drift_coeff.__doc__
    assert all(cid in doc for cid in vp_drift) and "derive.schedules.vp_linear().drift_coeff" in doc


def _draw(sym: sp.Symbol, rng) -> float:
    if sym.is_integer:
        return float(rng.integers(1, 6))
    if sym.is_positive or sym.is_nonnegative:
        return float(rng.uniform(0.2, 0.9))
    return float(rng.uniform(-1.5, 1.5))


def _points(spec: KernelSpec, rng, n: int = 5) -> tuple[list[dict], np.ndarray]:
    """n points inside the expression's real domain (drawn from the symbols' assumptions; a point where the
    SymPy value is complex or infinite is redrawn) and the 30-digit SymPy values there."""
    points, values = [], []
    for _ in range(50 * n):
        point = {a: _draw(a, rng) for a in spec.args}
        val = sp.N(spec.expr.subs({a: sp.Float(point[a], 30) for a in spec.args}).doit(), 30)
        if val.is_real and val.is_finite:
            points.append(point)
            values.append(float(val))
            if len(points) == n:
                return points, np.array(values)
    raise AssertionError(f"{spec.name}: no real point found in {50 * n} draws")


def _cases():
    return [pytest.param(spec, id=f"{spec.module}.{spec.name}") for spec in _specs()]


@pytest.mark.parametrize("spec", _cases())
def test_generated_function_matches_sympy(spec: KernelSpec):
    fn = getattr(importlib.import_module(f"numerics.generated.{spec.module}"), spec.name)
    rng = np.random.default_rng(sum(map(ord, spec.name)))      # seeded per kernel
    points, exact = _points(spec, rng)
    cols = {a: np.array([p[a] for p in points]) for a in spec.args}
    out64 = np.asarray(fn(*(jnp.asarray(cols[a], jnp.float64) for a in spec.args)))
    np.testing.assert_allclose(np.broadcast_to(out64, exact.shape), exact, rtol=1e-9, atol=1e-12)
    out32 = fn(*(jnp.asarray(cols[a], jnp.float32) for a in spec.args))
    assert jnp.asarray(out32).dtype == jnp.float32 or not spec.args
    np.testing.assert_allclose(np.broadcast_to(np.asarray(out32, np.float64), exact.shape), exact,
                               rtol=2e-3, atol=1e-5)


def test_bad_specs_are_rejected():
    x, t = sp.symbols("x t", real=True)
    good = dict(module="m", args=(x,), expr=x + 1, formula="x + 1", derivation="derive.test.f")
    with pytest.raises(emit.EmitError, match="free symbols"):
        emit.function_source(KernelSpec(name="f", **{**good, "expr": x + t}), [])
    with pytest.raises(emit.EmitError, match="identifier"):
        emit.function_source(KernelSpec(name="not a name", **good), [])
    with pytest.raises(emit.EmitError, match="distinct"):
        emit.function_source(KernelSpec(name="f", **{**good, "args": (x, x)}), [])
    src = emit.function_source(KernelSpec(name="f", **{**good, "expr": sp.exp(x) - 1 + sp.erf(x)}), ["a.b"])
    assert "jax.numpy.expm1(x)" in src and "jax.scipy.special.erf(x)" in src and "a.b" in src
