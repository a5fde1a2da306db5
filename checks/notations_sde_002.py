r"""Notations of family sde_002 (document 002): variants of the "002" notation for discrete-index formulas.

* "sde_002.unit": a difference form written with Delta t = 1 ("x_{t+1} = ..."): an integer time offset
  k is read as k steps of size Delta t (t+1 -> t+Delta t), and the rate gammabar_t (= g_t^2) is multiplied
  by the step it acts over (gammabar_t * 1 -> g_t^2 Delta t). Non-rate quantities (alphabar, betabar) are
  only time-shifted.
* "sde_002.back": a sampler written backwards in the integer index ("x_{t-1} = ... x_t"): the index offset
  k is read as -k steps (t-1 -> t+Delta t). For a deterministic (probability-flow) update this is the same
  first-order consistency statement as the backward step (both the state increment and every coefficient
  difference change sign), and it lets the engine's forward-step check be used. alpha_t (no bar), which
  the document never defines, is read as the DDPM per-step alpha_t = alphabar_t / alphabar_{t-1}.
* "sde_002.cond": the conditional score nabla_{x_t} log p(x_t | x_0) of the Gaussian kernel
  N(sqrt(alphabar_t) x_0, betabar_t I) (the only score in the claim that uses it), pi, and the dimension
  d = 1 of the engine's (isotropic, one-dimensional) reference models.
* "sde_002.kernel": as "sde_002.cond", with a bare epsilon read as the noise of x_t = sqrt(alphabar_t) x_0
  + sqrt(betabar_t) epsilon, i.e. (x_t - sqrt(alphabar_t) x_0) / sqrt(betabar_t).
"""
from __future__ import annotations

import sympy as sp

from checks.notation import NOTATIONS as _BASE, T_SYM, DT, X_SYM, X0_SYM

_N002 = _BASE["002"]


def _remap(sign):
    def remap(tau):
        if T_SYM in getattr(tau, "free_symbols", ()):
            k = sp.simplify(tau - T_SYM)
            if k.is_Integer and k != 0:
                return T_SYM + sign * k * DT
        return tau
    return remap


def _shifted(table, remap):
    return {name: (lambda h: (lambda M, tau, a, s: h(M, remap(tau), a, s)))(h) for name, h in table.items()}


_unit = _remap(1)
_back = _remap(-1)

UNIT = _shifted(_N002, _unit)
UNIT["gammabar"] = lambda M, tau, a, s: M.g2(_unit(tau)) * DT

BACK = _shifted(_N002, _back)
BACK["alpha"] = lambda M, tau, a, s: M.alpha(_back(tau))**2 / M.alpha(_back(tau - 1))**2

COND = dict(_N002)
COND["score"] = lambda M, tau, a, s: -(X_SYM - M.alpha(T_SYM) * X0_SYM) / M.sigma(T_SYM)**2
COND["pi"] = lambda M, tau, a, s: sp.pi
COND["d"] = lambda M, tau, a, s: sp.Integer(1)

NOTATIONS = {
    "sde_002.unit": UNIT,
    "sde_002.back": BACK,
    "sde_002.cond": COND,
}

# "sde_002.kernel": as "sde_002.cond", and a bare epsilon is the noise of the reparameterisation
# x_t = sqrt(alphabar_t) x_0 + sqrt(betabar_t) epsilon (002.vp.reparam.t), i.e. epsilon = (x_t - alpha_t x_0) / sigma_t.
KERNEL = dict(COND)
KERNEL["epsilon"] = lambda M, tau, a, s: (X_SYM - M.alpha(T_SYM) * X0_SYM) / M.sigma(T_SYM)
NOTATIONS["sde_002.kernel"] = KERNEL
