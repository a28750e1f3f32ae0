"""The compile pipeline: every pass applied to a compiled graph, in order, on one screen.

Each entry is ``(name, pass)``; a pass takes ``(fgraph, mode)``.  A rule pass
applies one or more tables together (``canonicalize`` with the ``subtensor`` and ``join_slices``
rules, ``specialize`` with the ``blas`` rules) to a fixed point through the
equilibrium driver; merging runs first and last, constant folding is a
canonicalize rule.  ``Mode(excluding=[...])`` skips a pass, a table (its name
is a tag of each of its rules) or a single rule, by name.
"""

from .canonicalize import canonicalize
from .driver import apply_rules
from .merge import merge_pass
from .rules import RuleTable


def _rules(name, *tables):
    """A pass applying the rules of ``tables`` (by name) together, to one fixed point."""

    def run(fgraph, mode):
        found = _tables()
        combined = RuleTable(name)
        combined.rules = [rule for t in tables for rule in found[t]]
        return apply_rules(fgraph, combined, mode)

    run.__name__ = name
    return run


def _tables():
    # Imported on first use: each table module registers its rules on import, and some
    # import Ops whose modules import the rewriter.
    from . import nnet_rules  # noqa: F401  (softmax / cross-entropy rules on stabilize)
    from .blas_rules import blas
    from .join_slices import join_slices
    from .specialize import specialize
    from .stabilize import stabilize
    from .subtensor_rules import subtensor

    return {t.name: t for t in (canonicalize, subtensor, join_slices, stabilize, specialize, blas)}


def _scan_memory(fgraph, mode):
    from .scan_memory import scan_save_memory

    return scan_save_memory(fgraph, mode)


def _fusion(fgraph, mode):
    from .fusion import fuse_elemwise

    return fuse_elemwise(fgraph, mode)


PIPELINE = {
    "FAST_COMPILE": [
        ("merge", merge_pass),
        ("canonicalize", _rules("canonicalize", "canonicalize", "subtensor", "join_slices")),
    ],
    "FAST_RUN": [
        ("merge", merge_pass),
        ("canonicalize", _rules("canonicalize", "canonicalize", "subtensor", "join_slices")),
        ("stabilize", _rules("stabilize", "stabilize")),
        ("specialize", _rules("specialize", "specialize", "blas")),
        ("canonicalize_again", _rules("canonicalize", "canonicalize", "subtensor", "join_slices")),
        ("scan_save_memory", _scan_memory),
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
