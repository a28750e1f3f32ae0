"""Reductions (CAReduce) and fused elementwise+reduction (FusedReduce) in one pass over memory.

float32 products accumulate in float64 (then round once).  float32 sums add
chunks of CHUNK elements in float32 (one partial sum per vector lane, so each
adds a few dozen values) and the chunks' totals in float64: float32 math at
full vector width, and within 2 float32 ulp of the sum of the terms'
magnitudes, so a sum of 10^7 float32 values keeps float32 accuracy (NumPy's
own pairwise float32 sums are no closer).

Two paths.  When the reduced axes are the trailing ones (a full reduction,
or row-wise like logsumexp's) and each input is, at run time, contiguous over
them (or constant over them: broadcast), every output element is one flat
loop with its accumulator in a register, combined with reassociation
allowed so the loop vectoriser keeps several partial results (``_row_reduce``).  Otherwise the
input is walked in its own order and each element is combined into an
accumulator addressed with stride 0 along the reduced axes.
"""

from llvmlite import ir

from symgraph.tensor.fused_reduce import FusedReduce
from symgraph.tensor.reduction import CAReduce

from .. import scalar_ir
from ..codegen import (
    ERR_EMPTY_REDUCTION,
    ITEMSIZE,
    ArrayValue,
    ir_type,
    is_float,
    vector_lanes,
)
from ..threads import element_cost, parallel_kernel
from . import register
from .elemwise import broadcast_shape, broadcast_view
from .loops import kernel_loop, load_value, store_value

# Elements per partial result of a long full reduction (and the least that is cut into blocks, twice it).
BLOCK = 1 << 16
# Elements per float32 partial sum of a float32 sum (then added in float64): see _accumulate.
CHUNK = 512
_COMBINE = {"sum": "add", "prod": "mul", "max": "maximum", "min": "minimum", "all": "and", "any": "or"}


def _acc_dtype(label, out_dtype):
    if label in ("sum", "prod") and out_dtype == "float32":
        return "float64"
    return out_dtype


def _identity(label, dtype):
    import numpy as np

    t = ir_type(dtype)
    if label == "sum":
        return ir.Constant(t, 0.0 if dtype.startswith("float") else 0)
    if label == "prod":
        return ir.Constant(t, 1.0 if dtype.startswith("float") else 1)
    if label == "all":
        return ir.Constant(ir.IntType(1), 1)
    if label == "any":
        return ir.Constant(ir.IntType(1), 0)
    if dtype.startswith("float"):
        return ir.Constant(t, float("-inf") if label == "max" else float("inf"))
    if dtype == "bool":
        return ir.Constant(ir.IntType(1), 0 if label == "max" else 1)
    info = np.iinfo(dtype)
    return ir.Constant(t, int(info.min if label == "max" else info.max))


def _can_lower_reduce(node):
    return node.outputs[0].type.dtype != "float16" and node.inputs[0].type.dtype != "float16"


def _can_lower_fused(node):
    op = node.op.composite
    return scalar_ir.supported(op, [i.type.dtype for i in node.inputs], op.output_dtypes[0]) and \
        _can_lower_reduce(node)


@register(CAReduce, _can_lower_reduce)
def lower_careduce(ctx, node, ins):
    (x,) = ins
    in_dtype = str(node.inputs[0].type.dtype)

    def element(values):
        return values[0], in_dtype

    element.dtype = in_dtype
    return [_reduce(ctx, node, node.op.label, node.op.axis, list(x.shape), [x], element, (in_dtype,))]


@register(FusedReduce, _can_lower_fused)
def lower_fused_reduce(ctx, node, ins):
    shape = broadcast_shape(ctx, node, ins)
    views = [broadcast_view(ctx, v, a, shape) for v, a in zip(node.inputs, ins)]
    comp = node.op.composite
    in_dtypes = [str(v.type.dtype) for v in node.inputs]
    elem_dtype = str(comp.output_dtypes[0])

    def element(values):
        results = scalar_ir.emit_composite(ctx, comp, list(zip(values, in_dtypes)))
        return results[0], elem_dtype

    element.cost = element_cost(comp) + 1  # when threads pay off (threads.py)
    element.dtype = elem_dtype

    key = (comp.cache_key, tuple(in_dtypes), elem_dtype)
    return [_reduce(ctx, node, node.op.reduce_op.label, node.op.axis, shape, views, element, key)]


