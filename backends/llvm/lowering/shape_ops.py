"""Views and shape arithmetic: DimShuffle, Reshape, Shape, Shape_i, MakeVector, Alloc, identities."""

from symgraph.gradient import DisconnectedGrad, GradClip, GradScale, ZeroGrad
from symgraph.tensor.basic import Alloc, MakeVector
from symgraph.tensor.elemwise import DimShuffle
from symgraph.tensor.shape import Reshape, Shape, Shape_i, SpecifyShape

from .. import scalar_ir
from ..codegen import ERR_BROADCAST, ERR_SHAPE, ERR_STATIC_SHAPE, ITEMSIZE
from . import register
from .loops import kernel_loop, load_value, store_value


@register(DimShuffle)
def lower_dimshuffle(ctx, node, ins):
    (x,) = ins
    shape, strides = [], []
    for o in node.op.new_order:
        if o == "x":
            shape.append(ctx.i64(1))
            strides.append(ctx.i64(0))
        else:
            shape.append(x.shape[o])
            strides.append(x.strides[o])
    return [x.view(shape=shape, strides=strides)]


@register(SpecifyShape)
def lower_specify_shape(ctx, node, ins):
    (x,) = ins
    b = ctx.builder
    for d, want in enumerate(node.op.shape):
        if want is not None:
            ctx.check(b.icmp_signed("==", x.shape[d], ctx.i64(want)), ERR_STATIC_SHAPE, ctx.node_id(node),
                      ctx.i64(d), x.shape[d], ctx.i64(want))
    return [x]


@register(ZeroGrad)
@register(DisconnectedGrad)
@register(GradClip)
@register(GradScale)
def lower_identity(ctx, node, ins):
    return [ins[0]]


def _store_scalar(ctx, var, value):
    out = ctx.alloc(var, [])
    store_value(ctx, out, out.data, value)
    return out


@register(Shape_i)
def lower_shape_i(ctx, node, ins):
    return [_store_scalar(ctx, node.outputs[0], ins[0].shape[node.op.i])]


@register(Shape)
def lower_shape(ctx, node, ins):
    (x,) = ins
    out = ctx.alloc(node.outputs[0], [ctx.i64(x.ndim)])
    for k, s in enumerate(x.shape):
        ctx.builder.store(s, ctx.builder.gep(out.data, [ctx.i64(k)], source_etype=ctx.i64(0).type))
    return [out]


@register(MakeVector)
def lower_make_vector(ctx, node, ins):
    out = ctx.alloc(node.outputs[0], [ctx.i64(len(ins))])
    for k, arr in enumerate(ins):
        v = load_value(ctx, arr, arr.data)
        ptr = ctx.builder.gep(out.data, [ctx.i64(k)], source_etype=_elt(out))
        store_value(ctx, out, ptr, v)
    return [out]


def _elt(arr):
    from ..codegen import ir_type

    return ir_type(arr.dtype)


def read_int(ctx, arr):
    """A 0-d integer array's value as i64."""
    v = load_value(ctx, arr, arr.data)
    return scalar_ir.cast(ctx.builder, v, arr.dtype, "int64")


@register(Alloc)
def lower_alloc(ctx, node, ins):
    value, *dims = ins
    shape = [read_int(ctx, d) for d in dims]
    b = ctx.builder
    vvar = node.inputs[0]
    offset = len(shape) - value.ndim
    # The value's axes align to the right; only its static length-1 axes broadcast.
    for d in range(value.ndim):
        if vvar.type.shape[d] != 1:
            ctx.check(b.icmp_signed("==", value.shape[d], shape[offset + d]), ERR_BROADCAST,
                      ctx.node_id(node), ctx.i64(0), ctx.i64(offset + d), value.shape[d], shape[offset + d])
    out = ctx.alloc(node.outputs[0], shape)
    strides = [ctx.i64(0)] * offset + [ctx.i64(0) if vvar.type.shape[d] == 1 else value.strides[d]
                                       for d in range(value.ndim)]
    src = value.view(shape=shape, strides=strides)

    def body(ptrs, _):
        value = scalar_ir.cast(ctx.builder, load_value(ctx, src, ptrs[0]), src.dtype, out.dtype)
        store_value(ctx, out, ptrs[1], value)

    kernel_loop(ctx, "cast", shape, [src, out], body, written=(1,))
    return [out]


@register(Reshape)
def lower_reshape(ctx, node, ins):
    x, shp = ins
    b = ctx.builder
    ndim = node.op.ndim
    entries = []
    for k in range(ndim):
        ptr = b.gep(shp.data, [b.mul(ctx.i64(k), b.sdiv(shp.strides[0], ctx.i64(ITEMSIZE[shp.dtype])))],
                    source_etype=_elt(shp))
        entries.append(scalar_ir.cast(b, load_value(ctx, shp, ptr), shp.dtype, "int64"))
    size = ctx.size(x.shape)
    known = ctx.i64(1)
    for e in entries:
        known = b.mul(known, b.select(b.icmp_signed("==", e, ctx.i64(-1)), ctx.i64(1), e))
    safe = b.select(b.icmp_signed("==", known, ctx.i64(0)), ctx.i64(1), known)
    missing = b.sdiv(size, safe)
    shape = [b.select(b.icmp_signed("==", e, ctx.i64(-1)), missing, e) for e in entries]
    ctx.check(b.icmp_signed("==", ctx.size(shape), size), ERR_SHAPE, ctx.node_id(node), size, ctx.size(shape))
    for e in entries:
        ctx.check(b.icmp_signed(">=", e, ctx.i64(-1)), ERR_SHAPE, ctx.node_id(node), size, e)
    # A C-contiguous input is reshaped as a view; anything else is copied first.
    data = ctx.contiguous_data(x)
    return [x.view(data=data, shape=shape, strides=ctx.contiguous_strides(x.dtype, shape))]
