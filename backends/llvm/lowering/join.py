"""Join and Split: joining copies each piece into its slot of the result; splitting makes views."""

from symgraph.tensor.join import Join, Split

from .. import scalar_ir
from ..codegen import ERR_BROADCAST, ERR_SHAPE
from . import register
from .indexing import native_dtypes
from .loops import copy_loop, load_value


@register(Join, native_dtypes)
def lower_join(ctx, node, ins):
    """Every axis but the join axis must agree with the first piece (ERR_BROADCAST on the piece)."""
    b = ctx.builder
    axis = node.op.axis
    first = ins[0]
    total = first.shape[axis]
    for k, arr in enumerate(ins[1:], 1):
        for d in range(first.ndim):
            if d != axis:
                ctx.check(b.icmp_signed("==", arr.shape[d], first.shape[d]), ERR_BROADCAST, ctx.node_id(node),
                          ctx.i64(k), ctx.i64(d), arr.shape[d], first.shape[d])
        total = b.add(total, arr.shape[axis])
    shape = list(first.shape)
    shape[axis] = total
    out = ctx.alloc(node.outputs[0], shape)
    start = ctx.i64(0)
    for arr in ins:
        # make_node cast the pieces to the result's dtype, so a piece is copied as it is.
        slot = out.view(data=ctx.gep(out.data, b.mul(start, out.strides[axis])), shape=arr.shape)
        copy_loop(ctx, arr, slot, fresh=True)
        start = b.add(start, arr.shape[axis])
    return [out]


@register(Split, native_dtypes)
def lower_split(ctx, node, ins):
    """Views of ``x``; bad sizes are ERR_SHAPE (axis length, sizes' sum, their count, smallest size)."""
    b = ctx.builder
    x, splits = ins
    n, axis = node.op.n_splits, node.op.axis
    length = x.shape[axis]
    count = splits.shape[0]
    # Reading the sizes is only safe once their count is known to be n_splits.
    ctx.check(b.icmp_signed("==", count, ctx.i64(n)), ERR_SHAPE, ctx.node_id(node), length, ctx.i64(-1), count,
              ctx.i64(0))
    sizes = []
    for k in range(n):
        ptr = ctx.gep(splits.data, b.mul(ctx.i64(k), splits.strides[0]))
        sizes.append(scalar_ir.cast(b, load_value(ctx, splits, ptr), splits.dtype, "int64"))
    total, smallest = ctx.i64(0), sizes[0]
    for s in sizes:
        total = b.add(total, s)
        smallest = b.select(b.icmp_signed("<", s, smallest), s, smallest)
    ok = b.and_(b.icmp_signed("==", total, length), b.icmp_signed(">=", smallest, ctx.i64(0)))
    ctx.check(ok, ERR_SHAPE, ctx.node_id(node), length, total, count, smallest)
    pieces = []
    start = ctx.i64(0)
    for s in sizes:
        shape = list(x.shape)
        shape[axis] = s
        pieces.append(x.view(data=ctx.gep(x.data, b.mul(start, x.strides[axis])), shape=shape))
        start = b.add(start, s)
    return pieces


def _join_error(node, details):
    k, axis, got, want = details[:4]
    return (f"join: input {k} ({node.inputs[k]}) has length {got} on axis {axis} where input 0 has length "
            f"{want}; every axis but the join axis {node.op.axis} must have the same length")


def _split_error(node, details):
    length, total, count, smallest = details[:4]
    n, axis = node.op.n_splits, node.op.axis
    if count != n:
        got = f"a sizes vector of length {count}"
    elif smallest < 0:
        got = f"a negative size ({smallest})"
    else:
        got = f"sizes adding up to {total}"
    return (f"split: cannot cut axis {axis} (length {length}) into {n} pieces: got {got}; expected {n} "
            f"non-negative lengths adding up to {length}")


lower_join.broadcast_error = _join_error
lower_split.shape_error = _split_error
