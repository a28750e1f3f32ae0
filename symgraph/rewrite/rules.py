"""Rule tables: named rewrite rules filed by the Op they match."""

import inspect

from ..scalar.ops import ScalarOp
from .pattern import Pat


class Rule:
    """A pattern and a function returning the replacement (or None to decline).

    The function gets the matched node and the pattern's bindings as keyword
    arguments (plus ``fgraph`` if it asks for it) and returns a Variable, a
    list of Variables (one per node output) or None.
    """

    def __init__(self, name, pattern, fn, tags=()):
        self.name = name
        self.pattern = pattern
        self.fn = fn
        self.tags = frozenset(tags)
        self.wants_fgraph = "fgraph" in inspect.signature(fn).parameters
        code = fn.__code__
        self.location = f"{code.co_filename}:{code.co_firstlineno}"

    def apply(self, node, fgraph):
        bindings = {}
        if not self.pattern.match(node.outputs[0], bindings):
            return None
        bindings.pop("out", None)
        if self.wants_fgraph:
            bindings["fgraph"] = fgraph
        result = self.fn(node, **bindings)
        if result is None:
            return None
        if not isinstance(result, (list, tuple)):
            result = [result]
        return list(result)

    def __repr__(self):
        return f"<Rule {self.name} at {self.location}>"


class RuleTable:
    """An ordered set of rules; ``register`` is a decorator."""

    def __init__(self, name):
        self.name = name
        self.rules = []
        self._index = {}

    def register(self, pattern, name=None, tags=()):
        def deco(fn):
            rule = Rule(name or fn.__name__, pattern if isinstance(pattern, Pat) else Pat(pattern), fn,
                        tags=(self.name,) + tuple(tags))
            self.rules.append(rule)
            self._index.clear()
            return fn

        return deco

    def enabled(self, including=(), excluding=()):
        """The rules not switched off by name or tag (``excluding`` wins)."""
        excluded = set(excluding)
        return [r for r in self.rules if r.name not in excluded and not (r.tags & excluded)]

    def __iter__(self):
        return iter(self.rules)

    def __len__(self):
        return len(self.rules)


def may_match(pattern, op):
    if not pattern.ops:
        return True
    for want in pattern.ops:
        if isinstance(want, ScalarOp):
            if getattr(op, "scalar_op", None) == want:
                return True
        elif isinstance(want, type):
            if isinstance(op, want):
                return True
        elif op == want:
            return True
    return False
