"""Multi-host Monte Carlo through jax.distributed (numerics/distributed.py): two processes with two CPU devices
each (coordinator on localhost, gloo collectives) give the moments one process with one device gives."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


def _launch(processes: int, devices: int) -> dict:
    port = _free_port()
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(ROOT),
           "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    procs = [subprocess.Popen([sys.executable, "-m", "numerics.distributed", "--coordinator", f"localhost:{port}",
                               "--num-processes", str(processes), "--process-id", str(i), "--samples", "4096",
                               "--steps", "50"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(processes)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-500:] for _, err in outs]
    return json.loads(outs[0][0].strip().splitlines()[-1])


@pytest.mark.slow
def test_two_processes_match_one_device():
    one, two = _launch(1, 1), _launch(2, 2)
    assert (two["processes"], two["devices"]) == (2, 4) and (one["processes"], one["devices"]) == (1, 1)
    assert two["mean"] == pytest.approx(one["mean"], rel=1e-12)
    assert two["var"] == pytest.approx(one["var"], rel=1e-12)
    # and the simulation is right: within 5 standard errors of the exact marginal moments
    se = (one["exact_var"] / one["samples"]) ** 0.5
    assert abs(one["mean"] - one["exact_mean"]) < 5 * se
