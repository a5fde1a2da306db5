"""The symbol vocabulary, with assumptions declared once.

Time symbols are positive reals; the state ``x`` is a real scalar (the isotropic one-dimensional
reduction: every schedule here acts coordinate-wise, so a scalar identity is the d-dimensional one).
"""
from __future__ import annotations

import sympy as sp

t, s, u, tau = sp.symbols("t s u tau", positive=True)
h = sp.Symbol("h", positive=True)          #: step in log-SNR, or a generic step size
dt = sp.Symbol("Delta_t", positive=True)   #: a (small) time increment Δt
x, y = sp.symbols("x y", real=True)        #: state variables
x0 = sp.Symbol("x_0", real=True)           #: clean data sample
eps = sp.Symbol("epsilon", real=True)      #: standard normal noise sample
z = sp.Symbol("z", real=True)

#: data law N(m, v) (for mixtures an index k is appended)
m = sp.Symbol("m", real=True)
v = sp.Symbol("v", positive=True)

#: generic schedule: alpha(t), sigma(t) as undefined positive functions of time
alpha = sp.Function("alpha", positive=True)
sigma = sp.Function("sigma", positive=True)
#: the free diffusion of a marginal-preserving family (varsigma_t in the text; any value >= 0)
varsigma = sp.Function("varsigma", nonnegative=True)
#: an undefined density and test function, for operator identities
p = sp.Function("p", positive=True)
phi = sp.Function("phi", real=True)

__all__ = ["t", "s", "u", "tau", "h", "dt", "x", "y", "x0", "eps", "z", "m", "v",
           "alpha", "sigma", "varsigma", "p", "phi"]
