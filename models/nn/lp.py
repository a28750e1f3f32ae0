"""Lp units (Gulcehre, Cho, Pascanu & Bengio 2014): learned-norm pooling over groups of projections.

    h_j = ((1/N) sum_{i in P_j} |w_i^T x + b_i - c_i|^{p_j})^{1/p_j},   p_j = 1 + softplus(rho_j)

p = 1 is the mean absolute value, p = 2 the root mean square, p -> inf the
max of |.|, so one unit interpolates between average and max pooling and its
level sets are superellipses.

Numerical safety (both choices are exact in exact arithmetic up to ``eps``):

* ``|u|`` is replaced by ``sqrt(u^2 + eps^2)`` (eps = 1e-8 by default).  It is
  smooth at 0 (d/du = 0 there, as for |u|^p with p > 1), and keeps
  ``d|u|^p/dp = |u|^p log|u|`` finite where u = 0 instead of 0 * -inf = NaN.
* the group maximum ``m`` is factored out, ``h = m (mean((a/m)^p))^{1/p}``, so
  ``(a/m)^p`` lies in (0, 1] and the mean in [1/N, 1]: no overflow at large p
  and no log of 0.  ``h`` does not depend on ``m`` at all, so ``m`` goes
  through ``disconnected_grad`` (exact to every order, and skips the max's
  gradient).
"""

import numpy as np

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import SymgraphError, where
from symgraph.graph import Variable

from . import init as inits
from .layers import Layer

DEFAULT_EPS = 1e-8


def p_from_rho(rho):
    """``p = 1 + log(1 + e^rho)``, symbolic or NumPy."""
    if isinstance(rho, Variable):
        return 1.0 + T.softplus(rho)
    return 1.0 + np.logaddexp(0.0, rho)


def rho_from_p(p):
    """The inverse of ``p_from_rho`` (NumPy), for initialising at a chosen p > 1."""
    p = np.asarray(p, dtype=float)
    if np.any(p <= 1):
        raise ValueError(f"rho_from_p: p must exceed 1, got {p}")
    return np.log(np.expm1(p - 1.0))


def lp_pool(z, p, eps=DEFAULT_EPS):
    """The normalised Lp norm over the last axis of ``z`` (batch, units, pieces), ``p`` of shape (units,)."""
    z, p = T.as_tensor_variable(z), T.as_tensor_variable(p)
    if z.ndim != 3 or p.ndim != 1:
        raise SymgraphError(f"lp_pool: expected z of rank 3 (batch, units, pieces) and p of rank 1 (units,), "
                            f"got ranks {z.ndim} and {p.ndim}{where(z)}")
    a = T.sqrt(T.sqr(z) + eps ** 2)
    m = sg.gradient.disconnected_grad(T.max(a, axis=2))                  # (batch, units)
    pp = p.dimshuffle("x", 0, "x")
    ratio_p = T.exp(pp * (T.log(a) - T.log(m.dimshuffle(0, 1, "x"))))    # (a/m)^p in (0, 1]
    return m * T.exp(T.log(T.mean(ratio_p, axis=2)) / p.dimshuffle("x", 0))


def np_lp_pool(z, p, eps=DEFAULT_EPS):
    """NumPy reference of ``lp_pool`` (the plain formula, for checks)."""
    a = np.sqrt(np.square(z) + eps ** 2)
    p = np.asarray(p)[None, :, None]
    return np.mean(a ** p, axis=2) ** (1.0 / p[..., 0])


class Lp(Layer):
    """``n_out`` Lp units, each pooling ``pieces`` projections of x (batch, n_in) with its own learned p.

    Parameters: ``W`` (n_in, n_out * pieces), ``b`` and the centres ``c``
    (n_out * pieces,), ``rho`` (n_out,).  ``b - c`` is one bias in effect; ``c``
    is kept (``center=True``) because the paper's unit has it, and ``center=False``
    drops it.  ``p_init`` is a scalar or an array of initial p values (> 1).
    """

    def __init__(self, n_in, n_out, pieces=2, p_init=2.0, center=True, rng=None, init=inits.glorot_uniform,
                 eps=DEFAULT_EPS, name=None):
        super().__init__(name)
        rng = rng if rng is not None else np.random.default_rng(0)
        self.n_out, self.pieces, self.eps = n_out, pieces, eps
        self.W = self._param("W", init(rng, (n_in, n_out * pieces)))
        self.b = self._param("b", inits.zeros(rng, (n_out * pieces,)))
        self.c = self._param("c", inits.zeros(rng, (n_out * pieces,))) if center else None
        rho = np.broadcast_to(rho_from_p(p_init), (n_out,)).astype(sg.config.floatX)
        self.rho = self._param("rho", rho.copy())

    @property
    def p(self):
        """The symbolic p of each unit, shape (n_out,)."""
        return p_from_rho(self.rho)

    def p_values(self):
        """The current p of each unit (NumPy)."""
        return p_from_rho(self.rho.get_value())

    def pre_pool(self, x):
        """The projections ``x W + b - c`` as (batch, n_out, pieces)."""
        z = T.dot(x, self.W) + self.b
        if self.c is not None:
            z = z - self.c
        return T.reshape(z, (x.shape[0], self.n_out, self.pieces))

    def __call__(self, x):
        return lp_pool(self.pre_pool(x), self.p, self.eps)
