"""Matrix functions: trace, matrix_power, expm, kron, norm, matrix_dot.

Only ``expm`` is an Op of its own; the rest are compositions of products,
reductions and the Ops of this package, so their shapes and derivatives come
from those.  ``expm``'s derivative is the Fréchet derivative, read off the
exponential of a block matrix (Mathias 1996): ``expm([[A, E], [0, A]])`` has
``L(A, E)`` in its upper-right block, and the adjoint of ``L(A, .)`` is
``L(A^T, .)``.  That keeps the derivative inside ``Expm`` and ``Join``, so it
differentiates again.
"""

import numbers

import numpy as np
import scipy.linalg

from ...errors import GraphTypeError, OpArgumentError, where
from ...graph.basic import Apply
from ...graph.op import Op
from ..variable import as_tensor_variable
from ._common import (
    as_float,
    check_square,
    check_square_value,
    eye_like,
    matmul,
    matrix_type,
    mT,
)

__all__ = ["Expm", "expm", "kron", "matrix_dot", "matrix_power", "norm", "trace"]


def trace(x, offset=0):
    """Sum of diagonal ``offset`` of a matrix or of each in a stack ``(..., m, n)``,
    as ``np.linalg.trace`` (which, unlike ``np.trace``, uses the last two axes)."""
    from ..creation import eye
    from ..reduction import sum as tsum
    from ..shape import shape_i

    x = as_tensor_variable(x)
    if x.ndim < 2:
        raise GraphTypeError(f"trace: expected a matrix or a stack of them, got {x} ({x.type})"
                             + where(x))
    if not isinstance(offset, numbers.Integral):
        raise OpArgumentError(f"trace: offset must be an int, got {offset!r}")
    mask = eye(shape_i(x, x.ndim - 2), shape_i(x, x.ndim - 1), int(offset), dtype=x.dtype)
    return tsum(x * mask, axis=[-2, -1])


def matrix_power(x, n):
    """``x`` multiplied by itself ``n`` times (an int; 0 gives the identity, a negative
    ``n`` powers the inverse), as ``np.linalg.matrix_power``; by repeated squaring."""
    from ..math import zeros_like
    from .inverse import inv

    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise OpArgumentError(f"matrix_power: n must be an int, got {n!r}")
    x = as_tensor_variable(x)
    check_square("matrix_power", x, float_only=False)
    n = int(n)
    if n == 0:
        return zeros_like(x) + eye_like(x)
    if n < 0:
        x, n = inv(x), -n
    result, square = None, x
    while True:
        if n & 1:
            result = square if result is None else matmul(result, square)
        n >>= 1
        if not n:
            return result
        square = matmul(square, square)


def expm(a):
    """The matrix exponential of a square matrix (or of each in a stack), as
    ``scipy.linalg.expm``."""
    return _expm(as_float(a, "expm"))


def kron(a, b):
    """The Kronecker product, as ``np.kron`` (the operand with fewer axes gets leading
    length-1 axes): entry ``(i*p + k, j*q + l)`` of ``kron(a, b)`` is ``a[i, j] * b[k, l]``."""
    from ..shape import reshape, shape_i

    a, b = as_tensor_variable(a), as_tensor_variable(b)
    nd = max(a.ndim, b.ndim)
    if nd == 0:
        return a * b
    a = a.dimshuffle(*["x"] * (nd - a.ndim), *range(a.ndim))
    b = b.dimshuffle(*["x"] * (nd - b.ndim), *range(b.ndim))
    # Interleave the axes, (a0, b0, a1, b1, ...), then merge each pair.
    outer = (a.dimshuffle(*[p for i in range(nd) for p in (i, "x")])
             * b.dimshuffle(*[p for i in range(nd) for p in ("x", i)]))
    return reshape(outer, [shape_i(a, i) * shape_i(b, i) for i in range(nd)], ndim=nd)


