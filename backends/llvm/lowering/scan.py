"""Scan as a native loop: the body's nodes emitted once, inside a loop over the steps in IR.

The body is the Scan's inner graph rewritten for this backend
(``Scan.inner_graph('llvm')``); a Scan is lowered when every body node is
(a nested Scan included).  Per step:

- a sequence's slice is a view, its data pointer moved by ``t`` times its stride;
- a carried value is read from a contiguous buffer: row ``t - 1`` of its history
  (the output itself) when the history is kept, else one of two buffers used in
  turn (the step reads one while the new value goes into the other, so carried
  values that swap or pass each other down stay right); step 0 reads a
  contiguous copy of the initial value;
- the new carried values and per-step outputs are copied into those buffers and
  into preallocated outputs: nothing is allocated per step.  A loop with an
  ``until`` condition leaves after the step where it holds; its outputs, made
  for ``n_steps`` rows, are then given the length of the steps run.  Per-step outputs
  get their shape from step 0, so they are allocated then; a loop of zero steps
  runs the body once on zero slices (as ``perform`` does) only to learn it.
  One difference: an error in that probe step is raised, where ``perform``
  gives up and returns outputs of shape (0, 0, ...).

The loop is a function of its own (``SegmentContext.outline``): LLVM
optimises it apart from the entry point, whose other code may stay
unoptimised glue, which keeps cold compiles short.  Body intermediates live
in workspace slots reserved for the whole loop, so a step's GEMMs go to BLAS
into memory kept from call to call.  Errors in the body name the body's node
(its line in the step function); ``n_steps < 0``, a short sequence or a step
changing a shape name the Scan, as ``perform`` does.
"""

import contextlib
import copy

from llvmlite import ir

from symgraph.graph.basic import Constant
from symgraph.scan.op import Scan

from ..codegen import ERR_SHAPE, I64, ITEMSIZE, OFF_DIMS, PTR, ArrayValue, is_float
from . import find, register
from .loops import copy_loop, load_value

BACKEND = "llvm"
# The first detail of an ERR_SHAPE record from this lowering says which check failed.
NEGATIVE_STEPS, SHORT_SEQUENCE, CARRY_SHAPE, OUTPUT_SHAPE = range(4)


def _can_lower(node):
    return all(find(n) is not None for n in node.op.inner_graph(BACKEND).toposort())


def inner_nodes(node):
    """The body's nodes, in the order they are emitted (segment.py gives them error ids)."""
    return node.op.inner_graph(BACKEND).toposort()


def inner_graph(node):
    """The body as emitted (segment_key.py keys it)."""
    return node.op.inner_graph(BACKEND)


@register(Scan, _can_lower)
def lower_scan(ctx, node, ins):
    op = node.op
    fgraph = op.inner_graph(BACKEND)
    b = ctx.builder
    nid = ctx.node_id(node)
    n_arr, seqs, inits, params = op.split_inputs(ins)
    n = b.load(n_arr.data, typ=I64)
    ctx.check(b.icmp_signed(">=", n, ctx.i64(0)), ERR_SHAPE, nid, ctx.i64(NEGATIVE_STEPS), n)
    for k, s in enumerate(seqs):
        ctx.check(b.icmp_signed(">=", s.shape[0], n), ERR_SHAPE, nid, ctx.i64(SHORT_SEQUENCE), ctx.i64(k),
                  s.shape[0], n)
    C = op.n_carry
    carry_outs = node.outputs[:C]
    y_outs = node.outputs[C:]
    carries = [_Carry(ctx, node, init, keep, var, n) for init, keep, var in zip(inits, op.keep_history, carry_outs)]
    ys = [_StepOutput(ctx, var, body_var) for var, body_var in zip(y_outs, op.body.y_outs)]

    zero_slices = []
    if ys:
        # Zero steps with per-step outputs: one probe step (on zero slices, writing nothing) gives their shape.
        zero_slices = [ctx.scratch(s.dtype, s.shape[1:], node) for s in seqs]
        with ctx.if_then(b.icmp_signed("==", n, ctx.i64(0)), "scan.probe"):
            for zero in zero_slices:
                _fill_zero(ctx, zero)
    read = [i for n_ in fgraph.toposort() for i in n_.inputs] + list(fgraph.outputs)
    consts = {var: ctx.constant_value(var) for var in dict.fromkeys(read) if isinstance(var, Constant)}

    # The steps run: n, or fewer where the until condition held (written by the loop).
    with b.goto_entry_block():
        steps_cell = b.alloca(I64)
    b.store(n, steps_cell)
    used = [n, steps_cell] + [v for arr in [*seqs, *params, *zero_slices, *consts.values()] for v in _values(arr)]
    used += [v for c in carries for v in c.values()] + [v for y in ys for v in y.values()]

    def loop(tr):
        _emit_loop(ctx, node, fgraph, nid, tr(n), tr(steps_cell), [_moved(tr, s) for s in seqs],
                   [_moved(tr, p) for p in params], [_moved(tr, z) for z in zero_slices],
                   {k: _moved(tr, v) for k, v in consts.items()}, [c.moved(tr) for c in carries],
                   [y.moved(tr) for y in ys])

    ctx.outline("scan", used, loop)
    steps = b.load(steps_cell, typ=I64) if op.has_until else n
    outs = [carry.result(steps) for carry in carries] + [y.result(steps) for y in ys]
    if op.has_until:
        for k, var in enumerate(node.outputs):
            if k >= C or op.keep_history[k]:  # histories and per-step outputs: one row per step run
                _shrink(ctx, var, steps)
    return outs