def _reduce(ctx, node, label, axes, shape, inputs, element, element_key):
    """``element(values) -> (value, dtype)`` may use only its arguments: ``element_key`` names what it does."""
    b = ctx.builder
    out_var = node.outputs[0]
    out_dtype = str(out_var.type.dtype)
    acc_dtype = _acc_dtype(label, out_dtype)
    axes = tuple(sorted(int(a) for a in axes))
    if label in ("max", "min"):
        for a in axes:
            ctx.check(b.icmp_signed(">", shape[a], ctx.i64(0)), ERR_EMPTY_REDUCTION, ctx.node_id(node),
                      ctx.i64(a))
    kept = [shape[d] for d in range(len(shape)) if d not in axes]
    out = ctx.alloc(out_var, kept)
    args = (ctx, label, axes, shape, inputs, element, element_key, acc_dtype, out)
    plan = _row_plan(axes, len(shape), [v.type.shape for v in node.inputs])
    if plan is None:
        _strided_reduce(*args)
        return out
    if "row" not in plan or len(axes) == 1:
        # Over one axis any stride gives a flat loop (LLVM adds a vectorised version for stride 1).
        _rows(ctx, label, axes, shape, inputs, plan, element, element_key, acc_dtype, out, unit=False)
        return out
    # Over several axes the flat path needs each input contiguous over them (a runtime property).
    ok = ir.Constant(ir.IntType(1), 1)
    for arr, kind in zip(inputs, plan):
        if kind == "row":
            block = arr.view(shape=[shape[d] for d in axes], strides=[arr.strides[d] for d in axes])
            ok = b.and_(ok, ctx.is_c_contiguous(block))
    fast = b.append_basic_block("reduce.rows")
    slow = b.append_basic_block("reduce.strided")
    done = b.append_basic_block("reduce.done")
    b.cbranch(ok, fast, slow)
    b.position_at_end(fast)
    _rows(ctx, label, axes, shape, inputs, plan, element, element_key, acc_dtype, out, unit=True)
    b.branch(done)
    b.position_at_end(slow)
    _strided_reduce(*args)
    b.branch(done)
    b.position_at_end(done)
    return out


def _strided_reduce(ctx, label, axes, shape, inputs, element, element_key, acc_dtype, out):
    """Any layout: each element is combined into ``acc`` seen with stride 0 along the reduced axes."""
    out_dtype = out.dtype
    kept = list(out.shape)
    if acc_dtype == out_dtype:
        acc = out
    elif not kept:
        acc = ctx.scalar_slot(acc_dtype)
    else:
        _, _, acc = ctx.new_array(acc_dtype, kept)
    # Accumulator seen with the input's shape: stride 0 along reduced axes.
    acc_strides, it = [], iter(acc.strides)
    for d in range(len(shape)):
        acc_strides.append(ctx.i64(0) if d in axes else next(it))
    acc_full = acc.view(shape=shape, strides=acc_strides)
    init = _identity(label, acc_dtype)
    kernel_loop(ctx, ("reduce.init", label), kept, [acc], lambda ptrs, _: store_value(ctx, acc, ptrs[0], init),
                contiguous_path=False, written=(0,))
    combine = scalar_ir.scal_op(_COMBINE[label])

    def body(ptrs, _):
        values = [load_value(ctx, arr, p) for arr, p in zip(inputs, ptrs[:-1])]
        v, dtype = element(values)
        v = scalar_ir.cast(ctx.builder, v, dtype, acc_dtype)
        current = load_value(ctx, acc_full, ptrs[-1])
        store_value(ctx, acc_full, ptrs[-1], scalar_ir.emit(ctx, combine, [(current, acc_dtype), (v, acc_dtype)],
                                                            acc_dtype))

    # The accumulator is fresh memory: only it is written, so the kernel's pointers are noalias.
    kernel_loop(ctx, ("reduce", label, element_key), shape,
                inputs + [acc_full], body, contiguous_path=False, written=(len(inputs),))
    if acc is not out:
        kernel_loop(ctx, "reduce.cast", kept, [acc, out], lambda ptrs, _: store_value(
            ctx, out, ptrs[1], scalar_ir.cast(ctx.builder, load_value(ctx, acc, ptrs[0]), acc_dtype, out_dtype)),
            contiguous_path=False, written=(1,))


