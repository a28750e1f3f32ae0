"""softmax, log_softmax, their gradients and the class-target losses, one row at a time.

Every Op here reduces along one axis (the class axis) and then writes along
it again, so each is one kernel that walks the other axes in C order and
makes two or three passes over each row while it is in cache.  Rows whose
elements are adjacent (the last axis of a C-contiguous array, the hot case)
take a unit-stride path the vectoriser widens; other layouts a strided one.

NaN and infinity come out as ``perform``'s: the row maximum ignores NaN
(a NaN makes the row's sum NaN anyway) and is replaced by 0 when it is not
finite, exactly as ``_safe_max``.  Sums accumulate in float64 (in any
order: they are marked ``reassoc`` so the loop vectorises); exp and log are
vecmath's inline polynomials.

Class indices are checked as the kernel walks the rows: the first one out of
range (in C order, as ``perform`` reports it) is left in a slot the entry
point checks after the call, giving ERR_INDEX ``(index, classes)``.
Shapes that must match are ERR_SHAPE ``(kind, *shape_a, *shape_b)`` (see _check_shapes).

``ARange`` (integer bounds, int64 result) is lowered here too: the one-hot
rows of ``crossentropy_softmax_grad`` are ``eq(y[:, None], arange(K))``, and
it is the last node of a softmax training step that would otherwise run in
Python.  It belongs with other creation Ops once they have a module.
"""

import math

from llvmlite import ir

from symgraph.tensor.creation import ARange
from symgraph.tensor.nnet.losses import (
    CrossentropyCategorical1Hot,
    CrossentropyCategorical1HotGrad,
    CrossentropySoftmax,
)
from symgraph.tensor.nnet.softmax import (
    LogSoftmax,
    LogSoftmaxGrad,
    Softmax,
    SoftmaxGrad,
)

from .. import scalar_ir, vecmath
from ..codegen import ERR_INDEX, ERR_SHAPE, F64, I64, ITEMSIZE, ArrayValue, ir_type
from ..threads import parallel_kernel
from . import register
from .loops import elementwise_loop, kernel_loop, load_value, store_value

#: operations per element of a row kernel, for threads.parallel_kernel (an exp and a few passes)
ROW_COST = 12

_NATIVE_FLOATS = ("float32", "float64")
_INTS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
# ERR_SHAPE kinds (the first detail); + _BY_AXIS when the shapes are too long for the error record.
_TARGETS, _LOSS_GRAD, _OUTPUT_GRAD, _ARANGE_STEP = 0, 1, 2, 3
_BY_AXIS = 16


# ---- which nodes ---------------------------------------------------------------------------------

def _floats(node):
    return all(str(v.type.dtype) in _NATIVE_FLOATS for v in list(node.inputs) + list(node.outputs))


def _class_targets(node):
    """Float distributions and outputs; targets of any integer dtype, or dense rows of a native dtype."""
    *floats, targets = node.inputs
    dense = targets.ndim == floats[-1].ndim
    ok_targets = str(targets.type.dtype) in (_NATIVE_FLOATS + _INTS + ("bool",) if dense else _INTS)
    return ok_targets and all(str(v.type.dtype) in _NATIVE_FLOATS for v in floats + node.outputs)


def _int_arange(node):
    return str(node.outputs[0].type.dtype) == "int64" and all(
        str(v.type.dtype) in _INTS and str(v.type.dtype) != "uint64" for v in node.inputs)


# ---- the row kernel ------------------------------------------------------------------------------

