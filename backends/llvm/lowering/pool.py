"""Pool, PoolGrad and MaxPoolGradGrad as native loops, one kernel call per pooled plane.

Every mode, window, stride, padding and ``ignore_border`` of the Ops is
supported for float inputs whose dtypes all equal the result's; other forms
(integer pooling, mixed dtypes) keep running through ``perform``.

A window only visits the input positions it covers: padding and the far
edges of partial windows are never read, so no padded canvas is built.
Max pooling routes the gradient as ``perform`` does: to the window's first
maximum in row-major order over the padded window, where the padding counts
as -inf.  So a NaN wins (the first one), ties go to the first, and a window
whose inputs are all -inf routes to its first position, which is dropped
when it lies in the padding.  Windows of up to UNROLL_WINDOW taps are
searched by straight-line code; with no padding, the winner is picked by a
bit mask of the lanes equal to the maximum (no data-dependent branch), and
windows that do not overlap store the gradient there instead of adding it.
Gradients add in the result's dtype where perform sums in float64: with
overlapping float32 windows a position that several windows feed may differ
from perform's by an ulp.
"""

from llvmlite import ir

from symgraph.tensor.nnet.pool import MaxPoolGradGrad, Pool, PoolGrad

from ..codegen import ERR_SHAPE, F64, I1, I8, I32, I64, ITEMSIZE, ir_type
from . import register

FLOATS = ("float32", "float64")
#: windows of at most this many taps are searched by straight-line code (no loop, no stack state)
UNROLL_WINDOW = 16


def _can_lower(node):
    dtype = str(node.outputs[0].type.dtype)
    return dtype in FLOATS and all(str(v.type.dtype) == dtype for v in node.inputs)


@register(Pool, _can_lower)
def lower_pool(ctx, node, ins):
    (x,) = ins
    op = node.op
    oh, ow = _out_len(ctx, op, x.shape[-2], 0), _out_len(ctx, op, x.shape[-1], 1)
    out = ctx.alloc(node.outputs[0], list(x.shape[:-2]) + [oh, ow])
    kernel = _max_pool_kernel if op.mode == "max" else _sum_pool_kernel
    _per_plane(ctx, out, [x], lambda planes: kernel(ctx, op, x, planes[0], planes[1], oh, ow))
    return [out]


@register(PoolGrad, _can_lower)
def lower_pool_grad(ctx, node, ins):
    x, gz = ins
    op = node.op
    oh, ow = _out_len(ctx, op, x.shape[-2], 0), _out_len(ctx, op, x.shape[-1], 1)
    _check_shape(ctx, node, gz.shape, list(x.shape[:-2]) + [oh, ow])
    gx = ctx.alloc(node.outputs[0], list(x.shape))
    _zero(ctx, gx)
    if op.mode == "max":
        _per_plane(ctx, gz, [x, gx], lambda planes: _route_kernel(ctx, op, "scatter", gx.dtype, planes[1], planes[2],
                                                                   planes[0], x.shape[-2:], oh, ow))
    else:
        _per_plane(ctx, gz, [gx], lambda planes: _spread_kernel(ctx, op, gx.dtype, planes[0], planes[1], x.shape[-2:],
                                                                 oh, ow))
    return [gx]


@register(MaxPoolGradGrad, _can_lower)
def lower_max_pool_grad_grad(ctx, node, ins):
    x, ggx = ins
    op = node.op
    _check_shape(ctx, node, ggx.shape, list(x.shape))
    oh, ow = _out_len(ctx, op, x.shape[-2], 0), _out_len(ctx, op, x.shape[-1], 1)
    out = ctx.alloc(node.outputs[0], list(x.shape[:-2]) + [oh, ow])
    _per_plane(ctx, out, [x, ggx], lambda planes: _route_kernel(ctx, op, "gather", out.dtype, planes[1], planes[2],
                                                                 planes[0], x.shape[-2:], oh, ow))
    return [out]


def shape_error(node, details):
    """The message for the ERR_SHAPE of these lowerings: (axis, got, want)."""
    axis, got, want = details[:3]
    what = "the gradient" if isinstance(node.op, MaxPoolGradGrad) else "the output gradient"
    whose = "the input" if isinstance(node.op, MaxPoolGradGrad) else "the pooled input"
    return f"{node.op}: {what} has length {got} on axis {axis} where {whose} gives {want}; they must match"


for _lower in (lower_pool, lower_pool_grad, lower_max_pool_grad_grad):
    _lower.shape_error = shape_error


