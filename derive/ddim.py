r"""DDIM: the non-Markovian forward family indexed by the noise level, and its sampler.

Notation: x_t = alpha_t x_0 + sigma_t eps (so alpha_t = sqrt(alphabar_t) of DDPM, sigma_t = sqrt(1 - alphabar_t)
on VP schedules); s < t is the *earlier* (less noisy) time reached by one sampler step t -> s.

Song, Meng & Ermon (DDIM) define, for every noise level sigma_noise (their sigma_t; 001 eq. (25), the paper's eq. (7)),
    q_sigma(x_s | x_t, x_0) = N(alpha_s x_0 + sqrt(sigma_s^2 - sigma_noise^2) (x_t - alpha_t x_0)/sigma_t, sigma_noise^2),
and the sampler (001 eq. (12); 000 eqs. (54)-(60); 003 eqs. (9.2.2)-(9.2.3)) replaces x_0 by
x0_hat = (x_t - sigma_t eps_hat)/alpha_t:
    x_s = alpha_s x0_hat + sqrt(sigma_s^2 - sigma_noise^2) eps_hat + sigma_noise z.
Here the conditional is *derived*: ``family_coefficients`` solves for the affine map x_s = k x_0 + l x_t + sigma_noise z
that preserves the marginal q(x_s | x_0) = N(alpha_s x_0, sigma_s^2) given q(x_t | x_0) = N(alpha_t x_0, sigma_t^2)
(the induction step of the marginal-preservation lemma, 001 Lemma 1 / Appendix B).
"""
from __future__ import annotations

import functools

import sympy as sp

from . import gaussian, schedules
from ._validate import ETA, EXPR, NONNEGATIVE, POSITIVE, checked, sequence_of
from .kernel_spec import KernelSpec
from .symbols import t as _t, x0 as _x0, z as _z

_k, _l = sp.symbols("k l", real=True)

#: one step t -> s: signal scales alpha > 0 (x0_hat divides by alpha_t), noise scales sigma_t > 0 (it divides) and
#: sigma_s >= 0 (a last step may reach the data, sigma_s = 0); the noise std sigma_noise >= 0
_STEP = dict(alpha_s=POSITIVE, sigma_s=NONNEGATIVE, alpha_t=POSITIVE, sigma_t=POSITIVE)


@functools.cache
def _family_solution():
    a_s, s_s, a_t, s_t, sn = sp.symbols("a_s s_s a_t s_t s_n", positive=True)
    # x_s = k x_0 + l x_t + sn z, x_t | x_0 ~ N(a_t x_0, s_t^2): match mean and variance of N(a_s x_0, s_s^2)
    mean_eq = sp.Eq(_k + _l * a_t, a_s)
    var_eq = sp.Eq(_l**2 * s_t**2 + sn**2, s_s**2)
    sols = sp.solve([mean_eq, var_eq], [_k, _l], dict=True)
    # the branch with l >= 0 (the one continuous with the deterministic DDIM map, increasing in x_t)
    sol = [d for d in sols if sp.simplify(d[_l].subs({sn: 0, s_s: 1, s_t: 1})) == 1]
    if len(sol) != 1:  # pragma: no cover - a failed derivation is a bug in this module
        raise AssertionError(f"marginal-preservation system has no unique increasing branch: {sols}")
    l_expr = sp.sqrt(s_s**2 - sn**2) / s_t      # the solved l, written with one square root
    if sp.simplify(l_expr**2 - sol[0][_l]**2) != 0 or sp.simplify(sol[0][_k] - (a_s - sol[0][_l] * a_t)) != 0:
        raise AssertionError("marginal-preservation solution certificate failed")  # pragma: no cover
    return (a_s, s_s, a_t, s_t, sn), a_s - l_expr * a_t, l_expr


@checked(**_STEP, sigma_noise=NONNEGATIVE)
def family_coefficients(alpha_s, sigma_s, alpha_t, sigma_t, sigma_noise=0) -> tuple[sp.Expr, sp.Expr]:
    r"""(k, l) with q_sigma(x_s | x_t, x_0) = N(k x_0 + l x_t, sigma_noise^2), solved from marginal preservation.

    Solves k + l alpha_t = alpha_s, l^2 sigma_t^2 + sigma_noise^2 = sigma_s^2 (001 eq. (25), Lemma 1 eqs. (22)-(28)):
    l = sqrt(sigma_s^2 - sigma_noise^2)/sigma_t, k = alpha_s - l alpha_t.
    """
    syms, k_expr, l_expr = _family_solution()
    sub = dict(zip(syms, (alpha_s, sigma_s, alpha_t, sigma_t, sigma_noise)))
    return k_expr.subs(sub, simultaneous=True), l_expr.subs(sub, simultaneous=True)


