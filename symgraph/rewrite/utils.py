"""Small helpers shared by rewrite rules."""

import numpy as np

from ..graph.basic import Constant


def constant_value(var):
    """The NumPy value of ``var`` if it is a constant, else None."""
    return var.data if isinstance(var, Constant) else None


def is_constant_equal(var, value):
    """Whether ``var`` is a constant whose every entry equals ``value``."""
    data = constant_value(var)
    return data is not None and data.size > 0 and bool(np.all(data == value))


def fill_value(var):
    """The value ``var`` is filled with: a uniform constant, or an Alloc of one; else None."""
    value = scalar_constant(var)
    if value is None and var.owner is not None and type(var.owner.op).__name__ == "Alloc":
        value = scalar_constant(var.owner.inputs[0])
    return value


def scalar_constant(var):
    """The single value of a constant whose entries are all equal, else None."""
    data = constant_value(var)
    if data is None or data.size == 0:
        return None
    first = data.reshape(-1)[0]
    return first if np.all(data == first) else None


def elemwise_of(var, scalar_op):
    """Whether ``var`` is computed by the Elemwise applying ``scalar_op``."""
    node = var.owner
    return node is not None and getattr(node.op, "scalar_op", None) == scalar_op


def n_clients(fgraph, var):
    """How many nodes use ``var`` in ``fgraph`` (1 for a variable a rewrite just made)."""
    return len(fgraph.clients.get(var, ())) or 1


def broadcast_like(value, out):
    """``value`` made to stand for ``out``: same dtype and rank, broadcast (alloc) if needed."""
    from ..tensor.basic import alloc
    from ..tensor.math import cast
    from ..tensor.shape_inference import infer_shape
    from ..tensor.variable import as_tensor_variable

    value = cast(as_tensor_variable(value), out.dtype)
    if value.ndim < out.ndim:
        value = value.dimshuffle(*(["x"] * (out.ndim - value.ndim) + list(range(value.ndim))))
    if any(v == 1 and o != 1 for v, o in zip(value.type.shape, out.type.shape)):
        return alloc(value, *infer_shape(out))
    return value
