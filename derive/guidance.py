r"""Classifier and classifier-free guidance, the tilted density, DPS and ILVR (003 ch. 8).

Convention: x_t = alpha_t x_0 + sigma_t eps. Scalar (isotropic) data N(m, v); the "classifier" is a Gaussian
likelihood y | x_0 ~ N(x_0, r) (a noisy measurement, 003 eq. (8.4.3) with A = identity).

* ``tilted_density``: p(x) p(y|x)^w normalised (003 eq. (8.2.2) at t = 0), by completing the square.
* ``noisy_likelihood``: p_t(y | x_t) = int p(y|x_0) p(x_0|x_t) dx_0 (003 §8.4), a Gaussian whose mean is the
  posterior mean E[x_0|x_t]; ``guided_score`` = grad log p_t(x_t) + w grad log p_t(y|x_t) (eq. (8.2.3)).
* ``cfg``: the classifier-free combination in score space (eq. (8.3.2)) w s_c + (1 - w) s_u, mapped to eps-,
  x_0- and velocity space through the affine parameterisations; ``cfg_equivalences`` returns the differences
  between guiding in a space and mapping the guided score to that space (all zero: the maps are affine with
  weights summing to one). 003 eq. (10.3.4) writes the same rule as (1 + omega) x_c - omega x_u, i.e. w = 1 + omega.
* ``dps_gradient`` (eq. (8.4.5)): grad_x log p(y | X_0 = xhat_0(x_t)); its ratio to the exact gradient is
  (a^2 Var[x_0|x_t] + sigma_y^2)/sigma_y^2 for y = a x_0 + sigma_y z: exact only as Var[x_0|x_t] -> 0.
* ``ilvr_correction`` (003 §8.4, ILVR): the update x + A^+ (y_t - A x_t) makes A x = y_t exactly;
  ``linear_likelihood_gradient``: grad log N(y; A x, c) = +A^T (y - A x)/c (003 prints it with a minus sign);
  ``likelihood_maximising_step``: the step maximising that likelihood (normal equations; = A^+ (y_t - A x_t) for A
  of full column rank: ILVR's correction).
* the tilted PF-ODE of the Remark of 003 §8.1: ``consistent_tilt`` (a Gaussian tilt whose tilted family is the
  marginal family of other Gaussian data), ``tilt_normaliser`` (Z_t), ``tilted_continuity_residual``.
* preference alignment (003 §8.5): ``bernoulli_kl``, ``bernoulli_entropy``, ``kl_regularised_optimum`` (the
  maximiser of E_pi[r] - beta KL(pi || pi_ref) on a finite set, from the Lagrangian).
Every public function validates its arguments (derive._validate): a bad argument raises TypeError / ValueError
naming it and its range.
"""
from __future__ import annotations

import functools

import sympy as sp

from . import gaussian
from ._validate import EXPR, MATRIX, POSITIVE, SYMBOL, checked, choice, interval, sequence_of
from .data import normal_pdf
from .kernel_spec import KernelSpec
from .score_matching import gaussian_posterior
from .symbols import m, v, x

y_obs = sp.Symbol("y", real=True)
r_lik = sp.Symbol("r", positive=True)                     #: likelihood variance
w_g = sp.Symbol("w", real=True)                           #: guidance scale
a_, s_ = sp.symbols("alpha_t sigma_t", positive=True)
s_cond, s_unc = sp.symbols("s_c s_u", real=True)          #: conditional / unconditional scores
e_cond, e_unc = sp.symbols("epsilon_c epsilon_u", real=True)
x0_cond, x0_unc = sp.symbols("x0_c x0_u", real=True)
da_, ds_ = sp.symbols("dalpha_t dsigma_t", real=True)


def _complete_square(log_density: sp.Expr, var: sp.Symbol) -> tuple[sp.Expr, sp.Expr]:
    poly = sp.Poly(sp.expand(log_density), var)
    quad, lin = poly.coeff_monomial(var**2), poly.coeff_monomial(var)
    variance = sp.simplify(-1 / (2 * quad))
    return sp.simplify(lin * variance), variance


@checked(scale=EXPR, mean=EXPR, var=POSITIVE, obs=EXPR, lik_var=POSITIVE)
def tilted_density(scale=w_g, mean=m, var=v, obs=y_obs, lik_var=r_lik) -> tuple[sp.Expr, sp.Expr]:
    """Mean and variance of p(x) p(y|x)^w (003 eq. (8.2.2) at t = 0) for N(mean, var) prior, N(y; x, lik_var)
    likelihood, by completing the square in x (requires 1/var + w/lik_var > 0)."""
    log_tilt = sp.log(normal_pdf(x, mean, var)) + scale * sp.log(normal_pdf(obs, x, lik_var))
    return _complete_square(sp.expand_log(log_tilt, force=True), x)


