"""Block mean approximation (Lu, Harandi, Hartley, Pascanu 2018) and block-mean AdaGrad.

Parameters are split into k groups (indicator P, d x k).  A symmetric M is
approximated by one number per off-diagonal block (its mean) and two per
diagonal block (mean of the diagonal a_i, mean of the off-diagonal b_ii):

    BMA(M) = Lambda + P C P^T,   Lambda = diag(a_i - b_ii) per group,  C_ij = block means, C_ii = b_ii.

Vectors orthogonal to a group's ones-vector are eigenvectors with eigenvalue
a_i - b_ii; on the span of P (orthonormal basis Q = P D^-1/2, D = diag(n_i))
the matrix is the k x k S = Lambda_k + D^1/2 C D^1/2.  So any spectral function

    f(M) v = f(lambda) * v + Q (f(S) - f(Lambda_k)) Q^T v

costs one k x k eigendecomposition and segment sums.
"""

from typing import ClassVar

import numpy as np

import symgraph as sg
import symgraph.tensor as T

from .optim.base import Optimizer


def group_indicator(sizes):
    """The d x k indicator matrix P of consecutive groups of the given sizes."""
    sizes = [int(s) for s in sizes]
    P = np.zeros((sum(sizes), len(sizes)))
    start = 0
    for i, n in enumerate(sizes):
        P[start:start + n, i] = 1.0
        start += n
    return P


def block_mean_stats(M, sizes):
    """(lam, C): per-group ``a_i - b_ii`` and the k x k block means (C_ii = b_ii) of a dense M."""
    P = group_indicator(sizes)
    n = P.sum(0)
    block_sums = P.T @ M @ P
    diag_sums = P.T @ np.diag(M)
    return _stats_from_sums(block_sums, diag_sums, n)


def _stats_from_sums(block_sums, diag_sums, n):
    a = diag_sums / n
    # a group of one has no off-diagonal entries: b_ii = 0 keeps lam = a (diagonal AdaGrad's value)
    off = np.where(n > 1, n * (n - 1), 1.0)
    b = np.where(n > 1, (np.diag(block_sums) - diag_sums) / off, 0.0)
    C = block_sums / np.outer(n, n)
    C[np.diag_indices_from(C)] = b
    return a - b, C


def block_mean_dense(M, sizes):
    """BMA(M) as a dense d x d matrix (the reference the fast path is checked against)."""
    lam, C = block_mean_stats(M, sizes)
    P = group_indicator(sizes)
    return np.diag(P @ lam) + P @ C @ P.T


def block_mean_apply(lam, C, sizes, v, fn):
    """``fn(BMA) @ v`` by the k x k route; ``fn`` maps an array of eigenvalues elementwise."""
    P = group_indicator(sizes)
    n = P.sum(0)
    sq = np.sqrt(n)
    S = np.diag(lam) + sq[:, None] * C * sq[None, :]
    w, V = np.linalg.eigh(S)
    fS = (V * fn(w)) @ V.T
    qv = (P.T @ v) / sq
    corr = (fS - np.diag(fn(lam))) @ qv
    return P @ fn(lam) * v + P @ (corr / sq)


def block_mean_apply_symbolic(lam, C, Q, v, fn):
    """Symbolic ``fn(BMA) @ v``: ``lam`` (k,), ``C`` (k, k), ``Q`` = P D^-1/2 (d, k) constant, ``v`` (d,)."""
    sq = T.sqrt(_counts(Q))
    eye = T.constant(np.eye(Q.data.shape[1], dtype=Q.dtype))
    diag = lambda x: eye * x
    S = diag(lam) + C * T.outer(sq, sq)
    w, V = T.linalg.eigh(S)
    fS = T.dot(V * fn(w), V.T)
    qv = T.dot(v, Q)
    corr = T.dot(fS - diag(fn(lam)), qv)
    # fn(lam) broadcast to the d coordinates: Q has one entry 1/sqrt(n_i) per row
    per_coord = T.dot(Q, fn(lam) * sq)
    return per_coord * v + T.dot(Q, corr)


