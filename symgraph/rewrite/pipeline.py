"""The compile pipeline: every pass applied to a compiled graph, in order, on one screen.

Each entry is ``(name, pass)``; a pass takes ``(fgraph, mode)``.  Rule tables
run to a fixed point through the equilibrium driver; merging and constant
folding run between them.  ``Mode(excluding=[...])`` skips a pass or a rule by
name or tag.
"""

from .canonicalize import canonicalize
from .driver import apply_rules
from .merge import merge_pass


def _table(table):
    def run(fgraph, mode):
        return apply_rules(fgraph, table, mode)

    run.__name__ = table.name
    return run


def _tables():
    # Imported here: each table module registers its rules on import.
    from .specialize import specialize
    from .stabilize import stabilize

    return stabilize, specialize


def _lazy(name):
    def run(fgraph, mode):
        table = {t.name: t for t in _tables()}[name]
        return apply_rules(fgraph, table, mode)

    run.__name__ = name
    return run


def _fusion(fgraph, mode):
    from .fusion import fuse_elemwise

    return fuse_elemwise(fgraph, mode)


PIPELINE = {
    "FAST_COMPILE": [
        ("merge", merge_pass),
        ("canonicalize", _table(canonicalize)),
    ],
    "FAST_RUN": [
        ("merge", merge_pass),
        ("canonicalize", _table(canonicalize)),
        ("stabilize", _lazy("stabilize")),
        ("specialize", _lazy("specialize")),
        ("canonicalize_again", _table(canonicalize)),
        ("fusion", _fusion),
        ("merge_final", merge_pass),
    ],
}


def rewrite_graph(fgraph, mode):
    """Apply ``mode``'s passes to ``fgraph`` in place."""
    for name, rewrite_pass in PIPELINE[mode.optimizer]:
        if name in mode.excluding:
            continue
        rewrite_pass(fgraph, mode)
    return fgraph
