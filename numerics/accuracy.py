r"""Accuracy of every emitted kernel against mpmath at 50 digits, over its whole valid domain (issue 9, item 1).

For each KernelSpec (numerics.emit.collect_specs) the generated function in numerics/generated/ is evaluated in
float64 and float32 at seeded random inputs, and its SymPy expression at the same (rounded) inputs with mpmath
at 50 significant digits. Inputs are drawn per argument from the domain its name denotes (``DOMAINS``), with
the edges over-sampled: times near 0 and near T, sigma_t = 0 at a final step, log-SNR steps h from 1e-12 to 50,
alpha_t -> 0 and -> 1.

Relative error is |ours - ref| / |ref|, counted where the formula is well conditioned: the componentwise condition
number sum_j |x_j df/dx_j| / |f| (each input perturbed by 1e-16 relative in turn, at 50 digits) is at most
``COND_MAX[dtype]`` (elsewhere no floating-point kernel can be accurate, and only finiteness is required). The bounds are chosen so that
condition x unit roundoff stays below the targets (1e3 x 1.1e-16 < 1e-12 in float64, 1e2 x 6e-8 < 1e-5 in
float32). Non-finite output at a valid input is always a failure.
"""
from __future__ import annotations

import importlib
import math
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp

from derive._validate import checked, instance, integer
from derive.kernel_spec import KernelSpec, _text

COND_MAX = {"float64": 1e3, "float32": 1e2}
TARGET = {"float64": 1e-12, "float32": 1e-5}
DIGITS = 50

#: argument name (prefix) -> sampler of float64 values (rng, n) on the argument's valid domain
def _log_uniform(lo, hi):
    return lambda rng, n: np.exp(rng.uniform(math.log(lo), math.log(hi), n))


def _unit_open(rng, n):          # (0, 1] with both ends over-sampled
    u = rng.uniform(0, 1, n)
    edge = rng.uniform(0, 1, n)
    u = np.where(edge < 0.15, _log_uniform(1e-8, 1e-2)(rng, n), u)
    return np.where(edge > 0.85, 1 - _log_uniform(1e-12, 1e-2)(rng, n), u)


def _scale_with_zero(rng, n):    # sigma_t in [0, 1]: exactly 0 (final step) 10% of the time
    return np.where(rng.uniform(0, 1, n) < 0.1, 0.0, _unit_open(rng, n))


DOMAINS = [
    ("alphabar", _unit_open), ("eta", lambda rng, n: rng.uniform(0, 1, n)), ("alpha", _unit_open), ("sigma_data", _log_uniform(0.1, 2.0)),
    ("sigma_min", _log_uniform(1e-3, 0.1)), ("sigma_max", _log_uniform(10, 100)),
    ("sigma", _scale_with_zero), ("beta", _log_uniform(1e-5, 0.5)), ("h", _log_uniform(1e-12, 50.0)),
    ("r", lambda rng, n: rng.uniform(0.1, 1.0, n)), ("t", lambda rng, n: _unit_open(rng, n) * 0.999),
    ("s", lambda rng, n: _unit_open(rng, n) * 0.999), ("gamma", lambda rng, n: rng.uniform(0, 1, n)),
    ("rho", lambda rng, n: rng.uniform(1, 10, n)), ("v", _log_uniform(1e-2, 10.0)), ("w", lambda rng, n: rng.uniform(0, 8, n)),
    ("Delta_t", _log_uniform(1e-12, 1.0)), ("g2", _log_uniform(1e-6, 50.0)), ("f", lambda rng, n: -_log_uniform(1e-6, 20)(rng, n)),
]


def _dtype(name: str, value) -> np.dtype:
    """float64 or float32 (a NumPy dtype, scalar type or its name): the precisions with a ``TARGET``."""
    try:
        out = np.dtype(value)
    except TypeError as exc:
        raise TypeError(f"{name} must be a NumPy float dtype (float64 or float32), got {value!r}") from exc
    if out.name not in TARGET:
        raise ValueError(f"{name} must be float64 or float32, got {out.name}")
    return out


@checked(name=_text)
def sampler(name: str):
    """The domain sampler of an argument (longest matching prefix; anything else: N(0, 2^2), a state or a prediction)."""
    for prefix, draw in sorted(DOMAINS, key=lambda d: -len(d[0])):
        if name == prefix or name.startswith(prefix + "_") or name.startswith(prefix) and name[len(prefix):].isdigit():
            return draw
    return lambda rng, n: rng.normal(0.0, 2.0, n)


@dataclass
class Accuracy:
    kernel: str                  # module.function
    dtype: str
    points: int
    conditioned_points: int
    worst_rel_error: float       # over well-conditioned points
    worst_at: dict               # the inputs of the worst point (and "nonfinite_at": the first NaN/inf input)
    nonfinite: int               # valid inputs with NaN or inf output


def _generated(spec: KernelSpec):
    module = importlib.import_module(f"numerics.generated.{spec.module}")
    return getattr(module, spec.name)


