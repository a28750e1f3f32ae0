"""The JIT: one LLVM target machine and execution engine per process.

Modules are parsed from IR text, verified, optimised with the new pass
manager (loop and SLP vectorisation on) and added to an MCJIT engine.  The
Python and NumPy C-API functions the generated code calls are bound by
address, so no C compiler or header is needed at run time.  Object code goes
to the disk cache with a small JSON head (the entry points' names and the
caller's metadata), so a later process links it without emitting any IR.
"""

import ctypes
import json
import threading
import time

import llvmlite
import llvmlite.binding as llvm
import numpy as np

from . import parallel
from .blas_library import blas_library

_lock = threading.Lock()
_state = {}
# Seconds this process spent per compile phase (benchmarks/llvm_compile.py reads them):
# init (target machine, symbols), ir (emitting IR), llvm (optimise + machine code), load (cache read, link);
# llvm_background: LLVM time spent on other threads (fastcall.prepare_in_background), overlapping the rest.
compile_times = {"init": 0.0, "ir": 0.0, "llvm": 0.0, "load": 0.0, "llvm_background": 0.0}


def _init():
    if _state:
        return _state
    start = time.perf_counter()
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    target = llvm.Target.from_default_triple()
    cpu = llvm.get_host_cpu_name()
    features = llvm.get_host_cpu_features().flatten()
    tm = target.create_target_machine(cpu=cpu, features=features, opt=2, reloc="default", codemodel="jitdefault")
    engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), tm)
    _state.update(tm=tm, engine=engine, cpu=cpu, features=features, modules=[])
    _bind_symbols()
    compile_times["init"] += time.perf_counter() - start
    return _state


def target_machine():
    return _init()["tm"]


def target_description():
    """What compiled code depends on: CPU, its features and the toolchain versions."""
    s = _init()
    blas = blas_library()
    return (f"{llvm.get_process_triple()}|{s['cpu']}|{s['features']}|llvmlite-{llvmlite.__version__}"
            f"|numpy-{np.__version__}|blas-{blas.source}-{blas.int_bits}")


def _pyapi(name):
    return ctypes.cast(getattr(ctypes.pythonapi, name), ctypes.c_void_p).value


def numpy_api_table():
    """The address of NumPy's C-API function table (PyArray_API)."""
    from numpy._core import _multiarray_umath

    return capsule_pointer(_multiarray_umath._ARRAY_API)


def capsule_pointer(capsule):
    """The pointer a PyCapsule holds (under its own name)."""
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype = ctypes.c_char_p
    get_name.argtypes = [ctypes.py_object]
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype = ctypes.c_void_p
    get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return get_pointer(capsule, get_name(capsule))


# Indices into PyArray_API (numpy/__multiarray_api.h; stable across NumPy 1.x and 2.x).
PYARRAY_TYPE_INDEX = 2
PYARRAY_NEW_INDEX = 93


def _bind_symbols():
    table = ctypes.cast(numpy_api_table(), ctypes.POINTER(ctypes.c_void_p))
    llvm.add_symbol("symgraph_PyArray_Type", table[PYARRAY_TYPE_INDEX])
    llvm.add_symbol("symgraph_PyArray_New", table[PYARRAY_NEW_INDEX])
    for name in ("Py_DecRef", "Py_IncRef", "PyList_SetItem"):
        llvm.add_symbol(name, _pyapi(name))
    libm = ctypes.CDLL("libm.so.6")
    for name in ("exp", "expf", "log", "logf", "log1p", "log1pf", "expm1", "expm1f", "tanh", "tanhf",
                 "sin", "sinf", "cos", "cosf", "tan", "tanf", "asin", "asinf", "acos", "acosf", "atan",
                 "atanf", "sinh", "sinhf", "cosh", "coshf", "asinh", "asinhf", "acosh", "acoshf", "atanh",
                 "atanhf", "erf", "erff", "erfc", "erfcf", "pow", "powf", "atan2", "atan2f", "exp2",
                 "exp2f", "log2", "log2f", "log10", "log10f", "fmod", "fmodf"):
        llvm.add_symbol(name, ctypes.cast(getattr(libm, name), ctypes.c_void_p).value)
    libc = ctypes.CDLL(None)
    for name in ("malloc", "free"):  # the segments' workspace buffers (segment.py)
        llvm.add_symbol(f"symgraph_{name}", ctypes.cast(getattr(libc, name), ctypes.c_void_p).value)
    for name, address in blas_library().addresses.items():
        llvm.add_symbol(f"symgraph_blas_{name}", address)


