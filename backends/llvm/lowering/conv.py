"""Conv2d, Conv2dGradInputs and Conv2dGradWeights as native kernels: im2col + GEMM, or a direct loop.

Every prop the Ops have is supported (padding, 'full'/'half', stride,
dilation, groups, flip); inputs must all have the result's dtype (float32 or
float64), other forms keep running through ``perform``.

**im2col + GEMM.**  The windows of the input are copied into a column
buffer in the segment's workspace (rows ``(c, a, b)`` of length ``oh * ow``
per image; padding is written as zeros; unit-stride rows move by whole
vectors) and contracted by BLAS: forward ``y = W @ cols`` per image and
group; the gradients per chunk of images (up to COLS_BUDGET elements of
columns) and group: input gradient ``cols = W^T @ gy`` then added back into
the input's positions (col2im), filter gradient ``dW += gy @ cols^T``.  A
flipped filter is handled by the row order (row ``(c, a, b)`` holds tap
``(kh-1-a, kw-1-b)``), so the filters are never copied when contiguous.

**Direct.**  The forward conv as a register-blocked loop with no column
buffer: the image's group is zero-padded into a workspace once, then for
each block of BLOCK_O output channels and each output row, V-wide chunks of
the row (V = 8 float32 or 4 float64) accumulate in registers over every
(channel, tap): one unaligned vector load of the input, shared by the
BLOCK_O channels, and one multiply-add each.  It needs a unit column stride.

Measured single-threaded for issue 11 (float32, thread CPU time per call in
ms, min of 25, load ~13 on 2 cores; each path forced by the rule's
constants), BLOCK_O = 8:

    shape (N, C, H, O, k, stride, pad)   im2col+GEMM  direct  (NumPy perform)
    LeNet conv1 (64, 1, 28, 20, 5, 1, 0)      1.8      1.0     1.9
    LeNet conv2 (64, 20, 12, 50, 5, 1, 0)     5.9      4.3     7.8
    1x1         (16, 64, 14, 64, 1, 1, 0)     0.56     1.4     0.43
    1x1         (32, 16, 28, 32, 1, 1, 0)     1.3      1.5     0.77
    1x1 wide    (8, 512, 7, 128, 1, 1, 0)     0.96     2.8     1.1
    3x3 s1      (16, 32, 16, 32, 3, 1, 1)     2.7      1.6     2.0
    3x3 s2      (16, 32, 16, 32, 3, 2, 1)     0.60     (GEMM: stride 2)
    3x3 C=3     (64, 3, 32, 16, 3, 1, 1)      3.7      1.4     3.2
    3x3 C=8     (32, 8, 28, 16, 3, 1, 1)      3.4      1.4     2.4
    5x5 C=2     (64, 2, 28, 32, 5, 1, 0)      4.2      2.2     4.1
    3x3 C=64    (16, 64, 14, 64, 3, 1, 1)     5.3      5.5     5.7
    5x5 C=64    (16, 64, 14, 64, 5, 1, 2)    14.8     12.7    17.8
    3x3 C=128   (8, 128, 14, 128, 3, 1, 1)    8.3     10.8     8.0
    3x3 C=256   (8, 256, 7, 256, 3, 1, 1)     7.8     11.0     9.4

With BLOCK_O = 4 the direct loop was 1.3-2x slower on every shape.  The rule
drawn from the table: the direct loop for a unit column stride, a filter
larger than 1x1 and at most DIRECT_MAX_OG output channels per group (BLAS
only pulls ahead once its matrices are large: 1x1 filters, where im2col is
a plain copy, and 128+ output channels); im2col + GEMM otherwise.  The
gradients always take the GEMM path.
"""

import contextlib

from llvmlite import ir

from symgraph.tensor.nnet.conv import Conv2d, Conv2dGradInputs, Conv2dGradWeights

from ..codegen import ERR_SHAPE, I1, I8, I64, ITEMSIZE, ir_type
from . import register
from .blas import _blas, _int

FLOATS = ("float32", "float64")
#: elements of the gradients' column buffer: images are taken together, one GEMM per group, up to this.
#: LeNet's and 3x3 shapes timed the same from one image per GEMM up to 2**18 elements, and 5-15% slower
#: past 2**20 (the buffer leaves L2); 7x7 planes with 256 channels gained 10% on the input gradient.
COLS_BUDGET = 1 << 18
#: output channels per group up to which the forward conv runs the direct loop
DIRECT_MAX_OG = 64
#: output channels a direct-loop pass computes at once (each input row is loaded once for them)
BLOCK_O = 8
#: bytes of one vector of the direct loop (an AVX2 register; LLVM splits it where vectors are narrower)
VECTOR_BYTES = 32

