r"""Discrete-time (DDPM / DDIM) notations of documents 000 (§5), 001 and 004's algorithms (family "discrete").

Reference model: a schedule (alpha_t, sigma_t) of checks.notation.Model, read as a VP chain. A discrete step is
an earlier or later time of the same schedule: the subscript t+k (k an integer) is the model time t + k*Delta_t,
an integer n alone is n*Delta_t, 0 is the data time 0 (so alphabar_0 = 1, the DDIM convention alpha_0 := 1).
Then, with ``d(.)`` that time map,

* ``\bar{\alpha}_t`` (and ``\bar{a}_t``) = alpha(d(t))^2, so 1 - alphabar_t = sigma^2 on VP schedules (claims set
  ``schedule = "vp-linear"``) and sqrt(alphabar_t) is the model's alpha_t (DDPM, Ho et al. eq. (4));
* ``\alpha_t`` = alphabar_t / alphabar_{t-1} (DDPM per-step factor) in "discrete.ddpm", but = alphabar_t in
  "discrete.ddim" (the DDIM paper, Song et al. 2021, writes alpha_t for DDPM's alphabar_t);
* ``\beta_t`` = 1 - alphabar_t/alphabar_{t-1};
* ``\tilde{\mu}_t(x_t, x_0)``, ``\mu(x_t, x_0)``, ``\tilde{\beta}_t``: mean and variance of x_{t-1} given
  (x_t, x_0) under the Markov forward chain, obtained by Gaussian conditioning (``posterior`` below) from the
  schedule's derived transition kernels -- never from a document's formula;
* ``\epsilon_\theta(x_s, .)``, ``\epsilon(x_s, .)``, ``\varepsilon_0(x_s)``, ``\Sigma_\theta(x_s, .)``: the ideal
  noise prediction E[eps | x_s] = -sigma * score at the state's own time; ``\hat{x}_{0|s}``, ``f_\theta(x_s)``:
  Tweedie's E[x_0 | x_s] (DDIM eq. (9)); plain ``\epsilon``, ``\epsilon_t``, ``z``, ``\xi``, ``\Sigma``: fresh
  independent N(0, 1) noises (symbols named epsilon*, as checks.verify and checks.methods_discrete expect);
* ``\sigma_t``: the free DDIM variance, sigma_t = eta * sqrt(tilde beta_t) with eta = 1/2 ("discrete.ddim",
  "discrete.ddpm"), eta = 0 ("...eta0") or eta = 1 ("...eta1", the DDPM posterior variance).

Further notations defined below: "discrete.ddpm.fwdnoise" (eps_t the noise of forward step t),
"discrete.ddim.sk" (DDIM skipping step x_k -> x_s), "discrete.000" / ".noise" / ".post" (000 §5),
"discrete.fm" (000 §6.2 conditional paths), "discrete.004.ode" / ".sde" (004's Algorithms 1-2 in the lecture's
time), "discrete.ve" (001 (49)-(51): VE model, eps_theta from the matching VP schedule).
"""
from __future__ import annotations

import functools
import re

import sympy as sp

from checks.notation import NOTATIONS as _BASE, T_END, parse_time
from derive.data import normal_pdf
from derive.symbols import dt as DT, t as T_SYM, x as X_SYM

ETA_DEFAULT = sp.Rational(1, 2)


def dtime(tau):
    """Model time of a discrete time index (t+k -> t + k*Delta_t, n -> n*Delta_t, 0 -> 0, T -> T)."""
    tau = sp.sympify(tau, strict=True)
    if tau == 0 or tau.has(DT):
        return tau
    if tau.has(T_SYM):
        return T_SYM + (tau - T_SYM) * DT
    if tau.is_Integer:
        return tau * DT
    return tau            # T, s, u: already times


def _sub_time(sub: str):
    """Time of a subscript such as 't-1', '0|t', '0|k', 'k' (k: the current step t)."""
    text = re.sub(r"\s+", "", sub or "")
    if "|" in text:
        text = text.split("|", 1)[1]
    text = text.strip("{}")
    if text in ("k", "K"):
        return T_SYM
    time = parse_time(text)
    return T_SYM if time is None else time


def _state(M, tau, a, s):
    return M.state(dtime(tau))