def _shrink(ctx, var, steps):
    """A NumPy array made for ``n`` rows holds the first ``steps``: its length on axis 0 becomes ``steps``.

    The array is C-contiguous and fresh, so only its shape changes; its buffer keeps the unused rows
    (NumPy frees it by pointer; the smaller size it then reports only matters to its small-block cache,
    which may hand the block out again for a request that size, which fits).
    """
    slot = ctx.owned.get(var)
    if slot is None:
        return
    b = ctx.builder
    obj = b.load(b.gep(ctx.objs_ptr, [ctx.i64(slot)], source_etype=PTR), typ=PTR)
    b.store(steps, ctx.load_field(obj, OFF_DIMS, PTR))


def _emit_loop(ctx, node, fgraph, nid, n, steps_cell, seqs, params, zero_slices, consts, carries, ys):
    """The loop over the steps, in the function ``lower_scan`` outlines."""
    op = node.op
    b = ctx.builder
    C, Y = op.n_carry, op.n_ys
    probe = b.and_(b.icmp_signed("==", n, ctx.i64(0)), ir.Constant(ir.IntType(1), int(bool(ys))))
    iterations = b.select(probe, ctx.i64(1), n)
    env = dict(consts)
    seq_slots, carry_slots, param_slots = (fgraph.inputs[:op.n_seqs], fgraph.inputs[op.n_seqs:op.n_seqs + C],
                                           fgraph.inputs[op.n_seqs + C:])
    env.update(zip(param_slots, params))
    ctx.loop_depth += 1
    with ctx.inner_liveness(fgraph.toposort(), node), _loop(ctx, iterations) as (t, leave):
        for k, (slot, s) in enumerate(zip(seq_slots, seqs)):
            data, strides = ctx.gep(s.data, b.mul(t, s.strides[0])), s.strides[1:]
            if ys:
                zero = zero_slices[k]
                data = b.select(probe, zero.data, data)
                strides = [b.select(probe, z, st) for z, st in zip(zero.strides, strides)]
            env[slot] = s.view(data=data, shape=s.shape[1:], strides=strides)
        for slot, carry in zip(carry_slots, carries):
            env[slot] = carry.current(t)
        ctx.emit_nodes(fgraph.toposort(), env)
        results = [env[v] for v in fgraph.outputs]
        for i, (carry, new) in enumerate(zip(carries, results[:C])):
            _check_same_shape(ctx, nid, CARRY_SHAPE, i, t, new.shape, carry.shape)
        steps = b.icmp_signed("<", t, n)
        for j, (y, new) in enumerate(zip(ys, results[C:C + Y])):
            y.store(t, n, new, steps, nid, j)
        with ctx.if_then(steps, "scan.write"):
            for carry, new in zip(carries, results[:C]):
                carry.write(t, new)
            if op.has_until:
                cond = results[C + Y]
                stop = load_value(ctx, cond, cond.data)
                if cond.dtype != "bool":
                    zero = ir.Constant(stop.type, 0)
                    stop = b.fcmp_unordered("!=", stop, zero) if is_float(cond.dtype) else b.icmp_unsigned("!=", stop, zero)
                with ctx.if_then(stop, "scan.until"):
                    b.store(b.add(t, ctx.i64(1)), steps_cell)
                    leave()
    ctx.loop_depth -= 1


