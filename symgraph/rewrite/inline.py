"""Inlining: an OpFromGraph built with ``inline=True`` is replaced by its graph when compiled."""

from ..opfromgraph import OpFromGraph
from .canonicalize import canonicalize
from .pattern import Pat


@canonicalize.register(Pat(OpFromGraph), name="inline_op_from_graph")
def inline_op_from_graph(node):
    if not node.op.inline:
        return None
    return node.op.expand(node.inputs)
