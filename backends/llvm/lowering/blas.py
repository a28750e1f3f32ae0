"""Dot, BatchedDot, Gemm, Gemv and Ger through BLAS, called by address
(and AssertAligned, the shape check the contractions put before them).

The Fortran-convention routines (every argument by pointer) of the library
``blas_library.py`` picks are bound by ``jit.py`` as ``symgraph_blas_<name>``.
BLAS is column-major and our arrays are row-major: a row-major matrix read
column-major is its transpose, so ``C = A @ B`` is the column-major
``C^T = B^T A^T``.  Each matrix operand becomes (data, 'N' or 'T', leading
dimension) from its strides, whatever its layout; only one with neither a
unit row nor a unit column stride (``x[::2, ::2]``, reversed rows), or of
another dtype than the result, is copied first.  Vectors pass their stride
as BLAS's increment, negative ones included (BLAS then walks from the far end).

The coefficient forms keep their Op's exact meaning, ``b * z + a * dot(x, y)``:
the product is computed with alpha 1 and beta 0, then one pass applies ``a``
and ``b * z`` (``z`` broadcast).  BLAS's shortcuts for alpha or beta 0 would
drop the NaN that ``0 * inf`` gives in NumPy, and ``z`` is read once either way.
Ger is that one pass alone: ``A + a * (x * y)`` is one read of ``A``, where
copying ``A`` and calling ``ger`` would be two.

Integer products are loops in IR, wrapping around as NumPy's do (bool
products are NumPy's ``any(a and b)``).  The BLAS is NumPy's own ILP64
OpenBLAS where it can be found (``blas_library.py``: one thread pool for
the process), whose integers are 64-bit; SciPy's counts with 32-bit
integers, and there a length past 2**31 - 1 is a run-time error.
"""

import contextlib

from llvmlite import ir

from symgraph.tensor.blas import AssertAligned, BatchedDot, Dot
from symgraph.tensor.blas_gemm import Gemm, Gemv, Ger

from .. import scalar_ir
from ..blas_library import blas_library
from ..codegen import (
    ERR_BROADCAST,
    ERR_SHAPE,
    I1,
    I8,
    I64,
    ITEMSIZE,
    PTR,
    ArrayValue,
    ir_type,
)
from . import register, register_inplace
from .loops import kernel_loop, load_value, store_value

BLAS_DTYPES = ("float32", "float64")
LOOP_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
# ERR_SHAPE details that start with this mark a length BLAS cannot count to.
TOO_LONG = -1


def _can_lower_product(node):
    dtypes = [str(v.type.dtype) for v in node.inputs + node.outputs]
    out = dtypes[-1]
    return "float16" not in dtypes and (out in BLAS_DTYPES or out in LOOP_DTYPES)


def _can_lower_update(node):
    return str(node.outputs[0].type.dtype) in BLAS_DTYPES


@register(Dot, _can_lower_product)
def lower_dot(ctx, node, ins):
    a, b = ins
    bld = ctx.builder
    dtype = str(node.outputs[0].type.dtype)
    ctx.check(bld.icmp_signed("==", a.shape[-1], b.shape[0]), ERR_SHAPE, ctx.node_id(node),
              *a.shape, *b.shape)
    out = ctx.alloc(node.outputs[0], a.shape[:-1] + b.shape[1:])
    if dtype in LOOP_DTYPES:
        _loop_product(ctx, _as_matrix(ctx, a, 0), _as_matrix(ctx, b, 1),
                      _as_matrix(ctx, out, 1 if a.ndim == 2 else 0))
        return [out]
    _check_fits(ctx, node, a.shape + b.shape)
    if a.ndim == 1 and b.ndim == 1:
        _vector_dot(ctx, a, b, out)
    elif a.ndim == 2 and b.ndim == 2:
        _matrix_product(ctx, a, b, out)
    elif a.ndim == 2:
        _matrix_vector(ctx, a, False, b, out)
    else:
        _matrix_vector(ctx, b, True, a, out)
    return [out]