# ERR_SHAPE details[0]: what went wrong (shape_error formats the message).
BAD_CHANNELS, BAD_GROUPS, TOO_SMALL, BAD_OUT_GRAD, BAD_SIZE, BAD_INPUT_GROUPS, BAD_LENGTH = range(1, 8)


def _can_lower(node):
    dtype = str(node.outputs[0].type.dtype)
    return dtype in FLOATS and all(str(v.type.dtype) == dtype for v in node.inputs[:2])


@register(Conv2d, _can_lower)
def lower_conv2d(ctx, node, ins):
    x, w = ins
    b = ctx.builder
    geo = _Geometry(ctx, node, x.shape, w.shape)
    geo.check_channels()
    geo.check_fits()
    out = ctx.alloc(node.outputs[0], [geo.n, geo.o, geo.oh, geo.ow])
    with ctx.if_then(b.icmp_signed("==", geo.k, ctx.i64(0)), "conv.k0"):
        _zero(ctx, out.data, ctx.size(out.shape), out.dtype)
    direct = _choose_direct(ctx, node, geo)
    if direct is not False:
        cond = ir.Constant(I1, 1) if direct is True else direct
        with ctx.if_then(b.and_(cond, b.icmp_signed(">", geo.k, ctx.i64(0))), "conv.direct"):
            _direct_forward(ctx, geo, x, w, out)
    if direct is True:
        return [out]
    direct = ir.Constant(I1, 0) if direct is False else direct
    with ctx.if_then(b.and_(b.not_(direct), geo.has_work()), "conv.gemm"):
        wm = ctx.contiguous_data(w)
        cols = _scratch(ctx, node, out.dtype, [geo.k, geo.p])
        with ctx.loop(geo.n, "img", hot=False) as n, ctx.loop(ctx.i64(geo.groups), "grp", hot=False) as g:
            _im2col(ctx, geo, x, n, g, cols, geo.p)
            # y[n, g] (og x P) = W[g] (og x K) @ cols (K x P)
            _gemm(ctx, out.dtype, False, False, geo.og, geo.p, geo.k,
                  geo.filter_group(wm, g), geo.k,
                  cols, geo.p, 0.0, _out_block(ctx, geo, out, n, g, geo.og), geo.p)
    return [out]


@register(Conv2dGradInputs, _can_lower)
def lower_conv2d_grad_inputs(ctx, node, ins):
    w, gy, shape = ins
    b = ctx.builder
    h, wd = _shape_entries(ctx, node, shape)
    cg = w.shape[1]
    x_shape = [gy.shape[0], b.mul(cg, ctx.i64(node.op.num_groups)), h, wd]
    geo = _Geometry(ctx, node, x_shape, w.shape)
    geo.check_channels()
    geo.check_fits()
    geo.check_out_grad(gy.shape)
    dx = ctx.alloc(node.outputs[0], x_shape)
    _zero(ctx, dx.data, ctx.size(x_shape), dx.dtype)
    with ctx.if_then(geo.has_work(), "convgi.gemm"):
        wm = ctx.contiguous_data(w)
        gyd = ctx.contiguous_data(gy)
        with _image_chunks(ctx, geo, dx.dtype) as (n0, count, cols, gyt):
            width = b.mul(count, geo.p)
            with ctx.loop(ctx.i64(geo.groups), "grp", hot=False) as g:
                _regroup(ctx, geo, gyd, n0, count, g, gyt)
                # cols (K x count*P) = W[g]^T (K x og) @ gy[chunk, g] (og x count*P)
                _gemm(ctx, dx.dtype, True, False, geo.k, width, geo.og,
                      geo.filter_group(wm, g), geo.k,
                      gyt, width, 0.0, cols, width)
                with ctx.loop(count, "img", hot=False) as i:
                    _col2im(ctx, geo, dx, b.add(n0, i), g, ctx.gep(cols, b.mul(b.mul(i, geo.p), geo.item)), width)
    return [dx]


