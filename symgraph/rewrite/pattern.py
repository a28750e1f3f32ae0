"""Patterns: what a rewrite rule matches.

``Pat(op, *inputs, name=..., where=...)`` matches a variable produced by
``op`` (an Op class, an Op instance, or a ScalarOp, which stands for the
Elemwise applying it; a tuple means any of them) whose inputs match the
sub-patterns in order.  ``Pat()`` matches any variable; ``name`` binds the
matched variable for the rule's function; ``where`` adds a predicate.
"""

from ..scalar.ops import ScalarOp


class Pat:
    def __init__(self, op=None, *inputs, name=None, where=None):
        self.ops = op if isinstance(op, tuple) else ((op,) if op is not None else ())
        self.inputs = inputs
        self.name = name
        self.where = where

    def index_keys(self):
        """Keys under which a table files this pattern: Op classes or scalar ops."""
        return self.ops or (None,)

    def match(self, var, bindings):
        if self.ops:
            node = var.owner
            if node is None or not any(_op_matches(node.op, o) for o in self.ops):
                return False
            if self.inputs:
                if len(self.inputs) != len(node.inputs):
                    return False
                for sub, inp in zip(self.inputs, node.inputs):
                    if not sub.match(inp, bindings):
                        return False
        if self.where is not None and not self.where(var):
            return False
        if self.name is not None:
            if self.name in bindings and bindings[self.name] is not var:
                return False
            bindings[self.name] = var
        return True


def _op_matches(op, want):
    if isinstance(want, ScalarOp):
        return getattr(op, "scalar_op", None) == want and type(op).__name__ == "Elemwise"
    if isinstance(want, type):
        return isinstance(op, want)
    return op == want


def scalar_op_of(node):
    """The ScalarOp an Elemwise node applies, or None."""
    if node is None or type(node.op).__name__ != "Elemwise":
        return None
    return node.op.scalar_op
