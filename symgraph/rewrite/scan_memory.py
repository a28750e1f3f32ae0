"""scan_save_memory: a loop keeps only the final value of a state nobody reads the history of.

``h[-1]`` of a scan's state history is the common case (an RNN's last hidden
state, an optimiser's final iterate).  When every use of a history is
``history[-1]``, the Scan is rebuilt to carry that state without storing one
row per step, so memory is proportional to the state, not to the steps.
"""

from ..graph.basic import Constant
from ..scan.op import Scan
from ..tensor.subtensor import Subtensor


def _last_row_users(fgraph, var):
    """The ``var[-1]`` nodes using ``var``, or None if anything else uses it."""
    users = []
    for client, _ in fgraph.clients.get(var, ()):
        if client == "output":
            return None
        op = client.op
        if not isinstance(op, Subtensor) or tuple(op.idx_list) != (-1,) or len(client.inputs) != 1:
            return None
        users.append(client)
    return users


def scan_save_memory(fgraph, mode=None):
    pairs = []
    for node in fgraph.toposort():
        op = node.op
        if not isinstance(op, Scan) or op.has_until:
            continue
        keep = list(op.keep_history)
        users = {}
        for i in range(op.n_carry):
            if not keep[i]:
                continue
            found = _last_row_users(fgraph, node.outputs[i])
            if found:
                users[i] = found
                keep[i] = False
        if not users:
            continue
        new_op = Scan(op.body, keep_history=tuple(keep), truncate_gradient=op.truncate_gradient, name=op.name)
        new_outs = new_op(*node.inputs)
        new_outs = new_outs if isinstance(new_outs, list) else [new_outs]
        for k, (old, new) in enumerate(zip(node.outputs, new_outs)):
            if k in users:
                for client in users[k]:
                    pairs.append((client.outputs[0], new))
            else:
                pairs.append((old, new))
    if pairs:
        fgraph.replace_all(pairs, reason="scan_save_memory")
    return len(pairs)


__all__ = ["scan_save_memory", "Constant"]
