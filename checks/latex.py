r"""Turn a document's LaTeX into SymPy by *parsing* it (never eval/sympify of document text).

``normalise`` rewrites the notations sympy's ANTLR ``parse_latex`` cannot read into ones it can, and records
every indexed or decorated quantity (``\bar{\alpha}_{t-1}``, ``\mathbf{x}_{t+\Delta t}``, ``f_t(x)``,
``\nabla_x \log p_t(x)``) as a placeholder symbol ``\Xi_{k}`` with its base name and subscript, so that the
parse cannot silently swallow it. ``parse_relation`` splits a (chained) relation at top-level relation signs
and parses each side; a parse whose placeholders do not all reappear is rejected.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import sympy as sp


class LatexError(ValueError):
    """A formula that cannot be normalised or parsed; the message names the offending token."""


GREEK = ("alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi pi "
         "rho sigma varsigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Sigma Phi Psi Omega").split()
ALLOWED_COMMANDS = set(GREEK) | {"frac", "sqrt", "log", "exp", "partial", "cdot", "times", "sin", "cos", "tan",
                                 "int", "sum", "prod", "infty", "Xi", "pi", "div", "binom",
                                 "approx", "propto", "sim", "simeq", "leftarrow", "equiv", "le", "ge"}
RELATIONS = [r"\approx", r"\propto", r"\leftarrow", r"\equiv", r"\sim", r"\simeq", ":=", "=", r"\le", r"\ge"]
MAX_LENGTH = 20_000
MAX_DEPTH = 40
#: bases that take arguments when subscripted: f_t(x), p_t(x), s_theta(x, t), epsilon_theta(x, t), u_t(x), ...
FUNCTION_BASES = {"f", "p", "q", "u", "v", "s", "epsilon", "psi", "phi", "x", "X", "D", "F", "score", "N", "w",
                  "W", "h", "m", "P", "mu", "Psi", "Phi", "d"}

_DECOR = r"\\(?:bar|overline|hat|tilde|widehat|widetilde|dot|vec)"
_FONT = r"\\(?:mathbf|boldsymbol|bm|mathrm|mathit|mathsf|operatorname|text|textbf|mathbb|mathcal)"


@dataclass
class Normalised:
    """A LaTeX string sympy can parse, plus the table of placeholders it introduced."""

    text: str
    atoms: dict = field(default_factory=dict)  # placeholder name -> (base, subscript latex or "")


def _strip_layout(s: str) -> str:
    s = s.replace("\\\\", " ")                                    # row breaks of aligned blocks
    s = re.sub(r"\\tag\{[^}]*\}", " ", s)
    s = re.sub(r"\\q?quad\s*\(\s*(?:\\text\s*\{\s*[0-9A-Z.]+\s*\}|[0-9A-Z.]+)\s*\)", " ", s)   # "\quad (12)", "\quad (\text{D.2.2})"
    s = re.sub(r"\\(?:q?quad|displaystyle|,|;|!|:|\s)", " ", s)
    s = s.replace("&", " ").replace("\\\\", " ")
    s = re.sub(r"\\(?:left|right|big|Big|bigg|Bigg)[lr]?\s*(\\[{}|]|[()\[\].|])", r" \1 ", s)
    s = re.sub(r"\\(?:left|right)\.", " ", s)
    s = s.replace(r"\{", "(").replace(r"\}", ")").replace("[", "(").replace("]", ")")
    s = s.replace(r"\|", "|").replace("||", "|")
    s = s.replace(r"\ln", r"\log").replace(r"\dfrac", r"\frac").replace(r"\tfrac", r"\frac")
    s = s.replace(";", ",")
    s = s.replace(r"\mid", " , ").replace(r"\vert", "|")   # p(a \mid b): a two-argument (conditional) density
    s = s.replace(r"\varepsilon", r"\epsilon").replace("θ", r"\theta").replace("ε", r"\epsilon")
    s = s.replace("α", r"\alpha").replace("σ", r"\sigma").replace("β", r"\beta").replace("λ", r"\lambda")
    s = re.sub(r"\\cdots|\\dots|\\ldots", " ", s)
    s = re.sub(r"\s*[,.;]\s*$", "", s.strip())
    s = re.sub(r",\s*[^,=]*\\sim\s*\\mathcal\s*\{?N\}?\s*\(.*\)\s*$", "", s)   # ", eps ~ N(0, I)" side condition
    s = s.replace("≡", r" \equiv ")
    return s


def _unwrap_fonts(s: str) -> str:
    # \mathrm{d} -> d ; \mathbf{x} -> x ; \boldsymbol{\epsilon} -> \epsilon ; \text{data} -> data
    prev = None
    while prev != s:
        prev = s
        s = re.sub(_FONT + r"\s*\{\s*([^{}]*)\}", lambda mo: " " + mo.group(1).strip().replace(" ", "") + " ", s)
        s = re.sub(_FONT + r"\s*(\\[a-zA-Z]+|[a-zA-Z0-9])", r" \1 ", s)
    return s


def _decorations(s: str) -> str:
    def name(mo):
        inner = mo.group(2).strip().lstrip("\\")
        kind = mo.group(1).lstrip("\\").replace("overline", "bar").replace("wide", "")
        return f" @{inner}{kind}@ "
    s = re.sub("(" + _DECOR + r")\s*\{\s*(\\?[a-zA-Z]+)\s*\}", name, s)
    s = re.sub("(" + _DECOR + r")\s*(\\[a-zA-Z]+|[a-zA-Z])", name, s)
    return s


def balanced(s: str, i: int, opening: str, closing: str) -> tuple[str, int]:
    """The balanced group starting at s[i] == opening -> (content, index after the closing character)."""
    depth = 0
    for j in range(i, len(s)):
        if s[j] == opening:
            depth += 1
        elif s[j] == closing:
            depth -= 1
            if depth == 0:
                return s[i + 1:j], j + 1
    raise LatexError(f"unbalanced {opening}{closing} at position {i}: {s[i:i + 30]!r}")


_PAIRS = {"(": ")", "[": "]", "{": "}"}


def group_end(text: str, i: int, opening: str | None = None, closing: str | None = None) -> int:
    """Index after the bracket closing the one that opens at text[i]: "(", "[" or "{" (its pair found by itself), or
    the strings ``opening``/``closing`` (e.g. "\\left(" and "\\right)"). For the rewriting plugins of checks/."""
    opening = opening or text[i]
    closing = closing or _PAIRS.get(opening)
    if closing is None:
        raise LatexError(f"no bracket opens at position {i}: {text[i:i + 30]!r}")
    depth = 0
    for j in range(i, len(text)):
        if text.startswith(opening, j):
            depth += 1
        elif text.startswith(closing, j):
            depth -= 1
            if depth == 0:
                return j + len(closing)
    raise LatexError(f"unbalanced {opening}{closing} near {text[i:i + 40]!r}")


def split_top_level(text: str, sep: str) -> list[str]:
    """``text`` split at the occurrences of ``sep`` outside (), [] and {} (for sep "|", a norm bar \\| is not one)."""
    parts, depth, cur, i = [], 0, [], 0
    while i < len(text):
        c = text[i]
        if depth == 0 and text.startswith(sep, i) and not (sep == "|" and i > 0 and text[i - 1] == "\\"):
            parts.append("".join(cur))
            cur, i = [], i + len(sep)
            continue
        depth += c in "([{"
        depth -= c in ")]}"
        cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def braced(s: str, i: int) -> tuple[str, int]:
    return balanced(s, i, "{", "}")


def parenthesised(s: str, i: int) -> tuple[str, int]:
    return balanced(s, i, "(", ")")


_BASE = re.compile(r"@[a-zA-Z]+@|\\[a-zA-Z]+|[a-zA-Z]")


def normalise(latex: str) -> Normalised:
    """Rewrite ``latex`` into the dialect ``parse_latex`` reads (see module docstring)."""
    if not isinstance(latex, str):
        raise LatexError(f"latex must be a string, got {type(latex).__name__}")
    if len(latex) > MAX_LENGTH:
        raise LatexError(f"latex is {len(latex)} characters long; at most {MAX_LENGTH} are accepted")
    if latex.count("{") != latex.count("}"):
        raise LatexError(f"unbalanced braces: {latex.count('{')} opening against {latex.count('}')} closing")
    depth, deepest = 0, 0
    for ch in latex:
        depth += ch in "{(["
        depth -= ch in "})]"
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:     # the parser's recursion (and time) grows with nesting; formulas nest a few levels
        raise LatexError(f"brackets nest {deepest} deep; at most {MAX_DEPTH} levels are accepted")
    s = _strip_layout(_conditional_bars(_strip_braces_annotations(latex)))
    s = re.sub(r"\^\s*\{\s*\\theta\s*\}|\^\s*\\theta(?![a-zA-Z])", " ", s)   # u_t^{theta}: a learned field
    s = _unwrap_fonts(s)
    s = _decorations(s)
    s = re.sub(r"\\Delta\s*t\b", " @dt@ ", s)
    s = re.sub(r"\\frac\s*\{\s*\\partial\s*\^\s*\{?2\}?\s*\}\s*\{\s*\\partial\s*([a-zA-Z])\s*\^\s*\{?2\}?\s*\}",
               r"\\frac{\\partial}{\\partial \1}\\frac{\\partial}{\\partial \1}", s)
    s = re.sub(r"\\frac\s*\{\s*\\partial\s*\^\s*\{?2\}?\s*([^{}]+?)\s*\}\s*\{\s*\\partial\s*([a-zA-Z])\s*\^\s*\{?2\}?\s*\}",
               r"\\frac{\\partial}{\\partial \2}\\frac{\\partial}{\\partial \2}(\1)", s)
    s = re.sub(r"\\frac\s*\{\s*\\partial\s+([^{}]+?)\s*\}\s*\{\s*\\partial\s*([a-zA-Z])\s*\}",
               r"\\frac{\\partial}{\\partial \2}(\1)", s)
    s = re.sub(r"_\s*\{([^{}]*)\}", lambda mo: "_{" + re.sub(r"(?<![a-zA-Z\\@])dt\b", "@dt@", mo.group(1)) + "}", s)
    s = _power_before_call(s)
    s = re.sub(r"(?<![a-zA-Z\\_^{])([th])\s*\(", r"\1 \\cdot (", s)     # t(...) is a product, not a call
    s = _derivative_fracs(s)
    out = Normalised("")
    s = _nabla(s, out)
    s = _differentials(s, out)
    out.text = _atoms(s, out)
    leftover = [c for c in re.findall(r"\\([a-zA-Z]+)", out.text) if c not in ALLOWED_COMMANDS]
    if leftover:
        raise LatexError(f"unsupported LaTeX command \\{leftover[0]} (after normalisation: {out.text[:120]!r})")
    if "@" in out.text:
        raise LatexError(f"could not normalise near {out.text[out.text.index('@'):][:30]!r}")
    return out


def _strip_braces_annotations(s: str) -> str:
    r"""``\underbrace{A}_{label}`` and ``\overbrace{A}^{label}`` -> ``{A}`` (the label is commentary, not maths);
    ``\begin{aligned}`` / ``\end{aligned}`` (and split, gathered) are layout."""
    s = re.sub(r"\\(?:begin|end)\s*\{(?:aligned|split|gathered|align\*?)\}", " ", s)
    for command, mark in ((r"\underbrace", "_"), (r"\overbrace", "^")):
        while command in s:
            j = s.index(command)
            k = j + len(command)
            while k < len(s) and s[k].isspace():
                k += 1
            if k >= len(s) or s[k] != "{":
                raise LatexError(f"{command} must be followed by a braced argument")
            inner, end = braced(s, k)
            rest = s[end:].lstrip()
            if rest.startswith(mark):
                rest = rest[1:].lstrip()
                rest = rest[braced(rest, 0)[1]:] if rest.startswith("{") else rest[1:]
            s = s[:j] + "{" + inner + "} " + rest
    return s


def _conditional_bars(s: str) -> str:
    r"""``p(a | b)`` -> ``p(a \mid b)``: a single bare ``|`` at the top level of a call's parentheses separates a
    condition (two bars there are an absolute value, ``\|`` a norm, and are left alone)."""
    out, i = [], 0
    while i < len(s):
        before = s[:i].rstrip()[-1:]
        if s[i] == "(" and (before.isalnum() or before in ("}", "_")):
            try:
                inner, end = parenthesised(s, i)
            except LatexError:
                out.append(s[i])
                i += 1
                continue
            bars = [k for k, c in enumerate(inner) if c == "|" and (k == 0 or inner[k - 1] != "\\")
                    and _depth(inner, k) == 0]
            if len(bars) == 1 and "||" not in inner:
                k = bars[0]
                inner = inner[:k] + r" \mid " + inner[k + 1:]
            out.append("(" + _conditional_bars(inner) + ")")
            i = end
            continue
        out.append(s[i])
        i += 1
    return "".join(out)


def _depth(text: str, k: int) -> int:
    """Bracket depth of position k in text (parentheses and braces)."""
    depth = 0
    for c in text[:k]:
        depth += c in "({"
        depth -= c in ")}"
    return depth


def _power_before_call(s: str) -> str:
    """g^2(t) -> (g(t))^{2}: the book's f^2(t) means the square of f at t, not f^2 times t."""
    out, i = [], 0
    pattern = re.compile(r"(\\[a-zA-Z]+|(?<![_a-zA-Z\\])[a-zA-Z])\s*\^\s*\{?\s*(\d)\s*\}?\s*\(")
    while True:
        mo = pattern.search(s, i)
        if not mo or mo.group(1)[1:] in ("frac", "sqrt", "log", "exp", "left"):
            out.append(s[i:])
            return "".join(out)
        args, end = parenthesised(s, mo.end() - 1)
        out.append(s[i:mo.start()] + f"({mo.group(1)}({args}))^{{{mo.group(2)}}}")
        i = end


