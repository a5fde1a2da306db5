r"""SymPy expressions -> jitted JAX kernels (DESIGN.md §4, pitfalls §7).

``lambdify_jax`` rewrites an expression into numerically stable C99 forms with
``sympy.codegen.rewriting.optimize(expr, optims_c99)`` (``exp(x) - 1 -> expm1(x)``,
``log(1 + x) -> log1p(x)``, so e.g. the VP noise scale sigma_t = sqrt(1 - exp(-B(t))) becomes
``sqrt(-expm1(-B(t)))`` and keeps its digits as t -> 0), prints it with the JAX printer after
common-subexpression elimination (``lambdify(..., cse=True)``), maps special functions to
``jax.scipy.special`` (the plain printer falls back to ``math.erf`` etc., which fails on tracers),
and jits it once. Compiled kernels are cached by ``(srepr(expr), argument names)``.

Caveat: ``Piecewise`` prints as ``select``, which evaluates every branch; an expression whose
unused branch is singular gives NaN values or gradients. Rewrite such expressions first.
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import sympy as sp
from sympy.codegen.rewriting import optimize, optims_c99
from sympy.core.function import AppliedUndef

from derive.schedules import Schedule
from derive.symbols import t as _t

# importing this module imports the ``numerics`` package first, which enables float64

#: special functions the JAX printer would otherwise take from ``math`` (not traceable).
_SPECIAL = {
    "erf": jsp.erf, "erfc": jsp.erfc, "erfinv": jsp.erfinv, "gamma": jsp.gamma,
    "loggamma": jsp.gammaln, "digamma": jsp.digamma, "polygamma": jsp.polygamma,
    "lowergamma": lambda a, x: jsp.gammainc(a, x) * jsp.gamma(a),
    "uppergamma": lambda a, x: jsp.gammaincc(a, x) * jsp.gamma(a),
    "beta": jsp.beta, "zeta": jsp.zeta,
}

_CACHE: dict[tuple[str, tuple[str, ...]], Callable] = {}
_LOCK = threading.Lock()


def _check_args(expr, args, allowed=frozenset()) -> tuple[sp.Symbol, ...]:
    if not isinstance(expr, sp.Basic):
        raise TypeError(f"lambdify_jax: expr must be a SymPy expression, got {type(expr).__name__}: {expr!r}")
    if isinstance(args, sp.Symbol):
        args = (args,)
    try:
        args = tuple(args)
    except TypeError:
        raise TypeError(f"lambdify_jax: args must be a sequence of SymPy Symbols, got {args!r}") from None
    bad = [a for a in args if not isinstance(a, sp.Symbol)]
    if bad:
        raise TypeError(f"lambdify_jax: args must be SymPy Symbols, got {bad!r}")
    if len({a.name for a in args}) != len(args):
        raise ValueError(f"lambdify_jax: argument names must be distinct, got {[a.name for a in args]}")
    undefined = {f for f in expr.atoms(AppliedUndef) if f.func.__name__ not in allowed}
    if undefined:
        raise ValueError(f"lambdify_jax: expression contains undefined functions {sorted(map(str, undefined))}; "
                         "substitute a concrete schedule first")
    missing = expr.free_symbols - set(args)
    if missing:
        raise ValueError(f"lambdify_jax: free symbols {sorted(map(str, missing))} are not among args "
                         f"{[a.name for a in args]}")
    return args


def lambdify_jax(expr: sp.Basic, args: Sequence[sp.Symbol] | sp.Symbol,
                 functions: dict | None = None) -> Callable[..., jax.Array]:
    """Return a jitted JAX function of ``args`` computing ``expr`` (stable forms, CSE, cached).

    The result broadcasts over its arguments (a constant expression returns an array of the
    broadcast shape), works under ``jax.grad``/``vmap`` and in float32 or float64.
    ``functions`` maps names of undefined SymPy functions in ``expr`` to JAX callables (e.g. an exact score).
    Raises TypeError for non-SymPy input, ValueError for free symbols not in ``args``, undefined
    functions, or functions JAX cannot trace.
    """
    if functions is not None and not (isinstance(functions, dict) and all(
            isinstance(k, str) and callable(f) for k, f in functions.items())):
        raise TypeError(f"lambdify_jax: functions must be None or a dict of name -> callable, got {functions!r}")
    functions = dict(functions or {})
    args = _check_args(expr, args, frozenset(functions))
    key = (sp.srepr(expr), tuple(a.name for a in args), tuple(sorted((k, id(v)) for k, v in functions.items())))
    with _LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    stable = optimize(expr, optims_c99) if sp.count_ops(expr) < 400 else expr   # optimize factors: slow on big drifts
    raw = sp.lambdify(args, stable, modules=[functions, _SPECIAL, "jax"], cse=True)

    def kernel(*values):
        if len(values) != len(args):
            raise TypeError(f"kernel for {expr} takes {len(args)} arguments {[a.name for a in args]}, "
                            f"got {len(values)}")
        values = [jnp.asarray(v) for v in values]
        out = jnp.asarray(raw(*values))
        shape = jnp.broadcast_shapes(*(v.shape for v in values)) if values else ()
        dtype = jnp.result_type(*values, float) if values else jnp.result_type(float)
        return jnp.broadcast_to(out.astype(dtype), shape)

    kernel.__doc__ = f"JAX kernel for {stable} (from {expr}); arguments {[a.name for a in args]}."
    jitted = jax.jit(kernel)
    probe = [jax.ShapeDtypeStruct((2,), jnp.float64) for _ in args]
    try:
        jax.eval_shape(jitted, *probe)
    except Exception as exc:  # a function printed from ``math`` or otherwise not traceable
        raise ValueError(f"lambdify_jax: {expr} cannot be traced by JAX ({type(exc).__name__}: {exc})") from exc
    with _LOCK:
        _CACHE.setdefault(key, jitted)
        return _CACHE[key]


class ScheduleFns(NamedTuple):
    """Jitted schedule kernels of time t: alpha_t, sigma_t, drift coefficient f(t) = d log alpha_t/dt
    and squared diffusion g(t)^2 = d sigma_t^2/dt - 2 f(t) sigma_t^2 (derive.schedules)."""

    alpha: Callable[[jax.Array], jax.Array]
    sigma: Callable[[jax.Array], jax.Array]
    f: Callable[[jax.Array], jax.Array]
    g2: Callable[[jax.Array], jax.Array]


def schedule_functions(schedule: Schedule) -> ScheduleFns:
    """Compile alpha, sigma, f, g^2 of ``schedule`` (a derive.schedules.Schedule) to JAX kernels.

    Cached per schedule (the SymPy simplification of f and g^2 dominates the first call)."""
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a derive.schedules.Schedule, got {type(schedule).__name__}")
    return _schedule_functions(schedule)


@functools.cache
def _schedule_functions(schedule: Schedule) -> ScheduleFns:
    exprs = (schedule.alpha_expr, schedule.sigma_expr, schedule.drift_coeff(), schedule.diffusion_sq())
    try:
        return ScheduleFns(*(lambdify_jax(sp.sympify(e, strict=True), (_t,)) for e in exprs))
    except ValueError as exc:
        raise ValueError(f"schedule {schedule.name!r} cannot be compiled: {exc}") from exc
