r"""``python -m numerics.emit``: write the derived formulas as standalone JAX modules in numerics/generated/.

DESIGN.md §4 (emitted kernels) and the contract of derive/kernel_spec.py: every derive module that defines
``kernel_specs() -> list[KernelSpec]`` is discovered with ``pkgutil``; for the modules that predate the contract
(derive.schedules, derive.reverse_sde, derive.pf_ode) the specs are built here from their public functions.
Each spec becomes one function of ``numerics/generated/<spec.module>.py``:

* the expression is rewritten with ``sympy.codegen.rewriting.optimize(expr, optims_c99)`` (``exp(x) - 1`` ->
  ``expm1(x)``, ``log(1 + x)`` -> ``log1p(x)``: DESIGN.md §7), split by common-subexpression elimination and
  printed with SymPy's JAX printer, so the module imports only ``jax`` (``jax.numpy``, ``jax.scipy.special``);
* its docstring gives the formula, the deriving function and the source claims (the catalogue's claims whose
  ``meaning`` equals the spec's ``meaning``, read through ``checks.catalogue.load_claims``).

The output is deterministic (modules, functions and claim ids sorted; no timestamps), so
``python -m numerics.emit --check`` exits 1 exactly when the committed files are out of date.
"""
from __future__ import annotations

import argparse
import ast
import functools
import importlib
import os
import pkgutil
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import sympy as sp
from sympy.codegen.rewriting import optimize, optims_c99
from sympy.printing.numpy import JaxPrinter

import derive
from derive import schedules as _schedules
from derive._validate import checked, instance, sequence_of
from derive.data import gaussian
from derive.kernel_spec import KernelSpec, _text
from derive.symbols import m as _m, s as _s, t as _t, v as _v, x as _x

GENERATED = Path(__file__).resolve().parent / "generated"
ALLOWED_IMPORTS = frozenset({"jax", "jax.numpy", "jax.scipy.special"})
MAX_OPS_TO_OPTIMIZE = 400         # optimize() factors; on very large expressions it is slow (as numerics.kernels)


class EmitError(ValueError):
    """A spec that cannot be emitted (bad name, free symbols outside its args, a non-JAX function)."""


# ------------------------------------------------------------------------------------------- built-in specs
#: schedules emitted with the default parameters of derive.schedules (score_sde's VP/VE constants, EDM, RF)
_SCHEDULES = ("vp-linear", "vp-cosine", "ve", "sub-vp", "edm", "rectified-flow")
_SCHEDULE_QUANTITIES = (
    ("alpha", "alpha_expr", r"\alpha_t (the schedule's signal scale)", "schedule.alpha"),
    ("sigma", "sigma_expr", r"\sigma_t (the schedule's noise scale)", "schedule.sigma"),
    ("drift_coeff", "drift_coeff", r"f(t) = \frac{d \log \alpha_t}{dt}", "schedule.drift"),
    ("diffusion_sq", "diffusion_sq", r"g(t)^2 = \frac{d\sigma_t^2}{dt} - 2 f(t) \sigma_t^2", "schedule.diffusion"),
    ("log_snr", "log_snr", r"\lambda_t = \log(\alpha_t / \sigma_t)", "schedule.log-snr"),
)
#: meanings used in the catalogue for the VP and VE quantities (so that the kernels list their source claims)
_MEANINGS = {("vp-linear", "drift_coeff"): "vp.drift", ("vp-linear", "diffusion_sq"): "vp.diffusion",
             ("ve", "diffusion_sq"): "ve.diffusion", ("ve", "drift_coeff"): "ve.drift"}


def _ident(name: str) -> str:
    return name.replace("-", "_")


def _params(schedule) -> str:
    params = schedule.numeric_params()
    return ", ".join(f"{k}={v:g}" for k, v in sorted(params.items())) or "no parameters"


