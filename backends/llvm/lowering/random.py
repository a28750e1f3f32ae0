"""RandomDraw natively: Philox4x32-10 blocks, their uniforms and normals, bit for bit as ``perform``.

A draw of ``n`` values consumes ``ceil(n / per_block)`` Philox blocks (four
32-bit words: four float32 values or two float64 ones, uniform or normal), and
block ``i`` is a pure function of ``(key, counter + i)``.  So the full blocks
are one loop with independent iterations (vectorised, and split across
threads when large, each chunk starting at its own counter), and a last
partial block stores only the values the draw has.

Bit-exactness with ``perform``: Philox is integer arithmetic; a uniform is an
integer of at most 53 bits times a power of two (exact in both); the normal
transform is ``symgraph.tensor.random.boxmuller``, the same sequence of
correctly rounded float64 operations here as in NumPy (no fast-math flags,
so LLVM neither reassociates nor contracts them into fma).
"""

from llvmlite import ir

from symgraph.tensor.random.boxmuller import box_muller
from symgraph.tensor.random.ops import RandomDraw, draw_error

from .. import scalar_ir
from ..codegen import ERR_SHAPE, F32, F64, I32, I64, ITEMSIZE
from ..threads import parallel_kernel
from ..vecmath import Emitter
from . import register

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
ROUNDS = 10
# Rough operations per block (threads.py: how much work a thread needs to pay).
BLOCK_COST = {"uniform": 80, "normal": 300}
SIZE_DETAILS = 5  # size entries an error record has room for (after its kind)


@register(RandomDraw)
def lower_random_draw(ctx, node, ins):
    state, size = ins
    b = ctx.builder
    i64 = ctx.i64
    nid = ctx.node_id(node)
    op = node.op
    ndim = node.outputs[1].ndim
    entries = []
    for k in range(ndim):
        raw = ctx.load(size, b.mul(i64(k), size.strides[0]))
        entries.append(scalar_ir.cast(b, raw, size.dtype, "int64"))
    ctx.check(b.icmp_signed("==", state.shape[0], i64(2)), ERR_SHAPE, nid, i64(0), state.shape[0])
    for k, e in enumerate(entries):
        details = entries if ndim <= SIZE_DETAILS else [i64(k), e]
        ctx.check(b.icmp_signed(">=", e, i64(0)), ERR_SHAPE, nid, i64(1 if ndim <= SIZE_DETAILS else 2),
                  *details)
    key = ctx.load(state, i64(0))
    counter = ctx.load(state, state.strides[0])

    per = 4 if op.dtype == "float32" else 2
    n = ctx.size(entries)
    full = b.udiv(n, i64(per))
    rem = b.sub(n, b.mul(full, i64(per)))
    blocks = b.add(full, b.zext(b.icmp_unsigned("!=", rem, i64(0)), I64))

    new_state = ctx.alloc(node.outputs[0], [i64(2)])
    ctx.store(new_state, i64(0), key)
    ctx.store(new_state, new_state.strides[0], b.add(counter, blocks))  # wraps mod 2**64, as perform
    out = ctx.alloc(node.outputs[1], entries)

    def emit_blocks(kctx, args):
        rows, data, _stride, key_, ctr = args
        with kctx.loop(rows, "block") as i:
            values = _block_values(kctx.builder, op, key_, kctx.builder.add(ctr, i))
            base = kctx.builder.mul(i, i64(per))
            for j, v in enumerate(values):
                kctx.builder.store(v, _element(kctx, data, op.dtype, kctx.builder.add(base, i64(j))))

    params = [full, out.data, i64(per * ITEMSIZE[op.dtype]), key, counter]
    # Chunks move the output by whole blocks and start their counter at their first block.
    parallel_kernel(ctx, ("random_draw", op.dist, op.dtype), params, emit_blocks, noalias=[1], rows=0,
                    chunked=[(1, 2)], work=(0,), cost=BLOCK_COST[op.dist], shifted=[(4, -1)])

    def emit_tail(kctx, args):
        data, count, key_, ctr = args
        values = _block_values(kctx.builder, op, key_, ctr)
        for j, v in enumerate(values[1:], start=1):
            with kctx.if_then(kctx.builder.icmp_signed(">", count, i64(j)), "tail"):
                kctx.builder.store(v, _element(kctx, data, op.dtype, i64(j)))
        kctx.builder.store(values[0], data)

    with ctx.if_then(b.icmp_unsigned("!=", rem, i64(0)), "partial"):
        tail_data = _element(ctx, out.data, op.dtype, b.mul(full, i64(per)))
        ctx.kernel(("random_tail", op.dist, op.dtype), [tail_data, rem, key, b.add(counter, full)], emit_tail,
                   noalias=[0])
    return [new_state, out]