@register(BatchedDot, _can_lower_product)
def lower_batched_dot(ctx, node, ins):
    a, b = ins
    bld = ctx.builder
    dtype = str(node.outputs[0].type.dtype)
    same = bld.and_(bld.icmp_signed("==", a.shape[0], b.shape[0]), bld.icmp_signed("==", a.shape[2], b.shape[1]))
    ctx.check(same, ERR_SHAPE, ctx.node_id(node), *a.shape, *b.shape)
    out = ctx.alloc(node.outputs[0], [a.shape[0], a.shape[1], b.shape[2]])
    if dtype in LOOP_DTYPES:
        _loop_product(ctx, a, b, out)
    else:
        _check_fits(ctx, node, a.shape[1:] + b.shape[2:])
        _matrix_product(ctx, a, b, out)
    return [out]


@register(Gemm, _can_lower_update)
def lower_gemm(ctx, node, ins):
    z, a, x, y, b = ins
    out = ctx.alloc(node.outputs[0], _gemm_checks(ctx, node, z, x, y))
    _matrix_product(ctx, x, y, out)
    _scale_and_add(ctx, out, None, a, _broadcast(ctx, node.inputs[0], z, out.shape), b)
    return [out]


@register(Gemv, _can_lower_update)
def lower_gemv(ctx, node, ins):
    z, a, A, x, b = ins
    out = ctx.alloc(node.outputs[0], _gemv_checks(ctx, node, z, A, x))
    _matrix_vector(ctx, A, False, x, out)
    _scale_and_add(ctx, out, None, a, _broadcast(ctx, node.inputs[0], z, out.shape), b)
    return [out]


@register_inplace(Gemm, lambda node: (0,))
def prepare_gemm(ctx, node, ins, inplace):
    """Gemm written over its added term ``z`` (inplace.py): the product goes to a workspace buffer
    now, as everything that may fail does; ``loop()`` then makes ``z = product * a + b * z``."""
    assert inplace == {0: 0}
    z, a, x, y, b = ins
    product = ctx.scratch(z.dtype, _gemm_checks(ctx, node, z, x, y), node)
    _matrix_product(ctx, x, y, product)
    return [z], lambda: _scale_and_add(ctx, z, product, a, None, b)


@register_inplace(Gemv, lambda node: (0,))
def prepare_gemv(ctx, node, ins, inplace):
    """Gemv written over its added term, as ``prepare_gemm``."""
    assert inplace == {0: 0}
    z, a, A, x, b = ins
    product = ctx.scratch(z.dtype, _gemv_checks(ctx, node, z, A, x), node)
    _matrix_vector(ctx, A, False, x, product)
    return [z], lambda: _scale_and_add(ctx, z, product, a, None, b)


def _gemm_checks(ctx, node, z, x, y):
    """Gemm's shape checks; the result's shape."""
    ctx.check(ctx.builder.icmp_signed("==", x.shape[1], y.shape[0]), ERR_SHAPE, ctx.node_id(node),
              *x.shape, *y.shape)
    shape = [x.shape[0], y.shape[1]]
    _check_added_term(ctx, node, z, shape)
    _check_fits(ctx, node, x.shape + y.shape)
    return shape


def _gemv_checks(ctx, node, z, A, x):
    """Gemv's shape checks; the result's shape."""
    ctx.check(ctx.builder.icmp_signed("==", A.shape[1], x.shape[0]), ERR_SHAPE, ctx.node_id(node),
              *A.shape, *x.shape)
    shape = [A.shape[0]]
    _check_added_term(ctx, node, z, shape)
    _check_fits(ctx, node, A.shape)
    return shape


@register(Ger, _can_lower_update)
def lower_ger(ctx, node, ins):
    A, a, x, y = ins
    shape = [x.shape[0], y.shape[0]]
    _check_added_term(ctx, node, A, shape)
    out = ctx.alloc(node.outputs[0], shape)
    _ger_loop(ctx, out, _broadcast(ctx, node.inputs[0], A, shape), a, x, y)
    return [out]


@register_inplace(Ger, lambda node: (0,))
def prepare_ger(ctx, node, ins, inplace):
    """Ger written over ``A`` (inplace.py): ``A`` is read through the output's pointer."""
    assert inplace == {0: 0}
    A, a, x, y = ins
    _check_added_term(ctx, node, A, [x.shape[0], y.shape[0]])
    return [A], lambda: _ger_loop(ctx, A, None, a, x, y)


