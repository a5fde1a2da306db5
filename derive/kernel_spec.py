"""What a derived formula needs to become an emitted JAX kernel (``python -m numerics.emit``).

A derive module that has kernels to emit defines ``kernel_specs() -> list[KernelSpec]``; the emitter
(numerics/emit.py) collects them from every derive module and writes ``numerics/generated/<module>.py``.
The docstring of each generated function carries ``formula``, ``derivation`` and the ids of the claims
whose ``meaning`` equals ``meaning`` (found by the emitter in the catalogue, so derive/ stays claim-free).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp


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
