r"""Argument checks for the public derive functions: one rule per argument, declared next to the signature.

Every public function of derive/ takes SymPy expressions (or real numbers), symbols, matrices, names or schedules.
Bad input must raise a TypeError (wrong kind of object: text, None, a container where a scalar belongs) or a
ValueError (right kind, outside the allowed range), naming the argument and the range, before SymPy sees it::

    @checked(xx=EXPR, mean=EXPR, var=POSITIVE)
    def log_normal(xx, mean, var): ...

A rule is a callable ``rule(name, value) -> value`` (the value the function then receives, e.g. a number made a
SymPy expression). A SymPy symbol always passes a range rule (its range is its assumptions': a symbol declared
``positive=True`` passes POSITIVE; one declared ``negative=True`` fails it); numbers are checked exactly.
Text is never sympified (``strict=True``): it is refused.
"""
from __future__ import annotations

import functools
import inspect
import numbers
from collections.abc import Callable, Sequence

import sympy as sp

Rule = Callable[[str, object], object]


def expr(name: str, value, sign: str | None = None) -> sp.Expr:
    """``value`` (a SymPy expression or a real number, never text) as a finite SymPy expression.

    ``sign`` = "positive" or "nonnegative" is enforced whenever SymPy can decide it. Raises TypeError for
    text, None, containers or booleans and ValueError for NaN/inf or a value of the wrong sign, naming ``name``."""
    try:
        out = sp.sympify(value, strict=True)
    except (sp.SympifyError, TypeError, ValueError):
        out = None
    if isinstance(value, bool) or not isinstance(out, sp.Expr):
        raise TypeError(f"{name} must be a SymPy expression or a real number, got {type(value).__name__}: {value!r}")
    if out.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if sign == "positive" and out.is_positive is False:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if sign == "nonnegative" and out.is_nonnegative is False:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return out


def EXPR(name: str, value) -> sp.Expr:
    """Any finite SymPy expression or real number."""
    return expr(name, value)


def POSITIVE(name: str, value) -> sp.Expr:
    """An expression that is not provably <= 0 (a variance, a scale, a time step)."""
    return expr(name, value, "positive")


def NONNEGATIVE(name: str, value) -> sp.Expr:
    """An expression that is not provably < 0 (a noise variance that may vanish)."""
    return expr(name, value, "nonnegative")


def interval(lo, hi, *, open_lo: bool = False, open_hi: bool = False) -> Rule:
    """An expression in [lo, hi] (ends open where asked), enforced wherever SymPy can decide it."""
    text = f"{'(' if open_lo else '['}{lo}, {hi}{')' if open_hi else ']'}"

    def rule(name: str, value) -> sp.Expr:
        out = expr(name, value)
        below = (out <= lo) if open_lo else (out < lo)
        above = (out >= hi) if open_hi else (out > hi)
        if below == sp.true or above == sp.true:
            raise ValueError(f"{name} must be in {text}, got {value!r}")
        return out
    rule.__doc__ = f"An expression in {text}."
    return rule


#: a cumulative signal level alpha-bar (1 at the data end; OPEN_UNIT where 1 would divide by zero), a DDIM eta, a beta
UNIT = interval(0, 1, open_lo=True)
OPEN_UNIT = interval(0, 1, open_lo=True, open_hi=True)
ETA = interval(0, 1)
BETA = OPEN_UNIT


def integer(lo: int, hi: int | None = None) -> Rule:
    """A Python or SymPy integer in [lo, hi] (hi = None: unbounded)."""
    text = f">= {lo}" if hi is None else f"in {lo}..{hi}"

    def rule(name: str, value) -> int:
        if isinstance(value, bool) or not isinstance(value, (numbers.Integral, sp.Integer)):
            raise TypeError(f"{name} must be an integer {text}, got {type(value).__name__}: {value!r}")
        if value < lo or (hi is not None and value > hi):
            raise ValueError(f"{name} must be an integer {text}, got {value!r}")
        return int(value)
    rule.__doc__ = f"An integer {text}."
    return rule


def choice(*options: str) -> Rule:
    """One of the given names."""
    def rule(name: str, value) -> str:
        if not isinstance(value, str) or value not in options:
            raise ValueError(f"{name} must be one of {list(options)}, got {value!r}")
        return value
    rule.__doc__ = f"One of {list(options)}."
    return rule


