r"""Exponential integrators for the semi-linear PF-ODE: phi-functions, DPM-Solver(++) and DEIS (003 ch. 9).

The PF-ODE with noise prediction, 003 eq. (9.1.4), dx/dt = f(t) x + g(t)^2/(2 sigma_t) eps(x, t), is
semi-linear. With f = alpha'/alpha and g^2 = 2 sigma sigma' - 2 (alpha'/alpha) sigma^2 (003 eq. (4.4.2)) one
has g^2/(2 sigma) = -sigma_t d(lambda_t)/dt, lambda_t = log(alpha_t/sigma_t) (003 eq. (9.4.2)), so in lambda
(003 eq. (9.4.5)) dx/dlambda = (alpha'_lambda/alpha_lambda) x - sigma_lambda eps, and variation of constants
(``variation_of_constants``) gives 003 eq. (9.4.4):
    x_t = (alpha_t/alpha_s) x_s - alpha_t int_{lambda_s}^{lambda_t} e^{-lambda} eps(lambda) dlambda,
or, with data prediction x0 = (x - sigma eps)/alpha (003 ch. 9.5),
    x_t = (sigma_t/sigma_s) x_s + sigma_t int_{lambda_s}^{lambda_t} e^{lambda} x0(lambda) dlambda.
A Taylor expansion of eps (or x0) in lambda about lambda_s turns the integrals into phi-functions
phi_k(h) = int_0^1 e^{(1-u) h} u^{k-1}/(k-1)! du, h = lambda_t - lambda_s > 0 (003 eq. (9.4.9)); the
derivatives are replaced by finite differences of model outputs (DPM-Solver, Lu et al. 2022; DPM-Solver++,
Lu et al. 2022b) or the integrand by its Lagrange interpolant (DEIS, Zhang & Chen 2022; 003 ch. 9.3).

Conventions: s is the start (noisier) time, t the target; every update is a SymPy expression in the
symbols below. Stable forms (``kernel_specs``): the weights are written with alpha_t sigma_s/alpha_s
(= sigma_t e^h) and exp(-h) or expm1(-h), never e^{lambda}, so that they stay finite when the final step
reaches sigma_t = 0, lambda_t = +inf, h = +inf.
"""
from __future__ import annotations

import functools

import sympy as sp
from sympy.codegen.cfunctions import expm1

from ._validate import EXPR, FLAG, POSITIVE, UNIT, checked, integer
from .kernel_spec import KernelSpec
from .symbols import t as _t, x as X

# --- symbols -----------------------------------------------------------------------------------------
H = sp.Symbol("h", positive=True)                       #: step in log-SNR, lambda_t - lambda_s
HR = sp.Symbol("h", real=True)                          #: real argument of the phi-functions (either sign)
LAM = sp.Symbol("lambda", real=True)
LAM_S, LAM_T = sp.symbols("lambda_s lambda_t", real=True)
ALPHA_S, SIGMA_S, ALPHA_T = sp.symbols("alpha_s sigma_s alpha_t", positive=True)
SIGMA_T = sp.Symbol("sigma_t", nonnegative=True)        #: 0 at the final step
ALPHA_M = sp.Symbol("alpha_mid", positive=True)         #: signal scale at an intermediate point
EPS_S, EPS_1, EPS_2 = sp.symbols("eps_s eps_1 eps_2", real=True)   #: eps at s, at a stage / previous steps
X0_S, X0_1, X0_2 = sp.symbols("x0_s x0_1 x0_2", real=True)         #: x0 predictions, same convention
H1, H2 = sp.symbols("h_1 h_2", positive=True)           #: previous log-SNR steps (multistep methods)
R1, R2 = sp.symbols("r_1 r_2", positive=True)           #: stage ratios (lambda_stage - lambda_s)/h
D1, D2 = sp.symbols("D_1 D_2", real=True)               #: derivative estimates (lambda-derivatives of eps / x0)

__all__ = ["phi", "phi_recursion_residual", "phi_series", "variation_of_constants", "semilinear_coefficients",
           "taylor_weight_eps", "taylor_weight_data", "dpm_solver_1", "dpm_solver_2", "dpm_solver_3",
           "dpm_solver_pp_1", "dpm_solver_pp_2s", "dpm_solver_pp_2m", "dpm_solver_pp_3m", "deis", "ddim",
           "third_order_ratio", "kernel_specs"]


# --- phi-functions -----------------------------------------------------------------------------------

@checked(k=integer(0), arg=EXPR)
@functools.cache
def phi(k: int, arg=HR) -> sp.Expr:
    r"""phi_k(h) = int_0^1 e^{(1-u) h} u^{k-1}/(k-1)! du (k >= 1), integrated by SymPy (003 eq. (9.4.9)).

    phi_0(h) = e^h (k = 0 is valid: the k = 0 member of 003's phi-identities). The result is the closed form
    (e^h - sum_{j<k} h^j/j!)/h^k (003 ch. 9.5, phi_m(h)); ``arg`` is any real expression (h of either sign).
    """
    if k == 0:
        return sp.exp(arg)
    w = sp.Symbol("w", real=True)
    val = sp.integrate(sp.exp((1 - w) * HR) * w**(k - 1) / sp.factorial(k - 1), (w, 0, 1))
    val = sp.simplify(sp.piecewise_fold(val))
    if isinstance(val, sp.Piecewise):      # SymPy keeps a separate h = 0 branch: the generic one is the closed form
        val = [e for e, c in val.args if c != sp.Eq(HR, 0) and c is not sp.true][0] \
            if any(c == sp.Ne(HR, 0) for _, c in val.args) else val.args[0][0]
    return sp.simplify(val).subs(HR, arg)


