"""BLAS-shaped updates: Gemm, Gemv and Ger, made by the ``specialize`` rewrites.

Users write ``b * z + a * T.dot(x, y)``; the rewriter turns it into
``gemm(z, a, x, y, b)`` so a backend makes one BLAS call with alpha and beta
instead of a product, two scalings and an add.  Each Op means exactly its
expansion (``expand``), which is also how its derivatives are taken.
``z`` broadcasts along its axes of static length 1 (a bias row), as in an
Elemwise; the product itself never broadcasts.
"""

import numpy as np

from ..errors import GraphShapeError, GraphTypeError, InputShapeError, where
from ..graph.basic import Apply
from ..graph.op import Op
from ..graph.traversal import rebuild
from .type import FLOAT_DTYPES, TensorType
from .variable import as_tensor_variable

__all__ = ["Gemm", "Gemv", "Ger", "gemm", "gemv", "ger"]


class _BlasUpdate(Op):
    """Shared checks: operand ranks, one float dtype, scalar coefficients."""

    __props__ = ()
    # (name, ndim) of each input, in order; "scalar" inputs are the coefficients.
    signature = ()
    # Indices of the inputs whose product gives the result's axes.
    product_axes = ()

    def __str__(self):
        return type(self).__name__

    def make_node(self, *inputs):
        if len(inputs) != len(self.signature):
            raise GraphTypeError(f"{self}: expected {len(self.signature)} inputs "
                                 f"({', '.join(n for n, _ in self.signature)}), got {len(inputs)}")
        inputs = [as_tensor_variable(i) for i in inputs]
        dtype = inputs[self.product_axes[0][0]].dtype
        for (name, ndim), v in zip(self.signature, inputs):
            if v.ndim != ndim:
                raise GraphTypeError(f"{self}: {name} must have {ndim} axes, got {v} of type {v.type}"
                                     + where(v))
            if v.dtype != dtype or dtype not in FLOAT_DTYPES:
                raise GraphTypeError(f"{self}: every operand must have one float dtype; {name} is "
                                     f"{v.type} where {dtype} was expected" + where(v))
        product = self.product_static(inputs)
        target = inputs[self.target]
        shape = []
        for axis, (p, t) in enumerate(zip(product, target.type.shape)):
            if p is not None and t not in (None, 1, p):
                raise GraphShapeError(f"{self}: the added term {target} ({target.type}) has length {t} "
                                      f"on axis {axis} where the product has {p}" + where(target))
            shape.append(p if p is not None else (t if t != 1 else None))
        return Apply(self, inputs, [TensorType(dtype, shape)()])

    def check_runtime(self, node, target, result_shape):
        static = node.inputs[self.target].type.shape
        for axis, (got, want, s) in enumerate(zip(target.shape, result_shape, static)):
            if got != want and s != 1:
                raise InputShapeError(
                    f"{self}: the added term has length {got} on axis {axis} where the product has "
                    f"{want}; only axes of static length 1 broadcast" + where(node.outputs[0]))

    def check_inner(self, node, a, b, axis_a, axis_b):
        if a.shape[axis_a] != b.shape[axis_b]:
            raise InputShapeError(f"{self}: shapes {a.shape} and {b.shape} are not aligned: "
                                  f"{a.shape[axis_a]} != {b.shape[axis_b]}" + where(node.outputs[0]))

    # Derivatives are those of the expansion, taken on fresh stand-ins for the inputs: an
    # input given twice (gemm(x, a, x, w, b)) is then two operands, each with its own term.
    def L_op(self, inputs, outputs, output_grads):
        from ..gradient import grad

        fresh = [i.type() for i in inputs]
        grads = grad(None, fresh, known_grads={self.expand(*fresh): output_grads[0]},
                     disconnected_inputs="ignore")
        return rebuild(grads, dict(zip(fresh, inputs)))[0]

    def R_op(self, inputs, eval_points):
        from ..gradient import Rop

        fresh = [i.type() for i in inputs]
        pairs = [(f, e) for f, e in zip(fresh, eval_points) if e is not None]
        if not pairs:
            return [None]
        tangent = Rop(self.expand(*fresh), [f for f, _ in pairs], [e for _, e in pairs],
                      disconnected_outputs="ignore")
        return rebuild([tangent], dict(zip(fresh, inputs)))[0]


