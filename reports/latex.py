r"""report.tex: the summary table of documents x statuses, then one section per erratum (the document's form
as printed, the corrected form, the derivation in brief, the evidence and a plot where there is one).

Text is escaped (``tex_text``); a formula is typeset verbatim in display math only when ``tex_math`` finds it
safe (balanced, no document-level commands), otherwise it is shown as escaped text.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter

from reports.table import count_table, erratum_rows

_TEXT_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                 "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}"}
_UNICODE_MATH = dict(zip("αβγδεζηθικλμνξπρστυφχψωΓΔΘΛΞΠΣΦΨΩϵ∇∂∞≈≤≥≠±×·→←⇒∈∼∝√∫∑∏⊤",
                         r"""\alpha \beta \gamma \delta \epsilon \zeta \eta \theta \iota \kappa \lambda \mu \nu \xi \pi
                         \rho \sigma \tau \upsilon \phi \chi \psi \omega \Gamma \Delta \Theta \Lambda \Xi \Pi \Sigma
                         \Phi \Psi \Omega \epsilon \nabla \partial \infty \approx \leq \geq \neq \pm \times \cdot
                         \rightarrow \leftarrow \Rightarrow \in \sim \propto \surd \int \sum \prod \top""".split()))
_UNICODE_TEXT = {"–": "--", "—": "---", "−": "-", "‘": "`", "’": "'", "“": "``", "”": "''", "…": "...",
                 "\u00a0": "~", "§": r"\S{}", "¶": r"\P{}"}
_UNICODE_INMATH = {"–": "-", "—": "-", "−": "-", "‘": "'", "’": "'", "“": "'", "”": "'", "…": r"\dots ",
                   "\u00a0": " ", "§": r"\S ", "¶": r"\P "}

_ACCENTS = {"\u0304": "bar", "\u0303": "tilde", "\u0302": "hat", "\u0307": "dot"}


def _unicode(ch: str, math_mode: bool) -> str:
    """An ASCII LaTeX rendering of one non-ASCII character (pdflatex-safe; '?' when none is known)."""
    if ch in _UNICODE_MATH:
        return _UNICODE_MATH[ch] + " " if math_mode else rf"\ensuremath{{{_UNICODE_MATH[ch]}}}"
    table = _UNICODE_INMATH if math_mode else _UNICODE_TEXT
    if unicodedata.combining(ch):
        return ""
    if ch in table:
        return table[ch]
    decomposed = unicodedata.normalize("NFKD", ch)
    accent = _ACCENTS.get(decomposed[-1]) if len(decomposed) == 2 else None
    if accent and decomposed[0] in _UNICODE_MATH:     # e.g. ᾱ -> \bar{\alpha}
        body = rf"\{accent}{{{_UNICODE_MATH[decomposed[0]]}}}"
        return body if math_mode else rf"\ensuremath{{{body}}}"
    parts = [c for c in decomposed if not unicodedata.combining(c)]
    if parts and parts != [ch]:
        return "".join(c if c.isascii() else _unicode(c, math_mode) for c in parts)
    return "?"


def tex_text(value) -> str:
    """Escape ``value`` for a LaTeX text cell (special characters, newlines, non-ASCII)."""
    if value is None:
        return "--"
    out = []
    for ch in str(value):
        if ch in _TEXT_ESCAPES:
            out.append(_TEXT_ESCAPES[ch])
        elif ch in "\r\n\t":
            out.append(" ")
        elif ch.isascii():
            out.append(ch if ch.isprintable() else "")
        else:
            out.append(_unicode(ch, False))
    return "".join(out)


_STRIP = re.compile(r"\\(?:label|tag\*?)\s*\{[^{}]*\}|\\(?:nonumber|notag)\b")
_DELIMS = [(r"$$", r"$$"), (r"\[", r"\]"), (r"\(", r"\)"), ("$", "$")]
_OUTER_ENV = re.compile(r"^\\begin\{(equation|align|gather|multline|eqnarray|displaymath|math)(\*?)\}(.*)"
                        r"\\end\{\1\2\}$", re.S)
_FORBIDDEN = re.compile(r"\\(?:begin|end)\{document\}|\\end\b(?!\s*\{)|\\(?:def|gdef|edef|newcommand|"
                        r"renewcommand|catcode|input|include|write|openout|immediate|section|chapter|par)\b")


def _braces_balanced(s: str) -> bool:
    depth = 0
    for m in re.finditer(r"\\.|[{}]", s, re.S):
        if m.group() == "{":
            depth += 1
        elif m.group() == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def tex_math(latex: str | None):
    """``(environment, body)`` to typeset ``latex`` verbatim in display math, or None when that is unsafe.

    Nothing is escaped inside the formula; only what would break the surrounding document is removed or
    guarded: outer delimiters, blank lines (paragraph breaks), comments, labels/tags, non-ASCII characters.
    """
    if not latex or not latex.strip():
        return None
    s = latex.strip()
    for left, right in _DELIMS:
        if s.startswith(left) and s.endswith(right) and len(s) > len(left) + len(right):
            s = s[len(left):-len(right)].strip()
            break
    m = _OUTER_ENV.match(s)
    if m:
        s = m.group(3).strip()
    s = _STRIP.sub("", s)
    s = re.sub(r"(?<!\\)([%#])", r"\\\1", s)
    s = re.sub(r"\n\s*\n", "\n", s).strip()
    s = "".join(c if c.isascii() else _unicode(c, True) for c in s)
    if not s or not _braces_balanced(s) or _FORBIDDEN.search(s):
        return None
    if "**" in s:   # markdown prose with inline math (an algorithm block): not a formula
        return None
    if re.search(r"(?<!\\)\$", s) and r"\text" not in s:
        return None
    begins = Counter(re.findall(r"\\begin\{([^{}]*)\}", s))
    if begins != Counter(re.findall(r"\\end\{([^{}]*)\}", s)):
        return None
    top = s
    while True:   # drop inner environments to find top-level alignment marks
        inner = re.sub(r"\\begin\{([^{}]*)\}(?:(?!\\begin\{).)*?\\end\{\1\}", " ", top, flags=re.S)
        if inner == top:
            break
        top = inner
    env = "align*" if re.search(r"(?<!\\)&|\\\\", top) else "equation*"
    return env, s


def _display(latex) -> str:
    typeset = tex_math(latex)
    if typeset is None:
        return ("\\begin{quote}\\small\\ttfamily\\raggedright " + tex_text(latex)
                + "\\\\\\emph{(shown as text: not safe to typeset)}\\end{quote}\n")
    env, body = typeset
    return f"\\begin{{{env}}}\n{body}\n\\end{{{env}}}\n"


def _num(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "--"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)


def _summary_table(rows) -> list[str]:
    statuses, table = count_table(rows)
    L = [r"\begin{tabular}{l" + "r" * (len(statuses) + 2) + "}", r"\toprule",
         "document & " + " & ".join(tex_text(s) for s in statuses) + r" & total & $\neq$ expect \\", r"\midrule"]
    for i, (doc, counts, total, differing) in enumerate(table):
        if i == len(table) - 1:
            L.append(r"\midrule")
        L.append(rf"\texttt{{{tex_text(doc)}}} & " + " & ".join(str(counts.get(s, 0)) for s in statuses)
                 + rf" & {total} & {differing} \\")
    return L + [r"\bottomrule", r"\end{tabular}"]


def _derivation(claim) -> str:
    """The derivation in brief: the claim's note, plus its analysis/derivation fields where it has them."""
    extra = getattr(claim, "extra", None) or {}
    parts = [getattr(claim, "note", "") or ""] + [str(extra[k]) for k in ("analysis", "derivation") if extra.get(k)]
    return " ".join(p.strip() for p in parts if p and p.strip())


