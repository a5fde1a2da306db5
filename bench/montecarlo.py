r"""Monte Carlo throughput: samples x steps per second of our ``lax.scan`` Euler–Maruyama against a NumPy
loop and diffrax's SDE solver on the same problem and the same step count, and the scaling of the cost in
samples and in steps (three sizes each), and compiled memory against steps.

Problem: the forward VP-linear SDE dx = f(t) x dt + g(t) dw from t = 0 to 1 (f, g from derive.schedules),
x_0 ~ N(0, 1), Euler–Maruyama with n_steps uniform steps. Writes bench/out/montecarlo.csv.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

import numerics  # noqa: F401  (float64)
from derive import schedules
from numerics.kernels import schedule_functions
from numerics.simulate import forward_sde

from .common import best_time, device_name, write_csv

SCHEDULE = schedules.get("vp-linear")
FNS = schedule_functions(SCHEDULE)
BETA0, BETA1 = (float(SCHEDULE.numeric_params()[k]) for k in ("beta_min", "beta_max"))


def ours(n: int, steps: int, seed: int = 0):
    x0 = jax.random.normal(jax.random.key(seed), (n,))
    return lambda: forward_sde(jax.random.key(seed + 1), x0, FNS, 0.0, 1.0, steps).block_until_ready()


def numpy_loop(n: int, steps: int, seed: int = 0):
    """The same scheme in NumPy: f(t) = -beta(t)/2, g^2(t) = beta(t), beta linear."""
    def run():
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(n)
        dt = 1.0 / steps
        for i in range(steps):
            beta = BETA0 + (BETA1 - BETA0) * (i * dt)
            x = x - 0.5 * beta * x * dt + math.sqrt(beta * dt) * rng.standard_normal(n)
        return x
    return run


def diffrax_solver(n: int, steps: int, seed: int = 0):
    import diffrax
    import lineax
    x0 = jax.random.normal(jax.random.key(seed), (n,))
    bm = diffrax.VirtualBrownianTree(0.0, 1.0, tol=0.5 / steps, shape=(n,), key=jax.random.key(seed + 1))
    terms = diffrax.MultiTerm(diffrax.ODETerm(lambda t, y, args: FNS.f(t) * y),
                              diffrax.ControlTerm(
        lambda t, y, args: lineax.DiagonalLinearOperator(jnp.sqrt(FNS.g2(t)) * jnp.ones_like(y)), bm))
    solve = jax.jit(lambda y: diffrax.diffeqsolve(terms, diffrax.Euler(), 0.0, 1.0, dt0=1.0 / steps, y0=y,
                                                  saveat=diffrax.SaveAt(t1=True), max_steps=steps + 1).ys)
    return lambda: solve(x0).block_until_ready()


def scan_memory_bytes(n: int, steps: int) -> int:
    """Temporary + output bytes XLA allocates for the compiled scan (compiled.memory_analysis())."""
    x0 = jnp.zeros((n,))
    from numerics.simulate import _scan
    dt = 1.0 / steps

    def run(x, key):
        keys = jax.random.split(key, steps)
        return _scan(lambda y, t, k: y + FNS.f(t) * y * dt + jnp.sqrt(FNS.g2(t) * dt) * jax.random.normal(k, y.shape),
                     x, keys, 0.0, dt, steps, False)
    stats = jax.jit(run).lower(x0, jax.random.key(0)).compile().memory_analysis()
    return int(stats.temp_size_in_bytes + stats.output_size_in_bytes)


def main() -> list[dict]:
    rows = []
    dev = device_name()
    n, steps = 100_000, 200
    t_ours = best_time(ours(n, steps))
    t_np = best_time(numpy_loop(n, steps), repeat=3)
    t_dfx = best_time(diffrax_solver(n, steps), repeat=3)
    for name, sec in (("lax.scan (ours)", t_ours), ("numpy loop", t_np), ("diffrax Euler + VirtualBrownianTree", t_dfx)):
        rows.append({"bench": "throughput", "engine": name, "samples": n, "steps": steps, "seconds": sec,
                     "sample_steps_per_s": n * steps / sec, "ratio_ours_speedup": sec / t_ours, "device": dev})
    for n_s in (25_000, 50_000, 100_000):
        sec = best_time(ours(n_s, steps))
        rows.append({"bench": "scaling-samples", "engine": "lax.scan (ours)", "samples": n_s, "steps": steps,
                     "seconds": sec, "sample_steps_per_s": n_s * steps / sec, "device": dev})
    for st in (100, 200, 400):
        sec = best_time(ours(n, st))
        rows.append({"bench": "scaling-steps", "engine": "lax.scan (ours)", "samples": n, "steps": st,
                     "seconds": sec, "sample_steps_per_s": n * st / sec, "device": dev})
    for st in (100, 1000, 10000):
        rows.append({"bench": "memory-vs-steps", "engine": "lax.scan (ours)", "samples": n, "steps": st,
                     "compiled_bytes": scan_memory_bytes(n, st), "state_bytes": n * 8, "device": dev})
    write_csv("montecarlo", rows)
    return rows


if __name__ == "__main__":
    for row in main():
        print(row)