def _ger_loop(ctx, out, added, a, x, y):
    """``out = added + a * (x * y)``, ``added`` None: ``out`` itself."""
    shape = out.shape
    alpha = load_value(ctx, a, a.data)
    col = x.view(shape=shape, strides=[x.strides[0], ctx.i64(0)])
    row = y.view(shape=shape, strides=[ctx.i64(0), y.strides[0]])
    operands = [out, col, row] + ([added] if added is not None else [])

    def body(ptrs, extras):
        bld = ctx.builder
        product = bld.fmul(bld.fmul(load_value(ctx, col, ptrs[1]), load_value(ctx, row, ptrs[2])), extras[0])
        base = load_value(ctx, out, ptrs[0]) if added is None else load_value(ctx, added, ptrs[3])
        store_value(ctx, out, ptrs[0], bld.fadd(product, base))

    kernel_loop(ctx, ("ger", added is None), shape, operands, body, extras=[alpha], written=(0,))


@register(AssertAligned)
def lower_assert_aligned(ctx, node, ins):
    a, b = ins
    bld = ctx.builder
    # The record holds both shapes when they fit in it (the first unequal pair is the culprit),
    # else the pair's index and lengths.
    whole = a.ndim + b.ndim <= 6
    for k, (i, j) in enumerate(node.op.pairs):
        details = [*a.shape, *b.shape] if whole else [ctx.i64(k), a.shape[i], b.shape[j]]
        ctx.check(bld.icmp_signed("==", a.shape[i], b.shape[j]), ERR_SHAPE, ctx.node_id(node), *details)
    return [a]


def _assert_aligned_error(node, details):
    na, nb = (v.ndim for v in node.inputs)
    if na + nb <= 6:
        first, second = tuple(details[:na]), tuple(details[na:na + nb])
        i, j = next((i, j) for i, j in node.op.pairs if first[i] != second[j])
        got, want, shapes = first[i], second[j], f"shapes {first} and {second}"
    else:
        (i, j), got, want = node.op.pairs[details[0]], details[1], details[2]
        shapes = f"operands of {na} and {nb} axes"
    hint = " (only axes declared broadcastable, of static length 1, broadcast)" if 1 in (got, want) else ""
    return (f"{node.op.name}: {shapes} are not aligned: axis {i} of the first has length {got} but axis {j} "
            f"of the second has length {want}{hint}")


lower_assert_aligned.shape_error = _assert_aligned_error


def shape_error(node, details):
    """The message for an ERR_SHAPE raised by these lowerings (``details``: the error record's values)."""
    if details[0] == TOO_LONG:
        return f"{node.op}: a length of {details[1]} is past what BLAS counts ({blas_library().int_max})"
    ranks = [v.ndim for v in node.inputs if v.ndim]
    if isinstance(node.op, (Gemm, Gemv)):
        ranks = ranks[1:]
    first, second = tuple(details[:ranks[0]]), tuple(details[ranks[0]:ranks[0] + ranks[1]])
    if isinstance(node.op, BatchedDot):
        return (f"batched_dot: shapes {first} and {second} do not match: need equal batch lengths "
                f"(axis 0) and a.shape[2] == b.shape[1]")
    if isinstance(node.op, Dot):
        return (f"{node.op.name}: shapes {first} and {second} are not aligned: {first[-1]} "
                f"(axis {len(first) - 1} of the first) != {second[0]} (axis 0 of the second)")
    return f"{node.op}: shapes {first} and {second} are not aligned: {first[-1]} != {second[0]}"


for _lower in (lower_dot, lower_batched_dot, lower_gemm, lower_gemv):
    _lower.shape_error = shape_error


# ---- products through BLAS ------------------------------------------------------------------