@checked(alpha_t=POSITIVE, sigma_t=POSITIVE, xx=EXPR, mean=EXPR, var=POSITIVE, obs=EXPR, lik_var=POSITIVE)
def noisy_likelihood(alpha_t=a_, sigma_t=s_, xx=x, mean=m, var=v, obs=y_obs, lik_var=r_lik):
    """Mean and variance of p_t(y | x_t = xx) = E_{x_0 | x_t}[N(y; x_0, lik_var)]: N(E[x_0|x_t], Var[x_0|x_t] + r)."""
    post_mean, post_var = gaussian_posterior(x, alpha_t, sigma_t**2, mean, var)
    return post_mean.subs(x, xx), post_var + lik_var


@checked(scale=EXPR, alpha_t=POSITIVE, sigma_t=POSITIVE, xx=EXPR, mean=EXPR, var=POSITIVE, obs=EXPR,
         lik_var=POSITIVE)
def guided_score(scale=w_g, alpha_t=a_, sigma_t=s_, xx=x, mean=m, var=v, obs=y_obs, lik_var=r_lik) -> sp.Expr:
    """grad log p_t(x) + w grad log p_t(y | x) (003 eq. (8.2.3)), both differentiated from the densities."""
    marginal = normal_pdf(x, alpha_t * mean, alpha_t**2 * var + sigma_t**2)
    lik_mean, lik_var_t = noisy_likelihood(alpha_t, sigma_t, x, mean, var, obs, lik_var)
    lik = normal_pdf(obs, lik_mean, lik_var_t)
    out = sp.diff(sp.log(marginal), x) + scale * sp.diff(sp.log(lik), x)
    return sp.simplify(out).subs(x, xx)


# --- classifier-free guidance ----------------------------------------------------------------------

def _eps_of_score(sc):
    return -s_ * sc                                      # Tweedie: eps_hat = -sigma score


def _x0_of_eps(ep):
    return (x - s_ * ep) / a_


def _v_of_eps(ep):
    return da_ * _x0_of_eps(ep) + ds_ * ep


@checked(space=choice("score", "eps", "x0", "v"), scale=EXPR)
def cfg(space: str = "score", scale=w_g) -> sp.Expr:
    """Guided prediction w c + (1 - w) u in the given space ("score", "eps", "x0", "v"), 003 eqs. (8.3.2), (10.3.4)."""
    pairs = {"score": (s_cond, s_unc), "eps": (e_cond, e_unc), "x0": (x0_cond, x0_unc)}
    if space == "v":
        return scale * _v_of_eps(e_cond) + (1 - scale) * _v_of_eps(e_unc)
    c, u = pairs[space]
    return scale * c + (1 - scale) * u


def cfg_equivalences() -> dict[str, sp.Expr]:
    """Guiding in eps/x0/v space minus mapping the score-space guided score into that space (each simplifies to 0)."""
    guided = cfg("score")
    eps_c, eps_u = _eps_of_score(s_cond), _eps_of_score(s_unc)
    out = {"eps": cfg("eps").subs({e_cond: eps_c, e_unc: eps_u}) - _eps_of_score(guided)}
    out["x0"] = cfg("x0").subs({x0_cond: _x0_of_eps(eps_c), x0_unc: _x0_of_eps(eps_u)}) - _x0_of_eps(_eps_of_score(guided))
    out["v"] = cfg("v").subs({e_cond: eps_c, e_unc: eps_u}) - _v_of_eps(_eps_of_score(guided))
    # classifier guidance with the implicit classifier grad log p(c|x) = s_c - s_u (eq. (8.3.1))
    out["implicit-classifier"] = (s_unc + w_g * (s_cond - s_unc)) - guided
    return {k: sp.simplify(val) for k, val in out.items()}


# --- inverse problems ------------------------------------------------------------------------------

@checked(alpha_t=POSITIVE, sigma_t=POSITIVE, gain=EXPR, noise_var=POSITIVE, mean=EXPR, var=POSITIVE, obs=EXPR)
def dps_gradient(alpha_t=a_, sigma_t=s_, gain=sp.Symbol("a_op", positive=True), noise_var=r_lik,
                 mean=m, var=v, obs=y_obs) -> tuple[sp.Expr, sp.Expr]:
    """(DPS gradient, exact gradient) of log p_t(y|x_t) for y = gain x_0 + N(0, noise_var), x_0 ~ N(mean, var).

    DPS (003 eq. (8.4.5)) differentiates log N(y; gain xhat_0(x_t), noise_var) through the posterior mean; the exact
    p_t(y|x_t) = N(y; gain E[x_0|x_t], gain^2 Var[x_0|x_t] + noise_var)."""
    post_mean, post_var = gaussian_posterior(x, alpha_t, sigma_t**2, mean, var)
    dps = sp.diff(sp.log(normal_pdf(obs, gain * post_mean, noise_var)), x)
    exact = sp.diff(sp.log(normal_pdf(obs, gain * post_mean, gain**2 * post_var + noise_var)), x)
    return sp.simplify(dps), sp.simplify(exact)