def _trig_stable(expr: sp.Expr) -> sp.Expr:
    """1 - cos(a)^2/cos(b)^2 rewritten sin(a - b) sin(a + b)/cos(b)^2 (the same value): sigma_t of the cosine schedule
    without the cancellation 1 - alpha_t^2 as t -> 0 (float64 error of log_snr at t = 3e-8: 8e-9 -> 1e-16)."""
    a, b = sp.Wild("a"), sp.Wild("b")
    out = expr.replace(1 - sp.cos(a)**2 / sp.cos(b)**2,
                       lambda a, b: sp.sin(sp.expand(a - b)) * sp.sin(sp.expand(a + b)) / sp.cos(b)**2)
    for k in range(1, 10) if out != expr else ():      # certificate at 30 digits (t = 0.1, ..., 0.9)
        point = {_t: sp.Rational(k, 10)}
        if abs(sp.N(out.subs(point) - expr.subs(point), 30)) > 1e-25 * max(1, abs(sp.N(expr.subs(point), 30))):
            raise EmitError(f"trigonometric rewrite of {expr} changed its value at {point}")  # pragma: no cover
    return out


def schedule_specs() -> list[KernelSpec]:
    """alpha, sigma, f, g^2 and lambda of each schedule in ``_SCHEDULES`` (derive.schedules.get, defaults)."""
    specs = []
    for name in _SCHEDULES:
        sch = _schedules.get(name)
        for qty, attr, formula, meaning in _SCHEDULE_QUANTITIES:
            value = getattr(sch, attr)
            expr = value() if callable(value) else value
            specs.append(KernelSpec(
                name=f"{_ident(name)}_{qty}", module="schedules", args=(_t,), expr=_trig_stable(sp.sympify(expr, strict=True)),
                formula=f"{formula}; schedule {name} ({_params(sch)}), t in [{sch.t_min:g}, {sch.t_max:g}]",
                derivation=f"derive.schedules.{_ident(name)}().{attr}",
                meaning=_MEANINGS.get((name, qty), f"{meaning}.{name}")))
    return specs


@functools.cache
def _gaussian_score(name: str) -> sp.Expr:
    """Score of the exact marginal of Gaussian data N(m, v) under schedule ``name`` (derive.data)."""
    return sp.simplify(gaussian().score(_schedules.get(name)))


_SDE_SCHEDULES = ("vp-linear", "ve", "edm")


def _linear_in_state(expr: sp.Expr) -> sp.Expr:
    """``expr`` (affine in x and m) as c_x(t, v) x + c_m(t, v) m, each coefficient factored: the same value
    (certified), but the e^{2 int beta} x terms of the common-denominator form cancel inside c_x symbolically
    instead of in floating point (float32 error 7e-5 -> 2e-6 for the VP velocity near t = 1)."""
    coeffs = [sp.factor(sp.simplify(sp.diff(expr, var))) for var in (_x, _m)]
    out = coeffs[0] * _x + coeffs[1] * _m
    if sp.simplify(expr - out) != 0:      # pragma: no cover - the drifts are affine in (x, m)
        raise EmitError(f"expression is not affine in (x, m): {expr}")
    return out


def reverse_sde_specs() -> list[KernelSpec]:
    """Drift of Anderson's reverse SDE (derive.reverse_sde.reverse_sde) with the exact Gaussian-data score."""
    from derive.reverse_sde import reverse_sde
    specs = []
    for name in _SDE_SCHEDULES:
        sch = _schedules.get(name)
        proc = reverse_sde(sch, _gaussian_score(name))
        specs.append(KernelSpec(
            name=f"{_ident(name)}_reverse_drift", module="reverse_sde", args=(_x, _t, _m, _v),
            expr=_linear_in_state(sp.simplify(proc.drift)),
            formula=(r"dx = [f(t) x - g(t)^2 \nabla_x \log p_t(x)] dt + g(t) d\bar w, with the exact score of "
                     f"data N(m, v); schedule {name} ({_params(sch)})"),
            derivation="derive.reverse_sde.reverse_sde", meaning="sde.reverse.anderson"))
    return specs


