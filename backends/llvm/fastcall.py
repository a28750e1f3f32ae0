"""Python builtins that call a segment's entry point with no layer in between.

A ctypes call costs about 0.9 µs with list arguments; a builtin whose C
function is generated here (``METH_FASTCALL``, so CPython hands over its
argument array as is) costs a few nanoseconds more than the entry point
itself.  Two generic C functions serve every segment, reading what differs
(the entry's address, its error record and constants, the argument layout)
from a table held by the builtin's ``self``, so they are compiled once per
process (and cached on disk), never per function:

``segment_builtin(...)(*values)``
    the list of the segment's outputs, or None after a native failure (the
    error record says which: linker.py raises the SymgraphError).

``function_builtin(...)(*args, **kwargs)``
    what ``Function.__call__`` returns for a fully native function, reading
    shared values from their containers and storing updates into them only
    once the entry succeeded.  Anything it does not handle itself (keyword
    arguments, a missing argument, any native failure: an input that needs
    converting, a bad shape) goes to ``fallback``, the Python path, which
    produces the usual conversions and errors.
"""

import ctypes
import hashlib
import threading

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir

from . import jit
from .codegen import ERR_INPUT, I32, I64, OFF_DATA, OFF_TUPLE_ITEMS, PTR

OFF_LIST_ITEMS = 24   # PyListObject.ob_item (a pointer; a tuple's items are inline at the same offset)
METH_KEYWORDS, METH_FASTCALL = 0x0002, 0x0080
SEGMENT, FUNCTION = "symgraph_fastcall_segment", "symgraph_fastcall_function"

# Table slots (int64).  Both builtins: the entry, its error record, its constants, None.
T_ENTRY, T_ERR, T_CONSTS, T_NONE = 0, 1, 2, 3
# segment_builtin: how many inputs and outputs.
T_SEG_IN, T_SEG_OUT = 4, 5
# function_builtin: explicit arguments, segment inputs, results (outputs then updates), outputs
# returned, whether the one output is returned bare, shared values read, updates stored, then
# per segment input its position in (arguments + shared values).
(T_ARGS, T_IN, T_RESULTS, T_OUTPUTS, T_SINGLE, T_SHARED, T_UPDATES, T_POS) = range(4, 12)

_VOID = ir.VoidType()
_lock = threading.Lock()
_state = {}
_background = []


class _MethodDef(ctypes.Structure):
    _fields_ = [("ml_name", ctypes.c_char_p), ("ml_meth", ctypes.c_void_p), ("ml_flags", ctypes.c_int),
                ("ml_doc", ctypes.c_char_p)]


_new_builtin = ctypes.pythonapi.PyCFunction_NewEx
_new_builtin.restype = ctypes.py_object
_new_builtin.argtypes = [ctypes.c_void_p, ctypes.py_object, ctypes.c_void_p]


def segment_builtin(entry, err_addr, const_addr, n_in, n_out):
    """``builtin(*values)``: the list of the entry's outputs, or None if it failed."""
    table = _table([entry, err_addr, const_addr, id(None), n_in, n_out])
    return _new_builtin(ctypes.addressof(_defs()[SEGMENT]), (table,), None)


def function_builtin(entry, err_addr, const_addr, n_args, positions, n_results, n_outputs, single,
                     shared_containers, update_containers, fallback, keep_alive=None):
    """``builtin(*args, **kwargs)`` returning a compiled function's outputs (see the module doc).

    ``positions[k]``: where segment input k is in (arguments + values of
    ``shared_containers``); results are the entry's outputs, the first
    ``n_outputs`` returned (bare if ``single``), the rest stored as
    ``update_containers[j][0]``.  Containers are lists holding the value at index 0.
    ``keep_alive`` owns what the addresses point to (the segment), for as long as the builtin lives.
    """
    if single and n_outputs != 1:
        raise ValueError("a bare result needs exactly one output")
    if n_results != n_outputs + len(update_containers):
        raise ValueError("results must be the outputs, then one per update")
    for c in list(shared_containers) + list(update_containers):
        if type(c) is not list or len(c) != 1:
            raise ValueError("containers must be lists of one value")
    table = _table([entry, err_addr, const_addr, id(None), n_args, len(positions), n_results, n_outputs,
                    int(single), len(shared_containers), len(update_containers), *positions])
    state = (table, fallback, *shared_containers, *update_containers, keep_alive)
    return _new_builtin(ctypes.addressof(_defs()[FUNCTION]), state, None)


def _table(values):
    table = np.array(values, dtype=np.int64)
    table.flags.writeable = False
    return table


def prepare_in_background():
    """Start making the method definitions on a thread of their own, if nothing has yet.

    The backend's ``prepare()`` calls this before ``function()`` rewrites the graph: the
    rewrites and the IR emission are Python work holding the GIL on one core, while LLVM
    compiling this module releases it, so in a cold process the builtins' code is ready
    by the time the first function needs it.
    """
    if _state or _background:
        return
    jit.target_machine()  # initialised here, once, not raced by the thread
    thread = threading.Thread(target=_defs_quietly, name="symgraph-fastcall", daemon=True)
    _background.append(thread)
    thread.start()


