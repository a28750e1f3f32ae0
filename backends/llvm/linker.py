"""Compile a FunctionGraph: native segments for lowerable nodes, ``perform`` for the rest.

A fully lowerable graph becomes one entry point, and a call is one crossing
into native code: a builtin (fastcall.py) calling ``entry(values, outputs,
err, constants)``; ``run.native_function`` makes the builtin that
``Function`` calls directly.  Where some nodes have no lowering, the graph
is split around them; those nodes run through ``perform`` and are listed in
``run.fallback_nodes`` (debugprint marks them).

``Mode(nan_guard=True)`` compiles each lowerable node as its own entry point
instead (see ``_compile_guarded``), so a NaN or Inf is caught at the node
that made it.
"""

import ctypes
import hashlib
import threading
import time
import weakref

import numpy as np

from symgraph.compile.backend import InputMismatch
from symgraph.errors import (
    InputShapeError,
    SymgraphError,
    runtime_error_class,
    where,
)
from symgraph.graph.basic import Constant

from . import fastcall, inplace, jit
from .codegen import (
    ERR_ALLOC,
    ERR_BROADCAST,
    ERR_EMPTY_REDUCTION,
    ERR_INDEX,
    ERR_INPLACE,
    ERR_INPUT,
    ERR_SHAPE,
    ERR_STATIC_SHAPE,
)
from .lowering import find, load_all
from .segment import build_segment, segment_nodes
from .segment_key import segment_key

EMBED_LIMIT = 16
_compiled = {}
_compile_lock = threading.RLock()


def compile(fgraph, mode):
    load_all()
    nodes = fgraph.toposort()
    lowerable = [find(n) is not None for n in nodes]
    steps = []
    run_nodes = []
    for node, ok in zip(nodes, lowerable):
        if ok:
            run_nodes.append(node)
        else:
            if run_nodes:
                steps.append(("native", run_nodes))
                run_nodes = []
            steps.append(("python", node))
    if run_nodes:
        steps.append(("native", run_nodes))
    fallback = [n for n, ok in zip(nodes, lowerable) if not ok]
    if mode.nan_guard:
        return _compile_guarded(fgraph, nodes, lowerable, fallback)

    later_uses = _uses_after(steps, fgraph)
    # A segment's outputs in the graph's order where they are its outputs: a fully native graph's
    # results are then the entry's outputs as they are, which fastcall.py's builtin needs.
    rank = {v: k for k, v in reversed(list(enumerate(fgraph.outputs)))}
    later_uses = [sorted(uses, key=lambda v: rank.get(v, len(rank))) for uses in later_uses]
    cell = _cell_table()
    input_cells = [cell(v) for v in fgraph.inputs]
    thunks = []
    for k, (kind, payload) in enumerate(steps):
        if kind == "python":
            node = payload
            ins = [cell(i) for i in node.inputs]
            outs = [cell(o) for o in node.outputs]
            thunks.append(_python_thunk(node, ins, outs))
        else:
            seg = NativeSegment(payload, later_uses[k], fgraph, _updates(fgraph) if len(steps) == 1 else ())
            thunks.append(seg.thunk([cell(v) for v in seg.inputs], [cell(v) for v in seg.outputs]))
    output_cells = [cell(v) for v in fgraph.outputs]

    if len(thunks) == 1 and steps[0][0] == "native" and not fallback:
        seg_thunk = thunks[0]
        run = seg_thunk.direct(fgraph)
        run.native_function = seg_thunk.native_function(fgraph)
    else:
        run = _in_order(input_cells, thunks, output_cells)
    run.fallback_nodes = fallback
    # Only the one-entry-point path guarantees every output is a fresh array;
    # otherwise function() copies what may alias an input (its usual analysis).
    run.fresh_outputs = not fallback and len(thunks) == 1
    # Fully native functions check their inputs in native code (InputMismatch asks for conversion).
    run.checks_inputs = not fallback and len(thunks) == 1
    return run


def _updates(fgraph):
    """``fgraph.update_mapping`` as (output, input) pairs, for outputs listed once (a value also
    returned, or given to two shared variables, must stay a fresh array of its own) and inputs
    not returned as they are (``direct`` copies those after the entry point has run)."""
    outs = fgraph.outputs
    return [(outs[o], fgraph.inputs[i]) for o, i in fgraph.update_mapping.items()
            if outs.count(outs[o]) == 1 and fgraph.inputs[i] not in outs]