def _stable_flow_map(sch, expr: sp.Expr) -> sp.Expr:
    """The Gaussian flow map ``expr`` = alpha_t m + r (x - alpha_s m), r = sqrt(V_t/V_s), as r x + c_m m with
    c_m = alpha_t - r alpha_s = (alpha_t^2 sigma_s^2 - alpha_s^2 sigma_t^2) / (V_s (alpha_t + r alpha_s)): the v terms of
    alpha_t^2 V_s - alpha_s^2 V_t cancel symbolically, so c_m does not lose digits as s -> t or when x ~ m (float32
    error of the EDM map 3e-5 -> 3e-6). Certified equal to ``expr`` (symbolically, else at 30 digits at 8 points)."""
    def at(attr, time):
        value = getattr(sch, attr)
        return sp.sympify(value() if callable(value) else value, strict=True).subs(_t, time)

    def var(time):
        return at("alpha_expr", time)**2 * _v + at("sigma_expr", time)**2
    a_s, a_t, r = at("alpha_expr", _s), at("alpha_expr", _t), sp.sqrt(var(_t) / var(_s))
    num = sp.factor(sp.simplify(sp.expand(a_t**2 * at("sigma_expr", _s)**2 - a_s**2 * at("sigma_expr", _t)**2)))
    out = r * _x + num / (var(_s) * (a_t + r * a_s)) * _m
    if sp.simplify(expr - out) != 0:
        for k in range(1, 9):
            point = {_x: sp.Rational(k - 4, 3), _m: sp.Rational(5 - k, 7), _v: sp.Rational(k, 4),
                     _s: sp.Rational(k, 10), _t: sp.Rational(9 - k, 11)}
            ref = sp.N(expr.subs(point), 30)
            if abs(sp.N(out.subs(point), 30) - ref) > 1e-25 * max(1, abs(ref)):   # pragma: no cover
                raise EmitError(f"stable flow map of {sch} differs from {expr} at {point}")
    return out


def pf_ode_specs() -> list[KernelSpec]:
    """PF-ODE velocity (derive.pf_ode.pf_ode) and its exact flow map for Gaussian data (gaussian_flow_map)."""
    from derive.pf_ode import gaussian_flow_map, pf_ode
    specs = []
    for name in _SDE_SCHEDULES:
        sch = _schedules.get(name)
        specs.append(KernelSpec(
            name=f"{_ident(name)}_velocity", module="pf_ode", args=(_x, _t, _m, _v),
            expr=_linear_in_state(sp.simplify(pf_ode(sch, _gaussian_score(name)).drift)),
            formula=(r"\frac{dx}{dt} = f(t) x - \frac{1}{2} g(t)^2 \nabla_x \log p_t(x), with the exact score of "
                     f"data N(m, v); schedule {name} ({_params(sch)})"),
            derivation="derive.pf_ode.pf_ode", meaning="pf_ode.velocity"))
        specs.append(KernelSpec(
            name=f"{_ident(name)}_flow_map", module="pf_ode", args=(_x, _s, _t, _m, _v),
            expr=_stable_flow_map(sch, gaussian_flow_map(sch, _s, _t, _x)),
            formula=(r"x_t = \alpha_t m + \sqrt{V_t / V_s} (x_s - \alpha_s m), V = \alpha^2 v + \sigma^2 "
                     f"(exact PF-ODE flow from s to t for data N(m, v)); schedule {name} ({_params(sch)})"),
            derivation="derive.pf_ode.gaussian_flow_map", meaning="pf_ode"))
    return specs


BUILTIN = {"schedules": schedule_specs, "reverse_sde": reverse_sde_specs, "pf_ode": pf_ode_specs}


# ------------------------------------------------------------------------------------------------ collect
def derive_modules() -> list[str]:
    """Names of the derive modules (sorted), discovered with pkgutil."""
    return sorted(info.name for info in pkgutil.iter_modules(derive.__path__) if not info.name.startswith("_"))


def collect_specs() -> list[KernelSpec]:
    """Every spec: ``kernel_specs()`` of each derive module, plus the built-in ones; sorted by (module, name)."""
    specs = []
    for name in derive_modules():
        module = importlib.import_module(f"derive.{name}")
        found = getattr(module, "kernel_specs", None)
        if callable(found):
            got = list(found())
            bad = [type(sp_).__name__ for sp_ in got if not isinstance(sp_, KernelSpec)]
            if bad:
                raise EmitError(f"derive.{name}.kernel_specs() must return KernelSpec objects, got {bad[0]}")
            specs += got
    for build in BUILTIN.values():
        specs += build()
    seen = {}
    for spec in specs:
        key = (spec.module, spec.name)
        if key in seen:
            raise EmitError(f"two kernels named {spec.name!r} for module {spec.module!r} "
                            f"({seen[key]} and {spec.derivation})")
        seen[key] = spec.derivation
    return sorted(specs, key=lambda sp_: (sp_.module, sp_.name))