class Gemm(_BlasUpdate):
    """``gemm(z, a, x, y, b) = b * z + a * dot(x, y)`` for matrices x, y, z and scalars a, b."""

    signature = (("z", 2), ("a", 0), ("x", 2), ("y", 2), ("b", 0))
    product_axes = ((2, 0), (3, 1))
    target = 0

    def product_static(self, inputs):
        x, y = inputs[2], inputs[3]
        k1, k2 = x.type.shape[1], y.type.shape[0]
        if k1 is not None and k2 is not None and k1 != k2:
            raise GraphShapeError(f"Gemm: x ({x.type}) and y ({y.type}) are not aligned" + where(x))
        return (x.type.shape[0], y.type.shape[1])

    def expand(self, z, a, x, y, b):
        from .blas import dot

        return b * z + a * dot(x, y)

    def perform(self, node, inputs, output_storage):
        z, a, x, y, b = inputs
        self.check_inner(node, x, y, 1, 0)
        out = np.dot(x, y)
        self.check_runtime(node, z, out.shape)
        out *= a
        out += b * z
        output_storage[0][0] = out

    def infer_shape(self, fgraph, node, input_shapes):
        return [(input_shapes[2][0], input_shapes[3][1])]


class Gemv(_BlasUpdate):
    """``gemv(z, a, A, x, b) = b * z + a * dot(A, x)`` for a matrix A, vectors x, z, scalars a, b."""

    signature = (("z", 1), ("a", 0), ("A", 2), ("x", 1), ("b", 0))
    product_axes = ((2, 0),)
    target = 0

    def product_static(self, inputs):
        A, x = inputs[2], inputs[3]
        k1, k2 = A.type.shape[1], x.type.shape[0]
        if k1 is not None and k2 is not None and k1 != k2:
            raise GraphShapeError(f"Gemv: A ({A.type}) and x ({x.type}) are not aligned" + where(A))
        return (A.type.shape[0],)

    def expand(self, z, a, A, x, b):
        from .blas import dot

        return b * z + a * dot(A, x)

    def perform(self, node, inputs, output_storage):
        z, a, A, x, b = inputs
        self.check_inner(node, A, x, 1, 0)
        out = np.dot(A, x)
        self.check_runtime(node, z, out.shape)
        out *= a
        out += b * z
        output_storage[0][0] = out

    def infer_shape(self, fgraph, node, input_shapes):
        return [(input_shapes[2][0],)]


class Ger(_BlasUpdate):
    """``ger(A, a, x, y) = A + a * outer(x, y)`` for a matrix A, vectors x, y and a scalar a."""

    signature = (("A", 2), ("a", 0), ("x", 1), ("y", 1))
    product_axes = ((2, 0), (3, 0))
    target = 0

    def product_static(self, inputs):
        x, y = inputs[2], inputs[3]
        return (x.type.shape[0], y.type.shape[0])

    def expand(self, A, a, x, y):
        return A + a * (x.dimshuffle(0, "x") * y.dimshuffle("x", 0))

    def perform(self, node, inputs, output_storage):
        A, a, x, y = inputs
        out = np.outer(x, y)
        self.check_runtime(node, A, out.shape)
        out *= a
        out += A
        output_storage[0][0] = out

    def infer_shape(self, fgraph, node, input_shapes):
        return [(input_shapes[2][0], input_shapes[3][0])]


_gemm, _gemv, _ger = Gemm(), Gemv(), Ger()


def _scalar(v, dtype):
    from .math import cast

    v = as_tensor_variable(v)
    if v.ndim != 0:
        raise GraphTypeError(f"expected a scalar coefficient, got {v} of type {v.type}" + where(v))
    return cast(v, dtype)


def gemm(z, a, x, y, b):
    """``b * z + a * dot(x, y)`` as one Gemm (coefficients are cast to the operands' dtype)."""
    x = as_tensor_variable(x)
    return _gemm(z, _scalar(a, x.dtype), x, y, _scalar(b, x.dtype))


def gemv(z, a, A, x, b):
    """``b * z + a * dot(A, x)`` as one Gemv."""
    A = as_tensor_variable(A)
    return _gemv(z, _scalar(a, A.dtype), A, x, _scalar(b, A.dtype))


def ger(A, a, x, y):
    """``A + a * outer(x, y)`` as one Ger."""
    x = as_tensor_variable(x)
    return _ger(A, _scalar(a, x.dtype), x, y)