@checked(op=MATRIX, xs=MATRIX, ys=MATRIX)
def ilvr_correction(op, xs, ys) -> sp.Matrix:
    """ILVR's correction A^+ (y_t - A x_t) (003 §8.4; Choi et al. 2021: x <- x - phi(x) + phi(y_t) with the
    projection phi = A^+ A), A^+ the Moore–Penrose pseudo-inverse. ``op`` a sympy Matrix, ``xs``, ``ys`` columns.

    Note: 003 §8.4 writes the likelihood-gradient surrogates as -A^T (y_t - A x_t) and -A^+ (y_t - A x_t); the
    gradient of log N(y_t; A x, c I) is +A^T (y_t - A x)/c (``linear_likelihood_gradient``), the direction used here.
    """
    if op.cols != xs.rows or op.rows != ys.rows:
        raise ValueError(f"shapes do not match: A {op.shape}, x {xs.shape}, y {ys.shape}")
    return op.pinv() * (ys - op * xs)


@checked(op=MATRIX, xs=MATRIX, ys=MATRIX, noise_var=POSITIVE)
def linear_likelihood_gradient(op, xs, ys, noise_var=1) -> sp.Matrix:
    """grad_x log N(y; A x, noise_var I), differentiated symbolically: A^T (y - A x) / noise_var."""
    if op.cols != xs.rows or op.rows != ys.rows:
        raise ValueError(f"shapes do not match: A {op.shape}, x {xs.shape}, y {ys.shape}")
    syms = sp.symbols(f"xi0:{xs.rows}", real=True)
    resid = ys - op * sp.Matrix(syms)
    logp = -(resid.T * resid)[0] / (2 * noise_var)
    grad = sp.Matrix([sp.diff(logp, sym) for sym in syms])
    return grad.subs(dict(zip(syms, xs)))


@checked(op=MATRIX, xs=MATRIX, ys=MATRIX)
def likelihood_maximising_step(op, xs, ys) -> sp.Matrix:
    """The step d with grad log N(y; A (x + d), c I) = 0 (the normal equations A^T A d = A^T (y - A x), solved
    symbolically; 003 §8.4, ILVR): unique when A has full column rank (for a quadratic log-likelihood it is the
    Newton step from x). Raises ValueError when the maximiser is not unique."""
    if op.cols != xs.rows or op.rows != ys.rows:
        raise ValueError(f"shapes do not match: A {op.shape}, x {xs.shape}, y {ys.shape}")
    steps = sp.symbols(f"d0:{xs.rows}", real=True)
    grad = linear_likelihood_gradient(op, xs + sp.Matrix(steps), ys)
    solution = sp.solve(list(grad), steps, dict=True)
    if len(solution) != 1 or len(solution[0]) != len(steps):
        raise ValueError(f"the maximiser of the likelihood is not unique for A of shape {op.shape} (rank {op.rank()})")
    return sp.Matrix([solution[0][d] for d in steps])


# --- the tilted PF-ODE (003 §8.1, Remark) ------------------------------------------------------------------

@checked(alpha_t=POSITIVE, sigma_t=POSITIVE, mean=EXPR, var=POSITIVE, target_mean=EXPR, target_var=POSITIVE)
def consistent_tilt(alpha_t, sigma_t, mean, var, target_mean, target_var) -> tuple[sp.Expr, sp.Expr]:
    """(precision k_t, centre c_t) of the Gaussian tilt h_t(x) = exp(-k_t (x - c_t)^2 / 2) with p_t h_t proportional
    to the marginal of other data: N(alpha m, alpha^2 v + sigma^2) h_t = Z_t N(alpha m', alpha^2 v' + sigma^2).

    The tilted family is then the marginal family of the diffusion started from N(m', v'), so it IS transported by
    the tilted PF-ODE velocity f x - g^2/2 grad log ptilde (003 §8.1 Remark: the case where the condition holds)."""
    var_t = alpha_t**2 * var + sigma_t**2
    target_var_t = alpha_t**2 * target_var + sigma_t**2
    precision = 1 / target_var_t - 1 / var_t
    centre = (alpha_t * target_mean / target_var_t - alpha_t * mean / var_t) / precision
    return precision, centre


