"""Large loops split across threads: a kernel's outermost axis cut into one chunk per thread.

``parallel_kernel`` emits, instead of a call of the kernel, a check of the
amount of work: small calls call the kernel directly; large ones store the
arguments in a table and call the module's one driver (``_driver``), which
starts ``pthread_create`` workers on all chunks but the first, runs the first
itself and joins them.  A table of (kind, aux) pairs per kernel tells the
driver how to cut the arguments; a small worker function per kernel loads
them and calls the kernel.  Every chunk is a kernel call over a slice of the
outermost axis, so only kernels whose iterations are independent along it
may use it (fresh outputs, no accumulation across that axis).  The thread
count is read at each call from ``symgraph_threads`` (``sg.config.threads``),
so changing it needs no recompilation, and compiled code stays the same for
every count.

Workers run only the kernel: no Python API call, no allocation, no error
path, so they need neither the GIL nor clean-up on failure.  A worker that
cannot be started runs in the calling thread instead.
"""

import ctypes

import llvmlite.binding as llvm
from llvmlite import ir

from symgraph.config import config, threads_hooks

from .codegen import I32, I64, PTR

#: work worth a thread of its own, in elements of cost 1 (an add).  Starting and joining a thread
#: costs about 2^16 of them on an idle core, but right after a multi-threaded GEMM OpenBLAS's
#: workers spin on the other cores for milliseconds, and a thread started then waits for a
#: scheduler slice (measured: the W4 step took 7.8 ms with its tanh loops split, 5.0 ms unsplit).
#: So only loops where each chunk is about a millisecond of work are split.
WORK_PER_THREAD = 1 << 21
#: fewest elements of any kernel worth a thread, however costly each element is
MIN_CHUNK = 1 << 12
#: threads one call may use (the driver's tables are on its stack)
MAX_THREADS = 64

_threads = ctypes.c_int64(1)
_bound = []


def set_threads(n):
    _threads.value = max(1, min(int(n), MAX_THREADS))


def bind():
    """Bind ``pthread_create``/``pthread_join`` and the thread-count cell (once per process)."""
    if _bound:
        return
    try:
        lib = ctypes.CDLL("libpthread.so.0")
    except OSError:
        lib = ctypes.CDLL(None)  # glibc >= 2.34 has them in libc itself
    for name in ("pthread_create", "pthread_join"):
        llvm.add_symbol(f"symgraph_{name}", ctypes.cast(getattr(lib, name), ctypes.c_void_p).value)
    llvm.add_symbol("symgraph_threads", ctypes.addressof(_threads))
    set_threads(config.threads)
    threads_hooks.append(set_threads)
    _bound.append(True)


bind()