def matrix_dot(*args):
    """``args[0] @ args[1] @ ...`` (Theano's ``matrix_dot``)."""
    from ..blas import dot

    if not args:
        raise GraphTypeError("matrix_dot: need at least one operand")
    out = as_tensor_variable(args[0])
    for b in args[1:]:
        out = dot(out, b)
    return out


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector and matrix norms, as ``np.linalg.norm``.

    ``axis`` None: the 2-norm of the flattened array when ``ord`` is None, else
    ``x`` must be a vector or a matrix.  An int ``axis`` gives vector norms
    (``ord`` None/2, 1, inf, -inf, 0 or any p); a pair gives matrix norms
    (``ord`` None/'fro', 'nuc', 1, -1, 2, -2, inf, -inf; 2, -2 and 'nuc' go
    through :func:`svd`).
    """
    from ..math import sqrt

    x = as_float(x, "norm")
    if axis is None:
        if ord is None:
            out = sqrt((x * x).sum())
            return out.dimshuffle(*["x"] * x.ndim) if keepdims else out
        if x.ndim not in (1, 2):
            raise GraphTypeError(f"norm: ord={ord!r} without axis needs a vector or a matrix, "
                                 f"got {x} ({x.type})" + where(x))
        axis = tuple(range(x.ndim))
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    if len(axes) not in (1, 2) or not all(isinstance(a, numbers.Integral) for a in axes):
        raise OpArgumentError(f"norm: axis must be None, an int or a pair of ints, got {axis!r}")
    if not all(-x.ndim <= a < x.ndim for a in axes) or len({a % x.ndim for a in axes}) != len(axes):
        raise OpArgumentError(f"norm: invalid axis {axis!r} for {x} ({x.type})" + where(x))
    axes = tuple(a % x.ndim for a in axes)
    out = _vector_norm(x, ord, axes[0]) if len(axes) == 1 else _matrix_norm(x, ord, *axes)
    if keepdims:
        kept = iter(range(out.ndim))
        out = out.dimshuffle(*["x" if i in axes else next(kept) for i in range(x.ndim)])
    return out


# ---- the Op ---------------------------------------------------------------------------------

class Expm(Op):
    """``scipy.linalg.expm`` over the last two axes."""

    __props__ = ()

    def make_node(self, a):
        a = as_tensor_variable(a)
        n = check_square("expm", a)
        return Apply(self, [a], [matrix_type(a.dtype, a.type.shape[:-2] + (n, n))])

    def perform(self, node, inputs, output_storage):
        (a,) = inputs
        check_square_value("expm", a, node)
        output_storage[0][0] = np.asarray(scipy.linalg.expm(a), dtype=node.outputs[0].dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        return [_frechet(mT(inputs[0]), output_grads[0])]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return [None]
        return [_frechet(inputs[0], eval_points[0])]


_expm = Expm()


# ---- helpers --------------------------------------------------------------------------------

def _frechet(a, e):
    """``L(a, e) = d/dt expm(a + t e)`` at t = 0, from the exponential of ``[[a, e], [0, a]]``."""
    from ..join import concatenate
    from ..math import zeros_like
    from ..shape import shape_i

    top = concatenate([a, e], axis=-1)
    bottom = concatenate([zeros_like(a), a], axis=-1)
    big = _expm(concatenate([top, bottom], axis=-2))
    n = shape_i(a, a.ndim - 1)
    return big[..., :n, n:]


def _vector_norm(x, ord, axis):
    from ..math import abs as tabs
    from ..math import neq, sqrt
    from ..reduction import max as tmax
    from ..reduction import min as tmin
    from ..reduction import sum as tsum

    if ord is None or ord == 2:
        return sqrt(tsum(x * x, axis=axis))
    if isinstance(ord, str):
        raise OpArgumentError(f"norm: ord={ord!r} is a matrix norm; a vector norm takes a number")
    if ord == np.inf:
        return tmax(tabs(x), axis=axis)
    if ord == -np.inf:
        return tmin(tabs(x), axis=axis)
    if ord == 0:
        return tsum(neq(x, 0), axis=axis).astype(x.dtype)
    if ord == 1:
        return tsum(tabs(x), axis=axis)
    p = float(ord)
    return tsum(tabs(x) ** p, axis=axis) ** (1.0 / p)


def _matrix_norm(x, ord, row_axis, col_axis):
    from ..math import abs as tabs
    from ..math import sqrt
    from ..reduction import max as tmax
    from ..reduction import min as tmin
    from ..reduction import sum as tsum
    from .spectral import svd

    if ord is None or ord == "fro":
        return sqrt(tsum(x * x, axis=[row_axis, col_axis]))
    if ord in ("nuc", 2, -2):
        rest = [i for i in range(x.ndim) if i not in (row_axis, col_axis)]
        s = svd(x.dimshuffle(*rest, row_axis, col_axis), compute_uv=False)
        return {"nuc": tsum, 2: tmax, -2: tmin}[ord](s, axis=-1)
    if ord in (1, -1, np.inf, -np.inf):
        # 1: the largest column sum; inf: the largest row sum.
        summed, kept = (row_axis, col_axis) if ord in (1, -1) else (col_axis, row_axis)
        sums = tsum(tabs(x), axis=summed)
        return (tmax if ord > 0 else tmin)(sums, axis=kept - (kept > summed))
    raise OpArgumentError(f"norm: invalid ord {ord!r} for a matrix norm "
                          f"(None, 'fro', 'nuc', 1, -1, 2, -2, inf or -inf)")