@checked(k=integer(0))
def phi_recursion_residual(k: int) -> sp.Expr:
    """phi_{k+1}(h) - (phi_k(h) - 1/k!)/h, simplified (zero: the recursion of 003 ch. 9.5 / Hochbruck-Ostermann);
    k >= 0 (k = 0: phi_1 = (e^h - 1)/h)."""
    return sp.simplify(phi(k + 1) - (phi(k) - sp.Rational(1, sp.factorial(k))) / HR)


@checked(k=integer(0), n_terms=integer(1), arg=EXPR)
def phi_series(k: int, n_terms: int = 6, arg=HR) -> sp.Expr:
    """Taylor series of phi_k (k >= 0) at h = 0 to n_terms terms, computed by SymPy from the closed form.

    Equals sum_{n < n_terms} h^n/(n+k)! (tests compare the two)."""
    return sp.series(phi(k), HR, 0, n_terms).removeO().subs(HR, arg)


# --- the semi-linear ODE and variation of constants ---------------------------------------------------

def semilinear_coefficients() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    r"""(f, g^2/(2 sigma), -sigma dlambda/dt) for a generic schedule alpha(t), sigma(t) (003 eqs. (9.1.4), (9.4.1)).

    The second and third coincide (``simplify(b - c) == 0``, checked in tests): the nonlinear coefficient of
    eq. (9.1.4) is -sigma_t lambda'(t), which is what makes lambda the natural time (003 eq. (9.4.5))."""
    from .schedules import generic
    sch = generic()
    f, g2 = sch.drift_coeff(), sch.diffusion_sq()
    sig = sch.sigma()
    return f, sp.simplify(g2 / (2 * sig)), -sig * sp.diff(sch.log_snr(), _t)


@functools.cache
def variation_of_constants() -> tuple[sp.Expr, sp.Expr]:
    r"""Solve dx/dlambda = (alpha'(lambda)/alpha(lambda)) x - sigma(lambda) eps(lambda), sigma = alpha e^{-lambda}.

    Integrating factor 1/alpha: d/dlambda (x/alpha) = -e^{-lambda} eps, so (003 eq. (9.4.4))
        x(lambda_t) = alpha(lambda_t)/alpha(lambda_s) x_s - alpha(lambda_t) int_{lambda_s}^{lambda_t} e^{-l} eps(l) dl.
    Returns (solution as a function of the upper limit LAM, ODE residual) with the residual simplified
    (zero: the solution is certified by differentiation)."""
    a = sp.Function("alpha", positive=True)
    e = sp.Function("epsilon", real=True)
    xs, ell = sp.Symbol("x_s", real=True), sp.Symbol("ell", real=True)
    factor = 1 / a(LAM)                                       # integrating factor exp(-int alpha'/alpha)
    rhs_scaled = sp.simplify(factor * (-a(LAM) * sp.exp(-LAM) * e(LAM)))      # = d/dlambda (x/alpha)
    sol = a(LAM) * (xs / a(LAM_S) + sp.Integral(rhs_scaled.subs(LAM, ell), (ell, LAM_S, LAM)))
    resid = sp.diff(sol, LAM) - (sp.diff(a(LAM), LAM) / a(LAM) * sol - a(LAM) * sp.exp(-LAM) * e(LAM))
    return sol, sp.simplify(resid.doit())


def _psi(k: int, hh=H) -> sp.Expr:
    """int_0^h e^{-u} u^k/k! du (the eps weight per unit alpha_t sigma_s/alpha_s); SymPy integral."""
    w = sp.Symbol("w", positive=True)
    return sp.integrate(sp.exp(-w) * w**k / sp.factorial(k), (w, 0, hh))


def _chi(k: int, hh=H) -> sp.Expr:
    """int_0^h e^{-(h-u)} u^k/k! du (the x0 weight per unit alpha_t); SymPy integral."""
    w = sp.Symbol("w", positive=True)
    return sp.integrate(sp.exp(w - hh) * w**k / sp.factorial(k), (w, 0, hh))


@checked(k=integer(0))
def taylor_weight_eps(k: int) -> sp.Expr:
    r"""alpha_t int_{lambda_s}^{lambda_t} e^{-lambda} (lambda - lambda_s)^k/k! dlambda, with alpha_t = sigma_t e^{lambda_t},
    lambda_t = lambda_s + h: integrated by SymPy. Equals sigma_t h^{k+1} phi_{k+1}(h) (003 eq. (9.4.9))."""
    sig_t = sp.Symbol("sigma_t", positive=True)
    integrand = sig_t * sp.exp(LAM_S + H) * sp.exp(-LAM) * (LAM - LAM_S)**k / sp.factorial(k)
    return sp.simplify(sp.integrate(integrand, (LAM, LAM_S, LAM_S + H)))


