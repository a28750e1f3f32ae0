"""Reductions (CAReduce) and fused elementwise+reduction (FusedReduce) in one pass over memory.

The input is walked in its own order and each element is combined into an
accumulator addressed with stride 0 along the reduced axes.  float32 sums and
products accumulate in float64 (then round once), so a sum of 10^7 float32
values keeps float32 accuracy; a full reduction accumulates in a stack slot
that LLVM keeps in a register.
"""

from llvmlite import ir

from symgraph.tensor.fused_reduce import FusedReduce
from symgraph.tensor.reduction import CAReduce

from .. import scalar_ir
from ..codegen import ERR_EMPTY_REDUCTION, ITEMSIZE, ArrayValue, ir_type
from . import register
from .elemwise import broadcast_shape, broadcast_view
from .loops import kernel_loop, load_value, store_value

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

    key = (comp.cache_key, tuple(in_dtypes), elem_dtype)
    return [_reduce(ctx, node, node.op.reduce_op.label, node.op.axis, shape, views, element, key)]


def _reduce(ctx, node, label, axes, shape, inputs, element, element_key):
    """``element(values) -> (value, dtype)`` may use only its arguments: ``element_key`` names what it does."""
    b = ctx.builder
    out_var = node.outputs[0]
    out_dtype = str(out_var.type.dtype)
    acc_dtype = _acc_dtype(label, out_dtype)
    if label in ("max", "min"):
        for a in axes:
            ctx.check(b.icmp_signed(">", shape[a], ctx.i64(0)), ERR_EMPTY_REDUCTION, ctx.node_id(node),
                      ctx.i64(a))
    kept = [shape[d] for d in range(len(shape)) if d not in axes]
    out = ctx.alloc(out_var, kept)
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
    return out


__all__ = ["ITEMSIZE", "ArrayValue"]
