"""Loop nests over runtime shapes, with a fast path over unit-stride rows the vectoriser can use."""

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

    Operands are ArrayValues of ``shape`` (broadcast axes have stride 0).  With
    ``contiguous_path``, a run-time check picks one of two loop copies: when
    every operand's last axis is unit-stride (or statically broadcast, stride
    ``ir.Constant`` 0), a nest whose innermost loop LLVM vectorises -- one flat
    row of all the elements when every operand is C-contiguous; else a plain
    nest (any strides, negative ones included).  Without it, one nest that
    LLVM may optimise as it likes.
    """
    b = ctx.builder
    nd = len(shape)
    if nd == 0:
        body([op.data for op in operands])
        return
    if not contiguous_path:
        _nest(ctx, shape, operands, body)
        return
    pinned = [_statically_zero(op.strides[-1]) for op in operands]
    # Column slices (z[:, :200]), row-broadcast operands and column-broadcast ones all have unit or
    # pinned last strides: each row is a contiguous run the vectoriser handles as well as a flat loop.
    unit = b.icmp_signed("<=", shape[-1], ctx.i64(1))
    rows_ok = ir.Constant(I1, 1)
    for op, pin in zip(operands, pinned):
        if not pin:
            step = b.icmp_signed("==", op.strides[-1], ctx.i64(ITEMSIZE[op.dtype]))
            rows_ok = b.and_(rows_ok, b.or_(step, unit))
    rows = b.append_basic_block("rows")
    strided = b.append_basic_block("strided")
    done = b.append_basic_block("elemwise.done")
    b.cbranch(rows_ok, rows, strided)
    b.position_at_end(rows)
    _rows(ctx, shape, operands, pinned, body)
    b.branch(done)
    b.position_at_end(strided)
    # Strided layouts are rare: vectorised, unrolled copies would cost more compile time than they save.
    _nest(ctx, shape, operands, body, plain=True)
    b.branch(done)
    b.position_at_end(done)


def _statically_zero(stride):
    return isinstance(stride, ir.Constant) and stride.constant == 0


def _rows(ctx, shape, operands, pinned, body):
    """Plain loops over the leading axes around a vectorisable loop over the last one.

    When every operand is C-contiguous (and none is pinned, which a flat index
    would walk past) the leading loops run once and the inner one covers all
    elements: one loop copy serves both layouts.
    """
    b = ctx.builder
    nd = len(shape)
    outer, inner = list(shape[:-1]), shape[-1]
    if nd > 1 and not any(pinned):
        flat = ir.Constant(I1, 1)
        for op in operands:
            flat = b.and_(flat, ctx.is_c_contiguous(op))
        outer = [b.select(flat, ctx.i64(1), s) for s in outer]
        inner = b.select(flat, ctx.size(shape), inner)
    estrides = [[b.sdiv(s, ctx.i64(ITEMSIZE[op.dtype])) for s in op.strides[:-1]] for op in operands]

    def rec(d, offsets):
        if d == nd - 1:
            with ctx.loop(inner, "row") as i:
                body([element_ptr(ctx, op, off if pin else b.add(off, i))
                      for op, off, pin in zip(operands, offsets, pinned)])
            return
        with ctx.loop(outer[d], f"r{d}", plain=True) as i:
            rec(d + 1, [b.add(off, b.mul(i, estrides[k][d])) for k, off in enumerate(offsets)])

    rec(0, [ctx.i64(0)] * len(operands))


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
    # A last axis broadcast by the graph (stride constant 0) stays a constant inside the kernel, so
    # the row loop keeps the operand in a register; the pattern is part of the kernel's key.
    pinned = tuple(bool(nd) and _statically_zero(op.strides[-1]) for op in operands)

    def emit(ctx, args):
        inner_shape = args[:nd]
        inner_ops, k = [], nd
        for dtype, pin in zip(dtypes, pinned):
            strides = args[k + 1:k + 1 + nd]
            if pin:
                strides[-1] = ctx.i64(0)
            inner_ops.append(ArrayValue(dtype, args[k], inner_shape, strides))
            k += 1 + nd
        inner_extras = args[k:]
        elementwise_loop(ctx, inner_shape, inner_ops, lambda ptrs: body(ptrs, inner_extras), contiguous_path)

    # Only read operands may alias each other; written ones are fresh, so every pointer is noalias then.
    noalias = [nd + k * (1 + nd) for k in range(len(operands))] if written else []
    full_key = ("loop", key, nd, dtypes, contiguous_path, tuple(written), pinned)
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
