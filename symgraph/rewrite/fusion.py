"""fusion: elementwise chains, and the reductions over them, into single kernels.

Unfused, every Elemwise node is a loop that reads its inputs from memory and
writes its result back; fused, a chain is one loop whose intermediates stay in
registers.  The pass groups Elemwise nodes and replaces each group by one
``Elemwise(Composite)`` node (``symgraph.scalar.composite``), independent of
any backend.  The rules, and why they hold:

- Members have outputs of one broadcast pattern, so every member's value has
  the kernel's shape: any member can be an output, and no value is computed
  per element of a bigger loop (``exp`` of a row inside a matrix loop would
  cost one ``exp`` per matrix element instead of one per row).
- A group grows from a node to its producers and consumers (a connected set).
  A member used outside the group becomes an extra output of the kernel; it
  had to be written to memory anyway, so this never adds work, and nothing is
  ever recomputed (we never take the "cheap to recompute" trade).
- A group stays convex: no outside node lies on a path between two members,
  else the fused node would consume its own output.  Bitsets of each node's
  Elemwise ancestors and descendants make each check a few integer ANDs.
- At most ``MAX_INPUTS`` array inputs (kernel argument limits of the
  backends); add/mul nodes wider than that are first split into a chain.
- Constants holding one value go inside as scalar constants: they take no
  argument and a backend can fold them into the code.

A reduction (CAReduce) whose input is a group's only output, used by nothing
else, joins the group and the node becomes a ``FusedReduce``.  Consumers of a
reduction are not fused (that would need a second loop).
``Mode(excluding=['fusion'])`` skips the pass, ``'fuse_reduce'`` the
reduction part only; ``Mode(nan_guard=True)`` skips it too, so a NaN is
reported at the primitive op and user line that made it.
"""

from ..graph.basic import Apply, Constant
from ..graph.op import intern_node
from ..graph.traversal import rebuild
from ..scalar import ops as scal
from ..scalar.composite import Composite
from ..scalar.type import ScalarType
from ..tensor.elemwise import Elemwise
from ..tensor.fused_reduce import FusedReduce
from ..tensor.reduction import CAReduce

MAX_INPUTS = 32


def fuse_elemwise(fgraph, mode=None):
    """Fuse ``fgraph``'s elementwise groups in place; returns the number of fused nodes made."""
    excluding = getattr(mode, "excluding", ())
    # nan_guard names the primitive op (and user line) that first made a NaN; a kernel would hide it.
    if "fusion" in excluding or getattr(mode, "nan_guard", False):
        return 0
    _split_wide(fgraph)
    nodes = fgraph.toposort()
    grouper = _Grouper(fgraph, nodes)
    groups = grouper.groups()
    if "fuse_reduce" not in excluding:
        _attach_reductions(fgraph, nodes, groups)
    # A lone node gains nothing; a group of constants only is constant folding's job.
    groups = [g for g in groups if (len(g.members) > 1 or g.reduce is not None) and g.inputs]
    if not groups:
        return 0
    memo, records = {}, []
    unit = {n: g for g in groups for n in g.nodes()}
    for u in _unit_order(nodes, unit):
        if isinstance(u, _Group):
            _emit(fgraph, u, grouper.pos, memo, records)
            continue
        inputs = [memo.get(i, i) for i in u.inputs]
        if any(a is not b for a, b in zip(inputs, u.inputs)):
            memo.update(zip(u.outputs, u.clone_with_new_inputs(inputs).outputs))
    fgraph.update_outputs([memo.get(o, o) for o in fgraph.outputs], records)
    return len(groups)


class _Group:
    def __init__(self, root, bit):
        self.members = {root}
        self.pattern = root.outputs[0].type.broadcastable
        self.inputs = {i for i in root.inputs if not _inlined(i)}
        self.bits = bit
        self.reduce = None

    def nodes(self):
        return list(self.members) + ([self.reduce] if self.reduce is not None else [])


class _Grouper:
    def __init__(self, fgraph, nodes):
        self.clients = fgraph.clients
        self.pos = {n: k for k, n in enumerate(nodes)}
        candidates = [n for n in nodes if type(n.op) is Elemwise]
        self.candidates = candidates
        self.bit = {n: 1 << k for k, n in enumerate(candidates)}
        # Strict Elemwise ancestors / descendants of every node, as bitsets.
        self.anc, self.desc = {}, {}
        for n in nodes:
            a = 0
            for i in n.inputs:
                if i.owner in self.anc:
                    a |= self.anc[i.owner] | self.bit.get(i.owner, 0)
            self.anc[n] = a
        for n in reversed(nodes):
            d = 0
            for c in self._consumers(n):
                d |= self.desc[c] | self.bit.get(c, 0)
            self.desc[n] = d

    def _consumers(self, node):
        return [c for out in node.outputs for c, _ in self.clients.get(out, ()) if c != "output"]

    def groups(self):
        owner, out = set(), []
        # From the last node back, so a chain is grown from where it ends.
        for root in reversed(self.candidates):
            if root in owner:
                continue
            g = _Group(root, self.bit[root])
            stack = [root]
            while stack:
                n = stack.pop()
                neighbours = [(i.owner, True) for i in n.inputs] + [(c, False) for c in self._consumers(n)]
                for cand, producer in neighbours:
                    if cand in self.bit and cand not in owner and cand not in g.members \
                            and self._try_add(g, cand, producer):
                        stack.append(cand)
            owner.update(g.members)
            out.append(g)
        return out

    def _try_add(self, g, cand, producer):
        if cand.outputs[0].type.broadcastable != g.pattern:
            return False
        inputs = (g.inputs - set(cand.outputs)) | {
            i for i in cand.inputs if not _inlined(i) and i.owner not in g.members}
        if len(inputs) > MAX_INPUTS:
            return False
        # G was convex, so the only new outside paths start or end at cand: cand -> outside
        # -> member for a producer, member -> outside -> cand for a consumer.
        if producer:
            if any(c not in g.members and self.desc[c] & g.bits for c in self._consumers(cand)):
                return False
        elif any(i.owner is not None and i.owner not in g.members and self.anc.get(i.owner, 0) & g.bits
                 for i in cand.inputs):
            return False
        g.members.add(cand)
        g.inputs = inputs
        g.bits |= self.bit[cand]
        return True


