"""Compiling a closed inner graph (a loop body, a branch, an OpFromGraph) for perform."""


def compile_inner(inputs, outputs):
    """``execute(values) -> values`` for the graph, rewritten by FAST_RUN and run by the numpy backend.

    The returned callable runs inside the outer call, which has already set
    NumPy's floating-point error state.
    """
    from ..graph.fg import FunctionGraph
    from ..rewrite.pipeline import rewrite_graph
    from .backend import get_backend
    from .mode import Mode

    mode = Mode("FAST_RUN", backend="numpy")
    fgraph = FunctionGraph(list(inputs), list(outputs))
    rewrite_graph(fgraph, mode)
    return get_backend("numpy").compile(fgraph, mode).execute
