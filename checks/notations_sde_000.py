"""Extra notations of document 000 (family sde_000).

"000" (checks/notation.py): lambda_t signal scale, mu_t noise scale, sigma_t the free family diffusion.
"sde_000.g":    §Fokker-Planck/reverse-SDE sections, where sigma_t is the diffusion of the reference SDE
                dx = f dt + sigma_t dw (i.e. g_t) and lambda_t is the free diffusion of the rewritten family
                (eqs. (25)-(27) before the renaming sigma -> g, lambda -> sigma).
"sde_000.flow": flow-matching section: v_t(x) is the probability-flow velocity f x - g^2/2 score,
                phi_t(x) the flow map (the state at time t).
"""
import sympy as sp

from checks.notation import NOTATIONS as _BASE
from derive.symbols import dt as DT

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

# "sde_000.rev": §3 (eqs. (10)-(11)), the generic SDE dx = f dt + sigma_t dw (sigma_t = g_t, as in "sde_000.g").
# C is the remainder of completing the square in D = x_{t+dt} - x_t, defined by its role in (10):
#   (D - f dt)^2 + 2 sigma^2 dt^2 d_t log p + 2 sigma^2 dt score D = (D - f dt + sigma^2 score dt)^2 + C,
# i.e. the bracket of row 2 minus the square as it must be completed (the one the document uses in (13)).
def _remainder(M, tau, a, s):
    from derive.symbols import dt as _DT, t as _T, x as _X
    D = M.state(_T + _DT) - _X
    fdt = M.f(_T) * _X * _DT
    s2 = M.g2(_T)
    score = M.score(_X, _T)
    dlogp = sp.Derivative(sp.log(M.density(_X, _T)), _T)
    bracket = (D - fdt)**2 + 2 * s2 * _DT**2 * dlogp + 2 * s2 * _DT * score * D
    return bracket - (D - fdt + s2 * score * _DT)**2


NOTATIONS["sde_000.rev"] = {**NOTATIONS["sde_000.g"], "C": _remainder}


# "sde_000.disc": §5.3 (eqs. (44)-(50)), the discretised family with DDPM marginals conditioned on x_0:
#   f_t = (sqrt(abar_{t+Dt}/abar_t) - 1)/Dt (45); the score term h = 1/2(g_t^2 - sigma_t^2) grad log p_t(x) is held
#   fixed (a frozen value, not a function of x_t), as the document's coefficient extraction assumes;
#   p(x_{t+Dt} | x_t) = N(x_t + (f_t x_t - h) Dt, sigma_t^2 Dt) (44); p(x_t) = N(sqrt(abar_t) x_0, 1 - abar_t) (42);
#   p(x_t | x_{t+Dt}) = p(x_{t+Dt} | x_t) p(x_t) / p(x_{t+Dt}) (Bayes, (47)). x_{\Delta t+t} is x_{t+Delta t}.
def _disc_time(sub):
    import re as _re
    from derive.symbols import dt as _DT, t as _T
    text = _re.sub(r"\s+", "", sub or "").replace(r"\Deltat", "@dt@")
    if text in ("@dt@+t", "t+@dt@"):
        return _T + _DT
    return None


def _disc_ft(M, tau):
    from derive.symbols import dt as _DT
    return (M.alpha(tau + _DT) / M.alpha(tau) - 1) / _DT      # sqrt(abar_{t+Dt}/abar_t), alpha > 0


def _disc_h(M, tau):
    return (M.g2(tau) - M.varsigma(tau)**2) / 2 * sp.Symbol("frozen_score", real=True)


def _disc_density(M, tau, a, s):
    """Densities of §5.3 up to x-independent normalisers, written as one exponential each."""
    from derive.symbols import dt as _DT
    def marg_exponent(xx, tt):
        return -(xx - M.alpha(tt) * M.state(0))**2 / (2 * M.sigma(tt)**2), M.sigma(tt)**2
    def em_exponent(new, old, tt):
        var = M.varsigma(tt)**2 * _DT
        return -(new - old - (_disc_ft(M, tt) * old - _disc_h(M, tt)) * _DT)**2 / (2 * var), var
    def density(parts):
        # the x-independent normalisers sqrt(2 pi var) are left out: in §5.3 these densities only appear
        # under \propto in x_t (and in Bayes' rule (47), where both sides are built from the same factors)
        return sp.exp(sum(sign * e for sign, (e, v) in parts))
    if len(a) == 2:
        xa, xb = a
        ta, tb = M.time_of(xa), M.time_of(xb)
        if ta is None or tb is None:
            raise ValueError("p(a | b): unknown times")
        if sp.simplify(ta - tb + _DT) == 0:       # p(x_t | x_{t+Dt}): Bayes with the EM kernel
            return density([(1, em_exponent(xb, xa, ta)), (1, marg_exponent(xa, ta)), (-1, marg_exponent(xb, tb))])
        if sp.simplify(ta - tb - _DT) == 0:       # p(x_{t+Dt} | x_t): the EM kernel (44)
            return density([(1, em_exponent(xa, xb, tb))])
        raise ValueError("p(a | b) defined for one step only")
    xx = a[0] if a else M.state(tau)
    tt = M.time_of(xx) if a and M.time_of(xx) is not None else tau
    return density([(1, marg_exponent(xx, tt))])


NOTATIONS["sde_000.disc"] = {
    **_N000,
    "x": lambda M, tau, a, s: M.state(_disc_time(s) if _disc_time(s) is not None else tau),
    "f": lambda M, tau, a, s: _disc_ft(M, tau) * (a[0] if a else 1),
    "score": lambda M, tau, a, s: sp.Symbol("frozen_score", real=True),
    "p": _disc_density,
    "dt": lambda M, tau, a, s: DT * (a[0] if a else 1),    # '\Delta t(...)' is a product

}

# "sde_000.prod": as "000", but a bracket written right after \bar{\alpha}_{t+\Delta t} (eq. (46) row 3,
# '\bar{\alpha}_{t+\Delta t} \left( ... \right)') is a factor, not an argument: alphabar_{tau}(y) = alphabar_tau * y.
NOTATIONS["sde_000.prod"] = {
    **_N000,
    "alphabar": lambda M, tau, a, s: M.alpha(tau)**2 * (a[0] if a else 1),
}

# "sde_000.ddpm": §5.1-5.2 (eqs. (38)-(42)), integer steps (Delta t = 1): alpha_t is the DDPM per-step factor
# alpha_t = alphabar_t / alphabar_{t-1} (alphabar_t = prod_{i<=t} alpha_i), alphabar_t = lambda_t^2 as in "000".
NOTATIONS["sde_000.ddpm"] = {
    **_N000,
    "alpha": lambda M, tau, a, s: M.alpha(tau)**2 / M.alpha(tau - 1)**2,
}

# "sde_000.dirac": §4.1-4.2 (eqs. (18)-(23)) with claim field point = true (bare x is the evaluation point y).
#   sigma_t is the diffusion of SDE (4) (= g_t, as in "sde_000.g"); xi is the expansion point of the Taylor
#   expansion (18), placed a small distance Delta t from the point: xi = x - Delta t, so that an expansion
#   "in powers of (x - xi)" is an expansion in Delta t (kind approx).
NOTATIONS["sde_000.dirac"] = {
    **NOTATIONS["sde_000.g"],
    "xi": lambda M, tau, a, s: sp.Symbol("y", real=True) - DT,
}