def claims_by_meaning() -> dict[str, list[str]]:
    """meaning -> sorted claim ids, from the catalogue (checks.catalogue.load_claims)."""
    from checks.catalogue import load_claims
    table = defaultdict(list)
    for claim in load_claims():
        if claim.meaning:
            table[claim.meaning.strip()].append(claim.id)
    return {k: sorted(v) for k, v in table.items()}


# -------------------------------------------------------------------------------------------------- print
class _Printer(JaxPrinter):
    """SymPy's JAX printer, fully qualified, with special functions from jax.scipy.special (never ``math``)."""

    def __init__(self):
        super().__init__({"fully_qualified_modules": True, "allow_unknown_functions": False})

    def _print_Integer(self, expr):
        # JAX cannot take a Python int beyond int64 (nor, in float32, beyond 2**53 exactly): print it as a float
        return repr(float(expr.p)) if abs(expr.p) >= 2**53 else str(expr.p)

    def _print_Float(self, expr):
        return repr(float(expr))      # 17 significant digits round-trip (the default printer keeps 15)

    def _special(self, name, expr):
        self.module_imports["jax.scipy.special"].add(name)
        return f"jax.scipy.special.{name}({', '.join(self._print(a) for a in expr.args)})"

    def _print_erf(self, expr):
        return self._special("erf", expr)

    def _print_erfc(self, expr):
        return self._special("erfc", expr)

    def _print_loggamma(self, expr):
        return self._special("gammaln", expr)


def _check_identifier(text: str, what: str) -> None:
    if not text.isidentifier() or text.startswith("_"):
        raise EmitError(f"{what} must be a public Python identifier, got {text!r}")


# --- argument rules (derive._validate style: rule(name, value) -> value, TypeError/ValueError naming the argument)
_SPEC = instance("kernel_spec.KernelSpec")


def _identifier(name: str, value) -> str:
    """A public Python identifier (a generated module's name)."""
    _check_identifier(_text(name, value), name)
    return value


def _str_mapping(item):
    """A dict with str keys whose values pass ``item``."""
    def rule(name: str, value) -> dict:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise TypeError(f"{name} must be a dict with str keys, got {type(value).__name__}: {value!r}")
        return {k: item(f"{name}[{k!r}]", v) for k, v in value.items()}
    return rule