def _skip_spaces(s: str, i: int) -> int:
    while i < len(s) and s[i] == " ":
        i += 1
    return i


def _derivative_fracs(s: str) -> str:
    """\\frac{d X}{dt} -> \\frac{d}{dt}(X) and \\frac{\\partial X}{\\partial t} -> \\frac{\\partial}{\\partial t}(X)."""
    out, i = [], 0
    while True:
        j = s.find(r"\frac", i)
        if j < 0:
            out.append(s[i:])
            return "".join(out)
        k = _skip_spaces(s, j + len(r"\frac"))
        if k >= len(s) or s[k] != "{":
            out.append(s[i:k])
            i = k
            continue
        num, after_num = braced(s, k)
        m2 = _skip_spaces(s, after_num)
        if m2 >= len(s) or s[m2] != "{":
            out.append(s[i:after_num])
            i = after_num
            continue
        den, after_den = braced(s, m2)
        mnum = re.match(r"\s*(d|\\partial)\s*(?:\^\s*\{?\s*(\d)\s*\}?)?\s*(.*)$", num, re.S)
        mden = re.match(r"\s*(d|\\partial)\s*([a-zA-Z])\s*(?:\^\s*\{?\s*(\d)\s*\}?)?\s*$", den)
        if mnum and mden and mnum.group(1) == mden.group(1):
            order = int(mnum.group(2) or 1)
            body = mnum.group(3).strip()
            op = "\\frac{" + mnum.group(1) + "}{" + mden.group(1) + " " + mden.group(2) + "}"
            if not body:   # operator form \frac{d}{dt}(...): the derivative applies to the group only
                k2 = _skip_spaces(s, after_den)
                if k2 < len(s) and s[k2] == "(":
                    group, after_group = parenthesised(s, k2)
                    power = re.match(r"\s*\^\s*(\{[^{}]*\}|\d)", s[after_group:])   # d/dt (a/b)^2: the square is inside
                    exponent = power.group(0) if power else ""
                    out.append(s[i:j] + "{" + op * order + "((" + _derivative_fracs(group) + ")" + exponent + ")}")
                    i = after_group + (power.end() if power else 0)
                    continue
            out.append(s[i:j] + ("{" + op * order + f"({body})" + "}" if body else op * order))
            i = after_den
            continue
        out.append(s[i:after_num])
        i = after_num


