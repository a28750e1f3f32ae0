"""One native entry point for a run of lowerable nodes.

The entry point is ``i32 entry(PyObject *const *values, PyObject **outputs,
i64 *err, i8 **constants)``: ``values`` are the input arrays (borrowed, as
CPython passes a vectorcall's arguments), whose types, dtypes, ranks and
layouts it checks itself; ``outputs`` receives a new reference to a fresh
NumPy array per output (fastcall.py wraps the entry in a Python builtin).  On
failure it releases what it allocated (outputs already stored stay the
caller's to release), writes an error record and returns non-zero.  Shapes are runtime values, so
one compiled entry serves every batch size.  ``constants`` ends with the
address of the segment's workspace table: intermediates live in buffers kept
between calls, shared by values whose lifetimes do not overlap.
"""

import contextlib

from llvmlite import ir

from symgraph.graph.basic import Constant

from . import inplace
from .codegen import (
    ERR_ALLOC,
    ERR_INPUT,
    I32,
    I64,
    ITEMSIZE,
    OFF_BYTEORDER,
    OFF_DESCR,
    OFF_FLAGS,
    OFF_ND,
    OFF_TYPE,
    OFF_TYPE_NUM,
    PTR,
    TYPENUM,
    ArrayValue,
    KernelContext,
    ir_type,
)
from .lowering import find, find_inplace
from .lowering.loops import copy_loop

NPY_ALIGNED = 0x100
MAX_ALLOCATIONS = 4096  # NumPy arrays one entry point may create (a stack table of pointers)
SMALL_STATIC = 64     # intermediates of a known size up to this many elements live on the stack
LIVE_TO_END = float("inf")


