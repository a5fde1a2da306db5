r"""Notations of the book 003, chapters 2 (DDPM), 3 (score matching, Langevin, NCSN) and 6 (parameterisations).

The plugin methods of checks/methods_ddpm_003.py rename discrete indices before interpretation: step i is the
time t, i-1 is t - Δt, i+1 is t + Δt (a finite step, Δt drawn in [0.001, 0.02]); a Langevin iteration n is t
and n+1 is t + Δt. Conditional expectations are computed *independently* of the score: for mixture data
x_0 ~ sum_k w_k N(m_k, v_k) and x_t = alpha_t x_0 + sigma_t eps, Bayes' rule per component gives
E[x_0 | x_t] (``posterior_x0``) and E[eps | x_t] (``posterior_eps``); the score comes from the density.

* "ddpm_003"       (ch. 2, discrete DDPM, eqs. (2.2.1)-(2.2.14)): alphabar_i = alpha(t_i) (the book's
                   alphabar is the *signal scale*, x_i = alphabar_i x_0 + sqrt(1 - alphabar_i^2) eps), the step
                   alpha_i = alphabar_i / alphabar_{i-1}, beta_i = the step's noise std (transition kernel of the
                   schedule from t_{i-1} to t_i); the bare x is the clean sample x_0; mu(x_i, x_0, i) and
                   sigma^2(i) the posterior q(x_{i-1} | x_i, x_0) derived by Bayes (derive.gaussian);
                   mu_phi(x_i, i) that posterior mean with x_0 replaced by E[x_0 | x_i]; sigma_i = sigma(t_i).
* "ddpm_003.ho"    Table 3.1's DDPM column (Ho et al.): beta_i is the variance of the step x_i -> x_{i+1}.
* "ddpm_003.free"  ch. 2 loss weights and ELBO terms: eps_phi(x_i, i) is a free network output, x_phi and
                   mu_phi its (2.2.12)/(2.2.4) parameterisations, p_phi(x_{i-1} | x_i) = N(mu_phi, sigma^2(i)).
* "ddpm_003.cond"  as "ddpm_003.cont", but v(x_t, t) is the conditional velocity d/dt(alpha_t x_0 + sigma_t eps).
* "ddpm_003.cont"  (ch. 3 and 6, continuous alpha_t, sigma_t): starred / phi-subscripted predictions with
                   arguments are the ideal predictors E[eps | x], E[x_0 | x], the score, and the oracle
                   velocity E[alpha'_t x_0 + sigma'_t eps | x]; without arguments, phi-predictions are the heads
                   of one free network output S (the score head s_phi = S, and eps_phi, x_phi, v_phi obtained
                   from S by the head conversions of (6.3.1)). The bare x (and x in E[x | x~]) is the clean
                   sample x_0; x~ (written y after renaming) is the noisy state at t.
                   alphadot, sigmadot: d alpha_t/dt, d sigma_t/dt; c(t) = alpha_t + sigma_t,
                   tau(t) = sigma_t / (alpha_t + sigma_t) (Prop. 6.3.3), R_t = sqrt(alpha_t^2 + sigma_t^2).
* "ddpm_003.langevin" (Langevin updates (3.1.4)-(3.3.5)): every x is a state; E_phi (renamed psi_E) is the
                   energy -log p_t, p_phi(x) = p_t(x), s(x) the score at the fixed time t.
"""
from __future__ import annotations

import functools

import sympy as sp

from checks.notation import COMMON, X_SYM
from derive import gaussian as G
from derive.data import normal_pdf
from derive.symbols import dt as DT, eps as EPS, t as T_SYM, x0 as X0_SYM

#: free network output (the score head of an arbitrary, not necessarily optimal, model)
S_FREE = sp.Symbol("S_phi", real=True)


def _is_state(M, a) -> bool:
    return M.time_of(a) is not None


def posterior_x0(M, xx, tau):
    """E[x_0 | x_tau = xx] by Bayes' rule per mixture component (independent of the score)."""
    a, s2 = M.alpha(tau), M.sigma(tau)**2
    num, den = sp.Integer(0), sp.Integer(0)
    for w, mk, vk in zip(M.data.weights, M.data.means, M.data.variances):
        var = a**2 * vk + s2
        resp = w * sp.exp(-(xx - a * mk)**2 / (2 * var)) / sp.sqrt(var)
        num += resp * (mk + a * vk / var * (xx - a * mk))
        den += resp
    return num / den


