"""Lowering rules, dispatched on the Op class: ``LOWERINGS[OpClass] = (can_lower, lower)``.

``can_lower(node) -> bool`` decides whether this backend handles a node (an
Op it does not lower runs through ``perform``); ``lower(ctx, node, inputs)``
emits IR and returns one ArrayValue per output.
"""

LOWERINGS = {}


def register(op_class, can_lower=None):
    def deco(fn):
        LOWERINGS[op_class] = (can_lower or (lambda node: True), fn)
        return fn

    return deco


def find(node):
    for cls in type(node.op).__mro__:
        entry = LOWERINGS.get(cls)
        if entry is not None:
            return entry[1] if entry[0](node) else None
    return None


def load_all():
    from . import argreduce, blas, conv, elemwise, indexing, join, pool, random, reduce, scan, shape_ops, softmax  # noqa: F401  (each registers its rules)