class SegmentContext(KernelContext):
    def __init__(self, module, builder, err_ptr, objs_ptr, n_objs_max, outputs, node_ids):
        super().__init__(module, builder, err_ptr, objs_ptr, n_objs_max)
        self.segment_outputs = set(outputs)
        self.owned = {}
        self.node_ids = node_ids
        self.workspace = None     # (constants table, index of the workspace table in it)
        self.n_workspace = 0
        self._workspace_base = None
        # Liveness (build_segment fills last_use): which slots a value's memory may lie in, and
        # the last node that may read each slot; a slot free before a node is reused by it.
        self.last_use = {}
        self.slots_of = {}
        self.slot_end = []
        self._fresh = {}
        # Where each node runs, for liveness; an inner node (a Scan's body) runs at its outer node's
        # place (``inner_liveness``), so its intermediates keep their slots for the whole loop.
        self.positions = {}
        self.inner_ids = {}  # error ids of inner nodes (node_ids holds the segment's own nodes only)
        self.table_constants = {}
        # The segment inputs each value's memory may be (a view of): themselves for inputs,
        # nothing for fresh memory (inplace.py reads it; unknown values count as their inputs').
        self.roots = {}
        self._new_data = {}
        self.loop_depth = 0  # native loops (Scan) being emitted around the current code

    def node_id(self, node):
        k = self.node_ids.get(node)
        return self.i64(self.inner_ids.get(node, -1) if k is None else k)

    def emit_nodes(self, nodes, env):
        """Lower ``nodes`` in order; ``env`` maps every value they read (inputs, constants) to an ArrayValue."""
        for node in nodes:
            results = find(node)(self, node, [env[i] for i in node.inputs])
            self.lowered(node, results)
            for var, arr in zip(node.outputs, results):
                env[var] = arr

    @contextlib.contextmanager
    def inner_liveness(self, nodes, outer):
        """While emitting ``nodes`` (an inner graph) for node ``outer``: they run at ``outer``'s place
        and their results live until it ends.  An inner node may also be one of the segment's own
        (nodes are interned), so what liveness knew of it is put back afterwards."""
        here = self.positions[outer]
        results = [v for n in nodes for v in n.outputs]
        saved = ({n: self.positions.get(n) for n in nodes},
                 {v: (self.last_use.get(v), self.slots_of.get(v), self._fresh.get(v)) for v in results})
        for n in nodes:
            self.positions[n] = here
        for v in results:
            self.last_use[v] = max(here, self.last_use.get(v, here))
        try:
            yield
        finally:
            for n, p in saved[0].items():
                _restore(self.positions, n, p)
            for v, (use, slots, fresh) in saved[1].items():
                _restore(self.last_use, v, use)
                _restore(self.slots_of, v, slots)
                _restore(self._fresh, v, fresh)

    def outline(self, name, values, emit):
        """Emit ``emit(inner)`` as an internal function of its own, called here.

        ``values`` are the caller's IR values the code uses; ``inner(v)`` gives
        the function's parameter standing for ``v`` (IR constants stand for
        themselves).  The function fails as the entry point does (an error
        record, then the caller's failure path), allocates into the same table
        and workspace, and keeps its loops out of the entry point, which may
        then stay glue (``entry_has_hot_loops``) while LLVM optimises the loop
        on its own: a big entry point costs superlinear optimisation time.
        """
        b = self.builder
        passed, seen = [], set()
        for v in values:
            if not isinstance(v, ir.Constant) and id(v) not in seen:
                seen.add(id(v))
                passed.append(v)
        consts = self.workspace[0]
        fn = ir.Function(self.module, ir.FunctionType(I32, [v.type for v in passed] + [PTR, PTR, PTR]),
                         name=f"{name}.{len(self.module.globals)}")
        fn.linkage = "internal"
        fn.attributes.add("noinline")
        params = dict(zip((id(v) for v in passed), fn.args))
        saved = (self.builder, self.fail_block, self.err_ptr, self.objs_ptr, self.workspace, self._workspace_base)
        self.builder = ir.IRBuilder(fn.append_basic_block("entry"))
        self.fail_block = fn.append_basic_block("fail")
        ir.IRBuilder(self.fail_block).ret(ir.Constant(I32, 1))
        self.err_ptr, self.objs_ptr, inner_consts = fn.args[-3:]
        self.workspace, self._workspace_base = (inner_consts, saved[4][1]), None
        try:
            emit(lambda v: v if isinstance(v, ir.Constant) else params[id(v)])
            self.builder.ret(ir.Constant(I32, 0))
        finally:
            self.builder, self.fail_block, self.err_ptr, self.objs_ptr, self.workspace, self._workspace_base = saved
        if id(fn) not in self.hot_functions:
            # Glue (a Scan's steps calling kernels and BLAS): as for the entry point, optimising it
            # costs more compile time than it saves.
            fn.attributes.add("optnone")
        failed = b.call(fn, passed + [self.err_ptr, self.objs_ptr, consts])
        ok = b.append_basic_block(f"{name}.ok")
        # The function wrote the error record; the caller only releases and leaves.
        b.cbranch(b.icmp_signed("==", failed, ir.Constant(I32, 0)), ok, self.fail_block)
        b.position_at_end(ok)

    def constant_value(self, var):
        """A Constant's ArrayValue: its table entry, or its values stored on the stack."""
        arr = self.table_constants.get(var)
        return arr if arr is not None else _embedded_constant(self, var)

    def new_array(self, dtype, shape):
        """``KernelContext.new_array``, safe inside a native loop: the array a call site made on the
        previous iteration is dead by now, so it is released before the site's table slot is reused."""
        if not self.loop_depth:
            return super().new_array(dtype, shape)
        b = self.builder
        slot = self.n_objs
        self.n_objs += 1
        if self.n_objs > self.n_objs_max:
            raise RuntimeError("too many allocations for the entry point's table")
        cell = b.gep(self.objs_ptr, [self.i64(slot)], source_etype=PTR)
        b.call(self.declare("Py_DecRef", ir.VoidType(), [PTR]), [b.load(cell, typ=PTR)])
        b.store(ir.Constant(PTR, None), cell)
        with b.goto_entry_block():
            # In the entry block, so iterations do not grow the stack.
            dims = b.alloca(I64, size=max(len(shape), 1))
        for k, s in enumerate(shape):
            b.store(s, b.gep(dims, [self.i64(k)], source_etype=I64))
        new = self.declare("symgraph_PyArray_New", PTR, [PTR, I32, PTR, I32, PTR, PTR, I32, I32, PTR])
        null = ir.Constant(PTR, None)
        obj = b.call(new, [self.global_ptr("symgraph_PyArray_Type"), ir.Constant(I32, len(shape)), dims,
                           ir.Constant(I32, TYPENUM[dtype]), null, null, ir.Constant(I32, 0),
                           ir.Constant(I32, 0), null])
        self.check(b.icmp_unsigned("!=", obj, null), ERR_ALLOC)
        b.store(obj, cell)
        return obj, slot, self.array_of(obj, dtype, len(shape))

    def scratch(self, dtype, shape, node):
        """A C-contiguous workspace buffer private to ``node`` (free again for the nodes after it)."""
        here = self.positions[node]
        for k, busy_until in enumerate(self.slot_end):
            if busy_until < here:
                break
        else:
            k = len(self.slot_end)
            self.slot_end.append(here)
        self.slot_end[k] = here
        return self.workspace_buffer(dtype, shape, k)

    def alloc(self, var, shape):
        """Storage for ``var``: a NumPy array if it leaves the segment, the stack if small and static,
        else a workspace buffer (reused from call to call, and by later intermediates once ``var`` is dead)."""
        dtype = str(var.type.dtype)
        static = var.type.shape
        if var not in self.segment_outputs and all(s is not None for s in static):
            n = 1
            for s in static:
                n *= s
            if n <= SMALL_STATIC:
                b = self.builder
                with b.goto_entry_block():
                    slot = b.alloca(ir_type(dtype), size=max(n, 1))
                return ArrayValue(dtype, slot, [self.i64(s) for s in static],
                                  self.contiguous_strides(dtype, [self.i64(s) for s in static]))
        if var not in self.segment_outputs and self.workspace is not None:
            arr = self.workspace_buffer(dtype, shape, self._free_slot(var))
            self._fresh[var] = arr.data
            return arr
        _, slot, arr = self.new_array(dtype, shape)
        self.owned[var] = slot
        self._new_data[var] = arr.data
        return arr

    def _free_slot(self, var):
        """A workspace slot nothing reads at or after ``var``'s node (a new one if none), reserved for ``var``."""
        here = self.positions[var.owner]
        end = self.last_use.get(var, here)  # a result nothing reads is dead once made
        for k, busy_until in enumerate(self.slot_end):
            if busy_until < here:
                break
        else:
            k = len(self.slot_end)
            self.slot_end.append(end)
        self.slot_end[k] = end
        self.slots_of[var] = {k}
        return k

    def roots_of(self, var):
        return self.roots.get(var, frozenset())

    def lowered(self, node, results):
        """Record where ``node``'s results live: their fresh slot, else maybe in any input's memory (a view)."""
        for var, arr in zip(node.outputs, results):
            fresh = self._fresh.get(var) is arr.data or self._new_data.get(var) is arr.data
            self.roots[var] = frozenset() if fresh else frozenset().union(*map(self.roots_of, node.inputs))
            if self._fresh.get(var) is arr.data:
                continue
            slots = set(self.slots_of.get(var, ()))
            for i in node.inputs:
                slots |= self.slots_of.get(i, set())
            self.slots_of[var] = slots
            end = self.last_use.get(var, self.positions[node])
            for k in slots:
                self.slot_end[k] = max(self.slot_end[k], end)

    def workspace_buffer(self, dtype, shape, k):
        """C-contiguous storage kept from call to call: an intermediate whose shape repeats costs no allocation.

        Slot k of the workspace table (owned by the linker's NativeSegment, freed
        with it) is ``(data, capacity in bytes)``; it grows when a call needs
        more.  Only intermediates use it: what leaves the segment is always a
        fresh NumPy array, so no caller ever sees this memory.
        """
        b = self.builder
        if self._workspace_base is None:
            table, index = self.workspace
            with b.goto_entry_block():
                self._workspace_base = b.load(b.gep(table, [self.i64(index)], source_etype=PTR), typ=PTR)
        self.n_workspace = max(self.n_workspace, k + 1)
        slot = b.gep(self._workspace_base, [self.i64(2 * k)], source_etype=I64)
        nbytes = b.mul(self.size(shape), self.i64(ITEMSIZE[dtype]))
        capacity = b.load(b.gep(slot, [self.i64(1)], source_etype=I64), typ=I64)
        with self.if_then(b.icmp_unsigned(">", nbytes, capacity), "grow"):
            grown = b.call(self._grow_function(), [slot, nbytes])
            self.check(b.icmp_unsigned("!=", grown, ir.Constant(PTR, None)), ERR_ALLOC)
        data = b.load(slot, typ=PTR)
        return ArrayValue(dtype, data, list(shape), self.contiguous_strides(dtype, shape))

    def _grow_function(self):
        """``grow(slot, nbytes)``: free the slot's buffer, allocate one of ``nbytes``; the new data or null."""
        name = "symgraph.workspace_grow"
        fn = self.module.globals.get(name)
        if fn is not None:
            return fn
        malloc = self.declare("symgraph_malloc", PTR, [I64])
        free = self.declare("symgraph_free", ir.VoidType(), [PTR])
        fn = ir.Function(self.module, ir.FunctionType(PTR, [PTR, I64]), name=name)
        fn.linkage = "internal"
        slot, nbytes = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        b.call(free, [b.load(slot, typ=PTR)])
        # malloc(0) may return null: ask for at least a cache line.
        size = b.select(b.icmp_unsigned("<", nbytes, self.i64(64)), self.i64(64), nbytes)
        data = b.call(malloc, [size])
        b.store(data, slot)
        ok = b.icmp_unsigned("!=", data, ir.Constant(PTR, None))
        b.store(b.select(ok, size, self.i64(0)), b.gep(slot, [self.i64(1)], source_etype=I64))
        b.ret(data)
        return fn

    def copy_into_new(self, arr):
        """A fresh C-contiguous NumPy array holding ``arr``'s values; returns (slot, ArrayValue)."""
        _, slot, out = self.new_array(arr.dtype, arr.shape)
        copy_loop(self, arr, out, fresh=True)
        return slot, out

    def contiguous_data(self, arr):
        """``arr``'s data if C-contiguous, else a contiguous copy's (made only when needed)."""
        b = self.builder
        contiguous = self.is_c_contiguous(arr)
        pre = b.block
        copy_block = b.append_basic_block("copy")
        done = b.append_basic_block("copied")
        b.cbranch(contiguous, done, copy_block)
        b.position_at_end(copy_block)
        _, out = self.copy_into_new(arr)
        copied_from = b.block
        b.branch(done)
        b.position_at_end(done)
        phi = b.phi(PTR)
        phi.add_incoming(arr.data, pre)
        phi.add_incoming(out.data, copied_from)
        return phi


