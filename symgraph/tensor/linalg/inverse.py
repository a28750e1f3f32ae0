"""Inverses and determinants: inv, pinv, det, slogdet (batched over leading axes, as NumPy).

Their derivatives are written with these same Ops and matrix products, so they
can be differentiated again: ``d inv(A) = -inv(A) dA inv(A)`` and
``d log|det A| = tr(inv(A) dA)``.
"""

import numpy as np

from ...graph.basic import Apply
from ...graph.op import Op
from ..variable import as_tensor_variable
from ._common import (
    as_float,
    check_matrix,
    check_square,
    check_square_value,
    matmul,
    matrix_type,
    mT,
    run_lapack,
)

__all__ = ["Det", "MatrixInverse", "MatrixPinv", "SLogDet", "det", "inv", "matrix_inverse",
           "pinv", "slogdet"]


def inv(a):
    """The inverse of a square matrix (or of each in a stack ``(..., n, n)``), as ``np.linalg.inv``.

    A singular matrix raises :class:`symgraph.errors.SymgraphError` (also a
    ``numpy.linalg.LinAlgError``) at run time.
    """
    return _inv(as_float(a, "inv"))


matrix_inverse = inv


def det(a):
    """The determinant of a square matrix (or of each in a stack), as ``np.linalg.det``.

    Its gradient ``det(A) inv(A)^T`` needs an invertible ``A``.
    """
    return _det(as_float(a, "det"))


def slogdet(a):
    """``(sign, log|det a|)``, as ``np.linalg.slogdet``: the stable way to a log-determinant.

    The gradient of ``sign`` is zero (it is piecewise constant); that of the
    log-determinant is ``inv(A)^T``.
    """
    return tuple(_slogdet(as_float(a, "slogdet")))


def pinv(a, rcond=None):
    """The Moore-Penrose pseudo-inverse, as ``np.linalg.pinv`` (``(..., m, n) -> (..., n, m)``).

    ``rcond``: singular values below ``rcond * largest`` count as zero (None:
    NumPy's default).  The derivative (Golub and Pereyra 1973) holds where the
    rank does not change, i.e. away from matrices with a singular value near
    the cut-off; in particular it is exact for full-rank inputs.
    """
    return MatrixPinv(rcond)(as_float(a, "pinv"))


# ---- Ops ------------------------------------------------------------------------------------