def parallel_kernel(ctx, key, params, emit, noalias, rows, chunked, work, cost=1, shifted=()):
    """``ctx.kernel(key, params, emit, noalias)``, its outermost axis split across threads when large.

    ``rows``: the index in ``params`` of the outermost axis's length; ``chunked``:
    ``(data, stride)`` index pairs, each a pointer and its byte stride along that
    axis; ``work``: the indices of the lengths whose product is the element count;
    ``cost``: a rough count of operations per element (``element_cost``);
    ``shifted``: ``(index, per_row)`` pairs, i64 parameters that drop by
    ``per_row`` for each row before the chunk.
    """
    b = ctx.builder
    min_chunk = max(MIN_CHUNK, WORK_PER_THREAD // max(int(cost), 1))
    total = ctx.i64(1)
    for k in work:
        total = b.mul(total, params[k])
    n = b.load(ctx.global_ptr("symgraph_threads"), typ=I64)
    # Each thread gets at least min_chunk elements and at least one row.
    n = _smaller(b, n, b.sdiv(total, ctx.i64(min_chunk)))
    n = _smaller(b, n, params[rows])
    serial = b.append_basic_block("serial")
    threaded = b.append_basic_block("threaded")
    done = b.append_basic_block("parallel.done")
    b.cbranch(b.icmp_signed("<=", n, ctx.i64(1)), serial, threaded)
    b.position_at_end(serial)
    ctx.kernel(key, params, emit, noalias)
    b.branch(done)
    b.position_at_end(threaded)
    worker = _worker(ctx, key, params, emit, noalias)
    with b.goto_entry_block():
        cells = b.alloca(PTR, size=ctx.i64(len(params)))
    for k, v in enumerate(params):
        b.store(v, ctx.gep(cells, ctx.i64(8 * k)))
    desc = [(0, 0)] * len(params)
    desc[rows] = (1, 0)
    for d, s in chunked:
        desc[d] = (2, s)
    for d, per_row in shifted:
        desc[d] = (3, per_row)
    b.call(_driver(ctx), [worker, cells, ctx.i64(len(params)), _descriptor(ctx, desc), params[rows], n])
    b.branch(done)
    b.position_at_end(done)


def _descriptor(ctx, desc):
    """A constant global of (kind, aux) i64 pairs, one per argument (see ``_driver``)."""
    name = "symgraph.chunking." + "_".join(f"{k}.{a}" for k, a in desc)
    g = ctx.module.globals.get(name)
    if g is None:
        t = ir.ArrayType(I64, 2 * len(desc))
        g = ir.GlobalVariable(ctx.module, t, name=name)
        g.linkage = "internal"
        g.global_constant = True
        g.initializer = ir.Constant(t, [v for pair in desc for v in pair])
    return g


def _driver(ctx):
    """``parallel(worker, cells, width, desc, rows, n)``, once per module: run ``worker`` on ``n`` chunks.

    ``cells`` holds the call's ``width`` arguments (8 bytes each).  Chunk t gets
    rows [rows*t/n, rows*(t+1)/n): per argument ``desc`` says (kind, aux): 0 keep;
    1 the chunk's row count; 2 a pointer moved by the first row times argument
    ``aux`` (its stride); 3 a count reduced by the first row times ``aux``.
    Chunks 1..n-1 run on new threads, chunk 0 here; a thread that cannot be
    started runs its chunk here too.
    """
    name = "symgraph.parallel"
    fn = ctx.module.globals.get(name)
    if fn is not None:
        return fn
    # The worker's pointer is typed (llvmlite calls through typed function pointers only).
    worker_type = ir.FunctionType(PTR, [PTR]).as_pointer()
    fn = ir.Function(ctx.module, ir.FunctionType(ir.VoidType(), [worker_type, PTR, I64, PTR, I64, I64]), name=name)
    fn.linkage = "internal"
    for attr in ("noinline", "optnone", "nounwind"):
        fn.attributes.add(attr)
    worker, cells, width, desc, rows, n = fn.args
    outer = ctx.builder
    ctx.builder = b = ir.IRBuilder(fn.append_basic_block("entry"))
    try:
        table = b.alloca(PTR, size=b.mul(n, width))
        tids = b.alloca(I64, size=n)
        started = b.alloca(ir.IntType(8), size=n)
        create = ctx.declare("symgraph_pthread_create", I32, [PTR, PTR, worker_type, PTR])
        join = ctx.declare("symgraph_pthread_join", I32, [I64, PTR])
        null = ir.Constant(PTR, None)

        def cell(base, k):
            return ctx.gep(base, b.mul(k, ctx.i64(8)))

        def row(t):
            return ctx.gep(table, b.mul(b.mul(t, width), ctx.i64(8)))

        with ctx.loop(n, "chunk", plain=True, hot=False) as t:
            lo = b.sdiv(b.mul(rows, t), n)
            hi = b.sdiv(b.mul(rows, b.add(t, ctx.i64(1))), n)
            with ctx.loop(width, "arg", plain=True, hot=False) as k:
                kind = b.load(b.gep(desc, [b.mul(k, ctx.i64(2))], source_etype=I64), typ=I64)
                aux = b.load(b.gep(desc, [b.add(b.mul(k, ctx.i64(2)), ctx.i64(1))], source_etype=I64), typ=I64)
                v = b.load(cell(cells, k), typ=I64)
                stride = b.load(cell(cells, b.select(b.icmp_signed("==", kind, ctx.i64(2)), aux, k)), typ=I64)
                v = b.select(b.icmp_signed("==", kind, ctx.i64(1)), b.sub(hi, lo), v)
                v = b.select(b.icmp_signed("==", kind, ctx.i64(2)), b.add(v, b.mul(lo, stride)), v)
                v = b.select(b.icmp_signed("==", kind, ctx.i64(3)), b.sub(v, b.mul(lo, aux)), v)
                b.store(v, cell(row(t), k))
        with ctx.loop(b.sub(n, ctx.i64(1)), "spawn", plain=True, hot=False) as i:
            t = b.add(i, ctx.i64(1))
            rc = b.call(create, [b.gep(tids, [t], source_etype=I64), null, worker, row(t)])
            ok = b.icmp_signed("==", rc, ir.Constant(I32, 0))
            b.store(b.zext(ok, ir.IntType(8)), b.gep(started, [t], source_etype=ir.IntType(8)))
            with ctx.if_then(b.not_(ok), "inline"):
                b.call(worker, [row(t)])
        b.call(worker, [row(ctx.i64(0))])
        with ctx.loop(b.sub(n, ctx.i64(1)), "join", plain=True, hot=False) as i:
            t = b.add(i, ctx.i64(1))
            was = b.load(b.gep(started, [t], source_etype=ir.IntType(8)), typ=ir.IntType(8))
            with ctx.if_then(b.icmp_unsigned("!=", was, ir.Constant(ir.IntType(8), 0)), "joined"):
                b.call(join, [b.load(b.gep(tids, [t], source_etype=I64), typ=I64), null])
        b.ret_void()
    finally:
        ctx.builder = outer
    return fn


#: scalar ops that cost about ten adds (polynomials, divisions); any other counts one
_COSTLY = {"exp", "log", "log1p", "expm1", "tanh", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh",
           "cosh", "arcsinh", "arccosh", "arctanh", "erf", "erfc", "exp2", "log2", "log10", "pow", "sigmoid",
           "softplus", "logaddexp", "arctan2", "true_div", "reciprocal", "sqrt", "int_div", "mod"}


def element_cost(op):
    """A rough count of operations per element of a scalar op or Composite (decides when threads pay)."""
    nodes = getattr(op, "nodes", None)
    if nodes is not None:
        return sum(element_cost(n.op) for n in nodes)
    return 10 if getattr(op, "name", None) in _COSTLY else 1


def _smaller(b, x, y):
    return b.select(b.icmp_signed("<", x, y), x, y)


def _worker(ctx, key, params, emit, noalias):
    """``ptr worker(ptr chunk)``: the kernel on the arguments stored at ``chunk`` (one per kernel)."""
    workers = ctx.__dict__.setdefault("_thread_workers", {})
    types = [p.type for p in params]
    full_key = (key, tuple(str(t) for t in types), tuple(noalias))
    fn = workers.get(full_key)
    if fn is not None:
        return fn
    fn = ir.Function(ctx.module, ir.FunctionType(PTR, [PTR]), name=f"worker.{len(workers)}")
    fn.linkage = "internal"
    for attr in ("noinline", "optnone", "nounwind"):
        fn.attributes.add(attr)
    outer = ctx.builder
    ctx.builder = b = ir.IRBuilder(fn.append_basic_block("entry"))
    try:
        (slot,) = fn.args
        args = [b.load(ctx.gep(slot, ctx.i64(8 * k)), typ=t) for k, t in enumerate(types)]
        ctx.kernel(key, args, emit, noalias)
        b.ret(ir.Constant(PTR, None))
    finally:
        ctx.builder = outer
    workers[full_key] = fn
    return fn
