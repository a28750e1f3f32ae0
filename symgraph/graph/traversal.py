"""Walking graphs: ancestors, toposort, inputs and cloning."""

def ancestors(outputs, blockers=()):
    """Every variable ``outputs`` depend on, stopping at ``blockers``."""
    blockers = set(blockers)
    seen = set()
    order = []
    stack = list(outputs)
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        order.append(v)
        if v.owner is not None and v not in blockers:
            stack.extend(v.owner.inputs)
    return order


def graph_inputs(outputs, blockers=()):
    """The owner-less variables (inputs and constants) ``outputs`` depend on."""
    blockers = set(blockers)
    return [v for v in ancestors(outputs, blockers) if v.owner is None or v in blockers]


def toposort(outputs, blockers=()):
    """Apply nodes between ``blockers`` and ``outputs``, each after its inputs' owners."""
    blockers = blockers if isinstance(blockers, (set, frozenset, dict)) else set(blockers)
    order = []
    done = set()
    # Iterative DFS: graphs from long scans or deep nets overflow recursion.
    stack = [(v.owner, False) for v in reversed(outputs) if v.owner is not None and v not in blockers]
    while stack:
        node, expanded = stack.pop()
        if node in done:
            continue
        if expanded:
            done.add(node)
            order.append(node)
            continue
        stack.append((node, True))
        for inp in reversed(node.inputs):
            if inp.owner is not None and inp not in blockers and inp.owner not in done:
                stack.append((inp.owner, False))
    return order


def rebuild(outputs, replace):
    """``outputs`` with each key of ``replace`` swapped for its value.

    Nodes are immutable, so every node downstream of a replaced variable is
    rebuilt; the rest of the graph is shared with the original.  Returns the
    new outputs and the memo mapping old variables to new ones.
    """
    memo = dict(replace)
    for node in toposort(list(outputs), blockers=list(memo)):
        new_inputs = [memo.get(i, i) for i in node.inputs]
        if any(a is not b for a, b in zip(new_inputs, node.inputs)):
            new_node = node.clone_with_new_inputs(new_inputs)
            memo.update(zip(node.outputs, new_node.outputs))
    return [memo.get(o, o) for o in outputs], memo


def clone_graph(inputs, outputs):
    """Copy the graph with fresh input variables: ``(new_inputs, new_outputs)``."""
    fresh = {i: i.clone() for i in inputs}
    new_outputs, _ = rebuild(outputs, fresh)
    return [fresh[i] for i in inputs], new_outputs