def _matrix_product(ctx, a, b, out):
    """``out[...] = a[...] @ b[...]`` for (m, k) x (k, n), or batches of them along axis 0."""
    bld = ctx.builder
    dtype = out.dtype
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    with ctx.if_then(_all_positive(ctx, [m, n] + a.shape[:-2]), "gemm"):
        # gemm with beta 0 never reads C (it zeroes it itself), so only k == 0 needs zeros.
        with ctx.if_then(bld.icmp_signed("==", k, ctx.i64(0)), "gemm.k0"):
            _zero(ctx, out)
        with ctx.if_then(bld.icmp_signed(">", k, ctx.i64(0)), "gemm.k"):
            # Column-major: out^T (n x m) = b^T (n x k) . a^T (k x m).
            bd, b_row, ldb, b_step = _matrix_operand(ctx, b, dtype)
            ad, a_row, lda, a_step = _matrix_operand(ctx, a, dtype)
            one, zero = ir.Constant(ir_type(dtype), 1.0), ir.Constant(ir_type(dtype), 0.0)
            ldc = _max(ctx, n, ctx.i64(1))

            def call(bp, ap, cp):
                _blas(ctx, "gemm", dtype, [_flag(ctx, b_row), _flag(ctx, a_row), _int(ctx, n), _int(ctx, m),
                                           _int(ctx, k), one, bp, _int(ctx, ldb), ap, _int(ctx, lda), zero, cp,
                                           _int(ctx, ldc)])

            if out.ndim == 2:
                call(bd, ad, out.data)
            else:
                with ctx.loop(out.shape[0], "batch", hot=False) as i:
                    call(ctx.gep(bd, bld.mul(i, b_step)), ctx.gep(ad, bld.mul(i, a_step)),
                         ctx.gep(out.data, bld.mul(i, out.strides[0])))


def _matrix_vector(ctx, mat, transposed, vec, out):
    """``out = mat @ vec`` (or ``mat.T @ vec`` when ``transposed``) through gemv."""
    bld = ctx.builder
    dtype = out.dtype
    r, c = mat.shape
    length, inner = (c, r) if transposed else (r, c)
    with ctx.if_then(bld.icmp_signed(">", length, ctx.i64(0)), "gemv"):
        # An OpenBLAS release scaled y by a zero beta as y * 0, which keeps garbage NaN: zero it first.
        _zero(ctx, out)
        with ctx.if_then(bld.icmp_signed(">", inner, ctx.i64(0)), "gemv.k"):
            data, is_row, ld, _ = _matrix_operand(ctx, mat, dtype)
            vp, inc = _vector_operand(ctx, vec, dtype)
            # A row-major matrix is seen as its transpose: (rows, columns) swap and so does 'T'.
            trans = bld.xor(is_row, ir.Constant(I1, int(transposed)))
            rows, cols = bld.select(is_row, c, r), bld.select(is_row, r, c)
            one, zero = ir.Constant(ir_type(dtype), 1.0), ir.Constant(ir_type(dtype), 0.0)
            _blas(ctx, "gemv", dtype, [_flag(ctx, trans, "T", "N"), _int(ctx, rows), _int(ctx, cols), one, data,
                                       _int(ctx, ld), vp, _int(ctx, inc), zero, out.data,
                                       _int(ctx, ctx.i64(1))])


def _vector_dot(ctx, x, y, out):
    dtype = out.dtype
    xp, incx = _vector_operand(ctx, x, dtype)
    yp, incy = _vector_operand(ctx, y, dtype)
    value = _blas(ctx, "dot", dtype, [_int(ctx, x.shape[0]), xp, _int(ctx, incx), yp, _int(ctx, incy)])
    store_value(ctx, out, out.data, value)


def _matrix_operand(ctx, arr, dtype):
    """``arr`` (..., r, c) for BLAS: (data, is_row, leading dimension, byte step between matrices
    when ``arr`` is a stack of them).

    ``is_row`` (i1): rows are contiguous, so column-major BLAS sees ``arr^T``
    with the row stride as leading dimension (flag 'N' gives ``arr^T``);
    otherwise columns are, BLAS sees ``arr`` and flag 'T' gives ``arr^T``.
    Strides of length-1 axes never matter; anything else is copied.
    """
    bld = ctx.builder
    r, c = arr.shape[-2:]
    if arr.dtype != dtype:
        copy = _copy(ctx, arr, dtype)
        return copy.data, ir.Constant(I1, 1), _max(ctx, c, ctx.i64(1)), copy.strides[0]
    item = ctx.i64(ITEMSIZE[dtype])
    e0, e1 = (bld.sdiv(s, item) for s in arr.strides[-2:])
    one, limit = ctx.i64(1), ctx.i64(blas_library().int_max)
    r1, c1 = _max(ctx, r, one), _max(ctx, c, one)
    r_short, c_short = bld.icmp_signed("<=", r, one), bld.icmp_signed("<=", c, one)

    def usable(unit, short_other, ld, need):
        ok = bld.or_(bld.icmp_signed("==", unit, one), short_other)
        return bld.and_(ok, bld.and_(bld.icmp_signed(">=", ld, need), bld.icmp_signed("<=", ld, limit)))

    ld_row = bld.select(r_short, c1, e0)
    ld_col = bld.select(c_short, r1, e1)
    row_ok = usable(e1, c_short, ld_row, c1)
    col_ok = usable(e0, r_short, ld_col, r1)
    ld = bld.select(row_ok, ld_row, ld_col)
    with _unless(ctx, bld.or_(row_ok, col_ok), "layout") as merge:
        copy = _copy(ctx, arr, dtype)
        merge.append([copy.data, ir.Constant(I1, 1), c1, copy.strides[0]])
    return merge.result([arr.data, row_ok, ld, arr.strides[0]])