def _tuning(pto):
    pto.loop_vectorization = True
    pto.slp_vectorization = True


def optimize(module):
    tm = target_machine()
    pto = llvm.create_pipeline_tuning_options(speed_level=2)
    _tuning(pto)
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(module, pb)


def _new_target_machine(level=2):
    s = _init()
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(cpu=s["cpu"], features=s["features"], opt=level, reloc="default",
                                        codemodel="jitdefault")


def compile_threads():
    """How many threads one module's compilation may use: ``sg.config.threads``, at most the cores."""
    from symgraph.config import config

    return max(1, min(config.threads, parallel.cores()))


def compile_ir(ir_text, names, key=None, cached=True, meta=None):
    """Compile IR text and return ``{name: address}`` for the functions asked for.

    Object code is looked up in the disk cache first under ``key`` (by default
    a hash of the IR, the target and the toolchain versions; ``cached=False``
    when the caller has just looked); a miss runs LLVM and stores the result
    with ``meta`` (a JSON-able dict the caller needs to use the code, given
    back by ``load_cached``).
    """
    from .cache import object_cache

    cache = object_cache()
    if key is None:
        key = cache.key(ir_text, target_description())
    if cached:
        found = load_cached(key, names)
        if found is not None:
            return found[0]
    with _lock:
        s = _init()
        start = time.perf_counter()
        threads = compile_threads()
        parts = parallel.split(ir_text, threads, prefix=names[0])
        if len(parts) > 1:
            objs = parallel.compile_parts(parts, _new_target_machine, _tuning, threads)
        else:
            module = llvm.parse_assembly(ir_text)
            module.verify()
            module.triple = llvm.get_process_triple()
            module.data_layout = str(s["tm"].target_data)
            optimize(module)
            objs = [s["tm"].emit_object(module)]
        main = threading.current_thread() is threading.main_thread()
        compile_times["llvm" if main else "llvm_background"] += time.perf_counter() - start
        cache.store(key, _pack(names, objs, meta))
        return _link(s, objs, names)


def load_cached(key, names):
    """``({name: address}, meta)`` from the object code cached under ``key``, or None if there is none.

    An entry that does not define exactly ``names`` is treated as corrupt: reported and rebuilt.
    """
    from .cache import object_cache

    start = time.perf_counter()
    cache = object_cache()
    blob = cache.load(key)
    if blob is None:
        return None
    unpacked = _unpack(blob)
    if unpacked is None or unpacked[0].get("names") != list(names):
        cache.discard(key)
        return None
    meta, objs = unpacked
    with _lock:
        addresses = _link(_init(), objs, names)
    compile_times["load"] += time.perf_counter() - start
    return addresses, meta.get("meta") or {}


def _link(s, objs, names):
    # Parts of one module refer to each other's functions: all are added before symbols are resolved.
    for obj in objs:
        s["engine"].add_object_file(llvm.ObjectFileRef.from_data(obj))
    s["engine"].finalize_object()
    return {n: s["engine"].get_function_address(n) for n in names}


def _pack(names, objs, meta=None):
    """A cache entry: a JSON head (the entry points' names, the caller's meta, the parts' sizes), then the parts."""
    objs = [objs] if isinstance(objs, bytes) else list(objs)
    head = json.dumps({"names": list(names), "meta": meta or {}, "parts": [len(o) for o in objs]}).encode()
    return len(head).to_bytes(4, "little") + head + b"".join(objs)


def _unpack(blob):
    """``(head, [object code per part])``, or None for a blob that is not a whole entry."""
    n = int.from_bytes(blob[:4], "little")
    if len(blob) < 4 + n:
        return None
    try:
        head = json.loads(blob[4:4 + n].decode())
    except ValueError:  # undecodable bytes or bad JSON
        return None
    if not isinstance(head, dict):
        return None
    body = blob[4 + n:]
    sizes = head.get("parts", [len(body)])
    if not isinstance(sizes, list) or sum(sizes) != len(body):
        return None
    objs, pos = [], 0
    for size in sizes:
        objs.append(body[pos:pos + size])
        pos += size
    return head, objs


def emit_assembly(ir_text):
    """Optimised machine code for ``ir_text`` as assembly (for tests that check vectorisation)."""
    module = llvm.parse_assembly(ir_text)
    module.verify()
    module.triple = llvm.get_process_triple()
    module.data_layout = str(target_machine().target_data)
    optimize(module)
    return target_machine().emit_assembly(module)