_DIFF = re.compile(r"(?<![a-zA-Z\\{@])d\s*(\\bar\s*\{?\s*w\s*\}?|@wbar@|@xbar@|[xXwWt](?:\s*_\s*(?:\{[^{}]*\}|[a-zA-Z0-9]))?)(?![a-zA-Z])")


def _differentials(s: str, out: Normalised) -> str:
    """dt, dw, d\bar{w}, dx, dW_t (not a derivative's d/dt) -> placeholders with base 'd'."""
    def repl(mo):
        var = mo.group(1).replace("\\bar", "").replace("@wbar@", "wbar").strip("{} ")
        var = re.sub(r"\s+", "", var)
        if "bar" in mo.group(1):
            var = "wbar" if "w" in mo.group(1) else "x"
        return " " + _new_atom(out, "d", var if var == "wbar" else {"W": "w", "X": "x"}.get(var[0], var[0])) + " "
    return _DIFF.sub(repl, s)


def _subscript_var(sub: str) -> str:
    """The differentiation variable named by a nabla subscript: x, x_t, \\mathbf{x}_t -> x."""
    sub = sub.strip().strip("{}").strip()
    mo = re.match(r"([a-zA-Z])", sub)
    if not mo:
        raise LatexError(f"cannot read the variable of \\nabla_{{{sub}}}")
    return mo.group(1)