@checked(k=integer(0))
def taylor_weight_data(k: int) -> sp.Expr:
    r"""sigma_t int_{lambda_s}^{lambda_t} e^{lambda} (lambda - lambda_s)^k/k! dlambda with sigma_t = alpha_t e^{-lambda_t}:
    integrated by SymPy. Equals alpha_t h^{k+1} phi_{k+1}(-h) (Lu et al. 2022b; phi at -h). 003 ch. 9.5 writes the
    integral as e^{lambda_{i-1}} h^{k+1} phi_{k+1}(h), true for k = 0 only (an erratum for k >= 1)."""
    integrand = ALPHA_T * sp.exp(-(LAM_S + H)) * sp.exp(LAM) * (LAM - LAM_S)**k / sp.factorial(k)
    return sp.simplify(sp.integrate(integrand, (LAM, LAM_S, LAM_S + H)))


def _phi_taylor(k: int, arg) -> sp.Expr:
    """sum_{n < PHI_SERIES_TERMS} arg^n/(n+k)!: the Taylor series of phi_k (``phi_series``), in Horner form;
    truncation below 1e-22 relative for |arg| < PHI_SERIES_RADIUS."""
    return sp.horner(sp.Add(*[HR**n / sp.factorial(n + k) for n in range(PHI_SERIES_TERMS)])).subs(HR, arg)


def _small_h(small: sp.Expr, large: sp.Expr, hh=H) -> sp.Expr:
    """``small`` for h < PHI_SERIES_RADIUS (the series form, no cancellation as h -> 0), else ``large``."""
    return sp.Piecewise((small, hh < PHI_SERIES_RADIUS), (large, True))


def _certify(small_closed: sp.Expr, large: sp.Expr, exact: sp.Expr, what: str) -> None:
    """Both branches of a stable weight equal the SymPy integral ``exact`` (the small-h branch with the closed
    form ``phi(k)`` in place of its series, which tests/test_phi.py checks): the stable forms change the
    floating-point evaluation, never the value."""
    for branch in (small_closed, large):
        if sp.simplify(branch.rewrite(sp.exp) - exact) != 0:   # pragma: no cover - certificate
            raise AssertionError(f"stable {what} {branch} does not match its integral {exact}")


def _psi_stable(k: int, hh=H, final_step: bool = False) -> sp.Expr:
    """k! psi_k(h) = int_0^h e^{-u} u^k du = k! h^{k+1} e^{-h} phi_{k+1}(h) (003 eq. (9.4.9)): that product with
    the phi series for h < 2 (the closed form 1 - e^{-h} sum_{j<=k} h^j/j! loses all digits as h -> 0, it is
    O(h^{k+1})), the closed form for h >= 2 (finite at h = +inf; with ``final_step`` its h^j e^{-h} are 0 at
    sigma_t = 0)."""
    large = sp.factorial(k) * (-expm1(-H) - sp.Add(*[H**j * sp.exp(-H) / sp.factorial(j) for j in range(1, k + 1)]))
    if k == 0:
        return large.subs(H, hh)
    _certify(sp.factorial(k) * H**(k + 1) * sp.exp(-H) * phi(k + 1, H), large, sp.factorial(k) * _psi(k), f"psi_{k}")
    if final_step:
        large = large.subs({H**j * sp.exp(-H): _tail(j) for j in range(1, k + 1)}, simultaneous=True)
    return _small_h(sp.factorial(k) * H**(k + 1) * sp.exp(-H) * _phi_taylor(k + 1, H), large).subs(H, hh)


def _chi_stable(k: int, final_step: bool = False) -> sp.Expr:
    """k! chi_k(h) = int_0^h e^{u-h} u^k du = k! h^{k+1} phi_{k+1}(-h): with the phi series for h < 2, else the
    closed forms -expm1(-h), h + expm1(-h), h (h - 2) - 2 expm1(-h) (no cancellation for h >= 2)."""
    large = [-expm1(-H), H + expm1(-H), H * (H - 2) - 2 * expm1(-H)][k]
    if k == 0:
        return large
    _certify(sp.factorial(k) * H**(k + 1) * phi(k + 1, -H), large, sp.factorial(k) * _chi(k), f"chi_{k}")
    out = _small_h(sp.factorial(k) * H**(k + 1) * _phi_taylor(k + 1, -H), large)
    return _final(out) if final_step else out


def _stable_psi_over_hk(k: int, hh=H) -> sp.Expr:
    """psi_k(h)/h^k = -expm1(-h)/h^k - e^{-h} sum_{j=1}^k h^{j-k}/j!: finite at h = +inf (every e^{-h} term
    carries a non-positive power of h); certified equal to the SymPy integral ``_psi(k)/h^k``."""
    out = -expm1(-hh) / hh**k - sp.exp(-hh) * sp.Add(*[hh**(j - k) / sp.factorial(j) for j in range(1, k + 1)])
    if sp.simplify(out.rewrite(sp.exp) - _psi(k, hh) / hh**k) != 0:   # pragma: no cover - certificate
        raise AssertionError(f"stable form of psi_{k}(h)/h^{k} does not match its integral")
    return out