def _compile_guarded(fgraph, nodes, lowerable, fallback):
    """``run`` checking every node's float outputs for NaN/Inf, as the numpy backend does.

    Each lowerable node is a segment of its own (as the profiler runs them):
    within a fused segment intermediates never reach memory, so the node that
    first made a NaN could not be named.  A Scan is one node here: its body is
    compiled without the guard (as on the numpy backend), its outputs are checked.
    """
    from ..numpy.linker import _nan_guarded

    cell = _cell_table()
    thunks = []
    for node, ok in zip(nodes, lowerable):
        ins, outs = [cell(i) for i in node.inputs], [cell(o) for o in node.outputs]
        thunk = node_thunk(node, fgraph, ins, outs) if ok else _python_thunk(node, ins, outs)
        thunks.append(_nan_guarded(thunk, node, outs))
    run = _in_order([cell(v) for v in fgraph.inputs], thunks, [cell(v) for v in fgraph.outputs])
    run.fallback_nodes = fallback
    run.fresh_outputs = False
    run.checks_inputs = False
    return run


def _cell_table():
    """``cell(v)``: the one-element list holding ``v``'s value during a call (a constant's from the start)."""
    cells = {}

    def cell(v):
        if v not in cells:
            cells[v] = [v.data] if isinstance(v, Constant) else [None]
        return cells[v]

    return cell


def _in_order(input_cells, thunks, output_cells):
    """``run(values)`` calling the thunks one after another over the cells."""
    def run(values):
        for c, v in zip(input_cells, values):
            c[0] = v
        saved = np.seterr(all="ignore")
        try:
            for t in thunks:
                t()
        finally:
            np.seterr(**saved)
        return [c[0] for c in output_cells]

    return run


def node_thunk(node, fgraph, in_cells, out_cells):
    """``node`` alone as a native entry point of its own (nan_guard, the profiler); it must be lowerable."""
    seg = NativeSegment([node], list(node.outputs), fgraph)
    by_var = dict(zip(node.inputs, in_cells))
    by_var.update(zip(node.outputs, out_cells))
    return seg.thunk([by_var[v] for v in seg.inputs], [by_var[v] for v in seg.outputs])


def _uses_after(steps, fgraph):
    """For each step, the variables it produces that later steps or the outputs need."""
    needed_later = set(fgraph.outputs)
    result = [None] * len(steps)
    for k in reversed(range(len(steps))):
        kind, payload = steps[k]
        nodes = [payload] if kind == "python" else payload
        produced = {o for n in nodes for o in n.outputs}
        result[k] = [o for n in nodes for o in n.outputs if o in needed_later]
        for n in nodes:
            needed_later.update(n.inputs)
        needed_later -= produced - set(fgraph.outputs)
    return result


def _python_thunk(node, ins, outs):
    perform = node.op.perform
    perform_on = getattr(node.op, "perform_on", None)
    if perform_on is not None:
        # An Op with an inner graph (a Scan's body) runs that graph with this backend.
        def perform(node, inputs, output_storage):
            perform_on("llvm", node, inputs, output_storage)

    def thunk():
        try:
            perform(node, [c[0] for c in ins], outs)
        except SymgraphError:
            raise
        except Exception as e:
            raise runtime_error_class(type(e))(f"{node.op} failed at run time: {e}" + where(node.outputs[0])) from e

    return thunk


