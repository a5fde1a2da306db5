r"""Multi-host Monte Carlo: ``python -m numerics.distributed`` on every host (one process each).

    python -m numerics.distributed --coordinator HOST0:1234 --num-processes N --process-id I

``jax.distributed.initialize`` joins the processes; ``numerics.sharded.sample_mesh()`` then spans the devices of
every process, and the reverse-SDE simulation (numerics.simulate.reverse_family, exact mixture score, VP-linear
schedule) runs SPMD with the samples split across all of them. Every process draws the same global initial
samples from the same key (partitionable threefry: each device computes only its own slice of the same numbers),
so the result is the one a single device would give. The moments are reduced on the devices and printed by
process 0 as one JSON line. On CPU-only hosts the collectives use gloo.
"""
from __future__ import annotations

import argparse
import json
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m numerics.distributed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--coordinator", required=True, help="HOST:PORT of process 0")
    parser.add_argument("--num-processes", type=int, required=True)
    parser.add_argument("--process-id", type=int, required=True)
    parser.add_argument("--samples", type=int, default=65536, help="global sample count (a multiple of the device count)")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.num_processes < 1 or not 0 <= args.process_id < args.num_processes:
        parser.error(f"--process-id must be in [0, {args.num_processes - 1}] and --num-processes >= 1")

    import jax
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(args.coordinator, args.num_processes, args.process_id)

    import jax.numpy as jnp
    from derive import schedules
    from numerics.exact import GaussianMixture, marginal_mean_var
    from numerics.kernels import schedule_functions
    from numerics.sharded import sample_mesh
    from numerics.simulate import reverse_family

    fns = schedule_functions(schedules.get("vp-linear"))
    mix = GaussianMixture([0.3, 0.7], [-1.0, 1.5], [0.2, 0.4])
    mesh = sample_mesh()
    out = reverse_family(jax.random.key(args.seed), args.samples, fns, mix, fns.g2, 1.0, 1e-3, args.steps, mesh=mesh)
    mean, second = jax.jit(lambda y: (jnp.mean(y), jnp.mean(y ** 2)))(out)
    exact_mean, exact_var = marginal_mean_var(1e-3, fns, mix)
    if jax.process_index() == 0:
        print(json.dumps({"processes": jax.process_count(), "devices": jax.device_count(), "samples": args.samples,
                          "mean": float(mean), "var": float(second - mean ** 2),
                          "exact_mean": float(exact_mean), "exact_var": float(exact_var)}))
    jax.distributed.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
