"""What a derived formula needs to become an emitted JAX kernel (``python -m numerics.emit``).

A derive module that has kernels to emit defines ``kernel_specs() -> list[KernelSpec]``; the emitter
(numerics/emit.py) collects them from every derive module and writes ``numerics/generated/<module>.py``.
The docstring of each generated function carries ``formula``, ``derivation`` and the ids of the claims
whose ``meaning`` equals ``meaning`` (found by the emitter in the catalogue, so derive/ stays claim-free).

Every field is checked when the spec is made (``__post_init__``): a bad field raises TypeError/ValueError naming
it. Whether ``name``/``module`` are valid Python identifiers, the argument names distinct and the expression's
free symbols among the arguments is checked by the emitter (numerics.emit.EmitError), which owns those rules.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ._validate import EXPR, SYMBOL, sequence_of


def _text(name: str, value) -> str:
    """A non-empty str (a name, a formula, a dotted path). Candidate for derive/_validate.py (``TEXT``)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a non-empty str, got {type(value).__name__}: {value!r}")
    if not value.strip():
        raise ValueError(f"{name} must be a non-empty str, got {value!r}")
    return value


def _bound(name: str, value):
    """A domain bound: a real number or SymPy expression (of other arguments), never text."""
    return EXPR(name, value)


def _domain(args: tuple[sp.Symbol, ...], value) -> tuple:
    """``domain``: a tuple of (argument name, (low, high) or expression) pairs, each name one of ``args``."""
    if not isinstance(value, tuple):
        raise TypeError(f"domain must be a tuple of (name, bounds) pairs, got {type(value).__name__}: {value!r}")
    names = {a.name for a in args}
    out = []
    for i, pair in enumerate(value):
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError(f"domain[{i}] must be a (name, bounds-or-expression) pair, got {pair!r}")
        arg, rule = _text(f"domain[{i}] name", pair[0]), pair[1]
        if arg not in names:
            raise ValueError(f"domain[{i}] name {arg!r} is not among the args {sorted(names)}")
        if isinstance(rule, tuple):
            if len(rule) != 2:
                raise ValueError(f"domain[{i}] bounds must be (low, high), got {rule!r}")
            rule = tuple(_bound(f"domain[{i}] bounds", b) for b in rule)
        else:
            rule = _bound(f"domain[{i}] expression", rule)
        out.append((arg, rule))
    return tuple(out)


@dataclass(frozen=True)
class KernelSpec:
    name: str                       # function name in the generated module, e.g. "dpm_solver_pp_2m_step"
    module: str                     # generated module, e.g. "dpm_solver" -> numerics/generated/dpm_solver.py
    args: tuple[sp.Symbol, ...]     # positional arguments, in order
    expr: sp.Expr                   # the derived expression (already simplified / in stable form)
    formula: str                    # the maths, for the docstring (plain text or LaTeX)
    derivation: str                 # dotted path of the deriving function, e.g. "derive.exp_integrator.dpm_solver_pp_2m"
    meaning: str = ""               # claims with this ``meaning`` are listed as the kernel's source claims
    #: valid input domain, argument name -> (low, high) bounds or a SymPy expression of other arguments (a
    #: dependent argument, e.g. {"sigma_s": sp.sqrt(1 - alpha_s**2)} on a VP path). Bounds may themselves be
    #: expressions of other arguments, e.g. {"i": (0, n - 1)}. Arguments not named fall back to the defaults
    #: by name in numerics/accuracy.py (alpha in (0, 1], sigma in [0, 1], h in [1e-12, 50], states N(0, 4), ...).
    domain: tuple = ()              # tuple of (name, bounds-or-expression) pairs (hashable)

    def __post_init__(self):
        """Check every field (TypeError/ValueError naming it); ``args`` is stored as a tuple, ``expr`` as SymPy."""
        put = object.__setattr__
        for field in ("name", "module", "formula", "derivation"):
            _text(field, getattr(self, field))
        if not isinstance(self.meaning, str):
            raise TypeError(f"meaning must be a str (may be empty), got "
                            f"{type(self.meaning).__name__}: {self.meaning!r}")
        put(self, "args", tuple(sequence_of(SYMBOL, min_len=0)("args", self.args)))
        put(self, "expr", EXPR("expr", self.expr))
        put(self, "domain", _domain(self.args, self.domain))
