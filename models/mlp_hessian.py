"""Exact dense Hessians of a small tanh-MLP classifier in one compiled call.

``sg.gradient.hessian`` scans over the d gradient rows, one interpreted step
each; for the few-hundred-parameter nets of the saddle-point experiments that
costs about a second per Hessian.  Here the loss is written for d copies of the
parameters at once (a batched forward pass), and differentiating
``sum_k grad_k . e_k`` gives row k = H(theta_k) e_k, so with every copy equal
to theta the d rows form the exact Hessian, in one pass of batched matrix products.
"""

import itertools

import numpy as np

import symgraph as sg
import symgraph.tensor as T


def _layers(Theta, sizes):
    out, start = [], 0
    for a, b in itertools.pairwise(sizes):
        W = T.reshape(Theta[:, start:start + a * b], (Theta.shape[0], a, b))
        start += a * b
        bias = Theta[:, start:start + b]
        start += b
        out.append((W, bias))
    return out


def batched_mlp_loss(Theta, x, onehot, sizes, activation=T.tanh):
    """Per-row softmax cross-entropy (mean over examples) of the MLP with flat parameters ``Theta[k]``.

    The flat layout is that of ``nn.MLP(sizes).params``: W0, b0, W1, b1, ... row-major.
    """
    layers = _layers(Theta, sizes)
    W, b = layers[0]
    h = T.tensordot(x, W, axes=[[1], [1]]).dimshuffle(1, 0, 2) + b.dimshuffle(0, "x", 1)   # (k, n, out)
    for W, b in layers[1:]:
        h = T.batched_dot(activation(h), W) + b.dimshuffle(0, "x", 1)
    m = T.max(h, axis=2, keepdims=True)
    logp = h - m - T.log(T.sum(T.exp(h - m), axis=2, keepdims=True))
    return -T.mean(T.sum(logp * onehot.dimshuffle("x", 0, 1), axis=2), axis=1)


class MLPHessian:
    """``loss``, ``grad`` and exact ``hessian`` of an MLP classifier at a flat parameter vector."""

    def __init__(self, sizes, x, y, activation=T.tanh):
        self.sizes = list(sizes)
        self.size = sum(a * b + b for a, b in itertools.pairwise(sizes))
        onehot = np.eye(sizes[-1])[np.asarray(y)]
        Theta = T.matrix("Theta")
        xs, oh = T.constant(np.asarray(x, dtype=float)), T.constant(onehot)
        losses = batched_mlp_loss(Theta, xs, oh, self.sizes, activation)
        G = sg.grad(T.sum(losses), Theta)
        E = T.matrix("E")
        Hrows = sg.grad(T.sum(G * E), Theta)
        self._lg = sg.function([Theta], [losses, G])
        self._h = sg.function([Theta, E], Hrows)
        self._eye = np.eye(self.size)

    def loss_and_grad(self, theta):
        loss, g = self._lg(np.asarray(theta, dtype=float)[None, :])
        return float(loss[0]), g[0]

    def loss_and_grad_many(self, thetas):
        """Losses (k,) and gradients (k, d) at k parameter vectors in one call."""
        return self._lg(np.asarray(thetas, dtype=float))

    def hessian(self, theta):
        H = self._h(np.tile(np.asarray(theta, dtype=float), (self.size, 1)), self._eye)
        return 0.5 * (H + H.T)        # exact up to rounding; symmetrised for eigh
