"""Arg-reductions (argmax/argmin) and cumulative ops (cumsum/cumprod).

Argmax keeps NumPy's answers: the first occurrence wins a tie, and the
first NaN wins over every number.  Cumulative ops accumulate in the output
dtype, sequentially as ``np.add.accumulate``, so float32 results round as
NumPy's do.  Along the last axis (and for the flattened input) the running
value stays in a register; along another axis ``out[i] = out[i-1] op x[i]``
reads the previous slice back from the output, so memory is walked in order.
"""

from llvmlite import ir

from symgraph.tensor.reduction import Argmax, CumOp

from .. import scalar_ir
from ..codegen import ERR_SHAPE, I64, ITEMSIZE, ir_type, is_float, is_signed
from . import register
from .indexing import native_dtypes
from .loops import elementwise_loop, load_value, store_value


@register(Argmax, native_dtypes)
def lower_argmax(ctx, node, ins):
    """An empty reduced axis is ERR_SHAPE (axis or -1 for all, number of reduced elements)."""
    (x,) = ins
    b = ctx.builder
    axis = node.op.axis
    reduced = list(range(x.ndim)) if axis is None else [axis]
    kept = [d for d in range(x.ndim) if d not in reduced]
    count = ctx.size([x.shape[d] for d in reduced])
    ctx.check(b.icmp_signed(">", count, ctx.i64(0)), ERR_SHAPE, ctx.node_id(node),
              ctx.i64(-1 if axis is None else axis), count)
    out = ctx.alloc(node.outputs[0], [x.shape[d] for d in kept])
    starts = x.view(shape=[x.shape[d] for d in kept], strides=[x.strides[d] for d in kept])
    better = _better(node.op.mode, x.dtype)
    with b.goto_entry_block():
        best_slot = b.alloca(ir_type(x.dtype) if x.dtype != "bool" else ir.IntType(1))
        index_slot = b.alloca(I64)

    def body(ptrs):
        start = ptrs[0]
        b.store(load_value(ctx, x, start), best_slot)
        b.store(ctx.i64(0), index_slot)

        def nest(k, flat, offset):
            if k == len(reduced):
                v = load_value(ctx, x, ctx.gep(start, offset))
                best = b.load(best_slot)
                wins = better(b, v, best)
                b.store(b.select(wins, v, best), best_slot)
                b.store(b.select(wins, flat, b.load(index_slot)), index_slot)
                return
            d = reduced[k]
            with ctx.loop(x.shape[d], f"arg{k}") as i:
                nest(k + 1, b.add(b.mul(flat, x.shape[d]), i), b.add(offset, b.mul(i, x.strides[d])))

        nest(0, ctx.i64(0), ctx.i64(0))
        store_value(ctx, out, ptrs[1], b.load(index_slot))

    elementwise_loop(ctx, starts.shape, [starts, out], body, contiguous_path=False)
    return [out]


def _argmax_error(node, details):
    where_ = "the input" if details[0] < 0 else f"axis {details[0]}"
    return f"{node.op}: empty input: {where_} has no element to take the arg{node.op.mode} of"


lower_argmax.shape_error = _argmax_error


def _better(mode, dtype):
    """``(builder, v, best) -> i1``: whether ``v`` replaces the best so far."""
    if is_float(dtype):
        op = ">" if mode == "max" else "<"

        def better(b, v, best):
            # NaN beats numbers, and the first NaN is never replaced.
            nan_first = b.and_(b.fcmp_unordered("uno", v, v), b.fcmp_ordered("ord", best, best))
            return b.or_(b.fcmp_ordered(op, v, best), nan_first)

        return better
    op = ">" if mode == "max" else "<"
    if is_signed(dtype):
        return lambda b, v, best: b.icmp_signed(op, v, best)
    return lambda b, v, best: b.icmp_unsigned(op, v, best)


_COMBINE = {"add": scalar_ir.scal_op("add"), "mul": scalar_ir.scal_op("mul")}


@register(CumOp, native_dtypes)
def lower_cumop(ctx, node, ins):
    (x,) = ins
    b = ctx.builder
    dtype = str(node.outputs[0].type.dtype)
    axis = node.op.axis
    if axis is None:
        # The flattened input, in C order: a view when contiguous, else a contiguous copy.
        n = ctx.size(x.shape)
        x = x.view(data=ctx.contiguous_data(x), shape=[n], strides=[ctx.i64(ITEMSIZE[x.dtype])])
        axis = 0
    out = ctx.alloc(node.outputs[0], x.shape)
    combine = _COMBINE[node.op.mode]
    if axis == x.ndim - 1:
        _scan_rows(ctx, x, out, dtype, combine)
        return [out]
    n = x.shape[axis]
    nonempty = b.icmp_signed(">", n, ctx.i64(0))

    def along(arr, length, skip_first=False):
        shape = list(arr.shape)
        shape[axis] = length
        data = ctx.gep(arr.data, arr.strides[axis]) if skip_first else arr.data
        return arr.view(data=data, shape=shape)

    head = b.select(nonempty, ctx.i64(1), ctx.i64(0))
    x0, out0 = along(x, head), along(out, head)
    elementwise_loop(ctx, out0.shape, [x0, out0], lambda p: store_value(
        ctx, out0, p[1], scalar_ir.cast(b, load_value(ctx, x0, p[0]), x0.dtype, dtype)))
    tail = b.select(nonempty, b.sub(n, ctx.i64(1)), ctx.i64(0))
    x_next, out_prev, out_next = along(x, tail, True), along(out, tail), along(out, tail, True)

    def step(p):
        v = scalar_ir.cast(b, load_value(ctx, x_next, p[0]), x_next.dtype, dtype)
        acc = load_value(ctx, out_prev, p[1])
        store_value(ctx, out_next, p[2], scalar_ir.emit(ctx, combine, [(acc, dtype), (v, dtype)], dtype))

    # Any loop order visits each position along the axis after the one before it.
    elementwise_loop(ctx, out_next.shape, [x_next, out_prev, out_next], step)
    return [out]


def _scan_rows(ctx, x, out, dtype, combine):
    """Scan along the last axis, the running value in a register rather than read back from memory."""
    b = ctx.builder
    n = x.shape[-1]
    rows_x = x.view(shape=x.shape[:-1], strides=x.strides[:-1])
    rows_out = out.view(shape=out.shape[:-1], strides=out.strides[:-1])
    with b.goto_entry_block():
        acc_slot = b.alloca(ir_type(dtype) if dtype != "bool" else ir.IntType(1))

    def row(ptrs):
        with ctx.loop(n, "scan") as i:
            v = scalar_ir.cast(b, load_value(ctx, x, ctx.gep(ptrs[0], b.mul(i, x.strides[-1]))), x.dtype, dtype)
            # The first element starts the scan as it is (0.0 + -0.0 would lose its sign).
            acc = b.select(b.icmp_signed("==", i, ctx.i64(0)), v,
                           scalar_ir.emit(ctx, combine, [(b.load(acc_slot), dtype), (v, dtype)], dtype))
            b.store(acc, acc_slot)
            store_value(ctx, out, ctx.gep(ptrs[1], b.mul(i, out.strides[-1])), acc)

    elementwise_loop(ctx, rows_x.shape, [rows_x, rows_out], row, contiguous_path=False)