def _defs_quietly():
    try:
        _defs()
    except Exception:  # noqa: BLE001, S110  (the caller's own _defs() call raises it again, where it is seen)
        pass


def _defs():
    """The two method definitions (kept alive for the life of the process), compiling their code once."""
    if _state:
        return _state
    with _lock:
        if not _state:
            _bind_symbols()
            # Keyed by the backend's source (as segments are), so a warm process emits no IR.
            from .segment_key import _backend_version_once

            names = [SEGMENT, FUNCTION]
            key = hashlib.sha256(f"fastcall|{jit.target_description()}|{_backend_version_once()}".encode()).hexdigest()
            cached = jit.load_cached(key, names)
            addresses = cached[0] if cached is not None else jit.compile_ir(build_ir(), names, key=key, cached=False)
            defs = {
                SEGMENT: _MethodDef(b"native_segment", addresses[SEGMENT], METH_FASTCALL,
                                    b"Run a compiled segment: its outputs, or None on failure."),
                FUNCTION: _MethodDef(b"compiled_function", addresses[FUNCTION], METH_FASTCALL | METH_KEYWORDS,
                                     b"Call a compiled symgraph function."),
            }
            _state.update(defs)
    return _state


def _bind_symbols():
    jit.target_machine()  # binds the symbols jit.py provides (Py_IncRef, Py_DecRef, PyList_SetItem)
    for name in ("PyList_New", "PyObject_Vectorcall"):
        llvm.add_symbol(name, ctypes.cast(getattr(ctypes.pythonapi, name), ctypes.c_void_p).value)


class _Emitter:
    def __init__(self, module, fn):
        self.m = module
        self.b = ir.IRBuilder(fn.append_basic_block("entry"))
        self.list_new = _declare(module, "PyList_New", PTR, [I64])
        self.set_item = _declare(module, "PyList_SetItem", I32, [PTR, I64, PTR])
        self.incref = _declare(module, "Py_IncRef", _VOID, [PTR])
        self.decref = _declare(module, "Py_DecRef", _VOID, [PTR])  # Py_XDECREF: null is fine
        self.vectorcall = _declare(module, "PyObject_Vectorcall", PTR, [PTR, PTR, I64, PTR])

    def i64(self, v):
        return ir.Constant(I64, v)

    def at(self, ptr, k, ty=PTR):
        """``ptr[k]`` (the address), k an int or an i64."""
        k = self.i64(k) if isinstance(k, int) else k
        return self.b.gep(ptr, [k], source_etype=ty)

    def load(self, ptr, k, ty=PTR):
        return self.b.load(self.at(ptr, k, ty), typ=ty)

    def field(self, obj, offset):
        return self.b.load(self.b.gep(obj, [self.i64(offset)], source_etype=ir.IntType(8)), typ=PTR)

    def table(self, state):
        """The int64 table: item 0 of the ``self`` tuple is the ndarray holding it."""
        return self.field(self.load(self.b.gep(state, [self.i64(OFF_TUPLE_ITEMS)], source_etype=ir.IntType(8)), 0),
                          OFF_DATA)

    def loop(self, count, body):
        """``for k in range(count): body(k)``."""
        b = self.b
        pre = b.block
        head = b.append_basic_block("head")
        inner = b.append_basic_block("body")
        end = b.append_basic_block("end")
        b.branch(head)
        b.position_at_end(head)
        k = b.phi(I64)
        k.add_incoming(self.i64(0), pre)
        b.cbranch(b.icmp_signed("<", k, count), inner, end)
        b.position_at_end(inner)
        body(k)
        k.add_incoming(b.add(k, self.i64(1)), b.block)
        b.branch(head)
        b.position_at_end(end)

    def call_entry(self, t, values, outputs):
        b = self.b
        # A typed pointer tells llvmlite the callee's signature (it prints as an opaque ``ptr``).
        fn = b.inttoptr(self.load(t, T_ENTRY, I64), ir.FunctionType(I32, [PTR, PTR, PTR, PTR]).as_pointer())
        err = b.inttoptr(self.load(t, T_ERR, I64), PTR)
        consts = b.inttoptr(self.load(t, T_CONSTS, I64), PTR)
        return b.call(fn, [values, outputs, err, consts])


def _declare(module, name, ret, args):
    fn = module.globals.get(name)
    return fn if fn is not None else ir.Function(module, ir.FunctionType(ret, args), name=name)


def build_ir():
    module = ir.Module(name="symgraph_fastcall")
    _emit_segment(module)
    _emit_function(module)
    return str(module)