def _vector_operand(ctx, arr, dtype):
    """(pointer, increment) for BLAS: a negative increment starts at the lowest address."""
    bld = ctx.builder
    if arr.dtype != dtype:
        return _copy(ctx, arr, dtype).data, ctx.i64(1)
    n = arr.shape[0]
    e = bld.sdiv(arr.strides[0], ctx.i64(ITEMSIZE[dtype]))
    short = bld.icmp_signed("<=", n, ctx.i64(1))
    inc = bld.select(short, ctx.i64(1), e)
    # A zero increment (a broadcast vector) is refused by some BLAS; so are huge ones.
    fits = bld.and_(bld.icmp_signed("!=", inc, ctx.i64(0)),
                    bld.and_(bld.icmp_signed("<=", inc, ctx.i64(blas_library().int_max)),
                             bld.icmp_signed(">=", inc, ctx.i64(-blas_library().int_max))))
    last = bld.mul(bld.sub(n, ctx.i64(1)), arr.strides[0])
    start = bld.select(bld.icmp_signed("<", inc, ctx.i64(0)), ctx.gep(arr.data, last), arr.data)
    with _unless(ctx, fits, "vector") as merge:
        copy = _copy(ctx, arr, dtype)
        merge.append([copy.data, ctx.i64(1)])
    return merge.result([start, inc])


def _blas(ctx, routine, dtype, args):
    """Call ``?routine`` for ``dtype``: pointers pass as they are, other values through stack slots."""
    name = "symgraph_blas_" + {"float32": "s", "float64": "d"}[dtype] + routine
    ret = ir_type(dtype) if routine == "dot" else ir.VoidType()
    fn = ctx.declare(name, ret, [PTR] * len(args))
    return ctx.builder.call(fn, [_by_ref(ctx, v) for v in args])


def _by_ref(ctx, value):
    if isinstance(value.type, ir.PointerType):
        return value
    bld = ctx.builder
    # In the entry block, so a call inside a loop does not grow the stack.
    with bld.goto_entry_block():
        slot = bld.alloca(value.type)
    bld.store(value, slot)
    return slot


def _flag(ctx, cond, yes="N", no="T"):
    return ctx.builder.select(cond, ir.Constant(I8, ord(yes)), ir.Constant(I8, ord(no)))


def _int(ctx, v):
    """An i64 length as the BLAS's integer."""
    bits = blas_library().int_bits
    return v if bits == 64 else ctx.builder.trunc(v, ir.IntType(bits))


def _check_fits(ctx, node, lengths):
    if blas_library().int_bits == 64:
        return  # no length in memory can reach 2**63
    bld = ctx.builder
    longest = ctx.i64(0)
    for n in lengths:
        longest = _max(ctx, longest, n)
    ctx.check(bld.icmp_signed("<=", longest, ctx.i64(blas_library().int_max)), ERR_SHAPE, ctx.node_id(node),
              ctx.i64(TOO_LONG), longest)


# ---- coefficients and the added term ---------------------------------------------------------