# ---- sizes, checks and the walk over planes ----------------------------------------------------

def _out_len(ctx, op, n, axis):
    """``_PoolOp.out_len`` in IR (every numerator floor-divided is >= 0 when it matters)."""
    b, i64 = ctx.builder, ctx.i64
    ws, st = op.ws[axis], op.stride[axis]
    v = b.add(n, i64(2 * op.pad[axis]))
    if op.ignore_border:
        if ws == st:
            return b.sdiv(v, i64(st))
        num = b.sub(v, i64(ws))
        return b.select(b.icmp_signed("<", num, i64(0)), i64(0), b.add(b.sdiv(num, i64(st)), i64(1)))
    if st >= ws:
        # v >= 1 here unless the input is empty, where Python's (-1 // st) + 1 is 0.
        return b.select(b.icmp_signed(">", v, i64(0)), b.add(b.sdiv(b.sub(v, i64(1)), i64(st)), i64(1)), i64(0))
    num = b.sub(b.sub(v, i64(1 + ws)), i64(-st))
    return b.add(b.select(b.icmp_signed("<", num, i64(0)), i64(0), b.sdiv(num, i64(st))), i64(1))


def _check_shape(ctx, node, got, want):
    b = ctx.builder
    for axis, (g, w) in enumerate(zip(got, want)):
        ctx.check(b.icmp_signed("==", g, w), ERR_SHAPE, ctx.node_id(node), ctx.i64(axis), g, w)


def _per_plane(ctx, lead_arr, arrays, emit_plane):
    """For each index of the leading axes of ``lead_arr``: ``emit_plane(planes)``, ``planes`` being
    ``lead_arr`` then ``arrays`` as (data pointer, row stride, column stride) of that 2-d plane."""
    b = ctx.builder
    operands = [lead_arr] + list(arrays)

    def rec(d, offsets):
        if d == lead_arr.ndim - 2:
            emit_plane([(ctx.gep(a.data, off), a.strides[-2], a.strides[-1]) for a, off in zip(operands, offsets)])
            return
        with ctx.loop(lead_arr.shape[d], f"plane{d}", hot=False) as i:
            rec(d + 1, [b.add(off, b.mul(i, a.strides[d])) for a, off in zip(operands, offsets)])

    rec(0, [ctx.i64(0)] * len(operands))


def _window(ctx, op, axis, o, n):
    """The window of output position ``o`` along ``axis``: (first position, padded or not), clipped [lo, hi)."""
    b, i64 = ctx.builder, ctx.i64
    start = b.sub(b.mul(o, i64(op.stride[axis])), i64(op.pad[axis]))
    lo = b.select(b.icmp_signed("<", start, i64(0)), i64(0), start)
    end = b.add(start, i64(op.ws[axis]))
    hi = b.select(b.icmp_signed("<", end, n), end, n)
    return start, lo, hi


def _count(ctx, op, axis, o, n):
    """Entries a window averages over along ``axis`` (``_PoolOp.counts``)."""
    b, i64 = ctx.builder, ctx.i64
    p = op.pad[axis]
    size = b.add(n, i64(2 * p))
    start = b.mul(o, i64(op.stride[axis]))
    end = b.add(start, i64(op.ws[axis]))
    end = b.select(b.icmp_signed("<", end, size), end, size)
    if op.mode == "average_exc_pad":
        start = b.select(b.icmp_signed("<", start, i64(p)), i64(p), start)
        inner = b.sub(size, i64(p))
        end = b.select(b.icmp_signed("<", end, inner), end, inner)
    return b.sub(end, start)


# ---- kernels (one call per plane) --------------------------------------------------------------