class MatrixInverse(Op):
    """``np.linalg.inv`` over the last two axes."""

    __props__ = ()

    def make_node(self, a):
        a = as_tensor_variable(a)
        n = check_square("inv", a)
        return Apply(self, [a], [matrix_type(a.dtype, a.type.shape[:-2] + (n, n))])

    def perform(self, node, inputs, output_storage):
        (a,) = inputs
        check_square_value("inv", a, node)
        x = run_lapack("inv", node, np.linalg.inv, a)
        output_storage[0][0] = np.asarray(x, dtype=node.outputs[0].dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        xt = mT(outputs[0])
        return [-matmul(matmul(xt, output_grads[0]), xt)]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return [None]
        x = self(inputs[0])
        return [-matmul(matmul(x, eval_points[0]), x)]


_inv = MatrixInverse()


class Det(Op):
    """``np.linalg.det`` over the last two axes: ``(..., n, n) -> (...)``."""

    __props__ = ()

    def make_node(self, a):
        a = as_tensor_variable(a)
        check_square("det", a)
        return Apply(self, [a], [matrix_type(a.dtype, a.type.shape[:-2])])

    def perform(self, node, inputs, output_storage):
        (a,) = inputs
        check_square_value("det", a, node)
        output_storage[0][0] = np.asarray(np.linalg.det(a), dtype=node.outputs[0].dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(input_shapes[0][:-2])]

    def L_op(self, inputs, outputs, output_grads):
        (a,) = inputs
        scale = _expand2(output_grads[0] * outputs[0])
        return [scale * mT(_inv(a))]

    def R_op(self, inputs, eval_points):
        (a,), (da,) = inputs, eval_points
        if da is None:
            return [None]
        return [self(a) * _trace_of_product(_inv(a), da)]


_det = Det()


class SLogDet(Op):
    """``np.linalg.slogdet`` over the last two axes: outputs ``sign`` and ``log|det|``."""

    __props__ = ()

    def make_node(self, a):
        a = as_tensor_variable(a)
        check_square("slogdet", a)
        batch = a.type.shape[:-2]
        return Apply(self, [a], [matrix_type(a.dtype, batch), matrix_type(a.dtype, batch)])

    def perform(self, node, inputs, output_storage):
        (a,) = inputs
        check_square_value("slogdet", a, node)
        sign, logabsdet = np.linalg.slogdet(a)
        dtype = node.outputs[0].dtype
        output_storage[0][0] = np.asarray(sign, dtype=dtype)
        output_storage[1][0] = np.asarray(logabsdet, dtype=dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        batch = tuple(input_shapes[0][:-2])
        return [batch, batch]

    def L_op(self, inputs, outputs, output_grads):
        (a,) = inputs
        # The sign is piecewise constant: its gradient is zero where defined.
        return [_expand2(output_grads[1]) * mT(_inv(a))]

    def R_op(self, inputs, eval_points):
        from ..math import zeros_like

        (a,), (da,) = inputs, eval_points
        if da is None:
            return [None, None]
        sign, _ = self(a)
        return [zeros_like(sign), _trace_of_product(_inv(a), da)]


_slogdet = SLogDet()


class MatrixPinv(Op):
    """``np.linalg.pinv`` over the last two axes: ``(..., m, n) -> (..., n, m)``."""

    __props__ = ("rcond",)

    def __init__(self, rcond=None):
        self.rcond = None if rcond is None else float(rcond)

    def make_node(self, a):
        a = as_tensor_variable(a)
        check_matrix("pinv", a)
        m, n = a.type.shape[-2:]
        return Apply(self, [a], [matrix_type(a.dtype, a.type.shape[:-2] + (n, m))])

    def perform(self, node, inputs, output_storage):
        (a,) = inputs
        kwargs = {} if self.rcond is None else {"rcond": self.rcond}
        x = run_lapack("pinv", node, np.linalg.pinv, a, why="the SVD did not converge", **kwargs)
        output_storage[0][0] = np.asarray(x, dtype=node.outputs[0].dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        shp = tuple(input_shapes[0])
        return [shp[:-2] + (shp[-1], shp[-2])]

    def L_op(self, inputs, outputs, output_grads):
        (a,), (x,), (gx,) = inputs, outputs, output_grads
        xt, gxt = mT(x), mT(gx)
        # -X^T G X^T + (I - A X) G^T X X^T + X^T X G^T (I - X A), without forming I.
        t1 = -matmul(matmul(xt, gx), xt)
        t2 = matmul(matmul(gxt, x), xt)
        t2 = t2 - matmul(a, matmul(x, t2))
        t3 = matmul(matmul(xt, x), gxt)
        t3 = t3 - matmul(matmul(t3, x), a)
        return [t1 + t2 + t3]

    def R_op(self, inputs, eval_points):
        (a,), (da,) = inputs, eval_points
        if da is None:
            return [None]
        x = self(a)
        dat = mT(da)
        # -X dA X + X X^T dA^T (I - A X) + (I - X A) dA^T X^T X.
        t1 = -matmul(matmul(x, da), x)
        t2 = matmul(matmul(x, mT(x)), dat - matmul(matmul(dat, a), x))
        p = matmul(matmul(dat, mT(x)), x)
        t3 = p - matmul(x, matmul(a, p))
        return [t1 + t2 + t3]


# ---- helpers --------------------------------------------------------------------------------

def _expand2(v):
    """A stack of scalars ``(...)`` as ``(..., 1, 1)``, to scale a stack of matrices."""
    return v.dimshuffle(*range(v.ndim), "x", "x")


def _trace_of_product(a, b):
    """``tr(a @ b)`` for each matrix of the stacks, as a sum of products (no matrix product)."""
    from ..reduction import sum as tsum

    return tsum(mT(a) * b, axis=[-2, -1])
