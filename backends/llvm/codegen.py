"""IR building blocks: types, runtime arrays, loops, allocation and errors.

A runtime array is an :class:`ArrayValue`: a data pointer, and per axis a
length and a byte stride, all IR values.  Views (transposes, broadcasts,
slices, reshapes of contiguous data) are new ArrayValues over the same data,
so they cost no copy.  Arrays that outlive the kernel are NumPy arrays made
with ``PyArray_New``; every one is recorded so the entry point can release
them on success or failure.
"""

import contextlib

import numpy as np
from llvmlite import ir

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
F32 = ir.FloatType()
F64 = ir.DoubleType()
PTR = ir.PointerType()

_IR_TYPES = {
    "bool": I8, "int8": I8, "uint8": I8, "int16": ir.IntType(16), "uint16": ir.IntType(16),
    "int32": I32, "uint32": I32, "int64": I64, "uint64": I64, "float32": F32, "float64": F64,
}
ITEMSIZE = {d: np.dtype(d).itemsize for d in _IR_TYPES}
TYPENUM = {d: np.dtype(d).num for d in _IR_TYPES}

# PyArrayObject field offsets (numpy/ndarraytypes.h, 64-bit CPython).
OFF_DATA, OFF_ND, OFF_DIMS, OFF_STRIDES, OFF_DESCR = 16, 24, 32, 40, 56
OFF_TYPE = 8          # PyObject.ob_type
OFF_TUPLE_ITEMS = 24  # PyTupleObject.ob_item
OFF_FLAGS = 64        # PyArrayObject.flags
OFF_TYPE_NUM, OFF_BYTEORDER = 28, 26  # PyArray_Descr


def ir_type(dtype):
    return _IR_TYPES[str(dtype)]


def is_float(dtype):
    return str(dtype).startswith("float")


def is_signed(dtype):
    return str(dtype).startswith("int")


