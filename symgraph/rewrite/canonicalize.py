"""canonicalize: algebraic identities and standard forms, so later passes see one spelling.

Each rule is small and named; ``sg.Mode(excluding=[name])`` switches one off.
"""

import numpy as np

from ..gradient import DisconnectedGrad, GradClip, GradScale, ZeroGrad
from ..graph.basic import Constant
from ..scalar import ops as scal
from ..tensor.basic import Alloc
from ..tensor.elemwise import DimShuffle, Elemwise, elemwise_op
from ..tensor.reduction import CAReduce
from ..tensor.shape import Reshape, Shape, Shape_i, SpecifyShape
from ..tensor.variable import constant
from .pattern import Pat
from .rules import RuleTable
from .utils import (
    broadcast_like,
    cancelled_product,
    constant_value,
    elemwise_of,
    fill_value,
    is_constant_equal,
    known_nonzero,
    n_clients,
    same_length,
    shape_of,
)

canonicalize = RuleTable("canonicalize")
register = canonicalize.register


# Folding must not grow a graph's constants past this many elements beyond its inputs':
# a constant is hashed (merge) and copied into every compiled function, while an alloc
# of a big array costs nothing until it runs.
MAX_FOLDED_SIZE = 1 << 16


@register(Pat(), name="constant_folding", tags=("fold",))
def constant_folding(node):
    if not node.inputs or not all(isinstance(i, Constant) for i in node.inputs):
        return None
    if not node.op.do_constant_folding(node):
        return None
    in_size = sum(i.data.size for i in node.inputs if hasattr(i.data, "size"))
    if isinstance(node.op, Alloc):
        size = int(np.prod([int(d.data) for d in node.inputs[1:]], dtype="int64"))
        if size > max(MAX_FOLDED_SIZE, in_size):
            return None
    storage = [[None] for _ in node.outputs]
    with np.errstate(all="ignore"):
        node.op.perform(node, [i.data for i in node.inputs], storage)
    values = [np.asarray(s[0], dtype=o.type.dtype) for o, s in zip(node.outputs, storage)]
    if sum(v.size for v in values) > max(MAX_FOLDED_SIZE, in_size):
        return None
    return [o.type.make_constant(v) for o, v in zip(node.outputs, values)]


def _without(node, drop, fgraph):
    """The Elemwise of ``node`` applied to the inputs not in ``drop``, typed like its output."""
    kept = [i for k, i in enumerate(node.inputs) if k not in drop]
    out = node.outputs[0]
    if not kept:
        return None
    new = kept[0] if len(kept) == 1 else node.op(*kept)
    return broadcast_like(new, out, fgraph)


@register(Pat(scal.mul), name="mul_by_one")
def mul_by_one(node, fgraph):
    ones = {k for k, i in enumerate(node.inputs) if fill_value(i) == 1}
    if not ones or len(ones) == len(node.inputs):
        return None
    return _without(node, ones, fgraph)


@register(Pat(scal.add), name="add_zero")
def add_zero(node, fgraph):
    zeros = {k for k, i in enumerate(node.inputs) if fill_value(i) == 0}
    if not zeros or len(zeros) == len(node.inputs):
        return None
    return _without(node, zeros, fgraph)


@register(Pat(scal.sub, Pat(), Pat(where=lambda v: is_constant_equal(v, 0))), name="sub_zero")
def sub_zero(node, fgraph):
    return broadcast_like(node.inputs[0], node.outputs[0], fgraph)


@register(Pat(scal.sub), name="sub_self")
def sub_self(node, fgraph):
    x, y = node.inputs
    if x is not y:
        return None
    return broadcast_like(constant(0, dtype=node.outputs[0].dtype), node.outputs[0], fgraph)


@register(Pat(scal.true_div), name="div_self")
def div_self(node, fgraph):
    # x / x is 1 only where x is not 0: a possibly-zero x keeps its NaN.
    x, y = node.inputs
    if x is not y or not known_nonzero(x):
        return None
    return broadcast_like(constant(1, dtype=node.outputs[0].dtype), node.outputs[0], fgraph)


@register(Pat(scal.true_div, Pat(), Pat(where=lambda v: is_constant_equal(v, 1))), name="div_by_one")
def div_by_one(node, fgraph):
    return broadcast_like(node.inputs[0], node.outputs[0], fgraph)


@register(Pat(scal.neg, Pat(scal.neg, Pat(name="x"))), name="neg_neg")
def neg_neg(node, x):
    return x


@register(Pat(scal.pow_, Pat(name="x"), Pat(where=lambda v: is_constant_equal(v, 1))), name="pow_one")
def pow_one(node, x, fgraph):
    return broadcast_like(x, node.outputs[0], fgraph)


@register(Pat(scal.pow_, Pat(name="x"), Pat(where=lambda v: is_constant_equal(v, 0))), name="pow_zero")
def pow_zero(node, x, fgraph):
    return broadcast_like(constant(1, dtype=node.outputs[0].dtype), node.outputs[0], fgraph)


