"""Loop nests over runtime shapes, with a flat contiguous fast path the vectoriser can use."""

from llvmlite import ir

from ..codegen import I1, ITEMSIZE, ArrayValue, ir_type
from ..threads import parallel_kernel


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
        _nest(ctx, shape, operands, body, plain=True)
        b.branch(done)
        b.position_at_end(done)
    else:
        _nest(ctx, shape, operands, body)


def _nest(ctx, shape, operands, body, plain=False):
    b = ctx.builder
    estrides = [[b.sdiv(s, ctx.i64(ITEMSIZE[op.dtype])) for s in op.strides] for op in operands]

    def rec(d, offsets):
        with ctx.loop(shape[d], f"d{d}", plain=plain) as i:
            new = [b.add(off, b.mul(i, estrides[k][d])) for k, off in enumerate(offsets)]
            if d == len(shape) - 1:
                body([element_ptr(ctx, op, o) for op, o in zip(operands, new)])
            else:
                rec(d + 1, new)

    rec(0, [ctx.i64(0)] * len(operands))


def kernel_loop(ctx, key, shape, operands, body, extras=(), contiguous_path=True, written=(), parallel=0):
    """``elementwise_loop`` as a kernel function (``ctx.kernel``), shared by every caller with ``key``.

    ``body(ptrs, extras)`` may use only its arguments and the operands' dtypes:
    ``extras`` are IR values (scalars loaded once outside the loop) passed in.
    ``written`` lists the operands the body stores to; they must be fresh
    memory that no other operand overlaps (so the kernel's pointers are noalias).
    ``parallel`` (a cost per element, ``threads.element_cost``; 0: never):
    every index is computed on its own (no accumulation), so a large loop may
    be split along its first axis across threads (threads.py).
    """
    nd = len(shape)
    params = list(shape)
    for op in operands:
        params += [op.data] + list(op.strides)
    params += list(extras)
    dtypes = tuple(op.dtype for op in operands)

    def emit(ctx, args):
        inner_shape = args[:nd]
        inner_ops, k = [], nd
        for dtype in dtypes:
            inner_ops.append(ArrayValue(dtype, args[k], inner_shape, args[k + 1:k + 1 + nd]))
            k += 1 + nd
        inner_extras = args[k:]
        elementwise_loop(ctx, inner_shape, inner_ops, lambda ptrs: body(ptrs, inner_extras), contiguous_path)

    # Only read operands may alias each other; written ones are fresh, so every pointer is noalias then.
    noalias = [nd + k * (1 + nd) for k in range(len(operands))] if written else []
    full_key = ("loop", key, nd, dtypes, contiguous_path, tuple(written))
    if parallel and written and nd:
        # Axis-0 slices of fresh outputs never overlap: chunks may run at once.
        chunked = [(nd + k * (1 + nd), nd + k * (1 + nd) + 1) for k in range(len(operands))]
        parallel_kernel(ctx, full_key, params, emit, noalias, 0, chunked, range(nd), cost=parallel)
    else:
        ctx.kernel(full_key, params, emit, noalias=noalias)


def copy_loop(ctx, src, dst, fresh=False):
    """``dst[...] = src`` (same shape and dtype) as a shared kernel; ``fresh``: ``dst`` overlaps nothing."""
    kernel_loop(ctx, "copy", dst.shape, [src, dst],
                lambda ptrs, _: store_value(ctx, dst, ptrs[1], load_value(ctx, src, ptrs[0])),
                written=(1,) if fresh else ())