def build_segment(name, nodes, inputs, outputs, constants, meta=None, updates=()):
    """IR text of the entry point; ``meta`` (a dict) receives what calling it needs besides its name.

    ``updates``: (output, input) pairs, the output being the input's next value (a shared
    variable's update); where inplace.py allows, it is written over the input's memory.
    ``nodes`` must then be in ``inplace.order``'s order.
    """
    module = ir.Module(name=name)
    fn = ir.Function(module, ir.FunctionType(I32, [PTR, PTR, PTR, PTR]), name=name)
    items, out_items, err_ptr, consts_ptr = fn.args
    entry = fn.append_basic_block("entry")
    b = ir.IRBuilder(entry)
    # The allocation table is cleared once its final size is known (see the end).
    n_max = MAX_ALLOCATIONS
    objs = b.alloca(PTR, size=n_max)
    every = segment_nodes(nodes)
    node_ids = {n: k for k, n in enumerate(nodes)}
    ctx = SegmentContext(module, b, err_ptr, objs, n_max, outputs, node_ids)
    ctx.inner_ids = {n: k for k, (n, outer) in enumerate(every) if n is not outer}
    _, tail = inplace.order(nodes, outputs, updates)
    # The tail (candidates to write in place) runs in whatever order inplace.py settles on: for
    # liveness all of it runs at one place, so no buffer it reads is lent to another of it.
    ctx.positions = {n: min(k, len(nodes) - len(tail)) for n, k in node_ids.items()}
    # The constants table ends with the workspace table's address (linker.py).
    ctx.workspace = (consts_ptr, len(constants))
    fail = fn.append_basic_block("fail")
    ctx.fail_block = fail

    env = {}
    objects = {}
    array_type = ctx.global_ptr("symgraph_PyArray_Type")
    for k, var in enumerate(inputs):
        obj = objects[var] = b.load(b.gep(items, [ir.Constant(I64, k)], source_etype=PTR), typ=PTR)
        env[var] = _checked_input(ctx, obj, var, k, array_type)
        ctx.roots[var] = frozenset([var])
    for k, (var, arr) in enumerate(constants):
        # The table holds a C-contiguous copy: its layout, not the constant's own.
        data = b.load(b.gep(consts_ptr, [ir.Constant(I64, k)], source_etype=PTR), typ=PTR)
        shape = [ctx.i64(s) for s in arr.shape]
        strides = [ctx.i64(s) for s in arr.strides]
        env[var] = ctx.table_constants[var] = ArrayValue(str(var.type.dtype), data, shape, strides)

    def value_of(v):
        if v in env:
            return env[v]
        if isinstance(v, Constant):
            env[v] = _embedded_constant(ctx, v)
            return env[v]
        raise KeyError(f"{v} is not available in the segment")

    def lower(node):
        results = find(node)(ctx, node, [value_of(i) for i in node.inputs])
        ctx.lowered(node, results)
        for var, arr in zip(node.outputs, results):
            env[var] = arr

    for node in nodes:
        for i in node.inputs:
            ctx.last_use[i] = ctx.positions[node]
    for var in outputs:
        ctx.last_use[var] = LIVE_TO_END
    for node in nodes[:len(nodes) - len(tail)]:
        lower(node)
    kept = inplace.keep(ctx, tail, updates)
    for node in tail:
        if node not in kept:
            lower(node)

    incref = ctx.declare("Py_IncRef", ir.VoidType(), [PTR])
    given = {}

    def give(k, var):
        arr = value_of(var)
        slot = ctx.owned.get(var)
        if var in given:
            obj = given[var]
            b.call(incref, [obj])
        else:
            if slot is None:
                slot, _ = ctx.copy_into_new(arr)
            obj = b.load(b.gep(objs, [ir.Constant(I64, slot)], source_etype=PTR), typ=PTR)
            b.store(ir.Constant(PTR, None), b.gep(objs, [ir.Constant(I64, slot)], source_etype=PTR))
            given[var] = obj
        b.store(obj, b.gep(out_items, [ir.Constant(I64, k)], source_etype=PTR))

    late = {o for n in kept for o in n.outputs}
    for k, var in enumerate(outputs):
        if var not in late:
            give(k, var)
    # Every check and allocation of the in-place nodes, then (nothing can fail from here) their loops.
    loops, written = [], {}
    for node in kept:
        where = inplace.mapping(node, updates)
        outs, loop = find_inplace(node)(ctx, node, [value_of(i) for i in node.inputs], where)
        loops.append(loop)
        for j, i in where.items():
            written[node.outputs[j]] = node.inputs[i]
        for var, arr in zip(node.outputs, outs):
            env[var] = arr
    targets = set(written.values())
    for k, var in enumerate(inputs):
        if var in targets:
            inplace.check_target(ctx, k, env[var], objects[var], [env[v] for v in inputs if v is not var])
    for loop in loops:
        loop()
    for k, var in enumerate(outputs):
        if var in written:
            b.call(incref, [objects[written[var]]])
            b.store(objects[written[var]], b.gep(out_items, [ir.Constant(I64, k)], source_etype=PTR))
        elif var in late:
            give(k, var)
    if meta is not None:
        meta["inplace"] = len(written)
    _release_all(ctx, objs, n_max)
    end_block = b.block
    b.position_after(objs)
    memset = module.declare_intrinsic("llvm.memset", [PTR, I64])
    b.call(memset, [objs, ir.Constant(ir.IntType(8), 0), ir.Constant(I64, 8 * max(ctx.n_objs, 1)),
                    ir.Constant(ir.IntType(1), 0)])
    b.position_at_end(end_block)
    b.ret(ir.Constant(I32, 0))

    b.position_at_end(fail)
    _release_all(ctx, objs, n_max)
    b.ret(ir.Constant(I32, 1))
    if meta is not None:
        meta["workspace"] = ctx.n_workspace
    if not ctx.entry_has_hot_loops:
        # Glue only (checks, allocations, calls of kernels and BLAS): optimising and
        # carefully compiling it costs more compile time than it could ever save.
        fn.attributes.add("optnone")
        fn.attributes.add("noinline")
    return str(module)