def _flatten(scalar_op):
    def rule(node, fgraph):
        terms, changed = [], False
        for i in node.inputs:
            if elemwise_of(i, scalar_op) and i.dtype == node.outputs[0].dtype:
                terms.extend(i.owner.inputs)
                changed = True
            else:
                terms.append(i)
        if not changed:
            return None
        return broadcast_like(node.op(*terms), node.outputs[0], fgraph)

    return rule


register(Pat(scal.add), name="flatten_add")(_flatten(scal.add))
register(Pat(scal.mul), name="flatten_mul")(_flatten(scal.mul))


def _collect_constants(combine, scalar_op):
    def rule(node, fgraph):
        consts = [k for k, i in enumerate(node.inputs) if isinstance(i, Constant)]
        if len(consts) < 2:
            return None
        value = combine([node.inputs[k].data for k in consts])
        out = node.outputs[0]
        rest = [i for k, i in enumerate(node.inputs) if k not in consts]
        folded = constant(np.asarray(value, dtype=out.dtype))
        if not rest:
            return None
        return broadcast_like(elemwise_op(scalar_op)(*rest, folded), out, fgraph)

    return rule


register(Pat(scal.add), name="collect_add_constants")(
    _collect_constants(lambda vs: np.sum(np.broadcast_arrays(*vs), axis=0), scal.add))
register(Pat(scal.mul), name="collect_mul_constants")(
    _collect_constants(lambda vs: np.prod(np.broadcast_arrays(*vs), axis=0), scal.mul))


@register(Pat(Elemwise), name="cast_of_lossless_cast")
def cast_of_lossless_cast(node):
    op = node.op.scalar_op
    if not isinstance(op, scal.Cast):
        return None
    (inner,) = node.inputs
    if inner.dtype == op.dtype:
        return inner
    if not (inner.owner and isinstance(getattr(inner.owner.op, "scalar_op", None), scal.Cast)):
        return None
    x = inner.owner.inputs[0]
    if not np.can_cast(x.dtype, inner.dtype, "safe"):
        return None
    from ..tensor.math import cast

    return cast(x, op.dtype)


@register(Pat(DimShuffle, Pat(DimShuffle, Pat(name="x"))), name="dimshuffle_of_dimshuffle")
def dimshuffle_of_dimshuffle(node, x):
    inner = node.inputs[0].owner.op.new_order
    order = ["x" if o == "x" else inner[o] for o in node.op.new_order]
    return x.dimshuffle(*order)


@register(Pat(DimShuffle), name="useless_dimshuffle")
def useless_dimshuffle(node):
    if node.op.new_order == tuple(range(node.op.input_ndim)):
        return node.inputs[0]
    return None


@register(Pat(DimShuffle, Pat(Elemwise, name="e")), name="lift_dimshuffle_through_elemwise")
def lift_dimshuffle_through_elemwise(node, e, fgraph):
    if n_clients(fgraph, e) > 1 or len(e.owner.outputs) != 1:
        return None
    inputs = e.owner.inputs
    if all(isinstance(i, Constant) for i in inputs):
        return None
    return e.owner.op(*[i.dimshuffle(*node.op.new_order) for i in inputs])


@register(Pat(Reshape, Pat(Reshape, Pat(name="x"), Pat()), Pat(name="shp")), name="reshape_of_reshape")
def reshape_of_reshape(node, x, shp):
    return node.op(x, shp)


@register(Pat(Reshape, Pat(name="x"), Pat(name="shp")), name="useless_reshape")
def useless_reshape(node, x, shp):
    data = constant_value(shp)
    if data is None or x.ndim != len(data) or any(s is None for s in x.type.shape):
        return None
    return x if tuple(x.type.shape) == tuple(int(d) for d in data) else None


@register(Pat(SpecifyShape, Pat(name="x")), name="useless_specify_shape")
def useless_specify_shape(node, x):
    want = node.op.shape
    if all(w is None or w == s for w, s in zip(want, x.type.shape)):
        return x
    return None


@register(Pat((ZeroGrad, DisconnectedGrad, GradClip, GradScale), Pat(name="x")),
          name="remove_gradient_identities")
def remove_gradient_identities(node, x):
    # They only matter to grad(); once compiled they are plain identities.
    return x


def _inferred(fgraph, x, i=None):
    shape = shape_of(fgraph, x)
    if shape is None:
        return None
    dims = shape if i is None else (shape[i],)
    for d in dims:
        if d.owner is not None and isinstance(d.owner.op, Shape_i) and d.owner.inputs[0] is x:
            return None  # the Op could not tell without computing x
    return shape if i is None else shape[i]


@register(Pat(Shape_i, Pat(name="x")), name="shape_i_of_computed")
def shape_i_of_computed(node, x, fgraph):
    if x.owner is None:
        return None
    return _inferred(fgraph, x, node.op.i)