class NativeSegment:
    def __init__(self, nodes, outputs, fgraph, updates=()):
        # Updates the entry may write over their shared value's memory (inplace.py), and their order.
        self.updates = [(o, i) for o, i in updates if o in outputs]
        self.nodes, _ = inplace.order(nodes, outputs, self.updates)
        nodes = self.nodes
        # Error records name nodes by their index here (inner nodes: a natively lowered Scan's body).
        every = segment_nodes(nodes)
        self.all_nodes = [n for n, _ in every]
        produced = {o for n in nodes for o in n.outputs}
        inputs, constants = [], []
        for n, outer in every:
            for i in n.inputs:
                if i in produced or i in inputs or any(i is c for c, _ in constants):
                    continue
                if isinstance(i, Constant):
                    if np.asarray(i.data).size > EMBED_LIMIT:
                        constants.append((i, np.ascontiguousarray(i.data)))
                    continue
                if n is outer:  # an inner node's other inputs are its graph's own
                    inputs.append(i)
        # Outputs that are inputs of the segment (identity graphs) are copied natively too.
        self.inputs = inputs
        self.outputs = list(dict.fromkeys(outputs))
        self.constants = constants
        self.name, address, self.meta = self._compile()
        self.entry = address
        self.err = (ctypes.c_int64 * 8)()
        self.err_addr = ctypes.addressof(self.err)
        # Intermediates' buffers, kept between calls: (data, capacity) per slot, freed with the segment.
        self.workspace = (ctypes.c_uint64 * (2 * max(self.meta.get("workspace", 0), 1)))()
        weakref.finalize(self, _free_workspace, self.workspace)
        self.const_table = (ctypes.c_void_p * (len(constants) + 1))(
            *[c.ctypes.data for _, c in constants], ctypes.addressof(self.workspace))
        self.const_addr = ctypes.addressof(self.const_table)
        self.native = fastcall.segment_builtin(address, self.err_addr, self.const_addr, len(inputs),
                                               len(self.outputs))

    def _compile(self):
        """``(entry name, address, meta)``: from this process, the disk cache, or LLVM, in that order.

        The structural key (segment_key.py) finds cached code without emitting
        IR; a segment it cannot key is keyed by its IR, as the IR is needed anyway.
        """
        target = jit.target_description()
        skey = segment_key(self.nodes, self.inputs, self.outputs, self.constants, target, self.updates)
        with _compile_lock:
            if skey is not None:
                name = f"symgraph_{skey[:32]}"
                found = _compiled.get(skey)
                if found is None:
                    cached = jit.load_cached(skey, [name])
                    found = (cached[0][name], cached[1]) if cached is not None else None
                if found is None:
                    meta = {}
                    ir_text = self._build_ir(name, meta)
                    found = (jit.compile_ir(ir_text, [name], key=skey, cached=False, meta=meta)[name], meta)
                _compiled[skey] = found
                return (name, *found)
            meta = {}
            ir_text = self._build_ir("symgraph_entry", meta)
            key = hashlib.sha256((ir_text + target).encode()).hexdigest()
            name = f"symgraph_{key[:32]}"
            ir_text = ir_text.replace('"symgraph_entry"', f'"{name}"').replace("@symgraph_entry", f"@{name}")
            found = _compiled.get(key)
            if found is None:
                found = _compiled[key] = (jit.compile_ir(ir_text, [name], meta=meta)[name], meta)
            return (name, *found)

    def _build_ir(self, name, meta):
        start = time.perf_counter()
        ir_text = build_segment(name, self.nodes, self.inputs, self.outputs, self.constants, meta, self.updates)
        jit.compile_times["ir"] += time.perf_counter() - start
        return ir_text

    @property
    def ir(self):
        """The segment's LLVM IR (emitted again on demand: a cached segment never needed it)."""
        return build_segment(self.name, self.nodes, self.inputs, self.outputs, self.constants,
                             updates=self.updates)

    def call(self, values, converted=False):
        outs = self.native(*values)
        for _ in values:
            if outs is not None or self.err[0] != ERR_INPLACE:
                break
            # An update's shared value is read-only or shares memory with another input: the
            # update goes to a copy of it (nothing was written), which becomes the shared value.
            values = list(values)
            values[self.err[1]] = np.array(values[self.err[1]], copy=True)
            outs = self.native(*values)
        if outs is None:
            if self.err[0] != ERR_INPUT:
                self.raise_error(values)
            if not converted and any(not isinstance(v, np.ndarray) or v.dtype != var.type.numpy_dtype
                                     for v, var in zip(values, self.inputs)):
                raise InputMismatch()
            # Right type but a layout native code refuses (misaligned, byte-swapped).
            values = [np.ascontiguousarray(v, dtype=v.dtype.newbyteorder("=")) for v in values]
            outs = self.native(*values)
            if outs is None:
                if self.err[0] == ERR_INPUT:
                    raise InputMismatch()
                self.raise_error(values)
        return outs

    def raise_error(self, values):
        code, node_id = self.err[0], self.err[1]
        node = self.all_nodes[node_id] if 0 <= node_id < len(self.all_nodes) else None
        here = where(node.outputs[0]) if node is not None else ""
        # A lowering may say what its details mean: ``lower.broadcast_error(node, details)``,
        # ``lower.index_error``, ``lower.shape_error`` give the message, or None for the default.
        hook = {ERR_BROADCAST: "broadcast_error", ERR_INDEX: "index_error", ERR_SHAPE: "shape_error"}.get(code)
        describe = getattr(find(node), hook, None) if node is not None and hook else None
        message = describe(node, list(self.err[2:8])) if describe is not None else None
        if message is not None:
            base = IndexError if code == ERR_INDEX else ValueError
            raise (InputShapeError if base is ValueError else runtime_error_class(base))(message + here)
        if code == ERR_BROADCAST:
            k, axis, got, want = self.err[2], self.err[3], self.err[4], self.err[5]
            var = node.inputs[k]
            raise InputShapeError(
                f"{node.op}: input {var} has length {got} on axis {axis} where the result has length "
                f"{want}; only axes declared broadcastable (static length 1, e.g. T.row, "
                f"x.dimshuffle('x', 0)) broadcast" + here)
        if code == ERR_INDEX:
            raise runtime_error_class(IndexError)(
                f"{node.op}: index {self.err[3]} is out of bounds for axis {self.err[2]} with length "
                f"{self.err[4]}" + here)
        if code == ERR_STATIC_SHAPE:
            raise InputShapeError(f"{node.op}: expected length {self.err[4]} on axis {self.err[2]}, "
                                  f"got {self.err[3]}" + here)
        if code == ERR_EMPTY_REDUCTION:
            raise InputShapeError(f"{node.op}: cannot take the {getattr(node.op, 'label', 'reduction')} over "
                                  f"the empty axis {self.err[2]}" + here)
        if code == ERR_SHAPE:
            raise InputShapeError(f"{node.op}: incompatible shapes at run time "
                                  f"(details {list(self.err[2:6])})" + here)
        if code == ERR_ALLOC:
            raise runtime_error_class(MemoryError)("out of memory allocating a result" + here)
        if code == ERR_INPUT:
            var = self.inputs[node_id] if 0 <= node_id < len(self.inputs) else None
            raise SymgraphError(f"native code rejected input {var} even after conversion")
        raise SymgraphError(f"native code failed with error code {code}")

    def thunk(self, in_cells, out_cells):
        def run():
            results = self.call([c[0] for c in in_cells])
            for c, r in zip(out_cells, results):
                c[0] = r

        def direct(fgraph):
            # The whole graph is this segment: map fgraph outputs to segment outputs.
            index = [self.outputs.index(o) if o in self.outputs else None for o in fgraph.outputs]
            seg_pos = [fgraph.inputs.index(v) for v in self.inputs]
            identity = seg_pos == list(range(len(fgraph.inputs)))
            native = self.native
            simple = index == list(range(len(self.outputs)))
            # A variable listed twice (an output also returned as an update, say) gets a copy
            # per further listing, so no two results share memory.
            again = {k for k, i in enumerate(index) if i is not None and i in index[:k]}

            def run(values):
                seg_values = values if identity else [values[p] for p in seg_pos]
                outs = native(*seg_values)
                if outs is None:
                    outs = self.call(seg_values)
                if simple:
                    return outs
                return [(np.array(outs[i], copy=True) if k in again else outs[i]) if i is not None
                        else _passthrough(fgraph, k, values) for k, i in enumerate(index)]

            return run

        def native_function(fgraph):
            """``make(n_args, shared, n_outputs, single, fallback, update_targets)``: a builtin, or None.

            ``Function``'s layout: ``fgraph.inputs`` are ``n_args`` explicit inputs, then
            the ``shared`` variables; ``fgraph.outputs`` are ``n_outputs`` outputs, then the
            new values of ``update_targets``.  Only graphs whose results are exactly the
            segment's outputs qualify (None: ``Function`` keeps its Python path).
            """
            if [self.outputs.index(o) if o in self.outputs else None for o in fgraph.outputs] != \
                    list(range(len(self.outputs))):
                return None
            positions = [fgraph.inputs.index(v) for v in self.inputs]

            def make(n_args, shared, n_outputs, single, fallback, update_targets=()):
                containers = [s.container for s in (*shared, *update_targets)]
                if n_args + len(shared) != len(fgraph.inputs) or \
                        any(type(c) is not list or len(c) != 1 for c in containers):
                    return None
                return fastcall.function_builtin(
                    self.entry, self.err_addr, self.const_addr, n_args, positions, len(self.outputs),
                    n_outputs, single, [s.container for s in shared], [s.container for s in update_targets],
                    fallback, keep_alive=self)

            return make

        run.direct = direct
        run.native_function = native_function
        return run


_libc_free = ctypes.CDLL(None).free
_libc_free.argtypes = [ctypes.c_void_p]


def _free_workspace(table):
    for data in table[::2]:
        if data:
            _libc_free(data)


def _passthrough(fgraph, k, values):
    """An output no node computes: a constant or an input, copied so the caller owns it."""
    var = fgraph.outputs[k]
    if isinstance(var, Constant):
        return np.array(var.data, copy=True)
    return np.array(values[fgraph.inputs.index(var)], copy=True)


def lowered_ops():
    load_all()
    from .lowering import LOWERINGS

    return sorted(cls.__name__ for cls in LOWERINGS)