class _Row:
    """One row of every row operand, plus the one element per row of every cell operand.

    ``rows`` and ``cells`` are the operands (ArrayValues, read for their
    dtypes); ``ptrs`` point at this row's start in each, in that order.
    """

    def __init__(self, ctx, length, rows, row_strides, cells, ptrs, unit):
        self.ctx, self.length, self.unit = ctx, length, unit
        self.rows, self.row_strides, self.cells = rows, row_strides, cells
        self.row_ptrs, self.cell_ptrs = ptrs[:len(rows)], ptrs[len(rows):]

    def dtype(self, k):
        return self.rows[k].dtype

    def loop(self, name):
        # Strided rows are the fallback layout: not worth versioned, unrolled copies.
        return self.ctx.loop(self.length, name, plain=not self.unit)

    def ptr(self, k, j):
        b = self.ctx.builder
        if self.unit:
            return b.gep(self.row_ptrs[k], [j], source_etype=ir_type(self.dtype(k)))
        return self.ctx.gep(self.row_ptrs[k], b.mul(j, self.row_strides[k]))

    def load(self, k, j, dtype=None):
        """Element ``j`` of row operand ``k``, converted to ``dtype`` when given."""
        v = load_value(self.ctx, self.rows[k], self.ptr(k, j))
        return v if dtype is None else scalar_ir.cast(self.ctx.builder, v, self.dtype(k), dtype)

    def store(self, k, j, value, dtype):
        """Store ``value`` (of ``dtype``) as element ``j`` of row operand ``k``."""
        value = scalar_ir.cast(self.ctx.builder, value, dtype, self.dtype(k))
        store_value(self.ctx, self.rows[k], self.ptr(k, j), value)

    def cell(self, m, dtype=None):
        cell = self.cells[m]
        v = load_value(self.ctx, cell, self.cell_ptrs[m])
        return v if dtype is None else scalar_ir.cast(self.ctx.builder, v, cell.dtype, dtype)

    def set_cell(self, m, value, dtype):
        cell = self.cells[m]
        store_value(self.ctx, cell, self.cell_ptrs[m], scalar_ir.cast(self.ctx.builder, value, dtype, cell.dtype))


def _row_kernel(ctx, key, axis, row_ops, cell_ops, body, extras=()):
    """Call ``body(ctx, row, extras)`` for every row along ``axis`` of the row operands, in C order.

    ``row_ops`` are ArrayValues of one shape; ``cell_ops`` have that shape
    without ``axis`` (one element per row).  Written operands must be fresh
    memory (every lowering here writes only its own outputs), so all data
    pointers are noalias.  ``key`` names everything ``body`` does.
    """
    shape = row_ops[0].shape
    nd = len(shape) - 1
    outer = shape[:axis] + shape[axis + 1:]
    params = list(outer) + [shape[axis]]
    noalias = []
    for arr in row_ops:
        noalias.append(len(params))
        params += [arr.data] + arr.strides[:axis] + arr.strides[axis + 1:] + [arr.strides[axis]]
    for arr in cell_ops:
        noalias.append(len(params))
        params += [arr.data] + list(arr.strides)
    params += list(extras)
    row_dtypes = tuple(a.dtype for a in row_ops)
    cell_dtypes = tuple(a.dtype for a in cell_ops)

    def emit(ctx, args):
        b = ctx.builder
        inner_outer, length, k = args[:nd], args[nd], nd + 1
        rows, row_strides = [], []
        for dtype in row_dtypes:
            rows.append(ArrayValue(dtype, args[k], inner_outer, args[k + 1:k + 1 + nd]))
            row_strides.append(args[k + 1 + nd])
            k += 2 + nd
        cells = []
        for dtype in cell_dtypes:
            cells.append(ArrayValue(dtype, args[k], inner_outer, args[k + 1:k + 1 + nd]))
            k += 1 + nd
        inner_extras = args[k:]
        unit = ir.Constant(ir.IntType(1), 1)
        for dtype, stride in zip(row_dtypes, row_strides):
            unit = b.and_(unit, b.icmp_signed("==", stride, ctx.i64(ITEMSIZE[dtype])))
        with b.if_else(unit) as (contiguous, strided):
            for is_unit, block in ((True, contiguous), (False, strided)):
                with block:
                    def one_row(ptrs, is_unit=is_unit):
                        row = _Row(ctx, length, rows, row_strides, cells, ptrs, is_unit)
                        body(ctx, row, inner_extras)

                    elementwise_loop(ctx, inner_outer, rows + cells, one_row, contiguous_path=False)

    full_key = ("rows", key, nd, row_dtypes, cell_dtypes)
    if nd:
        # Rows are independent (each writes its own row and cell): the outer axis splits across
        # threads, each operand's chunk starting one outer stride (the entry after its data) per row.
        parallel_kernel(ctx, full_key, params, emit, noalias, 0, [(k, k + 1) for k in noalias],
                        range(nd + 1), cost=ROW_COST)
    else:
        ctx.kernel(full_key, params, emit, noalias=noalias)