def _row_plan(axes, nd, input_shapes):
    """Per input ``"row"`` (varies over the reduced axes) or ``"scalar"`` (broadcast over all of them),
    when the reduced axes are the trailing ones; None when the flat path does not apply."""
    if not axes or tuple(axes) != tuple(range(nd - len(axes), nd)):
        return None
    plan = []
    for static in input_shapes:
        ones = [static[d] == 1 for d in axes]
        if all(ones):
            plan.append("scalar")
        elif not any(ones):
            plan.append("row")
        else:
            return None
    return plan


def _rows(ctx, label, axes, shape, inputs, plan, element, element_key, acc_dtype, out, unit):
    """The flat path: ``_row_reduce``; a full reduction is cut into blocks.

    Blocks of BLOCK elements are reduced into partial results (in parallel,
    threads.py), which are then combined in order.  Where the blocks start
    depends only on the length, so the result is the same for any thread count.
    """
    nk = len(shape) - len(axes)
    if nk or "row" not in plan:
        _row_reduce(ctx, label, axes, shape, inputs, plan, element, element_key, acc_dtype, out, unit)
        return
    b = ctx.builder
    count = ctx.size([shape[d] for d in axes])
    parts = b.sdiv(b.add(count, ctx.i64(BLOCK - 1)), ctx.i64(BLOCK))
    parts = b.select(b.icmp_signed("<", parts, ctx.i64(1)), ctx.i64(1), parts)
    blocks = []
    for arr, kind in zip(inputs, plan):
        if kind == "row":
            step = ctx.i64(ITEMSIZE[arr.dtype]) if unit else arr.strides[-1]
            blocks.append(ArrayValue(arr.dtype, arr.data, [parts, count], [b.mul(step, ctx.i64(BLOCK)), step]))
        else:
            blocks.append(ArrayValue(arr.dtype, arr.data, [parts, ctx.i64(1)], [ctx.i64(0), ctx.i64(0)]))
    with b.goto_entry_block():
        # An 8-byte cell typed as an opaque pointer, like an array's data: one kernel serves both branches.
        total = ArrayValue(acc_dtype, b.alloca(ir.PointerType()), [], [])
    size = ctx.i64(ITEMSIZE[acc_dtype])

    def per_block(dest):
        _row_reduce(ctx, label, (1,), [parts, count], blocks, plan, element, element_key, acc_dtype, dest, unit,
                    blocked=True)

    several = b.append_basic_block("reduce.blocks")
    one = b.append_basic_block("reduce.block")
    done = b.append_basic_block("reduce.blocks.done")
    b.cbranch(b.icmp_signed(">", parts, ctx.i64(1)), several, one)
    b.position_at_end(one)
    per_block(total.view(shape=[parts], strides=[size]))
    b.branch(done)
    b.position_at_end(several)
    _, _, partial = ctx.new_array(acc_dtype, [parts])
    per_block(partial)
    # A few hundred partial results at most per 10^7 elements: a plain loop adds them up.
    _row_reduce(ctx, label, (0,), partial.shape, [partial], ["row"], lambda values: (values[0], acc_dtype),
                ("partials", acc_dtype), acc_dtype, total, False, vectorise=False)
    b.branch(done)
    b.position_at_end(done)
    store_value(ctx, out, out.data, scalar_ir.cast(b, load_value(ctx, total, total.data), acc_dtype, out.dtype))


