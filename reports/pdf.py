"""Atomic output (temporary file beside the target, then ``os.replace``) and the PDF build (latexmk or pdflatex)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


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


def write_text(text: str):
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
        if (out / "figures").is_dir():
            shutil.copytree(out / "figures", work / "figures")
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

