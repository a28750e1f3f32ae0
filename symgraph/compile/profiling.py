"""Where a compiled function's call spends its time: per-node timings, like Theano's ``profile=True``.

``profile(f, *args)`` runs the graph ``f`` was compiled to node by node on
``f``'s own backend and times each node.  On the llvm backend every node
that has a lowering becomes its own native entry point (the same kernel
code the fused call runs, minus the fusion of neighbouring nodes into one
entry); the others run through ``perform`` as in the real call.  The sum of
the node times is therefore close to, and slightly above, one real call's
time: the per-node entry calls and the lost buffer reuse are the difference,
and ``ProfileStats.call_seconds`` reports the real call beside it.

Shared variables are read, never written: the updates a call would make
are computed and dropped, so profiling leaves the function's state as it was.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from ..graph.basic import Constant


@dataclass
class NodeTime:
    node: object
    seconds: float  # median over the repeats
    shapes: tuple = ()  # the inputs' shapes in the profiled call

    @property
    def op_name(self):
        return type(self.node.op).__name__


@dataclass
class ProfileStats:
    backend: str
    call_seconds: float  # median of real calls of the function, in the same process
    nodes: list = field(default_factory=list)

    @property
    def total_seconds(self):
        return sum(n.seconds for n in self.nodes)

    def by_op(self):
        """``[(op class name, seconds, node count)]``, slowest first."""
        acc = {}
        for n in self.nodes:
            s, c = acc.get(n.op_name, (0.0, 0))
            acc[n.op_name] = (s + n.seconds, c + 1)
        return sorted(((k, s, c) for k, (s, c) in acc.items()), key=lambda r: -r[1])

    def summary(self, top=12):
        total = self.total_seconds or 1e-30
        lines = [(f"backend {self.backend}: one call {self.call_seconds * 1e3:.3f} ms; "
                  f"sum of {len(self.nodes)} nodes run one by one {self.total_seconds * 1e3:.3f} ms"),
                 f"{'op':<28}{'ms':>10}{'share':>8}{'nodes':>7}"]
        for name, s, c in self.by_op()[:top]:
            lines.append(f"{name:<28}{s * 1e3:>10.3f}{s / total:>8.1%}{c:>7}")
        lines.append("slowest nodes:")
        for n in sorted(self.nodes, key=lambda n: -n.seconds)[:top]:
            lines.append(f"  {n.seconds * 1e3:9.3f} ms  {n.node.op}{n.shapes}")
        return "\n".join(lines)


def profile(f, *args, repeats=5):
    """``ProfileStats`` of compiled function ``f`` called on ``args`` (medians over ``repeats``)."""
    from .backend import get_backend

    fgraph = f.fgraph
    backend = get_backend(f.backend_name)
    make_thunk = getattr(backend, "node_thunk", None) or perform_thunk
    # Copies: a node that works in place on its input must not change a shared variable's value.
    values = list(args) + [np.array(s.container[0], copy=True) for s in f.shared_inputs]
    cells = {}

    def cell(v):
        if v not in cells:
            cells[v] = [v.data] if isinstance(v, Constant) else [None]
        return cells[v]

    for v, value in zip(fgraph.inputs, values):
        cell(v)[0] = value
    order = fgraph.toposort()
    thunks = [make_thunk(node, fgraph, [cell(i) for i in node.inputs], [cell(o) for o in node.outputs])
              for node in order]
    samples = [[] for _ in order]
    saved = np.seterr(all="ignore")
    try:
        for _ in range(repeats + 1):  # the first round compiles lazily built pieces and warms caches
            for k, thunk in enumerate(thunks):
                start = time.perf_counter()
                thunk()
                samples[k].append(time.perf_counter() - start)
    finally:
        np.seterr(**saved)
    snapshot = [s.get_value(borrow=False) for s in f.shared_inputs]
    calls = []
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            f(*args)
            calls.append(time.perf_counter() - start)
    finally:
        for s, v in zip(f.shared_inputs, snapshot):
            s.set_value(v, borrow=True)
    nodes = [NodeTime(node, float(np.median(s[1:])), tuple(np.shape(cells[i][0]) for i in node.inputs))
             for node, s in zip(order, samples)]
    return ProfileStats(f.backend_name, float(np.median(calls)), nodes)


def perform_thunk(node, fgraph, in_cells, out_cells):
    """Run ``node`` through its Op's ``perform`` (the numpy backend, and any node a backend cannot lower)."""
    def thunk():
        node.op.perform(node, [c[0] for c in in_cells], out_cells)

    return thunk
