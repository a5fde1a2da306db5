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
time), "discrete.ve" (001 (49)-(51): VE model, eps_theta from the matching VP schedule), "discrete.ddim.net" (001
(29)-(30): q_sigma the DDIM family, p_theta^{(t)} its generative process, f_theta a free network output),
"table52.fm" / "table52.diffusion" (003 Table 5.2 read in the caption's FM convention or with diffusion time),
"kl.003.ch4" (003 (4.4.4)-(4.4.7): posterior p(x_t | x_s, x_0), s > t, free x_phi), "vae.linear" (003 §1.1, §2.1:
linear-Gaussian VAE with free encoder and Gaussian data; joints, aggregate posterior).
"""
from __future__ import annotations

import functools
import re

import sympy as sp

from checks.notation import NOTATIONS as _BASE, T_END, parse_time
from derive.data import normal_pdf
from derive.symbols import dt as DT, eps as EPS, t as T_SYM, x as X_SYM, x0 as X0_SYM

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
    return EPS


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
    "epsilon": lambda M, tau, a, s: EPS,
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


# 001 Theorem 1's proof ((29)-(30)): the DDIM family q_sigma and generative process p_theta^{(t)} with a *free*
# network. f_theta^{(t)}(x_t) is an arbitrary network output (the symbol f_theta: an identity must hold for every
# value), not Tweedie's E[x_0 | x_t]; sigma_t = eta sqrt(tilde beta_t) with eta = 1/2.
F_NET = sp.Symbol("f_theta", real=True)


def _family_density(M, xx, given, x0_value, tau):
    """q_sigma(x_{t-1} | x_t, x0_value) = N(k x0_value + l x_t, sigma_t^2): (k, l) from derive.ddim.family_coefficients
    (solved from marginal preservation, 001 Lemma 1), at the VP scales alpha = sqrt(alphabar), sigma = sqrt(1 - alphabar)."""
    d = dtime(tau)
    syms, (k, l), _ = _ddim_templates()
    scales = (M.alpha(d - DT), M.sigma(d - DT), M.alpha(d), M.sigma(d))
    noise = _sigma_net(M, tau, (), "t")
    sub = dict(zip(syms, scales + (noise,)))
    return normal_pdf(xx, k.subs(sub, simultaneous=True) * x0_value + l.subs(sub, simultaneous=True) * given,
                      noise**2)


@functools.cache
def _ddim_templates():
    """derive.ddim.family_coefficients and sigma_eta (eta = 1/2) once in plain positive symbols (the argument
    checks of derive run once, not on every schedule's long expressions)."""
    from derive import ddim
    syms = sp.symbols("a_s s_s a_t s_t s_n", positive=True)
    return syms, ddim.family_coefficients(*syms), ddim.sigma_eta(ETA_DEFAULT, *syms[:4])


def _sigma_net(M, tau, a, s):
    """sigma_t = eta sqrt(tilde beta_t), eta = 1/2, from derive.ddim.sigma_eta (the same value as "discrete.ddim"'s
    sigma_t, derived without the posterior template)."""
    if a:
        return _sigma(ETA_DEFAULT)(M, tau, a, s)
    d = dtime(tau)
    syms, _, noise = _ddim_templates()
    return noise.subs(dict(zip(syms[:4], (M.alpha(d - DT), M.sigma(d - DT), M.alpha(d), M.sigma(d)))),
                      simultaneous=True)


def _ddim_net_density(M, tau, a, s):
    sub = (s or "").strip("{} ")
    if len(a) == 3 and sub == "\\sigma":                     # q_sigma(x_{t-1} | x_t, x_0 or f_theta(x_t))
        return _family_density(M, a[0], a[1], a[2], M.time_of(a[1]))
    if len(a) == 2 and sub == "\\theta" and M.time_of(a[1]) is not None:   # 001 (10), t > 1: q_sigma(. | x_t, f_theta)
        return _family_density(M, a[0], a[1], F_NET, M.time_of(a[1]))
    return _density(M, tau, a, s)


NOTATIONS["discrete.ddim.net"] = {**NOTATIONS["discrete.ddim"], "q": _ddim_net_density, "p": _ddim_net_density,
                                  "f": lambda M, tau, a, s: F_NET, "sigma": _sigma_net}


# 003 Table 5.2 (interpolants x_t = a_t x_0 + b_t x_1, x_0 ~ prior, x_1 ~ data): a column's path is a schedule of
# the diffusion convention (alpha_tau, sigma_tau; tau = 0 data, tau = 1 prior) on the model; the table's a, b read
# it in one of two conventions:
# * "table52.fm" (the caption's FM convention, t = 0 source/prior, t = 1 target/data): a_t = sigma_{1-t},
#   b_t = alpha_{1-t} (the relabelling a := sigma, b := alpha after reversing the diffusion's time);
# * "table52.diffusion" (relabelling only, diffusion time kept: t = 0 data): a_t = sigma_t, b_t = alpha_t.
def _table_coefficient(which: str, reverse: bool):
    def handler(M, tau, a, s):
        time = 1 - tau if reverse else tau
        expr = M.schedule.sigma_expr if which == "a" else M.schedule.alpha_expr
        return expr.subs(T_SYM, time)
    return handler


# A law N(m, v) (one coordinate, I = 1) is represented by the number m + i v, so that one residual compares both
# moments; p_{prior} is the law at the prior end of the path (diffusion time 1): N(0, sigma_1^2) for data weight
# alpha_1 = 0 (the idealised reference paths of checks.methods_discrete._table_paths).
def _law_number(M, tau, a, s):
    if len(a) != 2:
        raise ValueError("N(mean, variance) takes two arguments here")
    return a[0] + sp.I * a[1]


def _prior_law(M, tau, a, s):
    if (s or "").strip("{} ") != "prior":
        raise ValueError(f"only p_prior has a meaning in Table 5.2, got p_{s}")
    return sp.I * M.schedule.sigma_expr.subs(T_SYM, 1)**2


for _conv, _rev in (("fm", True), ("diffusion", False)):
    NOTATIONS[f"table52.{_conv}"] = {**_BASE["common"], "a": _table_coefficient("a", _rev),
                                     "b": _table_coefficient("b", _rev), "t": lambda M, tau, a, s: T_SYM,
                                     "N": _law_number, "mathcalN": _law_number, "p": _prior_law,
                                     "pi": lambda M, tau, a, s: sp.pi}


# 003 §4.4 ((4.4.4)-(4.4.7), general affine kernels): s > t, x_s the later state; p(x_t | x_s, x_0) the posterior
# derived by derive.ddpm.posterior_general (Bayes' rule); mu(x_s, x_0; s, t) and sigma^2(s, t) its mean and
# variance; x_phi(x_s, s) a free network output (the symbol x_phi); mu_phi(x_s, s, t) and p_phi(x_t | x_s) the
# posterior with x_0 replaced by x_phi ((4.4.6)); rho(u) the signal-to-noise ratio SNR(u) = alpha_u^2/sigma_u^2.
X_PHI = sp.Symbol("x_phi", real=True)


@functools.cache
def _post_template():
    """derive.ddpm.posterior_general once in plain symbols (Bayes' rule and its simplification run once)."""
    from derive import ddpm
    syms = sp.symbols("a_e s_e a_l s_l", positive=True) + sp.symbols("x_l x_z", real=True)
    return syms, ddpm.posterior_general(*syms)


def _post_general(M, later, x0_value, earlier_time=T_SYM):
    """(mean, variance) of the earlier state (default time t) given the later state ``later`` and x0_value
    (derive.ddpm.posterior_general)."""
    t_later = M.time_of(later)
    if t_later is None:
        raise ValueError("the conditioning state of p(x_t | x_s, .) must be a state")
    syms, (mean, var) = _post_template()
    values = (M.alpha(earlier_time), M.sigma(earlier_time), M.alpha(t_later), M.sigma(t_later), later, x0_value)
    sub = dict(zip(syms, values))
    return mean.subs(sub, simultaneous=True), var.subs(sub, simultaneous=True)


def _ch4_density(M, tau, a, s):
    sub = (s or "").strip("{} ")
    if len(a) == 3:
        mean, var = _post_general(M, a[1], a[2])
    elif len(a) == 2 and sub == "\\phi":
        mean, var = _post_general(M, a[1], X_PHI)
    else:
        raise ValueError(f"p with {len(a)} arguments has no meaning in 003 §4.4")
    return normal_pdf(a[0], mean, var)


def _ch4_mu(M, tau, a, s):
    sub = (s or "").strip("{} ")
    if sub == "\\phi":                               # mu_phi(x_s, s, t)
        return _post_general(M, a[0], X_PHI)[0]
    return _post_general(M, a[0], a[1])[0]            # mu(x_s, x_0; s, t)


def _ch4_sigma(M, tau, a, s):
    if a:                                            # sigma^2(s, t) (the engine passes s as the time): posterior variance
        return sp.sqrt(_post_general(M, M.state(tau), X0_SYM)[1])
    return M.sigma(tau)


NOTATIONS["kl.003.ch4"] = {
    **_BASE["common"],
    "p": _ch4_density, "mu": _ch4_mu, "sigma": _ch4_sigma,
    "x": lambda M, tau, a, s: X_PHI if (s or "").strip("{} ") == "\\phi" else M.state(tau),
    "rho": lambda M, tau, a, s: M.alpha(tau)**2 / M.sigma(tau)**2,
}


# 003 §1.1 and §2.1 (KL and MLE, VAE and ELBO identities): a linear-Gaussian latent model, one coordinate; the
# data law p_data(x) = N(m_data, v_data) (free values). Prior p(z) = p_prior(z) = N(0, 1);
# decoder p_phi(x | z) = N(w z + c, s^2) (w, c, s > 0 free values drawn by the point checks); encoder
# q_theta(z | x) = N(a x + b, v_q) free (the identities hold for every encoder of this family); the marginal p_phi(x) and the true
# posterior p_phi(z | x) are derived: derive.gaussian.linear_push (x = w z + c + s eta) and bayes_linear (Bayes);
# the joints (claim field joint_densities, 'p_{phi joint}') q_theta(x, z) = p_data(x) q_theta(z | x) and
# p_phi(x, z) = p(z) p_phi(x | z) (003 §2.1.2, the two joints compared there); q(x, z) (no subscript) the same
# joint; q_theta(z) = q(z) the aggregate posterior, the law of a x + b + sqrt(v_q) eta (derive.gaussian.linear_push).
Z_VAE = sp.Symbol("z", real=True)
X_VAE = sp.Symbol("x_obs", real=True)
W_DEC, C_DEC = sp.Symbol("w_dec", real=True), sp.Symbol("c_dec", real=True)
S_DEC, V_ENC = sp.Symbol("s_dec", positive=True), sp.Symbol("v_enc", positive=True)
A_ENC, B_ENC = sp.Symbol("a_enc", real=True), sp.Symbol("b_enc", real=True)
M_DATA, V_DATA = sp.Symbol("m_data", real=True), sp.Symbol("v_data", positive=True)


def _vae_density(M, tau, a, s, base="p"):
    from derive import gaussian as G
    sub = (s or "").strip("{} ")
    first = a[0] if a else None
    if base == "p" and sub in ("", "prior") and len(a) == 1 and first == Z_VAE:
        return normal_pdf(Z_VAE, 0, 1)                                       # p(z), p_prior(z)
    if sub == "\\phi" and len(a) == 2 and first == X_VAE:                    # decoder p_phi(x | z)
        return normal_pdf(X_VAE, W_DEC * a[1] + C_DEC, S_DEC**2)
    if sub == "\\phi" and len(a) == 1 and first == X_VAE:                    # marginal p_phi(x)
        mean, var = G.linear_push(0, 1, W_DEC, C_DEC, S_DEC**2)
        return normal_pdf(X_VAE, mean, var)
    if sub == "\\phi" and len(a) == 2 and first == Z_VAE:                    # true posterior p_phi(z | x)
        mean, var = G.bayes_linear(0, 1, W_DEC, C_DEC, S_DEC**2, a[1])
        return normal_pdf(Z_VAE, mean, var)
    if sub == "\\theta" and len(a) == 2 and first == Z_VAE:                  # encoder q_theta(z | x)
        return normal_pdf(Z_VAE, A_ENC * a[1] + B_ENC, V_ENC)
    if base == "q" and sub in ("\\theta", "") and len(a) == 1 and first == Z_VAE:   # aggregate q_theta(z), q(z)
        mean, var = G.linear_push(M_DATA, V_DATA, A_ENC, B_ENC, V_ENC)
        return normal_pdf(Z_VAE, mean, var)
    if base == "q" and sub in ("\\theta joint", "") and len(a) == 2 and first == X_VAE:   # q(x, z) = p_data(x) q(z | x)
        return normal_pdf(a[0], M_DATA, V_DATA) * normal_pdf(a[1], A_ENC * a[0] + B_ENC, V_ENC)
    if sub == "\\phi joint" and len(a) == 2:                               # p_phi(x, z) = p(z) p_phi(x | z)
        return normal_pdf(a[1], 0, 1) * normal_pdf(a[0], W_DEC * a[1] + C_DEC, S_DEC**2)
    if sub.replace("\\text", "").strip("{} ") == "data" and len(a) == 1 and first == X_VAE:   # p_data(x)
        return normal_pdf(X_VAE, M_DATA, V_DATA)
    raise ValueError(f"density {sub!r} with arguments {a} has no meaning in the linear-Gaussian VAE")


NOTATIONS["vae.linear"] = {**_BASE["common"], "p": _vae_density,
                           "q": lambda M, tau, a, s: _vae_density(M, tau, a, s, base="q"),
                           "z": lambda M, tau, a, s: Z_VAE, "x": lambda M, tau, a, s: X_VAE}


# 003 §2.2 (Theorem 2.2.1, (2.2.3); step index i read as t, i-1 as t - Delta_t by the kl method's field
# step_index): Gaussian data p_data = N(m, v) of the reference model; p_t(x_t) the marginal; p(x_t | x) the forward
# kernel; p(x_{t-1} | x_t, x) the posterior (derive.ddpm.posterior_general); p(x_{t-1} | x_t) the true reverse
# kernel (Bayes with the marginal prior, derive.gaussian.bayes_linear); p_phi(x_{t-1} | x_t) = N(a_phi x_t + b_phi,
# sigma^2(i)) ((2.2.5): an affine network, sigma^2(i) the posterior variance); bare x is the data x_0.
A_PHI, B_PHI = sp.Symbol("a_phi", real=True), sp.Symbol("b_phi", real=True)


@functools.cache
def _bayes_template():
    from derive import gaussian as G
    syms = sp.symbols("p_m", real=True), sp.Symbol("p_v", positive=True), sp.Symbol("g_n", real=True), \
        sp.Symbol("n_v", positive=True), sp.Symbol("y_o", real=True)
    return syms, G.bayes_linear(syms[0], syms[1], syms[2], 0, syms[3], syms[4])


def _ch2_marginal(M, time):
    m, v = M.data.means[0], M.data.variances[0]
    return M.alpha(time) * m, M.alpha(time)**2 * v + M.sigma(time)**2


def _ch2_density(M, tau, a, s):
    sub = (s or "").replace("\\text", "").strip("{} ")
    times = [M.time_of(x) for x in a]
    if sub == "data" and len(a) == 1:
        return normal_pdf(a[0], M.data.means[0], M.data.variances[0])
    if len(a) == 1 and times[0] is not None:                                  # p_t(x_t): the marginal
        return normal_pdf(a[0], *_ch2_marginal(M, times[0]))
    if sub == "\\phi" and len(a) == 2:                                        # p_phi(x_{t-1} | x_t)
        _, var = _post_general(M, a[1], X0_SYM, times[0])
        return normal_pdf(a[0], A_PHI * a[1] + B_PHI, var)
    if len(a) == 3:                                                           # p(x_{t-1} | x_t, x_0)
        mean, var = _post_general(M, a[1], a[2], times[0])
        return normal_pdf(a[0], mean, var)
    if len(a) == 2 and a[1] == X0_SYM:                                        # p(x_t | x_0)
        return normal_pdf(a[0], M.alpha(times[0]) * X0_SYM, M.sigma(times[0])**2)
    if len(a) == 2:                                                           # p(x_{t-1} | x_t): true reverse kernel
        syms, (mean, var) = _bayes_template()
        prior_mean, prior_var = _ch2_marginal(M, times[0])
        gain = M.alpha(times[1]) / M.alpha(times[0])
        noise = M.sigma(times[1])**2 - gain**2 * M.sigma(times[0])**2
        sub_ = dict(zip(syms, (prior_mean, prior_var, gain, noise, a[1])))
        return normal_pdf(a[0], mean.subs(sub_, simultaneous=True), var.subs(sub_, simultaneous=True))
    raise ValueError(f"p_{sub} with {len(a)} arguments has no meaning in 003 §2.2")


NOTATIONS["kl.003.ch2"] = {
    **_BASE["common"], "p": _ch2_density,
    "x": lambda M, tau, a, s: M.state(dtime(tau)) if (s or "").strip("{} ") else X0_SYM,
    "C": lambda M, tau, a, s: sp.Integer(0),
}