def _check_added_term(ctx, node, arr, shape):
    """``arr`` (the added term, input 0) must have ``shape`` except on its static length-1 axes."""
    bld = ctx.builder
    static = node.inputs[0].type.shape
    for d, want in enumerate(shape):
        if static[d] != 1:
            ctx.check(bld.icmp_signed("==", arr.shape[d], want), ERR_BROADCAST, ctx.node_id(node),
                      ctx.i64(0), ctx.i64(d), arr.shape[d], want)


def _broadcast(ctx, var, arr, shape):
    strides = [ctx.i64(0) if var.type.shape[d] == 1 else arr.strides[d] for d in range(len(shape))]
    return arr.view(shape=shape, strides=strides)


def _scale_and_add(ctx, out, product, a, added, b):
    """``out = product * a + b * added`` in that order, as the Op's ``perform`` rounds it.

    ``product`` None: ``out`` holds it; ``added`` None: ``out`` itself (an update in place),
    read through ``out``'s pointer so every operand stays noalias."""
    alpha, beta = load_value(ctx, a, a.data), load_value(ctx, b, b.data)
    others = [v for v in (product, added) if v is not None]

    def body(ptrs, extras):
        alpha, beta = extras
        bld = ctx.builder
        rest = iter(ptrs[1:])
        p = load_value(ctx, out, ptrs[0]) if product is None else load_value(ctx, product, next(rest))
        z = load_value(ctx, out, ptrs[0]) if added is None else load_value(ctx, added, next(rest))
        store_value(ctx, out, ptrs[0], bld.fadd(bld.fmul(p, alpha), bld.fmul(beta, z)))

    kernel_loop(ctx, ("scale_and_add", product is None, added is None), out.shape, [out, *others], body,
                extras=[alpha, beta], written=(0,))


# ---- integer products as loops ---------------------------------------------------------------

def _as_matrix(ctx, arr, axis):
    """A vector (or 0-d result) as a matrix: a length-1 axis inserted at ``axis``."""
    if arr.ndim == 2:
        return arr
    shape, strides = list(arr.shape), list(arr.strides)
    for _ in range(2 - arr.ndim):
        shape.insert(axis, ctx.i64(1))
        strides.insert(axis, ctx.i64(0))
    return arr.view(shape=shape, strides=strides)


def _loop_product(ctx, a, b, out):
    """``out = a @ b`` for (m, k) x (k, n) or batches of them: NumPy's wrapping integer sums."""
    _zero(ctx, out)
    if out.ndim == 2:
        _loop_matrix(ctx, a, b, out, [ctx.i64(0)] * 3)
        return
    with ctx.loop(out.shape[0], "batch") as t:
        _loop_matrix(ctx, a, b, out, [ctx.builder.mul(t, x.strides[0]) for x in (a, b, out)])


def _loop_matrix(ctx, a, b, out, base):
    bld = ctx.builder
    dtype = out.dtype
    (sa0, sa1), (sb0, sb1), (so0, so1) = a.strides[-2:], b.strides[-2:], out.strides[-2:]
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    with ctx.loop(m, "i") as i, ctx.loop(k, "p") as p:
        av = _element(ctx, a, bld.add(base[0], bld.add(bld.mul(i, sa0), bld.mul(p, sa1))), dtype)
        row_b = bld.add(base[1], bld.mul(p, sb0))
        row_o = bld.add(base[2], bld.mul(i, so0))
        with ctx.loop(n, "j") as j:
            bv = _element(ctx, b, bld.add(row_b, bld.mul(j, sb1)), dtype)
            ptr = ctx.gep(out.data, bld.add(row_o, bld.mul(j, so1)))
            acc = bld.load(ptr, typ=ir_type(dtype))
            if dtype == "bool":  # NumPy: any(a and b)
                bld.store(bld.or_(acc, bld.zext(bld.and_(av, bv), I8)), ptr)
            else:
                bld.store(bld.add(acc, bld.mul(av, bv)), ptr)


def _element(ctx, arr, offset, dtype):
    return scalar_ir.cast(ctx.builder, load_value(ctx, arr, ctx.gep(arr.data, offset)), arr.dtype, dtype)


# ---- small helpers ---------------------------------------------------------------------------

