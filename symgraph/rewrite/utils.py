"""Small helpers shared by rewrite rules."""

import numpy as np

from ..graph.basic import Constant
from ..graph.op import ShapeNotImplemented
from ..graph.traversal import toposort


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
    from ..tensor.elemwise import Elemwise

    node = var.owner
    # CAReduce also has a scalar_op: only an Elemwise computes elementwise.
    return node is not None and isinstance(node.op, Elemwise) and node.op.scalar_op == scalar_op


def clients(fgraph, var):
    """``(node, input index)`` pairs (or ``("output", i)``) using ``var`` in ``fgraph``.

    During a rewrite pass the driver has rebuilt nodes whose inputs changed;
    such a variable answers with the clients of the variables it replaced.
    """
    if fgraph is None:
        return []
    driver = getattr(fgraph, "rewrite_driver", None)
    if driver is not None:
        return driver.clients(var)
    return list(fgraph.clients.get(var, ()))


def n_clients(fgraph, var):
    """How many nodes use ``var`` in ``fgraph`` (1 for a variable a rewrite just made)."""
    return len(clients(fgraph, var)) or 1


def shape_of(fgraph, var):
    """The symbolic shape of ``var`` (a tuple of int64 scalars) from ``Op.infer_shape``.

    Cached on ``fgraph``'s shape feature; only the ancestors not yet in the
    cache are visited, so asking for every node of a graph costs time linear
    in its size (a fresh ``infer_shape`` walks all ancestors each time).
    """
    from ..tensor.shape import shape_tuple
    from ..tensor.variable import as_tensor_variable
    from .shape_feature import shape_feature

    cache = shape_feature(fgraph).cache if fgraph is not None else {}
    if var in cache:
        return cache[var]

    def known(v):
        if v not in cache:
            cache[v] = shape_tuple(v) if hasattr(v.type, "ndim") else None
        return cache[v]

    for node in toposort([var], blockers=cache):
        if all(o in cache for o in node.outputs):
            continue
        in_shapes = [known(i) for i in node.inputs]
        try:
            out_shapes = node.op.infer_shape(fgraph, node, in_shapes)
        except ShapeNotImplemented:
            out_shapes = [shape_tuple(o) if hasattr(o.type, "ndim") else None for o in node.outputs]
        for o, s in zip(node.outputs, out_shapes):
            cache[o] = None if s is None else tuple(as_tensor_variable(d) for d in s)
    return known(var)


def same_length(a, b):
    """Whether two symbolic lengths are provably equal (one variable, or equal constants)."""
    if a is b:
        return True
    va, vb = constant_value(a), constant_value(b)
    return va is not None and vb is not None and int(va) == int(vb)


def known_positive(var, depth=6):
    """Whether ``var`` is strictly positive by construction (exp, sums of exps, ...).

    Such a value may underflow to 0 or overflow to inf in floating point, but
    never is 0 mathematically, so cancelling it (``a * e / e -> a``) is exact
    and removes the 0/0 and inf/inf a computed value could give.
    """
    data = constant_value(var)
    if data is not None:
        return data.size > 0 and bool(np.all(data > 0))
    node = var.owner
    if node is None or depth == 0:
        return False
    name = type(node.op).__name__
    scalar = getattr(node.op, "scalar_op", None)
    if name == "Elemwise":
        label = str(scalar)
        if label in ("exp", "exp2", "cosh", "sigmoid", "softplus"):
            return True
        if label in ("add", "mul", "true_div", "maximum"):
            return all(known_positive(i, depth - 1) for i in node.inputs)
        return False
    if name in ("DimShuffle", "Alloc"):
        return known_positive(node.inputs[0], depth - 1)
    if name == "CAReduce" and node.op.label in ("sum", "prod", "max", "min"):
        return known_positive(node.inputs[0], depth - 1)
    return False


def known_nonzero(var):
    """Whether ``var`` is never 0 mathematically: a nonzero constant, or positive by construction."""
    data = constant_value(var)
    if data is not None:
        return data.size > 0 and bool(np.all(data != 0))
    return known_positive(var)


def broadcast_like(value, out, fgraph=None):
    """``value`` made to stand for ``out``: same dtype and rank, broadcast (alloc) if needed."""
    from ..tensor.basic import alloc
    from ..tensor.math import cast
    from ..tensor.variable import as_tensor_variable

    value = cast(as_tensor_variable(value), out.dtype)
    if value.ndim < out.ndim:
        value = value.dimshuffle(*(["x"] * (out.ndim - value.ndim) + list(range(value.ndim))))
    if any(v == 1 and o != 1 for v, o in zip(value.type.shape, out.type.shape)):
        return alloc(value, *shape_of(fgraph, out))
    return value


_PRODUCT_OPS = ("mul", "true_div", "neg", "reciprocal")


def product_factors(var, limit=16):
    """``(negated, numerators, denominators)`` with ``var == ±prod(num) / prod(den)``.

    Looks through mul, true_div, neg and reciprocal nodes of ``var``'s dtype
    (at most ``limit`` of them); anything else is a factor.
    """
    dtype = var.dtype
    num, den = [], []
    negated = False
    budget = [limit]
    stack = [(var, False)]
    while stack:
        v, inverted = stack.pop()
        node = v.owner
        label = str(node.op.scalar_op) if node is not None and type(node.op).__name__ == "Elemwise" else None
        if (label not in _PRODUCT_OPS or v.dtype != dtype or budget[0] == 0
                or any(i.dtype != dtype and not isinstance(i, Constant) for i in node.inputs)):
            (den if inverted else num).append(v)
            continue
        budget[0] -= 1
        if label == "mul":
            stack.extend((i, inverted) for i in reversed(node.inputs))
        elif label == "true_div":
            stack.append((node.inputs[1], not inverted))
            stack.append((node.inputs[0], inverted))
        elif label == "reciprocal":
            stack.append((node.inputs[0], not inverted))
        else:
            negated = not negated
            stack.append((node.inputs[0], inverted))
    return negated, num, den


def cancel_factors(num, den):
    """``num`` and ``den`` without the factors they share that are never 0; None if none."""
    num, den = list(num), list(den)
    kept_den = []
    cancelled = False
    for d in den:
        for k, n in enumerate(num):
            if n is d and known_nonzero(d):
                del num[k]
                cancelled = True
                break
        else:
            kept_den.append(d)
    return (num, kept_den) if cancelled else None


def build_product(negated, num, den, out, fgraph=None):
    """``±prod(num) / prod(den)`` standing for ``out`` (its dtype and broadcast shape)."""
    from ..tensor import math as tm
    from ..tensor.variable import constant

    value = tm.mul(*num) if len(num) > 1 else (num[0] if num else constant(1, dtype=out.dtype))
    if den:
        value = tm.true_div(value, tm.mul(*den) if len(den) > 1 else den[0])
    if negated:
        value = tm.neg(value)
    return broadcast_like(value, out, fgraph)


def cancelled_product(var, fgraph=None):
    """``var`` as a product with its never-zero common factors cancelled, or None."""
    negated, num, den = product_factors(var)
    kept = cancel_factors(num, den)
    if kept is None:
        return None
    return build_product(negated, kept[0], kept[1], var, fgraph)