def alphabar(M, tau):
    return M.alpha(dtime(tau))**2


def _step_alpha(M, tau):
    """DDPM per-step factor alpha_t = alphabar_t / alphabar_{t-1}."""
    d = dtime(tau)
    return M.alpha(d)**2 / M.alpha(d - DT)**2


def posterior(M, x_t, tau):
    """Mean (as a function of x_t and x_0) and variance of x_{t-1} | x_t, x_0 under the Markov forward chain.

    Gaussian conditioning (Bishop 2.115-2.116 in reverse): x_{t-1} | x_0 ~ N(a1 x_0, s1^2) and the derived
    transition x_t | x_{t-1} ~ N(c x_{t-1}, w); then the conditional of x_{t-1} given x_t is obtained by
    completing the square: precision 1/s1^2 + c^2/w, mean (a1 x_0/s1^2 + c x_t/w) / precision.
    """
    return posterior_at(M, x_t, dtime(tau))


def posterior_at(M, x_t, d):
    """``posterior`` with the model time d of x_t (the earlier state is at d - Delta_t)."""
    tau, coef_x0, coef_xt, var = _posterior_template(M.schedule)
    return (coef_x0 * M.state(0) + coef_xt * x_t).subs(tau, d), var.subs(tau, d)


@functools.lru_cache(maxsize=64)
def _posterior_template(schedule):
    """Gaussian conditioning of ``posterior`` once per schedule, at a symbolic time (the transition kernel's
    derivation certifies its antiderivative each time it is called, which is slow)."""
    tau = sp.Symbol("tau_posterior", positive=True)
    a1, s1sq = schedule.alpha(tau - DT), schedule.sigma(tau - DT)**2
    c, w = schedule.transition(tau - DT, tau)
    precision = 1 / s1sq + c**2 / w
    return tau, a1 / s1sq / precision, c / w / precision, 1 / precision


def _mu(M, tau, a, s):
    if len(a) == 2:                       # mu(x_t, x_0): posterior mean of the Markov chain
        mean, _ = posterior_at(M, a[0], M.time_of(a[0]))
        return mean.subs(M.state(0), a[1])
    return M.alpha(dtime(tau)) * M.state(0)   # mu_{t-1}: mean of q(x_{t-1} | x_0)


def _betatilde(M, tau, a, s):
    return posterior(M, X_SYM, tau)[1]


def _sigma(eta):
    def handler(M, tau, a, s):
        if a:                                   # sigma(t): a function of the time argument (VE section)
            return M.sigma(a[0] if not M.time_of(a[0]) else M.time_of(a[0]))
        return eta * sp.sqrt(posterior(M, X_SYM, tau)[1]) if eta != 0 else sp.Integer(0)
    return handler


def _eps(M, tau, a, s):
    sub = (s or "").replace(" ", "")
    if a:
        own = M.time_of(a[0])
        return M.eps_pred(a[0], own if own is not None else dtime(tau))
    if sub in ("0", "{0}"):                    # eps_0 with no argument: the prediction at the current x_t
        return M.eps_pred(X_SYM, T_SYM)
    if sub:
        return sp.Symbol("epsilon_" + re.sub(r"[^A-Za-z0-9]", "", sub), real=True)
    return sp.Symbol("epsilon", real=True)


def _noise_or_pred(name):
    def handler(M, tau, a, s):
        if a:
            own = M.time_of(a[0])
            return M.eps_pred(a[0], own if own is not None else dtime(tau))
        if name == "Sigma" and s and s.strip("{} ") not in ("", "\\theta"):
            return M.sigma(dtime(tau))**2       # Sigma_{t-1}: covariance of q(x_{t-1} | x_0)
        return sp.Symbol(f"epsilon_{name}", real=True)
    return handler


def _xhat(M, tau, a, s):
    time = dtime(_sub_time(s)) if "|" in (s or "") else T_SYM    # \hat{x}_0: the prediction at the current x_t
    return M.x0_pred(M.state(time), time)


def _denoiser(M, tau, a, s):
    """f_theta(x_s): the DDIM 'denoised observation', Tweedie's E[x_0 | x_s]."""
    xx = a[0] if a else M.state(dtime(tau))
    own = M.time_of(xx)
    return M.x0_pred(xx, own if own is not None else dtime(tau))


