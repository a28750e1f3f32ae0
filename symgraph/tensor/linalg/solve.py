"""Linear systems: solve (general, symmetric, positive definite), solve_triangular, cho_solve.

``a`` is a square matrix or a stack ``(..., n, n)``; ``b`` is a vector
``(n,)`` or a stack of matrices ``(..., n, k)``, as NumPy 2 reads it (pass
``b_ndim=1`` for a stack of vectors ``(..., n)``).  Leading axes broadcast
NumPy's way, along axes whose static length is 1.

The structured solvers read one triangle of ``a`` only (as LAPACK does), so
their gradient with respect to ``a`` lives on that triangle: it is the exact
derivative of the function computed, whatever the other triangle holds.
The gradient of ``x = solve(A, B)`` is a second solve, ``gB = solve(A^T, gX)``
and ``gA = -gB x^T``, so it can be differentiated again.
"""

import numpy as np
import scipy.linalg

from ...errors import (
    GraphShapeError,
    GraphTypeError,
    InputShapeError,
    OpArgumentError,
    where,
)
from ...graph.basic import Apply
from ...graph.op import Op
from ..type import upcast
from ..variable import as_tensor_variable
from ._common import (
    as_float,
    batch_static,
    check_float,
    check_square,
    check_square_value,
    col,
    matmul,
    matrix_type,
    matvec,
    mT,
    row,
    run_lapack,
    static_str,
    symmetric_adjoint,
    symmetric_from_triangle,
    tril,
    triu,
)

__all__ = ["Solve", "SolveTriangular", "cho_solve", "solve", "solve_lower_triangular",
           "solve_symmetric", "solve_triangular", "solve_upper_triangular"]

_ASSUME = {"gen": "gen", "general": "gen", "sym": "sym", "symmetric": "sym", "pos": "pos",
           "positive definite": "pos"}


def solve(a, b, assume_a="gen", lower=False, b_ndim=None):
    """``x`` with ``a @ x == b``, as ``scipy.linalg.solve``.

    Parameters
    ----------
    assume_a : {'gen', 'sym', 'pos', 'lower triangular', 'upper triangular'}
        What ``a`` is: general (LU), symmetric (LDL^T) or symmetric positive
        definite (Cholesky); the last two route to :func:`solve_triangular`.
    lower : bool
        For 'sym' and 'pos': read the lower triangle of ``a`` (else the upper).
    b_ndim : {1, 2, None}
        Whether ``b`` is a (stack of) vector(s) or matrices; None: a vector
        exactly when ``b.ndim == 1``.

    A singular (or, for 'pos', indefinite) matrix raises a SymgraphError that
    is also a ``numpy.linalg.LinAlgError`` at run time.
    """
    if assume_a in ("lower triangular", "upper triangular"):
        return solve_triangular(a, b, lower=assume_a.startswith("lower"), b_ndim=b_ndim)
    if assume_a not in _ASSUME:
        raise OpArgumentError(
            f"solve: assume_a must be 'gen', 'sym', 'pos', 'lower triangular' or 'upper "
            f"triangular', got {assume_a!r}"
        )
    a, b, b_ndim = _operands("solve", a, b, b_ndim)
    kind = _ASSUME[assume_a]
    # `lower` means nothing to the general solver: dropping it lets equal solves merge.
    return Solve(kind, bool(lower) and kind != "gen", b_ndim)(a, b)


def solve_triangular(a, b, lower=False, trans=0, unit_diagonal=False, b_ndim=None):
    """``x`` with ``a @ x == b`` for triangular ``a``, as ``scipy.linalg.solve_triangular``.

    Only the ``lower`` (else upper) triangle of ``a`` is read, and not its
    diagonal when ``unit_diagonal``; ``trans`` in (1, 'T') solves
    ``a.T @ x == b`` instead.
    """
    if trans not in (0, 1, "N", "T"):
        raise OpArgumentError(f"solve_triangular: trans must be 0, 1, 'N' or 'T', got {trans!r}")
    a, b, b_ndim = _operands("solve_triangular", a, b, b_ndim)
    if trans in (1, "T"):
        a, lower = mT(a), not lower
    return SolveTriangular(bool(lower), bool(unit_diagonal), b_ndim)(a, b)


