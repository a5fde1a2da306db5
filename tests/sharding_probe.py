"""Run by tests/test_sharding.py in a subprocess whose XLA_FLAGS force N host devices (N from argv).

Prints, as JSON, the device count and the reverse-SDE samples drawn with a fixed key, sharded over
every device; the test compares runs with 1 and 8 devices."""
import json
import sys

import jax
import numpy as np

from derive import schedules
from numerics.exact import GaussianMixture
from numerics.kernels import schedule_functions
from numerics.sharded import sample_mesh, shard_samples
from numerics.simulate import reverse_family

fns = schedule_functions(schedules.get("vp-linear"))
mix = GaussianMixture([0.3, 0.7], [-1.0, 1.5], [0.2, 0.4])
mesh = sample_mesh()
out = reverse_family(jax.random.key(int(sys.argv[1])), 64, fns, mix, lambda t: fns.g2(t), 1.0, 0.05, 50, mesh=mesh)
try:
    shard_samples(np.zeros(len(jax.devices()) + 1), mesh)
    bad_count = ""
except ValueError as exc:
    bad_count = str(exc)
print(json.dumps({"bad_count": bad_count, "devices": len(jax.devices()), "shards": len(out.sharding.device_set),
                  "samples": np.asarray(out).tolist()}))