def _evidence(verdict) -> list[str]:
    L = [r"\noindent\begin{tabular}{llllrrrr}", r"\toprule",
         r"method & form & holds & max abs error & statistic & $p$-value & samples & seconds \\", r"\midrule"]
    for res in verdict.results:
        holds = {True: "yes", False: "no", None: "inconclusive"}.get(res.holds, str(res.holds))
        L.append(" & ".join(tex_text(x) for x in (res.method, res.form, holds, _num(res.max_abs_error),
                                                  _num(res.statistic), _num(res.p_value), _num(res.samples),
                                                  _num(float(res.seconds)))) + r" \\")
    L += [r"\bottomrule", r"\end{tabular}", ""]
    details = [res for res in verdict.results if res.detail]
    if details:
        L.append(r"\begin{itemize}\small")
        L += [rf"\item {tex_text(res.method)} ({tex_text(res.form)}): {tex_text(res.detail[:400])}"
              for res in details]
        L.append(r"\end{itemize}")
    return L


def _figure(path: str, caption: str) -> list[str]:
    safe = path.replace("\\", "/")
    if not re.fullmatch(r"[A-Za-z0-9_./-]+\.(pdf|png)", safe):
        return []
    return [r"\begin{center}", rf"\includegraphics[width=0.7\linewidth]{{{safe}}}", "",
            rf"{{\small {tex_text(caption)}}}", r"\end{center}"]


