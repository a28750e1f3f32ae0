"""Compiling a closed inner graph (a loop body, a branch, an OpFromGraph) for perform."""


def rewrite_inner(inputs, outputs, backend="numpy"):
    """The inner graph as a FunctionGraph rewritten by FAST_RUN for ``backend`` (what a lowering emits)."""
    from ..graph.fg import FunctionGraph
    from ..rewrite.pipeline import rewrite_graph
    from .mode import Mode

    fgraph = FunctionGraph(list(inputs), list(outputs))
    rewrite_graph(fgraph, Mode("FAST_RUN", backend=backend))
    return fgraph


def compile_inner(inputs, outputs, backend="numpy", fgraph=None):
    """``execute(values) -> values`` for the graph, rewritten by FAST_RUN and run by ``backend``.

    The returned callable runs inside the outer call, which has already set
    NumPy's floating-point error state.  ``fgraph`` is the graph already
    rewritten by :func:`rewrite_inner` for ``backend``, when the caller has it.
    """
    from .backend import InputMismatch, get_backend
    from .mode import Mode

    if fgraph is None:
        fgraph = rewrite_inner(inputs, outputs, backend)
    compiled = get_backend(backend).compile(fgraph, Mode("FAST_RUN", backend=backend))
    if backend == "numpy":
        return compiled.execute
    types = [v.type for v in fgraph.inputs]

    def execute(values):
        try:
            return compiled(values)
        except InputMismatch:
            # Native entry points take ndarrays of the exact dtype; a loop hands in NumPy scalars
            # (a step's slice of a vector) and views, which are converted here, not rejected.
            import numpy as np

            return compiled([np.asarray(v, dtype=t.numpy_dtype) for v, t in zip(values, types)])

    execute.fallback_nodes = getattr(compiled, "fallback_nodes", [])
    return execute