# ---- row arithmetic ------------------------------------------------------------------------------

def _slot(ctx, ty, init):
    b = ctx.builder
    with b.goto_entry_block():
        slot = b.alloca(ty)
    b.store(init, slot)
    return slot


def _fconst(dtype, value):
    return ir.Constant(ir_type(dtype), value)


def _intrinsic(b, name, *args):
    t = args[0].type
    fn = b.module.declare_intrinsic(name, [t], ir.FunctionType(t, [t] * len(args)))
    return b.call(fn, list(args))


def _safe_max(ctx, row, k):
    """The row's maximum (NaN ignored), or 0 where it is not finite, in the row's dtype."""
    b = ctx.builder
    dtype = row.dtype(k)
    acc = _slot(ctx, ir_type(dtype), _fconst(dtype, -math.inf))
    with row.loop("max") as j:
        b.store(_intrinsic(b, "llvm.maxnum", b.load(acc, typ=ir_type(dtype)), row.load(k, j)), acc)
    m = b.load(acc, typ=ir_type(dtype))
    finite = b.fcmp_ordered("<", _intrinsic(b, "llvm.fabs", m), _fconst(dtype, math.inf))
    return b.select(finite, m, _fconst(dtype, 0.0))


def _sum(ctx, row, term):
    """sum over the row of ``term(j)`` (a float64 value), in any order."""
    b = ctx.builder
    acc = _slot(ctx, F64, ir.Constant(F64, 0.0))
    with row.loop("sum") as j:
        b.store(b.fadd(b.load(acc, typ=F64), term(j), flags=("reassoc",)), acc)
    return b.load(acc, typ=F64)


def _exp_shifted(ctx, row, k, m):
    """j -> exp(x[j] - m) in x's dtype, as perform rounds the shifted logit first."""
    b = ctx.builder
    return lambda j: vecmath.emit(b, "exp", [b.fsub(row.load(k, j), m)])


def _log_sum_exp(ctx, row, k):
    """(m, log(sum(exp(x - m)))) of row operand ``k``; m in its dtype, the log in float64."""
    b = ctx.builder
    dtype = row.dtype(k)
    m = _safe_max(ctx, row, k)
    e = _exp_shifted(ctx, row, k, m)
    s = _sum(ctx, row, lambda j: scalar_ir.cast(b, e(j), dtype, "float64"))
    return m, vecmath.emit(b, "log", [s])


# ---- softmax and log_softmax ---------------------------------------------------------------------

@register(Softmax, _floats)
def lower_softmax(ctx, node, ins):
    (x,) = ins
    out = ctx.alloc(node.outputs[0], x.shape)
    dtype = x.dtype

    def body(ctx, row, _):
        b = ctx.builder
        e = _exp_shifted(ctx, row, 0, _safe_max(ctx, row, 0))

        def store_e(j):
            v = e(j)
            row.store(1, j, v, dtype)
            return scalar_ir.cast(b, v, dtype, "float64")

        s = _sum(ctx, row, store_e)
        with row.loop("norm") as j:
            row.store(1, j, b.fdiv(row.load(1, j, "float64"), s), "float64")

    _row_kernel(ctx, "softmax", node.op.axis, [x, out], [], body)
    return [out]


@register(LogSoftmax, _floats)
def lower_log_softmax(ctx, node, ins):
    (x,) = ins
    out = ctx.alloc(node.outputs[0], x.shape)
    dtype = x.dtype

    def body(ctx, row, _):
        b = ctx.builder
        m, log_z = _log_sum_exp(ctx, row, 0)
        with row.loop("out") as j:
            shifted = scalar_ir.cast(b, b.fsub(row.load(0, j), m), dtype, "float64")
            row.store(1, j, b.fsub(shifted, log_z), "float64")

    _row_kernel(ctx, "log_softmax", node.op.axis, [x, out], [], body)
    return [out]