def _copy(ctx, arr, dtype):
    """A fresh C-contiguous array of ``dtype`` holding ``arr``'s values (NumPy casts before a product)."""
    _, _, out = ctx.new_array(dtype, arr.shape)
    lead = [ctx.i64(1)] * (3 - arr.ndim)
    shape, strides = lead + list(arr.shape), [ctx.i64(0)] * (3 - arr.ndim) + list(arr.strides)
    ctx.builder.call(_copy_function(ctx, arr.dtype, dtype), [out.data, arr.data, *shape, *strides])
    return out


def _copy_function(ctx, src, dst):
    """``copy(dst, src, n0, n1, n2, s0, s1, s2)``, defined once per module and never inlined:
    copies are the rare path, and one loop nest per operand would multiply the code to compile."""
    name = f"symgraph_blas_copy_{src}_{dst}"
    fn = ctx.module.globals.get(name)
    if fn is not None:
        return fn
    fn = ir.Function(ctx.module, ir.FunctionType(ir.VoidType(), [PTR, PTR] + [I64] * 6), name=name)
    fn.linkage = "internal"
    fn.attributes.add("noinline")
    # The rare path: compact scalar loops (no vectorised, runtime-checked versions) compile in a
    # fraction of the time, in every module that has a product.
    fn.attributes.add("minsize")
    fn.attributes.add("optsize")
    out, data, *rest = fn.args
    shape, strides = rest[:3], rest[3:]
    saved, ctx.builder = ctx.builder, ir.IRBuilder(fn.append_basic_block("entry"))
    try:
        bld = ctx.builder
        arr = ArrayValue(src, data, shape, strides)
        with ctx.loop(shape[0], "c0") as i, ctx.loop(shape[1], "c1") as j:
            row = bld.add(bld.mul(i, strides[0]), bld.mul(j, strides[1]))
            with ctx.loop(shape[2], "c2") as k:
                index = bld.add(bld.mul(bld.add(bld.mul(i, shape[1]), j), shape[2]), k)
                value = load_value(ctx, arr, ctx.gep(data, bld.add(row, bld.mul(k, strides[2]))))
                ptr = bld.gep(out, [index], source_etype=ir_type(dst))
                store_value(ctx, ArrayValue(dst, out, [], []), ptr, scalar_ir.cast(bld, value, src, dst))
        bld.ret_void()
    finally:
        ctx.builder = saved
    return fn


def _zero(ctx, arr):
    """Zero a freshly allocated (C-contiguous) array."""
    bld = ctx.builder
    memset = ctx.module.declare_intrinsic("llvm.memset", [PTR, I64])
    size = bld.mul(ctx.size(arr.shape), ctx.i64(ITEMSIZE[arr.dtype]))
    bld.call(memset, [arr.data, ir.Constant(I8, 0), size, ir.Constant(I1, 0)])


def _max(ctx, x, y):
    return ctx.builder.select(ctx.builder.icmp_signed(">", x, y), x, y)


def _all_positive(ctx, lengths):
    bld = ctx.builder
    ok = ir.Constant(I1, 1)
    for n in lengths:
        ok = bld.and_(ok, bld.icmp_signed(">", n, ctx.i64(0)))
    return ok


class _Merge:
    """Values that differ between the usual path and the fix-up path of ``_unless``."""

    def __init__(self, builder):
        self.builder = builder
        self.usual_block = builder.block
        self.fixed, self.fixed_block = None, None

    def append(self, values):
        self.fixed = values

    def result(self, usual):
        out = []
        for u, f in zip(usual, self.fixed):
            phi = self.builder.phi(u.type)
            phi.add_incoming(u, self.usual_block)
            phi.add_incoming(f, self.fixed_block)
            out.append(phi)
        return out


@contextlib.contextmanager
def _unless(ctx, ok, name):
    """Run the body only when ``ok`` is false; after it, ``merge.result(usual)`` picks per path."""
    bld = ctx.builder
    merge = _Merge(bld)
    fix = bld.append_basic_block(f"{name}.fix")
    done = bld.append_basic_block(f"{name}.ok")
    bld.cbranch(ok, done, fix)
    bld.position_at_end(fix)
    yield merge
    merge.fixed_block = bld.block
    bld.branch(done)
    bld.position_at_end(done)


__all__ = ["lower_assert_aligned", "lower_batched_dot", "lower_dot", "lower_gemm", "lower_gemv", "lower_ger",
           "shape_error"]
