"""Shape ops: shape, shape_i, reshape, flatten, squeeze, specify_shape."""

import numbers

import numpy as np

from ..errors import GraphShapeError, GraphTypeError, InputShapeError, where
from ..graph.basic import Apply, Constant, Variable
from ..graph.op import Op
from .type import TensorType
from .variable import as_tensor_variable, constant


class Shape(Op):
    """The shape of an array as an int64 vector."""

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply(self, [x], [TensorType("int64", (x.ndim,))()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.asarray(inputs[0].shape, dtype="int64")

    def infer_shape(self, fgraph, node, input_shapes):
        return [(constant(node.inputs[0].ndim, dtype="int64"),)]

    def L_op(self, inputs, outputs, output_grads):
        from ..gradient import disconnected_type

        return [disconnected_type()]

    def R_op(self, inputs, eval_points):
        return [None]

    def connection_pattern(self, node):
        return [[False]]


class Shape_i(Op):
    """The length of axis ``i`` as an int64 scalar."""

    __props__ = ("i",)

    def __init__(self, i):
        self.i = int(i)

    def make_node(self, x):
        x = as_tensor_variable(x)
        if not 0 <= self.i < x.ndim:
            raise GraphTypeError(f"shape_i({self.i}) of {x.type}: axis out of range")
        return Apply(self, [x], [TensorType("int64", ())()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.asarray(inputs[0].shape[self.i], dtype="int64")

    def infer_shape(self, fgraph, node, input_shapes):
        return [()]

    def L_op(self, inputs, outputs, output_grads):
        from ..gradient import disconnected_type

        return [disconnected_type()]

    def R_op(self, inputs, eval_points):
        return [None]

    def connection_pattern(self, node):
        return [[False]]


_shape = Shape()


def shape(x):
    """Symbolic shape of ``x`` (int64 vector)."""
    return _shape(x)


def shape_i(x, i):
    """Symbolic length of axis ``i`` of ``x``; a constant when statically known."""
    x = as_tensor_variable(x)
    if x.type.shape[i] is not None:
        return constant(x.type.shape[i], dtype="int64")
    return Shape_i(i % x.ndim)(x)


def shape_tuple(x):
    """The shape of ``x`` as a tuple of int64 scalars (constants where known)."""
    x = as_tensor_variable(x)
    return tuple(shape_i(x, i) for i in range(x.ndim))


class Reshape(Op):
    """Reshape ``x`` to the int vector ``shp`` of static length ``ndim`` (-1 allowed once)."""

    __props__ = ("ndim",)
    view_map = {0: [0]}

    def __init__(self, ndim):
        self.ndim = int(ndim)

    def make_node(self, x, shp):
        x = as_tensor_variable(x)
        shp = as_tensor_variable(shp, ndim=1)
        if shp.dtype not in ("int8", "int16", "int32", "int64", "uint8"):
            raise GraphTypeError(f"reshape: the shape must be integers, got {shp.type}")
        static = [None] * self.ndim
        if isinstance(shp, Constant):
            static = [None if s < 0 else int(s) for s in shp.data]
        elif shp.owner is not None and hasattr(shp.owner.op, "static_entries"):
            static = shp.owner.op.static_entries(shp.owner)
        static = [1 if s == 1 else s for s in static]
        return Apply(self, [x, shp], [TensorType(x.dtype, static)()])

    def perform(self, node, inputs, output_storage):
        x, shp = inputs
        try:
            out = np.reshape(x, tuple(int(s) for s in shp))
        except ValueError:
            raise InputShapeError(
                f"reshape: cannot reshape an array of shape {x.shape} (size {x.size}) "
                f"into shape {tuple(shp)}" + where(node.outputs[0])
            ) from None
        for axis, (want, got) in enumerate(zip(node.outputs[0].type.shape, out.shape)):
            if want is not None and want != got:
                raise InputShapeError(f"reshape: axis {axis} has length {got}, expected {want}")
        output_storage[0][0] = out

    def infer_shape(self, fgraph, node, input_shapes):
        from .math import eq, int_div, switch
        from .reduction import prod

        x, shp = node.inputs
        size = prod(input_shapes[0]) if input_shapes[0] else constant(1, dtype="int64")
        entries = [shp[i] for i in range(self.ndim)]
        if not entries:
            return [()]
        # A -1 entry stands for the size divided by the product of the others.
        known = prod(as_tensor_variable([switch(eq(e, -1), 1, e) for e in entries]))
        missing = int_div(size, switch(eq(known, 0), 1, known))
        return [tuple(switch(eq(e, -1), missing, e) for e in entries)]

    def L_op(self, inputs, outputs, output_grads):
        from ..gradient import disconnected_type

        x, shp = inputs
        return [reshape(output_grads[0], shape(x), ndim=x.ndim), disconnected_type()]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return [None]
        return [self(eval_points[0], inputs[1])]

    def connection_pattern(self, node):
        return [[True], [False]]


def _as_shape_vector(shape):
    if isinstance(shape, Variable):
        return as_tensor_variable(shape)
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    entries = list(shape)
    if all(isinstance(s, numbers.Integral) for s in entries):
        return constant(np.asarray(entries, dtype="int64"))
    from .basic import stack
    from .math import cast

    return stack([cast(as_tensor_variable(s), "int64") for s in entries])


def reshape(x, shape, ndim=None):
    """``x`` with a new shape (a tuple of ints/scalars or an int vector; one -1 allowed)."""
    x = as_tensor_variable(x)
    shp = _as_shape_vector(shape)
    if ndim is None:
        if shp.type.shape[0] is None:
            raise GraphTypeError(
                "reshape: the length of a symbolic shape vector is unknown; pass ndim="
            )
        ndim = shp.type.shape[0]
    if isinstance(shp, Constant) and (shp.data < 0).sum() > 1:
        raise GraphShapeError(f"reshape: at most one -1 is allowed, got {tuple(shp.data)}")
    return Reshape(ndim)(x, shp)


def flatten(x, ndim=1):
    """Keep the first ``ndim - 1`` axes and merge the rest into one."""
    x = as_tensor_variable(x)
    if ndim < 1 or ndim > max(x.ndim, 1):
        raise GraphTypeError(f"flatten: ndim must be in [1, {max(x.ndim, 1)}], got {ndim}")
    if ndim == 1:
        return reshape(x, [-1], ndim=1)
    shp = shape_tuple(x)
    # Not -1: it is ambiguous when a kept axis has length 0, so the merged length is spelled out.
    rest = x.type.shape[ndim - 1:]
    if None not in rest:
        merged = int(np.prod(rest, dtype="int64"))
    else:
        merged = shp[ndim - 1]
        for n in shp[ndim:]:
            merged = merged * n
    return reshape(x, list(shp[: ndim - 1]) + [merged], ndim=ndim)


def squeeze(x, axis=None):
    """Drop axes of static length 1 (all of them, or those in ``axis``)."""
    x = as_tensor_variable(x)
    if axis is None:
        axes = [i for i, s in enumerate(x.type.shape) if s == 1]
    else:
        axes = [a % x.ndim for a in ((axis,) if isinstance(axis, numbers.Integral) else axis)]
        for a in axes:
            if x.type.shape[a] != 1:
                raise GraphShapeError(f"squeeze: axis {a} of {x.type} is not known to have length 1")
    return x.dimshuffle(*[i for i in range(x.ndim) if i not in axes])


def expand_dims(x, axis):
    """``x`` with new length-1 axes at ``axis``."""
    x = as_tensor_variable(x)
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    out_ndim = x.ndim + len(axes)
    axes = sorted(a % out_ndim for a in axes)
    pattern, it = [], iter(range(x.ndim))
    for i in range(out_ndim):
        pattern.append("x" if i in axes else next(it))
    return x.dimshuffle(*pattern)


def shape_padleft(x, n=1):
    x = as_tensor_variable(x)
    return x.dimshuffle(*(["x"] * n + list(range(x.ndim))))


def shape_padright(x, n=1):
    x = as_tensor_variable(x)
    return x.dimshuffle(*(list(range(x.ndim)) + ["x"] * n))


def shape_padaxis(x, axis):
    return expand_dims(x, axis)


def addbroadcast(x, *axes):
    """Declare axes of length 1 broadcastable (checked at run time)."""
    x = as_tensor_variable(x)
    shape = list(x.type.shape)
    for a in axes:
        shape[a] = 1
    return specify_shape(x, shape)


class SpecifyShape(Op):
    """Assert at run time that ``x`` has a static shape; gives the graph that knowledge."""

    __props__ = ("shape",)
    view_map = {0: [0]}

    def __init__(self, shape):
        self.shape = tuple(None if s is None else int(s) for s in shape)

    def make_node(self, x):
        x = as_tensor_variable(x)
        if len(self.shape) != x.ndim:
            raise GraphTypeError(f"specify_shape: {len(self.shape)} lengths for {x.type}")
        merged = [s if s is not None else t for s, t in zip(self.shape, x.type.shape)]
        return Apply(self, [x], [TensorType(x.dtype, merged)()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        for axis, (want, got) in enumerate(zip(self.shape, x.shape)):
            if want is not None and want != got:
                raise InputShapeError(
                    f"specify_shape: expected length {want} on axis {axis}, got shape {x.shape}"
                    + where(node.outputs[0])
                )
        output_storage[0][0] = x

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(constant(s, dtype="int64") if s is not None else d
                      for s, d in zip(self.shape, input_shapes[0]))]

    def L_op(self, inputs, outputs, output_grads):
        return [output_grads[0]]

    def R_op(self, inputs, eval_points):
        return [None if eval_points[0] is None else self(eval_points[0])]


def specify_shape(x, shape):
    return SpecifyShape(shape)(x)
