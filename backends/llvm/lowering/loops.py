"""Loop nests over runtime shapes, with a flat contiguous fast path the vectoriser can use."""

from llvmlite import ir

from ..codegen import I1, ITEMSIZE, ir_type


def element_ptr(ctx, arr, index):
    return ctx.builder.gep(arr.data, [index], source_etype=ir_type(arr.dtype))


def load_value(ctx, arr, ptr):
    v = ctx.builder.load(ptr, typ=ir_type(arr.dtype))
    if arr.dtype == "bool":
        return ctx.builder.icmp_unsigned("!=", v, ir.Constant(v.type, 0))
    return v


def store_value(ctx, arr, ptr, value):
    if arr.dtype == "bool":
        value = ctx.builder.zext(value, ir.IntType(8))
    ctx.builder.store(value, ptr)


def elementwise_loop(ctx, shape, operands, body, contiguous_path=True):
    """Call ``body(ptrs)`` for every index of ``shape``; ``ptrs`` point into each operand.

    Operands are ArrayValues of ``shape`` (broadcast axes have stride 0).  When
    every operand is C-contiguous at run time, one flat loop over the elements
    is used, which LLVM vectorises.
    """
    b = ctx.builder
    nd = len(shape)
    if nd == 0:
        body([op.data for op in operands])
        return
    if contiguous_path:
        ok = ir.Constant(I1, 1)
        for op in operands:
            ok = b.and_(ok, ctx.is_c_contiguous(op))
        fast = b.append_basic_block("contig")
        slow = b.append_basic_block("strided")
        done = b.append_basic_block("elemwise.done")
        b.cbranch(ok, fast, slow)
        b.position_at_end(fast)
        with ctx.loop(ctx.size(shape), "flat") as i:
            body([element_ptr(ctx, op, i) for op in operands])
        b.branch(done)
        b.position_at_end(slow)
        _nest(ctx, shape, operands, body)
        b.branch(done)
        b.position_at_end(done)
    else:
        _nest(ctx, shape, operands, body)


def _nest(ctx, shape, operands, body):
    b = ctx.builder
    estrides = [[b.sdiv(s, ctx.i64(ITEMSIZE[op.dtype])) for s in op.strides] for op in operands]

    def rec(d, offsets):
        with ctx.loop(shape[d], f"d{d}") as i:
            new = [b.add(off, b.mul(i, estrides[k][d])) for k, off in enumerate(offsets)]
            if d == len(shape) - 1:
                body([element_ptr(ctx, op, o) for op, o in zip(operands, new)])
            else:
                rec(d + 1, new)

    rec(0, [ctx.i64(0)] * len(operands))