def _emit_segment(module):
    fn = ir.Function(module, ir.FunctionType(PTR, [PTR, PTR, I64]), name=SEGMENT)
    state, args, nargs = fn.args
    e = _Emitter(module, fn)
    b = e.b
    t = e.table(state)
    none = b.inttoptr(e.load(t, T_NONE, I64), PTR)
    with b.if_then(b.icmp_signed("!=", nargs, e.load(t, T_SEG_IN, I64)), likely=False):
        # Never from linker.py; recorded as an input error rather than read out of bounds.
        err = b.inttoptr(e.load(t, T_ERR, I64), PTR)
        b.store(e.i64(ERR_INPUT), e.at(err, 0, I64))
        b.store(e.i64(-1), e.at(err, 1, I64))
        b.call(e.incref, [none])
        b.ret(none)
    result = b.call(e.list_new, [e.load(t, T_SEG_OUT, I64)])
    with b.if_then(b.icmp_unsigned("==", result, ir.Constant(PTR, None)), likely=False):
        b.ret(result)  # MemoryError is set
    rc = e.call_entry(t, args, e.field(result, OFF_LIST_ITEMS))
    with b.if_then(b.icmp_signed("!=", rc, ir.Constant(I32, 0)), likely=False):
        b.call(e.decref, [result])  # releases the outputs stored before the failure
        b.call(e.incref, [none])
        b.ret(none)
    b.ret(result)


def _emit_function(module):
    fn = ir.Function(module, ir.FunctionType(PTR, [PTR, PTR, I64, PTR]), name=FUNCTION)
    state, args, nargs, kwnames = fn.args
    e = _Emitter(module, fn)
    b = e.b
    null = ir.Constant(PTR, None)
    items = b.gep(state, [e.i64(OFF_TUPLE_ITEMS)], source_etype=ir.IntType(8))
    t = e.table(state)
    slow = fn.append_basic_block("slow")
    fast = fn.append_basic_block("fast")
    plain = b.and_(b.icmp_unsigned("==", kwnames, null), b.icmp_signed("==", nargs, e.load(t, T_ARGS, I64)))
    b.cbranch(plain, fast, slow)

    b.position_at_end(fast)
    n_shared = e.load(t, T_SHARED, I64)
    n_in = e.load(t, T_IN, I64)
    n_results = e.load(t, T_RESULTS, I64)
    n_outputs = e.load(t, T_OUTPUTS, I64)
    n_updates = e.load(t, T_UPDATES, I64)
    # Arguments, then the shared values as they are before the call.
    values = b.alloca(PTR, size=b.add(nargs, n_shared))
    e.loop(nargs, lambda k: b.store(e.load(args, k), e.at(values, k)))
    e.loop(n_shared, lambda k: b.store(e.load(e.field(e.load(items, b.add(k, e.i64(2))), OFF_LIST_ITEMS), 0),
                                       e.at(values, b.add(nargs, k))))
    seg_values = b.alloca(PTR, size=b.add(n_in, e.i64(1)))
    e.loop(n_in, lambda k: b.store(e.load(values, e.load(t, b.add(k, e.i64(T_POS)), I64)), e.at(seg_values, k)))
    results = b.alloca(PTR, size=b.add(n_results, e.i64(1)))
    e.loop(n_results, lambda k: b.store(null, e.at(results, k)))
    rc = e.call_entry(t, seg_values, results)

    def release_results():
        e.loop(n_results, lambda k: b.call(e.decref, [e.load(results, k)]))

    failed = b.icmp_signed("!=", rc, ir.Constant(I32, 0))
    with b.if_then(failed, likely=False):
        # The Python path runs again and says what went wrong (or converts and retries).
        release_results()
        b.branch(slow)
    # The returned value is made before any update is stored: a failure leaves the shared values alone.
    single = b.icmp_signed("!=", e.load(t, T_SINGLE, I64), e.i64(0))
    with b.if_else(single) as (bare, listed):
        with bare:
            bare_block = b.block
            bare_value = e.load(results, 0)
        with listed:
            out_list = b.call(e.list_new, [n_outputs])
            with b.if_then(b.icmp_unsigned("==", out_list, null), likely=False):
                release_results()
                b.ret(null)  # MemoryError is set
            list_items = e.field(out_list, OFF_LIST_ITEMS)
            e.loop(n_outputs, lambda k: b.store(e.load(results, k), e.at(list_items, k)))
            list_block = b.block
    returned = b.phi(PTR)
    returned.add_incoming(bare_value, bare_block)
    returned.add_incoming(out_list, list_block)
    # PyList_SetItem takes the new value's reference and releases the old one.
    e.loop(n_updates, lambda k: b.call(e.set_item, [
        e.load(items, b.add(b.add(k, e.i64(2)), n_shared)), e.i64(0), e.load(results, b.add(n_outputs, k))]))
    b.ret(returned)

    b.position_at_end(slow)
    b.ret(b.call(e.vectorcall, [e.load(items, 1), args, nargs, kwnames]))
