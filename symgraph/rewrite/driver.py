"""The equilibrium driver: apply a rule table to a graph until nothing changes.

One bottom-up sweep: each node is visited after its inputs are final, rules
are tried on it until none fires, and the new nodes a replacement brings are
rewritten before they are used.  A node whose inputs did not change and that
no rule rewrites is never visited again, so the work is proportional to the
graph plus the rewrites made (the worklist property), not to sweeps times size.
Every node a rule creates carries the source location of the node it
replaces; every replacement is recorded with the rule's name.

While a pass runs, ``fgraph.rewrite_driver`` answers ``clients(var)`` for the
nodes it rebuilt (a node whose input changed is a new node, but it has the
clients of the one it stands for), and ``fgraph.rewrite_stats`` adds up the
work of each table: rewrites applied, nodes settled, rule attempts.
"""

import warnings

from ..errors import SymgraphError
from ..graph.basic import Constant
from ..graph.sourceinfo import source_override
from ..graph.traversal import toposort
from .rules import may_match


class RewriteError(SymgraphError, RuntimeError):
    pass


class RewriteBudgetExceeded(UserWarning):
    pass


def apply_rules(fgraph, table, mode=None, budget=None, reason=None):
    """Rewrite ``fgraph`` with ``table``'s enabled rules to a fixed point; returns the count."""
    excluding = getattr(mode, "excluding", ())
    rules = table.enabled(excluding=excluding)
    if not rules:
        return 0
    nodes = fgraph.toposort()
    budget = budget if budget is not None else 20 * len(nodes) + 1000
    driver = _Driver(fgraph, rules, budget)
    fgraph.rewrite_driver = driver
    try:
        for node in nodes:
            driver.visit(node)
    finally:
        del fgraph.rewrite_driver
    new_outputs = [driver.final(o) for o in fgraph.outputs]
    fgraph.update_outputs(new_outputs, driver.records)
    stats = fgraph.__dict__.setdefault("rewrite_stats", {})
    entry = stats.setdefault(table.name, {"applied": 0, "settled": 0, "tried": 0})
    entry["applied"] += driver.count
    entry["settled"] += driver.settled
    entry["tried"] += driver.tried
    return driver.count