def _source(name: str, value) -> str:
    """A file's text (may be empty)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str (the file's text), got {type(value).__name__}")
    return value


def _directory(name: str, value) -> Path:
    """A directory path (str or os.PathLike)."""
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        raise TypeError(f"{name} must be a directory path (str or pathlib.Path), got {type(value).__name__}: {value!r}")
    return Path(value)


_CLAIM_IDS = sequence_of(_text, min_len=0)
_FILES = _str_mapping(_source)


@checked(spec=_SPEC, claim_ids=_CLAIM_IDS)
def function_source(spec: KernelSpec, claim_ids: list[str]) -> str:
    """The source of one generated function (optimised, CSE'd, printed for JAX). ``spec`` is valid by construction
    (KernelSpec.__post_init__: Symbols as args, a SymPy expression); the emitter's own rules are checked here."""
    _check_identifier(spec.name, "KernelSpec.name")
    args = spec.args
    names = [a.name for a in args]
    for n in names:
        _check_identifier(n, f"{spec.name}: argument name")
    if len(set(names)) != len(names):
        raise EmitError(f"{spec.name}: argument names must be distinct, got {names}")
    expr = spec.expr
    extra = expr.free_symbols - set(args)
    if extra:
        raise EmitError(f"{spec.name}: free symbols {sorted(map(str, extra))} are not among args {names}")
    stable = optimize(expr, optims_c99) if sp.count_ops(expr) < MAX_OPS_TO_OPTIMIZE else expr
    temps = sp.numbered_symbols("_c")
    replacements, (reduced,) = sp.cse([stable], symbols=temps)   # no "basic" opts: they factor out tiny rationals (float32 underflow)
    printer = _Printer()
    body = [f"    {sym} = {printer.doprint(val)}" for sym, val in replacements]
    if not reduced.free_symbols and names:      # a constant: still an array of the arguments' shape and dtype
        shape = f"jax.numpy.broadcast_shapes({', '.join(f'jax.numpy.shape({n})' for n in names)})"
        dtype = f"jax.numpy.result_type({', '.join(names)}, float)"
        body.append(f"    return jax.numpy.full({shape}, {printer.doprint(reduced)}, {dtype})")
    else:
        body.append(f"    return {printer.doprint(reduced)}")
    bad = set(printer.module_imports) - ALLOWED_IMPORTS
    if bad or "not supported" in "\n".join(body):
        raise EmitError(f"{spec.name}: needs modules {sorted(bad)} (only {sorted(ALLOWED_IMPORTS)} may be used)")
    doc = [f"{spec.formula}", "", f"Derivation: {spec.derivation}.",
           f"Source claims ({spec.meaning or 'no meaning given'}): {', '.join(claim_ids) or 'none'}.",
           f"Arguments: {', '.join(names) or 'none'} (arrays broadcast; float32 in gives float32 out)."]
    doc_text = "\n".join(("    " if line else "") + line.replace("\\", "\\\\").replace('"""', r'\"\"\"') for line in doc)
    return f"def {spec.name}({', '.join(names)}):\n    \"\"\"{doc_text.lstrip()}\n    \"\"\"\n" + "\n".join(body) + "\n"


@checked(module=_identifier, specs=sequence_of(_SPEC, min_len=0), claims=_str_mapping(_CLAIM_IDS))
def module_source(module: str, specs: list[KernelSpec], claims: dict[str, list[str]]) -> str:
    """The source of numerics/generated/<module>.py: a header, the imports and one function per spec."""
    derivations = sorted({s.derivation.rsplit('.', 1)[0] if s.derivation.count('.') > 1 else s.derivation
                          for s in specs})
    head = (f'"""Kernels emitted from {", ".join(derivations)}.\n\n'
            "Generated by ``python -m numerics.emit``; do not edit (regenerate instead). The module imports only\n"
            'jax and can be copied into another project; enable float64 with jax.config.update("jax_enable_x64", True).\n'
            '"""\n')
    funcs = [function_source(s, claims.get(s.meaning.strip(), []) if s.meaning else []) for s in specs]
    text = head + "import jax\nimport jax.numpy\nimport jax.scipy.special\n\n__all__ = [" + \
        ", ".join(f'"{s.name}"' for s in specs) + "]\n\n\n" + "\n\n".join(funcs)
    ast.parse(text)     # a generated module must at least be valid Python
    return text


def render_all() -> dict[str, str]:
    """file name -> source of every generated module (including the package's __init__.py)."""
    by_module = defaultdict(list)
    for spec in collect_specs():
        _check_identifier(spec.module, "KernelSpec.module")
        by_module[spec.module].append(spec)
    claims = claims_by_meaning()
    files = {f"{mod}.py": module_source(mod, specs, claims) for mod, specs in sorted(by_module.items())}
    files["__init__.py"] = ('"""Standalone JAX kernels emitted by ``python -m numerics.emit`` (do not edit).\n\n'
                            "Modules: " + ", ".join(sorted(by_module)) + '.\n"""\n')
    return files


# ------------------------------------------------------------------------------------------------- output
def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@checked(files=_FILES, directory=_directory)
def differences(files: dict[str, str], directory: Path = GENERATED) -> list[str]:
    """Names of generated files that are missing, stale, or no longer produced."""
    diff = [n for n, text in files.items()
            if not (directory / n).is_file() or (directory / n).read_text(encoding="utf-8") != text]
    if directory.is_dir():
        diff += [p.name for p in directory.glob("*.py") if p.name not in files]
    return sorted(diff)


@checked(files=_FILES, directory=_directory)
def write(files: dict[str, str], directory: Path = GENERATED) -> list[str]:
    """Write changed files atomically, remove stale generated modules; return the changed names."""
    directory.mkdir(parents=True, exist_ok=True)
    changed = differences(files, directory)
    for name in changed:
        if name in files:
            _atomic_write(directory / name, files[name])
        else:
            (directory / name).unlink()
    return changed


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m numerics.emit", description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="exit 1 when the committed files differ (write nothing)")
    p.add_argument("--out", default=str(GENERATED), help=f"output directory (default {GENERATED})")
    args = p.parse_args(argv)
    try:
        files = render_all()
    except EmitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if args.check:
        stale = differences(files, out)
        if stale:
            print(f"out of date: {', '.join(stale)} (run python -m numerics.emit)", file=sys.stderr)
            return 1
        print(f"{len(files)} generated files up to date", file=sys.stderr)
        return 0
    changed = write(files, out)
    print(f"{len(files)} generated files, {len(changed)} changed: {', '.join(changed) or '-'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