# --- DPM-Solver (noise prediction, single step) ------------------------------------------------------

def _eps_scale():
    """alpha_t sigma_s / alpha_s = alpha_t e^{-lambda_s} = sigma_t e^{h}: the common factor of the eps weights."""
    return ALPHA_T * SIGMA_S / ALPHA_S


@checked(x=EXPR, eps=EXPR, alpha_s=POSITIVE, sigma_s=POSITIVE, alpha_t=POSITIVE, hh=POSITIVE)
def dpm_solver_1(x=X, eps=EPS_S, alpha_s=ALPHA_S, sigma_s=SIGMA_S, alpha_t=ALPHA_T, hh=H) -> sp.Expr:
    r"""DPM-Solver-1: eps frozen at s (n = 1 in 003 eq. (9.4.7)); x_t = (alpha_t/alpha_s) x - sigma_t (e^h - 1) eps
    (003 eq. (9.4.8)), written as (alpha_t/alpha_s) x - (alpha_t sigma_s/alpha_s) (1 - e^{-h}) eps.
    alpha_s, sigma_s, alpha_t > 0 (scales; sigma_t = 0 at the final step is h = +inf), hh = h > 0."""
    weight = (_psi(0, H) * _eps_scale()).subs(sp.exp(-H), 1 + expm1(-H))     # 1 - e^{-h} = -expm1(-h)
    out = ALPHA_T / ALPHA_S * X - sp.expand(weight) * EPS_S
    return out.subs({X: x, EPS_S: eps, ALPHA_S: alpha_s, SIGMA_S: sigma_s, ALPHA_T: alpha_t, H: hh},
                    simultaneous=True)


@checked(ratio=UNIT, stable=FLAG)
def dpm_solver_2(ratio=R1, stable: bool = False) -> sp.Expr:
    r"""DPM-Solver-2 in the Taylor form of 003 eq. (9.4.11): eps'(lambda_s) ~ (eps_1 - eps_s)/(r h) with eps_1 the
    model at lambda_s + r h (the stage point, reached by ``dpm_solver_1`` with step r h); the n = 2 truncation
    of 003 eq. (9.4.7):
        x_t = DPM-Solver-1 - (alpha_t sigma_s/alpha_s) psi_1(h) (eps_1 - eps_s)/(r h),
    psi_1(h) = int_0^h e^{-u} u du = e^{-h}(e^h - h - 1) (so the weight is sigma_t (e^h - h - 1)/(r h)).
    Arguments: x, eps_s, eps_1, alpha_s, sigma_s, alpha_t, h, r; ``ratio`` r in (0, 1] (the stage lies between s
    and t). ``stable``: psi_1(h)/h written as h e^{-h} phi_2(h) with the phi series for h < 2 (the closed form
    cancels as h -> 0), for the emitted kernel."""
    weight = _stable_psi_over_hk(1)
    if stable:
        _certify(H * sp.exp(-H) * phi(2, H), weight, _psi(1) / H, "psi_1(h)/h")
        weight = _small_h(H * sp.exp(-H) * _phi_taylor(2, H), weight)
    return dpm_solver_1() - _eps_scale() * weight / ratio * (EPS_1 - EPS_S)


@functools.cache
def third_order_ratio() -> sp.Expr:
    r"""The stage ratio r that makes the two-term Taylor form third order: (eps(lambda_s + r h) - eps_s)/(r h) =
    eps' + (r h/2) eps'' + O(h^2), so the h^3 eps'' coefficient psi_1(h) r/2 must match psi_2(h) at h -> 0:
    solve(phi_2(0) r/2 = phi_3(0)) gives r = 2/3 (Lu et al.'s DPM-Solver-3, r_2 = 2/3)."""
    r = sp.Symbol("r", positive=True)
    sol = sp.solve(sp.Eq(sp.limit(phi(2), HR, 0) * r / 2, sp.limit(phi(3), HR, 0)), r)
    return sol[0]


@checked(stable=FLAG)
def dpm_solver_3(stable: bool = False) -> sp.Expr:
    r"""DPM-Solver-3 (Lu et al. 2022, Alg. 5): stages at lambda_s + h/3 (``dpm_solver_1``) and lambda_s + 2h/3
    (``dpm_solver_2`` with step 2h/3 and ratio 1/2), then ``dpm_solver_2`` with eps_1 = eps at the second stage
    and r = ``third_order_ratio()`` = 2/3. Arguments: x, eps_s, eps_1 (second stage), alpha_s, sigma_s, alpha_t, h."""
    return dpm_solver_2(third_order_ratio(), stable=stable)


# --- DPM-Solver++ (data prediction) ------------------------------------------------------------------

