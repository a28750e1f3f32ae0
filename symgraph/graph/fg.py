"""FunctionGraph: the graph being compiled.

A FunctionGraph owns a list of inputs and outputs and indexes the nodes
between them (clients, toposort).  Because nodes are immutable, ``replace``
rebuilds the nodes downstream of the replaced variable and swaps the outputs;
features (such as the shape feature) are told about every replacement, and the
history records each with its reason, so ``debugprint`` can show what was done.
"""

from ..errors import GraphTypeError
from .traversal import rebuild, toposort


class Feature:
    """Something kept up to date as a FunctionGraph changes."""

    def on_attach(self, fgraph):
        pass

    def on_detach(self, fgraph):
        pass

    def on_change(self, fgraph, replacements, reason):
        """``replacements`` maps every old variable to its new one."""


class FunctionGraph:
    def __init__(self, inputs, outputs, features=(), update_mapping=None):
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        # {output index: input index}: that output is the next value of that input (a shared
        # variable's update), which a backend may write over the input's memory.
        self.update_mapping = dict(update_mapping or {})
        self.features = []
        self.history = []
        self._index()
        for f in features:
            self.attach_feature(f)

    def _index(self):
        self._toposort = toposort(self.outputs, blockers=self.inputs)
        self.apply_nodes = set(self._toposort)
        clients = {}
        variables = set(self.inputs)
        for node in self._toposort:
            for i, inp in enumerate(node.inputs):
                clients.setdefault(inp, []).append((node, i))
                variables.add(inp)
            variables.update(node.outputs)
        for i, out in enumerate(self.outputs):
            clients.setdefault(out, []).append(("output", i))
            variables.add(out)
        self.clients = clients
        self.variables = variables

    def toposort(self):
        return list(self._toposort)

    def attach_feature(self, feature):
        self.features.append(feature)
        feature.on_attach(self)

    def remove_feature(self, feature):
        self.features.remove(feature)
        feature.on_detach(self)

    def get_feature(self, cls):
        for f in self.features:
            if isinstance(f, cls):
                return f
        return None

    def replace(self, old, new, reason=None):
        self.replace_all([(old, new)], reason)

    def replace_all(self, pairs, reason=None):
        """Replace each ``old`` by ``new`` everywhere; types must agree."""
        mapping = {}
        for old, new in pairs:
            if old is new:
                continue
            if not _compatible(old.type, new.type):
                raise GraphTypeError(
                    f"cannot replace {old} of type {old.type} by {new} of type {new.type}"
                    f" (reason: {reason})"
                )
            mapping[old] = new
        if not mapping:
            return
        new_outputs, memo = rebuild(self.outputs, mapping)
        self.outputs = new_outputs
        self._index()
        self.history.append((tuple(mapping.items()), reason))
        for f in self.features:
            f.on_change(self, memo, reason)

    def update_outputs(self, new_outputs, records):
        """Adopt outputs a rewrite pass computed; ``records`` are ``(old, new, rule)`` triples."""
        memo = {}
        for old, new, rule in records:
            memo[old] = new
            self.history.append((((old, new),), rule))
        for old, new in zip(self.outputs, new_outputs):
            if old is not new and not _compatible(old.type, new.type):
                raise GraphTypeError(f"rewrite changed the type of output {old}: {old.type} -> {new.type}")
            memo[old] = new
        if all(a is b for a, b in zip(self.outputs, new_outputs)):
            return
        self.outputs = list(new_outputs)
        self._index()
        for f in self.features:
            f.on_change(self, memo, "rewrite")

    def clone(self):
        """An independent FunctionGraph over fresh copies of the inputs."""
        fresh = {i: i.clone() for i in self.inputs}
        outputs, _ = rebuild(self.outputs, fresh)
        return FunctionGraph([fresh[i] for i in self.inputs], outputs, update_mapping=self.update_mapping)

    def __str__(self):
        return f"FunctionGraph({', '.join(map(str, self.outputs))})"


def _compatible(old, new):
    if old == new:
        return True
    convert = getattr(old, "is_compatible", None)
    return convert is not None and convert(new)
