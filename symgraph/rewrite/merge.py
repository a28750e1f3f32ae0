"""Merging: equal constants become one, and so do nodes applying one Op to the same inputs.

Interning (``Op.__call__``) already merges most common subexpressions as the
graph is built; this pass catches what it cannot: equal constants made
separately, and the nodes that become identical once those merge.
"""

from ..graph.basic import Constant
from ..graph.op import intern_node


def merge_pass(fgraph, mode=None):
    canonical = {}
    memo = {}
    records = []
    for node in fgraph.toposort():
        inputs = []
        for i in node.inputs:
            if isinstance(i, Constant):
                key = i.signature()
                i = canonical.setdefault(key, i)
            inputs.append(memo.get(i, i))
        if any(a is not b for a, b in zip(inputs, node.inputs)):
            new = node.clone_with_new_inputs(inputs, strict=True)
        else:
            new = intern_node(node)
        for old, out in zip(node.outputs, new.outputs):
            if old is not out:
                memo[old] = out
                records.append((old, out, "merge"))
    outputs = []
    for o in fgraph.outputs:
        o = memo.get(o, o)
        if isinstance(o, Constant):
            o = canonical.setdefault(o.signature(), o)
        outputs.append(o)
    fgraph.update_outputs(outputs, records)
    return len(records)