def posterior_eps(M, xx, tau):
    """E[eps | x_tau = xx] by Bayes' rule per component: sigma_t / (alpha_t^2 v_k + sigma_t^2) (x - alpha_t m_k)."""
    a, s2 = M.alpha(tau), M.sigma(tau)**2
    num, den = sp.Integer(0), sp.Integer(0)
    for w, mk, vk in zip(M.data.weights, M.data.means, M.data.variances):
        var = a**2 * vk + s2
        resp = w * sp.exp(-(xx - a * mk)**2 / (2 * var)) / sp.sqrt(var)
        num += resp * M.sigma(tau) / var * (xx - a * mk)
        den += resp
    return num / den


def posterior_var_x0(M, xx, tau):
    """Var[x_0 | x_tau = xx] for mixture data (Bayes per component, then the law of total variance)."""
    a, s2 = M.alpha(tau), M.sigma(tau)**2
    den, first, second = sp.Integer(0), sp.Integer(0), sp.Integer(0)
    for w, mk, vk in zip(M.data.weights, M.data.means, M.data.variances):
        var = a**2 * vk + s2
        resp = w * sp.exp(-(xx - a * mk)**2 / (2 * var)) / sp.sqrt(var)
        mean_k, var_k = mk + a * vk / var * (xx - a * mk), vk * s2 / var
        den += resp
        first += resp * mean_k
        second += resp * (var_k + mean_k**2)
    return second / den - (first / den)**2


def dalpha(M, tau):
    return sp.diff(M.alpha(T_SYM), T_SYM).subs(T_SYM, tau)


def dsigma(M, tau):
    return sp.diff(M.sigma(T_SYM), T_SYM).subs(T_SYM, tau)


def oracle_velocity(M, xx, tau):
    """E[alpha'_t x_0 + sigma'_t eps | x_t = xx] (Eq. (6.2.4)), from the two posterior means."""
    return dalpha(M, tau) * posterior_x0(M, xx, tau) + dsigma(M, tau) * posterior_eps(M, xx, tau)


_TRANSITIONS: dict = {}


def transition(M, s_time, t_time):
    """The schedule's transition kernel x_t | x_s (derive.schedules), memoised per schedule object and times."""
    key = (id(M.schedule), sp.srepr(s_time), sp.srepr(t_time))
    if key not in _TRANSITIONS:
        _TRANSITIONS[key] = (M.schedule, M.schedule.transition(s_time, t_time))
    return _TRANSITIONS[key][1]


_A_S, _V_S, _GAIN, _STEP_VAR, _OBS, _CLEAN = sp.symbols("a_s v_s c_step v_step x_obs x_clean", real=True)


@functools.cache
def _posterior_template():
    """Bayes' rule for x_s ~ N(a_s x_0, v_s), x_t | x_s ~ N(c x_s, v_step), derived once (derive.gaussian)."""
    return G.bayes_linear(_A_S * _CLEAN, _V_S, _GAIN, 0, _STEP_VAR, _OBS)


def ddpm_posterior(M, x_prev_time, x_cur, x_cur_time, clean):
    """(mean, variance) of x_{i-1} | x_i, x_0 (Lemma 2.2.2) by Bayes: x_{i-1} | x_0 ~ N(alpha_s x_0, sigma_s^2)
    times the forward step x_i | x_{i-1} (transition kernel of the schedule), square completed (derive.gaussian)."""
    gain, step_var = transition(M, x_prev_time, x_cur_time)
    values = {_A_S: M.alpha(x_prev_time), _V_S: M.sigma(x_prev_time)**2, _GAIN: gain, _STEP_VAR: step_var,
              _OBS: x_cur, _CLEAN: clean}
    mean, var = _posterior_template()
    return mean.subs(values), var.subs(values)


def _is_pred(sub: str) -> bool:
    return "*" in sub or "phi" in sub or "theta" in sub


# --- discrete DDPM (chapter 2) ---------------------------------------------------------------------

def _d_x(M, tau, args, sub):
    if _is_pred(sub):
        return posterior_x0(M, args[0] if args else X_SYM, M.time_of(args[0]) if args else tau)
    if not sub and not args:
        return X0_SYM                      # the clean sample written x (Lemma 2.2.2)
    return M.state(tau)


