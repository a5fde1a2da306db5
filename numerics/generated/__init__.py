"""Standalone JAX kernels emitted by ``python -m numerics.emit`` (do not edit).

Modules: consistency, ddim, ddpm, deis, distill, dpm_solver, edm, flow_matching, guidance, langevin, parameterization, pf_ode, phi, reverse_sde, schedules, sde_steps.
"""
