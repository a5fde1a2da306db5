r"""Build the verification report.

Every selected claim is verified once through ``checks.verify.verify`` (the same path as ``pytest checks/``);
only then are the outputs rendered and written, each atomically (temporary file in the same directory, then
``os.replace``): ``claims.csv``, ``report.tex``, ``summary.md``, ``manifest.json`` and, where ``latexmk`` or
``pdflatex`` is installed, ``report.pdf``. A run that fails part-way leaves the previous outputs untouched.
"""
from __future__ import annotations

import datetime as _dt
import importlib.metadata as _md
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from collections import Counter
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from checks.verdict import STATUSES

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = Path(__file__).resolve().parent / "out"
COLUMNS = ["id", "document", "label", "line", "family", "kind", "expect", "status", "method", "max_abs_error",
           "statistic", "p_value", "samples", "seed", "seconds", "parsed", "corrected", "message"]
MAIN_STATUSES = ("holds", "erratum", "notation", "unverified")


class UsageError(Exception):
    """A bad selection (unknown family or document): the CLI prints one line and exits 2."""


def _api():
    """The catalogue and the verification path (imported late so that tests can substitute them)."""
    from checks.catalogue import load_claims
    from checks.verify import verify
    return load_claims, verify


# ----------------------------------------------------------------------------------------------- selection
def select_claims(load_claims, only=None, document=None) -> list:
    """Claims of the families ``only`` and/or the document ``document`` (a path is reduced to its file name).

    The catalogue rejects unknown names with a ValueError; with a selection given, that becomes a UsageError.
    """
    document = Path(document).name if document else None
    if not only and not document:
        return list(load_claims())
    try:
        return list(load_claims(list(only) if only else None, document=document))
    except ValueError as exc:
        raise UsageError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


def verify_all(claims, verify, samples=None, seed=0, progress=True) -> list:
    verdicts = []
    bar = tqdm(claims, desc="verify", unit="claim", file=sys.stderr, dynamic_ncols=True, disable=not progress)
    for claim in bar:
        bar.set_postfix_str(claim.id, refresh=False)
        try:
            verdicts.append(verify(claim, samples=samples, seed=seed))
        except Exception as exc:
            exc.add_note(f"while verifying claim {claim.id}")
            raise
    return verdicts


