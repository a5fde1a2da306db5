"""JIT compilations are counted (jax.monitoring's backend-compile events) and kept to one per kernel and shape:
calling a simulator or a lambdified kernel again on the same shapes compiles nothing."""
import contextlib

import jax
import jax.monitoring
import jax.numpy as jnp
import sympy as sp

from derive import schedules
from derive.symbols import t, x
from numerics.kernels import lambdify_jax, schedule_functions
from numerics.simulate import forward_sde

_EVENTS: list[str] = []
jax.monitoring.register_event_duration_secs_listener(lambda name, *a, **kw: _EVENTS.append(name))


@contextlib.contextmanager
def compiles():
    """Yield a list that, on exit, holds the number of XLA backend compilations in the block."""
    start = len(_EVENTS)
    out: list[int] = []
    yield out
    out.append(sum(1 for e in _EVENTS[start:] if e == "/jax/core/compile/backend_compile_duration"))


def test_forward_sde_compiles_once_per_shape():
    fns = schedule_functions(schedules.get("vp-linear"))
    x0, key = jnp.zeros(128), jax.random.key(0)
    forward_sde(key, x0, fns, 0.0, 1.0, 20).block_until_ready()          # warm: compiles the scan
    inputs = [(jax.random.key(seed), x0 + seed) for seed in range(3)]   # (the additions compile too: outside)
    with compiles() as n:
        for k, xs in inputs:
            forward_sde(k, xs, fns, 0.0, 1.0, 20).block_until_ready()
    assert n == [0]
    with compiles() as n:
        forward_sde(key, jnp.zeros(64), fns, 0.0, 1.0, 20).block_until_ready()   # a new shape compiles again
    assert n[0] >= 1


def test_lambdified_kernel_compiles_once_per_shape():
    kernel = lambdify_jax(sp.exp(-t) * x + sp.sin(t), (x, t))
    a, b = jnp.linspace(0, 1, 16), jnp.full(16, 0.5)
    kernel(a, b).block_until_ready()
    inputs = [a + k for k in range(4)]
    with compiles() as n:
        for ak in inputs:
            kernel(ak, b).block_until_ready()
    assert n == [0]
