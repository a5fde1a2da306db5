r"""Notations of the coverage claims of 003 (checks/claims/cov_003.toml): small readings of existing notations for
displays that the family files do not claim.

* "cov.nf"  003 (5.0.1): as "flow.nf" (checks/notations_flow.py: the invertible map f is the exact PF-ODE flow map
            of Gaussian data from the prior end, time 0, to the data end T; z = f^{-1}(x) the latent), and the bare
            density p(x) (no subscript, no time argument) is the density of the data end T, the law the flow models.
"""
from __future__ import annotations

from checks.notations_flow import NOTATIONS as _FLOW, T_END, _p_traj


def _p_model_end(M, tau, args, sub):
    """p(x): the density at the data end T when neither a subscript nor a time argument is given (003 (5.0.1))."""
    if not str(sub).strip("{} ") and len(args) == 1:
        return M.density(args[0], T_END)
    return _p_traj(M, tau, args, sub)


NOTATIONS = {
    "cov.nf": {**_FLOW["flow.nf"], "p": _p_model_end},
}