def _check_shapes(ctx, node, kind, a, b_arr):
    """ERR_SHAPE unless ``a``'s lengths equal ``b_arr``'s on their common leading axes.

    The record is ``(kind, *a.shape, *b.shape)``, so the message can name both
    shapes as perform does, where they fit (five lengths); else
    ``(kind + _BY_AXIS, axis, got, want)`` for the first axis that differs.
    """
    b = ctx.builder
    pairs = list(zip(a.shape, b_arr.shape))
    if len(a.shape) + len(b_arr.shape) <= 5:
        ok = ir.Constant(ir.IntType(1), 1)
        for x, y in pairs:
            ok = b.and_(ok, b.icmp_signed("==", x, y))
        ctx.check(ok, ERR_SHAPE, ctx.node_id(node), ctx.i64(kind), *a.shape, *b_arr.shape)
        return
    for d, (x, y) in enumerate(pairs):
        ctx.check(b.icmp_signed("==", x, y), ERR_SHAPE, ctx.node_id(node), ctx.i64(kind + _BY_AXIS), ctx.i64(d), x, y)


# What each kind compares: (input index of a, of b) and perform's wording for (op, a, b).
_SHAPE_MESSAGES = {
    _TARGETS: ((-1, -2), "{op}: targets of shape {a} do not fit the input of shape {b}",
               "{op}: targets of length {got} on axis {axis} do not fit the input, of length {want} there"),
    _LOSS_GRAD: ((0, 2), "{op}: the output gradient has shape {a}, the loss has shape {b}",
                 "{op}: the output gradient has length {got} on axis {axis}, the loss has length {want} there"),
    _OUTPUT_GRAD: ((0, 1), ("{op}: the output gradient has shape {a} but the forward output has shape {b}; "
                            "they must match"),
                   ("{op}: the output gradient has length {got} on axis {axis} but the forward output has "
                    "length {want}; they must match")),
}


def _shape_error(node, details):
    kind = details[0]
    if kind % _BY_AXIS not in _SHAPE_MESSAGES:
        return None
    (ia, ib), whole, by_axis = _SHAPE_MESSAGES[kind % _BY_AXIS]
    if kind >= _BY_AXIS:
        axis, got, want = details[1:4]
        return by_axis.format(op=node.op, axis=axis, got=got, want=want)
    na = node.inputs[ia].ndim
    a, b = tuple(details[1:1 + na]), tuple(details[1 + na:1 + na + node.inputs[ib].ndim])
    return whole.format(op=node.op, a=a, b=b)


@register(SoftmaxGrad, _floats)
def lower_softmax_grad(ctx, node, ins):
    """(dy - sum(dy * sm)) * sm."""
    dy, sm = ins
    _check_shapes(ctx, node, _OUTPUT_GRAD, dy, sm)
    out = ctx.alloc(node.outputs[0], sm.shape)
    dtype = out.dtype

    def body(ctx, row, _):
        b = ctx.builder
        s = _sum(ctx, row, lambda j: scalar_ir.cast(b, b.fmul(row.load(0, j, dtype), row.load(1, j, dtype)), dtype,
                                                     "float64"))
        s = scalar_ir.cast(b, s, "float64", dtype)
        with row.loop("out") as j:
            y = row.load(1, j, dtype)
            row.store(2, j, b.fsub(b.fmul(row.load(0, j, dtype), y), b.fmul(y, s)), dtype)

    _row_kernel(ctx, "softmax_grad", node.op.axis, [dy, sm, out], [], body)
    return [out]


@register(LogSoftmaxGrad, _floats)
def lower_log_softmax_grad(ctx, node, ins):
    """dy - exp(lsm) * sum(dy)."""
    dy, lsm = ins
    _check_shapes(ctx, node, _OUTPUT_GRAD, dy, lsm)
    out = ctx.alloc(node.outputs[0], lsm.shape)
    dtype = out.dtype

    def body(ctx, row, _):
        b = ctx.builder
        s = _sum(ctx, row, lambda j: row.load(0, j, "float64"))
        s = scalar_ir.cast(b, s, "float64", dtype)
        with row.loop("out") as j:
            sm = vecmath.emit(b, "exp", [row.load(1, j)])
            row.store(2, j, b.fsub(row.load(0, j, dtype), b.fmul(scalar_ir.cast(b, sm, row.dtype(1), dtype), s)),
                      dtype)

    _row_kernel(ctx, "log_softmax_grad", node.op.axis, [dy, lsm, out], [], body)
    return [out]


