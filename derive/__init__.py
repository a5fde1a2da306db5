"""SymPy re-derivations of diffusion-model formulas (no numpy/jax imports here).

Flow: schedules (alpha_t, sigma_t) -> SDE coefficients -> Fokker-Planck -> reverse family / PF-ODE.
Every public function returns SymPy expressions; nothing here knows about documents or claims.
"""
