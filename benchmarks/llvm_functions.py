"""Where LLVM's compile time goes: optimisation and code generation per function of a step's modules.

    python benchmarks/llvm_functions.py [--only mlp,lstm] [--top 12]

Builds the training steps of ``benchmarks/llvm_compile.py`` (the W4-style
MLP and the LSTM language model) on the llvm backend with an empty disk
cache, keeps the IR of every module the backend compiles, then compiles
each function of each module on its own (the module cut into one part per
function by ``backends/llvm/parallel.py``) and reports the CPU seconds of
LLVM's optimisation pipeline and of machine-code emission per function,
slowest first.  This is the profile behind the cold-compile (W7) figures:
it shows whether the time is a few large kernels or many small ones, and
what the glue entry point costs.
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import llvm_compile


def module_texts(workload):
    from symgraph.backends.llvm import jit

    import symgraph as sg

    texts = []
    original = jit.compile_ir

    def capture(ir_text, names, **kw):
        texts.append(ir_text)
        return original(ir_text, names, **kw)

    sg.config.compiledir = tempfile.mkdtemp(prefix="symgraph-functions-")
    inputs, loss, updates, args = llvm_compile.WORKLOADS[workload](False)
    jit.compile_ir = capture
    try:
        sg.function(inputs, loss, updates=updates, mode="llvm")(*args)
    finally:
        jit.compile_ir = original
    return texts


def function_costs(ir_text):
    """``[(name, ir characters, optimise s, emit s)]`` for every function defined in ``ir_text``."""
    import llvmlite.binding as llvm
    from symgraph.backends.llvm import jit, parallel

    defs = list(parallel._DEFINE.finditer(ir_text))
    saved = parallel.MIN_SPLIT_CHARS
    parallel.MIN_SPLIT_CHARS = 0
    try:
        parts = parallel.split(ir_text, len(defs), prefix="f")
    finally:
        parallel.MIN_SPLIT_CHARS = saved
    tm = jit.target_machine()
    rows = []
    for part in parts:
        module = llvm.parse_assembly(part)
        module.verify()
        module.triple = llvm.get_process_triple()
        module.data_layout = str(tm.target_data)
        name, size = next((m.group(2), m.end() - m.start()) for m in parallel._DEFINE.finditer(part))
        start = time.process_time()
        jit.optimize(module)
        optimised = time.process_time()
        tm.emit_object(module)
        rows.append((name.removeprefix("f."), size, optimised - start, time.process_time() - optimised))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="mlp,lstm")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args(argv)
    for workload in args.only.split(","):
        texts = module_texts(workload)
        rows = [r for t in texts for r in function_costs(t)]
        total = sum(r[2] + r[3] for r in rows)
        print(f"\n== {workload}: {len(texts)} module(s), {len(rows)} functions, "
              f"{sum(len(t) for t in texts) / 1e3:.0f} k IR characters, LLVM {total:.3f} CPU s "
              f"(one function per module) ==")
        print(f"{'function':<44}{'IR kchars':>10}{'opt ms':>9}{'emit ms':>9}{'share':>8}")
        for name, size, opt, emit in sorted(rows, key=lambda r: -(r[2] + r[3]))[:args.top]:
            print(f"{name[:43]:<44}{size / 1e3:>10.1f}{opt * 1e3:>9.1f}{emit * 1e3:>9.1f}{(opt + emit) / total:>8.1%}")


if __name__ == "__main__":
    main()
