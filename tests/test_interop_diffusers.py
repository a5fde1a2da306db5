r"""Cross-check of the generated kernels against diffusers' schedulers (issue 5, item 4; ``interop`` extra).

Each diffusers scheduler runs a short sampling loop (10 steps, 1000 training steps, linear betas) on a fixed
sample with model outputs drawn from a seeded generator. Every update it makes is recorded with its inputs
(the scheduler's own converted model outputs, sigmas and alphas, taken from the scheduler's tensors) and
recomputed by our generated kernel on the same inputs; the relative error of the step output must be below
1e-6 (float64 tensors; the schedulers keep their sigmas in float32, which we take as given).

Where a scheduler implements a different scheme from ours, the test asserts the difference is real (far
above rounding) and shows with a measured order which side is right:

* DPMSolverMultistepScheduler, solver_order=3 (DPM-Solver++(3M) and the noise-prediction third order): its
  second-difference term D2 = (D1_0 - D1_1)/(r0 + r1) equals h^2 p''/2 of the quadratic interpolant p, but
  is weighted with the coefficient of h^2 p'' (phi_3 of the Taylor expansion), i.e. half the exact integral.
  Its local error is then O(h^3) (measured slope ~3 here), not O(h^4): the step is globally second order.
  Our 3M step integrates the quadratic interpolant exactly (local slope ~4) and agrees to 1e-6 with
  diffusers' own DEISMultistepScheduler(solver_order=3), which does the same integral.
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="interop extra (torch, diffusers) not installed: pip install -e .[interop]")
diffusers = pytest.importorskip("diffusers", reason="interop extra (diffusers) not installed: pip install -e .[interop]")

import jax.numpy as jnp  # noqa: E402

from numerics.generated import dpm_solver as dpm, edm  # noqa: E402

N_STEPS, SHAPE, TOL = 10, (4, 8), 1e-6
BASE = dict(num_train_timesteps=1000, beta_start=1e-4, beta_end=2e-2, beta_schedule="linear")


def _np(v) -> np.ndarray:
    return v.detach().to(torch.float64).numpy() if isinstance(v, torch.Tensor) else np.asarray(v, dtype=np.float64)


def _rel(ours, theirs) -> float:
    ours, theirs = np.asarray(ours, dtype=np.float64), _np(theirs)
    return float(np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), 1e-300))


def _loop(sched, seed: int = 0, extra_outputs: int = 0):
    """Run ``sched`` for N_STEPS steps with pseudo-random epsilon outputs; returns (timesteps, samples)."""
    gen = np.random.default_rng(seed)
    sched.set_timesteps(N_STEPS)
    sample = torch.tensor(gen.standard_normal(SHAPE), dtype=torch.float64) * float(getattr(sched, "init_noise_sigma", 1.0))
    for t in sched.timesteps:
        scaled = sched.scale_model_input(sample, t) if hasattr(sched, "scale_model_input") else sample
        eps = torch.tensor(gen.standard_normal(SHAPE), dtype=torch.float64) * 0.5 + 0.1 * scaled
        sample = sched.step(eps, t, sample).prev_sample
    return sample


def _alpha_sigma(sched, index: int):
    alpha, sigma = sched._sigma_to_alpha_sigma_t(sched.sigmas[index])
    return _np(alpha), _np(sigma)


def _lam(alpha, sigma):
    with np.errstate(divide="ignore"):
        return np.log(alpha) - np.log(sigma)


# --- DDIM ------------------------------------------------------------------------------------------

def test_ddim_scheduler_matches_ddim_step():
    sched = diffusers.DDIMScheduler(**BASE, clip_sample=False, set_alpha_to_one=True, prediction_type="epsilon")
    records = []
    original = sched.step

    def step(model_output, timestep, sample, **kw):
        out = original(model_output, timestep, sample, eta=0.0, **kw)
        prev_t = int(timestep) - sched.config.num_train_timesteps // sched.num_inference_steps
        a_s = sched.alphas_cumprod[int(timestep)]
        a_t = sched.alphas_cumprod[prev_t] if prev_t >= 0 else sched.final_alpha_cumprod
        records.append((sample, model_output, _np(a_s), _np(a_t), out.prev_sample))
        return out
    sched.step = step
    _loop(sched)
    assert len(records) == N_STEPS
    for x, eps, a_s, a_t, theirs in records:
        ours = dpm.ddim_step(_np(x), _np(eps), np.sqrt(a_s), np.sqrt(1 - a_s), np.sqrt(a_t), np.sqrt(1 - a_t))
        assert _rel(ours, theirs) < TOL


# --- DPM-Solver multistep --------------------------------------------------------------------------

MULTISTEP_UPDATES = ("dpm_solver_first_order_update", "multistep_dpm_solver_second_order_update",
                     "multistep_dpm_solver_third_order_update")
DEIS_UPDATES = ("deis_first_order_update", "multistep_deis_second_order_update", "multistep_deis_third_order_update")


def _record_multistep(sched, names=MULTISTEP_UPDATES):
    """Wrap the scheduler's first/second/third-order updates (``names``, in order) to record
    (order, converted model outputs, sample, step index, result) of every call."""
    records = []
    for order, name in enumerate(names, start=1):
        method = getattr(sched, name)

        def wrapped(*args, _method=method, _order=order, **kw):
            out = _method(*args, **kw)
            outputs = args[0] if _order > 1 else [args[0]]
            records.append((_order, [_np(m) for m in outputs], _np(kw["sample"]), sched.step_index, out))
            return out
        setattr(sched, name, wrapped)
    return records


def _ours_multistep(order, outputs, x, i, sched, prediction):
    a_t, s_t = _alpha_sigma(sched, i + 1)
    a_s, s_s = _alpha_sigma(sched, i)
    h = _lam(a_t, s_t) - _lam(a_s, s_s)
    if prediction == "data":
        if order == 1:
            return dpm.dpm_solver_pp_1_step(x, outputs[-1], a_t, s_s, s_t, h)
        h1 = _lam(a_s, s_s) - _lam(*_alpha_sigma(sched, i - 1))
        if order == 2:
            return dpm.dpm_solver_pp_2m_step(x, outputs[-1], outputs[-2], a_t, s_s, s_t, h, h1)
        h2 = _lam(*_alpha_sigma(sched, i - 1)) - _lam(*_alpha_sigma(sched, i - 2))
        return dpm.dpm_solver_pp_3m_step(x, outputs[-1], outputs[-2], outputs[-3], a_t, s_s, s_t, h, h1, h2)
    assert order == 1
    return dpm.dpm_solver_1_step(x, outputs[-1], a_s, s_s, a_t, h)


@pytest.mark.parametrize("order", [1, 2])
def test_dpmsolver_pp_multistep_matches(order):
    sched = diffusers.DPMSolverMultistepScheduler(**BASE, solver_order=order, algorithm_type="dpmsolver++",
                                                  solver_type="midpoint", prediction_type="epsilon")
    records = _record_multistep(sched)
    _loop(sched)
    assert len(records) == N_STEPS and {r[0] for r in records} == set(range(1, order + 1))
    for used, outputs, x, i, theirs in records:
        ours = _ours_multistep(used, outputs, x, i, sched, "data")
        assert np.all(np.isfinite(np.asarray(ours)))
        assert _rel(ours, theirs) < TOL, (order, used, i)


def test_dpmsolver_noise_first_order_matches():
    sched = diffusers.DPMSolverMultistepScheduler(**BASE, solver_order=1, algorithm_type="dpmsolver",
                                                  final_sigmas_type="sigma_min", prediction_type="epsilon")
    records = _record_multistep(sched)
    _loop(sched)
    for used, outputs, x, i, theirs in records:
        assert _rel(_ours_multistep(used, outputs, x, i, sched, "noise"), theirs) < TOL


# --- EDM Euler and Heun (sigma space, x = x0 + sigma eps) ------------------------------------------

def test_euler_discrete_matches_edm_euler_step():
    sched = diffusers.EulerDiscreteScheduler(**BASE, prediction_type="epsilon")
    records = []
    original = sched.step

    def step(model_output, timestep, sample, **kw):
        i = sched.step_index if sched.step_index is not None else 0
        out = original(model_output, timestep, sample, **kw)
        records.append((_np(sample), _np(out.pred_original_sample), _np(sched.sigmas[i]), _np(sched.sigmas[i + 1]),
                        out.prev_sample))
        return out
    sched.step = step
    _loop(sched)
    assert len(records) == N_STEPS
    for x, denoised, s, s_next, theirs in records:
        assert _rel(edm.edm_euler_step(x, denoised, s, s_next), theirs) < TOL


def test_heun_discrete_matches_edm_heun_step():
    sched = diffusers.HeunDiscreteScheduler(**BASE, prediction_type="epsilon")
    calls = []
    original = sched.step

    def step(model_output, timestep, sample, **kw):
        first = sched.state_in_first_order
        i = sched.step_index if sched.step_index is not None else 0
        out = original(model_output, timestep, sample, **kw)
        calls.append((first, i, _np(sample), _np(out.pred_original_sample), out.prev_sample))
        return out
    sched.step = step
    _loop(sched)
    pairs = [(a, b) for a, b in zip(calls, calls[1:]) if a[0] and not b[0]]
    assert len(pairs) == N_STEPS - 1      # the last step (to sigma = 0) is a plain Euler step
    for (_, i, x, d0, _), (_, _, _, d1, theirs) in pairs:
        ours = edm.edm_heun_step(x, d0, d1, _np(sched.sigmas[i]), _np(sched.sigmas[i + 1]))
        assert _rel(ours, theirs) < TOL


# --- DEIS and noise-prediction multistep (Lagrange interpolation of eps in log-SNR, integrated exactly) ----

from numerics.generated import deis  # noqa: E402


def _ours_eps_lagrange(order, outputs, x, i, sched):
    a_t, s_t = _alpha_sigma(sched, i + 1)
    a_s, s_s = _alpha_sigma(sched, i)
    lam = [_lam(*_alpha_sigma(sched, k)) for k in range(max(i - 2, 0), i + 2)]
    lam = dict(zip(range(max(i - 2, 0), i + 2), lam))
    h = lam[i + 1] - lam[i]
    if order == 1:
        return deis.deis_1_step(x, outputs[-1], a_s, s_s, a_t, h)
    h1 = lam[i] - lam[i - 1]
    if order == 2:
        return deis.deis_2_step(x, outputs[-1], outputs[-2], a_s, s_s, a_t, s_t, h, h1)
    return deis.deis_3_step(x, outputs[-1], outputs[-2], outputs[-3], a_s, s_s, a_t, s_t, h, h1, lam[i - 1] - lam[i - 2])


@pytest.mark.parametrize("order", [1, 2, 3])
def test_deis_multistep_matches(order):
    sched = diffusers.DEISMultistepScheduler(**BASE, solver_order=order, prediction_type="epsilon")
    records = _record_multistep(sched, DEIS_UPDATES)
    _loop(sched)
    assert len(records) == N_STEPS and {r[0] for r in records} == set(range(1, order + 1))
    for used, outputs, x, i, theirs in records:
        assert _rel(_ours_eps_lagrange(used, outputs, x, i, sched), theirs) < TOL, (order, used, i)


@pytest.mark.parametrize("order", [2])
def test_dpmsolver_noise_heun_multistep_matches_deis(order):
    """diffusers' noise-prediction multistep with solver_type='heun' integrates the Lagrange interpolant of
    eps in lambda exactly: the same scheme as our DEIS kernels."""
    sched = diffusers.DPMSolverMultistepScheduler(**BASE, solver_order=order, algorithm_type="dpmsolver",
                                                  solver_type="heun", final_sigmas_type="sigma_min",
                                                  prediction_type="epsilon")
    records = _record_multistep(sched)
    _loop(sched)
    assert {r[0] for r in records} == set(range(1, order + 1))
    for used, outputs, x, i, theirs in records:
        assert _rel(_ours_eps_lagrange(used, outputs, x, i, sched), theirs) < TOL, (order, used, i)


def test_dpmsolver_pp_singlestep_second_order_matches_2s():
    sched = diffusers.DPMSolverSinglestepScheduler(**BASE, solver_order=2, algorithm_type="dpmsolver++",
                                                   solver_type="midpoint", prediction_type="epsilon",
                                                   lower_order_final=False, final_sigmas_type="sigma_min")
    records = []
    method = sched.singlestep_dpm_solver_second_order_update

    def wrapped(model_output_list, *args, **kw):
        out = method(model_output_list, *args, **kw)
        records.append(([_np(m) for m in model_output_list], _np(kw["sample"]), sched.step_index, out))
        return out
    sched.singlestep_dpm_solver_second_order_update = wrapped
    _loop(sched)
    assert records
    for (m1, m0), x, i, theirs in [(r[0][-2:], r[1], r[2], r[3]) for r in records]:
        a_t, s_t = _alpha_sigma(sched, i + 1)
        a_s1, s_s1 = _alpha_sigma(sched, i - 1)
        lam_s1, lam_s0, lam_t = (_lam(*_alpha_sigma(sched, k)) for k in (i - 1, i, i + 1))
        h = lam_t - lam_s1
        ours = dpm.dpm_solver_pp_2s_step(x, m1, m0, a_t, s_s1, s_t, h, (lam_s0 - lam_s1) / h)
        assert _rel(ours, theirs) < TOL, i


# --- third-order multistep: a real difference, and the measured order says which side is right -------

def _gaussian_path(lam, m=0.7, v=0.3, z=1.3):
    """VP alpha, sigma at log-SNR lam, and x, x0 on the exact PF-ODE path of data N(m, v) (z standardised)."""
    a = 1 / np.sqrt(1 + np.exp(-2 * lam))
    s = a * np.exp(-lam)
    sd = np.sqrt(a * a * v + s * s)
    return a, s, a * m + sd * z, m + a * v * z / sd


def _third_order_local_errors(hs):
    sched = diffusers.DPMSolverMultistepScheduler(**BASE, solver_order=3, algorithm_type="dpmsolver++")
    sched.set_timesteps(N_STEPS)
    theirs, ours = [], []
    for h in hs:
        lams = [-1.0 + k * h for k in range(4)]          # s2, s1, s0, t: uniform steps in lambda
        path = [_gaussian_path(lam) for lam in lams]
        sched.sigmas = torch.tensor([np.exp(-lam) for lam in lams], dtype=torch.float64)
        sched._step_index = 2
        outputs = [torch.tensor([p[3]], dtype=torch.float64) for p in path[:3]]
        x_s0, exact = path[2][2], path[3][2]
        theirs.append(abs(float(sched.multistep_dpm_solver_third_order_update(
            outputs, sample=torch.tensor([x_s0], dtype=torch.float64))[0]) - exact))
        ours.append(abs(float(dpm.dpm_solver_pp_3m_step(x_s0, path[2][3], path[1][3], path[0][3], path[3][0],
                                                        path[2][1], path[3][1], h, h, h)) - exact))
    return np.array(theirs), np.array(ours)


def test_dpmsolver_multistep_third_order_is_a_different_scheme():
    sched = diffusers.DPMSolverMultistepScheduler(**BASE, solver_order=3, algorithm_type="dpmsolver++",
                                                  solver_type="midpoint", prediction_type="epsilon")
    records = _record_multistep(sched)
    _loop(sched)
    third = [r for r in records if r[0] == 3]
    assert third
    for used, outputs, x, i, theirs in third:
        assert _rel(_ours_multistep(used, outputs, x, i, sched, "data"), theirs) > 1e-4   # far above rounding


def test_third_order_local_error_orders_say_ours_is_third_order():
    hs = np.array([0.1, 0.05, 0.025, 0.0125])
    theirs, ours = _third_order_local_errors(hs)
    slope = lambda err: np.polyfit(np.log(hs), np.log(err), 1)[0]   # noqa: E731
    assert slope(ours) > 3.8, ours          # local O(h^4): a globally third-order step
    assert slope(theirs) < 3.4, theirs      # local O(h^3): globally second order

