"""Elemwise (scalar ops and fused Composites) as loops over runtime shapes and strides."""

from symgraph.scalar.composite import Composite
from symgraph.tensor.elemwise import Elemwise

from .. import scalar_ir
from ..codegen import ERR_BROADCAST
from ..threads import element_cost
from . import register, register_inplace
from .loops import kernel_loop, load_value, store_value


def _can_lower(node):
    op = node.op.scalar_op
    return scalar_ir.supported(op, [i.type.dtype for i in node.inputs], node.outputs[0].type.dtype)


def broadcast_shape(ctx, node, ins):
    """The output shape, checking that non-broadcastable axes agree."""
    b = ctx.builder
    nd = node.inputs[0].ndim  # inputs share the elementwise rank (FusedReduce's output has less)
    shape = []
    for d in range(nd):
        src = next((k for k, v in enumerate(node.inputs) if v.type.shape[d] != 1), None)
        if src is None:
            shape.append(ctx.i64(1))
            continue
        length = ins[src].shape[d]
        for k, v in enumerate(node.inputs):
            if k != src and v.type.shape[d] != 1:
                ctx.check(b.icmp_signed("==", ins[k].shape[d], length), ERR_BROADCAST,
                          ctx.node_id(node), ctx.i64(k), ctx.i64(d), ins[k].shape[d], length)
        shape.append(length)
    return shape


def broadcast_view(ctx, var, arr, shape):
    """``arr`` seen with ``shape``: static length-1 axes get stride 0."""
    strides = [ctx.i64(0) if var.type.shape[d] == 1 else arr.strides[d] for d in range(len(shape))]
    return arr.view(shape=shape, strides=strides)


@register(Elemwise, _can_lower)
def lower_elemwise(ctx, node, ins):
    outs, loop = prepare_elemwise(ctx, node, ins)
    loop()
    return outs


@register_inplace(Elemwise, lambda node: range(len(node.inputs)))
def prepare_elemwise(ctx, node, ins, inplace=None):
    """The checks and allocations of ``node``, and ``loop()`` emitting its loop, kept apart so an
    in-place update writes nothing before every check of the call has passed (inplace.py).

    ``inplace`` maps output positions to input positions: that output is written over
    its input's memory (same shape and type; the caller has checked nothing else reads it).
    The input is then read through the output's pointer, so the loop reads and writes one
    pointer and every operand stays noalias.
    """
    inplace = dict(inplace or {})
    shape = broadcast_shape(ctx, node, ins)
    outs = [ins[inplace[j]] if j in inplace else ctx.alloc(v, shape) for j, v in enumerate(node.outputs)]
    op = node.op.scalar_op
    # Every position holding a target (``W * W``) reads it through the output's pointer.
    via_output = {k: j for j, i in inplace.items() for k, v in enumerate(node.inputs) if v is node.inputs[i]}
    scalars, arrays = [], []
    for k, (var, arr) in enumerate(zip(node.inputs, ins)):
        if all(s == 1 for s in var.type.shape):
            # Fully broadcast: load once, outside the loop.
            scalars.append(k)
        elif k not in via_output:
            arrays.append(k)
    operands = [broadcast_view(ctx, node.inputs[k], ins[k], shape) for k in arrays] + outs
    in_dtypes = [str(v.type.dtype) for v in node.inputs]
    out_dtypes = [str(v.type.dtype) for v in node.outputs]
    op_key = op.cache_key if isinstance(op, Composite) else f"{type(op).__module__}.{type(op).__qualname__}" \
        f"{op._props()!r}"
    read_from_out = {k: j for k, j in via_output.items() if k not in scalars}

    def body(ptrs, extras):
        values = dict(zip(scalars, extras))
        out_ptrs = ptrs[len(arrays):]
        for k, ptr in zip(arrays, ptrs):
            values[k] = load_value(ctx, ins[k], ptr)
        for k, j in read_from_out.items():
            values[k] = load_value(ctx, outs[j], out_ptrs[j])
        args = [(values[k], in_dtypes[k]) for k in range(len(ins))]
        if isinstance(op, Composite):
            results = scalar_ir.emit_composite(ctx, op, args)
        else:
            results = [scalar_ir.emit(ctx, op, args, out_dtypes[0])]
        for out, ptr, value in zip(outs, out_ptrs, results):
            store_value(ctx, out, ptr, value)

    key = ("elemwise", op_key, tuple(in_dtypes), tuple(out_dtypes), tuple(scalars), tuple(sorted(read_from_out.items())))

    def loop():
        kernel_loop(ctx, key, shape, operands, body,
                    extras=[load_value(ctx, ins[k], ins[k].data) for k in scalars],
                    written=range(len(arrays), len(operands)), parallel=element_cost(op))

    return outs, loop