def _row_reduce(ctx, label, axes, shape, inputs, plan, element, element_key, acc_dtype, out, unit, blocked=False,
                vectorise=True):
    """One flat loop per output element over the reduced block: contiguous in every "row" input if
    ``unit``, else (one reduced axis) with each input's stride along it.

    The accumulator lives in a register; float sums and products may be
    reassociated and float max/min use ``llvm.maximum``/``llvm.minimum`` (NaN
    propagating, as NumPy), so the loop vectoriser keeps one partial result per
    lane and combines them at the end (float32: see ``_accumulate``).
    ``blocked`` (one kept axis): row r is elements [r*BLOCK, min((r+1)*BLOCK, count)) of one run.
    """
    nk = len(shape) - len(axes)
    params = list(shape[:nk]) + [ctx.size([shape[d] for d in axes])]
    for arr in inputs:
        params += [arr.data] + list(arr.strides[:nk])
    params += [out.data] + list(out.strides)
    if not unit:
        params += [arr.strides[-1] for arr, kind in zip(inputs, plan) if kind == "row"]
    dtypes = [arr.dtype for arr in inputs]
    out_dtype = out.dtype

    def emit(ctx, args):
        b = ctx.builder
        kept, count = args[:nk], args[nk]
        k = nk + 1
        datas, strides = [], []
        for _ in range(len(inputs) + 1):
            datas.append(args[k])
            strides.append(args[k + 1:k + 1 + nk])
            k += 1 + nk
        # Element strides along the row (the loads index typed pointers: LLVM versions on stride 1).
        steps = {}
        for j, kind in enumerate(plan):
            if kind == "row":
                steps[j] = None if unit else b.sdiv(args[k], ctx.i64(ITEMSIZE[dtypes[j]]))
                k += 0 if unit else 1

        def row(index, offsets):
            ptrs = [ctx.gep(p, o) for p, o in zip(datas, offsets)]
            fixed = {j: load_value(ctx, ArrayValue(dtypes[j], None, [], []), ptrs[j])
                     for j, kind in enumerate(plan) if kind == "scalar"}
            n = count
            if blocked:
                left = b.sub(count, b.mul(index[0], ctx.i64(BLOCK)))
                n = b.select(b.icmp_signed("<", left, ctx.i64(BLOCK)), left, ctx.i64(BLOCK))
            acc = _accumulate(ctx, label, n, ptrs[:-1], dtypes, fixed, steps, element, acc_dtype, vectorise)
            store_value(ctx, ArrayValue(out_dtype, None, [], []), ptrs[-1],
                        scalar_ir.cast(b, acc, acc_dtype, out_dtype))

        def rec(d, index, offsets):
            if d == nk:
                row(index, offsets)
                return
            # The outer loops stay scalar: only the innermost (the row) is worth vectorising.
            with ctx.loop(kept[d], f"k{d}", plain=True) as i:
                rec(d + 1, index + [i], [b.add(o, b.mul(i, st[d])) for o, st in zip(offsets, strides)])

        rec(0, [], [ctx.i64(0)] * len(datas))

    # The output is fresh memory, the only one written: every pointer is noalias.
    noalias = [nk + 1 + j * (1 + nk) for j in range(len(inputs) + 1)]
    key = ("reduce.rows", label, element_key, tuple(plan), acc_dtype, out_dtype, nk, unit, blocked, vectorise)
    if nk:
        # Rows are independent: the first kept axis may be split across threads (a block's length
        # is what is left of the run after the chunk's first block).
        parallel_kernel(ctx, key, params, emit, noalias, 0, [(k, k + 1) for k in noalias], range(nk + 1),
                        cost=getattr(element, "cost", 1), shifted=[(nk, BLOCK)] if blocked else ())
    else:
        ctx.kernel(key, params, emit, noalias=noalias)


