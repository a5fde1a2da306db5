"""Look at the PDF: build report.pdf (fake catalogue, real LaTeX and pdflatex), render its pages to PNG with pdftoppm,
check that no page is blank, and that the summary table (documents x statuses) is on page 1 (pdftotext)."""
from __future__ import annotations

import shutil
import subprocess

import pytest

import numerics.accuracy
from reports import build, ddim_convergence, plots
from reports.__main__ import main

from test_reports import fake_all_kernels, fake_ddim_rows, fake_load_claims, make_verify  # noqa: E402  (tests/ is on sys.path under pytest)

MISSING = [tool for tool in ("pdftoppm", "pdftotext") if shutil.which(tool) is None]
if shutil.which("latexmk") is None and shutil.which("pdflatex") is None:
    MISSING.append("latexmk/pdflatex")
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"needs {', '.join(MISSING)} on PATH (TeX Live / poppler-utils)")

ORDERS = [{"solver": "euler", "claimed_order": 1, "measured_order": 1.0, "steps": "10 20 40", "errors": "4e-2 2e-2 1e-2"},
          {"solver": "heun", "claimed_order": 2, "measured_order": 2.0, "steps": "10 20 40", "errors": "4e-3 1e-3 2.5e-4"}]


@pytest.fixture(scope="module")
def pdf(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(build, "_api", lambda: (fake_load_claims, make_verify()))
        mp.setattr(plots, "_measured_orders", lambda: (lambda: ORDERS))
        mp.setattr(numerics.accuracy, "all_kernels", fake_all_kernels)      # the accuracy section, measured fast
        mp.setattr(ddim_convergence, "convergence_rows", fake_ddim_rows)
        assert main(["--out", str(out), "--no-progress"]) == 0
    assert (out / "report.pdf").is_file(), (out / "report.log").read_text()[-2000:] if (out / "report.log").exists() \
        else "no report.pdf and no log"
    return out


def test_pages_render_and_are_not_blank(pdf):
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf / "report.pdf"), str(pdf / "page")], check=True,
                   timeout=120)
    pages = sorted(pdf.glob("page-*.png"))
    assert len(pages) >= 2
    import matplotlib.image as mpimg
    for page in pages:
        img = mpimg.imread(page)
        ink = (img[..., :3].mean(axis=-1) < 0.5).mean()       # share of dark pixels
        assert ink > 0.002, f"{page.name} looks blank ({ink:.4f} dark)"


def test_summary_table_is_on_the_first_page(pdf):
    text = subprocess.run(["pdftotext", "-layout", "-f", "1", "-l", "1", str(pdf / "report.pdf"), "-"],
                          capture_output=True, text=True, check=True, timeout=60).stdout
    assert "Summary: documents" in text
    rows = [line.split() for line in text.splitlines() if line.strip().startswith(("000_doc.txt", "001_doc.txt",
                                                                                    "all"))]
    counts = {r[0]: r[1:] for r in rows}
    assert counts["000_doc.txt"][:4] == ["1", "1", "0", "0"] and counts["all"][-2:] == ["3", "0"]


def test_erratum_section_with_its_figure(pdf):
    text = subprocess.run(["pdftotext", str(pdf / "report.pdf"), "-"], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    assert "Erratum fam_a.two_err" in text and "As printed." in text and "Corrected." in text
    assert "Derivation in brief." in text and "Convergence orders" in text
    assert (pdf / "figures" / "orders.pdf").is_file()
    assert not [p for p in pdf.iterdir() if p.name.startswith(".")]            # no temporary files left behind