def _data_first(x0=X0_S) -> sp.Expr:
    """(sigma_t/sigma_s) x + alpha_t (1 - e^{-h}) x0: x0 frozen at s in the data-prediction solution."""
    weight = sp.expand(_chi(0, H)).subs(sp.exp(-H), 1 + expm1(-H))
    return SIGMA_T / SIGMA_S * X + ALPHA_T * weight * x0


def dpm_solver_pp_1() -> sp.Expr:
    r"""DPM-Solver++ 1 (= DDIM in data prediction, 003 ch. 9.5): x_t = (sigma_t/sigma_s) x - alpha_t (e^{-h} - 1) x0_s.
    Arguments: x, x0_s, alpha_t, sigma_s, sigma_t, h."""
    return _data_first()


@checked(ratio=UNIT)
def dpm_solver_pp_2s(ratio=R1) -> sp.Expr:
    r"""DPM-Solver++(2S) (Lu et al. 2022b, Alg. 1): with x0_1 the model at the stage lambda_s + r h (reached by
    ``dpm_solver_pp_1`` with step r h), D = (1 - 1/(2r)) x0_s + 1/(2r) x0_1 and
        x_t = (sigma_t/sigma_s) x - alpha_t (e^{-h} - 1) D.
    Second order: alpha_t (1 - e^{-h}) h/2 matches the exact weight alpha_t (h - 1 + e^{-h}) of x0' to O(h^3).
    Arguments: x, x0_s, x0_1, alpha_t, sigma_s, sigma_t, h, r; ``ratio`` r in (0, 1]."""
    d = (1 - 1 / (2 * ratio)) * X0_S + X0_1 / (2 * ratio)
    return _data_first(d)


def _final(expr: sp.Expr) -> sp.Expr:
    """``expr`` where sigma_t > 0, and 0 at the final step sigma_t = 0 (printed as a select: both branches are
    evaluated, the value of the unused one is discarded)."""
    return sp.Piecewise((sp.Integer(0), sp.Eq(SIGMA_T, 0)), (expr, True))


def _tail(j: int) -> sp.Expr:
    """h^j e^{-h}, defined as its limit 0 at the final step sigma_t = 0, h = +inf (there inf * 0 would be NaN)."""
    return _final(H**j * sp.exp(-H))


@checked(final_step=FLAG)
def dpm_solver_pp_2m(final_step: bool = True) -> sp.Expr:
    r"""DPM-Solver++(2M) (003 ch. 9.5, D_i^sim): x0 linear in lambda through (lambda_{i-2}, x0_1), (lambda_{i-1}, x0_s),
    a_1 ~ (x0_s - x0_1)/h_1 and the weight of a_1 approximated by h/2 (beta(h) = h/2 + O(h^2)):
        x_t = (sigma_t/sigma_s) x + alpha_t (1 - e^{-h}) [(1 + r/2) x0_s - (r/2) x0_1],  r = h/h_1.
    At sigma_t = 0 (h = +inf) the extrapolation diverges (r = inf); ``final_step`` defines r = 0 there, i.e. the
    first-order step alpha_t x0_s (diffusers' lower_order_final).
    Arguments: x, x0_s, x0_1, alpha_t, sigma_s, sigma_t, h, h_1."""
    r = _final(H / H1) if final_step else H / H1
    return _data_first((1 + r / 2) * X0_S - r / 2 * X0_1)


@functools.cache
def _newton_coefficients(order: int, prediction: str) -> tuple[sp.Expr, ...]:
    """(P(0), P'(0), P''(0)/2) of the Lagrange interpolant P(u), u = lambda - lambda_s, through the model outputs
    at u = 0, -h_1, -h_1 - h_2 (first ``order`` of them), from SymPy's interpolating polynomial."""
    w = sp.Symbol("w", real=True)
    nodes = [sp.Integer(0), -H1, -H1 - H2][:order]
    values = (EPS_S, EPS_1, EPS_2) if prediction == "eps" else (X0_S, X0_1, X0_2)
    poly = sp.expand(sp.interpolate(list(zip(nodes, values[:order])), w))
    return tuple(sp.simplify(poly.coeff(w, k)) for k in range(order))


@functools.cache
def _lagrange_weights(order: int, prediction: str) -> tuple[sp.Expr, ...]:
    r"""Exact integrals of the Lagrange basis polynomials in u = lambda - lambda_s on nodes 0, -h_1, -h_1-h_2:
    eps: int_0^h e^{-u} l_j(u) du; x0: int_0^h e^{u-h} l_j(u) du (SymPy). Used to certify the stable forms."""
    nodes = [sp.Integer(0), -H1, -H1 - H2][:order]
    w = sp.Symbol("w", real=True)
    out = []
    for j, nj in enumerate(nodes):
        basis = sp.Mul(*[(w - nk) / (nj - nk) for k, nk in enumerate(nodes) if k != j])
        kern = sp.exp(-w) if prediction == "eps" else sp.exp(w - H)
        out.append(sp.expand(sp.integrate(sp.expand(kern * basis), (w, 0, H))))
    return tuple(out)


