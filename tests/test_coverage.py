r"""checks/coverage.toml and checks/coverage_*.toml: every numbered equation of 000 and 001, every algorithm of
004 (issue 4, item 4) and every numbered equation of chapters 5, 7, 8, 9, 10 and 11 of 003 (issues 5 and 6) is
covered by claims of the catalogue or carries a reason why none can check it.

The labels are parsed out of the documents themselves: inside display math ($$ ... $$) an equation number is
printed as ``\tag{12}`` or ``\quad (12)`` (also ``& \quad (54)`` in aligned blocks, and chaptered numbers such
as ``\quad (5.1.1)`` or ``\tag{9.2.3}`` in 003); an algorithm is a line ``Algorithm 2 ...`` (optionally a
markdown heading). A label printed twice (a quoted paper reusing numbers, or 003 restating (10.1.4) in
chapter 11) is told apart by its occurrence index, 1 for the first.

Several helpers write coverage files at once, each its own ``checks/coverage_<name>.toml``; entries for the
same (document, label, occurrence) in different files are merged: the union of their claim ids, and a reason
from any of them. Within one file a key listed twice is an error. An entry for a label the document does not print
is stale, except in 003 for labels outside the checked chapters (its appendices are mostly unnumbered; entries
named "§D.2.3 ..." document such displays): there only the entry's content and claim ids are checked.
"""
from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from checks.catalogue import documents_dir, load_claims

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ROOT / "checks"
COVERAGE = CHECKS / "coverage.toml"
EQUATION_DOCUMENTS = ("000_c3d26c0b8759bc96.txt", "001_99b614c8d5c43923.txt")
ALGORITHM_DOCUMENTS = ("004_1feaeabeef6c19fe.txt",)
# documents whose labels are chaptered ("(5.1.1)"): only these chapters must be covered (issues 5 and 6)
CHAPTER_DOCUMENTS = {"003_e26ce74bb5fbe391.txt": ("5", "7", "8", "9", "10", "11")}

_DISPLAY = re.compile(r"\$\$(.*?)\$\$", re.S)
_NUMBER = re.compile(r"\\tag\*?\s*\{\s*(\d+|[0-9A-Z]+(?:\.\d+)+)\s*\}"
                     r"|\\q?quad\s*\(\s*(\d+|[0-9A-Z]+(?:\.\d+)+)\s*\)")
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


def chapter_of(label: str) -> str:
    """'(9.2.3)' -> '9'; '(D.6.3)' -> 'D'; an unchaptered '(12)' -> ''."""
    inner = label.strip("()")
    return inner.split(".")[0] if "." in inner else ""


def algorithm_labels(text: str) -> list[tuple[str, int]]:
    seen: Counter = Counter()
    out = []
    for mo in _ALGORITHM.finditer(text):
        label = re.sub(r"\s+", " ", mo.group(1))
        seen[label] += 1
        out.append((label, seen[label]))
    return out


def coverage_files() -> list[Path]:
    """checks/coverage.toml and every checks/coverage_<name>.toml, in a fixed order."""
    return [COVERAGE] + sorted(CHECKS.glob("coverage_*.toml"))


