"""Per-call overhead of the llvm backend: ``f(x) = x + 1`` on a 10-element float32 vector.

    python benchmarks/llvm_overhead.py

Printed next to NumPy's own ``x + 1`` measured the same way in the same
process (the floor), as medians over repeats.  A fully native function is
called through a generated builtin (backends/llvm/fastcall.py); the
"Python path" row is what a call costs when it goes through
``Function.__call__`` (keyword arguments, inputs needing conversion).
"""

import statistics
import timeit

import numpy as np

import symgraph as sg
import symgraph.tensor as T


def median_us(fn, number=20000, repeat=9):
    return statistics.median(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main():
    x = T.fvector("x")
    f = sg.function([x], x + 1, mode=sg.Mode(backend="llvm"))
    v = np.arange(10, dtype="float32")
    f(v)
    rows = [("symgraph llvm, f(x)", median_us(lambda: f(v))), ("numpy x + 1", median_us(lambda: v + 1))]
    f.trust_input = True
    rows.insert(1, ("symgraph llvm, trust_input", median_us(lambda: f(v))))
    python_path = sg.Function.__call__
    rows.insert(2, ("symgraph llvm, Python path", median_us(lambda: python_path(f, v))))
    for name, us in rows:
        print(f"{name:28s} {us:6.2f} us/call")
    print(f"ratio to NumPy: {rows[0][1] / rows[-1][1]:.1f}x")


if __name__ == "__main__":
    main()
