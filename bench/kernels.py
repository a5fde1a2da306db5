r"""Kernel throughput on 10^7-element arrays, float32 and float64: the generated DDIM step, DPM-Solver++(2M) step
(from an eps prediction, as diffusers' step does) and reverse-SDE Euler–Maruyama step, against (a) the same
formula hand-written in NumPy, (b) diffusers' scheduler step on torch CPU tensors (interop extra), and (c) a plain
copy of the same bytes (the memory-bandwidth limit).

Bandwidth = bytes read + bytes written per second (inputs and output of the step); ``copy`` moves the same
number of bytes with ``np.copyto``. Results go to bench/out/kernels.csv.
"""
from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np

import numerics  # noqa: F401  (float64)
from numerics.generated import dpm_solver, sde_steps

from .common import best_time, device_name, write_csv

N = 10_000_000
# scalars of one mid-trajectory step (VP, alphabar_s = 0.5, alphabar_t = 0.6, previous lambda gap h_1)
A_S, A_T = math.sqrt(0.5), math.sqrt(0.6)
S_S, S_T = math.sqrt(0.5), math.sqrt(0.4)
LAM = lambda a, s: math.log(a / s)   # noqa: E731
H = LAM(A_T, S_T) - LAM(A_S, S_S)
H1 = 0.8 * H
F, G2, DT = -0.5, 1.0, 1e-3


def _jax_steps():
    """Jitted steps that donate the state buffer x (a sampler replaces x every step): DESIGN §7, an allocating
    step reaches only ~0.3 of copy bandwidth on CPU."""
    donate = dict(donate_argnums=0)
    ddim = jax.jit(lambda x, e: dpm_solver.ddim_step(x, e, A_S, S_S, A_T, S_T), **donate)
    pp2m = jax.jit(lambda x, e, x0p: dpm_solver.dpm_solver_pp_2m_step(x, (x - S_S * e) / A_S, x0p, A_T, S_S, S_T, H, H1),
                   **donate)
    em = jax.jit(lambda x, sc, z: sde_steps.reverse_sde_em_step(x, sc, z, F, G2, DT), **donate)
    return {"ddim": (ddim, 2), "dpm_solver_pp_2m": (pp2m, 3), "reverse_sde_em": (em, 3)}


def _numpy_steps():
    def ddim(x, e):
        return A_T * (x - S_S * e) / A_S + S_T * e

    def pp2m(x, e, x0p):
        x0 = (x - S_S * e) / A_S
        r = H / H1
        return (S_T / S_S) * x - A_T * math.expm1(-H) * ((1 + r / 2) * x0 - (r / 2) * x0p)

    def em(x, sc, z):
        return x - (F * x - G2 * sc) * DT + math.sqrt(G2 * DT) * z
    return {"ddim": ddim, "dpm_solver_pp_2m": pp2m, "reverse_sde_em": em}


def _diffusers_steps(dtype):
    """diffusers' DDIM and DPM-Solver++(2M) steps on torch tensors (None where the extra is missing)."""
    try:
        import torch
        import diffusers
    except ImportError:
        return {}
    warnings.filterwarnings("ignore")
    tdtype = {np.float32: torch.float32, np.float64: torch.float64}[dtype]
    ddim = diffusers.DDIMScheduler(clip_sample=False)
    ddim.set_timesteps(50)
    t_ddim = ddim.timesteps[25]
    pp = diffusers.DPMSolverMultistepScheduler(solver_order=2, algorithm_type="dpmsolver++")
    pp.set_timesteps(50)

    def pp_step(x, e, x0p):
        pp._step_index = 25
        pp.lower_order_nums = 2
        pp.model_outputs = [x0p, x0p]
        return pp.step(e, pp.timesteps[25], x).prev_sample
    return {"ddim": lambda x, e: ddim.step(e, t_ddim, x).prev_sample, "dpm_solver_pp_2m": pp_step,
            "tdtype": tdtype}


def main() -> list[dict]:
    rows, dev = [], device_name()
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        itemsize = np.dtype(dtype).itemsize
        arrays = [rng.standard_normal(N).astype(dtype) for _ in range(3)]
        dst = np.empty_like(arrays[0])
        t_copy = best_time(lambda: np.copyto(dst, arrays[0]))
        copy_bw = 2 * N * itemsize / t_copy
        jax_arrays = [jnp.asarray(a) for a in arrays]
        theirs = _diffusers_steps(dtype)
        for name, (kernel, n_in) in _jax_steps().items():
            moved = (n_in + 1) * N * itemsize
            state = [jnp.array(jax_arrays[0], copy=True)]

            def run_ours(kernel=kernel, n_in=n_in, state=state):
                state[0] = kernel(state[0], *jax_arrays[1:n_in])    # x is donated and replaced, as in a sampler
                state[0].block_until_ready()
            t_ours = best_time(run_ours)
            t_np = best_time(lambda: _numpy_steps()[name](*arrays[:n_in]), repeat=3)
            row = {"kernel": name, "dtype": np.dtype(dtype).name, "elements": N, "bytes_moved": moved,
                   "ours_s": t_ours, "numpy_s": t_np, "copy_s_same_bytes": moved / copy_bw,
                   "ours_fraction_of_copy_bw": (moved / t_ours) / copy_bw, "speedup_vs_numpy": t_np / t_ours,
                   "device": dev}
            if name in theirs:
                import torch
                tens = [torch.from_numpy(a) for a in arrays[:n_in]]
                t_dif = best_time(lambda: theirs[name](*tens), repeat=3)
                row.update(diffusers_s=t_dif, speedup_vs_diffusers=t_dif / t_ours)
            rows.append(row)
    write_csv("kernels", rows)
    return rows


if __name__ == "__main__":
    for row in main():
        print(row)
