"""Array construction: make_vector, stack, alloc, zeros/ones/full and friends."""

import numbers

import numpy as np

from ..errors import GraphTypeError, InputShapeError, where
from ..graph.basic import Apply, Constant
from ..graph.op import Op
from .type import DISCRETE_DTYPES, TensorType, normalize_dtype, upcast
from .variable import as_tensor_variable, constant

__all__ = ["MakeVector", "Alloc", "alloc", "constant", "full", "full_like", "make_vector",
           "ones", "stack", "zeros"]


class MakeVector(Op):
    """A vector from scalars of one dtype."""

    __props__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = normalize_dtype(dtype)

    def make_node(self, *scalars):
        scalars = [as_tensor_variable(s) for s in scalars]
        for s in scalars:
            if s.ndim != 0:
                raise GraphTypeError(f"make_vector: expected scalars, got {s.type}")
            if s.dtype != self.dtype:
                raise GraphTypeError(f"make_vector: expected dtype {self.dtype}, got {s.type}")
        return Apply(self, scalars, [TensorType(self.dtype, (len(scalars),))()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.array(inputs, dtype=self.dtype).reshape(len(inputs))

    def static_entries(self, node):
        return [int(i.data) if isinstance(i, Constant) and i.data >= 0 else None for i in node.inputs]

    def infer_shape(self, fgraph, node, input_shapes):
        return [(constant(len(node.inputs), dtype="int64"),)]

    def L_op(self, inputs, outputs, output_grads):
        from .math import zeros_like

        (gz,) = output_grads
        return [zeros_like(x) if x.dtype in DISCRETE_DTYPES else gz[i] for i, x in enumerate(inputs)]

    def R_op(self, inputs, eval_points):
        if all(e is None for e in eval_points):
            return [None]
        from .math import zeros_like

        return [self(*[zeros_like(x) if e is None else e for x, e in zip(inputs, eval_points)])]


def make_vector(*scalars, dtype=None):
    scalars = [as_tensor_variable(s) for s in scalars]
    if dtype is None:
        dtype = upcast(*[s.dtype for s in scalars]) if scalars else "int64"
    from .math import cast

    return MakeVector(dtype)(*[cast(s, dtype) for s in scalars])


def stack(tensors, axis=0):
    """Join tensors of equal shape along a new axis."""
    tensors = [as_tensor_variable(t) for t in tensors]
    if not tensors:
        raise GraphTypeError("stack: need at least one tensor")
    if all(t.ndim == 0 for t in tensors) and axis in (0, -1):
        return make_vector(*tensors)
    from .join import concatenate
    from .shape import expand_dims

    return concatenate([expand_dims(t, axis) for t in tensors], axis=axis)


class Alloc(Op):
    """An array of the given shape filled with ``value`` (broadcast)."""

    def make_node(self, value, *shape):
        value = as_tensor_variable(value)
        shape = [as_tensor_variable(s) for s in shape]
        for s in shape:
            if s.ndim != 0 or s.dtype not in DISCRETE_DTYPES:
                raise GraphTypeError(f"alloc: shape entries must be integer scalars, got {s.type}")
        if len(shape) < value.ndim:
            raise GraphTypeError(f"alloc: {len(shape)} lengths for a value of {value.type}")
        static = []
        for s in shape:
            static.append(int(s.data) if isinstance(s, Constant) else None)
        return Apply(self, [value] + shape, [TensorType(value.dtype, static)()])

    def perform(self, node, inputs, output_storage):
        value, *shape = inputs
        shape = tuple(int(s) for s in shape)
        # As in Elemwise, only static length-1 axes broadcast: L_op sums over exactly those.
        offset = len(shape) - np.ndim(value)
        for axis, (got, static) in enumerate(zip(np.shape(value), node.inputs[0].type.shape)):
            if offset >= 0 and got != shape[offset + axis] and got == 1 and static != 1:
                raise InputShapeError(
                    f"alloc: the value has length 1 on axis {axis} where the result has length "
                    f"{shape[offset + axis]}; only axes declared broadcastable (static length 1, "
                    f"e.g. T.addbroadcast) broadcast" + where(node.outputs[0])
                )
        out = np.empty(shape, dtype=node.outputs[0].type.numpy_dtype)
        try:
            out[...] = value
        except ValueError:
            raise InputShapeError(
                f"alloc: cannot broadcast a value of shape {np.shape(value)} to {shape}"
                + where(node.outputs[0])
            ) from None
        output_storage[0][0] = out

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(node.inputs[1:])]

    def L_op(self, inputs, outputs, output_grads):
        from ..gradient import disconnected_type
        from .elemwise import reduce_to_shape
        from .reduction import sum as tsum

        value = inputs[0]
        (gz,) = output_grads
        g = reduce_to_shape(gz, value, tsum)
        # Axes where the value itself is not broadcastable but has length 1 at
        # run time cannot occur: Alloc refuses to broadcast them.
        return [g] + [disconnected_type() for _ in inputs[1:]]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return [None]
        return [self(eval_points[0], *inputs[1:])]

    def connection_pattern(self, node):
        return [[True]] + [[False] for _ in node.inputs[1:]]


_alloc = Alloc()


def alloc(value, *shape):
    """``value`` broadcast to ``shape`` as a new array."""
    if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = shape[0]
    from .math import cast

    shape = [cast(as_tensor_variable(s), "int64") if not isinstance(s, numbers.Integral)
             else constant(int(s), dtype="int64") for s in shape]
    return _alloc(value, *shape)


def full(shape, fill_value, dtype=None):
    """A new array of ``shape`` filled with ``fill_value``."""
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    if dtype is None and isinstance(fill_value, float):
        dtype = "floatX"
    value = constant(fill_value, dtype=normalize_dtype(dtype) if dtype else None)
    return alloc(value, *shape)


def zeros(shape, dtype=None):
    """An array of zeros (floatX unless ``dtype`` is given)."""
    return full(shape, 0, dtype=dtype or "floatX")


def ones(shape, dtype=None):
    """An array of ones (floatX unless ``dtype`` is given)."""
    return full(shape, 1, dtype=dtype or "floatX")


def full_like(x, fill_value, dtype=None):
    """An array like ``x`` (same shape, dtype unless given) filled with ``fill_value``."""
    from .shape import shape_tuple

    x = as_tensor_variable(x)
    value = constant(fill_value, dtype=normalize_dtype(dtype) if dtype else x.dtype)
    return _alloc(value, *shape_tuple(x))