def _d_alpha(M, tau, args, sub):
    return M.alpha(tau) / M.alpha(tau - DT)


def _d_beta(M, tau, args, sub):
    return sp.sqrt(transition(M, tau - DT, tau)[1])


def _d_sigma(M, tau, args, sub):
    if sub:                                # sigma_i: the noise level of x_i | x_0
        return M.sigma(tau)
    return sp.sqrt(ddpm_posterior(M, tau - DT, X_SYM, tau, X0_SYM)[1])   # sigma(i): posterior std (2.2.4)


def _d_mu(M, tau, args, sub):
    states = [a for a in args if _is_state(M, a)]
    if not states:
        raise ValueError("mu needs the state x_i as an argument")
    cur = states[0]
    cur_time = M.time_of(cur)
    clean = states[1] if len(states) > 1 else None
    if _is_pred(sub) or clean is None:     # mu_phi(x_i, i): the ideal model mean, x_0 -> E[x_0 | x_i]
        clean = posterior_x0(M, cur, cur_time)
    return ddpm_posterior(M, cur_time - DT, cur, cur_time, clean)[0]


def _eps(M, tau, args, sub):
    if args and _is_pred(sub):
        return posterior_eps(M, args[0], M.time_of(args[0]) or tau)
    if _is_pred(sub):
        return posterior_eps(M, X_SYM, tau)
    if sub and sub.strip("{} ").isdigit():
        return sp.Symbol(f"epsilon_{sub.strip('{} ')}", real=True)
    return EPS


def _score(M, tau, args, sub):
    xx = args[0] if args else X_SYM
    own = M.time_of(xx)
    return M.score(xx, own if own is not None else tau)


def _d_density(M, tau, args, sub):
    """p(x_{i-1} | x_i, x_0) (three arguments): the Bayes posterior's density; otherwise as in COMMON."""
    if len(args) == 3:
        target, cur, clean = args
        mean, var = ddpm_posterior(M, M.time_of(target), cur, M.time_of(cur), clean)
        return normal_pdf(target, mean, var)
    return COMMON["p"](M, tau, args, sub)


DISCRETE = {
    **COMMON, "p": _d_density, "q": _d_density,
    "x": _d_x, "alphabar": lambda M, tau, a, s: M.alpha(tau), "alpha": _d_alpha, "beta": _d_beta,
    "sigma": _d_sigma, "mu": _d_mu, "epsilon": _eps, "s": _score,
    "i": lambda M, tau, a, s: T_SYM,
}


# --- continuous (chapters 3 and 6) -----------------------------------------------------------------

def _c_x(M, tau, args, sub):
    if sub.strip() == "cov":
        return posterior_var_x0(M, args[0] if args else X_SYM, M.time_of(args[0]) if args else tau)
    if "FM" in sub:                        # canonical path x^FM_tau = (1 - tau) x_0 + tau eps at the inner time
        inner = args[0] if args else tau
        return (1 - inner) * X0_SYM + inner * EPS
    if "Trig" in sub:                      # trigonometric path (6.3.4): cos(u) x_0 + sin(u) eps
        inner = args[0] if args else tau
        return sp.cos(inner) * X0_SYM + sp.sin(inner) * EPS
    if _is_pred(sub):
        if args:
            return posterior_x0(M, args[0], M.time_of(args[0]) or tau)
        if "phi" in sub:                   # free head: x_phi = (x_t + sigma_t^2 S) / alpha_t
            return (X_SYM + M.sigma(tau)**2 * S_FREE) / M.alpha(tau)
        return posterior_x0(M, X_SYM, tau)
    if not sub and not args:
        return X0_SYM
    return M.state(tau)


def _c_eps(M, tau, args, sub):
    if "phi" in sub and not args:
        return -M.sigma(tau) * S_FREE
    return _eps(M, tau, args, sub)


def _c_s(M, tau, args, sub):
    if "phi" in sub and not args:
        return S_FREE
    if not args and not sub:
        return sp.Symbol("s", positive=True)
    return _score(M, tau, args, sub)