def cho_solve(c_and_lower, b, b_ndim=None):
    """``x`` with ``A @ x == b`` from the Cholesky factor of ``A``, as ``scipy.linalg.cho_solve``.

    ``c_and_lower`` is ``(c, lower)``: ``A = c c^T`` with ``c`` lower
    triangular, or ``A = c^T c`` with ``c`` upper triangular.  Two triangular
    solves, so gradients flow to ``c`` and ``b``.
    """
    c, lower = c_and_lower
    c = as_float(c, "cho_solve")
    if lower:
        y = solve_triangular(c, b, lower=True, b_ndim=b_ndim)
        return solve_triangular(mT(c), y, lower=False, b_ndim=b_ndim)
    y = solve_triangular(mT(c), b, lower=True, b_ndim=b_ndim)
    return solve_triangular(c, y, lower=False, b_ndim=b_ndim)


def solve_lower_triangular(a, b, b_ndim=None):
    """Theano's name for ``solve_triangular(a, b, lower=True)``."""
    return solve_triangular(a, b, lower=True, b_ndim=b_ndim)


def solve_upper_triangular(a, b, b_ndim=None):
    """Theano's name for ``solve_triangular(a, b, lower=False)``."""
    return solve_triangular(a, b, lower=False, b_ndim=b_ndim)


def solve_symmetric(a, b, lower=False, b_ndim=None):
    """Theano's name for ``solve(a, b, assume_a='sym')``."""
    return solve(a, b, assume_a="sym", lower=lower, b_ndim=b_ndim)


# ---- Ops ------------------------------------------------------------------------------------

