"""``python -m checks.latex '<latex>' --against NAME``: holds / differs against objects derived in derive/, and
one-line errors (exit 2, no traceback) for malformed LaTeX, unknown names and unreadable assumptions."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from checks import cli

ROOT = Path(__file__).resolve().parents[1]


def _run(capsys, *argv):
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_shows_the_names(capsys):
    code, out, _ = _run(capsys, "--list")
    assert code == 0
    listed = [line.split()[0] for line in out.splitlines()]
    assert listed == sorted(cli.names())
    assert {"vp.drift", "vp.diffusion_sq", "reverse_sde.drift", "pf_ode.velocity"} <= set(listed)


@pytest.mark.parametrize("latex, name", [
    (r"-\frac{1}{2}\beta(t) x", "vp.drift"),
    (r"f(x, t) = -\frac{1}{2} \beta(t) x", "vp.drift"),                 # a relation: its right-hand side
    (r"\beta(t)", "vp.diffusion_sq"),
    (r"f(t) x - g(t)^2 \nabla_x \log p_t(x)", "reverse_sde.drift"),
    (r"f(t) x - \frac{1}{2} g(t)^2 \nabla_x \log p_t(x)", "pf_ode.velocity"),
    (r"\frac{d \log \alpha_t}{dt}", "schedule.drift_coeff"),
    (r"\frac{d \sigma_t^2}{dt} - 2 \frac{d \log \alpha_t}{dt} \sigma_t^2", "schedule.diffusion_sq"),
])
def test_correct_formulas_hold(capsys, latex, name):
    code, out, err = _run(capsys, latex, "--against", name)
    assert code == 0 and out.startswith("holds"), (out, err)
    assert "derived:" in out


@pytest.mark.parametrize("latex, name", [
    (r"-\beta(t) x", "vp.drift"),                                         # factor 1/2 lost
    (r"f(t) x - \frac{1}{2} g(t)^2 \nabla_x \log p_t(x)", "reverse_sde.drift"),   # the PF-ODE is not the SDE
    (r"\frac{d \log \alpha_t}{dt} x", "schedule.drift_coeff"),
])
def test_wrong_formulas_differ_with_a_counterexample(capsys, latex, name):
    code, out, _ = _run(capsys, latex, "--against", name)
    assert code == 1 and out.startswith("differs")
    assert "counterexample t=" in out and "yours = " in out and "derived = " in out


def test_counterexample_values_are_the_two_sides():
    out = cli.compare(r"-\beta(t) x", "vp.drift")
    yours = float(out.counterexample.split("yours = ")[1].split(",")[0])
    derived = float(out.counterexample.split("derived = ")[1])
    assert yours == pytest.approx(2 * derived, rel=1e-9)                 # -beta x is twice f x = -beta x / 2


def test_assumption_alpha_means_alpha_bar(capsys):
    latex = r"\frac{d \log \sqrt{\alpha_t}}{dt}"                           # DDPM-style alpha (alpha-bar)
    assert _run(capsys, latex, "--against", "schedule.drift_coeff")[0] == 1
    code, out, _ = _run(capsys, latex, "--against", "schedule.drift_coeff", "--assume", "alpha means alpha-bar")
    assert code == 0 and out.startswith("holds")


def test_ddpm_posterior_mean(capsys):
    if "ddpm.posterior_mean" not in cli.names():
        pytest.skip("derive/ddpm.py is not present")
    good = (r"\frac{\sqrt{\bar{\alpha}_{t-1}}\beta_t}{1-\bar{\alpha}_t} x_0 + "
            r"\frac{\sqrt{\alpha_t}(1-\bar{\alpha}_{t-1})}{1-\bar{\alpha}_t} x_t")
    assert _run(capsys, good, "--against", "ddpm.posterior_mean")[0] == 0
    bad = good.replace(r"\sqrt{\alpha_t}", r"\alpha_t")
    code, out, _ = _run(capsys, bad, "--against", "ddpm.posterior_mean")
    assert code == 1 and "beta_t=" in out


@pytest.mark.parametrize("latex, column, token", [
    (r"x = \frac{1}{2", 13, "{"),
    (r"x + \foo{y}", 5, r"\foo"),
    (r"x + * y", 5, "*"),
    (r"\beta_t x_t +", 13, "+"),
    (r"a } b", 3, "}"),
])
def test_malformed_latex_points_at_the_token(capsys, latex, column, token):
    code, out, err = _run(capsys, latex, "--against", "vp.drift")
    assert code == 2 and out == ""
    line = err.strip()
    assert "\n" not in line and line.startswith("error: malformed LaTeX")
    assert f"at column {column} ('{token}')" in line


@pytest.mark.parametrize("argv, needle", [
    (["x", "--against", "no.such.object"], "unknown name 'no.such.object'"),
    (["x", "--against", "vp.drift", "--assume", "alpha means banana"], "'banana' is not a known quantity"),
    (["x", "--against", "vp.drift", "--assume", "gibberish"], "cannot read --assume"),
    (["k x", "--against", "vp.drift"], "symbol 'k' has no meaning"),
    (["x"], "give a formula and --against"),
])
def test_usage_errors_are_one_line(capsys, argv, needle):
    code, out, err = _run(capsys, *argv)
    assert code == 2 and needle in err and "\n" not in err.strip() and "Traceback" not in err


def test_module_entry_point_has_no_traceback():
    env = {"PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "checks.latex", r"\frac{1}{", "--against", "vp.drift"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: malformed LaTeX") and "Traceback" not in done.stderr