lower_softmax_grad.shape_error = lower_log_softmax_grad.shape_error = _shape_error


# ---- class-target losses -------------------------------------------------------------------------

def _check_classes(ctx, node, t, classes):
    """Fail with ERR_INDEX on the first class index of ``t`` (C order) outside ``[0, classes)``.

    A pass of its own before the row kernel: the kernel then has no error to report and
    may run its rows on several threads, and the message names the same index as ``perform``.
    """
    b = ctx.builder
    with b.goto_entry_block():
        slot = b.alloca(I64, size=2)
    b.store(ctx.i64(0), slot)
    t_dtype = t.dtype

    def body(ptrs, extras):
        b = ctx.builder
        slot, classes = extras
        index = scalar_ir.cast(b, load_value(ctx, t, ptrs[0]), t_dtype, "int64")
        # The second condition's load is emitted inside the first block (``with`` enters in order).
        with b.if_then(b.not_(_in_range(ctx, index, classes, t_dtype))), \
                b.if_then(b.icmp_signed("==", b.load(slot, typ=I64), ctx.i64(0))):
            b.store(ctx.i64(1), slot)
            b.store(index, b.gep(slot, [ctx.i64(1)], source_etype=I64))

    kernel_loop(ctx, ("class_check", t_dtype), t.shape, [t], body, extras=[slot, classes])
    found = b.load(slot, typ=I64)
    index = b.load(b.gep(slot, [ctx.i64(1)], source_etype=I64), typ=I64)
    ctx.check(b.icmp_signed("==", found, ctx.i64(0)), ERR_INDEX, ctx.node_id(node), index, classes)


def _in_range(ctx, index, length, t_dtype):
    b = ctx.builder
    if t_dtype.startswith("uint"):
        return b.icmp_unsigned("<", index, length)
    return b.and_(b.icmp_signed(">=", index, ctx.i64(0)), b.icmp_signed("<", index, length))


def _picked(ctx, row, t_dtype, use):
    """Call ``use(index)`` with the row's class index (``_check_classes`` has checked them all;
    the guard only keeps a kernel from reading outside the row)."""
    b = ctx.builder
    index = scalar_ir.cast(b, row.cell(0), t_dtype, "int64")
    with b.if_then(_in_range(ctx, index, row.length, t_dtype)):
        use(index)


@register(CrossentropySoftmax, _class_targets)
def lower_crossentropy_softmax(ctx, node, ins):
    x, t = ins
    _check_shapes(ctx, node, _TARGETS, t, x)
    last = len(x.shape) - 1
    out = ctx.alloc(node.outputs[0], x.shape[:last])
    x_dtype, t_dtype, out_dtype = x.dtype, t.dtype, out.dtype
    if len(t.shape) == len(x.shape):
        def dense(ctx, row, _):
            # sum over classes with t != 0 of t * (log_z - (x - m)): a 0 target masks a -inf logit.
            b = ctx.builder
            m, log_z = _log_sum_exp(ctx, row, 0)

            def term(j):
                tj = row.load(1, j)
                nonzero = scalar_ir.to_bool(b, tj, t_dtype)
                shifted = scalar_ir.cast(b, b.fsub(row.load(0, j), m), x_dtype, "float64")
                value = b.fmul(scalar_ir.cast(b, tj, t_dtype, "float64"), b.fsub(log_z, shifted))
                return b.select(nonzero, value, ir.Constant(F64, 0.0))

            row.set_cell(0, _sum(ctx, row, term), "float64")

        _row_kernel(ctx, "xent_softmax_dense", last, [x, t], [out], dense)
        return [out]

    _check_classes(ctx, node, t, x.shape[last])

    def sparse(ctx, row, extras):
        b = ctx.builder
        m, log_z = _log_sum_exp(ctx, row, 0)

        def use(index):
            shifted = scalar_ir.cast(b, b.fsub(row.load(0, index), m), x_dtype, "float64")
            row.set_cell(1, b.fsub(log_z, shifted), "float64")

        _picked(ctx, row, t_dtype, use)

    _row_kernel(ctx, ("xent_softmax", out_dtype), last, [x], [t, out], sparse)
    return [out]