def vector_lanes(dtype):
    """Elements of ``dtype`` in one vector register of this CPU (AVX-512, AVX or SSE)."""
    from . import jit

    features = jit.target_description()
    bits = 512 if "+avx512f" in features else 256 if "+avx" in features else 128
    return max(1, bits // (8 * ITEMSIZE[str(dtype)]))


class ArrayValue:
    """A runtime array: ``data`` pointer, ``shape`` and byte ``strides`` as IR i64 values."""

    def __init__(self, dtype, data, shape, strides):
        self.dtype = str(dtype)
        self.data = data
        self.shape = list(shape)
        self.strides = list(strides)

    @property
    def ndim(self):
        return len(self.shape)

    def view(self, data=None, shape=None, strides=None):
        return ArrayValue(self.dtype, self.data if data is None else data,
                          self.shape if shape is None else shape,
                          self.strides if strides is None else strides)


class _DistinctMD(ir.values.MDValue):
    """A ``distinct`` metadata node (llvmlite only writes uniqued ones)."""

    def descr(self, buf):
        inner = []
        super().descr(inner)
        buf += ("distinct " + inner[0], *inner[1:])

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other


class KernelContext:
    """State while emitting one entry point: the builder, allocations and the error slot."""

    def __init__(self, module, builder, err_ptr, objs_ptr, n_objs_max):
        self.module = module
        self.builder = builder
        self.err_ptr = err_ptr
        self.objs_ptr = objs_ptr
        self.n_objs_max = n_objs_max
        self.n_objs = 0
        self.fail_block = None
        self._decls = {}
        self.node_index = {}
        self.entry_function = builder.function
        self.hot_functions = set()  # ids of the functions that have a hot loop of their own

    @property
    def entry_has_hot_loops(self):
        return id(self.entry_function) in self.hot_functions

    # ---- declarations ----
    def declare(self, name, ret, args, varargs=False):
        fn = self._decls.get(name)
        if fn is None:
            fn = self.module.globals.get(name)
            if fn is None:
                fn = ir.Function(self.module, ir.FunctionType(ret, args, var_arg=varargs), name=name)
            self._decls[name] = fn
        return fn

    def global_ptr(self, name):
        g = self.module.globals.get(name)
        if g is None:
            g = ir.GlobalVariable(self.module, I8, name=name)
            g.linkage = "external"
        return g

    # ---- constants ----
    @staticmethod
    def i64(v):
        return ir.Constant(I64, int(v))

    # ---- memory ----
    def gep(self, ptr, offset):
        return self.builder.gep(ptr, [offset], source_etype=I8)

    def load_field(self, obj, offset, ty):
        return self.builder.load(self.gep(obj, self.i64(offset)), typ=ty)

    def load(self, arr, offset):
        """Element of ``arr`` at byte ``offset`` (bools widened to i1 compare later)."""
        return self.builder.load(self.gep(arr.data, offset), typ=ir_type(arr.dtype))

    def store(self, arr, offset, value):
        self.builder.store(value, self.gep(arr.data, offset))

    # ---- loops ----
    @contextlib.contextmanager
    def loop(self, count, name="i", plain=False, hot=True):
        """``for i in range(count)``; yields the index (i64).

        ``plain`` asks LLVM neither to vectorise nor to unroll the loop: for
        fallback paths (strided layouts) whose speed matters less than the
        compile time and code size that versioned, unrolled copies cost.
        ``hot=False`` says the loop's own code is not where its time goes (it
        calls BLAS, or releases arrays): an entry point without hot loops is
        glue, compiled without optimisation (segment.py).
        """
        if hot:
            self.hot_functions.add(id(self.builder.function))
        b = self.builder
        pre = b.block
        head = b.append_basic_block(f"{name}.head")
        body = b.append_basic_block(f"{name}.body")
        end = b.append_basic_block(f"{name}.end")
        b.branch(head)
        b.position_at_end(head)
        i = b.phi(I64, name=name)
        i.add_incoming(self.i64(0), pre)
        b.cbranch(b.icmp_signed("<", i, count), body, end)
        b.position_at_end(body)
        yield i
        nxt = b.add(i, self.i64(1), name=f"{name}.next")
        i.add_incoming(nxt, b.block)
        latch = b.branch(head)
        if plain:
            latch.set_metadata("llvm.loop", self.plain_loop_id())
        b.position_at_end(end)

    def wide_loop_id(self, width):
        """A fresh loop ID asking the vectoriser for ``width`` lanes (its cost model would pick fewer)."""
        m = self.module
        hints = [m.add_metadata([ir.MetaDataString(m, "llvm.loop.vectorize.enable"), ir.Constant(I1, 1)]),
                 m.add_metadata([ir.MetaDataString(m, "llvm.loop.vectorize.width"), ir.Constant(ir.IntType(32), width)])]
        md = _DistinctMD(self.module, hints, name=str(len(self.module.metadata)))
        md.operands = (md,) + md.operands
        return md

    def plain_loop_id(self):
        """A fresh loop ID (LangRef: distinct, first operand itself) that turns vectorising and unrolling off."""
        hints = getattr(self, "_plain_hints", None)
        if hints is None:
            m = self.module
            hints = self._plain_hints = [
                m.add_metadata([ir.MetaDataString(m, "llvm.loop.vectorize.enable"), ir.Constant(I1, 0)]),
                m.add_metadata([ir.MetaDataString(m, "llvm.loop.unroll.disable")])]
        md = _DistinctMD(self.module, hints, name=str(len(self.module.metadata)))
        md.operands = (md,) + md.operands
        return md

    @contextlib.contextmanager
    def if_then(self, cond, name="if"):
        b = self.builder
        then = b.append_basic_block(f"{name}.then")
        end = b.append_basic_block(f"{name}.end")
        b.cbranch(cond, then, end)
        b.position_at_end(then)
        yield
        if not b.block.is_terminated:
            b.branch(end)
        b.position_at_end(end)

    # ---- kernels ----
    def kernel(self, key, params, emit, noalias=()):
        """Call ``emit(ctx, args)``'s code as its own internal function, emitted once per module per ``key``.

        ``key`` names everything ``emit`` depends on besides ``args``: the
        parameters' types are added to it, and ``emit`` must use no IR value
        from the caller.  Small functions keep LLVM's superlinear passes
        cheap, identical kernels are emitted once, and pointer parameters in
        ``noalias`` (indices) let the vectoriser skip its runtime overlap checks.
        Kernels cannot fail (``check`` belongs to the entry point).
        """
        kernels = self.__dict__.setdefault("_kernels", {})
        full_key = (key, tuple(str(p.type) for p in params), tuple(noalias))
        fn = kernels.get(full_key)
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(ir.VoidType(), [p.type for p in params]),
                             name=f"kernel.{len(kernels)}")
            fn.linkage = "internal"
            fn.attributes.add("noinline")
            fn.attributes.add("nounwind")
            for k in noalias:
                fn.args[k].add_attribute("noalias")
            outer, outer_fail = self.builder, self.fail_block
            self.builder, self.fail_block = ir.IRBuilder(fn.append_basic_block("entry")), None
            try:
                emit(self, list(fn.args))
                self.builder.ret_void()
            finally:
                self.builder, self.fail_block = outer, outer_fail
            kernels[full_key] = fn
        self.builder.call(fn, list(params))

    # ---- errors ----
    def fail(self, code, node_id=0, *values):
        """Record ``(code, node, values...)`` in the error slot and leave the entry point."""
        b = self.builder
        if len(values) > 6:
            raise ValueError(f"an error record holds at most 6 values, got {len(values)}")
        node_id = node_id if isinstance(node_id, ir.Value) else self.i64(node_id)
        record = [self.i64(code), node_id]
        for v in values:
            record.append(b.sext(v, I64) if isinstance(v.type, ir.IntType) and v.type != I64 else v)
        if all(v.type == I64 for v in record):
            # One call per failure path instead of eight stores: a segment has a hundred of them.
            record += [self.i64(0)] * (8 - len(record))
            b.call(self._error_recorder(), [self.err_ptr, *record])
        else:
            for k, v in enumerate(record):
                b.store(v, b.gep(self.err_ptr, [self.i64(k)], source_etype=I64))
        b.branch(self.fail_block)

    def _error_recorder(self):
        fn = self.module.globals.get("symgraph.record_error")
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(ir.VoidType(), [PTR] + [I64] * 8),
                             name="symgraph.record_error")
            fn.linkage = "internal"
            for attr in ("noinline", "cold", "nounwind"):
                fn.attributes.add(attr)
            b = ir.IRBuilder(fn.append_basic_block("entry"))
            for k, v in enumerate(fn.args[1:]):
                b.store(v, b.gep(fn.args[0], [ir.Constant(I64, k)], source_etype=I64))
            b.ret_void()
        return fn

    def check(self, ok, code, node_id=0, *values):
        b = self.builder
        bad = b.append_basic_block("check.fail")
        good = b.append_basic_block("check.ok")
        b.cbranch(ok, good, bad)
        b.position_at_end(bad)
        self.fail(code, node_id, *values)
        b.position_at_end(good)

    # ---- allocation ----
    def new_array(self, dtype, shape):
        """A fresh C-contiguous NumPy array (recorded for release); returns (obj, ArrayValue)."""
        b = self.builder
        ndim = len(shape)
        dims = b.alloca(I64, size=max(ndim, 1))
        for k, s in enumerate(shape):
            b.store(s, b.gep(dims, [self.i64(k)], source_etype=I64))
        new = self.declare("symgraph_PyArray_New", PTR, [PTR, I32, PTR, I32, PTR, PTR, I32, I32, PTR])
        null = ir.Constant(PTR, None)
        obj = b.call(new, [self.global_ptr("symgraph_PyArray_Type"), ir.Constant(I32, ndim), dims,
                           ir.Constant(I32, TYPENUM[dtype]), null, null, ir.Constant(I32, 0),
                           ir.Constant(I32, 0), null])
        self.check(b.icmp_unsigned("!=", obj, null), ERR_ALLOC)
        slot = self.n_objs
        self.n_objs += 1
        if self.n_objs > self.n_objs_max:
            raise RuntimeError("too many allocations for the entry point's table")
        b.store(obj, b.gep(self.objs_ptr, [self.i64(slot)], source_etype=PTR))
        return obj, slot, self.array_of(obj, dtype, ndim)

    def array_of(self, obj, dtype, ndim):
        """The ArrayValue of a NumPy array object."""
        b = self.builder
        data = self.load_field(obj, OFF_DATA, PTR)
        dims = self.load_field(obj, OFF_DIMS, PTR)
        strides = self.load_field(obj, OFF_STRIDES, PTR)
        shape = [b.load(b.gep(dims, [self.i64(k)], source_etype=I64), typ=I64) for k in range(ndim)]
        st = [b.load(b.gep(strides, [self.i64(k)], source_etype=I64), typ=I64) for k in range(ndim)]
        return ArrayValue(dtype, data, shape, st)

    def scalar_slot(self, dtype):
        """Stack storage for a 0-d intermediate (no allocation, no release)."""
        b = self.builder
        with b.goto_entry_block():
            slot = b.alloca(ir_type(dtype))
        return ArrayValue(dtype, slot, [], [])

    # ---- helpers ----
    def size(self, shape):
        n = self.i64(1)
        for s in shape:
            n = self.builder.mul(n, s)
        return n

    def contiguous_strides(self, dtype, shape):
        strides = [None] * len(shape)
        acc = self.i64(ITEMSIZE[dtype])
        for k in reversed(range(len(shape))):
            strides[k] = acc
            acc = self.builder.mul(acc, shape[k])
        return strides

    def is_c_contiguous(self, arr):
        """i1: ``arr`` is laid out C-contiguously (length-1 axes may have any stride)."""
        b = self.builder
        ok = ir.Constant(I1, 1)
        expected = self.i64(ITEMSIZE[arr.dtype])
        for k in reversed(range(arr.ndim)):
            good = b.or_(b.icmp_signed("==", arr.strides[k], expected),
                         b.icmp_signed("<=", arr.shape[k], self.i64(1)))
            ok = b.and_(ok, good)
            expected = b.mul(expected, arr.shape[k])
        return ok


# Error codes shared with the Python side (linker.py formats the messages).
ERR_INPUT = 1          # an input is not an aligned native ndarray of the expected dtype/rank
ERR_BROADCAST = 2      # (node, input, axis, got, want)
ERR_ALLOC = 3
ERR_INDEX = 4          # (node, axis, index, length)
ERR_SHAPE = 5          # (node, detail...)
ERR_STATIC_SHAPE = 6   # (node/input, axis, got, want)
ERR_EMPTY_REDUCTION = 7  # (node, axis): max/min over an empty axis
ERR_INPLACE = 8        # (input): an update's target cannot be written over (read-only, or overlaps an input)