def load_coverage(path: Path = COVERAGE) -> dict:
    """{(document, label, occurrence): entry} of one coverage file; a key listed twice is an error."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    table = {}
    for kind in ("equation", "algorithm"):
        for entry in data.get(kind, []):
            key = (entry["document"], entry["label"], int(entry.get("occurrence", 1)))
            if key in table:
                raise ValueError(f"{path.name} lists {key} twice")
            table[key] = entry
    return table


def merge_coverage(tables: dict) -> dict:
    """Merge {file name: table} into {key: entry}: claims are the union (first-seen order), reasons joined."""
    merged: dict = {}
    for name, table in tables.items():
        for key, entry in table.items():
            out = merged.setdefault(key, {"claims": [], "reason": "", "files": []})
            out["files"].append(name)
            claims = entry.get("claims", [])
            if not isinstance(claims, list):
                raise TypeError(f"{name} {key}: claims must be a list of ids, got {type(claims).__name__}")
            out["claims"] += [c for c in claims if c not in out["claims"]]
            reason = str(entry.get("reason", "")).strip()
            if reason:
                out["reason"] = f"{out['reason']} | {reason}" if out["reason"] else reason
    return merged


def all_coverage() -> dict:
    return merge_coverage({p.name: load_coverage(p) for p in coverage_files()})


_NUMBER_LABEL = re.compile(r"^\((?:\d+|[0-9A-Z]+(?:\.\d+)+)\)$")


def problems(labels: dict, coverage: dict, known_ids: set, claim_documents: dict,
             printed: dict | None = None, free_form: dict | None = None) -> list[str]:
    """Every reason the coverage fails: uncovered labels, unknown ids, stale entries, empty entries.

    ``labels``: {document: [(label, occurrence)]} that must be covered; ``printed``: {document: set of keys}
    that the document prints at all (defaults to ``labels``); an entry for a label in neither is stale, except,
    for a document in ``free_form`` ({document: checked chapters}), an entry whose label is not an equation number
    of a checked chapter (e.g. "§D.1.2 ..." or an appendix number the conversion did not print): it documents
    an unnumbered display (003's appendices) and only its content and claim ids are checked.
    """
    free_form = free_form or {}
    out = []
    for document, found in labels.items():
        for label, occurrence in found:
            entry = coverage.get((document, label, occurrence))
            if entry is None:
                out.append(f"{document} {label} (occurrence {occurrence}) is neither covered nor explained")
            elif not entry.get("claims") and not str(entry.get("reason", "")).strip():
                out.append(f"{document} {label}: entry has neither claims nor a reason")
    if printed is None:
        printed = {d: set(found) for d, found in labels.items()}
    present = {(d, lab, occ) for d, keys in printed.items() for lab, occ in keys}
    for key, entry in coverage.items():
        if key[0] in free_form and not (_NUMBER_LABEL.match(key[1]) and chapter_of(key[1]) in free_form[key[0]]):
            if not entry.get("claims") and not str(entry.get("reason", "")).strip():
                out.append(f"{key}: entry has neither claims nor a reason")
        elif key not in present:
            where = ", ".join(entry.get("files", [])) or "coverage"
            out.append(f"{where} entry {key} names a label that the document does not print")
        for cid in entry.get("claims", []):
            if cid not in known_ids:
                out.append(f"{key}: claim id {cid!r} is not in the catalogue")
            elif claim_documents[cid] != key[0]:
                out.append(f"{key}: claim {cid!r} belongs to {claim_documents[cid]}, not {key[0]}")
    return out


def _text(name: str) -> str:
    return (documents_dir() / name).read_text(encoding="utf-8")


def document_labels() -> dict:
    """{document: [(label, occurrence)]} that must be covered."""
    labels = {}
    for name in EQUATION_DOCUMENTS:
        labels[name] = equation_labels(_text(name))
    for name in ALGORITHM_DOCUMENTS:
        labels[name] = algorithm_labels(_text(name))
    for name, chapters in CHAPTER_DOCUMENTS.items():
        labels[name] = [(lab, occ) for lab, occ in equation_labels(_text(name)) if chapter_of(lab) in chapters]
    return labels


def printed_labels() -> dict:
    """{document: set of (label, occurrence)} printed anywhere (entries for other chapters are not stale)."""
    printed = {d: set(found) for d, found in document_labels().items()}
    for name in CHAPTER_DOCUMENTS:
        printed[name] = set(equation_labels(_text(name)))
    return printed


# --- the parser --------------------------------------------------------------------------------------

def test_equation_label_forms():
    text = (r"$$a = b \tag{12}$$ text (3) not a label $$c = d \quad (4)$$"
            "\n$$\\begin{aligned} & x \\\\ & \\quad (54) \\end{aligned}$$ $$e = f, \\quad (4)$$ $$g = h$$"
            r"$$u = v. \quad (5.1.1)$$ see (5.1.2) $$w \tag{9.2.3}$$ $$y \qquad (D.6.3)$$ $$z \quad (a)$$")
    assert equation_labels(text) == [("(12)", 1), ("(4)", 1), ("(54)", 1), ("(4)", 2),
                                      ("(5.1.1)", 1), ("(9.2.3)", 1), ("(D.6.3)", 1)]
    assert [chapter_of(lab) for lab in ("(5.1.1)", "(10.1.4)", "(D.6.3)", "(12)")] == ["5", "10", "D", ""]


def test_algorithm_label_forms():
    text = "### Algorithm 1 Sampling\n- 1: Set t = 0\nAlgorithm 2 Sampling (Euler)\nsee Algorithm 2 above\n"
    assert algorithm_labels(text) == [("Algorithm 1", 1), ("Algorithm 2", 1)]


def test_documents_have_the_expected_numbering():
    labels = document_labels()
    numbers_000 = {int(lab[1:-1]) for lab, occ in labels["000_c3d26c0b8759bc96.txt"] if occ == 1}
    assert numbers_000 == set(range(1, 79))          # (1)-(78), issue 4
    assert len(labels["001_99b614c8d5c43923.txt"]) >= 25
    assert [lab for lab, _ in labels["004_1feaeabeef6c19fe.txt"]] == ["Algorithm 1", "Algorithm 2"]


def test_003_chapters_have_the_expected_numbering():
    """003 chapters 5, 7-11: 170 printed tags; (10.1.4) is restated in chapter 11 (occurrence 2)."""
    found = document_labels()["003_e26ce74bb5fbe391.txt"]
    per_chapter = Counter(chapter_of(lab) for lab, _ in found)
    assert per_chapter == {"5": 30, "7": 20, "8": 23, "9": 54, "10": 11, "11": 32}
    assert [key for key in found if key[1] > 1] == [("(10.1.4)", 2)]
    ch5 = [lab for lab, _ in found if chapter_of(lab) == "5"]
    assert ch5[:2] == ["(5.0.1)", "(5.1.1)"] and ch5[-1] == "(5.4.2)"


# --- the coverage files ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def catalogue():
    claims = load_claims()
    return {c.id for c in claims}, {c.id: c.document for c in claims}


def test_every_label_is_covered_or_explained(catalogue):
    ids, docs = catalogue
    found = problems(document_labels(), all_coverage(), ids, docs, printed_labels(), CHAPTER_DOCUMENTS)
    assert not found, "\n".join(found)


def test_checker_detects_missing_label_and_unknown_id(catalogue, tmp_path):
    ids, docs = catalogue
    bad = tmp_path / "coverage.toml"
    bad.write_text('[[equation]]\ndocument = "000_c3d26c0b8759bc96.txt"\nlabel = "(1)"\n'
                   'claims = ["no.such.claim"]\n', encoding="utf-8")
    found = problems({"000_c3d26c0b8759bc96.txt": [("(1)", 1), ("(2)", 1)]}, load_coverage(bad), ids, docs)
    assert any("'no.such.claim' is not in the catalogue" in p for p in found)
    assert any("(2) (occurrence 1) is neither covered nor explained" in p for p in found)


def test_checker_detects_stale_entry_and_wrong_document(catalogue, tmp_path):
    ids, docs = catalogue
    some_000 = next(i for i in sorted(ids) if docs[i] == "000_c3d26c0b8759bc96.txt")
    bad = tmp_path / "coverage_x.toml"
    bad.write_text(f'[[equation]]\ndocument = "003_e26ce74bb5fbe391.txt"\nlabel = "(5.1.1)"\n'
                   f'claims = ["{some_000}"]\n\n[[equation]]\ndocument = "003_e26ce74bb5fbe391.txt"\n'
                   'label = "(5.9.9)"\nreason = "x"\n', encoding="utf-8")
    found = problems({"003_e26ce74bb5fbe391.txt": [("(5.1.1)", 1)]},
                     merge_coverage({bad.name: load_coverage(bad)}), ids, docs)
    assert any(f"{some_000!r} belongs to 000_c3d26c0b8759bc96.txt" in p for p in found)
    assert any("coverage_x.toml entry" in p and "(5.9.9)" in p and "does not print" in p for p in found)


def test_unnumbered_entries_of_chaptered_documents(catalogue, tmp_path):
    """003's appendices print few numbers: entries named by section (or by an appendix number the conversion did
    not print) are accepted; a number of a checked chapter that the document does not print is stale."""
    ids, docs = catalogue
    cov = tmp_path / "coverage_y.toml"
    cov.write_text('[[equation]]\ndocument = "003_e26ce74bb5fbe391.txt"\nlabel = "§D.2.3 Tweedie"\nreason = "r"\n'
                   '[[equation]]\ndocument = "003_e26ce74bb5fbe391.txt"\nlabel = "(D.2.3)"\nreason = "r"\n'
                   '[[equation]]\ndocument = "003_e26ce74bb5fbe391.txt"\nlabel = "(9.9.9)"\nreason = "r"\n'
                   '[[equation]]\ndocument = "003_e26ce74bb5fbe391.txt"\nlabel = "§D.2.4"\n', encoding="utf-8")
    found = problems({"003_e26ce74bb5fbe391.txt": []}, merge_coverage({cov.name: load_coverage(cov)}), ids, docs,
                     {"003_e26ce74bb5fbe391.txt": set()}, {"003_e26ce74bb5fbe391.txt": ("9",)})
    assert len(found) == 2, found
    assert "(9.9.9)" in found[0] and "does not print" in found[0]
    assert "§D.2.4" in found[1] and "neither claims nor a reason" in found[1]


def test_duplicate_entries_are_rejected(tmp_path):
    bad = tmp_path / "coverage.toml"
    entry = '[[equation]]\ndocument = "d"\nlabel = "(1)"\nreason = "x"\n'
    bad.write_text(entry + entry, encoding="utf-8")
    with pytest.raises(ValueError, match="twice"):
        load_coverage(bad)


def test_entries_from_several_files_are_merged(tmp_path):
    a, b = tmp_path / "coverage_a.toml", tmp_path / "coverage_b.toml"
    a.write_text('[[equation]]\ndocument = "d"\nlabel = "(1)"\nclaims = ["p", "q"]\n', encoding="utf-8")
    b.write_text('[[equation]]\ndocument = "d"\nlabel = "(1)"\nclaims = ["q", "r"]\nreason = "row 2"\n'
                 '[[equation]]\ndocument = "d"\nlabel = "(2)"\nreason = "why"\n', encoding="utf-8")
    merged = merge_coverage({p.name: load_coverage(p) for p in (a, b)})
    assert merged[("d", "(1)", 1)]["claims"] == ["p", "q", "r"]
    assert merged[("d", "(1)", 1)]["reason"] == "row 2"
    assert merged[("d", "(1)", 1)]["files"] == ["coverage_a.toml", "coverage_b.toml"]
    assert merged[("d", "(2)", 1)] == {"claims": [], "reason": "why", "files": ["coverage_b.toml"]}
    c = tmp_path / "coverage_c.toml"
    c.write_text('[[equation]]\ndocument = "d"\nlabel = "(1)"\nclaims = "p"\n', encoding="utf-8")
    with pytest.raises(TypeError, match="list of ids"):
        merge_coverage({c.name: load_coverage(c)})


def test_share_covered_by_claims():
    """Most numbered equations of 000/001 are checked by claims, not only explained (figure in the report)."""
    coverage = load_coverage()
    keys = [k for k in coverage if k[0] in EQUATION_DOCUMENTS]
    with_claims = [k for k in keys if coverage[k].get("claims")]
    assert len(with_claims) / len(keys) >= 0.45, f"{len(with_claims)}/{len(keys)} labels have claims"


def test_share_003_covered_by_claims():
    """003 chapters 5, 9 and 10 (checks/coverage_cv.toml): most numbered equations are checked by claims."""
    coverage = all_coverage()
    found = document_labels()["003_e26ce74bb5fbe391.txt"]
    keys = [("003_e26ce74bb5fbe391.txt", lab, occ) for lab, occ in found if chapter_of(lab) in ("5", "9", "10")]
    with_claims = [k for k in keys if k in coverage and coverage[k]["claims"]]
    assert len(keys) == 95
    assert len(with_claims) / len(keys) >= 0.45, f"{len(with_claims)}/{len(keys)} labels have claims"