def _nabla(s: str, out: Normalised) -> str:
    r"""\nabla_x \log p(...) -> score placeholder; \nabla_x \cdot, \nabla_x -> d/dx (one dimension)."""
    res, i = [], 0
    while i < len(s):
        if s.startswith(r"\nabla", i):
            j = i + len(r"\nabla")
            var = "x"
            if j < len(s) and s[j] == "_":
                j += 1
                while j < len(s) and s[j] == " ":
                    j += 1
                if j >= len(s):
                    raise LatexError("\\nabla_ without a variable")
                if s[j] == "{":
                    sub, j = braced(s, j)
                else:
                    mo = _BASE.match(s, j)
                    if mo is None:
                        raise LatexError(f"cannot read the variable of \\nabla near {s[j:j + 20]!r}")
                    sub, j = mo.group(0), mo.end()
                    mt = re.match(r"\s*_\s*", s[j:])
                    if mt:                              # \nabla_x_t style
                        j += mt.end()
                        if s[j] == "{":
                            _, j = braced(s, j)
                        else:
                            j += 1
                var = _subscript_var(sub)
            power = 1
            mo = re.match(r"\s*\^\s*\{?\s*2\s*\}?", s[j:])
            if mo:
                power, j = 2, j + mo.end()
            mo = re.match(r"\s*\\log\s*", s[j:])
            if mo and power == 1:
                k = j + mo.end()
                # \log p_t(x) or \log p(x_t) or \log q(...)
                mb = re.match(r"([a-zA-Z])\s*(_\s*(\{[^{}]*(\{[^{}]*\}[^{}]*)*\}|[a-zA-Z0-9]))?\s*", s[k:])
                if mb:
                    k2 = k + mb.end()
                    if re.match(r"\^", s[k2:]):   # \log p_t^{SB}: another density the score atom cannot name
                        raise LatexError(f"cannot read the density of a score with a superscript near {s[i:k2 + 12]!r}")
                    args = ""
                    if k2 < len(s) and s[k2] == "(":
                        args, k2 = parenthesised(s, k2)
                    name = _new_atom(out, "score", (mb.group(3) or "").strip("{}"))
                    res.append(f" {name}({args}) " if args.strip() else f" {name} ")
                    i = k2
                    continue
            mo = re.match(r"\s*\\cdot\s*", s[j:])
            if mo:
                j += mo.end()
            d = rf"\frac{{\partial}}{{\partial {var}}}"
            res.append(" " + d * power + " ")
            i = j
            continue
        res.append(s[i])
        i += 1
    return "".join(res)