@register(Pat(Shape, Pat(name="x")), name="shape_of_computed")
def shape_of_computed(node, x, fgraph):
    from ..tensor.basic import make_vector
    from ..tensor.shape import shape_tuple

    shape = _inferred(fgraph, x) if x.owner is not None else shape_tuple(x)
    if shape is None:
        return None
    if not shape:
        return constant(np.zeros(0, dtype="int64"))
    return make_vector(*shape, dtype="int64")


def _is_broadcast_scalar(v, axes):
    return all(v.type.shape[a] == 1 for a in axes)


@register(Pat(CAReduce, Pat(scal.mul, name="prod")), name="sum_of_scaled")
def sum_of_scaled(node, prod, fgraph):
    # Only when the product is not needed elsewhere, or both it and the sum get computed.
    if node.op.scalar_op != scal.add or n_clients(fgraph, prod) > 1:
        return None
    axes = node.op.axis
    factors = prod.owner.inputs
    outside = [f for f in factors if _is_broadcast_scalar(f, axes) and f.ndim == prod.ndim]
    inside = [f for f in factors if f not in outside]
    if not outside or not inside:
        return None
    keep = [d for d in range(prod.ndim) if d not in axes]
    scalars = [f.dimshuffle(*keep) for f in outside]
    rest = inside[0] if len(inside) == 1 else elemwise_op(scal.mul)(*inside)
    return elemwise_op(scal.mul)(node.op(rest), *scalars)


@register(Pat(CAReduce, Pat(CAReduce, Pat(name="x"))), name="reduce_of_reduce")
def reduce_of_reduce(node, x):
    inner = node.inputs[0].owner.op
    if inner.scalar_op != node.op.scalar_op or node.outputs[0].dtype != node.inputs[0].dtype:
        return None
    if inner.label not in ("sum", "prod", "max", "min", "all", "any"):
        return None
    remaining = [d for d in range(x.ndim) if d not in inner.axis]
    axes = tuple(sorted(set(inner.axis) | {remaining[a] for a in node.op.axis}))
    if node.inputs[0].dtype != x.dtype:
        return None
    return CAReduce(node.op.scalar_op, axes)(x)


@register(Pat(CAReduce, Pat(name="x")), name="reduce_over_broadcast_axes")
def reduce_over_broadcast_axes(node, x):
    # Summing (or taking the max of) an axis of length 1 only drops the axis.
    if node.op.label not in ("sum", "prod", "max", "min"):
        return None
    from ..tensor.math import cast

    ones = [a for a in node.op.axis if x.type.shape[a] == 1]
    if node.op.axis and not ones:
        return None
    kept = [d for d in range(x.ndim) if d not in ones]
    out = x.dimshuffle(*kept)
    rest = [kept.index(a) for a in node.op.axis if a not in ones]
    if rest:
        out = CAReduce(node.op.scalar_op, rest)(out)
    return cast(out, node.outputs[0].dtype)


@register(Pat(Alloc), name="useless_alloc")
def useless_alloc(node, fgraph):
    value, *shape = node.inputs
    if value.ndim != len(shape) or value.dtype != node.outputs[0].dtype:
        return None
    value_shape = shape_of(fgraph, value)
    if all(same_length(a, b) for a, b in zip(value_shape, shape)):
        return value
    return None


@register(Pat(Elemwise), name="alloc_into_elemwise")
def alloc_into_elemwise(node, fgraph):
    # x * alloc(v, *x.shape) is x * v: broadcasting makes the copy.  Only where every
    # axis the alloc spans is provably spanned by another input, so no length check is lost.
    if len(node.inputs) < 2:
        return None
    for k, inp in enumerate(node.inputs):
        if inp.owner is None or not isinstance(inp.owner.op, Alloc):
            continue
        value, *shape = inp.owner.inputs
        pad = inp.ndim - value.ndim
        stays = [value] + [i for j, i in enumerate(node.inputs) if j != k]
        if all(_spanned(fgraph, stays, a, a - pad, shape[a]) for a in range(inp.ndim)
               if inp.type.shape[a] != 1):
            inputs = list(node.inputs)
            inputs[k] = value
            return node.op(*inputs)
    return None


def _spanned(fgraph, inputs, axis, value_axis, length):
    """Whether one of ``inputs`` (the first being the alloc's value, whose ``axis`` is
    ``value_axis``) has that axis, not broadcast, of a length provably ``length``."""
    for n, v in enumerate(inputs):
        a = value_axis if n == 0 else axis
        if a < 0 or v.type.shape[a] == 1:
            continue
        if same_length(shape_of(fgraph, v)[a], length):
            return True
    return False


@register(Pat((scal.mul, scal.true_div)), name="mul_div_cancel")
def mul_div_cancel(node, fgraph):
    # a * e / e -> a, only for factors that are never 0 (exp, sums of exps, nonzero
    # constants): x / x with a possibly-zero x keeps its NaN.
    return cancelled_product(node.outputs[0], fgraph)
