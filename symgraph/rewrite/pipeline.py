"""The compile pipeline: the named passes applied to every compiled graph, in order."""

PIPELINE = {
    "FAST_COMPILE": [],
    "FAST_RUN": [],
}


def rewrite_graph(fgraph, mode):
    """Apply ``mode``'s passes to ``fgraph`` in place."""
    for name, rewrite_pass in PIPELINE[mode.optimizer]:
        if name in mode.excluding:
            continue
        rewrite_pass(fgraph, mode)
    return fgraph