def _new_atom(out: Normalised, base: str, sub: str) -> str:
    key = (base, sub.strip())
    for name, val in out.atoms.items():
        if val == key:
            return name
    name = rf"\Xi_{{{len(out.atoms) + 1}}}"
    out.atoms[name] = key
    return name


def _atoms(s: str, out: Normalised) -> str:
    """Replace decorated identifiers and subscripted bases by placeholders."""
    res, i = [], 0
    while i < len(s):
        mo = _BASE.match(s, i)
        if not mo or (s[i] == "\\" and mo.group(0)[1:] not in GREEK and not s.startswith(r"\Xi", i)):
            if mo and s[i] == "\\":
                res.append(mo.group(0))
                i = mo.end()
                continue
            res.append(s[i])
            i += 1
            continue
        if s.startswith(r"\Xi", i):   # already a placeholder
            res.append(mo.group(0))
            i = mo.end()
            continue
        base = mo.group(0).strip("@").lstrip("\\")
        j = mo.end()
        mj = re.match(r"\s*_\s*", s[j:])
        sub = None
        if mj:
            k = j + mj.end()
            if k < len(s) and s[k] == "{":
                sub, j = braced(s, k)
            else:
                mt = _BASE.match(s, k) or re.match(r"[0-9]", s[k:])
                if mt is None:
                    raise LatexError(f"empty subscript after {base!r}")
                sub = mt.group(0) if not mt.group(0).startswith("@") else mt.group(0).strip("@")
                j = (mt.end() if hasattr(mt, "end") and mt.re.pattern == _BASE.pattern else k + mt.end())
        decorated = mo.group(0).startswith("@")
        # letters that are differentiation variables inside \partial stay plain
        prev = "".join(res)[-12:]
        if sub is None and not decorated:
            res.append(mo.group(0) if mo.group(0).startswith("\\") else mo.group(0))
            i = j
            continue
        if re.search(r"\\partial\s*$", prev):
            res.append(mo.group(0))
            i = mo.end()
            continue
        res.append(" " + _new_atom(out, base, (sub or "").strip()) + " ")
        i = j
        # a subscripted scalar (or the step \Delta t) followed by a bracket multiplies it: \bar{\alpha}_t (1 - x)
        # and \Delta t (a + b) are not calls
        if ((sub and base not in FUNCTION_BASES) or base == "dt") and re.match(r"\s*\(", s[j:]):
            res.append(r" \cdot ")
    return "".join(res)


