"""Sorting: Sort, Argsort and PermuteAlongAxis (the gradient of a sort).

Sorting is stable everywhere, so ties keep their order and the permutation,
hence the gradient, is well defined.  ``sort``'s gradient routes each output
gradient back to the position its value came from; that routing is
``PermuteAlongAxis`` with the argsort indices, an Op whose own gradient is the
inverse routing, so derivatives of any order stay cheap.
"""

import numbers

import numpy as np

from ..errors import GraphTypeError, InputShapeError, where
from ..graph.basic import Apply
from ..graph.op import Op
from .type import DISCRETE_DTYPES, INT_DTYPES, TensorType
from .variable import as_tensor_variable

__all__ = ["Argsort", "PermuteAlongAxis", "Sort", "argsort", "sort"]


def sort(x, axis=-1):
    """``x`` sorted along ``axis`` (of the flattened array when None), stably; NaNs last."""
    x, axis = _prepare(x, axis, "sort")
    return Sort(axis)(x)


def argsort(x, axis=-1):
    """Indices (int64) that sort ``x`` along ``axis`` (the flattened array when None), stably."""
    x, axis = _prepare(x, axis, "argsort")
    return Argsort(axis)(x)


class _SortBase(Op):
    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = int(axis)

    def __str__(self):
        return f"{type(self).__name__}{{axis={self.axis}}}"

    def _check(self, x):
        x = as_tensor_variable(x)
        if not 0 <= self.axis < x.ndim:
            raise GraphTypeError(
                f"{self}: axis {self.axis} is out of range for {x} ({x.type})" + where(x)
            )
        return x

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]


class Sort(_SortBase):
    """Sort along ``axis`` (stable)."""

    def make_node(self, x):
        x = self._check(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.sort(inputs[0], axis=self.axis, kind="stable")

    def L_op(self, inputs, outputs, output_grads):
        from .math import zeros_like

        (x,) = inputs
        if x.dtype in DISCRETE_DTYPES:
            return [zeros_like(x, dtype=_floatx())]
        order = Argsort(self.axis)(x)
        return [PermuteAlongAxis(self.axis, inverse=True)(output_grads[0], order)]

    def R_op(self, inputs, eval_points):
        (x,) = inputs
        if eval_points[0] is None:
            return [None]
        order = Argsort(self.axis)(x)
        return [PermuteAlongAxis(self.axis)(eval_points[0], order)]


class Argsort(_SortBase):
    """Indices that sort along ``axis`` (stable), as int64."""

    def make_node(self, x):
        x = self._check(x)
        return Apply(self, [x], [TensorType("int64", x.type.shape)()])

    def perform(self, node, inputs, output_storage):
        out = np.argsort(inputs[0], axis=self.axis, kind="stable")
        output_storage[0][0] = out.astype("int64", copy=False)

    def L_op(self, inputs, outputs, output_grads):
        from ..gradient import disconnected_type

        return [disconnected_type()]

    def R_op(self, inputs, eval_points):
        return [None]

    def connection_pattern(self, node):
        return [[False]]


class PermuteAlongAxis(Op):
    """Reorder ``x`` along ``axis`` by a permutation ``perm`` of the same shape.

    ``out = take_along_axis(x, perm, axis)``, so ``sort(x) ==
    PermuteAlongAxis(axis)(x, argsort(x))``; with ``inverse=True`` the entry
    ``x[..., i, ...]`` goes to position ``perm[..., i, ...]`` instead (the
    transpose, which for a permutation is the inverse).
    """

    __props__ = ("axis", "inverse")

    def __init__(self, axis, inverse=False):
        self.axis = int(axis)
        self.inverse = bool(inverse)

    def __str__(self):
        return f"PermuteAlongAxis{{axis={self.axis}{', inverse' if self.inverse else ''}}}"

    def make_node(self, x, perm):
        x, perm = as_tensor_variable(x), as_tensor_variable(perm)
        if perm.dtype not in INT_DTYPES or perm.ndim != x.ndim or not 0 <= self.axis < x.ndim:
            raise GraphTypeError(
                f"{self}: expected an integer permutation of the same ndim as {x.type} and an axis "
                f"in range, got {perm.type}" + where(x)
            )
        shape = [a if a is not None else b for a, b in zip(x.type.shape, perm.type.shape)]
        return Apply(self, [x, perm], [TensorType(x.dtype, shape)()])

    def perform(self, node, inputs, output_storage):
        x, perm = inputs
        if x.shape != perm.shape:
            raise InputShapeError(
                f"{self}: the permutation has shape {perm.shape} but the array has shape {x.shape}"
                + where(node.outputs[0])
            )
        if not self.inverse:
            output_storage[0][0] = np.take_along_axis(x, perm, axis=self.axis)
            return
        out = np.empty_like(x)
        np.put_along_axis(out, perm, x, axis=self.axis)
        output_storage[0][0] = out

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        from ..gradient import disconnected_type
        from .math import zeros_like

        x, perm = inputs
        if x.dtype in DISCRETE_DTYPES:
            return [zeros_like(x, dtype=_floatx()), disconnected_type()]
        back = PermuteAlongAxis(self.axis, not self.inverse)(output_grads[0], perm)
        return [back, disconnected_type()]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return [None]
        return [self(eval_points[0], inputs[1])]

    def connection_pattern(self, node):
        return [[True], [False]]


def _prepare(x, axis, name):
    x = as_tensor_variable(x)
    if axis is None:
        return x.flatten(), 0
    if not isinstance(axis, numbers.Integral) or not -x.ndim <= axis < x.ndim:
        raise GraphTypeError(
            f"{name}: axis {axis!r} is out of range for {x} ({x.type}); use axis=None to "
            f"{name} the flattened array" + where(x)
        )
    return x, int(axis) % x.ndim


def _floatx():
    from ..config import config

    return config.floatX
