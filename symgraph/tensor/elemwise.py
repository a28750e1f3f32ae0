"""Elemwise (a scalar op applied across arrays) and DimShuffle (axis views)."""

import numpy as np

from ..errors import GraphShapeError, GraphTypeError, InputShapeError, where
from ..graph.basic import Apply
from ..graph.op import Op
from ..scalar import ops as scal
from .type import DISCRETE_DTYPES, TensorType


class Elemwise(Op):
    """Apply ``scalar_op`` elementwise with NumPy broadcasting.

    Inputs of lower rank get leading broadcastable axes.  As in Theano, only
    axes whose static length is 1 broadcast: a length-1 value on an axis of
    unknown length is refused at run time, so gradients never silently miss
    a sum over broadcast axes.
    """

    __props__ = ("scalar_op",)

    def __init__(self, scalar_op):
        self.scalar_op = scalar_op

    def __str__(self):
        return str(self.scalar_op)

    def make_node(self, *inputs):
        from .variable import as_tensor_variables_weak

        inputs = as_tensor_variables_weak(inputs)
        nin = self.scalar_op.nin
        if nin != -1 and len(inputs) != nin:
            raise GraphTypeError(f"{self} takes {nin} inputs, got {len(inputs)}")
        ndim = max(i.ndim for i in inputs)
        inputs = [i if i.ndim == ndim else _pad_left(i, ndim) for i in inputs]
        shape = broadcast_static_shapes([i.type.shape for i in inputs], self, inputs)
        dtype = self.scalar_op.output_dtype(*[i.type.dtype for i in inputs])
        # A multi-output scalar op (a Composite) gives one dtype per output; all share the shape.
        dtypes = dtype if self.scalar_op.nout > 1 else (dtype,)
        return Apply(self, inputs, [TensorType(d, shape)() for d in dtypes])

    def perform(self, node, inputs, output_storage):
        # Floating-point warnings are silenced once per call by the backend.
        if len(node.outputs) > 1:
            return self._perform_multi(node, inputs, output_storage)
        out = np.asarray(self.scalar_op.impl(*inputs))
        dtype = node.outputs[0].type.numpy_dtype
        if out.dtype != dtype:
            out = out.astype(dtype)
        if len(inputs) > 1:
            shp = out.shape
            for v in inputs:
                if v.shape != shp:
                    _check_runtime_broadcast(node, inputs, shp)
                    break
        output_storage[0][0] = out

    def _perform_multi(self, node, inputs, output_storage):
        for cell, value, var in zip(output_storage, self.scalar_op.impl(*inputs), node.outputs):
            value = np.asarray(value)
            if value.dtype != var.type.numpy_dtype:
                value = value.astype(var.type.numpy_dtype)
            cell[0] = value
        shp = output_storage[0][0].shape
        if any(v.shape != shp for v in inputs):
            _check_runtime_broadcast(node, inputs, shp)

    def infer_shape(self, fgraph, node, input_shapes):
        from .basic import constant

        out = []
        for axis, length in enumerate(node.outputs[0].type.shape):
            dim = None
            for inp, shp in zip(node.inputs, input_shapes):
                if inp.type.shape[axis] != 1:
                    dim = shp[axis]
                    break
            out.append(constant(1, dtype="int64") if dim is None else dim)
        return [tuple(out)] * len(node.outputs)

    def L_op(self, inputs, outputs, output_grads):
        from . import math as tm
        from .reduction import sum as tsum

        if hasattr(self.scalar_op, "expanded_L_op"):
            # A Composite is differentiated through its unfused graph.
            return self.scalar_op.expanded_L_op(inputs, outputs, output_grads)
        (z,) = outputs
        (gz,) = output_grads
        if z.dtype in DISCRETE_DTYPES or not self.scalar_op.is_differentiable:
            if z.dtype not in DISCRETE_DTYPES:
                from ..gradient import grad_not_implemented

                return [grad_not_implemented(self, i, x) for i, x in enumerate(inputs)]
            return [tm.zeros_like(x, dtype=_grad_dtype(x)) for x in inputs]
        grads = self.scalar_op.grad(inputs, outputs, gz)
        result = []
        for x, g in zip(inputs, grads):
            if x.dtype in DISCRETE_DTYPES:
                result.append(tm.zeros_like(x, dtype=_grad_dtype(x)))
                continue
            result.append(reduce_to_shape(tm.as_tensor_variable(g), x, tsum))
        return result

    def R_op(self, inputs, eval_points):
        from . import math as tm

        if hasattr(self.scalar_op, "expanded_R_op"):
            return self.scalar_op.expanded_R_op(inputs, eval_points)
        z = self(*inputs)
        if z.dtype in DISCRETE_DTYPES:
            return [tm.zeros_like(z)]
        if not self.scalar_op.is_differentiable:
            from ..errors import GradientError

            raise GradientError(f"{self} has no derivative, so no R_op" + where(z))
        # Forward mode: each scalar grad is gz * dz/dx_i elementwise, so with gz = ev_i it
        # is the tangent contributed by input i.
        total = None
        for i, ev in enumerate(eval_points):
            if ev is None or inputs[i].dtype in DISCRETE_DTYPES:
                continue
            term = self.scalar_op.grad(inputs, [z], tm.as_tensor_variable(ev))[i]
            total = term if total is None else total + term
        if total is None:
            # Reached only through integer or bool inputs: connected, with a zero derivative.
            return [None] if all(ev is None for ev in eval_points) else [tm.zeros_like(z)]
        if total.dtype != z.dtype:
            total = tm.cast(total, z.dtype)
        if any(t == 1 and s != 1 for t, s in zip(total.type.shape, z.type.shape)):
            # A tangent only of broadcast inputs (row + matrix, d/d row) has their shape.
            from .basic import alloc
            from .shape import shape_tuple

            total = alloc(total, *shape_tuple(z))
        return [total]