@dataclass
class Relation:
    """A parsed (possibly chained) relation: sides[0] op[0] sides[1] op[1] ..."""

    sides: list
    ops: list
    atoms: dict

    def atoms_base(self, expr) -> str:
        """Base name of a placeholder symbol or function (e.g. 'N' for \\mathcal{N}(...)), else its own name."""
        name = expr.func.__name__ if isinstance(expr, sp.core.function.AppliedUndef) else str(expr)
        for key, (base, _) in self.atoms.items():
            if key.replace("\\", "") == name:
                return base
        return name


def split_relation(text: str) -> tuple[list[str], list[str]]:
    """Split at top-level relation signs (outside braces and parentheses)."""
    parts, ops, depth, cur, i = [], [], 0, [], 0
    while i < len(text):
        c = text[i]
        if c in "{(":
            depth += 1
        elif c in "})":
            depth -= 1
        if depth == 0:
            for rel in RELATIONS:
                if text.startswith(rel, i) and not (rel.startswith("\\") and text[i + len(rel):i + len(rel) + 1].isalpha()):
                    parts.append("".join(cur))
                    ops.append(rel)
                    cur, i = [], i + len(rel)
                    break
            else:
                cur.append(c)
                i += 1
            continue
        cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts, ops


@functools.lru_cache(maxsize=4096)
def parse_relation(latex: str) -> Relation:
    """Parse ``latex`` into a Relation; raises LatexError naming the problem."""
    norm = normalise(latex)
    texts, ops = split_relation(norm.text)
    sides = []
    for part in texts:
        side = parse_expression_text(part)
        _account(part, side, norm)
        sides.append(side)
    return Relation(sides, ops, norm.atoms)