def _max_pool_kernel(ctx, op, x, y_plane, x_plane, oh, ow):
    dtype = x.dtype
    t = ir_type(dtype)

    def emit(ctx, args):
        b = ctx.builder
        xp, sy, sx, h, w, yp, ys, yx, oh, ow = args
        with b.goto_entry_block():
            acc = b.alloca(t)
        if op.ws[0] * op.ws[1] <= UNROLL_WINDOW:
            # The max is the value argmax picks (a NaN if there is one); an empty input gives zeros.
            nonempty = b.and_(b.icmp_signed(">", h, ctx.i64(0)), b.icmp_signed(">", w, ctx.i64(0)))
            with ctx.loop(oh, "oy") as oy, ctx.loop(ow, "ox") as ox:
                out = ctx.gep(yp, b.add(b.mul(oy, ys), b.mul(ox, yx)))
                with ctx.if_then(nonempty, "plane"):
                    y0, x0 = _window(ctx, op, 0, oy, h)[0], _window(ctx, op, 1, ox, w)[0]
                    b.store(_argmax_unrolled(ctx, op, t, xp, sy, sx, y0, x0, h, w)[3], out)
                with ctx.if_then(b.not_(nonempty), "empty"):
                    b.store(ir.Constant(t, 0.0), out)
            return
        with ctx.loop(oh, "oy") as oy:
            _, ylo, yhi = _window(ctx, op, 0, oy, h)
            with ctx.loop(ow, "ox") as ox:
                _, xlo, xhi = _window(ctx, op, 1, ox, w)
                b.store(ir.Constant(t, float("-inf")), acc)
                with ctx.loop(b.sub(yhi, ylo), "wy") as i:
                    row = ctx.gep(xp, b.mul(b.add(ylo, i), sy))
                    with ctx.loop(b.sub(xhi, xlo), "wx") as j:
                        v = b.load(ctx.gep(row, b.mul(b.add(xlo, j), sx)), typ=t)
                        best = b.load(acc, typ=t)
                        # NumPy's max: a NaN, once met, stays.
                        take = b.or_(b.fcmp_ordered(">", v, best), b.fcmp_unordered("uno", v, v))
                        b.store(b.select(take, v, best), acc)
                # A window meets no input only when the input is empty: perform gives 0 there.
                empty = b.or_(b.icmp_signed(">=", ylo, yhi), b.icmp_signed(">=", xlo, xhi))
                value = b.select(empty, ir.Constant(t, 0.0), b.load(acc, typ=t))
                b.store(value, ctx.gep(yp, b.add(b.mul(oy, ys), b.mul(ox, yx))))

    params = [x_plane[0], x_plane[1], x_plane[2], x.shape[-2], x.shape[-1], *y_plane, oh, ow]
    ctx.kernel(("max_pool", _props(op), dtype), params, emit, noalias=(5,))


def _sum_pool_kernel(ctx, op, x, y_plane, x_plane, oh, ow):
    dtype = x.dtype
    t = ir_type(dtype)
    divide = op.mode != "sum"

    def emit(ctx, args):
        b = ctx.builder
        xp, sy, sx, h, w, yp, ys, yx, oh, ow = args
        with b.goto_entry_block():
            acc = b.alloca(t)
        with ctx.loop(oh, "oy") as oy:
            _, ylo, yhi = _window(ctx, op, 0, oy, h)
            with ctx.loop(ow, "ox") as ox:
                _, xlo, xhi = _window(ctx, op, 1, ox, w)
                b.store(ir.Constant(t, 0.0), acc)
                with ctx.loop(b.sub(yhi, ylo), "wy") as i:
                    row = ctx.gep(xp, b.mul(b.add(ylo, i), sy))
                    with ctx.loop(b.sub(xhi, xlo), "wx") as j:
                        v = b.load(ctx.gep(row, b.mul(b.add(xlo, j), sx)), typ=t)
                        b.store(b.fadd(b.load(acc, typ=t), v), acc)
                value = b.load(acc, typ=t)
                if divide:
                    # perform divides the sum by an int64 count: in float64, rounded once.
                    count = b.mul(_count(ctx, op, 0, oy, h), _count(ctx, op, 1, ox, w))
                    value = _to(b, b.fdiv(_to(b, value, F64), b.sitofp(count, F64)), t)
                b.store(value, ctx.gep(yp, b.add(b.mul(oy, ys), b.mul(ox, yx))))

    params = [x_plane[0], x_plane[1], x_plane[2], x.shape[-2], x.shape[-1], *y_plane, oh, ow]
    ctx.kernel(("sum_pool", _props(op), dtype), params, emit, noalias=(5,))