def _newton_stable(order: int, prediction: str) -> tuple[sp.Expr, ...]:
    """``_newton_coefficients`` in Newton's divided-difference form (d_1 = (y_s - y_1)/h_1, d_2 = (y_1 - y_2)/h_2,
    P''(0)/2 = (d_1 - d_2)/(h_1 + h_2), P'(0) = d_1 + h_1 P''(0)/2), which rounds only the differences; certified
    equal to the interpolant's coefficients."""
    ys = (EPS_S, EPS_1, EPS_2) if prediction == "eps" else (X0_S, X0_1, X0_2)
    d1 = (ys[0] - ys[1]) / H1
    if order == 1:
        out = (ys[0],)
    elif order == 2:
        out = (ys[0], d1)
    else:
        dd = (d1 - (ys[1] - ys[2]) / H2) / (H1 + H2)
        out = (ys[0], d1 + H1 * dd, dd)
    for mine, exact in zip(out, _newton_coefficients(order, prediction)):
        if sp.simplify(mine - exact) != 0:   # pragma: no cover - certificate
            raise AssertionError(f"Newton form {mine} does not match the interpolant coefficient {exact}")
    return out


def _moment_weights(prediction: str, final_step: bool, stable: bool = False) -> tuple[sp.Expr, ...]:
    """k! times int_0^h kern(u) u^k/k! du for k = 0, 1, 2 (the weights of P(0), P'(0), P''(0)/2), in stable form:
    eps (kern e^{-u}): 1 - e^{-h} sum_{j<=k} h^j/j!, times k!; x0 (kern e^{u-h}): h^k-polynomials and expm1(-h)."""
    if prediction == "eps":
        tails = [_tail(j) if final_step else H**j * sp.exp(-H) for j in range(3)]
        out = [-expm1(-H)]
        out.append(-expm1(-H) - tails[1])
        out.append(2 * (-expm1(-H) - tails[1] - tails[2] / 2))
        ref = [_psi(k) * sp.factorial(k) for k in range(3)]
    else:
        out = [-expm1(-H), H + expm1(-H), H * (H - 2) - 2 * expm1(-H)]
        ref = [_chi(k) * sp.factorial(k) for k in range(3)]
        if final_step:
            out = [out[0], _final(out[1]), _final(out[2])]
    for mine, exact in zip(out, ref):     # certificate: the stable forms are the SymPy integrals
        generic = mine.subs(SIGMA_T, 1) if final_step else mine
        if sp.simplify(generic.rewrite(sp.exp) - exact) != 0:   # pragma: no cover
            raise AssertionError(f"stable weight {mine} does not match its integral {exact}")
    if stable:      # the phi-series forms for h < 2 (the forms above cancel catastrophically as h -> 0)
        make = (lambda k: _psi_stable(k, H, final_step)) if prediction == "eps" else (lambda k: _chi_stable(k, final_step))
        out = [make(k) for k in range(3)]
    return tuple(out)


@checked(final_step=FLAG, stable=FLAG)
def dpm_solver_pp_3m(final_step: bool = True, stable: bool = False) -> sp.Expr:
    r"""DPM-Solver++ 3M derived as a multistep exponential integrator: x0 interpolated by the quadratic Lagrange
    polynomial P in lambda through (lambda_s, x0_s), (lambda_s - h_1, x0_1), (lambda_s - h_1 - h_2, x0_2) and
    sigma_t int e^{lambda} P(lambda) dlambda integrated exactly, in Taylor form (003 ch. 9.5, n = 3):
        x_t = (sigma_t/sigma_s) x + alpha_t [chi_0 P(0) + chi_1 P'(0) + chi_2 P''(0)],
    chi_k = int_0^h e^{u-h} u^k/k! du. ``final_step``: chi_1, chi_2 (which grow like h^k) are 0 at sigma_t = 0.
    Arguments: x, x0_s, x0_1, x0_2, alpha_t, sigma_s, sigma_t, h, h_1, h_2. ``stable`` (the emitted kernel):
    chi_k = h^{k+1} phi_{k+1}(-h) with the phi series for h < 2 and P in Newton's divided-difference form (the
    closed-form weights cancel catastrophically as h -> 0)."""
    coeffs = _newton_stable(3, "x0") if stable else _newton_coefficients(3, "x0")
    weights = _moment_weights("x0", final_step, stable)
    return SIGMA_T / SIGMA_S * X + ALPHA_T * sp.Add(*[w * c for w, c in zip(weights, coeffs)])


# --- DEIS (noise prediction, Lagrange bases in lambda) ------------------------------------------------