def segment_nodes(nodes):
    """``[(node, outer node)]``: the segment's nodes, then the inner nodes their lowerings emit
    (``lower.inner_nodes(node)``, a Scan's body), recursively; a node's error id is its index here."""
    every = [(n, n) for n in nodes]
    k = 0
    while k < len(every):
        node, outer = every[k]
        inner = getattr(find(node), "inner_nodes", None)
        if inner is not None:
            every += [(n, outer) for n in inner(node)]
        k += 1
    return every


def _restore(table, key, value):
    if value is None:
        table.pop(key, None)
    else:
        table[key] = value


def _release_all(ctx, objs, n):
    decref = ctx.declare("Py_DecRef", ir.VoidType(), [PTR])
    b = ctx.builder
    with ctx.loop(ctx.i64(ctx.n_objs), "release", hot=False) as k:
        b.call(decref, [b.load(b.gep(objs, [k], source_etype=PTR), typ=PTR)])


def _checked_input(ctx, obj, var, k, array_type):
    """The ArrayValue of input ``k``, after checking it is what the code was built for."""
    b = ctx.builder
    dtype = str(var.type.dtype)
    ok = b.icmp_unsigned("==", ctx.load_field(obj, OFF_TYPE, PTR), array_type)
    ctx.check(ok, ERR_INPUT, k)
    descr = ctx.load_field(obj, OFF_DESCR, PTR)
    ok = b.icmp_signed("==", ctx.load_field(descr, OFF_TYPE_NUM, I32), ir.Constant(I32, TYPENUM[dtype]))
    ok = b.and_(ok, b.icmp_unsigned("!=", ctx.load_field(descr, OFF_BYTEORDER, ir.IntType(8)),
                                   ir.Constant(ir.IntType(8), ord(">"))))
    ok = b.and_(ok, b.icmp_signed("==", ctx.load_field(obj, OFF_ND, I32), ir.Constant(I32, var.type.ndim)))
    flags = ctx.load_field(obj, OFF_FLAGS, I32)
    ok = b.and_(ok, b.icmp_unsigned("!=", b.and_(flags, ir.Constant(I32, NPY_ALIGNED)), ir.Constant(I32, 0)))
    ctx.check(ok, ERR_INPUT, k)
    arr = ctx.array_of(obj, dtype, var.type.ndim)
    ok = ir.Constant(ir.IntType(1), 1)
    for d, want in enumerate(var.type.shape):
        if want is not None:
            ok = b.and_(ok, b.icmp_signed("==", arr.shape[d], ctx.i64(want)))
        # Element strides are byte strides divided by the item size.
        rem = b.srem(arr.strides[d], ctx.i64(ITEMSIZE[dtype]))
        ok = b.and_(ok, b.icmp_signed("==", rem, ctx.i64(0)))
    ctx.check(ok, ERR_INPUT, k)
    return arr


def _embedded_constant(ctx, var):
    """A small constant stored on the stack (its values are immediates in the code)."""
    import numpy as np

    data = np.asarray(var.data)
    dtype = str(var.type.dtype)
    b = ctx.builder
    with b.goto_entry_block():
        slot = b.alloca(ir_type(dtype), size=max(data.size, 1))
    for k, value in enumerate(data.reshape(-1)):
        ptr = b.gep(slot, [ctx.i64(k)], source_etype=ir_type(dtype))
        if dtype == "bool":
            b.store(ir.Constant(ir.IntType(8), int(bool(value))), ptr)
        elif dtype.startswith("float"):
            b.store(ir.Constant(ir_type(dtype), float(value)), ptr)
        else:
            b.store(ir.Constant(ir_type(dtype), int(value)), ptr)
    shape = [ctx.i64(s) for s in data.shape]
    return ArrayValue(dtype, slot, shape, ctx.contiguous_strides(dtype, shape))
