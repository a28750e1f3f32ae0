"""The IR: typed variables, immutable Apply nodes, Ops and FunctionGraph."""

from .basic import Apply, Constant, Type, Variable
from .fg import Feature, FunctionGraph
from .op import Op, ShapeNotImplemented
from .sourceinfo import SourceInfo, source_override, user_source_info
from .traversal import ancestors, clone_graph, graph_inputs, rebuild, toposort

__all__ = [
    "Apply", "Constant", "Feature", "FunctionGraph", "Op", "ShapeNotImplemented",
    "SourceInfo", "Type", "Variable", "ancestors", "clone_graph", "graph_inputs",
    "rebuild", "source_override", "toposort", "user_source_info",
]
