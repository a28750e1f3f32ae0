"""Triangular factorisations: cholesky and qr (batched over leading axes, as NumPy).

Their derivatives are triangular solves and products of the factors, so they
differentiate again.  The Cholesky rule is Murray (2016), "Differentiation of
the Cholesky decomposition", with ``Phi`` taking the lower triangle and halving
the diagonal; the QR rule is the one of Walter and Lehmann (2018) as PyTorch
writes it, extended to wide matrices by splitting ``A = [X | Y]``.
"""

import numpy as np

from ...errors import GradientError, OpArgumentError, where
from ...graph.basic import Apply
from ...graph.op import Op
from ..variable import as_tensor_variable
from ._common import (
    as_float,
    check_matrix,
    check_square,
    check_square_value,
    diag_embed,
    diag_part,
    is_zero,
    matmul,
    matrix_type,
    mT,
    run_lapack,
    symmetric_adjoint,
    symmetric_from_triangle,
    tril,
)
from .solve import SolveTriangular

__all__ = ["QR", "Cholesky", "cholesky", "qr"]


def cholesky(x, lower=True):
    """The Cholesky factor of a symmetric positive-definite matrix (or a stack of them).

    ``lower=True`` gives ``L`` with ``x = L L^T``, reading only the lower
    triangle of ``x`` (``np.linalg.cholesky``); ``lower=False`` gives ``U``
    with ``x = U^T U`` from the upper triangle.  The gradient lives on the
    triangle read.  A matrix that is not positive definite raises a
    SymgraphError (also a ``numpy.linalg.LinAlgError``) at run time.
    """
    return Cholesky(lower)(as_float(x, "cholesky"))