def _route_kernel(ctx, op, direction, dtype, x_plane, other_plane, out_plane, hw, oh, ow):
    """Max pooling's routing: each window's argmax (as perform picks it) receives ``gz`` ('scatter':
    ``other += gz`` there, ``out_plane`` being gz) or gives ``out = other`` there ('gather')."""
    t = ir_type(dtype)

    def emit(ctx, args):
        b, i64 = ctx.builder, ctx.i64
        xp, xsy, xsx, qp, qsy, qsx, zp, zsy, zsx, h, w, oh, ow = args
        with b.goto_entry_block():
            best = b.alloca(t)
            where = b.alloca(I64)
        small = op.ws[0] * op.ws[1] <= UNROLL_WINDOW
        nonempty = b.and_(b.icmp_signed(">", h, i64(0)), b.icmp_signed(">", w, i64(0)))
        if direction == "gather":
            # No input: perform's result is zeros (it routes nothing).
            with ctx.if_then(b.not_(nonempty), "empty"), ctx.loop(oh, "oy") as oy, ctx.loop(ow, "ox") as ox:
                b.store(ir.Constant(t, 0.0), ctx.gep(zp, b.add(b.mul(oy, zsy), b.mul(ox, zsx))))
        with ctx.if_then(nonempty, "plane"), ctx.loop(oh, "oy") as oy:
            y0, ylo, yhi = _window(ctx, op, 0, oy, h)
            with ctx.loop(ow, "ox") as ox:
                x0, xlo, xhi = _window(ctx, op, 1, ox, w)
                if small and direction == "gather" and _inside(op):
                    values, offsets = _tap_values(ctx, op, t, y0, x0, (xp, xsy, xsx), (qsy, qsx))
                    at = _winner_offset(ctx, values, offsets)
                    b.store(b.load(ctx.gep(qp, at), typ=t), ctx.gep(zp, b.add(b.mul(oy, zsy), b.mul(ox, zsx))))
                elif small and direction == "gather":
                    # Padded windows: the gathered value rides along the search (a pick among loads).
                    found, _, _, _, _, value = _argmax_unrolled(ctx, op, t, xp, xsy, xsx, y0, x0, h, w,
                                                                also=(qp, qsy, qsx))
                    z = ctx.gep(zp, b.add(b.mul(oy, zsy), b.mul(ox, zsx)))
                    b.store(b.select(found, value, ir.Constant(t, 0.0)), z)
                elif small and _inside(op) and op.stride[0] >= op.ws[0] and op.stride[1] >= op.ws[1]:
                    # Windows apart: no other window feeds the winner's zeroed position, so gz is stored
                    # there (no read of gx, no chain of adds through memory).
                    values, offsets = _tap_values(ctx, op, t, y0, x0, (xp, xsy, xsx), (qsy, qsx))
                    gz = b.load(ctx.gep(zp, b.add(b.mul(oy, zsy), b.mul(ox, zsx))), typ=t)
                    b.store(gz, ctx.gep(qp, _winner_offset(ctx, values, offsets)))
                elif small:
                    found, ay, ax, _, _, _ = _argmax_unrolled(ctx, op, t, xp, xsy, xsx, y0, x0, h, w)
                    _route(ctx, direction, t, found, ay, ax, qp, qsy, qsx, zp, zsy, zsx, oy, ox)
                else:
                    # The padded window's first position wins an all -inf window: it is an input
                    # position only when neither its row nor its column is padding.
                    first_in = b.and_(b.icmp_signed(">=", y0, i64(0)), b.icmp_signed(">=", x0, i64(0)))
                    first_in = b.and_(first_in, b.and_(b.icmp_signed("<", ylo, yhi), b.icmp_signed("<", xlo, xhi)))
                    b.store(ir.Constant(t, float("-inf")), best)
                    b.store(b.select(first_in, b.add(b.mul(y0, i64(1 << 32)), x0), i64(-1)), where)
                    with ctx.if_then(first_in, "first"):
                        b.store(b.load(ctx.gep(xp, b.add(b.mul(y0, xsy), b.mul(x0, xsx))), typ=t), best)
                    with ctx.loop(b.sub(yhi, ylo), "wy") as i:
                        iy = b.add(ylo, i)
                        row = ctx.gep(xp, b.mul(iy, xsy))
                        with ctx.loop(b.sub(xhi, xlo), "wx") as j:
                            ix = b.add(xlo, j)
                            v = b.load(ctx.gep(row, b.mul(ix, xsx)), typ=t)
                            cur = b.load(best, typ=t)
                            # argmax: strictly greater, or the first NaN.
                            nan_first = b.and_(b.fcmp_unordered("uno", v, v), b.fcmp_ordered("ord", cur, cur))
                            take = b.or_(b.fcmp_ordered(">", v, cur), nan_first)
                            b.store(b.select(take, v, cur), best)
                            b.store(b.select(take, b.add(b.mul(iy, i64(1 << 32)), ix), b.load(where, typ=I64)), where)
                    at = b.load(where, typ=I64)
                    found = b.icmp_signed(">=", at, i64(0))
                    ay, ax = b.ashr(at, i64(32)), b.and_(at, i64((1 << 32) - 1))
                    _route(ctx, direction, t, found, ay, ax, qp, qsy, qsx, zp, zsy, zsx, oy, ox)

    params = [*x_plane, *other_plane, *out_plane, *hw, oh, ow]
    ctx.kernel(("max_route", direction, _props(op), dtype), params, emit,
               noalias=(3,) if direction == "scatter" else (6,))