class _SolveBase(Op):
    """Shapes, broadcasting and derivatives shared by the solvers.

    A subclass says how to solve (``_solve``), which matrix the solver really
    sees (``_tangent_of_a``: its triangle, symmetrised or not), the adjoint of
    that map (``_project``) and how to solve with the transpose (``_transposed``).
    """

    name = "solve"

    def make_node(self, a, b):
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        n = check_square(self.name, a)
        check_float(self.name, b)
        if a.dtype != b.dtype:
            raise GraphTypeError(f"{self.name}: a ({a.type}) and b ({b.type}) must have one dtype"
                                 + where(b))
        if b.ndim < self.b_ndim:
            raise GraphTypeError(f"{self.name}: b must have at least {self.b_ndim} axes for "
                                 f"b_ndim={self.b_ndim}, got {b} ({b.type})" + where(b))
        core = b.ndim - self.b_ndim
        rows = b.type.shape[core]
        if n is not None and rows is not None and n != rows:
            raise GraphShapeError(
                f"{self.name}: a has static shape {static_str(a)} but b has {rows} rows (static shape "
                f"{static_str(b)}); b needs as many rows as a" + where(b)
            )
        batch = batch_static(self.name, [a, b], a.type.shape[:-2], b.type.shape[:core])
        shape = batch + (n if n is not None else rows,) + b.type.shape[core + 1:]
        return Apply(self, [a, b], [matrix_type(a.dtype, shape)])

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        check_square_value(self.name, a, node)
        core = b.ndim - self.b_ndim
        if b.shape[core] != a.shape[-1]:
            raise InputShapeError(
                f"{self.name}: a has shape {a.shape} but b has shape {b.shape}: b needs "
                f"{a.shape[-1]} rows (axis {core})" + where(node.outputs[0])
            )
        batch = _runtime_batch(self.name, node, a.shape[:-2], b.shape[:core])
        if self.b_ndim == 1:
            b = b[..., None]
        a = np.broadcast_to(a, batch + a.shape[-2:])
        b = np.broadcast_to(b, batch + b.shape[-2:])
        x = run_lapack(self.name, node, self._solve, a, b, why=self.failure)
        if self.b_ndim == 1:
            x = x[..., 0]
        output_storage[0][0] = np.asarray(x, dtype=node.outputs[0].dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        a, b = node.inputs
        sa, sb = input_shapes
        core = b.ndim - self.b_ndim
        nbatch = max(a.ndim - 2, core)
        static_a = (1,) * (nbatch - (a.ndim - 2)) + a.type.shape[:-2]
        sym_a = (None,) * (nbatch - (a.ndim - 2)) + tuple(sa[:-2])
        sym_b = (None,) * (nbatch - core) + tuple(sb[:core])
        batch = tuple(xa if xa is not None and st != 1 else (xb if xb is not None else xa)
                      for xa, xb, st in zip(sym_a, sym_b, static_a))
        return [batch + (sa[-1],) + tuple(sb[core + 1:])]

    def L_op(self, inputs, outputs, output_grads):
        from ..elemwise import reduce_to_shape
        from ..reduction import sum as tsum

        (a, b), (x,), (gx,) = inputs, outputs, output_grads
        op, at = self._transposed(a)
        gb = op(at, gx)
        ga = -(col(gb) * row(x)) if self.b_ndim == 1 else -matmul(gb, mT(x))
        return [reduce_to_shape(self._project(ga), a, tsum), reduce_to_shape(gb, b, tsum)]

    def R_op(self, inputs, eval_points):
        (a, b), (da, db) = inputs, eval_points
        if da is None and db is None:
            return [None]
        rhs = db
        if da is not None:
            x = self(a, b)
            da = self._tangent_of_a(da)
            dax = matvec(da, x) if self.b_ndim == 1 else matmul(da, x)
            rhs = -dax if rhs is None else rhs - dax
        return [self(a, rhs)]


class Solve(_SolveBase):
    """``x = a^-1 b`` by LU ('gen'), LDL^T ('sym') or Cholesky ('pos'), the last two reading
    only the ``lower`` (else upper) triangle of ``a``."""

    __props__ = ("assume_a", "lower", "b_ndim")

    def __init__(self, assume_a="gen", lower=False, b_ndim=2):
        if assume_a not in ("gen", "sym", "pos"):
            raise OpArgumentError(f"Solve: assume_a must be 'gen', 'sym' or 'pos', got {assume_a!r}")
        if b_ndim not in (1, 2):
            raise OpArgumentError(f"Solve: b_ndim must be 1 or 2, got {b_ndim!r}")
        self.assume_a, self.lower, self.b_ndim = assume_a, bool(lower), int(b_ndim)
        self.failure = ("the matrix is not positive definite" if assume_a == "pos"
                        else "the matrix is singular")

    def _solve(self, a, b):
        if self.assume_a == "gen":
            return np.linalg.solve(a, b)
        one = _posv if self.assume_a == "pos" else _sysv
        return _each(a, b, lambda x, y: one(x, y, self.lower))

    def _transposed(self, a):
        # The symmetric solvers see a symmetric matrix: it is its own transpose.
        return (self, mT(a)) if self.assume_a == "gen" else (self, a)

    def _tangent_of_a(self, da):
        return da if self.assume_a == "gen" else symmetric_from_triangle(da, self.lower)

    def _project(self, ga):
        return ga if self.assume_a == "gen" else symmetric_adjoint(ga, self.lower)


class SolveTriangular(_SolveBase):
    """``x = a^-1 b`` for the triangle ``lower`` (else upper) of ``a``; with
    ``unit_diagonal`` the diagonal is taken to be ones and not read."""

    __props__ = ("lower", "unit_diagonal", "b_ndim")
    name = "solve_triangular"
    failure = "the matrix is singular (a zero on its diagonal)"

    def __init__(self, lower=True, unit_diagonal=False, b_ndim=2):
        if b_ndim not in (1, 2):
            raise OpArgumentError(f"SolveTriangular: b_ndim must be 1 or 2, got {b_ndim!r}")
        self.lower, self.unit_diagonal, self.b_ndim = bool(lower), bool(unit_diagonal), int(b_ndim)

    def _solve(self, a, b):
        return _each(a, b, lambda x, y: _trtrs(x, y, self.lower, self.unit_diagonal))

    def _transposed(self, a):
        return SolveTriangular(not self.lower, self.unit_diagonal, self.b_ndim), mT(a)

    def _tangent_of_a(self, da):
        k = 1 if self.unit_diagonal else 0
        return tril(da, -k) if self.lower else triu(da, k)

    _project = _tangent_of_a


# ---- helpers --------------------------------------------------------------------------------

def _operands(name, a, b, b_ndim):
    a, b = as_float(a, name), as_float(b, name)
    dtype = upcast(a.dtype, b.dtype)
    if a.dtype != dtype or b.dtype != dtype:
        from ..math import cast

        a, b = cast(a, dtype), cast(b, dtype)
    if b_ndim is None:
        b_ndim = 1 if b.ndim == 1 else 2
    if b_ndim not in (1, 2):
        raise OpArgumentError(f"{name}: b_ndim must be 1, 2 or None, got {b_ndim!r}")
    return a, b, b_ndim


# LAPACK is called directly, one matrix at a time, in Fortran order: scipy.linalg's
# wrappers cost hundreds of microseconds a call on small matrices, which is most
# of a gradient check's time.

def _each(a, b, solve_one):
    """``solve_one`` applied to each pair of matrices of the (broadcast) stacks ``a``, ``b``."""
    if a.shape[-1] == 0:
        return np.zeros(b.shape, dtype=np.result_type(a, b))
    if a.ndim == 2:
        return solve_one(a, b)
    out = np.empty(b.shape, dtype=np.result_type(a, b))
    for idx in np.ndindex(a.shape[:-2]):
        out[idx] = solve_one(a[idx], b[idx])
    return out


def _lapack(name, a, b):
    return scipy.linalg.get_lapack_funcs((name,), (a, b))[0]


def _trtrs(a, b, lower, unit):
    x, info = _lapack("trtrs", a, b)(np.asfortranarray(a), np.asfortranarray(b), lower=int(lower),
                                      unitdiag=int(unit))
    if info > 0:
        raise np.linalg.LinAlgError(f"a zero on the diagonal at position {info - 1}")
    return x


def _posv(a, b, lower):
    c, info = _lapack("potrf", a, b)(np.asfortranarray(a), lower=int(lower), clean=0)
    if info > 0:
        raise np.linalg.LinAlgError(f"the leading minor of order {info} is not positive")
    x, info = _lapack("potrs", a, b)(c, np.asfortranarray(b), lower=int(lower))
    return x


def _sysv(a, b, lower):
    _, _, x, info = _lapack("sysv", a, b)(np.asfortranarray(a), np.asfortranarray(b),
                                          lower=int(lower))
    if info > 0:
        raise np.linalg.LinAlgError(f"a zero pivot at position {info - 1}")
    return x


def _runtime_batch(name, node, *batch_shapes):
    """The broadcast batch shape, refusing to stretch an axis whose static length is not 1."""
    try:
        out = np.broadcast_shapes(*batch_shapes)
    except ValueError:
        raise InputShapeError(f"{name}: batch shapes {' and '.join(map(str, batch_shapes))} do "
                              f"not broadcast" + where(node.outputs[0])) from None
    a, b = node.inputs
    statics = (a.type.shape[:-2], b.type.shape[:len(batch_shapes[1])])
    for shape, static, var in zip(batch_shapes, statics, (a, b)):
        pad = len(out) - len(shape)
        for axis, (got, want) in enumerate(zip(shape, out[pad:])):
            if got != want and static[axis] != 1:
                raise InputShapeError(
                    f"{name}: {var} has length {got} on batch axis {axis} where the result has "
                    f"{want}; only axes of static length 1 broadcast" + where(node.outputs[0])
                )
    return out
