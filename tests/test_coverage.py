r"""checks/coverage.toml: every numbered equation of 000 and 001 and every algorithm of 004 is covered by claims
of the catalogue or carries a reason why none can check it (issue 4, item 4).

The labels are parsed out of the documents themselves: inside display math ($$ ... $$) an equation number is
printed as ``\tag{12}`` or ``\quad (12)`` (also ``& \quad (54)`` in aligned blocks); an algorithm is a line
``Algorithm 2 ...`` (optionally a markdown heading). A label printed twice (a quoted paper reusing numbers)
is told apart by its occurrence index, 1 for the first.
"""
from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from checks.catalogue import documents_dir, load_claims

ROOT = Path(__file__).resolve().parent.parent
COVERAGE = ROOT / "checks" / "coverage.toml"
EQUATION_DOCUMENTS = ("000_c3d26c0b8759bc96.txt", "001_99b614c8d5c43923.txt")
ALGORITHM_DOCUMENTS = ("004_1feaeabeef6c19fe.txt",)

_DISPLAY = re.compile(r"\$\$(.*?)\$\$", re.S)
_NUMBER = re.compile(r"\\tag\*?\s*\{\s*(\d+)\s*\}|\\q?quad\s*\(\s*(\d+)\s*\)")
_ALGORITHM = re.compile(r"^\s*(?:#+\s*)?(Algorithm\s+\d+)\b", re.M)


def equation_labels(text: str) -> list[tuple[str, int]]:
    """(label, occurrence) of every equation number printed in display math, in document order."""
    seen: Counter = Counter()
    out = []
    for block in _DISPLAY.findall(text):
        for mo in _NUMBER.finditer(block):
            label = f"({mo.group(1) or mo.group(2)})"
            seen[label] += 1
            out.append((label, seen[label]))
    return out


def algorithm_labels(text: str) -> list[tuple[str, int]]:
    seen: Counter = Counter()
    out = []
    for mo in _ALGORITHM.finditer(text):
        label = re.sub(r"\s+", " ", mo.group(1))
        seen[label] += 1
        out.append((label, seen[label]))
    return out


def load_coverage(path: Path = COVERAGE) -> dict:
    """{(document, label, occurrence): entry} of the coverage file; duplicate keys are an error."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    table = {}
    for kind in ("equation", "algorithm"):
        for entry in data.get(kind, []):
            key = (entry["document"], entry["label"], int(entry.get("occurrence", 1)))
            if key in table:
                raise ValueError(f"coverage.toml lists {key} twice")
            table[key] = entry
    return table


def problems(labels: dict, coverage: dict, known_ids: set, claim_documents: dict) -> list[str]:
    """Every reason the coverage file fails: uncovered labels, unknown ids, stale entries, empty entries."""
    out = []
    for document, found in labels.items():
        for label, occurrence in found:
            entry = coverage.get((document, label, occurrence))
            if entry is None:
                out.append(f"{document} {label} (occurrence {occurrence}) is neither covered nor explained")
            elif not entry.get("claims") and not str(entry.get("reason", "")).strip():
                out.append(f"{document} {label}: entry has neither claims nor a reason")
    present = {(d, lab, occ) for d, found in labels.items() for lab, occ in found}
    for key, entry in coverage.items():
        if key not in present:
            out.append(f"coverage.toml entry {key} names a label that the document does not print")
        for cid in entry.get("claims", []):
            if cid not in known_ids:
                out.append(f"{key}: claim id {cid!r} is not in the catalogue")
            elif claim_documents[cid] != key[0]:
                out.append(f"{key}: claim {cid!r} belongs to {claim_documents[cid]}, not {key[0]}")
    return out


def document_labels() -> dict:
    labels = {}
    for name in EQUATION_DOCUMENTS:
        labels[name] = equation_labels((documents_dir() / name).read_text(encoding="utf-8"))
    for name in ALGORITHM_DOCUMENTS:
        labels[name] = algorithm_labels((documents_dir() / name).read_text(encoding="utf-8"))
    return labels


# --- the parser --------------------------------------------------------------------------------------

def test_equation_label_forms():
    text = (r"$$a = b \tag{12}$$ text (3) not a label $$c = d \quad (4)$$"
            "\n$$\\begin{aligned} & x \\\\ & \\quad (54) \\end{aligned}$$ $$e = f, \\quad (4)$$ $$g = h$$")
    assert equation_labels(text) == [("(12)", 1), ("(4)", 1), ("(54)", 1), ("(4)", 2)]


def test_algorithm_label_forms():
    text = "### Algorithm 1 Sampling\n- 1: Set t = 0\nAlgorithm 2 Sampling (Euler)\nsee Algorithm 2 above\n"
    assert algorithm_labels(text) == [("Algorithm 1", 1), ("Algorithm 2", 1)]


def test_documents_have_the_expected_numbering():
    labels = document_labels()
    numbers_000 = {int(lab[1:-1]) for lab, occ in labels["000_c3d26c0b8759bc96.txt"] if occ == 1}
    assert numbers_000 == set(range(1, 79))          # (1)-(78), issue 4
    assert len(labels["001_99b614c8d5c43923.txt"]) >= 25
    assert [lab for lab, _ in labels["004_1feaeabeef6c19fe.txt"]] == ["Algorithm 1", "Algorithm 2"]


# --- the coverage file -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def catalogue():
    claims = load_claims()
    return {c.id for c in claims}, {c.id: c.document for c in claims}


def test_every_label_is_covered_or_explained(catalogue):
    ids, docs = catalogue
    found = problems(document_labels(), load_coverage(), ids, docs)
    assert not found, "\n".join(found)


def test_checker_detects_missing_label_and_unknown_id(catalogue, tmp_path):
    ids, docs = catalogue
    bad = tmp_path / "coverage.toml"
    bad.write_text('[[equation]]\ndocument = "000_c3d26c0b8759bc96.txt"\nlabel = "(1)"\n'
                   'claims = ["no.such.claim"]\n', encoding="utf-8")
    found = problems({"000_c3d26c0b8759bc96.txt": [("(1)", 1), ("(2)", 1)]}, load_coverage(bad), ids, docs)
    assert any("'no.such.claim' is not in the catalogue" in p for p in found)
    assert any("(2) (occurrence 1) is neither covered nor explained" in p for p in found)


def test_duplicate_entries_are_rejected(tmp_path):
    bad = tmp_path / "coverage.toml"
    entry = '[[equation]]\ndocument = "d"\nlabel = "(1)"\nreason = "x"\n'
    bad.write_text(entry + entry, encoding="utf-8")
    with pytest.raises(ValueError, match="twice"):
        load_coverage(bad)


def test_share_covered_by_claims():
    """Most numbered equations of 000/001 are checked by claims, not only explained (figure in the report)."""
    coverage = load_coverage()
    keys = [k for k in coverage if k[0] in EQUATION_DOCUMENTS]
    with_claims = [k for k in keys if coverage[k].get("claims")]
    assert len(with_claims) / len(keys) >= 0.45, f"{len(with_claims)}/{len(keys)} labels have claims"