@register(Conv2dGradWeights, _can_lower)
def lower_conv2d_grad_weights(ctx, node, ins):
    x, gy, shape = ins
    b = ctx.builder
    kh, kw = _shape_entries(ctx, node, shape)
    groups = ctx.i64(node.op.num_groups)
    ctx.check(b.icmp_signed("==", b.srem(x.shape[1], groups), ctx.i64(0)), ERR_SHAPE, ctx.node_id(node),
              ctx.i64(BAD_INPUT_GROUPS), x.shape[1])
    ctx.check(b.and_(b.icmp_signed(">", kh, ctx.i64(0)), b.icmp_signed(">", kw, ctx.i64(0))), ERR_SHAPE,
              ctx.node_id(node), ctx.i64(BAD_SIZE), kh, kw)
    w_shape = [gy.shape[1], b.sdiv(x.shape[1], groups), kh, kw]
    geo = _Geometry(ctx, node, x.shape, w_shape)
    geo.check_channels()
    geo.check_fits()
    geo.check_out_grad(gy.shape)
    dw = ctx.alloc(node.outputs[0], w_shape)
    _zero(ctx, dw.data, ctx.size(w_shape), dw.dtype)
    with ctx.if_then(geo.has_work(), "convgw.gemm"):
        gyd = ctx.contiguous_data(gy)
        with _image_chunks(ctx, geo, dw.dtype) as (n0, count, cols, gyt):
            width = b.mul(count, geo.p)
            with ctx.loop(ctx.i64(geo.groups), "grp", hot=False) as g:
                with ctx.loop(count, "img", hot=False) as i:
                    _im2col(ctx, geo, x, b.add(n0, i), g, ctx.gep(cols, b.mul(b.mul(i, geo.p), geo.item)), width)
                _regroup(ctx, geo, gyd, n0, count, g, gyt)
                # dW[g] (og x K) += gy[chunk, g] (og x count*P) @ cols^T (count*P x K)
                _gemm(ctx, dw.dtype, False, True, geo.og, geo.k, width, gyt, width, cols, width, 1.0,
                      geo.filter_group(dw.data, g), geo.k)
    return [dw]


