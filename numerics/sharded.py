r"""Monte Carlo sharded over every local device (and, after ``jax.distributed.initialize``, every host).

Samples are laid out along one mesh axis ``"samples"`` with ``NamedSharding``; the simulators in
numerics/simulate.py are jitted, so a sharded input gives a sharded ``lax.scan`` with no other change.
Noise is drawn with the global shape from one key, and JAX's partitionable threefry
(``jax_threefry_partitionable``, on by default) makes every device draw exactly its slice of the same
numbers: the result for a key is the same whatever the device count (tests/test_sharding.py runs it on
1 and 8 forced host devices).
"""
from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

AXIS = "samples"


def sample_mesh(devices=None) -> Mesh:
    """A one-axis mesh over ``devices`` (default: every device of every process, ``jax.devices()``)."""
    if devices is not None and (isinstance(devices, (str, bytes)) or not hasattr(devices, "__iter__")):
        raise TypeError(f"devices must be None or a sequence of jax devices, got {devices!r}")
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("devices must be a non-empty sequence of jax devices (got an empty sequence)")
    bad = [d for d in devices if not isinstance(d, jax.Device)]
    if bad:
        raise TypeError(f"devices must be a sequence of jax devices (jax.devices()), got {bad!r}")
    return Mesh(np.array(devices), (AXIS,))


def shard_samples(x, mesh: Mesh | None = None) -> jax.Array:
    """Place ``x`` (samples along axis 0) on ``mesh`` split along the samples axis.

    The sample count must be a multiple of the device count (ValueError otherwise, naming both)."""
    mesh = sample_mesh() if mesh is None else mesh
    if not isinstance(mesh, Mesh):
        raise TypeError(f"mesh must be a jax.sharding.Mesh, got {type(mesh).__name__}")
    if x is None or isinstance(x, (str, bytes)):
        raise TypeError(f"x must be an array with a samples axis, got {x!r}")
    x = jax.numpy.asarray(x)
    if x.ndim == 0:
        raise ValueError("x must have a samples axis (ndim >= 1), got a scalar")
    devices = mesh.devices.size
    if x.shape[0] % devices:
        raise ValueError(f"the number of samples ({x.shape[0]}) must be a multiple of the device count ({devices})")
    spec = PartitionSpec(AXIS, *([None] * (x.ndim - 1)))
    return jax.device_put(x, NamedSharding(mesh, spec))