@contextlib.contextmanager
def _loop(ctx, count):
    """``ctx.loop(count)`` that the body may leave early: yields ``(t, leave)``, ``leave()`` ending the loop."""
    b = ctx.builder
    pre = b.block
    head, body, end = (b.append_basic_block(f"scan.{part}") for part in ("head", "body", "end"))
    b.branch(head)
    b.position_at_end(head)
    t = b.phi(I64, name="t")
    t.add_incoming(ctx.i64(0), pre)
    b.cbranch(b.icmp_signed("<", t, count), body, end)
    b.position_at_end(body)
    yield t, lambda: b.branch(end)
    t.add_incoming(b.add(t, ctx.i64(1)), b.block)
    b.branch(head)
    b.position_at_end(end)


def _values(arr):
    return [arr.data, *arr.shape, *arr.strides]


def _moved(tr, arr):
    return ArrayValue(arr.dtype, tr(arr.data), [tr(v) for v in arr.shape], [tr(v) for v in arr.strides])


def _check_same_shape(ctx, nid, kind, index, t, got, want):
    b = ctx.builder
    for axis, (g, w) in enumerate(zip(got, want)):
        if isinstance(g, ir.Constant) and isinstance(w, ir.Constant) and g.constant == w.constant:
            continue
        ctx.check(b.icmp_signed("==", g, w), ERR_SHAPE, nid, ctx.i64(kind), ctx.i64(index), t, ctx.i64(axis), g, w)


class _Carry:
    """One carried value's buffers: the history output (rows are steps) or two buffers in turn."""

    def __init__(self, ctx, node, init, keep, var, n):
        self.ctx, self.var, self.keep, self.dtype = ctx, var, keep, init.dtype
        self.shape = list(init.shape)
        self.strides = ctx.contiguous_strides(self.dtype, self.shape)
        self.first = ctx.scratch(self.dtype, self.shape, node)
        copy_loop(ctx, init, self.first, fresh=True)
        if keep:
            self.history = ctx.alloc(var, [n] + self.shape)
            self.other = None
        else:
            self.history = None
            self.other = ctx.scratch(self.dtype, self.shape, node)

    def values(self):
        arrays = [self.first] + [a for a in (self.other, self.history) if a is not None]
        return self.shape + self.strides + [v for a in arrays for v in _values(a)]

    def moved(self, tr):
        """This carry as seen inside the outlined loop (``tr`` maps the caller's values)."""
        inside = copy.copy(self)
        inside.shape, inside.strides = [tr(v) for v in self.shape], [tr(v) for v in self.strides]
        inside.first = _moved(tr, self.first)
        inside.other = None if self.other is None else _moved(tr, self.other)
        inside.history = None if self.history is None else _moved(tr, self.history)
        return inside

    def _row(self, t):
        return self.ctx.gep(self.history.data, self.ctx.builder.mul(t, self.history.strides[0]))

    def current(self, t):
        """The value step ``t`` reads."""
        b, ctx = self.ctx.builder, self.ctx
        if self.keep:
            previous = self._row(b.sub(t, ctx.i64(1)))
            data = b.select(b.icmp_signed("==", t, ctx.i64(0)), self.first.data, previous)
        else:
            data = b.select(_odd(ctx, t), self.other.data, self.first.data)
        return ArrayValue(self.dtype, data, self.shape, self.strides)

    def write(self, t, new):
        """Store step ``t``'s new value where step ``t + 1`` (and the history) reads it."""
        b, ctx = self.ctx.builder, self.ctx
        if self.keep:
            dest = self._row(t)
        else:
            dest = b.select(_odd(ctx, t), self.first.data, self.other.data)
        copy_loop(ctx, new, ArrayValue(self.dtype, dest, self.shape, self.strides), fresh=True)

    def result(self, n):
        if self.keep:
            return self.history.view(shape=[n] + self.history.shape[1:])
        ctx = self.ctx
        out = ctx.alloc(self.var, self.shape)
        final = ctx.builder.select(_odd(ctx, n), self.other.data, self.first.data)
        copy_loop(ctx, ArrayValue(self.dtype, final, self.shape, self.strides), out, fresh=True)
        return out