def _choose_direct(ctx, node, geo):
    """The rule of the module docstring: direct for a unit column stride, a filter larger than 1x1 and at
    most DIRECT_MAX_OG output channels per group; as an i1, or False when the static shapes rule it out."""
    b, i64 = ctx.builder, ctx.i64
    o, _, kh, kw = node.inputs[1].type.shape
    if geo.sw != 1 or (kh == kw == 1) or (o is not None and o // geo.groups > DIRECT_MAX_OG):
        return False
    if None not in (o, kh, kw):
        return True
    ok = b.icmp_signed(">", b.mul(geo.kh, geo.kw), i64(1))
    return b.and_(ok, b.icmp_signed("<=", geo.og, i64(DIRECT_MAX_OG)))


def shape_error(node, details):
    """The message for an ERR_SHAPE of these lowerings (``details``: the error record's values)."""
    op, g = node.op, node.op.num_groups
    kind, v = details[0], details[1:]
    if kind == BAD_CHANNELS:
        return (f"{type(op).__name__}: the input has {v[0]} channels but the filters expect {v[1]} * "
                f"num_groups={g} = {v[1] * g}")
    if kind == BAD_GROUPS:
        return (f"{type(op).__name__}: the filters have {v[0]} output channels, not a multiple of "
                f"num_groups={g}")
    if kind == BAD_INPUT_GROUPS:
        return f"{op}: the input has {v[0]} channels, not a multiple of num_groups={g}"
    if kind == TOO_SMALL:
        return (f"{type(op).__name__}: the input of spatial size ({v[0]}, {v[1]}), padded by "
                f"{op.border_mode}, is smaller than the filters of size ({v[2]}, {v[3]}) dilated by "
                f"{op.filter_dilation}")
    if kind == BAD_OUT_GRAD:
        return (f"{type(op).__name__}: the output gradient has length {v[1]} on axis {v[0]} where the input "
                f"and filters give {v[2]}")
    if kind == BAD_SIZE:
        return f"{op}: the spatial shape must be 2 lengths >= 0 (>= 1 for filters); got {tuple(v[:2])}"
    if kind == BAD_LENGTH:
        return f"{op}: the spatial shape must have 2 entries (rows, columns); got {v[0]}"
    return None


for _lower in (lower_conv2d, lower_conv2d_grad_inputs, lower_conv2d_grad_weights):
    _lower.shape_error = shape_error


# ---- sizes and checks ------------------------------------------------------------------------

class _Geometry:
    """The conv's sizes as IR values: batch, channels, filters, pads, output size, K and P."""

    def __init__(self, ctx, node, x_shape, w_shape):
        b = ctx.builder
        op = node.op
        self.ctx, self.node, self.op = ctx, node, op
        self.dtype = str(node.outputs[0].type.dtype)
        self.item = ctx.i64(ITEMSIZE[self.dtype])
        self.groups = op.num_groups
        self.n, self.c, self.h, self.w = x_shape
        self.o, self.cg, self.kh, self.kw = w_shape
        self.og = b.sdiv(self.o, ctx.i64(self.groups))
        (self.sh, self.sw), (self.dh, self.dw) = op.subsample, op.filter_dilation
        self.ph, self.pw = self._pads()
        self.oh = self._out_len(self.h, self.kh, self.ph, self.sh, self.dh)
        self.ow = self._out_len(self.w, self.kw, self.pw, self.sw, self.dw)
        self.k = b.mul(self.cg, b.mul(self.kh, self.kw))
        self.p = b.mul(self.oh, self.ow)

    def _pads(self):
        b, i64, mode = self.ctx.builder, self.ctx.i64, self.op.border_mode
        if isinstance(mode, tuple):
            return i64(mode[0]), i64(mode[1])
        span_h = b.mul(b.sub(self.kh, i64(1)), i64(self.dh))
        span_w = b.mul(b.sub(self.kw, i64(1)), i64(self.dw))
        if mode == "full":
            return span_h, span_w
        return (_floordiv(self.ctx, b.add(span_h, i64(1)), 2), _floordiv(self.ctx, b.add(span_w, i64(1)), 2))

    def _out_len(self, n, k, pad, stride, dil):
        b, i64 = self.ctx.builder, self.ctx.i64
        span = b.add(b.mul(b.sub(k, i64(1)), i64(dil)), i64(1))
        return b.add(_floordiv(self.ctx, b.sub(b.add(n, b.mul(pad, i64(2))), span), stride), i64(1))

    def _fail_unless(self, ok, *details):
        self.ctx.check(ok, ERR_SHAPE, self.ctx.node_id(self.node), *[self.ctx.i64(d) if isinstance(d, int) else d
                                                                    for d in details])

    def check_channels(self):
        b, i64 = self.ctx.builder, self.ctx.i64
        self._fail_unless(b.icmp_signed("==", self.c, b.mul(self.cg, i64(self.groups))), BAD_CHANNELS,
                          self.c, self.cg)
        self._fail_unless(b.icmp_signed("==", b.srem(self.o, i64(self.groups)), i64(0)), BAD_GROUPS, self.o)

    def check_fits(self):
        b, i64 = self.ctx.builder, self.ctx.i64
        ok = b.and_(b.icmp_signed(">=", self.oh, i64(1)), b.icmp_signed(">=", self.ow, i64(1)))
        self._fail_unless(ok, TOO_SMALL, self.h, self.w, self.kh, self.kw)

    def check_out_grad(self, gy_shape):
        b = self.ctx.builder
        for axis, want in enumerate((self.n, self.o, self.oh, self.ow)):
            self._fail_unless(b.icmp_signed("==", gy_shape[axis], want), BAD_OUT_GRAD, axis, gy_shape[axis], want)

    def filter_group(self, data, g):
        """Where group ``g``'s filters (og x K, contiguous) start in filter-shaped memory ``data``."""
        b = self.ctx.builder
        return self.ctx.gep(data, b.mul(g, b.mul(b.mul(self.og, self.k), self.item)))

    def has_work(self):
        """i1: there is a product to compute (no zero among batch, channels and contraction)."""
        b, zero = self.ctx.builder, self.ctx.i64(0)
        ok = ir.Constant(I1, 1)
        for v in (self.n, self.og, self.k, self.p):
            ok = b.and_(ok, b.icmp_signed(">", v, zero))
        return ok


def _shape_entries(ctx, node, shape):
    """The two lengths of a spatial-shape input (an int64 vector), checked to be two and >= 0."""
    b = ctx.builder
    ctx.check(b.icmp_signed("==", shape.shape[0], ctx.i64(2)), ERR_SHAPE, ctx.node_id(node),
              ctx.i64(BAD_LENGTH), shape.shape[0])
    first = b.load(shape.data, typ=I64)
    second = b.load(ctx.gep(shape.data, shape.strides[0]), typ=I64)
    ok = b.and_(b.icmp_signed(">=", first, ctx.i64(0)), b.icmp_signed(">=", second, ctx.i64(0)))
    ctx.check(ok, ERR_SHAPE, ctx.node_id(node), ctx.i64(BAD_SIZE), first, second)
    return first, second


# ---- kernels ---------------------------------------------------------------------------------

def _tap_range(ctx, offset, n_src, stride, n_out):
    """Output positions q in [lo, hi) whose input position ``q * stride + offset`` lies in [0, n_src)."""
    b, i64 = ctx.builder, ctx.i64
    before = b.sub(i64(0), offset)
    lo = b.select(b.icmp_signed(">", before, i64(0)), b.sdiv(b.add(before, i64(stride - 1)), i64(stride)), i64(0))
    last = b.sub(b.sub(n_src, i64(1)), offset)
    hi = b.select(b.icmp_signed("<", last, i64(0)), i64(0), b.add(b.sdiv(last, i64(stride)), i64(1)))
    hi = _min(ctx, hi, n_out)
    return _min(ctx, lo, hi), hi


def _taps(ctx, geo_args, flip, body):
    """For each column row ``r = (c, a, b)``: ``body(r, c, ti, tj)`` with the tap it holds (flip reverses)."""
    b, i64 = ctx.builder, ctx.i64
    cg, kh, kw = geo_args
    with ctx.loop(cg, "c") as c, ctx.loop(kh, "a") as a, ctx.loop(kw, "b") as bb:
        r = b.add(b.mul(b.add(b.mul(c, kh), a), kw), bb)
        ti = b.sub(b.sub(kh, i64(1)), a) if flip else a
        tj = b.sub(b.sub(kw, i64(1)), bb) if flip else bb
        body(r, c, ti, tj)


def _im2col(ctx, geo, x, n, g, cols, ld):
    """cols[(c, a, b), oy * ow + ox] = x[n, g * cg + c] padded, at the window position of tap (a, b);
    ``ld``: the elements from one row of ``cols`` to the next."""
    b = ctx.builder
    base = ctx.gep(x.data, b.add(b.mul(n, x.strides[0]), b.mul(b.mul(g, geo.cg), x.strides[1])))
    params = [base, *x.strides[1:], geo.h, geo.w, cols, ld, geo.cg, geo.kh, geo.kw, geo.oh, geo.ow, geo.ph, geo.pw]
    _window_kernel(ctx, "im2col", geo, params, scatter=False)


def _col2im(ctx, geo, dx, n, g, cols, ld):
    """dx[n, g * cg + c] at tap (a, b)'s window positions += cols[(c, a, b)] (the adjoint of im2col)."""
    b = ctx.builder
    base = ctx.gep(dx.data, b.add(b.mul(n, dx.strides[0]), b.mul(b.mul(g, geo.cg), dx.strides[1])))
    params = [base, *dx.strides[1:], geo.h, geo.w, cols, ld, geo.cg, geo.kh, geo.kw, geo.oh, geo.ow, geo.ph, geo.pw]
    _window_kernel(ctx, "col2im", geo, params, scatter=True)


def _window_kernel(ctx, name, geo, params, scatter):
    dtype, op = geo.dtype, geo.op
    (sh, sw), (dh, dw), flip = op.subsample, op.filter_dilation, op.filter_flip
    t = ir_type(dtype)
    zero = ir.Constant(t, 0.0)
    lanes = VECTOR_BYTES // ITEMSIZE[dtype]

    def emit(ctx, args):
        b, i64 = ctx.builder, ctx.i64
        img, s_c, s_y, s_x, h, w, cols, ld, cg, kh, kw, oh, ow, ph, pw = args
        unit = b.icmp_signed("==", s_x, i64(ITEMSIZE[dtype]))

        def body(r, c, ti, tj):
            lo, hi = _tap_range(ctx, b.sub(b.mul(tj, i64(dw)), pw), w, sw, ow)
            off_y = b.sub(b.mul(ti, i64(dh)), ph)
            x_col = b.sub(b.mul(tj, i64(dw)), pw)
            plane = ctx.gep(img, b.mul(c, s_c))
            with ctx.loop(oh, "oy") as oy:
                row = b.gep(cols, [b.add(b.mul(r, ld), b.mul(oy, ow))], source_etype=t)
                iy = b.add(b.mul(oy, i64(sh)), off_y)
                inside = b.and_(b.icmp_signed(">=", iy, i64(0)), b.icmp_signed("<", iy, h))
                first = b.select(inside, lo, ow)
                last = b.select(inside, hi, ow)
                line = ctx.gep(plane, b.mul(iy, s_y))
                if not scatter:
                    _fill(ctx, row, i64(0), first, zero, t)
                    _fill(ctx, row, last, ow, zero, t)
                run = b.sub(last, first)
                image_at = ctx.gep(line, b.mul(b.add(b.mul(first, i64(sw)), x_col), s_x))
                cols_at = b.gep(row, [first], source_etype=t)
                if sw == 1:
                    with ctx.if_then(unit, "run"):
                        _contiguous_run(ctx, t, lanes, cols_at, image_at, run, scatter)
                    strided = b.not_(unit)
                else:
                    strided = ir.Constant(I1, 1)
                with ctx.if_then(strided, "strided"), ctx.loop(run, "ox") as q:
                    src = ctx.gep(image_at, b.mul(b.mul(q, i64(sw)), s_x))
                    dst = b.gep(cols_at, [q], source_etype=t)
                    if scatter:
                        b.store(b.fadd(b.load(src, typ=t), b.load(dst, typ=t)), src)
                    else:
                        b.store(b.load(src, typ=t), dst)

        _taps(ctx, (cg, kh, kw), flip, body)

    key = (name, dtype, op.subsample, op.filter_dilation, flip)
    ctx.kernel(key, params, emit, noalias=(0, 6))


def _contiguous_run(ctx, t, lanes, cols_at, image_at, n, scatter):
    """``cols_at[:n] = image_at[:n]`` ('im2col') or ``image_at[:n] += cols_at[:n]`` ('col2im'), both unit
    stride, by whole vectors: LeNet's rows are 8 to 24 long, too short for the loop vectoriser."""
    b, i64 = ctx.builder, ctx.i64
    vt = ir.VectorType(t, lanes)
    align = 4 if t == ir.FloatType() else 8
    whole = b.sdiv(n, i64(lanes))

    def move(k):
        src, dst = b.gep(image_at, [k], source_etype=t), b.gep(cols_at, [k], source_etype=t)
        if scatter:
            b.store(b.fadd(b.load(src, typ=vt, align=align), b.load(dst, typ=vt, align=align)), src, align=align)
        else:
            b.store(b.load(src, typ=vt, align=align), dst, align=align)

    with ctx.loop(whole, "vec") as v:
        move(b.mul(v, i64(lanes)))
    done = b.mul(whole, i64(lanes))
    if not scatter:
        # A copy may redo elements: the last vector ends at n (when there is one).
        with ctx.if_then(b.and_(b.icmp_signed("<", done, n), b.icmp_signed(">=", n, i64(lanes))), "last"):
            move(b.sub(n, i64(lanes)))
        done = b.select(b.icmp_signed(">=", n, i64(lanes)), n, done)
    with ctx.loop(b.sub(n, done), "rest") as q:
        k = b.add(done, q)
        src, dst = b.gep(image_at, [k], source_etype=t), b.gep(cols_at, [k], source_etype=t)
        if scatter:
            b.store(b.fadd(b.load(src, typ=t), b.load(dst, typ=t)), src)
        else:
            b.store(b.load(src, typ=t), dst)


def _direct_forward(ctx, geo, x, w, out):
    """y[n, o, oy, ox:ox+V] = sum over (c, tap) of w[o, c, tap] * xp[n, c, row, col:col+V], in registers.

    ``xp`` is the image's group zero-padded into a workspace (plus V spare
    columns, so a vector running past the last output column stays inside);
    then every window read is one unaligned vector load, shared by a block of
    BLOCK_O output channels whose V-wide sums stay in registers.
    """
    b, i64 = ctx.builder, ctx.i64
    op, dtype = geo.op, geo.dtype
    lanes = VECTOR_BYTES // ITEMSIZE[dtype]
    hp = b.add(geo.h, b.mul(geo.ph, i64(2)))
    wp = b.add(b.add(geo.w, b.mul(geo.pw, i64(2))), i64(lanes))
    padded = _scratch(ctx, geo.node, dtype, [geo.cg, hp, wp])
    with ctx.loop(geo.n, "img", hot=False) as n, ctx.loop(i64(geo.groups), "grp", hot=False) as g:
        base = ctx.gep(x.data, b.add(b.mul(n, x.strides[0]), b.mul(b.mul(g, geo.cg), x.strides[1])))
        _pad_kernel(ctx, dtype, [base, *x.strides[1:], geo.cg, geo.h, geo.w, padded, hp, wp, geo.ph, geo.pw])
        w_group = ctx.gep(w.data, b.mul(b.mul(g, geo.og), w.strides[0]))
        params = [padded, hp, wp, w_group, *w.strides, _out_block(ctx, geo, out, n, g, geo.og), geo.og,
                  geo.cg, geo.kh, geo.kw, geo.oh, geo.ow]
        key = ("conv_direct", dtype, op.subsample, op.filter_dilation, op.filter_flip)
        ctx.kernel(key, params, lambda ctx, args: _emit_direct(ctx, op, dtype, lanes, args), noalias=(8,))


def _emit_direct(ctx, op, dtype, lanes, args):
    b, i64 = ctx.builder, ctx.i64
    (sh, _), (dh, dw), flip = op.subsample, op.filter_dilation, op.filter_flip
    t = ir_type(dtype)
    vt = ir.VectorType(t, lanes)
    xp, hp, wp, wd, ws0, ws1, ws2, ws3, yd, og, cg, kh, kw, oh, ow = args
    fma = ctx.declare(f"llvm.fmuladd.v{lanes}{'f32' if dtype == 'float32' else 'f64'}", vt, [vt, vt, vt])
    zero = ir.Constant(vt, [0.0] * lanes)
    undef = ir.Constant(vt, ir.Undefined)
    splat_mask = ir.Constant(ir.VectorType(ir.IntType(32), lanes), [0] * lanes)
    with b.goto_entry_block():
        accs = [b.alloca(vt) for _ in range(BLOCK_O)]
    chunks = b.sdiv(b.add(ow, i64(lanes - 1)), i64(lanes))

    def block(o0, width):
        with ctx.loop(oh, "oy") as oy, ctx.loop(chunks, "chunk") as ch:
            ox0 = b.mul(ch, i64(lanes))
            for acc in accs[:width]:
                b.store(zero, acc)
            with ctx.loop(cg, "c") as c, ctx.loop(kh, "ti") as ti:
                row = b.add(b.mul(oy, i64(sh)), b.mul(ti, i64(dh)))
                line = b.gep(xp, [b.mul(b.add(b.mul(c, hp), row), wp)], source_etype=t)
                wi = b.sub(b.sub(kh, i64(1)), ti) if flip else ti
                w_row = b.add(b.mul(c, ws1), b.mul(wi, ws2))
                with ctx.loop(kw, "tj") as tj:
                    col = b.add(ox0, b.mul(tj, i64(dw)))
                    xv = b.load(b.gep(line, [col], source_etype=t), typ=vt, align=ITEMSIZE[dtype])
                    wj = b.sub(b.sub(kw, i64(1)), tj) if flip else tj
                    w_off = b.add(w_row, b.mul(wj, ws3))
                    for k, acc in enumerate(accs[:width]):
                        wv = b.load(ctx.gep(wd, b.add(w_off, b.mul(b.add(o0, i64(k)), ws0))), typ=t)
                        splat = b.shuffle_vector(b.insert_element(undef, wv, i64(0)), undef, splat_mask)
                        b.store(b.call(fma, [splat, xv, b.load(acc, typ=vt)]), acc)
            left = b.sub(ow, ox0)
            whole = b.icmp_signed(">=", left, i64(lanes))
            for k, acc in enumerate(accs[:width]):
                y_row = b.gep(yd, [b.add(b.mul(b.add(b.mul(b.add(o0, i64(k)), oh), oy), ow), ox0)], source_etype=t)
                value = b.load(acc, typ=vt)
                with ctx.if_then(whole, "full"):
                    b.store(value, y_row, align=ITEMSIZE[dtype])
                with ctx.if_then(b.not_(whole), "tail"):
                    for lane in range(lanes - 1):
                        with ctx.if_then(b.icmp_signed(">", left, i64(lane)), "lane"):
                            b.store(b.extract_element(value, i64(lane)), b.gep(y_row, [i64(lane)], source_etype=t))

    full = b.sdiv(og, i64(BLOCK_O))
    with ctx.loop(full, "ob") as ob:
        block(b.mul(ob, i64(BLOCK_O)), BLOCK_O)
    with ctx.loop(b.sub(og, b.mul(full, i64(BLOCK_O))), "orest") as k:
        block(b.add(b.mul(full, i64(BLOCK_O)), k), 1)


def _pad_kernel(ctx, dtype, params):
    """padded[c, ph + y, pw + x] = img[c, y, x], every other entry 0 (the spare columns included)."""
    t = ir_type(dtype)

    def emit(ctx, args):
        b = ctx.builder
        img, s_c, s_y, s_x, cg, h, w, dst, hp, wp, ph, pw = args
        _zero(ctx, dst, b.mul(cg, b.mul(hp, wp)), dtype)
        with ctx.loop(cg, "c") as c, ctx.loop(h, "y") as y:
            src = ctx.gep(img, b.add(b.mul(c, s_c), b.mul(y, s_y)))
            row = b.gep(dst, [b.add(b.mul(b.add(b.mul(c, hp), b.add(y, ph)), wp), pw)], source_etype=t)
            with ctx.loop(w, "x") as xi:
                b.store(b.load(ctx.gep(src, b.mul(xi, s_x)), typ=t), b.gep(row, [xi], source_etype=t))

    ctx.kernel(("conv_pad", dtype), params, emit, noalias=(7,))


# ---- helpers ---------------------------------------------------------------------------------

@contextlib.contextmanager
def _image_chunks(ctx, geo, dtype):
    """Loop over chunks of images small enough for a column buffer of COLS_BUDGET elements; yields
    (first image, images, column buffer (K x images * P), output-gradient buffer (og x images * P))."""
    b, i64 = ctx.builder, ctx.i64
    per_image = b.mul(geo.k, geo.p)
    most = b.sdiv(i64(COLS_BUDGET), per_image)
    most = b.select(b.icmp_signed("<", most, i64(1)), i64(1), _min(ctx, most, geo.n))
    cols = _scratch(ctx, geo.node, dtype, [geo.k, b.mul(most, geo.p)])
    gyt = _scratch(ctx, geo.node, dtype, [geo.og, b.mul(most, geo.p)])
    chunks = b.sdiv(b.add(geo.n, b.sub(most, i64(1))), most)
    with ctx.loop(chunks, "chunk", hot=False) as k:
        n0 = b.mul(k, most)
        yield n0, _min(ctx, most, b.sub(geo.n, n0)), cols, gyt


def _regroup(ctx, geo, gyd, n0, count, g, gyt):
    """gyt[o, i * P + p] = gy[n0 + i, g * og + o, p] (``gy`` C-contiguous): the chunk's group as one matrix."""
    t = ir_type(geo.dtype)

    def emit(ctx, args):
        b = ctx.builder
        src, dst, og, count, plane, image = args
        with ctx.loop(og, "o") as o, ctx.loop(count, "i") as i:
            line = b.gep(src, [b.add(b.mul(i, image), b.mul(o, plane))], source_etype=t)
            out = b.gep(dst, [b.mul(b.add(b.mul(o, count), i), plane)], source_etype=t)
            with ctx.loop(plane, "p") as p:
                b.store(b.load(b.gep(line, [p], source_etype=t), typ=t), b.gep(out, [p], source_etype=t))

    b = ctx.builder
    image = b.mul(geo.o, geo.p)
    start = b.add(b.mul(n0, image), b.mul(b.mul(g, geo.og), geo.p))
    src = b.gep(gyd, [start], source_etype=t)
    ctx.kernel(("conv_regroup", geo.dtype), [src, gyt, geo.og, count, geo.p, image], emit, noalias=(1,))


def _gemm(ctx, dtype, trans_a, trans_b, m, n, k, a, lda, bmat, ldb, beta, c, ldc):
    """Row-major ``C (m x n) = op(A) @ op(B) + beta * C`` through column-major BLAS: ``C^T = op(B)^T op(A)^T``."""
    t = ir_type(dtype)
    flag = {False: ir.Constant(I8, ord("N")), True: ir.Constant(I8, ord("T"))}
    _blas(ctx, "gemm", dtype, [flag[trans_b], flag[trans_a], _int(ctx, n), _int(ctx, m), _int(ctx, k),
                               ir.Constant(t, 1.0), bmat, _int(ctx, ldb), a, _int(ctx, lda),
                               ir.Constant(t, beta), c, _int(ctx, ldc)])


def _out_block(ctx, geo, out, n, g, og):
    b = ctx.builder
    return ctx.gep(out.data, b.add(b.mul(n, out.strides[0]), b.mul(b.mul(g, og), out.strides[1])))


def _scratch(ctx, node, dtype, shape):
    """A C-contiguous buffer for this node alone, from the segment's workspace (kept between calls, free
    again for later nodes); the segment knows where a node runs, inside a native Scan's body included."""
    return ctx.scratch(dtype, shape, node).data


def _zero(ctx, data, count, dtype):
    b = ctx.builder
    memset = ctx.module.declare_intrinsic("llvm.memset", [data.type, I64])
    b.call(memset, [data, ir.Constant(I8, 0), b.mul(count, ctx.i64(ITEMSIZE[dtype])), ir.Constant(I1, 0)])


def _fill(ctx, row, start, stop, value, t):
    b = ctx.builder
    with ctx.loop(b.sub(stop, start), "fill") as q:
        b.store(value, b.gep(row, [b.add(start, q)], source_etype=t))


def _floordiv(ctx, a, d):
    """Python's ``a // d`` for a constant ``d > 0`` (sdiv truncates toward zero)."""
    b = ctx.builder
    q = b.sdiv(a, ctx.i64(d))
    fix = b.and_(b.icmp_signed("<", a, ctx.i64(0)), b.icmp_signed("!=", b.mul(q, ctx.i64(d)), a))
    return b.select(fix, b.sub(q, ctx.i64(1)), q)


def _min(ctx, x, y):
    return ctx.builder.select(ctx.builder.icmp_signed("<", x, y), x, y)


__all__ = ["lower_conv2d", "lower_conv2d_grad_inputs", "lower_conv2d_grad_weights", "shape_error"]
