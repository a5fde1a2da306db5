"""Monte Carlo sharded over devices gives the same samples for the same key whatever the device count.

Each run is a fresh interpreter with ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` (the flag
must be set before JAX starts), running tests/sharding_probe.py."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(devices: int, seed: int) -> dict:
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
           "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(ROOT / "tests" / "sharding_probe.py"), str(seed)], env=env,
                         capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_same_samples_on_one_and_eight_devices():
    one, eight = _run(1, 7), _run(8, 7)
    assert (one["devices"], one["shards"]) == (1, 1)
    assert (eight["devices"], eight["shards"]) == (8, 8)
    assert "multiple of the device count (8)" in eight["bad_count"]
    np.testing.assert_allclose(eight["samples"], one["samples"], rtol=1e-12, atol=0)
    other_key = _run(8, 8)
    assert not np.allclose(other_key["samples"], one["samples"])   # the comparison can fail


def test_shard_samples_rejects_bad_counts():
    from numerics.sharded import sample_mesh, shard_samples
    with pytest.raises(ValueError, match="samples axis"):
        shard_samples(np.zeros(()), sample_mesh())
    with pytest.raises(TypeError, match="mesh"):
        shard_samples(np.zeros(4), mesh="cpu")