def _account(text: str, side: sp.Expr, norm: Normalised) -> None:
    """Reject a parse that lost a placeholder or a letter of its input (parse_latex can drop tails silently)."""
    used = {str(a) for a in side.free_symbols}
    used |= {str(f.func) for f in side.atoms(sp.core.function.AppliedUndef)}
    used |= {str(v) for d in side.atoms(sp.Derivative) for v in d.variables}
    used |= {f.func.__name__ for f in side.atoms(sp.Function)}
    used |= {str(v) for i in side.atoms(sp.Integral) for v in i.variables}
    for name in re.findall(r"\\Xi_\{\d+\}", text):
        if _plain(name) not in used:
            raise LatexError(f"parse dropped {norm.atoms[name][0]!r} (structure not accounted for): {text.strip()[:120]!r}")
    lost = sorted(_plain_letters(text) - used - {"d", "e", "E", "pi"})
    if lost:
        raise LatexError(f"parse dropped the symbol {lost[0]!r} (structure not accounted for): {text.strip()[:120]!r}")


def _plain_letters(text: str) -> set:
    """Single letters standing as symbols in normalised text (commands, placeholders and d/dt removed)."""
    text = re.sub(r"\\Xi_\{\d+\}", " ", text)
    text = re.sub(r"\\frac\s*\{\s*d[^{}]*\}\s*\{\s*d\s*[a-zA-Z]\s*\}", " ", text)
    text = re.sub(r"\\partial\s*[a-zA-Z]?", " ", text)
    found = set()
    for mo in re.finditer(r"\\[a-zA-Z]+|[a-zA-Z]", text):
        tok = mo.group(0)
        if tok.startswith("\\"):
            if tok[1:] in GREEK:
                found.add(tok[1:])
        else:
            found.add(tok)
    return found


def _plain(name: str) -> str:
    return name.replace("\\", "")


def parse_expression_text(text: str) -> sp.Expr:
    """parse_latex on already-normalised text, with clear errors."""
    if not text.strip():
        raise LatexError("empty side of a relation")
    dangling = re.search(r"(\+|-|\\cdot|\\times|/|\^|_)\s*$", text)
    if dangling:   # parse_latex would accept "a +" silently (as a product or by dropping the operator)
        raise LatexError(f"dangling operator {dangling.group(1)!r} at the end of {text.strip()[-40:]!r}")
    from sympy.parsing.latex import parse_latex, LaTeXParsingError
    try:
        return parse_latex(text)
    except LaTeXParsingError as exc:
        raise LatexError(f"cannot parse {text.strip()[:80]!r}: {str(exc).splitlines()[0][:120]}") from None
    except Exception as exc:  # the ANTLR backend raises assorted errors on garbage
        raise LatexError(f"cannot parse {text.strip()[:80]!r}: {type(exc).__name__}") from None


def parse_expression(latex: str) -> tuple[sp.Expr, dict]:
    """Parse a single expression (no relation sign)."""
    rel = parse_relation(latex)
    if rel.ops:
        raise LatexError(f"expected an expression, found relation {rel.ops[0]!r}")
    return rel.sides[0], rel.atoms


if __name__ == "__main__":
    from checks.cli import main
    raise SystemExit(main())