def _reference(spec: KernelSpec):
    fn = sp.lambdify(spec.args, spec.expr, modules="mpmath")

    def ref(values, signs=None):
        """The 50-digit value at ``values``; with ``signs``, at values * (1 + sign 1e-16), the bump applied in
        mpmath (in float64 or float32 1 + 1e-16 rounds to 1 and the bump would be lost)."""
        with mpmath.workdps(DIGITS):
            args = [mpmath.mpf(float(v)) for v in values]
            if signs is not None:
                args = [a * (1 + int(sg) * mpmath.mpf("1e-16")) for a, sg in zip(args, signs)]
            try:
                out = fn(*args)
                return mpmath.mpf(out) if not isinstance(out, mpmath.mpc) else out
            except (ZeroDivisionError, ValueError, TypeError, OverflowError):
                return mpmath.mpf("nan")
    return ref


def _condition(ref, values, r, scale) -> float:
    """Componentwise relative condition number sum_j |x_j df/dx_j| / |f| at 50 digits (each input bumped by 1e-16
    relative in turn): one bump of all inputs with random signs can cancel (x y with x up, y down) and miss it."""
    total = mpmath.mpf(0)
    for j in range(len(values)):
        signs = [0] * len(values)
        signs[j] = 1
        bumped = ref(values, signs)
        if not mpmath.isfinite(bumped):
            return math.inf
        total += abs(bumped - r)
    return float(total / scale / mpmath.mpf("1e-16"))


def _inputs(spec: KernelSpec, rng: np.random.Generator, n: int) -> np.ndarray:
    """n points of the spec's domain: its ``domain`` entries (bounds or dependent expressions, resolved in
    dependency order) and the by-name defaults for the other arguments."""
    rules = dict(spec.domain)                     # names among the args: checked by KernelSpec.__post_init__
    names = [a.name for a in spec.args]
    drawn: dict[str, np.ndarray] = {}
    symbols = {a.name: a for a in spec.args}

    def needs(rule) -> set:
        exprs = rule if isinstance(rule, tuple) else (rule,)
        return {s.name for e in exprs for s in sp.sympify(e, strict=True).free_symbols} if exprs else set()

    def value(e):
        e = sp.sympify(e, strict=True)
        fn = sp.lambdify([symbols[k] for k in drawn], e, modules="numpy")
        return np.broadcast_to(np.asarray(fn(*drawn.values()), dtype=np.float64), (n,))

    pending = list(names)
    while pending:
        progressed = False
        for name in list(pending):
            rule = rules.get(name)
            if rule is not None and not needs(rule) <= set(drawn):
                continue
            if rule is None:
                drawn[name] = sampler(name)(rng, n)
            elif isinstance(rule, tuple):
                lo, hi = value(rule[0]), value(rule[1])
                drawn[name] = lo + (hi - lo) * rng.uniform(0, 1, n)
            else:
                drawn[name] = value(rule)
            pending.remove(name)
            progressed = True
        if not progressed:
            raise ValueError(f"kernel {spec.name}: circular domain among {pending}")
    cols = [drawn[name] for name in names]
    return np.stack(cols, axis=1) if cols else np.zeros((n, 0))


@checked(spec=instance("kernel_spec.KernelSpec"), n=integer(1), seed=integer(0), dtype=_dtype)
def measure(spec: KernelSpec, n: int = 64, seed: int = 0, dtype=np.float64) -> Accuracy:
    """Worst relative error of the generated kernel of ``spec`` in ``dtype`` over n seeded domain points."""
    import jax.numpy as jnp
    rng = np.random.default_rng(seed)
    X = _inputs(spec, rng, n).astype(dtype)
    fn, ref = _generated(spec), _reference(spec)
    ours = np.asarray(fn(*[jnp.asarray(X[:, j]) for j in range(X.shape[1])]), dtype=np.float64) if X.shape[1] else \
        np.full(n, float(np.asarray(fn())))
    worst, where, counted, nonfinite, nonfinite_at = 0.0, {}, 0, 0, None
    for i in range(n):
        r = ref(X[i])
        if not mpmath.isfinite(r):
            continue                                        # outside the formula's domain (e.g. 0/0 input mix)
        if not np.isfinite(ours[i]):
            nonfinite += 1
            nonfinite_at = nonfinite_at or dict(zip((a.name for a in spec.args), X[i].tolist()))
            continue
        with mpmath.workdps(DIGITS):
            scale = abs(r) if r != 0 else mpmath.mpf(1e-300)
            cond = _condition(ref, X[i], r, scale)
            if cond > COND_MAX[np.dtype(dtype).name]:
                continue
            counted += 1
            err = float(abs(mpmath.mpf(float(ours[i])) - r) / scale)
        if err > worst:
            worst, where = err, dict(zip((a.name for a in spec.args), X[i].tolist()))
    if nonfinite_at is not None:                            # both places: the worst error and the first NaN/inf
        where = {**where, "nonfinite_at": nonfinite_at}
    return Accuracy(f"{spec.module}.{spec.name}", np.dtype(dtype).name, n, counted, worst, where, nonfinite)


@checked(n=integer(1), seed=integer(0))
def all_kernels(n: int = 64, seed: int = 0) -> list[Accuracy]:
    """``measure`` for every emitted kernel, float64 and float32 (the report's accuracy table)."""
    from numerics.emit import collect_specs
    return [measure(spec, n, seed, dtype) for spec in collect_specs() for dtype in (np.float64, np.float32)]
