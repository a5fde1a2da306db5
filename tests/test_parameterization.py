"""derive.parameterization: every conversion against the ground truth, round trips, Tweedie vs Bayes."""
import itertools

import mpmath
import pytest
import sympy as sp

from derive import data, gaussian, parameterization as par, schedules

x0, e, u = sp.symbols("x_0 epsilon u", real=True)
a, s = sp.symbols("a s", positive=True)
xt = a * x0 + s * e
TRUTH = {"eps": e, "x0": x0, "v": a * e - s * x0, "score": -e / s}   # the conditional targets given (x0, eps)


@pytest.mark.parametrize("src,dst", [p for p in itertools.permutations(par.TARGETS, 2)])
def test_conversion_maps_the_true_target_to_the_true_target(src, dst):
    assert sp.simplify(par.convert(src, dst, TRUTH[src], xt, a, s) - TRUTH[dst]) == 0


@pytest.mark.parametrize("src,dst", [p for p in itertools.combinations(par.TARGETS, 2)])
def test_round_trips_are_the_identity(src, dst):
    xx = sp.Symbol("x", real=True)
    there = par.convert(src, dst, u, xx, a, s)
    assert sp.simplify(par.convert(dst, src, there, xx, a, s) - u) == 0
    back = par.convert(dst, src, u, xx, a, s)
    assert sp.simplify(par.convert(src, dst, back, xx, a, s) - u) == 0


def test_tweedie_is_the_bayes_posterior_mean_for_gaussian_data():
    sched = schedules.generic()
    score = data.gaussian().score(sched)                       # d/dx log N(x; alpha m, alpha^2 v + sigma^2)
    al, sg = sched.alpha(), sched.sigma()
    post_mean, _ = gaussian.bayes_linear(sp.Symbol("m", real=True), sp.Symbol("v", positive=True),
                                         al, 0, sg**2, sp.Symbol("x", real=True))
    tweedie = par.tweedie_x0(sp.Symbol("x", real=True), score, al, sg)
    assert sp.simplify(tweedie - post_mean) == 0
    assert sp.simplify(par.tweedie_eps(sp.Symbol("x", real=True), score, al, sg) + sg * score) == 0


@mpmath.workdps(30)
def test_tweedie_for_a_mixture_matches_quadrature():
    mix = data.Mixture((sp.Rational(1, 3), sp.Rational(2, 3)), (sp.Integer(-1), sp.Rational(3, 2)),
                       (sp.Rational(1, 5), sp.Rational(2, 5)))
    al, sg, xv = sp.Rational(4, 5), sp.Rational(3, 5), sp.Rational(1, 4)
    sched = schedules.Schedule("const", al, sg)
    score = mix.score(sched, sp.Symbol("x", real=True)).subs(sp.Symbol("x", real=True), xv)
    tweedie = sp.N(par.tweedie_x0(xv, score, al, sg), 30)
    prior = lambda y: sum(float(w) * mpmath.npdf(y, float(mu), mpmath.sqrt(float(v)))     # noqa: E731
                          for w, mu, v in zip(mix.weights, mix.means, mix.variances))
    lik = lambda y: mpmath.npdf(float(xv), float(al) * y, float(sg))                      # noqa: E731
    num = mpmath.quad(lambda y: y * prior(y) * lik(y), [-mpmath.inf, -1, 1.5, mpmath.inf])
    den = mpmath.quad(lambda y: prior(y) * lik(y), [-mpmath.inf, -1, 1.5, mpmath.inf])
    assert abs(float(tweedie) - float(num / den)) < 1e-12


def test_kernel_specs_cover_all_twelve_conversions():
    specs = par.kernel_specs()
    assert len(specs) == 12 and len({k.name for k in specs}) == 12
    for k in specs:
        assert k.expr.free_symbols <= set(k.args)


def test_bad_names_are_rejected():
    with pytest.raises(ValueError, match="src must be one of"):
        par.convert("noise", "x0", u)
    with pytest.raises(ValueError, match="dst must be one of"):
        par.convert("eps", "velocity", u)
