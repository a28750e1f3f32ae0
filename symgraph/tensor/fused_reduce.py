"""FusedReduce: an elementwise Composite and the reduction over its result, as one node.

``sum(exp(-x*x) * sin(x))`` unfused writes the whole elementwise result to
memory and reads it back to sum it; fused, a backend emits one loop that
accumulates each element as it is computed.  The fusion pass builds it; here
``perform`` is the NumPy reference (elementwise, then reduce), and gradients
are those of the unfused form.
"""

import numpy as np

from ..errors import GraphTypeError, where
from ..graph.basic import Apply
from ..graph.op import Op
from ..scalar.composite import Composite, grad_by_expansion, rop_by_expansion
from .elemwise import (
    Elemwise,
    _check_runtime_broadcast,
    _pad_left,
    broadcast_static_shapes,
)
from .reduction import CAReduce
from .type import TensorType
from .variable import as_tensor_variable


class FusedReduce(Op):
    """``reducer`` (add, mul, maximum, minimum, and, or) over ``axis`` of ``Elemwise(composite)``."""

    __props__ = ("composite", "reducer", "axis")

    def __init__(self, composite, reducer, axis):
        if not isinstance(composite, Composite) or composite.nout != 1:
            raise GraphTypeError(f"FusedReduce: expected a single-output Composite, got {composite}")
        self.composite = composite
        self.reducer = reducer
        self.axis = tuple(int(a) for a in axis)
        # The reduction's semantics (dtypes, empty max, ...) are CAReduce's own.
        self.reduce_op = CAReduce(reducer, self.axis)

    def __str__(self):
        return f"FusedReduce{{{self.reduce_op.label}, axis={self.axis}, {self.composite}}}"

    def make_node(self, *inputs):
        inputs = [as_tensor_variable(i) for i in inputs]
        if len(inputs) != self.composite.nin:
            raise GraphTypeError(f"{self} takes {self.composite.nin} inputs, got {len(inputs)}"
                                 + (where(inputs[0]) if inputs else ""))
        ndim = max(i.ndim for i in inputs)
        inputs = [i if i.ndim == ndim else _pad_left(i, ndim) for i in inputs]
        if any(not 0 <= a < ndim for a in self.axis):
            raise GraphTypeError(f"{self}: axis {self.axis} out of range for inputs of ndim {ndim}"
                                 + where(inputs[0]))
        shape = broadcast_static_shapes([i.type.shape for i in inputs], self, inputs)
        dtype = self.composite.output_dtype(*[i.type.dtype for i in inputs])
        out_shape = [s for k, s in enumerate(shape) if k not in self.axis]
        return Apply(self, inputs, [TensorType(self.reduce_op.output_dtype(dtype), out_shape)()])

    def perform(self, node, inputs, output_storage):
        elem = np.asarray(self.composite.impl(*inputs), dtype=self.composite.output_dtypes[0])
        if any(v.shape != elem.shape for v in inputs):
            _check_runtime_broadcast(node, inputs, elem.shape)
        self.reduce_op.perform(node, [elem], output_storage)

    def infer_shape(self, fgraph, node, input_shapes):
        from .basic import constant

        out = []
        for axis in range(node.inputs[0].ndim):
            if axis in self.axis:
                continue
            dims = [shp[axis] for inp, shp in zip(node.inputs, input_shapes) if inp.type.shape[axis] != 1]
            out.append(dims[0] if dims else constant(1, dtype="int64"))
        return [tuple(out)]

    def expand(self, *inputs):
        """The unfused form: ``CAReduce(Elemwise(composite)(*inputs))``."""
        return [self.reduce_op(Elemwise(self.composite)(*inputs))]

    def L_op(self, inputs, outputs, output_grads):
        return grad_by_expansion(self.expand, inputs, outputs, output_grads)

    def R_op(self, inputs, eval_points):
        return rop_by_expansion(self.expand, inputs, eval_points)