class _StepOutput:
    """A per-step output: allocated at step 0, once its shape is known; one row per step."""

    def __init__(self, ctx, var, body_var):
        self.ctx, self.var, self.dtype = ctx, var, str(var.type.dtype)
        self.ndim = body_var.type.ndim
        b = ctx.builder
        with b.goto_entry_block():
            self.data_cell = b.alloca(PTR)
            self.shape_cell = b.alloca(I64, size=max(self.ndim, 1))

    def values(self):
        return [self.data_cell, self.shape_cell]

    def moved(self, tr):
        inside = copy.copy(self)
        inside.data_cell, inside.shape_cell = tr(self.data_cell), tr(self.shape_cell)
        return inside

    def _dim(self, d):
        b = self.ctx.builder
        return b.load(b.gep(self.shape_cell, [self.ctx.i64(d)], source_etype=I64), typ=I64)

    def store(self, t, n, new, steps, nid, j):
        ctx, b = self.ctx, self.ctx.builder
        first = b.icmp_signed("==", t, ctx.i64(0))
        with ctx.if_then(first, "scan.alloc"):
            for d, length in enumerate(new.shape):
                b.store(length, b.gep(self.shape_cell, [ctx.i64(d)], source_etype=I64))
            out = ctx.alloc(self.var, [n] + list(new.shape))
            b.store(out.data, self.data_cell)
        _check_same_shape(ctx, nid, OUTPUT_SHAPE, j, t, new.shape, [self._dim(d) for d in range(self.ndim)])
        with ctx.if_then(steps, "scan.y"):
            strides = ctx.contiguous_strides(self.dtype, new.shape)
            row = b.mul(ctx.size(new.shape), ctx.i64(ITEMSIZE[self.dtype]))
            dest = ctx.gep(b.load(self.data_cell, typ=PTR), b.mul(t, row))
            copy_loop(ctx, new, ArrayValue(self.dtype, dest, list(new.shape), strides), fresh=True)

    def result(self, n):
        ctx, b = self.ctx, self.ctx.builder
        shape = [n] + [self._dim(d) for d in range(self.ndim)]
        data = b.load(self.data_cell, typ=PTR)
        ctx._fresh[self.var] = data
        return ArrayValue(self.dtype, data, shape, ctx.contiguous_strides(self.dtype, shape))


def _odd(ctx, t):
    b = ctx.builder
    return b.icmp_signed("!=", b.and_(t, ctx.i64(1)), ctx.i64(0))


def _fill_zero(ctx, arr):
    memset = ctx.module.declare_intrinsic("llvm.memset", [PTR, I64])
    nbytes = ctx.builder.mul(ctx.size(arr.shape), ctx.i64(ITEMSIZE[arr.dtype]))
    ctx.builder.call(memset, [arr.data, ir.Constant(ir.IntType(8), 0), nbytes, ir.Constant(ir.IntType(1), 0)])


def shape_error(node, details):
    """The messages ``perform`` gives for the same mistakes."""
    op = node.op
    kind = details[0]
    if kind == NEGATIVE_STEPS:
        return f"{op}: n_steps must be >= 0, got {details[1]}"
    if kind == SHORT_SEQUENCE:
        return f"{op}: sequence {details[1]} has {details[2]} entries, fewer than the {details[3]} steps"
    index, t, axis, got, want = details[1:6]
    if kind == CARRY_SHAPE:
        return (f"{op}: step {t} changed the shape of carried value {index} (axis {axis}: {want} -> {got}); "
                f"a carried value keeps its shape")
    return (f"{op}: step {t} output {index} has length {got} on axis {axis}, earlier steps {want}; "
            f"per-step outputs keep their shape")


lower_scan.shape_error = shape_error
lower_scan.inner_nodes = inner_nodes
lower_scan.inner_graph = inner_graph
