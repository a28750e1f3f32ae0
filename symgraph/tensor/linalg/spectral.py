"""Spectral factorisations: eigh, eigvalsh and svd (batched over leading axes, as NumPy).

Derivatives follow the classical perturbation results (Magnus 1985; Townsend
2016 for the SVD, written as JAX writes its forward rule).  They hold where the
factorisation is smooth:

* eigenvalues: where they are distinct (an eigenvalue's gradient is
  ``v v^T``); at a repeated one the result stays finite, one of the one-sided
  derivatives, chosen by LAPACK's eigenvectors;
* eigenvectors: only for distinct eigenvalues; the gradient divides by
  ``w_j - w_i``, so a repeated eigenvalue gives inf/NaN;
* singular values: where they are distinct from one another; singular
  vectors also need nonzero singular values (full rank).

Eigen- and singular vectors are defined up to sign (a column may flip with no
change to ``a``), so only costs that do not depend on those signs (``v v^T``,
``u diag(s) vh``, or vectors with a sign convention applied) have
gradients that mean anything; the formulas are for LAPACK's choice held fixed.
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
    col,
    diag_embed,
    diag_part,
    eye_like,
    is_zero,
    matmul,
    matrix_type,
    mT,
    row,
    run_lapack,
    symmetric_adjoint,
    symmetric_from_triangle,
)

__all__ = ["SVD", "Eigh", "Eigvalsh", "eigh", "eigvalsh", "svd"]


def eigh(a, UPLO="L"):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, as ``np.linalg.eigh``.

    Returns ``(w, v)`` with ``a @ v == v * w``; only the triangle ``UPLO``
    ('L' or 'U') of ``a`` is read, so the gradient lives on it.  The
    eigenvectors' gradient is undefined at repeated eigenvalues (inf/NaN): see
    the module docstring.
    """
    return tuple(Eigh(_uplo(UPLO, "eigh"))(as_float(a, "eigh")))


def eigvalsh(a, UPLO="L"):
    """Eigenvalues (ascending) of a symmetric matrix, as ``np.linalg.eigvalsh``.

    Differentiable where the eigenvalues are distinct; the gradient stays
    finite where they repeat.  Only the triangle ``UPLO`` of ``a`` is read.
    """
    return Eigvalsh(_uplo(UPLO, "eigvalsh"))(as_float(a, "eigvalsh"))


def svd(a, full_matrices=False, compute_uv=True):
    """The singular value decomposition, as ``np.linalg.svd``.

    Returns ``(u, s, vh)`` with ``a == u * s @ vh`` (``s`` descending), or
    ``s`` alone with ``compute_uv=False``.  Unlike NumPy, ``full_matrices``
    defaults to False: the extra columns of a full ``u`` or ``vh`` are not
    unique, so derivatives through them are undefined.  See the module
    docstring for when the vectors' derivative exists.
    """
    full = bool(full_matrices) and bool(compute_uv)
    out = SVD(full, bool(compute_uv))(as_float(a, "svd"))
    return tuple(out) if compute_uv else out


# ---- Ops ------------------------------------------------------------------------------------

