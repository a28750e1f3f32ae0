"""ScanBody: the closed inner graph of a loop.

The body maps one step's inputs to its outputs::

    inputs  = sequence slices + carried state + parameters
    outputs = new carried state + per-step outputs [+ stop condition]

It has no free variables: everything it reads is one of its inputs, so it
can be compiled, rewritten and differentiated on its own.
"""

from ..graph.traversal import clone_graph, rebuild


class ScanBody:
    def __init__(self, seq_slots, carry_slots, param_slots, carry_outs, y_outs, until=None):
        self.seq_slots = list(seq_slots)
        self.carry_slots = list(carry_slots)
        self.param_slots = list(param_slots)
        self.carry_outs = list(carry_outs)
        self.y_outs = list(y_outs)
        self.until = until

    @property
    def inputs(self):
        return self.seq_slots + self.carry_slots + self.param_slots

    @property
    def outputs(self):
        return self.carry_outs + self.y_outs + ([self.until] if self.until is not None else [])

    def clone(self):
        """A copy with fresh slots, so it can be spliced into another graph."""
        new_inputs, new_outputs = clone_graph(self.inputs, self.outputs)
        return self._from_lists(new_inputs, new_outputs)

    def substitute(self, replacements):
        """The body's outputs with slots replaced by other variables (for grad/R_op)."""
        outputs, _ = rebuild(self.outputs, replacements)
        return outputs

    def _from_lists(self, inputs, outputs):
        s, c = len(self.seq_slots), len(self.carry_slots)
        nc, ny = len(self.carry_outs), len(self.y_outs)
        return ScanBody(inputs[:s], inputs[s:s + c], inputs[s + c:], outputs[:nc], outputs[nc:nc + ny],
                        outputs[nc + ny] if self.until is not None else None)

    def __str__(self):
        return (f"ScanBody({len(self.seq_slots)} sequences, {len(self.carry_slots)} carried, "
                f"{len(self.param_slots)} parameters -> {len(self.y_outs)} outputs)")