def _accumulate(ctx, label, count, ptrs, dtypes, fixed, steps, element, acc_dtype, vectorise=True, base=None):
    """The reduction of ``element`` over ``count`` consecutive elements (from ``base``): an accumulator in a phi.

    A float32 sum accumulated in float64 runs in chunks of CHUNK elements, each summed
    in float32 (the vectoriser keeps one partial sum per lane, so each adds up a few
    dozen values), then added in float64: float32 math at full width with no
    conversion per element, and about float64's accuracy over long runs.
    """
    if vectorise and label == "sum" and acc_dtype == "float64" and getattr(element, "dtype", None) == "float32":
        return _chunked_sum(ctx, count, ptrs, dtypes, fixed, steps, element)
    b = ctx.builder
    acc_type = ir_type(acc_dtype) if acc_dtype != "bool" else ir.IntType(1)
    pre = b.block
    head = b.append_basic_block("row.head")
    body = b.append_basic_block("row.body")
    end = b.append_basic_block("row.end")
    b.branch(head)
    b.position_at_end(head)
    i = b.phi(ir.IntType(64), name="j")
    acc = b.phi(acc_type, name="acc")
    i.add_incoming(ctx.i64(0), pre)
    acc.add_incoming(_identity(label, acc_dtype), pre)
    b.cbranch(b.icmp_signed("<", i, count), body, end)
    b.position_at_end(body)
    at = i if base is None else b.add(base, i)
    values = [fixed[j] if j in fixed else
              load_value(ctx, ArrayValue(dt, None, [], []),
                         b.gep(ptrs[j], [at if steps[j] is None else b.mul(at, steps[j])], source_etype=ir_type(dt)))
              for j, dt in enumerate(dtypes)]
    v, dtype = element(values)
    v = scalar_ir.cast(b, v, dtype, acc_dtype)
    new = _combine(ctx, label, acc, v, acc_dtype)
    i.add_incoming(b.add(i, ctx.i64(1)), b.block)
    acc.add_incoming(new, b.block)
    latch = b.branch(head)
    if not vectorise:
        latch.set_metadata("llvm.loop", ctx.plain_loop_id())
    elif acc_dtype == "float64" and "float32" in dtypes:
        # float32 elements summed in float64: the cost model sizes the loop by the double accumulator
        # (4 lanes on AVX2) and so halves the float32 math's width; two double registers per step are cheap.
        latch.set_metadata("llvm.loop", ctx.wide_loop_id(vector_lanes("float32")))
    b.position_at_end(end)
    return acc


def _chunked_sum(ctx, count, ptrs, dtypes, fixed, steps, element):
    b = ctx.builder
    f64 = ir.DoubleType()
    with b.goto_entry_block():
        total = b.alloca(f64)
    b.store(ir.Constant(f64, 0.0), total)
    chunks = b.sdiv(b.add(count, ctx.i64(CHUNK - 1)), ctx.i64(CHUNK))
    with ctx.loop(chunks, "chunk", plain=True) as c:
        start = b.mul(c, ctx.i64(CHUNK))
        left = b.sub(count, start)
        n = b.select(b.icmp_signed("<", left, ctx.i64(CHUNK)), left, ctx.i64(CHUNK))
        part = _accumulate(ctx, "sum", n, ptrs, dtypes, fixed, steps, element, "float32", True, base=start)
        b.store(b.fadd(b.load(total, typ=f64), b.fpext(part, f64), flags=("reassoc",)), total)
    return b.load(total, typ=f64)


def _combine(ctx, label, acc, v, dtype):
    b = ctx.builder
    if is_float(dtype):
        # Reassociation lets the vectoriser split the sum into per-lane partial sums; with float32 data
        # accumulated in float64 the result is as accurate as the sequential order (or more).
        if label == "sum":
            return b.fadd(acc, v, flags=("reassoc",))
        if label == "prod":
            return b.fmul(acc, v, flags=("reassoc",))
        if label in ("max", "min"):
            name = "llvm.maximum" if label == "max" else "llvm.minimum"
            fn = b.module.declare_intrinsic(name, [acc.type], ir.FunctionType(acc.type, [acc.type, acc.type]))
            return b.call(fn, [acc, v])
    return scalar_ir.emit(ctx, scalar_ir.scal_op(_COMBINE[label]), [(acc, dtype), (v, dtype)], dtype)


__all__ = ["ITEMSIZE", "ArrayValue"]