@checked(x=EXPR, eps=EXPR, alpha_t=POSITIVE, sigma_t=NONNEGATIVE)
def x0_from_eps(x, eps, alpha_t, sigma_t) -> sp.Expr:
    """x0_hat = (x_t - sigma_t eps)/alpha_t, solved from x_t = alpha_t x_0 + sigma_t eps (001 eq. (9))."""
    sol = sp.solve(sp.Eq(x, alpha_t * _x0 + sigma_t * eps), _x0)
    return sol[0]


@checked(x=EXPR, eps=EXPR, **_STEP, sigma_noise=NONNEGATIVE, noise=EXPR)
def ddim_step(x, eps, alpha_s, sigma_s, alpha_t, sigma_t, sigma_noise=0, noise=_z) -> sp.Expr:
    r"""One DDIM step t -> s (001 eq. (12); 000 eq. (58)-(60)):
    x_s = alpha_s x0_hat + sqrt(sigma_s^2 - sigma_noise^2) eps + sigma_noise z,  x0_hat = (x - sigma_t eps)/alpha_t.

    Derived as the mean of the derived family conditional ``family_coefficients`` at x_0 = x0_hat, plus sigma_noise
    times ``noise`` (the symbol z by default; dropped when sigma_noise == 0). Arguments are SymPy expressions;
    alpha, sigma are the signal/noise scales (alpha = sqrt(alphabar)).
    """
    k, l = family_coefficients(alpha_s, sigma_s, alpha_t, sigma_t, sigma_noise)
    x0_hat = x0_from_eps(x, eps, alpha_t, sigma_t)
    mean = sp.expand(k * x0_hat + l * x)
    # regroup as alpha_s x0_hat + l sigma_t eps (the documented form; identical after expansion)
    out = alpha_s * x0_hat + sp.powsimp(l * sigma_t) * eps
    if sp.expand(out - mean) != 0:  # pragma: no cover - certificate of the regrouping
        raise AssertionError("ddim_step regrouping certificate failed")
    return out if sigma_noise == 0 else out + sigma_noise * noise


@functools.cache
def _markov_noise_sq():
    """sigma_noise^2 of the Markovian member, derived (see ``markov_noise``)."""
    a_s, s_s, a_t, s_t, sn2 = sp.symbols("a_s s_s a_t s_t sn2", positive=True)
    x0_, xs_, xt_ = sp.symbols("x0 xs xt", real=True)
    l = sp.sqrt(s_s**2 - sn2) / s_t
    # joint of (x_t, x_s) given x_0: x_t = a_t x0 + s_t eps, x_s = k x0 + l x_t + sn z  =>  Cov(x_t, x_s) = l s_t^2
    mean_t, _ = gaussian.condition_joint(a_t * x0_, a_s * x0_, s_t**2, s_s**2, l * s_t**2, xs_)
    sol = sp.solve(sp.Eq(sp.diff(mean_t, x0_), 0), sn2)
    if len(sol) != 1:  # pragma: no cover
        raise AssertionError(f"Markov condition has no unique solution: {sol}")
    return (a_s, s_s, a_t, s_t), sp.factor(sol[0])


@checked(**_STEP)
def markov_noise(alpha_s, sigma_s, alpha_t, sigma_t) -> sp.Expr:
    r"""The noise std making the family Markovian (eta = 1): q_sigma(x_t | x_s, x_0) must not depend on x_0.

    Derived by conditioning the joint Gaussian of (x_t, x_s) given x_0 (derive.gaussian.condition_joint) and
    solving d E[x_t | x_s, x_0] / d x_0 = 0 for sigma_noise^2; result
    sqrt(sigma_s^2/sigma_t^2 (sigma_t^2 - alpha_t^2 sigma_s^2/alpha_s^2)) = the DDPM posterior std (DDIM paper
    eq. (16) with eta = 1, quoted unnumbered in 001; 001's DDPM posterior variance (line 57); 003 eq. (9.2.5)
    with pi the true posterior)."""
    syms, expr = _markov_noise_sq()
    sub = dict(zip(syms, (alpha_s, sigma_s, alpha_t, sigma_t)))
    return sp.sqrt(expr.subs(sub, simultaneous=True))


@checked(eta=ETA, **_STEP)
def sigma_eta(eta, alpha_s, sigma_s, alpha_t, sigma_t) -> sp.Expr:
    """sigma_t(eta) = eta * (Markovian noise std) (DDIM paper eq. (16), unnumbered in 001): eta = 0 is DDIM, 1 is DDPM."""
    return eta * markov_noise(alpha_s, sigma_s, alpha_t, sigma_t)