def _density(M, tau, a, s):
    """q(a | b) as in checks.notation; q(x_{t-1} | x_t, x_0) the Markov-chain posterior (``posterior_at``)."""
    if len(a) == 3:
        mean, var = posterior_at(M, a[1], M.time_of(a[1]))
        return normal_pdf(a[0], mean.subs(M.state(0), a[2]), var)
    return _BASE["common"]["q"](M, tau, a, s)


def _make(alpha_handler, eta):
    return {
        **_BASE["common"],
        "x": _state, "X": _state,
        "alphabar": lambda M, tau, a, s: alphabar(M, tau),
        "abar": lambda M, tau, a, s: alphabar(M, tau),
        "alpha": alpha_handler,
        "beta": lambda M, tau, a, s: 1 - alphabar(M, tau) / alphabar(M, tau - 1),
        "betatilde": _betatilde,
        "mu": _mu,
        "mutilde": lambda M, tau, a, s: _mu(M, tau, a, s),
        "sigma": _sigma(eta), "sigmabar": _sigma(eta),
        "epsilon": _eps,
        "z": lambda M, tau, a, s: sp.Symbol("epsilon_z", real=True),
        "xi": lambda M, tau, a, s: sp.Symbol("epsilon_xi", real=True),
        "Sigma": _noise_or_pred("Sigma"),
        "xhat": _xhat,
        "f": _denoiser,
        "T": lambda M, tau, a, s: T_END,
        "q": _density, "p": _density,
        "C": lambda M, tau, a, s: sp.Integer(0),
        "d": lambda M, tau, a, s: sp.Integer(1),
    }


_DDPM_ALPHA = lambda M, tau, a, s: _step_alpha(M, tau)       # noqa: E731
_DDIM_ALPHA = lambda M, tau, a, s: alphabar(M, tau)          # noqa: E731

NOTATIONS = {
    "discrete.ddpm": _make(_DDPM_ALPHA, ETA_DEFAULT),
    "discrete.ddpm.eta1": _make(_DDPM_ALPHA, sp.Integer(1)),
    "discrete.ddim": _make(_DDIM_ALPHA, ETA_DEFAULT),
    "discrete.ddim.eta0": _make(_DDIM_ALPHA, sp.Integer(0)),
    "discrete.ddim.eta1": _make(_DDIM_ALPHA, sp.Integer(1)),
}

def _forward_noise(M, tau, a, s):
    """eps_t with a step subscript: the noise of forward step t, x_t = c x_{t-1} + sqrt(w) eps_t (derived kernel)."""
    if a or not s or s.strip("{} ") in ("0", "\\theta"):
        return _eps(M, tau, a, s)
    d = dtime(tau)
    c, w = M.schedule.transition(d - DT, d)
    return (M.state(d) - c * M.state(d - DT)) / sp.sqrt(w)


NOTATIONS["discrete.ddpm.fwdnoise"] = {**NOTATIONS["discrete.ddpm"], "epsilon": _forward_noise}


def _sk(notation: dict) -> dict:
    """The DDIM skipping step x_k -> x_s (s < k) written with subscripts s, k: s is the next step t-1, k is t."""
    s_sym = parse_time("s")

    def wrap(handler):
        return lambda M, tau, a, sub: handler(M, T_SYM - 1 if tau == s_sym else tau, a, sub)
    return {name: wrap(h) for name, h in notation.items()}


NOTATIONS["discrete.ddim.sk"] = _sk(NOTATIONS["discrete.ddim"])

# 000 §5 (eqs. (40)-(60)): lambda_t = sqrt(alphabar_t), mu_t = sqrt(1 - alphabar_t) (VP, (33)); alpha_t is the
# DDPM per-step factor; epsilon(x_t, t) is the noise prediction at x_t ((43), (58)-(60)).
NOTATIONS["discrete.000"] = {
    **NOTATIONS["discrete.ddpm"],
    "lambda": lambda M, tau, a, s: M.alpha(dtime(tau)),
    "mu": lambda M, tau, a, s: M.sigma(dtime(tau)),
}
# 000 (53): epsilon(x_{t+1}, t) is "the noise from step 0 to t", a standard normal draw (not a prediction).
NOTATIONS["discrete.000.noise"] = {
    **NOTATIONS["discrete.000"],
    "epsilon": lambda M, tau, a, s: sp.Symbol("epsilon", real=True),
}


