r"""The verification methods of checks/methods_cov_003.py have power: a perturbed formula (one coefficient, sign or
index changed from the document's) is refuted, and malformed claims fail with a clear error. The document's own
forms are checked by checks/test_claims.py (ids cov003.*)."""
from __future__ import annotations

import pytest

from checks import methods_cov_003 as M
from checks.catalogue import Claim

DOC = "003_e26ce74bb5fbe391.txt"


def claim(latex: str, meaning: str = "", notation: str = "003", **extra) -> Claim:
    return Claim(id="test.cov003", document=DOC, label="test", latex=latex, kind="equation", expect="holds",
                 family="test", line=0, notation=notation, meaning=meaning, extra=extra)


def holds(method, c: Claim) -> bool | None:
    return method(c, "document", 0).holds


@pytest.mark.parametrize("latex, meaning, expected", [
    (r"c_{t,s} = \eta \frac{\sigma_t}{\sigma_s} \sigma_{s|t}", "eta", True),           # the corrected (9.2.10)
    (r"c_{t,s} = \eta \frac{\sigma_s}{\sigma_t} \sigma_{t|s}", "eta", False),          # as printed
    (r"b_{t,s} = \frac{\sqrt{\sigma_t^2 + c_{t,s}^2}}{\sigma_s}", "free-c", False),     # sign flipped
    (r"a_{t,s} = \alpha_t + \alpha_s b_{t,s}", "free-c", False),
    (r"\mathbf{x}_t = \alpha_{t|s} \mathbf{x}_s + (\sigma_s - \alpha_{t|s} \sigma_t) \epsilon_{\phi^\times}(\mathbf{x}_s, s)",
     "zero-c", False),                                                                  # sigma indices swapped
    (r"\tilde{\mathbf{x}}_t = \frac{s}{t} \tilde{\mathbf{x}}_s + \left(1 - \frac{s}{t}\right) \mathbf{x}^*(\tilde{\mathbf{x}}_s, s)",
     "edm", False),
])
def test_ddim_family(latex, meaning, expected):
    assert holds(M.ddim_family, claim(latex, meaning)) is expected


def test_exp_integral_power():
    good = (r"\tilde{\mathbf{x}}_t = \mathcal{E}(s \rightarrow t) \tilde{\mathbf{x}}_s + \left(\frac{1}{2} \int_s^t "
            r"\frac{g^2(\tau)}{\sigma_\tau} \mathcal{E}(\tau \rightarrow t) d\tau \right) \epsilon_{\phi^\times}(\tilde{\mathbf{x}}_s, s)")
    assert holds(M.exp_integral, claim(good)) is True
    assert holds(M.exp_integral, claim(good.replace(r"\frac{1}{2}", r"\frac{1}{3}"))) is False
    assert holds(M.exp_integral, claim(good.replace(r"\mathcal{E}(s \rightarrow t)", r"\mathcal{E}(t \rightarrow s)"))) is False


@pytest.mark.parametrize("change", [(r"e^{-\lambda}", r"e^{\lambda}"), (r"\frac{\alpha_t}{\alpha_s}", r"\frac{\alpha_s}{\alpha_t}"),
                                    (r"- \alpha_t \int", r"- \alpha_s \int")])
def test_voc_lambda_power(change):
    good = (r"\tilde{\mathbf{x}}_t = \frac{\alpha_t}{\alpha_s} \tilde{\mathbf{x}}_s - \alpha_t \int_{\lambda_s}^{\lambda_t} "
            r"e^{-\lambda} \hat{\epsilon}_{\phi^\times}(\hat{\mathbf{x}}_\lambda, \lambda) d\lambda")
    assert holds(M.voc_lambda, claim(good)) is True
    assert holds(M.voc_lambda, claim(good.replace(*change))) is False


def test_frozen_step_power():
    exp_euler = (r"\mathbf{x}_{s-\Delta s}^{\text{Exp-Euler}} = e^{-f(s)\Delta s}\mathbf{x}_s + "
                 r"\frac{e^{-f(s)\Delta s} - 1}{f(s)} \mathbf{N}(\mathbf{x}_s, s)")
    assert holds(M.frozen_step, claim(exp_euler, "exp-euler")) is True
    assert holds(M.frozen_step, claim(exp_euler.replace(r"e^{-f(s)\Delta s}\mathbf", r"e^{f(s)\Delta s}\mathbf"), "exp-euler")) is False
    assert holds(M.frozen_step, claim(exp_euler, "euler")) is False       # exp-Euler is not the Euler step
    euler = r"\mathbf{x}_{s-\Delta s}^{\text{Euler}} = \mathbf{x}_s + \Delta s [f(s) \mathbf{x}_s + \mathbf{N}(\mathbf{x}_s, s)]"
    assert holds(M.frozen_step, claim(euler, "euler")) is False           # wrong direction of the step


def test_taylor_eps_power():
    good = (r"\mathbf{x}_t = \frac{\alpha_t}{\alpha_s} \mathbf{x}_s - \sigma_t (e^h - 1) \hat{\epsilon}_{\phi^\times}(\hat{\mathbf{x}}_{\lambda_s}, \lambda_s)"
            r" - \sigma_t (e^h - h - 1) \hat{\epsilon}_{\phi^\times}^{(1)}(\hat{\mathbf{x}}_{\lambda_s}, \lambda_s)")
    assert holds(M.taylor_eps, claim(good)) is True
    assert holds(M.taylor_eps, claim(good.replace("(e^h - h - 1)", "(e^h - 1)"))) is False