def _attach_reductions(fgraph, nodes, groups):
    group_of = {m: g for g in groups for m in g.members}
    for node in nodes:
        if type(node.op) is not CAReduce:  # a subclass may mean more than its reducer
            continue
        (x,) = node.inputs
        g = group_of.get(x.owner)
        if g is None or g.reduce is not None or fgraph.clients.get(x) != [(node, 0)]:
            continue
        if _exported(fgraph.clients, g, g.members) == [x]:
            g.reduce = node


def _exported(clients, g, members):
    """Member outputs used outside the group (or as graph outputs), in member order."""
    return [o for m in members for o in m.outputs
            if any(c == "output" or c not in g.members for c, _ in clients.get(o, ()))]


def _emit(fgraph, g, pos, memo, records):
    """Build ``g``'s fused node over the new inputs and map the old outputs to it."""
    members = sorted(g.members, key=pos.get)
    olds = [g.reduce.inputs[0]] if g.reduce is not None else _exported(fgraph.clients, g, members)
    scalar, ext = {}, []
    for n in members:
        args = []
        for i in n.inputs:
            if i not in scalar:
                if _inlined(i):
                    scalar[i] = Constant(ScalarType(i.dtype), i.data.reshape(()))
                else:
                    scalar[i] = ScalarType(i.dtype)()
                    ext.append(i)
            args.append(scalar[i])
        scalar.update(zip(n.outputs, _scalar_apply(n.op.scalar_op, args, n.outputs)))
    comp = Composite([scalar[i] for i in ext], [scalar[o] for o in olds])
    if g.reduce is not None:
        op, olds, rule = FusedReduce(comp, g.reduce.op.scalar_op, g.reduce.op.axis), g.reduce.outputs, "fuse_reduce"
    else:
        op, rule = Elemwise(comp), "fuse_elemwise"
    node = op.make_node(*[memo.get(i, i) for i in ext])
    for new, old in zip(node.outputs, olds):
        new.name, new.source = old.name, old.source
    node = intern_node(node)
    for old, new in zip(olds, node.outputs):
        memo[old] = new
        records.append((old, new, rule))


def _scalar_apply(op, args, outputs):
    if isinstance(op, Composite):
        # Fusing an already fused node: splice its inner graph in, so composites stay flat.
        return rebuild(op.outputs, dict(zip(op.inputs, args)))[0]
    return Apply(op, args, [ScalarType(o.dtype)() for o in outputs]).outputs


def _inlined(v):
    """Whether ``v`` goes inside a composite: a constant holding one value."""
    return isinstance(v, Constant) and all(s == 1 for s in getattr(v.type, "shape", (None,)))


def _unit_order(nodes, unit):
    """Plain nodes and groups, each after everything it uses (acyclic because groups are convex)."""
    parts = {}
    for n in nodes:
        parts.setdefault(unit.get(n, n), []).append(n)
    order, seen = [], set()
    for start in parts:
        stack = [(start, False)]
        while stack:
            u, finished = stack.pop()
            if finished:
                order.append(u)
                continue
            if u in seen:
                continue
            seen.add(u)
            stack.append((u, True))
            for n in parts[u]:
                for i in n.inputs:
                    dep = unit.get(i.owner, i.owner)
                    if dep is not u and dep in parts and dep not in seen:
                        stack.append((dep, False))
    return order


def _split_wide(fgraph):
    """add/mul over more than MAX_INPUTS inputs become a left-to-right chain of narrower ones.

    Elemwise's add sums its inputs left to right in NumPy, so the chain
    computes the same values in the same order and the same dtypes.
    """
    memo, records = {}, []
    for node in fgraph.toposort():
        inputs = [memo.get(i, i) for i in node.inputs]
        wide = type(node.op) is Elemwise and node.op.scalar_op in (scal.add, scal.mul) \
            and len(inputs) > MAX_INPUTS
        if wide:
            acc, rest = node.op(*inputs[:MAX_INPUTS]), inputs[MAX_INPUTS:]
            while rest:
                acc, rest = node.op(acc, *rest[:MAX_INPUTS - 1]), rest[MAX_INPUTS - 1:]
            acc.name, acc.source = node.outputs[0].name, node.outputs[0].source
            memo[node.outputs[0]] = acc
            records.append((node.outputs[0], acc, "split_wide_elemwise"))
        elif any(a is not b for a, b in zip(inputs, node.inputs)):
            memo.update(zip(node.outputs, node.clone_with_new_inputs(inputs).outputs))
    if records:
        fgraph.update_outputs([memo.get(o, o) for o in fgraph.outputs], records)