def _c_v(M, tau, args, sub):
    if "FM" in sub:                        # canonical conditional velocity eps - x_0
        return EPS - X0_SYM
    if "phi" in sub and not args:          # free head: PF-ODE velocity with the score head S
        return M.f(tau) * X_SYM - M.g2(tau) * S_FREE / 2
    states = [a for a in args if _is_state(M, a)]
    if len(states) >= 2 or EPS in [a for a in args]:   # v_t(x_t | x_0, eps): conditional velocity
        return dalpha(M, tau) * X0_SYM + dsigma(M, tau) * EPS
    xx = states[0] if states else X_SYM
    return oracle_velocity(M, xx, M.time_of(xx) if states else tau)


def _c_alpha(M, tau, args, sub):
    return M.alpha(args[0] if args else tau)


def _c_sigma(M, tau, args, sub):
    return M.sigma(args[0] if args else tau)


def _c_dot(fn):
    return lambda M, tau, a, s: fn(M, a[0] if a else tau)


def _c_tau(M, tau, args, sub):
    """tau(t) = sigma_t / (alpha_t + sigma_t) (Prop. 6.3.3); tau_t (subscripted) the angle with
    cos tau_t = alpha_t / R_t, sin tau_t = sigma_t / R_t (6.3.5), i.e. atan(sigma_t / alpha_t) for alpha_t > 0."""
    if sub:
        return sp.atan(M.sigma(tau) / M.alpha(tau))
    tt = args[0] if args else tau
    return M.sigma(tt) / (M.alpha(tt) + M.sigma(tt))


CONT = {
    **COMMON,
    "x": _c_x, "y": lambda M, tau, a, s: M.state(tau), "epsilon": _c_eps, "s": _c_s, "v": _c_v,
    "alpha": _c_alpha, "sigma": _c_sigma,
    "alphadot": _c_dot(dalpha), "sigmadot": _c_dot(dsigma),
    "D": lambda M, tau, a, s: posterior_x0(M, a[0] if a else X_SYM, M.time_of(a[0]) if a else tau),
    "c": lambda M, tau, a, s: M.alpha(a[0] if a else tau) + M.sigma(a[0] if a else tau),
    "cdot": _c_dot(lambda M, tt: dalpha(M, tt) + dsigma(M, tt)),
    "tau": _c_tau,
    "taudot": _c_dot(lambda M, tt: sp.diff(M.sigma(T_SYM) / (M.alpha(T_SYM) + M.sigma(T_SYM)), T_SYM).subs(T_SYM, tt)),
    "R": lambda M, tau, a, s: sp.sqrt(M.alpha(tau)**2 + M.sigma(tau)**2),
    "i": lambda M, tau, a, s: T_SYM,
    "f": lambda M, tau, a, s: M.f(tau) * a[0] if a and _is_state(M, a[0]) else M.f(a[0] if a else tau),
    "g": lambda M, tau, a, s: M.g(a[0] if a else tau),
    "gamma": lambda M, tau, a, s: M.varsigma(a[0] if a else tau),
    "xbar": lambda M, tau, a, s: M.state(tau),
}


# --- Langevin (chapter 3) --------------------------------------------------------------------------

def _energy(M, tau, args, sub):
    """E_phi = -log p (up to the constant log Z); 'gradE' (the renamed nabla_x E_phi) is its gradient -score."""
    xx = args[0] if args else X_SYM
    if "grad" in sub:                      # d/dx of -log p_t, differentiated here (not the model's score)
        return sp.diff(-M.log_density(X_SYM, T_SYM), X_SYM).subs(X_SYM, xx)
    return -M.log_density(xx, T_SYM)


def _brownian(M, tau, args, sub):
    """Brownian motion at a time tau >= t: w(tau) = sqrt(t) z_1 + sqrt(tau - t) z_2 (independent increments)."""
    return (sp.sqrt(T_SYM) * sp.Symbol("epsilon_w1", real=True)
            + sp.sqrt(sp.expand(tau - T_SYM)) * sp.Symbol("epsilon_w2", real=True))


LANGEVIN = {
    **COMMON,
    "x": lambda M, tau, a, s: M.state(tau), "xtilde": lambda M, tau, a, s: M.state(tau),
    "psi": _energy, "E": _energy,
    "s": lambda M, tau, a, s: M.score(a[0] if a else X_SYM, T_SYM),
    "p": lambda M, tau, a, s: M.density(a[0] if a else X_SYM, T_SYM),
    "score": lambda M, tau, a, s: M.score(a[0] if a else X_SYM, T_SYM),
    "eta": lambda M, tau, a, s: DT,
    "w": _brownian,
}