def _counts(Q):
    # n_i = (number of rows of group i) = (sum of Q's column)^2 since each entry is 1/sqrt(n_i)
    return T.sqr(T.sum(Q, axis=0))


class BlockMeanAdaGrad(Optimizer):
    """AdaGrad with the block-mean approximation of G = sum_t g g^T: ``p <- p - lr f(BMA(G)) g``.

    ``f(x) = 1 / (sqrt(max(x, 0)) + eps)``, as in full-matrix AdaGrad.  The
    state is only k x k: per-group sums of squared gradients (the diagonal
    blocks' traces) and sums of outer products of per-group gradient sums
    (the blocks' entry sums).  ``groups``: for each parameter, a list of group
    sizes covering its flattened entries in order (default: one group per
    parameter); all of a parameter group's groups share one k x k system.
    """

    defaults: ClassVar[dict] = {"eps": 1e-8, "groups": None}

    def _group_updates(self, params, grads, h):
        sizes_per_param = h["groups"] or [[int(np.prod(p.get_value().shape))] for p in params]
        sizes = [s for per in sizes_per_param for s in per]
        for p, per in zip(params, sizes_per_param):
            if sum(per) != int(np.prod(p.get_value().shape)):
                raise ValueError(f"BlockMeanAdaGrad: groups {per} do not cover {p.name} "
                                 f"of {int(np.prod(p.get_value().shape))} entries")
        P = group_indicator(sizes)
        n = P.sum(0)
        dtype = params[0].get_value().dtype
        Q = T.constant((P / np.sqrt(n)).astype(dtype))
        Pc = T.constant(P.astype(dtype))
        k = len(sizes)
        diag_sum = self._slot(params[0], "group_square_sum", np.zeros(k, dtype=dtype))
        block_sum = self._slot(params[0], "block_sum", np.zeros((k, k), dtype=dtype))
        g = T.concatenate([T.flatten(gi) for gi in grads]) if len(grads) > 1 else T.flatten(grads[0])
        seg = T.dot(g, Pc)
        diag_new = diag_sum + T.dot(T.sqr(g), Pc)
        block_new = block_sum + T.outer(seg, seg)
        nc = T.constant(n.astype(dtype))
        a = diag_new / nc
        off = T.constant(np.where(n > 1, n * (n - 1), 1.0).astype(dtype))
        has_off = T.constant((n > 1).astype(dtype))
        eye = T.constant(np.eye(k, dtype=dtype))
        b = has_off * (T.sum(block_new * eye, axis=1) - diag_new) / off
        C = (block_new / T.outer(nc, nc)) * (1.0 - eye) + eye * b
        eps = h["eps"]
        step = block_mean_apply_symbolic(a - b, C, Q, g, lambda x: 1.0 / (T.sqrt(T.maximum(x, 0.0)) + eps))
        out = [(diag_sum, diag_new), (block_sum, block_new)]
        start = 0
        for p in params:
            m = int(np.prod(p.get_value().shape))
            out.append((p, p - h["lr"] * T.reshape(step[start:start + m], p.get_value().shape)))
            start += m
        return out


def inverse_sqrt_function(eps=0.0):
    """NumPy ``x -> (max(x, 0) + eps)^-1/2`` for ``block_mean_apply``."""
    return lambda x: (np.maximum(x, 0.0) + eps) ** -0.5


def symbolic_block_mean_inverse_sqrt(sizes, eps=0.0):
    """A compiled ``(lam, C, v) -> BMA^-1/2 v`` through the symbolic k x k route."""
    P = group_indicator(sizes)
    Q = T.constant(P / np.sqrt(P.sum(0)))
    lam, C, v = T.vector("lam"), T.matrix("C"), T.vector("v")
    out = block_mean_apply_symbolic(lam, C, Q, v, lambda x: (T.maximum(x, 0.0) + eps) ** -0.5)
    return sg.function([lam, C, v], out)