class Eigh(Op):
    """``np.linalg.eigh`` over the last two axes: outputs ``w (..., n)`` and ``v (..., n, n)``."""

    __props__ = ("UPLO",)

    def __init__(self, UPLO="L"):
        self.UPLO = _uplo(UPLO, "Eigh")

    def make_node(self, a):
        a = as_tensor_variable(a)
        n = check_square("eigh", a)
        batch = a.type.shape[:-2]
        return Apply(self, [a], [matrix_type(a.dtype, batch + (n,)),
                                 matrix_type(a.dtype, batch + (n, n))])

    def perform(self, node, inputs, output_storage):
        (a,) = inputs
        check_square_value("eigh", a, node)
        w, v = run_lapack("eigh", node, np.linalg.eigh, a, UPLO=self.UPLO,
                          why="the eigenvalue iteration did not converge")
        output_storage[0][0] = np.asarray(w, dtype=node.outputs[0].dtype)
        output_storage[1][0] = np.asarray(v, dtype=node.outputs[1].dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        shp = tuple(input_shapes[0])
        return [shp[:-1], shp]

    def L_op(self, inputs, outputs, output_grads):
        from ..math import zeros_like

        (a,), (w, v), (gw, gv) = inputs, outputs, output_grads
        # Skipping an unused output is more than speed: the vectors' term
        # divides by eigenvalue gaps, and 0 * inf would poison the values' gradient.
        terms = []
        if not is_zero(gw):
            terms.append(diag_embed(gw))
        if not is_zero(gv):
            terms.append(_inverse_gaps(w) * matmul(mT(v), gv))
        if not terms:
            return [zeros_like(a)]
        inner = terms[0] if len(terms) == 1 else terms[0] + terms[1]
        return [symmetric_adjoint(matmul(matmul(v, inner), mT(v)), self.UPLO == "L")]

    def R_op(self, inputs, eval_points):
        (a,), (da,) = inputs, eval_points
        if da is None:
            return [None, None]
        w, v = self(a)
        k = matmul(matmul(mT(v), symmetric_from_triangle(da, self.UPLO == "L")), v)
        return [diag_part(k), matmul(v, _inverse_gaps(w) * k)]


class Eigvalsh(Op):
    """``np.linalg.eigvalsh`` over the last two axes: ``(..., n, n) -> (..., n)``."""

    __props__ = ("UPLO",)

    def __init__(self, UPLO="L"):
        self.UPLO = _uplo(UPLO, "Eigvalsh")

    def make_node(self, a):
        a = as_tensor_variable(a)
        n = check_square("eigvalsh", a)
        return Apply(self, [a], [matrix_type(a.dtype, a.type.shape[:-2] + (n,))])

    def perform(self, node, inputs, output_storage):
        (a,) = inputs
        check_square_value("eigvalsh", a, node)
        w = run_lapack("eigvalsh", node, np.linalg.eigvalsh, a, UPLO=self.UPLO,
                       why="the eigenvalue iteration did not converge")
        output_storage[0][0] = np.asarray(w, dtype=node.outputs[0].dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(input_shapes[0])[:-1]]

    def L_op(self, inputs, outputs, output_grads):
        (a,), (gw,) = inputs, output_grads
        _, v = Eigh(self.UPLO)(a)
        return [symmetric_adjoint(matmul(v * row(gw), mT(v)), self.UPLO == "L")]

    def R_op(self, inputs, eval_points):
        from ..reduction import sum as tsum

        (a,), (da,) = inputs, eval_points
        if da is None:
            return [None]
        _, v = Eigh(self.UPLO)(a)
        da = symmetric_from_triangle(da, self.UPLO == "L")
        return [tsum(v * matmul(da, v), axis=-2)]


class SVD(Op):
    """``np.linalg.svd`` over the last two axes: ``(u, s, vh)``, or ``s`` without ``compute_uv``."""

    __props__ = ("full_matrices", "compute_uv")

    def __init__(self, full_matrices=False, compute_uv=True):
        self.full_matrices, self.compute_uv = bool(full_matrices), bool(compute_uv)

    def make_node(self, a):
        a = as_tensor_variable(a)
        check_matrix("svd", a)
        batch, (m, n) = a.type.shape[:-2], a.type.shape[-2:]
        k = min(m, n) if m is not None and n is not None else None
        s = matrix_type(a.dtype, batch + (k,))
        if not self.compute_uv:
            return Apply(self, [a], [s])
        cols, rows = (m, n) if self.full_matrices else (k, k)
        return Apply(self, [a], [matrix_type(a.dtype, batch + (m, cols)), s,
                                 matrix_type(a.dtype, batch + (rows, n))])

    def perform(self, node, inputs, output_storage):
        (a,) = inputs
        out = run_lapack("svd", node, np.linalg.svd, a, full_matrices=self.full_matrices,
                         compute_uv=self.compute_uv, why="the SVD did not converge")
        out = tuple(out) if self.compute_uv else (out,)
        for cell, value, var in zip(output_storage, out, node.outputs):
            cell[0] = np.asarray(value, dtype=var.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        from ..math import minimum

        shp = tuple(input_shapes[0])
        batch, m, n = shp[:-2], shp[-2], shp[-1]
        k = minimum(m, n)
        if not self.compute_uv:
            return [batch + (k,)]
        cols, rows = (m, n) if self.full_matrices else (k, k)
        return [batch + (m, cols), batch + (k,), batch + (rows, n)]

    def L_op(self, inputs, outputs, output_grads):
        from ...gradient import grad_undefined
        from ..math import zeros_like

        (a,) = inputs
        if not self.compute_uv:
            u, _, vh = _reduced_svd(a)
            return [matmul(u * row(output_grads[0]), vh)]
        (u, s, vh), (gu, gs, gvh) = outputs, output_grads
        gu = None if is_zero(gu) else gu
        gvh = None if is_zero(gvh) else gvh
        if self.full_matrices and not _statically_square(a):
            if gu is not None or gvh is not None:
                return [grad_undefined(self, 0, a, "the extra columns of u or rows of vh from "
                                       "full_matrices=True are not unique; use full_matrices=False")]
            u, s, vh = _reduced_svd(a)
        if is_zero(gs) and gu is None and gvh is None:
            return [zeros_like(a)]
        return [_svd_backward(u, s, vh, gu, None if is_zero(gs) else gs, gvh)]

    def R_op(self, inputs, eval_points):
        (a,), (da,) = inputs, eval_points
        if da is None:
            return [None] * (3 if self.compute_uv else 1)
        if self.full_matrices and not _statically_square(a):
            raise GradientError(
                "svd: the forward-mode derivative of full_matrices=True needs a square matrix "
                "known statically (the extra columns are not unique); use full_matrices=False"
                + where(a)
            )
        u, s, vh = self(a) if self.compute_uv else _reduced_svd(a)
        return list(_svd_forward(u, s, vh, da, self.compute_uv))


# ---- helpers --------------------------------------------------------------------------------

def _uplo(UPLO, name):
    if UPLO not in ("L", "U"):
        raise OpArgumentError(f"{name}: UPLO must be 'L' or 'U', got {UPLO!r}")
    return UPLO


def _inverse_gaps(w):
    """``F[i, j] = 1 / (w[j] - w[i])`` off the diagonal, 0 on it."""
    eye = eye_like(w)
    return (1 - eye) / (row(w) - col(w) + eye)


def _reduced_svd(a):
    return SVD(False, True)(a)


def _statically_square(a):
    m, n = a.type.shape[-2:]
    return m is not None and m == n


def _svd_backward(u, s, vh, gu, gs, gvh):
    """``a``'s gradient from those of reduced ``u, s, vh`` (any of them None when unused).

    ``U [diag(gs) + (J + J^T) S + S (K + K^T)] V^T`` with ``J = F o U^T gU``,
    ``K = F o V^T gV`` and ``F[i, j] = 1 / (s_j^2 - s_i^2)``, plus the parts of
    ``gU`` and ``gV`` outside the spans of ``U`` and ``V`` (zero when square).
    """
    sr = row(s)
    f = _inverse_gaps(s * s)
    terms, extra = [], []
    if gs is not None:
        terms.append(diag_embed(gs))
    if gu is not None:
        j = f * matmul(mT(u), gu)
        terms.append((j + mT(j)) * sr)
        extra.append(matmul((gu - matmul(u, matmul(mT(u), gu))) / sr, vh))
    if gvh is not None:
        kk = f * matmul(vh, mT(gvh))
        terms.append(col(s) * (kk + mT(kk)))
        extra.append(matmul(u / sr, gvh - matmul(matmul(gvh, mT(vh)), vh)))
    inner = terms[0]
    for t in terms[1:]:
        inner = inner + t
    out = matmul(matmul(u, inner), vh)
    for t in extra:
        out = out + t
    return out


def _svd_forward(u, s, vh, da, compute_uv):
    """Tangents of reduced ``(u, s, vh)`` (or ``(s,)``) along ``da``."""
    v = mT(vh)
    ds_mat = matmul(matmul(mT(u), da), v)
    ds = diag_part(ds_mat)
    if not compute_uv:
        return (ds,)
    sr, sc = row(s), col(s)
    f = _inverse_gaps(s * s)
    ds_t = mT(ds_mat)
    du = matmul(u, f * (ds_mat * sr + sc * ds_t)) + (matmul(da, v) - matmul(u, ds_mat)) / sr
    dv = matmul(v, f * (sc * ds_mat + ds_t * sr)) + (matmul(mT(da), u) - matmul(v, ds_t)) / sr
    return du, ds, mT(dv)
