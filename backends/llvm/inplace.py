"""Shared-variable updates written over the shared value's own memory.

A training step's updates (``W - lr * g``, a momentum, Adam's moments) are
elementwise nodes that read the value they replace.  Given the function's
``updates`` ((output, input) pairs: this output is the next value of that
input), such a node writes its result over the input instead of into a new
array: no allocation, no page faults, one pass over the parameter.

A failed call must leave every shared value as it was, so the writes come
last.  The planner moves the candidate nodes to the end of the segment (no
other node reads their results, so any order of them is topological); the
segment then lowers everything else, gathers the other outputs (copies
included, which may fail), runs every check the in-place nodes make
(broadcast checks, allocations, the targets' own checks below), and only
then emits their loops, which cannot fail.

What is written over must be read by nothing else afterwards: a candidate
is kept only if none of its inputs may lie in another candidate's target
(``SegmentContext.roots``: the segment inputs a value may be a view of), and
the memory reached through its own target is that target exactly.  At run
time a target must be writeable and overlap no other input of the segment
(a borrowed value passed twice, say); otherwise the entry fails with
ERR_INPLACE naming it before anything is written, and the linker retries
with a copy of that value, which then becomes the shared value.
"""

from llvmlite import ir

from .codegen import ERR_INPLACE, I1, I32, ITEMSIZE, OFF_FLAGS
from .lowering import find_inplace

NPY_WRITEABLE = 0x400


def order(nodes, outputs, updates):
    """``(nodes, tail)``: ``nodes`` with the candidate nodes moved last (``tail``, in their order).

    A candidate computes an update from the very value it replaces, one of its inputs
    its lowering can write over (``lowering.INPLACE``), and no other node of the segment
    reads its results.
    """
    read = {i for n in nodes for i in n.inputs}
    tail = [n for n in nodes if not any(o in read for o in n.outputs) and mapping(n, updates, outputs)]
    members = set(tail)
    return [n for n in nodes if n not in members] + tail, tail


def mapping(node, updates, outputs=None):
    """``{output position: input position}`` of ``node``'s results that may be written in place."""
    prepare = find_inplace(node)
    if prepare is None:
        return {}
    allowed = set(prepare.targets(node))
    found = {}
    for out, target in updates:
        if out.owner is node and (outputs is None or out in outputs) and out.type == target.type:
            for i in allowed:
                if node.inputs[i] is target:
                    found[node.outputs.index(out)] = i
                    break
    return found


def keep(ctx, tail, updates):
    """The tail nodes that may write in place, given what the lowered prefix's values may view."""
    owns = {node: {node.inputs[i] for i in mapping(node, updates).values()} for node in tail}
    targets = set().union(*owns.values())
    return [node for node in tail if all(v in owns[node] or not (ctx.roots_of(v) & targets) for v in node.inputs)]


def check_target(ctx, k, target, obj, others):
    """Fail with ERR_INPLACE (naming input ``k``) unless ``target`` is writeable and overlaps none of ``others``."""
    b = ctx.builder
    flags = ctx.load_field(obj, OFF_FLAGS, I32)
    ok = b.icmp_unsigned("!=", b.and_(flags, ir.Constant(I32, NPY_WRITEABLE)), ir.Constant(I32, 0))
    lo, hi = _extent(ctx, target)
    for arr in others:
        olo, ohi = _extent(ctx, arr)
        overlap = b.and_(b.icmp_unsigned("<", lo, ohi), b.icmp_unsigned("<", olo, hi))
        ok = b.and_(ok, b.not_(overlap))
    ctx.check(ok, ERR_INPLACE, k)


def _extent(ctx, arr):
    """``[lo, hi)``: the bytes ``arr`` may touch (empty, at its data pointer, when some length is 0)."""
    b = ctx.builder
    zero = ctx.i64(0)
    base = b.ptrtoint(arr.data, zero.type)
    lo, hi = base, b.add(base, ctx.i64(ITEMSIZE[arr.dtype]))
    empty = ir.Constant(I1, 0)
    for n, s in zip(arr.shape, arr.strides):
        span = b.mul(b.sub(n, ctx.i64(1)), s)
        negative = b.icmp_signed("<", span, zero)
        lo = b.add(lo, b.select(negative, span, zero))
        hi = b.add(hi, b.select(negative, zero, span))
        empty = b.or_(empty, b.icmp_signed("<=", n, zero))
    return b.select(empty, base, lo), b.select(empty, base, hi)