def test_reread_power():
    good = r"\tilde{\Psi}_{T \rightarrow t}(\mathbf{x}(T)) = \mathbf{x}(T) + \int_T^t \mathbf{v}_{\phi^\times}(\mathbf{x}(\tau), \tau) d\tau"
    assert holds(M.reread_method, claim(good, notation="cm_003", delegate="consistency")) is True
    assert holds(M.reread_method, claim(good.replace(r"\int_T^t", r"\int_t^T"), notation="cm_003", delegate="consistency")) is False


def test_clear_errors():
    with pytest.raises(TypeError, match="text must be a string"):
        M.reread(None)
    with pytest.raises(ValueError, match="delegate must name a plugin method"):
        M.reread_method(claim("x = y", notation="cm_003", delegate="no-such-method"), "document", 0)
    with pytest.raises(ValueError, match="notation must be one of"):
        M.reread_method(claim("x = y", notation="003", delegate="consistency"), "document", 0)
    with pytest.raises(M.CovClaimError, match="meaning must be one of"):
        M.ddim_family(claim(r"a_{t,s} = \alpha_t", "no-such-meaning"), "document", 0)
    with pytest.raises(M.CovClaimError, match=r"symbol 'gamma'"):
        M.ddim_family(claim(r"a_{t,s} = \gamma_t", "free-c"), "document", 0)
    with pytest.raises(M.CovClaimError, match="meaning must be one of"):
        M.frozen_step(claim(r"x = y", "heun"), "document", 0)


def test_lambda_ode_power():
    good = (r"\frac{d\hat{\mathbf{x}}_\lambda}{d\lambda} = \frac{\alpha'_\lambda}{\alpha_\lambda} \hat{\mathbf{x}}_\lambda"
            r" - \sigma_\lambda \hat{\epsilon}_{\phi^\times}(\hat{\mathbf{x}}_\lambda, \lambda)")
    assert holds(M.lambda_ode, claim(good)) is True
    assert holds(M.lambda_ode, claim(good.replace(r"- \sigma_\lambda", r"+ \sigma_\lambda"))) is False
    assert holds(M.lambda_ode, claim(good.replace(r"\frac{\alpha'_\lambda}{\alpha_\lambda}", r"\alpha'_\lambda"))) is False


def test_ddim_family_in_law():
    """(9.2.7): rows compared in law given x_0; merging the independent noises eps and eps' changes the law."""
    good = (r"\mathbf{x}_t &= a_{t,s} \mathbf{x}_0 + b_{t,s} \mathbf{x}_s + c_{t,s} \epsilon \\ &= a_{t,s} \mathbf{x}_0 + "
            r"b_{t,s} (\alpha_s \mathbf{x}_0 + \sigma_s \epsilon') + c_{t,s} \epsilon \\ &= (a_{t,s} + b_{t,s} \alpha_s) "
            r"\mathbf{x}_0 + \sqrt{b_{t,s}^2 \sigma_s^2 + c_{t,s}^2} \epsilon''")
    assert holds(M.ddim_family, claim(good, "law")) is True
    assert holds(M.ddim_family, claim(good.replace(r"\sigma_s \epsilon')", r"\sigma_s \epsilon)"), "law")) is False
    assert holds(M.ddim_family, claim(good.replace(r"+ c_{t,s}^2}", r"- c_{t,s}^2}"), "law")) is False


def test_vsd_gradient_power():
    good = (r"\nabla_{\theta} \mathcal{L}_{\text{VSD}}(\theta) = \mathbb{E}_{t, \mathbf{z}, \epsilon} [\omega(t) \alpha_t "
            r"(\nabla_{\mathbf{x}} \log p_t^\theta(\hat{\mathbf{x}}_t) - \nabla_{\mathbf{x}} \log p_t(\hat{\mathbf{x}}_t)) "
            r"\cdot \partial_{\theta} \mathbf{G}_{\theta}(\mathbf{z})]")
    assert holds(M.vsd_gradient, claim(good)) is True
    assert holds(M.vsd_gradient, claim(good.replace(r"\omega(t) \alpha_t (", r"\omega(t) ("))) is False
    with pytest.raises(M.CovClaimError, match="one expectation"):
        M.vsd_gradient(claim(r"\nabla_{\theta} \mathcal{L}_{\text{VSD}}(\theta) = \alpha_t"), "document", 0)


def test_fm_cfm_power():
    good = (r"\mathcal{L}_{\text{FM}}(\phi) = \mathbb{E}_{t, \mathbf{z} \sim \pi(\mathbf{z}), \mathbf{x}_t \sim p_t(\cdot | "
            r"\mathbf{z})} \left[\|\mathbf{v}_\phi(\mathbf{x}_t, t) - \mathbf{v}_t(\mathbf{x}_t | \mathbf{z})\|^2 \right] + C")
    assert holds(M.fm_cfm, claim(good)) is True
    assert holds(M.fm_cfm, claim(good.replace(r"(\mathbf{x}_t, t) - \mathbf{v}_t", r"(\mathbf{x}_t, t) + \mathbf{v}_t"))) is False
    with pytest.raises(M.CovClaimError, match="plus a constant C"):
        M.fm_cfm(claim(good.replace(" + C", "")), "document", 0)