# --- discrete DDPM with a free (untrained) network (loss weights, ELBO terms) ------------------------

E_FREE = sp.Symbol("E_phi", real=True)     #: free noise prediction eps_phi(x_i, i) of an arbitrary model


def _f_eps(M, tau, args, sub):
    if "phi" in sub:
        return E_FREE
    return _eps(M, tau, args, sub)


def _f_x(M, tau, args, sub):
    if "phi" in sub:                       # x_phi from the free eps_phi by (2.2.12)
        cur = args[0] if args else X_SYM
        ct = M.time_of(cur) or tau
        return (cur - M.sigma(ct) * E_FREE) / M.alpha(ct)
    return _d_x(M, tau, args, sub)


def _f_mu(M, tau, args, sub):
    if "phi" in sub:                       # mu_phi: the posterior mean at the free x_phi (DDPM parameterisation)
        cur = [a for a in args if _is_state(M, a)][0]
        ct = M.time_of(cur)
        return ddpm_posterior(M, ct - DT, cur, ct, _f_x(M, ct, (cur,), "phi"))[0]
    return _d_mu(M, tau, args, sub)


class GaussPDF(sp.Function):
    """N(target; mean, var) kept unevaluated so that a KL can read its moments; doit() gives the density."""
    nargs = 3

    def doit(self, **hints):
        return normal_pdf(*(a.doit(**hints) for a in self.args))


def _f_density(M, tau, args, sub):
    """p_phi(x_{i-1} | x_i) := N(x_{i-1}; mu_phi(x_i, i), sigma^2(i)) (2.2.5); the posterior p(x_{i-1} | x_i, x_0)
    of Lemma 2.2.2; both as Gaussian laws (GaussPDF)."""
    if "phi" in sub and len(args) == 2:
        target, cur = args
        ct = M.time_of(cur)
        var = ddpm_posterior(M, ct - DT, cur, ct, X0_SYM)[1]
        return GaussPDF(target, _f_mu(M, ct, (cur,), "phi"), var)
    if len(args) == 3:
        target, cur, clean = args
        return GaussPDF(target, *ddpm_posterior(M, M.time_of(target), cur, M.time_of(cur), clean))
    return _d_density(M, tau, args, sub)


def _kl(M, tau, args, sub):
    """D_KL(P || Q) of two Gaussian laws (GaussPDF) of the same variable: derive.gaussian.kl_normal."""
    if "KL" not in sub or len(args) != 2 or not all(isinstance(a, GaussPDF) for a in args):
        raise ValueError("D_KL takes two Gaussian densities of the same variable")
    (tp, mp, vp), (tq, mq, vq) = (a.args for a in args)
    if tp != tq:
        raise ValueError("D_KL: the two densities are of different variables")
    return _kl_template().subs({_KL_SYMS[0]: mp, _KL_SYMS[1]: vp, _KL_SYMS[2]: mq, _KL_SYMS[3]: vq})


_KL_SYMS = (sp.Symbol("m_p", real=True), sp.Symbol("v_p", positive=True),
            sp.Symbol("m_q", real=True), sp.Symbol("v_q", positive=True))


@functools.cache
def _kl_template():
    """KL(N(m_p, v_p) || N(m_q, v_q)) derived once by derive.gaussian.kl_normal."""
    return G.kl_normal(*_KL_SYMS)


FREE = {**DISCRETE, "epsilon": _f_eps, "x": _f_x, "mu": _f_mu, "p": _f_density, "D": _kl}

#: v(x_t, t) := d/dt (alpha_t x_0 + sigma_t eps): the conditional velocity (Sec. 6.3.3), not the oracle one
COND = {**CONT, "v": lambda M, tau, a, sub: (EPS - X0_SYM) if "FM" in sub
        else dalpha(M, tau) * X0_SYM + dsigma(M, tau) * EPS}

#: Ho et al.'s convention (Table 3.1): beta_i is the *variance* of the step from x_i to x_{i+1}
HO = {**DISCRETE, "beta": lambda M, tau, a, sub: transition(M, tau, tau + DT)[1]}

NOTATIONS = {"ddpm_003": DISCRETE, "ddpm_003.ho": HO, "ddpm_003.cond": COND, "ddpm_003.free": FREE,
             "ddpm_003.cont": CONT, "ddpm_003.langevin": LANGEVIN}
