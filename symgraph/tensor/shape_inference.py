"""Symbolic shapes from ``Op.infer_shape``: the shape of an intermediate without computing it."""

from ..graph.op import ShapeNotImplemented
from ..graph.traversal import toposort
from .shape import Shape_i, shape_tuple
from .variable import as_tensor_variable


def symbolic_shapes(outputs, cache=None):
    """``{variable: tuple of int64 scalars}`` for ``outputs`` and everything they depend on.

    Inputs get ``shape_i`` of themselves; each node's outputs get what its
    Op's ``infer_shape`` says, falling back to ``shape_i`` of the output
    itself (which computes it) for an Op that cannot tell.
    """
    shapes = {} if cache is None else cache

    def shape_of(v):
        if v not in shapes:
            shapes[v] = shape_tuple(v) if hasattr(v.type, "ndim") else None
        return shapes[v]

    for node in toposort(list(outputs)):
        if all(o in shapes for o in node.outputs):
            continue
        in_shapes = [shape_of(i) for i in node.inputs]
        try:
            out_shapes = node.op.infer_shape(None, node, in_shapes)
        except ShapeNotImplemented:
            out_shapes = [shape_tuple(o) if hasattr(o.type, "ndim") else None for o in node.outputs]
        for o, s in zip(node.outputs, out_shapes):
            if s is not None:
                s = tuple(as_tensor_variable(d) for d in s)
                if len(s) != o.type.ndim:
                    raise ValueError(f"{node.op}.infer_shape gave {len(s)} lengths for {o.type}")
            shapes[o] = s
    for v in outputs:
        shape_of(v)
    return shapes


def infer_shape(var):
    """The symbolic shape of ``var`` from infer_shape (a tuple of int64 scalars)."""
    return symbolic_shapes([var])[var]


__all__ = ["infer_shape", "symbolic_shapes", "Shape_i"]