def _argmax_unrolled(ctx, op, t, xp, xsy, xsx, y0, x0, h, w, also=None):
    """The window's argmax over its padded taps, unrolled (a small window): (is an input position, row,
    column, the maximum, the winning tap's number, and ``also``'s value there: a plane (data, row stride,
    column stride) of x's shape read at the same taps, or None).

    Taps outside the input count as -inf and are never read; argmax keeps the
    first maximum, or the first NaN, so tap (0, 0) wins an all -inf window.
    """
    b, i64 = ctx.builder, ctx.i64
    inside = _inside(op)
    best = found = ay = ax = tap = other = None
    for i in range(op.ws[0]):
        yy = b.add(y0, i64(i))
        row_ok = None if inside else b.and_(b.icmp_signed(">=", yy, i64(0)), b.icmp_signed("<", yy, h))
        for j in range(op.ws[1]):
            xx = b.add(x0, i64(j))
            ok = ir.Constant(I1, 1)
            if not inside:
                ok = b.and_(row_ok, b.and_(b.icmp_signed(">=", xx, i64(0)), b.icmp_signed("<", xx, w)))

            v = _read(ctx, t, (xp, xsy, xsx), yy, xx, None if inside else ok)
            if not inside:
                v = b.select(ok, v, ir.Constant(t, float("-inf")))
            q = None if also is None else _read(ctx, t, also, yy, xx, None if inside else ok)
            k = i64(i * op.ws[1] + j)
            if best is None:
                best, found, ay, ax, tap, other = v, ok, yy, xx, k, q
                continue
            nan_first = b.and_(b.fcmp_unordered("uno", v, v), b.fcmp_ordered("ord", best, best))
            take = b.or_(b.fcmp_ordered(">", v, best), nan_first)
            best = b.select(take, v, best)
            found, ay, ax, tap = b.select(take, ok, found), b.select(take, yy, ay), b.select(take, xx, ax), \
                b.select(take, k, tap)
            if also is not None:
                other = b.select(take, q, other)
    return found, ay, ax, best, tap, other


def _read(ctx, t, plane, yy, xx, ok):
    """plane[yy, xx]; where ``ok`` (an i1, None: always) is false, plane[0, 0] is read instead (a safe address)."""
    b = ctx.builder
    offset = b.add(b.mul(yy, plane[1]), b.mul(xx, plane[2]))
    if ok is not None:
        offset = b.select(ok, offset, ctx.i64(0))
    return b.load(ctx.gep(plane[0], offset), typ=t)


def _tap_values(ctx, op, t, y0, x0, plane, other_strides):
    """The window's values in ``plane`` (all inside it), and the byte offsets of its taps in a plane of
    ``other_strides``."""
    b, i64 = ctx.builder, ctx.i64
    values, offsets = [], []
    for i in range(op.ws[0]):
        for j in range(op.ws[1]):
            yy, xx = b.add(y0, i64(i)), b.add(x0, i64(j))
            values.append(b.load(ctx.gep(plane[0], b.add(b.mul(yy, plane[1]), b.mul(xx, plane[2]))), typ=t))
            offsets.append(b.add(b.mul(yy, other_strides[0]), b.mul(xx, other_strides[1])))
    return values, offsets