class _Driver:
    def __init__(self, fgraph, rules, budget):
        self.fgraph = fgraph
        self.rules = rules
        self.budget = budget
        self.count = 0
        self.memo = {}
        self.done = set(fgraph.inputs)
        self.records = []
        self._candidates = {}
        self.exhausted = False
        # Work done, for tests that check rewriting scales linearly.
        self.settled = 0
        self.tried = 0
        # new variable -> the variables of the original graph it stands for, so rules
        # can count the clients of a node the driver rebuilt (``utils.clients``).
        self.origins = {}

    def _map(self, old, new):
        if old is not new:
            self.memo[old] = new
            self._note(old, new)

    def _note(self, old, new):
        if old is not new:
            self.origins.setdefault(new, set()).update(self.origins.get(old, (old,)))

    def clients(self, var):
        """The clients ``var`` stands in for in the graph as it was when the pass began."""
        found = []
        for o in self.origins.get(var, (var,)):
            found.extend(self.fgraph.clients.get(o, ()))
        return found

    def final(self, var):
        return self.memo.get(var, var)

    def candidates(self, op):
        key = (type(op), getattr(op, "scalar_op", None))
        found = self._candidates.get(key)
        if found is None:
            found = [r for r in self.rules if may_match(r.pattern, op)]
            self._candidates[key] = found
        return found

    def visit(self, node):
        """Rewrite ``node`` (whose inputs' originals are visited) and map its outputs."""
        new_inputs = [self.final(i) for i in node.inputs]
        current = node
        if any(a is not b for a, b in zip(new_inputs, node.inputs)):
            current = node.clone_with_new_inputs(new_inputs, strict=True)
            for old, new in zip(node.outputs, current.outputs):
                self._note(old, new)
        results = self.settle(current)
        for old, new in zip(node.outputs, results):
            self._map(old, new)
        return results

    def settle(self, node):
        """Apply rules to ``node`` until none fires; returns its final outputs."""
        while True:
            if all(o in self.done for o in node.outputs):
                return node.outputs
            self.settled += 1
            replacement, rule = self.try_rules(node)
            if replacement is None:
                self.done.update(node.outputs)
                return node.outputs
            self.count += 1
            finals = []
            for old, new in zip(node.outputs, replacement):
                new = self.rewrite_new(new)
                self.records.append((old, new, rule.name))
                finals.append(new)
            for old, new in zip(node.outputs, finals):
                self._map(old, new)
            if len(finals) == 1 and finals[0].owner is not None and finals[0] not in self.done:
                node = finals[0].owner
                continue
            return finals

    def rewrite_new(self, var):
        """Rewrite the nodes a replacement introduced (bottom-up) and return var's final form."""
        if var in self.done or var.owner is None:
            return var
        for n in toposort([var], blockers=self.done):
            if all(o in self.done for o in n.outputs):
                continue
            new_inputs = [self.final(i) for i in n.inputs]
            current = n
            if any(a is not b for a, b in zip(new_inputs, n.inputs)):
                current = n.clone_with_new_inputs(new_inputs, strict=True)
            outs = self.settle(current)
            for old, new in zip(n.outputs, outs):
                self._map(old, new)
        return self.final(var)

    def _refers_to(self, result, node):
        # A replacement may be one of the node's own outputs (the rule declined
        # for that output), but must not compute from them.
        own = [r for r in result if r not in node.outputs]
        return _refers_to_node([i for r in own if r.owner is not None for i in r.owner.inputs] + [
            r for r in own if r.owner is None], node, self.done) if own else False

    def try_rules(self, node):
        if self.exhausted:
            return None, None
        # One override for all the rules: every node they (or _fit_type) build carries
        # the source of the node they replace.
        with source_override(node.source):
            return self._first_rewrite(node)

    def _first_rewrite(self, node):
        for rule in self.candidates(node.op):
            self.tried += 1
            try:
                result = rule.apply(node, self.fgraph)
            except SymgraphError:
                raise
            except Exception as e:
                raise RewriteError(f"rewrite rule {rule.name} ({rule.location}) failed on {node}: "
                                   f"{type(e).__name__}: {e}") from e
            if result is None:
                continue
            if len(result) != len(node.outputs):
                raise RewriteError(f"rule {rule.name} ({rule.location}) returned {len(result)} "
                                   f"replacements for {len(node.outputs)} outputs of {node.op}")
            result = [_fit_type(old, new, rule) for old, new in zip(node.outputs, result)]
            if all(a is b for a, b in zip(result, node.outputs)):
                continue
            if self._refers_to(result, node):
                raise RewriteError(f"rule {rule.name} ({rule.location}) built a replacement for {node.op} "
                                   "that uses the node it replaces (e.g. x.shape of the output itself)")
            if self.count >= self.budget:
                self.exhausted = True
                warnings.warn(f"rewrite budget of {self.budget} exhausted; the graph is left "
                              "partly rewritten", RewriteBudgetExceeded, stacklevel=5)
                return None, None
            return result, rule
        return None, None


def _refers_to_node(result, node, done):
    old = set(node.outputs)
    seen = set()
    stack = list(result)
    while stack:
        v = stack.pop()
        if v in seen or v in done:
            continue
        seen.add(v)
        if v in old:
            return True
        if v.owner is not None:
            stack.extend(v.owner.inputs)
    return False


def _fit_type(old, new, rule):
    """``new`` made to have ``old``'s type (a less specific static shape gets specified)."""
    from ..tensor.variable import as_tensor_variable

    if not hasattr(new, "type"):
        new = as_tensor_variable(new)
    if new.type == old.type:
        return new
    old_t, new_t = old.type, new.type
    if getattr(old_t, "dtype", None) != getattr(new_t, "dtype", None) or old_t.ndim != new_t.ndim:
        raise RewriteError(f"rule {rule.name} ({rule.location}) replaced {old} of type {old_t} "
                           f"with {new} of type {new_t}")
    if isinstance(new, Constant) and all(o is None or o == n for o, n in zip(old_t.shape, new.data.shape)):
        return old_t.make_constant(new.data)
    from ..tensor.shape import specify_shape

    if all(o is None or n is None or o == n for o, n in zip(old_t.shape, new_t.shape)):
        if any(o is not None and n is None for o, n in zip(old_t.shape, new_t.shape)):
            return specify_shape(new, old_t.shape)
        # more specific than before: downstream types stay valid
        return new
    raise RewriteError(f"rule {rule.name} ({rule.location}) replaced {old} of type {old_t} "
                       f"with {new} of incompatible type {new_t}")