def _random_draw_error(node, details):
    kind = details[0]
    if kind == 0:
        return draw_error(node.op, details[1], ())
    if kind == 1:
        return draw_error(node.op, 2, tuple(details[1:1 + node.outputs[1].ndim]))
    return f"{node.op}: the size must not be negative, got {details[2]} at position {details[1]}"


lower_random_draw.shape_error = _random_draw_error


def _element(ctx, data, dtype, index):
    return ctx.builder.gep(data, [index], source_etype=F32 if dtype == "float32" else F64)


def philox4x32(b, key, counter):
    """The four words of block ``counter`` (i64) under ``key`` (i64): Philox4x32-10, as philox.py."""
    c = [b.trunc(counter, I32), b.trunc(b.lshr(counter, ir.Constant(I64, 32)), I32),
         ir.Constant(I32, 0), ir.Constant(I32, 0)]
    k0 = b.trunc(key, I32)
    k1 = b.trunc(b.lshr(key, ir.Constant(I64, 32)), I32)
    for r in range(ROUNDS):
        hi0, lo0 = _mulhilo(b, c[0], M0)
        hi1, lo1 = _mulhilo(b, c[2], M1)
        c = [b.xor(b.xor(hi1, c[1]), k0), lo1, b.xor(b.xor(hi0, c[3]), k1), lo0]
        if r + 1 < ROUNDS:
            k0 = b.add(k0, ir.Constant(I32, W0))
            k1 = b.add(k1, ir.Constant(I32, W1))
    return c


def _mulhilo(b, x, m):
    """High and low words of the 64-bit product of two 32-bit words."""
    p = b.mul(b.zext(x, I64), ir.Constant(I64, m))
    return b.trunc(b.lshr(p, ir.Constant(I64, 32)), I32), b.trunc(p, I32)


def _uniforms(b, words, dtype):
    """philox.uniform01's conversion: float32 from a word's top 24 bits, float64 from 27 + 26 bits of two."""
    if dtype == "float32":
        return [b.fmul(b.uitofp(b.lshr(w, ir.Constant(I32, 8)), F32), ir.Constant(F32, 2.0 ** -24))
                for w in words]
    out = []
    for hi, lo in (words[0:2], words[2:4]):
        hi = b.zext(b.lshr(hi, ir.Constant(I32, 5)), I64)
        lo = b.zext(b.lshr(lo, ir.Constant(I32, 6)), I64)
        bits53 = b.or_(b.shl(hi, ir.Constant(I64, 26)), lo)
        out.append(b.fmul(b.uitofp(bits53, F64), ir.Constant(F64, 2.0 ** -53)))
    return out


def _block_values(b, op, key, counter):
    """The values block ``counter`` contributes to a draw of ``op``, in order."""
    u = _uniforms(b, philox4x32(b, key, counter), op.dtype)
    if op.dist == "uniform":
        return u
    arith = IRArith(b)
    out = []
    for u1, u2 in zip(u[0::2], u[1::2]):
        if op.dtype == "float32":
            u1, u2 = b.fpext(u1, F64), b.fpext(u2, F64)
        for z in box_muller(arith, u1, u2):
            out.append(b.fptrunc(z, F32) if op.dtype == "float32" else z)
    return out


class IRArith(Emitter):
    """boxmuller's arithmetic as float64 IR: the vector math's plain instructions (no fast-math
    flags), plus the few operations boxmuller names differently."""

    def sqrt(self, x):
        return self._call("llvm.sqrt", x)

    def lt(self, x, y):
        return self.cmp("<", x, y)

    def eq(self, x, y):
        return self.cmp("==", x, y)

    def split_exponent(self, x):
        """``(m, k)`` with ``x = m 2**k``, m in [1/2, 1), k as float64 (as np.frexp, for normal x)."""
        b = self.b
        bits = b.bitcast(x, I64)
        biased = b.and_(b.lshr(bits, ir.Constant(I64, 52)), ir.Constant(I64, 0x7FF))
        k = b.sitofp(b.sub(biased, ir.Constant(I64, 1022)), F64)
        m_bits = b.or_(b.and_(bits, ir.Constant(I64, 0x800FFFFFFFFFFFFF)), ir.Constant(I64, 0x3FE0000000000000))
        return b.bitcast(m_bits, F64), k
