"""The kernel-accuracy part of the report (issue 9: "the report lists, for each kernel, the worst relative error
found and where"): kernel_accuracy.csv, the LaTeX section, the summary.md block and the manifest, from a small
list of Accuracy records standing in for numerics.accuracy.all_kernels (tests/test_reports.py: ACCURACY); one
test runs the real measurement on two DDPM kernels at a few points."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

import numerics.accuracy
from numerics.accuracy import Accuracy
from reports import accuracy as A
from reports import build
from reports.__main__ import main

from test_reports import ACCURACY, fake, fake_all_kernels  # noqa: F401,E402  (fake: the fixture)

REAL_ALL_KERNELS = numerics.accuracy.all_kernels      # before the fixture replaces it
CSV_COLUMNS = ["kernel", "dtype", "points", "conditioned_points", "worst_rel_error", "target", "within_target",
               "nonfinite", "worst_at"]


def _run(tmp_path, *extra):
    return main(["--out", str(tmp_path), "--no-progress", "--no-pdf", *extra])


def test_csv_columns_values_and_marks(fake, tmp_path):
    assert _run(tmp_path) == 0
    df = pd.read_csv(tmp_path / "kernel_accuracy.csv", keep_default_na=False)
    assert list(df.columns) == CSV_COLUMNS and len(df) == len(ACCURACY)
    assert list(zip(df["kernel"], df["dtype"])) == [(r.kernel, r.dtype) for r in ACCURACY]
    # the targets: 1e-12 in float64, 1e-5 in float32; NaN/inf output is outside whatever the error
    assert list(df["target"]) == [1e-12, 1e-5, 1e-12, 1e-5]
    assert list(df["within_target"]) == [True, True, False, False]
    assert list(df["nonfinite"]) == [0, 0, 0, 2] and list(df["conditioned_points"]) == [59, 58, 64, 43]
    assert list(df["worst_rel_error"]) == [3.38e-16, 1.41e-07, 2.5e-09, 7.9e-08]
    assert list(df["worst_at"]) == ["x_t=-2.5; beta_t=0.00395", "x_t=-1.84375; beta_t=0.125", "h=1e-12",
                                    "nonfinite_at.sigma=0.0"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    acc = manifest["kernel_accuracy"]
    assert (acc["points"], acc["seed"], acc["measurements"], acc["kernels"]) == (64, 0, 4, 3)
    assert acc["outside_target"] == ["phi.phi_1 (float64)", "edm.c_noise (float32)"]
    assert fake_all_kernels.calls == [(64, 0)]


def test_worst_point_is_written_exactly():
    """float32 inputs are not exact decimals: the CSV keeps every digit, so the point can be evaluated again."""
    x = float(np.float32(0.1))
    rows = A.make_rows([Accuracy("phi.phi_2", "float32", 8, 8, 1e-7, {"h": x, "n": 3}, 0)])
    pairs = dict(p.split("=") for p in rows[0]["worst_at"].split("; "))
    assert float(pairs["h"]) == x and pairs["n"] == "3.0"


def test_latex_section_rows_and_marks(fake, tmp_path):
    assert _run(tmp_path, "--accuracy-points", "16", "--seed", "7") == 0
    assert fake_all_kernels.calls == [(16, 7)]
    tex = (tmp_path / "report.tex").read_text()
    sec = tex[tex.index(r"\section*{Kernel accuracy}"):tex.index(r"\section*{All claims}")]
    assert r"at 16 seeded points" in sec and "(seed 7)" in sec and "2 of 4 measurements within target" in sec
    assert r"\begin{longtable}" in sec and sec.count(r"\begin{") == sec.count(r"\end{")
    assert r"\texttt{ddpm.posterior\_mean} & \texttt{float64} & 3.38e-16 & 1e-12 & x\_t=-2.5; beta\_t=0.00395 \\" in sec
    assert (r"\texttt{ddpm.posterior\_mean} & \texttt{float32} & 1.41e-07 & 1e-05 & x\_t=-1.84375; beta\_t=0.125 \\"
            in sec)
    # outside the target: a cross on the name and the error in red; the NaN/inf count in the "where" column
    assert r"\texttt{phi.phi\_1}$^{\times}$ & \texttt{float64} & \textcolor{red}{2.50e-09} & 1e-12 & h=1e-12 \\" in sec
    assert (r"\texttt{edm.c\_noise}$^{\times}$ & \texttt{float32} & \textcolor{red}{7.90e-08} & 1e-05 & "
            r"\textcolor{red}{2 NaN/inf}; nonfinite\_at.sigma=0 \\") in sec
    assert r"kernel accuracy & 16 points, seed 7," in tex                   # the manifest table
    md = (tmp_path / "summary.md").read_text()
    block = md[md.index("## Kernel accuracy"):md.index("## Errata")]
    assert "16 seeded points each (seed 7): 2 of 4 measurements within target" in block
    assert "| float64 | 2 | 1 | 2.50e-09 | `phi.phi_1` | `h=1e-12` |" in block
    assert "- `edm.c_noise` (float32): worst relative error 7.90e-08 (target 1e-05), 2 NaN/inf" in block


def test_accuracy_seed_overrides_the_report_seed(fake, tmp_path):
    assert _run(tmp_path, "--seed", "5", "--accuracy-seed", "3") == 0
    assert fake_all_kernels.calls == [(64, 3)]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["kernel_accuracy"]["seed"] == 3


def test_no_accuracy_skips_and_keeps_an_earlier_csv(fake, tmp_path):
    (tmp_path / "kernel_accuracy.csv").write_text("earlier\n")
    assert _run(tmp_path, "--no-accuracy", "--seed", "-1") == 0      # a negative seed is fine without it
    assert fake_all_kernels.calls == []
    assert (tmp_path / "kernel_accuracy.csv").read_text() == "earlier\n"
    assert json.loads((tmp_path / "manifest.json").read_text())["kernel_accuracy"] is None
    assert "Not measured in this run" in (tmp_path / "report.tex").read_text()
    assert "Not measured in this run" in (tmp_path / "summary.md").read_text()


@pytest.mark.parametrize("args, message", [(["--seed", "-1"], "--accuracy-seed"),
                                           (["--accuracy-points", "0"], "positive integer"),
                                           (["--accuracy-seed", "-2"], ">= 0")])
def test_bad_accuracy_arguments_are_usage_errors(fake, tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        _run(tmp_path, *args)
    assert exc.value.code == 2 and message in capsys.readouterr().err
    assert fake_all_kernels.calls == [] and not list(tmp_path.iterdir())


def test_bad_arguments_of_the_functions():
    with pytest.raises(ValueError, match="accuracy_points"):
        build.run(accuracy_points=0)
    with pytest.raises(ValueError, match="accuracy_seed"):
        build.run(seed=-1)
    with pytest.raises(TypeError, match=r"records\[1\]"):
        A.make_rows([ACCURACY[0], {"kernel": "x"}])
    with pytest.raises(ValueError, match=r"records\[0\].dtype"):
        A.make_rows([Accuracy("phi.phi_1", "float16", 4, 4, 0.0, {}, 0)])


def test_boundaries_of_within_target():
    at = lambda dtype, err, cond=4, nonfinite=0: A.within_target(  # noqa: E731
        Accuracy("k.k", dtype, 4, cond, err, {}, nonfinite))
    assert at("float64", 1e-12) and not at("float64", 1.0000001e-12) and at("float32", 1e-5)
    assert not at("float32", float("nan")) and not at("float64", 0.0, cond=0) and not at("float64", 0.0, nonfinite=1)


def test_failing_measurement_leaves_the_previous_report(fake, tmp_path, monkeypatch):
    assert _run(tmp_path) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def broken(n, seed):
        raise RuntimeError("mpmath exploded")
    monkeypatch.setattr(numerics.accuracy, "all_kernels", broken)
    with pytest.raises(RuntimeError, match="mpmath exploded"):
        _run(tmp_path, "--seed", "4")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.skipif(shutil.which("latexmk") is None and shutil.which("pdflatex") is None, reason="needs TeX")
def test_section_compiles(fake, tmp_path):
    from reports.pdf import compile_pdf                    # the fixture turns it off in the run itself
    assert _run(tmp_path) == 0
    compile_pdf(tmp_path)
    log = tmp_path / "report.log"
    assert (tmp_path / "report.pdf").is_file(), log.read_text()[-2000:] if log.exists() else "no log"


def test_real_measurement_of_two_kernels(fake, tmp_path, monkeypatch):
    """The real all_kernels (and measure) on two DDPM kernels at 6 points: the CSV has their names, arguments and
    errors within the targets (the kernels pass tests/test_kernel_accuracy.py at 64 points)."""
    import derive.ddpm
    import numerics.emit
    specs = [s for s in derive.ddpm.kernel_specs() if s.name in ("posterior_variance", "posterior_mean")]
    assert len(specs) == 2
    monkeypatch.setattr(numerics.emit, "collect_specs", lambda: specs)
    monkeypatch.setattr(numerics.accuracy, "all_kernels", REAL_ALL_KERNELS)
    assert _run(tmp_path, "--accuracy-points", "6", "--seed", "2") == 0
    df = pd.read_csv(tmp_path / "kernel_accuracy.csv", keep_default_na=False)
    assert [(k, d) for k, d in zip(df["kernel"], df["dtype"])] == [
        (f"ddpm.{s.name}", d) for s in specs for d in ("float64", "float32")]
    assert (df["points"] == 6).all() and (df["nonfinite"] == 0).all() and df["within_target"].all()
    assert (df["worst_rel_error"] < df["target"]).all() and (df["worst_rel_error"] > 0).any()
    for spec, where in zip([s for s in specs for _ in (0, 1)], df["worst_at"]):
        names = [p.split("=")[0] for p in where.split("; ")] if where else []
        assert set(names) <= {a.name for a in spec.args}
