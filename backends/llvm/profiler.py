"""Per-node thunks for ``symgraph.compile.profiling``: each lowerable node as its own native entry point."""

from .linker import _python_thunk
from .linker import node_thunk as _native_node_thunk
from .lowering import find, load_all


def node_thunk(node, fgraph, in_cells, out_cells):
    load_all()
    # A view (transpose, reshape, slice) costs nothing inside a segment, but an entry point of its
    # own would copy it out as a fresh array: NumPy's view is the faithful stand-in.
    if find(node) is None or getattr(node.op, "view_map", None):
        return _python_thunk(node, in_cells, out_cells)
    return _native_node_thunk(node, fgraph, in_cells, out_cells)
