"""The report CLI (``python -m reports``) against a fake catalogue and a fake ``verify``."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd
import pytest

import numerics.accuracy
from checks.verdict import MethodResult, Verdict
from numerics.accuracy import Accuracy
from reports import build, ddim_convergence
from reports.__main__ import main


@dataclass
class FakeClaim:
    id: str
    document: str
    label: str
    line: int
    family: str
    latex: str
    kind: str = "equation"
    expect: str = "holds"
    corrected: str = ""
    note: str = ""
    methods: list = field(default_factory=lambda: ["symbolic"])


CLAIMS = [
    FakeClaim("fam_a.one", "000_doc.txt", "(1)", 10, "fam_a", r"f_t = \frac{d \log \alpha_t}{dt}"),
    FakeClaim("fam_a.two_err", "000_doc.txt", "(2)", 20, "fam_a",
              r"\bar{\alpha}_{t} &= \prod_{s=1}^{t} (1-\beta_s) \quad \text{100% of $\beta$}",
              expect="erratum", corrected=r"\bar{\alpha}_{t} = \prod_{s=1}^{t} \alpha_s",
              note="alpha_t means 1 - beta_t; ᾱ is the product"),
    FakeClaim("fam_b.three", "001_doc.txt", "Algorithm 1", 30, "fam_b", r"x_{t-1} = x_t - h"),
]


# A small stand-in for numerics.accuracy.all_kernels (the real one takes about 50 s): one record within target
# per dtype, one float64 record above 1e-12, one float32 record with NaN/inf output.
ACCURACY = [
    Accuracy("ddpm.posterior_mean", "float64", 64, 59, 3.38e-16, {"x_t": -2.5, "beta_t": 0.00395}, 0),
    Accuracy("ddpm.posterior_mean", "float32", 64, 58, 1.41e-07, {"x_t": -1.84375, "beta_t": 0.125}, 0),
    Accuracy("phi.phi_1", "float64", 64, 64, 2.5e-09, {"h": 1e-12}, 0),
    Accuracy("edm.c_noise", "float32", 64, 43, 7.9e-08, {"nonfinite_at": {"sigma": 0.0}}, 2),
]


def fake_all_kernels(n=64, seed=0):
    fake_all_kernels.calls.append((n, seed))
    return list(ACCURACY)


fake_all_kernels.calls = []

#: a stand-in for reports.ddim_convergence.convergence_rows (the real one simulates; tests/test_report_ddim.py runs it)
DDIM_ROWS = [{"eta": eta, "steps": n, "max_var_error": 0.2 / n, "max_mean_error": 0.0, "ks_distance": 0.5 / n,
              "ks_critical": 0.019, "ks_passed": n > 20, "samples": 20000, "seed": 0}
             for eta in (0.0, 1.0) for n in (5, 40)]


def fake_ddim_rows(seed=0):
    return [dict(r, seed=seed) for r in DDIM_ROWS]


def fake_load_claims(families_=None, document=None):
    """Like checks.catalogue.load_claims: unknown names raise a ValueError."""
    for name in families_ or []:
        if name not in {c.family for c in CLAIMS}:
            raise ValueError(f"unknown family {name!r}; known families: ['fam_a', 'fam_b']")
    if document is not None and document not in {c.document for c in CLAIMS}:
        raise ValueError(f"unknown document {document!r}")
    families = families_
    return [c for c in CLAIMS if (families is None or c.family in families)
            and (document is None or c.document == document)]


def make_verify(statuses=None, raise_on=None):
    statuses = statuses or {}
    calls = []

    def verify(claim, samples=None, seed=0):
        calls.append(claim.id)
        if claim.id == raise_on:
            raise RuntimeError("boom")
        status = statuses.get(claim.id, claim.expect)
        results = [MethodResult("symbolic", "document", status == "holds", max_abs_error=0.0 if status == "holds"
                                else 0.25, seconds=0.01, detail="simplify(doc - derived)")]
        if claim.expect == "erratum":
            results.append(MethodResult("monte-carlo", "document", False, statistic=12.5, p_value=1e-9,
                                        samples=samples or 1000, seed=seed))
            results.append(MethodResult("symbolic", "corrected", True, max_abs_error=0.0))
        return Verdict(claim.id, status, claim.expect, parsed=claim.id != "fam_b.three", results=results,
                       seconds=0.02, message="document form refuted" if status == "erratum" else "")
    verify.calls = calls
    return verify


@pytest.fixture
def fake(monkeypatch):
    state = {"verify": make_verify()}
    monkeypatch.setattr(build, "_api", lambda: (fake_load_claims, state["verify"]))
    monkeypatch.setattr(build, "compile_pdf", lambda out: None)
    monkeypatch.setattr(build, "make_figures", lambda rows, claims, verdicts, out, orders=True: {})
    monkeypatch.setattr(numerics.accuracy, "all_kernels", fake_all_kernels)
    monkeypatch.setattr(ddim_convergence, "convergence_rows", fake_ddim_rows)
    fake_all_kernels.calls.clear()
    return state


def _run(tmp_path, *extra):
    return main(["--out", str(tmp_path), "--no-progress", *extra])


def test_csv_columns_and_rows(fake, tmp_path):
    assert _run(tmp_path) == 0
    df = pd.read_csv(tmp_path / "claims.csv")
    assert list(df.columns) == build.COLUMNS
    assert len(df) == len(CLAIMS)
    err = df.set_index("id").loc["fam_a.two_err"]
    assert err["status"] == "erratum" and err["method"] == "symbolic" and err["max_abs_error"] == 0.25
    assert int(err["line"]) == 20 and err["family"] == "fam_a"
    assert df.set_index("id").loc["fam_b.three", "parsed"] == False  # noqa: E712
    for name in ("report.tex", "summary.md", "manifest.json", "kernel_accuracy.csv"):
        assert (tmp_path / name).is_file()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["seed"] == 0 and manifest["claims"] == 3 and manifest["differing"] == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_tex_has_summary_and_erratum(fake, tmp_path):
    _run(tmp_path, "--seed", "7", "--samples", "500")
    tex = (tmp_path / "report.tex").read_text()
    assert r"\section*{Summary: documents $\times$ status}" in tex and r"\texttt{000\_doc.txt} & 1 & 1 & 0 & 0 & 2 & 0 \\" in tex
    assert r"\section{Erratum \texttt{fam\_a.two\_err}}" in tex
    assert tex.count(r"\section{Erratum") == 1                    # one erratum
    # the summary table comes first, before any erratum section
    assert tex.index(r"\section*{Summary") < tex.index(r"\section{Erratum") < tex.index(r"\section*{Manifest}")
    assert r"\paragraph{Derivation in brief.} alpha\_t means" in tex
    # the document's LaTeX verbatim in display math (only the comment character guarded) ...
    assert r"\bar{\alpha}_{t} &= \prod_{s=1}^{t} (1-\beta_s) \quad \text{100\% of $\beta$}" in tex
    assert "\\begin{align*}\n\\bar{\\alpha}_{t}" in tex         # a top-level & needs an alignment env
    assert "\\begin{equation*}\n\\bar{\\alpha}_{t} = \\prod_{s=1}^{t} \\alpha_s\n\\end{equation*}" in tex
    # ... and escaped text outside math
    assert r"alpha\_t means 1 - beta\_t; \ensuremath{\bar{\alpha}} is the product" in tex
    assert "monte-carlo & document & no & -- & 12.5 & 1e-09 & 500" in tex
    assert r"\begin{longtable}" in tex and r"\texttt{fam\_b.three} & Algorithm 1 & 30 & holds $^{t}$ \\" in tex
    assert tex.count(r"\begin{") == tex.count(r"\end{")
    md = (tmp_path / "summary.md").read_text()
    assert "| `000_doc.txt` | 1 | 1 | 0 | 0 | 2 | 0 |" in md and "- `fam_a.two_err`" in md


def test_atomic_outputs_survive_a_failing_run(fake, tmp_path):
    assert _run(tmp_path) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    fake["verify"] = make_verify(statuses={"fam_a.one": "erratum"}, raise_on="fam_a.two_err")
    with pytest.raises(RuntimeError, match="boom"):
        _run(tmp_path)
    assert fake["verify"].calls == ["fam_a.one", "fam_a.two_err"]
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "claims.csv"
    target.write_text("old\n")

    def half(tmp):
        with open(tmp, "w") as fh:
            fh.write("id,doc")
        raise OSError("disk full")
    with pytest.raises(OSError):
        build.atomic_write(target, half)
    assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["claims.csv"]


def test_exit_1_when_a_status_differs(fake, tmp_path, capsys):
    fake["verify"] = make_verify(statuses={"fam_b.three": "unverified"})
    assert _run(tmp_path, "--json") == 1
    captured = capsys.readouterr()
    assert "fam_b.three" in captured.err and "expected holds" in captured.err
    rows = json.loads(captured.out)
    assert [r["id"] for r in rows] == [c.id for c in CLAIMS] and rows[2]["status"] == "unverified"
    assert "fam_a.one" not in captured.err


def test_selection(fake, tmp_path):
    assert _run(tmp_path, "--only", "fam_b") == 0
    assert list(pd.read_csv(tmp_path / "claims.csv")["id"]) == ["fam_b.three"]
    assert _run(tmp_path, "--document", "000_doc.txt") == 0
    assert len(pd.read_csv(tmp_path / "claims.csv")) == 2


@pytest.mark.parametrize("args", [["--only", "no_such_family"], ["--only", "fam_a", "nope"],
                                  ["--document", "999_nope.txt"]])
def test_unknown_selection_exit_2(fake, tmp_path, capsys, args):
    assert _run(tmp_path, *args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown") and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "claims.csv").exists()


def test_math_guard():
    assert build.tex_math(r"$x = 1$") == ("equation*", "x = 1")
    env, body = build.tex_math("a = b \\label{eq:1} \\tag{3}\n\n+ c % comment")
    assert env == "equation*" and "label" not in body and "tag" not in body and "\n\n" not in body
    assert body.endswith(r"+ c \% comment")
    assert build.tex_math(r"\begin{cases} a & b \end{cases}")[0] == "equation*"
    assert build.tex_math(r"a &= b \\ c &= d")[0] == "align*"
    for bad in (r"\frac{a}{b", r"a } b", r"\end{document}", r"\begin{cases} a", r"x $ y", ""):
        assert build.tex_math(bad) is None
    assert build.tex_text("a_b & 50% {x} ~ \\ ^ 中") == \
        r"a\_b \& 50\% \{x\} \textasciitilde{} \textbackslash{} \textasciicircum{} ?"


# ------------------------------------------------------------------------------------------ seeds and jobs
def test_claim_seed_depends_on_seed_and_id_only():
    a = build.claim_seed(0, "fam_a.one")
    assert a == build.claim_seed(0, "fam_a.one") and 0 <= a < 2**31
    assert len({build.claim_seed(s, i) for s in (0, 1, 2) for i in ("fam_a.one", "fam_a.two_err")}) == 6


def test_each_claim_gets_its_own_seed(fake, tmp_path):
    seen = {}
    base = make_verify()

    def verify(claim, samples=None, seed=0):
        seen[claim.id] = seed
        return base(claim, samples=samples, seed=seed)
    fake["verify"] = verify
    assert _run(tmp_path, "--seed", "5") == 0
    assert seen == {c.id: build.claim_seed(5, c.id) for c in CLAIMS}
    df = pd.read_csv(tmp_path / "claims.csv").set_index("id")
    assert int(df.loc["fam_a.two_err", "seed"]) == build.claim_seed(5, "fam_a.two_err")


def test_bad_jobs_is_a_usage_error(fake, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        _run(tmp_path, "--jobs", "0")
    assert exc.value.code == 2 and "positive integer" in capsys.readouterr().err


def _seeded_worker(family, claim_id, samples, seed):
    """A picklable stand-in for verify in worker processes: its numbers depend on the seed only."""
    import numpy as np
    rng = np.random.default_rng(seed)
    res = MethodResult("monte-carlo", "document", True, statistic=float(rng.normal()), p_value=float(rng.uniform()),
                       samples=samples, seed=seed)
    return Verdict(claim_id, "holds", "holds", True, [res], seconds=float(rng.uniform()))


def test_parallel_verdicts_do_not_depend_on_jobs():
    serial = build.verify_all(CLAIMS, lambda c, samples, seed: _seeded_worker(c.family, c.id, samples, seed),
                              samples=100, seed=9, progress=False, jobs=1)
    parallel = build.verify_all(CLAIMS, None, samples=100, seed=9, progress=False, jobs=2, worker=_seeded_worker)
    assert [v.claim_id for v in parallel] == [c.id for c in CLAIMS]
    assert [v.results for v in parallel] == [v.results for v in serial]
    assert len({v.results[0].statistic for v in serial}) == len(CLAIMS)      # the seeds do differ per claim


@pytest.mark.slow
def test_same_seed_same_numbers(tmp_path, monkeypatch):
    """A real family verified twice with the same seed: identical CSV apart from the seconds column (the verdict
    cache is off, so the second run recomputes everything)."""
    monkeypatch.setenv("WORKBENCH_CACHE", "0")
    frames = []
    for run in ("a", "b"):
        out = tmp_path / run
        code = main(["--only", "flows_004", "--seed", "3", "--out", str(out), "--no-pdf", "--no-plots",
                     "--no-progress", "--no-accuracy"])
        assert code == 0
        frames.append(pd.read_csv(out / "claims.csv").drop(columns=["seconds"]))
    assert len(frames[0]) > 5 and frames[0]["max_abs_error"].notna().any()
    pd.testing.assert_frame_equal(frames[0], frames[1])


def test_unknown_family_from_the_command_line_is_one_line(tmp_path):
    import subprocess
    import sys
    root = build.DEFAULT_OUT.parents[1]
    done = subprocess.run([sys.executable, "-m", "reports", "--only", "no_such_family", "--out", str(tmp_path)],
                          cwd=root, env={"PYTHONPATH": str(root), "JAX_PLATFORMS": "cpu", "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().startswith("error: unknown family") and "\n" not in done.stderr.strip()


# ------------------------------------------------------------------------------------------------- figures
def test_figures_are_included_and_paths_guarded(tmp_path):
    verdict = make_verify()(CLAIMS[1])
    rows = [build.make_row(CLAIMS[1], verdict, 0)]
    manifest = build.make_manifest(rows, seed=0, samples=None, only=None, document=None)
    figures = {"fam_a.two_err": [("figures/mc_fam_a_two_err.pdf", "histogram 100% of it"),
                                 ("figures/../../etc/x y.pdf", "bad path")],
               "__orders__": [("figures/orders.pdf", "orders")],
               "__mc__": [("figures/mc_x.pdf", "x: histogram")]}
    tex = build.render_tex(rows, [CLAIMS[1]], [verdict], manifest, figures)
    assert r"\includegraphics[width=0.7\linewidth]{figures/mc_fam_a_two_err.pdf}" in tex
    assert "histogram 100\\% of it" in tex and "x y.pdf" not in tex
    assert r"\section*{Convergence orders}" in tex and "{figures/orders.pdf}" in tex
    assert r"\section*{Monte Carlo evidence (selected SDE claims)}" in tex and "{figures/mc_x.pdf}" in tex


def test_order_plot_from_measured_orders(monkeypatch, tmp_path):
    from reports import plots
    rows = [{"solver": "euler", "claimed_order": 1, "measured_order": 1.01, "steps": "10 20 40",
             "errors": "1e-2 5e-3 2.5e-3"},
            {"solver": "heun", "claimed_order": 2, "measured_order": 2.0, "steps": "10 20 40",
             "errors": "1e-3 2.5e-4 6.25e-5"}]
    monkeypatch.setattr(plots, "_measured_orders", lambda: (lambda: rows))
    found = plots.order_plot(tmp_path)
    assert found and (tmp_path / found[0][0]).stat().st_size > 1000
    monkeypatch.setattr(plots, "_measured_orders", lambda: None)
    assert plots.order_plot(tmp_path / "none") == [] and not (tmp_path / "none").exists()


def test_no_histogram_without_a_monte_carlo_sde_result(tmp_path):
    from reports import plots
    verdict = make_verify()(CLAIMS[1])          # has a monte-carlo result, but the claim is an equation
    assert plots.mc_histogram(CLAIMS[1], verdict, tmp_path) == []
    figures = plots.make_figures([build.make_row(CLAIMS[1], verdict, 0)], [CLAIMS[1]], [verdict], tmp_path,
                                 orders=False)
    assert figures == {}


def test_full_report_has_the_ddim_convergence_section(fake, tmp_path):
    """Without a selection and with plots, the report carries the DDIM table (issue 4) and its seed in the manifest."""
    assert main(["--out", str(tmp_path), "--no-progress", "--no-accuracy"]) in (0, 1)
    tex = (tmp_path / "report.tex").read_text()
    assert "DDIM: $\\eta = 0$ and $\\eta = 1$ converge" in tex and tex.count("data law") >= 2
    assert json.loads((tmp_path / "manifest.json").read_text())["ddim_convergence"]["seed"] == 0
    assert "## DDIM convergence" in (tmp_path / "summary.md").read_text()
