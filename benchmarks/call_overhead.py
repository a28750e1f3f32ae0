"""Per-call overhead of a compiled function on tiny inputs.

    python benchmarks/call_overhead.py [--backend numpy]

A 10-node elementwise graph on 4-element vectors: the time is almost all
dispatch (argument checks, the thunk loop, output handling), not arithmetic.
Reports the median over repeats, in microseconds per call, with and without
``trust_input``.
"""

import argparse
import statistics
import timeit

import numpy as np

import symgraph as sg
import symgraph.tensor as T


def ten_node_graph():
    x, y = T.dvector("x"), T.dvector("y")
    z = x
    ops = [T.exp, T.tanh, T.sin, T.cos, T.sqr]
    for i in range(5):
        z = ops[i](z) * y
    return [x, y], z


def measure(backend, optimizer="FAST_RUN", repeats=7, number=5000):
    inputs, out = ten_node_graph()
    f = sg.function(inputs, out, mode=sg.Mode(optimizer, backend=backend))
    n_nodes = len(f.fgraph.toposort())
    a, b = np.full(4, 0.5), np.full(4, 0.25)
    results = {}
    for trust in (False, True):
        f.trust_input = trust
        times = timeit.repeat(lambda: f(a, b), repeat=repeats, number=number)
        results[trust] = statistics.median(times) / number * 1e6
    return n_nodes, results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="numpy")
    args = parser.parse_args(argv)
    # FAST_COMPILE keeps the 10 nodes; FAST_RUN fuses them into one kernel.
    for optimizer in ("FAST_COMPILE", "FAST_RUN"):
        n_nodes, results = measure(args.backend, optimizer)
        print(f"backend {args.backend}, {optimizer}: {n_nodes}-node graph, 4-element inputs")
        print(f"  checked inputs : {results[False]:7.1f} us/call")
        print(f"  trust_input    : {results[True]:7.1f} us/call")


if __name__ == "__main__":
    main()