def qr(a, mode="reduced"):
    """The QR factorisation ``a = q r``, as ``np.linalg.qr``.

    ``mode='reduced'`` gives ``q (..., m, k)`` and ``r (..., k, n)`` with
    ``k = min(m, n)``; ``'complete'`` gives ``q (..., m, m)`` and ``r (..., m, n)``;
    ``'r'`` gives ``r`` alone (``(..., k, n)``).  Derivatives need ``r``'s
    leading ``k x k`` block to be invertible (``a``'s first ``k`` columns of
    full rank).  With ``'complete'`` and ``m > n`` the last columns of ``q``
    are not unique, so derivatives through them are undefined.
    """
    if mode not in ("reduced", "complete", "r"):
        raise OpArgumentError(f"qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    out = QR(mode)(as_float(a, "qr"))
    return tuple(out) if mode != "r" else out


# ---- Ops ------------------------------------------------------------------------------------

class Cholesky(Op):
    """``np.linalg.cholesky`` over the last two axes; ``lower=False`` returns ``L^T``."""

    __props__ = ("lower",)

    def __init__(self, lower=True):
        self.lower = bool(lower)

    def make_node(self, a):
        a = as_tensor_variable(a)
        n = check_square("cholesky", a)
        return Apply(self, [a], [matrix_type(a.dtype, a.type.shape[:-2] + (n, n))])

    def perform(self, node, inputs, output_storage):
        (a,) = inputs
        check_square_value("cholesky", a, node)
        c = run_lapack("cholesky", node, np.linalg.cholesky, a, upper=not self.lower,
                       why="the matrix is not positive definite")
        output_storage[0][0] = np.asarray(c, dtype=node.outputs[0].dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        (c,), (gc,) = outputs, output_grads
        l, gl = (c, gc) if self.lower else (mT(c), mT(gc))
        lt = mT(l)
        solve_upper = SolveTriangular(lower=False)
        # S = L^-T Phi(L^T gL) L^-1, a gradient with respect to the symmetric matrix.
        y = solve_upper(lt, _phi(matmul(lt, gl)))
        s = mT(solve_upper(lt, mT(y)))
        return [symmetric_adjoint(s, self.lower)]

    def R_op(self, inputs, eval_points):
        (a,), (da,) = inputs, eval_points
        if da is None:
            return [None]
        c = self(a)
        l = c if self.lower else mT(c)
        solve_lower = SolveTriangular(lower=True)
        # dL = L Phi(L^-1 dA L^-T).
        z = solve_lower(l, symmetric_from_triangle(da, self.lower))
        dl = matmul(l, _phi(mT(solve_lower(l, mT(z)))))
        return [dl if self.lower else mT(dl)]


class QR(Op):
    """``np.linalg.qr`` over the last two axes, for ``mode`` 'reduced', 'complete' or 'r'."""

    __props__ = ("mode",)

    def __init__(self, mode="reduced"):
        if mode not in ("reduced", "complete", "r"):
            raise OpArgumentError(f"QR: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
        self.mode = mode

    def make_node(self, a):
        a = as_tensor_variable(a)
        check_matrix("qr", a)
        batch, (m, n) = a.type.shape[:-2], a.type.shape[-2:]
        k = min(m, n) if m is not None and n is not None else None
        r = matrix_type(a.dtype, batch + ((m if self.mode == "complete" else k), n))
        if self.mode == "r":
            return Apply(self, [a], [r])
        q = matrix_type(a.dtype, batch + (m, m if self.mode == "complete" else k))
        return Apply(self, [a], [q, r])

    def perform(self, node, inputs, output_storage):
        (a,) = inputs
        out = run_lapack("qr", node, np.linalg.qr, a, mode=self.mode, why="the factorisation failed")
        out = (out,) if self.mode == "r" else tuple(out)
        for cell, value, var in zip(output_storage, out, node.outputs):
            cell[0] = np.asarray(value, dtype=var.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        from ..math import minimum

        shp = tuple(input_shapes[0])
        batch, m, n = shp[:-2], shp[-2], shp[-1]
        k = minimum(m, n)
        if self.mode == "r":
            return [batch + (k, n)]
        if self.mode == "complete":
            return [batch + (m, m), batch + (m, n)]
        return [batch + (m, k), batch + (k, n)]

    def L_op(self, inputs, outputs, output_grads):
        from ...gradient import grad_undefined

        (a,) = inputs
        if self.mode == "r":
            q, r = _reduced_qr(a)
            return [_qr_backward(a, q, r, None, output_grads[0])]
        (q, r), (gq, gr) = outputs, output_grads
        gq = None if is_zero(gq) else gq
        if self.mode == "complete" and not _statically_wide(a):
            if gq is not None:
                return [grad_undefined(self, 0, a, "the last m - n columns of q from mode="
                                       "'complete' are not unique when m > n; use mode='reduced'")]
            q, r_red = _reduced_qr(a)
            gr = gr[..., : _rows(r_red), :]
            r = r_red
        return [_qr_backward(a, q, r, gq, gr)]

    def R_op(self, inputs, eval_points):
        (a,), (da,) = inputs, eval_points
        if da is None:
            return [None] * (1 if self.mode == "r" else 2)
        if self.mode == "complete" and not _statically_wide(a):
            raise GradientError(
                "qr: the forward-mode derivative of mode='complete' needs m <= n known "
                "statically (the last m - n columns of q are not unique); use mode='reduced'"
                + where(a)
            )
        q, r = _reduced_qr(a) if self.mode == "r" else self(a)
        dq, dr = _qr_forward(a, q, r, da)
        return [dr] if self.mode == "r" else [dq, dr]


# ---- helpers --------------------------------------------------------------------------------

def _phi(m):
    """The lower triangle of ``m`` with its diagonal halved."""
    return tril(m) - 0.5 * diag_embed(diag_part(m))


def _reduced_qr(a):
    return QR("reduced")(a)


def _statically_wide(a):
    m, n = a.type.shape[-2:]
    return m is not None and n is not None and m <= n


def _rows(x):
    from ..shape import shape_i

    return shape_i(x, x.ndim - 2)


def _split_columns(x, k):
    return x[..., :, :k], x[..., :, k:]


def _qr_backward(a, q, r, gq, gr):
    """The gradient with respect to ``a`` of reduced ``q, r = qr(a)``.

    With ``k = min(m, n)``, ``A = [X | Y]`` and ``R = [U | V]`` (``U`` k x k):
    ``q, U`` factor ``X`` alone and ``V = q^T Y``, so ``Y``'s share goes back
    through ``q``; for ``m >= n``, ``Y`` and ``V`` are empty.
    """
    from ..join import concatenate

    k = _rows(r)
    _, y = _split_columns(a, k)
    u, _ = _split_columns(r, k)
    gu, gv = _split_columns(gr, k)
    gq = matmul(y, mT(gv)) if gq is None else gq + matmul(y, mT(gv))
    m = matmul(u, mT(gu)) - matmul(mT(gq), q)
    copyltu = tril(m, -1) + mT(tril(m))
    w = gq + matmul(q, copyltu)
    gx = mT(SolveTriangular(lower=False)(u, mT(w)))
    gy = matmul(q, gv)
    return concatenate([gx, gy], axis=-1)


def _qr_forward(a, q, r, da):
    """Tangents of reduced ``q, r`` along ``da``: ``q^T dq`` is antisymmetric and
    ``dU U^-1`` upper triangular, which fixes both."""
    from ..join import concatenate

    k = _rows(r)
    _, y = _split_columns(a, k)
    u, _ = _split_columns(r, k)
    dx, dy = _split_columns(da, k)
    c = mT(SolveTriangular(lower=True)(mT(u), mT(dx)))
    b = matmul(mT(q), c)
    low = tril(b, -1)
    omega = low - mT(low)
    du = matmul(b - omega, u)
    dq = matmul(q, omega) + c - matmul(q, b)
    dv = matmul(mT(dq), y) + matmul(mT(q), dy)
    return dq, concatenate([du, dv], axis=-1)
