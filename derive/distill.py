r"""Progressive distillation (003 §10.3, Lemma 10.3.1 and eq. (10.3.4)): the student target is *solved* from
"one student DDIM step s -> t equals two teacher DDIM steps s -> u -> t".

The DDIM step is derive.ddim.ddim_step (deterministic, eta = 0) written with an x-prediction xhat via
eps_hat = (x_s - alpha_s xhat)/sigma_s (003 eq. (9.2.3)):  x_t = sigma_t/sigma_s x_s + alpha_s (alpha_t/alpha_s -
sigma_t/sigma_s) xhat. The teacher's x-predictions at (x_s, s) and at (x_u, u) are free symbols (x_hat_s, x_hat_u), so
the result holds for any teacher. Solving for the student's prediction gives Lemma 10.3.1 (003)
    xtilde = (sigma_s xtilde_t - sigma_t x_s) / (alpha_t sigma_s - alpha_s sigma_t),
and the same equation solved in eps- and v-parameterisation (v = alpha eps - sigma x_0, Salimans & Ho) gives the
eps- and v-targets. Guided-model distillation uses the guided teacher (1 + omega) x_c - omega x_u (eq. (10.3.4)).
"""
from __future__ import annotations

import functools

import sympy as sp

from . import ddim
from ._validate import EXPR, NONNEGATIVE, POSITIVE, checked
from .kernel_spec import KernelSpec

x_s = sp.Symbol("x_s", real=True)
a_s, a_u, a_t = sp.symbols("alpha_s alpha_u alpha_t", positive=True)
s_s, s_u, s_t = sp.symbols("sigma_s sigma_u sigma_t", positive=True)
xh_s, xh_u = sp.symbols("x_hat_s x_hat_u", real=True)     #: teacher x-predictions at (x_s, s) and (x_u, u)
target = sp.Symbol("x_tilde", real=True)
omega = sp.Symbol("omega", real=True)
xh_c, xh_unc = sp.symbols("x_hat_c x_hat_u0", real=True)


@checked(xx=EXPR, xhat=EXPR, alpha_from=POSITIVE, sigma_from=POSITIVE, alpha_to=POSITIVE, sigma_to=NONNEGATIVE)
def ddim_x(xx, xhat, alpha_from, sigma_from, alpha_to, sigma_to) -> sp.Expr:
    """Deterministic DDIM step in x-prediction form: derive.ddim.ddim_step with eps_hat = (x - alpha xhat)/sigma
    (003 eq. (9.2.3)); scales > 0, except sigma_to >= 0 (0 at the last step)."""
    xd, hd = sp.Dummy("x_in", real=True), sp.Dummy("xhat_in", real=True)   # no clash with ddim's own x_0 symbol
    eps_hat = (xd - alpha_from * hd) / sigma_from
    step = ddim.ddim_step(xd, eps_hat, alpha_to, sigma_to, alpha_from, sigma_from)
    return step.subs({xd: xx, hd: xhat}, simultaneous=True)


def teacher_two_step() -> tuple[sp.Expr, sp.Expr]:
    """(x_u, x_t) of two teacher DDIM steps s -> u -> t (003 Lemma 10.3.1)."""
    xu = ddim_x(x_s, xh_s, a_s, s_s, a_u, s_u)
    return sp.simplify(xu), sp.simplify(ddim_x(xu, xh_u, a_u, s_u, a_t, s_t))


@functools.cache
def pd_targets() -> dict[str, sp.Expr]:
    """Student targets (x, eps, v) solved from ddim_{s->t}(x_s; target) = teacher two-step output.

    Returns expressions in x_s, the alphas/sigmas at s, u, t and the teacher predictions x_hat_s, x_hat_u; also
    ``"xt_two_step"`` and ``"x_from_xt"`` (the Lemma in terms of xtilde_t, with symbol ``xtilde_t``)."""
    _, xt_two = teacher_two_step()
    out = {"xt_two_step": xt_two}
    x_target = sp.solve(sp.Eq(ddim_x(x_s, target, a_s, s_s, a_t, s_t), xt_two), target)
    out["x"] = sp.simplify(x_target[0])
    xt_sym = sp.Symbol("xtilde_t", real=True)
    out["x_from_xt"] = sp.simplify(sp.solve(sp.Eq(ddim_x(x_s, target, a_s, s_s, a_t, s_t), xt_sym), target)[0])
    # eps-target: the student predicts eps; its x-prediction is (x_s - sigma_s eps)/alpha_s
    e_t = sp.Symbol("eps_tilde", real=True)
    out["eps"] = sp.simplify(sp.solve(sp.Eq(ddim_x(x_s, (x_s - s_s * e_t) / a_s, a_s, s_s, a_t, s_t), xt_two), e_t)[0])
    # v-target: v = alpha eps - sigma x_0 with x_s = alpha x_0 + sigma eps  =>  x_0 = (alpha x_s - sigma v)/(alpha^2+sigma^2)
    v_t = sp.Symbol("v_tilde", real=True)
    x_of_v = sp.solve([sp.Eq(x_s, a_s * target + s_s * e_t), sp.Eq(v_t, a_s * e_t - s_s * target)],
                      [target, e_t], dict=True)[0][target]
    out["v"] = sp.simplify(sp.solve(sp.Eq(ddim_x(x_s, x_of_v, a_s, s_s, a_t, s_t), xt_two), v_t)[0])
    return out


@checked(w=EXPR)
def guided_teacher(w=omega) -> sp.Expr:
    """Guided x-prediction (1 + omega) x_c - omega x_u (003 eq. (10.3.4)) used as the teacher of guided PD; the
    guidance weight omega is any real number (omega = 0: the conditional model, omega = -1: the unconditional)."""
    return (1 + w) * xh_c - w * xh_unc


def kernel_specs() -> list[KernelSpec]:
    """PD targets (x, eps, v), emitted to numerics/generated/distill.py."""
    args = (x_s, xh_s, xh_u, a_s, s_s, a_u, s_u, a_t, s_t)
    t = pd_targets()
    return [KernelSpec(f"pd_target_{k}", "distill", args, t[k], f"{k}-target of one student step = two DDIM "
                       f"teacher steps: {sp.sstr(t[k])}", "derive.distill.pd_targets", f"distill.pd_target.{k}",
                       domain=_DOMAIN)
            for k in ("x", "eps", "v")]


#: valid inputs of the kernels: a VP path (alpha^2 + sigma^2 = 1) stepped from the noisiest time s through u to t
#: (alpha_s < alpha_u < alpha_t; the Lemma's denominator alpha_t sigma_s - alpha_s sigma_t is then > 0)
_DOMAIN = (("sigma_s", sp.sqrt(1 - a_s**2)), ("alpha_u", (a_s, 1)), ("sigma_u", sp.sqrt(1 - a_u**2)),
           ("alpha_t", (a_u, 1)), ("sigma_t", sp.sqrt(1 - a_t**2)))
