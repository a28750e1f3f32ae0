"""Compiling one large module on several cores: split it by function, optimise and emit the parts at once.

A segment's module is an entry point plus many small kernels that call
nothing but intrinsics and each other, so LLVM's work divides cleanly by
function.  ``split`` cuts the IR text into parts: every part keeps all
globals and declarations, defines its share of the functions and declares
the rest; functions that were internal get the entry's name as a prefix and
external linkage, so the parts link to each other and never collide with
another segment's.  ``compile_parts`` then runs each part in its own LLVM
context with its own target machine, one thread per part.

llvmlite serialises every call into LLVM behind one process-wide lock.  The
two calls that do the work (the optimisation pipeline and machine-code
emission) touch nothing but their own context, module, pass builder and
target machine, which LLVM allows on several threads at once, so they are
made through the underlying ctypes functions, which release the GIL and take
no lock.  Everything else (parsing, creating and disposing objects) keeps
llvmlite's lock.  Where llvmlite lacks those functions the parts are simply
compiled one after the other.
"""

import ctypes
import re
import threading

import llvmlite.binding as llvm
from llvmlite.binding import ffi

from symgraph.config import available_cores as cores  # noqa: F401  (jit.compile_threads reads it here)

# llvmlite prints a definition as its ``define`` line, ``{`` alone, the body, then ``}`` alone.
_DEFINE = re.compile(r'^define ([^\n]*?)@"([^"]+)"(\([^\n]*)\n\{\n.*?^\}\n', re.DOTALL | re.MULTILINE)
_SYMBOL = re.compile(r'@"([^"]+)"')
# Vector variants of a scalar function are named inside a string attribute, "_ZGV...(name)":
# renamed with the functions, or the vectoriser cannot find them and the loop stays scalar.
_ABI_VARIANTS = re.compile(r'"vector-function-abi-variant"="[^"]*"')
_VARIANT_NAME = re.compile(r"\(([^()]+)\)")
# IR characters of a function compiled ``optnone`` cost about a tenth of an optimised one's.
_OPTNONE_WEIGHT = 0.1
#: modules below this many (weighted) IR characters compile in one piece: a part has a fixed cost
MIN_SPLIT_CHARS = 30_000
#: glue (``optnone`` functions) of at least this many IR characters is compiled apart, by a target
#: machine at codegen level 0: fast instruction selection and register allocation.  LLVM's greedy
#: register allocator is what a large glue entry point costs (W4's: 168 ms at level 2, 40 ms at 0).
GLUE_SPLIT_CHARS = 20_000


def is_glue(ir_text):
    """Whether every function the IR text defines is ``optnone`` (compiled at level 0, unoptimised)."""
    heads = re.findall(r"^define [^\n]*", ir_text, re.MULTILINE)
    return bool(heads) and all(" optnone" in h for h in heads)


def split(ir_text, n_parts, prefix):
    """The module as IR texts: ``n_parts`` parts of its optimised functions, and a part of its
    own for the glue (``optnone`` functions) when there is much of it (``is_glue``); or
    ``[ir_text]`` when it is too small or not splittable."""
    defs = list(_DEFINE.finditer(ir_text))
    if len(defs) < 2 or len(defs) != len(re.findall(r"^define ", ir_text, re.MULTILINE)):
        return [ir_text]
    glue = [" optnone" in _head(m) for m in defs]
    glue_chars = sum(m.end() - m.start() for m, g in zip(defs, glue) if g)
    apart = glue_chars >= GLUE_SPLIT_CHARS and not all(glue)
    weights = [(m.end() - m.start()) * (_OPTNONE_WEIGHT if g else 1.0) for m, g in zip(defs, glue)]
    if apart:
        optimised = sum(w for w, g in zip(weights, glue) if not g)
        n_parts = 1 if optimised < MIN_SPLIT_CHARS else min(n_parts, len(defs) - sum(glue))
    elif n_parts < 2 or sum(weights) < MIN_SPLIT_CHARS:
        return [ir_text]
    n_parts = max(1, min(n_parts, len(defs)))
    owner, load = [0] * len(defs), [0.0] * n_parts
    for k in sorted(range(len(defs)), key=lambda k: -weights[k]):
        if apart and glue[k]:
            owner[k] = n_parts  # the glue part, after the others
            continue
        owner[k] = min(range(n_parts), key=load.__getitem__)
        load[owner[k]] += weights[k]
    n_parts += apart
    local = {m.group(2) for m in defs if m.group(1).startswith(("internal ", "private "))}
    rename = {name: f"{prefix}.{name}" for name in local}
    pieces, declarations = [], []
    for m in defs:
        text = m.group(0)
        if m.group(2) in rename:
            text = re.sub(r"^define (internal|private) ", "define ", text)
        pieces.append(text)
        declarations.append(f"declare {_strip_linkage(m.group(1))}@\"{m.group(2)}\"{_params(m.group(3))}\n")
    parts = []
    for p in range(n_parts):
        out, pos = [], 0
        for k, m in enumerate(defs):
            out.append(ir_text[pos:m.start()])
            out.append(pieces[k] if owner[k] == p else declarations[k])
            pos = m.end()
        out.append(ir_text[pos:])
        text = _SYMBOL.sub(lambda s: f'@"{rename.get(s.group(1), s.group(1))}"', "".join(out))
        parts.append(_ABI_VARIANTS.sub(lambda a: _VARIANT_NAME.sub(
            lambda v: f"({rename.get(v.group(1), v.group(1))})", a.group(0)), text))
    return parts