def render_tex(rows, claims, verdicts, manifest, figures=None, accuracy=None) -> str:
    """The report: summary table first, one section per erratum, then the list of all claims and the manifest.

    ``figures`` maps a claim id to [(file name relative to the output directory, caption)], plus the key
    ``"__orders__"`` for the convergence-order figure. ``accuracy``: the LaTeX lines of the section "Kernel
    accuracy" (reports.accuracy.tex_section), placed before the list of all claims; None: no such section."""
    figures = figures or {}
    by_id = {c.id: (c, v) for c, v in zip(claims, verdicts)}
    L = [r"\documentclass[10pt]{article}", r"\usepackage[T1]{fontenc}", r"\usepackage[margin=2cm]{geometry}",
         r"\usepackage{amsmath,amssymb,array,longtable,booktabs,xcolor,graphicx}", r"\allowdisplaybreaks",
         r"\title{Diffusion-model mathematics: verification report}",
         rf"\date{{{tex_text(manifest['created_utc'])}}}", r"\begin{document}", r"\maketitle", "",
         r"\section*{Summary: documents $\times$ status}", r"\begin{center}"]
    L += _summary_table(rows)
    L += [r"\end{center}", "",
          rf"{manifest['claims']} claims; seed {tex_text(_num(manifest['seed']))}, samples "
          rf"{tex_text(_num(manifest['samples']))}; parsed (not transcribed): "
          + ("--" if manifest["parsed_share"] is None else f"{100 * manifest['parsed_share']:.0f}\\%") + ".", ""]
    errata = erratum_rows(rows)
    if not errata:
        L.append(r"\section*{Errata}" + "\nNo claim is an erratum.")
    for r in errata:
        claim, verdict = by_id[r["id"]]
        L.append(rf"\section{{Erratum \texttt{{{tex_text(r['id'])}}}}}")
        L.append(rf"Document \texttt{{{tex_text(r['document'])}}}, label {tex_text(r['label'])}, "
                 rf"line {tex_text(_num(r['line']))}; status \textbf{{{tex_text(r['status'])}}} "
                 rf"(expected {tex_text(r['expect'])}); the document's form was "
                 + ("parsed from its LaTeX." if r["parsed"] else "transcribed by hand."))
        L += ["", r"\paragraph{As printed.}", _display(getattr(claim, "latex", None)),
              r"\paragraph{Corrected.}", _display(getattr(claim, "corrected", None))]
        brief = _derivation(claim)
        if brief:
            L.append(r"\paragraph{Derivation in brief.} " + tex_text(brief) + "\n")
        if verdict.message:
            L.append(r"\noindent\emph{Verdict:} " + tex_text(verdict.message) + "\n")
        L.append(r"\medskip\noindent\textbf{Evidence.}\par\smallskip")
        L += _evidence(verdict)
        for path, caption in figures.get(r["id"], []):
            L += _figure(path, caption)
    if figures.get("__mc__"):
        L.append(r"\section*{Monte Carlo evidence (selected SDE claims)}")
        for path, caption in figures["__mc__"]:
            L += _figure(path, caption)
    if figures.get("__orders__"):
        L.append(r"\section*{Convergence orders}")
        for path, caption in figures["__orders__"]:
            L += _figure(path, caption)
    if accuracy:
        L += ["", *accuracy]
    L += ["", r"\section*{All claims}", r"{\small", r"\begin{longtable}{llrl}", r"\toprule",
          r"id & label & line & status \\", r"\midrule", r"\endhead"]
    for r in rows:
        status = tex_text(r["status"]) + ("" if r["status"] == r["expect"]
                                          else rf" \textcolor{{red}}{{(expected {tex_text(r['expect'])})}}")
        status += "" if r["parsed"] else r" $^{t}$"
        L.append(rf"\texttt{{{tex_text(r['id'])}}} & {tex_text(r['label'])} & {tex_text(_num(r['line']))} "
                 rf"& {status} \\")
    L += [r"\bottomrule", r"\end{longtable}", "}",
          r"\noindent $^{t}$: the document's formula was transcribed, not parsed.", "",
          r"\section*{Manifest}", r"\begin{tabular}{ll}", r"\toprule"]
    keys = [("git commit", manifest["git_commit"] or "unavailable"), ("uncommitted changes", manifest["git_dirty"]),
            ("Python", manifest["python"]), ("SymPy", manifest["sympy"]), ("NumPy", manifest["numpy"]),
            ("JAX", manifest["jax"]), ("platform", manifest["platform"]), ("seed", manifest["seed"]),
            ("samples", manifest["samples"]), ("jobs", manifest.get("jobs")),
            ("families", ", ".join(manifest["only"] or ["all"])),
            ("document", manifest["document"] or "all"), ("claims", manifest["claims"])]
    acc = manifest.get("kernel_accuracy")
    keys.append(("kernel accuracy", f"{acc['points']} points, seed {acc['seed']}, {acc['seconds']} s"
                 if acc else "not measured"))
    L += [rf"{tex_text(k)} & {tex_text(_num(v))} \\" for k, v in keys]
    L += [r"\bottomrule", r"\end{tabular}", r"\end{document}", ""]
    return "\n".join(L)