def _pad_left(x, ndim):
    from ..graph.basic import Constant
    from .variable import constant

    if isinstance(x, Constant):
        # Padding a constant needs no node: reshape its data.
        return constant(x.data.reshape((1,) * (ndim - x.ndim) + x.data.shape), dtype=x.dtype)
    return x.dimshuffle(*(["x"] * (ndim - x.ndim) + list(range(x.ndim))))


def _grad_dtype(x):
    from ..config import config

    return x.dtype if x.dtype not in DISCRETE_DTYPES else config.floatX


def reduce_to_shape(g, x, tsum):
    """Sum ``g`` over the axes ``x`` was broadcast along, and match its dtype."""
    from . import math as tm

    if g.ndim > x.ndim:
        g = tsum(g, axis=list(range(g.ndim - x.ndim)))
    axes = [a for a, (gs, xs) in enumerate(zip(g.type.shape, x.type.shape)) if xs == 1 and gs != 1]
    if axes:
        g = tsum(g, axis=axes, keepdims=True)
    if g.dtype != x.dtype:
        g = tm.cast(g, x.dtype)
    return g


def broadcast_static_shapes(shapes, op=None, inputs=None):
    ndim = len(shapes[0])
    out = []
    for axis in range(ndim):
        known = {s[axis] for s in shapes if s[axis] is not None and s[axis] != 1}
        if len(known) > 1:
            raise GraphShapeError(
                f"{op}: inputs have incompatible static lengths {sorted(known)} on axis {axis}"
                + (where(inputs[0]) if inputs else "")
            )
        if known:
            out.append(known.pop())
        elif all(s[axis] == 1 for s in shapes):
            out.append(1)
        else:
            out.append(None)
    return tuple(out)


def _check_runtime_broadcast(node, inputs, out_shape):
    for var, val in zip(node.inputs, inputs):
        shape = np.shape(val)
        if shape == out_shape:
            continue
        for axis, (static, got, want) in enumerate(zip(var.type.shape, shape, out_shape)):
            if got != want and static != 1:
                raise InputShapeError(
                    f"{node.op}: input {var} has length {got} on axis {axis} where the result has "
                    f"length {want}; only axes declared broadcastable (static length 1, e.g. "
                    f"T.row, x.dimshuffle('x', 0)) broadcast" + where(node.outputs[0])
                )


class DimShuffle(Op):
    """Reorder, drop (length-1) and insert ('x') axes; a view of its input."""

    __props__ = ("input_ndim", "new_order")
    view_map = {0: [0]}

    def __init__(self, input_ndim, new_order):
        self.input_ndim = int(input_ndim)
        self.new_order = tuple(new_order)
        kept = [o for o in self.new_order if o != "x"]
        if len(set(kept)) != len(kept) or any(not 0 <= o < self.input_ndim for o in kept):
            raise GraphTypeError(
                f"dimshuffle{self.new_order}: invalid pattern for an input of ndim {self.input_ndim}"
            )
        self.shuffle = tuple(kept)
        self.drop = tuple(i for i in range(self.input_ndim) if i not in kept)
        self.augment = tuple(i for i, o in enumerate(self.new_order) if o == "x")

    def __str__(self):
        return "DimShuffle{" + ",".join(map(str, self.new_order)) + "}"

    def make_node(self, x):
        from .variable import as_tensor_variable

        x = as_tensor_variable(x)
        if x.ndim != self.input_ndim:
            raise GraphTypeError(f"{self}: expected an input of ndim {self.input_ndim}, got {x.type}")
        for d in self.drop:
            if x.type.shape[d] != 1:
                raise GraphShapeError(
                    f"{self}: cannot drop axis {d} of {x.type}: it is not known to have length 1"
                )
        shape = tuple(1 if o == "x" else x.type.shape[o] for o in self.new_order)
        return Apply(self, [x], [TensorType(x.dtype, shape)()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        if self.drop:
            x = x.reshape([n for i, n in enumerate(x.shape) if i not in self.drop])
            ranks = sorted(self.shuffle)
            order = [ranks.index(o) for o in self.shuffle]
        else:
            order = self.shuffle
        y = np.transpose(x, order)
        if self.augment:
            y = np.expand_dims(y, self.augment)
        output_storage[0][0] = y

    def infer_shape(self, fgraph, node, input_shapes):
        from .basic import constant

        (shp,) = input_shapes
        one = constant(1, dtype="int64")
        return [tuple(one if o == "x" else shp[o] for o in self.new_order)]

    def L_op(self, inputs, outputs, output_grads):
        from .reduction import sum as tsum

        (x,) = inputs
        (gz,) = output_grads
        if self.augment:
            gz = tsum(gz, axis=list(self.augment))
        inverse = [None] * x.ndim
        for pos, axis in enumerate(self.shuffle):
            inverse[axis] = pos
        order = ["x" if p is None else p for p in inverse]
        g = gz.dimshuffle(*order)
        return [reduce_to_shape(g, x, tsum)]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return [None]
        return [self(eval_points[0])]


_elemwise_cache = {}


def elemwise_op(scalar_op):
    """The Elemwise wrapping ``scalar_op`` (one instance per scalar op)."""
    op = _elemwise_cache.get(scalar_op)
    if op is None:
        op = _elemwise_cache[scalar_op] = Elemwise(scalar_op)
    return op


__all__ = ["DimShuffle", "Elemwise", "elemwise_op", "scal"]
