"""Shared pieces of the linear-algebra Ops: input checks, run-time errors and the
small matrix idioms their derivatives are written in (transpose of the last two
axes, diagonals, triangles), all batched over leading axes."""

import numpy as np

from ...errors import (
    GraphShapeError,
    GraphTypeError,
    InputShapeError,
    runtime_error_class,
    where,
)
from ...graph.basic import Constant
from ..type import FLOAT_DTYPES, TensorType
from ..variable import as_tensor_variable

# Raised at run time for a singular, indefinite or non-converging input: a
# SymgraphError that `except np.linalg.LinAlgError` (a ValueError) also catches.
LinAlgError = runtime_error_class(np.linalg.LinAlgError)


# ---- checks ----------------------------------------------------------------------------------

def as_float(x, name):
    """``x`` as a float32/float64 tensor; integers and bools become float64 as in NumPy."""
    from ..math import cast

    x = as_tensor_variable(x)
    if x.dtype in ("float32", "float64"):
        return x
    if x.dtype in FLOAT_DTYPES:
        raise GraphTypeError(
            f"{name}: {x.dtype} is not supported by linear algebra (NumPy refuses it too); "
            f"cast {x} to float32 first" + where(x)
        )
    return cast(x, "float64")


def check_float(op, x):
    if x.dtype not in ("float32", "float64"):
        raise GraphTypeError(f"{op}: expected float32 or float64 input, got {x} ({x.type})" + where(x))


def static_str(x):
    return "(" + ", ".join("?" if s is None else str(s) for s in x.type.shape) + \
        ("," if x.ndim == 1 else "") + ")"


def check_matrix(op, x, what="a matrix", float_only=True):
    """Refuse ``x`` unless it has at least two axes (a matrix, or a stack of them)."""
    if float_only:
        check_float(op, x)
    if x.ndim < 2:
        raise GraphTypeError(
            f"{op}: expected {what} or a stack of them (shape (..., m, n)), got {x} ({x.type})"
            + where(x)
        )


def check_square(op, x, float_only=True):
    """Refuse ``x`` unless it is a stack of square matrices as far as its static shape tells;
    returns the static length of the square axes (or None)."""
    check_matrix(op, x, "a square matrix", float_only)
    rows, cols = x.type.shape[-2:]
    if rows is not None and cols is not None and rows != cols:
        raise GraphShapeError(
            f"{op}: expected square matrices (shape (..., n, n)), got {x} of static shape "
            f"{static_str(x)}" + where(x)
        )
    return rows if rows is not None else cols


def check_square_value(op, value, node):
    if value.shape[-1] != value.shape[-2]:
        raise InputShapeError(
            f"{op}: expected square matrices (shape (..., n, n)), got an array of shape "
            f"{value.shape}" + where(node.outputs[0])
        )


def run_lapack(op, node, fn, *args, why="the matrix is singular", **kwargs):
    """``fn(*args)``, turning LAPACK's complaint into an error that names ``op`` and the user's line."""
    try:
        return fn(*args, **kwargs)
    except np.linalg.LinAlgError as e:
        shapes = [str(a.shape) for a in args if isinstance(a, np.ndarray)]
        inputs = f"input of shape {shapes[0]}" if len(shapes) == 1 else \
            f"inputs of shapes {' and '.join(shapes)}"
        raise LinAlgError(f"{op}: {why} ({inputs}; LAPACK says: {e})"
                          + where(node.outputs[0])) from None


def matrix_type(dtype, shape):
    return TensorType(dtype, shape)()


# ---- matrix idioms on the last two axes ----------------------------------------------------

def mT(x):
    """``x`` with its last two axes swapped."""
    order = list(range(x.ndim))
    order[-2], order[-1] = order[-1], order[-2]
    return x.dimshuffle(*order)


def matmul(a, b):
    from ..blas import matmul as _matmul

    return _matmul(a, b)


def matvec(a, v):
    """``a @ v`` for a stack of matrices ``(..., m, n)`` and a stack of vectors ``(..., n)``."""
    return matmul(a, col(v))[..., 0]


def col(v):
    """A stack of vectors ``(..., n)`` as column matrices ``(..., n, 1)``."""
    return v.dimshuffle(*range(v.ndim), "x")


def row(v):
    """A stack of vectors ``(..., n)`` as row matrices ``(..., 1, n)``."""
    return v.dimshuffle(*range(v.ndim - 1), "x", v.ndim - 1)


def eye_like(x):
    """The identity of the size of the last axis of ``x``, of its dtype."""
    from ..creation import eye
    from ..shape import shape_i

    n = shape_i(x, x.ndim - 1)
    return eye(n, n, 0, dtype=x.dtype)


def diag_part(x):
    """The diagonals of a stack of square matrices: ``(..., n, n) -> (..., n)``."""
    from ..reduction import sum as tsum

    return tsum(x * eye_like(x), axis=-1)


def diag_embed(d):
    """Diagonal matrices from a stack of vectors: ``(..., n) -> (..., n, n)``."""
    return col(d) * eye_like(d)


def tril(x, k=0):
    from ..creation import tril as _tril

    return _tril(x, k)


def triu(x, k=0):
    from ..creation import triu as _triu

    return _triu(x, k)


def symmetric_from_triangle(x, lower):
    """The symmetric matrix an Op that reads only one triangle of ``x`` sees."""
    if lower:
        return tril(x) + mT(tril(x, -1))
    return triu(x) + mT(triu(x, 1))


def symmetric_adjoint(g, lower):
    """The adjoint of :func:`symmetric_from_triangle`.

    ``g`` is a gradient with respect to the symmetric matrix; an off-diagonal
    entry of the triangle that was read stands for two entries of it, so it
    gets both their gradients.
    """
    if lower:
        return tril(g) + tril(mT(g), -1)
    return triu(g) + triu(mT(g), 1)


def is_zero(g):
    """Whether ``g`` is the zeros ``grad`` substitutes for an output nobody uses."""
    from ..basic import Alloc

    owner = g.owner
    if owner is None:
        return isinstance(g, Constant) and not np.any(g.data)
    return (isinstance(owner.op, Alloc) and isinstance(owner.inputs[0], Constant)
            and not np.any(owner.inputs[0].data))


def batch_static(op, inputs, *shapes):
    """Static batch shape of ``shapes`` (tuples of leading lengths) broadcast NumPy's way."""
    from ..elemwise import broadcast_static_shapes

    ndim = max(len(s) for s in shapes)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    return broadcast_static_shapes(padded, op, inputs) if ndim else ()