@register(CrossentropyCategorical1Hot, _class_targets)
def lower_crossentropy_1hot(ctx, node, ins):
    """-log(p[..., y])."""
    p, y = ins
    _check_shapes(ctx, node, _TARGETS, y, p)
    last = len(p.shape) - 1
    _check_classes(ctx, node, y, p.shape[last])
    out = ctx.alloc(node.outputs[0], p.shape[:last])
    y_dtype = y.dtype

    def body(ctx, row, extras):
        b = ctx.builder
        _picked(ctx, row, y_dtype,
                lambda index: row.set_cell(1, b.fneg(vecmath.emit(b, "log", [row.load(0, index)])), row.dtype(0)))

    _row_kernel(ctx, "xent_1hot", last, [p], [y, out], body)
    return [out]


@register(CrossentropyCategorical1HotGrad, _class_targets)
def lower_crossentropy_1hot_grad(ctx, node, ins):
    """0 everywhere but ``-g / p[..., y]`` at class ``y``."""
    g, p, y = ins
    _check_shapes(ctx, node, _TARGETS, y, p)
    _check_shapes(ctx, node, _LOSS_GRAD, g, y)
    last = len(p.shape) - 1
    _check_classes(ctx, node, y, p.shape[last])
    out = ctx.alloc(node.outputs[0], p.shape)
    dtype, y_dtype = out.dtype, y.dtype

    def body(ctx, row, extras):
        b = ctx.builder
        with row.loop("zero") as j:
            row.store(1, j, _fconst(dtype, 0.0), dtype)

        def use(index):
            value = b.fdiv(b.fneg(row.cell(1, dtype)), row.load(0, index, dtype))
            row.store(1, index, value, dtype)

        _picked(ctx, row, y_dtype, use)

    _row_kernel(ctx, "xent_1hot_grad", last, [p, out], [y, g], body)
    return [out]


def _index_error(node, details):
    index, classes = details[:2]
    if str(node.inputs[-1].type.dtype) == "uint64" and index < 0:
        index += 1 << 64
    return f"{node.op}: class index {index} is out of range for {classes} classes"


for _lower in (lower_crossentropy_softmax, lower_crossentropy_1hot, lower_crossentropy_1hot_grad):
    _lower.index_error = _index_error
    _lower.shape_error = _shape_error


# ---- arange --------------------------------------------------------------------------------------

@register(ARange, _int_arange)
def lower_arange(ctx, node, ins):
    """len(range(start, stop, step)) values; lengths computed unsigned, so no difference overflows."""
    b = ctx.builder
    start, stop, step = (scalar_ir.cast(b, load_value(ctx, a, a.data), a.dtype, "int64") for a in ins)
    ctx.check(b.icmp_signed("!=", step, ctx.i64(0)), ERR_SHAPE, ctx.node_id(node), ctx.i64(_ARANGE_STEP),
              start, stop)
    up = b.icmp_signed(">", step, ctx.i64(0))
    lo, hi = b.select(up, start, stop), b.select(up, stop, start)
    span = b.sub(hi, lo)  # as unsigned, exact when hi > lo
    stride = b.select(up, step, b.neg(step))  # |step|, unsigned (2**63 for INT64_MIN)
    count = b.add(b.udiv(b.sub(span, ctx.i64(1)), stride), ctx.i64(1))
    length = b.select(b.icmp_signed(">", hi, lo), count, ctx.i64(0))
    out = ctx.alloc(node.outputs[0], [length])

    def fill(ctx, args):
        # ``out`` is fresh and C-contiguous.
        bb = ctx.builder
        n, data, first, delta = args
        with ctx.loop(n, "arange") as i:
            bb.store(bb.add(first, bb.mul(i, delta)), bb.gep(data, [i], source_etype=I64))

    ctx.kernel(("arange",), [length, out.data, start, step], fill, noalias=[1])
    return [out]


def _arange_error(node, details):
    kind, start, stop = details[:3]
    if kind != _ARANGE_STEP:
        return None
    return f"arange: step must not be zero (start={start}, stop={stop})"


lower_arange.shape_error = _arange_error

__all__ = ["lower_arange", "lower_crossentropy_1hot", "lower_crossentropy_1hot_grad", "lower_crossentropy_softmax",
           "lower_log_softmax", "lower_log_softmax_grad", "lower_softmax", "lower_softmax_grad"]