def _winner_offset(ctx, values, offsets):
    """The offset of argmax's pick among ``values`` (the first maximum, or the first NaN).

    Computed without a data-dependent choice: the lanes equal to the maximum
    as a bit mask, its lowest set bit's number, that lane of the offsets.  Selects
    driven by the data compile to branches on x86 (mispredicted half the time
    on random inputs: 3x slower on LeNet's pooling gradient).
    """
    b, n = ctx.builder, len(values)
    t = values[0].type
    best = values[0]
    for v in values[1:]:
        take = b.or_(b.fcmp_ordered(">", v, best), b.and_(b.fcmp_unordered("uno", v, v), b.fcmp_ordered("ord", best, best)))
        best = b.select(take, v, best)
    vt, mt, bt = ir.VectorType(t, n), ir.VectorType(I1, n), ir.VectorType(I64, n)
    vec, offs, nan_best = ir.Constant(vt, ir.Undefined), ir.Constant(bt, ir.Undefined), ir.Constant(mt, ir.Undefined)
    best_vec = ir.Constant(vt, ir.Undefined)
    is_nan = b.fcmp_unordered("uno", best, best)
    for k, (v, o) in enumerate(zip(values, offsets)):
        vec, offs = b.insert_element(vec, v, ctx.i64(k)), b.insert_element(offs, o, ctx.i64(k))
        best_vec, nan_best = b.insert_element(best_vec, best, ctx.i64(k)), b.insert_element(nan_best, is_nan, ctx.i64(k))
    equal = b.fcmp_ordered("==", vec, best_vec)
    hit = b.or_(equal, b.and_(b.fcmp_unordered("uno", vec, vec), nan_best))
    mask = b.zext(b.bitcast(hit, ir.IntType(n)), I32)
    cttz = ctx.declare("llvm.cttz.i32", I32, [I32, I1])
    lane = b.call(cttz, [mask, ir.Constant(I1, 1)])
    return b.extract_element(offs, lane)


def _inside(op):
    """Every tap of every window is an input position: no padding, no partial windows."""
    return op.pad == (0, 0) and op.ignore_border


def _route(ctx, direction, t, found, ay, ax, qp, qsy, qsx, zp, zsy, zsx, oy, ox):
    """'scatter': ``q[ay, ax] += z[oy, ox]``; 'gather': ``z[oy, ox] = q[ay, ax]``; nothing / 0 unless ``found``."""
    b = ctx.builder
    z = ctx.gep(zp, b.add(b.mul(oy, zsy), b.mul(ox, zsx)))
    q = ctx.gep(qp, b.add(b.mul(ay, qsy), b.mul(ax, qsx)))
    if direction == "scatter":
        with ctx.if_then(found, "route"):
            b.store(b.fadd(b.load(q, typ=t), b.load(z, typ=t)), q)
    else:
        b.store(b.select(found, b.load(b.select(found, q, z), typ=t), ir.Constant(t, 0.0)), z)


def _spread_kernel(ctx, op, dtype, gz_plane, gx_plane, hw, oh, ow):
    """Sum and average pooling's gradient: each window's ``gz`` (over its count) added to its inputs."""
    t = ir_type(dtype)
    divide = op.mode != "sum"

    def emit(ctx, args):
        b = ctx.builder
        zp, zsy, zsx, gp, gsy, gsx, h, w, oh, ow = args
        with ctx.loop(oh, "oy") as oy:
            _, ylo, yhi = _window(ctx, op, 0, oy, h)
            with ctx.loop(ow, "ox") as ox:
                _, xlo, xhi = _window(ctx, op, 1, ox, w)
                value = b.load(ctx.gep(zp, b.add(b.mul(oy, zsy), b.mul(ox, zsx))), typ=t)
                if divide:
                    count = b.mul(_count(ctx, op, 0, oy, h), _count(ctx, op, 1, ox, w))
                    value = _to(b, b.fdiv(_to(b, value, F64), b.sitofp(count, F64)), t)
                with ctx.loop(b.sub(yhi, ylo), "wy") as i:
                    row = ctx.gep(gp, b.mul(b.add(ylo, i), gsy))
                    with ctx.loop(b.sub(xhi, xlo), "wx") as j:
                        ptr = ctx.gep(row, b.mul(b.add(xlo, j), gsx))
                        b.store(b.fadd(b.load(ptr, typ=t), value), ptr)

    params = [*gz_plane, *gx_plane, *hw, oh, ow]
    ctx.kernel(("pool_spread", _props(op), dtype), params, emit, noalias=(3,))


# ---- helpers ---------------------------------------------------------------------------------

def _props(op):
    return (op.ws, op.stride, op.pad, op.ignore_border, op.mode)


def _to(b, value, t):
    if value.type == t:
        return value
    return b.fpext(value, t) if t == F64 else b.fptrunc(value, t)


def _zero(ctx, arr):
    b = ctx.builder
    memset = ctx.module.declare_intrinsic("llvm.memset", [arr.data.type, I64])
    size = b.mul(ctx.size(arr.shape), ctx.i64(ITEMSIZE[arr.dtype]))
    b.call(memset, [arr.data, ir.Constant(I8, 0), size, ir.Constant(I1, 0)])


__all__ = ["lower_max_pool_grad_grad", "lower_pool", "lower_pool_grad", "shape_error"]
