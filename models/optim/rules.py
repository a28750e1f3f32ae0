"""The update rules: first-order methods and AdaGrad's diagonal and full-matrix forms.

Conventions follow the papers that introduced each rule (and Lasagne's
Theano code): ``eps`` sits outside the square root for AdaGrad and Adam and
inside it for RMSProp.  The step counter ``t`` starts at 1 on the first update.
"""

from typing import ClassVar

import numpy as np

import symgraph.tensor as T

from .base import Optimizer


class SGD(Optimizer):
    """``p <- p - lr g``."""

    def _param_updates(self, p, g, h):
        return [(p, p - h["lr"] * g)]


class Momentum(Optimizer):
    """Heavy ball: ``v <- mu v - lr g``; ``p <- p + v``."""

    defaults: ClassVar[dict] = {"momentum": 0.9}

    def _param_updates(self, p, g, h):
        v = self._slot(p, "velocity")
        v_new = h["momentum"] * v - h["lr"] * g
        return [(v, v_new), (p, p + v_new)]


class Nesterov(Optimizer):
    """Nesterov momentum in Sutskever's form: ``v <- mu v - lr g``; ``p <- p + mu v - lr g``."""

    defaults: ClassVar[dict] = {"momentum": 0.9}

    def _param_updates(self, p, g, h):
        v = self._slot(p, "velocity")
        v_new = h["momentum"] * v - h["lr"] * g
        return [(v, v_new), (p, p + h["momentum"] * v_new - h["lr"] * g)]


class RMSProp(Optimizer):
    """``a <- rho a + (1 - rho) g^2``; ``p <- p - lr g / sqrt(a + eps)``."""

    defaults: ClassVar[dict] = {"rho": 0.9, "eps": 1e-6}

    def _param_updates(self, p, g, h):
        a = self._slot(p, "mean_square")
        a_new = h["rho"] * a + (1 - h["rho"]) * T.sqr(g)
        return [(a, a_new), (p, p - h["lr"] * g / T.sqrt(a_new + h["eps"]))]


class Adam(Optimizer):
    """Kingma & Ba: bias-corrected first and second moments, ``p <- p - lr m^ / (sqrt(v^) + eps)``."""

    defaults: ClassVar[dict] = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}

    def _param_updates(self, p, g, h):
        m, v = self._slot(p, "m"), self._slot(p, "v")
        t = self._t()
        b1, b2 = h["beta1"], h["beta2"]
        m_new = b1 * m + (1 - b1) * g
        v_new = b2 * v + (1 - b2) * T.sqr(g)
        m_hat = m_new / (1 - b1 ** t)
        v_hat = v_new / (1 - b2 ** t)
        return [(m, m_new), (v, v_new), (p, p - h["lr"] * m_hat / (T.sqrt(v_hat) + h["eps"]))]


class AdaGrad(Optimizer):
    """Diagonal AdaGrad (Duchi et al.): ``a <- a + g^2``; ``p <- p - lr g / (sqrt(a) + eps)``."""

    defaults: ClassVar[dict] = {"eps": 1e-8}

    def _param_updates(self, p, g, h):
        a = self._slot(p, "sum_square")
        a_new = a + T.sqr(g)
        return [(a, a_new), (p, p - h["lr"] * g / (T.sqrt(a_new) + h["eps"]))]


DiagonalAdaGrad = AdaGrad


class FullMatrixAdaGrad(Optimizer):
    """Full-matrix AdaGrad: ``G <- G + g g^T``; ``p <- p - lr (eps I + G^(1/2))^-1 g``.

    ``g`` is all of a group's gradients flattened into one vector, so ``G`` is
    d x d for d parameters in the group: feasible up to d of a few thousand.
    The matrix power comes from one ``eigh`` per step; with d = 1 the rule is
    exactly diagonal AdaGrad's.
    """

    defaults: ClassVar[dict] = {"eps": 1e-8}

    def _group_updates(self, params, grads, h):
        sizes = [int(np.prod(p.get_value().shape)) for p in params]
        d = sum(sizes)
        dtype = params[0].get_value().dtype
        G = self._slot(params[0], "outer_sum", np.zeros((d, d), dtype=dtype))
        g = T.concatenate([T.flatten(gi) for gi in grads]) if len(grads) > 1 else T.flatten(grads[0])
        G_new = G + T.outer(g, g)
        w, V = T.linalg.eigh(G_new)
        scale = 1.0 / (T.sqrt(T.maximum(w, 0.0)) + h["eps"])
        step = T.dot(V, scale * T.dot(V.T, g))
        out = [(G, G_new)]
        start = 0
        for p, n in zip(params, sizes):
            out.append((p, p - h["lr"] * T.reshape(step[start:start + n], p.get_value().shape)))
            start += n
        return out