@checked(x=EXPR, eps=EXPR, **_STEP, eta=ETA, noise=EXPR)
def ddim_step_eta(x, eps, alpha_s, sigma_s, alpha_t, sigma_t, eta, noise=_z) -> sp.Expr:
    """``ddim_step`` with sigma_noise = sigma_eta(eta, ...) (001 eq. (12) with sigma_t(eta))."""
    return ddim_step(x, eps, alpha_s, sigma_s, alpha_t, sigma_t, sigma_eta(eta, alpha_s, sigma_s, alpha_t, sigma_t),
                     noise) if eta != 0 else ddim_step(x, eps, alpha_s, sigma_s, alpha_t, sigma_t)


@checked(**_STEP, sigma_noise=NONNEGATIVE, mean_t=EXPR, var_t=NONNEGATIVE)
def family_marginal(alpha_s, sigma_s, alpha_t, sigma_t, sigma_noise, mean_t, var_t) -> tuple[sp.Expr, sp.Expr]:
    """Induction step of Lemma 1 (001 eqs. (22)-(28)): if x_t | x_0 ~ N(mean_t, var_t), then x_s | x_0 under the
    family conditional has mean k x_0 + l mean_t and variance l^2 var_t + sigma_noise^2 (Gaussian push-forward)."""
    k, l = family_coefficients(alpha_s, sigma_s, alpha_t, sigma_t, sigma_noise)
    return gaussian.linear_push(mean_t, var_t, l, k * _x0, sigma_noise**2)


@checked(alphas=sequence_of(POSITIVE), sigmas=sequence_of(NONNEGATIVE),
         noises=sequence_of(NONNEGATIVE, min_len=0))
def family_chain_marginals(alphas, sigmas, noises) -> list[tuple[sp.Expr, sp.Expr]]:
    """Run the induction from the last index down: start at q(x_T | x_0) = N(alphas[-1] x_0, sigmas[-1]^2), apply
    ``family_marginal`` with noises[i] for the step i+1 -> i; returns the (mean, variance) of x_i | x_0 for every i."""
    if not len(alphas) == len(sigmas) == len(noises) + 1 or len(alphas) < 2:
        raise ValueError("need len(alphas) == len(sigmas) == len(noises) + 1 >= 2")
    out = [(alphas[-1] * _x0, sigmas[-1]**2)]
    for i in range(len(alphas) - 2, -1, -1):
        out.append(family_marginal(alphas[i], sigmas[i], alphas[i + 1], sigmas[i + 1], noises[i], *out[-1]))
    return out[::-1]


@functools.cache
def pf_ode_reparam_velocity() -> sp.Expr:
    r"""d xbar / d sigmabar of the PF-ODE in xbar = x/alpha, sigmabar = sigma/alpha (001 eqs. (45)-(51) and the
    unnumbered derivation d(x/sqrt(a))/ds = d sigma/ds eps before them; 003 eq. (9.2.2)).

    Derived for a generic schedule: dx/dt = f x - g^2/2 * score with score = -eps/sigma (the eps-parameterised score),
    f = alpha'/alpha, g^2 = (sigma^2)' - 2 f sigma^2 (derive.schedules); then
    dxbar/dsigmabar = (d(x/alpha)/dt) / (d(sigma/alpha)/dt). Returns an expression in the symbol ``eps`` = eps(x_t)."""
    sched = schedules.generic()
    xf = sp.Function("X")(_t)
    e = sp.Symbol("epsilon", real=True)
    velocity = sched.drift_coeff() * xf - sched.diffusion_sq() / 2 * (-e / sched.sigma())
    dxbar = sp.diff(xf / sched.alpha(), _t).subs(sp.Derivative(xf, _t), velocity)
    dsbar = sp.diff(sched.sigma() / sched.alpha(), _t)
    return sp.simplify(dxbar / dsbar)


@checked(x=EXPR, eps=EXPR, **_STEP)
def euler_reparam_step(x, eps, alpha_s, sigma_s, alpha_t, sigma_t) -> sp.Expr:
    """One Euler step of d xbar = v d sigmabar from sigmabar_t to sigmabar_s, mapped back with x = alpha xbar
    (003 eq. (9.2.2)); with v = ``pf_ode_reparam_velocity`` (which simplifies to eps) it equals the eta = 0 DDIM step."""
    v_expr = pf_ode_reparam_velocity().subs(sp.Symbol("epsilon", real=True), eps)
    xbar_s = x / alpha_t + (sigma_s / alpha_s - sigma_t / alpha_t) * v_expr
    return alpha_s * xbar_s