@checked(order=integer(1, 3), final_step=FLAG, stable=FLAG)
def deis(order: int, final_step: bool = True, stable: bool = False) -> sp.Expr:
    r"""DEIS of order 1..3 (003 ch. 9.3, with the Lagrange interpolant taken in lambda: lambda-AB-DEIS): eps is
    interpolated through (lambda_s, eps_s), (lambda_s - h_1, eps_1), (lambda_s - h_1 - h_2, eps_2) and
        x_t = (alpha_t/alpha_s) x - alpha_t sum_j eps_j int_{lambda_s}^{lambda_t} e^{-lambda} l_j(lambda) dlambda,
    the coefficients C_j = int_0^h e^{-u} l_j(u) du integrated exactly by SymPy (written in Taylor form with the
    interpolant's derivatives at lambda_s; tests certify equality with the basis integrals). At sigma_t = 0
    (h = +inf) the weights have finite limits; h^j e^{-h} is defined as 0 there. Arguments: x, eps_s, eps_1,
    eps_2, alpha_s, sigma_s, alpha_t, sigma_t, h, h_1, h_2 (the unused ones of lower orders drop out). ``stable``
    (the emitted kernel): weights k! h^{k+1} e^{-h} phi_{k+1}(h) with the phi series for h < 2, interpolant in
    Newton's divided-difference form."""
    coeffs = _newton_stable(order, "eps") if stable else _newton_coefficients(order, "eps")
    weights = _moment_weights("eps", final_step, stable)[:order]
    return ALPHA_T / ALPHA_S * X - _eps_scale() * sp.Add(*[w * c for w, c in zip(weights, coeffs)])


# --- DDIM --------------------------------------------------------------------------------------------

def ddim() -> sp.Expr:
    r"""DDIM (eta = 0), derived by re-noising: x0_hat = (x - sigma_s eps)/alpha_s solved from x = alpha_s x0 + sigma_s eps,
    then x_t = alpha_t x0_hat + sigma_t eps (003 eq. (9.2.3), last line; 001 eq. (12)). Identical to
    ``dpm_solver_1`` once e^h = alpha_t sigma_s/(sigma_t alpha_s) (003 Prop. 9.2.1; checked in tests)."""
    x0 = sp.solve(sp.Eq(X, ALPHA_S * sp.Symbol("x_0") + SIGMA_S * EPS_S), sp.Symbol("x_0"))[0]
    return ALPHA_T * x0 + SIGMA_T * EPS_S


@checked(alpha_s=POSITIVE, sigma_s=POSITIVE, alpha_t=POSITIVE, sigma_t=POSITIVE)
def h_of(alpha_s=ALPHA_S, sigma_s=SIGMA_S, alpha_t=ALPHA_T, sigma_t=SIGMA_T) -> sp.Expr:
    """h = lambda_t - lambda_s = log(alpha_t sigma_s/(sigma_t alpha_s)) (003 eq. (9.4.2)); every scale > 0 (h is
    finite only for sigma_t > 0; the final step sigma_t = 0 is h = +inf, handled by the updates' ``final_step``)."""
    return sp.log(alpha_t / sigma_t) - sp.log(alpha_s / sigma_s)


# --- kernels -----------------------------------------------------------------------------------------

