"""JAX numerics for the workbench: kernels compiled from derive/, exact Gaussian-mixture marginals,
Euler–Maruyama / RK4 simulation on ``lax.scan``, and statistical tests with a stated false-alarm rate.

Importing this package enables 64-bit floats in JAX (DESIGN.md §4 and §7: without it float64
silently becomes float32). Kernels still accept float32 inputs and then compute in float32.
"""
from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)
