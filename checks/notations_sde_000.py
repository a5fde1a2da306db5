"""Extra notations of document 000 (family sde_000).

"000" (checks/notation.py): lambda_t signal scale, mu_t noise scale, sigma_t the free family diffusion.
"sde_000.g":    §Fokker-Planck/reverse-SDE sections, where sigma_t is the diffusion of the reference SDE
                dx = f dt + sigma_t dw (i.e. g_t) and lambda_t is the free diffusion of the rewritten family
                (eqs. (25)-(27) before the renaming sigma -> g, lambda -> sigma).
"sde_000.flow": flow-matching section: v_t(x) is the probability-flow velocity f x - g^2/2 score,
                phi_t(x) the flow map (the state at time t).
"""
from checks.notation import NOTATIONS as _BASE

_N000 = _BASE["000"]


def _velocity(M, tau, a, s):
    xx = a[0] if a else M.state(tau)
    return M.f(tau) * xx - M.g2(tau) * M.score(xx, tau) / 2


NOTATIONS = {
    "sde_000.g": {**_N000,
                  "sigma": lambda M, tau, a, s: M.g(tau),
                  "lambda": lambda M, tau, a, s: M.varsigma(tau)},
    "sde_000.flow": {**_N000,
                     "v": _velocity,
                     "phi": lambda M, tau, a, s: M.state(tau)},
}

# "sde_000.kernel": eqs. (41)-(42), where p(x_t) is the perturbation kernel N(x_t; sqrt(abar_t) x_0, 1 - abar_t)
# conditioned on x_0 (VP schedule), so its score is the kernel's score -(x - alpha_t x_0) / sigma_t^2.
NOTATIONS["sde_000.kernel"] = {
    **_N000,
    "score": lambda M, tau, a, s: -((a[0] if a else M.state(tau)) - M.alpha(tau) * M.state(0)) / M.sigma(tau)**2,
}