def kernel_specs() -> list[KernelSpec]:
    """The updates as emitted kernels (modules "dpm_solver", "deis", "phi"); argument order in ``formula``."""
    mod = "derive.exp_integrator."
    eps_args = (X, EPS_S, ALPHA_S, SIGMA_S, ALPHA_T, H)
    data_args = (X, X0_S, ALPHA_T, SIGMA_S, SIGMA_T, H)
    specs = [
        KernelSpec("dpm_solver_1_step", "dpm_solver", eps_args, dpm_solver_1(),
                   "args (x, eps_s, alpha_s, sigma_s, alpha_t, h): x_t = (alpha_t/alpha_s) x - (alpha_t sigma_s/alpha_s)"
                   " (1 - e^{-h}) eps_s  [= sigma_t (e^h - 1) eps_s; finite at sigma_t = 0, h = inf]",
                   mod + "dpm_solver_1", "dpm-solver.1"),
        KernelSpec("dpm_solver_2_step", "dpm_solver", (X, EPS_S, EPS_1, ALPHA_S, SIGMA_S, ALPHA_T, H, R1),
                   dpm_solver_2(stable=True),
                   "args (x, eps_s, eps_1, alpha_s, sigma_s, alpha_t, h, r_1): DPM-Solver-1 - sigma_t (e^h - h - 1)"
                   " (eps_1 - eps_s)/(r_1 h), eps_1 = eps at lambda_s + r_1 h (003 eq. (9.4.11))",
                   mod + "dpm_solver_2", "dpm-solver.2"),
        KernelSpec("dpm_solver_3_step", "dpm_solver", (X, EPS_S, EPS_1, ALPHA_S, SIGMA_S, ALPHA_T, H),
                   dpm_solver_3(stable=True),
                   "args (x, eps_s, eps_1, alpha_s, sigma_s, alpha_t, h): final stage of DPM-Solver-3, eps_1 = eps at"
                   " lambda_s + 2h/3 (stages: dpm_solver_1_step to h/3, dpm_solver_2_step to 2h/3 with r_1 = 1/2)",
                   mod + "dpm_solver_3", "dpm-solver.3"),
        KernelSpec("dpm_solver_pp_1_step", "dpm_solver", data_args, dpm_solver_pp_1(),
                   "args (x, x0_s, alpha_t, sigma_s, sigma_t, h): x_t = (sigma_t/sigma_s) x - alpha_t expm1(-h) x0_s",
                   mod + "dpm_solver_pp_1", "dpm-solver-pp.1"),
        KernelSpec("dpm_solver_pp_2s_step", "dpm_solver", (X, X0_S, X0_1, ALPHA_T, SIGMA_S, SIGMA_T, H, R1),
                   dpm_solver_pp_2s(),
                   "args (x, x0_s, x0_1, alpha_t, sigma_s, sigma_t, h, r_1): x_t = (sigma_t/sigma_s) x - alpha_t expm1(-h)"
                   " [(1 - 1/(2 r_1)) x0_s + x0_1/(2 r_1)], x0_1 = x0 at lambda_s + r_1 h", mod + "dpm_solver_pp_2s",
                   "dpm-solver-pp.2s"),
        KernelSpec("dpm_solver_pp_2m_step", "dpm_solver", (X, X0_S, X0_1, ALPHA_T, SIGMA_S, SIGMA_T, H, H1),
                   dpm_solver_pp_2m(),
                   "args (x, x0_s, x0_1, alpha_t, sigma_s, sigma_t, h, h_1): x_t = (sigma_t/sigma_s) x - alpha_t expm1(-h)"
                   " [(1 + r/2) x0_s - (r/2) x0_1], r = h/h_1, x0_1 the previous step's x0; sigma_t = 0: alpha_t x0_s",
                   mod + "dpm_solver_pp_2m", "dpm-solver-pp.2m"),
        KernelSpec("dpm_solver_pp_3m_step", "dpm_solver", (X, X0_S, X0_1, X0_2, ALPHA_T, SIGMA_S, SIGMA_T, H, H1, H2),
                   dpm_solver_pp_3m(stable=True),
                   "args (x, x0_s, x0_1, x0_2, alpha_t, sigma_s, sigma_t, h, h_1, h_2): x_t = (sigma_t/sigma_s) x +"
                   " alpha_t sum_j W_j x0_j, W_j = int_0^h e^{u-h} l_j(u) du (quadratic Lagrange basis on 0, -h_1,"
                   " -h_1-h_2); sigma_t = 0: alpha_t x0_s", mod + "dpm_solver_pp_3m", "dpm-solver-pp.3m"),
        KernelSpec("ddim_step", "dpm_solver", (X, EPS_S, ALPHA_S, SIGMA_S, ALPHA_T, SIGMA_T), ddim(),
                   "args (x, eps_s, alpha_s, sigma_s, alpha_t, sigma_t): x_t = alpha_t (x - sigma_s eps_s)/alpha_s"
                   " + sigma_t eps_s", mod + "ddim", "ddim.ode"),
    ]
    deis_args = {1: (X, EPS_S, ALPHA_S, SIGMA_S, ALPHA_T, H),
                 2: (X, EPS_S, EPS_1, ALPHA_S, SIGMA_S, ALPHA_T, SIGMA_T, H, H1),
                 3: (X, EPS_S, EPS_1, EPS_2, ALPHA_S, SIGMA_S, ALPHA_T, SIGMA_T, H, H1, H2)}
    for k in (1, 2, 3):
        specs.append(KernelSpec(
            f"deis_{k}_step", "deis", deis_args[k], deis(k, stable=True),
            f"args ({', '.join(a.name for a in deis_args[k])}): x_t = (alpha_t/alpha_s) x - (alpha_t sigma_s/alpha_s)"
            f" sum_j C_j eps_j, C_j = int_0^h e^{{-u}} l_j(u) du, Lagrange basis on the last {k} log-SNR nodes"
            " (eps_1, eps_2 at lambda_s - h_1, lambda_s - h_1 - h_2); sigma_t = 0: the h -> inf limit",
            mod + "deis", f"deis.{k}"))
    for k in (1, 2, 3):
        specs.append(KernelSpec(f"phi_{k}", "phi", (HR,), stable_phi(k),
                                f"args (h,): phi_{k}(h) = int_0^1 e^{{(1-u)h}} u^{k-1}/({k}-1)! du; series"
                                f" sum_n h^n/(n+{k})! for |h| < 2, else the recursion from expm1(h)/h",
                                mod + "phi", f"phi.{k}"))
    return specs


PHI_SERIES_TERMS = 32
PHI_SERIES_RADIUS = 2


@checked(k=integer(1))
def stable_phi(k: int) -> sp.Expr:
    """phi_k(h) as an expression that is accurate for every real h: the series for |h| < 2 (``PHI_SERIES_TERMS``
    terms, truncation < 1e-22 there), else phi_1 = expm1(h)/h and phi_{j+1} = (phi_j - 1/j!)/h (the recursion);
    the series branch replaces h by 2 in the closed branch's argument so that neither branch divides by 0."""
    series = sp.horner(sp.Add(*[HR**n / sp.factorial(n + k) for n in range(PHI_SERIES_TERMS)]))
    small = sp.Abs(HR) < PHI_SERIES_RADIUS
    hs = sp.Piecewise((sp.Integer(PHI_SERIES_RADIUS), small), (HR, True))
    closed = expm1(hs) / hs
    for j in range(1, k):
        closed = (closed - sp.Rational(1, sp.factorial(j))) / hs
    return sp.Piecewise((series, small), (closed, True))
