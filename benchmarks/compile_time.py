"""Compile time of MLP training graphs: rewriting alone, and the whole ``function()``.

    python benchmarks/compile_time.py [--layers 2 8 32] [--repeats 5] [--width 16]

Each graph is a tanh MLP's mean squared error with its gradients and SGD
updates of every weight and bias, the graph a training step compiles.  For
each depth it reports the median over ``--repeats`` rounds (after one warm-up
round; within a round the tools take turns) of

* rewrite: the FAST_RUN pipeline on a FunctionGraph of the step
  (``symgraph.rewrite.rewrite_graph``), graph construction not timed;
* compile: ``sg.function(inputs, loss, updates=...)`` end to end.

The same graphs go through PyTensor's FAST_RUN (its rewriting time as its
profiler reports it, and ``pytensor.function``) when PyTensor is importable;
it is not a dependency (``pip install pytensor`` in a separate environment
that also sees symgraph, e.g. a venv made with ``--system-site-packages``).
Ratios are symgraph / PyTensor: below 1 means symgraph is faster.
"""

import argparse
import statistics
import time

import numpy as np

import symgraph as sg
import symgraph.tensor as T
from symgraph.graph.fg import FunctionGraph
from symgraph.rewrite import rewrite_graph


def symgraph_step(layers, width):
    """``(inputs, shared parameters, loss, updates)`` of one SGD step."""
    rng = np.random.default_rng(0)
    x, y = T.dmatrix("x"), T.dmatrix("y")
    params, h = [], x
    for i in range(layers):
        w = sg.shared(rng.normal(size=(width, width)) / np.sqrt(width), name=f"W{i}")
        b = sg.shared(np.zeros(width), name=f"b{i}")
        params += [w, b]
        h = T.dot(h, w) + b
        if i < layers - 1:
            h = T.tanh(h)
    loss = T.mean((h - y) ** 2)
    grads = sg.grad(loss, params)
    return [x, y], params, loss, [(p, p - 0.01 * g) for p, g in zip(params, grads)]


def pytensor_step(layers, width):
    import pytensor
    import pytensor.tensor as pt

    rng = np.random.default_rng(0)
    x, y = pt.dmatrix("x"), pt.dmatrix("y")
    params, h = [], x
    for i in range(layers):
        w = pytensor.shared(rng.normal(size=(width, width)) / np.sqrt(width), name=f"W{i}")
        b = pytensor.shared(np.zeros(width), name=f"b{i}")
        params += [w, b]
        h = pt.dot(h, w) + b
        if i < layers - 1:
            h = pt.tanh(h)
    loss = pt.mean((h - y) ** 2)
    grads = pytensor.grad(loss, params)
    return [x, y], params, loss, [(p, p - 0.01 * g) for p, g in zip(params, grads)]


def symgraph_rewrite_once(layers, width):
    inputs, params, loss, updates = symgraph_step(layers, width)
    fgraph = FunctionGraph(inputs + params, [loss] + [u for _, u in updates])
    start = time.perf_counter()
    rewrite_graph(fgraph, sg.Mode("FAST_RUN"))
    return time.perf_counter() - start


def symgraph_compile_once(layers, width):
    inputs, _, loss, updates = symgraph_step(layers, width)
    start = time.perf_counter()
    sg.function(inputs, loss, updates=updates)
    return time.perf_counter() - start


def pytensor_compile_once(layers, width):
    """``(compile seconds, rewriting seconds as PyTensor's profiler counts them)``."""
    import pytensor

    inputs, _, loss, updates = pytensor_step(layers, width)
    start = time.perf_counter()
    f = pytensor.function(inputs, loss, updates=updates, mode="FAST_RUN", profile=True)
    return time.perf_counter() - start, f.profile.rewriting_time


def measure(layers, width, repeats, with_pytensor):
    """Medians in milliseconds; the tools take turns, so load drifts hit them alike."""
    runs = {"rewrite": [], "compile": [], "pt_rewrite": [], "pt_compile": []}
    for k in range(repeats + 1):  # the first round warms caches (PyTensor's C modules)
        rewrite = symgraph_rewrite_once(layers, width)
        compiled = symgraph_compile_once(layers, width)
        if with_pytensor:
            pt_compile, pt_rewrite = pytensor_compile_once(layers, width)
        if k == 0:
            continue
        runs["rewrite"].append(rewrite)
        runs["compile"].append(compiled)
        if with_pytensor:
            runs["pt_rewrite"].append(pt_rewrite)
            runs["pt_compile"].append(pt_compile)
    return {key: statistics.median(v) * 1e3 for key, v in runs.items() if v}


def graph_size(layers, width):
    inputs, params, loss, updates = symgraph_step(layers, width)
    return len(FunctionGraph(inputs + params, [loss] + [u for _, u in updates]).toposort())


def pytensor_available():
    try:
        import pytensor
    except ImportError:
        return None
    return pytensor.__version__


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, nargs="+", default=[2, 8, 32])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--width", type=int, default=16)
    args = parser.parse_args(argv)

    version = pytensor_available()
    if version is None:
        print("PyTensor is not installed: its columns are skipped (pip install pytensor to compare)")
    else:
        print(f"PyTensor {version} FAST_RUN for comparison")
    print(f"MLP training step (loss, gradients, SGD updates), width {args.width}, "
          f"median of {args.repeats}, milliseconds")
    header = (f"{'layers':>6} {'nodes':>6} | {'rewrite':>8} {'per node':>9} | {'compile':>8}"
              + (f" | {'PT rewrite':>10} {'ratio':>6} | {'PT compile':>10} {'ratio':>6}" if version else ""))
    print(header)
    print("-" * len(header))
    for layers in args.layers:
        nodes = graph_size(layers, args.width)
        ms = measure(layers, args.width, args.repeats, version is not None)
        row = (f"{layers:>6} {nodes:>6} | {ms['rewrite']:>8.1f} {ms['rewrite'] / nodes * 1e3:>7.0f}us"
               f" | {ms['compile']:>8.1f}")
        if version:
            row += (f" | {ms['pt_rewrite']:>10.1f} {ms['rewrite'] / ms['pt_rewrite']:>6.2f}"
                    f" | {ms['pt_compile']:>10.1f} {ms['compile'] / ms['pt_compile']:>6.2f}")
        print(row, flush=True)


if __name__ == "__main__":
    main()