def _head(match):
    return match.group(0)[:match.group(0).index("\n")]


def _strip_linkage(prefix):
    return re.sub(r"^(internal|private|dso_local|hidden) ", "", prefix)


def _params(rest):
    """The parameter list at the start of ``rest`` (everything up to its closing parenthesis), names dropped."""
    depth = 0
    for k, c in enumerate(rest):
        depth += c == "("
        depth -= c == ")"
        if depth == 0:
            return re.sub(r' %"[^"]*"| %[\w.$-]+', "", rest[:k + 1])
    raise ValueError("unbalanced parameter list")


def _unlocked(wrapper):
    """The ctypes function behind an llvmlite library function (no llvmlite lock), or the wrapper itself."""
    return getattr(wrapper, "_cfn", wrapper)


def _emit_object(tm, module):
    with ffi.OutputString() as err:
        buffer = _unlocked(ffi.lib.LLVMPY_TargetMachineEmitToMemory)(tm, module, 1, err)
        if not buffer:
            raise RuntimeError(str(err))
    try:
        return ctypes.string_at(ffi.lib.LLVMPY_GetBufferStart(buffer), ffi.lib.LLVMPY_GetBufferSize(buffer))
    finally:
        ffi.lib.LLVMPY_DisposeMemoryBuffer(buffer)


def compile_parts(texts, make_target_machine, tuning, n_threads=None):
    """Object code of each IR text, compiled on one thread per text; ``make_target_machine(level)``
    gives a target machine at that codegen level (0 for glue parts), ``tuning(pto)`` sets the pipeline
    options; at most ``n_threads`` threads (default: one per text) take the texts in turn."""
    n_threads = len(texts) if n_threads is None else max(1, n_threads)
    results = [None] * len(texts)
    errors = []

    def work(k):
        try:
            context = llvm.create_context()
            module = llvm.parse_assembly(texts[k], context=context)
            try:
                module.verify()
                glue = is_glue(texts[k])
                tm = make_target_machine(0 if glue else 2)
                module.triple = llvm.get_process_triple()
                module.data_layout = str(tm.target_data)
                if not glue:  # optnone functions: the pipeline would skip every one of them
                    pto = llvm.create_pipeline_tuning_options(speed_level=2)
                    tuning(pto)
                    pb = llvm.create_pass_builder(tm, pto)
                    mpm = pb.getModulePassManager()
                    _unlocked(ffi.lib.LLVMPY_RunNewModulePassManager)(mpm, module, pb)
                    mpm.close()
                    pb.close()
                    pto.close()
                results[k] = _emit_object(tm, module)
                tm.close()
            finally:
                module.close()
                context.close()
        except BaseException as e:  # noqa: BLE001  (re-raised in the calling thread below)
            errors.append(e)

    pending = list(range(len(texts)))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not pending:
                    return
                k = pending.pop(0)
            work(k)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(min(n_threads, len(texts)) - 1)]
    for t in threads:
        t.start()
    worker()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results