@functools.cache
def _tilt_integral() -> tuple[tuple[sp.Symbol, ...], sp.Expr]:
    """log int N(x; mu, V) exp(-k (x - c)^2 / 2) dx for plain symbols, completing the square once."""
    xi, mu, c = sp.symbols("xi_z mu_z c_z", real=True)
    var, k = sp.symbols("V_z k_z", positive=True)
    exponent = sp.expand_log(sp.log(normal_pdf(xi, mu, var)), force=True) - k * (xi - c)**2 / 2
    return (mu, var, k, c), sp.simplify(gaussian.marginalize(exponent, xi))


@checked(mean=EXPR, var=POSITIVE, precision=EXPR, centre=EXPR)
def tilt_normaliser(mean, var, precision, centre) -> sp.Expr:
    """Z = int N(x; mean, var) exp(-precision (x - centre)^2 / 2) dx by completing the square (derived once with
    plain symbols, then evaluated; needs 1/var + precision > 0)."""
    names, log_z = _tilt_integral()
    return sp.exp(log_z.subs(dict(zip(names, (mean, var, precision, centre))), simultaneous=True))


@checked(log_density=EXPR, log_tilt=EXPR, log_normaliser=EXPR, drift_coeff=EXPR, diffusion_sq=EXPR,
         xx=SYMBOL, tt=SYMBOL)
def tilted_continuity_residual(log_density, log_tilt, log_normaliser, drift_coeff, diffusion_sq, xx, tt) -> sp.Expr:
    """(d_t ptilde + d_x(ptilde vtilde)) / ptilde for ptilde = p_t h_t / Z_t transported by the tilted PF-ODE velocity
    vtilde = f x - g^2/2 d_x log ptilde (003 §8.1 Remark), from the log-densities as functions of (xx, tt): zero for
    all x iff ptilde_t is the marginal family of the tilted PF-ODE."""
    log_tilted = log_density + log_tilt - log_normaliser
    velocity = drift_coeff * xx - diffusion_sq / 2 * sp.diff(log_tilted, xx)
    return sp.diff(log_tilted, tt) + sp.diff(velocity, xx) + velocity * sp.diff(log_tilted, xx)


# --- preference alignment (003 §8.5) -------------------------------------------------------------------------

PROB = interval(0, 1, open_lo=True, open_hi=True)


@checked(p=PROB, q=PROB)
def bernoulli_kl(p, q) -> sp.Expr:
    """KL(Bern(p) || Bern(q)) = sum over the outcomes {1, 0} of P log(P / Q) (003 eq. (8.5.3))."""
    return sum(a * sp.log(a / b) for a, b in ((p, q), (1 - p, 1 - q)))


@checked(p=PROB)
def bernoulli_entropy(p) -> sp.Expr:
    """H(Bern(p)) = -sum over the outcomes of P log P."""
    return -sum(a * sp.log(a) for a in (p, 1 - p))


@checked(ref_probs=sequence_of(POSITIVE, 2), rewards=sequence_of(EXPR, 2), kl_weight=POSITIVE)
def kl_regularised_optimum(ref_probs, rewards, kl_weight) -> list[sp.Expr]:
    """The policy on a finite outcome set maximising E_pi[r] - kl_weight KL(pi || pi_ref) (003 eq. (8.5.4)):
    the stationary point of the Lagrangian with the normalisation constraint, solved symbolically."""
    if len(ref_probs) != len(rewards):
        raise ValueError(f"ref_probs and rewards must have the same length, got {len(ref_probs)} and {len(rewards)}")
    probs = sp.symbols(f"pi0:{len(rewards)}", positive=True)
    lam = sp.Symbol("lambda_norm", real=True)
    objective = sum(p * r - kl_weight * p * sp.log(p / q) for p, r, q in zip(probs, rewards, ref_probs))
    lagrangian = objective - lam * (sum(probs) - 1)
    stationary = {p: sp.solve(sp.diff(lagrangian, p), p)[0] for p in probs}     # p in terms of lambda
    lam_value = sp.solve(sum(stationary.values()) - 1, lam)
    if len(lam_value) != 1:
        raise ValueError("the normalisation constraint has no unique multiplier")
    return [sp.simplify(stationary[p].subs(lam, lam_value[0])) for p in probs]


def kernel_specs() -> list[KernelSpec]:
    """CFG combinations (score, eps, x0 and v spaces), emitted to numerics/generated/guidance.py."""
    specs = []
    for space, args in (("score", (s_cond, s_unc, w_g)), ("eps", (e_cond, e_unc, w_g)),
                        ("x0", (x0_cond, x0_unc, w_g)), ("v", (x, e_cond, e_unc, a_, s_, da_, ds_, w_g))):
        expr = cfg(space)
        specs.append(KernelSpec(f"cfg_{space}", "guidance", args, expr, f"w c + (1 - w) u in {space} space: "
                                f"{sp.sstr(expr)}", "derive.guidance.cfg", f"guidance.cfg.{space}"))
    return specs
