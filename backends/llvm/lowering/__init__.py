"""Lowering rules, dispatched on the Op class: ``LOWERINGS[OpClass] = (can_lower, lower)``.

``can_lower(node) -> bool`` decides whether this backend handles a node (an
Op it does not lower runs through ``perform``); ``lower(ctx, node, inputs)``
emits IR and returns one ArrayValue per output.
"""

LOWERINGS = {}
# Op class -> ``prepare(ctx, node, ins, inplace) -> (outputs, loop)`` for lowerings that can write an
# output over an input (inplace.py): checks and allocations now, the writing loop when ``loop()`` is
# called; ``prepare.targets(node)`` gives the input positions an output may be written over.
INPLACE = {}


def register(op_class, can_lower=None):
    def deco(fn):
        LOWERINGS[op_class] = (can_lower or (lambda node: True), fn)
        return fn

    return deco


def register_inplace(op_class, targets):
    def deco(fn):
        fn.targets = targets
        INPLACE[op_class] = fn
        return fn

    return deco


def find_inplace(node):
    """The in-place preparer of ``node``, if its Op has one and this backend lowers the node."""
    if find(node) is None:
        return None
    for cls in type(node.op).__mro__:
        if cls in INPLACE:
            return INPLACE[cls]
    return None


def find(node):
    for cls in type(node.op).__mro__:
        entry = LOWERINGS.get(cls)
        if entry is not None:
            return entry[1] if entry[0](node) else None
    return None


def load_all():
    from . import argreduce, blas, conv, elemwise, indexing, join, pool, random, reduce, scan, shape_ops, softmax  # noqa: F401  (each registers its rules)