@checked(**_STEP, sigma_noise=POSITIVE)
def family_kl_eps_weight(alpha_s, sigma_s, alpha_t, sigma_t, sigma_noise) -> sp.Expr:
    r"""w with KL(q_sigma(x_s|x_t,x_0) || q_sigma(x_s|x_t,f_theta(x_t))) = w (eps - eps_theta)^2 (001 eqs. (30)-(32)).

    Derived: both laws have variance sigma_noise^2 and means differing by k (x_0 - f_theta) (k from
    ``family_coefficients``), so derive.gaussian.kl_normal gives k^2 (x_0 - f_theta)^2 / (2 sigma_noise^2); then
    x_0 - f_theta = -(sigma_t/alpha_t)(eps - eps_theta) by ``x0_from_eps``. The weight therefore carries k^2 and
    sigma_t^2/alpha_t^2 = (1 - alphabar_t)/alphabar_t on VP schedules."""
    k, l = family_coefficients(alpha_s, sigma_s, alpha_t, sigma_t, sigma_noise)
    xt_, e0, e1 = sp.symbols("x_t_ e0_ e1_", real=True)
    x0_true, x0_model = x0_from_eps(xt_, e0, alpha_t, sigma_t), x0_from_eps(xt_, e1, alpha_t, sigma_t)
    kl = gaussian.kl_normal(k * x0_true + l * xt_, sigma_noise**2, k * x0_model + l * xt_, sigma_noise**2)
    w = sp.simplify(sp.factor(kl) / (e0 - e1)**2)
    if w.has(xt_, e0, e1):  # pragma: no cover - a failed derivation is a bug
        raise AssertionError(f"family KL weight depends on the state: {w}")
    return w


def _collected(expr: sp.Expr, states) -> sp.Expr:
    """``expr`` (linear in ``states``) as sum_j c_j state_j: the eps terms of alpha_s x0_hat and of
    sqrt(sigma_s^2 - sigma_eta^2) eps combine in one coefficient before multiplying eps (otherwise they cancel in
    floating point when s is close to t). Certified equal by expansion."""
    out = sp.Add(*[sp.diff(expr, v) * v for v in states])
    if sp.expand(expr - out) != 0:   # pragma: no cover - certificate
        raise AssertionError(f"{expr} is not linear in {states}")
    return out


def _vp_domain(a_s, a_t) -> tuple:
    """Valid inputs of the kernels: a VP path (alpha^2 + sigma^2 = 1) stepped from the noisier time t to s
    (alpha_s > alpha_t, so sigma_t^2 - alpha_t^2 sigma_s^2/alpha_s^2 >= 0 and the Markov noise is real); eta in [0, 1]
    (sigma_eta <= sigma_s)."""
    return (("sigma_t", sp.sqrt(1 - a_t**2)),
            ("alpha_s", (a_t, 1)), ("sigma_s", sp.sqrt(1 - a_s**2)), ("eta", (0, 1)))


def kernel_specs() -> list[KernelSpec]:
    xs_, es_, a_s, s_s, a_t, s_t, eta_ = sp.symbols("x epsilon alpha_s sigma_s alpha_t sigma_t eta", real=True)
    zz = _z
    pos = dict(zip((a_s, s_s, a_t, s_t), sp.symbols("alpha_s sigma_s alpha_t sigma_t", positive=True)))
    a_s, s_s, a_t, s_t = (pos[k] for k in (a_s, s_s, a_t, s_t))
    eta_ = sp.Symbol("eta", nonnegative=True)
    return [
        KernelSpec("ddim_step", "ddim", (xs_, es_, a_s, s_s, a_t, s_t, eta_, zz),
                   _collected(ddim_step_eta(xs_, es_, a_s, s_s, a_t, s_t, eta_, zz), (xs_, es_, zz)),
                   "x_s = alpha_s (x - sigma_t eps)/alpha_t + sqrt(sigma_s^2 - sigma_eta^2) eps + sigma_eta z, "
                   "sigma_eta = eta sigma_s/sigma_t sqrt(sigma_t^2 - alpha_t^2 sigma_s^2/alpha_s^2)",
                   "derive.ddim.ddim_step_eta", "ddim.update", domain=_vp_domain(a_s, a_t)),
        KernelSpec("ddim_sigma_eta", "ddim", (a_s, s_s, a_t, s_t, eta_), sigma_eta(eta_, a_s, s_s, a_t, s_t),
                   "sigma_eta = eta sigma_s/sigma_t sqrt(sigma_t^2 - alpha_t^2 sigma_s^2/alpha_s^2)",
                   "derive.ddim.sigma_eta", "ddim.sigma_eta", domain=_vp_domain(a_s, a_t)),
    ]