def FLAG(name: str, value) -> bool:
    """True or False."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}: {value!r}")
    return value


def SYMBOL(name: str, value) -> sp.Symbol:
    """A SymPy Symbol (a variable to solve for, differentiate or integrate over)."""
    if not isinstance(value, sp.Symbol):
        raise TypeError(f"{name} must be a SymPy Symbol, got {type(value).__name__}: {value!r}")
    return value


def VARIABLES(name: str, value):
    """A SymPy Symbol, or a non-empty column Matrix of Symbols (the variables a square is completed in)."""
    if isinstance(value, sp.Symbol) or (isinstance(value, sp.MatrixBase) and value.cols == 1 and value.rows >= 1
                                        and all(isinstance(v, sp.Symbol) for v in value)):
        return value
    raise TypeError(f"{name} must be a SymPy Symbol or a column Matrix of Symbols, got {type(value).__name__}: {value!r}")


def optional(rule: Rule) -> Rule:
    """None (the function's default behaviour) or a value passing ``rule``."""
    def check(name: str, value):
        return None if value is None else rule(name, value)
    check.__doc__ = f"None or: {rule.__doc__}"
    return check


def matrix(*, square: bool = False, spd: bool = False) -> Rule:
    """A non-empty SymPy Matrix (or nested list of numbers/expressions) of finite entries; optionally square, or
    symmetric positive definite (enforced where SymPy can decide it)."""
    def rule(name: str, value) -> sp.Matrix:
        if isinstance(value, (str, bytes, bool)) or value is None or isinstance(value, numbers.Number):
            raise TypeError(f"{name} must be a SymPy Matrix or a nested list of expressions, "
                            f"got {type(value).__name__}: {value!r}")
        if _has_text(value):     # sp.Matrix would sympify text entries: refuse them
            raise TypeError(f"{name} entries must be SymPy expressions or real numbers, got text in {value!r}")
        try:
            mat = sp.Matrix(value)
        except (TypeError, ValueError, sp.SympifyError) as exc:
            raise TypeError(f"{name} must be a SymPy Matrix or a nested list of expressions, got {value!r}") from exc
        if 0 in mat.shape:
            raise ValueError(f"{name} must be a non-empty matrix, got shape {mat.shape}")
        for entry in mat:
            expr(f"{name} entries", entry)
        if (square or spd) and mat.rows != mat.cols:
            raise ValueError(f"{name} must be a square matrix, got shape {mat.shape}")
        if spd:
            if (mat - mat.T).applyfunc(sp.simplify) != sp.zeros(*mat.shape):
                raise ValueError(f"{name} must be symmetric, got {mat.tolist()}")
            if mat.is_positive_definite is False:
                raise ValueError(f"{name} must be positive definite, got {mat.tolist()}")
        return mat
    rule.__doc__ = "A " + ("symmetric positive definite" if spd else "square" if square else "") + " matrix."
    return rule


def _has_text(value) -> bool:
    if isinstance(value, (str, bytes)):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_text(v) for v in value)
    return False


MATRIX = matrix()
SPD = matrix(spd=True)


def sequence_of(item: Rule, min_len: int = 1) -> Rule:
    """A list or tuple (not text) of at least ``min_len`` values, each passing ``item``."""
    def rule(name: str, value) -> list:
        if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, sp.MatrixBase)):
            raise TypeError(f"{name} must be a list or tuple, got {type(value).__name__}: {value!r}")
        values = list(value)
        if len(values) < min_len:
            raise ValueError(f"{name} must have at least {min_len} entries, got {len(values)}")
        return [item(f"{name}[{i}]", v) for i, v in enumerate(values)]
    rule.__doc__ = f"A sequence of >= {min_len} values."
    return rule


def instance(cls_path: str) -> Rule:
    """An instance of the class at ``cls_path`` ("module.Class" under derive), imported when first checked."""
    module, cls_name = cls_path.rsplit(".", 1)

    def rule(name: str, value):
        import importlib
        cls = getattr(importlib.import_module(f"derive.{module}"), cls_name)
        if not isinstance(value, cls):
            raise TypeError(f"{name} must be a derive.{cls_path}, got {type(value).__name__}: {value!r}")
        return value
    rule.__doc__ = f"A derive.{cls_path}."
    return rule


SCHEDULE = instance("schedules.Schedule")
MIXTURE = instance("data.Mixture")


def checked(**rules: Rule):
    """Decorator: apply ``rules[arg](arg, value)`` to each named argument (defaults included) before the call."""
    def wrap(fn):
        sig = inspect.signature(fn)
        unknown = set(rules) - set(sig.parameters)
        if unknown:
            raise TypeError(f"checked({sorted(unknown)}): not parameters of {fn.__qualname__}")

        @functools.wraps(fn)
        def call(*args, **kwargs):
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            for arg, rule in rules.items():
                bound.arguments[arg] = rule(arg, bound.arguments[arg])
            return fn(*bound.args, **bound.kwargs)
        return call
    return wrap
