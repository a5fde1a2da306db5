"""The claims catalogue: TOML files under checks/claims/, one per family, read with tomllib.

Each claim's verbatim LaTeX is located in its document (whitespace-normalised) and its line number is
computed here, never typed. A claim whose text is not found is an error.
"""
from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CLAIMS_DIR = ROOT / "claims"
DOCUMENTS_DIR = ROOT.parent.parent / "shared" / "documents"
KINDS = ("equation", "sde", "step", "approx", "distribution", "algorithm", "definition", "theorem")
EXPECTS = ("holds", "erratum", "notation")


class CatalogueError(ValueError):
    """A malformed claim entry or a claim whose LaTeX is not in its document."""


@dataclass(frozen=True)
class Claim:
    id: str
    document: str
    label: str
    latex: str
    kind: str
    expect: str
    family: str
    line: int
    notation: str = ""
    meaning: str = ""
    direction: str = ""
    corrected: str = ""
    transcribed: str = ""
    note: str = ""
    methods: tuple = ()
    extra: dict = field(default_factory=dict, hash=False, compare=False)


def documents_dir() -> Path:
    import os
    env = os.environ.get("WORKBENCH_DOCUMENTS")
    return Path(env) if env else DOCUMENTS_DIR


@functools.cache
def _document(name: str) -> tuple[str, list[int]]:
    """Whitespace-collapsed text of a document and, per collapsed character, its 1-based line."""
    path = documents_dir() / name
    if not path.is_file():
        raise CatalogueError(f"document {name!r} not found under {documents_dir()}")
    raw = path.read_text(encoding="utf-8")
    chars, lines, line, pending_space = [], [], 1, False
    for ch in raw:
        if ch.isspace():
            pending_space = bool(chars)
            if ch == "\n":
                line += 1
            continue
        if pending_space:
            chars.append(" ")
            lines.append(line)
            pending_space = False
        chars.append(ch)
        lines.append(line)
    return "".join(chars), lines


def locate(document: str, latex: str) -> int:
    """1-based line of the first occurrence of ``latex`` in ``document`` (whitespace-insensitive)."""
    text, lines = _document(document)
    needle = " ".join(latex.split())
    if not needle:
        raise CatalogueError("empty latex")
    pos = text.find(needle)
    if pos < 0:
        # tolerate whitespace differences at token boundaries, e.g. "\frac {" vs "\frac{"
        squeezed = re.sub(r"\s", "", needle)
        flat = text.replace(" ", "")
        pos2 = flat.find(squeezed)
        if pos2 < 0:
            raise CatalogueError(f"latex not found in {document}: {needle[:80]!r}")
        count = 0
        for i, ch in enumerate(text):
            if ch != " ":
                if count == pos2:
                    pos = i
                    break
                count += 1
    return lines[pos]


def _claim_from(entry: dict, family: str) -> Claim:
    missing = [k for k in ("id", "document", "label", "latex", "kind", "expect") if not entry.get(k)]
    if missing:
        raise CatalogueError(f"claim {entry.get('id', '?')!r} in {family}.toml lacks {missing}")
    if entry["kind"] not in KINDS:
        raise CatalogueError(f"claim {entry['id']!r}: kind {entry['kind']!r} not one of {KINDS}")
    if entry["expect"] not in EXPECTS:
        raise CatalogueError(f"claim {entry['id']!r}: expect {entry['expect']!r} not one of {EXPECTS}")
    if entry["expect"] == "erratum" and not entry.get("corrected"):
        raise CatalogueError(f"claim {entry['id']!r}: an erratum needs a corrected form")
    known = {f for f in Claim.__dataclass_fields__} - {"family", "line", "extra", "methods"}
    return Claim(
        family=family,
        line=locate(entry["document"], entry["latex"]),
        methods=tuple(entry.get("methods", ())),
        extra={k: v for k, v in entry.items() if k not in known and k != "methods"},
        **{k: entry[k] for k in known if k in entry},
    )


@functools.cache
def _family(path: Path) -> tuple[Claim, ...]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return tuple(_claim_from(entry, path.stem) for entry in data.get("claim", []))


def families() -> list[str]:
    return sorted(p.stem for p in CLAIMS_DIR.glob("*.toml"))


def load_claims(families_: list[str] | None = None, document: str | None = None) -> list[Claim]:
    """All claims (optionally of some families or one document), ids checked unique."""
    known = families()
    chosen = families_ or known
    bad = [f for f in chosen if f not in known]
    if bad:
        raise CatalogueError(f"unknown family {bad[0]!r}; known families: {known}")
    claims = [c for f in chosen for c in _family(CLAIMS_DIR / f"{f}.toml")]
    if document is not None:
        docs = {c.document for c in load_claims()} if families_ else {c.document for c in claims}
        if document not in docs:
            raise CatalogueError(f"unknown document {document!r}; documents with claims: {sorted(docs)}")
        claims = [c for c in claims if c.document == document]
    seen = set()
    for c in claims:
        if c.id in seen:
            raise CatalogueError(f"duplicate claim id {c.id!r}")
        seen.add(c.id)
    return claims