# ---------------------------------------------------------------------------------------------------- rows
def _finite(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def make_row(claim, verdict, seed) -> dict:
    best = verdict.best("document") or verdict.best("corrected")
    g = lambda name, default=None: getattr(claim, name, default)  # noqa: E731
    return {
        "id": claim.id, "document": g("document"), "label": g("label"), "line": g("line"), "family": g("family"),
        "kind": g("kind"), "expect": verdict.expect or g("expect"), "status": verdict.status,
        "method": best.method if best else None,
        "max_abs_error": _finite(best.max_abs_error) if best else None,
        "statistic": _finite(best.statistic) if best else None,
        "p_value": _finite(best.p_value) if best else None,
        "samples": best.samples if best else None,
        "seed": best.seed if best and best.seed is not None else seed,
        "seconds": round(float(verdict.seconds), 4), "parsed": bool(verdict.parsed),
        "corrected": g("corrected") or None, "message": verdict.message or None,
    }


def frame(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("line", "samples", "seed"):
        df[col] = df[col].astype("Int64")
    return df


def json_rows(rows) -> str:
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
        return v
    return json.dumps([{k: clean(v) for k, v in r.items()} for r in rows], indent=1, default=str)


# ------------------------------------------------------------------------------------------------ manifest
def _version(dist):
    try:
        return _md.version(dist)
    except _md.PackageNotFoundError:
        return None


def _git(*args):
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def make_manifest(rows, *, seed, samples, only, document) -> dict:
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": _git("rev-parse", "HEAD"), "git_dirty": None if status is None else bool(status),
        "python": platform.python_version(), "sympy": _version("sympy"), "numpy": _version("numpy"),
        "jax": _version("jax"), "jaxlib": _version("jaxlib"), "pandas": _version("pandas"),
        "platform": platform.platform(), "machine": platform.machine(),
        "seed": seed, "samples": samples if samples is not None else "default",
        "only": list(only) if only else None, "document": document, "argv": sys.argv[1:],
        "claims": len(rows), "status_counts": dict(Counter(r["status"] for r in rows)),
        "differing": [r["id"] for r in rows if r["status"] != r["expect"]],
        "parsed_share": round(sum(r["parsed"] for r in rows) / len(rows), 4) if rows else None,
    }


# --------------------------------------------------------------------------------------------------- LaTeX
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


def _statuses(rows) -> list[str]:
    seen = {r["status"] for r in rows}
    return list(MAIN_STATUSES) + [s for s in STATUSES if s in seen and s not in MAIN_STATUSES] + \
        sorted(seen - set(STATUSES))


def _count_table(rows):
    """(statuses, [(document, {status: n}, total, differing)]) with a final 'all' row."""
    statuses = _statuses(rows)
    table = []
    for doc in sorted({r["document"] or "" for r in rows}) + [None]:
        mine = [r for r in rows if doc is None or (r["document"] or "") == doc]
        table.append((doc if doc is not None else "all", Counter(r["status"] for r in mine), len(mine),
                      sum(r["status"] != r["expect"] for r in mine)))
    return statuses, table


def _erratum_rows(rows):
    return [r for r in rows if r["status"] == "erratum" or r["expect"] == "erratum"]


def render_tex(rows, claims, verdicts, manifest) -> str:
    by_id = {c.id: (c, v) for c, v in zip(claims, verdicts)}
    L = [r"\documentclass[10pt]{article}", r"\usepackage[T1]{fontenc}", r"\usepackage[margin=2cm]{geometry}",
         r"\usepackage{amsmath,amssymb,longtable,booktabs,xcolor}", r"\allowdisplaybreaks",
         r"\title{Diffusion-model mathematics: verification report}",
         rf"\date{{{tex_text(manifest['created_utc'])}}}", r"\begin{document}", r"\maketitle", "",
         r"\section*{Manifest}", r"\begin{tabular}{ll}", r"\toprule"]
    keys = [("git commit", manifest["git_commit"] or "unavailable"), ("uncommitted changes", manifest["git_dirty"]),
            ("Python", manifest["python"]), ("SymPy", manifest["sympy"]), ("NumPy", manifest["numpy"]),
            ("JAX", manifest["jax"]), ("platform", manifest["platform"]), ("seed", manifest["seed"]),
            ("samples", manifest["samples"]), ("families", ", ".join(manifest["only"] or ["all"])),
            ("document", manifest["document"] or "all"), ("claims", manifest["claims"]),
            ("parsed (not transcribed)", "--" if manifest["parsed_share"] is None
             else f"{100 * manifest['parsed_share']:.0f}\\%")]
    L += [rf"{k} & {v if k.startswith('parsed') else tex_text(_num(v))} \\" for k, v in keys]
    L += [r"\bottomrule", r"\end{tabular}", "", r"\section*{Summary}"]
    statuses, table = _count_table(rows)
    L += [r"\begin{tabular}{l" + "r" * (len(statuses) + 2) + "}", r"\toprule",
          "document & " + " & ".join(tex_text(s) for s in statuses) + r" & total & $\neq$ expect \\", r"\midrule"]
    for i, (doc, counts, total, differing) in enumerate(table):
        if i == len(table) - 1:
            L.append(r"\midrule")
        L.append(rf"\texttt{{{tex_text(doc)}}} & " + " & ".join(str(counts.get(s, 0)) for s in statuses)
                 + rf" & {total} & {differing} \\")
    L += [r"\bottomrule", r"\end{tabular}", "", r"\section*{Errata}"]
    errata = _erratum_rows(rows)
    if not errata:
        L.append("No claim is an erratum.")
    for r in errata:
        claim, verdict = by_id[r["id"]]
        L.append(rf"\subsection*{{\texttt{{{tex_text(r['id'])}}}}}")
        L.append(rf"Document \texttt{{{tex_text(r['document'])}}}, label {tex_text(r['label'])}, "
                 rf"line {tex_text(_num(r['line']))}; status \textbf{{{tex_text(r['status'])}}} "
                 rf"(expected {tex_text(r['expect'])}); the document's form was "
                 + ("parsed from its LaTeX." if r["parsed"] else "transcribed by hand."))
        L += ["", r"\noindent As printed:", _display(getattr(claim, "latex", None)),
              r"\noindent Corrected:", _display(getattr(claim, "corrected", None))]
        if getattr(claim, "note", None):
            L.append(r"\noindent\emph{Note:} " + tex_text(claim.note) + "\n")
        if verdict.message:
            L.append(r"\noindent\emph{Verdict:} " + tex_text(verdict.message) + "\n")
        L += [r"\noindent\begin{tabular}{llllrrrr}", r"\toprule",
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
    L += ["", r"\section*{All claims}", r"{\small", r"\begin{longtable}{llrl}", r"\toprule",
          r"id & label & line & status \\", r"\midrule", r"\endhead"]
    for r in rows:
        status = tex_text(r["status"]) + ("" if r["status"] == r["expect"]
                                          else rf" \textcolor{{red}}{{(expected {tex_text(r['expect'])})}}")
        status += "" if r["parsed"] else r" $^{t}$"
        L.append(rf"\texttt{{{tex_text(r['id'])}}} & {tex_text(r['label'])} & {tex_text(_num(r['line']))} "
                 rf"& {status} \\")
    L += [r"\bottomrule", r"\end{longtable}", "}",
          r"\noindent $^{t}$: the document's formula was transcribed, not parsed.", r"\end{document}", ""]
    return "\n".join(L)


# ------------------------------------------------------------------------------------------------ markdown
def render_markdown(rows, manifest) -> str:
    def cell(x):
        return str(x).replace("|", r"\|").replace("\n", " ")
    statuses, table = _count_table(rows)
    L = ["# Verification summary", "",
         f"commit `{manifest['git_commit'] or 'unavailable'}`, seed {manifest['seed']}, samples "
         f"{manifest['samples']}, {manifest['claims']} claims, {len(manifest['differing'])} differing from "
         f"expectation" + ("" if manifest["parsed_share"] is None
                           else f", {100 * manifest['parsed_share']:.0f}% parsed (not transcribed)") + ".", "",
         "| document | " + " | ".join(statuses) + " | total | ≠ expect |",
         "|---|" + "---:|" * (len(statuses) + 2)]
    for doc, counts, total, differing in table:
        name = f"**{doc}**" if doc == "all" else f"`{doc}`"
        L.append(f"| {name} | " + " | ".join(str(counts.get(s, 0)) for s in statuses) + f" | {total} | {differing} |")
    L += ["", "## Errata", ""]
    errata = _erratum_rows(rows)
    L += [f"- `{r['id']}`: `{r['document']}` {cell(r['label'])}, line {r['line']}: {r['status']}"
          + ("" if r["status"] == r["expect"] else f" (expected {r['expect']})")
          + (f"; {cell(r['message'])}" if r["message"] else "") for r in errata] or ["None."]
    differing = [r for r in rows if r["status"] != r["expect"]]
    if differing:
        L += ["", "## Differing from expectation", ""]
        L += [f"- `{r['id']}`: {r['status']}, expected {r['expect']}" for r in differing]
    return "\n".join(L) + "\n"


# -------------------------------------------------------------------------------------------------- output
def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then move it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_text(text: str):
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
    return write


def compile_pdf(out: Path) -> None:
    """Compile out/report.tex into out/report.pdf; a missing or failing TeX only prints a one-line warning."""
    pdf = out / "report.pdf"
    tool = shutil.which("latexmk") or shutil.which("pdflatex")
    if tool is None:
        pdf.unlink(missing_ok=True)
        print("note: no latexmk/pdflatex on PATH; report.pdf not written", file=sys.stderr)
        return
    flags = ["-interaction=nonstopmode", "-halt-on-error"]
    runs = [[tool, "-pdf", "-silent", *flags, "report.tex"]] if tool.endswith("latexmk") \
        else [[tool, *flags, "report.tex"]] * 2
    work = Path(tempfile.mkdtemp(prefix=".tex.", dir=out))
    try:
        shutil.copy(out / "report.tex", work / "report.tex")
        for cmd in runs:
            done = subprocess.run(cmd, cwd=work, capture_output=True, text=True, errors="replace", timeout=300)
            if done.returncode != 0:
                raise RuntimeError(f"{Path(tool).name} exited {done.returncode}")
        os.replace(work / "report.pdf", pdf)
        (out / "report.log").unlink(missing_ok=True)
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        pdf.unlink(missing_ok=True)
        if (work / "report.log").exists():
            os.replace(work / "report.log", out / "report.log")
        print(f"warning: report.pdf not written ({exc}; see {out / 'report.log'})", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(*, only=None, document=None, samples=None, seed=0, out=DEFAULT_OUT, as_json=False, pdf=True,
        progress=True) -> int:
    """Verify, write every output, and return the exit status (0: every status equals its expectation)."""
    load_claims, verify = _api()
    claims = select_claims(load_claims, only, document)
    verdicts = verify_all(claims, verify, samples=samples, seed=seed, progress=progress)
    rows = [make_row(c, v, seed) for c, v in zip(claims, verdicts)]
    manifest = make_manifest(rows, seed=seed, samples=samples, only=only,
                             document=Path(document).name if document else None)
    texts = {"report.tex": render_tex(rows, claims, verdicts, manifest),
             "summary.md": render_markdown(rows, manifest),
             "manifest.json": json.dumps(manifest, indent=2, default=str) + "\n"}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    df = frame(rows)
    atomic_write(out / "claims.csv", lambda tmp: df.to_csv(tmp, index=False))
    for name, text in texts.items():
        atomic_write(out / name, _write_text(text))
    if pdf:
        compile_pdf(out)
    if as_json:
        print(json_rows(rows))
    differing = [r for r in rows if r["status"] != r["expect"]]
    for r in differing:
        print(f"differs: {r['id']} ({r['document']} {r['label']}, line {r['line']}): status {r['status']}, "
              f"expected {r['expect']}" + (f": {r['message']}" if r["message"] else ""), file=sys.stderr)
    print(f"{len(rows)} claims, {len(differing)} differing; outputs in {out}", file=sys.stderr)
    return 1 if differing else 0