def _posterior_density(M, tau, a, s):
    """p(x_t | x_{t+1}) of 000 §5.3: the DDPM posterior given x_0 (the document conditions on x_0 throughout)."""
    if len(a) == 2 and M.time_of(a[0]) is not None and M.time_of(a[1]) is not None:
        mean, var = posterior_at(M, a[1], M.time_of(a[1]))
        return normal_pdf(a[0], mean, var)
    return _density(M, tau, a, s)


NOTATIONS["discrete.000.post"] = {**NOTATIONS["discrete.000"], "p": _posterior_density, "q": _posterior_density}

# 000 §6.2 (eqs. (73)-(75)): a conditional Gaussian path with mean mu_t(x_1) and std sigma_t(x_1) at one time;
# p_0 = N(0, 1). mu_t(x_1), sigma_t(x_1) are read as free values (the symbols m and v > 0 of the reference
# vocabulary, drawn at random by the point checks): the identities must hold for every value.
NOTATIONS["discrete.fm"] = {
    **_BASE["common"],
    "x": lambda M, tau, a, s: X_SYM if not s else sp.Symbol(f"x_{s.strip('{} ')}", real=True),
    "mu": lambda M, tau, a, s: sp.Symbol("m", real=True),
    "sigma": lambda M, tau, a, s: sp.Symbol("v", positive=True),
    "p": lambda M, tau, a, s: (normal_pdf(a[0], 0, 1) if tau == 0 else
                               normal_pdf(a[0], sp.Symbol("m", real=True), sp.Symbol("v", positive=True)**2)),
}

# 004 (Algorithms 1-2): the lecture's time s in [0, 1] runs from p_init (s = 0) to p_data (s = 1); in the
# reference model it is the time T1 - (T1 - T0) s (noise end T1, data end T0). X_s is the state there, h the step
# (Delta_t), u_s the velocity in s: the probability-flow field (ODE) or the reverse-SDE drift (SDE), times
# -(T1 - T0); sigma_s = sqrt(T1 - T0) g (the diffusion of the reverse SDE in the time s).
T1_004, T0_004 = sp.Rational(9, 10), sp.Rational(1, 10)


def _s_time(tau):
    return T1_004 - (T1_004 - T0_004) * sp.sympify(tau, strict=True)


def _u004(kind):
    def handler(M, tau, a, s):
        time = _s_time(tau)
        xx = a[0] if a else M.state(time)
        weight = sp.Rational(1, 2) if kind == "ode" else 1
        return -(T1_004 - T0_004) * (M.f(time) * xx - weight * M.g2(time) * M.score(xx, time))
    return handler


_N004 = {
    **_BASE["common"],
    "X": lambda M, tau, a, s: M.state(_s_time(tau)),
    "h": lambda M, tau, a, s: DT,
    "sigma": lambda M, tau, a, s: sp.sqrt(T1_004 - T0_004) * M.g(_s_time(tau)),
}
NOTATIONS["discrete.004.ode"] = {**_N004, "u": _u004("ode")}
NOTATIONS["discrete.004.sde"] = {**_N004, "u": _u004("sde")}

# 001 (49)-(51) (DDIM appendix, "ODE form for VE-SDE"): the model is a VE schedule (x here is \bar{x}, the VE
# state); eps_theta(y) is the ideal noise prediction of the *VP* process with the same data and
# alphabar = 1/(1 + sigma_VE^2) (x_VP = \bar{x} / sqrt(1 + sigma^2)), derived from that VP schedule's own score.
def _vp_of(M):
    from derive.schedules import Schedule
    sve = M.schedule.sigma_expr
    return Schedule("vp-of-" + M.schedule.name, 1 / sp.sqrt(1 + sve**2), sve / sp.sqrt(1 + sve**2),
                    M.schedule.t_min, M.schedule.t_max)


def _vp_eps(M, tau, a, s):
    vp = _vp_of(M)
    xx = a[0] if a else X_SYM
    return -vp.sigma(T_SYM) * M.data.score(vp, xx, T_SYM)


NOTATIONS["discrete.ve"] = {**_BASE["common"], "epsilon": _vp_eps}
